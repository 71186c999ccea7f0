/*
 * URLs of AsPos calls, built with curl's URL API: the configured base URL
 * (which may carry a path, e.g. the sandbox's /aspos), the path template of
 * the API map with {id} replaced by the id escaped as one path segment, and
 * query values escaped by curl. Nothing from an order reaches a URL
 * unescaped.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kassaboek/xmalloc.h"
#include "aspos-internal.h"

#define URL_MAX		4096

int
aspos_url_check_base(const char *base, struct kb_err *err)
{
	CURLU		*u;
	CURLUcode	 rc;
	char		*scheme = NULL, *part = NULL;
	int		 ret = -1;

	if (base == NULL || *base == '\0')
		return (kb_err_set(err, "aspos.base_url is empty"));
	if ((u = curl_url()) == NULL)
		return (kb_err_set(err, "out of memory"));
	if ((rc = curl_url_set(u, CURLUPART_URL, base, 0)) != CURLUE_OK) {
		kb_err_set(err, "aspos.base_url '%.200s': %s", base, curl_url_strerror(rc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		kb_err_set(err, "aspos.base_url '%.200s': must be http:// or https://", base);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		kb_err_set(err, "aspos.base_url '%.200s': no query or fragment allowed", base);
		goto out;
	}
	ret = 0;
out:
	curl_free(scheme);
	curl_free(part);
	curl_url_cleanup(u);
	return (ret);
}

/* id as one path segment: everything but unreserved characters escaped, and "." / ".." too. */
static char *
url_segment(const char *id)
{
	char	*e, *out;

	if ((e = curl_easy_escape(NULL, id, 0)) == NULL)
		return (NULL);
	if (strcmp(e, ".") == 0 || strcmp(e, "..") == 0)
		out = xstrdup(e[1] == '\0' ? "%2E" : "%2E%2E");
	else
		out = xstrdup(e);
	curl_free(e);
	return (out);
}

char *
aspos_url_build(const char *base, const char *tmpl, const char *id,
    const char *const *query, size_t nquery, struct kb_err *err)
{
	CURLU		*u;
	CURLUcode	 rc;
	char		*bpath = NULL, *seg = NULL, *path = NULL, *pair, *url = NULL, *out = NULL;
	const char	*brace;
	size_t		 blen, i;

	if ((u = curl_url()) == NULL) {
		kb_err_set(err, "out of memory");
		return (NULL);
	}
	if ((rc = curl_url_set(u, CURLUPART_URL, base, 0)) != CURLUE_OK) {
		kb_err_set(err, "aspos.base_url: %s", curl_url_strerror(rc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &bpath, 0) != CURLUE_OK) {
		kb_err_set(err, "aspos.base_url: no path");
		goto out;
	}
	blen = strlen(bpath);
	while (blen > 0 && bpath[blen - 1] == '/')
		blen--;
	if ((brace = strstr(tmpl, "{id}")) != NULL) {
		if (id == NULL || (seg = url_segment(id)) == NULL) {
			kb_err_set(err, "no id for %s", tmpl);
			goto out;
		}
		path = xasprintf("%.*s%.*s%s%s", (int)blen, bpath, (int)(brace - tmpl), tmpl, seg,
		    brace + 4);
	} else
		path = xasprintf("%.*s%s", (int)blen, bpath, tmpl);
	if ((rc = curl_url_set(u, CURLUPART_PATH, path, 0)) != CURLUE_OK) {
		kb_err_set(err, "path %.200s: %s", path, curl_url_strerror(rc));
		goto out;
	}
	for (i = 0; i + 1 < nquery * 2; i += 2) {
		if (query[i + 1] == NULL)
			continue;
		pair = xasprintf("%s=%s", query[i], query[i + 1]);
		rc = curl_url_set(u, CURLUPART_QUERY, pair, CURLU_APPENDQUERY | CURLU_URLENCODE);
		free(pair);
		if (rc != CURLUE_OK) {
			kb_err_set(err, "query %s: %s", query[i], curl_url_strerror(rc));
			goto out;
		}
	}
	if ((rc = curl_url_get(u, CURLUPART_URL, &url, 0)) != CURLUE_OK) {
		kb_err_set(err, "URL: %s", curl_url_strerror(rc));
		goto out;
	}
	if (strlen(url) > URL_MAX) {
		kb_err_set(err, "URL longer than %d bytes", URL_MAX);
		goto out;
	}
	out = xstrdup(url);
out:
	curl_free(url);
	curl_free(bpath);
	free(seg);
	free(path);
	curl_url_cleanup(u);
	return (out);
}
