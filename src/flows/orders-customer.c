/*
 * Step "customer": the debtor code the order is booked on.
 *
 *   force_default_debtor, or no customer e-mail  -> orders.default_debtor
 *   {p}:cache:debtor has the e-mail              -> that code (0 credits);
 *       with update_customers and a debtor that changed since kassaboek last
 *       wrote it ({p}:cache:debtorsum) -> an update, batched (3 credits / 25)
 *   else a Finder search by the debtor's name (1 credit) and a read of each
 *       name-alike to compare e-mail addresses (1 credit each); found -> cached
 *       (and updated when update_customers); not found -> created, batched.
 *
 * The Finder's field 4 ("address fields") is not searched: Twinfield does
 * not document that it covers the e-mail address (docs/sandbox.md), so it
 * would cost a credit per new customer for nothing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "kassaboek/config.h"
#include "kassaboek/job.h"
#include "kassaboek/tf-doc.h"
#include "kassaboek/tf-finder.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

#include "orders-internal.h"

#define CUSTOMER_MAX_CANDIDATES	5

/* KEYS debtor, debtorsum; ARGV e-mail. */
static const char customer_get_script[] =
    "return {redis.call('HGET', KEYS[1], ARGV[1]) or '', redis.call('HGET', KEYS[2], ARGV[1]) or ''}\n";

/* KEYS debtor, debtorsum; ARGV e-mail, code, digest. */
static const char customer_set_script[] =
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end\n"
    "return 1\n";

struct customer_find {
	char	**cand;
	size_t	  ncand, next;
};

static void	customer_write(struct orders_job *oj, const char *code);

static void
customer_done(struct orders_job *oj)
{
	orders_articles(oj);
}

static void
customer_set_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	customer_done(oj);
}

/* Caches e-mail -> code (and the digest of what was written, if anything). */
static void
customer_cache(struct orders_job *oj, const char *digest)
{
	const char	*args[5];

	args[0] = oj->ctx->k_debtor;
	args[1] = oj->ctx->k_debtorsum;
	args[2] = oj->email;
	args[3] = oj->debtor_code;
	args[4] = digest != NULL ? digest : "";
	orders_eval(oj, customer_set_script, customer_set_cb, NULL, 2, 5, args);
}

/* ---- building the debtor from the mapped "debtor" object */

static int
customer_build(xmlDoc *doc, xmlNode *root, void *arg, struct kb_err *err)
{
	struct orders_job	*oj = arg;
	struct json_object	*d = oj->debtor, *fin, *addrs, *a, *o;
	struct tf_dimension	 dim;
	struct tf_address	*ad = NULL;
	xmlNode			*node, *n;
	const char		*s, *group, *ft1;
	size_t			 i, na = 0;
	char			 key[16];
	int			 rc = -1;

	memset(&dim, 0, sizeof dim);
	dim.office = oj_str(oj, d, "office");
	if (dim.office == NULL)
		dim.office = oj->ctx->office;
	dim.type = oj_str(oj, d, "type");
	if (dim.type == NULL)
		dim.type = "DEB";
	dim.code = oj->debtor_write == 2 ? oj->debtor_code : NULL;
	dim.name = oj_str(oj, d, "name");
	dim.shortname = oj_str(oj, d, "shortname");
	dim.website = oj_str(oj, d, "website");
	if ((fin = oj_obj(d, "financials")) != NULL) {
		if ((s = oj_str(oj, fin, "duedays")) != NULL) {
			dim.financials.has_duedays = 1;
			dim.financials.duedays = atoi(s);
		}
		if (oj_obj(fin, "payavailable") != NULL)
			dim.financials.payavailable = oj_bool(fin, "payavailable", 0) ? TF_TRUE : TF_FALSE;
		dim.financials.meansofpayment = oj_str(oj, fin, "meansofpayment");
		dim.financials.vatcode = oj_str(oj, fin, "vatcode");
		dim.financials.paycode = oj_str(oj, fin, "paycode");
	}
	if ((addrs = oj_obj(d, "addresses")) != NULL && json_object_is_type(addrs, json_type_array)) {
		na = json_object_array_length(addrs);
		ad = xcalloc(na > 0 ? na : 1, sizeof *ad);
		for (i = 0; i < na; i++) {
			a = json_object_array_get_idx(addrs, i);
			ad[i].type = oj_str(oj, a, "type");
			ad[i].is_default = oj_bool(a, "default", 0);
			ad[i].name = oj_str(oj, a, "name");
			ad[i].contact = oj_str(oj, a, "contact");
			ad[i].country = oj_str(oj, a, "country");
			ad[i].city = oj_str(oj, a, "city");
			ad[i].postcode = oj_str(oj, a, "postcode");
			ad[i].telephone = oj_str(oj, a, "telephone");
			ad[i].telefax = oj_str(oj, a, "telefax");
			ad[i].email = oj_str(oj, a, "email");
			for (int f = 0; f < 6; f++) {
				snprintf(key, sizeof key, "field%d", f + 1);
				ad[i].field[f] = oj_str(oj, a, key);
			}
		}
	}
	dim.addresses = ad;
	dim.naddresses = na;
	if ((node = tf_build_dimension(doc, root, &dim, err)) == NULL)
		goto out;
	/* Classification and the loyalty free text: not in struct tf_dimension. */
	if ((o = oj_obj(d, "groups")) != NULL && (group = oj_str(oj, o, "group")) != NULL) {
		n = xmlNewChild(node, NULL, BAD_CAST "groups", NULL);
		xmlNewTextChild(n, NULL, BAD_CAST "group", BAD_CAST group);
	}
	if ((o = oj_obj(d, "creditmanagement")) != NULL && (ft1 = oj_str(oj, o, "freetext1")) != NULL) {
		if ((n = tf_xml_child(node, "creditmanagement")) == NULL)
			n = xmlNewChild(node, NULL, BAD_CAST "creditmanagement", NULL);
		xmlNewTextChild(n, NULL, BAD_CAST "freetext1", BAD_CAST ft1);
	}
	rc = 0;
out:
	free(ad);
	return (rc);
}

struct customer_call {
	struct orders_job	*oj;
	struct kb_job		*job;
};

static void
customer_write_done(enum tf_err_kind kind, const char *msg, const struct tf_response *resp,
    const struct tf_doc_result *res, void *arg)
{
	struct customer_call	*call = arg;
	struct orders_job	*oj = call->oj;
	char			*code;

	if (!kb_job_release(call->job)) {
		free(call);
		return;
	}
	free(call);
	orders_count(oj, oj->debtor_write == 1 ? "debtors_created" : "debtors_updated", 1);
	if (kind != TF_OK) {
		orders_fail_tf(oj, kind, "debtor", "writing the debtor for %s: %s", oj->email, msg);
		return;
	}
	if (oj->debtor_write == 1) {
		if (res == NULL || (code = tf_xml_child_text(res->node, "code")) == NULL ||
		    *code == '\0') {
			orders_fail_tf(oj, TF_ERR_PROTOCOL, "debtor", "Twinfield created the debtor "
			    "but returned no code");
			return;
		}
		free(oj->debtor_code);
		oj->debtor_code = code;
	}
	customer_cache(oj, oj->debtor_sum);
}

/* code NULL: create; else update that debtor. Batched. */
static void
customer_write(struct orders_job *oj, const char *code)
{
	struct customer_call	*call;
	struct kb_err		 err;
	const char		*office;

	oj->debtor_write = code == NULL ? 1 : 2;
	if ((office = oj_str(oj, oj->debtor, "office")) == NULL)
		office = oj->ctx->office;
	call = xcalloc(1, sizeof *call);
	call->oj = oj;
	call->job = kb_job_hold(oj->job);
	if (batcher_add(oj->ctx->batch, "dimension", office, customer_build, oj, customer_write_done,
	    call, &err) == -1) {
		(void)kb_job_release(call->job);
		free(call);
		kb_job_fail(oj->job, KB_FAIL_PERMANENT, NULL, "debtor", 0, "%s", err.msg);
	}
}

/* ---- the Finder search */

static void	customer_read_next(struct orders_job *oj);

static void
customer_found(struct orders_job *oj, const char *code)
{
	free(oj->debtor_code);
	oj->debtor_code = xstrdup(code);
	if (oj->ctx->cfg->orders.update_customers && oj->debtor != NULL)
		customer_write(oj, oj->debtor_code);
	else
		customer_cache(oj, NULL);
}

static void
customer_read_cb(struct orders_job *oj, const struct tf_response *resp)
{
	if (resp->kind == TF_OK && resp->ndocs == 1 &&
	    tf_finder_dimension_has_email(resp->docs[0].node, oj->email)) {
		customer_found(oj, oj->cand[oj->cand_next - 1]);
		return;
	}
	/* A candidate that vanished is simply not the customer. */
	if (resp->kind != TF_OK && resp->kind != TF_ERR_BUSINESS) {
		orders_fail_tf(oj, resp->kind, NULL, "reading debtor %s: %s",
		    oj->cand[oj->cand_next - 1], resp->message);
		return;
	}
	customer_read_next(oj);
}

static void
customer_read_next(struct orders_job *oj)
{
	xmlDoc	*doc;

	if (oj->cand_next >= oj->ncand) {
		/* Nobody has this e-mail address: a new debtor. */
		customer_write(oj, NULL);
		return;
	}
	doc = tf_build_read_dimension(oj->ctx->office, "DEB", oj->cand[oj->cand_next++]);
	orders_tf_process(oj, doc, customer_read_cb);
	xmlFreeDoc(doc);
}

static void
customer_search_cb(struct orders_job *oj, const struct tf_response *resp)
{
	struct tf_finder_result	*f = resp->finder;
	size_t			 i;

	if (resp->kind != TF_OK) {
		orders_fail_tf(oj, resp->kind, NULL, "searching the debtor of %s: %s", oj->email,
		    resp->message);
		return;
	}
	for (i = 0; f != NULL && i < f->nrows && oj->ncand < CUSTOMER_MAX_CANDIDATES; i++) {
		/* Column 0 is the code; skip the pseudo entry equal to the type. */
		if (f->row_len[i] == 0 || *f->rows[i][0] == '\0' || strcmp(f->rows[i][0], "DEB") == 0)
			continue;
		oj->cand = xreallocarray(oj->cand, oj->ncand + 1, sizeof *oj->cand);
		oj->cand[oj->ncand++] = xstrdup(f->rows[i][0]);
	}
	customer_read_next(oj);
}

static void
customer_search(struct orders_job *oj)
{
	struct tf_search	 s;
	const char		*opts[4], *name;

	if ((name = oj_str(oj, oj->debtor, "name")) == NULL) {
		customer_write(oj, NULL);
		return;
	}
	opts[0] = "dimtype";
	opts[1] = "DEB";
	opts[2] = "office";
	opts[3] = oj->ctx->office;
	memset(&s, 0, sizeof s);
	s.type = "DIM";
	s.pattern = name;
	s.field = 2;
	s.first_row = 1;
	s.max_rows = CUSTOMER_MAX_CANDIDATES;
	s.options = opts;
	s.noptions = 2;
	orders_tf_search(oj, &s, customer_search_cb);
}

static void
customer_get_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);
	const char		*code, *sum;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	code = reply->element[0]->type == REDIS_REPLY_STRING ? reply->element[0]->str : "";
	sum = reply->element[1]->type == REDIS_REPLY_STRING ? reply->element[1]->str : "";
	if (*code == '\0') {
		orders_count(oj, "debtor_cache_miss", 1);
		customer_search(oj);
		return;
	}
	orders_count(oj, "debtor_cache_hit", 1);
	oj->debtor_code = xstrdup(code);
	if (oj->ctx->cfg->orders.update_customers && strcmp(sum, oj->debtor_sum) != 0)
		customer_write(oj, oj->debtor_code);
	else
		customer_done(oj);
}

void
orders_customer(struct orders_job *oj)
{
	const struct kb_config	*cfg = oj->ctx->cfg;
	const char		*args[3];

	kb_job_step(oj->job, "customer");
	if (cfg->orders.force_default_debtor || oj->email == NULL || oj->debtor == NULL ||
	    strchr(oj->email, '@') == NULL) {
		if (*cfg->orders.default_debtor == '\0') {
			kb_job_fail(oj->job, KB_FAIL_PERMANENT, NULL, "ref.customer_email", 0,
			    "the order has no customer e-mail address and orders.default_debtor "
			    "is not set");
			return;
		}
		oj->debtor_code = xstrdup(cfg->orders.default_debtor);
		customer_done(oj);
		return;
	}
	oj->debtor_sum = oj_digest(oj->debtor);
	args[0] = oj->ctx->k_debtor;
	args[1] = oj->ctx->k_debtorsum;
	args[2] = oj->email;
	orders_eval(oj, customer_get_script, customer_get_cb, NULL, 2, 3, args);
}
