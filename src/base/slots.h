/* SPDX-License-Identifier: BSD-2-Clause */
/* slots.h - handing out the entries of a fixed table, first use last.
 *
 * The tables of the endpoint and the server are allocated once, at their
 * limits (100,000 observers is a few tens of megabytes of address space).
 * Threading every entry onto a free list at start would write to all of
 * them, and the whole table would be resident before the first peer came.
 * Instead an entry is taken from the free list of entries used before and
 * given back, and only when that is empty from the ones never used, in
 * order. The table must come zeroed from calloc: untouched pages stay
 * shared zero pages, so resident memory follows the load, not the limit.
 *
 * The free list is threaded through a field of the entries themselves (the
 * hash-chain link, unused while an entry is free), named to the macros. */
#ifndef TERN_BASE_SLOTS_H
#define TERN_BASE_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ilist.h"

typedef struct tern_slots {
    uint32_t free_head; /* entries used before and given back */
    uint32_t fresh;     /* entries [fresh, cap) were never used */
    uint32_t cap;
} tern_slots;

static inline void tern_slots_init(tern_slots *s, uint32_t cap) {
    s->free_head = TERN_NIL;
    s->fresh = 0;
    s->cap = cap;
}

static inline bool tern_slots_any(const tern_slots *s) {
    return s->free_head != TERN_NIL || s->fresh < s->cap;
}

/* Every entry ever used is below this: scans stop there. */
static inline uint32_t tern_slots_end(const tern_slots *s) { return s->fresh; }

/* The entry the next take returns, or TERN_NIL when none is free. */
static inline uint32_t tern_slots_peek(const tern_slots *s) {
    return s->free_head != TERN_NIL ? s->free_head : s->fresh < s->cap ? s->fresh : TERN_NIL;
}

/* Take one: its index, or TERN_NIL. The entry is as it was given back (or
 * zero, never used); the caller sets it up. */
#define TERN_SLOTS_TAKE(s, arr, field)                                                     \
    ((s)->free_head != TERN_NIL ? tern_slots_pop_((s), (arr)[(s)->free_head].field)      \
     : (s)->fresh < (s)->cap    ? (s)->fresh++                                          \
                                : TERN_NIL)

/* Give entry i back. */
#define TERN_SLOTS_GIVE(s, arr, field, i)                                                  \
    do {                                                                                   \
        uint32_t slots_i_ = (i);                                                           \
        (arr)[slots_i_].field = (s)->free_head;                                            \
        (s)->free_head = slots_i_;                                                         \
    } while (0)

static inline uint32_t tern_slots_pop_(tern_slots *s, uint32_t next) {
    uint32_t i = s->free_head;
    s->free_head = next;
    return i;
}

#endif
