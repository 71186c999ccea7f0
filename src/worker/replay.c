/*
 * `kassaboek replay ID|--all-dead`: dead events back into the stream
 * (worker_replay_script does each one atomically). A one-shot command, so
 * it talks to Redis synchronously. Only the dead entries that exist when it
 * starts are replayed: one that fails again at once lands at the end of the
 * dead stream and is not picked up a second time.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "kassaboek/config.h"
#include "kassaboek/redis.h"
#include "kassaboek/worker.h"
#include "kassaboek/xmalloc.h"

#include "worker-internal.h"

#define REPLAY_BATCH	100

struct replay {
	redisContext	*c;
	char		*pfx, *k_events, *k_live, *k_dead;
	FILE		*out;
	int		 replayed;
	int		 failed;
};

static redisContext *
replay_connect(const char *url, struct kb_err *err)
{
	struct kb_redis_url	 u;
	struct timeval		 tv = { 5, 0 };
	redisContext		*c;
	redisReply		*r;
	const char		*argv[3];
	char			 db[16];
	int			 argc = 0;

	if (kb_redis_url_parse(url, &u, err) == -1)
		return (NULL);
	c = u.path != NULL ? redisConnectUnixWithTimeout(u.path, tv) : redisConnectWithTimeout(u.host, u.port, tv);
	if (c == NULL || c->err) {
		kb_err_set(err, "cannot connect to Redis: %s", c != NULL ? c->errstr : "out of memory");
		goto fail;
	}
	redisSetTimeout(c, tv);
	if (u.password != NULL) {
		argv[argc++] = "AUTH";
		if (u.user != NULL)
			argv[argc++] = u.user;
		argv[argc++] = u.password;
		r = redisCommandArgv(c, argc, argv, NULL);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			kb_err_set(err, "Redis AUTH failed: %s", r != NULL ? r->str : c->errstr);
			freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (u.db != 0) {
		snprintf(db, sizeof db, "%d", u.db);
		r = redisCommand(c, "SELECT %s", db);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			kb_err_set(err, "Redis SELECT failed: %s", r != NULL ? r->str : c->errstr);
			freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	kb_redis_url_clear(&u);
	return (c);
fail:
	if (c != NULL)
		redisFree(c);
	kb_redis_url_clear(&u);
	return (NULL);
}

/* Replays dead entry dsid; returns 0, or -1 if Redis failed (then nothing more can be done). */
static int
replay_one(struct replay *rp, const char *dsid)
{
	const char	*argv[10];
	char		 now[32];
	redisReply	*r;
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(now, sizeof now, "%llu", (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000);
	argv[0] = "EVAL";
	argv[1] = worker_replay_script;
	argv[2] = "3";
	argv[3] = rp->k_events;
	argv[4] = rp->k_live;
	argv[5] = rp->k_dead;
	argv[6] = rp->pfx;
	argv[7] = KB_WORKER_GROUP;
	argv[8] = dsid;
	argv[9] = now;
	r = redisCommandArgv(rp->c, 10, argv, NULL);
	if (r == NULL) {
		fprintf(stderr, "kassaboek: replay: Redis: %s\n", rp->c->errstr);
		return (-1);
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		fprintf(rp->out, "replayed %s (dead entry %s) as stream entry %s\n", r->element[0]->str, dsid,
		    r->element[1]->str);
		rp->replayed++;
	} else if (r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "kassaboek: replay %s: %s\n", dsid, r->str);
		rp->failed++;
	}
	freeReplyObject(r);
	return (0);
}

static int
replay_is_entry_id(const char *s)
{
	const char	*p = s;

	if (!isdigit((unsigned char)*p))
		return (0);
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != '-' || !isdigit((unsigned char)*p))
		return (0);
	while (isdigit((unsigned char)*p))
		p++;
	return (*p == '\0');
}

/* 1 if entry (an XRANGE element) has field id equal to id. */
static int
replay_entry_has_id(const redisReply *entry, const char *id)
{
	const redisReply	*f = entry->element[1];
	size_t			 i;

	if (f == NULL || f->type != REDIS_REPLY_ARRAY)
		return (0);
	for (i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, "id") == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING && strcmp(f->element[i + 1]->str, id) == 0)
			return (1);
	return (0);
}

/*
 * Walks the dead stream up to the entry that was last when we started,
 * replaying every entry (id NULL) or those of event id.
 */
static int
replay_scan(struct replay *rp, const char *id)
{
	const char	*argv[7];
	char		 start[80], upper[64];
	redisReply	*r, *e;
	size_t		 i;
	int		 rc = 0, done = 0;

	r = redisCommand(rp->c, "XREVRANGE %s + - COUNT 1", rp->k_dead);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		fprintf(stderr, "kassaboek: replay: Redis: %s\n", r != NULL && r->type == REDIS_REPLY_ERROR ?
		    r->str : rp->c->errstr);
		freeReplyObject(r);
		return (-1);
	}
	if (r->elements == 0) {
		freeReplyObject(r);
		return (0);
	}
	snprintf(upper, sizeof upper, "%s", r->element[0]->element[0]->str);
	freeReplyObject(r);
	snprintf(start, sizeof start, "-");
	while (!done) {
		argv[0] = "XRANGE";
		argv[1] = rp->k_dead;
		argv[2] = start;
		argv[3] = upper;
		argv[4] = "COUNT";
		argv[5] = "100";
		if ((r = redisCommandArgv(rp->c, 6, argv, NULL)) == NULL || r->type != REDIS_REPLY_ARRAY) {
			fprintf(stderr, "kassaboek: replay: Redis: %s\n", r != NULL &&
			    r->type == REDIS_REPLY_ERROR ? r->str : rp->c->errstr);
			freeReplyObject(r);
			return (-1);
		}
		done = r->elements < REPLAY_BATCH;
		for (i = 0; i < r->elements && rc == 0; i++) {
			e = r->element[i];
			if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING)
				continue;
			snprintf(start, sizeof start, "(%s", e->element[0]->str);
			if (id == NULL || replay_entry_has_id(e, id))
				rc = replay_one(rp, e->element[0]->str);
		}
		freeReplyObject(r);
		if (rc == -1)
			return (-1);
	}
	return (0);
}

int
kb_replay(const struct kb_config *cfg, const char *id, int all, FILE *out)
{
	struct replay	 rp;
	struct kb_err	 err;
	redisReply	*r;
	int		 rc = EX_OK;

	memset(&rp, 0, sizeof rp);
	rp.out = out;
	if ((rp.c = replay_connect(cfg->redis.url, &err)) == NULL) {
		fprintf(stderr, "kassaboek: %s\n", err.msg);
		return (EX_UNAVAILABLE);
	}
	rp.pfx = xasprintf("{%s}:", cfg->redis.prefix);
	rp.k_events = xasprintf("%sevents", rp.pfx);
	rp.k_live = xasprintf("%s%s", rp.pfx, KB_WORKER_LIVE_KEY);
	rp.k_dead = xasprintf("%s%s", rp.pfx, KB_WORKER_DEAD_KEY);
	if (all) {
		if (replay_scan(&rp, NULL) == -1)
			rc = EX_UNAVAILABLE;
		else if (rp.replayed == 0 && rp.failed == 0)
			fprintf(out, "no dead events\n");
	} else {
		/* An entry id of the dead stream is taken as is; anything else is an event id. */
		if (replay_is_entry_id(id)) {
			r = redisCommand(rp.c, "XRANGE %s %s %s", rp.k_dead, id, id);
			if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
			    replay_one(&rp, id) == -1)
				rc = EX_UNAVAILABLE;
			freeReplyObject(r);
		}
		if (rc == EX_OK && rp.replayed == 0 && replay_scan(&rp, id) == -1)
			rc = EX_UNAVAILABLE;
		if (rc == EX_OK && rp.replayed == 0 && rp.failed == 0) {
			fprintf(stderr, "kassaboek: replay: no dead event with id %s\n", id);
			rc = EX_NOINPUT;
		}
	}
	if (rc == EX_OK && rp.failed > 0)
		rc = EX_SOFTWARE;
	redisFree(rp.c);
	free(rp.pfx);
	free(rp.k_events);
	free(rp.k_live);
	free(rp.k_dead);
	return (rc);
}
