/*
 * Process-local counters exposed at GET /metrics in the Prometheus text
 * format. Plain integers, no locks: each process has one event loop.
 */
#ifndef KASSABOEK_METRICS_H
#define KASSABOEK_METRICS_H

#include <stdint.h>

#include <event2/buffer.h>

#define KB_METRICS_LATENCY_BUCKETS	12

struct kb_metrics {
	uint64_t	requests_by_status[600];	/* webhook answers, by HTTP status */
	uint64_t	http_requests_other;		/* healthz, readyz, metrics, 404s */
	uint64_t	enqueue_latency_buckets[KB_METRICS_LATENCY_BUCKETS];	/* cumulative at render */
	uint64_t	enqueue_latency_count;
	double		enqueue_latency_sum_s;
	uint64_t	connections_rejected;		/* accept paused at max_connections */
	int		redis_up;
};

void	kb_metrics_count_status(struct kb_metrics *m, int status);
void	kb_metrics_observe_enqueue(struct kb_metrics *m, double seconds);
/* Appends the Prometheus exposition to out. */
void	kb_metrics_render(const struct kb_metrics *m, struct evbuffer *out);

#endif
