/* SPDX-License-Identifier: BSD-2-Clause */
/* retransmit.c - reliable transmission of Confirmable messages
 * (RFC 7252 sections 4.2, 4.7, 4.8).
 *
 * 4.2/4.8: a CON is retransmitted with exponential back-off until an ACK or
 * RST with its MID arrives. The first timeout is a random duration in
 * [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR):
 *     ack_timeout + r * ack_timeout * (factor_milli - 1000) / 1000 / 2^32
 * with r a 32-bit random value; it doubles after every retransmission, and
 * after MAX_RETRANSMIT retransmissions plus one more timeout the sender gives
 * up (done(TERN_TX_TIMEOUT)). With the defaults and zero jitter: sent at 0,
 * again at 2, 6, 14 and 30 s, given up at 62 s.
 *
 * 4.7: at most NSTART CONs per peer are outstanding; more wait in a FIFO per
 * peer (state QUEUED, MID already assigned, bytes already encoded) and start,
 * their timers with them, as earlier ones complete.
 *
 * Each slot keeps the encoded datagram so that a retransmission is the
 * identical bytes. Active slots sit in a binary min-heap on their deadline,
 * so tern_endpoint_next_deadline is O(1) and a tick is O(log n) per due
 * timer; ACK/RST matching is a hash on (peer, MID); tern_endpoint_cancel is a
 * hash on ctx.
 *
 * tern_endpoint_unreachable ends every CON to a peer at once (ICMP said
 * nobody is there), with TERN_TX_UNREACHABLE.
 *
 * Re-entrancy: a slot is released (and the next queued CON of its peer
 * started) before done() runs, so done() may send, respond or cancel freely,
 * and a CON sent from done() to the same peer lines up behind those already
 * queued. */
#include <string.h>

#include "endpoint/endpoint_int.h"

static inline uint8_t *xch_bytes(tern_endpoint *ep, uint32_t xi) {
    return ep->x.bytes + (size_t)xi * ep->cfg.max_message;
}

static uint32_t xch_bucket(const tern_endpoint *ep, uint32_t pi, uint16_t mid) {
    return ep_fmix32(ep->seed ^ (pi * 0x9E3779B1u) ^ mid) & ep->x.mask;
}

static uint32_t ctx_bucket(const tern_endpoint *ep, const void *ctx) {
    uint64_t v = (uint64_t)(uintptr_t)ctx;
    return ep_fmix32(ep->seed ^ (uint32_t)v ^ (uint32_t)(v >> 32)) & ep->x.mask;
}

void tern_ep_xchs_init(ep_xchs *t) {
    for (uint32_t i = 0; i <= t->mask; i++) t->buckets[i] = t->cbuckets[i] = EP_NONE;
    tern_slots_init(&t->slots, t->cap);
    t->heap_n = 0;
}

/* ---- deadline heap ---------------------------------------------------- */

static void heap_set(ep_xchs *t, uint32_t pos, uint32_t xi) {
    t->heap[pos] = xi;
    t->v[xi].heap_pos = pos;
}

static void heap_up(ep_xchs *t, uint32_t pos) {
    uint32_t xi = t->heap[pos];
    uint64_t d = t->v[xi].deadline;
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (t->v[t->heap[parent]].deadline <= d) break;
        heap_set(t, pos, t->heap[parent]);
        pos = parent;
    }
    heap_set(t, pos, xi);
}

static void heap_down(ep_xchs *t, uint32_t pos) {
    uint32_t xi = t->heap[pos];
    uint64_t d = t->v[xi].deadline;
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= t->heap_n) break;
        if (c + 1 < t->heap_n && t->v[t->heap[c + 1]].deadline < t->v[t->heap[c]].deadline) c++;
        if (d <= t->v[t->heap[c]].deadline) break;
        heap_set(t, pos, t->heap[c]);
        pos = c;
    }
    heap_set(t, pos, xi);
}

static void heap_push(ep_xchs *t, uint32_t xi) {
    heap_set(t, t->heap_n++, xi);
    heap_up(t, t->heap_n - 1);
}

static void heap_remove(ep_xchs *t, uint32_t xi) {
    uint32_t pos = t->v[xi].heap_pos;
    uint32_t last = t->heap[--t->heap_n];
    if (pos == t->heap_n) return;
    heap_set(t, pos, last);
    heap_up(t, pos);
    heap_down(t, t->v[last].heap_pos);
}

/* ---- hashes and queues ------------------------------------------------- */

static uint32_t xch_find(const tern_endpoint *ep, uint32_t pi, uint16_t mid) {
    const ep_xchs *t = &ep->x;
    for (uint32_t i = t->buckets[xch_bucket(ep, pi, mid)]; i != EP_NONE; i = t->v[i].hnext)
        if (t->v[i].peer == pi && t->v[i].mid == mid) return i;
    return EP_NONE;
}

static void chain_unlink(ep_xchs *t, uint32_t *link, uint32_t xi, bool ctx_chain) {
    while (*link != xi) link = ctx_chain ? &t->v[*link].cnext : &t->v[*link].hnext;
    *link = ctx_chain ? t->v[xi].cnext : t->v[xi].hnext;
}

static void queue_unlink(tern_endpoint *ep, uint32_t xi) {
    ep_xch *x = &ep->x.v[xi];
    ep_peer *p = &ep->peers.v[x->peer];
    if (x->qprev != EP_NONE) ep->x.v[x->qprev].qnext = x->qnext;
    else p->q_head = x->qnext;
    if (x->qnext != EP_NONE) ep->x.v[x->qnext].qprev = x->qprev;
    else p->q_tail = x->qprev;
    x->qprev = x->qnext = EP_NONE;
}

/* Section 4.8: the first timeout, with the jitter drawn from cfg.random. */
static uint64_t initial_timeout(tern_endpoint *ep) {
    uint64_t a = ep->cfg.ack_timeout_ms;
    /* tern_endpoint_new checks that a * (factor - 1000) fits in 32 bits, so
     * the product with a 32-bit r fits in 64. */
    uint64_t spread = a * (uint64_t)(ep->cfg.ack_random_factor_milli - 1000u);
    uint64_t r = tern_ep_random32(ep);
    return a + (r * spread) / 1000u / 4294967296u;
}

static void xch_start(tern_endpoint *ep, uint32_t xi, uint64_t now) {
    ep_xch *x = &ep->x.v[xi];
    ep_peer *p = &ep->peers.v[x->peer];
    x->state = EP_X_ACTIVE;
    p->n_active++;
    uint32_t b = xch_bucket(ep, x->peer, x->mid);
    x->hnext = ep->x.buckets[b];
    ep->x.buckets[b] = xi;
    x->retries = 0;
    x->timeout = initial_timeout(ep);
    x->deadline = ep_add_sat(now, x->timeout);
    heap_push(&ep->x, xi);
    tern_ep_emit(ep, &p->addr, xch_bytes(ep, xi), x->len);
}

/* Section 4.7: start queued CONs while the peer is under NSTART. */
static void xch_pump(tern_endpoint *ep, uint32_t pi, uint64_t now) {
    ep_peer *p = &ep->peers.v[pi];
    while (!ep->closing && p->q_head != EP_NONE && p->n_active < ep->cfg.nstart) {
        uint32_t xi = p->q_head;
        queue_unlink(ep, xi);
        xch_start(ep, xi, now);
    }
}

static void xch_release(tern_endpoint *ep, uint32_t xi) {
    ep_xchs *t = &ep->x;
    ep_xch *x = &t->v[xi];
    if (x->state == EP_X_ACTIVE) {
        heap_remove(t, xi);
        chain_unlink(t, &t->buckets[xch_bucket(ep, x->peer, x->mid)], xi, false);
        ep->peers.v[x->peer].n_active--;
    } else if (x->state == EP_X_QUEUED) {
        queue_unlink(ep, xi);
    }
    if (x->ctx != NULL) chain_unlink(t, &t->cbuckets[ctx_bucket(ep, x->ctx)], xi, true);
    uint32_t pi = x->peer;
    memset(x, 0, sizeof *x);
    x->state = EP_X_FREE;
    TERN_SLOTS_GIVE(&t->slots, t->v, hnext, xi);
    tern_ep_peer_release(ep, pi);
}

/* End an exchange: free the slot, let the next queued CON go, then tell the
 * owner (who may now send again). */
static void xch_finish(tern_endpoint *ep, uint32_t xi, tern_tx_status st, uint64_t now) {
    ep_xch *x = &ep->x.v[xi];
    tern_tx_done_fn done = x->done;
    void *ctx = x->ctx;
    uint32_t pi = x->peer;
    xch_release(ep, xi);
    /* The peer cannot have been evicted yet: nothing ran since release. */
    if (ep->peers.v[pi].used) xch_pump(ep, pi, now);
    if (done) done(ctx, ep, st, now);
}

/* The free exchange xi now holds n bytes of a CON with the peer's next MID:
 * track it (send it now, or queue it behind NSTART). */
static void xch_track(tern_endpoint *ep, uint32_t pi, uint32_t xi, size_t n, uint64_t now,
                      tern_tx_done_fn done, void *ctx);

int tern_ep_xch_send(tern_endpoint *ep, const tern_addr *peer, tern_msgb *m, uint64_t now,
                tern_tx_done_fn done, void *ctx) {
    ep_xchs *t = &ep->x;
    if (!tern_slots_any(&t->slots)) return TERN_E_FULL;
    uint32_t pi = tern_ep_peer_get(ep, peer);
    if (pi == EP_NONE) return TERN_E_FULL;
    uint32_t xi = tern_slots_peek(&t->slots);
    m->type = TERN_TYPE_CON;
    m->mid = ep->peers.v[pi].next_mid;
    int n = tern_msgb_encode(m, xch_bytes(ep, xi), ep->cfg.max_message);
    if (n < 0) return n;
    xch_track(ep, pi, xi, (size_t)n, now, done, ctx);
    return 0;
}

int tern_ep_xch_send_tmpl(tern_endpoint *ep, const tern_addr *peer, const uint8_t *tmpl,
                          size_t len, const uint8_t *token, size_t token_len, uint64_t now,
                          tern_tx_done_fn done, void *ctx, uint16_t *mid) {
    ep_xchs *t = &ep->x;
    if (!tern_slots_any(&t->slots)) return TERN_E_FULL;
    if (len + token_len > ep->cfg.max_message) return TERN_E_NOSPACE;
    uint32_t pi = tern_ep_peer_get(ep, peer);
    if (pi == EP_NONE) return TERN_E_FULL;
    uint32_t xi = tern_slots_peek(&t->slots);
    *mid = ep->peers.v[pi].next_mid;
    size_t n = tern_ep_tmpl_write(xch_bytes(ep, xi), TERN_TYPE_CON, *mid, tmpl, len, token,
                                  token_len);
    xch_track(ep, pi, xi, n, now, done, ctx);
    return 0;
}

static void xch_track(tern_endpoint *ep, uint32_t pi, uint32_t xi, size_t n, uint64_t now,
                      tern_tx_done_fn done, void *ctx) {
    ep_xchs *t = &ep->x;
    ep_peer *p = &ep->peers.v[pi];
    uint16_t mid = p->next_mid++;
    (void)TERN_SLOTS_TAKE(&t->slots, t->v, hnext); /* xi: the caller peeked it */
    ep_xch *x = &t->v[xi];
    memset(x, 0, sizeof *x);
    x->mid = mid;
    x->len = (uint16_t)n;
    x->peer = pi;
    x->done = done;
    x->ctx = ctx;
    x->serial = ++ep->serial;
    x->hnext = x->cnext = x->qprev = x->qnext = x->heap_pos = EP_NONE;
    tern_ep_peer_hold(ep, pi);
    if (ctx != NULL) {
        uint32_t b = ctx_bucket(ep, ctx);
        x->cnext = t->cbuckets[b];
        t->cbuckets[b] = xi;
    }
    if (p->n_active < ep->cfg.nstart && p->q_head == EP_NONE) {
        xch_start(ep, xi, now);
    } else {
        x->state = EP_X_QUEUED;
        x->qprev = p->q_tail;
        if (p->q_tail != EP_NONE) t->v[p->q_tail].qnext = xi;
        else p->q_head = xi;
        p->q_tail = xi;
    }
}

void tern_ep_xch_recv_ack_rst(tern_endpoint *ep, const tern_addr *peer, const tern_msg *msg,
                         uint64_t now) {
    uint32_t pi = tern_ep_peer_find(ep, peer);
    uint32_t xi = pi != EP_NONE ? xch_find(ep, pi, msg->mid) : EP_NONE;

    /* An ACK or RST that names a CON we sent there proves the peer receives
     * at its address (RFC 9175 section 2.4: what spoofing cannot do). */
    if (xi != EP_NONE) ep->peers.v[pi].verified = true;
    if (msg->type == TERN_TYPE_RST) {
        ep->stats.resets++;
        if (xi != EP_NONE) {
            xch_finish(ep, xi, TERN_TX_RESET, now);
        } else if (ep->cb.on_reset) {
            /* E.g. the answer to a NON notification (RFC 7641 section 3.6). */
            ep->cb.on_reset(ep->user, ep, peer, msg->mid, now);
        }
        return;
    }

    /* ACK. Sections 4.2 and 5.3.2: it belongs to the CON with its MID; one
     * that matches no CON we track (a duplicate, one after give-up or
     * cancel, or a forgery) is ignored, response and all. A piggybacked
     * response is delivered before done(ACKED), so the owner sees the
     * answer first and then the end of the exchange; an owner that rejects
     * it (section 5.4.1: an unrecognised critical option) has the whole
     * ACK ignored, as section 4.2 says an ACK is rejected: the CON stays
     * unacknowledged and is retransmitted. */
    if (xi == EP_NONE) return;
    if (msg->code != TERN_CODE_EMPTY) {
        uint64_t serial = ep->x.v[xi].serial;
        int rc = ep->cb.on_response ? ep->cb.on_response(ep->user, ep, peer, msg, now)
                                    : TERN_E_REJECT;
        if (rc != 0) {
            ep->stats.rejected++;
            return;
        }
        /* on_response may have cancelled it (or more). */
        pi = tern_ep_peer_find(ep, peer);
        xi = pi != EP_NONE ? xch_find(ep, pi, msg->mid) : EP_NONE;
        if (xi == EP_NONE || ep->x.v[xi].serial != serial) return;
    }
    xch_finish(ep, xi, TERN_TX_ACKED, now);
}

void tern_ep_xch_tick(tern_endpoint *ep, uint64_t now) {
    ep_xchs *t = &ep->x;
    while (t->heap_n > 0 && t->v[t->heap[0]].deadline <= now) {
        uint32_t xi = t->heap[0];
        ep_xch *x = &t->v[xi];
        if (x->retries >= ep->cfg.max_retransmit) {
            ep->stats.timeouts++;
            xch_finish(ep, xi, TERN_TX_TIMEOUT, now);
            continue;
        }
        x->retries++;
        x->timeout *= 2;
        x->deadline = ep_add_sat(now, x->timeout);
        heap_down(t, 0);
        ep->stats.retransmissions++;
        tern_ep_emit(ep, &ep->peers.v[x->peer].addr, xch_bytes(ep, xi), x->len);
    }
}

bool tern_endpoint_exchange_free(const tern_endpoint *ep) {
    return ep != NULL && tern_slots_any(&ep->x.slots);
}

uint64_t tern_ep_xch_next_deadline(const tern_endpoint *ep) {
    return ep->x.heap_n ? ep->x.v[ep->x.heap[0]].deadline : UINT64_MAX;
}

void tern_ep_xch_cancel_all(tern_endpoint *ep, uint64_t now) {
    for (uint32_t i = 0; i < tern_slots_end(&ep->x.slots); i++)
        if (ep->x.v[i].state != EP_X_FREE) xch_finish(ep, i, TERN_TX_CANCELLED, now);
}

/* An ICMP error quoted our CON (peer, mid; token when quoted): that
 * exchange ends at once. Retransmitting to a port where nothing listens
 * until MAX_TRANSMIT_WAIT would only delay the failure (RFC 8085 section
 * 5.2); the quote must name the CON, so that a forged error quoting no
 * CoAP cannot end everything to a peer. True when a CON was ended. */
bool tern_ep_xch_unreachable(tern_endpoint *ep, const tern_addr *peer, uint16_t mid,
                             const uint8_t *token, size_t token_len, uint64_t now) {
    uint32_t pi = tern_ep_peer_find(ep, peer);
    uint32_t xi = pi != EP_NONE ? xch_find(ep, pi, mid) : EP_NONE;
    if (xi == EP_NONE) return false;
    const uint8_t *sent = xch_bytes(ep, xi);
    if (token && ((size_t)(sent[0] & 0x0Fu) != token_len ||
                  memcmp(sent + TERN_HEADER_LEN, token, token_len) != 0))
        return false;
    xch_finish(ep, xi, TERN_TX_UNREACHABLE, now);
    return true;
}

/* ---- public ------------------------------------------------------------- */

int tern_endpoint_send_msg(tern_endpoint *ep, const tern_addr *peer, tern_msgb *m,
                           uint64_t now_ms, tern_tx_done_fn done, void *ctx) {
    if (ep == NULL || peer == NULL || m == NULL || peer->len > TERN_ADDR_MAX)
        return TERN_E_INVAL;
    if (ep->closing) return TERN_E_STATE;
    if (now_ms > ep->last_now) ep->last_now = now_ms;
    uint8_t cls = TERN_CODE_CLASS(m->code);
    if (m->type == TERN_TYPE_CON) {
        /* An Empty CON is a CoAP ping (section 4.3): the RST that answers it
         * ends the exchange with TERN_TX_RESET. */
        if (m->code != TERN_CODE_EMPTY && !tern_code_is_request(m->code) &&
            !tern_code_is_response(m->code))
            return TERN_E_INVAL;
        return tern_ep_xch_send(ep, peer, m, now_ms, done, ctx);
    }
    if (m->type == TERN_TYPE_NON) {
        if (cls != 0 && !tern_code_is_response(m->code)) return TERN_E_INVAL;
        if (m->code == TERN_CODE_EMPTY) return TERN_E_INVAL;
        return tern_ep_send_non(ep, peer, m);
    }
    return TERN_E_INVAL;
}

/* RFC 7641 section 4.5.2: the message a CON exchange carries is replaced
 * (a newer notification) while its timer, counter and done() go on. It
 * gets a new MID, since the peer may already have the old one (a copy
 * under the same MID would be taken for a duplicate, section 4.5); an ACK
 * of the old MID then matches nothing. */
int tern_endpoint_replace(tern_endpoint *ep, void *ctx, tern_msgb *m) {
    if (ep == NULL || ctx == NULL || m == NULL) return TERN_E_INVAL;
    if (ep->closing) return TERN_E_STATE;
    uint32_t xi = ep->x.cbuckets[ctx_bucket(ep, ctx)];
    while (xi != EP_NONE && ep->x.v[xi].ctx != ctx) xi = ep->x.v[xi].cnext;
    if (xi == EP_NONE) return TERN_E_NOTFOUND;
    ep_xch *x = &ep->x.v[xi];
    ep_peer *p = &ep->peers.v[x->peer];
    m->type = TERN_TYPE_CON;
    m->mid = p->next_mid;
    /* Encode where it cannot hurt first (the outbox's free tail, not
     * committed), so that a message too large leaves the exchange intact. */
    size_t cap;
    uint8_t *tmp = tern_ep_out_reserve(ep, &cap);
    int n;
    if (tmp && cap >= ep->cfg.max_message) {
        n = tern_msgb_encode(m, tmp, ep->cfg.max_message);
        if (n < 0) return n;
        memcpy(xch_bytes(ep, xi), tmp, (size_t)n);
    } else if ((n = tern_msgb_encode(m, xch_bytes(ep, xi), ep->cfg.max_message)) < 0) {
        /* No scratch room and the old bytes may be touched: end the
         * exchange rather than retransmit something half-written. */
        xch_finish(ep, xi, TERN_TX_CANCELLED, ep->last_now);
        return n;
    }
    p->next_mid++;
    if (x->state == EP_X_ACTIVE) {
        chain_unlink(&ep->x, &ep->x.buckets[xch_bucket(ep, x->peer, x->mid)], xi, false);
        uint32_t b = xch_bucket(ep, x->peer, m->mid);
        x->hnext = ep->x.buckets[b];
        ep->x.buckets[b] = xi;
    }
    x->mid = m->mid;
    x->len = (uint16_t)n;
    return 0;
}

int tern_endpoint_cancel(tern_endpoint *ep, void *ctx) {
    if (ep == NULL || ctx == NULL) return TERN_E_NOTFOUND;
    /* Every CON tracked under ctx at the time of the call; one sent from a
     * done(CANCELLED) callback is newer and survives. */
    uint64_t cutoff = ep->serial;
    bool found = false;
    for (;;) {
        uint32_t xi = ep->x.cbuckets[ctx_bucket(ep, ctx)];
        while (xi != EP_NONE && (ep->x.v[xi].ctx != ctx || ep->x.v[xi].serial > cutoff))
            xi = ep->x.v[xi].cnext;
        if (xi == EP_NONE) break;
        found = true;
        xch_finish(ep, xi, TERN_TX_CANCELLED, ep->last_now);
    }
    return found ? 0 : TERN_E_NOTFOUND;
}
