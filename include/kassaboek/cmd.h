/*
 * The subcommands of the kassaboek program. Each lives in its own
 * cmd-<name>.c and is listed once in the table of main.c.
 */
#ifndef KASSABOEK_CMD_H
#define KASSABOEK_CMD_H

struct kb_config;

struct kb_cmd {
	const char	*name;
	const char	*usage;		/* after "kassaboek [-c FILE] <name>" */
	const char	*summary;
	int		 needs_config;	/* main loads the config before exec */
	/* Returns a sysexits.h code; argv[0] is the command name. */
	int		(*exec)(struct kb_config *cfg, int argc, char **argv);
};

extern const struct kb_cmd kb_cmd_serve;
extern const struct kb_cmd kb_cmd_check_config;
extern const struct kb_cmd kb_cmd_work;
extern const struct kb_cmd kb_cmd_run;
extern const struct kb_cmd kb_cmd_replay;

#endif
