/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * index.c -- owns the volatile index from UUID to object: 1024 stripes,
 * each a chained hash table that doubles as it fills.  Writers (allocation,
 * free, open) take the stripe's lock; readers (persist_get, persist_id_of,
 * pmemstore_foreach) take none: they read under the stripe's sequence
 * count and retry if a writer was at work, so a lookup writes no shared
 * cache line.  Entries are type-stable (heap.c) and replaced tables are
 * kept until close, so a reader never touches freed memory.  The index is
 * rebuilt at every open; nothing here is persistent.
 */
#include <stdlib.h>
#include <string.h>

#include "index.h"

#define INITIAL_BUCKETS 16
#define READ_STEPS 16 /* chain links a reader follows between checks */

struct pms_table {
	uint64_t mask;		 /* buckets - 1 */
	struct pms_table *older; /* replaced tables, freed at fini */
	struct pms_obj *bucket[];
};

/* table_new -- an empty table of n buckets (a power of two) */
static struct pms_table *
table_new(uint64_t n)
{
	struct pms_table *t =
		calloc(1, sizeof(*t) + n * sizeof(struct pms_obj *));

	if (t)
		t->mask = n - 1;
	return t;
}

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
		st->seq = 0;
		st->count = 0;
		st->table = table_new(INITIAL_BUCKETS);
		if (st->table == NULL) {
			while (i--)
				free(ix->stripes[i].table);
			free(ix->stripes);
			ix->stripes = NULL;
			return -1;
		}
	}
	return 0;
}

/* pms_index_fini -- free the tables (the entries belong to heap.c) */
void
pms_index_fini(struct pms_index *ix)
{
	if (ix->stripes == NULL)
		return;
	for (unsigned i = 0; i < PMS_INDEX_STRIPES; i++) {
		struct pms_stripe *st = &ix->stripes[i];
		struct pms_table *t = st->table, *o;

		for (; t; t = o) {
			o = t->older;
			free(t);
		}
		pthread_mutex_destroy(&st->lock);
	}
	free(ix->stripes);
	ix->stripes = NULL;
}

/* pms_index_stripe -- the stripe a hash belongs to (top bits) */
struct pms_stripe *
pms_index_stripe(struct pms_index *ix, uint64_t hash)
{
	return &ix->stripes[hash >> 54];
}

/* pms_obj_set -- give an entry its UUID and hash, before it is inserted */
void
pms_obj_set(struct pms_obj *o, const uint8_t uuid[16], uint64_t hash)
{
	uint64_t w[2];

	memcpy(w, uuid, 16);
	PMS_ST(o->uuid[0], w[0]);
	PMS_ST(o->uuid[1], w[1]);
	PMS_ST(o->hash, hash);
}

/* match -- is o the entry of this UUID? */
static int
match(struct pms_obj *o, const uint64_t w[2], uint64_t hash)
{
	return PMS_LD(o->hash) == hash && PMS_LD(o->uuid[0]) == w[0] &&
	       PMS_LD(o->uuid[1]) == w[1];
}

/* next_of -- an entry's successor (acquire: its fields were set first) */
static struct pms_obj *
next_of(struct pms_obj *o)
{
	return __atomic_load_n(&o->next, __ATOMIC_ACQUIRE);
}

/* pms_index_find -- the entry of a UUID in a locked stripe, or NULL */
struct pms_obj *
pms_index_find(struct pms_stripe *st, const uint8_t uuid[16], uint64_t hash)
{
	uint64_t w[2];
	struct pms_obj *o = st->table->bucket[hash & st->table->mask];

	memcpy(w, uuid, 16);
	for (; o; o = o->next)
		if (match(o, w, hash))
			return o;
	return NULL;
}

/* write_begin / write_end -- bracket a locked writer's changes */
static void
write_begin(struct pms_stripe *st)
{
	PMS_ST(st->seq, st->seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
write_end(struct pms_stripe *st)
{
	__atomic_store_n(&st->seq, st->seq + 1, __ATOMIC_RELEASE);
}

/* grow -- double a locked stripe's table; on failure it just stays denser */
static void
grow(struct pms_stripe *st)
{
	struct pms_table *old = st->table;
	struct pms_table *t = table_new((old->mask + 1) * 2);

	if (t == NULL)
		return;
	for (uint64_t i = 0; i <= old->mask; i++) {
		struct pms_obj *o = old->bucket[i], *next;

		for (; o; o = next) {
			uint64_t b = PMS_LD(o->hash) & t->mask;

			next = o->next;
			__atomic_store_n(&o->next, t->bucket[b],
					 __ATOMIC_RELEASE);
			t->bucket[b] = o;
		}
	}
	t->older = old;
	/* release: a reader that sees t sees its buckets */
	__atomic_store_n(&st->table, t, __ATOMIC_RELEASE);
}

/* pms_index_insert -- add an entry to a locked stripe */
int
pms_index_insert(struct pms_stripe *st, struct pms_obj *o)
{
	struct pms_obj **head;

	write_begin(st);
	if (st->count >= (st->table->mask + 1) * 2)
		grow(st);
	head = &st->table->bucket[PMS_LD(o->hash) & st->table->mask];
	__atomic_store_n(&o->next, *head, __ATOMIC_RELAXED);
	__atomic_store_n(head, o, __ATOMIC_RELEASE);
	st->count++;
	write_end(st);
	return 0;
}

/* pms_index_remove -- unlink an entry from a locked stripe (kept alive) */
void
pms_index_remove(struct pms_stripe *st, struct pms_obj *o)
{
	struct pms_obj **p =
		&st->table->bucket[PMS_LD(o->hash) & st->table->mask];

	for (; *p; p = &(*p)->next) {
		if (*p == o) {
			write_begin(st);
			__atomic_store_n(p, o->next, __ATOMIC_RELEASE);
			st->count--;
			write_end(st);
			return;
		}
	}
}

/* read_begin -- the stripe's sequence once no writer is at work */
static uint64_t
read_begin(struct pms_stripe *st)
{
	uint64_t s;

	while ((s = __atomic_load_n(&st->seq, __ATOMIC_ACQUIRE)) & 1)
		__builtin_ia32_pause();
	return s;
}

/* read_valid -- did nothing change since read_begin returned s? */
static int
read_valid(struct pms_stripe *st, uint64_t s)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return PMS_LD(st->seq) == s;
}

/*
 * view_of -- copy the fields a lookup returns.  The state first, with
 * acquire: an allocation fills the other fields while its entry is PENDING
 * (outside the sequence count) and then stores LIVE with release, so
 * fields read after a LIVE are the published ones.
 */
static void
view_of(struct pms_obj *o, struct pms_objview *v)
{
	v->state = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
	if (v->state == PMS_OBJ_PENDING)
		return;
	v->size = PMS_LD(o->size);
	v->page = PMS_LD(o->page);
	v->npages = PMS_LD(o->npages);
	v->slot = PMS_LD(o->slot);
	v->cls = PMS_LD(o->cls);
}

/*
 * pms_index_lookup -- a consistent view of a UUID's entry without the
 * lock: 1 found, 0 not.  A chain being changed under the reader (entries
 * reused, a table replaced) is noticed by the sequence, checked every
 * READ_STEPS links so that a reader never walks in a circle; a reader that
 * keeps losing to writers takes the lock, so it always finishes.
 */
int
pms_index_lookup(struct pms_stripe *st, const uint8_t uuid[16], uint64_t hash,
		 struct pms_objview *v)
{
	uint64_t w[2];

	memcpy(w, uuid, 16);
	for (int tries = 0; tries < 64; tries++) {
		uint64_t s = read_begin(st);
		struct pms_table *t =
			__atomic_load_n(&st->table, __ATOMIC_ACQUIRE);
		struct pms_obj *o = __atomic_load_n(
			&t->bucket[hash & PMS_LD(t->mask)], __ATOMIC_ACQUIRE);
		unsigned steps = 0;
		int found = 0;

		for (; o; o = next_of(o)) {
			if (match(o, w, hash)) {
				view_of(o, v);
				found = 1;
				break;
			}
			if (++steps % READ_STEPS == 0 && !read_valid(st, s))
				break;
		}
		if (read_valid(st, s))
			return found;
	}
	/* writers keep changing this stripe: read it under the lock */
	struct pms_obj *o;

	pthread_mutex_lock(&st->lock);
	o = pms_index_find(st, uuid, hash);
	if (o)
		view_of(o, v);
	pthread_mutex_unlock(&st->lock);
	return o != NULL;
}

/*
 * pms_index_snapshot -- call fn for every entry of a stripe, as one
 * consistent snapshot taken without the lock: when a writer intervenes,
 * restart(arg) drops what fn collected and the walk starts over.  After a
 * few failed tries the lock is taken, so a busy stripe still finishes.
 * fn must only copy; it returns nonzero to stop (out of memory).
 */
int
pms_index_snapshot(struct pms_stripe *st,
		   int (*fn)(struct pms_obj *o, void *arg), void *arg,
		   void (*restart)(void *arg))
{
	for (int tries = 0;; tries++) {
		int locked = tries >= 8, ret = 0;
		uint64_t s = 0;

		if (locked)
			pthread_mutex_lock(&st->lock);
		else
			s = read_begin(st);
		struct pms_table *t =
			__atomic_load_n(&st->table, __ATOMIC_ACQUIRE);
		uint64_t n = PMS_LD(t->mask) + 1, steps = 0;

		for (uint64_t b = 0; b < n && ret == 0; b++) {
			struct pms_obj *o = __atomic_load_n(&t->bucket[b],
							    __ATOMIC_ACQUIRE);

			for (; o && ret == 0; o = next_of(o)) {
				ret = fn(o, arg);
				if (!locked && ++steps % READ_STEPS == 0 &&
				    !read_valid(st, s))
					ret = -2;
			}
		}
		if (locked) {
			pthread_mutex_unlock(&st->lock);
			return ret;
		}
		if (ret != -2 && read_valid(st, s))
			return ret;
		restart(arg);
	}
}
