/*
 * Finder SearchResponse (reference §4): SearchResult holds error messages
 * (MessageOfErrorCodes: Type, Text, Code), data holds TotalRows, the
 * (localised) column headers and the rows as ArrayOfString.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

#define SEARCH_MAX_ROWS	1000
#define SEARCH_MAX_COLS	64
#define SEARCH_MAX_MSGS	32

/* The text of every <string> child of parent, at most max. */
static char **
search_strings(xmlNode *parent, size_t max, size_t *np)
{
	xmlNode	*n;
	xmlChar	*c;
	char	**v = NULL;
	size_t	 k = 0;

	for (n = parent != NULL ? parent->children : NULL; n != NULL && k < max; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "string") != 0)
			continue;
		c = xmlNodeGetContent(n);
		v = xreallocarray(v, k + 1, sizeof *v);
		v[k++] = xstrdup(c != NULL ? (const char *)c : "");
		xmlFree(c);
	}
	*np = k;
	return (v);
}

struct tf_finder_result *
tf_finder_result_parse(xmlNode *resp, struct kb_err *err)
{
	struct tf_finder_result	*r;
	struct tf_finder_msg	*m;
	xmlNode			*res, *data, *items, *n;
	char			*s, *end;

	r = xcalloc(1, sizeof *r);
	if ((res = tf_xml_child(resp, "SearchResult")) != NULL) {
		for (n = res->children; n != NULL; n = n->next) {
			if (n->type != XML_ELEMENT_NODE || r->nmsgs >= SEARCH_MAX_MSGS)
				continue;
			r->msgs = xreallocarray(r->msgs, r->nmsgs + 1, sizeof *r->msgs);
			m = &r->msgs[r->nmsgs++];
			m->type = tf_xml_child_text(n, "Type");
			m->code = tf_xml_child_text(n, "Code");
			m->text = tf_xml_child_text(n, "Text");
		}
	}
	if ((data = tf_xml_child(resp, "data")) == NULL) {
		if (r->nmsgs == 0) {
			kb_err_set(err, "SearchResponse has neither data nor messages");
			tf_finder_result_free(r);
			return (NULL);
		}
		return (r);
	}
	if ((s = tf_xml_child_text(data, "TotalRows")) != NULL) {
		errno = 0;
		r->total_rows = strtol(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0' || r->total_rows < 0) {
			kb_err_set(err, "SearchResponse: bad TotalRows '%.32s'", s);
			free(s);
			tf_finder_result_free(r);
			return (NULL);
		}
		free(s);
	}
	r->columns = search_strings(tf_xml_child(data, "Columns"), SEARCH_MAX_COLS, &r->ncolumns);
	if ((items = tf_xml_child(data, "Items")) != NULL) {
		for (n = items->children; n != NULL && r->nrows < SEARCH_MAX_ROWS; n = n->next) {
			if (n->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)n->name, "ArrayOfString") != 0)
				continue;
			r->rows = xreallocarray(r->rows, r->nrows + 1, sizeof *r->rows);
			r->row_len = xreallocarray(r->row_len, r->nrows + 1, sizeof *r->row_len);
			r->rows[r->nrows] = search_strings(n, SEARCH_MAX_COLS, &r->row_len[r->nrows]);
			r->nrows++;
		}
	}
	return (r);
}

void
tf_finder_result_free(struct tf_finder_result *r)
{
	size_t	i, j;

	if (r == NULL)
		return;
	for (i = 0; i < r->ncolumns; i++)
		free(r->columns[i]);
	free(r->columns);
	for (i = 0; i < r->nrows; i++) {
		for (j = 0; j < r->row_len[i]; j++)
			free(r->rows[i][j]);
		free(r->rows[i]);
	}
	free(r->rows);
	free(r->row_len);
	for (i = 0; i < r->nmsgs; i++) {
		free(r->msgs[i].type);
		free(r->msgs[i].code);
		free(r->msgs[i].text);
	}
	free(r->msgs);
	free(r);
}
