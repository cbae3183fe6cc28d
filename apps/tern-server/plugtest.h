/* SPDX-License-Identifier: BSD-2-Clause */
/* plugtest.h - tern-server --plugtest: the resources that the ETSI CoAP
 * plugtest test descriptions (CoAP#4: TD_COAP_CORE, TD_COAP_LINK,
 * TD_COAP_BLOCK, TD_COAP_OBS) expect of a server under test, beside the
 * state resources, on the same port. See plugtest.c. */
#ifndef TERN_SERVER_PLUGTEST_H
#define TERN_SERVER_PLUGTEST_H

#include "tern/io.h"

/* Resources plugtest_add may have in the server's table at once: the fixed
 * ones and those created by POST /large-create (size max_resources for
 * them). */
#define PLUGTEST_MAX_RESOURCES 32
/* The largest request body a resource takes (PUT /large-update, POST
 * /large-create and /large-post, block-wise): the server's max_upload_bytes
 * must be at least this. */
#define PLUGTEST_MAX_UPLOAD (1u << 20)

/* Add the plugtest resources to io's server and start their timers. 0, or
 * a TERN_E_* value (logged). */
int plugtest_add(tern_io *io);
/* Free what plugtest_add and the resources allocated; after tern_io_free. */
void plugtest_free(void);

#endif
