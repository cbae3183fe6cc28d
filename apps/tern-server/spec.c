/* SPDX-License-Identifier: BSD-2-Clause */
/* spec.c - parsing of state resource declarations (see spec.h). Strict on
 * purpose: a typo in a value list should stop the server at start, not
 * surface later as a client's puzzling 4.00. */
#include "spec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool value_char(int c) {
    return c > 0x20 && c < 0x7F && c != ',' && c != ':' && c != '=';
}

int spec_parse(const char *text, state_spec *out, char *err, size_t cap) {
    memset(out, 0, sizeof *out);
    const char *eq = strchr(text, '=');
    if (text[0] != '/' || eq == NULL) {
        snprintf(err, cap, "\"%s\": expected /PATH=VALUE,VALUE[:INITIAL]", text);
        return -1;
    }
    size_t plen = (size_t)(eq - text);
    if (plen >= SPEC_PATH_MAX) {
        snprintf(err, cap, "\"%s\": path too long", text);
        return -1;
    }
    for (size_t i = 0; i < plen; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= 0x20 || c >= 0x7F || c == '?' || c == '#') {
            snprintf(err, cap, "\"%.*s\": bad character in path", (int)plen, text);
            return -1;
        }
    }
    memcpy(out->path, text, plen);
    const char *p = eq + 1;
    const char *colon = strchr(p, ':');
    const char *end = colon ? colon : p + strlen(p);
    while (p < end) {
        const char *q = p;
        while (q < end && *q != ',') q++;
        size_t n = (size_t)(q - p);
        if (n == 0 || n >= SPEC_VALUE_MAX) {
            snprintf(err, cap, "\"%s\": values must be 1-%d characters", text, SPEC_VALUE_MAX - 1);
            return -1;
        }
        if (out->n_values == SPEC_MAX_VALUES) {
            snprintf(err, cap, "\"%s\": at most %d values", text, SPEC_MAX_VALUES);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (!value_char((unsigned char)p[i])) {
                snprintf(err, cap, "\"%s\": bad character in value \"%.*s\"", text, (int)n, p);
                return -1;
            }
        }
        char *v = out->values[out->n_values];
        memcpy(v, p, n);
        for (unsigned i = 0; i < out->n_values; i++) {
            if (strcmp(out->values[i], v) == 0) {
                snprintf(err, cap, "\"%s\": value \"%s\" given twice", text, v);
                return -1;
            }
        }
        out->n_values++;
        p = q < end ? q + 1 : q;
        if (q < end && p == end) {
            snprintf(err, cap, "\"%s\": empty value after ','", text);
            return -1;
        }
    }
    if (out->n_values == 0) {
        snprintf(err, cap, "\"%s\": no values", text);
        return -1;
    }
    if (colon) {
        const char *init = colon + 1;
        unsigned i = 0;
        while (i < out->n_values && strcmp(out->values[i], init) != 0) i++;
        if (i == out->n_values) {
            snprintf(err, cap, "\"%s\": initial value \"%s\" is not one of the values", text, init);
            return -1;
        }
        out->initial = i;
    }
    return 0;
}

int spec_read_file(const char *file, state_spec *specs, size_t max, size_t *n, char *err,
                   size_t cap) {
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        snprintf(err, cap, "%s: %s", file, strerror(errno));
        return -1;
    }
    char line[1024], why[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        size_t len = strlen(s);
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
                       s[len - 1] == '\t'))
            s[--len] = '\0';
        if (*s == '\0' || *s == '#') continue;
        if (strncmp(s, "resource", 8) == 0 && (s[8] == ' ' || s[8] == '\t')) {
            s += 8;
            while (*s == ' ' || *s == '\t') s++;
        }
        if (*n == max) {
            snprintf(err, cap, "%s:%d: more than %zu resources", file, lineno, max);
            rc = -1;
        } else if (spec_parse(s, &specs[*n], why, sizeof why) < 0) {
            snprintf(err, cap, "%s:%d: %s", file, lineno, why);
            rc = -1;
        } else {
            (*n)++;
        }
    }
    fclose(f);
    return rc;
}
