/*
 * Customer lookup by e-mail (see kassaboek/tf-finder.h for the strategy and
 * its credit cost): Finder DIM/DEB field 4 ("address fields") with the
 * e-mail, else field 2 (name) with a name hint, each candidate confirmed by
 * reading the dimension, because the Finder does not document an e-mail
 * field and a wrong match would book an order on someone else's account.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "kassaboek/tf-doc.h"
#include "kassaboek/tf-finder.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

#define FINDER_FIELD_ADDRESS	4
#define FINDER_FIELD_NAME	2
#define FINDER_DEFAULT_MAX	5

struct finder_lookup {
	struct tf_client	*c;
	char			*office;
	char			*email;
	char			*name;
	unsigned		 max;
	tf_customer_cb		*cb;
	void			*arg;
	unsigned		 credits;
	int			 by_name;	/* the second (name) search is running */
	char			**cand;		/* candidate codes of the current search */
	size_t			 ncand;
	size_t			 next;		/* next candidate to read */
};

static void	finder_read_next(struct finder_lookup *l);

static void
finder_free(struct finder_lookup *l)
{
	size_t	i;

	for (i = 0; i < l->ncand; i++)
		free(l->cand[i]);
	free(l->cand);
	free(l->office);
	free(l->email);
	free(l->name);
	free(l);
}

static void
finder_done(struct finder_lookup *l, enum tf_err_kind kind, const char *msg, const char *code)
{
	l->cb(kind, msg, code, l->credits, l->arg);
	finder_free(l);
}

/* Compares ignoring case and surrounding blanks. */
static int
finder_email_eq(const char *a, const char *b)
{
	size_t	la, lb;

	while (isspace((unsigned char)*a))
		a++;
	while (isspace((unsigned char)*b))
		b++;
	la = strlen(a);
	lb = strlen(b);
	while (la > 0 && isspace((unsigned char)a[la - 1]))
		la--;
	while (lb > 0 && isspace((unsigned char)b[lb - 1]))
		lb--;
	return (la == lb && la > 0 && strncasecmp(a, b, la) == 0);
}

int
tf_finder_dimension_has_email(xmlNode *dim, const char *email)
{
	xmlNode	*addrs, *a;
	char	*e;
	int	 found = 0;

	if ((addrs = tf_xml_child(dim, "addresses")) == NULL)
		return (0);
	for (a = addrs->children; a != NULL && !found; a = a->next) {
		if (a->type != XML_ELEMENT_NODE || strcmp((const char *)a->name, "address") != 0)
			continue;
		if ((e = tf_xml_child_text(a, "email")) != NULL) {
			found = finder_email_eq(e, email);
			free(e);
		}
	}
	return (found);
}

static void
finder_read_done(const struct tf_response *resp, void *arg)
{
	struct finder_lookup	*l = arg;
	char			*code;

	l->credits += resp->credits;
	if (resp->kind == TF_OK && resp->ndocs == 1 &&
	    tf_finder_dimension_has_email(resp->docs[0].node, l->email)) {
		code = xstrdup(l->cand[l->next - 1]);
		finder_done(l, TF_OK, "", code);
		free(code);
		return;
	}
	/* A candidate that vanished or cannot be read is simply not the customer. */
	if (resp->kind != TF_OK && resp->kind != TF_ERR_BUSINESS) {
		finder_done(l, resp->kind, resp->message, NULL);
		return;
	}
	finder_read_next(l);
}

static void	finder_search(struct finder_lookup *l, int field, const char *pattern);

static void
finder_read_next(struct finder_lookup *l)
{
	struct kb_err	 err;
	xmlDoc		*doc;
	int		 rc;

	if (l->next >= l->ncand) {
		if (!l->by_name && l->name != NULL && *l->name != '\0') {
			l->by_name = 1;
			finder_search(l, FINDER_FIELD_NAME, l->name);
			return;
		}
		finder_done(l, TF_OK, "", NULL);
		return;
	}
	doc = tf_build_read_dimension(l->office, "DEB", l->cand[l->next++]);
	rc = tf_client_process(l->c, l->office, doc, finder_read_done, l, &err);
	xmlFreeDoc(doc);
	if (rc == -1)
		finder_done(l, TF_ERR_CANCELLED, err.msg, NULL);
}

static void
finder_search_done(const struct tf_response *resp, void *arg)
{
	struct finder_lookup	*l = arg;
	struct tf_finder_result	*f = resp->finder;
	size_t			 i;

	l->credits += resp->credits;
	if (resp->kind != TF_OK) {
		finder_done(l, resp->kind, resp->message, NULL);
		return;
	}
	for (i = 0; i < l->ncand; i++)
		free(l->cand[i]);
	l->ncand = l->next = 0;
	for (i = 0; f != NULL && i < f->nrows && l->ncand < l->max; i++) {
		/* Column 0 is the code; skip the pseudo entry equal to the type. */
		if (f->row_len[i] == 0 || *f->rows[i][0] == '\0' ||
		    strcmp(f->rows[i][0], "DEB") == 0)
			continue;
		l->cand = xreallocarray(l->cand, l->ncand + 1, sizeof *l->cand);
		l->cand[l->ncand++] = xstrdup(f->rows[i][0]);
	}
	finder_read_next(l);
}

static void
finder_search(struct finder_lookup *l, int field, const char *pattern)
{
	struct tf_search	 s;
	struct kb_err		 err;
	const char		*opts[4];

	opts[0] = "dimtype";
	opts[1] = "DEB";
	opts[2] = "office";
	opts[3] = l->office;
	memset(&s, 0, sizeof s);
	s.type = "DIM";
	s.pattern = pattern;
	s.field = field;
	s.first_row = 1;
	s.max_rows = (int)l->max;
	s.options = opts;
	s.noptions = 2;
	s.office = l->office;
	if (tf_client_search(l->c, &s, finder_search_done, l, &err) == -1)
		finder_done(l, TF_ERR_CANCELLED, err.msg, NULL);
}

int
tf_finder_customer_by_email(struct tf_client *c, const struct tf_customer_query *q,
    tf_customer_cb *cb, void *arg, struct kb_err *err)
{
	struct finder_lookup	*l;
	const char		*office;

	if (q->email == NULL || strchr(q->email, '@') == NULL)
		return (kb_err_set(err, "customer lookup: '%s' is not an e-mail address",
		    q->email != NULL ? q->email : ""));
	office = q->office != NULL ? q->office : tf_client_office(c);
	if (office == NULL || *office == '\0')
		return (kb_err_set(err, "customer lookup: no office to search in"));
	l = xcalloc(1, sizeof *l);
	l->c = c;
	l->office = xstrdup(office);
	l->email = xstrdup(q->email);
	l->name = q->name_hint != NULL ? xstrdup(q->name_hint) : NULL;
	l->max = q->max_candidates > 0 ? q->max_candidates : FINDER_DEFAULT_MAX;
	l->cb = cb;
	l->arg = arg;
	finder_search(l, FINDER_FIELD_ADDRESS, l->email);
	return (0);
}
