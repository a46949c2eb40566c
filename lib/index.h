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

/* pms_obj -- where a live object is */
struct pms_obj {
	uint8_t uuid[16];
	uint64_t hash;
	uint64_t size;
	uint64_t page;	       /* slab page, or first page of the run */
	uint64_t npages;       /* 0 for a small object */
	struct pms_slab *slab; /* small: its slab; large: its record's */
	unsigned slot;	       /* small: its slot; large: its record's */
	unsigned state;
	struct pms_obj *next;
};

#define PMS_INDEX_STRIPES 256

struct pms_stripe {
	pthread_mutex_t lock;
	struct pms_obj **buckets;
	uint64_t nbuckets; /* power of two */
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

#endif /* PMS_INDEX_H */
