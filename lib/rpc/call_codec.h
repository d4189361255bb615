/* SPDX-License-Identifier: MIT */
/* Internal: values of calls on the wire (call_codec.c), for outcall.c and
 * incall.c. */
#ifndef PARLEY_LIB_CALL_CODEC_H
#define PARLEY_LIB_CALL_CODEC_H

#include "parley/data.h"
#include "call.h"
#include "conn.h"

/* Encode value into this thread's buffer; *ret_buf is valid until this
 * thread's next parley__encode_scratch() or parley__scratch_done(). */
parley_status parley__encode_scratch(const parley_type *type, const void *value,
                                     uint8_t **ret_buf, size_t *ret_len, parley_codec *codec);
/* The encoded bytes are no longer needed: an oversized buffer is dropped. */
void parley__scratch_done(void);
/* A codec for a value sent on session: its handles; fds into
 * fds[PARLEY__FDS_HARD_MAX] up to the peer's max, over a unix socket only. */
void parley__codec_for_send(parley_session *session, parley_codec *codec, int *fds);
/* Say why an fd did not encode (another kind of socket, too many). */
parley_status parley__fd_encode_error(parley_session *session, parley_status st);
/* A codec for a value received in frame (its descriptors; dummy when none). */
void parley__codec_for_receive(parley_session *session, const parley__frame *frame,
                               parley_codec *codec, int *dummy);
/* The value decoded from frame takes the frame's descriptors. */
parley_status parley__adopt_frame_fds(const parley__frame *frame, void *value);

#endif
