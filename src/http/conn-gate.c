/*
 * server.max_connections for evhttp in libevent 2.1, which has no such
 * setting: every connection's bufferevent is created here (evhttp_set_bevcb)
 * and we keep one reference to it. evhttp clears a bufferevent's callbacks
 * when it frees the connection, which is how a sweep tells live from dead.
 * At the limit the listener is paused, so further clients wait in the
 * kernel's backlog instead of taking memory and descriptors.
 *
 * The bufferevent is created without BEV_OPT_CLOSE_ON_FREE: evhttp then
 * closes the socket itself when the connection ends, so our extra
 * reference never keeps a socket open.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "http-internal.h"
#include "kassaboek/log.h"
#include "kassaboek/xmalloc.h"

#define GATE_SWEEP_MS	100

static size_t
gate_sweep(struct http_conn_gate *g)
{
	bufferevent_data_cb	 rd, wr;
	bufferevent_event_cb	 evcb;
	void			*arg;
	size_t			 i, kept = 0;

	for (i = 0; i < g->nbevs; i++) {
		bufferevent_getcb(g->bevs[i], &rd, &wr, &evcb, &arg);
		if (evcb == NULL)
			bufferevent_decref(g->bevs[i]);	/* evhttp is done with it */
		else
			g->bevs[kept++] = g->bevs[i];
	}
	g->nbevs = kept;
	return (kept);
}

static void
gate_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn_gate	*g = arg;

	if (gate_sweep(g) < g->max && g->listener != NULL)
		evconnlistener_enable(g->listener);
}

static struct bufferevent *
gate_bev_cb(struct event_base *base, void *arg)
{
	struct http_conn_gate	*g = arg;
	struct bufferevent	*bev;

	gate_sweep(g);
	bev = bufferevent_socket_new(base, -1, 0);
	if (bev == NULL)
		return (NULL);
	bufferevent_incref(bev);
	if (g->nbevs == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->bevs = xreallocarray(g->bevs, g->cap, sizeof *g->bevs);
	}
	g->bevs[g->nbevs++] = bev;
	if (g->nbevs >= g->max && g->listener != NULL) {
		evconnlistener_disable(g->listener);
		g->metrics->connections_rejected++;
		kb_warn("server.max_connections (%zu) reached: not accepting until a connection closes", g->max);
	}
	return (bev);
}

void
http_conn_gate_init(struct http_conn_gate *g, struct event_base *base, struct evhttp *http,
    struct evconnlistener *listener, size_t max, struct kb_metrics *metrics)
{
	struct timeval	tv = { 0, GATE_SWEEP_MS * 1000 };

	g->listener = listener;
	g->max = max;
	g->metrics = metrics;
	g->sweep_ev = event_new(base, -1, EV_PERSIST, gate_sweep_cb, g);
	event_add(g->sweep_ev, &tv);
	evhttp_set_bevcb(http, gate_bev_cb, g);
}

/* After evhttp_free: drops the references still held. */
void
http_conn_gate_clear(struct http_conn_gate *g)
{
	size_t	i;

	if (g->sweep_ev != NULL)
		event_free(g->sweep_ev);
	for (i = 0; i < g->nbevs; i++)
		bufferevent_decref(g->bevs[i]);
	free(g->bevs);
	g->bevs = NULL;
	g->nbevs = g->cap = 0;
}
