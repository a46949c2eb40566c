/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pages.h -- the volatile page allocator: free extents of data pages
 */
#ifndef PMS_PAGES_H
#define PMS_PAGES_H 1

#include <pthread.h>
#include <stdint.h>

struct pms_extent;

struct pms_pages {
	pthread_mutex_t lock;
	struct pms_extent *root;  /* treap of free extents, keyed by start */
	uint64_t nfree;		  /* free pages */
	uint64_t hwm;		  /* high-water mark, in pages (see layout.h) */
	uint64_t cap;		  /* the mark never passes it: descriptors
				   * from here on lie on a bad block */
	uint64_t seed;		  /* treap priorities */
	struct pms_extent *holes; /* pages punched and not reserved since */
	uint64_t nholes;	  /* pages in holes */
	uint64_t discards;	  /* pages punched (atomic) */
};

struct pmemstore;

void pms_pages_init(struct pms_pages *pg);
void pms_pages_fini(struct pms_pages *pg);
int pms_pages_add(struct pms_pages *pg, uint64_t start, uint64_t n);
int pms_pages_alloc(struct pmemstore *ps, uint64_t n, uint64_t align,
		    uint64_t *start);
void pms_pages_free(struct pmemstore *ps, uint64_t start, uint64_t n);
uint64_t pms_pages_nfree(struct pms_pages *pg);
int pms_pages_take_locked(struct pms_pages *pg, uint64_t start, uint64_t n);

/* the volatile heap's side (vheap.c): see pages.c */
int pms_pages_valloc(struct pmemstore *ps, uint64_t n, uint64_t align,
		     uint64_t phase, uint64_t want, uint64_t *start);
int pms_pages_discard(struct pmemstore *ps, uint64_t start, uint64_t n,
		      int release);
int pms_pages_recommit(struct pmemstore *ps, uint64_t start, uint64_t n);

#endif /* PMS_PAGES_H */
