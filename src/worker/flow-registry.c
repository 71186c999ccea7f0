/*
 * The flow registry: one line per flow file (flow.h). An event type no flow
 * claims is dead-lettered with "no flow for type X", never dropped.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "kassaboek/flow.h"

extern const struct kb_flow kb_flow_orders;	/* src/flows/orders-flow.c */

const struct kb_flow *const kb_flow_registry[] = {
	&kb_flow_orders,
	NULL,
};

/* "order.*" matches every type starting with "order."; anything else must be equal. */
static int
flow_type_matches(const char *pattern, const char *type)
{
	size_t	len = strlen(pattern);

	if (len >= 2 && pattern[len - 1] == '*' && pattern[len - 2] == '.')
		return (strncmp(pattern, type, len - 1) == 0);
	return (strcmp(pattern, type) == 0);
}

const struct kb_flow *
kb_flow_find(const struct kb_flow *const *registry, const char *type)
{
	const char *const	*t;
	size_t			 i;

	for (i = 0; registry[i] != NULL; i++)
		for (t = registry[i]->types; t != NULL && *t != NULL; t++)
			if (flow_type_matches(*t, type))
				return (registry[i]);
	return (NULL);
}
