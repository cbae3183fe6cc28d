/* SPDX-License-Identifier: BSD-2-Clause */
/* test_multicast.c - RFC 7252 section 8 on a fake clock: what a server does
 * with a request that came to a group address (no RST, no error answers, a
 * random leisure before the answer; RFC 6690 4.1: no empty discovery
 * answer), and a client's request to a group, answered by several
 * servers. */
#include "test_server_fixture.h"

static void deliver_group(sfx *f, const tern_addr *peer, const tern_msgb *b) {
    uint8_t buf[SFX_MSG_MAX];
    int n = tern_msgb_encode(b, buf, sizeof buf);
    assert_true(n > 0);
    tern_engine_recv_flags(f->eng, peer, buf, (size_t)n, f->now, TERN_RX_MULTICAST);
}

/* Section 8.1: a multicast message that is no NON request is ignored,
 * never answered with RST (every member of the group would send one): a
 * CON request, a ping, a malformed datagram, one with an unrecognised
 * critical option. */
static void test_rfc7252_s8_1_never_rst(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 1, "c", "/alarm");
    deliver_group(&f, &f.a, &b);
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_EMPTY, 2);
    deliver_group(&f, &f.a, &b);
    uint8_t junk[] = {0x40, 0x01, 0x00, 0x03, 0xF0};
    tern_engine_recv_flags(f.eng, &f.a, junk, sizeof junk, f.now, TERN_RX_MULTICAST);
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 4, "n", "/alarm");
    tern_msgb_add_opt(&b, 65001, "x", 1);
    deliver_group(&f, &f.a, &b);
    sfx_advance(&f, 10000);
    sfx_expect_none(&f);
    assert_int_equal(st.gets, 0);
    sfx_free(&f);
}

/* Section 8.2: an error answer to a group request is not sent (4.04 for a
 * path this server lacks, 4.05, ...); a success goes NON, after a random
 * leisure below multicast_leisure_ms, not at once. */
static void test_rfc7252_s8_2_errors_suppressed_success_after_leisure(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_free(&f);
    f.ecfg.multicast_leisure_ms = 2000;
    f.rnd = 0x80; /* the leisure drawn: about half of it */
    sfx_start(&f);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 10, "e", "/nothing");
    deliver_group(&f, &f.a, &b);
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_DELETE, 11, "m", "/alarm");
    deliver_group(&f, &f.a, &b);
    sfx_advance(&f, 5000);
    sfx_expect_none(&f);
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 12, "g", "/alarm");
    deliver_group(&f, &f.a, &b);
    assert_int_equal(st.gets, 1); /* handled at once */
    sfx_expect_none(&f);          /* answered later */
    uint64_t t0 = f.now;
    uint64_t d = tern_engine_next_deadline(f.eng);
    assert_true(d > t0 && d < t0 + 2000);
    sfx_advance(&f, 2000);
    tern_addr to;
    const tern_msg *m = sfx_next(&f, &to);
    assert_true(tern_addr_equal(&to, &f.a));
    assert_int_equal(m->type, TERN_TYPE_NON);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_token(m, "g");
    sfx_assert_payload(m, "OFF");
    /* A copy of the request is a duplicate (RFC 7252 4.5): nothing again. */
    deliver_group(&f, &f.a, &b);
    sfx_advance(&f, 5000);
    sfx_expect_none(&f);
    sfx_free(&f);
}

/* RFC 6690 section 4.1: discovery with a filter that matches nothing is not
 * answered in a group (to a unicast query it is: an empty document). */
static void test_rfc6690_s4_1_group_discovery_no_match_no_answer(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 20, "d", "/.well-known/core");
    tern_msgb_add_str(&b, TERN_OPT_URI_QUERY, "rt=nothing-like-this");
    deliver_group(&f, &f.a, &b);
    sfx_advance(&f, 10000);
    sfx_expect_none(&f);
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 21, "d", "/.well-known/core");
    tern_msgb_add_str(&b, TERN_OPT_URI_QUERY, "rt=alarm");
    deliver_group(&f, &f.a, &b);
    sfx_advance(&f, 10000);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_true(sfx_payload_contains(m, "</alarm>"));
    sfx_free(&f);
}

/* ---- the client side -------------------------------------------------------- */

typedef struct ganswers {
    int n, ended;
    tern_addr from[4];
    int last_err;
} ganswers;

static void on_group(void *ctx, tern_client *cli, tern_client_op_id id,
                     const tern_client_event *ev, uint64_t now_ms) {
    (void)cli, (void)id, (void)now_ms;
    ganswers *g = ctx;
    if (ev->err) {
        g->ended++;
        g->last_err = ev->err;
        return;
    }
    assert_true(ev->observing);
    if (g->n < 4) g->from[g->n] = *ev->peer;
    g->n++;
}

/* Sections 8.1 and 8.2: a NON request to a group; each server answers from
 * its own address, matched by token; every answer reaches the caller, then
 * the deadline ends it. A CON group request is refused. */
static void test_rfc7252_s8_client_group_request(void **state) {
    (void)state;
    uint8_t rnd = 7;
    tern_endpoint_config ec;
    tern_endpoint_config_default(&ec);
    ec.random = tt_random_fixed;
    ec.random_ctx = &rnd;
    tern_engine_config cfg;
    tern_engine_config_default(&cfg);
    cfg.endpoint = &ec;
    tern_engine *eng;
    assert_int_equal(tern_engine_new(&eng, &cfg), 0);
    tern_client *cli = tern_engine_client(eng, NULL);
    tern_addr group = {.len = 6, .bytes = {224, 0, 1, 187, 0x16, 0x33}};
    tern_addr s1 = {.len = 6, .bytes = {10, 0, 0, 1, 0x16, 0x33}}, s2 = {.len = 6, .bytes = {10, 0, 0, 2, 0x16, 0x33}};
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0);
    ganswers g = {0};
    assert_int_equal(tern_client_request_group(cli, &group, &b, 5000, on_group, &g, 0, NULL),
                     TERN_E_INVAL);
    /* No block-wise transfer to a group: a body too large is refused. */
    static uint8_t big[2000];
    tern_msgb_init(&b, TERN_TYPE_NON, TERN_CODE_POST, 0);
    tern_msgb_set_payload(&b, big, sizeof big);
    assert_int_equal(tern_client_request_group(cli, &group, &b, 5000, on_group, &g, 0, NULL),
                     TERN_E_NOSPACE);
    assert_int_equal(tern_engine_outgoing(eng, (tern_datagram[1]){0}, 1), 0);
    tern_msgb_init(&b, TERN_TYPE_NON, TERN_CODE_GET, 0);
    tern_msgb_add_str(&b, TERN_OPT_URI_PATH, ".well-known");
    tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "core");
    assert_int_equal(tern_client_request_group(cli, &group, &b, 5000, on_group, &g, 0, NULL), 0);
    tern_datagram dg[2];
    assert_int_equal(tern_engine_outgoing(eng, dg, 2), 1);
    assert_true(tern_addr_equal(dg[0].peer, &group));
    tern_msg req;
    uint8_t copy[256];
    memcpy(copy, dg[0].data, dg[0].len);
    assert_int_equal(tern_msg_parse(&req, copy, dg[0].len), 0);
    assert_int_equal(req.type, TERN_TYPE_NON);
    tern_engine_sent(eng, 1);
    /* Two servers answer, NON, from their own addresses. */
    const tern_addr *servers[2] = {&s1, &s2};
    for (int i = 0; i < 2; i++) {
        tern_msgb a;
        uint8_t out[128];
        tern_msgb_init(&a, TERN_TYPE_NON, TERN_CODE_CONTENT, (uint16_t)(0x100 + i));
        tern_msgb_set_token(&a, req.token, req.token_len);
        tern_msgb_set_payload(&a, "</x>", 4);
        int n = tern_msgb_encode(&a, out, sizeof out);
        assert_int_equal(tern_engine_recv(eng, servers[i], out, (size_t)n, 1000 + (uint64_t)i), 0);
    }
    assert_int_equal(g.n, 2);
    assert_true(tern_addr_equal(&g.from[0], &s1));
    assert_true(tern_addr_equal(&g.from[1], &s2));
    assert_int_equal(g.ended, 0);
    tern_engine_tick(eng, 5000);
    assert_int_equal(g.ended, 1);
    assert_int_equal(g.last_err, TERN_E_TIMEOUT);
    assert_int_equal(tern_client_active(cli), 0);
    tern_engine_free(eng);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s8_1_never_rst),
        cmocka_unit_test(test_rfc7252_s8_2_errors_suppressed_success_after_leisure),
        cmocka_unit_test(test_rfc6690_s4_1_group_discovery_no_match_no_answer),
        cmocka_unit_test(test_rfc7252_s8_client_group_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
