/* The key table of config-table.c, shared with config.c only. */
#ifndef KASSABOEK_CONFIG_INTERNAL_H
#define KASSABOEK_CONFIG_INTERNAL_H

#include <stddef.h>

#include "kassaboek/config.h"

enum config_type {
	CONFIG_STRING,		/* char *, never NULL after load */
	CONFIG_INT,		/* long long in [min, max] */
	CONFIG_BOOL,		/* int 0/1 */
	CONFIG_SIZE,		/* uint64_t bytes, in [min, max] */
	CONFIG_DURATION,	/* uint64_t milliseconds, in [min, max] */
	CONFIG_ENUM,		/* char *, one of choices */
};

#define CONFIG_SECRET	0x1	/* redacted when printed */

struct config_key {
	const char		*section;
	const char		*name;
	enum config_type	 type;
	size_t			 offset;
	const char		*def;
	long long		 min;
	long long		 max;
	const char *const	*choices;	/* CONFIG_ENUM: NULL-terminated */
	int			 flags;
	const char		*help;
};

extern const struct config_key	config_keys[];
extern const size_t		config_nkeys;

#endif
