/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_msg.c - libFuzzer target for the wire codec (RFC 7252 section 3).
 *
 * Every input goes through tern_msg_peek_header() and tern_msg_parse(). For
 * one that parses, the option run is walked twice in lockstep: once with
 * tern_opt_next() and once with this file's own decoder of section 3.1, which
 * shares no code with src/msg; both must see the same options (number,
 * length, value pointer) and end at the same byte. The lookup helpers
 * (tern_msg_find_opt, tern_msg_count_opt, tern_msg_get_uint,
 * tern_msg_get_block, tern_opt_lookup) are then checked against what that
 * walk recorded, for option numbers present and absent. The message is
 * described with tern_msg_format(), then copied into a builder and encoded
 * again. Section 3.1 leaves no freedom in encoding a given option sequence
 * (extended fields are relative to 13 and 269, the payload marker appears
 * only before a non-empty payload), so the re-encoding must reproduce the
 * input byte for byte; any difference is a codec bug and aborts.
 *
 * Everything here is linear in the input. Each lookup helper walks the
 * options from the start, so calling them for every option number would be
 * quadratic (4 KB of one-byte options took two seconds under ASan); they are
 * called for every number of a message with at most RUNS_ALL distinct
 * numbers (every real message and every seed), and in each gap between
 * them. Above that, for a bounded sample: the first and the last number,
 * RUNS_MID in between chosen by the input (so that the fuzzer reaches all of
 * them over a run), 0 if absent (the early stop) and one past the last (the
 * walk to the end that finds nothing). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tern/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) abort();                                                                \
    } while (0)

static uint8_t out[1u << 17];

/* ---- A second decoder of section 3.1 --------------------------------------
 * Written from the RFC, index-based, separate from src/msg/msg.c on purpose:
 * a bug shared by both would go unseen, a bug in either shows up as a
 * mismatch. */
typedef struct ref_walk {
    const uint8_t *run; /* the option run tern_msg_parse() found */
    size_t len, pos;
    uint32_t num;
} ref_walk;

/* 1 and *o filled for the next option, 0 at the end of the run, -1 if the
 * bytes are not a valid option (which tern_msg_parse() should have refused). */
static int ref_next(ref_walk *w, tern_opt *o) {
    if (w->pos == w->len) return 0;
    uint8_t head = w->run[w->pos++];
    uint32_t field[2] = {head >> 4, head & 0x0Fu}; /* delta, length */
    for (int i = 0; i < 2; i++) {
        if (field[i] == 15) return -1; /* reserved; 0xFF ends the run instead */
        if (field[i] == 13) {
            if (w->len - w->pos < 1) return -1;
            field[i] = 13u + w->run[w->pos];
            w->pos += 1;
        } else if (field[i] == 14) {
            if (w->len - w->pos < 2) return -1;
            field[i] = 269u + (uint32_t)(w->run[w->pos] * 256u + w->run[w->pos + 1]);
            w->pos += 2;
        }
    }
    if (field[1] > 0xFFFFu || field[1] > w->len - w->pos) return -1;
    w->num += field[0];
    if (w->num > 0xFFFFu) return -1;
    o->num = (uint16_t)w->num;
    o->len = (uint16_t)field[1];
    o->val = w->run + w->pos;
    w->pos += field[1];
    return 1;
}

/* ---- Runs of one option number, as the walk saw them --------------------- */

typedef struct opt_run {
    tern_opt first; /* the first occurrence in wire order */
    unsigned count;
} opt_run;

/* Numbers strictly increase from run to run and fit in 16 bits. */
static opt_run runs[1u << 16];

#define RUNS_ALL 8 /* up to this many distinct numbers, check every one */
#define RUNS_MID 2 /* otherwise the first, the last and RUNS_MID between */

/* Every lookup helper on number num, against the expectation: r is its run,
 * or NULL when num does not occur. */
static void check_number(const tern_msg *m, uint16_t num, const opt_run *r) {
    tern_opt f;
    int rc = tern_msg_find_opt(m, num, &f);
    unsigned n = tern_msg_count_opt(m, num);
    uint32_t v = 0;
    int urc = tern_msg_get_uint(m, num, &v);
    tern_block blk;
    int brc = tern_msg_get_block(m, num, &blk);
    const tern_opt_def *def = tern_opt_lookup(num);
    if (def) {
        CHECK(def->num == num && def->name != NULL && def->min_len <= def->max_len);
        CHECK(tern_opt_lookup_name(def->name) == def);
    }
    if (r == NULL) {
        CHECK(rc == TERN_E_NOTFOUND && n == 0);
        CHECK(urc == TERN_E_NOTFOUND && brc == TERN_E_NOTFOUND);
        return;
    }

    CHECK(rc == 0 && f.num == num && f.len == r->first.len && f.val == r->first.val);
    CHECK(n == r->count);

    /* Section 3.2 uint: big-endian, leading zeros allowed on input; tern
     * reads at most 4 bytes. */
    if (f.len > 4) {
        CHECK(urc == TERN_E_FORMAT);
    } else {
        uint32_t want = 0;
        for (size_t i = 0; i < f.len; i++) want = want << 8 | f.val[i];
        CHECK(urc == 0 && v == want);
        uint32_t dec = ~want;
        CHECK(tern_opt_uint_decode(f.val, f.len, &dec) == 0 && dec == want);
        /* The minimal form is the value without its leading zero bytes. */
        uint8_t min[4];
        size_t skip = 0;
        while (skip < f.len && f.val[skip] == 0) skip++;
        CHECK(tern_opt_uint_encode(want, min) == f.len - skip);
        CHECK(memcmp(min, f.val + skip, f.len - skip) == 0);
    }

    /* RFC 7959 section 2.2: NUM, M, SZX in at most 3 bytes; SZX 7 reserved. */
    if (f.len > 3 || (v & 7u) == 7u) {
        CHECK(brc == TERN_E_FORMAT);
    } else {
        CHECK(brc == 0);
        CHECK(blk.num == v >> 4 && blk.more == ((v & 8u) != 0) && blk.szx == (v & 7u));
        uint32_t back;
        CHECK(tern_block_encode(&blk, &back) == 0);
        CHECK(back == v);
    }
}

/* run i, and the number just above it when that one is absent. */
static void check_run(const tern_msg *m, size_t nruns, size_t i, bool gap) {
    check_number(m, runs[i].first.num, &runs[i]);
    uint32_t above = runs[i].first.num + 1u;
    uint32_t next = i + 1 < nruns ? runs[i + 1].first.num : 0x10000u;
    if (gap && above < next) check_number(m, (uint16_t)above, NULL);
}

static void read_options(const tern_msg *m, uint32_t salt) {
    tern_opt_iter it;
    tern_opt o, ro;
    ref_walk w = {m->opts, m->opts_len, 0, 0};
    size_t nruns = 0;
    tern_opt_iter_init(&it, m);
    for (;;) {
        bool more = tern_opt_next(&it, &o);
        int r = ref_next(&w, &ro);
        CHECK(r >= 0); /* tern_msg_parse() accepted a malformed option run */
        CHECK(more == (r == 1));
        if (!more) break;
        CHECK(o.num == ro.num && o.len == ro.len && o.val == ro.val);
        CHECK(o.val >= m->opts && o.val + o.len <= m->opts + m->opts_len);

        if (nruns > 0 && runs[nruns - 1].first.num == o.num) {
            runs[nruns - 1].count++;
        } else {
            CHECK(nruns == 0 || runs[nruns - 1].first.num < o.num); /* ascending */
            CHECK(nruns < sizeof runs / sizeof runs[0]);
            runs[nruns].first = o;
            runs[nruns].count = 1;
            nruns++;
        }
    }
    CHECK(w.pos == m->opts_len); /* both walks consumed the whole run */
    CHECK(!tern_opt_next(&it, &o)); /* and the iterator stays at its end */

    if (nruns == 0) {
        check_number(m, (uint16_t)salt, NULL);
        return;
    }
    if (runs[0].first.num > 0) check_number(m, 0, NULL);
    if (nruns <= RUNS_ALL) {
        for (size_t i = 0; i < nruns; i++) check_run(m, nruns, i, true);
        return;
    }
    check_run(m, nruns, 0, false);
    check_run(m, nruns, nruns - 1, true);
    /* RUNS_MID runs out of [1, nruns - 1), evenly spaced, shifted by the
     * input. */
    size_t stride = (nruns - 2) / RUNS_MID;
    size_t shift = salt % stride;
    for (size_t k = 0; k < RUNS_MID; k++) check_run(m, nruns, 1 + shift + k * stride, false);
}

static void describe(const tern_msg *m) {
    char line[256];
    char small[16];
    int want = tern_msg_format(m, line, sizeof line);
    CHECK(want >= 0);
    CHECK(strlen(line) == ((size_t)want < sizeof line ? (size_t)want : sizeof line - 1));
    CHECK(tern_msg_format(m, small, sizeof small) == want);
    CHECK(strncmp(small, line, sizeof small - 1) == 0);
    CHECK(tern_msg_format(m, NULL, 0) == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t type;
    uint16_t mid;
    int peek = tern_msg_peek_header(data, size, &type, &mid);

    tern_msg m;
    if (tern_msg_parse(&m, data, size) != 0) return 0;
    CHECK(peek == 0 && type == m.type && mid == m.mid);
    CHECK(m.token_len <= TERN_TOKEN_MAX);
    CHECK(m.token == data + TERN_HEADER_LEN && m.opts == m.token + m.token_len);
    CHECK((m.payload == NULL) == (m.payload_len == 0));
    if (m.payload) CHECK(m.payload == m.opts + m.opts_len + 1 && m.opts[m.opts_len] == 0xFF);
    CHECK((size_t)TERN_HEADER_LEN + m.token_len + m.opts_len +
              (m.payload ? 1 + m.payload_len : 0) == size);

    read_options(&m, (uint32_t)size * 2654435761u ^ mid);
    describe(&m);

    tern_msgb b;
    int rc = tern_msgb_from_msg(&b, &m);
    if (rc == TERN_E_FULL) return 0; /* more options than a builder holds */
    CHECK(rc == 0);
    if (size > sizeof out) return 0;
    int n = tern_msgb_encode(&b, out, sizeof out);
    CHECK(n > 0 && (size_t)n == size);
    CHECK(memcmp(out, data, size) == 0);
    CHECK(tern_msgb_encode(&b, out, size - 1) == TERN_E_NOSPACE);

    tern_msg again;
    CHECK(tern_msg_parse(&again, out, size) == 0);
    CHECK(again.type == m.type && again.code == m.code && again.mid == m.mid);
    CHECK(again.opts_len == m.opts_len && again.payload_len == m.payload_len);
    return 0;
}
