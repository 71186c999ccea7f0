/*
 * ProcessXml request documents (§3.4): dispatch on the root element, batch
 * roots of up to SB_RULE_BATCH_MAX children processed each on its own, and
 * the helpers every document handler shares (office, references, results).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

const char *
sb_doc_office(struct sb_ctx *ctx, xmlNodePtr office_el)
{
	const char	*s = sb_x_text(office_el);

	if (*s != '\0')
		return (s);
	return (ctx->company != NULL ? ctx->company : "");
}

xmlNodePtr
sb_result_copy(struct sb_ctx *ctx, struct sb_obj *o)
{
	xmlNodePtr	n;

	n = xmlDocCopyNode(xmlDocGetRootElement(o->doc), ctx->out, 1);
	sb_x_set_prop(n, "result", "1");
	return (n);
}

double
sb_vat_rate(struct sb_obj *vat, long day)
{
	xmlNodePtr	root, pcts, p;
	long		best_day = -1, d;
	double		rate = -1, v;

	if (vat == NULL)
		return (-1);
	root = xmlDocGetRootElement(vat->doc);
	pcts = sb_x_child(root, "percentages");
	for (p = sb_x_first(pcts); p != NULL; p = sb_x_next(p)) {
		if (sb_decimal_parse(sb_x_ctext(p, "percentage"), &v) == -1)
			continue;
		if (sb_date_parse(sb_x_ctext(p, "date"), &d) == -1)
			d = 0;
		if (d <= day && d >= best_day) {
			best_day = d;
			rate = v;
		}
	}
	return (rate);
}

void
sb_ref_dim(struct sb_ctx *ctx, xmlNodePtr el, const char *office, const char *code)
{
	static const char *const types[] = { "BAS", "PNL", "DEB", "CRD", "KPL", "PRJ", "AST", "ACT" };
	struct sb_obj	*o;
	const char	*name, *shortname;
	size_t		 i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		if ((o = sb_store_get(ctx->store, office, types[i], code)) != NULL) {
			sb_obj_names(o, &name, &shortname);
			sb_x_ref(el, name, shortname);
			sb_x_set_prop(el, "dimensiontype", types[i]);
			return;
		}
	}
}

/* A copy of req with the error on its root (unknown roots, oversized batches). */
static xmlNodePtr
doc_reject(struct sb_ctx *ctx, xmlNodePtr req, const char *msg)
{
	xmlNodePtr	echo;

	echo = xmlDocCopyNode(req, ctx->out, 1);
	sb_err(echo, "%s", msg);
	return (echo);
}

typedef xmlNodePtr (*doc_write_fn)(struct sb_ctx *, xmlNodePtr);

static const struct {
	const char	*batch;
	const char	*single;
	doc_write_fn	 fn;
} doc_kinds[] = {
	{ "dimensions",		"dimension",	sb_dimension_write },
	{ "articles",		"article",	sb_article_write },
	{ "salesinvoices",	"salesinvoice",	sb_invoice_write },
	{ "transactions",	"transaction",	sb_transaction_write },
};

static xmlNodePtr
doc_batch(struct sb_ctx *ctx, xmlNodePtr req, const char *single, doc_write_fn fn)
{
	xmlNodePtr	 out, n, r;
	size_t		 count;
	int		 failed = 0;
	char		 msg[256];

	count = sb_x_count(req, NULL);
	if (count > SB_RULE_BATCH_MAX) {
		snprintf(msg, sizeof msg, "A <%s> request may hold at most %d <%s> elements; it holds %zu.",
		    (const char *)req->name, SB_RULE_BATCH_MAX, single, count);
		return (doc_reject(ctx, req, msg));
	}
	if (count == 0) {
		snprintf(msg, sizeof msg, "The request holds no <%s>.", single);
		return (doc_reject(ctx, req, msg));
	}
	out = xmlDocCopyNode(req, ctx->out, 2);	/* the root and its attributes */
	for (n = sb_x_first(req); n != NULL; n = sb_x_next(n)) {
		if (sb_x_is(n, single))
			r = fn(ctx, n);
		else {
			r = xmlDocCopyNode(n, ctx->out, 1);
			sb_err(r, "Element <%s> is not allowed in <%s>.", (const char *)n->name,
			    (const char *)req->name);
		}
		if (sb_x_failed(r))
			failed = 1;
		xmlAddChild(out, r);
	}
	sb_x_set_prop(out, "result", failed ? "0" : "1");
	return (out);
}

xmlNodePtr
sb_process_document(struct sb_ctx *ctx, xmlNodePtr root)
{
	const char	*name = (const char *)root->name;
	char		 msg[256];
	size_t		 i;

	if (strcmp(name, "read") == 0)
		return (sb_read(ctx, root));
	if (strcmp(name, "list") == 0)
		return (sb_list(ctx, root));
	for (i = 0; i < sizeof doc_kinds / sizeof doc_kinds[0]; i++) {
		if (strcmp(name, doc_kinds[i].single) == 0)
			return (doc_kinds[i].fn(ctx, root));
		if (strcmp(name, doc_kinds[i].batch) == 0)
			return (doc_batch(ctx, root, doc_kinds[i].single, doc_kinds[i].fn));
	}
	if (strcmp(name, "general") == 0)
		return (doc_reject(ctx, root, "The <general> root is no longer allowed: "
		    "send each kind of document in its own request."));
	if (strcmp(name, "columns") == 0 || strcmp(name, "accountcode") == 0 ||
	    strcmp(name, "accountcodes") == 0 || strcmp(name, "vat") == 0) {
		snprintf(msg, sizeof msg, "<%s> requests are not simulated by kassaboek-sandbox.", name);
		return (doc_reject(ctx, root, msg));
	}
	snprintf(msg, sizeof msg, "Unknown root element <%s>.", name);
	return (doc_reject(ctx, root, msg));
}
