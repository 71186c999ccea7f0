/*
 * One event being processed by a flow: a small asynchronous state machine.
 *
 * The worker (worker.h) reads an event, waits until it is the oldest
 * unfinished event of its entities (docs/worker.md, "Ordering"), then calls
 * its flow's start() (flow.h) with a struct kb_job. The flow runs one step
 * per round trip: it issues a Redis command, a timer or a request to another
 * module (the Twinfield client) and returns; the answer's callback does the
 * next step. It never blocks the loop. Every job ends with exactly one
 * kb_job_done() or kb_job_fail(); the worker then acknowledges the event,
 * schedules its retry or dead-letters it, and frees the job.
 *
 * Lifetime: the job stays valid during start() and during every callback the
 * worker delivers (kb_job_redis, kb_job_eval, kb_job_after). Those callbacks
 * are not delivered once the job has ended (done, failed, timed out after
 * worker.job_timeout, or lost to another worker), so a flow never sees a
 * callback for a dead job. For another module's callbacks (which know
 * nothing about jobs) bracket the call with kb_job_hold()/kb_job_release().
 */
#ifndef KASSABOEK_JOB_H
#define KASSABOEK_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "kassaboek/log.h"

struct event_base;
struct json_object;
struct kb_job;

enum kb_fail_kind {
	KB_FAIL_TRANSIENT,	/* retried with backoff, up to worker.max_attempts */
	KB_FAIL_PERMANENT,	/* straight to the dead letters */
};

/* --- What the job is about (all borrowed, valid while the job lives). --- */

const char	*kb_job_id(const struct kb_job *job);		/* the event (webhook) id */
const char	*kb_job_type(const struct kb_job *job);		/* "order.completed" */
const char	*kb_job_body(const struct kb_job *job, size_t *len);	/* raw envelope JSON */
/* The envelope parsed once (depth-limited), or NULL if it is not JSON. Borrowed: do not put it. */
struct json_object *kb_job_json(struct kb_job *job);
uint64_t	 kb_job_received_at(const struct kb_job *job);	/* ms since the epoch */
const char	*kb_job_entities(const struct kb_job *job);	/* "order:10023 email:..." or "" */
/* 1 on the first try; a retried event counts up to worker.max_attempts. */
int		 kb_job_attempt(const struct kb_job *job);
int		 kb_job_max_attempts(const struct kb_job *job);
const char	*kb_job_flow_name(const struct kb_job *job);
/* The installation's Redis prefix without braces ("kb"): keys are "{kb}:...". */
const char	*kb_job_prefix(const struct kb_job *job);
struct event_base *kb_job_base(const struct kb_job *job);
/* What the flow's init() stored for this worker process (flow.h). */
void		*kb_job_flow_ctx(const struct kb_job *job);

/* --- The flow's own state. --- */

/* Attaches state to the job; free_fn (may be NULL) runs when the job is freed. */
void		 kb_job_set_data(struct kb_job *job, void *data, void (*free_fn)(void *));
void		*kb_job_data(const struct kb_job *job);
/*
 * Names the step the job is in ("customer", "book"): shown in log lines, in
 * the timeout message and, unless kb_job_fail names another, in the dead
 * letter's reason. step must be static text.
 */
void		 kb_job_step(struct kb_job *job, const char *step);
const char	*kb_job_current_step(const struct kb_job *job);

/* Logs with the job's event id and flow name. */
void		 kb_job_log(const struct kb_job *job, enum kb_log_level level, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/* --- Asynchronous primitives (results come on a later loop turn). --- */

/*
 * reply is borrowed for the call; NULL means Redis did not answer (down, slow,
 * connection lost): normally a transient failure. An error reply is passed
 * as is.
 */
typedef void (*kb_job_redis_cb)(struct kb_job *job, redisReply *reply, void *arg);
typedef void (*kb_job_timer_cb)(struct kb_job *job, void *arg);

/* A command on the worker's Redis connection (argv is copied before returning). */
void	kb_job_redis(struct kb_job *job, kb_job_redis_cb cb, void *arg, int argc, const char **argv,
	    const size_t *argvlen);
/* A Lua script by SHA (kb_redis_eval: script must be static text). */
void	kb_job_eval(struct kb_job *job, const char *script, kb_job_redis_cb cb, void *arg, int nkeys,
	    int nargs, const char **args, const size_t *argslen);
/* Calls cb after ms milliseconds (0: on the next loop turn). */
void	kb_job_after(struct kb_job *job, uint64_t ms, kb_job_timer_cb cb, void *arg);

/*
 * For another module's asynchronous call (e.g. a Twinfield request whose
 * callback takes a void *arg): take a hold before the call and pass the job
 * as (part of) arg; in the callback, kb_job_release() first. It returns 1 if
 * the job still wants the result, 0 if the job has ended meanwhile (timed
 * out, lost, the worker is stopping): then drop the result and do not touch
 * the job again, it may be freed already. Several holds may be taken (e.g.
 * one per document of a batch the job waits for).
 */
struct kb_job	*kb_job_hold(struct kb_job *job);
int		 kb_job_release(struct kb_job *job);
/* 1 while the job may still take steps (not ended). */
int		 kb_job_active(const struct kb_job *job);

/* --- The end of the job: exactly one of these. --- */

void	kb_job_done(struct kb_job *job);
/*
 * Ends the job with a failure. step: where (NULL = the current step);
 * field: which field of the event or document (NULL if none); retry_after_ms:
 * the earliest retry the other side asked for (429/503 Retry-After; 0 = none),
 * honoured even when above worker.backoff_max; message: what went wrong, for
 * the operator (Twinfield's own message, the SKU that is not numeric...).
 * A transient failure on the last allowed attempt goes to the dead letters.
 */
void	kb_job_fail(struct kb_job *job, enum kb_fail_kind kind, const char *step, const char *field,
	    uint64_t retry_after_ms, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
