/* SPDX-License-Identifier: BSD-2-Clause */
/* test_io_dtls.c - coaps (RFC 7252 section 9) between two tern_io over real
 * loopback UDP: the transport glue of src/io/dtls.c. A PSK session carries
 * requests and answers and gives the server the client's identity; a wrong
 * key gets no answer and leaves no session; ClientHellos without a cookie
 * (RFC 6347 section 4.2.1) from many sources leave no state and draw
 * answers no larger than themselves; an idle session is closed. */
#include "tern/io.h"
#include "tern/tern.h"
#include "tern_test.h"
#include "test_io_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static tern_io *g_srv; /* for the handler: who asked */
static char g_identity[64];
static bool g_secure;

static uint8_t get_hello(tern_server_request *req, tern_server_response *resp) {
    const tern_addr *peer = tern_server_request_peer(req);
    g_secure = tern_io_peer_secure(peer);
    tern_io_peer_identity(g_srv, peer, g_identity, sizeof g_identity);
    tern_server_response_text(resp, "hello");
    return TERN_CODE_CONTENT;
}

static int psk_lookup(void *ctx, const char *identity, uint8_t *key, size_t cap) {
    (void)ctx;
    if (strcmp(identity, "door-sensor-1") != 0 || cap < 6) return -1;
    memcpy(key, "secret", 6);
    return 6;
}

static tern_io *open_server(uint32_t idle_s) {
    tern_io_dtls_config d;
    tern_io_dtls_config_default(&d);
    d.handshake_timeout_s = 1;
    d.server = true;
    d.port = 0;
    d.psk_lookup = psk_lookup;
    if (idle_s) d.idle_timeout_s = idle_s;
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = "127.0.0.1";
    cfg.port = 0;
    cfg.dtls = &d;
    tern_io *io = NULL;
    assert_int_equal(tern_io_new(&io, &cfg), 0);
    assert_true(tern_io_coaps_port(io) != 0);
    tern_resource_def def = {.path = "/hello", .get = get_hello};
    assert_int_equal(tern_server_add_resource(tern_io_server(io), &def, NULL), 0);
    g_srv = io;
    g_identity[0] = '\0';
    g_secure = false;
    return io;
}

static tern_io *open_client(const char *identity, const char *key) {
    tern_io_dtls_config d;
    tern_io_dtls_config_default(&d);
    d.psk_identity = identity;
    d.psk_key = (const uint8_t *)key;
    d.psk_key_len = strlen(key);
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = "127.0.0.1";
    cfg.port = 0;
    cfg.dtls = &d;
    tern_io *io = NULL;
    assert_int_equal(tern_io_new(&io, &cfg), 0);
    return io;
}

static void run_both(tern_io *a, tern_io *b, int ms) {
    struct pollfd fds[2] = {{.fd = tern_io_fd(a), .events = POLLIN},
                            {.fd = tern_io_fd(b), .events = POLLIN}};
    poll(fds, 2, ms);
    assert_int_equal(tern_io_step(a, 0), 0);
    assert_int_equal(tern_io_step(b, 0), 0);
}

static outcome get(tern_io *srv, tern_io *cli, const char *scheme, uint16_t port, int rounds) {
    char uri[80];
    snprintf(uri, sizeof uri, "%s://127.0.0.1:%u/hello", scheme, port);
    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
    outcome o = {0};
    tern_client_op_id id;
    assert_int_equal(tern_io_request_start(cli, uri, &req, 3000, on_answer, &o, &id), 0);
    for (int i = 0; i < rounds && !o.done; i++) run_both(srv, cli, 20);
    return o;
}

/* Section 9.1.3.1: a PSK session; the server sees the identity, and the
 * same host and port over plain coap is another, anonymous peer. */
static void test_rfc7252_s9_1_psk_session_carries_requests(void **state) {
    (void)state;
    tern_io *srv = open_server(0);
    tern_io *cli = open_client("door-sensor-1", "secret");
    outcome o = get(srv, cli, "coaps", tern_io_coaps_port(srv), 200);
    assert_true(o.done);
    assert_int_equal(o.err, 0);
    assert_int_equal(o.code, TERN_CODE_CONTENT);
    assert_string_equal(o.payload, "hello");
    assert_true(g_secure);
    assert_string_equal(g_identity, "door-sensor-1");
    tern_io_dtls_stats st;
    tern_io_get_dtls_stats(srv, &st);
    assert_int_equal(st.sessions, 1);
    assert_int_equal(st.handshakes_done, 1);
    assert_int_equal(st.hello_verify_sent, 1); /* the first hello had no cookie */

    /* a second request reuses the session */
    o = get(srv, cli, "coaps", tern_io_coaps_port(srv), 200);
    assert_int_equal(o.code, TERN_CODE_CONTENT);
    tern_io_get_dtls_stats(srv, &st);
    assert_int_equal(st.handshakes_done, 1);

    o = get(srv, cli, "coap", tern_io_port(srv), 200);
    assert_int_equal(o.code, TERN_CODE_CONTENT);
    assert_false(g_secure);
    assert_string_equal(g_identity, "");
    tern_io_free(cli);
    tern_io_free(srv);
}

/* A wrong key: the handshake never completes (DTLS drops the Finished that
 * fails its MAC), nothing is answered, and once the handshake times out
 * (1 s here) nothing is left behind. */
static void test_rfc7252_s9_1_wrong_key_refused(void **state) {
    (void)state;
    tern_io *srv = open_server(0);
    tern_io *cli = open_client("door-sensor-1", "guess");
    outcome o = get(srv, cli, "coaps", tern_io_coaps_port(srv), 75);
    assert_true(o.code == 0); /* no answer came */
    assert_string_equal(g_identity, "");
    tern_io_dtls_stats st;
    tern_io_get_dtls_stats(srv, &st);
    assert_int_equal(st.sessions, 0);
    assert_int_equal(st.handshakes, 0);
    assert_true(st.handshakes_failed >= 1);
    tern_io_free(cli);

    cli = open_client("nobody", "secret"); /* an unknown identity */
    o = get(srv, cli, "coaps", tern_io_coaps_port(srv), 75);
    assert_true(o.code == 0);
    tern_io_get_dtls_stats(srv, &st);
    assert_int_equal(st.sessions, 0);
    tern_io_free(cli);
    tern_io_free(srv);
}

/* A ClientHello without a cookie, made by OpenSSL into a memory BIO. */
static size_t client_hello(uint8_t *out, size_t cap) {
    SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());
    assert_non_null(ctx);
    /* suites a client without credentials may offer */
    SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256");
    SSL *ssl = SSL_new(ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, rb, wb);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl);
    int n = BIO_read(wb, out, (int)cap);
    assert_true(n > 0);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return (size_t)n;
}

/* RFC 6347 section 4.2.1 (and RFC 7252 section 11.3): ClientHellos from
 * 200 sources that never answer the cookie leave no session and no
 * handshake behind, and each answer is no larger than the hello. */
static void test_rfc6347_s4_2_1_cookie_keeps_no_state(void **state) {
    (void)state;
    tern_io *srv = open_server(0);
    uint8_t hello[1500], answer[1500];
    size_t hlen = client_hello(hello, sizeof hello);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(tern_io_coaps_port(srv))};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    int answered = 0;
    for (int k = 0; k < 200; k++) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(sendto(fd, hello, hlen, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)hlen);
        assert_int_equal(tern_io_step(srv, 100), 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) == 1) {
            ssize_t n = recv(fd, answer, sizeof answer, 0);
            assert_true(n > 0 && (size_t)n <= hlen);
            assert_int_equal(answer[0], 22);  /* handshake record ... */
            assert_int_equal(answer[13], 3);  /* ... HelloVerifyRequest */
            answered++;
        }
        close(fd);
    }
    assert_int_equal(answered, 200);
    tern_io_dtls_stats st;
    tern_io_get_dtls_stats(srv, &st);
    assert_int_equal(st.hello_verify_sent, 200);
    assert_int_equal(st.handshakes, 0);
    assert_int_equal(st.sessions, 0);
    /* and a real client still gets in */
    tern_io *cli = open_client("door-sensor-1", "secret");
    outcome o = get(srv, cli, "coaps", tern_io_coaps_port(srv), 200);
    assert_int_equal(o.code, TERN_CODE_CONTENT);
    tern_io_free(cli);
    tern_io_free(srv);
}

/* idle_timeout_s: an idle session is closed (close_notify), and the next
 * request opens a new one. */
static void test_dtls_idle_session_closed(void **state) {
    (void)state;
    tern_io *srv = open_server(1);
    tern_io *cli = open_client("door-sensor-1", "secret");
    outcome o = get(srv, cli, "coaps", tern_io_coaps_port(srv), 200);
    assert_int_equal(o.code, TERN_CODE_CONTENT);
    tern_io_dtls_stats st;
    for (int i = 0; i < 100; i++) { /* up to 2 s: the timeout is 1 s */
        run_both(srv, cli, 20);
        tern_io_get_dtls_stats(srv, &st);
        if (st.closed_idle) break;
    }
    assert_int_equal(st.closed_idle, 1);
    assert_int_equal(st.sessions, 0);
    o = get(srv, cli, "coaps", tern_io_coaps_port(srv), 200);
    assert_int_equal(o.code, TERN_CODE_CONTENT);
    tern_io_get_dtls_stats(srv, &st);
    assert_int_equal(st.handshakes_done, 2);
    tern_io_free(cli);
    tern_io_free(srv);
}

/* A coaps URI without client credentials is refused, not sent in clear. */
static void test_coaps_uri_needs_credentials(void **state) {
    (void)state;
    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.bind_host = "127.0.0.1";
    cfg.port = 0;
    tern_io *cli = NULL;
    assert_int_equal(tern_io_new(&cli, &cfg), 0);
    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
    tern_client_op_id id;
    assert_int_equal(
        tern_io_request_start(cli, "coaps://127.0.0.1/hello", &req, 1000, on_answer, NULL, &id),
        TERN_E_URI);
    tern_io_free(cli);
}

/* A client goes away: its close_notify makes the server answer with its
 * own, to a port now closed, and the ICMP error that draws is pending on
 * the coaps socket when the next client's ClientHello, read in the same
 * batch, is answered. That HelloVerifyRequest must still go out (Linux
 * fails the first send after an ICMP error once): the new client needs no
 * retransmission - one cookie asked of each client, not two. */
static void test_dtls_pending_icmp_error_loses_no_handshake(void **state) {
    (void)state;
    tern_io *srv = open_server(0);
    tern_io *cli = open_client("door-sensor-1", "secret");
    outcome o = get(srv, cli, "coaps", tern_io_coaps_port(srv), 200);
    assert_int_equal(o.code, TERN_CODE_CONTENT);
    tern_io_free(cli); /* close_notify goes, the socket closes */

    tern_io *cli2 = open_client("door-sensor-1", "secret");
    char uri[80];
    snprintf(uri, sizeof uri, "coaps://127.0.0.1:%u/hello", tern_io_coaps_port(srv));
    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
    outcome o2 = {0};
    tern_client_op_id id;
    assert_int_equal(tern_io_request_start(cli2, uri, &req, 3000, on_answer, &o2, &id), 0);
    assert_int_equal(tern_io_step(cli2, 0), 0); /* its ClientHello, beside the close_notify */
    for (int i = 0; i < 200 && !o2.done; i++) run_both(srv, cli2, 20);
    assert_int_equal(o2.code, TERN_CODE_CONTENT);
    tern_io_dtls_stats st;
    tern_io_get_dtls_stats(srv, &st);
    assert_int_equal(st.handshakes_done, 2);
    assert_int_equal(st.hello_verify_sent, 2);
    tern_io_free(cli2);
    tern_io_free(srv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s9_1_psk_session_carries_requests),
        cmocka_unit_test(test_rfc7252_s9_1_wrong_key_refused),
        cmocka_unit_test(test_rfc6347_s4_2_1_cookie_keeps_no_state),
        cmocka_unit_test(test_dtls_idle_session_closed),
        cmocka_unit_test(test_coaps_uri_needs_credentials),
        cmocka_unit_test(test_dtls_pending_icmp_error_loses_no_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
