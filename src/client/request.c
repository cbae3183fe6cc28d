/* request.c - one request, one response (RFC 7252 sections 5.2 and 5.3).
 *
 * The endpoint already hides how the response travels: piggybacked in the
 * ACK, or as a separate CON/NON response after an empty ACK (section 5.2.2),
 * which it ACKs because we accept it. All that is left here is to hand the
 * first matching response to the caller and free the slot; a duplicate or a
 * late second answer then no longer matches and is rejected. A request
 * whose payload needs several datagrams is handed to block1.c. */
#include "client/client_int.h"

int tern_client_request(tern_client *cli, const tern_addr *peer, tern_msgb *req,
                        uint32_t timeout_ms, tern_client_fn fn, void *ctx, uint64_t now_ms,
                        tern_req *id) {
    return client_start(cli, peer, req, timeout_ms, fn, ctx, now_ms, SLOT_REQUEST, id);
}

void request_on_response(client_slot *s, const tern_msg *resp, uint64_t now_ms) {
    if (s->block1) {
        block1_on_response(s, resp, now_ms);
        return;
    }
    client_finish(s, 0, resp, now_ms);
}
