/*
 * State of the AsPos REST simulator, shared by sandbox-aspos.c (the API)
 * and sandbox-aspos-inspect.c (/_sandbox/aspos/...). Private to src/sandbox/.
 */
#ifndef KASSABOEK_SANDBOX_ASPOS_H
#define KASSABOEK_SANDBOX_ASPOS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "sandbox.h"

enum {
	SB_ASPOS_ORDERS = 0,
	SB_ASPOS_CUSTOMERS,
	SB_ASPOS_PRODUCTS,
	SB_ASPOS_CATEGORIES,
	SB_ASPOS_NCOLLS
};

/* One stored resource. */
struct sb_arec {
	char			*key;
	struct json_object	*obj;		/* as served, with its key and updated_at */
	int64_t			 updated_ms;	/* wall clock, ms since the epoch */
	uint64_t		 seq;		/* creation order */
	uint64_t		 changes;	/* order of the last change */
};

struct sb_aspos {
	struct sb_map		*items[SB_ASPOS_NCOLLS];	/* key -> struct sb_arec */
	uint64_t		 next_id[SB_ASPOS_NCOLLS];	/* generated ids */
	uint64_t		 seq;
	uint64_t		 changes;
	struct sb_map		*tokens;	/* access token -> int64_t expiry (sb_now_ms) */
	uint64_t		 tokens_issued;
	char			*client_id;
	char			*client_secret;
	long			 token_ttl;	/* seconds */
	long			 page_size;
	struct json_object	*seed;		/* NULL: empty start */
	char			*seed_path;
};

const char	*sb_aspos_coll_name(int coll);
/* Index of a collection by name ("orders"), or -1. */
int		 sb_aspos_coll_find(const char *name);
const char	*sb_aspos_key_field(int coll);
struct sb_arec	*sb_aspos_get(struct sb_aspos *, int coll, const char *key);
/*
 * Stores obj (a reference is taken) under key, setting its key field and
 * updated_at (now, or the object's own when keep_time and it is valid).
 * NULL when the collection is full.
 */
struct sb_arec	*sb_aspos_put(struct sb_aspos *, int coll, const char *key, struct json_object *obj,
		    int keep_time);
/* All records of coll, by creation (by_time: by updated_at, then change order); free the array. */
struct sb_arec	**sb_aspos_list(struct sb_aspos *, int coll, int by_time, size_t *n);
/* Upserts an array of objects (or one object) copied from arr; keeps their updated_at. */
int		 sb_aspos_load_items(struct sb_aspos *, int coll, struct json_object *arr,
		    const char *where, struct kb_err *);
void		 sb_aspos_tokens_expire(struct sb_aspos *);
void		 sb_aspos_time_fmt(int64_t ms, char *buf, size_t len);
int		 sb_aspos_time_parse(const char *s, int64_t *ms);
int64_t		 sb_now_ms_wall(void);

#endif
