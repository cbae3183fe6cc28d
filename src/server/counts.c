/* SPDX-License-Identifier: BSD-2-Clause */
/* counts.c - how many observers each peer, and each peer's host, holds:
 * the per-peer and per-address limits of tern_server_config.
 *
 * A chained hash of counts keyed by an address, under the server's keyed
 * hash (a peer chooses its address and port), with a fixed pool of entries:
 * every observer adds at most one key to each map, so max_observers entries
 * always suffice and nothing is allocated after creation. An entry whose
 * count falls to zero goes back to the pool. The host key is the address
 * with its port bytes (tern_addr.port_off) zeroed. */
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"

int tern_srv_counts_init(srv_counts *c, uint32_t cap) {
    uint32_t buckets = 16;
    while (buckets < cap) buckets <<= 1;
    c->v = calloc(cap, sizeof *c->v);
    c->buckets = malloc(buckets * sizeof *c->buckets);
    if (c->v == NULL || c->buckets == NULL) return TERN_E_NOMEM;
    c->mask = buckets - 1;
    for (uint32_t i = 0; i < buckets; i++) c->buckets[i] = SRV_NIL;
    tern_slots_init(&c->slots, cap);
    return 0;
}

void tern_srv_counts_free(srv_counts *c) {
    free(c->v);
    free(c->buckets);
    c->v = NULL;
    c->buckets = NULL;
}

tern_addr tern_srv_host_of(const tern_addr *a) {
    tern_addr h = *a;
    if (h.port_off > 0 && (size_t)h.port_off + 2 <= h.len) {
        h.bytes[h.port_off] = 0;
        h.bytes[h.port_off + 1] = 0;
    }
    return h;
}

static uint32_t *slot_of(const tern_server *srv, srv_counts *c, const tern_addr *key) {
    size_t n = key->len <= TERN_ADDR_MAX ? key->len : TERN_ADDR_MAX;
    uint32_t *p = &c->buckets[tern_tablehash2(&srv->hkey, key->bytes, n, (const uint8_t *)"C", 1) &
                              c->mask];
    while (*p != SRV_NIL && !tern_addr_equal(&c->v[*p].key, key)) p = &c->v[*p].next;
    return p;
}

uint32_t tern_srv_counts_get(const tern_server *srv, srv_counts *c, const tern_addr *key) {
    uint32_t *p = slot_of(srv, c, key);
    return *p == SRV_NIL ? 0 : c->v[*p].count;
}

void tern_srv_counts_add(const tern_server *srv, srv_counts *c, const tern_addr *key, int delta) {
    uint32_t *p = slot_of(srv, c, key);
    if (*p == SRV_NIL) {
        if (delta <= 0 || !tern_slots_any(&c->slots)) return; /* cannot happen: see above */
        uint32_t i = TERN_SLOTS_TAKE(&c->slots, c->v, next);
        c->v[i].key = *key;
        c->v[i].count = 0;
        c->v[i].next = SRV_NIL;
        *p = i;
    }
    uint32_t i = *p;
    if (delta < 0 && c->v[i].count <= (uint32_t)-delta) {
        *p = c->v[i].next; /* the last one: back to the pool */
        TERN_SLOTS_GIVE(&c->slots, c->v, next, i);
        return;
    }
    c->v[i].count = (uint32_t)((int64_t)c->v[i].count + delta);
}
