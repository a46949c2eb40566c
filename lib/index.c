/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * index.c -- owns the volatile index from UUID to object: 256 lock
 * stripes, each a chained hash table that doubles as it fills, so lookups
 * are O(1) on average and threads on different stripes never meet.  The
 * index is rebuilt at every open; nothing here is persistent.
 */
#include <stdlib.h>
#include <string.h>

#include "index.h"

#define INITIAL_BUCKETS 16

/* pms_index_init -- an empty index */
int
pms_index_init(struct pms_index *ix)
{
	ix->stripes = aligned_alloc(64, sizeof(struct pms_stripe) *
						PMS_INDEX_STRIPES);
	if (ix->stripes == NULL)
		return -1;
	for (unsigned i = 0; i < PMS_INDEX_STRIPES; i++) {
		struct pms_stripe *st = &ix->stripes[i];

		pthread_mutex_init(&st->lock, NULL);
		st->nbuckets = INITIAL_BUCKETS;
		st->count = 0;
		st->buckets = calloc(INITIAL_BUCKETS, sizeof(*st->buckets));
		if (st->buckets == NULL) {
			while (i--)
				free(ix->stripes[i].buckets);
			free(ix->stripes);
			ix->stripes = NULL;
			return -1;
		}
	}
	return 0;
}

/* pms_index_fini -- free every entry and the tables */
void
pms_index_fini(struct pms_index *ix)
{
	if (ix->stripes == NULL)
		return;
	for (unsigned i = 0; i < PMS_INDEX_STRIPES; i++) {
		struct pms_stripe *st = &ix->stripes[i];

		for (uint64_t b = 0; b < st->nbuckets; b++) {
			struct pms_obj *o = st->buckets[b], *n;

			for (; o; o = n) {
				n = o->next;
				free(o);
			}
		}
		free(st->buckets);
		pthread_mutex_destroy(&st->lock);
	}
	free(ix->stripes);
	ix->stripes = NULL;
}

/* pms_index_stripe -- the stripe a hash belongs to (top bits) */
struct pms_stripe *
pms_index_stripe(struct pms_index *ix, uint64_t hash)
{
	return &ix->stripes[hash >> 56];
}

/* pms_index_find -- the entry of a UUID in a locked stripe, or NULL */
struct pms_obj *
pms_index_find(struct pms_stripe *st, const uint8_t uuid[16], uint64_t hash)
{
	struct pms_obj *o = st->buckets[hash & (st->nbuckets - 1)];

	for (; o; o = o->next)
		if (o->hash == hash && memcmp(o->uuid, uuid, 16) == 0)
			return o;
	return NULL;
}

/* grow -- double a stripe's table; on failure it just stays denser */
static void
grow(struct pms_stripe *st)
{
	uint64_t n = st->nbuckets * 2;
	struct pms_obj **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;
	for (uint64_t i = 0; i < st->nbuckets; i++) {
		struct pms_obj *o = st->buckets[i], *next;

		for (; o; o = next) {
			next = o->next;
			o->next = b[o->hash & (n - 1)];
			b[o->hash & (n - 1)] = o;
		}
	}
	free(st->buckets);
	st->buckets = b;
	st->nbuckets = n;
}

/* pms_index_insert -- add an entry to a locked stripe */
int
pms_index_insert(struct pms_stripe *st, struct pms_obj *o)
{
	struct pms_obj **head;

	if (st->count >= st->nbuckets * 2)
		grow(st);
	head = &st->buckets[o->hash & (st->nbuckets - 1)];
	o->next = *head;
	*head = o;
	st->count++;
	return 0;
}

/* pms_index_remove -- unlink an entry from a locked stripe (not freed) */
void
pms_index_remove(struct pms_stripe *st, struct pms_obj *o)
{
	struct pms_obj **p = &st->buckets[o->hash & (st->nbuckets - 1)];

	for (; *p; p = &(*p)->next) {
		if (*p == o) {
			*p = o->next;
			st->count--;
			return;
		}
	}
}
