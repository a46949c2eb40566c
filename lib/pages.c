/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pages.c -- owns the volatile set of free data pages.
 *
 * Free pages are kept as maximal extents in a treap keyed by start page and
 * augmented with the longest extent of each subtree, so that the lowest
 * extent that fits a request is found in O(log n).  Allocating low keeps
 * the high-water mark, and with it the time of the next open, small.
 * Nothing here is persistent: open rebuilds it from the descriptors.
 */
#include <errno.h>
#include <stdlib.h>

#include "pool.h"
#include "pages.h"
#include "errors.h"

struct pms_extent {
	uint64_t start;
	uint64_t len;
	uint64_t maxlen; /* longest extent in this subtree */
	uint64_t prio;
	struct pms_extent *l, *r;
};

/* prio_next -- xorshift64 priorities for the treap */
static uint64_t
prio_next(struct pms_pages *pg)
{
	uint64_t x = pg->seed;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	pg->seed = x;
	return x;
}

/* fix -- recompute a node's subtree maximum */
static void
fix(struct pms_extent *t)
{
	uint64_t m = t->len;

	if (t->l && t->l->maxlen > m)
		m = t->l->maxlen;
	if (t->r && t->r->maxlen > m)
		m = t->r->maxlen;
	t->maxlen = m;
}

/* split -- t into keys < key (*a) and keys >= key (*b) */
static void
split(struct pms_extent *t, uint64_t key, struct pms_extent **a,
      struct pms_extent **b)
{
	if (t == NULL) {
		*a = *b = NULL;
	} else if (t->start < key) {
		split(t->r, key, &t->r, b);
		fix(t);
		*a = t;
	} else {
		split(t->l, key, a, &t->l);
		fix(t);
		*b = t;
	}
}

/* merge -- join two treaps, every key of a below every key of b */
static struct pms_extent *
merge(struct pms_extent *a, struct pms_extent *b)
{
	if (a == NULL)
		return b;
	if (b == NULL)
		return a;
	if (a->prio > b->prio) {
		a->r = merge(a->r, b);
		fix(a);
		return a;
	}
	b->l = merge(a, b->l);
	fix(b);
	return b;
}

/* destroy -- free a subtree */
static void
destroy(struct pms_extent *t)
{
	if (t == NULL)
		return;
	destroy(t->l);
	destroy(t->r);
	free(t);
}

/* pms_pages_init -- an empty allocator */
void
pms_pages_init(struct pms_pages *pg)
{
	pthread_mutex_init(&pg->lock, NULL);
	pg->root = NULL;
	pg->nfree = 0;
	pg->hwm = 0;
	pg->cap = UINT64_MAX;
	pg->seed = 0x9e3779b97f4a7c15ULL;
	pg->holes = NULL;
	pg->nholes = 0;
	pg->discards = 0;
}

/* pms_pages_fini -- release the allocator's memory */
void
pms_pages_fini(struct pms_pages *pg)
{
	destroy(pg->root);
	pg->root = NULL;
	destroy(pg->holes);
	pg->holes = NULL;
	pthread_mutex_destroy(&pg->lock);
}

/*
 * insert_locked -- add [start, start + n) as free, merging with the free
 * extents that touch it
 */
static int
insert_locked(struct pms_pages *pg, struct pms_extent **rootp, uint64_t start,
	      uint64_t n)
{
	struct pms_extent *a, *b, *c, *node;

	split(*rootp, start, &a, &b);
	/* the extent just below, if it ends at start */
	if (a) {
		struct pms_extent *m = a, *x, *y;

		while (m->r)
			m = m->r;
		if (m->start + m->len == start) {
			split(a, m->start, &x, &y);
			a = x;
			start = y->start;
			n += y->len;
			free(y);
		}
	}
	/* the extent just above, if it starts at start + n */
	split(b, start + n + 1, &b, &c);
	if (b) {
		/* b holds keys in [start, start + n]: only start + n fits */
		if (b->start != start + n || b->l || b->r) {
			*rootp = merge(merge(a, b), c);
			return -1; /* overlaps a free extent: caller's bug */
		}
		n += b->len;
		free(b);
	}
	node = malloc(sizeof(*node));
	if (node == NULL) {
		*rootp = merge(a, c);
		return -1;
	}
	node->start = start;
	node->len = n;
	node->maxlen = n;
	node->prio = prio_next(pg);
	node->l = node->r = NULL;
	*rootp = merge(merge(a, node), c);
	return 0;
}

/* pms_pages_add -- add free pages (open, or returning pages) */
int
pms_pages_add(struct pms_pages *pg, uint64_t start, uint64_t n)
{
	int ret;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&pg->lock);
	ret = insert_locked(pg, &pg->root, start, n);
	if (ret == 0)
		pg->nfree += n;
	pthread_mutex_unlock(&pg->lock);
	return ret;
}

/* fit -- first aligned start of n pages within extent e, or UINT64_MAX */
static uint64_t
fit(const struct pms_extent *e, uint64_t n, uint64_t align)
{
	uint64_t s = (e->start + align - 1) / align * align;

	if (s < e->start || s - e->start > e->len ||
	    e->len - (s - e->start) < n)
		return UINT64_MAX;
	return s;
}

/* find -- lowest extent holding an aligned run of n pages */
static struct pms_extent *
find(struct pms_extent *t, uint64_t n, uint64_t align, uint64_t *at)
{
	struct pms_extent *e;

	if (t == NULL || t->maxlen < n)
		return NULL;
	if ((e = find(t->l, n, align, at)) != NULL)
		return e;
	if (t->len >= n && (*at = fit(t, n, align)) != UINT64_MAX)
		return t;
	return find(t->r, n, align, at);
}

/*
 * carve_locked -- take [at, at + n) out of free extent e; the remainders
 * stay free (they cannot touch other free extents)
 */
static void
carve_locked(struct pms_pages *pg, struct pms_extent *e, uint64_t at,
	     uint64_t n)
{
	struct pms_extent *a, *m, *c;
	uint64_t es = e->start, el = e->len;

	split(pg->root, es, &a, &m);
	split(m, es + 1, &m, &c);
	free(m);
	pg->root = merge(a, c);
	pg->nfree -= n;
	/* out of memory for a node: the remainder is lost until the next
	 * open (which finds it free), and no longer counted */
	if (at > es && insert_locked(pg, &pg->root, es, at - es))
		pg->nfree -= at - es;
	if (at + n < es + el &&
	    insert_locked(pg, &pg->root, at + n, es + el - at - n))
		pg->nfree -= es + el - at - n;
}

/* overlap -- an extent of t that overlaps [s, e), or NULL */
static struct pms_extent *
overlap(struct pms_extent *t, uint64_t s, uint64_t e)
{
	while (t) {
		if (t->start + t->len <= s)
			t = t->r;
		else if (t->start >= e)
			t = t->l;
		else
			return t;
	}
	return NULL;
}

/*
 * holes_cut_locked -- take [s, s + n) out of the holes; with ps, each
 * piece taken gets its file blocks back first (a piece that cannot stays
 * a hole, and the call fails: ENOSPC).  A hole is never lost: nodes are
 * shrunk in place (the holes' treap is searched by overlap only, never
 * by length, so its maxlen is not kept), and the one split that needs a
 * new node fails (ENOMEM) before it changes anything.
 */
static int
holes_cut_locked(struct pmemstore *ps, struct pms_pages *pg, uint64_t s,
		 uint64_t n)
{
	uint64_t e = s + n;
	struct pms_extent *h;

	while ((h = overlap(pg->holes, s, e)) != NULL) {
		uint64_t hs = h->start, he = h->start + h->len;
		uint64_t lo = hs > s ? hs : s, hi = he < e ? he : e;

		if (ps && pms_pool_reserve_exact(ps, lo, hi - lo))
			return -1;
		if (hs < lo && hi < he) {
			h->len = lo - hs;
			if (insert_locked(pg, &pg->holes, hi, he - hi)) {
				h->len = he - hs; /* reserved, still a hole */
				return pms_err(ENOMEM, "out of memory");
			}
		} else if (hs < lo) {
			h->len = lo - hs;
		} else if (hi < he) {
			h->start = hi;
			h->len = he - hi;
		} else {
			struct pms_extent *a, *m, *c;

			split(pg->holes, hs, &a, &m);
			split(m, hs + 1, &m, &c);
			free(m);
			pg->holes = merge(a, c);
		}
		pg->nholes -= hi - lo;
	}
	return 0;
}

/*
 * pms_pages_alloc -- take the lowest aligned run of n free pages.  A run
 * reaching past the high-water mark first raises it (durably).
 */
int
pms_pages_alloc(struct pmemstore *ps, uint64_t n, uint64_t align,
		uint64_t *start)
{
	struct pms_pages *pg = &ps->pages;
	struct pms_extent *e;
	uint64_t at = 0;

	pthread_mutex_lock(&pg->lock);
	e = find(pg->root, n, align, &at);
	if (e == NULL) {
		unsigned long long nfree = pg->nfree;

		pthread_mutex_unlock(&pg->lock);
		return pms_err(ENOMEM,
			       "pool %s: no run of %llu free pages (%llu free)",
			       ps->path, (unsigned long long)n, nfree);
	}
	if ((at + n > pg->hwm && pms_hwm_extend(ps, at + n)) ||
	    holes_cut_locked(ps, pg, at, n) || pms_pool_reserve(ps, at, n)) {
		pthread_mutex_unlock(&pg->lock);
		return -1;
	}
	carve_locked(pg, e, at, n);
	pthread_mutex_unlock(&pg->lock);
	*start = at;
	return 0;
}

/*
 * pms_pages_free -- return a run of pages; one with bad pages goes through
 * the device layer (cleared, or withheld)
 */
void
pms_pages_free(struct pmemstore *ps, uint64_t start, uint64_t n)
{
	if (pms_pages_bad(ps, start, n)) {
		(void)pms_device_free(ps, start, n);
		return;
	}
	(void)pms_pages_add(&ps->pages, start, n);
}

/*
 * pms_pages_take_locked -- take pages [start, +n) out of the free extents
 * if all of them are free: 0, else -1 (nothing taken).  Page lock held.
 */
int
pms_pages_take_locked(struct pms_pages *pg, uint64_t start, uint64_t n)
{
	struct pms_extent *e = overlap(pg->root, start, start + n);

	if (e == NULL || e->start > start || e->start + e->len < start + n)
		return -1;
	carve_locked(pg, e, start, n);
	return 0;
}

/* pms_pages_nfree -- free pages now */
uint64_t
pms_pages_nfree(struct pms_pages *pg)
{
	uint64_t n;

	pthread_mutex_lock(&pg->lock);
	n = pg->nfree;
	pthread_mutex_unlock(&pg->lock);
	return n;
}

/* ---- the volatile heap's side ---- */

/*
 * fit_high -- the highest start of n pages within extent e with
 * (start + phase) % align == 0, or UINT64_MAX
 */
static uint64_t
fit_high(const struct pms_extent *e, uint64_t n, uint64_t align, uint64_t phase)
{
	uint64_t s, r;

	if (e->len < n)
		return UINT64_MAX;
	s = e->start + e->len - n;
	r = (s + phase) % align;
	if (r > s - e->start)
		return UINT64_MAX;
	return s - r;
}

/* find_high -- the highest extent holding an aligned run of n pages */
static struct pms_extent *
find_high(struct pms_extent *t, uint64_t n, uint64_t align, uint64_t phase,
	  uint64_t *at)
{
	struct pms_extent *e;

	if (t == NULL || t->maxlen < n)
		return NULL;
	if ((e = find_high(t->r, n, align, phase, at)) != NULL)
		return e;
	if (t->len >= n && (*at = fit_high(t, n, align, phase)) != UINT64_MAX)
		return t;
	return find_high(t->l, n, align, phase, at);
}

/*
 * pms_pages_valloc -- n free pages for the volatile heap: exactly at want
 * (UINT64_MAX: anywhere), else the highest run with (start + phase) %
 * align == 0.  Taken from the top so that persistent pages stay low and
 * the high-water mark (what an open reads) is not raised: a volatile
 * page's descriptor may be written above the mark, and an open takes
 * every VOLATILE descriptor as free (layout.h).  The run's file blocks
 * are reserved here: its holes, and what lies past the pages known to be
 * backed.  Fails with ENOMEM (nothing fits), or ENOSPC.
 */
int
pms_pages_valloc(struct pmemstore *ps, uint64_t n, uint64_t align,
		 uint64_t phase, uint64_t want, uint64_t *start)
{
	struct pms_pages *pg = &ps->pages;
	struct pms_extent *e;
	uint64_t at = want;

	pthread_mutex_lock(&pg->lock);
	if (want != UINT64_MAX) {
		e = overlap(pg->root, want, want + 1);
		if (e && e->start + e->len - want < n)
			e = NULL;
	} else {
		e = find_high(pg->root, n, align, phase, &at);
	}
	if (e == NULL) {
		unsigned long long nfree = pg->nfree;

		pthread_mutex_unlock(&pg->lock);
		return pms_err(ENOMEM,
			       "pool %s: no run of %llu free pages for the "
			       "volatile heap (%llu free)",
			       ps->path, (unsigned long long)n, nfree);
	}
	if ((at + n > pg->hwm &&
	     pms_pool_reserve_desc(ps, at > pg->hwm ? at : pg->hwm,
				   at + n - (at > pg->hwm ? at : pg->hwm))) ||
	    holes_cut_locked(ps, pg, at, n) ||
	    (at + n > ps->backed &&
	     pms_pool_reserve_exact(
		     ps, at > ps->backed ? at : ps->backed,
		     at + n - (at > ps->backed ? at : ps->backed)))) {
		pthread_mutex_unlock(&pg->lock);
		return -1;
	}
	carve_locked(pg, e, at, n);
	/*
	 * VOLATILE, unflushed (free to an open), before the lock is dropped:
	 * an extension of the mark, under the lock, zeroes what is neither
	 * FREE nor VOLATILE above the old mark, and must not see these
	 * descriptors half made
	 */
	for (uint64_t i = at; i < at + n; i++) {
		__atomic_store_n(&ps->desc[i].w1, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&ps->desc[i].w0, PMS_DESC_VOLATILE,
				 __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&pg->lock);
	*start = at;
	return 0;
}

/*
 * pms_pages_discard -- the volatile heap is done with [start, start + n):
 * its file blocks go back to the file system (a hole, counted), and with
 * release the pages are free again.  Without release (a decommit) the
 * pages stay the heap's, to be recommitted before reuse; that fails (-1)
 * when nothing could be punched, so that the heap keeps them committed.
 */
int
pms_pages_discard(struct pmemstore *ps, uint64_t start, uint64_t n, int release)
{
	struct pms_pages *pg = &ps->pages;
	int punched = pms_pool_punch(ps, start, n) == 0;

	pthread_mutex_lock(&pg->lock);
	if (punched) {
		__atomic_add_fetch(&pg->discards, n, __ATOMIC_RELAXED);
		if (holes_cut_locked(NULL, pg, start, n) == 0 &&
		    insert_locked(pg, &pg->holes, start, n) == 0) {
			pg->nholes += n;
		} else if (pms_pool_reserve_exact(ps, start, n)) {
			/* a hole that cannot be recorded nor filled: the
			 * pages stay out of use until the next open */
			pthread_mutex_unlock(&pg->lock);
			return -1;
		}
	}
	if (release && insert_locked(pg, &pg->root, start, n) == 0)
		pg->nfree += n;
	pthread_mutex_unlock(&pg->lock);
	return punched || release ? 0 : -1;
}

/*
 * pms_pages_recommit -- file blocks again under the holes of [start,
 * start + n), pages the volatile heap kept (ENOSPC when the file system
 * is full: the heap then reports out of memory, never a SIGBUS)
 */
int
pms_pages_recommit(struct pmemstore *ps, uint64_t start, uint64_t n)
{
	struct pms_pages *pg = &ps->pages;
	int ret;

	pthread_mutex_lock(&pg->lock);
	ret = holes_cut_locked(ps, pg, start, n);
	pthread_mutex_unlock(&pg->lock);
	return ret;
}
