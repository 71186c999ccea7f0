#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "kassaboek/log.h"
#include "kassaboek/xmalloc.h"

enum kb_log_level	 kb_log_threshold = KB_LOG_INFO;
static const char	*log_proc = "kassaboek";

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

void
kb_log_init(const char *proc)
{
	log_proc = proc;
	/* Line-buffered so one line is one write, even when several processes share stderr. */
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void
kb_log_set_level(enum kb_log_level level)
{
	kb_log_threshold = level;
}

int
kb_log_level_parse(const char *s, enum kb_log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof log_level_names / sizeof log_level_names[0]; i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum kb_log_level)i;
			return (0);
		}
	}
	return (-1);
}

void
kb_log_emit(enum kb_log_level level, const char *id, const char *flow, const char *fmt, ...)
{
	struct json_object	*o;
	struct timeval		 tv;
	struct tm		 tm;
	char			 ts[64], *msg;
	va_list			 ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000) % 1000);

	o = json_object_new_object();
	json_object_object_add(o, "time", json_object_new_string(ts));
	json_object_object_add(o, "level", json_object_new_string(log_level_names[level]));
	json_object_object_add(o, "proc", json_object_new_string(log_proc));
	if (id != NULL)
		json_object_object_add(o, "id", json_object_new_string(id));
	if (flow != NULL)
		json_object_object_add(o, "flow", json_object_new_string(flow));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	fprintf(stderr, "%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(msg);
}

static void
log_libevent_cb(int severity, const char *msg)
{
	enum kb_log_level	level;

	switch (severity) {
	case EVENT_LOG_DEBUG:	level = KB_LOG_DEBUG; break;
	case EVENT_LOG_MSG:	level = KB_LOG_INFO; break;
	case EVENT_LOG_WARN:	level = KB_LOG_WARN; break;
	default:		level = KB_LOG_ERROR; break;
	}
	kb_log(level, NULL, "libevent", "%s", msg);
}

void
kb_log_capture_libevent(void)
{
	event_set_log_callback(log_libevent_cb);
}
