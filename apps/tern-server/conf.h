/* SPDX-License-Identifier: BSD-2-Clause */
/* conf.h - tern-server's settings, from the command line and from the
 * config file (--config FILE), with one parser for both: every long option
 * that takes a value is also a line "NAME VALUE" of the file, every flag a
 * line "NAME" (or "NAME yes|no"), and a line that starts with '/' (or
 * "resource /...") declares a state resource. The command line overrides
 * the file setting by setting; resources and groups of both are served. */
#ifndef TERN_SERVER_CONF_H
#define TERN_SERVER_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app_log.h"
#include "spec.h"

#define CONF_MAX_RESOURCES 64 /* state resources, /alarm included */
#define CONF_MAX_GROUPS 8
#define CONF_GROUP_MAX 128
#define CONF_BIND_MAX 256
#define CONF_DIR_MAX 4096

/* The settings, one bit each in conf.given. */
enum conf_key {
    CONF_PORT,
    CONF_BIND,
    CONF_STATE_DIR,
    CONF_MAX_OBSERVERS,
    CONF_PER_PEER,
    CONF_PER_ADDRESS,
    CONF_LIVENESS,
    CONF_MAX_AGE,
    CONF_AMPLIFICATION,
    CONF_LOG_LEVEL,
    CONF_PLUGTEST,
    CONF_NO_ALARM,
    CONF_NOTIFY,
    CONF_WORKERS,
    CONF_PSK_FILE,    /* coaps (RFC 7252 section 9) */
    CONF_CERT,
    CONF_KEY,
    CONF_CA,
    CONF_COAPS_PORT,
    CONF_SECURE_ONLY,
    CONF_PSK_HINT,
    CONF_CLUSTER, /* redis://HOST[:PORT][/DB] */
    CONF_NODE,
    CONF_N_KEYS
};

/* Defaults (see tern-server(1) for the reasons). */
#define CONF_DEFAULT_PORT 5683
#define CONF_DEFAULT_COAPS_PORT 5684
#define CONF_MAX_ALLOW 64   /* allow lines */
#define CONF_ALLOW_MAX 320  /* bytes of one, NUL included */
#define CONF_DEFAULT_MAX_OBSERVERS 100000
/* The per-address default: half the table, and no more than this. */
#define CONF_DEFAULT_MAX_PER_ADDRESS 4096
#define CONF_DEFAULT_LIVENESS_S 120

typedef struct conf {
    unsigned given; /* 1u << CONF_*: set by this source */
    unsigned long port;
    char bind_host[CONF_BIND_MAX];
    char state_dir[CONF_DIR_MAX]; /* "" before conf_merge: the default */
    unsigned long max_observers;
    unsigned long per_peer, per_address; /* 0 until conf_merge: derived */
    unsigned long liveness_s;
    unsigned long max_age_s; /* Max-Age on notifications; 0: liveness + 60 */
    uint32_t amplification; /* 0: the library's default; TERN_AMPLIFICATION_UNLIMITED */
    app_log_level log_level;
    bool plugtest, no_alarm;
    bool notify_non; /* --notify non */
    unsigned long workers; /* 0: one per core */
    char groups[CONF_MAX_GROUPS][CONF_GROUP_MAX]; /* GROUP[%IFACE] */
    size_t n_groups;
    /* coaps: credentials (file names; "" when not given), port, and
     * whether plain coap is served at all */
    char psk_file[CONF_DIR_MAX], cert[CONF_DIR_MAX], key[CONF_DIR_MAX], ca[CONF_DIR_MAX];
    unsigned long coaps_port;
    bool secure_only;
    char psk_hint[129]; /* the PSK identity hint, "" for none */
    char cluster[CONF_BIND_MAX]; /* --cluster URL, "" for none */
    char node[64];               /* --node NAME */
    /* "allow METHODS PATH IDENTITY|*" (authz.h), as written */
    char allow[CONF_MAX_ALLOW][CONF_ALLOW_MAX];
    size_t n_allow;
    state_spec specs[CONF_MAX_RESOURCES];
    size_t n_specs;
} conf;

/* Set one setting by its name (the long option's: "port", "max-observers",
 * "resource", "join", "plugtest", ...). value NULL for a bare flag. 0, or
 * -1 with a message in err (an unknown name, a bad value; what it quotes
 * escaped). */
int conf_set(conf *c, const char *name, const char *value, char *err, size_t cap);

/* Read the config file into c (which starts empty: memset 0). The file must
 * be a regular file (never blocks on a FIFO). 0, or -1 with "FILE:LINE:
 * why" (or "FILE: why") in err. */
int conf_read_file(conf *c, const char *file, char *err, size_t cap);

/* The settings in effect: defaults, then the file's, then the command
 * line's; resources and groups of both, the command line's first (a group
 * named twice is joined once). */
void conf_merge(conf *out, const conf *file, const conf *cli);

/* The resources to serve: /alarm first unless no_alarm, then c's. 0, or -1
 * with a message in err (too many, a path declared twice). */
int conf_resources(const conf *c, state_spec *out, size_t *n, char *err, size_t cap);

/* Does a setting differ between two merged confs (for a reload)? Groups
 * compare as a list. */
bool conf_differs(const conf *a, const conf *b, enum conf_key key);
bool conf_groups_differ(const conf *a, const conf *b);
/* Is coaps asked for (PSKs or a certificate)? */
bool conf_coaps(const conf *c);
/* Its config-file name ("max-observers"). */
const char *conf_key_name(enum conf_key key);

#endif
