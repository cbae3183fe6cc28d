/* SPDX-License-Identifier: BSD-2-Clause */
/* redis_backend.c - an installed tern::tern_redis links and answers: a bad
 * URL is TERN_E_INVAL, a Redis nobody runs (127.0.0.1 port 1) is
 * TERN_E_UNAVAILABLE, each with its reason. Exit 0 when both hold. */
#include <stdio.h>
#include <string.h>
#include <tern/state_redis.h>

int main(void) {
    tern_state_redis *r;
    char why[256];
    int bad = tern_state_redis_open(&r, "http://x", "n", NULL, NULL, why, sizeof why);
    printf("http://x: %s (%s)\n", tern_strerror(bad), why);
    int down = tern_state_redis_open(&r, "redis://127.0.0.1:1", "n", NULL, NULL, why, sizeof why);
    printf("redis://127.0.0.1:1: %s (%s)\n", tern_strerror(down), why);
    return !(bad == TERN_E_INVAL && down == TERN_E_UNAVAILABLE &&
             strstr(why, "cannot reach Redis at 127.0.0.1:1") != NULL);
}
