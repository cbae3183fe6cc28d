/* SPDX-License-Identifier: BSD-2-Clause */
/* cluster.c - see cluster.h. hiredis does the protocol; this file gives
 * its two asynchronous connections an epoll set (the adapter hooks below),
 * reconnects them, and keeps the paths and values straight. */
#include "cluster.h"

#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "app_log.h"

#define CLUSTER_CHANNEL "tern:changes"
#define CLUSTER_MAX_PATHS 64
#define CLUSTER_MAX_PUTS 256 /* PUTs waiting for Redis at once */
#define CLUSTER_BACKOFF_MIN_MS 100
#define CLUSTER_BACKOFF_MAX_MS 5000

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
    struct cluster *c;
    redisAsyncContext *ac;
    int fd;
    uint32_t events;
} watch;

typedef struct pending_put {
    bool used;
    cluster_done_fn done;
    void *ctx;
    char path[128], value[64];
} pending_put;

struct cluster {
    char host[256];
    int port, db;
    char node[64];
    cluster_change_fn on_change;
    void *ctx;
    redisContext *sync; /* the start only */
    int ep;
    watch cmd, sub;
    bool cmd_up, sub_up;
    uint64_t retry_at; /* 0: no reconnection planned */
    uint32_t backoff_ms;
    char paths[CLUSTER_MAX_PATHS][128];
    /* the newest change seen of each: to put back into a Redis that
     * restarted without it */
    char values[CLUSTER_MAX_PATHS][64];
    uint64_t seqs[CLUSTER_MAX_PATHS];
    size_t n_paths;
    pending_put puts[CLUSTER_MAX_PUTS];
};

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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
    if (was_up) app_log(APP_LOG_ERROR, "cluster: lost Redis at %s:%d; reconnecting", c->host, c->port);
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

/* Keep the newest change seen of path (to put back into a Redis that
 * lost it). */
static void remember(cluster *c, const char *path, const char *value, uint64_t seq) {
    for (size_t i = 0; i < c->n_paths; i++)
        if (strcmp(c->paths[i], path) == 0 && seq > c->seqs[i]) {
            c->seqs[i] = seq;
            snprintf(c->values[i], sizeof c->values[i], "%s", value);
        }
}

/* Remember the newest change of path, then hand it on. */
static void changed(cluster *c, const char *path, const char *value, uint64_t seq) {
    remember(c, path, value, seq);
    c->on_change(c->ctx, path, value, seq);
}

/* "PATH\nVALUE\nSEQ\nNODE" from the channel, or the reply of a read. */
static void apply_message(cluster *c, const char *msg, size_t len) {
    char buf[512], *f[4];
    if (len >= sizeof buf) return;
    memcpy(buf, msg, len);
    buf[len] = '\0';
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        char *nl = strchr(p, '\n');
        if (i < 3) {
            if (nl == NULL) return;
            *nl = '\0';
            p = nl + 1;
        }
    }
    char *end;
    unsigned long long seq = strtoull(f[2], &end, 10);
    if (*end) return;
    changed(c, f[0], f[1], seq);
}

static void read_back(cluster *c);

static void on_message(redisAsyncContext *ac, void *r, void *priv) {
    (void)ac, (void)priv;
    redisReply *reply = r;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
    redisReply *kind = reply->element[0], *payload = reply->element[2];
    if (kind->type != REDIS_REPLY_STRING) return;
    if (strcmp(kind->str, "subscribe") == 0) {
        cluster *c = ((watch *)ac->ev.data)->c;
        c->sub_up = true;
        /* changes published while it was not subscribed: read them back */
        if (c->cmd_up) read_back(c);
        if (c->cmd_up) app_log(APP_LOG_INFO, "cluster: Redis at %s:%d reachable", c->host, c->port);
        return;
    }
    if (strcmp(kind->str, "message") == 0 && payload->type == REDIS_REPLY_STRING)
        apply_message(((watch *)ac->ev.data)->c, payload->str, (size_t)payload->len);
}

/* After (re)connection: read every value back, so that a change made while
 * this node could not hear of it is applied. */
static void on_read_back(redisAsyncContext *ac, void *r, void *priv) {
    cluster *c = ((watch *)ac->ev.data)->c;
    redisReply *reply = r;
    size_t i = (size_t)(uintptr_t)priv;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || i >= c->n_paths)
        return;
    redisReply *v = reply->element[0], *s = reply->element[1];
    if (v->type == REDIS_REPLY_NIL) {
        /* Redis came back without it (restarted, no persistence): put the
         * newest value this node knows back, with its number, so that the
         * next PUT's number is newer than every node's. */
        app_log(APP_LOG_WARN, "cluster: Redis lost %s; restoring %s (change %llu)", c->paths[i],
                c->values[i], (unsigned long long)c->seqs[i]);
        redisAsyncCommand(ac, NULL, NULL, "HSETNX tern:%s value %s", c->paths[i], c->values[i]);
        redisAsyncCommand(ac, NULL, NULL, "HSETNX tern:%s seq %llu", c->paths[i],
                          (unsigned long long)c->seqs[i]);
        return;
    }
    if (v->type != REDIS_REPLY_STRING) return;
    changed(c, c->paths[i], v->str, s->type == REDIS_REPLY_STRING ? strtoull(s->str, NULL, 10) : 0);
}

static void read_back(cluster *c) {
    for (size_t i = 0; i < c->n_paths; i++)
        redisAsyncCommand(c->cmd.ac, on_read_back, (void *)(uintptr_t)i,
                          "HMGET tern:%s value seq", c->paths[i]);
}

static void on_select(redisAsyncContext *ac, void *r, void *priv) {
    (void)priv;
    cluster *c = ((watch *)ac->ev.data)->c;
    redisReply *reply = r;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) return;
    c->cmd_up = true;
    c->backoff_ms = CLUSTER_BACKOFF_MIN_MS;
    read_back(c);
    if (c->sub_up) app_log(APP_LOG_INFO, "cluster: Redis at %s:%d reachable", c->host, c->port);
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
        redisAsyncCommand(c->sub.ac, on_message, NULL, "SUBSCRIBE %s", CLUSTER_CHANNEL);
    }
    if (c->cmd.ac == NULL || c->sub.ac == NULL) connect_later(c);
}

static void connect_later(cluster *c) {
    if (c->retry_at) return;
    c->retry_at = now_ms() + c->backoff_ms;
    c->backoff_ms = c->backoff_ms * 2 > CLUSTER_BACKOFF_MAX_MS ? CLUSTER_BACKOFF_MAX_MS
                                                                : c->backoff_ms * 2;
}

/* ---- the interface ------------------------------------------------------------ */

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
    snprintf(why, cap, "--cluster: expected redis://HOST[:PORT][/DB]");
    return -1;
}

int cluster_open(cluster **out, const char *url, const char *node, cluster_change_fn on_change,
                 void *ctx, char *why, size_t cap) {
    *out = NULL;
    cluster *c = calloc(1, sizeof *c);
    if (c == NULL) return -1;
    c->ep = -1;
    c->cmd.fd = c->sub.fd = -1;
    if (parse_url(c, url, why, cap) < 0) {
        free(c);
        return -1;
    }
    snprintf(c->node, sizeof c->node, "%s", node);
    c->on_change = on_change;
    c->ctx = ctx;
    c->backoff_ms = CLUSTER_BACKOFF_MIN_MS;
    struct timeval tv = {2, 0};
    c->sync = redisConnectWithTimeout(c->host, c->port, tv);
    redisReply *r = NULL;
    if (c->sync && !c->sync->err) r = redisCommand(c->sync, "SELECT %d", c->db);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(why, cap, "cannot reach Redis at %s:%d: %s", c->host, c->port,
                 r ? r->str : c->sync && c->sync->errstr[0] ? c->sync->errstr : "no answer");
        if (r) freeReplyObject(r);
        cluster_close(c);
        return -1;
    }
    freeReplyObject(r);
    c->ep = epoll_create1(EPOLL_CLOEXEC);
    if (c->ep < 0) {
        snprintf(why, cap, "epoll: %s", strerror(errno));
        cluster_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

int cluster_init_value(cluster *c, const char *path, const char *initial, char *value, size_t cap,
                       uint64_t *seq, char *why, size_t why_cap) {
    if (c->n_paths == CLUSTER_MAX_PATHS || strlen(path) >= sizeof c->paths[0]) {
        snprintf(why, why_cap, "%s: too many resources, or too long a path, for --cluster", path);
        return -1;
    }
    redisReply *r = redisCommand(c->sync, "HSETNX tern:%s value %s", path, initial);
    if (r) freeReplyObject(r);
    r = redisCommand(c->sync, "HMGET tern:%s value seq", path);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(why, why_cap, "%s: cannot read its value from Redis", path);
        if (r) freeReplyObject(r);
        return -1;
    }
    snprintf(value, cap, "%s", r->element[0]->str);
    *seq = r->element[1]->type == REDIS_REPLY_STRING ? strtoull(r->element[1]->str, NULL, 10) : 0;
    freeReplyObject(r);
    snprintf(c->paths[c->n_paths], sizeof c->paths[0], "%s", path);
    snprintf(c->values[c->n_paths], sizeof c->values[0], "%s", value);
    c->seqs[c->n_paths++] = *seq;
    return 0;
}

int cluster_start(cluster *c, char *why, size_t cap) {
    (void)why, (void)cap;
    redisFree(c->sync);
    c->sync = NULL;
    connect_now(c);
    return 0;
}

void cluster_close(cluster *c) {
    if (c == NULL) return;
    if (c->cmd.ac) redisAsyncFree(c->cmd.ac);
    if (c->sub.ac) redisAsyncFree(c->sub.ac);
    if (c->sync) redisFree(c->sync);
    if (c->ep >= 0) close(c->ep);
    free(c);
}

bool cluster_up(const cluster *c) { return c->cmd_up && c->sub_up; }

static void on_put(redisAsyncContext *ac, void *r, void *priv) {
    pending_put *p = priv;
    redisReply *reply = r;
    bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
    uint64_t seq = ok ? (uint64_t)reply->integer : 0;
    p->used = false;
    if (ok && ac) remember(((watch *)ac->ev.data)->c, p->path, p->value, seq);
    p->done(p->ctx, ok, seq);
}

int cluster_put(cluster *c, const char *path, const char *value, cluster_done_fn done, void *ctx) {
    if (!cluster_up(c)) return -1;
    pending_put *p = NULL;
    for (size_t i = 0; i < CLUSTER_MAX_PUTS && p == NULL; i++)
        if (!c->puts[i].used) p = &c->puts[i];
    if (p == NULL) return -1;
    char msg_path[160];
    snprintf(msg_path, sizeof msg_path, "tern:%s", path);
    if (redisAsyncCommand(c->cmd.ac, on_put, p, "EVAL %s 1 %s %s %s %s %s", put_script, msg_path,
                          value, CLUSTER_CHANNEL, path, c->node) != REDIS_OK)
        return -1;
    p->used = true;
    p->done = done;
    p->ctx = ctx;
    snprintf(p->path, sizeof p->path, "%s", path);
    snprintf(p->value, sizeof p->value, "%s", value);
    return 0;
}

int cluster_fd(const cluster *c) { return c->ep; }

int cluster_timeout_ms(const cluster *c) {
    if (c->retry_at == 0) return -1;
    uint64_t now = now_ms();
    return c->retry_at <= now ? 0 : (int)(c->retry_at - now);
}

void cluster_step(cluster *c) {
    struct epoll_event evs[4];
    int n = epoll_wait(c->ep, evs, 4, 0);
    for (int i = 0; i < n; i++) {
        watch *w = evs[i].data.ptr;
        /* hiredis may free the context in either call: look again after */
        if (w->ac && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) redisAsyncHandleRead(w->ac);
        if (w->ac && (evs[i].events & EPOLLOUT)) redisAsyncHandleWrite(w->ac);
    }
    if (c->retry_at && now_ms() >= c->retry_at) connect_now(c);
}
