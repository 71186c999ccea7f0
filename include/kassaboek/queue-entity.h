/*
 * The entities an event is about ("order:10023", "customer:C77",
 * "email:jan@example.nl", "product:100234"). Events that share an entity are
 * applied in the order they were received (docs/worker.md, "Ordering"):
 * the enqueue script appends the event to one sequence list per entity, and
 * a worker runs an event only when it heads all of its lists.
 *
 * The mapping from event type to entity fields is one table in entity.c.
 */
#ifndef KASSABOEK_QUEUE_ENTITY_H
#define KASSABOEK_QUEUE_ENTITY_H

#include <stddef.h>

#include "kassaboek/jsonscan.h"

/* Room for every key of one event, separators and the NUL included. */
#define KB_QUEUE_ENTITIES_MAX	2048
/* Room for one entity value as read from the body; a longer one is no identity. */
#define KB_QUEUE_ENTITY_SCAN_MAX	4096
/* How many member paths entity keys come from (kb_queue_entity_paths). */
#define KB_QUEUE_ENTITY_PATHS_MAX	8

/*
 * Writes the entity keys of an event into out, separated by single spaces
 * (NUL-terminated, "" when it has none) and returns how many there are.
 * body is the raw webhook envelope; one that does not parse has no keys.
 * Values are bounded and encoded so a key never holds a space or a control
 * byte: [A-Za-z0-9._@+-] stay, other bytes become %XX, a value longer than
 * 128 bytes becomes #<sha1 hex>; one over 4096
 * bytes is no identity. E-mail addresses are lower-cased.
 */
int	kb_queue_entities(const char *type, const char *body, size_t len, char *out, size_t outsz);

/*
 * For a caller that scans the body itself (the receiver, in the one pass
 * that also checks it): the member paths entity values come from, into
 * paths (at most max; returns how many), and the keys built from captures
 * of those paths, in the same order, each with KB_QUEUE_ENTITY_SCAN_MAX
 * bytes of buffer. kb_queue_entities() is the two together.
 */
size_t	kb_queue_entity_paths(const char *const **paths, size_t max);
int	kb_queue_entities_from(const char *type, const struct kb_json_capture *caps, char *out, size_t outsz);

#endif
