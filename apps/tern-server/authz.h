/* SPDX-License-Identifier: BSD-2-Clause */
/* authz.h - who may do what on which path: the "allow" lines of the config
 * file,
 *
 *     allow PUT /alarm door-sensor-1
 *     allow GET,PUT /alarm *
 *
 * each naming methods, one path and one identity (a PSK identity of coaps,
 * RFC 7252 section 9.1.3.1) or '*' for anyone, also a client of plain coap
 * that has no identity. A path with allow lines accepts only what they
 * list, all its lines together; a path with none accepts everything, as
 * before allow lines existed. RFC 7252 leaves authorisation to the
 * application (section 9); this is tern-server's. A table of fixed size,
 * nothing allocated: asking it costs no memory. */
#ifndef TERN_SERVER_AUTHZ_H
#define TERN_SERVER_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTHZ_MAX_RULES 256    /* (path, identity) pairs */
#define AUTHZ_PATH_MAX 128     /* bytes, NUL included */
#define AUTHZ_IDENTITY_MAX 128 /* bytes, NUL not included, as PSK_IDENTITY_MAX */

typedef struct authz_rule {
    char path[AUTHZ_PATH_MAX];
    char identity[AUTHZ_IDENTITY_MAX + 1]; /* "*": anyone */
    unsigned methods;                      /* 1u << TERN_CODE_GET, ... */
} authz_rule;

/* Zeroed (memset, = {0}) it is a table without lines: everything allowed. */
typedef struct authz {
    authz_rule rules[AUTHZ_MAX_RULES];
    size_t n;
} authz;

/* Add one allow line; args is what follows "allow": "METHOD[,METHOD...]
 * PATH IDENTITY|*". Methods are CoAP's names as RFC 7252 section 12.1.1
 * and RFC 8132 write them (GET, POST, PUT, DELETE, FETCH, PATCH, iPATCH),
 * PATH starts with '/' and has no query. A line for a path and identity
 * already seen adds its methods to theirs. 0, or -1 with a message in err
 * (what it quotes escaped) and a unchanged. */
int authz_add_line(authz *a, const char *args, char *err, size_t errcap);

/* Has path any allow line? */
bool authz_has_rules(const authz *a, const char *path);

/* May identity (NULL: a client without one, plain coap) use method_code
 * (TERN_CODE_GET ...; the caller passes GET for an Observe registration)
 * on path? path is compared byte for byte, so pass the path of the
 * resource the request was dispatched to ("/alarm"), not one rebuilt from
 * the request, which could be spelt differently. */
bool authz_allowed(const authz *a, uint8_t method_code, const char *path, const char *identity);

/* The answer to a request authz_allowed refused: 4.03 Forbidden over coaps
 * (the client is known and may not do this, RFC 7252 section 5.9.2.4), 4.01
 * Unauthorized over plain coap (it should come back with an identity,
 * section 5.9.2.2). */
uint8_t authz_denied_code(bool secure);

#endif
