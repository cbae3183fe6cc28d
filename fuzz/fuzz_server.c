/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_server.c - libFuzzer target for the server's receive path: dispatch
 * and option checks (RFC 7252 section 5), Observe (RFC 7641), deferred
 * answers (5.2.2), Block2 (RFC 7959 2.4) and discovery (RFC 6690) as
 * implemented in src/server, on a real endpoint (src/endpoint), both inside
 * a tern_engine that this target drives like any other driver.
 *
 * One endpoint and one server with small tables, so that every limit is
 * reachable: 3 peer slots for 4 addresses, 4 exchanges, 4 pending requests,
 * 8 dedup entries, a 4 KB send queue; 3 observers (2 per resource), 2
 * deferred answers, 5 resources. A fake clock. The resources:
 *   /alarm    a state resource (tern/state.h, src/server/state.c): GET; PUT
 *             ON or OFF (else 4.00) through a fake backend that answers at
 *             once or, with byte 1 bit 3, later (op 0x15 brings the oldest
 *             outcome); op 0x16 switches the backend out of reach and back
 *             (5.03, Max-Age 0), op 6 on it a change from elsewhere
 *   /slow     observable; GET defers (step 5 answers, or the server's
 *             timeout); POST answers the oldest deferred request from inside
 *             its own handler
 *   /log      observable, about 2 KB: more than a datagram, so answers and
 *             notifications go block-wise (RFC 7959 2.4, 2.6)
 *   /tmp/x    observable; DELETE removes it from inside its handler
 *   /extra    absent at first: the table is full until another is removed
 *   /.well-known/core
 *
 * The input is a script:
 *   byte 0   config: bit 0 ack_delay_ms 0 / 1000, bits 1-2 max_retransmit
 *            1..4, bit 3 NSTART 1 / 2, bit 4 deferred timeout 3 s / 30 s,
 *            bit 5 a CON every 3 / 20 notifications, bit 6 liveness check
 *            after 20 s / 24 h
 *   byte 1   harness: bits 0-1 datagrams drained after a step (0: all, else
 *            1..3, the rest waits and the send queue fills), bit 2 free
 *            everything without running the clock out first, bit 3 the
 *            state backend answers later
 *   then steps, each starting with an op byte; op & 15 (bits 4-7 are
 *   ignored except where said):
 *     0-3    receive from peer op & 3: delta u8 * 16 ms, length u8, then
 *            that many datagram bytes
 *     4      advance: delta u16 (big endian) * 8 ms, every timer on the way
 *            run when it is due
 *     5      answer a deferred request (tern_server_respond_begin/_respond):
 *            slot u8, code u8 (raw, may be no response code), length u8
 *            (payload of length * 16 bytes); with op bit 4 set (0x15) the
 *            state backend's oldest outcome comes instead: bit 0 of the
 *            slot byte ok / TERN_E_UNAVAILABLE, the other two bytes unused
 *     6      change state locally (tern_resource_changed): resource u8; on
 *            /alarm the backend brings the other value; with op bit 4 set
 *            (0x16) the backend goes out of reach, or comes back
 *     7      remove the resource, or add it back if absent: resource u8
 *     8-11   peer op & 3 answers a message the server sent it: arg u8,
 *            bit 0 RST / ACK, bits 1-2 how far back (0: the newest),
 *            bits 3-7 delta * 64 ms
 *     12-15  peer op & 3 sends its last datagram again: delta u8 * 16 ms;
 *            with op bit 4 set (0x1C-0x1F) an ICMP error for peer op & 3
 *            comes instead (tern_engine_unreachable, as src/io feeds
 *            them), quoting a datagram sent there as icmp_quotes_pick
 *            reads the same u8
 *
 * After every step the harness ticks endpoint and server when due and
 * drains the output. It aborts when an emitted datagram does not parse;
 * when a deadline after a tick at T is not after T; when the server counts
 * more observers than configured, or a resource more than its limit, or
 * one that is not observable any; when tern_server_find_resource disagrees
 * with the handles the harness holds; when /alarm holds a value it does
 * not declare, or its version goes back; when anything allocates after
 * creation (DESIGN.md: tables are allocated once); and when, after the
 * peers have fallen silent and the clock has run out, the server or the
 * endpoint is not idle: every deferred request answered, every observer
 * found gone (RFC 7641 section 4.5), every exchange ended. ASan/UBSan and
 * LeakSanitizer check the rest.
 *
 * FUZZ_SERVER_TRACE=1 in the environment prints every datagram in and out,
 * to see what a seed or a crashing input does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/allocator_interface.h>

#include "icmp_quotes.h"
#include "tern/endpoint.h"
#include "tern/engine.h"
#include "tern/server.h"
#include "tern/state.h"

#define N_PEERS 4
#define N_DEFER 4 /* more ids remembered than slots: stale ids get tried */
#define N_HIST 4
#define MAX_OBSERVERS 3
#define MAX_OBS_PER_RES 2
#define EP_MAX_MESSAGE 1152
#define LOG_LEN 2000

enum { R_ALARM, R_SLOW, R_LOG, R_TMP, R_EXTRA, N_RES };

typedef struct sent {
    bool used;
    uint8_t type;
    uint16_t mid;
} sent;

typedef struct harness {
    tern_engine *eng;
    tern_endpoint *ep;
    tern_server *srv;
    uint64_t now;
    uint64_t rng;
    tern_addr peers[N_PEERS];
    tern_resource *res[N_RES];
    tern_resource_def defs[N_RES];
    tern_state *alarm; /* served at res[R_ALARM] */
    tern_state_backend be; /* the fake backend below */
    bool be_later, be_down;
    uint64_t be_version, alarm_version;
    void *be_ops[TERN_STATE_MAX_WAITING]; /* outcomes to come, oldest first */
    char be_values[TERN_STATE_MAX_WAITING][4];
    unsigned be_n;
    uint32_t version; /* changes the other resources' representations */
    unsigned drain_max; /* 0: all */
    tern_endpoint_req_id deferred[N_DEFER];
    unsigned n_deferred;
    sent hist[N_PEERS][N_HIST]; /* what the server sent each peer, newest first */
    icmp_quotes quotes[N_PEERS]; /* ... and its first bytes, for ICMP errors */
    uint8_t last_rx[N_PEERS][255];
    size_t last_rx_len[N_PEERS];
} harness;

/* ---- memory: nothing may allocate once the objects exist ------------------ */

static _Thread_local bool g_counting;
static _Thread_local uint64_t g_allocs;

static void malloc_hook(const volatile void *ptr, size_t size) {
    (void)ptr;
    (void)size;
    if (g_counting) g_allocs++;
}

static void free_hook(const volatile void *ptr) { (void)ptr; }

/* ---- randomness ------------------------------------------------------------ */

static void fuzz_random(void *ctx, uint8_t *out, size_t len) {
    uint64_t *s = ctx;
    for (size_t i = 0; i < len; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        out[i] = (uint8_t)(*s >> 24);
    }
}

/* ---- resources ------------------------------------------------------------- */

static uint8_t body[4096];

static void forget(harness *h, tern_resource *r) {
    for (unsigned i = 0; i < N_RES; i++)
        if (h->res[i] == r) h->res[i] = NULL;
}

/* ---- /alarm's fake state backend ------------------------------------------ */

static harness *g_h; /* the backend's harness (one at a time) */

static int be_store(tern_state_backend *be, tern_state *st, const char *path, const char *value,
                    void *op, uint64_t *version, char *why, size_t why_cap) {
    (void)be, (void)st, (void)path;
    harness *h = g_h;
    if (h->be_down) {
        snprintf(why, why_cap, "out of reach");
        return TERN_E_UNAVAILABLE;
    }
    if (!h->be_later) {
        *version = ++h->be_version;
        return 0;
    }
    if (h->be_n == TERN_STATE_MAX_WAITING) abort(); /* the state keeps at most that many */
    h->be_ops[h->be_n] = op;
    memcpy(h->be_values[h->be_n++], value, strlen(value) + 1);
    return TERN_STATE_LATER;
}

static bool be_available(const tern_state_backend *be) {
    (void)be;
    return !g_h->be_down;
}

static const tern_state_backend_ops be_ops = {.store = be_store, .available = be_available};

/* The oldest outcome to come, ok or not. */
static void be_outcome(harness *h, bool ok) {
    if (h->be_n == 0) return;
    void *op = h->be_ops[0];
    h->be_n--;
    memmove(h->be_ops, h->be_ops + 1, h->be_n * sizeof h->be_ops[0]);
    memmove(h->be_values, h->be_values + 1, h->be_n * sizeof h->be_values[0]);
    tern_state_stored(h->alarm, op, ok ? 0 : TERN_E_UNAVAILABLE, ok ? ++h->be_version : 0,
                      "out of reach", h->now);
}

static uint8_t slow_get(tern_server_request *req, tern_server_response *resp) {
    harness *h = tern_server_request_ctx(req);
    if (tern_server_request_is_notification(req)) {
        /* A notification must be answered at once. */
        char text[8] = "slow ?";
        text[5] = (char)('0' + h->version % 10);
        tern_server_response_text(resp, text);
        return TERN_CODE_CONTENT;
    }
    tern_endpoint_req_id id;
    if (tern_server_request_defer(req, &id) == 0) {
        h->deferred[h->n_deferred++ % N_DEFER] = id;
        return TERN_DEFER;
    }
    if (h->version & 1) return TERN_DEFER; /* a faulty handler: the server answers 5.00 */
    tern_server_response_diag(resp, "busy");
    return TERN_CODE_SERVICE_UNAVAILABLE;
}

/* Answers the oldest deferred request while its own response is open. */
static uint8_t slow_post(tern_server_request *req, tern_server_response *resp) {
    harness *h = tern_server_request_ctx(req);
    tern_server *srv = tern_server_request_server(req);
    size_t n;
    const uint8_t *p = tern_server_request_payload(req, &n);
    for (unsigned k = 0; k < N_DEFER; k++) {
        tern_endpoint_req_id id = h->deferred[(h->n_deferred + k) % N_DEFER];
        tern_server_response *r = id ? tern_server_respond_begin(srv, id) : NULL;
        if (r == NULL) continue;
        if (n) tern_server_response_payload(r, TERN_CF_TEXT_PLAIN, p, n);
        (void)tern_server_respond(srv, r, TERN_CODE_CONTENT, tern_server_request_now(req));
        break;
    }
    tern_server_response_text(resp, "done");
    return TERN_CODE_CHANGED;
}

static uint8_t log_get(tern_server_request *req, tern_server_response *resp) {
    harness *h = tern_server_request_ctx(req);
    size_t n = LOG_LEN + h->version % 48;
    memset(body, 'a' + (int)(h->version % 26), n);
    tern_server_response_payload(resp, TERN_CF_TEXT_PLAIN, body, n);
    return TERN_CODE_CONTENT;
}

/* Its state cycles through four versions: fine, fine, answered with an
 * option too large for any datagram, gone (4.04, which ends observations). */
static uint8_t tmp_get(tern_server_request *req, tern_server_response *resp) {
    harness *h = tern_server_request_ctx(req);
    if (h->version % 4 == 3) {
        tern_server_response_diag(resp, "gone for now");
        return TERN_CODE_NOT_FOUND;
    }
    if (h->version % 4 == 2) tern_server_response_add_opt(resp, 2048, body, EP_MAX_MESSAGE - 10);
    char text[8] = "tmp ?";
    text[4] = (char)('0' + h->version % 10);
    tern_server_response_text(resp, text);
    uint8_t etag = (uint8_t)h->version;
    tern_server_response_add_opt(resp, TERN_OPT_ETAG, &etag, 1);
    return TERN_CODE_CONTENT;
}

static uint8_t tmp_delete(tern_server_request *req, tern_server_response *resp) {
    harness *h = tern_server_request_ctx(req);
    tern_resource *r = tern_server_request_resource(req);
    (void)resp;
    forget(h, r);
    tern_server_remove_resource(tern_server_request_server(req), r, tern_server_request_now(req));
    return TERN_CODE_DELETED;
}

static uint8_t extra_get(tern_server_request *req, tern_server_response *resp) {
    if (tern_server_request_is_notification(req)) abort(); /* /extra is not observable */
    tern_server_response_text(resp, "extra");
    return TERN_CODE_CONTENT;
}

static void make_defs(harness *h) {
    tern_resource_def *d = h->defs;
    d[R_ALARM] = (tern_resource_def){.path = "/alarm"}; /* a tern_state: its path only */
    d[R_SLOW] = (tern_resource_def){.path = "/slow",
                                    .get = slow_get,
                                    .post = slow_post,
                                    .ctx = h,
                                    .observable = true,
                                    .notify_con = true,
                                    .rt = "slow",
                                    .iface = "core.p"};
    d[R_LOG] = (tern_resource_def){.path = "/log",
                                   .get = log_get,
                                   .ctx = h,
                                   .observable = true,
                                   .max_age_s = 5,
                                   .rt = "log",
                                   .ct = "0",
                                   .sz = LOG_LEN};
    d[R_TMP] = (tern_resource_def){.path = "/tmp/x",
                                   .get = tmp_get,
                                   .del = tmp_delete,
                                   .ctx = h,
                                   .observable = true,
                                   .rt = "tmp x"};
    d[R_EXTRA] = (tern_resource_def){.path = "/extra",
                                     .get = extra_get,
                                     .ctx = h,
                                     .iface = "core.s",
                                     .ct = "0 50",
                                     .title = "Extra thing"};
}

/* ---- driving ---------------------------------------------------------------- */

static bool g_trace;

static void on_trace(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg) {
    harness *h = ctx;
    char line[512];
    tern_msg_format(msg, line, sizeof line);
    fprintf(stderr, "%8llu %s peer %u  %s\n", (unsigned long long)h->now, outgoing ? "<-" : "->",
            (unsigned)peer->bytes[3], line);
}

static int peer_index(const harness *h, const tern_addr *a) {
    for (int i = 0; i < N_PEERS; i++)
        if (tern_addr_equal(&h->peers[i], a)) return i;
    return -1;
}

/* The server's table against the handles the harness holds. Those change
 * only within a step (remove_or_add, or /tmp/x's DELETE handler while a
 * request is received), so this runs at the end of every step and of the
 * run, not after every drain: each lookup hashes and walks a path, and five
 * of them per drain took a quarter of the run time. */
static void check_table(harness *h) {
    for (unsigned i = 0; i < N_RES; i++)
        if (tern_server_find_resource(h->srv, h->defs[i].path) != h->res[i]) abort();
    const char *v = tern_state_value(h->alarm);
    if (strcmp(v, "ON") != 0 && strcmp(v, "OFF") != 0) abort();
    if (tern_state_version(h->alarm) < h->alarm_version) abort();
    h->alarm_version = tern_state_version(h->alarm);
}

static void check_limits(harness *h) {
    tern_server_stats st;
    tern_server_get_stats(h->srv, &st);
    if (st.observers > MAX_OBSERVERS) abort();
    for (unsigned i = 0; i < N_RES; i++) {
        const tern_resource *r = h->res[i];
        if (r == NULL) continue;
        unsigned n = tern_resource_observer_count(r);
        if (n > MAX_OBS_PER_RES || (n > 0 && !tern_resource_get_def(r)->observable)) abort();
    }
}

static void drain(harness *h, bool all) {
    tern_datagram dg[8];
    size_t max = all || !h->drain_max ? 8 : h->drain_max;
    for (unsigned rounds = 0;; rounds++) {
        size_t n = tern_engine_outgoing(h->eng, dg, max);
        for (size_t k = 0; k < n; k++) {
            tern_msg m;
            if (dg[k].len > EP_MAX_MESSAGE) abort();
            if (tern_msg_parse(&m, dg[k].data, dg[k].len) != 0) abort(); /* valid CoAP */
            int p = peer_index(h, dg[k].peer);
            if (p < 0) abort(); /* sent to someone who never spoke */
            memmove(&h->hist[p][1], &h->hist[p][0], (N_HIST - 1) * sizeof(sent));
            h->hist[p][0] = (sent){true, m.type, m.mid};
            icmp_quotes_sent(&h->quotes[p], dg[k].data, dg[k].len);
        }
        tern_engine_sent(h->eng, n);
        if (n < max || (!all && h->drain_max)) break;
        if (rounds > 100000) abort();
    }
    check_limits(h);
}

static uint64_t min_deadline(const harness *h) { return tern_engine_next_deadline(h->eng); }

/* Run the timers due at h->now. */
static void tick(harness *h) {
    tern_engine_tick(h->eng, h->now);
    /* Nothing may be due any more at the time just handled. */
    if (tern_engine_next_deadline(h->eng) <= h->now) abort();
    drain(h, false);
}

static void settle(harness *h) {
    if (min_deadline(h) <= h->now) tick(h);
    drain(h, false);
    check_table(h);
}

/* Let time pass to `to`, running every timer exactly when due. */
static void advance_to(harness *h, uint64_t to) {
    for (int guard = 0;; guard++) {
        uint64_t d = min_deadline(h);
        if (d > to) break;
        if (guard > 100000) abort();
        if (d > h->now) h->now = d;
        tick(h);
    }
    if (to > h->now) h->now = to;
}

static void recv_from(harness *h, unsigned p, const uint8_t *buf, size_t len) {
    (void)tern_engine_recv(h->eng, &h->peers[p], buf, len, h->now);
}

static void answer_deferred(harness *h, uint8_t slot, uint8_t code, uint8_t len) {
    tern_endpoint_req_id id = h->deferred[slot % N_DEFER];
    tern_server_response *r = id ? tern_server_respond_begin(h->srv, id) : NULL;
    if (r == NULL) return;
    size_t n = (size_t)len * 16;
    if (n > sizeof body) n = sizeof body;
    memset(body, 'd', n);
    if (n) tern_server_response_payload(r, TERN_CF_TEXT_PLAIN, body, n);
    (void)tern_server_respond(h->srv, r, code, h->now);
}

static void change(harness *h, uint8_t which) {
    unsigned i = which % N_RES;
    if (i == R_ALARM) { /* from elsewhere: a newer change of the backend's */
        const char *v = tern_state_value(h->alarm);
        (void)tern_state_apply(h->alarm, strcmp(v, "ON") == 0 ? "OFF" : "ON", ++h->be_version);
        return;
    }
    h->version++;
    tern_resource_changed(h->res[i]); /* NULL (removed) is a no-op */
}

/* Adding a resource may allocate (the discovery document's buffer grows,
 * tern/server.h); only the request path must not. */
static void remove_or_add(harness *h, uint8_t which) {
    bool counting = g_counting;
    g_counting = false;
    unsigned i = which % N_RES;
    if (i == R_ALARM) {
        if (h->res[i]) tern_state_unserve(h->alarm, h->now);
        else (void)tern_state_serve(h->alarm, h->srv); /* full: stays unserved */
        h->res[i] = tern_state_resource(h->alarm);
    } else if (h->res[i]) {
        tern_resource *r = h->res[i];
        h->res[i] = NULL;
        tern_server_remove_resource(h->srv, r, h->now);
    } else if (tern_server_add_resource(h->srv, &h->defs[i], &h->res[i]) < 0) {
        h->res[i] = NULL; /* full */
    }
    g_counting = counting;
}

/* Peer p answers something the server sent it, with an empty ACK or RST. */
static void reply(harness *h, unsigned p, uint8_t arg) {
    const sent *s = &h->hist[p][(arg >> 1) & 3];
    if (!s->used || (s->type != TERN_TYPE_CON && s->type != TERN_TYPE_NON)) return;
    h->now += (uint64_t)(arg >> 3) * 64;
    unsigned type = arg & 1 ? TERN_TYPE_RST : TERN_TYPE_ACK;
    uint8_t b[4] = {(uint8_t)(1u << 6 | type << 4), 0, (uint8_t)(s->mid >> 8), (uint8_t)s->mid};
    recv_from(h, p, b, sizeof b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool hooked;
    if (!hooked) {
        __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
        hooked = true;
        g_trace = getenv("FUZZ_SERVER_TRACE") != NULL;
    }
    if (size < 2) return 0;
    static harness hs;
    harness *h = &hs;
    memset(h, 0, sizeof *h);
    h->rng = 0x853C49E6748FEA9BULL;
    h->now = 1000;
    g_h = h;
    h->be = (tern_state_backend){.ops = &be_ops, .retry_after_s = 5};
    h->be_later = data[1] & 8;
    static const char *const values[] = {"OFF", "ON"};
    tern_state_def sd = {.path = "/alarm", .values = values, .n_values = 2, .backend = &h->be,
                         .rt = "alarm", .max_age_s = 0};
    if (tern_state_new(&h->alarm, &sd, NULL, 0) != 0) abort();
    for (unsigned i = 0; i < N_PEERS; i++) {
        h->peers[i].len = 6;
        h->peers[i].bytes[0] = 10;
        h->peers[i].bytes[3] = (uint8_t)(i + 1);
        h->peers[i].bytes[5] = 0x33;
    }
    make_defs(h);

    uint8_t cfg = data[0];
    h->drain_max = data[1] & 3u;
    tern_endpoint_config c;
    tern_endpoint_config_default(&c);
    c.ack_delay_ms = cfg & 1 ? 1000 : 0;
    c.max_retransmit = 1u + ((cfg >> 1) & 3u);
    c.nstart = cfg & 8 ? 2 : 1;
    c.max_peers = 3;
    c.max_exchanges = 4;
    c.max_pending = 4;
    c.max_dedup = 8;
    c.max_message = EP_MAX_MESSAGE;
    c.tx_queue_bytes = 4096;
    c.token_len = 4;
    c.random = fuzz_random;
    c.random_ctx = &h->rng;

    tern_server_config sc;
    tern_server_config_default(&sc);
    sc.max_resources = 5; /* /.well-known/core and four of ours */
    sc.max_observers = MAX_OBSERVERS;
    sc.max_observers_per_resource = MAX_OBS_PER_RES;
    sc.max_deferred = 2;
    sc.deferred_timeout_ms = cfg & 16 ? 3000 : 30000;
    sc.max_message = 2304; /* /log fits a response, not a datagram */
    sc.notify_con_every = cfg & 32 ? 3 : 20;
    if (cfg & 64) sc.notify_con_interval_ms = 20000;
    tern_engine_config ec;
    tern_engine_config_default(&ec);
    ec.endpoint = &c;
    ec.server = &sc;
    if (g_trace) ec.trace = on_trace, ec.trace_ctx = h;
    if (tern_engine_new(&h->eng, &ec) != 0) abort();
    h->ep = tern_engine_endpoint(h->eng);
    h->srv = tern_engine_server(h->eng, NULL);
    if (!h->srv) abort();
    if (tern_state_serve(h->alarm, h->srv) != 0) abort();
    h->res[R_ALARM] = tern_state_resource(h->alarm);
    for (unsigned i = R_ALARM + 1; i < R_EXTRA; i++)
        if (tern_server_add_resource(h->srv, &h->defs[i], &h->res[i]) != 0) abort();

    g_allocs = 0;
    g_counting = true;
    size_t i = 2;
    while (i < size) {
        uint8_t op = data[i++];
        unsigned p = op & 3;
        switch (op & 15) {
        case 0: case 1: case 2: case 3: {
            if (size - i < 2) goto out;
            h->now += (uint64_t)data[i++] * 16;
            size_t len = data[i++];
            if (len > size - i) len = size - i;
            memcpy(h->last_rx[p], data + i, len);
            h->last_rx_len[p] = len;
            recv_from(h, p, data + i, len);
            i += len;
            break;
        }
        case 4:
            if (size - i < 2) goto out;
            advance_to(h, h->now + (uint64_t)((unsigned)data[i] << 8 | data[i + 1]) * 8);
            i += 2;
            break;
        case 5:
            if (size - i < 3) goto out;
            if (op & 16) be_outcome(h, data[i] & 1);
            else answer_deferred(h, data[i], data[i + 1], data[i + 2]);
            i += 3;
            break;
        case 6:
            if (size - i < 1) goto out;
            if (op & 16) h->be_down = !h->be_down, i++;
            else change(h, data[i++]);
            break;
        case 7:
            if (size - i < 1) goto out;
            remove_or_add(h, data[i++]);
            break;
        case 8: case 9: case 10: case 11:
            if (size - i < 1) goto out;
            reply(h, p, data[i++]);
            break;
        default:
            if (size - i < 1) goto out;
            h->now += (uint64_t)data[i] * 16;
            if (op & 16) {
                const uint8_t *quote;
                size_t n = icmp_quotes_pick(&h->quotes[p], data[i], &quote);
                (void)tern_engine_unreachable(h->eng, &h->peers[p], quote, n, h->now);
            } else if (h->last_rx_len[p]) recv_from(h, p, h->last_rx[p], h->last_rx_len[p]);
            i++;
            break;
        }
        settle(h);
    }
out:
    /* The backend answers what waits (a store never left hanging). */
    while (h->be_n) be_outcome(h, h->be_n & 1);
    settle(h);
    if (!(data[1] & 4)) {
        /* The peers fall silent. Deferred requests time out, CON
         * notifications go unanswered and end their observers (RFC 7641
         * section 4.5), pending requests expire: both must end up idle. */
        for (int k = 0; k < 100000; k++) {
            uint64_t d = min_deadline(h);
            if (d == UINT64_MAX) break;
            advance_to(h, d);
            drain(h, true);
        }
        if (tern_engine_next_deadline(h->eng) != UINT64_MAX) abort();
        tern_server_stats st;
        tern_server_get_stats(h->srv, &st);
        if (st.observers != 0) abort();
        for (unsigned k = 0; k < N_DEFER; k++)
            if (h->deferred[k] && tern_server_respond_begin(h->srv, h->deferred[k])) abort();
    }
    check_table(h);
    g_counting = false;
    if (g_allocs != 0) abort(); /* the hot path allocated */
    tern_engine_free(h->eng);
    tern_state_free(h->alarm);
    return 0;
}
