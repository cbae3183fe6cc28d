/* SPDX-License-Identifier: BSD-2-Clause */
/* io_int.h - what io_request.c needs of the io object beyond tern/io.h. */
#ifndef TERN_IO_INT_H
#define TERN_IO_INT_H

#include "tern/io.h"

/* The forward proxy's address (tern_io_config.proxy), or NULL. */
const tern_addr *tern_iop_proxy(const tern_io *io);
/* Whether coaps:// URIs can be reached (client DTLS credentials given). */
bool tern_iop_can_coaps(const tern_io *io);

#endif
