/*
 * One asynchronous Redis connection on a libevent loop (hiredis async),
 * that reconnects by itself with backoff after a failure and gives every
 * command a deadline. A command issued while disconnected, or not answered
 * in time, completes at once with reply NULL: callers turn that into 503
 * or a retry, never into a hang.
 */
#ifndef KASSABOEK_REDIS_H
#define KASSABOEK_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "kassaboek/err.h"

struct kb_redis;

/*
 * reply is borrowed and valid only during the call (NULL: not connected,
 * timed out, or the connection broke). A REDIS_REPLY_ERROR reply is passed
 * as is.
 */
typedef void (*kb_redis_cb)(struct kb_redis *r, redisReply *reply, void *arg);

/* Parsed form of redis.url: redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]. */
struct kb_redis_url {
	char	*host;		/* NULL for unix sockets */
	int	 port;
	char	*path;		/* unix socket path, or NULL */
	char	*user;		/* may be NULL */
	char	*password;	/* may be NULL */
	int	 db;
};

int	kb_redis_url_parse(const char *url, struct kb_redis_url *out, struct kb_err *err);
void	kb_redis_url_clear(struct kb_redis_url *u);

/*
 * Starts connecting at once (name labels log lines). Returns NULL with err
 * set for a bad URL. Free with kb_redis_free (pending commands complete
 * with NULL).
 */
struct kb_redis	*kb_redis_new(struct event_base *base, const char *url, const char *name,
		    uint64_t connect_timeout_ms, uint64_t command_timeout_ms, struct kb_err *err);
void		 kb_redis_free(struct kb_redis *r);
int		 kb_redis_connected(const struct kb_redis *r);

/*
 * Sends a command given as argv (binary safe). The callback runs exactly
 * once, possibly before this returns if not connected. Returns 0.
 */
int	kb_redis_command_argv(struct kb_redis *r, kb_redis_cb cb, void *arg, int argc,
	    const char **argv, const size_t *argvlen);

/*
 * Same, with its own deadline instead of the connection's command timeout:
 * for blocking commands (XREADGROUP ... BLOCK ms), on a connection of their
 * own. Only the oldest pending command's deadline is watched (replies come
 * in order), so mixing long and short deadlines on one connection delays
 * the detection of a stuck short one.
 */
int	kb_redis_command_argv_timeout(struct kb_redis *r, uint64_t timeout_ms, kb_redis_cb cb,
	    void *arg, int argc, const char **argv, const size_t *argvlen);

/*
 * Runs a Lua script by SHA (EVALSHA). Every script used is loaded (SCRIPT
 * LOAD) on first use and again on every reconnection, pipelined ahead of
 * the commands, so it is known when its EVALSHA arrives; if the cache is
 * flushed under us, that one call fails with NOSCRIPT and the scripts are
 * loaded again. script must be static text (compared by address).
 */
int	kb_redis_eval(struct kb_redis *r, const char *script, kb_redis_cb cb, void *arg,
	    int nkeys, int nargs, const char **args, const size_t *argslen);

#endif
