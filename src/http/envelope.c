/*
 * The webhook envelope as the receiver reads it: one pass of the JSON
 * scanner (kassaboek/jsonscan.h) that checks the whole body and copies out
 * the top-level "id" and "type", the kind of "data", and the values the
 * entity keys are made of (queue-entity.h), so the body is read once.
 */
#include "config.h"

#include <string.h>

#include "http-internal.h"
#include "kassaboek/queue-entity.h"

int
http_envelope_parse(const char *body, size_t len, struct http_envelope *env, struct kb_err *err)
{
	static const char *const	 p_id[] = { "id", NULL };
	static const char *const	 p_type[] = { "type", NULL };
	static const char *const	 p_data[] = { "data", NULL };
	const char *const		*paths[KB_QUEUE_ENTITY_PATHS_MAX];
	struct kb_json_capture		 caps[3 + KB_QUEUE_ENTITY_PATHS_MAX];
	char				 vals[KB_QUEUE_ENTITY_PATHS_MAX][KB_QUEUE_ENTITY_SCAN_MAX];
	enum kb_json_kind		 root;
	char				 nodata[1];
	size_t				 i, n;

	memset(env, 0, sizeof *env);
	memset(caps, 0, sizeof caps);
	n = kb_queue_entity_paths(paths, KB_QUEUE_ENTITY_PATHS_MAX);
	for (i = 0; i < n; i++) {
		caps[3 + i].path = paths[i];
		caps[3 + i].buf = vals[i];
		caps[3 + i].cap = sizeof vals[i];
	}
	caps[0].path = p_id;
	caps[0].buf = env->id;
	caps[0].cap = sizeof env->id;
	caps[1].path = p_type;
	caps[1].buf = env->type;
	caps[1].cap = sizeof env->type;
	caps[2].path = p_data;
	caps[2].buf = nodata;
	caps[2].cap = sizeof nodata;
	if (kb_json_scan(body, len, &root, caps, 3 + n, err) == -1)
		return (-1);
	env->is_object = root == KB_JSON_OBJECT;
	env->has_id = caps[0].kind == KB_JSON_STRING && !caps[0].too_long;
	/* A type too long for the buffer is no known type: it reads as empty. */
	env->has_type = caps[1].kind == KB_JSON_STRING;
	env->data_is_object = caps[2].kind == KB_JSON_OBJECT;
	if (env->has_type)
		kb_queue_entities_from(env->type, caps + 3, env->entities, sizeof env->entities);
	return (0);
}
