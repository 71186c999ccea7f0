/*
 * Applying a compiled mapping to an event. Every evaluation returns an
 * owned reference (NULL = empty), so ownership never needs thinking about
 * at the call sites. Scalars are copied out of the source, so the target
 * shares nothing with it. Recursion follows the compiled mapping (whose
 * depth map_compile() bounds), never the event; loops are bounded by
 * MAP_MAX_ITEMS, an output budget and an evaluation-step budget, so no
 * event (and no mapping) can exhaust the stack, the memory or the CPU.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kassaboek/err.h"
#include "kassaboek/xmalloc.h"

#include "map-internal.h"

#define MAP_MAX_OUTPUT_VALUES	200000
#define MAP_MAX_OUTPUT_BYTES	(16 * 1024 * 1024)
#define MAP_MAX_STEPS		5000000
#define MAP_MAX_FRAMES		(MAP_MAX_DEPTH * 2 + 8)

struct map_frame {
	const char	*key;		/* NULL: an array index */
	size_t		 index;
};

struct map_ctx {
	const struct map		*map;
	struct json_object		*root;
	const struct map_settings	*settings;
	struct json_object		**vars;
	struct map_frame		 frames[MAP_MAX_FRAMES];
	size_t				 nframes;
	size_t				 splice_base;
	size_t				 values;
	size_t				 bytes;
	size_t				 steps;
	struct kb_err			*err;
};

static void
map_push_key(struct map_ctx *ctx, const char *key)
{
	if (ctx->nframes < MAP_MAX_FRAMES) {
		ctx->frames[ctx->nframes].key = key;
		ctx->frames[ctx->nframes].index = 0;
	}
	ctx->nframes++;
}

static void
map_push_index(struct map_ctx *ctx, size_t index)
{
	if (ctx->nframes < MAP_MAX_FRAMES) {
		ctx->frames[ctx->nframes].key = NULL;
		ctx->frames[ctx->nframes].index = index;
	}
	ctx->nframes++;
}

static void
map_pop(struct map_ctx *ctx)
{
	ctx->nframes--;
}

static void
map_cat(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
map_cat(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*at >= len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at = *at + (size_t)n >= len ? len - 1 : *at + (size_t)n;
}

/* "$.lines[1]": where the element of an each scope is in the event. */
static void
map_scope_text(const struct map_scope *sc, char *buf, size_t len, size_t *at)
{
	if (sc == NULL) {
		map_cat(buf, len, at, "$");
		return;
	}
	if (sc->path->relative)
		map_scope_text(sc->parent, buf, len, at);
	else
		map_cat(buf, len, at, "$");
	map_cat(buf, len, at, "%s[%zu]", sc->path->text + 1, sc->index);
}

static void
map_describe(const struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, char *buf, size_t len, size_t *at)
{
	switch (n->kind) {
	case MAP_PATH:
	case MAP_EACH:
		if (n->path.relative) {
			map_scope_text(sc, buf, len, at);
			map_cat(buf, len, at, "%s", n->path.text + 1);
		} else
			map_cat(buf, len, at, "%s", n->path.text);
		break;
	case MAP_SETTING:
		map_cat(buf, len, at, "setting %s", n->setting);
		break;
	case MAP_VAR:
		map_cat(buf, len, at, "var %s", ctx->map->varnames[n->var]);
		break;
	case MAP_CONST:
		map_cat(buf, len, at, "constant");
		break;
	case MAP_LOOKUP:
		map_cat(buf, len, at, "table %s", n->table->name);
		break;
	case MAP_CONCAT:
	case MAP_FIRST:
		map_describe(ctx, sc, n->kids[0], buf, len, at);
		break;
	case MAP_OBJECT:
	case MAP_ARRAY:
		break;
	}
}

int
map_fail(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const char *fmt, ...)
{
	char	 msg[KB_ERR_MAX], target[256], src[256];
	size_t	 i, at = 0, sat = 0;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	target[0] = src[0] = '\0';
	for (i = 0; i < ctx->nframes && i < MAP_MAX_FRAMES; i++) {
		if (ctx->frames[i].key != NULL)
			map_cat(target, sizeof target, &at, "%s%.64s",
			    at == 0 ? "" : ".", ctx->frames[i].key);
		else
			map_cat(target, sizeof target, &at, "[%zu]",
			    ctx->frames[i].index);
	}
	if (at == 0)
		map_cat(target, sizeof target, &at, "(target)");
	if (node != NULL)
		map_describe(ctx, sc, node, src, sizeof src, &sat);
	if (sat > 0)
		return (kb_err_set(ctx->err, "%s: %s (source %s)", target, msg,
		    src));
	return (kb_err_set(ctx->err, "%s: %s", target, msg));
}

static int
map_table_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct map_tentry *)a)->key,
	    ((const struct map_tentry *)b)->key));
}

int
map_table_get(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *node, const struct map_table *t,
    struct json_object **keys, size_t nkeys, struct json_object **out)
{
	const struct map_tlevel	*l = &t->root;
	const struct map_tentry	*e = NULL;
	struct map_tentry	 probe;
	const struct map_node	*src;
	char			 nb[MAP_NUMBUF], vals[200], q[80];
	const char		*s;
	size_t			 i, j, len, at;

	*out = NULL;
	for (i = 0; i < nkeys; i++) {
		src = node->kind == MAP_LOOKUP ? node->kids[i] : node;
		if ((s = map_value_str(keys[i], nb, &len)) == NULL)
			return (map_fail(ctx, sc, src, "table '%s': a key cannot "
			    "be %s", t->name, map_value_type(keys[i])));
		if (len == 0) {
			if ((e = l->wild) == NULL)
				return (0);	/* empty key, no default: empty */
		} else {
			probe.key = (char *)s;
			e = strlen(s) != len ? NULL : bsearch(&probe, l->e, l->n,
			    sizeof *l->e, map_table_cmp);
			if (e == NULL && (e = l->wild) == NULL) {
				at = 0;
				vals[0] = '\0';
				for (j = 0; j <= i; j++) {
					map_value_quote(keys[j], q, sizeof q);
					map_cat(vals, sizeof vals, &at, "%s%s",
					    j == 0 ? "" : ", ", q);
				}
				return (map_fail(ctx, sc, src, "value %s not in "
				    "table '%s' (and no \"*\" default)", vals,
				    t->name));
			}
		}
		if (i + 1 < nkeys)
			l = e->child;
	}
	if (e != NULL && e->value != NULL)
		*out = map_value_copy_scalar(e->value);
	return (0);
}

static int
map_cond_eval(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_cond *c, int *truth)
{
	struct json_object	*a = NULL, *b = NULL;
	size_t			 i;
	int			 t, cmp;

	switch (c->op) {
	case MAP_COND_TRUTHY:
		if (map_eval(ctx, sc, c->a, &a) != 0)
			return (-1);
		*truth = map_value_truthy(a);
		json_object_put(a);
		return (0);
	case MAP_COND_NOT:
		if (map_cond_eval(ctx, sc, c->kids[0], &t) != 0)
			return (-1);
		*truth = !t;
		return (0);
	case MAP_COND_ALL:
	case MAP_COND_ANY:
		for (i = 0; i < c->nkids; i++) {
			if (map_cond_eval(ctx, sc, c->kids[i], &t) != 0)
				return (-1);
			if (t != (c->op == MAP_COND_ALL))
				break;
		}
		/* all: true unless one was false; any: true if one was. */
		*truth = (c->op == MAP_COND_ALL) == (i == c->nkids);
		return (0);
	default:
		if (map_eval(ctx, sc, c->a, &a) != 0)
			return (-1);
		if (map_eval(ctx, sc, c->b, &b) != 0) {
			json_object_put(a);
			return (-1);
		}
		cmp = map_value_cmp(a, b);
		json_object_put(a);
		json_object_put(b);
		*truth = c->op == MAP_COND_EQ ? cmp == 0 :
		    c->op == MAP_COND_NE ? cmp != 0 :
		    c->op == MAP_COND_LT ? cmp < 0 : cmp > 0;
		return (0);
	}
}

static int
map_is_value_kind(const struct map_node *n)
{
	return (n->kind != MAP_OBJECT && n->kind != MAP_ARRAY &&
	    n->kind != MAP_EACH);
}

/* Accounts for a value going into the target; fails past the budgets. */
static int
map_account(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, struct json_object *v)
{
	if (map_is_value_kind(n) && !map_value_is_scalar(v))
		return (map_fail(ctx, sc, n, "expected a value, got %s",
		    map_value_type(v)));
	if (json_object_is_type(v, json_type_string))
		ctx->bytes += (size_t)json_object_get_string_len(v);
	if (++ctx->values > MAP_MAX_OUTPUT_VALUES ||
	    ctx->bytes > MAP_MAX_OUTPUT_BYTES)
		return (map_fail(ctx, sc, NULL, "target larger than %d values "
		    "or %d bytes", MAP_MAX_OUTPUT_VALUES, MAP_MAX_OUTPUT_BYTES));
	return (0);
}

static int
map_string_ok(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, size_t len)
{
	if (len > MAP_MAX_STRING)
		return (map_fail(ctx, sc, n, "value too long (%zu bytes, max %d)",
		    len, MAP_MAX_STRING));
	return (0);
}

static int
map_eval_join(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, struct json_object **out)
{
	struct json_object	*v;
	char			 nb[MAP_NUMBUF], *buf = NULL;
	const char		*s;
	size_t			 i, len, at = 0, seplen;
	int			 rc = -1;

	seplen = n->sep != NULL ? strlen(n->sep) : 0;
	for (i = 0; i < n->nkids; i++) {
		v = NULL;
		if (map_eval(ctx, sc, n->kids[i], &v) != 0)
			goto out;
		if (n->kind == MAP_FIRST) {
			if (!map_value_empty(v)) {
				*out = v;
				return (0);
			}
			json_object_put(v);
			continue;
		}
		if ((s = map_value_str(v, nb, &len)) == NULL) {
			map_fail(ctx, sc, n->kids[i], "concat: cannot join %s",
			    map_value_type(v));
			json_object_put(v);
			goto out;
		}
		if (len > 0) {
			if (at + seplen + len > MAP_MAX_STRING) {
				map_fail(ctx, sc, n->kids[i], "concat: result too "
				    "long (max %d bytes)", MAP_MAX_STRING);
				json_object_put(v);
				goto out;
			}
			if (buf == NULL)
				buf = xmalloc(MAP_MAX_STRING + 1);
			if (at > 0 && seplen > 0) {
				memcpy(buf + at, n->sep, seplen);
				at += seplen;
			}
			memcpy(buf + at, s, len);
			at += len;
		}
		json_object_put(v);
	}
	if (at > 0)
		*out = json_object_new_string_len(buf, (int)at);
	rc = 0;
out:
	free(buf);
	return (rc);
}

static int
map_eval_lookup(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, struct json_object **out)
{
	struct json_object	*keys[16];
	size_t			 i, nk = 0;
	int			 rc = -1;

	for (i = 0; i < n->nkids; i++) {
		keys[i] = NULL;
		if (map_eval(ctx, sc, n->kids[i], &keys[i]) != 0)
			goto out;
		nk = i + 1;
	}
	rc = map_table_get(ctx, sc, n, n->table, keys, n->nkids, out);
out:
	for (i = 0; i < nk; i++)
		json_object_put(keys[i]);
	return (rc);
}

static int
map_eval_each(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, struct json_object **out)
{
	struct json_object	*arr, *res, *v;
	struct map_scope	 inner;
	size_t			 i, len, base;
	int			 truth;

	base = ctx->splice_base;
	ctx->splice_base = 0;
	arr = map_path_get(&n->path, ctx->root, sc != NULL ? sc->elem :
	    ctx->root);
	if (arr == NULL)
		return (0);
	if (!json_object_is_type(arr, json_type_array))
		return (map_fail(ctx, sc, n, "each: expected an array, got %s",
		    map_value_type(arr)));
	len = json_object_array_length(arr);
	if (len > MAP_MAX_ITEMS)
		return (map_fail(ctx, sc, n, "each: more than %d elements",
		    MAP_MAX_ITEMS));
	res = json_object_new_array_ext((int)len);
	inner.parent = sc;
	inner.path = &n->path;
	for (i = 0; i < len; i++) {
		inner.elem = json_object_array_get_idx(arr, i);
		inner.index = i;
		if (n->when != NULL) {
			if (map_cond_eval(ctx, &inner, n->when, &truth) != 0)
				goto fail;
			if (!truth)
				continue;
		}
		map_push_index(ctx, base + json_object_array_length(res));
		v = NULL;
		if (map_eval(ctx, &inner, n->item, &v) != 0 ||
		    (v != NULL && map_account(ctx, &inner, n->item, v) != 0)) {
			json_object_put(v);
			map_pop(ctx);
			goto fail;
		}
		map_pop(ctx);
		if (v != NULL)
			json_object_array_add(res, v);
	}
	*out = res;
	return (0);
fail:
	json_object_put(res);
	return (-1);
}

static int
map_eval_array(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, struct json_object **out)
{
	struct json_object	*res, *v;
	size_t			 i, j;
	int			 splice;

	res = json_object_new_array();
	for (i = 0; i < n->nkids; i++) {
		v = NULL;
		splice = n->kids[i]->kind == MAP_EACH;
		/* An each names its own elements, at their place in res. */
		if (splice)
			ctx->splice_base = json_object_array_length(res);
		else
			map_push_index(ctx, json_object_array_length(res));
		if (map_eval(ctx, sc, n->kids[i], &v) != 0 ||
		    (v != NULL && !splice &&
		    map_account(ctx, sc, n->kids[i], v) != 0)) {
			json_object_put(v);
			if (!splice)
				map_pop(ctx);
			json_object_put(res);
			return (-1);
		}
		if (!splice)
			map_pop(ctx);
		if (v == NULL)
			continue;
		if (splice) {
			/* Splice: [each lines, shipping line] is one list. */
			for (j = 0; j < json_object_array_length(v); j++)
				json_object_array_add(res, json_object_get(
				    json_object_array_get_idx(v, j)));
			json_object_put(v);
		} else
			json_object_array_add(res, v);
	}
	*out = res;
	return (0);
}

static int
map_eval_object(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, struct json_object **out)
{
	struct json_object	*res, *v;
	size_t			 i;

	res = json_object_new_object();
	for (i = 0; i < n->nkids; i++) {
		v = NULL;
		map_push_key(ctx, n->keys[i]);
		if (map_eval(ctx, sc, n->kids[i], &v) != 0 ||
		    (v != NULL && map_account(ctx, sc, n->kids[i], v) != 0)) {
			json_object_put(v);
			map_pop(ctx);
			json_object_put(res);
			return (-1);
		}
		map_pop(ctx);
		if (v != NULL)
			json_object_object_add_ex(res, n->keys[i], v,
			    JSON_C_OBJECT_ADD_KEY_IS_NEW);
	}
	*out = res;
	return (0);
}

static int
map_eval_source(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, struct json_object **out)
{
	struct json_object	*v;
	const char		*s;

	switch (n->kind) {
	case MAP_CONST:
		if (n->cval != NULL)
			*out = map_value_copy_scalar(n->cval);
		return (0);
	case MAP_PATH:
	case MAP_VAR:
		if (n->kind == MAP_VAR)
			v = ctx->vars[n->var];
		else
			v = map_path_get(&n->path, ctx->root, sc != NULL ?
			    sc->elem : ctx->root);
		if (v == NULL)
			return (0);
		if (map_value_is_scalar(v)) {
			if (json_object_is_type(v, json_type_string) &&
			    map_string_ok(ctx, sc, n,
			    (size_t)json_object_get_string_len(v)) != 0)
				return (-1);
			*out = map_value_copy_scalar(v);
		} else
			*out = json_object_get(v);
		return (0);
	case MAP_SETTING:
		if (ctx->settings == NULL || ctx->settings->get == NULL ||
		    (s = ctx->settings->get(ctx->settings->arg,
		    n->setting)) == NULL || *s == '\0')
			return (0);
		if (map_string_ok(ctx, sc, n, strlen(s)) != 0)
			return (-1);
		*out = json_object_new_string(s);
		return (0);
	case MAP_CONCAT:
	case MAP_FIRST:
		return (map_eval_join(ctx, sc, n, out));
	case MAP_LOOKUP:
		return (map_eval_lookup(ctx, sc, n, out));
	case MAP_EACH:
		return (map_eval_each(ctx, sc, n, out));
	case MAP_ARRAY:
		return (map_eval_array(ctx, sc, n, out));
	case MAP_OBJECT:
		return (map_eval_object(ctx, sc, n, out));
	}
	return (0);
}

int
map_eval(struct map_ctx *ctx, const struct map_scope *sc,
    const struct map_node *n, struct json_object **out)
{
	struct json_object	*v = NULL;
	size_t			 i;
	int			 truth;

	*out = NULL;
	if (++ctx->steps > MAP_MAX_STEPS)
		return (map_fail(ctx, sc, NULL, "mapping needs more than %d "
		    "steps for this event", MAP_MAX_STEPS));
	/* An each applies its condition to every element instead. */
	if (n->when != NULL && n->kind != MAP_EACH) {
		if (map_cond_eval(ctx, sc, n->when, &truth) != 0)
			return (-1);
		if (!truth)
			return (0);
	}
	if (map_eval_source(ctx, sc, n, &v) != 0)
		return (-1);
	for (i = 0; i < n->npipe; i++) {
		if (map_fn_apply(ctx, sc, n, &n->pipe[i], &v) != 0) {
			json_object_put(v);
			return (-1);
		}
	}
	if (map_value_empty(v) && n->dflt != NULL) {
		json_object_put(v);
		if (map_eval(ctx, sc, n->dflt, &v) != 0)
			return (-1);
	}
	if (map_value_empty(v)) {
		json_object_put(v);
		if (n->required)
			return (map_fail(ctx, sc, n, "required value missing"));
		return (0);
	}
	*out = v;
	return (0);
}

int
map_apply(const struct map *m, struct json_object *source,
    const struct map_settings *settings, struct json_object **out,
    struct kb_err *err)
{
	struct map_ctx		 ctx;
	struct json_object	*v = NULL;
	size_t			 i;
	int			 rc = -1;

	*out = NULL;
	memset(&ctx, 0, sizeof ctx);
	ctx.map = m;
	ctx.root = source;
	ctx.settings = settings;
	ctx.err = err;
	ctx.vars = xcalloc(m->nvars + 1, sizeof *ctx.vars);
	/* Vars first, in order: a var sees the ones declared before it. */
	for (i = 0; i < m->nvars; i++) {
		map_push_key(&ctx, "vars");
		map_push_key(&ctx, m->varnames[i]);
		if (map_eval(&ctx, NULL, m->vars[i], &ctx.vars[i]) != 0)
			goto out;
		ctx.nframes = 0;
	}
	if (map_eval(&ctx, NULL, m->fields, &v) != 0)
		goto out;
	*out = v != NULL ? v : json_object_new_object();
	rc = 0;
out:
	for (i = 0; i < m->nvars; i++)
		json_object_put(ctx.vars[i]);
	free(ctx.vars);
	return (rc);
}
