/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_endpoint.c - libFuzzer target for the messaging layer (RFC 7252
 * sections 4 and 5.2 as implemented in src/endpoint).
 *
 * The input is a script of steps run against one endpoint with small tables
 * (so every "full" path is reachable) and a fake clock:
 *
 *   byte 0        config: bit 0 ack_delay_ms 0 / 1000, bit 1 NSTART 1 / 2,
 *                 bits 2-3 max_retransmit 1..4
 *   then steps, each starting with an op byte:
 *     op & 7 < 4  receive: peer (op >> 3) & 3, delta u8 * 16 ms, length u8,
 *                 then that many datagram bytes
 *     4           advance: delta u16 (big endian) * 8 ms
 *     5           answer a deferred request: slot u8, code u8, payload u8
 *     6           send_msg: peer u8, flags u8 (CON/NON, code), token u8
 *     7           cancel: ctx u8; with bit 7 set instead an ICMP error
 *                 (tern_endpoint_unreachable) for peer bits 0-1, quoting a
 *                 datagram sent there as icmp_quotes_pick reads bits 2-6
 *
 * on_request answers a third of the requests at once, defers a third (step
 * 5 answers them, maybe never) and of the rest rejects those whose token has
 * bit 1 set (tern_endpoint_reject: RST for a NON, refused for a CON) and
 * ignores the others; on_response accepts by token parity; done() sometimes
 * sends again from inside the callback.
 * After every step the harness ticks when due and drains the output. It
 * checks that every datagram the endpoint emits parses, that the deadline
 * after a tick lies in the future, and that the queue drains; ASan/UBSan and
 * LeakSanitizer check the rest. Memory cannot grow: the endpoint allocates
 * once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icmp_quotes.h"
#include "tern/endpoint.h"

#define N_PEERS 4
#define N_DEFER 8
#define N_CTX 8

typedef struct harness {
    tern_endpoint *ep;
    uint64_t now;
    uint64_t rng;
    tern_addr peers[N_PEERS];
    tern_endpoint_req_id deferred[N_DEFER];
    unsigned n_deferred;
    int ctx[N_CTX];
    int resend_budget;
    icmp_quotes sent[N_PEERS];
} harness;

static void fuzz_random(void *ctx, uint8_t *out, size_t len) {
    uint64_t *s = ctx;
    for (size_t i = 0; i < len; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        out[i] = (uint8_t)(*s >> 24);
    }
}

static const uint8_t body[600];

static void on_request(void *user, tern_endpoint *ep, tern_endpoint_req_id id, const tern_addr *peer,
                       const tern_msg *req, uint64_t now) {
    (void)peer;
    harness *h = user;
    switch (req->mid % 3) {
    case 0: {
        tern_msgb b;
        tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_CONTENT, 0);
        /* sometimes larger than max_message: respond fails, empty ACK follows */
        tern_msgb_set_payload(&b, body, req->payload_len ? req->payload[0] * 2u : 0);
        (void)tern_endpoint_respond(ep, id, &b, now);
        break;
    }
    case 1:
        h->deferred[h->n_deferred++ % N_DEFER] = id;
        break;
    default:
        if (req->token_len && (req->token[0] & 2)) {
            /* RFC 7252 5.4.1: only a NON may be rejected. */
            int rc = tern_endpoint_reject(ep, id, now);
            if ((rc == 0) != (req->type == TERN_TYPE_NON)) abort();
        }
        break;
    }
}

static int on_response(void *user, tern_endpoint *ep, const tern_addr *peer, const tern_msg *m,
                       uint64_t now) {
    (void)user;
    (void)ep;
    (void)peer;
    (void)now;
    return m->token_len && (m->token[0] & 1) ? TERN_E_REJECT : 0;
}

static void on_reset(void *user, tern_endpoint *ep, const tern_addr *peer, uint16_t mid,
                     uint64_t now) {
    (void)user;
    (void)ep;
    (void)peer;
    (void)mid;
    (void)now;
}

static void on_trace(void *user, bool outgoing, const tern_addr *peer, const tern_msg *msg) {
    (void)user;
    (void)outgoing;
    (void)peer;
    (void)msg;
}

static void done(void *ctx, tern_endpoint *ep, tern_tx_status st, uint64_t now);

static void send_one(harness *h, unsigned peer, uint8_t flags, uint8_t tok, int *ctx) {
    tern_msgb b;
    bool con = flags & 1;
    static const uint8_t codes[] = {TERN_CODE_GET,     TERN_CODE_PUT,   TERN_CODE_CONTENT,
                                    TERN_CODE_CHANGED, TERN_CODE_EMPTY, TERN_CODE(1, 0),
                                    TERN_CODE_POST,    TERN_CODE_NOT_FOUND};
    uint8_t code = codes[(flags >> 1) & 7];
    tern_msgb_init(&b, con ? TERN_TYPE_CON : TERN_TYPE_NON, code, 0);
    if (code != TERN_CODE_EMPTY) {
        (void)tern_msgb_set_token(&b, &tok, 1);
        (void)tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "alarm");
    }
    (void)tern_endpoint_send_msg(h->ep, &h->peers[peer % N_PEERS], &b, h->now,
                                 con ? done : NULL, ctx);
}

static harness *g_h;

static void done(void *ctx, tern_endpoint *ep, tern_tx_status st, uint64_t now) {
    (void)ep;
    (void)now;
    harness *h = g_h;
    int *c = ctx;
    if (c < h->ctx || c >= h->ctx + N_CTX) abort(); /* done with a foreign ctx */
    /* Like an observe layer: send the next one from inside done(). */
    if (st != TERN_TX_CANCELLED && (c - h->ctx) % 2 == 1 && h->resend_budget > 0) {
        h->resend_budget--;
        send_one(h, (unsigned)(c - h->ctx), 1, (uint8_t)(c - h->ctx), c);
    }
}

static void settle(harness *h) {
    if (tern_endpoint_next_deadline(h->ep) <= h->now) tern_endpoint_tick(h->ep, h->now);
    if (tern_endpoint_next_deadline(h->ep) <= h->now) abort(); /* tick left work due */
    uint8_t buf[512];
    tern_addr to;
    int n, count = 0;
    while ((n = tern_endpoint_send(h->ep, buf, sizeof buf, &to)) > 0) {
        tern_msg m;
        if (tern_msg_parse(&m, buf, (size_t)n) != 0) abort(); /* we emit valid CoAP */
        for (unsigned p = 0; p < N_PEERS; p++)
            if (tern_addr_equal(&to, &h->peers[p])) icmp_quotes_sent(&h->sent[p], buf, (size_t)n);
        if (++count > 100000) abort();
    }
    if (n < 0) abort(); /* max_message fits buf */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    harness h;
    memset(&h, 0, sizeof h);
    g_h = &h;
    h.rng = 0x853C49E6748FEA9BULL;
    h.resend_budget = 16;
    for (unsigned i = 0; i < N_PEERS; i++) {
        h.peers[i].len = 6;
        h.peers[i].bytes[3] = (uint8_t)(i + 1);
    }

    tern_endpoint_config c;
    tern_endpoint_config_default(&c);
    c.ack_delay_ms = data[0] & 1 ? 1000 : 0;
    c.nstart = data[0] & 2 ? 2 : 1;
    c.max_retransmit = 1u + ((data[0] >> 2) & 3u);
    c.max_peers = 3;
    c.max_exchanges = 4;
    c.max_pending = 3;
    c.max_dedup = 6;
    c.max_message = 512;
    c.tx_queue_bytes = 2048;
    c.token_len = 4;
    c.random = fuzz_random;
    c.random_ctx = &h.rng;
    tern_endpoint_callbacks cb = {.on_request = on_request,
                                  .on_response = on_response,
                                  .on_reset = on_reset,
                                  .on_trace = on_trace};
    if (tern_endpoint_new(&h.ep, &c, &cb, &h) != 0) h.ep = NULL;
    if (!h.ep) abort();

    size_t i = 1;
    while (i < size) {
        uint8_t op = data[i++];
        switch (op & 7) {
        case 0: case 1: case 2: case 3: {
            if (size - i < 2) goto out;
            unsigned peer = (op >> 3) & 3;
            h.now += (uint64_t)data[i++] * 16;
            size_t len = data[i++];
            if (len > size - i) len = size - i;
            (void)tern_endpoint_recv(h.ep, &h.peers[peer], data + i, len, h.now);
            i += len;
            break;
        }
        case 4:
            if (size - i < 2) goto out;
            h.now += (uint64_t)((unsigned)data[i] << 8 | data[i + 1]) * 8;
            i += 2;
            break;
        case 5: {
            if (size - i < 3) goto out;
            tern_msgb b;
            uint8_t code = data[i + 1];
            tern_msgb_init(&b, TERN_TYPE_CON, code, 0);
            tern_msgb_set_payload(&b, body, data[i + 2]);
            (void)tern_endpoint_respond(h.ep, h.deferred[data[i] % N_DEFER], &b, h.now);
            i += 3;
            break;
        }
        case 6:
            if (size - i < 3) goto out;
            send_one(&h, data[i], data[i + 1], data[i + 2], &h.ctx[data[i + 2] % N_CTX]);
            i += 3;
            break;
        default:
            if (size - i < 1) goto out;
            if (data[i] & 0x80) {
                const uint8_t *quote;
                size_t n = icmp_quotes_pick(&h.sent[data[i] & 3], (unsigned)data[i] >> 2, &quote);
                (void)tern_endpoint_unreachable(h.ep, &h.peers[data[i] & 3], quote, n, h.now);
            } else
                (void)tern_endpoint_cancel(h.ep, &h.ctx[data[i] % N_CTX]);
            i += 1;
            break;
        }
        settle(&h);
    }
out:
    /* Run the clock out: every exchange and pending request must end, and
     * the endpoint must then be idle. */
    for (int k = 0; k < 100000 && tern_endpoint_next_deadline(h.ep) != UINT64_MAX; k++) {
        h.now = tern_endpoint_next_deadline(h.ep);
        settle(&h);
    }
    if (tern_endpoint_next_deadline(h.ep) != UINT64_MAX) abort();
    tern_endpoint_free(h.ep);
    return 0;
}
