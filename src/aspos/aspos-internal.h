/*
 * Internals of the AsPos client shared by its files: the API map
 * (aspos-api.c), URLs and answer classification (aspos-url.c,
 * aspos-classify.c) and the token cache (aspos-token.c). aspos-client.c
 * ties them together.
 */
#ifndef KASSABOEK_ASPOS_INTERNAL_H
#define KASSABOEK_ASPOS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "kassaboek/aspos.h"
#include "kassaboek/err.h"
#include "kassaboek/httpc.h"
#include "kassaboek/redis.h"

#define ASPOS_API_MAX_FILE	(64 * 1024)

/* ---- aspos-api.c: the API map (conf/mapping/aspos-api.json) */

struct aspos_api {
	char	*token_path;
	char	*orders_path;
	char	*updated_since_param;
	char	*page_param;
	char	*orders_items;
	char	*orders_next_page;
	char	*update_method;
	char	*update_path;		/* contains "{id}" */
	char	*status_field;
	char	*reference_field;
	char	*error_code_field;
	char	*error_message_field;
};

/* Reads and checks the map; NULL with err naming the file and the key. */
struct aspos_api	*aspos_api_load(const char *path, struct kb_err *err);
void			 aspos_api_free(struct aspos_api *api);

/* ---- aspos-url.c: URLs with curl's URL API */

/*
 * base (parsed once) + path template, "{id}" replaced by id escaped as one
 * path segment (id may be NULL when the template has none), plus query
 * pairs (name, value, ...; values escaped; NULL values skipped). Returns a
 * new string, or NULL with err set.
 */
char	*aspos_url_build(const char *base, const char *tmpl, const char *id,
	    const char *const *query, size_t nquery, struct kb_err *err);
/* 0 if base is an absolute http(s) URL without query or fragment; else -1 with err. */
int	 aspos_url_check_base(const char *base, struct kb_err *err);

/* ---- aspos-classify.c: what an HTTP answer means */

struct aspos_outcome {
	int			ok;
	enum kb_fail_kind	kind;
	int			refresh;	/* 401: drop the token, fetch a new one, retry once */
	char			message[KB_ERR_MAX];
};

/*
 * Classifies a finished transfer of call `what` ("order update 10023"):
 * 2xx ok; 401 refresh; 408, 425, 429, 5xx, network errors and timeouts
 * transient; a body over the cap and other 4xx permanent. The message
 * quotes the JSON error answer's code and message fields (api names them).
 */
void	aspos_classify(const struct aspos_api *api, const char *what, const struct httpc_res *res,
	    size_t max_response, struct aspos_outcome *out);
/* Parses a JSON answer (bounded depth); NULL if it is not JSON. */
struct json_object *aspos_json_parse(const char *buf, size_t len);

/* ---- aspos-token.c: client-credentials token, cached in memory and Redis */

struct aspos_token;

struct aspos_token_wait {
	/* token borrowed for the call; NULL on failure, then out says why. */
	void				(*cb)(struct aspos_token_wait *w, const char *token,
					    const struct aspos_outcome *out, long status,
					    uint64_t retry_after_ms);
	void				*arg;
	int				 queued;
	TAILQ_ENTRY(aspos_token_wait)	 entry;
};

struct aspos_token_params {
	struct event_base	*base;
	struct httpc		*http;
	struct kb_redis		*redis;		/* NULL: memory only */
	const struct aspos_api	*api;
	const char		*token_url;
	const char		*client_id;
	const char		*client_secret;
	const char		*key;		/* {kb}:aspos:token */
	long			 timeout_ms;
	long			 connect_timeout_ms;
	struct aspos_stats	*stats;
};

struct aspos_token	*aspos_token_new(const struct aspos_token_params *p);
/* Waiters still queued are called with a transient "client shut down". */
void			 aspos_token_free(struct aspos_token *t);
/*
 * Calls w->cb with a usable token: at once (before returning) when one is
 * in memory and not due for refresh, else after reading Redis or fetching.
 */
void			 aspos_token_get(struct aspos_token *t, struct aspos_token_wait *w);
/* AsPos refused token (401): forget it here and, if it is still the cached one, in Redis. */
void			 aspos_token_invalidate(struct aspos_token *t, const char *token);
/* Marks the client as closing: Redis answers arriving from now on are ignored. */
void			 aspos_token_closing(struct aspos_token *t);

#endif
