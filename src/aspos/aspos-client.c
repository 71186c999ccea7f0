/*
 * The AsPos client (kassaboek/aspos.h): a call is a small state machine on
 * the caller's event loop:
 *
 *   token (memory, Redis or the token endpoint: aspos-token.c)
 *     -> HTTP request with the Bearer token (curl_multi, kassaboek/httpc.h)
 *     -> 401: drop the token, get a new one, send once more
 *     -> classify (aspos-classify.c) and call the caller back once.
 *
 * A failure noticed while the call is still being submitted is delivered
 * through a 0 ms timer, so a callback never runs inside the submit function.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "kassaboek/xmalloc.h"
#include "aspos-internal.h"

#define CLIENT_REQ_MAGIC	0x61737271u	/* "asrq" */
#define CLIENT_WHAT_ID_MAX	64

enum req_op {
	REQ_ORDER_UPDATE,
	REQ_ORDERS_LIST,
};

struct aspos_req {
	unsigned		 magic;
	struct aspos_client	*c;
	enum req_op		 op;
	char			*what;		/* "order update 10023", for messages */
	char			*url;
	const char		*method;	/* borrowed from the API map; NULL = GET */
	char			*body;		/* JSON, or NULL */
	long			 page;
	char			*token;		/* the token of the last attempt */
	unsigned		 attempts;
	int			 refreshed;	/* the one 401 retry is spent */
	int			 submitting;
	aspos_done_cb		*cb;
	void			*arg;
	struct aspos_token_wait	 tw;
	/* A failure found while submitting, delivered on the next loop turn. */
	struct event		*later;
	struct aspos_outcome	 later_out;
	long			 later_status;
	uint64_t		 later_retry_ms;
	TAILQ_ENTRY(aspos_req)	 entry;
};

struct aspos_client {
	struct event_base		*base;
	struct httpc			*http;
	struct kb_redis			*redis;
	struct aspos_api		*api;
	struct aspos_token		*token;
	char				*base_url;
	long				 timeout_ms;
	long				 connect_timeout_ms;
	size_t				 max_response;
	struct aspos_stats		 stats;
	int				 closing;
	TAILQ_HEAD(, aspos_req)		 reqs;
};

static void	req_begin(struct aspos_req *r);

static void
req_free(struct aspos_req *r)
{
	if (r->later != NULL)
		event_free(r->later);
	free(r->what);
	free(r->url);
	free(r->body);
	free(r->token);
	r->magic = 0;
	free(r);
}

/* Calls the caller back once and frees the call. */
static void
req_complete(struct aspos_req *r, struct aspos_result *res)
{
	struct aspos_client	*c = r->c;

	TAILQ_REMOVE(&c->reqs, r, entry);
	res->attempts = r->attempts;
	if (res->message == NULL)
		res->message = "";
	if (res->ok)
		c->stats.ok++;
	else if (res->kind == KB_FAIL_TRANSIENT)
		c->stats.transient_errors++;
	else
		c->stats.permanent_errors++;
	r->cb(res, r->arg);
	req_free(r);
}

static void
req_fail_now(struct aspos_req *r, const struct aspos_outcome *out, long status, uint64_t retry_ms)
{
	struct aspos_result	res;

	memset(&res, 0, sizeof res);
	res.kind = out->kind;
	res.message = out->message;
	res.http_status = status;
	res.retry_after_ms = retry_ms;
	req_complete(r, &res);
}

static void
req_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct aspos_req	*r = arg;

	req_fail_now(r, &r->later_out, r->later_status, r->later_retry_ms);
}

static void
req_fail(struct aspos_req *r, const struct aspos_outcome *out, long status, uint64_t retry_ms)
{
	struct timeval	tv = { 0, 0 };

	if (!r->submitting) {
		req_fail_now(r, out, status, retry_ms);
		return;
	}
	r->later_out = *out;
	r->later_status = status;
	r->later_retry_ms = retry_ms;
	r->later = evtimer_new(r->c->base, req_later_cb, r);
	evtimer_add(r->later, &tv);
}

static void
req_fail_msg(struct aspos_req *r, enum kb_fail_kind kind, const char *msg)
{
	struct aspos_outcome	out;

	memset(&out, 0, sizeof out);
	out.kind = kind;
	snprintf(out.message, sizeof out.message, "AsPos %.80s: %.400s", r->what, msg);
	req_fail(r, &out, 0, 0);
}

/* Fills the call-specific parts of a 2xx result; returns -1 (message set) if unusable. */
static int
req_parse_ok(struct aspos_req *r, struct aspos_result *res, char *msg, size_t mlen)
{
	const struct aspos_api	*api = r->c->api;
	struct json_object	*v;
	int64_t			 next;

	if (r->op != REQ_ORDERS_LIST)
		return (0);
	if (res->body == NULL || !json_object_object_get_ex(res->body, api->orders_items, &v) ||
	    !json_object_is_type(v, json_type_array)) {
		snprintf(msg, mlen, "AsPos %s: the answer has no '%s' array", r->what,
		    api->orders_items);
		return (-1);
	}
	res->items = v;
	if (json_object_object_get_ex(res->body, api->orders_next_page, &v) &&
	    json_object_is_type(v, json_type_int) && (next = json_object_get_int64(v)) > r->page &&
	    next < INT32_MAX)
		res->next_page = (long)next;
	return (0);
}

static void
req_http_done(const struct httpc_res *hres, void *arg)
{
	struct aspos_req	*r = arg;
	struct aspos_client	*c = r->c;
	struct aspos_outcome	 out;
	struct aspos_result	 res;
	char			 msg[KB_ERR_MAX];

	if (r->magic != CLIENT_REQ_MAGIC)
		abort();
	if (c->closing) {
		req_fail_msg(r, KB_FAIL_TRANSIENT, "client shut down");
		return;
	}
	aspos_classify(c->api, r->what, hres, c->max_response, &out);
	if (out.refresh && !r->refreshed) {
		/* The token expired or was revoked early: once more with a new one. */
		r->refreshed = 1;
		c->stats.retries_401++;
		aspos_token_invalidate(c->token, r->token);
		req_begin(r);
		return;
	}
	memset(&res, 0, sizeof res);
	res.http_status = hres->status;
	if ((hres->status == 429 || hres->status == 503) && hres->retry_after_ms > 0)
		res.retry_after_ms = (uint64_t)hres->retry_after_ms;
	if (!out.ok) {
		if (out.refresh)
			strncat(out.message, " (again after a new token)",
			    sizeof out.message - strlen(out.message) - 1);
		res.kind = out.kind;
		res.message = out.message;
		req_complete(r, &res);
		return;
	}
	res.ok = 1;
	res.body = aspos_json_parse(hres->body, hres->len);
	if (req_parse_ok(r, &res, msg, sizeof msg) == -1) {
		/* A 2xx we cannot read: maybe a proxy's page; worth another try later. */
		res.ok = 0;
		res.kind = KB_FAIL_TRANSIENT;
		res.message = msg;
	}
	req_complete(r, &res);
	json_object_put(res.body);
}

static void
req_send(struct aspos_req *r, const char *token)
{
	struct aspos_client	*c = r->c;
	struct httpc_req	 req;
	struct kb_err		 err;
	char			*auth;

	free(r->token);
	r->token = xstrdup(token);
	memset(&req, 0, sizeof req);
	req.url = r->url;
	req.method = r->method;
	auth = xasprintf("Authorization: Bearer %s", token);
	req.headers = curl_slist_append(NULL, auth);
	free(auth);
	req.headers = curl_slist_append(req.headers, "Accept: application/json");
	if (r->body != NULL) {
		req.headers = curl_slist_append(req.headers, "Content-Type: application/json");
		req.body = xstrdup(r->body);
		req.body_len = strlen(r->body);
	}
	req.timeout_ms = c->timeout_ms;
	req.connect_timeout_ms = c->connect_timeout_ms;
	req.max_body = c->max_response;
	r->attempts++;
	c->stats.requests++;
	if (httpc_start(c->http, &req, req_http_done, r, &err) == -1) {
		curl_slist_free_all(req.headers);
		free(req.body);
		req_fail_msg(r, KB_FAIL_TRANSIENT, err.msg);
	}
}

static void
req_token_cb(struct aspos_token_wait *w, const char *token, const struct aspos_outcome *out,
    long status, uint64_t retry_after_ms)
{
	struct aspos_req	*r = w->arg;

	if (token == NULL) {
		req_fail(r, out, status, retry_after_ms);
		return;
	}
	req_send(r, token);
}

static void
req_begin(struct aspos_req *r)
{
	r->tw.cb = req_token_cb;
	r->tw.arg = r;
	aspos_token_get(r->c->token, &r->tw);
}

/* Takes what (a new string) and url (a new string). */
static int
req_submit(struct aspos_client *c, enum req_op op, char *what, char *url, const char *method,
    char *body, long page, aspos_done_cb *cb, void *arg)
{
	struct aspos_req	*r;

	r = xcalloc(1, sizeof *r);
	r->magic = CLIENT_REQ_MAGIC;
	r->c = c;
	r->op = op;
	r->what = what;
	r->url = url;
	r->method = method;
	r->body = body;
	r->page = page;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	r->submitting = 1;
	req_begin(r);
	/* r may have failed (deferred) but is not freed before the next loop turn. */
	r->submitting = 0;
	return (0);
}

/* A value the client sends: non-empty, bounded, no control characters. */
static int
client_value_ok(const char *s, size_t max, const char *name, struct kb_err *err)
{
	const unsigned char	*p;

	if (s == NULL || *s == '\0')
		return (kb_err_set(err, "%s is empty", name));
	if (strlen(s) > max)
		return (kb_err_set(err, "%s is longer than %zu bytes", name, max));
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return (kb_err_set(err, "%s contains a control character", name));
	return (0);
}

int
aspos_order_update(struct aspos_client *c, const char *order_id, const char *status,
    const char *external_reference, aspos_done_cb *cb, void *arg, struct kb_err *err)
{
	struct json_object	*o;
	char			*url, *body;

	if (c->closing)
		return (kb_err_set(err, "AsPos client is shutting down"));
	if (client_value_ok(order_id, ASPOS_MAX_ID, "order id", err) == -1 ||
	    client_value_ok(status, ASPOS_MAX_VALUE, "order status", err) == -1 ||
	    (external_reference != NULL && client_value_ok(external_reference, ASPOS_MAX_VALUE,
	    "external reference", err) == -1))
		return (-1);
	if ((url = aspos_url_build(c->base_url, c->api->update_path, order_id, NULL, 0, err)) == NULL)
		return (-1);
	o = json_object_new_object();
	json_object_object_add(o, c->api->status_field, json_object_new_string(status));
	if (external_reference != NULL)
		json_object_object_add(o, c->api->reference_field,
		    json_object_new_string(external_reference));
	body = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return (req_submit(c, REQ_ORDER_UPDATE, xasprintf("order update %.*s", CLIENT_WHAT_ID_MAX,
	    order_id), url, c->api->update_method, body, 0, cb, arg));
}

int
aspos_orders_changed_since(struct aspos_client *c, const char *updated_since, long page,
    aspos_done_cb *cb, void *arg, struct kb_err *err)
{
	const char	*query[4];
	char		 pagebuf[24];
	char		*url;

	if (c->closing)
		return (kb_err_set(err, "AsPos client is shutting down"));
	if (page < 0 || page >= INT32_MAX)
		return (kb_err_set(err, "page %ld out of range", page));
	if (page == 0)
		page = 1;
	if (updated_since != NULL && *updated_since == '\0')
		updated_since = NULL;
	if (updated_since != NULL && client_value_ok(updated_since, 64, "updated_since", err) == -1)
		return (-1);
	snprintf(pagebuf, sizeof pagebuf, "%ld", page);
	query[0] = c->api->updated_since_param;
	query[1] = updated_since;
	query[2] = c->api->page_param;
	query[3] = pagebuf;
	if ((url = aspos_url_build(c->base_url, c->api->orders_path, NULL, query, 2, err)) == NULL)
		return (-1);
	return (req_submit(c, REQ_ORDERS_LIST, xasprintf("orders list page %ld", page), url, NULL,
	    NULL, page, cb, arg));
}

struct aspos_client *
aspos_client_new(struct event_base *base, const struct aspos_config *cfg, struct kb_err *err)
{
	struct aspos_client		*c;
	struct aspos_token_params	 tp;
	char				*token_url = NULL, *key = NULL;

	if (cfg->client_id == NULL || *cfg->client_id == '\0' ||
	    cfg->client_secret == NULL || *cfg->client_secret == '\0') {
		kb_err_set(err, "aspos.client_id and aspos.client_secret are required");
		return (NULL);
	}
	if (aspos_url_check_base(cfg->base_url, err) == -1)
		return (NULL);
	c = xcalloc(1, sizeof *c);
	TAILQ_INIT(&c->reqs);
	c->base = base;
	c->base_url = xstrdup(cfg->base_url);
	c->timeout_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms :
	    ASPOS_DEFAULT_TIMEOUT_MS;
	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms :
	    ASPOS_DEFAULT_CONNECT_MS;
	c->max_response = cfg->max_response > 0 ? cfg->max_response : ASPOS_DEFAULT_MAX_RESPONSE;
	if ((c->api = aspos_api_load(cfg->api_map, err)) == NULL)
		goto fail;
	if ((token_url = aspos_url_build(c->base_url, c->api->token_path, NULL, NULL, 0, err)) == NULL)
		goto fail;
	if (cfg->redis_url != NULL && *cfg->redis_url != '\0' &&
	    (c->redis = kb_redis_new(base, cfg->redis_url, "aspos", 2000, 2000, err)) == NULL)
		goto fail;
	c->http = httpc_new(base);
	key = xasprintf("{%s}:aspos:token", cfg->redis_prefix != NULL && *cfg->redis_prefix != '\0' ?
	    cfg->redis_prefix : "kb");
	memset(&tp, 0, sizeof tp);
	tp.base = base;
	tp.http = c->http;
	tp.redis = c->redis;
	tp.api = c->api;
	tp.token_url = token_url;
	tp.client_id = cfg->client_id;
	tp.client_secret = cfg->client_secret;
	tp.key = key;
	tp.timeout_ms = c->timeout_ms;
	tp.connect_timeout_ms = c->connect_timeout_ms;
	tp.stats = &c->stats;
	c->token = aspos_token_new(&tp);
	free(token_url);
	free(key);
	return (c);
fail:
	free(token_url);
	aspos_client_free(c);
	return (NULL);
}

void
aspos_client_free(struct aspos_client *c)
{
	struct aspos_req	*r;
	struct aspos_outcome	 out;

	if (c == NULL)
		return;
	c->closing = 1;
	if (c->token != NULL)
		aspos_token_closing(c->token);
	/* Redis answers still due are dropped (the token module ignores them now). */
	kb_redis_free(c->redis);
	c->redis = NULL;
	/* Transfers in flight complete with "client shut down". */
	httpc_free(c->http);
	c->http = NULL;
	/* Calls waiting for a token complete with "client shut down". */
	aspos_token_free(c->token);
	c->token = NULL;
	memset(&out, 0, sizeof out);
	out.kind = KB_FAIL_TRANSIENT;
	while ((r = TAILQ_FIRST(&c->reqs)) != NULL) {
		snprintf(out.message, sizeof out.message, "AsPos %s: client shut down", r->what);
		req_fail_now(r, &out, 0, 0);
	}
	aspos_api_free(c->api);
	free(c->base_url);
	free(c);
}

void
aspos_client_stats(const struct aspos_client *c, struct aspos_stats *out)
{
	*out = c->stats;
}
