/* SPDX-License-Identifier: BSD-2-Clause */
/* netsim.c - see netsim.h. Test support: allocates freely, favours clarity
 * over speed (the in-flight list is scanned linearly). */
#include "netsim.h"

#include <stdlib.h>
#include <string.h>

#define NETSIM_MAX_DATAGRAM 2048

typedef struct sim_packet {
    uint64_t at, seq;
    int from, to;
    size_t len;
    uint8_t data[NETSIM_MAX_DATAGRAM];
} sim_packet;

struct tt_netsim {
    uint64_t rng;
    uint64_t now;
    uint64_t seq;
    int n_nodes;
    tern_endpoint *ep[TT_NETSIM_MAX_NODES];
    tern_addr addr[TT_NETSIM_MAX_NODES];
    tt_link link[TT_NETSIM_MAX_NODES][TT_NETSIM_MAX_NODES];
    sim_packet *flight;
    size_t n_flight, cap_flight;
    tt_netsim_hook hook;
    void *hook_ctx;
    uint64_t hook_next;
    tt_netsim_stats stats;
};

static uint64_t sim_rand(tt_netsim *s) {
    /* xorshift64*, never seeded with 0 */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t sim_below(tt_netsim *s, uint32_t n) {
    return n ? (uint32_t)((sim_rand(s) >> 32) % n) : 0;
}

tt_netsim *tt_netsim_new(uint64_t seed) {
    tt_netsim *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    tt_link perfect = {0, 0, 1, 1};
    tt_netsim_set_all_links(s, &perfect);
    s->hook_next = UINT64_MAX;
    return s;
}

void tt_netsim_free(tt_netsim *sim) {
    if (!sim) return;
    free(sim->flight);
    free(sim);
}

int tt_netsim_add(tt_netsim *sim, tern_endpoint *ep) {
    if (sim->n_nodes >= TT_NETSIM_MAX_NODES) return -1;
    int i = sim->n_nodes++;
    sim->ep[i] = ep;
    tern_addr *a = &sim->addr[i];
    memset(a, 0, sizeof *a);
    a->len = 6;
    a->bytes[0] = 192; /* 192.0.2.x:5683, TEST-NET-1 */
    a->bytes[1] = 0;
    a->bytes[2] = 2;
    a->bytes[3] = (uint8_t)(i + 1);
    a->bytes[4] = 0x16;
    a->bytes[5] = 0x33;
    return i;
}

const tern_addr *tt_netsim_addr(const tt_netsim *sim, int node) { return &sim->addr[node]; }

void tt_netsim_set_link(tt_netsim *sim, int from, int to, const tt_link *link) {
    sim->link[from][to] = *link;
}

void tt_netsim_set_all_links(tt_netsim *sim, const tt_link *link) {
    for (int i = 0; i < TT_NETSIM_MAX_NODES; i++)
        for (int j = 0; j < TT_NETSIM_MAX_NODES; j++) sim->link[i][j] = *link;
}

void tt_netsim_set_hook(tt_netsim *sim, tt_netsim_hook hook, void *ctx) {
    sim->hook = hook;
    sim->hook_ctx = ctx;
    sim->hook_next = hook ? sim->now : UINT64_MAX;
}

uint64_t tt_netsim_now(const tt_netsim *sim) { return sim->now; }

static int node_of(const tt_netsim *sim, const tern_addr *a) {
    for (int i = 0; i < sim->n_nodes; i++)
        if (tern_addr_equal(&sim->addr[i], a)) return i;
    return -1;
}

static void put_copy(tt_netsim *sim, int from, int to, const uint8_t *data, size_t len) {
    const tt_link *l = &sim->link[from][to];
    if (sim_below(sim, 1000) < l->loss_permille) {
        sim->stats.lost++;
        return;
    }
    if (sim->n_flight == sim->cap_flight) {
        size_t cap = sim->cap_flight ? sim->cap_flight * 2 : 64;
        sim_packet *p = realloc(sim->flight, cap * sizeof *p);
        if (!p) abort();
        sim->flight = p;
        sim->cap_flight = cap;
    }
    sim_packet *p = &sim->flight[sim->n_flight++];
    uint32_t span = l->delay_max_ms >= l->delay_min_ms ? l->delay_max_ms - l->delay_min_ms : 0;
    p->at = sim->now + l->delay_min_ms + sim_below(sim, span + 1);
    p->seq = sim->seq++;
    p->from = from;
    p->to = to;
    p->len = len;
    memcpy(p->data, data, len);
}

void tt_netsim_flush(tt_netsim *sim) {
    uint8_t buf[NETSIM_MAX_DATAGRAM];
    for (int i = 0; i < sim->n_nodes; i++) {
        tern_addr to;
        int n;
        while ((n = tern_endpoint_send(sim->ep[i], buf, sizeof buf, &to)) > 0) {
            sim->stats.sent++;
            int j = node_of(sim, &to);
            if (j < 0) {
                sim->stats.unroutable++;
                continue;
            }
            bool dup = sim_below(sim, 1000) < sim->link[i][j].dup_permille;
            put_copy(sim, i, j, buf, (size_t)n);
            if (dup) {
                sim->stats.duplicated++;
                put_copy(sim, i, j, buf, (size_t)n);
            }
        }
    }
}

static uint64_t next_event(const tt_netsim *sim) {
    uint64_t t = sim->hook_next;
    for (size_t k = 0; k < sim->n_flight; k++)
        if (sim->flight[k].at < t) t = sim->flight[k].at;
    for (int i = 0; i < sim->n_nodes; i++) {
        uint64_t d = tern_endpoint_next_deadline(sim->ep[i]);
        if (d < t) t = d;
    }
    return t;
}

/* The earliest due packet, ties broken by send order. */
static bool take_due(tt_netsim *sim, sim_packet *out) {
    size_t best = SIZE_MAX;
    for (size_t k = 0; k < sim->n_flight; k++) {
        const sim_packet *p = &sim->flight[k];
        if (p->at > sim->now) continue;
        if (best == SIZE_MAX || p->at < sim->flight[best].at ||
            (p->at == sim->flight[best].at && p->seq < sim->flight[best].seq))
            best = k;
    }
    if (best == SIZE_MAX) return false;
    *out = sim->flight[best];
    sim->flight[best] = sim->flight[--sim->n_flight];
    return true;
}

bool tt_netsim_step(tt_netsim *sim) {
    tt_netsim_flush(sim);
    uint64_t t = next_event(sim);
    if (t == UINT64_MAX) return false;
    if (t > sim->now) sim->now = t;

    static sim_packet p; /* large: keep it off the stack */
    while (take_due(sim, &p)) {
        sim->stats.delivered++;
        (void)tern_endpoint_recv(sim->ep[p.to], &sim->addr[p.from], p.data, p.len, sim->now);
        tt_netsim_flush(sim);
    }
    for (int i = 0; i < sim->n_nodes; i++)
        if (tern_endpoint_next_deadline(sim->ep[i]) <= sim->now)
            tern_endpoint_tick(sim->ep[i], sim->now);
    tt_netsim_flush(sim);
    if (sim->hook) {
        sim->hook_next = sim->hook(sim->hook_ctx, sim, sim->now);
        if (sim->hook_next <= sim->now) sim->hook_next = sim->now + 1;
        tt_netsim_flush(sim);
    }
    return true;
}

uint64_t tt_netsim_run(tt_netsim *sim, uint64_t until_ms) {
    uint64_t steps = 0;
    for (;;) {
        tt_netsim_flush(sim);
        uint64_t t = next_event(sim);
        if (t == UINT64_MAX || t > until_ms) break;
        tt_netsim_step(sim);
        steps++;
    }
    return steps;
}

void tt_netsim_get_stats(const tt_netsim *sim, tt_netsim_stats *st) { *st = sim->stats; }
