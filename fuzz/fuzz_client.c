/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_client.c - libFuzzer target for the client's receive path: token
 * matching (RFC 7252 section 5.3.2), separate responses (5.2.2), Observe
 * (RFC 7641 section 3: freshness, re-registration after Max-Age,
 * deregistration), Block1 (RFC 7959 2.5: the request payload sent block by
 * block from the caller's buffer, 2.31 Continue, 4.13), Block2 (2.4: the
 * body put together in the caller's buffer), notifications completed by
 * GETs (2.6) and group requests (RFC 7252 section 8), as implemented in
 * src/client, on a real endpoint, both inside a tern_engine (client only,
 * no server) that this target drives like any other driver.
 *
 * Small tables, so that every limit is reachable: 3 (or 2) peer slots, 4
 * (or 2) exchanges, 4 pending, 8 dedup entries, a 4 KB (or 1.2 KB) send
 * queue, 4-byte tokens; 4 requests at once, 256 (or 128) bytes of stored
 * request, so that a payload of a few hundred bytes goes block-wise. A fake
 * clock, a xorshift random source, 3 made-up server addresses and a group
 * address. Each server is played by the script, helped by the harness: it
 * remembers the requests the client sent to each server (type, MID, token,
 * Block1, Block2, Observe) and can build a plausible answer to one of them,
 * from a representation of its own (length, ETag, preferred block size)
 * whose byte at offset o is 'a' + (o + etag) % 26.
 *
 * The input is a script:
 *   byte 0   config: bit 0 ack_delay_ms 0 / 1000, bits 1-2 max_retransmit
 *            0..3, bit 3 NSTART 1 / 2, bit 4 observe_margin_ms 2000 / 0,
 *            bit 5 client timeout_ms 93 s / 10 s, bit 6 max_request_size
 *            256 / 128, bit 7 tx_queue_bytes 4096 / 1184 (one datagram)
 *   byte 1   harness: bits 0-1 datagrams drained after a step (0: all, else
 *            1..3, the rest waits), bit 2 free everything without running
 *            the clock out first, bit 3 max_exchanges 4 / 2, bit 4
 *            max_peers 3 / 2 (fewer than the requests or the servers, so
 *            that sends fail)
 *   then steps, each an op byte: op & 15 is what, and for the ops that name
 *   a server, k = ((op >> 4) & 3) % 3:
 *     0      start a request: flags u8, plen u8, cap u8, tmo u8; with op
 *            bit 4 set (0x10) to the group (tern_client_request_group:
 *            every server may answer it), else to a server.
 *            flags: bits 0-1 server, bit 2 NON (else CON), bits 3-4
 *            method GET / PUT / POST / DELETE, bit 5 with a body buffer of
 *            cap * 8 bytes (tern_client_request_body), bit 6 a payload of
 *            plen * 8 bytes (from a buffer of the harness: Block1 when it
 *            does not fit), bit 7 a 100-byte Uri-Query (less room for
 *            blocks). Without bit 6, a plen other than 0 is the value of a
 *            Block2 option of the caller's (NUM 0 early negotiation, or a
 *            later block: refused by tern_client_request_body). tmo:
 *            timeout 0 (default) or tmo * 500 ms
 *     1      start an observation: flags u8, cap u8, tmo u8. flags: bits
 *            0-1 server, bit 2 NON, bit 3 tern_client_observe_body with
 *            cap * 8 bytes, bit 4 a 300-byte payload (too large: refused)
 *     2      tern_client_cancel: which u8 (below 0xFE: one of the last 32
 *            ids handed out, newest first, stale ones included; 0xFE an id
 *            never handed out; 0xFF id 0)
 *     3      tern_client_deregister: which u8, as for 2
 *     4      advance: delta u16 (big endian) * 8 ms, every timer on the way
 *            run when it is due
 *     5      raw datagram from server k: delta u8 * 16 ms, len u8, then
 *            that many bytes; with op bit 6 set the datagram is patched
 *            first: its token becomes that of the newest request sent to k
 *            and with op bit 7 its MID too (options and payload stay raw)
 *     6, 11-15  server k answers a request it got: sel u8, kind u8, code
 *            u8, tweak u8, extra u8.
 *            sel: bits 0-3 which request (0: the newest of the last 16),
 *            bits 4-7 delta * 64 ms before it arrives.
 *            kind & 7: 0 piggybacked ACK, 1 empty ACK, 2 separate CON
 *            response, 3 separate NON response, 4 RST, 5 CON notification,
 *            6 NON notification, 7 empty ACK then a separate CON response.
 *            code: 0 what a server would answer (2.31 or 2.04 to a Block1
 *            block, 2.05 with the block asked for to a GET, 2.01/2.02/2.04
 *            otherwise), 1-31 one of a table of codes, else the raw code.
 *            tweak: bit 0 an unknown critical option, bit 1 an unknown
 *            elective one, bit 2 a wrong MID (ACK, RST), bit 3 SZX 7 in
 *            the Block option, bit 4 the representation changes first (new
 *            ETag), bit 5 a wrong token, bit 6 Block NUM + 1, bit 7 Observe
 *            left out where it belongs, added where it does not (in an
 *            answer to a Block1 block: Size1 16 << (extra & 7) instead of
 *            Block1).
 *            extra: bits 0-2 the Observe number moves by (extra & 7) - 2
 *            (out of order, repeated), and in a 2.31 or 4.13 the SZX named
 *            when smaller than the block's; bits 4-7 Max-Age in s (0:
 *            none)
 *     7      an ICMP error for server k (tern_engine_unreachable),
 *            quoting a request sent there as icmp_quotes_pick reads the
 *            same u8: delta u8 * 16 ms
 *     8      what the next callback does: r u8. r & 3: 0 cancel its id, 1
 *            deregister it, 2 start a GET (to server (r >> 2) % 3, with a
 *            body buffer if bit 4), 3 cancel the oldest other live id;
 *            bit 5 set: nothing (clears it)
 *     9      server k sends its last datagram again: delta u8 * 16 ms
 *     10     server k's representation changes: len u8 (len * 8 bytes),
 *            flags u8: bits 0-2 preferred SZX (7: 6), bit 3 new ETag, bit 4
 *            no ETag at all
 *
 * After every step the harness ticks the engine when due and drains the
 * output. It aborts when an emitted datagram does not parse, exceeds
 * max_message or goes to an address that is not a server (or, for a NON
 * request, the group); when a request the client sends has no 4-byte token,
 * or a payload that is not the caller's bytes at the offset its Block1
 * names (and of the block size, but the last); when a deadline after a tick
 * at T is not after T; when a callback is inconsistent: an unknown id, a
 * call after the last one (observing false) or after tern_client_cancel,
 * resp NULL with err 0 or present with an error other than TERN_E_CANCELLED
 * (or outside a receive, or with no response code, or with a critical
 * option other than Block1/Block2 or one of those with SZX 7, RFC 7252
 * 5.4.1, or in an ACK whose MID the client never sent that server, 5.3.2),
 * an error outside the documented set, a peer that is not the server asked
 * (for a group: one of the servers, with a response), observing true for a
 * plain request (not a group's), after a deregistration or without Observe,
 * a notification delivered that is not fresher than the last one (RFC 7641
 * 3.4; piggybacked answers and the GETs completing a notification
 * excepted), a payload that lies neither in the datagram being received nor
 * (body calls) at the start of the caller's buffer within body_cap, or an
 * assembled body whose bytes are not the representation its ETag names
 * (this one and the freshness check only while every datagram since the
 * request began came from the harness's servers, not from raw script bytes
 * or a block under a wrong NUM); when tern_client_cancel or _deregister
 * answers TERN_E_NOTFOUND for an id the harness holds live, or anything
 * else for one it does not; when tern_client_active() is not the number of
 * ids the harness holds live; when anything allocates after creation; and
 * when, after the servers have fallen silent and the clock has run out,
 * anything is left: every request and observation must end
 * (re-registrations time out) and tern_engine_next_deadline() must be
 * UINT64_MAX. The caller's buffers (Block1 payloads, Block2 bodies) are
 * poisoned for ASan whenever no live request owns them, and beyond
 * body_cap, so that a read or write after the end or past the cap is
 * caught. ASan/UBSan and LeakSanitizer check the rest.
 *
 * FUZZ_CLIENT_TRACE=1 in the environment prints every datagram in and out,
 * and every callback, to see what a seed or a crashing input does. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/allocator_interface.h>
#include <sanitizer/asan_interface.h>

#include "icmp_quotes.h"
#include "tern/client.h"
#include "tern/endpoint.h"
#include "tern/engine.h"

#define N_SRV 3
#define N_HIST 16
#define MAX_REQUESTS 4
#define EP_MAX_MESSAGE 1152
#define MAX_IDS 4096
#define N_BUF 6
#define BUF_CAP 2048
#define DG_CAP 1400
#define OPT_CRIT_UNKNOWN 2049 /* odd: critical; in no table */
#define OPT_ELEC_UNKNOWN 2052 /* even: elective */

/* A request the client sent to a server, as the harness saw it leave. */
typedef struct sent {
    uint8_t type, code;
    uint16_t mid;
    uint8_t tkl;
    uint8_t tok[TERN_TOKEN_MAX];
    bool has_b1, has_b2, has_obs;
    tern_block b1, b2;
    uint32_t obs;
} sent;

typedef struct server {
    tern_addr addr;
    uint16_t mid;   /* MID of its next CON/NON */
    uint32_t seq;   /* Observe sequence number */
    uint8_t etag;   /* names the representation */
    bool no_etag;
    uint8_t szx;    /* preferred Block2 size */
    size_t rep_len;
    unsigned n_hist;
    sent hist[N_HIST]; /* newest first */
    icmp_quotes quotes; /* the first bytes of what went there, for ICMP errors */
    uint8_t last[DG_CAP];
    size_t last_len;
    bool last_raw; /* last came from the script's bytes */
} server;

enum { ID_NONE = 0, ID_LIVE, ID_DONE, ID_CANCELLED };

typedef struct op_rec {
    uint8_t status;
    bool observe;
    bool group; /* tern_client_request_group */
    bool dereg; /* tern_client_deregister accepted */
    uint8_t srv;
    int body;   /* body buffer, or -1 */
    int pay;    /* payload buffer, or -1 */
    size_t cap;
    uint64_t raw_at_start;
    uint8_t tkl; /* an observation's token */
    uint8_t tok[TERN_TOKEN_MAX];
    /* RFC 7641 section 3.4 compares a notification with the last one the
     * client *received* - which may be block 0 of a block-wise one whose
     * rest never came, so never delivered. deliver() mirrors the client's
     * rule on each datagram with the observation's token: the newest
     * accepted (recv_*), and the one before the datagram being received
     * (prev_*), which on_event checks a delivered notification against. */
    bool has_recv, has_prev;
    uint32_t recv_seq, prev_seq;
    uint64_t recv_ms, prev_ms;
    /* ... and the last one delivered. The mirror cannot know every reason
     * the client has to refuse a datagram, the last delivered misses what
     * was received and not delivered: a notification that is older than
     * both is one the client should not have delivered. */
    bool has_last;
    uint32_t last_seq;
    uint64_t last_ms;
} op_rec;

typedef struct harness {
    tern_engine *eng;
    tern_client *cli;
    uint64_t now;
    uint64_t rng;
    unsigned drain_max;
    server srv[N_SRV];
    tern_addr group;
    uint8_t mids[N_SRV][65536 / 8]; /* MIDs of requests sent to each server */
    uint8_t con_open[N_SRV][65536 / 8]; /* CONs to each not yet acknowledged */
    /* The datagram being received, while tern_engine_recv runs. */
    const uint8_t *rx;
    size_t rx_len;
    uint64_t n_raw;     /* raw datagrams delivered so far */
    uint8_t reaction;   /* 0: none, else 0x80 | r */
    unsigned attempts;  /* starts tried: each may use up an id */
    unsigned n_live;    /* ids whose record is ID_LIVE */
    unsigned n_ids;
    /* The caller's buffers in use: cleared with the rest, since an input
     * may end with requests (and their buffers) still live. */
    bool buf_used[N_BUF], pay_used[N_BUF];
    /* ids and recs stay last: a new input clears everything before ids and
     * only the records of the ids the last one handed out. */
    tern_client_op_id ids[MAX_IDS];
    op_rec recs[MAX_IDS];
} harness;

static uint8_t g_body[N_BUF][BUF_CAP];
static uint8_t g_pay[N_BUF][BUF_CAP];
static uint8_t g_rep[BUF_CAP];
static uint8_t g_dg[DG_CAP];
static uint8_t g_query[100];

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

/* ---- contents ------------------------------------------------------------ */

static uint8_t pay_byte(size_t o) { return (uint8_t)(o * 31u + 7u); }
static uint8_t rep_byte(size_t o, uint8_t etag) { return (uint8_t)('a' + (o + etag) % 26u); }

/* ---- the caller's buffers ------------------------------------------------ */

static int buf_take(bool used[N_BUF]) {
    for (int i = 0; i < N_BUF; i++)
        if (!used[i]) {
            used[i] = true;
            return i;
        }
    abort(); /* at most MAX_REQUESTS + 1 are ever in use */
}

static void rec_release(harness *h, op_rec *r) {
    if (r->body >= 0) {
        ASAN_POISON_MEMORY_REGION(g_body[r->body], BUF_CAP);
        h->buf_used[r->body] = false;
        r->body = -1;
    }
    if (r->pay >= 0) {
        ASAN_POISON_MEMORY_REGION(g_pay[r->pay], BUF_CAP);
        h->pay_used[r->pay] = false;
        r->pay = -1;
    }
}

/* Recounted from the records; n_live keeps the same number as it goes. */
static size_t live_count(const harness *h) {
    size_t n = 0;
    for (unsigned i = 0; i < h->n_ids; i++)
        if (h->recs[h->ids[i]].status == ID_LIVE) n++;
    return n;
}

/* ---- tracing --------------------------------------------------------------- */

static bool g_trace;

static void on_trace(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg) {
    harness *h = ctx;
    char line[512];
    tern_msg_format(msg, line, sizeof line);
    if (tern_addr_equal(peer, &h->group))
        fprintf(stderr, "%8llu %s group  %s\n", (unsigned long long)h->now, outgoing ? "<-" : "->",
                line);
    else
        fprintf(stderr, "%8llu %s srv %u  %s\n", (unsigned long long)h->now,
                outgoing ? "<-" : "->", (unsigned)peer->bytes[3] - 1u, line);
}

/* ---- the callback ---------------------------------------------------------- */

static void react(harness *h, tern_client_op_id id, uint64_t now);

static bool in_buf(const uint8_t *p, size_t n, const uint8_t *b, size_t cap) {
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)b;
    return a >= lo && a <= lo + cap && n <= cap - (size_t)(a - lo);
}

static void check_body(const harness *h, const op_rec *r, const tern_msg *resp) {
    if (resp->payload_len == 0) return;
    if (resp->payload == NULL) abort();
    /* As it came: inside the datagram being received. */
    if (h->rx && in_buf(resp->payload, resp->payload_len, h->rx, h->rx_len)) return;
    /* Assembled (RFC 7959 2.4): the caller's buffer, from its start. */
    if (r->body < 0) abort();
    const uint8_t *b = g_body[r->body];
    if (resp->payload != b || resp->payload_len > r->cap) abort();
    /* All blocks of one representation: the one the last block's ETag
     * names, if every block came from the harness's server. */
    tern_opt et;
    if (h->n_raw != r->raw_at_start || tern_msg_find_opt(resp, TERN_OPT_ETAG, &et) != 0 ||
        et.len != 1)
        return;
    for (size_t o = 0; o < resp->payload_len; o++)
        if (b[o] != rep_byte(o, et.val[0])) abort();
}

/* Section 5.4.1: the client shows no response with a critical option it
 * cannot process: it knows Block1 and Block2 only, and not with SZX 7. */
static void check_options(const tern_msg *m) {
    tern_opt_iter it;
    tern_opt o;
    tern_opt_iter_init(&it, m);
    while (tern_opt_next(&it, &o)) {
        if (!tern_opt_is_critical(o.num)) continue;
        if (o.num != TERN_OPT_BLOCK1 && o.num != TERN_OPT_BLOCK2) abort();
        uint32_t v;
        tern_block b;
        if (tern_opt_uint_decode(o.val, o.len, &v) != 0 || tern_block_decode(v, &b) != 0) abort();
    }
}

static int server_index(const harness *h, const tern_addr *a);

static void on_event(void *ctx, tern_client *cli, tern_client_op_id id, const tern_client_event *ev,
                     uint64_t now_ms) {
    harness *h = ctx;
    if (cli != h->cli || now_ms != h->now || !ev) abort();
    if (id == 0 || id >= MAX_IDS) abort();
    op_rec *r = &h->recs[id];
    if (r->status != ID_LIVE) abort(); /* unknown, ended, or cancelled */
    if (g_trace) {
        char line[512] = "";
        if (ev->resp) tern_msg_format(ev->resp, line, sizeof line);
        fprintf(stderr, "%8llu    id %u err %d%s%s obs %d:%u  %s\n", (unsigned long long)now_ms,
                (unsigned)id, ev->err, ev->observing ? " observing" : " last",
                r->dereg ? " (dereg)" : "", ev->has_observe, (unsigned)ev->observe, line);
    }
    if (!ev->peer) abort();
    int from = server_index(h, ev->peer);
    if (r->group ? !(ev->resp ? from >= 0 : tern_addr_equal(ev->peer, &h->group))
                 : from != r->srv)
        abort();
    switch (ev->err) {
    case 0:
        if (!ev->resp) abort();
        break;
    case TERN_E_CANCELLED:
        /* Only the end of a deregistration. */
        if (!r->dereg || ev->observing) abort();
        break;
    case TERN_E_TIMEOUT: case TERN_E_RESET: case TERN_E_UNREACHABLE: case TERN_E_FULL:
    case TERN_E_NOSPACE:
        if (ev->resp || ev->observing) abort();
        break;
    case TERN_E_FORMAT: case TERN_E_STATE:
        /* Block2 reassembly errors. */
        if (ev->resp || ev->observing || r->body < 0) abort();
        break;
    default:
        abort();
    }
    if (ev->observing && r->group) {
        /* Section 8.2: one call per answer until the deadline. */
        if (ev->err != 0) abort();
    } else if (ev->observing && (!r->observe || r->dereg || !ev->has_observe)) {
        abort();
    } else if (ev->observing) {
        /* RFC 7641 section 3.4: never an older state after a newer one. */
        const tern_msg *m = ev->resp;
        bool notification = m->type != TERN_TYPE_ACK && m->token_len == r->tkl &&
                            memcmp(m->token, r->tok, r->tkl) == 0;
        if (notification && r->has_prev && r->has_last && h->n_raw == r->raw_at_start &&
            !tern_observe_is_fresher(r->prev_seq, r->prev_ms, ev->observe, now_ms) &&
            !tern_observe_is_fresher(r->last_seq, r->last_ms, ev->observe, now_ms))
            abort();
        r->has_last = true;
        r->last_seq = ev->observe;
        r->last_ms = now_ms;
    }
    /* A response exists only while a datagram is being received. */
    if (ev->resp) {
        if (!h->rx || !tern_code_is_response(ev->resp->code)) abort();
        check_options(ev->resp);
        /* Section 5.3.2: a piggybacked answer carries the MID of our CON. */
        if (ev->resp->type == TERN_TYPE_ACK &&
            !(h->mids[from][ev->resp->mid >> 3] & (1u << (ev->resp->mid & 7))))
            abort();
        check_body(h, r, ev->resp);
    }
    if (!ev->observing) {
        r->status = ID_DONE;
        h->n_live--;
        rec_release(h, r);
    }
    react(h, id, now_ms);
}

/* ---- starting ------------------------------------------------------------- */

static void started(harness *h, int rc, tern_client_op_id id, op_rec *tmp) {
    if (rc != 0) {
        rec_release(h, tmp);
        return;
    }
    if (id == 0 || id >= MAX_IDS || h->recs[id].status != ID_NONE) abort();
    h->recs[id] = *tmp;
    h->recs[id].status = ID_LIVE;
    h->n_live++;
    h->ids[h->n_ids++] = id;
}

static void start_request(harness *h, bool group, uint8_t flags, uint8_t plen, uint8_t cap,
                          uint8_t tmo) {
    if (h->attempts >= MAX_IDS - 2) return;
    h->attempts++;
    static const uint8_t methods[4] = {TERN_CODE_GET, TERN_CODE_PUT, TERN_CODE_POST,
                                       TERN_CODE_DELETE};
    op_rec r = {.srv = (uint8_t)((flags & 3u) % N_SRV), .body = -1, .pay = -1,
                .raw_at_start = h->n_raw, .group = group};
    tern_msgb b;
    tern_msgb_init(&b, flags & 4 ? TERN_TYPE_NON : TERN_TYPE_CON, methods[(flags >> 3) & 3u], 0);
    (void)tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "res");
    if (flags & 128) (void)tern_msgb_add_opt(&b, TERN_OPT_URI_QUERY, g_query, sizeof g_query);
    if (!(flags & 64) && plen) (void)tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, plen);
    if (flags & 64) {
        size_t n = (size_t)plen * 8u;
        r.pay = buf_take(h->pay_used);
        ASAN_UNPOISON_MEMORY_REGION(g_pay[r.pay], n);
        for (size_t o = 0; o < n; o++) g_pay[r.pay][o] = pay_byte(o);
        tern_msgb_set_payload(&b, g_pay[r.pay], n);
    }
    uint32_t timeout = (uint32_t)tmo * 500u;
    tern_client_op_id id = 0;
    int rc;
    if (group) {
        rc = tern_client_request_group(h->cli, &h->group, &b, timeout, on_event, h, h->now, &id);
        /* Section 8.1: a group request is NON. */
        if (!(flags & 4) && rc != TERN_E_INVAL) abort();
    } else if (flags & 32) {
        r.cap = (size_t)cap * 8u;
        r.body = buf_take(h->buf_used);
        ASAN_UNPOISON_MEMORY_REGION(g_body[r.body], r.cap);
        rc = tern_client_request_body(h->cli, &h->srv[r.srv].addr, &b, g_body[r.body], r.cap,
                                      timeout, on_event, h, h->now, &id);
        /* Section 2.4: the caller may ask for block 0 only. */
        if (!(flags & 64) && plen >> 4 && ((flags >> 3) & 3u) == 0 && rc != TERN_E_INVAL) abort();
    } else {
        rc = tern_client_request(h->cli, &h->srv[r.srv].addr, &b, timeout, on_event, h, h->now,
                                 &id);
    }
    started(h, rc, id, &r);
}

static void start_observe(harness *h, uint8_t flags, uint8_t cap, uint8_t tmo) {
    if (h->attempts >= MAX_IDS - 2) return;
    h->attempts++;
    op_rec r = {.srv = (uint8_t)((flags & 3u) % N_SRV), .body = -1, .pay = -1, .observe = true,
                .raw_at_start = h->n_raw};
    tern_msgb b;
    tern_msgb_init(&b, flags & 4 ? TERN_TYPE_NON : TERN_TYPE_CON, TERN_CODE_GET, 0);
    (void)tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "obs");
    if (flags & 16) {
        r.pay = buf_take(h->pay_used);
        ASAN_UNPOISON_MEMORY_REGION(g_pay[r.pay], 300);
        for (size_t o = 0; o < 300; o++) g_pay[r.pay][o] = pay_byte(o);
        tern_msgb_set_payload(&b, g_pay[r.pay], 300);
    }
    uint32_t timeout = (uint32_t)tmo * 500u;
    tern_client_op_id id = 0;
    int rc;
    if (flags & 8) {
        r.cap = (size_t)cap * 8u;
        r.body = buf_take(h->buf_used);
        ASAN_UNPOISON_MEMORY_REGION(g_body[r.body], r.cap);
        rc = tern_client_observe_body(h->cli, &h->srv[r.srv].addr, &b, g_body[r.body], r.cap,
                                      timeout, on_event, h, h->now, &id);
    } else {
        rc = tern_client_observe(h->cli, &h->srv[r.srv].addr, &b, timeout, on_event, h, h->now,
                                 &id);
    }
    /* No Block1 for an observation: the payload is refused. */
    if (flags & 16 && rc != TERN_E_NOSPACE && rc != TERN_E_FULL) abort();
    r.tkl = b.token_len;
    memcpy(r.tok, b.token, sizeof r.tok);
    started(h, rc, id, &r);
}

static tern_client_op_id pick_id(const harness *h, uint8_t which) {
    if (which == 0xFF) return 0;
    if (which == 0xFE) return h->n_ids ? h->ids[h->n_ids - 1] + 1000u : 1000u;
    if (h->n_ids == 0) return 1;
    unsigned span = h->n_ids < 32 ? h->n_ids : 32;
    return h->ids[h->n_ids - 1 - which % span];
}

static bool is_live(const harness *h, tern_client_op_id id) {
    return id != 0 && id < MAX_IDS && h->recs[id].status == ID_LIVE;
}

static void do_cancel(harness *h, tern_client_op_id id) {
    bool live = is_live(h, id);
    int rc = tern_client_cancel(h->cli, id, h->now);
    if (rc != (live ? 0 : TERN_E_NOTFOUND)) abort();
    if (live) {
        h->recs[id].status = ID_CANCELLED;
        h->n_live--;
        rec_release(h, &h->recs[id]);
    }
}

static void do_deregister(harness *h, tern_client_op_id id) {
    bool live = is_live(h, id);
    int rc = tern_client_deregister(h->cli, id, h->now);
    if (!live) {
        if (rc != TERN_E_NOTFOUND) abort();
        return;
    }
    op_rec *r = &h->recs[id];
    if (!r->observe && rc != TERN_E_STATE) abort();
    if (rc == TERN_E_NOTFOUND) abort();
    if (rc == 0) r->dereg = true;
}

/* The reaction the script asked for, inside a callback (all of these are
 * documented as safe there). */
static void react(harness *h, tern_client_op_id id, uint64_t now) {
    uint8_t r = h->reaction;
    if (!(r & 0x80)) return;
    h->reaction = 0;
    switch (r & 3u) {
    case 0:
        /* During its last call the id is still live for the client: cancel
         * may find it or not; either way no further call comes. */
        if (h->recs[id].status == ID_LIVE) {
            do_cancel(h, id);
        } else {
            (void)tern_client_cancel(h->cli, id, now);
        }
        break;
    case 1:
        if (h->recs[id].status == ID_LIVE) {
            do_deregister(h, id);
        } else {
            (void)tern_client_deregister(h->cli, id, now);
        }
        break;
    case 2:
        start_request(h, false, (uint8_t)(((r >> 2) & 3u) | (r & 16 ? 32u : 0u)), 0, 64, 0);
        break;
    default:
        for (unsigned i = 0; i < h->n_ids; i++) {
            tern_client_op_id o = h->ids[i];
            if (o != id && h->recs[o].status == ID_LIVE) {
                do_cancel(h, o);
                break;
            }
        }
        break;
    }
}

/* ---- driving ---------------------------------------------------------------- */

static int server_index(const harness *h, const tern_addr *a) {
    for (int i = 0; i < N_SRV; i++)
        if (tern_addr_equal(&h->srv[i].addr, a)) return i;
    return -1;
}

static void check_out(harness *h, const tern_datagram *dg) {
    tern_msg m;
    if (dg->len > EP_MAX_MESSAGE) abort();
    if (tern_msg_parse(&m, dg->data, dg->len) != 0) abort(); /* valid CoAP */
    int k = server_index(h, dg->peer);
    bool group = tern_addr_equal(dg->peer, &h->group);
    if (k >= 0) icmp_quotes_sent(&h->srv[k].quotes, dg->data, dg->len);
    /* Sent to someone who is no server; to the group, only NON requests
     * (RFC 7252 section 8.1). */
    if (k < 0 && !(group && m.type == TERN_TYPE_NON && tern_code_is_request(m.code))) abort();
    if (!tern_code_is_request(m.code) || m.type > TERN_TYPE_NON) return;
    /* Section 5.3.1: every request of ours has a fresh token. */
    if (m.token_len != 4) abort();
    sent s = {.type = m.type, .code = m.code, .mid = m.mid, .tkl = m.token_len};
    memcpy(s.tok, m.token, m.token_len);
    s.has_b1 = tern_msg_get_block(&m, TERN_OPT_BLOCK1, &s.b1) == 0;
    s.has_b2 = tern_msg_get_block(&m, TERN_OPT_BLOCK2, &s.b2) == 0;
    s.has_obs = tern_msg_get_uint(&m, TERN_OPT_OBSERVE, &s.obs) == 0;
    /* The payload is the caller's, block by block (RFC 7959 2.5). */
    size_t off = 0;
    if (s.has_b1) {
        size_t size = tern_block_size(s.b1.szx);
        off = (size_t)s.b1.num * size;
        if (m.payload_len == 0 || m.payload_len > size || (s.b1.more && m.payload_len != size))
            abort();
        uint32_t size1;
        if (s.b1.num == 0 && tern_msg_get_uint(&m, TERN_OPT_SIZE1, &size1) != 0) abort();
    }
    for (size_t o = 0; o < m.payload_len; o++)
        if (m.payload[o] != pay_byte(off + o)) abort();
    /* A group request reaches every server. */
    for (int j = group ? 0 : k; j < (group ? N_SRV : k + 1); j++) {
        server *sv = &h->srv[j];
        memmove(&sv->hist[1], &sv->hist[0], (N_HIST - 1) * sizeof(sent));
        sv->hist[0] = s;
        if (sv->n_hist < N_HIST) sv->n_hist++;
        if (!group) h->mids[j][m.mid >> 3] = (uint8_t)(h->mids[j][m.mid >> 3] | 1u << (m.mid & 7));
        if (!group && m.type == TERN_TYPE_CON)
            h->con_open[j][m.mid >> 3] = (uint8_t)(h->con_open[j][m.mid >> 3] | 1u << (m.mid & 7));
    }
}

static void check_limits(const harness *h) {
    size_t active = tern_client_active(h->cli);
    if (active > MAX_REQUESTS) abort();
    if (active != h->n_live) abort();
}

static void drain(harness *h, bool all) {
    tern_datagram dg[8];
    size_t max = all || !h->drain_max ? 8 : h->drain_max;
    for (unsigned rounds = 0;; rounds++) {
        size_t n = tern_engine_outgoing(h->eng, dg, max);
        for (size_t k = 0; k < n; k++) check_out(h, &dg[k]);
        tern_engine_sent(h->eng, n);
        if (n < max || (!all && h->drain_max)) break;
        if (rounds > 100000) abort();
    }
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
    check_limits(h);
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

/* The client's freshness state for the observations buf is addressed to:
 * a 2.xx with Observe and an observation's token from its server. An ACK
 * (the answer to a registration) is taken whatever its number, anything
 * else when fresher (RFC 7641 sections 3.4, 3.3.1). */
static void mirror_freshness(harness *h, unsigned k, const uint8_t *buf, size_t len) {
    tern_msg m;
    uint32_t obs;
    if (tern_msg_parse(&m, buf, len) != 0 || TERN_CODE_CLASS(m.code) != 2 ||
        tern_msg_get_uint(&m, TERN_OPT_OBSERVE, &obs) != 0)
        return;
    /* One the client refuses does not count: an unrecognised critical
     * option (RFC 7252 5.4.1), a malformed Block2 (RFC 7959 2.2). */
    tern_opt_iter it;
    tern_opt o;
    tern_opt_iter_init(&it, &m);
    while (tern_opt_next(&it, &o))
        if ((o.num & 1u) && tern_opt_lookup(o.num) == NULL) return;
    tern_block blk;
    if (tern_msg_find_opt(&m, TERN_OPT_BLOCK2, &o) == 0 &&
        tern_msg_get_block(&m, TERN_OPT_BLOCK2, &blk) != 0)
        return;
    /* An ACK counts only as the first answer to a CON of ours (RFC 7252
     * 4.2: any other is ignored). */
    if (m.type == TERN_TYPE_ACK) {
        uint8_t bit = (uint8_t)(1u << (m.mid & 7));
        if (!(h->con_open[k][m.mid >> 3] & bit)) return;
        h->con_open[k][m.mid >> 3] = (uint8_t)(h->con_open[k][m.mid >> 3] & ~bit);
    }
    for (unsigned i = 0; i < h->n_ids; i++) {
        op_rec *r = &h->recs[h->ids[i]];
        if (r->status != ID_LIVE || !r->observe || r->group || r->srv != k ||
            m.token_len != r->tkl || memcmp(m.token, r->tok, r->tkl) != 0)
            continue;
        r->has_prev = r->has_recv;
        r->prev_seq = r->recv_seq;
        r->prev_ms = r->recv_ms;
        if (m.type == TERN_TYPE_ACK || !r->has_recv ||
            tern_observe_is_fresher(r->recv_seq, r->recv_ms, obs, h->now)) {
            r->has_recv = true;
            r->recv_seq = obs;
            r->recv_ms = h->now;
        }
    }
}

static void deliver(harness *h, unsigned k, const uint8_t *buf, size_t len, bool is_raw) {
    server *sv = &h->srv[k];
    if (is_raw) h->n_raw++;
    mirror_freshness(h, k, buf, len);
    if (buf != sv->last) {
        memcpy(sv->last, buf, len);
        sv->last_len = len;
        sv->last_raw = is_raw;
    }
    h->rx = buf;
    h->rx_len = len;
    (void)tern_engine_recv(h->eng, &sv->addr, buf, len, h->now);
    h->rx = NULL;
    h->rx_len = 0;
}

static void raw(harness *h, unsigned k, uint8_t op, const uint8_t *p, size_t len) {
    server *sv = &h->srv[k];
    if (!(op & 64) || sv->n_hist == 0 || len < 4) {
        deliver(h, k, p, len, true);
        return;
    }
    /* The header's type and code, the token of the newest request. */
    const sent *s = &sv->hist[0];
    size_t tkl = p[0] & 15u;
    if (tkl > 8) tkl = 0;
    if (tkl > len - 4) tkl = len - 4;
    size_t rest = len - 4 - tkl;
    uint8_t *b = g_dg;
    b[0] = (uint8_t)((p[0] & 0xF0u) | s->tkl);
    b[1] = p[1];
    b[2] = op & 128 ? (uint8_t)(s->mid >> 8) : p[2];
    b[3] = op & 128 ? (uint8_t)s->mid : p[3];
    memcpy(b + 4, s->tok, s->tkl);
    memcpy(b + 4 + s->tkl, p + 4 + tkl, rest);
    deliver(h, k, b, 4 + s->tkl + rest, true);
}

static const uint8_t answer_codes[] = {
    TERN_CODE_CONTENT, TERN_CODE_CHANGED, TERN_CODE_CREATED, TERN_CODE_CONTINUE,
    TERN_CODE_NOT_FOUND, TERN_CODE_REQUEST_ENTITY_TOO_LARGE, TERN_CODE_REQUEST_ENTITY_INCOMPLETE,
    TERN_CODE_SERVICE_UNAVAILABLE, TERN_CODE_VALID, TERN_CODE_BAD_REQUEST, TERN_CODE_BAD_OPTION,
    TERN_CODE_DELETED, TERN_CODE_INTERNAL_SERVER_ERROR, TERN_CODE_EMPTY, TERN_CODE(1, 0),
    TERN_CODE_GET};

static uint32_t block_val(const tern_block *b, bool szx7) {
    uint32_t v = (b->num & 0xFFFFFu) << 4 | (b->more ? 8u : 0u) | b->szx;
    if (szx7) v |= 7u;
    return v;
}

/* Server k answers the request sel names, as a server would, with the
 * script's variations. */
static void answer(harness *h, unsigned k, const uint8_t a[5]) {
    server *sv = &h->srv[k];
    if (sv->n_hist == 0) return;
    sent s = sv->hist[(a[0] & 15u) % sv->n_hist];
    h->now += (uint64_t)(a[0] >> 4) * 64u;
    unsigned kind = a[1] & 7u;
    uint8_t csel = a[2], tw = a[3], extra = a[4];
    if (tw & 16) sv->etag++;
    if (tw & 32) s.tok[s.tkl ? s.tkl - 1 : 0] ^= 0x5A;
    uint16_t mid = tw & 4 ? (uint16_t)(s.mid + 1u + (a[1] >> 3)) : s.mid;

    if (kind == 1 || kind == 4 || kind == 7) {
        uint8_t e[4] = {(uint8_t)(0x40u | (kind == 4 ? 3u : 2u) << 4), 0, (uint8_t)(mid >> 8),
                        (uint8_t)mid};
        deliver(h, k, e, sizeof e, false);
        if (kind != 7) return;
        settle(h);
    }
    uint8_t type = kind == 0                 ? TERN_TYPE_ACK
                   : kind == 3 || kind == 6 ? TERN_TYPE_NON
                                             : TERN_TYPE_CON;
    bool notification = kind == 5 || kind == 6;
    tern_msgb b;
    tern_msgb_init(&b, (tern_type)type, TERN_CODE_CONTENT, type == TERN_TYPE_ACK ? mid : sv->mid++);
    if (s.tkl) (void)tern_msgb_set_token(&b, s.tok, s.tkl);

    bool get = s.code == TERN_CODE_GET || s.code == TERN_CODE_FETCH;
    bool want_obs = notification || (s.has_obs && s.obs == TERN_OBSERVE_REGISTER);
    if (tw & 128 && !(s.has_b1 && !notification)) want_obs = !want_obs;
    uint8_t code;
    const uint8_t *pl = NULL;
    size_t plen = 0;
    if (s.has_b1 && !notification) {
        tern_block b1 = s.b1;
        uint8_t z = extra & 7u;
        if (z < b1.szx) b1.szx = z;
        if (tw & 64) b1.num++;
        code = b1.more ? TERN_CODE_CONTINUE : TERN_CODE_CHANGED;
        if (tw & 128)
            (void)tern_msgb_add_uint(&b, TERN_OPT_SIZE1, 16u << (extra & 7u));
        else
            (void)tern_msgb_add_uint(&b, TERN_OPT_BLOCK1, block_val(&b1, tw & 8));
    } else if (get || notification) {
        code = TERN_CODE_CONTENT;
        uint8_t z = sv->szx;
        size_t off = 0;
        if (s.has_b2 && !notification) {
            if (s.b2.szx < z) z = s.b2.szx;
            off = (size_t)s.b2.num << (s.b2.szx + 4u);
        }
        size_t size = tern_block_size(z);
        off -= off % size;
        for (size_t o = 0; o < sv->rep_len; o++) g_rep[o] = rep_byte(o, sv->etag);
        if (off == 0 && !(s.has_b2 && !notification) && sv->rep_len <= size && !(tw & 72)) {
            pl = g_rep;
            plen = sv->rep_len;
        } else {
            tern_block b2 = {.num = (uint32_t)(off / size), .more = off + size < sv->rep_len,
                             .szx = z};
            if (off < sv->rep_len) {
                pl = g_rep + off;
                plen = sv->rep_len - off < size ? sv->rep_len - off : size;
            }
            if (tw & 64) b2.num++;
            (void)tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, block_val(&b2, tw & 8));
        }
        if (!sv->no_etag) (void)tern_msgb_add_opt(&b, TERN_OPT_ETAG, &sv->etag, 1);
        (void)tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, TERN_CF_TEXT_PLAIN);
    } else {
        code = s.code == TERN_CODE_POST     ? TERN_CODE_CREATED
               : s.code == TERN_CODE_DELETE ? TERN_CODE_DELETED
                                            : TERN_CODE_CHANGED;
        pl = (const uint8_t *)"ok";
        plen = 2;
        if (tw & 8) (void)tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x0Fu);
    }
    if (csel) code = csel < 32 ? answer_codes[csel % sizeof answer_codes] : csel;
    b.code = code;
    if (want_obs) {
        int32_t d = (int32_t)(extra & 7u) - 2;
        sv->seq = (uint32_t)((int32_t)sv->seq + d) & TERN_OBSERVE_SEQ_MASK;
        (void)tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, sv->seq);
    }
    if (extra >> 4) (void)tern_msgb_add_uint(&b, TERN_OPT_MAX_AGE, extra >> 4u);
    if (tw & 1) (void)tern_msgb_add_opt(&b, OPT_CRIT_UNKNOWN, "x", 1);
    if (tw & 2) (void)tern_msgb_add_opt(&b, OPT_ELEC_UNKNOWN, "y", 1);
    if (plen) tern_msgb_set_payload(&b, pl, plen);
    int n = tern_msgb_encode(&b, g_dg, sizeof g_dg);
    if (n <= 0) return; /* e.g. an Empty code with a token */
    /* A block under a wrong NUM may land where the client expects one:
     * then the body holds bytes of another offset (the script lied). */
    deliver(h, k, g_dg, (size_t)n, (tw & 64) != 0);
}

static void representation(harness *h, unsigned k, uint8_t len, uint8_t flags) {
    server *sv = &h->srv[k];
    sv->rep_len = (size_t)len * 8u;
    sv->szx = (uint8_t)((flags & 7u) == 7u ? 6u : flags & 7u);
    if (flags & 8) sv->etag++;
    sv->no_etag = (flags & 16) != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool hooked;
    if (!hooked) {
        __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
        hooked = true;
        g_trace = getenv("FUZZ_CLIENT_TRACE") != NULL;
        memset(g_query, 'q', sizeof g_query);
    }
    if (size < 2) return 0;
    static harness hs;
    harness *h = &hs;
    /* Only what the last input used: recs alone is some 200 KB, and
     * clearing all of it for every input was a measurable share of the run.
     * Every record ever written belongs to an id in ids (started()). */
    for (unsigned k = 0; k < h->n_ids; k++) memset(&h->recs[h->ids[k]], 0, sizeof h->recs[0]);
    memset(h, 0, offsetof(harness, ids));
    ASAN_POISON_MEMORY_REGION(g_body, sizeof g_body);
    ASAN_POISON_MEMORY_REGION(g_pay, sizeof g_pay);
    h->rng = 0x853C49E6748FEA9BULL;
    h->now = 1000;
    for (unsigned i = 0; i < N_SRV; i++) {
        server *sv = &h->srv[i];
        sv->addr.len = 6;
        sv->addr.bytes[0] = 10;
        sv->addr.bytes[3] = (uint8_t)(i + 1);
        sv->addr.bytes[4] = 0x16;
        sv->addr.bytes[5] = 0x33;
        sv->mid = (uint16_t)(0x1000u * (i + 1));
        sv->seq = 10;
        sv->szx = 2; /* 64-byte blocks */
        sv->rep_len = 40;
        sv->etag = (uint8_t)(0x10u * (i + 1));
    }
    h->group.len = 6;
    h->group.bytes[0] = 224;
    h->group.bytes[3] = 187;
    h->group.bytes[4] = 0x16;
    h->group.bytes[5] = 0x33;

    uint8_t cfg = data[0];
    h->drain_max = data[1] & 3u;
    tern_endpoint_config c;
    tern_endpoint_config_default(&c);
    c.ack_delay_ms = cfg & 1 ? 1000 : 0;
    c.max_retransmit = (cfg >> 1) & 3u;
    c.nstart = cfg & 8 ? 2 : 1;
    c.max_peers = data[1] & 16 ? 2 : 3;
    c.max_exchanges = data[1] & 8 ? 2 : 4;
    c.max_pending = 4;
    c.max_dedup = 8;
    c.max_message = EP_MAX_MESSAGE;
    c.tx_queue_bytes = cfg & 128 ? EP_MAX_MESSAGE + 32 : 4096;
    c.token_len = 4;
    c.random = fuzz_random;
    c.random_ctx = &h->rng;

    tern_client_config cc;
    tern_client_config_default(&cc);
    cc.max_requests = MAX_REQUESTS;
    cc.max_request_size = cfg & 64 ? 128 : 256;
    cc.timeout_ms = cfg & 32 ? 10000 : 0;
    cc.observe_margin_ms = cfg & 16 ? 0 : 2000;

    tern_engine_config ec;
    tern_engine_config_default(&ec);
    ec.endpoint = &c;
    ec.client = &cc;
    if (g_trace) ec.trace = on_trace, ec.trace_ctx = h;
    if (tern_engine_new(&h->eng, &ec) != 0) abort();
    h->cli = tern_engine_client(h->eng, NULL);
    if (!h->cli) abort();

    g_allocs = 0;
    g_counting = true;
    size_t i = 2;
    while (i < size) {
        uint8_t op = data[i++];
        unsigned k = ((op >> 4) & 3u) % N_SRV;
        switch (op & 15) {
        case 0:
            if (size - i < 4) goto out;
            start_request(h, (op & 16) != 0, data[i], data[i + 1], data[i + 2], data[i + 3]);
            i += 4;
            break;
        case 1:
            if (size - i < 3) goto out;
            start_observe(h, data[i], data[i + 1], data[i + 2]);
            i += 3;
            break;
        case 2:
            if (size - i < 1) goto out;
            do_cancel(h, pick_id(h, data[i++]));
            break;
        case 3:
            if (size - i < 1) goto out;
            do_deregister(h, pick_id(h, data[i++]));
            break;
        case 4:
            if (size - i < 2) goto out;
            advance_to(h, h->now + (uint64_t)((unsigned)data[i] << 8 | data[i + 1]) * 8);
            i += 2;
            break;
        case 5: {
            if (size - i < 2) goto out;
            h->now += (uint64_t)data[i++] * 16;
            size_t len = data[i++];
            if (len > size - i) len = size - i;
            raw(h, k, op, data + i, len);
            i += len;
            break;
        }
        case 7: {
            if (size - i < 1) goto out;
            h->now += (uint64_t)data[i] * 16;
            const uint8_t *quote;
            size_t n = icmp_quotes_pick(&h->srv[k].quotes, data[i++], &quote);
            (void)tern_engine_unreachable(h->eng, &h->srv[k].addr, quote, n, h->now);
            break;
        }
        case 8:
            if (size - i < 1) goto out;
            h->reaction = data[i] & 32 ? 0 : (uint8_t)(0x80u | data[i]);
            i++;
            break;
        case 9:
            if (size - i < 1) goto out;
            h->now += (uint64_t)data[i++] * 16;
            if (h->srv[k].last_len)
                deliver(h, k, h->srv[k].last, h->srv[k].last_len, h->srv[k].last_raw);
            break;
        case 10:
            if (size - i < 2) goto out;
            representation(h, k, data[i], data[i + 1]);
            i += 2;
            break;
        default: /* 6, 11-15 */
            if (size - i < 5) goto out;
            answer(h, k, data + i);
            i += 5;
            break;
        }
        settle(h);
    }
out:
    if (!(data[1] & 4)) {
        /* The servers fall silent. Requests time out, re-registrations go
         * unanswered: everything must end. */
        h->reaction = 0;
        for (int n = 0; n < 100000; n++) {
            uint64_t d = min_deadline(h);
            if (d == UINT64_MAX) break;
            advance_to(h, d);
            drain(h, true);
        }
        if (tern_engine_next_deadline(h->eng) != UINT64_MAX) abort();
        if (tern_client_active(h->cli) != 0 || live_count(h) != 0) abort();
    }
    if (live_count(h) != h->n_live) abort(); /* the harness's own bookkeeping */
    g_counting = false;
    if (g_allocs != 0) abort(); /* the hot path allocated */
    tern_engine_free(h->eng);
    ASAN_UNPOISON_MEMORY_REGION(g_body, sizeof g_body);
    ASAN_UNPOISON_MEMORY_REGION(g_pay, sizeof g_pay);
    return 0;
}
