/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slab.h -- volatile state of slab pages (small objects and records)
 */
#ifndef PMS_SLAB_H
#define PMS_SLAB_H 1

#include <pthread.h>
#include <stdint.h>

#include "layout.h"

/* pms_slab -- one slab page: which slots may be handed out */
struct pms_slab {
	uint64_t page;
	uint64_t avail; /* slots free to reserve (not allocated, not in use) */
	unsigned cls;
	unsigned navail;
	struct pms_slab *prev, *next;	/* on the class's partial list */
	struct pms_slab *aprev, *anext; /* on the class's list of all slabs */
	int listed;
};

struct pms_slab_class {
	pthread_mutex_t lock;
	struct pms_slab *partial; /* slabs with navail > 0 */
	struct pms_slab *all;	  /* every slab of the class */
	unsigned nempty;	  /* empty slabs kept (at most 1) */
};

extern const struct pms_class pms_classes[PMS_NCLASSES];

struct pmemstore;

void pms_slab_init(struct pmemstore *ps);
void pms_slab_fini(struct pmemstore *ps);
unsigned pms_slab_class_of(uint64_t size);
int pms_slab_reserve(struct pmemstore *ps, unsigned cls, struct pms_slab **slab,
		     unsigned *slot);
void pms_slab_release(struct pmemstore *ps, struct pms_slab *slab,
		      unsigned slot);
uint64_t pms_slab_reclaim(struct pmemstore *ps, unsigned skip);
uint64_t pms_slab_nempty(struct pmemstore *ps);
struct pms_slab *pms_slab_adopt(struct pmemstore *ps, uint64_t page,
				unsigned cls, uint64_t used);

#endif /* PMS_SLAB_H */
