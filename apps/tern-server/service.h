/* SPDX-License-Identifier: BSD-2-Clause */
/* service.h - what makes tern-server a well-behaved service: readiness
 * and reload notifications to systemd (the sd_notify(3) protocol, a
 * datagram to $NOTIFY_SOCKET, done here without libsystemd), SIGHUP, and
 * the loop that serves both beside tern_io. */
#ifndef TERN_SERVER_SERVICE_H
#define TERN_SERVER_SERVICE_H

#include "tern/io.h"

/* Send "READY=1", "STOPPING=1", "RELOADING=1", "STATUS=..." (several lines
 * at once are fine) to $NOTIFY_SOCKET, a path or "@abstract" name. A no-op
 * when the variable is unset; a failure is logged at debug level only
 * (systemd then times the start out, which says enough). */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void svc_notify(const char *fmt, ...);

/* Block SIGHUP, so that it never ends the process, and deliver it through a
 * signalfd instead (returned; -1 with errno on failure). Call it first
 * thing: a SIGHUP during start is then taken once the loop runs. */
int svc_catch_hup(void);

/* Serve until tern_io_stop() or SIGINT/SIGTERM (tern_io_catch_signals):
 * the loop of tern_io_run, embedded (tern_io_fd, tern_io_timeout_ms,
 * tern_io_step), with hup_fd watched beside it; on_hup(ctx) runs in the
 * loop, between steps, once per burst of SIGHUPs. 0, or a TERN_E_* value. */
int svc_run(tern_io *io, int hup_fd, void (*on_hup)(void *ctx), int wake_fd,
            void (*on_wake)(void *ctx), void *ctx);

#endif
