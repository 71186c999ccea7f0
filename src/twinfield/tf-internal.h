/*
 * Internals of the Twinfield client shared by its files: the OAuth2 token
 * cache (tf-auth.c) and the Redis throttle (tf-throttle.c); HTTP is the
 * shared curl_multi glue (kassaboek/httpc.h). tf-client.c ties them together.
 */
#ifndef KASSABOEK_TF_INTERNAL_H
#define KASSABOEK_TF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "kassaboek/err.h"
#include "kassaboek/httpc.h"
#include "kassaboek/redis.h"
#include "kassaboek/tf.h"

/* Wall-clock milliseconds: shared across processes through Redis. */
static inline uint64_t
tf_now_ms(void)
{
	return (httpc_now_ms());
}

/* ---- tf-redis.c: counted fire-and-forget commands (see tf_client_shutdown) */

void	tf_redis_fire(struct kb_redis *r, unsigned *pending, int argc, const char **argv,
	    const size_t *lens);
void	tf_redis_fire_eval(struct kb_redis *r, unsigned *pending, const char *script, int nkeys,
	    int nargs, const char **args, const size_t *lens);

/* ---- tf-auth.c: token + cluster URL, shared through Redis */

struct tf_auth;

struct tf_auth_params {
	struct event_base	*base;
	struct kb_redis		*redis;
	struct httpc		*http;
	const struct tf_config	*cfg;		/* for the callback only */
	const char		*login_url;	/* without trailing '/' */
	const char		*client_id;
	const char		*client_secret;
	const char		*refresh_token;
	const char		*cluster_url;	/* NULL = discover */
	const char		*key_token;	/* {kb}:tf:token:<org> */
	const char		*key_refresh;	/* {kb}:tf:refresh:<org> */
	const char		*key_lock;	/* {kb}:tf:tokenlock:<org> */
	long			 timeout_ms;
	struct tf_stats		*stats;
	const int		*closing;	/* set while the client is freed */
	unsigned		*redis_pending;	/* fire-and-forget commands in flight */
};

/* token and cluster are borrowed for the call; on error kind != TF_OK and msg says why. */
typedef void tf_auth_cb(enum tf_err_kind kind, const char *msg, const char *token,
    const char *cluster, void *arg);

struct tf_auth	*tf_auth_new(const struct tf_auth_params *p);
/* Pending waiters are called with TF_ERR_CANCELLED. */
void		 tf_auth_free(struct tf_auth *a);
/*
 * Calls cb with a usable token: at once when one is cached in memory, else
 * after reading Redis or refreshing. A handle lets the caller cancel.
 */
struct tf_auth_wait;
struct tf_auth_wait	*tf_auth_get(struct tf_auth *a, tf_auth_cb *cb, void *arg);
void			 tf_auth_cancel(struct tf_auth *a, struct tf_auth_wait *w);
/* Twinfield refused token (401, fault 354/103): forget it here and in Redis. */
void		 tf_auth_invalidate(struct tf_auth *a, const char *token);
/* 1 while a load or refresh is under way (it holds or polls the Redis lock). */
int		 tf_auth_busy(const struct tf_auth *a);

/* ---- tf-throttle.c: credits + concurrency per organisation, in Redis */

struct tf_throttle;

struct tf_throttle_wait {
	unsigned			 cost;
	char				 lease[64];	/* set by the throttle when granted */
	void				(*cb)(struct tf_throttle_wait *w, enum tf_err_kind kind,
					    const char *msg);
	void				*arg;
	uint64_t			 since_ms;
	TAILQ_ENTRY(tf_throttle_wait)	 entry;
	int				 queued;
};

struct tf_throttle_params {
	struct event_base	*base;
	struct kb_redis		*redis;
	const char		*key_credits;	/* {kb}:tf:credits:<org> */
	const char		*key_slots;	/* {kb}:tf:slots:<org> */
	const char		*key_pause;	/* {kb}:tf:pause:<org> */
	unsigned		 credits_per_minute;	/* 0 = off */
	unsigned		 max_concurrency;	/* 0 = off */
	unsigned		 window_ms;		/* 60 s + slack */
	unsigned		 lease_ms;		/* slot lease life */
	struct tf_stats		*stats;
	const int		*closing;	/* set while the client is freed */
	unsigned		*redis_pending;	/* fire-and-forget commands in flight */
};

struct tf_throttle	*tf_throttle_new(const struct tf_throttle_params *p);
/* Queued waiters are called with TF_ERR_CANCELLED. */
void			 tf_throttle_free(struct tf_throttle *t);
/*
 * Queues w (its cost and cb set); cb runs once with TF_OK when the credits
 * and a concurrency slot are granted (w->lease names the slot), or with an
 * error. Never calls cb before returning.
 */
void			 tf_throttle_acquire(struct tf_throttle *t, struct tf_throttle_wait *w);
/* Takes w out of the queue if still there (cb will not run). */
void			 tf_throttle_cancel(struct tf_throttle *t, struct tf_throttle_wait *w);
/* Completes every queued waiter with TF_ERR_CANCELLED. */
void			 tf_throttle_cancel_all(struct tf_throttle *t);
/* Gives the slot of a granted request back. */
void			 tf_throttle_release(struct tf_throttle *t, const char *lease);
unsigned		 tf_throttle_queued(const struct tf_throttle *t);
/* A 429 arrived: grant nothing, here and in every process, for ms. */
void			 tf_throttle_pause(struct tf_throttle *t, long ms);

/* The Lua script (exposed for the unit test of its arithmetic). */
extern const char	tf_throttle_lua[];

#endif
