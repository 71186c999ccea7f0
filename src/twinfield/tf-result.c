/*
 * ProcessXml result documents (reference §6): result="1"/"0" per document,
 * msgtype/msg on the offending elements. A batch answer is split back into
 * one tf_doc_result per child, in the order sent, so one bad invoice does
 * not hide the 24 good ones next to it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

#define RESULT_MAX_MSGS		64	/* per document; the rest is counted */
#define RESULT_MAX_SUMMARY	1024

static const char *const result_batch_roots[] = {
	"dimensions", "salesinvoices", "transactions", "articles",
};

int
tf_result_is_batch_root(const char *root)
{
	size_t	i;

	for (i = 0; i < sizeof result_batch_roots / sizeof result_batch_roots[0]; i++)
		if (strcmp(root, result_batch_roots[i]) == 0)
			return (1);
	return (0);
}

static char *
result_attr(xmlNode *n, const char *name)
{
	xmlChar	*v;
	char	*s;

	if ((v = xmlGetProp(n, (const xmlChar *)name)) == NULL)
		return (NULL);
	s = xstrdup((const char *)v);
	xmlFree(v);
	return (s);
}

/* Appends one path step for n: name, [@id='x'] for lines, else [k] if repeated. */
static void
result_step(xmlNode *n, char *buf, size_t size)
{
	xmlNode	*s;
	char	*id;
	int	 pos = 0, same = 0;
	size_t	 len = strlen(buf);

	if (len >= size - 1)
		return;
	if ((id = result_attr(n, "id")) != NULL) {
		snprintf(buf + len, size - len, "%s%.40s[@id='%.40s']", len ? "/" : "",
		    (const char *)n->name, id);
		free(id);
		return;
	}
	for (s = n->parent != NULL ? n->parent->children : NULL; s != NULL; s = s->next) {
		if (s->type != XML_ELEMENT_NODE || strcmp((const char *)s->name,
		    (const char *)n->name) != 0)
			continue;
		same++;
		if (s == n)
			pos = same;
	}
	if (same > 1)
		snprintf(buf + len, size - len, "%s%.40s[%d]", len ? "/" : "",
		    (const char *)n->name, pos);
	else
		snprintf(buf + len, size - len, "%s%.40s", len ? "/" : "", (const char *)n->name);
}

static char *
result_path(xmlNode *top, xmlNode *n)
{
	xmlNode	*chain[64];
	char	 buf[512];
	size_t	 depth = 0;

	buf[0] = '\0';
	while (n != NULL && depth < sizeof chain / sizeof chain[0]) {
		chain[depth++] = n;
		if (n == top)
			break;
		n = n->parent;
	}
	while (depth > 0) {
		n = chain[--depth];
		if (n == top)
			snprintf(buf, sizeof buf, "%.40s", (const char *)n->name);
		else
			result_step(n, buf, sizeof buf);
	}
	return (xstrdup(buf));
}

/* Collects msgtype/msg of top and its descendants, document order. */
static void
result_collect(xmlNode *top, xmlNode *n, struct tf_doc_result *r, size_t *nerr)
{
	xmlNode		*c;
	char		*type, *msg;
	struct tf_msg	*m;

	type = result_attr(n, "msgtype");
	msg = result_attr(n, "msg");
	if (type != NULL || msg != NULL) {
		if (type == NULL || strcmp(type, "warning") != 0)
			(*nerr)++;
		if (r->nmsgs < RESULT_MAX_MSGS) {
			r->msgs = xreallocarray(r->msgs, r->nmsgs + 1, sizeof *r->msgs);
			m = &r->msgs[r->nmsgs++];
			m->path = result_path(top, n);
			m->text = msg != NULL ? msg : xstrdup("(no message)");
			m->warning = type != NULL && strcmp(type, "warning") == 0;
			msg = NULL;
		}
	}
	free(type);
	free(msg);
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			result_collect(top, c, r, nerr);
}

/* The code, number or key that names the document in a message. */
static char *
result_key(xmlNode *doc)
{
	static const char *const keys[] = { "code", "invoicenumber", "number", "customer" };
	xmlNode	*hdr;
	char	*v;
	size_t	 i;

	hdr = tf_xml_child(doc, "header");
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if ((v = tf_xml_child_text(doc, keys[i])) != NULL && *v != '\0')
			return (v);
		free(v);
		if ((v = tf_xml_child_text(hdr, keys[i])) != NULL && *v != '\0')
			return (v);
		free(v);
	}
	return (NULL);
}

static void
result_one(xmlNode *node, size_t index, struct tf_doc_result *r)
{
	char	*res, *key, buf[RESULT_MAX_SUMMARY];
	size_t	 nerr = 0, i, len;

	memset(r, 0, sizeof *r);
	r->node = node;
	result_collect(node, node, r, &nerr);
	res = result_attr(node, "result");
	/* No result attribute: judge by the messages (reference §6.1). */
	r->ok = res != NULL ? strcmp(res, "1") == 0 : nerr == 0;
	free(res);
	if (r->ok)
		return;
	key = result_key(node);
	len = (size_t)snprintf(buf, sizeof buf, "document %zu (%.40s%s%.60s)", index + 1,
	    (const char *)node->name, key != NULL ? " " : "", key != NULL ? key : "");
	free(key);
	for (i = 0; i < r->nmsgs && len < sizeof buf; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s %s: %s%s",
		    i == 0 ? ":" : ";", r->msgs[i].path, r->msgs[i].text,
		    r->msgs[i].warning ? " (warning)" : "");
	if (r->nmsgs == 0)
		snprintf(buf + len, sizeof buf - len, ": rejected without a message");
	r->summary = xstrdup(buf);
}

int
tf_result_parse(const char *xml, size_t len, size_t max, const char *request_root,
    xmlDoc **docp, struct tf_doc_result **resp, size_t *nresp, struct kb_err *err)
{
	xmlDoc			*doc;
	xmlNode			*root, *c;
	struct tf_doc_result	*res = NULL;
	size_t			 n = 0;

	*docp = NULL;
	*resp = NULL;
	*nresp = 0;
	if ((doc = tf_xml_parse(xml, len, max, err)) == NULL)
		return (-1);
	root = xmlDocGetRootElement(doc);
	if (tf_result_is_batch_root(request_root) &&
	    strcmp((const char *)root->name, request_root) == 0 &&
	    xmlChildElementCount(root) > 0) {
		for (c = root->children; c != NULL; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			res = xreallocarray(res, n + 1, sizeof *res);
			result_one(c, n, &res[n]);
			n++;
		}
	} else {
		res = xcalloc(1, sizeof *res);
		result_one(root, 0, res);
		n = 1;
	}
	*docp = doc;
	*resp = res;
	*nresp = n;
	return (0);
}

void
tf_doc_results_free(struct tf_doc_result *res, size_t n)
{
	size_t	i, j;

	if (res == NULL)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < res[i].nmsgs; j++) {
			free(res[i].msgs[j].path);
			free(res[i].msgs[j].text);
		}
		free(res[i].msgs);
		free(res[i].summary);
	}
	free(res);
}
