/* SPDX-License-Identifier: BSD-2-Clause */
/* state_res.h - an observable state resource of tern-server (the alarm and
 * those declared with --resource): GET the state, PUT one of the allowed
 * values, persisted before the answer. */
#ifndef TERN_SERVER_STATE_RES_H
#define TERN_SERVER_STATE_RES_H

#include "spec.h"
#include "store.h"
#include "tern/server.h"

typedef struct state_res {
    state_spec spec;
    char value[SPEC_VALUE_MAX];
    char rt[SPEC_PATH_MAX];
    char accepted[SPEC_MAX_VALUES * (SPEC_VALUE_MAX + 2)]; /* "ON, OFF" */
    store *st;
    tern_resource *res;
} state_res;

/* Load the persisted state (or take the initial value) and add the resource
 * to srv. 0, or a TERN_E_* value (with a message logged). */
int state_res_add(tern_server *srv, state_res *sr, store *st);

#endif
