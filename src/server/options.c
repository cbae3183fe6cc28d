/* SPDX-License-Identifier: BSD-2-Clause */
/* options.c - what a request's options allow before any handler runs
 * (RFC 7252 sections 5.4.1, 5.4.3, 5.4.5, 5.7.2, 5.10.8; RFC 7959 2.4).
 *
 * "Recognised" here means "this server acts on it", not "the codec can name
 * it": Block1 or OSCORE are in the codec's table, but a server that ignored
 * them would answer something else than was asked, which is exactly what
 * section 5.4.1 forbids for critical options. So the server keeps its own
 * list of the critical options it honours; any other critical option, a
 * critical option repeated where it may not be (5.4.5) or of a length
 * outside its range (5.4.3) gets 4.02 Bad Option. Elective options with the
 * same faults are ignored, as those sections say. */
#include <stdio.h>

#include "server/server_int.h"

/* Critical options this server honours. */
static bool server_understands(uint16_t num) {
    switch (num) {
    case TERN_OPT_IF_MATCH:       /* preconditions, below */
    case TERN_OPT_URI_HOST:       /* one server answers every host name */
    case TERN_OPT_IF_NONE_MATCH:
    case TERN_OPT_URI_PORT:
    case TERN_OPT_URI_PATH:
    case TERN_OPT_URI_QUERY:
    case TERN_OPT_ACCEPT:
    case TERN_OPT_BLOCK2:         /* late negotiation, response.c */
    case TERN_OPT_PROXY_URI:      /* understood, and refused with 5.05 */
    case TERN_OPT_PROXY_SCHEME:
        return true;
    default:
        return false;
    }
}

uint8_t tern_srv_check_options(const tern_msg *req, char *diag, size_t cap) {
    tern_opt_iter it;
    tern_opt o;
    uint16_t prev = 0;
    unsigned count = 0;
    bool proxy = false;
    tern_opt_iter_init(&it, req);
    while (tern_opt_next(&it, &o)) {
        count = (o.num == prev) ? count + 1 : 1;
        prev = o.num;
        if (!tern_opt_is_critical(o.num)) continue;
        const tern_opt_def *d = tern_opt_lookup(o.num);
        const char *why = NULL;
        if (d == NULL || !server_understands(o.num))
            why = "unrecognised";
        else if (count > 1 && !d->repeatable)
            why = "repeated";
        else if (o.len < d->min_len || o.len > d->max_len)
            why = "bad length of";
        if (why) {
            snprintf(diag, cap, "%s critical option %u%s%s", why, (unsigned)o.num,
                     d ? " " : "", d ? d->name : "");
            return TERN_CODE_BAD_OPTION;
        }
        if (o.num == TERN_OPT_PROXY_URI || o.num == TERN_OPT_PROXY_SCHEME) proxy = true;
    }
    if (proxy) {
        /* Section 5.7.2: a server that is no proxy answers 5.05. */
        snprintf(diag, cap, "this server is not a proxy");
        return TERN_CODE_PROXYING_NOT_SUPPORTED;
    }
    return 0;
}

/* Section 5.10.8. Resources here keep no ETag, so an If-Match with a value
 * can never match; an empty If-Match means "if it exists", and it does, or
 * dispatch would have answered 4.04 already. If-None-Match fails for the
 * same reason. */
uint8_t tern_srv_check_preconditions(const tern_msg *req, char *diag, size_t cap) {
    tern_opt o;
    if (tern_msg_find_opt(req, TERN_OPT_IF_NONE_MATCH, &o) == 0) {
        snprintf(diag, cap, "If-None-Match: the resource exists");
        return TERN_CODE_PRECONDITION_FAILED;
    }
    if (tern_msg_count_opt(req, TERN_OPT_IF_MATCH) > 0) {
        tern_opt_iter it;
        tern_opt_iter_init(&it, req);
        while (tern_opt_next(&it, &o))
            if (o.num == TERN_OPT_IF_MATCH && o.len == 0) return 0;
        snprintf(diag, cap, "If-Match: no ETag matches");
        return TERN_CODE_PRECONDITION_FAILED;
    }
    return 0;
}

int32_t tern_srv_opt_uint_or(const tern_msg *msg, uint16_t num, int32_t absent) {
    uint32_t v;
    /* A uint option longer than its range was ignored by the check above if
     * elective (5.4.3); treat it as absent. */
    if (tern_msg_get_uint(msg, num, &v) != 0 || v > 0xFFFF) return absent;
    return (int32_t)v;
}
