/*
 * The data mapper applied: every feature of the mapping language on small
 * inline mappings and events, the messages of apply-time errors (target
 * field, source path, problem), and hostile events.
 * Validation of mapping files and the shipped default mappings are in
 * check_map_load.c.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "kassaboek/map.h"

static const char *kv_settings[] = {
	"twinfield.office", "001",
	"orders.employee_number", "424242",
	"orders.empty", "",
	NULL
};

static struct map *
load(const char *mapping)
{
	struct kb_err	 err;
	struct map	*m;

	err.msg[0] = '\0';
	m = map_load_buffer("t.json", mapping, strlen(mapping), &err);
	ck_assert_msg(m != NULL, "mapping rejected: %s", err.msg);
	return (m);
}

static struct json_object *
parse(const char *json)
{
	struct json_object	*j;

	j = json_tokener_parse(json);
	ck_assert_msg(j != NULL, "bad test JSON: %s", json);
	return (j);
}

/* Applies mapping to event; returns the target or NULL with err filled. */
static struct json_object *
run(const char *mapping, const char *event, struct kb_err *err)
{
	struct map_settings	 s = { map_settings_kv_cb, kv_settings };
	struct json_object	*src, *out = NULL;
	struct map		*m;
	int			 rc;

	m = load(mapping);
	src = event != NULL ? parse(event) : NULL;
	err->msg[0] = '\0';
	rc = map_apply(m, src, &s, &out, err);
	ck_assert(rc == 0 ? out != NULL : out == NULL);
	json_object_put(src);
	map_free(m);
	return (out);
}

/* The mapping applied to event must give exactly the JSON expected. */
static void
expect(const char *mapping, const char *event, const char *expected)
{
	struct json_object	*out, *want;
	struct kb_err		 err;

	out = run(mapping, event, &err);
	ck_assert_msg(out != NULL, "apply failed: %s", err.msg);
	want = parse(expected);
	ck_assert_msg(json_object_equal(out, want), "got %s, want %s",
	    json_object_to_json_string(out), expected);
	json_object_put(out);
	json_object_put(want);
}

/* The mapping applied to event must fail with exactly this message. */
static void
expect_error(const char *mapping, const char *event, const char *message)
{
	struct json_object	*out;
	struct kb_err		 err;

	out = run(mapping, event, &err);
	ck_assert_msg(out == NULL, "expected an error, got %s",
	    json_object_to_json_string(out));
	ck_assert_str_eq(err.msg, message);
}

START_TEST(test_paths)
{
	const char *ev = "{\"a\": {\"b\": \"x\", \"n\": 3, \"t\": true, \"z\": null},"
	    " \"l\": [1, 2, 3], \"odd key\": {\"k.1\": \"dot\"}}";

	expect("{\"fields\": {\"b\": \"$.a.b\", \"n\": \"$.a.n\", \"t\": \"$.a.t\","
	    " \"head\": \"$.l[0]\", \"last\": \"$.l[-1]\", \"q\": \"$[\\\"odd key\\\"][\\\"k.1\\\"]\"}}",
	    ev, "{\"b\": \"x\", \"n\": 3, \"t\": true, \"head\": 1, \"last\": 3, \"q\": \"dot\"}");
	/* Missing, null, out of range and through a wrong type: the field is left out. */
	expect("{\"fields\": {\"z\": \"$.a.z\", \"m\": \"$.a.missing\", \"i\": \"$.l[7]\","
	    " \"w\": \"$.a.b.c\", \"x\": \"$.l.k\", \"keep\": \"$.a.b\"}}",
	    ev, "{\"keep\": \"x\"}");
	/* At the top level '@' is the event itself. */
	expect("{\"fields\": {\"b\": \"@.a.b\"}}", ev, "{\"b\": \"x\"}");
	/* A NULL source is an empty event. */
	expect("{\"fields\": {\"b\": \"$.a.b\", \"c\": 1}}", NULL, "{\"c\": 1}");
}
END_TEST

START_TEST(test_constants_and_objects)
{
	expect("{\"fields\": {\"s\": \"FACTUUR\", \"n\": 2.5, \"i\": 7, \"b\": false,"
	    " \"dollar\": {\"const\": \"$.not.a.path\"}, \"nul\": null,"
	    " \"nested\": {\"deeper\": {\"x\": \"y\"}}, \"empty\": {},"
	    " \"kw\": {\"object\": {\"default\": true, \"type\": \"invoice\"}},"
	    " \"_comment\": \"ignored\"}}",
	    "{}",
	    "{\"s\": \"FACTUUR\", \"n\": 2.5, \"i\": 7, \"b\": false,"
	    " \"dollar\": \"$.not.a.path\", \"nested\": {\"deeper\": {\"x\": \"y\"}},"
	    " \"kw\": {\"default\": true, \"type\": \"invoice\"}}");
	/* An object whose fields are all empty is left out. */
	expect("{\"fields\": {\"o\": {\"a\": \"$.x\"}, \"k\": 1}}", "{}", "{\"k\": 1}");
	/* An empty target is an empty object, not an error. */
	expect("{\"fields\": {\"o\": \"$.x\"}}", "{}", "{}");
}
END_TEST

START_TEST(test_required_and_default)
{
	expect_error("{\"fields\": {\"invoice\": {\"customer\": {\"path\": \"$.customer.email\","
	    " \"required\": true}}}}", "{\"customer\": {}}",
	    "invoice.customer: required value missing (source $.customer.email)");
	/* An empty string counts as missing. */
	expect_error("{\"fields\": {\"c\": {\"path\": \"$.c\", \"required\": true}}}",
	    "{\"c\": \"\"}", "c: required value missing (source $.c)");
	/* ... and so does a value a pipe emptied. */
	expect_error("{\"fields\": {\"c\": {\"path\": \"$.c\", \"pipe\": [\"digits_only\"],"
	    " \"required\": true}}}", "{\"c\": \"abc\"}",
	    "c: required value missing (source $.c)");
	expect("{\"fields\": {\"c\": {\"path\": \"$.c\", \"required\": true, \"default\": \"EUR\"},"
	    " \"d\": {\"path\": \"$.d\", \"default\": {\"setting\": \"orders.none\","
	    " \"default\": {\"setting\": \"orders.employee_number\"}}},"
	    " \"e\": {\"path\": \"$.e\", \"default\": \"$.f\"},"
	    " \"g\": {\"path\": \"$.g\", \"default\": \"x\"}}}",
	    "{\"c\": \"\", \"f\": 5, \"g\": 0}",
	    "{\"c\": \"EUR\", \"d\": \"424242\", \"e\": 5, \"g\": 0}");
	/* required: false is the default and says so. */
	expect("{\"fields\": {\"c\": {\"path\": \"$.c\", \"required\": false}}}", "{}", "{}");
	/* A required setting that is not set names the setting. */
	expect_error("{\"fields\": {\"o\": {\"setting\": \"orders.empty\", \"required\": true}}}",
	    "{}", "o: required value missing (source setting orders.empty)");
}
END_TEST

START_TEST(test_settings)
{
	struct json_object	*out = NULL;
	struct map		*m;
	struct kb_err		 err;
	struct map_settings	 none = { NULL, NULL };

	expect("{\"fields\": {\"office\": {\"setting\": \"twinfield.office\"},"
	    " \"unset\": {\"setting\": \"no.such\"}, \"empty\": {\"setting\": \"orders.empty\"}}}",
	    "{}", "{\"office\": \"001\"}");
	/* Without settings every setting is unset. */
	m = load("{\"fields\": {\"office\": {\"setting\": \"twinfield.office\", \"default\": \"x\"}}}");
	ck_assert_int_eq(map_apply(m, NULL, NULL, &out, &err), 0);
	ck_assert_str_eq(json_object_to_json_string(out), "{ \"office\": \"x\" }");
	json_object_put(out);
	ck_assert_int_eq(map_apply(m, NULL, &none, &out, &err), 0);
	ck_assert_str_eq(json_object_to_json_string(out), "{ \"office\": \"x\" }");
	json_object_put(out);
	map_free(m);
}
END_TEST

static void
collect_cb(const char *key, void *arg)
{
	char	*buf = arg;

	strcat(buf, key);
	strcat(buf, ";");
}

START_TEST(test_settings_listed)
{
	struct map	*m;
	char		 buf[256] = "";

	m = load("{\"vars\": {\"v\": {\"setting\": \"a.one\"}},"
	    " \"fields\": {\"x\": {\"setting\": \"b.two\"}, \"y\": {\"path\": \"$.q\","
	    " \"default\": {\"setting\": \"a.one\"}}, \"z\": {\"setting\": \"c.three\","
	    " \"when\": {\"eq\": [{\"setting\": \"d.four\"}, \"1\"]}}}}");
	map_foreach_setting(m, collect_cb, buf);
	ck_assert_str_eq(buf, "a.one;b.two;c.three;d.four;");
	ck_assert_str_eq(map_name(m), "t.json");
	map_free(m);
}
END_TEST

START_TEST(test_each)
{
	const char *ev = "{\"number\": \"K1-7\", \"lines\": ["
	    "{\"sku\": \"1\", \"qty\": 2, \"tags\": [\"a\", \"b\"]},"
	    "{\"sku\": \"2\", \"qty\": 0, \"tags\": []},"
	    "{\"sku\": \"3\", \"qty\": 1}]}";

	/* Paths relative to the element, and the root through '$'. */
	expect("{\"fields\": {\"lines\": {\"each\": \"$.lines\", \"item\": {"
	    "\"article\": \"@.sku\", \"order\": \"$.number\", \"tags\": {\"each\": \"@.tags\","
	    " \"item\": {\"concat\": [\"@\", \"@\"]}}}}}}", ev,
	    "{\"lines\": [{\"article\": \"1\", \"order\": \"K1-7\", \"tags\": [\"aa\", \"bb\"]},"
	    " {\"article\": \"2\", \"order\": \"K1-7\"}, {\"article\": \"3\", \"order\": \"K1-7\"}]}");
	/* when filters elements. */
	expect("{\"fields\": {\"l\": {\"each\": \"$.lines\", \"when\": \"@.qty\","
	    " \"item\": \"@.sku\"}}}", ev, "{\"l\": [\"1\", \"3\"]}");
	/* Over nothing: the field is left out, or required fails. */
	expect("{\"fields\": {\"l\": {\"each\": \"$.none\", \"item\": \"@\"}, \"k\": 1}}", ev,
	    "{\"k\": 1}");
	expect_error("{\"fields\": {\"l\": {\"each\": \"$.none\", \"item\": \"@\", \"required\": true}}}",
	    ev, "l: required value missing (source $.none)");
	/* Errors name the real target index and the real source element. */
	expect_error("{\"fields\": {\"lines\": {\"each\": \"$.lines\", \"item\": {"
	    "\"tags\": {\"each\": \"@.tags\", \"item\": {\"t\": {\"path\": \"@\", \"pipe\": [\"number\"]}}}}}}}",
	    ev, "lines[0].tags[0].t: number: 'a' is not a number (source $.lines[0].tags[0])");
	expect_error("{\"fields\": {\"lines\": {\"each\": \"$.lines\", \"when\": {\"ne\": [\"@.sku\", \"1\"]},"
	    " \"item\": {\"t\": {\"path\": \"@.tags[0]\", \"required\": true}}}}}",
	    ev, "lines[0].t: required value missing (source $.lines[1].tags[0])");
	/* An element that maps to nothing is dropped. */
	expect("{\"fields\": {\"l\": {\"each\": \"$.lines\", \"item\": \"@.tags[1]\"}}}", ev,
	    "{\"l\": [\"b\"]}");
}
END_TEST

START_TEST(test_array_splice)
{
	const char *ev = "{\"lines\": [{\"sku\": \"1\"}, {\"sku\": \"2\"}],"
	    " \"shipping\": {\"cost\": 6.95}, \"discounts\": [{\"code\": \"W\"}]}";
	const char *m = "{\"fields\": {\"lines\": ["
	    "{\"each\": \"$.lines\", \"item\": {\"article\": \"@.sku\"}},"
	    "{\"object\": {\"article\": \"SHIP\", \"price\": \"$.shipping.cost\"}, \"when\": \"$.shipping.cost\"},"
	    "{\"each\": \"$.discounts\", \"item\": {\"article\": \"DISC\", \"code\": {\"path\": \"@.code\", \"pipe\": [\"number\"]}}}"
	    "]}}";

	expect("{\"fields\": {\"lines\": ["
	    "{\"each\": \"$.lines\", \"item\": {\"article\": \"@.sku\"}},"
	    "{\"object\": {\"article\": \"SHIP\", \"price\": \"$.shipping.cost\"}, \"when\": \"$.shipping.cost\"},"
	    "{\"each\": \"$.discounts\", \"item\": {\"article\": \"DISC\", \"code\": \"@.code\"}},"
	    "\"tail\", [1, 2]]}}", ev,
	    "{\"lines\": [{\"article\": \"1\"}, {\"article\": \"2\"},"
	    " {\"article\": \"SHIP\", \"price\": 6.95}, {\"article\": \"DISC\", \"code\": \"W\"},"
	    " \"tail\", [1, 2]]}");
	/* The shipping line's condition removes it; indices stay true to the output. */
	expect("{\"fields\": {\"lines\": ["
	    "{\"object\": {\"article\": \"SHIP\"}, \"when\": \"$.shipping.free\"},"
	    "{\"each\": \"$.lines\", \"item\": \"@.sku\"}]}}", ev, "{\"lines\": [\"1\", \"2\"]}");
	expect_error(m, ev,
	    "lines[3].code: number: 'W' is not a number (source $.discounts[0].code)");
}
END_TEST

START_TEST(test_tables)
{
	const char *tables = "\"tables\": {"
	    "\"pay\": {\"pin\": \"bank\", \"cash\": \"cash\"},"
	    "\"payd\": {\"pin\": \"bank\", \"*\": \"cash\"},"
	    "\"pay0\": {\"pin\": \"bank\", \"*\": null},"
	    "\"vat\": {\"NL\": {\"21\": \"VH\", \"9\": \"VL\", \"*\": \"VH\"},"
	    "          \"BE\": {\"21\": \"BEH\"},"
	    "          \"*\": {\"21\": \"EUH\", \"*\": \"EU\"}},"
	    "\"num\": {\"1\": 10, \"2.5\": true}}";
	char	m[4096];

	snprintf(m, sizeof m, "{%s, \"fields\": {"
	    "\"a\": {\"lookup\": \"pay\", \"key\": \"$.p\"},"
	    "\"b\": {\"lookup\": \"payd\", \"key\": \"$.q\"},"
	    "\"c\": {\"lookup\": \"pay0\", \"key\": \"$.q\", \"default\": \"dflt\"},"
	    "\"d\": {\"path\": \"$.p\", \"pipe\": [{\"lookup\": \"pay\"}, \"upper\"]},"
	    "\"v1\": {\"lookup\": \"vat\", \"key\": [\"NL\", \"$.r21\"]},"
	    "\"v2\": {\"lookup\": \"vat\", \"key\": [\"NL\", \"$.r6\"]},"
	    "\"v3\": {\"lookup\": \"vat\", \"key\": [\"DE\", \"$.r21\"]},"
	    "\"v4\": {\"lookup\": \"vat\", \"key\": [\"DE\", 0]},"
	    "\"v5\": {\"lookup\": \"vat\", \"key\": [\"$.none\", \"$.r9\"]},"
	    "\"v6\": {\"lookup\": \"vat\", \"key\": [\"NL\", \"$.r9s\"]},"
	    "\"n1\": {\"lookup\": \"num\", \"key\": 1.0},"
	    "\"n2\": {\"lookup\": \"num\", \"key\": \"$.half\"},"
	    "\"e\": {\"lookup\": \"pay\", \"key\": \"$.none\"}"
	    "}}", tables);
	expect(m, "{\"p\": \"pin\", \"q\": \"ideal\", \"r21\": 21.0, \"r6\": 6, \"r9\": 9,"
	    " \"r9s\": \"9\", \"half\": 2.50}",
	    "{\"a\": \"bank\", \"b\": \"cash\", \"c\": \"dflt\", \"d\": \"BANK\","
	    " \"v1\": \"VH\", \"v2\": \"VH\", \"v3\": \"EUH\", \"v4\": \"EU\", \"v5\": \"EU\","
	    " \"v6\": \"VL\", \"n1\": 10, \"n2\": true}");

	/* A miss without a "*" default is an error naming value and table. */
	snprintf(m, sizeof m, "{%s, \"fields\": {\"inv\": {\"paymentmethod\": "
	    "{\"lookup\": \"pay\", \"key\": \"$.payments[0].method\"}}}}", tables);
	expect_error(m, "{\"payments\": [{\"method\": \"bitcoin\"}]}",
	    "inv.paymentmethod: value 'bitcoin' not in table 'pay' (and no \"*\" default)"
	    " (source $.payments[0].method)");
	snprintf(m, sizeof m, "{%s, \"fields\": {\"l\": {\"each\": \"$.lines\", \"item\": "
	    "{\"vatcode\": {\"lookup\": \"vat\", \"key\": [\"$.country\", \"@.rate\"]}}}}}", tables);
	expect_error(m, "{\"country\": \"BE\", \"lines\": [{\"rate\": 21}, {\"rate\": 6}]}",
	    "l[1].vatcode: value 'BE', '6' not in table 'vat' (and no \"*\" default)"
	    " (source $.lines[1].rate)");
	snprintf(m, sizeof m, "{%s, \"fields\": {\"x\": {\"path\": \"$.p\", \"pipe\": "
	    "[\"trim\", {\"lookup\": \"pay\"}]}}}", tables);
	expect_error(m, "{\"p\": \" creditcard \"}",
	    "x: value 'creditcard' not in table 'pay' (and no \"*\" default) (source $.p)");
	/* A key must be a value. */
	expect_error(m, "{\"p\": {\"a\": 1}}", "x: trim: expected a value, got an object (source $.p)");
	snprintf(m, sizeof m, "{%s, \"fields\": {\"x\": {\"lookup\": \"pay\", \"key\": \"$.p\"}}}",
	    tables);
	expect_error(m, "{\"p\": [1]}",
	    "x: table 'pay': a key cannot be an array (source $.p)");
}
END_TEST

START_TEST(test_string_functions)
{
	expect("{\"fields\": {"
	    "\"trim\": {\"path\": \"$.s\", \"pipe\": [\"trim\"]},"
	    "\"upper\": {\"path\": \"$.s\", \"pipe\": [\"trim\", \"upper\"]},"
	    "\"lower\": {\"path\": \"$.u\", \"pipe\": [\"lower\"]},"
	    "\"digits\": {\"path\": \"$.sku\", \"pipe\": [\"digits_only\"]},"
	    "\"numdigits\": {\"path\": \"$.n\", \"pipe\": [\"digits_only\"]},"
	    "\"str\": {\"path\": \"$.n\", \"pipe\": [\"string\"]},"
	    "\"strb\": {\"path\": \"$.b\", \"pipe\": [\"string\"]},"
	    "\"trunc\": {\"path\": \"$.utf\", \"pipe\": [{\"truncate\": 3}]},"
	    "\"trunc_short\": {\"path\": \"$.u\", \"pipe\": [{\"truncate\": 40}]},"
	    "\"sub\": {\"path\": \"$.utf\", \"pipe\": [{\"substring\": [1, 2]}]},"
	    "\"sub_past\": {\"path\": \"$.u\", \"pipe\": [{\"substring\": [10, 2]}]},"
	    "\"repl\": {\"path\": \"$.vat\", \"pipe\": [{\"replace\": [\" \", \"\"]}, {\"replace\": [\".\", \"-\"]}]},"
	    "\"pad\": {\"path\": \"$.code\", \"pipe\": [{\"pad_left\": [6, \"0\"]}]},"
	    "\"pad_long\": {\"path\": \"$.sku\", \"pipe\": [{\"pad_left\": [3, \"0\"]}]},"
	    "\"cat\": {\"path\": \"$.u\", \"pipe\": [{\"concat\": [\"-\", \"$.code\", \"$.none\"]}]},"
	    "\"cat1\": {\"path\": \"$.none\", \"pipe\": [{\"concat\": \"$.code\"}]},"
	    "\"die\": {\"path\": \"$.blank\", \"pipe\": [\"trim\", {\"default_if_empty\": \"n/a\"}, \"upper\"]},"
	    "\"die2\": {\"path\": \"$.none\", \"pipe\": [{\"default_if_empty\": \"$.code\"}]},"
	    "\"die3\": {\"path\": \"$.u\", \"pipe\": [{\"default_if_empty\": \"x\"}]}"
	    "}}",
	    "{\"s\": \"  Jan Jansen \\t\", \"u\": \"MiXeD\", \"sku\": \"AB-100 234\", \"n\": 12.5,"
	    " \"b\": true, \"utf\": \"\\u00e9\\u00e9n\\u20ac x\", \"vat\": \"NL 1234.56\","
	    " \"code\": 42, \"blank\": \"   \"}",
	    "{\"trim\": \"Jan Jansen\", \"upper\": \"JAN JANSEN\", \"lower\": \"mixed\","
	    " \"digits\": \"100234\", \"numdigits\": \"125\", \"str\": \"12.5\", \"strb\": \"true\","
	    " \"trunc\": \"\\u00e9\\u00e9n\", \"trunc_short\": \"MiXeD\", \"sub\": \"\\u00e9n\","
	    " \"repl\": \"NL1234-56\", \"pad\": \"000042\", \"pad_long\": \"AB-100 234\","
	    " \"cat\": \"MiXeD-42\", \"cat1\": \"42\", \"die\": \"N/A\", \"die2\": 42, \"die3\": \"MiXeD\"}");
	/* Functions leave an empty value alone (and concat of nothing is nothing). */
	expect("{\"fields\": {\"a\": {\"path\": \"$.none\", \"pipe\": [\"trim\", \"upper\", \"number\","
	    " {\"round\": 2}, {\"date\": \"yyyymmdd\"}, {\"concat\": \"$.none\"}]}, \"k\": 1}}",
	    "{}", "{\"k\": 1}");
	expect_error("{\"fields\": {\"a\": {\"path\": \"$.o\", \"pipe\": [\"upper\"]}}}",
	    "{\"o\": [1]}", "a: upper: expected a value, got an array (source $.o)");
	expect_error("{\"fields\": {\"a\": {\"path\": \"$.o\", \"pipe\": [{\"concat\": \"$.o\"}]}}}",
	    "{\"o\": {\"x\": 1}}", "a: concat: cannot join an object (source $.o)");
}
END_TEST

START_TEST(test_number_functions)
{
	expect("{\"fields\": {"
	    "\"r2\": {\"path\": \"$.a\", \"pipe\": [{\"round\": 2}]},"
	    "\"r0\": {\"path\": \"$.a\", \"pipe\": [{\"round\": 0}]},"
	    "\"half\": {\"path\": \"$.h\", \"pipe\": [{\"round\": 2}]},"
	    "\"half2\": {\"path\": \"$.h2\", \"pipe\": [{\"round\": 2}]},"
	    "\"neghalf\": {\"path\": \"$.nh\", \"pipe\": [{\"round\": 1}]},"
	    "\"fixed\": {\"path\": \"$.p\", \"pipe\": [{\"fixed\": 2}]},"
	    "\"fixed0\": {\"path\": \"$.tiny\", \"pipe\": [{\"fixed\": 2}]},"
	    "\"num\": {\"path\": \"$.s\", \"pipe\": [\"number\"]},"
	    "\"neg\": {\"path\": \"$.p\", \"pipe\": [\"negate\"]},"
	    "\"abs\": {\"path\": \"$.tiny\", \"pipe\": [\"abs\"]},"
	    "\"math\": {\"path\": \"$.p\", \"pipe\": [{\"mul\": \"$.q\"}, {\"sub\": 1}, {\"add\": \"$.s\"}, {\"div\": 4}]},"
	    "\"noarg\": {\"path\": \"$.p\", \"pipe\": [{\"mul\": \"$.none\"}, {\"div\": \"$.none\"}, {\"add\": \"$.none\"}]},"
	    "\"excl\": {\"path\": \"$.p\", \"pipe\": [{\"div\": {\"path\": \"$.rate\", \"pipe\": [{\"div\": 100}, {\"add\": 1}]}}, {\"round\": 2}]}"
	    "}}",
	    "{\"a\": 2.345678, \"h\": 1.005, \"h2\": 2.675, \"nh\": -0.25, \"p\": 12.10,"
	    " \"tiny\": -0.001, \"s\": \" 3.5 \", \"q\": 2, \"rate\": 21}",
	    "{\"r2\": 2.35, \"r0\": 2, \"half\": 1.01, \"half2\": 2.68, \"neghalf\": -0.3,"
	    " \"fixed\": \"12.10\", \"fixed0\": \"0.00\", \"num\": 3.5, \"neg\": -12.1,"
	    " \"abs\": 0.001, \"math\": 6.675, \"noarg\": 12.1, \"excl\": 10}");
	expect_error("{\"fields\": {\"q\": {\"path\": \"$.q\", \"pipe\": [\"number\"]}}}",
	    "{\"q\": \"2 stuks\"}", "q: number: '2 stuks' is not a number (source $.q)");
	expect_error("{\"fields\": {\"q\": {\"path\": \"$.q\", \"pipe\": [{\"round\": 2}]}}}",
	    "{\"q\": true}", "q: round: 'true' is not a number (source $.q)");
	expect_error("{\"fields\": {\"q\": {\"path\": \"$.q\", \"pipe\": [\"number\"]}}}",
	    "{\"q\": \"0x10\"}", "q: number: '0x10' is not a number (source $.q)");
	expect_error("{\"fields\": {\"q\": {\"path\": \"$.q\", \"pipe\": [\"number\"]}}}",
	    "{\"q\": \"nan\"}", "q: number: 'nan' is not a number (source $.q)");
	expect_error("{\"fields\": {\"q\": {\"path\": \"$.q\", \"pipe\": [{\"div\": \"$.z\"}]}}}",
	    "{\"q\": 1, \"z\": 0}", "q: div: division by zero (source $.q)");
	expect_error("{\"fields\": {\"q\": {\"path\": \"$.q\", \"pipe\": [{\"mul\": \"$.z\"}]}}}",
	    "{\"q\": 1, \"z\": \"x\"}", "q: mul: argument 'x' is not a number (source $.q)");
	expect_error("{\"fields\": {\"q\": {\"path\": \"$.q\", \"pipe\": [{\"mul\": 1e300}, {\"mul\": 1e300}]}}}",
	    "{\"q\": 1}", "q: mul: result out of range (source $.q)");
}
END_TEST

START_TEST(test_dates)
{
	expect("{\"fields\": {"
	    "\"d\": {\"path\": \"$.a\", \"pipe\": [{\"date\": \"yyyymmdd\"}]},"
	    "\"p\": {\"path\": \"$.a\", \"pipe\": [{\"date\": \"yyyy/mm\"}]},"
	    "\"iso\": {\"path\": \"$.a\", \"pipe\": [{\"date\": \"iso\"}]},"
	    "\"nl\": {\"path\": \"$.a\", \"pipe\": [{\"date\": \"dd-mm-yyyy\"}]},"
	    "\"dash\": {\"path\": \"$.a\", \"pipe\": [{\"date\": \"yyyy-mm-dd\"}]},"
	    "\"f\": {\"path\": \"$.b\", \"pipe\": [{\"date\": \"%y%m%d %H:%M:%S %%\"}]},"
	    "\"z\": {\"path\": \"$.c\", \"pipe\": [{\"date\": \"yyyymmdd\"}]},"
	    "\"plain\": {\"path\": \"$.e\", \"pipe\": [{\"date\": \"yyyymmdd\"}]},"
	    "\"due\": {\"path\": \"$.a\", \"pipe\": [{\"add_days\": 30}, {\"date\": \"yyyymmdd\"}]},"
	    "\"leap\": {\"path\": \"$.leap\", \"pipe\": [{\"add_days\": \"$.n\"}]},"
	    "\"back\": {\"path\": \"$.e\", \"pipe\": [{\"add_days\": -1}]},"
	    "\"keep\": {\"path\": \"$.b\", \"pipe\": [{\"add_days\": \"$.none\"}]}"
	    "}}",
	    "{\"a\": \"2026-12-04T10:15:00Z\", \"b\": \"2026-01-31 23:59:58.123+01:00\","
	    " \"c\": \"2026-06-30T00:00:00-0530\", \"e\": \"2027-01-01\", \"leap\": \"2028-02-28\", \"n\": 1}",
	    "{\"d\": \"20261204\", \"p\": \"2026/12\", \"iso\": \"2026-12-04T10:15:00\","
	    " \"nl\": \"04-12-2026\", \"dash\": \"2026-12-04\", \"f\": \"260131 23:59:58 %\","
	    " \"z\": \"20260630\", \"plain\": \"20270101\", \"due\": \"20270103\","
	    " \"leap\": \"2028-02-29\", \"back\": \"2026-12-31\", \"keep\": \"2026-01-31T23:59:58\"}");
	expect_error("{\"fields\": {\"d\": {\"path\": \"$.d\", \"pipe\": [{\"date\": \"yyyymmdd\"}]}}}",
	    "{\"d\": \"2026-02-30\"}",
	    "d: date: '2026-02-30' is not an ISO 8601 date (yyyy-mm-dd[Thh:mm[:ss]][zone]) (source $.d)");
	expect_error("{\"fields\": {\"d\": {\"path\": \"$.d\", \"pipe\": [{\"date\": \"yyyymmdd\"}]}}}",
	    "{\"d\": \"04-12-2026\"}",
	    "d: date: '04-12-2026' is not an ISO 8601 date (yyyy-mm-dd[Thh:mm[:ss]][zone]) (source $.d)");
	expect_error("{\"fields\": {\"d\": {\"path\": \"$.d\", \"pipe\": [{\"date\": \"yyyymmdd\"}]}}}",
	    "{\"d\": \"2026-12-04T25:00\"}",
	    "d: date: '2026-12-04T25:00' is not an ISO 8601 date (yyyy-mm-dd[Thh:mm[:ss]][zone]) (source $.d)");
	expect_error("{\"fields\": {\"d\": {\"path\": \"$.d\", \"pipe\": [{\"date\": \"yyyymmdd\"}]}}}",
	    "{\"d\": 20261204}",
	    "d: date: '20261204' is not an ISO 8601 date (yyyy-mm-dd[Thh:mm[:ss]][zone]) (source $.d)");
	expect_error("{\"fields\": {\"d\": {\"path\": \"$.d\", \"pipe\": [{\"add_days\": 1e9}]}}}",
	    "{\"d\": \"2026-01-01\"}", "d: add_days: 1000000000 days is out of range (source $.d)");
	expect_error("{\"fields\": {\"d\": {\"path\": \"$.d\", \"pipe\": [{\"add_days\": 1}]}}}",
	    "{\"d\": \"soon\"}", "d: add_days: 'soon' is not an ISO 8601 date (source $.d)");
}
END_TEST

START_TEST(test_concat_first)
{
	expect("{\"fields\": {"
	    "\"street\": {\"concat\": [\"$.a.street\", {\"concat\": [\"$.a.nr\", \"$.a.add\"]}], \"sep\": \" \"},"
	    "\"nosep\": {\"concat\": [\"$.a.nr\", \"-\", 7, true]},"
	    "\"skip\": {\"concat\": [\"$.none\", \"$.a.street\", \"\"], \"sep\": \", \"},"
	    "\"nothing\": {\"concat\": [\"$.none\"], \"sep\": \" \"},"
	    "\"name\": {\"first\": [\"$.company\", \"$.none\", \"$.person\"]},"
	    "\"name2\": {\"first\": [\"$.blank\", \"$.person\"]},"
	    "\"none\": {\"first\": [\"$.none\"]}"
	    "}}",
	    "{\"a\": {\"street\": \"Dorpsstraat\", \"nr\": 12, \"add\": \"a\"},"
	    " \"person\": \"Jan\", \"blank\": \"\"}",
	    "{\"street\": \"Dorpsstraat 12a\", \"nosep\": \"12-7true\", \"skip\": \"Dorpsstraat\","
	    " \"name\": \"Jan\", \"name2\": \"Jan\"}");
	expect_error("{\"fields\": {\"c\": {\"concat\": [\"x\", \"$.o\"]}}}", "{\"o\": {\"a\": 1}}",
	    "c: concat: cannot join an object (source $.o)");
	expect_error("{\"fields\": {\"c\": {\"first\": [\"$.o\"]}}}", "{\"o\": {\"a\": 1}}",
	    "c: expected a value, got an object (source $.o)");
}
END_TEST

START_TEST(test_conditions)
{
	const char *m = "{\"fields\": {"
	    "\"name\": {\"first\": [\"$.company\", \"$.person\"]},"
	    "\"contact\": {\"path\": \"$.person\", \"when\": \"$.company\"},"
	    "\"person_only\": {\"const\": \"P\", \"when\": {\"not\": \"$.company\"}},"
	    "\"all\": {\"const\": 1, \"when\": {\"all\": [\"$.person\", {\"eq\": [\"$.country\", \"NL\"]}]}},"
	    "\"any\": {\"const\": 1, \"when\": {\"any\": [\"$.none\", {\"ne\": [\"$.country\", \"BE\"]}]}},"
	    "\"lt\": {\"const\": 1, \"when\": {\"lt\": [\"$.qty\", 0]}},"
	    "\"gt\": {\"const\": 1, \"when\": {\"gt\": [\"$.qty\", \"-1\"]}},"
	    "\"numeq\": {\"const\": 1, \"when\": {\"eq\": [\"$.rate\", 21]}},"
	    "\"zero\": {\"const\": 1, \"when\": \"$.zero\"},"
	    "\"f\": {\"const\": 1, \"when\": \"$.f\"},"
	    "\"emptyeq\": {\"const\": 1, \"when\": {\"eq\": [\"$.none\", \"$.nothing\"]}},"
	    "\"req\": {\"path\": \"$.none\", \"required\": true, \"when\": \"$.none\"}"
	    "}}";

	/* Company: a company debtor with the person as contact. */
	expect(m, "{\"company\": \"Jansen BV\", \"person\": \"Jan\", \"country\": \"NL\","
	    " \"qty\": -2, \"rate\": \"21.0\", \"zero\": 0, \"f\": false}",
	    "{\"name\": \"Jansen BV\", \"contact\": \"Jan\", \"all\": 1, \"any\": 1, \"lt\": 1,"
	    " \"numeq\": 1, \"emptyeq\": 1}");
	/* Person: no contact. */
	expect(m, "{\"person\": \"Jan\", \"country\": \"BE\", \"qty\": 3, \"rate\": 9, \"zero\": 1,"
	    " \"f\": true}",
	    "{\"name\": \"Jan\", \"person_only\": \"P\", \"gt\": 1, \"zero\": 1, \"f\": 1,"
	    " \"emptyeq\": 1}");
	/* The `when` of an object drops the whole object. */
	expect("{\"fields\": {\"debtor\": {\"when\": \"$.customer\", \"object\": {\"type\": \"DEB\"}}}}",
	    "{\"customer\": {}}", "{}");
	expect("{\"fields\": {\"debtor\": {\"when\": \"$.customer\", \"object\": {\"type\": \"DEB\"}}}}",
	    "{\"customer\": {\"a\": 1}}", "{\"debtor\": {\"type\": \"DEB\"}}");
}
END_TEST

START_TEST(test_vars)
{
	expect("{\"vars\": {\"country\": {\"first\": [\"$.ship.country\", \"$.bill.country\"],"
	    " \"pipe\": [\"upper\"], \"default\": \"NL\"},"
	    " \"label\": {\"concat\": [\"in \", {\"var\": \"country\"}]}, \"cust\": \"$.c\"},"
	    " \"fields\": {\"c\": {\"var\": \"country\"}, \"l\": {\"var\": \"label\"},"
	    " \"lines\": {\"each\": \"$.lines\", \"item\": {\"c\": {\"var\": \"country\"}}},"
	    " \"has\": {\"const\": true, \"when\": {\"var\": \"cust\"}}}}",
	    "{\"bill\": {\"country\": \"be\"}, \"lines\": [1, 2], \"c\": {\"x\": 1}}",
	    "{\"c\": \"BE\", \"l\": \"in BE\", \"lines\": [{\"c\": \"BE\"}, {\"c\": \"BE\"}],"
	    " \"has\": true}");
	expect_error("{\"vars\": {\"n\": {\"path\": \"$.number\", \"required\": true}},"
	    " \"fields\": {\"x\": 1}}", "{}", "vars.n: required value missing (source $.number)");
	/* A var holding an object is fine for conditions but not as a field value. */
	expect_error("{\"vars\": {\"cust\": \"$.c\"}, \"fields\": {\"x\": {\"var\": \"cust\"}}}",
	    "{\"c\": {\"x\": 1}}", "x: expected a value, got an object (source var cust)");
}
END_TEST

START_TEST(test_custom_fields_and_trace)
{
	/* Custom fields into free texts, the order number onto the document. */
	expect("{\"fields\": {\"invoice\": {\"headertext\": {\"concat\": [\"AsPos order \", \"$.number\"]},"
	    " \"lines\": {\"each\": \"$.lines\", \"item\": {\"freetext1\": \"$.custom_fields.loyalty\","
	    " \"freetext2\": \"$.number\", \"freetext3\": {\"path\": \"@.custom_fields.engraving\","
	    " \"pipe\": [{\"truncate\": 5}]}}}}}}",
	    "{\"number\": \"K1-000123\", \"custom_fields\": {\"loyalty\": \"gold\"},"
	    " \"lines\": [{\"custom_fields\": {\"engraving\": \"Voor Jan\"}}]}",
	    "{\"invoice\": {\"headertext\": \"AsPos order K1-000123\", \"lines\": [{\"freetext1\":"
	    " \"gold\", \"freetext2\": \"K1-000123\", \"freetext3\": \"Voor \"}]}}");
}
END_TEST

START_TEST(test_wrong_types)
{
	expect_error("{\"fields\": {\"lines\": {\"each\": \"$.lines\", \"item\": \"@.sku\"}}}",
	    "{\"lines\": \"100234\"}", "lines: each: expected an array, got a string (source $.lines)");
	expect_error("{\"fields\": {\"lines\": {\"each\": \"$.lines\", \"item\": \"@.sku\"}}}",
	    "{\"lines\": {\"sku\": 1}}", "lines: each: expected an array, got an object (source $.lines)");
	expect_error("{\"fields\": {\"customer\": \"$.customer\"}}",
	    "{\"customer\": {\"email\": \"x\"}}",
	    "customer: expected a value, got an object (source $.customer)");
	expect_error("{\"fields\": {\"l\": {\"each\": \"$.lines\", \"item\": \"@\"}}}",
	    "{\"lines\": [[1]]}", "l[0]: expected a value, got an array (source $.lines[0])");
	/* A customer that is a string: its fields are simply absent. */
	expect("{\"fields\": {\"e\": \"$.customer.email\", \"k\": 1}}", "{\"customer\": \"Jan\"}",
	    "{\"k\": 1}");
	/* A source that is not an object at all. */
	expect("{\"fields\": {\"e\": \"$.a\", \"k\": \"$[0]\"}}", "[1]", "{\"k\": 1}");
	expect_error("{\"fields\": {\"all\": {\"path\": \"$\", \"pipe\": [\"string\"]}}}",
	    "[1]", "all: string: expected a value, got an array (source $)");
	expect("{\"fields\": {\"all\": {\"path\": \"$\", \"pipe\": [\"string\"]}}}", "\"txt\"",
	    "{\"all\": \"txt\"}");
}
END_TEST

START_TEST(test_huge_strings)
{
	struct json_object	*src, *out = NULL;
	struct kb_err		 err;
	struct map		*m;
	char			*big;

	big = malloc(MAP_MAX_STRING + 2);
	memset(big, 'x', MAP_MAX_STRING + 1);
	big[MAP_MAX_STRING + 1] = '\0';
	src = json_object_new_object();
	json_object_object_add(src, "big", json_object_new_string(big));
	big[MAP_MAX_STRING] = '\0';
	json_object_object_add(src, "max", json_object_new_string(big));
	free(big);

	m = load("{\"fields\": {\"d\": {\"path\": \"$.big\", \"pipe\": [{\"truncate\": 10}]}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), -1);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(err.msg, "d: value too long (65537 bytes, max 65536) (source $.big)");
	map_free(m);

	/* At the limit it works; growing past it fails, whichever way. */
	m = load("{\"fields\": {\"d\": {\"path\": \"$.max\", \"pipe\": [{\"truncate\": 3}]}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(out, "d")), "xxx");
	json_object_put(out);
	map_free(m);
	m = load("{\"fields\": {\"d\": {\"concat\": [\"$.max\", \"y\"]}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), -1);
	ck_assert_str_eq(err.msg, "d: concat: result too long (max 65536 bytes) (source constant)");
	map_free(m);
	m = load("{\"fields\": {\"d\": {\"path\": \"$.max\", \"pipe\": [{\"concat\": \"y\"}]}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), -1);
	ck_assert_str_eq(err.msg, "d: concat: result too long (max 65536 bytes) (source $.max)");
	map_free(m);
	m = load("{\"fields\": {\"d\": {\"path\": \"$.max\", \"pipe\": [{\"replace\": [\"x\", \"yy\"]}]}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), -1);
	ck_assert_str_eq(err.msg, "d: replace: result too long (131072 bytes, max 65536) (source $.max)");
	map_free(m);
	m = load("{\"fields\": {\"d\": {\"path\": \"$.max\", \"pipe\": [{\"pad_left\": [64, \"0\"]}, {\"truncate\": 2}]}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), 0);
	json_object_put(out);
	map_free(m);
	json_object_put(src);
}
END_TEST

START_TEST(test_deep_and_many)
{
	struct json_object	*src, *cur, *next, *arr, *out = NULL;
	struct kb_err		 err;
	struct map		*m;
	size_t			 i;

	/* 10000 levels of nesting: resolving stays iterative. */
	src = json_object_new_object();
	cur = src;
	for (i = 0; i < 10000; i++) {
		next = json_object_new_object();
		json_object_object_add(cur, "a", next);
		cur = next;
	}
	json_object_object_add(cur, "leaf", json_object_new_string("deep"));
	m = load("{\"fields\": {\"x\": \"$.a.a.a\", \"y\": {\"path\": \"$.a\", \"when\": \"$.a\","
	    " \"pipe\": [{\"default_if_empty\": 1}]}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), -1);
	ck_assert_str_eq(err.msg, "x: expected a value, got an object (source $.a.a.a)");
	map_free(m);
	m = load("{\"fields\": {\"lines\": {\"each\": \"$.a\", \"item\": 1}, \"k\": \"$.a.a.a.a.leaf\"}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), -1);
	ck_assert_str_eq(err.msg, "lines: each: expected an array, got an object (source $.a)");
	map_free(m);
	json_object_put(src);

	/* Too many elements for one each. */
	src = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i <= MAP_MAX_ITEMS; i++)
		json_object_array_add(arr, json_object_new_int((int)i));
	json_object_object_add(src, "lines", arr);
	m = load("{\"fields\": {\"l\": {\"each\": \"$.lines\", \"item\": \"@\"}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), -1);
	ck_assert_str_eq(err.msg, "l: each: more than 10000 elements (source $.lines)");
	map_free(m);
	json_object_array_del_idx(arr, 0, 1);
	m = load("{\"fields\": {\"l\": {\"each\": \"$.lines\", \"item\": \"@\"}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), 0);
	ck_assert_uint_eq(json_object_array_length(json_object_object_get(out, "l")), MAP_MAX_ITEMS);
	json_object_put(out);
	map_free(m);

	/* Nested eaches over big arrays hit the output or step budget, not the memory. */
	m = load("{\"fields\": {\"l\": {\"each\": \"$.lines\", \"item\": {\"each\": \"$.lines\","
	    " \"item\": {\"each\": \"$.lines\", \"item\": \"@\"}}}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), -1);
	ck_assert_msg(strstr(err.msg, "target larger than 200000 values") != NULL ||
	    strstr(err.msg, "steps for this event") != NULL, "%s", err.msg);
	map_free(m);
	m = load("{\"fields\": {\"l\": {\"each\": \"$.lines\", \"item\": {\"each\": \"$.lines\","
	    " \"item\": {\"each\": \"$.lines\", \"item\": \"$.none\"}}}}}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), -1);
	ck_assert_str_eq(err.msg, "l[0][0][0]: mapping needs more than 5000000 steps for this event");
	map_free(m);
	json_object_put(src);
}
END_TEST

START_TEST(test_no_sharing)
{
	struct json_object	*src, *out = NULL, *lines;
	struct kb_err		 err;
	struct map		*m;

	m = load("{\"vars\": {\"v\": \"$.s\"}, \"fields\": {\"s\": \"$.s\", \"c\": \"K\", \"v1\": {\"var\": \"v\"},"
	    " \"v2\": {\"var\": \"v\"}, \"l\": {\"each\": \"$.l\", \"item\": {\"x\": \"@.x\"}}}}");
	src = parse("{\"s\": \"abc\", \"l\": [{\"x\": 1.5}]}");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), 0);
	/* Changing or freeing the source leaves the target intact. */
	json_object_set_string(json_object_object_get(src, "s"), "changed");
	json_object_put(src);
	json_object_set_string(json_object_object_get(out, "v1"), "mine");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(out, "s")), "abc");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(out, "v2")), "abc");
	lines = json_object_object_get(out, "l");
	ck_assert(json_object_get_double(json_object_object_get(
	    json_object_array_get_idx(lines, 0), "x")) == 1.5);
	/* And the map's constants are not shared with targets either. */
	json_object_set_string(json_object_object_get(out, "c"), "Z");
	json_object_put(out);
	ck_assert_int_eq(map_apply(m, NULL, NULL, &out, &err), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(out, "c")), "K");
	json_object_put(out);
	map_free(m);
}
END_TEST

START_TEST(test_error_quotes_untrusted)
{
	/* Control characters and quotes in a value are escaped in messages. */
	expect_error("{\"fields\": {\"q\": {\"path\": \"$.q\", \"pipe\": [\"number\"]}}}",
	    "{\"q\": \"1\\n'x\\u0001\"}", "q: number: '1\\x0a\\x27x\\x01' is not a number (source $.q)");
}
END_TEST

static Suite *
map_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("map");
	tc = tcase_create("apply");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_constants_and_objects);
	tcase_add_test(tc, test_required_and_default);
	tcase_add_test(tc, test_settings);
	tcase_add_test(tc, test_settings_listed);
	tcase_add_test(tc, test_each);
	tcase_add_test(tc, test_array_splice);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_string_functions);
	tcase_add_test(tc, test_number_functions);
	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_concat_first);
	tcase_add_test(tc, test_conditions);
	tcase_add_test(tc, test_vars);
	tcase_add_test(tc, test_custom_fields_and_trace);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_huge_strings);
	tcase_add_test(tc, test_deep_and_many);
	tcase_add_test(tc, test_no_sharing);
	tcase_add_test(tc, test_error_quotes_untrusted);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(map_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
