/*
 * Flows: what the worker does with an event of a given type. One flow per
 * file (src/flows/<name>.c) exporting one `const struct kb_flow`, listed once
 * in the registry table of src/worker/flow-registry.c. The worker looks the
 * event type up in that table; an event whose type no flow handles goes to
 * the dead letters with the reason "no flow for type X" (never dropped: an
 * operator can replay it once a flow exists). A flow that deliberately
 * ignores a type registers for it and calls kb_job_done() at once.
 *
 * A flow's job API is job.h. Example:
 *
 *	static const char *const order_types[] = { "order.created", "order.completed", NULL };
 *	const struct kb_flow kb_flow_orders = {
 *		.name = "orders", .types = order_types,
 *		.init = orders_init, .start = orders_start, .stop = orders_stop, .fini = orders_fini,
 *	};
 */
#ifndef KASSABOEK_FLOW_H
#define KASSABOEK_FLOW_H

#include "kassaboek/err.h"

struct event_base;
struct kb_config;
struct kb_job;
struct kb_redis;

/* What a flow gets once per worker process; all borrowed, valid until fini(). */
struct kb_flow_env {
	struct event_base	*base;
	const struct kb_config	*cfg;
	struct kb_redis		*redis;		/* the worker's command connection */
	const char		*prefix;	/* redis.prefix, without braces */
	int			 worker_index;	/* 1..worker.processes */
};

struct kb_flow {
	const char		*name;		/* "orders": log lines, dead-letter reasons */
	/* Event types handled, NULL-terminated; "order.*" matches every "order." type. */
	const char *const	*types;
	/*
	 * Once per worker process, before the first job (may be NULL). Sets
	 * *ctx (handed to start() and kb_job_flow_ctx()). On -1 with err set the
	 * worker process exits with EX_CONFIG and `kassaboek work` stops.
	 */
	int			(*init)(const struct kb_flow_env *env, void **ctx, struct kb_err *err);
	/*
	 * Starts a job: takes its first step and returns. The job ends later,
	 * or within start(), with kb_job_done() or kb_job_fail().
	 */
	void			(*start)(struct kb_job *job, void *ctx);
	/*
	 * Graceful stop (may be NULL): called once no job is in flight any more
	 * (SIGTERM), to flush what the flow keeps (e.g. the Twinfield client's
	 * slot releases); calls done(arg) from the loop when finished. Bounded
	 * by worker.shutdown_timeout.
	 */
	void			(*stop)(void *ctx, void (*done)(void *arg), void *arg);
	/*
	 * Frees ctx (may be NULL). Never called from inside a callback; the
	 * worker's Redis connection (env->redis) is already closed, and jobs
	 * still held are no longer active (kb_job_release() returns 0).
	 */
	void			(*fini)(void *ctx);
};

/* The flows of kassaboek, NULL-terminated (flow-registry.c). */
extern const struct kb_flow *const kb_flow_registry[];

/* The flow of registry (NULL-terminated) that handles type, or NULL. */
const struct kb_flow	*kb_flow_find(const struct kb_flow *const *registry, const char *type);

#endif
