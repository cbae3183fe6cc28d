/* SPDX-License-Identifier: BSD-2-Clause */
/* workers.h - tern-server on several cores (--workers N): N processes, each
 * with its own socket on the same port (SO_REUSEPORT: the kernel sends each
 * client, an address and port, always to the same one), its own tables and
 * its own observers. They share the state of each resource, in memory all
 * of them map:
 *  - a PUT on any worker takes the shared lock, writes the state file once,
 *    sets the shared value and bumps its version (PUTs on two workers are
 *    so put in one order, and every worker ends on the last);
 *  - the other workers are woken (an eventfd each), take the new value and
 *    notify their own observers; a GET on any worker first takes a newer
 *    shared value if there is one.
 * Each observer lives on one worker, so its Observe numbers stay monotonic
 * (RFC 7641 section 4.4). The first process serves too and is the one
 * systemd knows; the others stop when it does. */
#ifndef TERN_SERVER_WORKERS_H
#define TERN_SERVER_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec.h"

#define WK_MAX 64

/* A resource's state as every worker sees it. */
typedef struct wk_slot {
    char path[SPEC_PATH_MAX]; /* "" when free */
    uint64_t version;         /* bumped by each change, read atomically */
    char value[SPEC_VALUE_MAX];
} wk_slot;

/* Map the shared region for n workers (2..WK_MAX) and make their eventfds;
 * before any fork. 0, or -1 after logging why. */
int wk_setup(unsigned n);

/* Is the server split over workers? Which one is this (0: the first)? */
bool wk_active(void);
unsigned wk_self(void);
unsigned wk_count(void);

/* Start workers 1..n-1 as copies of this process. In a copy it returns its
 * index (>0), in the first process 0 once every copy has said it is ready
 * (wk_ready) or -1 when one could not start (logged; the copies are gone). */
int wk_fork(void);
/* A copy is serving: tell the first process. */
void wk_ready(void);
/* The first process: tell the copies (SIGHUP to reload, SIGTERM to stop)
 * and, on stopping, wait for them. */
void wk_signal_all(int sig);
void wk_reap(void);

/* The slot of path: the existing one, or a new one holding value. NULL
 * when the table is full (logged). */
wk_slot *wk_attach(const char *path, const char *value);
/* The shared lock, around reading and changing slots. */
void wk_lock(void);
void wk_unlock(void);
/* After a change: wake every other worker. */
void wk_changed(void);
/* This worker's eventfd (readable after another changed a slot), and
 * draining it. -1 when not split. */
int wk_wake_fd(void);
void wk_drain(void);

/* The version of a slot, read without the lock. */
static inline uint64_t wk_version(const wk_slot *s) {
    return __atomic_load_n(&s->version, __ATOMIC_ACQUIRE);
}

#endif
