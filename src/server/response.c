/* SPDX-License-Identifier: BSD-2-Clause */
/* response.c - the response a handler fills, and how an answer leaves
 * (RFC 7252 sections 5.2, 5.5.2, 5.9, 5.10.4; RFC 7959 sections 2.4 and
 * 2.6 for Block2, asked for by the client or needed to fit a datagram).
 *
 * A response is a tern_msgb plus an arena of max_message bytes into which
 * every option value and the payload are copied, so a handler may build its
 * answer from stack buffers that are gone by the time it is encoded. A
 * failure to fit (or too many options) is latched: the server then answers
 * 5.00 instead of sending a truncated representation.
 *
 * Every answer, immediate or deferred, and every notification passes through
 * tern_srv_response_finish(), which enforces what the RFC asks of all of them:
 * a response code (not a method or 0.00), and a Content-Format that matches
 * the request's Accept (5.10.4: otherwise 4.06).
 *
 * A 2.xx representation larger than a datagram (the endpoint answers
 * TERN_E_NOSPACE) is sent block-wise (block2.c): the first block of the
 * largest size that fits, whether the client asked for Block2 or not; it
 * fetches the rest. Only when not even a 16-byte block fits does the answer
 * become 5.00. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"

int tern_srv_response_init(tern_server_response *r, tern_server *srv, size_t cap) {
    memset(r, 0, sizeof *r);
    r->srv = srv;
    r->arena = malloc(cap);
    r->cap = cap;
    tern_srv_response_reset(r);
    return r->arena ? 0 : TERN_E_FULL;
}

void tern_srv_response_reset(tern_server_response *r) {
    tern_msgb_init(&r->b, TERN_TYPE_CON, TERN_CODE_EMPTY, 0);
    r->used = 0;
    r->failed = false;
}

void tern_srv_response_free(tern_server_response *r) {
    free(r->arena);
    r->arena = NULL;
}

static void *arena_copy(tern_server_response *r, const void *data, size_t len) {
    if (len > r->cap - r->used) {
        r->failed = true;
        return NULL;
    }
    uint8_t *p = r->arena + r->used;
    if (len) memcpy(p, data, len);
    r->used += len;
    return p;
}

static bool msgb_has(const tern_msgb *b, uint16_t num) {
    if (!(b->present & (uint64_t)1 << (num & 63u))) return false;
    for (size_t i = 0; i < b->n_opts; i++)
        if (b->opts[i].num == num) return true;
    return false;
}

int tern_server_response_payload(tern_server_response *r, uint16_t cf, const void *data, size_t len) {
    void *p = arena_copy(r, data, len);
    if (p == NULL && len) return TERN_E_NOSPACE;
    tern_msgb_set_payload(&r->b, p, len);
    if (tern_msgb_set_uint(&r->b, TERN_OPT_CONTENT_FORMAT, cf) < 0) {
        r->failed = true;
        return TERN_E_FULL;
    }
    return 0;
}

int tern_server_response_payload_ref(tern_server_response *r, uint16_t cf, const void *data,
                                     size_t len) {
    if (data == NULL && len) return TERN_E_INVAL;
    tern_msgb_set_payload(&r->b, data, len);
    if (tern_msgb_set_uint(&r->b, TERN_OPT_CONTENT_FORMAT, cf) < 0) {
        r->failed = true;
        return TERN_E_FULL;
    }
    return 0;
}

int tern_server_response_text(tern_server_response *r, const char *text) {
    return tern_server_response_payload(r, TERN_CF_TEXT_PLAIN, text, strlen(text));
}

int tern_server_response_diag(tern_server_response *r, const char *fmt, ...) {
    size_t room = r->cap - r->used;
    char *p = (char *)r->arena + r->used;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p, room, fmt, ap);
    va_end(ap);
    if (n < 0) return TERN_E_INVAL;
    /* A diagnostic that does not fit is cut rather than turned into 5.00:
     * it is for humans, and the code already says what happened. */
    size_t len = (size_t)n < room ? (size_t)n : (room ? room - 1 : 0);
    r->used += len;
    tern_msgb_set_payload(&r->b, p, len);
    tern_msgb_remove_opt(&r->b, TERN_OPT_CONTENT_FORMAT); /* section 5.5.2 */
    return 0;
}

int tern_server_response_add_opt(tern_server_response *r, uint16_t num, const void *val, size_t len) {
    if (num == TERN_OPT_OBSERVE) return TERN_E_INVAL; /* the server's own */
    void *p = arena_copy(r, val, len);
    if (p == NULL && len) return TERN_E_NOSPACE;
    int rc = tern_msgb_add_opt(&r->b, num, p, len);
    if (rc < 0) r->failed = true;
    return rc;
}

int tern_server_response_add_uint(tern_server_response *r, uint16_t num, uint32_t val) {
    if (num == TERN_OPT_OBSERVE) return TERN_E_INVAL;
    int rc = tern_msgb_add_uint(&r->b, num, val);
    if (rc < 0) r->failed = true;
    return rc;
}

bool tern_srv_response_cf(const tern_server_response *r, uint32_t *cf) {
    for (size_t i = 0; i < r->b.n_opts; i++) {
        if (r->b.opts[i].num == TERN_OPT_CONTENT_FORMAT) {
            return tern_opt_uint_decode(r->b.opts[i].val, r->b.opts[i].len, cf) == 0;
        }
    }
    return false;
}

static uint8_t rewrite(tern_server_response *r, uint8_t code, const char *diag) {
    tern_srv_response_reset(r);
    tern_server_response_diag(r, "%s", diag);
    return code;
}

uint8_t tern_srv_response_finish(tern_server_response *r, uint8_t code, int32_t accept) {
    if (!tern_code_is_response(code))
        return rewrite(r, TERN_CODE_INTERNAL_SERVER_ERROR, "handler returned no response code");
    if (r->failed)
        return rewrite(r, TERN_CODE_INTERNAL_SERVER_ERROR, "response does not fit");
    uint32_t cf;
    if (TERN_CODE_CLASS(code) == 2 && accept >= 0 && tern_srv_response_cf(r, &cf) &&
        cf != (uint32_t)accept)
        return rewrite(r, TERN_CODE_NOT_ACCEPTABLE, "representation not available in Accept");
    tern_msgb_remove_opt(&r->b, TERN_OPT_OBSERVE);
    return code;
}

void tern_srv_add_etag(const tern_resource *res, tern_server_response *r) {
    if (res->def.etag == NULL || msgb_has(&r->b, TERN_OPT_ETAG)) return;
    uint8_t etag[TERN_ETAG_MAX];
    size_t len = res->def.etag(res->def.ctx, etag);
    if (len > 0 && len <= TERN_ETAG_MAX) (void)tern_server_response_add_opt(r, TERN_OPT_ETAG, etag, len);
}

void tern_srv_add_max_age(const tern_server *srv, const tern_resource *res, tern_msgb *b) {
    if (msgb_has(b, TERN_OPT_MAX_AGE)) return;
    tern_msgb_add_uint(b, TERN_OPT_MAX_AGE,
                       res->def.max_age_s ? res->def.max_age_s : srv->cfg.notify_max_age_s);
}

static void count(tern_server *srv, uint8_t code) {
    if (TERN_CODE_CLASS(code) == 4) srv->st.responses_4xx++;
    if (TERN_CODE_CLASS(code) == 5) srv->st.responses_5xx++;
}

/* Send the answer; one that registers an observer (reg) goes through
 * observe.c, which must learn how it went out (RFC 7641 section 3.6). */
#define SRV_E_AMPLIFIES 1 /* answer(): larger than an unverified peer may get */

static int answer(tern_server *srv, tern_endpoint_req_id id, tern_msgb *b, const srv_reqinfo *ri,
                  bool registers, uint64_t now_ms) {
    if (tern_srv_amplifies(srv, ri, b)) return SRV_E_AMPLIFIES;
    if (!registers) return tern_endpoint_respond(srv->ep, id, b, now_ms);
    return tern_srv_observe_respond(srv, id, b, ri->peer, ri->token, ri->token_len, now_ms);
}

void tern_srv_answer(tern_server *srv, tern_endpoint_req_id id, tern_server_response *r, uint8_t code,
                const srv_reqinfo *ri, uint64_t now_ms) {
    tern_resource *res = ri->res;
    if (ri->get && res && res->used && TERN_CODE_CLASS(code) == 2) tern_srv_add_etag(res, r);
    code = tern_srv_response_finish(r, code, ri->accept);
    bool ok = TERN_CODE_CLASS(code) == 2;
    /* The whole representation, and the block of it being sent. */
    srv_block2 blk;
    tern_srv_block2_begin(&blk, r, ri->size2);
    if (ri->block1 >= 0) (void)tern_server_response_add_uint(r, TERN_OPT_BLOCK1, (uint32_t)ri->block1);
    if (ok && ri->block2 >= 0) {
        uint8_t bad = tern_srv_block2_request(&blk, r, (uint32_t)ri->block2);
        if (bad) code = rewrite(r, bad, "bad Block2"), ok = false;
    }
    bool registered = false;
    if (ri->observe && res && res->used) {
        /* RFC 7641 section 3.1/4.1: only a 2.xx answer registers; an error
         * answer to a registration ends any observation under this key. */
        int32_t seq = -1;
        if (ok)
            seq = tern_srv_observe_register(srv, res, ri->peer, ri->token, ri->token_len,
                                            ri->accept, blk.szx, now_ms);
        else
            tern_srv_observe_deregister(srv, ri->peer, ri->token, ri->token_len);
        if (seq >= 0) {
            registered = true;
            tern_msgb_set_uint(&r->b, TERN_OPT_OBSERVE, (uint32_t)seq);
            tern_srv_add_max_age(srv, res, &r->b);
        }
    }
    r->b.code = code;
    int rc = answer(srv, id, &r->b, ri, registered, now_ms);
    /* RFC 7959 section 2.4: a representation too large for one datagram
     * goes out block by block, asked for or not; the client fetches the
     * rest with Block2. */
    while (ok && rc == TERN_E_NOSPACE && tern_srv_block2_shrink(&blk, r))
        rc = answer(srv, id, &r->b, ri, registered, now_ms);
    if (rc == SRV_E_AMPLIFIES) {
        /* RFC 9175 section 2.4: prove your address first (amplification.c).
         * An upload's answer is kept (the last block, sent again with the
         * Echo, gets it), and so is an unsafe request's: the handler must
         * not run twice. */
        uint8_t echo[8];
        tern_srv_echo_make(srv, ri->peer, now_ms, echo);
        tern_msgb_set_payload(&r->b, blk.full, blk.total);
        if (ri->keep)
            tern_srv_block1_keep(srv, ri->keep, r, now_ms);
        else if (ri->unsafe && ri->res)
            tern_srv_block1_keep_once(srv, ri, r, echo, now_ms);
        tern_srv_echo_challenge(srv, r, echo);
        code = r->b.code = TERN_CODE_UNAUTHORIZED;
        ok = false;
        rc = tern_endpoint_respond(srv->ep, id, &r->b, now_ms);
    }
    /* RFC 7959 section 2.7: the rest of an upload's block-wise answer is
     * served from the upload's slot, not by the handler again. */
    if (ok && rc == 0 && ri->keep && blk.szx != TERN_SRV_NO_BLOCK &&
        ((size_t)blk.num + 1) * tern_block_size(blk.szx) < blk.total) {
        tern_msgb_set_payload(&r->b, blk.full, blk.total);
        tern_srv_block1_keep(srv, ri->keep, r, now_ms);
    }
    if (rc == TERN_E_NOSPACE) {
        code = rewrite(r, TERN_CODE_INTERNAL_SERVER_ERROR, "response too large");
        r->b.code = code;
        rc = tern_endpoint_respond(srv->ep, id, &r->b, now_ms);
    }
    /* RFC 7641 section 3.1: a client is registered by the 2.xx answer with
     * Observe it gets, not by our table: if that answer became an error or
     * could not be sent, the entry would only wait for notifications
     * nobody expects. */
    if (registered && (rc < 0 || TERN_CODE_CLASS(code) != 2))
        tern_srv_observe_deregister(srv, ri->peer, ri->token, ri->token_len);
    if (rc == 0) count(srv, code);
}

void tern_srv_answer_error(tern_server *srv, tern_endpoint_req_id id, uint8_t code, const char *diag,
                           const srv_reqinfo *ri, uint64_t now_ms) {
    tern_server_response *r = &srv->resp_req;
    rewrite(r, code, diag);
    r->b.code = code;
    /* RFC 7252 section 11.3: the diagnostic is optional (5.5.2); to an
     * unverified address it goes only within the amplification bound.
     * Without it the error is no larger than the request. */
    if (ri && tern_srv_amplifies(srv, ri, &r->b)) tern_msgb_set_payload(&r->b, NULL, 0);
    if (tern_endpoint_respond(srv->ep, id, &r->b, now_ms) == 0) count(srv, code);
}
