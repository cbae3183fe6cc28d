/* SPDX-License-Identifier: BSD-2-Clause */
/* main.c - tern-server: the tutorial's observable /alarm done right, plus
 * any state resources declared on the command line or in a config file
 * (RFC 7252, RFC 7641 Observe, RFC 6690 discovery).
 *
 * Everything protocol is in the library; this file parses arguments and
 * the config file, checks the state directory, adds the resources and runs
 * the loop until SIGINT or SIGTERM; SIGHUP re-reads the config file. It
 * tells systemd when it is ready, reloading and stopping (service.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app_log.h"
#include "authz.h"
#include "conf.h"
#include "plugtest.h"
#include "pskfile.h"
#include "service.h"
#include "spec.h"
#include "state_res.h"
#include "tern/io.h"
#include "tern/state_redis.h"
#include "tern/version.h"
#include "workers.h"

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
            "                        writable directory, else ./tern-state); it must be\n"
            "                        writable, or the server does not start\n"
            "  -r, --resource SPEC   add a state resource, SPEC = /PATH=V1,V2[,...][:INITIAL]\n"
            "                        e.g. --resource /door=OPEN,CLOSED:CLOSED (repeatable)\n"
            "  -c, --config FILE     read settings and resources from FILE, one per line:\n"
            "                        \"NAME VALUE\" for every long option here (\"port 5683\",\n"
            "                        \"join ff02::fd%%eth0\", \"plugtest\"), \"resource SPEC\" or\n"
            "                        just SPEC; '#' starts a comment line. The command line\n"
            "                        wins over the file; SIGHUP re-reads it\n"
            "      --no-alarm        do not serve /alarm\n"
            "      --psk-file FILE   serve coaps (DTLS 1.2, RFC 7252 section 9) with the\n"
            "                        pre-shared keys of FILE: \"IDENTITY KEY\" a line (KEY\n"
            "                        text, or hex after 0x); only its owner may read it\n"
            "      --psk-hint TEXT   the PSK identity hint sent to coaps clients (none)\n"
            "      --cert FILE --key FILE  serve coaps with this X.509 certificate (PEM)\n"
            "      --ca FILE         ask coaps clients for a certificate from these CAs\n"
            "      --coaps-port N    the coaps port (default 5684)\n"
            "      --secure-only     serve coaps alone, no plain coap socket\n"
            "      --allow \"METHODS PATH IDENTITY|*\"  who may do what (repeatable; a\n"
            "                        config-file line \"allow PUT /alarm door-sensor-1\"):\n"
            "                        a path with allow lines accepts only what they list\n"
            "                        (4.03 over coaps, 4.01 over coap), discovery too\n"
            "      --cluster redis://HOST[:PORT][/DB]  keep the state resources in Redis,\n"
            "                        shared with the other nodes: a PUT on any node\n"
            "                        notifies the observers of every node\n"
            "      --node NAME       this node's name in the cluster (default: host name)\n"
            "      --max-observers N observers in total, on one resource or spread\n"
            "                        over several (default 100000)\n"
            "      --max-observers-per-peer N     observers one client (address and\n"
            "                        port) may hold (default 64: every state resource)\n"
            "      --max-observers-per-address N  observers one address may hold, all\n"
            "                        ports together (default: half --max-observers)\n"
            "      --liveness SECONDS  an observer idle that long gets a confirmable\n"
            "                        notification; one that does not answer is removed\n"
            "                        (default 120)\n"
            "      --max-age SECONDS   Max-Age on notifications: when a client, not hearing\n"
            "                        from the server that long, registers again (default:\n"
            "                        --liveness plus 60)\n"
            "      --amplification-limit N  answers to an unverified address at most N\n"
            "                        times the request's size (default 3; 0 or off: none)\n"
            "      --notify con|non  state notifications confirmable (default: a lost\n"
            "                        one is resent) or not (a CON now and then)\n"
            "      --workers N       serve on N cores, one process each on the same port\n"
            "                        (default 0: one per core; 1 with --plugtest or --join)\n"
            "  -j, --join GROUP[%%IFACE]  also answer requests to multicast GROUP (RFC 7252\n"
            "                        section 8), e.g. 224.0.1.187 or ff02::fd%%eth0 (All\n"
            "                        CoAP Nodes); repeatable\n"
            "      --plugtest        also serve the resources of the ETSI CoAP plugtests\n"
            "                        (/test, /separate, /large, /obs, /link1, ...)\n"
            "      --log-level LEVEL error, warning, info (default) or debug (debug also\n"
            "                        prints every message in and out)\n"
            "  -v, --verbose         the same as --log-level debug\n"
            "  -q, --quiet           the same as --log-level warning\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show the version and exit\n"
            "\n"
            "GET /alarm answers ON or OFF (text/plain) and is observable; PUT ON or OFF\n"
            "answers 2.04 with the new state, anything else 4.00. Each new state is\n"
            "written to the state directory (temp file, fsync, rename) before the 2.04\n"
            "is sent; a PUT of the state already held writes nothing.\n"
            "Discovery: GET /.well-known/core. See tern-server(1).\n");
}

/* Everything the server is made of; one, static (about 2 MB of
 * declarations: not on the stack). */
typedef struct server {
    conf cli, file, eff; /* the command line's, the file's, in effect */
    const char *config_path;
    char dir[CONF_DIR_MAX];
    tern_state_backend *files; /* the state directory, without --cluster */
    state_res res[CONF_MAX_RESOURCES]; /* in use while .st != NULL */
    tern_io *io;
    int hup_fd;
    psk_table psk; /* --psk-file */
    authz az;      /* the allow lines in effect */
    tern_state_redis *cl; /* --cluster, or NULL; driven by io's loop */
} server;

/* Step 1: the flags, into s->cli. -1 to go on, else the exit status
 * (--help, --version, a usage error). */
static int parse_args(int argc, char **argv, server *s) {
    enum {
        OPT_NO_ALARM = 256,
        OPT_MAX_OBSERVERS,
        OPT_PER_PEER,
        OPT_PER_ADDRESS,
        OPT_LIVENESS,
        OPT_MAX_AGE,
        OPT_AMPLIFICATION,
        OPT_PLUGTEST,
        OPT_LOG_LEVEL,
        OPT_NOTIFY,
        OPT_WORKERS,
        OPT_PSK_FILE,
        OPT_CERT,
        OPT_KEY,
        OPT_CA,
        OPT_COAPS_PORT,
        OPT_SECURE_ONLY,
        OPT_ALLOW,
        OPT_PSK_HINT,
        OPT_CLUSTER,
        OPT_NODE
    };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"state-dir", required_argument, NULL, 'd'},
        {"resource", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"no-alarm", no_argument, NULL, OPT_NO_ALARM},
        {"max-observers", required_argument, NULL, OPT_MAX_OBSERVERS},
        {"max-observers-per-peer", required_argument, NULL, OPT_PER_PEER},
        {"max-observers-per-address", required_argument, NULL, OPT_PER_ADDRESS},
        {"liveness", required_argument, NULL, OPT_LIVENESS},
        {"max-age", required_argument, NULL, OPT_MAX_AGE},
        {"amplification-limit", required_argument, NULL, OPT_AMPLIFICATION},
        {"plugtest", no_argument, NULL, OPT_PLUGTEST},
        {"notify", required_argument, NULL, OPT_NOTIFY},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"psk-file", required_argument, NULL, OPT_PSK_FILE},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"ca", required_argument, NULL, OPT_CA},
        {"coaps-port", required_argument, NULL, OPT_COAPS_PORT},
        {"secure-only", no_argument, NULL, OPT_SECURE_ONLY},
        {"allow", required_argument, NULL, OPT_ALLOW},
        {"psk-hint", required_argument, NULL, OPT_PSK_HINT},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"node", required_argument, NULL, OPT_NODE},
        {"join", required_argument, NULL, 'j'},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    char err[1024];
    int c, idx;
    while ((c = getopt_long(argc, argv, "p:b:d:r:c:j:vqhV", longopts, &idx)) != -1) {
        /* The setting's name in the config file: the long option's. */
        const char *name = NULL, *value = optarg;
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'V': printf("tern-server %s\n", tern_version()); return 0;
        case 'c':
            if (s->config_path) {
                app_log(APP_LOG_ERROR, "--config given twice");
                return 2;
            }
            s->config_path = optarg;
            continue;
        case 'v':
            name = "log-level";
            value = "debug";
            break;
        case 'q':
            name = "log-level";
            value = "warning";
            break;
        case '?': usage(stderr); return 2;
        default:
            for (const struct option *o = longopts; o->name && !name; o++)
                if (o->val == c) name = o->name;
            if (name == NULL) {
                usage(stderr);
                return 2;
            }
        }
        if (conf_set(&s->cli, name, value, err, sizeof err) < 0) {
            app_log(APP_LOG_ERROR, "--%s: %s", name, err);
            return 2;
        }
    }
    if (optind < argc) {
        char a[256];
        app_log(APP_LOG_ERROR, "unexpected argument \"%s\" (see --help)",
                app_log_escs(a, sizeof a, argv[optind]));
        return 2;
    }
    return -1;
}

/* Step 2: the config file under the command line: s->eff. -1 to go on,
 * else the exit status. */
static int read_config(server *s) {
    char err[1024];
    if (s->config_path && conf_read_file(&s->file, s->config_path, err, sizeof err) < 0) {
        app_log(APP_LOG_ERROR, "%s", err);
        return 2;
    }
    conf_merge(&s->eff, &s->file, &s->cli);
    app_log_set_level(s->eff.log_level);
    return -1;
}

/* What the Redis backend has to say, in tern-server's log. */
static void cluster_log(void *ctx, tern_state_redis_level level, const char *msg) {
    (void)ctx;
    static const app_log_level levels[] = {APP_LOG_ERROR, APP_LOG_WARN, APP_LOG_INFO,
                                           APP_LOG_DEBUG};
    app_log(levels[level <= TERN_STATE_REDIS_DEBUG ? level : TERN_STATE_REDIS_DEBUG], "%s", msg);
}

/* Step 2b, --cluster: Redis must answer now, or the node does not start.
 * -1 to go on, else the exit status. */
static int open_cluster(server *s) {
    conf *o = &s->eff;
    if (!o->cluster[0]) return -1;
    if (!o->node[0] && gethostname(o->node, sizeof o->node - 1) < 0)
        snprintf(o->node, sizeof o->node, "node");
    char why[512], u[4 * CONF_BIND_MAX];
    if (tern_state_redis_open(&s->cl, o->cluster, o->node, cluster_log, NULL, why, sizeof why) <
        0) {
        app_log(APP_LOG_ERROR, "--cluster: %s", why);
        return 1;
    }
    state_res_use_backend(tern_state_redis_backend(s->cl), NULL, true);
    app_log(APP_LOG_INFO, "cluster: node %s, state in %s", o->node,
            app_log_escs(u, sizeof u, o->cluster));
    return -1;
}

/* Step 3: the state directory, and the resources to serve with their
 * saved states, the alarm first (so it is first in discovery too). -1 to
 * go on, else the exit status. */
static int collect_resources(server *s) {
    static state_spec specs[CONF_MAX_RESOURCES];
    size_t n;
    char err[1024];
    if (conf_resources(&s->eff, specs, &n, err, sizeof err) < 0) {
        app_log(APP_LOG_ERROR, "%s", err);
        return 2;
    }
    if (n == 0 && !s->eff.plugtest) {
        app_log(APP_LOG_ERROR, "no resources to serve (no-alarm and no resource)");
        return 2;
    }
    if (s->cl == NULL) { /* --cluster: the states are in Redis */
        if (s->eff.state_dir[0]) snprintf(s->dir, sizeof s->dir, "%s", s->eff.state_dir);
        else tern_state_file_default_dir(s->dir, sizeof s->dir);
        if (tern_state_file_open(&s->files, s->dir, err, sizeof err) < 0) {
            app_log(APP_LOG_ERROR,
                    "%s; tern-server keeps every state there and does not start without it", err);
            return 1;
        }
        state_res_use_backend(s->files, s->dir, false);
    }
    /* Every bad state file is reported, then the start refused. */
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (state_res_init(&s->res[i], &specs[i], s->eff.notify_non) < 0) bad++;
    if (bad) {
        tern_state_file_close(s->files);
        s->files = NULL;
        return 1;
    }
    return -1;
}

/* Step 4: the tables, sized for a service, not a sensor node. State
 * resources notify confirmably; a round of notifications keeps up to
 * SERVER_CONS_IN_FLIGHT of them in flight and sends the next as ACKs come
 * back (the library's observe.c), so the exchanges, each with room for a
 * whole datagram, are not one per observer; dedup remembers enough answers
 * to replay them for the retransmissions of a few thousand recent requests
 * (RFC 7252 4.5). Tables are touched only as they fill (src/base/slots.h):
 * a fresh server is a few MB whatever the limits. The resource table has
 * room for every state resource a reload may bring. */
#define SERVER_CONS_IN_FLIGHT 4096u
/* A limit over the server, shared out among n workers (rounded up). */
static uint32_t share(unsigned long limit, unsigned n) {
    return (uint32_t)((limit + n - 1) / n);
}

static void size_tables(const conf *o, tern_server_config *sc, tern_endpoint_config *ec) {
    tern_server_config_default(sc);
    tern_endpoint_config_default(ec);
    /* With workers each holds its share of the observers; a peer always
     * lands on the same worker, so its own limit stays whole. */
    unsigned n = wk_count();
    sc->max_resources = CONF_MAX_RESOURCES + 1; /* and /.well-known/core */
    sc->max_observers = share(o->max_observers, n);
    /* A handful of state resources, usually one: any of them may take every
     * observer the server admits. */
    sc->max_observers_per_resource = sc->max_observers;
    sc->max_observers_per_peer = (uint32_t)o->per_peer;
    sc->max_observers_per_address = share(o->per_address, n);
    sc->notify_con_interval_ms = (uint64_t)o->liveness_s * 1000u;
    sc->notify_max_age_s = (uint32_t)o->max_age_s; /* 0: liveness + 60 */
    sc->amplification_limit = o->amplification; /* 0: the library's default */
    uint32_t n_obs = sc->max_observers;
    ec->max_exchanges = (n_obs < SERVER_CONS_IN_FLIGHT ? n_obs : SERVER_CONS_IN_FLIGHT) + 64;
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
static int join_groups(const conf *o, tern_io *io) {
    for (size_t i = 0; i < o->n_groups; i++) {
        char group[CONF_GROUP_MAX], g[4 * CONF_GROUP_MAX];
        snprintf(group, sizeof group, "%s", o->groups[i]);
        app_log_escs(g, sizeof g, o->groups[i]);
        char *iface = strchr(group, '%');
        if (iface) *iface++ = '\0';
        int rc = tern_io_join(io, group, iface);
        if (rc < 0) {
            app_log(APP_LOG_ERROR, "join %s: %s", g,
                    rc == TERN_E_INVAL ? "not a multicast address, or no such interface"
                                       : tern_strerror(rc));
            return rc;
        }
        app_log(APP_LOG_INFO, "joined %s", g);
    }
    return 0;
}

/* -v and log-level debug: every datagram, whatever the level was at start
 * (a reload may change it). */
static void trace(void *ctx, bool outgoing, const tern_addr *peer, const tern_msg *msg) {
    if (app_log_get_level() >= APP_LOG_DEBUG) app_log_trace(ctx, outgoing, peer, msg);
}

/* coaps: the key of a PSK identity (tern_io_psk_fn). */
static int psk_lookup(void *ctx, const char *identity, uint8_t *key, size_t cap) {
    const server *s = ctx;
    const psk_entry *e = psk_find(&s->psk, identity, strlen(identity));
    if (e == NULL || e->key_len > cap) return -1;
    memcpy(key, e->key, e->key_len);
    return (int)e->key_len;
}

/* The allow lines for a path that has some. */
static uint8_t authorize_lines(const server *s, const tern_addr *peer, uint8_t method,
                               const char *path) {
    bool secure = tern_io_peer_secure(peer);
    char id[AUTHZ_IDENTITY_MAX + 1];
    const char *identity = NULL;
    if (secure && tern_io_peer_identity(s->io, peer, id, sizeof id) > 0) identity = id;
    return authz_allowed(&s->az, method, path, identity) ? 0 : authz_denied_code(secure);
}

/* tern_server_config.authorize: the allow lines, for the identity the peer
 * proved over coaps (none over plain coap). Without lines it costs a test
 * per request (it runs for every one). */
static uint8_t authorize(void *ctx, const tern_addr *peer, uint8_t method, const char *path) {
    const server *s = ctx;
    if (s->az.n == 0 || !authz_has_rules(&s->az, path)) return 0;
    return authorize_lines(s, peer, method, path);
}

/* The allow lines of c into s->az: 0, or -1 (they were checked when read,
 * so only a table overflow fails here). */
static int build_authz(server *s, const conf *c) {
    static authz az;
    memset(&az, 0, sizeof az);
    char err[512];
    for (size_t i = 0; i < c->n_allow; i++) {
        if (authz_add_line(&az, c->allow[i], err, sizeof err) < 0) {
            app_log(APP_LOG_ERROR, "allow %s: %s", c->allow[i], err);
            return -1;
        }
    }
    s->az = az;
    return 0;
}

/* Step 4b: coaps credentials, refused unless only their owner can read
 * them (as ssh refuses a private key). Nothing of a key is ever logged.
 * -1 to go on, else the exit status. */
static int load_credentials(server *s) {
    const conf *o = &s->eff;
    char err[1024];
    if (build_authz(s, o) < 0) return 2;
    if (!conf_coaps(o)) {
        if (o->secure_only || o->ca[0] || o->key[0]) {
            app_log(APP_LOG_ERROR, "coaps needs --psk-file or --cert and --key");
            return 2;
        }
        return -1;
    }
    if (o->psk_file[0] && psk_load(&s->psk, o->psk_file, err, sizeof err) < 0) {
        app_log(APP_LOG_ERROR, "%s", err);
        return 2;
    }
    if ((o->cert[0] != 0) != (o->key[0] != 0)) {
        app_log(APP_LOG_ERROR, "--cert and --key go together");
        return 2;
    }
    if (o->key[0] && key_file_private(o->key, err, sizeof err) < 0) {
        app_log(APP_LOG_ERROR, "%s", err);
        return 2;
    }
    return -1;
}

/* Step 5: the socket and the resources on it. NULL after logging why. */
static tern_io *open_server(server *s) {
    const conf *o = &s->eff;
    tern_server_config sc;
    tern_endpoint_config ec;
    size_tables(o, &sc, &ec);
    /* With allow lines, or a config file whose reload may bring some; not
     * otherwise (a call per request). */
    if (s->az.n || s->config_path) {
        sc.authorize = authorize;
        sc.authorize_ctx = s;
    }
    tern_io_dtls_config dc;
    tern_io_dtls_config_default(&dc);
    dc.server = true;
    dc.port = (uint16_t)o->coaps_port;
    dc.secure_only = o->secure_only;
    if (s->psk.n) {
        dc.psk_lookup = psk_lookup;
        dc.psk_ctx = s;
        dc.psk_identity_hint = o->psk_hint[0] ? o->psk_hint : NULL;
    }
    dc.cert_file = o->cert[0] ? o->cert : NULL;
    dc.key_file = o->key[0] ? o->key : NULL;
    dc.ca_file = o->ca[0] ? o->ca : NULL;
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.dtls = conf_coaps(o) ? &dc : NULL;
    cfg.bind_host = o->bind_host;
    cfg.port = (uint16_t)o->port;
    cfg.server = &sc;
    cfg.endpoint = &ec;
    /* Only at debug level: tracing parses every datagram sent again. */
    cfg.trace = o->log_level >= APP_LOG_DEBUG ? trace : NULL;
    cfg.icmp_trace = app_log_icmp; /* RFC 8085 5.2: each one, at debug level */
    cfg.reuse_port = wk_active(); /* workers.h: one socket each, the same port */
    /* An IPv4 broadcast reaches every socket on the port: the first worker
     * answers it (there are no groups to join with workers: n_workers). */
    cfg.no_group_requests = wk_self() > 0;
    tern_io *io = NULL;
    int rc = tern_io_new(&io, &cfg);
    if (rc < 0) {
        char h[CONF_BIND_MAX * 4];
        app_log(APP_LOG_ERROR, "cannot listen on [%s]:%lu%s: %s",
                app_log_escs(h, sizeof h, o->bind_host), o->port,
                conf_coaps(o) ? " and its coaps port" : "", tern_strerror(rc));
        return NULL;
    }
    /* A burst of requests, or of acknowledgements from many observers,
     * waits in the socket's buffer: too small, and the kernel drops it. */
    uint32_t buffer = tern_io_socket_buffer(io);
    if (buffer && buffer < (4u << 20))
        app_log(APP_LOG_WARN,
                "the kernel granted a socket buffer of %u KiB, not the 4096 asked: bursts may "
                "be dropped; raise net.core.rmem_max and wmem_max (sysctl) to 4194304",
                (unsigned)(buffer >> 10));
    tern_server *srv = tern_io_server(io);
    rc = srv ? 0 : TERN_E_NOMEM;
    for (size_t i = 0; i < CONF_MAX_RESOURCES && rc == 0; i++)
        if (s->res[i].st) rc = state_res_add(srv, &s->res[i]);
    if (rc == 0 && o->plugtest) rc = plugtest_add(io);
    if (rc == 0) rc = join_groups(o, io);
    if (rc == 0 && s->cl) rc = tern_state_redis_attach(s->cl, io);
    if (rc == 0) rc = tern_io_catch_signals(io);
    if (rc < 0) {
        app_log(APP_LOG_ERROR, "cannot set up the server: %s", tern_strerror(rc));
        tern_io_free(io);
        if (o->plugtest) plugtest_free();
        return NULL;
    }
    return io;
}

static size_t n_served(const server *s) {
    size_t n = 0;
    for (size_t i = 0; i < CONF_MAX_RESOURCES; i++) n += state_res_served(&s->res[i]);
    return n;
}

static void log_limits(const conf *o) {
    char amp[32];
    if (o->amplification == TERN_AMPLIFICATION_UNLIMITED) snprintf(amp, sizeof amp, "off");
    else if (o->amplification == 0) snprintf(amp, sizeof amp, "the default (3)");
    else snprintf(amp, sizeof amp, "%u", (unsigned)o->amplification);
    app_log(APP_LOG_INFO,
            "observers: at most %lu, %lu per peer, %lu per address; liveness check after %lu s "
            "idle (Max-Age %lu s); amplification limit %s",
            o->max_observers, o->per_peer, o->per_address, o->liveness_s,
            o->max_age_s ? o->max_age_s : o->liveness_s + 60, amp);
}

/* ---- SIGHUP --------------------------------------------------------------- */

static unsigned long long monotonic_usec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u;
}

static state_res *find_served(server *s, const char *path) {
    for (size_t i = 0; i < CONF_MAX_RESOURCES; i++)
        if (state_res_served(&s->res[i]) && strcmp(s->res[i].spec.path, path) == 0)
            return &s->res[i];
    return NULL;
}

/* Re-read the config file. Resources that appeared are added, those that
 * disappeared removed (their observers get 4.04), those unchanged keep
 * their state and observers untouched, those whose values changed are
 * updated in place; the log level follows the file. Settings bound at
 * start (port, bind, state directory, limits, groups, plugtest) are
 * logged as needing a restart. A file with an error, or a new resource
 * with a bad state file, changes nothing. */
static void reload_config(server *s) {
    static conf nf, ne;
    static state_spec want[CONF_MAX_RESOURCES];
    char err[1024], f[1024];
    size_t n_want = 0, added = 0, removed = 0, updated = 0;
    if (s->config_path == NULL) {
        app_log(APP_LOG_WARN, "SIGHUP: no --config file to re-read; nothing changed");
        return;
    }
    app_log(APP_LOG_INFO, "SIGHUP: re-reading %s", app_log_escs(f, sizeof f, s->config_path));
    memset(&nf, 0, sizeof nf);
    if (conf_read_file(&nf, s->config_path, err, sizeof err) < 0) {
        app_log(APP_LOG_ERROR, "reload: %s; nothing changed", err);
        return;
    }
    conf_merge(&ne, &nf, &s->cli);
    if (conf_resources(&ne, want, &n_want, err, sizeof err) < 0) {
        app_log(APP_LOG_ERROR, "reload: %s; nothing changed", err);
        return;
    }
    /* New resources first, each made in an entry not in use (where it
     * stays: its state's ctx points there); a bad state file stops it all.
     * Entries in use and not served cannot be: removal frees them. */
    size_t fresh[CONF_MAX_RESOURCES]; /* want[i]'s entry, or SIZE_MAX */
    int bad = 0;
    for (size_t i = 0; i < n_want; i++) {
        fresh[i] = SIZE_MAX;
        if (find_served(s, want[i].path)) continue;
        size_t k = 0;
        while (k < CONF_MAX_RESOURCES && s->res[k].st) k++;
        if (k == CONF_MAX_RESOURCES) break; /* cannot be: at most that many wanted */
        if (state_res_init(&s->res[k], &want[i], s->eff.notify_non) < 0) bad++;
        else fresh[i] = k;
    }
    if (bad) {
        for (size_t i = 0; i < n_want; i++)
            if (fresh[i] != SIZE_MAX) state_res_free(&s->res[fresh[i]]);
        app_log(APP_LOG_ERROR, "reload: a new resource's state file is refused; nothing changed");
        return;
    }
    tern_server *srv = tern_io_server(s->io);
    uint64_t now = tern_io_now();
    for (size_t i = 0; i < CONF_MAX_RESOURCES; i++) {
        state_res *sr = &s->res[i];
        if (!state_res_served(sr)) continue;
        size_t j = 0;
        while (j < n_want && strcmp(want[j].path, sr->spec.path) != 0) j++;
        if (j < n_want) continue;
        unsigned n_obs = tern_resource_observer_count(tern_state_resource(sr->st));
        state_res_remove(sr, now);
        app_log(APP_LOG_INFO, "%s removed (%u observer%s told 4.04; its state file stays)",
                sr->spec.path, n_obs, n_obs == 1 ? "" : "s");
        state_res_free(sr);
        removed++;
    }
    for (size_t i = 0; i < n_want; i++) {
        if (fresh[i] == SIZE_MAX) {
            state_res *sr = find_served(s, want[i].path);
            if (sr && !state_spec_same_values(&sr->spec, &want[i]) &&
                state_res_update(sr, &want[i]) == 0)
                updated++;
            continue;
        }
        state_res *sr = &s->res[fresh[i]];
        if (state_res_add(srv, sr) == 0) {
            app_log(APP_LOG_INFO, "%s added: %s (accepted: %s)", sr->spec.path,
                    tern_state_value(sr->st), tern_state_accepted(sr->st));
            added++;
        } else {
            state_res_free(sr);
        }
    }
    /* What a reload can change, changed; the rest waits for a restart. */
    if (ne.log_level != s->eff.log_level) {
        app_log_set_level(ne.log_level);
        tern_io_set_trace(s->io, ne.log_level >= APP_LOG_DEBUG ? trace : NULL, NULL);
        app_log(APP_LOG_INFO, "log level now %s", app_log_level_name(ne.log_level));
    }
    /* allow lines: the new table (each line was checked when read) */
    if (ne.n_allow != s->eff.n_allow ||
        memcmp(ne.allow, s->eff.allow, sizeof ne.allow[0] * ne.n_allow) != 0) {
        if (build_authz(s, &ne) == 0) {
            memcpy(s->eff.allow, ne.allow, sizeof ne.allow);
            s->eff.n_allow = ne.n_allow;
            app_log(APP_LOG_INFO, "allow rules now %zu", s->az.n);
        }
    }
    s->eff.log_level = ne.log_level;
    s->eff.no_alarm = ne.no_alarm;
    memcpy(s->eff.specs, ne.specs, sizeof ne.specs);
    s->eff.n_specs = ne.n_specs;
    static const enum conf_key bound[] = {
        CONF_PORT,     CONF_BIND,        CONF_STATE_DIR, CONF_MAX_OBSERVERS, CONF_PER_PEER,
        CONF_PER_ADDRESS, CONF_LIVENESS, CONF_MAX_AGE, CONF_AMPLIFICATION, CONF_PLUGTEST, CONF_NOTIFY,
        CONF_WORKERS, CONF_PSK_FILE, CONF_CERT, CONF_KEY, CONF_CA, CONF_COAPS_PORT,
        CONF_SECURE_ONLY, CONF_PSK_HINT, CONF_CLUSTER, CONF_NODE};
    for (size_t i = 0; i < sizeof bound / sizeof bound[0]; i++) {
        /* A per-peer or per-address limit given nowhere follows
         * max-observers, whose change is reported already. */
        bool derived = (bound[i] == CONF_PER_PEER || bound[i] == CONF_PER_ADDRESS) &&
                       !((s->eff.given | ne.given) & (1u << bound[i]));
        if (!derived && conf_differs(&s->eff, &ne, bound[i]))
            app_log(APP_LOG_WARN, "reload: %s changed; it takes effect at the next restart",
                    conf_key_name(bound[i]));
    }
    if (conf_groups_differ(&s->eff, &ne))
        app_log(APP_LOG_WARN, "reload: join changed; it takes effect at the next restart");
    app_log(APP_LOG_INFO, "reload done: %zu resources (%zu added, %zu removed, %zu updated)",
            n_served(s), added, removed, updated);
}

/* svc_run's on_hup: systemd is told of the reload around it; the first
 * worker passes it on to the others, which each reload themselves. */
static void reload(void *ctx) {
    server *s = ctx;
    wk_signal_all(SIGHUP);
    svc_notify("RELOADING=1\nMONOTONIC_USEC=%llu", monotonic_usec());
    reload_config(s);
    svc_notify("READY=1\nSTATUS=serving %zu state resource%s on port %u", n_served(s),
               n_served(s) == 1 ? "" : "s", (unsigned)tern_io_port(s->io));
}

/* svc_run's on_wake: another worker changed a state. */
static void take_changes(void *ctx) {
    server *s = ctx;
    wk_drain();
    for (size_t i = 0; i < CONF_MAX_RESOURCES; i++)
        if (state_res_served(&s->res[i])) state_res_sync(&s->res[i]);
}

/* How many workers: --workers, one per core when 0; one for --plugtest
 * (its resources keep their state in each process) and with groups to
 * join (every socket on the port gets a copy of a group request, and the
 * kernel's choice of which sockets do is no contract to build on). */
static unsigned n_workers(const conf *o) {
    if (o->plugtest || o->n_groups || o->cluster[0]) return 1;
    if (o->workers) return (unsigned)o->workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > WK_MAX ? WK_MAX : (unsigned)n;
}

int main(int argc, char **argv) {
    app_log_set_name("tern-server");
    app_log_service_mode();
    static server s;
    s.hup_fd = svc_catch_hup();
    if (s.hup_fd < 0) {
        app_log(APP_LOG_ERROR, "cannot catch SIGHUP: %s", strerror(errno));
        return 1;
    }
    int status = parse_args(argc, argv, &s);
    if (status < 0) status = read_config(&s);
    if (status < 0) status = open_cluster(&s);
    if (status < 0) status = collect_resources(&s);
    if (status < 0) status = load_credentials(&s);
    if (status < 0 && s.cl) tern_state_redis_start(s.cl);
    if (status >= 0) return status;
    unsigned workers = n_workers(&s.eff);
    if (wk_setup(workers) < 0) return 1;
    s.io = open_server(&s);
    if (s.io == NULL) {
        tern_state_file_close(s.files);
        return 1;
    }
    if (wk_active()) {
        /* The others bind the port the first one got (port 0: the
         * kernel's pick) and serve the same resources. */
        s.eff.port = tern_io_port(s.io);
        int w = wk_fork();
        if (w < 0) return 1;
        if (w > 0) {
            static char name[32];
            snprintf(name, sizeof name, "tern-server/%d", w);
            app_log_set_name(name);
            unsetenv("NOTIFY_SOCKET"); /* systemd hears from the first only */
            tern_io_free(s.io); /* the first one's, copied by fork */
            s.io = open_server(&s);
            if (s.io == NULL) _exit(1);
            wk_ready();
            int rc = svc_run(s.io, s.hup_fd, reload, wk_wake_fd(), take_changes, &s);
            tern_io_free(s.io);
            _exit(rc < 0 ? 1 : 0);
        }
    }
    char h[4 * CONF_BIND_MAX], d[1024];
    app_log_escs(h, sizeof h, s.eff.bind_host);
    const char *lb = strchr(h, ':') ? "[" : "", *rb = strchr(h, ':') ? "]" : "";
    char where[1100];
    if (s.cl) snprintf(where, sizeof where, "Redis (--cluster)");
    else snprintf(where, sizeof where, "\"%s\"", app_log_escs(d, sizeof d, s.dir));
    if (!s.eff.secure_only)
        app_log(APP_LOG_INFO, "listening on coap://%s%s%s:%u, state in %s", lb, h, rb,
                (unsigned)tern_io_port(s.io), where);
    if (conf_coaps(&s.eff))
        app_log(APP_LOG_INFO, "listening on coaps://%s%s%s:%u (DTLS 1.2; %zu PSK identit%s%s%s)%s",
                lb, h, rb, (unsigned)tern_io_coaps_port(s.io), s.psk.n, s.psk.n == 1 ? "y" : "ies",
                s.eff.cert[0] ? ", a certificate" : "",
                s.eff.ca[0] ? ", client certificates asked for" : "",
                s.eff.secure_only ? ", coaps only" : "");
    if (s.az.n)
        app_log(APP_LOG_INFO, "%zu allow rule%s: paths with rules accept only what they list",
                s.az.n, s.az.n == 1 ? "" : "s");
    if (s.config_path) {
        char f[1024];
        app_log(APP_LOG_INFO, "settings from %s (SIGHUP re-reads it)",
                app_log_escs(f, sizeof f, s.config_path));
    }
    for (size_t i = 0; i < CONF_MAX_RESOURCES; i++)
        if (state_res_served(&s.res[i]))
            app_log(APP_LOG_INFO, "%s = %s (accepted: %s)", s.res[i].spec.path,
                    tern_state_value(s.res[i].st), tern_state_accepted(s.res[i].st));
    log_limits(&s.eff);
    if (wk_active())
        app_log(APP_LOG_INFO, "%u workers, each a process with its own socket on the port",
                wk_count());
    svc_notify("READY=1\nSTATUS=serving %zu state resource%s on port %u", n_served(&s),
               n_served(&s) == 1 ? "" : "s", (unsigned)tern_io_port(s.io));
    int rc = svc_run(s.io, s.hup_fd, reload, wk_wake_fd(), take_changes, &s);
    svc_notify("STOPPING=1");
    wk_signal_all(SIGTERM);
    wk_reap();
    if (rc < 0) app_log(APP_LOG_ERROR, "the loop failed: %s", tern_strerror(rc));
    app_log(APP_LOG_INFO, "stopping");
    tern_io_free(s.io);
    if (s.eff.plugtest) plugtest_free();
    for (size_t i = 0; i < CONF_MAX_RESOURCES; i++) state_res_free(&s.res[i]);
    tern_state_file_close(s.files);
    psk_free(&s.psk);
    tern_state_redis_close(s.cl);
    return rc < 0 ? 1 : 0;
}
