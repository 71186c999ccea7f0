#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/log.h"
#include "kassaboek/queue.h"
#include "kassaboek/queue-entity.h"
#include "kassaboek/xmalloc.h"

/*
 * KEYS[1] seen key, KEYS[2] stream, KEYS[3] live hash, KEYS[4..] the
 * sequence lists of the event's entities; ARGV: dedupe ttl ms, id, type,
 * received_at, body, entities. The seen key is claimed first (SET NX: a
 * duplicate costs one command); if the XADD then fails, the claim is
 * dropped again, or the sender's retry would be answered "duplicate" and
 * the event lost (scripts are not rolled back). An event about entities is
 * appended to each entity's sequence list in the same step, so the lists
 * hold events in the order they were received, whichever receiver took
 * them (docs/worker.md, "Ordering"); the live hash says where it is until a
 * worker finishes it. Returns the stream entry id, or nil for a duplicate.
 */
static const char enqueue_script[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return false end\n"
    "local sid\n"
    "if #KEYS == 3 then\n"
    "  sid = redis.pcall('XADD', KEYS[2], '*', 'id', ARGV[2], 'type', ARGV[3],"
    " 'received_at', ARGV[4], 'body', ARGV[5])\n"
    "else\n"
    "  sid = redis.pcall('XADD', KEYS[2], '*', 'id', ARGV[2], 'type', ARGV[3],"
    " 'received_at', ARGV[4], 'body', ARGV[5], 'entities', ARGV[6])\n"
    "end\n"
    "if type(sid) == 'table' then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  return sid\n"
    "end\n"
    "if #KEYS > 3 then\n"
    "  for i = 4, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[2]) end\n"
    "  redis.call('HSET', KEYS[3], ARGV[2], sid)\n"
    "end\n"
    "return sid\n";

/* Entity keys per event at most (queue-entity.h allows a few per type). */
#define ENQUEUE_MAX_ENTITIES	8

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

/* Appends the pieces to buf (size cap); the caller sized buf for the longest possible key. */
static size_t
enqueue_key(char *buf, size_t cap, const char *prefix, const char *a, const char *b)
{
	size_t	n = 0, len;

	buf[n++] = '{';
	len = strlen(prefix);
	memcpy(buf + n, prefix, len);
	n += len;
	buf[n++] = '}';
	buf[n++] = ':';
	if (a != NULL) {
		len = strlen(a);
		memcpy(buf + n, a, len);
		n += len;
	}
	if (b != NULL) {
		buf[n++] = ':';
		len = strlen(b);
		memcpy(buf + n, b, len);
		n += len;
	}
	if (n >= cap)
		abort();	/* cannot happen: prefix <= 64 and id <= 256 bytes are checked earlier */
	buf[n] = '\0';
	return (n);
}

/* Decimal digits of v, without printf (this runs for every webhook). */
static size_t
enqueue_u64(char *buf, uint64_t v)
{
	char	tmp[24];
	size_t	n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return (n);
}

void
kb_queue_enqueue(struct kb_redis *r, const char *prefix, uint64_t dedupe_window_ms,
    const struct kb_queue_event *ev, kb_enqueue_cb cb, void *arg)
{
	struct enqueue_req	*req;
	char			 seen[512], stream[128], live[128], ttl[24], received[24];
	char			 computed[KB_QUEUE_ENTITIES_MAX], seq[ENQUEUE_MAX_ENTITIES][KB_QUEUE_ENTITIES_MAX + 128];
	char			 one[KB_QUEUE_ENTITIES_MAX];
	const char		*entities = ev->entities, *p, *sp;
	const char		*args[3 + ENQUEUE_MAX_ENTITIES + 6];
	size_t			 lens[3 + ENQUEUE_MAX_ENTITIES + 6], len;
	int			 nkeys = 3, i;

	if (entities == NULL) {
		kb_queue_entities(ev->type, ev->body, ev->body_len, computed, sizeof computed);
		entities = computed;
	}
	/* prefix is at most 64 characters (config) and ids at most 256 (verify.h). */
	args[0] = seen;		lens[0] = enqueue_key(seen, sizeof seen, prefix, KB_QUEUE_SEEN_KEY, ev->id);
	args[1] = stream;	lens[1] = enqueue_key(stream, sizeof stream, prefix, KB_QUEUE_EVENTS_KEY, NULL);
	args[2] = live;		lens[2] = enqueue_key(live, sizeof live, prefix, "live", NULL);
	/* Each entity's sequence list is a declared key: "{p}:seq:<entity>". */
	for (p = entities; *p != '\0' && nkeys < 3 + ENQUEUE_MAX_ENTITIES; p = *sp ? sp + 1 : sp) {
		sp = strchr(p, ' ');
		if (sp == NULL)
			sp = p + strlen(p);
		len = (size_t)(sp - p);
		memcpy(one, p, len);
		one[len] = '\0';
		i = nkeys - 3;
		args[nkeys] = seq[i];
		lens[nkeys] = enqueue_key(seq[i], sizeof seq[i], prefix, "seq", one);
		nkeys++;
	}
	i = nkeys;
	args[i] = ttl;		lens[i++] = enqueue_u64(ttl, dedupe_window_ms);
	args[i] = ev->id;	lens[i++] = strlen(ev->id);
	args[i] = ev->type;	lens[i++] = strlen(ev->type);
	args[i] = received;	lens[i++] = enqueue_u64(received, ev->received_at_ms);
	args[i] = ev->body;	lens[i++] = ev->body_len;
	args[i] = entities;	lens[i++] = strlen(entities);

	req = xmalloc(sizeof *req);
	req->cb = cb;
	req->arg = arg;
	kb_redis_eval(r, enqueue_script, enqueue_reply_cb, req, nkeys, i, args, lens);
}
