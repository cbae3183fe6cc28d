/* SPDX-License-Identifier: BSD-2-Clause */
/* hist.c - the latency histogram, in the manner of HdrHistogram: a value in
 * nanoseconds falls in one of 64 buckets per power of two (exact below 128
 * ns), so that every percentile is within 1/64 (1.6 %) of the truth at any
 * scale, from microseconds on loopback to the seconds of a retransmission,
 * in a fixed 30 KB and one increment per value. */
#include <string.h>

#include "bench.h"

#define SUB (1u << BENCH_HIST_SUB_BITS)

static unsigned bucket_of(uint64_t v) {
    if (v < 2 * SUB) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* v's top bit, >= SUB_BITS + 1 */
    unsigned g = e - BENCH_HIST_SUB_BITS;
    return (g << BENCH_HIST_SUB_BITS) + SUB + (unsigned)((v >> g) & (SUB - 1));
}

/* The largest value that falls in bucket i. */
static uint64_t bucket_high(unsigned i) {
    if (i < 2 * SUB) return i;
    unsigned g = (i - SUB) >> BENCH_HIST_SUB_BITS, m = i & (SUB - 1);
    uint64_t low = (uint64_t)(SUB + m) << g;
    return low + (((uint64_t)1 << g) - 1);
}

void bench_hist_reset(bench_hist *h) { memset(h, 0, sizeof *h); }

void bench_hist_add(bench_hist *h, uint64_t ns) {
    if (h->n == 0 || ns < h->min) h->min = ns;
    if (ns > h->max) h->max = ns;
    h->n++;
    h->sum += ns;
    h->b[bucket_of(ns)]++;
}

void bench_hist_merge(bench_hist *into, const bench_hist *from) {
    if (from->n == 0) return;
    if (into->n == 0 || from->min < into->min) into->min = from->min;
    if (from->max > into->max) into->max = from->max;
    into->n += from->n;
    into->sum += from->sum;
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) into->b[i] += from->b[i];
}

uint64_t bench_hist_pct(const bench_hist *h, double p) {
    if (h->n == 0) return 0;
    if (p >= 100.0) return h->max;
    /* The rank of the p-th percentile value, 1-based: ceil(p/100 * n). */
    double r = p / 100.0 * (double)h->n;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r) rank++;
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = bucket_high(i);
            if (v > h->max) v = h->max;
            if (v < h->min) v = h->min;
            return v;
        }
    }
    return h->max;
}
