/*
 * kassaboek [-c FILE] COMMAND [ARGS]: dispatch to the command table, load
 * the configuration for the commands that need one, and map every failure
 * to a sysexits.h code. Only this file and the cmd-*.c files exit.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "kassaboek/cmd.h"
#include "kassaboek/config.h"
#include "kassaboek/log.h"
#include "kassaboek/xmalloc.h"

static int	cmd_version_exec(struct kb_config *, int, char **);
static int	cmd_later_exec(struct kb_config *, int, char **);

static const struct kb_cmd cmd_version = {
	"version", "", "print the version", 0, cmd_version_exec,
};
static const struct kb_cmd cmd_help = {
	"help", "[COMMAND]", "show this help or a command's help", 0, NULL,
};
static const struct kb_cmd cmd_setup = { "setup", "", "interactive setup wizard (not yet available)", 0, cmd_later_exec };
static const struct kb_cmd cmd_sync = { "sync", "FLOW", "run one Twinfield -> AsPos sync now (not yet available)", 0, cmd_later_exec };

static const struct kb_cmd *const cmd_table[] = {
	&kb_cmd_serve,
	&kb_cmd_work,
	&kb_cmd_run,
	&kb_cmd_check_config,
	&cmd_setup,
	&cmd_sync,
	&kb_cmd_replay,
	&cmd_version,
	&cmd_help,
};
#define CMD_COUNT	(sizeof cmd_table / sizeof cmd_table[0])

static void
usage(FILE *out)
{
	size_t	i;

	fprintf(out,
	    "usage: kassaboek [-c FILE] COMMAND [ARGS]\n"
	    "\n"
	    "Books AsPos point-of-sale events into Twinfield.\n"
	    "\n"
	    "options:\n"
	    "  -c FILE     configuration file (default: $KASSABOEK_CONFIG, else %s)\n"
	    "  -h, --help  show this help\n"
	    "\n"
	    "commands:\n", KB_CONFIG_DEFAULT_PATH);
	for (i = 0; i < CMD_COUNT; i++)
		fprintf(out, "  %-13s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
	fprintf(out, "\nRun 'kassaboek COMMAND --help' for a command's options.\n");
}

static void
cmd_usage(const struct kb_cmd *cmd, FILE *out)
{
	fprintf(out, "usage: kassaboek [-c FILE] %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
	if (cmd == &kb_cmd_serve)
		fprintf(out, "\noptions:\n  --port-file FILE  write the bound port to FILE (useful with listen = host:0)\n");
}

static const struct kb_cmd *
cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < CMD_COUNT; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return (cmd_table[i]);
	return (NULL);
}

static int
cmd_version_exec(struct kb_config *cfg, int argc, char **argv)
{
	printf("kassaboek %s\n", PACKAGE_VERSION);
	return (EX_OK);
}

static int
cmd_later_exec(struct kb_config *cfg, int argc, char **argv)
{
	fprintf(stderr, "kassaboek: '%s' is not yet available in this version\n", argv[0]);
	return (2);
}

static int
has_help_flag(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return (1);
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct kb_cmd		*cmd;
	struct kb_config		*cfg = NULL;
	const char			*path = NULL;
	int				 ch, rc;

	/* '+': stop at the command name; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return (EX_OK);
		default:
			usage(stderr);
			return (EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return (EX_USAGE);
	}
	if ((cmd = cmd_find(argv[0])) == NULL) {
		fprintf(stderr, "kassaboek: unknown command '%s'\n\n", argv[0]);
		usage(stderr);
		return (EX_USAGE);
	}
	if (cmd == &cmd_help) {
		if (argc > 1 && (cmd = cmd_find(argv[1])) != NULL && cmd != &cmd_help)
			cmd_usage(cmd, stdout);
		else
			usage(stdout);
		return (EX_OK);
	}
	if (has_help_flag(argc, argv)) {
		cmd_usage(cmd, stdout);
		return (EX_OK);
	}
	kb_log_init("kassaboek");
	if (cmd->needs_config) {
		if (path == NULL && (path = getenv("KASSABOEK_CONFIG")) == NULL)
			path = KB_CONFIG_DEFAULT_PATH;
		if ((cfg = kb_config_load(path, stderr)) == NULL) {
			fprintf(stderr, "kassaboek: configuration is not valid\n");
			return (EX_CONFIG);
		}
	}
	rc = cmd->exec(cfg, argc, argv);
	kb_config_free(cfg);
	return (rc);
}
