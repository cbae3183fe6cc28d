/* SPDX-License-Identifier: BSD-2-Clause */
/* pending.c - received requests and their answers (RFC 7252 sections 4.5,
 * 5.2.1, 5.2.2, 5.2.3).
 *
 * A new request (after dedup, section 4.5) takes a pending slot and is
 * handed to on_request with a tern_endpoint_req_id. The answer decides the shape:
 *  - answered during on_request, or later while the ACK is still owed:
 *    piggybacked in the ACK (5.2.1); the bytes are cached in the dedup entry
 *    so that a retransmitted request gets the identical ACK again;
 *  - not answered: an empty ACK goes out ack_delay_ms after arrival (5.2.2:
 *    "the server SHOULD send an empty ACK ... as soon as possible" once it
 *    knows the answer will take a while), or at once when a duplicate shows
 *    the client retransmitting; the later answer is then a separate CON
 *    response, tracked and retransmitted by retransmit.c;
 *  - a NON request gets a NON response with a fresh MID (5.2.3), or is
 *    rejected with a RST (tern_endpoint_reject; 4.3, 5.4.1).
 * Slots expire after EXCHANGE_LIFETIME, by which time the client has given
 * up, so a handler that never answers cannot leak them.
 *
 * Ids are (generation << 16 | slot): a stale id from an answered or expired
 * request never reaches a reused slot. Id 0 is never handed out.
 *
 * When no pending slot or dedup entry is free the request is answered
 * statelessly with 5.03 Service Unavailable and Max-Age (section 5.9.3.4),
 * telling the client when to try again instead of letting it time out. */
#include <string.h>

#include "endpoint/endpoint_int.h"

void tern_ep_pends_init(ep_pends *t) {
    for (uint32_t i = 0; i < t->cap; i++) {
        memset(&t->v[i], 0, sizeof t->v[i]);
        t->v[i].gen = 1;
        t->v[i].dedup = EP_NONE;
        t->v[i].free_next = i + 1 < t->cap ? i + 1 : EP_NONE;
        tern_ilink_init(&t->v[i].age_link);
        tern_ilink_init(&t->v[i].ack_link);
    }
    t->free_head = t->cap ? 0 : EP_NONE;
    tern_ilist_init(&t->age);
    tern_ilist_init(&t->ack);
}

static tern_endpoint_req_id pend_id(const ep_pends *t, uint32_t pi) {
    return (uint32_t)t->v[pi].gen << 16 | pi;
}

static uint32_t pend_from_id(const ep_pends *t, tern_endpoint_req_id id) {
    uint32_t pi = id & 0xFFFFu;
    if (pi >= t->cap || !t->v[pi].used || t->v[pi].gen != (uint16_t)(id >> 16)) return EP_NONE;
    return pi;
}

/* Both lists stay sorted by deadline because every entry gets the same
 * offset (ack_delay_ms, exchange_lifetime_ms) from its arrival time, so
 * appending keeps them in order. */
static bool owes_delayed_ack(ep_pends *t, uint32_t pi) {
    return TERN_ILIST_HAS(&t->ack, t->v, ack_link, pi);
}

static void pend_free(tern_endpoint *ep, uint32_t pi) {
    ep_pends *t = &ep->p;
    ep_pend *p = &t->v[pi];
    TERN_ILIST_UNLINK(&t->age, t->v, age_link, pi);
    TERN_ILIST_UNLINK(&t->ack, t->v, ack_link, pi);
    if (p->dedup != EP_NONE) ep->d.v[p->dedup].pending = EP_NONE;
    /* No clearing: tern_ep_request_recv sets every field a request uses
     * (ack_deadline only matters on the ack list, which sets it). */
    uint16_t gen = (uint16_t)(p->gen + 1);
    p->used = false;
    p->gen = gen ? gen : 1;
    p->dedup = EP_NONE;
    tern_ilink_init(&p->age_link);
    tern_ilink_init(&p->ack_link);
    p->free_next = t->free_head;
    t->free_head = pi;
}

void tern_ep_pend_ack_now(tern_endpoint *ep, uint32_t pi) {
    ep_pend *p = &ep->p.v[pi];
    if (p->ack != EP_ACK_OWED) return;
    TERN_ILIST_UNLINK(&ep->p.ack, ep->p.v, ack_link, pi);
    p->ack = EP_ACK_SENT;
    if (p->dedup != EP_NONE) ep->d.v[p->dedup].kind = EP_D_EMPTY_ACK;
    tern_ep_emit_empty(ep, &p->peer, TERN_TYPE_ACK, p->mid);
}

/* 5.03 with Max-Age, piggybacked for a CON; no state is kept. (Not for a
 * multicast request: section 8.2, no error answers to those.) */
static void pend_busy(tern_endpoint *ep, const tern_addr *peer, const tern_msg *req,
                      bool multicast) {
    if (multicast) return;
    tern_msgb b;
    tern_msgb_init(&b, req->type == TERN_TYPE_CON ? TERN_TYPE_ACK : TERN_TYPE_NON,
                   TERN_CODE_SERVICE_UNAVAILABLE, req->mid);
    (void)tern_msgb_set_token(&b, req->token, req->token_len);
    (void)tern_msgb_add_uint(&b, TERN_OPT_MAX_AGE, ep->cfg.busy_max_age_s);
    ep->stats.busy_answers++;
    if (req->type == TERN_TYPE_NON) {
        (void)tern_ep_send_non(ep, peer, &b);
        return;
    }
    (void)tern_ep_emit_msg(ep, peer, &b, NULL);
}

void tern_ep_request_recv(tern_endpoint *ep, const tern_addr *peer, const tern_msg *msg,
                          uint64_t now, bool multicast) {
    ep_pends *t = &ep->p;
    bool con = msg->type == TERN_TYPE_CON;

    uint32_t hash = tern_ep_dedup_hash(ep, peer, msg->mid);
    uint32_t di = tern_ep_dedup_lookup(ep, peer, msg->mid, hash, now);
    if (di != EP_NONE) {
        /* Section 4.5: process once, answer every CON copy the same way;
         * a duplicate NON is silently dropped. */
        ep->stats.duplicates++;
        if (con) tern_ep_dedup_replay(ep, di);
        return;
    }
    if (t->free_head == EP_NONE) {
        pend_busy(ep, peer, msg, multicast);
        return;
    }
    di = tern_ep_dedup_insert(ep, peer, msg->mid, hash, con ? EP_D_NOACK : EP_D_SEEN,
                         con ? ep->cfg.exchange_lifetime_ms : ep->cfg.non_lifetime_ms, now);
    if (di == EP_NONE) {
        pend_busy(ep, peer, msg, multicast);
        return;
    }

    uint32_t pi = t->free_head;
    ep_pend *p = &t->v[pi];
    t->free_head = p->free_next;
    /* Every field a request uses is set here (a free slot keeps the last
     * request's values; pend_free clears only the links). */
    p->used = true;
    p->multicast = multicast;
    p->type = msg->type;
    p->ack = con ? EP_ACK_OWED : EP_ACK_NONE;
    p->token_len = msg->token_len;
    memcpy(p->token, msg->token, msg->token_len);
    p->mid = msg->mid;
    p->peer = *peer;
    p->dedup = di;
    p->created = now;
    TERN_ILIST_APPEND(&t->age, t->v, age_link, pi);
    ep->d.v[di].pending = pi;

    tern_endpoint_req_id id = pend_id(t, pi);
    if (ep->cb.on_request) {
        ep->cb.on_request(ep->user, ep, id, peer, msg, now);
    } else {
        tern_msgb b;
        tern_msgb_init(&b, TERN_TYPE_ACK, TERN_CODE_NOT_IMPLEMENTED, 0);
        (void)tern_endpoint_respond(ep, id, &b, now);
    }

    /* Not answered during the call: owe the empty ACK (section 5.2.2). */
    pi = pend_from_id(t, id);
    if (pi == EP_NONE) return;
    p = &t->v[pi];
    if (p->ack != EP_ACK_OWED || owes_delayed_ack(t, pi)) return;
    if (ep->cfg.ack_delay_ms == 0) {
        tern_ep_pend_ack_now(ep, pi);
    } else {
        p->ack_deadline = ep_add_sat(now, ep->cfg.ack_delay_ms);
        TERN_ILIST_APPEND(&t->ack, t->v, ack_link, pi);
    }
}

void tern_ep_pend_tick(tern_endpoint *ep, uint64_t now) {
    ep_pends *t = &ep->p;
    while (t->ack.head != EP_NONE && t->v[t->ack.head].ack_deadline <= now)
        tern_ep_pend_ack_now(ep, t->ack.head);
    while (t->age.head != EP_NONE &&
           ep_add_sat(t->v[t->age.head].created, ep->cfg.exchange_lifetime_ms) <= now)
        pend_free(ep, t->age.head);
}

uint64_t tern_ep_pend_next_deadline(const tern_endpoint *ep) {
    const ep_pends *t = &ep->p;
    uint64_t d = UINT64_MAX;
    if (t->ack.head != EP_NONE) d = t->v[t->ack.head].ack_deadline;
    if (t->age.head != EP_NONE) {
        uint64_t e = ep_add_sat(t->v[t->age.head].created, ep->cfg.exchange_lifetime_ms);
        if (e < d) d = e;
    }
    return d;
}

/* Section 8.2: the answer to a request that came to a group address. An
 * error answer (4.xx, 5.xx) is not sent: with many servers in the group,
 * every one that has nothing to say would answer. A success goes NON (the
 * request was NON, 8.1) after a random leisure in [0,
 * multicast_leisure_ms), so that the servers of a group do not all answer
 * at once; its bytes wait in the request's dedup entry. */
static int respond_multicast(tern_endpoint *ep, uint32_t pi, tern_msgb *resp, uint64_t now) {
    ep_pend *p = &ep->p.v[pi];
    resp->type = TERN_TYPE_NON;
    uint8_t cls = TERN_CODE_CLASS(resp->code);
    uint32_t leisure = ep->cfg.multicast_leisure_ms;
    if (cls != 4 && cls != 5) {
        tern_addr peer = p->peer;
        if (leisure == 0 || p->dedup == EP_NONE) {
            int rc = tern_ep_send_non(ep, &peer, resp);
            if (rc < 0) return rc;
        } else {
            uint32_t pe = tern_ep_peer_get(ep, &peer);
            if (pe == EP_NONE) return TERN_E_FULL;
            resp->mid = ep->peers.v[pe].next_mid;
            int n = tern_msgb_encode(resp, ep_dedup_buf(ep, p->dedup), ep->cfg.max_message);
            if (n < 0) return n;
            ep->peers.v[pe].next_mid++;
            ep->d.v[p->dedup].len = (uint16_t)n;
            tern_ep_dedup_delay(ep, p->dedup, ep_add_sat(now, tern_ep_random32(ep) % leisure));
        }
    }
    pend_free(ep, pi);
    return 0;
}

int tern_endpoint_respond(tern_endpoint *ep, tern_endpoint_req_id id, tern_msgb *resp, uint64_t now_ms) {
    return tern_endpoint_respond_tracked(ep, id, resp, now_ms, NULL, NULL);
}

int tern_endpoint_respond_tracked(tern_endpoint *ep, tern_endpoint_req_id id, tern_msgb *resp,
                                  uint64_t now_ms, tern_tx_done_fn done, void *ctx) {
    if (ep == NULL || resp == NULL) return TERN_E_INVAL;
    uint32_t pi = pend_from_id(&ep->p, id);
    if (pi == EP_NONE) return TERN_E_NOTFOUND;
    if (ep->closing) return TERN_E_STATE;
    if (!tern_code_is_response(resp->code)) return TERN_E_INVAL;
    if (now_ms > ep->last_now) ep->last_now = now_ms;
    ep_pend *p = &ep->p.v[pi];
    /* The request's token (section 5.3.2), as kept: a fixed-size copy. */
    memcpy(resp->token, p->token, sizeof p->token);
    resp->token_len = p->token_len;
    int rc;
    if (p->multicast) return respond_multicast(ep, pi, resp, now_ms);

    if (p->type == TERN_TYPE_CON && p->ack == EP_ACK_OWED) {
        /* Section 5.2.1: piggybacked, same MID as the request. */
        resp->type = TERN_TYPE_ACK;
        resp->mid = p->mid;
        if (p->dedup == EP_NONE) {
            int n = tern_ep_emit_msg(ep, &p->peer, resp, NULL);
            if (n == TERN_E_NOSPACE) return n;
        } else {
            /* Section 4.5: kept for the retransmissions of the request,
             * whether or not the outbox has room for it now. */
            uint8_t *buf = ep_dedup_buf(ep, p->dedup);
            int n = tern_msgb_encode(resp, buf, ep->cfg.max_message);
            if (n < 0) return n;
            ep->d.v[p->dedup].kind = EP_D_RESPONSE;
            ep->d.v[p->dedup].len = (uint16_t)n;
            tern_ep_emit(ep, &p->peer, buf, (size_t)n);
        }
    } else if (p->type == TERN_TYPE_CON) {
        /* Section 5.2.2: the empty ACK went out; a separate CON response. */
        tern_addr peer = p->peer;
        rc = tern_ep_xch_send(ep, &peer, resp, now_ms, done, ctx);
        if (rc < 0) return rc;
    } else {
        /* Section 5.2.3: a NON request gets a NON response. */
        resp->type = TERN_TYPE_NON;
        tern_addr peer = p->peer;
        rc = tern_ep_send_non(ep, &peer, resp);
        if (rc < 0) return rc;
    }
    pend_free(ep, pi);
    return 0;
}

int tern_endpoint_reject(tern_endpoint *ep, tern_endpoint_req_id id, uint64_t now_ms) {
    if (ep == NULL) return TERN_E_INVAL;
    uint32_t pi = pend_from_id(&ep->p, id);
    if (pi == EP_NONE) return TERN_E_NOTFOUND;
    if (ep->closing) return TERN_E_STATE;
    ep_pend *p = &ep->p.v[pi];
    /* Section 5.4.1: a CON request with an unrecognised critical option is
     * answered (4.02); only a NON is rejected. */
    if (p->type != TERN_TYPE_NON) return TERN_E_STATE;
    if (now_ms > ep->last_now) ep->last_now = now_ms;
    if (p->multicast) {
        /* Section 8.1: never a RST to a multicast request. */
        ep->stats.rejected++;
        pend_free(ep, pi);
        return 0;
    }
    /* Section 4.3: rejecting a NON "MAY involve sending a matching Reset
     * message, and apart from that the message is ignored". The dedup entry
     * (EP_D_SEEN) stays, so a copy of the NON is dropped, not rejected
     * again. */
    ep->stats.rejected++;
    tern_ep_emit_empty(ep, &p->peer, TERN_TYPE_RST, p->mid);
    pend_free(ep, pi);
    return 0;
}

bool tern_endpoint_request_multicast(const tern_endpoint *ep, tern_endpoint_req_id id) {
    if (ep == NULL) return false;
    uint32_t pi = pend_from_id(&ep->p, id);
    return pi != EP_NONE && ep->p.v[pi].multicast;
}

int tern_endpoint_request_info(const tern_endpoint *ep, tern_endpoint_req_id id, tern_addr *peer,
                               uint8_t token[TERN_TOKEN_MAX], uint8_t *token_len) {
    if (ep == NULL) return TERN_E_INVAL;
    uint32_t pi = pend_from_id(&ep->p, id);
    if (pi == EP_NONE) return TERN_E_NOTFOUND;
    const ep_pend *p = &ep->p.v[pi];
    if (peer) *peer = p->peer;
    if (token) memcpy(token, p->token, p->token_len);
    if (token_len) *token_len = p->token_len;
    return 0;
}
