/*
 * A JSON scanner that builds nothing: it checks that a document is exactly
 * one well-formed JSON value (RFC 8259, UTF-8, bounded nesting) and copies
 * out the few scalars the caller names by path. The receiver uses it on
 * every webhook (the envelope's id/type/data and the entity keys): building
 * a json-c tree for a typical order took ~250 allocations and was 60% of the
 * receiver's CPU per request (bench/ingest, callgrind). It recurses nowhere
 * (an explicit stack of KB_JSON_MAX_DEPTH levels) and is checked against
 * json-c in tests/unit/check_envelope.c and tests/fuzz/fuzz_envelope.c.
 * Everything that processes an event for real parses it with json-c.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "kassaboek/jsonscan.h"

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

#define SCAN_KEY_MAX	64	/* longer member names never match a capture path */
#define SCAN_MAX_CAPS	32	/* captures are tracked as bits of a uint32_t */

/*
 * Which captures are still possible is tracked as bit masks, so a member
 * name is only decoded and compared where some path could lead through it:
 * a typical order has ~60 members and the receiver wants 6 of them.
 */
static int
scan_path_ends(const struct kb_json_capture *cap, int depth)
{
	return (cap->path[depth] == NULL);
}

/*
 * Records a value of kind at depth for the captures in vmask (the ones
 * whose path led here): those whose path ends here take it (a later
 * duplicate wins, as in json-c); those that go deeper start over, since a
 * new object or array replaces the old one whole. Returns the captures
 * that continue into this value if it is an object.
 */
static uint32_t
scan_record(struct kb_json_capture *caps, uint32_t vmask, int depth, enum kb_json_kind kind,
    const unsigned char *raw, size_t rawlen, struct kb_err *err)
{
	struct kb_json_capture	*c;
	uint32_t		 deeper = 0;
	int			 i, overflow;

	for (i = 0; vmask != 0; i++, vmask >>= 1) {
		if (!(vmask & 1))
			continue;
		c = &caps[i];
		c->len = 0;
		c->too_long = 0;
		if (c->cap > 0)
			c->buf[0] = '\0';
		if (!scan_path_ends(c, depth)) {
			c->kind = KB_JSON_ABSENT;
			if (kind == KB_JSON_OBJECT && depth < KB_JSON_CAPTURE_DEPTH)
				deeper |= (uint32_t)1 << i;
			continue;
		}
		c->kind = kind;
		if (kind == KB_JSON_STRING) {
			/* raw is the string with its quotes: decode it into the buffer. */
			struct scan	sub = { raw, raw + rawlen, err, raw };

			overflow = 0;
			if (scan_string(&sub, c->buf, c->cap, &overflow) == 0 && !overflow)
				c->len = strlen(c->buf);
			c->too_long = overflow;
		} else if (kind == KB_JSON_NUMBER) {
			if (rawlen < c->cap) {
				memcpy(c->buf, raw, rawlen);
				c->buf[rawlen] = '\0';
				c->len = rawlen;
			} else
				c->too_long = 1;
		}
		if (c->too_long && c->cap > 0)
			c->buf[0] = '\0';
	}
	return (deeper);
}

/* The captures of objmask whose path continues with member name key at depth. */
static uint32_t
scan_member_mask(const struct kb_json_capture *caps, uint32_t objmask, int depth, const char *key)
{
	uint32_t	m = 0;
	int		i;

	for (i = 0; objmask != 0; i++, objmask >>= 1)
		if ((objmask & 1) && strcmp(caps[i].path[depth], key) == 0)
			m |= (uint32_t)1 << i;
	return (m);
}

int
kb_json_scan(const char *doc, size_t len, enum kb_json_kind *root, struct kb_json_capture *caps,
    size_t ncaps, struct kb_err *err)
{
	struct scan		 s;
	char			 stack[KB_JSON_MAX_DEPTH];	/* '{' or '[' per open level */
	uint32_t		 objmask[KB_JSON_MAX_DEPTH];	/* per open object: captures going through it */
	uint32_t		 vmask;				/* captures whose path leads to the next value */
	char			 key[SCAN_KEY_MAX];
	const unsigned char	*vstart;
	enum kb_json_kind	 kind;
	int			 depth = 0, expect_value = 1, ovf;
	unsigned char		 c;
	size_t			 i;

	if (ncaps > SCAN_MAX_CAPS)
		return (kb_err_set(err, "more than %d captures", SCAN_MAX_CAPS));
	vmask = 0;
	for (i = 0; i < ncaps; i++) {
		caps[i].kind = KB_JSON_ABSENT;
		caps[i].len = 0;
		caps[i].too_long = 0;
		if (caps[i].cap > 0)
			caps[i].buf[0] = '\0';
		if (caps[i].path != NULL && caps[i].path[0] != NULL)
			vmask |= (uint32_t)1 << i;	/* every path starts at the root */
	}
	if (root != NULL)
		*root = KB_JSON_ABSENT;
	s.p = s.start = (const unsigned char *)doc;
	s.end = s.p + len;
	s.err = err;

	/*
	 * A loop over tokens with an explicit stack. expect_value: a value
	 * may come next (start, after ':', after ',' in an array, after '[').
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
			vstart = s.p;
			switch (c) {
			case '{':
			case '[':
				kind = c == '{' ? KB_JSON_OBJECT : KB_JSON_ARRAY;
				if (depth == 0 && root != NULL)
					*root = kind;
				if (depth == KB_JSON_MAX_DEPTH)
					return (scan_fail(&s, "nesting too deep"));
				/* Paths go through objects only: an array ends them. */
				objmask[depth] = vmask != 0 ? scan_record(caps, vmask, depth, kind, NULL, 0, err) : 0;
				stack[depth++] = (char)c;
				vmask = 0;
				s.p++;
				scan_ws(&s);
				if (s.p < s.end && *s.p == (c == '{' ? '}' : ']')) {
					s.p++;
					depth--;
					expect_value = 0;
					continue;
				}
				if (c == '{')
					goto object_key;
				continue;	/* an array: a value follows */
			case '"':
				kind = KB_JSON_STRING;
				if (scan_string(&s, NULL, 0, &ovf) == -1)
					return (-1);
				break;
			case 't':
			case 'f':
			case 'n':
				kind = KB_JSON_LITERAL;
				if (scan_literal(&s, c == 't' ? "true" : c == 'f' ? "false" : "null") == -1)
					return (-1);
				break;
			default:
				kind = KB_JSON_NUMBER;
				if (scan_number(&s) == -1)
					return (-1);
				break;
			}
			if (depth == 0 && root != NULL)
				*root = kind;
			if (vmask != 0)
				scan_record(caps, vmask, depth, kind, vstart, (size_t)(s.p - vstart), err);
			vmask = 0;
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
		if (objmask[depth - 1] != 0) {
			/* Some capture goes through this object: is this the member it names? */
			if (scan_string(&s, key, sizeof key, &ovf) == -1)
				return (-1);
			vmask = ovf ? 0 : scan_member_mask(caps, objmask[depth - 1], depth - 1, key);
		} else {
			if (scan_string(&s, NULL, 0, &ovf) == -1)
				return (-1);
			vmask = 0;
		}
		scan_ws(&s);
		if (s.p >= s.end || *s.p != ':')
			return (scan_fail(&s, "expected ':'"));
		s.p++;
		expect_value = 1;
	}
}
