/*
 * Parsers of Twinfield answers (src/twinfield/tf-xml.c, tf-soap.c,
 * tf-result.c, tf-search.c) against fixtures in tests/data/twinfield/:
 * success, per-field errors with their element paths, a batch with mixed
 * results, SOAP faults, escaped and CDATA payloads, Finder answers, and
 * hostile XML (entity bombs, external entities, oversized, truncated,
 * deeply nested). Also the envelopes we send, read back with libxml2.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "check-main.h"
#include "kassaboek/tf-finder.h"
#include "kassaboek/tf-soap.h"
#include "check_tf_fixture.h"

#define MAX	(1024 * 1024)

/* Parses fixture name as a ProcessXml answer to request_root. */
static void
parse_result(const char *name, const char *request_root, struct tf_soap_env *env, xmlDoc **doc,
    struct tf_doc_result **res, size_t *n)
{
	struct kb_err	 err;
	char		*body;
	size_t		 len;

	body = tf_fixture(name, &len);
	ck_assert_msg(tf_soap_parse_envelope(body, len, MAX, env, &err) == 0, "%s: %s", name,
	    err.msg);
	ck_assert_int_eq(env->kind, TF_SOAP_PROCESSXML);
	ck_assert_msg(tf_result_parse(env->result, env->result_len, MAX, request_root, doc, res, n,
	    &err) == 0, "%s: %s", name, err.msg);
	free(body);
}

static void
check_dimension_ok(const char *fixture)
{
	struct tf_soap_env	 env;
	struct tf_doc_result	*res;
	xmlDoc			*doc;
	size_t			 n;
	char			*s;

	parse_result(fixture, "dimension", &env, &doc, &res, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(res[0].ok, 1);
	ck_assert_uint_eq(res[0].nmsgs, 0);
	ck_assert_ptr_null(res[0].summary);
	s = tf_xml_child_text(res[0].node, "name");
	ck_assert_str_eq(s, "Acme & Zonen BV");
	free(s);
	s = tf_xml_child_text(res[0].node, "code");
	ck_assert_str_eq(s, "1005");
	free(s);
	ck_assert_int_eq(tf_finder_dimension_has_email(res[0].node, " info@acme.EXAMPLE"), 1);
	ck_assert_int_eq(tf_finder_dimension_has_email(res[0].node, "info@acme.example.org"), 0);
	tf_doc_results_free(res, n);
	xmlFreeDoc(doc);
	tf_soap_env_clear(&env);
}

START_TEST(test_ok_escaped)
{
	check_dimension_ok("processxml-dimension-ok.xml");
}
END_TEST

START_TEST(test_ok_cdata)
{
	check_dimension_ok("processxml-dimension-ok-cdata.xml");
}
END_TEST

START_TEST(test_field_errors)
{
	struct tf_soap_env	 env;
	struct tf_doc_result	*res;
	xmlDoc			*doc;
	size_t			 n;

	parse_result("processxml-invoice-errors.xml", "salesinvoice", &env, &doc, &res, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(res[0].ok, 0);
	ck_assert_uint_eq(res[0].nmsgs, 4);
	ck_assert_str_eq(res[0].msgs[0].path, "salesinvoice/header/customer");
	ck_assert_str_eq(res[0].msgs[0].text, "De klantdimensie bestaat niet.");
	ck_assert_str_eq(res[0].msgs[1].path, "salesinvoice/header/duedate");
	ck_assert_str_eq(res[0].msgs[2].path, "salesinvoice/lines/line[@id='1']/article");
	ck_assert_str_eq(res[0].msgs[2].text,
	    "Artikelcode mag niet leeg zijn.//De artikelcode is niet gevonden.");
	ck_assert_str_eq(res[0].msgs[3].path, "salesinvoice/lines/line[@id='1']/vatcode");
	ck_assert_int_eq(res[0].msgs[3].warning, 0);
	ck_assert_ptr_nonnull(strstr(res[0].summary, "document 1 (salesinvoice 12015)"));
	ck_assert_ptr_nonnull(strstr(res[0].summary,
	    "salesinvoice/header/customer: De klantdimensie bestaat niet."));
	tf_doc_results_free(res, n);
	xmlFreeDoc(doc);
	tf_soap_env_clear(&env);
}
END_TEST

START_TEST(test_batch_mixed)
{
	struct tf_soap_env	 env;
	struct tf_doc_result	*res;
	xmlDoc			*doc;
	size_t			 n;
	char			*s;

	parse_result("processxml-batch-mixed.xml", "transactions", &env, &doc, &res, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(res[0].ok, 0);
	ck_assert_str_eq(res[0].msgs[0].path, "transaction");
	ck_assert_ptr_nonnull(strstr(res[0].summary, "document 1 (transaction VRK): transaction: "
	    "De boeking is niet in balans."));
	ck_assert_int_eq(res[1].ok, 1);
	s = tf_xml_child_text(tf_xml_child(res[1].node, "header"), "number");
	ck_assert_str_eq(s, "202400002");
	free(s);
	/* A warning on a stored document is kept, but the document is ok. */
	ck_assert_int_eq(res[2].ok, 1);
	ck_assert_uint_eq(res[2].nmsgs, 1);
	ck_assert_int_eq(res[2].msgs[0].warning, 1);
	ck_assert_str_eq(res[2].msgs[0].path, "transaction/header/date");
	tf_doc_results_free(res, n);
	xmlFreeDoc(doc);
	tf_soap_env_clear(&env);
}
END_TEST

START_TEST(test_not_found_and_list)
{
	struct tf_soap_env	 env;
	struct tf_doc_result	*res;
	xmlDoc			*doc;
	size_t			 n;

	parse_result("processxml-dimension-notfound.xml", "read", &env, &doc, &res, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(res[0].ok, 0);
	ck_assert_str_eq(res[0].msgs[0].path, "dimension/code");
	tf_doc_results_free(res, n);
	xmlFreeDoc(doc);
	tf_soap_env_clear(&env);
	/* A list answer is one document even though its root is plural. */
	parse_result("processxml-offices.xml", "list", &env, &doc, &res, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(res[0].ok, 1);
	ck_assert_uint_eq(xmlChildElementCount(res[0].node), 2);
	tf_doc_results_free(res, n);
	xmlFreeDoc(doc);
	tf_soap_env_clear(&env);
}
END_TEST

START_TEST(test_faults)
{
	struct tf_soap_env	 env;
	struct kb_err		 err;
	char			*body;
	size_t			 len;

	body = tf_fixture("fault-354.xml", &len);
	ck_assert_int_eq(tf_soap_parse_envelope(body, len, MAX, &env, &err), 0);
	ck_assert_int_eq(env.kind, TF_SOAP_FAULT);
	ck_assert_str_eq(env.fault->faultcode, "soap:Client");
	ck_assert_int_eq(env.fault->code, 354);
	ck_assert_str_eq(env.fault->message, "Access denied. Token invalid.");
	ck_assert_str_eq(env.fault->source, "ProcessXmlString");
	tf_soap_env_clear(&env);
	free(body);
	body = tf_fixture("fault-101.xml", &len);
	ck_assert_int_eq(tf_soap_parse_envelope(body, len, MAX, &env, &err), 0);
	ck_assert_int_eq(env.fault->code, 101);
	ck_assert_str_eq(env.fault->faultcode, "soap:Server");
	tf_soap_env_clear(&env);
	free(body);
}
END_TEST

START_TEST(test_search)
{
	struct tf_soap_env	 env;
	struct tf_finder_result	*f;
	struct kb_err		 err;
	char			*body;
	size_t			 len;

	body = tf_fixture("search-ok.xml", &len);
	ck_assert_int_eq(tf_soap_parse_envelope(body, len, MAX, &env, &err), 0);
	ck_assert_int_eq(env.kind, TF_SOAP_SEARCH);
	f = tf_finder_result_parse(env.response, &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->total_rows, 2);
	ck_assert_uint_eq(f->ncolumns, 2);
	ck_assert_str_eq(f->columns[1], "Naam");
	ck_assert_uint_eq(f->nrows, 2);
	ck_assert_str_eq(f->rows[0][0], "1000");
	ck_assert_str_eq(f->rows[0][1], "Customer A & Co");
	ck_assert_str_eq(f->rows[1][0], "1001");
	ck_assert_uint_eq(f->nmsgs, 0);
	tf_finder_result_free(f);
	tf_soap_env_clear(&env);
	free(body);

	body = tf_fixture("search-empty.xml", &len);
	ck_assert_int_eq(tf_soap_parse_envelope(body, len, MAX, &env, &err), 0);
	f = tf_finder_result_parse(env.response, &err);
	ck_assert_int_eq(f->total_rows, 0);
	ck_assert_uint_eq(f->nrows, 0);
	tf_finder_result_free(f);
	tf_soap_env_clear(&env);
	free(body);

	body = tf_fixture("search-error.xml", &len);
	ck_assert_int_eq(tf_soap_parse_envelope(body, len, MAX, &env, &err), 0);
	f = tf_finder_result_parse(env.response, &err);
	ck_assert_uint_eq(f->nmsgs, 1);
	ck_assert_str_eq(f->msgs[0].code, "OptionNotAllowed");
	ck_assert_str_eq(f->msgs[0].type, "Error");
	tf_finder_result_free(f);
	tf_soap_env_clear(&env);
	free(body);
}
END_TEST

/* The fixture must be refused with a message containing want, quickly. */
static void
assert_refused(const char *fixture, const char *want)
{
	struct tf_soap_env	 env;
	struct kb_err		 err;
	char			*body;
	size_t			 len;
	time_t			 t0 = time(NULL);

	body = tf_fixture(fixture, &len);
	ck_assert_int_eq(tf_soap_parse_envelope(body, len, MAX, &env, &err), -1);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s: '%s' lacks '%s'", fixture, err.msg,
	    want);
	ck_assert_ptr_null(env.doc);
	ck_assert_int_le(time(NULL) - t0, 2);
	free(body);
}

START_TEST(test_hostile_envelopes)
{
	assert_refused("hostile-billion-laughs.xml", "DOCTYPE");
	assert_refused("hostile-xxe.xml", "DOCTYPE");
	assert_refused("hostile-undeclared-entity.xml", "malformed XML");
	assert_refused("hostile-truncated.xml", "malformed XML");
}
END_TEST

START_TEST(test_hostile_result)
{
	struct tf_soap_env	 env;
	struct tf_doc_result	*res;
	struct kb_err		 err;
	xmlDoc			*doc;
	char			*body;
	size_t			 len, n;

	/* A harmless envelope whose escaped result carries a DOCTYPE bomb. */
	body = tf_fixture("hostile-result-doctype.xml", &len);
	ck_assert_int_eq(tf_soap_parse_envelope(body, len, MAX, &env, &err), 0);
	ck_assert_int_eq(tf_result_parse(env.result, env.result_len, MAX, "dimension", &doc, &res,
	    &n, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "DOCTYPE"));
	ck_assert_ptr_null(doc);
	tf_soap_env_clear(&env);
	free(body);
}
END_TEST

START_TEST(test_oversized_and_deep)
{
	struct kb_err	 err;
	char		*body, *big;
	size_t		 len, i;
	xmlDoc		*doc;

	body = tf_fixture("processxml-dimension-ok.xml", &len);
	ck_assert_ptr_null(tf_xml_parse(body, len, len - 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "limit"));
	doc = tf_xml_parse(body, len, len, &err);
	ck_assert_ptr_nonnull(doc);
	xmlFreeDoc(doc);
	free(body);
	ck_assert_ptr_null(tf_xml_parse("", 0, MAX, &err));
	/* 100000 nested elements: libxml2's depth limit stops it. */
	big = malloc(300000 + 1);
	for (i = 0; i < 100000; i++)
		memcpy(big + 3 * i, "<a>", 3);
	big[300000] = '\0';
	ck_assert_ptr_null(tf_xml_parse(big, 300000, MAX, &err));
	free(big);
}
END_TEST

START_TEST(test_envelope_processxml)
{
	const char	*payload = "<read><type>dimensions</type><code>A&B]]>\"x\"</code></read>";
	struct kb_err	 err;
	xmlDoc		*doc;
	xmlNode		*root, *body, *op, *req, *hdr;
	xmlChar		*c;
	char		*env;
	size_t		 len;

	env = tf_soap_processxml_build("tok<en>", "001", payload, &len);
	ck_assert_uint_eq(len, strlen(env));
	/* The payload travels as escaped text, never as markup or CDATA. */
	ck_assert_ptr_nonnull(strstr(env, "&lt;read&gt;&lt;type&gt;dimensions"));
	ck_assert_ptr_null(strstr(env, "CDATA"));
	doc = tf_xml_parse(env, len, MAX, &err);
	ck_assert_ptr_nonnull(doc);
	root = xmlDocGetRootElement(doc);
	ck_assert_str_eq((const char *)root->ns->href, TF_SOAP_NS);
	hdr = tf_xml_child(tf_xml_child(root, "Header"), "Header");
	ck_assert_str_eq((const char *)hdr->ns->href, TF_NS);
	c = xmlNodeGetContent(tf_xml_child(hdr, "AccessToken"));
	ck_assert_str_eq((const char *)c, "tok<en>");
	xmlFree(c);
	c = xmlNodeGetContent(tf_xml_child(hdr, "CompanyCode"));
	ck_assert_str_eq((const char *)c, "001");
	xmlFree(c);
	body = tf_xml_child(root, "Body");
	op = tf_xml_child(body, "ProcessXmlString");
	ck_assert_str_eq((const char *)op->ns->href, TF_NS);
	req = tf_xml_child(op, "xmlRequest");
	ck_assert_str_eq((const char *)req->ns->href, TF_NS);
	c = xmlNodeGetContent(req);
	ck_assert_str_eq((const char *)c, payload);
	xmlFree(c);
	xmlFreeDoc(doc);
	free(env);
	/* No company: no CompanyCode element (offices list). */
	env = tf_soap_processxml_build("t", NULL, "<list><type>offices</type></list>", &len);
	ck_assert_ptr_null(strstr(env, "CompanyCode"));
	free(env);
}
END_TEST

START_TEST(test_envelope_search)
{
	const char		*opts[] = { "dimtype", "DEB", "office", "0&1" };
	struct tf_search	 s;
	struct kb_err		 err;
	xmlDoc			*doc;
	xmlNode			*op, *o, *pair;
	char			*env, *v;
	size_t			 len;

	memset(&s, 0, sizeof s);
	s.type = "DIM";
	s.pattern = "a*b@example.com";
	s.field = 4;
	s.options = opts;
	s.noptions = 2;
	env = tf_soap_search_build("t", "001", &s, &len);
	doc = tf_xml_parse(env, len, MAX, &err);
	ck_assert_ptr_nonnull(doc);
	op = tf_xml_child(tf_xml_child(xmlDocGetRootElement(doc), "Body"), "Search");
	ck_assert_ptr_nonnull(op);
	v = tf_xml_child_text(op, "pattern");
	ck_assert_str_eq(v, "a*b@example.com");
	free(v);
	v = tf_xml_child_text(op, "field");
	ck_assert_str_eq(v, "4");
	free(v);
	v = tf_xml_child_text(op, "firstRow");
	ck_assert_str_eq(v, "1");
	free(v);
	v = tf_xml_child_text(op, "maxRows");
	ck_assert_str_eq(v, "25");
	free(v);
	o = tf_xml_child(op, "options");
	ck_assert_uint_eq(xmlChildElementCount(o), 2);
	pair = xmlLastElementChild(o);
	v = tf_xml_child_text(pair, "string");
	ck_assert_str_eq(v, "office");
	free(v);
	ck_assert_ptr_nonnull(strstr(env, "<string>0&amp;1</string>"));
	xmlFreeDoc(doc);
	free(env);
}
END_TEST

START_TEST(test_wrong_envelopes)
{
	struct tf_soap_env	 env;
	struct kb_err		 err;
	const char		*notsoap = "<html><body>502 Bad Gateway</body></html>";
	const char		*nobody = "<soap:Envelope xmlns:soap=\"" TF_SOAP_NS "\"/>";
	const char		*other = "<soap:Envelope xmlns:soap=\"" TF_SOAP_NS "\"><soap:Body>"
	    "<Foo xmlns=\"" TF_NS "\"/></soap:Body></soap:Envelope>";

	ck_assert_int_eq(tf_soap_parse_envelope(notsoap, strlen(notsoap), MAX, &env, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a SOAP 1.1 envelope"));
	ck_assert_int_eq(tf_soap_parse_envelope(nobody, strlen(nobody), MAX, &env, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "Body"));
	ck_assert_int_eq(tf_soap_parse_envelope(other, strlen(other), MAX, &env, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "Foo"));
}
END_TEST

static Suite *
parse_suite(void)
{
	Suite	*s = suite_create("tf_parse");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_ok_escaped);
	tcase_add_test(tc, test_ok_cdata);
	tcase_add_test(tc, test_field_errors);
	tcase_add_test(tc, test_batch_mixed);
	tcase_add_test(tc, test_not_found_and_list);
	tcase_add_test(tc, test_faults);
	tcase_add_test(tc, test_search);
	tcase_add_test(tc, test_hostile_envelopes);
	tcase_add_test(tc, test_hostile_result);
	tcase_add_test(tc, test_oversized_and_deep);
	tcase_add_test(tc, test_envelope_processxml);
	tcase_add_test(tc, test_envelope_search);
	tcase_add_test(tc, test_wrong_envelopes);
	suite_add_tcase(s, tc);
	return (s);
}

KB_CHECK_MAIN(parse_suite)
