/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/config.h - the one rule every tern configuration struct follows.
 *
 * tern_endpoint_config, tern_server_config, tern_client_config,
 * tern_engine_config and tern_io_config all work the same way:
 *
 * 1. Start from the defaults: tern_<x>_config_default(&cfg) fills every
 *    field, then change what you need. Passing NULL instead of a config
 *    means "all defaults".
 *
 * 2. Zero. A field where 0 is meaningless as a value (a capacity, a size, a
 *    timeout that must be positive, a pointer to a sub-config) takes its
 *    default when 0, so a program may zero what it does not care about.
 *    Where 0 is a meaningful value it means that value, never "default":
 *    max_retransmit 0 never retransmits, ack_delay_ms 0 acknowledges at once,
 *    busy_max_age_s 0 asks a client to retry at once, observe_margin_ms 0
 *    re-registers exactly when Max-Age runs out, io's port 0 binds an
 *    ephemeral port. Each field's comment says which kind it is.
 *
 * 3. Growth. The first field, `size`, is set by the _default function to
 *    the size of the struct in the header the program was compiled with.
 *    A library newer than the program reads that many bytes and gives the
 *    fields it added since their defaults; an older library accepts a
 *    larger struct when the bytes it does not know are all zero (the
 *    program does not use what that library lacks), and refuses it with
 *    TERN_E_INVAL otherwise. Fields are only ever added at the end. A
 *    config that holds another (the engine's endpoint, server and client
 *    settings) holds it by pointer, so that each can grow on its own. This
 *    is the extensible-struct rule of Linux's openat2(2) and clone3(2).
 *
 * 4. Errors. A constructor returns 0 or a negative TERN_E_* value (see
 *    tern/error.h) and gives the object through its first argument; nothing
 *    is reported through errno. */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#endif
