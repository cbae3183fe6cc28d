/* SPDX-License-Identifier: BSD-2-Clause */
/* discovery.c - /.well-known/core (RFC 6690 sections 4 and 4.1; RFC 7252
 * section 7.2 for the ct and sz attributes; RFC 7641 section 6 for obs).
 *
 * The document is generated on every GET from the resource table, straight
 * into the response's buffer, so it can never disagree with what the server
 * serves. Each resource that is not hidden becomes one link:
 *
 *   </alarm>;rt="alarm";if="core.a";ct=0;sz=3;title="Alarm";obs
 *
 * Query filtering (section 4.1): every Uri-Query "name=value" must match
 * (several are ANDed). href compares with the link target; rt, if and ct
 * are space-separated lists and match if one word matches; title and sz
 * compare the whole value; a trailing '*' makes any of them a prefix match.
 * A name without "=" asks only that the attribute be present ("?obs").
 * An unknown attribute matches nothing. With no link left the answer is a
 * 2.05 with an empty document: the query was fine, its result is empty.
 *
 * The document is served whole however many resources there are: it is
 * written into a buffer that tern_srv_wkc_fit keeps large enough for every
 * link (grown when a resource is added, never on a request), and a
 * document larger than a datagram goes out block-wise (RFC 7959 Block2,
 * block2.c) like any large representation. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "server/server_int.h"
#include "tern/linkformat.h"

static bool whole_matches(const char *have, const char *want, size_t want_len) {
    size_t hl = strlen(have);
    if (want_len > 0 && want[want_len - 1] == '*')
        return hl >= want_len - 1 && memcmp(have, want, want_len - 1) == 0;
    return hl == want_len && memcmp(have, want, want_len) == 0;
}

static bool name_is(const char *name, size_t len, const char *lit) {
    return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

static bool filter_matches(const tern_resource *res, const char *q, size_t qlen) {
    const tern_resource_def *d = &res->def;
    const char *eq = memchr(q, '=', qlen);
    size_t nlen = eq ? (size_t)(eq - q) : qlen;
    const char *val = eq ? eq + 1 : NULL;
    size_t vlen = eq ? qlen - nlen - 1 : 0;
    char sz[12];
    const char *have = NULL;
    bool list = false;
    if (name_is(q, nlen, "href")) {
        have = d->path;
    } else if (name_is(q, nlen, "rt")) {
        have = d->rt, list = true;
    } else if (name_is(q, nlen, "if")) {
        have = d->iface, list = true;
    } else if (name_is(q, nlen, "ct")) {
        have = d->ct, list = true;
    } else if (name_is(q, nlen, "title")) {
        have = d->title;
    } else if (name_is(q, nlen, "sz")) {
        if (d->sz) snprintf(sz, sizeof sz, "%u", (unsigned)d->sz), have = sz;
    } else if (name_is(q, nlen, "obs")) {
        return d->observable;
    } else {
        return false;
    }
    if (have == NULL) return false;
    if (val == NULL) return true;
    if (list) return tern_link_value_matches(have, strlen(have), val, vlen);
    return whole_matches(have, val, vlen);
}

static bool all_filters_match(const tern_resource *res, const tern_msg *msg) {
    tern_opt_iter it;
    tern_opt o;
    tern_opt_iter_init(&it, msg);
    while (tern_opt_next(&it, &o))
        if (o.num == TERN_OPT_URI_QUERY && !filter_matches(res, (const char *)o.val, o.len))
            return false;
    return true;
}

static void write_link(tern_linkw *w, const tern_resource_def *d) {
    tern_linkw_begin(w, d->path);
    if (d->rt) tern_linkw_attr_str(w, "rt", d->rt);
    if (d->iface) tern_linkw_attr_str(w, "if", d->iface);
    if (d->ct) {
        /* RFC 7252 section 7.2.1: one number bare, a list quoted. */
        if (strchr(d->ct, ' ')) tern_linkw_attr_str(w, "ct", d->ct);
        else tern_linkw_attr_token(w, "ct", d->ct);
    }
    if (d->sz) tern_linkw_attr_uint(w, "sz", d->sz);
    if (d->title) tern_linkw_attr_str(w, "title", d->title);
    if (d->observable) tern_linkw_attr_flag(w, "obs");
    tern_linkw_end(w);
}

/* Every link that passes the filters of msg (NULL: all) and that peer may
 * GET (NULL: anyone, for the largest document) into w. */
static void write_document(const tern_server *srv, const tern_msg *msg, const tern_addr *peer,
                           tern_linkw *w) {
    for (uint32_t i = 0; i < srv->n_res; i++) {
        const tern_resource *r = &srv->res[i];
        if (!r->used || r->def.hidden || (msg && !all_filters_match(r, msg))) continue;
        if (peer && srv->cfg.authorize &&
            srv->cfg.authorize(srv->cfg.authorize_ctx, peer, TERN_CODE_GET, r->def.path) != 0)
            continue;
        write_link(w, &r->def);
    }
}

int tern_srv_wkc_fit(tern_server *srv) {
    size_t cap = srv->wkc_cap ? srv->wkc_cap : 256;
    for (;;) {
        if (cap > srv->wkc_cap) {
            char *nb = realloc(srv->wkc_buf, cap);
            if (nb == NULL) return TERN_E_NOMEM;
            srv->wkc_buf = nb;
            srv->wkc_cap = cap;
        }
        tern_linkw w;
        tern_linkw_init(&w, srv->wkc_buf, srv->wkc_cap);
        write_document(srv, NULL, NULL, &w);
        if (!w.overflow) return 0;
        cap = srv->wkc_cap * 2;
    }
}

uint8_t tern_srv_wkc_get(tern_server_request *req, tern_server_response *resp) {
    tern_server *srv = req->srv;
    tern_linkw w;
    tern_linkw_init(&w, srv->wkc_buf, srv->wkc_cap);
    write_document(srv, req->msg, req->peer, &w);
    /* RFC 6690 section 4.1: a filter that leaves nothing is not answered
     * when the query went to a group (multicast discovery): 4.04, which the
     * endpoint does not send there (RFC 7252 8.2). To a unicast query the
     * answer is an empty document. */
    if (w.n_links == 0 && tern_server_request_multicast(req)) return TERN_CODE_NOT_FOUND;
    /* The buffer holds every link (tern_srv_wkc_fit), so nothing is cut. */
    tern_server_response_payload_ref(resp, TERN_CF_LINK_FORMAT, srv->wkc_buf, w.len);
    return TERN_CODE_CONTENT;
}
