/* SPDX-License-Identifier: BSD-2-Clause */
/* test_public_headers.c - the public headers live together in one
 * translation unit (no clashing names between layers) and every TERN_E_*
 * value has a name of its own. */
#include "tern/tern.h"
#include "tern_test.h"

#include <string.h>

static void test_every_error_has_a_distinct_name(void **state) {
    (void)state;
    static const int errs[] = {TERN_E_INVAL,   TERN_E_NOSPACE, TERN_E_FORMAT, TERN_E_FULL,
                               TERN_E_NOTFOUND, TERN_E_TIMEOUT, TERN_E_RESET,  TERN_E_URI,
                               TERN_E_SYSTEM,  TERN_E_STATE,   TERN_E_REJECT, TERN_E_CANCELLED,
                               TERN_E_UNREACHABLE};
    size_t n = sizeof errs / sizeof errs[0];
    for (size_t i = 0; i < n; i++) {
        assert_non_null(tern_strerror(errs[i]));
        for (size_t j = 0; j < i; j++) assert_string_not_equal(tern_strerror(errs[i]), tern_strerror(errs[j]));
    }
    assert_non_null(tern_strerror(12345));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_has_a_distinct_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
