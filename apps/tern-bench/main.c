/* SPDX-License-Identifier: BSD-2-Clause */
/* main.c - tern-bench, a CoAP (RFC 7252) load generator: options, usage,
 * the server's address, exit status.
 *
 * Two modes: load (a window of requests in flight for a duration or a
 * count: load.c) and Observe fan-out (RFC 7641: N observers, one PUT, the
 * time until all of them heard: observe.c). Modelled on what wrk and h2load
 * users know: a URI, a window, a duration, a report with percentiles. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bench.h"
#include "tern/version.h"

static const char usage_text[] =
    "Usage: tern-bench [OPTIONS] coap://HOST[:PORT]/PATH[?QUERY]\n"
    "       tern-bench --observe N [OPTIONS] coap://HOST[:PORT]/PATH\n"
    "\n"
    "Load a CoAP server with requests and report the rate, the latency\n"
    "percentiles and the answers by response code; or register N observers\n"
    "and measure how long one change takes to reach them all.\n"
    "\n"
    "Load:\n"
    "  -m, --method METHOD      GET (default), PUT, POST, DELETE, FETCH, PATCH, iPATCH\n"
    "  -p, --payload TEXT       the request payload\n"
    "  -f, --file FILE          the request payload, from FILE\n"
    "  -c, --content-format CF  Content-Format of the payload (text, json, cbor, a number)\n"
    "  -N, --non                NON requests (default CON)\n"
    "  -w, --window N           requests in flight, 1..4096 (default 16)\n"
    "  -s, --sockets N          client sockets the window is spread over (default 1)\n"
    "  -d, --duration SECONDS   send new requests for this long (default 5)\n"
    "  -n, --count N            send N requests, then wait for their answers\n"
    "      --timeout MS         a request unanswered after MS milliseconds is a\n"
    "                           timeout (default 5000); CON requests are retransmitted\n"
    "                           meanwhile (RFC 7252 4.2: 2-3 s, doubling, 4 times)\n"
    "      --json               print one JSON object instead of the text report\n"
    "      --gso                send batches of requests as UDP GSO trains (less CPU\n"
    "                           for tern-bench; see tern-bench(1))\n"
    "\n"
    "Observe fan-out:\n"
    "      --observe N          register N observers (CON GET, Observe: 0), then PUT\n"
    "  -t, --tokens T           observers per socket (default 1): N/T sockets\n"
    "      --put-value TEXT     the PUT's payload (default ON; ON and OFF alternate)\n"
    "      --put-port PORT      send the PUT to this port of the same host (another\n"
    "                           node of a tern-server cluster), not the one observed\n"
    "      --spread PORT,...    observers round robin over these ports of the host\n"
    "                           (the nodes of a cluster), not the URI's port\n"
    "      --rounds R           PUTs, one after the other (default 1)\n"
    "      --server-pid PID     report the server's memory per observer (VmRSS)\n"
    "  -w, --window N           registrations in flight (default 16)\n"
    "      --timeout MS         per registration, and per round (default 5000)\n"
    "\n"
    "  -h, --help               show this help\n"
    "  -V, --version            show the version\n"
    "\n"
    "A progress line is shown on stderr each second when stderr is a terminal;\n"
    "the report goes to stdout. Ctrl-C ends the run early with a report; a\n"
    "second one ends it at once.\n"
    "\n"
    "Exit status:\n"
    "  0  the run completed (timeouts, if any, are in the report)\n"
    "  1  nothing answered at all\n"
    "  2  bad usage, or the system refused (sockets, file descriptors, memory)\n"
    "\n"
    "Examples:\n"
    "  tern-bench coap://127.0.0.1/alarm\n"
    "  tern-bench -N -w 256 -s 4 -d 10 --json coap://[::1]/alarm\n"
    "  tern-bench -m PUT -p ON -n 10000 coap://127.0.0.1/alarm\n"
    "  tern-bench --observe 100000 -t 10 --server-pid $(pidof tern-server) coap://127.0.0.1/alarm\n"
    "See tern-bench(1).\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tern-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'tern-bench --help' for more information.\n");
    va_end(ap);
    return BENCH_EXIT_USAGE;
}

/* A whole number in [lo, hi]; false if malformed. */
static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
    uint64_t v;
    if (!parse_u64(s, lo, hi, &v)) return false;
    *out = (uint32_t)v;
    return true;
}

/* Seconds, possibly fractional, into milliseconds. */
static bool parse_seconds(const char *s, uint64_t *ms) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v <= 0 || v > 86400.0 * 365) return false;
    *ms = (uint64_t)(v * 1000.0 + 0.5);
    return *ms > 0;
}

static int parse_method(const char *s, uint8_t *code) {
    static const uint8_t codes[] = {TERN_CODE_GET,   TERN_CODE_POST,  TERN_CODE_PUT,
                                    TERN_CODE_DELETE, TERN_CODE_FETCH, TERN_CODE_PATCH,
                                    TERN_CODE_IPATCH};
    for (size_t i = 0; i < sizeof codes; i++)
        if (strcasecmp(s, bench_method_name(codes[i])) == 0) {
            *code = codes[i];
            return 0;
        }
    return usage_error("unknown method '%s' (GET, PUT, POST, DELETE, FETCH, PATCH, iPATCH)", s);
}

static int read_file(const char *path, bench_opts *o) {
    static uint8_t buf[65507]; /* the largest UDP payload over IPv4 */
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tern-bench: cannot read payload file '%s': %s\n", path, strerror(errno));
        return BENCH_EXIT_USAGE;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    bool err = ferror(f), more = !err && fgetc(f) != EOF;
    if (f != stdin) fclose(f);
    if (err || more) {
        fprintf(stderr, "tern-bench: payload file '%s': %s\n", path,
                err ? "read error" : "larger than a UDP datagram");
        return BENCH_EXIT_USAGE;
    }
    o->payload = buf;
    o->payload_len = n;
    return 0;
}

/* The server's address: URI host and port through getaddrinfo (names,
 * IPv4, IPv6 with a zone). */
static int resolve(bench_opts *o) {
    const tern_uri *u = &o->uri;
    char host[256], port[8];
    snprintf(host, sizeof host, "%.*s", (int)u->host.len, tern_uri_str(u, u->host));
    snprintf(port, sizeof port, "%u", u->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res) {
        fprintf(stderr, "tern-bench: cannot resolve '%s': %s\n", host, gai_strerror(rc));
        return BENCH_EXIT_USAGE;
    }
    memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
    o->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

enum {
    OPT_TIMEOUT = 256,
    OPT_JSON,
    OPT_OBSERVE,
    OPT_PUT_VALUE,
    OPT_ROUNDS,
    OPT_SERVER_PID,
    OPT_PUT_PORT,
    OPT_SPREAD,
    OPT_GSO
};

static int parse_args(int argc, char **argv, bench_opts *o) {
    static const struct option longopts[] = {
        {"method", required_argument, NULL, 'm'},
        {"payload", required_argument, NULL, 'p'},
        {"file", required_argument, NULL, 'f'},
        {"content-format", required_argument, NULL, 'c'},
        {"non", no_argument, NULL, 'N'},
        {"window", required_argument, NULL, 'w'},
        {"sockets", required_argument, NULL, 's'},
        {"duration", required_argument, NULL, 'd'},
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"json", no_argument, NULL, OPT_JSON},
        {"observe", required_argument, NULL, OPT_OBSERVE},
        {"tokens", required_argument, NULL, 't'},
        {"put-value", required_argument, NULL, OPT_PUT_VALUE},
        {"rounds", required_argument, NULL, OPT_ROUNDS},
        {"server-pid", required_argument, NULL, OPT_SERVER_PID},
        {"put-port", required_argument, NULL, OPT_PUT_PORT},
        {"spread", required_argument, NULL, OPT_SPREAD},
        {"gso", no_argument, NULL, OPT_GSO},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL;
    bool load_only = false, observe_only = false, duration_given = false;
    uint64_t v;
    int c, rc;
    while ((c = getopt_long(argc, argv, "m:p:f:c:Nw:s:d:n:t:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if ((rc = parse_method(optarg, &o->method))) return rc;
            load_only = true;
            break;
        case 'p':
            o->payload = (const uint8_t *)optarg;
            o->payload_len = strlen(optarg);
            load_only = true;
            break;
        case 'f':
            file = optarg;
            load_only = true;
            break;
        case 'c': {
            uint16_t cf;
            if (tern_cf_parse(optarg, &cf) < 0)
                return usage_error("unknown content format '%s'", optarg);
            o->content_format = cf;
            break;
        }
        case 'N':
            o->non = true;
            load_only = true;
            break;
        case 'w':
            if (!parse_u32(optarg, 1, BENCH_WINDOW_MAX, &o->window))
                return usage_error("bad --window '%s' (1..%u)", optarg, BENCH_WINDOW_MAX);
            break;
        case 's':
            if (!parse_u32(optarg, 1, BENCH_WINDOW_MAX, &o->sockets))
                return usage_error("bad --sockets '%s' (1..%u)", optarg, BENCH_WINDOW_MAX);
            load_only = true;
            break;
        case 'd':
            if (!parse_seconds(optarg, &o->duration_ms))
                return usage_error("bad --duration '%s' (seconds)", optarg);
            duration_given = load_only = true;
            break;
        case 'n':
            if (!parse_u64(optarg, 1, UINT64_MAX, &o->count))
                return usage_error("bad --count '%s'", optarg);
            load_only = true;
            break;
        case OPT_TIMEOUT:
            if (!parse_u32(optarg, 1, 3600000, &o->timeout_ms))
                return usage_error("bad --timeout '%s' (milliseconds, 1..3600000)", optarg);
            break;
        case OPT_JSON: o->json = true; break;
        case OPT_GSO: o->gso = true; break;
        case OPT_OBSERVE:
            if (!parse_u32(optarg, 1, 10000000, &o->observers))
                return usage_error("bad --observe '%s' (1..10000000)", optarg);
            break;
        case 't':
            if (!parse_u32(optarg, 1, 65536, &o->tokens_per_socket))
                return usage_error("bad --tokens '%s' (1..65536)", optarg);
            observe_only = true;
            break;
        case OPT_PUT_VALUE:
            if (strlen(optarg) > BENCH_VALUE_MAX)
                return usage_error("--put-value longer than %d bytes", BENCH_VALUE_MAX);
            o->put_value = optarg;
            observe_only = true;
            break;
        case OPT_ROUNDS:
            if (!parse_u32(optarg, 1, BENCH_ROUNDS_MAX, &o->rounds))
                return usage_error("bad --rounds '%s' (1..%u)", optarg, BENCH_ROUNDS_MAX);
            observe_only = true;
            break;
        case OPT_SERVER_PID:
            if (!parse_u64(optarg, 1, 0x7FFFFFFF, &v))
                return usage_error("bad --server-pid '%s'", optarg);
            o->server_pid = (long)v;
            observe_only = true;
            break;
        case OPT_PUT_PORT:
            if (!parse_u64(optarg, 1, 65535, &v)) return usage_error("bad --put-port '%s'", optarg);
            o->put_port = (uint16_t)v;
            observe_only = true;
            break;
        case OPT_SPREAD: { /* PORT,PORT,...: the observers' sockets, round robin */
            char *s = optarg, *end;
            o->n_spread = 0;
            while (*s && o->n_spread < sizeof o->spread_ports / sizeof o->spread_ports[0]) {
                unsigned long p = strtoul(s, &end, 10);
                if (end == s || p == 0 || p > 65535 || (*end && *end != ','))
                    return usage_error("bad --spread '%s' (PORT,PORT,...)", optarg);
                o->spread_ports[o->n_spread++] = (uint16_t)p;
                s = *end ? end + 1 : end;
            }
            observe_only = true;
            break;
        }
        case 'h': fputs(usage_text, stdout); return BENCH_EXIT_OK;
        case 'V': printf("tern-bench %s\n", tern_version()); return BENCH_EXIT_OK;
        default:
            fprintf(stderr, "Try 'tern-bench --help' for more information.\n");
            return BENCH_EXIT_USAGE;
        }
    }
    if (optind >= argc) return usage_error("%s", "missing URI");
    o->uri_text = argv[optind++];
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (o->observers && load_only)
        return usage_error("%s", "-m, -p, -f, -N, -s, -d and -n are for load runs, not --observe");
    if (!o->observers && observe_only)
        return usage_error("%s", "-t, --put-value, --put-port, --rounds and --server-pid go with "
                                 "--observe");
    if (file && o->payload) return usage_error("%s", "both -p and -f");
    if (file && (rc = read_file(file, o))) return rc;
    if (o->sockets > o->window)
        return usage_error("more sockets (%u) than requests in flight (%u)", o->sockets, o->window);
    if (o->observers && o->tokens_per_socket > o->observers) o->tokens_per_socket = o->observers;
    /* -n alone runs until the count is done; -d and -n together stop at
     * whichever comes first. */
    if (o->count && !duration_given) o->duration_ms = 0;
    return -1;
}

int main(int argc, char **argv) {
    static bench_opts o;
    o.method = TERN_CODE_GET;
    o.content_format = -1;
    o.window = 16;
    o.sockets = 1;
    o.duration_ms = 5000;
    o.timeout_ms = 5000;
    o.tokens_per_socket = 1;
    o.put_value = "ON";
    o.rounds = 1;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    rc = tern_uri_parse(&o.uri, o.uri_text);
    if (rc < 0) {
        fprintf(stderr, "tern-bench: bad URI '%s': %s\n", o.uri_text, tern_strerror(rc));
        return BENCH_EXIT_USAGE;
    }
    if (o.uri.scheme != TERN_SCHEME_COAP) {
        fprintf(stderr, "tern-bench: %s: only coap:// (CoAP over UDP) is supported\n",
                o.uri_text);
        return BENCH_EXIT_USAGE;
    }
    if ((rc = resolve(&o))) return rc;
    o.progress = isatty(STDERR_FILENO) == 1;
    bench_catch_signals();
    bench_token_salt_init();
    uint64_t hard, soft = bench_raise_nofile(&hard);

    if (o.observers) {
        static bench_observe_stats st;
        if (bench_observe_run(&o, &st) != 0) return BENCH_EXIT_USAGE;
        bench_report_observe(&o, &st);
        free(st.rounds);
        if (st.reg_confirmed + st.reg_plain + st.reg_failed + st.notifications > 0)
            return BENCH_EXIT_OK;
        fprintf(stderr, "tern-bench: nothing answered (%s)\n", o.uri_text);
        return BENCH_EXIT_SILENT;
    }
    if ((uint64_t)o.sockets + 16 > soft) {
        fprintf(stderr, "tern-bench: %u sockets do not fit the file descriptor limit %llu "
                        "(hard limit %llu)\n", o.sockets, (unsigned long long)soft,
                (unsigned long long)hard);
        return BENCH_EXIT_USAGE;
    }
    static bench_load_stats st;
    if (bench_load_run(&o, &st) != 0) return BENCH_EXIT_USAGE;
    bench_report_load(&o, &st);
    if (st.answers + st.rsts > 0) return BENCH_EXIT_OK;
    fprintf(stderr, "tern-bench: nothing answered (%s)\n", o.uri_text);
    return BENCH_EXIT_SILENT;
}
