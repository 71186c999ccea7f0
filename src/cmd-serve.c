/*
 * kassaboek serve: the webhook receiver. SIGTERM/SIGINT stop accepting,
 * let requests waiting for Redis finish (bounded by request_timeout), then
 * exit 0.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>

#include "kassaboek/cmd.h"
#include "kassaboek/config.h"
#include "kassaboek/http.h"
#include "kassaboek/log.h"
#include "kassaboek/metrics.h"
#include "kassaboek/portfile.h"
#include "kassaboek/redis.h"
#include "kassaboek/verify.h"
#include "kassaboek/xmalloc.h"

int	check_config_modules(const struct kb_config *cfg, FILE *errors);

struct serve_state {
	struct event_base	*base;
	struct kb_http_server	*server;
	struct event		*drain_deadline;
	struct timeval		 drain_timeout;
	int			 stopping;
};

static void
serve_drained(void *arg)
{
	struct serve_state	*st = arg;

	kb_info("all accepted webhooks are stored; exiting");
	event_base_loopexit(st->base, NULL);
}

static void
serve_drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve_state	*st = arg;

	kb_warn("shutdown: requests still waiting for Redis after the deadline; exiting");
	event_base_loopexit(st->base, NULL);
}

static void
serve_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve_state	*st = arg;

	if (st->stopping)
		return;
	st->stopping = 1;
	kb_info("signal %d: no longer accepting connections, finishing requests in flight", (int)sig);
	event_add(st->drain_deadline, &st->drain_timeout);
	kb_http_server_drain(st->server, serve_drained, st);
}

static int
serve_exec(struct kb_config *cfg, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "port-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct serve_state		 st;
	struct kb_metrics		*metrics;
	struct kb_verify		*verify = NULL;
	struct kb_redis			*redis = NULL;
	struct event			*sigterm = NULL, *sigint = NULL;
	struct kb_err			 err;
	enum kb_log_level		 level;
	const char			*port_file = NULL;
	int				 ch, rc = EX_OK;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'p') {
			fprintf(stderr, "usage: kassaboek [-c FILE] serve [--port-file FILE]\n");
			return (EX_USAGE);
		}
		port_file = optarg;
	}
	if (kb_log_level_parse(cfg->log.level, &level) == 0)
		kb_log_set_level(level);
	kb_log_init("serve");
	kb_log_capture_libevent();
	if (check_config_modules(cfg, stderr) == -1)
		return (EX_CONFIG);
	verify = kb_verify_new(cfg->server.scheme, cfg->server.webhook_secret, cfg->server.hmac_encoding,
	    cfg->server.timestamp_tolerance_ms, &err);
	if (cfg->server.scheme == KB_SIG_NONE)
		kb_warn("server.signature = none: webhooks are NOT authenticated; use this for local development only");

	signal(SIGPIPE, SIG_IGN);
	memset(&st, 0, sizeof st);
	metrics = xcalloc(1, sizeof *metrics);
	st.base = event_base_new();
	if ((redis = kb_redis_new(st.base, cfg->redis.url, "queue", cfg->redis.connect_timeout_ms,
	    cfg->redis.command_timeout_ms, &err)) == NULL) {
		fprintf(stderr, "kassaboek: [redis] url: %s\n", err.msg);
		rc = EX_CONFIG;
		goto out;
	}
	if ((st.server = kb_http_server_new(st.base, cfg, redis, verify, metrics, &err)) == NULL) {
		kb_error("%s", err.msg);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (port_file != NULL && kb_write_port_file(port_file, kb_http_server_port(st.server)) == -1) {
		kb_error("cannot write port file %s: %s", port_file, strerror(errno));
		rc = EX_CANTCREAT;
		goto out;
	}
	/* Requests waiting for Redis get at most one command timeout more. */
	st.drain_deadline = evtimer_new(st.base, serve_drain_deadline_cb, &st);
	st.drain_timeout.tv_sec = (time_t)(cfg->redis.command_timeout_ms / 1000) + 1;
	sigterm = evsignal_new(st.base, SIGTERM, serve_signal_cb, &st);
	sigint = evsignal_new(st.base, SIGINT, serve_signal_cb, &st);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	kb_info("listening on port %d: POST /webhooks/aspos, GET /healthz /readyz /metrics (signature: %s)",
	    kb_http_server_port(st.server), cfg->server.signature);

	event_base_dispatch(st.base);
out:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (st.drain_deadline != NULL)
		event_free(st.drain_deadline);
	/*
	 * Redis first: webhooks still waiting for it (past the drain deadline)
	 * are answered 503 while their server still exists; then the server.
	 */
	kb_redis_free(redis);
	kb_http_server_free(st.server);
	kb_verify_free(verify);
	event_base_free(st.base);
	free(metrics);
	return (rc);
}

const struct kb_cmd kb_cmd_serve = {
	"serve", "[--port-file FILE]", "receive AsPos webhooks and queue them in Redis", 1, serve_exec,
};
