/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_linkformat.c - libFuzzer target for the RFC 6690 parser and writer
 * (src/msg/linkformat.c).
 *
 * Walks every link and every attribute of arbitrary input (the parser must
 * stay inside the buffer, which ASan checks), exercises query matching, and
 * for documents that parse, writes them back with tern_linkw_* and parses
 * the result again: same links, same targets, same attributes with the same
 * (unescaped) values. A difference abort()s. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/linkformat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINKS 64
#define MAX_ATTRS 512

typedef struct flat_attr {
    size_t link;
    const char *name;
    size_t name_len;
    bool has_value, quoted;
    char value[256];
    size_t value_len;
} flat_attr;

/* Strip the \-escapes of a quoted-string (RFC 2616 quoted-pair). */
static size_t unescape(const char *v, size_t len, bool quoted, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < len && n < cap; i++) {
        if (quoted && v[i] == '\\' && i + 1 < len) i++;
        out[n++] = v[i];
    }
    return n;
}

/* Flatten a document: 1 if it parsed, 0 if malformed, -1 if too big for
 * this harness. */
static int flatten(const char *doc, size_t len, tern_link *links, size_t *n_links,
                   flat_attr *attrs, size_t *n_attrs) {
    tern_link_iter it;
    tern_link l;
    int rc;
    *n_links = *n_attrs = 0;
    tern_link_iter_init(&it, doc, len);
    while ((rc = tern_link_next(&it, &l)) == 1) {
        if (l.target < doc || l.target + l.target_len > doc + len) abort();
        if (l.params + l.params_len > doc + len) abort();
        if (*n_links == MAX_LINKS) return -1;
        links[*n_links] = l;
        size_t pos = 0;
        tern_link_attr a;
        int arc;
        while ((arc = tern_link_attr_next(&l, &pos, &a)) == 1) {
            /* tern_link_next() validated the run already */
            if (*n_attrs == MAX_ATTRS || a.value_len > 256) return -1;
            flat_attr *f = &attrs[(*n_attrs)++];
            f->link = *n_links;
            f->name = a.name;
            f->name_len = a.name_len;
            f->has_value = a.value != NULL;
            f->quoted = a.quoted;
            f->value_len = a.value ? unescape(a.value, a.value_len, a.quoted, f->value,
                                              sizeof f->value)
                                   : 0;
            (void)tern_link_value_matches(a.value, a.value_len, "s*", 2);
            (void)tern_link_value_matches(a.value, a.value_len, a.name, a.name_len);
        }
        if (arc != 0) abort();
        tern_link_attr found;
        rc = tern_link_find_attr(&l, "rt", &found);
        if (rc < 0) abort();
        (*n_links)++;
    }
    return rc == 0 ? 1 : 0;
}

static bool writable(const flat_attr *f) {
    for (size_t i = 0; i < f->value_len; i++)
        if ((unsigned char)f->value[i] < 0x20 || f->value[i] == 0x7F) return false;
    return true;
}

static void rewrite_and_compare(const char *doc, const tern_link *links, size_t n_links,
                                const flat_attr *attrs, size_t n_attrs) {
    static char out[16384];
    static tern_link links2[MAX_LINKS];
    static flat_attr attrs2[MAX_ATTRS];
    char s1[1024], s2[300];
    tern_linkw w;
    (void)doc;
    for (size_t i = 0; i < n_attrs; i++)
        if (!writable(&attrs[i])) return;

    tern_linkw_init(&w, out, sizeof out);
    size_t a = 0;
    for (size_t k = 0; k < n_links; k++) {
        if (links[k].target_len >= sizeof s1) return;
        memcpy(s1, links[k].target, links[k].target_len);
        s1[links[k].target_len] = '\0';
        if (tern_linkw_begin(&w, s1) != 0) abort();
        for (; a < n_attrs && attrs[a].link == k; a++) {
            const flat_attr *f = &attrs[a];
            if (f->name_len >= sizeof s1) return;
            memcpy(s1, f->name, f->name_len);
            s1[f->name_len] = '\0';
            memcpy(s2, f->value, f->value_len);
            s2[f->value_len] = '\0';
            int rc = !f->has_value ? tern_linkw_attr_flag(&w, s1)
                     : f->quoted   ? tern_linkw_attr_str(&w, s1, s2)
                                   : tern_linkw_attr_token(&w, s1, s2);
            if (rc != 0) abort();
        }
        if (tern_linkw_end(&w) != 0) abort();
    }

    size_t n_links2, n_attrs2;
    if (flatten(out, w.len, links2, &n_links2, attrs2, &n_attrs2) != 1) abort();
    if (n_links2 != n_links || n_attrs2 != n_attrs) abort();
    for (size_t k = 0; k < n_links; k++)
        if (links2[k].target_len != links[k].target_len ||
            memcmp(links2[k].target, links[k].target, links[k].target_len) != 0)
            abort();
    for (size_t i = 0; i < n_attrs; i++) {
        const flat_attr *x = &attrs[i], *y = &attrs2[i];
        if (x->link != y->link || x->name_len != y->name_len ||
            memcmp(x->name, y->name, x->name_len) != 0 || x->has_value != y->has_value ||
            x->quoted != y->quoted || x->value_len != y->value_len ||
            memcmp(x->value, y->value, x->value_len) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tern_link links[MAX_LINKS];
    static flat_attr attrs[MAX_ATTRS];
    size_t n_links, n_attrs;
    const char *doc = (const char *)data;

    /* the filter word of a query is arbitrary client input too */
    size_t wl = size < 8 ? size : 8;
    (void)tern_link_value_matches(doc, size, doc, wl);

    /* the rewrite buffer holds any document up to 8 KiB */
    if (flatten(doc, size, links, &n_links, attrs, &n_attrs) == 1 && size <= 8192)
        rewrite_and_compare(doc, links, n_links, attrs, n_attrs);
    return 0;
}
