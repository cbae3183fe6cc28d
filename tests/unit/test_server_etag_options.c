/* SPDX-License-Identifier: BSD-2-Clause */
/* test_server_etag_options.c - ETags and conditional requests (RFC 7252
 * sections 5.10.6, 5.9.1.3, 5.10.8), elective options that are ignored
 * (5.4.3), the reserved SZX 7 (RFC 7959 section 2.2), what a block-wise
 * answer carries (RFC 7959 sections 2.4 and 4), and the Observe corners of
 * RFC 7641 sections 3.6 and 4.1. */
#include "test_server_fixture.h"

/* A stored text whose ETag is its generation; empty means absent. */
typedef struct doc {
    char text[64];
    uint8_t gen;
    int gets, puts;
} doc;

static size_t doc_etag(void *ctx, uint8_t etag[TERN_ETAG_MAX]) {
    doc *d = ctx;
    if (!d->text[0]) return 0;
    etag[0] = 0xE0;
    etag[1] = d->gen;
    return 2;
}

static uint8_t doc_get(tern_server_request *req, tern_server_response *resp) {
    doc *d = tern_server_request_ctx(req);
    d->gets++;
    if (!d->text[0]) return TERN_CODE_NOT_FOUND;
    tern_server_response_text(resp, d->text);
    return TERN_CODE_CONTENT;
}

static uint8_t doc_put(tern_server_request *req, tern_server_response *resp) {
    (void)resp;
    doc *d = tern_server_request_ctx(req);
    size_t n;
    const uint8_t *p = tern_server_request_payload(req, &n);
    bool created = !d->text[0];
    d->puts++;
    if (n >= sizeof d->text) n = sizeof d->text - 1;
    memcpy(d->text, p, n);
    d->text[n] = 0;
    d->gen++;
    tern_resource_changed(tern_server_request_resource(req));
    return created ? TERN_CODE_CREATED : TERN_CODE_CHANGED;
}

static tern_resource *add_doc(sfx *f, const char *path, doc *d) {
    tern_resource_def def = {.path = path, .get = doc_get, .put = doc_put, .ctx = d,
                             .observable = true, .etag = doc_etag};
    tern_resource *r = NULL;
    assert_int_equal(tern_server_add_resource(f->srv, &def, &r), 0);
    return r;
}

static void etag_is(const tern_msg *m, uint8_t gen) {
    tern_opt o;
    assert_int_equal(tern_msg_find_opt(m, TERN_OPT_ETAG, &o), 0);
    assert_int_equal(o.len, 2);
    assert_int_equal(o.val[0], 0xE0);
    assert_int_equal(o.val[1], gen);
}

/* 5.10.6: a 2.05 carries the resource's ETag; 5.10.6.2 / 5.9.1.3: a GET
 * naming it is answered 2.03 Valid with the ETag and no payload, without
 * the handler; a stale one gets the full 2.05. */
static void test_rfc7252_s5_10_6_2_validation(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    doc d = {.text = "hello", .gen = 1};
    add_doc(&f, "/validate", &d);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 1, "a", "/validate");
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    etag_is(m, 1);
    assert_int_equal(d.gets, 1);
    /* Two ETags, one of them current. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 2, "a", "/validate");
    tern_msgb_add_opt(&b, TERN_OPT_ETAG, "\xE0\x09", 2);
    tern_msgb_add_opt(&b, TERN_OPT_ETAG, "\xE0\x01", 2);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_VALID);
    etag_is(m, 1);
    assert_int_equal(m->payload_len, 0);
    assert_int_equal(d.gets, 1);
    /* Stale: the representation comes. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 3, "a", "/validate");
    tern_msgb_add_opt(&b, TERN_OPT_ETAG, "\xE0\x00", 2);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_payload(m, "hello");
    sfx_free(&f);
}

/* 5.10.8.1: If-Match with the current ETag lets the PUT through, a stale
 * one gets 4.12 and changes nothing; 5.10.8.2: If-None-Match creates an
 * absent resource (2.01) and fails on a present one. */
static void test_rfc7252_s5_10_8_conditional_with_etags(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    doc d = {.text = "", .gen = 0};
    add_doc(&f, "/create1", &d);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 10, "c", "/create1");
    tern_msgb_add_opt(&b, TERN_OPT_IF_NONE_MATCH, NULL, 0);
    tern_msgb_set_payload(&b, "first", 5);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CREATED);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 11, "c", "/create1");
    tern_msgb_add_opt(&b, TERN_OPT_IF_NONE_MATCH, NULL, 0);
    tern_msgb_set_payload(&b, "again", 5);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_PRECONDITION_FAILED);
    assert_string_equal(d.text, "first");
    /* gen is 1 now. A stale If-Match: 4.12, no change. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 12, "c", "/create1");
    tern_msgb_add_opt(&b, TERN_OPT_IF_MATCH, "\xE0\x00", 2);
    tern_msgb_set_payload(&b, "stale", 5);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_PRECONDITION_FAILED);
    assert_string_equal(d.text, "first");
    assert_int_equal(d.puts, 1);
    /* The current one: changed. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 13, "c", "/create1");
    tern_msgb_add_opt(&b, TERN_OPT_IF_MATCH, "\xE0\x01", 2);
    tern_msgb_set_payload(&b, "second", 6);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CHANGED);
    assert_string_equal(d.text, "second");
    /* An empty If-Match on an absent resource fails. */
    d.text[0] = 0;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 14, "c", "/create1");
    tern_msgb_add_opt(&b, TERN_OPT_IF_MATCH, NULL, 0);
    tern_msgb_set_payload(&b, "x", 1);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_PRECONDITION_FAILED);
    assert_int_equal(d.puts, 2);
    sfx_free(&f);
}

/* 5.4.3: an elective option of a length outside its range is ignored like
 * an unrecognised one: a 4-byte Observe (at most 3) makes a plain GET, a
 * 3-byte Content-Format (at most 2) is no Content-Format. */
static void test_rfc7252_s5_4_3_elective_bad_length_ignored(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 20, "o", "/alarm");
    tern_msgb_add_opt(&b, TERN_OPT_OBSERVE, "\x00\x00\x00\x00", 4);
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 0);
    /* The resource takes ct=0 only: a 3-byte Content-Format 50 would be
     * 4.15 if it counted. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 21, "p", "/alarm");
    tern_msgb_add_opt(&b, TERN_OPT_CONTENT_FORMAT, "\x00\x00\x32", 3);
    tern_msgb_set_payload(&b, "ON", 2);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CHANGED);
    /* A critical option of a bad length is still 4.02 (5.4.3). */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 22, "q", "/alarm");
    tern_msgb_add_opt(&b, TERN_OPT_ACCEPT, "\x00\x00\x00", 3);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_BAD_OPTION);
    sfx_free(&f);
}

/* RFC 7959 section 2.2: SZX 7 is reserved; a request with it is malformed:
 * 4.00 Bad Request, for Block1 and Block2 alike. */
static void test_rfc7959_s2_2_szx7_bad_request(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 30, "s", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x07);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_BAD_REQUEST);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 31, "s", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK1, 0x0F);
    tern_msgb_set_payload(&b, "ON", 2);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_BAD_REQUEST);
    assert_int_equal(st.puts, 0);
    sfx_free(&f);
}

static char big_text[100];
static uint8_t big_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_payload_ref(resp, TERN_CF_TEXT_PLAIN, big_text, sizeof big_text);
    return TERN_CODE_CONTENT;
}

static void opt_bytes(const tern_msg *m, uint16_t num, uint8_t *out, size_t *len) {
    tern_opt o;
    assert_int_equal(tern_msg_find_opt(m, num, &o), 0);
    memcpy(out, o.val, o.len);
    *len = o.len;
}

/* RFC 7959 section 4: Size2 in a request asks for the total, on every
 * block; section 2.4: every block carries an ETag, and another
 * representation another one. */
static void test_rfc7959_s4_size2_and_etag_on_every_block(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    memset(big_text, 'a', sizeof big_text);
    tern_resource_def def = {.path = "/large", .get = big_get};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    tern_msgb b;
    uint8_t e0[8], e1[8], e2[8];
    size_t l0, l1, l2;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 40, "z", "/large");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x10); /* NUM 1, SZX 0 */
    tern_msgb_add_uint(&b, TERN_OPT_SIZE2, 0);
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(sfx_uint(m, TERN_OPT_SIZE2), 100);
    opt_bytes(m, TERN_OPT_ETAG, e0, &l0);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 41, "z", "/large");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x20);
    m = sfx_ask(&f, &f.a, &b);
    assert_false(sfx_has_opt(m, TERN_OPT_SIZE2)); /* not asked, not block 0 */
    opt_bytes(m, TERN_OPT_ETAG, e1, &l1);
    assert_int_equal(l0, l1);
    assert_memory_equal(e0, e1, l0);
    big_text[99] = 'b'; /* another representation */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 42, "z", "/large");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x30);
    m = sfx_ask(&f, &f.a, &b);
    opt_bytes(m, TERN_OPT_ETAG, e2, &l2);
    assert_true(l2 != l0 || memcmp(e0, e2, l0) != 0);
    sfx_free(&f);
}

/* RFC 7641 section 3.6: a GET with Observe 1 removes the observation even
 * when the GET itself fails (4.04 here: the client asks for a path that
 * is gone, with the token of its observation). */
static void test_rfc7641_s3_6_deregister_even_when_get_fails(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 50, "ob", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    assert_true(sfx_has_opt(sfx_ask(&f, &f.a, &b), TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 1);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 51, "ob", "/nowhere");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 1);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_FOUND);
    assert_int_equal(tern_resource_observer_count(r), 0);
    sfx_free(&f);
}

/* RFC 7641 sections 4.1 and 3.2: a re-registration answered with an error
 * (4.06 here: an Accept the resource does not serve) ends the
 * observation; no notification follows. */
static void test_rfc7641_s4_1_reregistration_error_ends_observation(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 60, "ob", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    (void)sfx_ask(&f, &f.a, &b);
    assert_int_equal(tern_resource_observer_count(r), 1);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 61, "ob", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, TERN_CF_JSON);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_ACCEPTABLE);
    assert_int_equal(tern_resource_observer_count(r), 0);
    memcpy(st.value, "ON", 3);
    tern_resource_changed(r);
    sfx_advance(&f, 1);
    sfx_expect_none(&f);
    sfx_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s5_10_6_2_validation),
        cmocka_unit_test(test_rfc7252_s5_10_8_conditional_with_etags),
        cmocka_unit_test(test_rfc7252_s5_4_3_elective_bad_length_ignored),
        cmocka_unit_test(test_rfc7959_s2_2_szx7_bad_request),
        cmocka_unit_test(test_rfc7959_s4_size2_and_etag_on_every_block),
        cmocka_unit_test(test_rfc7641_s3_6_deregister_even_when_get_fails),
        cmocka_unit_test(test_rfc7641_s4_1_reregistration_error_ends_observation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
