/* SPDX-License-Identifier: BSD-2-Clause */
/* names.c - human-readable names for types, codes and whole messages
 * (RFC 7252 sections 3, 5.10, 12.1; RFC 7959 section 2.2 for block notation).
 *
 * Used for `tern -v` and logs. tern_msg_format() writes one line in the
 * spirit of Wireshark's info column, snprintf style: it always reports the
 * length it wanted and truncates to the caller's buffer. It does its own
 * number and hex formatting so that src/msg needs no stdio. Block values use
 * the NUM/M/size notation of RFC 7959's figures ("2:0/1/128"). Long payloads
 * and option values are cut so that one message stays one readable line. */
#include "tern/msg.h"

#include <limits.h>
#include <string.h>

#define FORMAT_TEXT_MAX 64 /* characters of a value shown before "..." */
#define FORMAT_HEX_MAX 32  /* bytes of a value shown as hex before "..." */

const char *tern_type_name(uint8_t type) {
    static const char *const names[] = {"CON", "NON", "ACK", "RST"};
    return type < 4 ? names[type] : "???";
}

const char *tern_code_name(uint8_t code) {
    switch (code) {
    case TERN_CODE_EMPTY: return "Empty";
    case TERN_CODE_GET: return "GET";
    case TERN_CODE_POST: return "POST";
    case TERN_CODE_PUT: return "PUT";
    case TERN_CODE_DELETE: return "DELETE";
    case TERN_CODE_FETCH: return "FETCH";
    case TERN_CODE_PATCH: return "PATCH";
    case TERN_CODE_IPATCH: return "iPATCH";
    case TERN_CODE_CREATED: return "2.01 Created";
    case TERN_CODE_DELETED: return "2.02 Deleted";
    case TERN_CODE_VALID: return "2.03 Valid";
    case TERN_CODE_CHANGED: return "2.04 Changed";
    case TERN_CODE_CONTENT: return "2.05 Content";
    case TERN_CODE_CONTINUE: return "2.31 Continue";
    case TERN_CODE_BAD_REQUEST: return "4.00 Bad Request";
    case TERN_CODE_UNAUTHORIZED: return "4.01 Unauthorized";
    case TERN_CODE_BAD_OPTION: return "4.02 Bad Option";
    case TERN_CODE_FORBIDDEN: return "4.03 Forbidden";
    case TERN_CODE_NOT_FOUND: return "4.04 Not Found";
    case TERN_CODE_METHOD_NOT_ALLOWED: return "4.05 Method Not Allowed";
    case TERN_CODE_NOT_ACCEPTABLE: return "4.06 Not Acceptable";
    case TERN_CODE_REQUEST_ENTITY_INCOMPLETE: return "4.08 Request Entity Incomplete";
    case TERN_CODE_CONFLICT: return "4.09 Conflict";
    case TERN_CODE_PRECONDITION_FAILED: return "4.12 Precondition Failed";
    case TERN_CODE_REQUEST_ENTITY_TOO_LARGE: return "4.13 Request Entity Too Large";
    case TERN_CODE_UNSUPPORTED_CONTENT_FORMAT: return "4.15 Unsupported Content-Format";
    case TERN_CODE_UNPROCESSABLE_ENTITY: return "4.22 Unprocessable Entity";
    case TERN_CODE_TOO_MANY_REQUESTS: return "4.29 Too Many Requests";
    case TERN_CODE_INTERNAL_SERVER_ERROR: return "5.00 Internal Server Error";
    case TERN_CODE_NOT_IMPLEMENTED: return "5.01 Not Implemented";
    case TERN_CODE_BAD_GATEWAY: return "5.02 Bad Gateway";
    case TERN_CODE_SERVICE_UNAVAILABLE: return "5.03 Service Unavailable";
    case TERN_CODE_GATEWAY_TIMEOUT: return "5.04 Gateway Timeout";
    case TERN_CODE_PROXYING_NOT_SUPPORTED: return "5.05 Proxying Not Supported";
    case TERN_CODE_HOP_LIMIT_REACHED: return "5.08 Hop Limit Reached";
    default: return NULL;
    }
}

void tern_code_format(uint8_t code, char out[5]) {
    uint8_t d = TERN_CODE_DETAIL(code);
    out[0] = (char)('0' + TERN_CODE_CLASS(code));
    out[1] = '.';
    out[2] = (char)('0' + d / 10);
    out[3] = (char)('0' + d % 10);
    out[4] = '\0';
}

/* An output cursor that keeps counting after the buffer is full. */
typedef struct fmt_out {
    char *buf;
    size_t cap;
    size_t len;
} fmt_out;

static void put_char(fmt_out *f, char c) {
    if (f->len + 1 < f->cap) f->buf[f->len] = c;
    f->len++;
}

static void put_str(fmt_out *f, const char *s) {
    while (*s) put_char(f, *s++);
}

static void put_uint(fmt_out *f, uint32_t v) {
    char digits[10];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) put_char(f, digits[--n]);
}

static void put_hex_byte(fmt_out *f, uint8_t b) {
    static const char hex[] = "0123456789abcdef";
    put_char(f, hex[b >> 4]);
    put_char(f, hex[b & 0x0F]);
}

static void put_hex(fmt_out *f, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) put_hex_byte(f, p[i]);
}

/* Printable ASCII, with the escapes below; anything else makes a value
 * binary. */
static bool is_text(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 || p[i] > 0x7E) && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

static void put_quoted(fmt_out *f, const uint8_t *p, size_t n) {
    put_char(f, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            put_char(f, '\\');
            put_char(f, (char)c);
        } else if (c == '\n') {
            put_str(f, "\\n");
        } else if (c == '\r') {
            put_str(f, "\\r");
        } else if (c == '\t') {
            put_str(f, "\\t");
        } else if (c < 0x20 || c > 0x7E) {
            put_str(f, "\\x");
            put_hex_byte(f, c);
        } else {
            put_char(f, (char)c);
        }
    }
    put_char(f, '"');
}

static bool is_block_opt(uint16_t num) {
    return num == TERN_OPT_BLOCK1 || num == TERN_OPT_BLOCK2 || num == TERN_OPT_Q_BLOCK1 ||
           num == TERN_OPT_Q_BLOCK2;
}

static void put_opt(fmt_out *f, const tern_opt *o) {
    const tern_opt_def *def = tern_opt_lookup(o->num);
    if (def) {
        put_str(f, def->name);
    } else {
        put_str(f, "Option-");
        put_uint(f, o->num);
    }
    tern_opt_format format = def ? def->format : TERN_OPT_FMT_OPAQUE;
    /* A flag-like option (If-None-Match, an empty If-Match) reads best as
     * its bare name. */
    if (o->len == 0 && (format == TERN_OPT_FMT_EMPTY || format == TERN_OPT_FMT_OPAQUE)) return;
    put_char(f, ':');

    uint32_t v;
    bool is_uint = format == TERN_OPT_FMT_UINT && tern_opt_uint_decode(o->val, o->len, &v) == 0;
    if (is_uint && (o->num == TERN_OPT_CONTENT_FORMAT || o->num == TERN_OPT_ACCEPT)) {
        const char *name = v <= UINT16_MAX ? tern_cf_name((uint16_t)v) : NULL;
        if (name) put_str(f, name);
        else put_uint(f, v);
        return;
    }
    tern_block blk;
    if (is_uint && is_block_opt(o->num) && tern_block_decode(v, &blk) == 0) {
        put_uint(f, blk.num);
        put_char(f, '/');
        put_char(f, blk.more ? '1' : '0');
        put_char(f, '/');
        put_uint(f, (uint32_t)tern_block_size(blk.szx));
        return;
    }
    if (is_uint) {
        put_uint(f, v);
    } else if (format == TERN_OPT_FMT_STRING) {
        put_quoted(f, o->val, o->len < FORMAT_TEXT_MAX ? o->len : FORMAT_TEXT_MAX);
        if (o->len > FORMAT_TEXT_MAX) put_str(f, "...");
    } else {
        put_hex(f, o->val, o->len < FORMAT_HEX_MAX ? o->len : FORMAT_HEX_MAX);
        if (o->len > FORMAT_HEX_MAX) put_str(f, "...");
    }
}

static void put_payload(fmt_out *f, const uint8_t *p, size_t n) {
    put_str(f, " | ");
    if (is_text(p, n)) {
        put_quoted(f, p, n < FORMAT_TEXT_MAX ? n : FORMAT_TEXT_MAX);
        if (n <= FORMAT_TEXT_MAX) return;
        put_str(f, "...");
    } else {
        put_hex(f, p, n < FORMAT_HEX_MAX ? n : FORMAT_HEX_MAX);
        if (n > FORMAT_HEX_MAX) put_str(f, "...");
    }
    put_str(f, " (");
    put_uint(f, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
    put_str(f, " bytes)");
}

int tern_msg_format(const tern_msg *msg, char *out, size_t cap) {
    fmt_out f = {out, out ? cap : 0, 0};

    put_str(&f, tern_type_name(msg->type));
    put_char(&f, ' ');
    const char *code = tern_code_name(msg->code);
    if (code) {
        put_str(&f, code);
    } else {
        char num[5];
        tern_code_format(msg->code, num);
        put_str(&f, num);
    }
    put_str(&f, " mid=0x");
    put_hex_byte(&f, (uint8_t)(msg->mid >> 8));
    put_hex_byte(&f, (uint8_t)msg->mid);
    if (msg->token_len > 0) {
        put_str(&f, " tok=");
        put_hex(&f, msg->token, msg->token_len);
    }

    tern_opt_iter it;
    tern_opt o;
    tern_opt_iter_init(&it, msg);
    while (tern_opt_next(&it, &o)) {
        put_char(&f, ' ');
        put_opt(&f, &o);
    }
    if (msg->payload && msg->payload_len > 0) put_payload(&f, msg->payload, msg->payload_len);

    if (f.cap > 0) f.buf[f.len < f.cap ? f.len : f.cap - 1] = '\0';
    return f.len > INT_MAX ? INT_MAX : (int)f.len;
}

const char *tern_text_escape(char *out, size_t cap, const void *data, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    size_t n = 0, safe = 0; /* safe: a whole-escape boundary with room for "..." */
    if (cap == 0) return out;
    for (size_t i = 0; i < len; i++) {
        char e[5];
        size_t k = 0;
        unsigned char c = p[i];
        if (c == '\\' || c == '"') {
            e[k++] = '\\';
            e[k++] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            e[k++] = '\\';
            e[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20 || c > 0x7E) {
            e[k++] = '\\';
            e[k++] = 'x';
            e[k++] = hex[c >> 4];
            e[k++] = hex[c & 15];
        } else {
            e[k++] = (char)c;
        }
        /* Room for this escape, and for "..." if more is to come. */
        size_t need = n + k + (i + 1 < len ? 3 : 0);
        if (need >= cap) {
            n = safe;
            if (n + 3 < cap) {
                memcpy(out + n, "...", 3);
                n += 3;
            }
            break;
        }
        memcpy(out + n, e, k);
        n += k;
        if (n + 3 < cap) safe = n;
    }
    out[n < cap ? n : cap - 1] = '\0';
    return out;
}
