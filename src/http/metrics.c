#include "config.h"

#include "kassaboek/metrics.h"

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double metrics_bounds[KB_METRICS_LATENCY_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
};

void
kb_metrics_count_status(struct kb_metrics *m, int status)
{
	if (status >= 100 && status < 600)
		m->requests_by_status[status]++;
}

void
kb_metrics_observe_enqueue(struct kb_metrics *m, double seconds)
{
	int	i;

	for (i = 0; i < KB_METRICS_LATENCY_BUCKETS - 1; i++)
		if (seconds <= metrics_bounds[i])
			break;
	m->enqueue_latency_buckets[i]++;
	m->enqueue_latency_count++;
	m->enqueue_latency_sum_s += seconds;
}

void
kb_metrics_render(const struct kb_metrics *m, struct evbuffer *out)
{
	uint64_t	cumulative = 0;
	int		i;

	evbuffer_add_printf(out,
	    "# HELP kassaboek_webhook_requests_total Webhook requests answered, by HTTP status.\n"
	    "# TYPE kassaboek_webhook_requests_total counter\n");
	for (i = 100; i < 600; i++)
		if (m->requests_by_status[i] != 0)
			evbuffer_add_printf(out, "kassaboek_webhook_requests_total{status=\"%d\"} %llu\n",
			    i, (unsigned long long)m->requests_by_status[i]);
	evbuffer_add_printf(out,
	    "# HELP kassaboek_enqueue_duration_seconds Time from a verified webhook to Redis' answer.\n"
	    "# TYPE kassaboek_enqueue_duration_seconds histogram\n");
	for (i = 0; i < KB_METRICS_LATENCY_BUCKETS; i++) {
		cumulative += m->enqueue_latency_buckets[i];
		if (i < KB_METRICS_LATENCY_BUCKETS - 1)
			evbuffer_add_printf(out, "kassaboek_enqueue_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    metrics_bounds[i], (unsigned long long)cumulative);
		else
			evbuffer_add_printf(out, "kassaboek_enqueue_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cumulative);
	}
	evbuffer_add_printf(out, "kassaboek_enqueue_duration_seconds_sum %.6f\n"
	    "kassaboek_enqueue_duration_seconds_count %llu\n",
	    m->enqueue_latency_sum_s, (unsigned long long)m->enqueue_latency_count);
	evbuffer_add_printf(out,
	    "# HELP kassaboek_redis_up Whether the Redis connection is up.\n"
	    "# TYPE kassaboek_redis_up gauge\n"
	    "kassaboek_redis_up %d\n"
	    "# HELP kassaboek_connections_paused_total Times accepting paused at server.max_connections.\n"
	    "# TYPE kassaboek_connections_paused_total counter\n"
	    "kassaboek_connections_paused_total %llu\n",
	    m->redis_up, (unsigned long long)m->connections_rejected);
}
