/* SPDX-License-Identifier: BSD-2-Clause */
/* dtls.h - coaps (RFC 7252 section 9): DTLS 1.2 sessions over one UDP
 * socket, on OpenSSL 3 (private to src/io).
 *
 * Sans-I/O as the engine is: ciphertext comes in through tern_dtls_input
 * and goes out through the send callback, one datagram per call; plaintext
 * CoAP comes out through the deliver callback and goes in through
 * tern_dtls_write. io.c does the sockets, and routes by address: a peer
 * reached through a session carries a mark in its tern_addr
 * (tern_iop_addr_mark_secure), so that to the endpoint, server and client
 * the same host and port over coap and over coaps are two peers, and
 * nothing else of DTLS shows. */
#ifndef TERN_IO_DTLS_H
#define TERN_IO_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/io.h"

typedef struct tern_dtls tern_dtls;

/* One datagram of ciphertext to peer (its plain, unmarked address). */
typedef void (*tern_dtls_send_fn)(void *ctx, const tern_addr *peer, const uint8_t *data, size_t len);
/* One datagram of plaintext (a CoAP message) from peer (marked address). */
typedef void (*tern_dtls_deliver_fn)(void *ctx, const tern_addr *peer, const uint8_t *data,
                                     size_t len, uint64_t now);

/* server: accept sessions (with the stateless cookie exchange), using the
 * PSK lookup and/or the certificate of cfg; otherwise connect to servers
 * with the client credentials of cfg. TERN_E_INVAL for credentials that
 * cannot be loaded (*why says which, never the key). */
int tern_dtls_new(tern_dtls **out, const tern_io_dtls_config *cfg, bool server,
                  tern_dtls_send_fn send, tern_dtls_deliver_fn deliver, void *ctx, char *why,
                  size_t why_cap);
/* Closes every session with close_notify (through send) and frees. */
void tern_dtls_free(tern_dtls *d);

/* A datagram that arrived from peer (plain address). */
void tern_dtls_input(tern_dtls *d, const tern_addr *peer, const uint8_t *data, size_t len,
                     uint64_t now);
/* Send a CoAP message to peer (plain address) over its session. A client
 * starts the handshake when there is none and sends once it completes (a
 * few messages wait meanwhile). 0, TERN_E_NOTFOUND (a server has no
 * session with peer), TERN_E_FULL. */
int tern_dtls_write(tern_dtls *d, const tern_addr *peer, const uint8_t *data, size_t len,
                    uint64_t now);

uint64_t tern_dtls_next_deadline(const tern_dtls *d, uint64_t now);
/* What is due now: handshake retransmissions and timeouts, idle sessions
 * closed; nothing else (so it may run at every step). NULL: nothing. */
void tern_dtls_tick(tern_dtls *d, uint64_t now);

/* The identity a peer (plain address) authenticated with: the PSK
 * identity, or the subject CN of its certificate. Its length, 0 when it
 * has no established session. */
size_t tern_dtls_identity(const tern_dtls *d, const tern_addr *peer, char *out, size_t cap);

void tern_dtls_get_stats(const tern_dtls *d, tern_io_dtls_stats *st);

/* RFC 7983 section 7: a datagram whose first byte is 20 to 63 is DTLS; a
 * CoAP message starts with version 1 (64 to 127). */
static inline bool tern_dtls_is_record(const uint8_t *data, size_t len) {
    return len > 0 && data[0] >= 20 && data[0] <= 63;
}

#endif
