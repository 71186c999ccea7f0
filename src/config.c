/*
 * Loading the configuration: defaults from the key table, then the INI file
 * (libinih, through our own line reader so every problem can name its line),
 * then KASSABOEK_<SECTION>_<KEY> environment overrides, then the rules that
 * span several keys. Every problem is reported, not just the first.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config-internal.h"
#include "kassaboek/units.h"
#include "kassaboek/xmalloc.h"

extern char **environ;

#define CONFIG_ENV_PREFIX	"KASSABOEK_"

struct config_loader {
	struct kb_config	*cfg;
	FILE			*errors;
	const char		*file;
	FILE			*stream;
	int			 line;		/* line most recently read */
	int			 too_long;	/* that line was cut short */
	int			 nerrors;
	int			*key_line;	/* per key: where it was last set, 0 = default */
	const char		*section_seen;	/* last unknown section reported */
};

static void *
config_field(struct kb_config *cfg, const struct config_key *k)
{
	return ((char *)cfg + k->offset);
}

static void
config_problem(struct config_loader *l, const char *where, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
config_problem(struct config_loader *l, const char *where, int line, const char *fmt, ...)
{
	va_list	ap;

	if (line > 0)
		fprintf(l->errors, "%s:%d: ", where, line);
	else
		fprintf(l->errors, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(l->errors, fmt, ap);
	va_end(ap);
	fputc('\n', l->errors);
	l->nerrors++;
}

/* Stores value into the field of k; on a bad value fills err and returns -1. */
static int
config_set(struct kb_config *cfg, const struct config_key *k, const char *value, struct kb_err *err)
{
	void		*field = config_field(cfg, k);
	long long	 n;
	uint64_t	 u;
	int		 b;
	size_t		 i;

	switch (k->type) {
	case CONFIG_STRING:
		break;
	case CONFIG_ENUM:
		for (i = 0; k->choices[i] != NULL; i++)
			if (strcmp(value, k->choices[i]) == 0)
				break;
		if (k->choices[i] == NULL) {
			char	list[256] = "";

			for (i = 0; k->choices[i] != NULL; i++) {
				strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
				strncat(list, k->choices[i], sizeof list - strlen(list) - 1);
			}
			return (kb_err_set(err, "'%s' is not one of: %s", value, list));
		}
		break;
	case CONFIG_INT:
		if (kb_parse_int(value, k->min, k->max, &n, err) == -1)
			return (-1);
		*(long long *)field = n;
		return (0);
	case CONFIG_BOOL:
		if (kb_parse_bool(value, &b, err) == -1)
			return (-1);
		*(int *)field = b;
		return (0);
	case CONFIG_SIZE:
		if (kb_parse_size(value, &u, err) == -1)
			return (-1);
		if (u < (uint64_t)k->min || u > (uint64_t)k->max)
			return (kb_err_set(err, "'%s' is out of range (%lld..%lld bytes)", value, k->min, k->max));
		*(uint64_t *)field = u;
		return (0);
	case CONFIG_DURATION:
		if (kb_parse_duration_ms(value, &u, err) == -1)
			return (-1);
		if (u < (uint64_t)k->min || u > (uint64_t)k->max)
			return (kb_err_set(err, "'%s' is out of range (%lldms..%lldms)", value, k->min, k->max));
		*(uint64_t *)field = u;
		return (0);
	}
	free(*(char **)field);
	*(char **)field = xstrdup(value);
	return (0);
}

static const struct config_key *
config_find(const char *section, const char *name, int *known_section)
{
	size_t	i;

	*known_section = 0;
	for (i = 0; i < config_nkeys; i++) {
		if (strcmp(config_keys[i].section, section) != 0)
			continue;
		*known_section = 1;
		if (strcmp(config_keys[i].name, name) == 0)
			return (&config_keys[i]);
	}
	return (NULL);
}

/* ini_reader that counts lines and never lets inih split an over-long line. */
static char *
config_read_line(char *str, int num, void *stream)
{
	struct config_loader	*l = stream;
	size_t			 len;
	int			 c;

	if (fgets(str, num, l->stream) == NULL)
		return (NULL);
	l->line++;
	len = strlen(str);
	if (len > 0 && str[len - 1] != '\n' && !feof(l->stream)) {
		/* Too long for inih: report it, drop the rest, hand inih an empty line. */
		while ((c = fgetc(l->stream)) != EOF && c != '\n')
			;
		config_problem(l, l->file, l->line, "line longer than %d characters", num - 2);
		str[0] = '\0';
	}
	return (str);
}

static int
config_ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct config_loader		*l = user;
	const struct config_key		*k;
	struct kb_err			 err;
	int				 known_section;

	k = config_find(section, name, &known_section);
	if (k == NULL) {
		if (!known_section)
			config_problem(l, l->file, l->line, "unknown section [%s] (key '%s')", section, name);
		else
			config_problem(l, l->file, l->line, "[%s] unknown key '%s'", section, name);
		return (1);
	}
	if (config_set(l->cfg, k, value, &err) == -1) {
		config_problem(l, l->file, l->line, "[%s] %s: %s", section, name, err.msg);
		return (1);
	}
	l->key_line[k - config_keys] = l->line;
	return (1);
}

static void
config_read_file(struct config_loader *l, const char *path)
{
	int	rc;

	if ((l->stream = fopen(path, "r")) == NULL) {
		config_problem(l, path, 0, "cannot open: %s", strerror(errno));
		return;
	}
	l->file = path;
	rc = ini_parse_stream(config_read_line, l, config_ini_cb, l);
	if (rc > 0)
		config_problem(l, path, rc, "syntax error (expected [section] or key = value)");
	else if (rc < 0)
		config_problem(l, path, 0, "cannot parse the file");
	fclose(l->stream);
	l->stream = NULL;
}

/* KASSABOEK_<SECTION>_<KEY> for key k, into buf. */
static void
config_env_name(const struct config_key *k, char *buf, size_t len)
{
	char	*p;

	snprintf(buf, len, "%s%s_%s", CONFIG_ENV_PREFIX, k->section, k->name);
	for (p = buf; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
}

static void
config_read_env(struct config_loader *l)
{
	char		  name[128], **e;
	const char	 *value;
	struct kb_err	  err;
	size_t		  i, len;
	int		  known;

	for (i = 0; i < config_nkeys; i++) {
		config_env_name(&config_keys[i], name, sizeof name);
		if ((value = getenv(name)) == NULL)
			continue;
		if (config_set(l->cfg, &config_keys[i], value, &err) == -1)
			config_problem(l, "environment", 0, "%s: %s", name, err.msg);
		else
			l->key_line[i] = -1;
	}
	/* A mistyped override must not be silently ignored: secrets travel this way. */
	for (e = environ; *e != NULL; e++) {
		if (strncmp(*e, CONFIG_ENV_PREFIX, strlen(CONFIG_ENV_PREFIX)) != 0)
			continue;
		len = strcspn(*e, "=");
		known = 0;
		for (i = 0; i < config_nkeys && !known; i++) {
			config_env_name(&config_keys[i], name, sizeof name);
			known = strlen(name) == len && strncmp(name, *e, len) == 0;
		}
		if (!known && strncmp(*e, "KASSABOEK_CONFIG=", 17) != 0)
			config_problem(l, "environment", 0, "%.*s: no such setting (expected "
			    "KASSABOEK_<SECTION>_<KEY>)", (int)(len > 100 ? 100 : len), *e);
	}
}

/* Where key (section, name) was set, for cross-key messages. */
static void
config_where(struct config_loader *l, const char *section, const char *name, const char **file, int *line)
{
	size_t	i;

	*file = "defaults";
	*line = 0;
	for (i = 0; i < config_nkeys; i++) {
		if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].name, name) == 0) {
			if (l->key_line[i] > 0) {
				*file = l->file;
				*line = l->key_line[i];
			} else if (l->key_line[i] < 0)
				*file = "environment";
			return;
		}
	}
}

static void
config_cross_problem(struct config_loader *l, const char *section, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
config_cross_problem(struct config_loader *l, const char *section, const char *name, const char *fmt, ...)
{
	const char	*file;
	char		 msg[256];
	int		 line;
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	config_where(l, section, name, &file, &line);
	config_problem(l, file, line, "[%s] %s: %s", section, name, msg);
}

static void
config_validate(struct config_loader *l)
{
	struct kb_config	*cfg = l->cfg;
	const char		*p;

	if (strcmp(cfg->server.signature, "standard") == 0)
		cfg->server.scheme = KB_SIG_STANDARD;
	else if (strcmp(cfg->server.signature, "hmac") == 0)
		cfg->server.scheme = KB_SIG_HMAC;
	else if (strcmp(cfg->server.signature, "token") == 0)
		cfg->server.scheme = KB_SIG_TOKEN;
	else
		cfg->server.scheme = KB_SIG_NONE;
	if (cfg->server.scheme != KB_SIG_NONE && cfg->server.webhook_secret[0] == '\0')
		config_cross_problem(l, "server", "webhook_secret",
		    "required when signature = %s (or set signature = none for local development)",
		    cfg->server.signature);
	if (cfg->redis.prefix[0] == '\0' || strlen(cfg->redis.prefix) > 64)
		config_cross_problem(l, "redis", "prefix", "must be 1 to 64 characters");
	for (p = cfg->redis.prefix; *p != '\0'; p++) {
		if (*p == '{' || *p == '}' || isspace((unsigned char)*p) || !isprint((unsigned char)*p)) {
			config_cross_problem(l, "redis", "prefix",
			    "must not contain braces, spaces or control characters");
			break;
		}
	}
	if (cfg->worker.backoff_base_ms > cfg->worker.backoff_max_ms)
		config_cross_problem(l, "worker", "backoff_base", "larger than backoff_max");
	if (strcmp(cfg->orders.book_as, "transaction") != 0 && cfg->orders.invoice_type[0] == '\0')
		config_cross_problem(l, "orders", "invoice_type", "required when book_as = %s",
		    cfg->orders.book_as);
	if (cfg->orders.force_default_debtor && cfg->orders.default_debtor[0] == '\0')
		config_cross_problem(l, "orders", "force_default_debtor",
		    "yes needs [orders] default_debtor to be set");
	if (cfg->notify.smtp_url[0] != '\0' && (cfg->notify.from[0] == '\0' || cfg->notify.to[0] == '\0'))
		config_cross_problem(l, "notify", "smtp_url", "needs notify.from and notify.to too");
}

/*
 * Relative file names in the configuration are relative to the directory
 * of the configuration file, so a service started from / finds
 * /etc/kassaboek/mapping/order.json the same as a shell in the source tree
 * finds conf/mapping/order.json.
 */
static void
config_resolve_paths(struct kb_config *cfg)
{
	char		**paths[] = { &cfg->orders.mapping, &cfg->aspos.api_map };
	const char	 *slash;
	char		 *joined;
	size_t		  i;

	if (cfg->path == NULL || (slash = strrchr(cfg->path, '/')) == NULL)
		return;
	for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		if ((*paths[i])[0] == '/' || (*paths[i])[0] == '\0')
			continue;
		joined = xasprintf("%.*s/%s", (int)(slash - cfg->path), cfg->path, *paths[i]);
		free(*paths[i]);
		*paths[i] = joined;
	}
}

struct kb_config *
kb_config_load(const char *path, FILE *errors)
{
	struct config_loader	 l;
	struct kb_err		 err;
	size_t			 i;

	memset(&l, 0, sizeof l);
	l.cfg = xcalloc(1, sizeof *l.cfg);
	l.errors = errors;
	l.file = "defaults";
	l.key_line = xcalloc(config_nkeys, sizeof *l.key_line);
	for (i = 0; i < config_nkeys; i++) {
		if (config_set(l.cfg, &config_keys[i], config_keys[i].def, &err) == -1)
			config_problem(&l, "defaults", 0, "[%s] %s: %s", config_keys[i].section,
			    config_keys[i].name, err.msg);
	}
	if (path != NULL) {
		l.cfg->path = xstrdup(path);
		config_read_file(&l, path);
	}
	config_read_env(&l);
	if (l.nerrors == 0) {
		config_validate(&l);
		config_resolve_paths(l.cfg);
	}
	free(l.key_line);
	if (l.nerrors > 0) {
		kb_config_free(l.cfg);
		return (NULL);
	}
	return (l.cfg);
}

void
kb_config_free(struct kb_config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	for (i = 0; i < config_nkeys; i++) {
		if (config_keys[i].type == CONFIG_STRING || config_keys[i].type == CONFIG_ENUM)
			free(*(char **)config_field(cfg, &config_keys[i]));
	}
	free(cfg->path);
	free(cfg);
}

static void
config_print_duration(FILE *out, uint64_t ms)
{
	if (ms == 0)
		fputs("0", out);
	else if (ms % (86400 * 1000ULL) == 0)
		fprintf(out, "%llud", (unsigned long long)(ms / (86400 * 1000ULL)));
	else if (ms % (3600 * 1000ULL) == 0)
		fprintf(out, "%lluh", (unsigned long long)(ms / (3600 * 1000ULL)));
	else if (ms % (60 * 1000ULL) == 0)
		fprintf(out, "%llum", (unsigned long long)(ms / (60 * 1000ULL)));
	else if (ms % 1000 == 0)
		fprintf(out, "%llus", (unsigned long long)(ms / 1000));
	else
		fprintf(out, "%llums", (unsigned long long)ms);
}

static void
config_print_size(FILE *out, uint64_t n)
{
	if (n != 0 && n % (1024 * 1024) == 0)
		fprintf(out, "%llum", (unsigned long long)(n / (1024 * 1024)));
	else if (n != 0 && n % 1024 == 0)
		fprintf(out, "%lluk", (unsigned long long)(n / 1024));
	else
		fprintf(out, "%llu", (unsigned long long)n);
}

void
kb_config_print(const struct kb_config *cfg, FILE *out)
{
	const struct config_key	*k;
	const char		*section = "";
	const void		*field;
	size_t			 i;

	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		field = (const char *)cfg + k->offset;
		if (strcmp(section, k->section) != 0) {
			fprintf(out, "%s[%s]\n", i ? "\n" : "", k->section);
			section = k->section;
		}
		fprintf(out, "%s = ", k->name);
		switch (k->type) {
		case CONFIG_STRING:
		case CONFIG_ENUM:
			if ((k->flags & CONFIG_SECRET) && (*(char *const *)field)[0] != '\0')
				fputs("<redacted>", out);
			else
				fputs(*(char *const *)field, out);
			break;
		case CONFIG_INT:
			fprintf(out, "%lld", *(const long long *)field);
			break;
		case CONFIG_BOOL:
			fputs(*(const int *)field ? "yes" : "no", out);
			break;
		case CONFIG_SIZE:
			config_print_size(out, *(const uint64_t *)field);
			break;
		case CONFIG_DURATION:
			config_print_duration(out, *(const uint64_t *)field);
			break;
		}
		fputc('\n', out);
	}
}
