/* SPDX-License-Identifier: BSD-2-Clause */
/* block1.c - request bodies sent block by block, from the server side
 * (RFC 7959 sections 2.3, 2.5, 2.7 and 2.9).
 *
 * A handler sees a request body once, whole, after its last block: each
 * block is taken into an upload slot keyed by (peer, resource, method) and
 * answered 2.31 Continue echoing its Block1 (section 2.5), and the last one
 * runs the handler with the whole body, its answer echoing Block1 with M=0.
 * What can go wrong is answered as section 2.9 says: a block that is not
 * the next one (a gap, or a NUM > 0 with no upload in progress) gets 4.08
 * Request Entity Incomplete; a body larger than max_upload_bytes, known
 * from Size1 on block 0 or found on the way, gets 4.13 Request Entity Too
 * Large with Size1 saying what is accepted; a block other than the last
 * that is not exactly the block size is malformed (section 2.2): 4.00. A
 * block sent again because our 2.31 was lost is answered 2.31 again.
 *
 * Bounds: max_uploads slots of max_upload_bytes each, allocated once; a
 * slot is reclaimed upload_timeout_ms after its last block (lazily, when a
 * new upload needs one: an idle server keeps no timer for it). With every
 * slot busy a new upload gets 5.03 with Max-Age (RFC 7252 5.9.3.4).
 *
 * Section 2.7: when the answer to the last block is itself too large for
 * one block (Block2), the slot keeps the whole answer, so that the client's
 * requests for its next blocks (the same method and resource, Block2
 * NUM > 0) are served from it instead of running the handler again: a
 * second POST would act twice. For the same reason a slot also keeps the
 * answer to an unsafe request withheld from an unverified address
 * (amplification.c), for the repeat that carries the Echo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"

int tern_srv_block1_init(tern_server *srv) {
    uint32_t n = srv->cfg.max_uploads;
    size_t each = srv->cfg.max_upload_bytes;
    srv->uploads = calloc(n, sizeof *srv->uploads);
    srv->upload_bytes = malloc((size_t)n * each);
    if (srv->uploads == NULL || srv->upload_bytes == NULL) return TERN_E_NOMEM;
    for (uint32_t i = 0; i < n; i++) srv->uploads[i].buf = srv->upload_bytes + (size_t)i * each;
    return 0;
}

void tern_srv_block1_free(tern_server *srv) {
    free(srv->uploads);
    free(srv->upload_bytes);
    srv->uploads = NULL;
    srv->upload_bytes = NULL;
}

static void release(srv_upload *u) {
    u->used = false;
    u->answered = false;
    u->once = false;
    u->len = 0;
}

/* The slot of (peer, res, method), reclaiming expired ones on the way. */
static srv_upload *find(tern_server *srv, const tern_server_request *req) {
    for (uint32_t i = 0; i < srv->cfg.max_uploads; i++) {
        srv_upload *u = &srv->uploads[i];
        if (!u->used) continue;
        if (u->expires <= req->now_ms) {
            release(u);
            continue;
        }
        if (u->res == req->res->index && u->method == req->method &&
            tern_addr_equal(&u->peer, req->peer))
            return u;
    }
    return NULL;
}

static srv_upload *claim(tern_server *srv, const tern_server_request *req) {
    for (uint32_t i = 0; i < srv->cfg.max_uploads; i++) {
        srv_upload *u = &srv->uploads[i];
        if (!u->used || u->expires <= req->now_ms) {
            memset(u, 0, offsetof(srv_upload, buf));
            u->once = false;
            u->used = true;
            u->res = req->res->index;
            u->method = req->method;
            u->peer = *req->peer;
            return u;
        }
    }
    return NULL;
}

static uint32_t block1_value(uint32_t num, bool more, uint8_t szx) {
    tern_block b = {.num = num, .more = more, .szx = szx};
    uint32_t v = 0;
    (void)tern_block_encode(&b, &v);
    return v;
}

/* Answer the block with code: Block1 echoed (when block1 >= 0), Size1 (when
 * size1 >= 0), a diagnostic for an error. */
static void reply(tern_server *srv, tern_server_request *req, uint8_t code, int64_t block1,
                  int64_t size1, const char *diag) {
    tern_server_response *r = &srv->resp_req;
    tern_srv_response_reset(r);
    if (diag) tern_server_response_diag(r, "%s", diag);
    if (size1 >= 0) (void)tern_server_response_add_uint(r, TERN_OPT_SIZE1, (uint32_t)size1);
    if (code == TERN_CODE_SERVICE_UNAVAILABLE)
        (void)tern_server_response_add_uint(r, TERN_OPT_MAX_AGE, srv->cfg.upload_timeout_ms / 1000);
    srv_reqinfo ri = tern_srv_reqinfo(req);
    ri.observe = false;
    ri.block1 = block1;
    tern_srv_answer(srv, req->id, r, code, &ri, req->now_ms);
}

/* Answer req from the answer kept in u (the block its Block2 asks for, 0
 * if none), echoing block1 when >= 0. false when the kept bytes are bad. */
static bool serve_kept(tern_server *srv, tern_server_request *req, srv_upload *u, int64_t block1) {
    tern_msg kept;
    tern_server_response *r = &srv->resp_req;
    tern_srv_response_reset(r);
    if (tern_msg_parse(&kept, u->buf, u->len) < 0 || tern_msgb_from_msg(&r->b, &kept) < 0)
        return false;
    srv_reqinfo ri = tern_srv_reqinfo(req);
    ri.observe = false;
    ri.block1 = block1;
    u->expires = req->now_ms + srv->cfg.upload_timeout_ms;
    srv->serving = u;
    tern_srv_answer(srv, req->id, r, kept.code, &ri, req->now_ms);
    srv->serving = NULL;
    return true;
}

int tern_srv_block1_take(tern_server *srv, tern_server_request *req, srv_upload **slot) {
    const tern_block *b = &req->ro->block1;
    size_t size = tern_block_size(b->szx);
    size_t off = (size_t)b->num * size;
    size_t max = srv->cfg.max_upload_bytes;
    char diag[80];
    srv_upload *u = find(srv, req);
    if (u && u->answered && b->num == u->last_num && !b->more) {
        /* The last block again (its answer was lost, or was a 4.01 asking
         * for an Echo, RFC 9175 2.4): the kept answer, not the handler. */
        serve_kept(srv, req, u, block1_value(b->num, false, b->szx));
        return SRV_B1_ANSWERED;
    }
    if (b->num == 0) {
        if (u == NULL && (u = claim(srv, req)) == NULL) {
            reply(srv, req, TERN_CODE_SERVICE_UNAVAILABLE, -1, -1, "too many uploads at once");
            return SRV_B1_ANSWERED;
        }
        u->answered = false;
        u->once = false;
        u->len = 0;
        if (req->ro->size1 > (int64_t)max) {
            /* Section 2.9.3 / RFC 7252 5.10.9: refuse up front, say what
             * is accepted. */
            release(u);
            reply(srv, req, TERN_CODE_REQUEST_ENTITY_TOO_LARGE, -1, (int64_t)max,
                  "request body too large");
            return SRV_B1_ANSWERED;
        }
    } else if (u == NULL || u->answered) {
        snprintf(diag, sizeof diag, "block %u with no upload in progress", (unsigned)b->num);
        reply(srv, req, TERN_CODE_REQUEST_ENTITY_INCOMPLETE, -1, -1, diag);
        return SRV_B1_ANSWERED;
    }
    if (off != u->len) {
        /* The block we took last, again: our 2.31 was lost. */
        if (b->num > 0 && b->more && b->num == u->last_num && off + req->body_len == u->len) {
            reply(srv, req, TERN_CODE_CONTINUE, block1_value(b->num, true, b->szx), -1, NULL);
            return SRV_B1_ANSWERED;
        }
        snprintf(diag, sizeof diag, "block %u out of order (%zu bytes taken)", (unsigned)b->num,
                 u->len);
        release(u);
        reply(srv, req, TERN_CODE_REQUEST_ENTITY_INCOMPLETE, -1, -1, diag);
        return SRV_B1_ANSWERED;
    }
    if (req->body_len > size || (b->more && req->body_len != size)) {
        /* Section 2.2: every block but the last is exactly the block size. */
        snprintf(diag, sizeof diag, "block of %zu bytes, block size %zu", req->body_len, size);
        release(u);
        reply(srv, req, TERN_CODE_BAD_REQUEST, -1, -1, diag);
        return SRV_B1_ANSWERED;
    }
    if (req->body_len > max - u->len) {
        release(u);
        reply(srv, req, TERN_CODE_REQUEST_ENTITY_TOO_LARGE, -1, (int64_t)max,
              "request body too large");
        return SRV_B1_ANSWERED;
    }
    if (req->body_len) memcpy(u->buf + u->len, req->body, req->body_len);
    u->len += req->body_len;
    u->szx = b->szx;
    u->last_num = b->num;
    u->expires = req->now_ms + srv->cfg.upload_timeout_ms;
    if (b->more) {
        reply(srv, req, TERN_CODE_CONTINUE, block1_value(b->num, true, b->szx), -1, NULL);
        return SRV_B1_ANSWERED;
    }
    req->body = u->buf;
    req->body_len = u->len;
    *slot = u;
    return SRV_B1_WHOLE;
}

void tern_srv_block1_done(tern_server *srv, srv_upload *slot) {
    (void)srv;
    if (slot && !slot->answered) release(slot);
}

void tern_srv_block1_keep(tern_server *srv, srv_upload *slot, const tern_server_response *r,
                          uint64_t now_ms) {
    /* The whole answer, without the options of the block that went out:
     * each continuation cuts its own. */
    tern_msgb b = r->b;
    tern_msgb_remove_opt(&b, TERN_OPT_BLOCK1);
    tern_msgb_remove_opt(&b, TERN_OPT_BLOCK2);
    tern_msgb_remove_opt(&b, TERN_OPT_SIZE2);
    int n = tern_msgb_encode(&b, slot->buf, srv->cfg.max_upload_bytes);
    if (n < 0) return; /* too large to keep: the continuation gets 4.08 */
    slot->answered = true;
    slot->len = (size_t)n;
    slot->expires = now_ms + srv->cfg.upload_timeout_ms;
}

void tern_srv_block1_keep_once(tern_server *srv, const srv_reqinfo *ri,
                               const tern_server_response *r, const uint8_t echo[8],
                               uint64_t now_ms) {
    tern_server_request key = {.res = ri->res, .method = ri->method, .peer = ri->peer,
                               .now_ms = now_ms};
    srv_upload *u = find(srv, &key);
    if (u != NULL && u == srv->serving) {
        /* Withheld again, from where it is kept (r points into it). */
        u->once = true;
        memcpy(u->echo, echo, sizeof u->echo);
        u->body_hash = ri->body_hash;
        return;
    }
    if (u == NULL && (u = claim(srv, &key)) == NULL) return; /* the repeat runs again */
    u->len = 0;
    u->last_num = 0;
    tern_srv_block1_keep(srv, u, r, now_ms);
    if (!u->answered) {
        release(u);
        return;
    }
    u->once = true;
    memcpy(u->echo, echo, sizeof u->echo);
    u->body_hash = ri->body_hash;
}

bool tern_srv_block1_serve_once(tern_server *srv, tern_server_request *req) {
    const srv_reqopts *ro = req->ro;
    srv_upload *u = find(srv, req);
    if (u == NULL || !u->once || !tern_endpoint_peer_verified(srv->ep, req->peer) ||
        ro->echo_len != sizeof u->echo ||
        memcmp(ro->echo, u->echo, sizeof u->echo) != 0 ||
        u->body_hash != tern_srv_body_hash(srv, req->body, req->body_len))
        return false;
    /* Served once: a later request with the same Echo (a client may reuse
     * it, RFC 9175 2.3) is a new request. The slot stays for the answer's
     * Block2 continuations, if it has any. */
    u->once = false;
    return serve_kept(srv, req, u, -1);
}

bool tern_srv_block1_continue(tern_server *srv, tern_server_request *req) {
    const srv_reqopts *ro = req->ro;
    if (!ro->has_block2 || ro->block2.num == 0 || ro->has_block1) return false;
    srv_upload *u = find(srv, req);
    if (u == NULL || !u->answered) return false;
    return serve_kept(srv, req, u, -1);
}
