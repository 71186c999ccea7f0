/*
 * Loading a mapping: parse the JSON (strict, bounded), then compile it into
 * the tree of map-internal.h, validating everything that can be validated
 * without an event: keywords, paths, function names and arguments, table
 * shapes, references to tables and vars. Every error reads
 *   <file>: <place in the mapping>: <problem>
 * e.g. "conf/mapping/order.json: fields.invoice.currency.pipe[0]: unknown
 * function 'uper' (did you mean 'upper'?)".
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kassaboek/err.h"
#include "kassaboek/xmalloc.h"

#include "map-internal.h"

#define MAP_MAX_LIST		256	/* items of concat, first, arrays, keys */
#define MAP_MAX_TABLE_DEPTH	8
#define MAP_MAX_NAME		128

struct map_cc {
	const char	*name;
	struct map	*map;
	char		 loc[1024];
	size_t		 loclen;
	int		 depth;
	struct kb_err	*err;
};

static const char *map_src_keys[] = {
	"path", "const", "setting", "var", "concat", "first", "lookup", "each",
	"object", NULL
};
static const char *map_mod_keys[] = {
	"pipe", "default", "required", "when", "sep", "key", "item", NULL
};
static const char *map_cond_keys[] = {
	"not", "all", "any", "eq", "ne", "lt", "gt", NULL
};
static const char *map_top_keys[] = {
	"version", "description", "tables", "vars", "fields", NULL
};

static int	map_cc_expr(struct map_cc *, struct json_object *, struct map_node **);
static int	map_cc_cond(struct map_cc *, struct json_object *, struct map_cond **);
static void	map_cond_free(struct map_cond *);
static const char *map_cc_first_keyword(struct json_object *);
static int	map_cc_is_exprobj(struct json_object *);

size_t
map_edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, prev[65], cur[65], c;

	if (la > 64 || lb > 64)
		return ((size_t)-1);
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			c = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < c)
				c = prev[j] + 1;
			if (cur[j - 1] + 1 < c)
				c = cur[j - 1] + 1;
			cur[j] = c;
		}
		memcpy(prev, cur, sizeof prev);
	}
	return (prev[lb]);
}

/* Closest candidate within two edits, or NULL. */
static const char *
map_cc_suggest(const char *word, const char *const *cands, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = 3;

	for (i = 0; (n == (size_t)-1 ? cands[i] != NULL : i < n); i++) {
		d = map_edit_distance(word, cands[i]);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return (best);
}

static int
map_cc_in(const char *word, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(word, *list) == 0)
			return (1);
	return (0);
}

static int
map_cc_fail(struct map_cc *cc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
map_cc_fail(struct map_cc *cc, const char *fmt, ...)
{
	char	msg[KB_ERR_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (cc->loclen == 0)
		return (kb_err_set(cc->err, "%s: %s", cc->name, msg));
	return (kb_err_set(cc->err, "%s: %s: %s", cc->name, cc->loc, msg));
}

/* "did you mean" tail for messages; empty when there is no close match. */
static void
map_cc_hint(char *buf, size_t len, const char *best)
{
	if (best != NULL)
		snprintf(buf, len, " (did you mean '%s'?)", best);
	else
		buf[0] = '\0';
}

static size_t
map_cc_push_key(struct map_cc *cc, const char *key)
{
	size_t	old = cc->loclen;
	int	n;

	n = snprintf(cc->loc + old, sizeof cc->loc - old, "%s%.64s%s",
	    old == 0 ? "" : ".", key, strlen(key) > 64 ? "..." : "");
	if (n > 0)
		cc->loclen = old + (size_t)n >= sizeof cc->loc ?
		    sizeof cc->loc - 1 : old + (size_t)n;
	return (old);
}

static size_t
map_cc_push_index(struct map_cc *cc, size_t i)
{
	size_t	old = cc->loclen;
	int	n;

	n = snprintf(cc->loc + old, sizeof cc->loc - old, "[%zu]", i);
	if (n > 0)
		cc->loclen = old + (size_t)n >= sizeof cc->loc ?
		    sizeof cc->loc - 1 : old + (size_t)n;
	return (old);
}

static void
map_cc_pop(struct map_cc *cc, size_t old)
{
	cc->loclen = old;
	cc->loc[old] = '\0';
}

static int
map_cc_name_ok(const char *s)
{
	size_t	n = strlen(s);

	return (n > 0 && n <= MAP_MAX_NAME);
}

static void
map_cc_add_setting(struct map *m, const char *key)
{
	size_t	i;

	for (i = 0; i < m->nsettings; i++)
		if (strcmp(m->settings[i], key) == 0)
			return;
	m->settings = xreallocarray(m->settings, m->nsettings + 1,
	    sizeof *m->settings);
	m->settings[m->nsettings++] = xstrdup(key);
}

static struct map_table *
map_cc_table(struct map_cc *cc, const char *name)
{
	size_t	i;

	for (i = 0; i < cc->map->ntables; i++)
		if (strcmp(cc->map->tables[i]->name, name) == 0)
			return (cc->map->tables[i]);
	return (NULL);
}

static int
map_cc_unknown_table(struct map_cc *cc, const char *name)
{
	const char	**names;
	char		  hint[200];
	size_t		  i;

	names = xcalloc(cc->map->ntables + 1, sizeof *names);
	for (i = 0; i < cc->map->ntables; i++)
		names[i] = cc->map->tables[i]->name;
	map_cc_hint(hint, sizeof hint, map_cc_suggest(name, names,
	    cc->map->ntables));
	free(names);
	return (map_cc_fail(cc, "unknown table '%.64s'%s", name, hint));
}

/* A list of expressions: an array, or (where allowed) a single expression. */
static int
map_cc_list(struct map_cc *cc, struct json_object *j, int single_ok,
    struct map_node ***out, size_t *nout)
{
	size_t	i, n, old;

	*out = NULL;
	*nout = 0;
	if (!json_object_is_type(j, json_type_array)) {
		if (!single_ok)
			return (map_cc_fail(cc, "expected an array of values"));
		*out = xcalloc(1, sizeof **out);
		*nout = 1;
		return (map_cc_expr(cc, j, &(*out)[0]));
	}
	n = json_object_array_length(j);
	if (n == 0)
		return (map_cc_fail(cc, "expected a non-empty array"));
	if (n > MAP_MAX_LIST)
		return (map_cc_fail(cc, "more than %d items", MAP_MAX_LIST));
	*out = xcalloc(n, sizeof **out);
	*nout = n;
	for (i = 0; i < n; i++) {
		old = map_cc_push_index(cc, i);
		if (map_cc_expr(cc, json_object_array_get_idx(j, i),
		    &(*out)[i]) != 0)
			return (-1);
		map_cc_pop(cc, old);
	}
	return (0);
}

static int
map_cc_int(struct map_cc *cc, struct json_object *j, long min, long max,
    const struct map_fn_def *def, long *out)
{
	int64_t	v;

	if (j == NULL || !json_object_is_type(j, json_type_int) ||
	    (v = json_object_get_int64(j)) < min || v > max)
		return (map_cc_fail(cc, "'%s' needs a whole number from %ld to "
		    "%ld: %s", def->name, min, max, def->usage));
	*out = (long)v;
	return (0);
}

static int
map_cc_fn(struct map_cc *cc, struct json_object *j, struct map_fn *fn)
{
	const struct map_fn_def	*def;
	struct json_object	*arg = NULL, *a0, *a1;
	const char		*name, *s, *preset;
	char			 hint[200], why[300];
	size_t			 nkeys = 0, old;

	if (json_object_is_type(j, json_type_string)) {
		name = json_object_get_string(j);
	} else if (json_object_is_type(j, json_type_object)) {
		name = NULL;
		json_object_object_foreach(j, k, v) {
			name = k;
			arg = v;
			nkeys++;
		}
		if (nkeys != 1)
			return (map_cc_fail(cc, "a function call is \"name\" or "
			    "{\"name\": argument}, with exactly one name"));
	} else
		return (map_cc_fail(cc, "a function call is \"name\" or "
		    "{\"name\": argument}, not %s",
		    map_value_type(j)));
	if ((def = map_fn_find(name)) == NULL) {
		map_cc_hint(hint, sizeof hint, map_fn_suggest(name));
		return (map_cc_fail(cc, "unknown function '%.64s'%s", name,
		    hint));
	}
	fn->id = def->id;
	fn->name = def->name;
	if (def->arg == MAP_ARG_NONE) {
		if (arg != NULL)
			return (map_cc_fail(cc, "'%s' takes no argument: write "
			    "%s", def->name, def->usage));
		return (0);
	}
	if (arg == NULL)
		return (map_cc_fail(cc, "'%s' needs an argument: %s", def->name,
		    def->usage));
	old = map_cc_push_key(cc, def->name);
	switch (def->arg) {
	case MAP_ARG_INT:
		if (map_cc_int(cc, arg, def->min, def->max, def, &fn->ia) != 0)
			return (-1);
		break;
	case MAP_ARG_INT2:
	case MAP_ARG_PAD:
		if (!json_object_is_type(arg, json_type_array) ||
		    json_object_array_length(arg) != 2)
			return (map_cc_fail(cc, "'%s' needs two arguments: %s",
			    def->name, def->usage));
		a0 = json_object_array_get_idx(arg, 0);
		a1 = json_object_array_get_idx(arg, 1);
		if (map_cc_int(cc, a0, def->min, def->max, def, &fn->ia) != 0)
			return (-1);
		if (def->arg == MAP_ARG_INT2) {
			if (map_cc_int(cc, a1, def->min, def->max, def,
			    &fn->ib) != 0)
				return (-1);
			break;
		}
		if (!json_object_is_type(a1, json_type_string) ||
		    json_object_get_string_len(a1) != 1 ||
		    (unsigned char)json_object_get_string(a1)[0] < ' ' ||
		    (unsigned char)json_object_get_string(a1)[0] > '~')
			return (map_cc_fail(cc, "'%s' pads with one ASCII "
			    "character: %s", def->name, def->usage));
		fn->sa = xstrdup(json_object_get_string(a1));
		break;
	case MAP_ARG_STR2:
		if (!json_object_is_type(arg, json_type_array) ||
		    json_object_array_length(arg) != 2 ||
		    !json_object_is_type(a0 = json_object_array_get_idx(arg, 0),
		    json_type_string) ||
		    !json_object_is_type(a1 = json_object_array_get_idx(arg, 1),
		    json_type_string))
			return (map_cc_fail(cc, "'%s' needs two strings: %s",
			    def->name, def->usage));
		if (json_object_get_string_len(a0) == 0 ||
		    json_object_get_string_len(a0) > 256 ||
		    json_object_get_string_len(a1) > 256)
			return (map_cc_fail(cc, "'%s': the text to replace must "
			    "be 1 to 256 bytes, its replacement at most 256",
			    def->name));
		fn->sa = xstrdup(json_object_get_string(a0));
		fn->sb = xstrdup(json_object_get_string(a1));
		break;
	case MAP_ARG_DATEFMT:
		if (!json_object_is_type(arg, json_type_string))
			return (map_cc_fail(cc, "'%s' needs a format string: %s",
			    def->name, def->usage));
		s = json_object_get_string(arg);
		if ((preset = map_date_preset(s)) != NULL)
			s = preset;
		else if (strchr(s, '%') == NULL)
			return (map_cc_fail(cc, "unknown date format '%.64s' "
			    "(use yyyymmdd, yyyy/mm, yyyy-mm-dd, dd-mm-yyyy, iso, "
			    "or %%Y %%m %%d %%H %%M %%S conversions)", s));
		else if (map_date_format_check(s, why, sizeof why) != 0)
			return (map_cc_fail(cc, "%s", why));
		fn->sa = xstrdup(s);
		break;
	case MAP_ARG_EXPR:
		fn->args = xcalloc(1, sizeof *fn->args);
		fn->nargs = 1;
		if (map_cc_expr(cc, arg, &fn->args[0]) != 0)
			return (-1);
		break;
	case MAP_ARG_EXPRS:
		if (map_cc_list(cc, arg, 1, &fn->args, &fn->nargs) != 0)
			return (-1);
		break;
	case MAP_ARG_TABLE:
		if (!json_object_is_type(arg, json_type_string))
			return (map_cc_fail(cc, "'%s' needs a table name: %s",
			    def->name, def->usage));
		s = json_object_get_string(arg);
		if ((fn->table = map_cc_table(cc, s)) == NULL)
			return (map_cc_unknown_table(cc, s));
		if (fn->table->depth != 1)
			return (map_cc_fail(cc, "table '%.64s' takes %zu keys; "
			    "look it up with {\"lookup\": \"%.64s\", \"key\": "
			    "[...]}", s, fn->table->depth, s));
		break;
	case MAP_ARG_NONE:
		break;
	}
	map_cc_pop(cc, old);
	return (0);
}

static int
map_cc_pipe(struct map_cc *cc, struct json_object *j, struct map_node *n)
{
	size_t	i, len, old;

	if (!json_object_is_type(j, json_type_array))
		return (map_cc_fail(cc, "expected an array of functions, e.g. "
		    "[\"trim\", {\"truncate\": 40}]"));
	len = json_object_array_length(j);
	if (len > MAP_MAX_LIST)
		return (map_cc_fail(cc, "more than %d functions", MAP_MAX_LIST));
	n->pipe = xcalloc(len == 0 ? 1 : len, sizeof *n->pipe);
	for (i = 0; i < len; i++) {
		old = map_cc_push_index(cc, i);
		n->npipe = i + 1;
		if (map_cc_fn(cc, json_object_array_get_idx(j, i),
		    &n->pipe[i]) != 0)
			return (-1);
		map_cc_pop(cc, old);
	}
	return (0);
}

static int
map_cc_path(struct map_cc *cc, struct json_object *j, struct map_path *p)
{
	char	why[200];

	if (!json_object_is_type(j, json_type_string))
		return (map_cc_fail(cc, "expected a path string like "
		    "\"$.customer.email\" or \"@.sku\""));
	if (json_object_get_string_len(j) > 1024)
		return (map_cc_fail(cc, "path longer than 1024 bytes"));
	if (strlen(json_object_get_string(j)) !=
	    (size_t)json_object_get_string_len(j))
		return (map_cc_fail(cc, "path contains a NUL byte"));
	if (map_path_parse(json_object_get_string(j), p, why, sizeof why) != 0)
		return (map_cc_fail(cc, "bad path '%.64s': %s",
		    json_object_get_string(j), why));
	return (0);
}

/* A target object: every key is a target field, every value an expression. */
static int
map_cc_object(struct map_cc *cc, struct json_object *j, struct map_node *n)
{
	size_t	i = 0, len, old;

	n->kind = MAP_OBJECT;
	len = (size_t)json_object_object_length(j);
	if (len > MAP_MAX_LIST * 4)
		return (map_cc_fail(cc, "more than %d fields", MAP_MAX_LIST * 4));
	n->keys = xcalloc(len + 1, sizeof *n->keys);
	n->kids = xcalloc(len + 1, sizeof *n->kids);
	json_object_object_foreach(j, k, v) {
		if (k[0] == '_')
			continue;	/* comment */
		old = map_cc_push_key(cc, k);
		if (k[0] == '\0')
			return (map_cc_fail(cc, "empty field name"));
		n->keys[i] = xstrdup(k);
		n->nkids = ++i;
		if (map_cc_expr(cc, v, &n->kids[i - 1]) != 0)
			return (-1);
		map_cc_pop(cc, old);
	}
	return (0);
}

static int
map_cc_lookup(struct map_cc *cc, struct json_object *name, struct json_object *key,
    struct map_node *n)
{
	size_t	old;
	int	rc;

	n->kind = MAP_LOOKUP;
	old = map_cc_push_key(cc, "lookup");
	if (!json_object_is_type(name, json_type_string))
		return (map_cc_fail(cc, "expected a table name"));
	if ((n->table = map_cc_table(cc, json_object_get_string(name))) == NULL)
		return (map_cc_unknown_table(cc, json_object_get_string(name)));
	map_cc_pop(cc, old);
	if (key == NULL)
		return (map_cc_fail(cc, "'lookup' needs a 'key': the value (or "
		    "[values], one per table level) to look up"));
	old = map_cc_push_key(cc, "key");
	if ((rc = map_cc_list(cc, key, 1, &n->kids, &n->nkids)) != 0)
		return (rc);
	if (n->nkids != n->table->depth)
		return (map_cc_fail(cc, "table '%.64s' takes %zu key%s, got %zu",
		    n->table->name, n->table->depth,
		    n->table->depth == 1 ? "" : "s", n->nkids));
	map_cc_pop(cc, old);
	return (0);
}

static int
map_cc_source(struct map_cc *cc, const char *src, struct json_object *v,
    struct json_object *j, struct map_node *n)
{
	struct json_object	*key = NULL, *item = NULL;
	const char		*s, **names;
	char			 hint[200];
	size_t			 old, i;
	int			 rc = 0;

	if (strcmp(src, "lookup") == 0) {
		json_object_object_get_ex(j, "key", &key);
		return (map_cc_lookup(cc, v, key, n));
	}
	old = map_cc_push_key(cc, src);
	if (strcmp(src, "path") == 0) {
		n->kind = MAP_PATH;
		rc = map_cc_path(cc, v, &n->path);
	} else if (strcmp(src, "const") == 0) {
		n->kind = MAP_CONST;
		if (!map_value_is_scalar(v))
			rc = map_cc_fail(cc, "a constant is a string, number, "
			    "boolean or null, not %s", map_value_type(v));
		else if (v != NULL && !json_object_is_type(v, json_type_null))
			n->cval = map_value_copy_scalar(v);
	} else if (strcmp(src, "setting") == 0) {
		n->kind = MAP_SETTING;
		if (!json_object_is_type(v, json_type_string) ||
		    !map_cc_name_ok(json_object_get_string(v)))
			rc = map_cc_fail(cc, "expected a setting name like "
			    "\"orders.employee_number\"");
		else {
			n->setting = xstrdup(json_object_get_string(v));
			map_cc_add_setting(cc->map, n->setting);
		}
	} else if (strcmp(src, "var") == 0) {
		n->kind = MAP_VAR;
		if (!json_object_is_type(v, json_type_string))
			return (map_cc_fail(cc, "expected a var name"));
		s = json_object_get_string(v);
		for (i = 0; i < cc->map->nvars; i++)
			if (strcmp(cc->map->varnames[i], s) == 0)
				break;
		if (i == cc->map->nvars) {
			names = xcalloc(cc->map->nvars + 1, sizeof *names);
			for (i = 0; i < cc->map->nvars; i++)
				names[i] = cc->map->varnames[i];
			map_cc_hint(hint, sizeof hint, map_cc_suggest(s, names,
			    cc->map->nvars));
			free(names);
			return (map_cc_fail(cc, "unknown var '%.64s'%s (a var "
			    "can only use vars declared before it)", s, hint));
		}
		n->var = i;
	} else if (strcmp(src, "concat") == 0 || strcmp(src, "first") == 0) {
		n->kind = src[0] == 'c' ? MAP_CONCAT : MAP_FIRST;
		rc = map_cc_list(cc, v, 0, &n->kids, &n->nkids);
	} else if (strcmp(src, "each") == 0) {
		n->kind = MAP_EACH;
		if ((rc = map_cc_path(cc, v, &n->path)) != 0)
			return (rc);
		map_cc_pop(cc, old);
		if (!json_object_object_get_ex(j, "item", &item))
			return (map_cc_fail(cc, "'each' needs an 'item': what "
			    "each element becomes"));
		old = map_cc_push_key(cc, "item");
		rc = map_cc_expr(cc, item, &n->item);
	} else if (strcmp(src, "object") == 0) {
		if (!json_object_is_type(v, json_type_object))
			return (map_cc_fail(cc, "expected an object of target "
			    "fields"));
		rc = map_cc_object(cc, v, n);
	}
	if (rc == 0)
		map_cc_pop(cc, old);
	return (rc);
}

/* {"path": ...} and friends: one source key plus modifiers. */
static int
map_cc_exprobj(struct map_cc *cc, struct json_object *j, struct map_node *n)
{
	struct json_object	*v, *srcv = NULL;
	const char		*src = NULL, *unknown = NULL, *all[20];
	char			 hint[200];
	size_t			 i, k, old;

	for (i = k = 0; map_src_keys[i] != NULL; i++)
		all[k++] = map_src_keys[i];
	for (i = 0; map_mod_keys[i] != NULL; i++)
		all[k++] = map_mod_keys[i];
	all[k] = NULL;
	json_object_object_foreach(j, key, val) {
		if (key[0] == '_')
			continue;
		if (!map_cc_in(key, all)) {
			if (unknown == NULL)
				unknown = key;
			continue;
		}
		if (!map_cc_in(key, map_src_keys))
			continue;
		if (src != NULL)
			return (map_cc_fail(cc, "'%s' and '%s' cannot be "
			    "combined: an expression has one source", src, key));
		src = key;
		srcv = val;
	}
	/* Without a source, a typo of one is the likely story. */
	if (src == NULL && (unknown == NULL ||
	    map_cc_suggest(unknown, map_src_keys, (size_t)-1) == NULL))
		return (map_cc_fail(cc, "an expression needs one of path, const, "
		    "setting, var, concat, first, lookup, each, object (a target "
		    "object with a field named like a keyword is written "
		    "{\"object\": {...}})"));
	if (unknown != NULL) {
		map_cc_push_key(cc, unknown);
		map_cc_hint(hint, sizeof hint, map_cc_suggest(unknown,
		    src == NULL ? map_src_keys : all, (size_t)-1));
		if (hint[0] == '\0')
			snprintf(hint, sizeof hint, " (this object is read as an "
			    "expression because of '%s'; a target object with a "
			    "field named like a keyword is written {\"object\": "
			    "{...}})", map_cc_first_keyword(j));
		return (map_cc_fail(cc, "unknown key '%.64s' in an expression%s",
		    unknown, hint));
	}
	if (map_cc_source(cc, src, srcv, j, n) != 0)
		return (-1);
	if (json_object_object_get_ex(j, "sep", &v)) {
		old = map_cc_push_key(cc, "sep");
		if (n->kind != MAP_CONCAT)
			return (map_cc_fail(cc, "'sep' only goes with 'concat'"));
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > 64)
			return (map_cc_fail(cc, "expected a string of at most 64 "
			    "bytes"));
		n->sep = xstrdup(json_object_get_string(v));
		map_cc_pop(cc, old);
	}
	if (json_object_object_get_ex(j, "key", NULL) && n->kind != MAP_LOOKUP) {
		old = map_cc_push_key(cc, "key");
		return (map_cc_fail(cc, "'key' only goes with 'lookup'"));
	}
	if (json_object_object_get_ex(j, "item", NULL) && n->kind != MAP_EACH) {
		old = map_cc_push_key(cc, "item");
		return (map_cc_fail(cc, "'item' only goes with 'each'"));
	}
	if (json_object_object_get_ex(j, "pipe", &v)) {
		old = map_cc_push_key(cc, "pipe");
		if (map_cc_pipe(cc, v, n) != 0)
			return (-1);
		map_cc_pop(cc, old);
	}
	if (json_object_object_get_ex(j, "default", &v)) {
		old = map_cc_push_key(cc, "default");
		if (map_cc_expr(cc, v, &n->dflt) != 0)
			return (-1);
		map_cc_pop(cc, old);
	}
	if (json_object_object_get_ex(j, "required", &v)) {
		old = map_cc_push_key(cc, "required");
		if (!json_object_is_type(v, json_type_boolean))
			return (map_cc_fail(cc, "expected true or false"));
		n->required = json_object_get_boolean(v);
		map_cc_pop(cc, old);
	}
	if (json_object_object_get_ex(j, "when", &v)) {
		old = map_cc_push_key(cc, "when");
		if (map_cc_cond(cc, v, &n->when) != 0)
			return (-1);
		map_cc_pop(cc, old);
	}
	return (0);
}

static const char *
map_cc_first_keyword(struct json_object *j)
{
	json_object_object_foreach(j, key, val) {
		(void)val;
		if (map_cc_in(key, map_src_keys) || map_cc_in(key, map_mod_keys))
			return (key);
	}
	return ("?");
}

static int
map_cc_is_exprobj(struct json_object *j)
{
	json_object_object_foreach(j, key, val) {
		(void)val;
		if (map_cc_in(key, map_src_keys) || map_cc_in(key, map_mod_keys))
			return (1);
	}
	return (0);
}

static int
map_cc_expr(struct map_cc *cc, struct json_object *j, struct map_node **out)
{
	struct map_node	*n;
	const char	*s;
	size_t		 i, len, old;
	int		 rc = 0;

	*out = n = xcalloc(1, sizeof *n);
	if (++cc->depth > MAP_MAX_DEPTH) {
		cc->depth--;
		return (map_cc_fail(cc, "nested more than %d levels deep",
		    MAP_MAX_DEPTH));
	}
	switch (j == NULL ? json_type_null : json_object_get_type(j)) {
	case json_type_null:
		n->kind = MAP_CONST;
		break;
	case json_type_boolean:
	case json_type_int:
	case json_type_double:
		n->kind = MAP_CONST;
		n->cval = map_value_copy_scalar(j);
		break;
	case json_type_string:
		s = json_object_get_string(j);
		if (map_path_is(s)) {
			n->kind = MAP_PATH;
			rc = map_cc_path(cc, j, &n->path);
		} else {
			n->kind = MAP_CONST;
			n->cval = map_value_copy_scalar(j);
		}
		break;
	case json_type_array:
		n->kind = MAP_ARRAY;
		len = json_object_array_length(j);
		if (len > MAP_MAX_LIST) {
			rc = map_cc_fail(cc, "more than %d items", MAP_MAX_LIST);
			break;
		}
		n->kids = xcalloc(len + 1, sizeof *n->kids);
		for (i = 0; i < len && rc == 0; i++) {
			old = map_cc_push_index(cc, i);
			n->nkids = i + 1;
			rc = map_cc_expr(cc, json_object_array_get_idx(j, i),
			    &n->kids[i]);
			if (rc == 0)
				map_cc_pop(cc, old);
		}
		break;
	case json_type_object:
		if (map_cc_is_exprobj(j))
			rc = map_cc_exprobj(cc, j, n);
		else
			rc = map_cc_object(cc, j, n);
		break;
	}
	cc->depth--;
	return (rc);
}

static int
map_cc_cond(struct map_cc *cc, struct json_object *j, struct map_cond **out)
{
	struct map_cond		*c;
	struct json_object	*arg = NULL;
	const char		*op = NULL;
	size_t			 i, n, old;
	int			 others = 0;

	*out = c = xcalloc(1, sizeof *c);
	if (++cc->depth > MAP_MAX_DEPTH) {
		cc->depth--;
		return (map_cc_fail(cc, "nested more than %d levels deep",
		    MAP_MAX_DEPTH));
	}
	if (json_object_is_type(j, json_type_object)) {
		json_object_object_foreach(j, key, val) {
			if (map_cc_in(key, map_cond_keys)) {
				op = key;
				arg = val;
			} else if (key[0] != '_')
				others++;
		}
	}
	if (op == NULL && json_object_is_type(j, json_type_object) &&
	    !map_cc_is_exprobj(j)) {
		n = 0;
		json_object_object_foreach(j, k1, v1) {
			(void)v1;
			if (k1[0] != '_' && n++ == 0)
				op = k1;
		}
		if (op != NULL)
			return (map_cc_fail(cc, "the condition {\"%.64s\": ...} "
			    "is not a condition: use a value or one of not, all, "
			    "any, eq, ne, lt, gt", op));
	}
	if (op == NULL) {
		c->op = MAP_COND_TRUTHY;
		cc->depth--;
		return (map_cc_expr(cc, j, &c->a));
	}
	if (others > 0 || json_object_object_length(j) - others > 1) {
		n = 0;
		json_object_object_foreach(j, k2, v2) {
			(void)v2;
			if (k2[0] != '_')
				n++;
		}
		if (n != 1)
			return (map_cc_fail(cc, "a condition object has exactly "
			    "one of not, all, any, eq, ne, lt, gt"));
	}
	old = map_cc_push_key(cc, op);
	if (strcmp(op, "not") == 0) {
		c->op = MAP_COND_NOT;
		c->kids = xcalloc(1, sizeof *c->kids);
		c->nkids = 1;
		if (map_cc_cond(cc, arg, &c->kids[0]) != 0)
			return (-1);
	} else if (strcmp(op, "all") == 0 || strcmp(op, "any") == 0) {
		c->op = op[1] == 'l' ? MAP_COND_ALL : MAP_COND_ANY;
		if (!json_object_is_type(arg, json_type_array) ||
		    (n = json_object_array_length(arg)) == 0 || n > MAP_MAX_LIST)
			return (map_cc_fail(cc, "expected a non-empty array of "
			    "conditions"));
		c->kids = xcalloc(n, sizeof *c->kids);
		for (i = 0; i < n; i++) {
			size_t	o2 = map_cc_push_index(cc, i);

			c->nkids = i + 1;
			if (map_cc_cond(cc, json_object_array_get_idx(arg, i),
			    &c->kids[i]) != 0)
				return (-1);
			map_cc_pop(cc, o2);
		}
	} else {
		c->op = strcmp(op, "eq") == 0 ? MAP_COND_EQ :
		    strcmp(op, "ne") == 0 ? MAP_COND_NE :
		    strcmp(op, "lt") == 0 ? MAP_COND_LT : MAP_COND_GT;
		if (!json_object_is_type(arg, json_type_array) ||
		    json_object_array_length(arg) != 2)
			return (map_cc_fail(cc, "expected two values to compare: "
			    "[\"$.a\", \"b\"]"));
		i = map_cc_push_index(cc, 0);
		if (map_cc_expr(cc, json_object_array_get_idx(arg, 0), &c->a) != 0)
			return (-1);
		map_cc_pop(cc, i);
		i = map_cc_push_index(cc, 1);
		if (map_cc_expr(cc, json_object_array_get_idx(arg, 1), &c->b) != 0)
			return (-1);
		map_cc_pop(cc, i);
	}
	map_cc_pop(cc, old);
	cc->depth--;
	return (0);
}

/* Tables. */

static int
map_cc_tentry_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct map_tentry *)a)->key,
	    ((const struct map_tentry *)b)->key));
}

static void
map_tlevel_clear(struct map_tlevel *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++) {
		free(l->e[i].key);
		if (l->e[i].child != NULL) {
			map_tlevel_clear(l->e[i].child);
			free(l->e[i].child);
		}
		json_object_put(l->e[i].value);
	}
	free(l->e);
	memset(l, 0, sizeof *l);
}

static int
map_cc_tlevel(struct map_cc *cc, struct json_object *j, struct map_tlevel *l,
    size_t level, size_t *depth)
{
	struct map_tentry	*e;
	size_t			 n, old, d, sub = 0;
	int			 kind = -1, isobj;

	if (level > MAP_MAX_TABLE_DEPTH)
		return (map_cc_fail(cc, "more than %d key levels",
		    MAP_MAX_TABLE_DEPTH));
	n = (size_t)json_object_object_length(j);
	l->e = xcalloc(n + 1, sizeof *l->e);
	json_object_object_foreach(j, key, v) {
		if (key[0] == '_')
			continue;
		old = map_cc_push_key(cc, key);
		isobj = json_object_is_type(v, json_type_object);
		if (!isobj && !map_value_is_scalar(v))
			return (map_cc_fail(cc, "a table value is a string, "
			    "number, boolean, null or a sub-table, not %s",
			    map_value_type(v)));
		if (kind != -1 && kind != isobj)
			return (map_cc_fail(cc, "this level mixes values and "
			    "sub-tables"));
		kind = isobj;
		e = &l->e[l->n++];
		e->key = xstrdup(key);
		if (isobj) {
			e->child = xcalloc(1, sizeof *e->child);
			if (map_cc_tlevel(cc, v, e->child, level + 1, &d) != 0)
				return (-1);
			if (sub != 0 && d != sub)
				return (map_cc_fail(cc, "has %zu key level%s "
				    "below it, its siblings %zu", d,
				    d == 1 ? "" : "s", sub));
			sub = d;
		} else if (v != NULL && !json_object_is_type(v, json_type_null))
			e->value = map_value_copy_scalar(v);
		map_cc_pop(cc, old);
	}
	if (l->n == 0)
		return (map_cc_fail(cc, "empty table"));
	qsort(l->e, l->n, sizeof *l->e, map_cc_tentry_cmp);
	for (n = 0; n < l->n; n++)
		if (strcmp(l->e[n].key, "*") == 0)
			l->wild = &l->e[n];
	*depth = 1 + sub;
	return (0);
}

static int
map_cc_tables(struct map_cc *cc, struct json_object *j)
{
	struct map_table	*t;
	size_t			 old;

	if (!json_object_is_type(j, json_type_object))
		return (map_cc_fail(cc, "expected an object of tables"));
	cc->map->tables = xcalloc((size_t)json_object_object_length(j) + 1,
	    sizeof *cc->map->tables);
	json_object_object_foreach(j, name, v) {
		if (name[0] == '_')
			continue;
		old = map_cc_push_key(cc, name);
		if (!map_cc_name_ok(name))
			return (map_cc_fail(cc, "table names are 1 to %d bytes",
			    MAP_MAX_NAME));
		if (!json_object_is_type(v, json_type_object))
			return (map_cc_fail(cc, "a table is an object "
			    "{\"value\": \"result\", \"*\": \"default\"}"));
		t = xcalloc(1, sizeof *t);
		t->name = xstrdup(name);
		cc->map->tables[cc->map->ntables++] = t;
		if (map_cc_tlevel(cc, v, &t->root, 1, &t->depth) != 0)
			return (-1);
		map_cc_pop(cc, old);
	}
	return (0);
}

static int
map_cc_vars(struct map_cc *cc, struct json_object *j)
{
	struct map	*m = cc->map;
	size_t		 old, n;

	if (!json_object_is_type(j, json_type_object))
		return (map_cc_fail(cc, "expected an object of vars"));
	n = (size_t)json_object_object_length(j) + 1;
	m->varnames = xcalloc(n, sizeof *m->varnames);
	m->vars = xcalloc(n, sizeof *m->vars);
	json_object_object_foreach(j, name, v) {
		if (name[0] == '_')
			continue;
		old = map_cc_push_key(cc, name);
		if (!map_cc_name_ok(name))
			return (map_cc_fail(cc, "var names are 1 to %d bytes",
			    MAP_MAX_NAME));
		if (map_cc_expr(cc, v, &m->vars[m->nvars]) != 0) {
			map_node_free(m->vars[m->nvars]);
			m->vars[m->nvars] = NULL;
			return (-1);
		}
		/* Declared only now: a var cannot refer to itself. */
		m->varnames[m->nvars++] = xstrdup(name);
		map_cc_pop(cc, old);
	}
	return (0);
}

struct map *
map_compile(const char *name, struct json_object *doc, struct kb_err *err)
{
	struct map_cc		 cc;
	struct json_object	*v;
	char			 hint[200];
	size_t			 old;

	memset(&cc, 0, sizeof cc);
	cc.name = name;
	cc.err = err;
	cc.map = xcalloc(1, sizeof *cc.map);
	cc.map->name = xstrdup(name);
	if (!json_object_is_type(doc, json_type_object)) {
		map_cc_fail(&cc, "a mapping is a JSON object with \"fields\"");
		goto fail;
	}
	json_object_object_foreach(doc, key, val) {
		(void)val;
		if (key[0] == '_' || map_cc_in(key, map_top_keys))
			continue;
		old = map_cc_push_key(&cc, key);
		map_cc_hint(hint, sizeof hint, map_cc_suggest(key, map_top_keys,
		    (size_t)-1));
		map_cc_fail(&cc, "unknown top-level key '%.64s'%s", key, hint);
		goto fail;
	}
	if (json_object_object_get_ex(doc, "version", &v)) {
		old = map_cc_push_key(&cc, "version");
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) != 1) {
			map_cc_fail(&cc, "unsupported version (this kassaboek "
			    "reads version 1)");
			goto fail;
		}
		map_cc_pop(&cc, old);
	}
	if (json_object_object_get_ex(doc, "description", &v) &&
	    !json_object_is_type(v, json_type_string)) {
		map_cc_push_key(&cc, "description");
		map_cc_fail(&cc, "expected a string");
		goto fail;
	}
	if (json_object_object_get_ex(doc, "tables", &v)) {
		old = map_cc_push_key(&cc, "tables");
		if (map_cc_tables(&cc, v) != 0)
			goto fail;
		map_cc_pop(&cc, old);
	}
	if (json_object_object_get_ex(doc, "vars", &v)) {
		old = map_cc_push_key(&cc, "vars");
		if (map_cc_vars(&cc, v) != 0)
			goto fail;
		map_cc_pop(&cc, old);
	}
	if (!json_object_object_get_ex(doc, "fields", &v)) {
		map_cc_fail(&cc, "missing \"fields\": the target to build");
		goto fail;
	}
	old = map_cc_push_key(&cc, "fields");
	if (map_cc_expr(&cc, v, &cc.map->fields) != 0)
		goto fail;
	if (cc.map->fields->kind != MAP_OBJECT) {
		map_cc_fail(&cc, "the target must be an object of fields");
		goto fail;
	}
	map_cc_pop(&cc, old);
	return (cc.map);
fail:
	map_free(cc.map);
	return (NULL);
}

/* Line and column of a byte offset, for JSON syntax errors. */
static void
map_line_col(const char *buf, size_t off, size_t *line, size_t *col)
{
	size_t	i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

struct map *
map_load_buffer(const char *name, const char *buf, size_t len,
    struct kb_err *err)
{
	struct json_tokener	*tok;
	struct json_object	*doc;
	enum json_tokener_error	 jerr;
	struct map		*m;
	size_t			 end, line, col;

	if (len > MAP_MAX_FILE) {
		kb_err_set(err, "%s: larger than %d bytes", name, MAP_MAX_FILE);
		return (NULL);
	}
	if (memchr(buf, '\0', len) != NULL) {
		kb_err_set(err, "%s: contains a NUL byte", name);
		return (NULL);
	}
	if ((tok = json_tokener_new_ex(MAP_MAX_DEPTH + 16)) == NULL) {
		kb_err_set(err, "%s: out of memory", name);
		return (NULL);
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	doc = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (doc == NULL && jerr == json_tokener_continue) {
		kb_err_set(err, "%s: JSON ends too early", name);
		goto fail;
	}
	if (doc == NULL || jerr != json_tokener_success) {
		map_line_col(buf, end, &line, &col);
		kb_err_set(err, "%s:%zu:%zu: JSON syntax error: %s", name, line,
		    col, json_tokener_error_desc(jerr));
		goto fail;
	}
	while (end < len && strchr(" \t\r\n", buf[end]) != NULL)
		end++;
	if (end != len) {
		map_line_col(buf, end, &line, &col);
		kb_err_set(err, "%s:%zu:%zu: JSON syntax error: text after the "
		    "end of the mapping", name, line, col);
		goto fail;
	}
	json_tokener_free(tok);
	m = map_compile(name, doc, err);
	json_object_put(doc);
	return (m);
fail:
	json_object_put(doc);
	json_tokener_free(tok);
	return (NULL);
}

struct map *
map_load(const char *path, struct kb_err *err)
{
	struct map	*m;
	FILE		*f;
	char		*buf;
	size_t		 len;

	if ((f = fopen(path, "rb")) == NULL) {
		kb_err_set(err, "%s: cannot open: %s", path, strerror(errno));
		return (NULL);
	}
	buf = xmalloc(MAP_MAX_FILE + 1);
	len = fread(buf, 1, MAP_MAX_FILE + 1, f);
	if (ferror(f)) {
		kb_err_set(err, "%s: cannot read: %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return (NULL);
	}
	fclose(f);
	m = map_load_buffer(path, buf, len, err);
	free(buf);
	return (m);
}

/* Freeing. */

static void
map_fn_clear(struct map_fn *fn)
{
	size_t	i;

	free(fn->sa);
	free(fn->sb);
	for (i = 0; i < fn->nargs; i++)
		map_node_free(fn->args[i]);
	free(fn->args);
}

static void
map_cond_free(struct map_cond *c)
{
	size_t	i;

	if (c == NULL)
		return;
	map_node_free(c->a);
	map_node_free(c->b);
	for (i = 0; i < c->nkids; i++)
		map_cond_free(c->kids[i]);
	free(c->kids);
	free(c);
}

void
map_node_free(struct map_node *n)
{
	size_t	i;

	if (n == NULL)
		return;
	json_object_put(n->cval);
	map_path_clear(&n->path);
	free(n->setting);
	for (i = 0; i < n->nkids; i++) {
		map_node_free(n->kids[i]);
		if (n->keys != NULL)
			free(n->keys[i]);
	}
	free(n->kids);
	free(n->keys);
	free(n->sep);
	map_node_free(n->item);
	for (i = 0; i < n->npipe; i++)
		map_fn_clear(&n->pipe[i]);
	free(n->pipe);
	map_node_free(n->dflt);
	map_cond_free(n->when);
	free(n);
}

void
map_free(struct map *m)
{
	size_t	i;

	if (m == NULL)
		return;
	map_node_free(m->fields);
	for (i = 0; i < m->ntables; i++) {
		map_tlevel_clear(&m->tables[i]->root);
		free(m->tables[i]->name);
		free(m->tables[i]);
	}
	free(m->tables);
	for (i = 0; i < m->nvars; i++) {
		map_node_free(m->vars[i]);
		free(m->varnames[i]);
	}
	free(m->vars);
	free(m->varnames);
	for (i = 0; i < m->nsettings; i++)
		free(m->settings[i]);
	free(m->settings);
	free(m->name);
	free(m);
}

const char *
map_name(const struct map *m)
{
	return (m->name);
}

void
map_foreach_setting(const struct map *m, void (*cb)(const char *, void *),
    void *arg)
{
	size_t	i;

	for (i = 0; i < m->nsettings; i++)
		cb(m->settings[i], arg);
}

const char *
map_settings_kv_cb(void *arg, const char *key)
{
	const char *const	*kv = arg;

	for (; kv != NULL && kv[0] != NULL && kv[1] != NULL; kv += 2)
		if (strcmp(kv[0], key) == 0)
			return (kv[1]);
	return (NULL);
}
