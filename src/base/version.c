/* SPDX-License-Identifier: BSD-2-Clause */
/* version.c - tern_version(): the version the library was built as, from
 * the generated tern/version.h (project(tern VERSION ...) in CMakeLists.txt). */
#include "tern/version.h"

const char *tern_version(void) {
    return TERN_VERSION_STRING;
}
