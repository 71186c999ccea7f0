/*
 * The compiled form of a mapping, shared by the files of src/mapping only.
 * map_compile.c builds it once; map_apply.c walks it for every event.
 */
#ifndef KASSABOEK_MAP_INTERNAL_H
#define KASSABOEK_MAP_INTERNAL_H

#include <stddef.h>

#include <json-c/json.h>

#include "kassaboek/err.h"
#include "kassaboek/map.h"

enum map_kind {
	MAP_CONST,	/* a literal scalar */
	MAP_PATH,	/* "$.a.b[0]" or "@.sku" */
	MAP_SETTING,	/* {"setting": "orders.x"} */
	MAP_VAR,	/* {"var": "country"} */
	MAP_CONCAT,	/* {"concat": [...], "sep": " "} */
	MAP_FIRST,	/* {"first": [...]}: first non-empty */
	MAP_LOOKUP,	/* {"lookup": "table", "key": [...]} */
	MAP_EACH,	/* {"each": "$.lines", "item": ...} */
	MAP_OBJECT,	/* a target object */
	MAP_ARRAY,	/* a target array; each-results are spliced in */
};

struct map_step {
	char	*key;		/* NULL for an index step */
	long	 index;		/* negative counts from the end */
};

struct map_path {
	int		 relative;	/* '@': the current element, else the root */
	struct map_step	*steps;
	size_t		 nsteps;
	char		*text;		/* as written, for messages */
};

/* One level of a value table: sorted keys, each a leaf value or a sub-level. */
struct map_tlevel;
struct map_tentry {
	char			*key;
	struct map_tlevel	*child;		/* NULL at the last level */
	struct json_object	*value;		/* leaf value; NULL = empty */
};
struct map_tlevel {
	struct map_tentry	*e;
	size_t			 n;
	struct map_tentry	*wild;		/* the "*" entry, if any */
};
struct map_table {
	char			*name;
	size_t			 depth;		/* number of keys a lookup takes */
	struct map_tlevel	 root;
};

enum map_fn_id {
	MAP_FN_TRIM, MAP_FN_UPPER, MAP_FN_LOWER, MAP_FN_DIGITS_ONLY,
	MAP_FN_STRING, MAP_FN_NUMBER, MAP_FN_NEGATE, MAP_FN_ABS,
	MAP_FN_ROUND, MAP_FN_FIXED, MAP_FN_TRUNCATE, MAP_FN_SUBSTRING,
	MAP_FN_REPLACE, MAP_FN_DATE, MAP_FN_ADD_DAYS, MAP_FN_DEFAULT_IF_EMPTY,
	MAP_FN_LOOKUP, MAP_FN_CONCAT, MAP_FN_ADD, MAP_FN_SUB, MAP_FN_MUL,
	MAP_FN_DIV, MAP_FN_PAD_LEFT,
};

struct map_node;

struct map_fn {
	enum map_fn_id		 id;
	const char		*name;		/* static */
	long			 ia, ib;	/* integer arguments */
	char			*sa, *sb;	/* string arguments */
	struct map_node		**args;		/* expression arguments */
	size_t			 nargs;
	struct map_table	*table;		/* borrowed from struct map */
};

enum map_cond_op {
	MAP_COND_TRUTHY, MAP_COND_NOT, MAP_COND_ALL, MAP_COND_ANY,
	MAP_COND_EQ, MAP_COND_NE, MAP_COND_LT, MAP_COND_GT,
};

struct map_cond {
	enum map_cond_op	  op;
	struct map_node		 *a, *b;	/* operands */
	struct map_cond		**kids;		/* not, all, any */
	size_t			  nkids;
};

struct map_node {
	enum map_kind		  kind;
	struct json_object	 *cval;		/* MAP_CONST */
	struct map_path		  path;		/* MAP_PATH, MAP_EACH */
	char			 *setting;	/* MAP_SETTING */
	size_t			  var;		/* MAP_VAR */
	struct map_node		**kids;		/* concat, first, lookup keys, array, object values */
	size_t			  nkids;
	char			**keys;		/* MAP_OBJECT */
	char			 *sep;		/* MAP_CONCAT */
	struct map_table	 *table;	/* MAP_LOOKUP, borrowed */
	struct map_node		 *item;		/* MAP_EACH */
	struct map_fn		 *pipe;
	size_t			  npipe;
	struct map_node		 *dflt;
	struct map_cond		 *when;
	int			  required;
};

struct map {
	char			 *name;
	struct map_node		 *fields;
	struct map_table	**tables;
	size_t			  ntables;
	char			**varnames;
	struct map_node		**vars;
	size_t			  nvars;
	char			**settings;	/* every setting key referenced, once */
	size_t			  nsettings;
};

/* map_path.c */
int	 map_path_is(const char *s);
int	 map_path_parse(const char *s, struct map_path *out, char *why, size_t whylen);
void	 map_path_clear(struct map_path *);
/* Borrowed result, NULL when absent. */
struct json_object *map_path_get(const struct map_path *, struct json_object *root,
	    struct json_object *current);

/* map_value.c */
#define MAP_NUMBUF	40
int	 map_value_empty(struct json_object *);
int	 map_value_truthy(struct json_object *);
int	 map_value_is_scalar(struct json_object *);
const char *map_value_type(struct json_object *);
/* String form of a scalar (numbers canonical); NULL for objects/arrays. */
const char *map_value_str(struct json_object *, char buf[MAP_NUMBUF], size_t *lenp);
int	 map_value_num(struct json_object *, double *out);
struct json_object *map_value_new_number(double);
struct json_object *map_value_copy_scalar(struct json_object *);
void	 map_value_fmt_number(double, char buf[MAP_NUMBUF]);
int	 map_value_cmp(struct json_object *, struct json_object *);
/* A short, escaped, quoted rendering of an untrusted value for messages. */
void	 map_value_quote(struct json_object *, char *buf, size_t len);
double	 map_value_round(double, int decimals);

/* Dates: parse an ISO 8601 date or date-time (the time zone is kept as written). */
struct map_tm {
	int	y, mo, d, h, mi, s;
};
int	 map_date_parse(const char *s, size_t len, struct map_tm *out);
int	 map_date_format_check(const char *fmt, char *why, size_t whylen);
const char *map_date_preset(const char *name);
void	 map_date_format(const struct map_tm *, const char *fmt, char *buf, size_t len);
void	 map_date_add_days(struct map_tm *, long days);

/* map_fn.c */
struct map_fn_def {
	const char	*name;
	enum map_fn_id	 id;
	enum {
		MAP_ARG_NONE, MAP_ARG_INT, MAP_ARG_INT2, MAP_ARG_STR2,
		MAP_ARG_DATEFMT, MAP_ARG_EXPR, MAP_ARG_EXPRS, MAP_ARG_TABLE,
		MAP_ARG_PAD,
	}		 arg;
	long		 min, max;
	const char	*usage;
};
const struct map_fn_def *map_fn_find(const char *name);
const char *map_fn_suggest(const char *name);

/* map_apply.c: the evaluation context, shared with map_fn.c */
struct map_scope {
	const struct map_scope	*parent;
	struct json_object	*elem;		/* borrowed */
	const struct map_path	*path;		/* the each path, for messages */
	size_t			 index;
};

struct map_ctx;
int	 map_eval(struct map_ctx *, const struct map_scope *, const struct map_node *,
	    struct json_object **out);
int	 map_fail(struct map_ctx *, const struct map_scope *, const struct map_node *,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int	 map_table_get(struct map_ctx *, const struct map_scope *, const struct map_node *,
	    const struct map_table *, struct json_object **keys, size_t nkeys,
	    struct json_object **out);
int	 map_fn_apply(struct map_ctx *, const struct map_scope *, const struct map_node *,
	    const struct map_fn *, struct json_object **v);

/* map_compile.c */
void	 map_node_free(struct map_node *);
size_t	 map_edit_distance(const char *, const char *);

#endif
