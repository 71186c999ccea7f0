/* Checked parsers for numbers, sizes, durations and booleans. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "kassaboek/units.h"
#include "check-main.h"

START_TEST(test_sizes)
{
	uint64_t	v;
	struct kb_err	err;

	ck_assert_int_eq(kb_parse_size("512", &v, &err), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(kb_parse_size("64k", &v, &err), 0);
	ck_assert_uint_eq(v, 65536);
	ck_assert_int_eq(kb_parse_size("1m", &v, &err), 0);
	ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(kb_parse_size("2G", &v, &err), 0);
	ck_assert_uint_eq(v, 2147483648ULL);
	ck_assert_int_eq(kb_parse_size("1q", &v, &err), -1);
	ck_assert_int_eq(kb_parse_size("-1k", &v, &err), -1);
	ck_assert_int_eq(kb_parse_size("", &v, &err), -1);
	ck_assert_int_eq(kb_parse_size("99999999999999999999k", &v, &err), -1);
	ck_assert_int_eq(kb_parse_size("18014398509481984k", &v, &err), -1);	/* overflows when scaled */
}
END_TEST

START_TEST(test_durations)
{
	uint64_t	v;
	struct kb_err	err;

	ck_assert_int_eq(kb_parse_duration_ms("200ms", &v, &err), 0);
	ck_assert_uint_eq(v, 200);
	ck_assert_int_eq(kb_parse_duration_ms("5s", &v, &err), 0);
	ck_assert_uint_eq(v, 5000);
	ck_assert_int_eq(kb_parse_duration_ms("5", &v, &err), 0);
	ck_assert_uint_eq(v, 5000);
	ck_assert_int_eq(kb_parse_duration_ms("5m", &v, &err), 0);
	ck_assert_uint_eq(v, 300000);
	ck_assert_int_eq(kb_parse_duration_ms("72h", &v, &err), 0);
	ck_assert_uint_eq(v, 259200000ULL);
	ck_assert_int_eq(kb_parse_duration_ms("30d", &v, &err), 0);
	ck_assert_uint_eq(v, 2592000000ULL);
	ck_assert_int_eq(kb_parse_duration_ms("5 s", &v, &err), -1);
	ck_assert_int_eq(kb_parse_duration_ms("1w", &v, &err), -1);
	ck_assert_int_eq(kb_parse_duration_ms("s", &v, &err), -1);
}
END_TEST

START_TEST(test_ints_and_bools)
{
	long long	n;
	int		b;
	struct kb_err	err;

	ck_assert_int_eq(kb_parse_int("42", 1, 100, &n, &err), 0);
	ck_assert_int_eq(n, 42);
	ck_assert_int_eq(kb_parse_int("0", 1, 100, &n, &err), -1);
	ck_assert_int_eq(kb_parse_int("101", 1, 100, &n, &err), -1);
	ck_assert_int_eq(kb_parse_int("4x", 1, 100, &n, &err), -1);
	ck_assert_int_eq(kb_parse_int(" 4", 1, 100, &n, &err), -1);
	ck_assert_int_eq(kb_parse_bool("yes", &b, &err), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(kb_parse_bool("Off", &b, &err), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(kb_parse_bool("maybe", &b, &err), -1);
}
END_TEST

static Suite *
units_suite(void)
{
	Suite	*s = suite_create("units");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_ints_and_bools);
	suite_add_tcase(s, tc);
	return (s);
}

KB_CHECK_MAIN(units_suite)
