/* SPDX-License-Identifier: BSD-2-Clause */
/* tern_cli.h - the pieces of the `tern` command-line client (RFC 7252
 * requests, RFC 7641 observe, RFC 6690 discovery), shared by its files. */
#ifndef TERN_CLI_H
#define TERN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/io.h"

/* Exit status, documented in --help and tern(1). Scripts test these. */
enum {
    EXIT_OK = 0,          /* 2.xx (observe: ended by --count, --duration, Ctrl-C) */
    EXIT_ERROR = 1,       /* anything else: socket, memory, unexpected answer */
    EXIT_USAGE = 2,       /* bad command line, unreadable payload file */
    EXIT_BAD_URI = 3,     /* URI malformed or of a scheme tern cannot use */
    EXIT_CLIENT_ERR = 4,  /* 4.xx response */
    EXIT_SERVER_ERR = 5,  /* 5.xx response */
    EXIT_NO_HOST = 6,     /* host name could not be resolved */
    EXIT_RESET = 7,       /* the server answered with RST (refused the message) */
    EXIT_TIMEOUT = 8      /* no answer in time: unreachable or timed out */
};

#define CLI_MAX_OPTS 24

typedef struct cli_opts {
    const char *method_name; /* get, put, post, delete, fetch, patch, ipatch,
                                observe, discover */
    uint8_t method;
    const char *uri;
    const uint8_t *payload;
    size_t payload_len;
    bool has_payload;
    bool payload_owned;      /* read from a file or stdin: free at exit */
    bool verbose, quiet, non;
    bool include;            /* -i: response code and options on stderr */
    bool raw;                /* --raw: the payload as received, not reformatted */
    const char *proxy;       /* -P: a forward proxy's coap://HOST[:PORT], or NULL */
    /* coaps (RFC 7252 section 9): -u/-k's PSK, or --cert/--key; --ca */
    const char *psk_identity, *psk_key;
    const char *cert, *key, *ca;
    uint32_t block_size;     /* -b: 16..1024 (Block2 early negotiation,
                                Block1 size); 0: the library's choice */
    uint32_t timeout_ms;     /* 0: default */
    long content_format;     /* -1: none */
    long accept;             /* -1: none */
    long count;              /* observe: stop after N notifications; 0: never */
    uint64_t duration_ms;    /* observe: stop after; 0: never */
    size_t n_opts;
    struct {
        uint16_t num;
        size_t len;
        uint8_t val[256];
    } opts[CLI_MAX_OPTS];
} cli_opts;

/* run.c: build the request from opts; the commands. Each returns an exit
 * status. */
int cli_build_request(const cli_opts *o, tern_msgb *b, uint8_t code);
int cli_request(tern_io *io, const cli_opts *o);
int cli_observe(tern_io *io, const cli_opts *o);
int cli_discover(tern_io *io, const cli_opts *o);

/* Map a library error to an exit status, after printing why. */
int cli_fail(const cli_opts *o, int err);
/* The same, naming another URI than the target (the proxy's). */
int cli_fail_uri(const cli_opts *o, const char *uri, int err);
/* The exit status for a response code. */
int cli_status_for_code(uint8_t code);
/* -b and a payload: the tern_client_config.max_request_size at which the
 * client cuts the payload into Block1 blocks of o->block_size bytes, or 0
 * to keep the default. */
uint32_t cli_block1_request_size(const cli_opts *o);

/* output.c: what tern prints. */
/* Formats whose bytes are written as they are, with no newline added. */
bool cli_cf_is_binary(uint32_t cf);
/* A tern_io_config.trace for -v: "-> HH:MM:SS.mmm ADDR MESSAGE" on stderr
 * (local wall-clock time, milliseconds), the message as tern_msg_format
 * writes it. */
void cli_trace(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg);
/* -i: the response code, then one "Name: value" line per option, on
 * stderr. Nothing without -i or with -q. */
void cli_print_head(const cli_opts *o, const tern_msg *m);
/* A response payload on stdout, by its Content-Format: JSON pretty-printed,
 * CBOR in diagnostic notation, link-format one link a line when stdout is a
 * terminal (all as they came with --raw, or when they do not parse: then
 * with a warning). line:
 * an observe notification, which stays on one line (compact JSON and CBOR)
 * and prints even when empty. */
void cli_print_body(const cli_opts *o, const tern_msg *m, const uint8_t *body, size_t len,
                    bool line);

/* A growing string for the payload printers. With a limit (not 0), it
 * stops (over) rather than grow past it: "does this fit on the line?".
 * oom: an allocation failed. */
typedef struct cli_text {
    char *p; /* NUL-terminated once anything was put; free() it */
    size_t len, cap;
    size_t limit;
    bool over, oom;
} cli_text;

/* The width within which a container stays on one line. */
#define CLI_TEXT_WIDTH 80

void cli_text_put(cli_text *t, const char *s, size_t n);
void cli_text_puts(cli_text *t, const char *s);
void cli_text_spaces(cli_text *t, size_t n);
static inline bool cli_text_stopped(const cli_text *t) { return t->over || t->oom; }

/* cbor_diag.c: RFC 8949 section 8 diagnostic notation of one CBOR data
 * item (libcbor decodes it). 0 with *out (malloc'd, NUL-terminated, no
 * trailing newline; free it) and *out_len; -1 when p is not exactly one
 * well-formed item with valid UTF-8 text strings, or out of memory.
 * one_line: everything on one line; otherwise containers too wide for
 * CLI_TEXT_WIDTH columns are broken over lines, one element a line, with
 * two-space indentation (the JSON of output.c is laid out the same way). */
int cli_cbor_diag(const uint8_t *p, size_t len, bool one_line, char **out, size_t *out_len);

#endif
