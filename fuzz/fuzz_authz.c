/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_authz.c - libFuzzer target for tern-server's allow lines
 * (apps/tern-server/authz.c).
 *
 * The input is split at newlines into allow lines, each added to one table
 * (errors are fine: a refused line must leave the table as it was). Then
 * every method is asked for every path the table knows, with and without
 * an identity, and for a path it does not know: a path without rules
 * allows everything; a path with rules never allows a method no line of it
 * names. */
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "tern/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) \
    do {         \
        if (!(c)) abort(); \
    } while (0)

static authz az;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 8192) return 0;
    memset(&az, 0, sizeof az);
    char line[1024], err[256];
    size_t at = 0;
    while (at < size) {
        size_t n = 0;
        while (at + n < size && data[at + n] != '\n') n++;
        if (n < sizeof line) {
            memcpy(line, data + at, n);
            line[n] = '\0';
            size_t before = az.n;
            if (authz_add_line(&az, line, err, sizeof err) < 0) CHECK(az.n == before);
            CHECK(az.n <= AUTHZ_MAX_RULES);
        }
        at += n + 1;
    }
    unsigned named = 0; /* methods some rule names, per path below */
    for (size_t i = 0; i < az.n; i++) {
        const char *path = az.rules[i].path;
        CHECK(authz_has_rules(&az, path));
        named = 0;
        for (size_t j = 0; j < az.n; j++)
            if (strcmp(az.rules[j].path, path) == 0) named |= az.rules[j].methods;
        for (uint8_t m = 0; m < 32; m++) {
            bool any = authz_allowed(&az, m, path, az.rules[i].identity);
            bool anon = authz_allowed(&az, m, path, NULL);
            if (m >= 1 && m <= 7 && !(named & (1u << m))) CHECK(!any && !anon);
            if (m == 0 || m > 7) CHECK(!any && !anon);
        }
    }
    CHECK(!authz_has_rules(&az, "/no/such/path/\x01"));
    CHECK(authz_allowed(&az, TERN_CODE_GET, "/no/such/path/\x01", NULL));
    return 0;
}
