/* SPDX-License-Identifier: BSD-2-Clause */
/* block.c - Block1/Block2 option values (RFC 7959 section 2.2).
 *
 * A block option is a uint of 0-3 bytes: NUM in the high 20 bits, then the
 * M bit, then the 3-bit SZX giving a block size of 2^(SZX+4). SZX 7 is
 * reserved (RFC 7959 section 2.2; only RFC 8323 gives it a meaning over
 * TCP), so over UDP it is a format error. Minimal encoding on the wire
 * (1, 2 or 3 bytes) is left to tern_opt_uint_encode(). */
#include "tern/msg.h"

int tern_block_decode(uint32_t val, tern_block *blk) {
    if (val > 0xFFFFFFu) return TERN_E_FORMAT;
    uint8_t szx = (uint8_t)(val & 0x07u);
    if (szx == 7) return TERN_E_FORMAT;
    blk->num = val >> 4;
    blk->more = (val & 0x08u) != 0;
    blk->szx = szx;
    return TERN_OK;
}

int tern_msg_get_block(const tern_msg *msg, uint16_t num, tern_block *blk) {
    tern_opt o;
    int rc = tern_msg_find_opt(msg, num, &o);
    if (rc < 0) return rc;
    if (o.len > 3) return TERN_E_FORMAT;
    uint32_t v;
    rc = tern_opt_uint_decode(o.val, o.len, &v);
    if (rc < 0) return rc;
    return tern_block_decode(v, blk);
}

int tern_block_encode(const tern_block *blk, uint32_t *val) {
    if (blk->num >= (1u << 20) || blk->szx > 6) return TERN_E_INVAL;
    *val = blk->num << 4 | (blk->more ? 0x08u : 0u) | blk->szx;
    return TERN_OK;
}

/* A buffer bigger than 1024 bytes still takes 1024-byte blocks, the largest
 * RFC 7959 allows, hence the clamp rather than an error. */
int tern_block_szx_for(size_t size) {
    if (size < 16) return TERN_E_INVAL;
    int szx = 0;
    while (szx < 6 && ((size_t)32 << szx) <= size) szx++;
    return szx;
}
