/*
 * Article documents with their sub-articles (reference §5.6): a header with
 * the article's settings and one line per sub-article (its subcode is what
 * invoice lines reference as <subarticle>).
 */
#include "config.h"

#include <libxml/tree.h>

#include "kassaboek/err.h"
#include "kassaboek/tf-doc.h"
#include "tf-build-internal.h"

xmlNode *
tf_build_article(xmlDoc *doc, xmlNode *batch, const struct tf_article *a, struct kb_err *err)
{
	const struct tf_subarticle	*s;
	xmlNode				*art, *hdr, *lines, *line;
	size_t				 i;

	if (tf_build_empty(a->office) || tf_build_empty(a->code) || tf_build_empty(a->name)) {
		kb_err_set(err, "article %s: office, code and name are required",
		    a->code != NULL ? a->code : "(none)");
		return (NULL);
	}
	for (i = 0; i < a->nlines; i++) {
		if (tf_build_empty(a->lines[i].subcode) && a->nlines > 1) {
			kb_err_set(err, "article %s: sub-article %zu has no subcode", a->code, i + 1);
			return (NULL);
		}
	}
	art = tf_build_node(doc, "article");
	hdr = tf_build_elem(art, "header", NULL);
	tf_build_attr(hdr, "status", a->status);
	tf_build_elem(hdr, "office", a->office);
	tf_build_elem(hdr, "code", a->code);
	tf_build_elem(hdr, "type", a->type != NULL ? a->type : "normal");
	tf_build_elem(hdr, "name", a->name);
	tf_build_text(hdr, "shortname", a->shortname);
	tf_build_text(hdr, "unitnamesingular", a->unitnamesingular);
	tf_build_text(hdr, "unitnameplural", a->unitnameplural);
	tf_build_text(hdr, "vatcode", a->vatcode);
	tf_build_bool(hdr, "allowchangevatcode", a->allowchangevatcode);
	tf_build_text(hdr, "performancetype", a->performancetype);
	tf_build_bool(hdr, "percentage", a->percentage);
	tf_build_bool(hdr, "allowdiscountorpremium", a->allowdiscountorpremium);
	tf_build_bool(hdr, "allowchangeunitsprice", a->allowchangeunitsprice);
	tf_build_bool(hdr, "allowdecimalquantity", a->allowdecimalquantity);
	if (a->nlines > 0) {
		lines = tf_build_elem(art, "lines", NULL);
		for (i = 0, s = a->lines; i < a->nlines; i++, s++) {
			line = tf_build_elem(lines, "line", NULL);
			tf_build_attr(line, "status", s->status);
			tf_build_text(line, "subcode", s->subcode);
			tf_build_text(line, "name", s->name);
			tf_build_text(line, "shortname", s->shortname);
			tf_build_text(line, "units", s->units);
			tf_build_amount(line, "unitspriceexcl", s->unitspriceexcl);
			tf_build_amount(line, "unitspriceinc", s->unitspriceinc);
			tf_build_text(line, "freetext1", s->freetext1);
			tf_build_text(line, "freetext2", s->freetext2);
			tf_build_text(line, "freetext3", s->freetext3);
		}
	}
	tf_build_attach(doc, batch, art);
	return (art);
}
