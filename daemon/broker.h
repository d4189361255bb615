/* SPDX-License-Identifier: MIT */
/* parleyd's broker port (broker.c). */
#ifndef PARLEYD_BROKER_H
#define PARLEYD_BROKER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>

typedef struct broker broker;

/* Find the brokered service `name` and pass it fd (which the caller closes
 * afterwards).  true: passed, and "OK\n" was written to fd first; false:
 * answer holds the "ERR NUMBER SENTENCE\n" line for the client. */
typedef bool (*broker_lookup_fn)(void *data, const char *name, int fd, const char *from,
                                 char *answer, size_t size);

/* Listen on endpoint (tcp:HOST:PORT) and start the broker's thread. */
int broker_start(TALLOC_CTX *mem_ctx, const char *endpoint, broker_lookup_fn lookup, void *data,
                 broker **ret);
/* The bound endpoint, e.g. "tcp:127.0.0.1:40123". */
const char *broker_endpoint(const broker *b);
/* Stop the thread, close the port.  NULL is ignored. */
void broker_stop(broker *b);

#endif
