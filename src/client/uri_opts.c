/* uri_opts.c - from a URI to a request's options (RFC 7252 section 6.4).
 *
 * tern_uri_to_opts (src/msg) writes every option a URI can stand for. A
 * client that sends the datagram to the URI's own port must leave Uri-Port
 * out (step 6: only a port different from the destination port is sent),
 * otherwise a server behind a port mapping, or a strict one, would see a
 * port it does not serve. */
#include "tern/client.h"

int tern_client_uri_opts(const tern_uri *uri, tern_msgb *req) {
    if (!uri || !req) return TERN_E_INVAL;
    size_t before = req->n_opts;
    int rc = tern_uri_to_opts(uri, req);
    if (rc < 0) {
        req->n_opts = before;
        return rc;
    }
    /* Drop only the Uri-Port just added, not one the caller set on purpose
     * (e.g. -O 7,PORT to reach a virtual server). */
    size_t w = before;
    for (size_t r = before; r < req->n_opts; r++) {
        if (req->opts[r].num == TERN_OPT_URI_PORT) continue;
        req->opts[w] = req->opts[r];
        if (r != w) {
            /* uint values live in uint_store beside their slot. */
            for (int k = 0; k < 4; k++) req->uint_store[w][k] = req->uint_store[r][k];
            if (req->opts[r].val == req->uint_store[r]) req->opts[w].val = req->uint_store[w];
        }
        w++;
    }
    req->n_opts = w;
    return 0;
}
