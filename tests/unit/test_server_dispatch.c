/* SPDX-License-Identifier: BSD-2-Clause */
/* test_server_dispatch.c - the resource tree and request dispatch: RFC 7252
 * sections 5.2 (piggybacked and separate responses), 5.4.1/5.4.3/5.4.5
 * (critical options), 5.5.2 (diagnostic payloads), 5.7.2 (proxy), 5.8
 * (methods), 5.9 (codes), 5.10.3/5.10.4 (Content-Format, Accept), 5.10.8
 * (preconditions); RFC 7959 section 2.4 (Block2 asked by the client). */
#include "test_server_fixture.h"

/* ---- section 5.2.1: piggybacked answer, byte for byte --------------------- */

static void test_rfc7252_s5_2_1_get_piggybacked_wire(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    /* CON GET, TKL 1, MID 0x1234, token 0x7a, Uri-Path "alarm". */
    sfx_deliver_hex(&f, &f.a, "41 01 1234 | 7a | b5 616c61726d");
    uint8_t want[64];
    /* ACK 2.05, MID 0x1234, token 0x7a, Content-Format 0 (delta 12, len 0),
     * payload "OFF". */
    size_t n = tt_hex("61 45 1234 | 7a | c0 | ff 4f4646", want, sizeof want);
    tern_addr peer;
    sfx_drain(&f);
    assert_int_equal(f.n_out, 1);
    assert_int_equal(f.out[0].len, n);
    assert_memory_equal(f.out[0].buf, want, n);
    (void)sfx_next(&f, &peer);
    assert_true(tern_addr_equal(&peer, &f.a));
    assert_int_equal(st.gets, 1);
    sfx_free(&f);
}

static void test_rfc7252_s5_8_3_put_changed_carries_state(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 1, "t", "/alarm");
    tern_msgb_set_payload(&b, "ON", 2);
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_token(m, "t");
    sfx_assert_payload(m, "ON");
    assert_string_equal(st.value, "ON");

    /* Section 5.9.2.1: anything else is 4.00 with a diagnostic, state kept. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 2, "t", "/alarm");
    tern_msgb_set_payload(&b, "MAYBE", 5);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_BAD_REQUEST);
    sfx_assert_payload(m, "payload must be ON or OFF");
    /* Section 5.5.2: a diagnostic payload carries no Content-Format. */
    assert_false(sfx_has_opt(m, TERN_OPT_CONTENT_FORMAT));
    assert_string_equal(st.value, "ON");
    sfx_free(&f);
}

static void test_rfc7252_s5_2_3_non_request_gets_non_response(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 7, "nn", "/alarm");
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->type, TERN_TYPE_NON);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_token(m, "nn");
    sfx_free(&f);
}

/* ---- section 5.9: the server's own answers -------------------------------- */

static void test_rfc7252_s5_9_2_5_unknown_path_not_found(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    const char *paths[] = {"/nope", "/alarm/x", "/", "/alar"};
    for (size_t i = 0; i < 4; i++) {
        tern_msgb b;
        sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, (uint16_t)(10 + i), "x", paths[i]);
        const tern_msg *m = sfx_ask(&f, &f.a, &b);
        assert_int_equal(m->code, TERN_CODE_NOT_FOUND);
        assert_true(m->payload_len > 0); /* a diagnostic */
        assert_false(sfx_has_opt(m, TERN_OPT_CONTENT_FORMAT));
    }
    assert_int_equal(st.gets, 0);
    sfx_free(&f);
}

static void test_rfc7252_s5_8_method_not_allowed(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    /* POST and DELETE have no handler; 0.08 is no method at all (5.8: an
     * unrecognised method code is 4.05 too). */
    const uint8_t codes[] = {TERN_CODE_POST, TERN_CODE_DELETE, TERN_CODE(0, 8)};
    for (size_t i = 0; i < 3; i++) {
        tern_msgb b;
        sfx_req(&b, TERN_TYPE_CON, codes[i], (uint16_t)(20 + i), "x", "/alarm");
        const tern_msg *m = sfx_ask(&f, &f.a, &b);
        assert_int_equal(m->code, TERN_CODE_METHOD_NOT_ALLOWED);
    }
    sfx_free(&f);
}

static void test_rfc7252_s5_4_1_unrecognised_critical_option(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    /* 2049: odd, so critical, and unknown. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 30, "x", "/alarm");
    tern_msgb_add_opt(&b, 2049, "z", 1);
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_BAD_OPTION);
    assert_true(sfx_payload_contains(m, "2049"));
    /* Block1 and OSCORE are known to the codec, but this server does not act
     * on them: answering as if they were absent would be wrong. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 31, "x", "/alarm");
    tern_msgb_add_opt(&b, TERN_OPT_OSCORE, NULL, 0);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_BAD_OPTION);
    /* 2048: even, so elective: ignored. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 32, "x", "/alarm");
    tern_msgb_add_opt(&b, 2048, "z", 1);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CONTENT);
    assert_int_equal(st.gets, 1);
    sfx_free(&f);
}

/* Section 5.4.1: "Unrecognized options of class 'critical' that occur in a
 * Non-confirmable message MUST cause the message to be rejected (Section
 * 4.3)": a RST with the request's MID and nothing else, never a NON 4.02;
 * the handler does not run. 65001 is odd (critical) and unassigned (the
 * experimental range, section 12.2). Sections 5.4.3 and 5.4.5 make a bad
 * length or a repetition of a critical option count as unrecognised too. */
static void test_rfc7252_s5_4_1_non_unrecognised_critical_option_rejected(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 50, "x", "/alarm");
    assert_int_equal(tern_msgb_add_opt(&b, 65001, "z", 1), 0);
    sfx_deliver(&f, &f.a, &b);
    tern_addr to;
    const tern_msg *m = sfx_next(&f, &to);
    assert_int_equal(m->type, TERN_TYPE_RST);
    assert_int_equal(m->code, TERN_CODE_EMPTY);
    assert_int_equal(m->mid, 50);
    assert_int_equal(m->token_len, 0);
    assert_true(tern_addr_equal(&to, &f.a));
    sfx_expect_none(&f); /* exactly one: no 4.02 */
    /* Section 4.5: its duplicate is dropped, not rejected again. */
    sfx_deliver(&f, &f.a, &b);
    sfx_expect_none(&f);

    /* 5.4.5: a critical option repeated where it may not be. */
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 51, "x", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, 0);
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, 0);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->type, TERN_TYPE_RST);
    assert_int_equal(m->mid, 51);
    sfx_expect_none(&f);
    /* 5.4.3: a critical option of a bad length. */
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 52, "x", "/alarm");
    tern_msgb_add_opt(&b, TERN_OPT_ACCEPT, "\x00\x00\x00", 3);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->type, TERN_TYPE_RST);
    assert_int_equal(m->mid, 52);
    sfx_expect_none(&f);
    assert_int_equal(st.gets, 0);

    /* Not rejections: an unknown elective option is ignored (65000 is
     * even), and a proxy request is understood and answered 5.05 (5.7.2). */
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 53, "x", "/alarm");
    tern_msgb_add_opt(&b, 65000, "z", 1);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->type, TERN_TYPE_NON);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 54, "x", NULL);
    tern_msgb_add_str(&b, TERN_OPT_PROXY_URI, "coap://example.com/");
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->type, TERN_TYPE_NON);
    assert_int_equal(m->code, TERN_CODE_PROXYING_NOT_SUPPORTED);
    sfx_expect_none(&f);

    tern_server_stats ss;
    tern_server_get_stats(f.srv, &ss);
    assert_int_equal(ss.requests_rejected, 3);
    assert_int_equal(ss.responses_4xx, 0);
    sfx_free(&f);
}

/* Section 5.4.1: the same option in a CON request is answered: 4.02 Bad
 * Option piggybacked, with a diagnostic naming it (5.5.2), and no RST. */
static void test_rfc7252_s5_4_1_con_unrecognised_critical_option_4_02(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 60, "x", "/alarm");
    assert_int_equal(tern_msgb_add_opt(&b, 65001, "z", 1), 0);
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->code, TERN_CODE_BAD_OPTION);
    assert_int_equal(m->mid, 60);
    sfx_assert_token(m, "x");
    assert_true(sfx_payload_contains(m, "unrecognised critical option 65001"));
    assert_false(sfx_has_opt(m, TERN_OPT_CONTENT_FORMAT));
    sfx_expect_none(&f);
    assert_int_equal(st.gets, 0);
    tern_server_stats ss;
    tern_server_get_stats(f.srv, &ss);
    assert_int_equal(ss.requests_rejected, 0);
    assert_int_equal(ss.responses_4xx, 1);
    sfx_free(&f);
}

static void test_rfc7252_s5_4_5_repeated_critical_option(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 40, "x", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, 0);
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, 0);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_BAD_OPTION);
    /* Section 5.4.3: a critical option of a bad length likewise (Accept is
     * at most 2 bytes). */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 41, "x", "/alarm");
    tern_msgb_add_opt(&b, TERN_OPT_ACCEPT, "\x00\x00\x00", 3);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_BAD_OPTION);
    assert_int_equal(st.gets, 0);
    sfx_free(&f);
}

static void test_rfc7252_s5_10_4_accept(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 50, "x", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, TERN_CF_JSON);
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_NOT_ACCEPTABLE);
    assert_int_equal(st.gets, 0);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 51, "x", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, TERN_CF_TEXT_PLAIN);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_int_equal(sfx_uint(m, TERN_OPT_CONTENT_FORMAT), TERN_CF_TEXT_PLAIN);
    sfx_free(&f);
}

/* A resource that declares no ct: the server cannot pre-check Accept, but
 * the answer's Content-Format is checked after the handler. */
static uint8_t json_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_payload(resp, TERN_CF_JSON, "{}", 2);
    return TERN_CODE_CONTENT;
}

static void test_rfc7252_s5_10_4_accept_checked_after_handler(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_resource_def def = {.path = "/j", .get = json_get};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 52, "x", "/j");
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, TERN_CF_CBOR);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_ACCEPTABLE);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 53, "x", "/j");
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, TERN_CF_JSON);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CONTENT);
    sfx_free(&f);
}

static void test_rfc7252_s5_10_3_content_format_refused(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 60, "x", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, TERN_CF_JSON);
    tern_msgb_set_payload(&b, "ON", 2);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_UNSUPPORTED_CONTENT_FORMAT);
    assert_int_equal(st.puts, 0);
    assert_string_equal(st.value, "OFF");
    /* Without Content-Format the handler decides (the tutorial's clients
     * send none). */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 61, "x", "/alarm");
    tern_msgb_set_payload(&b, "ON", 2);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CHANGED);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 62, "x", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, TERN_CF_TEXT_PLAIN);
    tern_msgb_set_payload(&b, "OFF", 3);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CHANGED);
    sfx_free(&f);
}

static void test_rfc7252_s5_7_2_proxy_uri_not_supported(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 70, "x", NULL);
    tern_msgb_add_str(&b, TERN_OPT_PROXY_URI, "coap://example.org/x");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_PROXYING_NOT_SUPPORTED);
    sfx_free(&f);
}

static void test_rfc7252_s5_10_8_preconditions(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 80, "x", "/alarm");
    tern_msgb_add_opt(&b, TERN_OPT_IF_NONE_MATCH, NULL, 0);
    tern_msgb_set_payload(&b, "ON", 2);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_PRECONDITION_FAILED);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 81, "x", "/alarm");
    tern_msgb_add_opt(&b, TERN_OPT_IF_MATCH, "\x01\x02", 2);
    tern_msgb_set_payload(&b, "ON", 2);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_PRECONDITION_FAILED);
    assert_int_equal(st.puts, 0);
    /* An empty If-Match: "if it exists", and it does. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 82, "x", "/alarm");
    tern_msgb_add_opt(&b, TERN_OPT_IF_MATCH, NULL, 0);
    tern_msgb_set_payload(&b, "ON", 2);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CHANGED);
    sfx_free(&f);
}

/* ---- handlers that misbehave: the server turns it into 5.00 -------------- */

static uint8_t returns_method(tern_server_request *req, tern_server_response *resp) {
    (void)req, (void)resp;
    return TERN_CODE_GET;
}

static uint8_t too_big(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    static char big[4000];
    memset(big, 'x', sizeof big);
    assert_int_equal(tern_server_response_payload(resp, TERN_CF_TEXT_PLAIN, big, sizeof big),
                     TERN_E_NOSPACE);
    return TERN_CODE_CONTENT;
}

static uint8_t defers_wrongly(tern_server_request *req, tern_server_response *resp) {
    (void)req, (void)resp;
    return TERN_DEFER; /* without tern_server_request_defer */
}

static void test_rfc7252_s5_9_3_1_handler_faults_become_5_00(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_resource_def d1 = {.path = "/m", .get = returns_method};
    tern_resource_def d2 = {.path = "/big", .get = too_big};
    tern_resource_def d3 = {.path = "/d", .get = defers_wrongly};
    assert_int_equal(tern_server_add_resource(f.srv, &d1, NULL), 0);
    assert_int_equal(tern_server_add_resource(f.srv, &d2, NULL), 0);
    assert_int_equal(tern_server_add_resource(f.srv, &d3, NULL), 0);
    const char *paths[] = {"/m", "/big", "/d"};
    for (int i = 0; i < 3; i++) {
        tern_msgb b;
        sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, (uint16_t)(90 + i), "x", paths[i]);
        const tern_msg *m = sfx_ask(&f, &f.a, &b);
        assert_int_equal(m->code, TERN_CODE_INTERNAL_SERVER_ERROR);
        assert_true(m->payload_len > 0);
    }
    tern_server_stats st;
    tern_server_get_stats(f.srv, &st);
    assert_int_equal(st.responses_5xx, 3);
    sfx_free(&f);
}

/* ---- section 5.2.2: separate responses ------------------------------------- */

static tern_endpoint_req_id later_id;
static int later_rc;

static uint8_t later_get(tern_server_request *req, tern_server_response *resp) {
    (void)resp;
    later_rc = tern_server_request_defer(req, &later_id);
    return later_rc == 0 ? TERN_DEFER : TERN_CODE_SERVICE_UNAVAILABLE;
}

static void test_rfc7252_s5_2_2_separate_response(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_resource_def def = {.path = "/slow", .get = later_get};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x100, "sep", "/slow");
    sfx_deliver(&f, &f.a, &b);
    assert_int_equal(later_rc, 0);
    sfx_expect_none(&f);
    /* The endpoint acknowledges after its ack delay (1 s by default). */
    sfx_advance(&f, 1000);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->code, TERN_CODE_EMPTY);
    assert_int_equal(m->mid, 0x100);
    /* The answer comes later, as a CON with the request's token. */
    sfx_advance(&f, 500);
    tern_server_response *r = tern_server_respond_begin(f.srv, later_id);
    assert_non_null(r);
    assert_int_equal(tern_server_response_text(r, "done"), 0);
    assert_int_equal(tern_server_respond(f.srv, r, TERN_CODE_CONTENT, f.now), 0);
    m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_token(m, "sep");
    sfx_assert_payload(m, "done");
    /* The id is spent. */
    assert_null(tern_server_respond_begin(f.srv, later_id));
    sfx_free(&f);
}

static void test_rfc7252_s5_2_2_answer_before_ack_is_piggybacked(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_resource_def def = {.path = "/slow", .get = later_get};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x101, "p", "/slow");
    sfx_deliver(&f, &f.a, &b);
    sfx_advance(&f, 200);
    tern_server_response *r = tern_server_respond_begin(f.srv, later_id);
    tern_server_response_text(r, "quick");
    assert_int_equal(tern_server_respond(f.srv, r, TERN_CODE_CONTENT, f.now), 0);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->mid, 0x101);
    sfx_assert_payload(m, "quick");
    sfx_free(&f);
}

static void test_rfc7252_s5_2_2_deferred_never_answered_gets_5_03(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.deferred_timeout_ms = 5000;
    cfg.max_deferred = 1;
    sfx f;
    sfx_init(&f, &cfg);
    tern_resource_def def = {.path = "/slow", .get = later_get};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x200, "a", "/slow");
    sfx_deliver(&f, &f.a, &b);
    assert_int_equal(later_rc, 0);
    /* The table (one slot) is full: the handler answers 5.03 itself. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x201, "b", "/slow");
    const tern_msg *m = sfx_ask(&f, &f.b, &b);
    assert_int_equal(later_rc, TERN_E_FULL);
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    assert_int_equal(tern_server_next_deadline(f.srv), 1000 + 5000);
    sfx_advance(&f, 4999);
    m = sfx_next(&f, NULL); /* the empty ACK at 1 s */
    assert_int_equal(m->code, TERN_CODE_EMPTY);
    sfx_expect_none(&f);
    sfx_advance(&f, 1);
    m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    sfx_assert_token(m, "a");
    tern_server_stats st;
    tern_server_get_stats(f.srv, &st);
    assert_int_equal(st.deferred_timeouts, 1);
    sfx_free(&f);
}

/* ---- RFC 7959 section 2.4: Block2 asked for by the client ------------------ */

static uint8_t forty(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_text(resp, "0123456789abcdef0123456789ABCDEF01234567");
    return TERN_CODE_CONTENT;
}

static void test_rfc7959_s2_4_block2_late_negotiation(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_resource_def def = {.path = "/t", .get = forty};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    tern_msgb b;
    /* Block2 NUM 0, SZX 0 (16 bytes). */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x300, "b", "/t");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0);
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_payload(m, "0123456789abcdef");
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK2), 0x08); /* NUM 0, M, SZX 0 */
    assert_int_equal(sfx_uint(m, TERN_OPT_SIZE2), 40);
    /* NUM 2: the last 8 bytes, M clear. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x301, "b", "/t");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x20);
    m = sfx_ask(&f, &f.a, &b);
    sfx_assert_payload(m, "01234567");
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK2), 0x20);
    /* NUM 3 is past the end. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x302, "b", "/t");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x30);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_BAD_OPTION);
    sfx_free(&f);
}

/* ---- the resource table ------------------------------------------------------ */

static uint8_t root_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_text(resp, "root");
    return TERN_CODE_CONTENT;
}

static void test_rfc7252_s6_5_paths_match_segment_by_segment(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_resource_def r0 = {.path = "/", .get = root_get};
    tern_resource_def r1 = {.path = "/a/b", .get = root_get, .title = "ab"};
    assert_int_equal(tern_server_add_resource(f.srv, &r0, NULL), 0);
    assert_int_equal(tern_server_add_resource(f.srv, &r1, NULL), 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 1, "x", NULL);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CONTENT);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 2, "x", "/a/b");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CONTENT);
    /* One segment "a/b" is not two segments "a", "b". */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 3, "x", NULL);
    tern_msgb_add_opt(&b, TERN_OPT_URI_PATH, "a/b", 3);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_FOUND);
    /* A trailing empty segment is a different resource. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 4, "x", "/a/b/");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_FOUND);
    assert_non_null(tern_server_find_resource(f.srv, "/a/b"));
    assert_null(tern_server_find_resource(f.srv, "/a"));
    sfx_free(&f);
}

/* Section 6.5 with deep paths (more segments than the server keeps from
 * one reading of the options) and a full table of resources found through
 * the path index, one removed and the rest still found. */
static void test_rfc7252_s6_5_deep_paths_and_many_resources(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_resources = 41; /* 40 and /.well-known/core */
    sfx f;
    sfx_init(&f, &cfg);
    static const char *deep = "/a/b/c/d/e/f/g/h/i/j";
    tern_resource_def d = {.path = deep, .get = root_get};
    assert_int_equal(tern_server_add_resource(f.srv, &d, NULL), 0);
    static char paths[39][16];
    for (int i = 0; i < 39; i++) {
        snprintf(paths[i], sizeof paths[i], "/r%d/x", i);
        tern_resource_def r = {.path = paths[i], .get = root_get};
        assert_int_equal(tern_server_add_resource(f.srv, &r, NULL), 0);
    }
    tern_msgb b;
    uint16_t mid = 1;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, mid++, "x", deep);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CONTENT);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, mid++, "x", "/a/b/c/d/e/f/g/h/i");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_FOUND);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, mid++, "x", "/a/b/c/d/e/f/g/h/i/j/k");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_FOUND);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, mid++, "x", "/a/b/c/d/e/f/g/h/i/J");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_FOUND);
    tern_server_remove_resource(f.srv, tern_server_find_resource(f.srv, paths[7]), f.now);
    for (int i = 0; i < 39; i++) {
        sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, mid++, "x", paths[i]);
        assert_int_equal(sfx_ask(&f, &f.a, &b)->code,
                         i == 7 ? TERN_CODE_NOT_FOUND : TERN_CODE_CONTENT);
    }
    assert_non_null(tern_server_find_resource(f.srv, deep));
    sfx_free(&f);
}

static void test_server_add_resource_errors(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_resources = 3; /* /.well-known/core takes one */
    sfx f;
    sfx_init(&f, &cfg);
    tern_resource_def ok = {.path = "/x", .get = root_get};
    tern_resource_def nopath = {.path = "x", .get = root_get};
    tern_resource_def nohandler = {.path = "/y"};
    tern_resource_def badct = {.path = "/y", .get = root_get, .ct = "text"};
    assert_int_equal(tern_server_add_resource(f.srv, &nopath, NULL), TERN_E_INVAL);
    assert_int_equal(tern_server_add_resource(f.srv, &nohandler, NULL), TERN_E_INVAL);
    assert_int_equal(tern_server_add_resource(f.srv, &badct, NULL), TERN_E_INVAL);
    assert_int_equal(tern_server_add_resource(f.srv, &ok, NULL), 0);
    assert_int_equal(tern_server_add_resource(f.srv, &ok, NULL), TERN_E_STATE);
    tern_resource_def y = {.path = "/y", .get = root_get};
    tern_resource_def z = {.path = "/z", .get = root_get};
    assert_int_equal(tern_server_add_resource(f.srv, &y, NULL), 0);
    assert_int_equal(tern_server_add_resource(f.srv, &z, NULL), TERN_E_FULL);
    /* Removing frees the slot. */
    tern_server_remove_resource(f.srv, tern_server_find_resource(f.srv, "/y"), f.now);
    assert_int_equal(tern_server_add_resource(f.srv, &z, NULL), 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 1, "x", "/y");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_FOUND);
    sfx_free(&f);
}

static uint8_t two_kb(tern_server_request *req, tern_server_response *resp) {
    static char doc[2000];
    (void)req;
    for (size_t i = 0; i < sizeof doc; i++) doc[i] = (char)('a' + i % 26);
    tern_server_response_payload(resp, TERN_CF_TEXT_PLAIN, doc, sizeof doc);
    return TERN_CODE_CONTENT;
}

/* RFC 7959 section 2.4: a representation larger than a datagram goes out
 * block-wise whether the client asked for Block2 or not ("a first request
 * without a Block2 Option resulted in a Block2 Option in the response"),
 * and a block size asked for that does not fit is answered with a smaller
 * one, starting at the same byte. It used to be 5.00. Found by
 * fuzz/fuzz_server.c. */
static void test_rfc7959_s2_4_too_large_for_a_datagram_goes_blockwise(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_message = 2304; /* the server builds it whole, the endpoint sends 1152 */
    sfx f;
    sfx_init(&f, &cfg);
    tern_resource_def def = {.path = "/doc", .get = two_kb};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x310, "d", "/doc");
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK2), 0x0E); /* NUM 0, M, SZX 6 */
    assert_int_equal(sfx_uint(m, TERN_OPT_SIZE2), 2000);
    assert_int_equal(m->payload_len, 1024);
    assert_int_equal(m->payload[1023], 'a' + 1023 % 26);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x311, "d", "/doc");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x16); /* NUM 1, SZX 6 */
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK2), 0x16);
    assert_int_equal(m->payload_len, 976);
    assert_int_equal(m->payload[0], 'a' + 1024 % 26);
    sfx_free(&f);

    /* An endpoint whose datagrams hold 600 bytes: block 1 of 1024 bytes
     * becomes block 2 of 512, the same first byte. */
    sfx_init(&f, &cfg);
    sfx_free(&f);
    f.ecfg.max_message = 600;
    sfx_start(&f);
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x312, "d", "/doc");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x16);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK2), 0x2D); /* NUM 2, M, SZX 5 */
    assert_int_equal(m->payload_len, 512);
    assert_int_equal(m->payload[0], 'a' + 1024 % 26);
    sfx_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s5_2_1_get_piggybacked_wire),
        cmocka_unit_test(test_rfc7252_s5_8_3_put_changed_carries_state),
        cmocka_unit_test(test_rfc7252_s5_2_3_non_request_gets_non_response),
        cmocka_unit_test(test_rfc7252_s5_9_2_5_unknown_path_not_found),
        cmocka_unit_test(test_rfc7252_s5_8_method_not_allowed),
        cmocka_unit_test(test_rfc7252_s5_4_1_unrecognised_critical_option),
        cmocka_unit_test(test_rfc7252_s5_4_1_non_unrecognised_critical_option_rejected),
        cmocka_unit_test(test_rfc7252_s5_4_1_con_unrecognised_critical_option_4_02),
        cmocka_unit_test(test_rfc7252_s5_4_5_repeated_critical_option),
        cmocka_unit_test(test_rfc7252_s5_10_4_accept),
        cmocka_unit_test(test_rfc7252_s5_10_4_accept_checked_after_handler),
        cmocka_unit_test(test_rfc7252_s5_10_3_content_format_refused),
        cmocka_unit_test(test_rfc7252_s5_7_2_proxy_uri_not_supported),
        cmocka_unit_test(test_rfc7252_s5_10_8_preconditions),
        cmocka_unit_test(test_rfc7252_s5_9_3_1_handler_faults_become_5_00),
        cmocka_unit_test(test_rfc7252_s5_2_2_separate_response),
        cmocka_unit_test(test_rfc7252_s5_2_2_answer_before_ack_is_piggybacked),
        cmocka_unit_test(test_rfc7252_s5_2_2_deferred_never_answered_gets_5_03),
        cmocka_unit_test(test_rfc7252_s6_5_deep_paths_and_many_resources),
        cmocka_unit_test(test_rfc7959_s2_4_block2_late_negotiation),
        cmocka_unit_test(test_rfc7959_s2_4_too_large_for_a_datagram_goes_blockwise),
        cmocka_unit_test(test_rfc7252_s6_5_paths_match_segment_by_segment),
        cmocka_unit_test(test_server_add_resource_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
