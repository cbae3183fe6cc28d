/* SPDX-License-Identifier: BSD-2-Clause */
/* config.h - reading a caller's config struct under the rule of
 * tern/config.h (leading `size`, defaults for what an older caller lacks,
 * zeros required in what a newer caller adds). */
#ifndef TERN_BASE_CONFIG_H
#define TERN_BASE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* dst (ours_size bytes) already holds the defaults. Copy the caller's
 * struct src over it: as many bytes as both know. 0, or TERN_E_INVAL when
 * src's size is below min_size (no valid struct of any version), or when
 * src is larger than ours and the bytes we do not know are not all zero.
 * src NULL: keep the defaults. dst's own size field is left as ours. */
int tern_base_config_load(void *dst, size_t ours_size, const void *src, size_t min_size);

#endif
