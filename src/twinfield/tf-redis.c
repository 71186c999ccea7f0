/*
 * Fire-and-forget Redis commands of the Twinfield client (slot releases,
 * lock releases, token invalidation, the 429 pause) are counted, so a
 * graceful stop (tf_client_shutdown) can wait until Redis has them instead
 * of dropping them with the connection: a dropped slot release would block
 * the organisation's other processes until the lease runs out.
 */
#include "config.h"

#include "tf-internal.h"

static void
redis_counted_reply(struct kb_redis *r, redisReply *reply, void *arg)
{
	unsigned	*pending = arg;

	(*pending)--;
}

void
tf_redis_fire(struct kb_redis *r, unsigned *pending, int argc, const char **argv,
    const size_t *lens)
{
	(*pending)++;
	kb_redis_command_argv(r, redis_counted_reply, pending, argc, argv, lens);
}

void
tf_redis_fire_eval(struct kb_redis *r, unsigned *pending, const char *script, int nkeys,
    int nargs, const char **args, const size_t *lens)
{
	(*pending)++;
	kb_redis_eval(r, script, redis_counted_reply, pending, nkeys, nargs, args, lens);
}
