/* SPDX-License-Identifier: BSD-2-Clause */
/* store.h - the state directory of tern-server: one small file per
 * resource, replaced atomically so that a state acknowledged to a client is
 * on disk before the 2.04 leaves (and survives kill -9 or power loss). */
#ifndef TERN_SERVER_STORE_H
#define TERN_SERVER_STORE_H

#include <stddef.h>

typedef struct store {
    int dirfd;
    char dir[4096];
} store;

/* The default directory: $STATE_DIRECTORY (its first entry, as systemd sets
 * it), else /var/lib/tern-server if it is a writable directory, else
 * ./tern-state. Writes into out (cap bytes). */
void store_default_dir(char *out, size_t cap);

/* Open the state directory, creating it if missing (one level), and prove
 * that states can be written there: a probe file is written, fsync'd and
 * removed. 0, or -1 with the reason in why (naming the directory: does not
 * exist and cannot be created, is not a directory, is not writable, is on a
 * read-only file system, is full). */
int store_open(store *st, const char *dir, char *why, size_t cap);
void store_close(store *st);

/* The file of the resource at path, "DIR/alarm.state", for messages. */
void store_file(const store *st, const char *path, char *out, size_t cap);

/* Read the state of the resource at path into out (cap bytes; *len gets
 * its length, and out is NUL-terminated too). Never blocks: the file is
 * looked at before it is opened (O_NONBLOCK, O_NOFOLLOW) and must be a
 * regular file. 1 when found, 0 when there is none, -1 with the reason in
 * why (naming the file: not a regular file, a symbolic link, too large,
 * unreadable). */
int store_load(store *st, const char *path, char *out, size_t cap, size_t *len, char *why,
               size_t why_cap);

/* Write the state durably: temp file, fsync, rename over the old one,
 * fsync the directory. 0, or -1 with errno set (the old state is intact). */
int store_save(store *st, const char *path, const char *value);

#endif
