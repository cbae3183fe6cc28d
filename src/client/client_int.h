/* client_int.h - the request table shared by src/client's files
 * (RFC 7252 section 5.3.2 token matching; RFC 7641 section 3 state).
 *
 * One slot per request or observation. A slot keeps its request encoded, so
 * that an observation can be re-registered or deregistered with the same
 * token and options long after the caller's builder is gone (RFC 7641
 * sections 3.3.1 and 3.6). A block-wise request (RFC 7959 Block1) keeps
 * only its options there and points at the caller's payload. */
#ifndef TERN_CLIENT_INT_H
#define TERN_CLIENT_INT_H

#include "tern/client.h"

typedef enum client_state {
    SLOT_FREE = 0,
    SLOT_REQUEST,        /* plain request, waiting for its response */
    SLOT_OBS_REGISTER,   /* GET Observe=0 sent, no answer yet */
    SLOT_OBS_ACTIVE,     /* notifications flow; deadline = re-registration */
    SLOT_OBS_REREGISTER, /* Max-Age ran out, GET Observe=0 sent again */
    SLOT_OBS_DEREGISTER, /* GET Observe=1 sent (tern_client_deregister) */
    /* Finished, but the endpoint still tracks a CON of ours with this slot
     * as its ctx: the slot is not reused until that done() arrives, so a late
     * done() can never be mistaken for a newer request's. */
    SLOT_ZOMBIE
} client_state;

typedef struct client_slot {
    tern_client *cli;
    tern_req id;
    client_state state;
    tern_addr peer;
    uint8_t token[TERN_TOKEN_MAX];
    uint8_t token_len;
    uint8_t type;          /* CON or NON, as the caller built it */
    uint16_t mid;          /* of the last message sent (matches a RST to a NON) */
    unsigned tx_count;     /* CONs of ours the endpoint tracks (done() pending) */
    bool send_pending;     /* send at the next tick: asked for inside an
                              endpoint callback, where we do not re-enter it */
    uint32_t timeout_ms;   /* per (re-)registration or request */
    uint64_t deadline;     /* state timer; UINT64_MAX for none */
    tern_client_fn fn;
    void *ctx;
    /* RFC 7641 section 3.4: the last notification delivered. */
    bool has_last;
    uint32_t last_seq;
    uint64_t last_ms;
    size_t req_len;
    uint8_t *req;          /* encoded request, MID 0; points into cli->store.
                              Block-wise: without payload, Block1 or Size1 */
    /* RFC 7959 section 2.5: a request payload too large for one datagram is
     * sent in blocks encoded on demand from the caller's buffer (not copied:
     * the slot stays max_request_size bytes, whatever the payload). */
    bool block1;
    uint8_t b1_szx;        /* current block size exponent */
    const uint8_t *body;   /* the caller's payload */
    size_t body_len;
    size_t b1_off;         /* byte offset of the block in flight */
} client_slot;

struct tern_client {
    tern_endpoint *ep;
    tern_client_config cfg;
    client_slot *slots;
    uint8_t *store;
    tern_req next_id;
    unsigned in_endpoint;  /* > 0 while inside one of the endpoint's callbacks */
};

/* client.c: the table and the plumbing. */
int client_start(tern_client *cli, const tern_addr *peer, tern_msgb *req, uint32_t timeout_ms,
                 tern_client_fn fn, void *ctx, uint64_t now_ms, client_state state, tern_req *id);
/* Send the message the slot's state calls for (stored request, or with
 * Observe=1 when deregistering); deferred to the next tick inside an
 * endpoint callback. 0 or the endpoint's error. */
int client_transmit(tern_client *cli, client_slot *s, uint64_t now_ms);
/* Call fn; false when the callback released or reused the slot meanwhile. */
bool client_deliver(client_slot *s, int err, const tern_msg *resp, bool observing,
                    uint64_t now_ms);
/* Last call for the slot (observing false), then release it. */
void client_finish(client_slot *s, int err, const tern_msg *resp, uint64_t now_ms);
void client_release(client_slot *s);

/* A fresh token (section 5.3.1), unique among our requests to peer:
 * its length, or 0 if none could be found. */
size_t client_new_token(tern_client *cli, const tern_addr *peer, uint8_t token[TERN_TOKEN_MAX]);

/* request.c */
void request_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms);

/* block1.c (RFC 7959 Block1) */
/* req did not fit max_request_size: store it without payload into s->req and
 * plan the blocks. The encoded length, or TERN_E_NOSPACE when block-wise
 * cannot help (options alone too large, the caller's own Block1, too many
 * blocks). */
int block1_setup(tern_client *cli, client_slot *s, tern_msgb *req);
/* Add Block1 (and Size1 on block 0) and the block's payload to b, the
 * stored request. */
int block1_fill(const client_slot *s, tern_msgb *b);
/* The answer to one block: send the next, restart smaller, or deliver. */
void block1_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms);

/* observe.c */
void observe_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms);
void observe_on_timer(client_slot *s, uint64_t now_ms);

#endif
