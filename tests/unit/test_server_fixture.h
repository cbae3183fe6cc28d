/* SPDX-License-Identifier: BSD-2-Clause */
/* test_server_fixture.h - a server on a real engine (tern/engine.h), driven
 * on a fake clock, for the test_server_*.c programs: the fixture is one
 * more driver of the engine.
 *
 * Requests are built with tern_msgb, encoded and fed to tern_engine_recv
 * as a peer would send them; what the engine wants to send is drained
 * into a queue and parsed, so tests assert on the messages as they would
 * appear on the wire. The random source is fixed (zero jitter), so
 * retransmission times are exact: 2, 6, 14, 30 s, give-up at 62 s. */
#ifndef TEST_SERVER_FIXTURE_H
#define TEST_SERVER_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tern/endpoint.h"
#include "tern/engine.h"
#include "tern/server.h"
#include "tern_test.h"

#define SFX_MAX_OUT 128
#define SFX_MSG_MAX 1500

typedef struct sfx_out {
    tern_addr peer;
    size_t len;
    uint8_t buf[SFX_MSG_MAX];
    tern_msg m;
} sfx_out;

typedef struct sfx {
    tern_engine *eng;
    tern_endpoint *ep;
    tern_server *srv;
    tern_endpoint_config ecfg;
    tern_server_config scfg;
    uint8_t rnd;
    uint64_t now;
    tern_addr a, b, c;
    sfx_out out[SFX_MAX_OUT];
    int n_out, next_out;
    /* The amplification limit (RFC 7252 11.3) as configured; off unless a
     * test sets this before sfx_start: most tests are about other things,
     * and their fake peers never prove their addresses. */
    bool amplification;
} sfx;

static inline tern_addr sfx_addr(uint8_t last) {
    tern_addr a;
    memset(&a, 0, sizeof a);
    a.len = 6;
    a.bytes[0] = 127, a.bytes[3] = last, a.bytes[4] = 0x9c, a.bytes[5] = last;
    return a;
}

/* Create the engine and its server from f->ecfg and f->scfg. */
static inline void sfx_start(sfx *f) {
    tern_engine_config cfg;
    tern_engine_config_default(&cfg);
    cfg.endpoint = &f->ecfg;
    tern_server_config scfg = f->scfg;
    if (!f->amplification) scfg.amplification_limit = TERN_AMPLIFICATION_UNLIMITED;
    cfg.server = &scfg;
    assert_int_equal(tern_engine_new(&f->eng, &cfg), 0);
    f->ep = tern_engine_endpoint(f->eng);
    f->srv = tern_engine_server(f->eng, NULL);
    assert_non_null(f->srv);
}

/* Create engine and server; scfg may be NULL for the defaults. */
static inline void sfx_init(sfx *f, const tern_server_config *scfg) {
    memset(f, 0, sizeof *f);
    tern_endpoint_config_default(&f->ecfg);
    f->ecfg.random = tt_random_fixed;
    f->ecfg.random_ctx = &f->rnd;
    if (scfg) f->scfg = *scfg;
    else tern_server_config_default(&f->scfg);
    sfx_start(f);
    f->now = 1000;
    f->a = sfx_addr(1);
    f->b = sfx_addr(2);
    f->c = sfx_addr(3);
}

static inline void sfx_free(sfx *f) { tern_engine_free(f->eng); }

/* Move whatever the engine wants to send into the queue. */
static inline void sfx_drain(sfx *f) {
    tern_datagram dg[SFX_MAX_OUT];
    size_t n = tern_engine_outgoing(f->eng, dg, SFX_MAX_OUT);
    for (size_t i = 0; i < n; i++) {
        assert_true(f->n_out < SFX_MAX_OUT);
        sfx_out *o = &f->out[f->n_out];
        assert_true(dg[i].len <= sizeof o->buf);
        memcpy(o->buf, dg[i].data, dg[i].len);
        o->len = dg[i].len;
        o->peer = *dg[i].peer;
        assert_int_equal(tern_msg_parse(&o->m, o->buf, o->len), 0);
        f->n_out++;
    }
    tern_engine_sent(f->eng, n);
}

/* The next message sent, or fail. */
static inline const tern_msg *sfx_next(sfx *f, tern_addr *peer) {
    sfx_drain(f);
    if (f->next_out >= f->n_out) fail_msg("expected a message, none was sent");
    sfx_out *o = &f->out[f->next_out++];
    if (peer) *peer = o->peer;
    return &o->m;
}

/* Forget every message sent so far (long runs: the queue is bounded). */
static inline void sfx_discard(sfx *f) {
    sfx_drain(f);
    f->n_out = f->next_out = 0;
}

/* Nothing listens at peer any more: every datagram sent there so far
 * draws its ICMP error (quoting all of it, as Linux does for datagrams this
 * small), as the kernel would report them to the io layer. */
static inline void sfx_unreachable(sfx *f, const tern_addr *peer) {
    sfx_drain(f);
    for (int k = 0; k < f->n_out; k++)
        if (tern_addr_equal(&f->out[k].peer, peer))
            (void)tern_engine_unreachable(f->eng, peer, f->out[k].buf, f->out[k].len, f->now);
}

/* Number of messages sent and not yet looked at. */
static inline int sfx_pending(sfx *f) {
    sfx_drain(f);
    return f->n_out - f->next_out;
}

static inline void sfx_expect_none(sfx *f) {
    int n = sfx_pending(f);
    if (n != 0) {
        char line[256];
        tern_msg_format(&f->out[f->next_out].m, line, sizeof line);
        fail_msg("expected no message, got %d, first: %s", n, line);
    }
}

/* Start a request to path ("/a/b"; NULL or "/" for none). */
static inline void sfx_req(tern_msgb *b, uint8_t type, uint8_t code, uint16_t mid,
                           const char *token, const char *path) {
    tern_msgb_init(b, (tern_type)type, code, mid);
    if (token) tern_msgb_set_token(b, (const uint8_t *)token, strlen(token));
    if (path && path[0] == '/' && path[1]) {
        const char *p = path + 1;
        for (;;) {
            const char *e = strchr(p, '/');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            assert_int_equal(tern_msgb_add_opt(b, TERN_OPT_URI_PATH, p, n), 0);
            if (!e) break;
            p = e + 1;
        }
    }
}

static inline void sfx_deliver(sfx *f, const tern_addr *peer, const tern_msgb *b) {
    uint8_t buf[SFX_MSG_MAX];
    int n = tern_msgb_encode(b, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(tern_engine_recv(f->eng, peer, buf, (size_t)n, f->now), 0);
}

static inline void sfx_deliver_hex(sfx *f, const tern_addr *peer, const char *hex) {
    uint8_t buf[SFX_MSG_MAX];
    size_t n = tt_hex(hex, buf, sizeof buf);
    tern_engine_recv(f->eng, peer, buf, n, f->now);
}

/* Empty ACK or RST for a message we got. */
static inline void sfx_ack(sfx *f, const tern_addr *peer, const tern_msg *m, uint8_t type) {
    tern_msgb b;
    tern_msgb_init(&b, (tern_type)type, TERN_CODE_EMPTY, m->mid);
    sfx_deliver(f, peer, &b);
}

/* A one-shot request: deliver and return the answer. */
static inline const tern_msg *sfx_ask(sfx *f, const tern_addr *peer, const tern_msgb *b) {
    sfx_deliver(f, peer, b);
    return sfx_next(f, NULL);
}

/* Let time pass to `to`, running every timer on the way exactly when due. */
static inline void sfx_advance_to(sfx *f, uint64_t to) {
    for (int guard = 0;; guard++) {
        if (guard > 100000) fail_msg("timers do not settle at %llu", (unsigned long long)f->now);
        uint64_t d = tern_engine_next_deadline(f->eng);
        if (d > to) break;
        if (d > f->now) f->now = d;
        tern_engine_tick(f->eng, f->now);
        sfx_drain(f);
    }
    f->now = to;
}

static inline void sfx_advance(sfx *f, uint64_t ms) { sfx_advance_to(f, f->now + ms); }

/* ---- assertions on a parsed message --------------------------------------- */

static inline bool sfx_has_opt(const tern_msg *m, uint16_t num) {
    tern_opt o;
    return tern_msg_find_opt(m, num, &o) == 0;
}

static inline uint32_t sfx_uint(const tern_msg *m, uint16_t num) {
    uint32_t v;
    if (tern_msg_get_uint(m, num, &v) != 0) fail_msg("option %u missing", (unsigned)num);
    return v;
}

static inline void sfx_assert_payload(const tern_msg *m, const char *s) {
    size_t n = strlen(s);
    if (m->payload_len != n || (n && memcmp(m->payload, s, n) != 0))
        fail_msg("payload \"%.*s\", expected \"%s\"", (int)m->payload_len,
                 m->payload ? (const char *)m->payload : "", s);
}

static inline void sfx_assert_token(const tern_msg *m, const char *tok) {
    assert_int_equal(m->token_len, strlen(tok));
    assert_memory_equal(m->token, tok, m->token_len);
}

static inline bool sfx_payload_contains(const tern_msg *m, const char *s) {
    size_t n = strlen(s);
    if (m->payload_len < n) return false;
    for (size_t i = 0; i + n <= m->payload_len; i++)
        if (memcmp(m->payload + i, s, n) == 0) return true;
    return false;
}

/* ---- an alarm-like resource: GET the state, PUT ON or OFF ------------------ */

typedef struct sfx_state {
    char value[8];
    int gets, puts;
    uint8_t get_code; /* 0: 2.05; else what GET answers (e.g. 4.04) */
    bool shared;      /* tern_resource_def.notify_shared */
} sfx_state;

static inline uint8_t sfx_state_get(tern_server_request *req, tern_server_response *resp) {
    sfx_state *st = tern_server_request_ctx(req);
    st->gets++;
    if (st->get_code) {
        tern_server_response_diag(resp, "gone");
        return st->get_code;
    }
    tern_server_response_text(resp, st->value);
    return TERN_CODE_CONTENT;
}

static inline uint8_t sfx_state_put(tern_server_request *req, tern_server_response *resp) {
    sfx_state *st = tern_server_request_ctx(req);
    size_t n;
    const uint8_t *p = tern_server_request_payload(req, &n);
    st->puts++;
    if (!((n == 2 && memcmp(p, "ON", 2) == 0) || (n == 3 && memcmp(p, "OFF", 3) == 0))) {
        tern_server_response_diag(resp, "payload must be ON or OFF");
        return TERN_CODE_BAD_REQUEST;
    }
    memcpy(st->value, p, n);
    st->value[n] = 0;
    tern_resource_changed(tern_server_request_resource(req));
    tern_server_response_text(resp, st->value);
    return TERN_CODE_CHANGED;
}

static inline tern_resource *sfx_add_state(sfx *f, const char *path, sfx_state *st,
                                           bool notify_con) {
    tern_resource_def def = {.path = path,
                             .get = sfx_state_get,
                             .put = sfx_state_put,
                             .ctx = st,
                             .observable = true,
                             .notify_con = notify_con,
                             .notify_shared = st->shared,
                             .rt = "alarm",
                             .ct = "0"};
    tern_resource *r = NULL;
    assert_int_equal(tern_server_add_resource(f->srv, &def, &r), 0);
    assert_non_null(r);
    return r;
}

#endif
