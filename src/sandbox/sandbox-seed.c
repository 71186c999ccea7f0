/*
 * Seed data (conf/sandbox/seed.json): the organisation, its offices, and the
 * masters every office starts with (VAT codes, invoice types, daybooks,
 * dimensions, articles). Dimensions and articles are written through the
 * same handlers as a ProcessXml request, so the seed obeys the same rules.
 * JSON maps to XML generically: a member is a child element, "@x" an
 * attribute, "#text" the text, an array repeats the element.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"

struct json_object *
sb_seed_load(const char *path, struct kb_err *err)
{
	struct json_object	*o;

	if ((o = json_object_from_file(path)) == NULL) {
		kb_err_set(err, "%s: %s", path, json_util_get_last_err());
		return (NULL);
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		kb_err_set(err, "%s: the seed must be a JSON object", path);
		return (NULL);
	}
	return (o);
}

static const char *
seed_str(struct json_object *o, const char *key, const char *def)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return (def);
	return (json_object_get_string(v));
}

static void seed_fill(xmlNodePtr el, struct json_object *o);

static void
seed_value(xmlNodePtr parent, const char *key, struct json_object *v)
{
	xmlNodePtr	el;
	size_t		i;

	if (json_object_is_type(v, json_type_array)) {
		for (i = 0; i < json_object_array_length(v); i++)
			seed_value(parent, key, json_object_array_get_idx(v, i));
		return;
	}
	el = sb_x_add(parent, key, NULL);
	if (json_object_is_type(v, json_type_object))
		seed_fill(el, v);
	else if (!json_object_is_type(v, json_type_null))
		sb_x_set_text(el, json_object_get_string(v));
}

static void
seed_fill(xmlNodePtr el, struct json_object *o)
{
	json_object_object_foreach(o, key, v) {
		if (key[0] == '@')
			sb_x_set_prop(el, key + 1, json_object_get_string(v));
		else if (strcmp(key, "#text") == 0)
			sb_x_set_text(el, json_object_get_string(v));
		else
			seed_value(el, key, v);
	}
}

/* An unlinked element named root of ctx->out built from JSON object o; caller frees. */
static xmlNodePtr
seed_element(struct sb_ctx *ctx, const char *root, struct json_object *o)
{
	xmlNodePtr	el;

	el = xmlNewDocNode(ctx->out, NULL, (const xmlChar *)root, NULL);
	seed_fill(el, o);
	return (el);
}

static int
seed_vat(struct sb_ctx *ctx, struct sb_office *off, struct json_object *o, struct kb_err *err)
{
	struct json_object	*pcts, *p;
	xmlDocPtr		 doc;
	xmlNodePtr		 v, ps, pe, accs, acc, el;
	const char		*code, *type;
	char			 buf[64];
	double			 d;
	size_t			 i, n;

	code = seed_str(o, "code", "");
	type = seed_str(o, "type", "sales");
	if (!sb_code_ok(code))
		return (kb_err_set(err, "vat: bad code '%s'", code));
	if (strcmp(type, "sales") != 0 && strcmp(type, "purchase") != 0)
		return (kb_err_set(err, "vat %s: type must be sales or purchase", code));
	doc = xmlNewDoc((const xmlChar *)"1.0");
	v = xmlNewDocNode(doc, NULL, (const xmlChar *)"vat", NULL);
	xmlDocSetRootElement(doc, v);
	sb_x_set_prop(v, "status", "active");
	sb_x_add(v, "code", code);
	sb_x_add(v, "name", seed_str(o, "name", code));
	sb_x_add(v, "shortname", seed_str(o, "shortname", code));
	sb_guid(buf, sizeof buf);
	sb_x_add(v, "uid", buf);
	sb_x_add(v, "created", "20200101000000");
	sb_x_add(v, "modified", "20200101000000");
	sb_x_add(v, "touched", "0");
	el = sb_x_add(v, "user", ctx->store->user_code);
	sb_x_ref(el, ctx->store->user_name, ctx->store->user_code);
	sb_x_add(v, "type", type);
	ps = sb_x_add(v, "percentages", NULL);
	if (!json_object_object_get_ex(o, "percentages", &pcts))
		pcts = NULL;
	n = pcts != NULL ? json_object_array_length(pcts) : 1;
	for (i = 0; i < n; i++) {
		p = pcts != NULL ? json_object_array_get_idx(pcts, i) : o;
		if (sb_decimal_parse(seed_str(p, "percentage", ""), &d) == -1) {
			xmlFreeDoc(doc);
			return (kb_err_set(err, "vat %s: percentage missing or not a number", code));
		}
		pe = sb_x_add(ps, "percentage", NULL);
		sb_x_set_prop(pe, "status", "active");
		sb_x_set_prop(pe, "inuse", "true");
		sb_x_add(pe, "date", seed_str(p, "date", "20000101"));
		snprintf(buf, sizeof buf, "%.9f", d);
		sb_x_add(pe, "percentage", buf);
		sb_x_add(pe, "created", "20200101000000");
		sb_x_add(pe, "name", seed_str(o, "name", code));
		sb_x_add(pe, "shortname", seed_str(o, "shortname", code));
		accs = sb_x_add(pe, "accounts", NULL);
		acc = sb_x_add(accs, "account", NULL);
		sb_x_set_prop(acc, "id", "1");
		el = sb_x_add(acc, "dim1", seed_str(o, "account", off->vat_account));
		sb_x_set_prop(el, "dimensiontype", "BAS");
		sb_x_add(acc, "groupcountry", seed_str(o, "country", off->country));
		sb_x_add(acc, "group", seed_str(o, "group", ""));
		sb_x_add(acc, "percentage", "100.0");
		sb_x_add(acc, "linetype", "vat");
	}
	sb_store_put(ctx->store, off->code, SB_T_VAT, code, doc, SB_ACTIVE, ctx->now);
	return (0);
}

/* Invoice types and daybooks: stored as given, keyed by "code". */
static int
seed_plain(struct sb_ctx *ctx, struct sb_office *off, const char *type, struct json_object *o,
    struct kb_err *err)
{
	xmlNodePtr	el;
	const char	*code = seed_str(o, "code", "");

	if (!sb_code_ok(code))
		return (kb_err_set(err, "%s: bad code '%s'", type, code));
	el = seed_element(ctx, type, o);
	sb_store_put(ctx->store, off->code, type, code, sb_x_doc_of(el), SB_ACTIVE, ctx->now);
	xmlFreeNode(el);
	return (0);
}

static int
seed_write(struct sb_ctx *ctx, struct sb_office *off, const char *root, struct json_object *o,
    struct kb_err *err)
{
	xmlNodePtr	req, r;
	char		msgs[1024] = "";

	req = seed_element(ctx, root, o);
	r = strcmp(root, "article") == 0 ? sb_article_write(ctx, req) : sb_dimension_write(ctx, req);
	if (sb_x_failed(r))
		sb_x_collect_msgs(r, msgs, sizeof msgs);
	xmlFreeNode(r);
	xmlFreeNode(req);
	if (*msgs != '\0')
		return (kb_err_set(err, "office %s: %s %s: %s", off->code, root,
		    seed_str(o, "code", seed_str(json_object_object_get(o, "header"), "code", "?")),
		    msgs));
	return (0);
}

static int
seed_masters(struct sb_ctx *ctx, struct sb_office *off, struct json_object *m, struct kb_err *err)
{
	static const struct {
		const char	*key;
		const char	*kind;
	} order[] = {
		{ "vat", "vat" },
		{ "invoicetypes", SB_T_INVOICETYPE },
		{ "daybooks", SB_T_DAYBOOK },
		{ "dimensions", "dimension" },
		{ "articles", "article" },
	};
	struct json_object	*list, *o;
	size_t			 i, j;
	int			 rc;

	if (m == NULL)
		return (0);
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		if (!json_object_object_get_ex(m, order[i].key, &list))
			continue;
		if (!json_object_is_type(list, json_type_array))
			return (kb_err_set(err, "seed: \"%s\" must be an array", order[i].key));
		for (j = 0; j < json_object_array_length(list); j++) {
			o = json_object_array_get_idx(list, j);
			if (!json_object_is_type(o, json_type_object))
				return (kb_err_set(err, "seed: %s[%zu] must be an object", order[i].key, j));
			if (strcmp(order[i].kind, "vat") == 0)
				rc = seed_vat(ctx, off, o, err);
			else if (strcmp(order[i].kind, "dimension") == 0 || strcmp(order[i].kind, "article") == 0)
				rc = seed_write(ctx, off, order[i].kind, o, err);
			else
				rc = seed_plain(ctx, off, order[i].kind, o, err);
			if (rc == -1)
				return (-1);
		}
	}
	return (0);
}

struct sb_store *
sb_seed_build(struct json_object *seed, int64_t now, struct kb_err *err)
{
	struct sb_store		*s;
	struct sb_office	 tmpl, *off;
	struct sb_ctx		 ctx;
	struct json_object	*org, *offices, *o, *common, *per, *mine;
	size_t			 i;

	s = sb_store_new();
	memset(&ctx, 0, sizeof ctx);
	ctx.store = s;
	ctx.now = now;
	ctx.out = xmlNewDoc((const xmlChar *)"1.0");

	org = json_object_object_get(seed, "organisation");
	s->org_code = xstrdup(seed_str(org, "code", "SANDBOX"));
	s->org_id = xstrdup(seed_str(org, "id", "00000000-0000-4000-8000-000000000001"));
	s->user_code = xstrdup(seed_str(org, "user", "SANDBOX"));
	s->user_name = xstrdup(seed_str(org, "user_name", "Sandbox user"));
	s->finder_address_email = json_object_get_boolean(json_object_object_get(seed,
	    "finder_address_includes_email"));

	if (!json_object_object_get_ex(seed, "offices", &offices) ||
	    !json_object_is_type(offices, json_type_array) || json_object_array_length(offices) == 0) {
		kb_err_set(err, "seed: \"offices\" must be a non-empty array");
		goto fail;
	}
	common = json_object_object_get(seed, "masters");
	per = json_object_object_get(seed, "office_masters");
	for (i = 0; i < json_object_array_length(offices); i++) {
		o = json_object_array_get_idx(offices, i);
		memset(&tmpl, 0, sizeof tmpl);
		tmpl.code = (char *)seed_str(o, "code", "");
		if (!sb_code_ok(tmpl.code) || sb_store_office(s, tmpl.code) != NULL) {
			kb_err_set(err, "seed: offices[%zu]: missing, bad or repeated code", i);
			goto fail;
		}
		tmpl.name = (char *)seed_str(o, "name", tmpl.code);
		tmpl.shortname = (char *)seed_str(o, "shortname", tmpl.name);
		tmpl.id = (char *)seed_str(o, "id", "");
		tmpl.currency = (char *)seed_str(o, "currency", "EUR");
		tmpl.country = (char *)seed_str(o, "country", "NL");
		tmpl.revenue_account = (char *)seed_str(o, "revenue_account", "8000");
		tmpl.debtors_account = (char *)seed_str(o, "debtors_account", "1300");
		tmpl.creditors_account = (char *)seed_str(o, "creditors_account", "1600");
		tmpl.vat_account = (char *)seed_str(o, "vat_account", "1500");
		off = sb_store_add_office(s, &tmpl);
		ctx.company = off->code;
		if (seed_masters(&ctx, off, common, err) == -1)
			goto fail;
		mine = per != NULL ? json_object_object_get(per, off->code) : NULL;
		if (seed_masters(&ctx, off, mine, err) == -1)
			goto fail;
	}
	xmlFreeDoc(ctx.out);
	return (s);
fail:
	xmlFreeDoc(ctx.out);
	sb_store_free(s);
	return (NULL);
}
