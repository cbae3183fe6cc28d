/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/request.h - requests to a URI with a host name, and a blocking call
 * (RFC 7252 sections 5.2, 6.4; RFC 7641 section 3), on a tern_io.
 *
 * These are the conveniences of an operating system: they resolve the
 * URI's host (tern_io_resolve), add its Uri-* options, and run the io loop.
 * The sans-I/O client underneath (tern/client.h) does the protocol work.
 * Implemented in src/io/io_request.c. */
#ifndef TERN_REQUEST_H
#define TERN_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "tern/client.h"
#include "tern/io.h"
#include "tern/uri.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parse text (section 6.4) and resolve its host for io's socket.
 * TERN_E_URI for a malformed URI or a scheme tern cannot serve over this
 * socket (only coap:// so far), TERN_E_NOTFOUND for an unknown host. */
int tern_io_uri_peer(tern_io *io, const char *text, tern_uri *uri, tern_addr *peer);

/* Start a request to uri without waiting: req carries code, type (CON or
 * NON), other options and payload, as for tern_client_request, which this
 * calls after adding the URI's options (tern_uri_to_opts, with the
 * URI's own port as destination, so no Uri-Port); req keeps
 * only what the caller put in. fn gets the outcome while io runs. A payload
 * sent block-wise (too large for one datagram) must stay valid until then:
 * see tern_client_request. 0, or the errors of tern_io_uri_peer and
 * tern_client_request. */
int tern_io_request_start(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                          tern_client_fn fn, void *ctx, tern_req *id);

/* The same for an observation (tern_client_observe): fn gets every fresh
 * notification while io runs, until ev->observing is false. */
int tern_io_observe(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                    tern_client_fn fn, void *ctx, tern_req *id);

/* The same, each notification whole (tern_client_observe_body, RFC 7959
 * section 2.6): body (body_cap bytes) must stay valid until fn's last call. */
int tern_io_observe_body(tern_io *io, const char *uri, tern_msgb *req, uint8_t *body,
                         size_t body_cap, uint32_t timeout_ms, tern_client_fn fn, void *ctx,
                         tern_req *id);

/* The body tern_io_request puts together at most (RFC 7959 Block2). */
#define TERN_REPLY_BODY_MAX 65536u

/* A response copied out of the receive buffer, so that it outlives the call.
 * msg is the (last) response: header and options re-encoded in buf (len
 * bytes), payload pointing at the whole body, which lies in body (or in the
 * caller's buffer for tern_io_request_body). msg points into the struct
 * itself: use it in place, do not copy a tern_reply by value. */
typedef struct tern_reply {
    tern_msg msg;
    size_t len;
    uint8_t buf[2048];
    uint8_t body[TERN_REPLY_BODY_MAX];
} tern_reply;

/* Send req to uri and run io until the response comes or timeout_ms (0: the
 * client's default, 93 s) passes. A GET or FETCH answered block-wise (RFC
 * 7959 section 2.4, Block2) is followed to its last block within that time
 * (tern_client_request_body), so resp->msg.payload is the whole body, up to
 * TERN_REPLY_BODY_MAX bytes. 0 with *resp filled (whatever its code: 4.xx
 * and 5.xx are answers, not errors), or TERN_E_URI, TERN_E_NOTFOUND (host),
 * TERN_E_TIMEOUT, TERN_E_UNREACHABLE (ICMP), TERN_E_RESET, TERN_E_NOSPACE
 * (response too large for resp), TERN_E_FORMAT or TERN_E_STATE (a broken
 * or ever-changing block-wise answer), TERN_E_SYSTEM, TERN_E_CANCELLED (io
 * was stopped, e.g. by a signal caught with tern_io_catch_signals). */
int tern_io_request(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                    tern_reply *resp);

/* The same with the body put together in the caller's buffer (body_cap
 * bytes, for bodies beyond TERN_REPLY_BODY_MAX; resp->body stays unused):
 * resp->msg.payload then points into body. TERN_E_NOSPACE when the body is
 * larger than body_cap. */
int tern_io_request_body(tern_io *io, const char *uri, tern_msgb *req, uint32_t timeout_ms,
                         tern_reply *resp, uint8_t *body, size_t body_cap);

#ifdef __cplusplus
}
#endif
#endif
