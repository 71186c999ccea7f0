/*
 * One worker process: a libevent loop reading {prefix}:events in the
 * consumer group "workers" (a blocking XREADGROUP on a connection of its
 * own), up to worker.concurrency jobs in flight (job.c), a heartbeat that
 * keeps its pending entries from looking abandoned, the reclaim of entries
 * abandoned by dead workers (XAUTOCLAIM), and a seat in the scheduler
 * election (scheduler.c). SIGTERM/SIGINT: stop reading, let the jobs in
 * flight finish (bounded by worker.shutdown_timeout), stop the flows, leave
 * the group, exit.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "kassaboek/config.h"
#include "kassaboek/log.h"
#include "kassaboek/worker.h"
#include "kassaboek/xmalloc.h"
#include "kassaboek/units.h"

#include "worker-internal.h"

static char	worker_proc_name[32];	/* the log's process name must outlive the worker */

static void	worker_check_drained(struct kb_worker *w);

uint64_t
worker_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
worker_timer_add(struct event *ev, uint64_t ms)
{
	struct timeval	tv;

	tv = kb_timeval_ms(ms);
	event_add(ev, &tv);
}

static struct kb_worker *
worker_check(void *p)
{
	struct kb_worker	*w = p;

	if (w == NULL || w->magic != WORKER_MAGIC)
		abort();
	return (w);
}

int
worker_flow_index(const struct kb_worker *w, const char *type)
{
	const struct kb_flow	*f = kb_flow_find(w->flows, type);
	int			 i;

	for (i = 0; f != NULL && i < w->nflows; i++)
		if (w->flows[i] == f)
			return (i);
	return (-1);
}

/* A job gave its slot back: read more, or finish the shutdown. */
void
worker_job_ended(struct kb_worker *w)
{
	if (w->tearing_down)
		return;
	worker_pump(w);
	worker_check_drained(w);
}

/* --- Stream entries. --- */

static char *
worker_dup(const redisReply *r, size_t *len)
{
	char	*s;

	if (r == NULL || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS))
		return (NULL);
	s = xmalloc(r->len + 1);
	memcpy(s, r->str, r->len);
	s[r->len] = '\0';
	if (len != NULL)
		*len = r->len;
	return (s);
}

/* Copies [id, [k, v, ...]] into e; returns -1 if it is not an entry. */
static int
worker_entry_parse(const redisReply *r, struct worker_entry *e)
{
	const redisReply	*f;
	size_t			 i;
	char			**slot, *v;

	memset(e, 0, sizeof *e);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    (e->sid = worker_dup(r->element[0], NULL)) == NULL)
		return (-1);
	f = r->element[1];
	if (f == NULL || f->type != REDIS_REPLY_ARRAY)
		return (0);	/* deleted while pending: fields nil */
	for (i = 0; i + 1 < f->elements; i += 2) {
		const redisReply *k = f->element[i];

		if (k->type != REDIS_REPLY_STRING)
			continue;
		slot = NULL;
		if (strcmp(k->str, "id") == 0)
			slot = &e->id;
		else if (strcmp(k->str, "type") == 0)
			slot = &e->type;
		else if (strcmp(k->str, "received_at") == 0)
			slot = &e->received_at;
		else if (strcmp(k->str, "entities") == 0)
			slot = &e->entities;
		else if (strcmp(k->str, "history") == 0)
			slot = &e->history;
		else if (strcmp(k->str, "body") == 0) {
			free(e->body);
			e->body = worker_dup(f->element[i + 1], &e->body_len);
			continue;
		} else if (strcmp(k->str, "attempts") == 0) {
			if ((v = worker_dup(f->element[i + 1], NULL)) != NULL) {
				e->attempts = atoi(v) > 0 ? atoi(v) : 0;
				free(v);
			}
			continue;
		}
		if (slot != NULL) {
			free(*slot);
			*slot = worker_dup(f->element[i + 1], NULL);
		}
	}
	return (0);
}

static struct kb_job *
worker_find_job(struct kb_worker *w, const char *sid)
{
	struct kb_job	*job;

	TAILQ_FOREACH(job, &w->jobs, link)
		if (job->state != JOB_ENDED && strcmp(job->e.sid, sid) == 0)
			return (job);
	return (NULL);
}

/* --- The consumer group. --- */

static void	worker_setup_cb(evutil_socket_t, short, void *);

static void
worker_group_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct kb_worker	*w = worker_check(arg);

	if (w->tearing_down)
		return;
	if (reply != NULL && (reply->type == REDIS_REPLY_STATUS ||
	    (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) == 0))) {
		if (!w->group_ready)
			kb_debug("consumer group %s of %s is ready", KB_WORKER_GROUP, w->k_events);
		w->group_ready = 1;
		worker_pump(w);
		return;
	}
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		kb_warn("cannot create consumer group: %s", reply->str);
	worker_timer_add(w->setup_ev, 250);
}

/* XGROUP CREATE ... 0 MKSTREAM: idempotent (BUSYGROUP), retried until Redis answers. */
static void
worker_setup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_worker	*w = worker_check(arg);
	const char		*argv[] = { "XGROUP", "CREATE", w->k_events, KB_WORKER_GROUP, "0", "MKSTREAM" };

	if (w->stopping)
		return;
	kb_redis_command_argv(w->rc, worker_group_cb, w, 6, argv, NULL);
}

/* --- Reading. --- */

static void
worker_read_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	worker_pump(worker_check(arg));
}

static void
worker_read_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct kb_worker	*w = worker_check(arg);
	struct worker_entry	 e;
	const redisReply	*entries, *st;
	size_t			 i, j;

	w->reading = 0;
	w->reserved = 0;
	if (w->tearing_down)
		return;
	if (reply == NULL) {
		if (!w->stopping)
			worker_timer_add(w->read_retry_ev, 250);
		worker_check_drained(w);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		if (strncmp(reply->str, "NOGROUP", 7) == 0) {
			kb_warn("the consumer group is gone (Redis restarted empty?); creating it again");
			w->group_ready = 0;
			worker_timer_add(w->setup_ev, 0);
		} else {
			kb_warn("reading %s: %s", w->k_events, reply->str);
			worker_timer_add(w->read_retry_ev, 1000);
		}
		worker_check_drained(w);
		return;
	}
	if (reply->type == REDIS_REPLY_ARRAY) {
		for (i = 0; i < reply->elements; i++) {
			st = reply->element[i];
			if (st->type != REDIS_REPLY_ARRAY || st->elements < 2)
				continue;
			entries = st->element[1];
			for (j = 0; entries->type == REDIS_REPLY_ARRAY && j < entries->elements; j++) {
				if (worker_entry_parse(entries->element[j], &e) == -1) {
					worker_entry_clear(&e);
					continue;
				}
				job_begin(job_new(w, &e));
			}
		}
	}
	worker_pump(w);
	worker_check_drained(w);
}

/*
 * Fills free slots: reclaimed jobs waiting here first, then one read for
 * as many events as there are free slots, unless a read is already waiting.
 */
void
worker_pump(struct kb_worker *w)
{
	struct kb_job	*job, *next;
	char		 count[16], block[16];
	const char	*argv[11];
	int		 free_slots;

	if (w->stopping || w->tearing_down)
		return;
	for (job = TAILQ_FIRST(&w->jobs); job != NULL && w->queued > 0 &&
	    w->inflight + w->reserved < w->max_inflight; job = next) {
		next = TAILQ_NEXT(job, link);
		if (job->state == JOB_QUEUED)
			job_begin(job);
	}
	if (!w->group_ready || w->reading)
		return;
	free_slots = w->max_inflight - w->inflight;
	if (free_slots <= 0)
		return;
	snprintf(count, sizeof count, "%d", free_slots);
	snprintf(block, sizeof block, "%d", WORKER_READ_BLOCK_MS);
	argv[0] = "XREADGROUP";
	argv[1] = "GROUP";
	argv[2] = KB_WORKER_GROUP;
	argv[3] = w->consumer;
	argv[4] = "COUNT";
	argv[5] = count;
	argv[6] = "BLOCK";
	argv[7] = block;
	argv[8] = "STREAMS";
	argv[9] = w->k_events;
	argv[10] = ">";
	w->reading = 1;
	w->reserved = free_slots;
	kb_redis_command_argv_timeout(w->rd, WORKER_READ_BLOCK_MS + w->cfg->redis.command_timeout_ms,
	    worker_read_cb, w, 11, argv, NULL);
}

/* --- Heartbeat and reclaim. --- */

static void
worker_heartbeat_reply_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct kb_worker	*w = worker_check(arg);
	struct kb_job		*job;
	size_t			 i;

	w->heartbeating = 0;
	if (w->tearing_down || reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i < reply->elements; i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		if ((job = worker_find_job(w, reply->element[i]->str)) != NULL)
			job_lose(job, "its entry was reclaimed by another worker (this one was unreachable "
			    "for longer than worker.visibility_timeout)");
	}
}

/* Resets the idle time of every entry in flight here, so only dead workers' entries get reclaimed. */
static void
worker_heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_worker	*w = worker_check(arg);
	struct kb_job		*job;
	const char		**args;
	size_t			*lens;
	int			 i, n = 0, cap = 3;

	if (w->heartbeating)
		return;
	TAILQ_FOREACH(job, &w->jobs, link)
		if (job->state != JOB_ENDED)
			cap++;
	if (cap == 3)
		return;
	args = xcalloc((size_t)cap, sizeof *args);
	lens = xcalloc((size_t)cap, sizeof *lens);
	args[n++] = w->k_events;
	args[n++] = KB_WORKER_GROUP;
	args[n++] = w->consumer;
	TAILQ_FOREACH(job, &w->jobs, link)
		if (job->state != JOB_ENDED)
			args[n++] = job->e.sid;
	for (i = 0; i < n; i++)
		lens[i] = strlen(args[i]);
	w->heartbeating = 1;
	kb_redis_eval(w->rc, worker_heartbeat_script, worker_heartbeat_reply_cb, w, 1, n, args, lens);
	free(args);
	free(lens);
}

static void
worker_reclaim_reply_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct kb_worker	*w = worker_check(arg);
	struct worker_entry	 e;
	struct kb_job		*job;
	const redisReply	*it;
	long long		 deliveries;
	size_t			 i;
	char			 msg[160];

	w->reclaiming = 0;
	if (w->tearing_down || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
		if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOGROUP", 7) != 0)
			kb_warn("reclaiming abandoned events: %s", reply->str);
		return;
	}
	if (reply->element[0]->type == REDIS_REPLY_STRING && reply->element[0]->len < sizeof w->reclaim_cursor)
		snprintf(w->reclaim_cursor, sizeof w->reclaim_cursor, "%s", reply->element[0]->str);
	for (i = 1; i < reply->elements; i++) {
		it = reply->element[i];
		if (it->type != REDIS_REPLY_ARRAY || it->elements < 3)
			continue;
		if (worker_entry_parse(it, &e) == -1 || worker_find_job(w, e.sid) != NULL) {
			worker_entry_clear(&e);	/* still in flight here: ours already */
			continue;
		}
		deliveries = it->element[2]->type == REDIS_REPLY_INTEGER ? it->element[2]->integer : 1;
		job = job_new(w, &e);
		kb_log(KB_LOG_WARN, job->e.id, "worker",
		    "reclaimed entry %s from a worker that stopped (delivery %lld)", job->e.sid, deliveries);
		if (deliveries > w->cfg->worker.max_attempts) {
			snprintf(msg, sizeof msg, "the workers processing it stopped %lld times "
			    "(crashed or killed) without finishing it", deliveries - 1);
			job->dead_reason = xstrdup(msg);
		}
	}
	worker_pump(w);
	worker_check_drained(w);
}

static void
worker_reclaim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_worker	*w = worker_check(arg);
	char			 idle[32], count[16];
	const char		*args[6];
	size_t			 lens[6];
	int			 n, i;

	/*
	 * The blocking read usually holds every free slot, so reclaimed events
	 * wait here (kept alive by the heartbeat) until a slot frees up: the
	 * concurrency bound holds, and a crash's leftovers are taken in bulk.
	 */
	n = w->max_inflight - w->inflight - w->queued;
	if (w->stopping || !w->group_ready || w->reclaiming || n <= 0)
		return;
	if (n > 100)
		n = 100;
	snprintf(idle, sizeof idle, "%llu", (unsigned long long)w->cfg->worker.visibility_timeout_ms);
	snprintf(count, sizeof count, "%d", n);
	args[0] = w->k_events;
	args[1] = KB_WORKER_GROUP;
	args[2] = w->consumer;
	args[3] = idle;
	args[4] = w->reclaim_cursor;
	args[5] = count;
	for (i = 0; i < 6; i++)
		lens[i] = strlen(args[i]);
	w->reclaiming = 1;
	kb_redis_eval(w->rc, worker_reclaim_script, worker_reclaim_reply_cb, w, 1, 6, args, lens);
}

/* --- Shutdown. --- */

static void
worker_left_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct kb_worker	*w = worker_check(arg);

	if (w->tearing_down)
		return;
	kb_info("stopped: %llu done, %llu retried, %llu dead-lettered, %llu parked",
	    (unsigned long long)w->jobs_done, (unsigned long long)w->jobs_retried,
	    (unsigned long long)w->jobs_dead, (unsigned long long)w->jobs_parked);
	event_base_loopexit(w->base, NULL);
}

/* Leaves the consumer group (if nothing is pending for us), then ends the loop. */
static void
worker_leave(struct kb_worker *w)
{
	const char	*args[] = { w->k_events, KB_WORKER_GROUP, w->consumer };
	size_t		 lens[3];
	int		 i;

	for (i = 0; i < 3; i++)
		lens[i] = strlen(args[i]);
	kb_redis_eval(w->rc, worker_delconsumer_script, worker_left_cb, w, 1, 3, args, lens);
}

static void
worker_flow_stopped(void *arg)
{
	struct kb_worker	*w = worker_check(arg);

	if (--w->flows_stopping == 0 && !w->tearing_down)
		worker_leave(w);
}

static void
worker_check_drained(struct kb_worker *w)
{
	int	i;

	if (!w->stopping || w->tearing_down || w->inflight > 0 || w->reading || w->reclaiming ||
	    w->flows_stopping > 0)
		return;
	kb_info("no job in flight any more; stopping the flows");
	w->flows_stopping = 1;		/* guard while the flows are told */
	for (i = 0; i < w->nflows; i++)
		if (w->flows[i]->stop != NULL) {
			w->flows_stopping++;
			w->flows[i]->stop(w->flow_ctx[i], worker_flow_stopped, w);
		}
	worker_flow_stopped(w);
}

static void
worker_drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_worker	*w = worker_check(arg);

	kb_warn("shutdown: %d jobs still in flight after worker.shutdown_timeout; exiting, their "
	    "events are reclaimed after worker.visibility_timeout", w->inflight);
	event_base_loopexit(w->base, NULL);
}

static void
worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct kb_worker	*w = worker_check(arg);

	if (w->stopping)
		return;
	w->stopping = 1;
	kb_info("signal %d: no new events; finishing %d jobs in flight", (int)sig, w->inflight);
	if (w->queued > 0)
		kb_info("%d reclaimed events not started here are left to other workers", w->queued);
	event_del(w->reclaim_ev);
	event_del(w->setup_ev);
	event_del(w->read_retry_ev);
	worker_sched_stop(w->sched);
	worker_timer_add(w->drain_ev, w->cfg->worker.shutdown_timeout_ms);
	worker_check_drained(w);
}

/* --- The process. --- */

static char *
worker_consumer_name(void)
{
	char	host[128];

	if (gethostname(host, sizeof host) == -1)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	return (xasprintf("%s/%ld/%08lx", host, (long)getpid(), (unsigned long)random() & 0xffffffffUL));
}

/*
 * Order matters: jobs still in flight are abandoned first (their entries
 * stay pending and are reclaimed); closing Redis then completes every
 * command in flight with no reply while everything its callbacks touch
 * still exists; the flows go last, releasing what they hold.
 */
static void
worker_free(struct kb_worker *w)
{
	struct kb_job	*job, *next;
	int		 i;

	w->tearing_down = 1;
	for (job = TAILQ_FIRST(&w->jobs); job != NULL; job = next) {
		next = TAILQ_NEXT(job, link);
		job_abandon(job);
	}
	kb_redis_free(w->rd);
	kb_redis_free(w->rc);
	worker_sched_free(w->sched);
	for (i = 0; i < w->nflows; i++)
		if (w->flows[i]->fini != NULL && w->flow_ctx[i] != NULL)
			w->flows[i]->fini(w->flow_ctx[i]);
	job_free_all(w);
	if (w->setup_ev != NULL)
		event_free(w->setup_ev);
	if (w->read_retry_ev != NULL)
		event_free(w->read_retry_ev);
	if (w->heartbeat_ev != NULL)
		event_free(w->heartbeat_ev);
	if (w->reclaim_ev != NULL)
		event_free(w->reclaim_ev);
	if (w->drain_ev != NULL)
		event_free(w->drain_ev);
	if (w->sigterm_ev != NULL)
		event_free(w->sigterm_ev);
	if (w->sigint_ev != NULL)
		event_free(w->sigint_ev);
	free(w->flow_ctx);
	free(w->consumer);
	free(w->pfx);
	free(w->k_events);
	free(w->k_live);
	free(w->k_retry);
	free(w->k_dead);
	free(w->k_leader);
	if (w->base != NULL)
		event_base_free(w->base);
	w->magic = 0;
	free(w);
}

int
kb_worker_main(const struct kb_worker_opts *o)
{
	const struct kb_config	*cfg = o->cfg;
	struct kb_worker	*w;
	struct kb_flow_env	 env;
	struct kb_err		 err;
	struct timespec		 ts;
	enum kb_log_level	 level;
	int			 i, rc = EX_OK;
	uint64_t		 vt = cfg->worker.visibility_timeout_ms;

	snprintf(worker_proc_name, sizeof worker_proc_name, "worker.%d", o->index);
	kb_log_init(worker_proc_name);
	if (kb_log_level_parse(cfg->log.level, &level) == 0)
		kb_log_set_level(level);
	kb_log_capture_libevent();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	srandom((unsigned)getpid() ^ (unsigned)ts.tv_nsec ^ (unsigned)ts.tv_sec);
	signal(SIGPIPE, SIG_IGN);

	w = xcalloc(1, sizeof *w);
	w->magic = WORKER_MAGIC;
	w->cfg = cfg;
	w->flows = o->flows;
	w->index = o->index;
	TAILQ_INIT(&w->jobs);
	snprintf(w->name, sizeof w->name, "worker.%d", o->index);
	w->max_inflight = (int)cfg->worker.concurrency;
	w->backoff_base_ms = cfg->worker.backoff_base_ms;
	w->backoff_max_ms = cfg->worker.backoff_max_ms;
	snprintf(w->reclaim_cursor, sizeof w->reclaim_cursor, "0-0");
	w->consumer = worker_consumer_name();
	w->pfx = xasprintf("{%s}:", cfg->redis.prefix);
	w->k_events = xasprintf("%s%s", w->pfx, "events");
	w->k_live = xasprintf("%s%s", w->pfx, KB_WORKER_LIVE_KEY);
	w->k_retry = xasprintf("%s%s", w->pfx, KB_WORKER_RETRY_KEY);
	w->k_dead = xasprintf("%s%s", w->pfx, KB_WORKER_DEAD_KEY);
	w->k_leader = xasprintf("%s%s", w->pfx, KB_WORKER_LEADER_KEY);
	for (w->nflows = 0; w->flows[w->nflows] != NULL; w->nflows++)
		;
	w->flow_ctx = xcalloc((size_t)w->nflows + 1, sizeof *w->flow_ctx);

	w->base = event_base_new();
	if (w->base == NULL) {
		kb_error("cannot create the event loop");
		rc = EX_OSERR;
		goto out;
	}
	if ((w->rd = kb_redis_new(w->base, cfg->redis.url, "read", cfg->redis.connect_timeout_ms,
	    cfg->redis.command_timeout_ms, &err)) == NULL ||
	    (w->rc = kb_redis_new(w->base, cfg->redis.url, "commands", cfg->redis.connect_timeout_ms,
	    cfg->redis.command_timeout_ms, &err)) == NULL) {
		kb_error("[redis] url: %s", err.msg);
		rc = EX_CONFIG;
		goto out;
	}
	memset(&env, 0, sizeof env);
	env.base = w->base;
	env.cfg = cfg;
	env.redis = w->rc;
	env.prefix = cfg->redis.prefix;
	env.worker_index = o->index;
	for (i = 0; i < w->nflows; i++) {
		if (w->flows[i]->init == NULL)
			continue;
		if (w->flows[i]->init(&env, &w->flow_ctx[i], &err) == -1) {
			kb_error("flow %s: %s", w->flows[i]->name, err.msg);
			rc = EX_CONFIG;
			goto out;
		}
	}

	w->setup_ev = evtimer_new(w->base, worker_setup_cb, w);
	w->read_retry_ev = evtimer_new(w->base, worker_read_retry_cb, w);
	w->heartbeat_ev = event_new(w->base, -1, EV_PERSIST, worker_heartbeat_cb, w);
	w->reclaim_ev = event_new(w->base, -1, EV_PERSIST, worker_reclaim_cb, w);
	w->drain_ev = evtimer_new(w->base, worker_drain_deadline_cb, w);
	w->sigterm_ev = evsignal_new(w->base, SIGTERM, worker_signal_cb, w);
	w->sigint_ev = evsignal_new(w->base, SIGINT, worker_signal_cb, w);
	event_add(w->sigterm_ev, NULL);
	event_add(w->sigint_ev, NULL);
	worker_timer_add(w->setup_ev, 0);
	worker_timer_add(w->heartbeat_ev, vt / 3 > 0 ? vt / 3 : 1);
	worker_timer_add(w->reclaim_ev, vt / 4 > 100 ? vt / 4 : 100);
	w->sched = worker_sched_new(w);
	kb_info("started (pid %ld, consumer %s): %d jobs at most, %d flows", (long)getpid(), w->consumer,
	    w->max_inflight, w->nflows);

	event_base_dispatch(w->base);
out:
	worker_free(w);
	return (rc);
}
