/* SPDX-License-Identifier: BSD-2-Clause */
/* server_int.h - private state of the server layer (RFC 7252 section 5,
 * RFC 7641, RFC 6690), shared by the files of src/server only.
 *
 * Who owns what:
 *   server.c     lifecycle, config, tick / next_deadline, stats
 *   resource.c   the resource table, path lookup, request dispatch (5.8)
 *   options.c    option checks before dispatch (5.4.1, 5.4.5, 5.7.2, 5.10)
 *   response.c   the response builder handed to handlers, finishing and
 *                sending an answer (5.2, 5.5.2, 5.10.4)
 *   block2.c     the block of a large representation that goes out
 *                (RFC 7959 2.4, 2.6)
 *   deferred.c   requests answered later (separate responses, 5.2.2)
 *   observe.c    the observer registry and notifications (RFC 7641)
 *   discovery.c  /.well-known/core (RFC 6690 sections 4 and 4.1)
 *
 * Every table is a fixed array allocated by tern_server_new; entries refer to
 * each other by uint32_t index (SRV_NIL for none). */
#ifndef TERN_SERVER_INT_H
#define TERN_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ilist.h"
#include "base/keyhash.h"
#include "base/slots.h"
#include "tern/server.h"

#define SRV_NIL TERN_NIL
#define SRV_MAX_CT 8        /* Content-Formats in a resource's ct list */
#define SRV_MAX_TABLE (1u << 20)

struct tern_server_response {
    tern_server *srv;
    tern_msgb b;
    uint8_t *arena; /* copies of option values and the payload */
    size_t cap, used;
    bool failed;
};

/* Path segments a request and a resource keep at hand (more are read from
 * the message or the string). */
#define SRV_MAX_SEGS 8

struct tern_resource {
    tern_server *srv;
    bool used;
    bool dirty; /* changed since the last notification round */
    tern_resource_def def;
    uint32_t index;
    uint32_t path_hash;
    /* The path's segments, where def.path holds them (its first
     * SRV_MAX_SEGS; n_segs counts all), for a lookup without a string walk. */
    uint32_t n_segs;
    bool segs_kept; /* all of them, in seg_off and seg_len */
    uint16_t seg_off[SRV_MAX_SEGS], seg_len[SRV_MAX_SEGS];
    uint8_t n_ct;
    uint16_t ct[SRV_MAX_CT];
    uint32_t seq;       /* RFC 7641 section 4.4: 24-bit Observe value */
    tern_ilist obs;     /* observers of this resource */
    uint32_t n_obs;
};

/* A request's options as the server uses them, read once (options.c). */
#define SRV_MAX_ETAGS 4
typedef struct srv_reqopts {
    int32_t cf, accept;      /* -1: absent (or ignored, RFC 7252 5.4.3) */
    int64_t observe, size1;  /* -1: absent */
    bool size2;              /* the client asks for the size (RFC 7959 4) */
    bool has_block1, has_block2;
    tern_block block1, block2;
    uint32_t block2_raw;
    bool if_none_match, has_if_match, if_match_any;
    uint8_t n_if_match, n_etag; /* counted; the first SRV_MAX_ETAGS kept */
    bool proxy;
    const uint8_t *echo; /* RFC 9175 Echo, echo_len bytes (0: none) */
    uint16_t echo_len;
    /* The path (section 6.5): its hash (resource.c), its segment count and
     * the first SRV_MAX_SEGS segments, so that the lookup reads no option
     * again. */
    uint32_t path_hash;
    uint32_t n_path;
    /* The arrays stay last: they are read only as far as their counts, so
     * tern_srv_read_options clears the struct up to here. */
    tern_opt if_match[SRV_MAX_ETAGS];
    tern_opt etag[SRV_MAX_ETAGS];
    tern_opt path[SRV_MAX_SEGS];
} srv_reqopts;

struct tern_server_request {
    tern_server *srv;
    const srv_reqopts *ro;   /* NULL for a notification's GET */
    const uint8_t *body;     /* the payload (whole, after Block1) */
    size_t body_len;
    tern_resource *res;
    const tern_addr *peer;
    const tern_msg *msg;
    uint64_t now_ms;
    tern_endpoint_req_id id;
    uint8_t method;
    bool notification;
    bool observe;  /* registers if the answer is 2.xx */
    bool deferred; /* tern_server_request_defer succeeded */
    int32_t accept, cf;
    int64_t block2;
};

/* One observation, keyed by (peer, token) (RFC 7641 section 4.1). */
typedef struct srv_observer {
    tern_server *srv;
    bool used;
    bool inflight;      /* a CON notification awaits its ACK (4.5.2) */
    bool pending;       /* a newer state is due once it completes */
    bool non_mid_valid; /* non_mid: MID of the last NON, to match a RST */
    uint8_t token_len;
    uint8_t token[TERN_TOKEN_MAX];
    uint16_t non_mid;
    int32_t accept;
    uint8_t szx;          /* Block2 size the registration asked for, 7: none */
    uint32_t res;
    uint32_t since_con;   /* NON notifications since the last CON */
    uint64_t last_con_ms; /* last CON (or the registration) */
    uint64_t proved_ms;   /* last ACK from it (or its peer verified); 0: none */
    tern_ilink tlink;      /* probation (never proved) or trusted, oldest first */
    tern_ilink clink;      /* on srv->due: a notification waits for outbox room */
    bool queued;           /* on srv->due: */
    bool due_change;       /* for a change of state */
    bool due_con;          /* for a check (a CON) */
    bool trusted;          /* on srv->trusted, else on srv->probation */
    tern_ilink rlink;      /* observers of the same resource */
    tern_ilink live;       /* liveness list, ordered by last_con_ms */
    uint32_t hnext;        /* hash chain, or the free list */
    tern_addr peer;
} srv_observer;

/* Counts per address (counts.c). */
typedef struct srv_count {
    tern_addr key;
    uint32_t count;
    uint32_t next; /* hash chain, or the free list */
} srv_count;
typedef struct srv_counts {
    srv_count *v;
    uint32_t *buckets;
    uint32_t mask;
    tern_slots slots; /* free entries: next */
} srv_counts;

/* A request body arriving block by block (RFC 7959 Block1), or, once
 * answered, the answer kept for its Block2 continuations (section 2.7). */
typedef struct srv_upload {
    bool used;
    bool answered;     /* buf holds the encoded answer, not a body */
    uint8_t method;
    uint8_t szx;       /* the client's block size */
    uint32_t res;      /* resource index */
    uint32_t last_num; /* Block1 NUM of the last block taken */
    size_t len;        /* bytes in buf */
    uint64_t expires;  /* reclaimed lazily once past */
    uint8_t *buf;      /* max_upload_bytes */
    tern_addr peer;
    /* The answer to an unsafe request withheld from an unverified peer
     * (amplification.c): served, once, to the same request repeated with
     * this Echo, instead of running the handler again. */
    bool once;
    uint8_t echo[8];
    uint64_t body_hash;
} srv_upload;

/* A request taken for a later answer. */
typedef struct srv_deferred {
    bool used;
    bool observe;
    uint8_t method;
    uint8_t token_len;
    uint8_t token[TERN_TOKEN_MAX];
    tern_endpoint_req_id id;
    uint32_t res; /* SRV_NIL once the resource is removed */
    int32_t accept;
    int64_t block2;
    bool size2;
    size_t req_len;
    uint64_t body_hash; /* unsafe methods: see srv_reqinfo */
    uint64_t deadline_ms;
    tern_addr peer;
    tern_ilink link; /* in def_live (oldest first) or def_free */
} srv_deferred;

struct tern_server {
    tern_endpoint *ep;
    tern_server_config cfg;

    tern_resource *res;
    uint32_t n_res; /* high-water mark of res[] */
    /* Open addressing on path_hash: index + 1 of a resource, 0 empty;
     * res_mask + 1 slots, at least twice max_resources. */
    uint32_t *res_slots;
    uint32_t res_mask;

    srv_observer *obs;
    uint32_t *obs_hash;
    uint32_t hash_mask;
    tern_slots obs_slots; /* free observers: hnext */
    uint32_t n_obs;
    tern_ilist live;
    tern_ilist probation, trusted; /* observe.c: whom to reclaim a slot from */
    /* Observers whose notification (or check) is due, in order: sent as
     * the outbox has room, so that a change to 100,000 observers goes out
     * in outbox-sized rounds instead of being dropped. */
    tern_ilist due;
    srv_counts per_peer, per_host; /* observers per peer and per host */
    tern_hkey hkey; /* observers are keyed by what peers choose */
    uint64_t retry_at; /* UINT64_MAX: no observer waits for outbox or table space */
    bool retry_scan;   /* some wait for table space (pending): look at all */
    bool due_on_ack;   /* the due list waits for a free exchange: obs_done drains it */

    srv_deferred *def;
    /* Deferred requests in the order taken, which is their deadlines'
     * (each gets now + deferred_timeout_ms); free slots. */
    tern_ilist def_live, def_free;
    uint32_t respond_slot; /* between respond_begin and respond */

    /* One response per context, so that a handler may answer a deferred
     * request while its own response is open, and notifications can be made
     * while either is. */
    tern_server_response resp_req, resp_def, resp_notify;
    uint8_t *notify_req_buf; /* the GET synthesised for a notification */
    /* The notification of one round, encoded once with no token (RFC 7641
     * section 4.2: every observer of a resource with the same Accept and
     * block size gets the same bytes but for token, MID and type); valid
     * while its key matches. */
    uint8_t *tmpl_buf;
    size_t tmpl_len;
    bool tmpl_valid;
    bool tmpl_big; /* valid, and too large for a datagram: the general path */
    uint32_t tmpl_res, tmpl_seq;
    int32_t tmpl_accept;
    uint8_t tmpl_szx;

    srv_upload *uploads;
    srv_upload *serving; /* the slot a kept answer is being sent from */     /* block1.c */
    uint8_t *upload_bytes;   /* max_uploads * max_upload_bytes */

    uint8_t *scratch;        /* TERN_SRV_SCRATCH bytes: sizing an answer */

    char *wkc_buf;           /* discovery.c: room for the whole document */
    size_t wkc_cap;

    bool any_dirty, flushing;
    tern_server_stats st;
};

/* resource.c */
/* Walk the segments of a "/a/b" path; *seg starts NULL. "/" has none. */
bool tern_srv_path_next(const char **pos, const char **seg, size_t *len);
int tern_srv_resources_init(tern_server *srv);
/* The resource at the path of a request (its options read into ro). */
tern_resource *tern_srv_resource_lookup(tern_server *srv, const tern_msg *msg,
                                        const srv_reqopts *ro);
/* FNV-1a path hashing, segment by segment (resource.c). */
#define SRV_PATH_HASH_INIT 2166136261u
uint32_t tern_srv_seg_hash(uint32_t h, const uint8_t *p, size_t n);
tern_handler tern_srv_resource_handler(const tern_resource *res, uint8_t method);
bool tern_srv_ct_allows(const tern_resource *res, int32_t cf);

/* options.c */
/* Read the options of req into ro (section 5.4): 0 when the request may go
 * on, else the error code to answer with and a diagnostic in diag. */
uint8_t tern_srv_read_options(const tern_msg *req, srv_reqopts *ro, char *diag, size_t cap);
/* Section 5.10.8: 0, or 4.12 with diag. */
uint8_t tern_srv_check_preconditions(const srv_reqopts *ro, const tern_resource *res,
                                     char *diag, size_t cap);
/* Is etag among the first n (at most SRV_MAX_ETAGS) of list? */
bool tern_srv_etag_in(const tern_opt *list, uint8_t n, const uint8_t *etag, size_t len);

/* response.c */
int tern_srv_response_init(tern_server_response *r, tern_server *srv, size_t cap);
void tern_srv_response_reset(tern_server_response *r);
void tern_srv_response_free(tern_server_response *r);
bool tern_srv_response_cf(const tern_server_response *r, uint32_t *cf);
/* RFC 7252 section 5.8: GET and FETCH (RFC 8132) are safe; every other
 * method may act. */
static inline bool srv_method_unsafe(uint8_t code) {
    return code != TERN_CODE_GET && code != TERN_CODE_FETCH;
}
/* What an answer needs to know of its request. */
typedef struct srv_reqinfo {
    tern_resource *res;
    const tern_addr *peer;
    const uint8_t *token;
    uint8_t token_len;
    bool observe;   /* register the peer if the answer is 2.xx */
    int32_t accept; /* -1: none */
    int64_t block2; /* the request's Block2 value, -1: none */
    bool get;       /* a GET: its 2.xx answer carries the resource's ETag */
    bool size2;     /* the request carried Size2 (RFC 7959 section 4) */
    int64_t block1; /* Block1 value to echo (RFC 7959 2.5), -1: none */
    size_t req_len;  /* bytes of the request on the wire (amplification) */
    srv_upload *keep; /* a completed upload: keep a block-wise answer here */
    uint8_t method;
    /* An unsafe method (RFC 7252 5.8: not GET or FETCH): its answer,
     * withheld for amplification, is kept rather than made again. */
    bool unsafe;
    uint64_t body_hash; /* of the request body, for unsafe methods */
} srv_reqinfo;

/* Finish r with code (see response.c) and send it as the answer to id. */
void tern_srv_answer(tern_server *srv, tern_endpoint_req_id id, tern_server_response *r, uint8_t code,
                const srv_reqinfo *ri, uint64_t now_ms);
/* Answer id with code and the diagnostic diag; ri (the request's peer and
 * size, NULL: none) bounds it for amplification. */
void tern_srv_answer_error(tern_server *srv, tern_endpoint_req_id id, uint8_t code, const char *diag,
                           const srv_reqinfo *ri, uint64_t now_ms);
/* RFC 7641 section 4.3.1: Max-Age on an observation's answer and its
 * notifications (the resource's, else the server's), unless the handler set
 * one. */
void tern_srv_add_max_age(const tern_server *srv, const tern_resource *res, tern_msgb *b);
/* RFC 7252 section 5.10.6: the resource's ETag (its etag callback) on a
 * 2.xx representation, unless the handler set one. */
void tern_srv_add_etag(const tern_resource *res, tern_server_response *r);
/* Apply the checks every answer gets; returns the final code. */
uint8_t tern_srv_response_finish(tern_server_response *r, uint8_t code, int32_t accept);

/* block2.c: the representation a handler made, and the block of it that
 * goes out (RFC 7959 2.4, 2.6). */
#define TERN_SRV_NO_BLOCK 7 /* szx of "the whole representation, no Block2" */
typedef struct srv_block2 {
    tern_server *srv;
    const uint8_t *full; /* the whole representation */
    size_t total;
    uint32_t num;        /* the block in r's payload */
    uint8_t szx;         /* TERN_SRV_NO_BLOCK: none, r holds it all */
    bool size2;          /* the request asked for Size2 */
    bool has_etag;       /* r carries an ETag (the handler's or ours) */
    uint8_t etag[4];
} srv_block2;
/* Remember r's payload as the whole representation; size2: the request
 * carried Size2 (every block then says the total). */
void tern_srv_block2_begin(srv_block2 *st, const tern_server_response *r, bool size2);
/* The block a request's Block2 value asks for: 0, or the error code to
 * answer with (4.02 for a block past the end or an undecodable value). */
uint8_t tern_srv_block2_request(srv_block2 *st, tern_server_response *r, uint32_t value);
/* Block 0 of 2^(szx+4) bytes (an observer's size, section 2.6);
 * TERN_SRV_NO_BLOCK: the whole representation. */
void tern_srv_block2_limit(srv_block2 *st, tern_server_response *r, uint8_t szx);
/* What was in r did not fit a datagram: the next smaller block starting at
 * the same byte. false when none is left. */
bool tern_srv_block2_shrink(srv_block2 *st, tern_server_response *r);

/* block1.c (RFC 7959 section 2.5) */
int tern_srv_block1_init(tern_server *srv);
void tern_srv_block1_free(tern_server *srv);
/* Outcomes of tern_srv_block1_take. */
enum { SRV_B1_ANSWERED, SRV_B1_WHOLE };
/* req carries Block1: take its block. SRV_B1_ANSWERED: the request was
 * answered (2.31 Continue, or 4.08 / 4.13 / 4.00 / 5.03). SRV_B1_WHOLE:
 * the last block arrived; req->body is the whole body and *slot the upload
 * (to answer with tern_srv_block1_done). */
int tern_srv_block1_take(tern_server *srv, tern_server_request *req, srv_upload **slot);
/* The handler has run on the whole body: the slot keeps a block-wise
 * answer (reqinfo.keep did) or is freed. */
void tern_srv_block1_done(tern_server *srv, srv_upload *slot);
/* A request for block NUM > 0 of an answer kept after an upload (section
 * 2.7): true when it was answered from there. */
bool tern_srv_block1_continue(tern_server *srv, tern_server_request *req);
/* tern_srv_answer: keep r's whole answer in slot for its continuations. */
void tern_srv_block1_keep(tern_server *srv, srv_upload *slot, const tern_server_response *r,
                          uint64_t now_ms);
/* tern_srv_answer: keep r, the answer to ri's unsafe request withheld for
 * the Echo challenge echo, in a slot of its own (none free: not kept). */
void tern_srv_block1_keep_once(tern_server *srv, const srv_reqinfo *ri,
                               const tern_server_response *r, const uint8_t echo[8],
                               uint64_t now_ms);
/* An unsafe request repeated with the Echo of a kept answer: true when it
 * was answered from there (the handler does not run again). */
bool tern_srv_block1_serve_once(tern_server *srv, tern_server_request *req);
/* What a withheld answer is matched by: the request body's hash. */
uint64_t tern_srv_body_hash(const tern_server *srv, const uint8_t *body, size_t len);

/* amplification.c (RFC 7252 11.3, RFC 9175 2.4) */
#define TERN_SRV_SCRATCH 65536u
/* A valid Echo in ro verifies peer. */
void tern_srv_echo_check(tern_server *srv, const tern_addr *peer, const srv_reqopts *ro,
                         uint64_t now_ms);
/* Would b, to ri's unverified peer, exceed the amplification limit? Most
 * answers are clearly within it, which this finds without a call; the
 * rest ask whether the peer is verified and encode b (amplification.c). */
bool tern_srv_amplifies_slow(tern_server *srv, const srv_reqinfo *ri, const tern_msgb *b);
static inline bool tern_srv_amplifies(tern_server *srv, const srv_reqinfo *ri, const tern_msgb *b) {
    uint32_t limit = srv->cfg.amplification_limit;
    if (limit == TERN_AMPLIFICATION_UNLIMITED || ri->req_len == 0) return false;
    /* At most this large (an option's header takes 1 to 5 bytes). */
    uint64_t most = TERN_HEADER_LEN + b->token_len + (b->payload_len ? 1 + b->payload_len : 0);
    for (size_t i = 0; i < b->n_opts; i++) most += 5u + b->opts[i].len;
    return most > (uint64_t)limit * ri->req_len && tern_srv_amplifies_slow(srv, ri, b);
}
/* A fresh Echo value for peer. */
void tern_srv_echo_make(const tern_server *srv, const tern_addr *peer, uint64_t now_ms,
                        uint8_t echo[8]);
/* r becomes a 4.01 carrying echo (its code is the caller's). */
void tern_srv_echo_challenge(tern_server *srv, tern_server_response *r, const uint8_t echo[8]);
size_t tern_srv_request_len(const tern_msg *m);

/* What the answer to req needs to know of it (inline: every request
 * makes one). */
static inline srv_reqinfo tern_srv_reqinfo(const tern_server_request *req) {
    const tern_msg *msg = req->msg;
    bool unsafe = srv_method_unsafe(msg->code);
    return (srv_reqinfo){.res = req->res,
                         .peer = req->peer,
                         .token = msg->token,
                         .token_len = msg->token_len,
                         .observe = req->observe,
                         .accept = req->accept,
                         .block2 = req->block2,
                         .get = msg->code == TERN_CODE_GET,
                         .size2 = req->ro->size2,
                         .block1 = -1,
                         .req_len = tern_srv_request_len(msg),
                         .method = msg->code,
                         .unsafe = unsafe,
                         .body_hash = unsafe ? tern_srv_body_hash(req->srv, req->body, req->body_len)
                                             : 0};
}

/* deferred.c */
int tern_srv_deferred_init(tern_server *srv);
int srv_deferred_take(tern_server *srv, tern_server_request *req);
void tern_srv_deferred_tick(tern_server *srv, uint64_t now_ms);
/* res is being removed: requests deferred on it are still answered, but
 * register no observer (its slot may hold another resource by then). */
void tern_srv_deferred_forget_resource(tern_server *srv, const tern_resource *res);
uint64_t tern_srv_deferred_deadline(const tern_server *srv);

/* observe.c */
int tern_srv_observe_init(tern_server *srv);
void tern_srv_observe_free(tern_server *srv);
/* Would a registration of (peer, token) on res be accepted? With the table
 * full this may reclaim the slot of an observer that did not answer a
 * check, or start such a check (hence now). */
bool tern_srv_observe_can_register(tern_server *srv, const tern_resource *res, const tern_addr *peer,
                                   const uint8_t *token, uint8_t token_len, uint64_t now_ms);
/* Register or replace; the Observe value for the answer, or -1 if refused.
 * szx: the Block2 size of the registration (7: none), which notifications
 * keep to (RFC 7959 2.4, 2.6). */
int32_t tern_srv_observe_register(tern_server *srv, tern_resource *res, const tern_addr *peer,
                             const uint8_t *token, uint8_t token_len, int32_t accept,
                             uint8_t szx, uint64_t now_ms);
/* Remove (peer, token) if registered; true if it was. */
bool tern_srv_observe_deregister(tern_server *srv, const tern_addr *peer, const uint8_t *token,
                            uint8_t token_len);
/* tern_endpoint_respond for an answer that registered (peer, token): the
 * shape it took is remembered, so that a RST to a NON answer or a separate
 * CON one ends the observation (RFC 7641 section 3.6). */
int tern_srv_observe_respond(tern_server *srv, tern_endpoint_req_id id, tern_msgb *b, const tern_addr *peer,
                        const uint8_t *token, uint8_t token_len, uint64_t now_ms);
void tern_srv_observe_flush(tern_server *srv, uint64_t now_ms);
void tern_srv_observe_remove_all(tern_server *srv, tern_resource *res, uint8_t code,
                            const char *diag, uint64_t now_ms);
void tern_srv_observe_reset(tern_server *srv, const tern_addr *peer, uint16_t mid);
/* An ICMP error quoted the NON (mid, token) we sent to peer: remove the
 * observer it notified. */
bool tern_srv_observe_unreachable(tern_server *srv, const tern_addr *peer, uint16_t mid,
                                  const uint8_t *token, size_t token_len);
void tern_srv_observe_tick(tern_server *srv, uint64_t now_ms);
uint64_t tern_srv_observe_deadline(const tern_server *srv);

/* counts.c */
int tern_srv_counts_init(srv_counts *c, uint32_t cap);
void tern_srv_counts_free(srv_counts *c);
uint32_t tern_srv_counts_get(const tern_server *srv, srv_counts *c, const tern_addr *key);
/* delta +1 or -1. */
void tern_srv_counts_add(const tern_server *srv, srv_counts *c, const tern_addr *key, int delta);
/* The address with its port bytes zeroed (tern_addr.port_off). */
tern_addr tern_srv_host_of(const tern_addr *a);

/* discovery.c */
uint8_t tern_srv_wkc_get(tern_server_request *req, tern_server_response *resp);
/* Grow the discovery buffer to hold every link (after the resources
 * changed): 0 or TERN_E_NOMEM. */
int tern_srv_wkc_fit(tern_server *srv);

#endif
