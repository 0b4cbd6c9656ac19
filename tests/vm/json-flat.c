/* SPDX-License-Identifier: MIT */
/* json-flat: kdc-run's --json-status object as KEY=VALUE lines, for shell
 * tests that read them with builtins (the guest has no jq, and every exec
 * there costs about 0.1 s).
 *
 *   json-flat FILE
 *
 * Strings and integers as they are, null as "null", true/false; a real as
 * "%.6f" and, for shell arithmetic, also KEY_us= the value times 10^6 rounded
 * to an integer; an array as its elements joined by ',' (empty: nothing
 * after '='). Exit 1 with a message when FILE is not a JSON object or holds
 * a nested object or an array of non-scalars. */

#include <jansson.h>
#include <math.h>
#include <stdio.h>

static int scalar(json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, len, "%s", json_string_value(v));
		return 0;
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	case JSON_REAL:
		snprintf(buf, len, "%.6f", json_real_value(v));
		return 0;
	case JSON_TRUE:
		snprintf(buf, len, "true");
		return 0;
	case JSON_FALSE:
		snprintf(buf, len, "false");
		return 0;
	case JSON_NULL:
		snprintf(buf, len, "null");
		return 0;
	default:
		return -1;
	}
}

int main(int argc, char **argv)
{
	json_error_t e;
	json_t *o, *v;
	const char *key;
	char buf[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: json-flat FILE\n");
		return 2;
	}
	o = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &e);
	if (!o || !json_is_object(o)) {
		fprintf(stderr, "json-flat: %s:%d: %s\n", argv[1], e.line, o ? "not a JSON object" : e.text);
		return 1;
	}
	json_object_foreach(o, key, v)
	{
		if (json_is_array(v)) {
			size_t i;
			json_t *el;

			printf("%s=", key);
			json_array_foreach(v, i, el)
			{
				if (scalar(el, buf, sizeof buf) < 0) {
					fprintf(stderr, "json-flat: %s: '%s' holds a non-scalar\n", argv[1], key);
					return 1;
				}
				printf("%s%s", i ? "," : "", buf);
			}
			printf("\n");
			continue;
		}
		if (scalar(v, buf, sizeof buf) < 0) {
			fprintf(stderr, "json-flat: %s: '%s' is a nested object\n", argv[1], key);
			return 1;
		}
		printf("%s=%s\n", key, buf);
		if (json_is_real(v))
			printf("%s_us=%.0f\n", key, round(json_real_value(v) * 1e6));
	}
	json_decref(o);
	return 0;
}
