/*
 * Builders of the Twinfield documents (src/twinfield/tf-build*.c): the exact
 * XML for each kind against fixtures in tests/data/twinfield/build-*.xml,
 * escaping done by libxml2, batches, and the refusals (missing fields,
 * unbalanced transactions).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libxml/tree.h>

#include "check-main.h"
#include "kassaboek/tf-doc.h"
#include "kassaboek/tf-soap.h"
#include "check_tf_fixture.h"

static char *
dump(xmlDoc *doc)
{
	return (tf_xml_dump(doc, NULL));
}

static void
assert_fixture(xmlDoc *doc, const char *name)
{
	char	*got, *want;

	got = dump(doc);
	want = tf_fixture(name, NULL);
	ck_assert_msg(strcmp(got, want) == 0, "%s differs:\n got: %s\nwant: %s", name, got, want);
	free(got);
	free(want);
}

static const struct tf_address customer_addr[] = {
	{ .type = "invoice", .is_default = 1, .name = "Acme & Zonen <BV>", .contact = "Jan de Vries",
	  .country = "NL", .city = "Utrecht", .postcode = "3511 AA", .telephone = "030-1234567",
	  .email = "info@acme.example", .field = { NULL, "Mainstreet 1", NULL, "NL001234567B01" } },
};

START_TEST(test_customer)
{
	struct tf_dimension	 d;
	struct kb_err		 err;
	xmlDoc			*doc;

	memset(&d, 0, sizeof d);
	d.office = "001";
	d.type = "DEB";
	d.code = "1005";
	d.name = "Acme & Zonen <BV>";
	d.shortname = "ACME";
	d.financials.has_duedays = 1;
	d.financials.duedays = 14;
	d.financials.payavailable = TF_FALSE;
	d.financials.meansofpayment = "none";
	d.financials.vatcode = "VH";
	d.sendreminder = "email";
	d.reminderemail = "ap@acme.example";
	d.addresses = customer_addr;
	d.naddresses = 1;
	doc = tf_build_doc_new();
	ck_assert_ptr_nonnull(tf_build_dimension(doc, NULL, &d, &err));
	assert_fixture(doc, "build-customer.xml");
	xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_kpl_prj_batch)
{
	struct tf_dimension	 kpl, prj;
	struct tf_project	 p;
	struct kb_err		 err;
	xmlDoc			*doc;
	xmlNode			*batch;

	memset(&kpl, 0, sizeof kpl);
	kpl.office = "001";
	kpl.type = "KPL";
	kpl.code = "CC01";
	kpl.name = "Utrecht branch";
	kpl.status = "active";
	memset(&p, 0, sizeof p);
	p.invoicedescription = "Website rebuild 2024";
	p.validfrom = "20240101";
	p.customer = "1005";
	p.billable = TF_TRUE;
	memset(&prj, 0, sizeof prj);
	prj.office = "001";
	prj.type = "PRJ";
	prj.code = "P0001";
	prj.name = "Website rebuild";
	prj.financials.vatcode = "VH";
	prj.project = &p;
	doc = tf_build_doc_new();
	batch = tf_build_batch_root(doc, "dimension");
	ck_assert_ptr_nonnull(batch);
	ck_assert_ptr_nonnull(tf_build_dimension(doc, batch, &kpl, &err));
	ck_assert_ptr_nonnull(tf_build_dimension(doc, batch, &prj, &err));
	ck_assert_uint_eq(tf_build_batch_count(batch), 2);
	assert_fixture(doc, "build-kpl-prj-batch.xml");
	/* Project data on a cost centre is refused, and nothing is added. */
	kpl.project = &p;
	ck_assert_ptr_null(tf_build_dimension(doc, batch, &kpl, &err));
	ck_assert_uint_eq(tf_build_batch_count(batch), 2);
	xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_dimension_required)
{
	struct tf_dimension	 d;
	struct kb_err		 err;
	xmlDoc			*doc;

	memset(&d, 0, sizeof d);
	d.office = "001";
	d.type = "DEB";
	doc = tf_build_doc_new();
	ck_assert_ptr_null(tf_build_dimension(doc, NULL, &d, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "name"));
	ck_assert_ptr_null(xmlDocGetRootElement(doc));
	xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_article)
{
	struct tf_subarticle	 sub[2];
	struct tf_article	 a;
	struct kb_err		 err;
	xmlDoc			*doc;

	memset(sub, 0, sizeof sub);
	sub[0].subcode = "S";
	sub[0].name = "T-shirt S";
	sub[0].units = "1";
	sub[0].unitspriceexcl = TF_AMOUNT(1000);
	sub[0].freetext1 = "8020";
	sub[1].subcode = "M";
	sub[1].name = "T-shirt M";
	sub[1].unitspriceinc = TF_AMOUNT(1210);
	memset(&a, 0, sizeof a);
	a.office = "001";
	a.code = "1001";
	a.name = "T-shirt";
	a.vatcode = "VH";
	a.allowchangevatcode = TF_FALSE;
	a.allowdiscountorpremium = TF_TRUE;
	a.lines = sub;
	a.nlines = 2;
	doc = tf_build_doc_new();
	ck_assert_ptr_nonnull(tf_build_article(doc, NULL, &a, &err));
	assert_fixture(doc, "build-article.xml");
	xmlFreeDoc(doc);
	/* Several sub-articles, one without subcode: refused. */
	sub[1].subcode = NULL;
	doc = tf_build_doc_new();
	ck_assert_ptr_null(tf_build_article(doc, NULL, &a, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "subcode"));
	xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_invoice)
{
	struct tf_invoice_line	 l[2];
	struct tf_invoice	 inv;
	struct kb_err		 err;
	xmlDoc			*doc;
	xmlNode			*batch;

	memset(l, 0, sizeof l);
	l[0].quantity = "2";
	l[0].article = "1001";
	l[0].subarticle = "M";
	l[0].description = "T-shirt \"M\" <blue>";
	l[0].unitspriceexcl = TF_AMOUNT(1000);
	l[0].vatcode = "VH";
	l[0].dim1 = "8020";
	l[0].dim2 = "CC01";
	l[0].dim3 = "P0001";
	l[0].freetext1 = "order 77";
	l[1].quantity = "1";
	l[1].article = "9000";
	l[1].description = "Shipping";
	l[1].unitspriceexcl = TF_AMOUNT(495);
	l[1].vatcode = "VH";
	memset(&inv, 0, sizeof inv);
	inv.office = "001";
	inv.invoicetype = "FACTUUR";
	inv.customer = "1005";
	inv.status = "concept";
	inv.currency = "EUR";
	inv.invoicedate = "20240115";
	inv.paymentmethod = "bank";
	inv.headertext = "Thank you for your order & welcome";
	inv.footertext = "Payment within 14 days";
	inv.raisewarning = TF_FALSE;
	inv.lines = l;
	inv.nlines = 2;
	doc = tf_build_doc_new();
	batch = tf_build_batch_root(doc, "salesinvoice");
	ck_assert_ptr_nonnull(tf_build_invoice(doc, batch, &inv, &err));
	assert_fixture(doc, "build-invoice.xml");
	xmlFreeDoc(doc);

	inv.customer = NULL;
	doc = tf_build_doc_new();
	ck_assert_ptr_null(tf_build_invoice(doc, NULL, &inv, &err));
	inv.customer = "1005";
	l[1].article = NULL;
	ck_assert_ptr_null(tf_build_invoice(doc, NULL, &inv, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "line 2"));
	xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_transaction)
{
	struct tf_txn_line	 l[3];
	struct tf_transaction	 t;
	struct kb_err		 err;
	xmlDoc			*doc;

	memset(l, 0, sizeof l);
	l[0].type = TF_LINE_TOTAL;
	l[0].dim1 = "1300";
	l[0].dim2 = "1005";
	l[0].value = 12100;
	l[1].type = TF_LINE_DETAIL;
	l[1].dim1 = "8020";
	l[1].dim2 = "CC01";
	l[1].dim3 = "P0001";
	l[1].credit = 1;
	l[1].value = 10000;
	l[1].vatcode = "VH";
	l[1].description = "Consultancy";
	l[2].type = TF_LINE_VAT;
	l[2].dim1 = "1530";
	l[2].credit = 1;
	l[2].value = 2100;
	l[2].vatcode = "VH";
	l[2].vatturnover = TF_AMOUNT(10000);
	memset(&t, 0, sizeof t);
	t.office = "001";
	t.code = "VRK";
	t.destiny = "final";
	t.currency = "EUR";
	t.date = "20240115";
	t.invoicenumber = "2024-0042";
	t.lines = l;
	t.nlines = 3;
	doc = tf_build_doc_new();
	ck_assert_ptr_nonnull(tf_build_transaction(doc, NULL, &t, &err));
	assert_fixture(doc, "build-transaction.xml");
	xmlFreeDoc(doc);

	/* One cent off: refused with both sums in the message. */
	l[2].value = 2101;
	doc = tf_build_doc_new();
	ck_assert_ptr_null(tf_build_transaction(doc, NULL, &t, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "not balanced: debit 121.00, credit 121.01"));
	/* Without VAT lines Twinfield computes them: the total may exceed the details. */
	t.nlines = 2;
	ck_assert_ptr_nonnull(tf_build_transaction(doc, NULL, &t, &err));
	xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_reads)
{
	xmlDoc	*doc;
	char	*s;

	doc = tf_build_read_dimension("001", "DEB", "10&05");
	s = dump(doc);
	ck_assert_str_eq(s, "<read><type>dimensions</type><office>001</office><dimtype>DEB</dimtype>"
	    "<code>10&amp;05</code></read>");
	free(s);
	xmlFreeDoc(doc);
	doc = tf_build_list_offices();
	s = dump(doc);
	ck_assert_str_eq(s, "<list><type>offices</type></list>");
	free(s);
	xmlFreeDoc(doc);
	doc = tf_build_read_vat("001", "VH");
	s = dump(doc);
	ck_assert_str_eq(s, "<read><type>vat</type><office>001</office><code>VH</code></read>");
	free(s);
	xmlFreeDoc(doc);
	doc = tf_build_read_article("001", "1001");
	s = dump(doc);
	ck_assert_str_eq(s, "<read><type>article</type><office>001</office><code>1001</code></read>");
	free(s);
	xmlFreeDoc(doc);
	doc = tf_build_read_invoice("001", "FACTUUR", "95");
	s = dump(doc);
	ck_assert_str_eq(s, "<read><type>salesinvoice</type><office>001</office><code>FACTUUR</code>"
	    "<invoicenumber>95</invoicenumber></read>");
	free(s);
	xmlFreeDoc(doc);
	doc = tf_build_list_dimensions("001", "KPL");
	s = dump(doc);
	ck_assert_str_eq(s, "<list><type>dimensions</type><office>001</office><dimtype>KPL</dimtype>"
	    "</list>");
	free(s);
	xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_amount_format)
{
	char	buf[32];

	tf_amount_format(0, buf, sizeof buf);
	ck_assert_str_eq(buf, "0.00");
	tf_amount_format(-5, buf, sizeof buf);
	ck_assert_str_eq(buf, "-0.05");
	tf_amount_format(123456, buf, sizeof buf);
	ck_assert_str_eq(buf, "1234.56");
	tf_amount_format(INT64_MIN, buf, sizeof buf);
	ck_assert_str_eq(buf, "-92233720368547758.08");
}
END_TEST

START_TEST(test_batch_roots)
{
	xmlDoc	*doc;

	doc = tf_build_doc_new();
	ck_assert_ptr_null(tf_build_batch_root(doc, "read"));
	ck_assert_ptr_nonnull(tf_build_batch_root(doc, "transaction"));
	ck_assert_str_eq((const char *)xmlDocGetRootElement(doc)->name, "transactions");
	xmlFreeDoc(doc);
}
END_TEST

static Suite *
build_suite(void)
{
	Suite	*s = suite_create("tf_build");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_customer);
	tcase_add_test(tc, test_kpl_prj_batch);
	tcase_add_test(tc, test_dimension_required);
	tcase_add_test(tc, test_article);
	tcase_add_test(tc, test_invoice);
	tcase_add_test(tc, test_transaction);
	tcase_add_test(tc, test_reads);
	tcase_add_test(tc, test_amount_format);
	tcase_add_test(tc, test_batch_roots);
	suite_add_tcase(s, tc);
	return (s);
}

KB_CHECK_MAIN(build_suite)
