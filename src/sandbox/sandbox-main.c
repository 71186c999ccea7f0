/*
 * kassaboek-sandbox: command line, start-up, the event loop and a clean
 * shutdown on SIGINT / SIGTERM (everything freed: valgrind and ASan clean).
 * Only this file exits; exit codes come from sysexits.h.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <event2/http.h>
#include <libxml/parser.h>

#include "kassaboek/log.h"
#include "kassaboek/portfile.h"
#include "kassaboek/units.h"
#include "kassaboek/xmalloc.h"
#include "sandbox.h"
#include "sandbox-rules.h"

#define MAIN_DEFAULT_LISTEN		"127.0.0.1:8090"
#define MAIN_DEFAULT_CLIENT_ID		"sandbox-client"
#define MAIN_DEFAULT_CLIENT_SECRET	"sandbox-secret"
#define MAIN_DEFAULT_REFRESH_TOKEN	"sandbox-refresh-token"
#define MAIN_DEFAULT_MAX_BODY		(4u * 1024 * 1024)
#define MAIN_DEFAULT_REQUEST_LOG	1000
#define MAIN_DEFAULT_HANG_MS		300000
#define MAIN_INSTALLED_SEED		KB_DATADIR "/sandbox/seed.json"
#define MAIN_DEFAULT_ASPOS_ID		"aspos-client"
#define MAIN_DEFAULT_ASPOS_SECRET	"aspos-secret"
#define MAIN_DEFAULT_ASPOS_TTL		3600
#define MAIN_DEFAULT_ASPOS_PAGE		50

enum {
	OPT_LISTEN = 256, OPT_PORT_FILE, OPT_SEED, OPT_PUBLIC_URL, OPT_LATENCY, OPT_ERROR_RATE,
	OPT_ERROR_STATUS, OPT_HANG_RATE, OPT_HANG_MS, OPT_DROP_RATE, OPT_CREDITS, OPT_CONCURRENCY,
	OPT_TOKEN_TTL, OPT_CLIENT_ID, OPT_CLIENT_SECRET, OPT_REFRESH_TOKEN, OPT_MAX_BODY,
	OPT_REQUEST_LOG, OPT_RANDOM_SEED, OPT_LOG_LEVEL, OPT_ASPOS_CLIENT_ID, OPT_ASPOS_CLIENT_SECRET,
	OPT_ASPOS_SEED, OPT_ASPOS_TOKEN_TTL, OPT_ASPOS_PAGE_SIZE,
};

static const struct option main_options[] = {
	{ "listen",		required_argument,	NULL, OPT_LISTEN },
	{ "port-file",		required_argument,	NULL, OPT_PORT_FILE },
	{ "seed",		required_argument,	NULL, OPT_SEED },
	{ "public-url",		required_argument,	NULL, OPT_PUBLIC_URL },
	{ "latency",		required_argument,	NULL, OPT_LATENCY },
	{ "error-rate",		required_argument,	NULL, OPT_ERROR_RATE },
	{ "error-status",	required_argument,	NULL, OPT_ERROR_STATUS },
	{ "hang-rate",		required_argument,	NULL, OPT_HANG_RATE },
	{ "hang-ms",		required_argument,	NULL, OPT_HANG_MS },
	{ "drop-rate",		required_argument,	NULL, OPT_DROP_RATE },
	{ "credits-per-minute",	required_argument,	NULL, OPT_CREDITS },
	{ "max-concurrency",	required_argument,	NULL, OPT_CONCURRENCY },
	{ "token-ttl",		required_argument,	NULL, OPT_TOKEN_TTL },
	{ "client-id",		required_argument,	NULL, OPT_CLIENT_ID },
	{ "client-secret",	required_argument,	NULL, OPT_CLIENT_SECRET },
	{ "refresh-token",	required_argument,	NULL, OPT_REFRESH_TOKEN },
	{ "max-body",		required_argument,	NULL, OPT_MAX_BODY },
	{ "request-log",	required_argument,	NULL, OPT_REQUEST_LOG },
	{ "random-seed",	required_argument,	NULL, OPT_RANDOM_SEED },
	{ "log-level",		required_argument,	NULL, OPT_LOG_LEVEL },
	{ "aspos-client-id",	required_argument,	NULL, OPT_ASPOS_CLIENT_ID },
	{ "aspos-client-secret", required_argument,	NULL, OPT_ASPOS_CLIENT_SECRET },
	{ "aspos-seed",		required_argument,	NULL, OPT_ASPOS_SEED },
	{ "aspos-token-ttl",	required_argument,	NULL, OPT_ASPOS_TOKEN_TTL },
	{ "aspos-page-size",	required_argument,	NULL, OPT_ASPOS_PAGE_SIZE },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 },
};

static void
main_usage(FILE *f)
{
	fprintf(f,
"Usage: kassaboek-sandbox [OPTIONS]\n"
"\n"
"A local, protocol-faithful simulator of the Twinfield web services, so kassaboek\n"
"(or any Twinfield client) can be tried and tested without a Twinfield account,\n"
"and of the AsPos REST API under /aspos. Everything is served on one host:port:\n"
"point twinfield.login_url at it, and aspos.base_url at it plus /aspos.\n"
"\n"
"  POST /auth/authentication/connect/token            OAuth2 token (refresh_token, authorization_code)\n"
"  GET  /auth/authentication/connect/accesstokenvalidation?token=   cluster discovery\n"
"  POST /webservices/processxml.asmx                  ProcessXmlString (GET ?wsdl)\n"
"  POST /webservices/finder.asmx                      Finder Search (GET ?wsdl)\n"
"  POST /aspos/connect/token, /aspos/api/...           AsPos REST API (client credentials)\n"
"  /_sandbox/...                                      JSON inspection and control API\n"
"\n"
"Options:\n"
"  --listen HOST:PORT        address to listen on (default " MAIN_DEFAULT_LISTEN ");\n"
"                            port 0 picks a free port and prints it\n"
"  --port-file FILE          write the bound port to FILE (atomically) once listening\n"
"  --seed FILE               seed data (default: the installed " MAIN_INSTALLED_SEED ",\n"
"                            or conf/sandbox/seed.json when run from the build tree)\n"
"  --public-url URL          base URL handed out as twf.clusterUrl (default: from the\n"
"                            request's Host header)\n"
"  --client-id ID            accepted OAuth2 client id (default " MAIN_DEFAULT_CLIENT_ID ")\n"
"  --client-secret SECRET    accepted client secret (default " MAIN_DEFAULT_CLIENT_SECRET ")\n"
"  --refresh-token TOKEN     accepted refresh token (default " MAIN_DEFAULT_REFRESH_TOKEN ")\n"
"  --token-ttl SECONDS       access-token lifetime (default %d)\n"
"  --credits-per-minute N    credit budget per organisation over any 60 s (1 per read,\n"
"                            list or search, 3 per write); 0 = unlimited (default)\n"
"  --max-concurrency N       requests in flight per organisation; 0 = unlimited (default)\n"
"  --latency MS|MIN-MAX      delay every answer by MS, or a random MIN..MAX (default 0)\n"
"  --error-rate PCT          answer PCT%% of requests with --error-status (default 0)\n"
"  --error-status CODE       500 (SOAP fault code 100), 502, 503 or 504 (default 500)\n"
"  --hang-rate PCT           never answer PCT%% of requests (default 0)\n"
"  --hang-ms MS              close a hung request's connection after MS (default %d)\n"
"  --drop-rate PCT           close PCT%% of connections without an answer (default 0)\n"
"  --max-body SIZE           largest request body, e.g. 4m; larger gets 413 (default 4m)\n"
"  --request-log N           requests kept for /_sandbox/requests (default %d)\n"
"  --random-seed N           make the random fault decisions reproducible\n"
"  --log-level LEVEL         debug, info, warn or error (default info)\n"
"  --aspos-client-id ID      AsPos client id (default " MAIN_DEFAULT_ASPOS_ID ")\n"
"  --aspos-client-secret S   AsPos client secret (default " MAIN_DEFAULT_ASPOS_SECRET ")\n"
"  --aspos-seed FILE         AsPos orders, customers, products, categories to start\n"
"                            with (JSON; default: none)\n"
"  --aspos-token-ttl SECONDS AsPos access-token lifetime (default %d)\n"
"  --aspos-page-size N       AsPos list page size (default %d)\n"
"  -h, --help                show this help\n"
"  -V, --version             show the version\n"
"\n"
"Faults, limits and token expiry can be changed at run time: POST /_sandbox/faults,\n"
"POST /_sandbox/limits, POST /_sandbox/tokens/expire (see docs/sandbox.md).\n"
"\n"
"Example:\n"
"  kassaboek-sandbox --listen 127.0.0.1:8090 --latency 100 --credits-per-minute 500\n"
"  # then in kassaboek.conf: [twinfield] login_url = http://127.0.0.1:8090\n"
"  #   client_id = " MAIN_DEFAULT_CLIENT_ID "  client_secret = " MAIN_DEFAULT_CLIENT_SECRET
"  refresh_token = " MAIN_DEFAULT_REFRESH_TOKEN "  office = 001\n"
"\n"
"Exit status: 0 after SIGINT/SIGTERM, 64 bad usage, 65 bad seed data, 66 seed file\n"
"missing, 69 cannot listen, 73 cannot write the port file.\n",
	    SB_RULE_TOKEN_TTL, MAIN_DEFAULT_HANG_MS, MAIN_DEFAULT_REQUEST_LOG, MAIN_DEFAULT_ASPOS_TTL,
	    MAIN_DEFAULT_ASPOS_PAGE);
}

static void
main_die_usage(const char *opt, const char *msg)
{
	fprintf(stderr, "kassaboek-sandbox: --%s: %s\nTry 'kassaboek-sandbox --help'.\n", opt, msg);
	exit(EX_USAGE);
}

static long
main_long(const char *opt, const char *arg, long long min, long long max)
{
	struct kb_err	err;
	long long	v;

	if (kb_parse_int(arg, min, max, &v, &err) == -1)
		main_die_usage(opt, err.msg);
	return ((long)v);
}

static double
main_pct(const char *opt, const char *arg)
{
	double	v;

	if (sb_decimal_parse(arg, &v) == -1 || v < 0 || v > 100)
		main_die_usage(opt, "must be a percentage from 0 to 100");
	return (v);
}

/* The seed a plain `kassaboek-sandbox` uses: in-tree when run from the build tree. */
static const char *
main_default_seed(void)
{
	char	exe[PATH_MAX];
	ssize_t	n;

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		if (strncmp(exe, SB_BUILDDIR "/", strlen(SB_BUILDDIR) + 1) == 0 &&
		    access(SB_SRC_SEED, R_OK) == 0)
			return (SB_SRC_SEED);
	}
	if (access(MAIN_INSTALLED_SEED, R_OK) == 0)
		return (MAIN_INSTALLED_SEED);
	return (SB_SRC_SEED);
}

static void
main_parse(int argc, char **argv, struct sb_config *cfg)
{
	struct kb_err	err;
	uint64_t	size;
	enum kb_log_level lvl;
	int		c;

	memset(cfg, 0, sizeof *cfg);
	cfg->listen = MAIN_DEFAULT_LISTEN;
	cfg->client_id = MAIN_DEFAULT_CLIENT_ID;
	cfg->client_secret = MAIN_DEFAULT_CLIENT_SECRET;
	cfg->refresh_token = MAIN_DEFAULT_REFRESH_TOKEN;
	cfg->token_ttl = SB_RULE_TOKEN_TTL;
	cfg->max_body = MAIN_DEFAULT_MAX_BODY;
	cfg->request_log = MAIN_DEFAULT_REQUEST_LOG;
	cfg->faults.error_status = 500;
	cfg->faults.hang_ms = MAIN_DEFAULT_HANG_MS;
	cfg->aspos_client_id = MAIN_DEFAULT_ASPOS_ID;
	cfg->aspos_client_secret = MAIN_DEFAULT_ASPOS_SECRET;
	cfg->aspos_token_ttl = MAIN_DEFAULT_ASPOS_TTL;
	cfg->aspos_page_size = MAIN_DEFAULT_ASPOS_PAGE;

	while ((c = getopt_long(argc, argv, "hV", main_options, NULL)) != -1) {
		const char	*name = c >= OPT_LISTEN ? main_options[c - OPT_LISTEN].name : "";

		switch (c) {
		case 'h':
			main_usage(stdout);
			exit(0);
		case 'V':
			printf("kassaboek-sandbox %s\n", PACKAGE_VERSION);
			exit(0);
		case OPT_LISTEN:	cfg->listen = optarg; break;
		case OPT_PORT_FILE:	cfg->port_file = optarg; break;
		case OPT_SEED:		cfg->seed_path = optarg; break;
		case OPT_PUBLIC_URL:
			if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
				main_die_usage(name, "must start with http:// or https://");
			cfg->public_url = optarg;
			while (strlen(optarg) > 8 && optarg[strlen(optarg) - 1] == '/')
				optarg[strlen(optarg) - 1] = '\0';	/* §1: no trailing slash */
			break;
		case OPT_LATENCY:
			if (sb_faults_parse_latency(optarg, &cfg->faults.latency_min_ms,
			    &cfg->faults.latency_max_ms, &err) == -1)
				main_die_usage(name, err.msg);
			break;
		case OPT_ERROR_RATE:	cfg->faults.error_rate = main_pct(name, optarg); break;
		case OPT_ERROR_STATUS:
			cfg->faults.error_status = (int)main_long(name, optarg, 500, 504);
			if (cfg->faults.error_status == 501)
				main_die_usage(name, "must be 500, 502, 503 or 504");
			break;
		case OPT_HANG_RATE:	cfg->faults.hang_rate = main_pct(name, optarg); break;
		case OPT_HANG_MS:	cfg->faults.hang_ms = (unsigned)main_long(name, optarg, 1, 3600000); break;
		case OPT_DROP_RATE:	cfg->faults.drop_rate = main_pct(name, optarg); break;
		case OPT_CREDITS:	cfg->credits_per_minute = main_long(name, optarg, 0, 100000000); break;
		case OPT_CONCURRENCY:	cfg->max_concurrency = main_long(name, optarg, 0, 1000000); break;
		case OPT_TOKEN_TTL:	cfg->token_ttl = main_long(name, optarg, 1, 100000000); break;
		case OPT_CLIENT_ID:	cfg->client_id = optarg; break;
		case OPT_CLIENT_SECRET:	cfg->client_secret = optarg; break;
		case OPT_REFRESH_TOKEN:	cfg->refresh_token = optarg; break;
		case OPT_MAX_BODY:
			if (kb_parse_size(optarg, &size, &err) == -1)
				main_die_usage(name, err.msg);
			if (size < 1024 || size > 1024u * 1024 * 1024)
				main_die_usage(name, "must be from 1k to 1g");
			cfg->max_body = (size_t)size;
			break;
		case OPT_REQUEST_LOG:	cfg->request_log = (size_t)main_long(name, optarg, 0, 1000000); break;
		case OPT_RANDOM_SEED:
			cfg->random_seed = (uint64_t)main_long(name, optarg, 0, LONG_MAX);
			cfg->have_random_seed = 1;
			break;
		case OPT_ASPOS_CLIENT_ID:	cfg->aspos_client_id = optarg; break;
		case OPT_ASPOS_CLIENT_SECRET:	cfg->aspos_client_secret = optarg; break;
		case OPT_ASPOS_SEED:		cfg->aspos_seed_path = optarg; break;
		case OPT_ASPOS_TOKEN_TTL:
			cfg->aspos_token_ttl = main_long(name, optarg, 1, 100000000);
			break;
		case OPT_ASPOS_PAGE_SIZE:
			cfg->aspos_page_size = main_long(name, optarg, 1, 10000);
			break;
		case OPT_LOG_LEVEL:
			if (kb_log_level_parse(optarg, &lvl) == -1)
				main_die_usage(name, "must be debug, info, warn or error");
			kb_log_set_level(lvl);
			break;
		default:
			fprintf(stderr, "Try 'kassaboek-sandbox --help'.\n");
			exit(EX_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kassaboek-sandbox: unexpected argument '%s'\nTry 'kassaboek-sandbox --help'.\n",
		    argv[optind]);
		exit(EX_USAGE);
	}
	if (*cfg->client_id == '\0' || *cfg->client_secret == '\0' || *cfg->refresh_token == '\0')
		main_die_usage("client-id", "client id, secret and refresh token must not be empty");
	if (*cfg->aspos_client_id == '\0' || *cfg->aspos_client_secret == '\0')
		main_die_usage("aspos-client-id", "AsPos client id and secret must not be empty");
}

/* Splits HOST:PORT ([v6]:PORT too); host into buf. */
static int
main_split_listen(const char *s, char *host, size_t hlen, int *port)
{
	const char	*colon = strrchr(s, ':');
	long long	 p;
	size_t		 n;

	if (colon == NULL || kb_parse_int(colon + 1, 0, 65535, &p, NULL) == -1)
		return (-1);
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= hlen)
		return (-1);
	memcpy(host, s, n);
	host[n] = '\0';
	*port = (int)p;
	return (0);
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sb_server	*srv = arg;

	kb_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(srv->base);
}

static void
main_xml_silent(void *ctx, const char *msg, ...)
{
}

static void
main_xml_silent_structured(void *ctx, xmlErrorPtr e)
{
}

int
main(int argc, char **argv)
{
	static struct sb_server	 srv;
	struct evhttp_bound_socket *bound;
	struct event		*sigint = NULL, *sigterm = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof ss;
	struct kb_err		 err;
	char			 host[256];
	const char		*seed_path;
	int			 port, one, rc = EX_OK;

	kb_log_init("sandbox");
	main_parse(argc, argv, &srv.cfg);
	signal(SIGPIPE, SIG_IGN);
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, main_xml_silent);
	xmlSetStructuredErrorFunc(NULL, main_xml_silent_structured);
	kb_log_capture_libevent();

	srv.magic = SB_SERVER_MAGIC;
	TAILQ_INIT(&srv.pending);
	srv.faults = srv.cfg.faults;
	srv.rng = srv.cfg.have_random_seed ? srv.cfg.random_seed * 2654435761ULL + 1 :
	    (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (srv.rng == 0)
		srv.rng = 1;
	sb_tokens_init(&srv.tokens, srv.cfg.token_ttl);
	sb_limits_init(&srv.limits, srv.cfg.credits_per_minute, srv.cfg.max_concurrency);
	srv.log.cap = srv.cfg.request_log;
	srv.log.ring = xcalloc(srv.log.cap > 0 ? srv.log.cap : 1, sizeof *srv.log.ring);

	if (main_split_listen(srv.cfg.listen, host, sizeof host, &port) == -1) {
		fprintf(stderr, "kassaboek-sandbox: --listen: '%s' is not HOST:PORT\n", srv.cfg.listen);
		rc = EX_USAGE;
		goto out;
	}
	seed_path = srv.cfg.seed_path != NULL ? srv.cfg.seed_path : main_default_seed();
	if (access(seed_path, R_OK) != 0) {
		kb_error("seed file %s cannot be read", seed_path);
		rc = EX_NOINPUT;
		goto out;
	}
	if ((srv.seed = sb_seed_load(seed_path, &err)) == NULL ||
	    (srv.store = sb_seed_build(srv.seed, time(NULL), &err)) == NULL) {
		kb_error("bad seed: %s", err.msg);
		rc = EX_DATAERR;
		goto out;
	}
	if (srv.cfg.aspos_seed_path != NULL && access(srv.cfg.aspos_seed_path, R_OK) != 0) {
		kb_error("AsPos seed file %s cannot be read", srv.cfg.aspos_seed_path);
		rc = EX_NOINPUT;
		goto out;
	}
	if ((srv.aspos = sb_aspos_new(&srv.cfg, &err)) == NULL) {
		kb_error("bad AsPos seed: %s", err.msg);
		rc = EX_DATAERR;
		goto out;
	}

	if ((srv.base = event_base_new()) == NULL || (srv.http = evhttp_new(srv.base)) == NULL) {
		kb_error("cannot create the event loop");
		rc = EX_OSERR;
		goto out;
	}
	evhttp_set_max_body_size(srv.http, (ev_ssize_t)srv.cfg.max_body);
	evhttp_set_max_headers_size(srv.http, 64 * 1024);
	evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(srv.http, sb_http_cb, &srv);
	if ((bound = evhttp_bind_socket_with_handle(srv.http, host, (ev_uint16_t)port)) == NULL) {
		kb_error("cannot listen on %s", srv.cfg.listen);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	/*
	 * No Nagle: a reply's last segment must not wait for the client's delayed
	 * ACK (40 ms per answer would swamp the latency a benchmark asks for).
	 * Linux hands the option on to every accepted connection.
	 */
	one = 1;
	(void)setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sslen) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(srv.bound_url, sizeof srv.bound_url, strchr(host, ':') != NULL ?
	    "http://[%s]:%d" : "http://%s:%d", host, port);
	srv.port = port;
	if (srv.cfg.port_file != NULL && kb_write_port_file(srv.cfg.port_file, port) == -1) {
		kb_error("cannot write the port file %s", srv.cfg.port_file);
		rc = EX_CANTCREAT;
		goto out;
	}
	sigint = evsignal_new(srv.base, SIGINT, main_signal_cb, &srv);
	sigterm = evsignal_new(srv.base, SIGTERM, main_signal_cb, &srv);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);

	printf("kassaboek-sandbox listening on %s\n", srv.bound_url);
	fflush(stdout);
	kb_info("listening on %s (seed %s, %zu offices, credits/min %ld, max concurrency %ld)",
	    srv.bound_url, seed_path, srv.store->noffices, srv.limits.credits_per_minute,
	    srv.limits.max_concurrency);
	event_base_dispatch(srv.base);
	kb_info("stopped");
out:
	sb_http_shutdown(&srv);
	if (sigint != NULL)
		event_free(sigint);
	if (sigterm != NULL)
		event_free(sigterm);
	if (srv.http != NULL)
		evhttp_free(srv.http);
	if (srv.base != NULL)
		event_base_free(srv.base);
	sb_store_free(srv.store);
	sb_aspos_free(srv.aspos);
	json_object_put(srv.seed);
	sb_tokens_free(&srv.tokens);
	sb_limits_free(&srv.limits);
	sb_log_free(&srv.log);
	xmlCleanupParser();
	return (rc);
}
