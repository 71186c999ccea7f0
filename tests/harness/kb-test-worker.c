/*
 * kb-test-worker: the worker engine with a TEST flow, for the integration
 * tests (tests/integration/test_worker*.py). Never installed.
 *
 *	kb-test-worker -c FILE work		master + worker.processes workers
 *	kb-test-worker -c FILE worker [N]	one worker process (index N), no master
 *
 * The TEST flow handles order.*, customer.*, product.* and register.closed
 * (stock.changed has no flow on purpose). Its behaviour comes from the
 * event's data.test object:
 *	{"sleep_ms": M}			wait M ms (a timer) before the outcome
 *	{"fail": "transient", "times": N, "retry_after": S, "field": F}
 *					fail transiently on the first N attempts (0 = always),
 *					asking for a retry after S ms
 *	{"fail": "permanent", "field": F}	fail permanently
 *	{"fail": "until_fixed"}		fail permanently until the key {prefix}:test:fixed
 *					exists (an operator fixed the cause: replay works)
 * What it records in Redis ({prefix}:test:...):
 *	attempts	list of "<id> <attempt> <ms> <pid>", one per attempt started
 *	running, maxrun	jobs running now (all processes) and the most seen at once
 *	done		list of event ids, in the order they completed
 *	count		hash id -> times completed (exactly once means 1)
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "kassaboek/config.h"
#include "kassaboek/flow.h"
#include "kassaboek/job.h"
#include "kassaboek/log.h"
#include "kassaboek/worker.h"
#include "kassaboek/xmalloc.h"

struct test_ctx {
	struct event_base	*base;
	char			*k_attempts, *k_running, *k_max, *k_done, *k_count, *k_fixed;
};

struct test_job {
	long long	 sleep_ms;
	long long	 times;
	long long	 retry_after;
	char		 fail[16];
	char		 field[64];
	int		 succeed;
	int		 fixed;
};

/* KEYS: running, maxrun, attempts, fixed; ARGV: the attempt record. Returns {running, fixed}. */
static const char test_begin_script[] =
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end\n"
    "redis.call('RPUSH', KEYS[3], ARGV[1])\n"
    "return {n, redis.call('EXISTS', KEYS[4])}\n";

/* KEYS: running, done, count; ARGV: id, '1' if it completed. */
static const char test_end_script[] =
    "redis.call('DECR', KEYS[1])\n"
    "if ARGV[2] == '1' then\n"
    "  redis.call('RPUSH', KEYS[2], ARGV[1])\n"
    "  redis.call('HINCRBY', KEYS[3], ARGV[1], 1)\n"
    "end\n"
    "return 1\n";

static uint64_t
test_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
test_end_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct test_job	*t = kb_job_data(job);

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, "record", NULL, 0, "Redis did not record the result");
		return;
	}
	if (t->succeed)
		kb_job_done(job);
	else if (strcmp(t->fail, "permanent") == 0 || strcmp(t->fail, "until_fixed") == 0)
		kb_job_fail(job, KB_FAIL_PERMANENT, "check", t->field[0] != '\0' ? t->field : NULL, 0,
		    "test failure: permanent");
	else
		kb_job_fail(job, KB_FAIL_TRANSIENT, "check", t->field[0] != '\0' ? t->field : NULL,
		    (uint64_t)t->retry_after, "test failure: transient (attempt %d)", kb_job_attempt(job));
}

static void
test_work_cb(struct kb_job *job, void *arg)
{
	struct test_ctx	*ctx = kb_job_flow_ctx(job);
	struct test_job	*t = kb_job_data(job);
	const char	*args[5];
	size_t		 lens[5];
	int		 i;

	kb_job_step(job, "check");
	t->succeed = t->fail[0] == '\0' ||
	    (strcmp(t->fail, "transient") == 0 && t->times > 0 && kb_job_attempt(job) > t->times) ||
	    (strcmp(t->fail, "until_fixed") == 0 && t->fixed);
	args[0] = ctx->k_running;
	args[1] = ctx->k_done;
	args[2] = ctx->k_count;
	args[3] = kb_job_id(job);
	args[4] = t->succeed ? "1" : "0";
	for (i = 0; i < 5; i++)
		lens[i] = strlen(args[i]);
	kb_job_step(job, "record");
	kb_job_eval(job, test_end_script, test_end_cb, NULL, 3, 5, args, lens);
}

static void
test_begin_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct test_job	*t = kb_job_data(job);

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not record the attempt");
		return;
	}
	t->fixed = reply->element[1]->integer == 1;
	kb_job_step(job, "sleep");
	kb_job_after(job, (uint64_t)t->sleep_ms, test_work_cb, NULL);
}

static long long
test_int(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return (0);
	return (json_object_get_int64(v));
}

static void
test_str(struct json_object *o, const char *key, char *buf, size_t len)
{
	struct json_object	*v;

	buf[0] = '\0';
	if (o != NULL && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(v));
}

static void
test_start(struct kb_job *job, void *arg)
{
	struct test_ctx		*ctx = arg;
	struct json_object	*root = kb_job_json(job), *data = NULL, *test = NULL;
	struct test_job		*t;
	const char		*args[5];
	size_t			 lens[5];
	char			*rec;
	int			 i;

	if (root != NULL && json_object_object_get_ex(root, "data", &data))
		json_object_object_get_ex(data, "test", &test);
	t = xcalloc(1, sizeof *t);
	kb_job_set_data(job, t, free);
	t->sleep_ms = test_int(test, "sleep_ms");
	t->times = test_int(test, "times");
	t->retry_after = test_int(test, "retry_after");
	test_str(test, "fail", t->fail, sizeof t->fail);
	test_str(test, "field", t->field, sizeof t->field);
	if (t->sleep_ms < 0)
		t->sleep_ms = 0;

	kb_job_step(job, "begin");
	rec = xasprintf("%s %d %llu %ld", kb_job_id(job), kb_job_attempt(job),
	    (unsigned long long)test_now_ms(), (long)getpid());
	args[0] = ctx->k_running;
	args[1] = ctx->k_max;
	args[2] = ctx->k_attempts;
	args[3] = ctx->k_fixed;
	args[4] = rec;
	for (i = 0; i < 5; i++)
		lens[i] = strlen(args[i]);
	kb_job_eval(job, test_begin_script, test_begin_cb, NULL, 4, 5, args, lens);
	free(rec);
}

static int
test_init(const struct kb_flow_env *env, void **ctxp, struct kb_err *err)
{
	struct test_ctx	*ctx;

	ctx = xcalloc(1, sizeof *ctx);
	ctx->base = env->base;
	ctx->k_attempts = xasprintf("{%s}:test:attempts", env->prefix);
	ctx->k_running = xasprintf("{%s}:test:running", env->prefix);
	ctx->k_max = xasprintf("{%s}:test:maxrun", env->prefix);
	ctx->k_done = xasprintf("{%s}:test:done", env->prefix);
	ctx->k_count = xasprintf("{%s}:test:count", env->prefix);
	ctx->k_fixed = xasprintf("{%s}:test:fixed", env->prefix);
	*ctxp = ctx;
	return (0);
}

struct test_stop {
	void	(*done)(void *);
	void	*arg;
};

static void
test_stopped_cb(evutil_socket_t fd, short what, void *arg)
{
	struct test_stop	*s = arg;

	kb_info("test flow: stopped");
	s->done(s->arg);
	free(s);
}

/* Finishes on a later loop turn, as a flow with something to flush would. */
static void
test_stop(void *arg, void (*done)(void *), void *done_arg)
{
	struct test_ctx		*ctx = arg;
	struct test_stop	*s;
	struct timeval		 tv = { 0, 1000 };

	s = xmalloc(sizeof *s);
	s->done = done;
	s->arg = done_arg;
	event_base_once(ctx->base, -1, EV_TIMEOUT, test_stopped_cb, s, &tv);
}

static void
test_fini(void *arg)
{
	struct test_ctx	*ctx = arg;

	free(ctx->k_attempts);
	free(ctx->k_running);
	free(ctx->k_max);
	free(ctx->k_done);
	free(ctx->k_count);
	free(ctx->k_fixed);
	free(ctx);
}

static const char *const test_types[] = { "order.*", "customer.*", "product.*", "register.closed", NULL };

static const struct kb_flow test_flow = {
	.name = "test",
	.types = test_types,
	.init = test_init,
	.start = test_start,
	.stop = test_stop,
	.fini = test_fini,
};

static const struct kb_flow *const test_registry[] = { &test_flow, NULL };

static void
usage(void)
{
	fprintf(stderr, "usage: kb-test-worker -c FILE work | worker [INDEX]\n");
}

int
main(int argc, char **argv)
{
	struct kb_config	*cfg;
	struct kb_worker_opts	 opts;
	const char		*path = NULL;
	int			 ch, rc;

	while ((ch = getopt(argc, argv, "+c:")) != -1) {
		if (ch != 'c') {
			usage();
			return (EX_USAGE);
		}
		path = optarg;
	}
	argc -= optind;
	argv += optind;
	if (path == NULL || argc < 1) {
		usage();
		return (EX_USAGE);
	}
	kb_log_init("kb-test-worker");
	if ((cfg = kb_config_load(path, stderr)) == NULL)
		return (EX_CONFIG);
	if (strcmp(argv[0], "work") == 0)
		rc = kb_work_run(cfg, test_registry, NULL);
	else if (strcmp(argv[0], "worker") == 0) {
		memset(&opts, 0, sizeof opts);
		opts.cfg = cfg;
		opts.flows = test_registry;
		opts.index = argc > 1 ? atoi(argv[1]) : 1;
		rc = kb_worker_main(&opts);
	} else {
		usage();
		rc = EX_USAGE;
	}
	kb_config_free(cfg);
	return (rc);
}
