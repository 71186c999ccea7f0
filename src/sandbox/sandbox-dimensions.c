/*
 * Dimensions (§5.2-§5.5): customers (DEB), suppliers (CRD), cost centres
 * (KPL), projects (PRJ) and general-ledger accounts (BAS, PNL). Upsert by
 * office + type + code; status="deleted" deletes; a debtor or creditor
 * without a code gets the next free number.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

static const struct sb_dimtype sb_dimtypes[] = {
	{ "BAS", "Balans",		1, "",			0 },
	{ "PNL", "Winst & verlies",	1, "",			0 },
	{ "DEB", "Debiteuren",		2, "customersupplier",	SB_RULE_FIRST_DEBTOR_CODE },
	{ "CRD", "Crediteuren",		2, "customersupplier",	SB_RULE_FIRST_CREDITOR_CODE },
	{ "KPL", "Kostenplaatsen",	2, "notmatchable",	0 },
	{ "PRJ", "Projecten",		3, "matchable",		0 },
	{ "AST", "Activa",		3, "notmatchable",	0 },
	{ "ACT", "Activiteiten",	4, "notmatchable",	0 },
};

const struct sb_dimtype *
sb_dimtype(const char *code)
{
	size_t	i;

	for (i = 0; i < sizeof sb_dimtypes / sizeof sb_dimtypes[0]; i++)
		if (strcmp(sb_dimtypes[i].code, code) == 0)
			return (&sb_dimtypes[i]);
	return (NULL);
}

struct sb_obj *
sb_find_dim(struct sb_store *s, const char *office, const char *code, const char *const *types,
    const char **found)
{
	struct sb_obj	*o;

	for (; *types != NULL; types++) {
		if ((o = sb_store_live(s, office, *types, code)) != NULL) {
			if (found != NULL)
				*found = *types;
			return (o);
		}
	}
	return (NULL);
}

static int
dim_bool_ok(const char *s)
{
	return (*s == '\0' || strcmp(s, "true") == 0 || strcmp(s, "false") == 0);
}

/* Field checks of a debtor / creditor (§5.3). */
static void
dim_check_relation(struct sb_ctx *ctx, const char *office, xmlNodePtr echo)
{
	xmlNodePtr	 fin, cm, addrs, a, banks, b, el;
	const char	*s;
	long long	 v;
	size_t		 ndefault = 0;

	if ((fin = sb_x_child(echo, "financials")) != NULL) {
		if ((el = sb_x_child(fin, "duedays")) != NULL && *sb_x_text(el) != '\0' &&
		    sb_int_parse(sb_x_text(el), 0, 999, &v) == -1)
			sb_err(el, "Payment term (days) must be a whole number from 0 to 999.");
		if ((el = sb_x_child(fin, "vatcode")) != NULL && *(s = sb_x_text(el)) != '\0' &&
		    sb_store_live(ctx->store, office, SB_T_VAT, s) == NULL)
			sb_err(el, "VAT code %s does not exist.", s);
		if ((el = sb_x_child(fin, "payavailable")) != NULL && !dim_bool_ok(sb_x_text(el)))
			sb_err(el, "Value must be true or false.");
		if ((el = sb_x_child(fin, "meansofpayment")) != NULL && *(s = sb_x_text(el)) != '\0') {
			if (strcmp(s, "none") != 0 && strcmp(s, "paymentfile") != 0 &&
			    strcmp(s, "cheques") != 0)
				sb_err(el, "Means of payment %s is not valid.", s);
			else if (strcmp(s, "paymentfile") == 0 &&
			    strcmp(sb_x_ctext(fin, "payavailable"), "true") != 0)
				sb_err(el, "Means of payment paymentfile requires payavailable true.");
		}
		if ((el = sb_x_child(fin, "ebilling")) != NULL && !dim_bool_ok(sb_x_text(el)))
			sb_err(el, "Value must be true or false.");
		if (strcmp(sb_x_ctext(fin, "ebilling"), "true") == 0 &&
		    *sb_x_ctext(fin, "ebillmail") == '\0')
			sb_err_at(fin, "ebillmail", "An e-mail address is mandatory for e-billing.");
	}
	if ((cm = sb_x_child(echo, "creditmanagement")) != NULL) {
		s = sb_x_ctext(cm, "sendreminder");
		if (*s != '\0' && strcmp(s, "true") != 0 && strcmp(s, "false") != 0 &&
		    strcmp(s, "email") != 0)
			sb_err_at(cm, "sendreminder", "Send reminder must be true, false or email.");
		else if (strcmp(s, "email") == 0 && *sb_x_ctext(cm, "reminderemail") == '\0')
			sb_err_at(cm, "reminderemail", "A reminder e-mail address is mandatory when reminders are sent by e-mail.");
	}
	if ((addrs = sb_x_child(echo, "addresses")) != NULL) {
		for (a = sb_x_first(addrs); a != NULL; a = sb_x_next(a)) {
			if (!sb_x_is(a, "address")) {
				sb_err(a, "Element <%s> is not allowed in <addresses>.", (const char *)a->name);
				continue;
			}
			s = sb_x_prop(a, "type");
			if (s != NULL && strcmp(s, "invoice") != 0 && strcmp(s, "postal") != 0 &&
			    strcmp(s, "contact") != 0)
				sb_err(a, "Address type %s is not valid.", s);
			if ((s = sb_x_prop(a, "default")) != NULL && strcmp(s, "true") == 0)
				ndefault++;
			s = sb_x_ctext(a, "country");
			if (*s != '\0' && (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' ||
			    s[1] < 'A' || s[1] > 'Z'))
				sb_err_at(a, "country", "Country %s is not a valid ISO code.", s);
			s = sb_x_ctext(a, "email");
			if (*s != '\0' && (strchr(s, '@') == NULL || strchr(s, ' ') != NULL))
				sb_err_at(a, "email", "E-mail address %s is not valid.", s);
		}
		if (ndefault > 1)
			sb_err(addrs, "Only one address can be the default.");
	}
	if ((banks = sb_x_child(echo, "banks")) != NULL) {
		for (b = sb_x_first(banks); b != NULL; b = sb_x_next(b))
			if (strlen(sb_x_ctext(b, "ascription")) > 40)
				sb_err_at(b, "ascription", "Ascription may be at most 40 characters.");
	}
}

/* Read-only fields a response carries (§5.3-§5.5), filled in on the stored object. */
static void
dim_enrich(struct sb_ctx *ctx, const struct sb_dimtype *dt, struct sb_office *off,
    xmlNodePtr st, enum sb_status status, int fresh)
{
	xmlNodePtr	 fin, el, a;
	char		 buf[64];
	long long	 touched = 0;
	int		 id;

	sb_x_set_prop(st, "status", sb_status_name(status));
	sb_x_ref(sb_x_ensure_first(st, "office"), off->name, off->shortname);
	sb_x_set_text(sb_x_child(st, "office"), off->code);
	sb_x_ref(sb_x_child(st, "type"), dt->name, dt->name);
	if (*sb_x_ctext(st, "uid") == '\0') {
		sb_guid(buf, sizeof buf);
		sb_x_set(st, "uid", buf);
	}
	if (sb_x_child(st, "shortname") == NULL)
		sb_x_add(st, "shortname", NULL);
	if (sb_x_child(st, "inuse") == NULL)
		sb_x_add(st, "inuse", "false");
	if (sb_x_child(st, "behaviour") == NULL)
		sb_x_add(st, "behaviour", "normal");
	if (!fresh)
		(void)sb_int_parse(sb_x_ctext(st, "touched"), 0, INT32_MAX, &touched), touched++;
	snprintf(buf, sizeof buf, "%lld", touched);
	sb_x_set(st, "touched", buf);
	fin = sb_x_ensure(st, "financials");
	snprintf(buf, sizeof buf, "%d", dt->level);
	sb_x_set(fin, "level", buf);
	if (*dt->matchtype != '\0')
		sb_x_set(fin, "matchtype", dt->matchtype);
	if (strcmp(dt->code, "DEB") == 0 || strcmp(dt->code, "CRD") == 0) {
		if (*sb_x_ctext(fin, "duedays") == '\0') {
			snprintf(buf, sizeof buf, "%d", SB_RULE_DEFAULT_DUEDAYS);
			sb_x_set(fin, "duedays", buf);
		}
		if (*sb_x_ctext(fin, "substitutewith") == '\0') {
			sb_x_set(fin, "substitutionlevel", "1");
			sb_x_set(fin, "substitutewith", strcmp(dt->code, "DEB") == 0 ?
			    off->debtors_account : off->creditors_account);
		}
		if ((el = sb_x_child(fin, "vatcode")) != NULL && *sb_x_text(el) != '\0') {
			struct sb_obj	*vat;
			const char	*n, *sn;

			vat = sb_store_get(ctx->store, off->code, SB_T_VAT, sb_x_text(el));
			sb_obj_names(vat, &n, &sn);
			sb_x_ref(el, n, sn);
		}
		/* Address and bank ids are assigned by Twinfield; invoices refer to them. */
		id = 1;
		for (a = sb_x_first(sb_x_child(st, "addresses")); a != NULL; a = sb_x_next(a)) {
			snprintf(buf, sizeof buf, "%d", id++);
			sb_x_set_prop(a, "id", buf);
			if (sb_x_prop(a, "default") == NULL)
				sb_x_set_prop(a, "default", id == 2 ? "true" : "false");
		}
		id = 1;
		for (a = sb_x_first(sb_x_child(st, "banks")); a != NULL; a = sb_x_next(a)) {
			snprintf(buf, sizeof buf, "%d", id++);
			sb_x_set_prop(a, "id", buf);
		}
	}
}

/* Merges the request into the stored copy: each child element sent replaces the stored one. */
static void
dim_merge(xmlNodePtr st, xmlNodePtr req)
{
	xmlNodePtr	n;

	for (n = sb_x_first(req); n != NULL; n = sb_x_next(n)) {
		sb_x_remove(st, (const char *)n->name);
		xmlAddChild(st, xmlDocCopyNode(n, st->doc, 1));
	}
}

xmlNodePtr
sb_dimension_write(struct sb_ctx *ctx, xmlNodePtr req)
{
	const struct sb_dimtype	*dt;
	struct sb_office	*off;
	struct sb_obj		*old;
	xmlNodePtr		 echo, st, el;
	xmlDocPtr		 doc;
	const char		*officecode, *type, *code, *s;
	enum sb_status		 status;
	char			 newcode[32];
	int64_t			 n;

	echo = xmlDocCopyNode(req, ctx->out, 1);
	officecode = sb_doc_office(ctx, sb_x_child(echo, "office"));
	if ((off = sb_store_office(ctx->store, officecode)) == NULL) {
		sb_err(echo, "Office %s does not exist.", officecode);
		return (echo);
	}
	type = sb_x_ctext(echo, "type");
	if (*type == '\0') {
		sb_err_at(echo, "type", "Dimension type must not be empty.");
		return (echo);
	}
	if ((dt = sb_dimtype(type)) == NULL || strcmp(type, "AST") == 0 || strcmp(type, "ACT") == 0) {
		sb_err_at(echo, "type", "Dimension type %s does not exist.", type);
		return (echo);
	}
	s = sb_x_prop(echo, "status");
	if (s != NULL && strcmp(s, "active") != 0 && strcmp(s, "hide") != 0 && strcmp(s, "deleted") != 0) {
		sb_err(echo, "Status %s is not valid (active, hide or deleted).", s);
		return (echo);
	}
	status = sb_status_parse(s);
	code = sb_x_ctext(echo, "code");
	old = *code != '\0' ? sb_store_get(ctx->store, off->code, dt->code, code) : NULL;
	if (old != NULL && old->status == SB_DELETED && status != SB_DELETED)
		old = NULL;	/* writing a deleted code again creates it anew */

	if (status == SB_DELETED) {
		if (old == NULL || old->status == SB_DELETED) {
			sb_err_at(echo, "code", "Dimension %s does not exist.", code);
			return (echo);
		}
		st = xmlDocGetRootElement(old->doc);
		sb_x_set_prop(st, "status", "deleted");
		old->status = SB_DELETED;
		old->modified = ctx->now;
		xmlFreeNode(echo);
		return (sb_result_copy(ctx, old));
	}

	if (*code == '\0') {
		if (dt->first_code == 0)
			sb_err_at(echo, "code", "Code must not be empty.");
	} else if (!sb_code_ok(code) ||
	    (dt->first_code != 0 && !sb_is_digits(code)))
		sb_err_at(echo, "code", "The code %s does not conform to the format of dimension type %s%s.",
		    code, dt->code, dt->first_code != 0 ? " (digits only)" : "");
	if (old == NULL && *sb_x_ctext(echo, "name") == '\0')
		sb_err_at(echo, "name", "Name must not be empty.");
	if (strlen(sb_x_ctext(echo, "name")) > 80)
		sb_err_at(echo, "name", "Name may be at most 80 characters.");
	if (dt->first_code != 0)
		dim_check_relation(ctx, off->code, echo);
	if (strcmp(dt->code, "PRJ") == 0 &&
	    (el = sb_x_child(sb_x_child(echo, "projects"), "customer")) != NULL &&
	    *(s = sb_x_text(el)) != '\0' && sb_store_live(ctx->store, off->code, "DEB", s) == NULL)
		sb_err(el, "Customer %s does not exist.", s);
	if (sb_x_failed(echo))
		return (echo);

	if (*code == '\0') {
		/* §5.2: the next free code; skip codes written explicitly meanwhile. */
		do {
			n = sb_store_seq_next(ctx->store, off->code, dt->code, dt->first_code);
			snprintf(newcode, sizeof newcode, "%lld", (long long)n);
		} while (sb_store_get(ctx->store, off->code, dt->code, newcode) != NULL);
		code = newcode;
	} else if (dt->first_code != 0 && strlen(code) < 12)
		sb_store_seq_seen(ctx->store, off->code, dt->code, strtoll(code, NULL, 10));

	if (old != NULL) {
		doc = sb_x_doc_of(xmlDocGetRootElement(old->doc));
		st = xmlDocGetRootElement(doc);
		dim_merge(st, echo);
	} else {
		doc = sb_x_doc_of(echo);
		st = xmlDocGetRootElement(doc);
	}
	xmlUnsetProp(st, (const xmlChar *)"result");
	if (sb_x_child(st, "code") == NULL)
		xmlAddNextSibling(sb_x_ensure(st, "type"), xmlNewDocNode(doc, NULL, (const xmlChar *)"code", NULL));
	sb_x_set(st, "code", code);
	sb_x_set(st, "type", dt->code);
	dim_enrich(ctx, dt, off, st, status, old == NULL);
	xmlFreeNode(echo);	/* code now points into st, not echo */
	old = sb_store_put(ctx->store, off->code, dt->code, sb_x_ctext(st, "code"), doc, status, ctx->now);
	return (sb_result_copy(ctx, old));
}
