/* SPDX-License-Identifier: BSD-2-Clause */
/* test_endpoint_retransmit.c - RFC 7252 sections 4.2, 4.4, 4.7, 4.8 on a fake
 * clock: the retransmission schedule to the millisecond, jitter bounds,
 * give-up, ACK/RST/cancel, unreachable peers, NSTART queueing and re-entrant
 * sends from done().
 *
 * Our CON "41 01 00 00 | a1 | b1 78" is: ver 1, CON, TKL 1 | GET | MID 0 |
 * token a1 | Uri-Path (delta 11, len 1) "x". With the all-zero random source
 * the first MID of a peer is 0 and the jitter is 0. */
#include "test_endpoint_fixture.h"

#define CON_A1 "41 01 00 00 | a1 | b1 78"
#define CON_A2 "41 01 00 01 | a2 | b1 78"

/* Section 4.2/4.8: sent at 0, again at 2, 6, 14, 30 s, given up at 62 s;
 * each retransmission is the identical datagram and happens exactly at its
 * deadline, not a millisecond before. */
static void test_rfc7252_s4_2_retransmit_schedule_exact(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t = {&f, 1};
    uint16_t mid;
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, &mid), 0);
    assert_int_equal(mid, 0);
    fx_expect(&f, &f.a, CON_A1);
    fx_expect_none(&f);

    const uint64_t at[] = {2000, 6000, 14000, 30000};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(tern_endpoint_next_deadline(f.ep), at[i]);
        fx_tick(&f, at[i] - 1);
        fx_expect_none(&f);
        fx_tick(&f, at[i]);
        fx_expect(&f, &f.a, CON_A1);
        fx_expect_none(&f);
        assert_int_equal(f.n_done, 0);
    }
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 62000);
    fx_tick(&f, 61999);
    fx_expect_none(&f);
    assert_int_equal(f.n_done, 0);
    fx_tick(&f, 62000);
    fx_expect_none(&f);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_status[0], TERN_TX_TIMEOUT);
    assert_int_equal(f.done_at[0], 62000);
    assert_int_equal(f.done_tag[0], 1);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    fx_tick(&f, 200000);
    assert_int_equal(f.n_done, 1);

    tern_endpoint_stats st = fx_stats(&f);
    assert_int_equal(st.tx, 5);
    assert_int_equal(st.retransmissions, 4);
    assert_int_equal(st.timeouts, 1);
    fx_end(&f);
}

/* Section 4.8: with a real random source the first timeout lies in
 * [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR) = [2000, 3000), and it does
 * vary. One CON to each of 200 peers so NSTART does not hold any back. */
static void test_rfc7252_s4_8_initial_timeout_jitter_bounds(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.seed = 0x9E3779B97F4A7C15u;
    f.cfg.random = tt_random;
    f.cfg.random_ctx = &f.seed;
    f.cfg.max_exchanges = 256;
    f.cfg.max_peers = 256;
    f.cfg.tx_queue_bytes = 256 * 1024;
    fx_start(&f);
    fx_tx t = {&f, 0};
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 200; i++) {
        tern_addr p = f.a;
        p.bytes[2] = (uint8_t)(i >> 8);
        p.bytes[3] = (uint8_t)i;
        uint64_t before = tern_endpoint_next_deadline(f.ep);
        assert_int_equal(fx_send(&f, &p, TERN_TYPE_CON, 1, &t, NULL), 0);
        (void)before;
    }
    fx_drain(&f);
    /* Walk the deadlines by ticking: each tick retransmits what is due. */
    int seen = 0;
    uint64_t now = 0;
    while (seen < 200) {
        uint64_t d = tern_endpoint_next_deadline(f.ep);
        assert_true(d >= 2000 && d < 3000);
        if (d < lo) lo = d;
        if (d > hi) hi = d;
        now = d;
        fx_tick(&f, now);
        uint8_t buf[256];
        while (fx_pop(&f, buf, sizeof buf, NULL) > 0) seen++;
    }
    assert_true(hi - lo > 500); /* 200 draws over 1000 ms: spread out */
    fx_end(&f);
}

/* Section 4.8: r = 0xFFFFFFFF gives the largest first timeout, just below
 * ACK_TIMEOUT * 1.5: 2000 + floor(0xFFFFFFFF * 1000 / 2^32) = 2999. */
static void test_rfc7252_s4_8_initial_timeout_upper_edge(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.rnd = 0xFF;
    fx_start(&f);
    fx_tx t = {&f, 0};
    uint16_t mid;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, &mid), 0);
    assert_int_equal(mid, 0xFFFF); /* first MID from the random source */
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 2999);
    fx_tick(&f, 2999);
    fx_drain(&f);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 2999 + 2 * 2999);
    fx_end(&f);
}

/* Section 4.8: configured parameters are honoured. ACK_TIMEOUT 1 s, factor
 * 1.0 (no jitter), MAX_RETRANSMIT 2: sent at 0, 1000, 3000, given up at 7000. */
static void test_rfc7252_s4_8_custom_parameters(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.rnd = 0x80; /* would add jitter if the factor allowed any */
    f.cfg.ack_timeout_ms = 1000;
    f.cfg.ack_random_factor_milli = 1000;
    f.cfg.max_retransmit = 2;
    fx_start(&f);
    fx_tx t = {&f, 7};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, NULL), 0);
    fx_drain(&f);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 1000);
    fx_tick(&f, 1000);
    assert_int_equal(fx_stats(&f).retransmissions, 1);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 3000);
    fx_tick(&f, 3000);
    assert_int_equal(fx_stats(&f).retransmissions, 2);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 7000);
    fx_tick(&f, 6999);
    assert_int_equal(f.n_done, 0);
    fx_tick(&f, 7000);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_status[0], TERN_TX_TIMEOUT);
    assert_int_equal(f.done_at[0], 7000);
    fx_end(&f);
}

/* Section 4.8: jitter of half the range with ACK_TIMEOUT 1000, factor 2.0:
 * r = 0x80808080 -> 1000 + floor(0x80808080 * 1000 / 2^32) = 1501. */
static void test_rfc7252_s4_8_jitter_formula(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.rnd = 0x80;
    f.cfg.ack_timeout_ms = 1000;
    f.cfg.ack_random_factor_milli = 2000;
    fx_start(&f);
    fx_tx t = {&f, 0};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, NULL), 0);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 1501);
    fx_end(&f);
}

/* Section 4.2: an empty ACK with the MID stops retransmission at once. */
static void test_rfc7252_s4_2_ack_stops_retransmission(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t = {&f, 1};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, NULL), 0);
    fx_expect(&f, &f.a, CON_A1);
    f.now = 500;
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 00"), 0); /* ACK, Empty, MID 0 */
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_status[0], TERN_TX_ACKED);
    assert_int_equal(f.done_at[0], 500);
    assert_int_equal(f.n_resp, 0); /* empty ACK: no response to offer */
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    fx_tick(&f, 2000);
    fx_expect_none(&f);
    /* A second ACK (the peer answering a retransmission) matches nothing. */
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 00"), 0);
    assert_int_equal(f.n_done, 1);
    fx_end(&f);
}

/* Section 5.2.1: a piggybacked response goes to on_response first, then
 * done(ACKED) ends the exchange. */
static void test_rfc7252_s5_2_1_piggybacked_response_before_done(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t = {&f, 1};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, NULL), 0);
    fx_drain(&f);
    /* ACK 2.05 MID 0 token a1, payload "ok" */
    assert_int_equal(fx_recv(&f, &f.a, "61 45 00 00 | a1 | ff 6f 6b"), 0);
    assert_string_equal(f.log, "rd");
    assert_int_equal(f.resp_type, TERN_TYPE_ACK);
    assert_int_equal(f.resp_code, TERN_CODE_CONTENT);
    assert_int_equal(f.done_status[0], TERN_TX_ACKED);
    fx_expect_none(&f); /* an ACK is never answered */
    fx_end(&f);
}

/* Section 4.2: an ACK or RST from another address does not match. */
static void test_rfc7252_s4_2_ack_from_other_peer_ignored(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t = {&f, 1};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, NULL), 0);
    fx_drain(&f);
    assert_int_equal(fx_recv(&f, &f.b, "60 00 00 00"), 0);
    assert_int_equal(f.n_done, 0);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 2000);
    fx_end(&f);
}

/* Section 4.2: RST to a CON ends it with TERN_TX_RESET. */
static void test_rfc7252_s4_2_rst_ends_exchange(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t = {&f, 1};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, NULL), 0);
    fx_drain(&f);
    fx_tick(&f, 2000);
    fx_drain(&f);
    f.now = 2100;
    assert_int_equal(fx_recv(&f, &f.a, "70 00 00 00"), 0);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_status[0], TERN_TX_RESET);
    assert_int_equal(f.n_reset, 0); /* matched: not an on_reset */
    assert_int_equal(fx_stats(&f).resets, 1);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    fx_end(&f);
}

/* Section 4.3: an Empty CON is a ping; its RST is the pong. */
static void test_rfc7252_s4_3_ping_via_send_msg(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t = {&f, 1};
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_EMPTY, 0);
    assert_int_equal(tern_endpoint_send_msg(f.ep, &f.a, &b, 0, fx_done, &t), 0);
    fx_expect(&f, &f.a, "40 00 00 00");
    assert_int_equal(fx_recv(&f, &f.a, "70 00 00 00"), 0);
    assert_int_equal(f.done_status[0], TERN_TX_RESET);
    /* An Empty NON means nothing (section 4.3). */
    tern_msgb_init(&b, TERN_TYPE_NON, TERN_CODE_EMPTY, 0);
    assert_int_equal(tern_endpoint_send_msg(f.ep, &f.a, &b, 0, NULL, NULL), TERN_E_INVAL);
    tern_msgb_init(&b, TERN_TYPE_ACK, TERN_CODE_CONTENT, 0);
    assert_int_equal(tern_endpoint_send_msg(f.ep, &f.a, &b, 0, NULL, NULL), TERN_E_INVAL);
    /* Reserved code classes cannot be sent (section 12.1). */
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE(1, 0), 0);
    assert_int_equal(tern_endpoint_send_msg(f.ep, &f.a, &b, 0, NULL, NULL), TERN_E_INVAL);
    tern_msgb_init(&b, TERN_TYPE_NON, TERN_CODE(7, 1), 0);
    assert_int_equal(tern_endpoint_send_msg(f.ep, &f.a, &b, 0, NULL, NULL), TERN_E_INVAL);
    fx_expect_none(&f);
    fx_end(&f);
}

/* Section 4.4: MIDs per peer start at a random value and count up by one;
 * another peer has its own sequence. */
static void test_rfc7252_s4_4_mid_sequence_per_peer(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.rnd = 0x12;
    f.cfg.nstart = 8;
    fx_start(&f);
    fx_tx t = {&f, 1};
    uint16_t m1, m2, m3, m4;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 1, &t, &m1), 0);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_NON, 2, NULL, &m2), 0);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 3, &t, &m3), 0);
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_NON, 4, NULL, &m4), 0);
    assert_int_equal(m1, 0x1212);
    assert_int_equal(m2, 0x1213);
    assert_int_equal(m3, 0x1214);
    assert_int_equal(m4, 0x1212);
    fx_expect(&f, &f.a, "41 01 12 12 | 01 | b1 78");
    fx_expect(&f, &f.a, "51 01 12 13 | 02 | b1 78");
    fx_expect(&f, &f.a, "41 01 12 14 | 03 | b1 78");
    fx_expect(&f, &f.b, "51 01 12 12 | 04 | b1 78");
    fx_end(&f);
}

/* Section 4.7: NSTART 1: the second CON to a peer waits until the first is
 * acknowledged, then goes out with its timer starting then. Another peer is
 * not held up. */
static void test_rfc7252_s4_7_nstart1_queues_second_con(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t1 = {&f, 1}, t2 = {&f, 2}, t3 = {&f, 3};
    uint16_t m2;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t1, NULL), 0);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa2, &t2, &m2), 0);
    assert_int_equal(m2, 1); /* MID assigned at once, even while queued */
    fx_expect(&f, &f.a, CON_A1);
    fx_expect_none(&f);
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_CON, 0xb1, &t3, NULL), 0);
    fx_expect(&f, &f.b, "41 01 00 00 | b1 | b1 78");

    /* The queued CON is not retransmitted: only the first one is. */
    fx_tick(&f, 2000);
    fx_expect(&f, &f.a, CON_A1);
    fx_expect(&f, &f.b, "41 01 00 00 | b1 | b1 78");
    fx_expect_none(&f);

    f.now = 2500;
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 00"), 0);
    fx_expect(&f, &f.a, CON_A2);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_tag[0], 1);
    /* Timer of the second starts at 2500: first retransmission at 4500
     * (peer b's is due at 6000). */
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 4500);
    fx_tick(&f, 4500);
    fx_expect(&f, &f.a, CON_A2);
    fx_expect_none(&f);
    fx_end(&f);
}

/* Section 4.7: NSTART is a parameter; with 2 the third CON waits, and queued
 * CONs leave in FIFO order. */
static void test_rfc7252_s4_7_nstart2_fifo(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.nstart = 2;
    fx_start(&f);
    fx_tx t = {&f, 0};
    for (uint8_t i = 0; i < 5; i++) assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, i, &t, NULL), 0);
    fx_expect(&f, &f.a, "41 01 00 00 | 00 | b1 78");
    fx_expect(&f, &f.a, "41 01 00 01 | 01 | b1 78");
    fx_expect_none(&f);
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 01"), 0);
    fx_expect(&f, &f.a, "41 01 00 02 | 02 | b1 78");
    fx_expect_none(&f);
    assert_int_equal(fx_recv(&f, &f.a, "70 00 00 00"), 0); /* RST also frees */
    fx_expect(&f, &f.a, "41 01 00 03 | 03 | b1 78");
    fx_expect_none(&f);
    fx_end(&f);
}

/* Re-entrancy: done() sends the next CON (as an observe layer does from the
 * outcome of a notification), both from an ACK and from a give-up in tick. */
static void resend_hook(fx *f, fx_tx *t, tern_tx_status st, uint64_t now) {
    (void)st;
    if (t->tag >= 3) return;
    fx_tx *next = (fx_tx *)f->hook_data + t->tag; /* tags 1, 2 -> slots 1, 2 */
    tern_msgb b;
    uint8_t tok = (uint8_t)(0xa1 + t->tag);
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0);
    tern_msgb_set_token(&b, &tok, 1);
    tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "x");
    assert_int_equal(tern_endpoint_send_msg(f->ep, &f->a, &b, now, fx_done, next), 0);
}

static void test_rfc7252_s4_2_reentrant_send_from_done(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_exchanges = 1; /* the slot must be free before done() runs */
    fx_start(&f);
    fx_tx tx[3] = {{&f, 0}, {&f, 2}, {&f, 3}};
    fx_tx first = {&f, 1};
    f.hook_data = tx;
    f.done_hook = resend_hook;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &first, NULL), 0);
    fx_expect(&f, &f.a, CON_A1);
    f.now = 100;
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 00"), 0);
    /* done(ACKED) of tag 1 sent tag 2 with MID 1 */
    fx_expect(&f, &f.a, CON_A2);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 2100);
    /* Let tag 2 time out: its done() sends tag 3 from inside tick. */
    for (uint64_t d; (d = tern_endpoint_next_deadline(f.ep)) != UINT64_MAX && f.n_done < 2;) {
        fx_tick(&f, d);
        fx_drain(&f);
    }
    assert_int_equal(f.n_done, 2);
    assert_int_equal(f.done_status[1], TERN_TX_TIMEOUT);
    assert_int_equal(f.done_at[1], 100 + 62000);
    /* tag 3 was sent from done() and is tracked with its own timer. */
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 100 + 62000 + 2000);
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 02"), 0);
    assert_int_equal(f.n_done, 3);
    assert_int_equal(f.done_tag[2], 3);
    assert_int_equal(f.done_status[2], TERN_TX_ACKED);
    fx_end(&f);
}

/* Section 4.2/4.7 and RFC 8085 section 5.2: an ICMP destination
 * unreachable quotes a's first CON. That exchange ends at once with
 * UNREACHABLE instead of after 62 s, and the CON that waited behind it for
 * NSTART goes out (it draws its own error if nothing listens: each datagram
 * to a closed port does). Peer b is untouched; a late ACK for the ended CON
 * matches nothing. */
static void test_rfc7252_s4_2_unreachable_ends_the_quoted_con(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t1 = {&f, 1}, t2 = {&f, 2}, t3 = {&f, 3};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t1, NULL), 0);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa2, &t2, NULL), 0); /* queued */
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_CON, 0xb1, &t3, NULL), 0);
    fx_expect(&f, &f.a, CON_A1);
    fx_expect(&f, &f.b, "41 01 00 00 | b1 | b1 78");
    fx_expect_none(&f);

    f.now = 500;
    assert_int_equal(fx_icmp(&f, &f.a, CON_A1), TERN_ICMP_MATCHED);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_tag[0], 1);
    assert_int_equal(f.done_status[0], TERN_TX_UNREACHABLE);
    assert_int_equal(f.done_at[0], 500);
    assert_int_equal(f.n_unreach, 0); /* a CON is the endpoint's own business */
    fx_expect(&f, &f.a, CON_A2);
    fx_expect_none(&f);
    /* The same error again (a retransmission's) finds nothing to end. */
    assert_int_equal(fx_icmp(&f, &f.a, CON_A1), TERN_ICMP_IGNORED);
    assert_int_equal(fx_icmp(&f, &f.a, CON_A2), TERN_ICMP_MATCHED);
    assert_int_equal(f.n_done, 2);
    assert_int_equal(f.done_tag[1], 2);
    assert_int_equal(f.done_status[1], TERN_TX_UNREACHABLE);

    /* Only b's CON is left to retransmit. */
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 2000);
    fx_tick(&f, 2000);
    fx_expect(&f, &f.b, "41 01 00 00 | b1 | b1 78");
    fx_expect_none(&f);
    assert_int_equal(f.n_done, 2);
    /* A late ACK for a's first CON matches nothing any more. */
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 00"), 0);
    assert_int_equal(f.n_done, 2);

    tern_endpoint_stats st = fx_stats(&f);
    assert_int_equal(st.unreachable, 3);
    assert_int_equal(st.icmp_ignored, 1);
    assert_int_equal(st.timeouts, 0);
    assert_int_equal(st.retransmissions, 1);
    fx_end(&f);
}

/* Anyone can forge an ICMP error, and one that quotes only the IP and UDP
 * headers (RFC 792 asks for no more than 8 bytes past them, and those are
 * the UDP header) names no exchange: it must not end every CON to the
 * peer. A quote whose MID or token is not one of ours ends nothing either;
 * the retransmissions go on as if no error had come. */
static void test_rfc8085_s5_2_icmp_must_name_the_con(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t1 = {&f, 1};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t1, NULL), 0);
    fx_expect(&f, &f.a, CON_A1);
    f.now = 10;
    assert_int_equal(tern_endpoint_unreachable(f.ep, &f.a, NULL, 0, f.now), TERN_ICMP_IGNORED);
    assert_int_equal(fx_icmp(&f, &f.a, "41 01"), TERN_ICMP_IGNORED);       /* short */
    assert_int_equal(fx_icmp(&f, &f.a, "41 01 00 07 | a1"), TERN_ICMP_IGNORED); /* MID */
    assert_int_equal(fx_icmp(&f, &f.a, "41 01 00 00 | a7"), TERN_ICMP_IGNORED); /* token */
    assert_int_equal(fx_icmp(&f, &f.b, CON_A1), TERN_ICMP_IGNORED);        /* peer */
    assert_int_equal(fx_icmp(&f, &f.a, "61 45 00 00 | a1"), TERN_ICMP_IGNORED); /* an ACK */
    assert_int_equal(f.n_done, 0);
    assert_int_equal(f.n_unreach, 0);
    assert_int_equal(fx_stats(&f).icmp_ignored, 6);
    fx_tick(&f, 2000);
    fx_expect(&f, &f.a, CON_A1);
    /* A quote cut inside the token still names the CON by its MID. */
    assert_int_equal(fx_icmp(&f, &f.a, "41 01 00 00"), TERN_ICMP_MATCHED);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_status[0], TERN_TX_UNREACHABLE);
    fx_end(&f);
}

/* A NON is not tracked here: the error goes to on_unreachable with the
 * quoted MID and token, for the owner (the client's NON request, the
 * server's notification) to match; the result says whether it did.
 * Nothing the endpoint tracks changes. */
static void test_rfc7252_s4_3_unreachable_non_goes_to_its_owner(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t = {&f, 1};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_NON, 0xa1, NULL, NULL), 0);
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_CON, 0xb1, &t, NULL), 0);
    fx_drain(&f);
    f.now = 10;
    f.unreach_named = true; /* the owner knew that NON */
    assert_int_equal(fx_icmp(&f, &f.a, "51 01 00 00 | a1 | b1 78"), TERN_ICMP_MATCHED);
    assert_int_equal(f.n_done, 0);
    assert_int_equal(f.n_unreach, 1);
    assert_true(tern_addr_equal(&f.unreach_peer, &f.a));
    assert_int_equal(f.unreach_mid, 0);
    assert_int_equal(f.unreach_token_len, 1);
    assert_int_equal(f.unreach_at, 10);
    /* Cut before the token: the owner hears of the MID alone. */
    f.unreach_named = false; /* ... and not this time: counted as ignored */
    assert_int_equal(fx_icmp(&f, &f.a, "51 01 00 00"), TERN_ICMP_IGNORED);
    assert_int_equal(fx_stats(&f).icmp_ignored, 1);
    assert_int_equal(f.unreach_token_len, SIZE_MAX);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 2000);
    fx_end(&f);
}

/* Cancel: done(CANCELLED), no more retransmissions, the queue moves on. */
static void test_rfc7252_s4_2_cancel(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t1 = {&f, 1}, t2 = {&f, 2}, t3 = {&f, 3};
    int other;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t1, NULL), 0);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa2, &t2, NULL), 0);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa3, &t3, NULL), 0);
    fx_expect(&f, &f.a, CON_A1);
    /* Cancelling a queued one removes it from the line. */
    assert_int_equal(tern_endpoint_cancel(f.ep, &t2), 0);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_status[0], TERN_TX_CANCELLED);
    fx_expect_none(&f);
    /* Cancelling the active one lets the next queued one (t3) go. */
    f.now = 10;
    assert_int_equal(tern_endpoint_cancel(f.ep, &t1), 0);
    assert_int_equal(f.done_tag[1], 1);
    fx_expect(&f, &f.a, "41 01 00 02 | a3 | b1 78");
    assert_int_equal(tern_endpoint_cancel(f.ep, &t1), TERN_E_NOTFOUND);
    assert_int_equal(tern_endpoint_cancel(f.ep, &other), TERN_E_NOTFOUND);
    assert_int_equal(tern_endpoint_cancel(f.ep, NULL), TERN_E_NOTFOUND);
    /* An ACK for the cancelled MID matches nothing now. */
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 00"), 0);
    assert_int_equal(f.n_done, 2);
    fx_end(&f); /* t3 ends with CANCELLED in free */
    assert_int_equal(f.n_done, 3);
    assert_int_equal(f.done_tag[2], 3);
    assert_int_equal(f.done_status[2], TERN_TX_CANCELLED);
}

/* Re-entrancy: on_response cancels the exchange its piggybacked response
 * belongs to; done is then called once, with CANCELLED, not ACKED too. */
static void cancel_in_response(fx *f, const tern_msg *m, uint64_t now) {
    (void)m;
    (void)now;
    assert_int_equal(tern_endpoint_cancel(f->ep, f->hook_data), 0);
}

static void test_rfc7252_s5_2_1_cancel_from_on_response(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t = {&f, 1};
    f.hook_data = &t;
    f.resp_hook = cancel_in_response;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, NULL), 0);
    fx_drain(&f);
    assert_int_equal(fx_recv(&f, &f.a, "61 45 00 00 | a1 | ff 6f 6b"), 0);
    assert_string_equal(f.log, "rd");
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_status[0], TERN_TX_CANCELLED);
    fx_end(&f);
    assert_int_equal(f.n_done, 1);
}

/* tern_endpoint_free ends active and queued CONs with CANCELLED, and a
 * send from that done() is refused. */
static void send_in_free_hook(fx *f, fx_tx *t, tern_tx_status st, uint64_t now) {
    (void)t;
    (void)now;
    assert_int_equal(st, TERN_TX_CANCELLED);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0);
    assert_int_equal(tern_endpoint_send_msg(f->ep, &f->a, &b, now, NULL, NULL), TERN_E_STATE);
}

static void test_rfc7252_s4_2_free_cancels_everything(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t1 = {&f, 1}, t2 = {&f, 2};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t1, NULL), 0);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa2, &t2, NULL), 0);
    f.done_hook = send_in_free_hook;
    fx_end(&f);
    assert_int_equal(f.n_done, 2);
}

/* Arguments: a message over max_message is refused with NOSPACE and
 * consumes nothing. */
static void test_rfc7252_s4_6_message_too_big(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_message = 64;
    fx_start(&f);
    static const uint8_t big[100];
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_PUT, 0);
    tern_msgb_set_payload(&b, big, sizeof big);
    assert_int_equal(tern_endpoint_send_msg(f.ep, &f.a, &b, 0, NULL, NULL), TERN_E_NOSPACE);
    b.type = TERN_TYPE_NON;
    assert_int_equal(tern_endpoint_send_msg(f.ep, &f.a, &b, 0, NULL, NULL), TERN_E_NOSPACE);
    fx_expect_none(&f);
    uint16_t mid;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, NULL, &mid), 0);
    assert_int_equal(mid, 0); /* no MID was spent on the refused ones */
    fx_end(&f);
}

/* Tokens: cfg.token_len bytes from the random source. */
static void test_rfc7252_s5_3_1_new_token(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.rnd = 0x5a;
    f.cfg.token_len = 6;
    fx_start(&f);
    uint8_t tok[TERN_TOKEN_MAX] = {0};
    assert_int_equal(tern_endpoint_new_token(f.ep, tok), 6);
    for (int i = 0; i < 6; i++) assert_int_equal(tok[i], 0x5a);
    assert_int_equal(tok[6], 0);
    fx_end(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s4_2_retransmit_schedule_exact),
        cmocka_unit_test(test_rfc7252_s4_8_initial_timeout_jitter_bounds),
        cmocka_unit_test(test_rfc7252_s4_8_initial_timeout_upper_edge),
        cmocka_unit_test(test_rfc7252_s4_8_custom_parameters),
        cmocka_unit_test(test_rfc7252_s4_8_jitter_formula),
        cmocka_unit_test(test_rfc7252_s4_2_ack_stops_retransmission),
        cmocka_unit_test(test_rfc7252_s5_2_1_piggybacked_response_before_done),
        cmocka_unit_test(test_rfc7252_s4_2_ack_from_other_peer_ignored),
        cmocka_unit_test(test_rfc7252_s4_2_rst_ends_exchange),
        cmocka_unit_test(test_rfc7252_s4_3_ping_via_send_msg),
        cmocka_unit_test(test_rfc7252_s4_4_mid_sequence_per_peer),
        cmocka_unit_test(test_rfc7252_s4_7_nstart1_queues_second_con),
        cmocka_unit_test(test_rfc7252_s4_7_nstart2_fifo),
        cmocka_unit_test(test_rfc7252_s4_2_reentrant_send_from_done),
        cmocka_unit_test(test_rfc7252_s4_2_unreachable_ends_the_quoted_con),
        cmocka_unit_test(test_rfc8085_s5_2_icmp_must_name_the_con),
        cmocka_unit_test(test_rfc7252_s4_3_unreachable_non_goes_to_its_owner),
        cmocka_unit_test(test_rfc7252_s4_2_cancel),
        cmocka_unit_test(test_rfc7252_s5_2_1_cancel_from_on_response),
        cmocka_unit_test(test_rfc7252_s4_2_free_cancels_everything),
        cmocka_unit_test(test_rfc7252_s4_6_message_too_big),
        cmocka_unit_test(test_rfc7252_s5_3_1_new_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
