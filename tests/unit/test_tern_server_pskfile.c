/* SPDX-License-Identifier: BSD-2-Clause */
/* test_tern_server_pskfile.c - tern-server's PSK file (apps/tern-server/
 * pskfile.c) for coaps in PSK mode, RFC 7252 section 9.1.3.1: the line
 * format, the limits of RFC 4279 section 5.3 (identities to 128 bytes, keys
 * to 64), and the file's protection: a file other users can read or write,
 * or that is not a regular file, is refused, and no message quotes a key.
 *
 * Files are written to a fresh directory under $TMPDIR (or /tmp) with their
 * mode set by fchmod, so the umask does not decide what a test sees. */
#include "tern_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pskfile.h"

/* ---- helpers ---------------------------------------------------------------- */

static char dir[256];

static int make_dir(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/tern-pskfile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

/* The directory holds files, a FIFO, a symbolic link and empty
 * directories, one level deep. */
static int remove_dir(void **state) {
    (void)state;
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) < 0) rmdir(p);
    }
    closedir(d);
    return rmdir(dir);
}

static void path_of(char *out, size_t cap, const char *name) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* Write a file of len bytes with exactly this mode; its path into out. */
static void put_bytes(char *out, size_t cap, const char *name, const void *data, size_t len,
                      mode_t mode) {
    path_of(out, cap, name);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void put(char *out, size_t cap, const char *name, const char *text, mode_t mode) {
    put_bytes(out, cap, name, text, strlen(text), mode);
}

static void assert_contains(const char *s, const char *part) {
    if (strstr(s, part) == NULL) fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

static void assert_lacks(const char *s, const char *part) {
    if (strstr(s, part) != NULL) fail_msg("\"%s\" contains \"%s\"", s, part);
}

/* ---- the format --------------------------------------------------------------- */

static void test_pskfile_text_and_hex_keys_comments(void **state) {
    (void)state;
    char p[512], err[1024];
    put(p, sizeof p, "keys.txt",
        "# door sensors\n"
        "   # an indented comment\n"
        "\n"
        "door-sensor-1   0x4F1c9A2b   # the key is hex, this is a comment\n"
        "kitchen correct-horse#battery\n" /* '#' inside a field is the field's */
        "\tcellar\t0X00ff\r\n"              /* tabs, 0X, a CRLF line end */
        "   \t  \n"
        "attic s3cret", /* the last line without '\n' */
        0600);
    psk_table t;
    assert_int_equal(psk_load(&t, p, err, sizeof err), 0);
    assert_int_equal(t.n, 4);

    const psk_entry *e = psk_find(&t, "door-sensor-1", 13);
    assert_non_null(e);
    assert_string_equal(e->identity, "door-sensor-1");
    assert_int_equal(e->identity_len, 13);
    static const uint8_t door[] = {0x4f, 0x1c, 0x9a, 0x2b};
    assert_int_equal(e->key_len, sizeof door);
    assert_memory_equal(e->key, door, sizeof door);

    e = psk_find(&t, "kitchen", 7);
    assert_non_null(e);
    assert_int_equal(e->key_len, strlen("correct-horse#battery"));
    assert_memory_equal(e->key, "correct-horse#battery", e->key_len);

    e = psk_find(&t, "cellar", 6);
    assert_non_null(e);
    assert_int_equal(e->key_len, 2);
    assert_int_equal(e->key[0], 0x00);
    assert_int_equal(e->key[1], 0xff);

    e = psk_find(&t, "attic", 5);
    assert_non_null(e);
    assert_memory_equal(e->key, "s3cret", 6);

    /* The handshake's identity is bytes and a length: no prefix, no
     * extension, no NUL inside matches. */
    assert_non_null(psk_find(&t, "door-sensor-1 and more", 13));
    assert_null(psk_find(&t, "door", 4));
    assert_null(psk_find(&t, "kitchen\0", 8));
    assert_null(psk_find(&t, "Kitchen", 7));
    assert_null(psk_find(&t, "", 0));
    assert_null(psk_find(&t, NULL, 3));
    psk_free(&t);
    assert_null(t.v);
    assert_int_equal(t.n, 0);
    psk_free(&t); /* twice is harmless */
}

static void test_rfc4279_s5_3_identity_128_key_64(void **state) {
    (void)state;
    char p[512], err[1024], text[1024];
    char id[129], key[65], hex[129];
    memset(id, 'i', 128);
    id[128] = '\0';
    memset(key, 'k', 64);
    key[64] = '\0';
    for (size_t i = 0; i < 128; i++) hex[i] = "0123456789abcdef"[i % 16];
    hex[128] = '\0';
    snprintf(text, sizeof text, "%s %s\nhex 0x%s\n", id, key, hex);
    put(p, sizeof p, "limits.txt", text, 0600);
    psk_table t;
    assert_int_equal(psk_load(&t, p, err, sizeof err), 0);
    assert_int_equal(t.n, 2);
    const psk_entry *e = psk_find(&t, id, 128);
    assert_non_null(e);
    assert_int_equal(e->key_len, 64);
    e = psk_find(&t, "hex", 3);
    assert_non_null(e);
    assert_int_equal(e->key_len, 64);
    assert_int_equal(e->key[0], 0x01);
    assert_int_equal(e->key[63], 0xef);
    /* One byte more than the table holds is never looked for. */
    char longer[130];
    memset(longer, 'i', 129);
    assert_null(psk_find(&t, longer, 129));
    psk_free(&t);
}

static void test_pskfile_empty_file_is_no_keys(void **state) {
    (void)state;
    char p[512], err[1024];
    put(p, sizeof p, "empty.txt", "# nothing yet\n\n", 0600);
    psk_table t = {(psk_entry *)&t, 99}; /* overwritten, not read */
    assert_int_equal(psk_load(&t, p, err, sizeof err), 0);
    assert_null(t.v);
    assert_int_equal(t.n, 0);
    assert_null(psk_find(&t, "anyone", 6));
    psk_free(&t);
}

/* A file that does not parse: the message names file:line and the fault,
 * and never any byte of the key (the secret, for each row). */
static void test_pskfile_bad_lines(void **state) {
    (void)state;
    static const struct {
        const char *text;
        const char *where; /* ":LINE: " */
        const char *why;
        const char *secret;
    } rows[] = {
        {"a 0x12G4e1\n", ":1: ", "bad hex digit", "12G4e1"},
        {"a 0x5ec\n", ":1: ", "odd number of digits", "5ec"},
        {"# ok so far\nx 0xdeadbeef\n\nx 0xfeedface\n", ":4: ",
         "identity already given on line 2", "feedface"},
        {"x TopSecret1\nx TopSecret2\n", ":2: ", "identity already given on line 1", "TopSecret"},
        {"a 0x\n", ":1: ", "empty key", NULL},
        {"lonely\n", ":1: ", "identity without a key", "lonely"},
        {"a pass word\n", ":1: ", "more than IDENTITY KEY", "pass"},
        {"a s3cr3t trailing\n", ":1: ", "more than IDENTITY KEY", "s3cr3t"},
        {"a ke\x01yk3y\n", ":1: ", "control character in the key", "yk3y"},
        {"a\x7f" "b k3yk3y\n", ":1: ", "control character in the identity", "k3yk3y"},
        {"* w1ldcard\n", ":1: ", "reserved", "w1ldcard"},
    };
    char p[512], err[1024], text[512];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        put(p, sizeof p, "bad.txt", rows[i].text, 0600);
        psk_table t;
        err[0] = '\0';
        if (psk_load(&t, p, err, sizeof err) != -1) fail_msg("row %zu parsed", i);
        assert_null(t.v);
        assert_int_equal(t.n, 0);
        snprintf(text, sizeof text, "%s%s", p, rows[i].where);
        assert_true(strncmp(err, text, strlen(text)) == 0);
        assert_contains(err, rows[i].why);
        /* After the file's name, whose random part could hold anything. */
        if (rows[i].secret) assert_lacks(err + strlen(p), rows[i].secret);
    }

    /* One byte over each limit of RFC 4279 section 5.3. */
    char id[130], key[66], hex[131];
    memset(id, 'i', 129);
    id[129] = '\0';
    memset(key, 'k', 65);
    key[65] = '\0';
    for (size_t i = 0; i < 130; i++) hex[i] = "0123456789abcdef"[i % 16];
    hex[130] = '\0';
    psk_table t;
    snprintf(text, sizeof text, "%s k3yk3y\n", id);
    put(p, sizeof p, "bad.txt", text, 0600);
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    assert_contains(err, ":1: identity longer than 128 bytes");
    assert_lacks(err + strlen(p), "k3yk3y");
    snprintf(text, sizeof text, "ok 0x01\ntext %s\n", key);
    put(p, sizeof p, "bad.txt", text, 0600);
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    assert_contains(err, ":2: key longer than 64 bytes");
    assert_lacks(err + strlen(p), "kkkk");
    snprintf(text, sizeof text, "hex 0x%s\n", hex);
    put(p, sizeof p, "bad.txt", text, 0600);
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    assert_contains(err, ":1: key longer than 64 bytes");
    assert_lacks(err + strlen(p), "0123");

    /* A NUL in an identity (it could never match one from a handshake). */
    put_bytes(p, sizeof p, "bad.txt", "ok 0x01\nn\0l k3yk3y\n", 19, 0600);
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    assert_contains(err, ":2: control character in the identity");
    assert_lacks(err + strlen(p), "k3yk3y");
}

static void test_pskfile_bounds(void **state) {
    (void)state;
    char p[512], err[1024];
    psk_table t;
    /* PSK_MAX_ENTRIES lines load; one more is refused, naming its line. */
    size_t cap = (PSK_MAX_ENTRIES + 1) * 16;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = 0;
    for (unsigned i = 0; i < PSK_MAX_ENTRIES; i++)
        n += (size_t)snprintf(text + n, cap - n, "id%u 0x%02x\n", i, i & 0xff);
    put_bytes(p, sizeof p, "many.txt", text, n, 0600);
    assert_int_equal(psk_load(&t, p, err, sizeof err), 0);
    assert_int_equal(t.n, PSK_MAX_ENTRIES);
    assert_non_null(psk_find(&t, "id4095", 6));
    psk_free(&t);
    n += (size_t)snprintf(text + n, cap - n, "one-more 0x01\n");
    put_bytes(p, sizeof p, "many.txt", text, n, 0600);
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    assert_contains(err, ":4097: more than 4096 keys");
    free(text);

    /* At most PSK_FILE_MAX bytes, comments included. */
    char *big = malloc(PSK_FILE_MAX + 1);
    assert_non_null(big);
    memset(big, '#', PSK_FILE_MAX + 1);
    put_bytes(p, sizeof p, "big.txt", big, PSK_FILE_MAX, 0600);
    assert_int_equal(psk_load(&t, p, err, sizeof err), 0);
    assert_int_equal(t.n, 0);
    put_bytes(p, sizeof p, "big.txt", big, PSK_FILE_MAX + 1, 0600);
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    assert_contains(err, "big.txt: larger than 1048576 bytes");
    free(big);
}

/* ---- the file's protection ------------------------------------------------------ */

static void test_pskfile_mode_0644_refused(void **state) {
    (void)state;
    char p[512], err[1024], want[600];
    static const struct {
        mode_t mode;
        const char *says;
    } rows[] = {
        {0644, "mode 0644 lets other users read the keys; chmod 600 it"},
        {0640, "mode 0640 lets other users read the keys; chmod 600 it"},
        {0604, "mode 0604 lets other users read the keys; chmod 600 it"},
        {0620, "mode 0620 lets other users change the keys; chmod 600 it"},
        {0602, "mode 0602 lets other users change the keys; chmod 600 it"},
        {0610, "mode 0610 gives other users access to the keys; chmod 600 it"},
        {0666, "mode 0666 lets other users read the keys; chmod 600 it"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        put(p, sizeof p, "psk.txt", "door 0x0102\n", rows[i].mode);
        psk_table t;
        assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
        assert_null(t.v);
        snprintf(want, sizeof want, "%s: %s", p, rows[i].says);
        assert_string_equal(err, want);
    }
}

static void test_pskfile_owner_only_accepted(void **state) {
    (void)state;
    char p[512], err[1024];
    static const mode_t ok[] = {0600, 0400, 0700};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        put(p, sizeof p, "psk.txt", "door 0x0102\n", ok[i]);
        psk_table t;
        assert_int_equal(psk_load(&t, p, err, sizeof err), 0);
        assert_int_equal(t.n, 1);
        psk_free(&t);
        assert_int_equal(key_file_private(p, err, sizeof err), 0);
    }
}

static void test_pskfile_not_regular_refused(void **state) {
    (void)state;
    char p[512], err[1024], want[600];
    psk_table t;
    /* A FIFO: refused at once, not waited on for a writer. */
    path_of(p, sizeof p, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: a FIFO, not a regular file", p);
    assert_string_equal(err, want);
    assert_int_equal(key_file_private(p, err, sizeof err), -1);
    assert_string_equal(err, want);

    path_of(p, sizeof p, "subdir");
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: a directory, not a regular file", p);
    assert_string_equal(err, want);

    /* A symbolic link, even to a good file, is not followed. */
    char target[512];
    put(target, sizeof target, "target.txt", "door 0x0102\n", 0600);
    path_of(p, sizeof p, "link");
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    assert_contains(err, "link: a symbolic link");
    assert_int_equal(key_file_private(p, err, sizeof err), -1);
    assert_contains(err, "link: a symbolic link");

    path_of(p, sizeof p, "missing.txt");
    assert_int_equal(psk_load(&t, p, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: No such file or directory", p);
    assert_string_equal(err, want);
}

static void test_key_file_private_modes(void **state) {
    (void)state;
    char p[512], err[1024], want[600];
    put(p, sizeof p, "server.key", "-----BEGIN PRIVATE KEY-----\n", 0644);
    assert_int_equal(key_file_private(p, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: mode 0644 lets other users read the key; chmod 600 it", p);
    assert_string_equal(err, want);
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(key_file_private(p, err, sizeof err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pskfile_text_and_hex_keys_comments),
        cmocka_unit_test(test_rfc4279_s5_3_identity_128_key_64),
        cmocka_unit_test(test_pskfile_empty_file_is_no_keys),
        cmocka_unit_test(test_pskfile_bad_lines),
        cmocka_unit_test(test_pskfile_bounds),
        cmocka_unit_test(test_pskfile_mode_0644_refused),
        cmocka_unit_test(test_pskfile_owner_only_accepted),
        cmocka_unit_test(test_pskfile_not_regular_refused),
        cmocka_unit_test(test_key_file_private_modes),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
