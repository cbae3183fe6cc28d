/* SPDX-License-Identifier: BSD-2-Clause */
/* alarm_put.c - the tutorial's PUT client (client_put.py) on tern: set the
 * alarm to ON or OFF at random and print the result code and payload.
 * RFC 7252 sections 5.8.3 (PUT) and 5.2 (the response).
 *
 *   alarm_put [coap://localhost/alarm]
 *   alarm_put coaps://localhost/alarm IDENTITY KEY     (DTLS with a PSK)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/io.h"

int main(int argc, char **argv) {
    const char *uri = argc > 1 ? argv[1] : "coap://localhost/alarm";
    srand((unsigned)time(NULL));
    const char *state = rand() % 2 ? "ON" : "OFF";

    tern_io_config cfg;
    tern_io_config_default(&cfg);
    cfg.port = 0; /* a client: any free local port */
    tern_io_dtls_config psk; /* coaps: RFC 7252 section 9.1.3.1 */
    tern_io_dtls_config_default(&psk);
    if (argc > 3) {
        psk.psk_identity = argv[2];
        psk.psk_key = (const uint8_t *)argv[3];
        psk.psk_key_len = strlen(argv[3]);
        cfg.dtls = &psk;
    }
    tern_io *io;
    int rc = tern_io_new(&io, &cfg);
    if (rc < 0) {
        fprintf(stderr, "alarm_put: cannot open a socket: %s\n", tern_strerror(rc));
        return 1;
    }

    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_PUT, 0);
    tern_msgb_add_uint(&req, TERN_OPT_CONTENT_FORMAT, TERN_CF_TEXT_PLAIN);
    tern_msgb_set_payload(&req, state, strlen(state));

    /* Blocks until the answer comes, or 93 s of silence (0: the default). */
    tern_io_reply resp;
    rc = tern_io_request(io, uri, &req, 0, &resp);
    tern_io_free(io);
    if (rc < 0) {
        fprintf(stderr, "alarm_put: %s: %s\n", uri, tern_strerror(rc));
        return 1;
    }

    const char *code = tern_code_name(resp.msg.code);
    printf("Result: %s\n", code ? code : "?");
    if (resp.msg.payload_len)
        printf("%.*s\n", (int)resp.msg.payload_len, (const char *)resp.msg.payload);
    return TERN_CODE_CLASS(resp.msg.code) == 2 ? 0 : 1;
}
