/*
 * §2 OAuth2 endpoints on the same host as the services:
 *   POST /auth/authentication/connect/token              (HTTP Basic client auth)
 *   GET  /auth/authentication/connect/accesstokenvalidation?token=
 *   GET  /auth/authentication/connect/authorize          (code flow, for completeness)
 *   GET  /auth/authentication/connect/userinfo           (Bearer)
 * Access tokens are random, kept in a table with their expiry (--token-ttl),
 * and can all be expired at once (POST /_sandbox/tokens/expire).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "kassaboek/log.h"
#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

#define AUTH_TOKENS_MAX	100000
#define AUTH_FORM_MAX	8192

static void
auth_token_free(void *p)
{
	struct sb_token	*t = p;

	free(t->client_id);
	free(t);
}

void
sb_tokens_init(struct sb_tokens *t, long ttl)
{
	memset(t, 0, sizeof *t);
	t->access = sb_map_new(auth_token_free);
	t->codes = sb_map_new(auth_token_free);
	t->ttl = ttl;
}

void
sb_tokens_free(struct sb_tokens *t)
{
	sb_map_free(t->access);
	sb_map_free(t->codes);
	t->access = t->codes = NULL;
}

void
sb_tokens_expire_all(struct sb_tokens *t)
{
	sb_map_clear(t->access);
	sb_map_clear(t->codes);
}

/* Drops expired entries; called when the table grows, so it stays bounded. */
static void
auth_sweep(struct sb_map *m, int64_t now)
{
	struct sb_map_iter	 it;
	const char		*key;
	void			*val;
	char			**dead = NULL;
	size_t			 n = 0, i;

	sb_map_iter_init(&it, m);
	while (sb_map_next(&it, &key, &val)) {
		if (((struct sb_token *)val)->expires <= now) {
			dead = xreallocarray(dead, n + 1, sizeof *dead);
			dead[n++] = xstrdup(key);
		}
	}
	for (i = 0; i < n; i++) {
		sb_map_del(m, dead[i]);
		free(dead[i]);
	}
	free(dead);
}

static const char *
auth_issue(struct sb_server *srv, struct sb_map *m, const char *client, long ttl, char *tok, size_t len)
{
	struct sb_token	*t;
	int64_t		 now = time(NULL);

	if (sb_map_count(m) >= AUTH_TOKENS_MAX / 2)
		auth_sweep(m, now);
	if (sb_map_count(m) >= AUTH_TOKENS_MAX)
		sb_map_clear(m);	/* a flood of live tokens: start over rather than grow */
	sb_random_hex(tok, len - 1);
	tok[len - 1] = '\0';
	t = xcalloc(1, sizeof *t);
	t->client_id = xstrdup(client);
	t->issued = now;
	t->expires = now + ttl;
	sb_map_put(m, tok, t);
	return (tok);
}

static struct sb_token *
auth_lookup(struct sb_server *srv, const char *token)
{
	struct sb_token	*t;

	if (token == NULL || *token == '\0' || strlen(token) > 256)
		return (NULL);
	if ((t = sb_map_get(srv->tokens.access, token)) == NULL || t->expires <= time(NULL))
		return (NULL);
	return (t);
}

int
sb_token_valid(struct sb_server *srv, const char *token)
{
	return (auth_lookup(srv, token) != NULL);
}

static int
auth_eq(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b);

	return (la == lb && CRYPTO_memcmp(a, b, la) == 0);
}

static void
auth_error(struct sb_call *call, int status, const char *error, const char *desc)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(error));
	if (desc != NULL)
		json_object_object_add(o, "error_description", json_object_new_string(desc));
	if (status == 401)
		evhttp_add_header(evhttp_request_get_output_headers(call->req), "WWW-Authenticate",
		    "Basic realm=\"kassaboek-sandbox\"");
	sb_reply_json(call, status, o);
}

/* Client id and secret from "Authorization: Basic base64(id:secret)"; 0 or -1. */
static int
auth_basic(struct evhttp_request *req, char *id, size_t idlen, char *secret, size_t slen)
{
	const char	*h;
	unsigned char	 out[512];
	char		*colon;
	size_t		 in;
	int		 n;

	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return (-1);
	h += 6;
	while (*h == ' ')
		h++;
	in = strlen(h);
	if (in == 0 || in % 4 != 0 || in / 4 * 3 >= sizeof out)
		return (-1);
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)h, (int)in)) < 0)
		return (-1);
	if (h[in - 1] == '=')
		n--;
	if (h[in - 2] == '=')
		n--;
	out[n] = '\0';
	if (memchr(out, '\0', (size_t)n) != NULL || (colon = strchr((char *)out, ':')) == NULL)
		return (-1);
	*colon = '\0';
	if (strlen((char *)out) >= idlen || strlen(colon + 1) >= slen)
		return (-1);
	memcpy(id, out, strlen((char *)out) + 1);
	memcpy(secret, colon + 1, strlen(colon + 1) + 1);
	return (0);
}

void
sb_auth_token(struct sb_call *call)
{
	struct sb_server	*srv = call->srv;
	struct evbuffer		*in = evhttp_request_get_input_buffer(call->req);
	struct evkeyvalq	 form;
	struct json_object	*o;
	struct sb_token		*code;
	const char		*grant, *v, *redirect;
	char			 body[AUTH_FORM_MAX + 1], id[256], secret[256], tok[41], desc[128];
	size_t			 len;

	if (evhttp_request_get_command(call->req) != EVHTTP_REQ_POST) {
		auth_error(call, 405, "invalid_request", "use POST");
		return;
	}
	if ((len = evbuffer_get_length(in)) > AUTH_FORM_MAX) {
		auth_error(call, 400, "invalid_request", "form body too large");
		return;
	}
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	TAILQ_INIT(&form);
	if (evhttp_parse_query_str(body, &form) == -1) {
		auth_error(call, 400, "invalid_request", "malformed form body");
		return;
	}
	grant = evhttp_find_header(&form, "grant_type");
	sb_log_describe(call, grant != NULL ? grant : "", NULL, NULL, 0);
	if (auth_basic(call->req, id, sizeof id, secret, sizeof secret) == -1 ||
	    !auth_eq(id, srv->cfg.client_id) || !auth_eq(secret, srv->cfg.client_secret)) {
		auth_error(call, 401, "invalid_client", NULL);
		goto out;
	}
	if (grant == NULL) {
		auth_error(call, 400, "invalid_request", "grant_type is missing");
		goto out;
	}
	if (strcmp(grant, "refresh_token") == 0) {
		v = evhttp_find_header(&form, "refresh_token");
		if (v == NULL || !auth_eq(v, srv->cfg.refresh_token)) {
			auth_error(call, 400, "invalid_grant", NULL);
			goto out;
		}
	} else if (strcmp(grant, "authorization_code") == 0) {
		v = evhttp_find_header(&form, "code");
		redirect = evhttp_find_header(&form, "redirect_uri");
		if (v == NULL || (code = sb_map_get(srv->tokens.codes, v)) == NULL ||
		    code->expires <= time(NULL) || redirect == NULL ||
		    strcmp(redirect, code->client_id) != 0) {
			auth_error(call, 400, "invalid_grant", NULL);
			goto out;
		}
		sb_map_del(srv->tokens.codes, v);	/* a code is used once */
	} else {
		snprintf(desc, sizeof desc, "grant_type %.64s is not supported", grant);
		auth_error(call, 400, "unsupported_grant_type", desc);
		goto out;
	}
	auth_issue(srv, srv->tokens.access, id, srv->tokens.ttl, tok, sizeof tok);
	srv->tokens.issued_total++;
	o = json_object_new_object();
	json_object_object_add(o, "access_token", json_object_new_string(tok));
	json_object_object_add(o, "expires_in", json_object_new_int64(srv->tokens.ttl));
	json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(o, "refresh_token", json_object_new_string(srv->cfg.refresh_token));
	json_object_object_add(o, "scope", json_object_new_string(
	    "openid twf.user twf.organisation twf.organisationUser offline_access"));
	sb_reply_json(call, 200, o);
out:
	evhttp_clear_headers(&form);
}

static void
auth_claims(struct sb_server *srv, struct json_object *o)
{
	json_object_object_add(o, "twf.organisationUserCode", json_object_new_string(srv->store->user_code));
	json_object_object_add(o, "twf.organisationCode", json_object_new_string(srv->store->org_code));
	json_object_object_add(o, "twf.organisationId", json_object_new_string(srv->store->org_id));
}

static const char *
auth_query(struct sb_call *call, struct evkeyvalq *q, const char *name)
{
	const char	*query;

	TAILQ_INIT(q);
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(call->req));
	if (query == NULL || evhttp_parse_query_str(query, q) == -1)
		return (NULL);
	return (evhttp_find_header(q, name));
}

void
sb_auth_validate(struct sb_call *call)
{
	struct sb_server	*srv = call->srv;
	struct evkeyvalq	 q;
	struct sb_token		*t;
	struct json_object	*o, *scope;
	const char		*token;
	char			 base[256], buf[320];

	token = auth_query(call, &q, "token");
	if ((t = auth_lookup(srv, token)) == NULL) {
		o = json_object_new_object();
		json_object_object_add(o, "Message", json_object_new_string("The access token is invalid or has expired."));
		json_object_object_add(o, "error", json_object_new_string("invalid_token"));
		sb_reply_json(call, 400, o);
		evhttp_clear_headers(&q);
		return;
	}
	sb_base_url(srv, call->req, base, sizeof base);
	o = json_object_new_object();
	snprintf(buf, sizeof buf, "%s/auth/authentication/resources", base);
	json_object_object_add(o, "aud", json_object_new_string(buf));
	snprintf(buf, sizeof buf, "%s/auth/authentication", base);
	json_object_object_add(o, "iss", json_object_new_string(buf));
	/* §2.3: nbf, exp and auth_time are strings. */
	snprintf(buf, sizeof buf, "%lld", (long long)t->issued);
	json_object_object_add(o, "nbf", json_object_new_string(buf));
	snprintf(buf, sizeof buf, "%lld", (long long)t->expires);
	json_object_object_add(o, "exp", json_object_new_string(buf));
	json_object_object_add(o, "client_id", json_object_new_string(t->client_id));
	scope = json_object_new_array();
	json_object_array_add(scope, json_object_new_string("openid"));
	json_object_array_add(scope, json_object_new_string("offline_access"));
	json_object_array_add(scope, json_object_new_string("twf.user"));
	json_object_array_add(scope, json_object_new_string("twf.organisationUser"));
	json_object_array_add(scope, json_object_new_string("twf.organisation"));
	json_object_object_add(o, "scope", scope);
	json_object_object_add(o, "sub", json_object_new_string(srv->store->user_code));
	snprintf(buf, sizeof buf, "%lld", (long long)t->issued);
	json_object_object_add(o, "auth_time", json_object_new_string(buf));
	json_object_object_add(o, "idp", json_object_new_string("kassaboek-sandbox"));
	json_object_object_add(o, "amr", json_object_new_string("external"));
	auth_claims(srv, o);
	json_object_object_add(o, "twf.clusterUrl", json_object_new_string(base));
	evhttp_clear_headers(&q);
	sb_reply_json(call, 200, o);
}

void
sb_auth_authorize(struct sb_call *call)
{
	struct sb_server	*srv = call->srv;
	struct evkeyvalq	 q;
	struct evhttp_uri	*u;
	const char		*client, *redirect, *rtype, *nonce, *state;
	char			 code[33], *loc = NULL, *enc_code = NULL, *enc_state = NULL, *query = NULL;

	client = auth_query(call, &q, "client_id");
	redirect = evhttp_find_header(&q, "redirect_uri");
	rtype = evhttp_find_header(&q, "response_type");
	nonce = evhttp_find_header(&q, "nonce");
	state = evhttp_find_header(&q, "state");
	if (client == NULL || !auth_eq(client, srv->cfg.client_id) || redirect == NULL ||
	    (u = evhttp_uri_parse(redirect)) == NULL) {
		sb_reply_text(call, 400, "unknown client_id or bad redirect_uri\n");
		goto out;
	}
	evhttp_uri_free(u);
	if (rtype == NULL || strcmp(rtype, "code") != 0 || nonce == NULL || *nonce == '\0') {
		sb_reply_text(call, 400, "response_type=code and a nonce are required\n");
		goto out;
	}
	auth_issue(srv, srv->tokens.codes, redirect, SB_RULE_AUTH_CODE_TTL, code, sizeof code);
	enc_code = evhttp_encode_uri(code);
	enc_state = evhttp_encode_uri(state != NULL ? state : "");
	query = xasprintf("code=%s&state=%s", enc_code, enc_state);
	loc = xasprintf("%s%s%s", redirect, strchr(redirect, '?') != NULL ? "&" : "?", query);
	evhttp_add_header(evhttp_request_get_output_headers(call->req), "Location", loc);
	sb_reply_text(call, 302, "");
out:
	free(enc_code);
	free(enc_state);
	free(query);
	free(loc);
	evhttp_clear_headers(&q);
}

void
sb_auth_userinfo(struct sb_call *call)
{
	struct sb_server	*srv = call->srv;
	struct json_object	*o;
	const char		*h;

	h = evhttp_find_header(evhttp_request_get_input_headers(call->req), "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || auth_lookup(srv, h + 7) == NULL) {
		auth_error(call, 401, "invalid_token", NULL);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "sub", json_object_new_string(srv->store->user_code));
	auth_claims(srv, o);
	sb_reply_json(call, 200, o);
}
