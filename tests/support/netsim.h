/* SPDX-License-Identifier: BSD-2-Clause */
/* netsim.h - a deterministic simulated network between in-process endpoints.
 *
 * Each tern_endpoint added becomes a node with its own address. The
 * simulator drains what the endpoints queue, decides per datagram (from one
 * seeded generator, so a run is repeatable) whether the link loses it,
 * duplicates it, and how long each copy is delayed (a random delay per copy
 * reorders datagrams), and delivers them at their time. Time only moves
 * from one event to the next: a delivery, an endpoint deadline, or the
 * test's hook. Used for RFC 7252 section 4 (retransmission, dedup) tests
 * under loss. */
#ifndef TERN_TEST_NETSIM_H
#define TERN_TEST_NETSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/endpoint.h"

#define TT_NETSIM_MAX_NODES 16

/* Properties of the path from one node to another. */
typedef struct tt_link {
    uint32_t loss_permille; /* chance that a copy is lost, per 1000 */
    uint32_t dup_permille;  /* chance that a datagram is sent twice */
    uint32_t delay_min_ms, delay_max_ms; /* each copy: uniform in [min, max] */
} tt_link;

typedef struct tt_netsim tt_netsim;

/* Called once per simulation step after deliveries and ticks, with the new
 * time; returns when it next wants to run (UINT64_MAX: only on events). It
 * may send through the endpoints. */
typedef uint64_t (*tt_netsim_hook)(void *ctx, tt_netsim *sim, uint64_t now_ms);

typedef struct tt_netsim_stats {
    uint64_t sent;       /* datagrams taken from endpoints */
    uint64_t lost;       /* copies dropped by a link */
    uint64_t duplicated; /* datagrams sent twice */
    uint64_t delivered;  /* copies handed to tern_endpoint_recv */
    uint64_t unroutable; /* datagrams to an address that is no node */
} tt_netsim_stats;

/* Every link starts perfect (no loss, no duplication, 1 ms delay). */
tt_netsim *tt_netsim_new(uint64_t seed);
/* Frees the simulator, not the endpoints. */
void tt_netsim_free(tt_netsim *sim);
/* Add an endpoint; returns its node index (0, 1, ...). */
int tt_netsim_add(tt_netsim *sim, tern_endpoint *ep);
const tern_addr *tt_netsim_addr(const tt_netsim *sim, int node);
void tt_netsim_set_link(tt_netsim *sim, int from, int to, const tt_link *link);
void tt_netsim_set_all_links(tt_netsim *sim, const tt_link *link);
void tt_netsim_set_hook(tt_netsim *sim, tt_netsim_hook hook, void *ctx);
uint64_t tt_netsim_now(const tt_netsim *sim);
/* Move what the endpoints queued onto the links. */
void tt_netsim_flush(tt_netsim *sim);
/* One step: advance to the next event and process everything due then.
 * false when nothing at all is scheduled any more. */
bool tt_netsim_step(tt_netsim *sim);
/* Step until nothing is scheduled or the next event lies after until_ms;
 * returns the number of steps. */
uint64_t tt_netsim_run(tt_netsim *sim, uint64_t until_ms);
void tt_netsim_get_stats(const tt_netsim *sim, tt_netsim_stats *st);

#endif
