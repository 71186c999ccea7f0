/*
 * Fault injection: latency (fixed or a random range, applied with a timer),
 * a share of 5xx answers, hung requests, dropped connections and forced
 * 429s. Set by flags at start-up and at run time with POST /_sandbox/faults.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kassaboek/units.h"
#include "kassaboek/xmalloc.h"
#include "sandbox.h"

#define FAULTS_MAX_MS	3600000LL

int
sb_faults_parse_latency(const char *s, unsigned *min, unsigned *max, struct kb_err *err)
{
	long long	 a, b;
	const char	*dash;
	char		 first[32];

	if ((dash = strchr(s, '-')) == NULL) {
		if (kb_parse_int(s, 0, FAULTS_MAX_MS, &a, err) == -1)
			return (-1);
		*min = *max = (unsigned)a;
		return (0);
	}
	if ((size_t)(dash - s) >= sizeof first)
		return (kb_err_set(err, "latency '%s' is not MS or MIN-MAX", s));
	memcpy(first, s, (size_t)(dash - s));
	first[dash - s] = '\0';
	if (kb_parse_int(first, 0, FAULTS_MAX_MS, &a, err) == -1 ||
	    kb_parse_int(dash + 1, 0, FAULTS_MAX_MS, &b, err) == -1)
		return (-1);
	if (b < a)
		return (kb_err_set(err, "latency '%s': MAX is below MIN", s));
	*min = (unsigned)a;
	*max = (unsigned)b;
	return (0);
}

static int
faults_pct(struct json_object *v, const char *key, double *out, struct kb_err *err)
{
	double	d;

	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return (kb_err_set(err, "%s must be a number", key));
	d = json_object_get_double(v);
	if (d < 0 || d > 100)
		return (kb_err_set(err, "%s must be a percentage from 0 to 100", key));
	*out = d;
	return (0);
}

static int
faults_long(struct json_object *v, const char *key, long long min, long long max, long long *out,
    struct kb_err *err)
{
	long long	d;

	if (!json_object_is_type(v, json_type_int))
		return (kb_err_set(err, "%s must be a whole number", key));
	d = json_object_get_int64(v);
	if (d < min || d > max)
		return (kb_err_set(err, "%s must be from %lld to %lld", key, min, max));
	*out = d;
	return (0);
}

int
sb_faults_apply_json(struct sb_server *srv, struct json_object *o, struct kb_err *err)
{
	struct sb_faults	 f = srv->faults;
	long long		 n, ttl = srv->tokens.ttl;
	const char		*s;

	if (!json_object_is_type(o, json_type_object))
		return (kb_err_set(err, "the body must be a JSON object"));
	json_object_object_foreach(o, key, v) {
		if (strcmp(key, "latency") == 0 || strcmp(key, "latency_ms") == 0) {
			if (json_object_is_type(v, json_type_int)) {
				if (faults_long(v, key, 0, FAULTS_MAX_MS, &n, err) == -1)
					return (-1);
				f.latency_min_ms = f.latency_max_ms = (unsigned)n;
			} else if (!json_object_is_type(v, json_type_string) ||
			    sb_faults_parse_latency(json_object_get_string(v), &f.latency_min_ms,
			    &f.latency_max_ms, err) == -1)
				return (kb_err_set(err, "%s must be MS or \"MIN-MAX\"", key));
		} else if (strcmp(key, "error_rate") == 0) {
			if (faults_pct(v, key, &f.error_rate, err) == -1)
				return (-1);
		} else if (strcmp(key, "error_status") == 0) {
			if (faults_long(v, key, 500, 504, &n, err) == -1 || n == 501)
				return (kb_err_set(err, "error_status must be 500, 502, 503 or 504"));
			f.error_status = (int)n;
		} else if (strcmp(key, "hang_rate") == 0) {
			if (faults_pct(v, key, &f.hang_rate, err) == -1)
				return (-1);
		} else if (strcmp(key, "hang_ms") == 0) {
			if (faults_long(v, key, 1, FAULTS_MAX_MS, &n, err) == -1)
				return (-1);
			f.hang_ms = (unsigned)n;
		} else if (strcmp(key, "drop_rate") == 0) {
			if (faults_pct(v, key, &f.drop_rate, err) == -1)
				return (-1);
		} else if (strcmp(key, "rate_429") == 0) {
			if (faults_pct(v, key, &f.rate429, err) == -1)
				return (-1);
		} else if (strcmp(key, "force_429") == 0) {
			if (faults_long(v, key, 0, 1000000000LL, &n, err) == -1)
				return (-1);
			f.force429 = (long)n;
		} else if (strcmp(key, "scope") == 0) {
			s = json_object_get_string(v);
			if (s != NULL && strcmp(s, "all") == 0)
				f.scope = SB_SCOPE_ALL;
			else if (s != NULL && strcmp(s, "soap") == 0)
				f.scope = SB_SCOPE_SOAP;
			else if (s != NULL && strcmp(s, "auth") == 0)
				f.scope = SB_SCOPE_AUTH;
			else if (s != NULL && strcmp(s, "aspos") == 0)
				f.scope = SB_SCOPE_ASPOS;
			else
				return (kb_err_set(err, "scope must be all, soap, auth or aspos"));
		} else if (strcmp(key, "token_ttl") == 0) {
			if (faults_long(v, key, 1, 100000000LL, &ttl, err) == -1)
				return (-1);
		} else
			return (kb_err_set(err, "unknown fault setting \"%s\"", key));
	}
	srv->faults = f;
	srv->tokens.ttl = (long)ttl;
	return (0);
}

struct json_object *
sb_faults_json(struct sb_server *srv)
{
	struct sb_faults	*f = &srv->faults;
	struct json_object	*o;
	char			 buf[48];
	static const char *const scopes[] = { "all", "soap", "auth", "aspos" };

	o = json_object_new_object();
	if (f->latency_min_ms == f->latency_max_ms)
		snprintf(buf, sizeof buf, "%u", f->latency_min_ms);
	else
		snprintf(buf, sizeof buf, "%u-%u", f->latency_min_ms, f->latency_max_ms);
	json_object_object_add(o, "latency", json_object_new_string(buf));
	json_object_object_add(o, "error_rate", json_object_new_double(f->error_rate));
	json_object_object_add(o, "error_status", json_object_new_int(f->error_status));
	json_object_object_add(o, "hang_rate", json_object_new_double(f->hang_rate));
	json_object_object_add(o, "hang_ms", json_object_new_int64(f->hang_ms));
	json_object_object_add(o, "drop_rate", json_object_new_double(f->drop_rate));
	json_object_object_add(o, "rate_429", json_object_new_double(f->rate429));
	json_object_object_add(o, "force_429", json_object_new_int64(f->force429));
	json_object_object_add(o, "scope", json_object_new_string(scopes[f->scope]));
	json_object_object_add(o, "token_ttl", json_object_new_int64(srv->tokens.ttl));
	return (o);
}

unsigned
sb_faults_latency(struct sb_server *srv)
{
	struct sb_faults	*f = &srv->faults;

	if (f->latency_max_ms <= f->latency_min_ms)
		return (f->latency_min_ms);
	return (f->latency_min_ms + (unsigned)(sb_rand(srv) %
	    ((uint64_t)f->latency_max_ms - f->latency_min_ms + 1)));
}

/*
 * area is an enum sb_area. Scope "all" covers every area; AsPos requests
 * get 429s only under scope "aspos", so a Twinfield test's forced 429s are
 * never spent on them.
 */
enum sb_fault_kind
sb_faults_pick(struct sb_server *srv, int area, int pre_limit)
{
	struct sb_faults	*f = &srv->faults;
	int			 soap = area == SB_AREA_SOAP;
	int			 metered = soap || (area == SB_AREA_ASPOS && f->scope == SB_SCOPE_ASPOS);

	if ((f->scope == SB_SCOPE_SOAP && area != SB_AREA_SOAP) ||
	    (f->scope == SB_SCOPE_AUTH && area != SB_AREA_AUTH) ||
	    (f->scope == SB_SCOPE_ASPOS && area != SB_AREA_ASPOS))
		return (SB_FAULT_NONE);
	if (pre_limit) {
		if (sb_chance(srv, f->drop_rate))
			return (SB_FAULT_DROP);
		if (sb_chance(srv, f->hang_rate))
			return (SB_FAULT_HANG);
		/* 429s are a metering answer: only metered (/webservices/) requests get them. */
		if (metered && f->force429 > 0) {
			f->force429--;
			return (SB_FAULT_429);
		}
		if (metered && sb_chance(srv, f->rate429))
			return (SB_FAULT_429);
		return (SB_FAULT_NONE);
	}
	return (sb_chance(srv, f->error_rate) ? SB_FAULT_ERROR : SB_FAULT_NONE);
}
