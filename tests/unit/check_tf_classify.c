/*
 * Classification (src/twinfield/tf-classify.c, src/http-client/httpc.c): credits per
 * request as reference §7.3 says (root element / SOAPAction), transient vs
 * permanent error kinds, and Retry-After parsing (seconds or HTTP date).
 */
#include "config.h"

#include <string.h>

#include <check.h>

#include "check-main.h"
#include "kassaboek/tf.h"
#include "tf-internal.h"

START_TEST(test_credit_roots)
{
	static const char *const reads[] = { "list", "read", "columns", "accountcode",
	    "accountcodes" };
	static const char *const writes[] = { "dimension", "dimensions", "salesinvoice",
	    "salesinvoices", "transaction", "transactions", "article", "articles", "vat",
	    "general", "Read", "readx" };
	size_t	i;

	for (i = 0; i < sizeof reads / sizeof reads[0]; i++)
		ck_assert_msg(tf_credit_cost("ProcessXmlString", reads[i]) == 1, "%s", reads[i]);
	for (i = 0; i < sizeof writes / sizeof writes[0]; i++)
		ck_assert_msg(tf_credit_cost("ProcessXmlString", writes[i]) == 3, "%s", writes[i]);
}
END_TEST

START_TEST(test_credit_actions)
{
	ck_assert_uint_eq(tf_credit_cost("http://www.twinfield.com/Search", NULL), 1);
	ck_assert_uint_eq(tf_credit_cost("Search", NULL), 1);
	ck_assert_uint_eq(tf_credit_cost("GetPeriods", NULL), 1);
	ck_assert_uint_eq(tf_credit_cost("http://www.twinfield.com/Query", NULL), 1);
	ck_assert_uint_eq(tf_credit_cost("LoadSomething", NULL), 1);
	/* ProcessXmlString itself is not a query action: the root decides. */
	ck_assert_uint_eq(tf_credit_cost("http://www.twinfield.com/ProcessXmlString", "read"), 1);
	ck_assert_uint_eq(tf_credit_cost("http://www.twinfield.com/ProcessXmlString",
	    "salesinvoices"), 3);
	ck_assert_uint_eq(tf_credit_cost("SelectCompany", NULL), 3);
}
END_TEST

START_TEST(test_transient)
{
	ck_assert_int_eq(tf_err_transient(TF_ERR_NETWORK), 1);
	ck_assert_int_eq(tf_err_transient(TF_ERR_TIMEOUT), 1);
	ck_assert_int_eq(tf_err_transient(TF_ERR_SERVER), 1);
	ck_assert_int_eq(tf_err_transient(TF_ERR_RATE_LIMIT), 1);
	ck_assert_int_eq(tf_err_transient(TF_ERR_TOKEN), 1);
	ck_assert_int_eq(tf_err_transient(TF_ERR_REDIS), 1);
	ck_assert_int_eq(tf_err_transient(TF_ERR_BUSINESS), 0);
	ck_assert_int_eq(tf_err_transient(TF_ERR_BAD_REQUEST), 0);
	ck_assert_int_eq(tf_err_transient(TF_ERR_FORBIDDEN), 0);
	ck_assert_int_eq(tf_err_transient(TF_ERR_AUTH), 0);
	ck_assert_int_eq(tf_err_transient(TF_OK), 0);
	ck_assert_str_eq(tf_err_kind_name(TF_ERR_RATE_LIMIT), "rate_limit");
	ck_assert_str_eq(tf_err_kind_name(TF_ERR_BUSINESS), "business");
}
END_TEST

START_TEST(test_classify_http)
{
	int	refresh;

	ck_assert_int_eq(tf_classify_http(200, -1, &refresh), TF_OK);
	ck_assert_int_eq(refresh, 0);
	/* Expired token, by status or by fault code: refresh and retry once. */
	ck_assert_int_eq(tf_classify_http(401, -1, &refresh), TF_ERR_TOKEN);
	ck_assert_int_eq(refresh, 1);
	ck_assert_int_eq(tf_classify_http(500, 103, &refresh), TF_ERR_TOKEN);
	ck_assert_int_eq(refresh, 1);
	ck_assert_int_eq(tf_classify_http(200, 354, &refresh), TF_ERR_TOKEN);
	ck_assert_int_eq(refresh, 1);
	/* 403 is permanent, never a refresh. */
	ck_assert_int_eq(tf_classify_http(403, 104, &refresh), TF_ERR_FORBIDDEN);
	ck_assert_int_eq(refresh, 0);
	ck_assert_int_eq(tf_err_transient(tf_classify_http(403, -1, &refresh)), 0);
	ck_assert_int_eq(tf_classify_http(400, -1, &refresh), TF_ERR_BAD_REQUEST);
	ck_assert_int_eq(tf_classify_http(404, -1, &refresh), TF_ERR_BAD_REQUEST);
	ck_assert_int_eq(tf_classify_http(429, -1, &refresh), TF_ERR_RATE_LIMIT);
	ck_assert_int_eq(tf_classify_http(500, 100, &refresh), TF_ERR_SERVER);
	ck_assert_int_eq(tf_classify_http(503, -1, &refresh), TF_ERR_SERVER);
	ck_assert_int_eq(tf_err_transient(tf_classify_http(502, -1, &refresh)), 1);
	/* A fault inside a 200 is still a server-side failure. */
	ck_assert_int_eq(tf_classify_http(200, 0, &refresh), TF_ERR_SERVER);
	ck_assert_int_eq(tf_classify_http(302, -1, &refresh), TF_ERR_PROTOCOL);
}
END_TEST

START_TEST(test_retry_after)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	uint64_t	now = 784111777ULL * 1000;

	ck_assert_int_eq(httpc_retry_after("3", now), 3000);
	ck_assert_int_eq(httpc_retry_after(" 0 \r", now), 0);
	ck_assert_int_eq(httpc_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000);
	ck_assert_int_eq(httpc_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", now), 0);
	ck_assert_int_eq(httpc_retry_after("soon", now), -1);
	ck_assert_int_eq(httpc_retry_after("5x", now), -1);
	/* Absurd waits are capped at 15 minutes. */
	ck_assert_int_eq(httpc_retry_after("99999999", now), 15L * 60 * 1000);
}
END_TEST

static Suite *
classify_suite(void)
{
	Suite	*s = suite_create("tf_classify");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_credit_roots);
	tcase_add_test(tc, test_credit_actions);
	tcase_add_test(tc, test_transient);
	tcase_add_test(tc, test_classify_http);
	tcase_add_test(tc, test_retry_after);
	suite_add_tcase(s, tc);
	return (s);
}

KB_CHECK_MAIN(classify_suite)
