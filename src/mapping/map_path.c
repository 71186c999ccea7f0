/*
 * Source paths: "$" is the event, "@" the element an "each" is at; then
 * ".name", "[3]", "[-1]" (last) or "[\"any key\"]" steps. Parsed once at
 * load; resolving walks json-c objects iteratively, so no source depth can
 * exhaust the stack.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kassaboek/xmalloc.h"

#include "map-internal.h"

#define MAP_PATH_MAX_STEPS	64

int
map_path_is(const char *s)
{
	if (s[0] != '$' && s[0] != '@')
		return (0);
	return (s[1] == '\0' || s[1] == '.' || s[1] == '[');
}

static int
map_path_namechar(unsigned char c)
{
	return (c > ' ' && c != '.' && c != '[' && c != ']' && c != '"' &&
	    c != 0x7f);
}

static void
map_path_add(struct map_path *p, char *key, long index)
{
	p->steps = xreallocarray(p->steps, p->nsteps + 1, sizeof *p->steps);
	p->steps[p->nsteps].key = key;
	p->steps[p->nsteps].index = index;
	p->nsteps++;
}

int
map_path_parse(const char *s, struct map_path *out, char *why, size_t whylen)
{
	const char	*q, *start;
	char		*end;
	long		 n;

	memset(out, 0, sizeof *out);
	if (!map_path_is(s)) {
		snprintf(why, whylen, "a path starts with '$' (the event) or "
		    "'@' (the current element)");
		return (-1);
	}
	out->relative = (s[0] == '@');
	out->text = xstrdup(s);
	q = s + 1;
	while (*q != '\0') {
		if (out->nsteps >= MAP_PATH_MAX_STEPS) {
			snprintf(why, whylen, "more than %d steps",
			    MAP_PATH_MAX_STEPS);
			goto fail;
		}
		if (*q == '.') {
			start = ++q;
			while (map_path_namechar((unsigned char)*q))
				q++;
			if (q == start) {
				snprintf(why, whylen, "empty name at offset %zu",
				    (size_t)(start - s));
				goto fail;
			}
			if (*q != '\0' && *q != '.' && *q != '[') {
				snprintf(why, whylen, "unexpected '%c' at offset "
				    "%zu", *q, (size_t)(q - s));
				goto fail;
			}
			map_path_add(out, xstrndup(start, q - start), 0);
		} else if (*q == '[' && q[1] == '"') {
			start = q + 2;
			if ((q = strchr(start, '"')) == NULL || q[1] != ']') {
				snprintf(why, whylen, "unterminated [\"...\"] at "
				    "offset %zu", (size_t)(start - 2 - s));
				goto fail;
			}
			map_path_add(out, xstrndup(start, q - start), 0);
			q += 2;
		} else if (*q == '[') {
			start = q + 1;
			n = strtol(start, &end, 10);
			if (end == start || *end != ']' || end - start > 7 ||
			    (*start != '-' && (*start < '0' || *start > '9'))) {
				snprintf(why, whylen, "bad index at offset %zu "
				    "(use [0], [-1] or [\"key\"])",
				    (size_t)(q - s));
				goto fail;
			}
			map_path_add(out, NULL, n);
			q = end + 1;
		} else {
			snprintf(why, whylen, "unexpected '%c' at offset %zu",
			    *q, (size_t)(q - s));
			goto fail;
		}
	}
	return (0);
fail:
	map_path_clear(out);
	return (-1);
}

void
map_path_clear(struct map_path *p)
{
	size_t	i;

	for (i = 0; i < p->nsteps; i++)
		free(p->steps[i].key);
	free(p->steps);
	free(p->text);
	memset(p, 0, sizeof *p);
}

struct json_object *
map_path_get(const struct map_path *p, struct json_object *root,
    struct json_object *current)
{
	struct json_object	*v, *next;
	const struct map_step	*st;
	size_t			 i, len;
	long			 idx;

	v = p->relative ? current : root;
	for (i = 0; i < p->nsteps && v != NULL; i++) {
		st = &p->steps[i];
		if (st->key != NULL) {
			if (!json_object_is_type(v, json_type_object) ||
			    !json_object_object_get_ex(v, st->key, &next))
				return (NULL);
			v = next;
		} else {
			if (!json_object_is_type(v, json_type_array))
				return (NULL);
			len = json_object_array_length(v);
			idx = st->index;
			if (idx < 0)
				idx += (long)len;
			if (idx < 0 || (size_t)idx >= len)
				return (NULL);
			v = json_object_array_get_idx(v, (size_t)idx);
		}
	}
	if (v != NULL && json_object_is_type(v, json_type_null))
		return (NULL);
	return (v);
}
