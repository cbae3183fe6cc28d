/* SPDX-License-Identifier: BSD-2-Clause */
/* tern_test.h - shared helpers for tern's cmocka tests: wire vectors written
 * as hex, a seeded random source and a fake clock. Nothing here reads the
 * real clock: protocol timing is tested by moving `now` by hand. */
#ifndef TERN_TEST_H
#define TERN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Decode a hex string into out; spaces, '|' and newlines are ignored so that
 * vectors can be laid out field by field ("40 01 12 34 | b5 616c61726d").
 * Returns the byte count; fails the test on bad hex or overflow. */
size_t tt_hex(const char *hex, uint8_t *out, size_t cap);

/* Deterministic random source for tern_endpoint_config.random: xorshift64
 * seeded by *(uint64_t *)ctx. */
void tt_random(void *ctx, uint8_t *out, size_t len);

/* A random source that always returns the same byte: makes the
 * retransmission jitter and MIDs predictable (0x00 = the low bound). */
void tt_random_fixed(void *ctx, uint8_t *out, size_t len);

#endif
