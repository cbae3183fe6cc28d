/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/uri.h - CoAP URIs and the Uri-* options (RFC 7252 sections 6.1-6.5,
 * RFC 8323 section 8 for coap+tcp).
 *
 * tern_uri_parse() splits and percent-decodes a URI into a value struct that
 * owns its storage (no allocation). tern_uri_to_opts() turns it into Uri-Host,
 * Uri-Port, Uri-Path and Uri-Query options (section 6.4); tern_uri_from_msg()
 * composes the URI a request was aimed at from its options (section 6.5). */
#ifndef TERN_URI_H
#define TERN_URI_H

#include "tern/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tern_scheme {
    TERN_SCHEME_COAP,      /* coap://      default port 5683 */
    TERN_SCHEME_COAPS,     /* coaps://     default port 5684 */
    TERN_SCHEME_COAP_TCP,  /* coap+tcp://  default port 5683 */
    TERN_SCHEME_COAPS_TCP  /* coaps+tcp:// default port 5684 */
} tern_scheme;

#ifndef TERN_URI_STORE
#define TERN_URI_STORE 1024 /* decoded host, segments and query parameters */
#endif
#ifndef TERN_URI_MAX_PARTS
#define TERN_URI_MAX_PARTS 32 /* path segments plus query parameters, together */
#endif

/* A string inside tern_uri.store: not NUL-terminated, may contain NUL after
 * percent-decoding. */
typedef struct tern_uri_part {
    uint16_t off, len;
} tern_uri_part;

typedef struct tern_uri {
    tern_scheme scheme;
    bool host_is_ip_literal; /* IPv4 dotted quad or [IPv6] */
    uint16_t port;           /* explicit or the scheme's default */
    bool port_explicit;
    tern_uri_part host;      /* lower-cased; IPv6 without brackets */
    size_t n_path;
    tern_uri_part path[TERN_URI_MAX_PARTS];
    size_t n_query;
    tern_uri_part query[TERN_URI_MAX_PARTS];
    size_t store_len;
    char store[TERN_URI_STORE];
} tern_uri;

/* The default port of a scheme. */
TERN_API uint16_t tern_scheme_default_port(tern_scheme s);
/* "coap", "coaps", "coap+tcp", "coaps+tcp". */
TERN_API const char *tern_scheme_name(tern_scheme s);

/* Section 6.4 steps 1-8: parse an absolute URI. Rejects a fragment, a
 * relative reference, an unknown scheme, a bad port, bad percent-encoding,
 * characters outside the RFC 3986 grammar, a host or segment longer than the
 * 255 bytes its option allows (section 5.10) and anything that does not fit
 * the fixed storage: TERN_E_URI (TERN_E_INVAL for NULL arguments). Dot
 * segments are removed (RFC 3986 section 5.2.4; only literal "." and "..",
 * "%2E" is data), a trailing "/" of an empty path produces no Uri-Path, and
 * the host is percent-decoded then lower-cased. An IPv6 zone id
 * ("[fe80::1%25eth0]", RFC 6874) is kept as "fe80::1%eth0". */
TERN_API int tern_uri_parse(tern_uri *uri, const char *text);

/* Pointer to a part's bytes inside uri->store. */
static inline const char *tern_uri_str(const tern_uri *uri, tern_uri_part p) {
    return uri->store + p.off;
}

/* Add the options of section 6.4 to a request sent to dest_port: Uri-Host
 * unless the host is an IP literal (step 5), Uri-Port only when the URI's
 * port differs from dest_port (step 6; a client sending straight to the
 * URI's port passes uri->port, a proxy-less test of another port passes
 * that), then Uri-Path and Uri-Query. The builder points into uri, which
 * must outlive the encode. */
TERN_API int tern_uri_to_opts(const tern_uri *uri, uint16_t dest_port, tern_msgb *b);

/* Section 6.5: compose "scheme://host[:port]/path?query" from a request's
 * options; host and port fill in where Uri-Host / Uri-Port are absent (host
 * may be NULL for a path-only result "/a/b?c"; an IPv6 host gets brackets).
 * out is NUL-terminated. Returns the length written (without the NUL),
 * TERN_E_NOSPACE if that does not fit in cap, or TERN_E_FORMAT for a
 * Uri-Port longer than 2 bytes. Characters outside unreserved / sub-delims /
 * ":" / "@" are percent-encoded (see tern_uri_pct_encode). */
TERN_API int tern_uri_from_msg(const tern_msg *msg, tern_scheme scheme, const char *host,
                      uint16_t port, char *out, size_t cap);

/* Write the path of a request ("/a/b", "/" for none) into out, percent-
 * encoding as above and NUL-terminated. Returns the length, or
 * TERN_E_NOSPACE. */
TERN_API int tern_uri_path_format(const tern_msg *msg, char *out, size_t cap);

/* Percent-encode len bytes for a path segment or (query true) a query
 * argument, NUL-terminated; returns the length written or TERN_E_NOSPACE.
 * A query keeps "/" and "?" but encodes "&", which would split the argument;
 * a segment that is exactly "." or ".." becomes "%2E" / "%2E%2E" so that it
 * is not taken for a dot segment when parsed again. */
TERN_API int tern_uri_pct_encode(const uint8_t *in, size_t len, bool query, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
