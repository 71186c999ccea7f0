/*
 * Builders of the ProcessXml documents (reference §5) from plain C structs.
 * Every builder goes through the libxml2 tree API, so text is escaped by
 * libxml2 and never by hand.
 *
 * Conventions of the structs: a NULL string is an element left out (Twinfield
 * then keeps or defaults the value); a tf_bool of TF_UNSET is left out;
 * amounts are integer cents written with two decimals. All pointers are
 * borrowed: the builder copies what it needs into the document.
 *
 * A builder takes the document and an optional batch root: with batch NULL
 * the new element becomes the document's root, else it is appended to batch
 * (made by tf_build_batch_root()). It returns the new element, or NULL with
 * err set (and nothing added) when a required field is missing or the
 * document would be refused (e.g. an unbalanced transaction).
 */
#ifndef KASSABOEK_TF_DOC_H
#define KASSABOEK_TF_DOC_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "kassaboek/err.h"

enum tf_bool {
	TF_UNSET = 0,
	TF_FALSE,
	TF_TRUE,
};

struct tf_amount {
	int	set;
	int64_t	cents;
};

#define TF_AMOUNT(c)	((struct tf_amount){ 1, (c) })

/* Writes "-12.34" style text into buf (at least 32 bytes). */
void	tf_amount_format(int64_t cents, char *buf, size_t size);

/* A new empty document to build into; free with xmlFreeDoc(). */
xmlDoc	*tf_build_doc_new(void);
/*
 * Makes the batch wrapper for single-document root name `single`
 * ("dimension" -> "dimensions", "salesinvoice", "transaction", "article")
 * the root of doc. NULL if that kind has no batch form.
 */
xmlNode	*tf_build_batch_root(xmlDoc *doc, const char *single);
/* Number of element children of a batch root. */
size_t	tf_build_batch_count(xmlNode *batch);

/* ---- dimensions: DEB customers, KPL cost centres, PRJ projects (§5.2-5.5) */

struct tf_address {
	const char	*type;		/* invoice (default), postal, contact */
	int		 is_default;
	const char	*name;
	const char	*contact;	/* contact person of a company debtor */
	const char	*country;	/* ISO code */
	const char	*city;
	const char	*postcode;
	const char	*telephone;
	const char	*telefax;
	const char	*email;
	const char	*field[6];	/* field1..field6 (2 = street + number, 4 = VAT no.) */
};

struct tf_bank {
	int		 is_default;
	const char	*ascription;
	const char	*accountnumber;
	const char	*iban;
	const char	*biccode;
	const char	*bankname;
	const char	*country;
	const char	*city;
};

struct tf_financials {
	int		 has_duedays;
	int		 duedays;
	enum tf_bool	 payavailable;
	const char	*meansofpayment;	/* none, paymentfile */
	const char	*paycode;
	const char	*vatcode;
	enum tf_bool	 ebilling;
	const char	*ebillmail;
	const char	*substitutewith;	/* receivables GL, e.g. 1300 */
};

struct tf_project {
	const char	*invoicedescription;
	const char	*validfrom;		/* yyyymmdd */
	const char	*validtill;
	const char	*authoriser;
	const char	*customer;
	enum tf_bool	 billable;
	const char	*rate;
};

struct tf_dimension {
	const char		*office;	/* required */
	const char		*type;		/* required: DEB, KPL, PRJ (or CRD...) */
	const char		*code;		/* NULL: Twinfield assigns one (DEB) */
	const char		*name;		/* required */
	const char		*shortname;
	const char		*website;
	const char		*status;	/* active, hide, deleted */
	struct tf_financials	 financials;
	const char		*sendreminder;	/* creditmanagement: true/false/email */
	const char		*reminderemail;
	const struct tf_address	*addresses;
	size_t			 naddresses;
	const struct tf_bank	*banks;
	size_t			 nbanks;
	const struct tf_project	*project;	/* PRJ only */
};

xmlNode	*tf_build_dimension(xmlDoc *doc, xmlNode *batch, const struct tf_dimension *d,
	    struct kb_err *err);

/* ---- articles with sub-articles (§5.6) */

struct tf_subarticle {
	const char		*subcode;
	const char		*status;
	const char		*name;
	const char		*shortname;
	const char		*units;
	struct tf_amount	 unitspriceexcl;
	struct tf_amount	 unitspriceinc;
	const char		*freetext1;	/* revenue GL account */
	const char		*freetext2;	/* cost centre */
	const char		*freetext3;
};

struct tf_article {
	const char			*office;	/* required */
	const char			*code;		/* required */
	const char			*status;
	const char			*type;		/* normal (default), discount, premium */
	const char			*name;		/* required */
	const char			*shortname;
	const char			*unitnamesingular;
	const char			*unitnameplural;
	const char			*vatcode;
	const char			*performancetype;
	enum tf_bool			 allowchangevatcode;
	enum tf_bool			 percentage;
	enum tf_bool			 allowdiscountorpremium;
	enum tf_bool			 allowchangeunitsprice;
	enum tf_bool			 allowdecimalquantity;
	const struct tf_subarticle	*lines;
	size_t				 nlines;
};

xmlNode	*tf_build_article(xmlDoc *doc, xmlNode *batch, const struct tf_article *a,
	    struct kb_err *err);

/* ---- sales invoices (§5.7) */

struct tf_invoice_line {
	const char		*quantity;	/* decimal text, e.g. "2" */
	const char		*units;
	const char		*article;	/* required */
	const char		*subarticle;
	const char		*description;
	struct tf_amount	 unitspriceexcl;
	struct tf_amount	 unitspriceinc;
	const char		*vatcode;
	const char		*dim1;		/* revenue GL override */
	const char		*dim2;		/* cost centre (KPL) */
	const char		*dim3;		/* project / cost unit (PRJ) */
	const char		*freetext1;
	const char		*freetext2;
	const char		*freetext3;
	const char		*performancetype;
	const char		*performancedate;
};

struct tf_invoice {
	const char			*office;
	const char			*invoicetype;	/* required */
	const char			*customer;	/* required */
	const char			*invoicenumber;	/* only to update */
	const char			*status;	/* concept, final */
	const char			*currency;
	const char			*period;
	const char			*invoicedate;
	const char			*duedate;
	const char			*performancedate;
	const char			*paymentmethod;
	const char			*bank;
	const char			*invoiceaddressnumber;
	const char			*deliveraddressnumber;
	const char			*headertext;
	const char			*footertext;
	enum tf_bool			 raisewarning;
	const struct tf_invoice_line	*lines;		/* at least one */
	size_t				 nlines;
};

xmlNode	*tf_build_invoice(xmlDoc *doc, xmlNode *batch, const struct tf_invoice *inv,
	    struct kb_err *err);

/* ---- transactions, e.g. the sales daybook (§5.8) */

enum tf_line_type {
	TF_LINE_TOTAL,
	TF_LINE_DETAIL,
	TF_LINE_VAT,
};

struct tf_txn_line {
	enum tf_line_type	 type;
	const char		*dim1;
	const char		*dim2;
	const char		*dim3;
	int			 credit;	/* 0 debit, 1 credit */
	int64_t			 value;		/* cents, >= 0 */
	const char		*description;
	const char		*vatcode;	/* detail / vat lines */
	struct tf_amount	 vatvalue;	/* detail */
	struct tf_amount	 vattotal;	/* total */
	struct tf_amount	 vatbasetotal;	/* total */
	struct tf_amount	 vatturnover;	/* vat */
	struct tf_amount	 vatbaseturnover;	/* vat */
	const char		*invoicenumber;
};

struct tf_transaction {
	const char			*office;	/* required */
	const char			*code;		/* required: daybook, e.g. VRK */
	const char			*destiny;	/* temporary, final */
	enum tf_bool			 raisewarning;
	enum tf_bool			 autobalancevat;
	const char			*currency;
	const char			*date;		/* yyyymmdd */
	const char			*period;
	const char			*number;	/* only to update a provisional one */
	const char			*invoicenumber;
	const char			*paymentreference;
	const char			*duedate;
	const char			*freetext[3];
	const struct tf_txn_line	*lines;
	size_t				 nlines;
};

/*
 * Refuses an unbalanced transaction (debit != credit) unless it has detail
 * lines with a VAT code and no VAT lines: Twinfield then computes the VAT
 * lines itself (reference §5.8), so the sums cannot match yet.
 */
xmlNode	*tf_build_transaction(xmlDoc *doc, xmlNode *batch, const struct tf_transaction *t,
	    struct kb_err *err);

/* ---- reads and lists (single-root documents; return a new doc) */

xmlDoc	*tf_build_read_dimension(const char *office, const char *dimtype, const char *code);
xmlDoc	*tf_build_read_article(const char *office, const char *code);
xmlDoc	*tf_build_read_vat(const char *office, const char *code);
xmlDoc	*tf_build_read_invoice(const char *office, const char *invoicetype,
	    const char *invoicenumber);
xmlDoc	*tf_build_read_transaction(const char *office, const char *code, const char *number);
xmlDoc	*tf_build_list_offices(void);
xmlDoc	*tf_build_list_dimensions(const char *office, const char *dimtype);

#endif
