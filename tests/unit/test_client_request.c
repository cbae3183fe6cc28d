/* SPDX-License-Identifier: BSD-2-Clause */
/* test_client_request.c - requests from the client side: RFC 7252 sections
 * 4.2-4.3 (RST, retransmission give-up, unreachable peers), 5.2
 * (piggybacked and separate responses), 5.3 (tokens and matching), 6.4 (URI
 * to options), on a fake clock. */
#include "test_client_fixture.h"

/* ---- section 6.4: URI to options ------------------------------------------ */

static void test_rfc7252_s6_4_uri_options_on_the_wire(void **state) {
    (void)state;
    tern_uri uri;
    assert_int_equal(tern_uri_parse(&uri, "coap://Example.NET:61616/a/b%20c?x=1&y"), 0);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x1234);
    uint8_t tok[2] = {0xab, 0xcd};
    assert_int_equal(tern_msgb_set_token(&b, tok, 2), 0);
    assert_int_equal(tern_uri_to_opts(&uri, uri.port, &b), 0);
    uint8_t buf[128], want[128];
    int len = tern_msgb_encode(&b, buf, sizeof buf);
    /* Step 5: Uri-Host as given, lower-cased; step 6: no Uri-Port although
     * it is not the default, since the datagram goes to that port. */
    size_t wl = tt_hex("42 01 1234 | abcd"
                       "| 3b 6578616d706c652e6e6574" /* Uri-Host (3) "example.net" */
                       "| 81 61"                     /* Uri-Path (11) "a" */
                       "| 03 622063"                 /* Uri-Path "b c" */
                       "| 43 783d31"                 /* Uri-Query (15) "x=1" */
                       "| 01 79",                    /* Uri-Query "y" */
                       want, sizeof want);
    assert_int_equal(len, (int)wl);
    assert_memory_equal(buf, want, wl);
}

static void test_rfc7252_s6_4_ip_literal_has_no_uri_host(void **state) {
    (void)state;
    tern_uri uri;
    assert_int_equal(tern_uri_parse(&uri, "coap://[::1]/alarm"), 0);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0);
    assert_int_equal(tern_uri_to_opts(&uri, uri.port, &b), 0);
    assert_int_equal(b.n_opts, 1);
    assert_int_equal(b.opts[0].num, TERN_OPT_URI_PATH);
    assert_int_equal(b.opts[0].len, 5);
    assert_memory_equal(b.opts[0].val, "alarm", 5);
}

static void test_rfc7252_s6_4_caller_uri_port_kept(void **state) {
    (void)state;
    tern_uri uri;
    assert_int_equal(tern_uri_parse(&uri, "coap://127.0.0.1:5700/x"), 0);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0);
    /* An explicit Uri-Port put there by the caller (tern -O 7,N) stays, and
     * so does its copied uint value when options move. */
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_URI_PORT, 9999), 0);
    assert_int_equal(tern_uri_to_opts(&uri, uri.port, &b), 0);
    uint8_t buf[64];
    int len = tern_msgb_encode(&b, buf, sizeof buf);
    assert_true(len > 0);
    tern_msg m;
    assert_int_equal(tern_msg_parse(&m, buf, (size_t)len), 0);
    uint32_t port;
    assert_int_equal(tern_msg_get_uint(&m, TERN_OPT_URI_PORT, &port), 0);
    assert_int_equal(port, 9999);
    assert_int_equal(tern_msg_count_opt(&m, TERN_OPT_URI_PORT), 1);
}

/* ---- section 5.2.1: piggybacked --------------------------------------------- */

static void test_rfc7252_s5_2_1_piggybacked_response(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, "alarm");
    tern_msgb_set_payload(&b, "ON", 2);
    tern_client_op_id id = 0;
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, &id), 0);
    assert_true(id != 0);
    assert_int_equal(tern_client_active(f.cli), 1);
    assert_int_equal(fx_drain(&f), 1);
    tern_msg m = fx_sent(&f, 0);
    char s[32];
    assert_int_equal(m.type, TERN_TYPE_CON);
    assert_int_equal(m.code, TERN_CODE_PUT);
    assert_true(m.token_len >= 4); /* section 5.3.1: enough randomness */
    assert_string_equal(fx_opt_str(&m, TERN_OPT_URI_PATH, s, sizeof s), "alarm");
    assert_int_equal(m.payload_len, 2);
    assert_memory_equal(f.out_peer[0].bytes, f.server.bytes, f.server.len);

    assert_int_equal(fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_CHANGED, m.mid, m.token,
                             m.token_len, -1, -1, "ON"),
                     0);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, 0);
    assert_int_equal(f.ev[0].code, TERN_CODE_CHANGED);
    assert_false(f.ev[0].observing);
    assert_string_equal(f.ev[0].payload, "ON");
    assert_int_equal(tern_client_active(f.cli), 0);
    /* Nothing further is sent: no retransmission after the ACK. */
    fx_advance(&f, 100000);
    assert_int_equal(f.n_out, 1);
    assert_int_equal(f.n_events, 1);
    fx_done(&f);
}

/* ---- section 5.2.2: separate ------------------------------------------------- */

static void test_rfc7252_s5_2_2_separate_response(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "slow");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    fx_drain(&f);
    tern_msg req = fx_sent(&f, 0);
    uint8_t tok[8];
    size_t tl = req.token_len;
    memcpy(tok, req.token, tl);
    /* The empty ACK: the request arrived, the answer comes later. */
    assert_int_equal(fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_EMPTY, req.mid, NULL, 0, -1,
                             -1, NULL),
                     0);
    assert_int_equal(f.n_events, 0);
    fx_advance(&f, 30000); /* well past ACK_TIMEOUT: no retransmission */
    assert_int_equal(f.n_out, 1);
    assert_int_equal(f.n_events, 0);
    /* The CON response with our token: delivered, and ACKed by us. */
    assert_int_equal(fx_recv(&f, &f.server, TERN_TYPE_CON, TERN_CODE_CONTENT, 0x7001, tok, tl,
                             -1, -1, "late"),
                     0);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, 0);
    assert_string_equal(f.ev[0].payload, "late");
    assert_int_equal(f.n_out, 2);
    tern_msg ack = fx_sent(&f, -1);
    assert_int_equal(ack.type, TERN_TYPE_ACK);
    assert_int_equal(ack.code, TERN_CODE_EMPTY);
    assert_int_equal(ack.mid, 0x7001);
    fx_done(&f);
}

static void test_rfc7252_s5_2_2_separate_response_deadline(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "never");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 10000, fx_cb, &f, f.now, NULL), 0);
    fx_drain(&f);
    tern_msg req = fx_sent(&f, 0);
    uint64_t start = f.now;
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_EMPTY, req.mid, NULL, 0, -1, -1, NULL);
    /* ACKed but never answered: the whole-request deadline ends it. */
    fx_run_until(&f, start + 9999);
    assert_int_equal(f.n_events, 0);
    fx_run_until(&f, start + 10000);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, TERN_E_TIMEOUT);
    assert_false(f.ev[0].has_resp);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

/* The ACK of our CON got lost but the separate response came: the answer
 * shows the request arrived, so retransmitting it would only make the
 * server work twice (section 5.2.2). */
static void test_rfc7252_s5_2_2_response_before_ack_stops_retransmission(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_POST, "slow");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    fx_drain(&f);
    tern_msg req = fx_sent(&f, 0);
    fx_recv(&f, &f.server, TERN_TYPE_CON, TERN_CODE_CHANGED, 0x3001, req.token, req.token_len,
            -1, -1, NULL);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].code, TERN_CODE_CHANGED);
    assert_int_equal(f.n_out, 2); /* the request, our ACK of the response */
    assert_int_equal(fx_sent(&f, 1).type, TERN_TYPE_ACK);
    fx_advance(&f, 100000);
    assert_int_equal(f.n_out, 2);
    assert_int_equal(tern_client_next_deadline(f.cli), UINT64_MAX);
    fx_done(&f);
}

/* ---- section 5.3.2: matching ------------------------------------------------- */

static void test_rfc7252_s5_3_2_wrong_token_or_peer_rejected(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    fx_drain(&f);
    tern_msg req = fx_sent(&f, 0);
    uint8_t tok[8];
    size_t tl = req.token_len;
    memcpy(tok, req.token, tl);
    uint8_t bad[8];
    memcpy(bad, tok, tl);
    bad[0] ^= 0xFF;
    /* A CON response with a token we never sent is answered with RST. */
    fx_recv(&f, &f.server, TERN_TYPE_CON, TERN_CODE_CONTENT, 0x0101, bad, tl, -1, -1, "no");
    assert_int_equal(f.n_events, 0);
    tern_msg rst = fx_sent(&f, -1);
    assert_int_equal(rst.type, TERN_TYPE_RST);
    assert_int_equal(rst.mid, 0x0101);
    /* Our token from another endpoint does not match either. */
    fx_recv(&f, &f.other, TERN_TYPE_CON, TERN_CODE_CONTENT, 0x0102, tok, tl, -1, -1, "no");
    assert_int_equal(f.n_events, 0);
    assert_int_equal(fx_sent(&f, -1).type, TERN_TYPE_RST);
    /* The right one does. */
    fx_recv(&f, &f.server, TERN_TYPE_NON, TERN_CODE_CONTENT, 0x0103, tok, tl, -1, -1, "yes");
    assert_int_equal(f.n_events, 1);
    assert_string_equal(f.ev[0].payload, "yes");
    /* A second answer (the request is done) is no longer ours. */
    size_t before = f.n_out;
    fx_recv(&f, &f.server, TERN_TYPE_CON, TERN_CODE_CONTENT, 0x0104, tok, tl, -1, -1, "dup");
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.n_out, before + 1);
    assert_int_equal(fx_sent(&f, -1).type, TERN_TYPE_RST);
    fx_done(&f);
}

static void test_rfc7252_s5_3_1_tokens_differ(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    for (int i = 0; i < 4; i++) {
        fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "x");
        assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    }
    assert_int_equal(fx_drain(&f), 4);
    for (long i = 0; i < 4; i++)
        for (long j = i + 1; j < 4; j++) {
            tern_msg a = fx_sent(&f, i), c = fx_sent(&f, j);
            assert_false(a.token_len == c.token_len && memcmp(a.token, c.token, a.token_len) == 0);
        }
    fx_done(&f);
}

/* ---- section 4.2 / 4.3: RST and give-up --------------------------------------- */

static void test_rfc7252_s4_2_reset_is_an_error(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    fx_drain(&f);
    tern_msg req = fx_sent(&f, 0);
    fx_recv(&f, &f.server, TERN_TYPE_RST, TERN_CODE_EMPTY, req.mid, NULL, 0, -1, -1, NULL);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, TERN_E_RESET);
    assert_false(f.ev[0].has_resp);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_advance(&f, 100000);
    assert_int_equal(f.n_out, 1); /* no retransmission after the RST */
    assert_int_equal(f.n_events, 1);
    fx_done(&f);
}

static void test_rfc7252_s4_3_reset_of_non_request(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    fx_drain(&f);
    tern_msg req = fx_sent(&f, 0);
    assert_int_equal(req.type, TERN_TYPE_NON);
    /* A RST with another MID is not about this request. */
    fx_recv(&f, &f.server, TERN_TYPE_RST, TERN_CODE_EMPTY, (uint16_t)(req.mid + 1), NULL, 0, -1,
            -1, NULL);
    assert_int_equal(f.n_events, 0);
    fx_recv(&f, &f.server, TERN_TYPE_RST, TERN_CODE_EMPTY, req.mid, NULL, 0, -1, -1, NULL);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, TERN_E_RESET);
    fx_done(&f);
}

static void test_rfc7252_s4_2_retransmissions_exhausted(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "x");
    /* A deadline far past MAX_TRANSMIT_WAIT: the endpoint's give-up must be
     * what ends the request. */
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 600000, fx_cb, &f, f.now, NULL), 0);
    uint64_t start = f.now;
    fx_run_until(&f, start + 300000);
    /* Section 4.2: the first transmission and MAX_RETRANSMIT = 4 more. */
    assert_int_equal(f.n_out, 5);
    for (long i = 1; i < 5; i++) assert_int_equal(fx_sent(&f, i).mid, fx_sent(&f, 0).mid);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, TERN_E_TIMEOUT);
    assert_true(f.ev[0].at <= start + 93000); /* MAX_TRANSMIT_WAIT */
    assert_true(f.ev[0].at >= start + 45000); /* MAX_TRANSMIT_SPAN at the low bound */
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

static void test_rfc7252_s4_8_2_non_request_deadline(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "x");
    uint64_t start = f.now;
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    assert_int_equal(tern_client_next_deadline(f.cli), start + TERN_CLIENT_DEFAULT_TIMEOUT_MS);
    fx_run_until(&f, start + TERN_CLIENT_DEFAULT_TIMEOUT_MS - 1);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(f.n_out, 1); /* a NON is sent once */
    fx_run_until(&f, start + TERN_CLIENT_DEFAULT_TIMEOUT_MS);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, TERN_E_TIMEOUT);
    assert_int_equal(tern_client_next_deadline(f.cli), UINT64_MAX);
    fx_done(&f);
}

/* ---- unreachable peers (ICMP, through the io layer) ------------------------------ */

/* Section 4.2 says when to give up on a CON; the network can say it sooner:
 * an ICMP destination unreachable ends the request at once with
 * TERN_E_UNREACHABLE, with no retransmission, instead of after up to
 * MAX_TRANSMIT_WAIT (4.8.2). A request to another server is untouched. */
static void test_rfc7252_s4_8_2_unreachable_con_request_fails_at_once(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    tern_client_op_id id = 0, other = 0;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, &id), 0);
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f.cli, &f.other, &b, 0, fx_cb, &f, f.now, &other), 0);
    fx_drain(&f);
    uint64_t start = f.now;
    f.now += 3; /* the ICMP error comes back within milliseconds */
    fx_unreachable(&f, &f.server);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, TERN_E_UNREACHABLE);
    assert_false(f.ev[0].has_resp);
    assert_false(f.ev[0].observing);
    assert_int_equal(f.ev[0].at, start + 3);
    assert_int_equal(tern_client_active(f.cli), 1);
    /* No retransmission to the unreachable server; the other request goes
     * on until the endpoint gives up on it. */
    fx_advance(&f, 100000);
    assert_int_equal(fx_sent_to(&f, &f.server), 1);
    assert_int_equal(fx_sent_to(&f, &f.other), 5);
    assert_int_equal(f.n_events, 2);
    assert_int_equal(f.ev[1].id, other);
    assert_int_equal(f.ev[1].err, TERN_E_TIMEOUT);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

/* A NON request is not tracked by the endpoint; on_unreachable lets the
 * client end it by the MID and token the error quotes. A request waiting
 * for a separate response (its CON already ACKed, section 5.2.2) has
 * nothing on the wire: an error quoting its CON is late or forged, and the
 * request waits on. */
static void test_rfc7252_s4_3_unreachable_non_request_fails(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    tern_client_op_id non = 0, sep = 0, other = 0;
    fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, &non), 0);
    fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f.cli, &f.other, &b, 0, fx_cb, &f, f.now, &other), 0);
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "slow");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, &sep), 0);
    fx_drain(&f);
    tern_msg con = fx_sent(&f, -1);
    assert_int_equal(con.type, TERN_TYPE_CON);
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_EMPTY, con.mid, NULL, 0, -1, -1, NULL);
    assert_int_equal(f.n_events, 0);
    /* An error quoting only the header: the MID alone names the NON. */
    assert_int_equal(fx_icmp(&f, 0, 4), TERN_ICMP_MATCHED);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, non);
    assert_int_equal(f.ev[0].err, TERN_E_UNREACHABLE);
    assert_int_equal(fx_icmp(&f, 2, SIZE_MAX), TERN_ICMP_IGNORED);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(tern_client_active(f.cli), 2);
    /* The separate response still completes its request. */
    fx_recv(&f, &f.server, TERN_TYPE_NON, TERN_CODE_CONTENT, 0x5555, con.token, con.token_len,
            -1, -1, "late");
    assert_int_equal(f.n_events, 2);
    assert_int_equal(f.ev[1].id, sep);
    assert_int_equal(f.ev[1].err, 0);
    assert_int_equal(tern_client_active(f.cli), 1);
    /* The NON to the other server still gets its answer. */
    tern_msg req = fx_sent(&f, 1);
    fx_recv(&f, &f.other, TERN_TYPE_NON, TERN_CODE_CONTENT, 0x4444, req.token, req.token_len, -1,
            -1, "ok");
    assert_int_equal(f.n_events, 3);
    assert_int_equal(f.ev[2].id, other);
    assert_int_equal(f.ev[2].err, 0);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

/* ---- cancelling and limits ------------------------------------------------------ */

static void test_rfc7252_s5_3_2_cancelled_request_answer_rejected(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "x");
    tern_client_op_id id;
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, &id), 0);
    fx_drain(&f);
    tern_msg req = fx_sent(&f, 0);
    uint8_t tok[8];
    size_t tl = req.token_len;
    memcpy(tok, req.token, tl);
    assert_int_equal(tern_client_cancel(f.cli, id, f.now), 0);
    assert_int_equal(tern_client_cancel(f.cli, id, f.now), TERN_E_NOTFOUND);
    assert_int_equal(tern_client_active(f.cli), 0);
    /* Retransmission stopped with the cancel. */
    fx_advance(&f, 100000);
    assert_int_equal(f.n_out, 1);
    fx_recv(&f, &f.server, TERN_TYPE_CON, TERN_CODE_CONTENT, 0x0200, tok, tl, -1, -1, "x");
    assert_int_equal(f.n_events, 0);
    assert_int_equal(fx_sent(&f, -1).type, TERN_TYPE_RST);
    fx_done(&f);
}

static void test_client_table_full_is_an_error(void **state) {
    (void)state;
    fx f;
    tern_client_config cc;
    tern_client_config_default(&cc);
    cc.max_requests = 2;
    fx_init_cfg(&f, &cc);
    tern_msgb b;
    for (int i = 0; i < 2; i++) {
        fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "x");
        assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    }
    fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL),
                     TERN_E_FULL);
    /* A request that is not CON or NON, or not a request code, is refused. */
    tern_msgb_init(&b, TERN_TYPE_ACK, TERN_CODE_GET, 0);
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL),
                     TERN_E_INVAL);
    fx_done(&f);
}

static void test_client_request_too_large(void **state) {
    (void)state;
    fx f;
    tern_client_config cc;
    tern_client_config_default(&cc);
    cc.max_request_size = 64;
    fx_init_cfg(&f, &cc);
    tern_msgb b;
    static char big[100], path[61];
    memset(big, 'a', sizeof big);
    /* A large payload alone now goes block-wise (RFC 7959 section 2.5,
     * test_client_block.c); options that do not fit cannot be split. */
    memset(path, 'p', 60);
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, path);
    tern_msgb_set_payload(&b, big, sizeof big);
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL),
                     TERN_E_NOSPACE);
    assert_int_equal(tern_client_active(f.cli), 0);
    assert_int_equal(fx_drain(&f), 0);
    fx_done(&f);
}

/* A new request made from inside the callback of the previous one. */
static void chain_action(fx *f, tern_client_op_id id, const tern_client_event *ev) {
    (void)id, (void)ev;
    if (f->n_events > 1) return;
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "next");
    assert_int_equal(tern_client_request(f->cli, &f->server, &b, 0, fx_cb, f, f->now, NULL), 0);
}

static void test_rfc7252_s5_2_request_from_callback(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.action = chain_action;
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "first");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    fx_drain(&f);
    tern_msg req = fx_sent(&f, 0);
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_CONTENT, req.mid, req.token, req.token_len,
            -1, -1, "1");
    assert_int_equal(f.n_events, 1);
    /* The chained request went out on the tick after the receive. */
    tern_msg next = fx_sent(&f, -1);
    char s[16];
    assert_int_equal(next.type, TERN_TYPE_CON);
    assert_string_equal(fx_opt_str(&next, TERN_OPT_URI_PATH, s, sizeof s), "next");
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_CONTENT, next.mid, next.token, next.token_len,
            -1, -1, "2");
    assert_int_equal(f.n_events, 2);
    assert_string_equal(f.ev[1].payload, "2");
    fx_done(&f);
}

/* ---- section 5.4: responses the client cannot process -------------------- */

/* Start a CON GET and return the datagram it sent. */
static tern_msg start_get(fx *f, tern_client_op_id *id) {
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f->cli, &f->server, &b, 0, fx_cb, f, f->now, id), 0);
    fx_drain(f);
    return fx_sent(f, -1);
}

/* A response to req: type, code, MID; plus one option (num, value). */
static void answer_with(fx *f, const tern_msg *req, tern_type type, uint16_t mid, uint16_t num,
                        const void *val, size_t len, const char *payload) {
    tern_msgb b;
    tern_msgb_init(&b, type, TERN_CODE_CONTENT, mid);
    tern_msgb_set_token(&b, req->token, req->token_len);
    if (num) assert_int_equal(tern_msgb_add_opt(&b, num, val, len), 0);
    if (payload) tern_msgb_set_payload(&b, payload, strlen(payload));
    fx_recv_msgb(f, &f->server, &b);
}

/* Section 5.4.1 with 4.2: a piggybacked response with an unrecognised
 * critical option is rejected, that is, its ACK silently ignored: nothing is
 * shown, the CON is retransmitted, and a later valid ACK is the answer. */
static void test_rfc7252_s5_4_1_piggybacked_unrecognised_critical_ignored(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id;
    tern_msg req = start_get(&f, &id);
    size_t sent = f.n_out;
    answer_with(&f, &req, TERN_TYPE_ACK, req.mid, 65001, "x", 1, "bogus");
    assert_int_equal(f.n_events, 0);
    assert_int_equal(f.n_out, sent); /* an ACK is never answered */
    assert_int_equal(tern_client_active(f.cli), 1);
    fx_advance(&f, 3000);          /* the CON goes again */
    assert_true(f.n_out > sent);
    answer_with(&f, &req, TERN_TYPE_ACK, req.mid, 0, NULL, 0, "real");
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, 0);
    assert_string_equal(f.ev[0].payload, "real");
    fx_done(&f);
}

/* Section 5.4.1: a CON response with an unrecognised critical option
 * (65535) draws a RST, a NON one is dropped; neither is shown. */
static void test_rfc7252_s5_4_1_separate_unrecognised_critical_rejected(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id;
    tern_msg req = start_get(&f, &id);
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_EMPTY, req.mid, NULL, 0, -1, -1, NULL);
    size_t sent = f.n_out;
    answer_with(&f, &req, TERN_TYPE_CON, 0x5150, 65535, "", 0, "bogus");
    assert_int_equal(f.n_out, sent + 1);
    tern_msg rst = fx_sent(&f, -1);
    assert_int_equal(rst.type, TERN_TYPE_RST);
    assert_int_equal(rst.mid, 0x5150);
    answer_with(&f, &req, TERN_TYPE_NON, 0x5151, 65001, "z", 1, "bogus");
    assert_int_equal(f.n_out, sent + 1);
    assert_int_equal(f.n_events, 0);
    answer_with(&f, &req, TERN_TYPE_NON, 0x5152, 0, NULL, 0, "fine");
    assert_int_equal(f.n_events, 1);
    assert_string_equal(f.ev[0].payload, "fine");
    fx_done(&f);
}

/* Sections 4.2 and 5.3.2: an ACK with the right token under another
 * Message ID does not answer the request. */
static void test_rfc7252_s5_3_2_ack_with_other_mid_ignored(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id;
    tern_msg req = start_get(&f, &id);
    answer_with(&f, &req, TERN_TYPE_ACK, (uint16_t)(req.mid + 1), 0, NULL, 0, "spoof");
    assert_int_equal(f.n_events, 0);
    assert_int_equal(tern_client_active(f.cli), 1);
    answer_with(&f, &req, TERN_TYPE_ACK, req.mid, 0, NULL, 0, "real");
    assert_int_equal(f.n_events, 1);
    assert_string_equal(f.ev[0].payload, "real");
    fx_done(&f);
}

/* Section 5.4.1: elective options never reject a response, however many:
 * 300 unrecognised ones (number 2050, elective) are skipped. */
static void test_rfc7252_s5_4_1_hundreds_of_elective_options(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id;
    tern_msg req = start_get(&f, &id);
    uint8_t d[1400];
    size_t n = 0;
    d[n++] = (uint8_t)(0x60 | req.token_len); /* ACK, TKL */
    d[n++] = TERN_CODE_CONTENT;
    d[n++] = (uint8_t)(req.mid >> 8);
    d[n++] = (uint8_t)req.mid;
    memcpy(d + n, req.token, req.token_len);
    n += req.token_len;
    /* Option 2050 = 269 + 1781: delta nibble 14, extended 0x06F5; length 1. */
    d[n++] = 0xE1, d[n++] = 0x06, d[n++] = 0xF5, d[n++] = 'e';
    for (int i = 1; i < 300; i++) d[n++] = 0x01, d[n++] = 'e'; /* delta 0, length 1 */
    d[n++] = 0xFF;
    memcpy(d + n, "ok", 2);
    n += 2;
    assert_int_equal(tern_engine_recv(f.eng, &f.server, d, n, f.now), 0);
    fx_drain(&f);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, 0);
    assert_string_equal(f.ev[0].payload, "ok");
    fx_done(&f);
}

/* RFC 7959 section 2.2: Block2 with the reserved SZX 7 cannot be processed
 * (the critical option names no block): rejected like an unrecognised
 * critical option, never shown as if it were the whole body. The request
 * ends by timeout unless a proper answer comes. */
static void test_rfc7959_s2_2_block2_szx7_rejected(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id;
    tern_msg req = start_get(&f, &id);
    uint8_t szx7 = 0x0F; /* NUM 0, M, SZX 7 */
    answer_with(&f, &req, TERN_TYPE_ACK, req.mid, TERN_OPT_BLOCK2, &szx7, 1, "first1024...");
    assert_int_equal(f.n_events, 0);
    fx_advance(&f, TERN_CLIENT_DEFAULT_TIMEOUT_MS + 1000);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, TERN_E_TIMEOUT);
    assert_false(f.ev[0].has_resp);
    fx_done(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s5_4_1_piggybacked_unrecognised_critical_ignored),
        cmocka_unit_test(test_rfc7252_s5_4_1_separate_unrecognised_critical_rejected),
        cmocka_unit_test(test_rfc7252_s5_3_2_ack_with_other_mid_ignored),
        cmocka_unit_test(test_rfc7252_s5_4_1_hundreds_of_elective_options),
        cmocka_unit_test(test_rfc7959_s2_2_block2_szx7_rejected),
        cmocka_unit_test(test_rfc7252_s6_4_uri_options_on_the_wire),
        cmocka_unit_test(test_rfc7252_s6_4_ip_literal_has_no_uri_host),
        cmocka_unit_test(test_rfc7252_s6_4_caller_uri_port_kept),
        cmocka_unit_test(test_rfc7252_s5_2_1_piggybacked_response),
        cmocka_unit_test(test_rfc7252_s5_2_2_separate_response),
        cmocka_unit_test(test_rfc7252_s5_2_2_separate_response_deadline),
        cmocka_unit_test(test_rfc7252_s5_2_2_response_before_ack_stops_retransmission),
        cmocka_unit_test(test_rfc7252_s5_3_2_wrong_token_or_peer_rejected),
        cmocka_unit_test(test_rfc7252_s5_3_1_tokens_differ),
        cmocka_unit_test(test_rfc7252_s4_2_reset_is_an_error),
        cmocka_unit_test(test_rfc7252_s4_3_reset_of_non_request),
        cmocka_unit_test(test_rfc7252_s4_2_retransmissions_exhausted),
        cmocka_unit_test(test_rfc7252_s4_8_2_non_request_deadline),
        cmocka_unit_test(test_rfc7252_s4_8_2_unreachable_con_request_fails_at_once),
        cmocka_unit_test(test_rfc7252_s4_3_unreachable_non_request_fails),
        cmocka_unit_test(test_rfc7252_s5_3_2_cancelled_request_answer_rejected),
        cmocka_unit_test(test_client_table_full_is_an_error),
        cmocka_unit_test(test_client_request_too_large),
        cmocka_unit_test(test_rfc7252_s5_2_request_from_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
