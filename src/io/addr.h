/* SPDX-License-Identifier: BSD-2-Clause */
/* addr.h - tern_addr <-> struct sockaddr for the io layer (private). */
#ifndef TERN_IO_ADDR_H
#define TERN_IO_ADDR_H

#include <sys/socket.h>

#include "tern/endpoint.h"

/* Store sa in the canonical form a socket of family sock_family sends to and
 * receives from: zeroed padding, flow label cleared, IPv4 as v4-mapped on an
 * AF_INET6 socket. TERN_E_INVAL if the address cannot be used there. */
int tern_iop_addr_from_sockaddr(const struct sockaddr *sa, int sock_family, tern_addr *out);
void tern_iop_addr_set_port(tern_addr *a, uint16_t port);
int tern_iop_addr_format(const tern_addr *a, char *out, size_t cap);

#endif
