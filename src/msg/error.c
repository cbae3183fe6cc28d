/* SPDX-License-Identifier: BSD-2-Clause */
/* error.c - names for the TERN_E_* values of tern/error.h.
 *
 * Every layer returns the same small set of negative codes (DESIGN.md,
 * "Errors"), so one table here serves logs and command-line output alike. */
#include "tern/error.h"

const char *tern_strerror(int err) {
    switch (err) {
    case TERN_OK: return "success";
    case TERN_E_INVAL: return "invalid argument";
    case TERN_E_NOSPACE: return "buffer too small";
    case TERN_E_FORMAT: return "malformed message";
    case TERN_E_FULL: return "table full";
    case TERN_E_NOTFOUND: return "not found";
    case TERN_E_TIMEOUT: return "timed out";
    case TERN_E_RESET: return "reset by peer";
    case TERN_E_URI: return "invalid URI";
    case TERN_E_SYSTEM: return "system error";
    case TERN_E_STATE: return "wrong state";
    case TERN_E_REJECT: return "rejected";
    case TERN_E_CANCELLED: return "cancelled";
    case TERN_E_UNREACHABLE: return "peer unreachable";
    case TERN_E_NOMEM: return "out of memory";
    case TERN_E_ADDRINUSE: return "address already in use";
    case TERN_E_ACCESS: return "permission denied";
    case TERN_E_UNAVAILABLE: return "unavailable";
    default: return "unknown error";
    }
}
