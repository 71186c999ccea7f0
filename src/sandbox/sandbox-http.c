/*
 * One request's life: routing, the pre-processing faults (drop, hang,
 * forced 429), and the reply, sent at once or after the injected latency by
 * a timer (the loop never blocks). Every evhttp request ends in exactly one
 * evhttp_send_reply, or in evhttp_connection_free for a dropped connection.
 * A request counts as in flight (sandbox-limits.c) until its reply is sent.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "kassaboek/log.h"
#include "kassaboek/xmalloc.h"
#include "kassaboek/units.h"
#include "sandbox.h"

#define HTTP_LOG_XML_MAX	(128 * 1024)

const char *
sb_status_reason(int status)
{
	switch (status) {
	case 200:	return ("OK");
	case 201:	return ("Created");
	case 302:	return ("Found");
	case 400:	return ("Bad Request");
	case 401:	return ("Unauthorized");
	case 403:	return ("Forbidden");
	case 404:	return ("Not Found");
	case 405:	return ("Method Not Allowed");
	case 409:	return ("Conflict");
	case 413:	return ("Payload Too Large");
	case 415:	return ("Unsupported Media Type");
	case 422:	return ("Unprocessable Entity");
	case 429:	return ("Too Many Requests");
	case 500:	return ("Internal Server Error");
	case 502:	return ("Bad Gateway");
	case 503:	return ("Service Unavailable");
	case 504:	return ("Gateway Timeout");
	case 507:	return ("Insufficient Storage");
	default:	return ("Unknown");
	}
}

static const char *
http_method(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:		return ("GET");
	case EVHTTP_REQ_POST:		return ("POST");
	case EVHTTP_REQ_HEAD:		return ("HEAD");
	case EVHTTP_REQ_PUT:		return ("PUT");
	case EVHTTP_REQ_DELETE:		return ("DELETE");
	case EVHTTP_REQ_OPTIONS:	return ("OPTIONS");
	case EVHTTP_REQ_PATCH:		return ("PATCH");
	default:			return ("OTHER");
	}
}

static void
log_entry_clear(struct sb_logentry *e)
{
	free(e->method);
	free(e->path);
	free(e->soapaction);
	free(e->root);
	free(e->office);
	free(e->fault);
	free(e->xml);
	free(e->body);
	memset(e, 0, sizeof *e);
}

void
sb_log_free(struct sb_reqlog *log)
{
	size_t	i;

	for (i = 0; i < log->cap; i++)
		log_entry_clear(&log->ring[i]);
	free(log->ring);
	log->ring = NULL;
}

void
sb_log_reset(struct sb_server *srv)
{
	size_t	i;

	for (i = 0; i < srv->log.cap; i++)
		if (srv->log.ring[i].id != 0 && srv->log.ring[i].done_ms != 0)
			log_entry_clear(&srv->log.ring[i]);
}

struct sb_logentry *
sb_log_entry(struct sb_server *srv, uint64_t id)
{
	struct sb_logentry	*e;

	if (srv->log.cap == 0 || id == 0)
		return (NULL);
	e = &srv->log.ring[id % srv->log.cap];
	return (e->id == id ? e : NULL);
}

static uint64_t
log_new(struct sb_server *srv, struct evhttp_request *req, const char *path)
{
	struct sb_logentry	*e;
	const char		*sa;
	uint64_t		 id;

	id = ++srv->log.next_id;
	if (srv->log.cap == 0)
		return (id);
	e = &srv->log.ring[id % srv->log.cap];
	log_entry_clear(e);
	e->id = id;
	e->time_ms = sb_now_ms();
	e->method = xstrdup(http_method(evhttp_request_get_command(req)));
	e->path = xstrdup(path);
	sa = evhttp_find_header(evhttp_request_get_input_headers(req), "SOAPAction");
	if (sa != NULL)
		e->soapaction = xstrndup(sa, 256);
	return (id);
}

/* Called by the endpoint modules: what the request was about. xml may be NULL. */
void
sb_log_describe(struct sb_call *call, const char *root, const char *office, const char *xml,
    int credits)
{
	struct sb_logentry	*e;
	size_t			 len;

	if ((e = sb_log_entry(call->srv, call->log_id)) == NULL)
		return;
	if (root != NULL && e->root == NULL)
		e->root = xstrndup(root, 128);
	if (office != NULL && *office != '\0' && e->office == NULL)
		e->office = xstrndup(office, 64);
	if (xml != NULL && e->xml == NULL) {
		len = strlen(xml);
		e->xml_truncated = len > HTTP_LOG_XML_MAX;
		e->xml = xstrndup(xml, HTTP_LOG_XML_MAX);
	}
	if (credits > 0)
		e->credits = credits;
}

void
sb_log_body(struct sb_call *call, const char *body, size_t len)
{
	struct sb_logentry	*e;

	if ((e = sb_log_entry(call->srv, call->log_id)) == NULL || e->body != NULL || body == NULL)
		return;
	e->body = xstrndup(body, len < HTTP_LOG_XML_MAX ? len : HTTP_LOG_XML_MAX);
}

static void
log_fault(struct sb_call *call, const char *fault)
{
	struct sb_logentry	*e;

	if ((e = sb_log_entry(call->srv, call->log_id)) != NULL && e->fault == NULL)
		e->fault = xstrdup(fault);
}

static void
call_free(struct sb_call *call)
{
	if (call->timer != NULL) {
		event_free(call->timer);
		TAILQ_REMOVE(&call->srv->pending, call, entry);
	}
	if (call->body != NULL)
		evbuffer_free(call->body);
	call->magic = 0;
	free(call);
}

static void
call_done(struct sb_call *call, int status)
{
	struct sb_server	*srv = call->srv;
	struct sb_logentry	*e;

	if ((e = sb_log_entry(srv, call->log_id)) != NULL) {
		e->status = status;
		e->done_ms = sb_now_ms();
	}
	if (status > 0 && status < SB_STATUS_MAX)
		srv->counters.status[status]++;
	sb_limits_release(srv, call);
	kb_debug("%s %s -> %d", e != NULL ? e->method : "", e != NULL ? e->path : "", status);
	call_free(call);
}

/* The client went away while we held the reply. */
static void
call_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct sb_call	*call = arg;

	if (call == NULL || call->magic != SB_CALL_MAGIC)
		return;
	call->srv->counters.closed_by_client++;
	call->req = NULL;
	call_done(call, 0);
}

static void
call_send(struct sb_call *call)
{
	struct evhttp_connection	*evcon;
	int				 status = call->status;

	if (call->req == NULL) {	/* connection already gone */
		call_done(call, 0);
		return;
	}
	evcon = evhttp_request_get_connection(call->req);
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (call->drop || call->hang) {
		/* Closed without a byte of answer: the client sees a dropped connection. */
		evhttp_connection_free(evcon);
		status = 0;
	} else
		evhttp_send_reply(call->req, call->status, call->reason != NULL ? call->reason :
		    sb_status_reason(call->status), call->body);
	call->req = NULL;
	call_done(call, status);
}

static void
call_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sb_call	*call = arg;

	if (call->magic != SB_CALL_MAGIC)
		return;
	call_send(call);
}

/* Sends now, or arms the timer: latency for answers, hang_ms for hung requests. */
static void
call_schedule(struct sb_call *call, unsigned ms)
{
	struct timeval	tv;

	call->timer = evtimer_new(call->srv->base, call_timer_cb, call);
	TAILQ_INSERT_TAIL(&call->srv->pending, call, entry);
	evhttp_connection_set_closecb(evhttp_request_get_connection(call->req), call_closed_cb, call);
	tv = kb_timeval_ms(ms);
	evtimer_add(call->timer, &tv);
}

void
sb_reply(struct sb_call *call, int status, const char *content_type, const char *body, size_t len)
{
	struct sb_server	*srv = call->srv;

	if (call->replied)
		return;
	call->replied = 1;
	call->status = status;
	if (content_type != NULL) {
		evhttp_remove_header(evhttp_request_get_output_headers(call->req), "Content-Type");
		evhttp_add_header(evhttp_request_get_output_headers(call->req), "Content-Type",
		    content_type);
	}
	call->body = evbuffer_new();
	if (body != NULL && len > 0)
		evbuffer_add(call->body, body, len);
	/* Always through a timer, even at 0 ms: never free a request inside its own callback. */
	call_schedule(call, call->drop ? 0 : sb_faults_latency(srv));
}

void
sb_reply_text(struct sb_call *call, int status, const char *text)
{
	sb_reply(call, status, "text/plain; charset=utf-8", text, strlen(text));
}

void
sb_reply_json(struct sb_call *call, int status, struct json_object *o)
{
	const char	*s;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	sb_reply(call, status, "application/json; charset=utf-8", s, strlen(s));
	json_object_put(o);
}

void
sb_http_shutdown(struct sb_server *srv)
{
	struct sb_call	*call;

	while ((call = TAILQ_FIRST(&srv->pending)) != NULL) {
		if (call->req != NULL)
			evhttp_connection_set_closecb(evhttp_request_get_connection(call->req), NULL, NULL);
		sb_limits_release(srv, call);
		call_free(call);
	}
}

/* Answers a request that a pre-processing fault hits; returns 1 if it did. */
static int
http_prefault(struct sb_call *call, int area)
{
	struct sb_server	*srv = call->srv;

	switch (sb_faults_pick(srv, area, 1)) {
	case SB_FAULT_DROP:
		srv->counters.dropped++;
		log_fault(call, "drop");
		call->drop = 1;
		sb_reply(call, 0, NULL, NULL, 0);
		return (1);
	case SB_FAULT_HANG:
		srv->counters.hung++;
		log_fault(call, "hang");
		call->hang = 1;
		call->replied = 1;
		call_schedule(call, srv->faults.hang_ms);
		return (1);
	case SB_FAULT_429:
		srv->counters.r429++;
		log_fault(call, "429");
		evhttp_add_header(evhttp_request_get_output_headers(call->req), "Retry-After", "1");
		if (area == SB_AREA_ASPOS) {
			sb_aspos_error(call, 429, "too_many_requests", "Too Many Requests");
			return (1);
		}
		evhttp_add_header(evhttp_request_get_output_headers(call->req), "X-RateLimit-Credited", "0");
		sb_soap_fault(call, 429, 0, "soap:Client", "Too Many Requests", "429", "kassaboek-sandbox");
		return (1);
	default:
		return (0);
	}
}

/* Answers with the injected 5xx if the error share says so; returns 1 if it did. */
int
sb_http_inject_error(struct sb_call *call, int area, const char *source)
{
	struct sb_server	*srv = call->srv;
	int			 st = srv->faults.error_status;

	if (sb_faults_pick(srv, area, 0) != SB_FAULT_ERROR)
		return (0);
	srv->counters.injected_errors++;
	log_fault(call, "error");
	if (area == SB_AREA_ASPOS) {
		if (st == 503)
			evhttp_add_header(evhttp_request_get_output_headers(call->req), "Retry-After", "1");
		sb_aspos_error(call, st, "server_error", "injected by kassaboek-sandbox");
	} else if (st == 500 && area == SB_AREA_SOAP)
		sb_soap_fault(call, 500, 0, "soap:Server",
		    "Unexpected exception (injected by kassaboek-sandbox).", "100", source);
	else
		sb_reply_text(call, st, sb_status_reason(st));
	return (1);
}

void
sb_http_cb(struct evhttp_request *req, void *arg)
{
	struct sb_server	*srv = arg;
	struct sb_call		*call;
	const char		*path;
	int			 soap, auth, aspos;

	if (srv == NULL || srv->magic != SB_SERVER_MAGIC)
		return;
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL || *path == '\0')
		path = "/";
	if (strncmp(path, "/_sandbox", 9) == 0 && (path[9] == '/' || path[9] == '\0')) {
		sb_inspect(srv, req);
		return;
	}
	call = xcalloc(1, sizeof *call);
	call->magic = SB_CALL_MAGIC;
	call->srv = srv;
	call->req = req;
	call->start_ms = sb_now_ms();
	srv->counters.requests++;
	call->log_id = log_new(srv, req, path);

	soap = strncmp(path, "/webservices/", 13) == 0;
	auth = strncmp(path, "/auth/", 6) == 0;
	aspos = strncmp(path, "/aspos", 6) == 0 && (path[6] == '/' || path[6] == '\0');
	if ((soap || auth || aspos) && http_prefault(call, aspos ? SB_AREA_ASPOS : soap ?
	    SB_AREA_SOAP : SB_AREA_AUTH))
		return;
	if (aspos) {
		sb_aspos_dispatch(call, path + 6);
		return;
	}
	if (strcmp(path, "/webservices/processxml.asmx") == 0)
		sb_soap_processxml(call);
	else if (strcmp(path, "/webservices/finder.asmx") == 0)
		sb_soap_finder(call);
	else if (auth && sb_http_inject_error(call, 0, "auth"))
		return;
	else if (strcmp(path, "/auth/authentication/connect/token") == 0)
		sb_auth_token(call);
	else if (strcmp(path, "/auth/authentication/connect/accesstokenvalidation") == 0)
		sb_auth_validate(call);
	else if (strcmp(path, "/auth/authentication/connect/authorize") == 0)
		sb_auth_authorize(call);
	else if (strcmp(path, "/auth/authentication/connect/userinfo") == 0)
		sb_auth_userinfo(call);
	else
		sb_reply_text(call, 404, "Not Found\n");
}
