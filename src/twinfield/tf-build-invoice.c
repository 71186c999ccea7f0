/*
 * Sales invoice documents (reference §5.7): header (type, customer, dates,
 * payment, address numbers, header/footer texts) and lines (article and
 * sub-article, price, VAT code, GL/cost centre/project dimensions, free
 * text fields). Line ids are the 1-based position, as Twinfield echoes them.
 */
#include "config.h"

#include <stdio.h>

#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf-doc.h"
#include "tf-build-internal.h"

xmlNode *
tf_build_invoice(xmlDoc *doc, xmlNode *batch, const struct tf_invoice *inv, struct kb_err *err)
{
	const struct tf_invoice_line	*l;
	xmlNode				*si, *hdr, *lines, *line;
	size_t				 i;
	char				 id[32];

	if (tf_build_empty(inv->invoicetype) || tf_build_empty(inv->customer)) {
		kb_err_set(err, "sales invoice: invoicetype and customer are required");
		return (NULL);
	}
	if (inv->nlines == 0) {
		kb_err_set(err, "sales invoice for customer %s has no lines", inv->customer);
		return (NULL);
	}
	for (i = 0; i < inv->nlines; i++) {
		if (tf_build_empty(inv->lines[i].article)) {
			kb_err_set(err, "sales invoice for customer %s: line %zu has no article",
			    inv->customer, i + 1);
			return (NULL);
		}
	}
	si = tf_build_node(doc, "salesinvoice");
	tf_build_bool_attr(si, "raisewarning", inv->raisewarning);
	hdr = tf_build_elem(si, "header", NULL);
	tf_build_text(hdr, "office", inv->office);
	tf_build_elem(hdr, "invoicetype", inv->invoicetype);
	tf_build_text(hdr, "invoicenumber", inv->invoicenumber);
	tf_build_elem(hdr, "customer", inv->customer);
	tf_build_text(hdr, "status", inv->status);
	tf_build_text(hdr, "currency", inv->currency);
	tf_build_text(hdr, "period", inv->period);
	tf_build_text(hdr, "invoicedate", inv->invoicedate);
	tf_build_text(hdr, "duedate", inv->duedate);
	tf_build_text(hdr, "performancedate", inv->performancedate);
	tf_build_text(hdr, "paymentmethod", inv->paymentmethod);
	tf_build_text(hdr, "bank", inv->bank);
	tf_build_text(hdr, "invoiceaddressnumber", inv->invoiceaddressnumber);
	tf_build_text(hdr, "deliveraddressnumber", inv->deliveraddressnumber);
	tf_build_text(hdr, "headertext", inv->headertext);
	tf_build_text(hdr, "footertext", inv->footertext);
	lines = tf_build_elem(si, "lines", NULL);
	for (i = 0, l = inv->lines; i < inv->nlines; i++, l++) {
		line = tf_build_elem(lines, "line", NULL);
		snprintf(id, sizeof id, "%zu", i + 1);
		tf_build_attr(line, "id", id);
		tf_build_text(line, "quantity", l->quantity);
		tf_build_elem(line, "article", l->article);
		tf_build_text(line, "subarticle", l->subarticle);
		tf_build_text(line, "description", l->description);
		tf_build_amount(line, "unitspriceexcl", l->unitspriceexcl);
		tf_build_amount(line, "unitspriceinc", l->unitspriceinc);
		tf_build_text(line, "units", l->units);
		tf_build_text(line, "vatcode", l->vatcode);
		tf_build_text(line, "performancetype", l->performancetype);
		tf_build_text(line, "performancedate", l->performancedate);
		tf_build_text(line, "freetext1", l->freetext1);
		tf_build_text(line, "freetext2", l->freetext2);
		tf_build_text(line, "freetext3", l->freetext3);
		tf_build_text(line, "dim1", l->dim1);
		tf_build_text(line, "dim2", l->dim2);
		tf_build_text(line, "dim3", l->dim3);
	}
	tf_build_attach(doc, batch, si);
	return (si);
}
