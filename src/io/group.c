/* SPDX-License-Identifier: BSD-2-Clause */
/* group.c - group addresses (RFC 7252 section 8) as the io layer sees them.
 *
 * A server must know whether a request came to a group address: it must
 * not answer it with RST or with an error, and answers it after a random
 * leisure (the endpoint does that given TERN_RX_MULTICAST). The destination
 * of each datagram comes with it as control data (IP_PKTINFO for IPv4, also
 * on a dual-stack socket; IPV6_PKTINFO for IPv6): a multicast address is
 * recognised by its prefix (224.0.0.0/4, ff00::/8), an IPv4 broadcast is
 * 255.255.255.255 or an address whose host bits are all ones on the
 * interface it came in on (getifaddrs gives the netmasks; this is how
 * 127.255.255.255 on lo is told from 127.0.0.1). */
#include "io/group.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "tern/error.h"

void tern_iop_group_setup(int fd, int family) {
    int on = 1;
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    /* A client may send to a broadcast address (tern discover). */
    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
}

static void read_nets(tern_iop_nets *nets, uint64_t now) {
    struct ifaddrs *ifs = NULL;
    nets->n = 0;
    nets->read_at = now;
    nets->plain_valid = false;
    if (getifaddrs(&ifs) < 0) return;
    for (struct ifaddrs *i = ifs; i && nets->n < TERN_IOP_MAX_NETS; i = i->ifa_next) {
        if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != AF_INET) continue;
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)i->ifa_addr;
        const struct sockaddr_in *m = (const struct sockaddr_in *)(const void *)i->ifa_netmask;
        nets->v[nets->n].ifindex = if_nametoindex(i->ifa_name);
        nets->v[nets->n].addr = ntohl(a->sin_addr.s_addr);
        nets->v[nets->n].mask = ntohl(m->sin_addr.s_addr);
        nets->n++;
    }
    freeifaddrs(ifs);
}

/* IPv4 dst (host order) a broadcast on ifindex (0: any interface)? */
static inline bool ipv4_broadcast(tern_iop_nets *nets, uint32_t dst, unsigned ifindex, uint64_t now) {
    if (dst == 0xFFFFFFFFu) return true;
    /* Interfaces come and go: read them again at most once a second. */
    if (nets->read_at == 0 || now >= nets->read_at + 1000) read_nets(nets, now);
    if (nets->plain_valid && nets->plain_dst == dst && nets->plain_ifindex == ifindex) return false;
    for (unsigned k = 0; k < nets->n; k++) {
        uint32_t mask = nets->v[k].mask;
        if (ifindex && nets->v[k].ifindex != ifindex) continue;
        if (mask == 0xFFFFFFFFu || mask == 0xFFFFFFFEu) continue; /* /32, /31: no broadcast */
        if ((dst & mask) == (nets->v[k].addr & mask) && (dst | mask) == 0xFFFFFFFFu) return true;
    }
    nets->plain_valid = true;
    nets->plain_dst = dst;
    nets->plain_ifindex = ifindex;
    return false;
}

static inline bool ipv4_group(tern_iop_nets *nets, uint32_t dst, unsigned ifindex, uint64_t now) {
    return (dst >> 28) == 0xE || ipv4_broadcast(nets, dst, ifindex, now);
}

static bool v4mapped(const struct in6_addr *a) { return IN6_IS_ADDR_V4MAPPED(a); }

bool tern_iop_came_to_group(tern_iop_nets *nets, const struct msghdr *mh, uint64_t now_ms) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            return ipv4_group(nets, ntohl(pi.ipi_addr.s_addr), (unsigned)pi.ipi_ifindex, now_ms);
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            if (IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr)) return true;
            if (v4mapped(&pi.ipi6_addr)) {
                uint32_t d;
                memcpy(&d, &pi.ipi6_addr.s6_addr[12], 4);
                return ipv4_group(nets, ntohl(d), pi.ipi6_ifindex, now_ms);
            }
            return false;
        }
    }
    return false;
}

bool tern_iop_addr_is_group(tern_iop_nets *nets, const tern_addr *a, uint64_t now_ms) {
    sa_family_t fam;
    memcpy(&fam, a->bytes, sizeof fam);
    if (fam == AF_INET6 && a->len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 s6;
        memcpy(&s6, a->bytes, sizeof s6);
        if (IN6_IS_ADDR_MULTICAST(&s6.sin6_addr)) return true;
        if (!v4mapped(&s6.sin6_addr)) return false;
        uint32_t d;
        memcpy(&d, &s6.sin6_addr.s6_addr[12], 4);
        return ipv4_group(nets, ntohl(d), 0, now_ms);
    }
    if (fam == AF_INET && a->len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in s4;
        memcpy(&s4, a->bytes, sizeof s4);
        return ipv4_group(nets, ntohl(s4.sin_addr.s_addr), 0, now_ms);
    }
    return false;
}

int tern_iop_join(int fd, int family, const char *group, const char *iface) {
    unsigned ifindex = 0;
    if (iface && *iface && (ifindex = if_nametoindex(iface)) == 0) return TERN_E_INVAL;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, group, &a4) == 1) {
        if ((ntohl(a4.s_addr) >> 28) != 0xE) return TERN_E_INVAL;
        /* On a dual-stack socket too: Linux takes IPv4 memberships there. */
        struct ip_mreqn mr;
        memset(&mr, 0, sizeof mr);
        mr.imr_multiaddr = a4;
        mr.imr_ifindex = (int)ifindex;
        return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) == 0 ? 0
                                                                                 : TERN_E_SYSTEM;
    }
    if (family == AF_INET6 && inet_pton(AF_INET6, group, &a6) == 1) {
        if (!IN6_IS_ADDR_MULTICAST(&a6)) return TERN_E_INVAL;
        struct ipv6_mreq mr;
        memset(&mr, 0, sizeof mr);
        mr.ipv6mr_multiaddr = a6;
        mr.ipv6mr_interface = ifindex;
        return setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof mr) == 0 ? 0
                                                                                 : TERN_E_SYSTEM;
    }
    return TERN_E_INVAL;
}
