/*
 * Allocation wrappers that never return NULL: on out-of-memory they log and
 * abort(), so callers do not check (tmux xmalloc.c, redis zmalloc).
 * Attacker-sized input never goes through these unbounded: size it first.
 */
#ifndef KASSABOEK_XMALLOC_H
#define KASSABOEK_XMALLOC_H

#include <stddef.h>
#include <stdarg.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* Returns a new string the caller frees. */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char	*xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
