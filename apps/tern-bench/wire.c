/* SPDX-License-Identifier: BSD-2-Clause */
/* wire.c - tern-bench's requests on the wire (RFC 7252 sections 3, 4.2,
 * 5.3.1, 6.4).
 *
 * A request is encoded once, with tern's builder, into a template with MID 0
 * and a zero token of 4 bytes; each send copies it (a small one whole, of a
 * large one the header only, the rest is sent from the template) and writes
 * MID and token into the copy (net.c, bench_tx_request): a memcpy and six
 * stores per request.
 *
 * Tokens are 32 bits naming a slot (load.c: slot and generation; observe.c:
 * the observer), XORed with a salt drawn at start. An answer is matched in
 * O(1): decode the token, index the slot, compare its generation, and for a
 * piggybacked ACK its MID too (section 5.3.2). Section 5.3.1 asks for tokens
 * that are hard to guess when nothing else protects the exchange; a load
 * generator on a test network needs them unique per request in flight, and
 * these are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_tmpl_build(bench_tmpl *t, const bench_opts *o, tern_type type, uint8_t code,
                     const uint8_t *payload, size_t len, bool observe) {
    static tern_msgb b; /* large: not on the stack */
    static uint8_t buf[65536];
    const uint8_t zero[BENCH_TOKEN_LEN] = {0};
    tern_msgb_init(&b, type, code, 0);
    int rc = tern_msgb_set_token(&b, zero, sizeof zero);
    if (rc == 0) rc = tern_uri_to_opts(&o->uri, o->uri.port, &b);
    if (rc == 0 && observe) rc = tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, TERN_OBSERVE_REGISTER);
    if (rc == 0 && o->content_format >= 0 && payload)
        rc = tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, (uint32_t)o->content_format);
    if (rc < 0) {
        fprintf(stderr, "tern-bench: cannot build the request: %s\n", tern_strerror(rc));
        return rc;
    }
    if (payload && len) tern_msgb_set_payload(&b, payload, len);
    /* 65507: the largest UDP payload over IPv4. */
    int n = tern_msgb_encode(&b, buf, 65507);
    if (n < 0) {
        fprintf(stderr, "tern-bench: cannot build the request: %s\n",
                n == TERN_E_NOSPACE ? "larger than a UDP datagram" : tern_strerror(n));
        return n;
    }
    t->bytes = malloc((size_t)n);
    if (!t->bytes) {
        fprintf(stderr, "tern-bench: out of memory\n");
        return TERN_E_NOMEM;
    }
    memcpy(t->bytes, buf, (size_t)n);
    t->len = (size_t)n;
    return 0;
}

void bench_tmpl_free(bench_tmpl *t) {
    free(t->bytes);
    t->bytes = NULL;
    t->len = 0;
}

static uint32_t token_salt;

void bench_token_salt_init(void) { token_salt = (uint32_t)(bench_rand() >> 32); }

uint32_t bench_token_encode(uint32_t value) { return value ^ token_salt; }

bool bench_token_decode(const tern_msg *m, uint32_t *value) {
    if (m->token_len != BENCH_TOKEN_LEN) return false;
    const uint8_t *t = m->token;
    uint32_t v = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
    *value = v ^ token_salt;
    return true;
}

uint32_t bench_ack_timeout_ms(void) {
    /* [ACK_TIMEOUT, ACK_TIMEOUT * 1.5) */
    return BENCH_ACK_TIMEOUT_MS + (uint32_t)(bench_rand() % (BENCH_ACK_TIMEOUT_MS / 2));
}
