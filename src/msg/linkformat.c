/* SPDX-License-Identifier: BSD-2-Clause */
/* linkformat.c - CoRE Link Format, RFC 6690 sections 2, 3 and 4.1, with the
 * link-param grammar of RFC 5988 section 5 (RFC 8288 section 3).
 *
 *   link-value = "<" URI-Reference ">" *( ";" link-param )
 *   link-param = parmname [ "=" ( ptoken / quoted-string ) ]
 *
 * The writer appends to a caller buffer. Every link is written in place and
 * cut back to where it began as soon as something does not fit, so the
 * buffer always ends at a whole link. Overflow is sticky: once a link has
 * been dropped no later, shorter link is let in, because a discovery answer
 * that silently skips a resource in the middle is worse than a truncated one.
 *
 * The parser walks a document in place and hands out pointers into it. The
 * grammar has no whitespace, but documents written by hand (and the RFC's own
 * examples) break lines after commas, so blanks are skipped around ',', ';'
 * and '=' (RFC 8288 allows them there). tern_link_next() checks what follows
 * each link before returning it, so a trailing comma or garbage between links
 * is TERN_E_FORMAT. Quoted values are returned with their \-escapes in place;
 * nothing is copied. */
#include "tern/linkformat.h"

#include <stdint.h>
#include <string.h>

/* link_start while no link is open (between end/abort and the next begin). */
#define NO_LINK SIZE_MAX

/* ---- Character classes ---------------------------------------------------- */

static bool is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Inside <...>: a URI-Reference has no blanks, controls or angle brackets.
 * Bytes above 0x7F are let through for IRIs. */
static bool is_target_char(int c) { return c > 0x20 && c != 0x7F && c != '<' && c != '>'; }

/* RFC 2616 section 2.2 token: parmname and ext-name-star ("title*"). */
static bool is_token_char(int c) {
    return c > 0x20 && c < 0x7F && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/* RFC 5988 section 5 ptokenchar: an unquoted value. */
static bool is_ptoken_char(int c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c != 0 && strchr("!#$%&'()*+-./:<=>?@[]^_`{|}~", c) != NULL;
}

static bool all_chars(const char *s, bool (*ok)(int)) {
    if (s == NULL || *s == '\0') return false;
    for (; *s; s++)
        if (!ok((unsigned char)*s)) return false;
    return true;
}

/* ---- Writer ---------------------------------------------------------------- */

void tern_linkw_init(tern_linkw *w, char *buf, size_t cap) {
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->overflow = false;
    w->n_links = 0;
    w->link_start = NO_LINK;
}

static int w_put(tern_linkw *w, const char *s, size_t n) {
    if (w->overflow) return TERN_E_NOSPACE;
    if (w->cap - w->len < n) {
        w->overflow = true;
        w->len = w->link_start; /* back to the last whole link */
        return TERN_E_NOSPACE;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return TERN_OK;
}

static int w_puts(tern_linkw *w, const char *s) { return w_put(w, s, strlen(s)); }

int tern_linkw_begin(tern_linkw *w, const char *target) {
    if (w->link_start != NO_LINK) return TERN_E_STATE;
    if (target == NULL) return TERN_E_INVAL;
    for (const char *p = target; *p; p++)
        if (!is_target_char((unsigned char)*p)) return TERN_E_INVAL;
    /* Opened even after an overflow, so that begin/end stay paired for a
     * caller that only checks what end() returns. */
    w->link_start = w->len;
    int rc = w->n_links > 0 ? w_put(w, ",", 1) : TERN_OK;
    if (rc == TERN_OK) rc = w_put(w, "<", 1);
    if (rc == TERN_OK) rc = w_puts(w, target);
    if (rc == TERN_OK) rc = w_put(w, ">", 1);
    return rc;
}

/* ";name" - the common head of every attribute. */
static int w_attr_name(tern_linkw *w, const char *name) {
    if (w->link_start == NO_LINK) return TERN_E_STATE;
    if (!all_chars(name, is_token_char)) return TERN_E_INVAL;
    if (w->overflow) return TERN_E_NOSPACE;
    int rc = w_put(w, ";", 1);
    if (rc == TERN_OK) rc = w_puts(w, name);
    return rc;
}

int tern_linkw_attr_str(tern_linkw *w, const char *name, const char *value) {
    if (value == NULL) return TERN_E_INVAL;
    /* RFC 2616 qdtext is TEXT, which has no control characters. */
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F) return TERN_E_INVAL;
    int rc = w_attr_name(w, name);
    if (rc == TERN_OK) rc = w_put(w, "=\"", 2);
    for (const char *p = value; rc == TERN_OK && *p; p++) {
        if (*p == '"' || *p == '\\') rc = w_put(w, "\\", 1);
        if (rc == TERN_OK) rc = w_put(w, p, 1);
    }
    if (rc == TERN_OK) rc = w_put(w, "\"", 1);
    return rc;
}

int tern_linkw_attr_token(tern_linkw *w, const char *name, const char *value) {
    if (!all_chars(value, is_ptoken_char)) return TERN_E_INVAL;
    int rc = w_attr_name(w, name);
    if (rc == TERN_OK) rc = w_put(w, "=", 1);
    if (rc == TERN_OK) rc = w_puts(w, value);
    return rc;
}

int tern_linkw_attr_uint(tern_linkw *w, const char *name, uint32_t value) {
    char digits[10];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    int rc = w_attr_name(w, name);
    if (rc == TERN_OK) rc = w_put(w, "=", 1);
    if (rc == TERN_OK) rc = w_put(w, digits + sizeof digits - n, n);
    return rc;
}

int tern_linkw_attr_flag(tern_linkw *w, const char *name) { return w_attr_name(w, name); }

void tern_linkw_abort(tern_linkw *w) {
    if (w->link_start == NO_LINK) return;
    w->len = w->link_start;
    w->link_start = NO_LINK;
}

int tern_linkw_end(tern_linkw *w) {
    if (w->link_start == NO_LINK) return TERN_E_STATE;
    w->link_start = NO_LINK;
    if (w->overflow) return TERN_E_NOSPACE; /* len was cut back by w_put() */
    w->n_links++;
    return TERN_OK;
}

/* ---- Parser ---------------------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && is_ws((unsigned char)*p)) p++;
    return p;
}

/* One ";" link-param starting at *pp (blanks allowed before the ';').
 * 1 with *a filled and *pp past it; 0 when the next thing is not a ';' (with
 * *pp there); TERN_E_FORMAT for a bad parameter. */
static int next_param(const char **pp, const char *end, tern_link_attr *a) {
    const char *p = skip_ws(*pp, end);
    if (p == end || *p != ';') {
        *pp = p;
        return 0;
    }
    p = skip_ws(p + 1, end);
    const char *name = p;
    while (p < end && is_token_char((unsigned char)*p)) p++;
    if (p == name) return TERN_E_FORMAT;
    a->name = name;
    a->name_len = (size_t)(p - name);
    a->value = NULL;
    a->value_len = 0;
    a->quoted = false;

    const char *q = skip_ws(p, end);
    if (q < end && *q == '=') {
        q = skip_ws(q + 1, end);
        const char *v;
        if (q < end && *q == '"') {
            v = ++q;
            for (;;) {
                if (q >= end) return TERN_E_FORMAT; /* unterminated quote */
                if (*q == '"') break;
                if (*q == '\\') {
                    if (end - q < 2) return TERN_E_FORMAT;
                    q++;
                }
                q++;
            }
            a->value = v;
            a->value_len = (size_t)(q - v);
            a->quoted = true;
            q++;
        } else {
            v = q;
            while (q < end && is_ptoken_char((unsigned char)*q)) q++;
            if (q == v) return TERN_E_FORMAT; /* "=" with no value */
            a->value = v;
            a->value_len = (size_t)(q - v);
        }
        p = q;
    }
    *pp = p;
    return 1;
}

void tern_link_iter_init(tern_link_iter *it, const char *doc, size_t len) {
    it->pos = doc;
    it->end = doc ? doc + len : doc;
}

int tern_link_next(tern_link_iter *it, tern_link *link) {
    const char *end = it->end;
    const char *p = skip_ws(it->pos, end);
    if (p == NULL || p == end) {
        it->pos = end;
        return 0;
    }
    if (*p != '<') return TERN_E_FORMAT;
    const char *t = ++p;
    while (p < end && *p != '>') {
        if (!is_target_char((unsigned char)*p)) return TERN_E_FORMAT;
        p++;
    }
    if (p == end) return TERN_E_FORMAT; /* unterminated '<' */
    const char *params = ++p, *params_end = p;
    tern_link_attr a;
    int rc;
    while ((rc = next_param(&p, end, &a)) == 1) params_end = p;
    if (rc < 0) return rc;

    /* p is at the first non-blank after the parameters. On an error it->pos
     * stays put, so the iterator keeps reporting it. */
    if (p < end) {
        if (*p != ',') return TERN_E_FORMAT; /* garbage between links */
        p = skip_ws(p + 1, end);
        if (p == end || *p != '<') return TERN_E_FORMAT; /* trailing comma */
    }
    it->pos = p;
    link->target = t;
    link->target_len = (size_t)(params - 1 - t);
    link->params = params;
    link->params_len = (size_t)(params_end - params);
    return 1;
}

int tern_link_attr_next(const tern_link *link, size_t *pos, tern_link_attr *attr) {
    if (link->params == NULL || *pos >= link->params_len) return 0;
    const char *p = link->params + *pos, *end = link->params + link->params_len;
    int rc = next_param(&p, end, attr);
    if (rc < 0) return rc;
    if (rc == 0 && p != end) return TERN_E_FORMAT; /* not a ';' in a param run */
    *pos = (size_t)(p - link->params);
    return rc;
}

static bool name_eq(const char *a, size_t alen, const char *b) {
    size_t blen = strlen(b);
    if (alen != blen) return false;
    for (size_t i = 0; i < alen; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z') y += 'a' - 'A';
        if (x != y) return false;
    }
    return true;
}

/* Parameter names compare case-insensitively (RFC 8288 section 3). */
int tern_link_find_attr(const tern_link *link, const char *name, tern_link_attr *attr) {
    size_t pos = 0;
    tern_link_attr a;
    int rc;
    while ((rc = tern_link_attr_next(link, &pos, &a)) == 1) {
        if (name_eq(a.name, a.name_len, name)) {
            if (attr) *attr = a;
            return 1;
        }
    }
    return rc;
}

/* RFC 6690 section 4.1: rt, if and rel hold space-separated words and a
 * filter matches when any one word does; "word*" matches any word that
 * starts with "word", and a lone "*" matches whatever the value is. */
bool tern_link_value_matches(const char *value, size_t value_len, const char *word,
                             size_t word_len) {
    bool prefix = word_len > 0 && word[word_len - 1] == '*';
    size_t n = prefix ? word_len - 1 : word_len;
    if (prefix && n == 0) return true;
    if (n == 0) return value_len == 0;
    size_t i = 0;
    while (i < value_len) {
        while (i < value_len && value[i] == ' ') i++;
        size_t start = i;
        while (i < value_len && value[i] != ' ') i++;
        size_t len = i - start;
        if (len == 0) break;
        if (prefix ? len >= n : len == n) {
            if (memcmp(value + start, word, n) == 0) return true;
        }
    }
    return false;
}
