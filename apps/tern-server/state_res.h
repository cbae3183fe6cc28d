/* SPDX-License-Identifier: BSD-2-Clause */
/* state_res.h - an observable state resource of tern-server (the alarm and
 * those declared with --resource or in the config file): GET the state,
 * PUT one of the allowed values, persisted before the answer. */
#ifndef TERN_SERVER_STATE_RES_H
#define TERN_SERVER_STATE_RES_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"
#include "spec.h"
#include "store.h"
#include "tern/server.h"
#include "workers.h"

typedef struct state_res {
    state_spec spec;
    char value[SPEC_VALUE_MAX];
    char rt[SPEC_PATH_MAX];
    char accepted[SPEC_MAX_VALUES * (SPEC_VALUE_MAX + 2)]; /* "ON, OFF" */
    store *st;
    tern_resource *res; /* NULL while it is not served */
    bool notify_non;    /* --notify non: NON notifications, a CON now and then */
    /* With --workers: the state every worker shares, and the version of it
     * this copy of value is (workers.h). NULL: one worker. */
    wk_slot *slot;
    uint64_t seen;
    /* With --cluster: the value lives in Redis (cluster.h); cseq is the
     * number of the change this copy of value is. */
    uint64_t cseq;
} state_res;

/* --cluster: every state resource from now on keeps its value in c (NULL:
 * the state directory). Before state_res_init. */
void state_res_use_cluster(cluster *c);

/* A change Redis published (cluster.h): taken when seq is newer than the
 * one held and value is one of sr's; observers are notified. */
void state_res_apply(state_res *sr, const char *value, uint64_t seq);

/* Take spec and the saved state (or the initial value when there is none).
 * 0, or -1 after logging why: a state file that is not a regular file, is
 * unreadable, or holds a value the resource does not accept. The server
 * then refuses to start (or a reload to add the resource) rather than
 * silently replace a state it cannot read. */
int state_res_init(state_res *sr, const state_spec *spec, store *st);

/* Serve it on srv. 0, or a TERN_E_* value (with a message logged). */
int state_res_add(tern_server *srv, state_res *sr);

/* Stop serving it: its observers get a final 4.04 (RFC 7641 section 3.2).
 * Its state file stays, for when it comes back. */
void state_res_remove(tern_server *srv, state_res *sr, uint64_t now_ms);

/* Another worker changed the shared state (its eventfd woke this one):
 * take it, and notify this worker's observers. */
void state_res_sync(state_res *sr);

/* Do a and b declare the same values and initial value? (Paths aside.) */
bool state_spec_same_values(const state_spec *a, const state_spec *b);

/* A reload changed the values of a served resource: keep serving it (and
 * its observers) with the new list. A state no longer accepted becomes the
 * new initial value, written first and notified. 0, or -1 (logged) when
 * that write fails: the old declaration stays. */
int state_res_update(state_res *sr, const state_spec *spec);

#endif
