/* SPDX-License-Identifier: BSD-2-Clause */
/* service.c - see service.h.
 *
 * SIGHUP without a change to the library: tern_io_catch_signals takes
 * SIGINT and SIGTERM only, into a signalfd inside the io's epoll set. The
 * io offers the embedding interface (tern_io_fd: its epoll fd, readable
 * when a step has work; tern_io_timeout_ms: its next deadline), so this
 * loop waits in an epoll set of its own holding that fd, a signalfd for
 * SIGHUP and, with workers, the eventfd another worker writes after a
 * change (workers.h), and calls tern_io_step(io, 0) after each wake-up. A
 * reload thus runs between two steps, never inside a handler, and at once
 * (no polling). */
#include "service.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "app_log.h"

void svc_notify(const char *fmt, ...) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || (path[0] != '/' && path[0] != '@')) return;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t plen = strlen(path);
    if (plen >= sizeof sa.sun_path) {
        app_log(APP_LOG_DEBUG, "NOTIFY_SOCKET too long; systemd not notified");
        return;
    }
    memcpy(sa.sun_path, path, plen);
    if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0'; /* abstract namespace */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa,
                         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen)) < 0)
        app_log(APP_LOG_DEBUG, "cannot notify systemd: %s", strerror(errno));
    if (fd >= 0) close(fd);
}

int svc_catch_hup(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int svc_run(tern_io *io, int hup_fd, void (*on_hup)(void *ctx), int wake_fd,
            void (*on_wake)(void *ctx), void *ctx) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return TERN_E_SYSTEM;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = tern_io_fd(io)};
    int rc = epoll_ctl(ep, EPOLL_CTL_ADD, tern_io_fd(io), &ev);
    if (rc == 0 && hup_fd >= 0) {
        ev.data.fd = hup_fd;
        rc = epoll_ctl(ep, EPOLL_CTL_ADD, hup_fd, &ev);
    }
    if (rc == 0 && wake_fd >= 0) {
        ev.data.fd = wake_fd;
        rc = epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd, &ev);
    }
    if (rc < 0) {
        close(ep);
        return TERN_E_SYSTEM;
    }
    rc = 0;
    while (rc == 0 && !tern_io_stopped(io)) {
        struct epoll_event evs[4];
        int wait = tern_io_timeout_ms(io);
        int n = epoll_wait(ep, evs, 4, wait);
        if (n < 0 && errno != EINTR) {
            rc = TERN_E_SYSTEM;
            break;
        }
        bool hup = false;
        for (int i = 0; i < n; i++) {
            if (wake_fd >= 0 && evs[i].data.fd == wake_fd) on_wake(ctx); /* before the step */
            if (evs[i].data.fd != hup_fd) continue;
            struct signalfd_siginfo si;
            while (read(hup_fd, &si, sizeof si) == (ssize_t)sizeof si) hup = true;
        }
        rc = tern_io_step(io, 0);
        if (rc == 0 && hup && !tern_io_stopped(io)) {
            on_hup(ctx);
            rc = tern_io_step(io, 0); /* what the reload queued (final 4.04s) goes out now */
        }
    }
    close(ep);
    return rc;
}
