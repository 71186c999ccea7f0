/*
 * The AsPos OAuth2 client-credentials token, shared by every process of an
 * installation through one Redis hash:
 *
 *   {kb}:aspos:token   access_token, refresh_at, expires_at (ms since the
 *                      epoch); the key expires itself at expires_at
 *
 * A token is used until refresh_at (expiry minus min(60 s, a quarter of its
 * life)); then the next call reads Redis (another process may have fetched
 * a newer one) and, if Redis has nothing fresher, fetches one: POST
 * {base}{token.path} with grant_type=client_credentials, client_id and
 * client_secret in the form body. One fetch at a time per process; callers
 * arriving meanwhile wait for it. Client-credentials tokens are
 * independent of each other, so two processes fetching at the same moment
 * is harmless and no cross-process lock is taken. Redis being down only
 * costs the sharing: the token is then fetched and kept in memory.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "kassaboek/xmalloc.h"
#include "aspos-internal.h"

#define TOKEN_MAX_BODY		(64 * 1024)
#define TOKEN_MAX_LEN		4096
#define TOKEN_EARLY_MAX_MS	60000
#define TOKEN_DEFAULT_TTL_S	3600
#define TOKEN_MAX_TTL_S		(30L * 24 * 3600)
/* A new process's Redis connection may still be coming up: poll this long before fetching. */
#define TOKEN_REDIS_WAIT_MS	1000
#define TOKEN_REDIS_POLL_MS	20

/* HSET + PEXPIREAT in one step, so a reader never sees a token without expiry. */
static const char token_store_lua[] =
"redis.call('HSET', KEYS[1], 'access_token', ARGV[1], 'refresh_at', ARGV[2],\n"
"  'expires_at', ARGV[3])\n"
"redis.call('PEXPIREAT', KEYS[1], ARGV[3])\n"
"return 1\n";

/* Delete the shared token only if it is the one AsPos refused. */
static const char token_invalidate_lua[] =
"if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then\n"
"  return redis.call('DEL', KEYS[1]) end\n"
"return 0\n";

enum token_step {
	TOKEN_IDLE,
	TOKEN_LOADING,		/* HMGET from Redis */
	TOKEN_FETCHING,		/* POST to the token endpoint */
};

struct aspos_token {
	struct aspos_token_params		 p;
	char					*token_url;
	char					*client_id;
	char					*client_secret;
	char					*key;
	char					*token;
	uint64_t				 refresh_at;
	uint64_t				 expires_at;
	enum token_step				 step;
	int					 closing;
	struct event				*poll;		/* Redis not connected yet */
	uint64_t				 load_since;
	TAILQ_HEAD(, aspos_token_wait)		 waiters;
};

static void	token_fetch(struct aspos_token *t);
static void	token_load(struct aspos_token *t);

static void
token_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	token_load(arg);
}

struct aspos_token *
aspos_token_new(const struct aspos_token_params *p)
{
	struct aspos_token	*t;

	t = xcalloc(1, sizeof *t);
	t->p = *p;
	t->token_url = xstrdup(p->token_url);
	t->client_id = xstrdup(p->client_id);
	t->client_secret = xstrdup(p->client_secret);
	t->key = xstrdup(p->key);
	t->p.token_url = t->p.client_id = t->p.client_secret = t->p.key = NULL;
	TAILQ_INIT(&t->waiters);
	t->poll = evtimer_new(p->base, token_poll_cb, t);
	return (t);
}

/*
 * Calls every waiter (the client is never freed from inside one: see
 * aspos_client_free). token is borrowed; a waiter may invalidate it, so
 * each gets the token as it was when the wake began.
 */
static void
token_wake(struct aspos_token *t, const char *token, const struct aspos_outcome *out, long status,
    uint64_t retry_after_ms)
{
	TAILQ_HEAD(, aspos_token_wait)	 now;
	struct aspos_token_wait		*w;
	char				*copy = token != NULL ? xstrdup(token) : NULL;

	/* Only the waiters of this round: a callback may queue a new one. */
	TAILQ_INIT(&now);
	TAILQ_CONCAT(&now, &t->waiters, entry);
	while ((w = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, w, entry);
		w->queued = 0;
		w->cb(w, copy, out, status, retry_after_ms);
	}
	free(copy);
}

/* Wakes every waiter with a failure; msg is the whole message. */
static void
token_fail(struct aspos_token *t, enum kb_fail_kind kind, long status, uint64_t retry_after_ms,
    const char *msg)
{
	struct aspos_outcome	out;

	memset(&out, 0, sizeof out);
	out.kind = kind;
	snprintf(out.message, sizeof out.message, "%s", msg);
	t->step = TOKEN_IDLE;
	token_wake(t, NULL, &out, status, retry_after_ms);
}

void
aspos_token_free(struct aspos_token *t)
{
	struct aspos_outcome	out;

	if (t == NULL)
		return;
	memset(&out, 0, sizeof out);
	out.kind = KB_FAIL_TRANSIENT;
	snprintf(out.message, sizeof out.message, "AsPos client shut down");
	t->closing = 1;
	token_wake(t, NULL, &out, 0, 0);
	event_free(t->poll);
	free(t->token_url);
	free(t->client_id);
	free(t->client_secret);
	free(t->key);
	free(t->token);
	free(t);
}

void
aspos_token_closing(struct aspos_token *t)
{
	t->closing = 1;
}

static int
token_usable(const struct aspos_token *t, uint64_t now)
{
	return (t->token != NULL && now < t->refresh_at);
}

static void
token_set(struct aspos_token *t, const char *token, uint64_t refresh_at, uint64_t expires_at)
{
	free(t->token);
	t->token = xstrdup(token);
	t->refresh_at = refresh_at;
	t->expires_at = expires_at;
}

static int
token_u64(const redisReply *r, uint64_t *out)
{
	char	*end;

	if (r == NULL || r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
		return (-1);
	*out = strtoull(r->str, &end, 10);
	return (*end == '\0' ? 0 : -1);
}

static void
token_loaded(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct aspos_token	*t = arg;
	uint64_t		 refresh_at, expires_at;

	if (t->closing)
		return;
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
	    reply->element[0]->type == REDIS_REPLY_STRING && reply->element[0]->len > 0 &&
	    reply->element[0]->len <= TOKEN_MAX_LEN &&
	    token_u64(reply->element[1], &refresh_at) == 0 &&
	    token_u64(reply->element[2], &expires_at) == 0 && httpc_now_ms() < refresh_at) {
		token_set(t, reply->element[0]->str, refresh_at, expires_at);
		t->p.stats->token_from_redis++;
		t->step = TOKEN_IDLE;
		token_wake(t, t->token, NULL, 0, 0);
		return;
	}
	if (reply == NULL && !kb_redis_connected(t->p.redis) &&
	    httpc_now_ms() - t->load_since < TOKEN_REDIS_WAIT_MS) {
		struct timeval	tv = { 0, TOKEN_REDIS_POLL_MS * 1000 };

		evtimer_add(t->poll, &tv);
		return;
	}
	/* Nothing fresh in Redis (or Redis unreachable): fetch one. */
	token_fetch(t);
}

static void
token_fire_done(struct kb_redis *r, redisReply *reply, void *arg)
{
	/* Fire and forget: a lost store only costs another process a fetch. */
}

static void
token_store(struct aspos_token *t)
{
	char		 ra[24], ea[24];
	const char	*args[4];
	size_t		 lens[4];

	if (t->p.redis == NULL)
		return;
	snprintf(ra, sizeof ra, "%" PRIu64, t->refresh_at);
	snprintf(ea, sizeof ea, "%" PRIu64, t->expires_at);
	args[0] = t->key;
	args[1] = t->token;
	args[2] = ra;
	args[3] = ea;
	for (size_t i = 0; i < 4; i++)
		lens[i] = strlen(args[i]);
	kb_redis_eval(t->p.redis, token_store_lua, token_fire_done, NULL, 1, 4, args, lens);
}

static void
token_answer(const struct httpc_res *res, void *arg)
{
	struct aspos_token	*t = arg;
	struct aspos_outcome	 out;
	struct json_object	*o = NULL, *v;
	const char		*tok;
	uint64_t		 now = httpc_now_ms(), life_ms, early;
	int64_t			 ttl = TOKEN_DEFAULT_TTL_S;

	if (t->closing)
		return;
	aspos_classify(t->p.api, "token request", res, TOKEN_MAX_BODY, &out);
	if (!out.ok) {
		/* Refused credentials are permanent: retrying will not fix them. */
		if (res->status == 400 || res->status == 401 || res->status == 403)
			out.kind = KB_FAIL_PERMANENT;
		token_fail(t, out.kind, res->status, res->retry_after_ms > 0 ?
		    (uint64_t)res->retry_after_ms : 0, out.message);
		return;
	}
	o = aspos_json_parse(res->body, res->len);
	if (o == NULL || !json_object_object_get_ex(o, "access_token", &v) ||
	    !json_object_is_type(v, json_type_string) || (tok = json_object_get_string(v)) == NULL ||
	    *tok == '\0' || strlen(tok) > TOKEN_MAX_LEN || strpbrk(tok, " \t\r\n") != NULL) {
		json_object_put(o);
		token_fail(t, KB_FAIL_TRANSIENT, res->status, 0,
		    "AsPos token request: answer without a usable access_token");
		return;
	}
	if (json_object_object_get_ex(o, "expires_in", &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string)))
		ttl = json_object_get_int64(v);
	if (ttl <= 0 || ttl > TOKEN_MAX_TTL_S)
		ttl = TOKEN_DEFAULT_TTL_S;
	life_ms = (uint64_t)ttl * 1000;
	early = life_ms / 4 < TOKEN_EARLY_MAX_MS ? life_ms / 4 : TOKEN_EARLY_MAX_MS;
	token_set(t, tok, now + life_ms - early, now + life_ms);
	json_object_put(o);
	token_store(t);
	t->step = TOKEN_IDLE;
	token_wake(t, t->token, NULL, 0, 0);
}

static void
token_fetch(struct aspos_token *t)
{
	struct httpc_req	 req;
	struct kb_err		 err;
	char			*id, *secret;

	t->step = TOKEN_FETCHING;
	t->p.stats->token_fetches++;
	memset(&req, 0, sizeof req);
	id = curl_easy_escape(NULL, t->client_id, 0);
	secret = curl_easy_escape(NULL, t->client_secret, 0);
	if (id == NULL || secret == NULL) {
		curl_free(id);
		curl_free(secret);
		token_fail(t, KB_FAIL_TRANSIENT, 0, 0, "AsPos token request: out of memory");
		return;
	}
	req.body = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=%s",
	    id, secret);
	req.body_len = strlen(req.body);
	curl_free(id);
	curl_free(secret);
	req.url = t->token_url;
	req.headers = curl_slist_append(NULL,
	    "Content-Type: application/x-www-form-urlencoded");
	req.headers = curl_slist_append(req.headers, "Accept: application/json");
	req.timeout_ms = t->p.timeout_ms;
	req.connect_timeout_ms = t->p.connect_timeout_ms;
	req.max_body = TOKEN_MAX_BODY;
	if (httpc_start(t->p.http, &req, token_answer, t, &err) == -1) {
		curl_slist_free_all(req.headers);
		free(req.body);
		token_fail(t, KB_FAIL_TRANSIENT, 0, 0, err.msg);
	}
}

void
aspos_token_get(struct aspos_token *t, struct aspos_token_wait *w)
{
	if (t->step == TOKEN_IDLE && token_usable(t, httpc_now_ms())) {
		w->cb(w, t->token, NULL, 0, 0);
		return;
	}
	TAILQ_INSERT_TAIL(&t->waiters, w, entry);
	w->queued = 1;
	if (t->step != TOKEN_IDLE)
		return;
	if (t->p.redis == NULL) {
		token_fetch(t);
		return;
	}
	t->step = TOKEN_LOADING;
	t->load_since = httpc_now_ms();
	token_load(t);
}

static void
token_load(struct aspos_token *t)
{
	const char	*argv[5];

	argv[0] = "HMGET";
	argv[1] = t->key;
	argv[2] = "access_token";
	argv[3] = "refresh_at";
	argv[4] = "expires_at";
	kb_redis_command_argv(t->p.redis, token_loaded, t, 5, argv, NULL);
}

void
aspos_token_invalidate(struct aspos_token *t, const char *token)
{
	const char	*args[2];
	size_t		 lens[2];

	if (t->token != NULL && strcmp(t->token, token) == 0) {
		free(t->token);
		t->token = NULL;
		t->refresh_at = t->expires_at = 0;
	}
	if (t->p.redis == NULL)
		return;
	args[0] = t->key;
	args[1] = token;
	lens[0] = strlen(args[0]);
	lens[1] = strlen(args[1]);
	kb_redis_eval(t->p.redis, token_invalidate_lua, token_fire_done, NULL, 1, 2, args, lens);
}
