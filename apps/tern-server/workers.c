/* SPDX-License-Identifier: BSD-2-Clause */
/* workers.c - see workers.h. */
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app_log.h"
#include "conf.h"

typedef struct wk_shared {
    pthread_mutex_t lock; /* process-shared, robust: a worker may die in it */
    unsigned n;
    int wake[WK_MAX];
    wk_slot slot[CONF_MAX_RESOURCES];
} wk_shared;

static wk_shared *shared;
static unsigned self;
static pid_t pids[WK_MAX];
static int ready_pipe[2] = {-1, -1};

bool wk_active(void) { return shared != NULL; }
unsigned wk_self(void) { return self; }
unsigned wk_count(void) { return shared ? shared->n : 1; }

int wk_setup(unsigned n) {
    if (n < 2 || n > WK_MAX) return 0;
    void *m = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        app_log(APP_LOG_ERROR, "workers: cannot map shared memory: %s", strerror(errno));
        return -1;
    }
    wk_shared *w = m;
    memset(w, 0, sizeof *w);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int e = pthread_mutex_init(&w->lock, &a);
    pthread_mutexattr_destroy(&a);
    if (e != 0) {
        app_log(APP_LOG_ERROR, "workers: cannot make the shared lock: %s", strerror(e));
        munmap(m, sizeof *w);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        w->wake[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->wake[i] < 0) {
            app_log(APP_LOG_ERROR, "workers: eventfd: %s", strerror(errno));
            while (i > 0) close(w->wake[--i]);
            munmap(m, sizeof *w);
            return -1;
        }
    }
    if (pipe2(ready_pipe, O_CLOEXEC) < 0) {
        app_log(APP_LOG_ERROR, "workers: pipe: %s", strerror(errno));
        for (unsigned i = 0; i < n; i++) close(w->wake[i]);
        munmap(m, sizeof *w);
        return -1;
    }
    w->n = n;
    shared = w;
    return 0;
}

int wk_fork(void) {
    if (!shared) return 0;
    for (unsigned i = 1; i < shared->n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            app_log(APP_LOG_ERROR, "workers: fork: %s", strerror(errno));
            wk_signal_all(SIGTERM);
            wk_reap();
            return -1;
        }
        if (pid == 0) {
            self = i;
            /* Stop with the first process, however it ends. */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() == 1) _exit(0);
            close(ready_pipe[0]);
            return (int)i;
        }
        pids[i] = pid;
    }
    close(ready_pipe[1]);
    ready_pipe[1] = -1;
    /* One byte from each copy once it serves; EOF early means one died. */
    for (unsigned got = 1; got < shared->n;) {
        char c;
        ssize_t r = read(ready_pipe[0], &c, 1);
        if (r == 1) {
            got++;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        app_log(APP_LOG_ERROR, "workers: a worker could not start");
        wk_signal_all(SIGTERM);
        wk_reap();
        return -1;
    }
    close(ready_pipe[0]);
    return 0;
}

void wk_ready(void) {
    if (!shared || self == 0 || ready_pipe[1] < 0) return;
    char c = 'r';
    while (write(ready_pipe[1], &c, 1) < 0 && errno == EINTR) {}
    close(ready_pipe[1]);
    ready_pipe[1] = -1;
}

void wk_signal_all(int sig) {
    if (!shared || self != 0) return;
    for (unsigned i = 1; i < shared->n; i++)
        if (pids[i] > 0) kill(pids[i], sig);
}

void wk_reap(void) {
    if (!shared || self != 0) return;
    for (unsigned i = 1; i < shared->n; i++) {
        if (pids[i] <= 0) continue;
        int st;
        while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR) {}
        if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM)
            app_log(APP_LOG_WARN, "worker %u ended by signal %d", i, WTERMSIG(st));
        pids[i] = 0;
    }
}

void wk_lock(void) {
    if (!shared) return;
    if (pthread_mutex_lock(&shared->lock) == EOWNERDEAD) {
        /* A worker died holding it: the slots are whole (each change is
         * one copy and one version store), go on. */
        pthread_mutex_consistent(&shared->lock);
    }
}

void wk_unlock(void) {
    if (shared) pthread_mutex_unlock(&shared->lock);
}

wk_slot *wk_attach(const char *path, const char *value) {
    if (!shared) return NULL;
    wk_slot *found = NULL, *free_slot = NULL;
    wk_lock();
    for (size_t i = 0; i < CONF_MAX_RESOURCES && !found; i++) {
        wk_slot *s = &shared->slot[i];
        if (s->path[0] == '\0') {
            if (!free_slot) free_slot = s;
        } else if (strcmp(s->path, path) == 0) {
            found = s;
        }
    }
    if (!found && free_slot) {
        found = free_slot;
        snprintf(found->path, sizeof found->path, "%s", path);
        snprintf(found->value, sizeof found->value, "%s", value);
        __atomic_store_n(&found->version, 1, __ATOMIC_RELEASE);
    }
    wk_unlock();
    if (!found) app_log(APP_LOG_ERROR, "%s: no room to share its state between workers", path);
    return found;
}

void wk_changed(void) {
    if (!shared) return;
    uint64_t one = 1;
    for (unsigned i = 0; i < shared->n; i++)
        if (i != self) (void)!write(shared->wake[i], &one, sizeof one);
}

int wk_wake_fd(void) { return shared ? shared->wake[self] : -1; }

void wk_drain(void) {
    uint64_t v;
    if (shared) (void)!read(shared->wake[self], &v, sizeof v);
}
