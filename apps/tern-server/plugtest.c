/* SPDX-License-Identifier: BSD-2-Clause */
/* plugtest.c - tern-server --plugtest: the resources the ETSI CoAP plugtest
 * test descriptions assume of a server under test (CoAP#4, as kept in
 * github.com/cabo/td-coap4: base.yml TD_COAP_CORE_01-23 and 31, link.yml
 * TD_COAP_LINK_01-09, block.yml TD_COAP_BLOCK_01-06 and TD_COAP_OBS_01-12),
 * written on tern's public server API only.
 *
 * Read it as a catalogue of how to write each kind of resource. Each
 * section below is one resource: a comment naming the TDs it serves and the
 * RFC sections it shows, its state, its handlers (one per method, each
 * returning the response code after filling the response) and its
 * tern_resource_def. What the library does, no handler here does:
 *
 *  - CON requests get piggybacked answers, NON requests NON answers (RFC
 *    7252 5.2); a deferred CON gets an empty ACK after the endpoint's
 *    ack_delay (1 s), then a separate CON answer (5.2.2);
 *  - 4.04 for an unknown path, 4.05 for a method without handler, 4.02 for
 *    an unknown critical option, 4.06 and 4.15 from the resource's ct list
 *    (5.10.3, 5.10.4), 4.06 when the answer's Content-Format is not the
 *    Accept; CoAP ping is answered with RST by the endpoint (4.3, CORE_31);
 *  - ETags (from a resource's .etag callback): 2.03 Valid for a GET naming
 *    the current one, 4.12 for If-Match / If-None-Match that fail (5.10.6,
 *    5.10.8);
 *  - block-wise transfers (RFC 7959): a request body sent with Block1 is put
 *    together (2.31 Continue per block) and the handler sees it whole; a
 *    representation larger than the block size asked for, or than a
 *    datagram, goes out with Block2, Size2 and an ETag, and the answer to an
 *    upload is kept for its next blocks (2.7);
 *  - Observe (RFC 7641): registration, notifications made by re-running the
 *    GET handler after tern_resource_changed(), the end of an observation
 *    when that handler answers an error (3.2), removal on RST or timeout;
 *  - /.well-known/core with query filters (RFC 6690 4.1).
 *
 * All state is in this file's statics: there is one plugtest per process. */
#include "plugtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_log.h"

/* The server and engine, for the timers (a handler has its request). */
static struct {
    tern_server *srv;
    tern_engine *eng;
} pt;

/* ---- helpers -------------------------------------------------------------- */

/* The request's Content-Format, or dflt when it has none. */
static uint16_t request_cf(const tern_server_request *req, uint16_t dflt) {
    int32_t cf = tern_server_request_content_format(req);
    return cf < 0 ? dflt : (uint16_t)cf;
}

static const char *res_path(const tern_server_request *req) {
    return tern_resource_get_def(tern_server_request_resource(req))->path;
}

/* "Server displays received information" (CORE_03, 04, 07, 08): one info
 * line per request that changes something, with the start of its payload. */
static void show_request(const tern_server_request *req) {
    const tern_msg *m = tern_server_request_msg(req);
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    char from[80] = "?", cf[32] = "", peek[48];
    tern_io_addr_format(tern_server_request_peer(req), from, sizeof from);
    int32_t f = tern_server_request_content_format(req);
    if (f >= 0) snprintf(cf, sizeof cf, ", Content-Format %d", (int)f);
    /* The start of the payload, escaped: nothing received may forge a log
     * line (app_log_esc cuts at a whole escape and says so with "..."). */
    app_log_esc(peek, sizeof peek, p, len < 40 ? len : 40);
    app_log(APP_LOG_INFO, "%s: %s %s from %s%s, %zu bytes%s%s%s", res_path(req),
            tern_type_name(m->type), tern_code_name(tern_server_request_method(req)), from, cf,
            len, len ? ": \"" : "", peek, len ? (len > 40 ? "...\"" : "\"") : "");
}

/* An ETag from a version counter (RFC 7252 5.10.6: opaque, 1 to 8 bytes).
 * Counters start from the wall clock, so that a restarted server does not
 * give an old ETag to another representation. */
static size_t etag_of(uint32_t version, uint8_t etag[TERN_ETAG_MAX]) {
    for (int i = 0; i < 4; i++) etag[i] = (uint8_t)(version >> (24 - 8 * i));
    return 4;
}

static uint32_t version_seed(void) { return (uint32_t)time(NULL); }

/* A fixed text; ctx is the text. */
static uint8_t text_get(tern_server_request *req, tern_server_response *resp) {
    tern_server_response_text(resp, tern_server_request_ctx(req));
    return TERN_CODE_CONTENT;
}

/* ---- /test: GET, PUT, POST, DELETE, in CON and NON ---------------------------
 * TD_COAP_CORE_01-08 (each method CON, then NON: RFC 7252 5.8, 5.2.1,
 * 5.2.3), CORE_10 and 12 (a token, and none: 5.3.1), CORE_15 (lossy, 4.2),
 * CORE_18 (POST with three Location-Path options: 5.8.2, 5.10.7). GET
 * describes the request it answers; DELETE makes it absent (GET 4.04) until
 * a PUT creates it again (2.01). */
static struct {
    bool exists;
} test = {.exists = true};

static uint8_t test_get(tern_server_request *req, tern_server_response *resp) {
    if (!test.exists) {
        tern_server_response_diag(resp, "deleted; PUT creates it again");
        return TERN_CODE_NOT_FOUND;
    }
    /* Short on purpose: a first request from a client that has not yet
     * shown it receives at its address may draw an answer of at most three
     * times its size (RFC 7252 11.3); the shortest GET /test is 9 bytes. */
    char text[16];
    snprintf(text, sizeof text, "Type: %s", tern_type_name(tern_server_request_msg(req)->type));
    tern_server_response_text(resp, text);
    return TERN_CODE_CONTENT;
}

static uint8_t test_put(tern_server_request *req, tern_server_response *resp) {
    (void)resp;
    show_request(req);
    bool created = !test.exists;
    test.exists = true;
    return created ? TERN_CODE_CREATED : TERN_CODE_CHANGED;
}

static uint8_t test_post(tern_server_request *req, tern_server_response *resp) {
    show_request(req);
    /* 5.10.7: one option per segment, none containing '/'. */
    static const char *const where[] = {"location1", "location2", "location3"};
    for (size_t i = 0; i < 3; i++)
        tern_server_response_add_opt(resp, TERN_OPT_LOCATION_PATH, where[i], strlen(where[i]));
    return TERN_CODE_CREATED;
}

static uint8_t test_delete(tern_server_request *req, tern_server_response *resp) {
    (void)resp;
    show_request(req);
    test.exists = false;
    return TERN_CODE_DELETED; /* 5.8.4: also when it did not exist */
}

static const tern_resource_def test_def = {
    .path = "/test", .get = test_get, .put = test_put, .post = test_post, .del = test_delete};

/* ---- /separate: an answer that takes a while ---------------------------------
 * TD_COAP_CORE_09, 11, 16 (CON: empty ACK, then a CON 2.05) and 17 (NON:
 * no ACK, a NON 2.05 later): RFC 7252 5.2.2. The handler defers the request
 * (tern_server_request_defer) and an engine timer answers it 2 s later
 * (tern_server_respond_begin / _respond). The endpoint's ack_delay is left
 * at its 1 s: the empty ACK goes out 1 s after the request, a second before
 * the answer. */
#define SEPARATE_DELAY_MS 2000u
#define SEPARATE_SLOTS 8

typedef struct separate_slot {
    tern_timer timer;
    tern_endpoint_req_id id;
    bool used;
} separate_slot;

static separate_slot separate[SEPARATE_SLOTS];

static void separate_answer(void *ctx, tern_engine *eng, uint64_t now_ms) {
    (void)eng;
    separate_slot *s = ctx;
    s->used = false;
    tern_server_response *resp = tern_server_respond_begin(pt.srv, s->id);
    if (resp == NULL) return; /* the server gave it up (deferred_timeout_ms) */
    tern_server_response_text(resp, "separate response, 2 s after the request");
    (void)tern_server_respond(pt.srv, resp, TERN_CODE_CONTENT, now_ms);
}

static uint8_t separate_get(tern_server_request *req, tern_server_response *resp) {
    separate_slot *s = NULL;
    for (size_t i = 0; i < SEPARATE_SLOTS && s == NULL; i++)
        if (!separate[i].used) s = &separate[i];
    if (s == NULL || tern_server_request_defer(req, &s->id) < 0) {
        tern_server_response_add_uint(resp, TERN_OPT_MAX_AGE, 2); /* 5.9.3.4: retry then */
        tern_server_response_diag(resp, "too many separate responses pending");
        return TERN_CODE_SERVICE_UNAVAILABLE;
    }
    s->used = true;
    tern_engine_timer_start(pt.eng, &s->timer, tern_server_request_now(req) + SEPARATE_DELAY_MS,
                            separate_answer, s);
    return TERN_DEFER;
}

static const tern_resource_def separate_def = {
    .path = "/separate", .get = separate_get, .ct = "0"};

/* ---- /seg1/seg2/seg3: a path of several segments ----------------------------
 * TD_COAP_CORE_13: three Uri-Path options (RFC 7252 5.10.1, 6.5). */
static const tern_resource_def seg_def = {
    .path = "/seg1/seg2/seg3", .get = text_get, .ctx = "/seg1/seg2/seg3", .ct = "0"};

/* ---- /query: Uri-Query options --------------------------------------------------
 * TD_COAP_CORE_14: several Uri-Query options (RFC 7252 5.10.1, 6.5); the
 * answer echoes them ("?first=1&second=2&third=3"). */
static uint8_t query_get(tern_server_request *req, tern_server_response *resp) {
    char text[512];
    size_t n = 0;
    tern_opt_iter it;
    tern_opt o;
    tern_opt_iter_init(&it, tern_server_request_msg(req));
    while (tern_opt_next(&it, &o) && n < sizeof text - 1) {
        if (o.num != TERN_OPT_URI_QUERY) continue;
        int w = snprintf(text + n, sizeof text - n, "%c%.*s", n ? '&' : '?', (int)o.len,
                         (const char *)o.val);
        n += w > 0 ? (size_t)w : 0;
    }
    if (n >= sizeof text) n = sizeof text - 1;
    text[n] = 0;
    tern_server_response_text(resp, n ? text : "no query");
    return TERN_CODE_CONTENT;
}

static const tern_resource_def query_def = {.path = "/query", .get = query_get, .ct = "0"};

/* ---- /location-query: Location-Query in a 2.01 ------------------------------
 * TD_COAP_CORE_19: POST answered with two Location-Query options (RFC
 * 7252 5.8.2, 5.10.7). */
static uint8_t location_query_post(tern_server_request *req, tern_server_response *resp) {
    show_request(req);
    tern_server_response_add_opt(resp, TERN_OPT_LOCATION_QUERY, "first=1", 7);
    tern_server_response_add_opt(resp, TERN_OPT_LOCATION_QUERY, "second=2", 8);
    return TERN_CODE_CREATED;
}

static const tern_resource_def location_query_def = {
    .path = "/location-query", .post = location_query_post};

/* ---- /multi-format: one resource, two Content-Formats -----------------------
 * TD_COAP_CORE_20: Accept 0 gives text/plain, Accept 41 application/xml
 * (RFC 7252 5.10.4). The ct list "0 41" makes the server answer any other
 * Accept with 4.06 before the handler runs. */
static uint8_t multi_format_get(tern_server_request *req, tern_server_response *resp) {
    static const char xml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<multi-format><text>one resource, two formats</text>"
                              "</multi-format>\n";
    if (tern_server_request_accept(req) == TERN_CF_XML)
        tern_server_response_payload(resp, TERN_CF_XML, xml, sizeof xml - 1);
    else
        tern_server_response_text(resp, "one resource, two formats");
    return TERN_CODE_CONTENT;
}

static const tern_resource_def multi_format_def = {
    .path = "/multi-format", .get = multi_format_get, .ct = "0 41"};

/* ---- /validate and /create1: a document with an ETag --------------------------
 * TD_COAP_CORE_21 (GET with the current ETag: 2.03 Valid, no payload:
 * RFC 7252 5.10.6.2), CORE_22 (PUT with If-Match: 2.04, or 4.12 with the
 * document left as it was: 5.10.8.1) on /validate; CORE_23 (PUT with
 * If-None-Match: 2.01 when absent, 4.12 when present: 5.10.8.2) on
 * /create1, which is absent at first. The handlers only store and serve:
 * the .etag callback tells the server the current ETag (0 while absent),
 * and the server does the 2.03 and the 4.12s. */
#define DOC_MAX 256

typedef struct doc_res {
    bool exists;
    uint16_t cf;
    uint32_t version; /* the ETag; bumped by every PUT */
    size_t len;
    uint8_t body[DOC_MAX];
} doc_res;

static doc_res validate_doc, create1_doc;

static size_t doc_etag(void *ctx, uint8_t etag[TERN_ETAG_MAX]) {
    const doc_res *d = ctx;
    return d->exists ? etag_of(d->version, etag) : 0;
}

static uint8_t doc_get(tern_server_request *req, tern_server_response *resp) {
    const doc_res *d = tern_server_request_ctx(req);
    if (!d->exists) {
        tern_server_response_diag(resp, "absent; PUT creates it");
        return TERN_CODE_NOT_FOUND;
    }
    tern_server_response_payload(resp, d->cf, d->body, d->len);
    return TERN_CODE_CONTENT;
}

static uint8_t doc_put(tern_server_request *req, tern_server_response *resp) {
    doc_res *d = tern_server_request_ctx(req);
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    if (len > sizeof d->body) {
        tern_server_response_add_uint(resp, TERN_OPT_SIZE1, DOC_MAX); /* 5.10.9 */
        tern_server_response_diag(resp, "at most %d bytes", DOC_MAX);
        return TERN_CODE_REQUEST_ENTITY_TOO_LARGE;
    }
    show_request(req);
    bool created = !d->exists;
    memcpy(d->body, p, len);
    d->len = len;
    d->cf = request_cf(req, TERN_CF_TEXT_PLAIN);
    d->exists = true;
    d->version++;
    return created ? TERN_CODE_CREATED : TERN_CODE_CHANGED;
}

static uint8_t doc_delete(tern_server_request *req, tern_server_response *resp) {
    (void)resp;
    doc_res *d = tern_server_request_ctx(req);
    show_request(req);
    d->exists = false;
    d->version++;
    return TERN_CODE_DELETED;
}

static const tern_resource_def validate_def = {.path = "/validate",
                                               .get = doc_get,
                                               .put = doc_put,
                                               .ctx = &validate_doc,
                                               .etag = doc_etag};

static const tern_resource_def create1_def = {.path = "/create1",
                                              .get = doc_get,
                                              .put = doc_put,
                                              .del = doc_delete,
                                              .ctx = &create1_doc,
                                              .etag = doc_etag};

/* ---- /large: a representation larger than a block -----------------------------
 * TD_COAP_BLOCK_01 (early negotiation), 02 (late negotiation), 06 (early,
 * 16-byte blocks): RFC 7959 2.2-2.4. The handler hands over the whole text
 * by reference (tern_server_response_payload_ref); the server cuts the
 * block asked for, or one that fits a datagram, and adds Block2, Size2 and
 * an ETag. sz= in discovery (TD_COAP_LINK_06). */
#define LARGE_LINES 40

static char large_text[LARGE_LINES * 72];
static size_t large_len;

static void large_fill(void) {
    for (unsigned i = 1; i <= LARGE_LINES; i++) {
        int w = snprintf(large_text + large_len, sizeof large_text - large_len,
                         "line %02u of /large: the quick brown fox jumps over the lazy dog\n", i);
        if (w > 0) large_len += (size_t)w;
    }
}

static uint8_t large_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_payload_ref(resp, TERN_CF_TEXT_PLAIN, large_text, large_len);
    return TERN_CODE_CONTENT;
}

static tern_resource_def large_def = {.path = "/large", .get = large_get, .ct = "0"};

/* ---- /large-update: a large body PUT block by block -----------------------------
 * TD_COAP_BLOCK_03: PUT with Block1 (RFC 7959 2.3, 2.5): the server answers
 * 2.31 to each block and runs the handler once with the whole body, which
 * it keeps in a buffer of its own (up to PLUGTEST_MAX_UPLOAD bytes) and
 * serves by reference, block-wise, with an ETag that changes with each PUT. */
typedef struct blob_res {
    uint8_t *body; /* PLUGTEST_MAX_UPLOAD bytes */
    size_t len;
    uint16_t cf;
    uint32_t version;
} blob_res;

static blob_res large_update;

static size_t blob_etag(void *ctx, uint8_t etag[TERN_ETAG_MAX]) {
    return etag_of(((const blob_res *)ctx)->version, etag);
}

static uint8_t blob_get(tern_server_request *req, tern_server_response *resp) {
    const blob_res *b = tern_server_request_ctx(req);
    tern_server_response_payload_ref(resp, b->cf, b->body, b->len);
    return TERN_CODE_CONTENT;
}

static uint8_t blob_put(tern_server_request *req, tern_server_response *resp) {
    blob_res *b = tern_server_request_ctx(req);
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    if (len > PLUGTEST_MAX_UPLOAD) { /* not block-wise, so not checked by the server */
        tern_server_response_add_uint(resp, TERN_OPT_SIZE1, PLUGTEST_MAX_UPLOAD);
        return TERN_CODE_REQUEST_ENTITY_TOO_LARGE;
    }
    show_request(req);
    memcpy(b->body, p, len);
    b->len = len;
    b->cf = request_cf(req, TERN_CF_OCTET_STREAM);
    b->version++;
    return TERN_CODE_CHANGED;
}

static const tern_resource_def large_update_def = {.path = "/large-update",
                                                   .get = blob_get,
                                                   .put = blob_put,
                                                   .ctx = &large_update,
                                                   .etag = blob_etag};

/* ---- /large-create: POST that creates a resource ---------------------------------
 * TD_COAP_BLOCK_04: POST with Block1 creates /large-create/<n> (2.01 with
 * Location-Path "large-create" and "<n>": RFC 7252 5.8.2, 5.10.7; RFC 7959
 * 2.5). Resources added while the server runs: each created one is a
 * resource of its own (tern_server_add_resource, its path kept here) that
 * answers GET with the body. At most CREATED_MAX exist; the next POST
 * removes the oldest (tern_server_remove_resource). */
#define CREATED_MAX 8

typedef struct created_res {
    tern_resource *res;
    uint8_t *body;
    size_t len;
    uint16_t cf;
    char seg[12];
    char path[32]; /* the def points here: it lives as long as the resource */
} created_res;

static created_res large_created[CREATED_MAX];
static unsigned large_created_count;

static uint8_t created_get(tern_server_request *req, tern_server_response *resp) {
    const created_res *c = tern_server_request_ctx(req);
    tern_server_response_payload_ref(resp, c->cf, c->body, c->len);
    return TERN_CODE_CONTENT;
}

static void created_drop(created_res *c, uint64_t now_ms) {
    if (c->res) tern_server_remove_resource(pt.srv, c->res, now_ms);
    free(c->body);
    memset(c, 0, sizeof *c);
}

static uint8_t large_create_post(tern_server_request *req, tern_server_response *resp) {
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    created_res *c = &large_created[large_created_count % CREATED_MAX];
    created_drop(c, tern_server_request_now(req));
    show_request(req);
    c->body = malloc(len ? len : 1);
    if (c->body == NULL) {
        tern_server_response_diag(resp, "out of memory");
        return TERN_CODE_INTERNAL_SERVER_ERROR;
    }
    memcpy(c->body, p, len);
    c->len = len;
    c->cf = request_cf(req, TERN_CF_OCTET_STREAM);
    unsigned n = ++large_created_count;
    snprintf(c->seg, sizeof c->seg, "%u", n);
    snprintf(c->path, sizeof c->path, "/large-create/%u", n);
    tern_resource_def def = {.path = c->path, .get = created_get, .ctx = c};
    int rc = tern_server_add_resource(tern_server_request_server(req), &def, &c->res);
    if (rc < 0) {
        created_drop(c, tern_server_request_now(req));
        tern_server_response_diag(resp, "cannot add a resource: %s", tern_strerror(rc));
        return TERN_CODE_INTERNAL_SERVER_ERROR;
    }
    tern_server_response_add_opt(resp, TERN_OPT_LOCATION_PATH, "large-create", 12);
    tern_server_response_add_opt(resp, TERN_OPT_LOCATION_PATH, c->seg, strlen(c->seg));
    return TERN_CODE_CREATED;
}

static const tern_resource_def large_create_def = {
    .path = "/large-create", .post = large_create_post};

/* ---- /large-post: block-wise both ways --------------------------------------------
 * TD_COAP_BLOCK_05: POST with Block1 whose answer is larger than a block
 * (RFC 7959 2.5, 2.7, 3.3): the answer echoes the body. The server sends
 * its first block with the answer to the last Block1 and keeps the whole
 * answer for the client's next requests (Block2 NUM > 0), so the handler
 * runs once. The echo is copied out of the request: the server keeps the
 * answer in the upload's own buffer, where the request body lies; that
 * buffer (max_upload_bytes) must hold the answer's options too, hence a
 * limit a little below PLUGTEST_MAX_UPLOAD. */
#define LARGE_POST_MAX (PLUGTEST_MAX_UPLOAD - 64)

static uint8_t *large_post_answer; /* LARGE_POST_MAX bytes */

static uint8_t large_post_post(tern_server_request *req, tern_server_response *resp) {
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    if (len > LARGE_POST_MAX) {
        tern_server_response_add_uint(resp, TERN_OPT_SIZE1, LARGE_POST_MAX);
        return TERN_CODE_REQUEST_ENTITY_TOO_LARGE;
    }
    show_request(req);
    memcpy(large_post_answer, p, len);
    tern_server_response_payload_ref(resp, request_cf(req, TERN_CF_OCTET_STREAM),
                                     large_post_answer, len);
    return TERN_CODE_CHANGED;
}

static const tern_resource_def large_post_def = {.path = "/large-post", .post = large_post_post};

/* ---- /obs and /obs-non: observable, changing every 5 s --------------------------------
 * TD_COAP_OBS_01 (/obs: confirmable notifications, .notify_con) and OBS_02
 * (/obs-non: non-confirmable ones): RFC 7641 3.1, 3.2, 4.2, 4.5. The server
 * alone does OBS_04 (Max-Age, 3.3.1: 30 s here), OBS_05 and 06 (an observer
 * that stops acknowledging, or answers with RST, is removed: 4.5, 3.6),
 * OBS_10 (a GET without Observe leaves the observation alone), OBS_11 (one
 * notification in flight per observer, 4.5.2) and OBS_12 (GET with
 * Observe=1 ends it, 3.6). The handlers do OBS_09 (PUT with the same
 * Content-Format: 2.04 and a notification with that value, 4.2), OBS_08
 * (PUT with another Content-Format: 2.04 and a final 4.06 to each
 * observer, 3.2) and OBS_07 (DELETE: 2.02 and a final 4.04 to each
 * observer, 3.2).
 *
 * An engine timer changes the text every 5 s (while the representation is
 * text/plain) and calls tern_resource_changed(): each observer gets a
 * notification made by the GET handler.
 *
 * OBS_08: an observer registered without Accept expects the Content-Format
 * of the answer that registered it (RFC 7641 3.2). The GET handler
 * remembers that format per observation, keyed by (peer, token) like the
 * server's own registry (4.1), and answers a notification with 4.06 when
 * the resource's format is now another one; a non-2.xx notification ends
 * the observation. (One that registered with Accept gets 4.06 from the
 * server: the answer's format is not its Accept.) The table is bounded:
 * OBS_TRACK observations, the oldest entry reused; an observer whose entry
 * was reused keeps getting 2.05 in the new format.
 *
 * OBS_07: DELETE removes the resource (tern_server_remove_resource sends
 * each observer a final 4.04) and adds it again at once in the absent state
 * (GET 4.04), because a removed path answers 4.04 to every method and a PUT
 * could not create it again (2.01). */
#define OBS_PERIOD_MS 5000u
#define OBS_VALUE_MAX 256
#define OBS_TRACK 64

typedef struct obs_reg {
    bool used;
    uint8_t token_len;
    uint8_t token[TERN_TOKEN_MAX];
    uint16_t cf; /* of the answer that registered it */
    tern_addr peer;
} obs_reg;

typedef struct obs_res {
    tern_resource *res;
    tern_timer timer;
    bool exists;
    uint16_t cf;
    unsigned ticks;
    size_t len;
    char value[OBS_VALUE_MAX];
    unsigned next_reg;
    obs_reg regs[OBS_TRACK];
} obs_res;

static obs_res obs = {.exists = true}, obs_non = {.exists = true};

/* The entry of the observation this request belongs to, or NULL. */
static obs_reg *obs_find(obs_res *o, const tern_server_request *req) {
    const tern_msg *m = tern_server_request_msg(req);
    for (size_t i = 0; i < OBS_TRACK; i++) {
        obs_reg *r = &o->regs[i];
        if (r->used && r->token_len == m->token_len &&
            memcmp(r->token, m->token, m->token_len) == 0 &&
            tern_addr_equal(&r->peer, tern_server_request_peer(req)))
            return r;
    }
    return NULL;
}

static void obs_remember(obs_res *o, const tern_server_request *req) {
    obs_reg *r = obs_find(o, req);
    if (r == NULL) {
        const tern_msg *m = tern_server_request_msg(req);
        r = &o->regs[o->next_reg++ % OBS_TRACK];
        r->used = true;
        r->token_len = m->token_len;
        memcpy(r->token, m->token, m->token_len);
        r->peer = *tern_server_request_peer(req);
    }
    r->cf = o->cf;
}

static uint8_t obs_get(tern_server_request *req, tern_server_response *resp) {
    obs_res *o = tern_server_request_ctx(req);
    if (!o->exists) {
        tern_server_response_diag(resp, "deleted; PUT creates it again");
        return TERN_CODE_NOT_FOUND;
    }
    if (tern_server_request_is_notification(req)) {
        obs_reg *r = obs_find(o, req);
        if (r != NULL && r->cf != o->cf) {
            r->used = false;
            tern_server_response_diag(resp, "Content-Format changed to %u", (unsigned)o->cf);
            return TERN_CODE_NOT_ACCEPTABLE;
        }
    } else if (tern_server_request_is_observe(req)) {
        obs_remember(o, req);
    }
    tern_server_response_payload(resp, o->cf, o->value, o->len);
    return TERN_CODE_CONTENT;
}

static uint8_t obs_put(tern_server_request *req, tern_server_response *resp) {
    obs_res *o = tern_server_request_ctx(req);
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    if (len > sizeof o->value) {
        tern_server_response_add_uint(resp, TERN_OPT_SIZE1, OBS_VALUE_MAX);
        tern_server_response_diag(resp, "at most %d bytes", OBS_VALUE_MAX);
        return TERN_CODE_REQUEST_ENTITY_TOO_LARGE;
    }
    show_request(req);
    bool created = !o->exists;
    memcpy(o->value, p, len);
    o->len = len;
    o->cf = request_cf(req, TERN_CF_TEXT_PLAIN);
    o->exists = true;
    tern_resource_changed(tern_server_request_resource(req));
    return created ? TERN_CODE_CREATED : TERN_CODE_CHANGED;
}

static uint8_t obs_delete(tern_server_request *req, tern_server_response *resp) {
    (void)resp;
    obs_res *o = tern_server_request_ctx(req);
    tern_server *srv = tern_server_request_server(req);
    tern_resource *res = tern_server_request_resource(req);
    show_request(req);
    tern_resource_def def = *tern_resource_get_def(res); /* its strings are static */
    tern_server_remove_resource(srv, res, tern_server_request_now(req));
    o->exists = false;
    memset(o->regs, 0, sizeof o->regs);
    int rc = tern_server_add_resource(srv, &def, &o->res);
    if (rc < 0) {
        o->res = NULL;
        app_log(APP_LOG_ERROR, "%s: cannot add it again: %s", def.path, tern_strerror(rc));
    }
    return TERN_CODE_DELETED;
}

static void obs_tick(void *ctx, tern_engine *eng, uint64_t now_ms) {
    obs_res *o = ctx;
    if (o->res && o->exists && o->cf == TERN_CF_TEXT_PLAIN) {
        int w = snprintf(o->value, sizeof o->value, "tick %u", ++o->ticks);
        o->len = w > 0 ? (size_t)w : 0;
        tern_resource_changed(o->res);
    }
    tern_engine_timer_start(eng, &o->timer, now_ms + OBS_PERIOD_MS, obs_tick, o);
}

/* Max-Age 30 s rather than the server's 11 minutes: a client that stops
 * hearing from /obs re-registers within a plugtest session (OBS_04,
 * RFC 7641 3.3.1). */
static const tern_resource_def obs_def = {.path = "/obs",
                                          .get = obs_get,
                                          .put = obs_put,
                                          .del = obs_delete,
                                          .ctx = &obs,
                                          .observable = true,
                                          .notify_con = true,
                                          .max_age_s = 30};

static const tern_resource_def obs_non_def = {.path = "/obs-non",
                                              .get = obs_get,
                                              .put = obs_put,
                                              .del = obs_delete,
                                              .ctx = &obs_non,
                                              .observable = true,
                                              .max_age_s = 30};

/* ---- /link1, /link2, /link3: discovery attributes ------------------------------
 * TD_COAP_LINK_02-05, 07, 08: /.well-known/core filtered by rt, if and
 * href, words of a list and prefixes with '*' (RFC 6690 3.1, 3.2, 4.1).
 * The server writes and filters the document from the defs. */
static const tern_resource_def link1_def = {
    .path = "/link1", .get = text_get, .ctx = "link1", .rt = "Type1 Type2", .iface = "If1"};
static const tern_resource_def link2_def = {
    .path = "/link2", .get = text_get, .ctx = "link2", .rt = "Type2 Type3", .iface = "If2"};
static const tern_resource_def link3_def = {
    .path = "/link3", .get = text_get, .ctx = "link3", .rt = "Type1 Type3", .iface = "foo"};

/* ---- /path and /path/sub1..3: links arranged hierarchically ----------------------
 * TD_COAP_LINK_09 (RFC 6690 4 and 5): /.well-known/core lists /path with
 * ct=40; GET /path answers the links of its children, which are hidden
 * from /.well-known/core; GET /path/sub1 answers text naming itself. */
static uint8_t path_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    static const char links[] = "</path/sub1>,</path/sub2>,</path/sub3>";
    tern_server_response_payload(resp, TERN_CF_LINK_FORMAT, links, sizeof links - 1);
    return TERN_CODE_CONTENT;
}

static const tern_resource_def path_def = {.path = "/path", .get = path_get, .ct = "40"};
static const tern_resource_def sub1_def = {
    .path = "/path/sub1", .get = text_get, .ctx = "this is /path/sub1", .hidden = true};
static const tern_resource_def sub2_def = {
    .path = "/path/sub2", .get = text_get, .ctx = "this is /path/sub2", .hidden = true};
static const tern_resource_def sub3_def = {
    .path = "/path/sub3", .get = text_get, .ctx = "this is /path/sub3", .hidden = true};

/* ---- setup ------------------------------------------------------------------------ */

/* Discovery lists them in this order. */
static const tern_resource_def *const catalogue[] = {
    &test_def,       &separate_def,     &seg_def,          &query_def,
    &location_query_def,                &multi_format_def, &validate_def,
    &create1_def,    &large_def,        &large_update_def, &large_create_def,
    &large_post_def, &obs_def,          &obs_non_def,      &link1_def,
    &link2_def,      &link3_def,        &path_def,         &sub1_def,
    &sub2_def,       &sub3_def,
};

_Static_assert(sizeof catalogue / sizeof catalogue[0] + CREATED_MAX <= PLUGTEST_MAX_RESOURCES,
               "PLUGTEST_MAX_RESOURCES too small");

static void state_init(void) {
    large_fill();
    large_def.sz = (uint32_t)large_len;
    static const char validate_text[] = "validate: PUT another text to change my ETag";
    memcpy(validate_doc.body, validate_text, sizeof validate_text - 1);
    validate_doc.len = sizeof validate_text - 1;
    validate_doc.exists = true;
    validate_doc.version = version_seed();
    create1_doc.version = version_seed();
    memcpy(large_update.body, large_text, large_len);
    large_update.len = large_len;
    large_update.cf = TERN_CF_TEXT_PLAIN;
    large_update.version = version_seed();
    obs.len = obs_non.len = (size_t)snprintf(obs.value, sizeof obs.value, "tick 0");
    memcpy(obs_non.value, obs.value, obs.len);
}

int plugtest_add(tern_io *io) {
    pt.srv = tern_io_server(io);
    pt.eng = tern_io_engine(io);
    if (pt.srv == NULL) return TERN_E_NOMEM;
    large_update.body = malloc(PLUGTEST_MAX_UPLOAD);
    large_post_answer = malloc(LARGE_POST_MAX);
    if (large_update.body == NULL || large_post_answer == NULL) {
        app_log(APP_LOG_ERROR, "plugtest: out of memory");
        return TERN_E_NOMEM;
    }
    state_init();
    for (size_t i = 0; i < sizeof catalogue / sizeof catalogue[0]; i++) {
        int rc = tern_server_add_resource(pt.srv, catalogue[i], NULL);
        if (rc < 0) {
            app_log(APP_LOG_ERROR, "plugtest: cannot add %s: %s", catalogue[i]->path,
                    tern_strerror(rc));
            return rc;
        }
    }
    /* The handles the timers and DELETE need. */
    obs.res = tern_server_find_resource(pt.srv, obs_def.path);
    obs_non.res = tern_server_find_resource(pt.srv, obs_non_def.path);
    uint64_t now = tern_io_now();
    tern_engine_timer_start(pt.eng, &obs.timer, now + OBS_PERIOD_MS, obs_tick, &obs);
    tern_engine_timer_start(pt.eng, &obs_non.timer, now + OBS_PERIOD_MS, obs_tick, &obs_non);
    app_log(APP_LOG_INFO, "plugtest: %zu resources (/test ... /path/sub3), request bodies up to %u bytes",
            sizeof catalogue / sizeof catalogue[0], PLUGTEST_MAX_UPLOAD);
    return 0;
}

void plugtest_free(void) {
    for (size_t i = 0; i < CREATED_MAX; i++) {
        free(large_created[i].body);
        large_created[i].body = NULL;
    }
    free(large_update.body);
    free(large_post_answer);
    large_update.body = large_post_answer = NULL;
}
