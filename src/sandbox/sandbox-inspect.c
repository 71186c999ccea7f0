/*
 * The inspection API under /_sandbox/ (JSON, no auth, never metered,
 * faulted or delayed): stored objects, the request log, counters, reset,
 * faults, limits and token expiry. Tests and benchmarks read it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "kassaboek/log.h"
#include "kassaboek/units.h"
#include "kassaboek/xmalloc.h"
#include "sandbox.h"

static const char *const inspect_types[] = {
	"BAS", "PNL", "DEB", "CRD", "KPL", "PRJ", SB_T_ARTICLE, SB_T_INVOICE, SB_T_TRANSACTION,
	SB_T_VAT, SB_T_INVOICETYPE, SB_T_DAYBOOK, NULL
};

/* Sends o (consumed) as the JSON answer of an inspection request. */
void
sb_inspect_send(struct evhttp_request *req, int status, struct json_object *o)
{
	struct evbuffer	*b = evbuffer_new();
	const char	*s;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json; charset=utf-8");
	evhttp_send_reply(req, status, sb_status_reason(status), b);
	evbuffer_free(b);
	json_object_put(o);
}

void
sb_inspect_error(struct evhttp_request *req, int status, const char *error, const char *detail)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(error));
	if (detail != NULL)
		json_object_object_add(o, "detail", json_object_new_string(detail));
	sb_inspect_send(req, status, o);
}

static struct json_object *
inspect_obj(const char *office, const char *type, struct sb_obj *o)
{
	struct json_object	*j;
	char			*xml;

	j = json_object_new_object();
	json_object_object_add(j, "office", json_object_new_string(office));
	json_object_object_add(j, "type", json_object_new_string(type));
	json_object_object_add(j, "code", json_object_new_string(o->code));
	json_object_object_add(j, "status", json_object_new_string(sb_status_name(o->status)));
	json_object_object_add(j, "modified", json_object_new_int64(o->modified));
	xml = sb_x_dump(xmlDocGetRootElement(o->doc));
	json_object_object_add(j, "xml", json_object_new_string(xml));
	free(xml);
	return (j);
}

static int
inspect_type_match(const char *want, const char *type)
{
	if (want == NULL || *want == '\0')
		return (1);
	if (strcmp(want, type) == 0)
		return (1);
	/* "dimension(s)" means every dimension type; plural forms are accepted. */
	if ((strcmp(want, "dimension") == 0 || strcmp(want, "dimensions") == 0) && sb_dimtype(type) != NULL)
		return (1);
	return (strlen(want) == strlen(type) + 1 && want[strlen(type)] == 's' &&
	    strncmp(want, type, strlen(type)) == 0);
}

static void
inspect_objects(struct sb_server *srv, struct evhttp_request *req, struct evkeyvalq *q)
{
	const char		*office = evhttp_find_header(q, "office");
	const char		*type = evhttp_find_header(q, "type");
	const char		*code = evhttp_find_header(q, "code");
	struct json_object	*o, *arr;
	struct sb_obj		**v;
	size_t			 i, t, k, n;

	if (office != NULL && sb_store_office(srv->store, office) == NULL) {
		sb_inspect_error(req, 404, "unknown office", office);
		return;
	}
	arr = json_object_new_array();
	for (i = 0; i < srv->store->noffices; i++) {
		if (office != NULL && strcmp(office, srv->store->offices[i].code) != 0)
			continue;
		for (t = 0; inspect_types[t] != NULL; t++) {
			if (!inspect_type_match(type, inspect_types[t]))
				continue;
			v = sb_store_list(srv->store, srv->store->offices[i].code, inspect_types[t], &n);
			for (k = 0; k < n; k++)
				if (code == NULL || strcmp(code, v[k]->code) == 0)
					json_object_array_add(arr, inspect_obj(srv->store->offices[i].code,
					    inspect_types[t], v[k]));
			free(v);
		}
	}
	o = json_object_new_object();
	json_object_object_add(o, "count", json_object_new_int64((int64_t)json_object_array_length(arr)));
	json_object_object_add(o, "objects", arr);
	sb_inspect_send(req, 200, o);
}

static void
inspect_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v != NULL ? json_object_new_string(v) : NULL);
}

static void
inspect_requests(struct sb_server *srv, struct evhttp_request *req, struct evkeyvalq *q)
{
	struct json_object	*o, *arr, *e;
	struct sb_logentry	*le;
	const char		*v;
	long long		 limit = 0, since = 0;
	uint64_t		 id, first;
	int64_t			 now_ms = sb_now_ms();
	time_t			 now = time(NULL);

	if ((v = evhttp_find_header(q, "limit")) != NULL && kb_parse_int(v, 1, 1000000, &limit, NULL) == -1) {
		sb_inspect_error(req, 400, "bad limit", v);
		return;
	}
	if ((v = evhttp_find_header(q, "since")) != NULL && kb_parse_int(v, 0, INT64_MAX, &since, NULL) == -1) {
		sb_inspect_error(req, 400, "bad since", v);
		return;
	}
	arr = json_object_new_array();
	first = srv->log.next_id > srv->log.cap ? srv->log.next_id - srv->log.cap + 1 : 1;
	if (limit > 0 && srv->log.next_id >= (uint64_t)limit && srv->log.next_id - (uint64_t)limit + 1 > first)
		first = srv->log.next_id - (uint64_t)limit + 1;
	if ((uint64_t)since + 1 > first)
		first = (uint64_t)since + 1;
	for (id = first; id <= srv->log.next_id; id++) {
		if ((le = sb_log_entry(srv, id)) == NULL)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "id", json_object_new_int64((int64_t)le->id));
		/* Wall-clock time from the monotonic stamp. */
		json_object_object_add(e, "time", json_object_new_double(
		    (double)now - (double)(now_ms - le->time_ms) / 1000.0));
		json_object_object_add(e, "duration_ms", le->done_ms > 0 ?
		    json_object_new_int64(le->done_ms - le->time_ms) : NULL);
		inspect_str(e, "method", le->method);
		inspect_str(e, "path", le->path);
		inspect_str(e, "soapaction", le->soapaction);
		inspect_str(e, "root", le->root);
		inspect_str(e, "office", le->office);
		json_object_object_add(e, "credits", json_object_new_int(le->credits));
		json_object_object_add(e, "status", json_object_new_int(le->status));
		json_object_object_add(e, "pending", json_object_new_boolean(le->done_ms == 0));
		inspect_str(e, "fault", le->fault);
		inspect_str(e, "xml", le->xml);
		if (le->xml_truncated)
			json_object_object_add(e, "xml_truncated", json_object_new_boolean(1));
		if (le->body != NULL)
			inspect_str(e, "body", le->body);
		json_object_array_add(arr, e);
	}
	o = json_object_new_object();
	json_object_object_add(o, "last_id", json_object_new_int64((int64_t)srv->log.next_id));
	json_object_object_add(o, "requests", arr);
	sb_inspect_send(req, 200, o);
}

static struct json_object *
inspect_counters_json(struct sb_server *srv)
{
	struct sb_counters	*c = &srv->counters;
	struct json_object	*o, *st;
	char			 key[8];
	int			 i;

	o = json_object_new_object();
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)c->requests));
	json_object_object_add(o, "credits", json_object_new_int64((int64_t)c->credits));
	json_object_object_add(o, "too_many_requests", json_object_new_int64((int64_t)c->r429));
	json_object_object_add(o, "hung", json_object_new_int64((int64_t)c->hung));
	json_object_object_add(o, "dropped", json_object_new_int64((int64_t)c->dropped));
	json_object_object_add(o, "injected_errors", json_object_new_int64((int64_t)c->injected_errors));
	json_object_object_add(o, "closed_by_client", json_object_new_int64((int64_t)c->closed_by_client));
	json_object_object_add(o, "tokens_issued", json_object_new_int64((int64_t)srv->tokens.issued_total));
	json_object_object_add(o, "in_flight", json_object_new_int64(srv->limits.in_flight));
	st = json_object_new_object();
	for (i = 0; i < SB_STATUS_MAX; i++) {
		if (c->status[i] == 0)
			continue;
		snprintf(key, sizeof key, "%d", i);
		json_object_object_add(st, key, json_object_new_int64((int64_t)c->status[i]));
	}
	json_object_object_add(o, "status", st);
	json_object_object_add(o, "limits", sb_limits_json(srv));
	return (o);
}

int
sb_reset(struct sb_server *srv, struct kb_err *err)
{
	struct sb_store	*fresh;

	if ((fresh = sb_seed_build(srv->seed, time(NULL), err)) == NULL)
		return (-1);
	if (sb_aspos_reset(srv->aspos, err) == -1) {
		sb_store_free(fresh);
		return (-1);
	}
	sb_store_free(srv->store);
	srv->store = fresh;
	memset(&srv->counters, 0, sizeof srv->counters);
	sb_log_reset(srv);
	sb_limits_set(&srv->limits, srv->limits.credits_per_minute, srv->limits.max_concurrency);
	return (0);
}

/* The JSON body of a POST, or NULL (an empty body gives an empty object). */
static struct json_object *
inspect_body(struct evhttp_request *req, char *cause, size_t clen)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct json_tokener	*tok;
	struct json_object	*o;
	size_t			 len = evbuffer_get_length(in);

	if (len == 0)
		return (json_object_new_object());
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, (const char *)evbuffer_pullup(in, -1), (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object)) {
		snprintf(cause, clen, "the body must be a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return (o);
}

static void
inspect_limits_post(struct sb_server *srv, struct evhttp_request *req, struct json_object *b)
{
	long		 cpm = srv->limits.credits_per_minute, mc = srv->limits.max_concurrency;
	const char	*bad = NULL;

	json_object_object_foreach(b, key, v) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > 100000000)
			bad = key;
		else if (strcmp(key, "credits_per_minute") == 0)
			cpm = (long)json_object_get_int64(v);
		else if (strcmp(key, "max_concurrency") == 0)
			mc = (long)json_object_get_int64(v);
		else
			bad = key;
	}
	if (bad != NULL) {
		sb_inspect_error(req, 400, "bad limit setting (credits_per_minute, max_concurrency: whole numbers >= 0)", bad);
		return;
	}
	sb_limits_set(&srv->limits, cpm, mc);
	kb_info("limits set: credits_per_minute=%ld max_concurrency=%ld", cpm, mc);
	sb_inspect_send(req, 200, sb_limits_json(srv));
}

void
sb_inspect(struct sb_server *srv, struct evhttp_request *req)
{
	const char		*path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	const char		*query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct evkeyvalq	 q;
	struct json_object	*body = NULL, *o;
	struct kb_err		 err;
	char			 cause[128];
	size_t			 n;

	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1) {
		sb_inspect_error(req, 400, "malformed query string", NULL);
		return;
	}
	if (cmd == EVHTTP_REQ_POST && (body = inspect_body(req, cause, sizeof cause)) == NULL) {
		sb_inspect_error(req, 400, cause, NULL);
		goto out;
	}
	path += strlen("/_sandbox");
	if (*path == '/')
		path++;
	if (cmd == EVHTTP_REQ_GET && *path == '\0') {
		o = json_object_new_object();
		json_object_object_add(o, "service", json_object_new_string("kassaboek-sandbox " PACKAGE_VERSION));
		json_object_object_add(o, "endpoints", json_object_new_string(
		    "GET objects?office=&type=&code=, GET requests?limit=&since=, GET counters, "
		    "POST reset, GET|POST faults, GET|POST limits, POST tokens/expire, "
		    "aspos/... (the AsPos simulator)"));
		sb_inspect_send(req, 200, o);
	} else if (cmd == EVHTTP_REQ_GET && strcmp(path, "objects") == 0)
		inspect_objects(srv, req, &q);
	else if (cmd == EVHTTP_REQ_GET && strcmp(path, "requests") == 0)
		inspect_requests(srv, req, &q);
	else if (strcmp(path, "aspos") == 0 || strncmp(path, "aspos/", 6) == 0)
		sb_aspos_inspect(srv, req, path[5] == '/' ? path + 6 : "", &q, body);
	else if (cmd == EVHTTP_REQ_GET && strcmp(path, "counters") == 0)
		sb_inspect_send(req, 200, inspect_counters_json(srv));
	else if (cmd == EVHTTP_REQ_POST && strcmp(path, "reset") == 0) {
		if (sb_reset(srv, &err) == -1)
			sb_inspect_error(req, 500, "reset failed", err.msg);
		else {
			kb_info("store reset to the seed");
			o = json_object_new_object();
			json_object_object_add(o, "reset", json_object_new_boolean(1));
			sb_inspect_send(req, 200, o);
		}
	} else if (strcmp(path, "faults") == 0 && (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_POST)) {
		if (cmd == EVHTTP_REQ_POST && sb_faults_apply_json(srv, body, &err) == -1) {
			sb_inspect_error(req, 400, "bad fault setting", err.msg);
			goto out;
		}
		if (cmd == EVHTTP_REQ_POST)
			kb_info("faults set: %s", json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
		sb_inspect_send(req, 200, sb_faults_json(srv));
	} else if (strcmp(path, "limits") == 0 && cmd == EVHTTP_REQ_GET)
		sb_inspect_send(req, 200, sb_limits_json(srv));
	else if (strcmp(path, "limits") == 0 && cmd == EVHTTP_REQ_POST)
		inspect_limits_post(srv, req, body);
	else if (strcmp(path, "tokens/expire") == 0 && cmd == EVHTTP_REQ_POST) {
		n = sb_map_count(srv->tokens.access);
		sb_tokens_expire_all(&srv->tokens);
		kb_info("expired %zu access tokens", n);
		o = json_object_new_object();
		json_object_object_add(o, "expired", json_object_new_int64((int64_t)n));
		sb_inspect_send(req, 200, o);
	} else
		sb_inspect_error(req, 404, "no such inspection endpoint", path);
out:
	json_object_put(body);
	evhttp_clear_headers(&q);
}
