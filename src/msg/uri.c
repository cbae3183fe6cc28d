/* SPDX-License-Identifier: BSD-2-Clause */
/* uri.c - CoAP URIs <-> Uri-* options: RFC 7252 sections 6.1-6.5, RFC 3986,
 * RFC 8323 section 8 (coap+tcp, coaps+tcp), RFC 6874 (IPv6 zone ids).
 *
 * Parsing (section 6.4) is one left-to-right pass over the text. Every
 * component is checked against the RFC 3986 grammar, so anything that is not
 * an absolute URI fails with TERN_E_URI rather than being guessed at. Decoded
 * bytes go into uri->store in order: host, then path segments, then query
 * parameters. Because path segments are the last thing stored while the path
 * is walked, RFC 3986 section 5.2.4 dot-segment removal can pop a segment by
 * rewinding store_len, and the capacity limit applies to what survives.
 *
 * Composing (section 6.5) percent-encodes every option value so that
 * parse(compose(opts)) gives back the same options; fuzz/fuzz_uri.c checks
 * exactly that property. Two details follow from it:
 *  - a Uri-Path of "." or ".." is written as "%2E" / "%2E%2E": only literal
 *    dot segments are removed when parsing, so the encoded form survives;
 *  - a Uri-Host is always written as a reg-name (':' and '[' encoded), since
 *    parse never yields a Uri-Host that is an IP literal. */
#include "tern/uri.h"

#include <string.h>

/* RFC 7252 section 5.10: Uri-Host is 1-255 bytes, Uri-Path and Uri-Query
 * 0-255. A longer value cannot become a valid option, so the URI is refused
 * here instead of producing a request every server rejects with 4.02. */
#define URI_OPT_MAX 255

uint16_t tern_scheme_default_port(tern_scheme s) {
    switch (s) {
    case TERN_SCHEME_COAP:
    case TERN_SCHEME_COAP_TCP: return 5683;
    case TERN_SCHEME_COAPS:
    case TERN_SCHEME_COAPS_TCP: return 5684;
    }
    return 0;
}

const char *tern_scheme_name(tern_scheme s) {
    switch (s) {
    case TERN_SCHEME_COAP: return "coap";
    case TERN_SCHEME_COAPS: return "coaps";
    case TERN_SCHEME_COAP_TCP: return "coap+tcp";
    case TERN_SCHEME_COAPS_TCP: return "coaps+tcp";
    }
    return "?";
}

/* ---- RFC 3986 section 2 character classes -------------------------------- */

static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static int hex_val(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool is_unreserved(int c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(int c) {
    return c != 0 && strchr("!$&'()*+,;=", c) != NULL;
}

static bool is_pchar(int c) { return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@'; }

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

/* ---- Parsing ----------------------------------------------------------- */

static bool store_byte(tern_uri *uri, int c) {
    if (uri->store_len >= TERN_URI_STORE) return false;
    uri->store[uri->store_len++] = (char)c;
    return true;
}

/* Percent-decode text[0..len) into the store, allowing raw characters for
 * which ok() holds; '%' must be followed by two hex digits (section 2.1). */
static int decode_into(tern_uri *uri, const char *s, size_t len, bool (*ok)(int),
                       tern_uri_part *part) {
    size_t start = uri->store_len;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (len - i < 3) return TERN_E_URI;
            int hi = hex_val((unsigned char)s[i + 1]), lo = hex_val((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return TERN_E_URI;
            c = hi << 4 | lo;
            i += 2;
        } else if (!ok(c)) {
            return TERN_E_URI;
        }
        if (!store_byte(uri, c)) return TERN_E_URI;
    }
    if (uri->store_len - start > URI_OPT_MAX) return TERN_E_URI;
    part->off = (uint16_t)start;
    part->len = (uint16_t)(uri->store_len - start);
    return TERN_OK;
}

static bool reg_name_char(int c) { return is_unreserved(c) || is_sub_delim(c); }
static bool query_char(int c) { return is_pchar(c) || c == '/' || c == '?'; }
static bool zone_char(int c) { return is_unreserved(c); }

/* RFC 3986 section 3.2.2 dec-octet "." dec-octet "." dec-octet "." dec-octet:
 * no leading zeros, so "01.2.3.4" is a reg-name, not an address. */
static bool is_ipv4(const char *s, size_t len) {
    size_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (i >= len || s[i] != '.') return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && is_digit((unsigned char)s[i]) && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        size_t n = i - start;
        if (n == 0 || v > 255 || (n > 1 && s[start] == '0')) return false;
    }
    return i == len;
}

/* RFC 3986 section 3.2.2 IPv6address: up to eight 16-bit groups of 1-4 hex
 * digits, one "::" standing for one or more zero groups, and optionally a
 * dotted quad in place of the last two groups. */
static bool is_ipv6(const char *s, size_t len) {
    size_t i = 0;
    int groups = 0;
    bool elided = false;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        elided = true;
        i = 2;
    } else if (len >= 1 && s[0] == ':') {
        return false;
    }
    while (i < len) {
        size_t start = i;
        while (i < len && hex_val((unsigned char)s[i]) >= 0 && i - start < 5) i++;
        if (i < len && s[i] == '.') {
            /* a trailing IPv4 part counts as two groups */
            if (!is_ipv4(s + start, len - start) || groups > 6) return false;
            groups += 2;
            i = len;
            break;
        }
        if (i == start || i - start > 4) return false;
        groups++;
        if (i == len) break;
        if (s[i] != ':') return false;
        i++;
        if (i < len && s[i] == ':') {
            if (elided) return false;
            elided = true;
            i++;
        } else if (i == len) {
            return false; /* a single trailing ':' */
        }
    }
    return elided ? groups <= 7 : groups == 8;
}

/* host = IP-literal / IPv4address / reg-name (section 3.2.2). */
static int parse_host(tern_uri *uri, const char *s, size_t len) {
    if (len == 0) return TERN_E_URI; /* RFC 7252 section 6.1: host is required */
    size_t start = uri->store_len;
    if (s[0] == '[') {
        if (len < 3 || s[len - 1] != ']') return TERN_E_URI;
        const char *a = s + 1;
        size_t alen = len - 2;
        /* RFC 6874: "%25" introduces a zone id; "fe80::1%25eth0" is stored
         * as "fe80::1%eth0", the form getaddrinfo() takes. */
        size_t zone = alen;
        for (size_t i = 0; i < alen; i++) {
            if (a[i] == '%') {
                zone = i;
                break;
            }
        }
        if (!is_ipv6(a, zone)) return TERN_E_URI; /* also refuses IPvFuture */
        for (size_t i = 0; i < zone; i++)
            if (!store_byte(uri, lower((unsigned char)a[i]))) return TERN_E_URI;
        if (zone < alen) {
            if (alen - zone < 4 || a[zone + 1] != '2' || a[zone + 2] != '5') return TERN_E_URI;
            if (!store_byte(uri, '%')) return TERN_E_URI;
            tern_uri_part zp;
            int rc = decode_into(uri, a + zone + 3, alen - zone - 3, zone_char, &zp);
            if (rc < 0) return rc;
        }
        uri->host_is_ip_literal = true;
    } else {
        tern_uri_part hp;
        int rc = decode_into(uri, s, len, reg_name_char, &hp);
        if (rc < 0) return rc;
        /* Decoding before lower-casing (section 6.4 step 5 lists them the
         * other way round) is equivalent for a case-insensitive host
         * (RFC 3986 sections 3.2.2, 6.2.2) and gives one canonical Uri-Host. */
        for (size_t i = start; i < uri->store_len; i++)
            uri->store[i] = (char)lower((unsigned char)uri->store[i]);
        /* "%31.2.3.4" is 1.2.3.4 after normalising unreserved characters
         * (RFC 3986 section 6.2.2.2), so it is an IPv4 literal too. */
        uri->host_is_ip_literal = is_ipv4(uri->store + start, uri->store_len - start);
    }
    /* The host is looked up by name as a C string, where a NUL (from
     * "%00") would silently cut it short. */
    size_t hlen = uri->store_len - start;
    if (hlen > URI_OPT_MAX || memchr(uri->store + start, 0, hlen) != NULL) return TERN_E_URI;
    uri->host.off = (uint16_t)start;
    uri->host.len = (uint16_t)hlen;
    return TERN_OK;
}

/* port = *DIGIT; empty means the default (section 6.3's third example). */
static int parse_port(tern_uri *uri, const char *s, size_t len) {
    if (len == 0) return TERN_OK;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit((unsigned char)s[i])) return TERN_E_URI;
        v = v * 10 + (uint32_t)(s[i] - '0');
        if (v > 65535) return TERN_E_URI;
    }
    uri->port = (uint16_t)v;
    uri->port_explicit = true;
    return TERN_OK;
}

static bool too_many_parts(const tern_uri *uri) {
    return uri->n_path + uri->n_query >= TERN_URI_MAX_PARTS;
}

/* path-abempty, with RFC 3986 section 5.2.4 applied segment by segment: "."
 * is dropped, ".." drops the previous segment, and either one as the last
 * segment leaves a trailing "/" (an empty last segment). Only the literal
 * "." and ".." count; "%2E" is data, which keeps section 6.5 reversible. */
static int parse_path(tern_uri *uri, const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        /* s[i] is the '/' that opens a segment */
        size_t start = ++i;
        while (i < len && s[i] != '/') i++;
        size_t n = i - start;
        bool last = i == len;
        const char *seg = s + start;
        bool dot = n == 1 && seg[0] == '.';
        bool dotdot = n == 2 && seg[0] == '.' && seg[1] == '.';
        if (dot || dotdot) {
            if (dotdot && uri->n_path > 0) {
                uri->n_path--;
                uri->store_len = uri->path[uri->n_path].off;
            }
            if (!last) continue;
            n = 0; /* a trailing "/." or "/..": the path ends in "/" */
        }
        if (too_many_parts(uri)) return TERN_E_URI;
        int rc = decode_into(uri, seg, n, is_pchar, &uri->path[uri->n_path]);
        if (rc < 0) return rc;
        uri->n_path++;
    }
    /* Section 6.4 step 8: a path of "/" alone yields no Uri-Path. */
    if (uri->n_path == 1 && uri->path[0].len == 0) {
        uri->n_path = 0;
        uri->store_len = uri->path[0].off;
    }
    return TERN_OK;
}

/* Section 6.4 step 9: an empty query yields nothing; otherwise every
 * '&'-separated argument, empty ones included, is one Uri-Query. */
static int parse_query(tern_uri *uri, const char *s, size_t len) {
    if (len == 0) return TERN_OK;
    size_t i = 0;
    for (;;) {
        size_t start = i;
        while (i < len && s[i] != '&') i++;
        if (too_many_parts(uri)) return TERN_E_URI;
        int rc = decode_into(uri, s + start, i - start, query_char, &uri->query[uri->n_query]);
        if (rc < 0) return rc;
        uri->n_query++;
        if (i == len) return TERN_OK;
        i++;
    }
}

static const struct {
    const char *name;
    tern_scheme scheme;
} schemes[] = {
    {"coap", TERN_SCHEME_COAP},
    {"coaps", TERN_SCHEME_COAPS},
    {"coap+tcp", TERN_SCHEME_COAP_TCP},
    {"coaps+tcp", TERN_SCHEME_COAPS_TCP},
};

static int parse_scheme(tern_uri *uri, const char *s, size_t len) {
    for (size_t k = 0; k < sizeof schemes / sizeof schemes[0]; k++) {
        const char *name = schemes[k].name;
        if (strlen(name) != len) continue;
        size_t i = 0;
        while (i < len && lower((unsigned char)s[i]) == name[i]) i++;
        if (i == len) {
            uri->scheme = schemes[k].scheme;
            return TERN_OK;
        }
    }
    return TERN_E_URI;
}

int tern_uri_parse(tern_uri *uri, const char *text) {
    if (uri == NULL || text == NULL) return TERN_E_INVAL;
    memset(uri, 0, offsetof(tern_uri, store));

    size_t len = strlen(text);
    /* Section 6.4 step 4: a fragment is an error, and '#' can be nothing
     * else in a URI. */
    if (memchr(text, '#', len) != NULL) return TERN_E_URI;

    /* Step 1: only an absolute URI: scheme ":" "//" authority. A relative
     * reference has no scheme before the first '/', '?' or ':'. */
    size_t i = 0;
    if (len == 0 || !is_alpha((unsigned char)text[0])) return TERN_E_URI;
    while (i < len && (is_alpha((unsigned char)text[i]) || is_digit((unsigned char)text[i]) ||
                       text[i] == '+' || text[i] == '-' || text[i] == '.'))
        i++;
    if (i == len || text[i] != ':') return TERN_E_URI;
    int rc = parse_scheme(uri, text, i); /* step 3 */
    if (rc < 0) return rc;
    uri->port = tern_scheme_default_port(uri->scheme);
    i++;
    if (len - i < 2 || text[i] != '/' || text[i + 1] != '/') return TERN_E_URI;
    i += 2;

    /* authority = host [ ":" port ]; RFC 7252 section 6.1 has no userinfo,
     * so an '@' fails in the host check. */
    size_t a = i;
    while (i < len && text[i] != '/' && text[i] != '?') i++;
    size_t a_end = i;
    size_t host_end = a_end;
    if (a < a_end && text[a] == '[') {
        const char *close = memchr(text + a, ']', a_end - a);
        if (close == NULL) return TERN_E_URI;
        host_end = (size_t)(close - text) + 1;
        if (host_end != a_end && text[host_end] != ':') return TERN_E_URI;
    } else {
        const char *colon = memchr(text + a, ':', a_end - a);
        if (colon != NULL) host_end = (size_t)(colon - text);
    }
    if ((rc = parse_host(uri, text + a, host_end - a)) < 0) return rc;
    if (host_end < a_end && (rc = parse_port(uri, text + host_end + 1, a_end - host_end - 1)) < 0)
        return rc;

    size_t p = i;
    while (i < len && text[i] != '?') i++;
    if ((rc = parse_path(uri, text + p, i - p)) < 0) return rc;
    if (i < len && (rc = parse_query(uri, text + i + 1, len - i - 1)) < 0) return rc;
    return TERN_OK;
}

int tern_uri_to_opts(const tern_uri *uri, uint16_t dest_port, tern_msgb *b) {
    if (uri == NULL || b == NULL) return TERN_E_INVAL;
    int rc;
    if (!uri->host_is_ip_literal &&
        (rc = tern_msgb_add_opt(b, TERN_OPT_URI_HOST, tern_uri_str(uri, uri->host),
                                uri->host.len)) < 0)
        return rc;
    /* Step 6: Uri-Port only when the URI's port is not the one the datagram
     * goes to; a plain request to coap://h:61616/ carries none. */
    if (uri->port != dest_port &&
        (rc = tern_msgb_add_uint(b, TERN_OPT_URI_PORT, uri->port)) < 0)
        return rc;
    for (size_t k = 0; k < uri->n_path; k++)
        if ((rc = tern_msgb_add_opt(b, TERN_OPT_URI_PATH, tern_uri_str(uri, uri->path[k]),
                                    uri->path[k].len)) < 0)
            return rc;
    for (size_t k = 0; k < uri->n_query; k++)
        if ((rc = tern_msgb_add_opt(b, TERN_OPT_URI_QUERY, tern_uri_str(uri, uri->query[k]),
                                    uri->query[k].len)) < 0)
            return rc;
    return TERN_OK;
}

/* ---- Composing (section 6.5) -------------------------------------------- */

/* An output cursor: writes stop at cap - 1 so that the result can always be
 * NUL-terminated; `full` remembers that something was cut. */
typedef struct out_buf {
    char *p;
    size_t cap, len;
    bool full;
} out_buf;

static void put_c(out_buf *o, char c) {
    if (o->len + 1 < o->cap) o->p[o->len++] = c;
    else o->full = true;
}

static void put_s(out_buf *o, const char *s) {
    while (*s) put_c(o, *s++);
}

static void put_pct(out_buf *o, uint8_t c) {
    static const char hex[] = "0123456789ABCDEF"; /* section 2.1: upper case */
    put_c(o, '%');
    put_c(o, hex[c >> 4]);
    put_c(o, hex[c & 15]);
}

enum enc_kind { ENC_PATH, ENC_QUERY, ENC_HOST, ENC_ZONE };

static void put_enc(out_buf *o, const uint8_t *in, size_t len, enum enc_kind kind) {
    /* A segment "." or ".." would be removed as a dot segment on re-parsing;
     * "%2E" keeps it data (see the note at the top). */
    bool dots = kind == ENC_PATH && (len == 1 || len == 2) && in[0] == '.' &&
                (len == 1 || in[1] == '.');
    for (size_t i = 0; i < len; i++) {
        int c = in[i];
        bool keep;
        switch (kind) {
        case ENC_PATH: keep = is_pchar(c) && !dots; break;
        /* Section 6.5 step 9 keeps sub-delims, but '&' inside an argument
         * would split it in two when parsed again. */
        case ENC_QUERY: keep = query_char(c) && c != '&'; break;
        case ENC_HOST: keep = reg_name_char(c); break;
        default: keep = is_unreserved(c); break;
        }
        if (keep) put_c(o, (char)c);
        else put_pct(o, (uint8_t)c);
    }
}

static int out_finish(out_buf *o) {
    if (o->cap == 0) return TERN_E_NOSPACE;
    o->p[o->len] = '\0';
    if (o->full || o->len > INT32_MAX) return TERN_E_NOSPACE;
    return (int)o->len;
}

int tern_uri_pct_encode(const uint8_t *in, size_t len, bool query, char *out, size_t cap) {
    if ((in == NULL && len > 0) || (out == NULL && cap > 0)) return TERN_E_INVAL;
    out_buf o = {out, cap, 0, false};
    put_enc(&o, in, len, query ? ENC_QUERY : ENC_PATH);
    return out_finish(&o);
}

static void put_path(out_buf *o, const tern_msg *msg) {
    tern_opt_iter it;
    tern_opt opt;
    bool any = false;
    tern_opt_iter_init(&it, msg);
    while (tern_opt_next(&it, &opt)) {
        if (opt.num != TERN_OPT_URI_PATH) continue;
        put_c(o, '/');
        put_enc(o, opt.val, opt.len, ENC_PATH);
        any = true;
    }
    if (!any) put_c(o, '/'); /* section 6.5 step 8 */
}

int tern_uri_path_format(const tern_msg *msg, char *out, size_t cap) {
    if (msg == NULL || (out == NULL && cap > 0)) return TERN_E_INVAL;
    out_buf o = {out, cap, 0, false};
    put_path(&o, msg);
    return out_finish(&o);
}

/* The caller's host is an address or name as the io layer has it: an IPv6
 * address gets its brackets (and "%25" before a zone id, RFC 6874). */
static void put_host_arg(out_buf *o, const char *host) {
    size_t len = strlen(host);
    if (host[0] == '[' || memchr(host, ':', len) == NULL) {
        if (host[0] == '[') put_s(o, host);
        else put_enc(o, (const uint8_t *)host, len, ENC_HOST);
        return;
    }
    const char *zone = memchr(host, '%', len);
    size_t alen = zone ? (size_t)(zone - host) : len;
    put_c(o, '[');
    for (size_t i = 0; i < alen; i++) put_c(o, host[i]);
    if (zone != NULL) {
        put_s(o, "%25");
        put_enc(o, (const uint8_t *)zone + 1, len - alen - 1, ENC_ZONE);
    }
    put_c(o, ']');
}

int tern_uri_from_msg(const tern_msg *msg, tern_scheme scheme, const char *host,
                      uint16_t port, char *out, size_t cap) {
    if (msg == NULL || (out == NULL && cap > 0)) return TERN_E_INVAL;
    out_buf o = {out, cap, 0, false};
    tern_opt opt;

    if (host != NULL) {
        put_s(&o, tern_scheme_name(scheme));
        put_s(&o, "://");
        /* Step 5: Uri-Host wins over the destination address. */
        if (tern_msg_find_opt(msg, TERN_OPT_URI_HOST, &opt) == TERN_OK)
            put_enc(&o, opt.val, opt.len, ENC_HOST);
        else
            put_host_arg(&o, host);
        /* Step 6: Uri-Port wins; the default port is left out. */
        if (tern_msg_find_opt(msg, TERN_OPT_URI_PORT, &opt) == TERN_OK) {
            uint32_t v;
            if (opt.len > 2 || tern_opt_uint_decode(opt.val, opt.len, &v) < 0)
                return TERN_E_FORMAT; /* section 5.10: Uri-Port is 0-2 bytes */
            port = (uint16_t)v;
        }
        if (port != tern_scheme_default_port(scheme)) {
            char digits[6];
            size_t n = 0;
            unsigned v = port;
            do {
                digits[n++] = (char)('0' + v % 10);
                v /= 10;
            } while (v > 0);
            put_c(&o, ':');
            while (n > 0) put_c(&o, digits[--n]);
        }
    }

    put_path(&o, msg);

    /* Step 9 */
    tern_opt_iter it;
    bool first = true;
    tern_opt_iter_init(&it, msg);
    while (tern_opt_next(&it, &opt)) {
        if (opt.num != TERN_OPT_URI_QUERY) continue;
        put_c(&o, first ? '?' : '&');
        put_enc(&o, opt.val, opt.len, ENC_QUERY);
        first = false;
    }
    return out_finish(&o);
}
