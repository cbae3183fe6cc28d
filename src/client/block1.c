/* SPDX-License-Identifier: BSD-2-Clause */
/* block1.c - block-wise request payloads from the client side (RFC 7959
 * sections 2.2, 2.3, 2.5, 2.9).
 *
 * When a request does not fit max_request_size, the client stores it without
 * payload and keeps a pointer to the caller's payload; each block is encoded
 * on demand (Block1 NUM/M/SZX, Size1 on block 0 as the total size, section
 * 4) so that a slot stays a fixed size whatever the payload. The caller's
 * tern_client_op_id names the whole transfer: one deadline, one final callback.
 *
 * Each block is a request of its own with a fresh token. RFC 7959 ties the
 * blocks together by their options (same URI, Block1 NUM), not by the token,
 * which stays a matter of the base protocol (RFC 7252 section 5.3.1); a
 * fresh one means a late answer to an earlier block can never be taken for
 * the answer to the current one (section 5.3.2 matching does the work), and
 * it follows RFC 9175's advice against reusing tokens. libcoap's
 * coap-server accepts this (tests/interop/client_libcoap.sh).
 *
 * Answers (section 2.5): 2.31 Continue echoing the block sends the next one,
 * at the server's smaller SZX if it asked for one (section 2.3 block size
 * negotiation: NUM is recomputed from the byte offset); 4.13 with a smaller
 * size (Block1 SZX, or a Size1 below the block we sent) restarts from block 0
 * (section 2.9.3); anything else - the final response, 4.08 Request Entity
 * Incomplete (section 2.9.2), an unexpected 2.31 - ends the request and
 * reaches the caller as it is. */
#include <string.h>

#include "client/client_int.h"

/* Section 2.2: 1024 bytes, the largest block; with the default
 * max_request_size of 1152 (RFC 7252 section 4.6) it leaves 128 bytes for
 * header, token and options. */
#define BLOCK1_SZX_MAX 6u
#define BLOCK1_NUM_LIMIT (1u << 20) /* section 2.2: NUM is 20 bits */
/* What Block1 and Size1 can add to the stored request: each option header is
 * at most 2 bytes here (delta <= 60 < 269, length < 13), Block1 has at most
 * 3 value bytes and Size1 4; inserting options only shrinks later deltas. */
#define BLOCK1_OPT_OVERHEAD (2u + 3u + 2u + 4u)

static size_t block1_size(const client_slot *s) { return tern_block_size(s->b1_szx); }

static tern_block block1_current(const client_slot *s) {
    tern_block b;
    b.szx = s->b1_szx;
    b.num = (uint32_t)(s->b1_off >> (s->b1_szx + 4u));
    b.more = s->b1_off + block1_size(s) < s->body_len;
    return b;
}

int tern_cl_block1_setup(tern_client *cli, client_slot *s, tern_msgb *req) {
    /* A caller that sets Block1 itself runs its own transfer. */
    for (size_t i = 0; i < req->n_opts; i++)
        if (req->opts[i].num == TERN_OPT_BLOCK1) return TERN_E_NOSPACE;
    const uint8_t *body = req->payload;
    size_t body_len = req->payload_len;
    if (!body) return TERN_E_NOSPACE;
    size_t cap = cli->cfg.max_request_size;
    tern_msgb_set_payload(req, NULL, 0);
    int len = tern_msgb_encode(req, s->req, cap);
    tern_msgb_set_payload(req, body, body_len);
    if (len < 0) return len;
    /* Section 2.2: the largest power of two from 16 to 1024 that still fits
     * with Block1, Size1 and the payload marker. */
    size_t fixed = (size_t)len + BLOCK1_OPT_OVERHEAD + 1u;
    if (fixed >= cap) return TERN_E_NOSPACE;
    int szx = tern_block_szx_for(cap - fixed);
    if (szx < 0) return TERN_E_NOSPACE;
    if ((unsigned)szx > BLOCK1_SZX_MAX) szx = (int)BLOCK1_SZX_MAX;
    /* Even at this size, NUM must stay within 20 bits (and Size1 within its
     * 4 bytes, which that implies). */
    if ((body_len - 1u) >> ((unsigned)szx + 4u) >= BLOCK1_NUM_LIMIT) return TERN_E_NOSPACE;
    s->block1 = true;
    s->b1_szx = (uint8_t)szx;
    s->body = body;
    s->body_len = body_len;
    s->b1_off = 0;
    return len;
}

int tern_cl_block1_fill(const client_slot *s, tern_msgb *b) {
    tern_block blk = block1_current(s);
    uint32_t v;
    int rc = tern_block_encode(&blk, &v);
    if (rc == 0) rc = tern_msgb_set_uint(b, TERN_OPT_BLOCK1, v);
    /* Section 4: Size1 in the first block tells the server the total size
     * up front, so that it can refuse (4.13) before all blocks travel. */
    if (rc == 0 && blk.num == 0) rc = tern_msgb_set_uint(b, TERN_OPT_SIZE1, (uint32_t)s->body_len);
    if (rc < 0) return rc;
    size_t n = s->body_len - s->b1_off;
    if (n > block1_size(s)) n = block1_size(s);
    tern_msgb_set_payload(b, s->body + s->b1_off, n);
    return 0;
}

/* Section 2.9.3: the SZX a 4.13 asks for, or -1 when it names none below
 * the current one (then the answer is final: a smaller block cannot help). */
static int block1_shrink_for(const client_slot *s, const tern_msg *resp) {
    tern_block want;
    int szx = -1;
    if (tern_msg_get_block(resp, TERN_OPT_BLOCK1, &want) == 0) {
        szx = want.szx;
    } else {
        /* Size1 is the largest request entity the server takes (RFC 7252
         * section 5.10.9). Below the block we sent, the block itself was too
         * large; at or above it, the whole body is, and no block size helps. */
        uint32_t max;
        if (tern_cl_get_uint(resp, TERN_OPT_SIZE1, &max) && max < block1_size(s))
            szx = tern_block_szx_for(max);
    }
    return szx >= 0 && szx < s->b1_szx ? szx : -1;
}

void tern_cl_block1_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms) {
    tern_block sent = block1_current(s);
    tern_block got;
    bool has_b1 = tern_msg_get_block(resp, TERN_OPT_BLOCK1, &got) == 0;

    if (resp->code == TERN_CODE_CONTINUE && has_b1 && sent.more) {
        /* Section 2.5: 2.31 acknowledges the block it names. Servers echo our
         * NUM; one that counts in its own smaller size names the same byte
         * offset: accept both. */
        bool same = got.num == sent.num ||
                    ((size_t)got.num << (got.szx + 4u)) == s->b1_off;
        if (same) {
            s->b1_off += block1_size(s);
            /* Section 2.3: heed the server's preference for all further
             * blocks; the offset, a multiple of the larger size, stays a
             * multiple of the smaller one. A larger SZX is not an offer we
             * have to take. */
            if (got.szx < s->b1_szx) s->b1_szx = got.szx;
            tern_cl_send_next(s, now_ms);
            return;
        }
    }
    if (resp->code == TERN_CODE_REQUEST_ENTITY_TOO_LARGE) {
        int szx = block1_shrink_for(s, resp);
        if (szx >= 0) {
            /* The server dropped what it had: start over, smaller. */
            s->b1_szx = (uint8_t)szx;
            s->b1_off = 0;
            tern_cl_send_next(s, now_ms);
            return;
        }
    }
    /* The final response (to the last block, or an early 2.xx, 4.xx, 5.xx
     * such as 4.08 Request Entity Incomplete), with any Block2 as it is. */
    tern_cl_finish(s, 0, resp, now_ms);
}
