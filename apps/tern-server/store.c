/* SPDX-License-Identifier: BSD-2-Clause */
/* store.c - atomic, durable state files (see store.h).
 *
 * Why each step: the temp file keeps a half-written state from ever being
 * read; fsync(file) puts its bytes on disk before the rename can make them
 * visible; rename(2) replaces the old file in one step; fsync(dir) makes the
 * rename itself durable. Only then does the caller send 2.04. A file name
 * is the resource path percent-encoded ("/a/b" -> "a%2Fb.state"), so every
 * path has its own file and none can climb out of the directory. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void store_default_dir(char *out, size_t cap) {
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

int store_open(store *st, const char *dir) {
    snprintf(st->dir, sizeof st->dir, "%s", dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) return -1;
    st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return st->dirfd < 0 ? -1 : 0;
}

void store_close(store *st) {
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

int store_load(store *st, const char *path, char *out, size_t cap) {
    char name[512];
    file_name(path, ".state", name, sizeof name);
    int fd = openat(st->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    ssize_t n = read(fd, out, cap - 1);
    int e = errno;
    close(fd);
    if (n < 0) {
        errno = e;
        return -1;
    }
    out[n] = '\0';
    return 1;
}

int store_save(store *st, const char *path, const char *value) {
    char name[512], tmp[520];
    file_name(path, ".state", name, sizeof name);
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    int fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
