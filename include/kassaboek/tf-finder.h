/*
 * Customer (debtor) lookup by e-mail address through the Finder.
 *
 * Twinfield's Finder has no e-mail search field. For DIM/DEB its fields are
 * 0 code+name, 1 code, 2 name, 3 bank account, 4 "address fields"
 * (reference §4); whether field 4 covers an address's <email> is not
 * documented. So the lookup
 *   1. searches DIM, dimtype DEB, field 4 with the e-mail address as the
 *      pattern (1 credit; wildcards in it only widen the match);
 *   2. if that finds nothing and a name hint is given, searches field 2
 *      (name) with the name (1 credit);
 *   3. confirms every candidate by reading the dimension and comparing the
 *      e-mail of each of its addresses, case-insensitively (1 credit each,
 *      at most max_candidates per search).
 * Cost: a returning customer found by field 4 costs 2 credits (search +
 * one read); a new customer costs 1 (or 2 with a name hint that matches
 * nobody), plus 1 per name-alike that is not the customer. The caller should
 * cache the code per e-mail in Redis so a returning customer costs nothing.
 */
#ifndef KASSABOEK_TF_FINDER_H
#define KASSABOEK_TF_FINDER_H

#include "kassaboek/err.h"
#include "kassaboek/tf.h"

struct tf_customer_query {
	const char	*office;		/* NULL = the client's office */
	const char	*email;			/* required */
	const char	*name_hint;		/* optional second search by name */
	unsigned	 max_candidates;	/* reads per search; 0 = 5 */
};

/*
 * kind TF_OK with code NULL: no customer has that e-mail. code and msg are
 * borrowed for the call. credits is what the lookup spent.
 */
typedef void tf_customer_cb(enum tf_err_kind kind, const char *msg, const char *code,
    unsigned credits, void *arg);

/* Starts the lookup; returns 0 (cb runs later exactly once) or -1 with err. */
int	tf_finder_customer_by_email(struct tf_client *c, const struct tf_customer_query *q,
	    tf_customer_cb *cb, void *arg, struct kb_err *err);

/* 1 when a dimension document has an address whose email equals email (any case). */
int	tf_finder_dimension_has_email(xmlNode *dimension, const char *email);

#endif
