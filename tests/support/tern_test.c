/* SPDX-License-Identifier: BSD-2-Clause */
/* tern_test.c - see tern_test.h. */
#include "tern_test.h"

#include <ctype.h>
#include <string.h>

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

size_t tt_hex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (*p == ' ' || *p == '|' || *p == '\n' || *p == '\t') continue;
        int v = hexval((unsigned char)*p);
        if (v < 0) fail_msg("bad hex digit '%c' in \"%s\"", *p, hex);
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap) fail_msg("hex vector longer than %zu bytes", cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) fail_msg("odd number of hex digits in \"%s\"", hex);
    return n;
}

void tt_random(void *ctx, uint8_t *out, size_t len) {
    uint64_t *s = ctx;
    for (size_t i = 0; i < len; i++) {
        uint64_t x = *s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *s = x;
        out[i] = (uint8_t)(x >> 32);
    }
}

void tt_random_fixed(void *ctx, uint8_t *out, size_t len) {
    const uint8_t *b = ctx;
    memset(out, b ? *b : 0, len);
}
