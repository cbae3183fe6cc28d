/* SPDX-License-Identifier: BSD-2-Clause */
/* test_client_observe.c - the Observe client, RFC 7641 section 3:
 * registration (3.1), notifications and Max-Age (3.2), re-registration
 * (3.3.1), ordering (3.4), a server that does not observe (3.2 / 4.1), and
 * cancellation by RST or by GET with Observe=1 (3.6), on a fake clock. */
#include "test_client_fixture.h"

typedef struct obs {
    tern_client_op_id id;
    uint8_t tok[8];
    size_t tl;
    uint16_t mid;
} obs;

/* Register for /alarm and check the GET that goes out. */
static obs obs_start(fx *f, tern_type type) {
    obs o;
    tern_msgb b;
    fx_req(&b, type, TERN_CODE_GET, "alarm");
    assert_int_equal(tern_client_observe(f->cli, &f->server, &b, 0, fx_cb, f, f->now, &o.id), 0);
    assert_int_equal(fx_drain(f), 1);
    tern_msg m = fx_sent(f, -1);
    uint32_t v = 99;
    assert_int_equal(m.code, TERN_CODE_GET);
    assert_int_equal(tern_msg_get_uint(&m, TERN_OPT_OBSERVE, &v), 0);
    assert_int_equal(v, TERN_OBSERVE_REGISTER);
    o.tl = m.token_len;
    memcpy(o.tok, m.token, o.tl);
    o.mid = m.mid;
    return o;
}

/* A CON notification from the server; checks that we ACK it. */
static void notify(fx *f, const obs *o, uint16_t mid, long seq, long max_age, const char *p) {
    size_t before = f->n_out;
    assert_int_equal(fx_recv(f, &f->server, TERN_TYPE_CON, TERN_CODE_CONTENT, mid, o->tok, o->tl,
                             seq, max_age, p),
                     0);
    assert_true(f->n_out > before);
    tern_msg ack = fx_sent(f, (long)before);
    assert_int_equal(ack.type, TERN_TYPE_ACK);
    assert_int_equal(ack.mid, mid);
}

/* Registration answered piggybacked with Observe: observation stands. */
static obs obs_established(fx *f, long max_age) {
    obs o = obs_start(f, TERN_TYPE_CON);
    fx_recv(f, &f->server, TERN_TYPE_ACK, TERN_CODE_CONTENT, o.mid, o.tok, o.tl, 5, max_age,
            "OFF");
    assert_int_equal(f->n_events, 1);
    assert_int_equal(f->ev[0].err, 0);
    assert_true(f->ev[0].observing);
    assert_true(f->ev[0].has_observe);
    assert_int_equal(f->ev[0].observe, 5);
    assert_string_equal(f->ev[0].payload, "OFF");
    return o;
}

static void test_rfc7641_s3_2_notifications_delivered_and_acked(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_established(&f, -1);
    notify(&f, &o, 0x0A01, 6, -1, "ON");
    notify(&f, &o, 0x0A02, 7, -1, "OFF");
    assert_int_equal(f.n_events, 3);
    assert_string_equal(f.ev[1].payload, "ON");
    assert_string_equal(f.ev[2].payload, "OFF");
    assert_true(f.ev[2].observing);
    assert_int_equal(f.ev[2].id, o.id);
    /* A NON notification is delivered too (and not answered). */
    size_t before = f.n_out;
    fx_recv(&f, &f.server, TERN_TYPE_NON, TERN_CODE_CONTENT, 0x0A03, o.tok, o.tl, 8, -1, "ON");
    assert_int_equal(f.n_events, 4);
    assert_int_equal(f.n_out, before);
    assert_int_equal(tern_client_active(f.cli), 1);
    fx_done(&f);
}

static void test_rfc7641_s3_4_reordered_notification_dropped(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_established(&f, -1);
    notify(&f, &o, 0x0B01, 9, -1, "nine");
    /* 7 arrives after 9: older, within 2^23 and 128 s. ACKed, not shown. */
    notify(&f, &o, 0x0B02, 7, -1, "seven");
    assert_int_equal(f.n_events, 2);
    /* The same number again is not fresher either. */
    notify(&f, &o, 0x0B03, 9, -1, "nine again");
    assert_int_equal(f.n_events, 2);
    notify(&f, &o, 0x0B04, 10, -1, "ten");
    assert_int_equal(f.n_events, 3);
    assert_string_equal(f.ev[2].payload, "ten");
    fx_done(&f);
}

static void test_rfc7641_s3_4_sequence_wraps(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_established(&f, -1);
    /* Climb to the top of the 24-bit space in steps under 2^23 ... */
    notify(&f, &o, 0x0C01, 0x600000, -1, "a");
    notify(&f, &o, 0x0C02, 0xC00000, -1, "b");
    notify(&f, &o, 0x0C03, 0xFFFFFE, -1, "c");
    assert_int_equal(f.n_events, 4);
    /* ... and across the wrap: 3 is 5 ahead of 0xFFFFFE. */
    notify(&f, &o, 0x0C04, 3, -1, "d");
    assert_int_equal(f.n_events, 5);
    assert_string_equal(f.ev[4].payload, "d");
    notify(&f, &o, 0x0C05, 0xFFFFFF, -1, "e"); /* behind 3 after the wrap */
    assert_int_equal(f.n_events, 5);
    /* A jump of 2^23 or more forward is taken as a step back. */
    notify(&f, &o, 0x0C06, 3 + 0x800000, -1, "f");
    assert_int_equal(f.n_events, 5);
    fx_done(&f);
}

static void test_rfc7641_s3_4_stale_number_fresh_after_128s(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_established(&f, 600); /* Max-Age long enough: no re-registration */
    notify(&f, &o, 0x0D01, 100, 600, "a");
    fx_advance(&f, 128000);
    /* Exactly 128 s later a smaller number is still stale ... */
    notify(&f, &o, 0x0D02, 50, 600, "b");
    assert_int_equal(f.n_events, 2);
    /* ... more than 128 s after the last delivered one it is taken (the
     * server may have restarted its counter). */
    fx_advance(&f, 1);
    notify(&f, &o, 0x0D03, 50, 600, "c");
    assert_int_equal(f.n_events, 3);
    assert_string_equal(f.ev[2].payload, "c");
    /* And ordering continues from the new number. */
    notify(&f, &o, 0x0D04, 49, 600, "d");
    assert_int_equal(f.n_events, 3);
    fx_done(&f);
}

static void test_rfc7641_s3_2_server_without_observe_is_plain_response(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_start(&f, TERN_TYPE_CON);
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_CONTENT, o.mid, o.tok, o.tl, -1, -1, "OFF");
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, 0);
    assert_false(f.ev[0].observing);
    assert_false(f.ev[0].has_observe);
    assert_string_equal(f.ev[0].payload, "OFF");
    assert_int_equal(tern_client_active(f.cli), 0);
    /* No re-registration timer is left behind. */
    assert_int_equal(tern_client_next_deadline(f.cli), UINT64_MAX);
    fx_done(&f);
}

static void test_rfc7641_s3_2_error_or_missing_observe_ends_observation(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_established(&f, -1);
    /* Section 4.2 of RFC 7641 / 3.2: an error notification (no Observe)
     * means we are off the list. */
    size_t before = f.n_out;
    fx_recv(&f, &f.server, TERN_TYPE_CON, TERN_CODE_NOT_FOUND, 0x0E01, o.tok, o.tl, -1, -1, NULL);
    assert_int_equal(f.n_events, 2);
    assert_int_equal(f.ev[1].code, TERN_CODE_NOT_FOUND);
    assert_false(f.ev[1].observing);
    assert_int_equal(fx_sent(&f, (long)before).type, TERN_TYPE_ACK);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

static void test_rfc7641_s3_1_registration_error_code(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_start(&f, TERN_TYPE_CON);
    /* An error answer carries no observation even if it had the option. */
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_NOT_FOUND, o.mid, o.tok, o.tl, 3, -1, NULL);
    assert_int_equal(f.n_events, 1);
    assert_false(f.ev[0].observing);
    assert_int_equal(f.ev[0].code, TERN_CODE_NOT_FOUND);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

static void test_rfc7641_s3_3_1_reregister_when_max_age_runs_out(void **state) {
    (void)state;
    fx f;
    fx_init(&f); /* margin: 2000 ms by default */
    obs o = obs_established(&f, 10);
    uint64_t t0 = f.now;
    size_t sent = f.n_out;
    fx_run_until(&f, t0 + 11999);
    assert_int_equal(f.n_out, sent);
    fx_run_until(&f, t0 + 12000);
    assert_int_equal(f.n_out, sent + 1);
    tern_msg re = fx_sent(&f, -1);
    uint32_t v = 99;
    char s[16];
    assert_int_equal(re.type, TERN_TYPE_CON);
    assert_int_equal(re.code, TERN_CODE_GET);
    assert_int_equal(tern_msg_get_uint(&re, TERN_OPT_OBSERVE, &v), 0);
    assert_int_equal(v, TERN_OBSERVE_REGISTER);
    assert_string_equal(fx_opt_str(&re, TERN_OPT_URI_PATH, s, sizeof s), "alarm");
    /* Same token (section 3.3.1), new message ID. */
    assert_int_equal(re.token_len, o.tl);
    assert_memory_equal(re.token, o.tok, o.tl);
    assert_int_not_equal(re.mid, o.mid);
    /* The answer, a restarted counter: it is the direct answer to our
     * request, so it is shown although 2 < 5. */
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_CONTENT, re.mid, o.tok, o.tl, 2, 10, "ON");
    assert_int_equal(f.n_events, 2);
    assert_true(f.ev[1].observing);
    assert_string_equal(f.ev[1].payload, "ON");
    /* A notification re-arms the timer from its own arrival. */
    fx_advance(&f, 5000);
    notify(&f, &o, 0x0F01, 3, 10, "OFF");
    uint64_t t1 = f.now;
    sent = f.n_out;
    fx_run_until(&f, t1 + 11999);
    assert_int_equal(f.n_out, sent);
    fx_run_until(&f, t1 + 12000);
    assert_int_equal(f.n_out, sent + 1);
    fx_done(&f);
}

static void test_rfc7641_s3_3_1_default_max_age_60s(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs_established(&f, -1);
    uint64_t t0 = f.now;
    size_t sent = f.n_out;
    fx_run_until(&f, t0 + 61999);
    assert_int_equal(f.n_out, sent);
    fx_run_until(&f, t0 + 62000);
    assert_int_equal(f.n_out, sent + 1);
    fx_done(&f);
}

static void test_rfc7641_s3_3_1_reregistration_unanswered(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs_established(&f, 10);
    fx_advance(&f, 12000 + 200000);
    /* The re-registration's retransmissions ran out: the error is final. */
    assert_int_equal(f.n_events, 2);
    assert_int_equal(f.ev[1].err, TERN_E_TIMEOUT);
    assert_false(f.ev[1].observing);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

/* An unreachable server (ICMP) will send no more notifications, but only
 * an error that names a request of ours says so (RFC 8085 section 5.2;
 * anyone can forge one). Quiet between notifications, the client has
 * nothing on the wire: an error quoting the registration, long answered,
 * ends nothing. When the re-registration CON of section 3.3.1 draws the
 * error, the observation ends at once with TERN_E_UNREACHABLE (the
 * endpoint ends that CON, which would otherwise only end the observation
 * on a RST). */
static void test_rfc7641_s3_3_1_unreachable_server_ends_observation(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_established(&f, -1);
    fx_unreachable(&f, &f.server);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(tern_client_active(f.cli), 1);
    fx_done(&f);

    fx_init(&f);
    o = obs_established(&f, 10);
    size_t sent = f.n_out;
    fx_advance(&f, 12000); /* Max-Age + margin: the re-registration goes out */
    assert_int_equal(f.n_out, sent + 1);
    notify(&f, &o, 0x0B01, 6, 10, "ON"); /* while it is unanswered */
    assert_int_equal(f.n_events, 2);
    assert_true(f.ev[1].observing);
    fx_unreachable(&f, &f.server);
    assert_int_equal(f.n_events, 3);
    assert_int_equal(f.ev[2].err, TERN_E_UNREACHABLE);
    assert_false(f.ev[2].observing);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_advance(&f, 100000);
    assert_int_equal(f.n_events, 3);
    fx_done(&f);
}

/* Section 3.6: a deregistration under way ends as cancelled, as it would on
 * a RST: the observation is gone either way. */
static void test_rfc7641_s3_6_unreachable_during_deregistration(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_established(&f, -1);
    assert_int_equal(tern_client_deregister(f.cli, o.id, f.now), 0);
    fx_drain(&f);
    fx_unreachable(&f, &f.server);
    assert_int_equal(f.n_events, 2);
    assert_int_equal(f.ev[1].err, TERN_E_CANCELLED);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

static void test_rfc7641_s3_6_deregister_with_observe_1(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_established(&f, -1);
    assert_int_equal(tern_client_deregister(f.cli, o.id, f.now), 0);
    assert_int_equal(fx_drain(&f), 1);
    tern_msg d = fx_sent(&f, -1);
    uint32_t v = 99;
    char s[16];
    assert_int_equal(d.code, TERN_CODE_GET);
    assert_int_equal(tern_msg_get_uint(&d, TERN_OPT_OBSERVE, &v), 0);
    assert_int_equal(v, TERN_OBSERVE_DEREGISTER);
    assert_int_equal(tern_msg_count_opt(&d, TERN_OPT_OBSERVE), 1);
    assert_int_equal(d.token_len, o.tl);
    assert_memory_equal(d.token, o.tok, o.tl);
    assert_string_equal(fx_opt_str(&d, TERN_OPT_URI_PATH, s, sizeof s), "alarm");
    /* A notification sent before the server saw it: ACKed, not shown. */
    notify(&f, &o, 0x1001, 6, -1, "ON");
    assert_int_equal(f.n_events, 1);
    /* The answer (no Observe): one last call, TERN_E_CANCELLED. */
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_CONTENT, d.mid, o.tok, o.tl, -1, -1, "ON");
    assert_int_equal(f.n_events, 2);
    assert_int_equal(f.ev[1].err, TERN_E_CANCELLED);
    assert_true(f.ev[1].has_resp);
    assert_false(f.ev[1].observing);
    assert_int_equal(tern_client_active(f.cli), 0);
    /* Deregistering a plain request is refused. */
    tern_msgb b;
    tern_client_op_id id;
    fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "x");
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, &id), 0);
    assert_int_equal(tern_client_deregister(f.cli, id, f.now), TERN_E_STATE);
    assert_int_equal(tern_client_deregister(f.cli, o.id, f.now), TERN_E_NOTFOUND);
    fx_done(&f);
}

static void test_rfc7641_s3_6_forget_then_rst_on_next_notification(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_established(&f, -1);
    assert_int_equal(tern_client_cancel(f.cli, o.id, f.now), 0);
    assert_int_equal(fx_drain(&f), 0); /* nothing sent on a quiet cancel */
    fx_recv(&f, &f.server, TERN_TYPE_CON, TERN_CODE_CONTENT, 0x1101, o.tok, o.tl, 6, -1, "ON");
    assert_int_equal(f.n_events, 1);
    tern_msg rst = fx_sent(&f, -1);
    assert_int_equal(rst.type, TERN_TYPE_RST);
    assert_int_equal(rst.mid, 0x1101);
    /* And no re-registration timer survives. */
    assert_int_equal(tern_client_next_deadline(f.cli), UINT64_MAX);
    fx_done(&f);
}

/* --count N: stop from inside the N-th notification. */
static void dereg_at_3(fx *f, tern_client_op_id id, const tern_client_event *ev) {
    if (ev->observing && f->n_events == 3)
        assert_int_equal(tern_client_deregister(f->cli, id, f->now), 0);
}

static void test_rfc7641_s3_6_deregister_from_callback(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    f.action = dereg_at_3;
    obs o = obs_established(&f, -1);
    notify(&f, &o, 0x1201, 6, -1, "a");
    size_t before = f.n_out;
    notify(&f, &o, 0x1202, 7, -1, "b"); /* the third call deregisters */
    /* The ACK of that notification, then (on the tick) GET Observe=1. */
    assert_int_equal(f.n_out, before + 2);
    tern_msg d = fx_sent(&f, -1);
    uint32_t v = 99;
    assert_int_equal(tern_msg_get_uint(&d, TERN_OPT_OBSERVE, &v), 0);
    assert_int_equal(v, TERN_OBSERVE_DEREGISTER);
    /* The server answers with RST: the observation is over anyway. */
    fx_recv(&f, &f.server, TERN_TYPE_RST, TERN_CODE_EMPTY, d.mid, NULL, 0, -1, -1, NULL);
    assert_int_equal(f.n_events, 4);
    assert_int_equal(f.ev[3].err, TERN_E_CANCELLED);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

static void test_rfc7641_s3_1_separate_registration_answer(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_start(&f, TERN_TYPE_CON);
    fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_EMPTY, o.mid, NULL, 0, -1, -1, NULL);
    assert_int_equal(f.n_events, 0);
    notify(&f, &o, 0x1301, 1, -1, "OFF");
    assert_int_equal(f.n_events, 1);
    assert_true(f.ev[0].observing);
    notify(&f, &o, 0x1302, 2, -1, "ON");
    assert_int_equal(f.n_events, 2);
    fx_done(&f);
}

static void test_rfc7641_s3_1_non_registration(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    obs o = obs_start(&f, TERN_TYPE_NON);
    assert_int_equal(fx_sent(&f, -1).type, TERN_TYPE_NON);
    fx_recv(&f, &f.server, TERN_TYPE_NON, TERN_CODE_CONTENT, 0x1401, o.tok, o.tl, 1, -1, "x");
    assert_int_equal(f.n_events, 1);
    assert_true(f.ev[0].observing);
    fx_done(&f);
}

static void test_rfc7641_s3_1_registration_timeout(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_msgb b;
    fx_req(&b, TERN_TYPE_NON, TERN_CODE_GET, "alarm");
    tern_client_op_id id;
    uint64_t t0 = f.now;
    assert_int_equal(tern_client_observe(f.cli, &f.server, &b, 5000, fx_cb, &f, f.now, &id), 0);
    fx_run_until(&f, t0 + 4999);
    assert_int_equal(f.n_events, 0);
    fx_run_until(&f, t0 + 5000);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, TERN_E_TIMEOUT);
    fx_done(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7641_s3_2_notifications_delivered_and_acked),
        cmocka_unit_test(test_rfc7641_s3_4_reordered_notification_dropped),
        cmocka_unit_test(test_rfc7641_s3_4_sequence_wraps),
        cmocka_unit_test(test_rfc7641_s3_4_stale_number_fresh_after_128s),
        cmocka_unit_test(test_rfc7641_s3_2_server_without_observe_is_plain_response),
        cmocka_unit_test(test_rfc7641_s3_2_error_or_missing_observe_ends_observation),
        cmocka_unit_test(test_rfc7641_s3_1_registration_error_code),
        cmocka_unit_test(test_rfc7641_s3_3_1_reregister_when_max_age_runs_out),
        cmocka_unit_test(test_rfc7641_s3_3_1_default_max_age_60s),
        cmocka_unit_test(test_rfc7641_s3_3_1_reregistration_unanswered),
        cmocka_unit_test(test_rfc7641_s3_3_1_unreachable_server_ends_observation),
        cmocka_unit_test(test_rfc7641_s3_6_unreachable_during_deregistration),
        cmocka_unit_test(test_rfc7641_s3_6_deregister_with_observe_1),
        cmocka_unit_test(test_rfc7641_s3_6_forget_then_rst_on_next_notification),
        cmocka_unit_test(test_rfc7641_s3_6_deregister_from_callback),
        cmocka_unit_test(test_rfc7641_s3_1_separate_registration_answer),
        cmocka_unit_test(test_rfc7641_s3_1_non_registration),
        cmocka_unit_test(test_rfc7641_s3_1_registration_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
