/*
 * Sales invoices (§5.7): validation of customer, articles and sub-articles,
 * VAT codes, revenue accounts, cost centres and projects; invoice numbers
 * per office and invoice type; line values, VAT lines and totals; a final
 * invoice also books its sales transaction (financials/code + number).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

#define INV_MAX_VAT	32

struct inv_vat {
	const char	*code;
	struct sb_obj	*obj;
	double		 rate;
	int64_t		 base;
	int64_t		 vat;
};

struct inv_state {
	struct sb_ctx		*ctx;
	struct sb_office	*off;
	long			 invoicedate;
	struct inv_vat		 vats[INV_MAX_VAT];
	size_t			 nvat;
	int64_t			 excl;
	int64_t			 vat;
};

static const char *const inv_gl_types[] = { "PNL", "BAS", NULL };
static const char *const inv_dim2_types[] = { SB_RULE_INVOICE_LINE_DIM2_TYPE, NULL };
static const char *const inv_dim3_types[] = { SB_RULE_INVOICE_LINE_DIM3_TYPE, NULL };

static int
inv_true(xmlNodePtr parent, const char *name)
{
	return (strcmp(sb_x_ctext(parent, name), "true") == 0);
}

/* The sub-article line of art that an invoice line names; errors go on the invoice line. */
static xmlNodePtr
inv_subarticle(xmlNodePtr line, struct sb_obj *art, const char *artcode)
{
	xmlNodePtr	 lines, l, only = NULL;
	const char	*sub;
	size_t		 n = 0, named = 0;

	lines = sb_x_child(xmlDocGetRootElement(art->doc), "lines");
	for (l = sb_x_first(lines); l != NULL; l = sb_x_next(l)) {
		n++;
		only = l;
		if (*sb_x_ctext(l, "subcode") != '\0')
			named++;
	}
	sub = sb_x_ctext(line, "subarticle");
	if (named == 0) {
		if (*sub != '\0') {
			sb_err_at(line, "subarticle", "Article %s has no sub-article %s.", artcode, sub);
			return (NULL);
		}
		return (n == 1 ? only : NULL);
	}
	if (*sub == '\0') {
		if (SB_RULE_SUBARTICLE_REQUIRED || n != 1)
			sb_err_at(line, "subarticle", "The sub-code of the article must not be empty.");
		return (NULL);
	}
	for (l = sb_x_first(lines); l != NULL; l = sb_x_next(l))
		if (strcmp(sb_x_ctext(l, "subcode"), sub) == 0)
			return (l);
	sb_err_at(line, "subarticle", "Sub-article %s of article %s was not found.", sub, artcode);
	return (NULL);
}

static void
inv_set_money(xmlNodePtr parent, const char *name, int64_t cents)
{
	char	buf[40];

	sb_money_fmt(cents, buf, sizeof buf);
	sb_x_set(parent, name, buf);
}

static struct inv_vat *
inv_vat_slot(struct inv_state *is, const char *code, struct sb_obj *obj, double rate)
{
	size_t	i;

	for (i = 0; i < is->nvat; i++)
		if (strcmp(is->vats[i].code, code) == 0)
			return (&is->vats[i]);
	if (is->nvat == INV_MAX_VAT)
		return (NULL);
	is->vats[is->nvat].code = obj->code;
	is->vats[is->nvat].obj = obj;
	is->vats[is->nvat].rate = rate;
	is->vats[is->nvat].base = is->vats[is->nvat].vat = 0;
	return (&is->vats[is->nvat++]);
}

/* Validates one line and, when it is valid, fills in its values (§5.7 line table). */
static void
inv_line(struct inv_state *is, xmlNodePtr line, int id)
{
	struct sb_ctx	*ctx = is->ctx;
	const char	*office = is->off->code, *artcode, *s, *vatcode, *name, *shortname;
	struct sb_obj	*art = NULL, *vat = NULL;
	xmlNodePtr	 ahdr = NULL, sub = NULL, el;
	double		 qty = 1, units = 1, rate = 0;
	int64_t		 price = 0, inc, excl, vatv;
	int		 oneoff, have_price = 0;
	struct inv_vat	*slot;
	char		 buf[40];

	if (sb_x_prop(line, "id") == NULL) {
		snprintf(buf, sizeof buf, "%d", id);
		sb_x_set_prop(line, "id", buf);
	}
	artcode = sb_x_ctext(line, "article");
	oneoff = strcmp(artcode, SB_RULE_ONEOFF_ARTICLE) == 0;
	if (*artcode == '\0')
		sb_err_at(line, "article", "Article code must not be empty.");
	else if (!oneoff && (art = sb_store_live(ctx->store, office, SB_T_ARTICLE, artcode)) == NULL)
		sb_err_at(line, "article", "Article code %s was not found.", artcode);
	if (art != NULL) {
		ahdr = sb_x_child(xmlDocGetRootElement(art->doc), "header");
		sub = inv_subarticle(line, art, artcode);
	}

	if ((el = sb_x_child(line, "quantity")) != NULL && *sb_x_text(el) != '\0') {
		if (sb_decimal_parse(sb_x_text(el), &qty) == -1)
			sb_err(el, "Quantity %s is not a number.", sb_x_text(el));
		else if (ahdr != NULL && !inv_true(ahdr, "allowdecimalquantity") && qty != floor(qty))
			sb_err(el, "Quantity must be a whole number for article %s.", artcode);
	}
	s = sb_x_ctext(line, "units");
	if (*s == '\0' && sub != NULL)
		s = sb_x_ctext(sub, "units");
	if (*s != '\0' && (sb_decimal_parse(s, &units) == -1 || units <= 0))
		sb_err_at(line, "units", "Units must be a positive number.");

	vatcode = sb_x_ctext(line, "vatcode");
	if (*vatcode == '\0' && ahdr != NULL)
		vatcode = sb_x_ctext(ahdr, "vatcode");
	if (*vatcode == '\0') {
		if (*artcode != '\0' && (oneoff || art != NULL))
			sb_err_at(line, "vatcode", "VAT code must not be empty.");
	} else if ((vat = sb_store_live(ctx->store, office, SB_T_VAT, vatcode)) == NULL ||
	    strcmp(sb_x_ctext(xmlDocGetRootElement(vat->doc), "type"), "sales") != 0) {
		sb_err_at(line, "vatcode", "Invalid VAT code %s.", vatcode);
		vat = NULL;
	} else if (SB_RULE_ENFORCE_ALLOWCHANGEVATCODE && ahdr != NULL &&
	    *sb_x_ctext(line, "vatcode") != '\0' &&
	    strcmp(vatcode, sb_x_ctext(ahdr, "vatcode")) != 0 && !inv_true(ahdr, "allowchangevatcode")) {
		sb_err_at(line, "vatcode", "The VAT code of article %s may not be changed.", artcode);
		vat = NULL;
	} else if ((rate = sb_vat_rate(vat, is->invoicedate)) < 0) {
		sb_err_at(line, "vatcode", "VAT code %s has no percentage on the invoice date.", vatcode);
		vat = NULL;
	}

	if ((el = sb_x_child(line, "unitspriceexcl")) != NULL && *sb_x_text(el) != '\0') {
		if (sb_money_parse(sb_x_text(el), &price) == -1)
			sb_err(el, "Value %s is not a valid amount.", sb_x_text(el));
		have_price = 1;
	} else if ((el = sb_x_child(line, "unitspriceinc")) != NULL && *sb_x_text(el) != '\0') {
		if (sb_money_parse(sb_x_text(el), &inc) == -1)
			sb_err(el, "Value %s is not a valid amount.", sb_x_text(el));
		else
			price = llround((double)inc / (1.0 + rate / 100.0));
		have_price = 1;
	} else if (sub != NULL && *sb_x_ctext(sub, "unitspriceexcl") != '\0') {
		have_price = sb_money_parse(sb_x_ctext(sub, "unitspriceexcl"), &price) == 0;
	} else if (sub != NULL && *sb_x_ctext(sub, "unitspriceinc") != '\0' &&
	    sb_money_parse(sb_x_ctext(sub, "unitspriceinc"), &inc) == 0) {
		price = llround((double)inc / (1.0 + rate / 100.0));
		have_price = 1;
	}
	/* No price to report when the line already failed to name its sub-article. */
	if (!have_price && (oneoff || (art != NULL && !sb_x_failed(line))))
		sb_err_at(line, "unitspriceexcl", "Price must not be empty.");

	s = sb_x_ctext(line, "dim1");
	if (*s != '\0') {
		if (sb_find_dim(ctx->store, office, s, inv_gl_types, NULL) == NULL)
			sb_err_at(line, "dim1", "General ledger account %s does not exist.", s);
	}
	s = sb_x_ctext(line, "dim2");
	if (*s != '\0' && sb_find_dim(ctx->store, office, s, inv_dim2_types, NULL) == NULL)
		sb_err_at(line, "dim2", "Cost centre %s does not exist.", s);
	s = sb_x_ctext(line, "dim3");
	if (*s != '\0' && sb_find_dim(ctx->store, office, s, inv_dim3_types, NULL) == NULL)
		sb_err_at(line, "dim3", "Project %s does not exist.", s);

	if (sb_x_failed(line) || vat == NULL)
		return;

	/* Valid: fill in what Twinfield returns (values, defaults, names). */
	excl = llround((double)price * qty * units);
	vatv = llround((double)excl * rate / 100.0);
	if ((slot = inv_vat_slot(is, vatcode, vat, rate)) == NULL) {
		sb_err_at(line, "vatcode", "Too many VAT codes on one invoice.");
		return;
	}
	slot->base += excl;
	slot->vat += vatv;
	is->excl += excl;
	is->vat += vatv;

	snprintf(buf, sizeof buf, "%g", qty);
	sb_x_set(line, "quantity", buf);
	snprintf(buf, sizeof buf, "%g", units);
	sb_x_set(line, "units", buf);
	if (sub != NULL && *sb_x_ctext(sub, "subcode") != '\0')
		sb_x_set(line, "subarticle", sb_x_ctext(sub, "subcode"));
	sb_x_set(line, "allowdiscountorpremium", ahdr != NULL &&
	    !inv_true(ahdr, "allowdiscountorpremium") ? "false" : "true");
	if (*sb_x_ctext(line, "description") == '\0') {
		name = sub != NULL ? sb_x_ctext(sub, "name") : "";
		if (*name == '\0' && ahdr != NULL)
			name = sb_x_ctext(ahdr, "name");
		sb_x_set(line, "description", name);
	}
	inv_set_money(line, "valueexcl", excl);
	inv_set_money(line, "vatvalue", vatv);
	inv_set_money(line, "valueinc", excl + vatv);
	inv_set_money(line, "unitspriceexcl", price);
	xmlUnlinkNode(el = sb_x_child(line, "unitspriceinc"));
	xmlFreeNode(el);
	sb_x_ensure(line, "freetext1");
	sb_x_ensure(line, "freetext2");
	sb_x_ensure(line, "freetext3");
	s = sb_x_ctext(line, "dim1");
	if (*s == '\0')
		s = sub != NULL && *sb_x_ctext(sub, "freetext1") != '\0' ?
		    sb_x_ctext(sub, "freetext1") : is->off->revenue_account;
	el = sb_x_set(line, "dim1", s);
	sb_ref_dim(ctx, el, office, sb_x_text(el));
	if ((el = sb_x_child(line, "dim2")) != NULL && *sb_x_text(el) != '\0')
		sb_ref_dim(ctx, el, office, sb_x_text(el));
	if ((el = sb_x_child(line, "dim3")) != NULL && *sb_x_text(el) != '\0')
		sb_ref_dim(ctx, el, office, sb_x_text(el));
	el = sb_x_set(line, "vatcode", vatcode);
	sb_obj_names(vat, &name, &shortname);
	sb_x_ref(el, name, shortname);
	sb_x_set_prop(el, "type", "sales");
}

/* Address number must be the id of one of the customer's addresses. */
static void
inv_check_address(xmlNodePtr hdr, const char *name, struct sb_obj *cust)
{
	xmlNodePtr	 el, a;
	const char	*id;

	if ((el = sb_x_child(hdr, name)) == NULL || *sb_x_text(el) == '\0' || cust == NULL)
		return;
	for (a = sb_x_first(sb_x_child(xmlDocGetRootElement(cust->doc), "addresses")); a != NULL;
	    a = sb_x_next(a))
		if ((id = sb_x_prop(a, "id")) != NULL && strcmp(id, sb_x_text(el)) == 0)
			return;
	sb_err(el, "The address is invalid.");
}

static void
inv_date(xmlNodePtr hdr, const char *name, const char *what, long *out)
{
	xmlNodePtr	el;

	if ((el = sb_x_child(hdr, name)) != NULL && *sb_x_text(el) != '\0' &&
	    sb_date_parse(sb_x_text(el), out) == -1)
		sb_err(el, "The %s is invalid.", what);
}

xmlNodePtr
sb_invoice_write(struct sb_ctx *ctx, xmlNodePtr req)
{
	struct inv_state	 is;
	struct sb_obj		*itype = NULL, *cust = NULL, *old = NULL;
	xmlNodePtr		 echo, hdr, lines, l, el, vl, v, tot, fin;
	const char		*officecode, *typecode, *status, *s, *name, *shortname, *daybook;
	long long		 number = 0, duedays = SB_RULE_DEFAULT_DUEDAYS, first;
	long			 duedate = -1, perfdate = -1;
	int			 y, m, id = 1;
	char			 key[96], buf[64];

	memset(&is, 0, sizeof is);
	is.ctx = ctx;
	echo = xmlDocCopyNode(req, ctx->out, 1);
	if ((hdr = sb_x_child(echo, "header")) == NULL) {
		sb_err(echo, "The invoice has no <header>.");
		return (echo);
	}
	officecode = sb_doc_office(ctx, sb_x_child(hdr, "office"));
	if ((is.off = sb_store_office(ctx->store, officecode)) == NULL) {
		sb_err(echo, "Office %s does not exist.", officecode);
		return (echo);
	}
	typecode = sb_x_ctext(hdr, "invoicetype");
	if (*typecode == '\0')
		sb_err_at(hdr, "invoicetype", "Value must not be empty.");
	else if ((itype = sb_store_live(ctx->store, is.off->code, SB_T_INVOICETYPE, typecode)) == NULL)
		sb_err_at(hdr, "invoicetype", "Invoice type %s does not exist.", typecode);
	status = sb_x_ctext(hdr, "status");
	if (*status == '\0' || strcmp(status, "default") == 0)
		status = SB_RULE_DEFAULT_INVOICE_STATUS;
	else if (strcmp(status, "concept") == 0)
		status = "concept";	/* static strings: the header's text is rewritten below */
	else if (strcmp(status, "final") == 0)
		status = "final";
	else
		sb_err_at(hdr, "status", "Status %s is not valid (concept or final).", status);
	if ((el = sb_x_child(hdr, "invoicenumber")) != NULL && *sb_x_text(el) != '\0') {
		if (sb_int_parse(sb_x_text(el), 1, 999999999999LL, &number) == -1)
			sb_err(el, "invoicenumber must be an integer.");
		else if (itype != NULL) {
			snprintf(key, sizeof key, "%s/%lld", typecode, number);
			if ((old = sb_store_get(ctx->store, is.off->code, SB_T_INVOICE, key)) == NULL)
				sb_err(el, "Invoice %lld of type %s does not exist.", number, typecode);
			else if (strcmp(sb_x_ctext(sb_x_child(xmlDocGetRootElement(old->doc), "header"),
			    "status"), "final") == 0)
				sb_err(el, "Invoice %lld of type %s is final and can no longer be changed.",
				    number, typecode);
		}
	}
	s = sb_x_ctext(hdr, "customer");
	if (*s == '\0')
		sb_err_at(hdr, "customer", "Customer must not be empty.");
	else if ((cust = sb_store_live(ctx->store, is.off->code, "DEB", s)) == NULL)
		sb_err_at(hdr, "customer", "The customer dimension %s does not exist.", s);
	s = sb_x_ctext(hdr, "currency");
	if (*s != '\0' && (strlen(s) != 3 || !(s[0] >= 'A' && s[0] <= 'Z')))
		sb_err_at(hdr, "currency", "Currency %s does not exist.", s);

	is.invoicedate = sb_date_today();
	inv_date(hdr, "invoicedate", "invoice date", &is.invoicedate);
	inv_date(hdr, "duedate", "due date", &duedate);
	inv_date(hdr, "performancedate", "performance date", &perfdate);
	if (duedate >= 0 && duedate < is.invoicedate)
		sb_err_at(hdr, "duedate", "The due date is before the invoice date.");
	if ((el = sb_x_child(hdr, "period")) != NULL && *sb_x_text(el) != '\0' &&
	    sb_period_parse(sb_x_text(el), &y, &m) == -1)
		sb_err(el, "Period %s is invalid.", sb_x_text(el));
	s = sb_x_ctext(hdr, "paymentmethod");
	if (*s != '\0' && strcmp(s, "cash") != 0 && strcmp(s, "bank") != 0 && strcmp(s, "cheque") != 0 &&
	    strcmp(s, "cashondelivery") != 0 && strcmp(s, "da") != 0)
		sb_err_at(hdr, "paymentmethod", "Payment method %s is not valid.", s);
	inv_check_address(hdr, "invoiceaddressnumber", cust);
	inv_check_address(hdr, "deliveraddressnumber", cust);

	lines = sb_x_child(echo, "lines");
	for (l = sb_x_first(lines); l != NULL; l = sb_x_next(l)) {
		if (!sb_x_is(l, "line"))
			sb_err(l, "Element <%s> is not allowed in <lines>.", (const char *)l->name);
		else
			inv_line(&is, l, id++);
	}
	if (SB_RULE_FINAL_NEEDS_LINES && id == 1 && strcmp(status, "final") == 0)
		sb_err(lines != NULL ? lines : sb_x_add(echo, "lines", NULL),
		    "A final invoice needs at least one line.");
	if (sb_x_failed(echo))
		return (echo);

	/* Valid: complete the header as Twinfield returns it. */
	if (number == 0) {
		first = SB_RULE_FIRST_INVOICE_NUMBER;
		(void)sb_int_parse(sb_x_ctext(xmlDocGetRootElement(itype->doc), "firstnumber"), 1,
		    999999999999LL, &first);
		snprintf(key, sizeof key, "invoice:%s", typecode);
		number = sb_store_seq_next(ctx->store, is.off->code, key, first);
	}
	el = sb_x_ensure_first(hdr, "office");
	sb_x_set_text(el, is.off->code);
	sb_x_ref(el, is.off->name, is.off->shortname);
	snprintf(buf, sizeof buf, "%lld", number);
	sb_x_set(hdr, "invoicenumber", buf);
	sb_date_fmt(is.invoicedate, buf, sizeof buf);
	sb_x_set(hdr, "invoicedate", buf);
	if (duedate < 0) {
		(void)sb_int_parse(sb_x_ctext(sb_x_child(xmlDocGetRootElement(cust->doc), "financials"),
		    "duedays"), 0, 999, &duedays);
		duedate = is.invoicedate + (long)duedays;
	}
	sb_date_fmt(duedate, buf, sizeof buf);
	sb_x_set(hdr, "duedate", buf);
	if (*sb_x_ctext(hdr, "period") == '\0') {
		sb_date_fmt(is.invoicedate, buf, sizeof buf);
		snprintf(key, sizeof key, "%.4s/%.2s", buf, buf + 4);
		sb_x_set(hdr, "period", key);
	}
	if (*sb_x_ctext(hdr, "currency") == '\0')
		sb_x_set(hdr, "currency", is.off->currency);
	sb_x_set(hdr, "status", status);
	el = sb_x_child(hdr, "customer");
	sb_obj_names(cust, &name, &shortname);
	sb_x_ref(el, name, shortname);
	if (sb_x_first(sb_x_child(xmlDocGetRootElement(cust->doc), "addresses")) != NULL) {
		if (*sb_x_ctext(hdr, "invoiceaddressnumber") == '\0')
			sb_x_set(hdr, "invoiceaddressnumber", "1");
		if (*sb_x_ctext(hdr, "deliveraddressnumber") == '\0')
			sb_x_set(hdr, "deliveraddressnumber", "1");
	}
	sb_x_ensure(hdr, "headertext");
	sb_x_ensure(hdr, "footertext");

	sb_x_remove(echo, "vatlines");
	sb_x_remove(echo, "totals");
	sb_x_remove(echo, "financials");
	vl = sb_x_add(echo, "vatlines", NULL);
	for (size_t i = 0; i < is.nvat; i++) {
		v = sb_x_add(vl, "vatline", NULL);
		el = sb_x_add(v, "vatcode", is.vats[i].code);
		sb_obj_names(is.vats[i].obj, &name, &shortname);
		sb_x_set_prop(el, "name", name);
		snprintf(buf, sizeof buf, "%.9f", is.vats[i].rate);
		sb_x_set_prop(el, "percentage", buf);
		inv_set_money(v, "vatvalue", is.vats[i].vat);
		sb_x_add(v, "performancetype", NULL);
		sb_x_add(v, "performancedate", NULL);
	}
	tot = sb_x_add(echo, "totals", NULL);
	inv_set_money(tot, "valueexcl", is.excl);
	inv_set_money(tot, "valueinc", is.excl + is.vat);
	if (strcmp(status, "final") == 0) {
		daybook = sb_x_ctext(xmlDocGetRootElement(itype->doc), "daybook");
		if (*daybook == '\0')
			daybook = "VRK";
		fin = sb_x_add(echo, "financials", NULL);
		sb_x_add(fin, "code", daybook);
		snprintf(buf, sizeof buf, "%lld",
		    sb_transaction_from_invoice(ctx, is.off->code, echo, daybook));
		sb_x_add(fin, "number", buf);
	}
	xmlUnsetProp(echo, (const xmlChar *)"result");
	snprintf(key, sizeof key, "%s/%lld", typecode, number);
	old = sb_store_put(ctx->store, is.off->code, SB_T_INVOICE, key, sb_x_doc_of(echo),
	    SB_ACTIVE, ctx->now);
	xmlFreeNode(echo);
	return (sb_result_copy(ctx, old));
}
