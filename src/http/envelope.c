/*
 * Validating a webhook body without building it: the receiver only needs
 * to know that the body is one well-formed JSON value (RFC 8259, UTF-8)
 * and to read three top-level members of the envelope. Building the whole
 * document with json-c costs ~250 allocations for a typical order and
 * was 60% of the receiver's CPU per request (bench/ingest, callgrind);
 * the workers still parse with json-c. This scanner allocates nothing,
 * recurses nowhere (an explicit stack of HTTP_JSON_DEPTH levels) and is
 * checked against json-c on valid and invalid documents in
 * tests/unit/check_envelope.c.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "http-internal.h"

struct scan {
	const unsigned char	*p, *end;
	struct kb_err		*err;
	const unsigned char	*start;
};

static int
scan_fail(struct scan *s, const char *what)
{
	return (kb_err_set(s->err, "%s at offset %zu", what, (size_t)(s->p - s->start)));
}

static void
scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
scan_hex4(struct scan *s, unsigned *out)
{
	unsigned	v = 0, d;
	int		i;

	if (s->end - s->p < 4)
		return (scan_fail(s, "truncated \\u escape"));
	for (i = 0; i < 4; i++) {
		d = s->p[i];
		if (d >= '0' && d <= '9')
			d -= '0';
		else if (d >= 'a' && d <= 'f')
			d -= 'a' - 10;
		else if (d >= 'A' && d <= 'F')
			d -= 'A' - 10;
		else
			return (scan_fail(s, "bad \\u escape"));
		v = v << 4 | d;
	}
	s->p += 4;
	*out = v;
	return (0);
}

/* Appends code point cp as UTF-8 to out (when out is not NULL and there is room). */
static void
scan_put_utf8(unsigned cp, char *out, size_t cap, size_t *len, int *overflow)
{
	unsigned char	b[4];
	size_t		n, i;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (out == NULL)
		return;
	if (*len + n >= cap) {
		*overflow = 1;
		return;
	}
	for (i = 0; i < n; i++)
		out[(*len)++] = (char)b[i];
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates), or 0. */
static size_t
scan_utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t	n, i;
	unsigned cp;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return (0);
	if ((size_t)(end - p) < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return (0);
	return (n);
}

/*
 * Scans a string (s->p at the opening quote). With out, decodes it into
 * out (NUL-terminated, at most cap - 1 bytes; *overflow set when longer).
 */
static int
scan_string(struct scan *s, char *out, size_t cap, int *overflow)
{
	size_t		len = 0, n;
	unsigned	cp, lo;

	s->p++;
	for (;;) {
		/* Fast path: a run of plain printable ASCII, the bulk of any body. */
		const unsigned char *run = s->p;

		while (s->p < s->end && *s->p >= 0x20 && *s->p < 0x80 && *s->p != '"' && *s->p != '\\')
			s->p++;
		if (out != NULL && s->p > run) {
			n = (size_t)(s->p - run);
			if (len + n >= cap)
				*overflow = 1;
			else {
				memcpy(out + len, run, n);
				len += n;
			}
		}
		if (s->p >= s->end)
			return (scan_fail(s, "unterminated string"));
		if (*s->p == '"') {
			s->p++;
			break;
		}
		if (*s->p < 0x20)
			return (scan_fail(s, "control character in string"));
		if (*s->p == '\\') {
			s->p++;
			if (s->p >= s->end)
				return (scan_fail(s, "unterminated string"));
			switch (*s->p++) {
			case '"':	cp = '"'; break;
			case '\\':	cp = '\\'; break;
			case '/':	cp = '/'; break;
			case 'b':	cp = '\b'; break;
			case 'f':	cp = '\f'; break;
			case 'n':	cp = '\n'; break;
			case 'r':	cp = '\r'; break;
			case 't':	cp = '\t'; break;
			case 'u':
				if (scan_hex4(s, &cp) == -1)
					return (-1);
				/* A high surrogate followed by a low one is one code point. */
				if (cp >= 0xd800 && cp <= 0xdbff && s->end - s->p >= 6 && s->p[0] == '\\' &&
				    s->p[1] == 'u') {
					const unsigned char *save = s->p;

					s->p += 2;
					if (scan_hex4(s, &lo) == -1)
						return (-1);
					if (lo >= 0xdc00 && lo <= 0xdfff)
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					else
						s->p = save;
				}
				break;
			default:
				s->p--;
				return (scan_fail(s, "bad escape in string"));
			}
			scan_put_utf8(cp, out, cap, &len, overflow);
			continue;
		}
		if ((n = scan_utf8_len(s->p, s->end)) == 0)
			return (scan_fail(s, "invalid UTF-8"));
		if (out != NULL) {
			if (len + n >= cap)
				*overflow = 1;
			else {
				memcpy(out + len, s->p, n);
				len += n;
			}
		}
		s->p += n;
	}
	if (out != NULL)
		out[len < cap ? len : cap - 1] = '\0';
	return (0);
}

static int
scan_number(struct scan *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p >= s->end)
		return (scan_fail(s, "truncated number"));
	if (*s->p == '0')
		s->p++;
	else if (*s->p >= '1' && *s->p <= '9')
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	else
		return (scan_fail(s, "unexpected character"));
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (s->p >= s->end || *s->p < '0' || *s->p > '9')
			return (scan_fail(s, "bad number"));
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (s->p >= s->end || *s->p < '0' || *s->p > '9')
			return (scan_fail(s, "bad number"));
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	return (0);
}

static int
scan_literal(struct scan *s, const char *word)
{
	size_t	n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return (scan_fail(s, "unexpected character"));
	s->p += n;
	return (0);
}

/* What the top-level member being read is, so its value can be captured. */
enum member { MEMBER_OTHER, MEMBER_ID, MEMBER_TYPE, MEMBER_DATA };

#define CAPTURE_KEY_MAX	64	/* longer member names never match a capture path */

/* The member names on the way to the value being read, one per open object. */
struct key_path {
	char	name[HTTP_CAPTURE_DEPTH][CAPTURE_KEY_MAX];
	int	ok[HTTP_CAPTURE_DEPTH];	/* name[i] holds the whole member name */
};

/* The capture whose path leads to the value at this depth, or NULL. */
static struct http_capture *
capture_find(struct http_capture *caps, size_t ncaps, const struct key_path *kp, const char *stack,
    int depth)
{
	size_t	i;
	int	d;

	if (depth < 1 || depth > HTTP_CAPTURE_DEPTH)
		return (NULL);
	for (i = 0; i < ncaps; i++) {
		if (caps[i].path == NULL)
			continue;
		for (d = 0; d < depth; d++) {
			if (caps[i].path[d] == NULL || stack[d] != '{' || !kp->ok[d] ||
			    strcmp(kp->name[d], caps[i].path[d]) != 0)
				break;
		}
		if (d == depth && caps[i].path[depth] == NULL)
			return (&caps[i]);
	}
	return (NULL);
}

/*
 * An object or array starts at this depth: captures below it forget what
 * an earlier member of the same name gave (the last duplicate wins, as in
 * json-c, down to whole objects).
 */
static void
capture_reset_below(struct http_capture *caps, size_t ncaps, const struct key_path *kp, const char *stack,
    int depth)
{
	size_t	i;
	int	d;

	for (i = 0; i < ncaps; i++) {
		for (d = 0; d < depth && d < HTTP_CAPTURE_DEPTH; d++) {
			if (caps[i].path[d] == NULL || stack[d] != '{' || !kp->ok[d] ||
			    strcmp(kp->name[d], caps[i].path[d]) != 0)
				break;
		}
		if (d == depth && caps[i].path[d] != NULL)
			caps[i].found = caps[i].too_long = 0;
	}
}

int
http_envelope_parse(const char *body, size_t len, struct http_envelope *env, struct http_capture *caps,
    size_t ncaps, struct kb_err *err)
{
	struct key_path		 kp;
	struct http_capture	*cap;
	const unsigned char	*vstart;
	size_t			 i;
	struct scan		 s;
	char			 stack[HTTP_JSON_DEPTH];	/* '{' or '[' per open level */
	int			 depth = 0, overflow, expect_value = 1, ovf;
	enum member		 member = MEMBER_OTHER;
	unsigned char		 c;

	memset(env, 0, sizeof *env);
	memset(&kp, 0, sizeof kp);
	for (i = 0; i < ncaps; i++) {
		caps[i].found = caps[i].too_long = 0;
		caps[i].len = 0;
	}
	s.p = s.start = (const unsigned char *)body;
	s.end = s.p + len;
	s.err = err;
	env->is_object = len > 0;

	/*
	 * A loop over tokens with an explicit stack. expect_value: a value
	 * may come next (start, after ':' or ',' in an array, after '[').
	 */
	for (;;) {
		scan_ws(&s);
		if (s.p >= s.end) {
			if (depth == 0 && !expect_value)
				return (0);
			return (scan_fail(&s, len == 0 ? "empty body" : "unexpected end of input"));
		}
		if (depth == 0 && !expect_value)
			return (scan_fail(&s, "trailing data"));
		c = *s.p;
		if (expect_value) {
			if (depth == 0 && c != '{')
				env->is_object = 0;
			switch (c) {
			case '{':
			case '[':
				if (depth == HTTP_JSON_DEPTH)
					return (scan_fail(&s, "nesting too deep"));
				if (depth == 1 && member == MEMBER_DATA)
					env->data_is_object = c == '{';
				if ((cap = capture_find(caps, ncaps, &kp, stack, depth)) != NULL)
					cap->found = cap->too_long = 0;	/* an object or array is not a value */
				capture_reset_below(caps, ncaps, &kp, stack, depth);
				stack[depth++] = (char)c;
				s.p++;
				scan_ws(&s);
				if (s.p < s.end && *s.p == (c == '{' ? '}' : ']')) {
					s.p++;
					depth--;
					expect_value = 0;
					break;
				}
				if (c == '{')
					goto object_key;
				continue;	/* an array: a value follows */
			case '"':
				overflow = 0;
				if (depth == 1 && member == MEMBER_ID) {
					if (scan_string(&s, env->id, sizeof env->id, &overflow) == -1)
						return (-1);
					env->has_id = !overflow;
				} else if (depth == 1 && member == MEMBER_TYPE) {
					if (scan_string(&s, env->type, sizeof env->type, &overflow) == -1)
						return (-1);
					env->has_type = 1;
					if (overflow)
						env->type[0] = '\0';
				} else if ((cap = capture_find(caps, ncaps, &kp, stack, depth)) != NULL) {
					/* A later duplicate wins: forget what an earlier one gave. */
					if (scan_string(&s, cap->buf, cap->cap, &overflow) == -1)
						return (-1);
					cap->too_long = overflow;
					cap->found = !overflow;
					cap->len = overflow ? 0 : strlen(cap->buf);
				} else if (scan_string(&s, NULL, 0, &overflow) == -1)
					return (-1);
				break;
			case 't':
				if (scan_literal(&s, "true") == -1)
					return (-1);
				break;
			case 'f':
				if (scan_literal(&s, "false") == -1)
					return (-1);
				break;
			case 'n':
				if (scan_literal(&s, "null") == -1)
					return (-1);
				break;
			default:
				vstart = s.p;
				if (scan_number(&s) == -1)
					return (-1);
				/* A number where a capture points is taken as written ("id": 10023). */
				if ((cap = capture_find(caps, ncaps, &kp, stack, depth)) != NULL) {
					cap->len = (size_t)(s.p - vstart);
					cap->too_long = cap->len >= cap->cap;
					cap->found = !cap->too_long;
					if (cap->found) {
						memcpy(cap->buf, vstart, cap->len);
						cap->buf[cap->len] = '\0';
					} else
						cap->len = 0;
				}
				break;
			}
			if (c != '"' && (c < '0' || c > '9') && c != '-' &&
			    (cap = capture_find(caps, ncaps, &kp, stack, depth)) != NULL)
				cap->found = cap->too_long = 0;	/* true/false/null: no value */
			/* A later duplicate of a member wins, as in json-c. */
			if (depth == 1 && member == MEMBER_DATA && c != '{')
				env->data_is_object = 0;
			if (depth == 1 && member == MEMBER_ID && c != '"')
				env->has_id = 0;
			if (depth == 1 && member == MEMBER_TYPE && c != '"')
				env->has_type = 0;
			expect_value = 0;
			continue;
		}
		/* After a value: ',' or the closing bracket of the open level. */
		if (c == ',') {
			s.p++;
			if (stack[depth - 1] == '[') {
				expect_value = 1;
				continue;
			}
			goto object_key;
		}
		if (c == (stack[depth - 1] == '{' ? '}' : ']')) {
			s.p++;
			depth--;
			continue;
		}
		return (scan_fail(&s, "expected ',' or a closing bracket"));

object_key:
		scan_ws(&s);
		if (s.p >= s.end || *s.p != '"')
			return (scan_fail(&s, s.p >= s.end ? "unexpected end of input" : "expected a member name"));
		ovf = 0;
		/* Member names matter down to HTTP_CAPTURE_DEPTH; deeper ones are just checked. */
		if (depth <= HTTP_CAPTURE_DEPTH) {
			if (scan_string(&s, kp.name[depth - 1], CAPTURE_KEY_MAX, &ovf) == -1)
				return (-1);
			kp.ok[depth - 1] = !ovf;
		} else if (scan_string(&s, NULL, 0, &ovf) == -1)
			return (-1);
		member = MEMBER_OTHER;
		if (depth == 1 && !ovf) {
			const char	*key = kp.name[0];

			if (strcmp(key, "id") == 0)
				member = MEMBER_ID;
			else if (strcmp(key, "type") == 0)
				member = MEMBER_TYPE;
			else if (strcmp(key, "data") == 0)
				member = MEMBER_DATA;
		}
		scan_ws(&s);
		if (s.p >= s.end || *s.p != ':')
			return (scan_fail(&s, "expected ':'"));
		s.p++;
		expect_value = 1;
	}
}
