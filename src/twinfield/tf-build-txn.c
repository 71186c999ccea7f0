/*
 * Transaction documents (reference §5.8), e.g. a sales daybook entry: one
 * total line (receivable, debit), detail lines (revenue, credit) and VAT
 * lines. The builder refuses what Twinfield would reject for certain: no
 * lines, negative values, more than 1000 lines (HTTP 400), or debit != credit.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>

#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf-doc.h"
#include "tf-build-internal.h"

#define TXN_MAX_LINES	1000

static const char *const txn_line_types[] = { "total", "detail", "vat" };

/* Checks debit == credit unless Twinfield will add the VAT lines itself. */
static int
txn_check(const struct tf_transaction *t, struct kb_err *err)
{
	const struct tf_txn_line	*l;
	int64_t				 debit = 0, credit = 0;
	int				 vatcodes = 0, vatlines = 0;
	size_t				 i;
	char				 a[32], b[32];

	if (t->nlines == 0)
		return (kb_err_set(err, "transaction %s: no lines", t->code));
	if (t->nlines > TXN_MAX_LINES)
		return (kb_err_set(err, "transaction %s: %zu lines, Twinfield accepts at most %d",
		    t->code, t->nlines, TXN_MAX_LINES));
	for (i = 0, l = t->lines; i < t->nlines; i++, l++) {
		if (l->value < 0 || l->value > INT64_MAX / 4)
			return (kb_err_set(err, "transaction %s: line %zu: value out of range",
			    t->code, i + 1));
		if ((unsigned)l->type > TF_LINE_VAT)
			return (kb_err_set(err, "transaction %s: line %zu: bad line type",
			    t->code, i + 1));
		if (l->credit)
			credit += l->value;
		else
			debit += l->value;
		if (l->type == TF_LINE_VAT)
			vatlines++;
		if (l->type == TF_LINE_DETAIL && l->vatcode != NULL)
			vatcodes++;
	}
	if (debit != credit && !(vatcodes > 0 && vatlines == 0)) {
		tf_amount_format(debit, a, sizeof a);
		tf_amount_format(credit, b, sizeof b);
		return (kb_err_set(err, "transaction %s: not balanced: debit %s, credit %s",
		    t->code, a, b));
	}
	return (0);
}

xmlNode *
tf_build_transaction(xmlDoc *doc, xmlNode *batch, const struct tf_transaction *t,
    struct kb_err *err)
{
	const struct tf_txn_line	*l;
	xmlNode				*tx, *hdr, *lines, *line;
	size_t				 i;
	char				 buf[32];

	if (tf_build_empty(t->office) || tf_build_empty(t->code)) {
		kb_err_set(err, "transaction: office and code (daybook) are required");
		return (NULL);
	}
	if (txn_check(t, err) == -1)
		return (NULL);
	tx = tf_build_node(doc, "transaction");
	tf_build_attr(tx, "destiny", t->destiny);
	tf_build_bool_attr(tx, "raisewarning", t->raisewarning);
	tf_build_bool_attr(tx, "autobalancevat", t->autobalancevat);
	hdr = tf_build_elem(tx, "header", NULL);
	tf_build_elem(hdr, "office", t->office);
	tf_build_elem(hdr, "code", t->code);
	tf_build_text(hdr, "number", t->number);
	tf_build_text(hdr, "currency", t->currency);
	tf_build_text(hdr, "date", t->date);
	tf_build_text(hdr, "period", t->period);
	tf_build_text(hdr, "invoicenumber", t->invoicenumber);
	tf_build_text(hdr, "paymentreference", t->paymentreference);
	tf_build_text(hdr, "duedate", t->duedate);
	tf_build_text(hdr, "freetext1", t->freetext[0]);
	tf_build_text(hdr, "freetext2", t->freetext[1]);
	tf_build_text(hdr, "freetext3", t->freetext[2]);
	lines = tf_build_elem(tx, "lines", NULL);
	for (i = 0, l = t->lines; i < t->nlines; i++, l++) {
		line = tf_build_elem(lines, "line", NULL);
		tf_build_attr(line, "type", txn_line_types[l->type]);
		snprintf(buf, sizeof buf, "%zu", i + 1);
		tf_build_attr(line, "id", buf);
		tf_build_text(line, "dim1", l->dim1);
		tf_build_text(line, "dim2", l->dim2);
		tf_build_text(line, "dim3", l->dim3);
		tf_build_elem(line, "debitcredit", l->credit ? "credit" : "debit");
		tf_amount_format(l->value, buf, sizeof buf);
		tf_build_elem(line, "value", buf);
		tf_build_text(line, "description", l->description);
		tf_build_text(line, "invoicenumber", l->invoicenumber);
		/* VAT code and value are not allowed on total lines (reference §5.8). */
		if (l->type != TF_LINE_TOTAL) {
			tf_build_text(line, "vatcode", l->vatcode);
			tf_build_amount(line, "vatvalue", l->vatvalue);
		} else {
			tf_build_amount(line, "vattotal", l->vattotal);
			tf_build_amount(line, "vatbasetotal", l->vatbasetotal);
		}
		if (l->type == TF_LINE_VAT) {
			tf_build_amount(line, "vatturnover", l->vatturnover);
			tf_build_amount(line, "vatbaseturnover", l->vatbaseturnover);
		}
	}
	tf_build_attach(doc, batch, tx);
	return (tx);
}
