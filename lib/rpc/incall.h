/* SPDX-License-Identifier: MIT */
/* Internal: incoming calls (incall.c). */
#ifndef PARLEY_LIB_INCALL_H
#define PARLEY_LIB_INCALL_H

#include "call.h"

/* Loop thread: a CALL or ONEWAY frame. */
void parley__call_on_call(parley_session *session, const parley__frame *frame);
/* Loop thread: a CANCEL frame for an incoming call. */
void parley__call_on_cancel(parley_session *session, const parley__frame_header *hdr);
/* Loop thread, the session ended: run the cancel functions of its pended
 * calls. */
void parley__call_session_closed(parley_session *session);
/* True on a thread that runs a handler of peer right now. */
bool parley__in_handler_of(const parley_peer *peer);

/* Under session->lock: link a new call into the session. */
void parley__call_incoming_link_locked(parley_call *call);
/* The handler returned st: finish now, or leave a pended call waiting. */
void parley__call_handler_returned(parley_call *call, parley_status st);
/* Send the reply of an incoming call (unlinked already) and free it. */
void parley__call_finish_incoming(parley_call *call, parley_status st);
/* The session is being freed: free the incoming calls kept for reuse. */
void parley__call_cache_free(parley_session *session);

#endif
