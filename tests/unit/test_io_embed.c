/* SPDX-License-Identifier: BSD-2-Clause */
/* test_io_embed.c - tern_io driven from someone else's event loop, over real
 * loopback UDP: the loop watches tern_io_fd() and sleeps for
 * tern_io_timeout_ms(), calling tern_io_step(io, 0) when either says so
 * (tern/io.h). Also checks that an idle server asks for no wake-up at all:
 * nothing in tern polls. */
#include "tern/io.h"
#include "tern/tern.h"
#include "tern_test.h"
#include "test_io_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

static uint8_t get_hello(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_text(resp, "hello");
    return TERN_CODE_CONTENT;
}

static tern_io *open_io(uint16_t port) {
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = "127.0.0.1";
    cfg.port = port;
    tern_io *io = NULL;
    assert_int_equal(tern_io_new(&io, &cfg), 0);
    assert_non_null(io);
    return io;
}

/* The host loop: poll both fds with the shorter of the two timeouts. */
static void host_loop_round(tern_io *a, tern_io *b) {
    struct pollfd fds[2] = {{.fd = tern_io_fd(a), .events = POLLIN},
                            {.fd = tern_io_fd(b), .events = POLLIN}};
    int ta = tern_io_timeout_ms(a), tb = tern_io_timeout_ms(b);
    int t = ta < 0 ? tb : (tb < 0 ? ta : (ta < tb ? ta : tb));
    if (t < 0 || t > 100) t = 100; /* bounded: the test must end */
    poll(fds, 2, t);
    assert_int_equal(tern_io_step(a, 0), 0);
    assert_int_equal(tern_io_step(b, 0), 0);
}

/* tern_io_add_source: another fd and deadline in the same loop. A pipe
 * with a byte in it makes tern_io_step run the source's step; a source
 * whose deadline has come is stepped without input; tern_io_fd becomes
 * readable for it and tern_io_timeout_ms counts its deadline, so a host
 * loop drives it too; a fifth source is refused. */
typedef struct pipe_source {
    int fds[2];
    int timeout; /* what timeout_ms says */
    unsigned steps;
} pipe_source;

static int pipe_timeout(void *ctx) { return ((pipe_source *)ctx)->timeout; }
static void pipe_step(void *ctx) {
    pipe_source *p = ctx;
    char c;
    while (read(p->fds[0], &c, 1) == 1) {}
    p->steps++;
}

static void test_io_source_stepped_in_the_loop(void **state) {
    (void)state;
    tern_io *io = open_io(0);
    pipe_source p = {.timeout = -1};
    assert_int_equal(pipe2(p.fds, O_NONBLOCK), 0);
    tern_io_source src = {.fd = p.fds[0], .timeout_ms = pipe_timeout, .step = pipe_step, .ctx = &p};
    assert_int_equal(tern_io_add_source(io, &src), 0);
    assert_int_equal(tern_io_timeout_ms(io), -1); /* idle: nobody asks for a wake-up */
    assert_int_equal(tern_io_step(io, 0), 0);
    assert_int_equal(p.steps, 0);

    assert_int_equal(write(p.fds[1], "x", 1), 1);
    struct pollfd pfd = {.fd = tern_io_fd(io), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 1000), 1); /* the host loop hears of it */
    assert_int_equal(tern_io_step(io, 0), 0);
    assert_int_equal(p.steps, 1);
    assert_int_equal(tern_io_step(io, 0), 0); /* drained: not again */
    assert_int_equal(p.steps, 1);

    p.timeout = 250;
    assert_int_equal(tern_io_timeout_ms(io), 250);
    p.timeout = 0; /* due: stepped without input */
    assert_int_equal(tern_io_timeout_ms(io), 0);
    assert_int_equal(tern_io_step(io, 0), 0);
    assert_int_equal(p.steps, 2);
    p.timeout = -1;

    int more[TERN_IO_MAX_SOURCES][2];
    for (int i = 0; i < TERN_IO_MAX_SOURCES; i++) {
        assert_int_equal(pipe2(more[i], O_NONBLOCK), 0);
        tern_io_source other = {.fd = more[i][0], .step = pipe_step, .ctx = &p};
        /* sources 2 to MAX fit; the one after is refused */
        assert_int_equal(tern_io_add_source(io, &other),
                         i + 1 < TERN_IO_MAX_SOURCES ? 0 : TERN_E_FULL);
    }
    assert_int_equal(tern_io_timeout_ms(io), -1); /* no timeout_ms: no deadline */
    tern_io_free(io);
    for (int i = 0; i < TERN_IO_MAX_SOURCES; i++) close(more[i][0]), close(more[i][1]);
    close(p.fds[0]);
    close(p.fds[1]);
}

static void test_io_embedded_in_a_foreign_poll_loop(void **state) {
    (void)state;
    tern_io *srv_io = open_io(0);
    tern_resource_def def = {.path = "/hello", .get = get_hello};
    assert_int_equal(tern_server_add_resource(tern_io_server(srv_io), &def, NULL), 0);
    uint16_t port = tern_io_port(srv_io);
    assert_true(port != 0);

    /* Idle: no deadline, so the host loop may sleep until a datagram. */
    assert_int_equal(tern_io_timeout_ms(srv_io), -1);

    tern_io *cli_io = open_io(0);
    char uri[64];
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u/hello", port);
    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
    outcome o = {0};
    tern_client_op_id id;
    assert_int_equal(tern_io_request_start(cli_io, uri, &req, 5000, on_answer, &o, &id), 0);
    for (int i = 0; i < 50 && !o.done; i++) host_loop_round(srv_io, cli_io);

    assert_true(o.done);
    assert_int_equal(o.err, 0);
    assert_int_equal(o.code, TERN_CODE_CONTENT);
    assert_string_equal(o.payload, "hello");
    tern_io_free(cli_io);
    tern_io_free(srv_io);
}

static void test_io_unknown_path_answers_4_04(void **state) {
    (void)state;
    tern_io *srv_io = open_io(0);
    assert_non_null(tern_io_server(srv_io));
    uint16_t port = tern_io_port(srv_io);
    tern_io *cli_io = open_io(0);
    char uri[64];
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u/nowhere", port);
    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
    outcome o = {0};
    tern_client_op_id id;
    assert_int_equal(tern_io_request_start(cli_io, uri, &req, 5000, on_answer, &o, &id), 0);
    for (int i = 0; i < 50 && !o.done; i++) host_loop_round(srv_io, cli_io);
    assert_true(o.done);
    assert_int_equal(o.code, TERN_CODE_NOT_FOUND); /* RFC 7252 section 5.9.2.5 */
    tern_io_free(cli_io);
    tern_io_free(srv_io);
}

/* tern_io_config.proxy (RFC 7252 section 5.7.2): the request goes to the
 * proxy's address whatever the target's host, the target whole in
 * Proxy-Uri. The "proxy" here is a tern server, which proxies nothing and
 * says so with 5.05 (section 5.10.2): that answer came from the proxy's
 * address, and the target's host (never resolved) does not exist. A proxy
 * URI with a path is refused at tern_io_new. */
static void test_rfc7252_s5_7_2_requests_go_through_the_proxy(void **state) {
    (void)state;
    tern_io *proxy_io = open_io(0);
    assert_non_null(tern_io_server(proxy_io));
    char proxy[64];
    snprintf(proxy, sizeof proxy, "coap://127.0.0.1:%u", tern_io_port(proxy_io));
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = "127.0.0.1";
    cfg.port = 0;
    cfg.proxy = proxy;
    tern_io *cli_io = NULL;
    assert_int_equal(tern_io_new(&cli_io, &cfg), 0);
    const char *targets[] = {"coap://sensor.invalid/temp", "http://example.invalid/x"};
    for (int t = 0; t < 2; t++) {
        tern_msgb req;
        tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
        outcome o = {0};
        tern_client_op_id id;
        assert_int_equal(tern_io_request_start(cli_io, targets[t], &req, 5000, on_answer, &o, &id),
                         0);
        assert_int_equal(req.n_opts, 0); /* the caller's builder as it was */
        for (int i = 0; i < 50 && !o.done; i++) host_loop_round(proxy_io, cli_io);
        assert_true(o.done);
        assert_int_equal(o.code, TERN_CODE_PROXYING_NOT_SUPPORTED);
    }
    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
    tern_client_op_id id;
    assert_int_equal(tern_io_request_start(cli_io, "not a uri", &req, 5000, on_answer, NULL, &id),
                     TERN_E_URI);
    tern_io_free(cli_io);

    snprintf(proxy, sizeof proxy, "coap://127.0.0.1:%u/path", tern_io_port(proxy_io));
    cli_io = NULL;
    assert_int_equal(tern_io_new(&cli_io, &cfg), TERN_E_URI);
    assert_null(cli_io);
    tern_io_free(proxy_io);
}

/* tern_io_config.socket_buffer: the kernel buffer is sized for bursts (4
 * MiB by default; forced as root, else within net.core.rmem_max). */
static void test_io_socket_buffer_sized(void **state) {
    (void)state;
    tern_io *io = open_io(0);
    uint32_t got = tern_io_socket_buffer(io);
    assert_true(got > 0);
    if (geteuid() == 0) assert_true(got >= 4u << 20);
    else printf("# not root: %u bytes granted (net.core.rmem_max caps it)\n", got);
    tern_io_free(io);
}

/* tern_io_config.reuse_port: a second socket binds the same port (the
 * kernel spreads peers over them); without it, TERN_E_ADDRINUSE. Both
 * answer: requests from 16 client sockets all get their 2.05. */
static void test_io_reuse_port_shares_a_port(void **state) {
    (void)state;
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = "127.0.0.1";
    cfg.port = 0;
    cfg.reuse_port = true;
    tern_io *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(tern_io_new(&a, &cfg), 0);
    cfg.port = tern_io_port(a);
    assert_int_equal(tern_io_new(&b, &cfg), 0);
    assert_int_equal(tern_io_port(b), cfg.port);
    cfg.reuse_port = false;
    assert_int_equal(tern_io_new(&c, &cfg), TERN_E_ADDRINUSE);
    tern_resource_def def = {.path = "/hello", .get = get_hello};
    assert_int_equal(tern_server_add_resource(tern_io_server(a), &def, NULL), 0);
    assert_int_equal(tern_server_add_resource(tern_io_server(b), &def, NULL), 0);
    char uri[64];
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u/hello", cfg.port);
    for (int k = 0; k < 16; k++) {
        tern_io *cli = open_io(0);
        tern_msgb req;
        tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
        outcome o = {0};
        tern_client_op_id id;
        assert_int_equal(tern_io_request_start(cli, uri, &req, 5000, on_answer, &o, &id), 0);
        for (int i = 0; i < 50 && !o.done; i++) {
            host_loop_round(a, cli);
            assert_int_equal(tern_io_step(b, 0), 0);
        }
        assert_true(o.done);
        assert_int_equal(o.code, TERN_CODE_CONTENT);
        tern_io_free(cli);
    }
    tern_io_free(a);
    tern_io_free(b);
}

/* A UDP socket with an ICMP error pending (an earlier answer went to a
 * port that had closed) fails its next send once with that error. The
 * datagram of that send belongs to another peer: it must still go (RFC
 * 8085 5.2 asks to act on ICMP errors, not to lose other traffic to them).
 * Client A asks with a NON and closes its socket: the answer draws an ICMP
 * port unreachable, which waits on the server's socket. Before the server
 * reads anything again, its own client sends a NON request to B (a NON is
 * never retransmitted): B gets it. */
static void test_io_icmp_error_pending_loses_no_other_peers_datagram(void **state) {
    (void)state;
    tern_io *srv = open_io(0);
    tern_resource_def def = {.path = "/hello", .get = get_hello};
    assert_int_equal(tern_server_add_resource(tern_io_server(srv), &def, NULL), 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(tern_io_port(srv))};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    /* NON GET /hello, MID 0x1234, token 0x42 */
    const uint8_t get[] = {0x51, 0x01, 0x12, 0x34, 0x42, 0xB5, 'h', 'e', 'l', 'l', 'o'};
    int a = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(a >= 0);
    assert_int_equal(sendto(a, get, sizeof get, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)sizeof get);
    close(a);
    struct pollfd ps = {.fd = tern_io_fd(srv), .events = POLLIN};
    assert_int_equal(poll(&ps, 1, 1000), 1);
    assert_int_equal(tern_io_step(srv, 0), 0); /* A answered; the ICMP error comes back */

    int b = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(b >= 0);
    struct sockaddr_in bb = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &bb.sin_addr);
    assert_int_equal(bind(b, (struct sockaddr *)&bb, sizeof bb), 0);
    socklen_t bl = sizeof bb;
    getsockname(b, (struct sockaddr *)&bb, &bl);
    char uri[64];
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u/x", ntohs(bb.sin_port));
    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_NON, TERN_CODE_GET, 0);
    outcome o = {0};
    tern_client_op_id id;
    assert_int_equal(tern_io_request_start(srv, uri, &req, 1000, on_answer, &o, &id), 0);
    assert_int_equal(tern_io_step(srv, 0), 0); /* the first send since the error */
    struct pollfd pb = {.fd = b, .events = POLLIN};
    assert_int_equal(poll(&pb, 1, 500), 1); /* B got the request */
    uint8_t buf[64];
    assert_true(recv(b, buf, sizeof buf, 0) >= 4);
    assert_int_equal(buf[1], TERN_CODE_GET);
    close(b);
    tern_io_free(srv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_embedded_in_a_foreign_poll_loop),
        cmocka_unit_test(test_io_source_stepped_in_the_loop),
        cmocka_unit_test(test_io_unknown_path_answers_4_04),
        cmocka_unit_test(test_rfc7252_s5_7_2_requests_go_through_the_proxy),
        cmocka_unit_test(test_io_socket_buffer_sized),
        cmocka_unit_test(test_io_reuse_port_shares_a_port),
        cmocka_unit_test(test_io_icmp_error_pending_loses_no_other_peers_datagram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
