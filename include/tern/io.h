/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/io.h - UDP sockets and the event loop: the only part of tern that
 * calls the operating system.
 *
 * A tern_io owns one UDP socket (IPv6 dual-stack, or IPv4), an endpoint and,
 * on demand, a server and a client sitting on that endpoint. It reads the
 * monotonic clock, feeds datagrams in (recvmmsg), drains the endpoint's
 * output (sendmmsg) and sleeps in epoll until the earliest deadline. ICMP
 * destination-unreachable errors for datagrams it sent (IP_RECVERR) go to
 * tern_endpoint_unreachable, so requests to a peer where nothing listens
 * fail with TERN_E_UNREACHABLE at once and its observers are dropped.
 *
 * To embed tern in another event loop, watch tern_io_fd() for readability and
 * call tern_io_step(io, 0) when it is readable or when tern_io_timeout_ms()
 * has passed. */
#ifndef TERN_IO_H
#define TERN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/client.h"
#include "tern/endpoint.h"
#include "tern/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_io tern_io;

typedef struct tern_io_config {
    /* Address to bind: "::" (the default: IPv6 and, dual-stack, IPv4),
     * "0.0.0.0", "127.0.0.1", "::1", ... */
    const char *bind_host;
    /* UDP port; 0 picks an ephemeral one (clients). */
    uint16_t port;
    /* Messaging parameters and capacities; zeroed fields take the defaults
     * of tern_endpoint_config_default. The random source defaults to
     * getrandom(2). */
    tern_endpoint_config endpoint;
    /* Server and client settings used when tern_io_server/tern_io_client
     * first create them; zeroed means defaults. */
    tern_server_config server;
    tern_client_config client;
    /* Every datagram in and out, for -v output. */
    void (*trace)(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg);
    void *trace_ctx;
} tern_io_config;

/* Zero cfg and set the defaults above. */
void tern_io_config_default(tern_io_config *cfg);

/* Open the socket and create the endpoint. NULL on failure; *err (if not
 * NULL) gets a TERN_E_* value and errno is left from the failing call. */
tern_io *tern_io_new(const tern_io_config *cfg, int *err);
void tern_io_free(tern_io *io);

tern_endpoint *tern_io_endpoint(tern_io *io);
/* The server and client on this endpoint, created on first use (NULL only
 * when out of memory). */
tern_server *tern_io_server(tern_io *io);
tern_client *tern_io_client(tern_io *io);

/* Milliseconds on the monotonic clock: the "now" that every layer gets. */
uint64_t tern_io_now(void);

/* The port the socket is bound to (useful after binding port 0). */
uint16_t tern_io_port(const tern_io *io);

/* Resolve host (name, IPv4 or IPv6 literal) and port into an address this
 * io's socket can send to (IPv4 becomes v4-mapped on a dual-stack socket).
 * 0, TERN_E_NOTFOUND (no such host) or TERN_E_SYSTEM. */
int tern_io_resolve(tern_io *io, const char *host, uint16_t port, tern_addr *out);

/* "[2001:db8::1]:5683" or "192.0.2.1:5683" (v4-mapped shown as IPv4).
 * Returns the length, or TERN_E_NOSPACE. */
int tern_io_addr_format(const tern_addr *addr, char *out, size_t cap);

/* Run one round: wait up to timeout_ms (-1: until the next deadline or
 * input; 0: don't wait), then receive, act on timers and send. 0, or
 * TERN_E_SYSTEM. */
int tern_io_step(tern_io *io, int timeout_ms);

/* Loop tern_io_step until tern_io_stop() is called or, once
 * tern_io_catch_signals() was called, SIGINT or SIGTERM arrives. */
int tern_io_run(tern_io *io);
void tern_io_stop(tern_io *io);
bool tern_io_stopped(const tern_io *io);

/* Deliver SIGINT and SIGTERM through the loop (signalfd) so that
 * tern_io_run returns cleanly instead of the process dying mid-write. */
int tern_io_catch_signals(tern_io *io);

/* For embedding: a file descriptor that becomes readable when tern_io_step
 * has work, and how long the loop may sleep (-1 for no deadline). */
int tern_io_fd(const tern_io *io);
int tern_io_timeout_ms(tern_io *io);

#ifdef __cplusplus
}
#endif
#endif
