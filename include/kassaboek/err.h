/*
 * Errors across module boundaries: a function returns 0 / -1 and, on -1,
 * fills a caller-provided struct kb_err with a human-readable message.
 * Nothing deep inside a module prints; the caller decides what to log.
 */
#ifndef KASSABOEK_ERR_H
#define KASSABOEK_ERR_H

#define KB_ERR_MAX	512

struct kb_err {
	char	msg[KB_ERR_MAX];
};

/* Sets err->msg (err may be NULL); always returns -1 so callers can `return kb_err_set(...)`. */
int	kb_err_set(struct kb_err *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
