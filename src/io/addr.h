/* SPDX-License-Identifier: BSD-2-Clause */
/* addr.h - tern_addr <-> struct sockaddr for the io layer (private). */
#ifndef TERN_IO_ADDR_H
#define TERN_IO_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "tern/endpoint.h"

/* Store sa in the canonical form a socket of family sock_family sends to and
 * receives from: zeroed padding, flow label cleared, IPv4 as v4-mapped on an
 * AF_INET6 socket. TERN_E_INVAL if the address cannot be used there. */
int tern_iop_addr_from_sockaddr(const struct sockaddr *sa, int sock_family, tern_addr *out);
void tern_iop_addr_set_port(tern_addr *a, uint16_t port);
int tern_iop_addr_format(const tern_addr *a, char *out, size_t cap);

/* A peer reached over DTLS (coaps) carries a mark in bytes the canonical
 * form keeps zero and the kernel never sees from us (the IPv6 flow
 * information; sin_zero for IPv4): to the endpoint the same host and port
 * over coap and coaps are two peers, as they are two sessions (RFC 7252
 * section 9.1). io sends such a datagram through its session, unmarked. */
void tern_iop_addr_mark_secure(tern_addr *a);
void tern_iop_addr_unmark(tern_addr *a);

/* The mark: in sockaddr_in6, sin6_flowinfo (bytes 4-7); in sockaddr_in,
 * the first byte of sin_zero (byte 8). Both are zero in the canonical
 * form. Inline: io_flush asks it of every datagram. */
#define TERN_IOP_SECURE_MARK 0x5Cu
static inline size_t tern_iop_mark_at(const tern_addr *a) {
    sa_family_t fam;
    memcpy(&fam, a->bytes, sizeof fam);
    return fam == AF_INET6 ? offsetof(struct sockaddr_in6, sin6_flowinfo)
                           : offsetof(struct sockaddr_in, sin_zero);
}
static inline bool tern_iop_addr_is_secure(const tern_addr *a) {
    return a->len > tern_iop_mark_at(a) && a->bytes[tern_iop_mark_at(a)] == TERN_IOP_SECURE_MARK;
}

#endif
