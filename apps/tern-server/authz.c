/* SPDX-License-Identifier: BSD-2-Clause */
/* authz.c - the allow lines (see authz.h). One rule per (path, identity),
 * its methods a bit set: a request is one pass over the table, a string
 * compare or two per rule. Strict like spec.c: a misspelt method or path
 * must stop the start, not leave a resource open. */
#include "authz.h"

#include <stdio.h>
#include <string.h>

#include "app_log.h"
#include "tern/msg.h"

/* RFC 7252 section 12.1.1 and RFC 8132 section 6, spelt as there. */
static const struct {
    const char *name;
    uint8_t code;
} methods[] = {
    {"GET", TERN_CODE_GET},     {"POST", TERN_CODE_POST},   {"PUT", TERN_CODE_PUT},
    {"DELETE", TERN_CODE_DELETE}, {"FETCH", TERN_CODE_FETCH}, {"PATCH", TERN_CODE_PATCH},
    {"iPATCH", TERN_CODE_IPATCH},
};
#define N_METHODS (sizeof methods / sizeof methods[0])

static bool is_method(uint8_t code) { return code >= TERN_CODE_GET && code <= TERN_CODE_IPATCH; }

static bool blank(char c) { return c == ' ' || c == '\t'; }

typedef struct span {
    const char *p;
    size_t n;
} span;

/* The blank-separated fields of s, up to max; more are counted as max+1. */
static size_t split(const char *s, span *f, size_t max) {
    size_t nf = 0;
    for (;;) {
        while (blank(*s)) s++;
        if (*s == '\0') return nf;
        if (nf == max) return max + 1;
        const char *start = s;
        while (*s && !blank(*s)) s++;
        f[nf++] = (span){start, (size_t)(s - start)};
    }
}

/* "GET,PUT" into a bit set: 0, or -1 with why in err. */
static int parse_methods(span m, unsigned *bits, char *err, size_t cap) {
    char esc[64];
    *bits = 0;
    const char *p = m.p, *end = m.p + m.n;
    for (;;) {
        const char *q = p;
        while (q < end && *q != ',') q++;
        size_t n = (size_t)(q - p), i = 0;
        while (i < N_METHODS &&
               !(strlen(methods[i].name) == n && memcmp(methods[i].name, p, n) == 0))
            i++;
        if (i == N_METHODS) {
            if (n == 0)
                snprintf(err, cap, "\"%s\": an empty method",
                         app_log_esc(esc, sizeof esc, m.p, m.n));
            else
                snprintf(err, cap,
                         "unknown method \"%s\" (GET, POST, PUT, DELETE, FETCH, PATCH or iPATCH, "
                         "spelt so)",
                         app_log_esc(esc, sizeof esc, p, n));
            return -1;
        }
        *bits |= 1u << methods[i].code;
        if (q == end) return 0;
        p = q + 1;
    }
}

int authz_add_line(authz *a, const char *args, char *err, size_t errcap) {
    char esc[256];
    span f[3];
    if (args == NULL || split(args, f, 3) != 3) {
        snprintf(err, errcap,
                 "\"%s\": expected METHOD[,METHOD...] PATH IDENTITY|* (methods separated by "
                 "',' without blanks)",
                 args ? app_log_escs(esc, sizeof esc, args) : "");
        return -1;
    }
    unsigned bits;
    if (parse_methods(f[0], &bits, err, errcap) < 0) return -1;

    /* The path as tern_resource_def writes it; no query: a rule is about a
     * resource, and Uri-Query does not pick one (RFC 7252 section 6.5). */
    span p = f[1];
    app_log_esc(esc, sizeof esc, p.p, p.n);
    if (p.p[0] != '/') {
        snprintf(err, errcap, "\"%s\": a path starts with '/'", esc);
        return -1;
    }
    if (p.n >= AUTHZ_PATH_MAX) {
        snprintf(err, errcap, "\"%s\": path longer than %d bytes", esc, AUTHZ_PATH_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i < p.n; i++) {
        unsigned char c = (unsigned char)p.p[i];
        if (c <= 0x20 || c >= 0x7F || c == '?' || c == '#') {
            snprintf(err, errcap, "\"%s\": bad character in path (no query, no control characters)",
                     esc);
            return -1;
        }
    }

    span id = f[2];
    app_log_esc(esc, sizeof esc, id.p, id.n);
    if (id.n > AUTHZ_IDENTITY_MAX) {
        snprintf(err, errcap, "\"%s\": identity longer than %d bytes", esc, AUTHZ_IDENTITY_MAX);
        return -1;
    }
    for (size_t i = 0; i < id.n; i++) {
        unsigned char c = (unsigned char)id.p[i];
        if (c <= 0x20 || c == 0x7F) {
            snprintf(err, errcap, "\"%s\": control character in identity", esc);
            return -1;
        }
    }

    for (size_t i = 0; i < a->n; i++) {
        authz_rule *r = &a->rules[i];
        if (strlen(r->path) == p.n && memcmp(r->path, p.p, p.n) == 0 &&
            strlen(r->identity) == id.n && memcmp(r->identity, id.p, id.n) == 0) {
            r->methods |= bits;
            return 0;
        }
    }
    if (a->n == AUTHZ_MAX_RULES) {
        snprintf(err, errcap, "at most %d allow rules (one per path and identity)",
                 AUTHZ_MAX_RULES);
        return -1;
    }
    authz_rule *r = &a->rules[a->n++];
    memset(r, 0, sizeof *r);
    memcpy(r->path, p.p, p.n);
    memcpy(r->identity, id.p, id.n);
    r->methods = bits;
    return 0;
}

bool authz_has_rules(const authz *a, const char *path) {
    if (path == NULL) return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->rules[i].path, path) == 0) return true;
    return false;
}

bool authz_allowed(const authz *a, uint8_t method_code, const char *path, const char *identity) {
    if (path == NULL) return false; /* a caller's slip must not open anything */
    bool listed = false;
    for (size_t i = 0; i < a->n; i++) {
        const authz_rule *r = &a->rules[i];
        if (strcmp(r->path, path) != 0) continue;
        listed = true;
        if (!is_method(method_code) || !(r->methods & (1u << method_code))) continue;
        /* '*' is anyone, with an identity or without; a name matches only
         * that identity, never an anonymous client. */
        if (strcmp(r->identity, "*") == 0) return true;
        if (identity && strcmp(r->identity, identity) == 0) return true;
    }
    return !listed;
}

uint8_t authz_denied_code(bool secure) {
    return secure ? TERN_CODE_FORBIDDEN : TERN_CODE_UNAUTHORIZED;
}
