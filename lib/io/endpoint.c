/* SPDX-License-Identifier: MIT */
/* Endpoint strings. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "endpoint.h"
#include "status.h"

static parley_status parse_port(const char *s, const char *text)
{
    char *end;
    unsigned long v;

    if (*s == '\0')
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "endpoint \"%s\" has no port", text);
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v > 65535 || s[0] == '-' || s[0] == '+')
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "endpoint \"%s\": port \"%s\" is not a number 0..65535", text, s);
    return PARLEY_OK;
}

parley_status parley__endpoint_parse(TALLOC_CTX *mem_ctx, const char *text,
                                     parley__endpoint **ret_ep)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley__endpoint *ep;
    parley_status st = PARLEY_OK;
    size_t max_path = sizeof(((struct sockaddr_un *)0)->sun_path);

    if (tmp == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory parsing an endpoint");
    ep = talloc_zero(tmp, parley__endpoint);
    if (ep == NULL || (ep->text = talloc_strdup(ep, text)) == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory parsing an endpoint");
        goto done;
    }
    if (strncmp(text, "unix:", 5) == 0) {
        const char *p = text + 5;

        if (p[0] == '@') {
            ep->kind = PARLEY__EP_ABSTRACT;
            p++;
            if (*p == '\0' || strlen(p) + 1 > max_path) {
                st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                   "endpoint \"%s\": abstract name empty or longer than %zu bytes",
                                   text, max_path - 1);
                goto done;
            }
        } else {
            ep->kind = PARLEY__EP_UNIX;
            if (*p == '\0' || strlen(p) + 1 > max_path) {
                st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                   "endpoint \"%s\": socket path empty or longer than %zu bytes",
                                   text, max_path - 1);
                goto done;
            }
        }
        ep->path = talloc_strdup(ep, p);
    } else if (strncmp(text, "tcp:", 4) == 0 || strncmp(text, "tls:", 4) == 0) {
        const char *p = text + 4, *colon, *option = strchr(text, '?');
        char *addr;

        ep->kind = text[1] == 'l' ? PARLEY__EP_TLS : PARLEY__EP_TCP;
        if (option != NULL) {
            /* tcp: "?public" (listen beyond loopback); tls: "?name=NAME"
             * (the name the server's certificate must carry). */
            if (ep->kind == PARLEY__EP_TCP && strcmp(option, "?public") == 0) {
                ep->public_ok = true;
            } else if (ep->kind == PARLEY__EP_TLS && strncmp(option, "?name=", 6) == 0 &&
                       option[6] != '\0') {
                ep->server_name = talloc_strdup(ep, option + 6);
                if (ep->server_name == NULL) {
                    st = parley__error(PARLEY_ERR_NOMEM, "out of memory parsing an endpoint");
                    goto done;
                }
            } else {
                st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                   "endpoint \"%s\": unknown option \"%s\" (the only one is "
                                   "%s)", text, option + 1,
                                   ep->kind == PARLEY__EP_TCP ? "?public" : "?name=NAME");
                goto done;
            }
            addr = talloc_strndup(ep, p, (size_t)(option - p));
            if (addr == NULL) {
                st = parley__error(PARLEY_ERR_NOMEM, "out of memory parsing an endpoint");
                goto done;
            }
            p = addr;
        }
        if (p[0] == '[') {
            const char *close = strchr(p, ']');

            if (close == NULL || close[1] != ':') {
                st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                   "endpoint \"%s\": expected %.3s:[ADDRESS]:PORT", text,
                                   text);
                goto done;
            }
            ep->host = talloc_strndup(ep, p + 1, (size_t)(close - p - 1));
            colon = close + 1;
        } else {
            colon = strrchr(p, ':');
            if (colon == NULL || memchr(p, ':', (size_t)(colon - p)) != NULL) {
                st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                   "endpoint \"%s\": expected %.3s:HOST:PORT "
                                   "(IPv6 addresses in brackets)", text, text);
                goto done;
            }
            ep->host = talloc_strndup(ep, p, (size_t)(colon - p));
        }
        if (ep->host == NULL) {
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory parsing an endpoint");
            goto done;
        }
        if (ep->host[0] == '\0') {
            st = parley__error(PARLEY_ERR_INVALID_ARGUMENT, "endpoint \"%s\" has no host", text);
            goto done;
        }
        st = parse_port(colon + 1, text);
        if (st != PARLEY_OK)
            goto done;
        ep->port = talloc_strdup(ep, colon + 1);
        if (ep->kind == PARLEY__EP_TLS) {
            ep->public_ok = true;   /* TLS authenticates: any address may listen */
            if (ep->server_name == NULL)
                ep->server_name = talloc_strdup(ep, ep->host);
            if (ep->server_name == NULL) {
                st = parley__error(PARLEY_ERR_NOMEM, "out of memory parsing an endpoint");
                goto done;
            }
        }
    } else {
        st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                           "endpoint \"%s\" is not unix:/PATH, unix:@NAME, tcp:HOST:PORT or "
                           "tls:HOST:PORT",
                           text);
        goto done;
    }
    if ((!PARLEY__EP_INET(ep) && ep->path == NULL) || (PARLEY__EP_INET(ep) && ep->port == NULL)) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory parsing an endpoint");
        goto done;
    }
    *ret_ep = talloc_steal(mem_ctx, ep);
done:
    talloc_free(tmp);
    return st;
}
