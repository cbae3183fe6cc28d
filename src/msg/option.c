/* SPDX-License-Identifier: BSD-2-Clause */
/* option.c - what tern knows about option numbers and Content-Formats
 * (RFC 7252 sections 5.4, 5.10 and 12.3; RFC 7641 section 2; RFC 7959
 * section 2.1 and 4; RFC 7967; RFC 8613 section 2; RFC 8768; RFC 9175;
 * RFC 9177).
 *
 * Two small constant tables, kept readable as copies of the RFC tables: the
 * options sorted by number (found by a direct index below 64 and a binary
 * search above, for every option of every message), the Content-Formats
 * searched linearly. The
 * critical / unsafe / no-cache-key properties are not stored: section 5.4.6
 * encodes them in the option number (see tern_opt_is_critical() and friends
 * in tern/msg.h). Name matching is ASCII case-insensitive by hand so that
 * the locale never changes what "uri-path" means. */
#include "tern/msg.h"

#define E TERN_OPT_FMT_EMPTY
#define O TERN_OPT_FMT_OPAQUE
#define U TERN_OPT_FMT_UINT
#define S TERN_OPT_FMT_STRING

/* Sorted by number. Lengths are the "Length" column of each RFC's table. */
static const tern_opt_def opt_table[] = {
    {TERN_OPT_IF_MATCH, "If-Match", O, 0, 8, true},
    {TERN_OPT_URI_HOST, "Uri-Host", S, 1, 255, false},
    {TERN_OPT_ETAG, "ETag", O, 1, 8, true},
    {TERN_OPT_IF_NONE_MATCH, "If-None-Match", E, 0, 0, false},
    {TERN_OPT_OBSERVE, "Observe", U, 0, 3, false},
    {TERN_OPT_URI_PORT, "Uri-Port", U, 0, 2, false},
    {TERN_OPT_LOCATION_PATH, "Location-Path", S, 0, 255, true},
    {TERN_OPT_OSCORE, "OSCORE", O, 0, 255, false},
    {TERN_OPT_URI_PATH, "Uri-Path", S, 0, 255, true},
    {TERN_OPT_CONTENT_FORMAT, "Content-Format", U, 0, 2, false},
    {TERN_OPT_MAX_AGE, "Max-Age", U, 0, 4, false},
    {TERN_OPT_URI_QUERY, "Uri-Query", S, 0, 255, true},
    {TERN_OPT_HOP_LIMIT, "Hop-Limit", U, 1, 1, false},
    {TERN_OPT_ACCEPT, "Accept", U, 0, 2, false},
    {TERN_OPT_Q_BLOCK1, "Q-Block1", U, 0, 3, false},
    {TERN_OPT_LOCATION_QUERY, "Location-Query", S, 0, 255, true},
    {TERN_OPT_BLOCK2, "Block2", U, 0, 3, false},
    {TERN_OPT_BLOCK1, "Block1", U, 0, 3, false},
    {TERN_OPT_SIZE2, "Size2", U, 0, 4, false},
    {TERN_OPT_Q_BLOCK2, "Q-Block2", U, 0, 3, false},
    {TERN_OPT_PROXY_URI, "Proxy-Uri", S, 1, 1034, false},
    {TERN_OPT_PROXY_SCHEME, "Proxy-Scheme", S, 1, 255, false},
    {TERN_OPT_SIZE1, "Size1", U, 0, 4, false},
    {TERN_OPT_ECHO, "Echo", O, 1, 40, false},
    {TERN_OPT_NO_RESPONSE, "No-Response", U, 0, 1, false},
    {TERN_OPT_REQUEST_TAG, "Request-Tag", O, 0, 8, true},
};

#undef E
#undef O
#undef U
#undef S

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static bool ascii_case_equal(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b)) return false;
    return *a == *b;
}

/* opt_table's row + 1 of each number below 64, 0 for none: the options of
 * almost every message, found in one step (the rest by binary search). */
static const uint8_t small_row[64] = {
    [TERN_OPT_IF_MATCH] = 1,
    [TERN_OPT_URI_HOST] = 2,
    [TERN_OPT_ETAG] = 3,
    [TERN_OPT_IF_NONE_MATCH] = 4,
    [TERN_OPT_OBSERVE] = 5,
    [TERN_OPT_URI_PORT] = 6,
    [TERN_OPT_LOCATION_PATH] = 7,
    [TERN_OPT_OSCORE] = 8,
    [TERN_OPT_URI_PATH] = 9,
    [TERN_OPT_CONTENT_FORMAT] = 10,
    [TERN_OPT_MAX_AGE] = 11,
    [TERN_OPT_URI_QUERY] = 12,
    [TERN_OPT_HOP_LIMIT] = 13,
    [TERN_OPT_ACCEPT] = 14,
    [TERN_OPT_Q_BLOCK1] = 15,
    [TERN_OPT_LOCATION_QUERY] = 16,
    [TERN_OPT_BLOCK2] = 17,
    [TERN_OPT_BLOCK1] = 18,
    [TERN_OPT_SIZE2] = 19,
    [TERN_OPT_Q_BLOCK2] = 20,
    [TERN_OPT_PROXY_URI] = 21,
    [TERN_OPT_PROXY_SCHEME] = 22,
    [TERN_OPT_SIZE1] = 23,
};

const tern_opt_def *tern_opt_lookup(uint16_t num) {
    if (num < 64) return small_row[num] ? &opt_table[small_row[num] - 1] : NULL;
    size_t lo = 0, hi = sizeof opt_table / sizeof opt_table[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (opt_table[mid].num == num) return &opt_table[mid];
        if (opt_table[mid].num < num) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const tern_opt_def *tern_opt_lookup_name(const char *name) {
    if (name == NULL) return NULL;
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++)
        if (ascii_case_equal(opt_table[i].name, name)) return &opt_table[i];
    return NULL;
}

/* The CoAP Content-Formats registry (RFC 7252 section 12.3 and IANA), with
 * a short name for the command line where one is in common use. */
typedef struct cf_def {
    uint16_t cf;
    const char *type;
    const char *shortname;
} cf_def;

static const cf_def cf_table[] = {
    {TERN_CF_TEXT_PLAIN, "text/plain;charset=utf-8", "text"},
    {TERN_CF_LINK_FORMAT, "application/link-format", "link"},
    {TERN_CF_XML, "application/xml", "xml"},
    {TERN_CF_OCTET_STREAM, "application/octet-stream", "octet"},
    {TERN_CF_EXI, "application/exi", "exi"},
    {TERN_CF_JSON, "application/json", "json"},
    {TERN_CF_JSON_PATCH, "application/json-patch+json", "json-patch"},
    {TERN_CF_MERGE_PATCH, "application/merge-patch+json", "merge-patch"},
    {TERN_CF_CBOR, "application/cbor", "cbor"},
    {TERN_CF_CWT, "application/cwt", "cwt"},
    {62, "application/multipart-core", "multipart"},
    {63, "application/cbor-seq", "cbor-seq"},
    {TERN_CF_SENML_JSON, "application/senml+json", "senml+json"},
    {111, "application/sensml+json", "sensml+json"},
    {TERN_CF_SENML_CBOR, "application/senml+cbor", "senml+cbor"},
    {113, "application/sensml+cbor", "sensml+cbor"},
    {11542, "application/vnd.oma.lwm2m+tlv", NULL},
    {11543, "application/vnd.oma.lwm2m+json", NULL},
};

const char *tern_cf_name(uint16_t cf) {
    for (size_t i = 0; i < sizeof cf_table / sizeof cf_table[0]; i++)
        if (cf_table[i].cf == cf) return cf_table[i].type;
    return NULL;
}

int tern_cf_parse(const char *s, uint16_t *cf) {
    if (s == NULL || *s == '\0') return TERN_E_INVAL;
    if (*s >= '0' && *s <= '9') {
        uint32_t v = 0;
        for (const char *p = s; *p; p++) {
            if (*p < '0' || *p > '9') return TERN_E_INVAL;
            v = v * 10 + (uint32_t)(*p - '0');
            if (v > UINT16_MAX) return TERN_E_INVAL;
        }
        *cf = (uint16_t)v;
        return TERN_OK;
    }
    /* text/plain is only registered with its charset, but people type it
     * without one. */
    if (ascii_case_equal(s, "text/plain")) {
        *cf = TERN_CF_TEXT_PLAIN;
        return TERN_OK;
    }
    for (size_t i = 0; i < sizeof cf_table / sizeof cf_table[0]; i++) {
        const cf_def *d = &cf_table[i];
        if (ascii_case_equal(d->type, s) || (d->shortname && ascii_case_equal(d->shortname, s))) {
            *cf = d->cf;
            return TERN_OK;
        }
    }
    return TERN_E_INVAL;
}
