/* SPDX-License-Identifier: BSD-2-Clause */
/* conf.c - tern-server's settings (see conf.h). Strict like spec.c: an
 * unknown name or a bad value stops the start (or a reload) with the line
 * that holds it. */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authz.h"
#include "tern/server.h"
#include "workers.h"

static const char *const key_names[CONF_N_KEYS] = {
    [CONF_PORT] = "port",
    [CONF_BIND] = "bind",
    [CONF_STATE_DIR] = "state-dir",
    [CONF_MAX_OBSERVERS] = "max-observers",
    [CONF_PER_PEER] = "max-observers-per-peer",
    [CONF_PER_ADDRESS] = "max-observers-per-address",
    [CONF_LIVENESS] = "liveness",
    [CONF_MAX_AGE] = "max-age",
    [CONF_AMPLIFICATION] = "amplification-limit",
    [CONF_LOG_LEVEL] = "log-level",
    [CONF_PLUGTEST] = "plugtest",
    [CONF_NO_ALARM] = "no-alarm",
    [CONF_NOTIFY] = "notify",
    [CONF_WORKERS] = "workers",
    [CONF_PSK_FILE] = "psk-file",
    [CONF_CERT] = "cert",
    [CONF_KEY] = "key",
    [CONF_CA] = "ca",
    [CONF_COAPS_PORT] = "coaps-port",
    [CONF_SECURE_ONLY] = "secure-only",
    [CONF_PSK_HINT] = "psk-hint",
    [CONF_CLUSTER] = "cluster",
    [CONF_NODE] = "node",
};

const char *conf_key_name(enum conf_key key) {
    return (unsigned)key < CONF_N_KEYS ? key_names[key] : "?";
}

/* Table sizes the library takes (tern_server_new refuses more). */
#define TABLE_MAX (1ul << 20)
/* Liveness: at least 5 s (a CON must have time to be answered), at most a
 * day. */
#define LIVENESS_MIN_S 5ul
#define LIVENESS_MAX_S 86400ul
#define AMPLIFICATION_MAX 1000ul

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out) {
    char *end;
    if (s == NULL || *s < '0' || *s > '9') return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out) {
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    if (s == NULL || *s == '\0') {
        *out = true;
        return 0;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int bad_value(const char *name, const char *value, const char *want, char *err, size_t cap) {
    char v[256];
    if (value == NULL) snprintf(err, cap, "%s needs a value (%s)", name, want);
    else snprintf(err, cap, "bad %s \"%s\" (%s)", name, app_log_escs(v, sizeof v, value), want);
    return -1;
}

static int set_string(char *dst, size_t dcap, const char *name, const char *value, char *err,
                      size_t cap) {
    if (value == NULL || *value == '\0') return bad_value(name, value, "not empty", err, cap);
    if (strlen(value) >= dcap) return bad_value(name, value, "too long", err, cap);
    snprintf(dst, dcap, "%s", value);
    return 0;
}

int conf_set(conf *c, const char *name, const char *value, char *err, size_t cap) {
    char range[64];
    if (strcmp(name, "resource") == 0) {
        if (value == NULL) return bad_value(name, value, "/PATH=V1,V2[:INITIAL]", err, cap);
        if (c->n_specs == CONF_MAX_RESOURCES) {
            snprintf(err, cap, "at most %d resources", CONF_MAX_RESOURCES);
            return -1;
        }
        if (spec_parse(value, &c->specs[c->n_specs], err, cap) < 0) return -1;
        c->n_specs++;
        return 0;
    }
    if (strcmp(name, "join") == 0) {
        if (c->n_groups == CONF_MAX_GROUPS) {
            snprintf(err, cap, "at most %d groups to join", CONF_MAX_GROUPS);
            return -1;
        }
        if (set_string(c->groups[c->n_groups], CONF_GROUP_MAX, name, value, err, cap) < 0)
            return -1;
        c->n_groups++;
        return 0;
    }
    if (strcmp(name, "allow") == 0) {
        /* Checked now, so that a bad line is reported with its line
         * number; main.c builds the table from the lines kept. */
        static authz scratch;
        memset(&scratch, 0, sizeof scratch);
        if (c->n_allow == CONF_MAX_ALLOW) {
            snprintf(err, cap, "at most %d allow lines", CONF_MAX_ALLOW);
            return -1;
        }
        if (value == NULL || strlen(value) >= CONF_ALLOW_MAX) {
            snprintf(err, cap, "allow METHOD[,METHOD...] PATH IDENTITY|* (at most %d bytes)",
                     CONF_ALLOW_MAX - 1);
            return -1;
        }
        if (authz_add_line(&scratch, value, err, cap) < 0) return -1;
        snprintf(c->allow[c->n_allow++], CONF_ALLOW_MAX, "%s", value);
        return 0;
    }
    int key = 0;
    while (key < CONF_N_KEYS && strcmp(name, key_names[key]) != 0) key++;
    if (key == CONF_N_KEYS) {
        char n[128];
        snprintf(err, cap, "unknown setting \"%s\"", app_log_escs(n, sizeof n, name));
        return -1;
    }
    int rc = 0;
    switch ((enum conf_key)key) {
    case CONF_PORT:
        if (parse_uint(value, 0, 65535, &c->port) < 0)
            rc = bad_value(name, value, "0 to 65535", err, cap);
        break;
    case CONF_BIND:
        rc = set_string(c->bind_host, sizeof c->bind_host, name, value, err, cap);
        break;
    case CONF_STATE_DIR:
        rc = set_string(c->state_dir, sizeof c->state_dir, name, value, err, cap);
        break;
    case CONF_MAX_OBSERVERS:
    case CONF_PER_PEER:
    case CONF_PER_ADDRESS: {
        unsigned long *f = key == CONF_MAX_OBSERVERS ? &c->max_observers
                           : key == CONF_PER_PEER    ? &c->per_peer
                                                     : &c->per_address;
        snprintf(range, sizeof range, "1 to %lu", TABLE_MAX);
        if (parse_uint(value, 1, TABLE_MAX, f) < 0) rc = bad_value(name, value, range, err, cap);
        break;
    }
    case CONF_LIVENESS:
        snprintf(range, sizeof range, "seconds, %lu to %lu", LIVENESS_MIN_S, LIVENESS_MAX_S);
        if (parse_uint(value, LIVENESS_MIN_S, LIVENESS_MAX_S, &c->liveness_s) < 0)
            rc = bad_value(name, value, range, err, cap);
        break;
    case CONF_MAX_AGE:
        snprintf(range, sizeof range, "seconds, 1 to %lu", LIVENESS_MAX_S + 60);
        if (parse_uint(value, 1, LIVENESS_MAX_S + 60, &c->max_age_s) < 0)
            rc = bad_value(name, value, range, err, cap);
        break;
    case CONF_AMPLIFICATION: {
        unsigned long v;
        snprintf(range, sizeof range, "1 to %lu, or 0 or \"off\" for no limit", AMPLIFICATION_MAX);
        if (value && strcmp(value, "off") == 0) c->amplification = TERN_AMPLIFICATION_UNLIMITED;
        else if (parse_uint(value, 0, AMPLIFICATION_MAX, &v) < 0)
            rc = bad_value(name, value, range, err, cap);
        else c->amplification = v == 0 ? TERN_AMPLIFICATION_UNLIMITED : (uint32_t)v;
        break;
    }
    case CONF_LOG_LEVEL:
        if (value == NULL || app_log_parse_level(value, &c->log_level) < 0)
            rc = bad_value(name, value, "error, warning, info or debug", err, cap);
        break;
    case CONF_PLUGTEST:
    case CONF_NO_ALARM:
        if (parse_bool(value, key == CONF_PLUGTEST ? &c->plugtest : &c->no_alarm) < 0)
            rc = bad_value(name, value, "yes or no, or nothing for yes", err, cap);
        break;
    case CONF_NOTIFY:
        if (value && strcmp(value, "con") == 0) c->notify_non = false;
        else if (value && strcmp(value, "non") == 0) c->notify_non = true;
        else rc = bad_value(name, value, "con or non", err, cap);
        break;
    case CONF_WORKERS:
        if (parse_uint(value, 0, WK_MAX, &c->workers) < 0)
            rc = bad_value(name, value, "0 (one per core) to 64", err, cap);
        break;
    case CONF_PSK_FILE:
        rc = set_string(c->psk_file, sizeof c->psk_file, name, value, err, cap);
        break;
    case CONF_CERT: rc = set_string(c->cert, sizeof c->cert, name, value, err, cap); break;
    case CONF_KEY: rc = set_string(c->key, sizeof c->key, name, value, err, cap); break;
    case CONF_CA: rc = set_string(c->ca, sizeof c->ca, name, value, err, cap); break;
    case CONF_COAPS_PORT:
        if (parse_uint(value, 0, 65535, &c->coaps_port) < 0)
            rc = bad_value(name, value, "0 to 65535", err, cap);
        break;
    case CONF_SECURE_ONLY:
        if (parse_bool(value, &c->secure_only) < 0)
            rc = bad_value(name, value, "yes or no, or nothing for yes", err, cap);
        break;
    case CONF_PSK_HINT:
        rc = set_string(c->psk_hint, sizeof c->psk_hint, name, value, err, cap);
        break;
    case CONF_CLUSTER: rc = set_string(c->cluster, sizeof c->cluster, name, value, err, cap); break;
    case CONF_NODE: rc = set_string(c->node, sizeof c->node, name, value, err, cap); break;
    case CONF_N_KEYS: break;
    }
    if (rc == 0) c->given |= 1u << key;
    return rc;
}

/* Open without blocking (a FIFO named by mistake would hang the start) and
 * insist on a regular file. */
static FILE *open_regular(const char *file, char *err, size_t cap) {
    char f[1024];
    app_log_escs(f, sizeof f, file);
    int fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, cap, "%s: %s", f, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, cap, "%s: not a regular file", f);
        close(fd);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "r");
    if (fp == NULL) {
        snprintf(err, cap, "%s: %s", f, strerror(errno));
        close(fd);
    }
    return fp;
}

static bool blank(char c) { return c == ' ' || c == '\t'; }

int conf_read_file(conf *c, const char *file, char *err, size_t cap) {
    FILE *fp = open_regular(file, err, cap);
    if (fp == NULL) return -1;
    char f[1024];
    app_log_escs(f, sizeof f, file);
    char line[1024], why[768];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, fp)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(fp)) {
            snprintf(err, cap, "%s:%d: line too long (at most %zu characters)", f, lineno,
                     sizeof line - 2);
            rc = -1;
            break;
        }
        char *s = line;
        while (blank(*s)) s++;
        len = strlen(s);
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || blank(s[len - 1])))
            s[--len] = '\0';
        if (*s == '\0' || *s == '#') continue;
        const char *name = "resource", *value = s;
        if (*s != '/') {
            /* NAME, NAME VALUE, NAME=VALUE, NAME = VALUE */
            char *p = s;
            while (*p && !blank(*p) && *p != '=') p++;
            char sep = *p;
            *p = '\0';
            name = s;
            value = NULL;
            if (sep) {
                p++;
                while (blank(*p)) p++;
                if (sep != '=' && *p == '=') {
                    p++;
                    while (blank(*p)) p++;
                }
                value = *p ? p : NULL;
            }
        }
        if (strcmp(name, "config") == 0) {
            snprintf(err, cap, "%s:%d: a config file cannot name another", f, lineno);
            rc = -1;
        } else if (conf_set(c, name, value, why, sizeof why) < 0) {
            snprintf(err, cap, "%s:%d: %s", f, lineno, why);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(fp)) {
        snprintf(err, cap, "%s: %s", f, strerror(errno));
        rc = -1;
    }
    fclose(fp);
    return rc;
}

static void apply(conf *out, const conf *in) {
    unsigned g = in->given;
#define TAKE(key, field) \
    if (g & (1u << (key))) memcpy(&out->field, &in->field, sizeof out->field)
    TAKE(CONF_PORT, port);
    TAKE(CONF_BIND, bind_host);
    TAKE(CONF_STATE_DIR, state_dir);
    TAKE(CONF_MAX_OBSERVERS, max_observers);
    TAKE(CONF_PER_PEER, per_peer);
    TAKE(CONF_PER_ADDRESS, per_address);
    TAKE(CONF_LIVENESS, liveness_s);
    TAKE(CONF_MAX_AGE, max_age_s);
    TAKE(CONF_AMPLIFICATION, amplification);
    TAKE(CONF_LOG_LEVEL, log_level);
    TAKE(CONF_PLUGTEST, plugtest);
    TAKE(CONF_NO_ALARM, no_alarm);
    TAKE(CONF_NOTIFY, notify_non);
    TAKE(CONF_WORKERS, workers);
    TAKE(CONF_PSK_FILE, psk_file);
    TAKE(CONF_CERT, cert);
    TAKE(CONF_KEY, key);
    TAKE(CONF_CA, ca);
    TAKE(CONF_COAPS_PORT, coaps_port);
    TAKE(CONF_SECURE_ONLY, secure_only);
    TAKE(CONF_PSK_HINT, psk_hint);
    TAKE(CONF_CLUSTER, cluster);
    TAKE(CONF_NODE, node);
#undef TAKE
    out->given |= g;
}

static void add_groups(conf *out, const conf *in) {
    for (size_t i = 0; i < in->n_groups && out->n_groups < CONF_MAX_GROUPS; i++) {
        size_t j = 0;
        while (j < out->n_groups && strcmp(out->groups[j], in->groups[i]) != 0) j++;
        if (j == out->n_groups) memcpy(out->groups[out->n_groups++], in->groups[i], CONF_GROUP_MAX);
    }
}

/* Allow lines of both sources add up: the file's and the command line's. */
static void add_allow(conf *out, const conf *in) {
    for (size_t i = 0; i < in->n_allow && out->n_allow < CONF_MAX_ALLOW; i++)
        memcpy(out->allow[out->n_allow++], in->allow[i], CONF_ALLOW_MAX);
}

bool conf_coaps(const conf *c) { return c->psk_file[0] || c->cert[0]; }

void conf_merge(conf *out, const conf *file, const conf *cli) {
    memset(out, 0, sizeof *out);
    out->port = CONF_DEFAULT_PORT;
    out->coaps_port = CONF_DEFAULT_COAPS_PORT;
    snprintf(out->bind_host, sizeof out->bind_host, "::");
    out->max_observers = CONF_DEFAULT_MAX_OBSERVERS;
    out->liveness_s = CONF_DEFAULT_LIVENESS_S;
    out->log_level = APP_LOG_INFO;
    apply(out, file);
    apply(out, cli);
    /* One client may observe every state resource (a dashboard); many
     * clients behind one NAT share an address, but no one address, spoofed
     * or not, may hold more than half the table, nor more than a large NAT
     * needs (tern-server(1), --max-observers-per-address). */
    if (!(out->given & (1u << CONF_PER_PEER)))
        out->per_peer = out->max_observers < CONF_MAX_RESOURCES ? out->max_observers
                                                                : CONF_MAX_RESOURCES;
    if (!(out->given & (1u << CONF_PER_ADDRESS)))
        out->per_address = out->max_observers < 2                                ? 1
                           : out->max_observers / 2 < CONF_DEFAULT_MAX_PER_ADDRESS ? out->max_observers / 2
                                                                                  : CONF_DEFAULT_MAX_PER_ADDRESS;
    for (size_t i = 0; i < cli->n_specs && out->n_specs < CONF_MAX_RESOURCES; i++)
        out->specs[out->n_specs++] = cli->specs[i];
    for (size_t i = 0; i < file->n_specs && out->n_specs < CONF_MAX_RESOURCES; i++)
        out->specs[out->n_specs++] = file->specs[i];
    add_groups(out, cli);
    add_groups(out, file);
    add_allow(out, file);
    add_allow(out, cli);
}

int conf_resources(const conf *c, state_spec *out, size_t *n, char *err, size_t cap) {
    *n = 0;
    if (!c->no_alarm) spec_parse("/alarm=ON,OFF:OFF", &out[(*n)++], err, cap);
    if (*n + c->n_specs > CONF_MAX_RESOURCES) {
        snprintf(err, cap, "at most %d resources%s", CONF_MAX_RESOURCES,
                 c->no_alarm ? "" : " (/alarm included)");
        return -1;
    }
    for (size_t i = 0; i < c->n_specs; i++) {
        for (size_t j = 0; j < *n; j++) {
            if (strcmp(out[j].path, c->specs[i].path) == 0) {
                snprintf(err, cap, "%s: declared twice", c->specs[i].path);
                return -1;
            }
        }
        out[(*n)++] = c->specs[i];
    }
    return 0;
}

bool conf_groups_differ(const conf *a, const conf *b) {
    if (a->n_groups != b->n_groups) return true;
    for (size_t i = 0; i < a->n_groups; i++)
        if (strcmp(a->groups[i], b->groups[i]) != 0) return true;
    return false;
}

bool conf_differs(const conf *a, const conf *b, enum conf_key key) {
    switch (key) {
    case CONF_PORT: return a->port != b->port;
    case CONF_BIND: return strcmp(a->bind_host, b->bind_host) != 0;
    case CONF_STATE_DIR: return strcmp(a->state_dir, b->state_dir) != 0;
    case CONF_MAX_OBSERVERS: return a->max_observers != b->max_observers;
    case CONF_PER_PEER: return a->per_peer != b->per_peer;
    case CONF_PER_ADDRESS: return a->per_address != b->per_address;
    case CONF_LIVENESS: return a->liveness_s != b->liveness_s;
    case CONF_MAX_AGE: return a->max_age_s != b->max_age_s;
    case CONF_AMPLIFICATION: return a->amplification != b->amplification;
    case CONF_LOG_LEVEL: return a->log_level != b->log_level;
    case CONF_PLUGTEST: return a->plugtest != b->plugtest;
    case CONF_NO_ALARM: return a->no_alarm != b->no_alarm;
    case CONF_NOTIFY: return a->notify_non != b->notify_non;
    case CONF_WORKERS: return a->workers != b->workers;
    case CONF_PSK_FILE: return strcmp(a->psk_file, b->psk_file) != 0;
    case CONF_CERT: return strcmp(a->cert, b->cert) != 0;
    case CONF_KEY: return strcmp(a->key, b->key) != 0;
    case CONF_CA: return strcmp(a->ca, b->ca) != 0;
    case CONF_COAPS_PORT: return a->coaps_port != b->coaps_port;
    case CONF_SECURE_ONLY: return a->secure_only != b->secure_only;
    case CONF_PSK_HINT: return strcmp(a->psk_hint, b->psk_hint) != 0;
    case CONF_CLUSTER: return strcmp(a->cluster, b->cluster) != 0;
    case CONF_NODE: return strcmp(a->node, b->node) != 0;
    case CONF_N_KEYS: break;
    }
    return false;
}
