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
#include "plugtest.h"
#include "spec.h"
#include "state_res.h"
#include "store.h"
#include "tern/io.h"
#include "tern/version.h"

#define MAX_STATE_RES 64
#define MAX_GROUPS 8

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
            "  -j, --join GROUP[%%IFACE]  also answer requests to multicast GROUP (RFC 7252\n"
            "                        section 8), e.g. 224.0.1.187 or ff02::fd%%eth0 (All\n"
            "                        CoAP Nodes); repeatable\n"
            "      --plugtest        also serve the resources of the ETSI CoAP plugtests\n"
            "                        (/test, /separate, /large, /obs, /link1, ...)\n"
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

/* What the command line asks for. */
typedef struct server_opts {
    state_spec specs[MAX_STATE_RES]; /* --resource and --config */
    size_t n_specs;
    bool alarm, verbose, plugtest;
    const char *bind_host, *state_dir;
    unsigned long port, max_observers;
    const char *groups[MAX_GROUPS]; /* --join */
    size_t n_groups;
} server_opts;

/* Step 1: the flags. -1 to go on, else the exit status (--help, --version,
 * a usage error). */
static int parse_args(int argc, char **argv, server_opts *o) {
    enum { OPT_NO_ALARM = 256, OPT_MAX_OBSERVERS, OPT_PLUGTEST };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"state-dir", required_argument, NULL, 'd'},
        {"resource", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"no-alarm", no_argument, NULL, OPT_NO_ALARM},
        {"max-observers", required_argument, NULL, OPT_MAX_OBSERVERS},
        {"plugtest", no_argument, NULL, OPT_PLUGTEST},
        {"join", required_argument, NULL, 'j'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    char err[768];
    int c;
    while ((c = getopt_long(argc, argv, "p:b:d:r:c:j:vqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (parse_uint(optarg, 65535, &o->port) < 0) {
                app_log(APP_LOG_ERROR, "bad port \"%s\"", optarg);
                return 2;
            }
            break;
        case 'b': o->bind_host = optarg; break;
        case 'd': o->state_dir = optarg; break;
        case 'r':
            if (o->n_specs == MAX_STATE_RES) {
                app_log(APP_LOG_ERROR, "at most %d resources", MAX_STATE_RES);
                return 2;
            }
            if (spec_parse(optarg, &o->specs[o->n_specs], err, sizeof err) < 0) {
                app_log(APP_LOG_ERROR, "--resource %s", err);
                return 2;
            }
            o->n_specs++;
            break;
        case 'c':
            if (spec_read_file(optarg, o->specs, MAX_STATE_RES, &o->n_specs, err, sizeof err) <
                0) {
                app_log(APP_LOG_ERROR, "%s", err);
                return 2;
            }
            break;
        case OPT_NO_ALARM: o->alarm = false; break;
        case OPT_MAX_OBSERVERS:
            if (parse_uint(optarg, 1u << 20, &o->max_observers) < 0 || o->max_observers == 0) {
                app_log(APP_LOG_ERROR, "bad --max-observers \"%s\"", optarg);
                return 2;
            }
            break;
        case OPT_PLUGTEST: o->plugtest = true; break;
        case 'j':
            if (o->n_groups == MAX_GROUPS) {
                app_log(APP_LOG_ERROR, "at most %d groups", MAX_GROUPS);
                return 2;
            }
            o->groups[o->n_groups++] = optarg;
            break;
        case 'v':
            o->verbose = true;
            app_log_set_level(APP_LOG_DEBUG);
            break;
        case 'q': app_log_set_level(APP_LOG_WARN); break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("tern-server %s\n", tern_version()); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        app_log(APP_LOG_ERROR, "unexpected argument \"%s\" (see --help)", argv[optind]);
        return 2;
    }
    return -1;
}

/* Step 2: the resources to serve, the alarm first (so it is first in
 * discovery too). Their count, or -1 after a usage error. */
static long collect_resources(const server_opts *o, state_res *res) {
    char err[768];
    size_t n = 0;
    if (o->alarm) spec_parse("/alarm=ON,OFF:OFF", &res[n++].spec, err, sizeof err);
    if (n + o->n_specs > MAX_STATE_RES) {
        app_log(APP_LOG_ERROR, "at most %d resources", MAX_STATE_RES);
        return -1;
    }
    for (size_t i = 0; i < o->n_specs; i++) res[n++].spec = o->specs[i];
    if (n == 0 && !o->plugtest) {
        app_log(APP_LOG_ERROR, "no resources to serve (--no-alarm and no --resource)");
        return -1;
    }
    return (long)n;
}

/* Step 3: the tables, sized for a service, not a sensor node. Every
 * observer may have a CON notification in flight at once (state resources
 * notify confirmably), so there is an exchange slot for each, and dedup
 * remembers enough answers to replay them for the retransmissions of a few
 * thousand recent requests (RFC 7252 4.5). About 5 MB in all. */
static void size_tables(const server_opts *o, size_t n_res, tern_server_config *sc,
                        tern_endpoint_config *ec) {
    tern_server_config_default(sc);
    tern_endpoint_config_default(ec);
    sc->max_resources = (uint32_t)n_res + 1; /* and /.well-known/core */
    if (o->max_observers) sc->max_observers = (uint32_t)o->max_observers;
    /* A handful of state resources, usually one: any of them may take every
     * observer the server admits. */
    sc->max_observers_per_resource = sc->max_observers;
    uint32_t n_obs = sc->max_observers;
    ec->max_exchanges = n_obs + 64;
    ec->max_peers = n_obs * 2 > 1024 ? n_obs * 2 : 1024;
    ec->max_pending = 64;
    ec->max_dedup = 4096;
    /* --plugtest: its resources, and request bodies of up to 1 MiB put
     * together from Block1 blocks (4 uploads at once: 4 MiB more). */
    if (o->plugtest) {
        sc->max_resources += PLUGTEST_MAX_RESOURCES;
        sc->max_upload_bytes = PLUGTEST_MAX_UPLOAD;
    }
}

/* RFC 7252 section 8: the multicast groups to answer in, GROUP[%IFACE]. */
static int join_groups(const server_opts *o, tern_io *io) {
    for (size_t i = 0; i < o->n_groups; i++) {
        char group[128];
        snprintf(group, sizeof group, "%s", o->groups[i]);
        char *iface = strchr(group, '%');
        if (iface) *iface++ = '\0';
        int rc = tern_io_join(io, group, iface);
        if (rc < 0) {
            app_log(APP_LOG_ERROR, "--join %s: %s", o->groups[i],
                    rc == TERN_E_INVAL ? "not a multicast address, or no such interface"
                                       : tern_strerror(rc));
            return rc;
        }
        app_log(APP_LOG_INFO, "joined %s", o->groups[i]);
    }
    return 0;
}

/* Step 4: the socket and the resources on it. NULL after logging why. */
static tern_io *open_server(const server_opts *o, state_res *res, size_t n_res, store *st) {
    tern_server_config sc;
    tern_endpoint_config ec;
    size_tables(o, n_res, &sc, &ec);
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = o->bind_host;
    cfg.port = (uint16_t)o->port;
    cfg.server = &sc;
    cfg.endpoint = &ec;
    if (o->verbose) cfg.trace = app_log_trace;
    tern_io *io = NULL;
    int rc = tern_io_new(&io, &cfg);
    if (rc < 0) {
        app_log(APP_LOG_ERROR, "cannot listen on [%s]:%lu: %s", o->bind_host, o->port,
                tern_strerror(rc));
        return NULL;
    }
    tern_server *srv = tern_io_server(io);
    rc = srv ? 0 : TERN_E_NOMEM;
    for (size_t i = 0; i < n_res && rc == 0; i++) rc = state_res_add(srv, &res[i], st);
    if (rc == 0 && o->plugtest) rc = plugtest_add(io);
    if (rc == 0) rc = join_groups(o, io);
    if (rc == 0) rc = tern_io_catch_signals(io);
    if (rc < 0) {
        app_log(APP_LOG_ERROR, "cannot set up the server: %s", tern_strerror(rc));
        tern_io_free(io);
        if (o->plugtest) plugtest_free();
        return NULL;
    }
    return io;
}

int main(int argc, char **argv) {
    app_log_set_name("tern-server");
    static server_opts o = {.alarm = true, .bind_host = "::", .port = 5683};
    static state_res res[MAX_STATE_RES];
    int status = parse_args(argc, argv, &o);
    if (status >= 0) return status;
    long n_res = collect_resources(&o, res);
    if (n_res < 0) return 2;

    char dir[4096];
    if (o.state_dir) snprintf(dir, sizeof dir, "%s", o.state_dir);
    else store_default_dir(dir, sizeof dir);
    store st;
    if (store_open(&st, dir) < 0) {
        app_log(APP_LOG_ERROR, "state directory %s: %s", dir, strerror(errno));
        return 1;
    }
    tern_io *io = open_server(&o, res, (size_t)n_res, &st);
    if (io == NULL) {
        store_close(&st);
        return 1;
    }
    const char *h = o.bind_host;
    app_log(APP_LOG_INFO, "listening on coap://%s%s%s:%u, state in %s", strchr(h, ':') ? "[" : "",
            h, strchr(h, ':') ? "]" : "", (unsigned)tern_io_port(io), dir);
    for (long i = 0; i < n_res; i++)
        app_log(APP_LOG_INFO, "%s = %s (accepted: %s)", res[i].spec.path, res[i].value,
                res[i].accepted);
    int rc = tern_io_run(io);
    app_log(APP_LOG_INFO, "stopping");
    tern_io_free(io);
    if (o.plugtest) plugtest_free();
    store_close(&st);
    return rc < 0 ? 1 : 0;
}
