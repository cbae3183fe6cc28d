/* SPDX-License-Identifier: BSD-2-Clause */
/* test_endpoint_server.c - the receiving side of RFC 7252 sections 4.2,
 * 4.3, 4.5, 5.2, 5.3.2 and 5.4.1 (and RFC 7641 section 3.6): dispatch by
 * type and code, deduplication with replay, piggybacked and separate
 * responses, empty ACK timing, format errors, rejecting a NON request.
 *
 * Vectors (peer a, MID 0x1234, token c1):
 *   CON GET /x   41 01 12 34 | c1 | b1 78      (b1 = Uri-Path, len 1; 78 "x")
 *   ACK 2.05 ok  61 45 12 34 | c1 | ff 6f 6b   (ff payload marker, "ok")
 *   empty ACK    60 00 12 34
 *   RST          70 00 12 34 */
#include "test_endpoint_fixture.h"

#define CON_GET "41 01 12 34 | c1 | b1 78"
#define NON_GET "51 01 12 34 | c1 | b1 78"
#define ACK_OK "61 45 12 34 | c1 | ff 6f 6b"
#define EMPTY_ACK "60 00 12 34"

static tern_msgb ok_msgb(void) {
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_CONTENT, 0);
    tern_msgb_set_payload(&b, "ok", 2);
    return b;
}

/* Section 5.2.1: answered during on_request -> piggybacked in the ACK with
 * the request's MID and token. */
static void test_rfc7252_s5_2_1_piggybacked_response_bytes(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    assert_int_equal(f.n_req, 1);
    assert_int_equal(f.req_type, TERN_TYPE_CON);
    assert_int_equal(f.req_code, TERN_CODE_GET);
    assert_int_equal(f.req_mid, 0x1234);
    assert_true(tern_addr_equal(&f.req_peer, &f.a));
    fx_expect(&f, &f.a, ACK_OK);
    fx_expect_none(&f);
    /* Nothing left to do: the idle loop may sleep (dedup expiry is lazy). */
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    /* The id is spent. */
    tern_msgb b = ok_msgb();
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 0), TERN_E_NOTFOUND);
    fx_end(&f);
}

/* Section 4.5: a duplicate CON gets the identical ACK again and the request
 * is processed once. */
static void test_rfc7252_s4_5_con_duplicate_replays_piggybacked(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, ACK_OK);
    for (uint64_t t = 2000; t <= 30000; t *= 2) {
        f.now = t;
        assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
        fx_expect(&f, &f.a, ACK_OK);
        fx_expect_none(&f);
    }
    assert_int_equal(f.n_req, 1);
    assert_int_equal(fx_stats(&f).duplicates, 4);
    fx_end(&f);
}

/* Section 4.5 / 5.2.3: a NON request gets a NON response with a fresh MID;
 * its duplicate is dropped without a second on_request. */
static void test_rfc7252_s4_5_non_duplicate_dropped(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, NON_GET), 0);
    fx_expect(&f, &f.a, "51 45 00 00 | c1 | ff 6f 6b"); /* NON 2.05, our MID 0 */
    f.now = 1000;
    assert_int_equal(fx_recv(&f, &f.a, NON_GET), 0);
    fx_expect_none(&f);
    assert_int_equal(f.n_req, 1);
    assert_int_equal(fx_stats(&f).duplicates, 1);
    fx_end(&f);
}

/* Section 4.5: dedup lasts EXCHANGE_LIFETIME for a CON; after that the same
 * MID is a new message and is delivered again. */
static void test_rfc7252_s4_5_con_dedup_expires_after_exchange_lifetime(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, ACK_OK);
    f.now = 246999;
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, ACK_OK);
    assert_int_equal(f.n_req, 1);
    f.now = 247000;
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, ACK_OK);
    assert_int_equal(f.n_req, 2);
    assert_int_equal(fx_stats(&f).dedup_evicted, 0);
    fx_end(&f);
}

/* Section 4.5: a NON is remembered for NON_LIFETIME. Custom lifetimes are
 * honoured. */
static void test_rfc7252_s4_5_non_dedup_expires_after_non_lifetime(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, NON_GET), 0);
    fx_drain(&f);
    f.now = 144999;
    assert_int_equal(fx_recv(&f, &f.a, NON_GET), 0);
    assert_int_equal(f.n_req, 1);
    f.now = 145000;
    assert_int_equal(fx_recv(&f, &f.a, NON_GET), 0);
    assert_int_equal(f.n_req, 2);
    fx_end(&f);

    fx_init(&f);
    f.cfg.exchange_lifetime_ms = 10000;
    f.cfg.non_lifetime_ms = 5000;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    assert_int_equal(fx_recv(&f, &f.b, NON_GET), 0);
    f.now = 5000;
    assert_int_equal(fx_recv(&f, &f.b, NON_GET), 0);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    assert_int_equal(f.n_req, 3); /* NON new again, CON still a duplicate */
    f.now = 10000;
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    assert_int_equal(f.n_req, 4);
    fx_end(&f);
}

/* Section 4.5: MIDs are per sender: the same MID from another peer is new. */
static void test_rfc7252_s4_5_same_mid_other_peer_is_new(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    assert_int_equal(fx_recv(&f, &f.b, CON_GET), 0);
    assert_int_equal(f.n_req, 2);
    fx_expect(&f, &f.a, ACK_OK);
    fx_expect(&f, &f.b, ACK_OK);
    fx_end(&f);
}

/* Section 5.2.2: not answered in time -> empty ACK after ack_delay_ms, then
 * the answer as a separate CON response (fresh MID, request's token),
 * retransmitted until the client ACKs it. */
static void test_rfc7252_s5_2_2_separate_response_flow(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    assert_int_equal(f.n_req, 1);
    fx_expect_none(&f);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 1000);
    fx_tick(&f, 999);
    fx_expect_none(&f);
    fx_tick(&f, 1000);
    fx_expect(&f, &f.a, EMPTY_ACK);
    fx_expect_none(&f);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 247000); /* pending expiry */

    f.now = 5000;
    tern_msgb b = ok_msgb();
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 5000), 0);
    assert_int_equal(b.type, TERN_TYPE_CON);
    assert_int_equal(b.mid, 0);
    fx_expect(&f, &f.a, "41 45 00 00 | c1 | ff 6f 6b");
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 7000);
    fx_tick(&f, 7000);
    fx_expect(&f, &f.a, "41 45 00 00 | c1 | ff 6f 6b");
    /* A retransmitted request meanwhile gets the empty ACK again, not a
     * second on_request. */
    f.now = 7050;
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, EMPTY_ACK);
    assert_int_equal(f.n_req, 1);
    f.now = 7100;
    assert_int_equal(fx_recv(&f, &f.a, "60 00 00 00"), 0); /* client ACKs MID 0 */
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    fx_tick(&f, 20000);
    fx_expect_none(&f);
    assert_int_equal(fx_stats(&f).retransmissions, 1);
    fx_end(&f);
}

/* Section 5.2.2: answered later but before the empty ACK was due: still
 * piggybacked, no empty ACK, and duplicates get the piggybacked bytes. */
static void test_rfc7252_s5_2_2_answer_within_ack_delay_is_piggybacked(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    f.now = 400;
    tern_msgb b = ok_msgb();
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 400), 0);
    assert_int_equal(b.type, TERN_TYPE_ACK);
    fx_expect(&f, &f.a, ACK_OK);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    fx_tick(&f, 1000);
    fx_expect_none(&f);
    f.now = 2000;
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, ACK_OK);
    fx_end(&f);
}

/* ack_delay_ms 0: the empty ACK leaves as soon as on_request returns. */
static void test_rfc7252_s5_2_2_ack_delay_zero_acks_at_once(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    f.cfg.ack_delay_ms = 0;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, EMPTY_ACK);
    fx_expect_none(&f);
    tern_msgb b = ok_msgb();
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 10), 0);
    fx_expect(&f, &f.a, "41 45 00 00 | c1 | ff 6f 6b");
    fx_end(&f);
}

/* Section 4.5/5.2.2: a duplicate CON while the request is pending means the
 * client is retransmitting: ACK now (and again for later copies), never a
 * second on_request, no second ACK at the scheduled time. */
static void test_rfc7252_s4_5_duplicate_con_while_pending_gets_empty_ack(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect_none(&f);
    f.now = 300;
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, EMPTY_ACK);
    fx_tick(&f, 1000);
    fx_expect_none(&f);
    f.now = 2300;
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, EMPTY_ACK);
    assert_int_equal(f.n_req, 1);
    /* The ACK went out, so the answer is separate. */
    tern_msgb b = ok_msgb();
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 2400), 0);
    assert_int_equal(b.type, TERN_TYPE_CON);
    fx_expect(&f, &f.a, "41 45 00 00 | c1 | ff 6f 6b");
    fx_end(&f);
}

/* Section 5.2.3: a NON request answered later gets a NON response. */
static void test_rfc7252_s5_2_3_non_request_non_response(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, NON_GET), 0);
    fx_tick(&f, 5000);
    fx_expect_none(&f); /* no ACK for a NON */
    tern_msgb b = ok_msgb();
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 5000), 0);
    fx_expect(&f, &f.a, "51 45 00 00 | c1 | ff 6f 6b");
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX); /* untracked */
    fx_end(&f);
}

/* Section 5.4.1: an unrecognised critical option in a NON "MUST cause the
 * message to be rejected"; section 4.3: that "MAY involve sending a matching
 * Reset message, and apart from that the message is ignored". The vector
 * carries option 65001 (odd: critical; delta nibble 14: 0xfcdc + 269):
 *   NON GET 51 01 12 34 | c1 | e1 fc dc 7a (delta 14, len 1, "z")
 * tern_endpoint_reject sends exactly one RST with the request's MID, no
 * response; the id is spent; a copy of the NON is dropped (section 4.5)
 * without a second RST. */
#define NON_GET_OPT65001 "51 01 12 34 | c1 | e1 fc dc 7a"
static void test_rfc7252_s5_4_1_reject_non_request_with_rst(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, NON_GET_OPT65001), 0);
    assert_int_equal(f.n_req, 1);
    assert_int_equal(f.req_type, TERN_TYPE_NON);
    assert_int_equal(tern_endpoint_reject(f.ep, f.ids[0], 0), 0);
    fx_expect(&f, &f.a, "70 00 12 34");
    fx_expect_none(&f);
    /* Spent: neither a second rejection nor an answer. */
    assert_int_equal(tern_endpoint_reject(f.ep, f.ids[0], 0), TERN_E_NOTFOUND);
    tern_msgb b = ok_msgb();
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 0), TERN_E_NOTFOUND);
    assert_int_equal(tern_endpoint_request_info(f.ep, f.ids[0], NULL, NULL, NULL),
                     TERN_E_NOTFOUND);
    /* The duplicate within NON_LIFETIME: dropped, no RST, no on_request. */
    f.now = 1000;
    assert_int_equal(fx_recv(&f, &f.a, NON_GET_OPT65001), 0);
    fx_expect_none(&f);
    assert_int_equal(f.n_req, 1);
    tern_endpoint_stats st = fx_stats(&f);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    fx_end(&f);
}

/* Section 5.4.1: a CON request with an unrecognised critical option must be
 * answered (4.02), so tern_endpoint_reject refuses it and the id stays
 * valid for the answer, which goes out piggybacked. */
static void test_rfc7252_s5_4_1_reject_refuses_con_request(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 34 | c1 | e1 fc dc 7a"), 0);
    assert_int_equal(tern_endpoint_reject(f.ep, f.ids[0], 0), TERN_E_STATE);
    fx_expect_none(&f);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_BAD_OPTION, 0);
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 0), 0);
    fx_expect(&f, &f.a, "61 82 12 34 | c1"); /* ACK 4.02, same MID and token */
    fx_expect_none(&f);
    assert_int_equal(tern_endpoint_reject(f.ep, f.ids[0], 0), TERN_E_NOTFOUND);
    assert_int_equal(tern_endpoint_reject(f.ep, 0, 0), TERN_E_NOTFOUND);
    assert_int_equal(fx_stats(&f).rejected, 0);
    fx_end(&f);
}

/* Section 4.3: an Empty CON is a ping, answered with RST, statelessly. */
static void test_rfc7252_s4_3_ping_answered_with_rst(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "40 00 ab cd"), 0);
    fx_expect(&f, &f.a, "70 00 ab cd");
    assert_int_equal(fx_recv(&f, &f.a, "40 00 ab cd"), 0); /* again: no dedup */
    fx_expect(&f, &f.a, "70 00 ab cd");
    assert_int_equal(f.n_req, 0);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    assert_int_equal(fx_stats(&f).duplicates, 0);
    fx_end(&f);
}

/* Section 4.3: an Empty NON is ignored. */
static void test_rfc7252_s4_3_empty_non_dropped(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "50 00 ab cd"), 0);
    fx_expect_none(&f);
    fx_end(&f);
}

/* Section 4.2: a CON with a format error is rejected with a RST carrying
 * its MID; the parse error is returned and counted. */
static void test_rfc7252_s4_2_format_error_con_rst_same_mid(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    /* TKL 9 (reserved) */
    assert_int_equal(fx_recv(&f, &f.a, "49 01 12 34 | 01 02 03 04 05 06 07 08 09"),
                     TERN_E_FORMAT);
    fx_expect(&f, &f.a, "70 00 12 34");
    /* option delta nibble 15 that is not the payload marker */
    assert_int_equal(fx_recv(&f, &f.a, "41 01 43 21 | c1 | f1 00"), TERN_E_FORMAT);
    fx_expect(&f, &f.a, "70 00 43 21");
    /* payload marker with no payload */
    assert_int_equal(fx_recv(&f, &f.a, "41 01 43 22 | c1 | ff"), TERN_E_FORMAT);
    fx_expect(&f, &f.a, "70 00 43 22");
    /* Empty message with a token (section 4.1) */
    assert_int_equal(fx_recv(&f, &f.a, "41 00 43 23 | c1"), TERN_E_FORMAT);
    fx_expect(&f, &f.a, "70 00 43 23");
    assert_int_equal(f.n_req, 0);
    assert_int_equal(fx_stats(&f).rejected, 4);
    fx_end(&f);
}

/* Section 4.2: bad NON/ACK/RST are silently dropped; so is anything too short
 * or of another version (no MID to answer). */
static void test_rfc7252_s4_2_format_error_non_dropped(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "59 01 12 34 | 01 02 03 04 05 06 07 08 09"),
                     TERN_E_FORMAT);
    assert_int_equal(fx_recv(&f, &f.a, "61 45 12 34 | c1 | ff"), TERN_E_FORMAT);
    assert_int_equal(fx_recv(&f, &f.a, "71 00 12 34 | c1"), TERN_E_FORMAT);
    assert_int_equal(fx_recv(&f, &f.a, "40 01 12"), TERN_E_FORMAT);
    assert_int_equal(fx_recv(&f, &f.a, "80 01 12 34"), TERN_E_FORMAT); /* version 2 */
    assert_int_equal(tern_endpoint_recv(f.ep, &f.a, NULL, 0, 0), TERN_E_FORMAT);
    fx_expect_none(&f);
    assert_int_equal(fx_stats(&f).rejected, 6);
    assert_int_equal(fx_stats(&f).rx, 6);
    fx_end(&f);
}

/* Sections 4.2, 4.3: an ACK or RST carrying a request, or a RST that is not
 * Empty, is a format error: dropped (never answered). */
static void test_rfc7252_s4_2_request_in_ack_or_rst_dropped(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    fx_tx t = {&f, 1};
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_CON, 0xa1, &t, NULL), 0);
    fx_drain(&f);
    assert_int_equal(fx_recv(&f, &f.a, "61 01 00 00 | a1 | b1 78"), TERN_E_FORMAT);
    assert_int_equal(fx_recv(&f, &f.a, "71 01 00 00 | a1"), TERN_E_FORMAT);
    assert_int_equal(fx_recv(&f, &f.a, "71 45 00 00 | a1 | ff 6f 6b"), TERN_E_FORMAT);
    fx_expect_none(&f);
    assert_int_equal(f.n_req, 0);
    assert_int_equal(f.n_resp, 0);
    assert_int_equal(f.n_done, 0); /* none of them acknowledged our CON */
    assert_int_equal(fx_stats(&f).rejected, 3);
    fx_end(&f);
}

/* Section 12.1: classes 1, 3, 6, 7 are reserved: a CON is rejected with RST,
 * anything else dropped. */
static void test_rfc7252_s12_1_reserved_class(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 20 12 34 | c1"), TERN_E_FORMAT); /* 1.00 */
    fx_expect(&f, &f.a, "70 00 12 34");
    assert_int_equal(fx_recv(&f, &f.a, "41 e0 12 35 | c1"), TERN_E_FORMAT); /* 7.00 */
    fx_expect(&f, &f.a, "70 00 12 35");
    assert_int_equal(fx_recv(&f, &f.a, "51 61 12 36 | c1"), TERN_E_FORMAT); /* 3.01 NON */
    assert_int_equal(fx_recv(&f, &f.a, "61 c0 12 37 | c1"), TERN_E_FORMAT); /* 6.00 ACK */
    fx_expect_none(&f);
    assert_int_equal(f.n_req + f.n_resp, 0);
    fx_end(&f);
}

/* Section 5.3.2: a CON response whose token matches nothing is rejected with
 * RST; accepted ones are ACKed. Without on_response every CON response is
 * rejected. */
static void test_rfc7252_s5_3_2_con_response_unknown_token_rst(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.resp_rc = TERN_E_REJECT;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 45 56 78 | c9 | ff 6f 6b"), 0);
    fx_expect(&f, &f.a, "70 00 56 78");
    assert_int_equal(f.n_resp, 1);
    /* A NON response that is rejected is just dropped. */
    assert_int_equal(fx_recv(&f, &f.a, "51 45 56 79 | c9 | ff 6f 6b"), 0);
    fx_expect_none(&f);
    assert_int_equal(fx_stats(&f).rejected, 2);
    fx_end(&f);

    fx_init(&f);
    f.cb.on_response = NULL;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 45 56 78 | c9 | ff 6f 6b"), 0);
    fx_expect(&f, &f.a, "70 00 56 78");
    fx_end(&f);
}

/* Section 4.5: an accepted CON response (separate response, notification)
 * is ACKed, and its retransmitted copy gets the ACK again without a second
 * on_response. */
static void test_rfc7252_s4_5_con_response_acked_once(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "41 45 56 78 | c1 | ff 6f 6b"), 0);
    fx_expect(&f, &f.a, "60 00 56 78");
    f.now = 2000;
    assert_int_equal(fx_recv(&f, &f.a, "41 45 56 78 | c1 | ff 6f 6b"), 0);
    fx_expect(&f, &f.a, "60 00 56 78");
    assert_int_equal(f.n_resp, 1);
    assert_int_equal(f.resp_type, TERN_TYPE_CON);
    /* Same for NON: the duplicate is dropped. */
    assert_int_equal(fx_recv(&f, &f.a, "51 45 56 79 | c1 | ff 6f 6b"), 0);
    assert_int_equal(fx_recv(&f, &f.a, "51 45 56 79 | c1 | ff 6f 6b"), 0);
    fx_expect_none(&f);
    assert_int_equal(f.n_resp, 2);
    assert_int_equal(fx_stats(&f).duplicates, 2);
    fx_end(&f);
}

/* RFC 7641 section 3.6: a RST matching no tracked CON (e.g. the answer to a
 * NON notification) is reported through on_reset with its MID. */
static void test_rfc7641_s3_6_unmatched_rst_on_reset(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    uint16_t mid;
    assert_int_equal(fx_send(&f, &f.a, TERN_TYPE_NON, 0xa1, NULL, &mid), 0);
    fx_drain(&f);
    assert_int_equal(fx_recv(&f, &f.a, "70 00 00 00"), 0);
    assert_int_equal(f.n_reset, 1);
    assert_int_equal(f.reset_mid, mid);
    assert_int_equal(fx_stats(&f).resets, 1);
    fx_end(&f);
}

/* Sections 4.2 and 5.3.2: an ACK belongs to the CON with its MID. One that
 * matches no tracked CON (after our give-up, a duplicate, a forgery) is
 * ignored, the response in it too; so is an empty one. */
static void test_rfc7252_s5_2_1_unmatched_ack(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, "61 45 77 77 | c1 | ff 6f 6b"), 0);
    assert_int_equal(f.n_resp, 0);
    assert_int_equal(fx_recv(&f, &f.a, "60 00 77 78"), 0);
    assert_int_equal(f.n_resp, 0);
    assert_int_equal(f.n_reset + f.n_done, 0);
    fx_expect_none(&f);
    fx_end(&f);
}

/* Section 5.2.2: a request never answered leaves the table after
 * EXCHANGE_LIFETIME (the client gave up long before). */
static void test_rfc7252_s5_2_2_pending_expires(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    f.cfg.max_pending = 1;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_tick(&f, 1000);
    fx_expect(&f, &f.a, EMPTY_ACK);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), 247000);
    fx_tick(&f, 246999);
    assert_int_equal(tern_endpoint_request_info(f.ep, f.ids[0], NULL, NULL, NULL), 0);
    fx_tick(&f, 247000);
    assert_int_equal(tern_endpoint_request_info(f.ep, f.ids[0], NULL, NULL, NULL),
                     TERN_E_NOTFOUND);
    tern_msgb b = ok_msgb();
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 247000), TERN_E_NOTFOUND);
    assert_int_equal(tern_endpoint_next_deadline(f.ep), UINT64_MAX);
    /* The slot is free again for a new request (another MID). */
    assert_int_equal(fx_recv(&f, &f.a, "41 01 12 35 | c2 | b1 78"), 0);
    assert_int_equal(f.n_req, 2);
    assert_int_not_equal(f.ids[0], f.ids[1]); /* the old id stays stale */
    assert_int_equal(tern_endpoint_request_info(f.ep, f.ids[0], NULL, NULL, NULL),
                     TERN_E_NOTFOUND);
    assert_int_equal(fx_stats(&f).busy_answers, 0);
    fx_end(&f);
}

/* tern_endpoint_request_info: peer and token of a pending request; ids are
 * never 0; respond checks its arguments and spends the id on success only. */
static void test_rfc7252_s5_2_request_info_and_ids(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.b, "42 01 12 34 | c1 c2 | b1 78"), 0);
    assert_int_not_equal(f.ids[0], 0);
    tern_addr peer;
    uint8_t tok[TERN_TOKEN_MAX];
    uint8_t tl = 0;
    assert_int_equal(tern_endpoint_request_info(f.ep, f.ids[0], &peer, tok, &tl), 0);
    assert_true(tern_addr_equal(&peer, &f.b));
    assert_int_equal(tl, 2);
    assert_int_equal(tok[0], 0xc1);
    assert_int_equal(tok[1], 0xc2);
    assert_int_equal(tern_endpoint_request_info(f.ep, f.ids[0] ^ 0x10000u, NULL, NULL, NULL),
                     TERN_E_NOTFOUND);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0); /* not a response code */
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 0), TERN_E_INVAL);
    b = ok_msgb();
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 0), 0);
    fx_expect(&f, &f.b, "62 45 12 34 | c1 c2 | ff 6f 6b");
    assert_int_equal(tern_endpoint_respond(f.ep, f.ids[0], &b, 0), TERN_E_NOTFOUND);
    fx_end(&f);
}

/* Without on_request every request is answered 5.01 Not Implemented. */
static void test_rfc7252_s5_9_3_2_no_handler_501(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.cb.on_request = NULL;
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, "61 a1 12 34 | c1"); /* ACK 5.01 */
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, "61 a1 12 34 | c1");
    assert_int_equal(fx_recv(&f, &f.a, "51 01 12 35 | c1 | b1 78"), 0);
    fx_expect(&f, &f.a, "51 a1 00 00 | c1"); /* NON 5.01 */
    fx_end(&f);
}

/* tern_endpoint_respond_tracked: a separate CON response reports its fate
 * (RFC 7641 section 3.6: a RST to a notification ends the observation);
 * piggybacked and NON answers do not call done. */
static void test_rfc7641_s3_6_separate_response_tracked(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    f.cfg.ack_delay_ms = 0;
    fx_start(&f);
    fx_tx t = {&f, 9};
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    fx_expect(&f, &f.a, EMPTY_ACK);
    tern_msgb b = ok_msgb();
    assert_int_equal(tern_endpoint_respond_tracked(f.ep, f.ids[0], &b, 0, fx_done, &t), 0);
    assert_int_equal(b.type, TERN_TYPE_CON);
    fx_expect(&f, &f.a, "41 45 00 00 | c1 | ff 6f 6b");
    assert_int_equal(fx_recv(&f, &f.a, "70 00 00 00"), 0);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.done_tag[0], 9);
    assert_int_equal(f.done_status[0], TERN_TX_RESET);

    /* Piggybacked: no done. */
    f.cfg.ack_delay_ms = 1000;
    fx_end(&f);
    fx_init(&f);
    f.answer = FX_ANSWER_LATER;
    fx_start(&f);
    t.f = &f;
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    b = ok_msgb();
    assert_int_equal(tern_endpoint_respond_tracked(f.ep, f.ids[0], &b, 0, fx_done, &t), 0);
    assert_int_equal(b.type, TERN_TYPE_ACK);
    fx_expect(&f, &f.a, ACK_OK);
    fx_tick(&f, 100000);
    assert_int_equal(f.n_done, 0);
    fx_end(&f);
}

/* on_trace sees every parsed datagram in and every datagram queued out. */
static void test_rfc7252_s4_trace_in_and_out(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    fx_start(&f);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    assert_int_equal(fx_recv(&f, &f.a, CON_GET), 0);
    assert_int_equal(fx_recv(&f, &f.a, "40 00 00 01"), 0);
    assert_int_equal(fx_recv(&f, &f.a, "49 01 12 34"), TERN_E_FORMAT); /* not parsed */
    assert_int_equal(f.n_trace_in, 3);
    assert_int_equal(f.n_trace_out, 4); /* ACK, replayed ACK, RST, RST */
    tern_endpoint_stats st = fx_stats(&f);
    assert_int_equal(st.rx, 4);
    assert_int_equal(st.tx, 4);
    fx_end(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s5_2_1_piggybacked_response_bytes),
        cmocka_unit_test(test_rfc7252_s4_5_con_duplicate_replays_piggybacked),
        cmocka_unit_test(test_rfc7252_s4_5_non_duplicate_dropped),
        cmocka_unit_test(test_rfc7252_s4_5_con_dedup_expires_after_exchange_lifetime),
        cmocka_unit_test(test_rfc7252_s4_5_non_dedup_expires_after_non_lifetime),
        cmocka_unit_test(test_rfc7252_s4_5_same_mid_other_peer_is_new),
        cmocka_unit_test(test_rfc7252_s5_2_2_separate_response_flow),
        cmocka_unit_test(test_rfc7252_s5_2_2_answer_within_ack_delay_is_piggybacked),
        cmocka_unit_test(test_rfc7252_s5_2_2_ack_delay_zero_acks_at_once),
        cmocka_unit_test(test_rfc7252_s4_5_duplicate_con_while_pending_gets_empty_ack),
        cmocka_unit_test(test_rfc7252_s5_2_3_non_request_non_response),
        cmocka_unit_test(test_rfc7252_s5_4_1_reject_non_request_with_rst),
        cmocka_unit_test(test_rfc7252_s5_4_1_reject_refuses_con_request),
        cmocka_unit_test(test_rfc7252_s4_3_ping_answered_with_rst),
        cmocka_unit_test(test_rfc7252_s4_3_empty_non_dropped),
        cmocka_unit_test(test_rfc7252_s4_2_format_error_con_rst_same_mid),
        cmocka_unit_test(test_rfc7252_s4_2_format_error_non_dropped),
        cmocka_unit_test(test_rfc7252_s4_2_request_in_ack_or_rst_dropped),
        cmocka_unit_test(test_rfc7252_s12_1_reserved_class),
        cmocka_unit_test(test_rfc7252_s5_3_2_con_response_unknown_token_rst),
        cmocka_unit_test(test_rfc7252_s4_5_con_response_acked_once),
        cmocka_unit_test(test_rfc7641_s3_6_unmatched_rst_on_reset),
        cmocka_unit_test(test_rfc7252_s5_2_1_unmatched_ack),
        cmocka_unit_test(test_rfc7252_s5_2_2_pending_expires),
        cmocka_unit_test(test_rfc7252_s5_2_request_info_and_ids),
        cmocka_unit_test(test_rfc7252_s5_9_3_2_no_handler_501),
        cmocka_unit_test(test_rfc7641_s3_6_separate_response_tracked),
        cmocka_unit_test(test_rfc7252_s4_trace_in_and_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
