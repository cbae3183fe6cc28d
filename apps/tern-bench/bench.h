/* SPDX-License-Identifier: BSD-2-Clause */
/* bench.h - the pieces of tern-bench, a CoAP (RFC 7252) load generator,
 * shared by its files:
 *
 *   main.c     options, usage, exit status
 *   net.c      sockets, the file descriptor limit, batched send and receive
 *              (sendmmsg / recvmmsg), the clock, random numbers
 *   wire.c     the request template patched per request (MID and token),
 *              the RFC 7252 section 4.2 retransmission schedule
 *   hist.c     the latency histogram (64 buckets per power of two)
 *   load.c     request/response load: a window of requests in flight
 *   observe.c  Observe (RFC 7641) fan-out: N observers, one PUT, time until
 *              every observer heard of it
 *   report.c   what tern-bench prints: text, --json, the progress line
 *
 * tern-bench uses the library's codec (tern_msgb to build the template once,
 * tern_msg_parse on answers) and owns its sockets and loop: the per-request
 * cost of tern_io / tern_client is not what it should measure. */
#ifndef TERN_BENCH_H
#define TERN_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tern/msg.h"
#include "tern/uri.h"

/* Exit status, documented in --help and tern-bench(1). */
enum {
    BENCH_EXIT_OK = 0,      /* the run completed (timeouts are reported, not failures) */
    BENCH_EXIT_SILENT = 1,  /* nothing answered at all */
    BENCH_EXIT_USAGE = 2    /* bad usage, or the system refused (sockets, memory, fds) */
};

#define BENCH_WINDOW_MAX 4096u
#define BENCH_TOKEN_LEN 4 /* every token tern-bench sends: 32 bits, see wire.c */

/* RFC 7252 section 4.8 defaults: CON retransmission (section 4.2). */
#define BENCH_ACK_TIMEOUT_MS 2000u
#define BENCH_MAX_RETRANSMIT 4u

/* ---- options (main.c) -------------------------------------------------------- */

typedef struct bench_opts {
    const char *uri_text;
    tern_uri uri;
    struct sockaddr_storage addr; /* the server, resolved */
    socklen_t addr_len;
    uint8_t method;               /* TERN_CODE_GET ... */
    bool non;                     /* -N: NON requests */
    const uint8_t *payload;       /* -p / -f, or NULL */
    size_t payload_len;
    long content_format;          /* -c, or -1 */
    uint32_t window;              /* -w: requests in flight, 1..4096 */
    uint32_t sockets;             /* -s: client sockets, 1..window */
    uint64_t duration_ms;         /* -d; 0 with -n alone */
    uint64_t count;               /* -n; 0: by duration */
    uint32_t timeout_ms;          /* --timeout */
    bool json;                    /* --json */
    bool progress;                /* a progress line each second (stderr is a tty) */
    bool gso;                     /* --gso: batches as UDP GSO trains where possible */
    /* --observe */
    uint32_t observers;           /* 0: load mode */
    uint32_t tokens_per_socket;   /* -t */
    const char *put_value;        /* --put-value */
    uint32_t rounds;              /* --rounds */
    long server_pid;              /* --server-pid, or 0 */
    uint16_t put_port;            /* --put-port: the PUT to another port of the host, or 0 */
    uint16_t spread_ports[8];     /* --spread: observer socket k to port k % n, or none */
    uint32_t n_spread;
} bench_opts;

/* ---- clock, random numbers, signals (net.c) ------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);
/* xorshift64*, seeded from getrandom(2) at first use. Not for secrets. */
uint64_t bench_rand(void);
/* SIGINT / SIGTERM set a flag instead of killing: the first one ends the
 * run early with a report, the second one ends it at once. */
void bench_catch_signals(void);
unsigned bench_signals(void);

/* ---- sockets and batches (net.c) ------------------------------------------ */

/* Raise the soft RLIMIT_NOFILE to the hard limit; the soft limit after it. */
uint64_t bench_raise_nofile(uint64_t *hard);
/* A non-blocking UDP socket connected to the server (so that it receives
 * only the server's datagrams, and ICMP errors come back as ECONNREFUSED);
 * rcvbuf > 0 asks for that receive and send buffer size. -1 with errno. */
int bench_socket_open(const bench_opts *o, int rcvbuf);
/* epoll_wait on ep until due (bench_now_ns time; at once when past) for at
 * most max events: their count, or -1 after saying why. */
struct epoll_event;
int bench_wait(int ep, uint64_t due, struct epoll_event *evs, int max);

#define BENCH_BATCH 64         /* datagrams per sendmmsg / recvmmsg */
#define BENCH_RX_MAX 2048      /* largest answer read whole */
#define BENCH_TX_SMALL 128     /* requests up to this size are copied whole */

/* Outgoing datagrams, gathered per socket: adding one for another socket
 * (or to a full batch) sends what was gathered first. A batch of datagrams
 * of one size goes out as one UDP GSO send (UDP_SEGMENT) when gso is set
 * and the kernel takes it, else through sendmmsg. */
typedef struct bench_tx {
    int fd;
    unsigned n;
    size_t used;           /* bytes of buf taken by this batch */
    size_t same_len;       /* the length of every datagram in the batch, or 0 */
    bool gso;              /* try UDP_SEGMENT (cleared when the kernel refuses it) */
    uint64_t sent;         /* datagrams handed to the kernel */
    uint64_t gso_sends;    /* batches sent as one GSO datagram train */
    uint64_t icmp_errors;  /* ECONNREFUSED: an ICMP error came back */
    uint64_t send_errors;  /* datagrams the kernel refused (ENOBUFS, EAGAIN, ...) */
    struct mmsghdr msg[BENCH_BATCH];
    struct iovec iov[BENCH_BATCH][2];
    uint8_t buf[BENCH_BATCH * BENCH_TX_SMALL];
} bench_tx;

typedef struct bench_tmpl bench_tmpl;
/* gso: whether to try UDP GSO. */
void bench_tx_init(bench_tx *tx, bool gso);
/* A request from template t with this MID and token. */
void bench_tx_request(bench_tx *tx, int fd, const bench_tmpl *t, uint16_t mid, uint32_t token);
/* An Empty ACK or RST (section 4.2, 4.3) for mid. */
void bench_tx_empty(bench_tx *tx, int fd, tern_type type, uint16_t mid);
void bench_tx_flush(bench_tx *tx);

typedef struct bench_rx {
    uint64_t icmp_errors;
    uint64_t truncated;     /* answers longer than BENCH_RX_MAX */
    struct mmsghdr msg[BENCH_BATCH];
    struct iovec iov[BENCH_BATCH];
    uint8_t buf[BENCH_BATCH][BENCH_RX_MAX];
} bench_rx;

void bench_rx_init(bench_rx *rx);
/* Read up to BENCH_BATCH datagrams from fd without waiting: their number
 * (0 when there is none); rx->msg[i].msg_len and rx->buf[i] hold them. An
 * ICMP error is counted and reading goes on; -1 on another error. */
int bench_rx_recv(bench_rx *rx, int fd);

/* The machine's UDP receive-buffer drops so far (/proc/net/snmp Udp
 * RcvbufErrors), or -1 where it cannot be read. */
long long bench_udp_drops(void);
/* A process's VmRSS in bytes (/proc/PID/status), or -1. */
long long bench_rss_bytes(long pid);

/* ---- requests on the wire (wire.c) --------------------------------------- */

/* The bytes of one request with MID 0 and a zero token of BENCH_TOKEN_LEN
 * bytes, built once: sending patches bytes 2-3 (MID) and 4-7 (token). */
struct bench_tmpl {
    uint8_t *bytes;
    size_t len;
};

/* Build the request for o's URI: type, code, payload (may be NULL), with
 * Observe: 0 when observe. 0, or a negative TERN_E_* after saying why. */
/* Like bench_socket_open, to port instead of the server's (0: the server's). */
int bench_socket_open_port(const bench_opts *o, int rcvbuf, uint16_t port);
int bench_tmpl_build(bench_tmpl *t, const bench_opts *o, tern_type type, uint8_t code,
                     const uint8_t *payload, size_t len, bool observe);
void bench_tmpl_free(bench_tmpl *t);

/* Tokens: 32 bits that name a slot, XORed with a per-run salt so that an
 * answer meant for another run (or another program) is not taken for one
 * of ours. */
void bench_token_salt_init(void);
uint32_t bench_token_encode(uint32_t value);
/* false when the token is not BENCH_TOKEN_LEN bytes long. */
bool bench_token_decode(const tern_msg *m, uint32_t *value);

/* Section 4.2: the first timeout of a CON, ACK_TIMEOUT times a random
 * factor in [1, ACK_RANDOM_FACTOR = 1.5), in milliseconds. */
uint32_t bench_ack_timeout_ms(void);

/* ---- the latency histogram (hist.c) ---------------------------------------- */

#define BENCH_HIST_SUB_BITS 6 /* 64 buckets per power of two: 1.6 % resolution */
#define BENCH_HIST_BUCKETS ((64 - BENCH_HIST_SUB_BITS + 1) << BENCH_HIST_SUB_BITS)

typedef struct bench_hist {
    uint64_t n, min, max, sum; /* nanoseconds */
    uint64_t b[BENCH_HIST_BUCKETS];
} bench_hist;

void bench_hist_reset(bench_hist *h);
void bench_hist_add(bench_hist *h, uint64_t ns);
void bench_hist_merge(bench_hist *into, const bench_hist *from);
/* The value at percentile p (0..100): the upper end of the bucket the
 * p-th value fell in, never above the largest value seen; 0 when empty. */
uint64_t bench_hist_pct(const bench_hist *h, double p);

/* ---- load mode (load.c) ------------------------------------------------------ */

typedef struct bench_load_stats {
    uint64_t t_start, t_send_end, t_last_answer, t_end; /* ns */
    uint64_t requests;         /* first transmissions */
    uint64_t retransmissions;
    uint64_t answers;          /* responses matched to a request in flight */
    uint64_t codes[256];       /* answers by response code */
    uint64_t timeouts;
    uint64_t rsts;             /* requests answered with RST */
    uint64_t separate;         /* Empty ACKs announcing a separate response */
    uint64_t unmatched;        /* token or MID naming no request of ours */
    uint64_t duplicates;       /* another answer to an answered request */
    uint64_t late;             /* an answer to a request counted as a timeout */
    uint64_t malformed;        /* not CoAP (tern_msg_parse), or truncated */
    uint64_t acks_sent, rsts_sent;
    uint64_t icmp_errors, send_errors;
    uint64_t gso_sends;        /* batches sent as one UDP GSO train */
    uint64_t abandoned;        /* in flight when a second signal ended the run */
    long long udp_drops;       /* machine-wide RcvbufErrors during the run, -1: unknown */
    bench_hist lat;
} bench_load_stats;

/* Run the load; 0, or BENCH_EXIT_USAGE after saying why. */
int bench_load_run(const bench_opts *o, bench_load_stats *st);

/* ---- observe fan-out (observe.c) ------------------------------------------- */

#define BENCH_ROUNDS_MAX 1000u
#define BENCH_VALUE_MAX 64

typedef struct bench_round {
    char value[BENCH_VALUE_MAX + 1]; /* what was PUT */
    uint8_t put_code;                /* 0: no answer */
    uint64_t put_ns;                 /* PUT to its answer */
    uint64_t target;                 /* observers registered when it was PUT */
    uint64_t notified;               /* of them, notified within --timeout */
    uint64_t all_ns;                 /* PUT to the last of them, when all were; else 0 */
    uint64_t p50_ns, p99_ns, max_ns; /* PUT to each observer's notification */
} bench_round;

typedef struct bench_observe_stats {
    uint32_t sockets;
    uint64_t reg_confirmed;   /* 2.xx with Observe */
    uint64_t reg_plain;       /* 2.xx without Observe: served as a plain GET */
    uint64_t reg_failed;      /* another code, or RST */
    uint64_t reg_timeouts;
    uint64_t reg_retransmissions;
    uint64_t reg_ns;          /* first registration sent to the last answer */
    bench_hist reg_lat;
    long long rss_before, rss_after; /* --server-pid: bytes, -1 unknown */
    uint32_t n_rounds;
    bench_round *rounds;
    bench_hist arrival;       /* all rounds together */
    uint64_t notifications;   /* every notification received */
    uint64_t duplicates;      /* a second one to an observer in a round */
    uint64_t other_payload;   /* a notification whose payload is not the PUT's */
    uint64_t ended;           /* a final response ending an observation */
    uint64_t unmatched, malformed;
    uint64_t acks_sent, rsts_sent;
    uint64_t icmp_errors, send_errors, gso_sends;
    long long udp_drops;
} bench_observe_stats;

/* Run the fan-out; 0, or BENCH_EXIT_USAGE after saying why. */
int bench_observe_run(const bench_opts *o, bench_observe_stats *st);

/* ---- output (report.c) --------------------------------------------------------- */

void bench_report_load(const bench_opts *o, const bench_load_stats *st);
void bench_report_observe(const bench_opts *o, const bench_observe_stats *st);
/* The progress line: "\r..." on stderr; bench_progress_end clears it. */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_progress_end(void);
/* "GET", "PUT", ... */
const char *bench_method_name(uint8_t code);

#endif
