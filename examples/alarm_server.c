/* SPDX-License-Identifier: BSD-2-Clause */
/* alarm_server.c - the tutorial's CoAP alarm server on tern's public API
 * (RFC 7252 GET/PUT, RFC 7641 Observe, RFC 6690 discovery).
 *
 * GET /alarm answers "ON" or "OFF"; PUT /alarm with "ON" or "OFF" changes it
 * and every observer hears of it at once: no polling thread, tern pushes the
 * notification when the state changes. Anything else gets 4.00 naming ON
 * and OFF. The state is kept in ./alarm-state/alarm.state, written durably
 * before the 2.04 leaves, so it survives a restart (tern/state.h). Try,
 * from another terminal, with libcoap's client:
 *
 *   coap-client-notls -s 60 coap://[::1]/alarm          (observe)
 *   coap-client-notls -m put -e ON coap://[::1]/alarm   (switch it on)
 *   coap-client-notls coap://[::1]/.well-known/core     (discovery)
 *
 * Usage: alarm_server [PORT [STATE-DIRECTORY]] (default 5683, ./alarm-state) */
#include <stdio.h>
#include <stdlib.h>

#include "tern/io.h"
#include "tern/state.h"

/* Each change, as it happens. */
static void print_change(void *ctx, const tern_state_event *ev) {
    (void)ctx;
    if (ev->kind != TERN_STATE_CHANGED) return;
    char from[64] = "?";
    if (ev->peer) tern_io_addr_format(ev->peer, from, sizeof from);
    printf("alarm: %s -> %s from %s\n", ev->old_value, ev->value, from);
    fflush(stdout);
}

int main(int argc, char **argv) {
    tern_io_config cfg;
    tern_io_config_default(&cfg); /* [::]:5683, IPv4 too */
    if (argc > 1) cfg.port = (uint16_t)atoi(argv[1]);
    const char *dir = argc > 2 ? argv[2] : "alarm-state";
    char why[512];
    tern_state_backend *files;
    if (tern_state_file_open(&files, dir, why, sizeof why) < 0) {
        fprintf(stderr, "alarm_server: %s\n", why);
        return 1;
    }
    static const char *const values[] = {"OFF", "ON"};
    tern_state_def def = {.path = "/alarm", .values = values, .n_values = 2, .initial = 0,
                          .backend = files, .notify_con = true, .on_event = print_change};
    tern_state *alarm;
    if (tern_state_new(&alarm, &def, why, sizeof why) < 0) {
        fprintf(stderr, "alarm_server: /alarm: %s\n", why);
        return 1;
    }
    tern_io *io;
    int rc = tern_io_new(&io, &cfg);
    if (rc < 0) {
        fprintf(stderr, "alarm_server: cannot open UDP port %u: %s\n", (unsigned)cfg.port,
                tern_strerror(rc));
        return 1;
    }
    if (tern_state_serve(alarm, tern_io_server(io)) < 0) return 1;
    printf("alarm server on coap://[::]:%u/alarm, alarm %s\n", (unsigned)tern_io_port(io),
           tern_state_value(alarm));
    fflush(stdout);
    tern_io_catch_signals(io); /* Ctrl-C ends tern_io_run cleanly */
    tern_io_run(io);
    tern_io_free(io);
    tern_state_free(alarm);
    tern_state_file_close(files);
    return 0;
}
