/*
 * AsPos REST client: asynchronous, on one libevent event_base (curl_multi
 * through kassaboek/httpc.h, hiredis async for the shared token cache).
 *
 * A caller creates one struct aspos_client per event loop, then submits
 * calls. Every accepted call ends in exactly one aspos_done_cb, on a later
 * loop turn; a call refused up front (bad arguments) returns -1 with err set
 * and its callback never runs.
 *
 * Inside the client: an OAuth2 client-credentials token, kept in memory and
 * in Redis under {prefix}:aspos:token (so every process of an installation
 * shares it), fetched again shortly before it expires; a 401 answer drops
 * the token, fetches a new one and retries the call once. Everything else
 * is reported, not retried: the result says whether the failure is
 * transient (network, timeout, 5xx, 429, token endpoint unreachable) or
 * permanent (other 4xx, credentials refused, response too large), with the
 * same enum kb_fail_kind the worker uses, a message and Retry-After.
 *
 * No AsPos field name or path is compiled in: they come from the API map
 * (conf/mapping/aspos-api.json, docs/aspos.md), so a difference between
 * the modeled API and a real AsPos host costs an edit of that file.
 */
#ifndef KASSABOEK_ASPOS_H
#define KASSABOEK_ASPOS_H

#include <stddef.h>
#include <stdint.h>

#include "kassaboek/err.h"
#include "kassaboek/job.h"

struct event_base;
struct json_object;

#define ASPOS_DEFAULT_MAX_RESPONSE	(8u * 1024 * 1024)
#define ASPOS_DEFAULT_TIMEOUT_MS	30000u
#define ASPOS_DEFAULT_CONNECT_MS	10000u
/* Longest order id, status or external reference the client sends. */
#define ASPOS_MAX_ID		256
#define ASPOS_MAX_VALUE		1024

/* Plain values, borrowed for aspos_client_new() only (the client copies them). */
struct aspos_config {
	const char	*base_url;	/* https://<customer>.aspos.nl, or http://HOST:PORT/aspos (sandbox) */
	const char	*client_id;
	const char	*client_secret;
	const char	*api_map;	/* path of the API map (conf/mapping/aspos-api.json) */
	const char	*redis_url;	/* token cache; NULL or "" = this process only */
	const char	*redis_prefix;	/* "kb": the token is {kb}:aspos:token; NULL = "kb" */
	unsigned	 request_timeout_ms;	/* whole HTTP request; 0 = 30 s */
	unsigned	 connect_timeout_ms;	/* 0 = 10 s */
	size_t		 max_response;		/* body cap; 0 = ASPOS_DEFAULT_MAX_RESPONSE */
};

/* What an aspos_done_cb receives; valid only during the callback. */
struct aspos_result {
	int			 ok;		/* 2xx answer */
	enum kb_fail_kind	 kind;		/* when !ok: KB_FAIL_TRANSIENT or KB_FAIL_PERMANENT */
	const char		*message;	/* why it failed, for the operator; "" when ok */
	long			 http_status;	/* of the last answer; 0 = none (network, timeout) */
	uint64_t		 retry_after_ms;	/* Retry-After of a 429/503; 0 = none */
	unsigned		 attempts;	/* HTTP requests made for this call (401 retry: 2) */
	struct json_object	*body;		/* the JSON answer, or NULL; borrowed */
	/* aspos_orders_changed_since() only: */
	struct json_object	*items;		/* the array of orders (borrowed), NULL on failure */
	long			 next_page;	/* page to ask for next; 0 = this was the last */
};

typedef void aspos_done_cb(const struct aspos_result *res, void *arg);

struct aspos_stats {
	uint64_t	requests;	/* HTTP requests to the API (not the token endpoint) */
	uint64_t	token_fetches;	/* token endpoint calls by this process */
	uint64_t	token_from_redis;	/* tokens another process had cached */
	uint64_t	retries_401;
	uint64_t	ok;
	uint64_t	transient_errors;
	uint64_t	permanent_errors;
};

struct aspos_client;

/*
 * Returns a client, or NULL with err set: missing base_url / client id /
 * secret, a bad URL, an API map that cannot be read or lacks a name (the
 * message names the file and the key).
 */
struct aspos_client	*aspos_client_new(struct event_base *base, const struct aspos_config *cfg,
			    struct kb_err *err);
/*
 * Frees the client. Calls still pending complete first, with a transient
 * "client shut down" failure. Must not be called from inside an aspos_done_cb.
 */
void			 aspos_client_free(struct aspos_client *c);

/*
 * Order status write-back (DESIGN.md, order flow step 6): sets the order's
 * status and external reference (e.g. "invoiced" and the Twinfield invoice
 * number) with the update call of the API map (PATCH /api/orders/{id} in
 * the model). order_id is escaped into the path; external_reference may be
 * NULL (then only the status is sent). A 404 (unknown order) is permanent.
 * Returns 0, or -1 with err set (empty or oversized arguments).
 */
int	aspos_order_update(struct aspos_client *c, const char *order_id, const char *status,
	    const char *external_reference, aspos_done_cb *cb, void *arg, struct kb_err *err);

/*
 * One page of the orders changed since a cursor (GET /api/orders
 * ?updated_since=&page= in the model), for the poller: res->items is the
 * array of orders, res->next_page the page to ask for next (0 = done).
 * updated_since is passed through as given (an ISO 8601 time; NULL or "" =
 * all); page counts from 1 (0 means 1). Returns 0, or -1 with err set.
 */
int	aspos_orders_changed_since(struct aspos_client *c, const char *updated_since, long page,
	    aspos_done_cb *cb, void *arg, struct kb_err *err);

void	aspos_client_stats(const struct aspos_client *c, struct aspos_stats *out);

/* Loads and checks the API map file (aspos.api_map) as the client would; 0, or -1 with err. */
int	aspos_api_check(const char *path, struct kb_err *err);

#endif
