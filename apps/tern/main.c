/* SPDX-License-Identifier: BSD-2-Clause */
/* main.c - `tern`, the CoAP command-line client: argument parsing, usage and
 * exit codes (RFC 7252 requests, RFC 8132 FETCH/PATCH/iPATCH, RFC 7641
 * observe, RFC 6690 discovery).
 *
 * Modelled on what curl, libcoap's coap-client and aiocoap-client users
 * know: method and URI as words, -v for the wire, -N for NON, -O for any
 * option, exit codes that scripts can test. The commands themselves are in
 * run.c. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_log.h"
#include "tern/version.h"
#include "tern_cli.h"

static const char usage_text[] =
    "Usage: tern [OPTIONS] get|put|post|delete URI [PAYLOAD]\n"
    "       tern [OPTIONS] fetch|patch|ipatch URI [PAYLOAD]\n"
    "       tern [OPTIONS] observe URI\n"
    "       tern [OPTIONS] discover coap://HOST[:PORT][?QUERY]\n"
    "\n"
    "Send a CoAP request and print the response payload on stdout.\n"
    "PAYLOAD is the literal text, '-' for stdin, or '@FILE' for a file's content;\n"
    "one too large for a datagram is sent in blocks (RFC 7959 Block1). From stdin,\n"
    "one trailing newline (\\n or \\r\\n) is dropped unless -c names a binary format\n"
    "(octet, cbor, ...), so that `echo ON | tern put URI -` sends \"ON\"; a file\n"
    "(@FILE, -f FILE, @/dev/stdin) is sent byte for byte.\n"
    "fetch, patch and ipatch are the methods of RFC 8132: FETCH asks with a\n"
    "payload (a query), PATCH and iPATCH change part of a resource.\n"
    "\n"
    "Payloads are printed by Content-Format: JSON (50, 51, 52, SenML 110)\n"
    "pretty-printed, CBOR (60, SenML 112) in diagnostic notation (RFC 8949\n"
    "section 8), link-format (40) one link a line on a terminal, others as\n"
    "received; one that does not parse is printed as received, with a warning.\n"
    "Binary formats (octet-stream, CBOR with --raw) get no newline appended;\n"
    "text ones do.\n"
    "\n"
    "Options:\n"
    "  -v, --verbose            print every message on the wire to stderr, with the\n"
    "                           time (\"-> 12:34:56.789 ADDRESS CON GET ...\")\n"
    "  -i, --include            print the response code and options on stderr\n"
    "                           (\"2.05 Content\", \"Content-Format: 0\", ...)\n"
    "      --raw                print the payload as received, not reformatted\n"
    "  -q, --quiet              print nothing but errors; the exit status tells\n"
    "  -N, --non                send a non-confirmable (NON) request\n"
    "  -t, --timeout SECONDS    give up after this long (default 93, MAX_TRANSMIT_WAIT)\n"
    "  -c, --content-format CF  Content-Format of the payload: text, json, cbor,\n"
    "                           link, xml, octet, senml+json, ... or a number\n"
    "  -A, --accept CF          ask for this Content-Format (same names)\n"
    "  -O, --option NUM,VALUE   add an option by number or name (e.g. 'Max-Age,30');\n"
    "                           VALUE is a number for uint options, 0x... for bytes,\n"
    "                           otherwise text; 'NUM,' adds an empty option\n"
    "  -f, --file FILE          read the payload from FILE ('-' for stdin)\n"
    "  -P, --proxy URI          send through the forward proxy coap://HOST[:PORT]:\n"
    "                           the target URI goes in Proxy-Uri (RFC 7252 5.10.2)\n"
    "  -u IDENTITY -k KEY       coaps:// with this pre-shared key (DTLS 1.2, RFC 7252\n"
    "                           9.1.3.1), as coap-client -u -k; KEY is text\n"
    "      --cert FILE --key FILE  coaps:// with this X.509 certificate (PEM)\n"
    "      --ca FILE            verify the server's certificate against these CAs\n"
    "  -b, --block-size SIZE    block size, 16..1024, a power of two: asked for in\n"
    "                           the response (Block2 early negotiation, RFC 7959\n"
    "                           2.4) and used for a payload sent in blocks (Block1;\n"
    "                           one of up to SIZE+11 bytes still goes whole)\n"
    "  -n, --count N            observe: stop after N notifications\n"
    "  -d, --duration SECONDS   observe: stop after this long\n"
    "  -h, --help               show this help\n"
    "  -V, --version            show the version\n"
    "\n"
    "observe prints one line per notification (flushed at once; JSON and CBOR\n"
    "compact) until Ctrl-C, --count or --duration, then cancels the observation\n"
    "at the server.\n"
    "discover prints the server's /.well-known/core (or the link-format resource\n"
    "a URI with a path names), one link a line.\n"
    "\n"
    "Exit status:\n"
    "  0  success: a 2.xx response (observe: stopped by --count, --duration, Ctrl-C)\n"
    "  1  other error (socket, out of memory, unexpected answer)\n"
    "  2  bad usage: unknown option, missing argument, unreadable payload file\n"
    "  3  bad URI\n"
    "  4  the server answered 4.xx (client error)\n"
    "  5  the server answered 5.xx (server error)\n"
    "  6  the host name could not be resolved\n"
    "  7  the server reset the request (RST)\n"
    "  8  no answer in time: timeout, or host or port unreachable\n"
    "\n"
    "Examples:\n"
    "  tern get coap://localhost/alarm\n"
    "  echo ON | tern put coap://localhost/alarm -\n"
    "  tern -i get coap://localhost/alarm\n"
    "  tern observe --count 3 coap://localhost/alarm\n"
    "  tern fetch -c json coap://localhost/things '{\"room\":\"kitchen\"}'\n"
    "  tern ipatch -c merge-patch coap://localhost/things/1 '{\"on\":true}'\n"
    "  tern -P coap://proxy.local get coap://sensor.local/temp\n"
    "  tern -v -b 16 get coap://localhost/large\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tern: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'tern --help' for more information.\n");
    va_end(ap);
    return EXIT_USAGE;
}

/* Seconds, possibly fractional, into milliseconds; false if malformed. */
static bool parse_seconds(const char *s, uint64_t *ms) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0 || v > 86400.0 * 365) return false;
    *ms = (uint64_t)(v * 1000.0 + 0.5);
    return true;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* -O NUM,VALUE or NAME,VALUE. */
static int parse_option(cli_opts *o, const char *arg) {
    const char *comma = strchr(arg, ',');
    if (!comma) return usage_error("-O wants NUM,VALUE, got '%s'", arg);
    if (o->n_opts >= CLI_MAX_OPTS) return usage_error("too many -O options (at '%s')", arg);
    char name[64];
    size_t nl = (size_t)(comma - arg);
    if (nl == 0 || nl >= sizeof name) return usage_error("bad option number in '%s'", arg);
    memcpy(name, arg, nl);
    name[nl] = '\0';
    const tern_opt_def *def = NULL;
    char *end;
    unsigned long num = strtoul(name, &end, 10);
    if (*end) {
        def = tern_opt_lookup_name(name);
        if (!def) return usage_error("unknown option name '%s'", name);
        num = def->num;
    } else {
        if (num == 0 || num > 65535) return usage_error("option number out of range in '%s'", arg);
        def = tern_opt_lookup((uint16_t)num);
    }
    const char *val = comma + 1;
    size_t i = o->n_opts;
    o->opts[i].num = (uint16_t)num;
    size_t len = 0;
    if (val[0] == '0' && (val[1] == 'x' || val[1] == 'X')) {
        for (const char *p = val + 2; *p; p += 2) {
            int hi = hexval((unsigned char)p[0]), lo = p[1] ? hexval((unsigned char)p[1]) : -1;
            if (hi < 0 || lo < 0 || len >= sizeof o->opts[i].val)
                return usage_error("bad hex value in '%s'", arg);
            o->opts[i].val[len++] = (uint8_t)(hi << 4 | lo);
        }
    } else if (def && def->format == TERN_OPT_FMT_UINT && *val) {
        unsigned long v = strtoul(val, &end, 10);
        if (*end || v > UINT32_MAX) return usage_error("'%s' wants a number", arg);
        uint8_t enc[4];
        len = tern_opt_uint_encode((uint32_t)v, enc);
        memcpy(o->opts[i].val, enc, len);
    } else {
        len = strlen(val);
        if (len > sizeof o->opts[i].val) return usage_error("option value too long in '%s'", arg);
        memcpy(o->opts[i].val, val, len);
    }
    o->opts[i].len = len;
    o->n_opts++;
    return 0;
}

/* The whole of a file or stdin ("-"), for the payload. From stdin, one
 * trailing newline ("\n" or "\r\n") goes, unless -c names a binary
 * format: `echo ON | tern put URI -` means "ON", not "ON\n", to the
 * person who typed it (curl --data-binary would keep it; a file is kept
 * byte for byte here too, and so is stdin named as a file, @/dev/stdin). */
static int read_payload(cli_opts *o, const char *path) {
    bool from_stdin = strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tern: cannot read payload file '%s': %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        if (len == cap) {
            uint8_t *nb = cap < (1u << 24) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    bool err = ferror(f) || !buf;
    if (f != stdin) fclose(f);
    if (err) {
        free(buf);
        fprintf(stderr, "tern: cannot read payload from '%s'\n", path);
        return EXIT_USAGE;
    }
    bool binary = o->content_format >= 0 && cli_cf_is_binary((uint32_t)o->content_format);
    if (from_stdin && !binary && len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r') len--;
    }
    o->payload = buf;
    o->payload_owned = true;
    o->payload_len = len;
    o->has_payload = true;
    return 0;
}

static int parse_cf(const char *arg, long *out) {
    uint16_t cf;
    if (tern_cf_parse(arg, &cf) < 0) return usage_error("unknown content format '%s'", arg);
    *out = cf;
    return 0;
}

static const struct {
    const char *name;
    uint8_t code;
} methods[] = {
    {"get", TERN_CODE_GET},         {"put", TERN_CODE_PUT},   {"post", TERN_CODE_POST},
    {"delete", TERN_CODE_DELETE},   {"fetch", TERN_CODE_FETCH}, {"patch", TERN_CODE_PATCH},
    {"ipatch", TERN_CODE_IPATCH},   {"observe", TERN_CODE_GET}, {"discover", TERN_CODE_GET},
};

/* Step 1: the flags (getopt). Returns -1 to go on, else the exit status
 * (--help, --version, a usage error). *file gets --file's argument. */
static int parse_flags(int argc, char **argv, cli_opts *o, const char **file) {
    enum { OPT_RAW = 256, OPT_CERT, OPT_KEY, OPT_CA };
    static const struct option longopts[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"include", no_argument, NULL, 'i'},
        {"raw", no_argument, NULL, OPT_RAW},
        {"proxy", required_argument, NULL, 'P'},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"ca", required_argument, NULL, OPT_CA},
        {"block-size", required_argument, NULL, 'b'},
        {"quiet", no_argument, NULL, 'q'},
        {"non", no_argument, NULL, 'N'},
        {"timeout", required_argument, NULL, 't'},
        {"content-format", required_argument, NULL, 'c'},
        {"accept", required_argument, NULL, 'A'},
        {"option", required_argument, NULL, 'O'},
        {"file", required_argument, NULL, 'f'},
        {"count", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    uint64_t ms;
    char *end;
    unsigned long size;
    while ((c = getopt_long(argc, argv, "viqNt:c:A:O:f:P:b:n:d:u:k:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'v': o->verbose = true; break;
        case 'i': o->include = true; break;
        case OPT_RAW: o->raw = true; break;
        case 'P': o->proxy = optarg; break;
        case 'u': o->psk_identity = optarg; break;
        case 'k': o->psk_key = optarg; break;
        case OPT_CERT: o->cert = optarg; break;
        case OPT_KEY: o->key = optarg; break;
        case OPT_CA: o->ca = optarg; break;
        case 'b':
            /* RFC 7959 section 2.2: 2^(SZX+4), SZX 0..6. */
            errno = 0;
            size = strtoul(optarg, &end, 10);
            if (errno || *end || size < 16 || size > 1024 || (size & (size - 1)))
                return usage_error("bad --block-size '%s' (16, 32, 64, 128, 256, 512 or 1024)",
                                   optarg);
            o->block_size = (uint32_t)size;
            break;
        case 'q': o->quiet = true; break;
        case 'N': o->non = true; break;
        case 't':
            if (!parse_seconds(optarg, &ms) || ms == 0 || ms > UINT32_MAX)
                return usage_error("bad --timeout '%s' (seconds)", optarg);
            o->timeout_ms = (uint32_t)ms;
            break;
        case 'c':
            if ((rc = parse_cf(optarg, &o->content_format))) return rc;
            break;
        case 'A':
            if ((rc = parse_cf(optarg, &o->accept))) return rc;
            break;
        case 'O':
            if ((rc = parse_option(o, optarg))) return rc;
            break;
        case 'f': *file = optarg; break;
        case 'n':
            o->count = strtol(optarg, &end, 10);
            if (*end || o->count <= 0) return usage_error("bad --count '%s'", optarg);
            break;
        case 'd':
            if (!parse_seconds(optarg, &o->duration_ms) || o->duration_ms == 0)
                return usage_error("bad --duration '%s' (seconds)", optarg);
            break;
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        case 'V': printf("tern %s\n", tern_version()); return EXIT_OK;
        default: fprintf(stderr, "Try 'tern --help' for more information.\n"); return EXIT_USAGE;
        }
    }
    return -1;
}

/* Step 2: COMMAND URI [PAYLOAD] after the flags. -1 to go on, else the
 * exit status of a usage error. */
static int parse_command(int argc, char **argv, cli_opts *o, const char *file) {
    int rc;
    if (optind >= argc)
        return usage_error("%s", "missing command (get, put, post, delete, fetch, patch, ipatch, "
                                 "observe, discover)");
    o->method_name = argv[optind++];
    bool found = false;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i].name, o->method_name) == 0) {
            o->method = methods[i].code;
            found = true;
        }
    if (!found) return usage_error("unknown command '%s'", o->method_name);
    if (optind >= argc) return usage_error("%s", "missing URI");
    o->uri = argv[optind++];
    bool takes_payload = o->method == TERN_CODE_PUT || o->method == TERN_CODE_POST ||
                         o->method == TERN_CODE_FETCH || o->method == TERN_CODE_PATCH ||
                         o->method == TERN_CODE_IPATCH;
    if (optind < argc) {
        if (!takes_payload) return usage_error("'%s' takes no payload", o->method_name);
        if (file) return usage_error("%s", "both a PAYLOAD argument and --file");
        const char *p = argv[optind++];
        if (strcmp(p, "-") == 0 || p[0] == '@') {
            if ((rc = read_payload(o, p[0] == '@' ? p + 1 : p))) return rc;
        } else {
            o->payload = (const uint8_t *)p;
            o->payload_len = strlen(p);
            o->has_payload = true;
        }
    } else if (file) {
        if (!takes_payload) return usage_error("'%s' takes no payload", o->method_name);
        if ((rc = read_payload(o, file))) return rc;
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if ((o->count || o->duration_ms) && strcmp(o->method_name, "observe") != 0)
        return usage_error("%s", "--count and --duration are for observe");
    if ((o->psk_identity != NULL) != (o->psk_key != NULL) || (o->psk_key && !*o->psk_key))
        return usage_error("%s", "-u IDENTITY and -k KEY go together (a key is not empty)");
    if ((o->cert != NULL) != (o->key != NULL))
        return usage_error("%s", "--cert and --key go together");
    if (strncmp(o->uri, "coaps://", 8) == 0 && !o->psk_key && !o->cert)
        return usage_error("%s", "coaps:// needs credentials: -u IDENTITY -k KEY, or --cert "
                                 "FILE --key FILE");
    return -1;
}

/* RFC 6874 writes an IPv6 zone in a URI as "%25" ("[ff02::fd%25eth0]"),
 * which nobody types; as RFC 6874 section 4 suggests for user interfaces,
 * a bare "%" before a zone name is taken for it ("[ff02::fd%eth0]"). The
 * library's parser stays strict; this is the command line's courtesy.
 * Returns uri, or buf holding the rewritten one. */
static const char *zone_courtesy(const char *uri, char *buf, size_t cap) {
    const char *open = strchr(uri, '['), *close = open ? strchr(open, ']') : NULL;
    const char *pct = open && close ? memchr(open, '%', (size_t)(close - open)) : NULL;
    if (pct == NULL || (pct[1] == '2' && pct[2] == '5')) return uri;
    if ((size_t)snprintf(buf, cap, "%.*s%%25%s", (int)(pct - uri), uri, pct + 1) >= cap) return uri;
    return buf;
}

/* Step 3: a socket on an ephemeral port, tracing the wire with -v (the
 * lines of app_log_trace with a timestamp: output.c), the client's request
 * size set for -b's Block1 blocks, -P's proxy. NULL after saying why, with
 * the exit status in *status. */
static tern_io *open_io(const cli_opts *o, int *status) {
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.port = 0; /* a client: any free port */
    cfg.proxy = o->proxy;
    if (o->verbose) {
        cfg.trace = cli_trace;
        cfg.icmp_trace = app_log_icmp;
        app_log_set_level(APP_LOG_DEBUG);
    }
    static tern_io_dtls_config dtls;
    tern_io_dtls_config_default(&dtls);
    if (o->psk_key || o->cert || o->ca) {
        dtls.psk_identity = o->psk_identity;
        dtls.psk_key = (const uint8_t *)o->psk_key;
        dtls.psk_key_len = o->psk_key ? strlen(o->psk_key) : 0;
        dtls.cert_file = o->cert;
        dtls.key_file = o->key;
        dtls.ca_file = o->ca;
        cfg.dtls = &dtls;
    }
    static tern_client_config client;
    tern_client_config_default(&client);
    client.max_request_size = cli_block1_request_size(o);
    if (client.max_request_size) cfg.client = &client;
    if (o->quiet) app_log_set_level(APP_LOG_ERROR);
    tern_io *io = NULL;
    int rc = tern_io_new(&io, &cfg);
    if (rc == TERN_E_URI && o->proxy) {
        if (!o->quiet)
            fprintf(stderr, "tern: %s: a proxy URI names the proxy only "
                            "(coap://HOST[:PORT], no path or query)\n", o->proxy);
        *status = EXIT_BAD_URI;
        return NULL;
    }
    if (rc == TERN_E_NOTFOUND && o->proxy) {
        *status = cli_fail_uri(o, o->proxy, rc);
        return NULL;
    }
    if (rc < 0) {
        fprintf(stderr, "tern: cannot open a UDP socket: %s\n", tern_strerror(rc));
        *status = EXIT_ERROR;
        return NULL;
    }
    tern_io_catch_signals(io);
    return io;
}

/* Step 4: the command itself (run.c). */
static int run_command(tern_io *io, const cli_opts *o) {
    if (strcmp(o->method_name, "observe") == 0) return cli_observe(io, o);
    if (strcmp(o->method_name, "discover") == 0) return cli_discover(io, o);
    return cli_request(io, o);
}

int main(int argc, char **argv) {
    static cli_opts o; /* large (option values): not on the stack */
    o.content_format = o.accept = -1;
    const char *file = NULL;
    app_log_set_name("tern");
    int rc = parse_flags(argc, argv, &o, &file);
    if (rc < 0) rc = parse_command(argc, argv, &o, file);
    if (rc >= 0) return rc;
    static char uri[4096], proxy[4096];
    o.uri = zone_courtesy(o.uri, uri, sizeof uri);
    if (o.proxy) o.proxy = zone_courtesy(o.proxy, proxy, sizeof proxy);
    tern_io *io = open_io(&o, &rc);
    if (io) rc = run_command(io, &o);
    tern_io_free(io);
    if (o.payload_owned) free((void *)o.payload);
    return rc;
}
