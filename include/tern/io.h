/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/io.h - UDP sockets and the event loop: the only part of tern that
 * calls the operating system.
 *
 * A tern_io owns one UDP socket (IPv6 dual-stack, or IPv4) and drives one
 * tern_engine (tern/engine.h) over it: it reads the monotonic clock, feeds
 * datagrams in (recvmmsg), hands the engine's outgoing datagrams to the
 * kernel where they lie in its outbox (sendmmsg, no copy) and sleeps in
 * epoll until the engine's next deadline. ICMP destination-unreachable
 * errors for datagrams it sent (IP_RECVERR) go to tern_engine_unreachable,
 * so requests to a peer where nothing listens fail with TERN_E_UNREACHABLE
 * at once and its observers are dropped.
 *
 * To embed tern in another event loop, watch tern_io_fd() for readability and
 * call tern_io_step(io, 0) when it is readable or when tern_io_timeout_ms()
 * has passed. To drive the engine over sockets of your own, use
 * tern/engine.h directly. */
#ifndef TERN_IO_H
#define TERN_IO_H

#include "tern/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/client.h"
#include "tern/config.h"
#include "tern/endpoint.h"
#include "tern/engine.h"
#include "tern/server.h"
#include "tern/uri.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_io tern_io;

typedef void (*tern_io_icmp_fn)(void *ctx, const tern_addr *peer, const uint8_t *quote,
                                size_t quote_len, int result);

/* ---- coaps: DTLS 1.2 (RFC 7252 section 9), on OpenSSL 3 ------------------
 * Cipher suites, in order: TLS_PSK_WITH_AES_128_CCM_8 and
 * TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (section 9.1.3.1, 9.1.3.3), then the
 * AEAD suites nearest to them for peers without CCM_8
 * (PSK-AES128-GCM-SHA256, ECDHE-ECDSA-AES128-GCM-SHA256,
 * ECDHE-RSA-AES128-GCM-SHA256). Raw public keys (RFC 7250) are not offered:
 * OpenSSL 3.0 cannot do them. */

/* Server: the key of a PSK identity. Its length (1..cap), or a negative
 * value for an unknown identity (the handshake fails). */
typedef int (*tern_io_psk_fn)(void *ctx, const char *identity, uint8_t *key, size_t cap);

/* The rule of tern/config.h applies. */
typedef struct tern_io_dtls_config {
    uint32_t size; /* set by tern_io_dtls_config_default */
    /* [false] Accept coaps sessions on a socket of their own, bound to
     * bind_host and port. Without it, this side only opens sessions (a
     * client), over the one socket of tern_io that CoAP uses too (RFC
     * 7983: the first byte tells them apart). */
    bool server;
    /* [0 is a value: an ephemeral port] The coaps port of a server; 5684
     * is coaps's (tern_io_dtls_config_default). */
    uint16_t port;
    /* [false] A server with coaps only: no plain CoAP socket is opened
     * (tern_io_config.port is not bound), and tern_io_port is the coaps
     * port. */
    bool secure_only;
    /* Server credentials: a PSK lookup, a certificate, or both. */
    tern_io_psk_fn psk_lookup;
    void *psk_ctx;
    const char *psk_identity_hint; /* [NULL: none] */
    /* Client credentials: a PSK identity and key (as coap-client -u -k). */
    const char *psk_identity;
    const uint8_t *psk_key;
    size_t psk_key_len;
    /* [NULL] X.509, PEM: this side's certificate (chain) and private key,
     * and the CAs a peer's certificate must chain to. A server with
     * ca_file asks clients for a certificate (PSK clients are not asked);
     * a client with ca_file verifies the server's. */
    const char *cert_file, *key_file, *ca_file;
    uint32_t max_sessions;   /* [0: 1024] sessions, handshakes included */
    uint32_t max_handshakes; /* [0: 64] handshakes in progress */
    uint32_t idle_timeout_s; /* [0: 600] an idle session is closed */
    /* [0: 20] A handshake not complete by then is dropped. A wrong key
     * ends no sooner: DTLS drops records that fail their MAC (RFC 6347
     * section 4.1.2.7), so the Finished of a wrong key goes unanswered. */
    uint32_t handshake_timeout_s;
} tern_io_dtls_config;

TERN_API void tern_io_dtls_config_default(tern_io_dtls_config *cfg);

typedef struct tern_io_dtls_stats {
    uint32_t sessions;           /* established now */
    uint32_t handshakes;         /* in progress now */
    uint64_t hello_verify_sent;  /* cookies asked for: no state was kept */
    uint64_t handshakes_done;
    uint64_t handshakes_failed;  /* wrong key, bad certificate, timeout */
    uint64_t refused_full;       /* ClientHellos dropped: tables full */
    uint64_t closed_idle;
} tern_io_dtls_stats;

/* The rule of tern/config.h applies. */
typedef struct tern_io_config {
    uint32_t size; /* set by tern_io_config_default */
    /* [NULL: "::"] Address to bind: "::" (IPv6 and, dual-stack, IPv4),
     * "0.0.0.0", "127.0.0.1", "::1", ... */
    const char *bind_host;
    /* [0 is a value: an ephemeral port, for clients] UDP port; default
     * 5683. */
    uint16_t port;
    /* [NULL: defaults] Settings of the engine's layers (tern/engine.h). The
     * endpoint's random source, when NULL, is the kernel's (getrandom). */
    const tern_endpoint_config *endpoint;
    const tern_server_config *server;
    const tern_client_config *client;
    /* [NULL: none] Every datagram in and out, for -v output. */
    tern_trace_fn trace;
    void *trace_ctx;
    /* [NULL: none] Every ICMP destination-unreachable error read, with what
     * it quoted of our datagram and what came of it (TERN_ICMP_MATCHED: the
     * exchange it names ended; TERN_ICMP_IGNORED: it named nothing current
     * of ours, e.g. a forgery quoting only the IP and UDP headers), for a
     * debug log. ctx is trace_ctx. */
    tern_io_icmp_fn icmp_trace;
    /* [NULL: none] A forward proxy, coap://HOST[:PORT] (RFC 7252 section
     * 5.7.2). The requests of tern_io_request*, tern_io_observe* then go to
     * it with the target URI whole in Proxy-Uri (section 5.10.2) and no
     * Uri-* options, so the target may be any absolute URI the proxy
     * serves: coap, or http(s) through a cross-proxy (section 10.1); a
     * target is 1 to 1034 bytes. tern_io_new fails with TERN_E_URI for a
     * proxy URI with a path or query, TERN_E_NOTFOUND for an unknown host. */
    const char *proxy;
    /* [0: 4 MiB] Kernel buffer of the socket each way (SO_RCVBUF,
     * SO_SNDBUF): room for a burst of requests, or of notifications to
     * many observers, that the loop has not read or the network not yet
     * taken. With CAP_NET_ADMIN (root) the size is forced
     * (SO_RCVBUFFORCE); otherwise Linux caps it at net.core.rmem_max and
     * wmem_max (tern_io_socket_buffer says what was granted). */
    uint32_t socket_buffer;
    /* [false] SO_REUSEPORT: several sockets (one per worker thread or
     * process) bind the same port, and the kernel spreads the peers over
     * them, each peer (address and port) always to the same one. */
    bool reuse_port;
    /* [false] Leave requests to group addresses (multicast, broadcast; RFC
     * 7252 section 8) to another socket on the port: they are dropped
     * here. With reuse_port every socket on the port gets a copy of a
     * group datagram, and one of them is to answer it. */
    bool no_group_requests;
    /* [NULL: no DTLS] coaps (see tern_io_dtls_config). */
    const tern_io_dtls_config *dtls;
} tern_io_config;

/* Fill cfg with the defaults above. */
TERN_API void tern_io_config_default(tern_io_config *cfg);

/* Open the socket and create the engine into *out. 0, or TERN_E_INVAL (a
 * config refused), TERN_E_NOTFOUND (bind_host is no address), TERN_E_ADDRINUSE
 * (the port is taken), TERN_E_ACCESS (not allowed to bind there),
 * TERN_E_NOMEM, TERN_E_SYSTEM (another refusal of the operating system). */
TERN_API int tern_io_new(tern_io **out, const tern_io_config *cfg);
TERN_API void tern_io_free(tern_io *io);

/* The engine this io drives, and its layers; the server and client are
 * created on first use (NULL when that fails: out of memory, bad config). */
TERN_API tern_engine *tern_io_engine(tern_io *io);
TERN_API tern_endpoint *tern_io_endpoint(tern_io *io);
TERN_API tern_server *tern_io_server(tern_io *io);
TERN_API tern_client *tern_io_client(tern_io *io);

/* Milliseconds on the monotonic clock: the "now" that every layer gets. */
TERN_API uint64_t tern_io_now(void);

/* The port the socket is bound to (useful after binding port 0). */
TERN_API uint16_t tern_io_port(const tern_io *io);

/* Resolve host (name, IPv4 or IPv6 literal) and port into an address this
 * io's socket can send to (IPv4 becomes v4-mapped on a dual-stack socket).
 * 0, TERN_E_NOTFOUND (no such host) or TERN_E_SYSTEM. */
TERN_API int tern_io_resolve(tern_io *io, const char *host, uint16_t port, tern_addr *out);

/* "[2001:db8::1]:5683" or "192.0.2.1:5683" (v4-mapped shown as IPv4).
 * Returns the length, or TERN_E_NOSPACE. */
TERN_API int tern_io_addr_format(const tern_addr *addr, char *out, size_t cap);

/* Run one round: wait up to timeout_ms (-1: until the next deadline or
 * input; 0: don't wait), then receive, act on timers and send. 0, or
 * TERN_E_SYSTEM. */
TERN_API int tern_io_step(tern_io *io, int timeout_ms);

/* Loop tern_io_step until tern_io_stop() is called or, once
 * tern_io_catch_signals() was called, SIGINT or SIGTERM arrives. */
TERN_API int tern_io_run(tern_io *io);
/* The receive buffer the kernel granted the socket, in bytes (see
 * tern_io_config.socket_buffer), or 0 if unknown. */
TERN_API uint32_t tern_io_socket_buffer(const tern_io *io);

/* The trace of tern_io_config (every datagram in and out), changed at run
 * time: NULL stops it. It costs a parse of every datagram sent. */
TERN_API void tern_io_set_trace(tern_io *io, tern_trace_fn fn, void *ctx);
TERN_API void tern_io_stop(tern_io *io);

/* The port of the coaps socket (0: none). */
TERN_API uint16_t tern_io_coaps_port(const tern_io *io);
/* Whether peer is reached over DTLS (coaps). */
TERN_API bool tern_io_peer_secure(const tern_addr *peer);
/* The identity a coaps peer authenticated with (PSK identity, or its
 * certificate's subject CN), NUL-terminated in out: its length; 0 for a
 * plain coap peer or one without a session. */
TERN_API size_t tern_io_peer_identity(const tern_io *io, const tern_addr *peer, char *out,
                                      size_t cap);
TERN_API void tern_io_get_dtls_stats(const tern_io *io, tern_io_dtls_stats *st);
TERN_API bool tern_io_stopped(const tern_io *io);

/* RFC 7252 section 8: receive what is sent to the multicast group (a
 * numeric IPv4 or IPv6 address: All CoAP Nodes are 224.0.1.187, ff02::fd
 * and ff05::fd) on the interface named iface (NULL or "": the kernel's
 * pick; give it for a link-local group such as ff02::fd). Requests that
 * come to a group address are told apart (IP_PKTINFO): never answered with
 * RST, their error answers suppressed, the others sent after a random
 * leisure (see tern_endpoint_recv_flags). 0, TERN_E_INVAL (not a multicast
 * address, no such interface, an IPv6 group on an IPv4 socket) or
 * TERN_E_SYSTEM. */
TERN_API int tern_io_join(tern_io *io, const char *group, const char *iface);
/* Is addr a group address: IP multicast, or an IPv4 broadcast on one of
 * this host's networks? */
TERN_API bool tern_io_addr_is_group(tern_io *io, const tern_addr *addr);

/* Deliver SIGINT and SIGTERM through the loop (signalfd) so that
 * tern_io_run returns cleanly instead of the process dying mid-write. */
TERN_API int tern_io_catch_signals(tern_io *io);

/* For embedding: a file descriptor that becomes readable when tern_io_step
 * has work, and how long the loop may sleep (-1 for no deadline). */
TERN_API int tern_io_fd(const tern_io *io);
TERN_API int tern_io_timeout_ms(tern_io *io);

/* Another source of work for the same loop (a state backend's connections,
 * tern/state_redis.h): step runs in tern_io_step when fd is readable, and
 * when timeout_ms (-1: no deadline) has run out, before the engine's
 * timers and the sending, so what it answers goes out in the same round.
 * tern_io_fd and tern_io_timeout_ms take it into account. */
typedef struct tern_io_source {
    int fd;
    int (*timeout_ms)(void *ctx);
    void (*step)(void *ctx);
    void *ctx;
} tern_io_source;
#define TERN_IO_MAX_SOURCES 4
/* 0; TERN_E_FULL beyond TERN_IO_MAX_SOURCES; TERN_E_SYSTEM (epoll). */
TERN_API int tern_io_add_source(tern_io *io, const tern_io_source *src);


/* ---- Requests to a URI, and a blocking call ------------------------------
 * (RFC 7252 sections 5.2, 6.4; RFC 7641 section 3.) The conveniences of an
 * operating system: they resolve the URI's host (tern_io_resolve), add its
 * Uri-* options, and run the io loop; the sans-I/O client underneath
 * (tern/client.h) does the protocol work. */

/* Parse text (section 6.4) and resolve its host for io's socket.
 * TERN_E_URI for a malformed URI or a scheme tern cannot serve over this
 * socket (only coap:// so far), TERN_E_NOTFOUND for an unknown host. */
TERN_API int tern_io_uri_peer(tern_io *io, const char *text, tern_uri *uri, tern_addr *peer);

/* Start a request to uri without waiting: req carries code, type (CON or
 * NON), other options and payload, as for tern_client_request, which this
 * calls after adding the URI's options (tern_uri_to_opts, with the
 * URI's own port as destination, so no Uri-Port); req keeps
 * only what the caller put in. fn gets the outcome while io runs. A payload
 * sent block-wise (too large for one datagram) must stay valid until then:
 * see tern_client_request. A URI whose host is a group address (IP
 * multicast, an IPv4 broadcast; RFC 7252 section 8) sends a NON request to
 * the group and fn gets every server's answer until timeout_ms, then
 * TERN_E_TIMEOUT (tern_client_request_group). 0, or the errors of
 * tern_io_uri_peer and tern_client_request. */
TERN_API int tern_io_request_start(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                          tern_client_fn fn, void *ctx, tern_client_op_id *id);

/* The same for an observation (tern_client_observe): fn gets every fresh
 * notification while io runs, until ev->observing is false. */
TERN_API int tern_io_observe(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                    tern_client_fn fn, void *ctx, tern_client_op_id *id);

/* The same, each notification whole (tern_client_observe_body, RFC 7959
 * section 2.6): body (body_cap bytes) must stay valid until fn's last call. */
TERN_API int tern_io_observe_body(tern_io *io, const char *uri, tern_msgb *req, uint8_t *body,
                         size_t body_cap, uint32_t timeout_ms, tern_client_fn fn, void *ctx,
                         tern_client_op_id *id);

/* The body tern_io_request keeps in the reply itself; a larger one needs
 * tern_io_request_body and a buffer of the caller's. */
#define TERN_IO_REPLY_BODY_MAX 2048u
/* Header and options of the answer, re-encoded: at most a datagram. */
#define TERN_IO_REPLY_HEAD_MAX 1500u

/* A response copied out of the receive buffer, so that it outlives the call
 * (about 3.6 KB: fine on a stack). msg is the (last) response: header and
 * options re-encoded in head (len bytes), payload pointing at the whole
 * body, which lies in body (or in the caller's buffer for
 * tern_io_request_body). msg points into the struct itself: use it in
 * place, do not copy a tern_io_reply by value. */
typedef struct tern_io_reply {
    tern_msg msg;
    size_t len;
    uint8_t head[TERN_IO_REPLY_HEAD_MAX];
    uint8_t body[TERN_IO_REPLY_BODY_MAX];
} tern_io_reply;

/* Send req to uri and run io until the response comes or timeout_ms (0: the
 * client's default, 93 s) passes. A GET or FETCH answered block-wise (RFC
 * 7959 section 2.4, Block2) is followed to its last block within that time
 * (tern_client_request_body), so resp->msg.payload is the whole body, up to
 * TERN_IO_REPLY_BODY_MAX bytes. 0 with *resp filled (whatever its code: 4.xx
 * and 5.xx are answers, not errors), or TERN_E_URI, TERN_E_NOTFOUND (host),
 * TERN_E_TIMEOUT, TERN_E_UNREACHABLE (ICMP), TERN_E_RESET, TERN_E_NOSPACE
 * (response too large for resp), TERN_E_FORMAT or TERN_E_STATE (a broken
 * or ever-changing block-wise answer), TERN_E_SYSTEM, TERN_E_CANCELLED (io
 * was stopped, e.g. by a signal caught with tern_io_catch_signals). To a
 * group address (RFC 7252 section 8) this gives the first answer only;
 * tern_io_request_start gives them all. */
TERN_API int tern_io_request(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                    tern_io_reply *resp);

/* The same with the body put together in the caller's buffer (body_cap
 * bytes, for bodies beyond TERN_IO_REPLY_BODY_MAX; resp->body stays unused):
 * resp->msg.payload then points into body. TERN_E_NOSPACE when the body is
 * larger than body_cap. */
TERN_API int tern_io_request_body(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                         tern_io_reply *resp, uint8_t *body, size_t body_cap);

#ifdef __cplusplus
}
#endif
#endif
