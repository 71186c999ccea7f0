/*
 * Step "book": the mapped invoice (or transaction) with the debtor and the
 * resolved articles, handed to the batcher; its own result records the
 * booking. Credits (order.cancelled / order.credited of a booked order)
 * are the same document with every quantity (or debit/credit) reversed, as
 * a credit invoice type (orders.credit_invoice_type) or a reversed sales
 * transaction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "kassaboek/config.h"
#include "kassaboek/job.h"
#include "kassaboek/tf-doc.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

#include "orders-internal.h"

#define BOOK_MAX_VAT	32

static const char *
book_invoicetype(struct orders_job *oj)
{
	const char	*t;

	if (oj->credit)
		return (oj->ctx->credit_type);
	t = oj_str(oj, oj->invoice, "invoicetype");
	return (t != NULL ? t : oj->ctx->cfg->orders.invoice_type);
}

static const char *
book_office(struct orders_job *oj)
{
	const char	*o;

	o = oj_str(oj, oj->ctx->book_as == ORDERS_TRANSACTION ? oj->txn : oj->invoice, "office");
	return (o != NULL ? o : oj->ctx->office);
}

void
orders_book_prepare(struct orders_job *oj)
{
	const char	*head, *num, *code;

	num = oj_str(oj, oj->ref, "order_number");
	if (num == NULL)
		num = oj->okey;
	if (oj->ctx->book_as == ORDERS_TRANSACTION) {
		code = oj_str(oj, oj->txn, "code");
		oj->series = xasprintf("%s/%s", book_office(oj), code != NULL ? code :
		    oj->ctx->cfg->orders.sales_daybook);
		head = oj_str(oj, oj->txn, "invoicenumber");
		if (head == NULL)
			head = num;
		oj->trace = oj->credit ? xasprintf("CR-%s", head) : xstrdup(head);
		return;
	}
	oj->series = xasprintf("%s/%s", book_office(oj), book_invoicetype(oj));
	/* The header text carries the AsPos order number: the trace of the invoice. */
	head = oj_str(oj, oj->invoice, "headertext");
	if (head == NULL)
		head = oj_keep(oj, xasprintf("AsPos order %s", num));
	oj->trace = oj->credit ? xasprintf("Credit %s: %s", kb_job_id(oj->job), head) :
	    xstrdup(head);
}

/* "2" -> "-2", "-2" -> "2" */
static const char *
book_negate(struct orders_job *oj, const char *q)
{
	if (q == NULL)
		return ("-1");
	if (*q == '-')
		return (q + 1);
	return (oj_keep(oj, xasprintf("-%s", q)));
}

/* ---- invoices */

static int
book_invoice_build(xmlDoc *doc, xmlNode *root, void *arg, struct kb_err *err)
{
	struct orders_job	*oj = arg;
	struct json_object	*inv = oj->invoice, *lines, *line;
	struct tf_invoice	 t;
	struct tf_invoice_line	*tl;
	size_t			 i, n;
	int			 rc;

	memset(&t, 0, sizeof t);
	t.office = book_office(oj);
	t.invoicetype = book_invoicetype(oj);
	t.customer = oj->debtor_code;
	if (oj->action == ORDERS_UPDATE)
		t.invoicenumber = oj->booked_number;
	t.status = oj_str(oj, inv, "status");
	if (t.status == NULL)
		t.status = oj->ctx->book_as == ORDERS_CONCEPT ? "concept" : "final";
	t.currency = oj_str(oj, inv, "currency");
	t.period = oj_str(oj, inv, "period");
	t.invoicedate = oj_str(oj, inv, "invoicedate");
	t.duedate = oj_str(oj, inv, "duedate");
	t.performancedate = oj_str(oj, inv, "performancedate");
	t.paymentmethod = oj_str(oj, inv, "paymentmethod");
	t.bank = oj_str(oj, inv, "bank");
	t.headertext = oj->trace;
	t.footertext = oj_str(oj, inv, "footertext");
	t.raisewarning = TF_FALSE;
	lines = oj_obj(inv, "lines");
	n = lines != NULL && json_object_is_type(lines, json_type_array) ?
	    json_object_array_length(lines) : 0;
	tl = xcalloc(n > 0 ? n : 1, sizeof *tl);
	for (i = 0; i < n; i++) {
		line = json_object_array_get_idx(lines, i);
		tl[i].quantity = oj_str(oj, line, "quantity");
		if (oj->credit)
			tl[i].quantity = book_negate(oj, tl[i].quantity);
		tl[i].units = oj_str(oj, line, "units");
		tl[i].article = i < oj->nlines ? oj->lines[i].r_article : oj_str(oj, line, "article");
		tl[i].subarticle = i < oj->nlines ? oj->lines[i].r_sub : NULL;
		tl[i].description = oj_str(oj, line, "description");
		tl[i].unitspriceexcl.set = oj_amount(line, "unitspriceexcl",
		    &tl[i].unitspriceexcl.cents);
		tl[i].unitspriceinc.set = oj_amount(line, "unitspriceinc", &tl[i].unitspriceinc.cents);
		tl[i].vatcode = oj_str(oj, line, "vatcode");
		tl[i].dim1 = oj_str(oj, line, "dim1");
		tl[i].dim2 = oj_str(oj, line, "dim2");
		tl[i].dim3 = oj_str(oj, line, "dim3");
		tl[i].freetext1 = oj_str(oj, line, "freetext1");
		tl[i].freetext2 = oj_str(oj, line, "freetext2");
		tl[i].freetext3 = oj_str(oj, line, "freetext3");
		tl[i].performancetype = oj_str(oj, line, "performancetype");
		tl[i].performancedate = oj_str(oj, line, "performancedate");
	}
	t.lines = tl;
	t.nlines = n;
	rc = tf_build_invoice(doc, root, &t, err) == NULL ? -1 : 0;
	free(tl);
	return (rc);
}

struct book_call {
	struct orders_job	*oj;
	struct kb_job		*job;
};

/* The field of the first message Twinfield attached, for the dead letter. */
static const char *
book_field(const struct tf_doc_result *res)
{
	if (res == NULL || res->nmsgs == 0 || res->msgs[0].path == NULL)
		return (NULL);
	return (res->msgs[0].path);
}

static void
book_done(enum tf_err_kind kind, const char *msg, const struct tf_response *resp,
    const struct tf_doc_result *res, void *arg)
{
	struct book_call	*call = arg;
	struct orders_job	*oj = call->oj;
	xmlNode			*hdr;
	char			*number = NULL, *status = NULL;

	if (!kb_job_release(call->job)) {
		free(call);
		return;
	}
	free(call);
	if (kind == TF_ERR_BUSINESS || kind == TF_ERR_BAD_REQUEST) {
		/* Refused: nothing was booked. */
		if (oj->action != ORDERS_UPDATE)
			orders_idem_disarm(oj);
		kb_job_fail(oj->job, KB_FAIL_PERMANENT, NULL, book_field(res), 0,
		    "Twinfield refused the %s: %s", oj->ctx->book_as == ORDERS_TRANSACTION ?
		    "transaction" : "invoice", msg);
		return;
	}
	if (kind != TF_OK) {
		/* 429 and token failures never reached Twinfield's books. */
		if (kind == TF_ERR_RATE_LIMIT || kind == TF_ERR_TOKEN || kind == TF_ERR_AUTH)
			orders_idem_disarm(oj);
		orders_fail_tf(oj, kind, NULL, "booking: %s", msg);
		return;
	}
	if (res != NULL && (hdr = tf_xml_child(res->node, "header")) != NULL) {
		number = tf_xml_child_text(hdr, oj->ctx->book_as == ORDERS_TRANSACTION ? "number" :
		    "invoicenumber");
		status = tf_xml_child_text(hdr, "status");
	}
	if (number == NULL || *number == '\0') {
		free(number);
		free(status);
		orders_fail_tf(oj, TF_ERR_PROTOCOL, NULL, "Twinfield booked the document but "
		    "returned no number");
		return;
	}
	orders_idem_record(oj, number, status != NULL && *status != '\0' ? status :
	    oj->ctx->book_as == ORDERS_CONCEPT ? "concept" : "final");
	free(number);
	free(status);
}

static void
book_submit(struct orders_job *oj, const char *single, batch_build_fn *build)
{
	struct book_call	*call;
	struct kb_err		 err;

	call = xcalloc(1, sizeof *call);
	call->oj = oj;
	call->job = kb_job_hold(oj->job);
	if (batcher_add(oj->ctx->batch, single, book_office(oj), build, oj, book_done, call,
	    &err) == -1) {
		(void)kb_job_release(call->job);
		free(call);
		orders_idem_disarm(oj);
		kb_job_fail(oj->job, KB_FAIL_PERMANENT, NULL, single, 0, "%s", err.msg);
	}
}

/* ---- transactions: total (debtor) + detail lines from the mapping + VAT lines */

struct book_vat {
	const char	*code;
	int64_t		 base;
	int64_t		 vat;
};

/* Rate in hundredths of a percent of a cached "yyyymmdd:pct;..." list, valid on date. */
static int
book_rate(const char *list, const char *date, long *rate)
{
	const char	*p = list;
	char		 d[16];
	double		 pct;
	int		 found = 0;

	while (p != NULL && *p != '\0') {
		if (sscanf(p, "%15[^:]:%lf", d, &pct) == 2 && (date == NULL || strcmp(d, date) <= 0)) {
			*rate = (long)(pct * 100.0 + 0.5);
			found = 1;
		}
		if ((p = strchr(p, ';')) != NULL)
			p++;
	}
	return (found);
}

static int
book_txn_build(xmlDoc *doc, xmlNode *root, void *arg, struct kb_err *err)
{
	struct orders_job	*oj = arg;
	struct json_object	*x = oj->txn, *lines, *line;
	struct tf_transaction	 t;
	struct tf_txn_line	*tl;
	struct book_vat		 vats[BOOK_MAX_VAT];
	size_t			 i, n, nv = 0, k, nl = 0;
	int64_t			 base, vat, total = 0;
	long			 rate;
	const char		*dc, *list;
	int			 rc, credit;

	lines = oj_obj(x, "lines");
	n = lines != NULL && json_object_is_type(lines, json_type_array) ?
	    json_object_array_length(lines) : 0;
	tl = xcalloc(2 * n + 2, sizeof *tl);
	memset(&t, 0, sizeof t);
	t.office = book_office(oj);
	t.code = strchr(oj->series, '/') + 1;
	t.destiny = "final";
	t.raisewarning = TF_FALSE;
	t.currency = oj_str(oj, x, "currency");
	t.date = oj_str(oj, x, "date");
	t.period = oj_str(oj, x, "period");
	t.duedate = oj_str(oj, x, "duedate");
	t.invoicenumber = oj->trace;
	t.freetext[0] = oj_str(oj, x, "freetext1");
	t.freetext[1] = oj_str(oj, x, "freetext2");
	t.freetext[2] = oj_str(oj, x, "freetext3");
	nl = 1;		/* tl[0] is the total line */
	for (i = 0; i < n; i++) {
		line = json_object_array_get_idx(lines, i);
		tl[nl].type = TF_LINE_DETAIL;
		tl[nl].dim1 = oj_str(oj, line, "dim1");
		tl[nl].dim2 = oj_str(oj, line, "dim2");
		tl[nl].dim3 = oj_str(oj, line, "dim3");
		tl[nl].description = oj_str(oj, line, "description");
		tl[nl].vatcode = oj_str(oj, line, "vatcode");
		(void)oj_amount(line, "value", &base);
		if (base < 0)
			base = -base;
		dc = oj_str(oj, line, "debitcredit");
		credit = dc == NULL || strcmp(dc, "debit") != 0;
		if (oj->credit)
			credit = !credit;
		tl[nl].credit = credit;
		tl[nl].value = base;
		vat = 0;
		if (tl[nl].vatcode != NULL) {
			list = oj_str(oj, oj_obj(oj->mapped, "_vat"), tl[nl].vatcode);
			if (list == NULL || !book_rate(list, t.date, &rate)) {
				kb_err_set(err, "no rate known for VAT code %s", tl[nl].vatcode);
				free(tl);
				return (-1);
			}
			vat = (base * rate + (base >= 0 ? 5000 : -5000)) / 10000;
			for (k = 0; k < nv; k++)
				if (strcmp(vats[k].code, tl[nl].vatcode) == 0)
					break;
			if (k == nv) {
				if (nv == BOOK_MAX_VAT) {
					free(tl);
					return (kb_err_set(err, "more than %d VAT codes", BOOK_MAX_VAT));
				}
				vats[nv].code = tl[nl].vatcode;
				vats[nv].base = vats[nv].vat = 0;
				nv++;
			}
			vats[k].base += credit ? base : -base;
			vats[k].vat += credit ? vat : -vat;
		}
		total += credit ? base + vat : -(base + vat);
		nl++;
	}
	for (k = 0; k < nv; k++) {
		tl[nl].type = TF_LINE_VAT;
		tl[nl].vatcode = vats[k].code;
		tl[nl].credit = vats[k].vat >= 0;
		tl[nl].value = vats[k].vat >= 0 ? vats[k].vat : -vats[k].vat;
		tl[nl].vatturnover = TF_AMOUNT(vats[k].base >= 0 ? vats[k].base : -vats[k].base);
		tl[nl].vatbaseturnover = tl[nl].vatturnover;
		nl++;
	}
	tl[0].type = TF_LINE_TOTAL;
	tl[0].dim1 = oj->ctx->cfg->orders.debtors_account;
	tl[0].dim2 = oj->debtor_code;
	tl[0].credit = total < 0;
	tl[0].value = total >= 0 ? total : -total;
	t.lines = tl;
	t.nlines = nl;
	rc = tf_build_transaction(doc, root, &t, err) == NULL ? -1 : 0;
	free(tl);
	return (rc);
}

/* ---- VAT rates for transactions: {p}:cache:vat code -> "yyyymmdd:pct;..." */

static void	book_vat_next(struct orders_job *oj);

/* KEYS vat; ARGV codes. */
static const char book_vat_get_script[] =
    "local out = {}\n"
    "for i, c in ipairs(ARGV) do out[i] = redis.call('HGET', KEYS[1], c) or '' end\n"
    "return out\n";

static struct json_object *
book_vat_obj(struct orders_job *oj)
{
	struct json_object	*v;

	if ((v = oj_obj(oj->mapped, "_vat")) == NULL) {
		v = json_object_new_object();
		json_object_object_add(oj->mapped, "_vat", v);
	}
	return (v);
}

static void
book_vat_set_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	book_vat_next(kb_job_data(job));
}

static void
book_vat_read_cb(struct orders_job *oj, const struct tf_response *resp)
{
	xmlNode		*ps, *p;
	char		*d, *pct, *list = NULL, *tmp;
	const char	*argv[4];

	if (resp->kind != TF_OK || resp->ndocs != 1 || !resp->docs[0].ok) {
		orders_fail_tf(oj, resp->kind == TF_OK ? TF_ERR_BUSINESS : resp->kind, "vatcode",
		    "reading VAT code %s: %s", oj->cand[oj->cand_next - 1],
		    resp->ndocs == 1 && resp->docs[0].summary != NULL ? resp->docs[0].summary :
		    resp->message);
		return;
	}
	ps = tf_xml_child(resp->docs[0].node, "percentages");
	for (p = ps != NULL ? ps->children : NULL; p != NULL; p = p->next) {
		if (p->type != XML_ELEMENT_NODE)
			continue;
		d = tf_xml_child_text(p, "date");
		pct = tf_xml_child_text(p, "percentage");
		if (pct != NULL) {
			tmp = xasprintf("%s%s%s:%s", list != NULL ? list : "", list != NULL ? ";" : "",
			    d != NULL && *d != '\0' ? d : "00000000", pct);
			free(list);
			list = tmp;
		}
		free(d);
		free(pct);
	}
	if (list == NULL)
		list = xstrdup("00000000:0");
	json_object_object_add(book_vat_obj(oj), oj->cand[oj->cand_next - 1],
	    json_object_new_string(list));
	argv[0] = "HSET";
	argv[1] = oj->ctx->k_vat;
	argv[2] = oj->cand[oj->cand_next - 1];
	argv[3] = list;
	kb_job_redis(oj->job, book_vat_set_cb, NULL, 4, argv, NULL);
	free(list);
}

static void	book_submit_txn(struct orders_job *oj);

static void
book_vat_next(struct orders_job *oj)
{
	xmlDoc	*doc;

	while (oj->cand_next < oj->ncand &&
	    oj_obj(oj_obj(oj->mapped, "_vat"), oj->cand[oj->cand_next]) != NULL)
		oj->cand_next++;
	if (oj->cand_next >= oj->ncand) {
		book_submit_txn(oj);
		return;
	}
	doc = tf_build_read_vat(book_office(oj), oj->cand[oj->cand_next++]);
	orders_tf_process(oj, doc, book_vat_read_cb);
	xmlFreeDoc(doc);
}

static void
book_vat_get_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);
	size_t			 i;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != oj->ncand) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	for (i = 0; i < oj->ncand; i++)
		if (reply->element[i]->type == REDIS_REPLY_STRING && *reply->element[i]->str != '\0')
			json_object_object_add(book_vat_obj(oj), oj->cand[i],
			    json_object_new_string(reply->element[i]->str));
	oj->cand_next = 0;
	book_vat_next(oj);
}

static void
book_txn(struct orders_job *oj)
{
	struct json_object	*lines, *line;
	const char		**args, *code;
	size_t			 i, j, n;

	/* The distinct VAT codes of the lines (reuses the candidate array). */
	for (i = 0; i < oj->ncand; i++)
		free(oj->cand[i]);
	free(oj->cand);
	oj->cand = NULL;
	oj->ncand = oj->cand_next = 0;
	lines = oj_obj(oj->txn, "lines");
	n = lines != NULL && json_object_is_type(lines, json_type_array) ?
	    json_object_array_length(lines) : 0;
	for (i = 0; i < n; i++) {
		line = json_object_array_get_idx(lines, i);
		if ((code = oj_str(oj, line, "vatcode")) == NULL)
			continue;
		for (j = 0; j < oj->ncand; j++)
			if (strcmp(oj->cand[j], code) == 0)
				break;
		if (j < oj->ncand || oj->ncand >= BOOK_MAX_VAT)
			continue;
		oj->cand = xreallocarray(oj->cand, oj->ncand + 1, sizeof *oj->cand);
		oj->cand[oj->ncand++] = xstrdup(code);
	}
	if (oj->ncand == 0) {
		book_submit_txn(oj);
		return;
	}
	args = xcalloc(oj->ncand + 1, sizeof *args);
	args[0] = oj->ctx->k_vat;
	for (i = 0; i < oj->ncand; i++)
		args[i + 1] = oj->cand[i];
	orders_eval(oj, book_vat_get_script, book_vat_get_cb, NULL, 1, (int)oj->ncand + 1, args);
	free(args);
}

static void
book_submit_txn(struct orders_job *oj)
{
	book_submit(oj, "transaction", book_txn_build);
}

void
orders_book(struct orders_job *oj)
{
	kb_job_step(oj->job, "book");
	if (oj->ctx->book_as == ORDERS_TRANSACTION)
		book_txn(oj);
	else
		book_submit(oj, "salesinvoice", book_invoice_build);
}
