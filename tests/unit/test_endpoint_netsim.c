/* SPDX-License-Identifier: BSD-2-Clause */
/* test_endpoint_netsim.c - RFC 7252 section 4 end to end: a client endpoint
 * and a server endpoint over a simulated lossy, duplicating, reordering
 * network (tests/support/netsim.h, fixed seed, so every run is the same).
 *
 * What must hold however the datagrams fall: every CON request ends exactly
 * once (done), the server's handler runs at most once per request (4.5), the
 * client accepts at most one response per request, and a separate CON
 * response is delivered to on_response at most once (its duplicates are
 * ACKed from the dedup cache). With enough retransmissions every request
 * completes and is answered. */
#include <stdlib.h>

#include "netsim.h"
#include "test_endpoint_fixture.h"

#define N_REQ 100

struct world;
typedef struct req_ctx {
    struct world *w;
    int i;
} req_ctx;

typedef struct world {
    tt_netsim *sim;
    tern_endpoint *cli, *srv;
    uint64_t cli_seed, srv_seed;
    int srv_calls[N_REQ];       /* on_request per request index */
    tern_endpoint_req_id srv_id[N_REQ];
    uint64_t srv_answer_at[N_REQ]; /* UINT64_MAX: answered or not yet seen */
    int cli_done[N_REQ];
    tern_tx_status cli_status[N_REQ];
    int cli_accepted[N_REQ];    /* first responses taken */
    int cli_sep_seen[N_REQ];    /* on_response calls for CON/NON responses */
    int cli_ack_seen[N_REQ];    /* on_response calls for piggybacked ones */
    int bad_payload;
    req_ctx ctx[N_REQ];
    bool non;
} world;

static int token_index(const tern_msg *m) {
    if (m->token_len != 2 || m->token[0] != 0x7e || m->token[1] >= N_REQ) return -1;
    return m->token[1];
}

static void answer(world *w, int i, uint64_t now) {
    char body[8];
    snprintf(body, sizeof body, "r%d", i);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_CONTENT, 0);
    tern_msgb_set_payload(&b, body, strlen(body));
    assert_int_equal(tern_endpoint_respond(w->srv, w->srv_id[i], &b, now), 0);
    w->srv_answer_at[i] = UINT64_MAX;
}

/* Server: a third answered at once (piggybacked), a third after 300 ms
 * (still piggybacked: the ACK is owed for 1 s), a third after 1500 ms
 * (separate CON response). */
static void srv_on_request(void *user, tern_endpoint *ep, tern_endpoint_req_id id, const tern_addr *peer,
                           const tern_msg *req, uint64_t now) {
    (void)ep;
    (void)peer;
    world *w = user;
    int i = token_index(req);
    assert_true(i >= 0);
    w->srv_calls[i]++;
    w->srv_id[i] = id;
    switch (i % 3) {
    case 0: answer(w, i, now); break;
    case 1: w->srv_answer_at[i] = now + 300; break;
    default: w->srv_answer_at[i] = now + 1500; break;
    }
}

static int cli_on_response(void *user, tern_endpoint *ep, const tern_addr *peer,
                           const tern_msg *m, uint64_t now) {
    (void)ep;
    (void)peer;
    (void)now;
    world *w = user;
    int i = token_index(m);
    if (i < 0) return TERN_E_REJECT;
    if (m->type == TERN_TYPE_ACK) w->cli_ack_seen[i]++;
    else w->cli_sep_seen[i]++;
    char body[8];
    snprintf(body, sizeof body, "r%d", i);
    if (m->payload_len != strlen(body) || memcmp(m->payload, body, m->payload_len) != 0)
        w->bad_payload++;
    if (w->cli_accepted[i]) return TERN_E_REJECT; /* a late duplicate: not ours any more */
    w->cli_accepted[i]++;
    return 0;
}

static void cli_done(void *ctx, tern_endpoint *ep, tern_tx_status st, uint64_t now) {
    (void)ep;
    (void)now;
    req_ctx *r = ctx;
    r->w->cli_done[r->i]++;
    r->w->cli_status[r->i] = st;
}

static uint64_t srv_hook(void *ctx, tt_netsim *sim, uint64_t now) {
    (void)sim;
    world *w = ctx;
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < N_REQ; i++) {
        if (w->srv_answer_at[i] <= now) answer(w, i, now);
        else if (w->srv_answer_at[i] < next) next = w->srv_answer_at[i];
    }
    return next;
}

static void world_init(world *w, uint64_t seed, uint32_t max_retransmit, const tt_link *link) {
    memset(w, 0, sizeof *w);
    for (int i = 0; i < N_REQ; i++) w->srv_answer_at[i] = UINT64_MAX;
    tern_endpoint_config c;
    tern_endpoint_config_default(&c);
    c.random = tt_random;
    c.max_retransmit = max_retransmit;
    /* Section 4.8.2: EXCHANGE_LIFETIME = MAX_TRANSMIT_SPAN + 2 * MAX_LATENCY +
     * PROCESSING_DELAY; it grows with MAX_RETRANSMIT (967 s for 8). */
    c.exchange_lifetime_ms = (uint32_t)(2000u * ((1u << max_retransmit) - 1u) * 3u / 2u +
                                        2u * 100000u + 2000u);
    c.max_exchanges = 128;
    c.max_pending = 128;
    c.max_dedup = 512;
    c.tx_queue_bytes = 256 * 1024;

    tern_endpoint_callbacks ccb = {.on_response = cli_on_response};
    w->cli_seed = seed ^ 0x1111;
    c.random_ctx = &w->cli_seed;
    assert_int_equal(tern_endpoint_new(&w->cli, &c, &ccb, w), 0);
    assert_non_null(w->cli);

    tern_endpoint_callbacks scb = {.on_request = srv_on_request};
    w->srv_seed = seed ^ 0x2222;
    c.random_ctx = &w->srv_seed;
    assert_int_equal(tern_endpoint_new(&w->srv, &c, &scb, w), 0);
    assert_non_null(w->srv);

    w->sim = tt_netsim_new(seed);
    assert_int_equal(tt_netsim_add(w->sim, w->cli), 0);
    assert_int_equal(tt_netsim_add(w->sim, w->srv), 1);
    tt_netsim_set_all_links(w->sim, link);
    tt_netsim_set_hook(w->sim, srv_hook, w);
}

static void world_send_all(world *w) {
    for (int i = 0; i < N_REQ; i++) {
        w->ctx[i].w = w;
        w->ctx[i].i = i;
        tern_msgb b;
        uint8_t tok[2] = {0x7e, (uint8_t)i};
        tern_msgb_init(&b, w->non ? TERN_TYPE_NON : TERN_TYPE_CON, TERN_CODE_GET, 0);
        tern_msgb_set_token(&b, tok, 2);
        tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "alarm");
        assert_int_equal(tern_endpoint_send_msg(w->cli, tt_netsim_addr(w->sim, 1), &b, 0,
                                                w->non ? NULL : cli_done, &w->ctx[i]),
                         0);
    }
}

static void world_free(world *w) {
    tern_endpoint_free(w->cli);
    tern_endpoint_free(w->srv);
    tt_netsim_free(w->sim);
}

/* 30% loss and 20% duplication in both directions, 5-150 ms delay
 * (reordering). MAX_RETRANSMIT 8: one CON/ACK round trip survives with
 * p = 0.49, so the RFC's 4 retransmissions would lose ~3% of exchanges by
 * design; 8 make a give-up improbable, and with this seed none happens. */
static void test_rfc7252_s4_netsim_lossy_100_con_exactly_once(void **state) {
    (void)state;
    tt_link lossy = {300, 200, 5, 150};
    world *w = calloc(1, sizeof *w);
    world_init(w, 0xC0A9, 8, &lossy);
    world_send_all(w);
    /* NSTART 1 lines the 100 CONs up behind each other: an hour of
     * simulated time lets the slowest finish whatever the draws. */
    tt_netsim_run(w->sim, 60 * 60 * 1000);

    for (int i = 0; i < N_REQ; i++) {
        assert_int_equal(w->srv_calls[i], 1);
        assert_int_equal(w->cli_done[i], 1);
        assert_int_equal(w->cli_status[i], TERN_TX_ACKED);
        assert_int_equal(w->cli_accepted[i], 1);
        assert_true(w->cli_sep_seen[i] <= 1);
        if (i % 3 == 2 && w->cli_ack_seen[i] == 0) assert_int_equal(w->cli_sep_seen[i], 1);
    }
    assert_int_equal(w->bad_payload, 0);

    /* The run really was rough, and everything settled. */
    tern_endpoint_stats cs, ss;
    tern_endpoint_get_stats(w->cli, &cs);
    tern_endpoint_get_stats(w->srv, &ss);
    tt_netsim_stats ns;
    tt_netsim_get_stats(w->sim, &ns);
    assert_true(ns.lost > 100);
    assert_true(ns.duplicated > 50);
    assert_true(cs.retransmissions > 20);
    assert_true(ss.duplicates > 20);
    assert_int_equal(cs.timeouts, 0);
    assert_int_equal(ss.busy_answers, 0);
    assert_int_equal(tern_endpoint_next_deadline(w->cli), UINT64_MAX);
    assert_int_equal(tern_endpoint_next_deadline(w->srv), UINT64_MAX);
    print_message("netsim: sent %llu lost %llu dup %llu; client retransmissions %llu, "
                  "server duplicates %llu, server retransmissions %llu\n",
                  (unsigned long long)ns.sent, (unsigned long long)ns.lost,
                  (unsigned long long)ns.duplicated, (unsigned long long)cs.retransmissions,
                  (unsigned long long)ss.duplicates, (unsigned long long)ss.retransmissions);
    world_free(w);
    free(w);
}

/* Same network with the RFC defaults: some exchanges may give up, but each
 * still ends exactly once and nothing is processed twice. Several seeds. */
static void test_rfc7252_s4_netsim_default_params_never_twice(void **state) {
    (void)state;
    tt_link lossy = {300, 200, 5, 150};
    int gave_up = 0, answered = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        world *w = calloc(1, sizeof *w);
        world_init(w, seed, 4, &lossy);
        world_send_all(w);
        tt_netsim_run(w->sim, 60 * 60 * 1000);
        for (int i = 0; i < N_REQ; i++) {
            assert_true(w->srv_calls[i] <= 1);
            assert_int_equal(w->cli_done[i], 1);
            assert_true(w->cli_sep_seen[i] <= 1);
            if (w->cli_status[i] == TERN_TX_ACKED) assert_int_equal(w->srv_calls[i], 1);
            gave_up += w->cli_status[i] == TERN_TX_TIMEOUT;
            answered += w->cli_accepted[i];
        }
        assert_int_equal(w->bad_payload, 0);
        assert_int_equal(tern_endpoint_next_deadline(w->cli), UINT64_MAX);
        assert_int_equal(tern_endpoint_next_deadline(w->srv), UINT64_MAX);
        world_free(w);
        free(w);
    }
    print_message("netsim defaults, 5 x %d requests: %d gave up, %d answered\n", N_REQ, gave_up,
                  answered);
    assert_true(gave_up > 0 && answered > 400); /* the loss does bite, rarely */
}

/* Section 4.5 for NON: duplicated NON requests reach the handler at most
 * once, duplicated NON responses reach on_response at most once. */
static void test_rfc7252_s4_5_netsim_non_at_most_once(void **state) {
    (void)state;
    tt_link dupy = {100, 500, 5, 150};
    world *w = calloc(1, sizeof *w);
    world_init(w, 77, 4, &dupy);
    w->non = true;
    world_send_all(w);
    tt_netsim_run(w->sim, 60 * 60 * 1000);
    int answered = 0;
    for (int i = 0; i < N_REQ; i++) {
        assert_true(w->srv_calls[i] <= 1);
        assert_true(w->cli_sep_seen[i] <= 1);
        answered += w->cli_accepted[i];
    }
    tern_endpoint_stats ss;
    tern_endpoint_get_stats(w->srv, &ss);
    assert_true(ss.duplicates > 10);
    assert_true(answered > 60); /* about 0.9 * 0.9 of them */
    assert_int_equal(w->bad_payload, 0);
    world_free(w);
    free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s4_netsim_lossy_100_con_exactly_once),
        cmocka_unit_test(test_rfc7252_s4_netsim_default_params_never_twice),
        cmocka_unit_test(test_rfc7252_s4_5_netsim_non_at_most_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
