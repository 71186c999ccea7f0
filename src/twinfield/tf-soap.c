/*
 * SOAP 1.1 envelopes for ProcessXmlString and Finder Search (reference
 * §2.4, §3.2, §4) and the parse of what comes back: a fault, a
 * ProcessXmlStringResponse (the result document as text) or a SearchResponse.
 * Envelopes are built with the libxml2 tree API: the ProcessXml payload is a
 * text node, so libxml2 escapes it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

/* Envelope + soap:Header/Header(token, company) + soap:Body; returns Body. */
static xmlNode *
soap_envelope(xmlDoc *doc, const char *token, const char *company, xmlNs **tfns)
{
	xmlNode	*env, *hdr, *th, *body;
	xmlNs	*sns;

	env = xmlNewDocNode(doc, NULL, (const xmlChar *)"Envelope", NULL);
	xmlDocSetRootElement(doc, env);
	sns = xmlNewNs(env, (const xmlChar *)TF_SOAP_NS, (const xmlChar *)"soap");
	xmlSetNs(env, sns);
	hdr = xmlNewChild(env, sns, (const xmlChar *)"Header", NULL);
	th = xmlNewChild(hdr, NULL, (const xmlChar *)"Header", NULL);
	*tfns = xmlNewNs(th, (const xmlChar *)TF_NS, NULL);
	xmlSetNs(th, *tfns);
	xmlNewTextChild(th, *tfns, (const xmlChar *)"AccessToken", (const xmlChar *)token);
	if (company != NULL && *company != '\0')
		xmlNewTextChild(th, *tfns, (const xmlChar *)"CompanyCode",
		    (const xmlChar *)company);
	body = xmlNewChild(env, sns, (const xmlChar *)"Body", NULL);
	return (body);
}

/* The operation element in the Twinfield namespace, declared on itself. */
static xmlNode *
soap_operation(xmlNode *body, const char *name, xmlNs **ns)
{
	xmlNode	*op;

	op = xmlNewChild(body, NULL, (const xmlChar *)name, NULL);
	*ns = xmlNewNs(op, (const xmlChar *)TF_NS, NULL);
	xmlSetNs(op, *ns);
	return (op);
}

static char *
soap_dump(xmlDoc *doc, size_t *len)
{
	xmlChar	*mem;
	char	*out;
	int	 n;

	xmlDocDumpMemoryEnc(doc, &mem, &n, "utf-8");
	out = xmalloc((size_t)n + 1);
	memcpy(out, mem, (size_t)n);
	out[n] = '\0';
	xmlFree(mem);
	if (len != NULL)
		*len = (size_t)n;
	return (out);
}

char *
tf_soap_processxml_build(const char *token, const char *company, const char *payload,
    size_t *len)
{
	xmlDoc	*doc;
	xmlNode	*body, *op;
	xmlNs	*ns;
	char	*out;

	doc = xmlNewDoc((const xmlChar *)"1.0");
	body = soap_envelope(doc, token, company, &ns);
	op = soap_operation(body, "ProcessXmlString", &ns);
	xmlNewTextChild(op, ns, (const xmlChar *)"xmlRequest", (const xmlChar *)payload);
	out = soap_dump(doc, len);
	xmlFreeDoc(doc);
	return (out);
}

char *
tf_soap_search_build(const char *token, const char *company, const struct tf_search *s,
    size_t *len)
{
	xmlDoc	*doc;
	xmlNode	*body, *op, *opts, *pair;
	xmlNs	*ns;
	char	*out, buf[32];
	size_t	 i;

	doc = xmlNewDoc((const xmlChar *)"1.0");
	body = soap_envelope(doc, token, company, &ns);
	op = soap_operation(body, "Search", &ns);
	xmlNewTextChild(op, ns, (const xmlChar *)"type", (const xmlChar *)s->type);
	xmlNewTextChild(op, ns, (const xmlChar *)"pattern", (const xmlChar *)s->pattern);
	snprintf(buf, sizeof buf, "%d", s->field);
	xmlNewTextChild(op, ns, (const xmlChar *)"field", (const xmlChar *)buf);
	snprintf(buf, sizeof buf, "%d", s->first_row > 0 ? s->first_row : 1);
	xmlNewTextChild(op, ns, (const xmlChar *)"firstRow", (const xmlChar *)buf);
	snprintf(buf, sizeof buf, "%d", s->max_rows > 0 ? s->max_rows : 25);
	xmlNewTextChild(op, ns, (const xmlChar *)"maxRows", (const xmlChar *)buf);
	opts = xmlNewChild(op, ns, (const xmlChar *)"options", NULL);
	for (i = 0; i < s->noptions; i++) {
		pair = xmlNewChild(opts, ns, (const xmlChar *)"ArrayOfString", NULL);
		xmlNewTextChild(pair, ns, (const xmlChar *)"string",
		    (const xmlChar *)s->options[2 * i]);
		xmlNewTextChild(pair, ns, (const xmlChar *)"string",
		    (const xmlChar *)s->options[2 * i + 1]);
	}
	out = soap_dump(doc, len);
	xmlFreeDoc(doc);
	return (out);
}

static int
soap_is(xmlNode *n, const char *ns, const char *name)
{
	return (n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0 &&
	    (ns == NULL || (n->ns != NULL && strcmp((const char *)n->ns->href, ns) == 0)));
}

static xmlNode *
soap_first_element(xmlNode *parent)
{
	xmlNode	*n;

	for (n = parent->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return (n);
	return (NULL);
}

void
tf_fault_free(struct tf_fault *f)
{
	if (f == NULL)
		return;
	free(f->faultcode);
	free(f->faultstring);
	free(f->message);
	free(f->source);
	free(f);
}

static struct tf_fault *
soap_fault_parse(xmlNode *fault)
{
	struct tf_fault	*f;
	xmlNode		*detail;
	char		*code, *end;
	long		 v;

	f = xcalloc(1, sizeof *f);
	f->code = -1;
	f->faultcode = tf_xml_child_text(fault, "faultcode");
	f->faultstring = tf_xml_child_text(fault, "faultstring");
	if ((detail = tf_xml_child(fault, "detail")) != NULL) {
		f->message = tf_xml_child_text(detail, "message");
		f->source = tf_xml_child_text(detail, "source");
		if ((code = tf_xml_child_text(detail, "code")) != NULL) {
			errno = 0;
			v = strtol(code, &end, 10);
			if (errno == 0 && end != code && *end == '\0')
				f->code = v;
			free(code);
		}
	}
	return (f);
}

int
tf_soap_parse_envelope(const char *body, size_t len, size_t max, struct tf_soap_env *out,
    struct kb_err *err)
{
	xmlNode	*root, *b, *resp, *res;
	xmlChar	*c;

	memset(out, 0, sizeof *out);
	if ((out->doc = tf_xml_parse(body, len, max, err)) == NULL)
		return (-1);
	root = xmlDocGetRootElement(out->doc);
	if (!soap_is(root, TF_SOAP_NS, "Envelope")) {
		kb_err_set(err, "response is not a SOAP 1.1 envelope (root <%.64s>)",
		    (const char *)root->name);
		goto fail;
	}
	if ((b = tf_xml_child(root, "Body")) == NULL || !soap_is(b, TF_SOAP_NS, "Body") ||
	    (resp = soap_first_element(b)) == NULL) {
		kb_err_set(err, "SOAP envelope without a Body element");
		goto fail;
	}
	out->response = resp;
	if (soap_is(resp, TF_SOAP_NS, "Fault")) {
		out->kind = TF_SOAP_FAULT;
		out->fault = soap_fault_parse(resp);
		return (0);
	}
	if (soap_is(resp, TF_NS, "ProcessXmlStringResponse")) {
		out->kind = TF_SOAP_PROCESSXML;
		if ((res = tf_xml_child(resp, "ProcessXmlStringResult")) == NULL) {
			kb_err_set(err, "ProcessXmlStringResponse without ProcessXmlStringResult");
			goto fail;
		}
		/* Escaped text and CDATA both come back as the plain string here. */
		c = xmlNodeGetContent(res);
		out->result = xstrdup(c != NULL ? (const char *)c : "");
		out->result_len = strlen(out->result);
		xmlFree(c);
		return (0);
	}
	if (soap_is(resp, TF_NS, "SearchResponse")) {
		out->kind = TF_SOAP_SEARCH;
		return (0);
	}
	kb_err_set(err, "unexpected SOAP response element <%.64s>", (const char *)resp->name);
fail:
	tf_soap_env_clear(out);
	return (-1);
}

void
tf_soap_env_clear(struct tf_soap_env *env)
{
	xmlFreeDoc(env->doc);
	tf_fault_free(env->fault);
	free(env->result);
	memset(env, 0, sizeof *env);
}
