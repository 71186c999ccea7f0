/*
 * Webhook authentication (reference/webhooks.md): Standard Webhooks v1
 * (HMAC-SHA256 over "<id>.<timestamp>.<body>", secret rotation lists,
 * timestamp tolerance), a legacy body HMAC in a configurable header, a
 * static token, or none. Every comparison of secret material is constant
 * time. The verifier never logs; it returns why a request was refused.
 */
#ifndef KASSABOEK_VERIFY_H
#define KASSABOEK_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kassaboek/config.h"
#include "kassaboek/err.h"

#define KB_VERIFY_MAX_SECRETS	8
#define KB_VERIFY_MAX_HEADER	4096	/* longest signature / authorization header we look at */
#define KB_VERIFY_MAX_ID	256	/* longest accepted webhook id */

struct kb_verify;

/* The request as the verifier sees it; every pointer is borrowed and may be NULL (absent). */
struct kb_verify_request {
	const char		*webhook_id;		/* header webhook-id */
	const char		*webhook_timestamp;	/* header webhook-timestamp */
	const char		*webhook_signature;	/* header webhook-signature */
	const char		*hmac_signature;	/* header server.hmac_header */
	const char		*authorization;		/* header Authorization */
	const unsigned char	*body;
	size_t			 body_len;
};

/*
 * Builds a verifier for scheme with the given secrets (space or comma
 * separated list; for standard each is whsec_<base64>). Returns NULL with
 * err set when a secret is malformed. Free with kb_verify_free.
 */
struct kb_verify	*kb_verify_new(enum kb_signature_scheme scheme, const char *secrets,
			    const char *hmac_encoding, uint64_t tolerance_ms, struct kb_err *err);
void			 kb_verify_free(struct kb_verify *v);
/* Header name the hmac scheme reads, for the caller to look up (borrowed). */
enum kb_signature_scheme kb_verify_scheme(const struct kb_verify *v);

/*
 * 0 when the request is authentic at time now; -1 with a short reason for
 * the 401 body in err (never containing secret material).
 */
int	kb_verify_check(const struct kb_verify *v, const struct kb_verify_request *req,
	    time_t now, struct kb_err *err);

/*
 * Computes the Standard Webhooks signature header value ("v1,<base64>") for
 * key/keylen over id.timestamp.body into out (at least 64 bytes). Used by
 * tests, the sample sender and the benchmark.
 */
int	kb_verify_sign_standard(const unsigned char *key, size_t keylen, const char *id,
	    const char *timestamp, const unsigned char *body, size_t body_len, char *out, size_t outlen);
/* Decodes a whsec_<base64> (or bare base64) secret into key (at most *keylen bytes). */
int	kb_verify_decode_secret(const char *secret, unsigned char *key, size_t *keylen, struct kb_err *err);

#endif
