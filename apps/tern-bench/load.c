/* SPDX-License-Identifier: BSD-2-Clause */
/* load.c - the request loop: a window of requests in flight, spread over
 * the client sockets, each answer replaced at once by the next request
 * (a closed loop, like wrk's connections).
 *
 * A window of W requests is W slots; socket k owns a run of them. A slot
 * carries one request at a time, so nothing is allocated per request:
 *   token = slot << 16 | generation (salted, wire.c): an answer finds its
 *           slot in O(1); one to the slot's previous request is a duplicate
 *           (that one was answered) or late (it timed out), one to any
 *           other generation is unmatched;
 *   MID   = the slot's index in its socket in the low bits, a counter above
 *           it: an Empty ACK or RST (which carry no token) finds its slot in
 *           O(1) too, and a MID comes back on the same socket only after
 *           about 65536 requests there, as far apart as a plain counter.
 * A piggybacked ACK must carry the request's MID as well as its token
 * (RFC 7252 section 5.3.2); an Empty ACK announces a separate response
 * (section 5.2.2), whose CON is ACKed here.
 *
 * CON requests are retransmitted on the section 4.2 schedule (ACK_TIMEOUT
 * 2 s times a random factor in [1, 1.5), doubling, MAX_RETRANSMIT 4) until
 * an ACK or the answer comes; a request counts as a timeout after
 * --timeout, or when the schedule runs out, whichever comes first. Latency
 * is measured from the first transmission. Timers are checked by walking
 * the window every 2 ms: at most 4096 slots, cheaper than any timer
 * structure at this size. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"

#define SCAN_NS 2000000u /* timer walk period */

enum { S_FREE, S_WAIT, S_SEPARATE };        /* slot state */
enum { F_NONE, F_ANSWERED, F_TIMEOUT };      /* how a generation ended */

typedef struct load_slot {
    uint64_t t_first;   /* ns: first transmission */
    uint64_t t_next;    /* ns: next retransmission; UINT64_MAX: none */
    uint64_t t_expire;  /* ns: a timeout then */
    uint32_t backoff_ms;
    uint32_t sock;
    uint16_t mid;
    uint16_t gen;       /* generation of the request in flight, or of the last one */
    uint16_t fate_gen;  /* the last generation that ended, */
    uint8_t fate;       /* and how: a later answer to it is a duplicate or late */
    uint8_t state;
    uint8_t tries;      /* retransmissions so far */
} load_slot;

typedef struct load_sock {
    int fd;
    uint32_t base, n;   /* its slots: [base, base + n) */
    uint32_t n_free;
    uint32_t *free;     /* stack of its free slots */
} load_sock;

typedef struct load_run {
    const bench_opts *o;
    bench_load_stats *st;
    load_slot *slots;
    load_sock *socks;
    uint32_t *free_store;
    uint32_t n_socks;
    uint32_t mid_mask;  /* MID bits that name the slot in its socket */
    uint32_t in_flight;
    bool sending;
    tern_type type;
    bench_tmpl tmpl;
    int ep;
} load_run;

static bench_tx tx;
static bench_rx rx;

static uint32_t slot_token(uint32_t g, uint16_t gen) { return bench_token_encode(g << 16 | gen); }

static void issue(load_run *r, uint32_t g, uint64_t now) {
    load_slot *s = &r->slots[g];
    s->gen++;
    s->mid = (uint16_t)(s->mid + r->mid_mask + 1);
    s->state = S_WAIT;
    s->tries = 0;
    s->t_first = now;
    s->t_expire = now + (uint64_t)r->o->timeout_ms * 1000000u;
    s->t_next = UINT64_MAX;
    if (r->type == TERN_TYPE_CON) {
        s->backoff_ms = bench_ack_timeout_ms();
        s->t_next = now + (uint64_t)s->backoff_ms * 1000000u;
    }
    bench_tx_request(&tx, r->socks[s->sock].fd, &r->tmpl, s->mid, slot_token(g, s->gen));
    r->st->requests++;
    r->in_flight++;
}

static void slot_free(load_run *r, uint32_t g, uint8_t fate) {
    load_slot *s = &r->slots[g];
    load_sock *k = &r->socks[s->sock];
    s->state = S_FREE;
    s->fate = fate;
    s->fate_gen = s->gen;
    k->free[k->n_free++] = g;
    r->in_flight--;
}

/* Send new requests on socket k for its free slots. */
static void fill(load_run *r, uint32_t k) {
    load_sock *sk = &r->socks[k];
    if (!r->sending || sk->n_free == 0) return;
    uint64_t now = bench_now_ns();
    uint64_t count = r->o->count;
    while (sk->n_free > 0 && (count == 0 || r->st->requests < count))
        issue(r, sk->free[--sk->n_free], now);
}

/* An Empty ACK or RST: it names its request by MID only (section 4.2). */
static void on_empty(load_run *r, uint32_t k, const tern_msg *m) {
    bench_load_stats *st = r->st;
    const load_sock *sk = &r->socks[k];
    if (m->type == TERN_TYPE_CON) { /* a CoAP ping (section 4.3): RST */
        bench_tx_empty(&tx, sk->fd, TERN_TYPE_RST, m->mid);
        st->rsts_sent++;
        return;
    }
    if (m->type == TERN_TYPE_NON) {
        st->unmatched++;
        return;
    }
    uint32_t l = m->mid & r->mid_mask;
    load_slot *s = l < sk->n ? &r->slots[sk->base + l] : NULL;
    if (!s || s->state == S_FREE || s->mid != m->mid) {
        st->unmatched++;
        return;
    }
    if (m->type == TERN_TYPE_RST) {
        st->rsts++;
        slot_free(r, sk->base + l, F_ANSWERED);
    } else if (s->state == S_WAIT) { /* section 5.2.2: the answer comes later */
        st->separate++;
        s->state = S_SEPARATE;
        s->t_next = UINT64_MAX;
    } else {
        st->duplicates++;
    }
}

static void on_datagram(load_run *r, uint32_t k, const uint8_t *buf, size_t len, uint64_t now) {
    bench_load_stats *st = r->st;
    const load_sock *sk = &r->socks[k];
    tern_msg m;
    if (tern_msg_parse(&m, buf, len) < 0) {
        st->malformed++;
        return;
    }
    if (m.code == TERN_CODE_EMPTY) {
        on_empty(r, k, &m);
        return;
    }
    uint32_t v;
    load_slot *s = NULL;
    uint32_t g = 0;
    uint16_t gen = 0;
    if (tern_code_is_response(m.code) && m.type != TERN_TYPE_RST && bench_token_decode(&m, &v)) {
        g = v >> 16;
        gen = (uint16_t)v;
        if (g < r->o->window && r->slots[g].sock == k) s = &r->slots[g];
    }
    if (s && s->state != S_FREE && s->gen == gen &&
        (m.type != TERN_TYPE_ACK || m.mid == s->mid)) {
        st->answers++;
        st->codes[m.code]++;
        st->t_last_answer = now;
        bench_hist_add(&st->lat, now > s->t_first ? now - s->t_first : 0);
        slot_free(r, g, F_ANSWERED);
    } else if (s && s->fate != F_NONE && s->fate_gen == gen) {
        if (s->fate == F_TIMEOUT) st->late++;
        else st->duplicates++;
    } else {
        st->unmatched++;
        /* Section 4.2: a CON we cannot process is rejected with RST. */
        if (m.type == TERN_TYPE_CON) {
            bench_tx_empty(&tx, sk->fd, TERN_TYPE_RST, m.mid);
            st->rsts_sent++;
        }
        return;
    }
    if (m.type == TERN_TYPE_CON) { /* a separate response (5.2.2), or its copy */
        bench_tx_empty(&tx, sk->fd, TERN_TYPE_ACK, m.mid);
        st->acks_sent++;
    }
}

/* Retransmissions and timeouts of socket k's slots. */
static void scan(load_run *r, uint32_t k, uint64_t now) {
    load_sock *sk = &r->socks[k];
    for (uint32_t g = sk->base; g < sk->base + sk->n; g++) {
        load_slot *s = &r->slots[g];
        if (s->state == S_FREE) continue;
        if (now >= s->t_expire) {
            r->st->timeouts++;
            slot_free(r, g, F_TIMEOUT);
        } else if (now >= s->t_next) {
            if (s->tries >= BENCH_MAX_RETRANSMIT) { /* section 4.2: give up */
                r->st->timeouts++;
                slot_free(r, g, F_TIMEOUT);
                continue;
            }
            s->tries++;
            s->backoff_ms *= 2;
            s->t_next = now + (uint64_t)s->backoff_ms * 1000000u;
            bench_tx_request(&tx, sk->fd, &r->tmpl, s->mid, slot_token(g, s->gen));
            r->st->retransmissions++;
        }
    }
    fill(r, k);
}

static int setup(load_run *r) {
    const bench_opts *o = r->o;
    uint32_t w = o->window, ns = o->sockets;
    r->n_socks = ns;
    r->slots = calloc(w, sizeof *r->slots);
    r->socks = calloc(ns, sizeof *r->socks);
    r->free_store = calloc(w, sizeof *r->free_store);
    if (!r->slots || !r->socks || !r->free_store) {
        fprintf(stderr, "tern-bench: out of memory\n");
        return -1;
    }
    for (uint32_t k = 0; k < ns; k++) r->socks[k].fd = -1;
    uint32_t per_max = (w + ns - 1) / ns, p = 1;
    while (p < per_max) p <<= 1;
    r->mid_mask = p - 1;
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    if (r->ep < 0) {
        perror("tern-bench: epoll_create1");
        return -1;
    }
    uint32_t base = 0;
    for (uint32_t k = 0; k < ns; k++) {
        load_sock *sk = &r->socks[k];
        sk->n = w / ns + (k < w % ns ? 1 : 0);
        sk->base = base;
        sk->free = r->free_store + base;
        base += sk->n;
        /* Room for every answer of the socket's window at once. */
        int buf = (int)(sk->n * 2048 < 262144 ? 262144 : sk->n * 2048);
        sk->fd = bench_socket_open(o, buf);
        if (sk->fd < 0) {
            fprintf(stderr, "tern-bench: cannot open socket %u of %u: %s\n", k + 1, ns,
                    strerror(errno));
            return -1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = k};
        if (epoll_ctl(r->ep, EPOLL_CTL_ADD, sk->fd, &ev) < 0) {
            perror("tern-bench: epoll_ctl");
            return -1;
        }
        for (uint32_t l = 0; l < sk->n; l++) {
            load_slot *s = &r->slots[sk->base + l];
            s->sock = k;
            s->gen = (uint16_t)bench_rand();
            s->mid = (uint16_t)(((uint32_t)bench_rand() & ~r->mid_mask) | l);
            /* Pushed in reverse: slot base is the first one used. */
            sk->free[sk->n_free++] = sk->base + sk->n - 1 - l;
        }
    }
    return 0;
}

static void teardown(load_run *r) {
    if (r->socks)
        for (uint32_t k = 0; k < r->n_socks; k++)
            if (r->socks[k].fd >= 0) close(r->socks[k].fd);
    if (r->ep >= 0) close(r->ep);
    free(r->slots);
    free(r->socks);
    free(r->free_store);
    bench_tmpl_free(&r->tmpl);
}

/* Read what socket k has (a few batches at most: level-triggered epoll
 * comes back to it), answer and refill. */
static int drain_socket(load_run *r, uint32_t k) {
    for (int b = 0; b < 8; b++) {
        int c = bench_rx_recv(&rx, r->socks[k].fd);
        if (c < 0) {
            fprintf(stderr, "tern-bench: receiving: %s\n", strerror(errno));
            return -1;
        }
        if (c == 0) break;
        uint64_t now = bench_now_ns();
        for (int i = 0; i < c; i++) {
            if (rx.msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
                r->st->malformed++;
                continue;
            }
            on_datagram(r, k, rx.buf[i], rx.msg[i].msg_len, now);
        }
        fill(r, k);
        /* Sent, then read again at once: while the refill went out,
         * answers to earlier requests may have come; an empty read is
         * cheaper than a trip through epoll_wait. */
        bench_tx_flush(&tx);
    }
    return 0;
}

static void progress(const load_run *r, uint64_t now, uint64_t *last_answers) {
    const bench_load_stats *st = r->st;
    bench_progress("%5.1f s  %llu answers/s  %llu sent  %llu answers  %llu timeouts",
                   (double)(now - st->t_start) / 1e9,
                   (unsigned long long)(st->answers - *last_answers),
                   (unsigned long long)st->requests, (unsigned long long)st->answers,
                   (unsigned long long)st->timeouts);
    *last_answers = st->answers;
}

static int loop(load_run *r) {
    const bench_opts *o = r->o;
    bench_load_stats *st = r->st;
    struct epoll_event evs[256];
    uint64_t now = bench_now_ns();
    st->t_start = now;
    uint64_t t_stop = o->duration_ms ? now + o->duration_ms * 1000000u : UINT64_MAX;
    uint64_t timeout_ns = (uint64_t)o->timeout_ms * 1000000u;
    uint64_t last_scan = now, next_progress = now + 1000000000u, last_answers = 0;
    bool cut = false; /* sending ended by the duration or a signal */
    r->sending = true;
    for (uint32_t k = 0; k < r->n_socks; k++) fill(r, k);
    bench_tx_flush(&tx);
    for (;;) {
        now = bench_now_ns();
        unsigned sig = bench_signals();
        bool silent = st->answers == 0 && st->rsts == 0 && st->separate == 0;
        if (sig >= 2) break;
        if (r->sending && (sig >= 1 || now >= t_stop)) cut = true;
        if (r->sending && (cut || (o->count && st->requests >= o->count))) {
            r->sending = false;
            st->t_send_end = now;
        }
        if (!r->sending && r->in_flight == 0) break;
        /* Nothing answered within the first --timeout, or by the end of
         * the duration: nobody is there, waiting longer tells nothing. */
        if (silent && (cut || now - st->t_start >= timeout_ns)) break;
        int n = bench_wait(r->ep, last_scan + SCAN_NS, evs, (int)(sizeof evs / sizeof evs[0]));
        if (n < 0) return -1;
        for (int i = 0; i < n; i++)
            if (drain_socket(r, evs[i].data.u32) < 0) return -1;
        now = bench_now_ns();
        if (now >= last_scan + SCAN_NS) {
            for (uint32_t k = 0; k < r->n_socks; k++) scan(r, k, now);
            last_scan = now;
        }
        bench_tx_flush(&tx);
        if (o->progress && now >= next_progress) {
            progress(r, now, &last_answers);
            next_progress += 1000000000u;
        }
    }
    if (!st->t_send_end) st->t_send_end = now;
    st->abandoned = r->in_flight;
    st->t_end = now;
    return 0;
}

int bench_load_run(const bench_opts *o, bench_load_stats *st) {
    load_run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.st = st;
    r.ep = -1;
    r.type = o->non ? TERN_TYPE_NON : TERN_TYPE_CON;
    memset(st, 0, sizeof *st);
    bench_tx_init(&tx, o->gso);
    bench_rx_init(&rx);
    int rc = -1;
    if (bench_tmpl_build(&r.tmpl, o, r.type, o->method, o->payload, o->payload_len, false) == 0 &&
        setup(&r) == 0) {
        long long drops = bench_udp_drops();
        rc = loop(&r);
        long long after = bench_udp_drops();
        st->udp_drops = drops >= 0 && after >= 0 ? after - drops : -1;
    }
    if (o->progress) bench_progress_end();
    st->icmp_errors = tx.icmp_errors + rx.icmp_errors;
    st->send_errors = tx.send_errors;
    st->gso_sends = tx.gso_sends;
    teardown(&r);
    return rc < 0 ? BENCH_EXIT_USAGE : 0;
}
