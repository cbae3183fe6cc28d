/* SPDX-License-Identifier: BSD-2-Clause */
/* engine.c - the sans-I/O node that every driver runs (see tern/engine.h):
 * an endpoint, and on demand a server and a client on it.
 *
 * This file is the only place that knows how the layers fit together: which
 * layer hears of a request, a response, a RST or an unreachable peer, what
 * a request gets when no server is attached, and when the whole node next
 * needs to run. Drivers (src/io, the unit-test fixtures, the fuzz targets)
 * only move datagrams and time in and out. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "tern/engine.h"

struct tern_engine {
    tern_endpoint *ep;
    tern_server *server;
    tern_client *client;
    tern_server_config server_cfg;
    tern_client_config client_cfg;
    tern_trace_fn trace;
    void *trace_ctx;
    tern_timer *timers; /* armed, soonest first */
    uint64_t timer_seq; /* counts arming, to tell new timers from due ones */
};

void tern_engine_config_default(tern_engine_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->size = (uint32_t)sizeof *cfg;
}

/* ---- the endpoint's callbacks, routed ------------------------------------ */

static void eng_on_request(void *user, tern_endpoint *ep, tern_endpoint_req_id id,
                           const tern_addr *peer, const tern_msg *req, uint64_t now_ms) {
    tern_engine *eng = user;
    if (eng->server) {
        tern_server_handle_request(eng->server, id, peer, req, now_ms);
        return;
    }
    /* No server: the node serves nothing (tern/engine.h). */
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_ACK, TERN_CODE_NOT_IMPLEMENTED, 0);
    (void)tern_endpoint_respond(ep, id, &b, now_ms);
}

static int eng_on_response(void *user, tern_endpoint *ep, const tern_addr *peer,
                           const tern_msg *resp, uint64_t now_ms) {
    (void)ep;
    tern_engine *eng = user;
    /* No client: nobody asked, so the endpoint rejects it (RST for a CON,
     * RFC 7252 section 5.3.2). */
    if (!eng->client) return TERN_E_REJECT;
    return tern_client_handle_response(eng->client, peer, resp, now_ms);
}

static void eng_on_reset(void *user, tern_endpoint *ep, const tern_addr *peer, uint16_t mid,
                         uint64_t now_ms) {
    (void)ep;
    tern_engine *eng = user;
    /* A RST matching no CON answers a NON: a notification (the server's,
     * RFC 7641 section 3.6) or a NON request (the client's). */
    if (eng->server) tern_server_handle_reset(eng->server, peer, mid, now_ms);
    if (eng->client) tern_client_handle_reset(eng->client, peer, mid, now_ms);
}

static bool eng_on_unreachable(void *user, tern_endpoint *ep, const tern_addr *peer, uint16_t mid,
                               const uint8_t *token, size_t token_len, uint64_t now_ms) {
    (void)ep;
    tern_engine *eng = user;
    /* A NON of ours drew an ICMP error: a notification (the server's) or a
     * request (the client's). */
    bool named = false;
    if (eng->server)
        named |= tern_server_handle_unreachable(eng->server, peer, mid, token, token_len, now_ms);
    if (eng->client)
        named |= tern_client_handle_unreachable(eng->client, peer, mid, token, token_len, now_ms);
    return named;
}

static void eng_on_trace(void *user, bool outgoing, const tern_addr *peer, const tern_msg *msg) {
    tern_engine *eng = user;
    eng->trace(eng->trace_ctx, outgoing, peer, msg);
}

/* ---- lifecycle ------------------------------------------------------------ */

int tern_engine_new(tern_engine **out, const tern_engine_config *in) {
    if (out == NULL) return TERN_E_INVAL;
    *out = NULL;
    tern_engine_config c;
    tern_engine_config_default(&c);
    int rc = tern_base_config_load(&c, sizeof c, in,
                                   offsetof(tern_engine_config, trace_ctx) + sizeof c.trace_ctx);
    if (rc < 0) return rc;
    tern_engine *eng = calloc(1, sizeof *eng);
    if (eng == NULL) return TERN_E_NOMEM;
    /* The layers' settings are read now (their size rule included), so that
     * a bad one fails here and not at first use. */
    tern_server_config_default(&eng->server_cfg);
    tern_client_config_default(&eng->client_cfg);
    if ((c.server && tern_base_config_load(&eng->server_cfg, sizeof eng->server_cfg, c.server,
                                           sizeof(uint32_t)) < 0) ||
        (c.client && tern_base_config_load(&eng->client_cfg, sizeof eng->client_cfg, c.client,
                                           sizeof(uint32_t)) < 0)) {
        free(eng);
        return TERN_E_INVAL;
    }
    eng->trace = c.trace;
    eng->trace_ctx = c.trace_ctx;
    tern_endpoint_callbacks cb = {
        .on_request = eng_on_request,
        .on_response = eng_on_response,
        .on_reset = eng_on_reset,
        .on_trace = c.trace ? eng_on_trace : NULL,
        .on_unreachable = eng_on_unreachable,
    };
    rc = tern_endpoint_new(&eng->ep, c.endpoint, &cb, eng);
    if (rc < 0) {
        free(eng);
        return rc;
    }
    *out = eng;
    return 0;
}

void tern_engine_free(tern_engine *eng) {
    if (eng == NULL) return;
    /* Server and client cancel their CONs with the endpoint still there. */
    tern_server_free(eng->server);
    tern_client_free(eng->client);
    tern_endpoint_free(eng->ep);
    free(eng);
}

tern_endpoint *tern_engine_endpoint(tern_engine *eng) { return eng->ep; }

tern_server *tern_engine_server(tern_engine *eng, int *err) {
    int rc = 0;
    if (!eng->server) rc = tern_server_new(&eng->server, eng->ep, &eng->server_cfg);
    if (err) *err = rc;
    return eng->server;
}

tern_client *tern_engine_client(tern_engine *eng, int *err) {
    int rc = 0;
    if (!eng->client) rc = tern_client_new(&eng->client, eng->ep, &eng->client_cfg);
    if (err) *err = rc;
    return eng->client;
}

/* ---- datagrams and time ----------------------------------------------------- */

int tern_engine_recv(tern_engine *eng, const tern_addr *peer, const uint8_t *data, size_t len,
                     uint64_t now_ms) {
    return tern_endpoint_recv(eng->ep, peer, data, len, now_ms);
}

int tern_engine_recv_flags(tern_engine *eng, const tern_addr *peer, const uint8_t *data,
                           size_t len, uint64_t now_ms, unsigned flags) {
    return tern_endpoint_recv_flags(eng->ep, peer, data, len, now_ms, flags);
}

void tern_engine_set_trace(tern_engine *eng, tern_trace_fn fn, void *ctx) {
    if (!eng) return;
    eng->trace = fn;
    eng->trace_ctx = ctx;
    tern_endpoint_set_on_trace(eng->ep, fn ? eng_on_trace : NULL);
}

int tern_engine_unreachable(tern_engine *eng, const tern_addr *peer, const uint8_t *quote,
                            size_t quote_len, uint64_t now_ms) {
    return tern_endpoint_unreachable(eng->ep, peer, quote, quote_len, now_ms);
}

/* ---- the application's timers ------------------------------------------------ */

void tern_engine_timer_stop(tern_engine *eng, tern_timer *t) {
    if (!t->armed) return;
    tern_timer **p = &eng->timers;
    while (*p != t) p = &(*p)->next;
    *p = t->next;
    t->armed = false;
}

void tern_engine_timer_start(tern_engine *eng, tern_timer *t, uint64_t at_ms, tern_timer_fn fn,
                             void *ctx) {
    tern_engine_timer_stop(eng, t);
    t->at = at_ms;
    t->fn = fn;
    t->ctx = ctx;
    t->seq = ++eng->timer_seq;
    /* A handful of timers: a sorted list is the simplest exact order. */
    tern_timer **p = &eng->timers;
    while (*p && (*p)->at <= at_ms) p = &(*p)->next;
    t->next = *p;
    *p = t;
    t->armed = true;
}

static void run_timers(tern_engine *eng, uint64_t now_ms) {
    /* Every timer due now that was armed before this tick, one at a time
     * (a callback may stop or arm others); one armed from a callback, even
     * for now, waits for the next tick instead of looping here. */
    uint64_t armed_before = eng->timer_seq;
    for (;;) {
        tern_timer *t = eng->timers;
        while (t && t->at <= now_ms && t->seq > armed_before) t = t->next;
        if (t == NULL || t->at > now_ms) return;
        tern_engine_timer_stop(eng, t);
        t->fn(t->ctx, eng, now_ms);
    }
}

void tern_engine_tick(tern_engine *eng, uint64_t now_ms) {
    run_timers(eng, now_ms);
    tern_endpoint_tick(eng->ep, now_ms);
    if (eng->server) tern_server_tick(eng->server, now_ms);
    if (eng->client) tern_client_tick(eng->client, now_ms);
}

uint64_t tern_engine_next_deadline(const tern_engine *eng) {
    uint64_t d = tern_endpoint_next_deadline(eng->ep);
    if (eng->timers && eng->timers->at < d) d = eng->timers->at;
    if (eng->server) {
        uint64_t s = tern_server_next_deadline(eng->server);
        if (s < d) d = s;
    }
    if (eng->client) {
        uint64_t c = tern_client_next_deadline(eng->client);
        if (c < d) d = c;
    }
    return d;
}

size_t tern_engine_outgoing(tern_engine *eng, tern_datagram *out, size_t max) {
    return tern_endpoint_outgoing(eng->ep, out, max);
}

void tern_engine_sent(tern_engine *eng, size_t n) { tern_endpoint_sent(eng->ep, n); }
