/*
 * Checked parsers for the value syntaxes of the config file and the CLI.
 * Each returns 0 and stores the value, or -1 with a message in err; none
 * accepts trailing garbage, a sign where none makes sense, or overflow.
 */
#ifndef KASSABOEK_UNITS_H
#define KASSABOEK_UNITS_H

#include <stdint.h>
#include <sys/time.h>

#include "kassaboek/err.h"

/* Whole number in [min, max]. */
int	kb_parse_int(const char *s, long long min, long long max, long long *out, struct kb_err *err);
/* Byte size: "512", "64k", "1m", "2g" (binary multiples). */
int	kb_parse_size(const char *s, uint64_t *out, struct kb_err *err);
/* Duration in milliseconds: "250ms", "5s", "3m", "72h", "30d"; a bare number means seconds. */
int	kb_parse_duration_ms(const char *s, uint64_t *out, struct kb_err *err);
/* yes/no, true/false, on/off, 1/0. */
int	kb_parse_bool(const char *s, int *out, struct kb_err *err);

/* ms as a struct timeval, for libevent timers. */
struct timeval	kb_timeval_ms(uint64_t ms);

#endif
