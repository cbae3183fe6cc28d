/* SPDX-License-Identifier: BSD-2-Clause */
/* observe.c - the server side of Observe (RFC 7641 sections 3.1, 3.2, 3.6,
 * 4.1-4.5).
 *
 * Observers are entries of a fixed table keyed by (peer, token) through a
 * hash (4.1: a second registration with the same key replaces the entry).
 * Each entry is on three lists: its resource's observers, a hash chain, and
 * the liveness list, ordered by the time of the last confirmable
 * notification. That order costs nothing to keep, because an entry only ever
 * moves to the tail with "now", and it makes the liveness timer exact: the
 * head alone says when the next check is due, so nothing polls.
 *
 * Notifications are event-driven. tern_resource_changed() marks the
 * resource; the next entry point flushes: the Observe counter goes up once,
 * and each observer gets the representation its GET handler makes now.
 *
 * Section 4.5.2: at most one notification is in flight per observer. When
 * the state changes while a CON notification awaits its ACK, the newer
 * notification replaces it in the endpoint (tern_endpoint_replace): the
 * next retransmission carries the newest state, under a new MID, with the
 * retransmission counter and timeout going on. A TIMEOUT, UNREACHABLE or a RST there removes the observer (4.5:
 * "silently disappeared"); so does a RST answering the last NON (3.6), and
 * the news that the observer's address is unreachable (ICMP), whatever
 * kind of notification it was last sent. The answer that registered the
 * observer counts as its first notification here: sent NON, its MID is
 * the one a RST may match; sent as a separate CON, it is the one in
 * flight (tern_srv_observe_respond).
 *
 * RFC 7959 section 2.6: a representation larger than a datagram, or than
 * the block size the registration asked for, is notified by its first
 * block; the observer GETs the rest. One that cannot be sent even so ends
 * the observation with 5.00 rather than being dropped in silence.
 *
 * Section 4.5: a notification is confirmable when the resource asks for it,
 * every notify_con_every notifications, and when the last CON to this
 * observer is older than notify_con_interval_ms. An observer idle that long
 * gets a CON with the current state from the liveness timer.
 *
 * Section 4.4: the Observe value is a 24-bit counter per resource, bumped for
 * every round of notifications, every registration and every liveness
 * notification, so the values one observer sees only grow. */
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"

/* Section 4.1's key, (peer, token), both chosen by the peer: the keyed
 * hash, so that registrations cannot be aimed at one bucket. */
static uint32_t key_hash(const tern_server *srv, const tern_addr *peer, const uint8_t *tok,
                         uint8_t len) {
    size_t n = peer->len <= TERN_ADDR_MAX ? peer->len : TERN_ADDR_MAX;
    return tern_tablehash2(&srv->hkey, peer->bytes, n, tok, len);
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static uint32_t bump(tern_resource *res) {
    res->seq = (res->seq + 1) & TERN_OBSERVE_SEQ_MASK;
    return res->seq;
}

int tern_srv_observe_init(tern_server *srv) {
    uint32_t n = srv->cfg.max_observers;
    uint32_t buckets = 16;
    while (buckets < 2 * n) buckets <<= 1;
    srv->obs = calloc(n, sizeof *srv->obs);
    srv->obs_hash = malloc(buckets * sizeof *srv->obs_hash);
    if (srv->obs == NULL || srv->obs_hash == NULL) return TERN_E_FULL;
    srv->hash_mask = buckets - 1;
    for (uint32_t i = 0; i < buckets; i++) srv->obs_hash[i] = SRV_NIL;
    tern_slots_init(&srv->obs_slots, n);
    tern_ilist_init(&srv->live);
    tern_ilist_init(&srv->probation);
    tern_ilist_init(&srv->trusted);
    tern_ilist_init(&srv->due);
    if (tern_srv_counts_init(&srv->per_peer, n) < 0 || tern_srv_counts_init(&srv->per_host, n) < 0)
        return TERN_E_NOMEM;
    uint8_t key[16];
    tern_endpoint_random(srv->ep, key, sizeof key);
    srv->hkey = tern_hkey_from(key);
    srv->retry_at = UINT64_MAX;
    return 0;
}

void tern_srv_observe_free(tern_server *srv) {
    if (srv->obs) {
        for (uint32_t i = 0; i < tern_slots_end(&srv->obs_slots); i++) {
            srv_observer *o = &srv->obs[i];
            if (o->used && o->inflight) {
                o->inflight = false;
                tern_endpoint_cancel(srv->ep, o);
            }
        }
    }
    free(srv->obs);
    free(srv->obs_hash);
    tern_srv_counts_free(&srv->per_peer);
    tern_srv_counts_free(&srv->per_host);
    srv->obs = NULL;
    srv->obs_hash = NULL;
}

static uint32_t find(tern_server *srv, const tern_addr *peer, const uint8_t *tok, uint8_t len) {
    uint32_t i = srv->obs_hash[key_hash(srv, peer, tok, len) & srv->hash_mask];
    for (; i != SRV_NIL; i = srv->obs[i].hnext) {
        srv_observer *o = &srv->obs[i];
        if (o->token_len == len && memcmp(o->token, tok, len) == 0 &&
            tern_addr_equal(&o->peer, peer))
            return i;
    }
    return SRV_NIL;
}

/* ---- list plumbing -------------------------------------------------------- */

/* A CON went out (or the registration came in): the liveness clock of this
 * observer restarts, and it moves to the tail, keeping the list sorted. */
static void touch(tern_server *srv, srv_observer *o, uint64_t now) {
    uint32_t i = (uint32_t)(o - srv->obs);
    o->last_con_ms = now;
    TERN_ILIST_UNLINK(&srv->live, srv->obs, live, i);
    TERN_ILIST_APPEND(&srv->live, srv->obs, live, i);
}

static void res_link(tern_server *srv, srv_observer *o, tern_resource *res) {
    o->res = res->index;
    TERN_ILIST_PREPEND(&res->obs, srv->obs, rlink, (uint32_t)(o - srv->obs));
    res->n_obs++;
}

static void res_unlink(tern_server *srv, srv_observer *o) {
    tern_resource *res = &srv->res[o->res];
    TERN_ILIST_UNLINK(&res->obs, srv->obs, rlink, (uint32_t)(o - srv->obs));
    res->n_obs--;
}

static void hash_unlink(tern_server *srv, srv_observer *o) {
    uint32_t i = (uint32_t)(o - srv->obs);
    uint32_t *p = &srv->obs_hash[key_hash(srv, &o->peer, o->token, o->token_len) & srv->hash_mask];
    while (*p != i) p = &srv->obs[*p].hnext;
    *p = o->hnext;
}

static void obs_remove(tern_server *srv, srv_observer *o) {
    if (o->inflight) {
        /* Clear first: the endpoint reports the cancellation through
         * obs_done, which must then leave the entry alone. */
        o->inflight = false;
        tern_endpoint_cancel(srv->ep, o);
    }
    uint32_t i = (uint32_t)(o - srv->obs);
    hash_unlink(srv, o);
    res_unlink(srv, o);
    TERN_ILIST_UNLINK(&srv->live, srv->obs, live, i);
    TERN_ILIST_UNLINK(o->trusted ? &srv->trusted : &srv->probation, srv->obs, tlink, i);
    if (o->queued) TERN_ILIST_UNLINK(&srv->due, srv->obs, clink, i);
    o->queued = o->due_con = o->due_change = false;
    tern_srv_counts_add(srv, &srv->per_peer, &o->peer, -1);
    tern_addr host = tern_srv_host_of(&o->peer);
    tern_srv_counts_add(srv, &srv->per_host, &host, -1);
    o->used = false;
    o->pending = false;
    TERN_SLOTS_GIVE(&srv->obs_slots, srv->obs, hnext, (uint32_t)(o - srv->obs));
    srv->n_obs--;
}

/* ---- registration (sections 3.1, 3.6, 4.1) -------------------------------- */

/* ---- who keeps a slot: limits, proof of life, reclaiming ------------------ */

/* An unanswered check this old means the observer is gone: one
 * ACK_TIMEOUT (RFC 7252 4.8), the first retransmission's due time. */
#define SRV_CHECK_GRACE_MS 2000u

/* o answered a CON of ours: it lives at its address. */
static void prove(tern_server *srv, srv_observer *o, uint64_t now) {
    uint32_t i = (uint32_t)(o - srv->obs);
    TERN_ILIST_UNLINK(o->trusted ? &srv->trusted : &srv->probation, srv->obs, tlink, i);
    o->trusted = true;
    o->proved_ms = now;
    TERN_ILIST_APPEND(&srv->trusted, srv->obs, tlink, i);
}

static void notify_one(tern_server *srv, srv_observer *o, uint64_t now, bool force_con);

/* Put o on the due list, for a check (con) or a change of state; a queued
 * one only gains the reason. */
static void queue_due(tern_server *srv, srv_observer *o, bool con) {
    if (con) o->due_con = true;
    else o->due_change = true;
    if (o->queued) return;
    o->queued = true;
    TERN_ILIST_APPEND(&srv->due, srv->obs, clink, (uint32_t)(o - srv->obs));
}

/* Room for one more notification in the outbox? */
static bool outbox_has_room(const tern_server *srv) {
    return tern_endpoint_outbox_room(srv->ep) >= (size_t)srv->cfg.max_message + 32u;
}

static void arm_retry_at(tern_server *srv, uint64_t now) {
    uint64_t t = now + srv->cfg.notify_retry_ms;
    if (t < srv->retry_at) srv->retry_at = t;
}

static void arm_retry(tern_server *srv, uint64_t now) {
    arm_retry_at(srv, now);
    srv->retry_scan = true;
}

/* Send the due notifications while the outbox has room; the rest go at the
 * next tick, as soon as the driver has sent what waits (retry_at now).
 * While every exchange holds a CON, the round waits for ACKs: each one that
 * ends a notification frees an exchange and sends the next (obs_done), so
 * a round to 100,000 observers keeps at most max_exchanges in flight, and
 * the ACKs coming back never outnumber what the socket buffer holds. A CON
 * of someone else's ending frees one too: the retry timer looks again. */
static void drain_due(tern_server *srv, uint64_t now) {
    srv->due_on_ack = false;
    while (srv->due.head != SRV_NIL) {
        if (!outbox_has_room(srv)) {
            srv->retry_at = now;
            return;
        }
        if (!tern_endpoint_exchange_free(srv->ep)) {
            srv->due_on_ack = true;
            arm_retry_at(srv, now);
            return;
        }
        srv_observer *o = &srv->obs[srv->due.head];
        TERN_ILIST_UNLINK(&srv->due, srv->obs, clink, srv->due.head);
        o->queued = false;
        bool con = o->due_con, change = o->due_change;
        o->due_con = o->due_change = false;
        /* A change goes out (replacing a CON in flight, section 4.5.2); a
         * check needs nothing more than a CON already in flight. */
        if (change || !o->inflight) notify_one(srv, o, now, con);
    }
}

/* The table (or res's share of it, when res is not NULL) is full: take
 * back the slot of the observer whose last proof of life is oldest (one
 * that never gave one first) if a confirmable check to it has gone
 * unanswered for SRV_CHECK_GRACE_MS; else start that check. True when a
 * slot is free now. A newcomer is so never refused for an entry that is
 * dead, only kept waiting by one that may live. For a resource's share,
 * only its own observers are looked at, among the oldest few. */
#define SRV_RECLAIM_LOOK 64u

static srv_observer *oldest(tern_server *srv, const tern_resource *res) {
    tern_ilist *lists[2] = {&srv->probation, &srv->trusted};
    for (int k = 0; k < 2; k++) {
        uint32_t n = 0;
        for (uint32_t i = lists[k]->head; i != SRV_NIL && n < SRV_RECLAIM_LOOK;
             i = srv->obs[i].tlink.next, n++)
            if (res == NULL || srv->obs[i].res == res->index) return &srv->obs[i];
    }
    return NULL;
}

static bool reclaim(tern_server *srv, const tern_resource *res, uint64_t now) {
    srv_observer *v = oldest(srv, res);
    if (v == NULL) return false;
    if (v->inflight) {
        if (now < v->last_con_ms + SRV_CHECK_GRACE_MS) return false;
        srv->st.observers_reclaimed++;
        obs_remove(srv, v);
        return true;
    }
    notify_one(srv, v, now, true);
    return false;
}

bool tern_srv_observe_can_register(tern_server *srv, const tern_resource *res, const tern_addr *peer,
                                   const uint8_t *token, uint8_t token_len, uint64_t now_ms) {
    uint32_t i = find(srv, peer, token, token_len);
    bool res_room = res->n_obs < srv->cfg.max_observers_per_resource;
    if (i != SRV_NIL) return srv->obs[i].res == res->index || res_room;
    tern_addr host = tern_srv_host_of(peer);
    if (tern_srv_counts_get(srv, &srv->per_peer, peer) >= srv->cfg.max_observers_per_peer ||
        tern_srv_counts_get(srv, &srv->per_host, &host) >= srv->cfg.max_observers_per_address) {
        srv->st.plain_get_over_peer_limit++;
        return false;
    }
    if (!res_room && !reclaim(srv, res, now_ms)) return false;
    return tern_slots_any(&srv->obs_slots) || reclaim(srv, NULL, now_ms);
}

int32_t tern_srv_observe_register(tern_server *srv, tern_resource *res, const tern_addr *peer,
                             const uint8_t *token, uint8_t token_len, int32_t accept,
                             uint8_t szx, uint64_t now_ms) {
    if (!tern_srv_observe_can_register(srv, res, peer, token, token_len, now_ms)) return -1;
    uint32_t i = find(srv, peer, token, token_len);
    srv_observer *o;
    if (i != SRV_NIL) {
        /* Section 4.1: replace, don't add. A CON in flight stays tracked. */
        o = &srv->obs[i];
        if (o->res != res->index) {
            res_unlink(srv, o);
            res_link(srv, o, res);
        }
    } else {
        i = TERN_SLOTS_TAKE(&srv->obs_slots, srv->obs, hnext);
        o = &srv->obs[i];
        memset(o, 0, sizeof *o);
        o->srv = srv;
        o->used = true;
        o->peer = *peer;
        o->token_len = token_len;
        memcpy(o->token, token, token_len);
        uint32_t *head = &srv->obs_hash[key_hash(srv, peer, token, token_len) & srv->hash_mask];
        o->hnext = *head;
        *head = i;
        res_link(srv, o, res);
        TERN_ILIST_APPEND(&srv->live, srv->obs, live, i);
        o->last_con_ms = now_ms;
        srv->n_obs++;
        tern_srv_counts_add(srv, &srv->per_peer, peer, +1);
        tern_addr host = tern_srv_host_of(peer);
        tern_srv_counts_add(srv, &srv->per_host, &host, +1);
        tern_ilink_init(&o->clink);
        o->queued = o->due_con = o->due_change = false;
        if (tern_endpoint_peer_verified(srv->ep, peer)) {
            o->trusted = true;
            o->proved_ms = now_ms;
            TERN_ILIST_APPEND(&srv->trusted, srv->obs, tlink, i);
        } else {
            TERN_ILIST_APPEND(&srv->probation, srv->obs, tlink, i);
            /* Nearly full: let it prove itself at once (a check right after
             * its answer, flush()), so that it is not the next to go. */
            if (srv->cfg.max_observers - srv->n_obs <= srv->cfg.max_observers / 8) {
                queue_due(srv, o, true);
                srv->any_dirty = true;
            }
        }
    }
    o->accept = accept;
    o->szx = szx;
    o->pending = false; /* the answer carries the newest state */
    srv->st.registrations++;
    return (int32_t)bump(res);
}

bool tern_srv_observe_deregister(tern_server *srv, const tern_addr *peer, const uint8_t *token,
                            uint8_t token_len) {
    uint32_t i = find(srv, peer, token, token_len);
    if (i == SRV_NIL) return false;
    obs_remove(srv, &srv->obs[i]);
    return true;
}

/* ---- notifications (sections 3.2, 4.2-4.5) --------------------------------- */

static void final_done(void *ctx, tern_endpoint *ep, tern_tx_status st, uint64_t now_ms) {
    /* The last message to an observer already removed: nothing to do,
     * whatever became of it. ctx may point to a server being freed. */
    (void)ctx, (void)ep, (void)st, (void)now_ms;
}

static void obs_done(void *ctx, tern_endpoint *ep, tern_tx_status st, uint64_t now_ms);

/* Let the resource's GET handler make the representation for o, as the
 * answer to the GET it registered with (Uri-Path, Observe, Accept). */
static bool represent(tern_server *srv, srv_observer *o, tern_resource *res, tern_server_response *r,
                      uint64_t now, uint8_t *code) {
    if (res->def.get == NULL) return false;
    tern_msgb q;
    tern_msgb_init(&q, TERN_TYPE_CON, TERN_CODE_GET, 0);
    tern_msgb_set_token(&q, o->token, o->token_len);
    const char *pos = res->def.path, *seg = NULL;
    size_t len;
    while (tern_srv_path_next(&pos, &seg, &len))
        if (tern_msgb_add_opt(&q, TERN_OPT_URI_PATH, seg, len) < 0) return false;
    tern_msgb_add_uint(&q, TERN_OPT_OBSERVE, TERN_OBSERVE_REGISTER);
    if (o->accept >= 0) tern_msgb_add_uint(&q, TERN_OPT_ACCEPT, (uint32_t)o->accept);
    int n = tern_msgb_encode(&q, srv->notify_req_buf, srv->cfg.max_message);
    tern_msg m;
    if (n < 0 || tern_msg_parse(&m, srv->notify_req_buf, (size_t)n) < 0) return false;
    tern_server_request req = {.srv = srv,
                        .res = res,
                        .body = m.payload,
                        .body_len = m.payload_len,
                        .peer = &o->peer,
                        .msg = &m,
                        .now_ms = now,
                        .method = TERN_CODE_GET,
                        .notification = true,
                        .observe = true,
                        .accept = o->accept,
                        .cf = -1,
                        .block2 = -1};
    tern_srv_response_reset(r);
    *code = res->def.get(&req, r);
    return *code != TERN_DEFER;
}

/* Section 4.5: confirmable when the resource asks for it, every
 * notify_con_every notifications, when the last CON to this observer is
 * older than notify_con_interval_ms, and for a final one. */
static bool wants_con(const tern_server *srv, const srv_observer *o, const tern_resource *res,
                      uint64_t now) {
    return res->def.notify_con || o->since_con + 1 >= srv->cfg.notify_con_every ||
           add_sat(o->last_con_ms, srv->cfg.notify_con_interval_ms) <= now;
}

/* Section 3.2: a non-2.xx notification ends the observation. It goes out
 * confirmable, tracked by nobody: the observer is removed at once. */
static void send_final(tern_server *srv, srv_observer *o, tern_msgb *b, uint64_t now) {
    b->type = TERN_TYPE_CON;
    tern_msgb_set_token(b, o->token, o->token_len);
    tern_endpoint_send_msg(srv->ep, &o->peer, b, now, final_done, srv);
    srv->st.observers_removed_error++;
    obs_remove(srv, o);
}

/* A message to o went out: a CON is the one in flight (4.5.2) and restarts
 * the liveness clock; a NON's MID is what a RST may name (3.6). */
static void note_sent(tern_server *srv, srv_observer *o, uint8_t type, uint16_t mid,
                      uint64_t now) {
    if (type == TERN_TYPE_CON) {
        o->inflight = true;
        o->since_con = 0;
        o->non_mid_valid = false;
        touch(srv, o, now);
    } else if (type == TERN_TYPE_NON) {
        o->since_con++;
        o->non_mid = mid;
        o->non_mid_valid = true;
    }
}

/* Send r's notification, block-wise when it does not fit a datagram or
 * the registration asked for a block size (RFC 7959 2.6: the first block;
 * the observer GETs the rest). With replace, it takes the place of the CON
 * to o that is being retransmitted (RFC 7641 4.5.2). 0 or the endpoint's
 * error. */
static int send_notification(tern_server *srv, srv_observer *o, tern_server_response *r, bool con,
                             bool replace, uint64_t now) {
    srv_block2 blk;
    tern_srv_block2_begin(&blk, r, false);
    tern_srv_block2_limit(&blk, r, o->szx);
    tern_tx_done_fn done = con ? obs_done : NULL;
    void *ctx = con ? (void *)o : NULL;
    int rc;
    do {
        rc = replace ? tern_endpoint_replace(srv->ep, o, &r->b)
                     : tern_endpoint_send_msg(srv->ep, &o->peer, &r->b, now, done, ctx);
    } while (rc == TERN_E_NOSPACE && tern_srv_block2_shrink(&blk, r));
    return rc;
}

/* The round's notification for o as a template (tern_endpoint_send_template):
 * made (the GET handler run, the answer finished and encoded with no
 * token) for the first observer of a resource, Accept and block size in a
 * round, kept for the rest. NULL when o needs the general path: a final
 * (non-2.xx) notification, one too large for a datagram (block-wise
 * shrinking), or a deferring handler. */
static bool notify_template(tern_server *srv, srv_observer *o, tern_resource *res, uint64_t now) {
    if (srv->tmpl_valid && srv->tmpl_res == res->index && srv->tmpl_seq == res->seq &&
        srv->tmpl_accept == o->accept && srv->tmpl_szx == o->szx)
        return !srv->tmpl_big;
    srv->tmpl_valid = srv->tmpl_big = false;
    tern_server_response *r = &srv->resp_notify;
    uint8_t code;
    if (!represent(srv, o, res, r, now, &code)) return false;
    if (TERN_CODE_CLASS(code) == 2) tern_srv_add_etag(res, r);
    code = tern_srv_response_finish(r, code, o->accept);
    if (TERN_CODE_CLASS(code) != 2) return false;
    tern_msgb *b = &r->b;
    b->code = code;
    b->type = TERN_TYPE_NON;
    b->token_len = 0;
    tern_msgb_set_uint(b, TERN_OPT_OBSERVE, res->seq);
    tern_srv_add_max_age(srv, res, b);
    srv_block2 blk;
    tern_srv_block2_begin(&blk, r, false);
    tern_srv_block2_limit(&blk, r, o->szx);
    /* Room for the longest token beside it. */
    int n = tern_msgb_encode(b, srv->tmpl_buf, srv->cfg.max_message - TERN_TOKEN_MAX);
    if (n < 0) return false;
    srv->tmpl_len = (size_t)n;
    srv->tmpl_valid = true;
    srv->tmpl_res = res->index;
    srv->tmpl_seq = res->seq;
    srv->tmpl_accept = o->accept;
    srv->tmpl_szx = o->szx;
    return true;
}

static void notify_one(tern_server *srv, srv_observer *o, uint64_t now, bool force_con) {
    /* Section 4.5.2: one notification in flight per observer. A newer state
     * does not wait for its ACK: it replaces the message being
     * retransmitted, so the retransmissions carry the newest state. */
    bool replace = o->inflight;
    o->pending = false;
    tern_resource *res = &srv->res[o->res];
    bool con = force_con || wants_con(srv, o, res, now);
    uint16_t mid = 0;
    int rc = TERN_E_NOSPACE;
    bool tried = !replace && res->def.notify_shared && notify_template(srv, o, res, now);
    if (tried)
        rc = tern_endpoint_send_template(srv->ep, &o->peer, con ? TERN_TYPE_CON : TERN_TYPE_NON,
                                         srv->tmpl_buf, srv->tmpl_len, o->token, o->token_len,
                                         now, con ? obs_done : NULL, con ? (void *)o : NULL, &mid);
    /* Too large for a datagram (the endpoint's max_message): the general
     * path below sends it block-wise, or ends the observation. */
    if (rc != TERN_E_NOSPACE) {
        if (rc == TERN_E_FULL) {
            o->pending = true; /* the tables are full: try again shortly */
            arm_retry(srv, now);
            return;
        }
        if (rc < 0) return;
        srv->st.notifications++;
        if (con) srv->st.notifications_con++;
        note_sent(srv, o, con ? TERN_TYPE_CON : TERN_TYPE_NON, mid, now);
        return;
    }
    /* A template too large for a datagram stays marked so, for the other
     * observers of the round (the template lives in tmpl_buf: resp_notify
     * below is made for o alone). */
    if (tried) srv->tmpl_big = true;
    tern_server_response *r = &srv->resp_notify;
    uint8_t code;
    if (!represent(srv, o, res, r, now, &code)) return;
    if (TERN_CODE_CLASS(code) == 2) tern_srv_add_etag(res, r);
    code = tern_srv_response_finish(r, code, o->accept);
    tern_msgb *b = &r->b;
    b->code = code;
    if (TERN_CODE_CLASS(code) != 2) {
        send_final(srv, o, b, now);
        return;
    }
    con = con || replace;
    b->type = con ? TERN_TYPE_CON : TERN_TYPE_NON;
    tern_msgb_set_token(b, o->token, o->token_len);
    tern_msgb_set_uint(b, TERN_OPT_OBSERVE, res->seq);
    tern_srv_add_max_age(srv, res, b);
    rc = send_notification(srv, o, r, con, replace, now);
    if (rc == TERN_E_NOSPACE) {
        /* Not even a 16-byte block fits beside the options. A final 5.00
         * ends the observation (section 3.2); dropping the notification
         * would keep an observer that is never told anything, and never
         * found gone either (4.5). */
        tern_srv_response_reset(r);
        tern_server_response_diag(r, "notification too large");
        b->code = TERN_CODE_INTERNAL_SERVER_ERROR;
        send_final(srv, o, b, now);
        return;
    }
    if (rc == TERN_E_FULL || (replace && rc < 0)) {
        /* The endpoint's tables are full: try again shortly, with whatever
         * the state is by then. (A replacement that found nothing to
         * replace sends anew once the exchange has ended.) */
        o->pending = true;
        if (!replace) arm_retry(srv, now);
        return;
    }
    if (rc < 0) return;
    srv->st.notifications++;
    if (con) srv->st.notifications_con++;
    if (replace) srv->st.notifications_coalesced++;
    else note_sent(srv, o, b->type, b->mid, now);
}

static void obs_done(void *ctx, tern_endpoint *ep, tern_tx_status st, uint64_t now_ms) {
    (void)ep;
    srv_observer *o = ctx;
    tern_server *srv = o->srv;
    if (!o->used || !o->inflight) return; /* cancelled by us */
    o->inflight = false;
    switch (st) {
    case TERN_TX_ACKED:
        prove(srv, o, now_ms);
        if (o->pending) notify_one(srv, o, now_ms, false);
        break;
    case TERN_TX_RESET: /* section 3.6 */
        srv->st.observers_removed_reset++;
        obs_remove(srv, o);
        break;
    case TERN_TX_TIMEOUT: /* section 4.5: the client went away */
        srv->st.observers_removed_timeout++;
        obs_remove(srv, o);
        break;
    case TERN_TX_UNREACHABLE: /* the same, told at once by the network */
        srv->st.observers_removed_unreachable++;
        obs_remove(srv, o);
        break;
    case TERN_TX_CANCELLED:
        break;
    }
    if (srv->due_on_ack && st != TERN_TX_CANCELLED) drain_due(srv, now_ms);
}

int tern_srv_observe_respond(tern_server *srv, tern_endpoint_req_id id, tern_msgb *b, const tern_addr *peer,
                        const uint8_t *token, uint8_t token_len, uint64_t now_ms) {
    uint32_t i = find(srv, peer, token, token_len);
    srv_observer *o = i != SRV_NIL ? &srv->obs[i] : NULL;
    /* Every CON tracked under o is one o->inflight stands for (obs_remove
     * cancels it, obs_done trusts it); with a notification already in
     * flight, the answer goes untracked, as before. */
    bool track = o != NULL && !o->inflight;
    int rc = track ? tern_endpoint_respond_tracked(srv->ep, id, b, now_ms, obs_done, o)
                   : tern_endpoint_respond(srv->ep, id, b, now_ms);
    if (rc < 0 || o == NULL) return rc;
    /* The answer counts as the first notification. A separate CON (RFC 7252
     * section 5.2.2): a RST to it rejects the observation (section 3.6), a
     * give-up means the client is gone (4.5), and it is the one message in
     * flight (4.5.2), so a change meanwhile follows its ACK. A NON: a RST
     * with its MID rejects it, like one to a NON notification (3.6, RFC
     * 7252 4.3). A piggybacked ACK cannot be answered with RST: nothing to
     * match. */
    if ((b->type == TERN_TYPE_CON && track) || b->type == TERN_TYPE_NON)
        note_sent(srv, o, b->type, b->mid, now_ms);
    return rc;
}

void tern_srv_observe_flush(tern_server *srv, uint64_t now_ms) {
    /* A GET handler may itself mark a resource changed: the loop picks
     * that up, and the flag stops a nested flush. */
    if (srv->flushing || !srv->any_dirty) return;
    srv->flushing = true;
    while (srv->any_dirty) {
        srv->any_dirty = false;
        for (uint32_t i = 0; i < srv->n_res; i++) {
            tern_resource *res = &srv->res[i];
            if (!res->used || !res->dirty) continue;
            res->dirty = false;
            if (res->n_obs == 0) continue;
            bump(res);
            for (uint32_t j = res->obs.head; j != SRV_NIL; j = srv->obs[j].rlink.next)
                queue_due(srv, &srv->obs[j], false);
        }
        /* The changes, and checks of new observers while the table is
         * nearly full, as the outbox takes them. */
        drain_due(srv, now_ms);
    }
    srv->flushing = false;
}

void tern_srv_observe_remove_all(tern_server *srv, tern_resource *res, uint8_t code,
                            const char *diag, uint64_t now_ms) {
    while (res->obs.head != SRV_NIL) {
        tern_msgb b;
        tern_msgb_init(&b, TERN_TYPE_CON, code, 0);
        tern_msgb_set_payload(&b, diag, strlen(diag));
        send_final(srv, &srv->obs[res->obs.head], &b, now_ms);
    }
}

void tern_srv_observe_reset(tern_server *srv, const tern_addr *peer, uint16_t mid) {
    /* Section 3.6: a RST in answer to a NON notification. RSTs are rare;
     * a scan keeps the entry small. */
    for (uint32_t i = 0; i < tern_slots_end(&srv->obs_slots); i++) {
        srv_observer *o = &srv->obs[i];
        if (o->used && o->non_mid_valid && o->non_mid == mid && tern_addr_equal(&o->peer, peer)) {
            srv->st.observers_removed_reset++;
            obs_remove(srv, o);
        }
    }
}

bool tern_srv_observe_unreachable(tern_server *srv, const tern_addr *peer, uint16_t mid,
                                  const uint8_t *token, size_t token_len) {
    /* Section 4.5: an observer that cannot be reached is gone. The error
     * must name the NON notification it was sent (a forged one quoting
     * nothing ends nothing); a CON's error ended its exchange already
     * (obs_done). ICMP errors are rare: a scan. */
    bool named = false;
    for (uint32_t i = 0; i < tern_slots_end(&srv->obs_slots); i++) {
        srv_observer *o = &srv->obs[i];
        if (!o->used || !o->non_mid_valid || o->non_mid != mid || !tern_addr_equal(&o->peer, peer))
            continue;
        if (token && (token_len != o->token_len || memcmp(token, o->token, token_len) != 0))
            continue;
        srv->st.observers_removed_unreachable++;
        obs_remove(srv, o);
        named = true;
    }
    return named;
}

void tern_srv_observe_tick(tern_server *srv, uint64_t now_ms) {
    if (srv->retry_at <= now_ms) {
        srv->retry_at = UINT64_MAX;
        drain_due(srv, now_ms);
        if (srv->retry_scan) { /* the tables were full: everyone waiting */
            srv->retry_scan = false;
            for (uint32_t i = 0; i < tern_slots_end(&srv->obs_slots); i++) {
                srv_observer *o = &srv->obs[i];
                if (o->used && o->pending && !o->inflight) notify_one(srv, o, now_ms, false);
            }
        }
    }
    /* Section 4.5 liveness: the head of the list is the observer whose last
     * CON is oldest. touch() moves it to the tail with now, so each observer
     * is looked at once per round. */
    while (srv->live.head != SRV_NIL) {
        srv_observer *o = &srv->obs[srv->live.head];
        if (add_sat(o->last_con_ms, srv->cfg.notify_con_interval_ms) > now_ms) break;
        touch(srv, o, now_ms);
        if (o->inflight) continue; /* that CON is the check */
        bump(&srv->res[o->res]);
        notify_one(srv, o, now_ms, true);
    }
}

uint64_t tern_srv_observe_deadline(const tern_server *srv) {
    uint64_t t = srv->retry_at;
    if (srv->live.head != SRV_NIL) {
        uint64_t due =
            add_sat(srv->obs[srv->live.head].last_con_ms, srv->cfg.notify_con_interval_ms);
        if (due < t) t = due;
    }
    return t;
}
