/*
 * kb_work_run: the process tree of `kassaboek work` (and `run`): one master
 * child per worker process, named worker.1 .. worker.N.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "kassaboek/config.h"
#include "kassaboek/worker.h"
#include "kassaboek/xmalloc.h"

#define WORK_SHUTDOWN_MARGIN_MS	5000	/* beyond the workers' own drain deadline */

struct work_child {
	struct kb_worker_opts	opts;
	char			name[32];
};

static int
work_child_run(void *arg)
{
	struct work_child	*c = arg;

	return (kb_worker_main(&c->opts));
}

int
kb_work_run(const struct kb_config *cfg, const struct kb_flow *const *flows,
    const struct kb_master_child *extra)
{
	struct kb_master_child	*children;
	struct work_child	*wc;
	int			 i, n = (int)cfg->worker.processes, k = 0, rc;

	children = xcalloc((size_t)n + 1, sizeof *children);
	wc = xcalloc((size_t)n, sizeof *wc);
	if (extra != NULL)
		children[k++] = *extra;
	for (i = 0; i < n; i++) {
		wc[i].opts.cfg = cfg;
		wc[i].opts.flows = flows;
		wc[i].opts.index = i + 1;
		snprintf(wc[i].name, sizeof wc[i].name, "worker.%d", i + 1);
		children[k].name = wc[i].name;
		children[k].run = work_child_run;
		children[k].arg = &wc[i];
		k++;
	}
	rc = kb_master_run(children, k, cfg->worker.shutdown_timeout_ms + WORK_SHUTDOWN_MARGIN_MS);
	free(wc);
	free(children);
	return (rc);
}
