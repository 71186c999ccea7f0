#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "http-internal.h"
#include "kassaboek/log.h"
#include "kassaboek/units.h"
#include "kassaboek/xmalloc.h"

#define SERVER_BACKLOG	1024

static void
server_not_found_cb(struct evhttp_request *req, void *arg)
{
	struct kb_http_server	*s = arg;

	s->metrics->http_requests_other++;
	http_reply_error(NULL, req, 404, "not_found", "no such endpoint");
}

int
kb_http_parse_listen(const char *listen, struct sockaddr_storage *ss, int *sslen, struct kb_err *err)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	const char		*colon;
	char			 host[INET6_ADDRSTRLEN + 2];
	size_t			 hlen;
	long long		 port;

	memset(ss, 0, sizeof *ss);
	if ((colon = strrchr(listen, ':')) == NULL ||
	    kb_parse_int(colon + 1, 0, 65535, &port, err) == -1)
		return (kb_err_set(err, "'%s' is not host:port (port 0 picks a free one)", listen));
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
		listen++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof host)
		return (kb_err_set(err, "'%s' has no valid host", listen));
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (evutil_inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof *sin;
	} else if (evutil_inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof *sin6;
	} else
		return (kb_err_set(err, "'%s' is not an IP address (use e.g. 127.0.0.1, 0.0.0.0 or [::])", host));
	return (0);
}

static int
server_bind(struct kb_http_server *s, struct kb_err *err)
{
	struct sockaddr_storage	 ss;
	struct evconnlistener	*lev;
	int			 sslen = sizeof ss;
	socklen_t		 len = sizeof ss;

	if (kb_http_parse_listen(s->cfg->server.listen, &ss, &sslen, err) == -1)
		return (-1);
	lev = evconnlistener_new_bind(s->base, NULL, NULL,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED,
	    SERVER_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (lev == NULL)
		return (kb_err_set(err, "cannot listen on %s: %s", s->cfg->server.listen,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())));
	if ((s->bound = evhttp_bind_listener(s->http, lev)) == NULL) {
		evconnlistener_free(lev);
		return (kb_err_set(err, "cannot serve HTTP on %s", s->cfg->server.listen));
	}
	if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss, &len) == 0)
		s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	http_conn_gate_init(&s->gate, s->base, s->http, lev, (size_t)s->cfg->server.max_connections,
	    s->metrics);
	evconnlistener_enable(lev);
	return (0);
}

struct kb_http_server *
kb_http_server_new(struct event_base *base, const struct kb_config *cfg, struct kb_redis *redis,
    const struct kb_verify *verify, struct kb_metrics *metrics, struct kb_err *err)
{
	struct kb_http_server	*s;
	struct timeval		 tv;

	s = xcalloc(1, sizeof *s);
	s->magic = HTTP_SERVER_MAGIC;
	s->base = base;
	s->cfg = cfg;
	s->redis = redis;
	s->verify = verify;
	s->metrics = metrics;
	s->http = evhttp_new(base);
	/* Limits: a client cannot send more than these, nor take longer. */
	evhttp_set_max_body_size(s->http, (ev_ssize_t)cfg->server.max_body);
	evhttp_set_max_headers_size(s->http, (ev_ssize_t)cfg->server.max_headers);
	tv = kb_timeval_ms(cfg->server.request_timeout_ms);
	evhttp_set_timeout_tv(s->http, &tv);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(s->http, "application/json");
	evhttp_set_cb(s->http, "/webhooks/aspos", http_webhook_cb, s);
	evhttp_set_cb(s->http, "/healthz", http_healthz_cb, s);
	evhttp_set_cb(s->http, "/readyz", http_readyz_cb, s);
	evhttp_set_cb(s->http, "/metrics", http_metrics_cb, s);
	evhttp_set_gencb(s->http, server_not_found_cb, s);
	if (server_bind(s, err) == -1) {
		kb_http_server_free(s);
		return (NULL);
	}
	return (s);
}

int
kb_http_server_port(const struct kb_http_server *s)
{
	return (s->port);
}

void
kb_http_server_drain(struct kb_http_server *s, void (*done)(void *), void *arg)
{
	if (s->bound != NULL) {
		s->gate.listener = NULL;
		evhttp_del_accept_socket(s->http, s->bound);
		s->bound = NULL;
	}
	s->draining = 1;
	if (s->inflight == 0) {
		done(arg);
		return;
	}
	s->drained = done;
	s->drained_arg = arg;
}

void
kb_http_server_free(struct kb_http_server *s)
{
	if (s == NULL)
		return;
	if (s->http != NULL)
		evhttp_free(s->http);
	http_conn_gate_clear(&s->gate);
	s->magic = 0;
	free(s);
}
