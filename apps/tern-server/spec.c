/* SPDX-License-Identifier: BSD-2-Clause */
/* spec.c - parsing of state resource declarations (see spec.h). Strict on
 * purpose: a typo in a value list should stop the server at start, not
 * surface later as a client's puzzling 4.00. */
#include "spec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app_log.h"

static bool value_char(int c) {
    return c > 0x20 && c < 0x7F && c != ',' && c != ':' && c != '=';
}

int spec_parse(const char *text, state_spec *out, char *err, size_t cap) {
    memset(out, 0, sizeof *out);
    /* Messages quote the declaration escaped: it may come from a file. */
    char text_esc[256];
#define ESC(s) app_log_escs(text_esc, sizeof text_esc, (s))
    const char *eq = strchr(text, '=');
    if (text[0] != '/' || eq == NULL) {
        snprintf(err, cap, "\"%s\": expected /PATH=VALUE,VALUE[:INITIAL]", ESC(text));
        return -1;
    }
    size_t plen = (size_t)(eq - text);
    if (plen >= SPEC_PATH_MAX) {
        snprintf(err, cap, "\"%s\": path too long", ESC(text));
        return -1;
    }
    for (size_t i = 0; i < plen; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= 0x20 || c >= 0x7F || c == '?' || c == '#') {
            snprintf(err, cap, "\"%s\": bad character in path",
                     app_log_esc(text_esc, sizeof text_esc, text, plen));
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
            snprintf(err, cap, "\"%s\": values must be 1-%d characters", ESC(text),
                     SPEC_VALUE_MAX - 1);
            return -1;
        }
        if (out->n_values == SPEC_MAX_VALUES) {
            snprintf(err, cap, "\"%s\": at most %d values", ESC(text), SPEC_MAX_VALUES);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (!value_char((unsigned char)p[i])) {
                char v_esc[4 * SPEC_VALUE_MAX];
                snprintf(err, cap, "\"%s\": bad character in value \"%s\"", ESC(text),
                         app_log_esc(v_esc, sizeof v_esc, p, n));
                return -1;
            }
        }
        char *v = out->values[out->n_values];
        memcpy(v, p, n);
        for (unsigned i = 0; i < out->n_values; i++) {
            if (strcmp(out->values[i], v) == 0) {
                snprintf(err, cap, "\"%s\": value \"%s\" given twice", ESC(text), v);
                return -1;
            }
        }
        out->n_values++;
        p = q < end ? q + 1 : q;
        if (q < end && p == end) {
            snprintf(err, cap, "\"%s\": empty value after ','", ESC(text));
            return -1;
        }
    }
    if (out->n_values == 0) {
        snprintf(err, cap, "\"%s\": no values", ESC(text));
        return -1;
    }
    if (colon) {
        const char *init = colon + 1;
        unsigned i = 0;
        while (i < out->n_values && strcmp(out->values[i], init) != 0) i++;
        if (i == out->n_values) {
            char i_esc[4 * SPEC_VALUE_MAX];
            snprintf(err, cap, "\"%s\": initial value \"%s\" is not one of the values",
                     ESC(text), app_log_escs(i_esc, sizeof i_esc, init));
            return -1;
        }
        out->initial = i;
    }
    return 0;
#undef ESC
}
