/*
 * Readers of the mapped order (the mapper's output, docs/mapping.md): the
 * Twinfield builders take C strings, so numbers become text here, kept by
 * the job until it is freed.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "kassaboek/xmalloc.h"

#include "orders-internal.h"

const char *
oj_keep(struct orders_job *oj, char *s)
{
	oj->strs = xreallocarray(oj->strs, oj->nstrs + 1, sizeof *oj->strs);
	oj->strs[oj->nstrs++] = s;
	return (s);
}

struct json_object *
oj_obj(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return (NULL);
	return (v);
}

const char *
oj_str(struct orders_job *oj, struct json_object *o, const char *key)
{
	struct json_object	*v = oj_obj(o, key);
	const char		*s;
	double			 d;

	if (v == NULL)
		return (NULL);
	switch (json_object_get_type(v)) {
	case json_type_string:
		s = json_object_get_string(v);
		return (*s == '\0' ? NULL : s);
	case json_type_int:
		return (oj_keep(oj, xasprintf("%lld", (long long)json_object_get_int64(v))));
	case json_type_double:
		d = json_object_get_double(v);
		if (d == floor(d) && fabs(d) < 1e15)
			return (oj_keep(oj, xasprintf("%.0f", d)));
		return (oj_keep(oj, xasprintf("%.6g", d)));
	case json_type_boolean:
		return (json_object_get_boolean(v) ? "true" : "false");
	default:
		return (NULL);
	}
}

int
oj_amount(struct json_object *o, const char *key, int64_t *cents)
{
	struct json_object	*v = oj_obj(o, key);
	const char		*s;
	char			*end;
	double			 d;

	*cents = 0;
	if (v == NULL)
		return (0);
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		if (*s == '\0')
			return (0);
		d = strtod(s, &end);
		if (*end != '\0')
			return (0);
	} else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		d = json_object_get_double(v);
	else
		return (0);
	if (!isfinite(d) || fabs(d) > 1e13)
		return (0);
	*cents = (int64_t)llround(d * 100.0);
	return (1);
}

int
oj_bool(struct json_object *o, const char *key, int def)
{
	struct json_object	*v = oj_obj(o, key);

	if (v == NULL)
		return (def);
	if (json_object_is_type(v, json_type_string))
		return (strcmp(json_object_get_string(v), "true") == 0);
	return (json_object_get_boolean(v));
}

char *
oj_digest(struct json_object *o)
{
	const char	*s;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	char		*hex;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha1(), NULL);
	hex = xmalloc(2 * mdlen + 1);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
	return (hex);
}
