/* SPDX-License-Identifier: MIT */
/* The unit test runner: every module's suite, run with CK_ENV verbosity. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

typedef Suite *(*suite_fn)(void);

static const struct {
    const char *name;      /* as in PARLEY_SKIP_SUITES */
    suite_fn fn;
} suites[] = {
    { "status", parley_status_suite },
    { "type", parley_type_suite },
    { "data", parley_data_suite },
    { "codec", parley_codec_suite },
    { "program", parley_program_suite },
    { "json", parley_json_suite },
    { "wire", parley_wire_suite },
    { "loop", parley_loop_suite },
    { "peer", parley_peer_suite },
    { "faults", parley_faults_suite },
    { "sessions", parley_sessions_suite },
    { "access", parley_access_suite },
    { "tls", parley_tls_suite },
    { "handles", parley_handles_suite },
    { "fds", parley_fds_suite },
    { "spawn", parley_spawn_suite },
    { "threads", parley_threads_suite },
    { "calls", parley_calls_suite },
    { "flow", parley_flow_suite },
    { "callbacks", parley_callbacks_suite },
    { "teardown", parley_teardown_suite },
    { "process", parley_process_suite },
    { "oom", parley_oom_suite },
    { "receive", parley_receive_suite },
    { "connect", parley_connect_suite },
};

/* Whether the space-separated list names name. */
static bool skipped(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, " ");

        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len;
        p += strspn(p, " ");
    }
    return false;
}

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    int failed;

    /* PARLEY_SKIP_SUITES="a b": suites left out (make check-valgrind names
     * the ones it cannot run; see Makefile.am). */
    const char *skip = getenv("PARLEY_SKIP_SUITES");

    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        if (skipped(skip, suites[i].name)) {
            printf("check_all: suite %s skipped (PARLEY_SKIP_SUITES)\n", suites[i].name);
            continue;
        }
        srunner_add_suite(sr, suites[i].fn());
    }
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
