/* SPDX-License-Identifier: MIT */
/* Calls in either direction: what a handle says about itself. */
#include "config.h"

#include "parley/receive.h"
#include "call.h"

PARLEY_PUBLIC parley_session *parley_call_get_session(parley_call *call)
{
    return call != NULL ? call->session : NULL;
}

PARLEY_PUBLIC void *parley_call_get_dispatch_data(parley_call *call)
{
    return call != NULL && call->incoming && call->entry != NULL ? call->entry->dispatch_data
                                                                 : NULL;
}

PARLEY_PUBLIC const parley_method *parley_call_get_method(parley_call *call)
{
    return call != NULL ? call->method : NULL;
}

PARLEY_PUBLIC parley_call_direction parley_call_get_direction(parley_call *call)
{
    return call != NULL && call->incoming ? PARLEY_CALL_INCOMING : PARLEY_CALL_OUTGOING;
}
