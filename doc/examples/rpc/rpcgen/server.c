/* SPDX-License-Identifier: MIT */
/* The rpcgen version of the clock server, for comparison with ../server.c:
 *   rpcgen clock.x; cc -I/usr/include/tirpc clock_svc.c clock_xdr.c server.c -ltirpc
 * rpcgen writes main() (clock_svc.c): it registers the program with
 * rpcbind and calls these functions, which return static results. */
#include <string.h>
#include <time.h>
#include "clock.h"

void *clock_null_1_svc(void *argp, struct svc_req *rqstp)
{
    static char nothing;
    (void)argp; (void)rqstp;
    return &nothing;
}

clock_result *clock_now_1_svc(clock_zone *argp, struct svc_req *rqstp)
{
    static clock_result result;
    struct timespec ts;

    (void)rqstp;
    if (strcmp(*argp, "UTC") != 0) {
        result.status = CLOCK_UNKNOWN_ZONE;
        return &result;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    result.status = CLOCK_OK;
    result.clock_result_u.now.seconds = ts.tv_sec;
    result.clock_result_u.now.nanos = (u_int)ts.tv_nsec;
    return &result;
}
