/* SPDX-License-Identifier: BSD-2-Clause */
/* test_msg_block_observe.c - Block1/Block2 values (RFC 7959 section 2.2)
 * and Observe notification ordering (RFC 7641 sections 3.4 and 4.4). */
#include "tern_test.h"

#include <string.h>

#include "tern/msg.h"

/* ---- RFC 7959 section 2.2 -------------------------------------------------- */

static void test_rfc7959_s2_2_decode(void **state) {
    (void)state;
    tern_block blk;
    /* 0x00: NUM 0, M 0, SZX 0 (16 bytes) */
    assert_int_equal(tern_block_decode(0x00, &blk), 0);
    assert_int_equal(blk.num, 0);
    assert_false(blk.more);
    assert_int_equal(blk.szx, 0);
    /* 0x2e = 0010 1 110: NUM 2, M 1, SZX 6 (1024 bytes) */
    assert_int_equal(tern_block_decode(0x2e, &blk), 0);
    assert_int_equal(blk.num, 2);
    assert_true(blk.more);
    assert_int_equal(blk.szx, 6);
    assert_int_equal(tern_block_size(blk.szx), 1024);
    /* 0xfffff6: NUM 2^20 - 1, M 0, SZX 6 */
    assert_int_equal(tern_block_decode(0xfffff6, &blk), 0);
    assert_int_equal(blk.num, 0xfffff);
    assert_false(blk.more);
    assert_int_equal(blk.szx, 6);
}

static void test_rfc7959_s2_2_szx_7_rejected(void **state) {
    (void)state;
    tern_block blk;
    assert_int_equal(tern_block_decode(0x07, &blk), TERN_E_FORMAT);
    assert_int_equal(tern_block_decode(0x0f, &blk), TERN_E_FORMAT);
    assert_int_equal(tern_block_decode(0xfffff7, &blk), TERN_E_FORMAT);
    tern_block bad = {.num = 0, .more = false, .szx = 7};
    uint32_t v;
    assert_int_equal(tern_block_encode(&bad, &v), TERN_E_INVAL);
}

static void test_rfc7959_s2_2_value_over_3_bytes_rejected(void **state) {
    (void)state;
    tern_block blk;
    assert_int_equal(tern_block_decode(0x1000000, &blk), TERN_E_FORMAT);
    assert_int_equal(tern_block_decode(0xffffffff, &blk), TERN_E_FORMAT);
    tern_block big = {.num = 1u << 20, .more = false, .szx = 0};
    uint32_t v;
    assert_int_equal(tern_block_encode(&big, &v), TERN_E_INVAL);
}

/* NUM 0-15 fits one byte, up to 4095 two, up to 2^20 - 1 three. */
static void test_rfc7959_s2_2_encode_one_two_three_bytes(void **state) {
    (void)state;
    static const struct {
        tern_block blk;
        uint32_t val;
        const char *wire; /* the whole message: header, Block2 option */
    } cases[] = {
        /* d1 0a: Block2 (13 + 10 = 23, len 1) */
        {{0, false, 0}, 0x00, "40 01 0001 d0 0a"}, /* value 0 is zero-length */
        {{0, true, 2}, 0x0a, "40 01 0001 d1 0a 0a"},
        {{15, true, 6}, 0xfe, "40 01 0001 d1 0a fe"},
        {{16, false, 6}, 0x106, "40 01 0001 d2 0a 0106"},
        {{4095, false, 6}, 0xfff6, "40 01 0001 d2 0a fff6"},
        {{4096, false, 6}, 0x10006, "40 01 0001 d3 0a 010006"},
        {{0xfffff, true, 5}, 0xfffffd, "40 01 0001 d3 0a fffffd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t v;
        assert_int_equal(tern_block_encode(&cases[i].blk, &v), 0);
        assert_int_equal(v, cases[i].val);

        tern_msgb b;
        uint8_t out[32], expect[32];
        tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
        assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, v), 0);
        size_t n = tt_hex(cases[i].wire, expect, sizeof expect);
        assert_int_equal(tern_msgb_encode(&b, out, sizeof out), (int)n);
        assert_memory_equal(out, expect, n);

        tern_msg m;
        tern_block blk;
        assert_int_equal(tern_msg_parse(&m, out, n), 0);
        assert_int_equal(tern_msg_get_block(&m, TERN_OPT_BLOCK2, &blk), 0);
        assert_int_equal(blk.num, cases[i].blk.num);
        assert_int_equal(blk.more, cases[i].blk.more);
        assert_int_equal(blk.szx, cases[i].blk.szx);
        assert_int_equal(tern_msg_get_block(&m, TERN_OPT_BLOCK1, &blk), TERN_E_NOTFOUND);
    }
}

static void test_rfc7959_s2_2_get_block_rejects_bad_values(void **state) {
    (void)state;
    uint8_t wire[32];
    tern_msg m;
    tern_block blk;
    /* d4 0a 00000006: Block2 with 4 bytes */
    size_t n = tt_hex("40 01 0001 d4 0a 00000006", wire, sizeof wire);
    assert_int_equal(tern_msg_parse(&m, wire, n), 0);
    assert_int_equal(tern_msg_get_block(&m, TERN_OPT_BLOCK2, &blk), TERN_E_FORMAT);
    /* d1 0e 07: Block1 (13 + 14 = 27) with SZX 7 */
    n = tt_hex("40 01 0001 d1 0e 07", wire, sizeof wire);
    assert_int_equal(tern_msg_parse(&m, wire, n), 0);
    assert_int_equal(tern_msg_get_block(&m, TERN_OPT_BLOCK1, &blk), TERN_E_FORMAT);
}

static void test_rfc7959_s2_2_szx_for_size(void **state) {
    (void)state;
    assert_int_equal(tern_block_szx_for(0), TERN_E_INVAL);
    assert_int_equal(tern_block_szx_for(15), TERN_E_INVAL);
    assert_int_equal(tern_block_szx_for(16), 0);
    assert_int_equal(tern_block_szx_for(31), 0);
    assert_int_equal(tern_block_szx_for(32), 1);
    assert_int_equal(tern_block_szx_for(100), 2); /* 64 */
    assert_int_equal(tern_block_szx_for(512), 5);
    assert_int_equal(tern_block_szx_for(1023), 5);
    assert_int_equal(tern_block_szx_for(1024), 6);
    assert_int_equal(tern_block_szx_for(1500), 6); /* 1024 is the largest */
    for (uint8_t szx = 0; szx <= 6; szx++)
        assert_int_equal(tern_block_szx_for(tern_block_size(szx)), szx);
}

/* ---- RFC 7641 section 3.4 ------------------------------------------------- */

static void test_rfc7641_s3_4_newer_within_half_range(void **state) {
    (void)state;
    assert_true(tern_observe_is_fresher(1, 0, 2, 0));
    assert_false(tern_observe_is_fresher(2, 0, 1, 0));
    assert_false(tern_observe_is_fresher(5, 0, 5, 0));
    /* V2 - V1 < 2^23 */
    assert_true(tern_observe_is_fresher(0, 0, (1u << 23) - 1, 0));
    assert_false(tern_observe_is_fresher(0, 0, 1u << 23, 0));
}

static void test_rfc7641_s3_4_24_bit_wrap(void **state) {
    (void)state;
    /* V1 > V2 and V1 - V2 > 2^23: the counter wrapped */
    assert_true(tern_observe_is_fresher(0xffffff, 0, 0, 0));
    assert_true(tern_observe_is_fresher(0xfffff0, 0, 0x10, 0));
    assert_false(tern_observe_is_fresher(0, 0, 0xffffff, 0));
    assert_true(tern_observe_is_fresher((1u << 23) + 1, 0, 0, 0));
    assert_false(tern_observe_is_fresher(1u << 23, 0, 0, 0));
    /* section 4.4: only the low 24 bits count */
    assert_true(tern_observe_is_fresher(0x1000001, 0, 0x2, 0));
    assert_false(tern_observe_is_fresher(0x2, 0, 0x3000001, 0));
}

static void test_rfc7641_s3_4_128_seconds_rule(void **state) {
    (void)state;
    uint64_t t1 = 1000000;
    /* an older number is still taken once more than 128 s have passed */
    assert_false(tern_observe_is_fresher(5, t1, 4, t1 + 128000));
    assert_true(tern_observe_is_fresher(5, t1, 4, t1 + 128001));
    assert_true(tern_observe_is_fresher(5, t1, 5, t1 + 200000));
    /* time running backwards never makes a notification fresh */
    assert_false(tern_observe_is_fresher(5, t1, 4, t1 - 200000));
    /* no overflow near the top of the clock */
    assert_false(tern_observe_is_fresher(5, UINT64_MAX - 10, 4, 5));
    assert_true(tern_observe_is_fresher(5, UINT64_MAX - 200000, 4, UINT64_MAX));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7959_s2_2_decode),
        cmocka_unit_test(test_rfc7959_s2_2_szx_7_rejected),
        cmocka_unit_test(test_rfc7959_s2_2_value_over_3_bytes_rejected),
        cmocka_unit_test(test_rfc7959_s2_2_encode_one_two_three_bytes),
        cmocka_unit_test(test_rfc7959_s2_2_get_block_rejects_bad_values),
        cmocka_unit_test(test_rfc7959_s2_2_szx_for_size),
        cmocka_unit_test(test_rfc7641_s3_4_newer_within_half_range),
        cmocka_unit_test(test_rfc7641_s3_4_24_bit_wrap),
        cmocka_unit_test(test_rfc7641_s3_4_128_seconds_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
