/*
 * kassaboek work: the worker processes (docs/worker.md). A master forks
 * worker.processes workers running the flows of the registry and restarts
 * any that dies; SIGTERM/SIGINT let the jobs in flight finish, then exit 0.
 */
#include "config.h"

#include <stdio.h>
#include <sysexits.h>

#include "kassaboek/cmd.h"
#include "kassaboek/config.h"
#include "kassaboek/flow.h"
#include "kassaboek/log.h"
#include "kassaboek/redis.h"
#include "kassaboek/worker.h"

static int
work_exec(struct kb_config *cfg, int argc, char **argv)
{
	struct kb_redis_url	 url;
	struct kb_err		 err;
	enum kb_log_level	 level;

	if (argc > 1) {
		fprintf(stderr, "usage: kassaboek [-c FILE] work\n");
		return (EX_USAGE);
	}
	if (kb_log_level_parse(cfg->log.level, &level) == 0)
		kb_log_set_level(level);
	kb_log_init("work");
	if (kb_redis_url_parse(cfg->redis.url, &url, &err) == -1) {
		fprintf(stderr, "kassaboek: %s: [redis] url: %s\n", cfg->path, err.msg);
		return (EX_CONFIG);
	}
	kb_redis_url_clear(&url);
	kb_info("starting %lld worker processes, %lld jobs in flight each", cfg->worker.processes,
	    cfg->worker.concurrency);
	return (kb_work_run(cfg, kb_flow_registry, NULL));
}

const struct kb_cmd kb_cmd_work = {
	"work", "", "run the worker processes that book queued events", 1, work_exec,
};
