/*
 * The AsPos part of the inspection API, /_sandbox/aspos/... (JSON, no auth,
 * never faulted or delayed):
 *
 *   GET  /_sandbox/aspos                    counts, token settings
 *   GET  /_sandbox/aspos/{orders,customers,products,categories}[?key=]
 *   POST /_sandbox/aspos/{collection}       create or replace: one resource, or
 *                                           {"<collection>": [resource, ...]}
 *   POST /_sandbox/aspos/reset              back to --aspos-seed
 *   POST /_sandbox/aspos/tokens/expire      every AsPos access token expires
 *   GET|POST /_sandbox/aspos/settings       token_ttl, page_size
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "kassaboek/log.h"
#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-aspos.h"

#define INSPECT_TTL_MAX		100000000LL
#define INSPECT_PAGE_MAX	10000LL

static struct json_object *
ainspect_settings(struct sb_aspos *a)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "token_ttl", json_object_new_int64(a->token_ttl));
	json_object_object_add(o, "page_size", json_object_new_int64(a->page_size));
	return (o);
}

static void
ainspect_summary(struct sb_aspos *a, struct evhttp_request *req)
{
	struct json_object	*o, *counts;
	int			 c;

	o = json_object_new_object();
	counts = json_object_new_object();
	for (c = 0; c < SB_ASPOS_NCOLLS; c++)
		json_object_object_add(counts, sb_aspos_coll_name(c),
		    json_object_new_int64((int64_t)sb_map_count(a->items[c])));
	json_object_object_add(o, "counts", counts);
	json_object_object_add(o, "tokens_issued", json_object_new_int64((int64_t)a->tokens_issued));
	json_object_object_add(o, "tokens_live", json_object_new_int64((int64_t)sb_map_count(a->tokens)));
	json_object_object_add(o, "client_id", json_object_new_string(a->client_id));
	json_object_object_add(o, "settings", ainspect_settings(a));
	json_object_object_add(o, "endpoints", json_object_new_string(
	    "GET|POST orders, customers, products, categories (?key=); POST reset; "
	    "POST tokens/expire; GET|POST settings"));
	sb_inspect_send(req, 200, o);
}

static void
ainspect_list(struct sb_aspos *a, struct evhttp_request *req, int c, const char *key)
{
	struct json_object	*o, *arr;
	struct sb_arec		**v;
	size_t			 n, i;

	arr = json_object_new_array();
	v = sb_aspos_list(a, c, 0, &n);
	for (i = 0; i < n; i++)
		if (key == NULL || strcmp(key, v[i]->key) == 0)
			json_object_array_add(arr, json_object_get(v[i]->obj));
	free(v);
	o = json_object_new_object();
	json_object_object_add(o, "count", json_object_new_int64((int64_t)json_object_array_length(arr)));
	json_object_object_add(o, sb_aspos_coll_name(c), arr);
	sb_inspect_send(req, 200, o);
}

static void
ainspect_post(struct sb_aspos *a, struct evhttp_request *req, int c, struct json_object *body)
{
	struct json_object	*items = body, *list;
	struct kb_err		 err;

	if (json_object_object_get_ex(body, sb_aspos_coll_name(c), &list) &&
	    json_object_is_type(list, json_type_array))
		items = list;
	if (sb_aspos_load_items(a, c, items, "body", &err) == -1) {
		sb_inspect_error(req, 400, "bad resource", err.msg);
		return;
	}
	kb_info("aspos: %s stored through the inspection API", sb_aspos_coll_name(c));
	ainspect_list(a, req, c, NULL);
}

static void
ainspect_settings_post(struct sb_aspos *a, struct evhttp_request *req, struct json_object *body)
{
	long long	ttl = a->token_ttl, page = a->page_size, v;

	json_object_object_foreach(body, key, val) {
		v = json_object_is_type(val, json_type_int) ? json_object_get_int64(val) : -1;
		if (strcmp(key, "token_ttl") == 0 && v >= 1 && v <= INSPECT_TTL_MAX)
			ttl = v;
		else if (strcmp(key, "page_size") == 0 && v >= 1 && v <= INSPECT_PAGE_MAX)
			page = v;
		else {
			sb_inspect_error(req, 400, "bad setting (token_ttl: 1..100000000 s, "
			    "page_size: 1..10000)", key);
			return;
		}
	}
	a->token_ttl = (long)ttl;
	a->page_size = (long)page;
	sb_inspect_send(req, 200, ainspect_settings(a));
}

void
sb_aspos_inspect(struct sb_server *srv, struct evhttp_request *req, const char *sub,
    struct evkeyvalq *q, struct json_object *body)
{
	struct sb_aspos		*a = srv->aspos;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct json_object	*o;
	struct kb_err		 err;
	size_t			 n;
	int			 c;

	if (*sub == '\0' && cmd == EVHTTP_REQ_GET)
		ainspect_summary(a, req);
	else if ((c = sb_aspos_coll_find(sub)) != -1 && cmd == EVHTTP_REQ_GET)
		ainspect_list(a, req, c, evhttp_find_header(q, "key"));
	else if (c != -1 && cmd == EVHTTP_REQ_POST)
		ainspect_post(a, req, c, body);
	else if (strcmp(sub, "reset") == 0 && cmd == EVHTTP_REQ_POST) {
		if (sb_aspos_reset(a, &err) == -1)
			sb_inspect_error(req, 500, "reset failed", err.msg);
		else {
			o = json_object_new_object();
			json_object_object_add(o, "reset", json_object_new_boolean(1));
			sb_inspect_send(req, 200, o);
		}
	} else if (strcmp(sub, "tokens/expire") == 0 && cmd == EVHTTP_REQ_POST) {
		n = sb_map_count(a->tokens);
		sb_aspos_tokens_expire(a);
		kb_info("aspos: expired %zu access tokens", n);
		o = json_object_new_object();
		json_object_object_add(o, "expired", json_object_new_int64((int64_t)n));
		sb_inspect_send(req, 200, o);
	} else if (strcmp(sub, "settings") == 0 && cmd == EVHTTP_REQ_GET)
		sb_inspect_send(req, 200, ainspect_settings(a));
	else if (strcmp(sub, "settings") == 0 && cmd == EVHTTP_REQ_POST)
		ainspect_settings_post(a, req, body);
	else
		sb_inspect_error(req, 404, "no such inspection endpoint", sub);
}
