/* SPDX-License-Identifier: BSD-2-Clause */
/* change.h - the change a node publishes on tern:changes,
 * "PATH\nVALUE\nSEQ\nNODE" (tern/state_redis.h), read back into its parts.
 * Any node, or anything else that can PUBLISH to Redis, may have written
 * it: it is parsed as untrusted input (fuzz/fuzz_redis_change.c). */
#ifndef TERN_IO_REDIS_CHANGE_H
#define TERN_IO_REDIS_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#define REDIS_CHANGE_MAX 512 /* bytes of a message, all four fields */

typedef struct redis_change {
    char buf[REDIS_CHANGE_MAX]; /* the fields below point here */
    const char *path, *value, *node;
    uint64_t seq;
} redis_change;

/* 0, or -1 when msg is not a change: longer than REDIS_CHANGE_MAX - 1,
 * fewer than four fields, a NUL byte, a path that does not start with /,
 * an empty value, or a seq that is not a decimal number below 2^63
 * (without leading zeros, as Redis writes it). */
int redis_change_parse(redis_change *c, const char *msg, size_t len);

#endif
