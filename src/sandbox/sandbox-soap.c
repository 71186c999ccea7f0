/*
 * The SOAP endpoints (§3, §4, §7): /webservices/processxml.asmx and
 * /webservices/finder.asmx. Parses the envelope (SOAP 1.1, and 1.2), the
 * Twinfield Header (AccessToken, CompanyCode, CompanyId nil or absent),
 * meters the request (§7.3), checks the token and company, runs the
 * payload, and writes the response or a fault with detail/{message,code,source}.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <libxml/tree.h>

#include "kassaboek/log.h"
#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

#define SOAP_ACTION_PREFIX	"http://www.twinfield.com/"

static xmlDocPtr
soap_envelope_new(int v12, xmlNodePtr *body, xmlNsPtr *envns)
{
	xmlDocPtr	doc;
	xmlNodePtr	env;
	xmlNsPtr	ns;

	doc = xmlNewDoc((const xmlChar *)"1.0");
	env = xmlNewDocNode(doc, NULL, (const xmlChar *)"Envelope", NULL);
	xmlDocSetRootElement(doc, env);
	ns = xmlNewNs(env, (const xmlChar *)(v12 ? SB_NS_SOAP12 : SB_NS_SOAP11), (const xmlChar *)"soap");
	xmlSetNs(env, ns);
	xmlNewNs(env, (const xmlChar *)SB_NS_XSI, (const xmlChar *)"xsi");
	xmlNewNs(env, (const xmlChar *)"http://www.w3.org/2001/XMLSchema", (const xmlChar *)"xsd");
	*body = xmlNewChild(env, ns, (const xmlChar *)"Body", NULL);
	if (envns != NULL)
		*envns = ns;
	return (doc);
}

/* Serialises doc (freed here) as the reply. */
static void
soap_send(struct sb_call *call, int status, xmlDocPtr doc, int v12)
{
	xmlChar	*buf = NULL;
	int	 len = 0;

	xmlDocDumpMemoryEnc(doc, &buf, &len, "utf-8");
	sb_reply(call, status, v12 ? "application/soap+xml; charset=utf-8" : "text/xml; charset=utf-8",
	    (const char *)buf, len > 0 ? (size_t)len : 0);
	xmlFree(buf);
	xmlFreeDoc(doc);
}

void
sb_soap_fault(struct sb_call *call, int http_status, int v12, const char *faultcode,
    const char *message, const char *code, const char *source)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 body, fault, det, el;
	xmlNsPtr	 ns;

	doc = soap_envelope_new(v12, &body, &ns);
	fault = xmlNewChild(body, ns, (const xmlChar *)"Fault", NULL);
	if (v12) {
		el = xmlNewChild(fault, ns, (const xmlChar *)"Code", NULL);
		xmlNewTextChild(el, ns, (const xmlChar *)"Value", (const xmlChar *)
		    (strcmp(faultcode, "soap:Client") == 0 ? "soap:Sender" : "soap:Receiver"));
		el = xmlNewChild(fault, ns, (const xmlChar *)"Reason", NULL);
		el = xmlNewTextChild(el, ns, (const xmlChar *)"Text", (const xmlChar *)message);
		xmlNodeSetLang(el, (const xmlChar *)"en");
		det = xmlNewChild(fault, ns, (const xmlChar *)"Detail", NULL);
	} else {
		/* SOAP 1.1: faultcode, faultstring and detail are unqualified. */
		sb_x_add(fault, "faultcode", faultcode);
		sb_x_add(fault, "faultstring", message);
		det = sb_x_add(fault, "detail", NULL);
	}
	/* sb_x_add makes no-namespace children (xmlNewChild would inherit soap:). */
	sb_x_add(det, "message", message);
	sb_x_add(det, "code", code);
	sb_x_add(det, "source", source);
	/* §7.1: on 401/403 the reason phrase carries "<code>: <description>". */
	if (http_status == 401 || http_status == 403) {
		snprintf(call->reason_buf, sizeof call->reason_buf, "%.16s: %.120s", code, message);
		call->reason = call->reason_buf;
	}
	soap_send(call, http_status, doc, v12);
}

static void
soap_free(struct sb_soap *s)
{
	xmlFreeDoc(s->env);
	free(s->token);
	free(s->company);
	free(s->action_buf);
	memset(s, 0, sizeof *s);
}

static int
soap_is_guid(const char *s)
{
	static const char	tmpl[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t			i;

	if (strlen(s) != sizeof tmpl - 1)
		return (0);
	for (i = 0; tmpl[i] != '\0'; i++)
		if (tmpl[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return (0);
	return (1);
}

/* The operation the client asked for: SOAPAction (1.1) or the action parameter (1.2). */
static void
soap_action(struct sb_call *call, struct sb_soap *s)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(call->req);
	const char		*v, *p;
	size_t			 n;

	if (s->v12) {
		v = evhttp_find_header(h, "Content-Type");
		if (v == NULL || (p = strstr(v, "action=")) == NULL)
			return;
		v = p + 7;
	} else if ((v = evhttp_find_header(h, "SOAPAction")) == NULL)
		return;
	while (*v == ' ' || *v == '"')
		v++;
	n = strcspn(v, "\";");
	s->action_buf = xstrndup(v, n);
	s->action = s->action_buf;
}

/*
 * Parses the envelope into s. Returns 0, or -1 with cause set (the request
 * could not be read: a soap:Client fault).
 */
static int
soap_parse(struct sb_call *call, struct sb_soap *s, char *cause, size_t clen)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(call->req);
	size_t		 len = evbuffer_get_length(in);
	xmlNodePtr	 root, hdr, tw, body, el;
	const char	*envns, *v, *nil;
	struct sb_office *off;

	memset(s, 0, sizeof *s);
	s->env = sb_x_parse((const char *)evbuffer_pullup(in, -1), len, cause, clen);
	if (s->env == NULL)
		return (-1);
	root = xmlDocGetRootElement(s->env);
	if (root->ns == NULL || strcmp((const char *)root->name, "Envelope") != 0 ||
	    (strcmp((const char *)root->ns->href, SB_NS_SOAP11) != 0 &&
	    strcmp((const char *)root->ns->href, SB_NS_SOAP12) != 0)) {
		snprintf(cause, clen, "the document is not a SOAP envelope");
		return (-1);
	}
	envns = (const char *)root->ns->href;
	s->v12 = strcmp(envns, SB_NS_SOAP12) == 0;
	sb_x_normalise(root);
	soap_action(call, s);

	hdr = sb_x_child_ns(root, "Header", envns);
	if ((tw = sb_x_child_ns(hdr, "Header", SB_NS_TWINFIELD)) != NULL) {
		v = sb_x_text(sb_x_child_ns(tw, "AccessToken", SB_NS_TWINFIELD));
		if (*v != '\0')
			s->token = xstrndup(v, 512);
		s->has_session = *sb_x_text(sb_x_child_ns(tw, "SessionID", SB_NS_TWINFIELD)) != '\0';
		if ((el = sb_x_child_ns(tw, "CompanyId", SB_NS_TWINFIELD)) != NULL) {
			nil = (const char *)xmlGetNsProp(el, (const xmlChar *)"nil",
			    (const xmlChar *)SB_NS_XSI);
			v = sb_x_text(el);
			if ((nil == NULL || strcmp(nil, "true") != 0) && *v != '\0') {
				if (!soap_is_guid(v))
					s->company_id_bad = 1;
				else if ((off = sb_store_office_by_id(call->srv->store, v)) != NULL)
					s->company = xstrdup(off->code);
				else
					s->company_id_bad = 1;
			}
			xmlFree((xmlChar *)nil);
		}
		v = sb_x_text(sb_x_child_ns(tw, "CompanyCode", SB_NS_TWINFIELD));
		if (*v != '\0') {
			free(s->company);
			s->company = xstrndup(v, 64);
			s->company_id_bad = 0;
		}
	}
	if ((body = sb_x_child_ns(root, "Body", envns)) == NULL || (s->op = sb_x_first(body)) == NULL) {
		snprintf(cause, clen, "the envelope has no Body element");
		return (-1);
	}
	return (0);
}

/* Checks that the action and the body element name op, one of the endpoint's operations. */
static int
soap_op_ok(struct sb_call *call, struct sb_soap *s, const char *op, char *cause, size_t clen)
{
	const char	*action = s->action;
	char		 want[128];

	snprintf(want, sizeof want, SOAP_ACTION_PREFIX "%s", op);
	if (action != NULL && *action != '\0' && strcmp(action, want) != 0) {
		snprintf(cause, clen, "Server did not recognize the value of HTTP Header SOAPAction: %.200s.",
		    action);
		return (-1);
	}
	if (s->op->ns == NULL || strcmp((const char *)s->op->ns->href, SB_NS_TWINFIELD) != 0 ||
	    strcmp((const char *)s->op->name, op) != 0) {
		snprintf(cause, clen, "Server was unable to read request: expected element %s in namespace "
		    SB_NS_TWINFIELD ", got %.100s.", op, (const char *)s->op->name);
		return (-1);
	}
	return (0);
}

/* §2.4 / §7.1: token and company checks. Returns 0, or -1 after sending the fault. */
static int
soap_auth(struct sb_call *call, struct sb_soap *s, int need_company, const char *source)
{
	if (s->token == NULL) {
		if (s->has_session) {
			sb_soap_fault(call, 401, s->v12, "soap:Client",
			    "Your logon credentials are not valid anymore. Try to log on again.", "103", source);
			return (-1);
		}
		sb_soap_fault(call, 500, s->v12, "soap:Server",
		    "The access token and company id, or the session id, is missing.", "101", source);
		return (-1);
	}
	if (!sb_token_valid(call->srv, s->token)) {
		sb_soap_fault(call, 401, s->v12, "soap:Client", "Access denied. Token invalid.", "354", source);
		return (-1);
	}
	if (s->company_id_bad) {
		sb_soap_fault(call, 500, s->v12, "soap:Server",
		    "Access Denied. Company id is not valid.", "359", source);
		return (-1);
	}
	if (need_company && s->company == NULL) {
		sb_soap_fault(call, 500, s->v12, "soap:Server",
		    "Access denied. Company is missing in request header.", "101", source);
		return (-1);
	}
	return (0);
}

/* §7.3: 1 credit for a query root, 3 for anything else. */
static int
soap_cost(xmlNodePtr payload_root)
{
	static const char *const query[] = { "list", "read", "columns", "accountcode", "accountcodes" };
	size_t	i;

	if (payload_root == NULL)
		return (SB_RULE_CREDITS_WRITE);
	for (i = 0; i < sizeof query / sizeof query[0]; i++)
		if (sb_x_is(payload_root, query[i]))
			return (SB_RULE_CREDITS_QUERY);
	return (SB_RULE_CREDITS_WRITE);
}

/* Meters the request; sends the 429 and returns -1 when the limits say no. */
static int
soap_meter(struct sb_call *call, int credits, int v12)
{
	long	retry;

	if ((retry = sb_limits_admit(call->srv, call, credits)) == 0)
		return (0);
	call->srv->counters.r429++;
	sb_soap_fault(call, 429, v12, "soap:Client", "Too Many Requests", "429", "kassaboek-sandbox");
	return (-1);
}

/* GET on an .asmx: ?wsdl, else a pointer to it. GETs cost a query credit (§7.3). */
static void
soap_get(struct sb_call *call, int finder)
{
	const char	*q;
	char		 base[256], *wsdl;

	if (soap_meter(call, SB_RULE_CREDITS_QUERY, 0) == -1 ||
	    sb_http_inject_error(call, 1, finder ? "Search" : "ProcessXmlString"))
		return;
	q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(call->req));
	sb_log_describe(call, "wsdl", NULL, NULL, SB_RULE_CREDITS_QUERY);
	if (q == NULL || strcasecmp(q, "wsdl") != 0) {
		sb_reply_text(call, 200, finder ?
		    "Twinfield Finder web service (kassaboek-sandbox). WSDL: ?wsdl\n" :
		    "Twinfield ProcessXml web service (kassaboek-sandbox). WSDL: ?wsdl\n");
		return;
	}
	sb_base_url(call->srv, call->req, base, sizeof base);
	wsdl = sb_wsdl_build(finder, base);
	sb_reply(call, 200, "text/xml; charset=utf-8", wsdl, strlen(wsdl));
	free(wsdl);
}

/* HEAD and OPTIONS are queries (§7.3); other methods cost a write. Only POST and GET are served. */
static void
soap_other_method(struct sb_call *call)
{
	enum evhttp_cmd_type	cmd = evhttp_request_get_command(call->req);

	if (soap_meter(call, cmd == EVHTTP_REQ_HEAD || cmd == EVHTTP_REQ_OPTIONS ?
	    SB_RULE_CREDITS_QUERY : SB_RULE_CREDITS_WRITE, 0) == -1)
		return;
	evhttp_add_header(evhttp_request_get_output_headers(call->req), "Allow", "GET, POST");
	sb_reply_text(call, cmd == EVHTTP_REQ_OPTIONS ? 200 : 405, cmd == EVHTTP_REQ_OPTIONS ? "" :
	    "Method Not Allowed\n");
}

/* Counts lines of every transaction in the payload; > the limit means HTTP 400. */
static int
soap_too_many_lines(xmlNodePtr root)
{
	xmlNodePtr	t;

	if (sb_x_is(root, "transaction"))
		return (sb_x_count(sb_x_child(root, "lines"), "line") > SB_RULE_TRANSACTION_MAX_LINES);
	if (!sb_x_is(root, "transactions"))
		return (0);
	for (t = sb_x_first(root); t != NULL; t = sb_x_next(t))
		if (sb_x_count(sb_x_child(t, "lines"), "line") > SB_RULE_TRANSACTION_MAX_LINES)
			return (1);
	return (0);
}

void
sb_soap_processxml(struct sb_call *call)
{
	struct sb_server	*srv = call->srv;
	struct sb_soap		 s;
	struct sb_ctx		 ctx;
	xmlDocPtr		 payload = NULL, out;
	xmlNodePtr		 proot = NULL, result, body, resp;
	xmlNsPtr		 tns;
	const char		*xml = "";
	char			 cause[512], pcause[512] = "", *dump;
	int			 parsed, need_company, credits;

	if (evhttp_request_get_command(call->req) == EVHTTP_REQ_GET) {
		soap_get(call, 0);
		return;
	}
	if (evhttp_request_get_command(call->req) != EVHTTP_REQ_POST) {
		soap_other_method(call);
		return;
	}
	parsed = soap_parse(call, &s, cause, sizeof cause) == 0 &&
	    soap_op_ok(call, &s, "ProcessXmlString", cause, sizeof cause) == 0;
	if (parsed) {
		xml = sb_x_text(sb_x_child_ns(s.op, "xmlRequest", SB_NS_TWINFIELD));
		if ((payload = sb_x_parse(xml, strlen(xml), pcause, sizeof pcause)) != NULL) {
			proot = xmlDocGetRootElement(payload);
			sb_x_normalise(proot);
		}
	}
	sb_log_describe(call, proot != NULL ? (const char *)proot->name : NULL, s.company,
	    parsed ? xml : NULL, 0);
	credits = soap_cost(proot);
	if (soap_meter(call, credits, s.v12) == -1)
		goto out;
	sb_log_describe(call, NULL, NULL, NULL, credits);
	if (sb_http_inject_error(call, 1, "ProcessXmlString"))
		goto out;
	if (!parsed) {
		sb_soap_fault(call, 500, s.v12, "soap:Client", cause, "187", "ProcessXmlString");
		goto out;
	}
	need_company = !(proot != NULL && sb_x_is(proot, "list") &&
	    strcmp(sb_x_ctext(proot, "type"), "offices") == 0);
	if (soap_auth(call, &s, need_company, "ProcessXmlString") == -1)
		goto out;
	if (payload == NULL) {
		snprintf(cause, sizeof cause, "Invalid XML data: %s", pcause);
		sb_soap_fault(call, 500, s.v12, "soap:Client", cause, "187", "ProcessXmlString");
		goto out;
	}
	if (soap_too_many_lines(proot)) {
		snprintf(cause, sizeof cause, "A transaction may have at most %d lines.",
		    SB_RULE_TRANSACTION_MAX_LINES);
		sb_soap_fault(call, 400, s.v12, "soap:Client", cause, SB_RULE_TOO_MANY_LINES_CODE,
		    "ProcessXmlString");
		goto out;
	}

	out = soap_envelope_new(s.v12, &body, NULL);
	memset(&ctx, 0, sizeof ctx);
	ctx.store = srv->store;
	ctx.company = s.company;
	ctx.now = time(NULL);
	ctx.out = out;
	result = sb_process_document(&ctx, proot);
	dump = sb_x_dump(result);
	xmlFreeNode(result);
	resp = xmlNewChild(body, NULL, (const xmlChar *)"ProcessXmlStringResponse", NULL);
	tns = xmlNewNs(resp, (const xmlChar *)SB_NS_TWINFIELD, NULL);
	xmlSetNs(resp, tns);
	/* §3.2: the result document travels as text; libxml2 escapes it. */
	xmlNewTextChild(resp, tns, (const xmlChar *)"ProcessXmlStringResult", (const xmlChar *)dump);
	free(dump);
	soap_send(call, 200, out, s.v12);
out:
	xmlFreeDoc(payload);
	soap_free(&s);
}

void
sb_soap_finder(struct sb_call *call)
{
	struct sb_soap	 s;
	xmlDocPtr	 out;
	xmlNodePtr	 body;
	char		 cause[512], *dump;
	int		 parsed;

	if (evhttp_request_get_command(call->req) == EVHTTP_REQ_GET) {
		soap_get(call, 1);
		return;
	}
	if (evhttp_request_get_command(call->req) != EVHTTP_REQ_POST) {
		soap_other_method(call);
		return;
	}
	parsed = soap_parse(call, &s, cause, sizeof cause) == 0 &&
	    soap_op_ok(call, &s, "Search", cause, sizeof cause) == 0;
	if (parsed) {
		dump = sb_x_dump(s.op);
		sb_log_describe(call, "Search", s.company, dump, 0);
		free(dump);
	}
	/* §7.3: a SOAPAction starting with Search is a query. */
	if (soap_meter(call, parsed ? SB_RULE_CREDITS_QUERY : SB_RULE_CREDITS_WRITE, s.v12) == -1)
		goto out;
	sb_log_describe(call, NULL, NULL, NULL, parsed ? SB_RULE_CREDITS_QUERY : SB_RULE_CREDITS_WRITE);
	if (sb_http_inject_error(call, 1, "Search"))
		goto out;
	if (!parsed) {
		sb_soap_fault(call, 500, s.v12, "soap:Client", cause, "187", "Search");
		goto out;
	}
	if (soap_auth(call, &s, 0, "Search") == -1)
		goto out;
	out = soap_envelope_new(s.v12, &body, NULL);
	if (sb_finder_search(call->srv, &s, body, cause, sizeof cause) == -1) {
		xmlFreeDoc(out);
		sb_soap_fault(call, 500, s.v12, "soap:Client", cause, "187", "Search");
		goto out;
	}
	soap_send(call, 200, out, s.v12);
out:
	soap_free(&s);
}
