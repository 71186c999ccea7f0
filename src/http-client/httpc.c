/*
 * HTTP for the Twinfield and AsPos clients (kassaboek/httpc.h): curl_multi
 * driven by libevent through the socket API, the pattern of curl's
 * docs/examples/hiperfifo.c. Three structs: struct httpc (GlobalInfo: base, multi, timer), struct
 * http_xfer (ConnInfo, found again through CURLOPT_PRIVATE) and struct
 * http_sock (SockInfo, attached with curl_multi_assign).
 *
 * The CURLMOPT_TIMERFUNCTION callback only (re)arms a libevent timer (0 ms
 * = next loop turn); libcurl is never called from inside it. Response bodies
 * are capped (max_body): a bigger one aborts the transfer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "kassaboek/xmalloc.h"
#include "kassaboek/httpc.h"
#include "kassaboek/units.h"

#define HTTP_XFER_MAGIC	0x68747063u	/* "htpc" */
#define HTTP_RETRY_AFTER_MAX_MS	(15L * 60 * 1000)

struct http_xfer {
	unsigned		 magic;
	struct httpc		*h;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body_out;	/* request body, kept until done */
	char			*buf;		/* response body */
	size_t			 len;
	size_t			 cap;
	size_t			 max;
	int			 too_large;
	long			 retry_after_ms;
	char			 errbuf[CURL_ERROR_SIZE];
	httpc_cb		*cb;
	void			*arg;
	TAILQ_ENTRY(http_xfer)	 entry;
};

struct http_sock {
	struct httpc		*h;
	curl_socket_t		 fd;
	struct event		 ev;
	int			 added;
	TAILQ_ENTRY(http_sock)	 entry;
};

struct httpc {
	struct event_base		*base;
	CURLM				*multi;
	struct event			*timer_ev;
	int				 still_running;
	unsigned			 active;
	TAILQ_HEAD(, http_xfer)		 xfers;
	TAILQ_HEAD(, http_sock)		 socks;
};

uint64_t
httpc_now_ms(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return ((uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000);
}

long
httpc_retry_after(const char *v, uint64_t now_ms)
{
	char	*end;
	long	 secs;
	time_t	 when;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		secs = strtol(v, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (*end != '\0' || secs < 0)
			return (-1);
		if (secs > HTTP_RETRY_AFTER_MAX_MS / 1000)
			return (HTTP_RETRY_AFTER_MAX_MS);
		return (secs * 1000);
	}
	if ((when = curl_getdate(v, NULL)) == -1)
		return (-1);
	if ((uint64_t)when * 1000 <= now_ms)
		return (0);
	if ((uint64_t)when * 1000 - now_ms > (uint64_t)HTTP_RETRY_AFTER_MAX_MS)
		return (HTTP_RETRY_AFTER_MAX_MS);
	return ((long)((uint64_t)when * 1000 - now_ms));
}

static void
http_xfer_free(struct http_xfer *x)
{
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	free(x->body_out);
	free(x->buf);
	x->magic = 0;
	free(x);
}

/* Hands a finished transfer to its owner, then frees it. */
static void
http_finish(struct httpc *h, struct http_xfer *x, CURLcode code)
{
	struct httpc_res	res;

	TAILQ_REMOVE(&h->xfers, x, entry);
	curl_multi_remove_handle(h->multi, x->easy);
	h->active--;
	memset(&res, 0, sizeof res);
	res.code = code;
	res.too_large = x->too_large;
	res.retry_after_ms = x->retry_after_ms;
	if (code != CURLE_OK)
		res.error = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(code);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res.status);
	if (x->buf == NULL)
		x->buf = xstrdup("");
	res.body = x->buf;
	res.len = x->len;
	x->cb(&res, x->arg);
	http_xfer_free(x);
}

static void
http_check_done(struct httpc *h)
{
	CURLMsg			*msg;
	struct http_xfer	*x;
	CURLcode		 code;
	char			*priv;
	int			 left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* Copy what we need: msg is invalid once the handle is removed. */
		code = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		x = (struct http_xfer *)(void *)priv;
		if (x == NULL || x->magic != HTTP_XFER_MAGIC)
			abort();
		http_finish(h, x, code);
	}
}

static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_sock	*s = arg;
	struct httpc		*h = s->h;
	int			 action;

	action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(h->multi, fd, action, &h->still_running);
	http_check_done(h);
}

static void
http_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpc	*h = arg;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &h->still_running);
	http_check_done(h);
}

/* CURLMOPT_TIMERFUNCTION: only arms our timer; never calls libcurl. */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct httpc	*h = userp;
	struct timeval	 tv;

	if (timeout_ms < 0) {
		evtimer_del(h->timer_ev);
		return (0);
	}
	tv = kb_timeval_ms(timeout_ms);
	evtimer_add(h->timer_ev, &tv);
	return (0);
}

/* CURLMOPT_SOCKETFUNCTION: one persistent libevent event per socket. */
static int
http_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct httpc		*h = userp;
	struct http_sock	*s = socketp;
	short			 kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			if (s->added)
				event_del(&s->ev);
			TAILQ_REMOVE(&h->socks, s, entry);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return (0);
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->h = h;
		s->fd = fd;
		TAILQ_INSERT_TAIL(&h->socks, s, entry);
		curl_multi_assign(h->multi, fd, s);
	} else if (s->added) {
		event_del(&s->ev);
		s->added = 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	event_assign(&s->ev, h->base, fd, kind, http_event_cb, s);
	event_add(&s->ev, NULL);
	s->added = 1;
	return (0);
}

static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_xfer	*x = userdata;
	size_t			 n = size * nmemb;

	if (n > x->max - x->len) {
		/* Over the cap: free what we have and abort the transfer (dynbuf). */
		x->too_large = 1;
		free(x->buf);
		x->buf = NULL;
		x->len = x->cap = 0;
		return (0);
	}
	if (x->len + n + 1 > x->cap) {
		x->cap = x->cap == 0 ? 4096 : x->cap;
		while (x->cap < x->len + n + 1)
			x->cap *= 2;
		x->buf = xreallocarray(x->buf, 1, x->cap);
	}
	memcpy(x->buf + x->len, ptr, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return (n);
}

static size_t
http_header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct http_xfer	*x = userdata;
	size_t			 n = size * nitems;
	char			 val[128];
	size_t			 vlen;
	static const char	 name[] = "Retry-After:";

	if (n > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
		vlen = n - (sizeof name - 1);
		if (vlen >= sizeof val)
			vlen = sizeof val - 1;
		memcpy(val, ptr + sizeof name - 1, vlen);
		val[vlen] = '\0';
		val[strcspn(val, "\r\n")] = '\0';
		x->retry_after_ms = httpc_retry_after(val, httpc_now_ms());
	}
	return (n);
}

struct httpc *
httpc_new(struct event_base *base)
{
	struct httpc	*h;

	h = xcalloc(1, sizeof *h);
	h->base = base;
	TAILQ_INIT(&h->xfers);
	TAILQ_INIT(&h->socks);
	if ((h->multi = curl_multi_init()) == NULL)
		abort();
	h->timer_ev = evtimer_new(base, http_timer_event_cb, h);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return (h);
}

void
httpc_free(struct httpc *h)
{
	struct http_xfer	*x;
	struct http_sock	*s;

	if (h == NULL)
		return;
	while ((x = TAILQ_FIRST(&h->xfers)) != NULL) {
		snprintf(x->errbuf, sizeof x->errbuf, "client shut down");
		http_finish(h, x, CURLE_ABORTED_BY_CALLBACK);
	}
	curl_multi_cleanup(h->multi);
	while ((s = TAILQ_FIRST(&h->socks)) != NULL) {
		TAILQ_REMOVE(&h->socks, s, entry);
		if (s->added)
			event_del(&s->ev);
		free(s);
	}
	event_free(h->timer_ev);
	free(h);
}

unsigned
httpc_running(const struct httpc *h)
{
	return (h->active);
}

int
httpc_start(struct httpc *h, struct httpc_req *req, httpc_cb *cb, void *arg,
    struct kb_err *err)
{
	struct http_xfer	*x;
	CURLMcode		 mc;

	x = xcalloc(1, sizeof *x);
	x->magic = HTTP_XFER_MAGIC;
	x->h = h;
	x->cb = cb;
	x->arg = arg;
	x->max = req->max_body;
	x->retry_after_ms = -1;
	x->headers = req->headers;
	x->body_out = req->body;
	req->headers = NULL;
	req->body = NULL;
	if ((x->easy = curl_easy_init()) == NULL) {
		http_xfer_free(x);
		return (kb_err_set(err, "curl_easy_init failed"));
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, "");
	if (x->headers != NULL)
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	if (x->body_out != NULL) {
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body_out);
	}
	if (req->method != NULL)
		curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->user != NULL) {
		curl_easy_setopt(x->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(x->easy, CURLOPT_USERNAME, req->user);
		curl_easy_setopt(x->easy, CURLOPT_PASSWORD, req->password);
	}
	if ((mc = curl_multi_add_handle(h->multi, x->easy)) != CURLM_OK) {
		kb_err_set(err, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
		http_xfer_free(x);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&h->xfers, x, entry);
	h->active++;
	return (0);
}
