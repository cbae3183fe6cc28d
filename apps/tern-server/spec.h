/* SPDX-License-Identifier: BSD-2-Clause */
/* spec.h - state resources declared without writing C: the
 * "--resource /door=OPEN,CLOSED:CLOSED" flag and the "resource" lines of
 * the config file (conf.h). */
#ifndef TERN_SERVER_SPEC_H
#define TERN_SERVER_SPEC_H

#include <stddef.h>

#define SPEC_MAX_VALUES 16
#define SPEC_VALUE_MAX 32 /* bytes per value, NUL included */
#define SPEC_PATH_MAX 128

typedef struct state_spec {
    char path[SPEC_PATH_MAX];
    char values[SPEC_MAX_VALUES][SPEC_VALUE_MAX];
    unsigned n_values;
    unsigned initial; /* index into values */
} state_spec;

/* Parse "PATH=V1,V2[,...][:INITIAL]": PATH starts with '/', values are 1-31
 * printable characters without blanks, ',', ':' or '=', at least one, all
 * different; INITIAL must be one of them (default: the first).
 * 0, or -1 with a message in err (what it quotes, escaped). */
int spec_parse(const char *text, state_spec *out, char *err, size_t cap);

#endif
