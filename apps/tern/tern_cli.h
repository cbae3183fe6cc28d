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
    const char *method_name; /* get, put, post, delete, observe, discover */
    uint8_t method;
    const char *uri;
    const uint8_t *payload;
    size_t payload_len;
    bool has_payload;
    bool payload_owned;      /* read from a file or stdin: free at exit */
    bool verbose, quiet, non;
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
/* The exit status for a response code. */
int cli_status_for_code(uint8_t code);

#endif
