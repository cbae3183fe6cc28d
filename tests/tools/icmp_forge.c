/* SPDX-License-Identifier: BSD-2-Clause */
/* icmp_forge - send a forged ICMP port unreachable over loopback, for the
 * tests of RFC 8085 section 5.2: anyone on the path (or able to spoof a
 * source address) can send a host an ICMP error about a datagram it never
 * saw, and a UDP application must not let one end what it does not name.
 *
 *   icmp_forge FROM_PORT TO_PORT [HEX]
 *
 * The error claims that the datagram 127.0.0.1:FROM_PORT ->
 * 127.0.0.1:TO_PORT could not be delivered, quoting the IPv4 and UDP
 * headers of that datagram and then the bytes HEX (the start of its UDP
 * payload; none when HEX is absent or empty, which is all RFC 792 promises
 * an error carries past the IP header). The kernel hands it to the socket
 * bound at FROM_PORT, on its error queue (IP_RECVERR).
 *
 * Needs a raw socket (root or CAP_NET_RAW): exits 77 without one, 2 on bad
 * arguments, 1 when the send fails. Sends to 127.0.0.1 only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define QUOTE_MAX 512

/* RFC 1071 Internet checksum. */
static uint16_t inet_checksum(const uint8_t *p, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xFFFFu) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, unsigned v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static int parse_port(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v > 0 && v < 65536 ? (int)v : -1;
}

static long parse_hex(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9') d = *s - '0';
        else if (*s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
        else if (*s == ' ' || *s == ':') continue;
        else return -1;
        if (hi < 0) {
            hi = d;
            continue;
        }
        if (n == cap) return -1;
        out[n++] = (uint8_t)(hi << 4 | d);
        hi = -1;
    }
    return hi < 0 ? (long)n : -1;
}

int main(int argc, char **argv) {
    uint8_t quote[QUOTE_MAX];
    long qn = 0;
    int from = argc >= 3 ? parse_port(argv[1]) : -1;
    int to = argc >= 3 ? parse_port(argv[2]) : -1;
    if (argc == 4) qn = parse_hex(argv[3], quote, sizeof quote);
    if (from < 0 || to < 0 || argc > 4 || qn < 0) {
        fprintf(stderr, "usage: icmp_forge FROM_PORT TO_PORT [HEX]\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd < 0) {
        fprintf(stderr, "icmp_forge: raw socket: %s (needs root or CAP_NET_RAW)\n",
                strerror(errno));
        return errno == EPERM || errno == EACCES ? 77 : 1;
    }

    /* ICMP header (8), the quoted IPv4 header (20) and UDP header (8),
     * then the quoted payload. */
    uint8_t pkt[8 + 20 + 8 + QUOTE_MAX];
    size_t n = 8 + 20 + 8 + (size_t)qn;
    memset(pkt, 0, sizeof pkt);
    pkt[0] = 3; /* destination unreachable */
    pkt[1] = 3; /* port unreachable */
    uint8_t *ip = pkt + 8, *udp = ip + 20;
    uint32_t lo = htonl(INADDR_LOOPBACK);
    ip[0] = 0x45;
    put16(ip + 2, (unsigned)(20 + 8 + qn)); /* as the original claimed */
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    memcpy(ip + 12, &lo, 4);
    memcpy(ip + 16, &lo, 4);
    put16(ip + 10, inet_checksum(ip, 20));
    put16(udp, (unsigned)from);
    put16(udp + 2, (unsigned)to);
    put16(udp + 4, (unsigned)(8 + qn));
    memcpy(udp + 8, quote, (size_t)qn);
    put16(pkt + 2, inet_checksum(pkt, n));

    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_addr.s_addr = lo};
    ssize_t sent = sendto(fd, pkt, n, 0, (const struct sockaddr *)&dst, sizeof dst);
    close(fd);
    if (sent != (ssize_t)n) {
        fprintf(stderr, "icmp_forge: sendto: %s\n", sent < 0 ? strerror(errno) : "short");
        return 1;
    }
    return 0;
}
