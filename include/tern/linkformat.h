/* SPDX-License-Identifier: BSD-2-Clause */
/* tern/linkformat.h - CoRE Link Format (RFC 6690) writer and parser.
 *
 * The writer appends links to a caller buffer; the parser walks a link-format
 * document in place and hands out pointers into it (nothing is copied). */
#ifndef TERN_LINKFORMAT_H
#define TERN_LINKFORMAT_H

#include "tern/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Writer -------------------------------------------------------------- */

typedef struct tern_linkw {
    char *buf;
    size_t cap;
    size_t len;     /* bytes of buf in use; buf is not NUL-terminated */
    bool overflow;  /* something did not fit; len stays at the last whole link */
    size_t n_links; /* whole links written */
    size_t link_start; /* where the open link begins; SIZE_MAX when none is */
} tern_linkw;

/* Every call below returns 0, TERN_E_NOSPACE once something did not fit,
 * TERN_E_INVAL for a target, name or value the grammar cannot carry (nothing
 * is written then), or TERN_E_STATE when called with no link open (or begin
 * with one open). Overflow is sticky: after it every call fails with
 * TERN_E_NOSPACE, so the document is always a prefix of whole links. */
TERN_API void tern_linkw_init(tern_linkw *w, char *buf, size_t cap);
/* Start a link "<target>", separated from the previous one by ",". */
TERN_API int tern_linkw_begin(tern_linkw *w, const char *target);
/* ;name="value" (quoted string; '"' and '\' escaped per RFC 6690 section 2). */
TERN_API int tern_linkw_attr_str(tern_linkw *w, const char *name, const char *value);
/* ;name=value (a token or number, unquoted). */
TERN_API int tern_linkw_attr_token(tern_linkw *w, const char *name, const char *value);
/* ;name=N */
TERN_API int tern_linkw_attr_uint(tern_linkw *w, const char *name, uint32_t value);
/* ;name (no value, e.g. "obs"). */
TERN_API int tern_linkw_attr_flag(tern_linkw *w, const char *name);
/* Drop the link being written (used when it would not fit). */
TERN_API void tern_linkw_abort(tern_linkw *w);
/* Finish the current link; TERN_E_NOSPACE if it did not fit, in which case
 * the buffer is left ending at the previous whole link. */
TERN_API int tern_linkw_end(tern_linkw *w);

/* ---- Parser -------------------------------------------------------------- */

typedef struct tern_link {
    const char *target; /* between < and >, not decoded */
    size_t target_len;
    const char *params; /* the ";..." run after '>' */
    size_t params_len;
} tern_link;

typedef struct tern_link_attr {
    const char *name;
    size_t name_len;
    const char *value; /* NULL for a flag such as "obs"; quotes stripped */
    size_t value_len;
    bool quoted;       /* value was a quoted-string (may hold \-escapes) */
} tern_link_attr;

typedef struct tern_link_iter {
    const char *pos, *end;
} tern_link_iter;

TERN_API void tern_link_iter_init(tern_link_iter *it, const char *doc, size_t len);
/* 1 and *link filled, 0 at the end, TERN_E_FORMAT on malformed input (and
 * again on every later call). Blanks and line breaks are allowed around ","
 * ";" and "=". */
TERN_API int tern_link_next(tern_link_iter *it, tern_link *link);

/* Walk a link's parameters: *pos starts at 0. 1, 0 at the end, or
 * TERN_E_FORMAT. */
TERN_API int tern_link_attr_next(const tern_link *link, size_t *pos, tern_link_attr *attr);
/* First attribute with this name (compared case-insensitively): 1 found
 * (attr may be NULL), 0 not found, or TERN_E_FORMAT. */
TERN_API int tern_link_find_attr(const tern_link *link, const char *name, tern_link_attr *attr);
/* Does a (possibly space-separated, as rt and if allow) attribute value
 * contain word, honouring a trailing '*' in word as a prefix match
 * (RFC 6690 section 4.1)? */
TERN_API bool tern_link_value_matches(const char *value, size_t value_len, const char *word,
                             size_t word_len);

#ifdef __cplusplus
}
#endif
#endif
