/* SPDX-License-Identifier: BSD-2-Clause */
/* endpoint.c - the CoAP messaging layer engine, sans-I/O (RFC 7252
 * sections 4 and 5.2; see DESIGN.md and STYLE.md, "the protocol core never
 * touches the world").
 *
 * Datagrams come in through tern_endpoint_recv with the time, timers run in
 * tern_endpoint_tick, datagrams go out through tern_endpoint_send, and
 * tern_endpoint_next_deadline says when to call tick next. This file creates
 * and frees the endpoint (one allocation holding every table), and sorts each
 * received datagram by type and code class (section 4.1-4.3, 12.1):
 *
 *   unparseable      CON -> RST with its MID (4.2), else dropped
 *   Empty CON        ping -> RST (4.3), no state kept
 *   Empty NON        dropped (4.3: "MUST NOT be an Empty message")
 *   ACK / RST        retransmit.c matches (peer, MID) to a tracked CON
 *   request CON/NON  pending.c (dedup, on_request, piggybacked or separate)
 *   response CON/NON dedup, on_response; CON is ACKed or, rejected, RST (5.3.2)
 *   request in ACK/RST, non-empty RST, reserved classes 1/3/6/7:
 *                    format errors: RST for a CON, otherwise dropped
 *
 * tern_endpoint_unreachable takes the io layer's news (ICMP) that a peer
 * cannot be reached: its CONs end at once (retransmit.c), on_unreachable
 * tells the owners of what the endpoint does not track. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "endpoint/endpoint_int.h"

void tern_endpoint_config_default(tern_endpoint_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->size = (uint32_t)sizeof *cfg;
    cfg->ack_timeout_ms = 2000;
    cfg->ack_random_factor_milli = 1500;
    cfg->max_retransmit = 4;
    cfg->nstart = 1;
    cfg->exchange_lifetime_ms = 247000;
    cfg->non_lifetime_ms = 145000;
    /* Half the smallest ACK_TIMEOUT: a handler that answers within a second
     * still gets a piggybacked response, and the client is acknowledged
     * before its first retransmission. */
    cfg->ack_delay_ms = 1000;
    cfg->busy_max_age_s = 5;
    cfg->max_peers = 256;
    cfg->max_exchanges = 64;
    cfg->max_pending = 32;
    cfg->max_dedup = 256;
    cfg->max_message = 1152; /* section 4.6 */
    cfg->tx_queue_bytes = 64 * 1024;
    cfg->token_len = 8;
    cfg->multicast_leisure_ms = 5000; /* section 8.2: DEFAULT_LEISURE */
}

/* tern/config.h: the caller's struct over the defaults, then 0 in a field
 * where 0 is meaningless takes the default. */
static int config_load(tern_endpoint_config *c, const tern_endpoint_config *in) {
    tern_endpoint_config d;
    tern_endpoint_config_default(&d);
    *c = d;
    int rc = tern_base_config_load(c, sizeof *c, in, offsetof(tern_endpoint_config, random_ctx) +
                                                         sizeof c->random_ctx);
    /* multicast_leisure_ms came later: a shorter, older struct gets its
     * default from d above; 0 is a value (answer at once). */
    if (rc < 0) return rc;
#define DEF(f) \
    if (c->f == 0) c->f = d.f
    DEF(ack_timeout_ms);
    DEF(ack_random_factor_milli);
    DEF(nstart);
    DEF(exchange_lifetime_ms);
    DEF(non_lifetime_ms);
    DEF(max_peers);
    DEF(max_exchanges);
    DEF(max_pending);
    DEF(max_dedup);
    DEF(max_message);
    DEF(tx_queue_bytes);
    DEF(token_len);
#undef DEF
    return 0;
}

static bool config_ok(const tern_endpoint_config *c) {
    if (c->random == NULL) return false;
    if (c->ack_random_factor_milli < 1000) return false;
    /* initial_timeout() multiplies this by a 32-bit random value. */
    if ((uint64_t)c->ack_timeout_ms * (c->ack_random_factor_milli - 1000u) > UINT32_MAX)
        return false;
    if (c->max_retransmit > EP_MAX_RETRANSMIT) return false;
    if (c->ack_delay_ms >= c->exchange_lifetime_ms) return false;
    if (c->max_peers > EP_MAX_TABLE || c->max_exchanges > EP_MAX_TABLE) return false;
    if (c->max_pending > EP_MAX_PENDING || c->max_dedup > EP_MAX_TABLE) return false;
    if (c->max_message < 64 || c->max_message > EP_MAX_MESSAGE) return false;
    if (c->tx_queue_bytes < c->max_message + TERN_EP_OUT_HDR) return false;
    if (c->token_len < 4 || c->token_len > TERN_TOKEN_MAX) return false;
    return true;
}

/* ---- the one allocation ------------------------------------------------- */

typedef struct ep_arena {
    uint8_t *base; /* NULL while measuring */
    size_t off;
    bool overflow;
} ep_arena;

static void *arena_take(ep_arena *a, size_t n, size_t size) {
    const size_t align = _Alignof(max_align_t);
    if (a->off > SIZE_MAX - align) {
        a->overflow = true;
        return NULL;
    }
    size_t off = (a->off + align - 1) & ~(align - 1);
    if (size != 0 && n > (SIZE_MAX - off) / size) {
        a->overflow = true;
        return NULL;
    }
    a->off = off + n * size;
    return a->base && !a->overflow ? a->base + off : NULL;
}

static uint32_t pow2_at_least(uint32_t n) {
    uint32_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

static void layout(tern_endpoint *ep, const tern_endpoint_config *c, ep_arena *a) {
    uint32_t pb = pow2_at_least(c->max_peers);
    uint32_t xb = pow2_at_least(c->max_exchanges);
    uint32_t db = pow2_at_least(c->max_dedup);

    ep->peers.cap = c->max_peers;
    ep->peers.mask = pb - 1;
    ep->peers.v = arena_take(a, c->max_peers, sizeof(ep_peer));
    ep->peers.buckets = arena_take(a, pb, sizeof(uint32_t));

    ep->x.cap = c->max_exchanges;
    ep->x.mask = xb - 1;
    ep->x.v = arena_take(a, c->max_exchanges, sizeof(ep_xch));
    ep->x.bytes = arena_take(a, c->max_exchanges, c->max_message);
    ep->x.buckets = arena_take(a, xb, sizeof(uint32_t));
    ep->x.cbuckets = arena_take(a, xb, sizeof(uint32_t));
    ep->x.heap = arena_take(a, c->max_exchanges, sizeof(uint32_t));

    ep->d.cap = c->max_dedup;
    ep->d.mask = db - 1;
    ep->d.v = arena_take(a, c->max_dedup, sizeof(ep_dedup));
    ep->d.bytes = arena_take(a, c->max_dedup, c->max_message);
    ep->d.buckets = arena_take(a, db, sizeof(uint32_t));
    ep->d.ring = arena_take(a, c->max_dedup, sizeof(uint32_t));

    ep->p.cap = c->max_pending;
    ep->p.v = arena_take(a, c->max_pending, sizeof(ep_pend));

    ep->out.buf = arena_take(a, c->tx_queue_bytes, 1);
}

int tern_endpoint_new(tern_endpoint **out, const tern_endpoint_config *in,
                      const tern_endpoint_callbacks *cb, void *user) {
    if (out == NULL) return TERN_E_INVAL;
    *out = NULL;
    tern_endpoint_config c;
    const tern_endpoint_config *cfg = &c;
    int rc = config_load(&c, in);
    if (rc < 0) return rc;
    if (!config_ok(cfg)) return TERN_E_INVAL;

    tern_endpoint probe;
    ep_arena a = {NULL, 0, false};
    (void)arena_take(&a, 1, sizeof(tern_endpoint));
    layout(&probe, cfg, &a);
    if (a.overflow) return TERN_E_NOMEM;

    /* Zeroed: table entries are first touched when first used (slots.h). */
    uint8_t *mem = calloc(1, a.off);
    if (mem == NULL) return TERN_E_NOMEM;
    a = (ep_arena){mem, 0, false};
    tern_endpoint *ep = arena_take(&a, 1, sizeof(tern_endpoint));
    memset(ep, 0, sizeof *ep);
    ep->cfg = *cfg;
    if (cb) ep->cb = *cb;
    ep->user = user;
    ep->mem = mem;
    layout(ep, cfg, &a);

    tern_ep_peers_init(&ep->peers);
    tern_ep_xchs_init(&ep->x);
    tern_ep_dedups_init(&ep->d);
    tern_ep_pends_init(&ep->p);
    tern_ep_out_init(&ep->out, ep->out.buf, cfg->tx_queue_bytes);
    uint8_t key[16];
    cfg->random(cfg->random_ctx, key, sizeof key);
    ep->hkey = tern_hkey_from(key);
    ep->seed = tern_ep_random32(ep);
    *out = ep;
    return 0;
}

void tern_endpoint_free(tern_endpoint *ep) {
    if (ep == NULL) return;
    /* done(CANCELLED) callbacks may try to send: they get TERN_E_STATE. */
    ep->closing = true;
    tern_ep_xch_cancel_all(ep, ep->last_now);
    free(ep->mem);
}

/* ---- shared helpers ----------------------------------------------------- */

uint32_t tern_ep_random32(tern_endpoint *ep) {
    uint8_t b[4] = {0, 0, 0, 0};
    ep->cfg.random(ep->cfg.random_ctx, b, sizeof b);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void tern_ep_emit_empty(tern_endpoint *ep, const tern_addr *peer, uint8_t type, uint16_t mid) {
    uint8_t b[4] = {(uint8_t)(TERN_PROTOCOL_VERSION << 6 | (type & 3u) << 4), TERN_CODE_EMPTY,
                    (uint8_t)(mid >> 8), (uint8_t)mid};
    tern_ep_emit(ep, peer, b, sizeof b);
}

int tern_ep_send_non(tern_endpoint *ep, const tern_addr *peer, tern_msgb *m) {
    uint32_t pi = tern_ep_peer_get(ep, peer);
    if (pi == EP_NONE) return TERN_E_FULL;
    ep_peer *p = &ep->peers.v[pi];
    m->type = TERN_TYPE_NON;
    m->mid = p->next_mid;
    int n = tern_ep_emit_msg(ep, peer, m, NULL);
    if (n < 0) return n;
    p->next_mid++;
    return 0;
}

/* ---- receive ------------------------------------------------------------ */

/* A separate response or notification in a CON or NON (sections 5.2.2,
 * 5.3.2; RFC 7641 section 4.2). */
static void recv_response(tern_endpoint *ep, const tern_addr *peer, const tern_msg *msg,
                          uint64_t now) {
    bool con = msg->type == TERN_TYPE_CON;
    uint32_t hash = tern_ep_dedup_hash(ep, peer, msg->mid);
    uint32_t di = tern_ep_dedup_lookup(ep, peer, msg->mid, hash, now);
    if (di != EP_NONE) {
        /* Section 4.5: ACK the copy again, do not deliver it twice. */
        ep->stats.duplicates++;
        if (con) tern_ep_dedup_replay(ep, di);
        return;
    }
    int rc = TERN_E_REJECT;
    if (ep->cb.on_response) rc = ep->cb.on_response(ep->user, ep, peer, msg, now);
    if (rc != 0) {
        /* Section 5.3.2/4.2: a response nobody asked for; RST makes the
         * sender stop (and an observer registration end, RFC 7641 3.6). */
        ep->stats.rejected++;
        if (con) tern_ep_emit_empty(ep, peer, TERN_TYPE_RST, msg->mid);
        return;
    }
    (void)tern_ep_dedup_insert(ep, peer, msg->mid, hash, con ? EP_D_EMPTY_ACK : EP_D_SEEN,
                          con ? ep->cfg.exchange_lifetime_ms : ep->cfg.non_lifetime_ms, now);
    if (con) tern_ep_emit_empty(ep, peer, TERN_TYPE_ACK, msg->mid);
}

int tern_endpoint_recv(tern_endpoint *ep, const tern_addr *peer, const uint8_t *buf,
                       size_t len, uint64_t now_ms) {
    return tern_endpoint_recv_flags(ep, peer, buf, len, now_ms, 0);
}

/* Section 8.1: what came to a group address. Only a NON request has a
 * meaning there; anything else, a CON request included ("A multicast
 * request ... MUST be Non-confirmable"), is ignored, and never with a RST:
 * every member of the group would send one. */
static int recv_multicast(tern_endpoint *ep, const tern_addr *peer, const uint8_t *buf,
                          size_t len, uint64_t now) {
    tern_msg m;
    int rc = tern_msg_parse(&m, buf, len);
    if (rc == 0 && ep->cb.on_trace) ep->cb.on_trace(ep->user, false, peer, &m);
    if (rc < 0 || m.type != TERN_TYPE_NON || !tern_code_is_request(m.code)) {
        ep->stats.rejected++;
        return rc < 0 ? rc : TERN_E_FORMAT;
    }
    tern_ep_request_recv(ep, peer, &m, now, true);
    return 0;
}

int tern_endpoint_recv_flags(tern_endpoint *ep, const tern_addr *peer, const uint8_t *buf,
                             size_t len, uint64_t now_ms, unsigned flags) {
    if (ep == NULL || peer == NULL || peer->len > TERN_ADDR_MAX || (buf == NULL && len > 0))
        return TERN_E_INVAL;
    if (ep->closing) return TERN_E_STATE;
    if (now_ms > ep->last_now) ep->last_now = now_ms;
    ep->stats.rx++;
    if (flags & TERN_RX_MULTICAST) return recv_multicast(ep, peer, buf, len, now_ms);

    tern_msg m;
    int rc = tern_msg_parse(&m, buf, len);
    if (rc < 0) {
        uint8_t type;
        uint16_t mid;
        ep->stats.rejected++;
        /* Section 4.2: "Rejecting a Confirmable message is effected by
         * sending a matching Reset message". */
        if (tern_msg_peek_header(buf, len, &type, &mid) == 0 && type == TERN_TYPE_CON)
            tern_ep_emit_empty(ep, peer, TERN_TYPE_RST, mid);
        return rc;
    }
    if (ep->cb.on_trace) ep->cb.on_trace(ep->user, false, peer, &m);

    if (m.code == TERN_CODE_EMPTY) {
        switch (m.type) {
        case TERN_TYPE_CON: /* section 4.3: CoAP ping */
            tern_ep_emit_empty(ep, peer, TERN_TYPE_RST, m.mid);
            break;
        case TERN_TYPE_NON: /* section 4.3: meaningless, ignore */
            break;
        default:
            tern_ep_xch_recv_ack_rst(ep, peer, &m, now_ms);
            break;
        }
        return 0;
    }
    if (tern_code_is_request(m.code) && m.type <= TERN_TYPE_NON) {
        tern_ep_request_recv(ep, peer, &m, now_ms, false);
        return 0;
    }
    if (tern_code_is_response(m.code) && m.type != TERN_TYPE_RST) {
        if (m.type == TERN_TYPE_ACK) tern_ep_xch_recv_ack_rst(ep, peer, &m, now_ms);
        else recv_response(ep, peer, &m, now_ms);
        return 0;
    }
    /* A request in an ACK or RST, a non-empty RST (section 4.2 and 4.3 say
     * what ACK and RST may carry) or a reserved code class (section 12.1):
     * a message format error. */
    ep->stats.rejected++;
    if (m.type == TERN_TYPE_CON) tern_ep_emit_empty(ep, peer, TERN_TYPE_RST, m.mid);
    return TERN_E_FORMAT;
}

/* ---- unreachable peers --------------------------------------------------- */

int tern_endpoint_unreachable(tern_endpoint *ep, const tern_addr *peer, const uint8_t *quote,
                              size_t quote_len, uint64_t now_ms) {
    if (ep == NULL || peer == NULL || peer->len > TERN_ADDR_MAX || ep->closing ||
        (quote == NULL && quote_len > 0))
        return TERN_ICMP_IGNORED;
    if (now_ms > ep->last_now) ep->last_now = now_ms;
    /* A copy: the callbacks below must not see the address change under
     * them, wherever the caller keeps it. */
    tern_addr to = *peer;
    ep->stats.unreachable++;
    uint8_t type;
    uint16_t mid;
    if (tern_msg_peek_header(quote, quote_len, &type, &mid) < 0) {
        /* Only the IP and UDP headers were quoted: nothing names one of our
         * exchanges, and a forged error must not end them all. */
        ep->stats.icmp_ignored++;
        return TERN_ICMP_IGNORED;
    }
    size_t tkl = quote[0] & 0x0Fu;
    const uint8_t *token = tkl <= TERN_TOKEN_MAX && quote_len >= TERN_HEADER_LEN + tkl
                               ? quote + TERN_HEADER_LEN
                               : NULL;
    if (type == TERN_TYPE_CON) {
        if (tern_ep_xch_unreachable(ep, &to, mid, token, token ? tkl : 0, now_ms))
            return TERN_ICMP_MATCHED;
        ep->stats.icmp_ignored++;
        return TERN_ICMP_IGNORED;
    }
    /* A NON (request, response, notification): not tracked here; its owner
     * matches it (the client fails a NON request, the server drops the
     * observer it was notifying). */
    if (type == TERN_TYPE_NON && ep->cb.on_unreachable &&
        ep->cb.on_unreachable(ep->user, ep, &to, mid, token, token ? tkl : 0, now_ms))
        return TERN_ICMP_MATCHED;
    ep->stats.icmp_ignored++;
    return TERN_ICMP_IGNORED;
}

void tern_endpoint_set_on_trace(tern_endpoint *ep,
                                void (*on_trace)(void *user, bool outgoing, const tern_addr *peer,
                                                 const tern_msg *msg)) {
    if (ep) ep->cb.on_trace = on_trace;
}

/* ---- timers and output -------------------------------------------------- */

void tern_endpoint_tick(tern_endpoint *ep, uint64_t now_ms) {
    if (ep == NULL || ep->closing) return;
    if (now_ms > ep->last_now) ep->last_now = now_ms;
    tern_ep_delayed_tick(ep, now_ms);
    tern_ep_xch_tick(ep, now_ms);
    tern_ep_pend_tick(ep, now_ms);
    tern_ep_dedup_tick(ep, now_ms);
}

uint64_t tern_endpoint_next_deadline(const tern_endpoint *ep) {
    if (ep == NULL) return UINT64_MAX;
    uint64_t a = tern_ep_xch_next_deadline(ep);
    uint64_t b = tern_ep_pend_next_deadline(ep);
    uint64_t c = tern_ep_delayed_next_deadline(ep);
    if (b < a) a = b;
    return c < a ? c : a;
}

void tern_endpoint_random(tern_endpoint *ep, uint8_t *out, size_t len) {
    if (ep && out) ep->cfg.random(ep->cfg.random_ctx, out, len);
}

size_t tern_endpoint_new_token(tern_endpoint *ep, uint8_t token[TERN_TOKEN_MAX]) {
    if (ep == NULL || token == NULL) return 0;
    ep->cfg.random(ep->cfg.random_ctx, token, ep->cfg.token_len);
    return ep->cfg.token_len;
}

void tern_endpoint_get_stats(const tern_endpoint *ep, tern_endpoint_stats *st) {
    if (ep && st) *st = ep->stats;
}
