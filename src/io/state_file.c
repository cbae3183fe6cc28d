/* SPDX-License-Identifier: BSD-2-Clause */
/* state_file.c - the file backend of state resources (tern/state.h):
 * atomic, durable state files.
 *
 * Why each step: the temp file keeps a half-written state from ever being
 * read; fsync(file) puts its bytes on disk before the rename can make them
 * visible; rename(2) replaces the old file in one step; fsync(dir) makes the
 * rename itself durable. Only then is the store done, and the 2.04 may
 * leave. A file name
 * is the resource path percent-encoded ("/a/b" -> "a%2Fb.state"), so every
 * path has its own file and none can climb out of the directory.
 *
 * At start the directory is proven writable by doing what a PUT does (a
 * probe file written, fsync'd, removed), so a read-only mount, a full disk
 * or a wrong owner stops the start with a reason instead of turning every
 * later PUT into 5.03. A state file is looked at before it is opened: a
 * FIFO or a device would block the start or act on being opened. */
#include "tern/msg.h"
#include "tern/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* The probe written at start: as large as the largest state file. */
#define STORE_PROBE_BYTES TERN_STATE_VALUE_MAX
/* Max-Age on the 5.03 of a PUT refused for a full disk. */
#define FULL_RETRY_S 30

typedef struct store {
    tern_state_backend be; /* first: the backend handed out is the store */
    int dirfd;
    char dir[4096];
} store;

void tern_state_file_default_dir(char *out, size_t cap) {
    const char *env = getenv("STATE_DIRECTORY");
    if (env && *env) {
        size_t n = strcspn(env, ":");
        snprintf(out, cap, "%.*s", (int)n, env);
        return;
    }
    struct stat sb;
    if (stat("/var/lib/tern-server", &sb) == 0 && S_ISDIR(sb.st_mode) &&
        access("/var/lib/tern-server", W_OK | X_OK) == 0) {
        snprintf(out, cap, "/var/lib/tern-server");
        return;
    }
    snprintf(out, cap, "./tern-state");
}

/* Why a write into the directory failed, in words. */
static const char *write_failure(int e, char *buf, size_t cap) {
    switch (e) {
    case EROFS: return "is on a read-only file system";
    case ENOSPC: return "is full (no space left on its file system)";
    case EDQUOT: return "is full (disk quota exceeded)";
    case EACCES:
    case EPERM:
        snprintf(buf, cap, "is not writable by uid %u (%s)", (unsigned)geteuid(), strerror(e));
        return buf;
    default: snprintf(buf, cap, "cannot be written to: %s", strerror(e)); return buf;
    }
}

static void store_close(store *st);

static int store_open(store *st, const char *dir, char *why, size_t cap) {
    char d[1024], reason[160];
    tern_text_escape(d, sizeof d, dir, strlen(dir));
    st->dirfd = -1;
    snprintf(st->dir, sizeof st->dir, "%s", dir);
    if (*dir == '\0') {
        snprintf(why, cap, "the state directory is an empty string");
        return -1;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        if (e == EROFS || e == EACCES || e == EPERM || e == ENOSPC || e == EDQUOT)
            snprintf(why, cap,
                     "state directory \"%s\" does not exist and cannot be created: its parent %s",
                     d, write_failure(e, reason, sizeof reason));
        else
            snprintf(why, cap, "state directory \"%s\" does not exist and cannot be created: %s", d,
                     e == ENOENT ? "its parent directory does not exist" : strerror(e));
        return -1;
    }
    struct stat sb;
    if (stat(dir, &sb) < 0) {
        snprintf(why, cap, "state directory \"%s\": %s", d, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(why, cap, "state directory \"%s\" is not a directory", d);
        return -1;
    }
    st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dirfd < 0) {
        snprintf(why, cap, "state directory \"%s\" cannot be opened: %s", d, strerror(errno));
        return -1;
    }
    /* The proof: what a PUT will do, on a file of the size of a state.
     * Hidden, so it can never be a state file ("." is encoded there). */
    char probe[64], data[STORE_PROBE_BYTES];
    snprintf(probe, sizeof probe, ".tern-server-probe.%ld.tmp", (long)getpid());
    memset(data, '-', sizeof data);
    int fd = openat(st->dirfd, probe, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    int e = fd < 0 ? errno : 0;
    if (fd >= 0) {
        ssize_t n = write(fd, data, sizeof data);
        if (n < 0) e = errno;
        else if (n != (ssize_t)sizeof data) e = ENOSPC; /* a short write: no room for more */
        else if (fsync(fd) < 0) e = errno;
        if (close(fd) < 0 && e == 0) e = errno;
        unlinkat(st->dirfd, probe, 0);
        if (e == 0 && fsync(st->dirfd) < 0 && errno != EINVAL) e = errno;
    }
    if (e != 0) {
        snprintf(why, cap, "state directory \"%s\" %s", d, write_failure(e, reason, sizeof reason));
        store_close(st);
        return -1;
    }
    return 0;
}

static void store_close(store *st) {
    if (st->dirfd >= 0) close(st->dirfd);
    st->dirfd = -1;
}

static void file_name(const char *path, const char *suffix, char *out, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    if (path[0] == '/' && path[1] != '\0') path++; /* "/" itself stays "%2F" */
    for (const unsigned char *p = (const unsigned char *)path; *p && n + 4 < cap; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
                     (*p == '.' && n > 0); /* no hidden files, no ".." */
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    snprintf(out + n, cap - n, "%s", suffix);
}

void tern_state_file_name(const tern_state_backend *be, const char *path, char *out,
                          size_t cap) {
    const store *st = (const store *)be;
    char name[512];
    file_name(path, ".state", name, sizeof name);
    snprintf(out, cap, "%s/%s", st->dir, name);
}

static const char *kind_of(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISLNK(m)) return "a symbolic link";
    return "not a regular file";
}

static int store_load(tern_state_backend *be, tern_state *state, const char *path,
                      const char *initial, char *out, size_t cap, uint64_t *version, char *why,
                      size_t why_cap) {
    (void)state, (void)initial; /* no file: the state starts from initial */
    store *st = (store *)be;
    char name[512], full[4700], f[1024];
    file_name(path, ".state", name, sizeof name);
    tern_state_file_name(be, path, full, sizeof full);
    tern_text_escape(f, sizeof f, full, strlen(full));
    *version = 0;
    out[0] = '\0';
    /* Look first: opening a FIFO or a device may block or act. */
    struct stat sb;
    if (fstatat(st->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return 0;
        snprintf(why, why_cap, "state file \"%s\": %s", f, strerror(errno));
        return TERN_E_SYSTEM;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(why, why_cap, "state file \"%s\" is %s, not a regular file", f,
                 kind_of(sb.st_mode));
        return TERN_E_SYSTEM;
    }
    /* Then open without blocking and look again at what was opened (it may
     * have been replaced in between). */
    int fd = openat(st->dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf(why, why_cap, "state file \"%s\": %s", f,
                 errno == ELOOP ? "is a symbolic link, not a regular file" : strerror(errno));
        return TERN_E_SYSTEM;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(why, why_cap, "state file \"%s\" is %s, not a regular file", f,
                 kind_of(sb.st_mode));
        close(fd);
        return TERN_E_SYSTEM;
    }
    if (sb.st_size < 0 || (size_t)sb.st_size >= cap) {
        snprintf(why, why_cap,
                 "state file \"%s\" holds %lld bytes, more than any value (at most %zu)", f,
                 (long long)sb.st_size, cap - 1);
        close(fd);
        return TERN_E_SYSTEM;
    }
    size_t n = 0;
    while (n < cap - 1) {
        ssize_t r = read(fd, out + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(why, why_cap, "state file \"%s\" cannot be read: %s", f, strerror(errno));
            close(fd);
            return TERN_E_SYSTEM;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    out[n] = '\0';
    if (strlen(out) != n) {
        snprintf(why, why_cap, "state file \"%s\" holds a NUL byte, which no value has", f);
        return TERN_E_FORMAT;
    }
    return 1;
}

static int save(store *st, const char *path, const char *value) {
    char name[512], tmp[520];
    file_name(path, ".state", name, sizeof name);
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    int fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    if (n != (ssize_t)len || fsync(fd) < 0) {
        int e = n < 0 || n == (ssize_t)len ? errno : EIO;
        close(fd);
        unlinkat(st->dirfd, tmp, 0);
        errno = e;
        return -1;
    }
    if (close(fd) < 0 || renameat(st->dirfd, tmp, st->dirfd, name) < 0) {
        int e = errno;
        unlinkat(st->dirfd, tmp, 0);
        errno = e;
        return -1;
    }
    return fsync(st->dirfd);
}

/* Done before it returns: the 2.04 can be piggybacked. */
static int store_save(tern_state_backend *be, tern_state *state, const char *path,
                      const char *value, void *op, uint64_t *version, char *why, size_t why_cap) {
    (void)state, (void)op;
    *version = 0; /* one writer: every store is the newest */
    if (save((store *)be, path, value) == 0) return 0;
    int e = errno;
    snprintf(why, why_cap, "%s", strerror(e));
    /* A full disk may empty: try again later (5.03 with Max-Age). */
    return e == ENOSPC || e == EDQUOT ? TERN_E_UNAVAILABLE : TERN_E_SYSTEM;
}

static const tern_state_backend_ops file_ops = {.load = store_load, .store = store_save};

int tern_state_file_open(tern_state_backend **out, const char *dir, char *why, size_t why_cap) {
    *out = NULL;
    store *st = calloc(1, sizeof *st);
    if (st == NULL) {
        snprintf(why, why_cap, "out of memory");
        return TERN_E_NOMEM;
    }
    st->be = (tern_state_backend){.ops = &file_ops, .retry_after_s = FULL_RETRY_S};
    if (store_open(st, dir, why, why_cap) < 0) {
        free(st);
        return TERN_E_SYSTEM;
    }
    *out = &st->be;
    return 0;
}

void tern_state_file_close(tern_state_backend *be) {
    if (be == NULL) return;
    store_close((store *)be);
    free(be);
}
