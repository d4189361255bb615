/* SPDX-License-Identifier: MIT */
/* Socket activation: the listening sockets systemd passes in LISTEN_PID,
 * LISTEN_FDS and LISTEN_FDNAMES (the sd_listen_fds() protocol, read here
 * without libsystemd: descriptors from 3 up). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fork.h"
#include "listen.h"
#include "status.h"

#define LISTEN_FDS_START 3
#define LISTEN_FDS_MAX 4096   /* more would be a malformed variable */

static bool parse_uint(const char *s, unsigned long *ret)
{
    char *end;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    *ret = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0';
}

static void unset_all(void)
{
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

PARLEY_PUBLIC parley_status parley_peer_add_systemd_listen_fds(parley_peer *peer,
                                                               const char *name, size_t *ret_n)
{
    const char *pid_s, *fds_s, *names_s;
    unsigned long pid, n;
    TALLOC_CTX *tmp;
    int *fds;
    const char **names;
    size_t taken = 0;
    parley_status st;

    if (ret_n != NULL)
        *ret_n = 0;
    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_systemd_listen_fds needs a peer");
    PARLEY__FORK_GUARD(peer);
    pid_s = getenv("LISTEN_PID");
    fds_s = getenv("LISTEN_FDS");
    names_s = getenv("LISTEN_FDNAMES");
    if (pid_s == NULL || fds_s == NULL)
        return PARLEY_OK;    /* not socket-activated */
    if (!parse_uint(pid_s, &pid))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "LISTEN_PID=\"%s\" is not a process id", pid_s);
    if (pid != (unsigned long)getpid())
        return PARLEY_OK;    /* meant for another process (a parent's, inherited) */
    if (!parse_uint(fds_s, &n) || n > LISTEN_FDS_MAX)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "LISTEN_FDS=\"%s\" is not a count 0..%d", fds_s, LISTEN_FDS_MAX);
    tmp = talloc_new(NULL);
    fds = talloc_array(tmp, int, n > 0 ? n : 1);
    names = talloc_zero_array(tmp, const char *, n > 0 ? n : 1);
    if (tmp == NULL || fds == NULL || names == NULL) {
        talloc_free(tmp);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory reading LISTEN_FDS");
    }
    /* LISTEN_FDNAMES: colon-separated, one per descriptor (optional). */
    if (names_s != NULL) {
        const char *p = names_s;

        for (unsigned long i = 0; i < n && p != NULL; i++) {
            size_t len = strcspn(p, ":");

            names[i] = talloc_strndup(tmp, p, len);
            p = p[len] == ':' ? p + len + 1 : NULL;
        }
    }
    for (unsigned long i = 0; i < n; i++) {
        if (name != NULL && (names[i] == NULL || strcmp(names[i], name) != 0))
            continue;
        names[taken] = names[i];
        fds[taken++] = (int)(LISTEN_FDS_START + i);
    }
    st = parley__listen_adopt_fds(peer, fds, names, taken);
    talloc_free(tmp);
    if (st != PARLEY_OK)
        return st;
    if (name == NULL)
        unset_all();
    if (ret_n != NULL)
        *ret_n = taken;
    return PARLEY_OK;
}
