/*
 * Step "articles": every invoice line names a Twinfield article, and the
 * right sub-article when the article has any (docs/orders.md, "Articles").
 *
 *   {p}:cache:sku     SKU -> "article/subcode": a variant SKU that is a
 *                     sub-article (written by the products flow, and here for
 *                     every sub-article of an article read)
 *   {p}:cache:article code -> "" (no sub-articles) or "S,M,L"
 *
 * A SKU in neither is read from Twinfield (1 credit) and cached; a missing
 * one is created (batched) when orders.create_articles is on, else the job
 * fails naming the SKU. Article codes are digits only: a SKU that is not
 * fails at once, unless the mapping transformed it or the SKU cache maps it.
 * Transactions (orders.book_as = transaction) book on ledger accounts and
 * need no articles.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libxml/tree.h>

#include "kassaboek/config.h"
#include "kassaboek/job.h"
#include "kassaboek/tf-doc.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

#include "orders-internal.h"

/* KEYS sku, article; ARGV the SKUs. Returns per SKU {sku entry, article entry (or false)}. */
static const char articles_get_script[] =
    "local out = {}\n"
    "for i, s in ipairs(ARGV) do\n"
    "  local m = redis.call('HGET', KEYS[1], s)\n"
    "  local code = s\n"
    "  if m then code = string.match(m, '^([^/]*)') end\n"
    "  out[i] = {m or '', redis.call('HGET', KEYS[2], code) or '-'}\n"
    "end\n"
    "return out\n";

/* KEYS article, sku; ARGV code, entry, then pairs sku, "article/sub". */
static const char articles_set_script[] =
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end\n"
    "return 1\n";

static void	articles_next(struct orders_job *oj);
static void	articles_create(struct orders_job *oj);
static int	articles_resolve(struct orders_job *oj, size_t i, const char *entry);

/*
 * One read per article code and process at a time: jobs that need an
 * article another job is reading wait for its result (a burst of orders
 * after a restart would otherwise read the same article once per order).
 */
struct orders_waiter {
	struct orders_job	*oj;
	struct kb_job		*job;
	struct orders_waiter	*next;
};

struct orders_flight {
	struct orders_ctx	*ctx;
	char			*code;
	char			*entry;		/* the result, or NULL: waiters read themselves */
	struct orders_waiter	*waiters;
	struct orders_flight	*next;
};

static void
articles_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct orders_flight	*f = arg;
	struct orders_waiter	*w, *wn;
	struct orders_job	*oj;
	size_t			 i;
	int			 failed;

	for (w = f->waiters; w != NULL; w = wn) {
		wn = w->next;
		oj = w->oj;
		if (kb_job_release(w->job)) {
			failed = 0;
			if (f->entry != NULL)
				for (i = 0; i < oj->nlines && !failed; i++)
					if (!oj->lines[i].resolved &&
					    strcmp(oj->lines[i].r_article, f->code) == 0)
						failed = articles_resolve(oj, i, f->entry) == -1;
			if (!failed)
				articles_next(oj);
		}
		free(w);
	}
	free(f->code);
	free(f->entry);
	free(f);
}

/* The leader is done (entry NULL: without a usable result): wake the waiters on the next turn. */
static void
articles_land(struct orders_job *oj, const char *entry)
{
	struct orders_flight	*f = oj->lead, **fp;
	struct timeval		 tv = { 0, 0 };

	if (f == NULL)
		return;
	oj->lead = NULL;
	for (fp = &f->ctx->flights; *fp != NULL; fp = &(*fp)->next)
		if (*fp == f) {
			*fp = f->next;
			break;
		}
	f->entry = entry != NULL ? xstrdup(entry) : NULL;
	event_base_once(f->ctx->base, -1, EV_TIMEOUT, articles_wake_cb, f, &tv);
}

void
orders_articles_abandon(struct orders_job *oj)
{
	articles_land(oj, NULL);
}

static int
articles_digits(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return (0);
	return (1);
}

/* Is sub in the comma-separated list? */
static int
articles_has_sub(const char *list, const char *sub)
{
	size_t	len = strlen(sub);
	const char *p = list;

	while (*p != '\0') {
		if (strncmp(p, sub, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return (1);
		if ((p = strchr(p, ',')) == NULL)
			break;
		p++;
	}
	return (0);
}

/* Resolves line i against the article's entry ("" or "S,M,L"); 0 or -1 (job failed). */
static int
articles_resolve(struct orders_job *oj, size_t i, const char *entry)
{
	struct orders_line	*l = &oj->lines[i];
	const char		*want = l->r_sub != NULL ? l->r_sub : l->subarticle;

	l->resolved = 1;
	if (*entry == '\0') {
		/* No sub-articles: Twinfield refuses one on the line. */
		free(l->r_sub);
		l->r_sub = NULL;
		return (0);
	}
	if (want != NULL && articles_has_sub(entry, want)) {
		if (l->r_sub == NULL)
			l->r_sub = xstrdup(want);
		return (0);
	}
	if (want == NULL && strchr(entry, ',') == NULL) {
		l->r_sub = xstrdup(entry);	/* the only one */
		return (0);
	}
	kb_job_fail(oj->job, KB_FAIL_PERMANENT, NULL, oj_keep(oj,
	    xasprintf("invoice.lines[%zu].subarticle", i)), 0,
	    want != NULL ? "article %s has no sub-article %s (it has %s)" :
	    "article %s has sub-articles (%s%s); the line must name one: map "
	    "invoice.lines[].subarticle or record the variant SKU in the SKU cache",
	    l->r_article, want != NULL ? want : "", entry);
	return (-1);
}

static void
articles_done(struct orders_job *oj)
{
	orders_idem_arm(oj);
}

/* ---- an article learned from Twinfield (read or created) */

static void
articles_set_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);
	const char		*entry = arg;
	size_t			 i;

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	/* Every line of this article is resolved with what was learned. */
	for (i = 0; i < oj->nlines; i++)
		if (!oj->lines[i].resolved && strcmp(oj->lines[i].r_article, oj->lines[oj->next].r_article) == 0 &&
		    articles_resolve(oj, i, entry) == -1)
			return;
	articles_next(oj);
}

/* Caches the article read or written (node: its <article> element) and continues. */
static void
articles_learn(struct orders_job *oj, xmlNode *article)
{
	xmlNode		*lines, *l;
	const char	**args;
	char		*sub, *entry = NULL, *tmp;
	size_t		 n = 0, cap = 8;
	const char	*code = oj->lines[oj->next].r_article;

	args = xcalloc(cap, sizeof *args);
	args[0] = oj->ctx->k_article;
	args[1] = oj->ctx->k_sku;
	args[2] = code;
	args[3] = "";
	n = 4;
	lines = article != NULL ? tf_xml_child(article, "lines") : NULL;
	for (l = lines != NULL ? lines->children : NULL; l != NULL; l = l->next) {
		if (l->type != XML_ELEMENT_NODE || (sub = tf_xml_child_text(l, "subcode")) == NULL)
			continue;
		if (*sub == '\0') {
			free(sub);
			continue;
		}
		oj_keep(oj, sub);
		tmp = entry == NULL ? xstrdup(sub) : xasprintf("%s,%s", entry, sub);
		free(entry);
		entry = tmp;
		if (n + 2 > cap) {
			cap *= 2;
			args = xreallocarray(args, cap, sizeof *args);
		}
		/* A variant whose SKU is the sub-article code resolves to this article. */
		args[n++] = sub;
		args[n++] = oj_keep(oj, xasprintf("%s/%s", code, sub));
	}
	args[3] = entry != NULL ? oj_keep(oj, entry) : "";
	articles_land(oj, args[3]);
	orders_eval(oj, articles_set_script, articles_set_cb, (void *)args[3], 2, (int)n, args);
	free(args);
}

static void
articles_read_cb(struct orders_job *oj, const struct tf_response *resp)
{
	struct orders_line	*l = &oj->lines[oj->next];

	if (resp->kind == TF_OK && resp->ndocs == 1 && resp->docs[0].ok) {
		articles_learn(oj, resp->docs[0].node);
		return;
	}
	if (resp->kind != TF_OK && resp->kind != TF_ERR_BUSINESS) {
		articles_land(oj, NULL);
		orders_fail_tf(oj, resp->kind, NULL, "reading article %s: %s", l->r_article,
		    resp->message);
		return;
	}
	/* It does not exist. */
	if (!oj->ctx->cfg->orders.create_articles) {
		articles_land(oj, NULL);
		kb_job_fail(oj->job, KB_FAIL_PERMANENT, NULL, oj_keep(oj,
		    xasprintf("invoice.lines[%zu].article", oj->next)), 0,
		    "SKU %s is not an article in Twinfield, and orders.create_articles is off",
		    l->article);
		return;
	}
	orders_count(oj, "articles_created", 1);
	/* Create it from the line (batched); articles_learn runs on the result. */
	articles_create(oj);
}

struct articles_call {
	struct orders_job	*oj;
	struct kb_job		*job;
};

static int
articles_build(xmlDoc *doc, xmlNode *root, void *arg, struct kb_err *err)
{
	struct orders_job	*oj = arg;
	struct json_object	*lines, *line;
	struct tf_article	 a;
	struct tf_subarticle	 sub;
	const char		*desc, *vat;

	lines = oj_obj(oj->invoice, "lines");
	line = json_object_array_get_idx(lines, oj->next);
	desc = oj_str(oj, line, "description");
	vat = oj_str(oj, line, "vatcode");
	memset(&a, 0, sizeof a);
	memset(&sub, 0, sizeof sub);
	a.office = oj->ctx->office;
	a.code = oj->lines[oj->next].r_article;
	a.type = "normal";
	a.name = desc != NULL ? desc : a.code;
	a.shortname = a.code;
	a.vatcode = vat != NULL ? vat : "VH";
	/* Prices and VAT codes come from the order lines, so let them vary. */
	a.allowchangevatcode = TF_TRUE;
	a.allowchangeunitsprice = TF_TRUE;
	a.allowdiscountorpremium = TF_TRUE;
	a.allowdecimalquantity = TF_TRUE;
	(void)oj_amount(line, "unitspriceinc", &sub.unitspriceinc.cents);
	sub.unitspriceinc.set = 1;
	sub.units = "1";
	sub.name = a.name;
	sub.subcode = NULL;
	a.lines = &sub;
	a.nlines = 1;
	return (tf_build_article(doc, root, &a, err) == NULL ? -1 : 0);
}

static void
articles_create_done(enum tf_err_kind kind, const char *msg, const struct tf_response *resp,
    const struct tf_doc_result *res, void *arg)
{
	struct articles_call	*call = arg;
	struct orders_job	*oj = call->oj;

	if (!kb_job_release(call->job)) {
		free(call);
		return;
	}
	free(call);
	if (kind != TF_OK) {
		articles_land(oj, NULL);
		orders_fail_tf(oj, kind, oj_keep(oj, xasprintf("invoice.lines[%zu].article",
		    oj->next)), "creating article %s: %s", oj->lines[oj->next].r_article, msg);
		return;
	}
	articles_learn(oj, res != NULL ? res->node : NULL);
}

static void
articles_create(struct orders_job *oj)
{
	struct articles_call	*call;
	struct kb_err		 err;

	call = xcalloc(1, sizeof *call);
	call->oj = oj;
	call->job = kb_job_hold(oj->job);
	if (batcher_add(oj->ctx->batch, "article", oj->ctx->office, articles_build, oj,
	    articles_create_done, call, &err) == -1) {
		(void)kb_job_release(call->job);
		free(call);
		kb_job_fail(oj->job, KB_FAIL_PERMANENT, NULL, oj_keep(oj,
		    xasprintf("invoice.lines[%zu].article", oj->next)), 0, "%s", err.msg);
	}
}

/* The next line whose article is not known yet: read it. */
static void
articles_next(struct orders_job *oj)
{
	struct orders_flight	*f;
	struct orders_waiter	*w;
	xmlDoc			*doc;

	while (oj->next < oj->nlines && oj->lines[oj->next].resolved)
		oj->next++;
	if (oj->next >= oj->nlines) {
		articles_done(oj);
		return;
	}
	for (f = oj->ctx->flights; f != NULL; f = f->next)
		if (strcmp(f->code, oj->lines[oj->next].r_article) == 0)
			break;
	if (f != NULL) {
		w = xcalloc(1, sizeof *w);
		w->oj = oj;
		w->job = kb_job_hold(oj->job);
		w->next = f->waiters;
		f->waiters = w;
		return;
	}
	f = xcalloc(1, sizeof *f);
	f->ctx = oj->ctx;
	f->code = xstrdup(oj->lines[oj->next].r_article);
	f->next = oj->ctx->flights;
	oj->ctx->flights = f;
	oj->lead = f;
	orders_count(oj, "article_reads", 1);
	doc = tf_build_read_article(oj->ctx->office, oj->lines[oj->next].r_article);
	orders_tf_process(oj, doc, articles_read_cb);
	xmlFreeDoc(doc);
}

static void
articles_get_cb(struct kb_job *job, redisReply *reply, void *arg)
{
	struct orders_job	*oj = kb_job_data(job);
	struct orders_line	*l;
	redisReply		*e;
	const char		*m, *slash;
	size_t			 i;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != oj->nlines) {
		kb_job_fail(job, KB_FAIL_TRANSIENT, NULL, NULL, 0, "Redis did not answer");
		return;
	}
	for (i = 0; i < oj->nlines; i++) {
		l = &oj->lines[i];
		e = reply->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
			continue;
		m = e->element[0]->type == REDIS_REPLY_STRING ? e->element[0]->str : "";
		if (*m != '\0' && (slash = strchr(m, '/')) != NULL) {
			/* A variant SKU: article and sub-article from the SKU cache. */
			l->r_article = xstrndup(m, (size_t)(slash - m));
			if (slash[1] != '\0')
				l->r_sub = xstrdup(slash + 1);
		} else {
			if (!articles_digits(l->article)) {
				kb_job_fail(job, KB_FAIL_PERMANENT, NULL, oj_keep(oj,
				    xasprintf("invoice.lines[%zu].article", i)), 0,
				    "SKU '%s' is not numeric: Twinfield article codes are digits "
				    "only (transform it in the mapping, e.g. with digits_only or a "
				    "table)", l->article);
				return;
			}
			l->r_article = xstrdup(l->article);
		}
		if (e->element[1]->type == REDIS_REPLY_STRING &&
		    strcmp(e->element[1]->str, "-") != 0) {
			if (articles_resolve(oj, i, e->element[1]->str) == -1)
				return;
		}
	}
	oj->next = 0;
	articles_next(oj);
}

void
orders_articles(struct orders_job *oj)
{
	struct json_object	*lines, *line;
	const char		**args;
	const char		*s;
	size_t			 i, n;

	kb_job_step(oj->job, "articles");
	lines = oj_obj(oj->invoice, "lines");
	if (oj->ctx->book_as == ORDERS_TRANSACTION || lines == NULL ||
	    !json_object_is_type(lines, json_type_array) || json_object_array_length(lines) == 0) {
		articles_done(oj);
		return;
	}
	n = json_object_array_length(lines);
	oj->lines = xcalloc(n, sizeof *oj->lines);
	oj->nlines = n;
	args = xcalloc(n + 2, sizeof *args);
	args[0] = oj->ctx->k_sku;
	args[1] = oj->ctx->k_article;
	for (i = 0; i < n; i++) {
		line = json_object_array_get_idx(lines, i);
		s = oj_str(oj, line, "article");
		oj->lines[i].article = xstrdup(s != NULL ? s : "");
		if ((s = oj_str(oj, line, "subarticle")) != NULL)
			oj->lines[i].subarticle = xstrdup(s);
		args[i + 2] = oj->lines[i].article;
	}
	orders_eval(oj, articles_get_script, articles_get_cb, NULL, 2, (int)n + 2, args);
	free(args);
}
