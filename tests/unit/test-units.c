/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/units.h"
#include "shared/strv.h"
#include "check-run.h"

START_TEST(size_parse)
{
	uint64_t v;
	ck_assert_int_eq(units_parse_size("512", false, &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(units_parse_size("512M", false, &v), 0);
	ck_assert_uint_eq(v, 512ull << 20);
	ck_assert_int_eq(units_parse_size("1.5G", false, &v), 0);
	ck_assert_uint_eq(v, 3ull << 29);
	ck_assert_int_eq(units_parse_size("64MiB", false, &v), 0);
	ck_assert_uint_eq(v, 64ull << 20);
	ck_assert_int_eq(units_parse_size("2k", false, &v), 0);
	ck_assert_uint_eq(v, 2048);
	ck_assert_int_eq(units_parse_size("max", true, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(units_parse_size("max", false, &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("512X", false, &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("-1M", false, &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("", false, &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1.", false, &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("0.3", false, &v), -EINVAL); /* fraction of a byte */
	ck_assert_int_eq(units_parse_size("99999999999999999999", false, &v), -ERANGE);
	ck_assert_int_eq(units_parse_size("20000000T", false, &v), -ERANGE);
}
END_TEST

START_TEST(size_format)
{
	char b[32];
	ck_assert_str_eq(units_format_size(b, sizeof b, 512ull << 20), "512M");
	ck_assert_str_eq(units_format_size(b, sizeof b, 3ull << 29), "1536M");
	ck_assert_str_eq(units_format_size(b, sizeof b, 1000), "1000");
	ck_assert_str_eq(units_format_size(b, sizeof b, UINT64_MAX), "max");
}
END_TEST

START_TEST(duration_parse)
{
	uint64_t v;
	ck_assert_int_eq(units_parse_duration("30", false, &v), 0);
	ck_assert_uint_eq(v, 30 * USEC_PER_SEC);
	ck_assert_int_eq(units_parse_duration("30m", false, &v), 0);
	ck_assert_uint_eq(v, 1800 * USEC_PER_SEC);
	ck_assert_int_eq(units_parse_duration("250ms", false, &v), 0);
	ck_assert_uint_eq(v, 250000);
	ck_assert_int_eq(units_parse_duration("1.5m", false, &v), 0);
	ck_assert_uint_eq(v, 90 * USEC_PER_SEC);
	ck_assert_int_eq(units_parse_duration("1h30m", false, &v), 0);
	ck_assert_uint_eq(v, 5400 * USEC_PER_SEC);
	ck_assert_int_eq(units_parse_duration("5s", false, &v), 0);
	ck_assert_uint_eq(v, 5 * USEC_PER_SEC);
	ck_assert_int_eq(units_parse_duration("infinity", true, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(units_parse_duration("5x", false, &v), -EINVAL);
	ck_assert_int_eq(units_parse_duration("1m30", false, &v), -EINVAL);
	ck_assert_int_eq(units_parse_duration("s", false, &v), -EINVAL);
	ck_assert_int_eq(units_parse_duration("", false, &v), -EINVAL);
	ck_assert_int_eq(units_parse_duration("-5s", false, &v), -EINVAL);
}
END_TEST

START_TEST(cpu_parse)
{
	uint64_t v;
	char b[32];
	ck_assert_int_eq(units_parse_cpu("1.5", &v), 0);
	ck_assert_uint_eq(v, 1500);
	ck_assert_int_eq(units_parse_cpu("150%", &v), 0);
	ck_assert_uint_eq(v, 1500);
	ck_assert_int_eq(units_parse_cpu("0.25", &v), 0);
	ck_assert_uint_eq(v, 250);
	ck_assert_int_eq(units_parse_cpu("0", &v), -ERANGE);
	ck_assert_int_eq(units_parse_cpu("two", &v), -EINVAL);
	ck_assert_str_eq(units_format_cpu(b, sizeof b, 1500), "1.5");
	ck_assert_str_eq(units_format_cpu(b, sizeof b, 2000), "2");
	ck_assert_str_eq(units_format_cpu(b, sizeof b, 250), "0.25");
}
END_TEST

START_TEST(amount_exact)
{
	int64_t v;
	char unit[UNITS_NAME_MAX], b[64];

	ck_assert_int_eq(units_parse_amount("12.50USD", false, &v, unit), 0);
	ck_assert_int_eq(v, 12500000);
	ck_assert_str_eq(unit, "USD");
	ck_assert_str_eq(units_format_amount(b, sizeof b, v, unit), "12.50USD");
	ck_assert_int_eq(units_parse_amount("0.000010USD", false, &v, unit), 0);
	ck_assert_int_eq(v, 10);
	ck_assert_str_eq(units_format_amount(b, sizeof b, v, unit), "0.00001USD");
	ck_assert_int_eq(units_parse_amount("3600cpu-s", false, &v, unit), 0);
	ck_assert_int_eq(v, 3600000000);
	ck_assert_str_eq(unit, "cpu-s");
	ck_assert_int_eq(units_parse_amount("0.02 USD", false, &v, unit), 0);
	ck_assert_int_eq(v, 20000);
	ck_assert_int_eq(units_parse_amount("0.0000001USD", false, &v, unit), -EINVAL);
	ck_assert_int_eq(units_parse_amount("-1USD", false, &v, unit), -ERANGE);
	ck_assert_int_eq(units_parse_amount("-1USD", true, &v, unit), 0);
	ck_assert_int_eq(v, -1000000);
	ck_assert_int_eq(units_parse_amount("12.50", false, &v, unit), -EINVAL);
	ck_assert_int_eq(units_parse_amount("USD", false, &v, unit), -EINVAL);
	ck_assert_int_eq(units_parse_amount("9223372036854.775808USD", false, &v, unit), -ERANGE);
	ck_assert_int_eq(units_parse_amount("9223372036854.775807USD", false, &v, unit), 0);
	ck_assert_int_eq(v, INT64_MAX);
	ck_assert_str_eq(units_format_micro(b, sizeof b, INT64_MIN), "-9223372036854.775808");
}
END_TEST

START_TEST(strv_ops)
{
	_cleanup_strv_free_ char **l = NULL;
	char *j;
	ck_assert_int_eq(strv_split("a b,,c", " ,", &l), 0);
	ck_assert_uint_eq(strv_length(l), 3);
	ck_assert(strv_contains(l, "b"));
	strv_remove(l, "b");
	j = strv_join(l, ":");
	ck_assert_str_eq(j, "a:c");
	free(j);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("core");
	SRunner *sr;

	tcase_add_test(tc, size_parse);
	tcase_add_test(tc, size_format);
	tcase_add_test(tc, duration_parse);
	tcase_add_test(tc, cpu_parse);
	tcase_add_test(tc, amount_exact);
	tcase_add_test(tc, strv_ops);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	return check_run(sr);
}
