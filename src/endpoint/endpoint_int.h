/* SPDX-License-Identifier: BSD-2-Clause */
/* endpoint_int.h - private state of the CoAP messaging layer (RFC 7252
 * sections 4 and 5.2), shared by the files of src/endpoint only.
 *
 * Every table is a fixed array carved out of the one allocation made by
 * tern_endpoint_new; entries refer to each other by uint32_t index (EP_NONE
 * for "no entry"), never by pointer, so that a callback that sends or
 * answers from inside the engine can never leave a dangling reference behind:
 * after a callback the engine looks its entry up again by index and serial.
 *
 * Who owns what:
 *   outbox.c   ep_outbox  datagrams to send, encoded in place (tern_endpoint_outgoing)
 *   peer.c     ep_peers   per-peer MID counter, NSTART count and queue (4.4, 4.7)
 *   retransmit.c ep_xchs  outgoing CONs: back-off, give-up, ACK/RST match (4.2, 4.8),
 *                         unreachable peers
 *   dedup.c    ep_dedups  received (peer, MID) with what to replay (4.5)
 *   pending.c  ep_pends   received requests not answered yet (5.2.1, 5.2.2)
 *   endpoint.c            create/free, receive dispatch, timers, stats */
#ifndef TERN_ENDPOINT_INT_H
#define TERN_ENDPOINT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ilist.h"
#include "base/keyhash.h"
#include "base/slots.h"
#include "tern/endpoint.h"

#define EP_NONE TERN_NIL

/* Bounds checked by tern_endpoint_new so that index and size arithmetic
 * cannot overflow. Pending ids carry the slot index in 16 bits. */
#define EP_MAX_TABLE (1u << 24)
#define EP_MAX_PENDING 65535u
#define EP_MAX_RETRANSMIT 20u
#define EP_MAX_MESSAGE 65535u

static inline uint64_t ep_add_sat(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---- hashing ----------------------------------------------------------- */

/* Tables keyed by what a peer chooses (its address, its MIDs) use the keyed
 * multiply-fold of base/keyhash.h, so that a remote peer cannot aim at one
 * bucket. This is its form for an address and at most 8 more bytes (a MID,
 * a token), once per datagram: the address is read in place as words, the
 * bytes past its length masked off (they need not be zero), and both
 * lengths go into the last product, so that no two keys share an input. */
_Static_assert(TERN_ADDR_MAX == 28, "ep_hash_addr reads the address as 3 words and 4 bytes");
static inline uint32_t ep_hash_addr(const tern_hkey *k, const tern_addr *a, const uint8_t *more,
                                    size_t more_len) {
    size_t n = a->len <= TERN_ADDR_MAX ? a->len : TERN_ADDR_MAX;
    uint64_t w[4] = {tern_load64_le(a->bytes), tern_load64_le(a->bytes + 8),
                     tern_load64_le(a->bytes + 16), 0};
    w[3] = (uint64_t)a->bytes[24] | (uint64_t)a->bytes[25] << 8 | (uint64_t)a->bytes[26] << 16 |
           (uint64_t)a->bytes[27] << 24;
    /* Keep the first n bytes: whole words below n / 8, then a mask. */
    size_t full = n / 8, part = n % 8;
    if (full < 4) {
        w[full] &= part ? ~(uint64_t)0 >> (64 - 8 * part) : 0;
        for (size_t i = full + 1; i < 4; i++) w[i] = 0;
    }
    uint64_t m = 0;
    if (more_len > 8) more_len = 8;
    for (size_t i = 0; i < more_len; i++) m |= (uint64_t)more[i] << (8 * i);
    uint64_t s1 = k->k1 | 1u;
    uint64_t h = tern_mum(w[0] ^ s1, w[1] ^ k->k0);
    h = tern_mum(w[2] ^ s1, w[3] ^ h);
    h = tern_mum(m ^ s1, h ^ ((uint64_t)n << 8 | more_len));
    h = tern_mum(h ^ k->k0, s1);
    return (uint32_t)(h ^ (h >> 32));
}

/* Keys of our own making (a slot index, our MID, a pointer) cannot be
 * steered from outside; a seeded mix of them is enough. */
static inline uint32_t ep_fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* ---- outbox.c: datagrams to send, written once --------------------------- */

typedef struct ep_outbox {
    uint8_t *buf;
    size_t cap;
    size_t head, tail; /* records in [head, tail) */
    uint32_t n;
} ep_outbox;

#define TERN_EP_OUT_HDR 32 /* tern_addr, u16 length, spare */

void tern_ep_out_init(ep_outbox *q, uint8_t *buf, size_t cap);
/* Room for one datagram at the tail: *cap bytes (at most max_message), or
 * NULL when the outbox is full. Encode there, then commit. */
uint8_t *tern_ep_out_reserve(tern_endpoint *ep, size_t *cap);
/* The len bytes written at the reserved place go to peer (counts tx,
 * traces). */
void tern_ep_out_commit(tern_endpoint *ep, const tern_addr *peer, size_t len);
/* A datagram that found no room (counts tx_dropped). */
void tern_ep_out_drop(tern_endpoint *ep);
/* Copy a datagram kept elsewhere (a CON, a cached answer) into the outbox:
 * 0 or TERN_E_FULL (dropped and counted). */
int tern_ep_emit(tern_endpoint *ep, const tern_addr *peer, const uint8_t *data, size_t len);
/* Encode m straight into the outbox: its length (*wire, if not NULL, points
 * at the bytes until the next append), TERN_E_FULL (no room left: dropped
 * and counted) or the encoder's error (TERN_E_NOSPACE: larger than
 * max_message). */
int tern_ep_emit_msg(tern_endpoint *ep, const tern_addr *peer, const tern_msgb *m,
                     const uint8_t **wire);
/* Write at dst the message of template tmpl (len bytes, encoded with no
 * token) with this type, MID and token; its length. */
size_t tern_ep_tmpl_write(uint8_t *dst, uint8_t type, uint16_t mid, const uint8_t *tmpl,
                          size_t len, const uint8_t *token, size_t token_len);

/* ---- peer.c ------------------------------------------------------------- */

typedef struct ep_peer {
    tern_addr addr;
    bool used;
    uint16_t next_mid;
    uint32_t hnext;              /* hash chain; free list when unused */
    tern_ilink lru;              /* idle list: only peers with n_xch == 0 */
    uint32_t n_xch;              /* exchanges tracked, active or queued */
    uint32_t n_active;           /* CONs sent and not yet acknowledged (4.7) */
    uint32_t q_head, q_tail;     /* CONs waiting for NSTART, FIFO */
    bool verified;               /* proved it receives at this address */
} ep_peer;

typedef struct ep_peers {
    ep_peer *v;
    uint32_t cap;
    uint32_t *buckets;
    uint32_t mask;
    tern_slots slots; /* free entries: hnext */
    tern_ilist lru;
} ep_peers;

/* ---- retransmit.c ------------------------------------------------------- */

enum { EP_X_FREE = 0, EP_X_QUEUED, EP_X_ACTIVE };

typedef struct ep_xch {
    uint8_t state;
    uint16_t mid;
    uint16_t len;
    uint32_t peer;
    uint32_t retries;
    uint64_t timeout, deadline;
    uint64_t serial;
    tern_tx_done_fn done;
    void *ctx;
    uint32_t hnext;          /* (peer, MID) chain while active; free list */
    uint32_t cnext;          /* ctx chain */
    uint32_t qprev, qnext;   /* the peer's NSTART queue while queued */
    uint32_t heap_pos;
} ep_xch;

typedef struct ep_xchs {
    ep_xch *v;
    uint8_t *bytes; /* cap * max_message: the datagram of each slot */
    uint32_t cap;
    uint32_t *buckets, *cbuckets;
    uint32_t mask;
    tern_slots slots; /* free entries: hnext */
    uint32_t *heap; /* active exchanges ordered by deadline */
    uint32_t heap_n;
} ep_xchs;

/* ---- dedup.c ------------------------------------------------------------ */

enum {
    EP_D_FREE = 0,
    EP_D_DEAD,      /* expired, unhashed, waiting to leave the ring */
    EP_D_SEEN,      /* duplicates are dropped (NON, or nothing to replay) */
    EP_D_NOACK,     /* CON request, ACK not sent yet: a duplicate makes us send it */
    EP_D_EMPTY_ACK, /* duplicates get an empty ACK with the same MID */
    EP_D_RESPONSE   /* duplicates get the cached piggybacked response */
};

typedef struct ep_dedup {
    tern_addr peer;
    uint32_t hash; /* tern_ep_dedup_hash(peer, mid) */
    uint16_t mid;
    uint8_t kind;
    uint16_t len;      /* cached bytes for EP_D_RESPONSE */
    uint32_t hnext;    /* hash chain; free list when free */
    uint32_t pending;  /* pinned by this pending request, else EP_NONE */
    uint64_t expires;
    /* An answer to a multicast request waiting for its leisure (RFC 7252
     * 8.2): its bytes are the cached ones; pinned until sent. */
    bool delayed;
    uint64_t send_at;
    tern_ilink dlink;
} ep_dedup;

typedef struct ep_dedups {
    ep_dedup *v;
    uint8_t *bytes; /* cap * max_message: cached answers */
    uint32_t cap;
    uint32_t *buckets;
    uint32_t mask;
    uint32_t free_head;
    uint32_t *ring; /* entry indices, oldest first */
    uint32_t ring_head, ring_n;
    tern_ilist delayed; /* delayed answers, soonest first */
} ep_dedups;

/* ---- pending.c ---------------------------------------------------------- */

enum { EP_ACK_NONE = 0, EP_ACK_OWED, EP_ACK_SENT };

typedef struct ep_pend {
    bool used;
    bool multicast;    /* arrived via a group address (RFC 7252 section 8) */
    uint8_t type;
    uint8_t ack;       /* EP_ACK_*: NONE for a NON request */
    uint8_t token_len;
    uint8_t token[TERN_TOKEN_MAX];
    uint16_t mid;
    uint16_t gen;
    tern_addr peer;
    uint32_t dedup;
    uint64_t created, ack_deadline;
    uint32_t free_next;
    tern_ilink age_link; /* all pending, oldest first */
    tern_ilink ack_link; /* empty ACK still owed, oldest first */
} ep_pend;

typedef struct ep_pends {
    ep_pend *v;
    uint32_t cap;
    uint32_t free_head;
    tern_ilist age, ack;
} ep_pends;

/* ---- the endpoint ------------------------------------------------------- */

struct tern_endpoint {
    tern_endpoint_config cfg;
    tern_endpoint_callbacks cb;
    void *user;
    tern_endpoint_stats stats;
    tern_hkey hkey;    /* keyed hash of peer-chosen keys */
    uint32_t seed;     /* mixes keys of our own making */
    bool closing;
    uint64_t serial;   /* orders exchanges, to tell a slot's reuse apart */
    uint64_t last_now; /* latest now_ms seen, for calls that take none */
    ep_outbox out;
    ep_peers peers;
    ep_xchs x;
    ep_dedups d;
    ep_pends p;
    void *mem;
};

/* endpoint.c */
/* An Empty ACK or RST carrying mid (sections 4.2, 4.3). */
void tern_ep_emit_empty(tern_endpoint *ep, const tern_addr *peer, uint8_t type, uint16_t mid);
uint32_t tern_ep_random32(tern_endpoint *ep);
/* Send a NON with a fresh MID from the peer table: 0, TERN_E_FULL,
 * TERN_E_NOSPACE or TERN_E_INVAL. */
int tern_ep_send_non(tern_endpoint *ep, const tern_addr *peer, tern_msgb *m);

/* peer.c */
void tern_ep_peers_init(ep_peers *t);
uint32_t tern_ep_peer_find(const tern_endpoint *ep, const tern_addr *a);
/* Find or create; may evict the least recently used idle peer. EP_NONE when
 * every peer has tracked exchanges. */
uint32_t tern_ep_peer_get(tern_endpoint *ep, const tern_addr *a);
void tern_ep_peer_hold(tern_endpoint *ep, uint32_t pi);
void tern_ep_peer_release(tern_endpoint *ep, uint32_t pi);

/* retransmit.c */
void tern_ep_xchs_init(ep_xchs *t);
/* Track and send (or queue behind NSTART) a CON; m->mid is assigned. */
int tern_ep_xch_send(tern_endpoint *ep, const tern_addr *peer, tern_msgb *m, uint64_t now,
                tern_tx_done_fn done, void *ctx);
/* The same from a template (tern_endpoint_send_template); *mid gets the
 * MID used. */
int tern_ep_xch_send_tmpl(tern_endpoint *ep, const tern_addr *peer, const uint8_t *tmpl,
                          size_t len, const uint8_t *token, size_t token_len, uint64_t now,
                          tern_tx_done_fn done, void *ctx, uint16_t *mid);
/* An ACK or RST arrived (already parsed and checked). */
void tern_ep_xch_recv_ack_rst(tern_endpoint *ep, const tern_addr *peer, const tern_msg *msg,
                         uint64_t now);
void tern_ep_xch_tick(tern_endpoint *ep, uint64_t now);
uint64_t tern_ep_xch_next_deadline(const tern_endpoint *ep);
/* tern_endpoint_free: end everything with TERN_TX_CANCELLED. */
void tern_ep_xch_cancel_all(tern_endpoint *ep, uint64_t now);
/* tern_endpoint_unreachable: end the CON to peer an ICMP error quoted
 * (MID, and token when quoted); true when there was one. */
bool tern_ep_xch_unreachable(tern_endpoint *ep, const tern_addr *peer, uint16_t mid,
                             const uint8_t *token, size_t token_len, uint64_t now);

/* dedup.c */
void tern_ep_dedups_init(ep_dedups *t);
/* The keyed hash of (peer, mid) the two calls below take: one per message. */
uint32_t tern_ep_dedup_hash(const tern_endpoint *ep, const tern_addr *peer, uint16_t mid);
/* The live entry for (peer, mid), or EP_NONE (expired entries are dropped
 * here, lazily). */
uint32_t tern_ep_dedup_lookup(tern_endpoint *ep, const tern_addr *peer, uint16_t mid, uint32_t hash,
                              uint64_t now);
/* A new entry of kind, evicting the oldest unpinned one if the table is full;
 * EP_NONE when every entry is pinned by a pending request. */
uint32_t tern_ep_dedup_insert(tern_endpoint *ep, const tern_addr *peer, uint16_t mid, uint32_t hash,
                              uint8_t kind, uint64_t lifetime, uint64_t now);
static inline uint8_t *ep_dedup_buf(tern_endpoint *ep, uint32_t di) {
    return ep->d.bytes + (size_t)di * ep->cfg.max_message;
}
/* Answer a duplicate CON the way its first copy was answered. */
void tern_ep_dedup_replay(tern_endpoint *ep, uint32_t di);
void tern_ep_dedup_tick(tern_endpoint *ep, uint64_t now);
/* Send the cached answer of di at send_at (RFC 7252 8.2 leisure). */
void tern_ep_dedup_delay(tern_endpoint *ep, uint32_t di, uint64_t send_at);
/* Answers whose leisure is over go out. */
void tern_ep_delayed_tick(tern_endpoint *ep, uint64_t now);
uint64_t tern_ep_delayed_next_deadline(const tern_endpoint *ep);

/* pending.c */
void tern_ep_pends_init(ep_pends *t);
/* A CON or NON request (section 5.2): dedup, then on_request. multicast:
 * it came to a group address (section 8). */
void tern_ep_request_recv(tern_endpoint *ep, const tern_addr *peer, const tern_msg *msg,
                          uint64_t now, bool multicast);
/* A duplicate arrived while the request is pending: send the owed ACK now. */
void tern_ep_pend_ack_now(tern_endpoint *ep, uint32_t pi);
void tern_ep_pend_tick(tern_endpoint *ep, uint64_t now);
uint64_t tern_ep_pend_next_deadline(const tern_endpoint *ep);

#endif
