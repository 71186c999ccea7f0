/*
 * §7.3 fair use: a credit budget per organisation over a sliding 60 s window
 * (1 credit per query, 3 per write) and a cap on requests in flight; beyond
 * either, 429 with Retry-After. The window keeps one entry per charge, so it
 * never holds more entries than the budget has credits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

void
sb_limits_init(struct sb_limits *l, long credits_per_minute, long max_concurrency)
{
	memset(l, 0, sizeof *l);
	sb_limits_set(l, credits_per_minute, max_concurrency);
}

void
sb_limits_free(struct sb_limits *l)
{
	free(l->ring);
	l->ring = NULL;
}

void
sb_limits_set(struct sb_limits *l, long credits_per_minute, long max_concurrency)
{
	/* A new budget starts a new window; requests in flight stay counted. */
	free(l->ring);
	l->ring = NULL;
	l->cap = l->head = l->count = 0;
	l->used = 0;
	l->credits_per_minute = credits_per_minute;
	l->max_concurrency = max_concurrency;
	if (credits_per_minute > 0) {
		l->cap = (size_t)credits_per_minute;
		l->ring = xcalloc(l->cap, sizeof *l->ring);
	}
}

static void
limits_expire(struct sb_limits *l, int64_t now)
{
	while (l->count > 0 && l->ring[l->head].at_ms <= now - SB_RULE_CREDIT_WINDOW_MS) {
		l->used -= l->ring[l->head].credits;
		l->head = (l->head + 1) % l->cap;
		l->count--;
	}
}

/* Seconds until `credits` more fit in the window. */
static long
limits_wait(struct sb_limits *l, int64_t now, int credits)
{
	long	freed = 0;
	size_t	i, k;
	int64_t	wait_ms = SB_RULE_CREDIT_WINDOW_MS;

	if (credits > l->credits_per_minute)
		return (SB_RULE_CREDIT_WINDOW_MS / 1000);
	for (i = 0; i < l->count; i++) {
		k = (l->head + i) % l->cap;
		freed += l->ring[k].credits;
		if (l->used - freed + credits <= l->credits_per_minute) {
			wait_ms = l->ring[k].at_ms + SB_RULE_CREDIT_WINDOW_MS - now;
			break;
		}
	}
	return (wait_ms <= 0 ? 1 : (long)((wait_ms + 999) / 1000));
}

static void
limits_header(struct evkeyvalq *h, const char *name, long v)
{
	char	buf[32];

	snprintf(buf, sizeof buf, "%ld", v);
	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, buf);
}

long
sb_limits_admit(struct sb_server *srv, struct sb_call *call, int credits)
{
	struct sb_limits	*l = &srv->limits;
	struct evkeyvalq	*h;
	int64_t			 now = sb_now_ms();
	long			 retry = 0;

	if (l->credits_per_minute > 0)
		limits_expire(l, now);
	if (l->max_concurrency > 0 && l->in_flight >= l->max_concurrency)
		retry = SB_RULE_CONCURRENCY_RETRY_AFTER;
	else if (l->credits_per_minute > 0 && l->used + credits > l->credits_per_minute)
		retry = limits_wait(l, now, credits);
	if (retry == 0) {
		if (l->credits_per_minute > 0) {
			l->ring[(l->head + l->count) % l->cap].at_ms = now;
			l->ring[(l->head + l->count) % l->cap].credits = credits;
			l->count++;
			l->used += credits;
		}
		l->in_flight++;
		call->counted = 1;
		srv->counters.credits += (uint64_t)credits;
	}
	h = evhttp_request_get_output_headers(call->req);
	if (l->credits_per_minute > 0) {
		limits_header(h, "X-RateLimit-Limit", l->credits_per_minute);
		limits_header(h, "X-RateLimit-Remaining", l->credits_per_minute - l->used);
	}
	limits_header(h, "X-RateLimit-Credited", retry == 0 ? credits : 0);
	if (retry > 0)
		limits_header(h, "Retry-After", retry);
	return (retry);
}

void
sb_limits_release(struct sb_server *srv, struct sb_call *call)
{
	if (call->counted) {
		call->counted = 0;
		srv->limits.in_flight--;
	}
}

struct json_object *
sb_limits_json(struct sb_server *srv)
{
	struct sb_limits	*l = &srv->limits;
	struct json_object	*o;

	if (l->credits_per_minute > 0)
		limits_expire(l, sb_now_ms());
	o = json_object_new_object();
	json_object_object_add(o, "credits_per_minute", json_object_new_int64(l->credits_per_minute));
	json_object_object_add(o, "max_concurrency", json_object_new_int64(l->max_concurrency));
	json_object_object_add(o, "credits_in_window", json_object_new_int64(l->used));
	json_object_object_add(o, "in_flight", json_object_new_int64(l->in_flight));
	return (o);
}
