/* SPDX-License-Identifier: BSD-2-Clause */
/* test_engine.c - the sans-I/O engine (tern/engine.h): the one policy for
 * requests no server handles, the routing of the endpoint's events, one
 * merged deadline, and the outbox a driver sends from in place. */
#include <stdio.h>
#include <string.h>

#include "tern/engine.h"
#include "tern_test.h"

typedef struct efx {
    tern_engine *eng;
    uint8_t rnd;
    uint64_t now;
    tern_addr peer;
} efx;

static void efx_init(efx *f, const tern_client_config *cc) {
    memset(f, 0, sizeof *f);
    tern_endpoint_config ec;
    tern_endpoint_config_default(&ec);
    ec.random = tt_random_fixed;
    ec.random_ctx = &f->rnd;
    tern_engine_config cfg;
    tern_engine_config_default(&cfg);
    cfg.endpoint = &ec;
    cfg.client = cc;
    assert_int_equal(tern_engine_new(&f->eng, &cfg), 0);
    f->now = 5000;
    f->peer.len = 6;
    memcpy(f->peer.bytes, "\x0a\x00\x00\x07\x16\x33", 6);
}

static void efx_recv_hex(efx *f, const char *hex) {
    uint8_t buf[256];
    size_t n = tt_hex(hex, buf, sizeof buf);
    tern_engine_recv(f->eng, &f->peer, buf, n, f->now);
}

/* The only datagram waiting, parsed; the outbox is then emptied. */
static tern_msg efx_one(efx *f, uint8_t *copy) {
    tern_datagram dg[4];
    assert_int_equal(tern_engine_outgoing(f->eng, dg, 4), 1);
    assert_true(tern_addr_equal(dg[0].peer, &f->peer));
    memcpy(copy, dg[0].data, dg[0].len);
    tern_msg m;
    assert_int_equal(tern_msg_parse(&m, copy, dg[0].len), 0);
    tern_engine_sent(f->eng, 1);
    assert_int_equal(tern_engine_outgoing(f->eng, dg, 4), 0);
    return m;
}

/* tern/engine.h: with no server attached, a CON request gets 5.01
 * piggybacked (RFC 7252 section 5.9.3.2, 5.2.1) and a NON one a NON 5.01
 * (5.2.3). */
static void test_no_server_answers_5_01(void **state) {
    (void)state;
    efx f;
    efx_init(&f, NULL);
    uint8_t buf[256];
    /* CON GET mid 0x1234 token "t" /x */
    efx_recv_hex(&f, "41 01 12 34 | 74 | b1 78");
    tern_msg m = efx_one(&f, buf);
    assert_int_equal(m.type, TERN_TYPE_ACK);
    assert_int_equal(m.mid, 0x1234);
    assert_int_equal(m.code, TERN_CODE_NOT_IMPLEMENTED);
    assert_int_equal(m.token_len, 1);
    assert_int_equal(m.token[0], 0x74);
    /* NON GET mid 0x1235 */
    efx_recv_hex(&f, "51 01 12 35 | 75 | b1 78");
    m = efx_one(&f, buf);
    assert_int_equal(m.type, TERN_TYPE_NON);
    assert_int_equal(m.code, TERN_CODE_NOT_IMPLEMENTED);
    assert_int_equal(m.token[0], 0x75);
    /* Once a server is attached, it answers: 4.04 for a path it lacks. */
    assert_non_null(tern_engine_server(f.eng, NULL));
    efx_recv_hex(&f, "41 01 12 36 | 76 | b1 78");
    m = efx_one(&f, buf);
    assert_int_equal(m.code, TERN_CODE_NOT_FOUND);
    tern_engine_free(f.eng);
}

/* A response nobody asked for: no client attached, so RFC 7252 section
 * 5.3.2 applies: a CON response is rejected with RST. */
static void test_no_client_rejects_responses(void **state) {
    (void)state;
    efx f;
    efx_init(&f, NULL);
    uint8_t buf[256];
    efx_recv_hex(&f, "40 45 00 09 | 74"); /* CON 2.05 mid 9 */
    tern_msg m = efx_one(&f, buf);
    assert_int_equal(m.type, TERN_TYPE_RST);
    assert_int_equal(m.mid, 9);
    tern_engine_free(f.eng);
}

static int calls;
static int last_err;
static void on_answer(void *ctx, tern_client *cli, tern_client_op_id id,
                      const tern_client_event *ev, uint64_t now_ms) {
    (void)ctx, (void)cli, (void)id, (void)now_ms;
    calls++;
    last_err = ev->err;
}

/* One deadline for all layers: the client's request timeout and the
 * endpoint's retransmission both show in tern_engine_next_deadline, and
 * ticking at it runs each. Work asked for inside a callback makes it 0. */
static void test_deadlines_merge(void **state) {
    (void)state;
    efx f;
    efx_init(&f, NULL);
    assert_int_equal(tern_engine_next_deadline(f.eng), UINT64_MAX);
    tern_client *cli = tern_engine_client(f.eng, NULL);
    assert_non_null(cli);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0);
    calls = 0;
    assert_int_equal(tern_client_request(cli, &f.peer, &b, 1500, on_answer, NULL, f.now, NULL), 0);
    /* The client's 1.5 s deadline comes before the first retransmission
     * (ACK_TIMEOUT 2 s with zero jitter). */
    assert_int_equal(tern_engine_next_deadline(f.eng), f.now + 1500);
    tern_engine_tick(f.eng, f.now + 1500);
    assert_int_equal(calls, 1);
    assert_int_equal(last_err, TERN_E_TIMEOUT);
    /* The CON is no longer tracked: nothing more is scheduled. */
    assert_int_equal(tern_engine_next_deadline(f.eng), UINT64_MAX);
    tern_engine_free(f.eng);
}

/* tern_engine_unreachable ends the client's NON request the error quotes
 * (routed through the endpoint's on_unreachable). */
static void test_unreachable_reaches_the_client(void **state) {
    (void)state;
    efx f;
    efx_init(&f, NULL);
    tern_client *cli = tern_engine_client(f.eng, NULL);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_NON, TERN_CODE_GET, 0);
    calls = 0;
    assert_int_equal(tern_client_request(cli, &f.peer, &b, 0, on_answer, NULL, f.now, NULL), 0);
    uint8_t sent[64];
    tern_msg m = efx_one(&f, sent);
    assert_int_equal(m.type, TERN_TYPE_NON);
    assert_int_equal(tern_engine_unreachable(f.eng, &f.peer, sent, 4 + m.token_len, f.now + 10),
                     TERN_ICMP_MATCHED);
    assert_int_equal(calls, 1);
    assert_int_equal(last_err, TERN_E_UNREACHABLE);
    tern_engine_free(f.eng);
}

/* The outbox: datagrams lie one after another where they were written;
 * tern_engine_outgoing gives them in order without copying, and
 * tern_engine_sent removes as many as the driver put on the wire. */
static void test_outbox_in_place_and_partial_send(void **state) {
    (void)state;
    efx f;
    efx_init(&f, NULL);
    char hex[32];
    for (int i = 0; i < 3; i++) { /* three pings: three RSTs */
        snprintf(hex, sizeof hex, "40 00 00 %02x", i);
        efx_recv_hex(&f, hex);
    }
    tern_datagram dg[8];
    assert_int_equal(tern_engine_outgoing(f.eng, dg, 8), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dg[i].len, 4);
        assert_int_equal(dg[i].data[3], i);
        /* Records follow each other: header, then the 4 bytes. */
        if (i) assert_true(dg[i].data > dg[i - 1].data);
    }
    const uint8_t *second = dg[1].data;
    tern_engine_sent(f.eng, 1); /* the driver managed one */
    assert_int_equal(tern_engine_outgoing(f.eng, dg, 1), 1);
    assert_ptr_equal(dg[0].data, second); /* still where it was written */
    assert_int_equal(tern_engine_outgoing(f.eng, dg, 8), 2);
    tern_engine_sent(f.eng, 2);
    assert_int_equal(tern_engine_outgoing(f.eng, dg, 8), 0);
    tern_engine_free(f.eng);
}

/* tern/config.h: the engine refuses a config struct, its own or a
 * layer's, that was not made by a _default function; a value a layer
 * refuses fails that layer's creation, with the reason in *err. */
static void test_config_rule(void **state) {
    (void)state;
    tern_engine *eng = NULL;
    tern_engine_config cfg;
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(tern_engine_new(&eng, &cfg), TERN_E_INVAL);
    assert_null(eng);
    tern_engine_config_default(&cfg);
    /* No random source in the default endpoint settings. */
    assert_int_equal(tern_engine_new(&eng, &cfg), TERN_E_INVAL);
    uint8_t rnd = 0;
    tern_endpoint_config ec;
    tern_endpoint_config_default(&ec);
    ec.random = tt_random_fixed;
    ec.random_ctx = &rnd;
    cfg.endpoint = &ec;
    tern_client_config cc;
    memset(&cc, 0, sizeof cc); /* size 0: not a config */
    cfg.client = &cc;
    assert_int_equal(tern_engine_new(&eng, &cfg), TERN_E_INVAL);
    tern_client_config_default(&cc);
    cc.max_requests = 70000; /* over the client's limit: refused at first use */
    assert_int_equal(tern_engine_new(&eng, &cfg), 0);
    int err = 0;
    assert_null(tern_engine_client(eng, &err));
    assert_int_equal(err, TERN_E_INVAL);
    tern_engine_free(eng);
}

/* ---- the application's timers ---------------------------------------------- */

typedef struct tlog {
    char order[16];
    int n;
    tern_timer *stop_me, *again;
    uint64_t again_at;
} tlog;

static tlog tl;

static void t_fire(void *ctx, tern_engine *eng, uint64_t now_ms) {
    (void)now_ms;
    char c = *(const char *)ctx;
    tl.order[tl.n++] = c;
    if (c == 'a' && tl.stop_me) tern_engine_timer_stop(eng, tl.stop_me);
    if (c == 'b' && tl.again) {
        tern_engine_timer_start(eng, tl.again, tl.again_at, t_fire, ctx);
        tl.again = NULL;
    }
}

/* Timers run in time order from tern_engine_tick, are part of the one
 * deadline, may be stopped or moved, may stop others and arm themselves
 * again from their callback; one armed for "now" from a callback waits for
 * the next tick. */
static void test_engine_timers(void **state) {
    (void)state;
    efx f;
    efx_init(&f, NULL);
    static const char A = 'a', B = 'b', C = 'c', D = 'd';
    tern_timer ta = {0}, tb = {0}, tc = {0}, td = {0};
    memset(&tl, 0, sizeof tl);
    tern_engine_timer_start(f.eng, &tb, 300, t_fire, (void *)&B);
    tern_engine_timer_start(f.eng, &ta, 100, t_fire, (void *)&A);
    tern_engine_timer_start(f.eng, &tc, 200, t_fire, (void *)&C);
    tern_engine_timer_start(f.eng, &td, 50, t_fire, (void *)&D);
    tern_engine_timer_start(f.eng, &td, 400, t_fire, (void *)&D); /* moved */
    assert_int_equal(tern_engine_next_deadline(f.eng), 100);
    tl.stop_me = &tc; /* a stops c, due at the same tick */
    tl.again = &tb;   /* b arms itself again for "now" */
    tl.again_at = 250;
    tern_engine_tick(f.eng, 300);
    assert_int_equal(tl.n, 2);
    assert_memory_equal(tl.order, "ab", 2);
    assert_true(tb.armed);
    assert_int_equal(tern_engine_next_deadline(f.eng), 250);
    tern_engine_tick(f.eng, 300);
    assert_int_equal(tl.n, 3);
    assert_int_equal(tl.order[2], 'b');
    assert_int_equal(tern_engine_next_deadline(f.eng), 400);
    tern_engine_timer_stop(f.eng, &td);
    tern_engine_timer_stop(f.eng, &td); /* not armed: no-op */
    assert_int_equal(tern_engine_next_deadline(f.eng), UINT64_MAX);
    tern_engine_tick(f.eng, 1000);
    assert_int_equal(tl.n, 3);
    tern_engine_free(f.eng);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_server_answers_5_01),
        cmocka_unit_test(test_no_client_rejects_responses),
        cmocka_unit_test(test_deadlines_merge),
        cmocka_unit_test(test_unreachable_reaches_the_client),
        cmocka_unit_test(test_outbox_in_place_and_partial_send),
        cmocka_unit_test(test_config_rule),
        cmocka_unit_test(test_engine_timers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
