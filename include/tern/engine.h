/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/engine.h - one sans-I/O CoAP node: an endpoint and, on demand, a
 * server and a client on it, driven through one small interface.
 *
 * The engine is what a driver embeds: src/io drives one over a UDP socket
 * and epoll, the unit-test fixtures drive one on a fake clock, the fuzz
 * targets drive one from a script, and a microcontroller's main loop can
 * drive one from its radio. The shape is that of ngtcp2's read_pkt /
 * write_pkt / get_expiry:
 *
 *   datagram + now in      tern_engine_recv (and tern_engine_unreachable,
 *                          for ICMP errors a driver learns of)
 *   timers                 tern_engine_tick when tern_engine_next_deadline
 *                          has come (0 means: at once)
 *   datagrams out          tern_engine_outgoing, then tern_engine_sent
 *   events out             the server's handlers, the client's callbacks,
 *                          and trace (every datagram in and out)
 *
 * The engine routes the endpoint's callbacks (requests to the server,
 * responses to the client, RST and unreachable peers to both), and merges
 * the deadlines of the three layers into one. A driver's loop is:
 *
 *     for (;;) {
 *         wait for input or until tern_engine_next_deadline(eng);
 *         for each datagram: tern_engine_recv(eng, &peer, buf, len, now);
 *         if (now >= tern_engine_next_deadline(eng)) tern_engine_tick(eng, now);
 *         n = tern_engine_outgoing(eng, dg, max); send them; tern_engine_sent(eng, n);
 *     }
 *
 * Requests that no server handles: while no server is attached
 * (tern_engine_server was never called), every request is answered 5.01
 * Not Implemented (RFC 7252 section 5.9.3.2: the node does not act as a
 * server at all), piggybacked for a CON and as a NON for a NON; this is the
 * answer an endpoint without an on_request callback gives too. Once a server
 * is attached it answers every request (4.04 for a path it does not serve).
 *
 * Memory: everything is allocated by tern_engine_new and by the first
 * tern_engine_server / tern_engine_client; nothing on the per-datagram
 * path. */
#ifndef TERN_ENGINE_H
#define TERN_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/client.h"
#include "tern/config.h"
#include "tern/endpoint.h"
#include "tern/export.h"
#include "tern/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_engine tern_engine;

/* Every datagram in (after it parsed) and out (when written), for -v
 * logging. Must not call into the engine. */
typedef void (*tern_trace_fn)(void *ctx, bool outgoing, const tern_addr *peer,
                              const tern_msg *msg);

/* The rule of tern/config.h applies. */
typedef struct tern_engine_config {
    uint32_t size; /* set by tern_engine_config_default */
    /* [NULL: defaults] Settings of each layer, read when the layer is
     * created (the endpoint in tern_engine_new, the server and client on
     * first use); the structs need not outlive those calls. The endpoint's
     * random source is required (see tern_endpoint_config). */
    const tern_endpoint_config *endpoint;
    const tern_server_config *server;
    const tern_client_config *client;
    /* [NULL: none] */
    tern_trace_fn trace;
    void *trace_ctx;
} tern_engine_config;

TERN_API void tern_engine_config_default(tern_engine_config *cfg);

/* Create an engine and its endpoint into *out. 0, TERN_E_NOMEM, or
 * TERN_E_INVAL for a config the engine or the endpoint refuses. The server
 * and client settings are kept (copied) for later. */
TERN_API int tern_engine_new(tern_engine **out, const tern_engine_config *cfg);
/* Free the server, the client and the endpoint, in that order; outstanding
 * CONs end with TERN_TX_CANCELLED. NULL is a no-op. */
TERN_API void tern_engine_free(tern_engine *eng);

/* The layers. tern_engine_server and tern_engine_client create theirs on
 * first use, with the settings given to tern_engine_new; NULL when that
 * fails (*err, if not NULL, says why: TERN_E_NOMEM or TERN_E_INVAL). */
TERN_API tern_endpoint *tern_engine_endpoint(tern_engine *eng);
TERN_API tern_server *tern_engine_server(tern_engine *eng, int *err);
TERN_API tern_client *tern_engine_client(tern_engine *eng, int *err);

/* A datagram from peer, received at now_ms. 0, or the endpoint's error for
 * a datagram it rejected (TERN_E_FORMAT: answered with RST if it was a CON,
 * section 4.2); either way the engine has done all there is to do. */
TERN_API int tern_engine_recv(tern_engine *eng, const tern_addr *peer, const uint8_t *data,
                              size_t len, uint64_t now_ms);
/* tern_engine_recv with what the driver knows of the datagram: flags of
 * tern_endpoint_recv_flags (TERN_RX_MULTICAST: it came to a group
 * address, RFC 7252 section 8). */
TERN_API int tern_engine_recv_flags(tern_engine *eng, const tern_addr *peer, const uint8_t *data,
                                    size_t len, uint64_t now_ms, unsigned flags);
/* An ICMP destination-unreachable error for a datagram sent to peer, quote
 * the part of that datagram the error quoted: the exchange it names ends at
 * once (a request fails with TERN_E_UNREACHABLE, an observer is dropped);
 * one that names none ends nothing. See tern_endpoint_unreachable, whose
 * TERN_ICMP_* result this returns. */
TERN_API int tern_engine_unreachable(tern_engine *eng, const tern_addr *peer, const uint8_t *quote,
                                     size_t quote_len, uint64_t now_ms);

/* Trace every datagram in and out to fn (NULL: stop), from now on: the
 * trace and trace_ctx of tern_engine_config, changed at run time. */
TERN_API void tern_engine_set_trace(tern_engine *eng, tern_trace_fn fn, void *ctx);

/* Run every timer due at now_ms in every layer: retransmissions, empty
 * ACKs, notifications of changed resources, Observe liveness, deferred
 * answers that ran out, client deadlines and re-registrations. */
TERN_API void tern_engine_tick(tern_engine *eng, uint64_t now_ms);
/* When tern_engine_tick must next run: a time in ms, 0 for "at once"
 * (something waits that could not be done inside a callback, or a resource
 * changed), UINT64_MAX when nothing is scheduled. */
TERN_API uint64_t tern_engine_next_deadline(const tern_engine *eng);

/* ---- Timers of the application ----------------------------------------------
 * On the engine's clock, merged into tern_engine_next_deadline, run by
 * tern_engine_tick: a resource that changes on its own, a separate answer
 * given a moment later. The struct is the caller's (no allocation); its
 * fields are the engine's while the timer is armed. */
typedef struct tern_timer tern_timer;
typedef void (*tern_timer_fn)(void *ctx, tern_engine *eng, uint64_t now_ms);
struct tern_timer {
    uint64_t at;         /* private */
    tern_timer_fn fn;    /* private */
    void *ctx;           /* private */
    tern_timer *next;    /* private: armed timers, soonest first */
    uint64_t seq;        /* private: when it was armed, in arming order */
    bool armed;          /* private */
};

/* Call fn(ctx) from the first tern_engine_tick at or after at_ms, once.
 * Arming an armed timer moves it. fn may arm timers, this one included,
 * and call into the server and client. */
TERN_API void tern_engine_timer_start(tern_engine *eng, tern_timer *t, uint64_t at_ms,
                                      tern_timer_fn fn, void *ctx);
/* Disarm; a no-op for a timer that is not armed. */
TERN_API void tern_engine_timer_stop(tern_engine *eng, tern_timer *t);

/* The datagrams to send, in the endpoint's outbox: see
 * tern_endpoint_outgoing and tern_endpoint_sent. */
TERN_API size_t tern_engine_outgoing(tern_engine *eng, tern_datagram *out, size_t max);
TERN_API void tern_engine_sent(tern_engine *eng, size_t n);

#ifdef __cplusplus
}
#endif
#endif
