/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_redis_change.c - the change messages nodes read from Redis's
 * tern:changes channel (src/io/redis/change.c): anything that can PUBLISH
 * there can send one. Checked: no crash or overread, and every message
 * taken is exactly "PATH\nVALUE\nSEQ\nNODE" again when its parts are
 * written back (so no byte was skipped, merged or invented), with the
 * promised shape: a path starting with /, a value, neither with a newline,
 * seq below 2^63. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/change.h"

/* Not assert: fuzz builds define NDEBUG. */
#define CHECK(c) \
    do { \
        if (!(c)) abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static redis_change c;
    if (redis_change_parse(&c, (const char *)data, size) < 0) return 0;
    CHECK(c.path[0] == '/' && c.value[0] != '\0');
    CHECK(strchr(c.path, '\n') == NULL && strchr(c.value, '\n') == NULL);
    CHECK(c.seq < (UINT64_C(1) << 63));
    static char again[REDIS_CHANGE_MAX + 32];
    int n = snprintf(again, sizeof again, "%s\n%s\n%" PRIu64 "\n%s", c.path, c.value, c.seq,
                     c.node);
    CHECK(n >= 0 && (size_t)n == size && memcmp(again, data, size) == 0);
    return 0;
}
