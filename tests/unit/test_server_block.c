/* SPDX-License-Identifier: BSD-2-Clause */
/* test_server_block.c - block-wise transfers from the server side: request
 * bodies in blocks (RFC 7959 sections 2.3, 2.5, 2.9: 2.31, 4.08, 4.13),
 * bounded uploads, an upload's block-wise answer (2.7), and a discovery
 * document of any size served whole, block by block (RFC 6690 with RFC
 * 7959 section 2.4). */
#include "test_server_fixture.h"

typedef struct sink {
    uint8_t body[4096];
    size_t len;
    int calls;
    size_t answer_len; /* > 0: answer with that many bytes (Block2) */
} sink;

static uint8_t answer_bytes[3000];

static uint8_t sink_store(tern_server_request *req, tern_server_response *resp) {
    sink *s = tern_server_request_ctx(req);
    size_t n;
    const uint8_t *p = tern_server_request_payload(req, &n);
    s->calls++;
    s->len = n <= sizeof s->body ? n : sizeof s->body;
    memcpy(s->body, p, s->len);
    if (s->answer_len) {
        for (size_t i = 0; i < s->answer_len; i++) answer_bytes[i] = (uint8_t)('A' + i % 26);
        tern_server_response_payload_ref(resp, TERN_CF_OCTET_STREAM, answer_bytes, s->answer_len);
    }
    return TERN_CODE_CHANGED;
}

static void add_sink(sfx *f, sink *s) {
    tern_resource_def def = {.path = "/up", .put = sink_store, .post = sink_store, .ctx = s};
    assert_int_equal(tern_server_add_resource(f->srv, &def, NULL), 0);
}

static uint8_t body[200];

/* Block num of the body in blocks of 16 << szx (M set unless the last). */
static const tern_msg *send_block(sfx *f, const tern_addr *peer, uint8_t code, uint16_t mid,
                                  uint32_t num, uint8_t szx, size_t total, long size1) {
    tern_msgb b;
    size_t size = (size_t)16 << szx, off = num * size;
    size_t n = total - off < size ? total - off : size;
    tern_block blk = {.num = num, .more = off + n < total, .szx = szx};
    uint32_t v;
    assert_int_equal(tern_block_encode(&blk, &v), 0);
    sfx_req(&b, TERN_TYPE_CON, code, mid, "k", "/up");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK1, v);
    if (size1 >= 0) tern_msgb_add_uint(&b, TERN_OPT_SIZE1, (uint32_t)size1);
    tern_msgb_set_payload(&b, body + off, n);
    return sfx_ask(f, peer, &b);
}

static void fill_body(void) {
    for (size_t i = 0; i < sizeof body; i++) body[i] = (uint8_t)i;
}

/* Section 2.5: 2.31 Continue echoing each block, the handler once with the
 * whole body, its answer echoing the last Block1 with M=0. */
static void test_rfc7959_s2_5_body_whole_after_last_block(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sink s = {0};
    add_sink(&f, &s);
    fill_body();
    for (uint32_t num = 0; num < 3; num++) {
        const tern_msg *m = send_block(&f, &f.a, TERN_CODE_PUT, (uint16_t)(100 + num), num, 0, 53,
                                       num == 0 ? 53 : -1);
        assert_int_equal(m->code, TERN_CODE_CONTINUE);
        assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK1), num << 4 | 0x08); /* NUM, M, SZX 0 */
        assert_int_equal(s.calls, 0);
    }
    const tern_msg *m = send_block(&f, &f.a, TERN_CODE_PUT, 103, 3, 0, 53, -1);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK1), 3 << 4); /* NUM 3, M 0, SZX 0 */
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.len, 53);
    assert_memory_equal(s.body, body, 53);
    sfx_free(&f);
}

/* Section 2.9.2: a gap, or a NUM > 0 with no upload, is 4.08 Request Entity
 * Incomplete; the upload is dropped. Section 2.5: a block whose 2.31 was
 * lost, sent again, gets 2.31 again. */
static void test_rfc7959_s2_9_2_out_of_order_4_08(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sink s = {0};
    add_sink(&f, &s);
    fill_body();
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 1, 1, 0, 53, -1)->code,
                     TERN_CODE_REQUEST_ENTITY_INCOMPLETE);
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 2, 0, 0, 53, -1)->code,
                     TERN_CODE_CONTINUE);
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 3, 1, 0, 53, -1)->code,
                     TERN_CODE_CONTINUE);
    /* Block 1 again under a new MID: the client missed our 2.31. */
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 4, 1, 0, 53, -1)->code,
                     TERN_CODE_CONTINUE);
    /* Block 3 skips block 2. */
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 5, 3, 0, 53, -1)->code,
                     TERN_CODE_REQUEST_ENTITY_INCOMPLETE);
    /* The upload is gone: block 2 now has nothing to continue. */
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 6, 2, 0, 53, -1)->code,
                     TERN_CODE_REQUEST_ENTITY_INCOMPLETE);
    assert_int_equal(s.calls, 0);
    sfx_free(&f);
}

/* Section 2.9.3: too large, known from Size1 on block 0 or found on the
 * way: 4.13 with Size1 the largest body taken. Section 2.2: a block other
 * than the last not of the block size: 4.00. */
static void test_rfc7959_s2_9_3_too_large_4_13(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_upload_bytes = 40;
    sfx f;
    sfx_init(&f, &cfg);
    sink s = {0};
    add_sink(&f, &s);
    fill_body();
    const tern_msg *m = send_block(&f, &f.a, TERN_CODE_PUT, 1, 0, 0, 53, 53);
    assert_int_equal(m->code, TERN_CODE_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(sfx_uint(m, TERN_OPT_SIZE1), 40);
    /* No Size1: found at the third block. */
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 2, 0, 0, 53, -1)->code, TERN_CODE_CONTINUE);
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 3, 1, 0, 53, -1)->code, TERN_CODE_CONTINUE);
    m = send_block(&f, &f.a, TERN_CODE_PUT, 4, 2, 0, 53, -1);
    assert_int_equal(m->code, TERN_CODE_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(sfx_uint(m, TERN_OPT_SIZE1), 40);
    /* Block 0 of 16 bytes declared, 10 sent, M set. */
    tern_msgb b;
    sfx_req(&b, TERN_TYPE_CON, TERN_CODE_PUT, 5, "k", "/up");
    tern_msgb_add_uint(&b, TERN_OPT_BLOCK1, 0x08);
    tern_msgb_set_payload(&b, body, 10);
    assert_int_equal(sfx_ask(&f, &f.a, &b)->code, TERN_CODE_BAD_REQUEST);
    assert_int_equal(s.calls, 0);
    sfx_free(&f);
}

/* Uploads are bounded: with every slot busy a new one gets 5.03 and
 * Max-Age; a slot idle for upload_timeout_ms is taken back. */
static void test_rfc7959_uploads_bounded_in_number_and_age(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_uploads = 2;
    cfg.upload_timeout_ms = 10000;
    sfx f;
    sfx_init(&f, &cfg);
    sink s = {0};
    add_sink(&f, &s);
    fill_body();
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 1, 0, 0, 53, -1)->code, TERN_CODE_CONTINUE);
    assert_int_equal(send_block(&f, &f.b, TERN_CODE_PUT, 1, 0, 0, 53, -1)->code, TERN_CODE_CONTINUE);
    const tern_msg *m = send_block(&f, &f.c, TERN_CODE_PUT, 1, 0, 0, 53, -1);
    assert_int_equal(m->code, TERN_CODE_SERVICE_UNAVAILABLE);
    assert_int_equal(sfx_uint(m, TERN_OPT_MAX_AGE), 10);
    sfx_advance(&f, 10000);
    assert_int_equal(send_block(&f, &f.c, TERN_CODE_PUT, 2, 0, 0, 53, -1)->code, TERN_CODE_CONTINUE);
    /* a's upload was taken back: its block 1 has nothing to continue. */
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_PUT, 3, 1, 0, 53, -1)->code,
                     TERN_CODE_REQUEST_ENTITY_INCOMPLETE);
    sfx_free(&f);
}

/* Section 2.7: a POST whose answer is larger than a block. The answer to
 * the last block carries Block1 (M=0) and Block2 block 0; the next blocks
 * come from the kept answer: the handler does not run again. */
static void test_rfc7959_s2_7_post_answer_blockwise(void **state) {
    (void)state;
    sfx f;
    sfx_init(&f, NULL);
    sink s = {.answer_len = 2500};
    add_sink(&f, &s);
    fill_body();
    assert_int_equal(send_block(&f, &f.a, TERN_CODE_POST, 1, 0, 2, 100, -1)->code,
                     TERN_CODE_CONTINUE);
    const tern_msg *m = send_block(&f, &f.a, TERN_CODE_POST, 2, 1, 2, 100, -1);
    assert_int_equal(m->code, TERN_CODE_CHANGED);
    assert_int_equal(sfx_uint(m, TERN_OPT_BLOCK1), 1 << 4 | 2);
    tern_block blk;
    assert_int_equal(tern_msg_get_block(m, TERN_OPT_BLOCK2, &blk), 0);
    assert_int_equal(blk.num, 0);
    assert_true(blk.more);
    assert_int_equal(sfx_uint(m, TERN_OPT_SIZE2), 2500);
    size_t size = tern_block_size(blk.szx), got = m->payload_len;
    assert_memory_equal(m->payload, answer_bytes, got);
    for (uint32_t num = 1; got < 2500; num++) {
        tern_msgb b;
        tern_block want = {.num = num, .more = false, .szx = blk.szx};
        uint32_t v;
        tern_block_encode(&want, &v);
        sfx_req(&b, TERN_TYPE_CON, TERN_CODE_POST, (uint16_t)(10 + num), "k", "/up");
        tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, v);
        m = sfx_ask(&f, &f.a, &b);
        assert_int_equal(m->code, TERN_CODE_CHANGED);
        assert_int_equal(tern_msg_get_block(m, TERN_OPT_BLOCK2, &blk), 0);
        assert_int_equal(blk.num, num);
        assert_memory_equal(m->payload, answer_bytes + got, m->payload_len);
        got += m->payload_len;
        assert_true(blk.more == (got < 2500));
        (void)size;
    }
    assert_int_equal(s.calls, 1);
    sfx_free(&f);
}

static uint8_t noop_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_text(resp, "x");
    return TERN_CODE_CONTENT;
}

/* RFC 6690 section 4 with RFC 7959 section 2.4: 40 resources with long
 * names make a document far larger than a datagram; it comes whole, block
 * by block, every link in it. */
static void test_rfc6690_wkc_whole_blockwise(void **state) {
    (void)state;
    tern_server_config cfg;
    tern_server_config_default(&cfg);
    cfg.max_resources = 48;
    sfx f;
    sfx_init(&f, &cfg);
    static char paths[40][80];
    for (int i = 0; i < 40; i++) {
        snprintf(paths[i], sizeof paths[i], "/a-rather-long-resource-name-for-discovery-%02d", i);
        tern_resource_def def = {.path = paths[i], .get = noop_get, .rt = "long.name.type"};
        assert_int_equal(tern_server_add_resource(f.srv, &def, NULL), 0);
    }
    static char doc[8192];
    size_t len = 0;
    tern_block blk = {.num = 0, .more = true, .szx = 6};
    for (uint32_t num = 0; blk.more; num++) {
        tern_msgb b;
        sfx_req(&b, TERN_TYPE_CON, TERN_CODE_GET, (uint16_t)(200 + num), "w", "/.well-known/core");
        if (num) {
            tern_block want = {.num = num, .more = false, .szx = blk.szx};
            uint32_t v;
            tern_block_encode(&want, &v);
            tern_msgb_add_uint(&b, TERN_OPT_BLOCK2, v);
        }
        const tern_msg *m = sfx_ask(&f, &f.a, &b);
        assert_int_equal(m->code, TERN_CODE_CONTENT);
        assert_int_equal(tern_msg_get_block(m, TERN_OPT_BLOCK2, &blk), 0);
        assert_int_equal(blk.num, num);
        assert_true(len + m->payload_len < sizeof doc);
        memcpy(doc + len, m->payload, m->payload_len);
        len += m->payload_len;
    }
    doc[len] = 0;
    assert_true(len > 2000);
    for (int i = 0; i < 40; i++) {
        char link[96];
        snprintf(link, sizeof link, "<%.80s>", paths[i]);
        assert_non_null(strstr(doc, link));
    }
    sfx_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7959_s2_5_body_whole_after_last_block),
        cmocka_unit_test(test_rfc7959_s2_9_2_out_of_order_4_08),
        cmocka_unit_test(test_rfc7959_s2_9_3_too_large_4_13),
        cmocka_unit_test(test_rfc7959_uploads_bounded_in_number_and_age),
        cmocka_unit_test(test_rfc7959_s2_7_post_answer_blockwise),
        cmocka_unit_test(test_rfc6690_wkc_whole_blockwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
