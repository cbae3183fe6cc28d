/* SPDX-License-Identifier: BSD-2-Clause */
/* test_msg_build.c - RFC 7252 sections 3, 3.1, 3.2 and 4.1 as produced by
 * the builder: tern_msgb_* and tern_msgb_encode().
 *
 * Every expected message is a hex wire vector; option bytes are commented
 * as (delta, length). */
#include "tern_test.h"

#include <string.h>

#include "tern/msg.h"

static uint8_t out[70000];
static uint8_t expect[70000];

/* Encode b and compare with the hex vector. */
static void assert_encodes_to(const tern_msgb *b, const char *hex) {
    size_t n = tt_hex(hex, expect, sizeof expect);
    int len = tern_msgb_encode(b, out, sizeof out);
    assert_int_equal(len, (int)n);
    assert_memory_equal(out, expect, n);
}

/* ---- header ------------------------------------------------------------- */

static void test_rfc7252_s3_header_only(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x1234);
    assert_encodes_to(&b, "40 01 1234");
    tern_msgb_init(&b, TERN_TYPE_ACK, TERN_CODE_CONTENT, 0xbeef);
    assert_encodes_to(&b, "60 45 beef");
}

static void test_rfc7252_s3_token(void **state) {
    (void)state;
    tern_msgb b;
    const uint8_t tok[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    tern_msgb_init(&b, TERN_TYPE_NON, TERN_CODE_POST, 1);
    assert_int_equal(tern_msgb_set_token(&b, tok, 9), TERN_E_INVAL);
    assert_int_equal(tern_msgb_set_token(&b, NULL, 1), TERN_E_INVAL);
    assert_int_equal(tern_msgb_set_token(&b, tok, 8), 0);
    /* 58: NON tkl 8 | 02: POST | 0001 | token */
    assert_encodes_to(&b, "58 02 0001 0102030405060708");
    assert_int_equal(tern_msgb_set_token(&b, NULL, 0), 0);
    assert_encodes_to(&b, "50 02 0001");
}

static void test_rfc7252_s3_options_and_payload(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_PUT, 0x1234);
    assert_int_equal(tern_msgb_set_token(&b, (const uint8_t *)"\xa1\xb2", 2), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "alarm"), 0);
    tern_msgb_set_payload(&b, "ON", 2);
    /* 42 03 1234 a1b2 | b5 616c61726d: Uri-Path (11, 5) | ff 4f4e: "ON" */
    assert_encodes_to(&b, "42 03 1234 a1b2 | b5 616c61726d | ff 4f4e");
}

static void test_rfc7252_s3_no_marker_for_empty_payload(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    tern_msgb_set_payload(&b, "x", 0);
    assert_encodes_to(&b, "40 01 0001");
    tern_msgb_set_payload(&b, NULL, 5); /* no bytes, no length */
    assert_encodes_to(&b, "40 01 0001");
}

static void test_rfc7252_s4_1_empty_message_carries_nothing(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_RST, TERN_CODE_EMPTY, 0x1234);
    assert_encodes_to(&b, "70 00 1234");
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_EMPTY, 7); /* CoAP ping */
    assert_encodes_to(&b, "40 00 0007");

    assert_int_equal(tern_msgb_set_token(&b, (const uint8_t *)"\x01", 1), 0);
    assert_int_equal(tern_msgb_encode(&b, out, sizeof out), TERN_E_INVAL);

    tern_msgb_init(&b, TERN_TYPE_ACK, TERN_CODE_EMPTY, 7);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0), 0);
    assert_int_equal(tern_msgb_encode(&b, out, sizeof out), TERN_E_INVAL);

    tern_msgb_init(&b, TERN_TYPE_ACK, TERN_CODE_EMPTY, 7);
    tern_msgb_set_payload(&b, "x", 1);
    assert_int_equal(tern_msgb_encode(&b, out, sizeof out), TERN_E_INVAL);
}

static void test_rfc7252_s3_header_fields_out_of_range(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    b.type = 4; /* only 2 bits on the wire */
    assert_int_equal(tern_msgb_encode(&b, out, sizeof out), TERN_E_INVAL);
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    b.token_len = 9;
    assert_int_equal(tern_msgb_encode(&b, out, sizeof out), TERN_E_INVAL);
}

/* ---- option order (section 3.1) ------------------------------------------ */

static void test_rfc7252_s3_1_unsorted_insertion_encoded_sorted(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x1234);
    assert_int_equal(tern_msgb_set_token(&b, (const uint8_t *)"\xa1\xb2", 2), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, 0), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "alarm"), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_HOST, "h"), 0);
    /* 42 01 1234 a1b2
     * 31 68:          Uri-Host (3, 1) "h"
     * 30:             Observe (+3 = 6, 0) = 0
     * 55 616c61726d:  Uri-Path (+5 = 11, 5) "alarm"
     * 10:             Content-Format (+1 = 12, 0) = 0 */
    assert_encodes_to(&b, "42 01 1234 a1b2 | 31 68 | 30 | 55 616c61726d | 10");
}

static void test_rfc7252_s3_1_repeated_options_stable_order(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "a"), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_QUERY, "q"), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "b"), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_HOST, "h"), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "c"), 0);
    /* 31 68: Uri-Host "h" | 81 61: Uri-Path (+8 = 11) "a" | 01 62: "b" |
     * 01 63: "c" | 41 71: Uri-Query (+4 = 15) "q" */
    assert_encodes_to(&b, "40 01 0001 | 31 68 | 81 61 | 01 62 | 01 63 | 41 71");
}

/* ---- delta and length boundaries (section 3.1) ---------------------------- */

static void test_rfc7252_s3_1_delta_boundaries(void **state) {
    (void)state;
    static const struct {
        uint16_t num;
        const char *hex;
    } cases[] = {
        {12, "40 01 0001 c0"},         /* delta 12 in the nibble */
        {13, "40 01 0001 d0 00"},      /* 13: 13 + 0 */
        {268, "40 01 0001 d0 ff"},     /* 268: 13 + 255 */
        {269, "40 01 0001 e0 0000"},   /* 269: 269 + 0 */
        {65535, "40 01 0001 e0 fef2"}, /* 65535: 269 + 65266 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tern_msgb b;
        tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
        assert_int_equal(tern_msgb_add_opt(&b, cases[i].num, NULL, 0), 0);
        assert_encodes_to(&b, cases[i].hex);
    }
    /* deltas are relative: 1 then 14 is a delta of 13; 14 then 283 of 269 */
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_opt(&b, 283, NULL, 0), 0);
    assert_int_equal(tern_msgb_add_opt(&b, 14, NULL, 0), 0);
    assert_int_equal(tern_msgb_add_opt(&b, 1, NULL, 0), 0);
    /* 10: (1, 0) | d0 00: (+13, 0) | e0 0000: (+269, 0) */
    assert_encodes_to(&b, "40 01 0001 | 10 | d0 00 | e0 0000");
}

static void test_rfc7252_s3_1_length_boundaries(void **state) {
    (void)state;
    static uint8_t val[65536];
    static const struct {
        size_t len;
        const char *head;
    } cases[] = {
        {0, "b0"}, {12, "bc"}, {13, "bd 00"}, {268, "bd ff"}, {269, "be 0000"}, {65535, "be fef2"},
    };
    memset(val, 'v', sizeof val);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tern_msgb b;
        tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
        assert_int_equal(tern_msgb_add_opt(&b, TERN_OPT_URI_PATH, val, cases[i].len), 0);
        size_t n = tt_hex("40 01 0001", expect, sizeof expect);
        n += tt_hex(cases[i].head, expect + n, sizeof expect - n);
        memset(expect + n, 'v', cases[i].len);
        n += cases[i].len;
        int len = tern_msgb_encode(&b, out, sizeof out);
        assert_int_equal(len, (int)n);
        assert_memory_equal(out, expect, n);

        tern_msg m;
        tern_opt o;
        assert_int_equal(tern_msg_parse(&m, out, (size_t)len), 0);
        assert_int_equal(tern_msg_find_opt(&m, TERN_OPT_URI_PATH, &o), 0);
        assert_int_equal(o.len, cases[i].len);
    }
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_opt(&b, TERN_OPT_URI_PATH, val, 65536), TERN_E_INVAL);
    assert_int_equal(tern_msgb_add_opt(&b, TERN_OPT_URI_PATH, NULL, 1), TERN_E_INVAL);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, NULL), TERN_E_INVAL);
    assert_int_equal(b.n_opts, 0);
}

/* ---- uint values (section 3.2) ------------------------------------------- */

static void test_rfc7252_s3_2_uint_minimal_encoding(void **state) {
    (void)state;
    static const struct {
        uint32_t v;
        size_t len;
        uint8_t bytes[4];
    } cases[] = {
        {0, 0, {0}},
        {1, 1, {0x01}},
        {0xff, 1, {0xff}},
        {0x100, 2, {0x01, 0x00}},
        {0xffff, 2, {0xff, 0xff}},
        {0x10000, 3, {0x01, 0x00, 0x00}},
        {0xffffff, 3, {0xff, 0xff, 0xff}},
        {0x1000000, 4, {0x01, 0x00, 0x00, 0x00}},
        {0xffffffff, 4, {0xff, 0xff, 0xff, 0xff}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[4] = {0xaa, 0xaa, 0xaa, 0xaa};
        assert_int_equal(tern_opt_uint_encode(cases[i].v, buf), cases[i].len);
        assert_memory_equal(buf, cases[i].bytes, cases[i].len);
        uint32_t back;
        assert_int_equal(tern_opt_uint_decode(buf, cases[i].len, &back), 0);
        assert_int_equal(back, cases[i].v);
    }
}

static void test_rfc7252_s3_2_uint_options_on_the_wire(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_URI_PORT, 0x100), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_MAX_AGE, 0xffffff), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_SIZE1, 0xffffffff), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, 0xff), 0);
    /* 60: Observe (6, 0) = 0 | 12 0100: Uri-Port (+1 = 7, 2) = 256 |
     * 51 ff: Content-Format (+5 = 12, 1) = 255 |
     * 23 ffffff: Max-Age (+2 = 14, 3) |
     * d4 21 ffffffff: Size1 (+13+33 = 60, 4) */
    assert_encodes_to(&b, "40 01 0001 | 60 | 12 0100 | 51 ff | 23 ffffff | d4 21 ffffffff");
}

/* ---- builder editing ------------------------------------------------------ */

static void test_msgb_remove_keeps_uint_values(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 5), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "a"), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_MAX_AGE, 300), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "b"), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_SIZE1, 7), 0);
    tern_msgb_remove_opt(&b, TERN_OPT_URI_PATH);
    assert_int_equal(b.n_opts, 3);
    /* 61 05: Observe 5 | 82 012c: Max-Age (+8, 2) 300 | d1 21 07: Size1 (+46) 7 */
    assert_encodes_to(&b, "40 01 0001 | 61 05 | 82 012c | d1 21 07");
    tern_msgb_remove_opt(&b, TERN_OPT_OBSERVE);
    /* d2 01 012c: Max-Age (13+1 = 14, 2) | d1 21 07: Size1 */
    assert_encodes_to(&b, "40 01 0001 | d2 01 012c | d1 21 07");
    tern_msgb_remove_opt(&b, TERN_OPT_ETAG); /* absent: no change */
    assert_int_equal(b.n_opts, 2);
}

/* Only options from index first on go: the caller's own Uri-Path stays, and
 * a uint that moves down keeps its value. */
static void test_msgb_remove_from_keeps_earlier_options(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "a"), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "b"), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 5), 0);
    tern_msgb_remove_opt_from(&b, 1, TERN_OPT_URI_PATH);
    assert_int_equal(b.n_opts, 2);
    /* 61 05: Observe 5 | 51 61: Uri-Path (+5 = 11) "a" */
    assert_encodes_to(&b, "40 01 0001 | 61 05 | 51 61");
}

static void test_msgb_set_uint_replaces_all(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_ACK, TERN_CODE_CONTENT, 1);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_MAX_AGE, 1), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_MAX_AGE, 2), 0);
    assert_int_equal(tern_msgb_set_uint(&b, TERN_OPT_MAX_AGE, 3), 0);
    /* d1 01 03: Max-Age (13+1, 1) = 3 */
    assert_encodes_to(&b, "60 45 0001 | d1 01 03");
}

static void test_msgb_full(void **state) {
    (void)state;
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    for (size_t i = 0; i < TERN_MSGB_MAX_OPTS; i++)
        assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "x"), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "x"), TERN_E_FULL);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 1), TERN_E_FULL);
    assert_int_equal(b.n_opts, TERN_MSGB_MAX_OPTS);
}

/* ---- buffer limits -------------------------------------------------------- */

static void test_msgb_nospace_at_every_cap(void **state) {
    (void)state;
    static uint8_t big[300];
    memset(big, 'z', sizeof big);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_POST, 0x4242);
    assert_int_equal(tern_msgb_set_token(&b, (const uint8_t *)"\x01\x02\x03\x04", 4), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "a"), 0);
    assert_int_equal(tern_msgb_add_opt(&b, TERN_OPT_PROXY_URI, big, 270), 0); /* 2 ext bytes */
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_SIZE1, 0x12345678), 0);
    assert_int_equal(tern_msgb_add_opt(&b, TERN_OPT_ECHO, big, 20), 0);
    tern_msgb_set_payload(&b, big, 17);

    int need = tern_msgb_encode(&b, out, sizeof out);
    assert_true(need > 0);
    uint8_t buf[1024];
    for (size_t cap = 0; cap < (size_t)need; cap++) {
        memset(buf, 0xa5, sizeof buf);
        assert_int_equal(tern_msgb_encode(&b, buf, cap), TERN_E_NOSPACE);
        for (size_t i = 0; i < sizeof buf; i++) assert_int_equal(buf[i], 0xa5);
    }
    assert_int_equal(tern_msgb_encode(&b, NULL, 0), TERN_E_NOSPACE);
    memset(buf, 0xa5, sizeof buf);
    assert_int_equal(tern_msgb_encode(&b, buf, (size_t)need), need);
    assert_memory_equal(buf, out, (size_t)need);
    assert_int_equal(buf[need], 0xa5);
}

/* ---- every known option through build and parse -------------------------- */

static const uint16_t table_nums[] = {
    TERN_OPT_IF_MATCH,    TERN_OPT_URI_HOST,     TERN_OPT_ETAG,           TERN_OPT_IF_NONE_MATCH,
    TERN_OPT_OBSERVE,     TERN_OPT_URI_PORT,     TERN_OPT_LOCATION_PATH,  TERN_OPT_OSCORE,
    TERN_OPT_URI_PATH,    TERN_OPT_CONTENT_FORMAT, TERN_OPT_MAX_AGE,      TERN_OPT_URI_QUERY,
    TERN_OPT_HOP_LIMIT,   TERN_OPT_ACCEPT,       TERN_OPT_Q_BLOCK1,       TERN_OPT_LOCATION_QUERY,
    TERN_OPT_BLOCK2,      TERN_OPT_BLOCK1,       TERN_OPT_SIZE2,          TERN_OPT_Q_BLOCK2,
    TERN_OPT_PROXY_URI,   TERN_OPT_PROXY_SCHEME, TERN_OPT_SIZE1,          TERN_OPT_ECHO,
    TERN_OPT_NO_RESPONSE, TERN_OPT_REQUEST_TAG,
};

static void roundtrip_option(const tern_opt_def *def, size_t len) {
    static uint8_t val[2048];
    for (size_t i = 0; i < sizeof val; i++) val[i] = (uint8_t)('a' + i % 26);
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x0101);
    /* something on either side, so the delta arithmetic is exercised */
    assert_int_equal(tern_msgb_add_opt(&b, 2049, "z", 1), 0);
    uint32_t uval = 0;
    if (def->format == TERN_OPT_FMT_UINT) {
        uval = len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1u;
        assert_int_equal(tern_msgb_add_uint(&b, def->num, uval), 0);
    } else {
        assert_int_equal(tern_msgb_add_opt(&b, def->num, val, len), 0);
    }
    if (def->repeatable) assert_int_equal(tern_msgb_add_opt(&b, def->num, "r", 1), 0);
    assert_int_equal(tern_msgb_add_opt(&b, 2, NULL, 0), 0); /* unassigned */
    int n = tern_msgb_encode(&b, out, sizeof out);
    assert_true(n > 0);

    tern_msg m;
    tern_opt o;
    assert_int_equal(tern_msg_parse(&m, out, (size_t)n), 0);
    assert_int_equal(tern_msg_count_opt(&m, def->num), def->repeatable ? 2 : 1);
    assert_int_equal(tern_msg_find_opt(&m, def->num, &o), 0);
    assert_int_equal(o.len, len);
    if (def->format == TERN_OPT_FMT_UINT) {
        uint32_t got;
        assert_int_equal(tern_msg_get_uint(&m, def->num, &got), 0);
        assert_int_equal(got, uval);
    } else if (len > 0) {
        assert_memory_equal(o.val, val, len);
    }
    assert_int_equal(tern_msg_count_opt(&m, 2049), 1);
    assert_int_equal(tern_msg_count_opt(&m, 2), 1);
}

static void test_rfc7252_s5_10_every_option_roundtrips(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof table_nums / sizeof table_nums[0]; i++) {
        const tern_opt_def *def = tern_opt_lookup(table_nums[i]);
        assert_non_null(def);
        roundtrip_option(def, def->min_len);
        roundtrip_option(def, def->max_len);
    }
}

/* ---- copying a parsed message -------------------------------------------- */

static void test_rfc7252_s3_from_msg_reencodes_identically(void **state) {
    (void)state;
    static const char *const vectors[] = {
        "40 01 1234",
        "70 00 ffff",
        "42 03 1234 a1b2 | 60 | 55 616c61726d | ff 4f4e",
        "48 45 0001 0102030405060708 | c1 00 | 21 3c | ff 7b7d",
        /* uint with a leading zero stays as it came: c2 0028 */
        "40 01 0001 c2 0028",
        "40 01 0001 d0 00 | e0 0000 | e0 fdd8 | ff 00", /* 13, 282, 65535 */
        "40 01 0001 b1 61 01 62 01 63 41 71",
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        size_t n = tt_hex(vectors[i], expect, sizeof expect);
        tern_msg m;
        tern_msgb b;
        assert_int_equal(tern_msg_parse(&m, expect, n), 0);
        assert_int_equal(tern_msgb_from_msg(&b, &m), 0);
        assert_int_equal(tern_msgb_encode(&b, out, sizeof out), (int)n);
        assert_memory_equal(out, expect, n);
    }
}

static void test_msgb_from_msg_too_many_options(void **state) {
    (void)state;
    size_t n = tt_hex("40 01 0001", expect, sizeof expect);
    memset(expect + n, 0x00, TERN_MSGB_MAX_OPTS + 1); /* 00: option 0, len 0, repeated */
    n += TERN_MSGB_MAX_OPTS + 1;
    tern_msg m;
    tern_msgb b;
    assert_int_equal(tern_msg_parse(&m, expect, n), 0);
    assert_int_equal(tern_msgb_from_msg(&b, &m), TERN_E_FULL);
    assert_int_equal(tern_msg_parse(&m, expect, n - 1), 0);
    assert_int_equal(tern_msgb_from_msg(&b, &m), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s3_header_only),
        cmocka_unit_test(test_rfc7252_s3_token),
        cmocka_unit_test(test_rfc7252_s3_options_and_payload),
        cmocka_unit_test(test_rfc7252_s3_no_marker_for_empty_payload),
        cmocka_unit_test(test_rfc7252_s4_1_empty_message_carries_nothing),
        cmocka_unit_test(test_rfc7252_s3_header_fields_out_of_range),
        cmocka_unit_test(test_rfc7252_s3_1_unsorted_insertion_encoded_sorted),
        cmocka_unit_test(test_rfc7252_s3_1_repeated_options_stable_order),
        cmocka_unit_test(test_rfc7252_s3_1_delta_boundaries),
        cmocka_unit_test(test_rfc7252_s3_1_length_boundaries),
        cmocka_unit_test(test_rfc7252_s3_2_uint_minimal_encoding),
        cmocka_unit_test(test_rfc7252_s3_2_uint_options_on_the_wire),
        cmocka_unit_test(test_msgb_remove_keeps_uint_values),
        cmocka_unit_test(test_msgb_remove_from_keeps_earlier_options),
        cmocka_unit_test(test_msgb_set_uint_replaces_all),
        cmocka_unit_test(test_msgb_full),
        cmocka_unit_test(test_msgb_nospace_at_every_cap),
        cmocka_unit_test(test_rfc7252_s5_10_every_option_roundtrips),
        cmocka_unit_test(test_rfc7252_s3_from_msg_reencodes_identically),
        cmocka_unit_test(test_msgb_from_msg_too_many_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
