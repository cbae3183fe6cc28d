/* SPDX-License-Identifier: BSD-2-Clause */
/* cbor_diag.c - a CBOR payload (Content-Format 60, SenML+CBOR 112) in the
 * diagnostic notation of RFC 8949 section 8, for `tern get` output.
 *
 * libcbor decodes the bytes (cbor_load) into a tree of items; libcbor has
 * no diagnostic printer (cbor_describe is a debug dump), so this walks the
 * tree and writes the notation: integers in decimal, floats as the
 * shortest decimal that reads back as the same double (RFC 8949 appendix A
 * writes them so: 1.5, 100000.0, 1.0e+300, NaN, Infinity), h'...' for byte
 * strings, "..." for text strings (JSON escapes), [..] and {..} with "_ "
 * after the bracket for indefinite lengths, (_ ...) for indefinite strings,
 * TAG(item) for tags, false, true, null, undefined and simple(N).
 *
 * Layout: a container whose notation fits the rest of an 80-column line
 * stays on one line; a wider one gets one element a line, two spaces deeper
 * (RFC 8610 appendix G allows whitespace anywhere between tokens). The
 * text grows in a cli_text (output.c). */
#include <cbor.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern_cli.h"

/* ---- validity: text strings must be UTF-8 (RFC 8949 section 3.1) ---------- */

static bool utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= k) return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + j] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += k + 1;
    }
    return true;
}

static bool valid(const cbor_item_t *it) {
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_STRING:
        if (cbor_string_is_definite(it))
            return utf8_valid(cbor_string_handle(it), cbor_string_length(it));
        for (size_t i = 0; i < cbor_string_chunk_count(it); i++)
            if (!valid(cbor_string_chunks_handle(it)[i])) return false;
        return true;
    case CBOR_TYPE_ARRAY:
        for (size_t i = 0; i < cbor_array_size(it); i++)
            if (!valid(cbor_array_handle(it)[i])) return false;
        return true;
    case CBOR_TYPE_MAP:
        for (size_t i = 0; i < cbor_map_size(it); i++) {
            struct cbor_pair *pr = &cbor_map_handle(it)[i];
            if (!valid(pr->key) || !valid(pr->value)) return false;
        }
        return true;
    case CBOR_TYPE_TAG: {
        cbor_item_t *inner = cbor_tag_item(it);
        bool ok = valid(inner);
        cbor_decref(&inner);
        return ok;
    }
    default: return true;
    }
}

/* ---- scalars --------------------------------------------------------------- */

static void put_u64(cli_text *d, uint64_t v) {
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, v);
    cli_text_puts(d, s);
}

static void put_bytes(cli_text *d, const unsigned char *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    cli_text_puts(d, "h'");
    for (size_t i = 0; i < n && !cli_text_stopped(d); i++) {
        char h[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        cli_text_put(d, h, 2);
    }
    cli_text_puts(d, "'");
}

/* A text string, as a JSON string: quotes, backslashes and control
 * characters escaped, the rest (valid UTF-8) as it is. */
static void put_text(cli_text *d, const unsigned char *p, size_t n) {
    cli_text_puts(d, "\"");
    size_t run = 0; /* bytes not yet written that need no escape */
    for (size_t i = 0; i < n && !cli_text_stopped(d); i++) {
        unsigned c = p[i];
        const char *esc = NULL;
        char u[8];
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20 || c == 0x7F) {
            snprintf(u, sizeof u, "\\u%04x", c);
            esc = u;
        }
        if (!esc) {
            run++;
            continue;
        }
        cli_text_put(d, (const char *)p + i - run, run);
        run = 0;
        cli_text_puts(d, esc);
    }
    cli_text_put(d, (const char *)p + n - run, run);
    cli_text_puts(d, "\"");
}

/* The shortest decimal that reads back as v (appendix A's style: 1.5,
 * 100000.0, 1.0e+300, 5.960464477539063e-8). A half or single float is
 * widened to double exactly, so the same rule serves every width. */
static void put_float(cli_text *d, double v) {
    if (isnan(v)) {
        cli_text_puts(d, "NaN");
        return;
    }
    if (isinf(v)) {
        cli_text_puts(d, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    char s[40];
    if (v > -1e16 && v < 1e16 && (double)(int64_t)v == v) {
        snprintf(s, sizeof s, "%.1f", v); /* 1.0, -0.0, 100000.0 */
        cli_text_puts(d, s);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v) break;
    }
    /* %g writes "1e+300" and "6e-08": a float wants its ".0", and the
     * exponent needs no leading zeros. */
    char out[48], *e = strchr(s, 'e');
    if (e) {
        size_t mant = (size_t)(e - s);
        char sign = e[1];
        const char *digits = e + 2;
        while (digits[0] == '0' && digits[1]) digits++;
        snprintf(out, sizeof out, "%.*s%se%c%s", (int)mant, s, memchr(s, '.', mant) ? "" : ".0",
                 sign, digits);
    } else {
        snprintf(out, sizeof out, "%s%s", s, strchr(s, '.') ? "" : ".0");
    }
    cli_text_puts(d, out);
}

static void put_simple(cli_text *d, const cbor_item_t *it) {
    if (!cbor_float_ctrl_is_ctrl(it)) {
        put_float(d, cbor_float_get_float(it));
        return;
    }
    uint8_t v = cbor_ctrl_value(it);
    switch (v) {
    case CBOR_CTRL_FALSE: cli_text_puts(d, "false"); break;
    case CBOR_CTRL_TRUE: cli_text_puts(d, "true"); break;
    case CBOR_CTRL_NULL: cli_text_puts(d, "null"); break;
    case CBOR_CTRL_UNDEF: cli_text_puts(d, "undefined"); break;
    default: {
        char s[16];
        snprintf(s, sizeof s, "simple(%u)", (unsigned)v);
        cli_text_puts(d, s);
    }
    }
}

/* ---- one line ----------------------------------------------------------------- */

static void compact(cli_text *d, const cbor_item_t *it) {
    if (cli_text_stopped(d)) return;
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT: put_u64(d, cbor_get_int(it)); break;
    case CBOR_TYPE_NEGINT: {
        /* -1 - n; n = 2^64 - 1 gives -2^64, one past uint64_t. */
        uint64_t n = cbor_get_int(it);
        cli_text_puts(d, "-");
        if (n == UINT64_MAX) cli_text_puts(d, "18446744073709551616");
        else put_u64(d, n + 1);
        break;
    }
    case CBOR_TYPE_BYTESTRING:
        if (cbor_bytestring_is_definite(it)) {
            put_bytes(d, cbor_bytestring_handle(it), cbor_bytestring_length(it));
        } else {
            cli_text_puts(d, "(_ ");
            for (size_t i = 0; i < cbor_bytestring_chunk_count(it); i++) {
                if (i) cli_text_puts(d, ", ");
                compact(d, cbor_bytestring_chunks_handle(it)[i]);
            }
            cli_text_puts(d, ")");
        }
        break;
    case CBOR_TYPE_STRING:
        if (cbor_string_is_definite(it)) {
            put_text(d, cbor_string_handle(it), cbor_string_length(it));
        } else {
            cli_text_puts(d, "(_ ");
            for (size_t i = 0; i < cbor_string_chunk_count(it); i++) {
                if (i) cli_text_puts(d, ", ");
                compact(d, cbor_string_chunks_handle(it)[i]);
            }
            cli_text_puts(d, ")");
        }
        break;
    case CBOR_TYPE_ARRAY:
        cli_text_puts(d, cbor_array_is_indefinite(it) ? "[_ " : "[");
        for (size_t i = 0; i < cbor_array_size(it) && !cli_text_stopped(d); i++) {
            if (i) cli_text_puts(d, ", ");
            compact(d, cbor_array_handle(it)[i]);
        }
        cli_text_puts(d, "]");
        break;
    case CBOR_TYPE_MAP:
        cli_text_puts(d, cbor_map_is_indefinite(it) ? "{_ " : "{");
        for (size_t i = 0; i < cbor_map_size(it) && !cli_text_stopped(d); i++) {
            struct cbor_pair *pr = &cbor_map_handle(it)[i];
            if (i) cli_text_puts(d, ", ");
            compact(d, pr->key);
            cli_text_puts(d, ": ");
            compact(d, pr->value);
        }
        cli_text_puts(d, "}");
        break;
    case CBOR_TYPE_TAG: {
        put_u64(d, cbor_tag_value(it));
        cli_text_puts(d, "(");
        cbor_item_t *inner = cbor_tag_item(it);
        compact(d, inner);
        cbor_decref(&inner);
        cli_text_puts(d, ")");
        break;
    }
    case CBOR_TYPE_FLOAT_CTRL: put_simple(d, it); break;
    }
}

/* ---- over lines ---------------------------------------------------------------- */

/* it at column col of a line indented by indent. */
static void pretty(cli_text *d, const cbor_item_t *it, size_t indent, size_t col) {
    if (cli_text_stopped(d)) return;
    cbor_type t = cbor_typeof(it);
    if (t != CBOR_TYPE_ARRAY && t != CBOR_TYPE_MAP && t != CBOR_TYPE_TAG) {
        compact(d, it);
        return;
    }
    /* One line if it fits, a comma after it included. */
    cli_text line = {.limit = col + 1 < CLI_TEXT_WIDTH ? CLI_TEXT_WIDTH - col - 1 : 1};
    compact(&line, it);
    if (line.oom) d->oom = true;
    if (!line.over && !line.oom) cli_text_put(d, line.p, line.len);
    free(line.p);
    if (!line.over) return;

    if (t == CBOR_TYPE_TAG) {
        char num[24];
        snprintf(num, sizeof num, "%" PRIu64 "(", cbor_tag_value(it));
        cli_text_puts(d, num);
        cbor_item_t *inner = cbor_tag_item(it);
        pretty(d, inner, indent, col + strlen(num));
        cbor_decref(&inner);
        cli_text_puts(d, ")");
        return;
    }
    bool map = t == CBOR_TYPE_MAP;
    bool indef = map ? cbor_map_is_indefinite(it) : cbor_array_is_indefinite(it);
    size_t n = map ? cbor_map_size(it) : cbor_array_size(it);
    cli_text_puts(d, map ? "{" : "[");
    if (indef) cli_text_puts(d, "_");
    for (size_t i = 0; i < n && !cli_text_stopped(d); i++) {
        cli_text_puts(d, "\n");
        cli_text_spaces(d, indent + 2);
        if (map) {
            struct cbor_pair *pr = &cbor_map_handle(it)[i];
            size_t before = d->len;
            compact(d, pr->key);
            cli_text_puts(d, ": ");
            pretty(d, pr->value, indent + 2, indent + 2 + (d->len - before));
        } else {
            pretty(d, cbor_array_handle(it)[i], indent + 2, indent + 2);
        }
        if (i + 1 < n) cli_text_puts(d, ",");
    }
    cli_text_puts(d, "\n");
    cli_text_spaces(d, indent);
    cli_text_puts(d, map ? "}" : "]");
}

int cli_cbor_diag(const uint8_t *p, size_t len, bool one_line, char **out, size_t *out_len) {
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(p, len, &res);
    if (!it) return -1;
    /* Exactly one item: bytes after it are not CBOR of this format. */
    int rc = -1;
    if (res.error.code == CBOR_ERR_NONE && res.read == len && valid(it)) {
        cli_text d = {0};
        if (one_line) compact(&d, it);
        else pretty(&d, it, 0, 0);
        if (!d.oom && d.p) {
            *out = d.p;
            *out_len = d.len;
            rc = 0;
        } else {
            free(d.p);
        }
    }
    cbor_decref(&it);
    return rc;
}
