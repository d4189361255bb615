/* SPDX-License-Identifier: MIT */
/* Threads a peer starts: workers only when a blocking handler needs one. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "suites.h"
#include "test_proto.h"

/* Threads of this process (/proc/self/task). */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
}

static void call_add(parley_session *session)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_pair pair = { 40, 2 };
    tp_int *sum = NULL;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &pair, mem, &sum, NULL, NULL), PARLEY_OK);
    ck_assert_int_eq(sum->v, 42);
    parley_call_release(call);
    talloc_free(mem);
}

static void call_echo(parley_session *session)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_echo req = { (char *)"blocking", { 0, NULL } }, *rep = NULL;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL), PARLEY_OK);
    ck_assert_str_eq(rep->text, "blocking");
    parley_call_release(call);
    talloc_free(mem);
}

START_TEST(test_workers_start_on_demand)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    int sv[2], base = count_threads();
    parley_peer *server, *client;
    parley_session *session;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_workers(server, 2), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &session), PARLEY_OK);
    /* Two I/O threads, no worker yet. */
    ck_assert_int_eq(count_threads(), base + 2);
    call_add(session);   /* a non-blocking handler: on the I/O thread */
    ck_assert_int_eq(count_threads(), base + 2);
    call_echo(session);  /* a blocking one: the server's first worker */
    ck_assert_int_eq(count_threads(), base + 3);
    /* More blocking calls: never more workers than set (2). */
    for (int i = 0; i < 20; i++)
        call_echo(session);
    ck_assert_int_ge(count_threads(), base + 3);
    ck_assert_int_le(count_threads(), base + 4);
    talloc_free(mem);
    ck_assert_int_eq(count_threads(), base);
}
END_TEST

Suite *parley_threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_workers_start_on_demand);
    suite_add_tcase(s, tc);
    return s;
}
