/* SPDX-License-Identifier: BSD-2-Clause */
/* ilist.h - doubly linked lists of table entries, linked by index.
 *
 * Every table in tern is a fixed array allocated once; its entries refer to
 * each other by uint32_t index (TERN_NIL for none), never by pointer, so a
 * callback that frees or reuses an entry cannot leave a dangling pointer
 * behind. Many tables keep entries on such lists: idle peers in LRU order,
 * pending requests by age and by ACK deadline, observers per resource and by
 * liveness. This file is the one implementation of them.
 *
 * An entry holds one tern_ilink per list it can be on; the list knows the
 * array through the link of entry 0 and the entry size (the stride), so a
 * list works on any struct. The TERN_ILIST_* macros pass those for a table
 * `arr` and a link field `field`:
 *
 *     TERN_ILIST_APPEND(&t->lru, t->v, lru, i);
 *     TERN_ILIST_UNLINK(&t->lru, t->v, lru, i);
 *
 * Unlinking sets the entry's link to TERN_NIL both ways, so tern_ilink_on()
 * tells whether an entry is on some list of that link. All O(1). */
#ifndef TERN_BASE_ILIST_H
#define TERN_BASE_ILIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERN_NIL UINT32_MAX

typedef struct tern_ilink {
    uint32_t prev, next;
} tern_ilink;

typedef struct tern_ilist {
    uint32_t head, tail;
} tern_ilist;

static inline void tern_ilist_init(tern_ilist *l) { l->head = l->tail = TERN_NIL; }
static inline void tern_ilink_init(tern_ilink *k) { k->prev = k->next = TERN_NIL; }

static inline tern_ilink *tern_ilink_at(tern_ilink *link0, size_t stride, uint32_t i) {
    return (tern_ilink *)(void *)((char *)link0 + (size_t)i * stride);
}

static inline void tern_ilist_unlink(tern_ilist *l, tern_ilink *link0, size_t stride,
                                     uint32_t i) {
    tern_ilink *k = tern_ilink_at(link0, stride, i);
    if (k->prev != TERN_NIL) tern_ilink_at(link0, stride, k->prev)->next = k->next;
    else if (l->head == i) l->head = k->next;
    if (k->next != TERN_NIL) tern_ilink_at(link0, stride, k->next)->prev = k->prev;
    else if (l->tail == i) l->tail = k->prev;
    k->prev = k->next = TERN_NIL;
}

static inline void tern_ilist_append(tern_ilist *l, tern_ilink *link0, size_t stride,
                                     uint32_t i) {
    tern_ilink *k = tern_ilink_at(link0, stride, i);
    k->prev = l->tail;
    k->next = TERN_NIL;
    if (l->tail != TERN_NIL) tern_ilink_at(link0, stride, l->tail)->next = i;
    else l->head = i;
    l->tail = i;
}

static inline void tern_ilist_prepend(tern_ilist *l, tern_ilink *link0, size_t stride,
                                      uint32_t i) {
    tern_ilink *k = tern_ilink_at(link0, stride, i);
    k->prev = TERN_NIL;
    k->next = l->head;
    if (l->head != TERN_NIL) tern_ilink_at(link0, stride, l->head)->prev = i;
    else l->tail = i;
    l->head = i;
}

/* Is entry i on the list l? (Head, or linked to a neighbour.) */
static inline bool tern_ilist_has(const tern_ilist *l, tern_ilink *link0, size_t stride,
                                  uint32_t i) {
    const tern_ilink *k = tern_ilink_at(link0, stride, i);
    return l->head == i || k->prev != TERN_NIL;
}

#define TERN_ILIST_APPEND(list, arr, field, i) \
    tern_ilist_append((list), &(arr)[0].field, sizeof (arr)[0], (i))
#define TERN_ILIST_PREPEND(list, arr, field, i) \
    tern_ilist_prepend((list), &(arr)[0].field, sizeof (arr)[0], (i))
#define TERN_ILIST_UNLINK(list, arr, field, i) \
    tern_ilist_unlink((list), &(arr)[0].field, sizeof (arr)[0], (i))
#define TERN_ILIST_HAS(list, arr, field, i) \
    tern_ilist_has((list), &(arr)[0].field, sizeof (arr)[0], (i))

#endif
