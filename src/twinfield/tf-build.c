/*
 * Common pieces of the ProcessXml document builders, the batch wrapper and
 * the read/list requests (reference §5). Documents carry no namespace, no
 * comments and no whitespace between elements (reference §3.4).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "kassaboek/tf-doc.h"
#include "tf-build-internal.h"

/* Single root -> batch root; the kinds reference §3.4 lists as batchable. */
static const char *const build_batches[][2] = {
	{ "dimension", "dimensions" },
	{ "salesinvoice", "salesinvoices" },
	{ "transaction", "transactions" },
	{ "article", "articles" },
};

void
tf_amount_format(int64_t cents, char *buf, size_t size)
{
	uint64_t	a;

	/* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
	a = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
	snprintf(buf, size, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "", a / 100, a % 100);
}

int
tf_build_empty(const char *s)
{
	return (s == NULL || *s == '\0');
}

xmlNode *
tf_build_node(xmlDoc *doc, const char *name)
{
	return (xmlNewDocNode(doc, NULL, (const xmlChar *)name, NULL));
}

xmlNode *
tf_build_elem(xmlNode *parent, const char *name, const char *value)
{
	/* xmlNewTextChild escapes value; xmlNewChild would not. */
	return (xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)value));
}

xmlNode *
tf_build_text(xmlNode *parent, const char *name, const char *value)
{
	if (value == NULL)
		return (NULL);
	return (tf_build_elem(parent, name, value));
}

void
tf_build_bool(xmlNode *parent, const char *name, enum tf_bool b)
{
	if (b != TF_UNSET)
		tf_build_elem(parent, name, b == TF_TRUE ? "true" : "false");
}

void
tf_build_bool_attr(xmlNode *node, const char *name, enum tf_bool b)
{
	if (b != TF_UNSET)
		xmlSetProp(node, (const xmlChar *)name,
		    (const xmlChar *)(b == TF_TRUE ? "true" : "false"));
}

void
tf_build_amount(xmlNode *parent, const char *name, struct tf_amount a)
{
	char	buf[32];

	if (!a.set)
		return;
	tf_amount_format(a.cents, buf, sizeof buf);
	tf_build_elem(parent, name, buf);
}

void
tf_build_attr(xmlNode *node, const char *name, const char *value)
{
	if (value != NULL)
		xmlSetProp(node, (const xmlChar *)name, (const xmlChar *)value);
}

void
tf_build_attach(xmlDoc *doc, xmlNode *batch, xmlNode *node)
{
	if (batch == NULL)
		xmlDocSetRootElement(doc, node);
	else
		xmlAddChild(batch, node);
}

xmlDoc *
tf_build_doc_new(void)
{
	return (xmlNewDoc((const xmlChar *)"1.0"));
}

xmlNode *
tf_build_batch_root(xmlDoc *doc, const char *single)
{
	xmlNode	*root;
	size_t	 i;

	for (i = 0; i < sizeof build_batches / sizeof build_batches[0]; i++) {
		if (strcmp(single, build_batches[i][0]) == 0) {
			root = tf_build_node(doc, build_batches[i][1]);
			xmlDocSetRootElement(doc, root);
			return (root);
		}
	}
	return (NULL);
}

size_t
tf_build_batch_count(xmlNode *batch)
{
	return (batch == NULL ? 0 : (size_t)xmlChildElementCount(batch));
}

/* <read><type>T</type><office>O</office>...</read> */
static xmlDoc *
build_read(const char *root_name, const char *type, const char *office, xmlNode **rootp)
{
	xmlDoc	*doc;
	xmlNode	*root;

	doc = tf_build_doc_new();
	root = tf_build_node(doc, root_name);
	xmlDocSetRootElement(doc, root);
	tf_build_elem(root, "type", type);
	tf_build_text(root, "office", office);
	*rootp = root;
	return (doc);
}

xmlDoc *
tf_build_read_dimension(const char *office, const char *dimtype, const char *code)
{
	xmlNode	*root;
	xmlDoc	*doc;

	doc = build_read("read", "dimensions", office, &root);
	tf_build_elem(root, "dimtype", dimtype);
	tf_build_elem(root, "code", code);
	return (doc);
}

xmlDoc *
tf_build_read_article(const char *office, const char *code)
{
	xmlNode	*root;
	xmlDoc	*doc;

	doc = build_read("read", "article", office, &root);
	tf_build_elem(root, "code", code);
	return (doc);
}

xmlDoc *
tf_build_read_vat(const char *office, const char *code)
{
	xmlNode	*root;
	xmlDoc	*doc;

	doc = build_read("read", "vat", office, &root);
	tf_build_elem(root, "code", code);
	return (doc);
}

xmlDoc *
tf_build_read_invoice(const char *office, const char *invoicetype, const char *invoicenumber)
{
	xmlNode	*root;
	xmlDoc	*doc;

	doc = build_read("read", "salesinvoice", office, &root);
	tf_build_elem(root, "code", invoicetype);
	tf_build_elem(root, "invoicenumber", invoicenumber);
	return (doc);
}

xmlDoc *
tf_build_read_transaction(const char *office, const char *code, const char *number)
{
	xmlNode	*root;
	xmlDoc	*doc;

	doc = build_read("read", "transaction", office, &root);
	tf_build_elem(root, "code", code);
	tf_build_elem(root, "number", number);
	return (doc);
}

xmlDoc *
tf_build_list_offices(void)
{
	xmlNode	*root;

	return (build_read("list", "offices", NULL, &root));
}

xmlDoc *
tf_build_list_dimensions(const char *office, const char *dimtype)
{
	xmlNode	*root;
	xmlDoc	*doc;

	doc = build_read("list", "dimensions", office, &root);
	tf_build_elem(root, "dimtype", dimtype);
	return (doc);
}
