/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * index.h -- the volatile UUID -> object index
 */
#ifndef PMS_INDEX_H
#define PMS_INDEX_H 1

#include <pthread.h>
#include <stdint.h>

struct pms_slab;

enum pms_obj_state {
	PMS_OBJ_PENDING = 0, /* being allocated: not visible yet */
	PMS_OBJ_LIVE = 1,
	PMS_OBJ_FREEING = 2, /* being freed: still live until freed */
};

/* relaxed atomic access to index entries, which lock-free readers read */
#define PMS_LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define PMS_ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/*
 * pms_obj -- where a live object is.  Entries are type-stable: once
 * allocated they stay index entries until the pool is closed (heap.c), so
 * a lock-free reader that follows a stale pointer reads an entry, never
 * freed memory, and its stripe's sequence tells it to retry.  Every field
 * is read and written with PMS_LD / PMS_ST.
 */
struct pms_obj {
	uint64_t uuid[2];
	uint64_t hash;
	uint64_t size;
	uint64_t page;	       /* slab page, or first page of the run */
	uint64_t npages;       /* 0 for a small object */
	struct pms_slab *slab; /* small: its slab; large: its record's */
	uint32_t slot;	       /* small: its slot; large: its record's */
	uint32_t cls;	       /* small: its class */
	uint32_t state;
	struct pms_obj *next;
};

/* pms_objview -- a consistent copy of an entry, read without a lock */
struct pms_objview {
	uint64_t size;
	uint64_t page;
	uint64_t npages;
	uint32_t slot;
	uint32_t cls;
	uint32_t state;
};

#define PMS_INDEX_STRIPES 1024

struct pms_table;

/*
 * pms_stripe -- a chained hash table under a writers' lock and a sequence
 * count: writers (insert, remove, grow) make seq odd while they change the
 * chains; a reader retries when seq was odd or changed.  Readers write
 * nothing.
 */
struct pms_stripe {
	pthread_mutex_t lock;
	uint64_t seq;
	struct pms_table *table;
	uint64_t count;
} __attribute__((aligned(64)));

struct pms_index {
	struct pms_stripe *stripes;
};

int pms_index_init(struct pms_index *ix);
void pms_index_fini(struct pms_index *ix);
struct pms_stripe *pms_index_stripe(struct pms_index *ix, uint64_t hash);
struct pms_obj *pms_index_find(struct pms_stripe *st, const uint8_t uuid[16],
			       uint64_t hash);
int pms_index_insert(struct pms_stripe *st, struct pms_obj *o);
void pms_index_remove(struct pms_stripe *st, struct pms_obj *o);
int pms_index_lookup(struct pms_stripe *st, const uint8_t uuid[16],
		     uint64_t hash, struct pms_objview *v);
void pms_obj_set(struct pms_obj *o, const uint8_t uuid[16], uint64_t hash);
int pms_index_snapshot(struct pms_stripe *st,
		       int (*fn)(struct pms_obj *o, void *arg), void *arg,
		       void (*restart)(void *arg));

#endif /* PMS_INDEX_H */
