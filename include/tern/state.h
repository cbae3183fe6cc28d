/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/state.h - state resources, and the backends that keep their values.
 *
 * A state resource is the tutorial's /alarm made general: an observable
 * resource whose representation is one of a few declared text values (ON,
 * OFF). GET answers it (text/plain); PUT of a declared value changes it
 * once the backend has kept it, so a 2.04 always means "stored"; then every
 * observer is notified (RFC 7641 section 4.2). A PUT of anything else gets
 * 4.00 naming the accepted values and changes nothing. A backend that
 * cannot store now makes a PUT 5.03 with Max-Age (RFC 7252 5.9.3.4), again
 * changing nothing.
 *
 * Where the value is kept is a backend's business, and tern_state_backend
 * is all the server layer knows of it. tern has two: atomic files in a
 * state directory (tern_state_file_open below, in libtern), and Redis shared
 * by several nodes (tern/state_redis.h, library tern-redis). A backend
 * that answers later (Redis) makes the PUT a separate response (RFC 7252
 * 5.2.2) sent when the backend has answered; one that answers at once
 * (files) makes it piggybacked.
 *
 * Values carry a version: the backend's number for the change that made
 * them (0 when it numbers nothing). A value the backend brings in from
 * elsewhere (another worker, another node: tern_state_apply) is taken only
 * when its version is newer than the one held, so changes that arrive out of
 * order never take the state back. */
#ifndef TERN_STATE_H
#define TERN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/export.h"
#include "tern/server.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_STATE_VALUE_MAX 64 /* bytes of a value, its NUL included */
#define TERN_STATE_MAX_VALUES 16
/* PUTs of one state waiting for a backend that answers later; more get
 * 5.03 with Max-Age. */
#define TERN_STATE_MAX_WAITING 32

typedef struct tern_state tern_state;
typedef struct tern_state_backend tern_state_backend;

/* ops->store: the outcome comes later, through tern_state_stored. */
#define TERN_STATE_LATER 1

typedef struct tern_state_backend_ops {
    /* Once, when st is made (it may block: this is start-up): read the
     * value kept for path. A backend shared by several nodes keeps initial
     * first when it has none, so that the first node to start decides.
     * 1 with the value in out (NUL-terminated) and its *version; 0 when
     * there is none (the state starts from initial); or a negative TERN_E_*
     * with a reason for people in why (naming the file or server). The
     * backend may keep st, to bring it changes made elsewhere
     * (tern_state_apply), until forget. */
    int (*load)(tern_state_backend *be, tern_state *st, const char *path, const char *initial,
                char *out, size_t cap, uint64_t *version, char *why, size_t why_cap);
    /* Keep value as path's value. 0: kept now, its number in *version;
     * TERN_STATE_LATER: the outcome comes through tern_state_stored(st,
     * op, ...) from the backend's own loop, never from inside this call;
     * negative, nothing changed and why says why: TERN_E_UNAVAILABLE (try
     * later: 5.03 with Max-Age retry_after_s), anything else (5.00). */
    int (*store)(tern_state_backend *be, tern_state *st, const char *path, const char *value,
                 void *op, uint64_t *version, char *why, size_t why_cap);
    /* Optional. Can a store succeed now? false: a PUT is answered 5.03 at
     * once, and a plain GET carries Max-Age 0 (RFC 7252 5.6.1: the value
     * may be stale). NULL: always. */
    bool (*available)(const tern_state_backend *be);
    /* Optional. Before a request reads st's value: hand over a newer one
     * the backend already holds (tern_state_apply). */
    void (*refresh)(tern_state_backend *be, tern_state *st);
    /* Optional. st is going away: forget it; none of its stores waiting
     * may be reported any more. */
    void (*forget)(tern_state_backend *be, tern_state *st);
} tern_state_backend_ops;

struct tern_state_backend {
    const tern_state_backend_ops *ops;
    /* Others write the same values (workers, nodes): a PUT of the value
     * this copy holds still goes to the backend, whose value may be newer. */
    bool shared;
    uint32_t retry_after_s; /* Max-Age on a 5.03 for TERN_E_UNAVAILABLE [0: 5] */
};

/* What happened to a state, for a log (tern_state_def.on_event). */
typedef enum tern_state_event_kind {
    TERN_STATE_CHANGED,     /* old -> value, by a PUT from peer or from elsewhere (peer NULL) */
    TERN_STATE_UNCHANGED,   /* a PUT of the value held: 2.04, nothing changed */
    TERN_STATE_REFUSED,     /* a PUT of bytes that are not a declared value: 4.00 */
    TERN_STATE_NOT_STORED,  /* the backend could not keep a PUT's value (why): 5.03 or 5.00;
                             * peer NULL: the initial value of tern_state_set_values */
    TERN_STATE_FOREIGN,     /* the backend brought a value that is not declared: ignored */
    TERN_STATE_RESET        /* tern_state_set_values: the value held is no longer declared */
} tern_state_event_kind;

typedef struct tern_state_event {
    tern_state_event_kind kind;
    const char *path;
    const char *old_value; /* the value held before */
    const char *value;     /* the new or offered value (REFUSED: the payload's bytes, not NUL-terminated) */
    size_t value_len;
    const tern_addr *peer; /* the PUT's sender, or NULL */
    uint64_t version;
    const char *why;       /* NOT_STORED: the backend's reason */
    int error;             /* NOT_STORED: its TERN_E_* */
} tern_state_event;

typedef struct tern_state_def {
    const char *path;           /* "/alarm"; copied */
    const char *const *values;  /* the declared values, copied: 1 to TERN_STATE_MAX_VALUES */
    unsigned n_values;
    unsigned initial;           /* index of the value held when the backend has none */
    tern_state_backend *backend; /* NULL: kept in memory only */
    /* Every notification confirmable (a lost one is resent, a gone
     * observer noticed) rather than NON with a CON now and then. */
    bool notify_con;
    const char *rt;             /* RFC 6690 rt; NULL: the last path segment. Copied */
    uint32_t max_age_s;         /* on notifications; 0: the server's default */
    void (*on_event)(void *ctx, const tern_state_event *ev); /* may be NULL */
    void *ctx;
} tern_state_def;

/* Make a state: its declared values, and the value the backend holds (or
 * the initial one). TERN_E_INVAL for a bad definition; TERN_E_NOMEM; the
 * backend's error from load, with why; TERN_E_STATE when the backend holds
 * a value that is not declared (why names it: correct the backend, or
 * declare it). */
TERN_API int tern_state_new(tern_state **out, const tern_state_def *def, char *why,
                            size_t why_cap);
/* Forget it (the backend too). It must not be served. */
TERN_API void tern_state_free(tern_state *st);

/* Serve it on srv at its path (tern_server_add_resource's errors;
 * TERN_E_STATE when srv serves it already). A state whose server was
 * freed since (tern_io_free) may be served on another. */
TERN_API int tern_state_serve(tern_state *st, tern_server *srv);
/* Stop serving it: its observers get a final 4.04 (RFC 7641 3.2). A PUT
 * waiting for the backend is still answered with the backend's outcome,
 * on its server, which must then live until the outcome comes, or until
 * tern_state_serve or tern_state_free (after which no earlier PUT is
 * answered: the server's deferred timeout answers it). Its value stays
 * kept. */
TERN_API void tern_state_unserve(tern_state *st, uint64_t now_ms);

TERN_API const char *tern_state_value(const tern_state *st);
TERN_API uint64_t tern_state_version(const tern_state *st);
TERN_API const char *tern_state_path(const tern_state *st);
/* The accepted values as text, "ON, OFF". */
TERN_API const char *tern_state_accepted(const tern_state *st);
/* tern_state_def.ctx. */
TERN_API void *tern_state_ctx(const tern_state *st);
/* Its resource while served, else NULL. */
TERN_API tern_resource *tern_state_resource(const tern_state *st);

/* For backends. A value from elsewhere: taken when it is declared and
 * version is newer than the one held (observers notified if it differs).
 * 1 taken, 0 not newer, TERN_E_INVAL not declared (on_event FOREIGN). */
TERN_API int tern_state_apply(tern_state *st, const char *value, uint64_t version);
/* The outcome of a store that returned TERN_STATE_LATER: rc 0 (kept, as
 * change version) or a TERN_E_* as store would have returned it, with why.
 * The waiting PUT is answered (now_ms: the clock of tern_server_tick). */
TERN_API void tern_state_stored(tern_state *st, void *op, int rc, uint64_t version,
                                const char *why, uint64_t now_ms);

/* New declared values (a reload). When the value held is not among them,
 * initial is stored, and with it taken (on_event RESET). 0; TERN_E_INVAL;
 * TERN_E_STATE while an earlier change of values waits for the backend; or
 * the backend's error, with why: nothing changed. With a backend that
 * answers later, the new values take effect once it has the initial one;
 * if it cannot store it, on_event NOT_STORED (peer NULL) and the old
 * values stay. */
TERN_API int tern_state_set_values(tern_state *st, const char *const *values, unsigned n_values,
                                   unsigned initial, char *why, size_t why_cap);

/* ---- The file backend (libtern) --------------------------------------------
 *
 * One small file per state in a directory, "alarm.state" (the path
 * percent-encoded: "/a/b" -> "a%2Fb.state", so none climbs out), replaced
 * atomically and durably before the 2.04: temp file, fsync, rename,
 * fsync of the directory. It survives kill -9 and power loss. */

/* Open dir (created if missing, one level) and prove states can be
 * written there: a probe file written, fsync'd, removed. 0, or a TERN_E_*
 * with why (naming the directory: cannot be created, not a directory, not
 * writable, read-only file system, full). A full disk later makes a PUT
 * 5.03 with Max-Age 30. */
TERN_API int tern_state_file_open(tern_state_backend **out, const char *dir, char *why,
                                  size_t why_cap);
TERN_API void tern_state_file_close(tern_state_backend *be);
/* The file of the state at path, for messages. */
TERN_API void tern_state_file_name(const tern_state_backend *be, const char *path, char *out,
                                   size_t cap);
/* The default directory: $STATE_DIRECTORY (its first entry, as systemd
 * sets it), else /var/lib/tern-server if it is a writable directory, else
 * ./tern-state. */
TERN_API void tern_state_file_default_dir(char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
