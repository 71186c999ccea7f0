/*
 * OAuth2 access token and cluster URL for the Twinfield client (reference
 * §2.1, §2.3, §7.4), shared by every process through Redis:
 *
 *   {kb}:tf:token:<org>      hash access_token, cluster_url, refresh_at,
 *                            expires_at (ms since the epoch); expires itself
 *   {kb}:tf:refresh:<org>    the newest refresh token Twinfield handed out
 *   {kb}:tf:tokenlock:<org>  SET NX PX lock: one process refreshes at a time
 *
 * A token is used until refresh_at (expiry minus min(60 s, a quarter of its
 * life)); after that the first process to take the lock refreshes while the
 * others keep using the old token until it really expires. Only when there
 * is no usable token do requests wait: the lock holder refreshes, the others
 * poll the hash until the new token appears.
 *
 * Refresh: POST {login_url}/auth/authentication/connect/token with HTTP
 * Basic client authentication and grant_type=refresh_token; then, unless
 * cluster_url is configured, GET .../accesstokenvalidation?token= for
 * twf.clusterUrl (trailing '/' stripped).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "kassaboek/xmalloc.h"
#include "kassaboek/units.h"
#include "tf-internal.h"

#define AUTH_MAX_BODY		(64 * 1024)
#define AUTH_POLL_MS		200
/* The lock outlives a refresh (token POST + validation GET, each capped). */
#define AUTH_LOCK_MS(a)		(2 * (a)->timeout_ms + 2000)
#define AUTH_WAIT_MAX_MS(a)	(AUTH_LOCK_MS(a) + 5000)
#define AUTH_REDIS_RETRY_MS	100
#define AUTH_REDIS_GIVEUP_MS	3000
#define AUTH_EARLY_MAX_MS	60000
#define AUTH_DEFAULT_TTL_S	3600

/* HSET + PEXPIREAT the token, then drop our lock if it is still ours. */
static const char auth_store_lua[] =
"redis.call('HSET', KEYS[1], 'access_token', ARGV[1], 'cluster_url', ARGV[2],\n"
"  'refresh_at', ARGV[3], 'expires_at', ARGV[4])\n"
"redis.call('PEXPIREAT', KEYS[1], ARGV[4])\n"
"if redis.call('GET', KEYS[2]) == ARGV[5] then redis.call('DEL', KEYS[2]) end\n"
"return 1\n";

static const char auth_unlock_lua[] =
"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
"return 0\n";

/* Delete the shared token only if it is the one Twinfield refused. */
static const char auth_invalidate_lua[] =
"if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then\n"
"  return redis.call('DEL', KEYS[1]) end\n"
"return 0\n";

struct tf_auth_wait {
	tf_auth_cb			*cb;
	void				*arg;
	TAILQ_ENTRY(tf_auth_wait)	 entry;
};

enum auth_step {
	AUTH_IDLE,
	AUTH_LOADING,		/* HGETALL token */
	AUTH_LOCKING,		/* SET lock NX PX */
	AUTH_POLLING,		/* another process refreshes: timer, then reload */
	AUTH_READ_REFRESH,	/* GET refresh token */
	AUTH_TOKEN,		/* POST token endpoint */
	AUTH_VALIDATE,		/* GET accesstokenvalidation */
	AUTH_STORING,		/* store script */
	AUTH_RETRY,		/* Redis unreachable: timer, then reload */
};

struct tf_auth {
	struct event_base		*base;
	struct kb_redis			*redis;
	struct httpc			*http;
	const struct tf_config		*cfg;
	char				*login_url;
	char				*client_id;
	char				*client_secret;
	char				*refresh_token;	/* from config */
	char				*cluster_url;	/* configured, or NULL */
	char				*key_token;
	char				*key_refresh;
	char				*key_lock;
	long				 timeout_ms;
	struct tf_stats			*stats;
	const int			*closing;
	unsigned			*redis_pending;

	/* The token in use here. */
	char				*token;
	char				*cluster;
	uint64_t			 refresh_at;
	uint64_t			 expires_at;

	enum auth_step			 step;
	TAILQ_HEAD(, tf_auth_wait)	 waiters;
	struct event			*timer;
	uint64_t			 wait_since;	/* first poll/retry of this chain */
	char				 lockval[64];
	uint64_t			 lock_seq;
	/* The refresh in progress. */
	char				*used_refresh;
	char				*new_token;
	char				*new_refresh;
	long				 new_ttl_s;
	uint64_t			 new_exp_ms;	/* from validation "exp", 0 if none */
	char				*new_cluster;
};

static void	auth_load(struct tf_auth *a);

static void
auth_clear_refresh(struct tf_auth *a)
{
	free(a->used_refresh);
	free(a->new_token);
	free(a->new_refresh);
	free(a->new_cluster);
	a->used_refresh = a->new_token = a->new_refresh = a->new_cluster = NULL;
	a->new_ttl_s = 0;
	a->new_exp_ms = 0;
}

static int
auth_usable(const struct tf_auth *a, uint64_t now)
{
	return (a->token != NULL && now < a->expires_at);
}

/* Calls every waiter: with the token (kind TF_OK) or with the error. */
static void
auth_flush(struct tf_auth *a, enum tf_err_kind kind, const char *msg)
{
	struct tf_auth_wait	*w;
	char			*tok, *clu;

	/* Copies: a waiter may invalidate the token while we iterate. */
	tok = a->token != NULL ? xstrdup(a->token) : NULL;
	clu = a->cluster != NULL ? xstrdup(a->cluster) : NULL;
	while ((w = TAILQ_FIRST(&a->waiters)) != NULL) {
		TAILQ_REMOVE(&a->waiters, w, entry);
		if (kind == TF_OK)
			w->cb(TF_OK, "", tok, clu, w->arg);
		else
			w->cb(kind, msg, NULL, NULL, w->arg);
		free(w);
	}
	free(tok);
	free(clu);
}

/* The chain ends: tell the waiters, and start over if new ones came meanwhile. */
static void
auth_done(struct tf_auth *a, enum tf_err_kind kind, const char *msg)
{
	a->step = AUTH_IDLE;
	a->wait_since = 0;
	auth_clear_refresh(a);
	if (kind == TF_OK && !auth_usable(a, tf_now_ms()))
		kind = TF_ERR_TOKEN, msg = "token expired while it was handed out";
	auth_flush(a, kind, msg);
}

static void
auth_timer(struct tf_auth *a, enum auth_step step, long ms)
{
	struct timeval	tv;

	a->step = step;
	tv = kb_timeval_ms(ms);
	evtimer_add(a->timer, &tv);
}

static void
auth_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tf_auth	*a = arg;

	auth_load(a);
}

/* Redis did not answer: retry for a while, then give up on the waiters. */
static void
auth_redis_failed(struct tf_auth *a, redisReply *reply)
{
	char	msg[160];

	if (a->wait_since == 0)
		a->wait_since = tf_now_ms();
	if (tf_now_ms() - a->wait_since < AUTH_REDIS_GIVEUP_MS) {
		auth_timer(a, AUTH_RETRY, AUTH_REDIS_RETRY_MS);
		return;
	}
	snprintf(msg, sizeof msg, "token: Redis %s", reply == NULL ? "unreachable" :
	    reply->type == REDIS_REPLY_ERROR ? reply->str : "gave an unexpected reply");
	auth_done(a, TF_ERR_REDIS, msg);
}

static void
auth_unlock(struct tf_auth *a)
{
	const char	*args[2];
	size_t		 lens[2];

	args[0] = a->key_lock;
	args[1] = a->lockval;
	lens[0] = strlen(args[0]);
	lens[1] = strlen(args[1]);
	tf_redis_fire_eval(a->redis, a->redis_pending, auth_unlock_lua, 1, 2, args, lens);
}

/* The refresh failed: drop the lock so another process may try. */
static void
auth_refresh_failed(struct tf_auth *a, enum tf_err_kind kind, const char *msg)
{
	auth_unlock(a);
	auth_done(a, kind, msg);
}

static void
auth_adopt(struct tf_auth *a, const char *token, const char *cluster, uint64_t refresh_at,
    uint64_t expires_at)
{
	free(a->token);
	free(a->cluster);
	a->token = xstrdup(token);
	a->cluster = xstrdup(cluster);
	a->refresh_at = refresh_at;
	a->expires_at = expires_at;
}

static void
auth_stored(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct tf_auth	*a = arg;

	if (*a->closing)
		return;
	/* Stored or not, this process has a good token; others refresh again. */
	auth_done(a, TF_OK, "");
}

static void
auth_store(struct tf_auth *a)
{
	const char	*args[7];
	size_t		 lens[7];
	char		 ra[32], ea[32];
	uint64_t	 now, ttl_ms, early, exp;
	int		 i;

	now = tf_now_ms();
	ttl_ms = (uint64_t)a->new_ttl_s * 1000;
	exp = now + ttl_ms;
	if (a->new_exp_ms != 0 && a->new_exp_ms < exp)
		exp = a->new_exp_ms;
	ttl_ms = exp > now ? exp - now : 0;
	early = ttl_ms / 4 < AUTH_EARLY_MAX_MS ? ttl_ms / 4 : AUTH_EARLY_MAX_MS;
	auth_adopt(a, a->new_token, a->cluster_url != NULL ? a->cluster_url : a->new_cluster,
	    exp - early, exp);
	snprintf(ra, sizeof ra, "%" PRIu64, a->refresh_at);
	snprintf(ea, sizeof ea, "%" PRIu64, a->expires_at);
	args[0] = a->key_token;
	args[1] = a->key_lock;
	args[2] = a->token;
	args[3] = a->cluster;
	args[4] = ra;
	args[5] = ea;
	args[6] = a->lockval;
	for (i = 0; i < 7; i++)
		lens[i] = strlen(args[i]);
	a->step = AUTH_STORING;
	kb_redis_eval(a->redis, auth_store_lua, auth_stored, a, 2, 7, args, lens);
}

/* Parses a JSON object body; NULL if it is not one. Caller json_object_put()s. */
static struct json_object *
auth_json(const struct httpc_res *res)
{
	struct json_tokener	*tok;
	struct json_object	*o;

	if (res->len == 0 || res->len > AUTH_MAX_BODY)
		return (NULL);
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, res->body, (int)res->len);
	json_tokener_free(tok);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return (o);
}

static const char *
auth_json_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

/* A number that may come as a JSON string ("exp": "1638425126"). */
static long long
auth_json_num(struct json_object *o, const char *key)
{
	struct json_object	*v;
	const char		*s;
	char			*end;
	long long		 n;

	if (!json_object_object_get_ex(o, key, &v))
		return (-1);
	if (json_object_is_type(v, json_type_int))
		return (json_object_get_int64(v));
	if (!json_object_is_type(v, json_type_string))
		return (-1);
	s = json_object_get_string(v);
	n = strtoll(s, &end, 10);
	return (end == s || *end != '\0' ? -1 : n);
}

/* Classifies a failed HTTP exchange with the login server. */
static void
auth_http_error(struct tf_auth *a, const char *what, const struct httpc_res *res)
{
	struct json_object	*o;
	const char		*e;
	char			 msg[300];
	enum tf_err_kind	 kind = TF_ERR_TOKEN;

	if (res->code != CURLE_OK) {
		snprintf(msg, sizeof msg, "%s: %s", what, res->error);
		if (res->code == CURLE_OPERATION_TIMEDOUT)
			kind = TF_ERR_TIMEOUT;
		auth_refresh_failed(a, kind, msg);
		return;
	}
	o = auth_json(res);
	e = o != NULL ? auth_json_str(o, "error") : NULL;
	snprintf(msg, sizeof msg, "%s: HTTP %ld%s%.80s", what, res->status,
	    e != NULL ? ": " : "", e != NULL ? e : "");
	/* Refused credentials do not heal by retrying (reference §2.1). */
	if (res->status == 400 || res->status == 401 || res->status == 403)
		kind = TF_ERR_AUTH;
	json_object_put(o);
	auth_refresh_failed(a, kind, msg);
}

static void
auth_validated(const struct httpc_res *res, void *arg)
{
	struct tf_auth		*a = arg;
	struct json_object	*o;
	const char		*cluster;
	long long		 exp;
	size_t			 n;

	if (*a->closing)
		return;
	if (res->code != CURLE_OK || res->status != 200) {
		/* A token the login server just issued and cannot validate: transient. */
		if (res->code == CURLE_OK && res->status == 400) {
			auth_refresh_failed(a, TF_ERR_TOKEN, "token validation: HTTP 400");
			return;
		}
		auth_http_error(a, "token validation", res);
		return;
	}
	o = auth_json(res);
	if (o == NULL || (cluster = auth_json_str(o, "twf.clusterUrl")) == NULL ||
	    (strncmp(cluster, "http://", 7) != 0 && strncmp(cluster, "https://", 8) != 0)) {
		json_object_put(o);
		auth_refresh_failed(a, TF_ERR_PROTOCOL,
		    "token validation: no usable twf.clusterUrl in the answer");
		return;
	}
	a->new_cluster = xstrdup(cluster);
	n = strlen(a->new_cluster);
	while (n > 0 && a->new_cluster[n - 1] == '/')
		a->new_cluster[--n] = '\0';
	if ((exp = auth_json_num(o, "exp")) > 0)
		a->new_exp_ms = (uint64_t)exp * 1000;
	json_object_put(o);
	auth_store(a);
}

static void
auth_validate(struct tf_auth *a)
{
	struct httpc_req	 req;
	struct kb_err		 err;
	char			*esc, *url;

	esc = curl_easy_escape(NULL, a->new_token, 0);
	url = xasprintf("%s/auth/authentication/connect/accesstokenvalidation?token=%s",
	    a->login_url, esc != NULL ? esc : "");
	curl_free(esc);
	memset(&req, 0, sizeof req);
	req.url = url;
	req.timeout_ms = a->timeout_ms;
	req.connect_timeout_ms = a->timeout_ms;
	req.max_body = AUTH_MAX_BODY;
	a->step = AUTH_VALIDATE;
	if (httpc_start(a->http, &req, auth_validated, a, &err) == -1)
		auth_refresh_failed(a, TF_ERR_NETWORK, err.msg);
	free(url);
}

static void
auth_token_answer(const struct httpc_res *res, void *arg)
{
	struct tf_auth		*a = arg;
	struct json_object	*o;
	const char		*tok, *rt;
	const char		*argv[3];
	size_t			 lens[3];
	long long		 ttl;

	if (*a->closing)
		return;
	if (res->code != CURLE_OK || res->status != 200) {
		auth_http_error(a, "token refresh", res);
		return;
	}
	o = auth_json(res);
	if (o == NULL || (tok = auth_json_str(o, "access_token")) == NULL || *tok == '\0') {
		json_object_put(o);
		auth_refresh_failed(a, TF_ERR_PROTOCOL, "token refresh: no access_token in answer");
		return;
	}
	a->stats->token_refreshes++;
	a->new_token = xstrdup(tok);
	ttl = auth_json_num(o, "expires_in");
	a->new_ttl_s = ttl > 0 && ttl < 86400 * 365 ? (long)ttl : AUTH_DEFAULT_TTL_S;
	rt = auth_json_str(o, "refresh_token");
	if (rt != NULL && *rt != '\0' && strcmp(rt, a->used_refresh) != 0) {
		/* Twinfield rotated the refresh token: every process must use the new one. */
		a->new_refresh = xstrdup(rt);
		argv[0] = "SET";
		argv[1] = a->key_refresh;
		argv[2] = a->new_refresh;
		lens[0] = 3;
		lens[1] = strlen(argv[1]);
		lens[2] = strlen(argv[2]);
		tf_redis_fire(a->redis, a->redis_pending, 3, argv, lens);
		if (a->cfg->refresh_token_cb != NULL)
			a->cfg->refresh_token_cb(a->new_refresh, a->cfg->refresh_token_arg);
	}
	json_object_put(o);
	if (a->cluster_url != NULL)
		auth_store(a);
	else
		auth_validate(a);
}

static void
auth_post_token(struct tf_auth *a)
{
	struct httpc_req	 req;
	struct kb_err		 err;
	char			*esc, *url;

	esc = curl_easy_escape(NULL, a->used_refresh, 0);
	memset(&req, 0, sizeof req);
	req.body = xasprintf("grant_type=refresh_token&refresh_token=%s", esc != NULL ? esc : "");
	req.body_len = strlen(req.body);
	curl_free(esc);
	req.headers = curl_slist_append(NULL,
	    "Content-Type: application/x-www-form-urlencoded");
	req.headers = curl_slist_append(req.headers, "Accept: application/json");
	url = xasprintf("%s/auth/authentication/connect/token", a->login_url);
	req.url = url;
	req.user = a->client_id;
	req.password = a->client_secret;
	req.timeout_ms = a->timeout_ms;
	req.connect_timeout_ms = a->timeout_ms;
	req.max_body = AUTH_MAX_BODY;
	a->step = AUTH_TOKEN;
	if (httpc_start(a->http, &req, auth_token_answer, a, &err) == -1) {
		curl_slist_free_all(req.headers);
		free(req.body);
		auth_refresh_failed(a, TF_ERR_NETWORK, err.msg);
	}
	free(url);
}

static void
auth_refresh_read(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct tf_auth	*a = arg;

	if (*a->closing)
		return;
	if (reply == NULL || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
		auth_unlock(a);
		auth_redis_failed(a, reply);
		return;
	}
	/* The rotated token beats the configured one, which may be dead by now. */
	free(a->used_refresh);
	a->used_refresh = xstrdup(reply->type == REDIS_REPLY_STRING && reply->len > 0 ?
	    reply->str : a->refresh_token);
	auth_post_token(a);
}

static void
auth_locked(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct tf_auth	*a = arg;
	const char	*argv[2];
	size_t		 lens[2];
	char		 msg[128];

	if (*a->closing)
		return;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		auth_redis_failed(a, reply);
		return;
	}
	if (reply->type == REDIS_REPLY_STATUS) {
		/* The lock is ours: refresh. */
		a->wait_since = 0;
		argv[0] = "GET";
		argv[1] = a->key_refresh;
		lens[0] = 3;
		lens[1] = strlen(argv[1]);
		a->step = AUTH_READ_REFRESH;
		kb_redis_command_argv(a->redis, auth_refresh_read, a, 2, argv, lens);
		return;
	}
	/* Another process refreshes. Requests that can go on the old token did already. */
	if (TAILQ_EMPTY(&a->waiters)) {
		auth_done(a, TF_OK, "");
		return;
	}
	if (a->wait_since == 0)
		a->wait_since = tf_now_ms();
	if (tf_now_ms() - a->wait_since > (uint64_t)AUTH_WAIT_MAX_MS(a)) {
		snprintf(msg, sizeof msg, "token: no new token after %ld s waiting for another "
		    "process to refresh it", AUTH_WAIT_MAX_MS(a) / 1000);
		auth_done(a, TF_ERR_TOKEN, msg);
		return;
	}
	auth_timer(a, AUTH_POLLING, AUTH_POLL_MS);
}

static void
auth_lock(struct tf_auth *a)
{
	const char	*argv[6];
	size_t		 lens[6];
	char		 px[24];
	int		 i;

	snprintf(a->lockval + strcspn(a->lockval, "#"), sizeof a->lockval -
	    strcspn(a->lockval, "#"), "#%" PRIu64, ++a->lock_seq);
	argv[0] = "SET";
	argv[1] = a->key_lock;
	argv[2] = a->lockval;
	argv[3] = "NX";
	argv[4] = "PX";
	snprintf(px, sizeof px, "%ld", AUTH_LOCK_MS(a));
	argv[5] = px;
	for (i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	a->step = AUTH_LOCKING;
	kb_redis_command_argv(a->redis, auth_locked, a, 6, argv, lens);
}

static uint64_t
auth_field_u64(const char *s)
{
	char			*end;
	unsigned long long	 v;

	v = strtoull(s, &end, 10);
	return (end == s || *end != '\0' ? 0 : (uint64_t)v);
}

static void
auth_loaded(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct tf_auth	*a = arg;
	const char	*tok = NULL, *clu = NULL, *f, *v;
	uint64_t	 ra = 0, ea = 0, now;
	size_t		 i;

	if (*a->closing)
		return;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		auth_redis_failed(a, reply);
		return;
	}
	for (i = 0; i + 1 < reply->elements; i += 2) {
		if (reply->element[i]->type != REDIS_REPLY_STRING ||
		    reply->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		f = reply->element[i]->str;
		v = reply->element[i + 1]->str;
		if (strcmp(f, "access_token") == 0)
			tok = v;
		else if (strcmp(f, "cluster_url") == 0)
			clu = v;
		else if (strcmp(f, "refresh_at") == 0)
			ra = auth_field_u64(v);
		else if (strcmp(f, "expires_at") == 0)
			ea = auth_field_u64(v);
	}
	now = tf_now_ms();
	if (tok != NULL && clu != NULL && *tok != '\0' && now < ea) {
		if (a->token == NULL || strcmp(a->token, tok) != 0 || ra > a->refresh_at)
			auth_adopt(a, tok, clu, ra, ea);
		if (now < a->refresh_at) {
			auth_done(a, TF_OK, "");
			return;
		}
		/* Usable but due for refresh: waiters go now, we try to refresh. */
		auth_flush(a, TF_OK, "");
	}
	auth_lock(a);
}

static void
auth_load(struct tf_auth *a)
{
	const char	*argv[2];
	size_t		 lens[2];

	argv[0] = "HGETALL";
	argv[1] = a->key_token;
	lens[0] = 7;
	lens[1] = strlen(argv[1]);
	a->step = AUTH_LOADING;
	kb_redis_command_argv(a->redis, auth_loaded, a, 2, argv, lens);
}

struct tf_auth_wait *
tf_auth_get(struct tf_auth *a, tf_auth_cb *cb, void *arg)
{
	struct tf_auth_wait	*w;
	uint64_t		 now;
	char			*tok, *clu;

	now = tf_now_ms();
	if (auth_usable(a, now)) {
		if (now >= a->refresh_at && a->step == AUTH_IDLE)
			auth_load(a);
		if (auth_usable(a, now)) {
			tok = xstrdup(a->token);
			clu = xstrdup(a->cluster);
			cb(TF_OK, "", tok, clu, arg);
			free(tok);
			free(clu);
			return (NULL);
		}
	}
	w = xcalloc(1, sizeof *w);
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&a->waiters, w, entry);
	if (a->step == AUTH_IDLE)
		auth_load(a);
	return (w);
}

void
tf_auth_cancel(struct tf_auth *a, struct tf_auth_wait *w)
{
	struct tf_auth_wait	*x;

	TAILQ_FOREACH(x, &a->waiters, entry) {
		if (x == w) {
			TAILQ_REMOVE(&a->waiters, w, entry);
			free(w);
			return;
		}
	}
}

void
tf_auth_invalidate(struct tf_auth *a, const char *token)
{
	const char	*args[2];
	size_t		 lens[2];

	if (a->token != NULL && strcmp(a->token, token) == 0) {
		free(a->token);
		a->token = NULL;
		a->refresh_at = a->expires_at = 0;
	}
	args[0] = a->key_token;
	args[1] = token;
	lens[0] = strlen(args[0]);
	lens[1] = strlen(args[1]);
	tf_redis_fire_eval(a->redis, a->redis_pending, auth_invalidate_lua, 1, 2, args, lens);
}

int
tf_auth_busy(const struct tf_auth *a)
{
	return (a->step != AUTH_IDLE);
}

struct tf_auth *
tf_auth_new(const struct tf_auth_params *p)
{
	struct tf_auth	*a;
	char		 host[64];

	a = xcalloc(1, sizeof *a);
	a->base = p->base;
	a->redis = p->redis;
	a->http = p->http;
	a->cfg = p->cfg;
	a->login_url = xstrdup(p->login_url);
	a->client_id = xstrdup(p->client_id);
	a->client_secret = xstrdup(p->client_secret);
	a->refresh_token = xstrdup(p->refresh_token);
	a->cluster_url = p->cluster_url != NULL ? xstrdup(p->cluster_url) : NULL;
	a->key_token = xstrdup(p->key_token);
	a->key_refresh = xstrdup(p->key_refresh);
	a->key_lock = xstrdup(p->key_lock);
	a->timeout_ms = p->timeout_ms;
	a->stats = p->stats;
	a->closing = p->closing;
	a->redis_pending = p->redis_pending;
	TAILQ_INIT(&a->waiters);
	a->timer = evtimer_new(p->base, auth_timer_cb, a);
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "host");
	host[sizeof host - 1] = '\0';
	host[strcspn(host, "#")] = '\0';
	snprintf(a->lockval, sizeof a->lockval, "%.40s:%ld#0", host, (long)getpid());
	return (a);
}

void
tf_auth_free(struct tf_auth *a)
{
	if (a == NULL)
		return;
	auth_flush(a, TF_ERR_CANCELLED, "client shut down");
	event_free(a->timer);
	auth_clear_refresh(a);
	free(a->token);
	free(a->cluster);
	free(a->login_url);
	free(a->client_id);
	free(a->client_secret);
	free(a->refresh_token);
	free(a->cluster_url);
	free(a->key_token);
	free(a->key_refresh);
	free(a->key_lock);
	free(a);
}
