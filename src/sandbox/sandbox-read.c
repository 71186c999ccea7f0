/*
 * <read> and <list> requests (§5.1-§5.9): one stored object by office, type
 * and code, or the codes of a kind. A miss returns the requested root
 * element with result="0" and the message (§6.1); a malformed parameter
 * echoes the <read> with the message on the offending element.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

/* An empty root element with the message on it: <salesinvoice msgtype="error" msg="…" result="0"/>. */
static xmlNodePtr
read_missing(struct sb_ctx *ctx, const char *root, const char *msg)
{
	xmlNodePtr	el;

	el = xmlNewDocNode(ctx->out, NULL, (const xmlChar *)root, NULL);
	sb_err(el, "%s", msg);
	return (el);
}

static xmlNodePtr
read_dimension(struct sb_ctx *ctx, xmlNodePtr echo, struct sb_office *off)
{
	const char	*dimtype, *code;
	struct sb_obj	*o;
	xmlNodePtr	 el, r;

	dimtype = sb_x_ctext(echo, "dimtype");
	code = sb_x_ctext(echo, "code");
	if (*dimtype == '\0' || sb_dimtype(dimtype) == NULL) {
		sb_err_at(echo, "dimtype", "Dimension type %s does not exist.", dimtype);
		return (echo);
	}
	if ((o = sb_store_get(ctx->store, off->code, dimtype, code)) == NULL) {
		/* §5.2: the known parts echoed, the culprit marked. */
		r = xmlNewDocNode(ctx->out, NULL, (const xmlChar *)"dimension", NULL);
		el = sb_x_add(r, "office", off->code);
		sb_x_ref(el, off->name, off->shortname);
		el = sb_x_add(r, "type", dimtype);
		sb_x_ref(el, sb_dimtype(dimtype)->name, sb_dimtype(dimtype)->name);
		el = sb_x_add(r, "code", code);
		sb_err(el, "Dimension %s does not exist.", code);
		xmlFreeNode(echo);
		return (r);
	}
	xmlFreeNode(echo);
	return (sb_result_copy(ctx, o));
}

/*
 * A document read by series and number: an invoice (invoice type +
 * invoicenumber) or a transaction (daybook + number).
 */
static xmlNodePtr
read_numbered(struct sb_ctx *ctx, xmlNodePtr echo, struct sb_office *off, int invoice)
{
	const char	*type = invoice ? SB_T_INVOICE : SB_T_TRANSACTION;
	const char	*numfield = invoice ? "invoicenumber" : "number";
	const char	*series, *nr;
	long long	 n;
	struct sb_obj	*o;
	char		 key[96], msg[256];

	series = sb_x_ctext(echo, "code");
	nr = sb_x_ctext(echo, numfield);
	if (sb_int_parse(nr, 1, 999999999999LL, &n) == -1) {
		sb_err_at(echo, numfield, "%s must be an integer.", numfield);
		return (echo);
	}
	snprintf(key, sizeof key, "%s/%lld", series, n);
	if (invoice)
		snprintf(msg, sizeof msg, "Invoice %s of type %s does not exist.", nr, series);
	else
		snprintf(msg, sizeof msg, "Transaction %s %s does not exist.", series, nr);
	xmlFreeNode(echo);
	if ((o = sb_store_get(ctx->store, off->code, type, key)) == NULL)
		return (read_missing(ctx, type, msg));
	return (sb_result_copy(ctx, o));
}

static xmlNodePtr
read_simple(struct sb_ctx *ctx, xmlNodePtr echo, struct sb_office *off, const char *type,
    const char *root, const char *what)
{
	const char	*code = sb_x_ctext(echo, "code");
	struct sb_obj	*o;
	xmlNodePtr	 r;
	char		 msg[256];

	if ((o = sb_store_get(ctx->store, off->code, type, code)) == NULL) {
		snprintf(msg, sizeof msg, "%s %s does not exist.", what, code);
		r = read_missing(ctx, root, msg);
		xmlFreeNode(echo);
		return (r);
	}
	xmlFreeNode(echo);
	return (sb_result_copy(ctx, o));
}

static xmlNodePtr
read_office(struct sb_ctx *ctx, xmlNodePtr echo)
{
	struct sb_office	*off;
	const char		*code = sb_x_ctext(echo, "code");
	xmlNodePtr		 r;
	char			 msg[256];

	if (*code == '\0')
		code = sb_doc_office(ctx, NULL);
	if ((off = sb_store_office(ctx->store, code)) == NULL) {
		snprintf(msg, sizeof msg, "Office %s does not exist.", code);
		r = read_missing(ctx, "office", msg);
		xmlFreeNode(echo);
		return (r);
	}
	xmlFreeNode(echo);
	r = xmlNewDocNode(ctx->out, NULL, (const xmlChar *)"office", NULL);
	sb_x_set_prop(r, "result", "1");
	sb_x_add(r, "code", off->code);
	sb_x_add(r, "name", off->name);
	sb_x_add(r, "shortname", off->shortname);
	sb_x_add(r, "currency", off->currency);
	sb_x_add(r, "country", off->country);
	return (r);
}

xmlNodePtr
sb_read(struct sb_ctx *ctx, xmlNodePtr req)
{
	struct sb_office	*off;
	xmlNodePtr		 echo;
	const char		*type, *officecode;

	echo = xmlDocCopyNode(req, ctx->out, 1);
	type = sb_x_ctext(echo, "type");
	if (strcmp(type, "office") == 0)
		return (read_office(ctx, echo));
	officecode = sb_doc_office(ctx, sb_x_child(echo, "office"));
	if ((off = sb_store_office(ctx->store, officecode)) == NULL) {
		sb_err_at(echo, "office", "Office %s does not exist.", officecode);
		return (echo);
	}
	if (strcmp(type, "dimensions") == 0 || strcmp(type, "dimension") == 0)
		return (read_dimension(ctx, echo, off));
	if (strcmp(type, "article") == 0)
		return (read_simple(ctx, echo, off, SB_T_ARTICLE, "article", "Article"));
	if (strcmp(type, "vat") == 0)
		return (read_simple(ctx, echo, off, SB_T_VAT, "vat", "VAT code"));
	if (strcmp(type, "salesinvoice") == 0)
		return (read_numbered(ctx, echo, off, 1));
	if (strcmp(type, "transaction") == 0)
		return (read_numbered(ctx, echo, off, 0));
	sb_err_at(echo, "type", "Type %s cannot be read.", type);
	return (echo);
}

static xmlNodePtr
list_offices(struct sb_ctx *ctx, xmlNodePtr echo)
{
	xmlNodePtr	r, el;
	size_t		i;

	xmlFreeNode(echo);
	r = xmlNewDocNode(ctx->out, NULL, (const xmlChar *)"offices", NULL);
	sb_x_set_prop(r, "result", "1");
	for (i = 0; i < ctx->store->noffices; i++) {
		el = sb_x_add(r, "office", ctx->store->offices[i].code);
		sb_x_ref(el, ctx->store->offices[i].name, ctx->store->offices[i].shortname);
	}
	return (r);
}

static xmlNodePtr
list_dimensions(struct sb_ctx *ctx, xmlNodePtr echo)
{
	struct sb_office	 *off;
	struct sb_obj		**v;
	const char		 *dimtype, *name, *shortname;
	xmlNodePtr		  r, el;
	size_t			  n, i;

	off = sb_store_office(ctx->store, sb_doc_office(ctx, sb_x_child(echo, "office")));
	if (off == NULL) {
		sb_err_at(echo, "office", "Office %s does not exist.",
		    sb_doc_office(ctx, sb_x_child(echo, "office")));
		return (echo);
	}
	dimtype = sb_x_ctext(echo, "dimtype");
	if (sb_dimtype(dimtype) == NULL) {
		sb_err_at(echo, "dimtype", "Dimension type %s does not exist.", dimtype);
		return (echo);
	}
	r = xmlNewDocNode(ctx->out, NULL, (const xmlChar *)"dimensions", NULL);
	sb_x_set_prop(r, "office", off->code);
	sb_x_set_prop(r, "type", dimtype);
	sb_x_set_prop(r, "result", "1");
	v = sb_store_list(ctx->store, off->code, dimtype, &n);
	for (i = 0; i < n; i++) {
		if (v[i]->status == SB_DELETED)
			continue;
		sb_obj_names(v[i], &name, &shortname);
		el = sb_x_add(r, "dimension", v[i]->code);
		sb_x_ref(el, name, shortname);
	}
	free(v);
	/* §5.2: a pseudo entry equal to the type closes the list; clients skip it. */
	el = sb_x_add(r, "dimension", dimtype);
	sb_x_ref(el, "", "");
	xmlFreeNode(echo);
	return (r);
}

xmlNodePtr
sb_list(struct sb_ctx *ctx, xmlNodePtr req)
{
	xmlNodePtr	 echo;
	const char	*type;

	echo = xmlDocCopyNode(req, ctx->out, 1);
	type = sb_x_ctext(echo, "type");
	if (strcmp(type, "offices") == 0)
		return (list_offices(ctx, echo));
	if (strcmp(type, "dimensions") == 0)
		return (list_dimensions(ctx, echo));
	sb_err_at(echo, "type", "List type %s is not supported.", type);
	return (echo);
}
