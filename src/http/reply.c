#include "config.h"

#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "http-internal.h"

/* Sends body (consumed: the reference is put) as the JSON answer. */
void
http_reply_json(struct evhttp_request *req, int status, const char *reason, struct json_object *body)
{
	struct evbuffer	*buf;
	const char	*text;
	size_t		 len;

	buf = evbuffer_new();
	text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);
	evbuffer_add(buf, text, len);
	evbuffer_add(buf, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, status, reason, buf);
	evbuffer_free(buf);
	json_object_put(body);
}

/*
 * The hot-path answer {"id":"<id>","status":"<state>"} without building a
 * json-c object. id must be printable ASCII (the receiver guarantees it),
 * so only '"' and '\\' need escaping.
 */
void
http_reply_status(struct evhttp_request *req, int status, const char *reason, const char *id,
    const char *state)
{
	struct evbuffer	*buf;
	const char	*p, *run;

	buf = evbuffer_new();
	evbuffer_add(buf, "{\"id\":\"", 7);
	for (p = run = id; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			evbuffer_add(buf, run, (size_t)(p - run));
			evbuffer_add(buf, "\\", 1);
			run = p;
		}
	}
	evbuffer_add(buf, run, (size_t)(p - run));
	evbuffer_add(buf, "\",\"status\":\"", 12);
	evbuffer_add(buf, state, strlen(state));
	evbuffer_add(buf, "\"}\n", 3);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, status, reason, buf);
	evbuffer_free(buf);
}

static const char *
reply_reason(int status)
{
	switch (status) {
	case 200: return ("OK");
	case 202: return ("Accepted");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 413: return ("Payload Too Large");
	case 415: return ("Unsupported Media Type");
	case 422: return ("Unprocessable Entity");
	case 503: return ("Service Unavailable");
	}
	return ("Error");
}

/* Every error answer has the same shape: {"error": "...", "detail": "..."}. */
void
http_reply_error(struct kb_http_server *s, struct evhttp_request *req, int status, const char *error,
    const char *detail)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "detail", json_object_new_string(detail != NULL ? detail : ""));
	if (status == 503)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "5");
	if (s != NULL)
		kb_metrics_count_status(s->metrics, status);
	http_reply_json(req, status, reply_reason(status), o);
}
