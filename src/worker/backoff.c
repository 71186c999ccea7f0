/*
 * Retry policy: how long a transiently failed event waits, and the attempt
 * history that travels with it (into the retry set, the stream again, and
 * finally the dead letters).
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "kassaboek/xmalloc.h"

#include "worker-internal.h"

#define BACKOFF_RETRY_AFTER_MAX	(24ULL * 3600 * 1000)

/*
 * Exponential backoff with full jitter above a floor: after failed attempt
 * n (1-based) the wait is uniform in [base, min(max, base * 2^(n-1))], so
 * the first retry waits base, later ones spread out and never exceed max.
 * A Retry-After the other side sent (retry_after, ms) is a lower bound even
 * above max (capped at a day: a hostile header must not park an event for
 * ever). rnd is a random number.
 */
uint64_t
worker_backoff_ms(uint64_t base, uint64_t max, int attempt, uint64_t retry_after, uint64_t rnd)
{
	uint64_t	cap = base, delay;
	int		i;

	if (max < base)
		max = base;
	for (i = 1; i < attempt && cap < max; i++)
		cap = cap > max / 2 ? max : cap * 2;
	if (cap > max)
		cap = max;
	delay = base + (cap > base ? rnd % (cap - base + 1) : 0);
	if (retry_after > BACKOFF_RETRY_AFTER_MAX)
		retry_after = BACKOFF_RETRY_AFTER_MAX;
	if (delay < retry_after)
		delay = retry_after;
	return (delay);
}

/*
 * Returns a new JSON array (the caller frees it): history (a JSON array,
 * NULL or anything else = none) plus one record of this attempt, keeping the
 * last WORKER_HISTORY_MAX records.
 */
char *
worker_history_append(const char *history, int attempt, uint64_t at_ms, const char *kind,
    const char *step, const char *field, const char *message, const char *consumer)
{
	struct json_object	*arr = NULL, *rec, *out;
	char			*s;
	size_t			 i, n;

	if (history != NULL && history[0] == '[')
		arr = json_tokener_parse(history);
	if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		arr = json_object_new_array();
	}
	rec = json_object_new_object();
	json_object_object_add(rec, "attempt", json_object_new_int(attempt));
	json_object_object_add(rec, "at", json_object_new_int64((int64_t)at_ms));
	json_object_object_add(rec, "kind", json_object_new_string(kind));
	json_object_object_add(rec, "step", json_object_new_string(step));
	if (field != NULL)
		json_object_object_add(rec, "field", json_object_new_string(field));
	json_object_object_add(rec, "message", json_object_new_string(message));
	json_object_object_add(rec, "consumer", json_object_new_string(consumer));
	json_object_array_add(arr, rec);
	n = json_object_array_length(arr);
	out = json_object_new_array();
	for (i = n > WORKER_HISTORY_MAX ? n - WORKER_HISTORY_MAX : 0; i < n; i++)
		json_object_array_add(out, json_object_get(json_object_array_get_idx(arr, i)));
	s = xstrdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	json_object_put(arr);
	return (s);
}
