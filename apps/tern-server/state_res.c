/* SPDX-License-Identifier: BSD-2-Clause */
/* state_res.c - tern-server's state resources (RFC 7252 GET/PUT, RFC 7641
 * Observe, RFC 6690 attributes).
 *
 * PUT takes exactly one of the declared values. A PUT without
 * Content-Format is taken as text/plain: the tutorial's client and libcoap's
 * `coap-client -e` send none. Another Content-Format is refused with 4.15 by
 * the server layer, because the resource declares ct=0. The new state is
 * written to the state directory before the 2.04 leaves: if the write fails
 * the client gets 5.00 and the state stays as it was, so a 2.04 always means
 * "on disk". */
#include "state_res.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app_log.h"
#include "tern/io.h"

static uint8_t state_get(tern_server_request *req, tern_server_response *resp) {
    state_res *sr = tern_server_request_ctx(req);
    tern_server_response_text(resp, sr->value);
    return TERN_CODE_CONTENT;
}

static uint8_t state_put(tern_server_request *req, tern_server_response *resp) {
    state_res *sr = tern_server_request_ctx(req);
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    const char *next = NULL;
    for (unsigned i = 0; i < sr->spec.n_values && next == NULL; i++) {
        const char *v = sr->spec.values[i];
        if (strlen(v) == len && memcmp(v, p, len) == 0) next = v;
    }
    if (next == NULL) {
        tern_server_response_diag(resp, "accepted values: %s", sr->accepted);
        return TERN_CODE_BAD_REQUEST;
    }
    if (store_save(sr->st, sr->spec.path, next) < 0) {
        app_log(APP_LOG_ERROR, "%s: cannot store state in %s: %s", sr->spec.path, sr->st->dir,
                strerror(errno));
        tern_server_response_diag(resp, "cannot store the new state");
        return TERN_CODE_INTERNAL_SERVER_ERROR;
    }
    char from[80] = "?";
    tern_io_addr_format(tern_server_request_peer(req), from, sizeof from);
    app_log(APP_LOG_INFO, "%s: %s -> %s from %s", sr->spec.path + 1, sr->value, next, from);
    if (strcmp(sr->value, next) != 0) {
        snprintf(sr->value, sizeof sr->value, "%s", next);
        tern_resource_changed(tern_server_request_resource(req));
    }
    tern_server_response_text(resp, sr->value);
    return TERN_CODE_CHANGED;
}

int state_res_add(tern_server *srv, state_res *sr, store *st) {
    sr->st = st;
    const state_spec *sp = &sr->spec;
    snprintf(sr->value, sizeof sr->value, "%s", sp->values[sp->initial]);
    size_t n = 0;
    for (unsigned i = 0; i < sp->n_values; i++) {
        int w = snprintf(sr->accepted + n, sizeof sr->accepted - n, "%s%s", i ? ", " : "",
                         sp->values[i]);
        if (w > 0) n += (size_t)w;
    }
    char saved[SPEC_VALUE_MAX + 8];
    int rc = store_load(st, sp->path, saved, sizeof saved);
    if (rc < 0) {
        app_log(APP_LOG_WARN, "%s: cannot read saved state: %s", sp->path, strerror(errno));
    } else if (rc == 1) {
        unsigned i = 0;
        while (i < sp->n_values && strcmp(sp->values[i], saved) != 0) i++;
        if (i < sp->n_values)
            memcpy(sr->value, sp->values[i], sizeof sr->value);
        else
            app_log(APP_LOG_WARN, "%s: saved state \"%s\" is not an accepted value; using %s",
                    sp->path, saved, sr->value);
    }
    /* rt: the last path segment ("/alarm" -> "alarm"), for ?rt= filtering. */
    const char *last = strrchr(sp->path, '/');
    snprintf(sr->rt, sizeof sr->rt, "%s", last[1] ? last + 1 : "state");
    tern_resource_def def = {.path = sp->path,
                             .get = state_get,
                             .put = state_put,
                             .ctx = sr,
                             .observable = true,
                             /* State changes matter: every notification
                              * confirmable, so a lost one is resent and a
                              * gone observer is noticed. */
                             .notify_con = true,
                             .rt = sr->rt,
                             .ct = "0"};
    rc = tern_server_add_resource(srv, &def, &sr->res);
    if (rc < 0)
        app_log(APP_LOG_ERROR, "%s: cannot add resource: %s", sp->path,
                rc == TERN_E_STATE ? "declared twice" : tern_strerror(rc));
    else
        app_log(APP_LOG_DEBUG, "%s: %s (accepted: %s)", sp->path, sr->value, sr->accepted);
    return rc;
}
