/*
 * Finder Search (§4) over the store: types DIM (with dimtype), ART, VAT,
 * OFF, INV and TRS; wildcards * and ?; fields 0 (code and name), 1 (code),
 * 2 (name), and for DEB/CRD 3 (bank account) and 4 (address fields, without
 * the e-mail address unless SB_RULE_FINDER_ADDRESS_INCLUDES_EMAIL or the seed
 * says so). Bad input gives MessageOfErrorCodes in SearchResult, no data.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

#define FINDER_MAX_OPTIONS	16

struct finder_req {
	const char	*type;
	const char	*pattern;
	long long	 field, first, max;
	const char	*opt_name[FINDER_MAX_OPTIONS];
	const char	*opt_value[FINDER_MAX_OPTIONS];
	size_t		 nopt;
};

struct finder_row {
	const char	*code;
	const char	*name;
	const char	*extra;
};

struct finder {
	xmlNsPtr		 tns;
	xmlNodePtr		 result;	/* SearchResult */
	int			 errors;
	struct finder_row	*rows;
	size_t			 nrows;
};

static xmlNodePtr
finder_add(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
	return (xmlNewTextChild(parent, ns, (const xmlChar *)name, (const xmlChar *)text));
}

static void
finder_msg(struct finder *f, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
finder_msg(struct finder *f, const char *code, const char *param, const char *fmt, ...)
{
	xmlNodePtr	m, p;
	char		text[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	m = xmlNewChild(f->result, f->tns, (const xmlChar *)"MessageOfErrorCodes", NULL);
	finder_add(m, f->tns, "Type", "Error");
	finder_add(m, f->tns, "Text", text);
	finder_add(m, f->tns, "Code", code);
	p = xmlNewChild(m, f->tns, (const xmlChar *)"Parameters", NULL);
	if (param != NULL)
		finder_add(p, f->tns, "string", param);
	f->errors++;
}

static int
finder_int(xmlNodePtr op, const char *name, long long *out, char *cause, size_t clen)
{
	xmlNodePtr	el = sb_x_child_ns(op, name, SB_NS_TWINFIELD);

	if (el == NULL || sb_int_parse(sb_x_text(el), INT32_MIN, INT32_MAX, out) == -1) {
		snprintf(cause, clen, "Server was unable to read request: <%s> must be an int.", name);
		return (-1);
	}
	return (0);
}

static int
finder_parse(xmlNodePtr op, struct finder_req *r, struct finder *f, char *cause, size_t clen)
{
	xmlNodePtr	opts, a, n, v;

	memset(r, 0, sizeof *r);
	r->type = sb_x_text(sb_x_child_ns(op, "type", SB_NS_TWINFIELD));
	r->pattern = sb_x_text(sb_x_child_ns(op, "pattern", SB_NS_TWINFIELD));
	if (finder_int(op, "field", &r->field, cause, clen) == -1 ||
	    finder_int(op, "firstRow", &r->first, cause, clen) == -1 ||
	    finder_int(op, "maxRows", &r->max, cause, clen) == -1)
		return (-1);
	opts = sb_x_child_ns(op, "options", SB_NS_TWINFIELD);
	for (a = sb_x_first(opts); a != NULL; a = sb_x_next(a)) {
		n = sb_x_first(a);
		v = n != NULL ? sb_x_next(n) : NULL;
		if (!sb_x_is(a, "ArrayOfString") || n == NULL || v == NULL || sb_x_next(v) != NULL) {
			finder_msg(f, "OptionNotAllowed", NULL, "An option must be a pair of strings.");
			continue;
		}
		if (r->nopt == FINDER_MAX_OPTIONS) {
			finder_msg(f, "OptionNotAllowed", NULL, "Too many options.");
			break;
		}
		r->opt_name[r->nopt] = sb_x_text(n);
		r->opt_value[r->nopt++] = sb_x_text(v);
	}
	return (0);
}

static const char *
finder_opt(struct finder_req *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nopt; i++)
		if (strcmp(r->opt_name[i], name) == 0)
			return (r->opt_value[i]);
	return (NULL);
}

/* Options each type accepts (§4 options table). */
static int
finder_opt_allowed(const char *type, const char *name)
{
	static const struct {
		const char	*type;
		const char	*names;
	} allowed[] = {
		{ "DIM", " office dimtype level section modifiedsince group matchtype includehidden company " },
		{ "ART", " office vat " },
		{ "VAT", " office " },
		{ "OFF", " includeid " },
		{ "INV", " office " },
		{ "TRS", " office hidden ic category " },
	};
	char	needle[64];
	size_t	i;

	snprintf(needle, sizeof needle, " %s ", name);
	for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		if (strcmp(allowed[i].type, type) == 0)
			return (strstr(allowed[i].names, needle) != NULL);
	return (0);
}

static void
finder_row(struct finder *f, const char *code, const char *name, const char *extra)
{
	f->rows = xreallocarray(f->rows, f->nrows + 1, sizeof *f->rows);
	f->rows[f->nrows].code = code;
	f->rows[f->nrows].name = name;
	f->rows[f->nrows].extra = extra;
	f->nrows++;
}

static int
finder_match_cn(const char *pattern, long long field, const char *code, const char *name)
{
	switch (field) {
	case 0:	return (sb_wildcard(pattern, code) || sb_wildcard(pattern, name));
	case 1:	return (sb_wildcard(pattern, code));
	case 2:	return (sb_wildcard(pattern, name));
	default: return (0);
	}
}

/* Field 3 / 4 of a debtor or creditor: bank account numbers, address fields. */
static int
finder_match_relation(struct sb_store *st, const char *pattern, long long field, xmlNodePtr root)
{
	static const char *const addr_fields[] = { "name", "contact", "field1", "field2", "field3",
	    "field4", "field5", "field6", "postcode", "city", "country", "telephone", "telefax", NULL };
	xmlNodePtr	a;
	size_t		i;

	if (field == 3) {
		for (a = sb_x_first(sb_x_child(root, "banks")); a != NULL; a = sb_x_next(a))
			if ((*sb_x_ctext(a, "iban") != '\0' && sb_wildcard(pattern, sb_x_ctext(a, "iban"))) ||
			    (*sb_x_ctext(a, "accountnumber") != '\0' &&
			    sb_wildcard(pattern, sb_x_ctext(a, "accountnumber"))))
				return (1);
		return (0);
	}
	for (a = sb_x_first(sb_x_child(root, "addresses")); a != NULL; a = sb_x_next(a)) {
		for (i = 0; addr_fields[i] != NULL; i++)
			if (*sb_x_ctext(a, addr_fields[i]) != '\0' &&
			    sb_wildcard(pattern, sb_x_ctext(a, addr_fields[i])))
				return (1);
		if ((st->finder_address_email || SB_RULE_FINDER_ADDRESS_INCLUDES_EMAIL) &&
		    *sb_x_ctext(a, "email") != '\0' && sb_wildcard(pattern, sb_x_ctext(a, "email")))
			return (1);
	}
	return (0);
}

static void
finder_dims(struct sb_store *st, struct finder *f, struct finder_req *r, const char *office,
    const char *dimtype, int hidden, long long since)
{
	struct sb_obj	**v;
	const char	 *name, *shortname;
	size_t		  n, i;

	v = sb_store_list(st, office, dimtype, &n);
	for (i = 0; i < n; i++) {
		if (v[i]->status == SB_DELETED || (v[i]->status == SB_HIDE && !hidden) ||
		    v[i]->modified < since)
			continue;
		sb_obj_names(v[i], &name, &shortname);
		if (r->field <= 2 ? finder_match_cn(r->pattern, r->field, v[i]->code, name) :
		    finder_match_relation(st, r->pattern, r->field, xmlDocGetRootElement(v[i]->doc)))
			finder_row(f, v[i]->code, name, hidden ? (v[i]->status == SB_HIDE ?
			    "hidden" : "active") : NULL);
	}
	free(v);
}

static void
finder_objs(struct sb_store *st, struct finder *f, struct finder_req *r, const char *office,
    const char *type, const char *category)
{
	struct sb_obj	**v;
	const char	 *name, *shortname;
	size_t		  n, i;

	v = sb_store_list(st, office, type, &n);
	for (i = 0; i < n; i++) {
		if (v[i]->status == SB_DELETED)
			continue;
		if (category != NULL && strcmp(sb_x_ctext(xmlDocGetRootElement(v[i]->doc), "category"),
		    category) != 0)
			continue;
		sb_obj_names(v[i], &name, &shortname);
		if (finder_match_cn(r->pattern, r->field, v[i]->code, name))
			finder_row(f, v[i]->code, name, NULL);
	}
	free(v);
}

/* Checks the options; returns the office to search (NULL for OFF or on error). */
static const char *
finder_check(struct sb_server *srv, struct sb_soap *s, struct finder_req *r, struct finder *f,
    long long *since)
{
	static const char *const types[] = { "DIM", "ART", "VAT", "OFF", "INV", "TRS" };
	const char	*office, *v;
	long long	 n;
	long		 day;
	size_t		 i, j;
	int		 known = 0, maxfield = 2;

	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		known |= strcmp(types[i], r->type) == 0;
	if (!known) {
		finder_msg(f, "InvalidFinderType", r->type, "Finder type %s is not valid.", r->type);
		return (NULL);
	}
	for (i = 0; i < r->nopt; i++) {
		if (!finder_opt_allowed(r->type, r->opt_name[i]))
			finder_msg(f, "OptionNotAllowed", r->opt_name[i], "Option %s is not allowed for finder type %s.",
			    r->opt_name[i], r->type);
		for (j = 0; j < i; j++)
			if (strcmp(r->opt_name[i], r->opt_name[j]) == 0)
				finder_msg(f, "OptionNotAllowed", r->opt_name[i], "Option %s is given more than once.",
				    r->opt_name[i]);
	}
	if (finder_opt(r, "office") != NULL && finder_opt(r, "company") != NULL)
		finder_msg(f, "OptionCompanyAndOptionOfficeCannotBeBothProvided", NULL,
		    "Options company and office cannot both be provided.");
	if (strcmp(r->type, "DIM") == 0) {
		if ((v = finder_opt(r, "dimtype")) == NULL)
			finder_msg(f, "OptionMandatory", "dimtype", "Option dimtype is mandatory.");
		else if (sb_dimtype(v) == NULL)
			finder_msg(f, "InvalidEnumerationOptionValue", "dimtype", "Dimension type %s is not valid.", v);
		else if (strcmp(v, "DEB") == 0 || strcmp(v, "CRD") == 0)
			maxfield = 4;
		if ((v = finder_opt(r, "includehidden")) != NULL && strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
			finder_msg(f, "InvalidBooleanOptionValue", "includehidden", "Option includehidden must be 0 or 1.");
		if ((v = finder_opt(r, "level")) != NULL) {
			if (sb_int_parse(v, INT32_MIN, INT32_MAX, &n) == -1)
				finder_msg(f, "InvalidIntegerOptionValue", "level", "Option level must be a whole number.");
			else if (n < 1 || n > 6)
				finder_msg(f, "OptionValueOutOfRange", "level", "Option level must be from 1 to 6.");
		}
		if ((v = finder_opt(r, "modifiedsince")) != NULL) {
			if (strlen(v) != 8 && strlen(v) != 14)
				finder_msg(f, "InvalidDateTimeOptionLength", "modifiedsince",
				    "Option modifiedsince must be yyyyMMdd or yyyyMMddHHmmss.");
			else {
				char	date[9];
				int	hh = 0, mm = 0, ss = 0;

				memcpy(date, v, 8);
				date[8] = '\0';
				if (sb_date_parse(date, &day) == -1 || !sb_is_digits(v) ||
				    (strlen(v) == 14 && (sscanf(v + 8, "%2d%2d%2d", &hh, &mm, &ss) != 3 ||
				    hh > 23 || mm > 59 || ss > 59)))
					finder_msg(f, "InvalidDateTimeOptionValue", "modifiedsince",
					    "Option modifiedsince is not a valid date.");
				else
					*since = (long long)day * 86400 + hh * 3600 + mm * 60 + ss;
			}
		}
	}
	if (strcmp(r->type, "ART") == 0 && (v = finder_opt(r, "vat")) != NULL &&
	    strcmp(v, "inclusive") != 0 && strcmp(v, "exclusive") != 0)
		finder_msg(f, "InvalidEnumerationOptionValue", "vat", "Option vat must be inclusive or exclusive.");
	if (strcmp(r->type, "TRS") == 0 && finder_opt(r, "hidden") != NULL && finder_opt(r, "ic") != NULL)
		finder_msg(f, "OptionIcIncompatibleWithOptionHidden", NULL, "Options ic and hidden cannot be combined.");
	if (r->field < 0 || r->field > maxfield)
		finder_msg(f, "ParameterOutOfRange", "field", "Field %lld is not valid for this finder type.", r->field);
	if (r->first < 1)
		finder_msg(f, "ParameterTooSmall", "firstRow", "firstRow must be 1 or more.");
	if (r->max < 1)
		finder_msg(f, "ParameterTooSmall", "maxRows", "maxRows must be 1 or more.");
	if (strcmp(r->type, "OFF") == 0)
		return (NULL);
	office = finder_opt(r, "office");
	if (office == NULL)
		office = finder_opt(r, "company");
	if (office == NULL)
		office = s->company;
	if (office == NULL) {
		finder_msg(f, "OptionMandatory", "office", "Option office is mandatory without a company in the header.");
		return (NULL);
	}
	if (sb_store_office(srv->store, office) == NULL) {
		finder_msg(f, "NoAccessToOffice", office, "No access to office %s.", office);
		return (NULL);
	}
	return (office);
}

int
sb_finder_search(struct sb_server *srv, struct sb_soap *s, xmlNodePtr body, char *cause, size_t clen)
{
	struct finder_req	 r;
	struct finder		 f;
	xmlNodePtr		 resp, data, cols, items, row;
	const char		*office, *v;
	long long		 since = 0, i;
	int			 hidden = 0, withid = 0;
	char			 buf[32];
	size_t			 k;

	memset(&f, 0, sizeof f);
	resp = xmlNewChild(body, NULL, (const xmlChar *)"SearchResponse", NULL);
	f.tns = xmlNewNs(resp, (const xmlChar *)SB_NS_TWINFIELD, NULL);
	xmlSetNs(resp, f.tns);
	f.result = xmlNewChild(resp, f.tns, (const xmlChar *)"SearchResult", NULL);
	if (finder_parse(s->op, &r, &f, cause, clen) == -1)
		return (-1);
	office = finder_check(srv, s, &r, &f, &since);
	if (f.errors > 0)
		return (0);

	if (strcmp(r.type, "DIM") == 0) {
		hidden = (v = finder_opt(&r, "includehidden")) != NULL && strcmp(v, "1") == 0;
		finder_dims(srv->store, &f, &r, office, finder_opt(&r, "dimtype"), hidden, since);
	} else if (strcmp(r.type, "ART") == 0)
		finder_objs(srv->store, &f, &r, office, SB_T_ARTICLE, NULL);
	else if (strcmp(r.type, "VAT") == 0)
		finder_objs(srv->store, &f, &r, office, SB_T_VAT, NULL);
	else if (strcmp(r.type, "INV") == 0)
		finder_objs(srv->store, &f, &r, office, SB_T_INVOICETYPE, NULL);
	else if (strcmp(r.type, "TRS") == 0)
		finder_objs(srv->store, &f, &r, office, SB_T_DAYBOOK, finder_opt(&r, "category"));
	else {
		withid = (v = finder_opt(&r, "includeid")) != NULL && strcmp(v, "1") == 0;
		for (k = 0; k < srv->store->noffices; k++)
			if (finder_match_cn(r.pattern, r.field, srv->store->offices[k].code,
			    srv->store->offices[k].name))
				finder_row(&f, srv->store->offices[k].code, srv->store->offices[k].name,
				    withid ? srv->store->offices[k].id : NULL);
	}

	data = xmlNewChild(resp, f.tns, (const xmlChar *)"data", NULL);
	snprintf(buf, sizeof buf, "%zu", f.nrows);
	finder_add(data, f.tns, "TotalRows", buf);
	cols = xmlNewChild(data, f.tns, (const xmlChar *)"Columns", NULL);
	finder_add(cols, f.tns, "string", SB_RULE_FINDER_COL_CODE);
	finder_add(cols, f.tns, "string", SB_RULE_FINDER_COL_NAME);
	if (hidden)
		finder_add(cols, f.tns, "string", "Status");
	if (withid)
		finder_add(cols, f.tns, "string", "Id");
	/* §4: Items is absent when nothing matched (or the page lies past the end). */
	if ((size_t)r.first <= f.nrows) {
		items = xmlNewChild(data, f.tns, (const xmlChar *)"Items", NULL);
		for (i = r.first - 1; i < (long long)f.nrows && i < r.first - 1 + r.max; i++) {
			row = xmlNewChild(items, f.tns, (const xmlChar *)"ArrayOfString", NULL);
			finder_add(row, f.tns, "string", f.rows[i].code);
			finder_add(row, f.tns, "string", f.rows[i].name);
			if (hidden || withid)
				finder_add(row, f.tns, "string", f.rows[i].extra != NULL ? f.rows[i].extra : "");
		}
	}
	free(f.rows);
	return (0);
}
