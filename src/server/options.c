/* SPDX-License-Identifier: BSD-2-Clause */
/* options.c - a request's options, read once, and what they allow before
 * any handler runs (RFC 7252 sections 5.4.1, 5.4.3, 5.4.5, 5.7.2, 5.10.6,
 * 5.10.8; RFC 7959 section 2.2).
 *
 * tern_srv_read_options walks the options once into an srv_reqopts that
 * every later step reads: dispatch, preconditions, Observe, Block1 and
 * Block2. Rules on the way:
 *  - "Recognised" means "this server acts on it", not "the codec can name
 *    it": a server that ignored, say, OSCORE would answer something else
 *    than was asked, which section 5.4.1 forbids for critical options. Any
 *    other critical option, a critical option repeated where it may not be
 *    (5.4.5) or of a length outside its range (5.4.3) gets 4.02 Bad Option.
 *  - An elective option with the same faults is ignored, exactly as if it
 *    were unrecognised (5.4.3, 5.4.5): a 4-byte Observe is no Observe (the
 *    GET is a plain one), a 3-byte Content-Format no Content-Format.
 *  - Block1 or Block2 with SZX 7 (reserved, RFC 7959 section 2.2) is a
 *    malformed request: 4.00.
 *  - Proxy-Uri or Proxy-Scheme: this server is no proxy, 5.05 (5.7.2). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "server/server_int.h"

/* Critical options this server honours. */
static bool server_understands(uint16_t num) {
    switch (num) {
    case TERN_OPT_IF_MATCH:       /* preconditions, below */
    case TERN_OPT_URI_HOST:       /* one server answers every host name */
    case TERN_OPT_IF_NONE_MATCH:
    case TERN_OPT_URI_PORT:
    case TERN_OPT_URI_PATH:
    case TERN_OPT_URI_QUERY:
    case TERN_OPT_ACCEPT:
    case TERN_OPT_BLOCK1:         /* block1.c */
    case TERN_OPT_BLOCK2:         /* block2.c */
    case TERN_OPT_PROXY_URI:      /* understood, and refused with 5.05 */
    case TERN_OPT_PROXY_SCHEME:
        return true;
    default:
        return false;
    }
}

static uint32_t uint_value(const tern_opt *o) {
    uint32_t v = 0;
    (void)tern_opt_uint_decode(o->val, o->len, &v); /* len checked: <= 4 */
    return v;
}

/* Keep the elective or critical option the server uses. */
static uint8_t take(srv_reqopts *ro, const tern_opt *o, char *diag, size_t cap) {
    switch (o->num) {
    case TERN_OPT_CONTENT_FORMAT: ro->cf = (int32_t)uint_value(o); break;
    case TERN_OPT_ACCEPT: ro->accept = (int32_t)uint_value(o); break;
    case TERN_OPT_OBSERVE: ro->observe = uint_value(o); break;
    case TERN_OPT_SIZE1: ro->size1 = uint_value(o); break;
    case TERN_OPT_SIZE2: ro->size2 = true; break;
    case TERN_OPT_ECHO:
        ro->echo = o->val;
        ro->echo_len = o->len;
        break;
    case TERN_OPT_IF_NONE_MATCH: ro->if_none_match = true; break;
    case TERN_OPT_PROXY_URI:
    case TERN_OPT_PROXY_SCHEME: ro->proxy = true; break;
    case TERN_OPT_ETAG:
        if (ro->n_etag < SRV_MAX_ETAGS) ro->etag[ro->n_etag] = *o;
        ro->n_etag++;
        break;
    case TERN_OPT_IF_MATCH:
        if (o->len == 0) ro->if_match_any = true;
        else if (ro->n_if_match < SRV_MAX_ETAGS) ro->if_match[ro->n_if_match] = *o;
        if (o->len) ro->n_if_match++;
        ro->has_if_match = true;
        break;
    case TERN_OPT_BLOCK1:
    case TERN_OPT_BLOCK2: {
        tern_block blk;
        if (tern_block_decode(uint_value(o), &blk) < 0) {
            /* RFC 7959 section 2.2: SZX 7 is reserved. */
            snprintf(diag, cap, "%s with the reserved SZX 7",
                     o->num == TERN_OPT_BLOCK1 ? "Block1" : "Block2");
            return TERN_CODE_BAD_REQUEST;
        }
        if (o->num == TERN_OPT_BLOCK1) ro->has_block1 = true, ro->block1 = blk;
        else ro->has_block2 = true, ro->block2 = blk, ro->block2_raw = uint_value(o);
        break;
    }
    default: break;
    }
    return 0;
}

uint8_t tern_srv_read_options(const tern_msg *req, srv_reqopts *ro, char *diag, size_t cap) {
    memset(ro, 0, offsetof(srv_reqopts, if_match));
    ro->cf = ro->accept = -1;
    ro->observe = ro->size1 = -1;
    ro->path_hash = SRV_PATH_HASH_INIT;
    tern_opt_iter it;
    tern_opt o;
    uint16_t prev = 0;
    unsigned count = 0;
    tern_opt_iter_init(&it, req);
    while (tern_opt_next(&it, &o)) {
        count = (o.num == prev) ? count + 1 : 1;
        prev = o.num;
        if (o.num == TERN_OPT_URI_PATH && o.len <= 255) {
            /* The option of almost every request, and always well-formed
             * here (repeatable, 0-255 bytes): straight to the path. */
            ro->path_hash = tern_srv_seg_hash(ro->path_hash, o.val, o.len);
            if (ro->n_path < SRV_MAX_SEGS) ro->path[ro->n_path] = o;
            ro->n_path++;
            continue;
        }
        const tern_opt_def *d = tern_opt_lookup(o.num);
        bool critical = tern_opt_is_critical(o.num);
        const char *why = NULL;
        if (d == NULL || (critical && !server_understands(o.num)))
            why = "unrecognised";
        else if (count > 1 && !d->repeatable)
            why = "repeated";
        else if (o.len < d->min_len || o.len > d->max_len)
            why = "bad length of";
        if (why && critical) {
            snprintf(diag, cap, "%s critical option %u%s%s", why, (unsigned)o.num, d ? " " : "",
                     d ? d->name : "");
            return TERN_CODE_BAD_OPTION;
        }
        if (why) continue; /* section 5.4.3: an elective one is ignored */
        uint8_t code = take(ro, &o, diag, cap);
        if (code) return code;
    }
    if (ro->proxy) {
        /* Section 5.7.2: a server that is no proxy answers 5.05. */
        snprintf(diag, cap, "this server is not a proxy");
        return TERN_CODE_PROXYING_NOT_SUPPORTED;
    }
    return 0;
}

bool tern_srv_etag_in(const tern_opt *list, uint8_t n, const uint8_t *etag, size_t len) {
    for (uint8_t i = 0; i < n && i < SRV_MAX_ETAGS; i++)
        if (list[i].len == len && memcmp(list[i].val, etag, len) == 0) return true;
    return false;
}

/* Section 5.10.8. The resource's current ETag comes from its etag callback
 * (tern_resource_def.etag); it also says whether the resource has a
 * representation at all. Without the callback the resource exists (or
 * dispatch would have answered 4.04) and its ETag is unknown, so no
 * If-Match value can match. */
uint8_t tern_srv_check_preconditions(const srv_reqopts *ro, const tern_resource *res,
                                     char *diag, size_t cap) {
    if (!ro->if_none_match && !ro->has_if_match) return 0;
    uint8_t etag[TERN_ETAG_MAX];
    size_t len = 0;
    bool exists = true;
    if (res->def.etag) {
        len = res->def.etag(res->def.ctx, etag);
        exists = len > 0;
    }
    if (ro->if_none_match && exists) {
        /* 5.10.8.2: "the condition is not fulfilled if the target resource
         * does exist". */
        snprintf(diag, cap, "If-None-Match: the resource exists");
        return TERN_CODE_PRECONDITION_FAILED;
    }
    if (ro->has_if_match) {
        /* 5.10.8.1: fulfilled by an empty value when the resource exists,
         * or by a value equal to its current ETag. */
        bool ok = (ro->if_match_any && exists) ||
                  (len > 0 && tern_srv_etag_in(ro->if_match, ro->n_if_match, etag, len));
        if (!ok) {
            snprintf(diag, cap, exists ? "If-Match: no ETag matches" :
                                         "If-Match: the resource does not exist");
            return TERN_CODE_PRECONDITION_FAILED;
        }
    }
    return 0;
}
