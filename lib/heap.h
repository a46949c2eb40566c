/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * heap.h -- per-thread heaps: which thread owns which slab pages, the
 * remote-free lists that bring cross-thread frees home, and the page
 * groups that keep two threads off one descriptor cache line
 */
#ifndef PMS_HEAP_H
#define PMS_HEAP_H 1

#include <pthread.h>
#include <stdint.h>

#include "layout.h"

struct pms_heap;

/*
 * pms_group -- an aligned group of PMS_GROUP_PAGES data pages whose
 * descriptors share one cache line: a heap takes its slab pages a group at
 * a time, so no other heap's slab publishes into that line.
 */
#define PMS_GROUP_PAGES 4

struct pms_group {
	uint64_t first; /* first page, a multiple of PMS_GROUP_PAGES */
	unsigned mine;	/* pages of the group the heap holds (bit per page) */
	unsigned free;	/* of those, pages no slab uses */
	struct pms_group *prev, *next;	 /* on the heap's list: free != 0 */
	struct pms_group *aprev, *anext; /* on the heap's list of all groups */
	int listed;
};

/*
 * pms_slab -- one slab page, owned by one heap for its whole life.  avail
 * and the lists belong to the owner (under its lock); rfree, in a line of
 * its own, is where other threads drop the slots they freed.
 */
struct pms_slab {
	uint64_t page;
	uint64_t avail; /* slots free to reserve (not allocated, not in use) */
	struct pms_heap *heap; /* the owner, fixed */
	struct pms_group *group;
	unsigned cls;
	unsigned navail;
	int listed;
	int bad;       /* on a bad block: no slot is handed out again */
	uint64_t dead; /* bad: the slots freed (the page goes when all are) */
	struct pms_slab *prev, *next;	/* on the owner's partial list */
	struct pms_slab *aprev, *anext; /* on the owner's list of all slabs */
	/* written by other threads: */
	uint64_t rfree __attribute__((aligned(64))); /* remote-freed slots */
	struct pms_slab *rnext; /* on the owner's remote list */
} __attribute__((aligned(64)));

/*
 * The run cache: page runs of large objects the heap's thread freed, kept
 * for its next allocation of the same length (no page-allocator lock).
 * Bounded, and emptied into the page allocator when the heap holds no
 * slab any more (so an emptied pool is a fresh one), when the pool runs
 * out of pages, and when the thread exits.
 */
#define PMS_RUN_CACHE 16	 /* runs */
#define PMS_RUN_CACHE_MAX 256	 /* pages of one cached run (1 MiB) */
#define PMS_RUN_CACHE_PAGES 2048 /* pages of all a heap's cached runs */

struct pms_run {
	uint64_t page, npages;
};

struct pms_heap {
	pthread_mutex_t lock; /* the owner's; others take it on slow paths */
	struct pmemstore *ps;
	int abandoned;				/* no thread owns it (atomic) */
	struct pms_slab *partial[PMS_NCLASSES]; /* slabs with navail > 0 */
	struct pms_slab *all;			/* every slab */
	struct pms_group *groups;		/* groups with free pages */
	struct pms_group *gall;			/* every group */
	uint64_t gfree;				/* pages free in groups */
	struct pms_run runs[PMS_RUN_CACHE]; /* the run cache, oldest first */
	unsigned nruns;
	uint64_t rpages; /* pages in the run cache */
	/* the owning thread's alone (no lock): */
	int64_t objects; /* objects allocated - freed by this heap */
	int64_t bytes;
	int64_t vbytes;	 /* volatile heap: usable bytes malloc'd - freed */
	unsigned vtc;	 /* its jemalloc tcache + 1, 0: none yet (vheap.c) */
	unsigned varena; /* its jemalloc arena */
	struct pms_vbin *vbins; /* its cached volatile blocks (vheap.c) */
	uint64_t vcached;	/* bytes in them */
	uint64_t vbudget;	/* bytes they may hold */
	int vdrain;		/* empty them at the next call (atomic) */
	struct pms_heap *next;	/* all heaps of the pool */
	struct pms_heap *anext; /* the pool's abandoned heaps */
	/* written by other threads: slabs holding remote-freed slots */
	struct pms_slab *rlist __attribute__((aligned(64)));
} __attribute__((aligned(64)));

/*
 * The slab map: the slab of each data page that has one, in zones of
 * PMS_MAP_ZONE pages allocated on first use (8 bytes per page, none per
 * object).  A page open found but no thread has used yet has no slab: the
 * first free in it, or an allocation of its class (a candidate), makes
 * one (pms_heap_slab_of), checking it first after a crash.
 */
#define PMS_MAP_ZONE 16384ULL
#define PMS_MAP_CANDIDATE ((struct pms_slab *)1) /* on a candidate list */
#define PMS_MAP_ADOPTING ((struct pms_slab *)2)	 /* being made */
#define PMS_MAP_GONE ((struct pms_slab *)3)	 /* its slab was dropped */
/* pms_map_slab -- does a map word name a slab? */
#define PMS_MAP_SLAB(s) ((uintptr_t)(s) > (uintptr_t)PMS_MAP_GONE)

/* pms_cands -- slab pages of one class open found with free slots */
struct pms_cands {
	uint64_t *v;
	size_t n, cap;
};

/* pms_heaps -- a pool's heaps */
struct pms_heaps {
	pthread_mutex_t lock;	  /* the lists below */
	struct pms_heap *all;	  /* every heap */
	struct pms_heap *spare;	  /* abandoned heaps, for new threads */
	struct pms_heap *heap0;	  /* the first heap */
	pthread_mutex_t map_lock; /* zones of the map, cands (a leaf lock) */
	struct pms_slab ***map;
	uint64_t nzones;
	struct pms_cands cands[PMS_NCLASSES];
};

struct pmemstore;

int pms_heaps_init(struct pmemstore *ps);
int pms_heaps_map(struct pmemstore *ps);
void pms_heaps_fini(struct pmemstore *ps);
struct pms_heap *pms_heap_mine(struct pmemstore *ps);
int pms_heap_reserve(struct pmemstore *ps, struct pms_heap *h, unsigned cls,
		     struct pms_slab **slab, unsigned *slot);
void pms_heap_release(struct pms_heap *h, struct pms_slab *s, unsigned slot);
int pms_heap_reclaim(struct pmemstore *ps);
int pms_heap_candidate(struct pmemstore *ps, uint64_t page, unsigned cls);
void pms_heap_cands_reset(struct pmemstore *ps);
struct pms_slab *pms_heap_slab_peek(struct pmemstore *ps, uint64_t page);
struct pms_slab *pms_heap_slab_of(struct pmemstore *ps, struct pms_heap *me,
				  uint64_t page);
int pms_heap_settle(struct pmemstore *ps, int closing);
int pms_heap_run_get(struct pms_heap *h, uint64_t npages, uint64_t *page);
void pms_heap_run_put(struct pmemstore *ps, struct pms_heap *h, uint64_t page,
		      uint64_t npages);
void pms_heap_sums(struct pmemstore *ps, uint64_t *gfree, int64_t *objects,
		   int64_t *bytes);
void pms_heap_registry_add(struct pmemstore *ps);
void pms_heap_registry_del(struct pmemstore *ps);

#endif /* PMS_HEAP_H */
