/*
 * The sandbox's database: offices, and per office and type a hash of stored
 * objects keyed by code (§3.4: the unique key is always office + code),
 * plus number sequences (debtor codes, invoice and transaction numbers).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"

struct sb_coll {
	struct sb_map	*objs;		/* code -> struct sb_obj */
};

static void
store_obj_free(void *p)
{
	struct sb_obj	*o = p;

	free(o->code);
	xmlFreeDoc(o->doc);
	free(o);
}

static void
store_coll_free(void *p)
{
	struct sb_coll	*c = p;

	sb_map_free(c->objs);
	free(c);
}

struct sb_store *
sb_store_new(void)
{
	struct sb_store	*s;

	s = xcalloc(1, sizeof *s);
	s->colls = sb_map_new(store_coll_free);
	s->seqs = sb_map_new(free);
	return (s);
}

static void
store_office_clear(struct sb_office *o)
{
	free(o->code);
	free(o->name);
	free(o->shortname);
	free(o->id);
	free(o->currency);
	free(o->country);
	free(o->revenue_account);
	free(o->debtors_account);
	free(o->creditors_account);
	free(o->vat_account);
}

void
sb_store_free(struct sb_store *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->noffices; i++)
		store_office_clear(&s->offices[i]);
	free(s->offices);
	sb_map_free(s->colls);
	sb_map_free(s->seqs);
	free(s->org_code);
	free(s->org_id);
	free(s->user_code);
	free(s->user_name);
	free(s);
}

static char *
store_dup(const char *s)
{
	return (xstrdup(s != NULL ? s : ""));
}

struct sb_office *
sb_store_add_office(struct sb_store *s, const struct sb_office *src)
{
	struct sb_office	*o;

	s->offices = xreallocarray(s->offices, s->noffices + 1, sizeof *s->offices);
	o = &s->offices[s->noffices++];
	o->code = store_dup(src->code);
	o->name = store_dup(src->name);
	o->shortname = store_dup(src->shortname);
	o->id = store_dup(src->id);
	o->currency = store_dup(src->currency);
	o->country = store_dup(src->country);
	o->revenue_account = store_dup(src->revenue_account);
	o->debtors_account = store_dup(src->debtors_account);
	o->creditors_account = store_dup(src->creditors_account);
	o->vat_account = store_dup(src->vat_account);
	return (o);
}

struct sb_office *
sb_store_office(struct sb_store *s, const char *code)
{
	size_t	i;

	if (code == NULL)
		return (NULL);
	for (i = 0; i < s->noffices; i++)
		if (strcmp(s->offices[i].code, code) == 0)
			return (&s->offices[i]);
	return (NULL);
}

struct sb_office *
sb_store_office_by_id(struct sb_store *s, const char *id)
{
	size_t	i;

	for (i = 0; i < s->noffices; i++)
		if (strcasecmp(s->offices[i].id, id) == 0)
			return (&s->offices[i]);
	return (NULL);
}

static void
store_key(char *buf, size_t len, const char *a, const char *b)
{
	snprintf(buf, len, "%s\037%s", a, b);
}

static struct sb_coll *
store_coll(struct sb_store *s, const char *office, const char *type, int create)
{
	struct sb_coll	*c;
	char		 key[128];

	store_key(key, sizeof key, office, type);
	if ((c = sb_map_get(s->colls, key)) == NULL && create) {
		c = xcalloc(1, sizeof *c);
		c->objs = sb_map_new(store_obj_free);
		sb_map_put(s->colls, key, c);
	}
	return (c);
}

struct sb_obj *
sb_store_get(struct sb_store *s, const char *office, const char *type, const char *code)
{
	struct sb_coll	*c;

	if (office == NULL || code == NULL || (c = store_coll(s, office, type, 0)) == NULL)
		return (NULL);
	return (sb_map_get(c->objs, code));
}

struct sb_obj *
sb_store_live(struct sb_store *s, const char *office, const char *type, const char *code)
{
	struct sb_obj	*o;

	o = sb_store_get(s, office, type, code);
	return (o != NULL && o->status != SB_DELETED ? o : NULL);
}

struct sb_obj *
sb_store_put(struct sb_store *s, const char *office, const char *type, const char *code,
    xmlDocPtr doc, enum sb_status status, int64_t now)
{
	struct sb_coll	*c;
	struct sb_obj	*o;

	c = store_coll(s, office, type, 1);
	if ((o = sb_map_get(c->objs, code)) != NULL) {
		if (o->doc != doc)
			xmlFreeDoc(o->doc);
	} else {
		o = xcalloc(1, sizeof *o);
		o->code = xstrdup(code);
		sb_map_put(c->objs, code, o);
	}
	o->doc = doc;
	o->status = status;
	o->modified = now;
	return (o);
}

int
sb_store_del(struct sb_store *s, const char *office, const char *type, const char *code)
{
	struct sb_coll	*c;

	if ((c = store_coll(s, office, type, 0)) == NULL)
		return (-1);
	return (sb_map_del(c->objs, code));
}

static int
store_obj_cmp(const void *a, const void *b)
{
	const struct sb_obj	*x = *(struct sb_obj *const *)a;
	const struct sb_obj	*y = *(struct sb_obj *const *)b;

	return (sb_code_cmp(x->code, y->code));
}

struct sb_obj **
sb_store_list(struct sb_store *s, const char *office, const char *type, size_t *n)
{
	struct sb_coll		*c;
	struct sb_obj		**v;
	struct sb_map_iter	 it;
	void			*val;
	size_t			 i = 0;

	*n = 0;
	if ((c = store_coll(s, office, type, 0)) == NULL || sb_map_count(c->objs) == 0)
		return (NULL);
	v = xreallocarray(NULL, sb_map_count(c->objs), sizeof *v);
	sb_map_iter_init(&it, c->objs);
	while (sb_map_next(&it, NULL, &val))
		v[i++] = val;
	qsort(v, i, sizeof *v, store_obj_cmp);
	*n = i;
	return (v);
}

size_t
sb_store_count(struct sb_store *s, const char *office, const char *type)
{
	struct sb_coll	*c;

	c = store_coll(s, office, type, 0);
	return (c != NULL ? sb_map_count(c->objs) : 0);
}

static int64_t *
store_seq(struct sb_store *s, const char *office, const char *name, int64_t first)
{
	int64_t	*v;
	char	 key[160];

	store_key(key, sizeof key, office, name);
	if ((v = sb_map_get(s->seqs, key)) == NULL) {
		v = xmalloc(sizeof *v);
		*v = first;
		sb_map_put(s->seqs, key, v);
	}
	return (v);
}

int64_t
sb_store_seq_next(struct sb_store *s, const char *office, const char *name, int64_t first)
{
	int64_t	*v;

	v = store_seq(s, office, name, first);
	if (*v < first)
		*v = first;
	return ((*v)++);
}

void
sb_store_seq_seen(struct sb_store *s, const char *office, const char *name, int64_t value)
{
	int64_t	*v;

	v = store_seq(s, office, name, value + 1);
	if (*v <= value)
		*v = value + 1;
}

void
sb_obj_names(struct sb_obj *o, const char **name, const char **shortname)
{
	xmlNodePtr	root, src;

	*name = *shortname = "";
	if (o == NULL || (root = xmlDocGetRootElement(o->doc)) == NULL)
		return;
	src = sb_x_child(root, "header") != NULL && sb_x_child(root, "name") == NULL ?
	    sb_x_child(root, "header") : root;
	*name = sb_x_ctext(src, "name");
	*shortname = sb_x_ctext(src, "shortname");
}

enum sb_status
sb_status_parse(const char *s)
{
	if (s != NULL && strcmp(s, "deleted") == 0)
		return (SB_DELETED);
	if (s != NULL && strcmp(s, "hide") == 0)
		return (SB_HIDE);
	return (SB_ACTIVE);
}

const char *
sb_status_name(enum sb_status st)
{
	switch (st) {
	case SB_DELETED:	return ("deleted");
	case SB_HIDE:		return ("hide");
	default:		return ("active");
	}
}
