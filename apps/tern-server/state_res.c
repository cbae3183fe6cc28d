/* SPDX-License-Identifier: BSD-2-Clause */
/* state_res.c - tern-server's state resources (see state_res.h).
 *
 * The protocol is the library's (src/server/state.c: GET, PUT, 4.00 for
 * a value not declared, 5.03 when the backend cannot store, Observe); what
 * is tern-server's own is here: a declaration made into a tern_state, the
 * log lines an operator reads, and the workers' shared state as a backend
 * in front of the state directory. With workers, one PUT at a time over all
 * of them, against the state they share: the file is written once, in the
 * order the PUTs came, the shared version bumped, the others woken; a PUT
 * of the state held writes nothing on any worker. */
#include "state_res.h"

#include <stdio.h>
#include <string.h>

#include "app_log.h"
#include "tern/io.h"

static tern_state_backend *g_backend; /* the state directory's, or Redis's */
static const char *g_dir = "";         /* the state directory, for messages */
static bool g_cluster;

/* ---- the workers' shared state, in front of the state directory ----------- */

/* The shared value, if newer than st's: taken (the lock is not held while
 * st notifies and logs). */
static void shared_refresh(tern_state_backend *be, tern_state *st) {
    (void)be;
    state_res *sr = tern_state_ctx(st);
    if (sr->slot == NULL || wk_version(sr->slot) <= tern_state_version(st)) return;
    char value[SPEC_VALUE_MAX];
    wk_lock();
    memcpy(value, sr->slot->value, sizeof value);
    uint64_t version = sr->slot->version;
    wk_unlock();
    (void)tern_state_apply(st, value, version);
}

static int shared_store(tern_state_backend *be, tern_state *st, const char *path,
                        const char *value, void *op, uint64_t *version, char *why,
                        size_t why_cap) {
    (void)be;
    state_res *sr = tern_state_ctx(st);
    if (sr->slot == NULL)
        return g_backend->ops->store(g_backend, st, path, value, op, version, why, why_cap);
    wk_lock();
    int rc = 0;
    if (strcmp(sr->slot->value, value) != 0) { /* else another worker stored it */
        rc = g_backend->ops->store(g_backend, st, path, value, op, version, why, why_cap);
        if (rc == 0) {
            snprintf(sr->slot->value, sizeof sr->slot->value, "%s", value);
            __atomic_store_n(&sr->slot->version, sr->slot->version + 1, __ATOMIC_RELEASE);
        }
    }
    *version = sr->slot->version;
    bool stored = rc == 0 && *version > tern_state_version(st);
    wk_unlock();
    if (stored) wk_changed();
    return rc;
}

static int shared_load(tern_state_backend *be, tern_state *st, const char *path,
                       const char *initial, char *out, size_t cap, uint64_t *version, char *why,
                       size_t why_cap) {
    (void)be;
    return g_backend->ops->load(g_backend, st, path, initial, out, cap, version, why, why_cap);
}

static const tern_state_backend_ops shared_ops = {
    .load = shared_load, .store = shared_store, .refresh = shared_refresh};
/* shared with workers (state_res_add): a PUT of the value this worker
 * holds may still be news to the shared state (another worker changed it
 * since). */
static tern_state_backend g_shared = {.ops = &shared_ops};

/* The backend a state uses: without --cluster, the shared state in front
 * of the state directory, which passes every store through while there
 * are no workers (wk_setup comes after the states are made). */
static tern_state_backend *backend(void) {
    if (g_cluster) return g_backend;
    g_shared.retry_after_s = g_backend->retry_after_s;
    return &g_shared;
}

void state_res_use_backend(tern_state_backend *be, const char *dir, bool cluster) {
    g_backend = be;
    g_dir = dir ? dir : "";
    g_cluster = cluster;
}

/* ---- what happened, logged ------------------------------------------------- */

static void log_event(void *ctx, const tern_state_event *ev) {
    state_res *sr = ctx;
    const char *name = ev->path + 1; /* "alarm" */
    char from[80] = "?", v[4 * 64 + 8], d[1024];
    if (ev->peer) tern_io_addr_format(ev->peer, from, sizeof from);
    switch (ev->kind) {
    case TERN_STATE_CHANGED:
        if (ev->peer)
            app_log(APP_LOG_INFO, "%s: %s -> %s from %s", name, ev->old_value, ev->value, from);
        else if (g_cluster)
            app_log(APP_LOG_INFO, "%s: %s -> %s (cluster change %llu)", name, ev->old_value,
                    ev->value, (unsigned long long)ev->version);
        else
            app_log(APP_LOG_DEBUG, "%s: %s -> %s (another worker's change)", name, ev->old_value,
                    ev->value);
        break;
    case TERN_STATE_UNCHANGED:
        app_log(APP_LOG_INFO, "%s: %s unchanged (PUT from %s; nothing written)", name, ev->value,
                from);
        break;
    case TERN_STATE_REFUSED:
        app_log(APP_LOG_DEBUG, "%s: refused \"%s\" from %s (4.00)", ev->path,
                app_log_esc(v, sizeof v, ev->value, ev->value_len < 64 ? ev->value_len : 64),
                from);
        break;
    case TERN_STATE_NOT_STORED:
        if (ev->peer == NULL) /* a reload's new initial value */
            app_log(APP_LOG_ERROR, "%s: cannot store %s, its new initial value: %s; it keeps "
                    "its old values and state %s", ev->path, ev->value, ev->why, ev->old_value);
        else if (g_cluster)
            app_log(APP_LOG_WARN, "%s: PUT %s from %s refused: %s", ev->path, ev->value, from,
                    ev->why);
        else
            app_log(APP_LOG_ERROR, "%s: cannot store %s (PUT from %s) in \"%s\": %s; the state stays %s",
                    ev->path, ev->value, from, app_log_escs(d, sizeof d, g_dir), ev->why,
                    ev->old_value);
        break;
    case TERN_STATE_FOREIGN:
        app_log(APP_LOG_WARN, "cluster: %s: \"%s\" (change %llu) is not one of %s; kept %s",
                ev->path, app_log_escs(v, sizeof v, ev->value), (unsigned long long)ev->version,
                tern_state_accepted(sr->st), ev->old_value);
        break;
    case TERN_STATE_RESET:
        app_log(APP_LOG_WARN,
                "%s: accepted values now %s; its state %s is not among them, so it is "
                "now %s (the initial value)", ev->path, tern_state_accepted(sr->st),
                ev->old_value, ev->value);
        break;
    }
}

/* ---- life ------------------------------------------------------------------- */

/* The spec's values as the library takes them. */
static void value_list(const state_spec *spec, const char *list[SPEC_MAX_VALUES]) {
    for (unsigned i = 0; i < spec->n_values; i++) list[i] = spec->values[i];
}

int state_res_init(state_res *sr, const state_spec *spec, bool notify_non) {
    memset(sr, 0, sizeof *sr);
    sr->spec = *spec;
    const char *values[SPEC_MAX_VALUES];
    value_list(spec, values);
    tern_state_def def = {.path = sr->spec.path,
                          .values = values,
                          .n_values = spec->n_values,
                          .initial = spec->initial,
                          .backend = backend(),
                          /* State changes matter: by default every
                           * notification confirmable, so a lost one is
                           * resent and a gone observer is noticed (--notify
                           * non: NON, with a CON now and then, RFC 7641
                           * section 4.5). */
                          .notify_con = !notify_non,
                          .on_event = log_event,
                          .ctx = sr};
    char why[1400];
    int rc = tern_state_new(&sr->st, &def, why, sizeof why);
    if (rc == 0) return 0;
    sr->st = NULL;
    char file[4700], f[1024];
    if (rc != TERN_E_STATE) {
        app_log(APP_LOG_ERROR, "%s: %s", spec->path, why);
    } else if (g_cluster) {
        app_log(APP_LOG_ERROR, "%s: Redis %s", spec->path, why);
    } else {
        tern_state_file_name(g_backend, spec->path, file, sizeof file);
        app_log(APP_LOG_ERROR, "%s: state file \"%s\" %s; correct the file, or remove it to start from %s",
                spec->path, app_log_escs(f, sizeof f, file), why, spec->values[spec->initial]);
    }
    return -1;
}

void state_res_free(state_res *sr) {
    tern_state_free(sr->st);
    memset(sr, 0, sizeof *sr);
}

bool state_res_served(const state_res *sr) {
    return sr->st != NULL && tern_state_resource(sr->st) != NULL;
}

void state_res_sync(state_res *sr) { shared_refresh(NULL, sr->st); }

int state_res_add(tern_server *srv, state_res *sr) {
    g_shared.shared = wk_active();
    if (wk_active() && !g_cluster && sr->slot == NULL) {
        /* The state the workers share: this value, or the one another
         * worker already serves (a reload adds it to each of them). */
        sr->slot = wk_attach(sr->spec.path, tern_state_value(sr->st));
        if (sr->slot == NULL) return TERN_E_FULL;
        shared_refresh(NULL, sr->st);
    }
    int rc = tern_state_serve(sr->st, srv);
    if (rc < 0)
        app_log(APP_LOG_ERROR, "%s: cannot add resource: %s", sr->spec.path,
                rc == TERN_E_STATE ? "declared twice" : tern_strerror(rc));
    else
        app_log(APP_LOG_DEBUG, "%s: %s (accepted: %s)", sr->spec.path, tern_state_value(sr->st),
                tern_state_accepted(sr->st));
    return rc;
}

void state_res_remove(state_res *sr, uint64_t now_ms) {
    if (sr->st) tern_state_unserve(sr->st, now_ms);
}

bool state_spec_same_values(const state_spec *a, const state_spec *b) {
    if (a->n_values != b->n_values || a->initial != b->initial) return false;
    for (unsigned i = 0; i < a->n_values; i++)
        if (strcmp(a->values[i], b->values[i]) != 0) return false;
    return true;
}

int state_res_update(state_res *sr, const state_spec *spec) {
    const char *values[SPEC_MAX_VALUES];
    value_list(spec, values);
    char before[SPEC_VALUE_MAX + 32], why[512];
    snprintf(before, sizeof before, "%s", tern_state_value(sr->st));
    int rc = tern_state_set_values(sr->st, values, spec->n_values, spec->initial, why, sizeof why);
    if (rc < 0) {
        app_log(APP_LOG_ERROR,
                "%s: its state %s is no longer accepted, and %s cannot be stored: %s; "
                "keeping the old declaration", spec->path, before,
                spec->values[spec->initial], why);
        return -1;
    }
    sr->spec = *spec;
    bool kept = false;
    for (unsigned i = 0; i < spec->n_values; i++) kept |= strcmp(spec->values[i], before) == 0;
    if (kept) /* else the library's RESET event told */
        app_log(APP_LOG_INFO, "%s: accepted values now %s; state %s kept", spec->path,
                tern_state_accepted(sr->st), before);
    return 0;
}
