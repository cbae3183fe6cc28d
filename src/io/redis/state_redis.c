/* SPDX-License-Identifier: BSD-2-Clause */
/* state_redis.c - the Redis backend of state resources (see
 * tern/state_redis.h). hiredis speaks the protocol; this file gives its two
 * asynchronous connections an epoll set (the adapter hooks below),
 * reconnects them, and keeps paths, values and numbers straight. */
#include "tern/state_redis.h"

#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "redis/change.h"
#include "tern/io.h"
#include "tern/msg.h"

#define REDIS_CHANNEL "tern:changes"
#define REDIS_MAX_PATHS 64
#define REDIS_PATH_MAX 128
#define REDIS_MAX_PUTS 256 /* stores waiting for Redis at once */
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 5000
#define REDIS_RETRY_S 5 /* Max-Age on a PUT's 5.03 while Redis is away */

/* Bump seq, set the value, publish the change: one step for Redis. The
 * value Redis holds already is no change: its number comes back, nothing is
 * published (a node that had missed it takes it from the reply). */
static const char put_script[] =
    "if redis.call('HGET', KEYS[1], 'value') == ARGV[1] then\n"
    "  return tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')\n"
    "end\n"
    "local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
    "redis.call('HSET', KEYS[1], 'value', ARGV[1])\n"
    "redis.call('PUBLISH', ARGV[2], ARGV[3] .. '\\n' .. ARGV[1] .. '\\n' .. seq .. '\\n' .. ARGV[4])\n"
    "return seq\n";

typedef struct watch { /* one connection's place in the epoll set */
    struct tern_state_redis *c;
    redisAsyncContext *ac;
    int fd;
    uint32_t events;
} watch;

/* A path some state of this node keeps here, with the newest change seen
 * of it: to put back into a Redis that restarted without it. */
typedef struct known {
    char path[REDIS_PATH_MAX];
    char value[TERN_STATE_VALUE_MAX];
    uint64_t seq;
    tern_state *st; /* NULL once forgotten */
} known;

typedef struct pending_put {
    bool used;
    tern_state *st; /* NULL once forgotten: the outcome goes nowhere */
    void *op;
    size_t path; /* index in paths */
    char value[TERN_STATE_VALUE_MAX];
} pending_put;

struct tern_state_redis {
    tern_state_backend be; /* first: the backend handed out is this */
    char host[256];
    int port, db;
    char node[64];
    tern_state_redis_log_fn log;
    void *log_ctx;
    redisContext *sync; /* until start */
    int ep;
    watch cmd, sub;
    bool cmd_up, sub_up;
    uint64_t retry_at; /* 0: no reconnection planned */
    uint32_t backoff_ms;
    known paths[REDIS_MAX_PATHS];
    size_t n_paths;
    pending_put puts[REDIS_MAX_PUTS];
};
typedef struct tern_state_redis cluster;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void say(const cluster *c, tern_state_redis_level level, const char *fmt, ...) {
    if (c->log == NULL) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->log(c->log_ctx, level, msg);
}

/* ---- the epoll adapter -------------------------------------------------------- */

static void watch_set(watch *w, uint32_t events) {
    if (w->fd < 0 || events == w->events) return;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    int op = w->events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    epoll_ctl(w->c->ep, op, w->fd, &ev);
    w->events = events;
}
static void ev_add_read(void *p) { watch_set(p, ((watch *)p)->events | EPOLLIN); }
static void ev_del_read(void *p) { watch_set(p, ((watch *)p)->events & ~(uint32_t)EPOLLIN); }
static void ev_add_write(void *p) { watch_set(p, ((watch *)p)->events | EPOLLOUT); }
static void ev_del_write(void *p) { watch_set(p, ((watch *)p)->events & ~(uint32_t)EPOLLOUT); }
static void ev_cleanup(void *p) {
    watch *w = p;
    watch_set(w, 0);
    w->ac = NULL;
    w->fd = -1;
}

static void connect_later(cluster *c);

static void on_disconnect(const redisAsyncContext *ac, int status) {
    (void)status;
    watch *w = ac->ev.data;
    cluster *c = w->c;
    bool was_up = c->cmd_up && c->sub_up;
    if (w == &c->cmd) c->cmd_up = false;
    else c->sub_up = false;
    if (was_up)
        say(c, TERN_STATE_REDIS_ERROR, "cluster: lost Redis at %s:%d; reconnecting", c->host,
            c->port);
    connect_later(c);
}

static void on_connect(const redisAsyncContext *ac, int status) {
    watch *w = ac->ev.data;
    if (status != REDIS_OK) { /* hiredis frees ac after this */
        w->c->retry_at = 0;
        connect_later(w->c);
    }
}

static bool attach(cluster *c, watch *w) {
    redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);
    if (ac == NULL || ac->err) {
        if (ac) redisAsyncFree(ac);
        return false;
    }
    w->c = c;
    w->ac = ac;
    w->fd = ac->c.fd;
    w->events = 0;
    ac->ev.data = w;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    ev_add_write(w); /* the connect completes when writable */
    return true;
}

/* ---- changes ---------------------------------------------------------------- */

static known *find_path(cluster *c, const char *path) {
    for (size_t i = 0; i < c->n_paths; i++)
        if (strcmp(c->paths[i].path, path) == 0) return &c->paths[i];
    return NULL;
}

/* Keep the newest change seen of k (declared or not: a value its state
 * refuses is still what Redis holds). */
static void remember(known *k, const char *value, uint64_t seq) {
    if (seq <= k->seq) return;
    k->seq = seq;
    snprintf(k->value, sizeof k->value, "%s", value);
}

/* Remember the newest change of path, then hand it to its state. */
static void changed(cluster *c, const char *path, const char *value, uint64_t seq) {
    known *k = find_path(c, path);
    if (k == NULL) return; /* a path no state of this node keeps */
    remember(k, value, seq);
    if (k->st) (void)tern_state_apply(k->st, value, seq);
}

static void read_back(cluster *c);

static void on_message(redisAsyncContext *ac, void *r, void *priv) {
    (void)priv;
    redisReply *reply = r;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
    redisReply *kind = reply->element[0], *payload = reply->element[2];
    if (kind->type != REDIS_REPLY_STRING) return;
    cluster *c = ((watch *)ac->ev.data)->c;
    if (strcmp(kind->str, "subscribe") == 0) {
        c->sub_up = true;
        /* changes published while it was not subscribed: read them back */
        if (c->cmd_up) read_back(c);
        if (c->cmd_up)
            say(c, TERN_STATE_REDIS_INFO, "cluster: Redis at %s:%d reachable", c->host, c->port);
        return;
    }
    if (strcmp(kind->str, "message") != 0 || payload->type != REDIS_REPLY_STRING) return;
    redis_change ch;
    if (redis_change_parse(&ch, payload->str, (size_t)payload->len) < 0) {
        char q[160];
        tern_text_escape(q, sizeof q, payload->str, (size_t)payload->len);
        say(c, TERN_STATE_REDIS_WARN, "cluster: ignored a message on %s that is no change: \"%s\"",
            REDIS_CHANNEL, q);
        return;
    }
    changed(c, ch.path, ch.value, ch.seq);
}

/* After (re)connection: read every value back, so that a change made while
 * this node could not hear of it is applied. */
static void on_read_back(redisAsyncContext *ac, void *r, void *priv) {
    cluster *c = ((watch *)ac->ev.data)->c;
    redisReply *reply = r;
    size_t i = (size_t)(uintptr_t)priv;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || i >= c->n_paths)
        return;
    known *k = &c->paths[i];
    redisReply *v = reply->element[0], *s = reply->element[1];
    if (v->type == REDIS_REPLY_NIL) {
        /* Redis came back without it (restarted, no persistence): put the
         * newest value this node knows back, with its number, so that the
         * next PUT's number is newer than every node's. */
        say(c, TERN_STATE_REDIS_WARN, "cluster: Redis lost %s; restoring %s (change %llu)", k->path,
            k->value, (unsigned long long)k->seq);
        redisAsyncCommand(ac, NULL, NULL, "HSETNX tern:%s value %s", k->path, k->value);
        redisAsyncCommand(ac, NULL, NULL, "HSETNX tern:%s seq %llu", k->path,
                          (unsigned long long)k->seq);
        return;
    }
    if (v->type != REDIS_REPLY_STRING) return;
    changed(c, k->path, v->str, s->type == REDIS_REPLY_STRING ? strtoull(s->str, NULL, 10) : 0);
}

static void read_back(cluster *c) {
    for (size_t i = 0; i < c->n_paths; i++)
        redisAsyncCommand(c->cmd.ac, on_read_back, (void *)(uintptr_t)i,
                          "HMGET tern:%s value seq", c->paths[i].path);
}

static void on_select(redisAsyncContext *ac, void *r, void *priv) {
    (void)priv;
    cluster *c = ((watch *)ac->ev.data)->c;
    redisReply *reply = r;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) return;
    c->cmd_up = true;
    c->backoff_ms = REDIS_BACKOFF_MIN_MS;
    read_back(c);
    if (c->sub_up)
        say(c, TERN_STATE_REDIS_INFO, "cluster: Redis at %s:%d reachable", c->host, c->port);
}

static void connect_now(cluster *c) {
    c->retry_at = 0;
    /* Named tern-NODE in CLIENT LIST, for operators (and the tests). */
    if (c->cmd.ac == NULL && attach(c, &c->cmd)) {
        redisAsyncCommand(c->cmd.ac, NULL, NULL, "CLIENT SETNAME tern-%s", c->node);
        redisAsyncCommand(c->cmd.ac, on_select, NULL, "SELECT %d", c->db);
    }
    if (c->sub.ac == NULL && attach(c, &c->sub)) {
        redisAsyncCommand(c->sub.ac, NULL, NULL, "CLIENT SETNAME tern-%s", c->node);
        redisAsyncCommand(c->sub.ac, on_message, NULL, "SUBSCRIBE %s", REDIS_CHANNEL);
    }
    if (c->cmd.ac == NULL || c->sub.ac == NULL) connect_later(c);
}

static void connect_later(cluster *c) {
    if (c->retry_at) return;
    c->retry_at = tern_io_now() + c->backoff_ms;
    c->backoff_ms = c->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS
                                                              : c->backoff_ms * 2;
}

/* ---- the backend ---------------------------------------------------------------- */

/* A blocking connection, for the start (2 s at most), with the database
 * selected; NULL with why. */
static redisContext *connect_sync(const cluster *c, char *why, size_t cap) {
    struct timeval tv = {2, 0};
    redisContext *s = redisConnectWithTimeout(c->host, c->port, tv);
    redisReply *r = NULL;
    if (s && !s->err) r = redisCommand(s, "SELECT %d", c->db);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(why, cap, "cannot reach Redis at %s:%d: %s", c->host, c->port,
                 r ? r->str : s && s->errstr[0] ? s->errstr : "no answer");
        if (r) freeReplyObject(r);
        if (s) redisFree(s);
        return NULL;
    }
    freeReplyObject(r);
    return s;
}

/* The value in Redis, set to initial first if there is none (HSETNX: the
 * first node to start decides). Blocking: at start, or when a reload adds
 * a state (a connection of its own then). */
static int redis_load(tern_state_backend *be, tern_state *st, const char *path,
                      const char *initial, char *out, size_t cap, uint64_t *version, char *why,
                      size_t why_cap) {
    cluster *c = (cluster *)be;
    known *k = find_path(c, path);
    if (k == NULL && (c->n_paths == REDIS_MAX_PATHS || strlen(path) >= REDIS_PATH_MAX)) {
        snprintf(why, why_cap, "too many states, or too long a path, for Redis (%d of %d bytes)",
                 REDIS_MAX_PATHS, REDIS_PATH_MAX - 1);
        return TERN_E_FULL;
    }
    redisContext *s = c->sync ? c->sync : connect_sync(c, why, why_cap);
    if (s == NULL) return TERN_E_UNAVAILABLE;
    redisReply *r = redisCommand(s, "HSETNX tern:%s value %s", path, initial);
    if (r) freeReplyObject(r);
    r = redisCommand(s, "HMGET tern:%s value seq", path);
    int rc = 1;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(why, why_cap, "cannot read its value from Redis");
        rc = TERN_E_UNAVAILABLE;
    } else {
        snprintf(out, cap, "%s", r->element[0]->str);
        *version = r->element[1]->type == REDIS_REPLY_STRING
                       ? strtoull(r->element[1]->str, NULL, 10)
                       : 0;
    }
    if (r) freeReplyObject(r);
    if (s != c->sync) redisFree(s);
    if (rc < 0) return rc;
    if (k == NULL) {
        k = &c->paths[c->n_paths++];
        snprintf(k->path, sizeof k->path, "%s", path);
    }
    k->st = st;
    k->seq = 0;
    remember(k, out, *version);
    return 1;
}

static void on_put(redisAsyncContext *ac, void *r, void *priv) {
    pending_put *p = priv;
    redisReply *reply = r;
    bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
    uint64_t seq = ok ? (uint64_t)reply->integer : 0;
    p->used = false;
    if (ok && ac) {
        cluster *c = ((watch *)ac->ev.data)->c;
        remember(&c->paths[p->path], p->value, seq);
    }
    if (p->st)
        tern_state_stored(p->st, p->op, ok ? 0 : TERN_E_UNAVAILABLE, seq,
                          "the cluster store (Redis) did not take it", tern_io_now());
}

static bool redis_available(const tern_state_backend *be) {
    const cluster *c = (const cluster *)be;
    return c->cmd_up && c->sub_up;
}

static int redis_store(tern_state_backend *be, tern_state *st, const char *path,
                       const char *value, void *op, uint64_t *version, char *why, size_t why_cap) {
    (void)version;
    cluster *c = (cluster *)be;
    known *k = find_path(c, path);
    pending_put *p = NULL;
    for (size_t i = 0; i < REDIS_MAX_PUTS && p == NULL; i++)
        if (!c->puts[i].used) p = &c->puts[i];
    if (!redis_available(be) || k == NULL || p == NULL) {
        snprintf(why, why_cap, "the cluster store (Redis) %s",
                 p == NULL ? "has too many changes waiting" : "is not reachable");
        return TERN_E_UNAVAILABLE;
    }
    char key[160];
    snprintf(key, sizeof key, "tern:%s", path);
    if (redisAsyncCommand(c->cmd.ac, on_put, p, "EVAL %s 1 %s %s %s %s %s", put_script, key, value,
                          REDIS_CHANNEL, path, c->node) != REDIS_OK) {
        snprintf(why, why_cap, "the cluster store (Redis) is not reachable");
        return TERN_E_UNAVAILABLE;
    }
    *p = (pending_put){.used = true, .st = st, .op = op, .path = (size_t)(k - c->paths)};
    snprintf(p->value, sizeof p->value, "%s", value);
    return TERN_STATE_LATER;
}

static void redis_forget(tern_state_backend *be, tern_state *st) {
    cluster *c = (cluster *)be;
    for (size_t i = 0; i < c->n_paths; i++)
        if (c->paths[i].st == st) c->paths[i].st = NULL;
    for (size_t i = 0; i < REDIS_MAX_PUTS; i++)
        if (c->puts[i].st == st) c->puts[i].st = NULL;
}

static const tern_state_backend_ops redis_ops = {.load = redis_load,
                                                 .store = redis_store,
                                                 .available = redis_available,
                                                 .forget = redis_forget};

static int parse_url(cluster *c, const char *url, char *why, size_t cap) {
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0) goto bad;
    p += 8;
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof c->host) goto bad;
    memcpy(c->host, p, hl);
    c->host[hl] = '\0';
    p += hl;
    c->port = 6379;
    c->db = 0;
    char *end;
    if (*p == ':') {
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v < 1 || v > 65535) goto bad;
        c->port = (int)v;
        p = end;
    }
    if (*p == '/') {
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || v < 0 || v > 1000) goto bad;
        c->db = (int)v;
        p = end;
    }
    if (*p) goto bad;
    return 0;
bad:
    snprintf(why, cap, "expected redis://HOST[:PORT][/DB]");
    return TERN_E_INVAL;
}

int tern_state_redis_open(tern_state_redis **out, const char *url, const char *node,
                          tern_state_redis_log_fn log, void *log_ctx, char *why, size_t why_cap) {
    *out = NULL;
    cluster *c = calloc(1, sizeof *c);
    if (c == NULL) return TERN_E_NOMEM;
    c->be = (tern_state_backend){.ops = &redis_ops, .shared = true, .retry_after_s = REDIS_RETRY_S};
    c->ep = -1;
    c->cmd.fd = c->sub.fd = -1;
    int rc = parse_url(c, url, why, why_cap);
    if (rc < 0) {
        free(c);
        return rc;
    }
    snprintf(c->node, sizeof c->node, "%s", node);
    c->log = log;
    c->log_ctx = log_ctx;
    c->backoff_ms = REDIS_BACKOFF_MIN_MS;
    c->sync = connect_sync(c, why, why_cap);
    if (c->sync == NULL) {
        tern_state_redis_close(c);
        return TERN_E_UNAVAILABLE;
    }
    c->ep = epoll_create1(EPOLL_CLOEXEC);
    if (c->ep < 0) {
        snprintf(why, why_cap, "epoll: %s", strerror(errno));
        tern_state_redis_close(c);
        return TERN_E_SYSTEM;
    }
    *out = c;
    return 0;
}

tern_state_backend *tern_state_redis_backend(tern_state_redis *r) { return &r->be; }

void tern_state_redis_start(tern_state_redis *c) {
    redisFree(c->sync);
    c->sync = NULL;
    connect_now(c);
}

void tern_state_redis_close(tern_state_redis *c) {
    if (c == NULL) return;
    /* No outcome reaches a state from here on (hiredis answers what waits
     * with NULL replies as it frees the connections). */
    for (size_t i = 0; i < REDIS_MAX_PUTS; i++) c->puts[i].st = NULL;
    if (c->cmd.ac) redisAsyncFree(c->cmd.ac);
    if (c->sub.ac) redisAsyncFree(c->sub.ac);
    if (c->sync) redisFree(c->sync);
    if (c->ep >= 0) close(c->ep);
    free(c);
}

bool tern_state_redis_up(const tern_state_redis *c) { return redis_available(&c->be); }

int tern_state_redis_fd(const tern_state_redis *c) { return c->ep; }

int tern_state_redis_timeout_ms(const tern_state_redis *c) {
    if (c->retry_at == 0) return -1;
    uint64_t now = tern_io_now();
    return c->retry_at <= now ? 0 : (int)(c->retry_at - now);
}

void tern_state_redis_step(tern_state_redis *c) {
    struct epoll_event evs[4];
    int n = epoll_wait(c->ep, evs, 4, 0);
    for (int i = 0; i < n; i++) {
        watch *w = evs[i].data.ptr;
        /* hiredis may free the context in either call: look again after */
        if (w->ac && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) redisAsyncHandleRead(w->ac);
        if (w->ac && (evs[i].events & EPOLLOUT)) redisAsyncHandleWrite(w->ac);
    }
    if (c->retry_at && tern_io_now() >= c->retry_at) connect_now(c);
}

static int source_timeout(void *ctx) { return tern_state_redis_timeout_ms(ctx); }
static void source_step(void *ctx) { tern_state_redis_step(ctx); }

int tern_state_redis_attach(tern_state_redis *c, tern_io *io) {
    tern_io_source src = {.fd = c->ep, .timeout_ms = source_timeout, .step = source_step, .ctx = c};
    return tern_io_add_source(io, &src);
}
