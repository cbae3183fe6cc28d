/* SPDX-License-Identifier: BSD-2-Clause */
/* test_msg_parse.c - RFC 7252 section 3 (message format), 3.1 (option
 * encoding), 3.2 (uint values) and 4.1 (Empty message) as seen by
 * tern_msg_parse(), tern_msg_peek_header() and the option readers.
 *
 * Wire vectors are hex: "40 01 1234" is ver=1 type=CON tkl=0, code 0.01 GET,
 * MID 0x1234. Option bytes are commented as (delta, length). */
#include "tern_test.h"

#include <string.h>

#include "tern/msg.h"

static uint8_t wire[70000];

static int parse_hex(tern_msg *m, const char *hex) {
    size_t n = tt_hex(hex, wire, sizeof wire);
    return tern_msg_parse(m, wire, n);
}

/* ---- well-formed messages ------------------------------------------------ */

static void test_rfc7252_s3_header_only_get(void **state) {
    (void)state;
    tern_msg m;
    /* 40: ver 1, CON, tkl 0 | 01: GET | 1234: MID */
    assert_int_equal(parse_hex(&m, "40 01 1234"), 0);
    assert_int_equal(m.type, TERN_TYPE_CON);
    assert_int_equal(m.code, TERN_CODE_GET);
    assert_int_equal(m.mid, 0x1234);
    assert_int_equal(m.token_len, 0);
    assert_int_equal(m.opts_len, 0);
    assert_null(m.payload);
    assert_int_equal(m.payload_len, 0);
}

static void test_rfc7252_s3_types(void **state) {
    (void)state;
    tern_msg m;
    assert_int_equal(parse_hex(&m, "50 01 0001"), 0); /* NON */
    assert_int_equal(m.type, TERN_TYPE_NON);
    assert_int_equal(parse_hex(&m, "60 45 0001"), 0); /* ACK 2.05 */
    assert_int_equal(m.type, TERN_TYPE_ACK);
    assert_int_equal(m.code, TERN_CODE_CONTENT);
    assert_int_equal(parse_hex(&m, "70 00 ffff"), 0); /* RST, Empty */
    assert_int_equal(m.type, TERN_TYPE_RST);
    assert_int_equal(m.mid, 0xffff);
}

static void test_rfc7252_s3_token_options_payload(void **state) {
    (void)state;
    tern_msg m;
    /* 42: CON tkl 2 | 03: PUT | 1234 | a1b2: token
     * 60: Observe (delta 6, len 0) = 0
     * 55 616c61726d: Uri-Path (delta 5 -> 11, len 5) "alarm"
     * ff 4f4e: payload "ON" */
    assert_int_equal(parse_hex(&m, "42 03 1234 a1b2 | 60 | 55 616c61726d | ff 4f4e"), 0);
    assert_int_equal(m.token_len, 2);
    assert_memory_equal(m.token, "\xa1\xb2", 2);
    assert_ptr_equal(m.opts, wire + 6);
    assert_int_equal(m.opts_len, 7); /* the marker is not part of the run */
    assert_int_equal(m.payload_len, 2);
    assert_memory_equal(m.payload, "ON", 2);

    tern_opt_iter it;
    tern_opt o;
    tern_opt_iter_init(&it, &m);
    assert_true(tern_opt_next(&it, &o));
    assert_int_equal(o.num, TERN_OPT_OBSERVE);
    assert_int_equal(o.len, 0);
    assert_true(tern_opt_next(&it, &o));
    assert_int_equal(o.num, TERN_OPT_URI_PATH);
    assert_int_equal(o.len, 5);
    assert_memory_equal(o.val, "alarm", 5);
    assert_false(tern_opt_next(&it, &o));
    assert_false(tern_opt_next(&it, &o)); /* stays finished */
}

static void test_rfc7252_s3_token_eight_bytes(void **state) {
    (void)state;
    tern_msg m;
    /* 48: CON tkl 8 | 01 | 0001 | 8-byte token */
    assert_int_equal(parse_hex(&m, "48 01 0001 0102030405060708"), 0);
    assert_int_equal(m.token_len, 8);
    assert_memory_equal(m.token, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
}

static void test_rfc7252_s3_payload_without_options(void **state) {
    (void)state;
    tern_msg m;
    /* 40 02 0001 | ff | 41 ff: payload may itself contain 0xff */
    assert_int_equal(parse_hex(&m, "40 02 0001 ff 41ff"), 0);
    assert_int_equal(m.opts_len, 0);
    assert_ptr_equal(m.payload, wire + 5);
    assert_int_equal(m.payload_len, 2);
}

static void test_rfc7252_s12_1_reserved_code_classes_parse(void **state) {
    (void)state;
    tern_msg m;
    /* Codes 1.xx, 3.xx, 6.xx and 7.xx are not section 3 format errors; what
     * to do with them is the messaging layer's decision (section 4.2). */
    assert_int_equal(parse_hex(&m, "40 20 0001"), 0); /* 1.00 */
    assert_int_equal(parse_hex(&m, "40 c0 0001"), 0); /* 6.00 */
    assert_int_equal(parse_hex(&m, "40 ff 0001"), 0); /* 7.31 */
}

/* ---- format errors: header ----------------------------------------------- */

static void test_rfc7252_s3_shorter_than_header(void **state) {
    (void)state;
    tern_msg m;
    const uint8_t hdr[4] = {0x40, 0x01, 0x12, 0x34};
    for (size_t len = 0; len < 4; len++)
        assert_int_equal(tern_msg_parse(&m, hdr, len), TERN_E_FORMAT);
    assert_int_equal(tern_msg_parse(&m, NULL, 0), TERN_E_FORMAT);
}

static void test_rfc7252_s3_version_must_be_1(void **state) {
    (void)state;
    tern_msg m;
    assert_int_equal(parse_hex(&m, "00 01 1234"), TERN_E_FORMAT); /* ver 0 */
    assert_int_equal(parse_hex(&m, "80 01 1234"), TERN_E_FORMAT); /* ver 2 */
    assert_int_equal(parse_hex(&m, "c0 01 1234"), TERN_E_FORMAT); /* ver 3 */
}

static void test_rfc7252_s3_token_length_9_to_15_is_format_error(void **state) {
    (void)state;
    tern_msg m;
    uint8_t buf[4 + 15 + 1];
    memset(buf, 0x11, sizeof buf);
    buf[1] = TERN_CODE_GET;
    for (uint8_t tkl = 9; tkl <= 15; tkl++) {
        buf[0] = (uint8_t)(0x40 | tkl);
        /* enough bytes for any token, so only the length itself is wrong */
        assert_int_equal(tern_msg_parse(&m, buf, sizeof buf), TERN_E_FORMAT);
    }
}

static void test_rfc7252_s3_token_past_end(void **state) {
    (void)state;
    tern_msg m;
    /* 48: tkl 8, but only 4 token bytes follow */
    assert_int_equal(parse_hex(&m, "48 01 0001 01020304"), TERN_E_FORMAT);
    /* 41: tkl 1, nothing follows */
    assert_int_equal(parse_hex(&m, "41 01 0001"), TERN_E_FORMAT);
}

static void test_rfc7252_s4_1_empty_must_be_header_only(void **state) {
    (void)state;
    tern_msg m;
    assert_int_equal(parse_hex(&m, "40 00 1234"), 0); /* CoAP ping */
    assert_int_equal(m.code, TERN_CODE_EMPTY);
    assert_int_equal(parse_hex(&m, "41 00 1234 aa"), TERN_E_FORMAT);  /* token */
    assert_int_equal(parse_hex(&m, "40 00 1234 60"), TERN_E_FORMAT);  /* Observe option */
    assert_int_equal(parse_hex(&m, "40 00 1234 ff00"), TERN_E_FORMAT); /* payload */
    assert_int_equal(parse_hex(&m, "60 00 1234 ff"), TERN_E_FORMAT);  /* bare marker */
    assert_int_equal(parse_hex(&m, "71 00 1234 aa"), TERN_E_FORMAT);  /* RST + token */
}

/* ---- format errors: options and payload marker ---------------------------- */

static void test_rfc7252_s3_1_delta_nibble_15_is_format_error(void **state) {
    (void)state;
    tern_msg m;
    /* f0: delta 15, len 0; not the marker because the byte is not 0xff */
    assert_int_equal(parse_hex(&m, "40 01 0001 f0"), TERN_E_FORMAT);
    /* f5 + 5 bytes */
    assert_int_equal(parse_hex(&m, "40 01 0001 f5 0102030405"), TERN_E_FORMAT);
    /* after a valid option: b1 61 = Uri-Path "a", then f1 00 */
    assert_int_equal(parse_hex(&m, "40 01 0001 b1 61 f1 00"), TERN_E_FORMAT);
}

static void test_rfc7252_s3_1_length_nibble_15_is_format_error(void **state) {
    (void)state;
    tern_msg m;
    /* 0f: delta 0, len 15 */
    assert_int_equal(parse_hex(&m, "40 01 0001 0f 000102030405060708090a0b0c0d0e"),
                     TERN_E_FORMAT);
    /* bf: delta 11, len 15 */
    assert_int_equal(parse_hex(&m, "40 01 0001 bf 00"), TERN_E_FORMAT);
    /* df 00: delta 13+0, len 15 */
    assert_int_equal(parse_hex(&m, "40 01 0001 df 00 00"), TERN_E_FORMAT);
}

static void test_rfc7252_s3_marker_without_payload_is_format_error(void **state) {
    (void)state;
    tern_msg m;
    assert_int_equal(parse_hex(&m, "40 01 0001 ff"), TERN_E_FORMAT);
    /* b1 61: Uri-Path "a", then ff and nothing */
    assert_int_equal(parse_hex(&m, "40 01 0001 b1 61 ff"), TERN_E_FORMAT);
    /* with a token: 41 | aa | ff */
    assert_int_equal(parse_hex(&m, "41 01 0001 aa ff"), TERN_E_FORMAT);
}

static void test_rfc7252_s3_1_option_value_past_end(void **state) {
    (void)state;
    tern_msg m;
    /* b5 616c: Uri-Path len 5 with only 2 bytes */
    assert_int_equal(parse_hex(&m, "40 01 0001 b5 616c"), TERN_E_FORMAT);
    /* d0: extended delta byte missing */
    assert_int_equal(parse_hex(&m, "40 01 0001 d0"), TERN_E_FORMAT);
    /* e0 01: two extended delta bytes needed, one present */
    assert_int_equal(parse_hex(&m, "40 01 0001 e0 01"), TERN_E_FORMAT);
    /* 0d: extended length byte missing */
    assert_int_equal(parse_hex(&m, "40 01 0001 0d"), TERN_E_FORMAT);
    /* 0e 00: second extended length byte missing */
    assert_int_equal(parse_hex(&m, "40 01 0001 0e 00"), TERN_E_FORMAT);
    /* dd 00 00: delta 13, len 13 + 0 = 13, no value bytes */
    assert_int_equal(parse_hex(&m, "40 01 0001 dd 00 00"), TERN_E_FORMAT);
    /* 0d 00 + 12 bytes: length 13, one short */
    assert_int_equal(parse_hex(&m, "40 01 0001 0d 00 000102030405060708090a0b"), TERN_E_FORMAT);
    /* b3 61 ff: Uri-Path len 3 with 2 bytes left; inside a value 0xff is
     * data, not a payload marker */
    assert_int_equal(parse_hex(&m, "40 01 0001 b3 61 ff"), TERN_E_FORMAT);
}

static void test_rfc7252_s3_1_option_number_over_65535(void **state) {
    (void)state;
    tern_msg m;
    tern_opt o;
    /* e0 fef2: delta 269 + 0xfef2 = 65535, the largest number */
    assert_int_equal(parse_hex(&m, "40 01 0001 e0 fef2"), 0);
    assert_int_equal(tern_msg_find_opt(&m, 65535, &o), 0);
    /* e0 fef3: delta 65536 */
    assert_int_equal(parse_hex(&m, "40 01 0001 e0 fef3"), TERN_E_FORMAT);
    /* e0 ffff: delta 65804, the largest encodable */
    assert_int_equal(parse_hex(&m, "40 01 0001 e0 ffff"), TERN_E_FORMAT);
    /* e0 fcdb: 65000, then e0 010a: +535 = 65535 -> fine */
    assert_int_equal(parse_hex(&m, "40 01 0001 e0 fcdb e0 010a"), 0);
    /* e0 fcdb: 65000, then e0 010b: +536 = 65536 -> overflow */
    assert_int_equal(parse_hex(&m, "40 01 0001 e0 fcdb e0 010b"), TERN_E_FORMAT);
    /* at 65535 a further delta of 0 stays legal, 1 does not */
    assert_int_equal(parse_hex(&m, "40 01 0001 e0 fef2 00"), 0);
    assert_int_equal(parse_hex(&m, "40 01 0001 e0 fef2 10"), TERN_E_FORMAT);
}

/* ---- delta and length boundaries (section 3.1) ----------------------------- */

static void expect_single_opt(const char *hex, uint16_t num, uint16_t len) {
    tern_msg m;
    tern_opt_iter it;
    tern_opt o;
    assert_int_equal(parse_hex(&m, hex), 0);
    tern_opt_iter_init(&it, &m);
    assert_true(tern_opt_next(&it, &o));
    assert_int_equal(o.num, num);
    assert_int_equal(o.len, len);
    assert_false(tern_opt_next(&it, &o));
}

static void test_rfc7252_s3_1_delta_12_in_nibble(void **state) {
    (void)state;
    expect_single_opt("40 01 0001 c0", 12, 0); /* c0: delta 12 */
}

static void test_rfc7252_s3_1_delta_13_extended_one_byte(void **state) {
    (void)state;
    expect_single_opt("40 01 0001 d0 00", 13, 0);  /* d0 00: 13 + 0 */
    expect_single_opt("40 01 0001 d0 ff", 268, 0); /* d0 ff: 13 + 255 */
}

static void test_rfc7252_s3_1_delta_14_extended_two_bytes(void **state) {
    (void)state;
    expect_single_opt("40 01 0001 e0 0000", 269, 0);  /* e0 0000: 269 + 0 */
    expect_single_opt("40 01 0001 e0 0100", 525, 0);  /* big-endian: 269 + 256 */
    expect_single_opt("40 01 0001 e0 fef2", 65535, 0);
}

static void test_rfc7252_s3_1_length_boundaries(void **state) {
    (void)state;
    static const struct {
        const char *head; /* option byte and extended length */
        size_t len;
    } cases[] = {
        {"0c", 12},         /* nibble */
        {"0d 00", 13},      /* 13 + 0 */
        {"0d ff", 268},     /* 13 + 255 */
        {"0e 0000", 269},   /* 269 + 0 */
        {"0e fef2", 65535}, /* 269 + 65266 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = tt_hex("40 01 0001", wire, sizeof wire);
        n += tt_hex(cases[i].head, wire + n, sizeof wire - n);
        memset(wire + n, 0x5a, cases[i].len);
        n += cases[i].len;
        tern_msg m;
        tern_opt o;
        assert_int_equal(tern_msg_parse(&m, wire, n), 0);
        assert_int_equal(tern_msg_find_opt(&m, 0, &o), 0);
        assert_int_equal(o.len, cases[i].len);
        assert_int_equal(m.opts_len, n - 4);
        /* one byte short is past the end */
        assert_int_equal(tern_msg_parse(&m, wire, n - 1), TERN_E_FORMAT);
    }
}

static void test_rfc7252_s3_1_length_over_65535_rejected(void **state) {
    (void)state;
    /* 0e fef3: length 65536. Legal in section 3.1 but no UDP datagram can
     * hold it and tern_opt.len is 16 bits, so tern treats it as malformed. */
    size_t n = tt_hex("40 01 0001 0e fef3", wire, sizeof wire);
    memset(wire + n, 0, 65536);
    tern_msg m;
    assert_int_equal(tern_msg_parse(&m, wire, n + 65536), TERN_E_FORMAT);
}

static void test_rfc7252_s3_1_zero_length_option(void **state) {
    (void)state;
    tern_msg m;
    tern_opt o;
    /* b0: Uri-Path "" (an empty segment, as in coap://h/a//b) then 01 62 */
    assert_int_equal(parse_hex(&m, "40 01 0001 b0 01 62"), 0);
    assert_int_equal(tern_msg_find_opt(&m, TERN_OPT_URI_PATH, &o), 0);
    assert_int_equal(o.len, 0);
    assert_int_equal(tern_msg_count_opt(&m, TERN_OPT_URI_PATH), 2);
}

static void test_rfc7252_s3_1_repeated_options_keep_order(void **state) {
    (void)state;
    tern_msg m;
    tern_opt_iter it;
    tern_opt o;
    /* b1 61 | 01 62 | 01 63: Uri-Path a, b, c (delta 0 repeats) | 41 71: Uri-Query q */
    assert_int_equal(parse_hex(&m, "40 01 0001 b1 61 01 62 01 63 41 71"), 0);
    assert_int_equal(tern_msg_count_opt(&m, TERN_OPT_URI_PATH), 3);
    assert_int_equal(tern_msg_count_opt(&m, TERN_OPT_URI_QUERY), 1);
    assert_int_equal(tern_msg_count_opt(&m, TERN_OPT_URI_HOST), 0);
    tern_opt_iter_init(&it, &m);
    const char *expect = "abcq";
    for (size_t i = 0; i < 4; i++) {
        assert_true(tern_opt_next(&it, &o));
        assert_int_equal(o.len, 1);
        assert_int_equal(o.val[0], expect[i]);
        assert_int_equal(o.num, i < 3 ? TERN_OPT_URI_PATH : TERN_OPT_URI_QUERY);
    }
    assert_false(tern_opt_next(&it, &o));
    assert_int_equal(tern_msg_find_opt(&m, TERN_OPT_URI_PATH, &o), 0);
    assert_int_equal(o.val[0], 'a'); /* the first one */
    assert_int_equal(tern_msg_find_opt(&m, TERN_OPT_URI_HOST, &o), TERN_E_NOTFOUND);
    assert_int_equal(tern_msg_find_opt(&m, 60, NULL), TERN_E_NOTFOUND);
}

/* ---- uint values (section 3.2) -------------------------------------------- */

static void test_rfc7252_s3_2_get_uint(void **state) {
    (void)state;
    tern_msg m;
    uint32_t v = 99;
    /* 60: Observe (delta 6, len 0) = 0 | 81 3c: Max-Age (delta 8 -> 14, len 1) = 60 */
    assert_int_equal(parse_hex(&m, "40 01 0001 60 81 3c"), 0);
    assert_int_equal(tern_msg_get_uint(&m, TERN_OPT_OBSERVE, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(tern_msg_get_uint(&m, TERN_OPT_MAX_AGE, &v), 0);
    assert_int_equal(v, 60);
    assert_int_equal(tern_msg_get_uint(&m, TERN_OPT_SIZE1, &v), TERN_E_NOTFOUND);

    /* d4 2f ffffffff: Size1 (13 + 47 = 60), 4 bytes */
    assert_int_equal(parse_hex(&m, "40 01 0001 d4 2f ffffffff"), 0);
    assert_int_equal(tern_msg_get_uint(&m, TERN_OPT_SIZE1, &v), 0);
    assert_int_equal(v, 0xffffffffu);

    /* leading zeros are allowed on input: c2 0028 = Content-Format 40 */
    assert_int_equal(parse_hex(&m, "40 01 0001 c2 0028"), 0);
    assert_int_equal(tern_msg_get_uint(&m, TERN_OPT_CONTENT_FORMAT, &v), 0);
    assert_int_equal(v, 40);
}

static void test_rfc7252_s3_2_uint_over_4_bytes_is_format_error(void **state) {
    (void)state;
    tern_msg m;
    uint32_t v;
    /* d5 2f 0000000001: Size1 with 5 bytes */
    assert_int_equal(parse_hex(&m, "40 01 0001 d5 2f 0000000001"), 0);
    assert_int_equal(tern_msg_get_uint(&m, TERN_OPT_SIZE1, &v), TERN_E_FORMAT);
    const uint8_t five[5] = {0, 0, 0, 0, 1};
    assert_int_equal(tern_opt_uint_decode(five, 5, &v), TERN_E_FORMAT);
    assert_int_equal(tern_opt_uint_decode(five, 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(tern_opt_uint_decode(five + 1, 4, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(tern_opt_uint_decode(NULL, 0, &v), 0);
    assert_int_equal(v, 0);
}

/* ---- peek (section 4.2: enough to answer with RST) ------------------------ */

static void test_rfc7252_s4_2_peek_header_of_malformed_message(void **state) {
    (void)state;
    tern_msg m;
    uint8_t type = 0;
    uint16_t mid = 0;
    /* 5f: NON with tkl 15 -> unparseable, but the header is readable */
    size_t n = tt_hex("5f 01 abcd 00", wire, sizeof wire);
    assert_int_equal(tern_msg_parse(&m, wire, n), TERN_E_FORMAT);
    assert_int_equal(tern_msg_peek_header(wire, n, &type, &mid), 0);
    assert_int_equal(type, TERN_TYPE_NON);
    assert_int_equal(mid, 0xabcd);
    n = tt_hex("40 01 0001 f0", wire, sizeof wire);
    assert_int_equal(tern_msg_peek_header(wire, n, &type, &mid), 0);
    assert_int_equal(type, TERN_TYPE_CON);
    assert_int_equal(mid, 1);
    /* not even a header */
    assert_int_equal(tern_msg_peek_header(wire, 3, &type, &mid), TERN_E_FORMAT);
    n = tt_hex("80 01 0001", wire, sizeof wire); /* version 2 */
    assert_int_equal(tern_msg_peek_header(wire, n, &type, &mid), TERN_E_FORMAT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s3_header_only_get),
        cmocka_unit_test(test_rfc7252_s3_types),
        cmocka_unit_test(test_rfc7252_s3_token_options_payload),
        cmocka_unit_test(test_rfc7252_s3_token_eight_bytes),
        cmocka_unit_test(test_rfc7252_s3_payload_without_options),
        cmocka_unit_test(test_rfc7252_s12_1_reserved_code_classes_parse),
        cmocka_unit_test(test_rfc7252_s3_shorter_than_header),
        cmocka_unit_test(test_rfc7252_s3_version_must_be_1),
        cmocka_unit_test(test_rfc7252_s3_token_length_9_to_15_is_format_error),
        cmocka_unit_test(test_rfc7252_s3_token_past_end),
        cmocka_unit_test(test_rfc7252_s4_1_empty_must_be_header_only),
        cmocka_unit_test(test_rfc7252_s3_1_delta_nibble_15_is_format_error),
        cmocka_unit_test(test_rfc7252_s3_1_length_nibble_15_is_format_error),
        cmocka_unit_test(test_rfc7252_s3_marker_without_payload_is_format_error),
        cmocka_unit_test(test_rfc7252_s3_1_option_value_past_end),
        cmocka_unit_test(test_rfc7252_s3_1_option_number_over_65535),
        cmocka_unit_test(test_rfc7252_s3_1_delta_12_in_nibble),
        cmocka_unit_test(test_rfc7252_s3_1_delta_13_extended_one_byte),
        cmocka_unit_test(test_rfc7252_s3_1_delta_14_extended_two_bytes),
        cmocka_unit_test(test_rfc7252_s3_1_length_boundaries),
        cmocka_unit_test(test_rfc7252_s3_1_length_over_65535_rejected),
        cmocka_unit_test(test_rfc7252_s3_1_zero_length_option),
        cmocka_unit_test(test_rfc7252_s3_1_repeated_options_keep_order),
        cmocka_unit_test(test_rfc7252_s3_2_get_uint),
        cmocka_unit_test(test_rfc7252_s3_2_uint_over_4_bytes_is_format_error),
        cmocka_unit_test(test_rfc7252_s4_2_peek_header_of_malformed_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
