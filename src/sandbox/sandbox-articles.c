/*
 * Articles (§5.6): <article><header/><lines><line/>…</lines></article>,
 * upsert by office + code, header/@status="deleted" deletes. Lines are the
 * sub-articles an invoice line names with <subarticle>.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

static const char *const article_gl_types[] = { "PNL", "BAS", NULL };
static const char *const article_kpl_types[] = { "KPL", NULL };

static void
article_check_bool(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	 el;
	const char	*s;

	if ((el = sb_x_child(parent, name)) == NULL)
		return;
	s = sb_x_text(el);
	if (*s != '\0' && strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
		sb_err(el, "Value must be true or false.");
}

static void
article_check_money(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	el;
	int64_t		v;

	if ((el = sb_x_child(parent, name)) != NULL && *sb_x_text(el) != '\0' &&
	    sb_money_parse(sb_x_text(el), &v) == -1)
		sb_err(el, "Value %s is not a valid amount.", sb_x_text(el));
}

static void
article_check_header(struct sb_ctx *ctx, const char *office, xmlNodePtr hdr, int fresh)
{
	xmlNodePtr	 el;
	const char	*s, *type;
	struct sb_obj	*vat;

	type = sb_x_ctext(hdr, "type");
	if (*type != '\0' && strcmp(type, "normal") != 0 && strcmp(type, "discount") != 0 &&
	    strcmp(type, "premium") != 0)
		sb_err_at(hdr, "type", "Article type %s is not valid (normal, discount or premium).", type);
	if (fresh && *sb_x_ctext(hdr, "name") == '\0')
		sb_err_at(hdr, "name", "Name must not be empty.");
	if ((el = sb_x_child(hdr, "vatcode")) != NULL && *(s = sb_x_text(el)) != '\0') {
		vat = sb_store_live(ctx->store, office, SB_T_VAT, s);
		if (vat == NULL)
			sb_err(el, "VAT code %s does not exist.", s);
		else if (strcmp(sb_x_ctext(xmlDocGetRootElement(vat->doc), "type"), "sales") != 0)
			sb_err(el, "VAT code %s is not a sales VAT code.", s);
	} else if (fresh && (*type == '\0' || strcmp(type, "normal") == 0) &&
	    strcmp(sb_x_ctext(hdr, "percentage"), "true") != 0)
		sb_err_at(hdr, "vatcode", "VAT code must not be empty.");
	article_check_bool(hdr, "allowchangevatcode");
	article_check_bool(hdr, "percentage");
	article_check_bool(hdr, "allowdiscountorpremium");
	article_check_bool(hdr, "allowchangeunitsprice");
	article_check_bool(hdr, "allowdecimalquantity");
	s = sb_x_ctext(hdr, "performancetype");
	if (*s != '\0' && strcmp(s, "services") != 0 && strcmp(s, "goods") != 0)
		sb_err_at(hdr, "performancetype", "Performance type %s is not valid.", s);
}

static void
article_check_lines(struct sb_ctx *ctx, const char *office, xmlNodePtr lines)
{
	xmlNodePtr	 l, m, el;
	const char	*sub, *s;
	double		 d;
	size_t		 n;

	n = sb_x_count(lines, "line");
	for (l = sb_x_first(lines); l != NULL; l = sb_x_next(l)) {
		if (!sb_x_is(l, "line")) {
			sb_err(l, "Element <%s> is not allowed in <lines>.", (const char *)l->name);
			continue;
		}
		sub = sb_x_ctext(l, "subcode");
		if (*sub == '\0' && n > 1)
			sb_err_at(l, "subcode", "Sub-article code must not be empty.");
		else if (*sub != '\0' && !sb_code_ok(sub))
			sb_err_at(l, "subcode", "Sub-article code %s is not valid.", sub);
		for (m = sb_x_first(lines); m != l && *sub != '\0'; m = sb_x_next(m))
			if (strcmp(sb_x_ctext(m, "subcode"), sub) == 0) {
				sb_err_at(l, "subcode", "Sub-article code %s occurs more than once.", sub);
				break;
			}
		article_check_money(l, "unitspriceexcl");
		article_check_money(l, "unitspriceinc");
		if ((el = sb_x_child(l, "units")) != NULL && *sb_x_text(el) != '\0' &&
		    (sb_decimal_parse(sb_x_text(el), &d) == -1 || d <= 0))
			sb_err(el, "Units must be a positive number.");
		if ((el = sb_x_child(l, "freetext1")) != NULL && *(s = sb_x_text(el)) != '\0' &&
		    sb_find_dim(ctx->store, office, s, article_gl_types, NULL) == NULL)
			sb_err(el, "General ledger account %s does not exist.", s);
		if ((el = sb_x_child(l, "freetext2")) != NULL && *(s = sb_x_text(el)) != '\0' &&
		    sb_find_dim(ctx->store, office, s, article_kpl_types, NULL) == NULL)
			sb_err(el, "Cost centre %s does not exist.", s);
		s = sb_x_prop(l, "status");
		if (s != NULL && strcmp(s, "active") != 0 && strcmp(s, "deleted") != 0 &&
		    strcmp(s, "hide") != 0)
			sb_err(l, "Status %s is not valid.", s);
	}
}

static void
article_enrich(struct sb_ctx *ctx, struct sb_office *off, xmlNodePtr st, enum sb_status status)
{
	xmlNodePtr	 hdr, l, next, el;
	struct sb_obj	*o;
	const char	*name, *shortname;
	char		 buf[32];
	int		 id = 1;

	hdr = sb_x_child(st, "header");
	sb_x_set_prop(hdr, "status", sb_status_name(status));
	sb_x_ref(sb_x_child(hdr, "office"), off->name, off->shortname);
	if (sb_x_child(hdr, "type") == NULL)
		sb_x_add(hdr, "type", "normal");
	if ((el = sb_x_child(hdr, "vatcode")) != NULL && *sb_x_text(el) != '\0') {
		o = sb_store_get(ctx->store, off->code, SB_T_VAT, sb_x_text(el));
		sb_obj_names(o, &name, &shortname);
		sb_x_ref(el, name, shortname);
		sb_x_set_prop(el, "type", "sales");
	}
	/* Library defaults (§5.6) for the flags a request left out. */
	if (sb_x_child(hdr, "allowchangevatcode") == NULL)
		sb_x_add(hdr, "allowchangevatcode", "false");
	if (sb_x_child(hdr, "percentage") == NULL)
		sb_x_add(hdr, "percentage", "false");
	if (sb_x_child(hdr, "allowdiscountorpremium") == NULL)
		sb_x_add(hdr, "allowdiscountorpremium", "true");
	if (sb_x_child(hdr, "allowchangeunitsprice") == NULL)
		sb_x_add(hdr, "allowchangeunitsprice", "false");
	if (sb_x_child(hdr, "allowdecimalquantity") == NULL)
		sb_x_add(hdr, "allowdecimalquantity", "false");
	for (l = sb_x_first(sb_x_child(st, "lines")); l != NULL; l = next) {
		next = sb_x_next(l);
		if (sb_status_parse(sb_x_prop(l, "status")) == SB_DELETED) {
			xmlUnlinkNode(l);
			xmlFreeNode(l);
			continue;
		}
		snprintf(buf, sizeof buf, "%d", id++);
		sb_x_set_prop(l, "id", buf);
		sb_x_set_prop(l, "status", "active");
		if (sb_x_prop(l, "inuse") == NULL)
			sb_x_set_prop(l, "inuse", "false");
		if (sb_x_child(l, "units") == NULL)
			sb_x_add(l, "units", "1");
		if ((el = sb_x_child(l, "freetext1")) != NULL && *sb_x_text(el) != '\0')
			sb_ref_dim(ctx, el, off->code, sb_x_text(el));
		if ((el = sb_x_child(l, "freetext2")) != NULL && *sb_x_text(el) != '\0')
			sb_ref_dim(ctx, el, off->code, sb_x_text(el));
	}
}

xmlNodePtr
sb_article_write(struct sb_ctx *ctx, xmlNodePtr req)
{
	struct sb_office	*off;
	struct sb_obj		*old;
	xmlNodePtr		 echo, hdr, st, lines, ohdr, n;
	xmlDocPtr		 doc;
	const char		*officecode, *code, *s;
	enum sb_status		 status;

	echo = xmlDocCopyNode(req, ctx->out, 1);
	if ((hdr = sb_x_child(echo, "header")) == NULL) {
		sb_err(echo, "The article has no <header>.");
		return (echo);
	}
	officecode = sb_doc_office(ctx, sb_x_child(hdr, "office"));
	if ((off = sb_store_office(ctx->store, officecode)) == NULL) {
		sb_err(echo, "Office %s does not exist.", officecode);
		return (echo);
	}
	s = sb_x_prop(hdr, "status");
	if (s != NULL && strcmp(s, "active") != 0 && strcmp(s, "hide") != 0 && strcmp(s, "deleted") != 0) {
		sb_err(hdr, "Status %s is not valid (active, hide or deleted).", s);
		return (echo);
	}
	status = sb_status_parse(s);
	code = sb_x_ctext(hdr, "code");
	if (*code == '\0') {
		sb_err_at(hdr, "code", "Article code must not be empty.");
		return (echo);
	}
	if ((SB_RULE_ARTICLE_CODE_DIGITS_ONLY && !sb_is_digits(code)) ||
	    strlen(code) > SB_RULE_ARTICLE_CODE_MAX) {
		sb_err_at(hdr, "code", "Article code %s is not valid: it must be 1 to %d digits.",
		    code, SB_RULE_ARTICLE_CODE_MAX);
		return (echo);
	}
	old = sb_store_live(ctx->store, off->code, SB_T_ARTICLE, code);
	if (status == SB_DELETED) {
		if (old == NULL) {
			sb_err_at(hdr, "code", "Article %s does not exist.", code);
			return (echo);
		}
		st = xmlDocGetRootElement(old->doc);
		sb_x_set_prop(sb_x_child(st, "header"), "status", "deleted");
		old->status = SB_DELETED;
		old->modified = ctx->now;
		xmlFreeNode(echo);
		return (sb_result_copy(ctx, old));
	}
	article_check_header(ctx, off->code, hdr, old == NULL);
	if ((lines = sb_x_child(echo, "lines")) != NULL)
		article_check_lines(ctx, off->code, lines);
	if (sb_x_failed(echo))
		return (echo);

	if (old != NULL) {
		/* Header fields sent replace the stored ones; <lines>, when sent, replaces all lines. */
		doc = sb_x_doc_of(xmlDocGetRootElement(old->doc));
		st = xmlDocGetRootElement(doc);
		ohdr = sb_x_child(st, "header");
		for (n = sb_x_first(hdr); n != NULL; n = sb_x_next(n)) {
			sb_x_remove(ohdr, (const char *)n->name);
			xmlAddChild(ohdr, xmlDocCopyNode(n, doc, 1));
		}
		if (lines != NULL) {
			sb_x_remove(st, "lines");
			xmlAddChild(st, xmlDocCopyNode(lines, doc, 1));
		}
	} else {
		doc = sb_x_doc_of(echo);
		st = xmlDocGetRootElement(doc);
	}
	xmlUnsetProp(st, (const xmlChar *)"result");
	sb_x_set_text(sb_x_ensure_first(sb_x_child(st, "header"), "office"), off->code);
	article_enrich(ctx, off, st, status);
	xmlFreeNode(echo);	/* code pointed into echo: take it from the stored copy */
	old = sb_store_put(ctx->store, off->code, SB_T_ARTICLE, sb_x_ctext(sb_x_child(st, "header"), "code"),
	    doc, status, ctx->now);
	return (sb_result_copy(ctx, old));
}
