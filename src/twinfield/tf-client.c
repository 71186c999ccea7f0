/*
 * The Twinfield client proper: one request is a small state machine
 *
 *   THROTTLE (credits + slot from Redis) -> AUTH (token + cluster)
 *     -> HTTP (ProcessXmlString / Search) -> done
 *        \-> 429: BACKOFF (Retry-After, exponential) -> THROTTLE
 *        \-> 401 / fault 354, 103: forget the token once -> THROTTLE
 *
 * and ends in exactly one call of its tf_done_cb with a classified result.
 * Only 429s and a refused token are retried here; everything else is the
 * worker's business, guided by tf_err_transient().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <libxml/tree.h>

#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"
#include "kassaboek/units.h"
#include "tf-internal.h"

#define CLIENT_REQ_MAGIC	0x74667271u	/* "tfrq" */
#define CLIENT_BACKOFF_BASE_MS	500
#define CLIENT_BACKOFF_MAX_MS	60000
#define CLIENT_LEASE_SLACK_MS	5000
#define CLIENT_REDIS_TIMEOUT_MS	2000
#define CLIENT_MSG_MAX		1024

enum req_state {
	REQ_THROTTLE,
	REQ_AUTH,
	REQ_HTTP,
	REQ_BACKOFF,
};

struct tf_req {
	unsigned		 magic;
	struct tf_client	*c;
	enum req_state		 state;
	/* What to send. */
	int			 is_search;
	char			*payload;	/* ProcessXml document text */
	char			*root;		/* its root element */
	size_t			 nchildren;	/* documents in a batch root, else 1 */
	char			*s_type;
	char			*s_pattern;
	int			 s_field;
	int			 s_first;
	int			 s_max;
	char			**s_opts;	/* 2 * s_nopts strings */
	size_t			 s_nopts;
	char			*office;
	unsigned		 cost;
	tf_done_cb		*cb;
	void			*arg;
	/* Progress. */
	unsigned		 attempts;
	unsigned		 retries_429;
	int			 auth_retried;
	unsigned		 credits;
	long			 last_status;
	char			*token_used;
	struct tf_throttle_wait	 tw;
	struct tf_auth_wait	*aw;
	struct event		*backoff_ev;
	TAILQ_ENTRY(tf_req)	 entry;
};

struct tf_client {
	struct event_base	*base;
	struct kb_redis		*redis;
	struct httpc		*http;
	struct tf_auth		*auth;
	struct tf_throttle	*throttle;
	struct tf_stats		 stats;
	int			 closing;
	int			 draining;	/* tf_client_shutdown called */
	unsigned		 redis_pending;
	struct event		*drain_ev;
	void			(*drain_cb)(void *);
	void			*drain_arg;
	TAILQ_HEAD(, tf_req)	 reqs;
	char			*office;
	unsigned		 batch_size;
	unsigned		 timeout_ms;
	unsigned		 connect_timeout_ms;
	unsigned		 max_retries;
	size_t			 max_response;
	uint32_t		 rnd;
};

static void	req_throttle(struct tf_req *r);

static uint32_t
client_random(struct tf_client *c)
{
	/* xorshift32: jitter only, not security. */
	c->rnd ^= c->rnd << 13;
	c->rnd ^= c->rnd >> 17;
	c->rnd ^= c->rnd << 5;
	return (c->rnd);
}

static void
req_free(struct tf_req *r)
{
	size_t	i;

	free(r->payload);
	free(r->root);
	free(r->s_type);
	free(r->s_pattern);
	for (i = 0; i < 2 * r->s_nopts; i++)
		free(r->s_opts[i]);
	free(r->s_opts);
	free(r->office);
	free(r->token_used);
	if (r->backoff_ev != NULL)
		event_free(r->backoff_ev);
	r->magic = 0;
	free(r);
}

/* Hands resp to the owner and frees the request. */
static void
req_complete(struct tf_req *r, struct tf_response *resp)
{
	struct tf_client	*c = r->c;

	TAILQ_REMOVE(&c->reqs, r, entry);
	resp->attempts = r->attempts;
	resp->credits = r->credits;
	if (resp->http_status == 0)
		resp->http_status = r->last_status;
	if (resp->message == NULL)
		resp->message = "";
	if (resp->kind == TF_OK)
		c->stats.ok++;
	else if (tf_err_transient(resp->kind))
		c->stats.transient_errors++;
	else
		c->stats.permanent_errors++;
	r->cb(resp, r->arg);
	req_free(r);
}

static void
req_fail(struct tf_req *r, enum tf_err_kind kind, const char *msg)
{
	struct tf_response	resp;

	memset(&resp, 0, sizeof resp);
	resp.kind = kind;
	resp.message = msg;
	req_complete(r, &resp);
}

static void
req_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tf_req	*r = arg;

	req_throttle(r);
}

/* 429: wait Retry-After, at least the exponential backoff, then queue again. */
static void
req_backoff(struct tf_req *r, long retry_after_ms)
{
	struct tf_client	*c = r->c;
	struct timeval		 tv;
	long			 ms;
	unsigned		 shift;

	shift = r->retries_429 < 7 ? r->retries_429 : 7;
	ms = (long)CLIENT_BACKOFF_BASE_MS << shift;
	ms += (long)(client_random(c) % (uint32_t)(ms / 2 + 1));
	if (retry_after_ms > ms)
		ms = retry_after_ms;
	if (ms > CLIENT_BACKOFF_MAX_MS)
		ms = CLIENT_BACKOFF_MAX_MS;
	/* Twinfield said stop: the whole organisation waits, not just this request. */
	tf_throttle_pause(c->throttle, retry_after_ms > 0 ? retry_after_ms : ms);
	r->retries_429++;
	c->stats.retries++;
	r->state = REQ_BACKOFF;
	if (r->backoff_ev == NULL)
		r->backoff_ev = evtimer_new(c->base, req_backoff_cb, r);
	tv = kb_timeval_ms(ms);
	evtimer_add(r->backoff_ev, &tv);
}

/* Fills resp from a 200 ProcessXml answer; returns the kind. */
static void
req_processxml_result(struct tf_req *r, struct tf_soap_env *env, struct tf_response *resp,
    char *msg)
{
	struct tf_client	*c = r->c;
	struct kb_err		 err;
	size_t			 i, failed = 0, first = 0;

	if (tf_result_parse(env->result, env->result_len, c->max_response, r->root, &resp->doc,
	    &resp->docs, &resp->ndocs, &err) == -1) {
		resp->kind = TF_ERR_PROTOCOL;
		snprintf(msg, CLIENT_MSG_MAX, "ProcessXml result: %s", err.msg);
		return;
	}
	for (i = 0; i < resp->ndocs; i++) {
		if (!resp->docs[i].ok && failed++ == 0)
			first = i;
	}
	if (resp->ndocs != r->nchildren && !(failed > 0 && resp->ndocs == 1)) {
		resp->kind = TF_ERR_PROTOCOL;
		snprintf(msg, CLIENT_MSG_MAX, "ProcessXml result has %zu documents for the %zu "
		    "sent", resp->ndocs, r->nchildren);
		return;
	}
	if (failed == 0) {
		resp->kind = TF_OK;
		return;
	}
	resp->kind = TF_ERR_BUSINESS;
	snprintf(msg, CLIENT_MSG_MAX, "%s", resp->docs[first].summary);
	if (r->nchildren > 1) {
		size_t	len = strlen(msg);

		snprintf(msg + len, CLIENT_MSG_MAX - len, " (%zu of %zu documents failed)",
		    resp->ndocs == r->nchildren ? failed : r->nchildren, r->nchildren);
	}
}

static void
req_search_result(struct tf_req *r, struct tf_soap_env *env, struct tf_response *resp, char *msg)
{
	struct kb_err	 err;
	size_t		 i;

	if ((resp->finder = tf_finder_result_parse(env->response, &err)) == NULL) {
		resp->kind = TF_ERR_PROTOCOL;
		snprintf(msg, CLIENT_MSG_MAX, "Finder: %s", err.msg);
		return;
	}
	resp->kind = TF_OK;
	for (i = 0; i < resp->finder->nmsgs; i++) {
		/* The samples treat any message as a failure; so do we, except information. */
		if (resp->finder->msgs[i].type != NULL &&
		    strcmp(resp->finder->msgs[i].type, "Informational") == 0)
			continue;
		resp->kind = TF_ERR_BUSINESS;
		snprintf(msg, CLIENT_MSG_MAX, "Finder %s '%.100s': %.40s: %.300s", r->s_type,
		    r->s_pattern, resp->finder->msgs[i].code != NULL ? resp->finder->msgs[i].code :
		    "error", resp->finder->msgs[i].text != NULL ? resp->finder->msgs[i].text : "");
		return;
	}
}

static void
req_http_done(const struct httpc_res *res, void *arg)
{
	struct tf_req		*r = arg;
	struct tf_client	*c = r->c;
	struct tf_response	 resp;
	struct tf_soap_env	 env;
	struct kb_err		 err;
	char			 msg[CLIENT_MSG_MAX];
	int			 have_env = 0, refresh;
	long			 fcode = -1;

	if (r->magic != CLIENT_REQ_MAGIC)
		abort();
	c->stats.in_flight--;
	tf_throttle_release(c->throttle, r->tw.lease);
	r->last_status = res->status;
	memset(&resp, 0, sizeof resp);
	memset(&env, 0, sizeof env);
	resp.http_status = res->status;
	resp.message = msg;
	msg[0] = '\0';
	if (c->closing) {
		req_fail(r, TF_ERR_CANCELLED, "client shut down");
		return;
	}
	if (res->too_large) {
		snprintf(msg, sizeof msg, "response over the %zu byte limit", c->max_response);
		resp.kind = TF_ERR_TOO_LARGE;
		goto done;
	}
	if (res->code != CURLE_OK) {
		resp.kind = res->code == CURLE_OPERATION_TIMEDOUT ? TF_ERR_TIMEOUT : TF_ERR_NETWORK;
		snprintf(msg, sizeof msg, "%s: %s", r->is_search ? "Finder" : "ProcessXml",
		    res->error);
		goto done;
	}
	if (res->status == 429) {
		c->stats.http_429++;
		if (r->retries_429 < c->max_retries) {
			req_backoff(r, res->retry_after_ms);
			return;
		}
		resp.kind = TF_ERR_RATE_LIMIT;
		snprintf(msg, sizeof msg, "HTTP 429 Too Many Requests, %u retries spent",
		    r->retries_429);
		goto done;
	}
	if (res->len > 0) {
		if (tf_soap_parse_envelope(res->body, res->len, c->max_response, &env, &err) == 0) {
			have_env = 1;
			resp.fault = env.fault;
			if (env.fault != NULL)
				fcode = env.fault->code;
		} else if (res->status == 200) {
			resp.kind = TF_ERR_PROTOCOL;
			snprintf(msg, sizeof msg, "bad SOAP response: %s", err.msg);
			goto done;
		}
	}
	if (have_env && env.kind == TF_SOAP_FAULT && fcode == -1)
		fcode = 0;	/* a fault without a code still is a fault */
	resp.kind = tf_classify_http(res->status, fcode, &refresh);
	if (refresh && !r->auth_retried) {
		/* Refresh once and retry once (reference §7.4). */
		r->auth_retried = 1;
		c->stats.retries++;
		tf_auth_invalidate(c->auth, r->token_used);
		tf_soap_env_clear(&env);
		req_throttle(r);
		return;
	}
	if (resp.kind == TF_ERR_PROTOCOL) {
		snprintf(msg, sizeof msg, "unexpected HTTP %ld", res->status);
		goto done;
	}
	if (resp.kind == TF_OK) {
		if (have_env && env.kind == TF_SOAP_PROCESSXML && !r->is_search)
			req_processxml_result(r, &env, &resp, msg);
		else if (have_env && env.kind == TF_SOAP_SEARCH && r->is_search)
			req_search_result(r, &env, &resp, msg);
		else {
			resp.kind = TF_ERR_PROTOCOL;
			snprintf(msg, sizeof msg, "HTTP 200 without the SOAP answer to %s",
			    r->is_search ? "Search" : "ProcessXmlString");
		}
		goto done;
	}
	/* An HTTP or fault error: say what Twinfield said. */
	if (env.fault != NULL) {
		char	code[32] = "";

		if (env.fault->code != -1)
			snprintf(code, sizeof code, " code %ld", env.fault->code);
		snprintf(msg, sizeof msg, "HTTP %ld, SOAP fault %.40s%s: %.400s", res->status,
		    env.fault->faultcode != NULL ? env.fault->faultcode : "", code,
		    env.fault->message != NULL ? env.fault->message : env.fault->faultstring != NULL ?
		    env.fault->faultstring : "");
	} else
		snprintf(msg, sizeof msg, "HTTP %ld from %s", res->status,
		    r->is_search ? "Finder" : "ProcessXml");
done:
	req_complete(r, &resp);
	xmlFreeDoc(resp.doc);
	tf_doc_results_free(resp.docs, resp.ndocs);
	tf_finder_result_free(resp.finder);
	tf_soap_env_clear(&env);
}

static void
req_send(struct tf_req *r, const char *token, const char *cluster)
{
	struct tf_client	*c = r->c;
	struct httpc_req	 req;
	struct tf_search	 s;
	struct kb_err		 err;
	char			*url;
	const char		*company;

	company = r->office != NULL ? r->office : c->office;
	memset(&req, 0, sizeof req);
	if (r->is_search) {
		memset(&s, 0, sizeof s);
		s.type = r->s_type;
		s.pattern = r->s_pattern;
		s.field = r->s_field;
		s.first_row = r->s_first;
		s.max_rows = r->s_max;
		s.options = (const char *const *)r->s_opts;
		s.noptions = r->s_nopts;
		req.body = tf_soap_search_build(token, company, &s, &req.body_len);
		url = xasprintf("%s/webservices/finder.asmx", cluster);
		req.headers = curl_slist_append(NULL, "SOAPAction: \"http://www.twinfield.com/Search\"");
	} else {
		req.body = tf_soap_processxml_build(token, company, r->payload, &req.body_len);
		url = xasprintf("%s/webservices/processxml.asmx", cluster);
		req.headers = curl_slist_append(NULL,
		    "SOAPAction: \"http://www.twinfield.com/ProcessXmlString\"");
	}
	req.headers = curl_slist_append(req.headers, "Content-Type: text/xml; charset=utf-8");
	/* No "Expect: 100-continue" round trip for bigger batches. */
	req.headers = curl_slist_append(req.headers, "Expect:");
	req.url = url;
	req.timeout_ms = c->timeout_ms;
	req.connect_timeout_ms = c->connect_timeout_ms;
	req.max_body = c->max_response;
	free(r->token_used);
	r->token_used = xstrdup(token);
	r->state = REQ_HTTP;
	r->attempts++;
	if (httpc_start(c->http, &req, req_http_done, r, &err) == -1) {
		free(url);
		curl_slist_free_all(req.headers);
		free(req.body);
		tf_throttle_release(c->throttle, r->tw.lease);
		req_fail(r, TF_ERR_NETWORK, err.msg);
		return;
	}
	free(url);
	c->stats.requests++;
	c->stats.in_flight++;
	if (c->stats.in_flight > c->stats.max_in_flight)
		c->stats.max_in_flight = c->stats.in_flight;
}

static void
req_token(enum tf_err_kind kind, const char *msg, const char *token, const char *cluster,
    void *arg)
{
	struct tf_req	*r = arg;

	r->aw = NULL;
	if (kind != TF_OK) {
		tf_throttle_release(r->c->throttle, r->tw.lease);
		req_fail(r, kind, msg);
		return;
	}
	req_send(r, token, cluster);
}

static void
req_granted(struct tf_throttle_wait *w, enum tf_err_kind kind, const char *msg)
{
	struct tf_req		*r = w->arg;
	struct tf_auth_wait	*aw;

	if (r->magic != CLIENT_REQ_MAGIC)
		abort();
	if (kind != TF_OK) {
		req_fail(r, kind, msg);
		return;
	}
	r->credits += r->cost;
	r->state = REQ_AUTH;
	/* The callback may run before tf_auth_get returns; then it returns NULL. */
	aw = tf_auth_get(r->c->auth, req_token, r);
	if (aw != NULL)
		r->aw = aw;
}

static void
req_throttle(struct tf_req *r)
{
	if (r->c->draining) {
		req_fail(r, TF_ERR_CANCELLED, "client shutting down");
		return;
	}
	r->state = REQ_THROTTLE;
	r->tw.cost = r->cost;
	r->tw.cb = req_granted;
	r->tw.arg = r;
	tf_throttle_acquire(r->c->throttle, &r->tw);
}

static struct tf_req *
req_new(struct tf_client *c, const char *office, tf_done_cb *cb, void *arg)
{
	struct tf_req	*r;

	r = xcalloc(1, sizeof *r);
	r->magic = CLIENT_REQ_MAGIC;
	r->c = c;
	r->office = office != NULL ? xstrdup(office) : NULL;
	r->cb = cb;
	r->arg = arg;
	r->nchildren = 1;
	return (r);
}

int
tf_client_process(struct tf_client *c, const char *office, xmlDoc *doc, tf_done_cb *cb,
    void *arg, struct kb_err *err)
{
	struct tf_req	*r;
	xmlNode		*root;
	size_t		 n;

	if (c->closing || c->draining)
		return (kb_err_set(err, "Twinfield client is shutting down"));
	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL)
		return (kb_err_set(err, "ProcessXml: empty document"));
	r = req_new(c, office, cb, arg);
	r->root = xstrdup((const char *)root->name);
	if (tf_result_is_batch_root(r->root)) {
		n = (size_t)xmlChildElementCount(root);
		if (n == 0 || n > c->batch_size) {
			kb_err_set(err, "ProcessXml: batch <%s> has %zu documents (1..%u allowed)",
			    r->root, n, c->batch_size);
			req_free(r);
			return (-1);
		}
		r->nchildren = n;
	}
	r->payload = tf_xml_dump(doc, NULL);
	r->cost = tf_credit_cost("ProcessXmlString", r->root);
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	req_throttle(r);
	return (0);
}

int
tf_client_search(struct tf_client *c, const struct tf_search *s, tf_done_cb *cb, void *arg,
    struct kb_err *err)
{
	struct tf_req	*r;
	size_t		 i;

	if (c->closing || c->draining)
		return (kb_err_set(err, "Twinfield client is shutting down"));
	if (s->type == NULL || s->pattern == NULL || (s->noptions > 0 && s->options == NULL))
		return (kb_err_set(err, "Finder: type and pattern are required"));
	r = req_new(c, s->office, cb, arg);
	r->is_search = 1;
	r->s_type = xstrdup(s->type);
	r->s_pattern = xstrdup(s->pattern);
	r->s_field = s->field;
	r->s_first = s->first_row;
	r->s_max = s->max_rows;
	r->s_nopts = s->noptions;
	r->s_opts = xcalloc(2 * s->noptions + 1, sizeof *r->s_opts);
	for (i = 0; i < 2 * s->noptions; i++)
		r->s_opts[i] = xstrdup(s->options[i] != NULL ? s->options[i] : "");
	r->root = xstrdup("Search");
	r->cost = tf_credit_cost("Search", NULL);
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	req_throttle(r);
	return (0);
}

static int
client_url_ok(const char *u)
{
	return (u != NULL && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0));
}

/* Copy of u without trailing slashes. */
static char *
client_strip(const char *u)
{
	char	*s;
	size_t	 n;

	s = xstrdup(u);
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return (s);
}

struct tf_client *
tf_client_new(struct event_base *base, const struct tf_config *cfg, struct kb_err *err)
{
	struct tf_client		*c;
	struct tf_auth_params		 ap;
	struct tf_throttle_params	 tp;
	const char			*prefix, *org;
	char				*login, *cluster = NULL;
	char				*k_tok, *k_ref, *k_lock, *k_cred, *k_slot, *k_pause;

	if (!client_url_ok(cfg->login_url)) {
		kb_err_set(err, "twinfield.login_url must be an http(s) URL");
		return (NULL);
	}
	if (cfg->cluster_url != NULL && *cfg->cluster_url != '\0' &&
	    !client_url_ok(cfg->cluster_url)) {
		kb_err_set(err, "twinfield.cluster_url must be an http(s) URL");
		return (NULL);
	}
	if (cfg->client_id == NULL || *cfg->client_id == '\0' || cfg->client_secret == NULL ||
	    cfg->refresh_token == NULL || *cfg->refresh_token == '\0') {
		kb_err_set(err, "twinfield.client_id, client_secret and refresh_token are required");
		return (NULL);
	}
	if (cfg->batch_size > TF_BATCH_MAX) {
		kb_err_set(err, "twinfield.batch_size %u is over Twinfield's %d", cfg->batch_size,
		    TF_BATCH_MAX);
		return (NULL);
	}
	if (cfg->credits_per_minute > 0 && cfg->credits_per_minute < 3) {
		kb_err_set(err, "twinfield.credits_per_minute must be 0 (off) or at least 3, "
		    "the cost of one write");
		return (NULL);
	}
	if (cfg->redis_url == NULL || *cfg->redis_url == '\0') {
		kb_err_set(err, "a Redis URL is required (token cache and throttle)");
		return (NULL);
	}
	c = xcalloc(1, sizeof *c);
	c->base = base;
	TAILQ_INIT(&c->reqs);
	c->redis = kb_redis_new(base, cfg->redis_url, "twinfield", CLIENT_REDIS_TIMEOUT_MS,
	    CLIENT_REDIS_TIMEOUT_MS, err);
	if (c->redis == NULL) {
		free(c);
		return (NULL);
	}
	c->office = cfg->office != NULL ? xstrdup(cfg->office) : NULL;
	c->batch_size = cfg->batch_size > 0 ? cfg->batch_size : TF_BATCH_MAX;
	c->timeout_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 30000;
	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
	if (c->connect_timeout_ms > c->timeout_ms)
		c->connect_timeout_ms = c->timeout_ms;
	c->max_retries = cfg->max_retries > 0 ? cfg->max_retries : 5;
	c->max_response = cfg->max_response > 0 ? cfg->max_response : TF_DEFAULT_MAX_RESPONSE;
	c->rnd = (uint32_t)getpid() ^ (uint32_t)tf_now_ms() ^ 0x9e3779b9u;
	if (c->rnd == 0)
		c->rnd = 1;
	c->http = httpc_new(base);

	prefix = cfg->redis_prefix != NULL && *cfg->redis_prefix != '\0' ? cfg->redis_prefix : "kb";
	org = cfg->organisation != NULL && *cfg->organisation != '\0' ? cfg->organisation :
	    cfg->client_id;
	k_tok = xasprintf("{%s}:tf:token:%s", prefix, org);
	k_ref = xasprintf("{%s}:tf:refresh:%s", prefix, org);
	k_lock = xasprintf("{%s}:tf:tokenlock:%s", prefix, org);
	k_cred = xasprintf("{%s}:tf:credits:%s", prefix, org);
	k_slot = xasprintf("{%s}:tf:slots:%s", prefix, org);
	k_pause = xasprintf("{%s}:tf:pause:%s", prefix, org);
	login = client_strip(cfg->login_url);
	if (cfg->cluster_url != NULL && *cfg->cluster_url != '\0')
		cluster = client_strip(cfg->cluster_url);

	memset(&ap, 0, sizeof ap);
	ap.base = base;
	ap.redis = c->redis;
	ap.http = c->http;
	ap.cfg = cfg;
	ap.login_url = login;
	ap.client_id = cfg->client_id;
	ap.client_secret = cfg->client_secret;
	ap.refresh_token = cfg->refresh_token;
	ap.cluster_url = cluster;
	ap.key_token = k_tok;
	ap.key_refresh = k_ref;
	ap.key_lock = k_lock;
	ap.timeout_ms = c->timeout_ms;
	ap.stats = &c->stats;
	ap.closing = &c->closing;
	ap.redis_pending = &c->redis_pending;
	c->auth = tf_auth_new(&ap);

	memset(&tp, 0, sizeof tp);
	tp.base = base;
	tp.redis = c->redis;
	tp.key_credits = k_cred;
	tp.key_slots = k_slot;
	tp.key_pause = k_pause;
	tp.credits_per_minute = cfg->credits_per_minute;
	tp.max_concurrency = cfg->max_concurrency;
	tp.window_ms = 60000 + (cfg->window_slack_ms > 0 ? cfg->window_slack_ms : 2000);
	tp.lease_ms = c->timeout_ms + CLIENT_LEASE_SLACK_MS;
	tp.stats = &c->stats;
	tp.closing = &c->closing;
	tp.redis_pending = &c->redis_pending;
	c->throttle = tf_throttle_new(&tp);

	free(login);
	free(cluster);
	free(k_tok);
	free(k_ref);
	free(k_lock);
	free(k_cred);
	free(k_slot);
	free(k_pause);
	return (c);
}

static void
client_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tf_client	*c = arg;
	struct timeval		 tv = { 0, 10 * 1000 };

	if (!TAILQ_EMPTY(&c->reqs) || c->redis_pending > 0 || tf_auth_busy(c->auth)) {
		evtimer_add(c->drain_ev, &tv);
		return;
	}
	if (c->drain_cb != NULL) {
		c->drain_cb(c->drain_arg);
		c->drain_cb = NULL;
	}
}

void
tf_client_shutdown(struct tf_client *c, void (*cb)(void *arg), void *arg)
{
	struct tf_req	*r, *next;
	struct timeval	 tv = { 0, 0 };

	c->draining = 1;
	c->drain_cb = cb;
	c->drain_arg = arg;
	tf_throttle_cancel_all(c->throttle);
	for (r = TAILQ_FIRST(&c->reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->state == REQ_BACKOFF) {
			evtimer_del(r->backoff_ev);
			req_fail(r, TF_ERR_CANCELLED, "client shutting down");
		} else if (r->state == REQ_AUTH && r->aw != NULL) {
			tf_auth_cancel(c->auth, r->aw);
			r->aw = NULL;
			tf_throttle_release(c->throttle, r->tw.lease);
			req_fail(r, TF_ERR_CANCELLED, "client shutting down");
		}
	}
	if (c->drain_ev == NULL)
		c->drain_ev = evtimer_new(c->base, client_drain_cb, c);
	evtimer_add(c->drain_ev, &tv);
}

void
tf_client_free(struct tf_client *c)
{
	struct tf_req	*r, *next;

	if (c == NULL)
		return;
	c->closing = 1;
	/* Redis first: its pending callbacks see `closing` and do nothing. */
	kb_redis_free(c->redis);
	/* Aborted transfers complete their requests with TF_ERR_CANCELLED. */
	httpc_free(c->http);
	/* Queued requests, and those waiting for a token. */
	tf_throttle_free(c->throttle);
	for (r = TAILQ_FIRST(&c->reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->aw != NULL) {
			tf_auth_cancel(c->auth, r->aw);
			r->aw = NULL;
		}
		req_fail(r, TF_ERR_CANCELLED, "client shut down");
	}
	tf_auth_free(c->auth);
	if (c->drain_ev != NULL)
		event_free(c->drain_ev);
	free(c->office);
	free(c);
}

void
tf_client_stats(const struct tf_client *c, struct tf_stats *out)
{
	*out = c->stats;
}

unsigned
tf_client_batch_size(const struct tf_client *c)
{
	return (c->batch_size);
}

const char *
tf_client_office(const struct tf_client *c)
{
	return (c->office);
}
