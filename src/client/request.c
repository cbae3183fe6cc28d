/* SPDX-License-Identifier: BSD-2-Clause */
/* request.c - one request, one response (RFC 7252 sections 5.2 and 5.3).
 *
 * The endpoint already hides how the response travels: piggybacked in the
 * ACK, or as a separate CON/NON response after an empty ACK (section 5.2.2),
 * which it ACKs because we accept it. All that is left here is to hand the
 * first matching response to the caller and free the slot; a duplicate or a
 * late second answer then no longer matches and is rejected. A request to a
 * group (section 8) takes every server's answer until its deadline. A request
 * whose payload needs several datagrams is handed to block1.c, a response
 * body the caller wants whole to block2.c. */
#include "client/client_int.h"

int tern_client_request(tern_client *cli, const tern_addr *peer, tern_msgb *req,
                        uint32_t timeout_ms, tern_client_fn fn, void *ctx, uint64_t now_ms,
                        tern_client_op_id *id) {
    return tern_cl_start(cli, peer, req, timeout_ms, fn, ctx, now_ms, SLOT_REQUEST, false, NULL, 0, id);
}

int tern_client_request_body(tern_client *cli, const tern_addr *peer, tern_msgb *req,
                             uint8_t *body, size_t body_cap, uint32_t timeout_ms,
                             tern_client_fn fn, void *ctx, uint64_t now_ms, tern_client_op_id *id) {
    if (!req || !body) return TERN_E_INVAL;
    /* RFC 7959 section 2.4 continues GET and FETCH (RFC 8132 section 2.3.2)
     * by repeating the request with Block2; for other methods a later
     * request would act again, so their answer is the caller's as it is. */
    if (req->code != TERN_CODE_GET && req->code != TERN_CODE_FETCH)
        return tern_client_request(cli, peer, req, timeout_ms, fn, ctx, now_ms, id);
    /* A caller asking for a later block itself runs its own transfer;
     * Block2 NUM 0 (early size negotiation, section 2.4) is fine. */
    for (size_t i = 0; i < req->n_opts; i++) {
        if (req->opts[i].num != TERN_OPT_BLOCK2) continue;
        uint32_t v = 0;
        for (size_t k = 0; k < req->opts[i].len; k++) v = v << 8 | (uint32_t)req->opts[i].val[k];
        if (v >> 4) return TERN_E_INVAL;
    }
    return tern_cl_start(cli, peer, req, timeout_ms, fn, ctx, now_ms, SLOT_REQUEST, false, body,
                        body_cap, id);
}

int tern_client_request_group(tern_client *cli, const tern_addr *group, tern_msgb *req,
                              uint32_t timeout_ms, tern_client_fn fn, void *ctx, uint64_t now_ms,
                              tern_client_op_id *id) {
    /* RFC 7252 section 8.1: a multicast request is NON. */
    if (!req || req->type != TERN_TYPE_NON) return TERN_E_INVAL;
    return tern_cl_start(cli, group, req, timeout_ms, fn, ctx, now_ms, SLOT_REQUEST, true, NULL, 0,
                         id);
}

void tern_cl_request_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms) {
    if (s->group) {
        /* Section 8.2: one answer per server, until the deadline. */
        (void)tern_cl_deliver(s, 0, resp, true, now_ms);
        return;
    }
    if (s->block1) {
        tern_cl_block1_on_response(s, resp, now_ms);
        return;
    }
    if (s->b2_buf) {
        tern_cl_block2_on_response(s, resp, now_ms);
        return;
    }
    tern_cl_finish(s, 0, resp, now_ms);
}
