/*
 * Twinfield client: asynchronous, credit-aware, driven by one libevent
 * event_base (curl_multi socket API for HTTP, hiredis async for Redis).
 *
 * A caller creates one struct tf_client per event loop and Twinfield
 * organisation, then submits ProcessXmlString documents (built with
 * kassaboek/tf-doc.h) or Finder searches. Every submission ends in exactly one
 * call of its tf_done_cb, on a later loop turn or (for argument errors) never:
 * such errors are returned by the submit function instead.
 *
 * Inside the client: OAuth2 token shared through Redis, a credit/concurrency
 * throttle shared through Redis (so several processes never push the
 * organisation into a 429), 429 and expired-token retries. Everything else is
 * reported with an error kind the worker's retry logic uses
 * (tf_err_transient()).
 */
#ifndef KASSABOEK_TF_H
#define KASSABOEK_TF_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "kassaboek/err.h"

struct event_base;

/* Hard limits of the protocol (reference §3.4). */
#define TF_BATCH_MAX		25
#define TF_DEFAULT_MAX_RESPONSE	(8u * 1024 * 1024)

/*
 * Plain values, borrowed for the duration of tf_client_new() only (the client
 * copies them), so the caller can fill this from [twinfield] / [redis] config
 * keys or from a test program.
 */
struct tf_config {
	const char	*login_url;	/* base of /auth/authentication/connect/... */
	const char	*client_id;
	const char	*client_secret;
	const char	*refresh_token;	/* initial one; Redis keeps rotated ones */
	const char	*cluster_url;	/* NULL or "" = discover via token validation */
	const char	*office;	/* default CompanyCode */
	unsigned	 credits_per_minute;	/* 0 = no client-side credit budget */
	unsigned	 max_concurrency;	/* 0 = unlimited */
	unsigned	 batch_size;		/* children per batch root, 1..25; 0 = 25 */
	unsigned	 request_timeout_ms;	/* whole HTTP request; 0 = 30 s */
	unsigned	 connect_timeout_ms;	/* 0 = 10 s */
	const char	*redis_url;		/* redis://[:password@]host[:port][/db] */
	const char	*redis_prefix;		/* "kb": keys are "{kb}:tf:..." */
	const char	*organisation;		/* key of the shared budget and token */
	size_t		 max_response;		/* body cap; 0 = TF_DEFAULT_MAX_RESPONSE */
	unsigned	 max_retries;		/* 429 retries per request; 0 = 5 */
	unsigned	 window_slack_ms;	/* credit window = 60 s + this; 0 = 2000 */
	/*
	 * Called when Twinfield hands out a new refresh token (it is also
	 * stored in Redis). The caller should persist it outside Redis: the
	 * old one may stop working. May be NULL.
	 */
	void		(*refresh_token_cb)(const char *token, void *arg);
	void		*refresh_token_arg;
};

/*
 * Why a request failed. Transient kinds are worth retrying later
 * (tf_err_transient()); permanent ones go to the dead letters.
 */
enum tf_err_kind {
	TF_OK = 0,
	TF_ERR_NETWORK,		/* transient: connect, reset, DNS, partial body */
	TF_ERR_TIMEOUT,		/* transient: request_timeout_ms passed */
	TF_ERR_SERVER,		/* transient: HTTP 5xx / SOAP fault */
	TF_ERR_RATE_LIMIT,	/* transient: 429 still after max_retries */
	TF_ERR_TOKEN,		/* transient: token expired twice, refresh unreachable */
	TF_ERR_REDIS,		/* transient: Redis unreachable (token/throttle) */
	TF_ERR_PROTOCOL,	/* transient: malformed or hostile response */
	TF_ERR_CANCELLED,	/* transient: client freed with request pending */
	TF_ERR_BUSINESS,	/* permanent: result="0" on a document */
	TF_ERR_BAD_REQUEST,	/* permanent: HTTP 400, or a request we refuse to send */
	TF_ERR_FORBIDDEN,	/* permanent: HTTP 403 */
	TF_ERR_AUTH,		/* permanent: client id/secret or refresh token rejected */
	TF_ERR_TOO_LARGE,	/* permanent: response over max_response */
};

int		 tf_err_transient(enum tf_err_kind kind);
/*
 * Classifies a SOAP answer by HTTP status and SOAP fault code (-1 = none).
 * *refresh is set when the token should be refreshed and the request
 * retried once (401, fault 354 or 103).
 */
enum tf_err_kind	 tf_classify_http(long status, long fault_code, int *refresh);
const char	*tf_err_kind_name(enum tf_err_kind kind);

/* One message Twinfield attached to an element (msgtype/msg). */
struct tf_msg {
	char	*path;		/* e.g. "salesinvoice/lines/line[@id='1']/article" */
	char	*text;		/* Twinfield's msg, "//"-joined messages kept */
	int	 warning;	/* msgtype="warning" rather than "error" */
};

/* The outcome of one document of a ProcessXml request (one per batch child). */
struct tf_doc_result {
	int		 ok;		/* result="1" */
	xmlNode		*node;		/* borrowed from tf_response.doc */
	struct tf_msg	*msgs;
	size_t		 nmsgs;
	char		*summary;	/* "document 2 (salesinvoice): path: msg" or NULL if ok */
};

/* Finder Search answer. Column headers are localised: index by position. */
struct tf_finder_msg {
	char	*type;		/* Error / Warning / Informational */
	char	*code;		/* e.g. OptionNotAllowed */
	char	*text;
};

struct tf_finder_result {
	long			 total_rows;
	char			**columns;
	size_t			 ncolumns;
	char			***rows;	/* rows[i][j], j < row_len[i] */
	size_t			*row_len;
	size_t			 nrows;
	struct tf_finder_msg	*msgs;
	size_t			 nmsgs;
};

/* A SOAP fault (reference §7.1). */
struct tf_fault {
	char	*faultcode;	/* soap:Client / soap:Server */
	char	*faultstring;
	char	*message;	/* detail/message */
	long	 code;		/* detail/code, -1 if absent */
	char	*source;	/* detail/source */
};

/*
 * What a tf_done_cb receives. Valid only during the callback: copy (or
 * xmlCopyNode) what must outlive it.
 */
struct tf_response {
	enum tf_err_kind	 kind;
	const char		*message;	/* human-readable cause; "" when OK */
	long			 http_status;	/* 0 when no HTTP answer */
	unsigned		 attempts;	/* HTTP attempts made (429/401 retries) */
	unsigned		 credits;	/* credits charged to the budget */
	struct tf_fault		*fault;		/* or NULL */
	/*
	 * ProcessXml: the result document and one entry per document sent, in
	 * order; a single failed entry if Twinfield refused the batch root as a
	 * whole (then kind is TF_ERR_BUSINESS for every document).
	 */
	xmlDoc			*doc;
	struct tf_doc_result	*docs;
	size_t			 ndocs;
	/* Finder Search. */
	struct tf_finder_result	*finder;
};

typedef void tf_done_cb(const struct tf_response *resp, void *arg);

/* Counters for /metrics; monotonic except the gauges. */
struct tf_stats {
	uint64_t	requests;	/* HTTP requests sent to the SOAP services */
	uint64_t	credits;	/* credits granted by the throttle */
	uint64_t	http_429;
	uint64_t	retries;	/* 429 and 401 retries */
	uint64_t	token_refreshes;	/* refreshes done by this process */
	uint64_t	throttle_waits;	/* times the head of the queue had to wait */
	uint64_t	ok;
	uint64_t	transient_errors;
	uint64_t	permanent_errors;
	unsigned	in_flight;	/* gauge: HTTP requests running */
	unsigned	queued;		/* gauge: waiting for the throttle */
	unsigned	max_in_flight;	/* high-water mark of in_flight */
};

struct tf_client;

/* Returns a client, or NULL with err set (bad config, bad redis_url). */
struct tf_client	*tf_client_new(struct event_base *base, const struct tf_config *cfg,
			    struct kb_err *err);
/*
 * Graceful stop: refuses new requests, completes queued and backing-off
 * ones with TF_ERR_CANCELLED, lets HTTP requests in flight finish (at most
 * request_timeout_ms) and their Redis slot releases reach Redis, lets a
 * token refresh under way finish, then calls cb(arg) from the loop. Call
 * tf_client_free afterwards (or at any time: it then cuts short).
 */
void			 tf_client_shutdown(struct tf_client *c, void (*cb)(void *arg), void *arg);
/*
 * Frees the client. Pending requests are completed with TF_ERR_CANCELLED
 * before it returns. Must not be called from inside a tf_done_cb.
 */
void			 tf_client_free(struct tf_client *c);

/*
 * Sends doc (borrowed: serialised before returning) through
 * ProcessXmlString in office (NULL = the configured one; offices lists may
 * pass "" for no CompanyCode). A batch root may hold at most batch_size
 * children. Returns 0, or -1 with err set and cb never called.
 */
int	tf_client_process(struct tf_client *c, const char *office, xmlDoc *doc,
	    tf_done_cb *cb, void *arg, struct kb_err *err);

/* A Finder Search request (reference §4). */
struct tf_search {
	const char	*type;		/* DIM, ART, VAT, ... */
	const char	*pattern;	/* wildcards * and ? */
	int		 field;
	int		 first_row;	/* 1-based; 0 = 1 */
	int		 max_rows;	/* 0 = 25 */
	const char	*const *options;	/* name, value, name, value... */
	size_t		 noptions;		/* number of pairs */
	const char	*office;	/* header CompanyCode; NULL = configured */
};

int	tf_client_search(struct tf_client *c, const struct tf_search *s,
	    tf_done_cb *cb, void *arg, struct kb_err *err);

void	tf_client_stats(const struct tf_client *c, struct tf_stats *out);
/* Borrowed configuration values the client copied (batch_size etc.). */
unsigned	tf_client_batch_size(const struct tf_client *c);
const char	*tf_client_office(const struct tf_client *c);

/*
 * Credits Twinfield charges for a request (reference §7.3): 1 for a query,
 * 3 otherwise. soapaction is the SOAPAction's last path segment
 * ("ProcessXmlString", "Search"); root is the ProcessXml root element.
 */
unsigned	tf_credit_cost(const char *soapaction, const char *root);

#endif
