/* SPDX-License-Identifier: BSD-2-Clause */
/* pskfile.h - the pre-shared keys of coaps (RFC 7252 section 9.1.3.1, PSK
 * mode): a file of "IDENTITY KEY" lines, read once at start (and on a
 * reload) into a table the DTLS handshake looks identities up in.
 *
 *     # door sensors
 *     door-sensor-1   0x4f1c9a2b33d0e7815a6c2d9e0b1f7a44
 *     kitchen         correct-horse-battery-staple   # text key
 *
 * A KEY is its bytes as written, or hex after "0x" (an even number of
 * digits, either case); a key with blanks, control characters or a leading
 * "0x" of its own must be written in hex. '#' at the start of a line or
 * after a blank starts a comment. RFC 4279 section 5.3 asks for identities
 * up to 128 bytes and keys up to 64; those are the limits here.
 *
 * The file holds secrets, so it is treated as ssh treats a private key: one
 * that other users can read or write is refused, and no message ever quotes
 * a key. */
#ifndef TERN_SERVER_PSKFILE_H
#define TERN_SERVER_PSKFILE_H

#include <stddef.h>
#include <stdint.h>

#define PSK_IDENTITY_MAX 128 /* bytes, NUL not included */
#define PSK_KEY_MAX 64
#define PSK_MAX_ENTRIES 4096
#define PSK_FILE_MAX (1u << 20) /* bytes */

typedef struct psk_entry {
    char identity[PSK_IDENTITY_MAX + 1]; /* NUL-terminated, no NUL inside */
    size_t identity_len;
    uint8_t key[PSK_KEY_MAX];
    size_t key_len; /* 1 to PSK_KEY_MAX */
} psk_entry;

typedef struct psk_table {
    psk_entry *v; /* one allocation, wiped by psk_free */
    size_t n;
} psk_table;

/* Read the PSK file at path into t (whatever t held is overwritten, not
 * freed: load a reload into a second table, swap, psk_free the old one).
 * The file must be a regular file, not a symbolic link, at most
 * PSK_FILE_MAX bytes, readable and writable by its owner only, with at most
 * PSK_MAX_ENTRIES lines and no identity twice. A file with no lines is a
 * table of none. 0, or -1 with t empty and "FILE:LINE: why" (or "FILE:
 * why") in err; err never holds key bytes. */
int psk_load(psk_table *t, const char *path, char *err, size_t errcap);

/* The rules of psk_load for the len bytes of a file already read (name: the
 * file's name for messages, escaped); the parser, also for fuzz_pskfile. */
int psk_parse(psk_table *t, const char *buf, size_t len, const char *name, char *err,
              size_t errcap);

/* The entry for identity (len bytes, as the DTLS handshake gives it), or
 * NULL. Valid until psk_free. */
const psk_entry *psk_find(const psk_table *t, const char *identity, size_t len);

/* Wipe every key and identity, free the table and leave it empty. */
void psk_free(psk_table *t);

/* Is the key file at path (a TLS private key, say) a regular file that only
 * its owner may read or write? 0, or -1 with "FILE: why" in err (its mode,
 * in octal, when that is why). The check is on the file as opened, without
 * following a symbolic link. */
int key_file_private(const char *path, char *err, size_t errcap);

#endif
