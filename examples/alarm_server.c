/* SPDX-License-Identifier: BSD-2-Clause */
/* alarm_server.c - the tutorial's CoAP alarm server on tern's public API
 * (RFC 7252 GET/PUT, RFC 7641 Observe, RFC 6690 discovery).
 *
 * GET /alarm answers "ON" or "OFF"; PUT /alarm with "ON" or "OFF" changes it
 * and every observer hears of it at once: no polling thread, tern pushes the
 * notification when the handler says the state changed. Try, from another
 * terminal, with libcoap's client:
 *
 *   coap-client-notls -s 60 coap://[::1]/alarm          (observe)
 *   coap-client-notls -m put -e ON coap://[::1]/alarm   (switch it on)
 *   coap-client-notls coap://[::1]/.well-known/core     (discovery) */
#include <stdio.h>
#include <string.h>

#include "tern/io.h"
#include "tern/server.h"

static char alarm[4] = "OFF";

static uint8_t alarm_get(tern_server_request *req, tern_server_response *resp) {
    (void)req;
    tern_server_response_text(resp, alarm);
    return TERN_CODE_CONTENT;
}

static uint8_t alarm_put(tern_server_request *req, tern_server_response *resp) {
    size_t len;
    const uint8_t *p = tern_server_request_payload(req, &len);
    const char *next = NULL;
    if (len == 2 && memcmp(p, "ON", 2) == 0) next = "ON";
    if (len == 3 && memcmp(p, "OFF", 3) == 0) next = "OFF";
    if (next == NULL) {
        tern_server_response_diag(resp, "send ON or OFF");
        return TERN_CODE_BAD_REQUEST;
    }
    char from[64] = "?";
    tern_io_addr_format(tern_server_request_peer(req), from, sizeof from);
    printf("alarm: %s -> %s from %s\n", alarm, next, from);
    fflush(stdout);
    strcpy(alarm, next);
    tern_resource_changed(tern_server_request_resource(req)); /* notify observers */
    tern_server_response_text(resp, alarm);
    return TERN_CODE_CHANGED;
}

int main(void) {
    tern_io_config cfg;
    tern_io_config_default(&cfg); /* [::]:5683, IPv4 too */
    tern_io *io;
    int rc = tern_io_new(&io, &cfg);
    if (rc < 0) {
        fprintf(stderr, "alarm_server: cannot open UDP port 5683: %s\n", tern_strerror(rc));
        return 1;
    }
    static const tern_resource_def def = {
        .path = "/alarm", .get = alarm_get, .put = alarm_put,
        .observable = true, .rt = "alarm", .ct = "0",
    };
    if (tern_server_add_resource(tern_io_server(io), &def, NULL) < 0) return 1;
    printf("alarm server on coap://[::]:5683/alarm\n");
    fflush(stdout);
    tern_io_catch_signals(io); /* Ctrl-C ends tern_io_run cleanly */
    tern_io_run(io);
    tern_io_free(io);
    return 0;
}
