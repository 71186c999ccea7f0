/* Internals shared by the files of src/http/. */
#ifndef KASSABOEK_HTTP_INTERNAL_H
#define KASSABOEK_HTTP_INTERNAL_H

#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "kassaboek/http.h"
#include "kassaboek/jsonscan.h"
#include "kassaboek/queue-entity.h"

#define HTTP_SERVER_MAGIC	0x6b627376u	/* "kbsv" */
#define HTTP_PENDING_MAGIC	0x6b627077u	/* "kbpw" */

/* Open-connection accounting for server.max_connections (conn-gate.c). */
struct http_conn_gate {
	struct evconnlistener	*listener;	/* paused while full */
	struct bufferevent	**bevs;		/* one reference held per connection */
	size_t			 nbevs, cap;
	size_t			 max;
	struct event		*sweep_ev;
	struct kb_metrics	*metrics;
};

struct kb_http_server {
	unsigned int		 magic;
	struct event_base	*base;
	const struct kb_config	*cfg;
	struct kb_redis		*redis;
	const struct kb_verify	*verify;
	struct kb_metrics	*metrics;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	struct http_conn_gate	 gate;
	int			 port;
	size_t			 inflight;	/* webhooks waiting for Redis */
	int			 draining;
	void			(*drained)(void *);
	void			*drained_arg;
};

/* reply.c: JSON answers. */
void	http_reply_json(struct evhttp_request *req, int status, const char *reason, struct json_object *body);
void	http_reply_status(struct evhttp_request *req, int status, const char *reason, const char *id,
	    const char *state);
void	http_reply_error(struct kb_http_server *s, struct evhttp_request *req, int status,
	    const char *error, const char *detail);

/* webhook.c */
void	http_webhook_cb(struct evhttp_request *req, void *arg);
void	http_request_finished(struct kb_http_server *s);

/* health.c */
void	http_healthz_cb(struct evhttp_request *req, void *arg);
void	http_readyz_cb(struct evhttp_request *req, void *arg);
void	http_metrics_cb(struct evhttp_request *req, void *arg);

/* envelope.c: what the receiver reads of a webhook body. */
struct http_envelope {
	int	is_object;		/* the body is a JSON object */
	int	has_id;			/* top-level "id" is a string of at most KB_VERIFY_MAX_ID bytes */
	int	has_type;		/* top-level "type" is a string */
	int	data_is_object;		/* top-level "data" is an object */
	char	id[KB_VERIFY_MAX_ID + 1];
	char	type[64];		/* empty when longer: no known type is */
	char	entities[KB_QUEUE_ENTITIES_MAX];	/* entity keys (queue-entity.h) */
};

/*
 * Checks that body is exactly one well-formed JSON value in UTF-8 and
 * fills env. -1 with err for malformed JSON (the 400 case); the envelope
 * rules are the caller's (422).
 */
int	http_envelope_parse(const char *body, size_t len, struct http_envelope *env, struct kb_err *err);

/* event-types.c */
int	http_event_type_known(const char *type);

/* conn-gate.c */
void	http_conn_gate_init(struct http_conn_gate *g, struct event_base *base, struct evhttp *http,
	    struct evconnlistener *listener, size_t max, struct kb_metrics *metrics);
void	http_conn_gate_clear(struct http_conn_gate *g);

#endif
