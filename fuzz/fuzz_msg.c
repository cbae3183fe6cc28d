/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_msg.c - libFuzzer target for the wire codec (RFC 7252 section 3).
 *
 * Every input goes through tern_msg_peek_header() and tern_msg_parse(). For
 * one that parses, every option is walked and read through each accessor,
 * the message is described with tern_msg_format(), then copied into a
 * builder and encoded again. Section 3.1 leaves no freedom in encoding a
 * given option sequence (extended fields are relative to 13 and 269, the
 * payload marker appears only before a non-empty payload), so the re-encoding
 * must reproduce the input byte for byte; any difference is a codec bug and
 * aborts. */
#include <stdlib.h>
#include <string.h>

#include "tern/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) abort();                                                                \
    } while (0)

static uint8_t out[1u << 17];

static void read_options(const tern_msg *m) {
    tern_opt_iter it;
    tern_opt o;
    uint16_t prev = 0;
    size_t bytes = 0;
    tern_opt_iter_init(&it, m);
    while (tern_opt_next(&it, &o)) {
        CHECK(o.num >= prev); /* wire order is ascending */
        CHECK(o.val >= m->opts && o.val + o.len <= m->opts + m->opts_len);
        prev = o.num;
        bytes += 1 + o.len;

        tern_opt first;
        CHECK(tern_msg_find_opt(m, o.num, &first) == 0);
        CHECK(first.num == o.num && first.val <= o.val);
        CHECK(tern_msg_count_opt(m, o.num) >= 1);

        uint32_t v;
        int rc = tern_msg_get_uint(m, o.num, &v);
        CHECK(rc == 0 || (rc == TERN_E_FORMAT && first.len > 4));
        tern_block blk;
        rc = tern_msg_get_block(m, o.num, &blk);
        if (rc == 0) {
            uint32_t back;
            CHECK(tern_block_encode(&blk, &back) == 0);
            CHECK(back == v);
        }
        (void)tern_opt_lookup(o.num);
    }
    CHECK(bytes <= m->opts_len);
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
    CHECK((m.payload == NULL) == (m.payload_len == 0));
    CHECK((size_t)TERN_HEADER_LEN + m.token_len + m.opts_len +
              (m.payload ? 1 + m.payload_len : 0) == size);

    read_options(&m);
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
