/* SPDX-License-Identifier: MIT */
/* Debug lines: PARLEY_DEBUG, parley_peer_set_debug(), the log function.
 * A line is built whole in a buffer and handed over in one piece (one
 * write(2) to stderr), with no Parley lock held, so lines of different
 * threads never mix.  The format is documented in parley(7) and
 * doc/runtime.md ("Debugging"). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parley/json.h"
#include "call.h"
#include "fork.h"
#include "session.h"
#include "status.h"

#define ALL_FLAGS (PARLEY_DEBUG_CALLS | PARLEY_DEBUG_FRAMES | PARLEY_DEBUG_VALUES)

/* PARLEY_DEBUG: comma-separated words; unknown ones are reported once per
 * peer on stderr and ignored. */
static unsigned parse_setting(const char *s)
{
    unsigned flags = 0;
    char word[32];

    while (s != NULL && *s != '\0') {
        size_t n = strcspn(s, ",");

        if (n < sizeof(word)) {
            memcpy(word, s, n);
            word[n] = '\0';
        } else {
            word[0] = '?';
            word[1] = '\0';
        }
        if (strcmp(word, "1") == 0 || strcmp(word, "calls") == 0)
            flags |= PARLEY_DEBUG_CALLS;
        else if (strcmp(word, "frames") == 0)
            flags |= PARLEY_DEBUG_CALLS | PARLEY_DEBUG_FRAMES;
        else if (strcmp(word, "values") == 0)
            flags |= PARLEY_DEBUG_CALLS | PARLEY_DEBUG_VALUES;
        else if (strcmp(word, "all") == 0)
            flags |= ALL_FLAGS;
        else if (strcmp(word, "0") != 0 && word[0] != '\0')
            fprintf(stderr, "parley: PARLEY_DEBUG: unknown setting \"%.*s\" ignored "
                    "(known: 1, calls, frames, values, all)\n", (int)n, s);
        s += n;
        if (*s == ',')
            s++;
    }
    return flags;
}

void parley__debug_init(parley_peer *peer)
{
    peer->debug = parse_setting(getenv("PARLEY_DEBUG"));
}

PARLEY_PUBLIC parley_status parley_peer_set_debug(parley_peer *peer, unsigned flags)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL || (flags & ~ALL_FLAGS) != 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_debug needs a peer and PARLEY_DEBUG_* flags");
    PARLEY__FORK_GUARD(peer);
    if (flags & (PARLEY_DEBUG_FRAMES | PARLEY_DEBUG_VALUES))
        flags |= PARLEY_DEBUG_CALLS;
    pthread_mutex_lock(&peer->lock);
    if (peer->started)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "debug lines are chosen before the peer starts");
    else
        peer->debug = flags;
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_set_log_function(parley_peer *peer, parley_log_fn fn,
                                                         void *data)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_log_function needs a peer");
    PARLEY__FORK_GUARD(peer);
    pthread_mutex_lock(&peer->lock);
    if (peer->started) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the log function is fixed once the peer has started");
    } else {
        peer->log_fn = fn;
        peer->log_data = data;
    }
    pthread_mutex_unlock(&peer->lock);
    return st;
}

uint32_t parley__session_number(parley_session *session)
{
    uint32_t n = __atomic_load_n(&session->number, __ATOMIC_RELAXED);
    uint32_t mine, expected = 0;

    if (n != 0 || session->peer == NULL)
        return n;
    mine = __atomic_add_fetch(&session->peer->next_session_number, 1, __ATOMIC_RELAXED);
    if (mine == 0)
        mine = __atomic_add_fetch(&session->peer->next_session_number, 1, __ATOMIC_RELAXED);
    if (__atomic_compare_exchange_n(&session->number, &expected, mine, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        return mine;
    return expected;   /* another thread numbered it first */
}

char *parley__value_text(TALLOC_CTX *mem_ctx, const parley_type *type, const void *value)
{
    char saved[PARLEY__ERROR_MAX];
    char *text = NULL;

    if (type == NULL || value == NULL)
        return talloc_strdup(mem_ctx, "");
    snprintf(saved, sizeof(saved), "%s", parley_error_message());
    if (!parley_json_available() ||
        parley_json_encode(mem_ctx, type, value, 0, &text) != PARLEY_OK) {
        text = NULL;
        if (parley_data_print(mem_ctx, type, value, &text) != PARLEY_OK)
            text = talloc_asprintf(mem_ctx, "(not printable: %s)", parley_error_message());
    }
    parley__error(PARLEY_OK, "%s", saved);
    return text;
}

/* Hand one line over: to the log function, or to stderr in one write. */
static void emit(parley_peer *peer, char *line)
{
    size_t len;

    if (line == NULL)
        return;
    if (peer->log_fn != NULL) {
        peer->log_fn(peer, line, peer->log_data);
        return;
    }
    len = strlen(line);
    line[len] = '\n';   /* talloc strings have room: the NUL */
    (void)!write(STDERR_FILENO, line, len + 1);
    line[len] = '\0';
}

/* A status without its "PARLEY_" prefix: OK, ERR_TIMEOUT. */
static const char *short_status(parley_status st)
{
    const char *name = parley_status_name(st);

    return strncmp(name, "PARLEY_", 7) == 0 ? name + 7 : name;
}

void parley__debug_call(parley_call *call, parley_status status, uint64_t duration_ns,
                        const char *request, const char *reply)
{
    parley_peer *peer = call->session->peer;
    char *line;

    if ((peer->debug & PARLEY_DEBUG_CALLS) == 0)
        return;
    line = talloc_asprintf(NULL, "parley: pid=%ld session=%u dir=%s kind=%s id=%u method=%s "
                           "status=%s time_us=%llu", (long)getpid(),
                           parley__session_number(call->session), call->incoming ? "in" : "out",
                           (call->method->flags & PARLEY_METHOD_ONEWAY) ? "oneway" : "call",
                           call->id, call->method->name, short_status(status),
                           (unsigned long long)(duration_ns / 1000u));
    if (line != NULL && (peer->debug & PARLEY_DEBUG_VALUES) != 0) {
        /* Out of memory: the line without them (a failed append leaves
         * the string as it was; one that worked may have moved it). */
        char *more;

        if (request != NULL && (more = talloc_asprintf_append(line, " request=%s", request)))
            line = more;
        if (reply != NULL && (more = talloc_asprintf_append(line, " reply=%s", reply)))
            line = more;
    }
    emit(peer, line);
    talloc_free(line);
}

static void debug_frame(parley_session *session, const parley__frame_header *hdr, const char *dir)
{
    parley_peer *peer = session->peer;
    char *line;

    if (peer == NULL || (peer->debug & PARLEY_DEBUG_FRAMES) == 0)
        return;
    line = talloc_asprintf(NULL, "parley: pid=%ld session=%u dir=%s kind=frame frame=%s id=%u "
                           "code=%u size=%u fds=%u", (long)getpid(),
                           parley__session_number(session), dir,
                           parley__frame_kind_name(hdr->kind), hdr->call_id, hdr->code,
                           hdr->length, hdr->nfds);
    emit(peer, line);
    talloc_free(line);
}

void parley__debug_frame(parley_session *session, const parley__frame_header *hdr)
{
    debug_frame(session, hdr, "in");
}

void parley__debug_frame_out(parley_session *session, const parley__frame_header *hdr)
{
    debug_frame(session, hdr, "out");
}
