/*
 * kassaboek replay ID|--all-dead: put dead-lettered events back into the
 * stream (docs/worker.md, "Replay"). ID is the event id (webhook id) or the
 * entry id in {prefix}:dead.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "kassaboek/cmd.h"
#include "kassaboek/config.h"
#include "kassaboek/worker.h"

static int
replay_exec(struct kb_config *cfg, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '\0' || (argv[1][0] == '-' && strcmp(argv[1], "--all-dead") != 0)) {
		fprintf(stderr, "usage: kassaboek [-c FILE] replay ID|--all-dead\n");
		return (EX_USAGE);
	}
	if (strcmp(argv[1], "--all-dead") == 0)
		return (kb_replay(cfg, NULL, 1, stdout));
	return (kb_replay(cfg, argv[1], 0, stdout));
}

const struct kb_cmd kb_cmd_replay = {
	"replay", "ID|--all-dead", "put dead-lettered events back into the queue (by event id, or all)", 1,
	replay_exec,
};
