/*
 * The client-side throttle: per Twinfield organisation a credit budget
 * (credits_per_minute, sliding 60 s window) and a concurrency cap
 * (max_concurrency), shared by every process through one atomic Lua script
 * in Redis. Keys carry the installation's hash tag ({kb}:tf:credits:<org>,
 * {kb}:tf:slots:<org>) so the script also runs on Redis Cluster.
 *
 * Why a sliding window log and not a token bucket: a bucket of C credits
 * refilled at C/min lets 2C through in some 60 s window (a full bucket plus
 * a minute of refill), and Twinfield counts per minute. The log (a zset of
 * grants scored by time) never lets more than C into any window. The window
 * is 60 s plus window_slack so a request granted at the end of one window
 * and delivered a little later cannot land inside the next one.
 *
 * Concurrency slots are leases in a zset scored by their deadline: a
 * request releases its slot when it completes, and a process that dies
 * loses its slots when the lease runs out.
 *
 * Requests that cannot go now wait in a local FIFO; only its head asks
 * Redis, and when refused it sleeps for the time the script computed (the
 * moment enough credits leave the window), so nothing is sent into a 429.
 *
 * A 429 that comes anyway (another client of the organisation, a smaller
 * budget at Twinfield) pauses every process: {kb}:tf:pause:<org> is set for
 * the Retry-After time and the script refuses grants while it exists.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "kassaboek/xmalloc.h"
#include "kassaboek/units.h"
#include "tf-internal.h"

/* Polling bound while another process holds the concurrency slots. */
#define THROTTLE_SLOT_POLL_MS	25
#define THROTTLE_MAX_WAIT_MS	5000
/* Redis not (yet) reachable: retry this long before failing the head. */
#define THROTTLE_REDIS_RETRY_MS	100
#define THROTTLE_REDIS_GIVEUP_MS 3000

/*
 * KEYS[1] credit log (zset member "<cost>:<lease>", score grant time ms)
 * KEYS[2] slot leases (zset member lease, score deadline ms)
 * KEYS[3] pause flag set after a 429 (PX = Retry-After)
 * ARGV cost, budget (0 = off), window_ms, max_concurrency (0 = off),
 *      lease id, lease_ms
 * Returns {1, 0} granted, or {0, wait_ms, reason}.
 * The time is Redis's own (TIME), the same for every process.
 */
const char tf_throttle_lua[] =
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
"local cost = tonumber(ARGV[1])\n"
"local budget = tonumber(ARGV[2])\n"
"local window = tonumber(ARGV[3])\n"
"local maxc = tonumber(ARGV[4])\n"
"local id = ARGV[5]\n"
"local lease = tonumber(ARGV[6])\n"
"local pause = redis.call('PTTL', KEYS[3])\n"
"if pause > 0 then return {0, pause, 'paused'} end\n"
"if maxc > 0 then\n"
"  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n"
"  if redis.call('ZCARD', KEYS[2]) >= maxc then\n"
"    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
"    return {0, math.max(1, tonumber(first[2]) - now), 'concurrency'}\n"
"  end\n"
"end\n"
"if budget > 0 then\n"
"  if cost > budget then return {-1, 0, 'cost over budget'} end\n"
"  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)\n"
"  local log = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')\n"
"  local used = 0\n"
"  for i = 1, #log, 2 do\n"
"    used = used + tonumber(string.match(log[i], '^(%d+):'))\n"
"  end\n"
"  if used + cost > budget then\n"
"    local need = used + cost - budget\n"
"    local freed = 0\n"
"    for i = 1, #log, 2 do\n"
"      freed = freed + tonumber(string.match(log[i], '^(%d+):'))\n"
"      if freed >= need then\n"
"        return {0, math.max(1, tonumber(log[i + 1]) + window - now + 1), 'credits'}\n"
"      end\n"
"    end\n"
"    return {0, window, 'credits'}\n"
"  end\n"
"  redis.call('ZADD', KEYS[1], now, cost .. ':' .. id)\n"
"  redis.call('PEXPIRE', KEYS[1], window + 1000)\n"
"end\n"
"if maxc > 0 then\n"
"  redis.call('ZADD', KEYS[2], now + lease, id)\n"
"  redis.call('PEXPIRE', KEYS[2], lease + 1000)\n"
"end\n"
"return {1, 0, 'ok'}\n";

TAILQ_HEAD(throttle_queue, tf_throttle_wait);

struct tf_throttle {
	struct event_base	*base;
	struct kb_redis		*redis;
	char			*key_credits;
	char			*key_slots;
	char			*key_pause;
	uint64_t		 pause_until;	/* local pause after a 429 */
	unsigned		 budget;
	unsigned		 max_concurrency;
	unsigned		 window_ms;
	unsigned		 lease_ms;
	struct tf_stats		*stats;
	struct throttle_queue	 queue;
	unsigned		 nqueued;
	int			 asking;	/* script call in flight for the head */
	int			 sleeping;	/* timer armed */
	int			 slot_sleep;	/* asleep waiting for a slot, not credits */
	const int		*closing;	/* client is being freed */
	unsigned		*redis_pending;
	struct event		*timer;
	uint64_t		 lease_seq;
	char			 lease_base[40];
	uint64_t		 redis_fail_since;
};

static void	throttle_next(struct tf_throttle *t);

static int
throttle_off(const struct tf_throttle *t)
{
	return (t->budget == 0 && t->max_concurrency == 0);
}

static void
throttle_sleep(struct tf_throttle *t, long ms)
{
	struct timeval	tv;

	if (ms < 1)
		ms = 1;
	if (ms > THROTTLE_MAX_WAIT_MS)
		ms = THROTTLE_MAX_WAIT_MS;
	tv = kb_timeval_ms(ms);
	evtimer_add(t->timer, &tv);
	t->sleeping = 1;
	t->slot_sleep = 0;
}

/* Takes the head out and tells its owner. */
static void
throttle_pop(struct tf_throttle *t, struct tf_throttle_wait *w, enum tf_err_kind kind,
    const char *msg)
{
	TAILQ_REMOVE(&t->queue, w, entry);
	w->queued = 0;
	t->nqueued--;
	t->stats->queued = t->nqueued;
	if (kind == TF_OK)
		t->stats->credits += w->cost;
	w->cb(w, kind, msg);
}

static void
throttle_reply(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct tf_throttle	*t = arg;
	struct tf_throttle_wait	*w;
	long long		 verdict, wait;
	char			 msg[160];

	t->asking = 0;
	if (*t->closing || (w = TAILQ_FIRST(&t->queue)) == NULL)
		return;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_INTEGER) {
		if (t->redis_fail_since == 0)
			t->redis_fail_since = tf_now_ms();
		if (tf_now_ms() - t->redis_fail_since < THROTTLE_REDIS_GIVEUP_MS) {
			/* Not connected yet, or a blip: try again shortly. */
			throttle_sleep(t, THROTTLE_REDIS_RETRY_MS);
			return;
		}
		snprintf(msg, sizeof msg, "throttle: Redis %s",
		    reply == NULL ? "unreachable" : reply->type == REDIS_REPLY_ERROR ?
		    reply->str : "gave an unexpected reply");
		throttle_pop(t, w, TF_ERR_REDIS, msg);
		throttle_next(t);
		return;
	}
	t->redis_fail_since = 0;
	verdict = reply->element[0]->integer;
	wait = reply->element[1]->integer;
	if (verdict == 1) {
		throttle_pop(t, w, TF_OK, "");
		throttle_next(t);
	} else if (verdict == 0) {
		t->stats->throttle_waits++;
		/* A slot held elsewhere frees at that request's end: poll for it. */
		if (reply->elements >= 3 && reply->element[2]->type == REDIS_REPLY_STRING &&
		    strcmp(reply->element[2]->str, "concurrency") == 0) {
			if (wait > THROTTLE_SLOT_POLL_MS)
				wait = THROTTLE_SLOT_POLL_MS;
			throttle_sleep(t, (long)wait);
			t->slot_sleep = 1;
		} else
			throttle_sleep(t, (long)wait);
	} else {
		snprintf(msg, sizeof msg, "throttle: a request of %u credits never fits a "
		    "budget of %u per minute", w->cost, t->budget);
		throttle_pop(t, w, TF_ERR_BAD_REQUEST, msg);
		throttle_next(t);
	}
}

/* Asks Redis for the head of the queue, unless already asking or asleep. */
static void
throttle_next(struct tf_throttle *t)
{
	struct tf_throttle_wait	*w;
	const char		*args[9];
	size_t			 lens[9];
	char			 cost[16], budget[16], window[16], maxc[16], lease[16];
	uint64_t		 now;
	int			 i;

	while ((w = TAILQ_FIRST(&t->queue)) != NULL) {
		if (t->asking || t->sleeping)
			return;
		if ((now = tf_now_ms()) < t->pause_until) {
			throttle_sleep(t, (long)(t->pause_until - now));
			return;
		}
		snprintf(w->lease, sizeof w->lease, "%s:%" PRIu64, t->lease_base, ++t->lease_seq);
		if (throttle_off(t)) {
			throttle_pop(t, w, TF_OK, "");
			continue;
		}
		snprintf(cost, sizeof cost, "%u", w->cost);
		snprintf(budget, sizeof budget, "%u", t->budget);
		snprintf(window, sizeof window, "%u", t->window_ms);
		snprintf(maxc, sizeof maxc, "%u", t->max_concurrency);
		snprintf(lease, sizeof lease, "%u", t->lease_ms);
		args[0] = t->key_credits;
		args[1] = t->key_slots;
		args[2] = t->key_pause;
		args[3] = cost;
		args[4] = budget;
		args[5] = window;
		args[6] = maxc;
		args[7] = w->lease;
		args[8] = lease;
		for (i = 0; i < 9; i++)
			lens[i] = strlen(args[i]);
		t->asking = 1;
		/* May call throttle_reply at once (not connected): it re-enters here. */
		kb_redis_eval(t->redis, tf_throttle_lua, throttle_reply, t, 3, 9, args, lens);
		return;
	}
}

static void
throttle_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tf_throttle	*t = arg;

	t->sleeping = 0;
	t->slot_sleep = 0;
	throttle_next(t);
}

struct tf_throttle *
tf_throttle_new(const struct tf_throttle_params *p)
{
	struct tf_throttle	*t;
	unsigned char		 rnd[8];
	FILE			*f;
	size_t			 i;

	t = xcalloc(1, sizeof *t);
	t->base = p->base;
	t->redis = p->redis;
	t->key_credits = xstrdup(p->key_credits);
	t->key_slots = xstrdup(p->key_slots);
	t->key_pause = xstrdup(p->key_pause);
	t->budget = p->credits_per_minute;
	t->max_concurrency = p->max_concurrency;
	t->window_ms = p->window_ms;
	t->lease_ms = p->lease_ms;
	t->stats = p->stats;
	t->closing = p->closing;
	t->redis_pending = p->redis_pending;
	TAILQ_INIT(&t->queue);
	t->timer = evtimer_new(p->base, throttle_timer_cb, t);
	/* Lease ids must be unique across processes and hosts: pid + random. */
	memset(rnd, 0, sizeof rnd);
	if ((f = fopen("/dev/urandom", "rb")) != NULL) {
		if (fread(rnd, 1, sizeof rnd, f) != sizeof rnd)
			memset(rnd, 0, sizeof rnd);
		fclose(f);
	}
	snprintf(t->lease_base, sizeof t->lease_base, "%ld-", (long)getpid());
	for (i = 0; i < sizeof rnd; i++)
		snprintf(t->lease_base + strlen(t->lease_base), 3, "%02x", rnd[i]);
	return (t);
}

void
tf_throttle_cancel_all(struct tf_throttle *t)
{
	struct tf_throttle_wait	*w;

	while ((w = TAILQ_FIRST(&t->queue)) != NULL)
		throttle_pop(t, w, TF_ERR_CANCELLED, "client shut down");
}

void
tf_throttle_free(struct tf_throttle *t)
{
	if (t == NULL)
		return;
	tf_throttle_cancel_all(t);
	event_free(t->timer);
	free(t->key_credits);
	free(t->key_slots);
	free(t->key_pause);
	free(t);
}

void
tf_throttle_acquire(struct tf_throttle *t, struct tf_throttle_wait *w)
{
	w->since_ms = tf_now_ms();
	w->lease[0] = '\0';
	TAILQ_INSERT_TAIL(&t->queue, w, entry);
	w->queued = 1;
	t->nqueued++;
	t->stats->queued = t->nqueued;
	/* Decide on the next loop turn, so the caller's cb never runs inside this call. */
	if (!t->asking && !t->sleeping)
		throttle_sleep(t, 0);
}

void
tf_throttle_cancel(struct tf_throttle *t, struct tf_throttle_wait *w)
{
	if (!w->queued)
		return;
	TAILQ_REMOVE(&t->queue, w, entry);
	w->queued = 0;
	t->nqueued--;
	t->stats->queued = t->nqueued;
}

void
tf_throttle_release(struct tf_throttle *t, const char *lease)
{
	const char	*argv[3];
	size_t		 lens[3];

	if (*t->closing || t->max_concurrency == 0 || lease[0] == '\0')
		return;
	argv[0] = "ZREM";
	argv[1] = t->key_slots;
	argv[2] = lease;
	lens[0] = 4;
	lens[1] = strlen(t->key_slots);
	lens[2] = strlen(lease);
	tf_redis_fire(t->redis, t->redis_pending, 3, argv, lens);
	/* Our own slot just freed: the head need not wait for its poll. */
	if (t->sleeping && t->slot_sleep && TAILQ_FIRST(&t->queue) != NULL) {
		evtimer_del(t->timer);
		t->sleeping = t->slot_sleep = 0;
		throttle_next(t);
	}
}

void
tf_throttle_pause(struct tf_throttle *t, long ms)
{
	const char	*argv[5];
	size_t		 lens[5];
	char		 px[24];
	int		 i;

	if (*t->closing || ms <= 0)
		return;
	if (tf_now_ms() + (uint64_t)ms > t->pause_until)
		t->pause_until = tf_now_ms() + (uint64_t)ms;
	if (throttle_off(t))
		return;
	snprintf(px, sizeof px, "%ld", ms);
	argv[0] = "SET";
	argv[1] = t->key_pause;
	argv[2] = "1";
	argv[3] = "PX";
	argv[4] = px;
	for (i = 0; i < 5; i++)
		lens[i] = strlen(argv[i]);
	tf_redis_fire(t->redis, t->redis_pending, 5, argv, lens);
}

unsigned
tf_throttle_queued(const struct tf_throttle *t)
{
	return (t->nqueued);
}
