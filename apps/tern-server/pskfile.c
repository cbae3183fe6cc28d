/* SPDX-License-Identifier: BSD-2-Clause */
/* pskfile.c - the PSK file (see pskfile.h). The file is read whole (it is
 * small, PSK_FILE_MAX at most) and parsed twice: once to count the entries,
 * once to fill a table allocated to that count, so that no key is left in
 * memory a realloc gave back. Every buffer that held file bytes is wiped
 * before it is freed, and messages name the line, never quote it: a line
 * that does not parse may be a key in the wrong place. */
#include "pskfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_log.h"

/* Stores through a volatile pointer: the compiler may not drop them as dead
 * stores, as it may a memset just before free. */
static void wipe(void *p, size_t n) {
    volatile unsigned char *v = p;
    while (n--) *v++ = 0;
}

static const char *file_kind(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    if (S_ISSOCK(m)) return "a socket";
    return "something else";
}

/* Open path to read and check, on the open file, that it is a regular file
 * only its owner may read or write; what names its content for the message
 * ("the keys"). O_NOFOLLOW: a symbolic link is refused, not followed;
 * O_NONBLOCK: a FIFO named by mistake must not hang the start. The fd, or
 * -1 with "FILE: why" in err. */
static int open_private(const char *path, const char *what, struct stat *sb, char *err,
                        size_t cap) {
    char f[1024];
    app_log_escs(f, sizeof f, path);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(err, cap,
                     "%s: a symbolic link (not followed for a key file); name the file itself", f);
        else snprintf(err, cap, "%s: %s", f, strerror(errno));
        return -1;
    }
    if (fstat(fd, sb) < 0) {
        snprintf(err, cap, "%s: %s", f, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(sb->st_mode)) {
        snprintf(err, cap, "%s: %s, not a regular file", f, file_kind(sb->st_mode));
        close(fd);
        return -1;
    }
    /* As ssh does for a private key: another user who can read the file
     * has the keys, one who can write it can add their own. */
    if (sb->st_mode & 077) {
        const char *does = sb->st_mode & 044   ? "lets other users read"
                           : sb->st_mode & 022 ? "lets other users change"
                                               : "gives other users access to";
        snprintf(err, cap, "%s: mode %04o %s %s; chmod 600 it", f,
                 (unsigned)(sb->st_mode & 07777), does, what);
        close(fd);
        return -1;
    }
    return fd;
}

int key_file_private(const char *path, char *err, size_t errcap) {
    struct stat sb;
    int fd = open_private(path, "the key", &sb, err, errcap);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* A byte an identity or a text key may hold: not a blank (those separate
 * the fields), not a control character, not NUL. UTF-8 passes (RFC 4279
 * section 5.1 writes identities in UTF-8). */
static bool word_byte(unsigned char c) { return c > 0x20 && c != 0x7F; }

typedef struct span {
    const char *p;
    size_t n;
} span;

/* The fields of one line, up to three (IDENTITY, KEY and one too many). A
 * '#' that starts a field starts a comment; inside a field it is a byte of
 * it. */
static size_t split(const char *s, size_t len, span f[3]) {
    size_t nf = 0, i = 0;
    while (nf < 3) {
        while (i < len && blank(s[i])) i++;
        if (i == len || s[i] == '#') break;
        size_t start = i;
        while (i < len && !blank(s[i])) i++;
        f[nf++] = (span){s + start, i - start};
    }
    return nf;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Fill e from a line's fields: NULL, or why not (a message that quotes
 * nothing of the line). */
static const char *parse_entry(const span *f, size_t nf, psk_entry *e) {
    if (nf == 1) return "an identity without a key";
    if (nf > 2)
        return "more than IDENTITY KEY on the line "
               "(a key with blanks must be written in hex, 0x...)";
    if (f[0].n > PSK_IDENTITY_MAX) return "identity longer than 128 bytes";
    for (size_t i = 0; i < f[0].n; i++)
        if (!word_byte((unsigned char)f[0].p[i])) return "control character in the identity";
    if (f[0].n == 1 && f[0].p[0] == '*')
        return "the identity \"*\" is reserved (in allow lines it means anyone)";
    memcpy(e->identity, f[0].p, f[0].n);
    e->identity[f[0].n] = '\0';
    e->identity_len = f[0].n;

    const char *k = f[1].p;
    size_t kn = f[1].n;
    if (kn >= 2 && k[0] == '0' && (k[1] == 'x' || k[1] == 'X')) {
        k += 2;
        kn -= 2;
        if (kn == 0) return "empty key after 0x";
        /* Every digit is checked before any byte is stored. */
        for (size_t i = 0; i < kn; i++)
            if (hex_digit(k[i]) < 0) return "bad hex digit in the key";
        if (kn % 2) return "hex key with an odd number of digits";
        if (kn / 2 > PSK_KEY_MAX) return "key longer than 64 bytes";
        for (size_t i = 0; i < kn / 2; i++)
            e->key[i] = (uint8_t)(hex_digit(k[2 * i]) << 4 | hex_digit(k[2 * i + 1]));
        e->key_len = kn / 2;
        return NULL;
    }
    if (kn > PSK_KEY_MAX) return "key longer than 64 bytes";
    for (size_t i = 0; i < kn; i++)
        if (!word_byte((unsigned char)k[i]))
            return "control character in the key (write such a key in hex, 0x...)";
    memcpy(e->key, k, kn);
    e->key_len = kn;
    return NULL;
}

/* Walk the lines of buf: *line gets the next one (without its '\n'). */
static bool next_line(const char *buf, size_t len, size_t *pos, span *line) {
    if (*pos >= len) return false;
    const char *s = buf + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - s) : len - *pos;
    *line = (span){s, n};
    *pos += n + (nl ? 1 : 0);
    return true;
}

int psk_parse(psk_table *t, const char *buf, size_t len, const char *f, char *err, size_t cap) {
    t->v = NULL;
    t->n = 0;
    span line, fields[3];
    size_t pos = 0, count = 0;
    unsigned lineno = 0;
    while (next_line(buf, len, &pos, &line)) {
        lineno++;
        if (split(line.p, line.n, fields) == 0) continue;
        if (++count > PSK_MAX_ENTRIES) {
            snprintf(err, cap, "%s:%u: more than %d keys", f, lineno, PSK_MAX_ENTRIES);
            return -1;
        }
    }
    if (count == 0) return 0;

    psk_entry *v = calloc(count, sizeof *v);
    unsigned *lines = calloc(count, sizeof *lines); /* where each entry was */
    if (v == NULL || lines == NULL) {
        free(v);
        free(lines);
        snprintf(err, cap, "%s: out of memory", f);
        return -1;
    }
    size_t n = 0;
    const char *why = NULL;
    char dup[64];
    pos = 0;
    lineno = 0;
    while (why == NULL && next_line(buf, len, &pos, &line)) {
        lineno++;
        size_t nf = split(line.p, line.n, fields);
        if (nf == 0) continue;
        why = parse_entry(fields, nf, &v[n]);
        for (size_t j = 0; why == NULL && j < n; j++) {
            if (v[j].identity_len == v[n].identity_len &&
                memcmp(v[j].identity, v[n].identity, v[n].identity_len) == 0) {
                snprintf(dup, sizeof dup, "identity already given on line %u", lines[j]);
                why = dup;
            }
        }
        if (why == NULL) lines[n++] = lineno;
    }
    free(lines);
    if (why) {
        snprintf(err, cap, "%s:%u: %s", f, lineno, why);
        wipe(v, count * sizeof *v); /* the entries so far and the one that failed */
        free(v);
        return -1;
    }
    t->v = v;
    t->n = n;
    return 0;
}

int psk_load(psk_table *t, const char *path, char *err, size_t errcap) {
    t->v = NULL;
    t->n = 0;
    struct stat sb;
    int fd = open_private(path, "the keys", &sb, err, errcap);
    if (fd < 0) return -1;
    char f[1024];
    app_log_escs(f, sizeof f, path);
    if (sb.st_size > (off_t)PSK_FILE_MAX) {
        snprintf(err, errcap, "%s: larger than %u bytes", f, PSK_FILE_MAX);
        close(fd);
        return -1;
    }
    /* One byte more than fstat said, to see a file that grows meanwhile. */
    size_t cap = (size_t)sb.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        snprintf(err, errcap, "%s: out of memory", f);
        close(fd);
        return -1;
    }
    int rc = 0;
    while (len < cap) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errcap, "%s: %s", f, strerror(errno));
            rc = -1;
        }
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    if (rc == 0 && len == cap) {
        /* Half of an edit could pass for a shorter key. */
        snprintf(err, errcap, "%s: changed while being read; try again", f);
        rc = -1;
    }
    if (rc == 0) rc = psk_parse(t, buf, len, f, err, errcap);
    wipe(buf, cap);
    free(buf);
    return rc;
}

const psk_entry *psk_find(const psk_table *t, const char *identity, size_t len) {
    if (t == NULL || identity == NULL || len == 0 || len > PSK_IDENTITY_MAX) return NULL;
    for (size_t i = 0; i < t->n; i++) {
        const psk_entry *e = &t->v[i];
        if (e->identity_len == len && memcmp(e->identity, identity, len) == 0) return e;
    }
    return NULL;
}

void psk_free(psk_table *t) {
    if (t->v) wipe(t->v, t->n * sizeof *t->v);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}
