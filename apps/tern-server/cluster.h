/* SPDX-License-Identifier: BSD-2-Clause */
/* cluster.h - tern-server nodes sharing their state resources through Redis
 * (--cluster redis://HOST:PORT[/DB] --node NAME).
 *
 * A resource's value lives in Redis, in the hash tern:PATH (fields value
 * and seq). A PUT is one Lua script: unless Redis holds that value already,
 * it bumps seq, sets the value and publishes "PATH\nVALUE\nSEQ\nNODE" on the channel tern:changes, all at
 * once, so every node sees every change in the order Redis made them and
 * ends on the same value. A node applies a change only when its seq is
 * newer than the one it holds (its own PUT's reply and the published
 * message may come in either order). The 2.04 goes out only after Redis
 * answered the script.
 *
 * Non-blocking, in tern-server's loop: two hiredis connections (commands,
 * and the subscription) whose sockets sit in an epoll set of this module;
 * cluster_fd is that set, readable when there is work for cluster_step, as
 * tern_io_fd is for tern_io_step. Only the start is blocking (the first
 * connection and the initial values): a node that cannot reach Redis does
 * not start. Lost later, Redis is reconnected with back-off (0.1 s doubling
 * to 5 s); meanwhile cluster_up is false, and on reconnection every value
 * is read again and applied if it changed. */
#ifndef TERN_SERVER_CLUSTER_H
#define TERN_SERVER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cluster cluster;

/* A value changed (by any node, this one included): path, value, seq. */
typedef void (*cluster_change_fn)(void *ctx, const char *path, const char *value, uint64_t seq);
/* A PUT's end: ok (Redis took it; seq is its number) or not. */
typedef void (*cluster_done_fn)(void *ctx, bool ok, uint64_t seq);

/* Parse url (redis://HOST[:PORT][/DB]), connect (blocking, 2 s at most)
 * and check Redis answers. 0, or -1 with why. */
int cluster_open(cluster **out, const char *url, const char *node, cluster_change_fn on_change,
                 void *ctx, char *why, size_t cap);
void cluster_close(cluster *c);

/* At start (blocking): the value of path in Redis, set to initial first if
 * there is none (HSETNX: the first node to start decides). 0 with *seq,
 * or -1 with why. */
int cluster_init_value(cluster *c, const char *path, const char *initial, char *value, size_t cap,
                       uint64_t *seq, char *why, size_t why_cap);
/* Start the async connections (after every cluster_init_value). */
int cluster_start(cluster *c, char *why, size_t cap);

/* Set path to value: done is called with the outcome. -1 (done not
 * called) when Redis is not reachable now or too many PUTs wait. */
int cluster_put(cluster *c, const char *path, const char *value, cluster_done_fn done, void *ctx);
bool cluster_up(const cluster *c);

/* The loop: cluster_fd is readable when cluster_step has work; it must
 * also run when cluster_timeout_ms (-1: none) has passed. */
int cluster_fd(const cluster *c);
int cluster_timeout_ms(const cluster *c);
void cluster_step(cluster *c);

/* Reads back: every path known to Redis whose value changed while it was
 * unreachable comes through on_change after reconnection. The paths to
 * read are the ones cluster_init_value was given. */

#endif
