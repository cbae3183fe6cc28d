/* SPDX-License-Identifier: BSD-2-Clause */
/* test_io_fixture.h - what the tests of tern_io over real loopback share:
 * the outcome of one request, filled by its client callback. */
#ifndef TEST_IO_FIXTURE_H
#define TEST_IO_FIXTURE_H

#include <string.h>

#include "tern/io.h"
#include "tern/tern.h"

typedef struct outcome {
    bool done;
    int err;
    uint8_t code;
    char payload[16];
} outcome;

static inline void on_answer(void *ctx, tern_client *cli, tern_client_op_id id,
                             const tern_client_event *ev, uint64_t now_ms) {
    (void)cli, (void)id, (void)now_ms;
    outcome *o = ctx;
    o->done = !ev->observing;
    o->err = ev->err;
    if (ev->resp) {
        o->code = ev->resp->code;
        size_t n = ev->resp->payload_len < sizeof o->payload - 1 ? ev->resp->payload_len
                                                                 : sizeof o->payload - 1;
        memcpy(o->payload, ev->resp->payload, n);
        o->payload[n] = 0;
    }
}

#endif
