/* Configuration loading: file, defaults, env overrides, every kind of error, redaction. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/config-internal.h"
#include "kassaboek/config.h"
#include "check-main.h"

#define SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static char	errbuf[8192];

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *
write_conf(const char *text)
{
	static char	path[64];
	int		fd;

	strcpy(path, "/tmp/kb-check-config-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return (path);
}

/* Loads text; errors land in errbuf. */
static struct kb_config *
load(const char *text)
{
	struct kb_config	*cfg;
	const char		*path = write_conf(text);
	FILE			*errs;

	errs = fmemopen(errbuf, sizeof errbuf, "w");
	cfg = kb_config_load(path, errs);
	fclose(errs);
	unlink(path);
	return (cfg);
}

static void
clear_env(void)
{
	unsetenv("KASSABOEK_SERVER_WEBHOOK_SECRET");
	unsetenv("KASSABOEK_SERVER_MAX_BODY");
	unsetenv("KASSABOEK_SERVER_LISTN");
	unsetenv("KASSABOEK_WORKER_PROCESSES");
}

START_TEST(test_defaults_and_values)
{
	struct kb_config	*cfg;

	clear_env();
	cfg = load("[server]\nwebhook_secret = " SECRET "\nmax_body = 64k\ntimestamp_tolerance = 90s\n"
	    "[worker]\nprocesses = 4\nbackoff_base = 500ms\n[orders]\ncreate_articles = yes\n");
	ck_assert_msg(cfg != NULL, "%s", errbuf);
	ck_assert_uint_eq(cfg->server.max_body, 65536);
	ck_assert_uint_eq(cfg->server.timestamp_tolerance_ms, 90000);
	ck_assert_uint_eq(cfg->server.dedupe_window_ms, 72ULL * 3600 * 1000);
	ck_assert_int_eq(cfg->server.scheme, KB_SIG_STANDARD);
	ck_assert_int_eq(cfg->worker.processes, 4);
	ck_assert_uint_eq(cfg->worker.backoff_base_ms, 500);
	ck_assert_int_eq(cfg->orders.create_articles, 1);
	ck_assert_int_eq(cfg->orders.update_customers, 1);
	ck_assert_str_eq(cfg->orders.employee_number, "999999");
	ck_assert_str_eq(cfg->redis.prefix, "kb");
	kb_config_free(cfg);
}
END_TEST

START_TEST(test_env_overrides_file)
{
	struct kb_config	*cfg;

	clear_env();
	setenv("KASSABOEK_SERVER_MAX_BODY", "2m", 1);
	setenv("KASSABOEK_SERVER_WEBHOOK_SECRET", SECRET, 1);
	cfg = load("[server]\nmax_body = 64k\n");
	ck_assert_msg(cfg != NULL, "%s", errbuf);
	ck_assert_uint_eq(cfg->server.max_body, 2 * 1024 * 1024);
	ck_assert_str_eq(cfg->server.webhook_secret, SECRET);
	kb_config_free(cfg);
	clear_env();
}
END_TEST

START_TEST(test_errors_name_file_line_key)
{
	clear_env();
	ck_assert_ptr_null(load("[server]\nwebhook_secret = " SECRET "\n\nmax_body = lots\n"));
	ck_assert_msg(strstr(errbuf, ":4: [server] max_body: 'lots' is not a number") != NULL, "%s", errbuf);

	ck_assert_ptr_null(load("[server]\nwebhook_secret = " SECRET "\nlisten_addr = 1\n"));
	ck_assert_msg(strstr(errbuf, ":3: [server] unknown key 'listen_addr'") != NULL, "%s", errbuf);

	ck_assert_ptr_null(load("[servr]\nlisten = 1\n"));
	ck_assert_msg(strstr(errbuf, ":2: unknown section [servr]") != NULL, "%s", errbuf);

	ck_assert_ptr_null(load("[server]\nwebhook_secret = " SECRET "\nsignature = rsa\n"));
	ck_assert_msg(strstr(errbuf, ":3: [server] signature: 'rsa' is not one of: standard, hmac, token, none")
	    != NULL, "%s", errbuf);

	ck_assert_ptr_null(load("[server]\nwebhook_secret = " SECRET "\n[worker]\nprocesses = 0\n"));
	ck_assert_msg(strstr(errbuf, ":4: [worker] processes: 0 is out of range (1..256)") != NULL, "%s", errbuf);

	ck_assert_ptr_null(load("[server]\nwebhook_secret = " SECRET "\nthis is not ini\n"));
	ck_assert_msg(strstr(errbuf, ":3: syntax error") != NULL, "%s", errbuf);
}
END_TEST

START_TEST(test_every_problem_reported)
{
	clear_env();
	ck_assert_ptr_null(load("[server]\nmax_body = x\nfoo = 1\n[worker]\nprocesses = -3\n"));
	ck_assert_msg(strstr(errbuf, ":2:") && strstr(errbuf, ":3:") && strstr(errbuf, ":5:"), "%s", errbuf);
}
END_TEST

START_TEST(test_missing_required_key)
{
	clear_env();
	ck_assert_ptr_null(load("[server]\nsignature = standard\n"));
	ck_assert_msg(strstr(errbuf, "[server] webhook_secret: required when signature = standard") != NULL,
	    "%s", errbuf);
	ck_assert_ptr_null(load("[server]\nsignature = none\n[orders]\nforce_default_debtor = yes\n"));
	ck_assert_msg(strstr(errbuf, ":4: [orders] force_default_debtor: yes needs [orders] default_debtor to be set")
	    != NULL, "%s", errbuf);
}
END_TEST

START_TEST(test_bad_env)
{
	struct kb_config	*cfg;

	clear_env();
	setenv("KASSABOEK_WORKER_PROCESSES", "many", 1);
	ck_assert_ptr_null(load("[server]\nwebhook_secret = " SECRET "\n"));
	ck_assert_msg(strstr(errbuf, "environment: KASSABOEK_WORKER_PROCESSES: 'many' is not a whole number")
	    != NULL, "%s", errbuf);
	clear_env();
	setenv("KASSABOEK_SERVER_LISTN", "x", 1);
	cfg = load("[server]\nwebhook_secret = " SECRET "\n");
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(errbuf, "KASSABOEK_SERVER_LISTN: no such setting") != NULL, "%s", errbuf);
	clear_env();
}
END_TEST

START_TEST(test_missing_file)
{
	FILE	*errs = fmemopen(errbuf, sizeof errbuf, "w");

	ck_assert_ptr_null(kb_config_load("/nonexistent/kassaboek.conf", errs));
	fclose(errs);
	ck_assert_msg(strstr(errbuf, "/nonexistent/kassaboek.conf: cannot open") != NULL, "%s", errbuf);
}
END_TEST

START_TEST(test_print_redacts_secrets)
{
	struct kb_config	*cfg;
	char			 out[16384];
	FILE			*f;

	clear_env();
	cfg = load("[server]\nwebhook_secret = " SECRET "\n[twinfield]\nclient_secret = hush\n"
	    "[redis]\nurl = redis://:pw@127.0.0.1:6379/0\n");
	ck_assert_msg(cfg != NULL, "%s", errbuf);
	f = fmemopen(out, sizeof out, "w");
	kb_config_print(cfg, f);
	fclose(f);
	ck_assert_ptr_null(strstr(out, "MfKQ9r8"));
	ck_assert_ptr_null(strstr(out, "hush"));
	ck_assert_ptr_null(strstr(out, "pw@"));
	ck_assert_ptr_nonnull(strstr(out, "webhook_secret = <redacted>"));
	ck_assert_ptr_nonnull(strstr(out, "max_body = 1m"));
	ck_assert_ptr_nonnull(strstr(out, "dedupe_window = 3d"));
	kb_config_free(cfg);
}
END_TEST

/* The shipped example documents every key with its real default. */
START_TEST(test_example_file_matches_table)
{
	char		 path[1024], *text;
	const char	*srcdir = getenv("KB_SRCDIR");
	FILE		*f;
	long		 len;
	size_t		 i;
	char		 needle[256];

	snprintf(path, sizeof path, "%s/conf/kassaboek.conf", srcdir ? srcdir : "../..");
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	ck_assert_int_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (i = 0; i < config_nkeys; i++) {
		snprintf(needle, sizeof needle, "\n%s = %s\n", config_keys[i].name, config_keys[i].def);
		ck_assert_msg(strstr(text, needle) != NULL, "conf/kassaboek.conf lacks [%s] %s = %s",
		    config_keys[i].section, config_keys[i].name, config_keys[i].def);
	}
	free(text);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_defaults_and_values);
	tcase_add_test(tc, test_env_overrides_file);
	tcase_add_test(tc, test_errors_name_file_line_key);
	tcase_add_test(tc, test_every_problem_reported);
	tcase_add_test(tc, test_missing_required_key);
	tcase_add_test(tc, test_bad_env);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_print_redacts_secrets);
	tcase_add_test(tc, test_example_file_matches_table);
	suite_add_tcase(s, tc);
	return (s);
}

KB_CHECK_MAIN(config_suite)
