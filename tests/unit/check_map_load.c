/*
 * Loading mappings: every validation message (file, place in the mapping,
 * problem), files on disk, and the shipped default mappings applied to the
 * modeled AsPos resources of shared/reference/aspos-api.md.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kassaboek/map.h"

#ifndef MAP_TEST_SRCDIR
#define MAP_TEST_SRCDIR "."
#endif

static const char *
srcdir(void)
{
	const char	*d = getenv("KB_SRCDIR");

	return (d != NULL && *d != '\0' ? d : MAP_TEST_SRCDIR);
}

static char *
src_path(const char *rel)
{
	static char	buf[4][1024];
	static int	n;

	n = (n + 1) % 4;
	snprintf(buf[n], sizeof buf[n], "%s/%s", srcdir(), rel);
	return (buf[n]);
}

/* Each mapping must be rejected with exactly this message. */
static const struct {
	const char	*mapping;
	const char	*message;
} bad[] = {
	/* The document. */
	{ "[]", "t.json: a mapping is a JSON object with \"fields\"" },
	{ "{\"version\": 1}", "t.json: missing \"fields\": the target to build" },
	{ "{\"fields\": {}, \"feilds\": {}}",
	  "t.json: feilds: unknown top-level key 'feilds' (did you mean 'fields'?)" },
	{ "{\"fields\": {}, \"mapping\": 1}", "t.json: mapping: unknown top-level key 'mapping'" },
	{ "{\"version\": 2, \"fields\": {}}",
	  "t.json: version: unsupported version (this kassaboek reads version 1)" },
	{ "{\"version\": \"1\", \"fields\": {}}",
	  "t.json: version: unsupported version (this kassaboek reads version 1)" },
	{ "{\"description\": 5, \"fields\": {}}", "t.json: description: expected a string" },
	{ "{\"fields\": \"$.x\"}", "t.json: fields: the target must be an object of fields" },
	{ "{\"fields\": [1]}", "t.json: fields: the target must be an object of fields" },
	/* JSON itself. */
	{ "{\"fields\": {}", "t.json: JSON ends too early" },
	{ "{\n  \"fields\": {,}\n}", "t.json:2:14: JSON syntax error: quoted object property name expected" },
	{ "{\"fields\": {}} x", "t.json:1:16: JSON syntax error: unexpected character" },
	{ "{\"fields\": {\"a\": 'x'}}", "t.json:1:18: JSON syntax error: unexpected character" },
	{ "{\"fields\": {\"a\": \"\xff\"}}", "t.json:1:19: JSON syntax error: invalid utf-8 string" },
	/* Expressions. */
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pth\": 1}}}",
	  "t.json: fields.a.pth: unknown key 'pth' in an expression (did you mean 'path'?)" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"street\": 1}}}",
	  "t.json: fields.a.street: unknown key 'street' in an expression (this object is read as "
	  "an expression because of 'path'; a target object with a field named like a keyword is "
	  "written {\"object\": {...}})" },
	{ "{\"fields\": {\"a\": {\"type\": \"invoice\", \"default\": true}}}",
	  "t.json: fields.a: an expression needs one of path, const, setting, var, concat, first, "
	  "lookup, each, object (a target object with a field named like a keyword is written "
	  "{\"object\": {...}})" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"const\": 1}}}",
	  "t.json: fields.a: 'path' and 'const' cannot be combined: an expression has one source" },
	{ "{\"fields\": {\"a\": {\"\": 1}}}", "t.json: fields.a.: empty field name" },
	{ "{\"fields\": {\"a\": {\"path\": 5}}}",
	  "t.json: fields.a.path: expected a path string like \"$.customer.email\" or \"@.sku\"" },
	{ "{\"fields\": {\"a\": {\"path\": \"customer.email\"}}}",
	  "t.json: fields.a.path: bad path 'customer.email': a path starts with '$' (the event) or "
	  "'@' (the current element)" },
	{ "{\"fields\": {\"a\": \"$.a..b\"}}", "t.json: fields.a: bad path '$.a..b': empty name at offset 4" },
	{ "{\"fields\": {\"a\": \"$.a[x]\"}}",
	  "t.json: fields.a: bad path '$.a[x]': bad index at offset 3 (use [0], [-1] or [\"key\"])" },
	{ "{\"fields\": {\"a\": \"$.a[1\"}}",
	  "t.json: fields.a: bad path '$.a[1': bad index at offset 3 (use [0], [-1] or [\"key\"])" },
	{ "{\"fields\": {\"a\": \"$.a[\\\"k]\"}}",
	  "t.json: fields.a: bad path '$.a[\"k]': unterminated [\"...\"] at offset 3" },
	{ "{\"fields\": {\"a\": \"$.a]\"}}", "t.json: fields.a: bad path '$.a]': unexpected ']' at offset 3" },
	{ "{\"fields\": {\"a\": \"$.a b\"}}", "t.json: fields.a: bad path '$.a b': unexpected ' ' at offset 3" },
	{ "{\"fields\": {\"a\": {\"const\": [1]}}}",
	  "t.json: fields.a.const: a constant is a string, number, boolean or null, not an array" },
	{ "{\"fields\": {\"a\": {\"setting\": 1}}}",
	  "t.json: fields.a.setting: expected a setting name like \"orders.employee_number\"" },
	{ "{\"fields\": {\"a\": {\"setting\": \"\"}}}",
	  "t.json: fields.a.setting: expected a setting name like \"orders.employee_number\"" },
	{ "{\"fields\": {\"a\": {\"concat\": \"$.x\"}}}", "t.json: fields.a.concat: expected an array of values" },
	{ "{\"fields\": {\"a\": {\"first\": []}}}", "t.json: fields.a.first: expected a non-empty array" },
	{ "{\"fields\": {\"a\": {\"concat\": [\"$.x\", \"$.\"]}}}",
	  "t.json: fields.a.concat[1]: bad path '$.': empty name at offset 2" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"sep\": \" \"}}}",
	  "t.json: fields.a.sep: 'sep' only goes with 'concat'" },
	{ "{\"fields\": {\"a\": {\"concat\": [\"x\"], \"sep\": 1}}}",
	  "t.json: fields.a.sep: expected a string of at most 64 bytes" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"key\": \"$.y\"}}}",
	  "t.json: fields.a.key: 'key' only goes with 'lookup'" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"item\": \"$.y\"}}}",
	  "t.json: fields.a.item: 'item' only goes with 'each'" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"required\": \"yes\"}}}",
	  "t.json: fields.a.required: expected true or false" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"default\": {\"path\": \"x\"}}}}",
	  "t.json: fields.a.default.path: bad path 'x': a path starts with '$' (the event) or '@' "
	  "(the current element)" },
	{ "{\"fields\": {\"a\": {\"object\": [1]}}}",
	  "t.json: fields.a.object: expected an object of target fields" },
	/* each */
	{ "{\"fields\": {\"l\": {\"each\": \"$.lines\"}}}",
	  "t.json: fields.l: 'each' needs an 'item': what each element becomes" },
	{ "{\"fields\": {\"l\": {\"each\": \"lines\", \"item\": 1}}}",
	  "t.json: fields.l.each: bad path 'lines': a path starts with '$' (the event) or '@' (the "
	  "current element)" },
	{ "{\"fields\": {\"invoice\": {\"lines\": [{\"each\": \"$.lines\", \"item\": {\"vatcode\": "
	  "{\"path\": \"@.rate\", \"pipe\": [\"uper\"]}}}]}}}",
	  "t.json: fields.invoice.lines[0].item.vatcode.pipe[0]: unknown function 'uper' (did you "
	  "mean 'upper'?)" },
	/* Functions. */
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": \"trim\"}}}",
	  "t.json: fields.a.pipe: expected an array of functions, e.g. [\"trim\", {\"truncate\": 40}]" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [\"frobnicate\"]}}}",
	  "t.json: fields.a.pipe[0]: unknown function 'frobnicate'" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"rond\": 2}]}}}",
	  "t.json: fields.a.pipe[0]: unknown function 'rond' (did you mean 'round'?)" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [5]}}}",
	  "t.json: fields.a.pipe[0]: a function call is \"name\" or {\"name\": argument}, not a number" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"round\": 2, \"trim\": null}]}}}",
	  "t.json: fields.a.pipe[0]: a function call is \"name\" or {\"name\": argument}, with exactly one name" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"trim\": true}]}}}",
	  "t.json: fields.a.pipe[0]: 'trim' takes no argument: write \"trim\"" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [\"round\"]}}}",
	  "t.json: fields.a.pipe[0]: 'round' needs an argument: {\"round\": 2}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"round\": 11}]}}}",
	  "t.json: fields.a.pipe[0].round: 'round' needs a whole number from 0 to 10: {\"round\": 2}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"round\": 1.5}]}}}",
	  "t.json: fields.a.pipe[0].round: 'round' needs a whole number from 0 to 10: {\"round\": 2}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"truncate\": 0}]}}}",
	  "t.json: fields.a.pipe[0].truncate: 'truncate' needs a whole number from 1 to 65536: {\"truncate\": 40}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"substring\": 2}]}}}",
	  "t.json: fields.a.pipe[0].substring: 'substring' needs two arguments: {\"substring\": [start, length]}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"substring\": [0, -1]}]}}}",
	  "t.json: fields.a.pipe[0].substring: 'substring' needs a whole number from 0 to 65536: "
	  "{\"substring\": [start, length]}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"replace\": [\"a\"]}]}}}",
	  "t.json: fields.a.pipe[0].replace: 'replace' needs two strings: {\"replace\": [\"from\", \"to\"]}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"replace\": [\"\", \"b\"]}]}}}",
	  "t.json: fields.a.pipe[0].replace: 'replace': the text to replace must be 1 to 256 bytes, "
	  "its replacement at most 256" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"pad_left\": [6, \"00\"]}]}}}",
	  "t.json: fields.a.pipe[0].pad_left: 'pad_left' pads with one ASCII character: {\"pad_left\": [6, \"0\"]}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"pad_left\": [65, \"0\"]}]}}}",
	  "t.json: fields.a.pipe[0].pad_left: 'pad_left' needs a whole number from 1 to 64: {\"pad_left\": [6, \"0\"]}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"date\": \"yyyymmddd\"}]}}}",
	  "t.json: fields.a.pipe[0].date: unknown date format 'yyyymmddd' (use yyyymmdd, yyyy/mm, "
	  "yyyy-mm-dd, dd-mm-yyyy, iso, or %Y %m %d %H %M %S conversions)" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"date\": \"%Y%q\"}]}}}",
	  "t.json: fields.a.pipe[0].date: unknown date conversion '%q' (use %Y %y %m %d %H %M %S %%, "
	  "or one of yyyymmdd, yyyy/mm, yyyy-mm-dd, dd-mm-yyyy, iso)" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"date\": 8}]}}}",
	  "t.json: fields.a.pipe[0].date: 'date' needs a format string: {\"date\": \"yyyymmdd\"}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"add_days\": \"$\\u0000\"}]}}}",
	  "t.json: fields.a.pipe[0].add_days: path contains a NUL byte" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"concat\": []}]}}}",
	  "t.json: fields.a.pipe[0].concat: expected a non-empty array" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"lookup\": \"nope\"}]}}}",
	  "t.json: fields.a.pipe[0].lookup: unknown table 'nope'" },
	{ "{\"tables\": {\"vat\": {\"NL\": {\"21\": \"VH\"}}}, \"fields\": {\"a\": {\"path\": \"$.x\", "
	  "\"pipe\": [{\"lookup\": \"vat\"}]}}}",
	  "t.json: fields.a.pipe[0].lookup: table 'vat' takes 2 keys; look it up with {\"lookup\": "
	  "\"vat\", \"key\": [...]}" },
	{ "{\"fields\": {\"a\": {\"path\": \"$.x\", \"pipe\": [{\"lookup\": 1}]}}}",
	  "t.json: fields.a.pipe[0].lookup: 'lookup' needs a table name: {\"lookup\": \"table\"}" },
	/* Tables and lookups. */
	{ "{\"tables\": [], \"fields\": {}}", "t.json: tables: expected an object of tables" },
	{ "{\"tables\": {\"pay\": \"bank\"}, \"fields\": {}}",
	  "t.json: tables.pay: a table is an object {\"value\": \"result\", \"*\": \"default\"}" },
	{ "{\"tables\": {\"pay\": {}}, \"fields\": {}}", "t.json: tables.pay: empty table" },
	{ "{\"tables\": {\"pay\": {\"pin\": [\"bank\"]}}, \"fields\": {}}",
	  "t.json: tables.pay.pin: a table value is a string, number, boolean, null or a sub-table, not an array" },
	{ "{\"tables\": {\"vat\": {\"NL\": {\"21\": \"VH\"}, \"BE\": \"VH\"}}, \"fields\": {}}",
	  "t.json: tables.vat.BE: this level mixes values and sub-tables" },
	{ "{\"tables\": {\"vat\": {\"NL\": {\"21\": \"VH\"}, \"BE\": {\"x\": {\"21\": \"VH\"}}}}, \"fields\": {}}",
	  "t.json: tables.vat.BE: has 2 key levels below it, its siblings 1" },
	{ "{\"tables\": {\"t\": {\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": {\"h\": {\"i\": 1}}}}}}}}}}, \"fields\": {}}",
	  "t.json: tables.t.a.b.c.d.e.f.g.h: more than 8 key levels" },
	{ "{\"tables\": {\"pay\": {\"pin\": \"bank\"}}, \"fields\": {\"a\": {\"lookup\": \"py\", \"key\": \"$.x\"}}}",
	  "t.json: fields.a.lookup: unknown table 'py' (did you mean 'pay'?)" },
	{ "{\"tables\": {\"pay\": {\"pin\": \"bank\"}}, \"fields\": {\"a\": {\"lookup\": \"pay\"}}}",
	  "t.json: fields.a: 'lookup' needs a 'key': the value (or [values], one per table level) to look up" },
	{ "{\"tables\": {\"vat\": {\"NL\": {\"21\": \"VH\"}}}, \"fields\": {\"a\": {\"lookup\": \"vat\", \"key\": \"$.x\"}}}",
	  "t.json: fields.a.key: table 'vat' takes 2 keys, got 1" },
	{ "{\"tables\": {\"pay\": {\"pin\": \"bank\"}}, \"fields\": {\"a\": {\"lookup\": \"pay\", \"key\": [\"$.x\", \"$.y\"]}}}",
	  "t.json: fields.a.key: table 'pay' takes 1 key, got 2" },
	{ "{\"tables\": {\"pay\": {\"pin\": \"bank\"}}, \"fields\": {\"a\": {\"lookup\": [\"pay\"], \"key\": \"$.x\"}}}",
	  "t.json: fields.a.lookup: expected a table name" },
	/* Vars. */
	{ "{\"vars\": 1, \"fields\": {}}", "t.json: vars: expected an object of vars" },
	{ "{\"fields\": {\"a\": {\"var\": \"x\"}}}",
	  "t.json: fields.a.var: unknown var 'x' (a var can only use vars declared before it)" },
	{ "{\"vars\": {\"a\": {\"var\": \"a\"}}, \"fields\": {}}",
	  "t.json: vars.a.var: unknown var 'a' (a var can only use vars declared before it)" },
	{ "{\"vars\": {\"country\": \"$.c\"}, \"fields\": {\"a\": {\"var\": \"contry\"}}}",
	  "t.json: fields.a.var: unknown var 'contry' (did you mean 'country'?) (a var can only use "
	  "vars declared before it)" },
	{ "{\"vars\": {\"a\": \"$.x\"}, \"fields\": {\"a\": {\"var\": 1}}}", "t.json: fields.a.var: expected a var name" },
	/* Conditions. */
	{ "{\"fields\": {\"a\": {\"const\": 1, \"when\": {\"not\": \"$.x\", \"any\": []}}}}",
	  "t.json: fields.a.when: a condition object has exactly one of not, all, any, eq, ne, lt, gt" },
	{ "{\"fields\": {\"a\": {\"const\": 1, \"when\": {\"eq\": [\"$.x\"]}}}}",
	  "t.json: fields.a.when.eq: expected two values to compare: [\"$.a\", \"b\"]" },
	{ "{\"fields\": {\"a\": {\"const\": 1, \"when\": {\"all\": []}}}}",
	  "t.json: fields.a.when.all: expected a non-empty array of conditions" },
	{ "{\"fields\": {\"a\": {\"const\": 1, \"when\": {\"any\": [\"$.x\", {\"not\": \"$.y[\"}]}}}}",
	  "t.json: fields.a.when.any[1].not: bad path '$.y[': bad index at offset 3 (use [0], [-1] or [\"key\"])" },
	{ "{\"fields\": {\"a\": {\"const\": 1, \"when\": {\"eq\": [\"$.x\", {\"pth\": 1, \"pipe\": []}]}}}}",
	  "t.json: fields.a.when.eq[1].pth: unknown key 'pth' in an expression (did you mean 'path'?)" },
	{ "{\"fields\": {\"a\": {\"const\": 1, \"when\": {\"isnt\": 1}}}}",
	  "t.json: fields.a.when: the condition {\"isnt\": ...} is not a condition: use a value or one "
	  "of not, all, any, eq, ne, lt, gt" },
};

START_TEST(test_bad_mapping)
{
	struct kb_err	 err;
	struct map	*m;

	err.msg[0] = '\0';
	m = map_load_buffer("t.json", bad[_i].mapping, strlen(bad[_i].mapping), &err);
	ck_assert_msg(m == NULL, "accepted: %s", bad[_i].mapping);
	ck_assert_str_eq(err.msg, bad[_i].message);
}
END_TEST

START_TEST(test_limits)
{
	struct kb_err	 err;
	struct map	*m;
	char		*buf;
	size_t		 i, at;

	/* Nesting deeper than MAP_MAX_DEPTH. */
	buf = malloc(8192);
	at = (size_t)sprintf(buf, "{\"fields\": ");
	for (i = 0; i < MAP_MAX_DEPTH + 2; i++)
		at += (size_t)sprintf(buf + at, "{\"a\": ");
	at += (size_t)sprintf(buf + at, "1");
	for (i = 0; i < MAP_MAX_DEPTH + 3; i++)
		buf[at++] = '}';
	buf[at] = '\0';
	m = map_load_buffer("t.json", buf, at, &err);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(err.msg, ": nested more than 48 levels deep") != NULL, "%s", err.msg);
	ck_assert_msg(strncmp(err.msg, "t.json: fields.a.a.a.", 21) == 0, "%s", err.msg);
	/* Deeper than the JSON parser allows at all. */
	at = (size_t)sprintf(buf, "{\"fields\": ");
	for (i = 0; i < 200; i++)
		buf[at++] = '[';
	buf[at] = '\0';
	m = map_load_buffer("t.json", buf, at, &err);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(err.msg, "JSON syntax error: nesting too deep") != NULL, "%s", err.msg);
	free(buf);

	/* Bigger than MAP_MAX_FILE, and NUL bytes. */
	buf = calloc(1, MAP_MAX_FILE + 2);
	memset(buf, ' ', MAP_MAX_FILE + 1);
	m = map_load_buffer("big.json", buf, MAP_MAX_FILE + 1, &err);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(err.msg, "big.json: larger than 1048576 bytes");
	m = map_load_buffer("nul.json", "{\"fields\": {}}\0", 15, &err);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(err.msg, "nul.json: contains a NUL byte");
	free(buf);
}
END_TEST

START_TEST(test_files)
{
	struct json_object	*src, *out = NULL;
	struct kb_err	 err;
	struct map	*m;
	char		 path[] = "/tmp/check_map_XXXXXX";
	const char	*text = "{\n  \"fields\": {\n    \"a\": {\"path\": \"$.x\", \"pipe\": [\"uper\"]}\n  }\n}\n";
	int		 fd;

	m = map_load("/nonexistent/order.json", &err);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(err.msg, "/nonexistent/order.json: cannot open: No such file or directory");
	m = map_load("/", &err);
	ck_assert_ptr_null(m);
	ck_assert_msg(strncmp(err.msg, "/: cannot ", 10) == 0, "%s", err.msg);

	/* A file on disk: the messages carry its path. */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	m = map_load(path, &err);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(err.msg, ": fields.a.pipe[0]: unknown function 'uper' (did you mean "
	    "'upper'?)") != NULL && strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
	unlink(path);

	m = map_load(src_path("tests/data/mapping/fixture.json"), &err);
	ck_assert_msg(m != NULL, "%s", err.msg);
	ck_assert_str_eq(map_name(m), src_path("tests/data/mapping/fixture.json"));
	src = json_object_from_file(src_path("tests/data/mapping/order-modeled.json"));
	ck_assert_ptr_nonnull(src);
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), 0);
	ck_assert_str_eq(json_object_to_json_string(out),
	    "{ \"kpl\": \"KPL-S1\", \"prj\": \"PRJ-W1\", \"vat\": [ \"VH\" ] }");
	json_object_put(out);
	json_object_object_add(src, "register_id", json_object_new_string("K2"));
	json_object_object_add(src, "billing_address", json_tokener_parse("{\"country\": \"be\"}"));
	json_object_object_add(src, "lines", json_tokener_parse("[{\"tax_rate\": 6}, {\"tax_rate\": 12}]"));
	json_object_object_del(src, "custom_fields");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), 0);
	ck_assert_str_eq(json_object_to_json_string(out),
	    "{ \"kpl\": \"KPL-K2\", \"vat\": [ \"VLBE\", \"VHBE\" ] }");
	json_object_put(out);
	json_object_object_add(src, "billing_address", json_tokener_parse("{\"country\": \"fr\"}"));
	json_object_object_add(src, "store_id", json_object_new_int(5));
	json_object_object_del(src, "register_id");
	ck_assert_int_eq(map_apply(m, src, NULL, &out, &err), 0);
	ck_assert_str_eq(json_object_to_json_string(out),
	    "{ \"kpl\": \"KPL-ALG\", \"vat\": [ \"VHEU\", \"VHEU\" ] }");
	json_object_put(out);
	json_object_put(src);
	map_free(m);
	map_free(NULL);
}
END_TEST

static struct json_object *
read_json(const char *rel)
{
	struct json_object	*j;

	j = json_object_from_file(src_path(rel));
	ck_assert_msg(j != NULL, "cannot read %s", rel);
	return (j);
}

static const char *order_settings[] = {
	"twinfield.office", "001",
	"orders.invoice_type", "FACTUUR",
	"orders.book_as", "invoice",
	NULL
};

/* Applies conf/mapping/<name> to a resource; returns the target. */
static struct json_object *
apply_default(const char *name, struct json_object *src, const char **kv,
    struct kb_err *err)
{
	struct map_settings	 s = { map_settings_kv_cb, (void *)kv };
	struct json_object	*out = NULL;
	struct map		*m;
	char			 rel[256];

	snprintf(rel, sizeof rel, "conf/mapping/%s", name);
	m = map_load(src_path(rel), err);
	ck_assert_msg(m != NULL, "%s", err->msg);
	if (map_apply(m, src, &s, &out, err) != 0)
		out = NULL;
	map_free(m);
	return (out);
}

static void
assert_json_eq(struct json_object *got, struct json_object *want)
{
	ck_assert_msg(json_object_equal(got, want), "got\n%s\nwant\n%s",
	    json_object_to_json_string_ext(got, JSON_C_TO_STRING_PRETTY),
	    json_object_to_json_string_ext(want, JSON_C_TO_STRING_PRETTY));
}

static struct json_object *
jget(struct json_object *o, const char *path)
{
	char	buf[256], *p, *tok, *save;

	snprintf(buf, sizeof buf, "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && o != NULL;
	    tok = strtok_r(NULL, ".", &save)) {
		if ((p = strchr(tok, '[')) != NULL) {
			*p = '\0';
			if (*tok != '\0')
				o = json_object_object_get(o, tok);
			o = json_object_array_get_idx(o, (size_t)atoi(p + 1));
		} else
			o = json_object_object_get(o, tok);
	}
	return (o);
}

static const char *
jstr(struct json_object *o, const char *path)
{
	struct json_object	*v = jget(o, path);

	return (v != NULL ? json_object_get_string(v) : "(absent)");
}

START_TEST(test_default_order)
{
	struct json_object	*src, *out, *want;
	struct kb_err		 err;

	src = read_json("tests/data/mapping/order-modeled.json");
	want = read_json("tests/data/mapping/order-modeled.expected.json");
	out = apply_default("order.json", src, order_settings, &err);
	ck_assert_msg(out != NULL, "%s", err.msg);
	assert_json_eq(out, want);
	json_object_put(out);
	json_object_put(want);
	json_object_put(src);
}
END_TEST

START_TEST(test_default_order_variants)
{
	struct json_object	*src, *out;
	struct kb_err		 err;
	const char		*concept[] = { "orders.book_as", "concept",
				    "orders.employee_number", "123", NULL };

	/* A person (no company): a person debtor, no contact. */
	src = read_json("tests/data/mapping/order-modeled.json");
	json_object_object_del(jget(src, "customer"), "company");
	json_object_object_del(src, "shipping");
	json_object_object_del(src, "discounts");
	json_object_object_del(jget(src, "lines[0]"), "discount_incl_tax");
	json_object_object_add(src, "payments", json_tokener_parse("[{\"method\": \"cash\"}]"));
	json_object_object_add(src, "payment_terms", json_object_new_string("30d"));
	json_object_object_add(jget(src, "customer"), "group", json_object_new_string("wholesale"));
	out = apply_default("order.json", src, concept, &err);
	ck_assert_msg(out != NULL, "%s", err.msg);
	ck_assert_str_eq(jstr(out, "debtor.name"), "Jan Jansen");
	ck_assert_str_eq(jstr(out, "debtor.addresses[0].name"), "Jan Jansen");
	ck_assert_str_eq(jstr(out, "debtor.addresses[0].contact"), "(absent)");
	ck_assert_str_eq(jstr(out, "debtor.groups.group"), "ZAKELIJK");
	ck_assert_str_eq(jstr(out, "debtor.financials.duedays"), "30");
	ck_assert_str_eq(jstr(out, "invoice.duedate"), "20270103");
	ck_assert_str_eq(jstr(out, "invoice.paymentmethod"), "cash");
	ck_assert_str_eq(jstr(out, "invoice.status"), "concept");
	ck_assert_str_eq(jstr(out, "invoice.office"), "(absent)");
	ck_assert_str_eq(jstr(out, "ref.employee_number"), "123");
	/* No shipping, no discounts: only the product line. */
	ck_assert_uint_eq(json_object_array_length(jget(out, "invoice.lines")), 1);
	json_object_put(out);

	/* Delivered abroad to another address: EU revenue account, a second address. */
	json_object_object_add(src, "shipping_address", json_tokener_parse(
	    "{\"street\": \"Grote Markt\", \"house_number\": 1, \"postal_code\": \"1000\","
	    " \"city\": \"Brussel\", \"country\": \"be\"}"));
	json_object_object_add(src, "payments", json_tokener_parse("[{\"method\": \"giftcard\"}]"));
	json_object_object_add(src, "employee_number", json_object_new_int(7));
	json_object_object_add(src, "shipping", json_tokener_parse(
	    "{\"method\": \"bpost\", \"cost_incl_tax\": \"4.50\", \"tax_rate\": 21}"));
	json_object_object_add(jget(src, "lines[0]"), "tax_rate", json_object_new_double(6.0));
	out = apply_default("order.json", src, order_settings, &err);
	ck_assert_msg(out != NULL, "%s", err.msg);
	ck_assert_str_eq(jstr(out, "invoice.lines[0].dim1"), "8100");
	ck_assert_str_eq(jstr(out, "invoice.lines[0].vatcode"), "VH");	/* '*' / '*' */
	ck_assert_str_eq(jstr(out, "invoice.lines[1].article"), "9000");	/* unknown method */
	ck_assert_str_eq(jstr(out, "invoice.lines[1].unitspriceinc"), "4.5");
	ck_assert_str_eq(jstr(out, "invoice.paymentmethod"), "bank");
	ck_assert_str_eq(jstr(out, "ref.employee_number"), "7");
	ck_assert_str_eq(jstr(out, "debtor.addresses[1].type"), "postal");
	ck_assert_str_eq(jstr(out, "debtor.addresses[1].field2"), "Grote Markt 1");
	ck_assert_str_eq(jstr(out, "debtor.addresses[1].country"), "BE");
	ck_assert_str_eq(jstr(out, "debtor.addresses[0].country"), "NL");
	json_object_put(out);

	/* No customer at all: no debtor (the flow books it on the default debtor). */
	json_object_object_del(src, "customer");
	out = apply_default("order.json", src, order_settings, &err);
	ck_assert_msg(out != NULL, "%s", err.msg);
	ck_assert_ptr_null(jget(out, "debtor"));
	ck_assert_ptr_null(jget(out, "invoice.lines[0].freetext1"));
	json_object_put(out);

	/* Errors a bookkeeper can act on. */
	json_object_object_add(jget(src, "lines[0]"), "quantity", json_object_new_string("twee"));
	out = apply_default("order.json", src, order_settings, &err);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(err.msg, "invoice.lines[0].quantity: number: 'twee' is not a number "
	    "(source $.lines[0].quantity)");
	json_object_object_del(jget(src, "lines[0]"), "sku");
	out = apply_default("order.json", src, order_settings, &err);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(err.msg, "invoice.lines[0].article: required value missing "
	    "(source $.lines[0].sku)");
	json_object_object_del(src, "number");
	out = apply_default("order.json", src, order_settings, &err);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(err.msg, "vars.order_number: required value missing (source $.number)");
	json_object_put(src);
}
END_TEST

START_TEST(test_default_order_transaction)
{
	struct json_object	*src, *out, *want;
	struct kb_err		 err;
	const char		*tx[] = { "orders.book_as", "transaction", "twinfield.office", "001", NULL };

	src = read_json("tests/data/mapping/order-modeled.json");
	out = apply_default("order.json", src, tx, &err);
	ck_assert_msg(out != NULL, "%s", err.msg);
	want = json_tokener_parse("{\"office\": \"001\", \"code\": \"VRK\", \"currency\": \"EUR\","
	    " \"date\": \"20261204\", \"period\": \"2026/12\", \"duedate\": \"20261204\","
	    " \"invoicenumber\": \"K1-000123\", \"freetext1\": \"K1-000123\", \"lines\": ["
	    " {\"type\": \"detail\", \"dim1\": \"8000\", \"dim2\": \"WINKEL1\", \"dim3\": \"P0001\","
	    "  \"debitcredit\": \"credit\", \"value\": 20, \"vatcode\": \"VH\", \"description\": \"100234 Mok wit\"},"
	    " {\"type\": \"detail\", \"dim1\": \"8000\", \"dim2\": \"WINKEL1\", \"dim3\": \"P0001\","
	    "  \"debitcredit\": \"debit\", \"value\": 0.83, \"vatcode\": \"VH\", \"description\": \"Korting Mok wit\"},"
	    " {\"type\": \"detail\", \"dim1\": \"8000\", \"dim2\": \"WINKEL1\", \"dim3\": \"P0001\","
	    "  \"debitcredit\": \"credit\", \"value\": 5.74, \"vatcode\": \"VH\", \"description\": \"Verzendkosten postnl\"},"
	    " {\"type\": \"detail\", \"dim1\": \"8000\", \"dim2\": \"WINKEL1\", \"dim3\": \"P0001\","
	    "  \"debitcredit\": \"debit\", \"value\": 4.13, \"vatcode\": \"VH\", \"description\": \"Kortingscode WINTER10\"}]}");
	ck_assert_ptr_nonnull(want);
	assert_json_eq(jget(out, "transaction"), want);
	ck_assert_str_eq(jstr(out, "invoice.status"), "final");
	json_object_put(out);
	json_object_put(want);

	/* A returned item (negative quantity) is a debit of the absolute value. */
	json_object_object_add(jget(src, "lines[0]"), "quantity", json_object_new_int(-1));
	out = apply_default("order.json", src, tx, &err);
	ck_assert_msg(out != NULL, "%s", err.msg);
	ck_assert_str_eq(jstr(out, "transaction.lines[0].debitcredit"), "debit");
	ck_assert_str_eq(jstr(out, "transaction.lines[0].value"), "10");
	ck_assert_str_eq(jstr(out, "invoice.lines[0].quantity"), "-1");
	json_object_put(out);
	json_object_put(src);
}
END_TEST

START_TEST(test_default_mappings_load)
{
	static const char	*names[] = { "order.json", "customer.json", "product.json" };
	struct kb_err		 err;
	struct map		*m;
	char			 rel[128];
	size_t			 i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(rel, sizeof rel, "conf/mapping/%s", names[i]);
		m = map_load(src_path(rel), &err);
		ck_assert_msg(m != NULL, "%s", err.msg);
		map_free(m);
	}
}
END_TEST

START_TEST(test_default_customer_and_product)
{
	struct json_object	*src, *out, *want;
	struct kb_err		 err;

	src = read_json("tests/data/mapping/customer-modeled.json");
	want = read_json("tests/data/mapping/customer-modeled.expected.json");
	out = apply_default("customer.json", src, order_settings, &err);
	ck_assert_msg(out != NULL, "%s", err.msg);
	assert_json_eq(out, want);
	json_object_put(out);
	json_object_put(want);
	json_object_put(src);

	src = read_json("tests/data/mapping/product-modeled.json");
	want = read_json("tests/data/mapping/product-modeled.expected.json");
	out = apply_default("product.json", src, order_settings, &err);
	ck_assert_msg(out != NULL, "%s", err.msg);
	assert_json_eq(out, want);
	json_object_put(out);
	json_object_put(want);
	json_object_put(src);
}
END_TEST

static Suite *
map_load_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("map_load");
	tc = tcase_create("validation");
	tcase_add_loop_test(tc, test_bad_mapping, 0, sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_files);
	suite_add_tcase(s, tc);
	tc = tcase_create("defaults");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_default_mappings_load);
	tcase_add_test(tc, test_default_order);
	tcase_add_test(tc, test_default_order_variants);
	tcase_add_test(tc, test_default_order_transaction);
	tcase_add_test(tc, test_default_customer_and_product);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(map_load_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
