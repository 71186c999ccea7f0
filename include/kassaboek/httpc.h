/*
 * Asynchronous HTTP client glue: curl_multi driven by a libevent loop
 * through the socket API (curl's docs/examples/hiperfifo.c pattern). Shared
 * by the Twinfield client (src/twinfield/) and the AsPos client
 * (src/aspos/); it knows nothing of either protocol.
 *
 * One struct httpc per event loop (or per client); any number of requests
 * in flight. Every started request ends in exactly one callback, on a later
 * loop turn, never from inside httpc_start(). Response bodies are capped
 * (max_body): a bigger one aborts the transfer and reports too_large.
 */
#ifndef KASSABOEK_HTTPC_H
#define KASSABOEK_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "kassaboek/err.h"

struct event_base;
struct httpc;

struct httpc_req {
	const char		*url;		/* borrowed for the call */
	const char		*method;	/* NULL: GET, or POST when body is set; else e.g. "PATCH" (borrowed) */
	struct curl_slist	*headers;	/* owned by the request from now on */
	char			*body;		/* owned; NULL = no body */
	size_t			 body_len;
	const char		*user;		/* HTTP Basic, or NULL (borrowed) */
	const char		*password;
	long			 timeout_ms;
	long			 connect_timeout_ms;
	size_t			 max_body;	/* response body cap in bytes */
};

struct httpc_res {
	CURLcode	 code;
	const char	*error;		/* CURLOPT_ERRORBUFFER text or curl_easy_strerror */
	long		 status;	/* 0 when no HTTP answer */
	char		*body;		/* NUL-terminated, borrowed for the callback */
	size_t		 len;
	int		 too_large;	/* body over max_body: transfer aborted */
	long		 retry_after_ms;	/* Retry-After, -1 if absent */
};

/* Runs exactly once per started request, never from inside httpc_start(). */
typedef void httpc_cb(const struct httpc_res *res, void *arg);

struct httpc	*httpc_new(struct event_base *base);
/* Aborts running transfers: their callbacks run with CURLE_ABORTED_BY_CALLBACK. */
void		 httpc_free(struct httpc *h);
/* Starts the request; returns 0, or -1 with err set (cb then never runs). */
int		 httpc_start(struct httpc *h, struct httpc_req *req, httpc_cb *cb, void *arg,
		    struct kb_err *err);
unsigned	 httpc_running(const struct httpc *h);
/* Parses a Retry-After value (seconds or HTTP date) into ms, capped at 15 min; -1 if bad. */
long		 httpc_retry_after(const char *value, uint64_t now_ms);
/* Wall-clock milliseconds since the epoch (comparable across processes). */
uint64_t	 httpc_now_ms(void);

#endif
