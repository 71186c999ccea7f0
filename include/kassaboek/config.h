/*
 * The configuration: an INI file read with libinih, then environment
 * overrides KASSABOEK_<SECTION>_<KEY>. Every key is described once, in the
 * table of config-table.c (name, type, default, range, help); loading,
 * validation, env overrides and `check-config` output all walk that table.
 */
#ifndef KASSABOEK_CONFIG_H
#define KASSABOEK_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define KB_CONFIG_DEFAULT_PATH	"conf/kassaboek.conf"

enum kb_signature_scheme {
	KB_SIG_STANDARD = 0,
	KB_SIG_HMAC,
	KB_SIG_TOKEN,
	KB_SIG_NONE,
};

struct kb_config {
	char	*path;			/* file it was read from */
	struct {
		char			*listen;
		uint64_t		 max_body;
		char			*signature;
		enum kb_signature_scheme scheme;	/* derived from signature */
		char			*webhook_secret;	/* list: space/comma separated */
		char			*hmac_header;
		char			*hmac_encoding;
		uint64_t		 timestamp_tolerance_ms;
		uint64_t		 dedupe_window_ms;
		char			*admin_token;
		uint64_t		 request_timeout_ms;
		uint64_t		 max_headers;
		long long		 max_connections;
	} server;
	struct {
		char		*url;
		char		*prefix;
		uint64_t	 connect_timeout_ms;
		uint64_t	 command_timeout_ms;
	} redis;
	struct {
		long long	 processes;
		long long	 concurrency;
		long long	 max_attempts;
		uint64_t	 backoff_base_ms;
		uint64_t	 backoff_max_ms;
		uint64_t	 visibility_timeout_ms;
		uint64_t	 shutdown_timeout_ms;
		uint64_t	 job_timeout_ms;
		uint64_t	 leader_ttl_ms;
	} worker;
	struct {
		char		*login_url;
		char		*client_id;
		char		*client_secret;
		char		*refresh_token;
		char		*cluster_url;
		char		*office;
		long long	 credits_per_minute;
		long long	 max_concurrency;
		long long	 batch_size;
		uint64_t	 batch_window_ms;
		uint64_t	 request_timeout_ms;
	} twinfield;
	struct {
		char		*base_url;
		char		*client_id;
		char		*client_secret;
		char		*store_id;
		uint64_t	 poll_interval_ms;
		uint64_t	 request_timeout_ms;
		char		*api_map;
	} aspos;
	struct {
		char		*book_as;
		char		*invoice_type;
		char		*employee_number;
		char		*default_debtor;
		int		 force_default_debtor;
		int		 update_customers;
		int		 create_articles;
		char		*mapping;
		char		*sales_daybook;
		char		*credit_invoice_type;
		char		*debtors_account;
		int		 write_back;
		char		*write_back_status;
	} orders;
	struct {
		char		*smtp_url;
		char		*from;
		char		*to;
	} notify;
	struct {
		char		*level;
		int		 mask_personal_data;
		uint64_t	 activity_retention_ms;
	} log;
};

/*
 * Reads path (NULL = defaults only) and the environment into a new config.
 * On any problem returns NULL and writes one line per problem to errors,
 * each naming file:line (or the environment variable), the key and what is
 * wrong. The caller frees the result with kb_config_free.
 */
struct kb_config	*kb_config_load(const char *path, FILE *errors);
void			 kb_config_free(struct kb_config *cfg);
/* Prints the effective configuration as INI, secrets redacted. */
void			 kb_config_print(const struct kb_config *cfg, FILE *out);

#endif
