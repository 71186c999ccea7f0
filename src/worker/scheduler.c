/*
 * The scheduler inside `kassaboek work`: every worker process competes for
 * one Redis lock ({prefix}:scheduler:leader, with an expiry); the holder
 * renews it on every tick and moves due retries from {prefix}:retry back to
 * the stream, in the same atomic script. If the leader dies, its lock
 * lapses after worker.leader_ttl and the next worker to tick takes over.
 * Later scheduled work (Twinfield -> AsPos syncs, activity log purge)
 * belongs here too, run only while leading.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/config.h"
#include "kassaboek/log.h"
#include "kassaboek/worker.h"
#include "kassaboek/xmalloc.h"
#include "kassaboek/units.h"

#include "worker-internal.h"

#define SCHED_BATCH		100	/* retries moved per tick at most */
#define SCHED_TICK_MIN_MS	10
#define SCHED_TICK_MAX_MS	1000
#define SCHED_GC_EVERY_MS	60000	/* consumer clean-up */

struct worker_sched {
	struct kb_worker	*w;
	struct event		*tick_ev;
	int			 leader;
	int			 busy;		/* a tick's script in flight */
	int			 stopped;
	uint64_t		 lead_tick_ms;	/* while leading: retries are due this often */
	uint64_t		 follow_tick_ms;	/* while not: how soon a lapsed lock is noticed */
	uint64_t		 last_gc_ms;
};

static void
sched_gc_reply_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
		kb_info("scheduler: forgot %lld consumers of stopped workers", reply->integer);
}

/* The leader, now and then: drop consumers that left nothing pending and read nothing for long. */
static void
sched_gc(struct worker_sched *s)
{
	struct kb_worker	*w = s->w;
	uint64_t		 now = worker_now_ms();
	char			 idle[32];
	const char		*args[3];
	size_t			 lens[3];
	int			 i;

	if (now - s->last_gc_ms < SCHED_GC_EVERY_MS)
		return;
	s->last_gc_ms = now;
	snprintf(idle, sizeof idle, "%llu", (unsigned long long)(10 * w->cfg->worker.visibility_timeout_ms));
	args[0] = w->k_events;
	args[1] = KB_WORKER_GROUP;
	args[2] = idle;
	for (i = 0; i < 3; i++)
		lens[i] = strlen(args[i]);
	kb_redis_eval(w->rc, worker_gc_script, sched_gc_reply_cb, NULL, 1, 3, args, lens);
}

static void
sched_arm(struct worker_sched *s, uint64_t ms)
{
	struct timeval	tv;

	if (s->stopped)
		return;
	tv = kb_timeval_ms(ms);
	evtimer_add(s->tick_ev, &tv);
}

static void
sched_tick_reply_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct worker_sched	*s = arg;
	long long		 moved;

	s->busy = 0;
	if (s->stopped || s->w->tearing_down)
		return;
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
		if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
			kb_warn("scheduler: %s", reply->str);
		if (s->leader)
			kb_warn("scheduler: cannot renew the leader lock (Redis unavailable)");
		s->leader = 0;
		sched_arm(s, s->follow_tick_ms);
		return;
	}
	moved = reply->integer;
	if (moved < 0) {
		if (s->leader)
			kb_warn("scheduler: another worker holds the leader lock now");
		s->leader = 0;
		sched_arm(s, s->follow_tick_ms);
		return;
	}
	if (!s->leader)
		kb_info("scheduler: this worker is the leader (moves due retries back to the stream)");
	s->leader = 1;
	if (moved > 0)
		kb_debug("scheduler: %lld due retries back in the stream", moved);
	sched_gc(s);
	sched_arm(s, moved == SCHED_BATCH ? 0 : s->lead_tick_ms);
}

static void
sched_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker_sched	*s = arg;
	struct kb_worker	*w = s->w;
	char			 ttl[32], batch[16], stale[32];
	const char		*args[10];
	size_t			 lens[10];
	int			 i;

	if (s->busy || s->stopped)
		return;
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)w->cfg->worker.leader_ttl_ms);
	snprintf(batch, sizeof batch, "%d", SCHED_BATCH);
	args[0] = w->k_events;
	args[1] = w->k_live;
	args[2] = w->k_leader;
	args[3] = w->k_retry;
	args[4] = w->pfx;
	args[5] = KB_WORKER_GROUP;
	args[6] = w->consumer;
	args[7] = ttl;
	args[8] = batch;
	snprintf(stale, sizeof stale, "%llu", (unsigned long long)w->cfg->worker.visibility_timeout_ms);
	args[9] = stale;
	for (i = 0; i < 10; i++)
		lens[i] = strlen(args[i]);
	s->busy = 1;
	kb_redis_eval(w->rc, worker_lead_script, sched_tick_reply_cb, s, 4, 10, args, lens);
}

struct worker_sched *
worker_sched_new(struct kb_worker *w)
{
	struct worker_sched	*s;
	uint64_t		 ttl = w->cfg->worker.leader_ttl_ms;

	s = xcalloc(1, sizeof *s);
	s->w = w;
	s->tick_ev = evtimer_new(w->base, sched_tick_cb, s);
	/* Half the first backoff, so a short retry is not kept waiting; a third of the ttl for the lock. */
	s->lead_tick_ms = w->backoff_base_ms / 2;
	if (s->lead_tick_ms < SCHED_TICK_MIN_MS)
		s->lead_tick_ms = SCHED_TICK_MIN_MS;
	if (s->lead_tick_ms > SCHED_TICK_MAX_MS)
		s->lead_tick_ms = SCHED_TICK_MAX_MS;
	if (s->lead_tick_ms > ttl / 3)
		s->lead_tick_ms = ttl / 3;
	s->follow_tick_ms = ttl / 3 < SCHED_TICK_MAX_MS ? ttl / 3 : SCHED_TICK_MAX_MS;
	sched_arm(s, 0);
	return (s);
}

static void
sched_unlead_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
		kb_info("scheduler: leader lock released");
}

/* Stops ticking; a leader gives the lock up so another worker takes over at once. */
void
worker_sched_stop(struct worker_sched *s)
{
	struct kb_worker	*w = s->w;
	const char		*args[2] = { w->k_leader, w->consumer };
	size_t			 lens[2] = { strlen(w->k_leader), strlen(w->consumer) };

	if (s->stopped)
		return;
	s->stopped = 1;
	event_del(s->tick_ev);
	kb_redis_eval(w->rc, worker_unlead_script, sched_unlead_cb, NULL, 1, 1, args, lens);
	s->leader = 0;
}

void
worker_sched_free(struct worker_sched *s)
{
	if (s == NULL)
		return;
	s->stopped = 1;
	event_free(s->tick_ev);
	free(s);
}
