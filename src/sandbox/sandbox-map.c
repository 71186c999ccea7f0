/*
 * A small string-keyed hash map (FNV-1a, chained, doubles at load 1) for the
 * sandbox's store, tokens and sequences: O(1) lookups whatever the store holds.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"

struct sb_map_entry {
	struct sb_map_entry	*next;
	uint64_t		 hash;
	void			*val;
	char			 key[];
};

struct sb_map {
	struct sb_map_entry	**buckets;
	size_t			  nbuckets;	/* power of two */
	size_t			  count;
	sb_map_free_fn		  vfree;
};

static uint64_t
map_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (h);
}

struct sb_map *
sb_map_new(sb_map_free_fn vfree)
{
	struct sb_map	*m;

	m = xcalloc(1, sizeof *m);
	m->nbuckets = 16;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	m->vfree = vfree;
	return (m);
}

void
sb_map_clear(struct sb_map *m)
{
	struct sb_map_entry	*e, *next;
	size_t			 i;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			if (m->vfree != NULL && e->val != NULL)
				m->vfree(e->val);
			free(e);
		}
		m->buckets[i] = NULL;
	}
	m->count = 0;
}

void
sb_map_free(struct sb_map *m)
{
	if (m == NULL)
		return;
	sb_map_clear(m);
	free(m->buckets);
	free(m);
}

static struct sb_map_entry **
map_slot(const struct sb_map *m, const char *key, uint64_t h)
{
	struct sb_map_entry	**pp;

	for (pp = &m->buckets[h & (m->nbuckets - 1)]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			break;
	return (pp);
}

void *
sb_map_get(const struct sb_map *m, const char *key)
{
	struct sb_map_entry	*e;

	e = *map_slot(m, key, map_hash(key));
	return (e != NULL ? e->val : NULL);
}

static void
map_grow(struct sb_map *m)
{
	struct sb_map_entry	**nb, *e, *next;
	size_t			  n, i;

	n = m->nbuckets * 2;
	nb = xcalloc(n, sizeof *nb);
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

void
sb_map_put(struct sb_map *m, const char *key, void *val)
{
	struct sb_map_entry	**pp, *e;
	uint64_t		  h;
	size_t			  klen;

	h = map_hash(key);
	pp = map_slot(m, key, h);
	if (*pp != NULL) {
		if (m->vfree != NULL && (*pp)->val != NULL && (*pp)->val != val)
			m->vfree((*pp)->val);
		(*pp)->val = val;
		return;
	}
	klen = strlen(key);
	e = xmalloc(sizeof *e + klen + 1);
	memcpy(e->key, key, klen + 1);
	e->hash = h;
	e->val = val;
	e->next = NULL;
	*pp = e;
	if (++m->count > m->nbuckets)
		map_grow(m);
}

int
sb_map_del(struct sb_map *m, const char *key)
{
	struct sb_map_entry	**pp, *e;

	pp = map_slot(m, key, map_hash(key));
	if ((e = *pp) == NULL)
		return (-1);
	*pp = e->next;
	if (m->vfree != NULL && e->val != NULL)
		m->vfree(e->val);
	free(e);
	m->count--;
	return (0);
}

size_t
sb_map_count(const struct sb_map *m)
{
	return (m->count);
}

void
sb_map_iter_init(struct sb_map_iter *it, struct sb_map *m)
{
	it->map = m;
	it->bucket = 0;
	it->entry = NULL;
}

int
sb_map_next(struct sb_map_iter *it, const char **key, void **val)
{
	struct sb_map_entry	*e = it->entry;

	if (e != NULL)
		e = e->next;
	while (e == NULL) {
		if (it->bucket >= it->map->nbuckets)
			return (0);
		e = it->map->buckets[it->bucket++];
	}
	it->entry = e;
	if (key != NULL)
		*key = e->key;
	if (val != NULL)
		*val = e->val;
	return (1);
}
