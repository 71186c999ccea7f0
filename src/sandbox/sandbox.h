/*
 * kassaboek-sandbox: a protocol-faithful simulator of the Twinfield web
 * services (OAuth2 token + validation, ProcessXmlString, Finder Search) with
 * credit / concurrency limits, fault injection and a JSON inspection API.
 * This header is private to src/sandbox/; every function is prefixed sb_.
 *
 * Ownership: xmlNodePtr arguments are borrowed unless a comment says the
 * function takes them; functions named _new / _dump / _build return memory
 * the caller frees (xmlFreeDoc, free, json_object_put as the type says).
 */
#ifndef KASSABOEK_SANDBOX_H
#define KASSABOEK_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <json-c/json.h>
#include <libxml/tree.h>

#include "kassaboek/err.h"

struct event;
struct event_base;
struct evbuffer;
struct evhttp;
struct evhttp_request;
struct evkeyvalq;

#define SB_NS_TWINFIELD	"http://www.twinfield.com/"
#define SB_NS_SOAP11	"http://schemas.xmlsoap.org/soap/envelope/"
#define SB_NS_SOAP12	"http://www.w3.org/2003/05/soap-envelope"
#define SB_NS_XSI	"http://www.w3.org/2001/XMLSchema-instance"

/* ---- sandbox-map.c: string-keyed hash map (chained, grows, keys copied) */

typedef void	(*sb_map_free_fn)(void *);
struct sb_map;
struct sb_map_iter {
	struct sb_map	*map;
	size_t		 bucket;
	void		*entry;
};

/* vfree (may be NULL) frees values on replace, delete and sb_map_free. */
struct sb_map	*sb_map_new(sb_map_free_fn vfree);
void		 sb_map_free(struct sb_map *);
void		*sb_map_get(const struct sb_map *, const char *key);
/* Inserts or replaces (freeing the old value); takes ownership of val. */
void		 sb_map_put(struct sb_map *, const char *key, void *val);
/* Returns 0 if removed (value freed), -1 if absent. */
int		 sb_map_del(struct sb_map *, const char *key);
size_t		 sb_map_count(const struct sb_map *);
void		 sb_map_clear(struct sb_map *);
/* Iteration order is unspecified; do not modify the map while iterating. */
void		 sb_map_iter_init(struct sb_map_iter *, struct sb_map *);
int		 sb_map_next(struct sb_map_iter *, const char **key, void **val);

/* ---- sandbox-xml.c: libxml2 helpers; never hand-written escaping */

/*
 * Parses untrusted XML: no network, no entity substitution, no DTD at all
 * (a document with <!DOCTYPE is refused before parsing), errors silenced.
 * Returns a document to xmlFreeDoc, or NULL with *cause set (static string
 * or libxml2's message copied into causebuf).
 */
xmlDocPtr	 sb_x_parse(const char *buf, size_t len, char *causebuf, size_t causelen);
/* Merges text/CDATA of leaf elements into one text node; drops comments, PIs and blank text between elements. */
void		 sb_x_normalise(xmlNodePtr root);
xmlNodePtr	 sb_x_first(xmlNodePtr parent);
xmlNodePtr	 sb_x_next(xmlNodePtr el);
xmlNodePtr	 sb_x_child(xmlNodePtr parent, const char *name);
xmlNodePtr	 sb_x_child_ns(xmlNodePtr parent, const char *name, const char *ns);
size_t		 sb_x_count(xmlNodePtr parent, const char *name);
int		 sb_x_is(xmlNodePtr el, const char *name);
/* Text of a (normalised) leaf element; "" when el is NULL or has no text. Borrowed. */
const char	*sb_x_text(xmlNodePtr el);
const char	*sb_x_ctext(xmlNodePtr parent, const char *name);
/* Value of attribute name, or NULL. Borrowed. */
const char	*sb_x_prop(xmlNodePtr el, const char *name);
void		 sb_x_set_prop(xmlNodePtr el, const char *name, const char *value);
void		 sb_x_set_text(xmlNodePtr el, const char *text);
xmlNodePtr	 sb_x_add(xmlNodePtr parent, const char *name, const char *text);
/* Finds child name, or inserts an empty one as the first child. */
xmlNodePtr	 sb_x_ensure_first(xmlNodePtr parent, const char *name);
/* Finds child name or appends an empty one. */
xmlNodePtr	 sb_x_ensure(xmlNodePtr parent, const char *name);
/* Finds-or-appends child name and sets its text. */
xmlNodePtr	 sb_x_set(xmlNodePtr parent, const char *name, const char *text);
/* Removes every child element named name. */
void		 sb_x_remove(xmlNodePtr parent, const char *name);
/* Sets name / shortname attributes (a code reference enriched as in §1 of the reference). */
void		 sb_x_ref(xmlNodePtr el, const char *name, const char *shortname);
/* Serialises el without declaration or formatting; caller frees. */
char		*sb_x_dump(xmlNodePtr el);
/* A new document whose root is a deep copy of el. */
xmlDocPtr	 sb_x_doc_of(xmlNodePtr el);

/*
 * Business errors (§6.1): sets msgtype="error", msg (appended with "//" when
 * one is there) and result="0" on el, and result="0" on every ancestor
 * element (the containers on the path to the problem).
 */
void		 sb_err(xmlNodePtr el, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Same on child name of parent, appending an empty child if absent; returns it. */
xmlNodePtr	 sb_err_at(xmlNodePtr parent, const char *name, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* True if el carries result="0". */
int		 sb_x_failed(xmlNodePtr el);
/* Appends every msg="…" below el (depth first) to buf, joined with "; ". */
void		 sb_x_collect_msgs(xmlNodePtr el, char *buf, size_t len);

/* Values of the payload formats (§ conventions table). */
int		 sb_money_parse(const char *s, int64_t *cents);
void		 sb_money_fmt(int64_t cents, char *buf, size_t len);
int		 sb_decimal_parse(const char *s, double *out);
int		 sb_int_parse(const char *s, long long min, long long max, long long *out);
/* yyyymmdd <-> days since 1970-01-01. */
int		 sb_date_parse(const char *s, long *days);
void		 sb_date_fmt(long days, char *buf, size_t len);
long		 sb_date_today(void);
/* yyyy/mm (month may be unpadded). */
int		 sb_period_parse(const char *s, int *year, int *month);
int		 sb_is_digits(const char *s);
int		 sb_code_ok(const char *s);
/* Case-insensitive match with * (any run) and ? (one char) wildcards. */
int		 sb_wildcard(const char *pattern, const char *s);
/* Numeric-aware ordering of codes ("2" < "10" < "A"). */
int		 sb_code_cmp(const char *a, const char *b);

/* ---- sandbox-store.c: stored objects per office / type / code */

enum sb_status {
	SB_ACTIVE = 0,
	SB_HIDE,
	SB_DELETED,
};

struct sb_obj {
	char		*code;
	xmlDocPtr	 doc;		/* root: the object exactly as a read returns it (without result) */
	int64_t		 modified;	/* unix seconds */
	enum sb_status	 status;
};

struct sb_office {
	char	*code;
	char	*name;
	char	*shortname;
	char	*id;			/* guid, for a CompanyId header */
	char	*currency;
	char	*country;
	char	*revenue_account;	/* default dim1 of a one-off invoice line */
	char	*debtors_account;	/* total line of a final invoice / default substitutewith */
	char	*creditors_account;
	char	*vat_account;		/* VAT line default when the VAT code names none */
};

struct sb_store {
	struct sb_office	*offices;
	size_t			 noffices;
	struct sb_map		*colls;		/* "office\037type" -> struct sb_coll */
	struct sb_map		*seqs;		/* "office\037name" -> int64_t */
	char			*org_code;
	char			*org_id;
	char			*user_code;
	char			*user_name;
	int			 finder_address_email;
};

struct sb_store	*sb_store_new(void);
void		 sb_store_free(struct sb_store *);
/* Adds an office (strings copied); returns it. */
struct sb_office *sb_store_add_office(struct sb_store *, const struct sb_office *);
struct sb_office *sb_store_office(struct sb_store *, const char *code);
struct sb_office *sb_store_office_by_id(struct sb_store *, const char *id);
struct sb_obj	*sb_store_get(struct sb_store *, const char *office, const char *type, const char *code);
/* Like sb_store_get but NULL for a deleted object. */
struct sb_obj	*sb_store_live(struct sb_store *, const char *office, const char *type, const char *code);
/* Stores doc (ownership taken) under office/type/code, replacing any; returns the object. */
struct sb_obj	*sb_store_put(struct sb_store *, const char *office, const char *type, const char *code,
		    xmlDocPtr doc, enum sb_status status, int64_t now);
int		 sb_store_del(struct sb_store *, const char *office, const char *type, const char *code);
/* Objects of one office and type ordered by code; *n set; caller frees the array only. */
struct sb_obj	**sb_store_list(struct sb_store *, const char *office, const char *type, size_t *n);
size_t		 sb_store_count(struct sb_store *, const char *office, const char *type);
/* Returns the next value of sequence office/name (first value `first`) and advances it. */
int64_t		 sb_store_seq_next(struct sb_store *, const char *office, const char *name, int64_t first);
/* Makes the next value of the sequence at least value + 1. */
void		 sb_store_seq_seen(struct sb_store *, const char *office, const char *name, int64_t value);
/* Name and shortname of a stored object (its <name>/<shortname> or header/name…); "" if unknown. */
void		 sb_obj_names(struct sb_obj *, const char **name, const char **shortname);
enum sb_status	 sb_status_parse(const char *s);
const char	*sb_status_name(enum sb_status);

/* Store types besides the dimension types (BAS, PNL, DEB, CRD, KPL, PRJ, AST, ACT). */
#define SB_T_ARTICLE		"article"
#define SB_T_INVOICE		"salesinvoice"
#define SB_T_TRANSACTION	"transaction"
#define SB_T_VAT		"vat"
#define SB_T_INVOICETYPE	"invoicetype"
#define SB_T_DAYBOOK		"daybook"

/* ---- sandbox-dimensions.c: dimension types (§5.2) */
struct sb_dimtype {
	const char	*code;
	const char	*name;		/* the type's name attribute in responses */
	int		 level;
	const char	*matchtype;
	int		 first_code;	/* > 0: codes are numbers, assigned from here when absent */
};
const struct sb_dimtype *sb_dimtype(const char *code);
/* First live dimension with code among types (NULL-terminated); *found gets its type. */
struct sb_obj	*sb_find_dim(struct sb_store *, const char *office, const char *code,
		    const char *const *types, const char **found);

/* ---- document processing (sandbox-dimensions.c, -articles.c, -invoices.c, -transactions.c, -read.c) */

struct sb_ctx {
	struct sb_store	*store;
	const char	*company;	/* office from the SOAP header; NULL if none */
	int64_t		 now;		/* unix seconds */
	xmlDocPtr	 out;		/* the response document that result nodes belong to */
};

/*
 * Each write handler processes one request element (borrowed, from the
 * request document) and returns a new unlinked node of ctx->out: the stored
 * object with result="1", or the echoed request with result="0" and the
 * messages on the offending elements.
 */
xmlNodePtr	 sb_dimension_write(struct sb_ctx *, xmlNodePtr req);
xmlNodePtr	 sb_article_write(struct sb_ctx *, xmlNodePtr req);
xmlNodePtr	 sb_invoice_write(struct sb_ctx *, xmlNodePtr req);
xmlNodePtr	 sb_transaction_write(struct sb_ctx *, xmlNodePtr req);
xmlNodePtr	 sb_read(struct sb_ctx *, xmlNodePtr req);
xmlNodePtr	 sb_list(struct sb_ctx *, xmlNodePtr req);
/* Runs one ProcessXml request document (any root); returns the result root for ctx->out. */
xmlNodePtr	 sb_process_document(struct sb_ctx *, xmlNodePtr root);
/* Office code a document works in: its own <office> (at path) or the header company. */
const char	*sb_doc_office(struct sb_ctx *, xmlNodePtr office_el);
/* Copy of a stored object for a response, with result="1". */
xmlNodePtr	 sb_result_copy(struct sb_ctx *, struct sb_obj *);
/* A VAT code's percentage valid on day (days since epoch); -1 if the code has none. */
double		 sb_vat_rate(struct sb_obj *vat, long day);
/* Creates the sales transaction of a final invoice; returns its number (store sequence). */
long long	 sb_transaction_from_invoice(struct sb_ctx *, const char *office, xmlNodePtr invoice,
		    const char *daybook);
/* Name/shortname of a master used as a reference in a response, looked up in the store. */
void		 sb_ref_dim(struct sb_ctx *, xmlNodePtr el, const char *office, const char *code);

/* ---- sandbox-seed.c */

/* Builds a store from the seed JSON (borrowed); NULL with err on a bad seed. */
struct sb_store	*sb_seed_build(struct json_object *seed, int64_t now, struct kb_err *err);
/* Reads and parses the seed file; NULL with err. */
struct json_object *sb_seed_load(const char *path, struct kb_err *err);

/* ---- server state (sandbox-main.c owns it) */

enum sb_scope {
	SB_SCOPE_ALL = 0,	/* faults hit /auth/ and /webservices/ */
	SB_SCOPE_SOAP,		/* only /webservices/ */
	SB_SCOPE_AUTH,		/* only /auth/ */
	SB_SCOPE_ASPOS,		/* only /aspos/ (the AsPos REST simulator) */
};

/* Which part of the sandbox a request is for (fault injection). */
enum sb_area {
	SB_AREA_AUTH = 0,	/* Twinfield /auth/ */
	SB_AREA_SOAP = 1,	/* Twinfield /webservices/ */
	SB_AREA_ASPOS = 2,	/* /aspos/ */
};

struct sb_faults {
	unsigned	latency_min_ms;
	unsigned	latency_max_ms;
	double		error_rate;	/* percent of requests answered with error_status */
	int		error_status;	/* 500 (SOAP fault), 502, 503, 504 */
	double		hang_rate;	/* percent never answered */
	unsigned	hang_ms;	/* a hung request's connection is closed after this */
	double		drop_rate;	/* percent whose connection is closed without answer */
	double		rate429;	/* percent answered 429 regardless of budget */
	long		force429;	/* the next N metered requests get 429 */
	enum sb_scope	scope;
};

struct sb_charge {
	int64_t	at_ms;
	int	credits;
};

struct sb_limits {
	long		 credits_per_minute;	/* 0 = unlimited */
	long		 max_concurrency;	/* 0 = unlimited */
	long		 in_flight;
	struct sb_charge *ring;			/* sliding window of charges */
	size_t		 cap, head, count;
	long		 used;			/* credits in the window */
};

struct sb_token {
	char	*client_id;
	int64_t	 issued;			/* unix seconds */
	int64_t	 expires;
};

struct sb_tokens {
	struct sb_map	*access;		/* token -> struct sb_token */
	struct sb_map	*codes;			/* authorization code -> struct sb_token (client_id = redirect_uri) */
	long		 ttl;			/* seconds */
	uint64_t	 issued_total;
};

struct sb_logentry {
	uint64_t	 id;			/* 0 = empty slot */
	int64_t		 time_ms;
	int64_t		 done_ms;
	char		*method;
	char		*path;
	char		*soapaction;
	char		*root;
	char		*office;
	char		*fault;			/* injected fault, if any */
	char		*xml;			/* decoded request document */
	int		 xml_truncated;
	char		*body;			/* JSON request body (AsPos), capped */
	int		 credits;
	int		 status;		/* 0 while pending */
};

struct sb_reqlog {
	struct sb_logentry	*ring;
	size_t			 cap;
	uint64_t		 next_id;
};

#define SB_STATUS_MAX	600
struct sb_counters {
	uint64_t	requests;
	uint64_t	credits;
	uint64_t	r429;
	uint64_t	hung;
	uint64_t	dropped;
	uint64_t	injected_errors;
	uint64_t	closed_by_client;
	uint64_t	status[SB_STATUS_MAX];
};

struct sb_config {
	char		*listen;		/* HOST:PORT */
	char		*port_file;
	char		*seed_path;
	char		*public_url;
	char		*client_id;
	char		*client_secret;
	char		*refresh_token;
	long		 token_ttl;
	long		 credits_per_minute;
	long		 max_concurrency;
	size_t		 max_body;
	size_t		 request_log;
	uint64_t	 random_seed;
	int		 have_random_seed;
	struct sb_faults faults;
	/* AsPos simulator (sandbox-aspos.c) */
	char		*aspos_client_id;
	char		*aspos_client_secret;
	char		*aspos_seed_path;	/* NULL: start empty */
	long		 aspos_token_ttl;
	long		 aspos_page_size;
};

struct sb_call;
struct sb_aspos;

#define SB_SERVER_MAGIC	0x53425356u
struct sb_server {
	unsigned		 magic;
	struct sb_config	 cfg;
	struct event_base	*base;
	struct evhttp		*http;
	char			 bound_url[128];	/* http://HOST:PORT */
	int			 port;
	struct json_object	*seed;
	struct sb_store		*store;
	struct sb_tokens	 tokens;
	struct sb_limits	 limits;
	struct sb_faults	 faults;
	struct sb_reqlog	 log;
	struct sb_counters	 counters;
	uint64_t		 rng;
	TAILQ_HEAD(, sb_call)	 pending;		/* replies waiting on a timer */
	struct sb_aspos		*aspos;
};

int64_t		 sb_now_ms(void);
uint64_t	 sb_rand(struct sb_server *);
/* True with probability pct percent. */
int		 sb_chance(struct sb_server *, double pct);
/* Fills buf with n random hex characters (from getrandom). */
void		 sb_random_hex(char *buf, size_t n);
void		 sb_guid(char *buf, size_t len);
/* Base URL clients should use to reach this sandbox (public URL, Host header, or bound address). */
void		 sb_base_url(struct sb_server *, struct evhttp_request *, char *buf, size_t len);

/* ---- sandbox-http.c: one request's life */

#define SB_CALL_MAGIC	0x5342434cu
struct sb_call {
	unsigned		 magic;
	struct sb_server	*srv;
	struct evhttp_request	*req;
	struct event		*timer;
	struct evbuffer		*body;
	int			 status;
	const char		*reason;	/* NULL: the standard phrase */
	char			 reason_buf[160];
	int			 counted;	/* holds an in-flight slot */
	int			 hang;
	int			 drop;
	int			 replied;
	uint64_t		 log_id;
	int64_t			 start_ms;
	TAILQ_ENTRY(sb_call)	 entry;
};

void		 sb_http_cb(struct evhttp_request *, void *srv);
/* Sets the reply (sent now or after the injected latency); body (may be NULL) is copied. */
void		 sb_reply(struct sb_call *, int status, const char *content_type, const char *body, size_t len);
void		 sb_reply_json(struct sb_call *, int status, struct json_object *o);
void		 sb_reply_text(struct sb_call *, int status, const char *text);
/* Frees every pending call (shutdown). */
void		 sb_http_shutdown(struct sb_server *);
/* Records what a request was about in its log entry (each field once; NULLs skipped). */
void		 sb_log_describe(struct sb_call *, const char *root, const char *office,
		    const char *xml, int credits);
/* Empties the request log except entries of requests still pending. */
void		 sb_log_reset(struct sb_server *);
/* Records a JSON request body in the call's log entry (capped). */
void		 sb_log_body(struct sb_call *, const char *body, size_t len);
/* Answers with the injected 5xx when the error share says so; returns 1 if it did. area: enum sb_area. */
int		 sb_http_inject_error(struct sb_call *, int area, const char *source);
struct sb_logentry *sb_log_entry(struct sb_server *, uint64_t id);
void		 sb_log_free(struct sb_reqlog *);
const char	*sb_status_reason(int status);

/* ---- sandbox-auth.c */
void		 sb_tokens_init(struct sb_tokens *, long ttl);
void		 sb_tokens_free(struct sb_tokens *);
void		 sb_tokens_expire_all(struct sb_tokens *);
/* 1 if token is known and unexpired. */
int		 sb_token_valid(struct sb_server *, const char *token);
void		 sb_auth_token(struct sb_call *);
void		 sb_auth_validate(struct sb_call *);
void		 sb_auth_authorize(struct sb_call *);
void		 sb_auth_userinfo(struct sb_call *);

/* ---- sandbox-soap.c */
void		 sb_soap_processxml(struct sb_call *);
void		 sb_soap_finder(struct sb_call *);
void		 sb_soap_wsdl(struct sb_call *, int finder);

/* SOAP request as parsed by sb_soap_parse. */
struct sb_soap {
	xmlDocPtr	 env;
	int		 v12;		/* SOAP 1.2 envelope */
	xmlNodePtr	 op;		/* body element */
	const char	*action;	/* operation from SOAPAction (points into action_buf) */
	char		*action_buf;
	char		*token;
	char		*company;	/* CompanyCode, or the code of the office CompanyId names */
	int		 has_session;
	int		 company_id_bad;
};
/* Sends a SOAP fault with detail/{message,code,source}. */
void		 sb_soap_fault(struct sb_call *, int http_status, int v12, const char *faultcode,
		    const char *message, const char *code, const char *source);

/* ---- sandbox-finder.c */
/*
 * Runs the Search in s->op against the store and appends the SearchResponse
 * to body. Returns 0, or -1 with cause when the request cannot be read.
 */
int		 sb_finder_search(struct sb_server *, struct sb_soap *, xmlNodePtr body,
		    char *cause, size_t clen);

/* ---- sandbox-limits.c */
void		 sb_limits_init(struct sb_limits *, long credits_per_minute, long max_concurrency);
void		 sb_limits_free(struct sb_limits *);
void		 sb_limits_set(struct sb_limits *, long credits_per_minute, long max_concurrency);
/*
 * Admits a metered request of `credits` now: returns 0 and charges it, or
 * returns the Retry-After seconds (> 0) when the budget or the concurrency
 * cap says no. Sets the X-RateLimit-* headers on req either way.
 */
long		 sb_limits_admit(struct sb_server *, struct sb_call *, int credits);
void		 sb_limits_release(struct sb_server *, struct sb_call *);
struct json_object *sb_limits_json(struct sb_server *);

/* ---- sandbox-faults.c */
/* Parses --latency MS|MIN-MAX. */
int		 sb_faults_parse_latency(const char *s, unsigned *min, unsigned *max, struct kb_err *);
/* Applies a JSON object of fault settings; all-or-nothing. */
int		 sb_faults_apply_json(struct sb_server *, struct json_object *, struct kb_err *);
struct json_object *sb_faults_json(struct sb_server *);
/* Latency for one reply, in ms. */
unsigned	 sb_faults_latency(struct sb_server *);
/* Which fault (if any) hits a request to path: sets call->hang / call->drop, or returns the status to answer with (0 = none). */
enum sb_fault_kind {
	SB_FAULT_NONE = 0,
	SB_FAULT_DROP,
	SB_FAULT_HANG,
	SB_FAULT_429,
	SB_FAULT_ERROR,
};
enum sb_fault_kind sb_faults_pick(struct sb_server *, int area, int pre_limit);

/* ---- sandbox-inspect.c */
/* JSON answers of the /_sandbox/ API (o is consumed). */
void		 sb_inspect_send(struct evhttp_request *req, int status, struct json_object *o);
void		 sb_inspect_error(struct evhttp_request *req, int status, const char *error,
		    const char *detail);
void		 sb_inspect(struct sb_server *, struct evhttp_request *);
/* Restores the seed and clears counters, log and tokens. Returns 0 / -1. */
int		 sb_reset(struct sb_server *, struct kb_err *);

/* ---- sandbox-aspos.c, sandbox-aspos-inspect.c: the AsPos REST simulator under /aspos */

/* Loads the AsPos seed (path may be NULL: empty); NULL with err on a bad seed. */
struct sb_aspos	*sb_aspos_new(const struct sb_config *, struct kb_err *);
void		 sb_aspos_free(struct sb_aspos *);
/* Back to the seed; tokens stay valid. */
int		 sb_aspos_reset(struct sb_aspos *, struct kb_err *);
/* Serves a request below /aspos; path is what follows "/aspos" (raw, still escaped). */
void		 sb_aspos_dispatch(struct sb_call *, const char *path);
/* A JSON error answer {"error": code, "message": message}. */
void		 sb_aspos_error(struct sb_call *, int status, const char *code, const char *message);
/* GET/POST /_sandbox/aspos/...; sub is what follows "aspos/" ("" for the summary). */
void		 sb_aspos_inspect(struct sb_server *, struct evhttp_request *, const char *sub,
		    struct evkeyvalq *query, struct json_object *body);

/* ---- sandbox-wsdl.c */
/* The WSDL of processxml.asmx or finder.asmx with soap:address at base; caller frees. */
char		*sb_wsdl_build(int finder, const char *base);

#endif
