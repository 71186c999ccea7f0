/*
 * POST /webhooks/aspos: size -> signature over the raw body -> content type
 * -> JSON -> envelope -> one atomic dedupe+enqueue in Redis -> 202. The
 * answer goes out only after Redis has answered, so a 2xx means stored.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "http-internal.h"
#include "kassaboek/log.h"
#include "kassaboek/queue.h"
#include "kassaboek/xmalloc.h"

/* A verified webhook waiting for Redis. */
struct webhook_pending {
	unsigned int		 magic;
	struct kb_http_server	*server;
	struct evhttp_request	*req;
	char			*id;
	struct timeval		 started;
};

static double
webhook_elapsed(const struct timeval *since)
{
	struct timeval	now, d;

	gettimeofday(&now, NULL);
	timersub(&now, since, &d);
	return ((double)d.tv_sec + (double)d.tv_usec / 1e6);
}

void
http_request_finished(struct kb_http_server *s)
{
	s->inflight--;
	if (s->draining && s->inflight == 0 && s->drained != NULL) {
		void	(*done)(void *) = s->drained;

		s->drained = NULL;
		done(s->drained_arg);
	}
}

static void
webhook_enqueued_cb(enum kb_enqueue_result result, const char *stream_id, void *arg)
{
	struct webhook_pending	*p = arg;
	struct kb_http_server	*s = p->server;

	if (p->magic != HTTP_PENDING_MAGIC)
		abort();
	kb_metrics_observe_enqueue(s->metrics, webhook_elapsed(&p->started));
	switch (result) {
	case KB_ENQUEUE_QUEUED:
		kb_log(KB_LOG_INFO, p->id, "webhook", "queued as %s", stream_id);
		kb_metrics_count_status(s->metrics, 202);
		http_reply_status(p->req, 202, "Accepted", p->id, "queued");
		break;
	case KB_ENQUEUE_DUPLICATE:
		kb_log(KB_LOG_INFO, p->id, "webhook", "duplicate delivery, already queued");
		kb_metrics_count_status(s->metrics, 200);
		http_reply_status(p->req, 200, "OK", p->id, "duplicate");
		break;
	case KB_ENQUEUE_UNAVAILABLE:
		kb_log(KB_LOG_WARN, p->id, "webhook", "Redis unavailable, answered 503");
		http_reply_error(s, p->req, 503, "unavailable", "the queue is unavailable, retry later");
		break;
	}
	p->magic = 0;
	free(p->id);
	free(p);
	http_request_finished(s);
}

/* application/json, optionally with parameters; the media type is case-insensitive. */
static int
webhook_is_json(const char *content_type)
{
	size_t	len;

	if (content_type == NULL)
		return (0);
	while (*content_type == ' ')
		content_type++;
	len = strcspn(content_type, "; ");
	return (len == 16 && strncasecmp(content_type, "application/json", 16) == 0);
}

/* The envelope rules: on success *id and *type point into env. */
static int
webhook_envelope(const struct http_envelope *env, const char **id, const char **type, struct kb_err *err)
{
	if (!env->is_object)
		return (kb_err_set(err, "the body must be a JSON object"));
	if (!env->has_type)
		return (kb_err_set(err, "missing string field 'type'"));
	*type = env->type;
	if (!http_event_type_known(*type))
		return (kb_err_set(err, "unknown event type '%.64s'", *type));
	if (!env->has_id || env->id[0] == '\0')
		return (kb_err_set(err, "missing string field 'id' (at most %d bytes)", KB_VERIFY_MAX_ID));
	*id = env->id;
	if (!env->data_is_object)
		return (kb_err_set(err, "missing object field 'data'"));
	return (0);
}

/* Ids become Redis keys and log fields: printable, no spaces, bounded. */
static int
webhook_id_ok(const char *id)
{
	size_t	i, len = strlen(id);

	if (len == 0 || len > KB_VERIFY_MAX_ID)
		return (0);
	for (i = 0; i < len; i++)
		if (!isgraph((unsigned char)id[i]))
			return (0);
	return (1);
}

/* One pass over the headers for everything the checks need (the first of duplicates wins). */
static void
webhook_headers(struct evkeyvalq *hdrs, const char *hmac_header, struct kb_verify_request *vr,
    const char **content_type)
{
	struct evkeyval	*h;
	const char	**slot;

	TAILQ_FOREACH(h, hdrs, next) {
		if (strcasecmp(h->key, "webhook-id") == 0)
			slot = &vr->webhook_id;
		else if (strcasecmp(h->key, "webhook-timestamp") == 0)
			slot = &vr->webhook_timestamp;
		else if (strcasecmp(h->key, "webhook-signature") == 0)
			slot = &vr->webhook_signature;
		else if (strcasecmp(h->key, "Content-Type") == 0)
			slot = content_type;
		else if (strcasecmp(h->key, "Authorization") == 0)
			slot = &vr->authorization;
		else if (strcasecmp(h->key, hmac_header) == 0)
			slot = &vr->hmac_signature;
		else
			continue;
		if (*slot == NULL)
			*slot = h->value;
	}
}

static void
webhook_handle(struct kb_http_server *s, struct evhttp_request *req)
{
	struct evkeyvalq		*hdrs = evhttp_request_get_input_headers(req);
	struct evbuffer			*in = evhttp_request_get_input_buffer(req);
	struct kb_verify_request	 vr;
	struct kb_queue_event		 ev;
	struct webhook_pending		*p;
	struct http_envelope		 env;
	const char			*id = NULL, *type = NULL, *body, *content_type = NULL;
	struct kb_err			 err;
	size_t				 len;

	len = evbuffer_get_length(in);
	if (len > s->cfg->server.max_body) {
		http_reply_error(s, req, 413, "payload_too_large", "the body exceeds server.max_body");
		return;
	}
	body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";

	memset(&vr, 0, sizeof vr);
	webhook_headers(hdrs, s->cfg->server.hmac_header, &vr, &content_type);
	vr.body = (const unsigned char *)body;
	vr.body_len = len;
	if (kb_verify_check(s->verify, &vr, time(NULL), &err) == -1) {
		kb_log(KB_LOG_WARN, vr.webhook_id != NULL && webhook_id_ok(vr.webhook_id) ?
		    vr.webhook_id : NULL, "webhook", "rejected: %s", err.msg);
		http_reply_error(s, req, 401, "unauthorized", err.msg);
		return;
	}
	if (!webhook_is_json(content_type)) {
		http_reply_error(s, req, 415, "unsupported_media_type", "Content-Type must be application/json");
		return;
	}
	if (http_envelope_parse(body, len, &env, &err) == -1) {
		http_reply_error(s, req, 400, "malformed_json", err.msg);
		return;
	}
	if (webhook_envelope(&env, &id, &type, &err) == -1) {
		http_reply_error(s, req, 422, "unknown_event", err.msg);
		return;
	}
	/* The signed webhook-id is the idempotency key; schemes without one use the envelope id. */
	if (vr.webhook_id != NULL)
		id = vr.webhook_id;
	if (!webhook_id_ok(id)) {
		http_reply_error(s, req, 422, "unknown_event",
		    "the event id must be 1 to 256 printable characters without spaces");
		return;
	}
	if (!kb_redis_connected(s->redis)) {
		kb_log(KB_LOG_WARN, id, "webhook", "Redis unavailable, answered 503");
		http_reply_error(s, req, 503, "unavailable", "the queue is unavailable, retry later");
		return;
	}

	p = xcalloc(1, sizeof *p);
	p->magic = HTTP_PENDING_MAGIC;
	p->server = s;
	p->req = req;
	p->id = xstrdup(id);
	gettimeofday(&p->started, NULL);
	ev.id = p->id;
	ev.type = type;
	ev.body = body;
	ev.body_len = len;
	ev.entities = env.entities;
	ev.received_at_ms = (uint64_t)p->started.tv_sec * 1000 + (uint64_t)p->started.tv_usec / 1000;
	s->inflight++;
	kb_queue_enqueue(s->redis, s->cfg->redis.prefix, s->cfg->server.dedupe_window_ms, &ev,
	    webhook_enqueued_cb, p);
}

void
http_webhook_cb(struct evhttp_request *req, void *arg)
{
	struct kb_http_server	*s = arg;

	if (s->magic != HTTP_SERVER_MAGIC)
		abort();
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		http_reply_error(s, req, 405, "method_not_allowed", "use POST");
		return;
	}
	webhook_handle(s, req);
}
