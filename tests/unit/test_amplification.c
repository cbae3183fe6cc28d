/* SPDX-License-Identifier: BSD-2-Clause */
/* test_amplification.c - RFC 7252 section 11.3 and RFC 9175 section 2.4: an
 * answer to a peer whose address is not verified is at most three times its
 * request; a larger one becomes 4.01 with an Echo, and the request repeated
 * with that Echo gets the full answer. The client side repeats such a
 * request by itself. */
#include "test_client_fixture.h"
#undef TEST_SERVER_FIXTURE_H
#include "test_server_fixture.h"

static char big[300];

static uint8_t big_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_payload_ref(resp, TERN_CF_TEXT_PLAIN, big, sizeof big);
    return TERN_CODE_CONTENT;
}

static void setup_limit(sfx *f, uint32_t limit) {
    memset(f, 0, sizeof *f);
    tern_endpoint_config_default(&f->ecfg);
    f->ecfg.random = tt_random_fixed;
    f->ecfg.random_ctx = &f->rnd;
    tern_server_config_default(&f->scfg);
    if (limit) f->scfg.amplification_limit = limit;
    f->amplification = true;
    sfx_start(f);
    f->now = 5000000;
    f->a = sfx_addr(1);
    f->b = sfx_addr(2);
    memset(big, 'b', sizeof big);
    tern_resource_def def = {.path = "/big", .get = big_get};
    assert_int_equal(tern_server_add_resource(f->srv, &def, NULL), 0);
}

static void setup(sfx *f) { setup_limit(f, 0); }

static size_t wire_len(const tern_msg *m) {
    return 4 + m->token_len + m->opts_len + (m->payload_len ? 1 + m->payload_len : 0);
}

static uint8_t located_post(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    static const char *const where[] = {"location1", "location2", "location3"};
    for (size_t i = 0; i < 3; i++)
        tern_server_response_add_opt(resp, TERN_OPT_LOCATION_PATH, where[i], strlen(where[i]));
    return TERN_CODE_CREATED;
}

/* The bound counts the options too: a 2.01 whose Location-Path options
 * make it 3x a small POST is withheld at the limit 2 (RFC 9175 2.4). An
 * error the server makes itself (4.04 here) keeps its code but loses its
 * diagnostic (optional, RFC 7252 5.5.2) when that would break the bound. */
static void test_rfc7252_s11_3_options_and_diagnostics_count(void **state) {
    (void)state;
    sfx f;
    setup_limit(&f, 2);
    tern_resource_def def = {.path = "/p", .post = located_post};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_POST, 1, "t", "/p");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_UNAUTHORIZED);
    sfx_free(&f);

    setup_limit(&f, 1);
    uint8_t req[64];
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 2, "t", "/nowhere-at-all");
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_NOT_FOUND);
    assert_int_equal(m->payload_len, 0);
    assert_true(wire_len(m) <= (size_t)tern_msgb_encode(&b, req, sizeof req));
    /* A verified peer gets the diagnostic. */
    tern_endpoint_peer_set_verified(f.ep, &f.a);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 3, "t", "/nowhere-at-all");
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_NOT_FOUND);
    assert_true(m->payload_len > 0);
    sfx_free(&f);
}

/* The bound: a 300-byte representation to an 11-byte GET from an unproven
 * address is refused with 4.01 and an Echo, no larger than 3x the request. */
static void test_rfc9175_s2_4_large_answer_to_unverified_gets_echo(void **state) {
    (void)state;
    sfx f;
    setup(&f);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 1, "t", "/big");
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_UNAUTHORIZED);
    tern_opt echo;
    assert_int_equal(tern_msg_find_opt(m, TERN_OPT_ECHO, &echo), 0);
    assert_int_equal(echo.len, 8);
    assert_int_equal(m->payload_len, 0);
    uint8_t req[64];
    assert_true(wire_len(m) <= 3 * (size_t)tern_msgb_encode(&b, req, sizeof req));
    tern_server_stats st;
    tern_server_get_stats(f.srv, &st);
    assert_int_equal(st.echo_challenges, 1);
    /* The same request with that Echo: the full answer; the address is
     * verified from then on, no Echo needed. */
    uint8_t ev[8];
    memcpy(ev, echo.val, 8);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 2, "u", "/big");
    tern_msgb_add_opt(&b, TERN_OPT_ECHO, ev, 8);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_int_equal(m->payload_len, sizeof big);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 3, "v", "/big");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CONTENT);
    /* Another address with a's Echo: not verified (the value is bound to
     * the address it was made for). */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 4, "w", "/big");
    tern_msgb_add_opt(&b, TERN_OPT_ECHO, ev, 8);
    assert_int_equal(sfx_ask(&f, &f.b, &b)->code, TERN_CODE_UNAUTHORIZED);
    sfx_free(&f);
}

/* A POST that acts (counts) and answers with a large body, and with a
 * large diagnostic when its body is "bad". */
static int posts;
static uint8_t counting_post(tern_server_request *req, tern_server_response *resp) {
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    posts++;
    if (len == 3 && memcmp(p, "bad", 3) == 0) {
        tern_server_response_diag(resp, "%s", "a diagnostic much longer than the request was, "
                                              "three times over and more");
        return TERN_CODE_BAD_REQUEST;
    }
    tern_server_response_payload_ref(resp, TERN_CF_TEXT_PLAIN, big, sizeof big);
    return TERN_CODE_CHANGED;
}

static const tern_msg *post(sfx *f, uint16_t mid, const char *tok, const char *body,
                            const uint8_t *echo) {
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_POST, mid, tok, "/act");
    tern_msgb_set_payload(&b, body, strlen(body));
    if (echo) tern_msgb_add_opt(&b, TERN_OPT_ECHO, echo, 8);
    return sfx_ask(f, &f->a, &b);
}

/* RFC 9175 section 2.4 and RFC 7252 section 5.8: an unsafe request has
 * acted by the time its answer proves too large for an unverified address.
 * The answer is withheld behind the Echo challenge but kept: the request
 * repeated with that Echo gets it, and the handler does not run twice (a
 * second POST would act again). A repeat with another body is a new
 * request; so is a later one reusing the Echo (RFC 9175 2.3 lets a client
 * reuse it). An error answer with a long diagnostic is kept the same way. */
static void test_rfc9175_s2_4_unsafe_request_acts_once(void **state) {
    (void)state;
    sfx f;
    setup(&f);
    tern_resource_def def = {.path = "/act", .post = counting_post};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    posts = 0;
    const tern_msg *m = post(&f, 1, "t", "go", NULL);
    assert_int_equal(m->code, TERN_CODE_UNAUTHORIZED);
    assert_int_equal(posts, 1);
    tern_opt echo;
    assert_int_equal(tern_msg_find_opt(m, TERN_OPT_ECHO, &echo), 0);
    uint8_t ev[8];
    memcpy(ev, echo.val, 8);
    m = post(&f, 2, "u", "go", ev);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    assert_int_equal(m->payload_len, sizeof big);
    assert_int_equal(posts, 1); /* the kept answer, not a second run */
    /* The Echo reused by a new request: that one acts. */
    m = post(&f, 3, "v", "go", ev);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    assert_int_equal(posts, 2);
    sfx_free(&f);

    setup(&f);
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    posts = 0;
    m = post(&f, 1, "t", "bad", NULL);
    assert_int_equal(m->code, TERN_CODE_UNAUTHORIZED);
    assert_int_equal(tern_msg_find_opt(m, TERN_OPT_ECHO, &echo), 0);
    memcpy(ev, echo.val, 8);
    /* Another body with that Echo: not the request that was withheld. */
    m = post(&f, 2, "u", "go", ev);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    assert_int_equal(posts, 2);
    sfx_free(&f);

    setup(&f);
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    posts = 0;
    m = post(&f, 1, "t", "bad", NULL);
    assert_int_equal(tern_msg_find_opt(m, TERN_OPT_ECHO, &echo), 0);
    memcpy(ev, echo.val, 8);
    m = post(&f, 2, "u", "bad", ev);
    assert_int_equal(m->code, TERN_CODE_BAD_REQUEST);
    assert_true(m->payload_len > 40); /* the diagnostic, whole */
    assert_int_equal(posts, 1);
    sfx_free(&f);
}

/* An Echo is good for two minutes only; a small answer needs none. */
static void test_rfc9175_s2_4_stale_echo_and_small_answers(void **state) {
    (void)state;
    sfx f;
    setup(&f);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 1, "s", "/alarm");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CONTENT);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 2, "t", "/big");
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    tern_opt echo;
    assert_int_equal(tern_msg_find_opt(m, TERN_OPT_ECHO, &echo), 0);
    uint8_t ev[8];
    memcpy(ev, echo.val, 8);
    f.now += 121000;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 3, "u", "/big");
    tern_msgb_add_opt(&b, TERN_OPT_ECHO, ev, 8);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_UNAUTHORIZED);
    sfx_free(&f);
}

/* RFC 9175 section 2.4: acknowledging a confirmable message of ours proves
 * the address as well: an observer that ACKed a notification gets large
 * answers without an Echo round. */
static void test_rfc9175_s2_4_ack_verifies(void **state) {
    (void)state;
    sfx f;
    setup(&f);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, true);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 1, "o", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    (void)sfx_ask(&f, &f.a, &b);
    memcpy(st.value, "ON", 3);
    tern_resource_changed(r);
    sfx_advance(&f, 1);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    sfx_ack(&f, &f.a, m, TERN_TYPE_ACK);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 2, "t", "/big");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CONTENT);
    sfx_free(&f);
}

/* The client repeats a request answered 4.01 with Echo, with that Echo and a
 * fresh token, and hands only the final answer to the caller. */
static void test_rfc9175_s2_4_client_repeats_with_echo(void **state) {
    (void)state;
    fx c;
    fx_init(&c);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "big");
    assert_int_equal(tern_client_request(c.cli, &c.server, &b, 0, fx_cb, &c, c.now, NULL), 0);
    fx_drain(&c);
    tern_msg req = fx_sent(&c, -1);
    tern_msgb a;
    tern_msgb_init(&a, TERN_TYPE_ACK, TERN_CODE_UNAUTHORIZED, req.mid);
    tern_msgb_set_token(&a, req.token, req.token_len);
    tern_msgb_add_opt(&a, TERN_OPT_ECHO, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    fx_recv_msgb(&c, &c.server, &a);
    assert_int_equal(c.n_events, 0);
    tern_msg again = fx_sent(&c, -1);
    assert_int_not_equal(again.mid, req.mid);
    assert_false(again.token_len == req.token_len &&
                 memcmp(again.token, req.token, req.token_len) == 0);
    tern_opt o;
    assert_int_equal(tern_msg_find_opt(&again, TERN_OPT_ECHO, &o), 0);
    assert_int_equal(o.len, 8);
    assert_memory_equal(o.val, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    tern_msgb_init(&a, TERN_TYPE_ACK, TERN_CODE_CONTENT, again.mid);
    tern_msgb_set_token(&a, again.token, again.token_len);
    tern_msgb_set_payload(&a, "full", 4);
    fx_recv_msgb(&c, &c.server, &a);
    assert_int_equal(c.n_events, 1);
    assert_string_equal(c.ev[0].payload, "full");
    fx_done(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9175_s2_4_large_answer_to_unverified_gets_echo),
        cmocka_unit_test(test_rfc9175_s2_4_stale_echo_and_small_answers),
        cmocka_unit_test(test_rfc9175_s2_4_unsafe_request_acts_once),
        cmocka_unit_test(test_rfc7252_s11_3_options_and_diagnostics_count),
        cmocka_unit_test(test_rfc9175_s2_4_ack_verifies),
        cmocka_unit_test(test_rfc9175_s2_4_client_repeats_with_echo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
