/* SPDX-License-Identifier: BSD-2-Clause */
/* app_log.h - levelled logging to stderr for tern's programs, and the -v
 * trace of every message on the wire. The library itself never prints. */
#ifndef TERN_APP_LOG_H
#define TERN_APP_LOG_H

#include <stdbool.h>

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

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void app_log(app_log_level level, const char *fmt, ...);

/* A tern_io_config.trace callback: prints "<- [::1]:5683 CON GET ..." for
 * each datagram in and "->" for each one out, to stderr. */
void app_log_trace(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg);

#endif
