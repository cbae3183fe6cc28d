/* SPDX-License-Identifier: BSD-2-Clause */
/* test_server_state.c - state resources (tern/state.h, src/server/state.c)
 * served by a real engine on the fake clock: RFC 7252 5.8.1 (GET), 5.8.3
 * (PUT), 5.5.2 (diagnostic payloads), 5.9.3.4 (5.03 with Max-Age), 5.6.1
 * (Max-Age 0 for a value that may be stale), 5.2.2 (separate responses
 * when the backend answers later), and RFC 7641 3.2 (final 4.04), 4.2
 * (notify changes, and only changes) and 4.4-style ordering of versions.
 *
 * The backends are fakes defined here, one struct whose behaviour each
 * test sets: load returns a value, none, an error or an undeclared value;
 * store keeps at once (versions 1, 2, ...), fails with a chosen TERN_E_*,
 * or answers TERN_STATE_LATER and records (st, op, value) so that the test
 * reports the outcome itself with tern_state_stored; available() can be
 * switched off; shared can be set. on_event is recorded too. */
#include "test_server_fixture.h"

#include "tern/error.h"
#include "tern/state.h"

/* ---- a fake backend ------------------------------------------------------- */

enum { FB_MAX_LATER = 64, REC_MAX = 64 };

typedef struct fake_later {
    tern_state *st;
    void *op;
    char value[TERN_STATE_VALUE_MAX];
} fake_later;

typedef struct fake_be {
    tern_state_backend be; /* first: the ops get back to the fake from it */
    /* load: 1 (load_value, load_version), 0 (none) or a TERN_E_* (load_why) */
    int load_rc;
    const char *load_value;
    uint64_t load_version;
    const char *load_why;
    int loads;
    char load_path[64], load_initial[TERN_STATE_VALUE_MAX];
    /* store: 0 (kept as ++version), TERN_STATE_LATER, or a TERN_E_* */
    int store_rc;
    const char *store_why;
    uint64_t version;
    int stores;
    char stored_path[64], stored_value[TERN_STATE_VALUE_MAX];
    fake_later later[FB_MAX_LATER];
    int n_later;
    /* available, refresh, forget */
    bool down;
    int refreshes;
    const char *refresh_value; /* refresh hands it over with refresh_version */
    uint64_t refresh_version;
    int forgets;
    tern_state *forgot;
} fake_be;

static void copy_str(char *out, size_t cap, const char *s) {
    snprintf(out, cap, "%s", s ? s : "");
}

static int fb_load(tern_state_backend *be, tern_state *st, const char *path, const char *initial,
                   char *out, size_t cap, uint64_t *version, char *why, size_t why_cap) {
    fake_be *fb = (fake_be *)be;
    (void)st;
    fb->loads++;
    copy_str(fb->load_path, sizeof fb->load_path, path);
    copy_str(fb->load_initial, sizeof fb->load_initial, initial);
    if (fb->load_rc < 0) {
        copy_str(why, why_cap, fb->load_why);
        return fb->load_rc;
    }
    if (fb->load_rc == 0) return 0;
    assert_true(strlen(fb->load_value) < cap);
    copy_str(out, cap, fb->load_value);
    *version = fb->load_version;
    return 1;
}

static int fb_store(tern_state_backend *be, tern_state *st, const char *path, const char *value,
                    void *op, uint64_t *version, char *why, size_t why_cap) {
    fake_be *fb = (fake_be *)be;
    fb->stores++;
    copy_str(fb->stored_path, sizeof fb->stored_path, path);
    copy_str(fb->stored_value, sizeof fb->stored_value, value);
    if (fb->store_rc == TERN_STATE_LATER) {
        assert_true(fb->n_later < FB_MAX_LATER);
        fake_later *l = &fb->later[fb->n_later++];
        l->st = st;
        l->op = op;
        copy_str(l->value, sizeof l->value, value);
        return TERN_STATE_LATER;
    }
    if (fb->store_rc < 0) {
        copy_str(why, why_cap, fb->store_why);
        return fb->store_rc;
    }
    *version = ++fb->version;
    return 0;
}

static bool fb_available(const tern_state_backend *be) { return !((const fake_be *)be)->down; }

static void fb_refresh(tern_state_backend *be, tern_state *st) {
    fake_be *fb = (fake_be *)be;
    fb->refreshes++;
    if (fb->refresh_value) (void)tern_state_apply(st, fb->refresh_value, fb->refresh_version);
}

static void fb_forget(tern_state_backend *be, tern_state *st) {
    fake_be *fb = (fake_be *)be;
    fb->forgets++;
    fb->forgot = st;
}

static const tern_state_backend_ops fb_ops = {.load = fb_load,
                                              .store = fb_store,
                                              .available = fb_available,
                                              .refresh = fb_refresh,
                                              .forget = fb_forget};
/* Only what a backend must have: no load, available, refresh, forget. */
static const tern_state_backend_ops fb_ops_min = {.store = fb_store};

static void fb_init(fake_be *fb) {
    memset(fb, 0, sizeof *fb);
    fb->be.ops = &fb_ops;
}

/* ---- on_event, recorded ---------------------------------------------------- */

typedef struct rec_event {
    tern_state_event_kind kind;
    char path[32], old_value[TERN_STATE_VALUE_MAX], value[300];
    size_t value_len;
    bool has_peer;
    tern_addr peer;
    uint64_t version;
    char why[256];
    int error;
} rec_event;

typedef struct recorder {
    rec_event ev[REC_MAX];
    int n;
} recorder;

static void rec_on_event(void *ctx, const tern_state_event *ev) {
    recorder *r = ctx;
    assert_true(r->n < REC_MAX);
    rec_event *e = &r->ev[r->n++];
    memset(e, 0, sizeof *e);
    e->kind = ev->kind;
    copy_str(e->path, sizeof e->path, ev->path);
    copy_str(e->old_value, sizeof e->old_value, ev->old_value);
    e->value_len = ev->value_len;
    if (ev->value) {
        assert_true(ev->value_len < sizeof e->value);
        memcpy(e->value, ev->value, ev->value_len);
    }
    e->has_peer = ev->peer != NULL;
    if (ev->peer) e->peer = *ev->peer;
    e->version = ev->version;
    copy_str(e->why, sizeof e->why, ev->why);
    e->error = ev->error;
}

/* ---- the test's world: a server, a fake backend, one state /alarm ---------- */

typedef struct tcx {
    sfx f;
    fake_be fb;
    recorder rec;
    tern_state *st;
} tcx;

static const char *const on_off[] = {"ON", "OFF"};

static tern_state_def alarm_def(tcx *t, bool backend) {
    return (tern_state_def){.path = "/alarm",
                            .values = on_off,
                            .n_values = 2,
                            .initial = 1, /* OFF */
                            .backend = backend ? &t->fb.be : NULL,
                            .on_event = rec_on_event,
                            .ctx = &t->rec};
}

/* The server and an unconfigured fake; the test sets the fake, then
 * tcx_make. */
static void tcx_init(tcx *t, const tern_server_config *scfg) {
    memset(t, 0, sizeof *t);
    sfx_init(&t->f, scfg);
    fb_init(&t->fb);
}

static void tcx_serve_def(tcx *t, const tern_state_def *def) {
    char why[256] = "";
    assert_int_equal(tern_state_new(&t->st, def, why, sizeof why), 0);
    assert_non_null(t->st);
    assert_int_equal(tern_state_serve(t->st, t->f.srv), 0);
    assert_non_null(tern_state_resource(t->st));
}

/* /alarm, ON or OFF, initially OFF, on the fake backend (or in memory). */
static void tcx_make(tcx *t, bool backend) {
    tern_state_def def = alarm_def(t, backend);
    tcx_serve_def(t, &def);
}

static void tcx_free(tcx *t) {
    if (t->st) {
        tern_state_unserve(t->st, t->f.now);
        tern_state_free(t->st);
    }
    sfx_free(&t->f);
}

static void send_put(tcx *t, const tern_addr *peer, uint16_t mid, const char *tok, const void *p,
                     size_t n) {
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, mid, tok, "/alarm");
    if (n) tern_msgb_set_payload(&b, p, n);
    sfx_deliver(&t->f, peer, &b);
}

/* A CON PUT of v, and the answer it draws at once. */
static const tern_msg *put(tcx *t, const tern_addr *peer, uint16_t mid, const char *v) {
    send_put(t, peer, mid, "p", v, strlen(v));
    return sfx_next(&t->f, NULL);
}

static const tern_msg *get(tcx *t, const tern_addr *peer, uint16_t mid) {
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, mid, "g", "/alarm");
    return sfx_ask(&t->f, peer, &b);
}

/* Register an observer with token tok; return the answer's Observe. */
static uint32_t observe(tcx *t, const tern_addr *peer, uint16_t mid, const char *tok,
                        const char *value) {
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, mid, tok, "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    const tern_msg *m = sfx_ask(&t->f, peer, &b);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_payload(m, value);
    return sfx_uint(m, TERN_OPT_OBSERVE);
}

/* The next message is a 2.05 notification of value to peer, token tok. */
static const tern_msg *expect_notification(tcx *t, const tern_addr *to, const char *tok,
                                           const char *value) {
    tern_addr peer;
    const tern_msg *m = sfx_next(&t->f, &peer);
    assert_true(tern_addr_equal(&peer, to));
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_token(m, tok);
    sfx_assert_payload(m, value);
    assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(sfx_uint(m, TERN_OPT_CONTENT_FORMAT), TERN_CF_TEXT_PLAIN);
    return m;
}

static const rec_event *event(tcx *t, int i, tern_state_event_kind kind) {
    if (i >= t->rec.n) fail_msg("expected event %d, only %d recorded", i, t->rec.n);
    const rec_event *e = &t->rec.ev[i];
    assert_int_equal(e->kind, kind);
    assert_string_equal(e->path, "/alarm");
    return e;
}

static void assert_diag(const tern_msg *m, const char *s) {
    if (!sfx_payload_contains(m, s))
        fail_msg("diagnostic \"%.*s\" does not contain \"%s\"", (int)m->payload_len,
                 m->payload ? (const char *)m->payload : "", s);
    /* RFC 7252 5.5.2: a diagnostic payload has no Content-Format. */
    assert_false(sfx_has_opt(m, TERN_OPT_CONTENT_FORMAT));
}

/* ---- RFC 7252 5.8.1: GET -------------------------------------------------- */

static void test_rfc7252_s5_8_1_get_answers_the_value_as_text(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, false); /* in memory */
    const tern_msg *m = get(&t, &t.f.a, 1);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->mid, 1);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_token(m, "g");
    sfx_assert_payload(m, "OFF");
    assert_true(sfx_has_opt(m, TERN_OPT_CONTENT_FORMAT));
    assert_int_equal(sfx_uint(m, TERN_OPT_CONTENT_FORMAT), TERN_CF_TEXT_PLAIN);
    /* Fresh: no Max-Age 0 while the value is authoritative. */
    assert_false(sfx_has_opt(m, TERN_OPT_MAX_AGE));
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_string_equal(tern_state_path(t.st), "/alarm");
    assert_string_equal(tern_state_accepted(t.st), "ON, OFF");
    assert_int_equal(tern_state_version(t.st), 0);
    assert_ptr_equal(tern_state_ctx(t.st), &t.rec);
    tcx_free(&t);
}

/* Load's value (and version) is the state; load sees the path and initial. */
static void test_rfc7252_s5_8_1_get_answers_the_loaded_value(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.load_rc = 1;
    t.fb.load_value = "ON";
    t.fb.load_version = 7;
    tcx_make(&t, true);
    assert_int_equal(t.fb.loads, 1);
    assert_string_equal(t.fb.load_path, "/alarm");
    assert_string_equal(t.fb.load_initial, "OFF");
    assert_string_equal(tern_state_value(t.st), "ON");
    assert_int_equal(tern_state_version(t.st), 7);
    const tern_msg *m = get(&t, &t.f.a, 1);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_payload(m, "ON");
    assert_true(t.fb.refreshes >= 1); /* asked before the value is read */
    assert_int_equal(t.fb.stores, 0);
    tcx_free(&t);
}

/* tern/state.h, load: 0 (none kept) starts from initial, version 0; the
 * RFC 7252 5.8.1 GET answers it. */
static void test_state_new_load_none_starts_from_initial(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.load_rc = 0;
    tern_state_def def = alarm_def(&t, true);
    def.initial = 0; /* ON */
    tcx_serve_def(&t, &def);
    assert_int_equal(t.fb.loads, 1);
    assert_string_equal(t.fb.load_initial, "ON");
    assert_string_equal(tern_state_value(t.st), "ON");
    assert_int_equal(tern_state_version(t.st), 0);
    sfx_assert_payload(get(&t, &t.f.a, 1), "ON");
    tcx_free(&t);
}

/* A backend holding a value that is not declared: refused at start, with
 * a why that names the value (and the accepted ones). */
static void test_state_new_load_undeclared_value_is_state_error(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.load_rc = 1;
    t.fb.load_value = "MAYBE";
    t.fb.load_version = 3;
    tern_state_def def = alarm_def(&t, true);
    char why[256] = "";
    tern_state *st = (tern_state *)&t; /* must be reset to NULL */
    assert_int_equal(tern_state_new(&st, &def, why, sizeof why), TERN_E_STATE);
    assert_null(st);
    assert_non_null(strstr(why, "\"MAYBE\""));
    assert_non_null(strstr(why, "ON, OFF"));
    /* The backend was told to forget the state it may have kept. */
    assert_int_equal(t.fb.forgets, 1);
    /* A value that is a declared one's prefix or differs in case is no
     * declared value either. */
    const char *bad[] = {"O", "on", "OFF ", "ONN"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t.fb.load_value = bad[i];
        assert_int_equal(tern_state_new(&st, &def, why, sizeof why), TERN_E_STATE);
        assert_null(st);
    }
    sfx_free(&t.f);
}

/* tern/state.h, load: a backend error is tern_state_new's, with its why. */
static void test_state_new_load_error_passes_through(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.load_rc = TERN_E_SYSTEM;
    t.fb.load_why = "/var/lib/tern/alarm.state: Permission denied";
    tern_state_def def = alarm_def(&t, true);
    char why[256] = "";
    tern_state *st = NULL;
    assert_int_equal(tern_state_new(&st, &def, why, sizeof why), TERN_E_SYSTEM);
    assert_null(st);
    assert_string_equal(why, "/var/lib/tern/alarm.state: Permission denied");
    t.fb.load_rc = TERN_E_UNAVAILABLE;
    t.fb.load_why = "redis 10.0.0.1:6379: connection refused";
    assert_int_equal(tern_state_new(&st, &def, why, sizeof why), TERN_E_UNAVAILABLE);
    assert_null(st);
    assert_string_equal(why, "redis 10.0.0.1:6379: connection refused");
    sfx_free(&t.f);
}

/* A backend with only store: no load (initial), always available. */
static void test_rfc7252_s5_8_3_minimal_backend(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.be.ops = &fb_ops_min;
    tcx_make(&t, true);
    assert_string_equal(tern_state_value(t.st), "OFF");
    const tern_msg *m = get(&t, &t.f.a, 1);
    assert_false(sfx_has_opt(m, TERN_OPT_MAX_AGE));
    m = put(&t, &t.f.a, 2, "ON");
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    assert_int_equal(t.fb.stores, 1);
    assert_string_equal(tern_state_value(t.st), "ON");
    assert_int_equal(tern_state_version(t.st), 1);
    tern_state_unserve(t.st, t.f.now);
    tern_state_free(t.st); /* no forget to call */
    t.st = NULL;
    tcx_free(&t);
}

/* ---- RFC 7252 5.8.3 / RFC 7641 4.2: PUT of a declared value ---------------- */

static void test_rfc7252_s5_8_3_put_piggybacked_2_04_and_rfc7641_s4_2_notified(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    uint32_t v0 = observe(&t, &t.f.a, 1, "o1", "OFF");
    const tern_msg *m = put(&t, &t.f.b, 0x22, "ON");
    /* Piggybacked on the ACK of the CON (5.2.1), same MID and token. */
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->mid, 0x22);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_token(m, "p");
    sfx_assert_payload(m, "ON");
    assert_int_equal(t.fb.stores, 1);
    assert_string_equal(t.fb.stored_path, "/alarm");
    assert_string_equal(t.fb.stored_value, "ON");
    assert_string_equal(tern_state_value(t.st), "ON");
    assert_int_equal(tern_state_version(t.st), 1);
    /* The observer hears of it, once. */
    m = expect_notification(&t, &t.f.a, "o1", "ON");
    assert_true(sfx_uint(m, TERN_OPT_OBSERVE) > v0);
    sfx_expect_none(&t.f);
    assert_int_equal(t.rec.n, 1);
    const rec_event *e = event(&t, 0, TERN_STATE_CHANGED);
    assert_string_equal(e->old_value, "OFF");
    assert_string_equal(e->value, "ON");
    assert_int_equal(e->value_len, 2);
    assert_true(e->has_peer);
    assert_true(tern_addr_equal(&e->peer, &t.f.b));
    assert_int_equal(e->version, 1);
    /* And back: version 2, a second notification. */
    m = put(&t, &t.f.b, 0x23, "OFF");
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_payload(m, "OFF");
    assert_int_equal(tern_state_version(t.st), 2);
    expect_notification(&t, &t.f.a, "o1", "OFF");
    sfx_expect_none(&t.f);
    e = event(&t, 1, TERN_STATE_CHANGED);
    assert_string_equal(e->old_value, "ON");
    assert_string_equal(e->value, "OFF");
    assert_int_equal(e->version, 2);
    sfx_assert_payload(get(&t, &t.f.c, 0x24), "OFF");
    tcx_free(&t);
}

static void test_rfc7252_s5_8_3_put_in_memory(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, false);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    const tern_msg *m = put(&t, &t.f.b, 2, "ON");
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_payload(m, "ON");
    assert_string_equal(tern_state_value(t.st), "ON");
    assert_int_equal(tern_state_version(t.st), 0);
    expect_notification(&t, &t.f.a, "o1", "ON");
    sfx_expect_none(&t.f);
    const rec_event *e = event(&t, 0, TERN_STATE_CHANGED);
    assert_true(tern_addr_equal(&e->peer, &t.f.b));
    tcx_free(&t);
}

/* The resource declares ct=0: another Content-Format is refused by the
 * server (4.15), none is text/plain. */
static void test_rfc7252_s5_10_3_put_content_format(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 1, "p", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, 50);
    tern_msgb_set_payload(&b, "ON", 2);
    assert_int_equal(sfx_ask(&t.f, &t.f.a, &b)->code, TERN_CODE_UNSUPPORTED_CONTENT_FORMAT);
    assert_int_equal(t.fb.stores, 0);
    assert_string_equal(tern_state_value(t.st), "OFF");
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 2, "p", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, TERN_CF_TEXT_PLAIN);
    tern_msgb_set_payload(&b, "ON", 2);
    assert_int_equal(sfx_ask(&t.f, &t.f.a, &b)->code, TERN_CODE_CHANGED);
    assert_string_equal(tern_state_value(t.st), "ON");
    tcx_free(&t);
}

/* ---- RFC 7252 5.5.2: PUT of anything else --------------------------------- */

static void test_rfc7252_s5_5_2_put_undeclared_is_4_00_naming_the_values(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    const tern_msg *m = put(&t, &t.f.b, 2, "MAYBE");
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->code, TERN_CODE_BAD_REQUEST);
    sfx_assert_payload(m, "got \"MAYBE\"; accepted: ON, OFF");
    assert_false(sfx_has_opt(m, TERN_OPT_CONTENT_FORMAT));
    assert_int_equal(t.fb.stores, 0);
    assert_string_equal(tern_state_value(t.st), "OFF");
    sfx_expect_none(&t.f); /* no notification */
    const rec_event *e = event(&t, 0, TERN_STATE_REFUSED);
    assert_int_equal(e->value_len, 5);
    assert_memory_equal(e->value, "MAYBE", 5);
    assert_string_equal(e->old_value, "OFF");
    assert_true(tern_addr_equal(&e->peer, &t.f.b));
    /* Byte for byte: no case folding, no trimming, no prefixes. */
    const char *near[] = {"on", "ON\n", " ON", "O", "OFFF"};
    for (size_t i = 0; i < sizeof near / sizeof near[0]; i++) {
        m = put(&t, &t.f.b, (uint16_t)(10 + i), near[i]);
        assert_int_equal(m->code, TERN_CODE_BAD_REQUEST);
        assert_diag(m, "accepted: ON, OFF");
    }
    /* No payload at all. */
    send_put(&t, &t.f.b, 20, "p", NULL, 0);
    m = sfx_next(&t.f, NULL);
    assert_int_equal(m->code, TERN_CODE_BAD_REQUEST);
    sfx_assert_payload(m, "got \"\"; accepted: ON, OFF");
    assert_int_equal(t.rec.n, 7);
    assert_int_equal(t.rec.ev[6].value_len, 0);
    assert_int_equal(t.fb.stores, 0);
    assert_string_equal(tern_state_value(t.st), "OFF");
    sfx_expect_none(&t.f);
    tcx_free(&t);
}

/* The payload is quoted as tern_text_escape does (tern/msg.h): printable
 * ASCII as it is, \" \\ \n \r \t, the rest as \xNN; the diagnostic stays
 * text; at most 64 bytes of the payload are quoted. */
static void test_rfc7252_s5_5_2_binary_payload_quoted(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    static const uint8_t bin[] = {0x00, 'O', 0xff, '"', '\\', 'N', '\n', 0x1f, 0x7f};
    send_put(&t, &t.f.a, 1, "p", bin, sizeof bin);
    const tern_msg *m = sfx_next(&t.f, NULL);
    assert_int_equal(m->code, TERN_CODE_BAD_REQUEST);
    sfx_assert_payload(m, "got \"\\x00O\\xff\\\"\\\\N\\n\\x1f\\x7f\"; accepted: ON, OFF");
    const rec_event *e = event(&t, 0, TERN_STATE_REFUSED);
    assert_int_equal(e->value_len, sizeof bin);
    assert_memory_equal(e->value, bin, sizeof bin);
    /* 100 bytes: no more than 64 of them quoted. */
    char big[101];
    memset(big, 'A', 100);
    big[100] = '\0';
    m = put(&t, &t.f.a, 2, big);
    assert_int_equal(m->code, TERN_CODE_BAD_REQUEST);
    char want[80];
    snprintf(want, sizeof want, "got \"%.64s", big);
    assert_diag(m, want);
    char a65[66];
    memset(a65, 'A', 65);
    a65[65] = '\0';
    assert_false(sfx_payload_contains(m, a65));
    assert_diag(m, "AAA...\"; accepted"); /* cut, and saying so */
    assert_diag(m, "; accepted: ON, OFF");
    e = event(&t, 1, TERN_STATE_REFUSED);
    assert_int_equal(e->value_len, 100);
    /* 100 bytes that all need quoting: still a bounded, printable text. */
    uint8_t ff[100];
    memset(ff, 0xff, sizeof ff);
    send_put(&t, &t.f.a, 3, "p", ff, sizeof ff);
    m = sfx_next(&t.f, NULL);
    assert_int_equal(m->code, TERN_CODE_BAD_REQUEST);
    assert_diag(m, "got \"\\xff\\xff");
    assert_diag(m, "accepted: ON, OFF");
    assert_true(m->payload_len <= 4 * 64 + 40);
    for (size_t i = 0; i < m->payload_len; i++)
        assert_true(m->payload[i] >= 0x20 && m->payload[i] < 0x7f);
    assert_int_equal(t.fb.stores, 0);
    assert_string_equal(tern_state_value(t.st), "OFF");
    tcx_free(&t);
}

/* ---- RFC 7641 4.2: a PUT of the value held is no change -------------------- */

static void test_rfc7641_s4_2_put_of_value_held_not_stored_not_notified(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    const tern_msg *m = put(&t, &t.f.b, 2, "OFF");
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    sfx_assert_payload(m, "OFF");
    assert_int_equal(t.fb.stores, 0);
    assert_int_equal(tern_state_version(t.st), 0);
    sfx_expect_none(&t.f);
    assert_int_equal(t.rec.n, 1);
    const rec_event *e = event(&t, 0, TERN_STATE_UNCHANGED);
    assert_string_equal(e->value, "OFF");
    assert_string_equal(e->old_value, "OFF");
    assert_true(tern_addr_equal(&e->peer, &t.f.b));
    tcx_free(&t);
}

/* Shared backend: another node may have written since, so the PUT goes to
 * the backend all the same; the value did not change here, so no
 * notification. */
static void test_rfc7641_s4_2_shared_backend_put_of_value_held_is_stored(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.be.shared = true;
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    const tern_msg *m = put(&t, &t.f.b, 2, "OFF");
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_payload(m, "OFF");
    assert_int_equal(t.fb.stores, 1);
    assert_string_equal(t.fb.stored_value, "OFF");
    assert_int_equal(tern_state_version(t.st), 1);
    assert_string_equal(tern_state_value(t.st), "OFF");
    sfx_expect_none(&t.f);
    assert_int_equal(t.rec.n, 1);
    event(&t, 0, TERN_STATE_UNCHANGED);
    tcx_free(&t);
}

/* ---- RFC 7252 5.9.3.4: the backend cannot store ---------------------------- */

static void test_rfc7252_s5_9_3_4_store_unavailable_is_5_03_max_age(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.be.retry_after_s = 30;
    t.fb.store_rc = TERN_E_UNAVAILABLE;
    t.fb.store_why = "redis: connection refused";
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    const tern_msg *m = put(&t, &t.f.b, 2, "ON");
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 30);
    assert_diag(m, "redis: connection refused");
    assert_int_equal(t.fb.stores, 1);
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_int_equal(tern_state_version(t.st), 0);
    sfx_expect_none(&t.f);
    const rec_event *e = event(&t, 0, TERN_STATE_NOT_STORED);
    assert_int_equal(e->error, TERN_E_UNAVAILABLE);
    assert_string_equal(e->why, "redis: connection refused");
    assert_string_equal(e->value, "ON");
    assert_string_equal(e->old_value, "OFF");
    assert_true(tern_addr_equal(&e->peer, &t.f.b));
    /* retry_after_s 0: Max-Age 5. */
    t.fb.be.retry_after_s = 0;
    m = put(&t, &t.f.b, 3, "ON");
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 5);
    /* Back: the same PUT goes through. */
    t.fb.store_rc = 0;
    assert_int_equal(put(&t, &t.f.b, 4, "ON")->code, TERN_CODE_CHANGED);
    expect_notification(&t, &t.f.a, "o1", "ON");
    tcx_free(&t);
}

static void test_rfc7252_s5_9_3_1_store_failure_is_5_00(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.be.retry_after_s = 30;
    t.fb.store_rc = TERN_E_SYSTEM;
    t.fb.store_why = "alarm.state: No space left on device";
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    const tern_msg *m = put(&t, &t.f.b, 2, "ON");
    assert_int_equal(m->code, TERN_CODE_INTERNAL_SERVER_ERROR);
    assert_false(sfx_has_opt(m, TERN_OPT_MAX_AGE));
    assert_diag(m, "alarm.state: No space left on device");
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_int_equal(tern_state_version(t.st), 0);
    sfx_expect_none(&t.f);
    const rec_event *e = event(&t, 0, TERN_STATE_NOT_STORED);
    assert_int_equal(e->error, TERN_E_SYSTEM);
    tcx_free(&t);
}

/* available() false: a PUT is 5.03 without asking store; a plain GET says
 * the value may be stale (RFC 7252 5.6.1: Max-Age 0); a registration is
 * not told Max-Age 0 (RFC 7641 3.3.1: it would re-register for nothing). */
static void test_rfc7252_s5_6_1_backend_unavailable(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.be.retry_after_s = 12;
    tcx_make(&t, true);
    t.fb.down = true;
    const tern_msg *m = put(&t, &t.f.b, 1, "ON");
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 12);
    assert_true(m->payload_len > 0);
    assert_int_equal(t.fb.stores, 0);
    assert_string_equal(tern_state_value(t.st), "OFF");
    event(&t, 0, TERN_STATE_NOT_STORED);
    assert_int_equal(t.rec.ev[0].error, TERN_E_UNAVAILABLE);
    m = get(&t, &t.f.b, 2);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    sfx_assert_payload(m, "OFF");
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 0);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 3, "o1", "/alarm");
    tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, 0);
    m = sfx_ask(&t.f, &t.f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_true(sfx_has_opt(m, TERN_OPT_OBSERVE));
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 660); /* the server's, not 0 */
    /* A PUT of the value held is refused too: the backend may hold a
     * newer one (nothing is claimed stored while it is out of reach). */
    assert_int_equal(put(&t, &t.f.b, 4, "OFF")->code, TERN_CODE_SERVICE_UNAVAILABLE);
    /* A change the backend brings while down still reaches the observer,
     * without Max-Age 0. */
    assert_int_equal(tern_state_apply(t.st, "ON", 5), 1);
    tern_engine_tick(t.f.eng, t.f.now);
    m = expect_notification(&t, &t.f.a, "o1", "ON");
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 660);
    /* Back: a plain GET carries no Max-Age. */
    t.fb.down = false;
    m = get(&t, &t.f.b, 5);
    assert_false(sfx_has_opt(m, TERN_OPT_MAX_AGE));
    sfx_assert_payload(m, "ON");
    tcx_free(&t);
}

/* ---- RFC 7252 5.2.2: a backend that answers later -------------------------- */

/* The outcome comes after the ACK delay: empty ACK, then the 2.04 as a
 * separate CON response; the value changes only with the outcome. */
static void test_rfc7252_s5_2_2_async_store_separate_response(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    send_put(&t, &t.f.b, 0x40, "sep", "ON", 2);
    sfx_expect_none(&t.f);
    assert_int_equal(t.fb.stores, 1);
    assert_int_equal(t.fb.n_later, 1);
    assert_ptr_equal(t.fb.later[0].st, t.st);
    assert_non_null(t.fb.later[0].op);
    assert_string_equal(t.fb.later[0].value, "ON");
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_int_equal(t.rec.n, 0);
    /* Meanwhile the value is still the old one. */
    sfx_assert_payload(get(&t, &t.f.c, 0x41), "OFF");
    /* RFC 7252 4.5: the client's retransmission of the PUT is a duplicate,
     * not a second store. */
    send_put(&t, &t.f.b, 0x40, "sep", "ON", 2);
    assert_int_equal(t.fb.stores, 1);
    sfx_advance(&t.f, 1000);
    const tern_msg *m = sfx_next(&t.f, NULL);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->code, TERN_CODE_EMPTY);
    assert_int_equal(m->mid, 0x40);
    sfx_expect_none(&t.f);
    sfx_advance(&t.f, 500);
    tern_state_stored(t.st, t.fb.later[0].op, 0, 9, NULL, t.f.now);
    assert_string_equal(tern_state_value(t.st), "ON");
    assert_int_equal(tern_state_version(t.st), 9);
    tern_addr to;
    m = sfx_next(&t.f, &to);
    assert_true(tern_addr_equal(&to, &t.f.b));
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_token(m, "sep");
    sfx_assert_payload(m, "ON");
    sfx_ack(&t.f, &t.f.b, m, TERN_TYPE_ACK);
    tern_engine_tick(t.f.eng, t.f.now);
    expect_notification(&t, &t.f.a, "o1", "ON");
    sfx_expect_none(&t.f);
    const rec_event *e = event(&t, 0, TERN_STATE_CHANGED);
    assert_true(tern_addr_equal(&e->peer, &t.f.b));
    assert_int_equal(e->version, 9);
    assert_string_equal(e->old_value, "OFF");
    /* The same outcome reported again answers nothing more. */
    tern_state_stored(t.st, t.fb.later[0].op, 0, 10, NULL, t.f.now);
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f);
    assert_int_equal(tern_state_version(t.st), 9);
    assert_int_equal(t.rec.n, 1);
    tcx_free(&t);
}

/* The outcome comes before the ACK delay: the 2.04 rides on the ACK. */
static void test_rfc7252_s5_2_1_async_store_quick_is_piggybacked(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    send_put(&t, &t.f.b, 0x50, "pb", "ON", 2);
    sfx_advance(&t.f, 200);
    sfx_expect_none(&t.f);
    tern_state_stored(t.st, t.fb.later[0].op, 0, 1, NULL, t.f.now);
    const tern_msg *m = sfx_next(&t.f, NULL);
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->mid, 0x50);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_token(m, "pb");
    sfx_assert_payload(m, "ON");
    sfx_advance(&t.f, 2000); /* no empty ACK after the answer */
    sfx_expect_none(&t.f);
    tcx_free(&t);
}

static void test_rfc7252_s5_9_3_4_async_store_fails(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    t.fb.be.retry_after_s = 20;
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    send_put(&t, &t.f.b, 0x60, "u", "ON", 2);
    send_put(&t, &t.f.c, 0x61, "s", "ON", 2);
    assert_int_equal(t.fb.n_later, 2);
    sfx_advance(&t.f, 1000);
    assert_int_equal(sfx_next(&t.f, NULL)->code, TERN_CODE_EMPTY);
    assert_int_equal(sfx_next(&t.f, NULL)->code, TERN_CODE_EMPTY);
    tern_state_stored(t.st, t.fb.later[0].op, TERN_E_UNAVAILABLE, 0, "redis: timeout", t.f.now);
    const tern_msg *m = sfx_next(&t.f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    sfx_assert_token(m, "u");
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 20);
    assert_diag(m, "redis: timeout");
    sfx_ack(&t.f, &t.f.b, m, TERN_TYPE_ACK);
    tern_state_stored(t.st, t.fb.later[1].op, TERN_E_SYSTEM, 0, NULL, t.f.now);
    m = sfx_next(&t.f, NULL);
    assert_int_equal(m->code, TERN_CODE_INTERNAL_SERVER_ERROR);
    sfx_assert_token(m, "s");
    assert_false(sfx_has_opt(m, TERN_OPT_MAX_AGE));
    sfx_ack(&t.f, &t.f.c, m, TERN_TYPE_ACK);
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f); /* nothing changed: no notification */
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_int_equal(tern_state_version(t.st), 0);
    assert_int_equal(t.rec.n, 2);
    assert_int_equal(event(&t, 0, TERN_STATE_NOT_STORED)->error, TERN_E_UNAVAILABLE);
    assert_string_equal(t.rec.ev[0].why, "redis: timeout");
    assert_true(tern_addr_equal(&t.rec.ev[0].peer, &t.f.b));
    assert_int_equal(event(&t, 1, TERN_STATE_NOT_STORED)->error, TERN_E_SYSTEM);
    tcx_free(&t);
}

/* More PUTs waiting than TERN_STATE_MAX_WAITING: the next is 5.03 with
 * Max-Age at once, and the backend is not asked. (The server's tables are
 * made larger than the state's, so that the state's limit is the one hit.) */
static void test_rfc7252_s5_9_3_4_too_many_waiting(void **state) {
    (void)state;
    tcx t;
    memset(&t, 0, sizeof t);
    tern_endpoint_config_default(&t.f.ecfg);
    t.f.ecfg.random = tt_random_fixed;
    t.f.ecfg.random_ctx = &t.f.rnd;
    t.f.ecfg.max_pending = 2 * TERN_STATE_MAX_WAITING;
    tern_server_config_default(&t.f.scfg);
    t.f.scfg.max_deferred = 2 * TERN_STATE_MAX_WAITING;
    sfx_start(&t.f);
    t.f.now = 1000;
    t.f.a = sfx_addr(1);
    fb_init(&t.fb);
    t.fb.store_rc = TERN_STATE_LATER;
    t.fb.be.retry_after_s = 7;
    tcx_make(&t, true);
    for (int i = 0; i < TERN_STATE_MAX_WAITING; i++) {
        tern_addr peer = sfx_addr((uint8_t)(10 + i));
        send_put(&t, &peer, (uint16_t)(100 + i), "w", "ON", 2);
    }
    sfx_expect_none(&t.f);
    assert_int_equal(t.fb.stores, TERN_STATE_MAX_WAITING);
    const tern_msg *m = put(&t, &t.f.a, 99, "ON");
    assert_int_equal(m->type, TERN_TYPE_ACK);
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 7);
    assert_int_equal(t.fb.stores, TERN_STATE_MAX_WAITING);
    event(&t, 0, TERN_STATE_NOT_STORED);
    /* One answered: there is room for one more. */
    tern_state_stored(t.st, t.fb.later[0].op, 0, 1, NULL, t.f.now);
    m = sfx_next(&t.f, NULL);
    assert_int_equal(m->code, TERN_CODE_CHANGED); /* piggybacked: within the ACK delay */
    send_put(&t, &t.f.a, 98, "x", "OFF", 3);
    assert_int_equal(t.fb.stores, TERN_STATE_MAX_WAITING + 1);
    sfx_expect_none(&t.f);
    tcx_free(&t);
}

/* Outcomes that come in another order than the PUTs: the newest version
 * wins, an older one never takes the state back, and each PUT is answered
 * with the value held when its outcome came. */
static void test_rfc7641_s4_4_async_outcomes_out_of_order(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    t.fb.be.shared = true;
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    send_put(&t, &t.f.b, 2, "b", "ON", 2);  /* the backend numbers it 1 */
    send_put(&t, &t.f.c, 3, "c", "OFF", 3); /* ... and this one 2 */
    assert_int_equal(t.fb.n_later, 2);
    tern_state_stored(t.st, t.fb.later[1].op, 0, 2, NULL, t.f.now);
    tern_addr to;
    const tern_msg *m = sfx_next(&t.f, &to);
    assert_true(tern_addr_equal(&to, &t.f.c));
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_payload(m, "OFF");
    assert_int_equal(tern_state_version(t.st), 2);
    tern_state_stored(t.st, t.fb.later[0].op, 0, 1, NULL, t.f.now);
    m = sfx_next(&t.f, &to);
    assert_true(tern_addr_equal(&to, &t.f.b));
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_payload(m, "OFF"); /* the value held: ON was overtaken */
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_int_equal(tern_state_version(t.st), 2);
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f); /* OFF all along: nobody notified */
    for (int i = 0; i < t.rec.n; i++) assert_int_not_equal(t.rec.ev[i].kind, TERN_STATE_CHANGED);
    tcx_free(&t);
}

/* The server's own table of deferred answers full (max_deferred, 16 by
 * default, below TERN_STATE_MAX_WAITING): 5.03 before the backend is asked,
 * since the answer could not carry the outcome. */
static void test_rfc7252_s5_9_3_4_server_deferred_table_full(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_deferred = 2;
    tcx t;
    tcx_init(&t, &cfg);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    send_put(&t, &t.f.a, 1, "a", "ON", 2);
    send_put(&t, &t.f.b, 2, "b", "ON", 2);
    sfx_expect_none(&t.f);
    const tern_msg *m = put(&t, &t.f.c, 3, "ON");
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 5);
    assert_int_equal(t.fb.stores, 2);
    tcx_free(&t);
}

/* An op that is not one of the state's is ignored. */
static void test_state_stored_unknown_op_ignored(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    int junk;
    tern_state_stored(t.st, &junk, 0, 5, NULL, t.f.now);
    tern_state_stored(t.st, NULL, 0, 5, NULL, t.f.now);
    tern_state_stored(NULL, &junk, 0, 5, NULL, t.f.now);
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_int_equal(tern_state_version(t.st), 0);
    sfx_expect_none(&t.f);
    assert_int_equal(t.rec.n, 0);
    tcx_free(&t);
}

/* ---- tern_state_apply: values from elsewhere, in version order -------------- */

static void test_rfc7641_s4_4_apply_takes_only_newer_versions(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.load_rc = 1;
    t.fb.load_value = "OFF";
    t.fb.load_version = 10;
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    /* Newer: taken, observers notified, CHANGED without a peer. */
    assert_int_equal(tern_state_apply(t.st, "ON", 11), 1);
    assert_string_equal(tern_state_value(t.st), "ON");
    assert_int_equal(tern_state_version(t.st), 11);
    tern_engine_tick(t.f.eng, t.f.now);
    expect_notification(&t, &t.f.a, "o1", "ON");
    sfx_expect_none(&t.f);
    const rec_event *e = event(&t, 0, TERN_STATE_CHANGED);
    assert_false(e->has_peer);
    assert_int_equal(e->version, 11);
    assert_string_equal(e->old_value, "OFF");
    assert_string_equal(e->value, "ON");
    /* Equal or older: ignored. */
    assert_int_equal(tern_state_apply(t.st, "OFF", 11), 0);
    assert_int_equal(tern_state_apply(t.st, "OFF", 3), 0);
    assert_string_equal(tern_state_value(t.st), "ON");
    assert_int_equal(tern_state_version(t.st), 11);
    /* Out of order: 14 arrives before 13 and 12; the state never goes
     * back. */
    assert_int_equal(tern_state_apply(t.st, "OFF", 14), 1);
    assert_int_equal(tern_state_apply(t.st, "ON", 13), 0);
    assert_int_equal(tern_state_apply(t.st, "ON", 12), 0);
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_int_equal(tern_state_version(t.st), 14);
    tern_engine_tick(t.f.eng, t.f.now);
    expect_notification(&t, &t.f.a, "o1", "OFF");
    sfx_expect_none(&t.f);
    /* Newer with the same value: taken (the version moves), nobody told. */
    assert_int_equal(tern_state_apply(t.st, "OFF", 15), 1);
    assert_int_equal(tern_state_version(t.st), 15);
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f);
    assert_int_equal(t.rec.n, 2);
    /* Undeclared: refused, FOREIGN, nothing changes. */
    assert_int_equal(tern_state_apply(t.st, "MAYBE", 16), TERN_E_INVAL);
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_int_equal(tern_state_version(t.st), 15);
    e = event(&t, 2, TERN_STATE_FOREIGN);
    assert_string_equal(e->value, "MAYBE");
    assert_int_equal(e->version, 16);
    assert_false(e->has_peer);
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f);
    /* A later declared value is still taken: the foreign one did not move
     * the version. */
    assert_int_equal(tern_state_apply(t.st, "ON", 16), 1);
    assert_string_equal(tern_state_value(t.st), "ON");
    tcx_free(&t);
}

/* refresh hands over a newer value before a request reads the state. */
static void test_rfc7252_s5_8_1_refresh_before_get(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    t.fb.refresh_value = "ON";
    t.fb.refresh_version = 4;
    const tern_msg *m = get(&t, &t.f.a, 1);
    sfx_assert_payload(m, "ON");
    assert_int_equal(tern_state_version(t.st), 4);
    /* A PUT of ON: refreshed first, so it is the value held: no store. */
    m = put(&t, &t.f.a, 2, "ON");
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    assert_int_equal(t.fb.stores, 0);
    tcx_free(&t);
}

/* A PUT waiting while a newer change comes from elsewhere: its outcome,
 * numbered older, does not take the state back; the 2.04 tells the value
 * held. */
static void test_rfc7641_s4_4_async_outcome_older_than_applied(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    send_put(&t, &t.f.b, 2, "p", "ON", 2);
    assert_int_equal(tern_state_apply(t.st, "OFF", 20), 1); /* same value, newer */
    tern_state_stored(t.st, t.fb.later[0].op, 0, 19, NULL, t.f.now);
    const tern_msg *m = sfx_next(&t.f, NULL);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_payload(m, "OFF");
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_int_equal(tern_state_version(t.st), 20);
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f);
    /* Numbered as the change held: not newer either. */
    send_put(&t, &t.f.b, 3, "q", "ON", 2);
    tern_state_stored(t.st, t.fb.later[1].op, 0, 20, NULL, t.f.now);
    m = sfx_next(&t.f, NULL);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_payload(m, "OFF");
    assert_string_equal(tern_state_value(t.st), "OFF");
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f);
    tcx_free(&t);
}

/* ---- tern_state_set_values: a reload ------------------------------------------ */

/* A reload that still declares the value held keeps it: no store, no
 * notification (RFC 7641 4.2 notifies changes only); the new list is what
 * a 4.00 names (RFC 7252 5.5.2). */
static void test_state_set_values_keeps_declared_value(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    static const char *const three[] = {"ON", "OFF", "AUTO"};
    char why[256] = "";
    assert_int_equal(tern_state_set_values(t.st, three, 3, 2, why, sizeof why), 0);
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_string_equal(tern_state_accepted(t.st), "ON, OFF, AUTO");
    assert_int_equal(t.fb.stores, 0);
    assert_int_equal(t.rec.n, 0);
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f);
    /* The new value is accepted by PUT now. */
    const tern_msg *m = put(&t, &t.f.b, 2, "AUTO");
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    expect_notification(&t, &t.f.a, "o1", "AUTO");
    m = put(&t, &t.f.b, 3, "MAYBE");
    sfx_assert_payload(m, "got \"MAYBE\"; accepted: ON, OFF, AUTO");
    tcx_free(&t);
}

/* A reload that drops the value held: initial is stored through the
 * backend and taken, RESET, and observers are notified (RFC 7641 4.2). */
static void test_rfc7641_s4_2_set_values_resets_undeclared_value(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    static const char *const levels[] = {"LOW", "HIGH"};
    char why[256] = "";
    assert_int_equal(tern_state_set_values(t.st, levels, 2, 1, why, sizeof why), 0);
    assert_int_equal(t.fb.stores, 1);
    assert_string_equal(t.fb.stored_value, "HIGH");
    assert_string_equal(t.fb.stored_path, "/alarm");
    assert_string_equal(tern_state_value(t.st), "HIGH");
    assert_int_equal(tern_state_version(t.st), 1);
    assert_string_equal(tern_state_accepted(t.st), "LOW, HIGH");
    assert_int_equal(t.rec.n, 1);
    const rec_event *e = event(&t, 0, TERN_STATE_RESET);
    assert_string_equal(e->old_value, "OFF");
    assert_string_equal(e->value, "HIGH");
    tern_engine_tick(t.f.eng, t.f.now);
    expect_notification(&t, &t.f.a, "o1", "HIGH");
    sfx_expect_none(&t.f);
    sfx_assert_payload(get(&t, &t.f.b, 2), "HIGH");
    assert_int_equal(put(&t, &t.f.b, 3, "ON")->code, TERN_CODE_BAD_REQUEST);
    tcx_free(&t);
}

/* In memory, a reset is taken at once (RESET). */
static void test_state_set_values_in_memory(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, false);
    static const char *const levels[] = {"LOW", "HIGH"};
    char why[256] = "";
    assert_int_equal(tern_state_set_values(t.st, levels, 2, 0, why, sizeof why), 0);
    assert_string_equal(tern_state_value(t.st), "LOW");
    event(&t, 0, TERN_STATE_RESET);
    tcx_free(&t);
}

/* The reset cannot be stored: the backend's error, nothing changed. */
static void test_state_set_values_store_fails_changes_nothing(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    t.fb.store_rc = TERN_E_UNAVAILABLE;
    t.fb.store_why = "redis: down";
    static const char *const levels[] = {"LOW", "HIGH"};
    char why[256] = "";
    assert_int_equal(tern_state_set_values(t.st, levels, 2, 1, why, sizeof why),
                     TERN_E_UNAVAILABLE);
    assert_string_equal(why, "redis: down");
    assert_string_equal(tern_state_value(t.st), "OFF");
    assert_string_equal(tern_state_accepted(t.st), "ON, OFF");
    assert_int_equal(t.rec.n, 0);
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f);
    tcx_free(&t);
}

/* A backend that answers later: the reset value is taken with the outcome. */
static void test_state_set_values_async_reset(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    static const char *const levels[] = {"LOW", "HIGH"};
    char why[256] = "";
    assert_int_equal(tern_state_set_values(t.st, levels, 2, 0, why, sizeof why), 0);
    assert_int_equal(t.fb.n_later, 1);
    assert_string_equal(t.fb.later[0].value, "LOW");
    tern_state_stored(t.st, t.fb.later[0].op, 0, 3, NULL, t.f.now);
    assert_string_equal(tern_state_value(t.st), "LOW");
    assert_int_equal(tern_state_version(t.st), 3);
    tern_engine_tick(t.f.eng, t.f.now);
    expect_notification(&t, &t.f.a, "o1", "LOW");
    sfx_expect_none(&t.f);
    tcx_free(&t);
}

/* Whether value is one of the declared values st lists in accepted. */
static bool is_declared(const tern_state *st, const char *value) {
    const char *acc = tern_state_accepted(st);
    size_t n = strlen(value);
    for (const char *p = acc; *p;) {
        const char *e = strstr(p, ", ");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && memcmp(p, value, n) == 0) return true;
        if (!e) break;
        p = e + 2;
    }
    return false;
}

/* The reset's store fails later: whatever the state does then, it holds
 * one of the values it declares (the premise of a state resource: GET
 * answers a declared value, a PUT of the value GET answered is accepted). */
static void test_state_set_values_async_reset_fails(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    static const char *const levels[] = {"LOW", "HIGH"};
    char why[256] = "";
    assert_int_equal(tern_state_set_values(t.st, levels, 2, 0, why, sizeof why), 0);
    assert_int_equal(t.fb.n_later, 1);
    tern_state_stored(t.st, t.fb.later[0].op, TERN_E_UNAVAILABLE, 0, "redis: down", t.f.now);
    const char *v = tern_state_value(t.st);
    if (!is_declared(t.st, v))
        fail_msg("holds \"%s\", declares \"%s\"", v, tern_state_accepted(t.st));
    const tern_msg *m = get(&t, &t.f.a, 1);
    char held[TERN_STATE_VALUE_MAX];
    assert_true(m->payload_len < sizeof held);
    memcpy(held, m->payload, m->payload_len);
    held[m->payload_len] = '\0';
    t.fb.store_rc = 0;
    m = put(&t, &t.f.a, 2, held);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    tcx_free(&t);
}

/* tern/state.h: a bad declaration is TERN_E_INVAL with a why, and leaves
 * values, value and backend untouched. */
static void test_state_set_values_rejects_bad_definitions(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    static const char *const dup2[] = {"LOW", "LOW"};
    static const char *const empty[] = {"LOW", ""};
    static const char *const with_null[] = {"LOW", NULL};
    char v64[TERN_STATE_VALUE_MAX + 1];
    memset(v64, 'x', TERN_STATE_VALUE_MAX);
    v64[TERN_STATE_VALUE_MAX] = '\0';
    const char *const too_long[] = {"LOW", v64};
    const char *many[TERN_STATE_MAX_VALUES + 1];
    char names[TERN_STATE_MAX_VALUES + 1][8];
    for (int i = 0; i <= TERN_STATE_MAX_VALUES; i++) {
        snprintf(names[i], sizeof names[i], "V%d", i);
        many[i] = names[i];
    }
    struct {
        const char *const *values;
        unsigned n, initial;
    } bad[] = {
        {NULL, 2, 0},      {on_off, 0, 0},   {on_off, 2, 2},      {dup2, 2, 0},
        {empty, 2, 0},     {with_null, 2, 0}, {too_long, 2, 0},
        {many, TERN_STATE_MAX_VALUES + 1, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[256] = "";
        assert_int_equal(tern_state_set_values(t.st, bad[i].values, bad[i].n, bad[i].initial, why,
                                               sizeof why),
                         TERN_E_INVAL);
        assert_true(why[0] != '\0');
        assert_string_equal(tern_state_value(t.st), "OFF");
        assert_string_equal(tern_state_accepted(t.st), "ON, OFF");
    }
    assert_int_equal(t.fb.stores, 0);
    assert_int_equal(t.rec.n, 0);
    /* The limits themselves are fine: 16 values, 63 bytes. */
    char why[256] = "";
    assert_int_equal(tern_state_set_values(t.st, many, TERN_STATE_MAX_VALUES, 0, why, sizeof why),
                     0);
    v64[TERN_STATE_VALUE_MAX - 1] = '\0';
    const char *const longest[] = {"OFF", v64};
    assert_int_equal(tern_state_set_values(t.st, longest, 2, 0, why, sizeof why), 0);
    const tern_msg *m = put(&t, &t.f.a, 1, v64);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    assert_string_equal(tern_state_value(t.st), v64);
    tcx_free(&t);
}

/* ---- RFC 7641 3.2: unserve ---------------------------------------------------- */

static void test_rfc7641_s3_2_unserve_ends_observations_with_4_04(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    observe(&t, &t.f.b, 2, "o2", "OFF");
    tern_resource *r = tern_state_resource(t.st);
    assert_int_equal(tern_resource_observer_count(r), 2);
    tern_state_unserve(t.st, t.f.now);
    assert_null(tern_state_resource(t.st));
    bool seen_a = false, seen_b = false;
    for (int i = 0; i < 2; i++) {
        tern_addr to;
        const tern_msg *m = sfx_next(&t.f, &to);
        assert_int_equal(m->code, TERN_CODE_NOT_FOUND);
        if (tern_addr_equal(&to, &t.f.a)) sfx_assert_token(m, "o1"), seen_a = true;
        else if (tern_addr_equal(&to, &t.f.b)) sfx_assert_token(m, "o2"), seen_b = true;
    }
    assert_true(seen_a && seen_b);
    sfx_expect_none(&t.f);
    assert_int_equal(get(&t, &t.f.c, 3)->code, TERN_CODE_NOT_FOUND);
    /* Its value stays, and it can be served again. */
    assert_string_equal(tern_state_value(t.st), "OFF");
    tern_state_unserve(t.st, t.f.now); /* twice: nothing */
    sfx_expect_none(&t.f);
    assert_int_equal(tern_state_serve(t.st, t.f.srv), 0);
    assert_int_equal(tern_state_serve(t.st, t.f.srv), TERN_E_STATE);
    sfx_assert_payload(get(&t, &t.f.c, 4), "OFF");
    tcx_free(&t);
}

static void test_rfc7252_s5_2_2_unserve_still_answers_waiting_put(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    send_put(&t, &t.f.b, 0x70, "w", "ON", 2);
    sfx_advance(&t.f, 1000);
    assert_int_equal(sfx_next(&t.f, NULL)->code, TERN_CODE_EMPTY);
    tern_state_unserve(t.st, t.f.now);
    sfx_expect_none(&t.f);
    tern_state_stored(t.st, t.fb.later[0].op, 0, 1, NULL, t.f.now);
    const tern_msg *m = sfx_next(&t.f, NULL);
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_token(m, "w");
    sfx_assert_payload(m, "ON");
    assert_string_equal(tern_state_value(t.st), "ON");
    assert_int_equal(tern_state_version(t.st), 1);
    sfx_ack(&t.f, &t.f.b, m, TERN_TYPE_ACK);
    tern_engine_tick(t.f.eng, t.f.now);
    sfx_expect_none(&t.f);
    tern_state_free(t.st);
    assert_int_equal(t.fb.forgets, 1);
    assert_ptr_equal(t.fb.forgot, t.st);
    t.st = NULL;
    tcx_free(&t);
}

/* tern/state.h: a state whose server was freed (a reload that makes a new
 * engine) may be served on another, without tern_state_unserve - however
 * often that happens, and wherever the allocator puts the new server (here
 * glibc gives a later one the address of an earlier one). */
static void test_state_serve_again_after_server_freed(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    assert_int_equal(put(&t, &t.f.b, 2, "ON")->code, TERN_CODE_CHANGED);
    const char *v = "ON";
    for (int round = 0; round < 4; round++) {
        sfx_free(&t.f); /* the server goes, the state stays */
        sfx_init(&t.f, NULL);
        int rc = tern_state_serve(t.st, t.f.srv);
        if (rc != 0) fail_msg("round %d: serving on the new server: %s", round, tern_strerror(rc));
        assert_int_equal(tern_state_serve(t.st, t.f.srv), TERN_E_STATE);
        sfx_assert_payload(get(&t, &t.f.a, 3), v);
        observe(&t, &t.f.a, 4, "o2", v);
        v = strcmp(v, "ON") == 0 ? "OFF" : "ON";
        assert_int_equal(put(&t, &t.f.b, 5, v)->code, TERN_CODE_CHANGED);
        expect_notification(&t, &t.f.a, "o2", v);
    }
    tcx_free(&t);
}

/* A PUT waiting for the backend when its server is freed (a reload): the
 * outcome, when it comes, is taken (the backend kept it) and answers
 * nothing - not on the freed server, and not on the new one, which never
 * saw that request. A PUT made on the new server meanwhile is answered
 * with its own outcome. */
static void test_rfc7252_s5_2_2_waiting_put_outlives_its_server(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    send_put(&t, &t.f.b, 1, "w", "ON", 2);
    assert_int_equal(t.fb.n_later, 1);
    sfx_free(&t.f);
    sfx_init(&t.f, NULL);
    assert_int_equal(tern_state_serve(t.st, t.f.srv), 0);
    /* The new server's first request: the endpoint may well give it the
     * id the old PUT had, and the new server the old one's address. */
    send_put(&t, &t.f.c, 3, "n", "ON", 2);
    assert_int_equal(t.fb.n_later, 2);
    sfx_expect_none(&t.f);
    observe(&t, &t.f.a, 2, "o1", "OFF");
    /* The old PUT's outcome: taken, observers told, no answer to anyone. */
    tern_state_stored(t.st, t.fb.later[0].op, 0, 1, NULL, t.f.now);
    assert_string_equal(tern_state_value(t.st), "ON");
    tern_engine_tick(t.f.eng, t.f.now);
    expect_notification(&t, &t.f.a, "o1", "ON");
    sfx_expect_none(&t.f);
    /* The new PUT's outcome answers the new PUT. */
    tern_state_stored(t.st, t.fb.later[1].op, 0, 2, NULL, t.f.now);
    tern_addr to;
    const tern_msg *m = sfx_next(&t.f, &to);
    assert_true(tern_addr_equal(&to, &t.f.c));
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    sfx_assert_token(m, "n");
    assert_int_equal(m->mid, 3); /* piggybacked: within the ACK delay */
    assert_int_equal(tern_state_version(t.st), 2);
    sfx_expect_none(&t.f);
    tcx_free(&t);
}

/* The server gives up a deferred answer (deferred_timeout_ms: 5.03 "no
 * answer in time"); an outcome after that answers nothing more. */
static void test_rfc7252_s5_2_2_outcome_after_deferred_timeout(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.deferred_timeout_ms = 5000;
    tcx t;
    tcx_init(&t, &cfg);
    t.fb.store_rc = TERN_STATE_LATER;
    tcx_make(&t, true);
    observe(&t, &t.f.a, 1, "o1", "OFF");
    send_put(&t, &t.f.b, 2, "w", "ON", 2);
    sfx_advance(&t.f, 5000);
    assert_int_equal(sfx_next(&t.f, NULL)->code, TERN_CODE_EMPTY);
    const tern_msg *m = sfx_next(&t.f, NULL);
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    sfx_assert_token(m, "w");
    sfx_ack(&t.f, &t.f.b, m, TERN_TYPE_ACK);
    assert_string_equal(tern_state_value(t.st), "OFF");
    tern_state_stored(t.st, t.fb.later[0].op, 0, 1, NULL, t.f.now);
    /* The backend has it: the state follows the backend, observers hear
     * of it, the PUT is not answered twice. */
    assert_string_equal(tern_state_value(t.st), "ON");
    tern_engine_tick(t.f.eng, t.f.now);
    expect_notification(&t, &t.f.a, "o1", "ON");
    sfx_expect_none(&t.f);
    /* The server's deferred slots (16) are all free again. */
    for (int i = 0; i < 16; i++) {
        tern_addr peer = sfx_addr((uint8_t)(20 + i));
        send_put(&t, &peer, (uint16_t)(10 + i), "x", "OFF", 3);
    }
    sfx_expect_none(&t.f);
    assert_int_equal(t.fb.n_later, 17);
    tcx_free(&t);
}

/* ---- tern_state_new: bad definitions -------------------------------------------- */

/* tern/state.h: TERN_E_INVAL for no path, a relative one, no values, too
 * many, two alike, an initial out of range, a value of 64 bytes or more,
 * a backend without store; *out is NULL and why says why. */
static void test_state_new_rejects_bad_definitions(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    static const char *const dup2[] = {"ON", "ON"};
    char v64[TERN_STATE_VALUE_MAX + 1];
    memset(v64, 'x', TERN_STATE_VALUE_MAX);
    v64[TERN_STATE_VALUE_MAX] = '\0';
    const char *const too_long[] = {"ON", v64};
    static const tern_state_backend_ops no_store = {.load = fb_load};
    tern_state_backend storeless = {.ops = &no_store};
    tern_state_backend opsless = {.ops = NULL};
    tern_state_def base = alarm_def(&t, false);
    tern_state_def defs[10];
    for (size_t i = 0; i < 10; i++) defs[i] = base;
    defs[0].path = NULL;
    defs[1].path = "alarm"; /* not absolute */
    defs[2].n_values = 0;
    defs[3].values = dup2;
    defs[4].initial = 2;
    defs[5].values = too_long;
    defs[6].values = NULL;
    defs[7].n_values = TERN_STATE_MAX_VALUES + 1;
    defs[8].backend = &storeless;
    defs[9].backend = &opsless;
    for (size_t i = 0; i < 10; i++) {
        char why[256] = "";
        tern_state *st = (tern_state *)&t;
        if (tern_state_new(&st, &defs[i], why, sizeof why) != TERN_E_INVAL)
            fail_msg("definition %zu accepted", i);
        assert_null(st);
        assert_true(why[0] != '\0');
    }
    assert_int_equal(tern_state_new(NULL, &base, NULL, 0), TERN_E_INVAL);
    tern_state *st = (tern_state *)&t;
    char why[256] = "";
    assert_int_equal(tern_state_new(&st, NULL, why, sizeof why), TERN_E_INVAL);
    assert_null(st);
    /* 63 bytes is the longest value. */
    v64[TERN_STATE_VALUE_MAX - 1] = '\0';
    assert_int_equal(tern_state_new(&st, &base, why, sizeof why), 0);
    tern_state_free(st);
    const char *const longest[] = {"ON", v64};
    tern_state_def ok = base;
    ok.values = longest;
    assert_int_equal(tern_state_new(&st, &ok, why, sizeof why), 0);
    char want[TERN_STATE_VALUE_MAX + 8];
    snprintf(want, sizeof want, "ON, %s", v64);
    assert_string_equal(tern_state_accepted(st), want);
    tern_state_free(st);
    sfx_free(&t.f);
}

/* ---- served as a resource: discovery and notification Max-Age ----------------- */

static void test_rfc6690_s4_discovery_max_age_notify_con(void **state) {
    (void)state;
    tcx t;
    tcx_init(&t, NULL);
    tern_state_def def = alarm_def(&t, true);
    def.max_age_s = 30;
    def.notify_con = true;
    tcx_serve_def(&t, &def);
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, 1, "d", "/.well-known/core");
    const tern_msg *m = sfx_ask(&t.f, &t.f.a, &b);
    assert_int_equal(m->code, TERN_CODE_CONTENT);
    assert_true(sfx_payload_contains(m, "</alarm>;rt=\"alarm\";ct=0;obs"));
    observe(&t, &t.f.a, 2, "o1", "OFF");
    assert_int_equal(put(&t, &t.f.b, 3, "ON")->code, TERN_CODE_CHANGED);
    m = expect_notification(&t, &t.f.a, "o1", "ON");
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 30);
    assert_int_equal(m->type, TERN_TYPE_CON); /* notify_con: every one */
    sfx_ack(&t.f, &t.f.a, m, TERN_TYPE_ACK);
    tcx_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7252_s5_8_1_get_answers_the_value_as_text),
        cmocka_unit_test(test_rfc7252_s5_8_1_get_answers_the_loaded_value),
        cmocka_unit_test(test_state_new_load_none_starts_from_initial),
        cmocka_unit_test(test_state_new_load_undeclared_value_is_state_error),
        cmocka_unit_test(test_state_new_load_error_passes_through),
        cmocka_unit_test(test_rfc7252_s5_8_3_minimal_backend),
        cmocka_unit_test(test_rfc7252_s5_8_3_put_piggybacked_2_04_and_rfc7641_s4_2_notified),
        cmocka_unit_test(test_rfc7252_s5_8_3_put_in_memory),
        cmocka_unit_test(test_rfc7252_s5_10_3_put_content_format),
        cmocka_unit_test(test_rfc7252_s5_5_2_put_undeclared_is_4_00_naming_the_values),
        cmocka_unit_test(test_rfc7252_s5_5_2_binary_payload_quoted),
        cmocka_unit_test(test_rfc7641_s4_2_put_of_value_held_not_stored_not_notified),
        cmocka_unit_test(test_rfc7641_s4_2_shared_backend_put_of_value_held_is_stored),
        cmocka_unit_test(test_rfc7252_s5_9_3_4_store_unavailable_is_5_03_max_age),
        cmocka_unit_test(test_rfc7252_s5_9_3_1_store_failure_is_5_00),
        cmocka_unit_test(test_rfc7252_s5_6_1_backend_unavailable),
        cmocka_unit_test(test_rfc7252_s5_2_2_async_store_separate_response),
        cmocka_unit_test(test_rfc7252_s5_2_1_async_store_quick_is_piggybacked),
        cmocka_unit_test(test_rfc7252_s5_9_3_4_async_store_fails),
        cmocka_unit_test(test_rfc7252_s5_9_3_4_too_many_waiting),
        cmocka_unit_test(test_rfc7641_s4_4_async_outcomes_out_of_order),
        cmocka_unit_test(test_rfc7252_s5_9_3_4_server_deferred_table_full),
        cmocka_unit_test(test_state_stored_unknown_op_ignored),
        cmocka_unit_test(test_rfc7641_s4_4_apply_takes_only_newer_versions),
        cmocka_unit_test(test_rfc7252_s5_8_1_refresh_before_get),
        cmocka_unit_test(test_rfc7641_s4_4_async_outcome_older_than_applied),
        cmocka_unit_test(test_state_set_values_keeps_declared_value),
        cmocka_unit_test(test_rfc7641_s4_2_set_values_resets_undeclared_value),
        cmocka_unit_test(test_state_set_values_in_memory),
        cmocka_unit_test(test_state_set_values_store_fails_changes_nothing),
        cmocka_unit_test(test_state_set_values_async_reset),
        cmocka_unit_test(test_state_set_values_async_reset_fails),
        cmocka_unit_test(test_state_set_values_rejects_bad_definitions),
        cmocka_unit_test(test_rfc7641_s3_2_unserve_ends_observations_with_4_04),
        cmocka_unit_test(test_rfc7252_s5_2_2_unserve_still_answers_waiting_put),
        cmocka_unit_test(test_state_serve_again_after_server_freed),
        cmocka_unit_test(test_rfc7252_s5_2_2_waiting_put_outlives_its_server),
        cmocka_unit_test(test_rfc7252_s5_2_2_outcome_after_deferred_timeout),
        cmocka_unit_test(test_state_new_rejects_bad_definitions),
        cmocka_unit_test(test_rfc6690_s4_discovery_max_age_notify_con),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
