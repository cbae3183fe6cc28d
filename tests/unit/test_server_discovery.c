/* SPDX-License-Identifier: BSD-2-Clause */
/* test_server_discovery.c - /.well-known/core generated from the resource
 * table: RFC 6690 sections 4 (the document, Content-Format 40) and 4.1
 * (query filtering with href, rt, if, ct, title, sz, obs and trailing '*'),
 * RFC 7252 section 7.2 (ct, sz). */
#include "test_server_fixture.h"

static uint8_t any_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_text(resp, "x");
    return TERN_CODE_CONTENT;
}

static void setup(sfx *f) {
    sfx_init(f, NULL);
    tern_resource_def defs[] = {
        {.path = "/alarm", .get = any_get, .observable = true, .rt = "alarm", .ct = "0"},
        {.path = "/door", .get = any_get, .observable = true, .rt = "alarm door", .ct = "0",
         .title = "Front door"},
        {.path = "/sensors/temp", .get = any_get, .rt = "temperature-c", .iface = "sensor",
         .ct = "0 50", .sz = 12},
        {.path = "/secret", .get = any_get, .hidden = true},
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        assert_int_equal(tern_server_add_resource(f->srv, &defs[i], NULL), 0);
}

static const tern_msg *discover(sfx *f, const char *query1, const char *query2) {
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, (uint16_t)(f->n_out + 1), "d", "/.well-known/core");
    if (query1) tern_msgb_add_str(&b, TERN_OPT_URI_QUERY, query1);
    if (query2) tern_msgb_add_str(&b, TERN_OPT_URI_QUERY, query2);
    const tern_msg *m = sfx_ask(f, &f->a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_int_equal(sfx_uint(m, TERN_OPT_CONTENT_FORMAT), TERN_CF_LINK_FORMAT);
    return m;
}

static void test_rfc6690_s4_document(void **state) {
    (void)state;
    sfx f;
    setup(&f);
    const tern_msg *m = discover(&f, NULL, NULL);
    sfx_assert_payload(m, "</alarm>;rt=\"alarm\";ct=0;obs,"
                          "</door>;rt=\"alarm door\";ct=0;title=\"Front door\";obs,"
                          "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=\"0 50\";sz=12");
    sfx_free(&f);
}

static void test_rfc6690_s4_1_filters(void **state) {
    (void)state;
    sfx f;
    setup(&f);
    struct {
        const char *q1, *q2, *want;
    } cases[] = {
        {"rt=alarm", NULL, "</alarm>;rt=\"alarm\";ct=0;obs,</door>;rt=\"alarm door\";ct=0;"
                           "title=\"Front door\";obs"},
        {"rt=door", NULL, "</door>;rt=\"alarm door\";ct=0;title=\"Front door\";obs"},
        {"rt=temp*", NULL, "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=\"0 50\";sz=12"},
        {"if=sensor", NULL, "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=\"0 50\";sz=12"},
        {"href=/al*", NULL, "</alarm>;rt=\"alarm\";ct=0;obs"},
        {"href=/alarm", NULL, "</alarm>;rt=\"alarm\";ct=0;obs"},
        {"href=/ala", NULL, ""},
        {"ct=50", NULL, "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=\"0 50\";sz=12"},
        {"title=Front*", NULL, "</door>;rt=\"alarm door\";ct=0;title=\"Front door\";obs"},
        {"sz=12", NULL, "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=\"0 50\";sz=12"},
        {"obs", "rt=alarm*", "</alarm>;rt=\"alarm\";ct=0;obs,</door>;rt=\"alarm door\";ct=0;"
                             "title=\"Front door\";obs"},
        {"rt=alarm", "title=Front door", "</door>;rt=\"alarm door\";ct=0;title=\"Front door\";obs"},
        {"rt=nothing", NULL, ""},
        {"colour=red", NULL, ""},
        {"href=/secret", NULL, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const tern_msg *m = discover(&f, cases[i].q1, cases[i].q2);
        if (m->payload_len != strlen(cases[i].want) ||
            (m->payload_len && memcmp(m->payload, cases[i].want, m->payload_len) != 0))
            fail_msg("?%s%s%s: got \"%.*s\"", cases[i].q1, cases[i].q2 ? "&" : "",
                     cases[i].q2 ? cases[i].q2 : "", (int)m->payload_len,
                     m->payload ? (const char *)m->payload : "");
    }
    sfx_free(&f);
}

static void test_rfc6690_s4_methods_and_accept(void **state) {
    (void)state;
    sfx f;
    setup(&f);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_POST, 1, "d", "/.well-known/core");
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_METHOD_NOT_ALLOWED);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 2, "d", "/.well-known/core");
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, TERN_CF_TEXT_PLAIN);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_NOT_ACCEPTABLE);
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 3, "d", "/.well-known/core");
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, TERN_CF_LINK_FORMAT);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_CONTENT);
    sfx_free(&f);
}

static void test_rfc6690_s4_reflects_removal(void **state) {
    (void)state;
    sfx f;
    setup(&f);
    tern_server_remove_resource(f.srv, tern_server_find_resource(f.srv, "/door"), f.now);
    tern_server_remove_resource(f.srv, tern_server_find_resource(f.srv, "/sensors/temp"), f.now);
    sfx_assert_payload(discover(&f, NULL, NULL), "</alarm>;rt=\"alarm\";ct=0;obs");
    sfx_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6690_s4_document),
        cmocka_unit_test(test_rfc6690_s4_1_filters),
        cmocka_unit_test(test_rfc6690_s4_methods_and_accept),
        cmocka_unit_test(test_rfc6690_s4_reflects_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
