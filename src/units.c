#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kassaboek/units.h"

/* Parses the leading unsigned decimal of s; *end points past it. */
static int
units_leading_u64(const char *s, uint64_t *out, const char **end, struct kb_err *err)
{
	unsigned long long	v;
	char			*e;

	if (!isdigit((unsigned char)s[0]))
		return (kb_err_set(err, "'%s' is not a number", s));
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno == ERANGE)
		return (kb_err_set(err, "'%s' is too large", s));
	*out = v;
	*end = e;
	return (0);
}

int
kb_parse_int(const char *s, long long min, long long max, long long *out, struct kb_err *err)
{
	long long	 v;
	char		*e;

	if (*s == '\0' || isspace((unsigned char)*s))
		return (kb_err_set(err, "'%s' is not a whole number", s));
	errno = 0;
	v = strtoll(s, &e, 10);
	if (*e != '\0')
		return (kb_err_set(err, "'%s' is not a whole number", s));
	if (errno == ERANGE || v < min || v > max)
		return (kb_err_set(err, "%s is out of range (%lld..%lld)", s, min, max));
	*out = v;
	return (0);
}

/* Multiplies with overflow check. */
static int
units_scale(uint64_t v, uint64_t mult, uint64_t *out, const char *s, struct kb_err *err)
{
	if (mult != 0 && v > UINT64_MAX / mult)
		return (kb_err_set(err, "'%s' is too large", s));
	*out = v * mult;
	return (0);
}

int
kb_parse_size(const char *s, uint64_t *out, struct kb_err *err)
{
	uint64_t	 v, mult;
	const char	*u;

	if (units_leading_u64(s, &v, &u, err) == -1)
		return (-1);
	if (*u == '\0' || strcasecmp(u, "b") == 0)
		mult = 1;
	else if (strcasecmp(u, "k") == 0 || strcasecmp(u, "kb") == 0)
		mult = 1024;
	else if (strcasecmp(u, "m") == 0 || strcasecmp(u, "mb") == 0)
		mult = 1024 * 1024;
	else if (strcasecmp(u, "g") == 0 || strcasecmp(u, "gb") == 0)
		mult = 1024ULL * 1024 * 1024;
	else
		return (kb_err_set(err, "'%s' has an unknown size unit (use k, m or g)", s));
	return (units_scale(v, mult, out, s, err));
}

int
kb_parse_duration_ms(const char *s, uint64_t *out, struct kb_err *err)
{
	uint64_t	 v, mult;
	const char	*u;

	if (units_leading_u64(s, &v, &u, err) == -1)
		return (-1);
	if (strcmp(u, "ms") == 0)
		mult = 1;
	else if (*u == '\0' || strcmp(u, "s") == 0)
		mult = 1000;
	else if (strcmp(u, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(u, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(u, "d") == 0)
		mult = 86400ULL * 1000;
	else
		return (kb_err_set(err, "'%s' has an unknown duration unit (use ms, s, m, h or d)", s));
	return (units_scale(v, mult, out, s, err));
}

int
kb_parse_bool(const char *s, int *out, struct kb_err *err)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t	i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return (0);
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return (0);
		}
	}
	return (kb_err_set(err, "'%s' is not a boolean (use yes or no)", s));
}

struct timeval
kb_timeval_ms(uint64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	return (tv);
}
