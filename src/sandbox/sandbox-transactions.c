/*
 * Transactions (§5.8): journal, sales, purchase, bank and cash bookings on a
 * daybook. Lines are checked (dimensions, debit/credit, amounts), the
 * booking must balance, and each gets number = yyyy + sequence per office
 * and daybook (202400001). More than SB_RULE_TRANSACTION_MAX_LINES lines is
 * refused before this module is reached (HTTP 400, sandbox-soap.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

static const char *const trs_dim1_types[] = { "BAS", "PNL", NULL };
static const char *const trs_dim2_types[] = { "DEB", "CRD", "KPL", NULL };
static const char *const trs_dim3_types[] = { "PRJ", "AST", NULL };

static long long
trs_number(struct sb_ctx *ctx, const char *office, const char *daybook, long day)
{
	char		 key[64], date[16];
	long long	 year;

	sb_date_fmt(day, date, sizeof date);
	year = (date[0] - '0') * 1000 + (date[1] - '0') * 100 + (date[2] - '0') * 10 + (date[3] - '0');
	snprintf(key, sizeof key, "transaction:%s:%lld", daybook, year);
	return (sb_store_seq_next(ctx->store, office, key, year * SB_RULE_TRANSACTION_SEQ_SCALE + 1));
}

static void
trs_store(struct sb_ctx *ctx, const char *office, const char *daybook, long long number,
    xmlNodePtr el, int final)
{
	char	key[96];

	snprintf(key, sizeof key, "%s/%lld", daybook, number);
	sb_store_put(ctx->store, office, SB_T_TRANSACTION, key, sb_x_doc_of(el),
	    final ? SB_ACTIVE : SB_HIDE, ctx->now);
}

static void
trs_ref(struct sb_ctx *ctx, xmlNodePtr el, const char *office, const char *type, const char *code)
{
	struct sb_obj	*o;
	const char	*name, *shortname;

	o = sb_store_get(ctx->store, office, type, code);
	sb_obj_names(o, &name, &shortname);
	sb_x_ref(el, name, shortname);
}

/* Read-only line fields of a stored transaction (§5.8, journal fixture shape). */
static void
trs_enrich_line(struct sb_ctx *ctx, const char *office, xmlNodePtr line)
{
	xmlNodePtr	 el;
	const char	*v;
	int		 i;
	char		 name[8];

	for (i = 1; i <= 3; i++) {
		snprintf(name, sizeof name, "dim%d", i);
		if ((el = sb_x_child(line, name)) != NULL && *sb_x_text(el) != '\0')
			sb_ref_dim(ctx, el, office, sb_x_text(el));
	}
	v = sb_x_ctext(line, "value");
	sb_x_set(line, "rate", "1");
	sb_x_set(line, "basevalue", v);
	sb_x_set(line, "reprate", "1.000000000");
	sb_x_set(line, "repvalue", v);
	if (sb_x_child(line, "matchstatus") == NULL)
		sb_x_add(line, "matchstatus", strcmp(sb_x_prop(line, "type") != NULL ?
		    sb_x_prop(line, "type") : "", "total") == 0 ? "available" : "notmatchable");
}

static void
trs_enrich_header(struct sb_ctx *ctx, struct sb_office *off, xmlNodePtr hdr, const char *daybook,
    long day, long long number)
{
	xmlNodePtr	el;
	char		buf[32];

	el = sb_x_ensure_first(hdr, "office");
	sb_x_set_text(el, off->code);
	sb_x_ref(el, off->name, off->shortname);
	el = sb_x_set(hdr, "code", daybook);
	trs_ref(ctx, el, off->code, SB_T_DAYBOOK, daybook);
	if (*sb_x_ctext(hdr, "currency") == '\0')
		sb_x_set(hdr, "currency", off->currency);
	sb_date_fmt(day, buf, sizeof buf);
	sb_x_set(hdr, "date", buf);
	if (*sb_x_ctext(hdr, "period") == '\0') {
		char	p[16];

		snprintf(p, sizeof p, "%.4s/%.2s", buf, buf + 4);
		sb_x_set(hdr, "period", p);
	}
	sb_x_set(hdr, "origin", "import");
	el = sb_x_set(hdr, "user", ctx->store->user_code);
	sb_x_ref(el, ctx->store->user_name, ctx->store->user_code);
	snprintf(buf, sizeof buf, "%lld", number);
	sb_x_set(hdr, "number", buf);
}

xmlNodePtr
sb_transaction_write(struct sb_ctx *ctx, xmlNodePtr req)
{
	struct sb_office	*off;
	struct sb_obj		*dbk, *old = NULL;
	xmlNodePtr		 echo, hdr, lines, l, el;
	const char		*officecode, *daybook, *s, *destiny, *action, *type, *found;
	long long		 number = 0;
	long			 day = -1;
	int64_t			 debit = 0, credit = 0, v;
	int			 y, m, nlines = 0, final;
	char			 key[96], a[40], daybook_buf[64];

	echo = xmlDocCopyNode(req, ctx->out, 1);
	hdr = sb_x_child(echo, "header");
	action = sb_x_prop(echo, "action");
	if (hdr == NULL && action != NULL)
		hdr = echo;	/* delete requests carry office/code/number directly */
	if (hdr == NULL) {
		sb_err(echo, "The transaction has no <header>.");
		return (echo);
	}
	officecode = sb_doc_office(ctx, sb_x_child(hdr, "office"));
	if ((off = sb_store_office(ctx->store, officecode)) == NULL) {
		sb_err(echo, "Office %s does not exist.", officecode);
		return (echo);
	}
	/* A copy: the header's <code> is rewritten (with name attributes) below. */
	snprintf(daybook_buf, sizeof daybook_buf, "%s", sb_x_ctext(hdr, "code"));
	daybook = daybook_buf;
	if (*daybook == '\0') {
		sb_err_at(hdr, "code", "Transaction type must not be empty.");
		return (echo);
	}
	if ((dbk = sb_store_live(ctx->store, off->code, SB_T_DAYBOOK, daybook)) == NULL) {
		sb_err_at(hdr, "code", "Transaction type %s does not exist.", daybook);
		return (echo);
	}
	if ((el = sb_x_child(hdr, "number")) != NULL && *sb_x_text(el) != '\0') {
		if (sb_int_parse(sb_x_text(el), 1, 999999999999LL, &number) == -1) {
			sb_err(el, "Number must be an integer.");
			return (echo);
		}
		snprintf(key, sizeof key, "%s/%lld", daybook, number);
		if ((old = sb_store_get(ctx->store, off->code, SB_T_TRANSACTION, key)) == NULL) {
			sb_err(el, "Transaction %s %lld does not exist.", daybook, number);
			return (echo);
		}
		if (old->status != SB_HIDE) {
			sb_err(el, "Transaction %s %lld is final and can no longer be changed.", daybook, number);
			return (echo);
		}
	}
	if (action != NULL) {
		if (strcmp(action, "delete") != 0) {
			sb_err(echo, "Action %s is not valid.", action);
			return (echo);
		}
		if (old == NULL) {
			sb_err_at(hdr, "number", "Number must not be empty.");
			return (echo);
		}
		sb_store_del(ctx->store, off->code, SB_T_TRANSACTION, key);
		sb_x_set_prop(echo, "result", "1");
		return (echo);
	}

	destiny = sb_x_prop(echo, "destiny");
	if (destiny == NULL || *destiny == '\0')
		destiny = "temporary";
	if (strcmp(destiny, "temporary") != 0 && strcmp(destiny, "final") != 0)
		sb_err(echo, "Destiny %s is not valid (temporary or final).", destiny);
	s = sb_x_ctext(hdr, "date");
	if (*s == '\0')
		sb_err_at(hdr, "date", "Date must not be empty.");
	else if (sb_date_parse(s, &day) == -1)
		sb_err_at(hdr, "date", "Date %s is invalid.", s);
	if ((el = sb_x_child(hdr, "period")) != NULL && *sb_x_text(el) != '\0' &&
	    sb_period_parse(sb_x_text(el), &y, &m) == -1)
		sb_err(el, "Period %s is invalid.", sb_x_text(el));
	s = sb_x_ctext(hdr, "currency");
	if (*s != '\0' && strlen(s) != 3)
		sb_err_at(hdr, "currency", "Currency %s does not exist.", s);

	lines = sb_x_child(echo, "lines");
	for (l = sb_x_first(lines); l != NULL; l = sb_x_next(l)) {
		if (!sb_x_is(l, "line")) {
			sb_err(l, "Element <%s> is not allowed in <lines>.", (const char *)l->name);
			continue;
		}
		nlines++;
		if (sb_x_prop(l, "id") == NULL) {
			snprintf(a, sizeof a, "%d", nlines);
			sb_x_set_prop(l, "id", a);
		}
		type = sb_x_prop(l, "type");
		if (type == NULL || *type == '\0')
			sb_x_set_prop(l, "type", type = "detail");
		else if (strcmp(type, "total") != 0 && strcmp(type, "detail") != 0 && strcmp(type, "vat") != 0)
			sb_err(l, "Line type %s is not valid (total, detail or vat).", type);
		s = sb_x_ctext(l, "dim1");
		if (*s == '\0') {
			if (strcmp(type, "vat") != 0)
				sb_err_at(l, "dim1", "General ledger account must not be empty.");
		} else if (sb_find_dim(ctx->store, off->code, s, trs_dim1_types, &found) == NULL)
			sb_err_at(l, "dim1", "Dimension %s does not exist.", s);
		s = sb_x_ctext(l, "dim2");
		if (*s != '\0' && sb_find_dim(ctx->store, off->code, s, trs_dim2_types, &found) == NULL)
			sb_err_at(l, "dim2", "Dimension %s does not exist.", s);
		s = sb_x_ctext(l, "dim3");
		if (*s != '\0' && sb_find_dim(ctx->store, off->code, s, trs_dim3_types, &found) == NULL)
			sb_err_at(l, "dim3", "Dimension %s does not exist.", s);
		s = sb_x_ctext(l, "vatcode");
		if (*s != '\0' && sb_store_live(ctx->store, off->code, SB_T_VAT, s) == NULL)
			sb_err_at(l, "vatcode", "Invalid VAT code %s.", s);
		s = sb_x_ctext(l, "value");
		if (*s == '\0' || sb_money_parse(s, &v) == -1 || v < 0) {
			sb_err_at(l, "value", "Value %s is not a valid amount.", s);
			v = 0;
		}
		s = sb_x_ctext(l, "debitcredit");
		if (strcmp(s, "debit") == 0)
			debit += v;
		else if (strcmp(s, "credit") == 0)
			credit += v;
		else
			sb_err_at(l, "debitcredit", "Value must be debit or credit.");
	}
	if (nlines == 0)
		sb_err(lines != NULL ? lines : sb_x_add(echo, "lines", NULL),
		    "The transaction has no lines.");
	else if (nlines < 2 && strcmp(sb_x_ctext(xmlDocGetRootElement(dbk->doc), "category"),
	    "journal") == 0)
		sb_err(echo, "A journal transaction needs at least two lines.");
	if (!sb_x_failed(echo) && debit != credit) {
		sb_money_fmt(debit > credit ? debit - credit : credit - debit, a, sizeof a);
		sb_err(echo, "The transaction is not balanced. %s %s is missing.", a,
		    debit > credit ? "credit" : "debit");
	}
	if (sb_x_failed(echo))
		return (echo);

	final = strcmp(destiny, "final") == 0;
	if (number == 0)
		number = trs_number(ctx, off->code, daybook, day);
	trs_enrich_header(ctx, off, hdr, daybook, day, number);
	for (l = sb_x_first(lines); l != NULL; l = sb_x_next(l))
		trs_enrich_line(ctx, off->code, l);
	xmlUnsetProp(echo, (const xmlChar *)"destiny");
	xmlUnsetProp(echo, (const xmlChar *)"result");
	sb_x_set_prop(echo, "location", final ? "final" : "temporary");
	trs_store(ctx, off->code, daybook, number, echo, final);
	sb_x_set_prop(echo, "result", "1");
	return (echo);
}

long long
sb_transaction_from_invoice(struct sb_ctx *ctx, const char *office, xmlNodePtr inv,
    const char *daybook)
{
	struct sb_office	*off;
	xmlDocPtr		 doc;
	xmlNodePtr		 t, hdr, ihdr, lines, l, il, vl, el;
	long			 day;
	long long		 number;
	char			 buf[32];
	int			 id = 1;

	off = sb_store_office(ctx->store, office);
	ihdr = sb_x_child(inv, "header");
	if (sb_date_parse(sb_x_ctext(ihdr, "invoicedate"), &day) == -1)
		day = sb_date_today();
	number = trs_number(ctx, office, daybook, day);

	doc = xmlNewDoc((const xmlChar *)"1.0");
	t = xmlNewDocNode(doc, NULL, (const xmlChar *)"transaction", NULL);
	xmlDocSetRootElement(doc, t);
	sb_x_set_prop(t, "location", "final");
	hdr = sb_x_add(t, "header", NULL);
	sb_x_add(hdr, "currency", sb_x_ctext(ihdr, "currency"));
	sb_x_add(hdr, "period", sb_x_ctext(ihdr, "period"));
	trs_enrich_header(ctx, off, hdr, daybook, day, number);
	sb_x_add(hdr, "invoicenumber", sb_x_ctext(ihdr, "invoicenumber"));
	sb_x_add(hdr, "duedate", sb_x_ctext(ihdr, "duedate"));
	sb_x_set(hdr, "origin", "invoice");
	lines = sb_x_add(t, "lines", NULL);

	l = sb_x_add(lines, "line", NULL);
	sb_x_set_prop(l, "type", "total");
	snprintf(buf, sizeof buf, "%d", id++);
	sb_x_set_prop(l, "id", buf);
	sb_x_add(l, "dim1", off->debtors_account);
	sb_x_add(l, "dim2", sb_x_ctext(ihdr, "customer"));
	sb_x_add(l, "debitcredit", "debit");
	sb_x_add(l, "value", sb_x_ctext(sb_x_child(inv, "totals"), "valueinc"));
	for (il = sb_x_first(sb_x_child(inv, "lines")); il != NULL; il = sb_x_next(il)) {
		l = sb_x_add(lines, "line", NULL);
		sb_x_set_prop(l, "type", "detail");
		snprintf(buf, sizeof buf, "%d", id++);
		sb_x_set_prop(l, "id", buf);
		sb_x_add(l, "dim1", sb_x_ctext(il, "dim1"));
		if (*sb_x_ctext(il, "dim2") != '\0')
			sb_x_add(l, "dim2", sb_x_ctext(il, "dim2"));
		if (*sb_x_ctext(il, "dim3") != '\0')
			sb_x_add(l, "dim3", sb_x_ctext(il, "dim3"));
		sb_x_add(l, "debitcredit", "credit");
		sb_x_add(l, "value", sb_x_ctext(il, "valueexcl"));
		sb_x_add(l, "description", sb_x_ctext(il, "description"));
		sb_x_add(l, "vatcode", sb_x_ctext(il, "vatcode"));
		sb_x_add(l, "vatvalue", sb_x_ctext(il, "vatvalue"));
	}
	for (vl = sb_x_first(sb_x_child(inv, "vatlines")); vl != NULL; vl = sb_x_next(vl)) {
		struct sb_obj	*vat;
		xmlNodePtr	 acc;
		const char	*account = off->vat_account;

		vat = sb_store_get(ctx->store, office, SB_T_VAT, sb_x_ctext(vl, "vatcode"));
		if (vat != NULL) {
			acc = sb_x_child(sb_x_child(sb_x_child(sb_x_child(xmlDocGetRootElement(vat->doc),
			    "percentages"), "percentage"), "accounts"), "account");
			if (*sb_x_ctext(acc, "dim1") != '\0')
				account = sb_x_ctext(acc, "dim1");
		}
		l = sb_x_add(lines, "line", NULL);
		sb_x_set_prop(l, "type", "vat");
		snprintf(buf, sizeof buf, "%d", id++);
		sb_x_set_prop(l, "id", buf);
		sb_x_add(l, "dim1", account);
		sb_x_add(l, "debitcredit", "credit");
		sb_x_add(l, "value", sb_x_ctext(vl, "vatvalue"));
		sb_x_add(l, "vatcode", sb_x_ctext(vl, "vatcode"));
	}
	for (l = sb_x_first(lines); l != NULL; l = sb_x_next(l))
		trs_enrich_line(ctx, office, l);
	el = xmlDocGetRootElement(doc);
	trs_store(ctx, office, daybook, number, el, 1);
	xmlFreeDoc(doc);
	return (number);
}
