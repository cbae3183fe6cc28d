/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_uri.c - libFuzzer target for RFC 7252 sections 6.4 and 6.5
 * (src/msg/uri.c).
 *
 * Any text that tern_uri_parse() accepts must survive the whole client and
 * server path: options -> encoded request -> parsed request -> URI composed
 * by tern_uri_from_msg(). That URI must parse again to the very same request
 * bytes, scheme, port and host, i.e. section 6.5 inverts section 6.4. Any
 * difference abort()s so that libFuzzer records the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/msg.h"
#include "tern/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXT 4096

static size_t encode(const tern_uri *u, uint8_t *buf, size_t cap) {
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x1234);
    /* a parsed URI always fits one builder */
    if (tern_uri_to_opts(u, tern_scheme_default_port(u->scheme), &b) != 0) abort();
    int n = tern_msgb_encode(&b, buf, cap);
    if (n <= 0) abort();
    return (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char text[MAX_TEXT + 1];
    static char enc[3 * MAX_TEXT + 1];
    static char out[4 * TERN_URI_STORE + 512], path[4 * TERN_URI_STORE + 64];
    static uint8_t wire[2 * TERN_URI_STORE + 256], wire2[2 * TERN_URI_STORE + 256];
    static tern_uri u, u2;
    if (size > MAX_TEXT) return 0;

    /* The encoder never fails with room for three bytes per input byte. */
    int n = tern_uri_pct_encode(data, size, size % 2 == 0, enc, sizeof enc);
    if (n < 0 || (size_t)n != strlen(enc)) abort();

    memcpy(text, data, size);
    text[size] = '\0';
    if (tern_uri_parse(&u, text) != 0) return 0;

    size_t len = encode(&u, wire, sizeof wire);
    tern_msg m;
    if (tern_msg_parse(&m, wire, len) != 0) abort();

    char host[TERN_URI_STORE + 1];
    memcpy(host, tern_uri_str(&u, u.host), u.host.len);
    host[u.host.len] = '\0';
    n = tern_uri_from_msg(&m, u.scheme, host, u.port, out, sizeof out);
    if (n <= 0 || (size_t)n != strlen(out)) abort();
    n = tern_uri_path_format(&m, path, sizeof path);
    if (n <= 0 || path[0] != '/') abort();

    if (tern_uri_parse(&u2, out) != 0) abort();
    size_t len2 = encode(&u2, wire2, sizeof wire2);
    if (len2 != len || memcmp(wire, wire2, len) != 0) abort();
    if (u2.scheme != u.scheme || u2.port != u.port ||
        u2.host_is_ip_literal != u.host_is_ip_literal || u2.host.len != u.host.len ||
        memcmp(tern_uri_str(&u, u.host), tern_uri_str(&u2, u2.host), u.host.len) != 0)
        abort();
    return 0;
}
