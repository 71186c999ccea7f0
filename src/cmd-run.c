/*
 * kassaboek run: serve + work in one command, the single-machine default.
 * One master keeps the receiver and the worker.processes workers running
 * (each restarted if it dies); SIGTERM/SIGINT stop them all, each draining
 * what it has in flight.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "kassaboek/cmd.h"
#include "kassaboek/config.h"
#include "kassaboek/flow.h"
#include "kassaboek/log.h"
#include "kassaboek/worker.h"

int	check_config_modules(const struct kb_config *cfg, FILE *errors);

struct run_serve {
	struct kb_config	*cfg;
	const char		*port_file;
};

static int
run_serve_child(void *arg)
{
	struct run_serve	*rs = arg;
	char			*argv[4];
	int			 argc = 0;

	argv[argc++] = (char *)"serve";
	if (rs->port_file != NULL) {
		argv[argc++] = (char *)"--port-file";
		argv[argc++] = (char *)rs->port_file;
	}
	argv[argc] = NULL;
	return (kb_cmd_serve.exec(rs->cfg, argc, argv));
}

static int
run_exec(struct kb_config *cfg, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "port-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_serve		 rs;
	struct kb_master_child		 serve;
	enum kb_log_level		 level;
	int				 ch;

	memset(&rs, 0, sizeof rs);
	rs.cfg = cfg;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'p') {
			fprintf(stderr, "usage: kassaboek [-c FILE] run [--port-file FILE]\n");
			return (EX_USAGE);
		}
		rs.port_file = optarg;
	}
	if (optind < argc) {
		fprintf(stderr, "usage: kassaboek [-c FILE] run [--port-file FILE]\n");
		return (EX_USAGE);
	}
	if (kb_log_level_parse(cfg->log.level, &level) == 0)
		kb_log_set_level(level);
	kb_log_init("run");
	/* Checked here too, so a bad configuration stops before anything is forked. */
	if (check_config_modules(cfg, stderr) == -1)
		return (EX_CONFIG);
	serve.name = "serve";
	serve.run = run_serve_child;
	serve.arg = &rs;
	kb_info("starting the receiver and %lld worker processes", cfg->worker.processes);
	return (kb_work_run(cfg, kb_flow_registry, &serve));
}

const struct kb_cmd kb_cmd_run = {
	"run", "[--port-file FILE]", "serve + work in one process tree (the single-machine default)", 1,
	run_exec,
};
