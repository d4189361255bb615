/* SPDX-License-Identifier: MIT */
/* The "fdtest" protocol and its handlers. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_proto.h"

static const parley_type text_type = PARLEY_STRING_TYPE("text", 0);
static const parley_field write_fields[] = {
    PARLEY_FIELD(fdt_write, fd, parley_type_fd),
    PARLEY_FIELD(fdt_write, text, text_type),
};
static const parley_type write_type = PARLEY_STRUCT_TYPE(fdt_write, write_fields);
static const parley_field u32_fields[] = {
    PARLEY_FIELD(fdt_u32, v, parley_type_uint32),
};
static const parley_type u32_type = PARLEY_STRUCT_TYPE(fdt_u32, u32_fields);
static const parley_field tx_fields[] = {
    PARLEY_FIELD(fdt_text, text, text_type),
};
static const parley_type tx_type = PARLEY_STRUCT_TYPE(fdt_text, tx_fields);
static const parley_field fd_fields[] = {
    PARLEY_FIELD(fdt_fd, fd, parley_type_fd),
    PARLEY_FIELD(fdt_fd, text, text_type),
};
static const parley_type fd_type = PARLEY_STRUCT_TYPE(fdt_fd, fd_fields);
static const parley_field box_fields[] = {
    PARLEY_FIELD(fdt_box, fd, parley_type_fd),
};
static const parley_type box_type = PARLEY_STRUCT_TYPE(fdt_box, box_fields);
static const parley_type opt_box_type = PARLEY_OPTIONAL_TYPE("opt", box_type);
static const parley_type fd_seq_type = PARLEY_SEQUENCE_TYPE("fds", parley_type_fd, 0);
static const parley_field nested_fields[] = {
    PARLEY_FIELD(fdt_nested, opt, opt_box_type),
    PARLEY_FIELD(fdt_nested, fds, fd_seq_type),
};
static const parley_type nested_type = PARLEY_STRUCT_TYPE(fdt_nested, nested_fields);
static const parley_type u32_seq_type = PARLEY_SEQUENCE_TYPE("fds", parley_type_uint32, 0);
static const parley_field list_fields[] = {
    PARLEY_FIELD(fdt_list, fds, u32_seq_type),
};
static const parley_type list_type = PARLEY_STRUCT_TYPE(fdt_list, list_fields);

#define M(id_, name_, req, rep) { (id_), (name_), "fdtest", &(req), &(rep), 0, 0 }

static parley_method methods[] = {
    M(FDT_WRITE, "write", write_type, u32_type),
    M(FDT_PIPE, "pipe", tx_type, fd_type),
    M(FDT_READALL, "readall", nested_type, tx_type),
    M(FDT_OPENFDS, "openfds", u32_type, list_type),
    M(FDT_SLEEP, "sleep", u32_type, u32_type),
    M(FDT_ECHO, "echo", box_type, box_type),
};
static const char *const interfaces[] = { "fdtest" };
static parley_protocol protocol = {
    PARLEY_ABI_VERSION, "fdtest", 1, methods, PARLEY__COUNT(methods), interfaces, 1, NULL, 0, NULL, NULL
};
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    for (size_t i = 0; i < PARLEY__COUNT(methods); i++)
        methods[i].fingerprint = parley_method_fingerprint(methods[i].request,
                                                           methods[i].reply);
}

const parley_protocol *fdt_protocol(void)
{
    pthread_once(&once, init);
    return &protocol;
}

static parley_status h_write(parley_call *call, const void *in, void *out, void *data)
{
    const fdt_write *req = in;
    size_t len = strlen(req->text);
    ssize_t n = write(req->fd, req->text, len);

    (void)call; (void)data;
    ((fdt_u32 *)out)->v = n < 0 ? 0 : (uint32_t)n;
    return n < 0 ? PARLEY_ERR_SYSTEM : PARLEY_OK;
}

/* The handler's own descriptor in a reply: closed once the reply left (out
 * is freed after that). */
static int close_fd_destructor(int *fd)
{
    close(*fd);
    return 0;
}

static parley_status h_pipe(parley_call *call, const void *in, void *out, void *data)
{
    const fdt_text *req = in;
    fdt_fd *rep = out;
    int p[2];
    int *keeper;

    (void)call; (void)data;
    if (pipe(p) < 0)
        return PARLEY_ERR_SYSTEM;
    (void)!write(p[1], req->text, strlen(req->text));
    close(p[1]);
    keeper = talloc(out, int);
    if (keeper == NULL) {
        close(p[0]);
        return PARLEY_ERR_NOMEM;
    }
    *keeper = p[0];
    talloc_set_destructor(keeper, close_fd_destructor);
    rep->fd = p[0];
    rep->text = talloc_strdup(out, req->text);
    return rep->text != NULL ? PARLEY_OK : PARLEY_ERR_NOMEM;
}

/* Append what fd holds, to EOF, to acc. */
static char *read_all(char *acc, int fd)
{
    char buf[256];
    ssize_t n;

    while (acc != NULL && (n = read(fd, buf, sizeof(buf))) > 0)
        acc = talloc_strndup_append(acc, buf, (size_t)n);
    return acc;
}

static parley_status h_readall(parley_call *call, const void *in, void *out, void *data)
{
    const fdt_nested *req = in;
    const int *fds = req->fds.items;
    char *acc = talloc_strdup(out, "");

    (void)call; (void)data;
    if (req->opt != NULL)
        acc = read_all(acc, req->opt->fd);
    for (size_t i = 0; i < req->fds.n; i++)
        acc = read_all(acc, fds[i]);
    ((fdt_text *)out)->text = acc;
    return acc != NULL ? PARLEY_OK : PARLEY_ERR_NOMEM;
}

static parley_status h_openfds(parley_call *call, const void *in, void *out, void *data)
{
    fdt_list *rep = out;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    uint32_t *v = NULL;
    size_t n = 0;

    (void)call; (void)in; (void)data;
    if (d == NULL)
        return PARLEY_ERR_SYSTEM;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
            continue;
        v = talloc_realloc(out, v, uint32_t, n + 1);
        if (v == NULL)
            break;
        v[n++] = (uint32_t)atoi(e->d_name);
    }
    closedir(d);
    rep->fds.n = n;
    rep->fds.items = v;
    return PARLEY_OK;
}

static parley_status h_sleep(parley_call *call, const void *in, void *out, void *data)
{
    (void)call; (void)data;
    if (((const fdt_u32 *)in)->v > 0)
        usleep(((const fdt_u32 *)in)->v * 1000u);
    ((fdt_u32 *)out)->v = (uint32_t)getpid();
    return PARLEY_OK;
}

static parley_status h_echo(parley_call *call, const void *in, void *out, void *data)
{
    (void)call; (void)data;
    ((fdt_box *)out)->fd = ((const fdt_box *)in)->fd;
    return PARLEY_OK;
}

parley_status fdt_serve(parley_peer *peer)
{
    static const parley_dispatch table[] = {
        { FDT_WRITE, h_write, PARLEY_BLOCKING },
        { FDT_PIPE, h_pipe, PARLEY_BLOCKING },
        { FDT_READALL, h_readall, PARLEY_BLOCKING },
        { FDT_OPENFDS, h_openfds, PARLEY_NONBLOCKING },
        { FDT_SLEEP, h_sleep, PARLEY_BLOCKING },
        { FDT_ECHO, h_echo, PARLEY_NONBLOCKING },
    };

    return parley_peer_add_dispatch(peer, table, PARLEY__COUNT(table), NULL);
}
