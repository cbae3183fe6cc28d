/* SPDX-License-Identifier: BSD-2-Clause */
/* net.c - what tern-bench asks of the operating system: connected UDP
 * sockets, datagrams in batches (sendmmsg / recvmmsg: one system call for
 * up to BENCH_BATCH datagrams), the file descriptor limit, the clock,
 * random numbers, signals, and two figures from /proc.
 *
 * Every socket is connect()ed to the server: the kernel then drops anything
 * from elsewhere, sends need no address, and an ICMP error (port
 * unreachable) comes back as ECONNREFUSED on the next call, which is
 * counted and otherwise ignored (RFC 8085 section 5.2: a hint, not a
 * verdict; the request's own timeout decides).
 *
 * Sending is sendmmsg; with --gso, a batch of datagrams of one size to one
 * socket (the usual case: requests from one template) goes out as one UDP
 * GSO send instead, the kernel walking the stack once per batch rather
 * than once per datagram. */
#include <errno.h>
#include <sys/epoll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stddef.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state;

uint64_t bench_rand(void) {
    if (rng_state == 0) {
        if (getrandom(&rng_state, sizeof rng_state, 0) != (ssize_t)sizeof rng_state)
            rng_state = bench_now_ns() ^ ((uint64_t)getpid() << 32);
        rng_state |= 1;
    }
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static volatile sig_atomic_t n_signals;

static void on_signal(int sig) {
    (void)sig;
    if (n_signals < 100) n_signals++;
}

void bench_catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

unsigned bench_signals(void) { return (unsigned)n_signals; }

uint64_t bench_raise_nofile(uint64_t *hard) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        *hard = 1024;
        return 1024;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl.rlim_cur = rl.rlim_max;
    }
    *hard = (uint64_t)rl.rlim_max;
    return (uint64_t)rl.rlim_cur;
}

/* Ask for size bytes; beyond net.core.rmem_max only with CAP_NET_ADMIN
 * (SO_*BUFFORCE), else whatever SO_*BUF grants. */
static void set_buf(int fd, int force_opt, int opt, int size) {
    if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) < 0)
        (void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

int bench_socket_open(const bench_opts *o, int rcvbuf) { return bench_socket_open_port(o, rcvbuf, 0); }

int bench_socket_open_port(const bench_opts *o, int rcvbuf, uint16_t port) {
    struct sockaddr_storage to = o->addr;
    if (port) { /* sin_port and sin6_port sit at the same offset */
        uint16_t p = htons(port);
        memcpy((uint8_t *)&to + offsetof(struct sockaddr_in, sin_port), &p, sizeof p);
    }
    int fd = socket(o->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (rcvbuf > 0) {
        set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
        set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, rcvbuf);
    }
    if (connect(fd, (const struct sockaddr *)&to, o->addr_len) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

void bench_tx_init(bench_tx *tx, bool gso) {
    memset(tx, 0, sizeof *tx);
    tx->fd = -1;
    tx->gso = gso;
    for (unsigned i = 0; i < BENCH_BATCH; i++) tx->msg[i].msg_hdr.msg_iov = tx->iov[i];
}

/* The whole batch as one UDP GSO send: the datagrams lie back to back in
 * buf, all of one size, to the one connected peer; the kernel cuts the
 * train into datagrams (on loopback at the receiving socket), so that the
 * stack is walked once per batch instead of once per datagram. The server
 * sees ordinary datagrams. true when sent (or lost like a datagram); false
 * to send through sendmmsg instead. */
static bool flush_gso(bench_tx *tx) {
    if (!tx->gso || tx->n < 2 || tx->same_len == 0) return false;
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {tx->buf, tx->used};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)tx->same_len;
    memcpy(CMSG_DATA(c), &seg, sizeof seg);
    for (int tries = 0; tries < 8; tries++) {
        if (sendmsg(tx->fd, &mh, 0) >= 0) {
            tx->sent += tx->n;
            tx->gso_sends++;
            return true;
        }
        if (errno == EINTR) continue;
        if (errno == ECONNREFUSED) {
            tx->icmp_errors++;
            continue;
        }
        break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        tx->send_errors += tx->n;
        return true;
    }
    /* No GSO here (an old kernel, a device without checksum offload: EIO,
     * EINVAL, ENOPROTOOPT): sendmmsg from now on. */
    tx->gso = false;
    return false;
}

void bench_tx_flush(bench_tx *tx) {
    if (tx->n == 0) return;
    unsigned off = 0;
    int tries = 0;
    if (flush_gso(tx)) off = tx->n;
    while (off < tx->n) {
        int r = sendmmsg(tx->fd, tx->msg + off, tx->n - off, 0);
        if (r > 0) {
            off += (unsigned)r;
            tx->sent += (unsigned)r;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        /* An ICMP error pending on the socket fails one call; the next one
         * sends. */
        if (r < 0 && errno == ECONNREFUSED && ++tries < 8) {
            tx->icmp_errors++;
            continue;
        }
        /* ENOBUFS, EAGAIN (a full send buffer) and the rest: these are lost
         * like datagrams on a network; a CON is retransmitted. */
        tx->send_errors += tx->n - off;
        break;
    }
    tx->n = 0;
    tx->used = 0;
}

/* Room for a datagram of len bytes (head bytes of it copied into buf) on
 * fd: its index in the batch. */
static unsigned tx_add(bench_tx *tx, int fd, size_t head, size_t len) {
    if (tx->n > 0 && (tx->fd != fd || tx->n == BENCH_BATCH)) bench_tx_flush(tx);
    tx->fd = fd;
    unsigned i = tx->n++;
    bool whole = head == len;
    if (i == 0) tx->same_len = whole ? len : 0;
    else if (tx->same_len != len || !whole) tx->same_len = 0;
    tx->iov[i][0].iov_base = tx->buf + tx->used;
    tx->iov[i][0].iov_len = head;
    tx->msg[i].msg_hdr.msg_iovlen = 1;
    tx->used += head;
    return i;
}

void bench_tx_request(bench_tx *tx, int fd, const bench_tmpl *t, uint16_t mid, uint32_t token) {
    /* A small request is copied whole: one iovec costs the kernel less
     * than two, and a batch of them can go as one GSO send. Of a large
     * one only the header and token are copied; the rest is sent from the
     * template itself. */
    bool small = t->len <= BENCH_TX_SMALL;
    size_t head = small ? t->len : 4 + BENCH_TOKEN_LEN;
    unsigned i = tx_add(tx, fd, head, t->len);
    uint8_t *h = tx->iov[i][0].iov_base;
    memcpy(h, t->bytes, head);
    h[2] = (uint8_t)(mid >> 8);
    h[3] = (uint8_t)mid;
    h[4] = (uint8_t)(token >> 24);
    h[5] = (uint8_t)(token >> 16);
    h[6] = (uint8_t)(token >> 8);
    h[7] = (uint8_t)token;
    if (!small) {
        tx->iov[i][1].iov_base = t->bytes + head;
        tx->iov[i][1].iov_len = t->len - head;
        tx->msg[i].msg_hdr.msg_iovlen = 2;
    }
}

void bench_tx_empty(bench_tx *tx, int fd, tern_type type, uint16_t mid) {
    unsigned i = tx_add(tx, fd, 4, 4);
    uint8_t *h = tx->iov[i][0].iov_base;
    h[0] = (uint8_t)(TERN_PROTOCOL_VERSION << 6 | (unsigned)type << 4);
    h[1] = TERN_CODE_EMPTY;
    h[2] = (uint8_t)(mid >> 8);
    h[3] = (uint8_t)mid;
}

void bench_rx_init(bench_rx *rx) {
    memset(rx, 0, sizeof *rx);
    for (unsigned i = 0; i < BENCH_BATCH; i++) {
        rx->iov[i].iov_base = rx->buf[i];
        rx->iov[i].iov_len = BENCH_RX_MAX;
        rx->msg[i].msg_hdr.msg_iov = &rx->iov[i];
        rx->msg[i].msg_hdr.msg_iovlen = 1;
    }
}

int bench_rx_recv(bench_rx *rx, int fd) {
    for (int tries = 0; tries < 64; tries++) {
        int r = recvmmsg(fd, rx->msg, BENCH_BATCH, MSG_DONTWAIT, NULL);
        if (r >= 0) return r;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        if (errno == EINTR) continue;
        if (errno == ECONNREFUSED) {
            rx->icmp_errors++;
            continue;
        }
        return -1;
    }
    return 0;
}

long long bench_udp_drops(void) {
    FILE *f = fopen("/proc/net/snmp", "r");
    if (!f) return -1;
    /* Two "Udp:" lines: the field names, then the values. */
    char names[1024], values[1024], line[1024];
    long long out = -1;
    names[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Udp:", 4) != 0) continue;
        if (names[0] == '\0') {
            memcpy(names, line, sizeof names);
            continue;
        }
        memcpy(values, line, sizeof values);
        char *ns, *vs;
        char *n = strtok_r(names, " \n", &ns), *v = strtok_r(values, " \n", &vs);
        while (n && v) {
            if (strcmp(n, "RcvbufErrors") == 0) out = strtoll(v, NULL, 10);
            n = strtok_r(NULL, " \n", &ns);
            v = strtok_r(NULL, " \n", &vs);
        }
        break;
    }
    fclose(f);
    return out;
}

long long bench_rss_bytes(long pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long long out = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            out = strtoll(line + 6, NULL, 10) * 1024; /* "VmRSS:  1234 kB" */
            break;
        }
    fclose(f);
    return out;
}

int bench_wait(int ep, uint64_t due, struct epoll_event *evs, int max) {
    uint64_t now = bench_now_ns();
    int wait_ms = now >= due ? 0 : (int)((due - now + 999999u) / 1000000u);
    int n = epoll_wait(ep, evs, max, wait_ms);
    if (n < 0 && errno != EINTR) {
        perror("tern-bench: epoll_wait");
        return -1;
    }
    return n < 0 ? 0 : n;
}
