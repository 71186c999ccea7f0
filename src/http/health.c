/* /healthz (process alive), /readyz (Redis answers PING), /metrics. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "http-internal.h"
#include "kassaboek/xmalloc.h"

struct readyz_pending {
	struct kb_http_server	*server;
	struct evhttp_request	*req;
};

static void
health_reply(struct evhttp_request *req, int status, const char *state)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(state));
	http_reply_json(req, status, status == 200 ? "OK" : "Service Unavailable", o);
}

void
http_healthz_cb(struct evhttp_request *req, void *arg)
{
	struct kb_http_server	*s = arg;

	s->metrics->http_requests_other++;
	health_reply(req, 200, "alive");
}

static void
readyz_ping_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct readyz_pending	*p = arg;
	int			 ok;

	ok = reply != NULL && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
	if (ok)
		health_reply(p->req, 200, "ready");
	else {
		evhttp_add_header(evhttp_request_get_output_headers(p->req), "Retry-After", "5");
		health_reply(p->req, 503, "redis unavailable");
	}
	http_request_finished(p->server);
	free(p);
}

void
http_readyz_cb(struct evhttp_request *req, void *arg)
{
	struct kb_http_server	*s = arg;
	struct readyz_pending	*p;
	const char		*argv[] = { "PING" };

	s->metrics->http_requests_other++;
	p = xmalloc(sizeof *p);
	p->server = s;
	p->req = req;
	s->inflight++;
	kb_redis_command_argv(s->redis, readyz_ping_cb, p, 1, argv, NULL);
}

void
http_metrics_cb(struct evhttp_request *req, void *arg)
{
	struct kb_http_server	*s = arg;
	struct evbuffer		*buf;

	s->metrics->http_requests_other++;
	s->metrics->redis_up = kb_redis_connected(s->redis);
	buf = evbuffer_new();
	kb_metrics_render(s->metrics, buf);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}
