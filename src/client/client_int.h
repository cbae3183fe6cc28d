/* SPDX-License-Identifier: BSD-2-Clause */
/* client_int.h - the request table shared by src/client's files
 * (RFC 7252 section 5.3.2 token matching; RFC 7641 section 3 state).
 *
 * One slot per request or observation. A slot keeps its request encoded, so
 * that an observation can be re-registered or deregistered with the same
 * token and options long after the caller's builder is gone (RFC 7641
 * sections 3.3.1 and 3.6). A block-wise request (RFC 7959 Block1) keeps
 * only its options there and points at the caller's payload; a response
 * body put together from Block2 blocks goes to the caller's buffer. */
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
    tern_client_op_id id;
    client_state state;
    tern_addr peer;
    uint8_t token[TERN_TOKEN_MAX];
    uint8_t token_len;
    uint8_t type;          /* CON or NON, as the caller built it */
    bool group;            /* sent to a group address (RFC 7252 section 8) */
    /* RFC 9175 section 2.4: a server's Echo, to repeat in the next request. */
    uint8_t echo_len;
    uint8_t echo_tries;
    uint8_t echo[40];
    const tern_addr *from; /* during delivery: who answered */
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
    /* RFC 7959 section 2.4: Block2 reassembly into the caller's buffer
     * (tern_client_request_body); off when b2_buf is NULL. */
    uint8_t *b2_buf;
    size_t b2_cap;
    size_t b2_len;         /* bytes assembled = offset of the next block */
    bool b2_active;        /* the request in flight asks for a later block */
    uint8_t b2_szx;        /* the server's block size (section 2.4: kept) */
    bool b2_has_etag;      /* ETag of block 0 (section 2.4, RFC 7252 5.10.6) */
    uint8_t b2_etag_len;
    uint8_t b2_etag[8];
    uint8_t b2_restarts;   /* restarts after an ETag change */
    /* Section 2.6: an observation fetching the rest of a notification. */
    bool b2_obs_fetch;     /* the GET with b2_token is in progress */
    bool b2_deliver_seq;   /* tern_cl_deliver: report b2_seq as Observe */
    uint8_t b2_token_len;
    uint8_t b2_token[TERN_TOKEN_MAX];
    uint32_t b2_seq;       /* Observe of the notification being completed */
} client_slot;

struct tern_client {
    tern_endpoint *ep;
    tern_client_config cfg;
    client_slot *slots;
    uint8_t *store;
    tern_client_op_id next_id;
    unsigned in_endpoint;  /* > 0 while inside one of the endpoint's callbacks */
};

/* client.c: the table and the plumbing. */
/* body/body_cap: the caller's buffer for Block2 reassembly, or NULL. */
/* group: to a group address (RFC 7252 section 8): answers matched by
 * token alone, no block-wise transfer. */
int tern_cl_start(tern_client *cli, const tern_addr *peer, tern_msgb *req, uint32_t timeout_ms,
                 tern_client_fn fn, void *ctx, uint64_t now_ms, client_state state, bool group,
                 uint8_t *body, size_t body_cap, tern_client_op_id *id);
/* Send the message the slot's state calls for (stored request, or with
 * Observe=1 when deregistering); deferred to the next tick inside an
 * endpoint callback. 0 or the endpoint's error. */
int tern_cl_transmit(tern_client *cli, client_slot *s, uint64_t now_ms);
/* Call fn; false when the callback released or reused the slot meanwhile. */
bool tern_cl_deliver(client_slot *s, int err, const tern_msg *resp, bool observing,
                    uint64_t now_ms);
/* Last call for the slot (observing false), then release it. */
void tern_cl_finish(client_slot *s, int err, const tern_msg *resp, uint64_t now_ms);
void tern_cl_release(client_slot *s);

/* Send the stored request again, as the next block of a block-wise
 * transfer, under a fresh token; finishes the slot on failure. */
void tern_cl_send_next(client_slot *s, uint64_t now_ms);
/* A fresh token (section 5.3.1), unique among our requests to peer:
 * its length, or 0 if none could be found. */
size_t tern_cl_new_token(tern_client *cli, const tern_addr *peer, uint8_t token[TERN_TOKEN_MAX]);

/* A uint option of m, unless absent or of a length outside its range
 * (elective options so are ignored, RFC 7252 section 5.4.3). */
bool tern_cl_get_uint(const tern_msg *m, uint16_t num, uint32_t *val);

/* request.c */
void tern_cl_request_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms);

/* block1.c (RFC 7959 Block1) */
/* req did not fit max_request_size: store it without payload into s->req and
 * plan the blocks. The encoded length, or TERN_E_NOSPACE when block-wise
 * cannot help (options alone too large, the caller's own Block1, too many
 * blocks). */
int tern_cl_block1_setup(tern_client *cli, client_slot *s, tern_msgb *req);
/* Add Block1 (and Size1 on block 0) and the block's payload to b, the
 * stored request. */
int tern_cl_block1_fill(const client_slot *s, tern_msgb *b);
/* The answer to one block: send the next, restart smaller, or deliver. */
void tern_cl_block1_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms);

/* block2.c (RFC 7959 Block2 reassembly) */
/* Add Block2 NUM (from the bytes assembled) and the server's SZX to b. */
int tern_cl_block2_fill(const client_slot *s, tern_msgb *b);
/* An answer while reassembling: append and ask for the next block, restart,
 * or deliver the whole body. */
void tern_cl_block2_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms);

/* A fresh notification (section 2.6): true when it is block 0 of a larger
 * body, whose rest is now being fetched (it is delivered later). */
bool tern_cl_block2_obs_start(client_slot *s, const tern_msg *resp, uint32_t seq, uint64_t now_ms);
/* The answer to such a fetch (matched by b2_token). */
void tern_cl_block2_obs_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms);

/* observe.c */
void tern_cl_observe_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms);
void tern_cl_observe_on_timer(client_slot *s, uint64_t now_ms);

#endif
