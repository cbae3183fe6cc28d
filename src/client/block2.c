/* SPDX-License-Identifier: BSD-2-Clause */
/* block2.c - a response body fetched whole, block by block, from the client
 * side (RFC 7959 sections 2.2, 2.4; tern_client_request_body).
 *
 * When the answer to a GET or FETCH is a 2.xx carrying Block2 with M=1, the
 * client asks for the rest itself: the stored request again, with Block2
 * NUM+1 at the size the server used (section 2.4: "Any further block-wise
 * requests for blocks beyond the first one MUST indicate the same block
 * size"; a server that answers in a smaller size than asked is followed,
 * section 2.3, since NUM is recomputed from the byte offset). Each block goes
 * under a fresh token, as for Block1 (see block1.c). The blocks land in the
 * caller's buffer; nothing is allocated. The caller's tern_client_op_id names the
 * whole transfer: one deadline, cancel at any point, and one final callback
 * with the last response's code and options and the assembled payload.
 *
 * The blocks must belong to one representation (section 2.4). What names
 * a representation is its ETag (RFC 7252 section 5.10.6), which a server
 * sends with every block of it (as in RFC 7959's examples, section 3): a
 * different one - or one appearing or vanishing - means the resource
 * changed under us and the bytes we hold are a mix of two versions. Then the
 * transfer restarts from block 0; a resource that keeps
 * changing ends it with TERN_E_STATE after BLOCK2_MAX_RESTARTS.
 *
 * An observation (tern_client_observe_body) gets the same for each
 * notification (section 2.6): a notification carries only the first block,
 * and the rest comes from GETs without Observe (as in the Observe example
 * among RFC 7959's section 3 figures), each under a token of its own while the
 * observation keeps its own. The whole body is then delivered as that
 * notification, with its Observe number. A fresher notification arriving
 * meanwhile replaces the one being completed. */
#include <string.h>

#include "client/client_int.h"

#define BLOCK2_MAX_RESTARTS 3u
#define BLOCK2_NUM_LIMIT (1u << 20) /* section 2.2: NUM is 20 bits */

int tern_cl_block2_fill(const client_slot *s, tern_msgb *b) {
    tern_block blk = {
        .num = (uint32_t)(s->b2_len >> (s->b2_szx + 4u)), .more = false, .szx = s->b2_szx};
    uint32_t v;
    int rc = tern_block_encode(&blk, &v);
    if (rc == 0) rc = tern_msgb_set_uint(b, TERN_OPT_BLOCK2, v);
    return rc;
}

static bool block2_same_etag(const client_slot *s, const tern_msg *resp) {
    tern_opt et;
    bool has = tern_msg_find_opt(resp, TERN_OPT_ETAG, &et) == 0;
    if (has != s->b2_has_etag) return false;
    return !has || (et.len == s->b2_etag_len && memcmp(et.val, s->b2_etag, et.len) == 0);
}

static void block2_keep_etag(client_slot *s, const tern_msg *resp) {
    tern_opt et;
    /* RFC 7252 section 5.10.6: 1 to 8 bytes. A longer one is not kept, so
     * that every later block counts as changed and the transfer ends. */
    s->b2_has_etag = tern_msg_find_opt(resp, TERN_OPT_ETAG, &et) == 0 && et.len <= 8;
    s->b2_etag_len = s->b2_has_etag ? (uint8_t)et.len : 0;
    if (s->b2_etag_len) memcpy(s->b2_etag, et.val, et.len);
}

/* What an answer means for the transfer. */
enum { B2_AS_IS, B2_NEXT, B2_WHOLE };

/* Take in one answer: B2_AS_IS (not a block of a larger body: the caller's
 * as it came), B2_NEXT (ask for the block at b2_len), B2_WHOLE (the last
 * block is in: b2_len bytes in b2_buf), or an error that ends it. */
static int block2_step(client_slot *s, const tern_msg *resp) {
    tern_block blk;
    bool blockwise = TERN_CODE_CLASS(resp->code) == 2 &&
                     tern_msg_get_block(resp, TERN_OPT_BLOCK2, &blk) == 0;
    /* Not a block: an answer that needed none, or an error mid-transfer
     * such as 4.08 or 4.04 (section 2.9), which ends it. */
    if (!blockwise || (s->b2_len == 0 && blk.num == 0 && !blk.more)) return B2_AS_IS;
    size_t size = tern_block_size(blk.szx);
    /* Section 2.2: the block must start where we are, and every block but
     * the last one is exactly the block size. */
    if (((size_t)blk.num << (blk.szx + 4u)) != s->b2_len || resp->payload_len > size ||
        (blk.more && resp->payload_len != size) ||
        (blk.more && s->b2_len / size + 1u >= BLOCK2_NUM_LIMIT))
        return TERN_E_FORMAT;
    if (s->b2_len == 0) {
        block2_keep_etag(s, resp);
    } else if (!block2_same_etag(s, resp)) {
        /* Section 2.4 / RFC 7252 5.10.6: another representation; start over
         * (Block2 0 at the server's size). */
        if (++s->b2_restarts > BLOCK2_MAX_RESTARTS) return TERN_E_STATE;
        s->b2_len = 0;
        s->b2_szx = blk.szx;
        return B2_NEXT;
    }
    if (resp->payload_len > s->b2_cap - s->b2_len) return TERN_E_NOSPACE;
    if (resp->payload_len) memcpy(s->b2_buf + s->b2_len, resp->payload, resp->payload_len);
    s->b2_len += resp->payload_len;
    /* Section 2.4: the next block at the size the server used. */
    s->b2_szx = blk.szx;
    return blk.more ? B2_NEXT : B2_WHOLE;
}

/* The last block's code and options (its ETag, Content-Format, Block2
 * NUM/M=0) with the whole body as payload. */
static tern_msg block2_whole(const client_slot *s, const tern_msg *last) {
    tern_msg whole = *last;
    whole.payload = s->b2_len ? s->b2_buf : NULL;
    whole.payload_len = s->b2_len;
    return whole;
}

void tern_cl_block2_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms) {
    int rc = block2_step(s, resp);
    if (rc == B2_NEXT) {
        s->b2_active = true;
        tern_cl_send_next(s, now_ms);
    } else if (rc == B2_WHOLE) {
        tern_msg whole = block2_whole(s, resp);
        tern_cl_finish(s, 0, &whole, now_ms);
    } else {
        tern_cl_finish(s, rc < 0 ? rc : 0, rc < 0 ? NULL : resp, now_ms);
    }
}

/* ---- section 2.6: notifications ------------------------------------------- */

/* The GET for the block at b2_len, under a token of its own: the
 * observation keeps its token for the notifications to come (RFC 7641
 * section 3.2), and a late answer to an abandoned fetch never matches. */
static void block2_obs_send(client_slot *s, uint64_t now_ms) {
    uint8_t token[TERN_TOKEN_MAX];
    s->b2_obs_fetch = false; /* not a match for the token search */
    size_t tl = tern_cl_new_token(s->cli, &s->peer, token);
    if (tl == 0) {
        tern_cl_finish(s, TERN_E_FULL, NULL, now_ms);
        return;
    }
    memcpy(s->b2_token, token, tl);
    s->b2_token_len = (uint8_t)tl;
    s->b2_obs_fetch = true;
    int rc = tern_cl_transmit(s->cli, s, now_ms);
    if (rc < 0) tern_cl_finish(s, rc, NULL, now_ms);
}

static void block2_obs_deliver(client_slot *s, const tern_msg *m, uint64_t now_ms) {
    s->b2_obs_fetch = false;
    /* The notification's sequence number, which the GET's answer lacks. */
    s->b2_deliver_seq = true;
    (void)tern_cl_deliver(s, 0, m, true, now_ms);
}

bool tern_cl_block2_obs_start(client_slot *s, const tern_msg *resp, uint32_t seq, uint64_t now_ms) {
    tern_block blk;
    if (!s->b2_buf || tern_msg_get_block(resp, TERN_OPT_BLOCK2, &blk) < 0 || !blk.more) {
        /* Complete in itself: a fetch still running is for an older state. */
        s->b2_obs_fetch = false;
        return false;
    }
    /* A fresher notification replaces one whose rest is still coming. */
    s->b2_len = 0;
    s->b2_restarts = 0;
    s->b2_seq = seq;
    int rc = block2_step(s, resp);
    if (rc < 0)
        tern_cl_finish(s, rc, NULL, now_ms);
    else
        block2_obs_send(s, now_ms);
    return true;
}

void tern_cl_block2_obs_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms) {
    int rc = block2_step(s, resp);
    if (rc == B2_NEXT) {
        block2_obs_send(s, now_ms);
    } else if (rc == B2_WHOLE) {
        tern_msg whole = block2_whole(s, resp);
        block2_obs_deliver(s, &whole, now_ms);
    } else if (rc == B2_AS_IS) {
        block2_obs_deliver(s, resp, now_ms);
    } else {
        tern_cl_finish(s, rc, NULL, now_ms);
    }
}
