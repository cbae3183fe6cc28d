/* SPDX-License-Identifier: BSD-2-Clause */
/* test_server_observe.c - the Observe registry on the fake clock: RFC 7641
 * sections 3.1 (register), 3.2 (notifications, final errors), 3.6
 * (deregister, RST), 4.1 (replace under the same key), 4.4 (24-bit
 * sequence), 4.5 (CON now and then, liveness, removal of observers that
 * went away), 4.5.2 (one in flight, newest state wins), and the limits. */
#include "test_server_fixture.h"

#include "server/server_int.h" /* white box: the 24-bit wrap */

static void observe_get(sfx *f, const tern_addr *peer, uint16_t mid, const char *tok,
                        const char *path, uint32_t obs) {
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, mid, tok, path);
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, obs);
    sfx_deliver(f, peer, &b);
}

static void put(sfx *f, const tern_addr *peer, uint16_t mid, const char *path, const char *v) {
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, mid, "p", path);
    tern_msgb_set_payload(&b, v, strlen(v));
    sfx_deliver(f, peer, &b);
    const tern_msg *m = sfx_next(f, NULL);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
}

static void test_rfc7641_s3_1_register(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/alarm", 0);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_token(m, "o1");
    sfx_assert_payload(m, "OFF");
    assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
    /* Section 4.3.1 / 5.10.5: Max-Age says how long the state is fresh:
     * the liveness interval (10 min by default) and a minute. */
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 660);
    assert_int_equal(tern_resource_observer_count(r), 1);
    sfx_free(&f);
}

static void test_rfc7641_s3_1_not_observable_is_plain_get(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource_def def = {.path = "/p", .get = sfx_state_get, .ctx = &st};
    tern_resource *r;
    assert_int_equal(tern_server_add_resource(f.srv, &def, &r), 0);
    observe_get(&f, &f.a, 1, "o1", "/p", 0);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 0);
    sfx_free(&f);
}

static void test_rfc7641_s4_2_notification_on_change(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/alarm", 0);
    uint32_t v0 = sfx_uint(sfx_next(&f, NULL), TERN_OPT_OBSERVE);
    /* Another client changes the state: the 2.04 goes first, then the
     * notification, at once (no timer involved). */
    put(&f, &f.b, 2, "/alarm", "ON");
    tern_addr to;
    const tern_msg *m = sfx_next(&f, &to);
    assert_true(tern_addr_equal(&to, &f.a));
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_int_equal(m->type, TERN_TYPE_NON); /* not the 20th yet */
    sfx_assert_token(m, "o1");
    sfx_assert_payload(m, "ON");
    uint32_t v1 = sfx_uint(m, TERN_OPT_OBSERVE);
    assert_true(v1 > v0);
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 660);
    sfx_expect_none(&f);
    /* A PUT that leaves the state as it is still notifies (the handler
     * calls changed); one that fails does not. */
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 3, "p", "/alarm");
    tern_msgb_set_payload(&b, "bad", 3);
    assert_int_equal(sfx_ask(&f, &f.b, &b)->code, TERN_CODE_BAD_REQUEST);
    sfx_expect_none(&f);
    sfx_free(&f);
}

static uint8_t changes_twice(tern_server_request *req, tern_server_response *resp) {
    sfx_state *st = tern_server_request_ctx(req);
    strcpy(st->value, "ON");
    tern_resource_changed(tern_server_request_resource(req));
    strcpy(st->value, "OFF");
    tern_resource_changed(tern_server_request_resource(req));
    return TERN_CODE_CHANGED + 0 * (resp != NULL);
}

static void test_rfc7641_s4_5_2_changes_in_one_request_coalesce(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource_def def = {.path = "/s",
                             .get = sfx_state_get,
                             .post = changes_twice,
                             .ctx = &st,
                             .observable = true};
    assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    observe_get(&f, &f.a, 1, "o", "/s", 0);
    (void)sfx_next(&f, NULL);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_POST, 2, "p", "/s");
    assert_int_equal(sfx_ask(&f, &f.b, &b)->code, TERN_CODE_CHANGED);
    sfx_assert_payload(sfx_next(&f, NULL), "OFF");
    sfx_expect_none(&f);
    sfx_free(&f);
}

static void test_rfc7641_s4_1_reregistration_replaces(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/alarm", 0);
    uint32_t v0 = sfx_uint(sfx_next(&f, NULL), TERN_OPT_OBSERVE);
    observe_get(&f, &f.a, 2, "o1", "/alarm", 0);
    uint32_t v1 = sfx_uint(sfx_next(&f, NULL), TERN_OPT_OBSERVE);
    assert_true(v1 > v0); /* section 4.4: values to one observer only grow */
    assert_int_equal(tern_resource_observer_count(r), 1);
    /* Another token from the same peer, or the same token from another
     * peer, is another observation. */
    observe_get(&f, &f.a, 3, "o2", "/alarm", 0);
    observe_get(&f, &f.b, 4, "o1", "/alarm", 0);
    assert_int_equal(sfx_pending(&f), 2);
    f.next_out = f.n_out;
    assert_int_equal(tern_resource_observer_count(r), 3);
    put(&f, &f.c, 5, "/alarm", "ON");
    assert_int_equal(sfx_pending(&f), 3); /* one notification each */
    sfx_free(&f);
}

static void test_rfc7641_s3_6_deregister_with_observe_1(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/alarm", 0);
    (void)sfx_next(&f, NULL);
    observe_get(&f, &f.a, 2, "o1", "/alarm", 1);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 0);
    put(&f, &f.b, 3, "/alarm", "ON");
    sfx_expect_none(&f);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers_removed_deregister, 1);
    sfx_free(&f);
}

static void test_rfc7641_s3_6_rst_to_non_notification_deregisters(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/alarm", 0);
    observe_get(&f, &f.b, 2, "o2", "/alarm", 0);
    f.next_out = (sfx_drain(&f), f.n_out);
    put(&f, &f.c, 3, "/alarm", "ON");
    tern_addr to;
    const tern_msg *m = sfx_next(&f, &to);
    if (!tern_addr_equal(&to, &f.a)) m = sfx_next(&f, &to);
    assert_true(tern_addr_equal(&to, &f.a));
    assert_int_equal(m->type, TERN_TYPE_NON);
    /* A RST with a MID that is not the notification's changes nothing. */
    tern_msgb rst;
    tern_msgb_init(&rst, TERN_TYPE_RST, TERN_CODE_EMPTY, (uint16_t)(m->mid + 1));
    sfx_deliver(&f, &f.a, &rst);
    assert_int_equal(tern_resource_observer_count(r), 2);
    sfx_ack(&f, &f.a, m, TERN_TYPE_RST);
    assert_int_equal(tern_resource_observer_count(r), 1);
    f.next_out = (sfx_drain(&f), f.n_out);
    put(&f, &f.c, 4, "/alarm", "OFF");
    assert_int_equal(sfx_pending(&f), 1);
    (void)sfx_next(&f, &to);
    assert_true(tern_addr_equal(&to, &f.b));
    sfx_free(&f);
}

static void test_rfc7641_s4_5_con_every_nth_notification(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.notify_con_every = 3;
    sfx f;
    sfx_init(&f, &cfg);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o", "/alarm", 0);
    (void)sfx_next(&f, NULL);
    const char *types = "";
    char seen[16] = {0};
    for (int i = 0; i < 6; i++) {
        put(&f, &f.b, (uint16_t)(10 + i), "/alarm", i % 2 ? "OFF" : "ON");
        const tern_msg *m = sfx_next(&f, NULL);
        seen[i] = m->type == TERN_TYPE_CON ? 'C' : 'N';
        if (m->type == TERN_TYPE_CON) sfx_ack(&f, &f.a, m, TERN_TYPE_ACK);
    }
    types = "NNCNNC";
    assert_string_equal(seen, types);
    sfx_free(&f);
}

static void test_rfc7641_s4_5_unacked_con_removes_observer(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, true);
    observe_get(&f, &f.a, 1, "o", "/alarm", 0);
    (void)sfx_next(&f, NULL);
    put(&f, &f.b, 2, "/alarm", "ON");
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    uint16_t mid = m->mid;
    /* Zero jitter: retransmitted at 2, 6, 14 and 30 s, given up 32 s after
     * the last, at 62 s (section 4.2). */
    sfx_advance(&f, 61999);
    assert_int_equal(sfx_pending(&f), 4);
    for (int i = 0; i < 4; i++) assert_int_equal(sfx_next(&f, NULL)->mid, mid);
    assert_int_equal(tern_resource_observer_count(r), 1);
    sfx_advance(&f, 1);
    assert_int_equal(tern_resource_observer_count(r), 0);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers_removed_timeout, 1);
    put(&f, &f.b, 3, "/alarm", "OFF");
    sfx_expect_none(&f);
    sfx_free(&f);
}

/* Section 4.5: a client that went away is to be dropped; the ICMP
 * destination unreachable each notification to it draws says so at once.
 * Peer a observes a resource notified by CON (one in flight when the news
 * comes) and, with two tokens, one notified by NON; peer b observes both.
 * Every observer at a goes (the CON one through done(UNREACHABLE), the NON
 * ones matched by the MID and token quoted), no retransmission follows, b
 * is untouched. */
/* A change to more observers than the outbox holds (4 KiB here, some 70
 * notifications): they go out in outbox-sized rounds, each after the
 * driver has sent the last (the server asks for a tick at once), so every
 * observer hears of it and nothing is dropped. Before, the rest were
 * dropped and waited for a retry seconds later. */
static void test_rfc7641_s4_2_fan_out_larger_than_the_outbox(void **state) {
    (void)state;
    sfx f;
    memset(&f, 0, sizeof f);
    tern_endpoint_config_default(&f.ecfg);
    f.ecfg.random = tt_random_fixed;
    f.ecfg.random_ctx = &f.rnd;
    f.ecfg.tx_queue_bytes = 4096;
    f.ecfg.max_peers = 2048;
    tern_server_config_default(&f.scfg);
    /* Room to spare: no observer is checked with a CON on registering. */
    f.scfg.max_observers = f.scfg.max_observers_per_resource = 2000;
    f.scfg.max_observers_per_address = 2000;
    sfx_start(&f);
    f.now = 1000;
    sfx_state st = {.value = "OFF", .shared = true};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    for (uint32_t i = 0; i < 1000; i++) {
        tern_addr peer = sfx_addr((uint8_t)(10 + i % 200));
        peer.bytes[4] = (uint8_t)(i >> 8), peer.bytes[5] = (uint8_t)i; /* one port each */
        observe_get(&f, &peer, (uint16_t)(i + 1), "ob", "/alarm", 0);
        sfx_discard(&f);
    }
    assert_int_equal(tern_resource_observer_count(r), 1000);
    memcpy(st.value, "ON", 3);
    int gets = st.gets;
    tern_resource_changed(r);
    tern_engine_tick(f.eng, f.now); /* as the io loop does after a change */
    int notified = 0, rounds = 0;
    for (; rounds < 100 && notified < 1000; rounds++) {
        sfx_drain(&f); /* the driver sends what waits ... */
        for (int k = 0; k < f.n_out; k++)
            if (f.out[k].m.code == TERN_CODE_CONTENT) notified++;
        f.n_out = f.next_out = 0;
        /* ... and ticks as soon as the server asks */
        assert_true(tern_engine_next_deadline(f.eng) <= f.now || notified == 1000);
        tern_engine_tick(f.eng, f.now);
    }
    assert_int_equal(notified, 1000);
    assert_true(rounds > 5); /* it did take several outbox loads */
    assert_int_equal(st.gets, gets + 1); /* notify_shared: one handler call */
    tern_endpoint_stats es;
    tern_endpoint_get_stats(f.ep, &es);
    assert_int_equal(es.tx_dropped, 0);
    sfx_free(&f);
}

/* Confirmable notifications to more observers than there are exchanges
 * (RFC 7641 section 4.5; RFC 7252 4.2): the round keeps every exchange busy
 * and sends the next notification as each ACK frees one, at once, not after
 * a retry timer (the clock does not move here). So max_exchanges bounds the
 * CONs in flight, and with them the memory a round holds, whatever the
 * number of observers; every observer is notified once, nothing dropped. */
static void test_rfc7641_s4_5_con_round_larger_than_the_exchange_table(void **state) {
    (void)state;
    enum { OBSERVERS = 300, EXCHANGES = 40 };
    sfx f;
    memset(&f, 0, sizeof f);
    tern_endpoint_config_default(&f.ecfg);
    f.ecfg.random = tt_random_fixed;
    f.ecfg.random_ctx = &f.rnd;
    f.ecfg.max_exchanges = EXCHANGES;
    f.ecfg.max_peers = 2 * OBSERVERS;
    tern_server_config_default(&f.scfg);
    f.scfg.max_observers = f.scfg.max_observers_per_resource = 2 * OBSERVERS;
    f.scfg.max_observers_per_address = 2 * OBSERVERS;
    sfx_start(&f);
    f.now = 1000;
    sfx_state st = {.value = "OFF", .shared = true};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, true);
    tern_addr peers[OBSERVERS];
    for (uint32_t i = 0; i < OBSERVERS; i++) {
        peers[i] = sfx_addr((uint8_t)(10 + i % 200));
        peers[i].bytes[4] = (uint8_t)(i >> 8), peers[i].bytes[5] = (uint8_t)i; /* one port each */
        observe_get(&f, &peers[i], (uint16_t)(i + 1), "ob", "/alarm", 0);
        sfx_discard(&f);
    }
    assert_int_equal(tern_resource_observer_count(r), OBSERVERS);
    memcpy(st.value, "ON", 3);
    tern_resource_changed(r);
    tern_engine_tick(f.eng, f.now);

    bool notified[OBSERVERS] = {false};
    int total = 0, most_in_flight = 0, rounds = 0;
    for (; rounds < 100 && total < OBSERVERS; rounds++) {
        sfx_drain(&f);
        int n = f.n_out;
        if (n > most_in_flight) most_in_flight = n;
        assert_true(n > 0); /* every ACK below lets the next ones go */
        for (int k = 0; k < n; k++) {
            const tern_msg *m = &f.out[k].m;
            assert_int_equal(m->type, TERN_TYPE_CON);
            assert_int_equal(m->code, TERN_CODE_CONTENT);
            uint32_t i = (uint32_t)f.out[k].peer.bytes[4] << 8 | f.out[k].peer.bytes[5];
            assert_true(i < OBSERVERS && !notified[i]);
            notified[i] = true;
            total++;
        }
        /* The observers acknowledge what they got (copied: each delivery
         * may append to f.out). */
        sfx_out got[SFX_MAX_OUT];
        memcpy(got, f.out, (size_t)n * sizeof got[0]);
        f.n_out = f.next_out = 0;
        for (int k = 0; k < n; k++) {
            assert_int_equal(tern_msg_parse(&got[k].m, got[k].buf, got[k].len), 0);
            sfx_ack(&f, &got[k].peer, &got[k].m, TERN_TYPE_ACK);
        }
    }
    assert_int_equal(total, OBSERVERS);
    assert_true(most_in_flight <= EXCHANGES);
    assert_true(rounds >= OBSERVERS / EXCHANGES);
    tern_endpoint_stats es;
    tern_endpoint_get_stats(f.ep, &es);
    assert_int_equal(es.tx_dropped, 0);
    assert_int_equal(tern_resource_observer_count(r), OBSERVERS);
    sfx_free(&f);
}

/* tern_resource_def.notify_shared (RFC 7641 section 4.2 fan-out): the
 * handler runs once per change for all observers with the same Accept and
 * block size, and each still gets its own token and MID with the same
 * Observe number and state; another Accept is another call. */
static void test_rfc7641_s4_2_shared_notification_each_token_its_own(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF", .shared = true};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/alarm", 0);
    observe_get(&f, &f.b, 2, "p2xyz", "/alarm", 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 3, "c", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, TERN_CF_TEXT_PLAIN);
    sfx_deliver(&f, &f.c, &b);
    sfx_discard(&f);
    int gets = st.gets;
    put(&f, &f.c, 4, "/alarm", "ON");
    assert_int_equal(sfx_pending(&f), 3);
    uint32_t seq = 0;
    bool seen[3] = {false, false, false};
    for (int i = 0; i < 3; i++) {
        tern_addr to;
        const tern_msg *m = sfx_next(&f, &to);
        assert_int_equal(m->code, TERN_CODE_CONTENT);
        sfx_assert_payload(m, "ON");
        uint32_t v = sfx_uint(m, TERN_OPT_OBSERVE);
        if (i == 0) seq = v;
        assert_int_equal(v, seq);
        if (tern_addr_equal(&to, &f.a)) sfx_assert_token(m, "o1"), seen[0] = true;
        if (tern_addr_equal(&to, &f.b)) sfx_assert_token(m, "p2xyz"), seen[1] = true;
        if (tern_addr_equal(&to, &f.c)) sfx_assert_token(m, "c"), seen[2] = true;
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    assert_int_equal(st.gets, gets + 2); /* no Accept, and Accept 0 */
    assert_int_equal(tern_resource_observer_count(r), 3);
    sfx_free(&f);
}

static void test_rfc7641_s4_5_unreachable_peer_observers_removed(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state sc = {.value = "OFF"}, sn = {.value = "OFF"};
    tern_resource *rc = sfx_add_state(&f, "/con", &sc, true);
    tern_resource *rn = sfx_add_state(&f, "/non", &sn, false);
    observe_get(&f, &f.a, 1, "o1", "/con", 0);
    observe_get(&f, &f.a, 2, "o2", "/non", 0);
    observe_get(&f, &f.a, 3, "o3", "/non", 0);
    observe_get(&f, &f.b, 4, "p1", "/con", 0);
    observe_get(&f, &f.b, 5, "p2", "/non", 0);
    assert_int_equal(tern_resource_observer_count(rc), 2);
    assert_int_equal(tern_resource_observer_count(rn), 3);
    f.next_out = (sfx_drain(&f), f.n_out);
    int n_con_a = 0, n_non_a = 0;
    for (int i = 0; i < 2; i++) {
        put(&f, &f.c, (uint16_t)(6 + i), i ? "/non" : "/con", "ON");
        while (sfx_pending(&f)) {
            tern_addr to;
            const tern_msg *m = sfx_next(&f, &to);
            if (!tern_addr_equal(&to, &f.a)) continue;
            if (m->type == TERN_TYPE_CON) n_con_a++;
            else n_non_a++;
        }
    }
    assert_int_equal(n_con_a, 1);
    assert_int_equal(n_non_a, 2);

    f.now += 5;
    sfx_unreachable(&f, &f.a);
    assert_int_equal(tern_resource_observer_count(rc), 1);
    assert_int_equal(tern_resource_observer_count(rn), 1);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers_removed_unreachable, 3);
    assert_int_equal(s.observers_removed_timeout, 0);
    assert_int_equal(s.observers, 2);
    sfx_expect_none(&f);

    /* Only b's CON notification is retransmitted (at 2 s). */
    sfx_advance(&f, 3000);
    assert_int_equal(sfx_pending(&f), 1);
    tern_addr to;
    const tern_msg *m = sfx_next(&f, &to);
    assert_true(tern_addr_equal(&to, &f.b));
    sfx_ack(&f, &f.b, m, TERN_TYPE_ACK);
    /* The next changes go to b alone. */
    for (int i = 0; i < 2; i++) {
        put(&f, &f.c, (uint16_t)(8 + i), i ? "/non" : "/con", "OFF");
        assert_int_equal(sfx_pending(&f), 1);
        (void)sfx_next(&f, &to);
        assert_true(tern_addr_equal(&to, &f.b));
    }
    sfx_free(&f);
}

/* RFC 8085 section 5.2, and the spoofing it invites: an ICMP error is
 * easy to forge and may quote no more than the IP and UDP headers. Such an
 * error, or one quoting a notification MID or token the observer never
 * got, removes nobody; the observer goes on being notified. */
static void test_rfc8085_s5_2_forged_icmp_leaves_observers(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/non", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/non", 0);
    sfx_discard(&f);
    put(&f, &f.c, 2, "/non", "ON");
    tern_addr to;
    const tern_msg *n = sfx_next(&f, &to);
    assert_true(tern_addr_equal(&to, &f.a));
    assert_int_equal(n->type, TERN_TYPE_NON);
    uint16_t mid = n->mid;
    sfx_discard(&f);

    assert_int_equal(tern_engine_unreachable(f.eng, &f.a, NULL, 0, f.now), TERN_ICMP_IGNORED);
    uint8_t wrong_mid[] = {0x52, 0x45, (uint8_t)((mid + 1) >> 8), (uint8_t)(mid + 1), 'o', '1'};
    uint8_t wrong_tok[] = {0x52, 0x45, (uint8_t)(mid >> 8), (uint8_t)mid, 'x', '1'};
    assert_int_equal(tern_engine_unreachable(f.eng, &f.a, wrong_mid, sizeof wrong_mid, f.now),
                     TERN_ICMP_IGNORED);
    assert_int_equal(tern_engine_unreachable(f.eng, &f.a, wrong_tok, sizeof wrong_tok, f.now),
                     TERN_ICMP_IGNORED);
    assert_int_equal(tern_engine_unreachable(f.eng, &f.b, wrong_tok + 0, 4, f.now),
                     TERN_ICMP_IGNORED); /* the right MID, to the wrong peer */
    assert_int_equal(tern_resource_observer_count(r), 1);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers_removed_unreachable, 0);

    put(&f, &f.c, 3, "/non", "OFF");
    n = sfx_next(&f, &to);
    assert_true(tern_addr_equal(&to, &f.a));
    sfx_assert_token(n, "o1");
    /* The real error, quoting that notification, does remove a. */
    sfx_unreachable(&f, &f.a);
    assert_int_equal(tern_resource_observer_count(r), 0);
    sfx_free(&f);
}


static void test_rfc7641_s3_6_rst_to_con_notification_removes_observer(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, true);
    observe_get(&f, &f.a, 1, "o", "/alarm", 0);
    (void)sfx_next(&f, NULL);
    put(&f, &f.b, 2, "/alarm", "ON");
    const tern_msg *m = sfx_next(&f, NULL);
    sfx_ack(&f, &f.a, m, TERN_TYPE_RST);
    assert_int_equal(tern_resource_observer_count(r), 0);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers_removed_reset, 1);
    sfx_free(&f);
}

static void test_rfc7641_s4_5_2_one_in_flight_newest_state_wins(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, true);
    observe_get(&f, &f.a, 1, "slow", "/alarm", 0);
    observe_get(&f, &f.b, 2, "fast", "/alarm", 0);
    f.next_out = (sfx_drain(&f), f.n_out);
    /* Four changes; the slow observer never answers its first CON. */
    const char *vals[] = {"ON", "OFF", "ON", "OFF"};
    uint16_t slow_mid = 0;
    uint32_t slow_obs = 0;
    int slow_seen = 0;
    for (int i = 0; i < 4; i++) {
        put(&f, &f.c, (uint16_t)(10 + i), "/alarm", vals[i]);
        int n = sfx_pending(&f);
        for (int k = 0; k < n; k++) {
            tern_addr to;
            const tern_msg *m = sfx_next(&f, &to);
            if (tern_addr_equal(&to, &f.b)) {
                /* The fast one gets every state, and ACKs each. */
                sfx_assert_payload(m, vals[i]);
                sfx_ack(&f, &f.b, m, TERN_TYPE_ACK);
            } else {
                slow_seen++; /* never a second in flight */
                slow_mid = m->mid;
                slow_obs = sfx_uint(m, TERN_OPT_OBSERVE);
                sfx_assert_payload(m, "ON");
            }
        }
    }
    assert_int_equal(slow_seen, 1);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_true(s.notifications_coalesced >= 1);
    /* Nothing goes out before the retransmission is due (ACK_TIMEOUT, 2 s
     * with this random source): then it carries the newest state, under a
     * new MID (the old one may have arrived: a copy under it would be a
     * duplicate, RFC 7252 4.5) and a larger Observe. */
    sfx_advance(&f, 1999);
    sfx_expect_none(&f);
    sfx_advance(&f, 1);
    const tern_msg *m = sfx_next(&f, NULL);
    sfx_assert_token(m, "slow");
    assert_int_equal(m->type, TERN_TYPE_CON);
    sfx_assert_payload(m, "OFF");
    assert_int_not_equal(m->mid, slow_mid);
    assert_true(sfx_uint(m, TERN_OPT_OBSERVE) > slow_obs);
    uint16_t new_mid = m->mid;
    /* A late ACK of the old MID matches nothing; the ACK of the new one
     * ends it, and nothing more is owed. */
    tern_msgb ack;
    tern_msgb_init(&ack, TERN_TYPE_ACK, TERN_CODE_EMPTY, slow_mid);
    sfx_deliver(&f, &f.a, &ack);
    tern_msgb_init(&ack, TERN_TYPE_ACK, TERN_CODE_EMPTY, new_mid);
    sfx_deliver(&f, &f.a, &ack);
    sfx_advance(&f, 60000);
    sfx_expect_none(&f);
    sfx_free(&f);
}

static void test_rfc7641_s4_5_liveness_con_after_interval(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.notify_con_interval_ms = 10000;
    sfx f;
    sfx_init(&f, &cfg);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    assert_int_equal(tern_server_next_deadline(f.srv), UINT64_MAX); /* no observers: idle */
    observe_get(&f, &f.a, 1, "o", "/alarm", 0);
    uint32_t v0 = sfx_uint(sfx_next(&f, NULL), TERN_OPT_OBSERVE);
    /* The next deadline is exactly the interval after registration:
     * nothing runs before it. */
    assert_int_equal(tern_server_next_deadline(f.srv), 1000 + 10000);
    int gets = st.gets;
    sfx_advance(&f, 9999);
    assert_int_equal(st.gets, gets);
    sfx_expect_none(&f);
    sfx_advance(&f, 1);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    sfx_assert_payload(m, "OFF");
    assert_true(sfx_uint(m, TERN_OPT_OBSERVE) > v0);
    sfx_ack(&f, &f.a, m, TERN_TYPE_ACK);
    assert_int_equal(tern_server_next_deadline(f.srv), 11000 + 10000);
    /* A NON notification in between does not restart the clock; a CON
     * does. Then the observer stops answering: it is removed. */
    sfx_advance(&f, 10000);
    m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    sfx_advance(&f, 62000);
    assert_int_equal(tern_resource_observer_count(r), 0);
    sfx_free(&f);
}

static void test_rfc7641_s4_5_change_after_interval_goes_con(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.notify_con_interval_ms = 10000;
    sfx f;
    sfx_init(&f, &cfg);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o", "/alarm", 0);
    (void)sfx_next(&f, NULL);
    f.now += 9000; /* no timers run: the change decides */
    put(&f, &f.b, 2, "/alarm", "ON");
    assert_int_equal(sfx_next(&f, NULL)->type, TERN_TYPE_NON);
    f.now += 1000;
    put(&f, &f.b, 3, "/alarm", "OFF");
    assert_int_equal(sfx_next(&f, NULL)->type, TERN_TYPE_CON);
    sfx_free(&f);
}

static void test_rfc7641_s4_4_sequence_wraps_at_24_bits(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o", "/alarm", 0);
    (void)sfx_next(&f, NULL);
    r->seq = 0xFFFFFE;
    put(&f, &f.b, 2, "/alarm", "ON");
    assert_int_equal(sfx_uint(sfx_next(&f, NULL), TERN_OPT_OBSERVE), 0xFFFFFF);
    put(&f, &f.b, 3, "/alarm", "OFF");
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(sfx_uint(m, TERN_OPT_OBSERVE), 0);
    /* And it is fresher than the one before (section 3.4). */
    assert_true(tern_observe_is_fresher(0xFFFFFF, f.now, 0, f.now));
    sfx_free(&f);
}

static void test_rfc7641_s4_1_limits_serve_plain_get(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_observers = 3;
    cfg.max_observers_per_resource = 2;
    sfx f;
    sfx_init(&f, &cfg);
    sfx_state s1 = {.value = "OFF"}, s2 = {.value = "OFF"};
    tern_resource *r1 = sfx_add_state(&f, "/one", &s1, false);
    tern_resource *r2 = sfx_add_state(&f, "/two", &s2, false);
    observe_get(&f, &f.a, 1, "a", "/one", 0);
    observe_get(&f, &f.b, 2, "b", "/one", 0);
    assert_true(sfx_has_opt(sfx_next(&f, NULL), TERN_OPT_OBSERVE));
    assert_true(sfx_has_opt(sfx_next(&f, NULL), TERN_OPT_OBSERVE));
    /* Per resource: the third gets the state, without Observe (and the
     * resource's oldest observer, a, that never answered a CON, a check). */
    observe_get(&f, &f.c, 3, "c", "/one", 0);
    tern_addr to;
    const tern_msg *m = sfx_next(&f, &to);
    assert_true(tern_addr_equal(&to, &f.a));
    assert_int_equal(m->type, TERN_TYPE_CON);
    m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_payload(m, "OFF");
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r1), 2);
    /* Re-registering an existing entry is always allowed. */
    observe_get(&f, &f.a, 4, "a", "/one", 0);
    assert_true(sfx_has_opt(sfx_next(&f, NULL), TERN_OPT_OBSERVE));
    /* In total: three. */
    observe_get(&f, &f.c, 5, "c", "/two", 0);
    assert_true(sfx_has_opt(sfx_next(&f, NULL), TERN_OPT_OBSERVE));
    /* The table is now full: the new observer, whose address is not
     * verified, gets a confirmable check right after its answer. */
    m = sfx_next(&f, &to);
    assert_true(tern_addr_equal(&to, &f.c));
    assert_int_equal(m->type, TERN_TYPE_CON);
    observe_get(&f, &f.c, 6, "d", "/two", 0);
    /* Full: the oldest observer that never answered a CON (a) has its
     * check in flight already (not 2 s old): the newcomer gets a plain GET
     * for now. */
    m = sfx_next(&f, NULL);
    sfx_assert_token(m, "d");
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r2), 1);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.plain_get_over_limit, 2);
    assert_int_equal(s.observers, 3);
    sfx_free(&f);
}

static void test_rfc7641_s3_2_resource_removed_final_404(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/alarm", 0);
    observe_get(&f, &f.b, 2, "o2", "/alarm", 0);
    f.next_out = (sfx_drain(&f), f.n_out);
    tern_server_remove_resource(f.srv, r, f.now);
    assert_int_equal(sfx_pending(&f), 2);
    for (int i = 0; i < 2; i++) {
        const tern_msg *m = sfx_next(&f, NULL);
        assert_int_equal(m->code, TERN_CODE_NOT_FOUND);
        assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
        assert_true(m->token_len == 2);
    }
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers, 0);
    assert_int_equal(s.observers_removed_error, 2);
    sfx_free(&f);
}

static void test_rfc7641_s3_2_error_notification_ends_observation(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/alarm", 0);
    (void)sfx_next(&f, NULL);
    st.get_code = TERN_CODE_SERVICE_UNAVAILABLE;
    tern_resource_changed(r);
    assert_int_equal(tern_server_next_deadline(f.srv), 0); /* due at once */
    tern_server_tick(f.srv, f.now);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 0);
    sfx_free(&f);
}

static void test_rfc7641_s3_1_error_answer_does_not_register(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF", .get_code = TERN_CODE_FORBIDDEN};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o1", "/alarm", 0);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_FORBIDDEN);
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 0);
    sfx_free(&f);
}

static void test_rfc7641_s3_1_observer_keeps_its_accept(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 1, "o", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    tern_msgb_add_uint(&b, TERN_OPT_ACCEPT, TERN_CF_TEXT_PLAIN);
    assert_true(sfx_has_opt(sfx_ask(&f, &f.a, &b), TERN_OPT_OBSERVE));
    put(&f, &f.b, 2, "/alarm", "ON");
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_int_equal(sfx_uint(m, TERN_OPT_CONTENT_FORMAT), TERN_CF_TEXT_PLAIN);
    sfx_free(&f);
}

/* ---- found by fuzz/fuzz_server.c -------------------------------------------- */

static tern_endpoint_req_id defer_id;

static uint8_t defer_get(tern_server_request *req, tern_server_response *resp) {
    if (tern_server_request_is_notification(req)) {
        tern_server_response_text(resp, "now");
        return TERN_CODE_CONTENT;
    }
    assert_int_equal(tern_server_request_defer(req, &defer_id), 0);
    return TERN_DEFER;
}

/* Section 3.1: a registration answered later, after its resource was
 * removed, registers nothing. The deferred request used to name its
 * resource by table slot, so the observer landed on whatever resource took
 * the slot since (here one that is not even observable) and got its
 * notifications. */
static void test_rfc7641_s3_1_deferred_registration_on_removed_resource(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_resource_def d = {.path = "/slow", .get = defer_get, .observable = true};
    tern_resource *slow;
    assert_int_equal(tern_server_add_resource(f.srv, &d, &slow), 0);
    observe_get(&f, &f.a, 1, "w", "/slow", 0);
    sfx_expect_none(&f);
    tern_server_remove_resource(f.srv, slow, f.now);
    sfx_state st = {.value = "OFF"};
    tern_resource_def d2 = {.path = "/other", .get = sfx_state_get, .ctx = &st};
    tern_resource *other;
    assert_int_equal(tern_server_add_resource(f.srv, &d2, &other), 0);
    assert_ptr_equal(other, slow); /* the slot is reused */
    tern_server_response *r = tern_server_respond_begin(f.srv, defer_id);
    assert_non_null(r);
    tern_server_response_text(r, "late");
    assert_int_equal(tern_server_respond(f.srv, r, TERN_CODE_CONTENT, f.now), 0);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_token(m, "w");
    sfx_assert_payload(m, "late");
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(other), 0);
    tern_resource_changed(other);
    sfx_advance(&f, 10);
    sfx_expect_none(&f);
    sfx_free(&f);
}

static bool defer_next;

static uint8_t sometimes_defer_get(tern_server_request *req, tern_server_response *resp) {
    if (defer_next && !tern_server_request_is_notification(req)) {
        assert_int_equal(tern_server_request_defer(req, &defer_id), 0);
        return TERN_DEFER;
    }
    tern_server_response_text(resp, "now");
    return TERN_CODE_CONTENT;
}

/* Sections 3.1 and 3.2: a re-registration that the handler took for later
 * and never answered gets the server's 5.03. That error answer ends the
 * observation under its key for the client, so the server must stop
 * notifying it too (as tern_srv_answer does for any error answer). It went on
 * notifying. */
static void test_rfc7641_s3_2_deferred_registration_timeout_ends_observation(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.deferred_timeout_ms = 5000;
    sfx f;
    sfx_init(&f, &cfg);
    tern_resource_def d = {.path = "/slow", .get = sometimes_defer_get, .observable = true};
    tern_resource *r;
    assert_int_equal(tern_server_add_resource(f.srv, &d, &r), 0);
    defer_next = false;
    observe_get(&f, &f.a, 1, "k", "/slow", 0);
    assert_true(sfx_has_opt(sfx_next(&f, NULL), TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 1);
    defer_next = true;
    observe_get(&f, &f.a, 2, "k", "/slow", 0);
    sfx_advance(&f, 5000);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_EMPTY); /* the ACK at 1 s */
    m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    sfx_assert_token(m, "k");
    sfx_ack(&f, &f.a, m, TERN_TYPE_ACK);
    assert_int_equal(tern_resource_observer_count(r), 0);
    tern_resource_changed(r);
    sfx_advance(&f, 10);
    sfx_expect_none(&f);
    defer_next = false;
    sfx_free(&f);
}

static char big[2000];

static uint8_t big_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    memset(big, 'x', sizeof big);
    tern_server_response_payload(resp, TERN_CF_TEXT_PLAIN, big, sizeof big);
    return TERN_CODE_CONTENT;
}

/* RFC 7959 section 2.6: a representation too large for a datagram (2000
 * bytes, the endpoint sends 1152) is notified by its first block, at the
 * block size the registration asked for if it did (2.4: that size or
 * smaller); the observer GETs the rest. The registration answer and every
 * notification used to be dropped (TERN_E_NOSPACE), and the registration
 * answered 5.00 yet kept an observer that nothing ever reached. */
static void large_notification(bool shared) {
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_message = 2304; /* the server builds it whole */
    sfx f;
    sfx_init(&f, &cfg);
    tern_resource_def d = {
        .path = "/big", .get = big_get, .observable = true, .notify_shared = shared};
    tern_resource *r;
    assert_int_equal(tern_server_add_resource(f.srv, &d, &r), 0);
    observe_get(&f, &f.a, 1, "o", "/big", 0);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK2), 0x0E); /* NUM 0, M, 1024 bytes */
    assert_int_equal(sfx_uint(m, TERN_OPT_SIZE2), 2000);
    assert_int_equal(m->payload_len, 1024);
    /* Another observer asks for 64-byte blocks (Block2 NUM 0, SZX 2). */
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 2, "s", "/big");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x02);
    m = sfx_ask(&f, &f.b, &b);
    assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK2), 0x0A); /* NUM 0, M, 64 bytes */
    assert_int_equal(m->payload_len, 64);
    assert_int_equal(tern_resource_observer_count(r), 2);

    tern_resource_changed(r);
    tern_server_tick(f.srv, f.now);
    assert_int_equal(sfx_pending(&f), 2);
    for (int i = 0; i < 2; i++) {
        m = sfx_next(&f, NULL);
        assert_int_equal(m->code, TERN_CODE_CONTENT);
        assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
        bool small = m->token[0] == 's';
        assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK2), small ? 0x0A : 0x0E);
        assert_int_equal(sfx_uint(m, TERN_OPT_SIZE2), 2000);
        assert_int_equal(m->payload_len, small ? 64 : 1024);
    }
    /* The rest: a GET for block 1, without Observe. */
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 3, "o", "/big");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, 0x16);
    m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK2), 0x16); /* NUM 1, last */
    assert_int_equal(m->payload_len, 2000 - 1024);
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 2);
    sfx_free(&f);
}

/* The same with tern_resource_def.notify_shared: the shared encoding is
 * too large for a datagram, so each observer gets its first block as
 * above. */
static void test_rfc7959_s2_6_large_notification_carries_first_block(void **state) {
    (void)state;
    large_notification(false);
    large_notification(true);
}

static size_t bulk_len; /* an elective option of this size in every answer */

static uint8_t bulky_get(tern_server_request *req, tern_server_response *resp) {
    static const uint8_t junk[1200];
    (void)req;
    if (bulk_len) tern_server_response_add_opt(resp, 2048, junk, bulk_len);
    tern_server_response_text(resp, "state");
    return TERN_CODE_CONTENT;
}

/* Section 3.1: the client is registered by the 2.xx answer with Observe it
 * gets. One too large for a datagram even cut to a 16-byte block becomes
 * 5.00, and must not leave an observer behind (it used to). */
static void test_rfc7641_s3_1_unsendable_answer_does_not_register(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_message = 2304;
    sfx f;
    sfx_init(&f, &cfg);
    tern_resource_def d = {.path = "/bulky", .get = bulky_get, .observable = true};
    tern_resource *r;
    assert_int_equal(tern_server_add_resource(f.srv, &d, &r), 0);
    bulk_len = 1150;
    observe_get(&f, &f.a, 1, "o", "/bulky", 0);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->code, TERN_CODE_INTERNAL_SERVER_ERROR);
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 0);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers, 0);
    sfx_free(&f);
}

/* Section 3.2: a notification that cannot be sent at all ends the
 * observation with a final 5.00, rather than leaving an observer that is
 * never told anything and, with no CON ever sent, never found gone (4.5).
 * It used to be dropped silently, every time. */
static void test_rfc7641_s3_2_unsendable_notification_ends_observation(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_message = 2304;
    sfx f;
    sfx_init(&f, &cfg);
    tern_resource_def d = {.path = "/bulky", .get = bulky_get, .observable = true};
    tern_resource *r;
    assert_int_equal(tern_server_add_resource(f.srv, &d, &r), 0);
    bulk_len = 0;
    observe_get(&f, &f.a, 1, "o", "/bulky", 0);
    assert_true(sfx_has_opt(sfx_next(&f, NULL), TERN_OPT_OBSERVE));
    bulk_len = 1150;
    tern_resource_changed(r);
    tern_server_tick(f.srv, f.now);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_INTERNAL_SERVER_ERROR);
    sfx_assert_token(m, "o");
    assert_false(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 0);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers_removed_error, 1);
    bulk_len = 0;
    sfx_free(&f);
}

/* Section 3.6 (and RFC 7252 section 4.3): a RST is the client's way to say
 * it does not want what it got. A NON GET with Observe 0 is answered NON
 * (RFC 7252 section 5.2.3); a RST with that answer's MID must end the
 * observation just as a RST to a later NON notification does. It used to
 * be ignored: only notifications' MIDs were remembered. */
static void test_rfc7641_s3_6_rst_to_non_registration_answer_deregisters(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, 0x1234, "n", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, TERN_OBSERVE_REGISTER);
    const tern_msg *m = sfx_ask(&f, &f.a, &b);
    assert_int_equal(m->type, TERN_TYPE_NON);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(tern_resource_observer_count(r), 1);
    uint16_t mid = m->mid;
    /* The same MID from another peer, or another MID, changes nothing. */
    tern_msgb rst;
    tern_msgb_init(&rst, TERN_TYPE_RST, TERN_CODE_EMPTY, mid);
    sfx_deliver(&f, &f.b, &rst);
    tern_msgb_init(&rst, TERN_TYPE_RST, TERN_CODE_EMPTY, (uint16_t)(mid + 1));
    sfx_deliver(&f, &f.a, &rst);
    assert_int_equal(tern_resource_observer_count(r), 1);
    tern_msgb_init(&rst, TERN_TYPE_RST, TERN_CODE_EMPTY, mid);
    sfx_deliver(&f, &f.a, &rst);
    assert_int_equal(tern_resource_observer_count(r), 0);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers_removed_reset, 1);
    put(&f, &f.c, 3, "/alarm", "ON");
    sfx_expect_none(&f);
    sfx_free(&f);
}

/* Section 3.6: a registration answered later goes out as a separate CON
 * response (RFC 7252 section 5.2.2); a RST to it rejects the observation
 * like a RST to a CON notification. It used to count only as the end of
 * the CON, and the observer stayed. */
static void test_rfc7641_s3_6_rst_to_separate_registration_answer_deregisters(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_resource_def d = {.path = "/slow", .get = sometimes_defer_get, .observable = true};
    tern_resource *r;
    assert_int_equal(tern_server_add_resource(f.srv, &d, &r), 0);
    defer_next = true;
    observe_get(&f, &f.a, 1, "s", "/slow", 0);
    defer_next = false;
    sfx_advance(&f, 1000);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_ACK); /* the empty ACK at 1 s */
    assert_int_equal(m->code, TERN_CODE_EMPTY);
    tern_server_response *resp = tern_server_respond_begin(f.srv, defer_id);
    assert_non_null(resp);
    tern_server_response_text(resp, "late");
    assert_int_equal(tern_server_respond(f.srv, resp, TERN_CODE_CONTENT, f.now), 0);
    m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
    sfx_assert_token(m, "s");
    assert_int_equal(tern_resource_observer_count(r), 1);
    sfx_ack(&f, &f.a, m, TERN_TYPE_RST);
    assert_int_equal(tern_resource_observer_count(r), 0);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.observers_removed_reset, 1);
    tern_resource_changed(r);
    sfx_advance(&f, 10);
    sfx_expect_none(&f);
    sfx_free(&f);
}

/* Section 4.5.2: the separate CON answer is the one message in flight to
 * the new observer; a change meanwhile waits for its ACK, then the newest
 * state follows. An ACKed answer keeps the observer. */
/* RFC 7641 section 4.5.2 with RFC 7252 4.7 (NSTART 1): a second
 * observation of the same peer waits behind the first one's CON; a change
 * meanwhile reaches the waiting notification too, so that what finally
 * goes out is the newest state, not the one of a minute ago. */
static void test_rfc7641_s4_5_2_queued_notification_gets_newest_state(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sfx_state alarm = {.value = "OFF"}, door = {.value = "OFF"};
    tern_resource *ra = sfx_add_state(&f, "/alarm", &alarm, true);
    tern_resource *rd = sfx_add_state(&f, "/door", &door, true);
    observe_get(&f, &f.a, 1, "x1", "/alarm", 0);
    observe_get(&f, &f.a, 2, "x2", "/door", 0);
    f.next_out = (sfx_drain(&f), f.n_out);
    memcpy(alarm.value, "ON", 3);
    memcpy(door.value, "ON", 3);
    tern_resource_changed(ra);
    tern_resource_changed(rd);
    sfx_advance(&f, 1);
    const tern_msg *m = sfx_next(&f, NULL); /* x1's; x2's waits (NSTART) */
    sfx_assert_token(m, "x1");
    sfx_expect_none(&f);
    memcpy(alarm.value, "OFF", 4);
    memcpy(door.value, "OFF", 4);
    tern_resource_changed(ra);
    tern_resource_changed(rd);
    sfx_advance(&f, 1999);
    m = sfx_next(&f, NULL); /* x1 retransmitted, newest state */
    sfx_assert_token(m, "x1");
    sfx_assert_payload(m, "OFF");
    sfx_ack(&f, &f.a, m, TERN_TYPE_ACK);
    m = sfx_next(&f, NULL); /* now x2's goes: newest too */
    sfx_assert_token(m, "x2");
    sfx_assert_payload(m, "OFF");
    sfx_ack(&f, &f.a, m, TERN_TYPE_ACK);
    sfx_advance(&f, 60000);
    sfx_expect_none(&f);
    sfx_free(&f);
}

/* RFC 7641 sections 4.3.1 and 3.3.1: Max-Age on notifications follows the
 * liveness interval, so that an unchanged resource is refreshed (the
 * liveness CON) before the client's copy goes stale and it re-registers;
 * a Max-Age set in the config is taken as it is. */
static void test_rfc7641_s4_3_1_max_age_outlives_liveness_interval(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.notify_con_interval_ms = 30000;
    sfx f;
    sfx_init(&f, &cfg);
    sfx_state st = {.value = "OFF"};
    sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o", "/alarm", 0);
    const tern_msg *m = sfx_next(&f, NULL);
    uint32_t age = sfx_uint(m, TERN_OPT_MAX_AGE);
    assert_int_equal(age, 90);
    /* The refresh comes at the interval, well inside Max-Age. */
    sfx_advance(&f, 30000);
    m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 90);
    assert_true(30u < age);
    sfx_free(&f);
    cfg.notify_max_age_s = 45;
    sfx_init(&f, &cfg);
    sfx_add_state(&f, "/alarm", &st, false);
    observe_get(&f, &f.a, 1, "o", "/alarm", 0);
    assert_int_equal(sfx_uint(sfx_next(&f, NULL), TERN_OPT_MAX_AGE), 45);
    sfx_free(&f);
}

static void test_rfc7641_s4_5_2_separate_registration_answer_in_flight(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    tern_resource_def d = {.path = "/slow", .get = sometimes_defer_get, .observable = true};
    tern_resource *r;
    assert_int_equal(tern_server_add_resource(f.srv, &d, &r), 0);
    defer_next = true;
    observe_get(&f, &f.a, 1, "s", "/slow", 0);
    defer_next = false;
    sfx_advance(&f, 1000);
    assert_int_equal(sfx_next(&f, NULL)->code, TERN_CODE_EMPTY);
    tern_server_response *resp = tern_server_respond_begin(f.srv, defer_id);
    assert_non_null(resp);
    tern_server_response_text(resp, "late");
    assert_int_equal(tern_server_respond(f.srv, resp, TERN_CODE_CONTENT, f.now), 0);
    const tern_msg *m = sfx_next(&f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    /* The separate answer is the one in flight; the change replaces it and
     * goes out at its retransmission (2 s), not before. */
    tern_resource_changed(r);
    sfx_advance(&f, 10);
    sfx_expect_none(&f);
    sfx_advance(&f, 1990);
    m = sfx_next(&f, NULL);
    sfx_assert_token(m, "s");
    sfx_assert_payload(m, "now");
    assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
    sfx_ack(&f, &f.a, m, TERN_TYPE_ACK);
    sfx_expect_none(&f);
    assert_int_equal(tern_resource_observer_count(r), 1);
    sfx_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7641_s3_1_register),
        cmocka_unit_test(test_rfc7641_s3_1_not_observable_is_plain_get),
        cmocka_unit_test(test_rfc7641_s4_2_notification_on_change),
        cmocka_unit_test(test_rfc7641_s4_5_2_changes_in_one_request_coalesce),
        cmocka_unit_test(test_rfc7641_s4_1_reregistration_replaces),
        cmocka_unit_test(test_rfc7641_s3_6_deregister_with_observe_1),
        cmocka_unit_test(test_rfc7641_s3_6_rst_to_non_notification_deregisters),
        cmocka_unit_test(test_rfc7641_s4_5_con_every_nth_notification),
        cmocka_unit_test(test_rfc7641_s4_5_unacked_con_removes_observer),
        cmocka_unit_test(test_rfc7641_s4_2_fan_out_larger_than_the_outbox),
        cmocka_unit_test(test_rfc7641_s4_5_con_round_larger_than_the_exchange_table),
        cmocka_unit_test(test_rfc7641_s4_2_shared_notification_each_token_its_own),
        cmocka_unit_test(test_rfc7641_s4_5_unreachable_peer_observers_removed),
        cmocka_unit_test(test_rfc8085_s5_2_forged_icmp_leaves_observers),
        cmocka_unit_test(test_rfc7641_s3_6_rst_to_con_notification_removes_observer),
        cmocka_unit_test(test_rfc7641_s4_5_2_one_in_flight_newest_state_wins),
        cmocka_unit_test(test_rfc7641_s4_5_liveness_con_after_interval),
        cmocka_unit_test(test_rfc7641_s4_5_change_after_interval_goes_con),
        cmocka_unit_test(test_rfc7641_s4_4_sequence_wraps_at_24_bits),
        cmocka_unit_test(test_rfc7641_s4_1_limits_serve_plain_get),
        cmocka_unit_test(test_rfc7641_s3_2_resource_removed_final_404),
        cmocka_unit_test(test_rfc7641_s3_2_error_notification_ends_observation),
        cmocka_unit_test(test_rfc7641_s3_1_error_answer_does_not_register),
        cmocka_unit_test(test_rfc7641_s3_1_observer_keeps_its_accept),
        cmocka_unit_test(test_rfc7641_s3_1_deferred_registration_on_removed_resource),
        cmocka_unit_test(test_rfc7641_s3_2_deferred_registration_timeout_ends_observation),
        cmocka_unit_test(test_rfc7959_s2_6_large_notification_carries_first_block),
        cmocka_unit_test(test_rfc7641_s3_1_unsendable_answer_does_not_register),
        cmocka_unit_test(test_rfc7641_s3_2_unsendable_notification_ends_observation),
        cmocka_unit_test(test_rfc7641_s3_6_rst_to_non_registration_answer_deregisters),
        cmocka_unit_test(test_rfc7641_s3_6_rst_to_separate_registration_answer_deregisters),
        cmocka_unit_test(test_rfc7641_s4_5_2_separate_registration_answer_in_flight),
        cmocka_unit_test(test_rfc7641_s4_3_1_max_age_outlives_liveness_interval),
        cmocka_unit_test(test_rfc7641_s4_5_2_queued_notification_gets_newest_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
