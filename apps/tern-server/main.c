/* SPDX-License-Identifier: BSD-2-Clause */
/* main.c - tern-server: the tutorial's observable /alarm done right, plus
 * any state resources declared on the command line or in a config file
 * (RFC 7252, RFC 7641 Observe, RFC 6690 discovery).
 *
 * Everything protocol is in the library; this file parses arguments, opens
 * the state directory, adds the resources and runs the loop until SIGINT or
 * SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_log.h"
#include "spec.h"
#include "state_res.h"
#include "store.h"
#include "tern/io.h"

#define MAX_STATE_RES 64

static void usage(FILE *out) {
    fprintf(out,
            "Usage: tern-server [OPTION]...\n"
            "Serve CoAP (RFC 7252) state resources on UDP: by default the observable\n"
            "/alarm, ON or OFF, OFF at first, on port 5683 of every address.\n"
            "\n"
            "  -p, --port N          UDP port (default 5683; 0 picks a free one, logged)\n"
            "  -b, --bind ADDR       address to bind (default \"::\", every IPv6 and IPv4\n"
            "                        address; e.g. 127.0.0.1 or ::1)\n"
            "  -d, --state-dir DIR   where states are kept across restarts (default:\n"
            "                        $STATE_DIRECTORY, else /var/lib/tern-server if it is a\n"
            "                        writable directory, else ./tern-state)\n"
            "  -r, --resource SPEC   add a state resource, SPEC = /PATH=V1,V2[,...][:INITIAL]\n"
            "                        e.g. --resource /door=OPEN,CLOSED:CLOSED (repeatable)\n"
            "  -c, --config FILE     read resources from FILE: one SPEC per line, optionally\n"
            "                        after the word \"resource\"; '#' starts a comment\n"
            "      --no-alarm        do not serve /alarm\n"
            "      --max-observers N observers in total, on one resource or spread\n"
            "                        over several (default 256)\n"
            "  -v, --verbose         print every message in and out, and debug logs\n"
            "  -q, --quiet           log only warnings and errors\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show the version and exit\n"
            "\n"
            "GET /alarm answers ON or OFF (text/plain) and is observable; PUT ON or OFF\n"
            "answers 2.04 with the new state, anything else 4.00. Each state is written\n"
            "to the state directory (temp file, fsync, rename) before the 2.04 is sent.\n"
            "Discovery: GET /.well-known/core. See tern-server(1).\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-') return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    app_log_set_name("tern-server");
    static state_spec specs[MAX_STATE_RES];
    static state_res res[MAX_STATE_RES];
    size_t n_specs = 0;
    bool alarm = true, verbose = false;
    const char *bind_host = "::", *state_dir = NULL;
    unsigned long port = 5683, max_observers = 0;
    char err[768];

    enum { OPT_NO_ALARM = 256, OPT_MAX_OBSERVERS };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"state-dir", required_argument, NULL, 'd'},
        {"resource", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"no-alarm", no_argument, NULL, OPT_NO_ALARM},
        {"max-observers", required_argument, NULL, OPT_MAX_OBSERVERS},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "p:b:d:r:c:vqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (parse_uint(optarg, 65535, &port) < 0) {
                app_log(APP_LOG_ERROR, "bad port \"%s\"", optarg);
                return 2;
            }
            break;
        case 'b': bind_host = optarg; break;
        case 'd': state_dir = optarg; break;
        case 'r':
            if (n_specs == MAX_STATE_RES) {
                app_log(APP_LOG_ERROR, "at most %d resources", MAX_STATE_RES);
                return 2;
            }
            if (spec_parse(optarg, &specs[n_specs], err, sizeof err) < 0) {
                app_log(APP_LOG_ERROR, "--resource %s", err);
                return 2;
            }
            n_specs++;
            break;
        case 'c':
            if (spec_read_file(optarg, specs, MAX_STATE_RES, &n_specs, err, sizeof err) < 0) {
                app_log(APP_LOG_ERROR, "%s", err);
                return 2;
            }
            break;
        case OPT_NO_ALARM: alarm = false; break;
        case OPT_MAX_OBSERVERS:
            if (parse_uint(optarg, 1u << 20, &max_observers) < 0 || max_observers == 0) {
                app_log(APP_LOG_ERROR, "bad --max-observers \"%s\"", optarg);
                return 2;
            }
            break;
        case 'v':
            verbose = true;
            app_log_set_level(APP_LOG_DEBUG);
            break;
        case 'q': app_log_set_level(APP_LOG_WARN); break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("tern-server 0.1.0\n"); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        app_log(APP_LOG_ERROR, "unexpected argument \"%s\" (see --help)", argv[optind]);
        return 2;
    }

    /* The alarm first, so it is first in discovery too. */
    size_t n_res = 0;
    if (alarm) spec_parse("/alarm=ON,OFF:OFF", &res[n_res++].spec, err, sizeof err);
    for (size_t i = 0; i < n_specs; i++) res[n_res++].spec = specs[i];
    if (n_res == 0) {
        app_log(APP_LOG_ERROR, "no resources to serve (--no-alarm and no --resource)");
        return 2;
    }
    if (n_res > MAX_STATE_RES) {
        app_log(APP_LOG_ERROR, "at most %d resources", MAX_STATE_RES);
        return 2;
    }

    char dir[4096];
    if (state_dir) snprintf(dir, sizeof dir, "%s", state_dir);
    else store_default_dir(dir, sizeof dir);
    store st;
    if (store_open(&st, dir) < 0) {
        app_log(APP_LOG_ERROR, "state directory %s: %s", dir, strerror(errno));
        return 1;
    }

    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = bind_host;
    cfg.port = (uint16_t)port;
    cfg.server.max_resources = (uint32_t)n_res + 1; /* and /.well-known/core */
    if (max_observers) cfg.server.max_observers = (uint32_t)max_observers;
    /* A handful of state resources, usually one: any of them may take every
     * observer the server admits. */
    cfg.server.max_observers_per_resource = cfg.server.max_observers;
    /* A service, not a sensor node: size the messaging tables for many
     * peers. Every observer may have a CON notification in flight at once
     * (state resources notify confirmably), so there is an exchange slot
     * for each, and dedup remembers enough answers to replay them for the
     * retransmissions of a few thousand recent requests (RFC 7252 4.5).
     * About 5 MB in all. */
    uint32_t n_obs = cfg.server.max_observers;
    cfg.endpoint.max_exchanges = n_obs + 64;
    cfg.endpoint.max_peers = n_obs * 2 > 1024 ? n_obs * 2 : 1024;
    cfg.endpoint.max_pending = 64;
    cfg.endpoint.max_dedup = 4096;
    if (verbose) cfg.trace = app_log_trace;
    int ioerr = 0;
    tern_io *io = tern_io_new(&cfg, &ioerr);
    if (io == NULL) {
        app_log(APP_LOG_ERROR, "cannot listen on [%s]:%lu: %s", bind_host, port,
                ioerr == TERN_E_SYSTEM ? strerror(errno) : tern_strerror(ioerr));
        store_close(&st);
        return 1;
    }
    tern_server *srv = tern_io_server(io);
    int rc = srv ? 0 : TERN_E_FULL;
    for (size_t i = 0; i < n_res && rc == 0; i++) rc = state_res_add(srv, &res[i], &st);
    if (rc == 0) rc = tern_io_catch_signals(io);
    if (rc < 0) {
        tern_io_free(io);
        store_close(&st);
        return 1;
    }
    app_log(APP_LOG_INFO, "listening on coap://%s%s%s:%u, state in %s",
            strchr(bind_host, ':') ? "[" : "", bind_host, strchr(bind_host, ':') ? "]" : "",
            (unsigned)tern_io_port(io), dir);
    for (size_t i = 0; i < n_res; i++)
        app_log(APP_LOG_INFO, "%s = %s (accepted: %s)", res[i].spec.path, res[i].value,
                res[i].accepted);
    rc = tern_io_run(io);
    app_log(APP_LOG_INFO, "stopping");
    tern_io_free(io);
    store_close(&st);
    return rc < 0 ? 1 : 0;
}
