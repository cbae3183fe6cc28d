/* SPDX-License-Identifier: BSD-2-Clause */
/* test_msg_names.c - names of types and codes (RFC 7252 sections 3 and
 * 12.1), the one-line message description used by `tern -v`, and
 * tern_strerror(). */
#include "tern_test.h"

#include <string.h>

#include "tern/msg.h"

static uint8_t wire[512];

/* Parse the hex vector and compare tern_msg_format() with expect. */
static void assert_formats_to(const char *hex, const char *expect) {
    tern_msg m;
    char out[512];
    size_t n = tt_hex(hex, wire, sizeof wire);
    assert_int_equal(tern_msg_parse(&m, wire, n), 0);
    int len = tern_msg_format(&m, out, sizeof out);
    assert_string_equal(out, expect);
    assert_int_equal(len, (int)strlen(expect));
}

static void test_rfc7252_s3_type_names(void **state) {
    (void)state;
    assert_string_equal(tern_type_name(TERN_TYPE_CON), "CON");
    assert_string_equal(tern_type_name(TERN_TYPE_NON), "NON");
    assert_string_equal(tern_type_name(TERN_TYPE_ACK), "ACK");
    assert_string_equal(tern_type_name(TERN_TYPE_RST), "RST");
    assert_non_null(tern_type_name(4));
}

static void test_rfc7252_s12_1_code_names(void **state) {
    (void)state;
    assert_string_equal(tern_code_name(TERN_CODE_EMPTY), "Empty");
    assert_string_equal(tern_code_name(TERN_CODE_GET), "GET");
    assert_string_equal(tern_code_name(TERN_CODE_POST), "POST");
    assert_string_equal(tern_code_name(TERN_CODE_PUT), "PUT");
    assert_string_equal(tern_code_name(TERN_CODE_DELETE), "DELETE");
    assert_string_equal(tern_code_name(TERN_CODE_IPATCH), "iPATCH");
    assert_string_equal(tern_code_name(TERN_CODE_CONTENT), "2.05 Content");
    assert_string_equal(tern_code_name(TERN_CODE_CONTINUE), "2.31 Continue");
    assert_string_equal(tern_code_name(TERN_CODE_NOT_FOUND), "4.04 Not Found");
    assert_string_equal(tern_code_name(TERN_CODE_REQUEST_ENTITY_TOO_LARGE),
                        "4.13 Request Entity Too Large");
    assert_string_equal(tern_code_name(TERN_CODE_HOP_LIMIT_REACHED), "5.08 Hop Limit Reached");
    assert_null(tern_code_name(TERN_CODE(0, 8)));
    assert_null(tern_code_name(TERN_CODE(2, 6)));
    assert_null(tern_code_name(TERN_CODE(3, 0)));
    assert_null(tern_code_name(TERN_CODE(7, 31)));
}

/* Every registered option number is found with its own definition, and
 * none other: tern_opt_lookup searches the table by number (a binary
 * search, so this also checks the table stays sorted). */
static void test_rfc7252_s12_2_option_lookup_by_number(void **state) {
    (void)state;
    static const uint16_t known[] = {1, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17,
                                     19, 20, 23, 27, 28, 31, 35, 39, 60, 252, 258, 292};
    size_t k = 0, found = 0;
    for (uint32_t num = 0; num <= 65535; num++) {
        const tern_opt_def *d = tern_opt_lookup((uint16_t)num);
        bool want = k < sizeof known / sizeof known[0] && known[k] == num;
        if (want) k++;
        assert_int_equal(d != NULL, want);
        if (d) {
            assert_int_equal(d->num, num);
            found++;
        }
    }
    assert_int_equal(found, sizeof known / sizeof known[0]);
}

static void test_rfc7252_s12_1_code_format(void **state) {
    (void)state;
    char s[5];
    tern_code_format(TERN_CODE_EMPTY, s);
    assert_string_equal(s, "0.00");
    tern_code_format(TERN_CODE_CONTENT, s);
    assert_string_equal(s, "2.05");
    tern_code_format(TERN_CODE_NOT_FOUND, s);
    assert_string_equal(s, "4.04");
    tern_code_format(TERN_CODE_CONTINUE, s);
    assert_string_equal(s, "2.31");
    tern_code_format(0xff, s);
    assert_string_equal(s, "7.31");
}

static void test_msg_format_request(void **state) {
    (void)state;
    /* 42 03 1234 a1b2 | b5 616c61726d: Uri-Path "alarm" | ff 4f4e: "ON" */
    assert_formats_to("42 03 1234 a1b2 | b5 616c61726d | ff 4f4e",
                      "CON PUT mid=0x1234 tok=a1b2 Uri-Path:\"alarm\" | \"ON\"");
    /* 60: Observe 0 | 55 ...: Uri-Path, options in wire order */
    assert_formats_to("42 01 1234 a1b2 | 60 | 55 616c61726d",
                      "CON GET mid=0x1234 tok=a1b2 Observe:0 Uri-Path:\"alarm\"");
}

static void test_msg_format_response(void **state) {
    (void)state;
    /* 61 45 0001 01 | 43 a1b2c3: ETag (4, 3) | 80: Content-Format (+8 = 12) 0 |
     * b1 2d: Block2 (+11 = 23) NUM 2 M 1 SZX 5 | ff 616263 */
    assert_formats_to("61 45 0001 01 | 43 a1b2c3 | 80 | b1 2d | ff 616263",
                      "ACK 2.05 Content mid=0x0001 tok=01 ETag:a1b2c3 "
                      "Content-Format:text/plain;charset=utf-8 Block2:2/1/512 | \"abc\"");
    /* c2 270f: Content-Format 9999 (unregistered) | 51 32: Accept (+5 = 17) 50 |
     * a1 00: Block1 (+10 = 27) NUM 0 M 0 SZX 0 */
    assert_formats_to("60 44 00ff | c2 270f | 51 32 | a1 00",
                      "ACK 2.04 Changed mid=0x00ff Content-Format:9999 "
                      "Accept:application/json Block1:0/0/16");
}

static void test_msg_format_empty(void **state) {
    (void)state;
    assert_formats_to("40 00 1234", "CON Empty mid=0x1234");
    assert_formats_to("70 00 0007", "RST Empty mid=0x0007");
}

static void test_msg_format_odd_values(void **state) {
    (void)state;
    /* 40 08: unassigned code 0.08 | 50: If-None-Match (5, 0) |
     * a3 612262: Uri-Query (+10 = 15) a"b | e2 06e4 0a0b: option 2048 (+2033) */
    assert_formats_to("40 08 0001 | 50 | a3 612262 | e2 06e4 0a0b",
                      "CON 0.08 mid=0x0001 If-None-Match Uri-Query:\"a\\\"b\" Option-2048:0a0b");
    /* b1 01: Uri-Path with a control byte | d5 24 0102030405: Size1
     * (+13+36 = 60) too long for a uint, so shown as hex */
    assert_formats_to("40 01 0001 | b1 01 | d5 24 0102030405",
                      "CON GET mid=0x0001 Uri-Path:\"\\x01\" Size1:0102030405");
    /* d1 0a 07: Block2 with the reserved SZX 7 falls back to the number */
    assert_formats_to("40 01 0001 | d1 0a 07", "CON GET mid=0x0001 Block2:7");
    /* 10: If-Match (1, 0), empty */
    assert_formats_to("40 01 0001 | 10", "CON GET mid=0x0001 If-Match");
}

static void test_msg_format_payloads(void **state) {
    (void)state;
    /* binary payload: hex with its length */
    assert_formats_to("50 45 0002 | ff 0001ff", "NON 2.05 Content mid=0x0002 | 0001ff (3 bytes)");
    /* text with control characters that have an escape */
    assert_formats_to("50 45 0002 | ff 610a62", "NON 2.05 Content mid=0x0002 | \"a\\nb\"");

    /* long text is cut after 64 characters */
    tern_msg m;
    char out[512];
    size_t n = tt_hex("50 45 0002 ff", wire, sizeof wire);
    memset(wire + n, 'a', 100);
    assert_int_equal(tern_msg_parse(&m, wire, n + 100), 0);
    tern_msg_format(&m, out, sizeof out);
    char expect[512];
    strcpy(expect, "NON 2.05 Content mid=0x0002 | \"");
    memset(expect + strlen(expect), 'a', 64);
    strcpy(expect + 31 + 64, "\"... (100 bytes)");
    assert_string_equal(out, expect);

    /* long binary after 32 bytes */
    for (size_t i = 0; i < 40; i++) wire[n + i] = (uint8_t)i;
    assert_int_equal(tern_msg_parse(&m, wire, n + 40), 0);
    tern_msg_format(&m, out, sizeof out);
    assert_string_equal(out, "NON 2.05 Content mid=0x0002 | "
                             "000102030405060708090a0b0c0d0e0f"
                             "101112131415161718191a1b1c1d1e1f... (40 bytes)");
}

static void test_msg_format_long_option_values_cut(void **state) {
    (void)state;
    tern_msg m;
    char out[512];
    char expect[512];
    /* dd 16 46: Proxy-Uri (13 + 22 = 35), length 13 + 70 = 83 */
    size_t n = tt_hex("40 01 0001 dd 16 46", wire, sizeof wire);
    memset(wire + n, 'u', 83);
    assert_int_equal(tern_msg_parse(&m, wire, n + 83), 0);
    tern_msg_format(&m, out, sizeof out);
    strcpy(expect, "CON GET mid=0x0001 Proxy-Uri:\"");
    memset(expect + strlen(expect), 'u', 64);
    strcpy(expect + 30 + 64, "\"...");
    assert_string_equal(out, expect);

    /* ed fef2 1b: option 65535 (unknown, so opaque), length 13 + 27 = 40 */
    n = tt_hex("40 01 0001 ed fef2 1b", wire, sizeof wire);
    memset(wire + n, 0xab, 40);
    assert_int_equal(tern_msg_parse(&m, wire, n + 40), 0);
    tern_msg_format(&m, out, sizeof out);
    strcpy(expect, "CON GET mid=0x0001 Option-65535:");
    for (size_t i = 0; i < 32; i++) strcat(expect, "ab");
    strcat(expect, "...");
    assert_string_equal(out, expect);
}

static void test_msg_format_truncates_like_snprintf(void **state) {
    (void)state;
    tern_msg m;
    size_t n = tt_hex("42 03 1234 a1b2 | b5 616c61726d | ff 4f4e", wire, sizeof wire);
    assert_int_equal(tern_msg_parse(&m, wire, n), 0);
    const char *full = "CON PUT mid=0x1234 tok=a1b2 Uri-Path:\"alarm\" | \"ON\"";
    int want = (int)strlen(full);
    assert_int_equal(tern_msg_format(&m, NULL, 0), want);
    for (size_t cap = 1; cap <= (size_t)want + 1; cap++) {
        char out[128];
        memset(out, '#', sizeof out);
        assert_int_equal(tern_msg_format(&m, out, cap), want);
        assert_int_equal(strlen(out), cap - 1);
        assert_memory_equal(out, full, cap - 1);
        assert_int_equal(out[cap], '#'); /* nothing past cap */
    }
}

static void test_strerror(void **state) {
    (void)state;
    const int codes[] = {TERN_OK,        TERN_E_INVAL,  TERN_E_NOSPACE, TERN_E_FORMAT,
                         TERN_E_FULL,    TERN_E_NOTFOUND, TERN_E_TIMEOUT, TERN_E_RESET,
                         TERN_E_URI,     TERN_E_SYSTEM, TERN_E_STATE,   TERN_E_REJECT,
                         TERN_E_CANCELLED};
    const char *unknown = tern_strerror(-1000);
    assert_non_null(unknown);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = tern_strerror(codes[i]);
        assert_non_null(s);
        assert_string_not_equal(s, unknown);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(s, tern_strerror(codes[j]));
    }
    assert_string_equal(tern_strerror(TERN_E_FORMAT), "malformed message");
    assert_non_null(tern_strerror(1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s12_2_option_lookup_by_number),
        cmocka_unit_test(test_rfc7252_s3_type_names),
        cmocka_unit_test(test_rfc7252_s12_1_code_names),
        cmocka_unit_test(test_rfc7252_s12_1_code_format),
        cmocka_unit_test(test_msg_format_request),
        cmocka_unit_test(test_msg_format_response),
        cmocka_unit_test(test_msg_format_empty),
        cmocka_unit_test(test_msg_format_odd_values),
        cmocka_unit_test(test_msg_format_payloads),
        cmocka_unit_test(test_msg_format_long_option_values_cut),
        cmocka_unit_test(test_msg_format_truncates_like_snprintf),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
