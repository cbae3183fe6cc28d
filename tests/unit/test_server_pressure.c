/* SPDX-License-Identifier: BSD-2-Clause */
/* test_server_pressure.c - observers under pressure (RFC 7641 sections 4.1
 * and 4.5 on a server that must not be taken over): limits per peer and
 * per address, and a flood of registrations from addresses that never
 * answer, which must leave a real client able to register and stay. */
#include "test_server_fixture.h"

static void observe_get(sfx *f, const tern_addr *peer, uint16_t mid, const char *tok,
                        const char *path, uint8_t type) {
    tern_msgb b;
    sfx_req(&b, type, TERN_CODE_GET, mid, tok, path);
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    sfx_deliver(f, peer, &b);
}

/* sfx_addr with its port: bytes 4-5 (tern_addr.port_off 4). */
static tern_addr host_port(uint8_t host, uint16_t port) {
    tern_addr a = sfx_addr(host);
    a.port_off = 4;
    a.bytes[4] = (uint8_t)(port >> 8);
    a.bytes[5] = (uint8_t)port;
    return a;
}

/* Per peer (address and port) and per address (any port): beyond the
 * limit a registration is served as a plain GET. */
static void test_observer_limits_per_peer_and_address(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_observers_per_peer = 2;
    cfg.max_observers_per_address = 3;
    sfx f;
    sfx_init(&f, &cfg);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    tern_addr p1 = host_port(7, 1000), p2 = host_port(7, 1001), other = host_port(8, 1000);
    observe_get(&f, &p1, 1, "t1", "/alarm", TERN_TYPE_CON);
    observe_get(&f, &p1, 2, "t2", "/alarm", TERN_TYPE_CON);
    observe_get(&f, &p1, 3, "t3", "/alarm", TERN_TYPE_CON); /* third from one peer */
    observe_get(&f, &p2, 4, "t4", "/alarm", TERN_TYPE_CON); /* third from one host */
    observe_get(&f, &p2, 5, "t5", "/alarm", TERN_TYPE_CON); /* fourth: over */
    observe_get(&f, &other, 6, "t6", "/alarm", TERN_TYPE_CON);
    const char *want[] = {"t1", "t2", "t3", "t4", "t5", "t6"};
    bool observed[] = {true, true, false, true, false, true};
    for (int i = 0; i < 6; i++) {
        const tern_msg *m = sfx_next(&f, NULL);
        sfx_assert_token(m, want[i]);
        assert_int_equal(sfx_has_opt(m, TERN_OPT_OBSERVE), observed[i]);
    }
    assert_int_equal(tern_resource_observer_count(r), 4);
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_int_equal(s.plain_get_over_peer_limit, 2);
    /* A slot given back makes room for that peer again. */
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 7, "t1", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 1);
    (void)sfx_ask(&f, &p1, &b);
    observe_get(&f, &p1, 8, "t7", "/alarm", TERN_TYPE_CON);
    assert_true(sfx_has_opt(sfx_next(&f, NULL), TERN_OPT_OBSERVE));
    sfx_free(&f);
}

/* A flood of NON registrations from many addresses that never read fills
 * the table; a real client still gets an observation: the slots of
 * observers that leave a confirmable check unanswered are taken back, and
 * once the client has answered its own check, later floods cannot take its
 * slot. It ends up notified of a change. */
static void test_observer_flood_leaves_room_for_a_real_client(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_observers = 8;
    cfg.max_observers_per_resource = 8;
    sfx f;
    sfx_init(&f, &cfg);
    sfx_state st = {.value = "OFF"};
    tern_resource *r = sfx_add_state(&f, "/alarm", &st, false);
    uint16_t mid = 1;
    uint8_t next_spoof = 10;
    /* Flood: 40 one-way registrations, 100 ms apart. */
    for (int i = 0; i < 40; i++) {
        tern_addr spoof = host_port(next_spoof++, 5683);
        observe_get(&f, &spoof, mid++, "sp", "/alarm", TERN_TYPE_NON);
        sfx_advance(&f, 100);
        sfx_discard(&f); /* nobody there reads */
    }
    assert_int_equal(tern_resource_observer_count(r), 8);
    tern_addr real = host_port(2, 40000);
    /* The real client keeps trying (as one would, or re-registers after
     * Max-Age); within a few seconds it gets a slot, answers its check,
     * and is kept whatever the flood does next. */
    bool registered = false;
    for (int round = 0; round < 10 && !registered; round++) {
        observe_get(&f, &real, mid++, "real", "/alarm", TERN_TYPE_CON);
        for (int k = sfx_pending(&f); k > 0; k--) {
            tern_addr to;
            const tern_msg *m = sfx_next(&f, &to);
            if (!tern_addr_equal(&to, &real)) continue;
            if (m->type == TERN_TYPE_ACK && sfx_has_opt(m, TERN_OPT_OBSERVE)) registered = true;
            if (m->type == TERN_TYPE_CON) sfx_ack(&f, &real, m, TERN_TYPE_ACK);
        }
        for (int i = 0; i < 5; i++) { /* the flood goes on */
            tern_addr spoof = host_port(next_spoof++, 5683);
            observe_get(&f, &spoof, mid++, "sp", "/alarm", TERN_TYPE_NON);
        }
        sfx_advance(&f, 1000);
        for (int k = sfx_pending(&f); k > 0; k--) { /* answer checks to real */
            tern_addr to;
            const tern_msg *m = sfx_next(&f, &to);
            if (tern_addr_equal(&to, &real) && m->type == TERN_TYPE_CON)
                sfx_ack(&f, &real, m, TERN_TYPE_ACK);
        }
        sfx_discard(&f);
    }
    assert_true(registered);
    /* More flood, for a while: the real observer stays. */
    for (int i = 0; i < 60; i++) {
        tern_addr spoof = host_port(next_spoof++, 5683);
        observe_get(&f, &spoof, mid++, "sp", "/alarm", TERN_TYPE_NON);
        sfx_advance(&f, 250);
        for (int k = sfx_pending(&f); k > 0; k--) {
            tern_addr to;
            const tern_msg *m = sfx_next(&f, &to);
            if (tern_addr_equal(&to, &real) && m->type == TERN_TYPE_CON)
                sfx_ack(&f, &real, m, TERN_TYPE_ACK);
        }
        sfx_discard(&f);
    }
    tern_server_stats s;
    tern_server_get_stats(f.srv, &s);
    assert_true(s.observers_reclaimed > 0);
    memcpy(st.value, "ON", 3);
    tern_resource_changed(r);
    sfx_advance(&f, 1);
    bool notified = false;
    for (int k = sfx_pending(&f); k > 0; k--) {
        tern_addr to;
        const tern_msg *m = sfx_next(&f, &to);
        if (tern_addr_equal(&to, &real) && sfx_has_opt(m, TERN_OPT_OBSERVE)) {
            sfx_assert_payload(m, "ON");
            notified = true;
        }
    }
    assert_true(notified);
    sfx_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observer_limits_per_peer_and_address),
        cmocka_unit_test(test_observer_flood_leaves_room_for_a_real_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
