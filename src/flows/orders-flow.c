/*
 * The order flow (DESIGN.md §1, docs/orders.md): an order.* event becomes a
 * Twinfield sales invoice (final or concept) or a sales transaction. This
 * file holds the kb_flow, the per-process context, the job's state and the
 * order of the steps; each step lives in its own file.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "kassaboek/aspos.h"
#include "kassaboek/config.h"
#include "kassaboek/flow.h"
#include "kassaboek/job.h"
#include "kassaboek/map.h"
#include "kassaboek/tf.h"
#include "kassaboek/xmalloc.h"

#include "orders-internal.h"

/* ---- settings the mapping may reference ({"setting": "orders.x"}) */

static const char *
orders_setting_cb(void *arg, const char *key)
{
	const struct kb_config	*cfg = arg;

	if (strcmp(key, "twinfield.office") == 0)
		return (cfg->twinfield.office);
	if (strcmp(key, "orders.book_as") == 0)
		return (cfg->orders.book_as);
	if (strcmp(key, "orders.invoice_type") == 0)
		return (cfg->orders.invoice_type);
	if (strcmp(key, "orders.employee_number") == 0)
		return (cfg->orders.employee_number);
	if (strcmp(key, "orders.default_debtor") == 0)
		return (cfg->orders.default_debtor);
	if (strcmp(key, "orders.sales_daybook") == 0)
		return (cfg->orders.sales_daybook);
	if (strcmp(key, "orders.credit_invoice_type") == 0)
		return (cfg->orders.credit_invoice_type);
	return (NULL);
}

/* ---- the job */

static void
orders_job_free(void *arg)
{
	struct orders_job	*oj = arg;
	size_t			 i;

	if (oj == NULL)
		return;
	orders_articles_abandon(oj);
	json_object_put(oj->mapped);
	for (i = 0; i < oj->nlines; i++) {
		free(oj->lines[i].article);
		free(oj->lines[i].subarticle);
		free(oj->lines[i].r_article);
		free(oj->lines[i].r_sub);
	}
	free(oj->lines);
	for (i = 0; i < oj->ncand; i++)
		free(oj->cand[i]);
	free(oj->cand);
	for (i = 0; i < oj->nstrs; i++)
		free(oj->strs[i]);
	free(oj->strs);
	free(oj->okey);
	free(oj->series);
	free(oj->trace);
	free(oj->email);
	free(oj->debtor_code);
	free(oj->debtor_sum);
	free(oj->booked_number);
	free(oj->booked_status);
	free(oj->number);
	free(oj);
}

void
orders_fail_tf(struct orders_job *oj, enum tf_err_kind kind, const char *field, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	orders_count(oj, tf_err_transient(kind) ? "transient_errors" : "permanent_errors", 1);
	kb_job_fail(oj->job, tf_err_transient(kind) ? KB_FAIL_TRANSIENT : KB_FAIL_PERMANENT,
	    NULL, field, 0, "%s", msg);
	free(msg);
}

static void
orders_count_cb(struct kb_job *job, redisReply *reply, void *arg)
{
}

/* Counters for the benchmark and /metrics ({p}:orders:stats); fire and forget. */
void
orders_count(struct orders_job *oj, const char *counter, long long n)
{
	const char	*argv[4];
	char		 buf[32];

	snprintf(buf, sizeof buf, "%lld", n);
	argv[0] = "HINCRBY";
	argv[1] = oj->ctx->k_stats;
	argv[2] = counter;
	argv[3] = buf;
	kb_job_redis(oj->job, orders_count_cb, NULL, 4, argv, NULL);
}

void
orders_eval(struct orders_job *oj, const char *script, void (*cb)(struct kb_job *, redisReply *,
    void *), void *arg, int nkeys, int nargs, const char **args)
{
	size_t	*lens;
	int	 i;

	lens = xcalloc(nargs > 0 ? (size_t)nargs : 1, sizeof *lens);
	for (i = 0; i < nargs; i++)
		lens[i] = strlen(args[i]);
	kb_job_eval(oj->job, script, cb, arg, nkeys, nargs, args, lens);
	free(lens);
}

/* ---- Twinfield requests of one job (reads, searches): held while they run */

struct orders_tf_call {
	struct orders_job	*oj;
	struct kb_job		*job;
	orders_tf_cb		*cb;
};

static void
orders_tf_done(const struct tf_response *resp, void *arg)
{
	struct orders_tf_call	*call = arg;

	if (kb_job_release(call->job))
		call->cb(call->oj, resp);
	free(call);
}

void
orders_tf_process(struct orders_job *oj, xmlDoc *doc, orders_tf_cb *cb)
{
	struct orders_tf_call	*call;
	struct kb_err		 err;

	call = xcalloc(1, sizeof *call);
	call->oj = oj;
	call->job = kb_job_hold(oj->job);
	call->cb = cb;
	if (tf_client_process(oj->ctx->tf, NULL, doc, orders_tf_done, call, &err) == -1) {
		(void)kb_job_release(call->job);
		free(call);
		kb_job_fail(oj->job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Twinfield client: %s", err.msg);
	}
}

void
orders_tf_search(struct orders_job *oj, const struct tf_search *s, orders_tf_cb *cb)
{
	struct orders_tf_call	*call;
	struct kb_err		 err;

	call = xcalloc(1, sizeof *call);
	call->oj = oj;
	call->job = kb_job_hold(oj->job);
	call->cb = cb;
	if (tf_client_search(oj->ctx->tf, s, orders_tf_done, call, &err) == -1) {
		(void)kb_job_release(call->job);
		free(call);
		kb_job_fail(oj->job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Twinfield client: %s", err.msg);
	}
}

/* ---- the steps in order */

void
orders_after_idem(struct orders_job *oj)
{
	switch (oj->action) {
	case ORDERS_SKIP:
		orders_count(oj, "skipped", 1);
		/* Booked by an attempt whose write-back failed: only that is left. */
		if (oj->ctx->aspos != NULL && !oj->credit && !oj->written &&
		    oj->booked_number != NULL) {
			orders_write_back(oj, oj->booked_number);
			return;
		}
		kb_job_done(oj->job);
		return;
	default:
		orders_customer(oj);
		return;
	}
}

void
orders_finish(struct orders_job *oj)
{
	orders_count(oj, oj->action == ORDERS_UPDATE ? "updated" :
	    oj->action == ORDERS_CREDIT ? "credited" : "booked", 1);
	kb_job_log(oj->job, KB_LOG_INFO, "order %s booked as %s %s", oj->okey,
	    oj->ctx->book_as == ORDERS_TRANSACTION ? "transaction" : "invoice",
	    oj->number != NULL ? oj->number : "?");
	if (oj->ctx->aspos != NULL && !oj->credit && oj->number != NULL) {
		orders_write_back(oj, oj->number);
		return;
	}
	kb_job_done(oj->job);
}

/* ---- step 6: the order status in AsPos */

struct orders_wb {
	struct orders_job	*oj;
	struct kb_job		*job;
	char			*number;
};

static void
orders_wb_recorded_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	kb_job_done(job);
}

static void
orders_wb_done(const struct aspos_result *res, void *arg)
{
	struct orders_wb	*wb = arg;
	struct orders_job	*oj = wb->oj;
	const char		*argv[4];

	if (!kb_job_release(wb->job)) {
		free(wb->number);
		free(wb);
		return;
	}
	if (!res->ok) {
		/* The booking stays recorded: a retry only writes the status back. */
		kb_job_fail(oj->job, res->kind, NULL, NULL, res->retry_after_ms,
		    "writing the status back to AsPos: %s", res->message);
	} else {
		orders_count(oj, "written_back", 1);
		argv[0] = "HSET";
		argv[1] = oj->ctx->k_written;
		argv[2] = oj->okey;
		argv[3] = wb->number;
		kb_job_redis(oj->job, orders_wb_recorded_cb, NULL, 4, argv, NULL);
	}
	free(wb->number);
	free(wb);
}

void
orders_write_back(struct orders_job *oj, const char *number)
{
	struct orders_wb	*wb;
	struct kb_err		 err;

	kb_job_step(oj->job, "write_back");
	wb = xcalloc(1, sizeof *wb);
	wb->oj = oj;
	wb->job = kb_job_hold(oj->job);
	wb->number = xstrdup(number);
	if (aspos_order_update(oj->ctx->aspos, oj->okey, oj->ctx->cfg->orders.write_back_status,
	    number, orders_wb_done, wb, &err) == -1) {
		(void)kb_job_release(wb->job);
		free(wb->number);
		free(wb);
		kb_job_fail(oj->job, KB_FAIL_PERMANENT, NULL, "ref.order_id", 0,
		    "writing the status back to AsPos: %s", err.msg);
	}
}

static void
orders_start(struct kb_job *job, void *arg)
{
	struct orders_ctx	*ctx = arg;
	struct orders_job	*oj;
	struct json_object	*env, *data = NULL;
	struct map_settings	 settings = { orders_setting_cb, (void *)ctx->cfg };
	struct kb_err		 err;
	const char		*type = kb_job_type(job), *id, *s;

	oj = xcalloc(1, sizeof *oj);
	oj->ctx = ctx;
	oj->job = job;
	oj->wm = -1;
	kb_job_set_data(job, oj, orders_job_free);

	kb_job_step(job, "map");
	env = kb_job_json(job);
	if (env == NULL || !json_object_object_get_ex(env, "data", &data) ||
	    !json_object_is_type(data, json_type_object)) {
		kb_job_fail(job, KB_FAIL_PERMANENT, NULL, "data", 0, "the event has no order object in data");
		return;
	}
	if (map_apply(ctx->map, data, &settings, &oj->mapped, &err) == -1) {
		kb_job_fail(job, KB_FAIL_PERMANENT, NULL, NULL, 0, "%s", err.msg);
		return;
	}
	oj->ref = oj_obj(oj->mapped, "ref");
	oj->invoice = oj_obj(oj->mapped, "invoice");
	oj->debtor = oj_obj(oj->mapped, "debtor");
	oj->txn = oj_obj(oj->mapped, "transaction");
	if ((id = oj_str(oj, oj->ref, "order_id")) == NULL) {
		kb_job_fail(job, KB_FAIL_PERMANENT, NULL, "ref.order_id", 0,
		    "the mapping gives no order id (ref.order_id)");
		return;
	}
	if (ctx->book_as == ORDERS_TRANSACTION ? oj->txn == NULL : oj->invoice == NULL) {
		kb_job_fail(job, KB_FAIL_PERMANENT, NULL, ctx->book_as == ORDERS_TRANSACTION ?
		    "transaction" : "invoice", 0, "the mapping gives no %s to book",
		    ctx->book_as == ORDERS_TRANSACTION ? "transaction" : "invoice");
		return;
	}
	oj->credit = strcmp(type, "order.cancelled") == 0 || strcmp(type, "order.credited") == 0;
	oj->okey = xstrdup(id);
	if ((s = oj_str(oj, oj->ref, "customer_email")) != NULL)
		oj->email = xstrdup(s);
	orders_book_prepare(oj);
	orders_idem_begin(oj);
}

static void	orders_fini(void *arg);

/* ---- once per worker process */

static int
orders_init(const struct kb_flow_env *env, void **ctxp, struct kb_err *err)
{
	const struct kb_config	*cfg = env->cfg;
	struct orders_ctx	*ctx;
	struct tf_config	 tc;
	struct aspos_config	 ac;

	ctx = xcalloc(1, sizeof *ctx);
	ctx->base = env->base;
	ctx->cfg = cfg;
	ctx->redis = env->redis;
	ctx->office = cfg->twinfield.office;
	if (strcmp(cfg->orders.book_as, "concept") == 0)
		ctx->book_as = ORDERS_CONCEPT;
	else if (strcmp(cfg->orders.book_as, "transaction") == 0)
		ctx->book_as = ORDERS_TRANSACTION;
	else
		ctx->book_as = ORDERS_INVOICE;
	ctx->credit_type = *cfg->orders.credit_invoice_type != '\0' ?
	    cfg->orders.credit_invoice_type : cfg->orders.invoice_type;
	if ((ctx->map = map_load(cfg->orders.mapping, err)) == NULL)
		goto fail;

	memset(&tc, 0, sizeof tc);
	tc.login_url = cfg->twinfield.login_url;
	tc.client_id = cfg->twinfield.client_id;
	tc.client_secret = cfg->twinfield.client_secret;
	tc.refresh_token = cfg->twinfield.refresh_token;
	tc.cluster_url = cfg->twinfield.cluster_url;
	tc.office = cfg->twinfield.office;
	tc.credits_per_minute = (unsigned)cfg->twinfield.credits_per_minute;
	tc.max_concurrency = (unsigned)cfg->twinfield.max_concurrency;
	tc.batch_size = (unsigned)cfg->twinfield.batch_size;
	tc.request_timeout_ms = (unsigned)cfg->twinfield.request_timeout_ms;
	tc.redis_url = cfg->redis.url;
	tc.redis_prefix = env->prefix;
	if ((ctx->tf = tf_client_new(env->base, &tc, err)) == NULL)
		goto fail;
	ctx->batch = batcher_new(env->base, ctx->tf, (unsigned)cfg->twinfield.batch_size,
	    cfg->twinfield.batch_window_ms);

	ctx->k_booked = xasprintf("{%s}:orders:booked", env->prefix);
	ctx->k_pending = xasprintf("{%s}:orders:pending", env->prefix);
	ctx->k_wm = xasprintf("{%s}:orders:watermark", env->prefix);
	ctx->k_docs = xasprintf("{%s}:orders:docs:", env->prefix);
	ctx->k_debtor = xasprintf("{%s}:cache:debtor", env->prefix);
	ctx->k_debtorsum = xasprintf("{%s}:cache:debtorsum", env->prefix);
	ctx->k_article = xasprintf("{%s}:cache:article", env->prefix);
	ctx->k_sku = xasprintf("{%s}:cache:sku", env->prefix);
	ctx->k_vat = xasprintf("{%s}:cache:vat", env->prefix);
	ctx->k_stats = xasprintf("{%s}:orders:stats", env->prefix);
	ctx->k_written = xasprintf("{%s}:orders:written", env->prefix);
	if (cfg->orders.write_back) {
		memset(&ac, 0, sizeof ac);
		ac.base_url = cfg->aspos.base_url;
		ac.client_id = cfg->aspos.client_id;
		ac.client_secret = cfg->aspos.client_secret;
		ac.api_map = cfg->aspos.api_map;
		ac.redis_url = cfg->redis.url;
		ac.redis_prefix = env->prefix;
		ac.request_timeout_ms = (unsigned)cfg->aspos.request_timeout_ms;
		if ((ctx->aspos = aspos_client_new(env->base, &ac, err)) == NULL) {
			orders_fini(ctx);
			return (-1);
		}
	}
	*ctxp = ctx;
	return (0);
fail:
	map_free(ctx->map);
	free(ctx);
	return (-1);
}

struct orders_stop {
	void	(*done)(void *);
	void	*arg;
};

static void
orders_stopped_cb(void *arg)
{
	struct orders_stop	*s = arg;

	s->done(s->arg);
	free(s);
}

static void
orders_stop(void *arg, void (*done)(void *), void *done_arg)
{
	struct orders_ctx	*ctx = arg;
	struct orders_stop	*s;

	s = xmalloc(sizeof *s);
	s->done = done;
	s->arg = done_arg;
	batcher_flush(ctx->batch);
	tf_client_shutdown(ctx->tf, orders_stopped_cb, s);
}

static void
orders_fini(void *arg)
{
	struct orders_ctx	*ctx = arg;

	if (ctx == NULL)
		return;
	batcher_free(ctx->batch);
	tf_client_free(ctx->tf);
	map_free(ctx->map);
	free(ctx->k_booked);
	free(ctx->k_pending);
	free(ctx->k_wm);
	free(ctx->k_docs);
	free(ctx->k_debtor);
	free(ctx->k_debtorsum);
	free(ctx->k_article);
	free(ctx->k_sku);
	free(ctx->k_vat);
	free(ctx->k_stats);
	free(ctx->k_written);
	aspos_client_free(ctx->aspos);
	free(ctx);
}

static const char *const orders_types[] = { "order.*", NULL };

const struct kb_flow kb_flow_orders = {
	.name = "orders",
	.types = orders_types,
	.init = orders_init,
	.start = orders_start,
	.stop = orders_stop,
	.fini = orders_fini,
};
