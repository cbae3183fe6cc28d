/* SPDX-License-Identifier: BSD-2-Clause */
/* dtls_handshakes.c - what coaps costs in tern: handshakes per second and
 * the server's memory per DTLS session, with plain coap as the reference
 * in the same run.
 *
 *   dtls_handshakes [-n HANDSHAKES] [-s SESSIONS]
 *
 * A server (a child process, on core 0 when there are two) serves GET
 * /hello over coap and over coaps with one PSK. The parent (core 1) then:
 * 1. N times: a new client (its own socket), one GET over plain coap,
 *    freed - the reference: a socket, a request, an answer;
 * 2. N times the same over coaps: each one a full DTLS 1.2 PSK handshake
 *    (cookie exchange included), the GET, and close_notify;
 * 3. opens S coaps clients and keeps them (S sessions on the server), and
 *    reads the server's VmRSS before and after: bytes per session.
 * It prints the rates, their ratio, and the bytes per session. Loopback
 * only. */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tern/io.h"
#include "tern/tern.h"

static uint8_t get_hello(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_text(resp, "hello");
    return TERN_CODE_CONTENT;
}

static int psk_lookup(void *ctx, const char *identity, uint8_t *key, size_t cap) {
    (void)ctx, (void)identity;
    if (cap < 10) return -1;
    memcpy(key, "bench-key!", 10);
    return 10;
}

static void pin(unsigned cpu) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

/* The server: forked, serves until killed. Its two ports come through a
 * pipe into ports[]. */
static pid_t start_server(uint32_t max_sessions, uint16_t ports_out[2]) {
    int p[2];
    if (pipe(p) < 0) exit(1);
    pid_t pid = fork();
    if (pid < 0) exit(1);
    if (pid > 0) {
        close(p[1]);
        if (read(p[0], ports_out, 2 * sizeof ports_out[0]) != (ssize_t)(2 * sizeof ports_out[0])) {
            fprintf(stderr, "dtls_handshakes: the server did not start\n");
            exit(1);
        }
        close(p[0]);
        return pid;
    }
    close(p[0]);
    pin(0u);
    tern_io_dtls_config d;
    tern_io_dtls_config_default(&d);
    d.server = true;
    d.port = 0;
    d.psk_lookup = psk_lookup;
    d.max_sessions = max_sessions;
    d.max_handshakes = 1024;
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = "127.0.0.1";
    cfg.port = 0;
    cfg.dtls = &d;
    tern_io *io = NULL;
    if (tern_io_new(&io, &cfg) < 0) _exit(1);
    tern_resource_def def = {.path = "/hello", .get = get_hello};
    tern_server_add_resource(tern_io_server(io), &def, NULL);
    uint16_t ports[2] = {tern_io_port(io), tern_io_coaps_port(io)};
    if (write(p[1], ports, sizeof ports) != (ssize_t)sizeof ports) _exit(1);
    close(p[1]);
    tern_io_run(io);
    _exit(0);
}

typedef struct answer {
    bool done;
    uint8_t code;
} answer;

static void on_answer(void *ctx, tern_client *cli, tern_client_op_id id, const tern_client_event *ev,
                      uint64_t now_ms) {
    (void)cli, (void)id, (void)now_ms;
    answer *a = ctx;
    a->done = true;
    a->code = ev->resp ? ev->resp->code : 0;
}

static tern_io *client(bool secure) {
    tern_io_dtls_config d;
    tern_io_dtls_config_default(&d);
    d.psk_identity = "bench";
    d.psk_key = (const uint8_t *)"bench-key!";
    d.psk_key_len = 10;
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = "127.0.0.1";
    cfg.port = 0;
    cfg.socket_buffer = 64u << 10;
    cfg.dtls = secure ? &d : NULL;
    tern_io *io = NULL;
    if (tern_io_new(&io, &cfg) < 0) {
        fprintf(stderr, "dtls_handshakes: cannot open a client socket\n");
        exit(1);
    }
    return io;
}

/* One GET on io; true when 2.05 came. */
static bool get(tern_io *io, const char *uri) {
    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
    answer a = {false, 0};
    tern_client_op_id id;
    if (tern_io_request_start(io, uri, &req, 5000, on_answer, &a, &id) < 0) return false;
    for (int i = 0; i < 1000 && !a.done; i++) tern_io_step(io, 10);
    return a.code == TERN_CODE_CONTENT;
}

/* n clients, one GET each; the rate, failures in *bad, the slowest one
 * in *slowest (seconds). */
static double rounds(const char *uri, bool secure, int n, int *bad, double *slowest) {
    *bad = 0;
    *slowest = 0;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        double t = now_s();
        tern_io *io = client(secure);
        if (!get(io, uri)) (*bad)++;
        tern_io_free(io); /* coaps: close_notify */
        if (now_s() - t > *slowest) *slowest = now_s() - t;
    }
    return n / (now_s() - t0);
}

int main(int argc, char **argv) {
    int n = 2000, sessions = 500, c;
    while ((c = getopt(argc, argv, "n:s:h")) != -1) {
        if (c == 'n') n = atoi(optarg);
        else if (c == 's') sessions = atoi(optarg);
        else {
            fprintf(stderr, "usage: %s [-n HANDSHAKES] [-s SESSIONS]\n", argv[0]);
            return c == 'h' ? 0 : 2;
        }
    }
    if (n < 1 || sessions < 1 || sessions > 5000) return 2;
    uint16_t ports[2];
    pid_t srv = start_server((uint32_t)sessions + 16, ports);
    pin(1u);
    char plain[64], secure[64];
    snprintf(plain, sizeof plain, "coap://127.0.0.1:%u/hello", ports[0]);
    snprintf(secure, sizeof secure, "coaps://127.0.0.1:%u/hello", ports[1]);
    int bad_plain, bad_dtls;
    double slow_plain, slow_dtls;
    (void)rounds(plain, false, n / 10 + 1, &bad_plain, &slow_plain); /* warm-up */
    double r_plain = rounds(plain, false, n, &bad_plain, &slow_plain);
    double r_dtls = rounds(secure, true, n, &bad_dtls, &slow_dtls);
    printf("coap  (reference): %8.0f new clients/s with one GET each (%d failed of %d; "
           "slowest %.1f ms)\n",
           r_plain, bad_plain, n, slow_plain * 1e3);
    printf("coaps (DTLS 1.2 PSK, cookie, close_notify): %8.0f handshakes/s with one GET each "
           "(%d failed of %d; slowest %.1f ms)\n",
           r_dtls, bad_dtls, n, slow_dtls * 1e3);
    printf("ratio coaps/coap: %.3f\n", r_dtls / r_plain);

    long before = rss_kb(srv);
    tern_io **keep = calloc((size_t)sessions, sizeof *keep);
    int up = 0;
    for (int i = 0; i < sessions; i++) {
        keep[i] = client(true);
        up += get(keep[i], secure);
    }
    usleep(200000);
    long after = rss_kb(srv);
    printf("server RSS with %d coaps sessions open: %ld kB -> %ld kB, %.0f bytes per session "
           "(%d sessions answered)\n",
           sessions, before, after, (double)(after - before) * 1024.0 / up, up);
    for (int i = 0; i < sessions; i++) tern_io_free(keep[i]);
    free(keep);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    return bad_dtls == 0 ? 0 : 1;
}
