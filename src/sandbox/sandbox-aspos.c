/*
 * The AsPos REST simulator, served under /aspos on the sandbox's port
 * (shared/reference/aspos-api.md, "Modeled REST endpoints"):
 *
 *   POST /aspos/connect/token                 client credentials (form or HTTP Basic)
 *   GET  /aspos/api/orders?updated_since=&page=   changed orders, oldest change first
 *   GET|PATCH /aspos/api/orders/{id}          PATCH: status, external_reference
 *   GET|POST /aspos/api/{customers,products,categories}   (customers: ?email=)
 *   GET|PUT  /aspos/api/{customers,categories}/{id}, /aspos/api/products/{sku}
 *   PUT  /aspos/api/products/{sku}/stock      {"quantity": n, "manage_stock": bool}
 *
 * Every /api call needs "Authorization: Bearer <token>" with a live token.
 * Errors are JSON {"error": code, "message": text}. Resources are kept as
 * the JSON objects the client sent (plus their key and updated_at), per
 * collection, in memory; the seed (--aspos-seed) fills them at start and on
 * reset. This file is the one place besides the mapping files where AsPos
 * field names appear in C.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "kassaboek/units.h"
#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-aspos.h"

#define ASPOS_KEY_MAX		256
#define ASPOS_FORM_MAX		8192
#define ASPOS_TOKENS_MAX	10000
#define ASPOS_ITEMS_MAX		100000
#define ASPOS_STATUS_MAX	64
#define ASPOS_REF_MAX		256
#define ASPOS_JSON_DEPTH	32

static const struct {
	const char	*name;
	const char	*key;
} aspos_colls[SB_ASPOS_NCOLLS] = {
	{ "orders",	"id" },
	{ "customers",	"id" },
	{ "products",	"sku" },
	{ "categories",	"id" },
};

const char *
sb_aspos_coll_name(int coll)
{
	return (aspos_colls[coll].name);
}

int
sb_aspos_coll_find(const char *name)
{
	int	i;

	for (i = 0; i < SB_ASPOS_NCOLLS; i++)
		if (strcmp(name, aspos_colls[i].name) == 0)
			return (i);
	return (-1);
}

static void
aspos_rec_free(void *p)
{
	struct sb_arec	*r = p;

	json_object_put(r->obj);
	free(r->key);
	free(r);
}

static void
aspos_tok_free(void *p)
{
	free(p);
}

/* ---- time stamps: ISO 8601 UTC with milliseconds */

int64_t
sb_now_ms_wall(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

void
sb_aspos_time_fmt(int64_t ms, char *buf, size_t len)
{
	time_t		secs = (time_t)(ms / 1000);
	struct tm	tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* YYYY-MM-DDTHH:MM:SS[.fff][Z|+00:00] -> ms since the epoch; -1 if malformed. */
int
sb_aspos_time_parse(const char *s, int64_t *ms)
{
	struct tm	tm;
	int		y, mo, d, h, mi, sec, n = 0, frac = 0, digits = 0;
	const char	*p;
	time_t		t;

	if (strlen(s) > 40 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19)
		return (-1);
	p = s + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		if (digits == 0)
			return (-1);
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0 && *p != '\0')
		return (-1);
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return (-1);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return (-1);
	*ms = (int64_t)t * 1000 + frac;
	return (0);
}

/* ---- the store */

const char *
sb_aspos_key_field(int coll)
{
	return (aspos_colls[coll].key);
}

struct sb_arec *
sb_aspos_get(struct sb_aspos *a, int coll, const char *key)
{
	return (sb_map_get(a->items[coll], key));
}

/* A key as a string: strings as they are, whole numbers printed; NULL otherwise. */
static const char *
aspos_key_of(struct json_object *o, const char *field, char *buf, size_t len)
{
	struct json_object	*v;
	const char		*s;

	if (!json_object_object_get_ex(o, field, &v))
		return (NULL);
	if (json_object_is_type(v, json_type_int)) {
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
		return (buf);
	}
	if (!json_object_is_type(v, json_type_string))
		return (NULL);
	s = json_object_get_string(v);
	return (*s != '\0' && strlen(s) <= ASPOS_KEY_MAX ? s : NULL);
}

/*
 * Stores obj (a reference is taken) under key, stamping its key field and
 * updated_at (now, unless keep_time and it carries a valid one). Returns the
 * record, or NULL when the collection is full.
 */
struct sb_arec *
sb_aspos_put(struct sb_aspos *a, int coll, const char *key, struct json_object *obj, int keep_time)
{
	struct sb_arec		*r, *old;
	struct json_object	*v;
	char			 ts[40];
	int64_t			 when = sb_now_ms_wall();
	long long		 num;

	old = sb_map_get(a->items[coll], key);
	if (old == NULL && sb_map_count(a->items[coll]) >= ASPOS_ITEMS_MAX)
		return (NULL);
	if (keep_time && json_object_object_get_ex(obj, "updated_at", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    sb_aspos_time_parse(json_object_get_string(v), &when) == 0)
		;
	else {
		sb_aspos_time_fmt(when, ts, sizeof ts);
		json_object_object_add(obj, "updated_at", json_object_new_string(ts));
	}
	json_object_object_add(obj, aspos_colls[coll].key, json_object_new_string(key));
	r = xcalloc(1, sizeof *r);
	r->key = xstrdup(key);
	r->obj = json_object_get(obj);
	r->updated_ms = when;
	r->seq = old != NULL ? old->seq : ++a->seq;
	r->changes = ++a->changes;
	sb_map_put(a->items[coll], key, r);
	/* Generated ids continue after the highest numeric one seen. */
	if (kb_parse_int(key, 1, INT64_MAX / 2, &num, NULL) == 0 && (uint64_t)num >= a->next_id[coll])
		a->next_id[coll] = (uint64_t)num + 1;
	return (r);
}

static int
aspos_rec_cmp_seq(const void *x, const void *y)
{
	const struct sb_arec	*a = *(struct sb_arec *const *)x, *b = *(struct sb_arec *const *)y;

	return (a->seq < b->seq ? -1 : a->seq > b->seq);
}

/* Order of a change feed: by updated_at, then by the order of the changes. */
static int
aspos_rec_cmp_time(const void *x, const void *y)
{
	const struct sb_arec	*a = *(struct sb_arec *const *)x, *b = *(struct sb_arec *const *)y;

	if (a->updated_ms != b->updated_ms)
		return (a->updated_ms < b->updated_ms ? -1 : 1);
	return (a->changes < b->changes ? -1 : a->changes > b->changes);
}

struct sb_arec **
sb_aspos_list(struct sb_aspos *a, int coll, int by_time, size_t *n)
{
	struct sb_map_iter	 it;
	struct sb_arec		**v;
	const char		*key;
	void			*val;
	size_t			 i = 0;

	v = xcalloc(sb_map_count(a->items[coll]) + 1, sizeof *v);
	sb_map_iter_init(&it, a->items[coll]);
	while (sb_map_next(&it, &key, &val))
		v[i++] = val;
	qsort(v, i, sizeof *v, by_time ? aspos_rec_cmp_time : aspos_rec_cmp_seq);
	*n = i;
	return (v);
}

/* Adds the items of one seed array (or a single object) to coll; -1 with err. */
int
sb_aspos_load_items(struct sb_aspos *a, int coll, struct json_object *arr, const char *where,
    struct kb_err *err)
{
	struct json_object	*o, *copy;
	const char		*key;
	char			 buf[32], gen[32];
	size_t			 i, n;

	n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 1;
	for (i = 0; i < n; i++) {
		o = json_object_is_type(arr, json_type_array) ? json_object_array_get_idx(arr, i) : arr;
		if (!json_object_is_type(o, json_type_object))
			return (kb_err_set(err, "%s: %s[%zu] is not an object", where,
			    aspos_colls[coll].name, i));
		if ((key = aspos_key_of(o, aspos_colls[coll].key, buf, sizeof buf)) == NULL) {
			if (strcmp(aspos_colls[coll].key, "id") != 0)
				return (kb_err_set(err, "%s: %s[%zu] has no %s", where,
				    aspos_colls[coll].name, i, aspos_colls[coll].key));
			snprintf(gen, sizeof gen, "%llu", (unsigned long long)a->next_id[coll]);
			key = gen;
		}
		copy = NULL;
		if (json_object_deep_copy(o, &copy, NULL) != 0)
			return (kb_err_set(err, "%s: cannot copy %s[%zu]", where, aspos_colls[coll].name, i));
		if (sb_aspos_put(a, coll, key, copy, 1) == NULL) {
			json_object_put(copy);
			return (kb_err_set(err, "%s: more than %d %s", where, ASPOS_ITEMS_MAX,
			    aspos_colls[coll].name));
		}
		json_object_put(copy);
	}
	return (0);
}

static int
aspos_seed(struct sb_aspos *a, struct kb_err *err)
{
	struct json_object	*v;
	int			 c;

	for (c = 0; c < SB_ASPOS_NCOLLS; c++) {
		sb_map_clear(a->items[c]);
		a->next_id[c] = 1;
	}
	if (a->seed == NULL)
		return (0);
	for (c = 0; c < SB_ASPOS_NCOLLS; c++)
		if (json_object_object_get_ex(a->seed, aspos_colls[c].name, &v) &&
		    sb_aspos_load_items(a, c, v, a->seed_path, err) == -1)
			return (-1);
	return (0);
}

struct sb_aspos *
sb_aspos_new(const struct sb_config *cfg, struct kb_err *err)
{
	struct sb_aspos	*a;
	int		 c;

	a = xcalloc(1, sizeof *a);
	for (c = 0; c < SB_ASPOS_NCOLLS; c++)
		a->items[c] = sb_map_new(aspos_rec_free);
	a->tokens = sb_map_new(aspos_tok_free);
	a->client_id = xstrdup(cfg->aspos_client_id);
	a->client_secret = xstrdup(cfg->aspos_client_secret);
	a->token_ttl = cfg->aspos_token_ttl;
	a->page_size = cfg->aspos_page_size;
	if (cfg->aspos_seed_path != NULL) {
		a->seed_path = xstrdup(cfg->aspos_seed_path);
		if ((a->seed = json_object_from_file(cfg->aspos_seed_path)) == NULL) {
			kb_err_set(err, "%s: %s", cfg->aspos_seed_path, json_util_get_last_err());
			goto fail;
		}
		if (!json_object_is_type(a->seed, json_type_object)) {
			kb_err_set(err, "%s: the AsPos seed must be a JSON object", cfg->aspos_seed_path);
			goto fail;
		}
	}
	if (aspos_seed(a, err) == -1)
		goto fail;
	return (a);
fail:
	sb_aspos_free(a);
	return (NULL);
}

void
sb_aspos_free(struct sb_aspos *a)
{
	int	c;

	if (a == NULL)
		return;
	for (c = 0; c < SB_ASPOS_NCOLLS; c++)
		sb_map_free(a->items[c]);
	sb_map_free(a->tokens);
	json_object_put(a->seed);
	free(a->seed_path);
	free(a->client_id);
	free(a->client_secret);
	free(a);
}

int
sb_aspos_reset(struct sb_aspos *a, struct kb_err *err)
{
	return (aspos_seed(a, err));
}

/* ---- answers */

void
sb_aspos_error(struct sb_call *call, int status, const char *code, const char *message)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(message));
	sb_reply_json(call, status, o);
}

static void
aspos_errorf(struct sb_call *call, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
aspos_errorf(struct sb_call *call, int status, const char *code, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sb_aspos_error(call, status, code, msg);
}

/* ---- tokens */

static int
aspos_eq(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b);

	return (la == lb && CRYPTO_memcmp(a, b, la) == 0);
}

void
sb_aspos_tokens_expire(struct sb_aspos *a)
{
	sb_map_clear(a->tokens);
}

/* HTTP Basic credentials into id / secret (buffers of len); 0 if present and well formed. */
static int
aspos_basic(struct evhttp_request *req, char *id, char *secret, size_t len)
{
	const char	*h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	unsigned char	 dec[600];
	char		*colon;
	int		 n;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0 || strlen(h + 6) > 800)
		return (-1);
	if ((n = EVP_DecodeBlock(dec, (const unsigned char *)h + 6, (int)strlen(h + 6))) <= 0)
		return (-1);
	while (n > 0 && dec[n - 1] == '\0')	/* padding decodes to NULs */
		n--;
	dec[n] = '\0';
	if ((colon = strchr((char *)dec, ':')) == NULL || (size_t)(colon - (char *)dec) >= len ||
	    strlen(colon + 1) >= len)
		return (-1);
	*colon = '\0';
	memcpy(id, dec, strlen((char *)dec) + 1);
	memcpy(secret, colon + 1, strlen(colon + 1) + 1);
	return (0);
}

static void
aspos_token(struct sb_call *call)
{
	struct sb_aspos		*a = call->srv->aspos;
	struct evbuffer		*in = evhttp_request_get_input_buffer(call->req);
	struct evkeyvalq	 form;
	struct json_object	*o;
	const char		*grant, *id, *secret;
	char			 bid[256], bsecret[256], tok[41], *text;
	size_t			 len = evbuffer_get_length(in);
	int64_t			*exp;

	sb_log_describe(call, "token", NULL, NULL, 0);
	if (evhttp_request_get_command(call->req) != EVHTTP_REQ_POST) {
		sb_aspos_error(call, 405, "method_not_allowed", "use POST");
		return;
	}
	if (len > ASPOS_FORM_MAX) {
		sb_aspos_error(call, 413, "invalid_request", "form too large");
		return;
	}
	text = xstrndup((const char *)evbuffer_pullup(in, -1), len);
	TAILQ_INIT(&form);
	if (evhttp_parse_query_str(text, &form) == -1) {
		free(text);
		sb_aspos_error(call, 400, "invalid_request", "the body must be a form (application/x-www-form-urlencoded)");
		return;
	}
	free(text);
	grant = evhttp_find_header(&form, "grant_type");
	id = evhttp_find_header(&form, "client_id");
	secret = evhttp_find_header(&form, "client_secret");
	if (id == NULL && aspos_basic(call->req, bid, bsecret, sizeof bid) == 0) {
		id = bid;
		secret = bsecret;
	}
	if (grant == NULL || strcmp(grant, "client_credentials") != 0)
		sb_aspos_error(call, 400, "unsupported_grant_type", "grant_type must be client_credentials");
	else if (id == NULL || secret == NULL || !aspos_eq(id, a->client_id) ||
	    !aspos_eq(secret, a->client_secret))
		sb_aspos_error(call, 401, "invalid_client", "unknown client or wrong secret");
	else {
		if (sb_map_count(a->tokens) >= ASPOS_TOKENS_MAX)
			sb_map_clear(a->tokens);	/* a flood: start over rather than grow */
		sb_random_hex(tok, sizeof tok - 1);
		tok[sizeof tok - 1] = '\0';
		exp = xmalloc(sizeof *exp);
		*exp = sb_now_ms() + (int64_t)a->token_ttl * 1000;
		sb_map_put(a->tokens, tok, exp);
		a->tokens_issued++;
		o = json_object_new_object();
		json_object_object_add(o, "access_token", json_object_new_string(tok));
		json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
		json_object_object_add(o, "expires_in", json_object_new_int64(a->token_ttl));
		sb_reply_json(call, 200, o);
	}
	evhttp_clear_headers(&form);
}

/* 1 if the request carries a live Bearer token; else answers 401 and returns 0. */
static int
aspos_authorized(struct sb_call *call)
{
	struct sb_aspos	*a = call->srv->aspos;
	const char	*h = evhttp_find_header(evhttp_request_get_input_headers(call->req), "Authorization");
	int64_t		*exp;

	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0 && strlen(h + 7) <= 256 &&
	    (exp = sb_map_get(a->tokens, h + 7)) != NULL && *exp > sb_now_ms())
		return (1);
	evhttp_add_header(evhttp_request_get_output_headers(call->req), "WWW-Authenticate",
	    "Bearer error=\"invalid_token\"");
	sb_aspos_error(call, 401, "invalid_token", h == NULL ? "no Authorization header" :
	    "the access token is unknown or expired");
	return (0);
}

/* ---- resources */

/* The JSON object in the request body, or NULL after answering 400. */
static struct json_object *
aspos_body(struct sb_call *call)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(call->req);
	struct json_tokener	*tok;
	struct json_object	*o;
	size_t			 len = evbuffer_get_length(in);
	const char		*p = (const char *)evbuffer_pullup(in, -1);

	sb_log_body(call, p, len);
	tok = json_tokener_new_ex(ASPOS_JSON_DEPTH);
	o = len > 0 ? json_tokener_parse_ex(tok, p, (int)len) : NULL;
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
		sb_aspos_error(call, 400, "invalid_json", "the body must be a JSON object");
	}
	json_tokener_free(tok);
	return (o);
}

static long
aspos_page(struct sb_call *call, struct evkeyvalq *q, long *page)
{
	const char	*v = evhttp_find_header(q, "page");
	long long	 p = 1;

	if (v != NULL && kb_parse_int(v, 1, 1000000, &p, NULL) == -1) {
		sb_aspos_error(call, 400, "invalid_request", "page must be a whole number from 1");
		return (-1);
	}
	*page = (long)p;
	return (0);
}

static void
aspos_list(struct sb_call *call, int coll, struct evkeyvalq *q)
{
	struct sb_aspos		*a = call->srv->aspos;
	struct json_object	*o, *arr, *v;
	struct sb_arec		**recs;
	const char		*since_s = NULL, *email = NULL;
	int64_t			 since = 0;
	long			 page;
	size_t			 n, i, k = 0, first;

	if (aspos_page(call, q, &page) == -1)
		return;
	if (coll == SB_ASPOS_ORDERS && (since_s = evhttp_find_header(q, "updated_since")) != NULL &&
	    sb_aspos_time_parse(since_s, &since) == -1) {
		aspos_errorf(call, 400, "invalid_request",
		    "updated_since '%.64s' is not an ISO 8601 UTC time (2026-12-04T10:15:00Z)", since_s);
		return;
	}
	if (coll == SB_ASPOS_CUSTOMERS)
		email = evhttp_find_header(q, "email");
	recs = sb_aspos_list(a, coll, coll == SB_ASPOS_ORDERS, &n);
	/* Filter in place, then cut the page. */
	for (i = 0; i < n; i++) {
		if (since_s != NULL && recs[i]->updated_ms < since)
			continue;
		if (email != NULL && (!json_object_object_get_ex(recs[i]->obj, "email", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    strcasecmp(json_object_get_string(v), email) != 0))
			continue;
		recs[k++] = recs[i];
	}
	arr = json_object_new_array();
	first = (size_t)(page - 1) * (size_t)a->page_size;
	for (i = first; i < k && i < first + (size_t)a->page_size; i++)
		json_object_array_add(arr, json_object_get(recs[i]->obj));
	free(recs);
	o = json_object_new_object();
	json_object_object_add(o, aspos_colls[coll].name, arr);
	json_object_object_add(o, "page", json_object_new_int64(page));
	json_object_object_add(o, "per_page", json_object_new_int64(a->page_size));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)k));
	json_object_object_add(o, "next_page", first + (size_t)a->page_size < k ?
	    json_object_new_int64(page + 1) : NULL);
	sb_reply_json(call, 200, o);
}

static void
aspos_get(struct sb_call *call, int coll, const char *key)
{
	struct sb_arec	*r;

	if ((r = sb_aspos_get(call->srv->aspos, coll, key)) == NULL) {
		aspos_errorf(call, 404, "not_found", "no %.20s %.100s", aspos_colls[coll].name, key);
		return;
	}
	sb_reply_json(call, 200, json_object_get(r->obj));
}

/* POST (key NULL: from the body or generated) and PUT (key from the path). */
static void
aspos_write(struct sb_call *call, int coll, const char *key)
{
	struct sb_aspos		*a = call->srv->aspos;
	struct json_object	*body;
	struct sb_arec		*r;
	const char		*bkey;
	char			 buf[32];
	int			 existed;

	if ((body = aspos_body(call)) == NULL)
		return;
	bkey = aspos_key_of(body, aspos_colls[coll].key, buf, sizeof buf);
	if (json_object_object_get_ex(body, aspos_colls[coll].key, NULL) && bkey == NULL) {
		aspos_errorf(call, 422, "invalid_field", "%s must be a non-empty string",
		    aspos_colls[coll].key);
		goto out;
	}
	if (key != NULL && bkey != NULL && strcmp(key, bkey) != 0) {
		aspos_errorf(call, 422, "invalid_field", "%s in the body differs from the path",
		    aspos_colls[coll].key);
		goto out;
	}
	if (key == NULL) {
		if (bkey == NULL && strcmp(aspos_colls[coll].key, "id") != 0) {
			aspos_errorf(call, 422, "missing_field", "%s is required", aspos_colls[coll].key);
			goto out;
		}
		if (bkey != NULL && sb_aspos_get(a, coll, bkey) != NULL) {
			aspos_errorf(call, 409, "conflict", "%.20s %.100s exists already",
			    aspos_colls[coll].name, bkey);
			goto out;
		}
		if (bkey == NULL) {
			snprintf(buf, sizeof buf, "%llu", (unsigned long long)a->next_id[coll]);
			bkey = buf;
		}
		key = bkey;
	}
	existed = sb_aspos_get(a, coll, key) != NULL;
	if ((r = sb_aspos_put(a, coll, key, body, 0)) == NULL) {
		aspos_errorf(call, 507, "store_full", "more than %d %s", ASPOS_ITEMS_MAX,
		    aspos_colls[coll].name);
		goto out;
	}
	sb_reply_json(call, existed ? 200 : 201, json_object_get(r->obj));
out:
	json_object_put(body);
}

/* PATCH /api/orders/{id}: only the write-back fields may change. */
static void
aspos_order_patch(struct sb_call *call, const char *key)
{
	struct sb_aspos		*a = call->srv->aspos;
	struct json_object	*body, *copy = NULL;
	struct sb_arec		*r;
	const char		*s;

	if ((body = aspos_body(call)) == NULL)
		return;
	if ((r = sb_aspos_get(a, SB_ASPOS_ORDERS, key)) == NULL) {
		aspos_errorf(call, 404, "not_found", "no order %.100s", key);
		goto out;
	}
	if (json_object_object_length(body) == 0) {
		sb_aspos_error(call, 422, "missing_field", "nothing to change: send status and/or external_reference");
		goto out;
	}
	json_object_object_foreach(body, k, v) {
		if (strcmp(k, "status") == 0) {
			if (!json_object_is_type(v, json_type_string) || *(s = json_object_get_string(v)) == '\0' ||
			    strlen(s) > ASPOS_STATUS_MAX) {
				aspos_errorf(call, 422, "invalid_field",
				    "status must be a non-empty string of at most %d bytes", ASPOS_STATUS_MAX);
				goto out;
			}
		} else if (strcmp(k, "external_reference") == 0) {
			if (!json_object_is_type(v, json_type_null) && (!json_object_is_type(v, json_type_string) ||
			    strlen(json_object_get_string(v)) > ASPOS_REF_MAX)) {
				aspos_errorf(call, 422, "invalid_field",
				    "external_reference must be a string of at most %d bytes or null", ASPOS_REF_MAX);
				goto out;
			}
		} else {
			aspos_errorf(call, 422, "read_only_field", "%.64s cannot be changed", k);
			goto out;
		}
	}
	if (json_object_deep_copy(r->obj, &copy, NULL) != 0) {
		sb_aspos_error(call, 500, "server_error", "copy failed");
		goto out;
	}
	json_object_object_foreach(body, k2, v2)
		json_object_object_add(copy, k2, json_object_get(v2));
	r = sb_aspos_put(a, SB_ASPOS_ORDERS, key, copy, 0);
	json_object_put(copy);
	sb_reply_json(call, 200, json_object_get(r->obj));
out:
	json_object_put(body);
}

/* PUT /api/products/{sku}/stock */
static void
aspos_stock(struct sb_call *call, const char *sku)
{
	struct sb_aspos		*a = call->srv->aspos;
	struct json_object	*body, *q, *m = NULL, *copy = NULL;
	struct sb_arec		*r;

	if ((body = aspos_body(call)) == NULL)
		return;
	if ((r = sb_aspos_get(a, SB_ASPOS_PRODUCTS, sku)) == NULL)
		aspos_errorf(call, 404, "not_found", "no product %.100s", sku);
	else if (!json_object_object_get_ex(body, "quantity", &q) ||
	    (!json_object_is_type(q, json_type_int) && !json_object_is_type(q, json_type_double)))
		sb_aspos_error(call, 422, "invalid_field", "quantity must be a number");
	else if (json_object_object_get_ex(body, "manage_stock", &m) &&
	    !json_object_is_type(m, json_type_boolean))
		sb_aspos_error(call, 422, "invalid_field", "manage_stock must be true or false");
	else if (json_object_deep_copy(r->obj, &copy, NULL) != 0)
		sb_aspos_error(call, 500, "server_error", "copy failed");
	else {
		json_object_object_add(copy, "stock", json_object_get(q));
		if (m != NULL)
			json_object_object_add(copy, "manage_stock", json_object_get(m));
		r = sb_aspos_put(a, SB_ASPOS_PRODUCTS, sku, copy, 0);
		json_object_put(copy);
		sb_reply_json(call, 200, json_object_get(r->obj));
	}
	json_object_put(body);
}

/* Splits "/api/<coll>[/<key>[/<sub>]]"; key decoded. Returns 0 or -1 (not such a path). */
static int
aspos_route(const char *path, char *coll, size_t clen, char *key, size_t klen, char *sub, size_t slen)
{
	const char	*p, *slash;
	char		 raw[ASPOS_KEY_MAX * 3 + 1], *dec;
	size_t		 n, declen;

	*coll = *key = *sub = '\0';
	if (strncmp(path, "/api/", 5) != 0)
		return (-1);
	p = path + 5;
	n = (slash = strchr(p, '/')) != NULL ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= clen)
		return (-1);
	memcpy(coll, p, n);
	coll[n] = '\0';
	if (slash == NULL)
		return (0);
	p = slash + 1;
	n = (slash = strchr(p, '/')) != NULL ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= sizeof raw)
		return (-1);
	memcpy(raw, p, n);
	raw[n] = '\0';
	if ((dec = evhttp_uridecode(raw, 0, &declen)) == NULL)
		return (-1);
	if (declen == 0 || declen >= klen || strlen(dec) != declen) {
		free(dec);
		return (-1);
	}
	memcpy(key, dec, declen + 1);
	free(dec);
	if (slash == NULL)
		return (0);
	if (strlen(slash + 1) >= slen || strchr(slash + 1, '/') != NULL)
		return (-1);
	snprintf(sub, slen, "%s", slash + 1);
	return (0);
}

void
sb_aspos_dispatch(struct sb_call *call, const char *path)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(call->req);
	const char		*query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(call->req));
	struct evkeyvalq	 q;
	char			 coll[32], key[ASPOS_KEY_MAX + 1], sub[32];
	int			 c;

	if (sb_http_inject_error(call, SB_AREA_ASPOS, "aspos"))
		return;
	if (strcmp(path, "/connect/token") == 0) {
		aspos_token(call);
		return;
	}
	TAILQ_INIT(&q);
	if (aspos_route(path, coll, sizeof coll, key, sizeof key, sub, sizeof sub) == -1 ||
	    (c = sb_aspos_coll_find(coll)) == -1) {
		sb_aspos_error(call, 404, "not_found", "no such endpoint");
		return;
	}
	sb_log_describe(call, *key != '\0' ? key : coll, NULL, NULL, 0);
	if (!aspos_authorized(call))
		return;
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1) {
		sb_aspos_error(call, 400, "invalid_request", "malformed query string");
		return;
	}
	if (*sub != '\0') {
		if (c == SB_ASPOS_PRODUCTS && strcmp(sub, "stock") == 0 && cmd == EVHTTP_REQ_PUT)
			aspos_stock(call, key);
		else if (c == SB_ASPOS_PRODUCTS && strcmp(sub, "stock") == 0)
			sb_aspos_error(call, 405, "method_not_allowed", "use PUT");
		else
			sb_aspos_error(call, 404, "not_found", "no such endpoint");
	} else if (*key == '\0') {
		if (cmd == EVHTTP_REQ_GET)
			aspos_list(call, c, &q);
		else if (cmd == EVHTTP_REQ_POST && c != SB_ASPOS_ORDERS)
			aspos_write(call, c, NULL);
		else
			sb_aspos_error(call, 405, "method_not_allowed", c == SB_ASPOS_ORDERS ?
			    "use GET" : "use GET or POST");
	} else {
		if (cmd == EVHTTP_REQ_GET)
			aspos_get(call, c, key);
		else if (cmd == EVHTTP_REQ_PATCH && c == SB_ASPOS_ORDERS)
			aspos_order_patch(call, key);
		else if (cmd == EVHTTP_REQ_PUT && c != SB_ASPOS_ORDERS)
			aspos_write(call, c, key);
		else
			sb_aspos_error(call, 405, "method_not_allowed", c == SB_ASPOS_ORDERS ?
			    "use GET or PATCH" : "use GET or PUT");
	}
	evhttp_clear_headers(&q);
}
