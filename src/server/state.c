/* SPDX-License-Identifier: BSD-2-Clause */
/* state.c - state resources (tern/state.h): RFC 7252 GET and PUT of one of
 * a few declared values, RFC 7641 notifications on change, the value kept
 * by a backend behind tern_state_backend.
 *
 * The rule everything here keeps: a 2.04 means the backend has the value,
 * and an error answer means nothing changed. So a PUT is answered only from
 * the backend's outcome: at once when the backend answers at once, else as
 * a separate response (RFC 7252 5.2.2) when tern_state_stored brings the
 * outcome. Whether the request can wait is asked before the backend is:
 * once a store is under way, the answer must be able to carry its outcome.
 *
 * A PUT without Content-Format is taken as text/plain (the tutorial's
 * client and libcoap's `coap-client -e` send none); another one is refused
 * with 4.15 by the server layer, because the resource declares ct=0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/state.h"

#define STATE_DEFAULT_RETRY_S 5
#define STATE_ACCEPTED_MAX (TERN_STATE_MAX_VALUES * (TERN_STATE_VALUE_MAX + 2))

/* The declared values. */
typedef struct state_decl {
    char values[TERN_STATE_MAX_VALUES][TERN_STATE_VALUE_MAX];
    unsigned n_values, initial;
    char accepted[STATE_ACCEPTED_MAX]; /* "ON, OFF" */
} state_decl;

/* A PUT, or a reset (tern_state_set_values), waiting for the backend. */
typedef struct state_waiting {
    bool used, has_req, reset;
    uint32_t gen; /* the PUT came while served the gen-th time */
    tern_server *srv;
    tern_endpoint_req_id id;
    tern_addr peer;
    char value[TERN_STATE_VALUE_MAX];
} state_waiting;

struct tern_state {
    char *path, *rt;
    state_decl decl;
    /* A reset waiting for the backend: the declaration it brings, taken
     * once the backend has the new initial value. */
    bool reset_waiting;
    state_decl next;
    char value[TERN_STATE_VALUE_MAX];
    uint64_t version;
    tern_state_backend *be;
    bool notify_con;
    uint32_t max_age_s;
    void (*on_event)(void *ctx, const tern_state_event *ev);
    void *ctx;
    tern_resource *res;
    tern_server *srv; /* while served */
    /* Bumped by each tern_state_serve: a PUT from an earlier one is never
     * answered (its server may be gone, its address another's). */
    uint32_t serve_gen;
    state_waiting waiting[TERN_STATE_MAX_WAITING];
};

static void emit(const tern_state *st, tern_state_event ev) {
    if (st->on_event == NULL) return;
    ev.path = st->path;
    ev.old_value = st->value;
    if (ev.value && ev.value_len == 0) ev.value_len = strlen(ev.value);
    st->on_event(st->ctx, &ev);
}

/* The value held becomes v (which may be one of st's own strings). */
static void set_value(tern_state *st, const char *v) {
    size_t n = 0;
    while (n < sizeof st->value - 1 && v[n]) n++;
    memmove(st->value, v, n);
    st->value[n] = '\0';
}

/* The index of the declared value that is v's len bytes, or -1. */
static int value_index(const state_decl *d, const void *v, size_t len) {
    for (unsigned i = 0; i < d->n_values; i++)
        if (strlen(d->values[i]) == len && memcmp(d->values[i], v, len) == 0) return (int)i;
    return -1;
}

static bool declares(const state_decl *d, const char *v) { return value_index(d, v, strlen(v)) >= 0; }

static bool available(const tern_state *st) {
    return st->be == NULL || st->be->ops->available == NULL || st->be->ops->available(st->be);
}

static void refresh(tern_state *st) {
    if (st->be && st->be->ops->refresh) st->be->ops->refresh(st->be, st);
}

static uint32_t retry_s(const tern_state *st) {
    return st->be && st->be->retry_after_s ? st->be->retry_after_s : STATE_DEFAULT_RETRY_S;
}

/* Take value as change version; true when the value changed. A version
 * of 0 (a backend that numbers nothing) is always taken. */
static bool take(tern_state *st, const char *value, uint64_t version, const tern_addr *peer) {
    if (version != 0) {
        if (version <= st->version) return false;
        st->version = version;
    }
    if (strcmp(st->value, value) == 0) return false;
    emit(st, (tern_state_event){.kind = TERN_STATE_CHANGED, .value = value, .peer = peer,
                                .version = version});
    set_value(st, value);
    if (st->res) tern_resource_changed(st->res);
    return true;
}

/* ---- GET and PUT -------------------------------------------------------------- */

static uint8_t state_get(tern_server_request *req, tern_server_response *resp) {
    tern_state *st = tern_server_request_ctx(req);
    refresh(st);
    /* A backend out of reach: the value may be stale, say so to a plain GET
     * (RFC 7252 5.6.1, Max-Age 0). Not to an observer: it will hear of a
     * change once the backend is back, and Max-Age 0 would make it register
     * again every few seconds until then (RFC 7641 3.3.1). */
    if (!available(st) && !tern_server_request_is_observe(req) &&
        !tern_server_request_is_notification(req))
        tern_server_response_add_uint(resp, TERN_OPT_MAX_AGE, 0);
    /* By reference: the value stays as it is until the answer is encoded. */
    tern_server_response_payload_ref(resp, TERN_CF_TEXT_PLAIN, st->value, strlen(st->value));
    return TERN_CODE_CONTENT;
}

/* The answer for a store that failed with rc (nothing changed). */
static uint8_t not_stored(tern_state *st, tern_server_response *resp, const char *value,
                          const tern_addr *peer, int rc, const char *why) {
    emit(st, (tern_state_event){.kind = TERN_STATE_NOT_STORED, .value = value, .peer = peer,
                                .why = why, .error = rc});
    tern_server_response_diag(resp, "cannot store the new state: %s", why);
    if (rc != TERN_E_UNAVAILABLE) return TERN_CODE_INTERNAL_SERVER_ERROR;
    tern_server_response_add_uint(resp, TERN_OPT_MAX_AGE, retry_s(st));
    return TERN_CODE_SERVICE_UNAVAILABLE;
}

static state_waiting *waiting_slot(tern_state *st) {
    for (size_t i = 0; i < TERN_STATE_MAX_WAITING; i++)
        if (!st->waiting[i].used) return &st->waiting[i];
    return NULL;
}

static uint8_t state_put(tern_server_request *req, tern_server_response *resp) {
    tern_state *st = tern_server_request_ctx(req);
    const tern_addr *peer = tern_server_request_peer(req);
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    int k = value_index(&st->decl, p, len);
    if (k < 0) {
        char got[4 * 64 + 4]; /* 64 bytes at most, escaped, then "..." */
        tern_text_escape(got, sizeof got, p, len < 64 ? len : 64);
        if (len > 64) strcat(got, "...");
        emit(st, (tern_state_event){.kind = TERN_STATE_REFUSED, .value = (const char *)p,
                                    .value_len = len, .peer = peer});
        tern_server_response_diag(resp, "got \"%s\"; accepted: %s", got, st->decl.accepted);
        return TERN_CODE_BAD_REQUEST;
    }
    const char *next = st->decl.values[k];
    refresh(st);
    if (!available(st)) return not_stored(st, resp, next, peer, TERN_E_UNAVAILABLE,
                                          "the state backend cannot be reached; try again");
    /* The value held, and nobody else writes: nothing to store, nobody to
     * notify (RFC 7641 4.2 notifies changes of state). */
    if (strcmp(st->value, next) == 0 && (st->be == NULL || !st->be->shared)) {
        emit(st, (tern_state_event){.kind = TERN_STATE_UNCHANGED, .value = next, .peer = peer});
        tern_server_response_text(resp, st->value);
        return TERN_CODE_CHANGED;
    }
    if (st->be == NULL) {
        take(st, next, 0, peer);
        tern_server_response_text(resp, st->value);
        return TERN_CODE_CHANGED;
    }
    state_waiting *w = waiting_slot(st);
    if (w == NULL || !tern_server_request_can_defer(req))
        return not_stored(st, resp, next, peer, TERN_E_UNAVAILABLE,
                          "too many changes wait for the state backend; try again");
    char why[256] = "";
    uint64_t version = 0;
    int rc = st->be->ops->store(st->be, st, st->path, next, w, &version, why, sizeof why);
    if (rc == TERN_STATE_LATER) {
        *w = (state_waiting){.used = true, .has_req = true, .gen = st->serve_gen,
                             .srv = tern_server_request_server(req), .peer = *peer};
        memcpy(w->value, next, strlen(next) + 1); /* a declared value: it fits */
        (void)tern_server_request_defer(req, &w->id); /* can_defer said it would */
        return TERN_DEFER;
    }
    if (rc < 0) return not_stored(st, resp, next, peer, rc, why);
    if (!take(st, next, version, peer) && strcmp(st->value, next) == 0)
        emit(st, (tern_state_event){.kind = TERN_STATE_UNCHANGED, .value = next, .peer = peer});
    tern_server_response_text(resp, st->value);
    return TERN_CODE_CHANGED;
}

static void finish_reset(tern_state *st, int rc, uint64_t version, const char *why);

void tern_state_stored(tern_state *st, void *op, int rc, uint64_t version, const char *why,
                       uint64_t now_ms) {
    state_waiting *w = op;
    if (st == NULL || w < st->waiting || w >= st->waiting + TERN_STATE_MAX_WAITING || !w->used)
        return;
    state_waiting done = *w;
    w->used = false;
    if (done.reset) {
        finish_reset(st, rc, version, why);
        return;
    }
    /* Taken or not (a newer change may have come first): the reply to the
     * PUT is the value held now. */
    if (rc == 0) take(st, done.value, version, done.has_req ? &done.peer : NULL);
    if (!done.has_req || done.gen != st->serve_gen) return;
    tern_server_response *resp = tern_server_respond_begin(done.srv, done.id);
    if (resp == NULL) return; /* the request timed out meanwhile */
    uint8_t code = TERN_CODE_CHANGED;
    if (rc == 0) tern_server_response_text(resp, st->value);
    else code = not_stored(st, resp, done.value, &done.peer, rc, why ? why : "");
    tern_server_respond(done.srv, resp, code, now_ms);
}

int tern_state_apply(tern_state *st, const char *value, uint64_t version) {
    if (!declares(&st->decl, value)) {
        emit(st, (tern_state_event){.kind = TERN_STATE_FOREIGN, .value = value, .version = version});
        return TERN_E_INVAL;
    }
    if (version != 0 && version <= st->version) return 0;
    take(st, value, version, NULL);
    return 1;
}

/* ---- life ----------------------------------------------------------------------- */

static void set_accepted(state_decl *d) {
    size_t n = 0;
    d->accepted[0] = '\0';
    for (unsigned i = 0; i < d->n_values; i++) {
        int w = snprintf(d->accepted + n, sizeof d->accepted - n, "%s%s", i ? ", " : "",
                         d->values[i]);
        if (w > 0) n += (size_t)w;
    }
}

/* Make d from a caller's values (checked: 1 to MAX, each 1 to VALUE_MAX - 1
 * bytes, no two alike, initial one of them). TERN_E_INVAL, saying so in
 * why, leaves d as it was. */
static int make_decl(state_decl *d, const char *path, const char *const *values, unsigned n,
                     unsigned initial, char *why, size_t why_cap) {
    state_decl next = {.n_values = 0, .initial = initial};
    bool ok = values != NULL && n > 0 && n <= TERN_STATE_MAX_VALUES && initial < n;
    for (unsigned i = 0; ok && i < n; i++) {
        size_t len = values[i] ? strlen(values[i]) : 0;
        ok = len > 0 && len < TERN_STATE_VALUE_MAX && value_index(&next, values[i], len) < 0;
        if (ok) memcpy(next.values[next.n_values++], values[i], len + 1);
    }
    if (!ok) {
        snprintf(why, why_cap, "%s: 1 to %d distinct values of 1 to %d bytes, and an initial one",
                 path, TERN_STATE_MAX_VALUES, TERN_STATE_VALUE_MAX - 1);
        return TERN_E_INVAL;
    }
    set_accepted(&next);
    *d = next;
    return 0;
}

static char *dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int tern_state_new(tern_state **out, const tern_state_def *def, char *why, size_t why_cap) {
    if (out == NULL) return TERN_E_INVAL;
    *out = NULL;
    if (def == NULL || def->path == NULL || def->path[0] != '/' ||
        (def->backend && (def->backend->ops == NULL || def->backend->ops->store == NULL))) {
        snprintf(why, why_cap, "a state needs a path that starts with /");
        return TERN_E_INVAL;
    }
    tern_state *st = calloc(1, sizeof *st);
    if (st == NULL) return TERN_E_NOMEM;
    const char *last = strrchr(def->path, '/');
    st->path = dup(def->path);
    st->rt = dup(def->rt ? def->rt : last[1] ? last + 1 : "state");
    if (st->path == NULL || st->rt == NULL) {
        tern_state_free(st);
        return TERN_E_NOMEM;
    }
    if (make_decl(&st->decl, def->path, def->values, def->n_values, def->initial, why, why_cap) <
        0) {
        tern_state_free(st);
        return TERN_E_INVAL;
    }
    st->be = def->backend;
    st->notify_con = def->notify_con;
    st->max_age_s = def->max_age_s;
    st->on_event = def->on_event;
    st->ctx = def->ctx;
    set_value(st, st->decl.values[st->decl.initial]);
    if (st->be && st->be->ops->load) {
        char kept[TERN_STATE_VALUE_MAX + 8];
        uint64_t version = 0;
        int rc = st->be->ops->load(st->be, st, st->path, st->value, kept, sizeof kept, &version,
                                   why, why_cap);
        if (rc < 0) {
            tern_state_free(st);
            return rc;
        }
        if (rc > 0) {
            int k = value_index(&st->decl, kept, strlen(kept));
            if (k < 0) {
                char q[4 * sizeof kept];
                tern_text_escape(q, sizeof q, kept, strlen(kept));
                snprintf(why, why_cap, "holds \"%s\", which is not one of its values (%s)", q,
                         st->decl.accepted);
                tern_state_free(st);
                return TERN_E_STATE;
            }
            memcpy(st->value, st->decl.values[k], sizeof st->value);
            st->version = version;
        }
    }
    *out = st;
    return 0;
}

void tern_state_free(tern_state *st) {
    if (st == NULL) return;
    if (st->be && st->be->ops->forget) st->be->ops->forget(st->be, st);
    free(st->path);
    free(st->rt);
    free(st);
}

int tern_state_serve(tern_state *st, tern_server *srv) {
    st->serve_gen++;
    /* Served by srv already? (A server freed since may have left its
     * address to srv: its resource is not there then.) */
    if (st->res && st->srv == srv && tern_server_find_resource(srv, st->path) == st->res)
        return TERN_E_STATE;
    tern_resource_def def = {.path = st->path,
                             .get = state_get,
                             .put = state_put,
                             .ctx = st,
                             .observable = true,
                             .notify_con = st->notify_con,
                             /* every observer gets the same value */
                             .notify_shared = true,
                             .max_age_s = st->max_age_s,
                             .rt = st->rt,
                             .ct = "0"};
    int rc = tern_server_add_resource(srv, &def, &st->res);
    if (rc < 0) st->res = NULL;
    else st->srv = srv;
    return rc;
}

void tern_state_unserve(tern_state *st, uint64_t now_ms) {
    if (st->res == NULL) return;
    tern_resource *res = st->res;
    st->res = NULL;
    tern_server_remove_resource(st->srv, res, now_ms);
    st->srv = NULL;
}

/* The backend has d's initial value, as change version: d becomes the
 * declaration, and its initial value the state's (RESET) unless the state
 * moved on meanwhile to a newer value d declares. */
static void adopt(tern_state *st, const state_decl *d, uint64_t version) {
    st->decl = *d;
    const char *initial = st->decl.values[st->decl.initial];
    bool newer = version == 0 || version > st->version;
    if (!newer && declares(&st->decl, st->value)) return;
    if (version > st->version) st->version = version;
    if (strcmp(st->value, initial) == 0) return;
    emit(st, (tern_state_event){.kind = TERN_STATE_RESET, .value = initial, .version = version});
    set_value(st, initial);
    if (st->res) tern_resource_changed(st->res);
}

static void finish_reset(tern_state *st, int rc, uint64_t version, const char *why) {
    st->reset_waiting = false;
    if (rc == 0) {
        adopt(st, &st->next, version);
        return;
    }
    /* The old declaration stays, and the value with it. */
    emit(st, (tern_state_event){.kind = TERN_STATE_NOT_STORED,
                                .value = st->next.values[st->next.initial], .why = why ? why : "",
                                .error = rc});
}

int tern_state_set_values(tern_state *st, const char *const *values, unsigned n_values,
                          unsigned initial, char *why, size_t why_cap) {
    state_decl next;
    int rc = make_decl(&next, st->path, values, n_values, initial, why, why_cap);
    if (rc < 0) return rc;
    if (st->reset_waiting) {
        snprintf(why, why_cap, "a change of its values waits for the state backend");
        return TERN_E_STATE;
    }
    if (declares(&next, st->value)) { /* kept: nothing to store */
        st->decl = next;
        return 0;
    }
    if (st->be == NULL) {
        adopt(st, &next, 0);
        return 0;
    }
    state_waiting *w = waiting_slot(st);
    if (w == NULL) {
        snprintf(why, why_cap, "too many changes wait for the state backend");
        return TERN_E_FULL;
    }
    uint64_t version = 0;
    const char *initial_value = next.values[next.initial];
    rc = st->be->ops->store(st->be, st, st->path, initial_value, w, &version, why, why_cap);
    if (rc < 0) return rc;
    if (rc == TERN_STATE_LATER) { /* the declaration changes when the backend has it */
        *w = (state_waiting){.used = true, .reset = true};
        st->next = next;
        st->reset_waiting = true;
        return 0;
    }
    adopt(st, &next, version);
    return 0;
}

const char *tern_state_value(const tern_state *st) { return st->value; }
uint64_t tern_state_version(const tern_state *st) { return st->version; }
const char *tern_state_path(const tern_state *st) { return st->path; }
const char *tern_state_accepted(const tern_state *st) { return st->decl.accepted; }
tern_resource *tern_state_resource(const tern_state *st) { return st->res; }
void *tern_state_ctx(const tern_state *st) { return st->ctx; }
