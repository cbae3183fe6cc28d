/* SPDX-License-Identifier: BSD-2-Clause */
/* test_endpoint_limits.c - every full table has a defined, RFC-sane outcome
 * (DESIGN.md "Memory"): 5.03 Service Unavailable with Max-Age (RFC 7252
 * section 5.9.3.4) for a full pending or dedup table, eviction of the oldest
 * dedup entry (section 4.5) or least recently used idle peer (4.4),
 * TERN_E_FULL for exchanges and pinned peers, dropped datagrams for a full
 * send queue (4.2 recovers them), and config validation. */
#include "test_endpoint_fixture.h"

/* Section 5.9.3.4: no pending slot -> 5.03 with Max-Age, piggybacked for a
 * CON, as a NON (fresh MID) for a NON; no on_request, no state. */
static void test_rfc7252_s5_9_3_4_pending_full_503_max_age(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    f.cfg.max_pending = 1;
    f.cfg.busy_max_age_s = 60;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 34 | c1 | b1 78"), 0);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 35 | c2 | b1 78"), 0);
    /* ACK 5.03 MID 1235 token c2 | Max-Age (delta 14 -> 13+1, len 1) = 60 */
    fx_expect(&f, &f.a, "61 a3 12 35 | c2 | d1 01 3c");
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 35 | c2 | b1 78"), 0);
    fx_expect(&f, &f.a, "61 a3 12 35 | c2 | d1 01 3c"); /* stateless: again */
    assert_int_equal(fx_recv(&f, &f.b, "51 01 12 36 | c3 | b1 78"), 0);
    fx_expect(&f, &f.b, "51 a3 00 00 | c3 | d1 01 3c");
    fx_expect_none(&f);
    assert_int_equal(f.n_req, 1);
    assert_int_equal(fx_stats(&f).busy_answers, 3);
    /* Once the first is answered the retried request gets through. */
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_CHANGED, 0);
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 0), 0);
    fx_expect(&f, &f.a, "61 44 12 34 | c1");
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 35 | c2 | b1 78"), 0);
    assert_int_equal(f.n_req, 2);
    fx_end(&f);

    /* A two-byte Max-Age: 300 s = 01 2c */
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    f.cfg.max_pending = 1;
    f.cfg.busy_max_age_s = 300;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 34 | c1 | b1 78"), 0);
    assert_int_equal(fx_recv(&f, &f.a, "40 01 12 35 | b1 78"), 0);
    fx_expect(&f, &f.a, "60 a3 12 35 | d2 01 01 2c");
    fx_end(&f);
}

/* Section 4.5: dedup entries of pending requests are pinned; when every
 * entry is pinned a new request cannot be deduplicated and gets 5.03. */
static void test_rfc7252_s4_5_dedup_all_pinned_503(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    f.cfg.max_dedup = 1;
    f.cfg.max_pending = 2;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 34 | c1 | b1 78"), 0);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 35 | c2 | b1 78"), 0);
    fx_expect(&f, &f.a, "61 a3 12 35 | c2 | d1 01 05");
    assert_int_equal(f.n_req, 1);
    assert_int_equal(fx_stats(&f).busy_answers, 1);
    assert_int_equal(fx_stats(&f).dedup_evicted, 0);
    fx_end(&f);
}

/* Section 4.5: a full dedup table evicts its oldest entry (counted); the
 * evicted request, retransmitted, is then processed again - the price of a
 * table too small for the load. */
static void test_rfc7252_s4_5_dedup_full_evicts_oldest(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_dedup = 2;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 01 | c1 | b1 78"), 0);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 02 | c2 | b1 78"), 0);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 03 | c3 | b1 78"), 0);
    assert_int_equal(fx_stats(&f).dedup_evicted, 1);
    fx_drain(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 03 | c3 | b1 78"), 0);
    fx_expect(&f, &f.a, "61 45 00 03 | c3 | ff 6f 6b");
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 02 | c2 | b1 78"), 0);
    fx_expect(&f, &f.a, "61 45 00 02 | c2 | ff 6f 6b");
    assert_int_equal(f.n_req, 3);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 01 | c1 | b1 78"), 0);
    assert_int_equal(f.n_req, 4);
    assert_int_equal(fx_stats(&f).dedup_evicted, 2);
    fx_end(&f);
}

/* Section 4.5: an entry past its lifetime is reclaimed, not "evicted". */
static void test_rfc7252_s4_5_dedup_expired_reuse_not_counted(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_dedup = 1;
    f.cfg.exchange_lifetime_ms = 10000;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 01 | c1 | b1 78"), 0);
    f.now = 10000;
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 02 | c2 | b1 78"), 0);
    assert_int_equal(fx_stats(&f).dedup_evicted, 0);
    f.now = 15000;
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 03 | c3 | b1 78"), 0);
    assert_int_equal(fx_stats(&f).dedup_evicted, 1);
    fx_end(&f);
}

/* Section 4.5: a pinned oldest entry is skipped; the next oldest goes, and
 * the pending request's duplicates are still recognised. */
static void test_rfc7252_s4_5_dedup_pinned_entry_survives_eviction(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    f.cfg.max_dedup = 2;
    f.cfg.max_pending = 2;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 01 | c1 | b1 78"), 0); /* stays pending */
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 02 | c2 | b1 78"), 0);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_CONTENT, 0);
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[1], &b, 0), 0);
    fx_expect(&f, &f.a, "61 45 00 02 | c2");
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 03 | c3 | b1 78"), 0);
    assert_int_equal(fx_stats(&f).dedup_evicted, 1);
    assert_int_equal(fx_stats(&f).busy_answers, 0);
    f.now = 500;
    assert_int_equal(fx_recv(&f, &f.a, "41 01 00 01 | c1 | b1 78"), 0);
    fx_expect(&f, &f.a, "60 00 00 01"); /* duplicate of the pending one: ACK */
    assert_int_equal(f.n_req, 3);
    fx_end(&f);
}

/* Section 4.4: a full peer table evicts the least recently used peer that has
 * nothing in flight (its MID sequence starts afresh); when every peer has
 * tracked CONs, sending to a new peer is TERN_E_FULL. */
static void test_rfc7252_s4_4_peer_table_full(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_peers = 2;
    fx_start(&f);
    tern_addr c = f.a;
    c.bytes[3] = 3;
    uint16_t mid;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_NON, 1, NULL, &mid), 0);
    assert_int_equal(mid, 0);
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_NON, 2, NULL, &mid), 0);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_NON, 3, NULL, &mid), 0);
    assert_int_equal(mid, 1);
    assert_int_equal(fx_send(&f, &c, TERN_TYPE_NON, 4, NULL, &mid), 0); /* evicts b */
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_NON, 5, NULL, &mid), 0);
    assert_int_equal(mid, 2); /* a kept its sequence */
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_NON, 6, NULL, &mid), 0); /* evicts c */
    assert_int_equal(mid, 0); /* b starts afresh */
    fx_drain(&f);

    /* Pin both peers with CONs. */
    fx_tx t = {&f, 1};
    uint16_t ma;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 7, &t, &ma), 0);
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_CON, 8, &t, NULL), 0);
    assert_int_equal(fx_send(&f, &c, TERN_TYPE_NON, 9, NULL, NULL), TERN_E_FULL);
    assert_int_equal(fx_send(&f, &c, TERN_TYPE_CON, 9, &t, NULL), TERN_E_FULL);
    fx_drain(&f);
    /* a's CON is acknowledged: a is idle again and can make room. */
    uint8_t ack[4] = {0x60, 0x00, (uint8_t)(ma >> 8), (uint8_t)ma};
    assert_int_equal(tern_endpoint_recv(f.ep, &f.a, ack, 4, 0), 0);
    assert_int_equal(fx_send(&f, &c, TERN_TYPE_NON, 9, NULL, &mid), 0);
    assert_int_equal(mid, 0);
    /* Receiving needs no peer entry: requests from a fourth address work. */
    tern_addr d = f.a;
    d.bytes[3] = 4;
    assert_int_equal(fx_recv(&f, &d, "41 01 12 34 | c1 | b1 78"), 0);
    assert_int_equal(f.n_req, 1);
    fx_end(&f);
}

/* No exchange slot: TERN_E_FULL for a CON (a NON needs none). */
static void test_rfc7252_s4_2_exchange_table_full(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_exchanges = 1;
    fx_start(&f);
    fx_tx t = {&f, 1};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 1, &t, NULL), 0);
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_CON, 2, &t, NULL), TERN_E_FULL);
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 2, &t, NULL), TERN_E_FULL);
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_NON, 3, NULL, NULL), 0);
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 00"), 0);
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_CON, 4, &t, NULL), 0);
    fx_end(&f);
}

/* A separate response needs an exchange slot: without one, respond says
 * TERN_E_FULL and the id stays valid for a later try. */
static void test_rfc7252_s5_2_2_separate_response_without_slot(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    f.cfg.max_exchanges = 1;
    f.cfg.ack_delay_ms = 0;
    fx_start(&f);
    fx_tx t = {&f, 1};
    assert_int_equal(fx_send(&f, &f.b, TERN_TYPE_CON, 1, &t, NULL), 0);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 34 | c1 | b1 78"), 0);
    fx_drain(&f);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_CONTENT, 0);
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 0), TERN_E_FULL);
    assert_int_equal(tern_endpoint_request_info(f.ep, f.ids[0], NULL, NULL, NULL), 0);
    assert_int_equal(fx_recv(&f, &f.b, "60 00 00 00"), 0);
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 0), 0);
    fx_expect(&f, &f.a, "41 45 00 00 | c1");
    fx_end(&f);
}

/* A full outbox drops the datagram (counted); a CON is still tracked and
 * its retransmission goes out; a NON is refused with TERN_E_FULL. */
static void test_rfc7252_s4_2_tx_queue_full(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_message = 64;
    f.cfg.tx_queue_bytes = 3 * (32 + 8); /* three 8-byte datagrams */
    fx_start(&f);
    fx_tx t = {&f, 1};
    tern_addr p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = f.a;
        p[i].bytes[3] = (uint8_t)(10 + i);
    }
    for (int i = 0; i < 3; i++) assert_int_equal(fx_send(&f, &p[i], TERN_TYPE_CON, 1, &t, NULL), 0);
    f.now = 100;
    assert_int_equal(fx_send(&f, &p[3], TERN_TYPE_CON, 4, &t, NULL), 0);
    assert_int_equal(fx_stats(&f).tx_dropped, 1);
    assert_int_equal(fx_send(&f, &p[3], TERN_TYPE_NON, 5, NULL, NULL), TERN_E_FULL);
    assert_int_equal(fx_stats(&f).tx_dropped, 2);
    /* tern_endpoint_send with a short buffer leaves the datagram queued. */
    uint8_t small[4];
    assert_int_equal(tern_endpoint_send(f.ep, small, sizeof small, NULL), TERN_E_NOSPACE);
    fx_expect(&f, &p[0], "41 01 00 00 | 01 | b1 78");
    fx_drain(&f);
    fx_tick(&f, 2000);
    fx_drain(&f);
    fx_tick(&f, 2100);
    fx_expect(&f, &p[3], "41 01 00 00 | 04 | b1 78");
    fx_expect_none(&f);
    /* The NON did not spend a MID: the next message to p[3] has MID 1. */
    uint16_t mid;
    assert_int_equal(fx_send(&f, &p[3], TERN_TYPE_NON, 6, NULL, &mid), 0);
    assert_int_equal(mid, 1);
    fx_end(&f);
}

/* The outbox keeps its records intact when it moves them: with room for
 * two 39-byte records in 100 bytes and one always left waiting, every other
 * append first moves the waiting record to the front. */
static void test_rfc7252_s4_outbox_compacts(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_message = 64;
    f.cfg.tx_queue_bytes = 100;
    fx_start(&f);
    uint16_t mids[50];
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_NON, 0, NULL, &mids[0]), 0);
    for (int i = 1; i < 50; i++) {
        assert_int_equal(fx_send(&f, i % 2 ? &f.b : &f.a, TERN_TYPE_NON, (uint8_t)i, NULL,
                                 &mids[i]), 0);
        uint8_t buf[64];
        tern_msg m;
        tern_addr to;
        int n = fx_pop(&f, buf, sizeof buf, &to);
        assert_int_equal(n, 7);
        assert_int_equal(tern_msg_parse(&m, buf, (size_t)n), 0);
        assert_int_equal(m.mid, mids[i - 1]);
        assert_int_equal(m.token[0], i - 1);
        assert_true(tern_addr_equal(&to, (i - 1) % 2 ? &f.b : &f.a));
    }
    assert_int_equal(fx_pop(&f, (uint8_t[64]){0}, 64, NULL), 7);
    fx_expect_none(&f);
    assert_int_equal(fx_stats(&f).tx_dropped, 0);
    fx_end(&f);
}

/* Appending after a move, and dropping (counted) when even a move leaves no
 * room: 36-byte records (4-byte RSTs answering pings) in 120 bytes. */
static void test_rfc7252_s4_outbox_full_after_compaction(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_message = 64;
    f.cfg.tx_queue_bytes = 120;
    fx_start(&f);
    char ping[16];
    for (int i = 0; i < 3; i++) { /* A B C at 0, 36, 72 */
        snprintf(ping, sizeof ping, "40 00 00 %02x", i);
        assert_int_equal(fx_recv(&f, &f.a, ping), 0);
    }
    fx_expect(&f, &f.a, "70 00 00 00");
    fx_expect(&f, &f.a, "70 00 00 01");
    for (int i = 3; i < 6; i++) { /* C moves to 0, D at 36, E at 72, F: no room */
        snprintf(ping, sizeof ping, "40 00 00 %02x", i);
        assert_int_equal(fx_recv(&f, &f.a, ping), 0);
    }
    assert_int_equal(fx_stats(&f).tx_dropped, 1);
    fx_expect(&f, &f.a, "70 00 00 02");
    fx_expect(&f, &f.a, "70 00 00 03");
    fx_expect(&f, &f.a, "70 00 00 04");
    fx_expect_none(&f);
    fx_end(&f);
}

/* tern_addr_equal: same length and same bytes. */
static void test_rfc7252_s4_addr_equal_and_hash(void **state) {
    (void)state;
    tern_addr a = {.len = 6, .bytes = {10, 0, 0, 1, 0x16, 0x33}}, b = a, c = a;
    c.bytes[5] = 0x34;
    assert_true(tern_addr_equal(&a, &b));
    assert_false(tern_addr_equal(&a, &c));
    b.len = 5;
    assert_false(tern_addr_equal(&a, &b));
}

/* tern_endpoint_new refuses configs it cannot honour, with TERN_E_INVAL. */
static void test_rfc7252_s4_8_config_validation(void **state) {
    (void)state;
    tern_endpoint_config base, c;
    uint8_t rnd = 0;
    tern_endpoint *ep = NULL;
    tern_endpoint_config_default(&base);
    /* No random source: the sans-I/O core has none of its own. */
    assert_int_equal(tern_endpoint_new(&ep, &base, NULL, NULL), TERN_E_INVAL);
    assert_null(ep);
    base.random = tt_random_fixed;
    base.random_ctx = &rnd;
    assert_int_equal(tern_endpoint_new(&ep, &base, NULL, NULL), 0);
    assert_non_null(ep);
    tern_endpoint_free(ep);
    tern_endpoint_free(NULL);
    assert_int_equal(tern_endpoint_new(NULL, &base, NULL, NULL), TERN_E_INVAL);
    /* NULL config: all defaults, and the defaults have no random source. */
    assert_int_equal(tern_endpoint_new(&ep, NULL, NULL, NULL), TERN_E_INVAL);
#define BAD(field, value)                                                   \
    do {                                                                    \
        c = base;                                                           \
        c.field = value;                                                    \
        assert_int_equal(tern_endpoint_new(&ep, &c, NULL, NULL), TERN_E_INVAL); \
        assert_null(ep);                                                    \
    } while (0)
    BAD(ack_random_factor_milli, 999);
    BAD(ack_timeout_ms, 4000000000u); /* jitter product over 32 bits */
    BAD(max_retransmit, 21);
    BAD(ack_delay_ms, 247000);
    BAD(max_pending, 65536);
    BAD(max_message, 63);
    BAD(max_message, 65536);
    BAD(tx_queue_bytes, 1152 + 31);
    BAD(token_len, 3);
    BAD(token_len, 9);
    BAD(size, 0); /* not made by tern_endpoint_config_default */
#undef BAD
}

/* tern/config.h, rule 2: 0 where 0 is meaningless takes the default; where
 * it is a value (max_retransmit, ack_delay_ms, busy_max_age_s) it is that
 * value. Seen on the wire: a zeroed capacity still works, and
 * max_retransmit 0 gives up after one transmission and ACK_TIMEOUT. */
static void test_config_zero_rule(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cfg.max_peers = f.cfg.max_exchanges = f.cfg.max_pending = f.cfg.max_dedup = 0;
    f.cfg.max_message = f.cfg.tx_queue_bytes = 0;
    f.cfg.ack_timeout_ms = f.cfg.ack_random_factor_milli = f.cfg.nstart = 0;
    f.cfg.max_retransmit = 0;
    fx_start(&f);
    fx_tx t = {&f, 7};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 1, &t, NULL), 0);
    fx_drain(&f);
    fx_tick(&f, 1999);
    fx_expect_none(&f);
    assert_int_equal(f.n_done, 0);
    fx_tick(&f, 2000); /* no retransmission: the one timeout ends it */
    fx_expect_none(&f);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_status[0], TERN_TX_TIMEOUT);
    fx_end(&f);
}

/* tern/config.h, rule 3: a program built against an older, shorter struct
 * (its size says so) gets defaults for the fields it does not know; one
 * built against a newer, longer struct is accepted only when the bytes
 * this library does not know are zero. */
static void test_config_size_rule(void **state) {
    (void)state;
    uint8_t rnd = 0;
    struct {
        tern_endpoint_config c;
        uint8_t newer[16];
    } big;
    memset(&big, 0, sizeof big);
    tern_endpoint_config_default(&big.c);
    big.c.random = tt_random_fixed;
    big.c.random_ctx = &rnd;
    big.c.size = (uint32_t)sizeof big;
    tern_endpoint *ep = NULL;
    assert_int_equal(tern_endpoint_new(&ep, &big.c, NULL, NULL), 0);
    tern_endpoint_free(ep);
    big.newer[3] = 1; /* uses something this library does not have */
    assert_int_equal(tern_endpoint_new(&ep, &big.c, NULL, NULL), TERN_E_INVAL);
    assert_null(ep);
    /* Shorter than the first version of the struct: not a config. */
    big.newer[3] = 0;
    big.c.size = 8;
    assert_int_equal(tern_endpoint_new(&ep, &big.c, NULL, NULL), TERN_E_INVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s5_9_3_4_pending_full_503_max_age),
        cmocka_unit_test(test_rfc7252_s4_5_dedup_all_pinned_503),
        cmocka_unit_test(test_rfc7252_s4_5_dedup_full_evicts_oldest),
        cmocka_unit_test(test_rfc7252_s4_5_dedup_expired_reuse_not_counted),
        cmocka_unit_test(test_rfc7252_s4_5_dedup_pinned_entry_survives_eviction),
        cmocka_unit_test(test_rfc7252_s4_4_peer_table_full),
        cmocka_unit_test(test_rfc7252_s4_2_exchange_table_full),
        cmocka_unit_test(test_rfc7252_s5_2_2_separate_response_without_slot),
        cmocka_unit_test(test_rfc7252_s4_2_tx_queue_full),
        cmocka_unit_test(test_rfc7252_s4_outbox_compacts),
        cmocka_unit_test(test_rfc7252_s4_outbox_full_after_compaction),
        cmocka_unit_test(test_rfc7252_s4_addr_equal_and_hash),
        cmocka_unit_test(test_rfc7252_s4_8_config_validation),
        cmocka_unit_test(test_config_zero_rule),
        cmocka_unit_test(test_config_size_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
