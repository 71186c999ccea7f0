/*
 * The baseline of bench/ingest: a bare libevent evhttp server that answers
 * 202 with a small JSON body to every request, with the same evhttp
 * settings as kassaboek serve and no verification, parsing or Redis.
 * usage: bare-evhttp PORT-FILE
 */
#include "config.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "kassaboek/portfile.h"

static void
bare_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*buf = evbuffer_new();

	evbuffer_add_printf(buf, "{\"id\":\"%s\",\"status\":\"queued\"}\n", "x");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, 202, "Accepted", buf);
	evbuffer_free(buf);
}

static void
bare_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	struct event_base		*base;
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;
	struct event			*sig;
	struct sockaddr_in		 sin;
	socklen_t			 len = sizeof sin;

	if (argc != 2) {
		fprintf(stderr, "usage: bare-evhttp PORT-FILE\n");
		return (64);
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_max_body_size(http, 1024 * 1024);
	evhttp_set_max_headers_size(http, 16 * 1024);
	evhttp_set_timeout(http, 10);
	evhttp_set_gencb(http, bare_cb, NULL);
	if ((bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0)) == NULL) {
		perror("bind");
		return (69);
	}
	getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &len);
	if (kb_write_port_file(argv[1], ntohs(sin.sin_port)) == -1) {
		perror(argv[1]);
		return (73);
	}
	sig = evsignal_new(base, SIGTERM, bare_stop_cb, base);
	event_add(sig, NULL);
	event_base_dispatch(base);
	event_free(sig);
	evhttp_free(http);
	event_base_free(base);
	return (0);
}
