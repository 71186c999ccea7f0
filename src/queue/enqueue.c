#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/log.h"
#include "kassaboek/queue.h"
#include "kassaboek/xmalloc.h"

/*
 * KEYS[1] seen key, KEYS[2] stream; ARGV: dedupe ttl ms, id, type,
 * received_at, body. XADD before SET: if the XADD fails the id must not be
 * remembered, or the sender's retry would be answered "duplicate" and the
 * event lost. Returns the stream entry id, or nil for a duplicate.
 */
static const char enqueue_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return false end\n"
    "local sid = redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'type', ARGV[3],"
    " 'received_at', ARGV[4], 'body', ARGV[5])\n"
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
	char			 seen[512], stream[128], ttl[32], received[32];
	const char		*args[7];
	size_t			 lens[7];

	/* prefix is at most 64 characters (config) and ids at most 256 (verify.h). */
	snprintf(seen, sizeof seen, "{%s}:%s:%s", prefix, KB_QUEUE_SEEN_KEY, ev->id);
	snprintf(stream, sizeof stream, "{%s}:%s", prefix, KB_QUEUE_EVENTS_KEY);
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)dedupe_window_ms);
	snprintf(received, sizeof received, "%llu", (unsigned long long)ev->received_at_ms);
	args[0] = seen;		lens[0] = strlen(seen);
	args[1] = stream;	lens[1] = strlen(stream);
	args[2] = ttl;		lens[2] = strlen(ttl);
	args[3] = ev->id;	lens[3] = strlen(ev->id);
	args[4] = ev->type;	lens[4] = strlen(ev->type);
	args[5] = received;	lens[5] = strlen(received);
	args[6] = ev->body;	lens[6] = ev->body_len;

	req = xmalloc(sizeof *req);
	req->cb = cb;
	req->arg = arg;
	kb_redis_eval(r, enqueue_script, enqueue_reply_cb, req, 2, 7, args, lens);
}
