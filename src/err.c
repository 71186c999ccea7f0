#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "kassaboek/err.h"

int
kb_err_set(struct kb_err *err, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return (-1);
}
