/*
 * Dimension documents: DEB customers (addresses with a contact person,
 * financials, credit management, banks), KPL cost centres and PRJ projects
 * (reference §5.2-5.5). Element order follows the reference examples.
 */
#include "config.h"

#include <stdio.h>

#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf-doc.h"
#include "tf-build-internal.h"

static int
dim_has_financials(const struct tf_financials *f)
{
	return (f->has_duedays || f->payavailable != TF_UNSET || f->meansofpayment != NULL ||
	    f->paycode != NULL || f->vatcode != NULL || f->ebilling != TF_UNSET ||
	    f->ebillmail != NULL || f->substitutewith != NULL);
}

static void
dim_financials(xmlNode *dim, const struct tf_financials *f)
{
	xmlNode	*fin;
	char	 buf[32];

	if (!dim_has_financials(f))
		return;
	fin = tf_build_elem(dim, "financials", NULL);
	if (f->has_duedays) {
		snprintf(buf, sizeof buf, "%d", f->duedays);
		tf_build_elem(fin, "duedays", buf);
	}
	tf_build_bool(fin, "payavailable", f->payavailable);
	tf_build_text(fin, "meansofpayment", f->meansofpayment);
	tf_build_text(fin, "paycode", f->paycode);
	tf_build_text(fin, "vatcode", f->vatcode);
	tf_build_bool(fin, "ebilling", f->ebilling);
	tf_build_text(fin, "ebillmail", f->ebillmail);
	if (f->substitutewith != NULL) {
		tf_build_elem(fin, "substitutionlevel", "1");
		tf_build_elem(fin, "substitutewith", f->substitutewith);
	}
}

static void
dim_addresses(xmlNode *dim, const struct tf_address *a, size_t n)
{
	xmlNode	*list, *addr;
	size_t	 i, j;
	char	 name[16];

	if (n == 0)
		return;
	list = tf_build_elem(dim, "addresses", NULL);
	for (i = 0; i < n; i++, a++) {
		addr = tf_build_elem(list, "address", NULL);
		tf_build_attr(addr, "type", a->type != NULL ? a->type : "invoice");
		tf_build_attr(addr, "default", a->is_default ? "true" : "false");
		tf_build_text(addr, "name", a->name);
		tf_build_text(addr, "contact", a->contact);
		tf_build_text(addr, "country", a->country);
		tf_build_text(addr, "city", a->city);
		tf_build_text(addr, "postcode", a->postcode);
		tf_build_text(addr, "telephone", a->telephone);
		tf_build_text(addr, "telefax", a->telefax);
		tf_build_text(addr, "email", a->email);
		for (j = 0; j < 6; j++) {
			snprintf(name, sizeof name, "field%zu", j + 1);
			tf_build_text(addr, name, a->field[j]);
		}
	}
}

static void
dim_banks(xmlNode *dim, const struct tf_bank *b, size_t n)
{
	xmlNode	*list, *bank;
	size_t	 i;

	if (n == 0)
		return;
	list = tf_build_elem(dim, "banks", NULL);
	for (i = 0; i < n; i++, b++) {
		bank = tf_build_elem(list, "bank", NULL);
		tf_build_attr(bank, "default", b->is_default ? "true" : "false");
		tf_build_text(bank, "ascription", b->ascription);
		tf_build_text(bank, "accountnumber", b->accountnumber);
		tf_build_text(bank, "iban", b->iban);
		tf_build_text(bank, "biccode", b->biccode);
		tf_build_text(bank, "bankname", b->bankname);
		tf_build_text(bank, "country", b->country);
		tf_build_text(bank, "city", b->city);
	}
}

static void
dim_project(xmlNode *dim, const struct tf_project *p)
{
	xmlNode	*prj, *n;

	prj = tf_build_elem(dim, "projects", NULL);
	tf_build_text(prj, "invoicedescription", p->invoicedescription);
	tf_build_text(prj, "validfrom", p->validfrom);
	tf_build_text(prj, "validtill", p->validtill);
	/* locked/inherit="false": use this project's own value (reference §5.5). */
	if ((n = tf_build_text(prj, "authoriser", p->authoriser)) != NULL) {
		tf_build_attr(n, "locked", "false");
		tf_build_attr(n, "inherit", "false");
	}
	if ((n = tf_build_text(prj, "customer", p->customer)) != NULL) {
		tf_build_attr(n, "locked", "false");
		tf_build_attr(n, "inherit", "false");
	}
	if (p->billable != TF_UNSET) {
		n = tf_build_elem(prj, "billable", p->billable == TF_TRUE ? "true" : "false");
		tf_build_attr(n, "locked", "false");
		tf_build_attr(n, "inherit", "false");
	}
	if ((n = tf_build_text(prj, "rate", p->rate)) != NULL) {
		tf_build_attr(n, "locked", "false");
		tf_build_attr(n, "inherit", "false");
	}
}

xmlNode *
tf_build_dimension(xmlDoc *doc, xmlNode *batch, const struct tf_dimension *d, struct kb_err *err)
{
	xmlNode	*dim, *cm;

	if (tf_build_empty(d->office) || tf_build_empty(d->type) || tf_build_empty(d->name)) {
		kb_err_set(err, "dimension %s: office, type and name are required",
		    d->code != NULL ? d->code : "(new)");
		return (NULL);
	}
	if (d->project != NULL && d->type[0] != 'P') {
		kb_err_set(err, "dimension %s: project data on a %s dimension",
		    d->code != NULL ? d->code : "(new)", d->type);
		return (NULL);
	}
	dim = tf_build_node(doc, "dimension");
	tf_build_attr(dim, "status", d->status);
	tf_build_elem(dim, "office", d->office);
	tf_build_elem(dim, "type", d->type);
	tf_build_text(dim, "code", d->code);
	tf_build_elem(dim, "name", d->name);
	tf_build_text(dim, "shortname", d->shortname);
	tf_build_text(dim, "website", d->website);
	dim_financials(dim, &d->financials);
	if (d->sendreminder != NULL || d->reminderemail != NULL) {
		cm = tf_build_elem(dim, "creditmanagement", NULL);
		tf_build_text(cm, "sendreminder", d->sendreminder);
		tf_build_text(cm, "reminderemail", d->reminderemail);
	}
	dim_addresses(dim, d->addresses, d->naddresses);
	dim_banks(dim, d->banks, d->nbanks);
	if (d->project != NULL)
		dim_project(dim, d->project);
	tf_build_attach(doc, batch, dim);
	return (dim);
}
