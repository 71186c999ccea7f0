/*
 * libxml2 helpers for the sandbox: safe parsing of untrusted documents,
 * tree navigation by local name, §6.1 error marking, and the value formats
 * of the payloads (money, dates, periods, codes). Text always goes through
 * the tree API (xmlNodeAddContent / xmlNewDocText), so libxml2 escapes it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

xmlDocPtr
sb_x_parse(const char *buf, size_t len, char *causebuf, size_t causelen)
{
	xmlParserCtxtPtr	 ctxt;
	xmlDocPtr		 doc;
	const xmlError		*e;

	if (len == 0) {
		snprintf(causebuf, causelen, "empty document");
		return (NULL);
	}
	if (len > (size_t)INT32_MAX) {
		snprintf(causebuf, causelen, "document too large");
		return (NULL);
	}
	/*
	 * SOAP messages must not carry a DTD, and no payload needs one: refusing
	 * <!DOCTYPE outright means no entity is ever declared, let alone expanded.
	 */
	if (memmem(buf, len, "<!DOCTYPE", 9) != NULL) {
		snprintf(causebuf, causelen, "DTD is prohibited");
		return (NULL);
	}
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		snprintf(causebuf, causelen, "out of memory");
		return (NULL);
	}
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "request.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL) {
		e = xmlCtxtGetLastError(ctxt);
		snprintf(causebuf, causelen, "%s", e != NULL && e->message != NULL ?
		    e->message : "not well-formed");
		causebuf[strcspn(causebuf, "\n")] = '\0';
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return (doc);
}

void
sb_x_normalise(xmlNodePtr root)
{
	xmlNodePtr	 n, next;
	int		 has_el = 0, has_text = 0;
	xmlChar		*content;

	for (n = root->children; n != NULL; n = next) {
		next = n->next;
		switch (n->type) {
		case XML_ELEMENT_NODE:
			has_el = 1;
			sb_x_normalise(n);
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			has_text = 1;
			break;
		default:	/* comments, PIs, entity references */
			xmlUnlinkNode(n);
			xmlFreeNode(n);
			break;
		}
	}
	if (has_el) {
		/* Mixed content is not part of any payload: drop the text. */
		for (n = root->children; n != NULL; n = next) {
			next = n->next;
			if (n->type != XML_ELEMENT_NODE) {
				xmlUnlinkNode(n);
				xmlFreeNode(n);
			}
		}
	} else if (has_text && (root->children->next != NULL ||
	    root->children->type != XML_TEXT_NODE)) {
		content = xmlNodeGetContent(root);
		while ((n = root->children) != NULL) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
		xmlNodeAddContent(root, content);
		xmlFree(content);
	}
}

xmlNodePtr
sb_x_first(xmlNodePtr parent)
{
	xmlNodePtr	n;

	if (parent == NULL)
		return (NULL);
	for (n = parent->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return (n);
	return (NULL);
}

xmlNodePtr
sb_x_next(xmlNodePtr el)
{
	xmlNodePtr	n;

	for (n = el->next; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return (n);
	return (NULL);
}

int
sb_x_is(xmlNodePtr el, const char *name)
{
	return (el != NULL && el->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)el->name, name) == 0);
}

xmlNodePtr
sb_x_child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	n;

	for (n = sb_x_first(parent); n != NULL; n = sb_x_next(n))
		if (strcmp((const char *)n->name, name) == 0)
			return (n);
	return (NULL);
}

xmlNodePtr
sb_x_child_ns(xmlNodePtr parent, const char *name, const char *ns)
{
	xmlNodePtr	n;

	for (n = sb_x_first(parent); n != NULL; n = sb_x_next(n))
		if (strcmp((const char *)n->name, name) == 0 && n->ns != NULL &&
		    n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0)
			return (n);
	return (NULL);
}

size_t
sb_x_count(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	n;
	size_t		c = 0;

	for (n = sb_x_first(parent); n != NULL; n = sb_x_next(n))
		if (name == NULL || strcmp((const char *)n->name, name) == 0)
			c++;
	return (c);
}

const char *
sb_x_text(xmlNodePtr el)
{
	xmlNodePtr	n;

	if (el == NULL)
		return ("");
	for (n = el->children; n != NULL; n = n->next)
		if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
		    n->content != NULL)
			return ((const char *)n->content);
	return ("");
}

const char *
sb_x_ctext(xmlNodePtr parent, const char *name)
{
	return (sb_x_text(sb_x_child(parent, name)));
}

const char *
sb_x_prop(xmlNodePtr el, const char *name)
{
	xmlAttrPtr	a;

	if (el == NULL || (a = xmlHasProp(el, (const xmlChar *)name)) == NULL)
		return (NULL);
	if (a->children == NULL || a->children->content == NULL)
		return ("");
	return ((const char *)a->children->content);
}

void
sb_x_set_prop(xmlNodePtr el, const char *name, const char *value)
{
	/* xmlSetProp stores value as raw text; libxml2 escapes it on output. */
	xmlSetProp(el, (const xmlChar *)name, (const xmlChar *)value);
}

void
sb_x_set_text(xmlNodePtr el, const char *text)
{
	xmlNodePtr	 n;
	char		*copy;

	/* text may point into el's own text node: copy it before freeing that. */
	copy = text != NULL && *text != '\0' ? xstrdup(text) : NULL;
	while ((n = el->children) != NULL) {
		xmlUnlinkNode(n);
		xmlFreeNode(n);
	}
	if (copy != NULL)
		xmlNodeAddContent(el, (const xmlChar *)copy);
	free(copy);
}

xmlNodePtr
sb_x_add(xmlNodePtr parent, const char *name, const char *text)
{
	xmlNodePtr	el;

	el = xmlNewDocNode(parent->doc, NULL, (const xmlChar *)name, NULL);
	if (text != NULL && *text != '\0')
		xmlNodeAddContent(el, (const xmlChar *)text);
	xmlAddChild(parent, el);
	return (el);
}

xmlNodePtr
sb_x_ensure(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	el;

	if ((el = sb_x_child(parent, name)) == NULL)
		el = sb_x_add(parent, name, NULL);
	return (el);
}

xmlNodePtr
sb_x_ensure_first(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	el, first;

	if ((el = sb_x_child(parent, name)) != NULL)
		return (el);
	el = xmlNewDocNode(parent->doc, NULL, (const xmlChar *)name, NULL);
	if ((first = parent->children) != NULL)
		xmlAddPrevSibling(first, el);
	else
		xmlAddChild(parent, el);
	return (el);
}

xmlNodePtr
sb_x_set(xmlNodePtr parent, const char *name, const char *text)
{
	xmlNodePtr	el;

	el = sb_x_ensure(parent, name);
	sb_x_set_text(el, text);
	return (el);
}

void
sb_x_remove(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	n, next;

	for (n = sb_x_first(parent); n != NULL; n = next) {
		next = sb_x_next(n);
		if (strcmp((const char *)n->name, name) == 0) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
	}
}

void
sb_x_ref(xmlNodePtr el, const char *name, const char *shortname)
{
	sb_x_set_prop(el, "name", name != NULL ? name : "");
	sb_x_set_prop(el, "shortname", shortname != NULL ? shortname : "");
}

char *
sb_x_dump(xmlNodePtr el)
{
	xmlBufferPtr	 b;
	char		*s;

	b = xmlBufferCreate();
	xmlNodeDump(b, el->doc, el, 0, 0);
	s = xstrndup((const char *)xmlBufferContent(b), (size_t)xmlBufferLength(b));
	xmlBufferFree(b);
	return (s);
}

xmlDocPtr
sb_x_doc_of(xmlNodePtr el)
{
	xmlDocPtr	doc;

	doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlDocSetRootElement(doc, xmlDocCopyNode(el, doc, 1));
	return (doc);
}

static void
x_err_v(xmlNodePtr el, const char *fmt, va_list ap)
{
	const char	*old;
	char		 msg[1024], joined[4096];
	xmlNodePtr	 p;

	vsnprintf(msg, sizeof msg, fmt, ap);
	old = sb_x_prop(el, "msg");
	if (old != NULL && *old != '\0') {
		snprintf(joined, sizeof joined, "%s//%s", old, msg);
		sb_x_set_prop(el, "msg", joined);
	} else
		sb_x_set_prop(el, "msg", msg);
	sb_x_set_prop(el, "msgtype", "error");
	sb_x_set_prop(el, "result", "0");
	for (p = el->parent; p != NULL && p->type == XML_ELEMENT_NODE; p = p->parent)
		sb_x_set_prop(p, "result", "0");
}

void
sb_err(xmlNodePtr el, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	x_err_v(el, fmt, ap);
	va_end(ap);
}

xmlNodePtr
sb_err_at(xmlNodePtr parent, const char *name, const char *fmt, ...)
{
	xmlNodePtr	el;
	va_list		ap;

	el = sb_x_ensure(parent, name);
	va_start(ap, fmt);
	x_err_v(el, fmt, ap);
	va_end(ap);
	return (el);
}

int
sb_x_failed(xmlNodePtr el)
{
	const char	*r = sb_x_prop(el, "result");

	return (r != NULL && strcmp(r, "0") == 0);
}

void
sb_x_collect_msgs(xmlNodePtr el, char *buf, size_t len)
{
	const char	*m;
	xmlNodePtr	 n;
	size_t		 l;

	if ((m = sb_x_prop(el, "msg")) != NULL && *m != '\0') {
		l = strlen(buf);
		snprintf(buf + l, len - l, "%s<%s> %s", l > 0 ? "; " : "",
		    (const char *)el->name, m);
	}
	for (n = sb_x_first(el); n != NULL; n = sb_x_next(n))
		sb_x_collect_msgs(n, buf, len);
}

/* Strict decimal: optional '-', digits, optional '.' and digits. */
static int
x_decimal_ok(const char *s)
{
	int	digits = 0;

	if (*s == '-' || *s == '+')
		s++;
	for (; isdigit((unsigned char)*s); s++)
		digits++;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++)
			digits++;
	return (digits > 0 && *s == '\0');
}

int
sb_decimal_parse(const char *s, double *out)
{
	char	*end;

	if (s == NULL || !x_decimal_ok(s) || strlen(s) > 40)
		return (-1);
	errno = 0;
	*out = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(*out))
		return (-1);
	return (0);
}

int
sb_money_parse(const char *s, int64_t *cents)
{
	double	v;

	if (sb_decimal_parse(s, &v) == -1 || fabs(v) > 1e13)
		return (-1);
	*cents = llround(v * 100.0);
	return (0);
}

void
sb_money_fmt(int64_t cents, char *buf, size_t len)
{
	unsigned long long	a;

	a = cents < 0 ? (unsigned long long)(-(cents + 1)) + 1 : (unsigned long long)cents;
	snprintf(buf, len, "%s%llu.%02llu", cents < 0 ? "-" : "", a / 100, a % 100);
}

int
sb_int_parse(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

int
sb_date_parse(const char *s, long *days)
{
	struct tm	tm;
	time_t		t;
	int		y, m, d;

	if (strlen(s) != 8 || !sb_is_digits(s))
		return (-1);
	if (sscanf(s, "%4d%2d%2d", &y, &m, &d) != 3 || y < 1900 || y > 2999 ||
	    m < 1 || m > 12 || d < 1 || d > 31)
		return (-1);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	t = timegm(&tm);
	if (tm.tm_mday != d || tm.tm_mon != m - 1)
		return (-1);	/* 20240231 normalised away */
	*days = (long)(t / 86400);
	return (0);
}

void
sb_date_fmt(long days, char *buf, size_t len)
{
	time_t		t = (time_t)days * 86400 + 43200;
	struct tm	tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

long
sb_date_today(void)
{
	return ((long)(time(NULL) / 86400));
}

int
sb_period_parse(const char *s, int *year, int *month)
{
	int	y, m, n = 0;

	if (sscanf(s, "%4d/%2d%n", &y, &m, &n) != 2 || s[n] != '\0' ||
	    y < 1900 || y > 2999 || m < 0 || m > 56)
		return (-1);
	*year = y;
	*month = m;
	return (0);
}

int
sb_is_digits(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return (0);
	return (1);
}

int
sb_code_ok(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return (0);
	return (n > 0 && n <= SB_RULE_CODE_MAX);
}

int
sb_wildcard(const char *p, const char *s)
{
	const char	*star_p = NULL, *star_s = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star_p = ++p;
			star_s = s;
		} else if (*p == '?' || (*p != '\0' &&
		    tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star_p != NULL) {
			p = star_p;
			s = ++star_s;
		} else
			return (0);
	}
	while (*p == '*')
		p++;
	return (*p == '\0');
}

int
sb_code_cmp(const char *a, const char *b)
{
	size_t	la, lb;

	if (sb_is_digits(a) && sb_is_digits(b)) {
		while (*a == '0' && a[1] != '\0')
			a++;
		while (*b == '0' && b[1] != '\0')
			b++;
		la = strlen(a);
		lb = strlen(b);
		if (la != lb)
			return (la < lb ? -1 : 1);
	}
	return (strcmp(a, b));
}
