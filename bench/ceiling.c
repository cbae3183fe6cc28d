/* SPDX-License-Identifier: BSD-2-Clause */
/* ceiling.c - the "ceiling" CoAP server tern-bench's figures are compared
 * with: the least a UDP server can do per request and still speak CoAP
 * (RFC 7252), so that what a real server achieves reads as a fraction of
 * what this machine's kernel and loopback allow.
 *
 * One socket, one thread, datagrams in batches (recvmmsg, sendmmsg). Each
 * request gets a fixed answer, built by hand without a parser or a library:
 *   CON -> ACK 2.05, the request's MID and token, payload "OFF";
 *   NON -> NON 2.05, the token, a MID of our own, payload "OFF";
 *   a PUT is answered 2.04 (no payload) instead;
 *   an Empty CON (a ping, section 4.3) -> RST; anything else is dropped.
 * Minimal Observe (RFC 7641): a GET with Observe: 0 registers (address,
 * token) in a flat array of -o N entries and is answered with Observe: 0;
 * once the array is full it is answered as a plain GET (section 4.1). A PUT,
 * once answered, sends one notification to every registered observer: NON
 * 2.05, Observe: the next sequence number, payload the PUT's payload.
 * Not implemented, on purpose: deduplication, deregistration, removing
 * observers that are gone, Block-wise, anything else of a real server.
 *
 *   ceiling -p PORT [-b ADDR] [-o N]    prints "listening on PORT" (the real
 *                                       port when PORT is 0) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define NOTIFY_BATCH 512
#define RX_MAX 1500
#define OPT_OBSERVE 6

typedef union peer {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
} peer;

typedef struct observer {
    peer addr;
    socklen_t addr_len;
    uint8_t tkl;
    uint8_t token[8];
} observer;

static observer *observers;
static uint32_t n_observers, max_observers = 200000;
static uint32_t obs_seq;  /* 24-bit Observe sequence number */
static uint16_t next_mid; /* MIDs of our NON messages */

/* What ceiling needs of a request: type, code, MID, token, the Observe
 * option (present, value) and the payload. false if it is not CoAP. */
typedef struct req {
    uint8_t type, code, tkl;
    uint16_t mid;
    const uint8_t *token;
    bool has_observe;
    uint32_t observe;
    const uint8_t *payload;
    size_t payload_len;
} req;

static bool opt_ext(const uint8_t **p, const uint8_t *end, unsigned nib, unsigned *out) {
    if (nib < 13) *out = nib;
    else if (nib == 13 && *p + 1 <= end) *out = 13u + *(*p)++;
    else if (nib == 14 && *p + 2 <= end) {
        *out = 269u + ((unsigned)(*p)[0] << 8 | (*p)[1]);
        *p += 2;
    } else return false;
    return true;
}

static bool parse(const uint8_t *b, size_t len, req *r) {
    if (len < 4 || b[0] >> 6 != 1) return false;
    memset(r, 0, sizeof *r);
    r->type = (uint8_t)(b[0] >> 4 & 3);
    r->tkl = b[0] & 15;
    r->code = b[1];
    r->mid = (uint16_t)(b[2] << 8 | b[3]);
    if (r->tkl > 8 || len < 4u + r->tkl) return false;
    r->token = b + 4;
    const uint8_t *p = b + 4 + r->tkl, *end = b + len;
    unsigned num = 0;
    while (p < end) {
        if (*p == 0xFF) {
            if (p + 1 == end) return false;
            r->payload = p + 1;
            r->payload_len = (size_t)(end - p - 1);
            break;
        }
        unsigned delta, olen, h = *p++;
        if (!opt_ext(&p, end, h >> 4, &delta) || !opt_ext(&p, end, h & 15, &olen)) return false;
        if ((size_t)(end - p) < olen) return false;
        num += delta;
        if (num == OPT_OBSERVE && olen <= 3) {
            r->has_observe = true;
            r->observe = 0;
            for (unsigned i = 0; i < olen; i++) r->observe = r->observe << 8 | p[i];
        }
        p += olen;
    }
    return true;
}

/* Header, token, an optional Observe option (minimal length, section 3.2),
 * payload. Returns the length. */
static size_t build(uint8_t *out, uint8_t type, uint8_t code, uint16_t mid, const uint8_t *tok,
                    uint8_t tkl, bool observe, uint32_t seq, const uint8_t *pl, size_t pl_len) {
    size_t n = 0;
    out[n++] = (uint8_t)(0x40 | type << 4 | tkl);
    out[n++] = code;
    out[n++] = (uint8_t)(mid >> 8);
    out[n++] = (uint8_t)mid;
    memcpy(out + n, tok, tkl);
    n += tkl;
    if (observe) {
        uint8_t olen = seq == 0 ? 0 : seq < 0x100 ? 1 : seq < 0x10000 ? 2 : 3;
        out[n++] = (uint8_t)(OPT_OBSERVE << 4 | olen);
        for (int i = olen - 1; i >= 0; i--) out[n++] = (uint8_t)(seq >> (8 * i));
    }
    if (pl_len) {
        out[n++] = 0xFF;
        memcpy(out + n, pl, pl_len);
        n += pl_len;
    }
    return n;
}

static void send_all(int fd, struct mmsghdr *m, unsigned n) {
    unsigned off = 0;
    while (off < n) {
        int r = sendmmsg(fd, m + off, n - off, 0);
        if (r > 0) off += (unsigned)r;
        else if (r < 0 && errno == EINTR) continue;
        else off++; /* a datagram the kernel refuses is lost, like on a network */
    }
}

/* One NON 2.05 to every observer, NOTIFY_BATCH at a time. */
static void notify(int fd, const uint8_t *pl, size_t pl_len) {
    static uint8_t body[RX_MAX + 1];
    static uint8_t head[NOTIFY_BATCH][4 + 8 + 4];
    static struct iovec iov[NOTIFY_BATCH][2];
    static struct mmsghdr m[NOTIFY_BATCH];
    if (pl_len > RX_MAX) pl_len = RX_MAX;
    body[0] = 0xFF;
    memcpy(body + 1, pl, pl_len);
    obs_seq = (obs_seq + 1) & 0xFFFFFF;
    unsigned n = 0;
    for (uint32_t i = 0; i < n_observers; i++) {
        const observer *o = &observers[i];
        size_t hl = build(head[n], 1, 0x45, next_mid++, o->token, o->tkl, true, obs_seq, NULL, 0);
        iov[n][0] = (struct iovec){head[n], hl};
        iov[n][1] = (struct iovec){body, pl_len + 1};
        m[n].msg_hdr = (struct msghdr){.msg_name = (void *)&o->addr, .msg_namelen = o->addr_len,
                                       .msg_iov = iov[n], .msg_iovlen = pl_len ? 2 : 1};
        if (++n == NOTIFY_BATCH) {
            send_all(fd, m, n);
            n = 0;
        }
    }
    send_all(fd, m, n);
}

static const uint8_t off_payload[] = "OFF";

static int serve(int fd) {
    static uint8_t in[BATCH][RX_MAX], out[BATCH][4 + 8 + 4 + 1 + 3];
    static peer from[BATCH];
    static struct iovec in_iov[BATCH], out_iov[BATCH];
    static struct mmsghdr in_m[BATCH], out_m[BATCH];
    for (unsigned i = 0; i < BATCH; i++) {
        in_iov[i] = (struct iovec){in[i], RX_MAX};
        out_iov[i].iov_base = out[i];
        out_m[i].msg_hdr.msg_iov = &out_iov[i];
        out_m[i].msg_hdr.msg_iovlen = 1;
    }
    for (;;) {
        for (unsigned i = 0; i < BATCH; i++)
            in_m[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                              .msg_iov = &in_iov[i], .msg_iovlen = 1};
        int n = recvmmsg(fd, in_m, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR || errno == ECONNREFUSED) continue;
            perror("ceiling: recvmmsg");
            return 1;
        }
        unsigned o = 0;
        for (int i = 0; i < n; i++) {
            req r;
            if (!parse(in[i], in_m[i].msg_len, &r) || r.type > 1) continue; /* CON and NON only */
            size_t len;
            bool put = r.code == 0x03, reg = false;
            if (r.code == 0) {
                if (r.type != 0) continue;
                len = build(out[o], 3, 0, r.mid, NULL, 0, false, 0, NULL, 0); /* ping: RST */
            } else if (r.code >> 5 != 0) {
                continue; /* not a request */
            } else {
                if (r.code == 0x01 && r.has_observe && r.observe == 0 &&
                    n_observers < max_observers) {
                    observer *ob = &observers[n_observers++];
                    memcpy(&ob->addr, &from[i], in_m[i].msg_hdr.msg_namelen);
                    ob->addr_len = in_m[i].msg_hdr.msg_namelen;
                    ob->tkl = r.tkl;
                    memcpy(ob->token, r.token, r.tkl);
                    reg = true;
                }
                uint8_t type = r.type == 0 ? 2 : 1; /* CON -> ACK, NON -> NON */
                uint16_t mid = r.type == 0 ? r.mid : next_mid++;
                len = build(out[o], type, put ? 0x44 : 0x45, mid, r.token, r.tkl, reg, 0,
                            put ? NULL : off_payload, put ? 0 : 3);
            }
            out_iov[o].iov_len = len;
            out_m[o].msg_hdr.msg_name = &from[i];
            out_m[o].msg_hdr.msg_namelen = in_m[i].msg_hdr.msg_namelen;
            o++;
            if (put && n_observers) { /* answer first, then tell everyone */
                send_all(fd, out_m, o);
                o = 0;
                notify(fd, r.payload, r.payload ? r.payload_len : 0);
            }
        }
        send_all(fd, out_m, o);
    }
}

static int usage(void) {
    fprintf(stderr, "Usage: ceiling -p PORT [-b ADDR] [-o MAX_OBSERVERS]\n"
                    "A minimal CoAP server (bench/ceiling.c): the reference for tern-bench.\n"
                    "  -p PORT  UDP port (0: the kernel picks one; printed)\n"
                    "  -b ADDR  address to bind (default ::, every IPv6 and IPv4 address)\n"
                    "  -o N     observers at most (default 200000)\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *addr = NULL, *port = NULL;
    int c;
    while ((c = getopt(argc, argv, "p:b:o:h")) != -1) {
        char *end;
        switch (c) {
        case 'p': port = optarg; break;
        case 'b': addr = optarg; break;
        case 'o':
            max_observers = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || max_observers > 100000000) return usage();
            break;
        default: return usage();
        }
    }
    if (!port || optind != argc) return usage();
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(addr ? addr : "::", port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "ceiling: bad address or port: %s\n", gai_strerror(rc));
        return 2;
    }
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && !addr) { /* no IPv6 here: every IPv4 address */
        freeaddrinfo(res);
        if ((rc = getaddrinfo("0.0.0.0", port, &hints, &res)) != 0) {
            fprintf(stderr, "ceiling: %s\n", gai_strerror(rc));
            return 2;
        }
        fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    int zero = 0, big = 8 << 20;
    if (fd >= 0 && res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    /* Room for bursts: beyond net.core.rmem_max only with CAP_NET_ADMIN. */
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
        perror("ceiling: bind");
        return 1;
    }
    freeaddrinfo(res);
    observers = calloc(max_observers ? max_observers : 1, sizeof *observers);
    if (!observers) {
        fprintf(stderr, "ceiling: out of memory\n");
        return 1;
    }
    peer self;
    socklen_t sl = sizeof self;
    getsockname(fd, &self.sa, &sl);
    printf("listening on %u\n",
           ntohs(self.sa.sa_family == AF_INET6 ? self.v6.sin6_port : self.v4.sin_port));
    fflush(stdout);
    return serve(fd);
}
