/* SPDX-License-Identifier: BSD-2-Clause */
/* app_log.c - see app_log.h. */
#include "app_log.h"

#include <stdarg.h>
#include <stdio.h>

#include "tern/io.h"

static app_log_level max_level = APP_LOG_INFO;
static const char *prog_name = "tern";

void app_log_set_level(app_log_level level) { max_level = level; }
app_log_level app_log_get_level(void) { return max_level; }
void app_log_set_name(const char *name) { prog_name = name; }

void app_log(app_log_level level, const char *fmt, ...) {
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (level > max_level) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s: ", prog_name, names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void app_log_trace(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg) {
    (void)ctx;
    char addr[64], line[1024];
    if (tern_io_addr_format(peer, addr, sizeof addr) < 0) snprintf(addr, sizeof addr, "?");
    tern_msg_format(msg, line, sizeof line);
    fprintf(stderr, "%s %s %s\n", outgoing ? "->" : "<-", addr, line);
}
