/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated string vectors. */
void strv_free(char **l);
static inline void strv_freep(char ***l)
{
	strv_free(*l);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

size_t strv_length(char *const *l);
/* Appends a copy of s. -ENOMEM on failure. */
int strv_extend(char ***l, const char *s);
/* Appends s itself (takes ownership on success only). */
int strv_push(char ***l, char *s);
int strv_extend_strv(char ***l, char *const *other);
char **strv_copy(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Splits on any of the separators, skipping empty fields. */
int strv_split(const char *s, const char *separators, char ***ret);
/* Joins with sep; returns NULL on ENOMEM. */
char *strv_join(char *const *l, const char *sep);
/* Removes every element equal to s. */
void strv_remove(char **l, const char *s);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
