/* SPDX-License-Identifier: BSD-2-Clause */
/* test_endpoint_fixture.h - one endpoint on a fake clock, with callbacks that
 * record what they saw, for the test_endpoint_*.c programs.
 *
 * The random source is tt_random_fixed with byte 0 unless a test says
 * otherwise: zero jitter (the first timeout is exactly ACK_TIMEOUT), first
 * MID of every peer 0x0000, tokens of zero bytes. Wire vectors are hex, laid
 * out field by field with '|'. */
#ifndef TEST_ENDPOINT_FIXTURE_H
#define TEST_ENDPOINT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tern/endpoint.h"
#include "tern_test.h"

enum { FX_ANSWER_NOW, FX_ANSWER_LATER };

struct fx;

/* ctx of a CON we send: which fixture and which message. */
typedef struct fx_tx {
    struct fx *f;
    int tag;
} fx_tx;

#define FX_MAX_EV 256

typedef struct fx {
    tern_endpoint *ep;
    tern_endpoint_config cfg;
    tern_endpoint_callbacks cb;
    uint8_t rnd;
    uint64_t seed;
    uint64_t now;
    tern_addr a, b;

    int answer; /* FX_ANSWER_* */
    int n_req;
    tern_endpoint_req_id ids[FX_MAX_EV];
    tern_addr req_peer;
    uint8_t req_type, req_code;
    uint16_t req_mid;

    int resp_rc;
    int n_resp;
    uint8_t resp_type, resp_code;
    uint16_t resp_mid;

    int n_done;
    int done_tag[FX_MAX_EV];
    tern_tx_status done_status[FX_MAX_EV];
    uint64_t done_at[FX_MAX_EV];

    int n_reset;
    uint16_t reset_mid;

    int n_unreach;
    tern_addr unreach_peer;
    uint64_t unreach_at;
    uint16_t unreach_mid;
    size_t unreach_token_len; /* SIZE_MAX: the error quoted no token */
    bool unreach_named;       /* what fx_on_unreachable answers */

    char log[FX_MAX_EV]; /* q request, r response, d done, x reset, u unreachable */
    size_t log_n;
    int n_trace_in, n_trace_out;

    void (*done_hook)(struct fx *f, fx_tx *t, tern_tx_status st, uint64_t now);
    void (*resp_hook)(struct fx *f, const tern_msg *m, uint64_t now);
    void *hook_data;
} fx;

static inline void fx_log(fx *f, char c) {
    if (f->log_n + 1 < sizeof f->log) {
        f->log[f->log_n++] = c;
        f->log[f->log_n] = 0;
    }
}

static inline void fx_on_request(void *user, tern_endpoint *ep, tern_endpoint_req_id id,
                                 const tern_addr *peer, const tern_msg *req, uint64_t now) {
    fx *f = user;
    fx_log(f, 'q');
    if (f->n_req < FX_MAX_EV) f->ids[f->n_req] = id;
    f->n_req++;
    f->req_peer = *peer;
    f->req_type = req->type;
    f->req_code = req->code;
    f->req_mid = req->mid;
    if (f->answer == FX_ANSWER_NOW) {
        tern_msgb b;
        tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_CONTENT, 0);
        tern_msgb_set_payload(&b, "ok", 2);
        assert_int_equal(tern_endpoint_respond(ep, id, &b, now), 0);
    }
}

static inline int fx_on_response(void *user, tern_endpoint *ep, const tern_addr *peer,
                                 const tern_msg *m, uint64_t now) {
    (void)ep;
    (void)peer;
    fx *f = user;
    fx_log(f, 'r');
    f->n_resp++;
    f->resp_type = m->type;
    f->resp_code = m->code;
    f->resp_mid = m->mid;
    if (f->resp_hook) f->resp_hook(f, m, now);
    return f->resp_rc;
}

static inline void fx_on_reset(void *user, tern_endpoint *ep, const tern_addr *peer,
                               uint16_t mid, uint64_t now) {
    (void)ep;
    (void)peer;
    (void)now;
    fx *f = user;
    fx_log(f, 'x');
    f->n_reset++;
    f->reset_mid = mid;
}

static inline bool fx_on_unreachable(void *user, tern_endpoint *ep, const tern_addr *peer,
                                     uint16_t mid, const uint8_t *token, size_t token_len,
                                     uint64_t now) {
    (void)ep;
    fx *f = user;
    fx_log(f, 'u');
    f->n_unreach++;
    f->unreach_peer = *peer;
    f->unreach_at = now;
    f->unreach_mid = mid;
    f->unreach_token_len = token ? token_len : SIZE_MAX;
    return f->unreach_named;
}

static inline void fx_on_trace(void *user, bool outgoing, const tern_addr *peer,
                               const tern_msg *m) {
    (void)peer;
    (void)m;
    fx *f = user;
    if (outgoing) f->n_trace_out++;
    else f->n_trace_in++;
}

static inline void fx_done(void *ctx, tern_endpoint *ep, tern_tx_status st, uint64_t now) {
    (void)ep;
    fx_tx *t = ctx;
    fx *f = t->f;
    fx_log(f, 'd');
    if (f->n_done < FX_MAX_EV) {
        f->done_tag[f->n_done] = t->tag;
        f->done_status[f->n_done] = st;
        f->done_at[f->n_done] = now;
    }
    f->n_done++;
    if (f->done_hook) f->done_hook(f, t, st, now);
}

/* Defaults; a test changes f->cfg / f->cb and then calls fx_start. */
static inline void fx_init(fx *f) {
    memset(f, 0, sizeof *f);
    tern_endpoint_config_default(&f->cfg);
    f->rnd = 0;
    f->cfg.random = tt_random_fixed;
    f->cfg.random_ctx = &f->rnd;
    f->cb.on_request = fx_on_request;
    f->cb.on_response = fx_on_response;
    f->cb.on_reset = fx_on_reset;
    f->cb.on_trace = fx_on_trace;
    f->cb.on_unreachable = fx_on_unreachable;
    f->a.len = 6;
    memcpy(f->a.bytes, "\x0a\x00\x00\x01\x16\x33", 6); /* 10.0.0.1:5683 */
    f->b.len = 6;
    memcpy(f->b.bytes, "\x0a\x00\x00\x02\x16\x33", 6); /* 10.0.0.2:5683 */
}

static inline void fx_start(fx *f) {
    assert_int_equal(tern_endpoint_new(&f->ep, &f->cfg, &f->cb, f), 0);
    assert_non_null(f->ep);
}

static inline void fx_end(fx *f) {
    tern_endpoint_free(f->ep);
    f->ep = NULL;
}

static inline int fx_recv(fx *f, const tern_addr *from, const char *hex) {
    uint8_t buf[2048];
    size_t n = tt_hex(hex, buf, sizeof buf);
    return tern_endpoint_recv(f->ep, from, buf, n, f->now);
}

/* An ICMP destination unreachable from the io layer for a datagram sent to
 * to, quoting hex (as much of it as the error carried). */
static inline int fx_icmp(fx *f, const tern_addr *to, const char *hex) {
    uint8_t buf[2048];
    size_t n = tt_hex(hex, buf, sizeof buf);
    return tern_endpoint_unreachable(f->ep, to, buf, n, f->now);
}

static inline void fx_tick(fx *f, uint64_t t) {
    f->now = t;
    tern_endpoint_tick(f->ep, t);
}

static inline int fx_pop(fx *f, uint8_t *buf, size_t cap, tern_addr *to) {
    int n = tern_endpoint_send(f->ep, buf, cap, to);
    assert_true(n >= 0);
    return n;
}

static inline void fx_hexstr(const uint8_t *b, size_t n, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++) o += (size_t)snprintf(out + o, cap - o, "%02x", b[i]);
    out[o] = 0;
}

/* The next datagram must be exactly hex, to peer `to` (if not NULL). */
static inline void fx_expect(fx *f, const tern_addr *to, const char *hex) {
    uint8_t want[2048], got[2048];
    size_t wn = tt_hex(hex, want, sizeof want);
    tern_addr peer;
    int n = fx_pop(f, got, sizeof got, &peer);
    if (n == 0) fail_msg("expected datagram %s, got nothing", hex);
    if ((size_t)n != wn || memcmp(want, got, wn) != 0) {
        char g[4200], w[4200];
        fx_hexstr(got, (size_t)n, g, sizeof g);
        fx_hexstr(want, wn, w, sizeof w);
        fail_msg("datagram mismatch\n  want %s\n  got  %s", w, g);
    }
    if (to) assert_true(tern_addr_equal(to, &peer));
}

static inline void fx_expect_none(fx *f) {
    uint8_t got[2048];
    tern_addr peer;
    int n = fx_pop(f, got, sizeof got, &peer);
    if (n != 0) {
        char g[4200];
        fx_hexstr(got, (size_t)n, g, sizeof g);
        fail_msg("expected no datagram, got %s", g);
    }
}

/* Pop the next datagram and parse it (buf keeps the bytes). */
static inline void fx_next(fx *f, uint8_t *buf, size_t cap, tern_msg *m, size_t *len) {
    int n = fx_pop(f, buf, cap, NULL);
    if (n == 0) fail_msg("expected a datagram, got nothing");
    assert_int_equal(tern_msg_parse(m, buf, (size_t)n), 0);
    if (len) *len = (size_t)n;
}

static inline void fx_drain(fx *f) {
    uint8_t buf[2048];
    while (fx_pop(f, buf, sizeof buf, NULL) > 0) {
    }
}

/* A GET /x with a one-byte token, sent as type through send_msg. */
static inline int fx_send(fx *f, const tern_addr *to, tern_type type, uint8_t token,
                          fx_tx *t, uint16_t *mid) {
    tern_msgb b;
    tern_msgb_init(&b, type, TERN_CODE_GET, 0);
    tern_msgb_set_token(&b, &token, 1);
    tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "x");
    int rc = tern_endpoint_send_msg(f->ep, to, &b, f->now, t ? fx_done : NULL, t);
    if (mid) *mid = b.mid;
    return rc;
}

static inline tern_endpoint_stats fx_stats(fx *f) {
    tern_endpoint_stats st;
    tern_endpoint_get_stats(f->ep, &st);
    return st;
}

#endif
