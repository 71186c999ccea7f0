/*
 * Twinfield SOAP 1.1 envelopes and the parsers of what comes back. No I/O:
 * the client (tf.h) and the unit tests call these on byte buffers.
 *
 * Every buffer from the network is hostile: tf_xml_parse() caps its size,
 * never touches the network, never loads or honours a DTD (so no entity
 * expansion, internal or external) and fails on anything not well formed.
 */
#ifndef KASSABOEK_TF_SOAP_H
#define KASSABOEK_TF_SOAP_H

#include <stddef.h>

#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf.h"

#define TF_NS		"http://www.twinfield.com/"
#define TF_SOAP_NS	"http://schemas.xmlsoap.org/soap/envelope/"

/* Parses untrusted XML of at most max bytes. Returns a doc the caller xmlFreeDoc()s. */
xmlDoc	*tf_xml_parse(const char *buf, size_t len, size_t max, struct kb_err *err);

/* Serialises doc without XML declaration or added whitespace; caller free()s. */
char	*tf_xml_dump(xmlDoc *doc, size_t *len);

/* Text content of the first child element named name (any namespace), or NULL. Caller free()s. */
char	*tf_xml_child_text(xmlNode *parent, const char *name);
xmlNode	*tf_xml_child(xmlNode *parent, const char *name);

/*
 * Envelope builders. token and company are put in the Header (company NULL
 * or "" = no CompanyCode); payload becomes the text of xmlRequest, escaped
 * by libxml2. Return a new NUL-terminated buffer the caller free()s.
 */
char	*tf_soap_processxml_build(const char *token, const char *company,
	    const char *payload, size_t *len);
char	*tf_soap_search_build(const char *token, const char *company,
	    const struct tf_search *s, size_t *len);

enum tf_soap_kind {
	TF_SOAP_FAULT,
	TF_SOAP_PROCESSXML,	/* ProcessXmlStringResponse */
	TF_SOAP_SEARCH,		/* SearchResponse */
};

/* A parsed envelope; tf_soap_env_clear() frees the members. */
struct tf_soap_env {
	enum tf_soap_kind	 kind;
	xmlDoc			*doc;		/* the envelope */
	xmlNode			*response;	/* Body's first element, inside doc */
	struct tf_fault		*fault;		/* TF_SOAP_FAULT */
	char			*result;	/* ProcessXmlStringResult text (unescaped) */
	size_t			 result_len;
};

int	tf_soap_parse_envelope(const char *body, size_t len, size_t max,
	    struct tf_soap_env *out, struct kb_err *err);
void	tf_soap_env_clear(struct tf_soap_env *env);
void	tf_fault_free(struct tf_fault *f);

/*
 * Splits a ProcessXml result document into one tf_doc_result per document
 * sent: request_root names the root element that was sent; for a batch root
 * (dimensions, salesinvoices, transactions, articles) every child element is
 * one document, in order; otherwise the root is the only one. *docp receives
 * the parsed result document (the results point into it). Returns 0, or -1
 * when the result is not XML or does not match the request.
 */
int	tf_result_parse(const char *xml, size_t len, size_t max, const char *request_root,
	    xmlDoc **docp, struct tf_doc_result **resp, size_t *nresp, struct kb_err *err);
void	tf_doc_results_free(struct tf_doc_result *res, size_t n);
/* 1 when root is a batch wrapper the result splits per child. */
int	tf_result_is_batch_root(const char *root);

/* Reads a SearchResponse element. Returns a new result or NULL with err set. */
struct tf_finder_result	*tf_finder_result_parse(xmlNode *search_response, struct kb_err *err);
void			 tf_finder_result_free(struct tf_finder_result *r);

#endif
