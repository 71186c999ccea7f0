#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/log.h"
#include "kassaboek/queue.h"
#include "kassaboek/queue-entity.h"
#include "kassaboek/xmalloc.h"

/*
 * KEYS[1] seen key, KEYS[2] stream, KEYS[3] live hash; ARGV: dedupe ttl ms,
 * id, type, received_at, body, entities, key prefix "{p}:". XADD before SET:
 * if the XADD fails the id must not be remembered, or the sender's retry
 * would be answered "duplicate" and the event lost. An event about entities
 * is appended to each entity's sequence list in the same step, so the lists
 * hold events in the order they were received, whichever receiver took
 * them (docs/worker.md, "Ordering"); the live hash says where it is until a
 * worker finishes it. Returns the stream entry id, or nil for a duplicate.
 */
static const char enqueue_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return false end\n"
    "local sid\n"
    "if ARGV[6] == '' then\n"
    "  sid = redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'type', ARGV[3],"
    " 'received_at', ARGV[4], 'body', ARGV[5])\n"
    "else\n"
    "  sid = redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'type', ARGV[3],"
    " 'received_at', ARGV[4], 'body', ARGV[5], 'entities', ARGV[6])\n"
    "  for e in string.gmatch(ARGV[6], '%S+') do\n"
    "    redis.call('RPUSH', ARGV[7] .. 'seq:' .. e, ARGV[2])\n"
    "  end\n"
    "  redis.call('HSET', KEYS[3], ARGV[2], sid)\n"
    "end\n"
    "redis.call('SET', KEYS[1], sid, 'PX', ARGV[1])\n"
    "return sid\n";

struct enqueue_req {
	kb_enqueue_cb	 cb;
	void		*arg;
};

static void
enqueue_reply_cb(struct kb_redis *r, redisReply *reply, void *arg)
{
	struct enqueue_req	*req = arg;

	if (reply == NULL)
		req->cb(KB_ENQUEUE_UNAVAILABLE, NULL, req->arg);
	else if (reply->type == REDIS_REPLY_NIL)
		req->cb(KB_ENQUEUE_DUPLICATE, NULL, req->arg);
	else if (reply->type == REDIS_REPLY_STRING)
		req->cb(KB_ENQUEUE_QUEUED, reply->str, req->arg);
	else {
		kb_error("enqueue failed: %s", reply->type == REDIS_REPLY_ERROR ?
		    reply->str : "unexpected reply type");
		req->cb(KB_ENQUEUE_UNAVAILABLE, NULL, req->arg);
	}
	free(req);
}

void
kb_queue_enqueue(struct kb_redis *r, const char *prefix, uint64_t dedupe_window_ms,
    const struct kb_queue_event *ev, kb_enqueue_cb cb, void *arg)
{
	struct enqueue_req	*req;
	char			 seen[512], stream[128], live[128], ttl[32], received[32], pfx[128];
	char			 entities[KB_QUEUE_ENTITIES_MAX];
	const char		*args[10];
	size_t			 lens[10];

	/* prefix is at most 64 characters (config) and ids at most 256 (verify.h). */
	snprintf(seen, sizeof seen, "{%s}:%s:%s", prefix, KB_QUEUE_SEEN_KEY, ev->id);
	snprintf(stream, sizeof stream, "{%s}:%s", prefix, KB_QUEUE_EVENTS_KEY);
	snprintf(live, sizeof live, "{%s}:live", prefix);
	snprintf(pfx, sizeof pfx, "{%s}:", prefix);
	if (ev->entities != NULL)
		snprintf(entities, sizeof entities, "%s", ev->entities);
	else
		kb_queue_entities(ev->type, ev->body, ev->body_len, entities, sizeof entities);
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)dedupe_window_ms);
	snprintf(received, sizeof received, "%llu", (unsigned long long)ev->received_at_ms);
	args[0] = seen;		lens[0] = strlen(seen);
	args[1] = stream;	lens[1] = strlen(stream);
	args[2] = live;		lens[2] = strlen(live);
	args[3] = ttl;		lens[3] = strlen(ttl);
	args[4] = ev->id;	lens[4] = strlen(ev->id);
	args[5] = ev->type;	lens[5] = strlen(ev->type);
	args[6] = received;	lens[6] = strlen(received);
	args[7] = ev->body;	lens[7] = ev->body_len;
	args[8] = entities;	lens[8] = strlen(entities);
	args[9] = pfx;		lens[9] = strlen(pfx);

	req = xmalloc(sizeof *req);
	req->cb = cb;
	req->arg = arg;
	kb_redis_eval(r, enqueue_script, enqueue_reply_cb, req, 3, 10, args, lens);
}
