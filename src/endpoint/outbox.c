/* SPDX-License-Identifier: BSD-2-Clause */
/* outbox.c - the datagrams the endpoint wants sent, written once.
 *
 * Sans-I/O (see DESIGN.md): the engine never sends, it writes. Every
 * datagram is encoded straight into the outbox (a response, a NON, the 5.03
 * of a full table) or copied into it once from where it is kept for
 * retransmission or replay (a CON, a cached piggybacked answer, section
 * 4.5); the driver then hands the records to the kernel where they lie
 * (tern_endpoint_outgoing gives pointers into the outbox, sendmmsg reads
 * them) and says how many left (tern_endpoint_sent). Nothing is copied into
 * a queue and out again.
 *
 * The outbox is one linear buffer of records, each a 32-byte header (the
 * peer's tern_addr, then the datagram's length) followed by the datagram,
 * so a burst of 4-byte empty ACKs does not cost max_message bytes each.
 * Records are appended at the tail and taken from the head; when the tail
 * reaches the end while records have left from the head, the ones still
 * waiting move to the front (rare: a driver drains everything after each
 * step). When even that leaves no room the datagram is dropped and counted
 * (tx_dropped), as a full network queue would drop it: a CON is sent again
 * by its retransmission timer, a lost ACK or piggybacked answer is replayed
 * from the dedup cache when the peer retransmits (RFC 7252 sections 4.2,
 * 4.5). */
#include <string.h>

#include "endpoint/endpoint_int.h"

/* Header: the tern_addr as it is, then the u16 length. */
#define OUT_LEN_AT sizeof(tern_addr)
_Static_assert(OUT_LEN_AT + 2 <= TERN_EP_OUT_HDR, "outbox header too small");

void tern_ep_out_init(ep_outbox *q, uint8_t *buf, size_t cap) {
    q->buf = buf;
    q->cap = cap;
    q->head = q->tail = 0;
    q->n = 0;
}

static size_t rec_len(const uint8_t *r) {
    return (size_t)r[OUT_LEN_AT] << 8 | r[OUT_LEN_AT + 1];
}

/* Inline in this file (every datagram passes here), exported for the
 * few callers elsewhere. */
static inline uint8_t *out_reserve(tern_endpoint *ep, size_t *cap) {
    ep_outbox *q = &ep->out;
    size_t want = TERN_EP_OUT_HDR + ep->cfg.max_message;
    if (q->cap - q->tail < want && q->head > 0) {
        /* Move the waiting records to the front. */
        memmove(q->buf, q->buf + q->head, q->tail - q->head);
        q->tail -= q->head;
        q->head = 0;
    }
    size_t room = q->cap - q->tail;
    if (room <= TERN_EP_OUT_HDR) {
        *cap = 0;
        return NULL;
    }
    room -= TERN_EP_OUT_HDR;
    *cap = room < ep->cfg.max_message ? room : ep->cfg.max_message;
    return q->buf + q->tail + TERN_EP_OUT_HDR;
}

static inline void out_commit(tern_endpoint *ep, const tern_addr *peer, size_t len) {
    ep_outbox *q = &ep->out;
    uint8_t *r = q->buf + q->tail;
    memcpy(r, peer, sizeof *peer); /* the header's spare bytes stay as they are */
    r[OUT_LEN_AT] = (uint8_t)(len >> 8);
    r[OUT_LEN_AT + 1] = (uint8_t)len;
    q->tail += TERN_EP_OUT_HDR + len;
    q->n++;
    ep->stats.tx++;
    if (ep->cb.on_trace) {
        tern_msg m;
        if (tern_msg_parse(&m, r + TERN_EP_OUT_HDR, len) == 0)
            ep->cb.on_trace(ep->user, true, (const tern_addr *)(const void *)r, &m);
    }
}

uint8_t *tern_ep_out_reserve(tern_endpoint *ep, size_t *cap) { return out_reserve(ep, cap); }

void tern_ep_out_commit(tern_endpoint *ep, const tern_addr *peer, size_t len) {
    out_commit(ep, peer, len);
}

void tern_ep_out_drop(tern_endpoint *ep) { ep->stats.tx_dropped++; }

int tern_ep_emit(tern_endpoint *ep, const tern_addr *peer, const uint8_t *data, size_t len) {
    size_t cap;
    uint8_t *p = out_reserve(ep, &cap);
    if (p == NULL || len > cap) {
        tern_ep_out_drop(ep);
        return TERN_E_FULL;
    }
    memcpy(p, data, len);
    out_commit(ep, peer, len);
    return 0;
}

int tern_ep_emit_msg(tern_endpoint *ep, const tern_addr *peer, const tern_msgb *m,
                     const uint8_t **wire) {
    size_t cap;
    uint8_t *p = out_reserve(ep, &cap);
    int n = tern_msgb_encode(m, p ? p : (uint8_t *)"", cap);
    if (n == TERN_E_NOSPACE && cap < ep->cfg.max_message) {
        /* It would fit a datagram, not what is left of the outbox. */
        tern_ep_out_drop(ep);
        return TERN_E_FULL;
    }
    if (n < 0) return n;
    out_commit(ep, peer, (size_t)n);
    if (wire) *wire = p;
    return n;
}

size_t tern_endpoint_outbox_room(const tern_endpoint *ep) {
    if (ep == NULL) return 0;
    const ep_outbox *q = &ep->out;
    size_t used = q->tail - q->head; /* what waits: out_reserve moves it to the front */
    return q->cap - used;
}

size_t tern_endpoint_outgoing(const tern_endpoint *ep, tern_datagram *out, size_t max) {
    if (ep == NULL || out == NULL) return 0;
    const ep_outbox *q = &ep->out;
    size_t k = 0;
    for (size_t at = q->head; at < q->tail && k < max; k++) {
        const uint8_t *r = q->buf + at;
        out[k].peer = (const tern_addr *)(const void *)r;
        out[k].data = r + TERN_EP_OUT_HDR;
        out[k].len = rec_len(r);
        at += TERN_EP_OUT_HDR + out[k].len;
    }
    return k;
}

void tern_endpoint_sent(tern_endpoint *ep, size_t n) {
    if (ep == NULL) return;
    ep_outbox *q = &ep->out;
    for (; n > 0 && q->n > 0; n--) {
        q->head += TERN_EP_OUT_HDR + rec_len(q->buf + q->head);
        q->n--;
    }
    if (q->n == 0) q->head = q->tail = 0;
}

int tern_endpoint_send(tern_endpoint *ep, uint8_t *buf, size_t cap, tern_addr *peer) {
    if (ep == NULL || (buf == NULL && cap > 0)) return TERN_E_INVAL;
    tern_datagram d;
    if (tern_endpoint_outgoing(ep, &d, 1) == 0) return 0;
    if (d.len > cap) return TERN_E_NOSPACE;
    memcpy(buf, d.data, d.len);
    if (peer) *peer = *d.peer;
    tern_endpoint_sent(ep, 1);
    return (int)d.len;
}

size_t tern_ep_tmpl_write(uint8_t *dst, uint8_t type, uint16_t mid, const uint8_t *tmpl,
                          size_t len, const uint8_t *token, size_t token_len) {
    dst[0] = (uint8_t)(TERN_PROTOCOL_VERSION << 6 | (type & 3u) << 4 | token_len);
    dst[1] = tmpl[1];
    dst[2] = (uint8_t)(mid >> 8);
    dst[3] = (uint8_t)mid;
    if (token_len) memcpy(dst + TERN_HEADER_LEN, token, token_len);
    memcpy(dst + TERN_HEADER_LEN + token_len, tmpl + TERN_HEADER_LEN, len - TERN_HEADER_LEN);
    return len + token_len;
}

int tern_endpoint_send_template(tern_endpoint *ep, const tern_addr *peer, tern_type type,
                                const uint8_t *tmpl, size_t len, const uint8_t *token,
                                size_t token_len, uint64_t now_ms, tern_tx_done_fn done,
                                void *ctx, uint16_t *mid) {
    uint16_t unused;
    if (mid == NULL) mid = &unused;
    if (ep == NULL || peer == NULL || peer->len > TERN_ADDR_MAX || tmpl == NULL ||
        len < TERN_HEADER_LEN || (tmpl[0] & 0x0Fu) != 0 || token_len > TERN_TOKEN_MAX ||
        (token == NULL && token_len > 0) || !tern_code_is_response(tmpl[1]) ||
        (type != TERN_TYPE_CON && type != TERN_TYPE_NON))
        return TERN_E_INVAL;
    if (ep->closing) return TERN_E_STATE;
    if (now_ms > ep->last_now) ep->last_now = now_ms;
    if (type == TERN_TYPE_CON)
        return tern_ep_xch_send_tmpl(ep, peer, tmpl, len, token, token_len, now_ms, done, ctx,
                                     mid);
    if (len + token_len > ep->cfg.max_message) return TERN_E_NOSPACE;
    uint32_t pi = tern_ep_peer_get(ep, peer);
    if (pi == EP_NONE) return TERN_E_FULL;
    size_t cap;
    uint8_t *p = out_reserve(ep, &cap);
    if (p == NULL || len + token_len > cap) {
        tern_ep_out_drop(ep);
        return TERN_E_FULL;
    }
    *mid = ep->peers.v[pi].next_mid++;
    out_commit(ep, peer, tern_ep_tmpl_write(p, TERN_TYPE_NON, *mid, tmpl, len, token, token_len));
    return 0;
}
