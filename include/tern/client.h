/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/client.h - requests and Observe (RFC 7641 section 3) from the client
 * side, on top of an endpoint. Sans-I/O: every entry point takes the current
 * time; src/io (or a test) drives it.
 *
 * A request is a tern_msgb the caller fills (code, CON or NON, options such
 * as those of tern_uri_to_opts, payload). The client gives it a fresh token,
 * keeps a copy (so the caller's builder may go away at once; the payload of
 * a block-wise request excepted, see tern_client_request), sends it
 * through the endpoint and matches the answer by token and peer (RFC 7252
 * section 5.3.2). Retransmission, the empty ACK of a separate response and
 * the ACK of a CON response or notification are the endpoint's job; the
 * client adds a deadline for the whole request and the Observe rules.
 *
 * A payload too large for one datagram goes block-wise (RFC 7959 Block1),
 * transparently: see tern_client_request. A response body in several
 * blocks (Block2) is put together on request, in a buffer of the caller's:
 * tern_client_request_body, tern_client_observe_body.
 *
 * Every outcome reaches one callback, tern_client_fn: each response or
 * notification, and a final error (timeout, reset, unreachable, cancelled).
 * For a URI with a host name and for a blocking call, see tern/io.h (in
 * src/io). */
#ifndef TERN_CLIENT_H
#define TERN_CLIENT_H

#include "tern/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/config.h"
#include "tern/endpoint.h"
#include "tern/uri.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_client tern_client;

/* RFC 7252 section 4.8.2 MAX_TRANSMIT_WAIT: the longest a CON request can be
 * outstanding with the default transmission parameters. */
#define TERN_CLIENT_DEFAULT_TIMEOUT_MS 93000u

/* The rule of tern/config.h applies. */
typedef struct tern_client_config {
    uint32_t size;              /* set by tern_client_config_default */
    uint32_t max_requests;      /* requests and observations at once; 0: 16 */
    uint32_t max_request_size;  /* bytes of an encoded request kept for
                                   re-registration; 0: 1152 (section 4.6) */
    uint32_t timeout_ms;        /* whole-request deadline when the call says 0;
                                   0: TERN_CLIENT_DEFAULT_TIMEOUT_MS */
    uint32_t observe_margin_ms; /* RFC 7641 section 3.3.1: wait this long past
                                   Max-Age before re-registering (default
                                   2000; 0 is a value: re-register right when
                                   Max-Age runs out) */
} tern_client_config;

TERN_API void tern_client_config_default(tern_client_config *cfg);

/* Create a client sending through ep into *out. The endpoint's callbacks
 * must forward to tern_client_handle_response / tern_client_handle_reset /
 * tern_client_handle_unreachable (a tern_engine does this). Allocates its
 * table once. 0, TERN_E_NOMEM, or TERN_E_INVAL for a bad config
 * (max_requests over 65536, max_request_size outside 12..65536). */
TERN_API int tern_client_new(tern_client **out, tern_endpoint *ep, const tern_client_config *cfg);
/* Free it without calling any callback; ongoing CONs are cancelled. */
TERN_API void tern_client_free(tern_client *cli);

/* Entry points for the endpoint's callbacks: 0 to accept a response, or
 * TERN_E_REJECT when no request or observation of this client matches (the
 * endpoint then answers a CON with RST: section 5.3.2, RFC 7641 section 3.6). */
TERN_API int tern_client_handle_response(tern_client *cli, const tern_addr *peer, const tern_msg *resp,
                                uint64_t now_ms);
TERN_API void tern_client_handle_reset(tern_client *cli, const tern_addr *peer, uint16_t mid,
                              uint64_t now_ms);
/* The endpoint's on_unreachable: an ICMP error quoted a NON request of
 * this client (its MID, and token when quoted): that request ends with
 * TERN_E_UNREACHABLE (a deregistration with TERN_E_CANCELLED); true when
 * there was one. A CON's error ends it through its exchange
 * (TERN_E_UNREACHABLE too). */
TERN_API bool tern_client_handle_unreachable(tern_client *cli, const tern_addr *peer, uint16_t mid,
                                             const uint8_t *token, size_t token_len,
                                             uint64_t now_ms);
/* Timers (request timeouts, Observe re-registration). */
TERN_API void tern_client_tick(tern_client *cli, uint64_t now_ms);
TERN_API uint64_t tern_client_next_deadline(const tern_client *cli);

/* ---- Requests and observations --------------------------------------------- */

/* Names one request or observation of a client; 0 never names one. */
typedef uint32_t tern_client_op_id;

/* What the callback is told. */
typedef struct tern_client_event {
    /* 0: resp holds a response or notification. Otherwise the request ended
     * without (further) answer: TERN_E_TIMEOUT (retransmissions or the
     * request's deadline ran out), TERN_E_RESET (the peer answered with RST),
     * TERN_E_UNREACHABLE (the network reported the peer unreachable, e.g.
     * ICMP port unreachable: nothing listens there),
     * TERN_E_CANCELLED (tern_client_deregister finished; resp is the server's
     * answer to the deregistration, or NULL), or the endpoint's error when
     * a send that had to wait for the next tick (a request made inside a
     * callback, a re-registration) failed: TERN_E_FULL, TERN_E_NOSPACE. */
    int err;
    /* The response, valid during the callback only; NULL when there is none. */
    const tern_msg *resp;
    const tern_addr *peer;   /* the server the request went to */
    /* true: an observation stands and more notifications may follow.
     * false: this is the last call for this request; its id is spent. */
    bool observing;
    /* The Observe option of a notification (RFC 7641 section 4.4). */
    bool has_observe;
    uint32_t observe;
} tern_client_event;

typedef void (*tern_client_fn)(void *ctx, tern_client *cli, tern_client_op_id id,
                               const tern_client_event *ev, uint64_t now_ms);

/* Send a request to peer. req holds the code, the type (TERN_TYPE_CON or
 * TERN_TYPE_NON; tern_msgb_init's), options and payload; its token and MID
 * are set here (req is modified and may be reused or dropped afterwards).
 * fn is called once with the response or the error. timeout_ms bounds the
 * whole request (0: the configured default), independent of retransmission.
 * A separate response (empty ACK, then a CON response) is handled inside.
 *
 * A request larger than max_request_size is sent block-wise (RFC 7959
 * section 2.5, Block1): blocks of 1024 bytes (less if the options leave less
 * room), Size1 with the total on block 0, a fresh token per block, the
 * server's smaller block size heeded (2.31 Continue, section 2.3) and a 4.13
 * naming a smaller size answered by starting over (section 2.9.3). It stays
 * one request for the caller: one id, one timeout_ms for the whole transfer,
 * cancel at any point, and fn gets only the final response (the answer to
 * the last block, or any other that ends the transfer, such as 4.08 Request
 * Entity Incomplete), as it came (a Block2 in it is the caller's).
 * Ownership: the client then does not copy the payload but reads blocks
 * from it as it goes, so req->payload must stay valid and unchanged until
 * the request ends (fn's last call, or tern_client_cancel). A request that
 * fits is copied (as are options, always).
 *
 * Returns 0 and *id (may be NULL), or TERN_E_FULL (table, endpoint),
 * TERN_E_NOSPACE (the options alone do not fit max_request_size, the
 * caller set Block1 itself, or more than 2^20 blocks), TERN_E_INVAL. */
TERN_API int tern_client_request(tern_client *cli, const tern_addr *peer, tern_msgb *req,
                        uint32_t timeout_ms, tern_client_fn fn, void *ctx, uint64_t now_ms,
                        tern_client_op_id *id);

/* Like tern_client_request, and the whole response body wanted (RFC 7959
 * section 2.4, Block2): when a GET or FETCH is answered with a 2.xx carrying
 * Block2 with M=1, the client asks for the following blocks itself (the
 * same request with Block2 NUM+1, at the block size the server used, each
 * under a fresh token) and copies them into body (body_cap bytes; owned by
 * the caller, valid until the request ends). fn is then called once: resp
 * has the last block's code and options and, as payload, the whole body in
 * body. An answer that is not block-wise (no Block2, or a single block) or
 * that ends the transfer (4.xx, 5.xx, also mid-way) comes as it is, payload
 * in the datagram. Still one request: one id, one timeout_ms, cancel at any
 * point. Errors in ev->err: TERN_E_NOSPACE (body larger than body_cap),
 * TERN_E_FORMAT (a block not where asked, or not of its block size, section
 * 2.2), TERN_E_STATE (the ETag kept changing: the representation changed
 * mid-transfer, which restarts from block 0 up to 3 times).
 * Other methods, and a Block1 request's answer (section 2.7), are not
 * followed: fn gets the response as tern_client_request gives it.
 * Returns as tern_client_request, and TERN_E_INVAL for a NULL body or a
 * Block2 in req that asks for a block other than 0. */
TERN_API int tern_client_request_body(tern_client *cli, const tern_addr *peer, tern_msgb *req,
                             uint8_t *body, size_t body_cap, uint32_t timeout_ms,
                             tern_client_fn fn, void *ctx, uint64_t now_ms, tern_client_op_id *id);

/* RFC 7252 section 8: a NON request to a group address (IP multicast, or an
 * IPv4 broadcast). Every server's answer comes from its own address,
 * matched by token alone: fn gets each one with ev->observing true (more
 * may follow) and ev->peer the server that answered, until timeout_ms (0:
 * the configured default) has passed; then a last call with
 * TERN_E_TIMEOUT and no response. Servers answer after a random leisure
 * (8.2, DEFAULT_LEISURE 5 s), so give them that long. No block-wise
 * transfer here: a request larger than max_request_size is TERN_E_NOSPACE.
 * TERN_E_INVAL for a CON request (8.1: multicast requests are NON);
 * otherwise as tern_client_request. */
TERN_API int tern_client_request_group(tern_client *cli, const tern_addr *group, tern_msgb *req,
                                       uint32_t timeout_ms, tern_client_fn fn, void *ctx,
                                       uint64_t now_ms, tern_client_op_id *id);

/* Observe (RFC 7641 section 3): like tern_client_request with Observe=0
 * added (req is normally a GET). fn gets every fresh notification in order
 * (section 3.4: reordered stale ones are dropped silently, still ACKed) with
 * ev->observing true. A server that answers without Observe, or with an
 * error code, ends it: that answer comes with observing false (section 3.2,
 * 3.3.1). When Max-Age (default 60 s) plus the margin runs out without a
 * notification, the client re-registers with the same token (section 3.3.1);
 * timeout_ms bounds the registration and each re-registration. No Block1
 * here: a request too large for max_request_size is TERN_E_NOSPACE. */
TERN_API int tern_client_observe(tern_client *cli, const tern_addr *peer, tern_msgb *req,
                        uint32_t timeout_ms, tern_client_fn fn, void *ctx, uint64_t now_ms,
                        tern_client_op_id *id);

/* Observe with whole bodies (RFC 7959 section 2.6): like tern_client_observe,
 * and a notification (or the registration's answer) that is block 0 of a
 * larger body (Block2 M=1) is completed before fn sees it: the client GETs
 * the rest (the same request without Observe, Block2 NUM+1, a token of its
 * own; as tern_client_request_body does) into body (body_cap bytes, the
 * caller's, valid until the observation ends), and fn then gets the last
 * answer's code and options with the whole body as payload, observing true
 * and the notification's Observe number. A fresher notification arriving
 * meanwhile replaces the one being completed; a re-registration or
 * deregistration abandons it, as does a GET that times out (a RST or ICMP
 * unreachable in answer to one ends the observation, as for a
 * re-registration). A broken transfer ends the observation with
 * TERN_E_NOSPACE, TERN_E_FORMAT or TERN_E_STATE (see
 * tern_client_request_body). 0 or the errors of tern_client_observe,
 * TERN_E_INVAL for a NULL body. */
TERN_API int tern_client_observe_body(tern_client *cli, const tern_addr *peer, tern_msgb *req,
                             uint8_t *body, size_t body_cap, uint32_t timeout_ms,
                             tern_client_fn fn, void *ctx, uint64_t now_ms, tern_client_op_id *id);

/* Forget a request or observation now; fn is not called again. Later
 * notifications of a forgotten observation no longer match and the endpoint
 * answers the next CON one with RST, which ends it at the server (RFC 7641
 * section 3.6). Safe inside fn. 0 or TERN_E_NOTFOUND. */
TERN_API int tern_client_cancel(tern_client *cli, tern_client_op_id id, uint64_t now_ms);

/* Cancel an observation actively (RFC 7641 section 3.6): a GET with
 * Observe=1 and the same token and options. Notifications that arrive
 * meanwhile are ACKed but not delivered; fn is then called once with
 * err TERN_E_CANCELLED (resp: the server's answer, if one came). Safe inside
 * fn. 0, TERN_E_NOTFOUND, TERN_E_STATE (not an observation), or a send error
 * (the observation then stays). */
TERN_API int tern_client_deregister(tern_client *cli, tern_client_op_id id, uint64_t now_ms);

/* How many requests and observations are in progress. */
TERN_API size_t tern_client_active(const tern_client *cli);

#ifdef __cplusplus
}
#endif
#endif
