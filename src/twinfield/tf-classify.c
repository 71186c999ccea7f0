/*
 * The two classifications the rest of kassaboek relies on: what a request
 * costs in Twinfield credits (reference §7.3) and whether an error is worth
 * retrying (DESIGN.md §4). Kept in one place so a change in Twinfield's
 * rules is one edit.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "kassaboek/tf.h"

/* ProcessXml roots Twinfield counts as queries (1 credit). */
static const char *const classify_query_roots[] = {
	"list", "read", "columns", "accountcode", "accountcodes",
};

/* SOAPAction prefixes Twinfield counts as queries. */
static const char *const classify_query_actions[] = {
	"Get", "Query", "Search", "Load",
};

#define CREDITS_QUERY	1
#define CREDITS_WRITE	3

unsigned
tf_credit_cost(const char *soapaction, const char *root)
{
	const char	*slash;
	size_t		 i;

	if (soapaction != NULL) {
		/* "http://www.twinfield.com/Search" or just "Search". */
		if ((slash = strrchr(soapaction, '/')) != NULL)
			soapaction = slash + 1;
		for (i = 0; i < sizeof classify_query_actions / sizeof classify_query_actions[0];
		    i++) {
			if (strncmp(soapaction, classify_query_actions[i],
			    strlen(classify_query_actions[i])) == 0)
				return (CREDITS_QUERY);
		}
	}
	if (root != NULL) {
		for (i = 0; i < sizeof classify_query_roots / sizeof classify_query_roots[0]; i++)
			if (strcmp(root, classify_query_roots[i]) == 0)
				return (CREDITS_QUERY);
	}
	return (CREDITS_WRITE);
}

enum tf_err_kind
tf_classify_http(long status, long fault_code, int *refresh)
{
	*refresh = 0;
	/* An expired or revoked token: refresh once and retry (reference §7.4). */
	if (status == 401 || fault_code == 354 || fault_code == 103) {
		*refresh = 1;
		return (TF_ERR_TOKEN);
	}
	if (status == 429)
		return (TF_ERR_RATE_LIMIT);
	if (status == 403)
		return (TF_ERR_FORBIDDEN);
	if (status >= 500 || (status == 200 && fault_code != -1))
		return (TF_ERR_SERVER);
	/* 400 and the other 4xx: the request itself is wrong, retrying cannot help. */
	if (status >= 400)
		return (TF_ERR_BAD_REQUEST);
	if (status == 200)
		return (TF_OK);
	return (TF_ERR_PROTOCOL);
}

int
tf_err_transient(enum tf_err_kind kind)
{
	switch (kind) {
	case TF_ERR_NETWORK:
	case TF_ERR_TIMEOUT:
	case TF_ERR_SERVER:
	case TF_ERR_RATE_LIMIT:
	case TF_ERR_TOKEN:
	case TF_ERR_REDIS:
	case TF_ERR_PROTOCOL:
	case TF_ERR_CANCELLED:
		return (1);
	case TF_OK:
	case TF_ERR_BUSINESS:
	case TF_ERR_BAD_REQUEST:
	case TF_ERR_FORBIDDEN:
	case TF_ERR_AUTH:
	case TF_ERR_TOO_LARGE:
		break;
	}
	return (0);
}

const char *
tf_err_kind_name(enum tf_err_kind kind)
{
	switch (kind) {
	case TF_OK:			return ("ok");
	case TF_ERR_NETWORK:		return ("network");
	case TF_ERR_TIMEOUT:		return ("timeout");
	case TF_ERR_SERVER:		return ("server");
	case TF_ERR_RATE_LIMIT:		return ("rate_limit");
	case TF_ERR_TOKEN:		return ("token");
	case TF_ERR_REDIS:		return ("redis");
	case TF_ERR_PROTOCOL:		return ("protocol");
	case TF_ERR_CANCELLED:		return ("cancelled");
	case TF_ERR_BUSINESS:		return ("business");
	case TF_ERR_BAD_REQUEST:	return ("bad_request");
	case TF_ERR_FORBIDDEN:		return ("forbidden");
	case TF_ERR_AUTH:		return ("auth");
	case TF_ERR_TOO_LARGE:		return ("too_large");
	}
	return ("unknown");
}
