/* SPDX-License-Identifier: BSD-2-Clause */
/* addr.c - canonical tern_addr values from socket addresses.
 *
 * The endpoint compares peers byte for byte (tern_addr_equal), so every
 * address that enters it must have one form only: the same peer seen twice
 * must give the same bytes. That is why padding is zeroed, the IPv6 flow
 * label dropped and IPv4 peers of a dual-stack socket always v4-mapped. */
#include "io/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

int tern_iop_addr_from_sockaddr(const struct sockaddr *sa, int sock_family, tern_addr *out) {
    memset(out, 0, sizeof *out);
    if (sock_family == AF_INET6) {
        struct sockaddr_in6 s6;
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)sa;
            s6.sin6_port = in->sin6_port;
            s6.sin6_addr = in->sin6_addr;
            s6.sin6_scope_id = in->sin6_scope_id;
        } else if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
            s6.sin6_port = in->sin_port;
            s6.sin6_addr.s6_addr[10] = 0xff;
            s6.sin6_addr.s6_addr[11] = 0xff;
            memcpy(&s6.sin6_addr.s6_addr[12], &in->sin_addr, 4);
        } else {
            return TERN_E_INVAL;
        }
        memcpy(out->bytes, &s6, sizeof s6);
        out->len = (uint8_t)sizeof s6;
        out->port_off = (uint8_t)offsetof(struct sockaddr_in6, sin6_port);
        return 0;
    }
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        s4.sin_port = in->sin_port;
        s4.sin_addr = in->sin_addr;
    } else if (sa->sa_family == AF_INET6 &&
               IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)sa;
        s4.sin_port = in->sin6_port;
        memcpy(&s4.sin_addr, &in->sin6_addr.s6_addr[12], 4);
    } else {
        return TERN_E_INVAL;
    }
    memcpy(out->bytes, &s4, sizeof s4);
    out->len = (uint8_t)sizeof s4;
    out->port_off = (uint8_t)offsetof(struct sockaddr_in, sin_port);
    return 0;
}

void tern_iop_addr_set_port(tern_addr *a, uint16_t port) {
    /* sin_port and sin6_port sit at the same offset, after the family. */
    uint16_t p = htons(port);
    memcpy(a->bytes + offsetof(struct sockaddr_in, sin_port), &p, sizeof p);
}

int tern_iop_addr_format(const tern_addr *a, char *out, size_t cap) {
    char host[INET6_ADDRSTRLEN];
    sa_family_t fam;
    memcpy(&fam, a->bytes, sizeof fam);
    int n;
    if (fam == AF_INET6 && a->len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 s6;
        memcpy(&s6, a->bytes, sizeof s6);
        if (IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) {
            inet_ntop(AF_INET, &s6.sin6_addr.s6_addr[12], host, sizeof host);
            n = snprintf(out, cap, "%s:%u", host, ntohs(s6.sin6_port));
        } else {
            inet_ntop(AF_INET6, &s6.sin6_addr, host, sizeof host);
            n = snprintf(out, cap, "[%s]:%u", host, ntohs(s6.sin6_port));
        }
    } else if (fam == AF_INET && a->len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in s4;
        memcpy(&s4, a->bytes, sizeof s4);
        inet_ntop(AF_INET, &s4.sin_addr, host, sizeof host);
        n = snprintf(out, cap, "%s:%u", host, ntohs(s4.sin_port));
    } else {
        n = snprintf(out, cap, "?");
    }
    if (n < 0 || (size_t)n >= cap) return TERN_E_NOSPACE;
    return n;
}

void tern_iop_addr_mark_secure(tern_addr *a) { a->bytes[tern_iop_mark_at(a)] = TERN_IOP_SECURE_MARK; }
void tern_iop_addr_unmark(tern_addr *a) { a->bytes[tern_iop_mark_at(a)] = 0; }
