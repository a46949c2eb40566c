/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pool.h -- struct pmemstore, the open pool: mapping, geometry, volatile
 * state and counters shared by every module
 */
#ifndef PMS_POOL_H
#define PMS_POOL_H 1

#include <pthread.h>
#include <stdint.h>

#include "pmemstore.h"
#include "layout.h"
#include "pages.h"
#include "slab.h"
#include "heap.h"
#include "index.h"
#include "device.h"

/*
 * persistence counters, read by pmemstore_stats(): one block per thread
 * that used the pool, written by that thread only (see flush.c)
 */
struct pms_counters {
	uint64_t flushes;
	uint64_t lines;
	uint64_t fences;
	uint64_t msyncs;
	const void *owner; /* the thread's identity: a TLS address */
	struct pms_counters *next;
} __attribute__((aligned(64)));

struct pmemstore {
	char *path;
	int fd;
	int rdonly;
	int is_pmem;
	int is_devdax;
	int broken;	/* an msync failed mid-commit: no more changes */
	int stale_runs; /* read-only: a live run's TAILs are not on media */
	int no_reserve; /* the file system has no fallocate: reserve nothing */
	int no_punch;	/* nor hole punching (atomic) */
	/*
	 * data pages [0, backed) have file blocks (pms_pool_reserve, under
	 * the page lock); volatile, 0 at every open
	 */
	uint64_t backed;

	uint8_t *base;		       /* the mapping */
	size_t map_len;		       /* its length */
	struct pms_super sb;	       /* validated copy of the superblock */
	struct pms_super_page *sbp[2]; /* the two superblock pages */
	struct pms_desc *desc;	       /* descriptor array */
	uint8_t *data;		       /* data page 0 */
	uint64_t npages;
	uint64_t seed; /* identity-check seed, from the pool UUID */

	struct pms_pages pages; /* free pages and the high-water mark */
	struct pms_heaps heaps; /* per-thread heaps (heap.c) */
	struct pms_index index;
	struct pmemstore *reg_next; /* the registry of open pools (heap.c) */
	int registered;
	int pins; /* thread exits abandoning a heap here (atomic) */

	uint64_t id; /* unique per handle: keys the threads' counter caches */
	pthread_mutex_t ctr_lock;
	struct pms_counters *ctrs; /* every thread's block */
	/*
	 * not closed cleanly (a crash): slab bitmaps are hints until a page
	 * is checked (pms_obj_validate), counts are walked (pmemstore_stats)
	 */
	int dirty;
	int was_dirty;	  /* the open found the pool not closed cleanly */
	uint64_t objects; /* from the clean close; the heaps count changes */
	uint64_t bytes;

	struct pms_device dev; /* what the pool is on (device.c) */
	int media;	       /* holds the SIGBUS handler (media.c) */

	pthread_mutex_t vh_lock; /* makes the volatile heap (vheap.c) */
	struct pms_vheap *vheap; /* NULL until the first pmemstore_malloc */
};

/* pms_page_addr -- address of data page p */
static inline uint8_t *
pms_page_addr(const struct pmemstore *ps, uint64_t p)
{
	return ps->data + (p << PMS_PAGE_SHIFT);
}

/*
 * pms_pages_bad -- do data pages [page, +n) hold a bad byte of the
 * device?  One load and a branch on a pool without bad pages.
 */
static inline int
pms_pages_bad(const struct pmemstore *ps, uint64_t page, uint64_t n)
{
	return pms_device_any(&ps->dev) &&
	       pms_device_overlap(ps,
				  ps->sb.data_off + (page << PMS_PAGE_SHIFT),
				  n << PMS_PAGE_SHIFT) != UINT64_MAX;
}

/* pms_geometry -- the layout create gives a pool of size bytes */
int pms_geometry(uint64_t size, uint64_t *npages, uint64_t *data_off);

struct stat;

/* pms_devdax_size -- the size of a device-dax node, from sysfs */
int pms_devdax_size(const char *path, const struct stat *st, uint64_t *size);

/* pms_pool_begin -- the first writes of a read-write open; see pool.c */
int pms_pool_begin(struct pmemstore *ps);

/* pms_hwm_extend -- make descriptors [0, end) usable; see pool.c */
int pms_hwm_extend(struct pmemstore *ps, uint64_t end);

/*
 * pms_pool_reserve -- make sure the file has blocks under data pages
 * [page, page + npages) before they are handed out (ENOSPC otherwise);
 * called with the page lock held; see pool.c
 */
int pms_pool_reserve(struct pmemstore *ps, uint64_t page, uint64_t npages);

/* the volatile heap's blocks: exactly the range given (pool.c) */
int pms_pool_reserve_exact(struct pmemstore *ps, uint64_t page, uint64_t n);
int pms_pool_reserve_desc(struct pmemstore *ps, uint64_t page, uint64_t n);
int pms_pool_punch(struct pmemstore *ps, uint64_t page, uint64_t n);

#endif /* PMS_POOL_H */
