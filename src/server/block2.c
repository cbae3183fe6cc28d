/* SPDX-License-Identifier: BSD-2-Clause */
/* block2.c - large representations, block by block, from the server side
 * (RFC 7959 sections 2.2, 2.4 and 2.6).
 *
 * A handler always makes the whole representation; this file cuts the
 * block that goes out. Three things ask for a block:
 *  - the request's Block2 (section 2.4): block NUM of size 2^(SZX+4) - late
 *    negotiation when NUM > 0, early negotiation of the size when NUM = 0;
 *  - an observer's registration that asked for a block size (section 2.6:
 *    its notifications keep to it);
 *  - a representation too large for one datagram (the endpoint answers
 *    TERN_E_NOSPACE): the next smaller block that starts at the same byte
 *    goes out instead, asked for or not, until one fits (section 2.4: "A
 *    server MUST use the block size indicated or a smaller size").
 * Each block carries Block2 (NUM, M, SZX); block 0 of a larger body, and
 * every block when the request carried Size2 (section 4: "a Size2 option
 * with value 0 ... asks for the total size"), carries Size2 with the total.
 * Every block carries an ETag (section 2.4, RFC 7252 section 5.10.6), so
 * that a client that fetches the rest notices when the representation
 * changed in between: the resource's own when the handler or the resource's
 * etag callback gave one, else 4 bytes of a keyed hash of the whole
 * representation (computed once per answer). */
#include "server/server_int.h"

/* Block num of size 2^(szx + 4) of st's representation becomes r's
 * payload. 0, or the code to answer with. */
static uint8_t cut(srv_block2 *st, tern_server_response *r, uint32_t num, uint8_t szx) {
    size_t size = tern_block_size(szx);
    size_t off = (size_t)num * size;
    /* Section 2.2: a block past the end is no block of this body. */
    if (off > st->total || (off == st->total && num > 0)) return TERN_CODE_BAD_OPTION;
    size_t n = st->total - off < size ? st->total - off : size;
    tern_block out = {.num = num, .more = off + n < st->total, .szx = szx};
    uint32_t enc;
    if (tern_block_encode(&out, &enc) < 0) return TERN_CODE_BAD_OPTION;
    tern_msgb_set_payload(&r->b, st->full ? st->full + off : NULL, n);
    if (tern_msgb_set_uint(&r->b, TERN_OPT_BLOCK2, enc) < 0) return TERN_CODE_INTERNAL_SERVER_ERROR;
    if (((num == 0 && out.more) || st->size2) &&
        tern_msgb_set_uint(&r->b, TERN_OPT_SIZE2, (uint32_t)st->total) < 0)
        return TERN_CODE_INTERNAL_SERVER_ERROR;
    if (!st->has_etag) {
        /* Once per answer: hash the whole representation. */
        uint64_t h = tern_siphash13(&st->srv->hkey, st->full ? st->full : (const uint8_t *)"",
                                    st->total);
        for (int i = 0; i < 4; i++) st->etag[i] = (uint8_t)(h >> (8 * i));
        if (tern_msgb_add_opt(&r->b, TERN_OPT_ETAG, st->etag, 4) < 0)
            return TERN_CODE_INTERNAL_SERVER_ERROR;
        st->has_etag = true;
    }
    st->num = num;
    st->szx = szx;
    return 0;
}

void tern_srv_block2_begin(srv_block2 *st, const tern_server_response *r, bool size2) {
    st->srv = r->srv;
    st->full = r->b.payload;
    st->total = r->b.payload_len;
    st->num = 0;
    st->szx = TERN_SRV_NO_BLOCK;
    st->size2 = size2;
    st->has_etag = false;
    if (r->b.present & (uint64_t)1 << TERN_OPT_ETAG) /* else surely none */
        for (size_t i = 0; i < r->b.n_opts; i++)
            if (r->b.opts[i].num == TERN_OPT_ETAG) st->has_etag = true;
}

uint8_t tern_srv_block2_request(srv_block2 *st, tern_server_response *r, uint32_t value) {
    tern_block blk;
    if (tern_block_decode(value, &blk) < 0) return TERN_CODE_BAD_OPTION;
    return cut(st, r, blk.num, blk.szx);
}

void tern_srv_block2_limit(srv_block2 *st, tern_server_response *r, uint8_t szx) {
    /* Section 2.6: the notifications of a registration that asked for a
     * block size carry block 0 of that size, like the answer did. */
    if (szx < TERN_SRV_NO_BLOCK) (void)cut(st, r, 0, szx);
}

bool tern_srv_block2_shrink(srv_block2 *st, tern_server_response *r) {
    /* Half the size, twice the number: the block starts at the same byte.
     * No Block2 yet: block 0 of 1024 bytes. */
    if (st->szx == 0) return false;
    bool none = st->szx == TERN_SRV_NO_BLOCK;
    uint8_t s = none ? 6 : (uint8_t)(st->szx - 1);
    uint32_t n = none ? 0 : st->num << 1;
    return n < (1u << 20) && cut(st, r, n, s) == 0;
}
