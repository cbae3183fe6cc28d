/* SPDX-License-Identifier: BSD-2-Clause */
/* observe.c - Observe fan-out (RFC 7641): how fast a server tells many
 * observers of one change.
 *
 * N observers share N/T sockets, T tokens each (a machine may allow only
 * 20,000 file descriptors: 100,000 observers are 10,000 sockets of 10).
 * Phase 1 registers them all: a CON GET with Observe: 0 each (section 2),
 * --window of them in flight, retransmitted on the RFC 7252 section 4.2
 * schedule; a 2.xx with Observe confirms a registration, one without it
 * was served as a plain GET (section 4.1). Phase 2, per round: one CON PUT
 * from a socket of its own, then the time from sending it until each
 * observer's notification arrives; a round ends when every registered
 * observer has heard, or after --timeout. CON notifications are ACKed
 * (section 4.5 of RFC 7641 asks the client to), a notification for an
 * observation we do not hold is rejected with RST (section 3.6), and one
 * without Observe or with an error code ends the observation (section 3.2).
 *
 * Observer i is token i (salted, wire.c) on socket i / T; the low bits of
 * its MID are i % T, so that Empty ACKs and RSTs find it in O(1) too. Times
 * are read once per received batch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"

#define SCAN_NS 5000000u

enum { O_IDLE, O_WAIT, O_SEPARATE, O_REGISTERED, O_PLAIN, O_FAILED, O_TIMEOUT, O_ENDED };

/* One CON in flight: a registration, or the PUT. */
typedef struct obs_xchg {
    uint64_t t_first, t_next, t_expire; /* ns; t_next UINT64_MAX: no more */
    uint32_t backoff_ms;
    uint16_t mid;
    uint8_t state;
    uint8_t tries;
} obs_xchg;

typedef struct obs_entry {
    obs_xchg x;
    uint32_t round; /* the last round it was notified in */
} obs_entry;

typedef struct obs_run {
    const bench_opts *o;
    bench_observe_stats *st;
    obs_entry *obs;
    int *fds;
    uint32_t n, per, n_socks, mid_mask;
    int ep, put_fd;
    bench_tmpl reg, put;
    /* registration */
    uint32_t next, lo, in_flight;
    uint64_t t_reg_first, t_reg_last;
    char state[BENCH_VALUE_MAX + 1]; /* the resource's representation, as registered */
    bool have_state;
    /* the round */
    uint32_t round;
    uint64_t t_put, notified, target, ended; /* ended: observations ended in the round */
    obs_xchg px;
    uint32_t put_token;
    bench_round *cur;
    bench_hist arrival;
} obs_run;

static bench_tx tx;
static bench_rx rx;

static void xchg_start(obs_xchg *x, uint64_t now, uint32_t timeout_ms) {
    x->state = O_WAIT;
    x->tries = 0;
    x->t_first = now;
    x->t_expire = now + (uint64_t)timeout_ms * 1000000u;
    x->backoff_ms = bench_ack_timeout_ms();
    x->t_next = now + (uint64_t)x->backoff_ms * 1000000u;
}

/* Section 4.2: 1 when it is time to retransmit, -1 when it timed out. */
static int xchg_due(obs_xchg *x, uint64_t now) {
    if (now >= x->t_expire) return -1;
    if (now < x->t_next) return 0;
    if (x->tries >= BENCH_MAX_RETRANSMIT) return -1;
    x->tries++;
    x->backoff_ms *= 2;
    x->t_next = now + (uint64_t)x->backoff_ms * 1000000u;
    return 1;
}

static bool pending(const obs_xchg *x) { return x->state == O_WAIT || x->state == O_SEPARATE; }

/* ---- phase 1: registration ------------------------------------------------------ */

static void reg_fill(obs_run *r) {
    if (r->next >= r->n || r->in_flight >= r->o->window || bench_signals()) return;
    uint64_t now = bench_now_ns();
    if (r->next == 0) r->t_reg_first = now;
    while (r->next < r->n && r->in_flight < r->o->window) {
        uint32_t i = r->next++;
        obs_entry *e = &r->obs[i];
        xchg_start(&e->x, now, r->o->timeout_ms);
        bench_tx_request(&tx, r->fds[i / r->per], &r->reg, e->x.mid, bench_token_encode(i));
        r->in_flight++;
    }
}

static void reg_done(obs_run *r, obs_entry *e, uint8_t state, uint64_t now) {
    e->x.state = state;
    r->in_flight--;
    r->t_reg_last = now;
}

static void reg_scan(obs_run *r, uint64_t now) {
    while (r->lo < r->next && !pending(&r->obs[r->lo].x)) r->lo++;
    for (uint32_t i = r->lo; i < r->next; i++) {
        obs_entry *e = &r->obs[i];
        if (!pending(&e->x)) continue;
        int due = xchg_due(&e->x, now);
        if (due < 0) {
            r->st->reg_timeouts++;
            reg_done(r, e, O_TIMEOUT, now);
        } else if (due > 0 && e->x.state == O_WAIT) {
            bench_tx_request(&tx, r->fds[i / r->per], &r->reg, e->x.mid, bench_token_encode(i));
            r->st->reg_retransmissions++;
        }
    }
}

/* A registration's answer (section 2 of RFC 7641). */
static void on_reg_answer(obs_run *r, obs_entry *e, const tern_msg *m, uint64_t now) {
    bench_observe_stats *st = r->st;
    bench_hist_add(&st->reg_lat, now - e->x.t_first);
    uint32_t seq;
    bool observe = tern_msg_get_uint(m, TERN_OPT_OBSERVE, &seq) == 0;
    if (TERN_CODE_CLASS(m->code) != 2) {
        st->reg_failed++;
        reg_done(r, e, O_FAILED, now);
    } else if (!observe) {
        st->reg_plain++;
        reg_done(r, e, O_PLAIN, now);
    } else {
        st->reg_confirmed++;
        reg_done(r, e, O_REGISTERED, now);
        if (!r->have_state && m->payload_len <= BENCH_VALUE_MAX) {
            if (m->payload_len) memcpy(r->state, m->payload, m->payload_len);
            r->state[m->payload_len] = '\0';
            r->have_state = true;
        }
    }
}

/* ---- phase 2: notifications ------------------------------------------------------ */

static void on_notification(obs_run *r, obs_entry *e, const tern_msg *m, uint64_t now) {
    bench_observe_stats *st = r->st;
    uint32_t seq;
    if (TERN_CODE_CLASS(m->code) != 2 || tern_msg_get_uint(m, TERN_OPT_OBSERVE, &seq) != 0) {
        st->ended++; /* RFC 7641 section 3.2: the server ended it */
        e->x.state = O_ENDED;
        if (r->cur) r->ended++; /* not to be waited for */
        return;
    }
    st->notifications++;
    if (!r->cur) return; /* between rounds (a liveness check, say) */
    if (e->round == r->round) {
        st->duplicates++;
        return;
    }
    e->round = r->round;
    r->notified++;
    uint64_t dt = now > r->t_put ? now - r->t_put : 0;
    bench_hist_add(&r->arrival, dt);
    size_t vl = strlen(r->cur->value);
    if (m->payload_len != vl || (vl && memcmp(m->payload, r->cur->value, vl) != 0))
        st->other_payload++;
}

/* A datagram on observer socket k. */
static void on_obs_datagram(obs_run *r, uint32_t k, const uint8_t *buf, size_t len,
                            uint64_t now) {
    bench_observe_stats *st = r->st;
    int fd = r->fds[k];
    tern_msg m;
    if (tern_msg_parse(&m, buf, len) < 0) {
        st->malformed++;
        return;
    }
    if (m.code == TERN_CODE_EMPTY) {
        if (m.type == TERN_TYPE_CON) { /* ping (RFC 7252 section 4.3) */
            bench_tx_empty(&tx, fd, TERN_TYPE_RST, m.mid);
            st->rsts_sent++;
            return;
        }
        uint32_t l = m.mid & r->mid_mask, i = k * r->per + l;
        obs_entry *e = l < r->per && i < r->n ? &r->obs[i] : NULL;
        if (m.type == TERN_TYPE_NON || !e || !pending(&e->x) || e->x.mid != m.mid) {
            st->unmatched++;
        } else if (m.type == TERN_TYPE_RST) {
            st->reg_failed++;
            reg_done(r, e, O_FAILED, now);
        } else if (e->x.state == O_WAIT) { /* separate response to come */
            e->x.state = O_SEPARATE;
            e->x.t_next = UINT64_MAX;
        }
        return;
    }
    uint32_t i;
    obs_entry *e = NULL;
    if (tern_code_is_response(m.code) && m.type != TERN_TYPE_RST && bench_token_decode(&m, &i) &&
        i < r->n && i / r->per == k)
        e = &r->obs[i];
    if (e && pending(&e->x) && !(m.type == TERN_TYPE_ACK && m.mid != e->x.mid)) {
        on_reg_answer(r, e, &m, now);
    } else if (e && e->x.state == O_REGISTERED && m.type != TERN_TYPE_ACK) {
        on_notification(r, e, &m, now);
    } else {
        st->unmatched++;
        if (m.type == TERN_TYPE_CON) { /* RFC 7641 section 3.6: not ours, RST */
            bench_tx_empty(&tx, fd, TERN_TYPE_RST, m.mid);
            st->rsts_sent++;
        }
        return;
    }
    if (m.type == TERN_TYPE_CON) {
        bench_tx_empty(&tx, fd, TERN_TYPE_ACK, m.mid);
        st->acks_sent++;
    }
}

/* A datagram on the PUT's socket. */
static void on_put_datagram(obs_run *r, const uint8_t *buf, size_t len, uint64_t now) {
    bench_observe_stats *st = r->st;
    obs_xchg *x = &r->px;
    tern_msg m;
    uint32_t tok;
    if (tern_msg_parse(&m, buf, len) < 0) {
        st->malformed++;
        return;
    }
    if (m.code == TERN_CODE_EMPTY) {
        if (!pending(x) || m.mid != x->mid || m.type == TERN_TYPE_CON || m.type == TERN_TYPE_NON) {
            st->unmatched++;
        } else if (m.type == TERN_TYPE_RST) {
            x->state = O_FAILED;
            if (r->cur) r->cur->put_ns = now - r->t_put;
        } else {
            x->state = O_SEPARATE;
            x->t_next = UINT64_MAX;
        }
        return;
    }
    bool ours = tern_code_is_response(m.code) && m.type != TERN_TYPE_RST &&
                bench_token_decode(&m, &tok) && tok == r->put_token;
    if (ours && pending(x) && !(m.type == TERN_TYPE_ACK && m.mid != x->mid)) {
        x->state = O_REGISTERED; /* done */
        if (r->cur) {
            r->cur->put_code = m.code;
            r->cur->put_ns = now - r->t_put;
        }
    } else {
        st->unmatched++;
        if (!ours && m.type == TERN_TYPE_CON) {
            bench_tx_empty(&tx, r->put_fd, TERN_TYPE_RST, m.mid);
            st->rsts_sent++;
            return;
        }
    }
    if (m.type == TERN_TYPE_CON) {
        bench_tx_empty(&tx, r->put_fd, TERN_TYPE_ACK, m.mid);
        st->acks_sent++;
    }
}

/* ---- the loop ------------------------------------------------------------------- */

static int read_socket(obs_run *r, uint32_t k) {
    int fd = k < r->n_socks ? r->fds[k] : r->put_fd;
    for (int b = 0; b < 4; b++) {
        int c = bench_rx_recv(&rx, fd);
        if (c < 0) {
            fprintf(stderr, "tern-bench: receiving: %s\n", strerror(errno));
            return -1;
        }
        if (c == 0) break;
        uint64_t now = bench_now_ns();
        for (int j = 0; j < c; j++) {
            size_t len = rx.msg[j].msg_len;
            if (rx.msg[j].msg_hdr.msg_flags & MSG_TRUNC) r->st->malformed++;
            else if (k < r->n_socks) on_obs_datagram(r, k, rx.buf[j], len, now);
            else on_put_datagram(r, rx.buf[j], len, now);
        }
        if (c < BENCH_BATCH) break;
    }
    return 0;
}

/* Wait for datagrams (at most until the next timer walk) and handle them. */
static int poll_once(obs_run *r, uint64_t due) {
    static struct epoll_event evs[512];
    int n = bench_wait(r->ep, due, evs, (int)(sizeof evs / sizeof evs[0]));
    if (n < 0) return -1;
    for (int i = 0; i < n; i++)
        if (read_socket(r, evs[i].data.u32) < 0) return -1;
    return 0;
}

static int register_all(obs_run *r) {
    const bench_opts *o = r->o;
    uint64_t last_scan = bench_now_ns(), next_progress = last_scan + 1000000000u;
    reg_fill(r);
    bench_tx_flush(&tx);
    while ((r->next < r->n || r->in_flight > 0) && bench_signals() == 0) {
        if (poll_once(r, last_scan + SCAN_NS) < 0) return -1;
        reg_fill(r);
        uint64_t now = bench_now_ns();
        if (now >= last_scan + SCAN_NS) {
            reg_scan(r, now);
            reg_fill(r);
            last_scan = now;
        }
        bench_tx_flush(&tx);
        if (o->progress && now >= next_progress) {
            bench_progress("registering: %llu of %u confirmed, %u in flight",
                           (unsigned long long)r->st->reg_confirmed, r->n, r->in_flight);
            next_progress += 1000000000u;
        }
    }
    if (r->t_reg_last > r->t_reg_first) r->st->reg_ns = r->t_reg_last - r->t_reg_first;
    return 0;
}

/* The value of round i (from 0): --put-value, alternating with its
 * opposite when it is ON or OFF, starting so that the first PUT changes the
 * state the registrations reported (a PUT of the state held notifies no
 * one on most servers). */
static const char *round_value(const obs_run *r, uint32_t i) {
    const char *v = r->o->put_value, *alt = NULL;
    if (strcmp(v, "ON") == 0) alt = "OFF";
    else if (strcmp(v, "OFF") == 0) alt = "ON";
    if (!alt) return v;
    uint32_t start = r->have_state && strcmp(r->state, v) == 0 ? 1 : 0;
    return (start + i) % 2 ? alt : v;
}

static int run_round(obs_run *r, uint32_t i) {
    const bench_opts *o = r->o;
    bench_round *rd = &r->st->rounds[i];
    snprintf(rd->value, sizeof rd->value, "%s", round_value(r, i));
    bench_tmpl_free(&r->put);
    if (bench_tmpl_build(&r->put, o, TERN_TYPE_CON, TERN_CODE_PUT, (const uint8_t *)rd->value,
                         strlen(rd->value), false) < 0)
        return -1;
    r->round = i + 1;
    r->cur = rd;
    r->notified = r->ended = 0;
    r->target = r->st->reg_confirmed - r->st->ended;
    rd->target = r->target;
    bench_hist_reset(&r->arrival);
    r->px.mid = (uint16_t)bench_rand();
    r->put_token = (uint32_t)bench_rand();
    uint64_t now = bench_now_ns();
    xchg_start(&r->px, now, o->timeout_ms);
    r->t_put = now;
    bench_tx_request(&tx, r->put_fd, &r->put, r->px.mid, bench_token_encode(r->put_token));
    bench_tx_flush(&tx);
    uint64_t last_scan = now, next_progress = now + 1000000000u;
    uint64_t end = now + (uint64_t)o->timeout_ms * 1000000u;
    while (bench_signals() == 0 && (r->notified + r->ended < r->target || pending(&r->px))) {
        if (poll_once(r, last_scan + SCAN_NS < end ? last_scan + SCAN_NS : end) < 0) return -1;
        now = bench_now_ns();
        if (now >= end) break;
        if (now >= last_scan + SCAN_NS) {
            if (pending(&r->px)) {
                int due = xchg_due(&r->px, now);
                if (due < 0) r->px.state = O_TIMEOUT;
                else if (due > 0 && r->px.state == O_WAIT)
                    bench_tx_request(&tx, r->put_fd, &r->put, r->px.mid,
                                     bench_token_encode(r->put_token));
            }
            last_scan = now;
        }
        bench_tx_flush(&tx);
        if (o->progress && now >= next_progress) {
            bench_progress("round %u: %llu of %llu notified", r->round,
                           (unsigned long long)r->notified, (unsigned long long)r->target);
            next_progress += 1000000000u;
        }
    }
    bench_tx_flush(&tx);
    rd->notified = r->notified;
    rd->p50_ns = bench_hist_pct(&r->arrival, 50);
    rd->p99_ns = bench_hist_pct(&r->arrival, 99);
    rd->max_ns = r->arrival.max;
    if (r->target > 0 && r->notified == r->target) rd->all_ns = r->arrival.max;
    bench_hist_merge(&r->st->arrival, &r->arrival);
    r->st->n_rounds = i + 1;
    r->cur = NULL;
    return 0;
}

static int setup(obs_run *r) {
    const bench_opts *o = r->o;
    r->n = o->observers;
    r->per = o->tokens_per_socket;
    r->n_socks = (r->n + r->per - 1) / r->per;
    r->st->sockets = r->n_socks;
    uint64_t hard, soft = bench_raise_nofile(&hard);
    uint64_t need = (uint64_t)r->n_socks + 16; /* the PUT's, epoll, stdio, /proc */
    if (need > soft) {
        uint64_t room = soft > 16 ? soft - 16 : 1;
        fprintf(stderr,
                "tern-bench: %u observers at %u tokens per socket need %u sockets, but the "
                "file descriptor limit is %llu (hard limit %llu): raise the hard limit, or "
                "give each socket more tokens (-t %llu)\n",
                r->n, r->per, r->n_socks, (unsigned long long)soft, (unsigned long long)hard,
                (unsigned long long)((r->n + room - 1) / room));
        return -1;
    }
    uint32_t p = 1;
    while (p < r->per) p <<= 1;
    r->mid_mask = p - 1;
    r->obs = calloc(r->n, sizeof *r->obs);
    r->fds = malloc(r->n_socks * sizeof *r->fds);
    r->st->rounds = calloc(o->rounds, sizeof *r->st->rounds);
    if (!r->obs || !r->fds || !r->st->rounds) {
        fprintf(stderr, "tern-bench: out of memory\n");
        return -1;
    }
    for (uint32_t k = 0; k < r->n_socks; k++) r->fds[k] = -1;
    for (uint32_t i = 0; i < r->n; i++)
        r->obs[i].x.mid = (uint16_t)(((uint32_t)bench_rand() & ~r->mid_mask) | (i % r->per));
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    if (r->ep < 0) {
        perror("tern-bench: epoll_create1");
        return -1;
    }
    for (uint32_t k = 0; k <= r->n_socks; k++) {
        /* the last socket sends the PUT: to --put-port when given (another
         * node of a cluster), else to the server observed */
        int fd = k == r->n_socks ? bench_socket_open_port(o, 262144, o->put_port)
                 : o->n_spread   ? bench_socket_open_port(o, 0, o->spread_ports[k % o->n_spread])
                                 : bench_socket_open(o, 0);
        if (fd < 0) {
            fprintf(stderr, "tern-bench: cannot open socket %u of %u: %s\n", k + 1,
                    r->n_socks + 1, strerror(errno));
            return -1;
        }
        if (k < r->n_socks) r->fds[k] = fd;
        else r->put_fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = k};
        if (epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            perror("tern-bench: epoll_ctl");
            return -1;
        }
    }
    return bench_tmpl_build(&r->reg, o, TERN_TYPE_CON, TERN_CODE_GET, NULL, 0, true) < 0 ? -1 : 0;
}

/* Closing the sockets is how the observers go: RFC 7641 section 3.6 lets a
 * client forget an observation; the server learns of it from the RST or
 * ICMP error its next notification gets. */
static void teardown(obs_run *r) {
    if (r->fds)
        for (uint32_t k = 0; k < r->n_socks; k++)
            if (r->fds[k] >= 0) close(r->fds[k]);
    if (r->put_fd >= 0) close(r->put_fd);
    if (r->ep >= 0) close(r->ep);
    free(r->obs);
    free(r->fds);
    bench_tmpl_free(&r->reg);
    bench_tmpl_free(&r->put);
}

int bench_observe_run(const bench_opts *o, bench_observe_stats *st) {
    static obs_run r;
    memset(&r, 0, sizeof r);
    memset(st, 0, sizeof *st);
    r.o = o;
    r.st = st;
    r.ep = r.put_fd = -1;
    st->rss_before = st->rss_after = -1;
    bench_tx_init(&tx, o->gso);
    bench_rx_init(&rx);
    int rc = setup(&r);
    long long drops = bench_udp_drops();
    if (rc == 0) {
        if (o->server_pid) st->rss_before = bench_rss_bytes(o->server_pid);
        rc = register_all(&r);
        if (o->server_pid) st->rss_after = bench_rss_bytes(o->server_pid);
        if (o->progress) bench_progress_end();
    }
    for (uint32_t i = 0; rc == 0 && i < o->rounds && bench_signals() == 0; i++) {
        if (st->reg_confirmed == 0) break;
        rc = run_round(&r, i);
        if (o->progress) bench_progress_end();
    }
    long long after = bench_udp_drops();
    st->udp_drops = drops >= 0 && after >= 0 ? after - drops : -1;
    st->icmp_errors = tx.icmp_errors + rx.icmp_errors;
    st->send_errors = tx.send_errors;
    st->gso_sends = tx.gso_sends;
    teardown(&r);
    return rc < 0 ? BENCH_EXIT_USAGE : 0;
}
