/* SPDX-License-Identifier: BSD-2-Clause */
/* io_request.c - requests to a URI with a host name, and the blocking call
 * (RFC 7252 sections 6.4 and 5.2; RFC 7641 section 3), for the requests of tern/io.h.
 *
 * This is where name resolution and the event loop are: the client under it
 * stays sans-I/O (and does the RFC 7959 Block2 reassembly the blocking call
 * asks for). The blocking call runs tern_io_step until its callback
 * fired, with a deadline of its own so that nothing can hang forever even if
 * a layer below forgets a timer. */
#include <string.h>

#include "io/addr.h"
#include "io/io_int.h"
#include "tern/io.h"

int tern_io_uri_peer(tern_io *io, const char *text, tern_uri *uri, tern_addr *peer) {
    if (!io || !text || !uri || !peer) return TERN_E_INVAL;
    int rc = tern_uri_parse(uri, text);
    if (rc < 0) return rc;
    /* CoAP over UDP, and over DTLS when the io has client credentials
     * (tern_io_config.dtls); no TCP yet. */
    bool secure = uri->scheme == TERN_SCHEME_COAPS;
    if (uri->scheme != TERN_SCHEME_COAP && !(secure && tern_iop_can_coaps(io))) return TERN_E_URI;
    /* The host part holds decoded bytes: make a C string of it. */
    char host[256];
    if (uri->host.len == 0 || uri->host.len >= sizeof host) return TERN_E_URI;
    memcpy(host, tern_uri_str(uri, uri->host), uri->host.len);
    host[uri->host.len] = '\0';
    if (memchr(host, '\0', uri->host.len)) return TERN_E_URI;
    rc = tern_io_resolve(io, host, uri->port, peer);
    if (rc == 0 && secure) tern_iop_addr_mark_secure(peer);
    return rc;
}

/* Send req to peer by the client call the request asks for. body: the
 * buffer for Block2 reassembly (tern_client_request_body,
 * tern_client_observe_body), or NULL. */
static int io_send(tern_io *io, const tern_addr *peer, tern_msgb *req, bool observe, bool group,
                   uint8_t *body, size_t body_cap, uint32_t timeout_ms, tern_client_fn fn,
                   void *ctx, tern_client_op_id *id) {
    tern_client *cli = tern_io_client(io);
    if (!cli) return TERN_E_FULL;
    uint64_t now = tern_io_now();
    if (group) {
        /* RFC 7252 section 8: a URI naming a group asks every server in it
         * (a NON request; each answer comes to fn). */
        req->type = TERN_TYPE_NON;
        return tern_client_request_group(cli, peer, req, timeout_ms, fn, ctx, now, id);
    }
    if (observe && body)
        return tern_client_observe_body(cli, peer, req, body, body_cap, timeout_ms, fn, ctx, now,
                                        id);
    if (observe) return tern_client_observe(cli, peer, req, timeout_ms, fn, ctx, now, id);
    if (body)
        return tern_client_request_body(cli, peer, req, body, body_cap, timeout_ms, fn, ctx, now,
                                        id);
    return tern_client_request(cli, peer, req, timeout_ms, fn, ctx, now, id);
}

/* Proxy-Uri holds 1 to 1034 bytes (RFC 7252 section 5.10). */
#define IO_PROXY_URI_MAX 1034u

/* Through the forward proxy (section 5.7.2): the target whole in Proxy-Uri.
 * The proxy resolves it, so it need only be an absolute URI: one tern
 * parses (coap), or http(s) for a cross-proxy (section 10.1). */
static int io_start_proxied(tern_io *io, const tern_addr *proxy, const char *text,
                            tern_msgb *req, bool observe, uint8_t *body, size_t body_cap,
                            uint32_t timeout_ms, tern_client_fn fn, void *ctx,
                            tern_client_op_id *id) {
    tern_uri uri;
    size_t len = strlen(text);
    bool http = strncmp(text, "http://", 7) == 0 || strncmp(text, "https://", 8) == 0;
    if (len == 0 || len > IO_PROXY_URI_MAX || (!http && tern_uri_parse(&uri, text) < 0))
        return TERN_E_URI;
    size_t n_before = req->n_opts;
    int rc = tern_msgb_add_str(req, TERN_OPT_PROXY_URI, text);
    if (rc == 0)
        rc = io_send(io, proxy, req, observe, false, body, body_cap, timeout_ms, fn, ctx, id);
    tern_msgb_remove_opt_from(req, n_before, TERN_OPT_PROXY_URI);
    return rc;
}

static int io_start(tern_io *io, const char *text, tern_msgb *req, bool observe,
                    uint8_t *body, size_t body_cap, uint32_t timeout_ms, tern_client_fn fn,
                    void *ctx, tern_client_op_id *id) {
    if (!io || !req || !text) return TERN_E_INVAL;
    const tern_addr *proxy = tern_iop_proxy(io);
    if (proxy)
        return io_start_proxied(io, proxy, text, req, observe, body, body_cap, timeout_ms, fn,
                                ctx, id);
    tern_uri uri;
    tern_addr peer;
    int rc = tern_io_uri_peer(io, text, &uri, &peer);
    if (rc < 0) return rc;
    /* The URI's options point into `uri`; the client encodes the request
     * before returning, so a local is enough. Keep the caller's builder as it
     * was, so that it can be used again for another URI. */
    size_t n_before = req->n_opts;
    rc = tern_uri_to_opts(&uri, uri.port, req);
    if (rc == 0)
        rc = io_send(io, &peer, req, observe, !observe && tern_io_addr_is_group(io, &peer), body,
                     body_cap, timeout_ms, fn, ctx, id);
    /* Drop the Uri-* options again (they point into the local uri). The
     * Observe option tern_client_observe added stays; it is a copied uint. */
    tern_msgb_remove_opt_from(req, n_before, TERN_OPT_URI_HOST);
    tern_msgb_remove_opt_from(req, n_before, TERN_OPT_URI_PATH);
    tern_msgb_remove_opt_from(req, n_before, TERN_OPT_URI_QUERY);
    return rc;
}

int tern_io_request_start(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                          tern_client_fn fn, void *ctx, tern_client_op_id *id) {
    return io_start(io, uri, req, false, NULL, 0, timeout_ms, fn, ctx, id);
}

int tern_io_observe(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                    tern_client_fn fn, void *ctx, tern_client_op_id *id) {
    return io_start(io, uri, req, true, NULL, 0, timeout_ms, fn, ctx, id);
}

int tern_io_observe_body(tern_io *io, const char *uri, tern_msgb *req, uint8_t *body,
                         size_t body_cap, uint32_t timeout_ms, tern_client_fn fn, void *ctx,
                         tern_client_op_id *id) {
    if (!body) return TERN_E_INVAL;
    return io_start(io, uri, req, true, body, body_cap, timeout_ms, fn, ctx, id);
}

/* ---- the blocking call -------------------------------------------------- */

typedef struct io_wait {
    bool done;
    int err;
    tern_io_reply *resp;
    uint8_t *body;
    size_t body_cap;
} io_wait;

static void io_request_done(void *ctx, tern_client *cli, tern_client_op_id id, const tern_client_event *ev,
                            uint64_t now_ms) {
    (void)cli, (void)id, (void)now_ms;
    io_wait *w = ctx;
    w->done = true;
    w->err = ev->err;
    if (ev->err || !ev->resp) return;
    /* Copy header, token and options into the caller's struct (the
     * datagram the view points into is gone once this callback returns),
     * the options byte for byte: however many there are (a server may send
     * hundreds of elective ones, all ignored), nothing is re-encoded. The
     * payload (already the whole body when the client assembled it there)
     * goes to the body buffer. */
    const tern_msg *m = ev->resp;
    if (m->payload_len > w->body_cap) {
        w->err = TERN_E_NOSPACE;
        return;
    }
    size_t hlen = TERN_HEADER_LEN + m->token_len + m->opts_len;
    if (hlen > sizeof w->resp->head) {
        w->err = TERN_E_NOSPACE;
        return;
    }
    uint8_t *h = w->resp->head;
    h[0] = (uint8_t)(TERN_PROTOCOL_VERSION << 6 | (m->type & 3u) << 4 | m->token_len);
    h[1] = m->code;
    h[2] = (uint8_t)(m->mid >> 8);
    h[3] = (uint8_t)m->mid;
    if (m->token_len) memcpy(h + TERN_HEADER_LEN, m->token, m->token_len);
    if (m->opts_len) memcpy(h + TERN_HEADER_LEN + m->token_len, m->opts, m->opts_len);
    w->resp->len = hlen;
    int rc = tern_msg_parse(&w->resp->msg, h, hlen);
    if (rc < 0) {
        w->err = rc;
        return;
    }
    if (m->payload_len && m->payload != w->body) memcpy(w->body, m->payload, m->payload_len);
    w->resp->msg.payload = m->payload_len ? w->body : NULL;
    w->resp->msg.payload_len = m->payload_len;
}

int tern_io_request(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                    tern_io_reply *resp) {
    if (!resp) return TERN_E_INVAL;
    return tern_io_request_body(io, uri, req, timeout_ms, resp, resp->body, sizeof resp->body);
}

int tern_io_request_body(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                         tern_io_reply *resp, uint8_t *body, size_t body_cap) {
    if (!io || !req || !resp || !body) return TERN_E_INVAL;
    io_wait w = {.resp = resp, .body = body, .body_cap = body_cap};
    tern_client_op_id id = 0;
    int rc = io_start(io, uri, req, false, body, body_cap, timeout_ms, io_request_done, &w, &id);
    if (rc < 0) return rc;
    tern_client *cli = tern_io_client(io);
    uint32_t limit = timeout_ms ? timeout_ms : TERN_CLIENT_DEFAULT_TIMEOUT_MS;
    /* The client's own deadline ends the request; this one, a little later,
     * only guards against a lost timer. */
    uint64_t give_up = tern_io_now() + limit + 1000u;
    while (!w.done) {
        if (tern_io_stopped(io)) {
            tern_client_cancel(cli, id, tern_io_now());
            return TERN_E_CANCELLED;
        }
        uint64_t now = tern_io_now();
        if (now >= give_up) {
            tern_client_cancel(cli, id, now);
            return TERN_E_TIMEOUT;
        }
        uint64_t left = give_up - now;
        rc = tern_io_step(io, left > 1000 ? 1000 : (int)left);
        if (rc < 0 && !w.done) {
            tern_client_cancel(cli, id, tern_io_now());
            return rc;
        }
    }
    /* A request to a group goes on answering after its first answer: w
     * and the caller's buffers end with this call, so must it. */
    tern_client_cancel(cli, id, tern_io_now());
    return w.err;
}
