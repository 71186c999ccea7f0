/*
 * The transformation functions of a "pipe". Each takes the value so far
 * (owned, NULL when empty) and replaces it. An empty value passes through
 * untouched except for the functions whose point is to fill it
 * (default_if_empty, concat). Strings are handled as UTF-8: truncate and
 * substring count characters, not bytes, and never split one.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kassaboek/xmalloc.h"

#include "map-internal.h"

static const struct map_fn_def map_fn_defs[] = {
	{ "trim", MAP_FN_TRIM, MAP_ARG_NONE, 0, 0, "\"trim\"" },
	{ "upper", MAP_FN_UPPER, MAP_ARG_NONE, 0, 0, "\"upper\"" },
	{ "lower", MAP_FN_LOWER, MAP_ARG_NONE, 0, 0, "\"lower\"" },
	{ "digits_only", MAP_FN_DIGITS_ONLY, MAP_ARG_NONE, 0, 0,
	    "\"digits_only\"" },
	{ "string", MAP_FN_STRING, MAP_ARG_NONE, 0, 0, "\"string\"" },
	{ "number", MAP_FN_NUMBER, MAP_ARG_NONE, 0, 0, "\"number\"" },
	{ "negate", MAP_FN_NEGATE, MAP_ARG_NONE, 0, 0, "\"negate\"" },
	{ "abs", MAP_FN_ABS, MAP_ARG_NONE, 0, 0, "\"abs\"" },
	{ "round", MAP_FN_ROUND, MAP_ARG_INT, 0, 10, "{\"round\": 2}" },
	{ "fixed", MAP_FN_FIXED, MAP_ARG_INT, 0, 10, "{\"fixed\": 2}" },
	{ "truncate", MAP_FN_TRUNCATE, MAP_ARG_INT, 1, MAP_MAX_STRING,
	    "{\"truncate\": 40}" },
	{ "substring", MAP_FN_SUBSTRING, MAP_ARG_INT2, 0, MAP_MAX_STRING,
	    "{\"substring\": [start, length]}" },
	{ "replace", MAP_FN_REPLACE, MAP_ARG_STR2, 0, 0,
	    "{\"replace\": [\"from\", \"to\"]}" },
	{ "date", MAP_FN_DATE, MAP_ARG_DATEFMT, 0, 0, "{\"date\": \"yyyymmdd\"}" },
	{ "add_days", MAP_FN_ADD_DAYS, MAP_ARG_EXPR, 0, 0,
	    "{\"add_days\": 30} or {\"add_days\": \"$.path\"}" },
	{ "default_if_empty", MAP_FN_DEFAULT_IF_EMPTY, MAP_ARG_EXPR, 0, 0,
	    "{\"default_if_empty\": value}" },
	{ "lookup", MAP_FN_LOOKUP, MAP_ARG_TABLE, 0, 0,
	    "{\"lookup\": \"table\"}" },
	{ "concat", MAP_FN_CONCAT, MAP_ARG_EXPRS, 0, 0,
	    "{\"concat\": [value, ...]}" },
	{ "add", MAP_FN_ADD, MAP_ARG_EXPR, 0, 0, "{\"add\": value}" },
	{ "sub", MAP_FN_SUB, MAP_ARG_EXPR, 0, 0, "{\"sub\": value}" },
	{ "mul", MAP_FN_MUL, MAP_ARG_EXPR, 0, 0, "{\"mul\": value}" },
	{ "div", MAP_FN_DIV, MAP_ARG_EXPR, 0, 0, "{\"div\": value}" },
	{ "pad_left", MAP_FN_PAD_LEFT, MAP_ARG_PAD, 1, 64,
	    "{\"pad_left\": [6, \"0\"]}" },
};

#define MAP_NFN (sizeof map_fn_defs / sizeof map_fn_defs[0])

const struct map_fn_def *
map_fn_find(const char *name)
{
	size_t	i;

	for (i = 0; i < MAP_NFN; i++)
		if (strcmp(map_fn_defs[i].name, name) == 0)
			return (&map_fn_defs[i]);
	return (NULL);
}

const char *
map_fn_suggest(const char *name)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = 3;

	for (i = 0; i < MAP_NFN; i++) {
		d = map_edit_distance(name, map_fn_defs[i].name);
		if (d < bestd) {
			bestd = d;
			best = map_fn_defs[i].name;
		}
	}
	return (best);
}

/* Number of UTF-8 characters before byte offset len. */
static size_t
map_fn_utf8_skip(const char *s, size_t len, size_t nchars)
{
	size_t	at = 0;

	while (at < len && nchars > 0) {
		at++;
		while (at < len && ((unsigned char)s[at] & 0xc0) == 0x80)
			at++;
		nchars--;
	}
	return (at);
}

static int
map_fn_number(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_fn *fn,
    struct json_object *v, double *out)
{
	char	q[80];

	if (map_value_num(v, out) == 0)
		return (0);
	map_value_quote(v, q, sizeof q);
	return (map_fail(ctx, sc, node, "%s: %s is not a number", fn->name, q));
}

static int
map_fn_arg_number(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_fn *fn, double *out,
    int *empty)
{
	struct json_object	*a = NULL;
	char			 q[80];
	int			 rc = 0;

	*empty = 0;
	if (map_eval(ctx, sc, fn->args[0], &a) != 0)
		return (-1);
	if (map_value_empty(a))
		*empty = 1;
	else if (map_value_num(a, out) != 0) {
		map_value_quote(a, q, sizeof q);
		rc = map_fail(ctx, sc, node, "%s: argument %s is not a number",
		    fn->name, q);
	}
	json_object_put(a);
	return (rc);
}

static int
map_fn_set_string(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_fn *fn,
    struct json_object **v, const char *s, size_t len)
{
	struct json_object	*n;

	if (len > MAP_MAX_STRING)
		return (map_fail(ctx, sc, node, "%s: result too long (%zu bytes, "
		    "max %d)", fn->name, len, MAP_MAX_STRING));
	n = json_object_new_string_len(s, (int)len);
	json_object_put(*v);
	*v = n;
	return (0);
}

static int
map_fn_concat(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_fn *fn, struct json_object **v)
{
	struct json_object	*a;
	char			 nb[MAP_NUMBUF], *buf;
	const char		*s;
	size_t			 i, n, len = 0, cap = 256;
	int			 rc = -1;

	buf = xmalloc(cap);
	for (i = 0; i <= fn->nargs; i++) {
		a = NULL;
		if (i == 0)
			a = json_object_get(*v);
		else if (map_eval(ctx, sc, fn->args[i - 1], &a) != 0)
			goto out;
		if ((s = map_value_str(a, nb, &n)) == NULL) {
			map_fail(ctx, sc, node, "%s: cannot join %s", fn->name,
			    map_value_type(a));
			json_object_put(a);
			goto out;
		}
		if (len + n > MAP_MAX_STRING) {
			map_fail(ctx, sc, node, "%s: result too long (max %d "
			    "bytes)", fn->name, MAP_MAX_STRING);
			json_object_put(a);
			goto out;
		}
		while (len + n + 1 > cap)
			cap *= 2;
		buf = xreallocarray(buf, cap, 1);
		memcpy(buf + len, s, n);
		len += n;
		json_object_put(a);
	}
	json_object_put(*v);
	*v = len == 0 ? NULL : json_object_new_string_len(buf, (int)len);
	rc = 0;
out:
	free(buf);
	return (rc);
}

static int
map_fn_replace(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_fn *fn, struct json_object **v,
    const char *s, size_t len)
{
	char		*buf;
	const char	*p, *hit;
	size_t		 flen, tlen, cap, at = 0;
	int		 rc;

	flen = strlen(fn->sa);
	tlen = strlen(fn->sb);
	/* Worst case every position matches. */
	cap = len + 1 + (tlen > flen ? (len / flen + 1) * (tlen - flen) : 0);
	if (cap > 4 * (size_t)MAP_MAX_STRING + 1)
		return (map_fail(ctx, sc, node, "%s: result too long (max %d "
		    "bytes)", fn->name, MAP_MAX_STRING));
	buf = xmalloc(cap);
	p = s;
	while ((hit = memmem(p, len - (size_t)(p - s), fn->sa, flen)) != NULL) {
		memcpy(buf + at, p, (size_t)(hit - p));
		at += (size_t)(hit - p);
		memcpy(buf + at, fn->sb, tlen);
		at += tlen;
		p = hit + flen;
	}
	memcpy(buf + at, p, len - (size_t)(p - s));
	at += len - (size_t)(p - s);
	rc = map_fn_set_string(ctx, sc, node, fn, v, buf, at);
	free(buf);
	return (rc);
}

static int
map_fn_string(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_fn *fn, struct json_object **v)
{
	char		 nb[MAP_NUMBUF], *buf, out[128];
	const char	*s;
	size_t		 len, i, at, b, e;
	struct map_tm	 tm;
	int		 rc;

	if ((s = map_value_str(*v, nb, &len)) == NULL)
		return (map_fail(ctx, sc, node, "%s: expected a value, got %s",
		    fn->name, map_value_type(*v)));
	switch (fn->id) {
	case MAP_FN_TRIM:
		b = 0;
		e = len;
		while (b < e && strchr(" \t\r\n\f\v", s[b]) != NULL)
			b++;
		while (e > b && strchr(" \t\r\n\f\v", s[e - 1]) != NULL)
			e--;
		return (map_fn_set_string(ctx, sc, node, fn, v, s + b, e - b));
	case MAP_FN_UPPER:
	case MAP_FN_LOWER:
	case MAP_FN_DIGITS_ONLY:
		buf = xmalloc(len + 1);
		for (i = at = 0; i < len; i++) {
			if (fn->id == MAP_FN_UPPER)
				buf[at++] = s[i] >= 'a' && s[i] <= 'z' ?
				    s[i] - 'a' + 'A' : s[i];
			else if (fn->id == MAP_FN_LOWER)
				buf[at++] = s[i] >= 'A' && s[i] <= 'Z' ?
				    s[i] - 'A' + 'a' : s[i];
			else if (s[i] >= '0' && s[i] <= '9')
				buf[at++] = s[i];
		}
		rc = map_fn_set_string(ctx, sc, node, fn, v, buf, at);
		free(buf);
		return (rc);
	case MAP_FN_STRING:
		return (map_fn_set_string(ctx, sc, node, fn, v, s, len));
	case MAP_FN_TRUNCATE:
		at = map_fn_utf8_skip(s, len, (size_t)fn->ia);
		return (map_fn_set_string(ctx, sc, node, fn, v, s, at));
	case MAP_FN_SUBSTRING:
		b = map_fn_utf8_skip(s, len, (size_t)fn->ia);
		e = b + map_fn_utf8_skip(s + b, len - b, (size_t)fn->ib);
		return (map_fn_set_string(ctx, sc, node, fn, v, s + b, e - b));
	case MAP_FN_PAD_LEFT:
		at = 0;
		for (i = 0; i < len; i++)
			if (((unsigned char)s[i] & 0xc0) != 0x80)
				at++;
		if (at >= (size_t)fn->ia)
			return (0);
		b = (size_t)fn->ia - at;
		buf = xmalloc(b + len + 1);
		memset(buf, fn->sa[0], b);
		memcpy(buf + b, s, len);
		rc = map_fn_set_string(ctx, sc, node, fn, v, buf, b + len);
		free(buf);
		return (rc);
	case MAP_FN_REPLACE:
		return (map_fn_replace(ctx, sc, node, fn, v, s, len));
	case MAP_FN_DATE:
		if (map_date_parse(s, len, &tm) != 0) {
			map_value_quote(*v, out, sizeof out);
			return (map_fail(ctx, sc, node, "%s: %s is not an ISO 8601 "
			    "date (yyyy-mm-dd[Thh:mm[:ss]][zone])", fn->name,
			    out));
		}
		map_date_format(&tm, fn->sa, out, sizeof out);
		return (map_fn_set_string(ctx, sc, node, fn, v, out,
		    strlen(out)));
	default:
		abort();
	}
}

static int
map_fn_days(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_fn *fn, struct json_object **v)
{
	struct map_tm	 tm;
	char		 nb[MAP_NUMBUF], out[80];
	const char	*s;
	size_t		 len;
	double		 days;
	int		 empty;

	if ((s = map_value_str(*v, nb, &len)) == NULL ||
	    map_date_parse(s, len, &tm) != 0) {
		map_value_quote(*v, out, sizeof out);
		return (map_fail(ctx, sc, node, "%s: %s is not an ISO 8601 date",
		    fn->name, out));
	}
	if (map_fn_arg_number(ctx, sc, node, fn, &days, &empty) != 0)
		return (-1);
	if (empty)
		days = 0;
	if (fabs(days) > 100000)
		return (map_fail(ctx, sc, node, "%s: %.0f days is out of range",
		    fn->name, days));
	map_date_add_days(&tm, (long)days);
	if (tm.h == 0 && tm.mi == 0 && tm.s == 0 && len == 10)
		map_date_format(&tm, "%Y-%m-%d", out, sizeof out);
	else
		map_date_format(&tm, "%Y-%m-%dT%H:%M:%S", out, sizeof out);
	return (map_fn_set_string(ctx, sc, node, fn, v, out, strlen(out)));
}

static int
map_fn_math(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_fn *fn, struct json_object **v)
{
	char	buf[MAP_NUMBUF];
	double	x, y = 0;
	int	empty = 0;

	if (map_fn_number(ctx, sc, node, fn, *v, &x) != 0)
		return (-1);
	if (fn->nargs > 0 &&
	    map_fn_arg_number(ctx, sc, node, fn, &y, &empty) != 0)
		return (-1);
	switch (fn->id) {
	case MAP_FN_NUMBER:
		break;
	case MAP_FN_NEGATE:
		x = -x;
		break;
	case MAP_FN_ABS:
		x = fabs(x);
		break;
	case MAP_FN_ROUND:
		x = map_value_round(x, (int)fn->ia);
		break;
	case MAP_FN_FIXED:
		snprintf(buf, sizeof buf, "%.*f", (int)fn->ia,
		    map_value_round(x, (int)fn->ia));
		if (strcmp(buf, "-0") == 0 || strspn(buf, "-0.") == strlen(buf))
			snprintf(buf, sizeof buf, "%.*f", (int)fn->ia, 0.0);
		return (map_fn_set_string(ctx, sc, node, fn, v, buf,
		    strlen(buf)));
	case MAP_FN_ADD:
		x += y;
		break;
	case MAP_FN_SUB:
		x -= y;
		break;
	case MAP_FN_MUL:
		if (!empty)
			x *= y;
		break;
	case MAP_FN_DIV:
		if (empty)
			break;
		if (y == 0)
			return (map_fail(ctx, sc, node, "%s: division by zero",
			    fn->name));
		x /= y;
		break;
	default:
		abort();
	}
	if (!isfinite(x))
		return (map_fail(ctx, sc, node, "%s: result out of range",
		    fn->name));
	json_object_put(*v);
	*v = map_value_new_number(x);
	return (0);
}

int
map_fn_apply(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_fn *fn, struct json_object **v)
{
	struct json_object	*n;

	switch (fn->id) {
	case MAP_FN_DEFAULT_IF_EMPTY:
		if (!map_value_empty(*v))
			return (0);
		n = NULL;
		if (map_eval(ctx, sc, fn->args[0], &n) != 0)
			return (-1);
		json_object_put(*v);
		*v = n;
		return (0);
	case MAP_FN_CONCAT:
		return (map_fn_concat(ctx, sc, node, fn, v));
	default:
		break;
	}
	if (map_value_empty(*v)) {
		/* Nothing to transform; an empty string stays as it is. */
		return (0);
	}
	switch (fn->id) {
	case MAP_FN_LOOKUP:
		n = NULL;
		if (map_table_get(ctx, sc, node, fn->table, v, 1, &n) != 0)
			return (-1);
		json_object_put(*v);
		*v = n;
		return (0);
	case MAP_FN_ADD_DAYS:
		return (map_fn_days(ctx, sc, node, fn, v));
	case MAP_FN_NUMBER:
	case MAP_FN_NEGATE:
	case MAP_FN_ABS:
	case MAP_FN_ROUND:
	case MAP_FN_FIXED:
	case MAP_FN_ADD:
	case MAP_FN_SUB:
	case MAP_FN_MUL:
	case MAP_FN_DIV:
		return (map_fn_math(ctx, sc, node, fn, v));
	default:
		return (map_fn_string(ctx, sc, node, fn, v));
	}
}
