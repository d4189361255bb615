/* SPDX-License-Identifier: MIT */
/* Runtime, integration (access): the access function allowing and refusing
 * per method and per identity on unix sockets and TCP (PERMISSION_DENIED
 * with the reason; the session goes on; a refused oneway message dropped
 * and told to the exception function), the session's transport and remote
 * address, and plain TCP refused outside loopback without "?public". */
#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "server_proc.h"
#include "socket.h"
#include "status.h"
#include "suites.h"
#include "test_proto.h"

/* ---- the server's rules -------------------------------------------------- */

/* "add" is open to everyone; "echo" only for allowed_uid on a unix socket
 * and never over TCP; "note" (oneway) only when notes_open. */
static atomic_uint allowed_uid;
static atomic_bool notes_open, introspect_open;
static atomic_int n_checked, n_exceptions, last_exception;
static char last_exception_text[512];
static char seen_address[64];
static atomic_int seen_transport;
static const char *_Atomic allowed_address = "127.0.0.1:";
static atomic_int construct_transport;
static char construct_address[64];

/* The construct hook sees the identity already. */
static parley_status on_construct(parley_session *session, void *data, void **ret_session_data)
{
    (void)data;
    *ret_session_data = NULL;
    construct_transport = (int)parley_session_get_transport(session);
    if (construct_transport == PARLEY_TRANSPORT_TCP &&
        parley_session_get_remote_address(session, construct_address,
                                          sizeof(construct_address)) != PARLEY_OK)
        return PARLEY_ERR_INTERNAL;
    return PARLEY_OK;
}

static bool check_access(parley_session *session, const parley_method *method, void *data,
                         char *reason, size_t reason_size)
{
    parley_credentials creds;

    ck_assert_ptr_eq(data, &allowed_uid);
    ck_assert_uint_ge(reason_size, 128);
    ck_assert_str_eq(reason, "");
    n_checked++;
    seen_transport = (int)parley_session_get_transport(session);
    if (seen_transport == PARLEY_TRANSPORT_TCP)
        ck_assert_int_eq(parley_session_get_remote_address(session, seen_address,
                                                           sizeof(seen_address)), PARLEY_OK);
    switch (method->id) {
    case TP_ADD:
    case TP_NOTES:
        return true;
    case TP_NOTE:
        return notes_open;
    case PARLEY_METHOD_INTROSPECT:
        ck_assert_str_eq(method->name, "introspect");
        return introspect_open;
    case TP_ECHO:
        if (parley_session_get_credentials(session, &creds) != PARLEY_OK) {
            snprintf(reason, reason_size, "echo is for local users only");
            return false;
        }
        if (creds.uid != allowed_uid) {
            snprintf(reason, reason_size, "uid %u may not echo", (unsigned)creds.uid);
            return false;
        }
        return true;
    case TP_SLEEP: {
        /* By address: only from allowed_address (TCP). */
        const char *allowed = allowed_address;

        if (seen_transport == PARLEY_TRANSPORT_TCP &&
            strncmp(seen_address, allowed, strlen(allowed)) == 0)
            return true;
        snprintf(reason, reason_size, "sleep is for %s only", allowed);
        return false;
    }
    default:
        return false;   /* no reason: the default sentence */
    }
}

static void on_exception(parley_peer *peer, parley_session *session, parley_status status,
                         const char *message, void *data)
{
    (void)peer; (void)session; (void)data;
    if (status == PARLEY_ERR_PERMISSION_DENIED)
        snprintf(last_exception_text, sizeof(last_exception_text), "%s", message);
    last_exception = (int)status;
    n_exceptions++;
}

static void reset_state(void)
{
    allowed_uid = (unsigned)getuid();
    notes_open = false;
    introspect_open = false;
    n_checked = 0;
    n_exceptions = 0;
    last_exception = 0;
    last_exception_text[0] = '\0';
    seen_address[0] = '\0';
    seen_transport = -1;
    construct_transport = -1;
    construct_address[0] = '\0';
}

static parley_peer *server_new(TALLOC_CTX *mem, const char *endpoint)
{
    parley_peer *server;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_access_function(NULL, check_access, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_access_function(server, check_access, &allowed_uid),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_exception_function(server, on_exception, NULL),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_session_functions(server, on_construct, NULL, NULL),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, endpoint, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    /* Set before the peer starts, like the other hooks. */
    ck_assert_int_eq(parley_peer_set_access_function(server, NULL, NULL),
                     PARLEY_ERR_INVALID_STATE);
    return server;
}

static parley_session *client_connect(TALLOC_CTX *mem, parley_peer *server,
                                      parley_peer **ret_client)
{
    parley_peer *client;
    parley_session *s;
    char *ep = NULL;

    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 0, mem, &ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, ep), PARLEY_OK);
    talloc_free(ep);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    *ret_client = client;
    return s;
}

static parley_status call_add(parley_session *session, int32_t a, int32_t b, int32_t *ret)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_pair pair = { a, b };
    tp_int *sum = NULL;
    parley_status st;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    st = parley_call_dispatch(call, TP_ADD, &pair, mem, &sum, NULL, NULL);
    if (st == PARLEY_OK)
        *ret = sum->v;
    parley_call_release(call);
    talloc_free(mem);
    return st;
}

/* ECHO; on failure *ret_why gets the caller's error message. */
static parley_status call_echo(parley_session *session, char *why, size_t why_size)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_echo in = { "hello", { 0, NULL } };
    tp_echo *out = NULL;
    parley_status st;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    st = parley_call_dispatch(call, TP_ECHO, &in, mem, &out, NULL, NULL);
    if (st == PARLEY_OK)
        ck_assert_str_eq(out->text, "hello");
    else
        snprintf(why, why_size, "%s", parley_error_message());
    parley_call_release(call);
    talloc_free(mem);
    return st;
}

static parley_status call_noarg(parley_session *session, uint32_t method, int32_t *ret)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_int in = { 0 };
    tp_int *out = NULL;
    parley_status st;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    st = parley_call_dispatch(call, method, &in, mem, &out, NULL, NULL);
    if (st == PARLEY_OK && ret != NULL)
        *ret = out->v;
    parley_call_release(call);
    talloc_free(mem);
    return st;
}

static void send_note(parley_session *session)
{
    parley_call *call;
    tp_echo in = { "note", { 0, NULL } };

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_NOTE, &in, NULL, NULL, NULL, NULL),
                     PARLEY_OK);
    parley_call_release(call);
}

/* ---- unix sockets -------------------------------------------------------- */

START_TEST(test_access_unix)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300], why[PARLEY__ERROR_MAX];
    parley_peer *server, *client;
    parley_session *s;
    int32_t v = 0, notes_before = 0, notes_after = 0;

    reset_state();
    ck_assert_ptr_nonnull(dir);
    snprintf(ep, sizeof(ep), "unix:%s/a.sock", dir);
    server = server_new(mem, ep);
    s = client_connect(mem, server, &client);
    ck_assert_int_eq(parley_session_get_transport(s), PARLEY_TRANSPORT_UNIX);
    ck_assert_int_eq(parley_session_get_remote_address(s, why, sizeof(why)),
                     PARLEY_ERR_UNSUPPORTED);

    /* Open to everyone (a non-blocking handler). */
    ck_assert_int_eq(call_add(s, 2, 3, &v), PARLEY_OK);
    ck_assert_int_eq(v, 5);
    ck_assert_int_eq(seen_transport, PARLEY_TRANSPORT_UNIX);
    ck_assert_int_eq(construct_transport, PARLEY_TRANSPORT_UNIX);
    /* For this uid (a blocking handler). */
    ck_assert_int_eq(call_echo(s, why, sizeof(why)), PARLEY_OK);

    /* Another uid: refused with the reason; the session goes on. */
    allowed_uid = (unsigned)getuid() + 1;
    ck_assert_int_eq(call_echo(s, why, sizeof(why)), PARLEY_ERR_PERMISSION_DENIED);
    ck_assert_ptr_nonnull(strstr(why, "permission denied for echo"));
    ck_assert_ptr_nonnull(strstr(why, "may not echo"));
    ck_assert_int_eq(call_add(s, 4, 5, &v), PARLEY_OK);
    ck_assert_int_eq(v, 9);

    /* No reason given: the default sentence. */
    ck_assert_int_eq(call_noarg(s, TP_CANCELS, NULL), PARLEY_ERR_PERMISSION_DENIED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "access function refused"));

    /* A refused oneway message is dropped and told to the exception function. */
    ck_assert_int_eq(call_noarg(s, TP_NOTES, &notes_before), PARLEY_OK);
    send_note(s);
    ck_assert_int_eq(call_noarg(s, TP_NOTES, &notes_after), PARLEY_OK);   /* after the note */
    ck_assert_int_eq(notes_after, notes_before);
    ck_assert_int_eq(n_exceptions, 1);
    ck_assert_int_eq(last_exception, PARLEY_ERR_PERMISSION_DENIED);
    ck_assert_ptr_nonnull(strstr(last_exception_text, "oneway note dropped"));
    notes_open = true;
    send_note(s);
    ck_assert_int_eq(call_noarg(s, TP_NOTES, &notes_after), PARLEY_OK);
    ck_assert_int_eq(notes_after, notes_before + 1);
    ck_assert_int_eq(n_exceptions, 1);

    /* Introspection is checked like a method: refused, then allowed. */
    {
        const parley_protocol *p = NULL;

        ck_assert_int_eq(parley_session_introspect(s, mem, 0, &p, NULL),
                         PARLEY_ERR_PERMISSION_DENIED);
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "permission denied for introspect"));
        introspect_open = true;
        ck_assert_int_eq(parley_session_introspect(s, mem, 0, &p, NULL), PARLEY_OK);
        ck_assert_str_eq(p->name, tp_protocol(TP_V1)->name);
    }

    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

/* ---- TCP ----------------------------------------------------------------- */

START_TEST(test_access_tcp)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s;
    char why[PARLEY__ERROR_MAX], addr[64], tiny[4];
    int32_t v = 0;

    reset_state();
    server = server_new(mem, "tcp:127.0.0.1:0");
    s = client_connect(mem, server, &client);
    ck_assert_int_eq(parley_session_get_transport(s), PARLEY_TRANSPORT_TCP);
    ck_assert_int_eq(parley_session_get_remote_address(s, addr, sizeof(addr)), PARLEY_OK);
    ck_assert_ptr_nonnull(strstr(addr, "127.0.0.1:"));
    ck_assert_int_eq(parley_session_get_remote_address(s, tiny, sizeof(tiny)),
                     PARLEY_ERR_OVERFLOW);
    ck_assert_int_eq(parley_session_get_remote_address(NULL, addr, sizeof(addr)),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_session_get_transport(NULL), PARLEY_TRANSPORT_UNKNOWN);

    ck_assert_int_eq(call_add(s, 20, 22, &v), PARLEY_OK);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(seen_transport, PARLEY_TRANSPORT_TCP);
    ck_assert_ptr_nonnull(strstr(seen_address, "127.0.0.1:"));
    ck_assert_int_eq(construct_transport, PARLEY_TRANSPORT_TCP);
    ck_assert_str_eq(construct_address, seen_address);
    /* The server sees the client's port, the client the server's. */
    ck_assert_str_ne(seen_address, addr);

    /* A rule by remote address: allowed from 127.0.0.1, then not. */
    {
        TALLOC_CTX *tmp = talloc_new(NULL);
        parley_call *call;
        tp_sleep in = { 0, 7 };
        tp_tag *out = NULL;

        ck_assert_int_eq(parley_session_acquire_call(s, &call), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(call, TP_SLEEP, &in, tmp, &out, NULL, NULL),
                         PARLEY_OK);
        ck_assert_uint_eq(out->tag, 7);
        allowed_address = "192.0.2.1:";
        ck_assert_int_eq(parley_call_dispatch(call, TP_SLEEP, &in, tmp, &out, NULL, NULL),
                         PARLEY_ERR_PERMISSION_DENIED);
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "sleep is for 192.0.2.1: only"));
        allowed_address = "127.0.0.1:";
        parley_call_release(call);
        talloc_free(tmp);
    }

    /* No credentials over TCP: echo is refused whatever the uid. */
    ck_assert_int_eq(call_echo(s, why, sizeof(why)), PARLEY_ERR_PERMISSION_DENIED);
    ck_assert_ptr_nonnull(strstr(why, "for local users only"));
    ck_assert_int_eq(call_add(s, 1, 1, &v), PARLEY_OK);
    ck_assert_int_eq(v, 2);

    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

START_TEST(test_remote_address_ipv6)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s;
    char addr[64];
    int32_t v = 0;

    reset_state();
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, "tcp:[::1]:0", 0), PARLEY_OK);
    if (parley_peer_start_listen(server) != PARLEY_OK) {
        printf("check_access: no IPv6 loopback here (%s)\n", parley_error_message());
        talloc_free(mem);
        return;
    }
    talloc_free(server);
    server = server_new(mem, "tcp:[::1]:0");
    s = client_connect(mem, server, &client);
    ck_assert_int_eq(parley_session_get_remote_address(s, addr, sizeof(addr)), PARLEY_OK);
    ck_assert_ptr_eq(strstr(addr, "[::1]:"), addr);
    ck_assert_int_eq(call_add(s, 1, 2, &v), PARLEY_OK);
    ck_assert_ptr_eq(strstr(seen_address, "[::1]:"), seen_address);
    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

/* ---- no open port by accident -------------------------------------------- */

static bool allowed4(const char *a, bool public_ok)
{
    struct sockaddr_in in;

    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    ck_assert_int_eq(inet_pton(AF_INET, a, &in.sin_addr), 1);
    return parley__socket_listen_allowed((struct sockaddr *)&in, public_ok);
}

static bool allowed6(const char *a, bool public_ok)
{
    struct sockaddr_in6 in6;

    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, a, &in6.sin6_addr), 1);
    return parley__socket_listen_allowed((struct sockaddr *)&in6, public_ok);
}

START_TEST(test_listen_decision)
{
    ck_assert(allowed4("127.0.0.1", false));
    ck_assert(allowed4("127.200.0.9", false));
    ck_assert(!allowed4("0.0.0.0", false));
    ck_assert(!allowed4("10.1.2.3", false));
    ck_assert(!allowed4("128.0.0.1", false));
    ck_assert(allowed4("10.1.2.3", true));
    ck_assert(allowed6("::1", false));
    ck_assert(allowed6("::ffff:127.0.0.1", false));
    ck_assert(!allowed6("::", false));
    ck_assert(!allowed6("::ffff:10.0.0.1", false));
    ck_assert(!allowed6("2001:db8::1", false));
    ck_assert(!allowed6("fe80::1", false));
    ck_assert(allowed6("::", true));
}
END_TEST

/* Listening on ep: the status (and, refused, the sentence checked). */
static parley_status try_listen(const char *ep)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server;
    parley_status st;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    st = parley_peer_add_listen_endpoint(server, ep, 0);
    if (st == PARLEY_OK)
        st = parley_peer_start_listen(server);
    if (st == PARLEY_ERR_ACCESS_DENIED) {
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "is not a loopback address"));
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "?public"));
    }
    talloc_free(mem);
    return st;
}

/* A non-loopback address of this machine ("" when it has none). */
static void own_address(char *buf, size_t size)
{
    struct ifaddrs *ifa = NULL;

    buf[0] = '\0';
    if (getifaddrs(&ifa) != 0)
        return;
    for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
            continue;
        if (parley__socket_listen_allowed(i->ifa_addr, false))
            continue;   /* loopback */
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, (socklen_t)size);
        break;
    }
    freeifaddrs(ifa);
}

START_TEST(test_listen_public_opt_in)
{
    char own[INET6_ADDRSTRLEN], ep[128];

    ck_assert_int_eq(try_listen("tcp:127.0.0.1:0"), PARLEY_OK);
    ck_assert_int_eq(try_listen("tcp:localhost:0"), PARLEY_OK);
    ck_assert_int_eq(try_listen("tcp:0.0.0.0:0"), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "tcp:0.0.0.0:0?public"));
    ck_assert_int_eq(try_listen("tcp:127.0.0.1:0?private"), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "unknown option"));
    ck_assert_int_eq(try_listen("tcp:127.0.0.1:0?public"), PARLEY_OK);
    own_address(own, sizeof(own));
    if (own[0] != '\0') {
        snprintf(ep, sizeof(ep), "tcp:%s:0", own);
        ck_assert_int_eq(try_listen(ep), PARLEY_ERR_ACCESS_DENIED);
        snprintf(ep, sizeof(ep), "tcp:%s:0?public", own);
        ck_assert_int_eq(try_listen(ep), PARLEY_OK);
    } else {
        printf("check_access: no non-loopback IPv4 address here; the decision is tested alone\n");
    }
}
END_TEST

Suite *parley_access_suite(void)
{
    Suite *s = suite_create("access");
    TCase *tc = tcase_create("access");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_access_unix);
    tcase_add_test(tc, test_access_tcp);
    tcase_add_test(tc, test_remote_address_ipv6);
    tcase_add_test(tc, test_listen_decision);
    tcase_add_test(tc, test_listen_public_opt_in);
    suite_add_tcase(s, tc);
    return s;
}
