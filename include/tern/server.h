/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/server.h - resources, request dispatch (RFC 7252 section 5), Observe
 * (RFC 7641) and discovery (RFC 6690) on top of an endpoint.
 *
 * Sans-I/O: every entry point takes the current time; src/io (or a test)
 * drives it. A server is a fixed table of resources, each a path with one
 * handler per method. A handler gets the request, fills a response and
 * returns its code:
 *
 *     static uint8_t alarm_get(tern_server_request *req, tern_server_response *resp) {
 *         tern_server_response_text(resp, state);
 *         return TERN_CODE_CONTENT;
 *     }
 *
 * The server answers what handlers need not think about: 4.04 for an unknown
 * path, 4.05 for a missing method, 4.02 for an unrecognised critical option
 * (a NON request with one is rejected with RST, section 5.4.1),
 * 4.06 and 4.15 from the resource's declared content formats, 5.05 for a
 * proxy request, 4.12 for If-Match/If-None-Match, /.well-known/core, and the
 * Observe registry: when a resource's state changes the application calls
 * tern_resource_changed() and every observer gets a notification made by the
 * resource's GET handler. Memory is allocated once, in tern_server_new. */
#ifndef TERN_SERVER_H
#define TERN_SERVER_H

#include "tern/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/config.h"
#include "tern/endpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_server tern_server;
typedef struct tern_resource tern_resource;
typedef struct tern_server_request tern_server_request;
typedef struct tern_server_response tern_server_response;

/* ---- Configuration ------------------------------------------------------- */

/* The rule of tern/config.h applies; every field here takes the default in
 * brackets when 0 (none of them has a meaningful 0). */
typedef struct tern_server_config {
    uint32_t size;                       /* set by tern_server_config_default */
    uint32_t max_resources;              /* [32] including /.well-known/core */
    uint32_t max_observers;              /* [256] in total */
    uint32_t max_observers_per_resource; /* [64] */
    uint32_t max_deferred;               /* [16] requests answered later */
    uint32_t deferred_timeout_ms;        /* [60000] then the server answers 5.03 */
    uint32_t max_message;                /* [1152] bytes of options and payload a
                                            handler copies into a response
                                            (tern_server_response_payload_ref
                                            for larger ones) */
    /* RFC 7641 section 4.5: a notification goes confirmable at least every
     * notify_con_every notifications [20] and when the last confirmable one
     * to that observer is older than notify_con_interval_ms [600000, 10
     * min]; an observer that is idle that long gets a confirmable
     * notification of the current state, so that one that went away
     * silently is found. */
    uint32_t notify_con_every;
    uint64_t notify_con_interval_ms;
    /* Max-Age on notifications and registration answers (RFC 7641 section
     * 4.3.1; a resource's max_age_s overrides it). [0: the liveness
     * interval plus 60 s]: an unchanged resource is refreshed by the
     * liveness notification before its Max-Age runs out, so a client does
     * not re-register (section 3.3.1) every minute for nothing, and a
     * client whose server went away re-registers a minute after the
     * refresh failed to come. */
    uint32_t notify_max_age_s;
    uint32_t notify_retry_ms;   /* [250] retry when the endpoint's tables are full */
    /* RFC 7959 section 2.5: a request body sent block-wise (Block1) is put
     * together before the handler sees it, in at most max_uploads partial
     * bodies at once [4], each of at most max_upload_bytes [16384] (a larger
     * one is refused with 4.13 and Size1), each given up upload_timeout_ms
     * [60000] after its last block (a later block then gets 4.08). The
     * same slot keeps an answer too large for one block (Block2) for the
     * client to fetch the rest (section 2.7). Allocated once:
     * max_uploads * max_upload_bytes bytes. */
    uint32_t max_uploads;
    uint32_t max_upload_bytes;
    uint32_t upload_timeout_ms;
    /* Observers one client may hold: per peer (address and port) [16] and
     * per address (any port) [64], so that no single source takes the
     * table (beyond them a registration is served as a plain GET). When the
     * table is full, a registration takes the slot of the observer whose
     * last proof of life (an ACK) is oldest - those that never gave one
     * first - if that one left a confirmable check unanswered for 2 s;
     * otherwise such a check is sent to it, and the registration is a plain
     * GET for now. While the table is nearly full, a new observer whose
     * address is not verified gets such a check right after its answer. */
    uint32_t max_observers_per_peer;
    uint32_t max_observers_per_address;
    /* RFC 7252 section 11.3, RFC 9175 section 2.4: an answer to a peer whose
     * address is not verified is at most amplification_limit times the size
     * of its request [3]; a larger one is replaced by 4.01 Unauthorized with
     * an Echo option, and the request repeated with that Echo (which proves
     * the address) gets the full answer. A peer is verified by a valid Echo
     * or by acknowledging a confirmable message of ours.
     * TERN_AMPLIFICATION_UNLIMITED turns the check off. */
    uint32_t amplification_limit;
    /* [NULL: every peer may use every method] Who may do what (RFC 7252
     * section 9 authenticates the peer; this decides): 0 to let peer use
     * method on the resource at path, else the code to answer instead -
     * 4.01 Unauthorized to a peer that has not authenticated, 4.03
     * Forbidden to one whose identity lacks the right (section 5.9.2.1,
     * 5.9.2.4). Checked after the path is found and before the method,
     * so that a refused peer learns nothing of the handlers. A
     * registration (Observe) is a GET; discovery lists only the resources
     * the asking peer may GET. */
    uint8_t (*authorize)(void *ctx, const tern_addr *peer, uint8_t method, const char *path);
    void *authorize_ctx;
} tern_server_config;

#define TERN_AMPLIFICATION_UNLIMITED UINT32_MAX

/* Fill cfg with the defaults above. */
TERN_API void tern_server_config_default(tern_server_config *cfg);

/* ---- Lifecycle and entry points (called by src/io or a test) ------------- */

/* Create a server answering the requests of ep into *out. The endpoint's
 * callbacks must forward to tern_server_handle_request /
 * tern_server_handle_reset / tern_server_handle_unreachable (a tern_engine
 * does this). Free the server before the endpoint. 0, TERN_E_NOMEM, or
 * TERN_E_INVAL for a bad config (a table over 2^20, max_message outside
 * 64..65535). */
TERN_API int tern_server_new(tern_server **out, tern_endpoint *ep, const tern_server_config *cfg);
/* Cancel outstanding notifications and free everything. NULL is a no-op. */
TERN_API void tern_server_free(tern_server *srv);

TERN_API void tern_server_handle_request(tern_server *srv, tern_endpoint_req_id id, const tern_addr *peer,
                                const tern_msg *req, uint64_t now_ms);
/* A RST that the endpoint could not match: the answer to a NON notification
 * ends that observation (RFC 7641 section 3.6). */
TERN_API void tern_server_handle_reset(tern_server *srv, const tern_addr *peer, uint16_t mid,
                              uint64_t now_ms);
/* The endpoint's on_unreachable: an ICMP error quoted a NON notification
 * of ours (its MID, and token when quoted): that observer is gone (RFC 7641
 * section 4.5), removed at once; true when there was one. A CON
 * notification's error comes through its exchange instead. */
TERN_API bool tern_server_handle_unreachable(tern_server *srv, const tern_addr *peer, uint16_t mid,
                                             const uint8_t *token, size_t token_len,
                                             uint64_t now_ms);
/* Send notifications for changed resources, liveness notifications that are
 * due, retries, and answer deferred requests that timed out. */
TERN_API void tern_server_tick(tern_server *srv, uint64_t now_ms);
/* When tern_server_tick must next run (0: at once, because a resource has
 * changed; UINT64_MAX: nothing scheduled). */
TERN_API uint64_t tern_server_next_deadline(const tern_server *srv);

/* ---- Resources ----------------------------------------------------------- */

/* A handler returns the response code (2.xx, 4.xx, 5.xx) after filling resp,
 * or TERN_DEFER after tern_server_request_defer() to answer later. req and resp are
 * valid only during the call. */
#define TERN_DEFER 0
typedef uint8_t (*tern_handler)(tern_server_request *req, tern_server_response *resp);

typedef struct tern_resource_def {
    /* "/alarm", "/sensors/temp" or "/" (no Uri-Path). Segments are compared
     * byte for byte with the request's Uri-Path options. */
    const char *path;
    /* One handler per method; NULL means 4.05 Method Not Allowed. */
    tern_handler get, post, put, del, fetch, patch, ipatch;
    void *ctx;          /* returned by tern_server_request_ctx() */
    bool observable;    /* GET with Observe=0 registers (RFC 7641 section 3.1) */
    bool notify_con;    /* every notification confirmable, not just some */
    /* The GET handler answers every observer alike, given the same Accept
     * and block size (it does not look at tern_server_request_peer): on a
     * change it runs once, and that one encoding, with each observer's
     * token and MID, goes to all of them (RFC 7641 fan-out: 10,000
     * observers cost one handler call). false: the handler runs for each
     * observer. */
    bool notify_shared;
    bool hidden;        /* left out of /.well-known/core */
    uint32_t max_age_s; /* Max-Age on notifications; 0: the server's default */
    /* RFC 6690 section 3 / RFC 7252 section 7.2 attributes for discovery.
     * ct is also enforced: a space-separated list of Content-Format numbers
     * ("0", "0 50"); a request whose Accept is not in it gets 4.06, one whose
     * Content-Format is not in it gets 4.15. NULL: no check, not listed. */
    const char *rt, *iface, *ct, *title;
    uint32_t sz; /* 0: not listed */
    /* RFC 7252 section 5.10.6: write the resource's current ETag (1 to
     * TERN_ETAG_MAX bytes) into etag and return its length; return 0 when
     * the resource has no representation now (it does not exist: an
     * If-None-Match succeeds, an If-Match fails). With it the server
     * answers a GET whose ETag option matches with 2.03 Valid without
     * running the handler (5.10.6.2), evaluates If-Match and If-None-Match
     * (5.10.8), and puts the ETag on 2.xx answers to GET and on
     * notifications when the handler set none. NULL: the ETag is unknown
     * (If-Match with a value fails; a block-wise answer gets an ETag hashed
     * from its representation, RFC 7959 section 2.4). */
    size_t (*etag)(void *ctx, uint8_t etag[TERN_ETAG_MAX]);
} tern_resource_def;

/* Add a resource. *def is copied; the strings it points to are not and must
 * stay valid while the resource exists. out (may be NULL) gets the handle.
 * TERN_E_INVAL for a bad path, ct list or no handler; TERN_E_STATE when the
 * path exists; TERN_E_FULL when max_resources are in use; TERN_E_NOMEM.
 * This may allocate (the discovery document grows); requests never do. */
TERN_API int tern_server_add_resource(tern_server *srv, const tern_resource_def *def,
                             tern_resource **out);
/* The resource at path ("/alarm"), or NULL. */
TERN_API tern_resource *tern_server_find_resource(tern_server *srv, const char *path);
/* Remove a resource. Its observers get a final 4.04 Not Found (RFC 7641
 * section 3.2: a non-2.xx notification ends the observation). Resources may
 * be removed and added from inside a handler, its own included (a DELETE
 * that removes it, a PUT that creates another); the handle of a removed
 * resource must not be used again. */
TERN_API void tern_server_remove_resource(tern_server *srv, tern_resource *res, uint64_t now_ms);

/* The state of res changed: every observer gets a notification made by its
 * GET handler at the server's next entry point (the end of the current
 * request, or the next tern_server_tick, which tern_server_next_deadline
 * asks for at once). Several changes before then make one notification with
 * the newest state. For an observer with a confirmable notification in
 * flight, the newer one takes its place: the next retransmission carries
 * the newest state (RFC 7641 4.5.2). */
TERN_API void tern_resource_changed(tern_resource *res);

TERN_API const tern_resource_def *tern_resource_get_def(const tern_resource *res);
/* Number of observers of res. */
TERN_API unsigned tern_resource_observer_count(const tern_resource *res);

/* ---- Requests (inside a handler) ------------------------------------------ */

TERN_API const tern_msg *tern_server_request_msg(const tern_server_request *req);
TERN_API const tern_addr *tern_server_request_peer(const tern_server_request *req);
TERN_API tern_resource *tern_server_request_resource(const tern_server_request *req);
TERN_API tern_server *tern_server_request_server(const tern_server_request *req);
TERN_API void *tern_server_request_ctx(const tern_server_request *req);
TERN_API uint64_t tern_server_request_now(const tern_server_request *req);
TERN_API uint8_t tern_server_request_method(const tern_server_request *req);
/* The payload (NULL and *len 0 if none). */
TERN_API const uint8_t *tern_server_request_payload(const tern_server_request *req, size_t *len);
/* Content-Format and Accept as numbers, or -1 when the option is absent. */
TERN_API int32_t tern_server_request_content_format(const tern_server_request *req);
TERN_API int32_t tern_server_request_accept(const tern_server_request *req);
/* True when the GET handler runs to make a notification, not for a request:
 * it must answer at once (TERN_DEFER skips that notification). */
TERN_API bool tern_server_request_is_notification(const tern_server_request *req);
/* True when the request came to a group address (multicast or broadcast,
 * RFC 7252 section 8): answer only when there is something useful to say;
 * an error answer to it is never sent (8.2). */
TERN_API bool tern_server_request_multicast(const tern_server_request *req);
/* True when this GET registers an observer (Observe=0 on an observable
 * resource, within the limits): a 2.xx answer carries the Observe option. */
TERN_API bool tern_server_request_is_observe(const tern_server_request *req);

/* Take the request for a later answer (separate response, RFC 7252 5.2.2):
 * *id names it for tern_server_respond_begin; the handler then returns
 * TERN_DEFER. TERN_E_FULL when max_deferred answers are pending (answer
 * 5.03 then), TERN_E_STATE for a notification. */
TERN_API int tern_server_request_defer(tern_server_request *req, tern_endpoint_req_id *id);
/* Would tern_server_request_defer succeed now? (Ask before starting work
 * whose outcome the answer must carry.) */
TERN_API bool tern_server_request_can_defer(const tern_server_request *req);

/* ---- Responses ------------------------------------------------------------ */

/* Payload with its Content-Format, not copied: data must stay valid until
 * the answer is sent (the handler's return; tern_server_respond's return
 * for a deferred one). For large representations (RFC 7959 Block2 cuts
 * the block that goes out), which need not fit max_message. */
TERN_API int tern_server_response_payload_ref(tern_server_response *resp, uint16_t cf,
                                              const void *data, size_t len);
/* Payload with its Content-Format; data is copied. */
TERN_API int tern_server_response_payload(tern_server_response *resp, uint16_t cf, const void *data, size_t len);
/* text/plain;charset=utf-8 payload (Content-Format 0). */
TERN_API int tern_server_response_text(tern_server_response *resp, const char *text);
/* A diagnostic payload for an error response (RFC 7252 section 5.5.2:
 * UTF-8 text, no Content-Format), printf-style. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
TERN_API int tern_server_response_diag(tern_server_response *resp, const char *fmt, ...);
/* Any other option; the value is copied. The server owns Observe. */
TERN_API int tern_server_response_add_opt(tern_server_response *resp, uint16_t num, const void *val, size_t len);
TERN_API int tern_server_response_add_uint(tern_server_response *resp, uint16_t num, uint32_t val);
/* Every function above returns 0, TERN_E_NOSPACE when the response would
 * exceed max_message, or TERN_E_FULL for too many options; after a failure
 * the server answers 5.00 instead of a truncated response. */

/* Answer a deferred request: get a response to fill, then send it with its
 * code. Between the two calls no other server function may run.
 * respond_begin returns NULL for an unknown or timed-out id. respond returns
 * 0, or TERN_E_NOTFOUND when the endpoint no longer knows the request. */
TERN_API tern_server_response *tern_server_respond_begin(tern_server *srv, tern_endpoint_req_id id);
TERN_API int tern_server_respond(tern_server *srv, tern_server_response *resp, uint8_t code, uint64_t now_ms);

/* ---- Counters -------------------------------------------------------------- */

typedef struct tern_server_stats {
    uint64_t requests, responses_4xx, responses_5xx;
    uint64_t observers;            /* now registered */
    uint64_t registrations, plain_get_over_limit;
    uint64_t notifications, notifications_con, notifications_coalesced;
    uint64_t observers_removed_timeout, observers_removed_reset,
        observers_removed_deregister, observers_removed_error;
    uint64_t deferred_timeouts;
    /* NON requests rejected with RST for a bad critical option (5.4.1). */
    uint64_t requests_rejected;
    /* Observers dropped because their peer was reported unreachable. */
    uint64_t observers_removed_unreachable;
    /* Answers replaced by 4.01 + Echo: too large for an unverified peer. */
    uint64_t echo_challenges;
    /* Registrations served as a plain GET because their peer or its address
     * holds its share of observers already. */
    uint64_t plain_get_over_peer_limit;
    /* Slots taken back from observers that did not answer a check. */
    uint64_t observers_reclaimed;
} tern_server_stats;

TERN_API void tern_server_get_stats(const tern_server *srv, tern_server_stats *st);

#ifdef __cplusplus
}
#endif
#endif
