/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/state_redis.h - the Redis backend of state resources (tern/state.h),
 * for several server nodes sharing their states (library tern-redis, on
 * hiredis).
 *
 * A state's value lives in the Redis hash tern:PATH (fields value and seq).
 * A store is one Lua script: unless Redis holds that value already, it bumps
 * seq, sets the value and publishes "PATH\nVALUE\nSEQ\nNODE" on the channel
 * tern:changes, all in one step, so every node sees every change in the
 * order Redis made them and ends on the same value. seq is the change's
 * version: a node takes a change only when it is newer than the one it
 * holds (its own store's reply and the published message come in either
 * order). The store's outcome comes when Redis has answered: the PUT's
 * 2.04 is a separate response sent after Redis acknowledged the write.
 *
 * Non-blocking, in tern's loop (tern_state_redis_attach) or the caller's:
 * two hiredis connections (commands, and the subscription) whose sockets
 * sit in an epoll set of this module; tern_state_redis_fd is that set,
 * readable when tern_state_redis_step has work, as tern_io_fd is for
 * tern_io_step. Only the start blocks (open, and
 * each state's load before start): a node that cannot reach Redis does not
 * start. A state made later (a reload adding one) is loaded over a short
 * blocking connection of its own: up to 2 s when Redis does not answer,
 * and the state is refused then. Lost later, Redis is reconnected with back-off (0.1 s doubling to
 * 5 s); meanwhile the backend is unavailable (PUT 5.03 with Max-Age 5, GET
 * Max-Age 0), and on reconnection every value is read back and applied if
 * it changed. A Redis that came back empty gets the newest values this node
 * knows, with their numbers. */
#ifndef TERN_STATE_REDIS_H
#define TERN_STATE_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/export.h"
#include "tern/io.h"
#include "tern/state.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_state_redis tern_state_redis;

/* How the backend reports what an operator should know. */
typedef enum tern_state_redis_level {
    TERN_STATE_REDIS_ERROR,
    TERN_STATE_REDIS_WARN,
    TERN_STATE_REDIS_INFO,
    TERN_STATE_REDIS_DEBUG
} tern_state_redis_level;
typedef void (*tern_state_redis_log_fn)(void *ctx, tern_state_redis_level level, const char *msg);

/* Parse url (redis://HOST[:PORT][/DB]), connect (blocking, 2 s at most)
 * and check that Redis answers. node names this node in CLIENT LIST
 * (tern-NODE) and in the changes it publishes. 0, or a TERN_E_* with why
 * ("cannot reach Redis at HOST:PORT: ..."). */
TERN_API int tern_state_redis_open(tern_state_redis **out, const char *url, const char *node,
                                   tern_state_redis_log_fn log, void *log_ctx, char *why,
                                   size_t why_cap);
TERN_API void tern_state_redis_close(tern_state_redis *r);
/* The backend to put in tern_state_def. */
TERN_API tern_state_backend *tern_state_redis_backend(tern_state_redis *r);
/* Start the non-blocking connections (after the states are made). */
TERN_API void tern_state_redis_start(tern_state_redis *r);
/* Both connections up: stores can succeed. */
TERN_API bool tern_state_redis_up(const tern_state_redis *r);

/* Driven by io's loop (tern_io_add_source): tern_io_run and tern_io_step
 * step it too. 0, or tern_io_add_source's error. */
TERN_API int tern_state_redis_attach(tern_state_redis *r, tern_io *io);

/* Or by a loop of the caller's: tern_state_redis_fd is readable when
 * tern_state_redis_step has work; step must also run when
 * tern_state_redis_timeout_ms (-1: none) has passed. */
TERN_API int tern_state_redis_fd(const tern_state_redis *r);
TERN_API int tern_state_redis_timeout_ms(const tern_state_redis *r);
TERN_API void tern_state_redis_step(tern_state_redis *r);

#ifdef __cplusplus
}
#endif
#endif
