/*
 * What an answer of the AsPos API means for the job that asked: success,
 * a token to refresh (401), a transient failure worth retrying later
 * (network, timeout, 408, 425, 429, 5xx) or a permanent one (any other
 * 4xx, a body over the cap). The message quotes AsPos's own JSON error
 * (its code and message fields, named by the API map), sanitised and
 * bounded.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "aspos-internal.h"

#define CLASSIFY_QUOTE_MAX	300
#define CLASSIFY_JSON_DEPTH	32

struct json_object *
aspos_json_parse(const char *buf, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	size_t			 end;

	if (buf == NULL || len == 0 || len > (size_t)INT32_MAX)
		return (NULL);
	if ((tok = json_tokener_new_ex(CLASSIFY_JSON_DEPTH)) == NULL)
		return (NULL);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (o != NULL) {
		/* Only white space may follow the value. */
		for (end = json_tokener_get_parse_end(tok); end < len; end++)
			if (strchr(" \t\r\n", buf[end]) == NULL || buf[end] == '\0') {
				json_object_put(o);
				o = NULL;
				break;
			}
	}
	json_tokener_free(tok);
	return (o);
}

/* Appends s to dst (cap bytes), control characters as '?', at most max bytes of s. */
static void
classify_quote(char *dst, size_t cap, const char *s, size_t max)
{
	size_t	n = strlen(dst), i;

	for (i = 0; s[i] != '\0' && i < max && n + 1 < cap; i++)
		dst[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	dst[n] = '\0';
}

static const char *
classify_field(struct json_object *o, const char *name)
{
	struct json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

/* ": <code>: <message>" from a JSON error answer, or ": <start of the body>". */
static void
classify_detail(const struct aspos_api *api, const struct httpc_res *res, char *msg, size_t cap)
{
	struct json_object	*o;
	const char		*code, *text;

	if (res->len == 0)
		return;
	o = aspos_json_parse(res->body, res->len);
	code = classify_field(o, api->error_code_field);
	text = classify_field(o, api->error_message_field);
	if (code != NULL || text != NULL) {
		if (code != NULL) {
			classify_quote(msg, cap, ": ", 2);
			classify_quote(msg, cap, code, 64);
		}
		if (text != NULL) {
			classify_quote(msg, cap, ": ", 2);
			classify_quote(msg, cap, text, CLASSIFY_QUOTE_MAX);
		}
	} else {
		classify_quote(msg, cap, ": ", 2);
		classify_quote(msg, cap, res->body, 120);
	}
	json_object_put(o);
}

void
aspos_classify(const struct aspos_api *api, const char *what, const struct httpc_res *res,
    size_t max_response, struct aspos_outcome *out)
{
	long	st = res->status;

	memset(out, 0, sizeof *out);
	out->kind = KB_FAIL_TRANSIENT;
	if (res->too_large) {
		out->kind = KB_FAIL_PERMANENT;
		snprintf(out->message, sizeof out->message,
		    "AsPos %s: response over the %zu byte limit", what, max_response);
		return;
	}
	if (res->code != CURLE_OK) {
		snprintf(out->message, sizeof out->message, "AsPos %s: %s: %s", what,
		    res->code == CURLE_OPERATION_TIMEDOUT ? "timed out" : "network error",
		    res->error != NULL ? res->error : "");
		return;
	}
	if (st >= 200 && st <= 299) {
		out->ok = 1;
		return;
	}
	snprintf(out->message, sizeof out->message, "AsPos %s: HTTP %ld", what, st);
	classify_detail(api, res, out->message, sizeof out->message);
	if (st == 401)
		out->refresh = 1;
	else if (st == 408 || st == 425 || st == 429 || (st >= 500 && st <= 599))
		out->kind = KB_FAIL_TRANSIENT;
	else
		out->kind = KB_FAIL_PERMANENT;
}
