/* SPDX-License-Identifier: BSD-2-Clause */
/* test_uri.c - CoAP URIs and the Uri-* options: RFC 7252 sections 6.1-6.5,
 * RFC 3986 (syntax, section 5.2.4 dot segments), RFC 8323 section 8
 * (coap+tcp), RFC 6874 (zone ids).
 *
 * Most cases are one table: a URI, the outcome, and the options it must turn
 * into, written as "H:host O:port P:segment Q:argument" after a real encode
 * and parse of the request (so the test covers tern_uri_to_opts too). Bytes
 * outside printable ASCII, '%' and ' ' are shown as %XX. */
#include "tern_test.h"

#include <stdio.h>
#include <string.h>

#include "tern/msg.h"
#include "tern/uri.h"

/* ---- helpers ---------------------------------------------------------------- */

static void put_bytes(char *out, size_t cap, size_t *n, const uint8_t *v, size_t len) {
    for (size_t i = 0; i < len; i++) {
        int w;
        if (v[i] > 0x20 && v[i] < 0x7F && v[i] != '%')
            w = snprintf(out + *n, cap - *n, "%c", v[i]);
        else
            w = snprintf(out + *n, cap - *n, "%%%02X", v[i]);
        assert_true(w > 0 && (size_t)w < cap - *n);
        *n += (size_t)w;
    }
}

/* Render the Uri-* options of a parsed request. */
static void render_opts(const tern_msg *m, char *out, size_t cap) {
    tern_opt_iter it;
    tern_opt o;
    size_t n = 0;
    out[0] = '\0';
    tern_opt_iter_init(&it, m);
    while (tern_opt_next(&it, &o)) {
        if (n > 0) out[n++] = ' ';
        int w;
        switch (o.num) {
        case TERN_OPT_URI_HOST: w = snprintf(out + n, cap - n, "H:"); break;
        case TERN_OPT_URI_PATH: w = snprintf(out + n, cap - n, "P:"); break;
        case TERN_OPT_URI_QUERY: w = snprintf(out + n, cap - n, "Q:"); break;
        case TERN_OPT_URI_PORT: {
            uint32_t v;
            assert_int_equal(tern_opt_uint_decode(o.val, o.len, &v), 0);
            w = snprintf(out + n, cap - n, "O:%u", (unsigned)v);
            break;
        }
        default: w = snprintf(out + n, cap - n, "#%u:", o.num); break;
        }
        assert_true(w > 0 && (size_t)w < cap - n);
        n += (size_t)w;
        if (o.num != TERN_OPT_URI_PORT) put_bytes(out, cap, &n, o.val, o.len);
        out[n] = '\0';
    }
}

/* uri -> options -> datagram -> parsed view. */
static void uri_to_msg(const tern_uri *u, uint8_t *buf, size_t cap, tern_msg *m) {
    tern_msgb b;
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x1234);
    assert_int_equal(tern_uri_to_opts(u, tern_scheme_default_port(u->scheme), &b), 0);
    int n = tern_msgb_encode(&b, buf, cap);
    assert_true(n > 0);
    assert_int_equal(tern_msg_parse(m, buf, (size_t)n), 0);
}

static void host_str(const tern_uri *u, char *out, size_t cap) {
    assert_true(u->host.len < cap);
    memcpy(out, tern_uri_str(u, u->host), u->host.len);
    out[u->host.len] = '\0';
}

/* ---- the table ---------------------------------------------------------------- */

typedef struct uri_case {
    const char *cite; /* the RFC section the row checks */
    const char *uri;
    int rc;
    tern_scheme scheme;
    uint16_t port;
    bool ip;
    const char *host;
    const char *opts;
} uri_case;

#define OK(cite, uri, scheme, port, ip, host, opts) \
    { cite, uri, 0, TERN_SCHEME_##scheme, port, ip, host, opts }
#define BAD(cite, uri) { cite, uri, TERN_E_URI, TERN_SCHEME_COAP, 0, false, NULL, NULL }

static const uri_case cases[] = {
    /* RFC 7252 section 6.3: three spellings of one resource, one option set */
    OK("7252 s6.3", "coap://example.com:5683/~sensors/temp.xml", COAP, 5683, false,
       "example.com", "H:example.com P:~sensors P:temp.xml"),
    OK("7252 s6.3", "coap://EXAMPLE.com/%7Esensors/temp.xml", COAP, 5683, false,
       "example.com", "H:example.com P:~sensors P:temp.xml"),
    OK("7252 s6.3", "coap://EXAMPLE.com:/%7esensors/temp.xml", COAP, 5683, false,
       "example.com", "H:example.com P:~sensors P:temp.xml"),
    /* section 6.1/6.2: scheme is case-insensitive; coaps defaults to 5684 */
    OK("7252 s6.1", "CoAP://h/a", COAP, 5683, false, "h", "H:h P:a"),
    OK("7252 s6.2", "coaps://example.com/a", COAPS, 5684, false, "example.com",
       "H:example.com P:a"),
    OK("7252 s6.2", "coaps://example.com:5683/a", COAPS, 5683, false, "example.com",
       "H:example.com O:5683 P:a"),
    OK("7252 s6.4 step 7", "coap://example.com:5684/", COAP, 5684, false, "example.com",
       "H:example.com O:5684"),
    /* RFC 8323 section 8.1/8.2 */
    OK("8323 s8.1", "coap+tcp://example.com/x", COAP_TCP, 5683, false, "example.com",
       "H:example.com P:x"),
    OK("8323 s8.2", "coaps+tcp://example.com:443/", COAPS_TCP, 443, false, "example.com",
       "H:example.com O:443"),
    OK("8323 s8.1", "COAP+TCP://h", COAP_TCP, 5683, false, "h", "H:h"),
    /* section 6.4 step 5: an IP literal gives no Uri-Host */
    OK("7252 s6.4 step 5", "coap://[::1]:61616/a", COAP, 61616, true, "::1", "O:61616 P:a"),
    OK("7252 s6.4 step 5", "coap://[2001:db8::1]/", COAP, 5683, true, "2001:db8::1", ""),
    OK("3986 s3.2.2", "coap://[2001:DB8:0:0:0:0:0:1]", COAP, 5683, true, "2001:db8:0:0:0:0:0:1",
       ""),
    OK("3986 s3.2.2", "coap://[::ffff:192.0.2.1]/", COAP, 5683, true, "::ffff:192.0.2.1", ""),
    OK("6874 s2", "coap://[fe80::1%25eth0]/x", COAP, 5683, true, "fe80::1%eth0", "P:x"),
    OK("7252 s6.4 step 5", "coap://192.0.2.1/x", COAP, 5683, true, "192.0.2.1", "P:x"),
    OK("3986 s3.2.2", "coap://192.0.2.01/", COAP, 5683, false, "192.0.2.01", "H:192.0.2.01"),
    OK("3986 s6.2.2.2", "coap://%31.2.3.4/", COAP, 5683, true, "1.2.3.4", ""),
    OK("7252 s6.4 step 5", "coap://Ex%41mple.ORG/", COAP, 5683, false, "example.org",
       "H:example.org"),
    OK("7252 s6.4 step 5", "coap://a%2Fb/", COAP, 5683, false, "a/b", "H:a/b"),
    /* section 6.4 step 6: port */
    OK("7252 s6.4 step 6", "coap://h:0/", COAP, 0, false, "h", "H:h O:0"),
    OK("7252 s6.4 step 6", "coap://h:65535/", COAP, 65535, false, "h", "H:h O:65535"),
    OK("3986 s3.2.3", "coap://h:00080/", COAP, 80, false, "h", "H:h O:80"),
    /* section 6.4 step 8: path */
    OK("7252 s6.4 step 8", "coap://h", COAP, 5683, false, "h", "H:h"),
    OK("7252 s6.4 step 8", "coap://h/", COAP, 5683, false, "h", "H:h"),
    OK("7252 s6.4 step 8", "coap://h/a/", COAP, 5683, false, "h", "H:h P:a P:"),
    OK("7252 s6.4 step 8", "coap://h//", COAP, 5683, false, "h", "H:h P: P:"),
    OK("7252 s6.4 step 8", "coap://h/a%20b/%2F/%00", COAP, 5683, false, "h",
       "H:h P:a%20b P:/ P:%00"),
    OK("7252 s6.4 step 8", "coap://h/a:b@c!$'()*+,;=", COAP, 5683, false, "h",
       "H:h P:a:b@c!$'()*+,;="),
    /* RFC 3986 section 5.2.4 dot segments */
    OK("3986 s5.2.4", "coap://h/a/./b/../c", COAP, 5683, false, "h", "H:h P:a P:c"),
    OK("3986 s5.2.4", "coap://h/a/b/..", COAP, 5683, false, "h", "H:h P:a P:"),
    OK("3986 s5.2.4", "coap://h/a/b/.", COAP, 5683, false, "h", "H:h P:a P:b P:"),
    OK("3986 s5.2.4", "coap://h/..", COAP, 5683, false, "h", "H:h"),
    OK("3986 s5.2.4", "coap://h/./", COAP, 5683, false, "h", "H:h"),
    OK("3986 s5.2.4", "coap://h/../../a", COAP, 5683, false, "h", "H:h P:a"),
    OK("3986 s5.2.4", "coap://h/a//../b", COAP, 5683, false, "h", "H:h P:a P:b"),
    OK("3986 s5.2.4", "coap://h/a/%2E%2E/.../.b", COAP, 5683, false, "h",
       "H:h P:a P:.. P:... P:.b"),
    /* section 6.4 step 9: query */
    OK("7252 s6.4 step 9", "coap://h/p?a=1&b=%26", COAP, 5683, false, "h", "H:h P:p Q:a=1 Q:b=&"),
    OK("7252 s6.4 step 9", "coap://h?x", COAP, 5683, false, "h", "H:h Q:x"),
    OK("7252 s6.4 step 9", "coap://h/?", COAP, 5683, false, "h", "H:h"),
    OK("7252 s6.4 step 9", "coap://h/?a&&b", COAP, 5683, false, "h", "H:h Q:a Q: Q:b"),
    OK("7252 s6.4 step 9", "coap://h/?a/b?c=d+e", COAP, 5683, false, "h", "H:h Q:a/b?c=d+e"),
    OK("7252 s6.4 step 9", "coap://h/./?.", COAP, 5683, false, "h", "H:h Q:."),

    /* section 6.4 step 4: a fragment fails */
    BAD("7252 s6.4 step 4", "coap://h/a#frag"),
    BAD("7252 s6.4 step 4", "coap://h/#"),
    /* step 1: only absolute URIs */
    BAD("7252 s6.4 step 1", "/a/b"),
    BAD("7252 s6.4 step 1", "h/a"),
    BAD("7252 s6.4 step 1", "//h/a"),
    BAD("7252 s6.4 step 1", ""),
    BAD("7252 s6.4 step 1", "coap"),
    BAD("7252 s6.1", "coap:/a"),
    BAD("7252 s6.1", "coap:h/a"),
    /* step 3: unknown scheme */
    BAD("7252 s6.4 step 3", "http://example.com/"),
    BAD("7252 s6.4 step 3", "coap+ws://example.com/"),
    BAD("7252 s6.4 step 3", "coapx://example.com/"),
    /* section 6.1: host is required, no userinfo */
    BAD("7252 s6.1", "coap:///a"),
    BAD("7252 s6.1", "coap://:5683/a"),
    BAD("7252 s6.1", "coap://[]/"),
    BAD("7252 s6.1", "coap://u@h/"),
    BAD("7252 s6.1", "coap://a%00b/"),
    /* IP literals */
    BAD("3986 s3.2.2", "coap://[::1::2]/"),
    BAD("3986 s3.2.2", "coap://[12345::1]/"),
    BAD("3986 s3.2.2", "coap://[1:2:3:4:5:6:7]/"),
    BAD("3986 s3.2.2", "coap://[1:2:3:4:5:6:7:8:9]/"),
    BAD("3986 s3.2.2", "coap://[::1]x/"),
    BAD("3986 s3.2.2", "coap://[::1/"),
    BAD("3986 s3.2.2", "coap://[v1.x]/"),
    BAD("3986 s3.2.2", "coap://[:1]/"),
    BAD("3986 s3.2.2", "coap://[1:]/"),
    BAD("3986 s3.2.2", "coap://[::g]/"),
    BAD("6874 s2", "coap://[fe80::1%eth0]/"),
    BAD("6874 s2", "coap://[fe80::1%25]/"),
    /* port */
    BAD("7252 s6.4 step 6", "coap://h:65536/"),
    BAD("7252 s6.4 step 6", "coap://h:99999999999/"),
    BAD("7252 s6.4 step 6", "coap://h:1x/"),
    BAD("7252 s6.4 step 6", "coap://h:-1/"),
    /* percent-encoding (RFC 3986 section 2.1) and characters outside the
     * grammar */
    BAD("3986 s2.1", "coap://h/%zz"),
    BAD("3986 s2.1", "coap://h/%4"),
    BAD("3986 s2.1", "coap://h/a%"),
    BAD("3986 s2.1", "coap://h/?a=%g0"),
    BAD("3986 s2.1", "coap://h%/"),
    BAD("3986 s3.3", "coap://h/a b"),
    BAD("3986 s3.3", "coap://h/a\"b"),
    BAD("3986 s3.3", "coap://h/\xc3\xa4"),
    BAD("3986 s3.4", "coap://h/?a b"),
    BAD("3986 s3.2.2", "coap://h<x>/"),
};

static void test_rfc7252_s6_4_parse_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uri_case *c = &cases[i];
        tern_uri u;
        int rc = tern_uri_parse(&u, c->uri);
        if (rc != c->rc)
            fail_msg("[%s] %s: rc %d, want %d", c->cite, c->uri, rc, c->rc);
        if (rc != 0) continue;
        char host[300], opts[2048];
        uint8_t buf[2048];
        tern_msg m;
        host_str(&u, host, sizeof host);
        uri_to_msg(&u, buf, sizeof buf, &m);
        render_opts(&m, opts, sizeof opts);
        if (u.scheme != c->scheme || u.port != c->port || u.host_is_ip_literal != c->ip ||
            strcmp(host, c->host) != 0 || strcmp(opts, c->opts) != 0)
            fail_msg("[%s] %s: scheme %d port %u ip %d host \"%s\" opts \"%s\"; want "
                     "scheme %d port %u ip %d host \"%s\" opts \"%s\"",
                     c->cite, c->uri, u.scheme, u.port, u.host_is_ip_literal, host, opts,
                     c->scheme, c->port, c->ip, c->host, c->opts);
    }
}

/* Section 6.3: the three equivalent URIs give byte-identical requests, and
 * the bytes are the section 3.1 encoding of those options. */
static void test_rfc7252_s6_3_equivalent_uris_same_wire(void **state) {
    (void)state;
    static const char *const uris[] = {
        "coap://example.com:5683/~sensors/temp.xml",
        "coap://EXAMPLE.com/%7Esensors/temp.xml",
        "coap://EXAMPLE.com:/%7esensors/temp.xml",
    };
    uint8_t want[64];
    size_t want_len = tt_hex("40 01 12 34"                 /* CON GET mid 0x1234 */
                             "| 3b 6578616d706c652e636f6d" /* Uri-Host (3) len 11 */
                             "| 88 7e73656e736f7273"       /* Uri-Path (+8) "~sensors" */
                             "| 08 74656d702e786d6c",      /* Uri-Path (+0) "temp.xml" */
                             want, sizeof want);
    for (size_t i = 0; i < 3; i++) {
        tern_uri u;
        tern_msgb b;
        uint8_t buf[64];
        assert_int_equal(tern_uri_parse(&u, uris[i]), 0);
        assert_false(u.port_explicit && i == 2); /* "host:" is the default port */
        tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 0x1234);
        assert_int_equal(tern_uri_to_opts(&u, tern_scheme_default_port(u.scheme), &b), 0);
        int n = tern_msgb_encode(&b, buf, sizeof buf);
        assert_int_equal(n, (int)want_len);
        assert_memory_equal(buf, want, want_len);
    }
}

/* Section 6.4 step 7: Uri-Port as a uint option (5684 = 0x1634). */
static void test_rfc7252_s6_4_uri_port_wire(void **state) {
    (void)state;
    tern_uri u;
    tern_msgb b;
    uint8_t buf[64], want[64];
    size_t want_len = tt_hex("40 01 00 01"  /* CON GET mid 1 */
                             "| 31 61"      /* Uri-Host (3) "a" */
                             "| 42 1634",   /* Uri-Port (+4) 5684 */
                             want, sizeof want);
    assert_int_equal(tern_uri_parse(&u, "coap://a:5684"), 0);
    assert_true(u.port_explicit);
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_uri_to_opts(&u, tern_scheme_default_port(u.scheme), &b), 0);
    int n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_int_equal(n, (int)want_len);
    assert_memory_equal(buf, want, want_len);
}

/* Section 6.4 step 6: a request sent to the URI's own port carries no
 * Uri-Port, whatever that port is. */
static void test_rfc7252_s6_4_no_uri_port_when_sent_to_that_port(void **state) {
    (void)state;
    tern_uri u;
    tern_msgb b;
    uint8_t buf[64], want[64];
    size_t want_len = tt_hex("40 01 00 01"  /* CON GET mid 1 */
                             "| 31 61"      /* Uri-Host (3) "a" */
                             "| 81 78",     /* Uri-Path (+8 = 11) "x" */
                             want, sizeof want);
    assert_int_equal(tern_uri_parse(&u, "coap://a:61616/x"), 0);
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_uri_to_opts(&u, 61616, &b), 0);
    int n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_int_equal(n, (int)want_len);
    assert_memory_equal(buf, want, want_len);
}

/* TERN_URI_MAX_PARTS counts path segments and query arguments together, so
 * every parsed URI fits one builder (32 + Uri-Host + Uri-Port <= 40). */
static void test_uri_capacity(void **state) {
    (void)state;
    char text[TERN_URI_STORE * 2 + 64];
    tern_uri u;
    tern_msgb b;
    uint8_t buf[2048];

    size_t n = (size_t)snprintf(text, sizeof text, "coap://h:1");
    for (int i = 0; i < TERN_URI_MAX_PARTS; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "/s");
    assert_int_equal(tern_uri_parse(&u, text), 0);
    assert_int_equal(u.n_path, TERN_URI_MAX_PARTS);
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_uri_to_opts(&u, tern_scheme_default_port(u.scheme), &b), 0);
    assert_true(tern_msgb_encode(&b, buf, sizeof buf) > 0);

    /* one segment too many */
    snprintf(text + n, sizeof text - n, "/s");
    assert_int_equal(tern_uri_parse(&u, text), TERN_E_URI);

    /* 20 segments + 13 arguments */
    n = (size_t)snprintf(text, sizeof text, "coap://h");
    for (int i = 0; i < 20; i++) n += (size_t)snprintf(text + n, sizeof text - n, "/s");
    for (int i = 0; i < 13; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%cq", i == 0 ? '?' : '&');
    assert_int_equal(tern_uri_parse(&u, text), TERN_E_URI);

    /* dot segments are removed first: only surviving segments count */
    n = (size_t)snprintf(text, sizeof text, "coap://h");
    for (int i = 0; i < 40; i++) n += (size_t)snprintf(text + n, sizeof text - n, "/s/..");
    assert_int_equal(tern_uri_parse(&u, text), 0);
    assert_int_equal(u.n_path, 0); /* the trailing ".." leaves "/": no Uri-Path */

    /* RFC 7252 section 5.10: Uri-Path is at most 255 bytes */
    n = (size_t)snprintf(text, sizeof text, "coap://h/");
    memset(text + n, 'a', 255);
    text[n + 255] = '\0';
    assert_int_equal(tern_uri_parse(&u, text), 0);
    assert_int_equal(u.path[0].len, 255);
    memcpy(text + n + 255, "a", 2);
    assert_int_equal(tern_uri_parse(&u, text), TERN_E_URI);
    /* ... and so is a decoded one: 256 x "%41" */
    n = (size_t)snprintf(text, sizeof text, "coap://h/?");
    for (int i = 0; i < 256; i++) n += (size_t)snprintf(text + n, sizeof text - n, "%%41");
    assert_int_equal(tern_uri_parse(&u, text), TERN_E_URI);

    /* Uri-Host is 1-255 bytes */
    n = (size_t)snprintf(text, sizeof text, "coap://");
    memset(text + n, 'h', 256);
    text[n + 256] = '\0';
    assert_int_equal(tern_uri_parse(&u, text), TERN_E_URI);

    /* TERN_URI_STORE: 5 x 250 bytes do not fit in 1024 */
    n = (size_t)snprintf(text, sizeof text, "coap://h");
    for (int i = 0; i < 5; i++) {
        text[n++] = '/';
        memset(text + n, 'x', 250);
        n += 250;
    }
    text[n] = '\0';
    assert_int_equal(tern_uri_parse(&u, text), TERN_E_URI);

    /* a builder that is nearly full reports TERN_E_FULL */
    assert_int_equal(tern_uri_parse(&u, "coap://h/a/b"), 0);
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    for (int i = 0; i < TERN_MSGB_MAX_OPTS - 2; i++)
        assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, 0), 0);
    assert_int_equal(tern_uri_to_opts(&u, tern_scheme_default_port(u.scheme), &b), TERN_E_FULL);
}

/* parse -> to_opts -> encode -> parse -> from_msg gives the normalised URI,
 * and that URI parses to the same request (section 6.5 inverts 6.4). */
static void test_rfc7252_s6_5_round_trip(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } rt[] = {
        {"coap://EXAMPLE.com:/%7esensors/temp.xml", "coap://example.com/~sensors/temp.xml"},
        {"coap://example.com:5683/~sensors/temp.xml", "coap://example.com/~sensors/temp.xml"},
        {"coaps://[2001:DB8::1]:5684/a?b=%26", "coaps://[2001:db8::1]/a?b=%26"},
        {"coap://[::1]:61616/a/./b/../c?x&y", "coap://[::1]:61616/a/c?x&y"},
        {"coap+tcp://h:1/%20%25?q=%c3%a4", "coap+tcp://h:1/%20%25?q=%C3%A4"},
        {"coaps+tcp://h", "coaps+tcp://h/"},
        {"coap://h/a/%2e/%2E%2e", "coap://h/a/%2E/%2E%2E"},
        {"coap://[fe80::1%25eth0]/", "coap://[fe80::1%25eth0]/"},
        {"coap://192.0.2.1:5684/?a/b?c=d", "coap://192.0.2.1:5684/?a/b?c=d"},
        {"coap://h/a:b@c!$'()*+,;=", "coap://h/a:b@c!$'()*+,;="},
        {"coap://h/%2F%3F%23?%3D=%2F", "coap://h/%2F%3F%23?==/"},
        {"coap://a%2Fb:7/", "coap://a%2Fb:7/"},
        {"coap://h//?&", "coap://h//?&"},
        {"coap://h/a/", "coap://h/a/"},
        {"coap://%31.2.3.4", "coap://1.2.3.4/"},
    };
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
        tern_uri u, u2;
        uint8_t buf[2048], buf2[2048];
        tern_msg m, m2;
        char host[300], out[512], o1[2048], o2[2048];
        if (tern_uri_parse(&u, rt[i].in) != 0) fail_msg("parse %s", rt[i].in);
        host_str(&u, host, sizeof host);
        uri_to_msg(&u, buf, sizeof buf, &m);
        int n = tern_uri_from_msg(&m, u.scheme, host, u.port, out, sizeof out);
        assert_true(n > 0);
        assert_int_equal((size_t)n, strlen(out));
        if (strcmp(out, rt[i].out) != 0) fail_msg("%s -> %s, want %s", rt[i].in, out, rt[i].out);
        /* and again: a fixed point */
        assert_int_equal(tern_uri_parse(&u2, out), 0);
        uri_to_msg(&u2, buf2, sizeof buf2, &m2);
        render_opts(&m, o1, sizeof o1);
        render_opts(&m2, o2, sizeof o2);
        assert_string_equal(o1, o2);
        assert_int_equal(u2.port, u.port);
        assert_int_equal(u2.scheme, u.scheme);
    }
}

/* Section 6.5 steps 5-9 on hand-built requests. */
static void test_rfc7252_s6_5_from_msg(void **state) {
    (void)state;
    tern_msgb b;
    tern_msg m;
    uint8_t buf[256];
    char out[128];
    static const uint8_t nul_seg[] = {'a', 0, 'b'};

    /* no options: "/" (step 8), destination address and port fill in */
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    int n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_int_equal(tern_msg_parse(&m, buf, (size_t)n), 0);
    assert_int_equal(tern_uri_from_msg(&m, TERN_SCHEME_COAP, "192.0.2.1", 5683, out, sizeof out),
                     (int)strlen("coap://192.0.2.1/"));
    assert_string_equal(out, "coap://192.0.2.1/");
    assert_true(tern_uri_from_msg(&m, TERN_SCHEME_COAPS, "2001:db8::1", 5683, out, sizeof out) > 0);
    assert_string_equal(out, "coaps://[2001:db8::1]:5683/");
    assert_true(tern_uri_from_msg(&m, TERN_SCHEME_COAP, "[::1]", 1, out, sizeof out) > 0);
    assert_string_equal(out, "coap://[::1]:1/");
    assert_true(tern_uri_from_msg(&m, TERN_SCHEME_COAP, "fe80::1%eth 0", 5683, out, sizeof out) >
                0);
    assert_string_equal(out, "coap://[fe80::1%25eth%200]/");
    assert_true(tern_uri_from_msg(&m, TERN_SCHEME_COAP, NULL, 5683, out, sizeof out) > 0);
    assert_string_equal(out, "/");

    /* Uri-Host and Uri-Port win over the destination (steps 5 and 6) */
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_HOST, "Ex ample"), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_URI_PORT, 5684), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "a b"), 0);
    assert_int_equal(tern_msgb_add_opt(&b, TERN_OPT_URI_PATH, nul_seg, sizeof nul_seg), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_QUERY, "k=v&w"), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_QUERY, ""), 0);
    n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_int_equal(tern_msg_parse(&m, buf, (size_t)n), 0);
    assert_true(tern_uri_from_msg(&m, TERN_SCHEME_COAP, "192.0.2.1", 5683, out, sizeof out) > 0);
    assert_string_equal(out, "coap://Ex%20ample:5684/a%20b/a%00b?k=v%26w&");
    assert_true(tern_uri_from_msg(&m, TERN_SCHEME_COAPS, "192.0.2.1", 5683, out, sizeof out) > 0);
    assert_string_equal(out, "coaps://Ex%20ample/a%20b/a%00b?k=v%26w&");
    /* host NULL: the path and query only */
    assert_true(tern_uri_from_msg(&m, TERN_SCHEME_COAP, NULL, 0, out, sizeof out) > 0);
    assert_string_equal(out, "/a%20b/a%00b?k=v%26w&");
    assert_int_equal(tern_uri_path_format(&m, out, sizeof out), (int)strlen("/a%20b/a%00b"));
    assert_string_equal(out, "/a%20b/a%00b");

    /* every cap short of the whole string, NUL included, is TERN_E_NOSPACE */
    const char *full = "coap://Ex%20ample:5684/a%20b/a%00b?k=v%26w&";
    for (size_t cap = 0; cap <= strlen(full); cap++) {
        char small[64];
        memset(small, 'Z', sizeof small);
        assert_int_equal(tern_uri_from_msg(&m, TERN_SCHEME_COAP, "x", 5683, small, cap),
                         TERN_E_NOSPACE);
        if (cap > 0) assert_int_equal(small[cap - 1], '\0');
        assert_int_equal(small[cap], 'Z');
    }
    assert_int_equal(tern_uri_from_msg(&m, TERN_SCHEME_COAP, "x", 5683, out, strlen(full) + 1),
                     (int)strlen(full));

    /* section 5.10: a Uri-Port longer than 2 bytes is not a port */
    static const uint8_t port3[] = {1, 0, 0};
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_opt(&b, TERN_OPT_URI_PORT, port3, sizeof port3), 0);
    n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_int_equal(tern_msg_parse(&m, buf, (size_t)n), 0);
    assert_int_equal(tern_uri_from_msg(&m, TERN_SCHEME_COAP, "h", 5683, out, sizeof out),
                     TERN_E_FORMAT);
}

static void test_rfc7252_s6_5_path_format(void **state) {
    (void)state;
    tern_msgb b;
    tern_msg m;
    uint8_t buf[128];
    char out[64];

    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_QUERY, "q"), 0);
    int n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_int_equal(tern_msg_parse(&m, buf, (size_t)n), 0);
    assert_int_equal(tern_uri_path_format(&m, out, sizeof out), 1);
    assert_string_equal(out, "/");
    assert_int_equal(tern_uri_path_format(&m, out, 1), TERN_E_NOSPACE);

    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_GET, 1);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, "alarm"), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, ".."), 0);
    assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_URI_PATH, ""), 0);
    n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_int_equal(tern_msg_parse(&m, buf, (size_t)n), 0);
    assert_int_equal(tern_uri_path_format(&m, out, sizeof out), (int)strlen("/alarm/%2E%2E/"));
    assert_string_equal(out, "/alarm/%2E%2E/");
}

/* Section 6.5: only unreserved, sub-delims, ':' and '@' stay as they are
 * (plus '/' and '?' in a query, minus '&' which would split an argument). */
static void test_rfc7252_s6_5_pct_encode(void **state) {
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        bool query;
        const char *out;
    } enc[] = {
        {"a b", 3, false, "a%20b"},
        {"100%", 4, false, "100%25"},
        {"\xc3\xa4\xff", 3, false, "%C3%A4%FF"},
        {"\0\x1f\x7f", 3, false, "%00%1F%7F"},
        {"AZaz09-._~", 10, false, "AZaz09-._~"},
        {"!$&'()*+,;=:@", 13, false, "!$&'()*+,;=:@"},
        {"a/b?c#d[e]", 10, false, "a%2Fb%3Fc%23d%5Be%5D"},
        {"a/b?c=d&e#", 10, true, "a/b?c=d%26e%23"},
        {"\"<>\\^`{|}", 9, false, "%22%3C%3E%5C%5E%60%7B%7C%7D"},
        {".", 1, false, "%2E"},
        {"..", 2, false, "%2E%2E"},
        {"...", 3, false, "..."},
        {".", 1, true, "."},
        {"", 0, false, ""},
    };
    for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
        char out[64];
        int n = tern_uri_pct_encode((const uint8_t *)enc[i].in, enc[i].len, enc[i].query, out,
                                    sizeof out);
        assert_int_equal(n, (int)strlen(enc[i].out));
        assert_string_equal(out, enc[i].out);
    }
    char out[8];
    assert_int_equal(tern_uri_pct_encode((const uint8_t *)"a b", 3, false, out, 5), TERN_E_NOSPACE);
    assert_int_equal(tern_uri_pct_encode((const uint8_t *)"a b", 3, false, out, 6), 5);
    assert_int_equal(tern_uri_pct_encode((const uint8_t *)"", 0, false, out, 0), TERN_E_NOSPACE);
    assert_int_equal(tern_uri_pct_encode((const uint8_t *)"", 0, false, out, 1), 0);
}

static void test_uri_scheme_helpers(void **state) {
    (void)state;
    assert_int_equal(tern_scheme_default_port(TERN_SCHEME_COAP), 5683);
    assert_int_equal(tern_scheme_default_port(TERN_SCHEME_COAPS), 5684);
    assert_int_equal(tern_scheme_default_port(TERN_SCHEME_COAP_TCP), 5683);
    assert_int_equal(tern_scheme_default_port(TERN_SCHEME_COAPS_TCP), 5684);
    assert_string_equal(tern_scheme_name(TERN_SCHEME_COAP), "coap");
    assert_string_equal(tern_scheme_name(TERN_SCHEME_COAPS), "coaps");
    assert_string_equal(tern_scheme_name(TERN_SCHEME_COAP_TCP), "coap+tcp");
    assert_string_equal(tern_scheme_name(TERN_SCHEME_COAPS_TCP), "coaps+tcp");
    tern_uri u;
    assert_int_equal(tern_uri_parse(&u, NULL), TERN_E_INVAL);
    assert_int_equal(tern_uri_parse(NULL, "coap://h/"), TERN_E_INVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s6_4_parse_table),
        cmocka_unit_test(test_rfc7252_s6_3_equivalent_uris_same_wire),
        cmocka_unit_test(test_rfc7252_s6_4_uri_port_wire),
        cmocka_unit_test(test_rfc7252_s6_4_no_uri_port_when_sent_to_that_port),
        cmocka_unit_test(test_uri_capacity),
        cmocka_unit_test(test_rfc7252_s6_5_round_trip),
        cmocka_unit_test(test_rfc7252_s6_5_from_msg),
        cmocka_unit_test(test_rfc7252_s6_5_path_format),
        cmocka_unit_test(test_rfc7252_s6_5_pct_encode),
        cmocka_unit_test(test_uri_scheme_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
