/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/endpoint.h - the CoAP messaging layer (RFC 7252 section 4, 5.2, 5.3),
 * sans-I/O.
 *
 * An endpoint never touches a socket, a clock or a thread. The caller feeds
 * it datagrams with the current time (tern_endpoint_recv), lets it act on
 * timers (tern_endpoint_tick), sends the datagrams it wrote
 * (tern_endpoint_outgoing, tern_endpoint_sent) and asks when it next needs to run
 * (tern_endpoint_next_deadline). What the endpoint wants from the
 * application is a set of callbacks given once at creation.
 *
 * The endpoint owns: message IDs per peer, tokens (from the injected random
 * source), CON retransmission with exponential back-off (4.2, 4.8),
 * deduplication with replay of the cached answer (4.5), piggybacked and
 * separate responses (5.2), CoAP ping (4.3), NSTART per peer (4.7).
 * All state lives in tables whose capacities come from the config; the
 * endpoint allocates them once in tern_endpoint_new and never again. */
#ifndef TERN_ENDPOINT_H
#define TERN_ENDPOINT_H

#include "tern/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/config.h"
#include "tern/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A transport address as opaque bytes (the io layer stores a zeroed
 * struct sockaddr_in6 or sockaddr_in). Two addresses are the same peer when
 * len and bytes match. port_off is where a 2-byte port lies in bytes (2 for
 * a sockaddr), 0 when the transport has none: bytes outside it are the
 * host, which per-address limits count (tern_server_config). */
#define TERN_ADDR_MAX 28
typedef struct tern_addr {
    uint8_t len;
    uint8_t port_off;
    uint8_t bytes[TERN_ADDR_MAX];
} tern_addr;

TERN_API bool tern_addr_equal(const tern_addr *a, const tern_addr *b);

typedef struct tern_endpoint tern_endpoint;

/* Handle of a received request that still awaits its answer. Never 0, so 0
 * can mean "none"; a spent or expired id is never reused for a while (a
 * 16-bit generation per slot). */
typedef uint32_t tern_endpoint_req_id;

/* Outcome of a confirmable message sent with tern_endpoint_send_msg. */
typedef enum tern_tx_status {
    TERN_TX_ACKED = 0,  /* ACK arrived (empty or with a piggybacked response) */
    TERN_TX_RESET,      /* the peer answered with RST */
    TERN_TX_TIMEOUT,    /* MAX_RETRANSMIT retransmissions went unanswered */
    TERN_TX_CANCELLED,  /* tern_endpoint_cancel or tern_endpoint_free */
    TERN_TX_UNREACHABLE /* the network reported the peer unreachable
                           (tern_endpoint_unreachable, e.g. ICMP) */
} tern_tx_status;

typedef void (*tern_tx_done_fn)(void *ctx, tern_endpoint *ep, tern_tx_status status,
                                uint64_t now_ms);

/* Callbacks run inside tern_endpoint_recv, _tick, _cancel, _unreachable and
 * _free. They may call tern_endpoint_send_msg, _respond, _reject, _cancel,
 * _new_token, _request_info and _get_stats on the same endpoint (e.g. send
 * the next notification from done()); they must not call
 * tern_endpoint_recv, _tick, _unreachable or _free. on_trace must not call
 * into the endpoint at all. A tern_msg given to a callback is valid only
 * during the call. */
typedef struct tern_endpoint_callbacks {
    /* A new (deduplicated) request. Answer with tern_endpoint_respond, during
     * this call (piggybacked) or later (separate response). May be NULL: then
     * every request is answered 5.01 Not Implemented. Not answered during the
     * call, a CON gets an empty ACK ack_delay_ms after its arrival (at once
     * if a retransmitted copy arrives first); the request stays pending for
     * exchange_lifetime_ms at most. Never called twice for one (peer, MID)
     * within its dedup lifetime. */
    void (*on_request)(void *user, tern_endpoint *ep, tern_endpoint_req_id id, const tern_addr *peer,
                       const tern_msg *req, uint64_t now_ms);
    /* A response: piggybacked in an ACK, or a separate CON/NON response or
     * notification. Return 0 to accept it (a CON is then ACKed) or
     * TERN_E_REJECT when no request of yours matches its token, or when it
     * cannot be processed (section 5.4.1: an unrecognised critical option):
     * a CON is then answered with RST (sections 4.2, 5.3.2), a NON dropped.
     * May be NULL: then every response is rejected.
     * Piggybacked (resp->type == TERN_TYPE_ACK): only an ACK whose MID
     * matches a CON being tracked is offered (an ACK matching none - a
     * duplicate, one after give-up or cancel - is ignored, response and
     * all), before done(ACKED) of that CON. TERN_E_REJECT rejects the whole
     * ACK (section 4.2: silently ignored): the CON stays unacknowledged, is
     * retransmitted, and a later ACK may still answer it. The endpoint
     * compares MIDs; tokens are the caller's to compare (section 5.3.2).
     * Separate (CON/NON): called once per (peer, MID); duplicates of an
     * accepted CON are ACKed again from the dedup cache. */
    int (*on_response)(void *user, tern_endpoint *ep, const tern_addr *peer,
                       const tern_msg *resp, uint64_t now_ms);
    /* A RST that matches no confirmable message being tracked, e.g. the
     * answer to a NON notification (RFC 7641 section 3.6). May be NULL. */
    void (*on_reset)(void *user, tern_endpoint *ep, const tern_addr *peer, uint16_t mid,
                     uint64_t now_ms);
    /* Every datagram in (after a successful parse) and out (when queued),
     * for -v logging. May be NULL. */
    void (*on_trace)(void *user, bool outgoing, const tern_addr *peer, const tern_msg *msg);
    /* An ICMP error names a datagram of ours to peer that the endpoint does
     * not track (a NON, tern_endpoint_unreachable): mid is its MID, token
     * its token (NULL when the error did not quote that far). The place to
     * end the NON request or the observation that datagram belonged to;
     * true when it named one (and so ended it). May be NULL. */
    bool (*on_unreachable)(void *user, tern_endpoint *ep, const tern_addr *peer, uint16_t mid,
                           const uint8_t *token, size_t token_len, uint64_t now_ms);
} tern_endpoint_callbacks;

/* Settings of an endpoint; the rule of tern/config.h applies. [d]: 0 takes
 * the default in brackets. [0]: 0 is a value, as said. */
typedef struct tern_endpoint_config {
    uint32_t size;                     /* set by tern_endpoint_config_default */
    /* Section 4.8 transmission parameters. */
    uint32_t ack_timeout_ms;           /* [d] ACK_TIMEOUT, 2000 */
    uint32_t ack_random_factor_milli;  /* [d] ACK_RANDOM_FACTOR x 1000, 1500 */
    uint32_t max_retransmit;           /* [0: never retransmit] MAX_RETRANSMIT, 4 */
    uint32_t nstart;                   /* [d] NSTART, 1 */
    uint32_t exchange_lifetime_ms;     /* [d] EXCHANGE_LIFETIME, 247000 */
    uint32_t non_lifetime_ms;          /* [d] NON_LIFETIME, 145000 */
    /* [0: at once] How long a request may wait for its answer before the
     * endpoint sends an empty ACK for it (section 5.2.2); default 1000. */
    uint32_t ack_delay_ms;
    /* [0: retry at once] Max-Age of the 5.03 answered when a table is full
     * (section 5.9.3.4); default 5. */
    uint32_t busy_max_age_s;
    /* [d] Capacities of the fixed tables. Memory is about
     * (max_exchanges + max_dedup) * max_message + tx_queue_bytes + ~100 bytes
     * per table entry: each tracked CON keeps its datagram for
     * retransmission, each dedup entry room for a piggybacked answer.
     * That is address space: entries are first written when first used,
     * so resident memory grows with the peers and messages actually seen.
     * exchange_lifetime_ms is not derived from the other parameters: raise it
     * (section 4.8.2) when raising max_retransmit or ack_timeout_ms. */
    uint32_t max_peers;       /* peers with message-ID state [256] */
    uint32_t max_exchanges;   /* outgoing CON/NON messages being tracked [64] */
    uint32_t max_pending;     /* received requests not answered yet [32] */
    uint32_t max_dedup;       /* remembered (peer, MID) pairs with their answer [256] */
    uint32_t max_message;     /* largest datagram sent or cached, bytes [1152] */
    uint32_t tx_queue_bytes;  /* the outbox: datagrams waiting to be sent, each
                                 with a 32-byte header [65536] */
    uint8_t token_len;        /* [d] bytes of fresh request tokens, 4..8 [8] */
    /* Randomness: fills len bytes. Required (tokens, first MIDs, the
     * retransmission jitter, hash keys): the sans-I/O core has no source of
     * its own; tern_io supplies the kernel's when this is NULL. */
    void (*random)(void *ctx, uint8_t *out, size_t len);
    void *random_ctx;
    /* [0: at once] RFC 7252 section 8.2: an answer to a request that came
     * to a group address goes out after a random delay below this, so that
     * a group's servers do not all answer at the same moment; default 5000
     * (DEFAULT_LEISURE). */
    uint32_t multicast_leisure_ms;
} tern_endpoint_config;

/* Fill cfg with the RFC 7252 defaults and modest capacities (random NULL). */
TERN_API void tern_endpoint_config_default(tern_endpoint_config *cfg);

/* Create an endpoint into *out (the only allocation it makes). 0,
 * TERN_E_NOMEM, or TERN_E_INVAL for a config refused: random NULL,
 * ack_random_factor_milli < 1000 or ack_timeout_ms * (factor - 1000) over
 * 2^32, max_retransmit > 20, ack_delay_ms >= exchange_lifetime_ms, a table
 * size over 2^24 (max_pending over 65535), max_message outside 64..65535,
 * tx_queue_bytes < max_message + 32, token_len outside 4..8, or a size
 * field that tern/config.h refuses. */
TERN_API int tern_endpoint_new(tern_endpoint **out, const tern_endpoint_config *cfg,
                               const tern_endpoint_callbacks *cb, void *user);
/* Free it; tracked messages end with TERN_TX_CANCELLED (with the latest
 * now_ms the endpoint saw); sends from those done() calls get TERN_E_STATE.
 * Not from inside a callback. */
TERN_API void tern_endpoint_free(tern_endpoint *ep);

/* Feed one received datagram. Format errors in a CON are answered with RST
 * (section 4.2); other bad datagrams are dropped. Returns 0, or the parse
 * error for a datagram that was rejected (TERN_E_FORMAT, also for a request
 * code in an ACK/RST, a non-empty RST or a reserved code class). */
TERN_API int tern_endpoint_recv(tern_endpoint *ep, const tern_addr *peer, const uint8_t *buf,
                       size_t len, uint64_t now_ms);

/* tern_endpoint_recv for a datagram the driver knows more of: flags is a
 * mix of TERN_RX_*. TERN_RX_MULTICAST: it was sent to a multicast or
 * broadcast address (RFC 7252 section 8; the io layer learns it with
 * IP_PKTINFO / IPV6_RECVPKTINFO). Only a NON request is taken from a group
 * address, never answered with RST (8.1); its answer is dropped when it is
 * an error (4.xx, 5.xx) and sent after a random leisure otherwise (8.2; see
 * multicast_leisure_ms and tern_endpoint_respond). */
#define TERN_RX_MULTICAST 1u
TERN_API int tern_endpoint_recv_flags(tern_endpoint *ep, const tern_addr *peer,
                                      const uint8_t *buf, size_t len, uint64_t now_ms,
                                      unsigned flags);

/* Act on timers due at now_ms: retransmissions, give-ups, delayed empty ACKs,
 * expiry of dedup entries. */
TERN_API void tern_endpoint_tick(tern_endpoint *ep, uint64_t now_ms);

/* A datagram the endpoint wants sent, where it lies in the endpoint's
 * outbox: put data[0, len) on the wire to peer. */
typedef struct tern_datagram {
    const tern_addr *peer;
    const uint8_t *data;
    size_t len;
} tern_datagram;

/* The datagrams waiting to be sent, oldest first: up to max of them into
 * out[], and how many. They are written once, when the endpoint decides to
 * send them, into the outbox (tx_queue_bytes); the pointers stay valid until
 * tern_endpoint_sent or the next call that may send (recv, tick, send_msg,
 * respond, reject, cancel, unreachable). A driver hands them to the kernel
 * as they are (io: sendmmsg over them). */
TERN_API size_t tern_endpoint_outgoing(const tern_endpoint *ep, tern_datagram *out, size_t max);
/* Bytes the outbox can still take (after moving what waits to its front):
 * a caller about to queue many datagrams at once (notifications to every
 * observer) stops while this is below max_message + 32 and goes on after
 * the driver has sent what waits, instead of having datagrams dropped. */
TERN_API size_t tern_endpoint_outbox_room(const tern_endpoint *ep);
/* Whether a confirmable message could be tracked now (a free exchange, out
 * of max_exchanges). Such a caller also holds back while this is false, and
 * goes on when one of its CONs ends (its done callback). */
TERN_API bool tern_endpoint_exchange_free(const tern_endpoint *ep);
/* The first n datagrams of tern_endpoint_outgoing left (or were given up):
 * remove them from the outbox. */
TERN_API void tern_endpoint_sent(tern_endpoint *ep, size_t n);

/* For drivers that want a copy instead: the oldest datagram copied into
 * buf, its length (> 0) with *peer filled, 0 when nothing waits,
 * TERN_E_NOSPACE if cap is too small (the datagram stays). */
TERN_API int tern_endpoint_send(tern_endpoint *ep, uint8_t *buf, size_t cap, tern_addr *peer);

/* Milliseconds timestamp at which tern_endpoint_tick must next run, or
 * UINT64_MAX when nothing is scheduled. */
TERN_API uint64_t tern_endpoint_next_deadline(const tern_endpoint *ep);

/* len bytes from the endpoint's random source (cfg.random): for the layers
 * above that need secrets of their own, such as the server's hash key. */
TERN_API void tern_endpoint_random(tern_endpoint *ep, uint8_t *out, size_t len);

/* Fill a fresh request token of cfg.token_len random bytes; returns length. */
TERN_API size_t tern_endpoint_new_token(tern_endpoint *ep, uint8_t token[TERN_TOKEN_MAX]);

/* Send a CON or NON message (request, separate response or notification) to
 * peer. The endpoint assigns the MID (written back into m->mid); the token is
 * the caller's. A CON is retransmitted until ACK/RST/give-up, and done(ctx)
 * reports the outcome; if NSTART CONs to this peer are outstanding it waits
 * in line. A NON is sent once and done is not called.
 * Returns 0, TERN_E_FULL (no exchange slot, peer slot or queue space),
 * TERN_E_NOSPACE (larger than max_message) or TERN_E_INVAL.
 * An Empty CON is a CoAP ping (section 4.3): the pong ends it with
 * TERN_TX_RESET. A CON that finds the send queue full is still accepted (the
 * dropped datagram counts in tx_dropped and its retransmission follows); a
 * NON then gets TERN_E_FULL. NSTART counts every CON to the peer: requests,
 * separate responses and notifications alike. done() runs after the slot is
 * freed and the next queued CON to that peer started, so it may send. */
TERN_API int tern_endpoint_send_msg(tern_endpoint *ep, const tern_addr *peer, tern_msgb *m,
                           uint64_t now_ms, tern_tx_done_fn done, void *ctx);

/* Send one of many copies of a response that differ only in their token
 * and MID (the notifications of one change to many observers, RFC 7641):
 * tmpl is the response encoded once with no token (len bytes; its type
 * and MID are replaced); this writes it with token and a fresh MID, as
 * type (CON: tracked as tern_endpoint_send_msg does, done and ctx alike;
 * NON: queued). *mid (if not NULL) gets the MID. 0, TERN_E_FULL (no room
 * in the tables or the outbox), TERN_E_NOSPACE (larger than max_message
 * with the token), TERN_E_INVAL (not a tokenless response template). */
TERN_API int tern_endpoint_send_template(tern_endpoint *ep, const tern_addr *peer, tern_type type,
                                         const uint8_t *tmpl, size_t len, const uint8_t *token,
                                         size_t token_len, uint64_t now_ms, tern_tx_done_fn done,
                                         void *ctx, uint16_t *mid);

/* RFC 7641 section 4.5.2: replace the message of the CON tracked under ctx
 * (sent, or waiting for NSTART) by m, a newer one for the same purpose (a
 * notification of a newer state): it gets a fresh MID (written back into
 * m->mid) and goes out in place of the old at the exchange's next
 * (re)transmission; retransmission counter, timeout and done() carry on.
 * The first CON tracked under ctx is replaced. 0, TERN_E_NOTFOUND, or
 * TERN_E_NOSPACE (m larger than max_message; the exchange goes on with the
 * old message, unless the outbox is full too: then it ends with
 * done(TERN_TX_CANCELLED), its old bytes no longer intact). */
TERN_API int tern_endpoint_replace(tern_endpoint *ep, void *ctx, tern_msgb *m);

/* Stop tracking the CON sent with ctx (no more retransmissions, done gets
 * TERN_TX_CANCELLED). 0 or TERN_E_NOTFOUND. Every CON (sent or still queued)
 * tracked under ctx when the call starts is cancelled; one sent from inside
 * those done() calls is not. A NULL ctx matches nothing. */
TERN_API int tern_endpoint_cancel(tern_endpoint *ep, void *ctx);

/* Answer a request. Code, options and payload come from resp; type, MID and
 * token are set by the endpoint: piggybacked in the ACK if the CON is not yet
 * acknowledged, otherwise a separate CON response (section 5.2.2); a NON
 * request gets a NON response. TERN_E_NOTFOUND for an unknown or expired id
 * (the id is spent after a successful call).
 * They are written back into resp: afterwards resp->type says which shape it
 * took (ACK, CON or NON) and resp->mid its MID. Other errors leave the id
 * valid for another try: TERN_E_INVAL (resp->code is not a response code),
 * TERN_E_NOSPACE (larger than max_message: answer something smaller, e.g.
 * 5.00), TERN_E_FULL (a separate or NON answer found no exchange slot, peer
 * slot or, for NON, queue space). A request that came to a group address
 * (TERN_RX_MULTICAST) is answered NON after a random leisure, and an error
 * answer to it (4.xx, 5.xx) not at all (RFC 7252 section 8.2): 0 either
 * way, the id spent. */
TERN_API int tern_endpoint_respond(tern_endpoint *ep, tern_endpoint_req_id id, tern_msgb *resp, uint64_t now_ms);

/* tern_endpoint_respond, and if the answer goes out as a separate CON
 * response, done(ctx) reports its fate like for tern_endpoint_send_msg (e.g.
 * RFC 7641 section 3.6: a RST to a notification ends the observation; a
 * give-up means the observer is gone). done is not called when the answer
 * is piggybacked or NON (resp->type then says TERN_TYPE_ACK or _NON). */
TERN_API int tern_endpoint_respond_tracked(tern_endpoint *ep, tern_endpoint_req_id id, tern_msgb *resp,
                                  uint64_t now_ms, tern_tx_done_fn done, void *ctx);

/* Reject a request instead of answering it (RFC 7252 sections 4.2, 4.3,
 * 5.4.1): a NON request, e.g. one with an unrecognised critical option, gets
 * a RST with its MID and no response; the id is spent, and a duplicate of
 * the NON is dropped silently like any duplicate (4.5). A CON request must be
 * answered (5.4.1: 4.02 Bad Option), so it gets TERN_E_STATE and the id
 * stays valid. 0, TERN_E_NOTFOUND (unknown or expired id) or TERN_E_STATE.
 * The RST is optional (4.3: "MAY"): with the send queue full it is dropped
 * (counted in tx_dropped) and the request is still rejected. */
TERN_API int tern_endpoint_reject(tern_endpoint *ep, tern_endpoint_req_id id, uint64_t now_ms);

/* An ICMP destination-unreachable error for a datagram we sent to peer (the
 * io layer feeds them in). quote is the start of that datagram as far as the
 * error quoted it (quote_len bytes, often all of it, possibly none). RFC
 * 8085 section 5.2 asks UDP applications to act on such errors, but anyone
 * can forge one, so it ends only the exchange the quote names: a CON being
 * tracked with the quoted MID (and token, when quoted) ends at once with
 * TERN_TX_UNREACHABLE instead of being retransmitted until
 * MAX_TRANSMIT_WAIT; a quoted NON goes to on_unreachable for its owner to
 * match. An error that quotes no CoAP header ends nothing.
 * Returns TERN_ICMP_MATCHED (it named an exchange, a CON of ours or a NON
 * its owner knew, which ended) or TERN_ICMP_IGNORED (it named nothing
 * current: forged, or late), for the caller's log. Not from inside a
 * callback. */
enum { TERN_ICMP_IGNORED = 0, TERN_ICMP_MATCHED = 1 };
TERN_API int tern_endpoint_unreachable(tern_endpoint *ep, const tern_addr *peer,
                                       const uint8_t *quote, size_t quote_len, uint64_t now_ms);

/* Replace the on_trace callback (NULL: none), e.g. when a log level
 * changes: tracing costs a parse of every datagram sent, so an endpoint
 * that need not trace should have none. */
TERN_API void tern_endpoint_set_on_trace(tern_endpoint *ep,
                                         void (*on_trace)(void *user, bool outgoing,
                                                          const tern_addr *peer,
                                                          const tern_msg *msg));

/* Details of a request still awaiting its answer: peer and token (its type
 * and options are in the tern_msg given to on_request). 0 or
 * TERN_E_NOTFOUND; NULL outputs are skipped. */
/* RFC 7252 section 11.3, RFC 9175 section 2.4: has peer proved that it
 * receives at its address? The endpoint marks it when the peer acknowledges
 * (or resets) a confirmable message of ours; the server, when it returns a
 * valid Echo. A peer entry evicted for room forgets it. */
TERN_API bool tern_endpoint_peer_verified(const tern_endpoint *ep, const tern_addr *peer);
TERN_API void tern_endpoint_peer_set_verified(tern_endpoint *ep, const tern_addr *peer);

/* Did the request come to a group address (TERN_RX_MULTICAST)? false for
 * an unknown id. */
TERN_API bool tern_endpoint_request_multicast(const tern_endpoint *ep, tern_endpoint_req_id id);

TERN_API int tern_endpoint_request_info(const tern_endpoint *ep, tern_endpoint_req_id id, tern_addr *peer,
                               uint8_t token[TERN_TOKEN_MAX], uint8_t *token_len);

/* Counters for tests, -v and benchmarks. */
typedef struct tern_endpoint_stats {
    /* rx: datagrams fed to tern_endpoint_recv. tx: datagrams queued for the
     * wire (retransmissions and replays included). retransmissions: CON
     * retransmissions. duplicates: CON/NON copies recognised by dedup.
     * rejected: datagrams refused as format errors, CON/NON responses
     * refused by on_response, and requests refused by
     * tern_endpoint_reject. timeouts: CONs given up. resets: RSTs received
     * (matched or not). */
    uint64_t rx, tx, retransmissions, duplicates, rejected, timeouts, resets;
    uint64_t busy_answers;   /* 5.03 answers for a full table */
    uint64_t dedup_evicted;  /* dedup entries dropped before their lifetime */
    uint64_t tx_dropped;     /* datagrams dropped for a full send queue */
    uint64_t unreachable;    /* tern_endpoint_unreachable calls */
    uint64_t icmp_ignored;   /* ... that matched nothing we sent (forged?) */
} tern_endpoint_stats;

TERN_API void tern_endpoint_get_stats(const tern_endpoint *ep, tern_endpoint_stats *st);

#ifdef __cplusplus
}
#endif
#endif
