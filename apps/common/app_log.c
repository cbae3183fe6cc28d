/* SPDX-License-Identifier: BSD-2-Clause */
/* app_log.c - see app_log.h. */
#include "app_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tern/io.h"

static app_log_level max_level = APP_LOG_INFO;
static const char *prog_name = "tern";
static enum { FORM_PLAIN, FORM_JOURNAL, FORM_STAMPED } form = FORM_PLAIN;

static const char *const level_names[] = {"error", "warning", "info", "debug"};
/* sd-daemon(3): LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const char level_prio[] = {'3', '4', '6', '7'};

void app_log_set_level(app_log_level level) { max_level = level; }
app_log_level app_log_get_level(void) { return max_level; }
void app_log_set_name(const char *name) { prog_name = name; }

const char *app_log_level_name(app_log_level level) {
    return (unsigned)level <= APP_LOG_DEBUG ? level_names[level] : "?";
}

int app_log_parse_level(const char *name, app_log_level *out) {
    for (int i = 0; i <= (int)APP_LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (app_log_level)i;
            return 0;
        }
    }
    if (strcmp(name, "warn") == 0) {
        *out = APP_LOG_WARN;
        return 0;
    }
    return -1;
}

/* systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected
 * to stdout/stderr; the journal form only when stderr is still that stream
 * (not redirected by a wrapper script). */
static bool stderr_is_journal(void) {
    const char *js = getenv("JOURNAL_STREAM");
    if (js == NULL || *js == '\0') return false;
    char *end;
    unsigned long long dev = strtoull(js, &end, 10);
    if (end == js || *end != ':') return false;
    const char *p = end + 1;
    unsigned long long ino = strtoull(p, &end, 10);
    if (end == p || *end != '\0') return false;
    struct stat sb;
    if (fstat(STDERR_FILENO, &sb) < 0) return false;
    return (unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino;
}

void app_log_service_mode(void) { form = stderr_is_journal() ? FORM_JOURNAL : FORM_STAMPED; }
bool app_log_journal(void) { return form == FORM_JOURNAL; }

/* "2025-06-01T12:34:56.789Z " */
static size_t put_stamp(char *out, size_t cap) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t t = ts.tv_sec;
    if (gmtime_r(&t, &tm) == NULL) return 0;
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0) return 0;
    int w = snprintf(out + n, cap - n, ".%03ldZ ", ts.tv_nsec / 1000000L);
    return w > 0 && (size_t)w < cap - n ? n + (size_t)w : n;
}

/* The line's start: "<6>info: ", "TIME tern-server: info: ", "tern: info: ";
 * trace lines (level < 0) have no name or level word. */
static size_t put_head(char *out, size_t cap, int level) {
    size_t n = 0;
    int w = 0;
    if (form == FORM_JOURNAL) {
        w = snprintf(out, cap, "<%c>", level_prio[level < 0 ? APP_LOG_DEBUG : level]);
        n = w > 0 ? (size_t)w : 0;
        if (level >= 0) {
            w = snprintf(out + n, cap - n, "%s: ", level_names[level]);
            n += w > 0 ? (size_t)w : 0;
        }
        return n;
    }
    if (form == FORM_STAMPED) n = put_stamp(out, cap);
    if (level >= 0) {
        w = snprintf(out + n, cap - n, "%s: %s: ", prog_name, level_names[level]);
        n += w > 0 ? (size_t)w : 0;
    }
    return n;
}

/* One write per line; a line too long is cut with "...". */
static void emit(char *line, size_t n, size_t cap) {
    if (n >= cap - 1) {
        n = cap - 5;
        memcpy(line + n, "...", 3);
        n += 3;
    }
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
}

void app_log(app_log_level level, const char *fmt, ...) {
    if (level > max_level) return;
    char line[4096];
    size_t n = put_head(line, sizeof line, (int)level);
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (w > 0) n += (size_t)w;
    emit(line, n, sizeof line);
}

const char *app_log_esc(char *out, size_t cap, const void *data, size_t len) {
    return tern_text_escape(out, cap, data, len);
}

const char *app_log_escs(char *out, size_t cap, const char *s) {
    return app_log_esc(out, cap, s, strlen(s));
}

void app_log_icmp(void *ctx, const tern_addr *peer, const uint8_t *quote, size_t quote_len,
                  int result) {
    (void)ctx;
    if (app_log_get_level() < APP_LOG_DEBUG) return;
    char addr[64], named[64] = "no CoAP header";
    if (tern_io_addr_format(peer, addr, sizeof addr) < 0) snprintf(addr, sizeof addr, "?");
    if (quote_len >= TERN_HEADER_LEN) {
        static const char *const types[] = {"CON", "NON", "ACK", "RST"};
        size_t n = (size_t)snprintf(named, sizeof named, "%s mid=0x%04x",
                                    types[(quote[0] >> 4) & 3], (unsigned)(quote[2] << 8 | quote[3]));
        size_t tkl = quote[0] & 0x0Fu;
        if (tkl <= TERN_TOKEN_MAX && quote_len >= TERN_HEADER_LEN + tkl && n < sizeof named) {
            n += (size_t)snprintf(named + n, sizeof named - n, " tok=");
            for (size_t i = 0; i < tkl && n + 3 <= sizeof named; i++)
                n += (size_t)snprintf(named + n, sizeof named - n, "%02x", quote[TERN_HEADER_LEN + i]);
        }
    }
    const char *what = result == TERN_ICMP_MATCHED ? "ended that exchange"
                                                   : "ignored: it names nothing current of ours";
    app_log(APP_LOG_DEBUG, "ICMP unreachable for our datagram to %s, quoting %zu bytes (%s): %s",
            addr, quote_len, named, what);
}

void app_log_trace(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg) {
    (void)ctx;
    char addr[64], line[1400];
    if (tern_io_addr_format(peer, addr, sizeof addr) < 0) snprintf(addr, sizeof addr, "?");
    size_t n = put_head(line, sizeof line, -1);
    int w = snprintf(line + n, sizeof line - n, "%s %s ", outgoing ? "->" : "<-", addr);
    if (w > 0) n += (size_t)w;
    if (n < sizeof line) {
        tern_msg_format(msg, line + n, sizeof line - n);
        n += strlen(line + n);
    }
    emit(line, n, sizeof line);
}
