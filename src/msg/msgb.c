/* SPDX-License-Identifier: BSD-2-Clause */
/* msgb.c - building a CoAP message into a caller buffer (RFC 7252 sections
 * 3, 3.1, 3.2 and 4.1).
 *
 * Options are collected in whatever order the caller adds them and go out
 * sorted by number, because section 3.1 encodes each number as a delta from
 * the previous one. The sort is a stable insertion sort over an index array
 * (at most TERN_MSGB_MAX_OPTS entries), so repeated options such as Uri-Path
 * keep the order they were added in and the builder itself stays untouched.
 * The encoder measures the whole message before writing a byte: on
 * TERN_E_NOSPACE nothing has been written. */
#include "tern/msg.h"

#include <limits.h>
#include <string.h>

void tern_msgb_init(tern_msgb *b, tern_type type, uint8_t code, uint16_t mid) {
    /* The header fields only: the option and token arrays are read no
     * further than n_opts and token_len, and clearing their 800 bytes was a
     * tenth of the work of answering a GET. */
    b->type = (uint8_t)type;
    b->code = code;
    b->mid = mid;
    b->token_len = 0;
    b->n_opts = 0;
    b->present = 0;
    b->payload = NULL;
    b->payload_len = 0;
}

int tern_msgb_set_token(tern_msgb *b, const uint8_t *token, size_t len) {
    if (len > TERN_TOKEN_MAX || (token == NULL && len > 0)) return TERN_E_INVAL;
    if (len > 0) memcpy(b->token, token, len);
    b->token_len = (uint8_t)len;
    return TERN_OK;
}

/* tern_opt.len is 16 bits, so 65535 is the longest value a builder holds. */
int tern_msgb_add_opt(tern_msgb *b, uint16_t num, const void *val, size_t len) {
    if (len > UINT16_MAX || (val == NULL && len > 0)) return TERN_E_INVAL;
    if (b->n_opts >= TERN_MSGB_MAX_OPTS) return TERN_E_FULL;
    tern_opt *o = &b->opts[b->n_opts++];
    b->present |= (uint64_t)1 << (num & 63u);
    o->num = num;
    o->len = (uint16_t)len;
    o->val = val;
    return TERN_OK;
}

int tern_msgb_add_uint(tern_msgb *b, uint16_t num, uint32_t val) {
    if (b->n_opts >= TERN_MSGB_MAX_OPTS) return TERN_E_FULL;
    size_t i = b->n_opts;
    size_t n = tern_opt_uint_encode(val, b->uint_store[i]);
    return tern_msgb_add_opt(b, num, b->uint_store[i], n);
}

int tern_msgb_add_str(tern_msgb *b, uint16_t num, const char *s) {
    if (s == NULL) return TERN_E_INVAL;
    return tern_msgb_add_opt(b, num, s, strlen(s));
}

/* uint values live in uint_store[slot]; when an option moves to another slot
 * its copied value has to move with it. */
void tern_msgb_remove_opt(tern_msgb *b, uint16_t num) { tern_msgb_remove_opt_from(b, 0, num); }

void tern_msgb_remove_opt_from(tern_msgb *b, size_t first, uint16_t num) {
    if (!(b->present & (uint64_t)1 << (num & 63u))) return; /* none to remove */
    size_t j = first;
    for (size_t i = first; i < b->n_opts; i++) {
        if (b->opts[i].num == num) continue;
        if (i != j) {
            b->opts[j] = b->opts[i];
            if (b->opts[i].val == b->uint_store[i]) {
                memcpy(b->uint_store[j], b->uint_store[i], sizeof b->uint_store[j]);
                b->opts[j].val = b->uint_store[j];
            }
        }
        j++;
    }
    b->n_opts = j;
    /* Other numbers may share num's bit: count again. */
    b->present = 0;
    for (size_t i = 0; i < j; i++) b->present |= (uint64_t)1 << (b->opts[i].num & 63u);
}

int tern_msgb_set_uint(tern_msgb *b, uint16_t num, uint32_t val) {
    tern_msgb_remove_opt(b, num);
    return tern_msgb_add_uint(b, num, val);
}

void tern_msgb_set_payload(tern_msgb *b, const void *payload, size_t len) {
    b->payload = payload;
    b->payload_len = payload ? len : 0;
}

int tern_msgb_from_msg(tern_msgb *b, const tern_msg *msg) {
    if (msg->type > TERN_TYPE_RST) return TERN_E_INVAL;
    tern_msgb_init(b, (tern_type)msg->type, msg->code, msg->mid);
    int rc = tern_msgb_set_token(b, msg->token, msg->token_len);
    if (rc < 0) return rc;
    tern_opt_iter it;
    tern_opt o;
    tern_opt_iter_init(&it, msg);
    while (tern_opt_next(&it, &o)) {
        rc = tern_msgb_add_opt(b, o.num, o.val, o.len);
        if (rc < 0) return rc;
    }
    tern_msgb_set_payload(b, msg->payload, msg->payload_len);
    return TERN_OK;
}

/* Section 3.1: values 0-12 fit the nibble, 13-268 take one extended byte,
 * 269-65804 two. */
static size_t ext_len(uint32_t v) { return v < 13 ? 0 : v < 269 ? 1 : 2; }
static unsigned ext_nibble(uint32_t v) { return v < 13 ? v : v < 269 ? 13u : 14u; }

static uint8_t *put_ext(uint8_t *p, uint32_t v) {
    if (v >= 269) {
        v -= 269;
        *p++ = (uint8_t)(v >> 8);
        *p++ = (uint8_t)v;
    } else if (v >= 13) {
        *p++ = (uint8_t)(v - 13);
    }
    return p;
}

int tern_msgb_encode(const tern_msgb *b, uint8_t *buf, size_t cap) {
    if (b->type > TERN_TYPE_RST || b->token_len > TERN_TOKEN_MAX ||
        b->n_opts > TERN_MSGB_MAX_OPTS)
        return TERN_E_INVAL;
    size_t payload_len = b->payload ? b->payload_len : 0;
    /* Section 4.1: an Empty message is the 4-byte header and nothing else. */
    if (b->code == TERN_CODE_EMPTY && (b->token_len || b->n_opts || payload_len))
        return TERN_E_INVAL;

    uint8_t order[TERN_MSGB_MAX_OPTS]; /* indices in number order */
    _Static_assert(TERN_MSGB_MAX_OPTS <= 256, "order[] holds byte indices");
    size_t n = b->n_opts;
    for (size_t i = 0; i < n; i++) {
        size_t k = i;
        while (k > 0 && b->opts[order[k - 1]].num > b->opts[i].num) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = (uint8_t)i;
    }

    size_t need = TERN_HEADER_LEN + (size_t)b->token_len;
    uint32_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        const tern_opt *o = &b->opts[order[i]];
        if (o->val == NULL && o->len > 0) return TERN_E_INVAL;
        need += 1 + ext_len(o->num - prev) + ext_len(o->len) + o->len;
        prev = o->num;
    }
    if (payload_len > 0) {
        if (payload_len > (size_t)INT_MAX - need - 1) return TERN_E_INVAL;
        need += 1 + payload_len;
    }
    if (need > (size_t)INT_MAX) return TERN_E_INVAL;
    if (buf == NULL || cap < need) return TERN_E_NOSPACE;

    uint8_t *p = buf;
    *p++ = (uint8_t)(TERN_PROTOCOL_VERSION << 6 | b->type << 4 | b->token_len);
    *p++ = b->code;
    *p++ = (uint8_t)(b->mid >> 8);
    *p++ = (uint8_t)b->mid;
    /* The token: all 8 bytes of b->token when the message itself goes on
     * that far (a fixed-size copy, no call; what lies past token_len is
     * overwritten next, and nothing past the message is touched). */
    if (need - TERN_HEADER_LEN >= sizeof b->token) memcpy(p, b->token, sizeof b->token);
    else if (b->token_len) memcpy(p, b->token, b->token_len);
    p += b->token_len;
    prev = 0;
    for (size_t i = 0; i < n; i++) {
        const tern_opt *o = &b->opts[order[i]];
        uint32_t delta = o->num - prev;
        *p++ = (uint8_t)(ext_nibble(delta) << 4 | ext_nibble(o->len));
        p = put_ext(p, delta);
        p = put_ext(p, o->len);
        if (o->len) memcpy(p, o->val, o->len);
        p += o->len;
        prev = o->num;
    }
    if (payload_len > 0) {
        *p++ = TERN_PAYLOAD_MARKER;
        memcpy(p, b->payload, payload_len);
        p += payload_len;
    }
    return (int)(p - buf);
}
