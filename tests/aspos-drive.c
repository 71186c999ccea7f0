/*
 * aspos-drive: drives the AsPos client (src/aspos/) on one event loop for
 * the integration tests. Runs one command, prints one JSON object on stdout
 * (the result and the client's counters) and exits 0 if the call
 * succeeded, 1 if it failed, 2 if it could not be submitted, 64 on bad usage.
 *
 *   aspos-drive [options] update ORDER_ID STATUS [EXTERNAL_REFERENCE]
 *   aspos-drive [options] orders [UPDATED_SINCE [PAGE]]
 *   aspos-drive [options] parallel N ORDER_ID STATUS   N updates at once
 *
 * Options: --base-url URL --client-id ID --client-secret S --api-map FILE
 *   --redis URL --prefix P --timeout-ms N --max-response BYTES
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "kassaboek/aspos.h"

struct drive {
	struct event_base	*base;
	struct aspos_client	*client;
	unsigned		 pending;
	int			 failed;
	struct json_object	*results;
};

static struct json_object *
result_json(const struct aspos_result *r)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(r->ok));
	json_object_object_add(o, "kind", r->ok ? NULL : json_object_new_string(
	    r->kind == KB_FAIL_TRANSIENT ? "transient" : "permanent"));
	json_object_object_add(o, "message", json_object_new_string(r->message));
	json_object_object_add(o, "http_status", json_object_new_int((int)r->http_status));
	json_object_object_add(o, "retry_after_ms", json_object_new_int64((int64_t)r->retry_after_ms));
	json_object_object_add(o, "attempts", json_object_new_int((int)r->attempts));
	json_object_object_add(o, "body", r->body != NULL ? json_object_get(r->body) : NULL);
	json_object_object_add(o, "items", r->items != NULL ? json_object_get(r->items) : NULL);
	json_object_object_add(o, "next_page", json_object_new_int64(r->next_page));
	return (o);
}

static struct json_object *
stats_json(const struct aspos_client *c)
{
	struct json_object	*o;
	struct aspos_stats	 s;

	aspos_client_stats(c, &s);
	o = json_object_new_object();
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)s.requests));
	json_object_object_add(o, "token_fetches", json_object_new_int64((int64_t)s.token_fetches));
	json_object_object_add(o, "token_from_redis", json_object_new_int64((int64_t)s.token_from_redis));
	json_object_object_add(o, "retries_401", json_object_new_int64((int64_t)s.retries_401));
	json_object_object_add(o, "ok", json_object_new_int64((int64_t)s.ok));
	json_object_object_add(o, "transient_errors", json_object_new_int64((int64_t)s.transient_errors));
	json_object_object_add(o, "permanent_errors", json_object_new_int64((int64_t)s.permanent_errors));
	return (o);
}

static void
done_cb(const struct aspos_result *r, void *arg)
{
	struct drive	*d = arg;

	if (!r->ok)
		d->failed = 1;
	json_object_array_add(d->results, result_json(r));
	if (--d->pending == 0)
		event_base_loopbreak(d->base);
}

static void
usage(void)
{
	fprintf(stderr, "usage: aspos-drive [options] update ID STATUS [REF] | orders [SINCE [PAGE]] |"
	    " parallel N ID STATUS\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "base-url", required_argument, NULL, 'b' },
		{ "client-id", required_argument, NULL, 'i' },
		{ "client-secret", required_argument, NULL, 's' },
		{ "api-map", required_argument, NULL, 'm' },
		{ "redis", required_argument, NULL, 'r' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "max-response", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	struct aspos_config	 cfg;
	struct drive		 d;
	struct kb_err		 err;
	struct json_object	*out;
	long			 n = 1, i;
	int			 c, rc;

	memset(&cfg, 0, sizeof cfg);
	memset(&d, 0, sizeof d);
	cfg.client_id = "aspos-client";
	cfg.client_secret = "aspos-secret";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': cfg.base_url = optarg; break;
		case 'i': cfg.client_id = optarg; break;
		case 's': cfg.client_secret = optarg; break;
		case 'm': cfg.api_map = optarg; break;
		case 'r': cfg.redis_url = optarg; break;
		case 'p': cfg.redis_prefix = optarg; break;
		case 't': cfg.request_timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'x': cfg.max_response = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	d.results = json_object_new_array();
	if ((d.client = aspos_client_new(d.base, &cfg, &err)) == NULL) {
		out = json_object_new_object();
		json_object_object_add(out, "error", json_object_new_string(err.msg));
		printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
		json_object_put(out);
		json_object_put(d.results);
		event_base_free(d.base);
		return (2);
	}
	rc = 0;
	if (strcmp(argv[0], "update") == 0 && (argc == 3 || argc == 4)) {
		d.pending = 1;
		rc = aspos_order_update(d.client, argv[1], argv[2], argc == 4 ? argv[3] : NULL,
		    done_cb, &d, &err);
	} else if (strcmp(argv[0], "orders") == 0 && argc <= 3) {
		d.pending = 1;
		rc = aspos_orders_changed_since(d.client, argc >= 2 ? argv[1] : NULL,
		    argc == 3 ? strtol(argv[2], NULL, 10) : 0, done_cb, &d, &err);
	} else if (strcmp(argv[0], "parallel") == 0 && argc == 4) {
		n = strtol(argv[1], NULL, 10);
		for (i = 0; i < n && rc == 0; i++) {
			d.pending++;
			rc = aspos_order_update(d.client, argv[2], argv[3], NULL, done_cb, &d, &err);
		}
	} else
		usage();
	out = json_object_new_object();
	if (rc == -1) {
		json_object_object_add(out, "error", json_object_new_string(err.msg));
		d.failed = 2;
	} else
		event_base_dispatch(d.base);
	json_object_object_add(out, "results", d.results);
	json_object_object_add(out, "stats", stats_json(d.client));
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	aspos_client_free(d.client);
	event_base_free(d.base);
	return (d.failed);
}
