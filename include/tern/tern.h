/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/tern.h - every public tern header at once. */
#ifndef TERN_TERN_H
#define TERN_TERN_H

#include "tern/version.h"
#include "tern/config.h"
#include "tern/error.h"
#include "tern/msg.h"
#include "tern/uri.h"
#include "tern/linkformat.h"
#include "tern/endpoint.h"
#include "tern/server.h"
#include "tern/state.h"
#include "tern/client.h"
#include "tern/engine.h"
#include "tern/io.h"

#endif
