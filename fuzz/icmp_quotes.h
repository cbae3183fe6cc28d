/* SPDX-License-Identifier: BSD-2-Clause */
/* icmp_quotes.h - for the fuzz harnesses that drive ICMP errors: what an
 * error would quote. The kernel quotes the start of a datagram we sent
 * (all of it on Linux, for datagrams this small; RFC 792 promises only 8
 * bytes past the IP header, which are the UDP header), and a forger quotes
 * what it likes. So the harness remembers the start of the last few
 * datagrams sent to each peer and lets the input pick one and how much of
 * it is quoted, from none to past the token. */
#ifndef FUZZ_ICMP_QUOTES_H
#define FUZZ_ICMP_QUOTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ICMP_QUOTE_KEEP 4   /* datagrams remembered per peer */
#define ICMP_QUOTE_HEAD 16  /* header, token of up to 8, a little more */

typedef struct icmp_quotes {
    uint8_t head[ICMP_QUOTE_KEEP][ICMP_QUOTE_HEAD]; /* newest first */
    size_t len[ICMP_QUOTE_KEEP];
} icmp_quotes;

/* A datagram of len bytes went to this peer. */
static inline void icmp_quotes_sent(icmp_quotes *q, const uint8_t *data, size_t len) {
    memmove(&q->head[1], &q->head[0], (ICMP_QUOTE_KEEP - 1) * sizeof q->head[0]);
    memmove(&q->len[1], &q->len[0], (ICMP_QUOTE_KEEP - 1) * sizeof q->len[0]);
    q->len[0] = len < ICMP_QUOTE_HEAD ? len : ICMP_QUOTE_HEAD;
    memcpy(q->head[0], data, q->len[0]);
}

/* The quote an error carries, chosen by pick: bits 0-1 how far back,
 * bits 2-4 how much of it (none, part of the header, the header, into the
 * token, all kept). Returns its length; *out points into q. */
static inline size_t icmp_quotes_pick(const icmp_quotes *q, unsigned pick, const uint8_t **out) {
    static const size_t cut[8] = {0, 2, 4, 5, 6, 8, 12, ICMP_QUOTE_HEAD};
    unsigned k = pick & 3;
    size_t n = cut[(pick >> 2) & 7];
    *out = q->head[k];
    return n < q->len[k] ? n : q->len[k];
}

#endif
