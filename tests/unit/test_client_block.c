/* SPDX-License-Identifier: BSD-2-Clause */
/* test_client_block.c - block-wise request payloads from the client side:
 * RFC 7959 sections 2.2 (Block1 bytes), 2.3 (block size negotiation), 2.5
 * (Block1 transfer, 2.31 Continue), 2.9.2 (4.08), 2.9.3 (4.13) and 4
 * (Size1), and the response side: Block2 reassembly for the caller (section
 * 2.4, tern_client_request_body), on a fake clock with the server's answers
 * written by hand. */
#include "test_client_fixture.h"

#define BODY_LEN 3000u
static uint8_t body[BODY_LEN];

static void body_fill(void) {
    for (size_t i = 0; i < BODY_LEN; i++) body[i] = (uint8_t)((i * 7u + i / 251u) & 0xFF);
}

/* An answer to req (piggybacked in the ACK when type is ACK) with optional
 * Block1, Size1 and Block2 values (< 0: absent). */
static int b_answer(fx *f, const tern_msg *req, tern_type type, uint8_t code, uint16_t mid,
                    long block1, long size1, long block2) {
    tern_msgb b;
    uint8_t buf[256];
    tern_msgb_init(&b, type, code, type == TERN_TYPE_ACK ? req->mid : mid);
    assert_int_equal(tern_msgb_set_token(&b, req->token, req->token_len), 0);
    if (block1 >= 0) assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_BLOCK1, (uint32_t)block1), 0);
    if (block2 >= 0) assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, (uint32_t)block2), 0);
    if (size1 >= 0) assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_SIZE1, (uint32_t)size1), 0);
    int len = tern_msgb_encode(&b, buf, sizeof buf);
    assert_true(len > 0);
    int rc = tern_endpoint_recv(f->ep, &f->server, buf, (size_t)len, f->now);
    fx_drain(f);
    tern_client_tick(f->cli, f->now);
    fx_drain(f);
    return rc;
}

/* Block1 value: NUM << 4 | M << 3 | SZX (section 2.2). */
static long b1(uint32_t num, bool more, uint8_t szx) {
    return (long)((num << 4) | (more ? 8u : 0u) | szx);
}

/* The raw bytes of option num in m, as hex ("" when absent). */
static const char *opt_hex(const tern_msg *m, uint16_t num, char *out, size_t cap) {
    tern_opt o;
    out[0] = '\0';
    if (tern_msg_find_opt(m, num, &o) < 0) return out;
    for (size_t i = 0; i < o.len && 2 * i + 2 < cap; i++)
        snprintf(out + 2 * i, cap - 2 * i, "%02x", o.val[i]);
    return out;
}

/* Check a sent block: Block1 NUM/M/SZX and its slice of the body. */
static void check_block(const tern_msg *m, uint32_t num, bool more, uint8_t szx, size_t off,
                        size_t len) {
    tern_block blk;
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_PUT);
    assert_int_equal(tern_msg_get_block(m, TERN_OPT_BLOCK1, &blk), 0);
    assert_int_equal(blk.num, num);
    assert_int_equal(blk.more, more);
    assert_int_equal(blk.szx, szx);
    assert_int_equal(m->payload_len, len);
    assert_memory_equal(m->payload, body + off, len);
    char s[32];
    assert_string_equal(fx_opt_str(m, TERN_OPT_URI_PATH, s, sizeof s), "big");
}

static tern_client_op_id start_put(fx *f, size_t len, uint32_t timeout_ms) {
    body_fill();
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, "big");
    tern_msgb_set_payload(&b, body, len);
    tern_client_op_id id = 0;
    assert_int_equal(tern_client_request(f->cli, &f->server, &b, timeout_ms, fx_cb, f, f->now, &id),
                     0);
    fx_drain(f);
    return id;
}

/* ---- section 2.5: the transfer ----------------------------------------------- */

static void test_rfc7959_s2_5_put_3000_bytes_as_three_blocks(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id = start_put(&f, BODY_LEN, 0);
    assert_int_equal(f.n_out, 1);
    char h[32];
    tern_msg m0 = fx_sent(&f, 0);
    /* Block1 0/1/1024: NUM 0, M 1, SZX 6 -> 0x0e; Size1 3000 -> 0x0bb8. */
    assert_string_equal(opt_hex(&m0, TERN_OPT_BLOCK1, h, sizeof h), "0e");
    assert_string_equal(opt_hex(&m0, TERN_OPT_SIZE1, h, sizeof h), "0bb8");
    check_block(&m0, 0, true, 6, 0, 1024);
    assert_int_equal(b_answer(&f, &m0, TERN_TYPE_ACK, TERN_CODE_CONTINUE, 0, b1(0, true, 6), -1, -1),
                     0);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(f.n_out, 2);
    tern_msg m1 = fx_sent(&f, 1);
    /* Block1 1/1/1024 -> 0x1e; Size1 only on block 0. */
    assert_string_equal(opt_hex(&m1, TERN_OPT_BLOCK1, h, sizeof h), "1e");
    assert_int_equal(tern_msg_count_opt(&m1, TERN_OPT_SIZE1), 0);
    check_block(&m1, 1, true, 6, 1024, 1024);
    /* Each block is a request of its own, with a fresh token and MID. */
    assert_true(m1.token_len == m0.token_len && memcmp(m1.token, m0.token, m0.token_len) != 0);
    assert_true(m1.mid != m0.mid);
    b_answer(&f, &m1, TERN_TYPE_ACK, TERN_CODE_CONTINUE, 0, b1(1, true, 6), -1, -1);
    assert_int_equal(f.n_out, 3);
    tern_msg m2 = fx_sent(&f, 2);
    /* Block1 2/0/1024 -> 0x26: the last, 952 bytes. */
    assert_string_equal(opt_hex(&m2, TERN_OPT_BLOCK1, h, sizeof h), "26");
    check_block(&m2, 2, false, 6, 2048, 952);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(tern_client_active(f.cli), 1);
    /* The final answer (here with a Block2 of its own, delivered as is). */
    b_answer(&f, &m2, TERN_TYPE_ACK, TERN_CODE_CHANGED, 0, b1(2, false, 6), -1, b1(0, true, 2));
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, 0);
    assert_int_equal(f.ev[0].code, TERN_CODE_CHANGED);
    assert_false(f.ev[0].observing);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_advance(&f, 200000);
    assert_int_equal(f.n_out, 3);
    assert_int_equal(f.n_events, 1);
    fx_done(&f);
}

static void test_rfc7959_s2_5_late_answer_to_earlier_block_rejected(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    start_put(&f, BODY_LEN, 0);
    tern_msg m0 = fx_sent(&f, 0);
    /* The 2.31 comes as a separate CON response, after an empty ACK. */
    assert_int_equal(
        fx_recv(&f, &f.server, TERN_TYPE_ACK, TERN_CODE_EMPTY, m0.mid, NULL, 0, -1, -1, NULL), 0);
    b_answer(&f, &m0, TERN_TYPE_CON, TERN_CODE_CONTINUE, 0x5000, b1(0, true, 6), -1, -1);
    assert_int_equal(fx_sent_to(&f, &f.server), 3); /* block 0, our ACK, block 1 */
    tern_msg m1 = fx_sent(&f, -1);
    check_block(&m1, 1, true, 6, 1024, 1024);
    /* A second (non-duplicate) answer with block 0's token no longer
     * matches anything (RFC 7252 section 5.3.2): RST, no second block 1. */
    b_answer(&f, &m0, TERN_TYPE_CON, TERN_CODE_CONTINUE, 0x5001, b1(0, true, 6), -1, -1);
    assert_int_equal(fx_sent(&f, -1).type, TERN_TYPE_RST);
    assert_int_equal(f.n_events, 0);
    fx_done(&f);
}

/* ---- section 2.3: block size negotiation ------------------------------------- */

static void test_rfc7959_s2_5_server_shrinks_block_size(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    start_put(&f, BODY_LEN, 0);
    tern_msg m = fx_sent(&f, 0);
    check_block(&m, 0, true, 6, 0, 1024);
    /* 2.31 with Block1 0/1/256: the server keeps the 1024 bytes it got and
     * wants 256 from now on, so the next block is NUM 4 (1024 / 256). */
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_CONTINUE, 0, b1(0, true, 4), -1, -1);
    size_t off = 1024;
    for (uint32_t num = 4; off < BODY_LEN; num++) {
        assert_int_equal(f.n_out, num - 2); /* block 0, then NUM 4, 5, ... */
        m = fx_sent(&f, -1);
        size_t len = BODY_LEN - off < 256 ? BODY_LEN - off : 256;
        bool more = off + len < BODY_LEN;
        check_block(&m, num, more, 4, off, len);
        assert_int_equal(tern_msg_count_opt(&m, TERN_OPT_SIZE1), 0);
        off += len;
        b_answer(&f, &m, TERN_TYPE_ACK, more ? TERN_CODE_CONTINUE : TERN_CODE_CHANGED, 0,
                 b1(num, more, 4), -1, -1);
        assert_int_equal(f.n_events, more ? 0u : 1u);
    }
    assert_int_equal(f.n_out, 9); /* 1024 + 7 * 256 + 184 */
    assert_int_equal(f.ev[0].code, TERN_CODE_CHANGED);
    assert_int_equal(f.ev[0].err, 0);
    fx_done(&f);
}

static void test_rfc7959_s2_5_options_leave_less_room(void **state) {
    (void)state;
    fx f;
    tern_client_config cc;
    tern_client_config_default(&cc);
    cc.max_request_size = 300;
    fx_init_cfg(&f, &cc);
    body_fill();
    tern_msgb b;
    static char path[101];
    memset(path, 'p', 100);
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, path);
    tern_msgb_set_payload(&b, body, 1000);
    assert_int_equal(tern_client_request(f.cli, &f.server, &b, 0, fx_cb, &f, f.now, NULL), 0);
    assert_int_equal(fx_drain(&f), 1);
    /* 300 - header, token, 102-byte Uri-Path, Block1, Size1 and marker
     * leaves less than 256: blocks of 128 (SZX 3). */
    tern_msg m = fx_sent(&f, 0);
    tern_block blk;
    assert_int_equal(tern_msg_get_block(&m, TERN_OPT_BLOCK1, &blk), 0);
    assert_int_equal(blk.szx, 3);
    assert_true(blk.more);
    assert_int_equal(m.payload_len, 128);
    assert_true(f.out_len[0] <= 300);
    fx_done(&f);
}

/* ---- section 2.9.3: 4.13 ------------------------------------------------------- */

static void test_rfc7959_s2_9_3_too_large_with_size1_restarts_smaller(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    start_put(&f, BODY_LEN, 0);
    tern_msg m = fx_sent(&f, 0);
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_CONTINUE, 0, b1(0, true, 6), -1, -1);
    m = fx_sent(&f, 1);
    check_block(&m, 1, true, 6, 1024, 1024);
    /* 4.13 Size1 600: a block of 1024 is too much; 512 is the largest that
     * fits, and the transfer starts over at block 0 with Size1 again. */
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_REQUEST_ENTITY_TOO_LARGE, 0, -1, 600, -1);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(f.n_out, 3);
    m = fx_sent(&f, 2);
    check_block(&m, 0, true, 5, 0, 512);
    char h[16];
    assert_string_equal(opt_hex(&m, TERN_OPT_SIZE1, h, sizeof h), "0bb8");
    /* 4.13 with Block1 SZX 2: again from 0, at 64 bytes. */
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_REQUEST_ENTITY_TOO_LARGE, 0, b1(0, false, 2), -1,
             -1);
    m = fx_sent(&f, 3);
    check_block(&m, 0, true, 2, 0, 64);
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_CONTINUE, 0, b1(0, true, 2), -1, -1);
    m = fx_sent(&f, 4);
    check_block(&m, 1, true, 2, 64, 64);
    assert_int_equal(f.n_events, 0);
    fx_done(&f);
}

static void test_rfc7959_s2_9_3_too_large_without_smaller_size_is_final(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    start_put(&f, BODY_LEN, 0);
    tern_msg m = fx_sent(&f, 0);
    /* Size1 2000 < 3000: the body as a whole is too large; no block size
     * can help, so the 4.13 is the answer. */
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_REQUEST_ENTITY_TOO_LARGE, 0, -1, 2000, -1);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, 0);
    assert_int_equal(f.ev[0].code, TERN_CODE_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_advance(&f, 200000);
    assert_int_equal(f.n_out, 1);
    fx_done(&f);
}

/* ---- section 2.9.2: 4.08 ------------------------------------------------------- */

static void test_rfc7959_s2_9_2_incomplete_ends_with_the_error(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id = start_put(&f, BODY_LEN, 0);
    tern_msg m = fx_sent(&f, 0);
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_CONTINUE, 0, b1(0, true, 6), -1, -1);
    m = fx_sent(&f, 1);
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_REQUEST_ENTITY_INCOMPLETE, 0, -1, -1, -1);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, 0);
    assert_int_equal(f.ev[0].code, TERN_CODE_REQUEST_ENTITY_INCOMPLETE);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_advance(&f, 200000);
    assert_int_equal(f.n_out, 2);
    assert_int_equal(f.n_events, 1);
    fx_done(&f);
}

/* ---- one request for the caller: cancel and deadline ---------------------------- */

static void test_rfc7959_s2_5_cancel_mid_transfer_stops_sending(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id = start_put(&f, BODY_LEN, 0);
    tern_msg m = fx_sent(&f, 0);
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_CONTINUE, 0, b1(0, true, 6), -1, -1);
    assert_int_equal(f.n_out, 2);
    tern_msg m1 = fx_sent(&f, 1);
    assert_int_equal(tern_client_cancel(f.cli, id, f.now), 0);
    assert_int_equal(tern_client_active(f.cli), 0);
    /* No retransmission of block 1, no block 2, no callback. */
    fx_advance(&f, 200000);
    assert_int_equal(f.n_out, 2);
    /* The server's late 2.31 for block 1 matches nothing. */
    b_answer(&f, &m1, TERN_TYPE_CON, TERN_CODE_CONTINUE, 0x6000, b1(1, true, 6), -1, -1);
    assert_int_equal(fx_sent(&f, -1).type, TERN_TYPE_RST);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(tern_client_cancel(f.cli, id, f.now), TERN_E_NOTFOUND);
    fx_done(&f);
}

static void test_rfc7959_s2_5_deadline_covers_whole_transfer(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    uint64_t t0 = f.now;
    tern_client_op_id id = start_put(&f, BODY_LEN, 5000);
    for (int i = 0; i < 2; i++) {
        fx_run_until(&f, f.now + 2000);
        tern_msg m = fx_sent(&f, -1);
        b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_CONTINUE, 0, b1((uint32_t)i, true, 6), -1, -1);
    }
    /* Block 2 went out at t0 + 4000; each block was answered in time, but
     * the transfer as a whole ends at t0 + 5000. */
    tern_msg last = fx_sent(&f, -1);
    check_block(&last, 2, false, 6, 2048, 952);
    fx_run_until(&f, t0 + 4999);
    assert_int_equal(f.n_events, 0);
    fx_run_until(&f, t0 + 5000);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, TERN_E_TIMEOUT);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

/* ---- no regression: what fits goes in one datagram ----------------------------- */

static void test_rfc7959_s2_5_payload_that_fits_has_no_block1(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id = start_put(&f, 1000, 0);
    assert_int_equal(f.n_out, 1);
    tern_msg m = fx_sent(&f, 0);
    assert_int_equal(tern_msg_count_opt(&m, TERN_OPT_BLOCK1), 0);
    assert_int_equal(tern_msg_count_opt(&m, TERN_OPT_SIZE1), 0);
    assert_int_equal(m.payload_len, 1000);
    assert_memory_equal(m.payload, body, 1000);
    b_answer(&f, &m, TERN_TYPE_ACK, TERN_CODE_CHANGED, 0, -1, -1, -1);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].code, TERN_CODE_CHANGED);
    fx_done(&f);
}

/* ---- RFC 7959 section 2.4: Block2, the whole body for the caller ------------- */

#define B2_LEN 2500u
static uint8_t b2_rep[2][B2_LEN]; /* two versions of one resource */
static uint8_t b2_buf[4096];

/* What the last callback said about the body. */
static struct {
    size_t len;
    const uint8_t *ptr;
    bool block2;
    tern_block blk;
    char etag[8];
} b2_got;

static void b2_cb(void *ctx, tern_client *cli, tern_client_op_id id, const tern_client_event *ev,
                  uint64_t now_ms) {
    memset(&b2_got, 0, sizeof b2_got);
    if (ev->resp) {
        b2_got.len = ev->resp->payload_len;
        b2_got.ptr = ev->resp->payload;
        b2_got.block2 = tern_msg_get_block(ev->resp, TERN_OPT_BLOCK2, &b2_got.blk) == 0;
        fx_opt_str(ev->resp, TERN_OPT_ETAG, b2_got.etag, sizeof b2_got.etag);
    }
    fx_cb(ctx, cli, id, ev, now_ms);
}

static void b2_fill(void) {
    for (size_t i = 0; i < B2_LEN; i++) {
        b2_rep[0][i] = (uint8_t)((i * 13u + i / 97u) & 0xFF);
        b2_rep[1][i] = (uint8_t)(b2_rep[0][i] ^ 0x5A);
    }
    memset(b2_buf, 0, sizeof b2_buf);
}

static tern_client_op_id start_get_body(fx *f, size_t cap, long block2) {
    b2_fill();
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "big");
    if (block2 >= 0) assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, (uint32_t)block2), 0);
    tern_client_op_id id = 0;
    assert_int_equal(tern_client_request_body(f->cli, &f->server, &b, b2_buf, cap, 0, b2_cb, f,
                                              f->now, &id),
                     0);
    fx_drain(f);
    return id;
}

/* The piggybacked 2.05 to req: block2 < 0 for none, etag NULL for none,
 * payload rep[off .. off + len). */
static void b2_answer(fx *f, const tern_msg *req, uint8_t code, long block2, const char *etag,
                      int rep, size_t off, size_t len) {
    tern_msgb b;
    uint8_t buf[1400];
    tern_msgb_init(&b, TERN_TYPE_ACK, code, req->mid);
    assert_int_equal(tern_msgb_set_token(&b, req->token, req->token_len), 0);
    if (etag) assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_ETAG, etag), 0);
    assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_CONTENT_FORMAT, TERN_CF_OCTET_STREAM), 0);
    if (block2 >= 0) assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, (uint32_t)block2), 0);
    if (len) tern_msgb_set_payload(&b, b2_rep[rep] + off, len);
    int n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(tern_endpoint_recv(f->ep, &f->server, buf, (size_t)n, f->now), 0);
    fx_drain(f);
    tern_client_tick(f->cli, f->now);
    fx_drain(f);
}

/* A request for a later block: the same GET with Block2 NUM/0/SZX, no
 * payload, no Observe (section 2.4: M is 0 in a request). */
static void check_get_block(const tern_msg *m, uint32_t num, uint8_t szx) {
    tern_block blk;
    assert_int_equal(m->type, TERN_TYPE_CON);
    assert_int_equal(m->code, TERN_CODE_GET);
    assert_int_equal(tern_msg_get_block(m, TERN_OPT_BLOCK2, &blk), 0);
    assert_int_equal(blk.num, num);
    assert_false(blk.more);
    assert_int_equal(blk.szx, szx);
    assert_int_equal(m->payload_len, 0);
    assert_int_equal(tern_msg_count_opt(m, TERN_OPT_OBSERVE), 0);
    char s[32];
    assert_string_equal(fx_opt_str(m, TERN_OPT_URI_PATH, s, sizeof s), "big");
}

static void test_rfc7959_s2_4_get_2500_bytes_in_three_blocks_delivered_once(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id = start_get_body(&f, sizeof b2_buf, -1);
    assert_int_equal(f.n_out, 1);
    tern_msg m0 = fx_sent(&f, 0);
    assert_int_equal(tern_msg_count_opt(&m0, TERN_OPT_BLOCK2), 0);
    b2_answer(&f, &m0, TERN_CODE_CONTENT, b1(0, true, 6), "v1", 0, 0, 1024);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(f.n_out, 2);
    tern_msg m1 = fx_sent(&f, 1);
    check_get_block(&m1, 1, 6);
    char h[8];
    /* Block2 1/0/1024: NUM 1, M 0, SZX 6 -> 0x16. */
    assert_string_equal(opt_hex(&m1, TERN_OPT_BLOCK2, h, sizeof h), "16");
    /* A fresh token per block, as for Block1. */
    assert_true(memcmp(m1.token, m0.token, m0.token_len) != 0);
    b2_answer(&f, &m1, TERN_CODE_CONTENT, b1(1, true, 6), "v1", 0, 1024, 1024);
    assert_int_equal(f.n_events, 0);
    tern_msg m2 = fx_sent(&f, 2);
    check_get_block(&m2, 2, 6);
    b2_answer(&f, &m2, TERN_CODE_CONTENT, b1(2, false, 6), "v1", 0, 2048, 452);
    /* One event: the last block's code and options, the whole body in the
     * caller's buffer. */
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, 0);
    assert_int_equal(f.ev[0].code, TERN_CODE_CONTENT);
    assert_false(f.ev[0].observing);
    assert_int_equal(b2_got.len, B2_LEN);
    assert_ptr_equal(b2_got.ptr, b2_buf);
    assert_memory_equal(b2_buf, b2_rep[0], B2_LEN);
    assert_true(b2_got.block2);
    assert_int_equal(b2_got.blk.num, 2);
    assert_false(b2_got.blk.more);
    assert_string_equal(b2_got.etag, "v1");
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_advance(&f, 200000);
    assert_int_equal(f.n_out, 3);
    assert_int_equal(f.n_events, 1);
    fx_done(&f);
}

static void test_rfc7959_s2_4_server_uses_smaller_block_size_than_asked(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    /* Early negotiation: the caller asks for 1024-byte blocks (Block2
     * 0/0/6); the server answers in 512 (SZX 5), and every later request
     * must use 512 (section 2.4). */
    start_get_body(&f, sizeof b2_buf, b1(0, false, 6));
    tern_msg m = fx_sent(&f, 0);
    check_get_block(&m, 0, 6);
    size_t off = 0;
    for (uint32_t num = 0; off < B2_LEN; num++) {
        assert_int_equal(f.n_out, num + 1);
        m = fx_sent(&f, -1);
        if (num > 0) check_get_block(&m, num, 5);
        size_t len = B2_LEN - off < 512 ? B2_LEN - off : 512;
        bool more = off + len < B2_LEN;
        b2_answer(&f, &m, TERN_CODE_CONTENT, b1(num, more, 5), NULL, 0, off, len);
        off += len;
        assert_int_equal(f.n_events, more ? 0u : 1u);
    }
    assert_int_equal(f.n_out, 5); /* 4 * 512 + 452 */
    assert_int_equal(f.ev[0].err, 0);
    assert_int_equal(b2_got.len, B2_LEN);
    assert_memory_equal(b2_buf, b2_rep[0], B2_LEN);
    fx_done(&f);
}

static void test_rfc7959_s2_4_etag_change_restarts_from_block_0(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    start_get_body(&f, sizeof b2_buf, -1);
    tern_msg m = fx_sent(&f, 0);
    b2_answer(&f, &m, TERN_CODE_CONTENT, b1(0, true, 6), "v1", 0, 0, 1024);
    m = fx_sent(&f, 1);
    check_get_block(&m, 1, 6);
    /* Block 1 comes from another representation (ETag v2, RFC 7252 section
     * 5.10.6): the 1024 bytes of v1 are worthless; start over at block 0,
     * keeping the server's block size. */
    b2_answer(&f, &m, TERN_CODE_CONTENT, b1(1, true, 6), "v2", 1, 1024, 1024);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(f.n_out, 3);
    m = fx_sent(&f, 2);
    check_get_block(&m, 0, 6);
    for (uint32_t num = 0; num < 3; num++) {
        if (num) m = fx_sent(&f, -1);
        if (num) check_get_block(&m, num, 6);
        size_t len = num < 2 ? 1024 : 452;
        b2_answer(&f, &m, TERN_CODE_CONTENT, b1(num, num < 2, 6), "v2", 1, num * 1024u, len);
    }
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].err, 0);
    assert_int_equal(b2_got.len, B2_LEN);
    assert_memory_equal(b2_buf, b2_rep[1], B2_LEN);
    assert_string_equal(b2_got.etag, "v2");
    fx_done(&f);
}

static void test_rfc7959_s2_4_etag_that_keeps_changing_fails(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id = start_get_body(&f, sizeof b2_buf, -1);
    static const char *tags[] = {"a", "b", "c", "d", "e"};
    /* Every block 1 differs from its block 0: three restarts, then the
     * transfer ends with TERN_E_STATE rather than loop forever. */
    for (int i = 0; i < 4; i++) {
        tern_msg m = fx_sent(&f, -1);
        if (i > 0) check_get_block(&m, 0, 6); /* the first request has no Block2 */
        b2_answer(&f, &m, TERN_CODE_CONTENT, b1(0, true, 6), tags[i], 0, 0, 1024);
        m = fx_sent(&f, -1);
        check_get_block(&m, 1, 6);
        b2_answer(&f, &m, TERN_CODE_CONTENT, b1(1, true, 6), tags[i + 1], 0, 1024, 1024);
        assert_int_equal(f.n_events, i < 3 ? 0u : 1u);
    }
    assert_int_equal(f.n_out, 8);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, TERN_E_STATE);
    assert_false(f.ev[0].has_resp);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

static void test_rfc7959_s2_4_body_larger_than_buffer_is_nospace(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id = start_get_body(&f, 2000, -1);
    tern_msg m = fx_sent(&f, 0);
    b2_answer(&f, &m, TERN_CODE_CONTENT, b1(0, true, 6), NULL, 0, 0, 1024);
    m = fx_sent(&f, 1);
    /* 1024 + 1024 > 2000: no block 2 is asked for. */
    b2_answer(&f, &m, TERN_CODE_CONTENT, b1(1, true, 6), NULL, 0, 1024, 1024);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, TERN_E_NOSPACE);
    assert_false(f.ev[0].has_resp);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_advance(&f, 200000);
    assert_int_equal(f.n_out, 2);
    assert_int_equal(f.n_events, 1);
    fx_done(&f);
}

static void test_rfc7959_s2_4_cancel_mid_transfer_stops_fetching(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id = start_get_body(&f, sizeof b2_buf, -1);
    tern_msg m = fx_sent(&f, 0);
    b2_answer(&f, &m, TERN_CODE_CONTENT, b1(0, true, 6), NULL, 0, 0, 1024);
    assert_int_equal(f.n_out, 2);
    tern_msg m1 = fx_sent(&f, 1);
    assert_int_equal(tern_client_cancel(f.cli, id, f.now), 0);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_advance(&f, 200000);
    assert_int_equal(f.n_out, 2); /* no retransmission, no block 2 */
    /* The late answer to block 1 matches nothing: RST. */
    tern_msgb b;
    uint8_t buf[64];
    tern_msgb_init(&b, TERN_TYPE_CON, TERN_CODE_CONTENT, 0x7000);
    assert_int_equal(tern_msgb_set_token(&b, m1.token, m1.token_len), 0);
    int n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_true(n > 0);
    tern_endpoint_recv(f.ep, &f.server, buf, (size_t)n, f.now);
    fx_drain(&f);
    assert_int_equal(fx_sent(&f, -1).type, TERN_TYPE_RST);
    assert_int_equal(f.n_events, 0);
    assert_int_equal(tern_client_cancel(f.cli, id, f.now), TERN_E_NOTFOUND);
    fx_done(&f);
}

static void test_rfc7959_s2_4_response_without_block2_delivered_as_before(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    tern_client_op_id id = start_get_body(&f, sizeof b2_buf, -1);
    tern_msg m = fx_sent(&f, 0);
    b2_answer(&f, &m, TERN_CODE_CONTENT, -1, NULL, 0, 0, 700);
    assert_int_equal(f.n_out, 1);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, 0);
    assert_int_equal(f.ev[0].code, TERN_CODE_CONTENT);
    assert_int_equal(b2_got.len, 700);
    assert_false(b2_got.block2);
    assert_memory_equal(b2_got.ptr, b2_rep[0], 700);
    /* An error mid-transfer (section 2.9) also ends it as it came. */
    start_get_body(&f, sizeof b2_buf, -1);
    m = fx_sent(&f, -1);
    b2_answer(&f, &m, TERN_CODE_CONTENT, b1(0, true, 6), NULL, 0, 0, 1024);
    m = fx_sent(&f, -1);
    b2_answer(&f, &m, TERN_CODE_NOT_FOUND, -1, NULL, 0, 0, 0);
    assert_int_equal(f.n_events, 2);
    assert_int_equal(f.ev[1].err, 0);
    assert_int_equal(f.ev[1].code, TERN_CODE_NOT_FOUND);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

/* ---- section 2.6: a notification's body ---------------------------------------- */

/* A response or notification with the given token: type, MID, Observe
 * (< 0: none), Block2 (< 0: none), ETag, payload rep[off .. off + len). */
static int b2_notify(fx *f, const tern_msg *req, tern_type type, uint16_t mid, long observe,
                     long block2, const char *etag, int rep, size_t off, size_t len) {
    tern_msgb b;
    uint8_t buf[1400];
    tern_msgb_init(&b, type, TERN_CODE_CONTENT, type == TERN_TYPE_ACK ? req->mid : mid);
    assert_int_equal(tern_msgb_set_token(&b, req->token, req->token_len), 0);
    if (observe >= 0) assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_OBSERVE, (uint32_t)observe), 0);
    if (etag) assert_int_equal(tern_msgb_add_str(&b, TERN_OPT_ETAG, etag), 0);
    if (block2 >= 0) assert_int_equal(tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, (uint32_t)block2), 0);
    if (len) tern_msgb_set_payload(&b, b2_rep[rep] + off, len);
    int n = tern_msgb_encode(&b, buf, sizeof buf);
    assert_true(n > 0);
    int rc = tern_endpoint_recv(f->ep, &f->server, buf, (size_t)n, f->now);
    fx_drain(f);
    tern_client_tick(f->cli, f->now);
    fx_drain(f);
    return rc;
}

/* Answer the GETs for blocks 1 (g1) and 2 of rep. */
static void b2_finish_fetch(fx *f, tern_msg g1, const char *etag, int rep) {
    for (uint32_t num = 1; num < 3; num++) {
        tern_msg m = num == 1 ? g1 : fx_sent(f, -1);
        check_get_block(&m, num, 6);
        b2_notify(f, &m, TERN_TYPE_ACK, 0, -1, b1(num, num < 2, 6), etag, rep, num * 1024u,
                  num < 2 ? 1024u : 452u);
    }
}

static void test_rfc7959_s2_6_notification_body_fetched_with_get(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    b2_fill();
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "big");
    tern_client_op_id id = 0;
    assert_int_equal(tern_client_observe_body(f.cli, &f.server, &b, b2_buf, sizeof b2_buf, 0,
                                              b2_cb, &f, f.now, &id),
                     0);
    fx_drain(&f);
    tern_msg reg = fx_sent(&f, -1);
    assert_int_equal(tern_msg_count_opt(&reg, TERN_OPT_OBSERVE), 1);
    /* The registration's answer is block 0 of 2500 bytes, Observe 5. */
    b2_notify(&f, &reg, TERN_TYPE_ACK, 0, 5, b1(0, true, 6), "v1", 0, 0, 1024);
    assert_int_equal(f.n_events, 0);
    tern_msg g1 = fx_sent(&f, -1);
    /* Section 2.6: the rest by GET without Observe, under another token. */
    check_get_block(&g1, 1, 6);
    assert_true(memcmp(g1.token, reg.token, reg.token_len) != 0);
    b2_finish_fetch(&f, g1, "v1", 0);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, 0);
    assert_true(f.ev[0].observing);
    assert_true(f.ev[0].has_observe);
    assert_int_equal(f.ev[0].observe, 5);
    assert_int_equal(b2_got.len, B2_LEN);
    assert_memory_equal(b2_got.ptr, b2_rep[0], B2_LEN);
    /* A small notification needs no fetch and comes as before. */
    b2_notify(&f, &reg, TERN_TYPE_CON, 0x4001, 6, -1, NULL, 0, 0, 10);
    assert_int_equal(fx_sent(&f, -1).type, TERN_TYPE_ACK);
    assert_int_equal(f.n_events, 2);
    assert_int_equal(f.ev[1].observe, 6);
    assert_int_equal(b2_got.len, 10);
    /* Observe 7 starts a fetch; Observe 8 (another representation) arrives
     * before it ends and replaces it: the answer to the old GET no longer
     * matches (RST), and the body delivered is version 2 with Observe 8. */
    b2_notify(&f, &reg, TERN_TYPE_CON, 0x4002, 7, b1(0, true, 6), "v1", 0, 0, 1024);
    tern_msg old = fx_sent(&f, -1);
    check_get_block(&old, 1, 6);
    b2_notify(&f, &reg, TERN_TYPE_CON, 0x4003, 8, b1(0, true, 6), "v2", 1, 0, 1024);
    assert_int_equal(f.n_events, 2);
    tern_msg g2 = fx_sent(&f, -1);
    check_get_block(&g2, 1, 6);
    assert_true(memcmp(g2.token, old.token, old.token_len) != 0);
    b2_notify(&f, &old, TERN_TYPE_CON, 0x4004, -1, b1(1, true, 6), "v1", 0, 1024, 1024);
    assert_int_equal(fx_sent(&f, -1).type, TERN_TYPE_RST);
    b2_finish_fetch(&f, g2, "v2", 1);
    assert_int_equal(f.n_events, 3);
    assert_true(f.ev[2].observing);
    assert_int_equal(f.ev[2].observe, 8);
    assert_int_equal(b2_got.len, B2_LEN);
    assert_memory_equal(b2_got.ptr, b2_rep[1], B2_LEN);
    assert_int_equal(tern_client_active(f.cli), 1);
    fx_done(&f);
}

static void test_rfc7959_s2_6_unobserved_block_answer_completed_then_ends(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    b2_fill();
    tern_msgb b;
    fx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, "big");
    tern_client_op_id id = 0;
    assert_int_equal(tern_client_observe_body(f.cli, &f.server, &b, b2_buf, sizeof b2_buf, 0,
                                              b2_cb, &f, f.now, &id),
                     0);
    fx_drain(&f);
    tern_msg reg = fx_sent(&f, -1);
    /* RFC 7641 section 3.2: no Observe, so no observation; but the answer
     * is block 0 of 2500 bytes, completed as a plain GET's (Observe gone
     * from the follow-ups: they must not register). */
    b2_notify(&f, &reg, TERN_TYPE_ACK, 0, -1, b1(0, true, 6), "v1", 0, 0, 1024);
    assert_int_equal(f.n_events, 0);
    tern_msg g1 = fx_sent(&f, -1);
    b2_finish_fetch(&f, g1, "v1", 0);
    assert_int_equal(f.n_events, 1);
    assert_int_equal(f.ev[0].id, id);
    assert_int_equal(f.ev[0].err, 0);
    assert_false(f.ev[0].observing);
    assert_int_equal(b2_got.len, B2_LEN);
    assert_memory_equal(b2_got.ptr, b2_rep[0], B2_LEN);
    assert_int_equal(tern_client_active(f.cli), 0);
    fx_done(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7959_s2_5_put_3000_bytes_as_three_blocks),
        cmocka_unit_test(test_rfc7959_s2_5_late_answer_to_earlier_block_rejected),
        cmocka_unit_test(test_rfc7959_s2_5_server_shrinks_block_size),
        cmocka_unit_test(test_rfc7959_s2_5_options_leave_less_room),
        cmocka_unit_test(test_rfc7959_s2_9_3_too_large_with_size1_restarts_smaller),
        cmocka_unit_test(test_rfc7959_s2_9_3_too_large_without_smaller_size_is_final),
        cmocka_unit_test(test_rfc7959_s2_9_2_incomplete_ends_with_the_error),
        cmocka_unit_test(test_rfc7959_s2_5_cancel_mid_transfer_stops_sending),
        cmocka_unit_test(test_rfc7959_s2_5_deadline_covers_whole_transfer),
        cmocka_unit_test(test_rfc7959_s2_5_payload_that_fits_has_no_block1),
        cmocka_unit_test(test_rfc7959_s2_4_get_2500_bytes_in_three_blocks_delivered_once),
        cmocka_unit_test(test_rfc7959_s2_4_server_uses_smaller_block_size_than_asked),
        cmocka_unit_test(test_rfc7959_s2_4_etag_change_restarts_from_block_0),
        cmocka_unit_test(test_rfc7959_s2_4_etag_that_keeps_changing_fails),
        cmocka_unit_test(test_rfc7959_s2_4_body_larger_than_buffer_is_nospace),
        cmocka_unit_test(test_rfc7959_s2_4_cancel_mid_transfer_stops_fetching),
        cmocka_unit_test(test_rfc7959_s2_4_response_without_block2_delivered_as_before),
        cmocka_unit_test(test_rfc7959_s2_6_notification_body_fetched_with_get),
        cmocka_unit_test(test_rfc7959_s2_6_unobserved_block_answer_completed_then_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
