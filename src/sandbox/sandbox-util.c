/* Clock, randomness and the base URL the sandbox gives out as twf.clusterUrl. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "sandbox.h"

int64_t
sb_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* xorshift64*: reproducible fault decisions with --random-seed. */
uint64_t
sb_rand(struct sb_server *srv)
{
	uint64_t	x = srv->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	srv->rng = x;
	return (x * 2685821657736338717ULL);
}

int
sb_chance(struct sb_server *srv, double pct)
{
	if (pct <= 0)
		return (0);
	if (pct >= 100)
		return (1);
	return ((double)(sb_rand(srv) % 1000000) < pct * 10000.0);
}

static void
util_random(unsigned char *buf, size_t n)
{
	ssize_t	r;
	size_t	got = 0;

	while (got < n) {
		if ((r = getrandom(buf + got, n - got, 0)) <= 0)
			continue;	/* EINTR; getrandom does not fail otherwise */
		got += (size_t)r;
	}
}

void
sb_random_hex(char *buf, size_t n)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		raw[64];
	size_t			i;

	while (n > 0) {
		size_t	k = n > sizeof raw * 2 ? sizeof raw : (n + 1) / 2;

		util_random(raw, k);
		for (i = 0; i < k * 2 && n > 0; i++, n--)
			*buf++ = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	}
}

void
sb_guid(char *buf, size_t len)
{
	unsigned char	r[16];

	util_random(r, sizeof r);
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
	    r[14], r[15]);
}

void
sb_base_url(struct sb_server *srv, struct evhttp_request *req, char *buf, size_t len)
{
	const char	*host, *p;

	if (srv->cfg.public_url != NULL) {
		snprintf(buf, len, "%s", srv->cfg.public_url);
		return;
	}
	host = req != NULL ? evhttp_find_header(evhttp_request_get_input_headers(req), "Host") : NULL;
	if (host != NULL && *host != '\0' && strlen(host) < 200) {
		for (p = host; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p) && strchr(".-:[]", *p) == NULL)
				break;
		if (*p == '\0') {
			snprintf(buf, len, "http://%s", host);
			return;
		}
	}
	snprintf(buf, len, "%s", srv->bound_url);
}
