/*
 * Every configuration key, once: name, type, default, range, help. The
 * example file conf/kassaboek.conf documents the same keys for users; a
 * unit test checks that the two agree.
 */
#include "config.h"

#include <stddef.h>

#include "config-internal.h"

#define OFF(field)	offsetof(struct kb_config, field)
#define KIB		1024LL
#define MIB		(1024LL * 1024)
#define SEC		1000LL
#define MIN		(60 * SEC)
#define HOUR		(60 * MIN)
#define DAY		(24 * HOUR)

static const char *const signature_choices[] = { "standard", "hmac", "token", "none", NULL };
static const char *const encoding_choices[] = { "base64", "hex", NULL };
static const char *const book_as_choices[] = { "invoice", "concept", "transaction", NULL };
static const char *const level_choices[] = { "debug", "info", "warn", "error", NULL };

const struct config_key config_keys[] = {
	{ "server", "listen", CONFIG_STRING, OFF(server.listen), "127.0.0.1:8080", 0, 0, NULL, 0,
	  "address and port the webhook receiver listens on (host:port, [v6]:port)" },
	{ "server", "max_body", CONFIG_SIZE, OFF(server.max_body), "1m", 1, 64 * MIB, NULL, 0,
	  "largest accepted webhook body; larger ones get 413 without being read" },
	{ "server", "signature", CONFIG_ENUM, OFF(server.signature), "standard", 0, 0, signature_choices, 0,
	  "webhook verification: standard (Standard Webhooks), hmac, token, none" },
	{ "server", "webhook_secret", CONFIG_STRING, OFF(server.webhook_secret), "", 0, 0, NULL, CONFIG_SECRET,
	  "secret(s), space separated, newest first: whsec_<base64> for standard, the key for hmac, the token (or user:password) for token" },
	{ "server", "hmac_header", CONFIG_STRING, OFF(server.hmac_header), "X-Signature", 0, 0, NULL, 0,
	  "hmac scheme: header that carries the body signature" },
	{ "server", "hmac_encoding", CONFIG_ENUM, OFF(server.hmac_encoding), "base64", 0, 0, encoding_choices, 0,
	  "hmac scheme: encoding of the signature (base64 or hex)" },
	{ "server", "timestamp_tolerance", CONFIG_DURATION, OFF(server.timestamp_tolerance_ms), "5m", 1 * SEC, DAY, NULL, 0,
	  "standard scheme: accepted distance of webhook-timestamp from now, either way" },
	{ "server", "dedupe_window", CONFIG_DURATION, OFF(server.dedupe_window_ms), "72h", 1 * SEC, 30 * DAY, NULL, 0,
	  "how long a webhook id is remembered to answer duplicates with 200" },
	{ "server", "admin_token", CONFIG_STRING, OFF(server.admin_token), "", 0, 0, NULL, CONFIG_SECRET,
	  "bearer token for the dashboard and /api; empty disables them" },
	{ "server", "request_timeout", CONFIG_DURATION, OFF(server.request_timeout_ms), "10s", 1 * SEC, 10 * MIN, NULL, 0,
	  "a client must send its whole request within this time; idle keep-alive connections close after it" },
	{ "server", "max_headers", CONFIG_SIZE, OFF(server.max_headers), "16k", 1 * KIB, 1 * MIB, NULL, 0,
	  "largest accepted request line plus headers" },
	{ "server", "max_connections", CONFIG_INT, OFF(server.max_connections), "1024", 1, 1000000, NULL, 0,
	  "open client connections at most; beyond it new connections wait in the kernel backlog" },

	{ "redis", "url", CONFIG_STRING, OFF(redis.url), "redis://127.0.0.1:6379/0", 0, 0, NULL, CONFIG_SECRET,
	  "redis://[:password@]host:port/db or unix:///path/to/socket (may contain a password)" },
	{ "redis", "prefix", CONFIG_STRING, OFF(redis.prefix), "kb", 0, 0, NULL, 0,
	  "hash tag of every key of this installation: {prefix}:events, {prefix}:seen:<id>, ..." },
	{ "redis", "connect_timeout", CONFIG_DURATION, OFF(redis.connect_timeout_ms), "2s", 100, MIN, NULL, 0,
	  "time allowed to connect to Redis" },
	{ "redis", "command_timeout", CONFIG_DURATION, OFF(redis.command_timeout_ms), "2s", 100, MIN, NULL, 0,
	  "a webhook whose enqueue takes longer gets 503; Redis is then reconnected" },

	{ "worker", "processes", CONFIG_INT, OFF(worker.processes), "2", 1, 256, NULL, 0,
	  "worker processes forked by `kassaboek work`" },
	{ "worker", "concurrency", CONFIG_INT, OFF(worker.concurrency), "32", 1, 10000, NULL, 0,
	  "jobs in flight per worker process" },
	{ "worker", "max_attempts", CONFIG_INT, OFF(worker.max_attempts), "10", 1, 1000, NULL, 0,
	  "attempts before a transiently failing job goes to the dead letters" },
	{ "worker", "backoff_base", CONFIG_DURATION, OFF(worker.backoff_base_ms), "2s", 10, DAY, NULL, 0,
	  "first retry delay; doubles per attempt, with full jitter" },
	{ "worker", "backoff_max", CONFIG_DURATION, OFF(worker.backoff_max_ms), "1h", 10, 7 * DAY, NULL, 0,
	  "longest retry delay" },
	{ "worker", "visibility_timeout", CONFIG_DURATION, OFF(worker.visibility_timeout_ms), "60s", 1 * SEC, DAY, NULL, 0,
	  "a job pending longer than this on a dead worker is reclaimed" },
	{ "worker", "shutdown_timeout", CONFIG_DURATION, OFF(worker.shutdown_timeout_ms), "30s", 1 * SEC, HOUR, NULL, 0,
	  "on SIGTERM, jobs in flight get this long to finish; unfinished ones are reclaimed later" },
	{ "worker", "job_timeout", CONFIG_DURATION, OFF(worker.job_timeout_ms), "5m", 1 * SEC, DAY, NULL, 0,
	  "a job still running after this fails as a transient error (and is retried)" },
	{ "worker", "leader_ttl", CONFIG_DURATION, OFF(worker.leader_ttl_ms), "10s", 1 * SEC, 10 * MIN, NULL, 0,
	  "the scheduler lock lapses this long after its holder stops renewing it; another worker takes over" },

	{ "twinfield", "login_url", CONFIG_STRING, OFF(twinfield.login_url), "https://login.twinfield.com", 0, 0, NULL, 0,
	  "base of /auth/authentication/connect/token and .../accesstokenvalidation" },
	{ "twinfield", "client_id", CONFIG_STRING, OFF(twinfield.client_id), "", 0, 0, NULL, 0,
	  "OAuth2 client id" },
	{ "twinfield", "client_secret", CONFIG_STRING, OFF(twinfield.client_secret), "", 0, 0, NULL, CONFIG_SECRET,
	  "OAuth2 client secret" },
	{ "twinfield", "refresh_token", CONFIG_STRING, OFF(twinfield.refresh_token), "", 0, 0, NULL, CONFIG_SECRET,
	  "OAuth2 refresh token of the organisation user" },
	{ "twinfield", "cluster_url", CONFIG_STRING, OFF(twinfield.cluster_url), "", 0, 0, NULL, 0,
	  "cluster base URL; empty = discovered through access-token validation" },
	{ "twinfield", "office", CONFIG_STRING, OFF(twinfield.office), "", 0, 0, NULL, 0,
	  "Twinfield office (company) code documents are booked in" },
	{ "twinfield", "credits_per_minute", CONFIG_INT, OFF(twinfield.credits_per_minute), "500", 1, 1000000, NULL, 0,
	  "client-side credit budget per organisation, shared by all processes" },
	{ "twinfield", "max_concurrency", CONFIG_INT, OFF(twinfield.max_concurrency), "1", 1, 100, NULL, 0,
	  "concurrent Twinfield requests per organisation, shared by all processes" },
	{ "twinfield", "batch_size", CONFIG_INT, OFF(twinfield.batch_size), "25", 1, 25, NULL, 0,
	  "documents of one kind and office per request" },
	{ "twinfield", "batch_window", CONFIG_DURATION, OFF(twinfield.batch_window_ms), "200ms", 0, MIN, NULL, 0,
	  "how long documents are collected into one batch" },
	{ "twinfield", "request_timeout", CONFIG_DURATION, OFF(twinfield.request_timeout_ms), "60s", 1 * SEC, 10 * MIN, NULL, 0,
	  "a Twinfield request taking longer fails (transient)" },

	{ "aspos", "base_url", CONFIG_STRING, OFF(aspos.base_url), "", 0, 0, NULL, 0,
	  "https://<customer>.aspos.nl" },
	{ "aspos", "client_id", CONFIG_STRING, OFF(aspos.client_id), "", 0, 0, NULL, 0,
	  "OAuth2 client-credentials id" },
	{ "aspos", "client_secret", CONFIG_STRING, OFF(aspos.client_secret), "", 0, 0, NULL, CONFIG_SECRET,
	  "OAuth2 client-credentials secret" },
	{ "aspos", "store_id", CONFIG_STRING, OFF(aspos.store_id), "", 0, 0, NULL, 0,
	  "AsPos store whose data is synchronised" },
	{ "aspos", "poll_interval", CONFIG_DURATION, OFF(aspos.poll_interval_ms), "0", 0, DAY, NULL, 0,
	  "pull changed orders this often (0 = webhooks only)" },
	{ "aspos", "request_timeout", CONFIG_DURATION, OFF(aspos.request_timeout_ms), "30s", 1 * SEC, 10 * MIN, NULL, 0,
	  "an AsPos request taking longer fails (transient)" },
	{ "aspos", "api_map", CONFIG_STRING, OFF(aspos.api_map), "mapping/aspos-api.json", 0, 0, NULL, 0,
	  "AsPos paths and field names the client uses (docs/aspos.md; relative to this file's directory)" },

	{ "orders", "book_as", CONFIG_ENUM, OFF(orders.book_as), "invoice", 0, 0, book_as_choices, 0,
	  "invoice (final), concept (Twinfield order) or transaction (sales daybook)" },
	{ "orders", "invoice_type", CONFIG_STRING, OFF(orders.invoice_type), "FACTUUR", 0, 0, NULL, 0,
	  "Twinfield invoice type code" },
	{ "orders", "employee_number", CONFIG_STRING, OFF(orders.employee_number), "999999", 0, 0, NULL, 0,
	  "employee number used when the order has none" },
	{ "orders", "default_debtor", CONFIG_STRING, OFF(orders.default_debtor), "", 0, 0, NULL, 0,
	  "debtor code for orders without a customer (or all orders, see force_default_debtor)" },
	{ "orders", "force_default_debtor", CONFIG_BOOL, OFF(orders.force_default_debtor), "no", 0, 0, NULL, 0,
	  "book every order on default_debtor" },
	{ "orders", "update_customers", CONFIG_BOOL, OFF(orders.update_customers), "yes", 0, 0, NULL, 0,
	  "update a Twinfield debtor whose data differs from the order's customer" },
	{ "orders", "create_articles", CONFIG_BOOL, OFF(orders.create_articles), "no", 0, 0, NULL, 0,
	  "create missing articles instead of failing the order" },
	{ "orders", "mapping", CONFIG_STRING, OFF(orders.mapping), "mapping/order.json", 0, 0, NULL, 0,
	  "data mapping file of the order flow (a relative path is relative to this file's directory)" },
	{ "orders", "sales_daybook", CONFIG_STRING, OFF(orders.sales_daybook), "VRK", 0, 0, NULL, 0,
	  "daybook of the sales transactions (book_as = transaction)" },
	{ "orders", "credit_invoice_type", CONFIG_STRING, OFF(orders.credit_invoice_type), "", 0, 0, NULL, 0,
	  "invoice type of credit invoices (cancelled / credited orders); empty = invoice_type" },
	{ "orders", "debtors_account", CONFIG_STRING, OFF(orders.debtors_account), "1300", 0, 0, NULL, 0,
	  "receivables account of the total line of a sales transaction (book_as = transaction)" },
	{ "orders", "write_back", CONFIG_BOOL, OFF(orders.write_back), "no", 0, 0, NULL, 0,
	  "after booking, set the order's status in AsPos (write_back_status) with the Twinfield number as its external reference" },
	{ "orders", "write_back_status", CONFIG_STRING, OFF(orders.write_back_status), "invoiced", 0, 0, NULL, 0,
	  "the AsPos order status written back when write_back = yes" },

	{ "notify", "smtp_url", CONFIG_STRING, OFF(notify.smtp_url), "", 0, 0, NULL, CONFIG_SECRET,
	  "smtp://[user:password@]host:port for failure e-mails; empty disables them" },
	{ "notify", "from", CONFIG_STRING, OFF(notify.from), "", 0, 0, NULL, 0,
	  "sender address of notification e-mails" },
	{ "notify", "to", CONFIG_STRING, OFF(notify.to), "", 0, 0, NULL, 0,
	  "recipients, comma separated" },

	{ "log", "level", CONFIG_ENUM, OFF(log.level), "info", 0, 0, level_choices, 0,
	  "debug, info, warn or error" },
	{ "log", "mask_personal_data", CONFIG_BOOL, OFF(log.mask_personal_data), "yes", 0, 0, NULL, 0,
	  "mask names, e-mail addresses and phone numbers in logs" },
	{ "log", "activity_retention", CONFIG_DURATION, OFF(log.activity_retention_ms), "30d", 1 * HOUR, 3650 * DAY, NULL, 0,
	  "activity log entries older than this are purged" },
};

const size_t config_nkeys = sizeof config_keys / sizeof config_keys[0];
