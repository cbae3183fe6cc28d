/* SPDX-License-Identifier: BSD-2-Clause */
/* io.c - UDP sockets and the epoll loop that drive one tern_engine (see
 * tern/io.h and tern/engine.h). This is the only file family in tern that
 * calls the operating system: the clock, sockets, signals and the random
 * source. What the engine does with datagrams is none of its business.
 *
 * One round (tern_io_step): sleep in epoll_wait until input arrives or the
 * engine's deadline passes; read queued datagrams with recvmmsg and hand
 * each to the engine with the current time; run the timers when due; then
 * hand the engine's outgoing datagrams to sendmmsg where they lie in its
 * outbox (no copy). Nothing polls: an idle server sleeps until a datagram
 * or a deadline wakes it.
 *
 * ICMP errors: with IP_RECVERR / IPV6_RECVERR set, Linux queues the ICMP
 * errors that our datagrams draw on the socket's error queue, even though
 * the socket is not connected, and epoll reports EPOLLERR. Each entry names
 * the address the failed datagram was sent to; a destination-unreachable
 * (port, host, network, administratively prohibited) goes to the endpoint
 * (tern_endpoint_unreachable), so that a request to a port where nothing
 * listens fails at once instead of after MAX_TRANSMIT_WAIT, and a server
 * drops observers that went away. Other ICMP errors (Packet Too Big, Time
 * Exceeded) are read and ignored: retransmission deals with them. */
#include "tern/io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "io/addr.h"
#include "io/dtls.h"
#include "io/group.h"
#include "io/io_int.h"

_Static_assert(TERN_IOP_CMSG_SPACE % _Alignof(struct cmsghdr) == 0,
               "each datagram's control data starts aligned");

#define IO_BATCH 32          /* datagrams per recvmmsg/sendmmsg call */
#define IO_RX_ROUNDS 8       /* recvmmsg calls per step before timers run */
#define IO_DGRAM_MAX 1500    /* largest datagram read; bigger ones are cut */
#define IO_ERR_ROUNDS 64     /* error-queue entries read per step */

struct tern_io {
    int fd;        /* the UDP socket */
    int dtls_fd;   /* a server's coaps socket, or -1 */
    uint16_t coaps_port;
    tern_dtls *dtls_srv; /* sessions accepted on dtls_fd */
    tern_dtls *dtls_cli; /* sessions this side opened, over fd (RFC 7983) */
    int epfd;      /* epoll over fd and sigfd */
    int sigfd;     /* -1 until tern_io_catch_signals */
    tern_io_source sources[TERN_IO_MAX_SOURCES]; /* in epfd too */
    size_t n_sources;
    int family;    /* AF_INET6 (dual-stack) or AF_INET */
    uint16_t port;
    bool stopped;
    tern_engine *eng;
    tern_iop_nets nets; /* IPv4 networks, to recognise broadcasts */
    tern_io_icmp_fn icmp_trace;
    void *trace_ctx;
    bool no_group_requests; /* tern_io_config's */
    /* Bound to one unicast address: Linux delivers no multicast or
     * broadcast datagram to such a socket, so none is looked for. */
    bool unicast_bound;
    bool proxied;     /* tern_io_config.proxy: */
    tern_addr proxy;  /* its address */
    uint8_t rx[IO_BATCH][IO_DGRAM_MAX];
    /* recvmmsg's headers over rx, cmsg and rx_from, set up once: after a
     * call only the lengths the kernel wrote are put back. */
    struct mmsghdr rx_msgs[IO_BATCH];
    struct iovec rx_iov[IO_BATCH];
    struct sockaddr_storage rx_from[IO_BATCH];
    /* Each datagram's destination. Aligned for the struct cmsghdr read
     * from it (TERN_IOP_CMSG_SPACE keeps every row so). */
    _Alignas(struct cmsghdr) uint8_t cmsg[IO_BATCH][TERN_IOP_CMSG_SPACE];
};

uint64_t tern_io_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The default random source: the kernel's CSPRNG. Tokens guard against
 * off-path spoofing (RFC 7252 section 5.3.1), so they must be unpredictable. */
static void io_random(void *ctx, uint8_t *out, size_t len) {
    (void)ctx;
    while (len > 0) {
        ssize_t n = getrandom(out, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            abort(); /* no randomness means no safe tokens: refuse to go on */
        }
        out += n;
        len -= (size_t)n;
    }
}

/* ---- setup ---------------------------------------------------------------- */

void tern_io_config_default(tern_io_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->size = (uint32_t)sizeof *cfg;
    cfg->bind_host = "::";
    cfg->port = 5683;
    cfg->socket_buffer = 4u << 20;
}

/* What the operating system said, as a TERN_E_* value (tern/config.h:
 * nothing is left in errno for the caller). */
static int io_errno(int e) {
    switch (e) {
    case EADDRINUSE: return TERN_E_ADDRINUSE;
    case EACCES:
    case EPERM: return TERN_E_ACCESS;
    case ENOMEM:
    case ENOBUFS: return TERN_E_NOMEM;
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT: return TERN_E_NOTFOUND;
    default: return TERN_E_SYSTEM;
    }
}

/* Ask for size bytes of kernel buffer each way: forced where the process
 * may (CAP_NET_ADMIN), else as much as net.core.{r,w}mem_max allow. */
static void io_set_buffers(int fd, uint32_t size) {
    int v = size > INT32_MAX ? INT32_MAX : (int)size;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
}

uint32_t tern_io_socket_buffer(const tern_io *io) {
    int v = 0;
    socklen_t len = sizeof v;
    if (!io || getsockopt(io->fd, SOL_SOCKET, SO_RCVBUF, &v, &len) < 0 || v <= 0) return 0;
    return (uint32_t)v / 2; /* Linux reports twice what it grants the data */
}

/* An IPv4 address (host order) that is neither 0.0.0.0, a multicast group
 * (224/4) nor the limited broadcast. */
static bool io_unicast4(uint32_t a) { return a != 0 && (a >> 28) != 0xE && a != 0xFFFFFFFFu; }

/* A socket address that names one unicast address (not "::", "0.0.0.0"
 * or a group)? */
static bool io_unicast(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET)
        return io_unicast4(ntohl(((const struct sockaddr_in *)(const void *)ss)->sin_addr.s_addr));
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
    if (IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_MULTICAST(a6)) return false;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
        uint32_t a;
        memcpy(&a, &a6->s6_addr[12], 4);
        return io_unicast4(ntohl(a));
    }
    return true;
}

static int io_open_socket(tern_io *io, const char *host, uint16_t port, uint32_t buffer,
                          bool reuse_port, int *fd_out, uint16_t *port_out) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", port);
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res) return TERN_E_NOTFOUND;

    int err = TERN_E_SYSTEM;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = io_errno(errno);
            continue;
        }
        int on = 1;
        if (ai->ai_family == AF_INET6) {
            /* Dual-stack: "::" also receives IPv4 as v4-mapped addresses. */
            int off = 0;
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
        }
        /* ICMP errors to the error queue (see the top of this file). On a
         * dual-stack socket IPV6_RECVERR covers IPv6 peers only, IP_RECVERR
         * the v4-mapped ones. Without them Linux drops ICMP errors for an
         * unconnected socket; failing to set them only costs the early
         * failure. */
        setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
        /* Each datagram's destination, to know a group request (group.c). */
        tern_iop_group_setup(fd, ai->ai_family);
        io_set_buffers(fd, buffer);
        if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) {
            err = io_errno(errno);
            close(fd);
            continue;
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            getsockname(fd, (struct sockaddr *)&ss, &sl);
            *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                       : ((struct sockaddr_in *)&ss)->sin_port);
            if (fd_out == &io->fd) io->unicast_bound = io_unicast(&ss);
            *fd_out = fd;
            io->family = ai->ai_family;
            err = 0;
            break;
        }
        err = io_errno(errno);
        close(fd);
    }
    freeaddrinfo(res);
    return err;
}

static void io_rx_init(tern_io *io);

/* ---- coaps (dtls.c does the sessions) -------------------------------------- */

/* An error a send returns because an ICMP message for an earlier datagram
 * (to any peer) is pending on the socket, not because of this one: Linux
 * fails the next send once with it (IP_RECVERR keeps the details on the
 * error queue). Retried once, or that datagram would be lost for another
 * peer's fault - a DTLS handshake then waits a second for its
 * retransmission, a CON two. */
static bool io_pending_icmp_error(int e) {
    return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
           e == ENONET || e == EPROTO;
}

static void io_dtls_send(int fd, const tern_addr *peer, const uint8_t *data, size_t len) {
    /* A full socket buffer loses the datagram, as the network might: DTLS
     * retransmits its handshake, CoAP its CONs. */
    for (int tries = 0; tries < 3; tries++) {
        if (sendto(fd, data, len, 0, (const struct sockaddr *)(const void *)peer->bytes,
                   peer->len) >= 0)
            return;
        if (errno != EINTR && !io_pending_icmp_error(errno)) return;
    }
}

static void io_dtls_send_srv(void *ctx, const tern_addr *peer, const uint8_t *data, size_t len) {
    io_dtls_send(((tern_io *)ctx)->dtls_fd, peer, data, len);
}

static void io_dtls_send_cli(void *ctx, const tern_addr *peer, const uint8_t *data, size_t len) {
    io_dtls_send(((tern_io *)ctx)->fd, peer, data, len);
}

static void io_dtls_deliver(void *ctx, const tern_addr *peer, const uint8_t *data, size_t len,
                            uint64_t now) {
    tern_engine_recv_flags(((tern_io *)ctx)->eng, peer, data, len, now, 0);
}

static int io_dtls_setup(tern_io *io, const tern_io_dtls_config *c) {
    char why[256];
    int e = 0;
    if (io->dtls_fd >= 0)
        e = tern_dtls_new(&io->dtls_srv, c, true, io_dtls_send_srv, io_dtls_deliver, io, why,
                          sizeof why);
    if (e == 0 && (c->psk_identity || (!io->dtls_srv && (c->cert_file || c->ca_file))))
        e = tern_dtls_new(&io->dtls_cli, c, false, io_dtls_send_cli, io_dtls_deliver, io, why,
                          sizeof why);
    if (e < 0 && why[0]) fprintf(stderr, "tern: coaps: %s\n", why);
    return e;
}

bool tern_iop_can_coaps(const tern_io *io) { return io->dtls_cli != NULL; }

uint16_t tern_io_coaps_port(const tern_io *io) { return io ? io->coaps_port : 0; }

bool tern_io_peer_secure(const tern_addr *peer) { return peer && tern_iop_addr_is_secure(peer); }

size_t tern_io_peer_identity(const tern_io *io, const tern_addr *peer, char *out, size_t cap) {
    if (cap) out[0] = '\0';
    if (!io || !peer || !tern_iop_addr_is_secure(peer)) return 0;
    tern_addr plain = *peer;
    tern_iop_addr_unmark(&plain);
    size_t n = tern_dtls_identity(io->dtls_srv, &plain, out, cap);
    return n ? n : tern_dtls_identity(io->dtls_cli, &plain, out, cap);
}

void tern_io_get_dtls_stats(const tern_io *io, tern_io_dtls_stats *st) {
    tern_dtls_get_stats(io ? io->dtls_srv : NULL, st);
}

int tern_io_new(tern_io **out, const tern_io_config *in) {
    if (out == NULL) return TERN_E_INVAL;
    *out = NULL;
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    int e = tern_base_config_load(&cfg, sizeof cfg, in, sizeof(uint32_t) + 1);
    if (e < 0) return e;
    tern_io *io = calloc(1, sizeof *io);
    if (!io) return TERN_E_NOMEM;
    io->fd = io->dtls_fd = io->epfd = io->sigfd = -1;
    io_rx_init(io);

    const char *host = cfg.bind_host ? cfg.bind_host : "::";
    uint32_t buffer = cfg.socket_buffer ? cfg.socket_buffer : 4u << 20;
    /* coaps alone: the one socket is the coaps socket (io->fd == dtls_fd) */
    bool secure_only = cfg.dtls && cfg.dtls->server && cfg.dtls->secure_only;
    if (secure_only) cfg.port = cfg.dtls->port;
    e = io_open_socket(io, host, cfg.port, buffer, cfg.reuse_port, &io->fd, &io->port);
    /* A machine without IPv6 still serves IPv4 when asked for "::". */
    if (e < 0 && strcmp(host, "::") == 0) {
        host = "0.0.0.0";
        e = io_open_socket(io, host, cfg.port, buffer, cfg.reuse_port, &io->fd, &io->port);
    }
    if (e < 0) goto fail;
    if (secure_only) {
        io->dtls_fd = io->fd;
        io->coaps_port = io->port;
    } else if (cfg.dtls && cfg.dtls->server &&
               (e = io_open_socket(io, host, cfg.dtls->port, buffer, cfg.reuse_port,
                                   &io->dtls_fd, &io->coaps_port)) < 0) {
        goto fail;
    }

    io->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = io->fd};
    if (io->epfd < 0 || epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0) {
        e = io_errno(errno);
        goto fail;
    }
    struct epoll_event dev = {.events = EPOLLIN, .data.fd = io->dtls_fd};
    if (io->dtls_fd >= 0 && io->dtls_fd != io->fd &&
        epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->dtls_fd, &dev) < 0) {
        e = io_errno(errno);
        goto fail;
    }
    if (cfg.dtls && (e = io_dtls_setup(io, cfg.dtls)) < 0) goto fail;

    /* The engine, with the kernel's random source unless one is given. */
    tern_endpoint_config ecfg;
    tern_endpoint_config_default(&ecfg);
    if ((e = tern_base_config_load(&ecfg, sizeof ecfg, cfg.endpoint, sizeof(uint32_t) + 1)) < 0)
        goto fail;
    if (!ecfg.random) ecfg.random = io_random;
    tern_engine_config gcfg;
    tern_engine_config_default(&gcfg);
    gcfg.endpoint = &ecfg;
    gcfg.server = cfg.server;
    gcfg.client = cfg.client;
    gcfg.trace = cfg.trace;
    gcfg.trace_ctx = cfg.trace_ctx;
    if ((e = tern_engine_new(&io->eng, &gcfg)) < 0) goto fail;
    io->icmp_trace = cfg.icmp_trace;
    io->trace_ctx = cfg.trace_ctx;
    io->no_group_requests = cfg.no_group_requests;
    if (cfg.proxy) {
        /* The proxy is named by its scheme, host and port only. */
        tern_uri u;
        if ((e = tern_io_uri_peer(io, cfg.proxy, &u, &io->proxy)) < 0) goto fail;
        if (u.n_path || u.n_query) {
            e = TERN_E_URI;
            goto fail;
        }
        io->proxied = true;
    }
    *out = io;
    return 0;

fail:
    tern_io_free(io);
    return e;
}

void tern_io_set_trace(tern_io *io, tern_trace_fn fn, void *ctx) {
    if (!io) return;
    io->trace_ctx = ctx; /* icmp_trace shares it */
    tern_engine_set_trace(io->eng, fn, ctx);
}

const tern_addr *tern_iop_proxy(const tern_io *io) { return io->proxied ? &io->proxy : NULL; }

void tern_io_free(tern_io *io) {
    if (!io) return;
    /* close_notify to every session, while the sockets are open */
    tern_dtls_free(io->dtls_srv);
    tern_dtls_free(io->dtls_cli);
    if (io->dtls_fd >= 0 && io->dtls_fd != io->fd) close(io->dtls_fd);
    tern_engine_free(io->eng);
    if (io->sigfd >= 0) close(io->sigfd);
    if (io->epfd >= 0) close(io->epfd);
    if (io->fd >= 0) close(io->fd);
    free(io);
}

tern_engine *tern_io_engine(tern_io *io) { return io->eng; }
tern_endpoint *tern_io_endpoint(tern_io *io) { return tern_engine_endpoint(io->eng); }
tern_server *tern_io_server(tern_io *io) { return tern_engine_server(io->eng, NULL); }
tern_client *tern_io_client(tern_io *io) { return tern_engine_client(io->eng, NULL); }

uint16_t tern_io_port(const tern_io *io) { return io->port; }
int tern_io_fd(const tern_io *io) { return io->epfd; }
void tern_io_stop(tern_io *io) { io->stopped = true; }
bool tern_io_stopped(const tern_io *io) { return io->stopped; }

int tern_io_join(tern_io *io, const char *group, const char *iface) {
    if (!io || !group) return TERN_E_INVAL;
    return tern_iop_join(io->fd, io->family, group, iface);
}

bool tern_io_addr_is_group(tern_io *io, const tern_addr *addr) {
    return io && addr && tern_iop_addr_is_group(&io->nets, addr, tern_io_now());
}

int tern_io_catch_signals(tern_io *io) {
    if (io->sigfd >= 0) return 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return TERN_E_SYSTEM;
    io->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (io->sigfd < 0) return TERN_E_SYSTEM;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = io->sigfd};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->sigfd, &ev) < 0) return TERN_E_SYSTEM;
    return 0;
}

/* ---- addresses ------------------------------------------------------------ */

int tern_io_resolve(tern_io *io, const char *host, uint16_t port, tern_addr *out) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = io->family == AF_INET ? AF_INET : AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_ADDRCONFIG;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME || rc == EAI_NODATA) {
        /* AI_ADDRCONFIG hides loopback-only setups; ask once more without. */
        hints.ai_flags = 0;
        rc = getaddrinfo(host, NULL, &hints, &res);
    }
    if (rc != 0 || !res) return rc == EAI_SYSTEM ? TERN_E_SYSTEM : TERN_E_NOTFOUND;
    int err = TERN_E_NOTFOUND;
    for (struct addrinfo *ai = res; ai && err; ai = ai->ai_next) {
        if (tern_iop_addr_from_sockaddr(ai->ai_addr, io->family, out) == 0) {
            tern_iop_addr_set_port(out, port);
            err = 0;
        }
    }
    freeaddrinfo(res);
    return err;
}

int tern_io_addr_format(const tern_addr *addr, char *out, size_t cap) {
    return tern_iop_addr_format(addr, out, cap);
}

/* ---- the loop ------------------------------------------------------------- */

/* The engine's deadline, or a DTLS session's (a handshake to retransmit,
 * an idle session to close) when sooner. */
static uint64_t io_next_deadline(const tern_io *io, uint64_t now) {
    uint64_t d = tern_engine_next_deadline(io->eng);
    uint64_t s = tern_dtls_next_deadline(io->dtls_srv, now);
    uint64_t c = tern_dtls_next_deadline(io->dtls_cli, now);
    if (s < d) d = s;
    return c < d ? c : d;
}

int tern_io_timeout_ms(tern_io *io) {
    uint64_t now = tern_io_now();
    uint64_t d = io_next_deadline(io, now);
    int wait = -1;
    if (d != UINT64_MAX) wait = d <= now ? 0 : d - now > INT32_MAX ? INT32_MAX : (int)(d - now);
    for (size_t i = 0; i < io->n_sources; i++) {
        int t = io->sources[i].timeout_ms ? io->sources[i].timeout_ms(io->sources[i].ctx) : -1;
        if (t >= 0 && (wait < 0 || t < wait)) wait = t;
    }
    return wait;
}

int tern_io_add_source(tern_io *io, const tern_io_source *src) {
    if (src == NULL || src->fd < 0 || src->step == NULL) return TERN_E_INVAL;
    if (io->n_sources == TERN_IO_MAX_SOURCES) return TERN_E_FULL;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = src->fd};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, src->fd, &ev) < 0) return TERN_E_SYSTEM;
    io->sources[io->n_sources++] = *src;
    return 0;
}

/* Step the sources that have work: input (ready[i]) or a deadline run out. */
static void io_step_sources(tern_io *io, const bool *ready) {
    for (size_t i = 0; i < io->n_sources; i++) {
        const tern_io_source *src = &io->sources[i];
        if (ready[i] || (src->timeout_ms && src->timeout_ms(src->ctx) == 0)) src->step(src->ctx);
    }
}

/* Run the engine's timers when due: after every batch of datagrams (so that
 * what a callback asked for goes out in the same round) and after a wait. */
static void io_run_due(tern_io *io) {
    uint64_t now = tern_io_now();
    if (tern_engine_next_deadline(io->eng) <= now) tern_engine_tick(io->eng, now);
    /* A tick does only what is due: no scan for the deadline first. */
    tern_dtls_tick(io->dtls_srv, now);
    tern_dtls_tick(io->dtls_cli, now);
}

/* ICMP Destination Unreachable, but not "fragmentation needed" (that is
 * path MTU discovery, RFC 1191: the destination exists). */
static bool io_err_unreachable(const struct sock_extended_err *ee) {
    if (ee->ee_origin == SO_EE_ORIGIN_ICMP)
        return ee->ee_type == ICMP_DEST_UNREACH && ee->ee_code != ICMP_FRAG_NEEDED;
    if (ee->ee_origin == SO_EE_ORIGIN_ICMP6) return ee->ee_type == ICMP6_DST_UNREACH;
    return false;
}

/* Drain the socket's error queue (MSG_ERRQUEUE): an entry left there keeps
 * epoll reporting EPOLLERR, which would spin the loop. At most
 * IO_ERR_ROUNDS per step; epoll reports the rest next time. */
static void io_read_errors(tern_io *io, int fd) {
    for (int round = 0; round < IO_ERR_ROUNDS; round++) {
        struct sockaddr_storage to;
        uint8_t quoted[64]; /* the start of the failed datagram, as quoted */
        union {
            uint8_t buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
                                   sizeof(struct sockaddr_in6)) + 64];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {.iov_base = quoted, .iov_len = sizeof quoted};
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        memset(&to, 0, sizeof to);
        mh.msg_name = &to;
        mh.msg_namelen = sizeof to;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof ctl.buf;
        ssize_t qn = recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
        if (qn < 0) {
            if (errno == EINTR) continue;
            return; /* EAGAIN: empty */
        }
        bool unreachable = false;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            bool is_err = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR);
            if (!is_err || c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err))) continue;
            struct sock_extended_err ee;
            memcpy(&ee, CMSG_DATA(c), sizeof ee);
            if (io_err_unreachable(&ee)) unreachable = true;
        }
        /* msg_name is where the failed datagram went: the peer. */
        tern_addr peer;
        if (!unreachable ||
            tern_iop_addr_from_sockaddr((const struct sockaddr *)&to, io->family, &peer) < 0)
            continue;
        /* An error on the coaps socket, or quoting DTLS, quotes ciphertext:
         * nothing the engine could match. The session's own timers end it. */
        if (fd == io->dtls_fd || tern_dtls_is_record(quoted, (size_t)qn)) continue;
        /* The data is what the ICMP message quoted of our datagram (the
         * UDP payload, as far as it goes): the engine ends only the
         * exchange it names (RFC 8085 5.2; a forgery quoting no CoAP ends
         * nothing). */
        int how = tern_engine_unreachable(io->eng, &peer, quoted, (size_t)qn, tern_io_now());
        if (io->icmp_trace) io->icmp_trace(io->trace_ctx, &peer, quoted, (size_t)qn, how);
    }
}

static int io_flush(tern_io *io);

/* Read until the socket is empty or IO_RX_ROUNDS batches were taken, so that
 * timers still run under a flood. Each batch's answers go out before the
 * next batch is read, so the outbox holds one batch's worth at most. */
/* The receive headers, ready for recvmmsg. */
static void io_rx_init(tern_io *io) {
    memset(io->rx_msgs, 0, sizeof io->rx_msgs);
    for (int i = 0; i < IO_BATCH; i++) {
        io->rx_iov[i].iov_base = io->rx[i];
        io->rx_iov[i].iov_len = sizeof io->rx[i];
        io->rx_msgs[i].msg_hdr.msg_iov = &io->rx_iov[i];
        io->rx_msgs[i].msg_hdr.msg_iovlen = 1;
        io->rx_msgs[i].msg_hdr.msg_name = &io->rx_from[i];
        io->rx_msgs[i].msg_hdr.msg_namelen = sizeof io->rx_from[i];
        io->rx_msgs[i].msg_hdr.msg_control = io->cmsg[i];
        io->rx_msgs[i].msg_hdr.msg_controllen = sizeof io->cmsg[i];
    }
}

/* fd is io->fd (CoAP, and the DTLS of sessions this side opened) or
 * io->dtls_fd (a server's coaps socket: DTLS only). */
static int io_receive(tern_io *io, int fd) {
    struct mmsghdr *msgs = io->rx_msgs;
    struct sockaddr_storage *from = io->rx_from;
    for (int round = 0; round < IO_RX_ROUNDS; round++) {
        int n = recvmmsg(fd, msgs, IO_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
            /* Only a broken call is fatal. Anything else is the pending
             * error of an ICMP message (ECONNREFUSED, EHOSTUNREACH,
             * EMSGSIZE, EPROTO, ...), reported once here and in full on the
             * error queue: read that, then go on reading datagrams. */
            if (errno == EBADF || errno == EFAULT || errno == EINVAL || errno == ENOTSOCK)
                return TERN_E_SYSTEM;
            io_read_errors(io, fd);
            continue;
        }
        uint64_t now = tern_io_now();
        for (int i = 0; i < n; i++) {
            tern_addr peer;
            if (tern_iop_addr_from_sockaddr((struct sockaddr *)&from[i], io->family, &peer) < 0)
                continue;
            /* A datagram cut by MSG_TRUNC is larger than tern accepts; the
             * endpoint sees it whole-or-not, never a silent prefix. */
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
            if (fd == io->dtls_fd) {
                tern_dtls_input(io->dtls_srv, &peer, io->rx[i], msgs[i].msg_len, now);
                continue;
            }
            if (io->dtls_cli && tern_dtls_is_record(io->rx[i], msgs[i].msg_len)) {
                tern_dtls_input(io->dtls_cli, &peer, io->rx[i], msgs[i].msg_len, now);
                continue;
            }
            /* RFC 7252 section 8: a request to a group address is answered
             * differently (the endpoint's TERN_RX_MULTICAST). */
            unsigned flags = !io->unicast_bound &&
                                     tern_iop_came_to_group(&io->nets, &msgs[i].msg_hdr, now)
                                 ? TERN_RX_MULTICAST
                                 : 0;
            if (flags && io->no_group_requests) continue; /* another socket answers it */
            tern_engine_recv_flags(io->eng, &peer, io->rx[i], msgs[i].msg_len, now, flags);
        }
        for (int i = 0; i < n; i++) { /* what the kernel wrote, back to the full sizes */
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            msgs[i].msg_hdr.msg_controllen = sizeof io->cmsg[i];
        }
        io_run_due(io);
        io_flush(io);
        if (n < IO_BATCH) return 0;
    }
    return 0;
}

/* A datagram to a coaps peer goes through its session: a server's own
 * (accepted on dtls_fd) or one this side opens (over fd). */
static void io_dtls_write(tern_io *io, const tern_datagram *dg) {
    tern_addr plain = *dg->peer;
    tern_iop_addr_unmark(&plain);
    uint64_t now = tern_io_now();
    int rc = TERN_E_NOTFOUND;
    if (io->dtls_srv) rc = tern_dtls_write(io->dtls_srv, &plain, dg->data, dg->len, now);
    if (rc == TERN_E_NOTFOUND && io->dtls_cli)
        rc = tern_dtls_write(io->dtls_cli, &plain, dg->data, dg->len, now);
    (void)rc; /* lost, as on the network: CONs are retransmitted */
}

/* Hand the engine's outbox to the kernel, IO_BATCH datagrams per sendmmsg,
 * from where they lie: the iovecs point into the outbox. */
static int io_flush(tern_io *io) {
    struct mmsghdr msgs[IO_BATCH];
    struct iovec iov[IO_BATCH];
    tern_datagram dg[IO_BATCH];
    for (;;) {
        size_t n = tern_engine_outgoing(io->eng, dg, IO_BATCH);
        if (n == 0) return 0;
        size_t plain = 0;
        memset(msgs, 0, n * sizeof msgs[0]);
        bool dtls = io->dtls_srv || io->dtls_cli; /* else no peer is marked */
        for (size_t i = 0; i < n; i++) {
            if (dtls && tern_iop_addr_is_secure(dg[i].peer)) {
                io_dtls_write(io, &dg[i]);
                continue;
            }
            size_t k = plain++;
            iov[k].iov_base = (void *)(uintptr_t)dg[i].data;
            iov[k].iov_len = dg[i].len;
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
            msgs[k].msg_hdr.msg_name = (void *)(uintptr_t)dg[i].peer->bytes;
            msgs[k].msg_hdr.msg_namelen = dg[i].peer->len;
        }
        size_t sent = 0;
        bool retried = false;
        while (sent < plain) {
            int r = sendmmsg(io->fd, msgs + sent, (unsigned)(plain - sent), 0);
            if (r < 0) {
                if (errno == EINTR) continue;
                /* The pending error of an earlier ICMP message (another
                 * peer's) fails the next send once; the call consumed it,
                 * so this datagram goes again. */
                if (io_pending_icmp_error(errno) && !retried) {
                    retried = true;
                    continue;
                }
                /* A full socket buffer or an unreachable peer loses this
                 * datagram, as the network might: CONs are retransmitted. */
                sent++;
                retried = false;
                continue;
            }
            sent += (size_t)r;
            retried = false;
        }
        tern_engine_sent(io->eng, n);
        if (n < IO_BATCH) return 0;
    }
}

static void io_read_signals(tern_io *io) {
    struct signalfd_siginfo si;
    while (read(io->sigfd, &si, sizeof si) == (ssize_t)sizeof si) io->stopped = true;
}

int tern_io_step(tern_io *io, int timeout_ms) {
    /* Output queued by application code between steps (a notification after
     * a state change) goes out before sleeping. */
    io_flush(io);
    int wait = tern_io_timeout_ms(io);
    if (timeout_ms >= 0 && (wait < 0 || timeout_ms < wait)) wait = timeout_ms;

    struct epoll_event evs[4];
    int n = epoll_wait(io->epfd, evs, 4, wait);
    if (n < 0 && errno != EINTR) return TERN_E_SYSTEM;
    int rc = 0;
    bool ready[TERN_IO_MAX_SOURCES] = {false};
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < io->n_sources; k++)
            if (evs[i].data.fd == io->sources[k].fd) ready[k] = true;
        if (evs[i].data.fd == io->fd || evs[i].data.fd == io->dtls_fd) {
            /* Datagrams first: an answer that arrived before the ICMP error
             * is not lost to it. */
            int fd = evs[i].data.fd;
            if (evs[i].events & EPOLLIN) rc = io_receive(io, fd);
            if (evs[i].events & EPOLLERR) io_read_errors(io, fd);
        } else if (evs[i].data.fd == io->sigfd) {
            io_read_signals(io);
        }
    }
    io_step_sources(io, ready);
    io_run_due(io);
    io_flush(io);
    return rc;
}

int tern_io_run(tern_io *io) {
    while (!io->stopped) {
        int rc = tern_io_step(io, -1);
        if (rc < 0) return rc;
    }
    io_flush(io);
    return 0;
}
