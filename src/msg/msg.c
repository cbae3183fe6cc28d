/* SPDX-License-Identifier: BSD-2-Clause */
/* msg.c - parsing a CoAP datagram into a view (RFC 7252 sections 3, 3.1,
 * 3.2 and 4.1) and reading options out of it.
 *
 * tern_msg_parse() walks the whole option run once and rejects every
 * violation of section 3 up front, so that the iterator, the find/count
 * helpers and everyone above may walk the run again without re-checking
 * lengths against the datagram. Nothing is copied: token, option values and
 * payload point into the caller's buffer. */
#include "tern/msg.h"

/* Section 3.1: nibbles 13 and 14 announce one or two extended bytes that
 * carry the value minus 13 or minus 269; 15 is reserved (a bare 0xFF byte is
 * the payload marker and is handled before this is reached). Returns false
 * when the field is reserved or runs past end. */
static inline bool read_ext(unsigned nibble, const uint8_t **pos, const uint8_t *end, uint32_t *out) {
    const uint8_t *p = *pos;
    switch (nibble) {
    case 13:
        if (end - p < 1) return false;
        *out = 13u + p[0];
        *pos = p + 1;
        return true;
    case 14:
        if (end - p < 2) return false;
        *out = 269u + ((uint32_t)p[0] << 8 | p[1]);
        *pos = p + 2;
        return true;
    case 15:
        return false;
    default:
        *out = nibble;
        return true;
    }
}

/* Decode one option at *pos. The value length is capped at 65535 because
 * tern_opt.len is 16 bits; no UDP datagram can carry a longer one anyway. */
static inline bool read_opt(const uint8_t **pos, const uint8_t *end, uint32_t *num, tern_opt *opt) {
    const uint8_t *p = *pos;
    uint32_t delta, len;
    if (p >= end) return false;
    uint8_t head = *p++;
    if (!read_ext(head >> 4, &p, end, &delta)) return false;
    if (!read_ext(head & 0x0Fu, &p, end, &len)) return false;
    if (*num + delta > UINT16_MAX) return false;
    if (len > UINT16_MAX || (size_t)(end - p) < len) return false;
    *num += delta;
    opt->num = (uint16_t)*num;
    opt->len = (uint16_t)len;
    opt->val = p;
    *pos = p + len;
    return true;
}

int tern_msg_peek_header(const uint8_t *buf, size_t len, uint8_t *type, uint16_t *mid) {
    if (buf == NULL || len < TERN_HEADER_LEN || (buf[0] >> 6) != TERN_PROTOCOL_VERSION)
        return TERN_E_FORMAT;
    if (type) *type = (uint8_t)((buf[0] >> 4) & 0x03u);
    if (mid) *mid = (uint16_t)(buf[2] << 8 | buf[3]);
    return TERN_OK;
}

int tern_msg_parse(tern_msg *msg, const uint8_t *buf, size_t len) {
    if (msg == NULL) return TERN_E_INVAL;
    if (buf == NULL || len < TERN_HEADER_LEN) return TERN_E_FORMAT;
    if ((buf[0] >> 6) != TERN_PROTOCOL_VERSION) return TERN_E_FORMAT;
    uint8_t tkl = buf[0] & 0x0Fu;
    if (tkl > TERN_TOKEN_MAX) return TERN_E_FORMAT; /* 9-15 are reserved */
    /* Section 4.1: an Empty message is the bare header, nothing after it. */
    if (buf[1] == TERN_CODE_EMPTY && len != TERN_HEADER_LEN) return TERN_E_FORMAT;
    if (len < (size_t)TERN_HEADER_LEN + tkl) return TERN_E_FORMAT;

    const uint8_t *end = buf + len;
    const uint8_t *opts = buf + TERN_HEADER_LEN + tkl;
    const uint8_t *p = opts;
    const uint8_t *payload = NULL;
    uint32_t num = 0;
    while (p < end) {
        if (*p == TERN_PAYLOAD_MARKER) {
            /* Section 3: a marker followed by nothing is a format error. */
            if (end - p < 2) return TERN_E_FORMAT;
            payload = p + 1;
            break;
        }
        tern_opt opt;
        if (!read_opt(&p, end, &num, &opt)) return TERN_E_FORMAT;
    }

    msg->type = (uint8_t)((buf[0] >> 4) & 0x03u);
    msg->code = buf[1];
    msg->mid = (uint16_t)(buf[2] << 8 | buf[3]);
    msg->token_len = tkl;
    msg->token = buf + TERN_HEADER_LEN;
    msg->opts = opts;
    msg->opts_len = (size_t)(p - opts);
    msg->payload = payload;
    msg->payload_len = payload ? (size_t)(end - payload) : 0;
    return TERN_OK;
}

void tern_opt_iter_init(tern_opt_iter *it, const tern_msg *msg) {
    it->pos = msg->opts;
    it->end = msg->opts ? msg->opts + msg->opts_len : NULL;
    it->num = 0;
}

/* The run was validated by tern_msg_parse(); the checks in read_opt() still
 * stop the walk on a hand-made tern_msg instead of reading past its end. */
bool tern_opt_next(tern_opt_iter *it, tern_opt *opt) {
    if (it->pos == NULL || it->pos >= it->end || *it->pos == TERN_PAYLOAD_MARKER) return false;
    uint32_t num = it->num;
    const uint8_t *p = it->pos;
    if (!read_opt(&p, it->end, &num, opt)) {
        it->pos = it->end;
        return false;
    }
    it->pos = p;
    it->num = (uint16_t)num;
    return true;
}

int tern_msg_find_opt(const tern_msg *msg, uint16_t num, tern_opt *opt) {
    tern_opt_iter it;
    tern_opt o;
    tern_opt_iter_init(&it, msg);
    while (tern_opt_next(&it, &o)) {
        if (o.num == num) {
            if (opt) *opt = o;
            return TERN_OK;
        }
        if (o.num > num) break; /* wire order is ascending */
    }
    return TERN_E_NOTFOUND;
}

unsigned tern_msg_count_opt(const tern_msg *msg, uint16_t num) {
    tern_opt_iter it;
    tern_opt o;
    unsigned n = 0;
    tern_opt_iter_init(&it, msg);
    while (tern_opt_next(&it, &o)) {
        if (o.num == num) n++;
        else if (o.num > num) break;
    }
    return n;
}

int tern_opt_uint_decode(const uint8_t *val, size_t len, uint32_t *out) {
    if (len > 4) return TERN_E_FORMAT;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) v = v << 8 | val[i];
    if (out) *out = v;
    return TERN_OK;
}

size_t tern_opt_uint_encode(uint32_t v, uint8_t out[4]) {
    size_t n = 0;
    for (uint32_t t = v; t != 0; t >>= 8) n++;
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return n;
}

int tern_msg_get_uint(const tern_msg *msg, uint16_t num, uint32_t *val) {
    tern_opt o;
    int rc = tern_msg_find_opt(msg, num, &o);
    if (rc < 0) return rc;
    return tern_opt_uint_decode(o.val, o.len, val);
}
