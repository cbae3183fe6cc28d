/* SPDX-License-Identifier: BSD-2-Clause */
/* dedup.c - message deduplication (RFC 7252 section 4.5).
 *
 * "The recipient SHOULD acknowledge each duplicate copy of a Confirmable
 * message using the same Acknowledgement or Reset message but SHOULD process
 * any request or response in the message only once." Every CON and NON we
 * accept leaves an entry keyed by (peer, MID) for EXCHANGE_LIFETIME (CON) or
 * NON_LIFETIME (NON), saying what a duplicate gets: nothing (NON), an empty
 * ACK, or the cached bytes of the piggybacked response.
 *
 * Storage: a pool of max_dedup entries, a seeded chained hash on (peer, MID)
 * for lookup, and a ring of entry indices in insertion order. Expiry is lazy
 * (on lookup, on insert and in tick) so an idle endpoint schedules no timer
 * for it. When the table is full the oldest entry is evicted in O(1)
 * (counted in dedup_evicted if it was still within its lifetime). An entry
 * pinned by a request that is still pending is never evicted (its duplicates
 * must not reach on_request a second time); it is rotated to the tail. Only
 * when every entry is pinned is an insert impossible, and the caller answers
 * 5.03 instead. */
#include <string.h>

#include "endpoint/endpoint_int.h"

/* The keyed hash of (peer, MID): computed once per message received
 * (tern_ep_dedup_hash), kept in the entry for its removal. */
uint32_t tern_ep_dedup_hash(const tern_endpoint *ep, const tern_addr *peer, uint16_t mid) {
    const uint8_t m[2] = {(uint8_t)(mid >> 8), (uint8_t)mid};
    return ep_hash_addr(&ep->hkey, peer, m, sizeof m);
}

void tern_ep_dedups_init(ep_dedups *t) {
    for (uint32_t i = 0; i <= t->mask; i++) t->buckets[i] = EP_NONE;
    for (uint32_t i = 0; i < t->cap; i++) {
        memset(&t->v[i], 0, sizeof t->v[i]);
        tern_ilink_init(&t->v[i].dlink);
        t->v[i].kind = EP_D_FREE;
        t->v[i].pending = EP_NONE;
        t->v[i].hnext = i + 1 < t->cap ? i + 1 : EP_NONE;
    }
    t->free_head = t->cap ? 0 : EP_NONE;
    t->ring_head = t->ring_n = 0;
    tern_ilist_init(&t->delayed);
}

static bool d_hashed(const ep_dedup *e) { return e->kind != EP_D_FREE && e->kind != EP_D_DEAD; }

static bool d_pinned(const ep_dedup *e) { return e->pending != EP_NONE || e->delayed; }

static bool d_expired(const ep_dedup *e, uint64_t now) { return !d_pinned(e) && now >= e->expires; }

static void d_unhash(tern_endpoint *ep, uint32_t di) {
    ep_dedups *t = &ep->d;
    uint32_t *link = &t->buckets[t->v[di].hash & t->mask];
    while (*link != di) link = &t->v[*link].hnext;
    *link = t->v[di].hnext;
    t->v[di].kind = EP_D_DEAD;
}

static uint32_t ring_pop(ep_dedups *t) {
    uint32_t di = t->ring[t->ring_head];
    t->ring_head = t->ring_head + 1 == t->cap ? 0 : t->ring_head + 1;
    t->ring_n--;
    return di;
}

static void ring_push(ep_dedups *t, uint32_t di) {
    uint64_t at = (uint64_t)t->ring_head + t->ring_n;
    t->ring[at >= t->cap ? at - t->cap : at] = di;
    t->ring_n++;
}

/* Back to the free list, clean: what an insert does not set is reset. */
static void d_free(ep_dedups *t, uint32_t di) {
    ep_dedup *e = &t->v[di];
    tern_ilink_init(&e->dlink);
    e->kind = EP_D_FREE;
    e->pending = EP_NONE;
    e->delayed = false;
    e->send_at = 0;
    e->len = 0;
    e->hnext = t->free_head;
    t->free_head = di;
}

uint32_t tern_ep_dedup_lookup(tern_endpoint *ep, const tern_addr *peer, uint16_t mid, uint32_t hash,
                              uint64_t now) {
    ep_dedups *t = &ep->d;
    for (uint32_t i = t->buckets[hash & t->mask]; i != EP_NONE; i = t->v[i].hnext) {
        ep_dedup *e = &t->v[i];
        if (e->hash != hash || e->mid != mid || !tern_addr_equal(&e->peer, peer)) continue;
        if (d_expired(e, now)) {
            /* Past its lifetime the (peer, MID) may be a new message
             * (section 4.4); the slot leaves the ring when it gets there. */
            d_unhash(ep, i);
            return EP_NONE;
        }
        return i;
    }
    return EP_NONE;
}

void tern_ep_dedup_tick(tern_endpoint *ep, uint64_t now) {
    ep_dedups *t = &ep->d;
    while (t->ring_n > 0) {
        uint32_t di = t->ring[t->ring_head];
        ep_dedup *e = &t->v[di];
        if (e->kind != EP_D_DEAD && !d_expired(e, now)) break;
        if (d_hashed(e)) d_unhash(ep, di);
        ring_pop(t);
        d_free(t, di);
    }
}

uint32_t tern_ep_dedup_insert(tern_endpoint *ep, const tern_addr *peer, uint16_t mid, uint32_t hash,
                              uint8_t kind, uint64_t lifetime, uint64_t now) {
    ep_dedups *t = &ep->d;
    /* Expired entries leave from the head; a full table makes room below,
     * expired or not (the loop looks at the same head). */
    if (t->ring_n < t->cap) tern_ep_dedup_tick(ep, now);
    for (uint32_t k = 0; t->ring_n == t->cap && k < t->cap; k++) {
        uint32_t di = ring_pop(t);
        ep_dedup *e = &t->v[di];
        if (d_pinned(e)) {
            ring_push(t, di);
            continue;
        }
        if (e->kind != EP_D_DEAD && !d_expired(e, now)) ep->stats.dedup_evicted++;
        if (d_hashed(e)) d_unhash(ep, di);
        d_free(t, di);
    }
    if (t->ring_n == t->cap) return EP_NONE;

    uint32_t di = t->free_head;
    ep_dedup *e = &t->v[di];
    t->free_head = e->hnext;
    /* A free entry is clean (tern_ep_dedups_init, d_free). */
    e->peer = *peer;
    e->mid = mid;
    e->kind = kind;
    e->pending = EP_NONE;
    e->expires = ep_add_sat(now, lifetime);
    e->hash = hash;
    uint32_t b = hash & t->mask;
    e->hnext = t->buckets[b];
    t->buckets[b] = di;
    ring_push(t, di);
    return di;
}

void tern_ep_dedup_replay(tern_endpoint *ep, uint32_t di) {
    ep_dedup *e = &ep->d.v[di];
    switch (e->kind) {
    case EP_D_NOACK:
        /* Section 5.2.2: the request is still being worked on; the peer is
         * retransmitting, so acknowledge now instead of waiting. */
        if (e->pending != EP_NONE) {
            tern_ep_pend_ack_now(ep, e->pending);
        } else {
            e->kind = EP_D_EMPTY_ACK;
            tern_ep_emit_empty(ep, &e->peer, TERN_TYPE_ACK, e->mid);
        }
        break;
    case EP_D_EMPTY_ACK:
        tern_ep_emit_empty(ep, &e->peer, TERN_TYPE_ACK, e->mid);
        break;
    case EP_D_RESPONSE:
        tern_ep_emit(ep, &e->peer, ep_dedup_buf(ep, di), e->len);
        break;
    default:
        break;
    }
}

/* ---- answers to multicast requests, after a leisure (RFC 7252 8.2) -------- */

void tern_ep_dedup_delay(tern_endpoint *ep, uint32_t di, uint64_t send_at) {
    ep_dedups *t = &ep->d;
    ep_dedup *e = &t->v[di];
    e->delayed = true;
    e->send_at = send_at;
    /* Few at a time (one per multicast request being answered): a sorted
     * list, walked from the tail where late ones go. */
    uint32_t at = t->delayed.tail;
    while (at != EP_NONE && t->v[at].send_at > send_at) at = t->v[at].dlink.prev;
    if (at == EP_NONE) {
        TERN_ILIST_PREPEND(&t->delayed, t->v, dlink, di);
        return;
    }
    ep_dedup *before = &t->v[at];
    e->dlink.prev = at;
    e->dlink.next = before->dlink.next;
    if (before->dlink.next != EP_NONE) t->v[before->dlink.next].dlink.prev = di;
    else t->delayed.tail = di;
    before->dlink.next = di;
}

void tern_ep_delayed_tick(tern_endpoint *ep, uint64_t now) {
    ep_dedups *t = &ep->d;
    while (t->delayed.head != EP_NONE && t->v[t->delayed.head].send_at <= now) {
        uint32_t di = t->delayed.head;
        ep_dedup *e = &t->v[di];
        TERN_ILIST_UNLINK(&t->delayed, t->v, dlink, di);
        e->delayed = false;
        tern_ep_emit(ep, &e->peer, ep_dedup_buf(ep, di), e->len);
    }
}

uint64_t tern_ep_delayed_next_deadline(const tern_endpoint *ep) {
    const ep_dedups *t = &ep->d;
    return t->delayed.head != EP_NONE ? t->v[t->delayed.head].send_at : UINT64_MAX;
}
