/*
 * Checking JSON without building it (src/jsonscan.c): is a document
 * exactly one well-formed JSON value (RFC 8259, UTF-8, nested at most
 * KB_JSON_MAX_DEPTH), and what are the few values the caller names by
 * path. For the receiver's hot path; real processing uses json-c.
 */
#ifndef KASSABOEK_JSONSCAN_H
#define KASSABOEK_JSONSCAN_H

#include <stddef.h>

#include "kassaboek/err.h"

#define KB_JSON_MAX_DEPTH	64	/* deeper documents are malformed */
#define KB_JSON_CAPTURE_DEPTH	4	/* deepest member a capture can name */

enum kb_json_kind {
	KB_JSON_ABSENT = 0,
	KB_JSON_STRING,
	KB_JSON_NUMBER,
	KB_JSON_OBJECT,
	KB_JSON_ARRAY,
	KB_JSON_LITERAL,	/* true, false, null */
};

/*
 * A value to copy out: the member at path (names from the root object,
 * NULL-terminated, at most KB_JSON_CAPTURE_DEPTH). After the scan, kind
 * is what the last such member held (ABSENT when none); a string is
 * decoded into buf, a number copied as written, when it fits in cap - 1
 * bytes (else too_long and buf is empty).
 */
struct kb_json_capture {
	const char *const	*path;
	char			*buf;	/* the caller's, cap bytes */
	size_t			 cap;
	size_t			 len;
	enum kb_json_kind	 kind;
	int			 too_long;
};

/*
 * 0 when doc is one well-formed JSON value (root, if not NULL, says which
 * kind); -1 with err ("what at offset N") otherwise. Fills the captures.
 */
int	kb_json_scan(const char *doc, size_t len, enum kb_json_kind *root,
	    struct kb_json_capture *caps, size_t ncaps, struct kb_err *err);

#endif
