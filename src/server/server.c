/* SPDX-License-Identifier: BSD-2-Clause */
/* server.c - the server object: configuration, the one allocation, timers
 * and counters. The mechanisms live in their own files (see server_int.h);
 * this file only wires them together.
 *
 * Timers (RFC 7641 section 4.5 liveness, retries, deferred answers that ran
 * out) are kept so that tern_server_next_deadline() is cheap and exact: the
 * loop sleeps until something is really due, nothing polls. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "server/server_int.h"

void tern_server_config_default(tern_server_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->size = (uint32_t)sizeof *cfg;
    cfg->max_resources = 32;
    cfg->max_observers = 256;
    cfg->max_observers_per_resource = 64;
    cfg->max_deferred = 16;
    cfg->deferred_timeout_ms = 60000;
    cfg->max_message = 1152; /* RFC 7252 section 4.6 */
    cfg->notify_con_every = 20;
    cfg->notify_con_interval_ms = 600000; /* RFC 7641 section 4.5 */
    cfg->notify_max_age_s = 0;            /* derived: see tern/server.h */
    cfg->notify_retry_ms = 250;
    cfg->max_uploads = 4;
    cfg->max_upload_bytes = 16384;
    cfg->upload_timeout_ms = 60000;
    cfg->max_observers_per_peer = 16;
    cfg->max_observers_per_address = 64;
    cfg->amplification_limit = 3;
}

/* tern/config.h: the caller's struct over the defaults, then 0 takes the
 * default (no field here has a meaningful 0). */
static int fill_defaults(tern_server_config *c, const tern_server_config *in) {
    tern_server_config d;
    tern_server_config_default(&d);
    *c = d;
    int rc = tern_base_config_load(c, sizeof *c, in,
                                   offsetof(tern_server_config, notify_retry_ms) +
                                       sizeof c->notify_retry_ms);
    if (rc < 0) return rc;
#define DEF(f) \
    if (c->f == 0) c->f = d.f
    DEF(max_resources);
    DEF(max_observers);
    DEF(max_observers_per_resource);
    DEF(max_deferred);
    DEF(deferred_timeout_ms);
    DEF(max_message);
    DEF(notify_con_every);
    DEF(notify_con_interval_ms);
    DEF(notify_retry_ms);
    DEF(max_uploads);
    DEF(max_upload_bytes);
    DEF(upload_timeout_ms);
    DEF(max_observers_per_peer);
    DEF(max_observers_per_address);
    DEF(amplification_limit);
#undef DEF
    if (c->notify_max_age_s == 0) {
        uint64_t s = c->notify_con_interval_ms / 1000 + 60;
        c->notify_max_age_s = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
    }
    return 0;
}

int tern_server_new(tern_server **out, tern_endpoint *ep, const tern_server_config *cfg) {
    if (out == NULL) return TERN_E_INVAL;
    *out = NULL;
    if (ep == NULL) return TERN_E_INVAL;
    tern_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL) return TERN_E_NOMEM;
    srv->ep = ep;
    const tern_server_config *c = &srv->cfg;
    if (fill_defaults(&srv->cfg, cfg) < 0 || c->max_resources > SRV_MAX_TABLE ||
        c->max_observers > SRV_MAX_TABLE || c->max_deferred > SRV_MAX_TABLE ||
        c->max_message < 64 || c->max_message > 65535 || c->max_uploads > 4096 ||
        c->max_upload_bytes > (1u << 28)) {
        free(srv);
        return TERN_E_INVAL;
    }
    srv->respond_slot = SRV_NIL;
    if (tern_srv_resources_init(srv) < 0 || tern_srv_observe_init(srv) < 0 ||
        tern_srv_deferred_init(srv) < 0 || tern_srv_block1_init(srv) < 0 ||
        tern_srv_response_init(&srv->resp_req, srv, c->max_message) < 0 ||
        tern_srv_response_init(&srv->resp_def, srv, c->max_message) < 0 ||
        tern_srv_response_init(&srv->resp_notify, srv, c->max_message) < 0 ||
        (srv->notify_req_buf = malloc(c->max_message)) == NULL ||
        (srv->tmpl_buf = malloc(c->max_message)) == NULL ||
        (srv->scratch = malloc(TERN_SRV_SCRATCH)) == NULL) {
        tern_server_free(srv);
        return TERN_E_NOMEM;
    }
    /* RFC 6690 section 4: every server offers its links at this path. */
    static const tern_resource_def wkc = {
        .path = "/.well-known/core", .get = tern_srv_wkc_get, .hidden = true, .ct = "40"};
    if (tern_server_add_resource(srv, &wkc, NULL) < 0) {
        tern_server_free(srv);
        return TERN_E_NOMEM;
    }
    *out = srv;
    return 0;
}

void tern_server_free(tern_server *srv) {
    if (srv == NULL) return;
    /* Cancel our CONs first: the endpoint must not call back into freed
     * memory. */
    tern_srv_observe_free(srv);
    tern_srv_response_free(&srv->resp_req);
    tern_srv_response_free(&srv->resp_def);
    tern_srv_response_free(&srv->resp_notify);
    free(srv->notify_req_buf);
    free(srv->tmpl_buf);
    free(srv->scratch);
    tern_srv_block1_free(srv);
    free(srv->wkc_buf);
    free(srv->def);
    free(srv->res);
    free(srv->res_slots);
    free(srv);
}

void tern_server_handle_reset(tern_server *srv, const tern_addr *peer, uint16_t mid,
                              uint64_t now_ms) {
    tern_srv_observe_reset(srv, peer, mid);
    tern_srv_observe_flush(srv, now_ms);
}

bool tern_server_handle_unreachable(tern_server *srv, const tern_addr *peer, uint16_t mid,
                                    const uint8_t *token, size_t token_len, uint64_t now_ms) {
    if (srv == NULL || peer == NULL) return false;
    bool named = tern_srv_observe_unreachable(srv, peer, mid, token, token_len);
    tern_srv_observe_flush(srv, now_ms);
    return named;
}

void tern_server_tick(tern_server *srv, uint64_t now_ms) {
    tern_srv_deferred_tick(srv, now_ms);
    tern_srv_observe_tick(srv, now_ms);
    tern_srv_observe_flush(srv, now_ms);
}

uint64_t tern_server_next_deadline(const tern_server *srv) {
    if (srv->any_dirty) return 0;
    uint64_t a = tern_srv_observe_deadline(srv);
    uint64_t b = tern_srv_deferred_deadline(srv);
    return a < b ? a : b;
}

void tern_server_get_stats(const tern_server *srv, tern_server_stats *st) {
    *st = srv->st;
    st->observers = srv->n_obs;
}
