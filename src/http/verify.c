#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "kassaboek/verify.h"
#include "kassaboek/xmalloc.h"

#define VERIFY_MAX_KEY		256
#define VERIFY_SIG_B64_LEN	44	/* base64 of a 32-byte SHA-256 MAC */

struct verify_secret {
	unsigned char	key[VERIFY_MAX_KEY];
	size_t		keylen;
	unsigned char	token_hash[SHA256_DIGEST_LENGTH];	/* token scheme */
	EVP_MAC_CTX	*keyed;		/* HMAC already keyed: duplicated per request, saving the key schedule */
};

static EVP_MAC_CTX	*verify_keyed_ctx(const struct verify_secret *s);

struct kb_verify {
	enum kb_signature_scheme scheme;
	int			 hex;		/* hmac scheme: hex instead of base64 */
	uint64_t		 tolerance_ms;
	struct verify_secret	 secrets[KB_VERIFY_MAX_SECRETS];
	size_t			 nsecrets;
};

int
kb_verify_decode_secret(const char *secret, unsigned char *key, size_t *keylen, struct kb_err *err)
{
	unsigned char	 buf[VERIFY_MAX_KEY + 3];
	size_t		 len, i, pad = 0;
	int		 n;

	if (strncmp(secret, "whsec_", 6) == 0)
		secret += 6;
	len = strlen(secret);
	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof buf)
		return (kb_err_set(err, "secret is not whsec_ followed by base64 of at most %d bytes",
		    VERIFY_MAX_KEY));
	for (i = 0; i < len; i++) {
		if (secret[i] == '=' && i >= len - 2)
			pad++;
		else if (pad > 0 || !(isalnum((unsigned char)secret[i]) || secret[i] == '+' || secret[i] == '/'))
			return (kb_err_set(err, "secret has a character that is not base64"));
	}
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)secret, (int)len)) < 0)
		return (kb_err_set(err, "secret is not valid base64"));
	/* EVP_DecodeBlock counts padding as zero bytes. */
	if ((size_t)n - pad > *keylen || (size_t)n == pad)
		return (kb_err_set(err, "secret has the wrong length"));
	*keylen = (size_t)n - pad;
	memcpy(key, buf, *keylen);
	OPENSSL_cleanse(buf, sizeof buf);
	return (0);
}

/* Splits secrets at spaces and commas and prepares each for scheme. */
static int
verify_add_secrets(struct kb_verify *v, const char *secrets, struct kb_err *err)
{
	char			*copy, *tok, *save = NULL;
	struct verify_secret	*s;
	int			 rc = -1;

	copy = xstrdup(secrets);
	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL; tok = strtok_r(NULL, " ,\t", &save)) {
		if (v->nsecrets == KB_VERIFY_MAX_SECRETS) {
			kb_err_set(err, "more than %d webhook secrets", KB_VERIFY_MAX_SECRETS);
			goto out;
		}
		s = &v->secrets[v->nsecrets];
		switch (v->scheme) {
		case KB_SIG_STANDARD:
			s->keylen = sizeof s->key;
			if (kb_verify_decode_secret(tok, s->key, &s->keylen, err) == -1)
				goto out;
			break;
		case KB_SIG_HMAC:
			if (strncmp(tok, "whsec_", 6) == 0) {
				s->keylen = sizeof s->key;
				if (kb_verify_decode_secret(tok, s->key, &s->keylen, err) == -1)
					goto out;
			} else {
				if ((s->keylen = strlen(tok)) > sizeof s->key) {
					kb_err_set(err, "hmac secret longer than %d bytes", VERIFY_MAX_KEY);
					goto out;
				}
				memcpy(s->key, tok, s->keylen);
			}
			break;
		case KB_SIG_TOKEN:
			/* Compare digests, so the comparison takes the same time whatever the lengths. */
			SHA256((const unsigned char *)tok, strlen(tok), s->token_hash);
			break;
		case KB_SIG_NONE:
			break;
		}
		if (v->scheme == KB_SIG_STANDARD || v->scheme == KB_SIG_HMAC) {
			if ((s->keyed = verify_keyed_ctx(s)) == NULL) {
				kb_err_set(err, "cannot set up HMAC-SHA256 (OpenSSL)");
				goto out;
			}
		}
		v->nsecrets++;
	}
	if (v->scheme != KB_SIG_NONE && v->nsecrets == 0) {
		kb_err_set(err, "no webhook secret configured");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(copy, strlen(secrets));
	free(copy);
	return (rc);
}

struct kb_verify *
kb_verify_new(enum kb_signature_scheme scheme, const char *secrets, const char *hmac_encoding,
    uint64_t tolerance_ms, struct kb_err *err)
{
	struct kb_verify	*v;

	v = xcalloc(1, sizeof *v);
	v->scheme = scheme;
	v->hex = hmac_encoding != NULL && strcmp(hmac_encoding, "hex") == 0;
	v->tolerance_ms = tolerance_ms;
	if (verify_add_secrets(v, secrets != NULL ? secrets : "", err) == -1) {
		kb_verify_free(v);
		return (NULL);
	}
	return (v);
}

void
kb_verify_free(struct kb_verify *v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < KB_VERIFY_MAX_SECRETS; i++)
		EVP_MAC_CTX_free(v->secrets[i].keyed);
	OPENSSL_cleanse(v, sizeof *v);
	free(v);
}

enum kb_signature_scheme
kb_verify_scheme(const struct kb_verify *v)
{
	return (v->scheme);
}

/* A new HMAC-SHA256 context keyed with s, or NULL. */
static EVP_MAC_CTX *
verify_keyed_ctx(const struct verify_secret *s)
{
	static EVP_MAC	*m;	/* fetched once: the lookup costs more than the MAC of a small body */
	EVP_MAC_CTX	*ctx;
	OSSL_PARAM	 params[2];

	if (m == NULL && (m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return (NULL);
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(m)) == NULL)
		return (NULL);
	if (!EVP_MAC_init(ctx, s->key, s->keylen, params)) {
		EVP_MAC_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);
}

/* HMAC-SHA256 over "id.ts.body" (or just body when id is NULL), into mac (32 bytes). */
static int
verify_hmac(const struct verify_secret *s, const char *id, const char *ts,
    const unsigned char *body, size_t body_len, unsigned char *mac)
{
	EVP_MAC_CTX	*ctx;
	size_t		 maclen = 0;
	int		 rc = -1;

	ctx = s->keyed != NULL ? EVP_MAC_CTX_dup(s->keyed) : verify_keyed_ctx(s);
	if (ctx == NULL)
		return (-1);
	if (id != NULL && (!EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)".", 1) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)".", 1)))
		goto out;
	if (!EVP_MAC_update(ctx, body, body_len) ||
	    !EVP_MAC_final(ctx, mac, &maclen, SHA256_DIGEST_LENGTH) || maclen != SHA256_DIGEST_LENGTH)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return (rc);
}

int
kb_verify_sign_standard(const unsigned char *key, size_t keylen, const char *id, const char *timestamp,
    const unsigned char *body, size_t body_len, char *out, size_t outlen)
{
	struct verify_secret	s;
	unsigned char		mac[SHA256_DIGEST_LENGTH];

	if (keylen > sizeof s.key || outlen < 4 + VERIFY_SIG_B64_LEN)
		return (-1);
	memset(&s, 0, sizeof s);
	memcpy(s.key, key, keylen);
	s.keylen = keylen;
	if (verify_hmac(&s, id, timestamp, body, body_len, mac) == -1)
		return (-1);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, sizeof mac);
	OPENSSL_cleanse(&s, sizeof s);
	return (0);
}

static int
verify_timestamp(const struct kb_verify *v, const char *ts, time_t now, struct kb_err *err)
{
	long long	t, skew_ms;
	const char	*p;

	if (ts[0] == '\0' || strlen(ts) > 12)
		return (kb_err_set(err, "webhook-timestamp is not a Unix time in seconds"));
	for (p = ts; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return (kb_err_set(err, "webhook-timestamp is not a Unix time in seconds"));
	t = strtoll(ts, NULL, 10);
	skew_ms = ((long long)now - t) * 1000;
	if (skew_ms > (long long)v->tolerance_ms)
		return (kb_err_set(err, "webhook-timestamp is too old"));
	if (-skew_ms > (long long)v->tolerance_ms)
		return (kb_err_set(err, "webhook-timestamp is in the future"));
	return (0);
}

static int
verify_id(const char *id, struct kb_err *err)
{
	const char	*p;

	if (id[0] == '\0' || strlen(id) > KB_VERIFY_MAX_ID)
		return (kb_err_set(err, "webhook-id must be 1 to %d characters", KB_VERIFY_MAX_ID));
	for (p = id; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p))
			return (kb_err_set(err, "webhook-id must be printable ASCII without spaces"));
	return (0);
}

static int
verify_standard(const struct kb_verify *v, const struct kb_verify_request *req, time_t now, struct kb_err *err)
{
	unsigned char	 mac[SHA256_DIGEST_LENGTH];
	char		 expected[VERIFY_SIG_B64_LEN + 1];
	char		*copy, *tok, *save = NULL;
	size_t		 i;
	int		 ok = 0;

	if (req->webhook_id == NULL || req->webhook_timestamp == NULL || req->webhook_signature == NULL)
		return (kb_err_set(err, "missing webhook-id, webhook-timestamp or webhook-signature header"));
	if (verify_id(req->webhook_id, err) == -1 ||
	    verify_timestamp(v, req->webhook_timestamp, now, err) == -1)
		return (-1);
	if (strlen(req->webhook_signature) > KB_VERIFY_MAX_HEADER)
		return (kb_err_set(err, "webhook-signature header too long"));
	copy = xstrdup(req->webhook_signature);
	for (i = 0; i < v->nsecrets && !ok; i++) {
		if (verify_hmac(&v->secrets[i], req->webhook_id, req->webhook_timestamp,
		    req->body, req->body_len, mac) == -1)
			break;
		EVP_EncodeBlock((unsigned char *)expected, mac, sizeof mac);
		strcpy(copy, req->webhook_signature);
		for (tok = strtok_r(copy, " ", &save); tok != NULL && !ok; tok = strtok_r(NULL, " ", &save)) {
			/* Only v1 entries count; v1a (ed25519) and others are ignored. */
			if (strncmp(tok, "v1,", 3) != 0 || strlen(tok + 3) != VERIFY_SIG_B64_LEN)
				continue;
			ok = CRYPTO_memcmp(tok + 3, expected, VERIFY_SIG_B64_LEN) == 0;
		}
	}
	free(copy);
	OPENSSL_cleanse(mac, sizeof mac);
	if (!ok)
		return (kb_err_set(err, "no webhook-signature entry matches"));
	return (0);
}

static int
verify_body_hmac(const struct kb_verify *v, const struct kb_verify_request *req, struct kb_err *err)
{
	unsigned char	 mac[SHA256_DIGEST_LENGTH];
	char		 expected[2 * SHA256_DIGEST_LENGTH + 1], given[2 * SHA256_DIGEST_LENGTH + 1];
	const char	*sig = req->hmac_signature;
	size_t		 i, j, len;
	int		 ok = 0;

	if (sig == NULL)
		return (kb_err_set(err, "missing signature header"));
	if (strncasecmp(sig, "sha256=", 7) == 0)
		sig += 7;
	len = strlen(sig);
	if (len != (v->hex ? 2 * SHA256_DIGEST_LENGTH : VERIFY_SIG_B64_LEN))
		return (kb_err_set(err, "signature has the wrong length"));
	for (j = 0; j < len; j++)
		given[j] = v->hex ? (char)tolower((unsigned char)sig[j]) : sig[j];
	given[len] = '\0';
	for (i = 0; i < v->nsecrets; i++) {
		if (verify_hmac(&v->secrets[i], NULL, NULL, req->body, req->body_len, mac) == -1)
			break;
		if (v->hex) {
			for (j = 0; j < sizeof mac; j++)
				snprintf(expected + 2 * j, 3, "%02x", mac[j]);
		} else
			EVP_EncodeBlock((unsigned char *)expected, mac, sizeof mac);
		ok |= CRYPTO_memcmp(given, expected, len) == 0;
	}
	if (!ok)
		return (kb_err_set(err, "signature does not match"));
	return (0);
}

static int
verify_token(const struct kb_verify *v, const struct kb_verify_request *req, struct kb_err *err)
{
	unsigned char	 given[SHA256_DIGEST_LENGTH], decoded[KB_VERIFY_MAX_HEADER];
	const char	*auth = req->authorization, *cred;
	size_t		 i, len;
	int		 n, ok = 0;

	if (auth == NULL || strlen(auth) > KB_VERIFY_MAX_HEADER)
		return (kb_err_set(err, "missing Authorization header"));
	if (strncasecmp(auth, "Bearer ", 7) == 0) {
		cred = auth + 7;
		SHA256((const unsigned char *)cred, strlen(cred), given);
	} else if (strncasecmp(auth, "Basic ", 6) == 0) {
		/* Basic: the configured token is "user:password". */
		cred = auth + 6;
		len = strlen(cred);
		if (len % 4 != 0 || (n = EVP_DecodeBlock(decoded, (const unsigned char *)cred, (int)len)) < 0)
			return (kb_err_set(err, "malformed Basic credentials"));
		while (n > 0 && len > 0 && cred[len - 1] == '=') {
			n--;
			len--;
		}
		SHA256(decoded, (size_t)n, given);
	} else
		return (kb_err_set(err, "Authorization must be Bearer or Basic"));
	for (i = 0; i < v->nsecrets; i++)
		ok |= CRYPTO_memcmp(given, v->secrets[i].token_hash, sizeof given) == 0;
	if (!ok)
		return (kb_err_set(err, "credentials do not match"));
	return (0);
}

int
kb_verify_check(const struct kb_verify *v, const struct kb_verify_request *req, time_t now, struct kb_err *err)
{
	switch (v->scheme) {
	case KB_SIG_STANDARD:
		return (verify_standard(v, req, now, err));
	case KB_SIG_HMAC:
		return (verify_body_hmac(v, req, err));
	case KB_SIG_TOKEN:
		return (verify_token(v, req, err));
	case KB_SIG_NONE:
		break;
	}
	return (0);
}
