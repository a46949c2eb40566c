/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * index.h -- the UUID index on media (extendible hashing, layout.h) and
 * the volatile claims that keep two threads off one UUID
 */
#ifndef PMS_INDEX_H
#define PMS_INDEX_H 1

#include <pthread.h>
#include <stdint.h>

#include "layout.h"

#define PMS_INDEX_STRIPES 1024
#define PMS_STRIPE_SHIFT 54 /* stripe = top 10 bits of the hash */

enum pms_claim_kind {
	PMS_CLAIM_ALLOC = 1, /* being allocated: lookups do not see it yet */
	PMS_CLAIM_FREE = 2,  /* being freed: lookups still see it, here */
};

/*
 * pms_claim -- one allocation or free in flight, on its stripe's list
 * while it runs: a second allocation or free of the UUID fails, and a
 * lookup that meets it answers from it (see pms_index_get)
 */
struct pms_claim {
	uint64_t uuid[2];
	uint64_t loc;	 /* FREE: where the object is (its entry) */
	uint64_t size;	 /* FREE: its size, */
	uint64_t page;	 /* its data's first page, */
	uint64_t npages; /* its run's pages (0: small) */
	unsigned cls;	 /* and its class */
	unsigned kind;
	struct pms_claim *next;
};

/*
 * pms_stripe -- writers' lock of the UUIDs whose hash has one top 10-bit
 * value: inserts and removals of entries, and the claims, are made under
 * it.  seq is odd while a split takes entries out of a segment of the
 * stripe's range: a lookup that found nothing while seq moved retries.
 * nclaims != 0 sends a lookup to the claims.  Lookups write nothing.
 */
struct pms_stripe {
	pthread_mutex_t lock;
	uint64_t seq;
	uint64_t nclaims;
	struct pms_claim *claims;
} __attribute__((aligned(64)));

struct pms_oldir {
	uint64_t page, npages;
};

/* pms_redo -- a split the log says was decided, found by open */
struct pms_redo {
	uint64_t seg, twin, prefix;
	unsigned depth;
	int valid;
};

struct pms_index {
	struct pms_stripe *stripes;
	pthread_mutex_t split_lock; /* one split or doubling at a time */
	uint64_t dir;		    /* PMS_DIR_WORD in use (atomic) */
	uint64_t splitting;	    /* the segment a split works on, + 1 */
	uint64_t pages;		    /* pages of segments and directories */
	struct pms_oldir *old;	    /* superseded directories (close frees) */
	size_t nold;
	struct pms_redo redo;
};

struct pmemstore;

/*
 * pms_index_match -- does the object at loc have the UUID the caller looks
 * for?  1 yes, 0 no; given by object.c, which knows what an object is
 */
typedef int (*pms_index_match_fn)(struct pmemstore *ps, uint64_t loc,
				  void *arg);

int pms_index_init(struct pms_index *ix);
void pms_index_fini(struct pms_index *ix);
int pms_index_format(struct pmemstore *ps, uint64_t seg, uint64_t dirpage);
int pms_index_open(struct pmemstore *ps);
int pms_index_repair(struct pmemstore *ps);
int pms_index_close(struct pmemstore *ps);

/* pms_index_stripe -- the stripe of a hash */
static inline struct pms_stripe *
pms_index_stripe(struct pms_index *ix, uint64_t hash)
{
	return &ix->stripes[hash >> PMS_STRIPE_SHIFT];
}

int pms_index_find(struct pmemstore *ps, uint64_t hash,
		   pms_index_match_fn match, void *arg, uint64_t *loc);
int pms_index_insert(struct pmemstore *ps, struct pms_stripe *st, uint64_t hash,
		     uint64_t loc, pms_index_match_fn match, void *arg,
		     uint64_t **where);
int pms_index_remove(struct pmemstore *ps, struct pms_stripe *st, uint64_t hash,
		     uint64_t loc, void **lines, unsigned *n);
int pms_index_has(struct pmemstore *ps, uint64_t hash, uint64_t loc);

void pms_index_claim(struct pms_stripe *st, struct pms_claim *c);
void pms_index_unclaim(struct pms_stripe *st, struct pms_claim *c);
struct pms_claim *pms_index_claimed(struct pms_stripe *st,
				    const uint8_t uuid[16]);

/*
 * pms_walk_fn -- an entry the walk offers: its value, its place (bucket,
 * index) in seg, the segment's buckets (a copy, or the segment itself
 * for a sweep); nonzero stops the walk (a sweep: 0 zeroes the entry)
 */
typedef int (*pms_walk_fn)(struct pmemstore *ps, uint64_t entry,
			   unsigned bucket, unsigned idx,
			   const struct pms_bucket *seg, void *arg);

/*
 * pms_index_walk -- call fn for every entry, a segment at a time (each
 * copied under the split lock, so fn may call into the pool); fn returns
 * nonzero to stop, which walk returns
 */
int pms_index_walk(struct pmemstore *ps, pms_walk_fn fn, void *arg);

/*
 * pms_index_sweep -- at a close, nothing running: every entry for which
 * keep returns 0 is zeroed (flushed; the caller fences)
 */
int pms_index_sweep(struct pmemstore *ps, pms_walk_fn keep, void *arg);

#endif /* PMS_INDEX_H */
