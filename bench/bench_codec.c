/* SPDX-License-Identifier: BSD-2-Clause */
/* bench_codec.c - tern's wire codec (src/msg) against libcoap's, timed in
 * one run on the same workload (RFC 7252 section 3 messages).
 *
 * What it measures, per operation, in nanoseconds:
 *  - parse: each of six representative datagrams is parsed and every option
 *    is walked, reading its number and length. tern: tern_msg_parse() and
 *    tern_opt_next() on the caller's buffer. libcoap: coap_pdu_parse() into
 *    one reused PDU, then coap_option_iterator_init()/coap_option_next().
 *    One op is one datagram (the average over the six).
 *  - build: a 2.05 piggybacked response and a PUT request, from nothing to
 *    the datagram's bytes. tern: tern_msgb_* and tern_msgb_encode() into a
 *    caller buffer. libcoap: coap_pdu_init(), coap_add_token(),
 *    coap_add_option() in order, coap_add_data(), the 4-byte UDP header
 *    written the way coap_send() writes it, and coap_delete_pdu().
 *
 * How to read it: each figure is the median of several rounds (7 unless
 * -r says otherwise); in every round both libraries run the same loop for
 * about the same time (-t, 0.2 s), alternating which goes first. The ratio
 * is libcoap ns/op divided by tern ns/op: above 1 means tern is faster by
 * that factor, below 1 that libcoap is. "spread" is (max - min) / median
 * over the rounds; a large one means a noisy machine, not a slow codec.
 * Only the ratio means something across machines.
 *
 * Before timing, the program checks that both libraries see the same options
 * in every datagram and that both builds produce the same bytes as the
 * reference datagrams below; it exits 1 if not, so the figures compare the
 * same work. This is a program, not a test: nothing here judges a time.
 *
 *   bench_codec [-r ROUNDS] [-t SECONDS_PER_ROUND] */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <coap3/coap.h>

#include "tern/msg.h"

#ifndef TERN_BENCH_BUILD_TYPE
#define TERN_BENCH_BUILD_TYPE "?"
#endif
#ifndef TERN_BENCH_C_FLAGS
#define TERN_BENCH_C_FLAGS ""
#endif
#ifndef TERN_BENCH_COMPILER
#define TERN_BENCH_COMPILER "?"
#endif
#ifndef TERN_BENCH_TERN_VERSION
#define TERN_BENCH_TERN_VERSION "?"
#endif
#ifndef TERN_BENCH_LIBCOAP_MODULE
#define TERN_BENCH_LIBCOAP_MODULE "libcoap-3"
#endif

/* ---- The workload ---------------------------------------------------------
 * Byte strings: the array's size counts the terminating NUL, DGRAM() drops
 * it. Separate literals keep a \x escape from swallowing the next letter. */

typedef struct dgram {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    unsigned n_opts; /* what both parsers must report */
} dgram;

#define DGRAM(name, arr, n) {name, arr, sizeof arr - 1, n}

static const uint8_t dg_get_observe[] =
    "\x44\x01\x12\x34"   /* ver 1, CON, TKL 4 | GET | MID 0x1234 */
    "\xa1\xb2\xc3\xd4"   /* token */
    "\x60"               /* Observe (6): delta 6, len 0 = 0, register */
    "\x55" "alarm";      /* Uri-Path (11): delta 5, len 5 */

static const uint8_t dg_content[] =
    "\x64\x45\x12\x34"   /* ver 1, ACK, TKL 4 | 2.05 Content | MID 0x1234 */
    "\xa1\xb2\xc3\xd4"   /* token */
    "\x44\xde\xad\xbe\xef" /* ETag (4): delta 4, len 4 */
    "\x81\x32"           /* Content-Format (12): delta 8, len 1 = 50 json */
    "\x21\x3c"           /* Max-Age (14): delta 2, len 1 = 60 s */
    "\xff" "{\"alarm\":\"ON\"}";

static const uint8_t dg_put[] =
    "\x42\x03\x00\x07"   /* ver 1, CON, TKL 2 | PUT | MID 0x0007 */
    "\x7e\x01"           /* token */
    "\x3d\x04" "alarm.example.org" /* Uri-Host (3): delta 3, len 13+4 = 17 */
    "\x42\x16\x33"       /* Uri-Port (7): delta 4, len 2 = 5683 */
    "\x43" "api"         /* Uri-Path (11): delta 4, len 3 */
    "\x02" "v1"          /* Uri-Path: delta 0, len 2 */
    "\x05" "alarm"       /* Uri-Path: delta 0, len 5 */
    "\x10"               /* Content-Format (12): delta 1, len 0 = text/plain */
    "\x3c" "unit=kitchen" /* Uri-Query (15): delta 3, len 12 */
    "\x05" "force"       /* Uri-Query: delta 0, len 5 */
    "\xff" "ON";

static const uint8_t dg_block2[] =
    "\x62\x45\x00\x08"   /* ver 1, ACK, TKL 2 | 2.05 Content | MID 0x0008 */
    "\x7e\x02"           /* token */
    "\xc1\x28"           /* Content-Format (12): delta 12, len 1 = 40 link */
    "\xb1\x2a"           /* Block2 (23): delta 11, NUM 2, M 1, SZX 2 (64 B) */
    "\x52\x01\x2c"       /* Size2 (28): delta 5, len 2 = 300 */
    "\xff" "</alarm>;rt=\"alarm\";obs;ct=0,</sensors/temp>;rt=\"temperature-c\";";

static const uint8_t dg_empty_ack[] =
    "\x60\x00\x12\x34";  /* ver 1, ACK, TKL 0 | 0.00 Empty | MID 0x1234 */

static const uint8_t dg_ext_delta[] =
    "\x48\x01\xbe\xef"   /* ver 1, CON, TKL 8 | GET | MID 0xbeef */
    "\x01\x02\x03\x04\x05\x06\x07\x08" /* token */
    "\xb7" "sensors"     /* Uri-Path (11): delta 11, len 7 */
    "\x0d\x0a" "temperature-living-room" /* Uri-Path: delta 0, len 13+10 */
    "\xe2\x00\x0c\x5a\x17"; /* Request-Tag (292): delta nibble 14, 269+12 */

static const dgram dgrams[] = {
    DGRAM("GET /alarm, token, Observe", dg_get_observe, 2),
    DGRAM("2.05 piggybacked, ETag/CF/Max-Age", dg_content, 3),
    DGRAM("PUT Uri-Host/Port/Path x3/Query x2", dg_put, 8),
    DGRAM("2.05 Block2 + Size2, 64 B payload", dg_block2, 3),
    DGRAM("Empty ACK", dg_empty_ack, 0),
    DGRAM("GET, delta nibble 14 (Request-Tag)", dg_ext_delta, 3),
};
#define N_DGRAMS (sizeof dgrams / sizeof dgrams[0])

/* Inputs of the two builds; they must reproduce dg_content and dg_put. */
static const uint8_t resp_token[] = {0xa1, 0xb2, 0xc3, 0xd4};
static const uint8_t resp_etag[] = {0xde, 0xad, 0xbe, 0xef};
static const char resp_payload[] = "{\"alarm\":\"ON\"}";
static const uint8_t put_token[] = {0x7e, 0x01};
static const char put_host[] = "alarm.example.org";
static const char *const put_path[] = {"api", "v1", "alarm"};
static const char *const put_query[] = {"unit=kitchen", "force"};
static const char put_payload[] = "ON";

/* ---- Keeping the optimiser honest ----------------------------------------- */

static volatile uint64_t bench_sink;

/* Makes the compiler assume p's memory is read and anything may have changed. */
static inline void escape(const void *p) { __asm__ volatile("" : : "g"(p) : "memory"); }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "bench_codec: %s\n", what);
    exit(1);
}

/* ---- tern ------------------------------------------------------------------ */

static uint64_t tern_parse_all(size_t iters) {
    uint64_t acc = 0;
    for (size_t i = 0; i < iters; i++) {
        for (size_t d = 0; d < N_DGRAMS; d++) {
            tern_msg msg;
            if (tern_msg_parse(&msg, dgrams[d].bytes, dgrams[d].len) != TERN_OK)
                die("tern_msg_parse failed while timing");
            tern_opt_iter it;
            tern_opt opt;
            tern_opt_iter_init(&it, &msg);
            while (tern_opt_next(&it, &opt)) acc += opt.num + opt.len;
            escape(&msg);
        }
    }
    return acc;
}

static size_t tern_build_content(uint8_t *out, size_t cap) {
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_ACK, TERN_CODE_CONTENT, 0x1234);
    tern_msgb_set_token(&b, resp_token, sizeof resp_token);
    tern_msgb_add_opt(&b, TERN_OPT_ETAG, resp_etag, sizeof resp_etag);
    tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, TERN_CF_JSON);
    tern_msgb_add_uint(&b, TERN_OPT_MAX_AGE, 60);
    tern_msgb_set_payload(&b, resp_payload, sizeof resp_payload - 1);
    int n = tern_msgb_encode(&b, out, cap);
    return n > 0 ? (size_t)n : 0;
}

static size_t tern_build_put(uint8_t *out, size_t cap) {
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_PUT, 0x0007);
    tern_msgb_set_token(&b, put_token, sizeof put_token);
    tern_msgb_add_str(&b, TERN_OPT_URI_HOST, put_host);
    tern_msgb_add_uint(&b, TERN_OPT_URI_PORT, 5683);
    for (size_t i = 0; i < 3; i++) tern_msgb_add_str(&b, TERN_OPT_URI_PATH, put_path[i]);
    tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, TERN_CF_TEXT_PLAIN);
    for (size_t i = 0; i < 2; i++) tern_msgb_add_str(&b, TERN_OPT_URI_QUERY, put_query[i]);
    tern_msgb_set_payload(&b, put_payload, sizeof put_payload - 1);
    int n = tern_msgb_encode(&b, out, cap);
    return n > 0 ? (size_t)n : 0;
}

/* ---- libcoap (this program's helpers are lc_*, libcoap's own are coap_*) --- */

/* What coap_new_pdu() asks for on a default UDP session (COAP_DEFAULT_MTU). */
#define LC_PDU_SIZE 1152

static coap_pdu_t *lc_rx_pdu; /* reused by every parse, like a receive path */

/* coap_option_iterator_init() returns NULL for a PDU without options. */
static unsigned lc_walk(coap_pdu_t *pdu, uint64_t *acc) {
    coap_opt_iterator_t oi;
    coap_opt_t *opt;
    unsigned n = 0;
    if (coap_option_iterator_init(pdu, &oi, COAP_OPT_ALL) == NULL) return 0;
    while ((opt = coap_option_next(&oi)) != NULL) {
        *acc += oi.number + coap_opt_length(opt);
        n++;
    }
    return n;
}

static uint64_t lc_parse_all(size_t iters) {
    uint64_t acc = 0;
    for (size_t i = 0; i < iters; i++) {
        for (size_t d = 0; d < N_DGRAMS; d++) {
            if (!coap_pdu_parse(COAP_PROTO_UDP, dgrams[d].bytes, dgrams[d].len, lc_rx_pdu))
                die("coap_pdu_parse failed while timing");
            lc_walk(lc_rx_pdu, &acc);
            escape(lc_rx_pdu);
        }
    }
    return acc;
}

/* libcoap keeps room for the header in front of the token and fills it in
 * coap_pdu_encode_header() at send time; 4.3.1 does not export that, so this
 * writes the same 4 UDP bytes (section 3). check_lc_layout() confirms the
 * room is there. Returns the datagram's length and start, 0 without payload
 * (both builds here carry one, which marks where the datagram ends). */
static size_t lc_finish_udp(coap_pdu_t *pdu, const uint8_t **dgram_out) {
    coap_bin_const_t tok = coap_pdu_get_token(pdu);
    uint8_t *hdr = (uint8_t *)tok.s - TERN_HEADER_LEN;
    coap_mid_t mid = coap_pdu_get_mid(pdu);
    hdr[0] = (uint8_t)(1u << 6 | (unsigned)coap_pdu_get_type(pdu) << 4 | tok.length);
    hdr[1] = (uint8_t)coap_pdu_get_code(pdu);
    hdr[2] = (uint8_t)((unsigned)mid >> 8);
    hdr[3] = (uint8_t)mid;
    size_t len;
    const uint8_t *data;
    if (!coap_get_data(pdu, &len, &data)) return 0;
    *dgram_out = hdr;
    return (size_t)(data + len - hdr);
}

static void lc_add_uint(coap_pdu_t *pdu, coap_option_num_t num, unsigned val) {
    uint8_t buf[4];
    unsigned n = coap_encode_var_safe(buf, sizeof buf, val);
    coap_add_option(pdu, num, n, buf);
}

static coap_pdu_t *lc_build_content(void) {
    coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE_CONTENT, 0x1234,
                                    LC_PDU_SIZE);
    if (pdu == NULL) return NULL;
    coap_add_token(pdu, sizeof resp_token, resp_token);
    coap_add_option(pdu, COAP_OPTION_ETAG, sizeof resp_etag, resp_etag);
    lc_add_uint(pdu, COAP_OPTION_CONTENT_FORMAT, TERN_CF_JSON);
    lc_add_uint(pdu, COAP_OPTION_MAXAGE, 60);
    coap_add_data(pdu, sizeof resp_payload - 1, (const uint8_t *)resp_payload);
    return pdu;
}

static coap_pdu_t *lc_build_put(void) {
    coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_PUT, 0x0007,
                                    LC_PDU_SIZE);
    if (pdu == NULL) return NULL;
    coap_add_token(pdu, sizeof put_token, put_token);
    coap_add_option(pdu, COAP_OPTION_URI_HOST, strlen(put_host), (const uint8_t *)put_host);
    lc_add_uint(pdu, COAP_OPTION_URI_PORT, 5683);
    for (size_t i = 0; i < 3; i++)
        coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(put_path[i]),
                        (const uint8_t *)put_path[i]);
    lc_add_uint(pdu, COAP_OPTION_CONTENT_FORMAT, TERN_CF_TEXT_PLAIN);
    for (size_t i = 0; i < 2; i++)
        coap_add_option(pdu, COAP_OPTION_URI_QUERY, strlen(put_query[i]),
                        (const uint8_t *)put_query[i]);
    coap_add_data(pdu, sizeof put_payload - 1, (const uint8_t *)put_payload);
    return pdu;
}

/* ---- The timed loops: one function per (operation, library) --------------- */

static uint64_t tern_content_loop(size_t iters) {
    uint64_t acc = 0;
    uint8_t out[256];
    for (size_t i = 0; i < iters; i++) {
        size_t n = tern_build_content(out, sizeof out);
        if (n == 0) die("tern_msgb_encode failed while timing");
        escape(out);
        acc += n + out[n - 1];
    }
    return acc;
}

static uint64_t tern_put_loop(size_t iters) {
    uint64_t acc = 0;
    uint8_t out[256];
    for (size_t i = 0; i < iters; i++) {
        size_t n = tern_build_put(out, sizeof out);
        if (n == 0) die("tern_msgb_encode failed while timing");
        escape(out);
        acc += n + out[n - 1];
    }
    return acc;
}

static uint64_t lc_loop(size_t iters, coap_pdu_t *(*build)(void)) {
    uint64_t acc = 0;
    for (size_t i = 0; i < iters; i++) {
        coap_pdu_t *pdu = build();
        const uint8_t *d = NULL;
        size_t n = pdu ? lc_finish_udp(pdu, &d) : 0;
        if (n == 0) die("libcoap build failed while timing");
        escape(d);
        acc += n + d[n - 1];
        coap_delete_pdu(pdu);
    }
    return acc;
}
static uint64_t lc_content_loop(size_t iters) { return lc_loop(iters, lc_build_content); }
static uint64_t lc_put_loop(size_t iters) { return lc_loop(iters, lc_build_put); }

/* ---- Checks before timing ---------------------------------------------------- */

static void hexdump(const char *label, const uint8_t *p, size_t n) {
    fprintf(stderr, "  %-8s", label);
    for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x", p[i]);
    fprintf(stderr, "\n");
}

/* Both parsers accept every datagram, report the same options (number and
 * length, in order), the same payload length, and the expected count. */
static unsigned check_parse(void) {
    unsigned total = 0;
    for (size_t d = 0; d < N_DGRAMS; d++) {
        const dgram *g = &dgrams[d];
        tern_msg msg;
        if (tern_msg_parse(&msg, g->bytes, g->len) != TERN_OK) {
            fprintf(stderr, "bench_codec: tern rejects \"%s\"\n", g->name);
            exit(1);
        }
        if (!coap_pdu_parse(COAP_PROTO_UDP, g->bytes, g->len, lc_rx_pdu)) {
            fprintf(stderr, "bench_codec: libcoap rejects \"%s\"\n", g->name);
            exit(1);
        }
        coap_opt_iterator_t oi;
        coap_opt_t *copt = NULL;
        bool lc_more = coap_option_iterator_init(lc_rx_pdu, &oi, COAP_OPT_ALL) != NULL;
        tern_opt_iter it;
        tern_opt topt;
        unsigned n = 0;
        tern_opt_iter_init(&it, &msg);
        for (;;) {
            bool t = tern_opt_next(&it, &topt);
            bool c = lc_more && (copt = coap_option_next(&oi)) != NULL;
            lc_more = c;
            if (!t && !c) break;
            if (t != c || topt.num != oi.number || topt.len != coap_opt_length(copt)) {
                fprintf(stderr, "bench_codec: \"%s\": option %u differs "
                        "(tern %s %u/%u, libcoap %s %u/%u)\n", g->name, n,
                        t ? "has" : "ends", t ? topt.num : 0, t ? topt.len : 0,
                        c ? "has" : "ends", c ? oi.number : 0, c ? coap_opt_length(copt) : 0);
                exit(1);
            }
            n++;
        }
        size_t clen;
        const uint8_t *cdata;
        if (!coap_get_data(lc_rx_pdu, &clen, &cdata)) clen = 0;
        if (n != g->n_opts || clen != msg.payload_len) {
            fprintf(stderr, "bench_codec: \"%s\": %u options (want %u), payload %zu/%zu\n",
                    g->name, n, g->n_opts, msg.payload_len, clen);
            exit(1);
        }
        total += n;
    }
    return total;
}

/* lc_finish_udp() writes the header in front of the token; after a parse
 * libcoap keeps the received header exactly there, which shows the room. */
static void check_lc_layout(void) {
    if (!coap_pdu_parse(COAP_PROTO_UDP, dg_put, sizeof dg_put - 1, lc_rx_pdu))
        die("libcoap rejects the PUT datagram");
    coap_bin_const_t tok = coap_pdu_get_token(lc_rx_pdu);
    if (tok.length != sizeof put_token || memcmp(tok.s - TERN_HEADER_LEN, dg_put, TERN_HEADER_LEN) != 0)
        die("libcoap's PDU layout is not header room + token + options + payload; "
            "lc_finish_udp() does not fit this libcoap");
}

static void check_build(const char *what, const uint8_t *want, size_t want_len,
                        size_t (*tern_build)(uint8_t *, size_t), coap_pdu_t *(*lc_build)(void)) {
    uint8_t out[256];
    size_t tn = tern_build(out, sizeof out);
    coap_pdu_t *pdu = lc_build();
    const uint8_t *cd = NULL;
    size_t cn = pdu ? lc_finish_udp(pdu, &cd) : 0;
    bool ok = tn == want_len && memcmp(out, want, want_len) == 0 && cn == want_len &&
              memcmp(cd, want, want_len) == 0;
    if (!ok) {
        fprintf(stderr, "bench_codec: %s: the builds differ\n", what);
        hexdump("want", want, want_len);
        hexdump("tern", out, tn);
        if (cd) hexdump("libcoap", cd, cn);
        exit(1);
    }
    coap_delete_pdu(pdu);
}

/* In-use heap bytes per received libcoap PDU, malloc overhead included, or 0
 * where glibc's mallinfo2() (2.33 and later) is missing. Run before any
 * PDU is freed: with nothing of its sizes in malloc's caches, no cached
 * chunk can hide an allocation. The warm-up takes glibc's one-off per-thread cache out of the
 * count; its tiny chunk is of a size libcoap does not ask for here. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#define HAVE_MALLINFO2 1
#endif
static size_t lc_heap_per_pdu(void) {
#ifndef HAVE_MALLINFO2
    return 0;
#else
    enum { N = 32 };
    coap_pdu_t *pdus[N];
    void *volatile warm = malloc(1); /* volatile: a compiler may drop free(malloc()) */
    free(warm);
    size_t before = mallinfo2().uordblks;
    for (size_t i = 0; i < N; i++) {
        pdus[i] = coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 0, LC_PDU_SIZE);
        if (pdus[i] == NULL ||
            !coap_pdu_parse(COAP_PROTO_UDP, dg_put, sizeof dg_put - 1, pdus[i]))
            die("libcoap cannot allocate or parse");
    }
    size_t after = mallinfo2().uordblks;
    for (size_t i = 0; i < N; i++) coap_delete_pdu(pdus[i]);
    return (after - before) / N;
#endif
}

/* ---- Timing ---------------------------------------------------------------- */

typedef uint64_t (*loop_fn)(size_t iters);

typedef struct bench_op {
    const char *name;
    size_t ops_per_iter; /* ops done by one iteration of the loop */
    loop_fn tern, lc;
} bench_op;

static const bench_op ops[] = {
    {"parse + walk options (6 dgrams)", N_DGRAMS, tern_parse_all, lc_parse_all},
    {"build + encode 2.05 response", 1, tern_content_loop, lc_content_loop},
    {"build + encode PUT request", 1, tern_put_loop, lc_put_loop},
};
#define N_OPS (sizeof ops / sizeof ops[0])

#define MAX_ROUNDS 99

static uint64_t time_loop(loop_fn f, size_t iters) {
    uint64_t t0 = now_ns();
    bench_sink += f(iters);
    return now_ns() - t0;
}

/* How many iterations fill about `seconds` (warming the caches on the way). */
static size_t calibrate(loop_fn f, double seconds) {
    size_t iters = 16;
    uint64_t t;
    while ((t = time_loop(f, iters)) < 20000000u && iters < ((size_t)1 << 40)) iters *= 2;
    double want = seconds * 1e9 / (double)t * (double)iters;
    return want < 1 ? 1 : (size_t)want;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench_stat { double median, spread; } bench_stat;

static bench_stat summarise(const double *v, size_t n) {
    double s[MAX_ROUNDS];
    memcpy(s, v, n * sizeof *v);
    qsort(s, n, sizeof *s, cmp_double);
    bench_stat r;
    r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    r.spread = r.median > 0 ? (s[n - 1] - s[0]) / r.median : 0;
    return r;
}

static void usage(void) {
    fprintf(stderr, "usage: bench_codec [-r ROUNDS (1-%d, default 7)] "
                    "[-t SECONDS per round (default 0.2)]\n", MAX_ROUNDS);
    exit(2);
}

int main(int argc, char **argv) {
    unsigned rounds = 7;
    double seconds = 0.2;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || v < 1 || v > MAX_ROUNDS) usage();
            rounds = (unsigned)v;
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds > 0 && seconds <= 60)) usage();
        } else {
            usage();
        }
    }

    coap_startup();
    size_t lc_heap = lc_heap_per_pdu();
    lc_rx_pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 0, LC_PDU_SIZE);
    if (lc_rx_pdu == NULL) die("coap_pdu_init failed");

    check_lc_layout();
    unsigned n_opts = check_parse();
    check_build("2.05 response", dg_content, sizeof dg_content - 1, tern_build_content,
                lc_build_content);
    check_build("PUT request", dg_put, sizeof dg_put - 1, tern_build_put, lc_build_put);

    printf("bench_codec: tern %s wire codec vs %s (%s)\n", TERN_BENCH_TERN_VERSION,
           coap_package_version(), TERN_BENCH_LIBCOAP_MODULE);
    printf("build: %s [%s], compiler: %s; libcoap as packaged (shared library)\n",
           TERN_BENCH_BUILD_TYPE, TERN_BENCH_C_FLAGS, TERN_BENCH_COMPILER);
    if (strcmp(TERN_BENCH_BUILD_TYPE, "Release") != 0)
        printf("note: not a Release build; the figures say little about speed\n");
    printf("checked: %zu datagrams, %u options, same numbers and lengths in both; "
           "both builds byte-identical\n", N_DGRAMS, n_opts);
    printf("rounds: %u x ~%.2f s per library and operation, alternating which runs first; "
           "medians\n\n", rounds, seconds);

    bench_stat tern_s[N_OPS], lc_s[N_OPS];
    for (size_t o = 0; o < N_OPS; o++) {
        size_t it_tern = calibrate(ops[o].tern, seconds);
        size_t it_lc = calibrate(ops[o].lc, seconds);
        double t_ns[MAX_ROUNDS], c_ns[MAX_ROUNDS];
        double per_t = (double)(it_tern * ops[o].ops_per_iter);
        double per_c = (double)(it_lc * ops[o].ops_per_iter);
        for (unsigned r = 0; r < rounds; r++) {
            if (r % 2 == 0) {
                t_ns[r] = (double)time_loop(ops[o].tern, it_tern) / per_t;
                c_ns[r] = (double)time_loop(ops[o].lc, it_lc) / per_c;
            } else {
                c_ns[r] = (double)time_loop(ops[o].lc, it_lc) / per_c;
                t_ns[r] = (double)time_loop(ops[o].tern, it_tern) / per_t;
            }
        }
        tern_s[o] = summarise(t_ns, rounds);
        lc_s[o] = summarise(c_ns, rounds);
    }

    printf("%-34s %11s %14s %7s   %s\n", "operation", "tern ns/op", "libcoap ns/op", "ratio",
           "spread tern/libcoap");
    for (size_t o = 0; o < N_OPS; o++)
        printf("%-34s %11.1f %14.1f %7.2f   %4.1f%% / %4.1f%%\n", ops[o].name, tern_s[o].median,
               lc_s[o].median, lc_s[o].median / tern_s[o].median, tern_s[o].spread * 100,
               lc_s[o].spread * 100);
    printf("ratio = libcoap ns/op / tern ns/op; above 1 means tern is faster\n\n");

    /* 0 means mallinfo2() could not see it (missing, or a sanitizer's malloc). */
    char heap[24] = "   ?";
    if (lc_heap > 0) snprintf(heap, sizeof heap, "%4zu", lc_heap);
    printf("memory per parsed message:\n");
    printf("  tern     %4zu B  tern_msg view (+%zu B tern_opt_iter), caller's stack; "
           "no heap, datagram not copied\n", sizeof(tern_msg), sizeof(tern_opt_iter));
    printf("  libcoap  %s B  heap per coap_pdu_t of %d B max size (malloc overhead "
           "included), datagram copied in (+%zu B coap_opt_iterator_t)\n",
           heap, LC_PDU_SIZE, sizeof(coap_opt_iterator_t));
    printf("memory per built message:\n");
    printf("  tern     %4zu B  tern_msgb builder on the stack, encoded into the caller's "
           "buffer; no heap\n", sizeof(tern_msgb));
    printf("  libcoap  %s B  the same heap, allocated and freed per message\n", heap);
    if (lc_heap == 0) printf("  (? = mallinfo2() cannot see this malloc)\n");

    coap_delete_pdu(lc_rx_pdu);
    coap_cleanup();
    return 0;
}
