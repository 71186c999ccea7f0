/*
 * Safe XML in and out for the Twinfield client. Parsing of untrusted bytes:
 * - size capped before libxml2 sees a byte;
 * - XML_PARSE_NONET, and neither XML_PARSE_NOENT nor XML_PARSE_DTDLOAD;
 * - any DOCTYPE stops the parser at once (SOAP forbids one, and without a
 *   DTD there are no entity declarations: no billion laughs, no XXE);
 * - libxml2's default depth and text-node limits stay (no XML_PARSE_HUGE).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>
#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

#define XML_PARSE_OPTS	(XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOWARNING | \
	XML_PARSE_NOERROR)

/* SAX internalSubset hook: a DOCTYPE is refused before its subset is read. */
static void
xml_no_dtd(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xmlParserCtxt	*ctxt = ctx;

	*(int *)ctxt->_private = 1;
	xmlStopParser(ctxt);
}

xmlDoc *
tf_xml_parse(const char *buf, size_t len, size_t max, struct kb_err *err)
{
	xmlParserCtxt	*ctxt;
	xmlDoc		*doc;
	const xmlError	*xe;
	int		 dtd = 0;

	if (len > max) {
		kb_err_set(err, "XML document of %zu bytes is over the %zu byte limit", len, max);
		return (NULL);
	}
	if (len == 0 || len > (size_t)INT32_MAX) {
		kb_err_set(err, "empty XML document");
		return (NULL);
	}
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		kb_err_set(err, "out of memory for the XML parser");
		return (NULL);
	}
	ctxt->sax->internalSubset = xml_no_dtd;
	ctxt->_private = &dtd;
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, XML_PARSE_OPTS);
	if (dtd) {
		kb_err_set(err, "XML document has a DOCTYPE; refused");
		goto fail;
	}
	if (doc == NULL || !ctxt->wellFormed || ctxt->errNo != 0 || doc->intSubset != NULL) {
		xe = xmlCtxtGetLastError(ctxt);
		kb_err_set(err, "malformed XML%s%.200s", xe != NULL && xe->message != NULL ?
		    ": " : "", xe != NULL && xe->message != NULL ? xe->message : "");
		/* libxml2 messages end in a newline. */
		if (err != NULL && (len = strlen(err->msg)) > 0 && err->msg[len - 1] == '\n')
			err->msg[len - 1] = '\0';
		goto fail;
	}
	if (xmlDocGetRootElement(doc) == NULL) {
		kb_err_set(err, "XML document has no root element");
		goto fail;
	}
	xmlFreeParserCtxt(ctxt);
	return (doc);
fail:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return (NULL);
}

char *
tf_xml_dump(xmlDoc *doc, size_t *len)
{
	xmlBuffer	*buf;
	xmlSaveCtxt	*save;
	char		*out;
	size_t		 n;

	buf = xmlBufferCreate();
	save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
	xmlSaveDoc(save, doc);
	xmlSaveClose(save);
	n = (size_t)xmlBufferLength(buf);
	/* xmlSaveDoc ends the document with a newline; Twinfield wants none. */
	while (n > 0 && (xmlBufferContent(buf)[n - 1] == '\n'))
		n--;
	out = xmalloc(n + 1);
	memcpy(out, xmlBufferContent(buf), n);
	out[n] = '\0';
	xmlBufferFree(buf);
	if (len != NULL)
		*len = n;
	return (out);
}

xmlNode *
tf_xml_child(xmlNode *parent, const char *name)
{
	xmlNode	*n;

	if (parent == NULL)
		return (NULL);
	for (n = parent->children; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
			return (n);
	}
	return (NULL);
}

char *
tf_xml_child_text(xmlNode *parent, const char *name)
{
	xmlNode	*n;
	xmlChar	*c;
	char	*s;

	if ((n = tf_xml_child(parent, name)) == NULL)
		return (NULL);
	c = xmlNodeGetContent(n);
	s = xstrdup(c != NULL ? (const char *)c : "");
	xmlFree(c);
	return (s);
}
