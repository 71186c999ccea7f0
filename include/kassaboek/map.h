/*
 * The data mapper: turns a source event (the AsPos order, customer or
 * product, as json-c) into a target object with Twinfield field names,
 * driven by a JSON mapping file (docs/mapping.md describes the language).
 *
 * A mapping is compiled once by map_load() into an internal tree and fully
 * validated there: every error names the file, the place inside the mapping
 * ("fields.invoice.lines[0].item.vatcode.pipe[1]") and the problem.
 * map_apply() walks that tree for every event without re-parsing anything.
 * Apply errors name the target field with its real index, the source path
 * and the problem, e.g.
 *   invoice.lines[1].vatcode: value 'NL', '6' not in table 'vat_code' (source $.lines[1].tax_rate)
 * and are always permanent: the same event fails the same way every time.
 *
 * The mapper knows nothing of the config module: settings references
 * ({"setting": "orders.employee_number"}) go through struct map_settings.
 * A compiled struct map is read-only during map_apply(), so one map may be
 * shared by any number of jobs in a process.
 */
#ifndef KASSABOEK_MAP_H
#define KASSABOEK_MAP_H

#include <stddef.h>

#include <json-c/json.h>

#include "kassaboek/err.h"

/* Limits that keep hostile events and mappings bounded. */
#define MAP_MAX_FILE		(1024 * 1024)	/* bytes of a mapping file */
#define MAP_MAX_DEPTH		48		/* nesting of a mapping */
#define MAP_MAX_STRING		65536		/* bytes of any value the mapper handles */
#define MAP_MAX_ITEMS		10000		/* elements one "each" maps */

struct map;

/*
 * Settings lookup. get() returns a borrowed string that stays valid during
 * map_apply(), or NULL when the setting is unset; an empty string counts as
 * unset too. A NULL struct map_settings means "no settings".
 */
typedef const char *(*map_setting_cb)(void *arg, const char *key);

struct map_settings {
	map_setting_cb	 get;
	void		*arg;
};

/*
 * Convenience lookup over a NULL-terminated array of key, value pairs:
 *   const char *kv[] = { "orders.employee_number", "999999", NULL };
 *   struct map_settings s = { map_settings_kv_cb, kv };
 */
const char	*map_settings_kv_cb(void *arg, const char *key);

/* Loads and validates a mapping file; NULL with err set on any problem. */
struct map	*map_load(const char *path, struct kb_err *err);
/* Same from memory; name is used in messages in place of the file name. */
struct map	*map_load_buffer(const char *name, const char *buf, size_t len,
		    struct kb_err *err);
/* The compiled mapping from a parsed JSON object (borrowed, not kept). */
struct map	*map_compile(const char *name, struct json_object *doc,
		    struct kb_err *err);
void		 map_free(struct map *);

/* The file name (or buffer name) the map was loaded from; borrowed. */
const char	*map_name(const struct map *);

/*
 * Calls cb for every setting key the mapping references (each key once, in
 * order of appearance), so check-config can report unknown settings.
 */
void		 map_foreach_setting(const struct map *,
		    void (*cb)(const char *key, void *arg), void *arg);

/*
 * Applies the mapping to source (borrowed; any JSON value, NULL = empty).
 * On success *out is a new object the caller releases with
 * json_object_put(); it never shares memory with source. On failure
 * returns -1, *out is NULL and err says which field, which source path and
 * what went wrong.
 */
int		 map_apply(const struct map *, struct json_object *source,
		    const struct map_settings *settings, struct json_object **out,
		    struct kb_err *err) __attribute__((warn_unused_result));

#endif
