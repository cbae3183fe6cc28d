/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/export.h - TERN_API, the mark of tern's public functions.
 *
 * The library is built with -fvisibility=hidden: only what a public header
 * declares with TERN_API leaves the shared library, so that the internal
 * names of one layer (hidden, and prefixed tern_ep_, tern_srv_, tern_cl_,
 * tern_eng_, tern_base_ or tern_iop_) can never collide with a program's
 * own. Every public header includes this one. */
#ifndef TERN_EXPORT_H
#define TERN_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define TERN_API __attribute__((visibility("default")))
#else
#define TERN_API
#endif

#endif
