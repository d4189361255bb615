/* SPDX-License-Identifier: MIT */
/* Status codes: names, strings, fixed numbers, and the thread's last error. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <check.h>

#include "status.h"
#include "suites.h"

START_TEST(test_names_and_strings)
{
    ck_assert_str_eq(parley_status_name(PARLEY_OK), "PARLEY_OK");
    ck_assert_str_eq(parley_status_name(PARLEY_ERR_MALFORMED), "PARLEY_ERR_MALFORMED");
    ck_assert_str_eq(parley_status_string(PARLEY_ERR_MALFORMED), "malformed data");
    ck_assert_str_eq(parley_status_string(PARLEY_ERR_OVERFLOW), "limit exceeded");
    ck_assert_str_eq(parley_status_name((parley_status)9999), "PARLEY_ERR_UNKNOWN");
    ck_assert_str_eq(parley_status_string((parley_status)9999), "unknown status");
}
END_TEST

/* Numbers cross the wire: pin every released one. */
START_TEST(test_numbers_are_fixed)
{
    static const struct { parley_status st; int num; } fixed[] = {
        { PARLEY_OK, 0 }, { PARLEY_PENDING, 1 }, { PARLEY_ERR_NOMEM, 2 },
        { PARLEY_ERR_INVALID_ARGUMENT, 3 }, { PARLEY_ERR_INVALID_STATE, 4 },
        { PARLEY_ERR_MALFORMED, 5 }, { PARLEY_ERR_OVERFLOW, 6 }, { PARLEY_ERR_TIMEOUT, 7 },
        { PARLEY_ERR_CANCELLED, 8 }, { PARLEY_ERR_CONNECTION_REFUSED, 9 },
        { PARLEY_ERR_CONNECTION_CLOSED, 10 }, { PARLEY_ERR_PROTOCOL_MISMATCH, 11 },
        { PARLEY_ERR_ACCESS_DENIED, 12 }, { PARLEY_ERR_NOT_FOUND, 13 },
        { PARLEY_ERR_INVALID_HANDLE, 14 }, { PARLEY_ERR_BUSY, 15 },
        { PARLEY_ERR_UNSUPPORTED, 16 }, { PARLEY_ERR_SYSTEM, 17 }, { PARLEY_ERR_REMOTE, 18 },
        { PARLEY_ERR_INTERNAL, 19 }, { PARLEY_ERR_PERMISSION_DENIED, 20 },
        { PARLEY_ERR_EXISTS, 21 },
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        ck_assert_int_eq((int)fixed[i].st, fixed[i].num);
        /* every code has a real name and description */
        ck_assert_str_ne(parley_status_name(fixed[i].st), "PARLEY_ERR_UNKNOWN");
        ck_assert_str_ne(parley_status_string(fixed[i].st), "unknown status");
    }
}
END_TEST

START_TEST(test_error_message)
{
    ck_assert_int_eq(parley__error(PARLEY_ERR_MALFORMED, "decode %s: %d", "x.y", 3),
                     PARLEY_ERR_MALFORMED);
    ck_assert_str_eq(parley_error_message(), "decode x.y: 3");
    parley__error_prefix(PARLEY_ERR_MALFORMED, "frame %u", 7u);
    ck_assert_str_eq(parley_error_message(), "frame 7: decode x.y: 3");
    ck_assert_int_eq(parley__error_errno(PARLEY_ERR_SYSTEM, ENOENT, "unix:%s: connect", "/a"),
                     PARLEY_ERR_SYSTEM);
    ck_assert_str_eq(parley_error_message(), "unix:/a: connect: No such file or directory");
}
END_TEST

START_TEST(test_error_message_truncated)
{
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    parley__error(PARLEY_ERR_OVERFLOW, "%s", big);
    size_t n = strlen(parley_error_message());
    ck_assert_uint_eq(n, PARLEY__ERROR_MAX - 1);
    ck_assert_str_eq(parley_error_message() + n - 3, "...");
}
END_TEST

static void *other_thread(void *arg)
{
    (void)arg;
    /* a fresh thread has no message, and setting one does not leak across */
    if (parley_error_message()[0] != '\0')
        return (void *)1;
    parley__error(PARLEY_ERR_BUSY, "other thread");
    return NULL;
}

START_TEST(test_error_message_is_per_thread)
{
    pthread_t t;
    void *ret;
    parley__error(PARLEY_ERR_TIMEOUT, "main thread");
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &ret), 0);
    ck_assert_ptr_null(ret);
    ck_assert_str_eq(parley_error_message(), "main thread");
}
END_TEST

Suite *parley_status_suite(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_names_and_strings);
    tcase_add_test(tc, test_numbers_are_fixed);
    tcase_add_test(tc, test_error_message);
    tcase_add_test(tc, test_error_message_truncated);
    tcase_add_test(tc, test_error_message_is_per_thread);
    suite_add_tcase(s, tc);
    return s;
}
