/* SPDX-License-Identifier: BSD-2-Clause */
/* txqueue.c - the outgoing datagram ring between the engine and the io layer.
 *
 * Sans-I/O (see DESIGN.md): the engine never sends, it queues; the loop
 * drains with tern_endpoint_send. A CON, an ACK or a replayed answer all go
 * through here. The ring holds variable-size records so that a burst of 4-byte
 * empty ACKs does not cost max_message bytes each. A record never straddles
 * the end of the buffer: when it does not fit at the end the writer wraps to
 * offset 0 and remembers where the data stopped (`wrap`). When the ring is
 * full the datagram is dropped and counted (tx_dropped): a CON is sent again
 * by its retransmission timer, a lost ACK is recovered by the peer's
 * retransmission and our dedup replay (RFC 7252 section 4.2, 4.5). */
#include <string.h>

#include "endpoint/endpoint_int.h"

void tern_ep_txq_init(ep_txq *q, uint8_t *buf, size_t cap) {
    q->buf = buf;
    q->cap = cap;
    q->head = q->tail = 0;
    q->wrap = cap;
    q->wrapped = false;
    q->n = 0;
}

static void txq_write(ep_txq *q, size_t at, const tern_addr *peer, const uint8_t *data,
                      size_t len) {
    uint8_t *r = q->buf + at;
    uint8_t alen = peer->len <= TERN_ADDR_MAX ? peer->len : TERN_ADDR_MAX;
    r[0] = (uint8_t)(len >> 8);
    r[1] = (uint8_t)len;
    r[2] = alen;
    r[3] = 0;
    memset(r + 4, 0, TERN_ADDR_MAX);
    memcpy(r + 4, peer->bytes, alen);
    memcpy(r + EP_TXQ_HDR, data, len);
}

int tern_ep_txq_push(ep_txq *q, const tern_addr *peer, const uint8_t *data, size_t len) {
    if (len == 0 || len > 0xFFFFu) return TERN_E_INVAL;
    size_t rec = EP_TXQ_HDR + len;
    if (q->n == 0) {
        /* Empty: start over at 0 so the largest record fits. */
        q->head = q->tail = 0;
        q->wrap = q->cap;
        q->wrapped = false;
    }
    if (!q->wrapped) {
        if (q->cap - q->tail >= rec) {
            txq_write(q, q->tail, peer, data, len);
            q->tail += rec;
        } else if (q->head >= rec) {
            q->wrap = q->tail;
            q->wrapped = true;
            txq_write(q, 0, peer, data, len);
            q->tail = rec;
        } else {
            return TERN_E_FULL;
        }
    } else {
        if (q->head - q->tail < rec) return TERN_E_FULL;
        txq_write(q, q->tail, peer, data, len);
        q->tail += rec;
    }
    q->n++;
    return 0;
}

size_t tern_ep_txq_peek(const ep_txq *q, tern_addr *peer, const uint8_t **data) {
    if (q->n == 0) return 0;
    const uint8_t *r = q->buf + q->head;
    size_t len = (size_t)r[0] << 8 | r[1];
    if (peer) {
        memset(peer, 0, sizeof *peer);
        peer->len = r[2];
        memcpy(peer->bytes, r + 4, r[2]);
    }
    if (data) *data = r + EP_TXQ_HDR;
    return len;
}

void tern_ep_txq_pop(ep_txq *q) {
    if (q->n == 0) return;
    const uint8_t *r = q->buf + q->head;
    size_t len = (size_t)r[0] << 8 | r[1];
    q->head += EP_TXQ_HDR + len;
    q->n--;
    if (q->wrapped && q->head == q->wrap) {
        q->head = 0;
        q->wrapped = false;
        q->wrap = q->cap;
    }
    if (q->n == 0) {
        q->head = q->tail = 0;
        q->wrapped = false;
        q->wrap = q->cap;
    }
}
