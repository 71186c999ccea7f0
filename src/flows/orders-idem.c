/*
 * Never book an order twice (docs/orders.md, "Idempotency").
 *
 * The local record: {p}:orders:booked maps the order key to what was booked
 * ("invoice 42 final"). Before a document is handed to the batcher the job
 * arms {p}:orders:pending with the series' watermark (the highest document
 * number seen so far); the result removes it again. A job that finds its
 * order pending was interrupted between Twinfield and Redis (worker killed,
 * timeout, connection lost): the document may exist. Then it checks in
 * Twinfield: it reads the documents numbered above the watermark, skipping
 * numbers it already knows ({p}:orders:docs:<series>), until one does not
 * exist, and compares each one's trace text (the invoice header text with
 * the AsPos order number, or the transaction's invoice number) with its own.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "kassaboek/config.h"
#include "kassaboek/job.h"
#include "kassaboek/tf-doc.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

#include "orders-internal.h"

/* Reads one check may spend before it gives up (transient: an operator looks). */
#define ORDERS_CHECK_MAX_READS	200

/* KEYS booked, pending, written; ARGV order key, document key. */
static const char idem_begin_script[] =
    "return {redis.call('HGET', KEYS[1], ARGV[1]) or '', redis.call('HGET', KEYS[1], ARGV[2]) or '',\n"
    "  redis.call('HGET', KEYS[2], ARGV[2]) or '', redis.call('HGET', KEYS[3], ARGV[1]) or ''}\n";

/* KEYS pending, watermark; ARGV document key, series. Arms and returns the watermark. */
static const char idem_arm_script[] =
    "local wm = redis.call('HGET', KEYS[2], ARGV[2]) or '-1'\n"
    "redis.call('HSET', KEYS[1], ARGV[1], wm)\n"
    "return wm\n";

/*
 * KEYS booked, pending, watermark, docs; ARGV document key, record, series,
 * number, trace.
 */
static const char idem_record_script[] =
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('HDEL', KEYS[2], ARGV[1])\n"
    "local n = tonumber(ARGV[4])\n"
    "if n then\n"
    "  local cur = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '-1')\n"
    "  if n > cur then redis.call('HSET', KEYS[3], ARGV[3], ARGV[4]) end\n"
    "  redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])\n"
    "end\n"
    "return 1\n";

static const char *
idem_doc_key(struct orders_job *oj)
{
	/* A credit is its own document: "<order>:credit:<event id>". */
	if (oj->credit)
		return (oj_keep(oj, xasprintf("%s:credit:%s", oj->okey, kb_job_id(oj->job))));
	return (oj->okey);
}

static const char *
idem_str(redisReply *r)
{
	return (r->type == REDIS_REPLY_STRING ? r->str : "");
}

/* "invoice 42 final" -> number, status */
static void
idem_parse(struct orders_job *oj, const char *rec)
{
	char	kind[32], num[64], status[32];

	if (sscanf(rec, "%31s %63s %31s", kind, num, status) == 3) {
		oj->booked_number = xstrdup(num);
		oj->booked_status = xstrdup(status);
	}
}

static void
idem_cancel_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	oj->action = ORDERS_SKIP;
	orders_after_idem(oj);
}

static void
idem_begin_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);
	struct orders_ctx	*ctx = oj->ctx;
	const char		*type = kb_job_type(job), *main, *doc, *pending, *argv[4];

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	main = idem_str(reply->element[0]);
	doc = idem_str(reply->element[1]);
	pending = idem_str(reply->element[2]);
	oj->written = *idem_str(reply->element[3]) != '\0';
	if (*main != '\0')
		idem_parse(oj, main);

	if (oj->credit) {
		if (*main == '\0' || strcmp(main, "cancelled") == 0) {
			/*
			 * Nothing booked yet: remember the cancellation, so a
			 * late order.completed books nothing either.
			 */
			argv[0] = "HSETNX";
			argv[1] = ctx->k_booked;
			argv[2] = oj->okey;
			argv[3] = "cancelled";
			kb_job_redis(job, idem_cancel_cb, NULL, 4, argv, NULL);
			return;
		}
		oj->action = *doc != '\0' ? ORDERS_SKIP : ORDERS_CREDIT;
	} else if (strcmp(main, "cancelled") == 0)
		oj->action = ORDERS_SKIP;
	else if (ctx->book_as != ORDERS_CONCEPT && strcmp(type, "order.completed") != 0)
		oj->action = ORDERS_SKIP;	/* not a sale yet: order.completed books it */
	else if (*main != '\0')
		oj->action = ctx->book_as == ORDERS_CONCEPT && oj->booked_status != NULL &&
		    strcmp(oj->booked_status, "concept") == 0 ? ORDERS_UPDATE : ORDERS_SKIP;
	else
		oj->action = ORDERS_BOOK;

	if ((oj->action == ORDERS_BOOK || oj->action == ORDERS_CREDIT) && *pending != '\0') {
		oj->wm = strtoll(pending, NULL, 10);
		orders_idem_check(oj);
		return;
	}
	orders_after_idem(oj);
}

void
orders_idem_begin(struct orders_job *oj)
{
	const char	*args[5];

	kb_job_step(oj->job, "idempotency");
	args[0] = oj->ctx->k_booked;
	args[1] = oj->ctx->k_pending;
	args[2] = oj->ctx->k_written;
	args[3] = oj->okey;
	args[4] = idem_doc_key(oj);
	orders_eval(oj, idem_begin_script, idem_begin_cb, NULL, 3, 5, args);
}

/* ---- arm: just before the document goes to the batcher */

static void
idem_arm_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);

	if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	oj->wm = strtoll(reply->str, NULL, 10);
	orders_book(oj);
}

void
orders_idem_arm(struct orders_job *oj)
{
	const char	*args[4];

	if (oj->action == ORDERS_UPDATE) {
		/* Updating a concept twice is harmless: no pending record needed. */
		orders_book(oj);
		return;
	}
	args[0] = oj->ctx->k_pending;
	args[1] = oj->ctx->k_wm;
	args[2] = idem_doc_key(oj);
	args[3] = oj->series;
	orders_eval(oj, idem_arm_script, idem_arm_cb, NULL, 2, 4, args);
}

static void
idem_disarm_cb(struct kb_job *job, redisReply *reply, void *arg)
{
}

/* The document was certainly not booked (refused): forget the pending record. */
void
orders_idem_disarm(struct orders_job *oj)
{
	const char	*argv[3];

	argv[0] = "HDEL";
	argv[1] = oj->ctx->k_pending;
	argv[2] = idem_doc_key(oj);
	kb_job_redis(oj->job, idem_disarm_cb, NULL, 3, argv, NULL);
}

/* ---- record: the document exists in Twinfield */

static void
idem_record_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		/* Booked, but not recorded: the next attempt finds it by the check. */
		kb_job_fail(job, KB_FAIL_TRANSIENT, "record", NULL, 0,
		    "booked as %s but Redis did not record it", oj->number);
		return;
	}
	orders_finish(oj);
}

void
orders_idem_record(struct orders_job *oj, const char *number, const char *status)
{
	const char	*args[9];
	char		*rec;

	kb_job_step(oj->job, "record");
	free(oj->number);
	oj->number = xstrdup(number);
	rec = xasprintf("%s %s %s", oj->ctx->book_as == ORDERS_TRANSACTION ? "transaction" :
	    "invoice", number, status);
	args[0] = oj->ctx->k_booked;
	args[1] = oj->ctx->k_pending;
	args[2] = oj->ctx->k_wm;
	args[3] = oj_keep(oj, xasprintf("%s%s", oj->ctx->k_docs, oj->series));
	args[4] = idem_doc_key(oj);
	args[5] = rec;
	args[6] = oj->series;
	args[7] = number;
	args[8] = oj->trace != NULL ? oj->trace : "";
	orders_eval(oj, idem_record_script, idem_record_cb, NULL, 4, 9, args);
	free(rec);
}

/* ---- check: was the pending document booked after all? */

static void	idem_check_next(struct orders_job *oj);

static void
idem_check_learn_cb(struct kb_job *job, redisReply *reply, void *arg)
{
}

/* A document read from Twinfield: remember its trace so no later check reads it again. */
static void
idem_check_learn(struct orders_job *oj, long long n, const char *trace)
{
	const char	*argv[4];
	char		 num[32];

	snprintf(num, sizeof num, "%lld", n);
	argv[0] = "HSET";
	argv[1] = oj_keep(oj, xasprintf("%s%s", oj->ctx->k_docs, oj->series));
	argv[2] = num;
	argv[3] = trace;
	kb_job_redis(oj->job, idem_check_learn_cb, NULL, 4, argv, NULL);
}

static void
idem_found(struct orders_job *oj, long long n)
{
	char	num[32];

	kb_job_log(oj->job, KB_LOG_INFO, "order %s was already booked as number %lld: not booked again",
	    oj->okey, n);
	orders_count(oj, "found_by_check", 1);
	snprintf(num, sizeof num, "%lld", n);
	orders_idem_record(oj, num, oj->ctx->book_as == ORDERS_CONCEPT ? "concept" : "final");
}

/* The trace text of a document read from Twinfield (invoice header text / transaction invoice number). */
static char *
idem_doc_trace(struct orders_job *oj, xmlNode *root)
{
	xmlNode	*hdr;

	if (root == NULL || (hdr = tf_xml_child(root, "header")) == NULL)
		return (NULL);
	return (tf_xml_child_text(hdr, oj->ctx->book_as == ORDERS_TRANSACTION ?
	    "invoicenumber" : "headertext"));
}

static void
idem_check_read_cb(struct orders_job *oj, const struct tf_response *resp)
{
	char	*trace;

	if (resp->kind == TF_ERR_BUSINESS || (resp->kind == TF_OK && resp->ndocs == 1 &&
	    !resp->docs[0].ok)) {
		/* The first number that does not exist: ours is not there. Book it. */
		kb_job_log(oj->job, KB_LOG_INFO, "order %s: not in Twinfield (checked up to %lld)",
		    oj->okey, oj->scan_n);
		orders_count(oj, "check_not_found", 1);
		orders_after_idem(oj);
		return;
	}
	if (resp->kind != TF_OK || resp->ndocs != 1) {
		orders_fail_tf(oj, resp->kind == TF_OK ? TF_ERR_PROTOCOL : resp->kind, NULL,
		    "checking Twinfield for an earlier booking: %s", resp->message);
		return;
	}
	trace = idem_doc_trace(oj, resp->docs[0].node);
	idem_check_learn(oj, oj->scan_n, trace != NULL ? trace : "");
	if (trace != NULL && oj->trace != NULL && strcmp(trace, oj->trace) == 0) {
		free(trace);
		idem_found(oj, oj->scan_n);
		return;
	}
	free(trace);
	oj->scan_n++;
	idem_check_next(oj);
}

static void
idem_check_known_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);
	struct orders_ctx	*ctx = oj->ctx;
	const char		*series_code;
	char			 num[32];
	xmlDoc			*doc;

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	if (reply->type == REDIS_REPLY_STRING) {
		if (oj->trace != NULL && strcmp(reply->str, oj->trace) == 0) {
			idem_found(oj, oj->scan_n);
			return;
		}
		oj->scan_n++;
		idem_check_next(oj);
		return;
	}
	if (++oj->scan_reads > ORDERS_CHECK_MAX_READS) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0,
		    "checking Twinfield for an earlier booking: more than %d unknown documents "
		    "after number %lld", ORDERS_CHECK_MAX_READS, oj->wm);
		return;
	}
	series_code = strchr(oj->series, '/') + 1;
	snprintf(num, sizeof num, "%lld", oj->scan_n);
	if (ctx->book_as == ORDERS_TRANSACTION)
		doc = tf_build_read_transaction(ctx->office, series_code, num);
	else
		doc = tf_build_read_invoice(ctx->office, series_code, num);
	orders_tf_process(oj, doc, idem_check_read_cb);
	xmlFreeDoc(doc);
}

static void
idem_check_next(struct orders_job *oj)
{
	const char	*argv[3];
	char		 num[32];

	snprintf(num, sizeof num, "%lld", oj->scan_n);
	argv[0] = "HGET";
	argv[1] = oj_keep(oj, xasprintf("%s%s", oj->ctx->k_docs, oj->series));
	argv[2] = num;
	kb_job_redis(oj->job, idem_check_known_cb, NULL, 3, argv, NULL);
}

/*
 * Where the check starts: after the watermark armed with the document; with
 * none (the series' very first batch), at the series' current watermark minus
 * a few batches, else at the first number of the series.
 */
static void
idem_check_start_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);
	long long		 cur = -1, back;
	const char		*date;

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	if (reply->type == REDIS_REPLY_STRING)
		cur = strtoll(reply->str, NULL, 10);
	back = 4LL * (long long)oj->ctx->cfg->twinfield.batch_size;
	if (oj->wm >= 0)
		oj->scan_n = oj->wm + 1;
	else if (cur >= 0)
		oj->scan_n = cur - back > 1 ? cur - back : 1;
	else if (oj->ctx->book_as == ORDERS_TRANSACTION &&
	    (date = oj_str(oj, oj->txn, "date")) != NULL && strlen(date) >= 4)
		oj->scan_n = strtoll(date, NULL, 10) / 10000 * 100000LL + 1;
	else
		oj->scan_n = 1;
	kb_job_log(oj->job, KB_LOG_INFO, "order %s may have been booked by an interrupted attempt: "
	    "checking Twinfield from number %lld", oj->okey, oj->scan_n);
	idem_check_next(oj);
}

void
orders_idem_check(struct orders_job *oj)
{
	const char	*argv[3];

	kb_job_step(oj->job, "check");
	argv[0] = "HGET";
	argv[1] = oj->ctx->k_wm;
	argv[2] = oj->series;
	kb_job_redis(oj->job, idem_check_start_cb, NULL, 3, argv, NULL);
}
