/*
 * The order flow (docs/orders.md), private to src/flows/. One job per
 * order.* event walks these steps, one round trip each:
 *
 *	map -> idempotency [-> check] -> customer -> articles -> book -> record
 *
 * orders-flow.c	the kb_flow, the job state and the step sequence
 * orders-idem.c	local idempotency record, watermarks, the Twinfield check
 * orders-customer.c	debtor by e-mail (cache, Finder, create/update)
 * orders-articles.c	SKU -> article (+ sub-article), create when allowed
 * orders-book.c	mapped JSON -> invoice / transaction, through the batcher
 * orders-json.c	small readers of the mapped JSON
 * batch.c		Twinfield write batcher shared by every job of a process
 */
#ifndef KASSABOEK_FLOWS_ORDERS_INTERNAL_H
#define KASSABOEK_FLOWS_ORDERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <hiredis/hiredis.h>
#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf.h"

struct aspos_client;
struct event_base;
struct kb_config;
struct kb_job;
struct kb_redis;
struct map;

/* ---- batch.c: ProcessXml writes collected per kind and office. */

struct batcher;

/* Builds one document into doc under the batch root; 0, or -1 with err (nothing added). */
typedef int batch_build_fn(xmlDoc *doc, xmlNode *root, void *arg, struct kb_err *err);
/*
 * One document's outcome: kind TF_OK, TF_ERR_BUSINESS (this document was
 * refused: msg says why) or the transport error of the whole request. res is
 * the document's result (NULL unless Twinfield answered); all borrowed for
 * the call.
 */
typedef void batch_done_cb(enum tf_err_kind kind, const char *msg, const struct tf_response *resp,
    const struct tf_doc_result *res, void *arg);

struct batcher	*batcher_new(struct event_base *base, struct tf_client *tf, unsigned size,
		    uint64_t window_ms);
/* Sends what is collected at once (a stopping worker), then frees: callbacks still run. */
void		 batcher_free(struct batcher *b);
void		 batcher_flush(struct batcher *b);
/*
 * Adds one document of kind single ("salesinvoice", "dimension", "article",
 * "transaction") for office. cb runs exactly once, on a later loop turn,
 * unless -1 is returned (then err says why and nothing was added).
 */
int		 batcher_add(struct batcher *b, const char *single, const char *office,
		    batch_build_fn *build, void *barg, batch_done_cb *cb, void *arg,
		    struct kb_err *err);

/* ---- orders-flow.c: the per-process context and the job. */

enum orders_book_as {
	ORDERS_INVOICE,
	ORDERS_CONCEPT,
	ORDERS_TRANSACTION,
};

enum orders_action {
	ORDERS_SKIP,		/* nothing to book */
	ORDERS_BOOK,		/* a new document */
	ORDERS_UPDATE,		/* the concept already booked, updated */
	ORDERS_CREDIT,		/* a credit document for a booked order */
};

struct orders_flight;

struct orders_ctx {
	struct event_base	*base;
	struct orders_flight	*flights;	/* article reads in flight (orders-articles.c) */
	const struct kb_config	*cfg;
	struct kb_redis		*redis;
	struct tf_client	*tf;
	struct map		*map;
	struct batcher		*batch;
	struct aspos_client	*aspos;		/* orders.write_back only */
	enum orders_book_as	 book_as;
	const char		*office;
	const char		*credit_type;	/* invoice type of credit invoices */
	/* Redis keys (docs/orders.md, "Keys"). */
	char			*k_booked;	/* hash order key -> "kind number status" */
	char			*k_pending;	/* hash order key -> watermark at send time */
	char			*k_wm;		/* hash "office/series" -> highest number seen */
	char			*k_docs;	/* prefix of hash "office/series": number -> trace text */
	char			*k_debtor;	/* hash e-mail -> debtor code */
	char			*k_debtorsum;	/* hash e-mail -> digest of the debtor last written */
	char			*k_article;	/* hash code -> "" or "S,M,L" (its sub-articles) */
	char			*k_sku;		/* hash SKU -> "article/subarticle" */
	char			*k_vat;		/* hash VAT code -> rate (percent) */
	char			*k_stats;	/* hash of counters */
	char			*k_written;	/* hash order key -> number written back to AsPos */
};

struct orders_line {
	char	*article;	/* as mapped (the SKU) */
	char	*subarticle;	/* as mapped, or resolved */
	char	*r_article;	/* resolved article code */
	char	*r_sub;		/* resolved sub-article or NULL */
	int	 resolved;
};

struct orders_job {
	struct orders_ctx	*ctx;
	struct kb_job		*job;
	struct json_object	*mapped;	/* owned */
	struct json_object	*ref;		/* borrowed from mapped */
	struct json_object	*invoice;	/* borrowed, may be NULL */
	struct json_object	*debtor;	/* borrowed, may be NULL */
	struct json_object	*txn;		/* borrowed, may be NULL */
	enum orders_action	 action;
	int			 credit;	/* cancelled / credited */
	char			*okey;		/* idempotency key of the document */
	char			*series;	/* "office/FACTUUR" or "office/VRK" */
	char			*trace;		/* text that identifies our document in Twinfield */
	char			*email;
	char			*debtor_code;	/* owned */
	char			*debtor_sum;
	int			 debtor_write;	/* 0 none, 1 create, 2 update */
	char			**cand;		/* debtors found by name */
	size_t			 ncand, cand_next;
	char			*booked_number;	/* of the main document (update / credit) */
	char			*booked_status;
	int			 written;	/* the status write-back was done */
	long long		 wm;		/* watermark read at arm time; -1 unknown */
	/* articles */
	struct orders_line	*lines;
	size_t			 nlines;
	size_t			 next;		/* next line to resolve */
	struct orders_flight	*lead;		/* the article read this job does for others */
	/* check (scan) */
	long long		 scan_n;
	unsigned		 scan_reads;
	/* the result */
	char			*number;	/* booked document number */
	/* strings the builders borrow */
	char			**strs;
	size_t			 nstrs;
};

/* Steps (each ends the job or calls the next). */
void	orders_idem_begin(struct orders_job *oj);
void	orders_idem_arm(struct orders_job *oj);
void	orders_idem_record(struct orders_job *oj, const char *number, const char *status);
void	orders_idem_disarm(struct orders_job *oj);
void	orders_idem_check(struct orders_job *oj);
void	orders_customer(struct orders_job *oj);
/* The job ends while others wait for its article read: they go on alone. */
void	orders_articles_abandon(struct orders_job *oj);
void	orders_articles(struct orders_job *oj);
void	orders_book(struct orders_job *oj);
/* Sets the document's series and trace text (after mapping). */
void	orders_book_prepare(struct orders_job *oj);
/* What comes after the idempotency step. */
void	orders_after_idem(struct orders_job *oj);
void	orders_finish(struct orders_job *oj);
/* Step "write_back": the order status in AsPos, when orders.write_back is on. */
void	orders_write_back(struct orders_job *oj, const char *number);

/* A Twinfield read for a job; the job is held while it runs. */
typedef void orders_tf_cb(struct orders_job *oj, const struct tf_response *resp);
void	orders_tf_process(struct orders_job *oj, xmlDoc *doc, orders_tf_cb *cb);
void	orders_tf_search(struct orders_job *oj, const struct tf_search *s, orders_tf_cb *cb);
/* Fails the job with Twinfield's error kind (transient or permanent). */
void	orders_fail_tf(struct orders_job *oj, enum tf_err_kind kind, const char *field,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	orders_count(struct orders_job *oj, const char *counter, long long n);
/* kb_job_eval with nargs strings (keys included), lengths computed here. */
void	orders_eval(struct orders_job *oj, const char *script, void (*cb)(struct kb_job *,
	    redisReply *, void *), void *arg, int nkeys, int nargs, const char **args);

/* ---- orders-json.c */

/* Text of a string, number or boolean member (a copy kept by oj), or NULL when empty. */
const char	*oj_str(struct orders_job *oj, struct json_object *o, const char *key);
const char	*oj_keep(struct orders_job *oj, char *s);	/* takes s */
struct json_object *oj_obj(struct json_object *o, const char *key);
/* Amount in cents of a number or numeric string member; 0 with *set = 0 if absent. */
int		 oj_amount(struct json_object *o, const char *key, int64_t *cents);
int		 oj_bool(struct json_object *o, const char *key, int def);
/* A short digest (hex) of a JSON value: detects a changed debtor. Caller frees. */
char		*oj_digest(struct json_object *o);

#endif
