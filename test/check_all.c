/* SPDX-License-Identifier: MIT */
/* The unit test runner: every module's suite, run with CK_ENV verbosity. */
#include "config.h"

#include <stdlib.h>

#include "suites.h"

typedef Suite *(*suite_fn)(void);

static const suite_fn suites[] = {
    parley_status_suite,
    parley_type_suite,
    parley_data_suite,
    parley_codec_suite,
    parley_program_suite,
    parley_json_suite,
    parley_wire_suite,
    parley_loop_suite,
    parley_peer_suite,
    parley_faults_suite,
    parley_sessions_suite,
    parley_handles_suite,
    parley_fds_suite,
    parley_spawn_suite,
    parley_calls_suite,
    parley_flow_suite,
    parley_callbacks_suite,
    parley_teardown_suite,
    parley_process_suite,
    parley_oom_suite,
};

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    int failed;

    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        srunner_add_suite(sr, suites[i]());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
