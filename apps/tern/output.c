/* SPDX-License-Identifier: BSD-2-Clause */
/* output.c - what `tern` prints: the -v wire trace with timestamps, the -i
 * response head, and response payloads by their Content-Format (RFC 7252
 * section 12.3): JSON (RFC 8259; json-patch, merge-patch and SenML+JSON,
 * RFC 8428, too) pretty-printed by cJSON, CBOR (RFC 8949; SenML+CBOR too)
 * in diagnostic notation (cbor_diag.c, on libcbor), link-format (RFC 6690)
 * one link a line; anything else, and everything with --raw, as received.
 *
 * stdout carries payloads only; the trace, the head and warnings go to
 * stderr. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_log.h"
#include "tern/io.h"
#include "tern/linkformat.h"
#include "tern_cli.h"

/* Content-Formats of the CBOR family beside 60 and 112 (IANA). */
#define CLI_CF_CBOR_SEQ 63u
#define CLI_CF_SENSML_JSON 111u
#define CLI_CF_SENSML_CBOR 113u

bool cli_cf_is_binary(uint32_t cf) {
    return cf == TERN_CF_OCTET_STREAM || cf == TERN_CF_CBOR || cf == TERN_CF_EXI ||
           cf == TERN_CF_CWT || cf == CLI_CF_CBOR_SEQ || cf == TERN_CF_SENML_CBOR ||
           cf == CLI_CF_SENSML_CBOR;
}

/* ---- -v ------------------------------------------------------------------------ */

/* The line of app_log_trace (apps/common), with the local wall-clock time
 * to the millisecond after the arrow, so that retransmissions can be timed
 * and the lines set beside a server's log. The arrow stays first: scripts
 * pick received messages with '^<- '. */
void cli_trace(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg) {
    (void)ctx;
    struct timespec ts;
    struct tm tm;
    char when[48] = "??:??:??.???", addr[64], line[1024];
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && localtime_r(&ts.tv_sec, &tm))
        snprintf(when, sizeof when, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(ts.tv_nsec / 1000000L));
    if (tern_io_addr_format(peer, addr, sizeof addr) < 0) snprintf(addr, sizeof addr, "?");
    tern_msg_format(msg, line, sizeof line);
    fprintf(stderr, "%s %s %s %s\n", outgoing ? "->" : "<-", when, addr, line);
}

/* ---- -i --------------------------------------------------------------------------- */

/* A string option's value: quoted, with C escapes for what is not
 * printable ASCII. */
static void print_quoted(FILE *f, const uint8_t *p, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c > 0x7E) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void cli_print_head(const cli_opts *o, const tern_msg *m) {
    if (!o->include || o->quiet) return;
    char code[8];
    tern_code_format(m->code, code);
    const char *name = tern_code_name(m->code);
    /* tern_code_name has "2.05 Content" for responses. */
    fprintf(stderr, "%s\n", name && tern_code_is_response(m->code) ? name : code);
    tern_opt_iter it;
    tern_opt opt;
    tern_opt_iter_init(&it, m);
    while (tern_opt_next(&it, &opt)) {
        const tern_opt_def *def = tern_opt_lookup(opt.num);
        if (def) fprintf(stderr, "%s:", def->name);
        else fprintf(stderr, "Option-%u:", (unsigned)opt.num);
        tern_opt_format fmt = def ? def->format : TERN_OPT_FMT_OPAQUE;
        uint32_t v;
        if (fmt == TERN_OPT_FMT_UINT && tern_opt_uint_decode(opt.val, opt.len, &v) == 0) {
            fprintf(stderr, " %u", (unsigned)v);
        } else if (fmt == TERN_OPT_FMT_STRING) {
            fputc(' ', stderr);
            print_quoted(stderr, opt.val, opt.len);
        } else if (opt.len > 0) {
            /* Opaque (or a uint too long to be one): 0x and hex, as -O
             * takes it. */
            fputs(" 0x", stderr);
            for (size_t i = 0; i < opt.len; i++) fprintf(stderr, "%02x", opt.val[i]);
        }
        fputc('\n', stderr);
    }
}

/* ---- payloads ----------------------------------------------------------------------- */

static bool cf_is_json(uint32_t cf) {
    return cf == TERN_CF_JSON || cf == TERN_CF_JSON_PATCH || cf == TERN_CF_MERGE_PATCH ||
           cf == TERN_CF_SENML_JSON || cf == CLI_CF_SENSML_JSON;
}

/* One data item (a CBOR sequence, 63, is left as it is). */
static bool cf_is_cbor(uint32_t cf) {
    return cf == TERN_CF_CBOR || cf == TERN_CF_SENML_CBOR || cf == CLI_CF_SENSML_CBOR;
}

/* The bytes as received; text formats end with a newline (added when
 * missing), binary ones never get one. */
static void print_raw(uint32_t cf, const uint8_t *body, size_t len) {
    if (len) fwrite(body, 1, len, stdout);
    if (!cli_cf_is_binary(cf) && (len == 0 || body[len - 1] != '\n')) fputc('\n', stdout);
}

/* "tern: warning: the payload is not valid JSON (Content-Format 50,
 * application/json); shown as received". */
static void not_parsed(const cli_opts *o, uint32_t cf, const char *what) {
    if (o->quiet) return;
    const char *name = tern_cf_name((uint16_t)cf);
    app_log(APP_LOG_WARN, "the payload is not %s (Content-Format %u%s%s); shown as received", what,
            (unsigned)cf, name ? ", " : "", name ? name : "");
}

/* Would cJSON print a number other than the one sent? It keeps numbers as
 * doubles: integers beyond 2^53 lose digits, and an overflow becomes null. */
#define CLI_JSON_EXACT 9007199254740992.0 /* 2^53 */

static bool json_lossy(const cJSON *j) {
    for (; j; j = j->next) {
        double v = j->valuedouble;
        if (cJSON_IsNumber(j) && (!isfinite(v) || v > CLI_JSON_EXACT || v < -CLI_JSON_EXACT))
            return true;
        if (j->child && json_lossy(j->child)) return true;
    }
    return false;
}

/* ---- text for the payload printers -------------------------------------------- */

void cli_text_put(cli_text *t, const char *s, size_t n) {
    if (cli_text_stopped(t)) return;
    if (t->limit && t->len + n > t->limit) {
        t->over = true;
        return;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1) cap *= 2;
        char *np = realloc(t->p, cap);
        if (!np) {
            t->oom = true;
            return;
        }
        t->p = np;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

void cli_text_puts(cli_text *t, const char *s) { cli_text_put(t, s, strlen(s)); }

void cli_text_spaces(cli_text *t, size_t n) {
    while (n-- > 0) cli_text_put(t, " ", 1);
}

/* ---- JSON ------------------------------------------------------------------------------
 * cJSON parses and writes every scalar (numbers, strings with their
 * escapes, true, false, null); the layout is the one of cbor_diag.c: a
 * container that fits the rest of the line stays on it ("key": value, ", "
 * between elements), a wider one has one element a line, two spaces deeper.
 * (cJSON_Print's own layout indents with tabs and keeps the elements of an
 * array on one line however wide.) */

/* A value as cJSON writes it unformatted: a scalar, a key made a string,
 * or a whole notification on one line. */
static void json_unformatted(cli_text *t, const cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    if (!s) {
        t->oom = true;
        return;
    }
    cli_text_puts(t, s);
    cJSON_free(s);
}

static void json_key(cli_text *t, const char *key) {
    cJSON *k = cJSON_CreateString(key ? key : "");
    if (!k) {
        t->oom = true;
        return;
    }
    json_unformatted(t, k);
    cJSON_Delete(k);
    cli_text_puts(t, ": ");
}

static void json_compact(cli_text *t, const cJSON *j) {
    if (cli_text_stopped(t)) return;
    if (!cJSON_IsArray(j) && !cJSON_IsObject(j)) {
        json_unformatted(t, j);
        return;
    }
    bool obj = cJSON_IsObject(j);
    cli_text_puts(t, obj ? "{" : "[");
    for (const cJSON *c = j->child; c && !cli_text_stopped(t); c = c->next) {
        if (c != j->child) cli_text_puts(t, ", ");
        if (obj) json_key(t, c->string);
        json_compact(t, c);
    }
    cli_text_puts(t, obj ? "}" : "]");
}

/* j at column col of a line indented by indent. */
static void json_pretty(cli_text *t, const cJSON *j, size_t indent, size_t col) {
    if (cli_text_stopped(t)) return;
    if (!cJSON_IsArray(j) && !cJSON_IsObject(j)) {
        json_unformatted(t, j);
        return;
    }
    cli_text line = {.limit = col + 1 < CLI_TEXT_WIDTH ? CLI_TEXT_WIDTH - col - 1 : 1};
    json_compact(&line, j);
    if (line.oom) t->oom = true;
    if (!line.over && !line.oom) cli_text_put(t, line.p, line.len);
    free(line.p);
    if (!line.over) return;
    bool obj = cJSON_IsObject(j);
    cli_text_puts(t, obj ? "{" : "[");
    for (const cJSON *c = j->child; c && !cli_text_stopped(t); c = c->next) {
        cli_text_puts(t, "\n");
        cli_text_spaces(t, indent + 2);
        size_t before = t->len;
        if (obj) json_key(t, c->string);
        json_pretty(t, c, indent + 2, indent + 2 + (t->len - before));
        if (c->next) cli_text_puts(t, ",");
    }
    cli_text_puts(t, "\n");
    cli_text_spaces(t, indent);
    cli_text_puts(t, obj ? "}" : "]");
}

/* JSON: false when it does not parse (the caller prints it raw). */
static bool print_json(const cli_opts *o, uint32_t cf, const uint8_t *body, size_t len,
                       bool line) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)body, len, &end, false);
    if (j && end) {
        /* Only white space may follow the value (RFC 8259 section 2). */
        const char *stop = (const char *)body + len;
        while (end < stop && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
        if (end != stop) {
            cJSON_Delete(j);
            j = NULL;
        }
    }
    if (!j) {
        not_parsed(o, cf, "valid JSON");
        return false;
    }
    if (json_lossy(j)) {
        cJSON_Delete(j);
        if (!o->quiet)
            app_log(APP_LOG_WARN, "a number in the JSON payload is beyond what cJSON keeps "
                                  "exactly (over 2^53, or overflowing); shown as received");
        return false;
    }
    /* A notification's line: cJSON's compact form (as jq -c writes). */
    cli_text t = {0};
    if (line) json_unformatted(&t, j);
    else json_pretty(&t, j, 0, 0);
    cJSON_Delete(j);
    if (t.oom || !t.p) {
        free(t.p);
        return false;
    }
    fwrite(t.p, 1, t.len, stdout);
    fputc('\n', stdout);
    free(t.p);
    return true;
}

static bool print_cbor(const cli_opts *o, uint32_t cf, const uint8_t *body, size_t len,
                       bool line) {
    char *s;
    size_t n;
    if (cli_cbor_diag(body, len, line, &s, &n) < 0) {
        not_parsed(o, cf, "one well-formed CBOR data item");
        return false;
    }
    fwrite(s, 1, n, stdout);
    fputc('\n', stdout);
    free(s);
    return true;
}

/* Link-format, one link a line (as discover prints it). */
static bool print_links(const cli_opts *o, uint32_t cf, const uint8_t *body, size_t len) {
    tern_link_iter it;
    tern_link link;
    int rc;
    tern_link_iter_init(&it, (const char *)body, len);
    while ((rc = tern_link_next(&it, &link)) > 0) {
    }
    if (rc < 0) {
        not_parsed(o, cf, "well-formed link-format");
        return false;
    }
    tern_link_iter_init(&it, (const char *)body, len);
    while (tern_link_next(&it, &link) > 0)
        printf("<%.*s>%.*s\n", (int)link.target_len, link.target, (int)link.params_len,
               link.params);
    return true;
}

void cli_print_body(const cli_opts *o, const tern_msg *m, const uint8_t *body, size_t len,
                    bool line) {
    if (o->quiet) return;
    if (len == 0 && !line) return;
    uint32_t cf = TERN_CF_TEXT_PLAIN;
    (void)tern_msg_get_uint(m, TERN_OPT_CONTENT_FORMAT, &cf);
    bool done = false;
    if (!o->raw && len > 0) {
        if (cf_is_json(cf)) done = print_json(o, cf, body, len, line);
        else if (cf_is_cbor(cf)) done = print_cbor(o, cf, body, len, line);
        /* Link-format one link a line (grep and while-read take it so; the
         * bytes as received with --raw). A notification stays one line. */
        else if (cf == TERN_CF_LINK_FORMAT && !line)
            done = print_links(o, cf, body, len);
    }
    if (!done) print_raw(cf, body, len);
    fflush(stdout);
}
