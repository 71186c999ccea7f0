/*
 * The API map: every path, query parameter and field name of the AsPos
 * REST API the client uses, read from a small JSON file (by default
 * conf/mapping/aspos-api.json) so that none is compiled in. Every key is
 * required; a problem names the file and the key.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kassaboek/xmalloc.h"
#include "aspos-internal.h"

#define API_MAX_NAME	256

struct api_key {
	const char	*path;		/* dotted path in the file */
	size_t		 off;		/* of the char * in struct aspos_api */
	int		 is_path;	/* must start with '/' */
};

#define OFF(f)	offsetof(struct aspos_api, f)
static const struct api_key api_keys[] = {
	{ "token.path",				OFF(token_path), 1 },
	{ "orders.list.path",			OFF(orders_path), 1 },
	{ "orders.list.updated_since",		OFF(updated_since_param), 0 },
	{ "orders.list.page",			OFF(page_param), 0 },
	{ "orders.list.items",			OFF(orders_items), 0 },
	{ "orders.list.next_page",		OFF(orders_next_page), 0 },
	{ "orders.update.method",		OFF(update_method), 0 },
	{ "orders.update.path",			OFF(update_path), 1 },
	{ "orders.update.status",		OFF(status_field), 0 },
	{ "orders.update.external_reference",	OFF(reference_field), 0 },
	{ "errors.code",			OFF(error_code_field), 0 },
	{ "errors.message",			OFF(error_message_field), 0 },
};
#undef OFF

static char **
api_slot(struct aspos_api *api, size_t off)
{
	return ((char **)(void *)((char *)api + off));
}

void
aspos_api_free(struct aspos_api *api)
{
	size_t	i;

	if (api == NULL)
		return;
	for (i = 0; i < sizeof api_keys / sizeof api_keys[0]; i++)
		free(*api_slot(api, api_keys[i].off));
	free(api);
}

/* The value at a dotted path, or NULL. */
static struct json_object *
api_lookup(struct json_object *root, const char *path)
{
	struct json_object	*o = root;
	char			 part[64];
	const char		*p = path, *dot;
	size_t			 n;

	while (o != NULL) {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof part)
			return (NULL);
		memcpy(part, p, n);
		part[n] = '\0';
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, part, &o))
			return (NULL);
		if (dot == NULL)
			return (o);
		p = dot + 1;
	}
	return (NULL);
}

/* Names and paths are plain printable ASCII: no control characters, no spaces. */
static int
api_name_ok(const char *s, int is_path)
{
	const unsigned char	*p;

	if (*s == '\0' || strlen(s) > API_MAX_NAME || (is_path && *s != '/'))
		return (0);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '?' || *p == '#')
			return (0);
	return (1);
}

static int
api_method_ok(const char *s)
{
	static const char *const ok[] = { "PATCH", "PUT", "POST", NULL };
	size_t	i;

	for (i = 0; ok[i] != NULL; i++)
		if (strcmp(s, ok[i]) == 0)
			return (1);
	return (0);
}

struct aspos_api *
aspos_api_load(const char *path, struct kb_err *err)
{
	struct aspos_api	*api = NULL;
	struct json_object	*root = NULL, *v;
	struct json_tokener	*tok = NULL;
	FILE			*f = NULL;
	char			*buf = NULL;
	const char		*s;
	size_t			 len, i;

	if (path == NULL || *path == '\0') {
		kb_err_set(err, "no AsPos API map configured");
		goto fail;
	}
	if ((f = fopen(path, "r")) == NULL) {
		kb_err_set(err, "%s: cannot be read", path);
		goto fail;
	}
	buf = xmalloc(ASPOS_API_MAX_FILE + 1);
	len = fread(buf, 1, ASPOS_API_MAX_FILE + 1, f);
	if (ferror(f) || len > ASPOS_API_MAX_FILE) {
		kb_err_set(err, "%s: %s", path, ferror(f) ? "read error" : "larger than 64 KiB");
		goto fail;
	}
	tok = json_tokener_new_ex(16);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(root, json_type_object)) {
		kb_err_set(err, "%s: not a JSON object (%s)", path,
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		goto fail;
	}
	api = xcalloc(1, sizeof *api);
	for (i = 0; i < sizeof api_keys / sizeof api_keys[0]; i++) {
		v = api_lookup(root, api_keys[i].path);
		if (v == NULL || !json_object_is_type(v, json_type_string)) {
			kb_err_set(err, "%s: %s: missing or not a string", path, api_keys[i].path);
			goto fail;
		}
		s = json_object_get_string(v);
		if (!api_name_ok(s, api_keys[i].is_path)) {
			kb_err_set(err, "%s: %s: '%.64s' is not a %s", path, api_keys[i].path, s,
			    api_keys[i].is_path ? "path starting with '/' (no spaces, '?' or '#')" :
			    "name (printable, no spaces)");
			goto fail;
		}
		*api_slot(api, api_keys[i].off) = xstrdup(s);
	}
	if (strstr(api->update_path, "{id}") == NULL) {
		kb_err_set(err, "%s: orders.update.path: must contain {id}", path);
		goto fail;
	}
	if (!api_method_ok(api->update_method)) {
		kb_err_set(err, "%s: orders.update.method: must be PATCH, PUT or POST", path);
		goto fail;
	}
	json_object_put(root);
	json_tokener_free(tok);
	free(buf);
	fclose(f);
	return (api);
fail:
	aspos_api_free(api);
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	free(buf);
	if (f != NULL)
		fclose(f);
	return (NULL);
}

int
aspos_api_check(const char *path, struct kb_err *err)
{
	struct aspos_api	*api;

	if ((api = aspos_api_load(path, err)) == NULL)
		return (-1);
	aspos_api_free(api);
	return (0);
}
