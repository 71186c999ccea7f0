#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/sha.h>

#include "kassaboek/log.h"
#include "kassaboek/redis.h"
#include "kassaboek/units.h"
#include "kassaboek/xmalloc.h"

#define REDIS_RECONNECT_MIN_MS	100
#define REDIS_RECONNECT_MAX_MS	2000
#define REDIS_MAX_ARGS		64
#define REDIS_MAX_SCRIPTS	32

/* A Lua script run by SHA; loaded on every (re)connection before any command. */
struct redis_script {
	const char	*src;		/* borrowed: static text */
	char		 sha[2 * SHA_DIGEST_LENGTH + 1];
};

struct kb_redis {
	struct event_base	*base;
	struct kb_redis_url	 url;
	char			*name;
	redisAsyncContext	*ac;
	int			 connected;	/* connect callback said OK */
	uint64_t		 connect_timeout_ms;
	uint64_t		 command_timeout_ms;
	uint64_t		 backoff_ms;
	struct event		*reconnect_ev;	/* backoff before the next attempt */
	struct event		*connect_to_ev;	/* connect deadline */
	struct event		*deadline_ev;	/* oldest pending command's deadline */
	struct redis_script	 scripts[REDIS_MAX_SCRIPTS];
	int			 nscripts;
	struct redis_cmd	*pending;	/* commands awaiting a reply, oldest first */
	struct redis_cmd	*pending_tail;
};

/* One command in flight: completes exactly once, by reply, timeout or disconnect. */
struct redis_cmd {
	struct kb_redis		*r;
	kb_redis_cb		 cb;
	void			*arg;
	int			 done;		/* user callback already ran */
	uint64_t		 deadline_ms;
	struct redis_cmd	*next, *prev;
};

static void	redis_connect(struct kb_redis *r);
static void	redis_teardown(struct kb_redis *r, const char *why);

static uint64_t
redis_now_ms(struct kb_redis *r)
{
	struct timeval	tv;

	event_base_gettimeofday_cached(r->base, &tv);
	return ((uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000);
}

int
kb_redis_url_parse(const char *url, struct kb_redis_url *out, struct kb_err *err)
{
	CURLU		*h;
	char		*scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL,
			*pass = NULL, *query = NULL;
	long long	 db = 0;
	int		 rc = -1;

	memset(out, 0, sizeof *out);
	/*
	 * unix:///path[?db=N] is read by hand: curl's parser takes the first
	 * path segment of an unknown scheme's "///" URL for a host name.
	 */
	if (strncasecmp(url, "unix://", 7) == 0) {
		const char	*p = url + 7, *q = strchr(p, '?');
		size_t		 len = q != NULL ? (size_t)(q - p) : strlen(p);

		if (len == 0 || p[0] != '/' || len >= 108)
			return (kb_err_set(err, "unix:// URL needs an absolute socket path (unix:///run/redis.sock)"));
		if (q != NULL && (strncmp(q + 1, "db=", 3) != 0 || kb_parse_int(q + 4, 0, 1000, &db, err) == -1))
			return (kb_err_set(err, "unix:// URL: the only parameter is ?db=N"));
		out->path = xstrndup(p, len);
		out->db = (int)db;
		return (0);
	}
	if ((h = curl_url()) == NULL)
		return (kb_err_set(err, "out of memory"));
	if (curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		kb_err_set(err, "'%s' is not a URL", url);
		goto out;
	}
	curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(h, CURLUPART_HOST, &host, 0);
	curl_url_get(h, CURLUPART_PORT, &port, 0);
	curl_url_get(h, CURLUPART_PATH, &path, CURLU_URLDECODE);
	curl_url_get(h, CURLUPART_USER, &user, CURLU_URLDECODE);
	curl_url_get(h, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE);
	curl_url_get(h, CURLUPART_QUERY, &query, 0);
	if (scheme != NULL && strcasecmp(scheme, "redis") == 0) {
		if (host == NULL || host[0] == '\0') {
			kb_err_set(err, "redis:// URL needs a host");
			goto out;
		}
		out->host = xstrdup(host);
		out->port = 6379;
		if (port != NULL && kb_parse_int(port, 1, 65535, &db, err) == 0)
			out->port = (int)db;
		db = 0;
		if (path != NULL && path[0] == '/' && path[1] != '\0' &&
		    kb_parse_int(path + 1, 0, 1000, &db, err) == -1) {
			kb_err_set(err, "redis:// URL path must be a database number");
			goto out;
		}
	} else {
		kb_err_set(err, "'%s': scheme must be redis:// or unix://", url);
		goto out;
	}
	out->db = (int)db;
	if (user != NULL && user[0] != '\0')
		out->user = xstrdup(user);
	if (pass != NULL && pass[0] != '\0')
		out->password = xstrdup(pass);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(user);
	curl_free(pass);
	curl_free(query);
	curl_url_cleanup(h);
	if (rc == -1)
		kb_redis_url_clear(out);
	return (rc);
}

void
kb_redis_url_clear(struct kb_redis_url *u)
{
	free(u->host);
	free(u->path);
	free(u->user);
	free(u->password);
	memset(u, 0, sizeof *u);
}

static void
redis_cmd_unlink(struct kb_redis *r, struct redis_cmd *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		r->pending = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		r->pending_tail = c->prev;
	c->next = c->prev = NULL;
}

static void
redis_cmd_free(struct redis_cmd *c)
{
	free(c);
}

/* Runs the user callback once; the struct itself is freed by redis_reply_cb. */
static void
redis_cmd_complete(struct redis_cmd *c, redisReply *reply)
{
	if (c->done)
		return;
	c->done = 1;
	c->cb(c->r, reply, c->arg);
}

static void	redis_load_scripts(struct kb_redis *r);

static void
redis_reply_cb(redisAsyncContext *ac, void *reply_, void *privdata)
{
	struct redis_cmd	*c = privdata;
	struct kb_redis		*r = c->r;
	redisReply		*reply = reply_;

	/*
	 * NOSCRIPT: someone flushed the script cache while we were connected.
	 * This command fails (its caller retries); the scripts are loaded again.
	 */
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0 &&
	    r->ac == ac) {
		kb_warn("redis %s: script cache was flushed; loading the scripts again", r->name);
		redis_load_scripts(r);
	}
	redis_cmd_unlink(r, c);
	redis_cmd_complete(c, reply);
	redis_cmd_free(c);
	if (r->pending == NULL)
		event_del(r->deadline_ev);
}

static int
redis_send(struct kb_redis *r, struct redis_cmd *c, int argc, const char **argv, const size_t *argvlen)
{
	if (r->ac == NULL || !r->connected)
		return (-1);
	if (redisAsyncCommandArgv(r->ac, redis_reply_cb, c, argc, argv, argvlen) != REDIS_OK)
		return (-1);
	return (0);
}

/*
 * Replies come in order, so only the oldest pending command's deadline
 * matters. A stuck connection is torn down so every waiter hears at once.
 */
static void
redis_deadline_arm(struct kb_redis *r)
{
	struct timeval	tv;
	uint64_t	now, wait;

	if (r->pending == NULL) {
		event_del(r->deadline_ev);
		return;
	}
	now = redis_now_ms(r);
	wait = r->pending->deadline_ms > now ? r->pending->deadline_ms - now : 0;
	tv = kb_timeval_ms(wait);
	event_add(r->deadline_ev, &tv);
}

static void
redis_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_redis	*r = arg;

	event_base_update_cache_time(r->base);
	if (r->pending != NULL && redis_now_ms(r) >= r->pending->deadline_ms)
		redis_teardown(r, "command timed out");
	else
		redis_deadline_arm(r);
}

static void
redis_schedule_reconnect(struct kb_redis *r)
{
	struct timeval	tv;

	tv = kb_timeval_ms(r->backoff_ms);
	event_add(r->reconnect_ev, &tv);
	r->backoff_ms *= 2;
	if (r->backoff_ms > REDIS_RECONNECT_MAX_MS)
		r->backoff_ms = REDIS_RECONNECT_MAX_MS;
}

static void
redis_connect_cb(const redisAsyncContext *ac, int status)
{
	struct kb_redis	*r = ac->data;

	if (r == NULL)
		return;
	event_del(r->connect_to_ev);
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		kb_warn("redis %s: connect failed: %s", r->name, ac->errstr);
		r->ac = NULL;
		redis_schedule_reconnect(r);
		return;
	}
	r->connected = 1;
	r->backoff_ms = REDIS_RECONNECT_MIN_MS;
	kb_info("redis %s: connected", r->name);
}

static void
redis_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct kb_redis	*r = ac->data;

	if (r == NULL)
		return;
	if (status != REDIS_OK)
		kb_warn("redis %s: connection lost: %s", r->name, ac->errstr);
	r->connected = 0;
	if (r->ac == ac) {
		r->ac = NULL;
		redis_schedule_reconnect(r);
	}
}

static void
redis_auth_select(struct kb_redis *r)
{
	const char	*argv[3];
	char		 db[16];
	int		 argc = 0;

	/* Queued before the connect completes; hiredis sends them first, in order. */
	if (r->url.password != NULL) {
		argv[argc++] = "AUTH";
		if (r->url.user != NULL)
			argv[argc++] = r->url.user;
		argv[argc++] = r->url.password;
		redisAsyncCommandArgv(r->ac, NULL, NULL, argc, argv, NULL);
	}
	if (r->url.db != 0) {
		snprintf(db, sizeof db, "%d", r->url.db);
		argv[0] = "SELECT";
		argv[1] = db;
		redisAsyncCommandArgv(r->ac, NULL, NULL, 2, argv, NULL);
	}
}

/* Queues SCRIPT LOAD for every known script; replies are not needed (errors surface as NOSCRIPT). */
static void
redis_load_scripts(struct kb_redis *r)
{
	const char	*argv[3] = { "SCRIPT", "LOAD", NULL };
	int		 i;

	for (i = 0; i < r->nscripts; i++) {
		argv[2] = r->scripts[i].src;
		redisAsyncCommandArgv(r->ac, NULL, NULL, 3, argv, NULL);
	}
}

static void
redis_connect(struct kb_redis *r)
{
	struct timeval	tv;

	if (r->url.path != NULL)
		r->ac = redisAsyncConnectUnix(r->url.path);
	else
		r->ac = redisAsyncConnect(r->url.host, r->url.port);
	if (r->ac == NULL || r->ac->err) {
		kb_warn("redis %s: cannot connect: %s", r->name, r->ac ? r->ac->errstr : "out of memory");
		if (r->ac != NULL)
			redisAsyncFree(r->ac);
		r->ac = NULL;
		redis_schedule_reconnect(r);
		return;
	}
	r->ac->data = r;
	redisLibeventAttach(r->ac, r->base);
	redisAsyncSetConnectCallback(r->ac, redis_connect_cb);
	redisAsyncSetDisconnectCallback(r->ac, redis_disconnect_cb);
	redis_auth_select(r);
	redis_load_scripts(r);
	tv = kb_timeval_ms(r->connect_timeout_ms);
	event_add(r->connect_to_ev, &tv);
}

/*
 * Drops the connection: pending commands complete with NULL now (not when
 * hiredis gets round to it), then a reconnect is scheduled.
 */
static void
redis_teardown(struct kb_redis *r, const char *why)
{
	struct redis_cmd	*c;
	redisAsyncContext	*ac = r->ac;

	kb_warn("redis %s: %s; reconnecting", r->name, why);
	for (c = r->pending; c != NULL; c = c->next)
		redis_cmd_complete(c, NULL);
	r->connected = 0;
	if (ac != NULL) {
		r->ac = NULL;
		ac->data = NULL;	/* our disconnect callback must not reschedule */
		redisAsyncFree(ac);	/* runs redis_reply_cb(NULL) for each pending command */
	}
	event_del(r->connect_to_ev);
	event_del(r->deadline_ev);
	if (!event_pending(r->reconnect_ev, EV_TIMEOUT, NULL))
		redis_schedule_reconnect(r);
}

static void
redis_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	redis_connect(arg);
}

static void
redis_connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_redis	*r = arg;

	if (!r->connected)
		redis_teardown(r, "connect timed out");
}

struct kb_redis *
kb_redis_new(struct event_base *base, const char *url, const char *name, uint64_t connect_timeout_ms,
    uint64_t command_timeout_ms, struct kb_err *err)
{
	struct kb_redis	*r;

	r = xcalloc(1, sizeof *r);
	if (kb_redis_url_parse(url, &r->url, err) == -1) {
		free(r);
		return (NULL);
	}
	r->base = base;
	r->name = xstrdup(name);
	r->connect_timeout_ms = connect_timeout_ms;
	r->command_timeout_ms = command_timeout_ms;
	r->backoff_ms = REDIS_RECONNECT_MIN_MS;
	r->reconnect_ev = evtimer_new(base, redis_reconnect_cb, r);
	r->connect_to_ev = evtimer_new(base, redis_connect_timeout_cb, r);
	r->deadline_ev = evtimer_new(base, redis_deadline_cb, r);
	redis_connect(r);
	return (r);
}

void
kb_redis_free(struct kb_redis *r)
{
	struct redis_cmd	*c;

	if (r == NULL)
		return;
	for (c = r->pending; c != NULL; c = c->next)
		redis_cmd_complete(c, NULL);
	if (r->ac != NULL) {
		r->ac->data = NULL;
		redisAsyncFree(r->ac);
	}
	event_free(r->reconnect_ev);
	event_free(r->connect_to_ev);
	event_free(r->deadline_ev);
	kb_redis_url_clear(&r->url);
	free(r->name);
	free(r);
}

int
kb_redis_connected(const struct kb_redis *r)
{
	return (r->connected);
}

static struct redis_cmd *
redis_cmd_new(struct kb_redis *r, kb_redis_cb cb, void *arg, uint64_t timeout_ms)
{
	struct redis_cmd	*c;

	c = xcalloc(1, sizeof *c);
	c->r = r;
	c->cb = cb;
	c->arg = arg;
	c->deadline_ms = redis_now_ms(r) + timeout_ms;
	return (c);
}

static void
redis_cmd_link(struct kb_redis *r, struct redis_cmd *c)
{
	c->prev = r->pending_tail;
	if (r->pending_tail != NULL)
		r->pending_tail->next = c;
	else
		r->pending = c;
	r->pending_tail = c;
}

static int
redis_dispatch(struct kb_redis *r, struct redis_cmd *c, int argc, const char **argv, const size_t *argvlen)
{
	if (redis_send(r, c, argc, argv, argvlen) == -1) {
		redis_cmd_complete(c, NULL);
		redis_cmd_free(c);
		return (0);
	}
	redis_cmd_link(r, c);
	if (c == r->pending)
		redis_deadline_arm(r);
	return (0);
}

int
kb_redis_command_argv(struct kb_redis *r, kb_redis_cb cb, void *arg, int argc, const char **argv,
    const size_t *argvlen)
{
	return (redis_dispatch(r, redis_cmd_new(r, cb, arg, r->command_timeout_ms), argc, argv, argvlen));
}

int
kb_redis_command_argv_timeout(struct kb_redis *r, uint64_t timeout_ms, kb_redis_cb cb, void *arg,
    int argc, const char **argv, const size_t *argvlen)
{
	return (redis_dispatch(r, redis_cmd_new(r, cb, arg, timeout_ms), argc, argv, argvlen));
}

/* The script's entry, registering it (and loading it now, if connected) on first use. */
static const struct redis_script *
redis_script_get(struct kb_redis *r, const char *src)
{
	struct redis_script	*sc;
	unsigned char		 digest[SHA_DIGEST_LENGTH];
	const char		*argv[3] = { "SCRIPT", "LOAD", src };
	int			 i;

	for (i = 0; i < r->nscripts; i++)
		if (r->scripts[i].src == src)
			return (&r->scripts[i]);
	if (r->nscripts == REDIS_MAX_SCRIPTS)
		abort();	/* a programming error: raise REDIS_MAX_SCRIPTS */
	sc = &r->scripts[r->nscripts++];
	sc->src = src;
	SHA1((const unsigned char *)src, strlen(src), digest);
	for (i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(sc->sha + 2 * i, 3, "%02x", digest[i]);
	/* Pipelined ahead of the EVALSHA that follows, so Redis knows the script in time. */
	if (r->ac != NULL && r->connected)
		redisAsyncCommandArgv(r->ac, NULL, NULL, 3, argv, NULL);
	return (sc);
}

int
kb_redis_eval(struct kb_redis *r, const char *script, kb_redis_cb cb, void *arg, int nkeys, int nargs,
    const char **args, const size_t *argslen)
{
	const struct redis_script	*sc;
	const char			*argv_buf[REDIS_MAX_ARGS], **argv = argv_buf;
	size_t				 argvlen_buf[REDIS_MAX_ARGS], *argvlen = argvlen_buf;
	char				 nk[16];
	int				 i, rc;

	/* Long argument lists (a worker's in-flight ids) go on the heap. */
	if (nargs < 0 || nargs > INT_MAX - 3)
		abort();
	if (nargs + 3 > REDIS_MAX_ARGS) {
		argv = xcalloc((size_t)nargs + 3, sizeof *argv);
		argvlen = xcalloc((size_t)nargs + 3, sizeof *argvlen);
	}
	sc = redis_script_get(r, script);
	snprintf(nk, sizeof nk, "%d", nkeys);
	argv[0] = "EVALSHA";
	argvlen[0] = 7;
	argv[1] = sc->sha;
	argvlen[1] = strlen(sc->sha);
	argv[2] = nk;
	argvlen[2] = strlen(nk);
	for (i = 0; i < nargs; i++) {
		argv[i + 3] = args[i];
		argvlen[i + 3] = argslen[i];
	}
	rc = kb_redis_command_argv(r, cb, arg, nargs + 3, argv, argvlen);
	if (argv != argv_buf) {
		free(argv);
		free(argvlen);
	}
	return (rc);
}
