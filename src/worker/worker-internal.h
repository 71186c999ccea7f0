/* Shared by the files of src/worker only. */
#ifndef KASSABOEK_WORKER_INTERNAL_H
#define KASSABOEK_WORKER_INTERNAL_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "kassaboek/flow.h"
#include "kassaboek/job.h"
#include "kassaboek/redis.h"

#define WORKER_MAGIC		0x6b62776bU
#define JOB_MAGIC		0x6b626a62U

#define WORKER_HISTORY_MAX	20	/* attempt records kept with an event */
#define WORKER_MESSAGE_MAX	1000	/* bytes of a failure message kept */
#define WORKER_READ_BLOCK_MS	1000	/* XREADGROUP BLOCK: also bounds shutdown latency */
#define WORKER_SCRIPT_TRIES	8	/* gate/finish attempts while Redis is away */

enum job_state {
	JOB_QUEUED,	/* reclaimed, waiting for a free slot (no slot yet) */
	JOB_GATE,	/* ordering gate script in flight */
	JOB_RUNNING,	/* in its flow */
	JOB_FINISHING,	/* done/retry/dead script in flight */
	JOB_ENDED,	/* entry resolved (or abandoned); freed when the last hold goes */
};

enum job_finish {
	FINISH_DONE,
	FINISH_RETRY,
	FINISH_DEAD,
};

struct job_timer;

/* One stream entry's fields, copied from the reply. */
struct worker_entry {
	char		*sid;
	char		*id;
	char		*type;
	char		*received_at;
	char		*body;
	size_t		 body_len;
	char		*entities;
	char		*history;
	int		 attempts;	/* failed attempts so far */
};

struct kb_job {
	unsigned		 magic;
	struct kb_worker	*w;
	TAILQ_ENTRY(kb_job)	 link;
	enum job_state		 state;
	int			 refs;
	int			 counted;	/* takes a concurrency slot */
	char			*dead_reason;	/* dead-letter as soon as it starts */
	struct worker_entry	 e;
	uint64_t		 received_at;
	uint64_t		 started_ms;
	int			 flow_index;	/* in w->flows, -1 = none */
	const struct kb_flow	*flow;
	struct json_object	*json;
	int			 json_parsed;
	void			*data;
	void			(*data_free)(void *);
	const char		*step;
	struct event		*timeout_ev;
	struct job_timer	*timers;
	/* The finish script's arguments, kept for its retries. */
	enum job_finish		 finish;
	uint64_t		 finish_delay_ms;
	char			**finish_fields;	/* k, v, k, v ... */
	size_t			*finish_lens;
	int			 finish_nfields;
	int			 script_tries;
	struct event		*script_retry_ev;
};

TAILQ_HEAD(job_list, kb_job);

struct kb_worker {
	unsigned		 magic;
	struct event_base	*base;
	const struct kb_config	*cfg;
	const struct kb_flow *const *flows;
	void			**flow_ctx;	/* parallel to flows */
	int			 nflows;
	int			 index;
	char			 name[32];	/* "worker.2" */
	char			*consumer;	/* "host/pid/random" */
	struct kb_redis		*rd;		/* blocking reads only */
	struct kb_redis		*rc;		/* everything else */
	/* Key names. */
	char			*pfx;		/* "{kb}:" */
	char			*k_events, *k_live, *k_retry, *k_dead, *k_leader;
	struct job_list		 jobs;		/* every job not yet freed */
	int			 inflight;	/* jobs holding a slot */
	int			 queued;	/* reclaimed jobs waiting for one */
	int			 max_inflight;
	int			 reserved;	/* slots asked for by the read in flight */
	int			 reading;
	int			 group_ready;
	int			 stopping;
	int			 flows_stopping;
	int			 tearing_down;
	int			 exit_code;
	char			 reclaim_cursor[64];
	int			 reclaiming;
	int			 heartbeating;
	struct event		*setup_ev;	/* consumer group creation, retried */
	struct event		*read_retry_ev;
	struct event		*heartbeat_ev;
	struct event		*reclaim_ev;
	struct event		*drain_ev;	/* shutdown deadline */
	struct event		*sigterm_ev, *sigint_ev;
	struct worker_sched	*sched;
	uint64_t		 backoff_base_ms, backoff_max_ms;
	uint64_t		 jobs_done, jobs_retried, jobs_dead, jobs_parked;
};

/* worker.c */
uint64_t	 worker_now_ms(void);
void		 worker_pump(struct kb_worker *w);
void		 worker_job_ended(struct kb_worker *w);
int		 worker_flow_index(const struct kb_worker *w, const char *type);

/* job.c */
struct kb_job	*job_new(struct kb_worker *w, struct worker_entry *e);	/* takes e's strings */
void		 job_begin(struct kb_job *job);		/* takes a slot */
void		 job_dead_now(struct kb_job *job, const char *step, const char *message);
void		 job_lose(struct kb_job *job, const char *why);
void		 job_abandon(struct kb_job *job);
void		 job_free_all(struct kb_worker *w);
void		 worker_entry_clear(struct worker_entry *e);

/* backoff.c */
uint64_t	 worker_backoff_ms(uint64_t base, uint64_t max, int attempt, uint64_t retry_after,
		    uint64_t rnd);
char		*worker_history_append(const char *history, int attempt, uint64_t at_ms,
		    const char *kind, const char *step, const char *field, const char *message,
		    const char *consumer);

/* scheduler.c */
struct worker_sched	*worker_sched_new(struct kb_worker *w);
void			 worker_sched_stop(struct worker_sched *s);
void			 worker_sched_free(struct worker_sched *s);

/* scripts.c: the engine's Lua scripts (docs/worker.md lists their keys). */
extern const char	worker_gate_script[];
extern const char	worker_finish_script[];
extern const char	worker_heartbeat_script[];
extern const char	worker_reclaim_script[];
extern const char	worker_lead_script[];
extern const char	worker_unlead_script[];
extern const char	worker_delconsumer_script[];
extern const char	worker_replay_script[];
extern const char	worker_gc_script[];

#endif
