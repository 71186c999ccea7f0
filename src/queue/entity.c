/*
 * Which entities an event is about: the one table of event type -> entity
 * fields (queue-entity.h). An order event is about its order and its
 * customer (both the AsPos customer id and the e-mail address, because the
 * order flow finds or creates the debtor by e-mail), a customer event about
 * the same two, a product event about its SKU.
 *
 * This runs in the receiver for every webhook, so it does not build the
 * document (json-c costs ~10 us and hundreds of allocations for an order):
 * one pass of the JSON scanner (kassaboek/jsonscan.h) copies out the
 * values on the rules' paths. A document that is not JSON has no entities.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "kassaboek/jsonscan.h"
#include "kassaboek/queue-entity.h"

#define ENTITY_LOWER		0x1	/* compare case-insensitively (e-mail) */
#define ENTITY_VALUE_MAX	128

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

/* Appends " kind:value" (encoded) to out; returns 0, or -1 if it does not fit. */
static int
entity_append(char *out, size_t outsz, size_t *used, const char *kind, const char *v, size_t vlen,
    int flags)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 digest[SHA_DIGEST_LENGTH];
	char			 enc[ENTITY_VALUE_MAX * 3 + 1];
	size_t			 i, n = 0, klen, need;
	unsigned char		 c;

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
	/* " kind:value", without printf: this runs for every webhook. */
	klen = strlen(kind);
	need = (*used > 0 ? 1 : 0) + klen + 1 + n;
	if (need >= outsz - *used)
		return (-1);
	if (*used > 0)
		out[(*used)++] = ' ';
	memcpy(out + *used, kind, klen);
	*used += klen;
	out[(*used)++] = ':';
	memcpy(out + *used, enc, n);
	*used += n;
	out[*used] = '\0';
	return (0);
}

#define ENTITY_NRULES	(sizeof entity_rules / sizeof entity_rules[0])

size_t
kb_queue_entity_paths(const char *const **paths, size_t max)
{
	size_t	i;

	for (i = 0; i < ENTITY_NRULES && i < max; i++)
		paths[i] = entity_rules[i].path;
	return (i);
}

int
kb_queue_entities_from(const char *type, const struct kb_json_capture *caps, char *out, size_t outsz)
{
	const struct kb_json_capture	*c;
	size_t				 i, used = 0;
	int				 count = 0;

	if (outsz == 0)
		return (0);
	out[0] = '\0';
	for (i = 0; i < ENTITY_NRULES; i++) {
		if (strncmp(type, entity_rules[i].type_prefix, strlen(entity_rules[i].type_prefix)) != 0)
			continue;
		c = &caps[i];
		/* A string, or an integer as written; other numbers and literals are no identity. */
		if (c->too_long || c->len == 0)
			continue;
		if (c->kind == KB_JSON_NUMBER && strpbrk(c->buf, ".eE") != NULL)
			continue;
		if (c->kind != KB_JSON_STRING && c->kind != KB_JSON_NUMBER)
			continue;
		if (entity_append(out, outsz, &used, entity_rules[i].kind, c->buf, c->len,
		    entity_rules[i].flags) == -1)
			break;
		count++;
	}
	return (count);
}

int
kb_queue_entities(const char *type, const char *body, size_t len, char *out, size_t outsz)
{
	char			 vals[ENTITY_NRULES][KB_QUEUE_ENTITY_SCAN_MAX];
	const char *const	*paths[ENTITY_NRULES];
	struct kb_json_capture	 caps[ENTITY_NRULES];
	struct kb_err		 err;
	size_t			 i, n;

	if (outsz > 0)
		out[0] = '\0';
	n = kb_queue_entity_paths(paths, ENTITY_NRULES);
	memset(caps, 0, sizeof caps);
	for (i = 0; i < n; i++) {
		caps[i].path = paths[i];
		caps[i].buf = vals[i];
		caps[i].cap = sizeof vals[i];
	}
	if (kb_json_scan(body, len, NULL, caps, n, &err) == -1)
		return (0);
	return (kb_queue_entities_from(type, caps, out, outsz));
}
