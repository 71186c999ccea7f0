/*
 * The worker engine (docs/worker.md): `kassaboek work` is a master process
 * (kb_master_run) that forks worker.processes worker processes
 * (kb_worker_main) and restarts any that dies. Each worker reads
 * {prefix}:events in the consumer group "workers", runs up to
 * worker.concurrency jobs at once through the flows of a registry (flow.h,
 * job.h), acknowledges an event only when its job is done or dead-lettered,
 * reclaims events left pending by dead workers, and takes part in the
 * election of the scheduler that moves due retries back to the stream.
 */
#ifndef KASSABOEK_WORKER_H
#define KASSABOEK_WORKER_H

#include <stdint.h>
#include <stdio.h>

struct kb_config;
struct kb_flow;

/* Redis names under "{prefix}:" (docs/worker.md, "Keys"). */
#define KB_WORKER_GROUP		"workers"
#define KB_WORKER_RETRY_KEY	"retry"
#define KB_WORKER_DEAD_KEY	"dead"
#define KB_WORKER_LIVE_KEY	"live"
#define KB_WORKER_LEADER_KEY	"scheduler:leader"

struct kb_worker_opts {
	const struct kb_config		*cfg;		/* borrowed */
	const struct kb_flow *const	*flows;		/* registry, NULL-terminated */
	int				 index;		/* 1..n: names the process ("worker.2") */
};

/*
 * Runs one worker process until SIGTERM or SIGINT, then lets the jobs in
 * flight finish (at most worker.shutdown_timeout) and returns a sysexits.h
 * code: EX_OK, or EX_CONFIG if a flow could not be initialised.
 */
int	kb_worker_main(const struct kb_worker_opts *opts);

/* A process the master keeps running. */
struct kb_master_child {
	const char	*name;			/* "serve", "worker.1" (static or outliving the master) */
	/* Runs in the forked child; returns its exit code. */
	int		(*run)(void *arg);
	void		*arg;
};

/*
 * Forks every child and keeps them running: one that dies is started again
 * after a backoff (100 ms, doubling while it keeps dying within 10 s of its
 * start, at most 30 s), and the death is logged. A child exiting with
 * EX_CONFIG stops everything (restarting cannot help). SIGTERM or SIGINT
 * is passed on to the children; those still running after
 * shutdown_timeout_ms are killed. Children get SIGTERM if the master dies.
 * Returns EX_OK after a requested stop, EX_CONFIG as said, EX_OSERR if
 * fork fails at start.
 */
int	kb_master_run(const struct kb_master_child *children, int nchildren, uint64_t shutdown_timeout_ms);

/*
 * Everything `kassaboek work` does, with the given flow registry: a master
 * and cfg->worker.processes workers, plus extra (NULL: none; `kassaboek
 * run` passes the receiver). Returns as kb_master_run. For kassaboek and
 * the test harness.
 */
int	kb_work_run(const struct kb_config *cfg, const struct kb_flow *const *flows,
	    const struct kb_master_child *extra);

/*
 * `kassaboek replay`: puts the dead event id (its event id, or its entry id
 * in {prefix}:dead), or with all set every dead event, back into the
 * stream. Prints one line per replayed event on out. Returns a sysexits.h
 * code: EX_OK, EX_NOINPUT if id is not among the dead, EX_UNAVAILABLE if
 * Redis cannot be reached.
 */
int	kb_replay(const struct kb_config *cfg, const char *id, int all, FILE *out);

#endif
