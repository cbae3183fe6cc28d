/* SPDX-License-Identifier: BSD-2-Clause */
/* keyhash.h - the keyed hash of every table whose keys a peer chooses.
 *
 * A remote peer picks its source port, its Message IDs and its tokens. With
 * an unkeyed hash it could pick them so that all its entries land in one
 * bucket and every lookup walks a long chain (hash flooding). Every such
 * table (dedup, peers, exchanges, observers) therefore hashes under a
 * 128-bit key drawn from the endpoint's random source when the table is
 * created: tern_tablehash2, a keyed multiply-fold cheap enough for every
 * datagram. Where an output is seen by peers and must not be forgeable (a
 * MAC: the Echo values), SipHash-1-3 (Aumasson and Bernstein), a PRF:
 * tern_keyhash2.
 *
 * Keys are short (an address of at most 28 bytes with a MID or a token), so
 * the two parts are hashed as one message; their lengths are part of it, so
 * that (a, b) and (a', b') of other splits never collide by construction. */
#ifndef TERN_BASE_KEYHASH_H
#define TERN_BASE_KEYHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct tern_hkey {
    uint64_t k0, k1;
} tern_hkey;

/* Build a key from 16 random bytes. */
static inline tern_hkey tern_hkey_from(const uint8_t b[16]) {
    tern_hkey k = {0, 0};
    for (int i = 0; i < 8; i++) {
        k.k0 |= (uint64_t)b[i] << (8 * i);
        k.k1 |= (uint64_t)b[8 + i] << (8 * i);
    }
    return k;
}

#define TERN_SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define TERN_SIP_ROUND(v0, v1, v2, v3)                                          \
    do {                                                                        \
        v0 += v1; v1 = TERN_SIP_ROTL(v1, 13); v1 ^= v0; v0 = TERN_SIP_ROTL(v0, 32); \
        v2 += v3; v3 = TERN_SIP_ROTL(v3, 16); v3 ^= v2;                         \
        v0 += v3; v3 = TERN_SIP_ROTL(v3, 21); v3 ^= v0;                         \
        v2 += v1; v1 = TERN_SIP_ROTL(v1, 17); v1 ^= v2; v2 = TERN_SIP_ROTL(v2, 32); \
    } while (0)

/* in[0, 8) as a little-endian word (SipHash reads its message so). */
static inline uint64_t tern_load64_le(const uint8_t *in) {
    uint64_t m;
    memcpy(&m, in, sizeof m);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    m = __builtin_bswap64(m);
#endif
    return m;
}

/* SipHash-c-d of in[0, len): c compression rounds per 8-byte word, d
 * finalisation rounds. tern uses c = 1, d = 3 (tern_siphash13); the
 * parameters exist so that a test can check the construction against the
 * reference vectors of SipHash-2-4. */
static inline uint64_t tern_siphash(const tern_hkey *k, const uint8_t *in, size_t len, int c,
                                    int d) {
    uint64_t v0 = 0x736f6d6570736575ull ^ k->k0;
    uint64_t v1 = 0x646f72616e646f6dull ^ k->k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k->k0;
    uint64_t v3 = 0x7465646279746573ull ^ k->k1;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = tern_load64_le(in + i);
        v3 ^= m;
        for (int r = 0; r < c; r++) TERN_SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    switch (len & 7) { /* the last 0 to 7 bytes, little-endian */
    case 7: b |= (uint64_t)in[full + 6] << 48; /* fall through */
    case 6: b |= (uint64_t)in[full + 5] << 40; /* fall through */
    case 5: b |= (uint64_t)in[full + 4] << 32; /* fall through */
    case 4: b |= (uint64_t)in[full + 3] << 24; /* fall through */
    case 3: b |= (uint64_t)in[full + 2] << 16; /* fall through */
    case 2: b |= (uint64_t)in[full + 1] << 8;  /* fall through */
    case 1: b |= (uint64_t)in[full];           /* fall through */
    default: break;
    }
    v3 ^= b;
    for (int r = 0; r < c; r++) TERN_SIP_ROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    for (int r = 0; r < d; r++) TERN_SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

static inline uint64_t tern_siphash13(const tern_hkey *k, const uint8_t *in, size_t len) {
    return tern_siphash(k, in, len, 1, 3);
}

/* Two byte strings as one message, each after its length (so that other
 * splits of the same bytes differ), in buf (64 bytes, zeroed past the end);
 * the message's length. a_len and b_len are cut to 31. */
static inline size_t tern_keyhash_pack(uint8_t buf[64], const uint8_t *a, size_t a_len,
                                       const uint8_t *b, size_t b_len) {
    if (a_len > 31) a_len = 31;
    if (b_len > 31) b_len = 31;
    buf[0] = (uint8_t)a_len;
    if (a_len) memcpy(buf + 1, a, a_len);
    buf[1 + a_len] = (uint8_t)b_len;
    if (b_len) memcpy(buf + 2 + a_len, b, b_len);
    return 2 + a_len + b_len;
}

/* SipHash-1-3 of two byte strings taken together: a MAC (the Echo values
 * of amplification.c), where an attacker who sees outputs must still not
 * be able to make one. */
static inline uint64_t tern_keyhash2(const tern_hkey *k, const uint8_t *a, size_t a_len,
                                     const uint8_t *b, size_t b_len) {
    uint8_t buf[64] = {0};
    return tern_siphash13(k, buf, tern_keyhash_pack(buf, a, a_len, b, b_len));
}

/* The high and low halves of a 64 x 64-bit product, folded. */
static inline uint64_t tern_mum(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_INT128__)
    __extension__ unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    uint64_t lo = (mid << 32) | (uint32_t)ll;
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo ^ hi;
#endif
}

/* The bucket hash of the tables whose keys peers choose (an address and a
 * MID or a token; a_len + b_len below 62), 32 bits. It runs for every
 * datagram, so it is a keyed multiply-fold in the manner of wyhash (what
 * Go's and Zig's hash maps use against flooding with a random seed), some
 * 30 instructions where SipHash-1-3 took 170: each 16 bytes of the packed
 * message, mixed with both key halves, go through a 128-bit product with
 * the running state, and a last product mixes in the length. Without the
 * key the bucket of an entry cannot be steered. */
static inline uint32_t tern_tablehash2(const tern_hkey *k, const uint8_t *a, size_t a_len,
                                       const uint8_t *b, size_t b_len) {
    uint8_t buf[64] = {0};
    size_t n = tern_keyhash_pack(buf, a, a_len, b, b_len);
    uint64_t s1 = k->k1 | 1u, h = k->k0;
    for (size_t i = 0; i < n; i += 16)
        h = tern_mum(tern_load64_le(buf + i) ^ s1, tern_load64_le(buf + i + 8) ^ h);
    h = tern_mum(h ^ k->k0, s1 ^ (uint64_t)n);
    return (uint32_t)(h ^ (h >> 32));
}

#endif
