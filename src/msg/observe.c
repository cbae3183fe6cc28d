/* SPDX-License-Identifier: BSD-2-Clause */
/* observe.c - notification ordering (RFC 7641 sections 3.4 and 4.4).
 *
 * Observe sequence numbers are 24 bits and wrap, so "newer" is decided in
 * serial-number arithmetic: v2 is newer than v1 when it lies less than 2^23
 * ahead of it. Because a server may restart its counter or the numbers may
 * wrap twice while a client is not listening, a notification that arrives
 * more than 128 seconds after the last one is taken as fresher regardless of
 * its number. Times come from the caller; nothing here reads a clock. */
#include "tern/msg.h"

#define OBSERVE_HALF_RANGE (1u << 23)
#define OBSERVE_MAX_GAP_MS 128000u

bool tern_observe_is_fresher(uint32_t v1, uint64_t t1_ms, uint32_t v2, uint64_t t2_ms) {
    v1 &= TERN_OBSERVE_SEQ_MASK;
    v2 &= TERN_OBSERVE_SEQ_MASK;
    if (v1 < v2 && v2 - v1 < OBSERVE_HALF_RANGE) return true;
    if (v1 > v2 && v1 - v2 > OBSERVE_HALF_RANGE) return true;
    /* Written as a difference so t1_ms near UINT64_MAX cannot overflow. */
    return t2_ms > t1_ms && t2_ms - t1_ms > OBSERVE_MAX_GAP_MS;
}
