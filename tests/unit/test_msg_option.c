/* SPDX-License-Identifier: BSD-2-Clause */
/* test_msg_option.c - the option table (RFC 7252 section 5.10, RFC 7641
 * section 2, RFC 7959 sections 2.1 and 4, RFC 7967, RFC 8613, RFC 8768,
 * RFC 9175, RFC 9177), the option number properties of section 5.4.6 and
 * the Content-Format registry (section 12.3). */
#include "tern_test.h"

#include <string.h>

#include "tern/msg.h"

enum { F_EMPTY = TERN_OPT_FMT_EMPTY, F_OPAQUE = TERN_OPT_FMT_OPAQUE,
       F_UINT = TERN_OPT_FMT_UINT, F_STRING = TERN_OPT_FMT_STRING };

/* A copy of each RFC's option table: C(ritical), U(nsafe), N(oCacheKey),
 * R(epeatable), name, format, length. N is only meaningful for safe options;
 * an unsafe option's N column is "-" in the RFC and asserted false here. */
static const struct {
    uint16_t num;
    bool c, u, n, r;
    const char *name;
    int format;
    uint16_t min_len, max_len;
} rfc_table[] = {
    /* RFC 7252 section 5.10 */
    {1, true, false, false, true, "If-Match", F_OPAQUE, 0, 8},
    {3, true, true, false, false, "Uri-Host", F_STRING, 1, 255},
    {4, false, false, false, true, "ETag", F_OPAQUE, 1, 8},
    {5, true, false, false, false, "If-None-Match", F_EMPTY, 0, 0},
    {7, true, true, false, false, "Uri-Port", F_UINT, 0, 2},
    {8, false, false, false, true, "Location-Path", F_STRING, 0, 255},
    {11, true, true, false, true, "Uri-Path", F_STRING, 0, 255},
    {12, false, false, false, false, "Content-Format", F_UINT, 0, 2},
    {14, false, true, false, false, "Max-Age", F_UINT, 0, 4},
    {15, true, true, false, true, "Uri-Query", F_STRING, 0, 255},
    {17, true, false, false, false, "Accept", F_UINT, 0, 2},
    {20, false, false, false, true, "Location-Query", F_STRING, 0, 255},
    {35, true, true, false, false, "Proxy-Uri", F_STRING, 1, 1034},
    {39, true, true, false, false, "Proxy-Scheme", F_STRING, 1, 255},
    {60, false, false, true, false, "Size1", F_UINT, 0, 4},
    /* RFC 7641 section 2 */
    {6, false, true, false, false, "Observe", F_UINT, 0, 3},
    /* RFC 8613 section 2: critical, safe to forward, part of the cache key */
    {9, true, false, false, false, "OSCORE", F_OPAQUE, 0, 255},
    /* RFC 8768 section 3 */
    {16, false, false, false, false, "Hop-Limit", F_UINT, 1, 1},
    /* RFC 7959 sections 2.1 and 4 */
    {23, true, true, false, false, "Block2", F_UINT, 0, 3},
    {27, true, true, false, false, "Block1", F_UINT, 0, 3},
    {28, false, false, true, false, "Size2", F_UINT, 0, 4},
    /* RFC 9177 section 4 */
    {19, true, true, false, false, "Q-Block1", F_UINT, 0, 3},
    {31, true, true, false, false, "Q-Block2", F_UINT, 0, 3},
    /* RFC 9175 sections 2.2.1 and 3.2.1 */
    {252, false, false, true, false, "Echo", F_OPAQUE, 1, 40},
    {292, false, false, false, true, "Request-Tag", F_OPAQUE, 0, 8},
    /* RFC 7967 section 2 */
    {258, false, true, false, false, "No-Response", F_UINT, 0, 1},
};

static void test_rfc7252_s5_10_option_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof rfc_table / sizeof rfc_table[0]; i++) {
        const tern_opt_def *d = tern_opt_lookup(rfc_table[i].num);
        assert_non_null(d);
        assert_int_equal(d->num, rfc_table[i].num);
        assert_string_equal(d->name, rfc_table[i].name);
        assert_int_equal(d->format, rfc_table[i].format);
        assert_int_equal(d->min_len, rfc_table[i].min_len);
        assert_int_equal(d->max_len, rfc_table[i].max_len);
        assert_int_equal(d->repeatable, rfc_table[i].r);
    }
}

static void test_rfc7252_s5_4_6_properties_from_number(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof rfc_table / sizeof rfc_table[0]; i++) {
        uint16_t num = rfc_table[i].num;
        assert_int_equal(tern_opt_is_critical(num), rfc_table[i].c);
        assert_int_equal(tern_opt_is_unsafe(num), rfc_table[i].u);
        assert_int_equal(tern_opt_is_no_cache_key(num), rfc_table[i].n);
    }
    /* the examples called out by name */
    assert_true(tern_opt_is_critical(TERN_OPT_URI_HOST));
    assert_true(tern_opt_is_unsafe(TERN_OPT_URI_HOST));
    assert_false(tern_opt_is_critical(TERN_OPT_ETAG));
    assert_true(tern_opt_is_no_cache_key(TERN_OPT_SIZE1)); /* 60 = 0b111100 */
    assert_true(tern_opt_is_no_cache_key(TERN_OPT_SIZE2)); /* 28 = 0b011100 */
    assert_false(tern_opt_is_no_cache_key(TERN_OPT_CONTENT_FORMAT));
    /* Section 5.4.6 figure: NoCacheKey is bits 1-4 of the number == 0b1110 */
    assert_true(tern_opt_is_no_cache_key(0x1c));
    assert_true(tern_opt_is_no_cache_key(0x3c));
    assert_false(tern_opt_is_no_cache_key(0x1e)); /* unsafe, so bit 1 differs */
}

static void test_rfc7252_s5_10_lookup_unknown(void **state) {
    (void)state;
    assert_null(tern_opt_lookup(0)); /* reserved */
    assert_null(tern_opt_lookup(2));
    assert_null(tern_opt_lookup(128)); /* reserved */
    assert_null(tern_opt_lookup(2048));
    assert_null(tern_opt_lookup(65535));
}

static void test_rfc7252_s5_10_lookup_by_name(void **state) {
    (void)state;
    const tern_opt_def *d = tern_opt_lookup_name("Uri-Path");
    assert_non_null(d);
    assert_int_equal(d->num, TERN_OPT_URI_PATH);
    assert_ptr_equal(tern_opt_lookup_name("uri-path"), d);
    assert_ptr_equal(tern_opt_lookup_name("URI-PATH"), d);
    assert_int_equal(tern_opt_lookup_name("etag")->num, TERN_OPT_ETAG);
    assert_int_equal(tern_opt_lookup_name("q-block2")->num, TERN_OPT_Q_BLOCK2);
    assert_int_equal(tern_opt_lookup_name("oscore")->num, TERN_OPT_OSCORE);
    assert_null(tern_opt_lookup_name("Uri-Pat"));   /* no prefix matches */
    assert_null(tern_opt_lookup_name("Uri-Paths")); /* nor longer names */
    assert_null(tern_opt_lookup_name(""));
    assert_null(tern_opt_lookup_name(NULL));
    for (size_t i = 0; i < sizeof rfc_table / sizeof rfc_table[0]; i++)
        assert_int_equal(tern_opt_lookup_name(rfc_table[i].name)->num, rfc_table[i].num);
}

/* ---- Content-Format (section 12.3) --------------------------------------- */

static void test_rfc7252_s12_3_cf_name(void **state) {
    (void)state;
    assert_string_equal(tern_cf_name(TERN_CF_TEXT_PLAIN), "text/plain;charset=utf-8");
    assert_string_equal(tern_cf_name(TERN_CF_LINK_FORMAT), "application/link-format");
    assert_string_equal(tern_cf_name(TERN_CF_XML), "application/xml");
    assert_string_equal(tern_cf_name(TERN_CF_OCTET_STREAM), "application/octet-stream");
    assert_string_equal(tern_cf_name(TERN_CF_EXI), "application/exi");
    assert_string_equal(tern_cf_name(TERN_CF_JSON), "application/json");
    assert_string_equal(tern_cf_name(TERN_CF_CBOR), "application/cbor");
    assert_string_equal(tern_cf_name(TERN_CF_SENML_JSON), "application/senml+json");
    assert_string_equal(tern_cf_name(TERN_CF_SENML_CBOR), "application/senml+cbor");
    assert_null(tern_cf_name(1));
    assert_null(tern_cf_name(65535));
}

static void test_rfc7252_s12_3_cf_parse(void **state) {
    (void)state;
    static const struct {
        const char *text;
        uint16_t cf;
    } ok[] = {
        {"0", 0},
        {"40", 40},
        {"65535", 65535},
        {"007", 7},
        {"text", TERN_CF_TEXT_PLAIN},
        {"TEXT", TERN_CF_TEXT_PLAIN},
        {"text/plain", TERN_CF_TEXT_PLAIN},
        {"text/plain;charset=utf-8", TERN_CF_TEXT_PLAIN},
        {"link", TERN_CF_LINK_FORMAT},
        {"application/link-format", TERN_CF_LINK_FORMAT},
        {"xml", TERN_CF_XML},
        {"octet", TERN_CF_OCTET_STREAM},
        {"application/octet-stream", TERN_CF_OCTET_STREAM},
        {"exi", TERN_CF_EXI},
        {"json", TERN_CF_JSON},
        {"Application/JSON", TERN_CF_JSON},
        {"cbor", TERN_CF_CBOR},
        {"senml+json", TERN_CF_SENML_JSON},
        {"senml+cbor", TERN_CF_SENML_CBOR},
        {"application/senml+cbor", TERN_CF_SENML_CBOR},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint16_t cf = 0xdead;
        assert_int_equal(tern_cf_parse(ok[i].text, &cf), 0);
        assert_int_equal(cf, ok[i].cf);
    }
    static const char *const bad[] = {"", "65536", "99999999999", "12x", "-1", "+1",
                                      " 0", "bogus", "text/html", "jso", "application/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint16_t cf = 0xdead;
        assert_int_equal(tern_cf_parse(bad[i], &cf), TERN_E_INVAL);
        assert_int_equal(cf, 0xdead);
    }
    uint16_t cf;
    assert_int_equal(tern_cf_parse(NULL, &cf), TERN_E_INVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s5_10_option_table),
        cmocka_unit_test(test_rfc7252_s5_4_6_properties_from_number),
        cmocka_unit_test(test_rfc7252_s5_10_lookup_unknown),
        cmocka_unit_test(test_rfc7252_s5_10_lookup_by_name),
        cmocka_unit_test(test_rfc7252_s12_3_cf_name),
        cmocka_unit_test(test_rfc7252_s12_3_cf_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
