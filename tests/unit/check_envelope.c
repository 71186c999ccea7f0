/*
 * The receiver's JSON scanner (src/http/envelope.c) against json-c, the
 * reference: on crafted documents and on thousands of mutations of a real
 * order, both must agree on "well-formed or not", and the scanner must
 * read id/type/data as json-c would.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../src/http/http-internal.h"
#include "kassaboek/jsonscan.h"
#include "check-main.h"

static const char order[] =
    "{\"id\": \"evt_7f3a\", \"type\": \"order.completed\", \"created_at\": \"2026-12-04T10:15:00Z\","
    " \"store_id\": \"1\", \"data\": {\"id\": \"10023\", \"number\": \"K1-000123\", \"currency\": \"EUR\","
    " \"employee_number\": null, \"customer\": {\"email\": \"jan@example.nl\", \"first_name\": \"J\\u00e9n\","
    " \"company\": \"Jansen BV\", \"custom_fields\": {\"loyalty\": \"gold\"}}, \"lines\": [{\"sku\": \"100234\","
    " \"quantity\": 2, \"unit_price_incl_tax\": 12.10, \"tax_rate\": 21.0, \"discount_incl_tax\": -1.5e0,"
    " \"variant\": {\"size\": \"L\"}}], \"shipping\": {\"method\": \"postnl\", \"cost_incl_tax\": 6.95},"
    " \"paid\": true, \"void\": false, \"notes\": [], \"extra\": {}, \"caf\\u00e9\": \"\xe2\x82\xac 5\"}}";

/* json-c's verdict with the receiver's former settings (strict, UTF-8 validated, depth 64). */
static int
jsonc_valid(const char *buf, size_t len)
{
	struct json_tokener	*tok = json_tokener_new_ex(KB_JSON_MAX_DEPTH);
	struct json_object	*o;
	size_t			 end;
	int			 ok;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success;
	end = json_tokener_get_parse_end(tok);
	while (ok && end < len && strchr(" \t\r\n", buf[end]) != NULL)
		end++;
	ok = ok && end == len;
	json_object_put(o);
	json_tokener_free(tok);
	return (ok);
}

static int
scan_valid(const char *buf, size_t len)
{
	struct http_envelope	env;
	struct kb_err		err;

	return (http_envelope_parse(buf, len, &env, &err) == 0);
}

START_TEST(test_order_envelope)
{
	struct http_envelope	env;
	struct kb_err		err;

	ck_assert_int_eq(http_envelope_parse(order, strlen(order), &env, &err), 0);
	ck_assert(env.is_object);
	ck_assert(env.has_id);
	ck_assert_str_eq(env.id, "evt_7f3a");
	ck_assert(env.has_type);
	ck_assert_str_eq(env.type, "order.completed");
	ck_assert(env.data_is_object);
}
END_TEST

START_TEST(test_members_as_json_c_reads_them)
{
	struct http_envelope	env;
	struct kb_err		err;
	const char		*doc;

	/* Escaped member names and values are decoded; the last duplicate wins. */
	doc = "{\"\\u0074ype\": \"order.\\u0063reated\", \"id\": 5, \"id\": \"a\\/b\", \"data\": {}, \"data\": []}";
	ck_assert_int_eq(http_envelope_parse(doc, strlen(doc), &env, &err), 0);
	ck_assert_str_eq(env.type, "order.created");
	ck_assert_str_eq(env.id, "a/b");
	ck_assert(!env.data_is_object);
	/* Nested members named like the envelope's do not count. */
	doc = "{\"x\": {\"id\": \"inner\", \"type\": \"t\", \"data\": {}}}";
	ck_assert_int_eq(http_envelope_parse(doc, strlen(doc), &env, &err), 0);
	ck_assert(!env.has_id && !env.has_type && !env.data_is_object);
	doc = "[{\"id\": \"x\"}]";
	ck_assert_int_eq(http_envelope_parse(doc, strlen(doc), &env, &err), 0);
	ck_assert(!env.is_object && !env.has_id);
}
END_TEST

#define FOUND(c)	(((c).kind == KB_JSON_STRING || (c).kind == KB_JSON_NUMBER) && !(c).too_long)

START_TEST(test_captures)
{
	static const char *const p_id[] = { "data", "id", NULL };
	static const char *const p_email[] = { "data", "customer", "email", NULL };
	static const char *const p_sku[] = { "data", "sku", NULL };
	char			 b_id[16], b_email[64], b_sku[8];
	struct kb_json_capture	 caps[3] = {
		{ p_id, b_id, sizeof b_id, 0, 0, 0 },
		{ p_email, b_email, sizeof b_email, 0, 0, 0 },
		{ p_sku, b_sku, sizeof b_sku, 0, 0, 0 },
	};
	enum kb_json_kind	 root;
	struct kb_err		 err;
	const char		*doc;

	ck_assert_int_eq(kb_json_scan(order, strlen(order), &root, caps, 3, &err), 0);
	ck_assert_int_eq(root, KB_JSON_OBJECT);
	ck_assert(FOUND(caps[0]));
	ck_assert_str_eq(b_id, "10023");
	ck_assert(FOUND(caps[1]));
	ck_assert_str_eq(b_email, "jan@example.nl");
	ck_assert_int_eq(caps[2].kind, KB_JSON_ABSENT);

	/* Numbers as written, escapes decoded, too long is flagged, nested look-alikes ignored. */
	doc = "{\"data\": {\"id\": 10023, \"customer\": {\"email\": \"a\\u0040b\"}, \"sku\": \"123456789\","
	    " \"x\": {\"id\": \"nested\"}}, \"id\": \"e\", \"type\": \"order.created\"}";
	ck_assert_int_eq(kb_json_scan(doc, strlen(doc), &root, caps, 3, &err), 0);
	ck_assert_int_eq(caps[0].kind, KB_JSON_NUMBER);
	ck_assert_str_eq(b_id, "10023");
	ck_assert_str_eq(b_email, "a@b");
	ck_assert(caps[2].kind == KB_JSON_STRING && caps[2].too_long);

	/* The last duplicate wins; arrays, objects and null are no values. */
	doc = "{\"data\": {\"id\": \"1\", \"id\": null, \"customer\": [{\"email\": \"x@y\"}],"
	    " \"sku\": {\"v\": 1}}}";
	ck_assert_int_eq(kb_json_scan(doc, strlen(doc), &root, caps, 3, &err), 0);
	ck_assert_int_eq(caps[0].kind, KB_JSON_LITERAL);
	ck_assert(!FOUND(caps[1]) && !FOUND(caps[2]));
	ck_assert_int_eq(caps[2].kind, KB_JSON_OBJECT);
	/* A repeated object replaces the earlier one whole, as in json-c. */
	doc = "{\"data\": {\"customer\": {\"email\": \"q@r\"}, \"customer\": {}}}";
	ck_assert_int_eq(kb_json_scan(doc, strlen(doc), &root, caps, 3, &err), 0);
	ck_assert_int_eq(caps[1].kind, KB_JSON_ABSENT);
	doc = "[{\"data\": {\"id\": \"1\"}}]";
	ck_assert_int_eq(kb_json_scan(doc, strlen(doc), &root, caps, 3, &err), 0);
	ck_assert_int_eq(root, KB_JSON_ARRAY);
	ck_assert_int_eq(caps[0].kind, KB_JSON_ABSENT);
}
END_TEST

/* RFC 8259's verdicts, written out (json-c is lenient on several of the invalid ones). */
START_TEST(test_crafted_documents)
{
	static const char *const valid[] = {
		"{}", "[]", "[0]", "[-0]", "[1.5e-3]", "\"x\"", "[true]", "[null]", " {} ", "\t[\n]\r",
		"{\"a\":[1,2,{\"b\":null}]}", "[[[[]]]]", "{\"a\":{}}", "[1E5]", "[0.0e-0]", "[-1.5E+3]",
		"[\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"]", "\"\\ud800\"", "\"\\ud83d\\ude00\"", "\"\\u00e9\"",
		"\"\xf0\x9f\x98\x80\"", "\"\xe2\x82\xac\"", "{\"\":\"\"}",
	};
	static const char *const invalid[] = {
		"", " ", "{", "}", "[1,]", "{\"a\":1,}", "{,}", "[,1]", "{\"a\" 1}", "{a:1}", "{'a':1}",
		"['a']", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]", "[NaN]", "[Infinity]", "[1.e0]", "tru",
		"[nul]", "[falsey]", "{} {}", "[] x", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"",
		"\"tab\there\"", "\"nl\nhere\"", "\"\xc3\x28\"", "\"\xe2\x82\"", "\"\xed\xa0\x80\"",
		"\"\xc0\xaf\"", "\"\xf4\x90\x80\x80\"", "\"\xff\"", "[1 2]", "{\"a\":1 \"b\":2}", "[\"a\",]",
		"[1e+]", "//x\n{}", "/* c */ {}", "{\"a\":1}//", "\xef\xbb\xbf{}", "{\"a\"}", "{\"a\":}",
		"[\"unterminated]", "{\"a\":1]", "[1}",
	};
	size_t	i;

	for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
		ck_assert_msg(scan_valid(valid[i], strlen(valid[i])), "rejected valid <%s>", valid[i]);
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		ck_assert_msg(!scan_valid(invalid[i], strlen(invalid[i])), "accepted invalid <%s>", invalid[i]);
	/* A NUL byte after the document is trailing data. */
	ck_assert(!scan_valid("[1]\0", 4));
}
END_TEST

START_TEST(test_depth_limit)
{
	char	buf[2 * (KB_JSON_MAX_DEPTH + 2) + 1];
	int	n;

	for (n = KB_JSON_MAX_DEPTH - 1; n <= KB_JSON_MAX_DEPTH + 1; n++) {
		memset(buf, '[', (size_t)n);
		memset(buf + n, ']', (size_t)n);
		ck_assert_msg(scan_valid(buf, 2 * (size_t)n) == jsonc_valid(buf, 2 * (size_t)n),
		    "depth %d: scanner %d, json-c %d", n, scan_valid(buf, 2 * (size_t)n),
		    jsonc_valid(buf, 2 * (size_t)n));
	}
	n = KB_JSON_MAX_DEPTH;
	memset(buf, '[', (size_t)n);
	memset(buf + n, ']', (size_t)n);
	ck_assert(scan_valid(buf, 2 * (size_t)n));
	ck_assert(!scan_valid(buf, 2 * (size_t)n - 1));
}
END_TEST

/*
 * Mutations of the order (a fixed seed, so failures repeat): whatever the
 * scanner accepts, json-c accepts too, and they agree on nearly all; the
 * rest are RFC violations json-c lets through (single quotes, "1.e0", raw
 * control characters), which test_crafted_documents pins down.
 */
START_TEST(test_mutations_agree_with_json_c)
{
	static const char	 alphabet[] = "{}[]\",:\\ u0123456789.eE+-tfn\xc3\xa9\x80\xff\t\n";
	char			 buf[sizeof order + 8];
	size_t			 len, pos, i;
	unsigned int		 seed = 12345, agree_valid = 0, lenient = 0;
	int			 round, s, j;

	for (round = 0; round < 30000; round++) {
		memcpy(buf, order, sizeof order);
		len = sizeof order - 1;
		for (i = 0; i < 1 + (unsigned)(rand_r(&seed) % 3); i++) {
			pos = (size_t)rand_r(&seed) % len;
			switch (rand_r(&seed) % 3) {
			case 0:	/* replace */
				buf[pos] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
				break;
			case 1:	/* delete */
				memmove(buf + pos, buf + pos + 1, len - pos);
				len--;
				break;
			default: /* insert */
				if (len + 1 < sizeof buf) {
					memmove(buf + pos + 1, buf + pos, len - pos + 1);
					buf[pos] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
					len++;
				}
			}
		}
		s = scan_valid(buf, len);
		j = jsonc_valid(buf, len);
		ck_assert_msg(!s || j, "round %d: scanner accepts what json-c rejects: <%.*s>", round, (int)len, buf);
		if (j && !s) {
			lenient++;
			continue;
		}
		agree_valid += (unsigned)s;
	}
	/* The mutations must exercise both verdicts, or this test proves little. */
	ck_assert_uint_gt(agree_valid, 1000);
	ck_assert_uint_lt(agree_valid, 29000);
	ck_assert_uint_lt(lenient, 30000 / 20);
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite	*s = suite_create("envelope");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_order_envelope);
	tcase_add_test(tc, test_members_as_json_c_reads_them);
	tcase_add_test(tc, test_captures);
	tcase_add_test(tc, test_crafted_documents);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_mutations_agree_with_json_c);
	suite_add_tcase(s, tc);
	return (s);
}

KB_CHECK_MAIN(envelope_suite)
