/* SPDX-License-Identifier: BSD-2-Clause */
/* test_client_fixture.h - a client on a real engine (tern/engine.h) for the
 * client tests: the fixture is one more driver of the engine, with a fake
 * clock, a seeded random source, a fake server address whose datagrams we
 * write by hand, and a log of every callback.
 * Included by tests/unit/test_client_*.c only (static helpers). */
#ifndef TEST_CLIENT_FIXTURE_H
#define TEST_CLIENT_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "tern/client.h"
#include "tern/endpoint.h"
#include "tern/engine.h"
#include "tern/msg.h"
#include "tern/uri.h"
#include "tern_test.h"

#define FX_MAX_EVENTS 64
#define FX_MAX_OUT 64

typedef struct fx_event {
    tern_client_op_id id;
    int err;
    bool has_resp;
    bool observing;
    uint8_t code;
    bool has_observe;
    uint32_t observe;
    char payload[64];
    uint64_t at;
} fx_event;

typedef struct fx fx;
/* Something a test wants done from inside the callback. */
typedef void (*fx_action)(fx *f, tern_client_op_id id, const tern_client_event *ev);

struct fx {
    tern_engine *eng;
    tern_endpoint *ep;
    tern_client *cli;
    uint64_t seed;
    uint64_t now;
    tern_addr server, other;
    size_t n_events;
    fx_event ev[FX_MAX_EVENTS];
    size_t n_out;
    uint8_t out[FX_MAX_OUT][1280];
    size_t out_len[FX_MAX_OUT];
    tern_addr out_peer[FX_MAX_OUT];
    fx_action action;
};

static inline void fx_addr(tern_addr *a, uint8_t last) {
    memset(a, 0, sizeof *a);
    a->len = 16;
    a->bytes[0] = 10; /* any bytes will do: the endpoint treats them as opaque */
    a->bytes[15] = last;
}

static inline void fx_init_cfg(fx *f, const tern_client_config *ccfg) {
    memset(f, 0, sizeof *f);
    f->seed = 0x1234567887654321ull;
    f->now = 1000000;
    fx_addr(&f->server, 1);
    fx_addr(&f->other, 2);
    tern_endpoint_config cfg;
    tern_endpoint_config_default(&cfg);
    cfg.random = tt_random;
    cfg.random_ctx = &f->seed;
    tern_engine_config ecfg;
    tern_engine_config_default(&ecfg);
    ecfg.endpoint = &cfg;
    ecfg.client = ccfg;
    assert_int_equal(tern_engine_new(&f->eng, &ecfg), 0);
    f->ep = tern_engine_endpoint(f->eng);
    f->cli = tern_engine_client(f->eng, NULL);
    assert_non_null(f->cli);
}

static inline void fx_init(fx *f) { fx_init_cfg(f, NULL); }

static inline void fx_done(fx *f) { tern_engine_free(f->eng); }

static inline void fx_cb(void *ctx, tern_client *cli, tern_client_op_id id, const tern_client_event *ev,
                  uint64_t now_ms) {
    (void)cli;
    fx *f = ctx;
    assert_true(f->n_events < FX_MAX_EVENTS);
    fx_event *e = &f->ev[f->n_events++];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->err = ev->err;
    e->observing = ev->observing;
    e->has_observe = ev->has_observe;
    e->observe = ev->observe;
    e->at = now_ms;
    if (ev->resp) {
        e->has_resp = true;
        e->code = ev->resp->code;
        size_t n = ev->resp->payload_len < sizeof e->payload - 1 ? ev->resp->payload_len
                                                                 : sizeof e->payload - 1;
        if (n) memcpy(e->payload, ev->resp->payload, n);
    }
    if (f->action) f->action(f, id, ev);
}

/* Collect what the engine wants to send; returns how many new datagrams. */
static inline size_t fx_drain(fx *f) {
    tern_datagram dg[FX_MAX_OUT];
    size_t n = tern_engine_outgoing(f->eng, dg, FX_MAX_OUT);
    for (size_t i = 0; i < n; i++) {
        assert_true(f->n_out < FX_MAX_OUT);
        assert_true(dg[i].len <= sizeof f->out[0]);
        memcpy(f->out[f->n_out], dg[i].data, dg[i].len);
        f->out_len[f->n_out] = dg[i].len;
        f->out_peer[f->n_out++] = *dg[i].peer;
    }
    tern_engine_sent(f->eng, n);
    return n;
}

/* What the driver does after input: run the timers that are due (work a
 * callback asked for waits for this), then collect the output. */
static inline void fx_settle(fx *f) {
    fx_drain(f);
    if (tern_engine_next_deadline(f->eng) <= f->now) tern_engine_tick(f->eng, f->now);
    fx_drain(f);
}

/* The io layer got an ICMP destination unreachable for the i-th datagram
 * sent (negative: from the end), quoting quote_len bytes of it (SIZE_MAX:
 * all, as Linux quotes a datagram this small). */
static inline int fx_icmp(fx *f, long i, size_t quote_len) {
    size_t k = i < 0 ? f->n_out - (size_t)(-i) : (size_t)i;
    assert_true(k < f->n_out);
    size_t n = quote_len < f->out_len[k] ? quote_len : f->out_len[k];
    int rc = tern_engine_unreachable(f->eng, &f->out_peer[k], f->out[k], n, f->now);
    fx_settle(f);
    return rc;
}

/* Nothing listens at peer any more: every datagram sent there so far draws
 * its ICMP error, as the kernel would report them. */
static inline void fx_unreachable(fx *f, const tern_addr *peer) {
    size_t n = f->n_out;
    for (size_t k = 0; k < n; k++)
        if (tern_addr_equal(&f->out_peer[k], peer)) (void)fx_icmp(f, (long)k, SIZE_MAX);
}

/* How many datagrams went to peer. */
static inline size_t fx_sent_to(const fx *f, const tern_addr *peer) {
    size_t n = 0;
    for (size_t i = 0; i < f->n_out; i++)
        if (tern_addr_equal(&f->out_peer[i], peer)) n++;
    return n;
}

/* The i-th datagram sent (negative: from the end). */
static inline tern_msg fx_sent(fx *f, long i) {
    size_t k = i < 0 ? f->n_out - (size_t)(-i) : (size_t)i;
    assert_true(k < f->n_out);
    tern_msg m;
    assert_int_equal(tern_msg_parse(&m, f->out[k], f->out_len[k]), 0);
    return m;
}

/* Run the engine's timers up to time t, each when due, as the io loop
 * would. */
static inline void fx_run_until(fx *f, uint64_t t) {
    for (int guard = 0; guard < 10000; guard++) {
        uint64_t d = tern_engine_next_deadline(f->eng);
        if (d > t) break;
        if (d > f->now) f->now = d;
        tern_engine_tick(f->eng, f->now);
        fx_drain(f);
    }
    if (t > f->now) f->now = t;
    tern_engine_tick(f->eng, f->now);
    fx_drain(f);
}

static inline void fx_advance(fx *f, uint64_t ms) { fx_run_until(f, f->now + ms); }

/* A datagram from a peer, built field by field. observe / max_age < 0: absent. */
static inline int fx_recv(fx *f, const tern_addr *from, tern_type type, uint8_t code, uint16_t mid,
                   const uint8_t *tok, size_t tl, long observe, long max_age,
                   const char *payload) {
    tern_msgb b;
    uint8_t buf[512];
    tern_msgb_init(&b, type, code, mid);
    if (tl) assert_int_equal(tern_msgb_set_token(&b, tok, tl), 0);
    if (observe >= 0) assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, (uint32_t)observe), 0);
    if (max_age >= 0) assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_MAX_AGE, (uint32_t)max_age), 0);
    if (payload) tern_msgb_set_payload(&b, payload, strlen(payload));
    int len = tern_msgb_encode(&b, buf, sizeof buf);
    assert_true(len > 0);
    int rc = tern_engine_recv(f->eng, from, buf, (size_t)len, f->now);
    fx_settle(f);
    return rc;
}

/* A datagram from a peer, encoded from b (any options): tern_engine_recv's
 * result, after the engine has settled. */
static inline int fx_recv_msgb(fx *f, const tern_addr *from, const tern_msgb *b) {
    uint8_t buf[1500];
    int len = tern_msgb_encode(b, buf, sizeof buf);
    assert_true(len > 0);
    int rc = tern_engine_recv(f->eng, from, buf, (size_t)len, f->now);
    fx_settle(f);
    return rc;
}

/* A GET (or other method) for path to the fake server. */
static inline void fx_req(tern_msgb *b, tern_type type, uint8_t code, const char *path) {
    tern_msgb_init(b, type, code, 0);
    assert_int_equal(tern_msgb_add_str(b, TERN_OPT_URI_PATH, path), 0);
}

/* Option value as a string ("" when absent). */
static inline const char *fx_opt_str(const tern_msg *m, uint16_t num, char *out, size_t cap) {
    tern_opt o;
    out[0] = '\0';
    if (tern_msg_find_opt(m, num, &o) == 0) snprintf(out, cap, "%.*s", (int)o.len, (const char *)o.val);
    return out;
}

#endif
