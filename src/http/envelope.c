/*
 * The webhook envelope as the receiver reads it: one pass of the JSON
 * scanner (kassaboek/jsonscan.h) that checks the whole body and copies out
 * the top-level "id" and "type" and the kind of "data".
 */
#include "config.h"

#include <string.h>

#include "http-internal.h"

int
http_envelope_parse(const char *body, size_t len, struct http_envelope *env, struct kb_err *err)
{
	static const char *const	 p_id[] = { "id", NULL };
	static const char *const	 p_type[] = { "type", NULL };
	static const char *const	 p_data[] = { "data", NULL };
	struct kb_json_capture		 caps[3];
	enum kb_json_kind		 root;
	char				 nodata[1];

	memset(env, 0, sizeof *env);
	memset(caps, 0, sizeof caps);
	caps[0].path = p_id;
	caps[0].buf = env->id;
	caps[0].cap = sizeof env->id;
	caps[1].path = p_type;
	caps[1].buf = env->type;
	caps[1].cap = sizeof env->type;
	caps[2].path = p_data;
	caps[2].buf = nodata;
	caps[2].cap = sizeof nodata;
	if (kb_json_scan(body, len, &root, caps, 3, err) == -1)
		return (-1);
	env->is_object = root == KB_JSON_OBJECT;
	env->has_id = caps[0].kind == KB_JSON_STRING && !caps[0].too_long;
	/* A type too long for the buffer is no known type: it reads as empty. */
	env->has_type = caps[1].kind == KB_JSON_STRING;
	env->data_is_object = caps[2].kind == KB_JSON_OBJECT;
	return (0);
}
