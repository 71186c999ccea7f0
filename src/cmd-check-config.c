/*
 * kassaboek check-config: load and validate everything serve and work
 * would (config keys, secrets, listen address, Redis URL, the order
 * mapping), then print the
 * effective configuration with secrets redacted.
 */
#include "config.h"

#include <stdio.h>
#include <sys/socket.h>
#include <sysexits.h>


#include "kassaboek/cmd.h"
#include "kassaboek/config.h"
#include "kassaboek/aspos.h"
#include "kassaboek/http.h"
#include "kassaboek/map.h"
#include "kassaboek/redis.h"
#include "kassaboek/verify.h"

/* Checks the parts of cfg that belong to other modules; prints each problem. */
int	check_config_modules(const struct kb_config *cfg, FILE *errors);

int
check_config_modules(const struct kb_config *cfg, FILE *errors)
{
	struct kb_verify	*v;
	struct kb_redis_url	 url;
	struct sockaddr_storage	 ss;
	struct kb_err		 err;
	int			 sslen = sizeof ss, problems = 0;

	if ((v = kb_verify_new(cfg->server.scheme, cfg->server.webhook_secret, cfg->server.hmac_encoding,
	    cfg->server.timestamp_tolerance_ms, &err)) == NULL) {
		fprintf(errors, "%s: [server] webhook_secret: %s\n", cfg->path, err.msg);
		problems++;
	}
	kb_verify_free(v);
	if (kb_redis_url_parse(cfg->redis.url, &url, &err) == -1) {
		fprintf(errors, "%s: [redis] url: %s\n", cfg->path, err.msg);
		problems++;
	}
	kb_redis_url_clear(&url);
	if (kb_http_parse_listen(cfg->server.listen, &ss, &sslen, &err) == -1) {
		fprintf(errors, "%s: [server] listen: %s\n", cfg->path, err.msg);
		problems++;
	}
	return (problems == 0 ? 0 : -1);
}

/* What only the workers read: checked here too, so a bad mapping shows before it is deployed. */
static int
check_config_worker_parts(const struct kb_config *cfg, FILE *errors)
{
	struct kb_err	 err;
	struct map	*m;

	/* The mapper's message names the mapping file, the field path and the problem. */
	if ((m = map_load(cfg->orders.mapping, &err)) == NULL) {
		fprintf(errors, "%s: [orders] mapping: %s\n", cfg->path, err.msg);
		return (-1);
	}
	map_free(m);
	/* The AsPos API map only matters once AsPos is configured. */
	if (cfg->aspos.base_url[0] != '\0' && aspos_api_check(cfg->aspos.api_map, &err) == -1) {
		fprintf(errors, "%s: [aspos] api_map: %s\n", cfg->path, err.msg);
		return (-1);
	}
	return (0);
}

static int
check_config_exec(struct kb_config *cfg, int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "usage: kassaboek [-c FILE] check-config\n");
		return (EX_USAGE);
	}
	if ((check_config_modules(cfg, stderr) | check_config_worker_parts(cfg, stderr)) != 0) {
		fprintf(stderr, "kassaboek: configuration is not valid\n");
		return (EX_CONFIG);
	}
	kb_config_print(cfg, stdout);
	fprintf(stderr, "kassaboek: configuration %s is valid\n", cfg->path);
	return (EX_OK);
}

const struct kb_cmd kb_cmd_check_config = {
	"check-config", "", "validate the configuration and print it, secrets redacted", 1, check_config_exec,
};
