/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/msg.h - the CoAP wire codec (RFC 7252 section 3, 5.4, 5.10; RFC 7641;
 * RFC 7959).
 *
 * Parsing produces a tern_msg: a view into the caller's datagram, valid while
 * that buffer lives. Nothing is copied and nothing is allocated. Building
 * collects options in any order into a tern_msgb and encodes them sorted by
 * number (stable, so repeated options keep their order) into a caller buffer. */
#ifndef TERN_MSG_H
#define TERN_MSG_H

#include "tern/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Header fields (section 3) ------------------------------------------ */

#define TERN_PROTOCOL_VERSION 1
#define TERN_TOKEN_MAX 8
#define TERN_ETAG_MAX 8 /* section 5.10.6: an ETag is 1 to 8 bytes */
#define TERN_HEADER_LEN 4
#define TERN_PAYLOAD_MARKER 0xFF

typedef enum tern_type {
    TERN_TYPE_CON = 0,
    TERN_TYPE_NON = 1,
    TERN_TYPE_ACK = 2,
    TERN_TYPE_RST = 3
} tern_type;

/* A code is class (3 bits) and detail (5 bits): "c.dd" on paper. */
#define TERN_CODE(c, dd) ((uint8_t)(((c) << 5) | (dd)))
#define TERN_CODE_CLASS(code) ((uint8_t)((code) >> 5))
#define TERN_CODE_DETAIL(code) ((uint8_t)((code) & 0x1F))

enum {
    TERN_CODE_EMPTY = TERN_CODE(0, 0),
    /* Methods: RFC 7252 section 12.1.1, RFC 8132 */
    TERN_CODE_GET = TERN_CODE(0, 1),
    TERN_CODE_POST = TERN_CODE(0, 2),
    TERN_CODE_PUT = TERN_CODE(0, 3),
    TERN_CODE_DELETE = TERN_CODE(0, 4),
    TERN_CODE_FETCH = TERN_CODE(0, 5),
    TERN_CODE_PATCH = TERN_CODE(0, 6),
    TERN_CODE_IPATCH = TERN_CODE(0, 7),
    /* Responses: RFC 7252 section 12.1.2, RFC 7959, RFC 8132, RFC 8516 */
    TERN_CODE_CREATED = TERN_CODE(2, 1),
    TERN_CODE_DELETED = TERN_CODE(2, 2),
    TERN_CODE_VALID = TERN_CODE(2, 3),
    TERN_CODE_CHANGED = TERN_CODE(2, 4),
    TERN_CODE_CONTENT = TERN_CODE(2, 5),
    TERN_CODE_CONTINUE = TERN_CODE(2, 31),
    TERN_CODE_BAD_REQUEST = TERN_CODE(4, 0),
    TERN_CODE_UNAUTHORIZED = TERN_CODE(4, 1),
    TERN_CODE_BAD_OPTION = TERN_CODE(4, 2),
    TERN_CODE_FORBIDDEN = TERN_CODE(4, 3),
    TERN_CODE_NOT_FOUND = TERN_CODE(4, 4),
    TERN_CODE_METHOD_NOT_ALLOWED = TERN_CODE(4, 5),
    TERN_CODE_NOT_ACCEPTABLE = TERN_CODE(4, 6),
    TERN_CODE_REQUEST_ENTITY_INCOMPLETE = TERN_CODE(4, 8),
    TERN_CODE_CONFLICT = TERN_CODE(4, 9),
    TERN_CODE_PRECONDITION_FAILED = TERN_CODE(4, 12),
    TERN_CODE_REQUEST_ENTITY_TOO_LARGE = TERN_CODE(4, 13),
    TERN_CODE_UNSUPPORTED_CONTENT_FORMAT = TERN_CODE(4, 15),
    TERN_CODE_UNPROCESSABLE_ENTITY = TERN_CODE(4, 22),
    TERN_CODE_TOO_MANY_REQUESTS = TERN_CODE(4, 29),
    TERN_CODE_INTERNAL_SERVER_ERROR = TERN_CODE(5, 0),
    TERN_CODE_NOT_IMPLEMENTED = TERN_CODE(5, 1),
    TERN_CODE_BAD_GATEWAY = TERN_CODE(5, 2),
    TERN_CODE_SERVICE_UNAVAILABLE = TERN_CODE(5, 3),
    TERN_CODE_GATEWAY_TIMEOUT = TERN_CODE(5, 4),
    TERN_CODE_PROXYING_NOT_SUPPORTED = TERN_CODE(5, 5),
    TERN_CODE_HOP_LIMIT_REACHED = TERN_CODE(5, 8)
};

/* Section 12.1: class 0 with a non-zero detail is a request; classes 2, 4
 * and 5 are responses; everything else is reserved. */
static inline bool tern_code_is_request(uint8_t code) {
    return TERN_CODE_CLASS(code) == 0 && code != TERN_CODE_EMPTY;
}
static inline bool tern_code_is_response(uint8_t code) {
    uint8_t c = TERN_CODE_CLASS(code);
    return c == 2 || c == 4 || c == 5;
}

/* ---- Option numbers (section 5.10, 12.2 and later RFCs) ------------------ */

enum {
    TERN_OPT_IF_MATCH = 1,
    TERN_OPT_URI_HOST = 3,
    TERN_OPT_ETAG = 4,
    TERN_OPT_IF_NONE_MATCH = 5,
    TERN_OPT_OBSERVE = 6, /* RFC 7641 */
    TERN_OPT_URI_PORT = 7,
    TERN_OPT_LOCATION_PATH = 8,
    TERN_OPT_OSCORE = 9, /* RFC 8613 */
    TERN_OPT_URI_PATH = 11,
    TERN_OPT_CONTENT_FORMAT = 12,
    TERN_OPT_MAX_AGE = 14,
    TERN_OPT_URI_QUERY = 15,
    TERN_OPT_HOP_LIMIT = 16, /* RFC 8768 */
    TERN_OPT_ACCEPT = 17,
    TERN_OPT_Q_BLOCK1 = 19, /* RFC 9177 */
    TERN_OPT_LOCATION_QUERY = 20,
    TERN_OPT_BLOCK2 = 23, /* RFC 7959 */
    TERN_OPT_BLOCK1 = 27, /* RFC 7959 */
    TERN_OPT_SIZE2 = 28,  /* RFC 7959 */
    TERN_OPT_Q_BLOCK2 = 31, /* RFC 9177 */
    TERN_OPT_PROXY_URI = 35,
    TERN_OPT_PROXY_SCHEME = 39,
    TERN_OPT_SIZE1 = 60,
    TERN_OPT_ECHO = 252,        /* RFC 9175 */
    TERN_OPT_NO_RESPONSE = 258, /* RFC 7967 */
    TERN_OPT_REQUEST_TAG = 292  /* RFC 9175 */
};

/* Section 5.4.6: the properties are encoded in the option number itself. */
static inline bool tern_opt_is_critical(uint16_t num) { return (num & 1) != 0; }
static inline bool tern_opt_is_unsafe(uint16_t num) { return (num & 2) != 0; }
static inline bool tern_opt_is_no_cache_key(uint16_t num) { return (num & 0x1E) == 0x1C; }

/* Section 3.2 option value formats. */
typedef enum tern_opt_format {
    TERN_OPT_FMT_EMPTY,
    TERN_OPT_FMT_OPAQUE,
    TERN_OPT_FMT_UINT,
    TERN_OPT_FMT_STRING
} tern_opt_format;

/* What the option table (section 5.10) knows of one option number. */
typedef struct tern_opt_def {
    uint16_t num;
    const char *name;      /* "Uri-Path" */
    tern_opt_format format;
    uint16_t min_len, max_len;
    bool repeatable;
} tern_opt_def;

/* The table entry for num, or NULL when tern does not recognise it. */
TERN_API const tern_opt_def *tern_opt_lookup(uint16_t num);
/* The table entry whose name matches (case-insensitive), or NULL. */
TERN_API const tern_opt_def *tern_opt_lookup_name(const char *name);

/* ---- Content-Format registry (section 12.3 and IANA) --------------------- */

enum {
    TERN_CF_TEXT_PLAIN = 0,
    TERN_CF_LINK_FORMAT = 40,
    TERN_CF_XML = 41,
    TERN_CF_OCTET_STREAM = 42,
    TERN_CF_EXI = 47,
    TERN_CF_JSON = 50,
    TERN_CF_JSON_PATCH = 51,
    TERN_CF_MERGE_PATCH = 52,
    TERN_CF_CBOR = 60,
    TERN_CF_CWT = 61,
    TERN_CF_SENML_JSON = 110,
    TERN_CF_SENML_CBOR = 112
};

/* The media type for a Content-Format ("text/plain;charset=utf-8"), or NULL. */
TERN_API const char *tern_cf_name(uint16_t cf);
/* Parse a Content-Format given as a number, a full media type or a short name
 * (text, link, xml, octet, json, cbor, senml+json, ...). 0 or TERN_E_INVAL. */
TERN_API int tern_cf_parse(const char *s, uint16_t *cf);

/* ---- Parsed message: a view ---------------------------------------------- */

typedef struct tern_msg {
    uint8_t type;  /* tern_type */
    uint8_t code;
    uint16_t mid;
    uint8_t token_len;
    const uint8_t *token;   /* token_len bytes inside the datagram */
    const uint8_t *opts;    /* first option byte; the option run is valid */
    size_t opts_len;
    const uint8_t *payload; /* NULL when there is no payload */
    size_t payload_len;
} tern_msg;

/* One option as it stands in a message: value points into the datagram. */
typedef struct tern_opt {
    uint16_t num;
    uint16_t len;
    const uint8_t *val;
} tern_opt;

/* Parse a datagram into a view with the strict checks of section 3:
 * version 1, token length 0-8, option deltas and lengths (nibble 15 only as
 * payload marker), no option past the end, no empty payload after a marker,
 * option numbers that stay within 16 bits. An Empty message (code 0.00) must
 * be exactly 4 bytes (section 4.1). TERN_E_FORMAT on any violation. */
TERN_API int tern_msg_parse(tern_msg *msg, const uint8_t *buf, size_t len);

/* Read just enough of a datagram to answer a format error with RST
 * (section 4.2): 0 with type and MID filled, or TERN_E_FORMAT if even the
 * 4-byte header is not there or the version is not 1. */
TERN_API int tern_msg_peek_header(const uint8_t *buf, size_t len, uint8_t *type, uint16_t *mid);

/* Walk options in wire order. */
typedef struct tern_opt_iter {
    const uint8_t *pos, *end;
    uint16_t num;
} tern_opt_iter;

TERN_API void tern_opt_iter_init(tern_opt_iter *it, const tern_msg *msg);
/* true and *opt filled while options remain. */
TERN_API bool tern_opt_next(tern_opt_iter *it, tern_opt *opt);

/* First option with this number: 0, or TERN_E_NOTFOUND. */
TERN_API int tern_msg_find_opt(const tern_msg *msg, uint16_t num, tern_opt *opt);
/* How many times option num occurs. */
TERN_API unsigned tern_msg_count_opt(const tern_msg *msg, uint16_t num);
/* First option num decoded as uint (section 3.2: at most 4 bytes here, leading
 * zeros allowed on input): 0, TERN_E_NOTFOUND, or TERN_E_FORMAT if longer. */
TERN_API int tern_msg_get_uint(const tern_msg *msg, uint16_t num, uint32_t *val);

/* Decode a uint option value of len bytes (big-endian). TERN_E_FORMAT if
 * len > 4. */
TERN_API int tern_opt_uint_decode(const uint8_t *val, size_t len, uint32_t *out);
/* Minimal-length encoding (section 3.2: zero is the empty string).
 * Writes up to 4 bytes into out and returns the length. */
TERN_API size_t tern_opt_uint_encode(uint32_t v, uint8_t out[4]);

/* ---- Building ------------------------------------------------------------ */

#ifndef TERN_MSGB_MAX_OPTS
#define TERN_MSGB_MAX_OPTS 40
#endif

/* A message under construction. Option values given by pointer must stay
 * valid until tern_msgb_encode(); uint values are copied into the builder
 * (opts[i].val then points into its own uint_store, so a builder holding uint
 * options must not be copied by value and encoded after the original is gone). */
typedef struct tern_msgb {
    uint8_t type;
    uint8_t code;
    uint16_t mid;
    uint8_t token_len;
    uint8_t token[TERN_TOKEN_MAX];
    size_t n_opts;
    /* Bit num % 64 set when an option of that number may be present (kept
     * by the tern_msgb_* calls): a clear bit lets a lookup or a removal of
     * an absent option skip the scan. */
    uint64_t present;
    tern_opt opts[TERN_MSGB_MAX_OPTS];
    uint8_t uint_store[TERN_MSGB_MAX_OPTS][4];
    const uint8_t *payload;
    size_t payload_len;
} tern_msgb;

TERN_API void tern_msgb_init(tern_msgb *b, tern_type type, uint8_t code, uint16_t mid);
/* TERN_E_INVAL when len > 8. */
TERN_API int tern_msgb_set_token(tern_msgb *b, const uint8_t *token, size_t len);
/* Append an option; TERN_E_FULL past TERN_MSGB_MAX_OPTS, TERN_E_INVAL when
 * len > 65535 (tern_opt.len is 16 bits) or val is NULL with len > 0. */
TERN_API int tern_msgb_add_opt(tern_msgb *b, uint16_t num, const void *val, size_t len);
/* Append a uint option in minimal form (the value is copied). */
TERN_API int tern_msgb_add_uint(tern_msgb *b, uint16_t num, uint32_t val);
/* Append a string option (strlen(s) bytes). */
TERN_API int tern_msgb_add_str(tern_msgb *b, uint16_t num, const char *s);
/* Remove every option with this number. */
TERN_API void tern_msgb_remove_opt(tern_msgb *b, uint16_t num);
/* The same, for the options from index first on (those appended after the
 * caller's own, e.g. by tern_uri_to_opts); earlier ones stay. */
TERN_API void tern_msgb_remove_opt_from(tern_msgb *b, size_t first, uint16_t num);
/* Replace every occurrence of num by one uint option. */
TERN_API int tern_msgb_set_uint(tern_msgb *b, uint16_t num, uint32_t val);
TERN_API void tern_msgb_set_payload(tern_msgb *b, const void *payload, size_t len);
/* Copy header, token, options and payload of a parsed message; the builder
 * then points into msg's buffer. */
TERN_API int tern_msgb_from_msg(tern_msgb *b, const tern_msg *msg);

/* Encode into buf: the length written (> 0), or TERN_E_NOSPACE if cap is too
 * small, TERN_E_INVAL for a header that cannot be sent (an Empty message with
 * token, options or payload). Options go out sorted by number. */
TERN_API int tern_msgb_encode(const tern_msgb *b, uint8_t *buf, size_t cap);

/* ---- Block1/Block2 (RFC 7959 section 2.2) -------------------------------- */

typedef struct tern_block {
    uint32_t num;  /* block number, up to 2^20 - 1 */
    bool more;     /* M bit */
    uint8_t szx;   /* size exponent: block size is 2^(szx + 4), 0..6 */
} tern_block;

static inline size_t tern_block_size(uint8_t szx) { return (size_t)16 << szx; }
/* Decode an option value; TERN_E_FORMAT for SZX 7 (reserved over UDP) or a
 * value over 3 bytes. */
TERN_API int tern_block_decode(uint32_t val, tern_block *blk);
TERN_API int tern_msg_get_block(const tern_msg *msg, uint16_t num, tern_block *blk);
/* Encode; TERN_E_INVAL for num >= 2^20 or szx > 6. */
TERN_API int tern_block_encode(const tern_block *blk, uint32_t *val);
/* SZX of the largest block that fits in size bytes (rounded down to a power
 * of two; 1024 and above give 6), or TERN_E_INVAL below 16. */
TERN_API int tern_block_szx_for(size_t size);

/* ---- Observe (RFC 7641) -------------------------------------------------- */

#define TERN_OBSERVE_REGISTER 0
#define TERN_OBSERVE_DEREGISTER 1
#define TERN_OBSERVE_SEQ_MASK 0xFFFFFFu /* section 4.4: 24-bit sequence */

/* RFC 7641 section 3.4: is notification (v2, arriving at t2_ms) fresher than
 * (v1, t1_ms)? True when v1 < v2 within 2^23, or v1 > v2 by more than 2^23,
 * or more than 128 seconds passed between them. */
TERN_API bool tern_observe_is_fresher(uint32_t v1, uint64_t t1_ms, uint32_t v2, uint64_t t2_ms);

/* ---- Names, for -v output ------------------------------------------------ */

/* "CON", "NON", "ACK", "RST". */
TERN_API const char *tern_type_name(uint8_t type);
/* "GET", "2.05 Content", ... or NULL for an unassigned code. */
TERN_API const char *tern_code_name(uint8_t code);
/* Write "c.dd" into out (at least 5 bytes). */
TERN_API void tern_code_format(uint8_t code, char out[5]);

/* Bytes quoted for people (a log line, a diagnostic payload): printable
 * ASCII as it is, \" \\ \n \r \t, the rest as \xNN; cut at a whole escape
 * with "..." when out (cap bytes) is too small. Returns out. */
TERN_API const char *tern_text_escape(char *out, size_t cap, const void *data, size_t len);

/* One line describing a message, like Wireshark's info column:
 * CON GET mid=0x1234 tok=a1b2 Uri-Path:"alarm" Observe:0 | "ON"
 * Truncated to fit cap; returns the length it wanted (snprintf style). */
TERN_API int tern_msg_format(const tern_msg *msg, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
