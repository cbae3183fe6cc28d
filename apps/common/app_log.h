/* SPDX-License-Identifier: BSD-2-Clause */
/* app_log.h - levelled logging to stderr for tern's programs, and the -v
 * trace of every message on the wire. The library itself never prints.
 *
 * Three line forms:
 *   plain (the default, the `tern` CLI):   "tern: error: no response"
 *   service, stderr is the journal:        "<3>error: ..." (sd-daemon(3)
 *                                          priority prefix, no name, no time:
 *                                          journald adds both)
 *   service, anywhere else:                "2025-06-01T12:34:56.789Z
 *                                          tern-server: info: ..." (ISO 8601,
 *                                          UTC, milliseconds)
 * Each line goes out in one write, so that lines of concurrent writers do
 * not interleave. What a line quotes (values, paths, diagnostics, anything
 * from the network) is escaped with app_log_esc first. */
#ifndef TERN_APP_LOG_H
#define TERN_APP_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/endpoint.h"

typedef enum app_log_level {
    APP_LOG_ERROR,
    APP_LOG_WARN,
    APP_LOG_INFO,
    APP_LOG_DEBUG
} app_log_level;

/* Messages above this level are not printed (default APP_LOG_INFO). */
void app_log_set_level(app_log_level level);
app_log_level app_log_get_level(void);
/* Prefix each line with the program name ("tern-server: "). */
void app_log_set_name(const char *name);

/* "error", "warning", "info", "debug" (and "warn"): 0 with *out set, or -1. */
int app_log_parse_level(const char *name, app_log_level *out);
const char *app_log_level_name(app_log_level level);

/* Switch to the service forms above (tern-server calls it once, first):
 * journal prefixes when $JOURNAL_STREAM names stderr's device and inode
 * (as systemd sets it for StandardError=journal), timestamps otherwise. */
void app_log_service_mode(void);
/* True when lines carry "<N>" prefixes (the journal form). */
bool app_log_journal(void);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void app_log(app_log_level level, const char *fmt, ...);

/* Escape len bytes of data for quoting in a log line or a diagnostic:
 * backslash and double quote get a backslash, \n \r \t are written so,
 * every other byte outside 0x20..0x7E is \xHH. Writes into out (cap bytes,
 * always NUL-terminated); what does not fit is cut at a whole escape and
 * "..." put at the end. Returns out. */
const char *app_log_esc(char *out, size_t cap, const void *data, size_t len);
/* The same for a NUL-terminated string. */
const char *app_log_escs(char *out, size_t cap, const char *s);

/* A tern_io_config.trace callback: prints "<- [::1]:5683 CON GET ..." for
 * each datagram in and "->" for each one out, to stderr (in the service
 * forms with the debug prefix or a timestamp). */
void app_log_trace(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg);

/* A tern_io_config.icmp_trace callback: at debug level, each ICMP
 * destination unreachable, what it quoted of our datagram and what came of
 * it (RFC 8085 section 5.2: one that names nothing we sent is ignored). */
void app_log_icmp(void *ctx, const tern_addr *peer, const uint8_t *quote, size_t quote_len,
                  int result);

#endif
