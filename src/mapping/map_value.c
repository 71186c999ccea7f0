/*
 * Value helpers for the mapper: emptiness and truth, the string and number
 * views of a scalar, and ISO 8601 dates. Numbers print canonically ("21"
 * for 21.0, "12.1" for 12.10) so that table keys and concatenations do not
 * depend on how the source happened to spell a number.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kassaboek/xmalloc.h"

#include "map-internal.h"

int
map_value_empty(struct json_object *v)
{
	if (v == NULL)
		return (1);
	switch (json_object_get_type(v)) {
	case json_type_null:
		return (1);
	case json_type_string:
		return (json_object_get_string_len(v) == 0);
	case json_type_array:
		return (json_object_array_length(v) == 0);
	case json_type_object:
		return (json_object_object_length(v) == 0);
	default:
		return (0);
	}
}

int
map_value_truthy(struct json_object *v)
{
	double	d;

	if (map_value_empty(v))
		return (0);
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return (json_object_get_boolean(v));
	case json_type_int:
	case json_type_double:
		(void)map_value_num(v, &d);
		return (d != 0);
	default:
		return (1);
	}
}

int
map_value_is_scalar(struct json_object *v)
{
	return (v == NULL || (!json_object_is_type(v, json_type_object) &&
	    !json_object_is_type(v, json_type_array)));
}

const char *
map_value_type(struct json_object *v)
{
	if (v == NULL)
		return ("nothing");
	switch (json_object_get_type(v)) {
	case json_type_null:
		return ("null");
	case json_type_boolean:
		return ("a boolean");
	case json_type_int:
	case json_type_double:
		return ("a number");
	case json_type_string:
		return ("a string");
	case json_type_array:
		return ("an array");
	case json_type_object:
		return ("an object");
	}
	return ("?");
}

void
map_value_fmt_number(double d, char buf[MAP_NUMBUF])
{
	if (d == 0)
		d = 0;		/* no "-0" */
	if (fabs(d) < 9007199254740992.0 && d == trunc(d))
		snprintf(buf, MAP_NUMBUF, "%.0f", d);
	else
		snprintf(buf, MAP_NUMBUF, "%.15g", d);
}

const char *
map_value_str(struct json_object *v, char buf[MAP_NUMBUF], size_t *lenp)
{
	const char	*s;
	double		 d;

	if (v == NULL || json_object_is_type(v, json_type_null)) {
		s = "";
		goto out;
	}
	switch (json_object_get_type(v)) {
	case json_type_string:
		*lenp = (size_t)json_object_get_string_len(v);
		return (json_object_get_string(v));
	case json_type_boolean:
		s = json_object_get_boolean(v) ? "true" : "false";
		break;
	case json_type_int:
		if (json_object_get_int64(v) == INT64_MAX)
			snprintf(buf, MAP_NUMBUF, "%" PRIu64,
			    json_object_get_uint64(v));
		else
			snprintf(buf, MAP_NUMBUF, "%" PRId64,
			    json_object_get_int64(v));
		s = buf;
		break;
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d))
			d = 0;
		map_value_fmt_number(d, buf);
		s = buf;
		break;
	default:
		return (NULL);
	}
out:
	*lenp = strlen(s);
	return (s);
}

/* A number, or a string that is exactly one (spaces around allowed). */
int
map_value_num(struct json_object *v, double *out)
{
	const char	*s;
	char		*end;
	double		 d;

	if (v == NULL)
		return (-1);
	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
		d = json_object_get_double(v);
		break;
	case json_type_string:
		s = json_object_get_string(v);
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0' || strlen(s) > 64)
			return (-1);
		/* Only plain decimals: no hex, inf or nan from strtod. */
		if (strspn(s, "+-0123456789.eE \t") != strlen(s))
			return (-1);
		errno = 0;
		d = strtod(s, &end);
		while (isspace((unsigned char)*end))
			end++;
		if (end == s || *end != '\0' || errno == ERANGE)
			return (-1);
		break;
	default:
		return (-1);
	}
	if (!isfinite(d))
		return (-1);
	*out = d;
	return (0);
}

/* Integral values become json ints (they print as "2", not "2.0"). */
struct json_object *
map_value_new_number(double d)
{
	char	buf[MAP_NUMBUF];

	if (d == 0)
		d = 0;
	if (fabs(d) < 9007199254740992.0 && d == trunc(d))
		return (json_object_new_int64((int64_t)d));
	map_value_fmt_number(d, buf);
	return (json_object_new_double_s(d, buf));
}

/* A copy of a scalar, so that the target never shares objects with the source. */
struct json_object *
map_value_copy_scalar(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return (json_object_new_boolean(json_object_get_boolean(v)));
	case json_type_int:
		if (json_object_get_int64(v) == INT64_MAX)
			return (json_object_new_uint64(json_object_get_uint64(v)));
		return (json_object_new_int64(json_object_get_int64(v)));
	case json_type_double:
		return (map_value_new_number(isfinite(json_object_get_double(v)) ?
		    json_object_get_double(v) : 0));
	case json_type_string:
		return (json_object_new_string_len(json_object_get_string(v),
		    json_object_get_string_len(v)));
	default:
		return (NULL);
	}
}

/*
 * Compares two values: as numbers when both are numbers (or numeric
 * strings next to a number), else as strings. Empty values are equal to
 * each other and smaller than anything else.
 */
int
map_value_cmp(struct json_object *a, struct json_object *b)
{
	char		 ba[MAP_NUMBUF], bb[MAP_NUMBUF];
	const char	*sa, *sb;
	size_t		 la, lb;
	double		 da, db;
	int		 ea, eb, numa, numb, c;

	ea = map_value_empty(a);
	eb = map_value_empty(b);
	if (ea || eb)
		return (eb - ea);
	numa = json_object_is_type(a, json_type_int) ||
	    json_object_is_type(a, json_type_double);
	numb = json_object_is_type(b, json_type_int) ||
	    json_object_is_type(b, json_type_double);
	if ((numa || numb) && map_value_num(a, &da) == 0 &&
	    map_value_num(b, &db) == 0)
		return ((da > db) - (da < db));
	sa = map_value_str(a, ba, &la);
	sb = map_value_str(b, bb, &lb);
	if (sa == NULL || sb == NULL)
		return ((sa != NULL) - (sb != NULL));
	c = memcmp(sa, sb, la < lb ? la : lb);
	if (c != 0)
		return (c < 0 ? -1 : 1);
	return ((la > lb) - (la < lb));
}

/* Dates. */

static int
map_date_mdays(int y, int m)
{
	static const int	days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (29);
	return (days[m - 1]);
}

static int
map_date_digits(const char *s, size_t len, size_t at, size_t n, int *out)
{
	size_t	i;
	int	v = 0;

	if (at + n > len)
		return (-1);
	for (i = 0; i < n; i++) {
		if (s[at + i] < '0' || s[at + i] > '9')
			return (-1);
		v = v * 10 + (s[at + i] - '0');
	}
	*out = v;
	return (0);
}

/*
 * YYYY-MM-DD, optionally followed by T or a space and hh:mm[:ss[.frac]],
 * then optionally Z or +hh:mm / -hh:mm / +hhmm. The zone is validated and
 * ignored: dates are taken as the till wrote them (its local day).
 */
int
map_date_parse(const char *s, size_t len, struct map_tm *out)
{
	size_t	at;
	int	zh, zm;

	memset(out, 0, sizeof *out);
	if (map_date_digits(s, len, 0, 4, &out->y) != 0 || len < 10 ||
	    s[4] != '-' || map_date_digits(s, len, 5, 2, &out->mo) != 0 ||
	    s[7] != '-' || map_date_digits(s, len, 8, 2, &out->d) != 0)
		return (-1);
	if (out->y < 1 || out->mo < 1 || out->mo > 12 || out->d < 1 ||
	    out->d > map_date_mdays(out->y, out->mo))
		return (-1);
	at = 10;
	if (at == len)
		return (0);
	if (s[at] != 'T' && s[at] != 't' && s[at] != ' ')
		return (-1);
	at++;
	if (map_date_digits(s, len, at, 2, &out->h) != 0 || at + 2 >= len ||
	    s[at + 2] != ':' || map_date_digits(s, len, at + 3, 2, &out->mi) != 0)
		return (-1);
	at += 5;
	if (at < len && s[at] == ':') {
		if (map_date_digits(s, len, at + 1, 2, &out->s) != 0)
			return (-1);
		at += 3;
		if (at < len && (s[at] == '.' || s[at] == ',')) {
			at++;
			if (at >= len || s[at] < '0' || s[at] > '9')
				return (-1);
			while (at < len && s[at] >= '0' && s[at] <= '9')
				at++;
		}
	}
	if (out->h > 23 || out->mi > 59 || out->s > 60)
		return (-1);
	if (at == len)
		return (0);
	if ((s[at] == 'Z' || s[at] == 'z') && at + 1 == len)
		return (0);
	if (s[at] != '+' && s[at] != '-')
		return (-1);
	if (map_date_digits(s, len, at + 1, 2, &zh) != 0)
		return (-1);
	at += 3;
	if (at < len && s[at] == ':')
		at++;
	if (map_date_digits(s, len, at, 2, &zm) != 0 || at + 2 != len ||
	    zh > 23 || zm > 59)
		return (-1);
	return (0);
}

/* Days since 1970-01-01 and back (Howard Hinnant's civil calendar algorithms). */
static long
map_date_to_days(int y, int m, int d)
{
	long	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static void
map_date_from_days(long z, int *yp, int *mp, int *dp)
{
	long	era, doe, yoe, y, doy, mp5, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp5 = (5 * doy + 2) / 153;
	d = doy - (153 * mp5 + 2) / 5 + 1;
	m = mp5 + (mp5 < 10 ? 3 : -9);
	*yp = (int)(y + (m <= 2));
	*mp = (int)m;
	*dp = (int)d;
}

void
map_date_add_days(struct map_tm *tm, long days)
{
	map_date_from_days(map_date_to_days(tm->y, tm->mo, tm->d) + days,
	    &tm->y, &tm->mo, &tm->d);
}

static const struct {
	const char	*name;
	const char	*fmt;
} map_date_presets[] = {
	{ "yyyymmdd", "%Y%m%d" },		/* Twinfield dates */
	{ "yyyy/mm", "%Y/%m" },			/* Twinfield periods */
	{ "yyyy-mm-dd", "%Y-%m-%d" },
	{ "dd-mm-yyyy", "%d-%m-%Y" },
	{ "iso", "%Y-%m-%dT%H:%M:%S" },
};

const char *
map_date_preset(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof map_date_presets / sizeof map_date_presets[0];
	    i++)
		if (strcmp(name, map_date_presets[i].name) == 0)
			return (map_date_presets[i].fmt);
	return (NULL);
}

int
map_date_format_check(const char *fmt, char *why, size_t whylen)
{
	const char	*p;

	if (strlen(fmt) > 64) {
		snprintf(why, whylen, "date format longer than 64 characters");
		return (-1);
	}
	for (p = fmt; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '\0' || strchr("YymdHMS%", *p) == NULL) {
			snprintf(why, whylen, "unknown date conversion '%%%.1s' "
			    "(use %%Y %%y %%m %%d %%H %%M %%S %%%%, or one of "
			    "yyyymmdd, yyyy/mm, yyyy-mm-dd, dd-mm-yyyy, iso)", p);
			return (-1);
		}
	}
	return (0);
}

void
map_date_format(const struct map_tm *tm, const char *fmt, char *buf, size_t len)
{
	size_t	at = 0;
	int	n;

	for (; *fmt != '\0' && at + 1 < len; fmt++) {
		n = 0;
		if (*fmt != '%') {
			buf[at++] = *fmt;
			continue;
		}
		fmt++;
		switch (*fmt) {
		case 'Y':
			n = snprintf(buf + at, len - at, "%04d", tm->y);
			break;
		case 'y':
			n = snprintf(buf + at, len - at, "%02d", tm->y % 100);
			break;
		case 'm':
			n = snprintf(buf + at, len - at, "%02d", tm->mo);
			break;
		case 'd':
			n = snprintf(buf + at, len - at, "%02d", tm->d);
			break;
		case 'H':
			n = snprintf(buf + at, len - at, "%02d", tm->h);
			break;
		case 'M':
			n = snprintf(buf + at, len - at, "%02d", tm->mi);
			break;
		case 'S':
			n = snprintf(buf + at, len - at, "%02d", tm->s);
			break;
		default:	/* '%': checked at load */
			buf[at++] = '%';
			break;
		}
		if (n > 0)
			at = at + (size_t)n >= len ? len - 1 : at + (size_t)n;
		if (*fmt == '\0')
			break;
	}
	buf[at] = '\0';
}

void
map_value_quote(struct json_object *v, char *buf, size_t len)
{
	char		 nb[MAP_NUMBUF];
	const char	*s;
	size_t		 n, i, at = 0;
	unsigned char	 c;

	if ((s = map_value_str(v, nb, &n)) == NULL) {
		snprintf(buf, len, "(%s)", map_value_type(v));
		return;
	}
	if (len < 16) {
		buf[0] = '\0';
		return;
	}
	buf[at++] = '\'';
	for (i = 0; i < n && at + 8 < len; i++) {
		c = (unsigned char)s[i];
		if (c < ' ' || c == 0x7f || c == '\'' || c == '\\')
			at += (size_t)snprintf(buf + at, len - at, "\\x%02x", c);
		else
			buf[at++] = (char)c;
	}
	if (i < n) {
		memcpy(buf + at, "...", 3);
		at += 3;
	}
	buf[at++] = '\'';
	buf[at] = '\0';
}

/*
 * Half away from zero on the decimal value the number was written as:
 * 1.005 rounds to 1.01 although its binary value is a hair below.
 */
double
map_value_round(double x, int decimals)
{
	double	p, y;

	p = pow(10, decimals);
	y = x * p;
	if (!isfinite(y))
		return (x);
	y += copysign(fabs(y) * 8 * 2.220446049250313e-16, y);
	return (round(y) / p);
}
