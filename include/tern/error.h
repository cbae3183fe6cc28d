/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/error.h - error values shared by every tern layer.
 *
 * Functions return 0 (or a non-negative count) on success and a negative
 * TERN_E_* value on failure. A CoAP error answer (4.xx, 5.xx) is protocol
 * behaviour, not a C error, and never appears here. */
#ifndef TERN_ERROR_H
#define TERN_ERROR_H

#include "tern/export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TERN_OK = 0,
    TERN_E_INVAL = -1,     /* an argument is out of range */
    TERN_E_NOSPACE = -2,   /* the caller's buffer is too small */
    TERN_E_FORMAT = -3,    /* bytes on the wire violate RFC 7252 section 3 */
    TERN_E_FULL = -4,      /* a fixed-capacity table is full */
    TERN_E_NOTFOUND = -5,  /* no such option, entry or handle */
    TERN_E_TIMEOUT = -6,   /* retransmissions or a deadline ran out */
    TERN_E_RESET = -7,     /* the peer answered with RST */
    TERN_E_URI = -8,       /* a URI does not follow RFC 7252 section 6 */
    TERN_E_SYSTEM = -9,    /* the operating system refused (io layer only) */
    TERN_E_STATE = -10,    /* the call does not fit the object's state */
    TERN_E_REJECT = -11,   /* a callback rejects a message (answered by RST) */
    TERN_E_CANCELLED = -12, /* the application cancelled the operation */
    TERN_E_UNREACHABLE = -13, /* the network reported the peer unreachable (ICMP) */
    TERN_E_NOMEM = -14,     /* out of memory (creating an object) */
    TERN_E_ADDRINUSE = -15, /* the address and port are taken (io layer) */
    TERN_E_ACCESS = -16,    /* the operating system denied permission (io layer) */
    TERN_E_UNAVAILABLE = -17 /* a service it depends on cannot be reached now (a state backend) */
};

/* A short English name for a TERN_E_* value; never NULL. */
TERN_API const char *tern_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
