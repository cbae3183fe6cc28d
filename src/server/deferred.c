/* SPDX-License-Identifier: BSD-2-Clause */
/* deferred.c - requests a handler answers later: separate responses
 * (RFC 7252 section 5.2.2).
 *
 * The endpoint already sends the empty ACK and the later CON; what the
 * server must remember is what the answer still needs: the resource, whether
 * the GET registers an observer, Accept and Block2, peer and token. A fixed
 * table holds that. A handler that never answers would leak its slot and
 * leave the client waiting, so each slot has a deadline after which the
 * server answers 5.03 Service Unavailable itself. The slots in use are
 * listed in the order they were taken, which is the order of their
 * deadlines: the next one is the head's, found without a scan. */
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"

int tern_srv_deferred_init(tern_server *srv) {
    srv->def = calloc(srv->cfg.max_deferred, sizeof *srv->def);
    if (srv->def == NULL) return TERN_E_FULL;
    tern_ilist_init(&srv->def_live);
    tern_ilist_init(&srv->def_free);
    for (uint32_t i = 0; i < srv->cfg.max_deferred; i++)
        TERN_ILIST_APPEND(&srv->def_free, srv->def, link, i);
    return 0;
}

/* Slot i is done with: back to the free list (its contents stay readable
 * until it is taken again). */
static void release(tern_server *srv, uint32_t i) {
    srv->def[i].used = false;
    TERN_ILIST_UNLINK(&srv->def_live, srv->def, link, i);
    TERN_ILIST_APPEND(&srv->def_free, srv->def, link, i);
}

int tern_server_request_defer(tern_server_request *req, tern_endpoint_req_id *id) {
    if (req->notification) return TERN_E_STATE;
    tern_server *srv = req->srv;
    uint32_t i = srv->def_free.head;
    if (i == TERN_NIL) return TERN_E_FULL;
    TERN_ILIST_UNLINK(&srv->def_free, srv->def, link, i);
    TERN_ILIST_APPEND(&srv->def_live, srv->def, link, i);
    srv_deferred *d = &srv->def[i];
    tern_ilink link = d->link;
    memset(d, 0, sizeof *d);
    d->link = link;
    d->used = true;
    d->id = req->id;
    d->res = req->res->index;
    d->method = req->method;
    d->observe = req->observe;
    d->accept = req->accept;
    d->block2 = req->block2;
    d->size2 = req->ro && req->ro->size2;
    d->req_len = tern_srv_request_len(req->msg);
    d->body_hash = srv_method_unsafe(d->method) ? tern_srv_body_hash(srv, req->body, req->body_len)
                                                : 0;
    d->deadline_ms = req->now_ms + srv->cfg.deferred_timeout_ms;
    d->peer = *req->peer;
    d->token_len = req->msg->token_len;
    memcpy(d->token, req->msg->token, req->msg->token_len);
    req->deferred = true;
    if (id) *id = req->id;
    return 0;
}

bool tern_server_request_can_defer(const tern_server_request *req) {
    return !req->notification && req->srv->def_free.head != TERN_NIL;
}

static srv_deferred *find(tern_server *srv, tern_endpoint_req_id id) {
    for (uint32_t i = srv->def_live.head; i != TERN_NIL; i = srv->def[i].link.next)
        if (srv->def[i].id == id) return &srv->def[i];
    return NULL;
}

tern_server_response *tern_server_respond_begin(tern_server *srv, tern_endpoint_req_id id) {
    srv_deferred *d = find(srv, id);
    if (d == NULL) return NULL;
    srv->respond_slot = (uint32_t)(d - srv->def);
    tern_srv_response_reset(&srv->resp_def);
    return &srv->resp_def;
}

/* What the answer needs to know of the request d took. */
static srv_reqinfo deferred_info(tern_server *srv, srv_deferred *d) {
    return (srv_reqinfo){.res = d->res != SRV_NIL ? &srv->res[d->res] : NULL,
                         .peer = &d->peer,
                         .token = d->token,
                         .token_len = d->token_len,
                         .observe = d->observe,
                         .accept = d->accept,
                         .block2 = d->block2,
                         .get = d->method == TERN_CODE_GET,
                         .size2 = d->size2,
                         .block1 = -1,
                         .req_len = d->req_len,
                         .method = d->method,
                         .unsafe = srv_method_unsafe(d->method),
                         .body_hash = d->body_hash};
}

int tern_server_respond(tern_server *srv, tern_server_response *resp, uint8_t code, uint64_t now_ms) {
    if (resp != &srv->resp_def || srv->respond_slot == SRV_NIL) return TERN_E_STATE;
    srv_deferred *d = &srv->def[srv->respond_slot];
    srv->respond_slot = SRV_NIL;
    if (!d->used) return TERN_E_NOTFOUND;
    srv_reqinfo ri = deferred_info(srv, d);
    release(srv, (uint32_t)(d - srv->def));
    /* The endpoint may have given the request up (its own timers); the
     * answer is then dropped, and the observer not registered. */
    uint8_t tok[TERN_TOKEN_MAX];
    uint8_t tlen;
    tern_addr peer;
    if (tern_endpoint_request_info(srv->ep, d->id, &peer, tok, &tlen) < 0) return TERN_E_NOTFOUND;
    tern_srv_answer(srv, d->id, resp, code, &ri, now_ms);
    tern_srv_observe_flush(srv, now_ms);
    return 0;
}

void tern_srv_deferred_forget_resource(tern_server *srv, const tern_resource *res) {
    /* By index alone, a later answer would find whatever resource took the
     * slot since, and register its observer there (RFC 7641 section 3.1:
     * the client asked to observe the resource it named). */
    for (uint32_t i = srv->def_live.head; i != TERN_NIL; i = srv->def[i].link.next)
        if (srv->def[i].res == res->index) srv->def[i].res = SRV_NIL;
}

void tern_srv_deferred_tick(tern_server *srv, uint64_t now_ms) {
    uint32_t i;
    while ((i = srv->def_live.head) != TERN_NIL && srv->def[i].deadline_ms <= now_ms) {
        srv_deferred *d = &srv->def[i];
        release(srv, i);
        srv->st.deferred_timeouts++;
        /* RFC 7641 section 3.1/4.1, as for every answer (tern_srv_answer): an
         * error answer to a registration ends any observation under its
         * key, which the client now considers over. */
        if (d->observe) tern_srv_observe_deregister(srv, &d->peer, d->token, d->token_len);
        srv_reqinfo ri = deferred_info(srv, d);
        tern_srv_answer_error(srv, d->id, TERN_CODE_SERVICE_UNAVAILABLE, "no answer in time", &ri,
                              now_ms);
    }
}

uint64_t tern_srv_deferred_deadline(const tern_server *srv) {
    uint32_t i = srv->def_live.head;
    return i == TERN_NIL ? UINT64_MAX : srv->def[i].deadline_ms;
}
