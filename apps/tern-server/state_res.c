/* SPDX-License-Identifier: BSD-2-Clause */
/* state_res.c - tern-server's state resources (RFC 7252 GET/PUT, RFC 7641
 * Observe, RFC 6690 attributes).
 *
 * PUT takes exactly one of the declared values. A PUT without
 * Content-Format is taken as text/plain: the tutorial's client and libcoap's
 * `coap-client -e` send none. Another Content-Format is refused with 4.15 by
 * the server layer, because the resource declares ct=0. The new state is
 * written to the state directory before the 2.04 leaves: if the write fails
 * the client gets 5.03 (disk full: try later) or 5.00 and the state stays
 * as it was, so a 2.04 always means "on disk". A PUT of the state already
 * held answers 2.04 without writing anything and notifies nobody: the state
 * did not change (RFC 7641 section 4.2 notifies changes of state). */
#include "state_res.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app_log.h"
#include "tern/io.h"

/* How long a client should wait before it retries a PUT refused for a full
 * disk (Max-Age on 5.03, RFC 7252 section 5.9.3.4). */
#define FULL_RETRY_S 30
/* ... and one refused because Redis cannot be reached (--cluster). */
#define CLUSTER_RETRY_S 5

static cluster *g_cluster; /* --cluster, or NULL */

void state_res_use_cluster(cluster *c) { g_cluster = c; }

/* Take the shared state if another worker changed it (the lock held);
 * true if it did. */
static bool refresh_locked(state_res *sr) {
    if (sr->slot == NULL || sr->slot->version == sr->seen) return false;
    snprintf(sr->value, sizeof sr->value, "%s", sr->slot->value);
    sr->seen = sr->slot->version;
    return true;
}

/* The same, taking the lock only when there is something to take. */
static bool refresh(state_res *sr) {
    if (sr->slot == NULL || wk_version(sr->slot) == sr->seen) return false;
    wk_lock();
    bool changed = refresh_locked(sr);
    wk_unlock();
    return changed;
}

void state_res_sync(state_res *sr) {
    if (refresh(sr) && sr->res) tern_resource_changed(sr->res);
}

static uint8_t state_get(tern_server_request *req, tern_server_response *resp) {
    state_res *sr = tern_server_request_ctx(req);
    if (refresh(sr)) tern_resource_changed(sr->res); /* changed on another worker */
    /* --cluster without Redis: the last value known, stale at once (RFC
     * 7252 section 5.6.1, Max-Age 0): another node may have changed it. */
    if (g_cluster && !cluster_up(g_cluster)) tern_server_response_add_uint(resp, TERN_OPT_MAX_AGE, 0);
    /* By reference: the value stays as it is until the answer is encoded. */
    tern_server_response_payload_ref(resp, TERN_CF_TEXT_PLAIN, sr->value, strlen(sr->value));
    return TERN_CODE_CONTENT;
}

/* Set the state to next, one of the declared values, for a PUT from
 * `from`: written before the answer, then notified (and shared, with
 * workers: the caller holds the lock). The answer's code, resp filled;
 * *changed tells whether the state changed. */
static uint8_t put_value(state_res *sr, tern_server_request *req, const char *next,
                         const char *from, tern_server_response *resp, bool *changed) {
    *changed = false;
    if (strcmp(sr->value, next) == 0) {
        app_log(APP_LOG_INFO, "%s: %s unchanged (PUT from %s; nothing written)", sr->spec.path + 1,
                sr->value, from);
        tern_server_response_text(resp, sr->value);
        return TERN_CODE_CHANGED;
    }
    if (store_save(sr->st, sr->spec.path, next) < 0) {
        int e = errno;
        char dir[1024];
        app_log(APP_LOG_ERROR,
                "%s: cannot store %s (PUT from %s) in \"%s\": %s; the state stays %s",
                sr->spec.path, next, from, app_log_escs(dir, sizeof dir, sr->st->dir), strerror(e),
                sr->value);
        tern_server_response_diag(resp, "cannot store the new state: %s", strerror(e));
        if (e == ENOSPC || e == EDQUOT) {
            tern_server_response_add_uint(resp, TERN_OPT_MAX_AGE, FULL_RETRY_S);
            return TERN_CODE_SERVICE_UNAVAILABLE;
        }
        return TERN_CODE_INTERNAL_SERVER_ERROR;
    }
    app_log(APP_LOG_INFO, "%s: %s -> %s from %s", sr->spec.path + 1, sr->value, next, from);
    snprintf(sr->value, sizeof sr->value, "%s", next);
    if (sr->slot) {
        snprintf(sr->slot->value, sizeof sr->slot->value, "%s", next);
        sr->seen = sr->slot->version + 1;
        __atomic_store_n(&sr->slot->version, sr->seen, __ATOMIC_RELEASE);
    }
    *changed = true;
    tern_resource_changed(tern_server_request_resource(req));
    tern_server_response_text(resp, sr->value);
    return TERN_CODE_CHANGED;
}

void state_res_apply(state_res *sr, const char *value, uint64_t seq) {
    if (seq <= sr->cseq) return; /* this one, or a newer one, is held */
    const char *next = NULL;
    for (unsigned i = 0; i < sr->spec.n_values && next == NULL; i++)
        if (strcmp(sr->spec.values[i], value) == 0) next = sr->spec.values[i];
    if (next == NULL) {
        char v[4 * 64 + 4];
        app_log(APP_LOG_WARN, "cluster: %s: \"%s\" (change %llu) is not one of %s; kept %s",
                sr->spec.path, app_log_escs(v, sizeof v, value), (unsigned long long)seq,
                sr->accepted, sr->value);
        return;
    }
    sr->cseq = seq;
    if (strcmp(sr->value, next) == 0) return;
    app_log(APP_LOG_INFO, "%s: %s -> %s (cluster change %llu)", sr->spec.path + 1, sr->value,
            next, (unsigned long long)seq);
    snprintf(sr->value, sizeof sr->value, "%s", next);
    if (sr->res) tern_resource_changed(sr->res);
}

/* A PUT waiting for Redis (--cluster): answered when the script returns. */
typedef struct cluster_put_ctx {
    bool used;
    state_res *sr;
    tern_server *srv;
    tern_endpoint_req_id id;
    const char *value; /* one of sr->spec.values */
} cluster_put_ctx;
static cluster_put_ctx g_puts[64];

/* 5.03 with Max-Age (RFC 7252 5.9.3.4): the cluster store cannot take a
 * PUT now; nothing changed. */
static uint8_t cluster_unavailable(tern_server_response *resp, const char *why) {
    tern_server_response_diag(resp, "the cluster store (Redis) %s; try again", why);
    tern_server_response_add_uint(resp, TERN_OPT_MAX_AGE, CLUSTER_RETRY_S);
    return TERN_CODE_SERVICE_UNAVAILABLE;
}

/* Answer the deferred PUT of p (ok: Redis took it as change seq). */
static void cluster_answer(cluster_put_ctx *p, bool ok, uint64_t seq, const char *why) {
    p->used = false;
    if (ok) state_res_apply(p->sr, p->value, seq);
    tern_server_response *resp = tern_server_respond_begin(p->srv, p->id);
    if (resp == NULL) return; /* the request timed out meanwhile */
    uint8_t code = TERN_CODE_CHANGED;
    if (ok) tern_server_response_text(resp, p->sr->value);
    else code = cluster_unavailable(resp, why);
    tern_server_respond(p->srv, resp, code, tern_io_now());
}

static void cluster_put_done(void *ctx, bool ok, uint64_t seq) {
    cluster_answer(ctx, ok, seq, "did not take it");
}

/* --cluster: the 2.04 waits for Redis (a separate response, RFC 7252
 * 5.2.2, when it takes longer than the ACK delay); without Redis, 5.03 with
 * Max-Age and nothing changes. */
static uint8_t put_through_cluster(tern_server_request *req, tern_server_response *resp,
                                   state_res *sr, const char *next, const char *from) {
    /* Even a PUT of the value held goes to Redis: this node's copy may be
     * behind (the script publishes nothing when Redis holds it already). */
    cluster_put_ctx *p = NULL;
    for (size_t i = 0; i < sizeof g_puts / sizeof g_puts[0] && p == NULL; i++)
        if (!g_puts[i].used) p = &g_puts[i];
    tern_endpoint_req_id id;
    if (p == NULL || !cluster_up(g_cluster) || tern_server_request_defer(req, &id) < 0) {
        app_log(APP_LOG_WARN, "%s: PUT %s from %s refused: the cluster store is not reachable",
                sr->spec.path, next, from);
        return cluster_unavailable(resp, "is not reachable");
    }
    *p = (cluster_put_ctx){true, sr, tern_server_request_server(req), id, next};
    if (cluster_put(g_cluster, sr->spec.path, next, cluster_put_done, p) < 0) {
        cluster_answer(p, false, 0, "is not reachable");
        return TERN_DEFER;
    }
    app_log(APP_LOG_DEBUG, "%s: PUT %s from %s sent to the cluster store", sr->spec.path, next, from);
    return TERN_DEFER;
}

static uint8_t state_put(tern_server_request *req, tern_server_response *resp) {
    state_res *sr = tern_server_request_ctx(req);
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    const char *next = NULL;
    for (unsigned i = 0; i < sr->spec.n_values && next == NULL; i++) {
        const char *v = sr->spec.values[i];
        if (strlen(v) == len && memcmp(v, p, len) == 0) next = v;
    }
    char from[80] = "?";
    tern_io_addr_format(tern_server_request_peer(req), from, sizeof from);
    if (next != NULL && g_cluster) return put_through_cluster(req, resp, sr, next, from);
    if (next == NULL) {
        /* Escaped: the diagnostic is text for people (RFC 7252 5.5.2), the
         * payload anything; at most 64 bytes of it are quoted. */
        char got[4 * 64 + 4];
        app_log_esc(got, sizeof got, p, len);
        tern_server_response_diag(resp, "got \"%s\"; accepted: %s", got, sr->accepted);
        app_log(APP_LOG_DEBUG, "%s: refused \"%s\" from %s (4.00)", sr->spec.path, got, from);
        return TERN_CODE_BAD_REQUEST;
    }
    /* With workers, one PUT at a time over all of them, against the state
     * they share: the file is written once, in the order the PUTs came. */
    wk_lock();
    if (refresh_locked(sr)) tern_resource_changed(sr->res);
    bool changed;
    uint8_t code = put_value(sr, req, next, from, resp, &changed);
    wk_unlock();
    if (changed) wk_changed();
    return code;
}

static void set_accepted(state_res *sr) {
    size_t n = 0;
    sr->accepted[0] = '\0';
    for (unsigned i = 0; i < sr->spec.n_values; i++) {
        int w = snprintf(sr->accepted + n, sizeof sr->accepted - n, "%s%s", i ? ", " : "",
                         sr->spec.values[i]);
        if (w > 0) n += (size_t)w;
    }
}

static int value_index(const state_spec *sp, const char *v, size_t len) {
    for (unsigned i = 0; i < sp->n_values; i++)
        if (strlen(sp->values[i]) == len && memcmp(sp->values[i], v, len) == 0) return (int)i;
    return -1;
}

int state_res_init(state_res *sr, const state_spec *spec, store *st) {
    memset(sr, 0, sizeof *sr);
    sr->st = st;
    sr->spec = *spec;
    const state_spec *sp = &sr->spec;
    snprintf(sr->value, sizeof sr->value, "%s", sp->values[sp->initial]);
    set_accepted(sr);
    /* rt: the last path segment ("/alarm" -> "alarm"), for ?rt= filtering. */
    const char *last = strrchr(sp->path, '/');
    snprintf(sr->rt, sizeof sr->rt, "%s", last[1] ? last + 1 : "state");

    char saved[SPEC_VALUE_MAX + 32], why[1400];
    size_t len;
    if (g_cluster) { /* the value in Redis, or this one there first */
        if (cluster_init_value(g_cluster, sp->path, sr->value, saved, sizeof saved, &sr->cseq, why,
                               sizeof why) < 0) {
            app_log(APP_LOG_ERROR, "%s", why);
            return -1;
        }
        int k = value_index(sp, saved, strlen(saved));
        if (k < 0) {
            char v[4 * sizeof saved];
            app_log(APP_LOG_ERROR, "%s: Redis holds \"%s\", not one of %s", sp->path,
                    app_log_escs(v, sizeof v, saved), sr->accepted);
            return -1;
        }
        memcpy(sr->value, sp->values[k], sizeof sr->value);
        return 0;
    }
    int rc = store_load(st, sp->path, saved, sizeof saved, &len, why, sizeof why);
    if (rc < 0) {
        app_log(APP_LOG_ERROR, "%s: %s", sp->path, why);
        return -1;
    }
    if (rc == 0) return 0;
    int i = value_index(sp, saved, len);
    if (i < 0) {
        char file[4700], f[1024], v[4 * sizeof saved];
        store_file(st, sp->path, file, sizeof file);
        app_log(APP_LOG_ERROR,
                "%s: state file \"%s\" holds \"%s\", which is not one of its values (%s); "
                "correct the file, or remove it to start from %s",
                sp->path, app_log_escs(f, sizeof f, file), app_log_esc(v, sizeof v, saved, len),
                sr->accepted, sp->values[sp->initial]);
        return -1;
    }
    memcpy(sr->value, sp->values[i], sizeof sr->value);
    return 0;
}

int state_res_add(tern_server *srv, state_res *sr) {
    const state_spec *sp = &sr->spec;
    tern_resource_def def = {.path = sp->path,
                             .get = state_get,
                             .put = state_put,
                             .ctx = sr,
                             .observable = true,
                             /* State changes matter: by default every
                              * notification confirmable, so a lost one is
                              * resent and a gone observer is noticed
                              * (--notify non: NON, with a CON now and then,
                              * RFC 7641 section 4.5). */
                             .notify_con = !sr->notify_non,
                             .notify_shared = true,
                             .rt = sr->rt,
                             .ct = "0"};
    if (wk_active() && sr->slot == NULL) {
        /* The state the workers share: this value, or the one another
         * worker already serves (a reload adds it to each of them). */
        sr->slot = wk_attach(sr->spec.path, sr->value);
        if (sr->slot == NULL) return TERN_E_FULL;
        wk_lock();
        snprintf(sr->value, sizeof sr->value, "%s", sr->slot->value);
        sr->seen = sr->slot->version;
        wk_unlock();
    }
    int rc = tern_server_add_resource(srv, &def, &sr->res);
    if (rc < 0) {
        sr->res = NULL;
        app_log(APP_LOG_ERROR, "%s: cannot add resource: %s", sp->path,
                rc == TERN_E_STATE ? "declared twice" : tern_strerror(rc));
    } else {
        app_log(APP_LOG_DEBUG, "%s: %s (accepted: %s)", sp->path, sr->value, sr->accepted);
    }
    return rc;
}

void state_res_remove(tern_server *srv, state_res *sr, uint64_t now_ms) {
    if (sr->res == NULL) return;
    tern_server_remove_resource(srv, sr->res, now_ms);
    sr->res = NULL;
}

bool state_spec_same_values(const state_spec *a, const state_spec *b) {
    if (a->n_values != b->n_values || a->initial != b->initial) return false;
    for (unsigned i = 0; i < a->n_values; i++)
        if (strcmp(a->values[i], b->values[i]) != 0) return false;
    return true;
}

int state_res_update(state_res *sr, const state_spec *spec) {
    bool kept = value_index(spec, sr->value, strlen(sr->value)) >= 0;
    const char *next = kept ? sr->value : spec->values[spec->initial];
    if (!kept && store_save(sr->st, spec->path, next) < 0) {
        app_log(APP_LOG_ERROR,
                "%s: its state %s is no longer accepted, and %s cannot be stored: %s; "
                "keeping the old declaration", spec->path, sr->value, next, strerror(errno));
        return -1;
    }
    char old[sizeof sr->value];
    memcpy(old, sr->value, sizeof old);
    if (!kept) {
        snprintf(sr->value, sizeof sr->value, "%s", next);
        if (sr->slot) { /* every worker makes the same change: one version */
            wk_lock();
            if (strcmp(sr->slot->value, next) != 0) {
                snprintf(sr->slot->value, sizeof sr->slot->value, "%s", next);
                __atomic_store_n(&sr->slot->version, sr->slot->version + 1, __ATOMIC_RELEASE);
            }
            sr->seen = sr->slot->version;
            wk_unlock();
        }
    }
    sr->spec = *spec;
    set_accepted(sr);
    if (kept) {
        app_log(APP_LOG_INFO, "%s: accepted values now %s; state %s kept", spec->path, sr->accepted,
                sr->value);
    } else {
        app_log(APP_LOG_WARN,
                "%s: accepted values now %s; its state %s is not among them, so it is "
                "now %s (the initial value)", spec->path, sr->accepted, old, sr->value);
        if (sr->res) tern_resource_changed(sr->res);
    }
    return 0;
}
