/* SPDX-License-Identifier: BSD-2-Clause */
/* test_linkformat.c - CoRE Link Format (RFC 6690 sections 2, 3, 4.1 and the
 * section 5 examples; link-param grammar of RFC 5988 section 5).
 *
 * Writer: exact bytes for the RFC's example documents, quoted-string escapes,
 * argument checks, and the overflow contract at every buffer size (the buffer
 * ends at the last whole link, nothing is written past cap). Parser: the same
 * documents read back, tolerance of line breaks, and a table of malformed
 * documents that must be TERN_E_FORMAT. Query filtering: value matching with
 * and without a trailing '*'. */
#include "tern_test.h"

#include <stdio.h>
#include <string.h>

#include "tern/linkformat.h"

/* RFC 6690 section 5, the fourth example (anchors), with the line breaks the
 * RFC shows "for readability" removed. */
static const char rfc6690_ex4[] =
    "</sensors>;ct=40;title=\"Sensor Index\","
    "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\","
    "</sensors/light>;rt=\"light-lux\";if=\"sensor\","
    "<http://www.example.com/sensors/t123>;anchor=\"/sensors/temp\";rel=\"describedby\","
    "</t>;anchor=\"/sensors/temp\";rel=\"alternate\"";

/* The same, laid out exactly as printed in the RFC. */
static const char rfc6690_ex4_printed[] =
    "</sensors>;ct=40;title=\"Sensor Index\",\n"
    "   </sensors/temp>;rt=\"temperature-c\";if=\"sensor\",\n"
    "   </sensors/light>;rt=\"light-lux\";if=\"sensor\",\n"
    "   <http://www.example.com/sensors/t123>;anchor=\"/sensors/temp\"\n"
    "   ;rel=\"describedby\",\n"
    "   </t>;anchor=\"/sensors/temp\";rel=\"alternate\"\n";

static void write_ex4(tern_linkw *w) {
    assert_int_equal(tern_linkw_begin(w, "/sensors"), 0);
    assert_int_equal(tern_linkw_attr_uint(w, "ct", 40), 0);
    assert_int_equal(tern_linkw_attr_str(w, "title", "Sensor Index"), 0);
    assert_int_equal(tern_linkw_end(w), 0);
    assert_int_equal(tern_linkw_begin(w, "/sensors/temp"), 0);
    assert_int_equal(tern_linkw_attr_str(w, "rt", "temperature-c"), 0);
    assert_int_equal(tern_linkw_attr_str(w, "if", "sensor"), 0);
    assert_int_equal(tern_linkw_end(w), 0);
    assert_int_equal(tern_linkw_begin(w, "/sensors/light"), 0);
    assert_int_equal(tern_linkw_attr_str(w, "rt", "light-lux"), 0);
    assert_int_equal(tern_linkw_attr_str(w, "if", "sensor"), 0);
    assert_int_equal(tern_linkw_end(w), 0);
    assert_int_equal(tern_linkw_begin(w, "http://www.example.com/sensors/t123"), 0);
    assert_int_equal(tern_linkw_attr_str(w, "anchor", "/sensors/temp"), 0);
    assert_int_equal(tern_linkw_attr_str(w, "rel", "describedby"), 0);
    assert_int_equal(tern_linkw_end(w), 0);
    assert_int_equal(tern_linkw_begin(w, "/t"), 0);
    assert_int_equal(tern_linkw_attr_str(w, "anchor", "/sensors/temp"), 0);
    assert_int_equal(tern_linkw_attr_str(w, "rel", "alternate"), 0);
    assert_int_equal(tern_linkw_end(w), 0);
}

static void assert_span(const char *p, size_t len, const char *want) {
    if (len != strlen(want) || memcmp(p, want, len) != 0)
        fail_msg("got \"%.*s\", want \"%s\"", (int)len, p, want);
}

/* ---- writer ---------------------------------------------------------------- */

static void test_rfc6690_s5_write_examples(void **state) {
    (void)state;
    char buf[512];
    tern_linkw w;

    tern_linkw_init(&w, buf, sizeof buf);
    write_ex4(&w);
    assert_false(w.overflow);
    assert_int_equal(w.n_links, 5);
    assert_span(buf, w.len, rfc6690_ex4);

    /* section 5, sixth example: a size hint; RFC 7641 section 6 "obs" */
    tern_linkw_init(&w, buf, sizeof buf);
    assert_int_equal(tern_linkw_begin(&w, "/firmware/v2.1"), 0);
    assert_int_equal(tern_linkw_attr_str(&w, "rt", "firmware"), 0);
    assert_int_equal(tern_linkw_attr_uint(&w, "sz", 262144), 0);
    assert_int_equal(tern_linkw_end(&w), 0);
    assert_int_equal(tern_linkw_begin(&w, "/alarm"), 0);
    assert_int_equal(tern_linkw_attr_token(&w, "ct", "0"), 0);
    assert_int_equal(tern_linkw_attr_flag(&w, "obs"), 0);
    assert_int_equal(tern_linkw_attr_uint(&w, "n", 0), 0);
    assert_int_equal(tern_linkw_attr_uint(&w, "m", UINT32_MAX), 0);
    assert_int_equal(tern_linkw_end(&w), 0);
    assert_span(buf, w.len,
                "</firmware/v2.1>;rt=\"firmware\";sz=262144,"
                "</alarm>;ct=0;obs;n=0;m=4294967295");
}

/* RFC 6690 section 2: quoted-string per RFC 2616, '"' and '\' escaped. */
static void test_rfc6690_s2_quoted_string_escapes(void **state) {
    (void)state;
    char buf[128];
    tern_linkw w;
    tern_link_iter it;
    tern_link l;
    tern_link_attr a;

    tern_linkw_init(&w, buf, sizeof buf);
    assert_int_equal(tern_linkw_begin(&w, "/q"), 0);
    assert_int_equal(tern_linkw_attr_str(&w, "title", "say \"hi\" \\o/ ;,"), 0);
    assert_int_equal(tern_linkw_attr_str(&w, "e", ""), 0);
    assert_int_equal(tern_linkw_end(&w), 0);
    assert_span(buf, w.len, "</q>;title=\"say \\\"hi\\\" \\\\o/ ;,\";e=\"\"");

    tern_link_iter_init(&it, buf, w.len);
    assert_int_equal(tern_link_next(&it, &l), 1);
    assert_int_equal(tern_link_find_attr(&l, "title", &a), 1);
    assert_true(a.quoted);
    assert_span(a.value, a.value_len, "say \\\"hi\\\" \\\\o/ ;,"); /* escapes kept */
    assert_int_equal(tern_link_find_attr(&l, "e", &a), 1);
    assert_true(a.quoted);
    assert_non_null(a.value);
    assert_int_equal(a.value_len, 0);
    assert_int_equal(tern_link_next(&it, &l), 0);
}

static void test_rfc6690_writer_rejects_bad_arguments(void **state) {
    (void)state;
    char buf[128];
    tern_linkw w;
    tern_linkw_init(&w, buf, sizeof buf);

    /* no link open */
    assert_int_equal(tern_linkw_attr_flag(&w, "obs"), TERN_E_STATE);
    assert_int_equal(tern_linkw_end(&w), TERN_E_STATE);
    /* a target that would end the <...> early or is not a URI-Reference */
    assert_int_equal(tern_linkw_begin(&w, "/a>b"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_begin(&w, "/a b"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_begin(&w, "/a\n"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_begin(&w, NULL), TERN_E_INVAL);
    assert_int_equal(w.len, 0);

    assert_int_equal(tern_linkw_begin(&w, "/a"), 0);
    assert_int_equal(tern_linkw_begin(&w, "/b"), TERN_E_STATE);
    /* names are RFC 2616 tokens */
    assert_int_equal(tern_linkw_attr_flag(&w, ""), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_flag(&w, "a b"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_flag(&w, "a=b"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_flag(&w, "a;b"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_flag(&w, NULL), TERN_E_INVAL);
    /* an unquoted value is a ptoken: no blanks, ',', ';' or '"' */
    assert_int_equal(tern_linkw_attr_token(&w, "rt", "a b"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_token(&w, "rt", "a,b"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_token(&w, "rt", "a;b"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_token(&w, "rt", "\"a\""), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_token(&w, "rt", ""), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_token(&w, "rt", NULL), TERN_E_INVAL);
    /* a quoted string holds no control characters */
    assert_int_equal(tern_linkw_attr_str(&w, "title", "a\nb"), TERN_E_INVAL);
    assert_int_equal(tern_linkw_attr_str(&w, "title", NULL), TERN_E_INVAL);
    /* none of that wrote anything */
    assert_int_equal(tern_linkw_end(&w), 0);
    assert_span(buf, w.len, "</a>");
    /* ext-name-star and ptoken punctuation are fine */
    assert_int_equal(tern_linkw_begin(&w, "coap://h/x,y;z"), 0);
    assert_int_equal(tern_linkw_attr_token(&w, "title*", "UTF-8'de'n%c3%a4chstes"), 0);
    assert_int_equal(tern_linkw_attr_token(&w, "type", "text/plain"), 0);
    assert_int_equal(tern_linkw_end(&w), 0);
    assert_span(buf, w.len,
                "</a>,<coap://h/x,y;z>;title*=UTF-8'de'n%c3%a4chstes;type=text/plain");
}

/* A link that does not fit is dropped whole; the buffer ends at the last
 * whole link, nothing lands past cap, and overflow stays set so no later
 * link slips in behind the gap. Checked for every cap from 0 to the full
 * document. */
static void test_rfc6690_writer_overflow_every_cap(void **state) {
    (void)state;
    char full[512];
    tern_linkw w;
    size_t ends[5], n_ends = 0;

    /* the whole document, and where each link ends */
    tern_linkw_init(&w, full, sizeof full);
    write_ex4(&w);
    size_t full_len = w.len;
    {
        tern_link_iter it;
        tern_link l;
        tern_link_iter_init(&it, full, full_len);
        while (tern_link_next(&it, &l) == 1)
            ends[n_ends++] = (size_t)(l.params + l.params_len - full);
        assert_int_equal(n_ends, 5);
        assert_int_equal(ends[4], full_len);
    }

    for (size_t cap = 0; cap <= full_len + 1; cap++) {
        char buf[600];
        memset(buf, '#', sizeof buf);
        tern_linkw_init(&w, buf, cap);

        static const char *const targets[] = {"/sensors", "/sensors/temp", "/sensors/light",
                                              "http://www.example.com/sensors/t123", "/t"};
        int ended_ok = 0, rc_end[5];
        for (int k = 0; k < 5; k++) {
            /* the caller that ignores every result but end()'s */
            (void)tern_linkw_begin(&w, targets[k]);
            switch (k) {
            case 0:
                (void)tern_linkw_attr_uint(&w, "ct", 40);
                (void)tern_linkw_attr_str(&w, "title", "Sensor Index");
                break;
            case 1:
                (void)tern_linkw_attr_str(&w, "rt", "temperature-c");
                (void)tern_linkw_attr_str(&w, "if", "sensor");
                break;
            case 2:
                (void)tern_linkw_attr_str(&w, "rt", "light-lux");
                (void)tern_linkw_attr_str(&w, "if", "sensor");
                break;
            case 3:
                (void)tern_linkw_attr_str(&w, "anchor", "/sensors/temp");
                (void)tern_linkw_attr_str(&w, "rel", "describedby");
                break;
            default:
                (void)tern_linkw_attr_str(&w, "anchor", "/sensors/temp");
                (void)tern_linkw_attr_str(&w, "rel", "alternate");
                break;
            }
            rc_end[k] = tern_linkw_end(&w);
            if (rc_end[k] == 0) ended_ok++;
        }

        size_t fit = 0, want_links = 0;
        while (want_links < 5 && ends[want_links] <= cap) fit = ends[want_links++];
        if (w.len != fit || w.n_links != want_links || (int)want_links != ended_ok)
            fail_msg("cap %zu: len %zu links %zu ok %d; want len %zu links %zu", cap, w.len,
                     w.n_links, ended_ok, fit, want_links);
        assert_int_equal(w.overflow, cap < full_len);
        for (size_t k = 0; k < 5; k++)
            assert_int_equal(rc_end[k], k < want_links ? 0 : TERN_E_NOSPACE);
        assert_memory_equal(buf, full, w.len);
        for (size_t i = cap; i < sizeof buf; i++)
            if (buf[i] != '#') fail_msg("cap %zu: byte %zu written", cap, i);
        /* what is there parses, link for link */
        tern_link_iter it;
        tern_link l;
        size_t got = 0;
        int rc;
        tern_link_iter_init(&it, buf, w.len);
        while ((rc = tern_link_next(&it, &l)) == 1) got++;
        assert_int_equal(rc, 0);
        assert_int_equal(got, want_links);
    }
}

/* Overflow in the first link of a buffer, inside an attribute, leaves 0. */
static void test_rfc6690_writer_overflow_inside_attr(void **state) {
    (void)state;
    char buf[16];
    tern_linkw w;
    tern_linkw_init(&w, buf, sizeof buf);
    assert_int_equal(tern_linkw_begin(&w, "/abc"), 0);                      /* 6 bytes */
    assert_int_equal(tern_linkw_attr_str(&w, "rt", "abcdefghij"), TERN_E_NOSPACE);
    assert_int_equal(w.len, 0);
    assert_true(w.overflow);
    assert_int_equal(tern_linkw_attr_flag(&w, "obs"), TERN_E_NOSPACE);
    assert_int_equal(tern_linkw_end(&w), TERN_E_NOSPACE);
    assert_int_equal(tern_linkw_begin(&w, "/"), TERN_E_NOSPACE); /* sticky */
    tern_linkw_abort(&w);
    assert_int_equal(w.len, 0);
    assert_int_equal(w.n_links, 0);

    /* a NULL buffer holds nothing */
    tern_linkw_init(&w, NULL, 100);
    assert_int_equal(tern_linkw_begin(&w, "/"), TERN_E_NOSPACE);
    assert_int_equal(tern_linkw_end(&w), TERN_E_NOSPACE);
    assert_int_equal(w.len, 0);
}

static void test_rfc6690_writer_abort(void **state) {
    (void)state;
    char buf[64];
    tern_linkw w;
    tern_linkw_init(&w, buf, sizeof buf);
    assert_int_equal(tern_linkw_begin(&w, "/dropped"), 0);
    assert_int_equal(tern_linkw_attr_flag(&w, "obs"), 0);
    tern_linkw_abort(&w);
    assert_int_equal(w.len, 0);
    tern_linkw_abort(&w); /* harmless with no link open */
    assert_int_equal(tern_linkw_begin(&w, "/a"), 0); /* first link: no comma */
    assert_int_equal(tern_linkw_end(&w), 0);
    assert_int_equal(tern_linkw_begin(&w, "/x"), 0);
    tern_linkw_abort(&w);
    assert_int_equal(tern_linkw_begin(&w, "/b"), 0);
    assert_int_equal(tern_linkw_end(&w), 0);
    assert_int_equal(w.n_links, 2);
    assert_span(buf, w.len, "</a>,</b>");
}

/* ---- parser ---------------------------------------------------------------- */

static void test_rfc6690_s5_parse_examples(void **state) {
    (void)state;
    static const char *const docs[] = {rfc6690_ex4, rfc6690_ex4_printed};
    static const char *const targets[] = {"/sensors", "/sensors/temp", "/sensors/light",
                                          "http://www.example.com/sensors/t123", "/t"};
    for (size_t d = 0; d < 2; d++) {
        tern_link_iter it;
        tern_link l[6];
        size_t n = 0;
        int rc;
        tern_link_iter_init(&it, docs[d], strlen(docs[d]));
        while (n < 6 && (rc = tern_link_next(&it, &l[n])) == 1) n++;
        assert_int_equal(rc, 0);
        assert_int_equal(n, 5);
        for (size_t k = 0; k < 5; k++) assert_span(l[k].target, l[k].target_len, targets[k]);

        /* the first link's parameters, in order */
        tern_link_attr a;
        size_t pos = 0;
        assert_int_equal(tern_link_attr_next(&l[0], &pos, &a), 1);
        assert_span(a.name, a.name_len, "ct");
        assert_span(a.value, a.value_len, "40");
        assert_false(a.quoted);
        assert_int_equal(tern_link_attr_next(&l[0], &pos, &a), 1);
        assert_span(a.name, a.name_len, "title");
        assert_span(a.value, a.value_len, "Sensor Index");
        assert_true(a.quoted);
        assert_int_equal(tern_link_attr_next(&l[0], &pos, &a), 0);
        assert_int_equal(tern_link_attr_next(&l[0], &pos, &a), 0);

        /* the fourth link's rel follows a line break */
        assert_int_equal(tern_link_find_attr(&l[3], "rel", &a), 1);
        assert_span(a.value, a.value_len, "describedby");
        assert_int_equal(tern_link_find_attr(&l[3], "ANCHOR", &a), 1); /* names: any case */
        assert_span(a.value, a.value_len, "/sensors/temp");
        assert_int_equal(tern_link_find_attr(&l[3], "rt", &a), 0);
        assert_int_equal(tern_link_find_attr(&l[1], "rt", NULL), 1);
    }
}

/* Attributes without a value (RFC 7641 "obs"), with a ptoken value, with a
 * quoted value, and blanks around ';' and '='. */
static void test_rfc6690_parse_attribute_forms(void **state) {
    (void)state;
    static const char doc[] =
        "<coap://h/a,b;c>;obs;ct=0;rt=\"x y\" ; if = \"s\" ;title*=UTF-8'de'n%c3%a4chstes,"
        "\t\r\n <>, </x>;sz=1";
    tern_link_iter it;
    tern_link l;
    tern_link_attr a;
    size_t pos = 0;

    tern_link_iter_init(&it, doc, strlen(doc));
    assert_int_equal(tern_link_next(&it, &l), 1);
    assert_span(l.target, l.target_len, "coap://h/a,b;c");
    assert_int_equal(tern_link_attr_next(&l, &pos, &a), 1);
    assert_span(a.name, a.name_len, "obs");
    assert_null(a.value);
    assert_int_equal(a.value_len, 0);
    assert_false(a.quoted);
    assert_int_equal(tern_link_attr_next(&l, &pos, &a), 1);
    assert_span(a.name, a.name_len, "ct");
    assert_span(a.value, a.value_len, "0");
    assert_int_equal(tern_link_attr_next(&l, &pos, &a), 1);
    assert_span(a.name, a.name_len, "rt");
    assert_span(a.value, a.value_len, "x y");
    assert_true(a.quoted);
    assert_int_equal(tern_link_attr_next(&l, &pos, &a), 1);
    assert_span(a.name, a.name_len, "if");
    assert_span(a.value, a.value_len, "s");
    assert_int_equal(tern_link_attr_next(&l, &pos, &a), 1);
    assert_span(a.name, a.name_len, "title*");
    assert_span(a.value, a.value_len, "UTF-8'de'n%c3%a4chstes");
    assert_int_equal(tern_link_attr_next(&l, &pos, &a), 0);

    assert_int_equal(tern_link_next(&it, &l), 1); /* empty URI-Reference */
    assert_int_equal(l.target_len, 0);
    assert_int_equal(l.params_len, 0);
    pos = 0;
    assert_int_equal(tern_link_attr_next(&l, &pos, &a), 0);
    assert_int_equal(tern_link_next(&it, &l), 1);
    assert_span(l.target, l.target_len, "/x");
    assert_int_equal(tern_link_find_attr(&l, "sz", &a), 1);
    assert_span(a.value, a.value_len, "1");
    assert_int_equal(tern_link_next(&it, &l), 0);
    assert_int_equal(tern_link_next(&it, &l), 0);

    /* empty and blank documents hold no links */
    tern_link_iter_init(&it, "", 0);
    assert_int_equal(tern_link_next(&it, &l), 0);
    tern_link_iter_init(&it, " \n\t", 3);
    assert_int_equal(tern_link_next(&it, &l), 0);
    tern_link_iter_init(&it, NULL, 0);
    assert_int_equal(tern_link_next(&it, &l), 0);
    /* the document is len bytes, not a C string */
    tern_link_iter_init(&it, "</a>,</b>", 4);
    assert_int_equal(tern_link_next(&it, &l), 1);
    assert_int_equal(tern_link_next(&it, &l), 0);
}

static void test_rfc6690_parse_malformed(void **state) {
    (void)state;
    static const char *const bad[] = {
        "<",                       /* unterminated < */
        "</a",                     /* unterminated < */
        "</a>;rt=\"x",             /* unterminated quote */
        "</a>;rt=\"x\\\"",         /* the only quote is escaped */
        "</a>;rt=\"x\\",           /* escape at the end */
        "</a>;",                   /* ';' with no parameter */
        "</a>;;obs",               /* empty parameter */
        "</a>;=1",                 /* no name */
        "</a>;ct=",                /* '=' with no value */
        "</a>;ct=,</b>",           /* '=' with no value */
        "</a>;rt=\"x\"y",          /* garbage after a quoted value */
        "</a>;rt=a b",             /* garbage after a ptoken */
        "</a> x",                  /* garbage between links */
        "</a></b>",                /* missing comma */
        "</a>,",                   /* trailing comma */
        "</a>, ",                  /* trailing comma */
        "</a>,,</b>",              /* empty link */
        ",</a>",                   /* leading comma */
        "/a",                      /* no <...> */
        "</a b>",                  /* blank inside the target */
        "<</a>",                   /* '<' inside the target */
        "</a>;ti\"tle=1",          /* '"' in a name */
        "</a>;r\x01t",             /* control character */
        "</a>,</b>;obs,x",         /* a good link, then garbage */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tern_link_iter it;
        tern_link l;
        int rc, n = 0;
        tern_link_iter_init(&it, bad[i], strlen(bad[i]));
        while ((rc = tern_link_next(&it, &l)) == 1 && n < 10) n++;
        if (rc != TERN_E_FORMAT) fail_msg("\"%s\": %d after %d links", bad[i], rc, n);
        /* and the error sticks */
        assert_int_equal(tern_link_next(&it, &l), TERN_E_FORMAT);
    }

    /* a link made by hand with a broken parameter run */
    tern_link l = {"/a", 2, "garbage", 7};
    tern_link_attr a;
    size_t pos = 0;
    assert_int_equal(tern_link_attr_next(&l, &pos, &a), TERN_E_FORMAT);
    assert_int_equal(tern_link_find_attr(&l, "x", &a), TERN_E_FORMAT);
    tern_link l2 = {"/a", 2, ";obs x", 6};
    pos = 0;
    assert_int_equal(tern_link_attr_next(&l2, &pos, &a), 1); /* "obs" is fine ... */
    assert_int_equal(tern_link_attr_next(&l2, &pos, &a), TERN_E_FORMAT); /* "x" is not */
    tern_link l3 = {"/a", 2, ";rt=\"x", 6};
    pos = 0;
    assert_int_equal(tern_link_attr_next(&l3, &pos, &a), TERN_E_FORMAT);
}

/* RFC 6690 section 4.1: "?rt=temp*" style filtering over space-separated
 * values. */
static void test_rfc6690_s4_1_value_matches(void **state) {
    (void)state;
    static const struct {
        const char *value, *word;
        bool match;
    } t[] = {
        {"temperature-c", "temperature-c", true},
        {"temperature-c", "temperature", false},
        {"temperature-c", "temperature*", true},
        {"temperature-c", "temperature-c*", true},
        {"temperature-c", "temperature-cx*", false},
        {"temperature-c", "temperature-c-x", false},
        {"light-lux temperature-c", "temperature-c", true},
        {"light-lux  temperature-c ", "temperature-c", true},
        {" light-lux", "light-lux", true},
        {"light-lux temperature-c", "lux", false},
        {"light-lux temperature-c", "t*", true},
        {"light-lux temperature-c", "x*", false},
        {"light-lux temperature-c", "light-lux temperature-c", false},
        {"core.ll core.b", "core.b", true},
        {"core.ll core.b", "core.l", false},
        {"anything", "*", true},
        {"", "*", true},
        {"", "", true},
        {"a", "", false},
        {"", "a", false},
        {"", "a*", false},
        {"   ", "a*", false},
        {"Temp", "temp", false}, /* values compare exactly */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        bool m = tern_link_value_matches(t[i].value, strlen(t[i].value), t[i].word,
                                         strlen(t[i].word));
        if (m != t[i].match)
            fail_msg("\"%s\" vs \"%s\": %d, want %d", t[i].value, t[i].word, m, t[i].match);
    }
}

/* What the /.well-known/core handler does: walk every link, keep those whose
 * rt matches the query filter. */
static void test_rfc6690_s4_1_filter_walk(void **state) {
    (void)state;
    tern_link_iter it;
    tern_link l;
    tern_link_attr a;
    char found[128] = "";
    tern_link_iter_init(&it, rfc6690_ex4_printed, strlen(rfc6690_ex4_printed));
    while (tern_link_next(&it, &l) == 1) {
        if (tern_link_find_attr(&l, "rt", &a) == 1 &&
            tern_link_value_matches(a.value, a.value_len, "light*", 6)) {
            strncat(found, l.target, l.target_len);
            strcat(found, " ");
        }
    }
    assert_string_equal(found, "/sensors/light ");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6690_s5_write_examples),
        cmocka_unit_test(test_rfc6690_s2_quoted_string_escapes),
        cmocka_unit_test(test_rfc6690_writer_rejects_bad_arguments),
        cmocka_unit_test(test_rfc6690_writer_overflow_every_cap),
        cmocka_unit_test(test_rfc6690_writer_overflow_inside_attr),
        cmocka_unit_test(test_rfc6690_writer_abort),
        cmocka_unit_test(test_rfc6690_s5_parse_examples),
        cmocka_unit_test(test_rfc6690_parse_attribute_forms),
        cmocka_unit_test(test_rfc6690_parse_malformed),
        cmocka_unit_test(test_rfc6690_s4_1_value_matches),
        cmocka_unit_test(test_rfc6690_s4_1_filter_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
