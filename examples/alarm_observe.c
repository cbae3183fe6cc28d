/* SPDX-License-Identifier: BSD-2-Clause */
/* alarm_observe.c - the tutorial's observe client (client_observe.py) on
 * tern: register as an observer of the alarm (RFC 7641 section 3) and print
 * its state on every notification, until Ctrl-C.
 *
 *   alarm_observe [coap://localhost/alarm]
 *   alarm_observe coaps://localhost/alarm IDENTITY KEY     (DTLS with a PSK)
 */
#include <stdio.h>
#include <string.h>

#include "tern/io.h"

/* Called for the first answer and then for each notification, in order. */
static void on_notification(void *ctx, tern_client *cli, tern_client_op_id id,
                            const tern_client_event *ev, uint64_t now_ms) {
    (void)cli, (void)id, (void)now_ms;
    if (ev->err) {
        printf("Observation is over: %s\n", tern_strerror(ev->err));
    } else if (TERN_CODE_CLASS(ev->resp->code) == 2) {
        printf("Alarm status: %.*s\n", (int)ev->resp->payload_len,
               (const char *)ev->resp->payload);
    } else {
        const char *code = tern_code_name(ev->resp->code);
        printf("Error code %s\n", code ? code : "?");
    }
    fflush(stdout);
    /* observing is false when the server ended it or never took us on. */
    if (!ev->observing) tern_io_stop(ctx);
}

int main(int argc, char **argv) {
    const char *uri = argc > 1 ? argv[1] : "coap://localhost/alarm";

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
        fprintf(stderr, "alarm_observe: cannot open a socket: %s\n", tern_strerror(rc));
        return 1;
    }
    tern_io_catch_signals(io); /* Ctrl-C ends tern_io_run cleanly */

    tern_msgb req;
    tern_msgb_init(&req, TERN_TYPE_CON, TERN_CODE_GET, 0);
    rc = tern_io_observe(io, uri, &req, 0, on_notification, io, NULL);
    if (rc < 0) {
        fprintf(stderr, "alarm_observe: %s: %s\n", uri, tern_strerror(rc));
        tern_io_free(io);
        return 1;
    }
    /* Notifications arrive while the loop runs. After Ctrl-C the server
     * stops hearing ACKs from us and drops the observation (RFC 7641
     * section 4.5); `tern observe` deregisters explicitly instead. */
    tern_io_run(io);
    tern_io_free(io);
    return 0;
}
