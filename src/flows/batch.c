/*
 * The write batcher: Twinfield charges 3 credits per ProcessXml write
 * whatever it holds, and a batch root (salesinvoices, dimensions, articles,
 * transactions) takes up to 25 documents. Every job of a worker process
 * hands its documents here; they are collected per kind and office for at
 * most `window` ms (or until `size` are waiting), sent as one request, and
 * each document's own result is routed back to its own callback, so one
 * refused invoice fails only its own job.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <libxml/tree.h>

#include "kassaboek/log.h"
#include "kassaboek/tf-doc.h"
#include "kassaboek/xmalloc.h"

#include "orders-internal.h"

/* Longest a batch is held back while the client waits for credits. */
#define BATCH_MAX_HOLD_MS	10000

struct batch_entry {
	batch_done_cb	*cb;
	void		*arg;
};

struct batch {
	struct batcher		*b;
	char			*single;
	char			*office;
	xmlDoc			*doc;
	xmlNode			*root;
	struct batch_entry	 entries[TF_BATCH_MAX];
	unsigned		 n;
	struct event		*timer;
	uint64_t		 waited_ms;
	/* a request refused before sending: its callbacks run from here */
	enum tf_err_kind	 fail_kind;
	char			*fail_msg;
	TAILQ_ENTRY(batch)	 entry;
};

TAILQ_HEAD(batch_list, batch);

struct batcher {
	struct event_base	*base;
	struct tf_client	*tf;
	unsigned		 size;
	uint64_t		 window_ms;
	struct batch_list	 open;
};

static void	batch_send(struct batch *bt);

static void
batch_free(struct batch *bt)
{
	if (bt->timer != NULL)
		event_free(bt->timer);
	if (bt->doc != NULL)
		xmlFreeDoc(bt->doc);
	free(bt->single);
	free(bt->office);
	free(bt->fail_msg);
	free(bt);
}

struct batcher *
batcher_new(struct event_base *base, struct tf_client *tf, unsigned size, uint64_t window_ms)
{
	struct batcher	*b;

	b = xcalloc(1, sizeof *b);
	b->base = base;
	b->tf = tf;
	b->size = size == 0 || size > TF_BATCH_MAX ? TF_BATCH_MAX : size;
	b->window_ms = window_ms;
	TAILQ_INIT(&b->open);
	return (b);
}

void
batcher_flush(struct batcher *b)
{
	struct batch	*bt;

	while ((bt = TAILQ_FIRST(&b->open)) != NULL)
		batch_send(bt);
}

void
batcher_free(struct batcher *b)
{
	if (b == NULL)
		return;
	batcher_flush(b);
	free(b);
}

/* Routes the request's answer to every document's callback, in order. */
static void
batch_done(const struct tf_response *resp, void *arg)
{
	struct batch			*bt = arg;
	const struct tf_doc_result	*res;
	enum tf_err_kind		 kind;
	const char			*msg;
	unsigned			 i;

	for (i = 0; i < bt->n; i++) {
		res = NULL;
		kind = resp->kind;
		msg = resp->message;
		if (resp->ndocs == bt->n) {
			res = &resp->docs[i];
			if (res->ok)
				kind = TF_OK;
			else {
				kind = TF_ERR_BUSINESS;
				msg = res->summary != NULL ? res->summary : "refused by Twinfield";
			}
		} else if (resp->kind == TF_OK || resp->kind == TF_ERR_BUSINESS) {
			/* The batch root itself was refused: every document fails alike. */
			kind = TF_ERR_BUSINESS;
			if (resp->ndocs > 0 && resp->docs[0].summary != NULL)
				msg = resp->docs[0].summary;
			else if (*msg == '\0')
				msg = "Twinfield refused the batch";
		}
		bt->entries[i].cb(kind, msg, resp, res, bt->entries[i].arg);
	}
	batch_free(bt);
}

static void
batch_refused_cb(evutil_socket_t fd, short what, void *arg)
{
	struct batch	*bt = arg;
	unsigned	 i;

	for (i = 0; i < bt->n; i++)
		bt->entries[i].cb(bt->fail_kind, bt->fail_msg, NULL, NULL, bt->entries[i].arg);
	batch_free(bt);
}

static void
batch_send(struct batch *bt)
{
	struct batcher	*b = bt->b;
	struct kb_err	 err;
	struct timeval	 tv = { 0, 0 };

	TAILQ_REMOVE(&b->open, bt, entry);
	if (bt->timer != NULL) {
		event_free(bt->timer);
		bt->timer = NULL;
	}
	if (tf_client_process(b->tf, bt->office, bt->doc, batch_done, bt, &err) == 0) {
		/* The client serialised the document: it is no longer needed. */
		xmlFreeDoc(bt->doc);
		bt->doc = NULL;
		return;
	}
	/* Refused up front (client stopping): fail every document on the next turn. */
	bt->fail_kind = TF_ERR_CANCELLED;
	bt->fail_msg = xstrdup(err.msg);
	event_base_once(b->base, -1, EV_TIMEOUT, batch_refused_cb, bt, &tv);
}

/*
 * The window is over. If the client still has requests waiting for the
 * credit budget, sending now would only queue a small batch behind them:
 * keep filling it instead (bounded), so that under a budget every write
 * carries as many documents as possible.
 */
static void
batch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct batch	*bt = arg;
	struct batcher	*b = bt->b;
	struct tf_stats	 st;
	struct timeval	 tv;
	uint64_t	 step = b->window_ms > 0 ? b->window_ms : 10;

	tf_client_stats(b->tf, &st);
	bt->waited_ms += step;
	if (st.queued > 0 && bt->waited_ms < BATCH_MAX_HOLD_MS) {
		tv.tv_sec = (time_t)(step / 1000);
		tv.tv_usec = (suseconds_t)(step % 1000) * 1000;
		evtimer_add(bt->timer, &tv);
		return;
	}
	batch_send(bt);
}

int
batcher_add(struct batcher *b, const char *single, const char *office, batch_build_fn *build,
    void *barg, batch_done_cb *cb, void *arg, struct kb_err *err)
{
	struct batch	*bt;
	struct timeval	 tv;

	TAILQ_FOREACH(bt, &b->open, entry)
		if (strcmp(bt->single, single) == 0 && strcmp(bt->office, office) == 0)
			break;
	if (bt == NULL) {
		bt = xcalloc(1, sizeof *bt);
		bt->b = b;
		bt->single = xstrdup(single);
		bt->office = xstrdup(office);
		bt->doc = tf_build_doc_new();
		if ((bt->root = tf_build_batch_root(bt->doc, single)) == NULL) {
			batch_free(bt);
			return (kb_err_set(err, "%s documents cannot be batched", single));
		}
		TAILQ_INSERT_TAIL(&b->open, bt, entry);
	}
	if (build(bt->doc, bt->root, barg, err) == -1) {
		if (bt->n == 0) {
			TAILQ_REMOVE(&b->open, bt, entry);
			batch_free(bt);
		}
		return (-1);
	}
	bt->entries[bt->n].cb = cb;
	bt->entries[bt->n].arg = arg;
	bt->n++;
	if (bt->n >= b->size)
		batch_send(bt);
	else if (bt->n == 1) {
		bt->timer = evtimer_new(b->base, batch_timer_cb, bt);
		tv.tv_sec = (time_t)(b->window_ms / 1000);
		tv.tv_usec = (suseconds_t)(b->window_ms % 1000) * 1000;
		evtimer_add(bt->timer, &tv);
	}
	return (0);
}
