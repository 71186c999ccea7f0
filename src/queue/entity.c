/*
 * Which entities an event is about: the one table of event type -> entity
 * fields (queue-entity.h). An order event is about its order and its
 * customer (both the AsPos customer id and the e-mail address, because the
 * order flow finds or creates the debtor by e-mail), a customer event about
 * the same two, a product event about its SKU.
 *
 * This runs in the receiver for every webhook, so it does not build the
 * document (json-c costs ~10 us and hundreds of allocations for an order):
 * a small scanner walks only the members on the path and skips the rest,
 * allocating nothing and recursing nowhere. It does not validate (the
 * receiver did); on input that is not JSON it finds nothing, within bounds.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "kassaboek/queue-entity.h"

#define ENTITY_LOWER		0x1	/* compare case-insensitively (e-mail) */
#define ENTITY_VALUE_MAX	128
#define ENTITY_KEY_MAX		64	/* longest member name compared */

struct entity_rule {
	const char	*type_prefix;	/* "order." matches order.created, order.updated, ... */
	const char	*kind;
	const char	*path[4];	/* object keys from the envelope root, NULL-terminated */
	int		 flags;
};

static const struct entity_rule entity_rules[] = {
	{ "order.",	"order",	{ "data", "id", NULL },			0 },
	{ "order.",	"customer",	{ "data", "customer", "id", NULL },	0 },
	{ "order.",	"email",	{ "data", "customer", "email", NULL },	ENTITY_LOWER },
	{ "customer.",	"customer",	{ "data", "id", NULL },			0 },
	{ "customer.",	"email",	{ "data", "email", NULL },		ENTITY_LOWER },
	{ "product.",	"product",	{ "data", "sku", NULL },		0 },
};

static int
entity_safe(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '@' || c == '+' || c == '-');
}

struct escan {
	const unsigned char	*p, *end;
};

static void
escan_ws(struct escan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
escan_hex4(struct escan *s, unsigned *out)
{
	unsigned	v = 0, d;
	int		i;

	if (s->end - s->p < 4)
		return (-1);
	for (i = 0; i < 4; i++) {
		d = s->p[i];
		if (d >= '0' && d <= '9')
			d -= '0';
		else if (d >= 'a' && d <= 'f')
			d -= 'a' - 10;
		else if (d >= 'A' && d <= 'F')
			d -= 'A' - 10;
		else
			return (-1);
		v = v << 4 | d;
	}
	s->p += 4;
	*out = v;
	return (0);
}

static void
escan_put(char *buf, size_t cap, size_t *len, unsigned char c)
{
	if (buf != NULL && *len < cap)
		buf[*len] = (char)c;
	(*len)++;
}

/*
 * Reads the string at s->p (its opening quote), decoding escapes into buf
 * (at most cap bytes; *len is the whole decoded length, which may exceed
 * cap); buf may be NULL to skip. Returns 0, or -1 if it is not a string.
 */
static int
escan_string(struct escan *s, char *buf, size_t cap, size_t *len)
{
	unsigned	cp, lo;
	size_t		n = 0;
	unsigned char	c;

	if (s->p >= s->end || *s->p != '"')
		return (-1);
	s->p++;
	while (s->p < s->end && *s->p != '"') {
		c = *s->p++;
		if (c != '\\') {
			escan_put(buf, cap, &n, c);
			continue;
		}
		if (s->p >= s->end)
			return (-1);
		c = *s->p++;
		switch (c) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (escan_hex4(s, &cp) == -1)
				return (-1);
			if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 && s->p[0] == '\\' &&
			    s->p[1] == 'u') {
				s->p += 2;
				if (escan_hex4(s, &lo) == -1)
					return (-1);
				if (lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp < 0x80)
				escan_put(buf, cap, &n, (unsigned char)cp);
			else if (cp < 0x800) {
				escan_put(buf, cap, &n, (unsigned char)(0xc0 | cp >> 6));
				escan_put(buf, cap, &n, (unsigned char)(0x80 | (cp & 0x3f)));
			} else if (cp < 0x10000) {
				escan_put(buf, cap, &n, (unsigned char)(0xe0 | cp >> 12));
				escan_put(buf, cap, &n, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
				escan_put(buf, cap, &n, (unsigned char)(0x80 | (cp & 0x3f)));
			} else {
				escan_put(buf, cap, &n, (unsigned char)(0xf0 | cp >> 18));
				escan_put(buf, cap, &n, (unsigned char)(0x80 | ((cp >> 12) & 0x3f)));
				escan_put(buf, cap, &n, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
				escan_put(buf, cap, &n, (unsigned char)(0x80 | (cp & 0x3f)));
			}
			continue;
		default:	/* '"', '\\', '/' stand for themselves */
			break;
		}
		escan_put(buf, cap, &n, c);
	}
	if (s->p >= s->end)
		return (-1);
	s->p++;
	if (len != NULL)
		*len = n;
	return (0);
}

/* Skips one value, however deeply nested (a counter, no recursion). */
static int
escan_skip(struct escan *s)
{
	const unsigned char	*tok;
	size_t			 depth = 0;
	unsigned char		 c;

	do {
		escan_ws(s);
		if (s->p >= s->end)
			return (-1);
		c = *s->p;
		if (c == '"') {
			if (escan_string(s, NULL, 0, NULL) == -1)
				return (-1);
		} else if (c == '{' || c == '[') {
			depth++;
			s->p++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return (-1);
			depth--;
			s->p++;
		} else if (c == ',' || c == ':') {
			if (depth == 0)
				return (-1);
			s->p++;
		} else {
			tok = s->p;
			while (s->p < s->end && *s->p != '\0' && strchr(",:]} \t\r\n", *s->p) == NULL)
				s->p++;
			if (s->p == tok)
				return (-1);	/* a byte no value starts with: no progress */
		}
	} while (depth > 0);
	return (0);
}

/*
 * Finds member key of the object at s->p and leaves s->p at its value.
 * Returns 1, 0 if the object has no such member, -1 if it is not an object.
 */
static int
escan_member(struct escan *s, const char *key)
{
	char	name[ENTITY_KEY_MAX];
	size_t	len, klen = strlen(key);

	escan_ws(s);
	if (s->p >= s->end || *s->p != '{')
		return (-1);
	s->p++;
	for (;;) {
		escan_ws(s);
		if (s->p < s->end && *s->p == '}')
			return (0);
		if (escan_string(s, name, sizeof name, &len) == -1)
			return (-1);
		escan_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return (-1);
		s->p++;
		escan_ws(s);
		if (len == klen && memcmp(name, key, klen) == 0)
			return (1);
		if (escan_skip(s) == -1)
			return (-1);
		escan_ws(s);
		if (s->p < s->end && *s->p == ',')
			s->p++;
		else
			return (s->p < s->end && *s->p == '}' ? 0 : -1);
	}
}

/* Appends " kind:value" (encoded) to out; returns 0, or -1 if it does not fit. */
static int
entity_append(char *out, size_t outsz, size_t *used, const char *kind, const char *v, size_t vlen,
    int flags)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 digest[SHA_DIGEST_LENGTH];
	char			 enc[ENTITY_VALUE_MAX * 3 + 1];
	size_t			 i, n = 0;
	unsigned char		 c;
	int			 w;

	if (vlen > ENTITY_VALUE_MAX) {
		SHA1((const unsigned char *)v, vlen, digest);
		enc[n++] = '#';
		for (i = 0; i < SHA_DIGEST_LENGTH; i++) {
			enc[n++] = hex[digest[i] >> 4];
			enc[n++] = hex[digest[i] & 0xf];
		}
	} else {
		for (i = 0; i < vlen; i++) {
			c = (unsigned char)v[i];
			if ((flags & ENTITY_LOWER) && c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			if (entity_safe(c))
				enc[n++] = (char)c;
			else {
				enc[n++] = '%';
				enc[n++] = hex[c >> 4];
				enc[n++] = hex[c & 0xf];
			}
		}
	}
	enc[n] = '\0';
	w = snprintf(out + *used, outsz - *used, "%s%s:%s", *used > 0 ? " " : "", kind, enc);
	if (w < 0 || (size_t)w >= outsz - *used) {
		out[*used] = '\0';
		return (-1);
	}
	*used += (size_t)w;
	return (0);
}

int
kb_queue_entities(const char *type, const char *body, size_t len, char *out, size_t outsz)
{
	const struct entity_rule *rule;
	struct escan		 s;
	const unsigned char	*tok;
	char			 val[ENTITY_VALUE_MAX + 1];
	size_t			 i, j, used = 0, vlen;
	int			 count = 0, found;

	if (outsz == 0)
		return (0);
	out[0] = '\0';
	for (i = 0; i < sizeof entity_rules / sizeof entity_rules[0]; i++) {
		rule = &entity_rules[i];
		if (strncmp(type, rule->type_prefix, strlen(rule->type_prefix)) != 0)
			continue;
		s.p = (const unsigned char *)body;
		s.end = s.p + len;
		for (j = 0, found = 1; rule->path[j] != NULL && found == 1; j++)
			found = escan_member(&s, rule->path[j]);
		if (found != 1)
			continue;
		tok = s.p;
		if (s.p < s.end && *s.p == '"') {
			if (escan_string(&s, val, sizeof val, &vlen) == -1)
				continue;
			/* Too long: hashed as written (between the quotes). */
			if (vlen > ENTITY_VALUE_MAX) {
				if (entity_append(out, outsz, &used, rule->kind, (const char *)tok + 1,
				    (size_t)(s.p - tok) - 2, rule->flags) == -1)
					break;
				count++;
				continue;
			}
		} else {
			/* An integer, as written; other numbers and literals are no identity. */
			while (s.p < s.end && (*s.p == '-' || (*s.p >= '0' && *s.p <= '9')))
				s.p++;
			vlen = (size_t)(s.p - tok);
			if (vlen == 0 || vlen > 20 || (s.p < s.end && strchr(".eE", *s.p) != NULL && *s.p != '\0'))
				continue;
			memcpy(val, tok, vlen);
		}
		if (vlen == 0)
			continue;
		if (entity_append(out, outsz, &used, rule->kind, val, vlen, rule->flags) == -1)
			break;
		count++;
	}
	return (count);
}
