/* Webhook signature verification: spec vector, rotation, versions, tolerance, other schemes. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/verify.h"
#include "check-main.h"

/* The Standard Webhooks specification's own example. */
#define SPEC_SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID		"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS		"1614265330"
#define SPEC_BODY	"{\"test\": 2432232314}"
#define SPEC_SIG	"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define OTHER_SECRET	"whsec_c2VjcmV0LW51bWJlci10d28tZm9yLXJvdGF0aW9u"
#define TOL_MS		(5 * 60 * 1000)
/* python3: hmac.new(b"shhh", b"{}", hashlib.sha256) */
#define HMAC_HEX_SHHH "903716760cff32c17977d9875957a07e73bbe8df49a948aeeb979fdc075b9d36"
#define HMAC_B64_SHHH "kDcWdgz/MsF5d9mHWVegfnO76N9JqUiu65ef3AdbnTY="

static struct kb_verify *
standard(const char *secrets)
{
	struct kb_err		 err;
	struct kb_verify	*v;

	v = kb_verify_new(KB_SIG_STANDARD, secrets, "base64", TOL_MS, &err);
	ck_assert_msg(v != NULL, "kb_verify_new: %s", err.msg);
	return (v);
}

static struct kb_verify_request
spec_request(const char *sig)
{
	struct kb_verify_request	r;

	memset(&r, 0, sizeof r);
	r.webhook_id = SPEC_ID;
	r.webhook_timestamp = SPEC_TS;
	r.webhook_signature = sig;
	r.body = (const unsigned char *)SPEC_BODY;
	r.body_len = strlen(SPEC_BODY);
	return (r);
}

START_TEST(test_spec_vector)
{
	struct kb_verify		*v = standard(SPEC_SECRET);
	struct kb_verify_request	 r = spec_request(SPEC_SIG);
	struct kb_err			 err;

	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), 0);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_sign_matches_spec)
{
	unsigned char	key[64];
	size_t		keylen = sizeof key;
	char		out[80];
	struct kb_err	err;

	ck_assert_int_eq(kb_verify_decode_secret(SPEC_SECRET, key, &keylen, &err), 0);
	ck_assert_int_eq(kb_verify_sign_standard(key, keylen, SPEC_ID, SPEC_TS,
	    (const unsigned char *)SPEC_BODY, strlen(SPEC_BODY), out, sizeof out), 0);
	ck_assert_str_eq(out, SPEC_SIG);
}
END_TEST

START_TEST(test_body_tampered)
{
	struct kb_verify		*v = standard(SPEC_SECRET);
	struct kb_verify_request	 r = spec_request(SPEC_SIG);
	struct kb_err			 err;

	r.body = (const unsigned char *)"{\"test\": 2432232315}";
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	r = spec_request(SPEC_SIG);
	r.webhook_id = "msg_other";
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_rotation_list)
{
	struct kb_verify		*v;
	struct kb_verify_request	 r = spec_request(SPEC_SIG);
	struct kb_err			 err;

	/* The old secret second in the list still verifies... */
	v = standard(OTHER_SECRET " " SPEC_SECRET);
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), 0);
	kb_verify_free(v);
	/* ...and commas separate too. */
	v = standard(OTHER_SECRET "," SPEC_SECRET);
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), 0);
	kb_verify_free(v);
	/* Without it, no. */
	v = standard(OTHER_SECRET);
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_multiple_signatures_in_header)
{
	struct kb_verify		*v = standard(SPEC_SECRET);
	struct kb_verify_request	 r;
	struct kb_err			 err;

	r = spec_request("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SPEC_SIG);
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), 0);
	r = spec_request("v1a,whatever-ed25519 " SPEC_SIG);
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), 0);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_wrong_version_prefix)
{
	struct kb_verify		*v = standard(SPEC_SECRET);
	struct kb_verify_request	 r;
	struct kb_err			 err;

	r = spec_request("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	r = spec_request("v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	r = spec_request("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	r = spec_request("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE");	/* truncated */
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_tolerance_edges)
{
	struct kb_verify		*v = standard(SPEC_SECRET);
	struct kb_verify_request	 r = spec_request(SPEC_SIG);
	struct kb_err			 err;
	time_t				 ts = 1614265330;

	ck_assert_int_eq(kb_verify_check(v, &r, ts + 300, &err), 0);	/* exactly 5 min old */
	ck_assert_int_eq(kb_verify_check(v, &r, ts + 301, &err), -1);
	ck_assert_str_eq(err.msg, "webhook-timestamp is too old");
	ck_assert_int_eq(kb_verify_check(v, &r, ts - 300, &err), 0);	/* 5 min in the future */
	ck_assert_int_eq(kb_verify_check(v, &r, ts - 301, &err), -1);
	ck_assert_str_eq(err.msg, "webhook-timestamp is in the future");
	r.webhook_timestamp = "1614265330.5";
	ck_assert_int_eq(kb_verify_check(v, &r, ts, &err), -1);
	r.webhook_timestamp = "-1";
	ck_assert_int_eq(kb_verify_check(v, &r, ts, &err), -1);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_missing_headers)
{
	struct kb_verify		*v = standard(SPEC_SECRET);
	struct kb_verify_request	 r = spec_request(NULL);
	struct kb_err			 err;

	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	r = spec_request(SPEC_SIG);
	r.webhook_id = NULL;
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	r = spec_request(SPEC_SIG);
	r.webhook_timestamp = NULL;
	ck_assert_int_eq(kb_verify_check(v, &r, 1614265330, &err), -1);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_bad_secrets_rejected)
{
	struct kb_err	err;

	ck_assert_ptr_null(kb_verify_new(KB_SIG_STANDARD, "whsec_not*base64!", NULL, TOL_MS, &err));
	ck_assert_ptr_null(kb_verify_new(KB_SIG_STANDARD, "whsec_abc", NULL, TOL_MS, &err));
	ck_assert_ptr_null(kb_verify_new(KB_SIG_STANDARD, "", NULL, TOL_MS, &err));
	ck_assert_ptr_null(kb_verify_new(KB_SIG_HMAC, "  ", NULL, TOL_MS, &err));
}
END_TEST

START_TEST(test_hmac_scheme)
{
	struct kb_verify		*v;
	struct kb_verify_request	 r;
	struct kb_err			 err;

	const char *hex = "b5a8dd2c7c4e4e5a7bc3f4edc8e9b7d7c2f8f8cfc6bd1a3a2b8f1d6a1c2e3f40";

	memset(&r, 0, sizeof r);
	r.body = (const unsigned char *)"{}";
	r.body_len = 2;
	v = kb_verify_new(KB_SIG_HMAC, "shhh", "hex", TOL_MS, &err);
	ck_assert_ptr_nonnull(v);
	r.hmac_signature = hex;
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), -1);	/* made-up digest */
	r.hmac_signature = NULL;
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), -1);
	r.hmac_signature = "sha256=1e4a3cb54d1a0d3b0da1d5fe3b4e7d0d9fc3e8ecf0b2a1e0b09fb8aab6dc3eb2";
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), -1);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_hmac_scheme_real_digest)
{
	struct kb_verify		*v;
	struct kb_verify_request	 r;
	struct kb_err			 err;

	memset(&r, 0, sizeof r);
	r.body = (const unsigned char *)"{}";
	r.body_len = 2;
	v = kb_verify_new(KB_SIG_HMAC, "shhh", "hex", TOL_MS, &err);
	r.hmac_signature = HMAC_HEX_SHHH;
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), 0);
	kb_verify_free(v);
	v = kb_verify_new(KB_SIG_HMAC, "shhh", "base64", TOL_MS, &err);
	r.hmac_signature = HMAC_B64_SHHH;
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), 0);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_token_scheme)
{
	struct kb_verify		*v;
	struct kb_verify_request	 r;
	struct kb_err			 err;

	memset(&r, 0, sizeof r);
	v = kb_verify_new(KB_SIG_TOKEN, "s3cret-token user:pa55", NULL, TOL_MS, &err);
	ck_assert_ptr_nonnull(v);
	r.authorization = "Bearer s3cret-token";
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), 0);
	r.authorization = "Bearer s3cret-tokeN";
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), -1);
	r.authorization = "Basic dXNlcjpwYTU1";	/* user:pa55 */
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), 0);
	r.authorization = "Basic dXNlcjpwYTU2";	/* user:pa56 */
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), -1);
	r.authorization = NULL;
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), -1);
	kb_verify_free(v);
}
END_TEST

START_TEST(test_none_scheme)
{
	struct kb_verify		*v;
	struct kb_verify_request	 r;
	struct kb_err			 err;

	memset(&r, 0, sizeof r);
	v = kb_verify_new(KB_SIG_NONE, "", NULL, TOL_MS, &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(kb_verify_check(v, &r, 0, &err), 0);
	kb_verify_free(v);
}
END_TEST

static Suite *
verify_suite(void)
{
	Suite	*s = suite_create("verify");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_spec_vector);
	tcase_add_test(tc, test_sign_matches_spec);
	tcase_add_test(tc, test_body_tampered);
	tcase_add_test(tc, test_rotation_list);
	tcase_add_test(tc, test_multiple_signatures_in_header);
	tcase_add_test(tc, test_wrong_version_prefix);
	tcase_add_test(tc, test_tolerance_edges);
	tcase_add_test(tc, test_missing_headers);
	tcase_add_test(tc, test_bad_secrets_rejected);
	tcase_add_test(tc, test_hmac_scheme);
	tcase_add_test(tc, test_hmac_scheme_real_digest);
	tcase_add_test(tc, test_token_scheme);
	tcase_add_test(tc, test_none_scheme);
	suite_add_tcase(s, tc);
	return (s);
}

KB_CHECK_MAIN(verify_suite)
