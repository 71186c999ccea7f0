/*
 * A job's life (job.h for the flows' side): the ordering gate, the flow,
 * then one finish script that acknowledges the event, schedules its retry
 * or dead-letters it. A job is freed when its last reference goes: one for
 * the engine until its stream entry is resolved, one per Redis command,
 * timer and hold in flight, so no callback ever meets a freed job.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kassaboek/config.h"
#include "kassaboek/log.h"
#include "kassaboek/worker.h"
#include "kassaboek/xmalloc.h"
#include "kassaboek/units.h"

#include "worker-internal.h"

#define JOB_JSON_DEPTH	64

struct job_timer {
	struct kb_job		*job;
	struct event		*ev;
	kb_job_timer_cb		 cb;
	void			*arg;
	struct job_timer	*next;
};

struct job_cmd {
	struct kb_job		*job;
	kb_job_redis_cb		 cb;
	void			*arg;
};

static void	job_send_script(struct kb_job *job);
static void	job_end(struct kb_job *job);

static struct kb_job *
job_check(void *p)
{
	struct kb_job	*job = p;

	if (job == NULL || job->magic != JOB_MAGIC)
		abort();
	return (job);
}

void
worker_entry_clear(struct worker_entry *e)
{
	free(e->sid);
	free(e->id);
	free(e->type);
	free(e->received_at);
	free(e->body);
	free(e->entities);
	free(e->history);
	memset(e, 0, sizeof *e);
}

static void
job_free(struct kb_job *job)
{
	struct kb_worker	*w = job->w;
	int			 i;

	TAILQ_REMOVE(&w->jobs, job, link);
	if (job->data_free != NULL && job->data != NULL)
		job->data_free(job->data);
	json_object_put(job->json);
	if (job->timeout_ev != NULL)
		event_free(job->timeout_ev);
	if (job->script_retry_ev != NULL)
		event_free(job->script_retry_ev);
	for (i = 0; i < job->finish_nfields; i++)
		free(job->finish_fields[i]);
	free(job->finish_fields);
	free(job->finish_lens);
	worker_entry_clear(&job->e);
	free(job->dead_reason);
	job->magic = 0;
	free(job);
}

static void
job_ref(struct kb_job *job)
{
	job->refs++;
}

static void
job_unref(struct kb_job *job)
{
	if (--job->refs == 0)
		job_free(job);
}

struct kb_job *
job_new(struct kb_worker *w, struct worker_entry *e)
{
	struct kb_job	*job;

	job = xcalloc(1, sizeof *job);
	job->magic = JOB_MAGIC;
	job->w = w;
	job->e = *e;
	memset(e, 0, sizeof *e);
	if (job->e.id == NULL)
		job->e.id = xstrdup(job->e.sid);
	if (job->e.entities == NULL)
		job->e.entities = xstrdup("");
	job->received_at = job->e.received_at != NULL ? strtoull(job->e.received_at, NULL, 10) : 0;
	job->refs = 1;		/* the engine's, until the entry is resolved */
	job->state = JOB_QUEUED;
	job->flow_index = -1;
	w->queued++;
	TAILQ_INSERT_TAIL(&w->jobs, job, link);
	return (job);
}

/* --- Accessors. --- */

const char *
kb_job_id(const struct kb_job *job)
{
	return (job->e.id);
}

const char *
kb_job_type(const struct kb_job *job)
{
	return (job->e.type != NULL ? job->e.type : "");
}

const char *
kb_job_body(const struct kb_job *job, size_t *len)
{
	if (len != NULL)
		*len = job->e.body_len;
	return (job->e.body != NULL ? job->e.body : "");
}

struct json_object *
kb_job_json(struct kb_job *job)
{
	struct json_tokener	*tok;

	if (job->json_parsed || job->e.body == NULL || job->e.body_len > 0x7fffffff)
		return (job->json);
	job->json_parsed = 1;
	if ((tok = json_tokener_new_ex(JOB_JSON_DEPTH)) == NULL)
		return (NULL);
	job->json = json_tokener_parse_ex(tok, job->e.body, (int)job->e.body_len);
	if (job->json != NULL && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(job->json);
		job->json = NULL;
	}
	json_tokener_free(tok);
	return (job->json);
}

uint64_t
kb_job_received_at(const struct kb_job *job)
{
	return (job->received_at);
}

const char *
kb_job_entities(const struct kb_job *job)
{
	return (job->e.entities);
}

int
kb_job_attempt(const struct kb_job *job)
{
	return (job->e.attempts + 1);
}

int
kb_job_max_attempts(const struct kb_job *job)
{
	return ((int)job->w->cfg->worker.max_attempts);
}

const char *
kb_job_flow_name(const struct kb_job *job)
{
	return (job->flow != NULL ? job->flow->name : "worker");
}

const char *
kb_job_prefix(const struct kb_job *job)
{
	return (job->w->cfg->redis.prefix);
}

struct event_base *
kb_job_base(const struct kb_job *job)
{
	return (job->w->base);
}

void *
kb_job_flow_ctx(const struct kb_job *job)
{
	return (job->flow_index >= 0 ? job->w->flow_ctx[job->flow_index] : NULL);
}

void
kb_job_set_data(struct kb_job *job, void *data, void (*free_fn)(void *))
{
	if (job->data_free != NULL && job->data != NULL && job->data != data)
		job->data_free(job->data);
	job->data = data;
	job->data_free = free_fn;
}

void *
kb_job_data(const struct kb_job *job)
{
	return (job->data);
}

void
kb_job_step(struct kb_job *job, const char *step)
{
	job->step = step;
	kb_log(KB_LOG_DEBUG, job->e.id, kb_job_flow_name(job), "step %s", step);
}

const char *
kb_job_current_step(const struct kb_job *job)
{
	return (job->step != NULL ? job->step : "start");
}

void
kb_job_log(const struct kb_job *job, enum kb_log_level level, const char *fmt, ...)
{
	char	buf[2048];
	va_list	ap;

	if (level < kb_log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	kb_log_emit(level, job->e.id, kb_job_flow_name(job), "%s", buf);
}

int
kb_job_active(const struct kb_job *job)
{
	return (job->state == JOB_RUNNING);
}

/* --- Asynchronous primitives. --- */

static void
job_cmd_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct job_cmd	*c = arg;
	struct kb_job	*job = job_check(c->job);

	if (job->state == JOB_RUNNING)
		c->cb(job, reply, c->arg);
	free(c);
	job_unref(job);
}

static struct job_cmd *
job_cmd_new(struct kb_job *job, kb_job_redis_cb cb, void *arg)
{
	struct job_cmd	*c;

	c = xmalloc(sizeof *c);
	c->job = job;
	c->cb = cb;
	c->arg = arg;
	job_ref(job);
	return (c);
}

void
kb_job_redis(struct kb_job *job, kb_job_redis_cb cb, void *arg, int argc, const char **argv,
    const size_t *argvlen)
{
	kb_redis_command_argv(job->w->rc, job_cmd_cb, job_cmd_new(job, cb, arg), argc, argv, argvlen);
}

void
kb_job_eval(struct kb_job *job, const char *script, kb_job_redis_cb cb, void *arg, int nkeys, int nargs,
    const char **args, const size_t *argslen)
{
	kb_redis_eval(job->w->rc, script, job_cmd_cb, job_cmd_new(job, cb, arg), nkeys, nargs, args,
	    argslen);
}

static void
job_timer_unlink(struct kb_job *job, struct job_timer *t)
{
	struct job_timer	**pp;

	for (pp = &job->timers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
}

static void
job_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job_timer	*t = arg;
	struct kb_job		*job = job_check(t->job);

	job_timer_unlink(job, t);
	if (job->state == JOB_RUNNING)
		t->cb(job, t->arg);
	event_free(t->ev);
	free(t);
	job_unref(job);
}

void
kb_job_after(struct kb_job *job, uint64_t ms, kb_job_timer_cb cb, void *arg)
{
	struct job_timer	*t;
	struct timeval		 tv;

	t = xcalloc(1, sizeof *t);
	t->job = job;
	t->cb = cb;
	t->arg = arg;
	t->ev = evtimer_new(job->w->base, job_timer_cb, t);
	t->next = job->timers;
	job->timers = t;
	job_ref(job);
	tv = kb_timeval_ms(ms);
	evtimer_add(t->ev, &tv);
}

/* Timers of an ended job never fire: their references go now, not when they would have. */
static void
job_cancel_timers(struct kb_job *job)
{
	struct job_timer	*t;

	while ((t = job->timers) != NULL) {
		job->timers = t->next;
		event_free(t->ev);
		free(t);
		job_unref(job);		/* never the last: the caller holds one */
	}
}

struct kb_job *
kb_job_hold(struct kb_job *job)
{
	job_ref(job_check(job));
	return (job);
}

int
kb_job_release(struct kb_job *job)
{
	int	active;

	job_check(job);
	active = job->state == JOB_RUNNING;
	job_unref(job);
	return (active);
}

/* --- The end of a job. --- */

static void
job_end(struct kb_job *job)
{
	struct kb_worker	*w = job->w;

	if (job->state == JOB_ENDED)
		return;
	job_ref(job);
	job_cancel_timers(job);
	if (job->timeout_ev != NULL)
		event_del(job->timeout_ev);
	if (job->script_retry_ev != NULL)
		event_del(job->script_retry_ev);
	if (job->counted) {
		job->counted = 0;
		w->inflight--;
	}
	if (job->state == JOB_QUEUED)
		w->queued--;
	job->state = JOB_ENDED;
	job_unref(job);		/* ours */
	job_unref(job);		/* the engine's */
	worker_job_ended(w);
}

static void
job_add_field(struct kb_job *job, const char *k, const char *v, size_t vlen)
{
	int	n = job->finish_nfields;

	job->finish_fields = xreallocarray(job->finish_fields, (size_t)n + 2, sizeof *job->finish_fields);
	job->finish_lens = xreallocarray(job->finish_lens, (size_t)n + 2, sizeof *job->finish_lens);
	job->finish_fields[n] = xstrdup(k);
	job->finish_lens[n] = strlen(k);
	job->finish_fields[n + 1] = xmalloc(vlen + 1);
	memcpy(job->finish_fields[n + 1], v, vlen);
	job->finish_fields[n + 1][vlen] = '\0';
	job->finish_lens[n + 1] = vlen;
	job->finish_nfields = n + 2;
}

static void
job_add_str(struct kb_job *job, const char *k, const char *v)
{
	job_add_field(job, k, v, strlen(v));
}

/* The event itself, as stored for a retry or a dead letter. */
static void
job_add_event(struct kb_job *job, int attempts, const char *history)
{
	char	n[32];

	job_add_str(job, "id", job->e.id);
	job_add_str(job, "type", kb_job_type(job));
	job_add_str(job, "received_at", job->e.received_at != NULL ? job->e.received_at : "0");
	job_add_field(job, "body", kb_job_body(job, NULL), job->e.body_len);
	if (job->e.entities[0] != '\0')
		job_add_str(job, "entities", job->e.entities);
	snprintf(n, sizeof n, "%d", attempts);
	job_add_str(job, "attempts", n);
	job_add_str(job, "history", history);
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void
job_trim_utf8(char *s, size_t max)
{
	size_t	n = strlen(s);

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

static void
job_finish(struct kb_job *job, enum job_finish how)
{
	job->state = JOB_FINISHING;
	job->finish = how;
	job->script_tries = 0;
	job_cancel_timers(job);
	if (job->timeout_ev != NULL)
		event_del(job->timeout_ev);
	job_send_script(job);
}

/* Dead-letters or schedules a retry (kind and attempts decide), with the reason and the history. */
static void
job_failed(struct kb_job *job, enum kb_fail_kind kind, const char *step, const char *field,
    uint64_t retry_after_ms, const char *message)
{
	struct kb_worker	*w = job->w;
	const char		*kname = kind == KB_FAIL_PERMANENT ? "permanent" : "transient";
	char			*history, *reason, n[32];
	int			 attempt = job->e.attempts + 1;
	uint64_t		 now = worker_now_ms(), delay;

	history = worker_history_append(job->e.history, attempt, now, kname, step, field, message,
	    w->consumer);
	if (kind == KB_FAIL_TRANSIENT && attempt < w->cfg->worker.max_attempts) {
		delay = worker_backoff_ms(w->backoff_base_ms, w->backoff_max_ms, attempt, retry_after_ms,
		    ((uint64_t)random() << 31) ^ (uint64_t)random());
		kb_log(KB_LOG_WARN, job->e.id, kb_job_flow_name(job),
		    "attempt %d of %lld failed in step %s%s%s: %s; retrying in %llu ms", attempt,
		    w->cfg->worker.max_attempts, step, field != NULL ? ", field " : "",
		    field != NULL ? field : "", message, (unsigned long long)delay);
		job_add_event(job, attempt, history);
		job->finish_delay_ms = delay;
		free(history);
		job_finish(job, FINISH_RETRY);
		return;
	}
	if (kind == KB_FAIL_PERMANENT)
		reason = xasprintf("permanent error in step %s%s%s: %s", step,
		    field != NULL ? ", field " : "", field != NULL ? field : "", message);
	else
		reason = xasprintf("gave up after %d attempts; last error in step %s%s%s: %s", attempt,
		    step, field != NULL ? ", field " : "", field != NULL ? field : "", message);
	kb_log(KB_LOG_ERROR, job->e.id, kb_job_flow_name(job), "dead-lettered: %s", reason);
	job_add_event(job, attempt, history);
	job_add_str(job, "flow", kb_job_flow_name(job));
	job_add_str(job, "kind", kname);
	job_add_str(job, "step", step);
	job_add_str(job, "field", field != NULL ? field : "");
	job_add_str(job, "message", message);
	job_add_str(job, "reason", reason);
	snprintf(n, sizeof n, "%llu", (unsigned long long)now);
	job_add_str(job, "failed_at", n);
	job_add_str(job, "consumer", w->consumer);
	free(reason);
	free(history);
	job_finish(job, FINISH_DEAD);
}

void
kb_job_done(struct kb_job *job)
{
	job_check(job);
	if (job->state != JOB_RUNNING) {
		if (job->state != JOB_ENDED)
			kb_log(KB_LOG_WARN, job->e.id, kb_job_flow_name(job),
			    "flow bug: job ended twice (done after the end)");
		return;
	}
	job_finish(job, FINISH_DONE);
}

void
kb_job_fail(struct kb_job *job, enum kb_fail_kind kind, const char *step, const char *field,
    uint64_t retry_after_ms, const char *fmt, ...)
{
	char	msg[WORKER_MESSAGE_MAX + 8];
	va_list	ap;

	job_check(job);
	if (job->state != JOB_RUNNING) {
		if (job->state != JOB_ENDED)
			kb_log(KB_LOG_WARN, job->e.id, kb_job_flow_name(job),
			    "flow bug: job ended twice (fail after the end)");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	job_trim_utf8(msg, WORKER_MESSAGE_MAX);
	job_failed(job, kind, step != NULL ? step : kb_job_current_step(job), field, retry_after_ms, msg);
}

/* Straight to the dead letters, before any flow ran (no flow, undecodable, crashing workers). */
void
job_dead_now(struct kb_job *job, const char *step, const char *message)
{
	job_failed(job, KB_FAIL_PERMANENT, step, NULL, 0, message);
}

/* The entry is no longer ours (another worker reclaimed it): stop without touching it. */
void
job_lose(struct kb_job *job, const char *why)
{
	if (job->state != JOB_RUNNING && job->state != JOB_QUEUED)
		return;		/* its script in flight will find out by itself */
	kb_log(KB_LOG_WARN, job->e.id, kb_job_flow_name(job), "abandoned in step %s: %s",
	    kb_job_current_step(job), why);
	job_end(job);
}

/* The worker is exiting: the job ends where it is; its entry stays pending for a reclaim. */
void
job_abandon(struct kb_job *job)
{
	if (job->state != JOB_ENDED)
		job_end(job);
}

/* --- Running the flow. --- */

static void
job_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kb_job	*job = job_check(arg);
	char		 d[32];

	if (job->state != JOB_RUNNING)
		return;
	snprintf(d, sizeof d, "%llu ms", (unsigned long long)job->w->cfg->worker.job_timeout_ms);
	kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "timed out after %s (worker.job_timeout) in step %s",
	    d, kb_job_current_step(job));
}

static void
job_dispatch(struct kb_job *job)
{
	struct kb_worker	*w = job->w;
	struct timeval		 tv;
	char			 msg[128];

	if (job->e.type == NULL || job->e.body == NULL) {
		job->state = JOB_RUNNING;
		job_dead_now(job, "decode", "the stream entry has no type or no body");
		return;
	}
	job->flow_index = worker_flow_index(w, job->e.type);
	if (job->flow_index < 0) {
		job->state = JOB_RUNNING;
		snprintf(msg, sizeof msg, "no flow for type %.64s", job->e.type);
		job_dead_now(job, "dispatch", msg);
		return;
	}
	job->flow = w->flows[job->flow_index];
	job->state = JOB_RUNNING;
	job->timeout_ev = evtimer_new(w->base, job_timeout_cb, job);
	tv = kb_timeval_ms(w->cfg->worker.job_timeout_ms);
	evtimer_add(job->timeout_ev, &tv);
	kb_log(KB_LOG_DEBUG, job->e.id, job->flow->name, "attempt %d: %s", kb_job_attempt(job), job->e.type);
	job_ref(job);
	job->flow->start(job, w->flow_ctx[job->flow_index]);
	job_unref(job);
}

/* --- The engine's scripts for this job (gate, finish), retried while Redis is away. --- */

static void
job_script_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	job_send_script(job_check(arg));
}

/* Redis did not take the step: try again shortly, or leave the entry to be reclaimed. */
static void
job_script_failed(struct kb_job *job, const char *what, redisReply *reply)
{
	struct timeval	tv;
	uint64_t	ms;

	if (job->w->tearing_down || ++job->script_tries >= WORKER_SCRIPT_TRIES) {
		kb_log(KB_LOG_ERROR, job->e.id, kb_job_flow_name(job),
		    "%s: Redis did not answer (%s); the event stays pending and is reclaimed after "
		    "worker.visibility_timeout", what, reply != NULL && reply->type == REDIS_REPLY_ERROR ?
		    reply->str : "no reply");
		job_end(job);
		return;
	}
	ms = 100ULL << (job->script_tries - 1);
	if (ms > 2000)
		ms = 2000;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		kb_log(KB_LOG_WARN, job->e.id, kb_job_flow_name(job), "%s: %s; trying again", what, reply->str);
	if (job->script_retry_ev == NULL)
		job->script_retry_ev = evtimer_new(job->w->base, job_script_retry_cb, job);
	tv = kb_timeval_ms(ms);
	evtimer_add(job->script_retry_ev, &tv);
}

/* The word a script answered ("run", "done"...), or NULL for no answer or an error. */
static const char *
job_reply_word(const redisReply *reply)
{
	if (reply == NULL || (reply->type != REDIS_REPLY_STATUS && reply->type != REDIS_REPLY_STRING))
		return (NULL);
	return (reply->str);
}

static void
job_gate_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct kb_job	*job = job_check(arg);
	const char	*word = job_reply_word(reply);

	if (job->state != JOB_GATE) {
		job_unref(job);
		return;
	}
	if (word == NULL)
		job_script_failed(job, "ordering gate", reply);
	else if (strcmp(word, "run") == 0)
		job_dispatch(job);
	else if (strcmp(word, "park") == 0) {
		job->w->jobs_parked++;
		kb_log(KB_LOG_DEBUG, job->e.id, "worker",
		    "waits for an older event about the same entity (%s)", job->e.entities);
		job_end(job);
	} else {
		if (strcmp(word, "gone") == 0)
			kb_log(KB_LOG_ERROR, job->e.id, "worker",
			    "stream entry %s was deleted while pending; event dropped", job->e.sid);
		else
			kb_log(KB_LOG_WARN, job->e.id, "worker", "another worker took entry %s over",
			    job->e.sid);
		job_end(job);
	}
	job_unref(job);
}

static void
job_finish_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct kb_job		*job = job_check(arg);
	struct kb_worker	*w = job->w;
	const char		*word = job_reply_word(reply);
	uint64_t		 ms;

	if (job->state != JOB_FINISHING) {
		job_unref(job);
		return;
	}
	if (word == NULL)
		job_script_failed(job, "finishing", reply);
	else if (strcmp(word, "lost") == 0) {
		kb_log(KB_LOG_WARN, job->e.id, kb_job_flow_name(job),
		    "another worker took entry %s over before it was finished here", job->e.sid);
		job_end(job);
	} else {
		ms = worker_now_ms() - job->started_ms;
		switch (job->finish) {
		case FINISH_DONE:
			w->jobs_done++;
			kb_log(KB_LOG_INFO, job->e.id, kb_job_flow_name(job), "done: %s in %llu ms (attempt %d)",
			    kb_job_type(job), (unsigned long long)ms, kb_job_attempt(job));
			break;
		case FINISH_RETRY:
			w->jobs_retried++;
			break;
		case FINISH_DEAD:
			w->jobs_dead++;
			break;
		}
		job_end(job);
	}
	job_unref(job);
}

static void
job_send_script(struct kb_job *job)
{
	static const char *const modes[] = { "done", "retry", "dead" };
	struct kb_worker	*w = job->w;
	const char		**args;
	size_t			*lens;
	char			 delay[32];
	int			 i, n;

	job_ref(job);
	if (job->state == JOB_GATE) {
		const char	*a[] = { w->k_events, w->k_live, w->pfx, KB_WORKER_GROUP, w->consumer,
				    job->e.sid, job->e.id, job->e.entities };
		size_t		 l[8];

		for (i = 0; i < 8; i++)
			l[i] = strlen(a[i]);
		kb_redis_eval(w->rc, worker_gate_script, job_gate_cb, job, 2, 8, a, l);
		return;
	}
	n = 12 + job->finish_nfields;
	args = xcalloc((size_t)n, sizeof *args);
	lens = xcalloc((size_t)n, sizeof *lens);
	snprintf(delay, sizeof delay, "%llu", (unsigned long long)job->finish_delay_ms);
	args[0] = w->k_events;
	args[1] = w->k_live;
	args[2] = w->k_retry;
	args[3] = w->k_dead;
	args[4] = w->pfx;
	args[5] = KB_WORKER_GROUP;
	args[6] = w->consumer;
	args[7] = job->e.sid;
	args[8] = job->e.id;
	args[9] = modes[job->finish];
	args[10] = job->e.entities;
	args[11] = delay;
	for (i = 0; i < 12; i++)
		lens[i] = strlen(args[i]);
	for (i = 0; i < job->finish_nfields; i++) {
		args[12 + i] = job->finish_fields[i];
		lens[12 + i] = job->finish_lens[i];
	}
	kb_redis_eval(w->rc, worker_finish_script, job_finish_cb, job, 4, n, args, lens);
	free(args);
	free(lens);
}

/* Starts the job: through the ordering gate if it is about entities, else straight to its flow. */
void
job_begin(struct kb_job *job)
{
	struct kb_worker	*w = job->w;

	if (job->state != JOB_QUEUED)
		abort();
	w->queued--;
	job->counted = 1;
	w->inflight++;
	job->started_ms = worker_now_ms();
	if (job->dead_reason != NULL) {
		job->state = JOB_RUNNING;
		job_dead_now(job, "worker", job->dead_reason);
		return;
	}
	if (job->e.entities[0] == '\0') {
		job_dispatch(job);
		return;
	}
	job->state = JOB_GATE;
	job_send_script(job);
}

/* At exit: the jobs some module still holds are freed now (their entries stay pending). */
void
job_free_all(struct kb_worker *w)
{
	struct kb_job	*job;

	while ((job = TAILQ_FIRST(&w->jobs)) != NULL) {
		job->refs++;
		job_cancel_timers(job);
		job->refs = 1;
		job_unref(job);
	}
}
