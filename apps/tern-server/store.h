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

/* Open (creating it if missing, one level) the state directory.
 * 0, or -1 with errno set. */
int store_open(store *st, const char *dir);
void store_close(store *st);

/* Read the state of the resource at path into out (NUL-terminated, cap
 * bytes). 1 when found, 0 when there is none, -1 on error (errno). */
int store_load(store *st, const char *path, char *out, size_t cap);

/* Write the state durably: temp file, fsync, rename over the old one,
 * fsync the directory. 0, or -1 with errno set (the old state is intact). */
int store_save(store *st, const char *path, const char *value);

#endif
