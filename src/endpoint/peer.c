/* SPDX-License-Identifier: BSD-2-Clause */
/* peer.c - per-peer message-ID state (RFC 7252 section 4.4) and the NSTART
 * bookkeeping of section 4.7.
 *
 * Section 4.4: a Message ID must not be reused towards the same peer within
 * EXCHANGE_LIFETIME. Each peer gets a random first MID (so that a restarted
 * endpoint or a re-created peer entry does not replay the MIDs it used
 * before) and then counts up by one per message.
 *
 * The table is a chained hash on the address. A peer with tracked exchanges
 * is pinned (its index is stored in the exchanges); peers without any sit in
 * an "idle" LRU list, and when the table is full the least recently used idle
 * peer is evicted in O(1). If no peer is idle, the caller gets TERN_E_FULL. */
#include <string.h>

#include "endpoint/endpoint_int.h"

bool tern_addr_equal(const tern_addr *a, const tern_addr *b) {
    if (a->len != b->len) return false;
    size_t n = a->len <= TERN_ADDR_MAX ? a->len : TERN_ADDR_MAX;
    return memcmp(a->bytes, b->bytes, n) == 0;
}

static uint32_t peer_bucket(const tern_endpoint *ep, const tern_addr *a) {
    return ep_hash_addr(&ep->hkey, a, NULL, 0) & ep->peers.mask;
}

void tern_ep_peers_init(ep_peers *t) {
    for (uint32_t i = 0; i <= t->mask; i++) t->buckets[i] = EP_NONE;
    tern_slots_init(&t->slots, t->cap);
    tern_ilist_init(&t->lru);
}

uint32_t tern_ep_peer_find(const tern_endpoint *ep, const tern_addr *a) {
    const ep_peers *t = &ep->peers;
    for (uint32_t i = t->buckets[peer_bucket(ep, a)]; i != EP_NONE; i = t->v[i].hnext)
        if (tern_addr_equal(&t->v[i].addr, a)) return i;
    return EP_NONE;
}

static void hash_unlink(tern_endpoint *ep, uint32_t i) {
    ep_peers *t = &ep->peers;
    uint32_t *link = &t->buckets[peer_bucket(ep, &t->v[i].addr)];
    while (*link != i) link = &t->v[*link].hnext;
    *link = t->v[i].hnext;
}

uint32_t tern_ep_peer_get(tern_endpoint *ep, const tern_addr *a) {
    ep_peers *t = &ep->peers;
    uint32_t i = tern_ep_peer_find(ep, a);
    if (i != EP_NONE) {
        /* Refresh its place among the idle peers. */
        if (t->v[i].n_xch == 0) {
            TERN_ILIST_UNLINK(&t->lru, t->v, lru, i);
            TERN_ILIST_APPEND(&t->lru, t->v, lru, i);
        }
        return i;
    }
    if (tern_slots_any(&t->slots)) {
        i = TERN_SLOTS_TAKE(&t->slots, t->v, hnext);
    } else if (t->lru.head != EP_NONE) {
        i = t->lru.head;
        TERN_ILIST_UNLINK(&t->lru, t->v, lru, i);
        hash_unlink(ep, i);
    } else {
        return EP_NONE;
    }
    ep_peer *p = &t->v[i];
    memset(p, 0, sizeof *p);
    p->addr = *a;
    p->used = true;
    p->next_mid = (uint16_t)tern_ep_random32(ep);
    p->q_head = p->q_tail = EP_NONE;
    uint32_t b = peer_bucket(ep, a);
    p->hnext = t->buckets[b];
    t->buckets[b] = i;
    TERN_ILIST_APPEND(&t->lru, t->v, lru, i);
    return i;
}

bool tern_endpoint_peer_verified(const tern_endpoint *ep, const tern_addr *peer) {
    if (ep == NULL || peer == NULL) return false;
    uint32_t pi = tern_ep_peer_find(ep, peer);
    return pi != EP_NONE && ep->peers.v[pi].verified;
}

void tern_endpoint_peer_set_verified(tern_endpoint *ep, const tern_addr *peer) {
    if (ep == NULL || peer == NULL || peer->len > TERN_ADDR_MAX) return;
    uint32_t pi = tern_ep_peer_get(ep, peer);
    if (pi != EP_NONE) ep->peers.v[pi].verified = true;
}

void tern_ep_peer_hold(tern_endpoint *ep, uint32_t pi) {
    ep_peers *t = &ep->peers;
    if (t->v[pi].n_xch++ == 0) TERN_ILIST_UNLINK(&t->lru, t->v, lru, pi);
}

void tern_ep_peer_release(tern_endpoint *ep, uint32_t pi) {
    ep_peers *t = &ep->peers;
    if (--t->v[pi].n_xch == 0) TERN_ILIST_APPEND(&t->lru, t->v, lru, pi);
}
