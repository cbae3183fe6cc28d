/* SPDX-License-Identifier: BSD-2-Clause */
/* test_base.c - the shared helpers of src/base: index-linked lists
 * (base/ilist.h) and the keyed hash (base/keyhash.h). */
#include <string.h>

#include "tern_test.h"

#include "base/ilist.h"
#include "base/keyhash.h"
#include "base/slots.h"
#include "endpoint/endpoint_int.h"

/* ---- keyed hash --------------------------------------------------------- */

/* The reference vectors of SipHash-2-4 (Aumasson and Bernstein's reference
 * implementation, vectors.h): key 00 01 .. 0f, message 00 01 .. len-1.
 * tern runs the same construction with 1 and 3 rounds. */
static void test_siphash24_reference_vectors(void **state) {
    (void)state;
    static const uint64_t want[16] = {
        0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
        0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
        0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
        0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
        0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
        0xa129ca6149be45e5ull};
    uint8_t kb[16], msg[16];
    for (int i = 0; i < 16; i++) kb[i] = (uint8_t)i, msg[i] = (uint8_t)i;
    tern_hkey k = tern_hkey_from(kb);
    for (size_t len = 0; len < 16; len++)
        assert_true(tern_siphash(&k, msg, len, 2, 4) == want[len]);
}

/* What the tables rely on, for both keyed hashes (the tables' multiply-fold
 * and the SipHash MAC): the same parts hash the same; another key, or the
 * same bytes split differently, hashes differently. */
static void test_keyhash_depends_on_key_and_split(void **state) {
    (void)state;
    uint8_t k1b[16] = {1}, k2b[16] = {2};
    tern_hkey k1 = tern_hkey_from(k1b), k2 = tern_hkey_from(k2b);
    const uint8_t addr[6] = {10, 0, 0, 1, 0x16, 0x33}, mid[2] = {0x12, 0x34};
    const uint8_t joined[8] = {10, 0, 0, 1, 0x16, 0x33, 0x12, 0x34};
    uint32_t h = tern_tablehash2(&k1, addr, 6, mid, 2);
    assert_int_equal(h, tern_tablehash2(&k1, addr, 6, mid, 2));
    assert_int_not_equal(h, tern_tablehash2(&k2, addr, 6, mid, 2));
    assert_int_not_equal(h, tern_tablehash2(&k1, joined, 8, NULL, 0));
    assert_int_not_equal(h, tern_tablehash2(&k1, joined, 7, joined + 7, 1));
    uint64_t m = tern_keyhash2(&k1, addr, 6, mid, 2);
    assert_true(m == tern_keyhash2(&k1, addr, 6, mid, 2));
    assert_true(m != tern_keyhash2(&k2, addr, 6, mid, 2));
    assert_true(m != tern_keyhash2(&k1, joined, 8, NULL, 0));
    assert_true(m != tern_keyhash2(&k1, joined, 7, joined + 7, 1));
}

/* A peer that controls its port and MIDs (or tokens) but not the key: 4096
 * MIDs from one address, or 4096 ports of one IPv6 address with an 8-byte
 * token, spread over 256 buckets without a pile-up (the largest bucket of
 * a uniform hash holds about 30 here), under several keys. */
static void test_keyhash_spreads_one_peers_mids(void **state) {
    (void)state;
    for (uint8_t key = 0; key < 4; key++) {
        uint8_t kb[16] = {0x5a, 0xa5, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, key};
        tern_hkey k = tern_hkey_from(kb);
        const uint8_t addr[6] = {10, 0, 0, 1, 0x16, 0x33};
        unsigned count[256] = {0}, most = 0;
        for (unsigned m = 0; m < 4096; m++) {
            uint8_t mb[2] = {(uint8_t)(m >> 8), (uint8_t)m};
            unsigned b = tern_tablehash2(&k, addr, 6, mb, 2) & 255u;
            if (++count[b] > most) most = count[b];
        }
        assert_true(most < 40);
        uint8_t a6[18] = {0x20, 0x01, 0x0d, 0xb8};
        const uint8_t tok[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        memset(count, 0, sizeof count);
        most = 0;
        for (unsigned p = 0; p < 4096; p++) {
            a6[16] = (uint8_t)(p >> 8), a6[17] = (uint8_t)p;
            unsigned b = tern_tablehash2(&k, a6, 18, tok, 8) & 255u;
            if (++count[b] > most) most = count[b];
        }
        assert_true(most < 40);
    }
}

/* The endpoint's address hash reads the address in place: bytes past its
 * length (whatever a caller left there) do not change it; its length, the
 * address bytes, the extra bytes and the key do. IPv4 and IPv6 lengths. */
static void test_ep_hash_addr_reads_only_the_address(void **state) {
    (void)state;
    uint8_t kb[16] = {7, 7, 7};
    tern_hkey k = tern_hkey_from(kb), k2 = tern_hkey_from((uint8_t[16]){8});
    const uint8_t mid[2] = {0x12, 0x34};
    for (uint8_t len = 6; len <= 18; len += 12) {
        tern_addr a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0xee, sizeof b);
        a.len = b.len = len;
        for (uint8_t i = 0; i < len; i++) a.bytes[i] = b.bytes[i] = (uint8_t)(i * 37 + 1);
        uint32_t h = ep_hash_addr(&k, &a, mid, 2);
        assert_int_equal(h, ep_hash_addr(&k, &b, mid, 2));
        assert_int_not_equal(h, ep_hash_addr(&k2, &a, mid, 2));
        assert_int_not_equal(h, ep_hash_addr(&k, &a, mid, 1));
        b.bytes[len - 1] ^= 1;
        assert_int_not_equal(h, ep_hash_addr(&k, &b, mid, 2));
        a.len = (uint8_t)(len - 1); /* a's last byte was not 0: a shorter key */
        assert_int_not_equal(h, ep_hash_addr(&k, &a, mid, 2));
    }
}

/* ---- index lists -------------------------------------------------------- */

typedef struct item {
    int value;
    tern_ilink a, b; /* on two lists at once */
} item;

static void expect(const tern_ilist *l, item *v, size_t field, const uint32_t *want, size_t n) {
    uint32_t i = l->head, prev = TERN_NIL;
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(i, want[k]);
        tern_ilink *link = (tern_ilink *)(void *)((char *)&v[i] + field);
        assert_int_equal(link->prev, prev);
        prev = i;
        i = link->next;
    }
    assert_int_equal(i, TERN_NIL);
    assert_int_equal(l->tail, n ? want[n - 1] : TERN_NIL);
}

static void test_ilist_append_prepend_unlink(void **state) {
    (void)state;
    item v[5];
    memset(v, 0, sizeof v);
    for (int i = 0; i < 5; i++) tern_ilink_init(&v[i].a), tern_ilink_init(&v[i].b);
    tern_ilist la, lb;
    tern_ilist_init(&la);
    tern_ilist_init(&lb);
    expect(&la, v, offsetof(item, a), NULL, 0);
    for (uint32_t i = 0; i < 4; i++) TERN_ILIST_APPEND(&la, v, a, i);
    TERN_ILIST_PREPEND(&lb, v, b, 2);
    TERN_ILIST_PREPEND(&lb, v, b, 0);
    expect(&la, v, offsetof(item, a), (const uint32_t[]){0, 1, 2, 3}, 4);
    expect(&lb, v, offsetof(item, b), (const uint32_t[]){0, 2}, 2);
    assert_true(TERN_ILIST_HAS(&la, v, a, 0));
    assert_false(TERN_ILIST_HAS(&la, v, a, 4));
    assert_false(TERN_ILIST_HAS(&lb, v, b, 1));
    /* Middle, head, tail; then an entry that is on no list: a no-op. */
    TERN_ILIST_UNLINK(&la, v, a, 2);
    expect(&la, v, offsetof(item, a), (const uint32_t[]){0, 1, 3}, 3);
    TERN_ILIST_UNLINK(&la, v, a, 0);
    TERN_ILIST_UNLINK(&la, v, a, 3);
    expect(&la, v, offsetof(item, a), (const uint32_t[]){1}, 1);
    TERN_ILIST_UNLINK(&la, v, a, 4);
    expect(&la, v, offsetof(item, a), (const uint32_t[]){1}, 1);
    assert_false(TERN_ILIST_HAS(&la, v, a, 3));
    /* Move to the tail (what LRU refresh does). */
    TERN_ILIST_APPEND(&la, v, a, 3);
    TERN_ILIST_UNLINK(&la, v, a, 1);
    TERN_ILIST_APPEND(&la, v, a, 1);
    expect(&la, v, offsetof(item, a), (const uint32_t[]){3, 1}, 2);
    /* The other list did not move. */
    expect(&lb, v, offsetof(item, b), (const uint32_t[]){0, 2}, 2);
    TERN_ILIST_UNLINK(&lb, v, b, 0);
    TERN_ILIST_UNLINK(&lb, v, b, 2);
    expect(&lb, v, offsetof(item, b), NULL, 0);
}

/* slots.h: given-back entries first (last given, first taken), then the
 * never-used ones in order; nothing past cap; the end mark bounds scans. */
typedef struct slot_entry {
    uint32_t next;
    int payload;
} slot_entry;

static void test_slots_reuse_before_fresh_and_stop_at_cap(void **state) {
    (void)state;
    slot_entry v[4] = {{0, 0}};
    tern_slots s;
    tern_slots_init(&s, 4);
    assert_int_equal(tern_slots_end(&s), 0);
    assert_int_equal(tern_slots_peek(&s), 0);
    assert_int_equal(TERN_SLOTS_TAKE(&s, v, next), 0);
    assert_int_equal(TERN_SLOTS_TAKE(&s, v, next), 1);
    assert_int_equal(TERN_SLOTS_TAKE(&s, v, next), 2);
    assert_int_equal(tern_slots_end(&s), 3);
    TERN_SLOTS_GIVE(&s, v, next, 0);
    TERN_SLOTS_GIVE(&s, v, next, 2);
    assert_int_equal(tern_slots_peek(&s), 2);
    assert_int_equal(TERN_SLOTS_TAKE(&s, v, next), 2);
    assert_int_equal(TERN_SLOTS_TAKE(&s, v, next), 0);
    assert_int_equal(TERN_SLOTS_TAKE(&s, v, next), 3); /* the last fresh one */
    assert_int_equal(tern_slots_end(&s), 4);
    assert_false(tern_slots_any(&s));
    assert_int_equal(tern_slots_peek(&s), TERN_NIL);
    assert_int_equal(TERN_SLOTS_TAKE(&s, v, next), TERN_NIL);
    TERN_SLOTS_GIVE(&s, v, next, 1);
    assert_true(tern_slots_any(&s));
    assert_int_equal(TERN_SLOTS_TAKE(&s, v, next), 1);
    tern_slots_init(&s, 0);
    assert_false(tern_slots_any(&s));
    assert_int_equal(TERN_SLOTS_TAKE(&s, v, next), TERN_NIL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash24_reference_vectors),
        cmocka_unit_test(test_keyhash_depends_on_key_and_split),
        cmocka_unit_test(test_keyhash_spreads_one_peers_mids),
        cmocka_unit_test(test_ep_hash_addr_reads_only_the_address),
        cmocka_unit_test(test_ilist_append_prepend_unlink),
        cmocka_unit_test(test_slots_reuse_before_fresh_and_stop_at_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
