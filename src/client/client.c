/* SPDX-License-Identifier: BSD-2-Clause */
/* client.c - the client's request table: tokens and matching (RFC 7252
 * sections 5.3.1 and 5.3.2), the whole-request deadline, and the outcome of
 * confirmable requests reported by the endpoint (section 4.2: RST, give-up;
 * and an unreachable peer, which ends every request to it).
 *
 * Every request or observation owns a slot found by token and peer. The
 * endpoint reports a CON's fate through done(ctx = slot); a slot stays
 * reserved (SLOT_ZOMBIE) until that report came, so slots are never confused.
 * Nothing here calls into the endpoint from inside one of its callbacks:
 * what must be sent then waits for the next tick (send_pending), which the
 * io loop runs at once because next_deadline says "now". */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "client/client_int.h"

#define CLIENT_DEFAULT_MAX_REQUESTS 16u
#define CLIENT_DEFAULT_REQUEST_SIZE 1152u /* section 4.6: fits any path MTU */
#define CLIENT_DEFAULT_MARGIN_MS 2000u

void tern_client_config_default(tern_client_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->size = (uint32_t)sizeof *cfg;
    cfg->max_requests = CLIENT_DEFAULT_MAX_REQUESTS;
    cfg->max_request_size = CLIENT_DEFAULT_REQUEST_SIZE;
    cfg->timeout_ms = TERN_CLIENT_DEFAULT_TIMEOUT_MS;
    cfg->observe_margin_ms = CLIENT_DEFAULT_MARGIN_MS;
}

int tern_client_new(tern_client **out, tern_endpoint *ep, const tern_client_config *cfg) {
    if (!out) return TERN_E_INVAL;
    *out = NULL;
    if (!ep) return TERN_E_INVAL;
    /* tern/config.h: the caller's struct over the defaults; 0 takes the
     * default except in observe_margin_ms, where it is a value. */
    tern_client_config c, d;
    tern_client_config_default(&d);
    c = d;
    if (tern_base_config_load(&c, sizeof c, cfg,
                              offsetof(tern_client_config, observe_margin_ms) +
                                  sizeof c.observe_margin_ms) < 0)
        return TERN_E_INVAL;
    if (!c.max_requests) c.max_requests = d.max_requests;
    if (!c.max_request_size) c.max_request_size = d.max_request_size;
    if (!c.timeout_ms) c.timeout_ms = d.timeout_ms;
    if (c.max_requests > 65536 || c.max_request_size < TERN_HEADER_LEN + TERN_TOKEN_MAX ||
        c.max_request_size > 65536)
        return TERN_E_INVAL;
    tern_client *cli = calloc(1, sizeof *cli);
    if (!cli) return TERN_E_NOMEM;
    cli->slots = calloc(c.max_requests, sizeof *cli->slots);
    cli->store = malloc((size_t)c.max_requests * c.max_request_size);
    if (!cli->slots || !cli->store) {
        free(cli->slots);
        free(cli->store);
        free(cli);
        return TERN_E_NOMEM;
    }
    cli->ep = ep;
    cli->cfg = c;
    cli->next_id = 1;
    for (uint32_t i = 0; i < c.max_requests; i++) {
        cli->slots[i].cli = cli;
        cli->slots[i].req = cli->store + (size_t)i * c.max_request_size;
    }
    *out = cli;
    return 0;
}

void tern_client_free(tern_client *cli) {
    if (!cli) return;
    /* The endpoint may outlive us (io frees the client first): no done()
     * may point at freed slots afterwards. */
    for (uint32_t i = 0; i < cli->cfg.max_requests; i++) {
        client_slot *s = &cli->slots[i];
        s->fn = NULL;
        s->state = SLOT_ZOMBIE;
        if (s->tx_count) tern_endpoint_cancel(cli->ep, s);
    }
    free(cli->slots);
    free(cli->store);
    free(cli);
}

size_t tern_client_active(const tern_client *cli) {
    size_t n = 0;
    for (uint32_t i = 0; i < cli->cfg.max_requests; i++) {
        client_state st = cli->slots[i].state;
        if (st != SLOT_FREE && st != SLOT_ZOMBIE) n++;
    }
    return n;
}

static client_slot *client_find_id(tern_client *cli, tern_client_op_id id) {
    if (id == 0) return NULL;
    for (uint32_t i = 0; i < cli->cfg.max_requests; i++) {
        client_slot *s = &cli->slots[i];
        if (s->id == id && s->state != SLOT_FREE && s->state != SLOT_ZOMBIE) return s;
    }
    return NULL;
}

/* Section 5.3.2: a response matches by token and by the endpoint it came
 * from. */
static client_slot *client_find_token(tern_client *cli, const tern_addr *peer,
                                      const uint8_t *token, size_t token_len) {
    for (uint32_t i = 0; i < cli->cfg.max_requests; i++) {
        client_slot *s = &cli->slots[i];
        if (s->state == SLOT_FREE || s->state == SLOT_ZOMBIE) continue;
        /* Section 8.2: the answers to a group request come from each
         * server's own address; the token alone matches them. */
        if (!s->group && !tern_addr_equal(&s->peer, peer)) continue;
        if (s->token_len == token_len && memcmp(s->token, token, token_len) == 0) return s;
        /* RFC 7959 section 2.6: the GET completing a notification. */
        if (s->b2_obs_fetch && s->b2_token_len == token_len &&
            memcmp(s->b2_token, token, token_len) == 0)
            return s;
    }
    return NULL;
}

/* Section 5.3.1: a fresh random token, unique among our requests to this
 * peer (a collision would mix two answers up). */
size_t tern_cl_new_token(tern_client *cli, const tern_addr *peer, uint8_t token[TERN_TOKEN_MAX]) {
    for (int tries = 0; tries < 8; tries++) {
        size_t tl = tern_endpoint_new_token(cli->ep, token);
        if (!client_find_token(cli, peer, token, tl)) return tl;
    }
    return 0;
}

/* ---- sending ---------------------------------------------------------------- */

static void client_tx_done(void *ctx, tern_endpoint *ep, tern_tx_status status, uint64_t now_ms);

/* Stop the endpoint's retransmission of our CON; done(CANCELLED) follows. */
static void client_cancel_tx(tern_client *cli, client_slot *s) {
    if (s->tx_count == 0) return;
    if (tern_endpoint_cancel(cli->ep, s) == TERN_E_NOTFOUND) s->tx_count = 0;
}

static int client_send_now(tern_client *cli, client_slot *s, uint64_t now_ms) {
    tern_msg m;
    tern_msgb b;
    int rc = tern_msg_parse(&m, s->req, s->req_len);
    if (rc < 0) return rc;
    if ((rc = tern_msgb_from_msg(&b, &m)) < 0) return rc;
    /* RFC 7641 section 3.6: deregistration is the same request with
     * Observe=1 (same token, so the server finds the registration). */
    if (s->state == SLOT_OBS_DEREGISTER &&
        (rc = tern_msgb_set_uint(&b, TERN_OPT_OBSERVE, TERN_OBSERVE_DEREGISTER)) < 0)
        return rc;
    if (s->block1 && (rc = tern_cl_block1_fill(s, &b)) < 0) return rc;
    /* RFC 7959 section 2.6: the rest of a notification comes from a plain
     * GET (no Observe: it must not register again) under its own token. */
    bool obs_fetch = s->b2_obs_fetch && s->state == SLOT_OBS_ACTIVE;
    if (obs_fetch || s->b2_active) tern_msgb_remove_opt(&b, TERN_OPT_OBSERVE);
    if (obs_fetch) {
        if ((rc = tern_msgb_set_token(&b, s->b2_token, s->b2_token_len)) < 0) return rc;
    }
    if ((s->b2_active || obs_fetch) && (rc = tern_cl_block2_fill(s, &b)) < 0) return rc;
    /* RFC 9175 section 2.4: the Echo the server asked for, once. */
    if (s->echo_len && (rc = tern_msgb_add_opt(&b, TERN_OPT_ECHO, s->echo, s->echo_len)) < 0)
        return rc;
    /* One CON of a slot in flight at a time: a re-registration replaces a
     * registration the server never answered. */
    client_cancel_tx(cli, s);
    bool con = b.type == TERN_TYPE_CON;
    rc = tern_endpoint_send_msg(cli->ep, &s->peer, &b, now_ms, con ? client_tx_done : NULL,
                                con ? s : NULL);
    if (rc < 0) return rc;
    s->mid = b.mid;
    s->echo_len = 0;
    if (con) s->tx_count++;
    return 0;
}

/* RFC 9175 section 2.4: a 4.01 with an Echo option asks the client to show
 * it receives at its address: the same request again, with that Echo,
 * under a fresh token. Up to twice per request (a server whose Echo never
 * satisfies it gets its 4.01 delivered). True when the request went again. */
static bool client_answer_echo(client_slot *s, const tern_msg *resp, uint64_t now_ms) {
    tern_opt echo;
    if (resp->code != TERN_CODE_UNAUTHORIZED || s->group || s->echo_tries >= 2 ||
        tern_msg_find_opt(resp, TERN_OPT_ECHO, &echo) < 0 || echo.len == 0 ||
        echo.len > sizeof s->echo)
        return false;
    /* Only an answer to the slot's own token: a GET completing a
     * notification (RFC 7959 2.6) is a request of its own. */
    if (resp->token_len != s->token_len || memcmp(resp->token, s->token, s->token_len) != 0)
        return false;
    memcpy(s->echo, echo.val, echo.len);
    s->echo_len = (uint8_t)echo.len;
    s->echo_tries++;
    tern_cl_send_next(s, now_ms);
    return true;
}

int tern_cl_transmit(tern_client *cli, client_slot *s, uint64_t now_ms) {
    if (cli->in_endpoint) {
        s->send_pending = true;
        return 0;
    }
    s->send_pending = false;
    return client_send_now(cli, s, now_ms);
}

/* RFC 7959: each block is a request of its own with a fresh token, so that a
 * late answer to an earlier block never matches the current one (RFC 7252
 * section 5.3.2; see block1.c). */
void tern_cl_send_next(client_slot *s, uint64_t now_ms) {
    uint8_t token[TERN_TOKEN_MAX];
    size_t tl = tern_cl_new_token(s->cli, &s->peer, token);
    /* The endpoint's tokens have a fixed length, so the stored request's
     * token is rewritten in place. */
    if (tl == 0 || tl != s->token_len) {
        tern_cl_finish(s, TERN_E_FULL, NULL, now_ms);
        return;
    }
    memcpy(s->token, token, tl);
    memcpy(s->req + TERN_HEADER_LEN, token, tl);
    int rc = tern_cl_transmit(s->cli, s, now_ms);
    if (rc < 0) tern_cl_finish(s, rc, NULL, now_ms);
}

/* ---- delivering ------------------------------------------------------------- */

bool tern_cl_deliver(client_slot *s, int err, const tern_msg *resp, bool observing,
                    uint64_t now_ms) {
    tern_client_event ev = {
        .err = err, .resp = resp, .peer = s->from ? s->from : &s->peer, .observing = observing};
    uint32_t seq;
    if (resp && tern_cl_get_uint(resp, TERN_OPT_OBSERVE, &seq)) {
        ev.has_observe = true;
        ev.observe = seq;
    } else if (s->b2_deliver_seq) {
        /* RFC 7959 section 2.6: a body completed by GET is the notification
         * whose first block started it. */
        ev.has_observe = true;
        ev.observe = s->b2_seq;
    }
    s->b2_deliver_seq = false;
    tern_client_op_id id = s->id;
    if (s->fn) s->fn(s->ctx, s->cli, id, &ev, now_ms);
    /* The callback may have cancelled this request and started another in
     * the same slot. */
    return s->id == id && s->state != SLOT_FREE && s->state != SLOT_ZOMBIE;
}

void tern_cl_release(client_slot *s) {
    s->send_pending = false;
    s->fn = NULL;
    s->deadline = UINT64_MAX;
    if (s->tx_count == 0) {
        s->state = SLOT_FREE;
        return;
    }
    s->state = SLOT_ZOMBIE;
    /* Inside an endpoint callback the cancel waits for the tick. */
    if (!s->cli->in_endpoint) client_cancel_tx(s->cli, s);
    if (s->tx_count == 0) s->state = SLOT_FREE;
}

void tern_cl_finish(client_slot *s, int err, const tern_msg *resp, uint64_t now_ms) {
    if (tern_cl_deliver(s, err, resp, false, now_ms)) tern_cl_release(s);
}

static void client_tx_done(void *ctx, tern_endpoint *ep, tern_tx_status status, uint64_t now_ms) {
    (void)ep;
    client_slot *s = ctx;
    tern_client *cli = s->cli;
    if (s->tx_count) s->tx_count--;
    if (s->state == SLOT_ZOMBIE) {
        if (s->tx_count == 0) s->state = SLOT_FREE;
        return;
    }
    /* ACKED: the answer came piggybacked (handled in handle_response) or
     * comes later as a separate response (section 5.2.2). CANCELLED: our own
     * doing, already accounted for. */
    if (status == TERN_TX_ACKED || status == TERN_TX_CANCELLED || s->state == SLOT_FREE) return;
    cli->in_endpoint++;
    int err = status == TERN_TX_RESET         ? TERN_E_RESET
              : status == TERN_TX_UNREACHABLE ? TERN_E_UNREACHABLE
                                              : TERN_E_TIMEOUT;
    switch (s->state) {
    case SLOT_OBS_DEREGISTER:
        /* The observation is gone for us either way. */
        tern_cl_finish(s, TERN_E_CANCELLED, NULL, now_ms);
        break;
    case SLOT_OBS_ACTIVE:
        /* A re-registration failed, yet notifications arrived meanwhile: a
         * timeout is no reason to stop; a RST means the server refuses, an
         * unreachable port that no server is left to notify us. */
        if (status != TERN_TX_TIMEOUT) tern_cl_finish(s, err, NULL, now_ms);
        break;
    default:
        tern_cl_finish(s, err, NULL, now_ms);
        break;
    }
    cli->in_endpoint--;
}

/* ---- starting ------------------------------------------------------------- */

int tern_cl_start(tern_client *cli, const tern_addr *peer, tern_msgb *req, uint32_t timeout_ms,
                 tern_client_fn fn, void *ctx, uint64_t now_ms, client_state state, bool group,
                 uint8_t *body, size_t body_cap, tern_client_op_id *id) {
    if (!cli || !peer || !req || !fn) return TERN_E_INVAL;
    if (req->type != TERN_TYPE_CON && req->type != TERN_TYPE_NON) return TERN_E_INVAL;
    if (!tern_code_is_request(req->code)) return TERN_E_INVAL;
    client_slot *s = NULL;
    for (uint32_t i = 0; i < cli->cfg.max_requests && !s; i++)
        if (cli->slots[i].state == SLOT_FREE) s = &cli->slots[i];
    if (!s) return TERN_E_FULL;

    uint8_t token[TERN_TOKEN_MAX];
    size_t tl = tern_cl_new_token(cli, peer, token);
    if (tl == 0) return TERN_E_FULL;
    int rc = tern_msgb_set_token(req, token, tl);
    if (rc < 0) return rc;
    req->mid = 0;
    s->block1 = false;
    s->group = group;
    s->echo_len = 0;
    s->echo_tries = 0;
    s->from = NULL;
    s->body = NULL;
    s->body_len = 0;
    s->b1_off = 0;
    s->b2_buf = body;
    s->b2_cap = body_cap;
    s->b2_len = 0;
    s->b2_active = false;
    s->b2_has_etag = false;
    s->b2_restarts = 0;
    s->b2_obs_fetch = false;
    s->b2_deliver_seq = false;
    rc = tern_msgb_encode(req, s->req, cli->cfg.max_request_size);
    /* RFC 7959 section 2.5: a payload that does not fit one datagram goes
     * block-wise (plain requests only: an observation's payload-less GET
     * never needs it). */
    if (rc == TERN_E_NOSPACE && state == SLOT_REQUEST && !group && req->payload_len > 0)
        rc = tern_cl_block1_setup(cli, s, req);
    if (rc < 0) return rc;

    memset(&s->peer, 0, sizeof s->peer);
    s->peer = *peer;
    memcpy(s->token, token, tl);
    s->token_len = (uint8_t)tl;
    s->type = req->type;
    s->req_len = (size_t)rc;
    s->id = cli->next_id++;
    if (cli->next_id == 0) cli->next_id = 1;
    s->state = state;
    s->send_pending = false;
    s->timeout_ms = timeout_ms ? timeout_ms : cli->cfg.timeout_ms;
    s->deadline = now_ms + s->timeout_ms;
    s->fn = fn;
    s->ctx = ctx;
    s->has_last = false;
    rc = tern_cl_transmit(cli, s, now_ms);
    if (rc < 0) {
        tern_cl_release(s);
        return rc;
    }
    if (id) *id = s->id;
    return 0;
}

/* ---- what a response may carry (RFC 7252 section 5.4) -------------------- */

/* The critical options a client acts on in a response: Block1 and Block2
 * (RFC 7959). The other critical options of the registry are request
 * options, or belong to OSCORE (RFC 8613) and Q-Block (RFC 9177), which
 * tern does not speak (README, "What tern does not do"): in a response each
 * of them is unrecognised, and the response is rejected (RFC 7252 5.4.1)
 * rather than taken without the protection or the blocks it announces. */
static bool client_understands(uint16_t num) {
    return num == TERN_OPT_BLOCK1 || num == TERN_OPT_BLOCK2;
}

/* Section 5.4.1: a response with a critical option the client cannot
 * process "MUST be rejected": unrecognised, repeated where it may not be
 * (5.4.5), of a length outside its range (5.4.3), or Block1/Block2 with the
 * reserved SZX 7 (RFC 7959 section 2.2), which leaves no block to take.
 * Elective options, recognised or not, never reject it (5.4.1), however
 * many there are. */
static bool client_can_process(const tern_msg *m) {
    tern_opt_iter it;
    tern_opt o;
    uint16_t prev = 0;
    unsigned count = 0;
    tern_opt_iter_init(&it, m);
    while (tern_opt_next(&it, &o)) {
        count = o.num == prev ? count + 1 : 1;
        prev = o.num;
        if (!tern_opt_is_critical(o.num)) continue;
        const tern_opt_def *d = tern_opt_lookup(o.num);
        if (d == NULL || !client_understands(o.num)) return false;
        if ((count > 1 && !d->repeatable) || o.len < d->min_len || o.len > d->max_len)
            return false;
        uint32_t v;
        tern_block blk;
        if (tern_opt_uint_decode(o.val, o.len, &v) < 0 || tern_block_decode(v, &blk) < 0)
            return false;
    }
    return true;
}

bool tern_cl_get_uint(const tern_msg *m, uint16_t num, uint32_t *val) {
    /* Section 5.4.3: an elective option of a length outside its range is
     * ignored, as if absent. */
    tern_opt o;
    const tern_opt_def *d = tern_opt_lookup(num);
    if (tern_msg_find_opt(m, num, &o) < 0 || (d && o.len > d->max_len)) return false;
    return tern_opt_uint_decode(o.val, o.len, val) == 0;
}

/* ---- endpoint entry points ------------------------------------------------- */

int tern_client_handle_response(tern_client *cli, const tern_addr *peer, const tern_msg *resp,
                                uint64_t now_ms) {
    if (!cli || !resp) return TERN_E_REJECT;
    client_slot *s = client_find_token(cli, peer, resp->token, resp->token_len);
    if (!s) return TERN_E_REJECT;
    /* Sections 4.2 and 5.3.2: a piggybacked response answers the CON whose
     * MID its ACK carries; the right token under another MID is not ours. */
    if (resp->type == TERN_TYPE_ACK && resp->mid != s->mid) return TERN_E_REJECT;
    /* Section 5.4.1: rejected, not shown: a piggybacked one leaves the
     * request outstanding (its CON is retransmitted and a later ACK may
     * answer it), a CON one draws a RST, a NON one is dropped. */
    if (!client_can_process(resp)) return TERN_E_REJECT;
    cli->in_endpoint++;
    s->from = peer;
    if (client_answer_echo(s, resp, now_ms))
        ;
    else if (s->state == SLOT_REQUEST)
        tern_cl_request_on_response(s, resp, now_ms);
    else if (s->b2_obs_fetch && (resp->token_len != s->token_len ||
                                 memcmp(resp->token, s->token, s->token_len) != 0))
        tern_cl_block2_obs_on_response(s, resp, now_ms);
    else
        tern_cl_observe_on_response(s, resp, now_ms);
    s->from = NULL;
    cli->in_endpoint--;
    return 0;
}

/* A RST matching no tracked CON: here, the answer to one of our NON
 * requests (section 4.3: RST means the message could not be processed). */
void tern_client_handle_reset(tern_client *cli, const tern_addr *peer, uint16_t mid,
                              uint64_t now_ms) {
    if (!cli) return;
    for (uint32_t i = 0; i < cli->cfg.max_requests; i++) {
        client_slot *s = &cli->slots[i];
        if (s->state == SLOT_FREE || s->state == SLOT_ZOMBIE || s->type != TERN_TYPE_NON ||
            s->send_pending || s->mid != mid || !tern_addr_equal(&s->peer, peer))
            continue;
        cli->in_endpoint++;
        tern_cl_finish(s, s->state == SLOT_OBS_DEREGISTER ? TERN_E_CANCELLED : TERN_E_RESET, NULL,
                      now_ms);
        cli->in_endpoint--;
        return;
    }
}

/* An ICMP error quoted a NON of ours to peer (mid; token when quoted): the
 * request that sent it ends with TERN_E_UNREACHABLE (a deregistration in
 * progress with TERN_E_CANCELLED). CONs end through their exchange. */
bool tern_client_handle_unreachable(tern_client *cli, const tern_addr *peer, uint16_t mid,
                                    const uint8_t *token, size_t token_len, uint64_t now_ms) {
    if (!cli || !peer) return false;
    bool named = false;
    cli->in_endpoint++;
    for (uint32_t i = 0; i < cli->cfg.max_requests; i++) {
        client_slot *s = &cli->slots[i];
        if (s->state == SLOT_FREE || s->state == SLOT_ZOMBIE || s->send_pending || s->mid != mid ||
            !tern_addr_equal(&s->peer, peer))
            continue;
        if (token) { /* the request's token, or the one its Block2 fetch uses */
            bool own = token_len == s->token_len && memcmp(token, s->token, token_len) == 0;
            bool fetch = s->b2_obs_fetch && token_len == s->b2_token_len &&
                         memcmp(token, s->b2_token, token_len) == 0;
            if (!own && !fetch) continue;
        }
        tern_cl_finish(s, s->state == SLOT_OBS_DEREGISTER ? TERN_E_CANCELLED : TERN_E_UNREACHABLE,
                       NULL, now_ms);
        named = true;
        break;
    }
    cli->in_endpoint--;
    return named;
}

/* ---- timers ---------------------------------------------------------------- */

uint64_t tern_client_next_deadline(const tern_client *cli) {
    uint64_t d = UINT64_MAX;
    if (!cli) return d;
    for (uint32_t i = 0; i < cli->cfg.max_requests; i++) {
        const client_slot *s = &cli->slots[i];
        if (s->state == SLOT_FREE) continue;
        /* Work waiting for a tick outside the endpoint's callbacks: now. */
        if (s->send_pending || (s->state == SLOT_ZOMBIE && s->tx_count)) return 0;
        if (s->deadline < d) d = s->deadline;
    }
    return d;
}

void tern_client_tick(tern_client *cli, uint64_t now_ms) {
    if (!cli) return;
    for (uint32_t i = 0; i < cli->cfg.max_requests; i++) {
        client_slot *s = &cli->slots[i];
        if (s->state == SLOT_FREE) continue;
        if (s->state == SLOT_ZOMBIE) {
            client_cancel_tx(cli, s);
            if (s->tx_count == 0) s->state = SLOT_FREE;
            continue;
        }
        if (s->send_pending) {
            s->send_pending = false;
            int rc = client_send_now(cli, s, now_ms);
            if (rc < 0) {
                tern_cl_finish(s, rc, NULL, now_ms);
                continue;
            }
        }
        if (s->deadline > now_ms) continue;
        if (s->state == SLOT_REQUEST)
            tern_cl_finish(s, TERN_E_TIMEOUT, NULL, now_ms);
        else
            tern_cl_observe_on_timer(s, now_ms);
    }
}

/* ---- cancelling ------------------------------------------------------------ */

int tern_client_cancel(tern_client *cli, tern_client_op_id id, uint64_t now_ms) {
    (void)now_ms;
    if (!cli) return TERN_E_INVAL;
    client_slot *s = client_find_id(cli, id);
    if (!s) return TERN_E_NOTFOUND;
    tern_cl_release(s);
    return 0;
}

int tern_client_deregister(tern_client *cli, tern_client_op_id id, uint64_t now_ms) {
    if (!cli) return TERN_E_INVAL;
    client_slot *s = client_find_id(cli, id);
    if (!s) return TERN_E_NOTFOUND;
    if (s->state == SLOT_REQUEST) return TERN_E_STATE;
    if (s->state == SLOT_OBS_DEREGISTER) return 0;
    client_state prev = s->state;
    uint64_t prev_deadline = s->deadline;
    /* The rest of a notification is no longer wanted. */
    s->b2_obs_fetch = false;
    s->state = SLOT_OBS_DEREGISTER;
    s->deadline = now_ms + s->timeout_ms;
    int rc = tern_cl_transmit(cli, s, now_ms);
    if (rc < 0) {
        s->state = prev;
        s->deadline = prev_deadline;
    }
    return rc;
}
