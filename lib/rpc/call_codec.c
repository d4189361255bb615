/* SPDX-License-Identifier: MIT */
/* Values of calls on the wire: the per-thread encode buffer, and codecs that
 * map a session's handles and carry descriptors. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/data.h"
#include "call_codec.h"
#include "fds.h"
#include "call.h"
#include "status.h"

/* Requests and replies are encoded into a buffer that belongs to the thread
 * and is reused: no allocation per call, and no page faults for a fresh
 * large buffer each time.  A buffer above SCRATCH_KEEP is freed after use. */
#define SCRATCH_KEEP ((2u << 20) + 4096u)

typedef struct scratch {
    uint8_t *buf;
    size_t cap;
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *p)
{
    scratch *s = p;

    free(s->buf);
    free(s);
}

static void scratch_init(void)
{
    (void)pthread_key_create(&scratch_key, scratch_destroy);
}

/* Encode value; *ret_buf is valid until this thread's next parley__encode_scratch()
 * or parley__scratch_done(). */
parley_status parley__encode_scratch(const parley_type *type, const void *value,
                                    uint8_t **ret_buf, size_t *ret_len, parley_codec *codec)
{
    scratch *s;
    size_t n = 0, len = 0;
    parley_status st;

    pthread_once(&scratch_once, scratch_init);
    st = parley_data_size(type, value, codec, &n);
    if (st != PARLEY_OK)
        return st;
    s = pthread_getspecific(scratch_key);
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return parley__error(PARLEY_ERR_NOMEM, "out of memory encoding");
        }
    }
    if (s->cap < n || s->buf == NULL) {
        size_t cap = n < 256 ? 256 : n;
        uint8_t *b = realloc(s->buf, cap);

        if (b == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "out of memory encoding %zu bytes", n);
        s->buf = b;
        s->cap = cap;
    }
    st = parley_data_encode_to(type, value, codec, s->buf, s->cap, &len);
    if (st != PARLEY_OK)
        return st;
    *ret_buf = s->buf;
    *ret_len = len;
    return PARLEY_OK;
}

/* A codec for a value sent on session: fds into fds[PARLEY__FDS_HARD_MAX]
 * up to the peer's max, or none over a socket that cannot carry them. */
void parley__codec_for_send(parley_session *session, parley_codec *codec, int *fds)
{
    parley__session_codec(session, codec);   /* handle hooks */
    if (parley__conn_is_unix(session->conn)) {
        codec->fds = fds;
        codec->max_fds = parley__peer_max_fds(session->peer);
    }
}

/* Say why an fd did not encode over a socket that cannot carry it. */
parley_status parley__fd_encode_error(parley_session *session, parley_status st)
{
    if (st == PARLEY_ERR_UNSUPPORTED && !parley__conn_is_unix(session->conn))
        return parley__error(st, "fds travel only over unix sockets, not this session's: %s",
                             parley_error_message());
    if (st == PARLEY_ERR_OVERFLOW && parley__conn_is_unix(session->conn))
        return parley__error(st, "%s (the max fds per frame is %u)", parley_error_message(),
                             parley__peer_max_fds(session->peer));
    return st;
}

/* A codec for a value received in frame. */
void parley__codec_for_receive(parley_session *session, const parley__frame *frame,
                               parley_codec *codec, int *dummy)
{
    parley__session_codec(session, codec);   /* handle hooks */
    codec->fds = frame->fds != NULL ? frame->fds : dummy;
    codec->n_fds = frame->n_fds;
}

/* The value decoded from frame takes the frame's fds. */
parley_status parley__adopt_frame_fds(const parley__frame *frame, void *value)
{
    return parley__fds_adopt(value, frame->fds, frame->n_fds);
}

/* The encoded bytes are no longer needed: drop an oversized buffer. */
void parley__scratch_done(void)
{
    scratch *s = pthread_getspecific(scratch_key);

    if (s != NULL && s->cap > SCRATCH_KEEP) {
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
    }
}
