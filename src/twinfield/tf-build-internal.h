/*
 * Helpers shared by the tf-build-*.c document builders. Text always goes in
 * through xmlNewTextChild(), which escapes; nothing here splices strings.
 */
#ifndef KASSABOEK_TF_BUILD_INTERNAL_H
#define KASSABOEK_TF_BUILD_INTERNAL_H

#include <libxml/tree.h>

#include "kassaboek/tf-doc.h"

/* Adds <name>value</name> to parent when value is not NULL; returns it or NULL. */
xmlNode	*tf_build_text(xmlNode *parent, const char *name, const char *value);
/* Adds <name>value</name> even when value is NULL (empty element). */
xmlNode	*tf_build_elem(xmlNode *parent, const char *name, const char *value);
void	 tf_build_bool(xmlNode *parent, const char *name, enum tf_bool b);
void	 tf_build_bool_attr(xmlNode *node, const char *name, enum tf_bool b);
void	 tf_build_amount(xmlNode *parent, const char *name, struct tf_amount a);
void	 tf_build_attr(xmlNode *node, const char *name, const char *value);
/* A new unlinked element in doc. */
xmlNode	*tf_build_node(xmlDoc *doc, const char *name);
/* Makes node the root of doc (batch NULL) or appends it to batch. */
void	 tf_build_attach(xmlDoc *doc, xmlNode *batch, xmlNode *node);
/* 1 when s is NULL or empty. */
int	 tf_build_empty(const char *s);

#endif
