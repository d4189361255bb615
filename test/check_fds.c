/* SPDX-License-Identifier: MIT */
/* Descriptor passing over real processes: this test spawns test/fd_child
 * and passes pipes both ways; TCP and raw-socket cases use an in-process
 * server. */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "fd_testutil.h"
#include "frame.h"
#include "handshake.h"
#include "suites.h"


/* ---- descriptors ---- */

START_TEST(test_fd_to_child)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    fdt_u32 *rep = NULL;
    int p[2];
    int before;

    fdt_spawn(mem, NULL, NULL, NULL, &peer, &session);
    before = fdt_count_fds();
    ck_assert_int_eq(pipe(p), 0);
    {
        fdt_write req = { p[1], (char *)"hello child" };

        ck_assert_int_eq(fdt_call(session, FDT_WRITE, &req, mem, &rep), PARLEY_OK);
    }
    ck_assert_uint_eq(rep->v, 11);
    /* Ours stays open (sending duplicates); the child's copy was closed
     * with its request, so EOF comes once ours is closed. */
    ck_assert_int_ge(fcntl(p[1], F_GETFD), 0);
    close(p[1]);
    ck_assert_str_eq(fdt_read_to_eof(mem, p[0]), "hello child");
    close(p[0]);
    ck_assert_int_eq(fdt_count_fds(), before);
    talloc_free(mem);
}
END_TEST

START_TEST(test_fd_from_child)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    fdt_text req = { (char *)"from the child" };
    fdt_fd *rep = NULL;
    int before, fd, taken;

    fdt_spawn(mem, NULL, NULL, NULL, &peer, &session);
    before = fdt_count_fds();
    ck_assert_int_eq(fdt_call(session, FDT_PIPE, &req, mem, &rep), PARLEY_OK);
    ck_assert_int_ge(rep->fd, 0);
    ck_assert_int_eq(fdt_count_fds(), before + 1);
    ck_assert_int_eq(fcntl(rep->fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    ck_assert_str_eq(fdt_read_to_eof(mem, rep->fd), "from the child");
    /* Owned by the reply: freeing it closes the descriptor. */
    talloc_free(rep);
    ck_assert_int_eq(fdt_count_fds(), before);

    /* Taken: it stays open after the reply is freed. */
    ck_assert_int_eq(fdt_call(session, FDT_PIPE, &req, mem, &rep), PARLEY_OK);
    fd = rep->fd;
    ck_assert_int_eq(parley_take_fd(rep, fd + 1000), -1);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "not owned"));
    taken = parley_take_fd(rep, fd);
    ck_assert_int_eq(taken, fd);
    ck_assert_int_eq(parley_take_fd(rep, fd), -1);   /* once */
    talloc_free(rep);
    ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
    ck_assert_str_eq(fdt_read_to_eof(mem, fd), "from the child");
    close(fd);
    ck_assert_int_eq(fdt_count_fds(), before);
    talloc_free(mem);
}
END_TEST

START_TEST(test_fd_nested)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    fdt_text *rep = NULL;
    int before;

    fdt_spawn(mem, NULL, NULL, NULL, &peer, &session);
    before = fdt_count_fds();
    {
        fdt_box box = { fdt_make_pipe_with("A") };
        int seq[2] = { fdt_make_pipe_with("B"), fdt_make_pipe_with("C") };
        fdt_nested req = { &box, { 2, seq } };

        ck_assert_int_eq(fdt_call(session, FDT_READALL, &req, mem, &rep), PARLEY_OK);
        ck_assert_str_eq(rep->text, "ABC");
        close(box.fd);
        close(seq[0]);
        close(seq[1]);
    }
    {
        fdt_nested req = { NULL, { 0, NULL } };

        ck_assert_int_eq(fdt_call(session, FDT_READALL, &req, mem, &rep), PARLEY_OK);
        ck_assert_str_eq(rep->text, "");
    }
    {
        /* The same descriptor twice: two entries, two descriptors at the
         * other end. */
        int p = fdt_make_pipe_with("D");
        int seq[2] = { p, p };
        fdt_nested req = { NULL, { 2, seq } };

        ck_assert_int_eq(fdt_call(session, FDT_READALL, &req, mem, &rep), PARLEY_OK);
        ck_assert_str_eq(rep->text, "D");
        close(p);
    }
    ck_assert_int_eq(fdt_count_fds(), before);
    talloc_free(mem);
}
END_TEST

START_TEST(test_fd_echo_back)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    fdt_box req, *rep = NULL;
    int before;

    fdt_spawn(mem, NULL, NULL, NULL, &peer, &session);
    before = fdt_count_fds();
    req.fd = fdt_make_pipe_with("round trip");
    ck_assert_int_eq(fdt_call(session, FDT_ECHO, &req, mem, &rep), PARLEY_OK);
    ck_assert_int_ne(rep->fd, req.fd);
    close(req.fd);
    ck_assert_str_eq(fdt_read_to_eof(mem, rep->fd), "round trip");
    talloc_free(rep);
    ck_assert_int_eq(fdt_count_fds(), before);
    talloc_free(mem);
}
END_TEST

START_TEST(test_fd_too_many)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    fdt_text *rep = NULL;
    int seq[3];
    fdt_nested req = { NULL, { 3, seq } };
    int before;

    ck_assert_int_eq(parley_peer_set_max_fds(NULL, 1), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_max_fds(peer, 254), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_max_fds(peer, 2), PARLEY_OK);
    {
        char *argv[] = { (char *)FDT_CHILD, NULL };

        ck_assert_int_eq(parley_peer_spawn(peer, argv, &session), PARLEY_OK);
    }
    for (int i = 0; i < 3; i++)
        seq[i] = fdt_make_pipe_with("x");
    before = fdt_count_fds();
    ck_assert_int_eq(fdt_call(session, FDT_READALL, &req, mem, &rep), PARLEY_ERR_OVERFLOW);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "max fds per frame is 2"));
    ck_assert_int_eq(fdt_count_fds(), before);
    ck_assert(parley_session_is_connected(session));
    req.fds.n = 2;
    ck_assert_int_eq(fdt_call(session, FDT_READALL, &req, mem, &rep), PARLEY_OK);
    ck_assert_str_eq(rep->text, "xx");
    for (int i = 0; i < 3; i++)
        close(seq[i]);
    talloc_free(mem);
}
END_TEST

START_TEST(test_fd_over_receiver_limit)
{
    /* The child accepts at most 1 fd per frame: a frame with 2 breaks the
     * framing there, so the session ends. */
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    fdt_text *rep = NULL;
    int seq[2];
    fdt_nested req = { NULL, { 2, seq } };
    int before = fdt_count_fds();

    fdt_spawn(mem, "--max-fds", "1", NULL, &peer, &session);
    seq[0] = fdt_make_pipe_with("a");
    seq[1] = fdt_make_pipe_with("b");
    ck_assert_int_eq(fdt_call(session, FDT_READALL, &req, mem, &rep), PARLEY_ERR_CONNECTION_CLOSED);
    ck_assert(!parley_session_is_connected(session));
    close(seq[0]);
    close(seq[1]);
    talloc_free(mem);
    ck_assert_int_eq(fdt_count_fds(), before);
}
END_TEST

START_TEST(test_fd_over_tcp_unsupported)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *session;
    char *ep = NULL;
    fdt_u32 *u = NULL;
    fdt_fd *f = NULL;
    int p[2];
    int before = fdt_count_fds();

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &server), PARLEY_OK);
    ck_assert_int_eq(fdt_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, "tcp:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 0, mem, &ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(client, &session), PARLEY_OK);
    ck_assert_int_eq(pipe(p), 0);
    {
        fdt_write req = { p[1], (char *)"no" };

        ck_assert_int_eq(fdt_call(session, FDT_WRITE, &req, mem, &u), PARLEY_ERR_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "unix sockets"));
    }
    {
        /* A reply with an fd fails at the server's encode: UNSUPPORTED. */
        fdt_text req = { (char *)"no" };

        ck_assert_int_eq(fdt_call(session, FDT_PIPE, &req, mem, &f), PARLEY_ERR_UNSUPPORTED);
    }
    {
        fdt_u32 req = { 0 };

        ck_assert_int_eq(fdt_call(session, FDT_SLEEP, &req, mem, &u), PARLEY_OK);   /* goes on */
    }
    close(p[0]);
    close(p[1]);
    talloc_free(mem);
    ck_assert_int_eq(fdt_count_fds(), before);
}
END_TEST

/* ---- a raw end that lies about nfds ---- */

static void raw_frame_fds(int fd, uint8_t kind, uint16_t nfds, uint32_t id, uint32_t code,
                          const void *payload, uint32_t len, const int *fds, unsigned n)
{
    parley__frame_header h = { len, kind, 0, nfds, id, code };
    uint8_t b[16 + 256];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } ctl;
    struct iovec iov = { b, 16 + len };
    struct msghdr msg;

    ck_assert_uint_le(len, 256);
    parley__frame_pack(&h, b);
    memcpy(b + 16, payload, len);
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (n > 0) {
        struct cmsghdr *c;

        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    ck_assert_int_eq(sendmsg(fd, &msg, MSG_NOSIGNAL), (ssize_t)(16 + len));
}

/* Read frames (5 s at most) until a BYE; its status and reason. */
static parley_status read_bye(TALLOC_CTX *mem, int fd, char **ret_why)
{
    for (;;) {
        uint8_t b[16];
        parley__frame_header h;
        uint8_t *p;
        size_t got = 0;

        for (size_t need = 16, off = 0; off < need;) {
            struct pollfd pf = { fd, POLLIN, 0 };
            ssize_t r;

            ck_assert_int_eq(poll(&pf, 1, 5000), 1);
            r = read(fd, b + off, need - off);
            ck_assert_int_gt(r, 0);
            off += (size_t)r;
        }
        ck_assert_int_eq(parley__frame_unpack(b, UINT32_MAX, &h), PARLEY_OK);
        p = talloc_zero_size(mem, h.length + 1);
        while (got < h.length) {
            struct pollfd pf = { fd, POLLIN, 0 };
            ssize_t r;

            ck_assert_int_eq(poll(&pf, 1, 5000), 1);
            r = read(fd, p + got, h.length - got);
            ck_assert_int_gt(r, 0);
            got += (size_t)r;
        }
        if (h.kind == PARLEY__FRAME_BYE) {
            ck_assert_int_eq(parley__message_decode(mem, p, h.length, ret_why), PARLEY_OK);
            return (parley_status)h.code;
        }
    }
}

static int raw_peer(TALLOC_CTX *mem, parley_peer **ret_server)
{
    int sv[2];
    uint8_t *hello;
    size_t len;
    parley__frame_header h = { 0 };
    uint8_t b[16];

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), ret_server), PARLEY_OK);
    ck_assert_int_eq(fdt_serve(*ret_server), PARLEY_OK);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_accept_fd(*ret_server, sv[0]), PARLEY_OK);
    ck_assert_int_eq(parley__hello_encode(mem, fdt_protocol(), 1u << 20, 0, &hello, &len),
                     PARLEY_OK);
    /* Its HELLO first (read the header, then skip the payload). */
    ck_assert_int_eq(read(sv[1], b, 16), 16);
    ck_assert_int_eq(parley__frame_unpack(b, UINT32_MAX, &h), PARLEY_OK);
    ck_assert_uint_eq(h.kind, PARLEY__FRAME_HELLO);
    {
        uint8_t *skip = talloc_size(mem, h.length);
        size_t got = 0;

        while (got < h.length) {
            ssize_t r = read(sv[1], skip + got, h.length - got);

            ck_assert_int_gt(r, 0);
            got += (size_t)r;
        }
    }
    raw_frame_fds(sv[1], PARLEY__FRAME_HELLO, 0, 0, 0, hello, (uint32_t)len, NULL, 0);
    return sv[1];
}

START_TEST(test_nfds_claims_more_than_arrived)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server;
    int before = fdt_count_fds();
    int fd = raw_peer(mem, &server);
    uint8_t payload[4] = { 0, 0, 0, 0 };   /* fdt_box: fd index 0 */
    char *why = NULL;

    raw_frame_fds(fd, PARLEY__FRAME_CALL, 1, 1, FDT_ECHO, payload, 4, NULL, 0);
    ck_assert_int_eq(read_bye(mem, fd, &why), PARLEY_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(why, "carries 1 fds but 0 arrived"));
    close(fd);
    talloc_free(mem);
    ck_assert_int_eq(fdt_count_fds(), before);
}
END_TEST

START_TEST(test_fds_nobody_claims_are_closed)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server;
    int before = fdt_count_fds();
    int fd = raw_peer(mem, &server);
    uint8_t payload[4] = { 0, 0, 0, 0 };
    int p[2];
    char *why = NULL;

    ck_assert_int_eq(pipe(p), 0);
    /* nfds 0, yet a descriptor comes with the frame. */
    raw_frame_fds(fd, PARLEY__FRAME_CALL, 0, 1, FDT_ECHO, payload, 4, &p[1], 1);
    ck_assert_int_eq(read_bye(mem, fd, &why), PARLEY_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(why, "no frame claiming them"));
    close(fd);
    talloc_free(mem);
    /* The server closed its copy: our read end sees EOF once ours closes. */
    close(p[1]);
    {
        char *t = fdt_read_to_eof(NULL, p[0]);

        ck_assert_str_eq(t, "");
        talloc_free(t);
    }
    close(p[0]);
    ck_assert_int_eq(fdt_count_fds(), before);
}
END_TEST

START_TEST(test_fds_of_a_rejected_frame_are_closed)
{
    /* A CALL that carries its fd properly but does not decode (a bad index):
     * MALFORMED reply, the session goes on, and the fd is closed. */
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server;
    int before = fdt_count_fds();
    int fd = raw_peer(mem, &server);
    uint8_t bad[4] = { 7, 0, 0, 0 };   /* fd index 7 of 1 */
    uint8_t b[16];
    parley__frame_header h;
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    raw_frame_fds(fd, PARLEY__FRAME_CALL, 1, 1, FDT_ECHO, bad, 4, &p[1], 1);
    ck_assert_int_eq(read(fd, b, 16), 16);
    ck_assert_int_eq(parley__frame_unpack(b, UINT32_MAX, &h), PARLEY_OK);
    ck_assert_uint_eq(h.kind, PARLEY__FRAME_REPLY);
    ck_assert_uint_eq(h.code, PARLEY_ERR_MALFORMED);
    close(p[1]);
    {
        char *t = fdt_read_to_eof(NULL, p[0]);

        ck_assert_str_eq(t, "");
        talloc_free(t);
    }   /* EOF: the server closed its copy */
    close(p[0]);
    close(fd);
    talloc_free(mem);
    ck_assert_int_eq(fdt_count_fds(), before);
}
END_TEST

/* ---- a frame with fds that has to wait in the queue ---- */

static atomic_int n_done;

static void count_done(parley_call *c, parley_status status, void *data)
{
    (void)status; (void)data;
    parley_call_release(c);
    atomic_fetch_add(&n_done, 1);
}

START_TEST(test_fd_frame_queued_behind_a_full_socket)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *client;
    parley_session *session;
    parley_call *c1, *c2;
    int sv[2], p[2];
    int small = 4096;
    uint8_t *hello, *buf;
    size_t len, have = 0, cap = 1u << 20;
    char *big;
    fdt_write big_req;
    fdt_box box;
    void *out1 = NULL, *out2 = NULL;
    int got_fds[8];
    size_t n_got = 0;
    int before = fdt_count_fds();
    parley__frame_header h1, h2;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    ck_assert_int_eq(parley__hello_encode(mem, fdt_protocol(), 1u << 20, 0, &hello, &len),
                     PARLEY_OK);
    raw_frame_fds(sv[1], PARLEY__FRAME_HELLO, 0, 0, 0, hello, (uint32_t)len, NULL, 0);
    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &session), PARLEY_OK);

    /* 40 KB that cannot all leave at once (the raw end does not read yet),
     * then a frame with a descriptor, which must wait behind it. */
    big = talloc_size(mem, 40001);
    memset(big, 'x', 40000);
    big[40000] = '\0';
    ck_assert_int_eq(pipe(p), 0);
    big_req.fd = p[1];
    big_req.text = big;
    box.fd = p[0];
    atomic_store(&n_done, 0);
    ck_assert_int_eq(parley_session_acquire_call(session, &c1), PARLEY_OK);
    ck_assert_int_eq(parley_session_acquire_call(session, &c2), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(c1, FDT_WRITE, &big_req, NULL, &out1, count_done, NULL),
                     PARLEY_PENDING);
    ck_assert_int_eq(parley_call_dispatch(c2, FDT_ECHO, &box, NULL, &out2, count_done, NULL),
                     PARLEY_PENDING);
    /* Ours can go: the queue holds duplicates until they leave. */
    close(p[0]);
    close(p[1]);

    /* Read both frames and the descriptors that came with them (skip the
     * HELLO first). */
    buf = talloc_size(mem, cap);
    for (int i = 0; i < 2000; i++) {
        union {
            struct cmsghdr align;
            char b[CMSG_SPACE(sizeof(int) * 8)];
        } ctl;
        struct iovec iov = { buf + have, cap - have };
        struct msghdr msg;
        struct pollfd pf = { sv[1], POLLIN, 0 };
        ssize_t r;
        size_t off = 0, frames = 0;

        ck_assert_int_eq(poll(&pf, 1, 5000), 1);
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl.b;
        msg.msg_controllen = sizeof(ctl.b);
        r = recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC);
        ck_assert_int_gt(r, 0);
        have += (size_t)r;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

            ck_assert_uint_le(n_got + k, 8);
            memcpy(got_fds + n_got, CMSG_DATA(c), k * sizeof(int));
            n_got += k;
        }
        /* HELLO, CALL write, CALL echo? */
        while (have - off >= 16) {
            parley__frame_header h;

            ck_assert_int_eq(parley__frame_unpack(buf + off, UINT32_MAX, &h), PARLEY_OK);
            if (have - off < 16 + h.length)
                break;
            if (frames == 1)
                h1 = h;
            else if (frames == 2)
                h2 = h;
            off += 16 + h.length;
            frames++;
        }
        if (frames >= 3)
            break;
    }
    ck_assert_uint_eq(h1.kind, PARLEY__FRAME_CALL);
    ck_assert_uint_eq(h1.code, FDT_WRITE);
    ck_assert_uint_eq(h1.nfds, 1);
    ck_assert_uint_eq(h2.kind, PARLEY__FRAME_CALL);
    ck_assert_uint_eq(h2.code, FDT_ECHO);
    ck_assert_uint_eq(h2.nfds, 1);
    ck_assert_uint_eq(n_got, 2);
    /* got_fds[0] is the write end, got_fds[1] the read end of the pipe. */
    ck_assert_int_eq(write(got_fds[0], "q", 1), 1);
    close(got_fds[0]);
    ck_assert_str_eq(fdt_read_to_eof(mem, got_fds[1]), "q");
    close(got_fds[1]);
    close(sv[1]);   /* both calls complete with CONNECTION_CLOSED */
    for (int i = 0; i < 500 && atomic_load(&n_done) < 2; i++)
        usleep(10000);
    ck_assert_int_eq(atomic_load(&n_done), 2);
    talloc_free(mem);
    ck_assert_int_eq(fdt_count_fds(), before);
}
END_TEST
Suite *parley_fds_suite(void)
{
    Suite *s = suite_create("fds");
    TCase *tc = tcase_create("fds");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fd_to_child);
    tcase_add_test(tc, test_fd_from_child);
    tcase_add_test(tc, test_fd_nested);
    tcase_add_test(tc, test_fd_echo_back);
    tcase_add_test(tc, test_fd_too_many);
    tcase_add_test(tc, test_fd_over_receiver_limit);
    tcase_add_test(tc, test_fd_over_tcp_unsupported);
    tcase_add_test(tc, test_nfds_claims_more_than_arrived);
    tcase_add_test(tc, test_fds_nobody_claims_are_closed);
    tcase_add_test(tc, test_fds_of_a_rejected_frame_are_closed);
    tcase_add_test(tc, test_fd_frame_queued_behind_a_full_socket);
    suite_add_tcase(s, tc);
    return s;
}
