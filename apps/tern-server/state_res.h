/* SPDX-License-Identifier: BSD-2-Clause */
/* state_res.h - tern-server's state resources (the alarm and those declared
 * with --resource or in the config file): the library's tern_state
 * (tern/state.h) made from a declaration, kept in the state directory or,
 * with --cluster, in Redis; with workers, shared by all of them; and what
 * happens to them, logged. */
#ifndef TERN_SERVER_STATE_RES_H
#define TERN_SERVER_STATE_RES_H

#include <stdbool.h>
#include <stdint.h>

#include "spec.h"
#include "tern/server.h"
#include "tern/state.h"
#include "workers.h"

typedef struct state_res {
    state_spec spec;
    tern_state *st;  /* NULL: an unused entry */
    /* With --workers: the state every worker shares (workers.h). NULL:
     * one worker. */
    wk_slot *slot;
} state_res;

/* Where every state resource from now on keeps its value: the state
 * directory (dir names it in messages), or Redis with --cluster (cluster
 * true). With workers, the values pass through the state they share. Before
 * state_res_init. */
void state_res_use_backend(tern_state_backend *be, const char *dir, bool cluster);

/* Make sr from spec, with the value kept (or the initial one). 0, or -1
 * after logging why: a state file that is not a regular file, is
 * unreadable, or holds a value the resource does not accept; Redis out of
 * reach. The server then refuses to start (or a reload to add the
 * resource) rather than silently replace a state it cannot read. sr must
 * not move afterwards. notify_non: --notify non. */
int state_res_init(state_res *sr, const state_spec *spec, bool notify_non);
/* Forget it (not served). */
void state_res_free(state_res *sr);

/* Serve it on srv. 0, or a TERN_E_* value (with a message logged). */
int state_res_add(tern_server *srv, state_res *sr);
bool state_res_served(const state_res *sr);

/* Stop serving it: its observers get a final 4.04 (RFC 7641 section 3.2).
 * Its kept value stays, for when it comes back. */
void state_res_remove(state_res *sr, uint64_t now_ms);

/* Another worker changed the shared state (its eventfd woke this one):
 * take it, and notify this worker's observers. */
void state_res_sync(state_res *sr);

/* Do a and b declare the same values and initial value? (Paths aside.) */
bool state_spec_same_values(const state_spec *a, const state_spec *b);

/* A reload changed the values of a served resource: keep serving it (and
 * its observers) with the new list. A state no longer accepted becomes the
 * new initial value, stored first and notified. 0, or -1 (logged) when
 * that store fails: the old declaration stays. */
int state_res_update(state_res *sr, const state_spec *spec);

#endif
