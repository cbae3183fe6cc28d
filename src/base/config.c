/* SPDX-License-Identifier: BSD-2-Clause */
/* config.c - see config.h and tern/config.h. */
#include "base/config.h"

#include <string.h>

#include "tern/error.h"

int tern_base_config_load(void *dst, size_t ours_size, const void *src, size_t min_size) {
    if (src == NULL) return 0;
    uint32_t theirs;
    memcpy(&theirs, src, sizeof theirs);
    if (theirs < min_size || theirs < sizeof theirs) return TERN_E_INVAL;
    if (theirs > ours_size) {
        /* A newer program: what it knows beyond us must be unused. */
        const unsigned char *extra = (const unsigned char *)src + ours_size;
        for (size_t i = 0; i < theirs - ours_size; i++)
            if (extra[i] != 0) return TERN_E_INVAL;
    }
    size_t n = theirs < ours_size ? theirs : ours_size;
    /* Everything after the size field; ours stays. */
    memcpy((unsigned char *)dst + sizeof theirs, (const unsigned char *)src + sizeof theirs,
           n - sizeof theirs);
    return 0;
}
