/* SPDX-License-Identifier: BSD-2-Clause */
/* observe.c - the Observe client (RFC 7641 section 3).
 *
 * Registration (3.1) is the stored GET with Observe=0. The first answer
 * decides: a 2.xx with Observe establishes the observation; anything else
 * (no Observe, or an error code) is a plain response and ends it (3.2, 4.1).
 * Each notification is delivered only if it is fresher than the last one
 * delivered (3.4: sequence number within 2^23, or 128 s later), so that
 * reordered datagrams never show an older state after a newer one; stale ones
 * are still ACKed (we return 0) but not shown. A notification is fresh for
 * Max-Age seconds (3.2, default 60); when that plus a margin passes without
 * one, the client re-registers with the same token (3.3.1). Cancelling is
 * either forgetting the token, so that the next notification draws a RST,
 * or a GET with Observe=1 (3.6). A notification that is block 0 of a larger
 * body is completed by block2.c first (RFC 7959 section 2.6) when the
 * caller gave a body buffer. */
#include "client/client_int.h"

/* RFC 7252 section 5.10.5: Max-Age defaults to 60 seconds. */
#define OBSERVE_DEFAULT_MAX_AGE_S 60u

int tern_client_observe(tern_client *cli, const tern_addr *peer, tern_msgb *req,
                        uint32_t timeout_ms, tern_client_fn fn, void *ctx, uint64_t now_ms,
                        tern_client_op_id *id) {
    if (!req) return TERN_E_INVAL;
    int rc = tern_msgb_set_uint(req, TERN_OPT_OBSERVE, TERN_OBSERVE_REGISTER);
    if (rc < 0) return rc;
    return tern_cl_start(cli, peer, req, timeout_ms, fn, ctx, now_ms, SLOT_OBS_REGISTER, false, NULL, 0,
                        id);
}

int tern_client_observe_body(tern_client *cli, const tern_addr *peer, tern_msgb *req,
                             uint8_t *body, size_t body_cap, uint32_t timeout_ms,
                             tern_client_fn fn, void *ctx, uint64_t now_ms, tern_client_op_id *id) {
    if (!req || !body) return TERN_E_INVAL;
    int rc = tern_msgb_set_uint(req, TERN_OPT_OBSERVE, TERN_OBSERVE_REGISTER);
    if (rc < 0) return rc;
    return tern_cl_start(cli, peer, req, timeout_ms, fn, ctx, now_ms, SLOT_OBS_REGISTER, false, body,
                        body_cap, id);
}

/* Section 3.3.1: re-register once the latest notification is no longer
 * fresh. */
static void observe_arm(client_slot *s, const tern_msg *resp, uint64_t now_ms) {
    uint32_t max_age = OBSERVE_DEFAULT_MAX_AGE_S;
    (void)tern_cl_get_uint(resp, TERN_OPT_MAX_AGE, &max_age);
    s->deadline = now_ms + (uint64_t)max_age * 1000u + s->cli->cfg.observe_margin_ms;
}

void tern_cl_observe_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms) {
    uint32_t seq;
    bool has_obs = tern_cl_get_uint(resp, TERN_OPT_OBSERVE, &seq);
    bool success = TERN_CODE_CLASS(resp->code) == 2;

    if (s->state == SLOT_OBS_DEREGISTER) {
        /* Notifications sent before the server saw the deregistration carry
         * Observe; the answer to it does not (it is a plain GET response),
         * and a piggybacked answer is ours whatever it carries. */
        if (has_obs && resp->type != TERN_TYPE_ACK) return;
        tern_cl_finish(s, TERN_E_CANCELLED, resp, now_ms);
        return;
    }

    /* Section 3.2 / 4.2: an answer without Observe, or an error, means the
     * server does not (or no longer) keep us on its list: the last call. */
    if (!has_obs || !success) {
        /* RFC 7959 section 2.6: an unobserved answer that is block 0 of a
         * larger body is completed as a plain request's would be
         * (tern_client_observe_body); the last call comes once it is whole. */
        tern_block blk;
        if (success && s->b2_buf && tern_msg_get_block(resp, TERN_OPT_BLOCK2, &blk) == 0 &&
            blk.more) {
            s->state = SLOT_REQUEST;
            s->b2_obs_fetch = false;
            s->b2_len = 0;
            s->b2_restarts = 0;
            s->deadline = now_ms + s->timeout_ms;
            tern_cl_block2_on_response(s, resp, now_ms);
            return;
        }
        tern_cl_finish(s, 0, resp, now_ms);
        return;
    }

    /* The piggybacked answer to our own (re-)registration is the current
     * state by definition, even if the server restarted its sequence
     * numbers; any other notification must pass the freshness rule. */
    bool direct = resp->type == TERN_TYPE_ACK &&
                  (s->state == SLOT_OBS_REGISTER || s->state == SLOT_OBS_REREGISTER);
    if (s->has_last && !direct && !tern_observe_is_fresher(s->last_seq, s->last_ms, seq, now_ms))
        return;

    s->has_last = true;
    s->last_seq = seq;
    s->last_ms = now_ms;
    s->state = SLOT_OBS_ACTIVE;
    observe_arm(s, resp, now_ms);
    /* RFC 7959 section 2.6: block 0 of a larger body is delivered once the
     * rest is in (tern_client_observe_body). */
    if (tern_cl_block2_obs_start(s, resp, seq, now_ms)) return;
    (void)tern_cl_deliver(s, 0, resp, true, now_ms);
}

void tern_cl_observe_on_timer(client_slot *s, uint64_t now_ms) {
    switch (s->state) {
    case SLOT_OBS_ACTIVE: {
        /* Max-Age ran out without a notification: ask again, same token.
         * Completing an old notification (RFC 7959 section 2.6) is moot:
         * the answer brings the current state. */
        s->b2_obs_fetch = false;
        s->state = SLOT_OBS_REREGISTER;
        s->deadline = now_ms + s->timeout_ms;
        int rc = tern_cl_transmit(s->cli, s, now_ms);
        if (rc < 0) tern_cl_finish(s, rc, NULL, now_ms);
        break;
    }
    case SLOT_OBS_DEREGISTER:
        tern_cl_finish(s, TERN_E_CANCELLED, NULL, now_ms);
        break;
    default: /* no answer to the registration or re-registration */
        tern_cl_finish(s, TERN_E_TIMEOUT, NULL, now_ms);
        break;
    }
}
