/*
 * Logging: one JSON object per line on stderr:
 *   {"time":"2026-12-04T10:15:00.123Z","level":"info","proc":"serve","id":"evt_1","flow":"orders","msg":"..."}
 * The level is checked before the message is formatted, so filtered-out
 * debug lines cost nothing. Message text is escaped by json-c, so untrusted
 * bytes cannot forge log lines. Never pass secrets or payloads above debug.
 */
#ifndef KASSABOEK_LOG_H
#define KASSABOEK_LOG_H

enum kb_log_level {
	KB_LOG_DEBUG = 0,
	KB_LOG_INFO,
	KB_LOG_WARN,
	KB_LOG_ERROR,
};

extern enum kb_log_level kb_log_threshold;

/* proc names the process in every line ("serve", "worker.2"); borrowed, must outlive logging. */
void	kb_log_init(const char *proc);
void	kb_log_set_level(enum kb_log_level level);
/* Parses "debug|info|warn|error"; returns -1 if unknown. */
int	kb_log_level_parse(const char *s, enum kb_log_level *out);
/* Routes libevent's own warnings into this log. */
void	kb_log_capture_libevent(void);

void	kb_log_emit(enum kb_log_level level, const char *id, const char *flow,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define kb_log(level, id, flow, ...) do {				\
	if ((level) >= kb_log_threshold)				\
		kb_log_emit((level), (id), (flow), __VA_ARGS__);	\
} while (0)

#define kb_debug(...)	kb_log(KB_LOG_DEBUG, NULL, NULL, __VA_ARGS__)
#define kb_info(...)	kb_log(KB_LOG_INFO, NULL, NULL, __VA_ARGS__)
#define kb_warn(...)	kb_log(KB_LOG_WARN, NULL, NULL, __VA_ARGS__)
#define kb_error(...)	kb_log(KB_LOG_ERROR, NULL, NULL, __VA_ARGS__)

#endif
