/*
 * tf-drive: drives the Twinfield client (src/twinfield/) on one event loop
 * for the integration tests and the throttle benchmark. Every command
 * prints one JSON object on stdout.
 *
 *   tf-drive [options] COMMAND [ARGS]     run one command and exit
 *   tf-drive [options] shell              read commands from stdin, one a line
 *
 * Commands:
 *   process FILE                 send the XML document in FILE (ProcessXmlString)
 *   read-dim TYPE CODE           read a dimension
 *   offices                      list offices (no CompanyCode)
 *   search TYPE PATTERN FIELD [NAME VALUE]...   Finder Search
 *   customer EMAIL [NAME]        customer lookup by e-mail (tf-finder.c)
 *   writes COUNT PARALLEL [DURATION_MS]
 *                                KPL writes as fast as the client lets them go:
 *                                keep PARALLEL submitted, stop after COUNT
 *                                (0 = no limit) or DURATION_MS
 *   stats                        the client's counters
 *   sleep MS                     (shell) wait
 *
 * Options: --login-url URL --cluster-url URL --client-id ID --client-secret S
 *   --refresh-token T --office CODE --redis URL --prefix P --org ORG
 *   --credits-per-minute N --max-concurrency N --timeout-ms N --batch-size N
 *   --max-retries N --max-response BYTES
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <libxml/parser.h>

#include "kassaboek/tf.h"
#include "kassaboek/tf-doc.h"
#include "kassaboek/tf-finder.h"
#include "kassaboek/tf-soap.h"
#include "kassaboek/xmalloc.h"

#define DRIVE_MAX_ARGS	32

struct drive {
	struct event_base	*base;
	struct tf_client	*client;
	struct tf_config	 cfg;
	int			 shell;
	int			 busy;		/* a command is running */
	int			 failed;	/* exit status of a one-shot command */
	struct event		*stdin_ev;
	struct event		*timer;
	struct event		*sleep_ev;
	char			 line[8192];
	size_t			 linelen;
	int			 eof;
	/* writes */
	unsigned long		 w_count;
	unsigned		 w_parallel;
	uint64_t		 w_deadline;
	unsigned long		 w_sent;
	unsigned		 w_out;
	unsigned long		 w_done;
	unsigned long		 w_kinds[TF_ERR_TOO_LARGE + 1];
	uint64_t		 w_start;
	int			 w_stopping;
	unsigned		 seq;
	char			 tag[32];
};

static void	drive_next_line(struct drive *d);
static void	writes_fill(struct drive *d);
static void	sleep_done_cb(evutil_socket_t fd, short what, void *arg);

static uint64_t
now_ms(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return ((uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000);
}

static struct json_object *
stats_json(struct drive *d)
{
	struct json_object	*o;
	struct tf_stats		 s;

	tf_client_stats(d->client, &s);
	o = json_object_new_object();
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)s.requests));
	json_object_object_add(o, "credits", json_object_new_int64((int64_t)s.credits));
	json_object_object_add(o, "http_429", json_object_new_int64((int64_t)s.http_429));
	json_object_object_add(o, "retries", json_object_new_int64((int64_t)s.retries));
	json_object_object_add(o, "token_refreshes",
	    json_object_new_int64((int64_t)s.token_refreshes));
	json_object_object_add(o, "throttle_waits", json_object_new_int64((int64_t)s.throttle_waits));
	json_object_object_add(o, "ok", json_object_new_int64((int64_t)s.ok));
	json_object_object_add(o, "transient_errors",
	    json_object_new_int64((int64_t)s.transient_errors));
	json_object_object_add(o, "permanent_errors",
	    json_object_new_int64((int64_t)s.permanent_errors));
	json_object_object_add(o, "in_flight", json_object_new_int(s.in_flight));
	json_object_object_add(o, "queued", json_object_new_int(s.queued));
	json_object_object_add(o, "max_in_flight", json_object_new_int(s.max_in_flight));
	return (o);
}

static void
emit(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

/* A command ended: next shell line, or leave the loop. */
static void
drive_done(struct drive *d, int ok)
{
	d->busy = 0;
	if (!ok)
		d->failed = 1;
	if (d->shell)
		drive_next_line(d);
	else
		event_base_loopbreak(d->base);
}

static struct json_object *
response_json(const struct tf_response *r)
{
	struct json_object	*o, *docs, *doc, *msgs, *m, *rows, *row;
	size_t			 i, j;

	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(tf_err_kind_name(r->kind)));
	json_object_object_add(o, "transient", json_object_new_boolean(tf_err_transient(r->kind)));
	json_object_object_add(o, "message", json_object_new_string(r->message));
	json_object_object_add(o, "http_status", json_object_new_int((int)r->http_status));
	json_object_object_add(o, "attempts", json_object_new_int((int)r->attempts));
	json_object_object_add(o, "credits", json_object_new_int((int)r->credits));
	if (r->fault != NULL)
		json_object_object_add(o, "fault_code", json_object_new_int((int)r->fault->code));
	docs = json_object_new_array();
	for (i = 0; i < r->ndocs; i++) {
		doc = json_object_new_object();
		json_object_object_add(doc, "ok", json_object_new_boolean(r->docs[i].ok));
		if (r->docs[i].summary != NULL)
			json_object_object_add(doc, "summary",
			    json_object_new_string(r->docs[i].summary));
		msgs = json_object_new_array();
		for (j = 0; j < r->docs[i].nmsgs; j++) {
			m = json_object_new_object();
			json_object_object_add(m, "path",
			    json_object_new_string(r->docs[i].msgs[j].path));
			json_object_object_add(m, "text",
			    json_object_new_string(r->docs[i].msgs[j].text));
			json_object_object_add(m, "warning",
			    json_object_new_boolean(r->docs[i].msgs[j].warning));
			json_object_array_add(msgs, m);
		}
		json_object_object_add(doc, "msgs", msgs);
		/* The stored object as Twinfield returned it. */
		if (r->doc != NULL) {
			xmlBuffer	*b = xmlBufferCreate();

			xmlNodeDump(b, r->doc, r->docs[i].node, 0, 0);
			json_object_object_add(doc, "xml",
			    json_object_new_string((const char *)xmlBufferContent(b)));
			xmlBufferFree(b);
		}
		json_object_array_add(docs, doc);
	}
	json_object_object_add(o, "docs", docs);
	if (r->finder != NULL) {
		json_object_object_add(o, "total_rows",
		    json_object_new_int64(r->finder->total_rows));
		rows = json_object_new_array();
		for (i = 0; i < r->finder->nrows; i++) {
			row = json_object_new_array();
			for (j = 0; j < r->finder->row_len[i]; j++)
				json_object_array_add(row,
				    json_object_new_string(r->finder->rows[i][j]));
			json_object_array_add(rows, row);
		}
		json_object_object_add(o, "rows", rows);
	}
	return (o);
}

static void
one_done(const struct tf_response *r, void *arg)
{
	struct drive		*d = arg;
	struct json_object	*o;

	o = response_json(r);
	json_object_object_add(o, "stats", stats_json(d));
	emit(o);
	drive_done(d, r->kind == TF_OK);
}

static void
customer_done(enum tf_err_kind kind, const char *msg, const char *code, unsigned credits,
    void *arg)
{
	struct drive		*d = arg;
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(tf_err_kind_name(kind)));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "code", code != NULL ? json_object_new_string(code) : NULL);
	json_object_object_add(o, "credits", json_object_new_int((int)credits));
	json_object_object_add(o, "stats", stats_json(d));
	emit(o);
	drive_done(d, kind == TF_OK);
}

static void
usage_error(struct drive *d, const char *msg)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string("usage"));
	json_object_object_add(o, "message", json_object_new_string(msg));
	emit(o);
	drive_done(d, 0);
}

static void
submit_doc(struct drive *d, xmlDoc *doc, const char *office)
{
	struct kb_err	err;

	if (tf_client_process(d->client, office, doc, one_done, d, &err) == -1)
		usage_error(d, err.msg);
}

/* ---- writes: KPL upserts as fast as the throttle allows */

static void
writes_finish(struct drive *d)
{
	struct json_object	*o, *kinds;
	size_t			 i;
	uint64_t		 el = now_ms() - d->w_start;

	evtimer_del(d->timer);
	d->w_stopping = 1;
	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string("ok"));
	json_object_object_add(o, "sent", json_object_new_int64((int64_t)d->w_sent));
	json_object_object_add(o, "done", json_object_new_int64((int64_t)d->w_done));
	kinds = json_object_new_object();
	for (i = 0; i <= TF_ERR_TOO_LARGE; i++)
		if (d->w_kinds[i] > 0)
			json_object_object_add(kinds, tf_err_kind_name((enum tf_err_kind)i),
			    json_object_new_int64((int64_t)d->w_kinds[i]));
	json_object_object_add(o, "kinds", kinds);
	json_object_object_add(o, "elapsed_ms", json_object_new_int64((int64_t)el));
	json_object_object_add(o, "stats", stats_json(d));
	emit(o);
	drive_done(d, 1);
}

static void
writes_one_done(const struct tf_response *r, void *arg)
{
	struct drive	*d = arg;

	d->w_out--;
	d->w_done++;
	d->w_kinds[r->kind]++;
	if (d->w_stopping)
		return;
	writes_fill(d);
}

static void
writes_fill(struct drive *d)
{
	struct tf_dimension	 dim;
	struct kb_err		 err;
	xmlDoc			*doc;
	char			 code[48], name[96];

	while (!d->w_stopping && d->w_out < d->w_parallel &&
	    (d->w_count == 0 || d->w_sent < d->w_count) &&
	    (d->w_deadline == 0 || now_ms() < d->w_deadline)) {
		memset(&dim, 0, sizeof dim);
		snprintf(code, sizeof code, "W%.8s%lu", d->tag, d->w_sent % 500);
		snprintf(name, sizeof name, "Drive %s write %lu", d->tag, d->w_sent);
		dim.office = d->cfg.office;
		dim.type = "KPL";
		dim.code = code;
		dim.name = name;
		doc = tf_build_doc_new();
		tf_build_dimension(doc, NULL, &dim, &err);
		if (tf_client_process(d->client, NULL, doc, writes_one_done, d, &err) == -1) {
			xmlFreeDoc(doc);
			break;
		}
		xmlFreeDoc(doc);
		d->w_sent++;
		d->w_out++;
	}
	if (d->w_out == 0)
		writes_finish(d);
}

static void
writes_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct drive	*d = arg;

	if (!d->busy)
		return;
	/* Time is up: stop submitting; queued requests are cancelled on exit. */
	d->w_stopping = 1;
	writes_finish(d);
}

/* ---- command dispatch */

static void
drive_run(struct drive *d, int argc, char **argv)
{
	struct tf_customer_query	 q;
	struct tf_search		 s;
	struct kb_err			 err;
	struct timeval			 tv;
	xmlDoc				*doc;
	const char			*opts[DRIVE_MAX_ARGS];
	int				 i;

	d->busy = 1;
	if (argc < 1) {
		usage_error(d, "no command");
		return;
	}
	if (strcmp(argv[0], "process") == 0 && argc == 2) {
		doc = xmlReadFile(argv[1], NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
		if (doc == NULL) {
			usage_error(d, "cannot read the XML file");
			return;
		}
		submit_doc(d, doc, NULL);
		xmlFreeDoc(doc);
	} else if (strcmp(argv[0], "read-dim") == 0 && argc == 3) {
		doc = tf_build_read_dimension(d->cfg.office, argv[1], argv[2]);
		submit_doc(d, doc, NULL);
		xmlFreeDoc(doc);
	} else if (strcmp(argv[0], "offices") == 0) {
		doc = tf_build_list_offices();
		submit_doc(d, doc, "");
		xmlFreeDoc(doc);
	} else if (strcmp(argv[0], "search") == 0 && argc >= 4 && argc % 2 == 0 &&
	    argc - 4 <= DRIVE_MAX_ARGS) {
		memset(&s, 0, sizeof s);
		s.type = argv[1];
		s.pattern = argv[2];
		s.field = atoi(argv[3]);
		for (i = 4; i < argc; i++)
			opts[i - 4] = argv[i];
		s.options = opts;
		s.noptions = (size_t)(argc - 4) / 2;
		if (tf_client_search(d->client, &s, one_done, d, &err) == -1)
			usage_error(d, err.msg);
	} else if (strcmp(argv[0], "customer") == 0 && (argc == 2 || argc == 3)) {
		memset(&q, 0, sizeof q);
		q.email = argv[1];
		q.name_hint = argc == 3 ? argv[2] : NULL;
		if (tf_finder_customer_by_email(d->client, &q, customer_done, d, &err) == -1)
			usage_error(d, err.msg);
	} else if (strcmp(argv[0], "writes") == 0 && (argc == 3 || argc == 4)) {
		d->w_count = strtoul(argv[1], NULL, 10);
		d->w_parallel = (unsigned)strtoul(argv[2], NULL, 10);
		if (d->w_parallel == 0)
			d->w_parallel = 1;
		d->w_start = now_ms();
		d->w_sent = d->w_done = 0;
		d->w_out = 0;
		d->w_stopping = 0;
		memset(d->w_kinds, 0, sizeof d->w_kinds);
		d->w_deadline = 0;
		if (argc == 4) {
			d->w_deadline = d->w_start + strtoull(argv[3], NULL, 10);
			tv.tv_sec = (time_t)((d->w_deadline - d->w_start) / 1000);
			tv.tv_usec = (suseconds_t)((d->w_deadline - d->w_start) % 1000) * 1000;
			evtimer_add(d->timer, &tv);
		}
		writes_fill(d);
	} else if (strcmp(argv[0], "stats") == 0) {
		struct json_object	*o = json_object_new_object();

		json_object_object_add(o, "kind", json_object_new_string("ok"));
		json_object_object_add(o, "stats", stats_json(d));
		emit(o);
		drive_done(d, 1);
	} else
		usage_error(d, "unknown command or wrong arguments");
}

static void
sleep_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct drive		*d = arg;
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string("ok"));
	emit(o);
	drive_done(d, 1);
}

/* Runs the next complete line of the buffer, if no command is running. */
static void
drive_next_line(struct drive *d)
{
	char		*nl, *argv[DRIVE_MAX_ARGS + 4], *tok, *save;
	int		 argc = 0;
	struct timeval	 tv;
	long		 ms;

	while (!d->busy && (nl = memchr(d->line, '\n', d->linelen)) != NULL) {
		char	cmd[8192];
		size_t	n = (size_t)(nl - d->line);

		memcpy(cmd, d->line, n);
		cmd[n] = '\0';
		memmove(d->line, nl + 1, d->linelen - n - 1);
		d->linelen -= n + 1;
		for (tok = strtok_r(cmd, " \t", &save); tok != NULL && argc < DRIVE_MAX_ARGS + 4;
		    tok = strtok_r(NULL, " \t", &save))
			argv[argc++] = tok;
		if (argc == 0)
			continue;
		if (strcmp(argv[0], "quit") == 0) {
			event_base_loopbreak(d->base);
			return;
		}
		if (strcmp(argv[0], "sleep") == 0 && argc == 2) {
			ms = strtol(argv[1], NULL, 10);
			tv.tv_sec = ms / 1000;
			tv.tv_usec = (ms % 1000) * 1000;
			d->busy = 1;
			evtimer_add(d->sleep_ev, &tv);
			return;
		}
		drive_run(d, argc, argv);
	}
	if (!d->busy && d->eof)
		event_base_loopbreak(d->base);
}

static void
stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct drive	*d = arg;
	ssize_t		 n;

	n = read(fd, d->line + d->linelen, sizeof d->line - d->linelen - 1);
	if (n <= 0) {
		d->eof = 1;
		event_del(d->stdin_ev);
		if (d->linelen > 0 && d->line[d->linelen - 1] != '\n')
			d->line[d->linelen++] = '\n';
	} else
		d->linelen += (size_t)n;
	drive_next_line(d);
}

static void
shutdown_cb(void *arg)
{
	struct drive	*d = arg;

	event_base_loopbreak(d->base);
}

static void
refresh_token_cb(const char *token, void *arg)
{
	fprintf(stderr, "{\"event\":\"refresh_token_rotated\"}\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "login-url", required_argument, NULL, 'L' },
		{ "cluster-url", required_argument, NULL, 'C' },
		{ "client-id", required_argument, NULL, 'i' },
		{ "client-secret", required_argument, NULL, 's' },
		{ "refresh-token", required_argument, NULL, 'r' },
		{ "office", required_argument, NULL, 'o' },
		{ "redis", required_argument, NULL, 'R' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "org", required_argument, NULL, 'g' },
		{ "credits-per-minute", required_argument, NULL, 'c' },
		{ "max-concurrency", required_argument, NULL, 'm' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "batch-size", required_argument, NULL, 'b' },
		{ "max-retries", required_argument, NULL, 'x' },
		{ "max-response", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	struct drive	 d;
	struct kb_err	 err;
	int		 ch;

	memset(&d, 0, sizeof d);
	d.cfg.client_id = "sandbox-client";
	d.cfg.client_secret = "sandbox-secret";
	d.cfg.refresh_token = "sandbox-refresh-token";
	d.cfg.office = "001";
	d.cfg.redis_prefix = "kb";
	d.cfg.organisation = "sandbox";
	d.cfg.refresh_token_cb = refresh_token_cb;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'L': d.cfg.login_url = optarg; break;
		case 'C': d.cfg.cluster_url = optarg; break;
		case 'i': d.cfg.client_id = optarg; break;
		case 's': d.cfg.client_secret = optarg; break;
		case 'r': d.cfg.refresh_token = optarg; break;
		case 'o': d.cfg.office = optarg; break;
		case 'R': d.cfg.redis_url = optarg; break;
		case 'p': d.cfg.redis_prefix = optarg; break;
		case 'g': d.cfg.organisation = optarg; break;
		case 'c': d.cfg.credits_per_minute = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm': d.cfg.max_concurrency = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': d.cfg.request_timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': d.cfg.batch_size = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'x': d.cfg.max_retries = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'M': d.cfg.max_response = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: tf-drive [options] COMMAND [ARGS] (see tests/tf-drive.c)\n");
			return (2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fprintf(stderr, "tf-drive: no command\n");
		return (2);
	}
	signal(SIGPIPE, SIG_IGN);
	xmlInitParser();
	snprintf(d.tag, sizeof d.tag, "%ld", (long)getpid() % 100000);
	d.base = event_base_new();
	d.timer = evtimer_new(d.base, writes_deadline_cb, &d);
	d.sleep_ev = evtimer_new(d.base, sleep_done_cb, &d);
	if ((d.client = tf_client_new(d.base, &d.cfg, &err)) == NULL) {
		fprintf(stderr, "tf-drive: %s\n", err.msg);
		return (2);
	}
	if (strcmp(argv[0], "shell") == 0) {
		d.shell = 1;
		d.stdin_ev = event_new(d.base, 0, EV_READ | EV_PERSIST, stdin_cb, &d);
		event_add(d.stdin_ev, NULL);
	} else
		drive_run(&d, argc, argv);
	if (d.busy || d.shell)
		event_base_dispatch(d.base);
	/* Let requests in flight finish and their slots go back to Redis. */
	tf_client_shutdown(d.client, shutdown_cb, &d);
	event_base_dispatch(d.base);
	tf_client_free(d.client);
	if (d.stdin_ev != NULL)
		event_free(d.stdin_ev);
	event_free(d.timer);
	event_free(d.sleep_ev);
	event_base_free(d.base);
	xmlCleanupParser();
	return (d.failed ? 1 : 0);
}
