/* SPDX-License-Identifier: BSD-2-Clause */
/* amplification.c - answers no larger than the request that asked, until
 * the asker has shown it receives at its address (RFC 7252 section 11.3;
 * RFC 9175 section 2.4, the Echo option).
 *
 * Over UDP anyone can send a request with someone else's source address;
 * a server answering 1150 bytes to a 21-byte discovery request would hand
 * an attacker a 55-fold amplifier. So an answer to a peer whose address is
 * not verified may be at most amplification_limit (3) times the size of its
 * request; a larger one is replaced by 4.01 Unauthorized carrying an Echo
 * option, which a real client repeats in the same request: that proves it
 * received our 4.01 at its address, and the repeated request gets the full
 * answer. A peer is verified by a valid Echo, or by acknowledging (or
 * resetting) a confirmable message of ours, which the endpoint notes.
 *
 * An unsafe request (PUT, POST, ...) has acted by the time its answer is
 * found too large: run again on the repeat, a POST would act twice. So its
 * answer is kept (block1.c, in an upload slot) under the Echo value sent,
 * and the repeat carrying that Echo and the same body gets it without the
 * handler running. With every slot taken the answer is not kept and the
 * repeat runs the handler again, as it would for a safe method.
 *
 * The Echo value is stateless: 4 bytes of time (seconds) and 4 bytes of a
 * keyed hash of the peer's address and that time, under the server's
 * random key; a value is valid for ECHO_LIFETIME_S and only for the address
 * it was made for. The server keeps nothing per unverified peer. */
#include <string.h>

#include "server/server_int.h"

#define ECHO_LEN 8
#define ECHO_LIFETIME_S 120u

static uint32_t echo_mac(const tern_server *srv, const tern_addr *peer, const uint8_t t[4]) {
    /* Domain-separated from the observer table's use of the same key. */
    uint8_t msg[5] = {'E', t[0], t[1], t[2], t[3]};
    size_t n = peer->len <= TERN_ADDR_MAX ? peer->len : TERN_ADDR_MAX;
    uint64_t h = tern_keyhash2(&srv->hkey, peer->bytes, n, msg, sizeof msg);
    return (uint32_t)(h ^ (h >> 32));
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void tern_srv_echo_check(tern_server *srv, const tern_addr *peer, const srv_reqopts *ro,
                         uint64_t now_ms) {
    if (ro->echo_len != ECHO_LEN) return;
    uint32_t now_s = (uint32_t)(now_ms / 1000u), t = get32(ro->echo);
    if (t > now_s || now_s - t > ECHO_LIFETIME_S) return;
    if (get32(ro->echo + 4) != echo_mac(srv, peer, ro->echo)) return;
    tern_endpoint_peer_set_verified(srv->ep, peer);
}

/* Request size as it was on the wire. */
static size_t request_len(const tern_msg *m) {
    return TERN_HEADER_LEN + m->token_len + m->opts_len + (m->payload_len ? 1 + m->payload_len : 0);
}

size_t tern_srv_request_len(const tern_msg *m) { return request_len(m); }

bool tern_srv_amplifies_slow(tern_server *srv, const srv_reqinfo *ri, const tern_msgb *b) {
    uint32_t limit = srv->cfg.amplification_limit;
    if (tern_endpoint_peer_verified(srv->ep, ri->peer)) return false;
    int n = tern_msgb_encode(b, srv->scratch, TERN_SRV_SCRATCH);
    /* Too large for any datagram: the endpoint says so (TERN_E_NOSPACE). */
    return n > 0 && (uint64_t)n > (uint64_t)limit * ri->req_len;
}

void tern_srv_echo_make(const tern_server *srv, const tern_addr *peer, uint64_t now_ms,
                        uint8_t echo[ECHO_LEN]) {
    put32(echo, (uint32_t)(now_ms / 1000u));
    put32(echo + 4, echo_mac(srv, peer, echo));
}

uint64_t tern_srv_body_hash(const tern_server *srv, const uint8_t *body, size_t len) {
    static const uint8_t none[1] = {0};
    return tern_siphash13(&srv->hkey, len ? body : none, len);
}

void tern_srv_echo_challenge(tern_server *srv, tern_server_response *r,
                             const uint8_t echo[ECHO_LEN]) {
    tern_srv_response_reset(r);
    (void)tern_server_response_add_opt(r, TERN_OPT_ECHO, echo, ECHO_LEN);
    srv->st.echo_challenges++;
}
