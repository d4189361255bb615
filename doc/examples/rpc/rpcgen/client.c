/* SPDX-License-Identifier: MIT */
/* The rpcgen version of the clock client, for comparison with ../client.c:
 *   rpcgen clock.x; cc -I/usr/include/tirpc clock_clnt.c clock_xdr.c client.c -ltirpc
 * Usage: client HOST ZONE (rpcbind on HOST finds the server's port). */
#include <stdio.h>
#include <stdlib.h>
#include "clock.h"

int main(int argc, char **argv)
{
    CLIENT *clnt;
    clock_zone zone;
    clock_result *res;

    if (argc != 3)
        return 2;
    clnt = clnt_create(argv[1], CLOCK_PROG, CLOCK_VERS, "tcp");
    if (clnt == NULL) {
        clnt_pcreateerror(argv[1]);
        return 1;
    }
    zone = argv[2];
    res = clock_now_1(&zone, clnt);
    if (res == NULL) {
        clnt_perror(clnt, argv[1]);
        return 1;
    }
    if (res->status == CLOCK_OK)
        printf("%s %lld.%09u\n", zone, (long long)res->clock_result_u.now.seconds,
               res->clock_result_u.now.nanos);
    else
        printf("%s: unknown zone\n", zone);
    clnt_freeres(clnt, (xdrproc_t)xdr_clock_result, (char *)res);
    clnt_destroy(clnt);
    return 0;
}
