/* SPDX-License-Identifier: BSD-2-Clause */
/* group.h - group addresses for the io layer (private): which datagrams came
 * to a multicast or broadcast address, joining groups (RFC 7252 section 8). */
#ifndef TERN_IO_GROUP_H
#define TERN_IO_GROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tern/endpoint.h"

/* This host's IPv4 networks, to tell a subnet broadcast (host bits all
 * ones) from a unicast address. Read with getifaddrs when needed. */
#define TERN_IOP_MAX_NETS 32
typedef struct tern_iop_nets {
    unsigned n;
    uint64_t read_at; /* when last read, ms */
    /* The last destination found to be no broadcast (a server's datagrams
     * mostly come to one address): asked again, no scan. */
    bool plain_valid;
    uint32_t plain_dst;
    unsigned plain_ifindex;
    struct {
        unsigned ifindex;
        uint32_t addr, mask; /* host order */
    } v[TERN_IOP_MAX_NETS];
} tern_iop_nets;

/* Ask the kernel for each datagram's destination (IP_PKTINFO,
 * IPV6_RECVPKTINFO) and allow sending to broadcast addresses. */
void tern_iop_group_setup(int fd, int family);
/* Room for the control data tern_iop_group_setup asks for. */
#define TERN_IOP_CMSG_SPACE 128
/* Did the datagram of mh (its control data) come to a group address? */
bool tern_iop_came_to_group(tern_iop_nets *nets, const struct msghdr *mh, uint64_t now_ms);
/* Is a (an address of this io's socket) a group address, multicast or an
 * IPv4 broadcast? */
bool tern_iop_addr_is_group(tern_iop_nets *nets, const tern_addr *a, uint64_t now_ms);
/* Join group (a numeric IPv4 or IPv6 multicast address) on iface (a name;
 * NULL or "": the interface the kernel picks for the group). 0,
 * TERN_E_INVAL (not a multicast address, unknown interface, IPv6 group on
 * an IPv4 socket), TERN_E_SYSTEM. */
int tern_iop_join(int fd, int family, const char *group, const char *iface);

#endif
