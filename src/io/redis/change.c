/* SPDX-License-Identifier: BSD-2-Clause */
/* change.c - see change.h. */
#include "redis/change.h"

#include <string.h>

int redis_change_parse(redis_change *c, const char *msg, size_t len) {
    if (len >= sizeof c->buf || memchr(msg, '\0', len) != NULL) return -1;
    memcpy(c->buf, msg, len);
    c->buf[len] = '\0';
    char *f[4], *p = c->buf;
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        if (i == 3) break;
        char *nl = strchr(p, '\n');
        if (nl == NULL) return -1;
        *nl = '\0';
        p = nl + 1;
    }
    if (f[0][0] != '/' || f[1][0] == '\0' || f[2][0] == '\0') return -1;
    if (f[2][0] == '0' && f[2][1] != '\0') return -1; /* Redis writes no leading zeros */
    uint64_t seq = 0;
    for (const char *d = f[2]; *d; d++) {
        if (*d < '0' || *d > '9' || seq > (UINT64_C(1) << 63) / 10) return -1;
        seq = seq * 10 + (uint64_t)(*d - '0');
    }
    if (seq >= UINT64_C(1) << 63) return -1;
    c->path = f[0];
    c->value = f[1];
    c->seq = seq;
    c->node = f[3];
    return 0;
}
