/*
 * The HTTP side of `kassaboek serve`: POST /webhooks/aspos, /healthz,
 * /readyz and /metrics on one evhttp listener, with the limits that keep a
 * slow or hostile client from pinning the process.
 */
#ifndef KASSABOEK_HTTP_H
#define KASSABOEK_HTTP_H

#include <event2/event.h>

#include "kassaboek/config.h"
#include "kassaboek/err.h"
#include "kassaboek/metrics.h"
#include "kassaboek/redis.h"
#include "kassaboek/verify.h"

struct kb_http_server;
struct sockaddr_storage;

/* Parses server.listen: "IPv4:port", "[IPv6]:port" or "localhost:port"; port 0 = any free one. */
int	kb_http_parse_listen(const char *listen, struct sockaddr_storage *ss, int *sslen, struct kb_err *err);

/*
 * Binds cfg->server.listen and starts serving. Every pointer is borrowed
 * and must outlive the server. Returns NULL with err set if it cannot bind.
 */
struct kb_http_server	*kb_http_server_new(struct event_base *base, const struct kb_config *cfg,
			    struct kb_redis *redis, const struct kb_verify *verify,
			    struct kb_metrics *metrics, struct kb_err *err);
/* The bound port (useful with port 0). */
int			 kb_http_server_port(const struct kb_http_server *s);
/*
 * Stops accepting connections; done runs (once) when no request is waiting
 * for Redis any more, possibly before this returns.
 */
void			 kb_http_server_drain(struct kb_http_server *s, void (*done)(void *), void *arg);
void			 kb_http_server_free(struct kb_http_server *s);

#endif
