/* SPDX-License-Identifier: BSD-2-Clause */
/* test_tern_server_authz.c - tern-server's allow lines (apps/tern-server/
 * authz.c): which identity (RFC 7252 section 9.1.3.1, PSK mode) may use
 * which method (section 12.1.1, RFC 8132) on which path, and the answer to
 * a refusal: 4.03 over coaps, 4.01 over plain coap (section 5.9.2). */
#include "tern_test.h"

#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "tern/msg.h"

/* ---- helpers ---------------------------------------------------------------- */

/* 70 KB: not on the stack. */
static authz table;

static authz *fresh(void) {
    memset(&table, 0, sizeof table);
    return &table;
}

static void add(authz *a, const char *args) {
    char err[512];
    if (authz_add_line(a, args, err, sizeof err) != 0) fail_msg("\"%s\": %s", args, err);
}

static void assert_contains(const char *s, const char *part) {
    if (strstr(s, part) == NULL) fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

static const uint8_t all_methods[] = {TERN_CODE_GET,   TERN_CODE_POST,  TERN_CODE_PUT,
                                      TERN_CODE_DELETE, TERN_CODE_FETCH, TERN_CODE_PATCH,
                                      TERN_CODE_IPATCH};
#define N_ALL (sizeof all_methods / sizeof all_methods[0])

/* ---- the rules ----------------------------------------------------------------- */

static void test_authz_path_without_rules_allows_everything(void **state) {
    (void)state;
    authz *a = fresh();
    for (size_t i = 0; i < N_ALL; i++) {
        assert_true(authz_allowed(a, all_methods[i], "/alarm", NULL));
        assert_true(authz_allowed(a, all_methods[i], "/alarm", "door-sensor-1"));
    }
    assert_false(authz_has_rules(a, "/alarm"));

    /* Rules for /alarm change nothing for /door. */
    add(a, "PUT /alarm door-sensor-1");
    assert_false(authz_has_rules(a, "/door"));
    for (size_t i = 0; i < N_ALL; i++) {
        assert_true(authz_allowed(a, all_methods[i], "/door", NULL));
        assert_true(authz_allowed(a, all_methods[i], "/door", "door-sensor-1"));
        assert_true(authz_allowed(a, all_methods[i], "/door", "stranger"));
    }
}

static void test_authz_listed_identity_listed_method_only(void **state) {
    (void)state;
    authz *a = fresh();
    add(a, "PUT /alarm door-sensor-1");
    assert_true(authz_has_rules(a, "/alarm"));
    assert_true(authz_allowed(a, TERN_CODE_PUT, "/alarm", "door-sensor-1"));
    /* A path with allow lines accepts only what they list: not another
     * method, not another identity, not a client without one. */
    for (size_t i = 0; i < N_ALL; i++)
        if (all_methods[i] != TERN_CODE_PUT)
            assert_false(authz_allowed(a, all_methods[i], "/alarm", "door-sensor-1"));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", "door-sensor-2"));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", "door-sensor-"));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", "Door-sensor-1"));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", ""));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", NULL));
    /* An identity literally "*" is only as good as a '*' rule. */
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", "*"));
}

static void test_authz_star_is_anyone_and_anonymous(void **state) {
    (void)state;
    authz *a = fresh();
    add(a, "GET /alarm *");
    assert_true(authz_allowed(a, TERN_CODE_GET, "/alarm", NULL));
    assert_true(authz_allowed(a, TERN_CODE_GET, "/alarm", "door-sensor-1"));
    assert_true(authz_allowed(a, TERN_CODE_GET, "/alarm", "anyone-at-all"));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", NULL));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", "door-sensor-1"));
}

static void test_authz_several_methods_in_one_line(void **state) {
    (void)state;
    authz *a = fresh();
    add(a, "GET,PUT,iPATCH /a/b panel");
    assert_true(authz_allowed(a, TERN_CODE_GET, "/a/b", "panel"));
    assert_true(authz_allowed(a, TERN_CODE_PUT, "/a/b", "panel"));
    assert_true(authz_allowed(a, TERN_CODE_IPATCH, "/a/b", "panel"));
    assert_false(authz_allowed(a, TERN_CODE_POST, "/a/b", "panel"));
    assert_false(authz_allowed(a, TERN_CODE_DELETE, "/a/b", "panel"));
    assert_false(authz_allowed(a, TERN_CODE_FETCH, "/a/b", "panel"));
    assert_false(authz_allowed(a, TERN_CODE_PATCH, "/a/b", "panel"));

    /* Every method by name, blanks around the fields. */
    a = fresh();
    add(a, " \tGET,POST,PUT,DELETE,FETCH,PATCH,iPATCH\t /x   admin  ");
    for (size_t i = 0; i < N_ALL; i++) assert_true(authz_allowed(a, all_methods[i], "/x", "admin"));
    assert_int_equal(a->n, 1);
}

static void test_authz_lines_for_one_path_accumulate(void **state) {
    (void)state;
    authz *a = fresh();
    add(a, "GET /alarm *");
    add(a, "PUT /alarm door-sensor-1");
    add(a, "DELETE /alarm admin");
    add(a, "POST /alarm door-sensor-1");
    add(a, "GET /alarm *"); /* again: nothing new */
    /* One rule per (path, identity): door-sensor-1's lines merged. */
    assert_int_equal(a->n, 3);

    assert_true(authz_allowed(a, TERN_CODE_GET, "/alarm", NULL));
    assert_true(authz_allowed(a, TERN_CODE_GET, "/alarm", "door-sensor-1"));
    assert_true(authz_allowed(a, TERN_CODE_PUT, "/alarm", "door-sensor-1"));
    assert_true(authz_allowed(a, TERN_CODE_POST, "/alarm", "door-sensor-1"));
    assert_false(authz_allowed(a, TERN_CODE_DELETE, "/alarm", "door-sensor-1"));
    assert_true(authz_allowed(a, TERN_CODE_DELETE, "/alarm", "admin"));
    assert_true(authz_allowed(a, TERN_CODE_GET, "/alarm", "admin"));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", "admin"));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/alarm", NULL));
    assert_false(authz_allowed(a, TERN_CODE_DELETE, "/alarm", NULL));
}

/* Paths compare byte for byte: the caller passes the path of the resource
 * the request reached, and the server's dispatch matches Uri-Path segments
 * exactly too, so "/alarm/" and "/Alarm" are other resources (none here). */
static void test_authz_path_compared_exactly(void **state) {
    (void)state;
    authz *a = fresh();
    add(a, "PUT /alarm door-sensor-1");
    assert_false(authz_has_rules(a, "/alarm/"));
    assert_false(authz_has_rules(a, "/Alarm"));
    assert_false(authz_has_rules(a, "/alarm/x"));
    assert_false(authz_has_rules(a, "/alar"));
    assert_false(authz_has_rules(a, "alarm"));
    assert_true(authz_has_rules(a, "/alarm"));

    add(a, "GET / *"); /* the root resource, no Uri-Path */
    assert_true(authz_has_rules(a, "/"));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/", NULL));

    /* No path: a caller's mistake, refused rather than waved through. */
    assert_false(authz_allowed(a, TERN_CODE_GET, NULL, NULL));
    assert_false(authz_has_rules(a, NULL));
}

/* Only the seven method codes can be allowed; anything else on a path with
 * rules is refused (a shift by the code must stay defined). */
static void test_authz_other_codes_never_allowed_on_ruled_path(void **state) {
    (void)state;
    authz *a = fresh();
    add(a, "GET,POST,PUT,DELETE,FETCH,PATCH,iPATCH /alarm *");
    static const uint8_t others[] = {TERN_CODE_EMPTY, TERN_CODE(0, 8), TERN_CODE(0, 31),
                                     TERN_CODE_CONTENT, 0xFF};
    for (size_t i = 0; i < sizeof others; i++) {
        assert_false(authz_allowed(a, others[i], "/alarm", "x"));
        assert_true(authz_allowed(a, others[i], "/open", "x")); /* no rules: as before */
    }
}

/* ---- parsing ------------------------------------------------------------------- */

static void test_authz_bad_lines_rejected(void **state) {
    (void)state;
    static const struct {
        const char *args;
        const char *why;
    } rows[] = {
        {"get /alarm *", "unknown method \"get\""},
        {"Get /alarm *", "unknown method \"Get\""},
        {"IPATCH /alarm *", "unknown method \"IPATCH\""},
        {"OBSERVE /alarm *", "unknown method \"OBSERVE\""},
        {"GET,OBSERVE /alarm *", "unknown method \"OBSERVE\""},
        {"GET,,PUT /alarm *", "an empty method"},
        {"GET, /alarm *", "an empty method"},
        {",GET /alarm *", "an empty method"},
        {"GET, PUT /alarm *", "expected METHOD[,METHOD...] PATH IDENTITY|*"},
        {"GET /alarm", "expected METHOD"},
        {"GET", "expected METHOD"},
        {"", "expected METHOD"},
        {"   ", "expected METHOD"},
        {"GET /alarm door extra", "expected METHOD"},
        {"GET alarm *", "\"alarm\": a path starts with '/'"},
        {"GET * /alarm", "\"*\": a path starts with '/'"},
        {"GET /alarm?x=1 *", "bad character in path"},
        {"GET /alarm#top *", "bad character in path"},
        {"GET /al\x01rm *", "\"/al\\x01rm\": bad character in path"},
        {"GET /alarm do\x7For", "control character in identity"},
    };
    char err[512];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        authz *a = fresh();
        add(a, "GET /kept *");
        err[0] = '\0';
        if (authz_add_line(a, rows[i].args, err, sizeof err) != -1)
            fail_msg("\"%s\" accepted", rows[i].args);
        assert_contains(err, rows[i].why);
        /* The table is as it was. */
        assert_int_equal(a->n, 1);
        assert_string_equal(a->rules[0].path, "/kept");
    }
    authz *a = fresh();
    assert_int_equal(authz_add_line(a, NULL, err, sizeof err), -1);
    assert_contains(err, "expected METHOD");
}

static void test_authz_length_limits(void **state) {
    (void)state;
    char line[512], path[AUTHZ_PATH_MAX + 1], id[AUTHZ_IDENTITY_MAX + 2], err[512];
    authz *a = fresh();
    /* The longest path, and one byte more. */
    path[0] = '/';
    memset(path + 1, 'p', AUTHZ_PATH_MAX - 2);
    path[AUTHZ_PATH_MAX - 1] = '\0';
    snprintf(line, sizeof line, "GET %s *", path);
    add(a, line);
    assert_true(authz_has_rules(a, path));
    path[AUTHZ_PATH_MAX - 1] = 'p';
    path[AUTHZ_PATH_MAX] = '\0';
    snprintf(line, sizeof line, "GET %s *", path);
    assert_int_equal(authz_add_line(a, line, err, sizeof err), -1);
    assert_contains(err, "path longer than 127 bytes");

    /* Identities as long as PSK ones (RFC 4279 section 5.3), not longer. */
    memset(id, 'i', AUTHZ_IDENTITY_MAX);
    id[AUTHZ_IDENTITY_MAX] = '\0';
    snprintf(line, sizeof line, "PUT /alarm %s", id);
    add(a, line);
    assert_true(authz_allowed(a, TERN_CODE_PUT, "/alarm", id));
    id[AUTHZ_IDENTITY_MAX] = 'i';
    id[AUTHZ_IDENTITY_MAX + 1] = '\0';
    snprintf(line, sizeof line, "PUT /alarm %s", id);
    assert_int_equal(authz_add_line(a, line, err, sizeof err), -1);
    assert_contains(err, "identity longer than 128 bytes");
}

/* The table is full at AUTHZ_MAX_RULES (path, identity) pairs: one more is
 * an error at start, and methods still add to a pair already there. */
static void test_authz_table_full(void **state) {
    (void)state;
    char line[64], err[512];
    authz *a = fresh();
    for (int i = 0; i < AUTHZ_MAX_RULES; i++) {
        snprintf(line, sizeof line, "GET /r%d *", i);
        add(a, line);
    }
    assert_int_equal(authz_add_line(a, "GET /one-more *", err, sizeof err), -1);
    assert_contains(err, "at most 256 allow rules");
    assert_int_equal(a->n, AUTHZ_MAX_RULES);
    assert_false(authz_has_rules(a, "/one-more"));
    add(a, "PUT /r7 *");
    assert_true(authz_allowed(a, TERN_CODE_PUT, "/r7", NULL));
    assert_true(authz_allowed(a, TERN_CODE_GET, "/r255", NULL));
    assert_false(authz_allowed(a, TERN_CODE_PUT, "/r255", NULL));
}

/* ---- the refusal ------------------------------------------------------------------- */

static void test_rfc7252_s5_9_2_denied_code(void **state) {
    (void)state;
    /* coaps: the peer is known and lacks the right, 4.03 (5.9.2.4). */
    assert_int_equal(authz_denied_code(true), TERN_CODE_FORBIDDEN);
    assert_int_equal(authz_denied_code(true), TERN_CODE(4, 3));
    /* plain coap: no identity, 4.01, come back authenticated (5.9.2.2). */
    assert_int_equal(authz_denied_code(false), TERN_CODE_UNAUTHORIZED);
    assert_int_equal(authz_denied_code(false), TERN_CODE(4, 1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authz_path_without_rules_allows_everything),
        cmocka_unit_test(test_authz_listed_identity_listed_method_only),
        cmocka_unit_test(test_authz_star_is_anyone_and_anonymous),
        cmocka_unit_test(test_authz_several_methods_in_one_line),
        cmocka_unit_test(test_authz_lines_for_one_path_accumulate),
        cmocka_unit_test(test_authz_path_compared_exactly),
        cmocka_unit_test(test_authz_other_codes_never_allowed_on_ruled_path),
        cmocka_unit_test(test_authz_bad_lines_rejected),
        cmocka_unit_test(test_authz_length_limits),
        cmocka_unit_test(test_authz_table_full),
        cmocka_unit_test(test_rfc7252_s5_9_2_denied_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
