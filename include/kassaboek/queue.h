/*
 * The event stream: webhooks (and later polled events) become entries of
 * {prefix}:events. Dedupe and enqueue are one Lua script, so two receivers
 * racing on one id enqueue it once, and an id is only marked seen once its
 * entry exists.
 */
#ifndef KASSABOEK_QUEUE_H
#define KASSABOEK_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "kassaboek/redis.h"

enum kb_enqueue_result {
	KB_ENQUEUE_QUEUED,	/* new entry added */
	KB_ENQUEUE_DUPLICATE,	/* id seen within the dedupe window; nothing added */
	KB_ENQUEUE_UNAVAILABLE,	/* Redis unreachable, slow or failing; nothing known to be added */
};

/* All borrowed; copied before kb_queue_enqueue returns. */
struct kb_queue_event {
	const char	*id;
	const char	*type;
	const char	*body;
	size_t		 body_len;
	uint64_t	 received_at_ms;
	const char	*entities;	/* entity keys (queue-entity.h); NULL: read them from body */
};

/* stream_id is borrowed for the call (NULL unless QUEUED). */
typedef void (*kb_enqueue_cb)(enum kb_enqueue_result result, const char *stream_id, void *arg);

/* Key names: "{prefix}:events", "{prefix}:seen:<id>". */
#define KB_QUEUE_EVENTS_KEY	"events"
#define KB_QUEUE_SEEN_KEY	"seen"

void	kb_queue_enqueue(struct kb_redis *r, const char *prefix, uint64_t dedupe_window_ms,
	    const struct kb_queue_event *ev, kb_enqueue_cb cb, void *arg);

#endif
