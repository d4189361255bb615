/* SPDX-License-Identifier: MIT */
/* Every check suite of the unit runner, one per module. */
#ifndef PARLEY_TEST_SUITES_H
#define PARLEY_TEST_SUITES_H

#include <check.h>

Suite *parley_status_suite(void);
Suite *parley_type_suite(void);
Suite *parley_data_suite(void);
Suite *parley_codec_suite(void);
Suite *parley_program_suite(void);
Suite *parley_json_suite(void);

Suite *parley_wire_suite(void);
Suite *parley_loop_suite(void);
Suite *parley_peer_suite(void);
Suite *parley_faults_suite(void);
Suite *parley_sessions_suite(void);
Suite *parley_access_suite(void);
Suite *parley_tls_suite(void);
Suite *parley_handles_suite(void);
Suite *parley_fds_suite(void);
Suite *parley_spawn_suite(void);
Suite *parley_threads_suite(void);
Suite *parley_calls_suite(void);
Suite *parley_flow_suite(void);
Suite *parley_callbacks_suite(void);
Suite *parley_teardown_suite(void);
Suite *parley_process_suite(void);
Suite *parley_oom_suite(void);
Suite *parley_receive_suite(void);
Suite *parley_connect_suite(void);

#endif
