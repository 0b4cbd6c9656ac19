/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/macro.h"
#include "shared/strv.h"

void strv_free(char **l)
{
	if (!l)
		return;
	for (char **s = l; *s; s++)
		free(*s);
	free(l);
}

size_t strv_length(char *const *l)
{
	size_t n = 0;
	while (l && l[n])
		n++;
	return n;
}

int strv_push(char ***l, char *s)
{
	size_t n = strv_length(*l);
	char **c = realloc(*l, sizeof(char *) * (n + 2));
	if (!c)
		return -ENOMEM;
	c[n] = s;
	c[n + 1] = NULL;
	*l = c;
	return 0;
}

int strv_extend(char ***l, const char *s)
{
	char *d = strdup(s);
	if (!d)
		return -ENOMEM;
	if (strv_push(l, d) < 0) {
		free(d);
		return -ENOMEM;
	}
	return 0;
}

int strv_extend_strv(char ***l, char *const *other)
{
	STRV_FOREACH (s, other) {
		int r = strv_extend(l, *s);
		if (r < 0)
			return r;
	}
	return 0;
}

char **strv_copy(char *const *l)
{
	char **c = calloc(1, sizeof(char *));
	if (!c)
		return NULL;
	if (strv_extend_strv(&c, l) < 0) {
		strv_free(c);
		return NULL;
	}
	return c;
}

bool strv_contains(char *const *l, const char *s)
{
	STRV_FOREACH (i, l)
		if (streq(*i, s))
			return true;
	return false;
}

int strv_split(const char *s, const char *separators, char ***ret)
{
	char **l = calloc(1, sizeof(char *));
	const char *p = s;

	if (!l)
		return -ENOMEM;
	while (*p) {
		size_t n;
		p += strspn(p, separators);
		n = strcspn(p, separators);
		if (n > 0) {
			char *w = strndup(p, n);
			if (!w || strv_push(&l, w) < 0) {
				free(w);
				strv_free(l);
				return -ENOMEM;
			}
		}
		p += n;
	}
	*ret = l;
	return 0;
}

char *strv_join(char *const *l, const char *sep)
{
	size_t len = 1, sl = strlen(sep);
	char *r, *p;

	STRV_FOREACH (s, l)
		len += strlen(*s) + sl;
	r = p = malloc(len);
	if (!r)
		return NULL;
	*p = 0;
	STRV_FOREACH (s, l) {
		if (s != l) {
			memcpy(p, sep, sl);
			p += sl;
		}
		size_t n = strlen(*s);
		memcpy(p, *s, n);
		p += n;
		*p = 0;
	}
	return r;
}

void strv_remove(char **l, const char *s)
{
	char **w = l;
	if (!l)
		return;
	for (char **r = l; *r; r++) {
		if (streq(*r, s))
			free(*r);
		else
			*w++ = *r;
	}
	*w = NULL;
}
