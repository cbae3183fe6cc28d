/* SPDX-License-Identifier: BSD-2-Clause */
/* resource.c - the resource tree and request dispatch (RFC 7252 sections
 * 5.7, 5.8, 5.9 and 6.5).
 *
 * Resources sit in a fixed table, indexed by the hash of their path (open
 * addressing, at most half full). A request's path is the sequence of its
 * Uri-Path options (section 6.5), hashed as options.c reads them, so a
 * lookup is one probe and a comparison of the segments on a hash hit.
 *
 * Dispatch (tern_server_handle_request) goes in four steps, each a function
 * below: a malformed or unrecognised critical option first (4.02 for a
 * CON; a NON is rejected with RST instead, section 5.4.1) and a proxy
 * request (5.05, section 5.7.2); the route (path, method, Content-Format,
 * Accept, preconditions); the Observe option; only then the handler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"
#include "tern/uri.h"

/* FNV-1a over the segments, each followed by a 0xFF byte (which UTF-8 text
 * never contains), so "/a/b" and "/ab" differ. Unkeyed: the index holds
 * only the server's own resources, so a colliding request path costs one
 * segment comparison, never a longer probe. */
uint32_t tern_srv_seg_hash(uint32_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return (h ^ 0xFFu) * 16777619u;
}

/* Next segment of a "/a/b" path: returns false at the end. A path of "/"
 * has no segments (a request without Uri-Path). */
bool tern_srv_path_next(const char **pos, const char **seg, size_t *len) {
    const char *p = *pos;
    if (*p != '/' || (p[1] == '\0' && *seg == NULL)) return false;
    p++;
    const char *end = strchr(p, '/');
    if (end == NULL) end = p + strlen(p);
    *seg = p;
    *len = (size_t)(end - p);
    *pos = end;
    return true;
}

static uint32_t path_hash(const char *path) {
    uint32_t h = SRV_PATH_HASH_INIT;
    const char *pos = path, *seg = NULL;
    size_t len;
    while (tern_srv_path_next(&pos, &seg, &len))
        h = tern_srv_seg_hash(h, (const uint8_t *)seg, len);
    return h;
}

/* Does the request's path (ro; msg for a path deeper than ro keeps) equal
 * the resource's? */
static bool path_matches(const tern_resource *r, const tern_msg *msg, const srv_reqopts *ro) {
    if (r->n_segs != ro->n_path) return false;
    if (r->segs_kept) {
        for (uint32_t i = 0; i < ro->n_path; i++)
            if (ro->path[i].len != r->seg_len[i] ||
                memcmp(ro->path[i].val, r->def.path + r->seg_off[i], r->seg_len[i]) != 0)
                return false;
        return true;
    }
    const char *pos = r->def.path, *seg = NULL;
    size_t len;
    uint32_t i = 0;
    tern_opt_iter it;
    tern_opt o;
    bool deep = ro->n_path > SRV_MAX_SEGS; /* the segments are read from msg */
    if (deep) tern_opt_iter_init(&it, msg);
    while (tern_srv_path_next(&pos, &seg, &len)) {
        if (i == ro->n_path) return false;
        if (!deep) {
            o = ro->path[i];
        } else {
            do {
                if (!tern_opt_next(&it, &o)) return false;
            } while (o.num != TERN_OPT_URI_PATH);
        }
        if (o.len != len || memcmp(o.val, seg, len) != 0) return false;
        i++;
    }
    return i == ro->n_path;
}

int tern_srv_resources_init(tern_server *srv) {
    srv->res = calloc(srv->cfg.max_resources, sizeof *srv->res);
    uint32_t slots = 4;
    while (slots < 2 * srv->cfg.max_resources) slots *= 2;
    srv->res_slots = calloc(slots, sizeof *srv->res_slots);
    srv->res_mask = slots - 1;
    return srv->res && srv->res_slots ? 0 : TERN_E_FULL;
}

/* Put every resource in use into the index again (after a removal: linear
 * probing has no cheap delete, and removals are rare). */
static void index_rebuild(tern_server *srv) {
    memset(srv->res_slots, 0, ((size_t)srv->res_mask + 1) * sizeof *srv->res_slots);
    for (uint32_t i = 0; i < srv->n_res; i++) {
        if (!srv->res[i].used) continue;
        uint32_t s = srv->res[i].path_hash & srv->res_mask;
        while (srv->res_slots[s]) s = (s + 1) & srv->res_mask;
        srv->res_slots[s] = i + 1;
    }
}

/* "0 50" -> {0, 50}; false for anything else. */
static bool parse_ct(const char *s, uint16_t *out, uint8_t *n) {
    *n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        if (*s < '0' || *s > '9' || *n == SRV_MAX_CT) return false;
        uint32_t v = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (uint32_t)(*s++ - '0');
            if (v > 65535) return false;
        }
        if (*s != '\0' && *s != ' ') return false;
        out[(*n)++] = (uint16_t)v;
    }
    return *n > 0;
}

int tern_server_add_resource(tern_server *srv, const tern_resource_def *def,
                             tern_resource **out) {
    if (out) *out = NULL;
    if (def == NULL || def->path == NULL || def->path[0] != '/') return TERN_E_INVAL;
    if (!def->get && !def->post && !def->put && !def->del && !def->fetch && !def->patch &&
        !def->ipatch)
        return TERN_E_INVAL;
    uint16_t ct[SRV_MAX_CT];
    uint8_t n_ct = 0;
    if (def->ct && !parse_ct(def->ct, ct, &n_ct)) return TERN_E_INVAL;
    if (tern_server_find_resource(srv, def->path)) return TERN_E_STATE;
    uint32_t i = 0;
    while (i < srv->cfg.max_resources && srv->res[i].used) i++;
    if (i == srv->cfg.max_resources) return TERN_E_FULL;
    tern_resource *r = &srv->res[i];
    memset(r, 0, sizeof *r);
    r->srv = srv;
    r->used = true;
    r->def = *def;
    r->index = i;
    r->path_hash = path_hash(def->path);
    const char *pos = def->path, *seg = NULL;
    size_t len;
    r->segs_kept = true;
    while (tern_srv_path_next(&pos, &seg, &len)) {
        size_t off = (size_t)(seg - def->path);
        if (r->n_segs < SRV_MAX_SEGS && off <= UINT16_MAX && len <= UINT16_MAX) {
            r->seg_off[r->n_segs] = (uint16_t)off;
            r->seg_len[r->n_segs] = (uint16_t)len;
        } else {
            r->segs_kept = false; /* path_matches walks the string */
        }
        r->n_segs++;
    }
    r->n_ct = n_ct;
    uint32_t s = r->path_hash & srv->res_mask;
    while (srv->res_slots[s]) s = (s + 1) & srv->res_mask;
    srv->res_slots[s] = i + 1;
    memcpy(r->ct, ct, sizeof ct);
    tern_ilist_init(&r->obs);
    if (i >= srv->n_res) srv->n_res = i + 1;
    if (tern_srv_wkc_fit(srv) < 0) {
        r->used = false;
        index_rebuild(srv);
        return TERN_E_NOMEM;
    }
    if (out) *out = r;
    return 0;
}

tern_resource *tern_server_find_resource(tern_server *srv, const char *path) {
    if (path == NULL) return NULL;
    uint32_t h = path_hash(path);
    for (uint32_t s = h & srv->res_mask; srv->res_slots[s]; s = (s + 1) & srv->res_mask) {
        tern_resource *r = &srv->res[srv->res_slots[s] - 1];
        if (r->path_hash != h) continue;
        /* Compare segment by segment: "/a" and "/a/" differ. */
        const char *p1 = path, *p2 = r->def.path, *s1 = NULL, *s2 = NULL;
        size_t l1, l2;
        bool m1, m2, same = true;
        do {
            m1 = tern_srv_path_next(&p1, &s1, &l1);
            m2 = tern_srv_path_next(&p2, &s2, &l2);
            if (m1 != m2 || (m1 && (l1 != l2 || memcmp(s1, s2, l1) != 0))) same = false;
        } while (same && m1);
        if (same) return r;
    }
    return NULL;
}

void tern_server_remove_resource(tern_server *srv, tern_resource *res, uint64_t now_ms) {
    if (res == NULL || !res->used) return;
    tern_srv_observe_remove_all(srv, res, TERN_CODE_NOT_FOUND, "resource removed", now_ms);
    tern_srv_deferred_forget_resource(srv, res);
    res->used = false;
    srv->tmpl_valid = false; /* another resource may take the index */
    index_rebuild(srv);
    res->dirty = false;
}

tern_resource *tern_srv_resource_lookup(tern_server *srv, const tern_msg *msg,
                                        const srv_reqopts *ro) {
    uint32_t h = ro->path_hash;
    for (uint32_t s = h & srv->res_mask; srv->res_slots[s]; s = (s + 1) & srv->res_mask) {
        tern_resource *r = &srv->res[srv->res_slots[s] - 1];
        if (r->path_hash == h && path_matches(r, msg, ro)) return r;
    }
    return NULL;
}

tern_handler tern_srv_resource_handler(const tern_resource *res, uint8_t method) {
    const tern_resource_def *d = &res->def;
    switch (method) {
    case TERN_CODE_GET: return d->get;
    case TERN_CODE_POST: return d->post;
    case TERN_CODE_PUT: return d->put;
    case TERN_CODE_DELETE: return d->del;
    case TERN_CODE_FETCH: return d->fetch;
    case TERN_CODE_PATCH: return d->patch;
    case TERN_CODE_IPATCH: return d->ipatch;
    default: return NULL;
    }
}

bool tern_srv_ct_allows(const tern_resource *res, int32_t cf) {
    if (res->n_ct == 0 || cf < 0) return true;
    for (uint8_t i = 0; i < res->n_ct; i++)
        if (res->ct[i] == cf) return true;
    return false;
}

void tern_resource_changed(tern_resource *res) {
    if (res == NULL || !res->used) return;
    res->dirty = true;
    res->srv->any_dirty = true;
}

const tern_resource_def *tern_resource_get_def(const tern_resource *res) { return &res->def; }
unsigned tern_resource_observer_count(const tern_resource *res) { return res->n_obs; }

/* ---- dispatch ------------------------------------------------------------- */

static bool method_has_body(uint8_t m) {
    return m == TERN_CODE_POST || m == TERN_CODE_PUT || m == TERN_CODE_FETCH ||
           m == TERN_CODE_PATCH || m == TERN_CODE_IPATCH;
}

/* Step 1, section 5.4.1: an unrecognised critical option (and, by 5.4.3 and
 * 5.4.5, a bad length or a repetition of one) in a NON "MUST cause the
 * message to be rejected" (4.3: RST, otherwise ignored), not answered with
 * 4.02 as a CON is. True when the request was rejected so. */
static bool reject_bad_non(tern_server *srv, tern_endpoint_req_id id, const tern_msg *msg,
                           uint8_t code, uint64_t now_ms) {
    if (code != TERN_CODE_BAD_OPTION || msg->type != TERN_TYPE_NON) return false;
    if (tern_endpoint_reject(srv->ep, id, now_ms) != 0) return false;
    srv->st.requests_rejected++;
    return true;
}

/* Step 2: where the request goes, in the RFC's order of precedence: the
 * path (4.04), the method (4.05, section 5.8), the request's
 * Content-Format (4.15, 5.10.3), Accept (4.06, 5.10.4), preconditions
 * (4.12, 5.10.8). 0 with req->res and *h set, or the code and diag to
 * answer. */
static uint8_t route(tern_server *srv, tern_server_request *req, tern_handler *h, char *diag,
                     size_t cap) {
    const tern_msg *msg = req->msg;
    tern_resource *res = tern_srv_resource_lookup(srv, msg, req->ro);
    if (res == NULL) {
        char path[64];
        if (tern_uri_path_format(msg, path, sizeof path) < 0) snprintf(path, sizeof path, "...");
        snprintf(diag, cap, "no resource at %s", path);
        return TERN_CODE_NOT_FOUND;
    }
    req->res = res;
    if (srv->cfg.authorize) {
        uint8_t code = srv->cfg.authorize(srv->cfg.authorize_ctx, req->peer, msg->code,
                                          res->def.path);
        if (code) {
            snprintf(diag, cap, "%s", code == TERN_CODE_UNAUTHORIZED ? "authenticate first (coaps)"
                                                                      : "not allowed for you");
            return code;
        }
    }
    if ((*h = tern_srv_resource_handler(res, msg->code)) == NULL) {
        snprintf(diag, cap, "method not allowed");
        return TERN_CODE_METHOD_NOT_ALLOWED;
    }
    if (method_has_body(msg->code) && !tern_srv_ct_allows(res, req->cf)) {
        snprintf(diag, cap, "Content-Format %d not accepted here (ct=%s)", (int)req->cf,
                 res->def.ct);
        return TERN_CODE_UNSUPPORTED_CONTENT_FORMAT;
    }
    if (!tern_srv_ct_allows(res, req->accept)) {
        snprintf(diag, cap, "cannot answer in Content-Format %d (ct=%s)", (int)req->accept,
                 res->def.ct);
        return TERN_CODE_NOT_ACCEPTABLE;
    }
    if (!req->ro->if_none_match && !req->ro->has_if_match) return 0; /* the usual case */
    return tern_srv_check_preconditions(req->ro, res, diag, cap);
}

/* RFC 7641 sections 3.6 and 4.1: a GET with Observe 1 removes the entry of
 * its (peer, token) whatever the answer to the GET is, and a GET with
 * Observe 0 that cannot register (it is answered with an error, or served
 * as a plain GET) ends the observation its key had: the client now takes
 * the observation for over. */
static void observe_end(tern_server *srv, const tern_server_request *req) {
    const tern_msg *msg = req->msg;
    if (tern_srv_observe_deregister(srv, req->peer, msg->token, msg->token_len))
        srv->st.observers_removed_deregister++;
}

/* Step 3, RFC 7641 section 2: Observe in a GET is 0 (register) or 1
 * (deregister); anything else, or a non-observable resource, is a plain
 * GET. A registration is only an intent here: the 2.xx answer makes it. */
static void observe_intent(tern_server *srv, tern_server_request *req) {
    const tern_msg *msg = req->msg;
    if (msg->code != TERN_CODE_GET || req->ro->observe != TERN_OBSERVE_REGISTER) return;
    if (req->res->def.observable) {
        req->observe =
            tern_srv_observe_can_register(srv, req->res, req->peer, msg->token, msg->token_len,
                                          req->now_ms);
        if (!req->observe) srv->st.plain_get_over_limit++;
    }
    if (!req->observe) observe_end(srv, req);
}

/* Section 5.10.6.2: a GET naming the current ETag of a resource that knows
 * it is answered 2.03 Valid with that ETag and no payload; the handler need
 * not make a representation the client already has. */
static bool validate(tern_server *srv, tern_server_request *req) {
    const tern_resource *res = req->res;
    if (req->msg->code != TERN_CODE_GET || req->ro->n_etag == 0 || res->def.etag == NULL)
        return false;
    uint8_t etag[TERN_ETAG_MAX];
    size_t len = res->def.etag(res->def.ctx, etag);
    if (len == 0 || !tern_srv_etag_in(req->ro->etag, req->ro->n_etag, etag, len)) return false;
    tern_server_response *resp = &srv->resp_req;
    tern_srv_response_reset(resp);
    (void)tern_server_response_add_opt(resp, TERN_OPT_ETAG, etag, len);
    srv_reqinfo ri = tern_srv_reqinfo(req);
    tern_srv_answer(srv, req->id, resp, TERN_CODE_VALID, &ri, req->now_ms);
    return true;
}

/* Step 4: the handler makes the answer, now or later (TERN_DEFER). After
 * an upload (Block1, block1.c) it runs once, on the whole body, and its
 * answer echoes the last Block1 with M=0 (RFC 7959 section 2.5). */
static void run_handler(tern_server *srv, tern_server_request *req, tern_handler h,
                        srv_upload *upload) {
    tern_server_response *resp = &srv->resp_req;
    tern_srv_response_reset(resp);
    uint8_t code = h(req, resp);
    if (code == TERN_DEFER) {
        if (!req->deferred) {
            srv_reqinfo ri = tern_srv_reqinfo(req);
            tern_srv_answer_error(srv, req->id, TERN_CODE_INTERNAL_SERVER_ERROR,
                                  "handler deferred without tern_server_request_defer", &ri,
                                  req->now_ms);
        }
    } else {
        srv_reqinfo ri = tern_srv_reqinfo(req);
        if (upload) {
            tern_block last = req->ro->block1;
            last.more = false;
            uint32_t v = 0;
            (void)tern_block_encode(&last, &v);
            ri.block1 = v;
            ri.keep = upload;
        }
        tern_srv_answer(srv, req->id, resp, code, &ri, req->now_ms);
    }
    tern_srv_block1_done(srv, upload);
}

void tern_server_handle_request(tern_server *srv, tern_endpoint_req_id id, const tern_addr *peer,
                                const tern_msg *msg, uint64_t now_ms) {
    char diag[96];
    srv_reqopts ro;
    srv->st.requests++;
    uint8_t code = tern_srv_read_options(msg, &ro, diag, sizeof diag);
    if (ro.echo_len) tern_srv_echo_check(srv, peer, &ro, now_ms);
    if (!reject_bad_non(srv, id, msg, code, now_ms)) {
        tern_server_request req = {.srv = srv,
                                   .ro = &ro,
                                   .body = msg->payload,
                                   .body_len = msg->payload_len,
                                   .peer = peer,
                                   .msg = msg,
                                   .now_ms = now_ms,
                                   .id = id,
                                   .method = msg->code,
                                   .accept = ro.accept,
                                   .cf = ro.cf,
                                   .block2 = ro.has_block2 ? (int64_t)ro.block2_raw : -1};
        tern_handler h = NULL;
        if (msg->code == TERN_CODE_GET && ro.observe == TERN_OBSERVE_DEREGISTER)
            observe_end(srv, &req);
        if (code == 0) code = route(srv, &req, &h, diag, sizeof diag);
        if (code != 0) {
            if (msg->code == TERN_CODE_GET && ro.observe == TERN_OBSERVE_REGISTER)
                observe_end(srv, &req);
            srv_reqinfo ri = tern_srv_reqinfo(&req);
            tern_srv_answer_error(srv, id, code, diag, &ri, now_ms);
        } else {
            srv_upload *upload = NULL;
            observe_intent(srv, &req);
            if (ro.has_block1 && tern_srv_block1_take(srv, &req, &upload) == SRV_B1_ANSWERED)
                ;
            else if (!ro.has_block1 && ro.echo_len && srv_method_unsafe(msg->code) &&
                     tern_srv_block1_serve_once(srv, &req))
                ;
            else if (!validate(srv, &req) && !tern_srv_block1_continue(srv, &req))
                run_handler(srv, &req, h, upload);
        }
    }
    /* A handler's tern_resource_changed goes out now, not at the next tick. */
    if (srv->any_dirty) tern_srv_observe_flush(srv, now_ms);
}

/* ---- request accessors ---------------------------------------------------- */

const tern_msg *tern_server_request_msg(const tern_server_request *req) { return req->msg; }
const tern_addr *tern_server_request_peer(const tern_server_request *req) { return req->peer; }
tern_resource *tern_server_request_resource(const tern_server_request *req) { return req->res; }
tern_server *tern_server_request_server(const tern_server_request *req) { return req->srv; }
void *tern_server_request_ctx(const tern_server_request *req) { return req->res->def.ctx; }
uint64_t tern_server_request_now(const tern_server_request *req) { return req->now_ms; }
uint8_t tern_server_request_method(const tern_server_request *req) { return req->method; }
int32_t tern_server_request_content_format(const tern_server_request *req) { return req->cf; }
int32_t tern_server_request_accept(const tern_server_request *req) { return req->accept; }
bool tern_server_request_is_notification(const tern_server_request *req) { return req->notification; }
bool tern_server_request_is_observe(const tern_server_request *req) { return req->observe; }
bool tern_server_request_multicast(const tern_server_request *req) {
    return !req->notification && tern_endpoint_request_multicast(req->srv->ep, req->id);
}

const uint8_t *tern_server_request_payload(const tern_server_request *req, size_t *len) {
    *len = req->body_len;
    return req->body;
}
