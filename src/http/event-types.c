/*
 * The webhook event types kassaboek accepts (reference/aspos-api.md). A
 * type not listed here is answered 422 and never enqueued.
 */
#include "config.h"

#include <string.h>

#include "http-internal.h"

static const char *const http_event_types[] = {
	"order.created",
	"order.updated",
	"order.completed",
	"order.cancelled",
	"order.credited",
	"customer.created",
	"customer.updated",
	"product.created",
	"product.updated",
	"stock.changed",
	"register.closed",
};

int
http_event_type_known(const char *type)
{
	size_t	i;

	for (i = 0; i < sizeof http_event_types / sizeof http_event_types[0]; i++)
		if (strcmp(type, http_event_types[i]) == 0)
			return (1);
	return (0);
}
