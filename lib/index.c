/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * index.c -- owns the UUID index on media: an extendible hash of
 * segments of cache-line buckets (layout.h), its growth by splits and
 * directory doublings with their commit protocols, the lock-free lookup,
 * and the volatile claims that serialize two operations on one UUID.
 *
 * Nothing here decides on its own whether an object exists: an entry is
 * a pointer with a fingerprint, and object.c verifies every entry against
 * the object it names (identity check, descriptor, UUID).  So a stale
 * entry (a crash between an entry's store and the fence of the rest) is
 * never an object; it takes a place in a bucket until a split drops it or
 * pmemstore_check repairs it.
 *
 * Concurrency.  Entries are single 8-byte words: inserted with a CAS into
 * an empty one, removed with a store of 0, under the stripe lock of the
 * UUID (the top 10 hash bits, so a segment of depth >= 10 lies in one
 * stripe).  A split takes the split lock, marks the segment as splitting,
 * and takes and releases each stripe lock of the segment's hash range
 * once (a barrier: no writer is left in the segment, and new ones wait
 * for the mark to go), then, for pages, the page lock.  No thread ever
 * holds two stripe locks.  Lookups take no lock:
 * they read the directory word, the directory and the buckets, and retry
 * a miss when their stripe's seq shows a split took entries out meanwhile.
 * Directories superseded by a doubling stay mapped and readable until
 * close, so a lookup holding an old one still finds every entry.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "pool.h"
#include "flush.h"
#include "errors.h"
#include "media.h"
#include "index.h"
#include "object.h"
#include "plant.h"

#define ALL_STRIPES_BITS 10

/* ld / st -- relaxed 8-byte accesses to words lock-free readers read */
static inline uint64_t
ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void
st(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* dir_pages -- pages of a directory of global depth g */
static uint64_t
dir_pages(unsigned g)
{
	uint64_t bytes = (1ULL << g) * sizeof(uint64_t);

	return bytes <= PMS_PAGE_SIZE ? 1 : bytes / PMS_PAGE_SIZE;
}

/* words -- the directory a directory word names */
static uint64_t *
words(struct pmemstore *ps, uint64_t dw)
{
	return (uint64_t *)pms_page_addr(ps, PMS_DIR_PAGE(dw));
}

/* seg_ok -- is p a plausible segment's first page (bounds only)? */
static int
seg_ok(const struct pmemstore *ps, uint64_t p)
{
	return p % PMS_SEG_PAGES == 0 && p < ps->npages &&
	       ps->npages - p >= PMS_SEG_PAGES;
}

/* seg_at -- the buckets of the segment at page p */
static struct pms_bucket *
seg_at(struct pmemstore *ps, uint64_t p)
{
	return (struct pms_bucket *)pms_page_addr(ps, p);
}

/* seg_for -- the segment page of hash h in directory word dw; -1: damage */
static int
seg_for(struct pmemstore *ps, uint64_t dw, uint64_t h, uint64_t *seg)
{
	unsigned g = PMS_DIR_DEPTH(dw);
	uint64_t i = g ? h >> (64 - g) : 0;

	*seg = ld(&words(ps, dw)[i]);
	if (!seg_ok(ps, *seg))
		return pms_err(EIO,
			       "pool %s: index directory word %llu names page "
			       "%llu, not a segment; run pmemstore_check",
			       ps->path, (unsigned long long)i,
			       (unsigned long long)*seg);
	return 0;
}

/*
 * seg_writable -- is page p the first page of a segment by its descriptor?
 * Checked before an entry is written there (a damaged directory word must
 * not turn an object's bytes into buckets)
 */
static int
seg_writable(struct pmemstore *ps, uint64_t p)
{
	if (ps->desc[p].w0 == PMS_DESC_INDEX_W0(PMS_INDEX_SEG, 0))
		return 0;
	return pms_err(EIO,
		       "pool %s: the index names page %llu, which is no "
		       "segment; run pmemstore_check",
		       ps->path, (unsigned long long)p);
}

/*
 * seg_for_write -- the segment of hash h for a writer holding the stripe
 * lock sp: while a split works on that segment, the writer lets go of its
 * stripe lock and waits (the split's barrier took and released every
 * stripe of the segment once after it set splitting, so no writer is in
 * the segment and none enters until it is done); 0 or -1
 */
static int
seg_for_write(struct pmemstore *ps, struct pms_stripe *sp, uint64_t h,
	      uint64_t *seg)
{
	for (;;) {
		uint64_t dw = __atomic_load_n(&ps->index.dir, __ATOMIC_ACQUIRE);

		if (seg_for(ps, dw, h, seg))
			return -1;
		if (__atomic_load_n(&ps->index.splitting, __ATOMIC_ACQUIRE) !=
		    *seg + 1)
			return seg_writable(ps, *seg);
		pthread_mutex_unlock(&sp->lock);
		while (__atomic_load_n(&ps->index.splitting,
				       __ATOMIC_ACQUIRE) == *seg + 1)
			sched_yield();
		pthread_mutex_lock(&sp->lock);
	}
}

/* window -- the i-th bucket (0..3) of hash h's two windows */
static unsigned
window(uint64_t h, unsigned i)
{
	unsigned b = i < PMS_WINDOW ? PMS_HASH_B1(h) : PMS_HASH_B2(h);

	return (b + i % PMS_WINDOW) % PMS_SEG_BUCKETS;
}

/* ---- claims ---- */

/* pms_index_claim -- put an operation in flight; stripe locked */
void
pms_index_claim(struct pms_stripe *sp, struct pms_claim *c)
{
	c->next = sp->claims;
	sp->claims = c;
	/* before any entry of the operation is stored (release order) */
	__atomic_store_n(&sp->nclaims, sp->nclaims + 1, __ATOMIC_SEQ_CST);
}

/* pms_index_unclaim -- the operation is over; stripe locked */
void
pms_index_unclaim(struct pms_stripe *sp, struct pms_claim *c)
{
	struct pms_claim **p = &sp->claims;

	while (*p && *p != c)
		p = &(*p)->next;
	if (*p)
		*p = c->next;
	__atomic_store_n(&sp->nclaims, sp->nclaims - 1, __ATOMIC_RELEASE);
}

/* pms_index_claimed -- the claim on a UUID, if any; stripe locked */
struct pms_claim *
pms_index_claimed(struct pms_stripe *sp, const uint8_t uuid[16])
{
	for (struct pms_claim *c = sp->claims; c; c = c->next)
		if (memcmp(c->uuid, uuid, 16) == 0)
			return c;
	return NULL;
}

/* ---- lookup ---- */

/*
 * scan -- the entries of hash h's windows in the segment at seg whose tag
 * matches, each offered to match; 1 and *loc when one matched
 */
static int
scan(struct pmemstore *ps, uint64_t seg, uint64_t h, pms_index_match_fn match,
     void *arg, uint64_t *loc)
{
	struct pms_bucket *b = seg_at(ps, seg);
	uint64_t tag = PMS_HASH_TAG(h);

	/* the second window's lines load while the first is read */
	__builtin_prefetch(&b[window(h, PMS_WINDOW)]);
	__builtin_prefetch(&b[window(h, PMS_WINDOW + 1)]);
	for (unsigned w = 0; w < 2 * PMS_WINDOW; w++) {
		struct pms_bucket *k = &b[window(h, w)];

		if (w == PMS_WINDOW && PMS_HASH_B2(h) == PMS_HASH_B1(h))
			break; /* one window: already seen */
		for (unsigned i = 0; i < PMS_BUCKET_ENTRIES; i++) {
			uint64_t e = ld(&k->e[i]);

			if (e == 0 || PMS_ENTRY_TAG(e) != tag)
				continue;
			if (match(ps, PMS_ENTRY_LOC(e), arg)) {
				*loc = PMS_ENTRY_LOC(e);
				return 1;
			}
		}
	}
	return 0;
}

/*
 * pms_index_find -- the location of the object of hash h that match
 * accepts, without a lock: 1 found, 0 not, -1 damage (errno EIO).  A miss
 * is confirmed against the stripe's seq (a split may have moved the entry
 * from the segment the directory we read named).
 */
int
pms_index_find(struct pmemstore *ps, uint64_t h, pms_index_match_fn match,
	       void *arg, uint64_t *loc)
{
	struct pms_stripe *sp = pms_index_stripe(&ps->index, h);

	for (;;) {
		uint64_t s = __atomic_load_n(&sp->seq, __ATOMIC_ACQUIRE), seg;
		uint64_t dw = __atomic_load_n(&ps->index.dir, __ATOMIC_ACQUIRE);

		if (s & 1) {
			__builtin_ia32_pause();
			continue;
		}
		if (seg_for(ps, dw, h, &seg))
			return -1;
		if (scan(ps, seg, h, match, arg, loc))
			return 1;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&sp->seq, __ATOMIC_RELAXED) == s)
			return 0;
	}
}

/* match_loc -- pms_index_has's match: the entry names loc */
static int
match_loc(struct pmemstore *ps, uint64_t loc, void *arg)
{
	(void)ps;
	return loc == *(uint64_t *)arg;
}

/* pms_index_has -- is there an entry of hash h naming loc? 1, 0, -1 */
int
pms_index_has(struct pmemstore *ps, uint64_t h, uint64_t loc)
{
	uint64_t found;

	return pms_index_find(ps, h, match_loc, &loc, &found);
}

/* ---- insert and remove (stripe locked) ---- */

static int split(struct pmemstore *ps, uint64_t h);

/*
 * pms_index_insert -- store the entry of hash h naming loc, in the emptier
 * of its two windows; *where is the entry, which the caller flushes with
 * the rest of its commit (a flush before the commit's locked stores would
 * make them wait for it).  An identical entry already there (a stale one
 * a crash left) is taken as it is, so that no location has two entries of
 * one tag in a window.  Full windows: the segment splits, with the stripe
 * lock let go meanwhile (the caller's claim keeps the UUID its own).
 * match, if given, is offered every other entry of the tag on the way:
 * 1 when it accepts one (the UUID has an object: nothing stored), else 0;
 * -1 on failure.
 */
int
pms_index_insert(struct pmemstore *ps, struct pms_stripe *sp, uint64_t h,
		 uint64_t loc, pms_index_match_fn match, void *arg,
		 uint64_t **where)
{
	uint64_t e = PMS_ENTRY(h, loc), tag = PMS_HASH_TAG(h), seg;

	for (;;) {
		struct pms_bucket *b;
		uint64_t *free[2] = {NULL, NULL}, *same = NULL;
		unsigned nfree[2] = {0, 0};

		if (seg_for_write(ps, sp, h, &seg))
			return -1;
		b = seg_at(ps, seg);
		__builtin_prefetch(&b[window(h, PMS_WINDOW)]);
		__builtin_prefetch(&b[window(h, PMS_WINDOW + 1)]);
		for (unsigned w = 0; w < 2 * PMS_WINDOW; w++) {
			struct pms_bucket *k = &b[window(h, w)];

			for (unsigned i = 0; i < PMS_BUCKET_ENTRIES; i++) {
				uint64_t v = ld(&k->e[i]);

				if (v == e) {
					same = &k->e[i];
					continue;
				}
				if (v != 0) {
					/* the UUID's object already there? */
					if (match && PMS_ENTRY_TAG(v) == tag &&
					    match(ps, PMS_ENTRY_LOC(v), arg))
						return 1;
					continue;
				}
				if (free[w / PMS_WINDOW] == NULL)
					free[w / PMS_WINDOW] = &k->e[i];
				nfree[w / PMS_WINDOW]++;
			}
		}
		if (same) {
			*where = same;
			return 0;
		}
		/* the emptier window: inserts balance the two choices */
		uint64_t *slot = nfree[1] > nfree[0] ? free[1] : free[0];
		uint64_t zero = 0;

		if (slot && __atomic_compare_exchange_n(slot, &zero, e, 0,
							__ATOMIC_SEQ_CST,
							__ATOMIC_RELAXED)) {
			*where = slot;
			return 0;
		}
		if (slot)
			continue; /* another stripe's insert took it */
		pthread_mutex_unlock(&sp->lock);
		int ret = split(ps, h);

		pthread_mutex_lock(&sp->lock);
		if (ret)
			return -1;
	}
}

/*
 * pms_index_remove -- zero every entry of hash h naming loc; lines[] gets
 * the lines changed (*n, at most 2 * PMS_WINDOW), which the caller
 * flushes with the rest of its commit; 0 or -1
 */
int
pms_index_remove(struct pmemstore *ps, struct pms_stripe *sp, uint64_t h,
		 uint64_t loc, void **lines, unsigned *n)
{
	uint64_t e = PMS_ENTRY(h, loc), seg;
	struct pms_bucket *b;

	if (seg_for_write(ps, sp, h, &seg))
		return -1;
	b = seg_at(ps, seg);
	*n = 0;
	for (unsigned w = 0; w < 2 * PMS_WINDOW; w++) {
		struct pms_bucket *k = &b[window(h, w)];
		int hit = 0;

		for (unsigned i = 0; i < PMS_BUCKET_ENTRIES; i++) {
			if (ld(&k->e[i]) != e)
				continue;
			st(&k->e[i], 0);
			hit = 1;
		}
		if (hit)
			lines[(*n)++] = k;
	}
	return 0;
}

/* ---- growth ---- */

/* log_check -- the split log's checksum */
static uint64_t
log_check(const struct pms_split_log *l)
{
	return XXH64(l, offsetof(struct pms_split_log, check), PMS_SPLIT_SEED);
}

/*
 * seg_meta -- depth and prefix of the segment at seg, from its descriptor,
 * which must agree with the directory that named it for hash h (depth at
 * most the global depth g, prefix the top depth bits of h)
 */
static int
seg_meta(struct pmemstore *ps, uint64_t seg, unsigned g, uint64_t h,
	 unsigned *depth, uint64_t *prefix)
{
	uint64_t w0 = ps->desc[seg].w0, w1 = ps->desc[seg].w1;

	*depth = PMS_SEG_DEPTH(w1);
	*prefix = PMS_SEG_PREFIX(w1);
	if (w0 != PMS_DESC_INDEX_W0(PMS_INDEX_SEG, 0) || *depth > g ||
	    (*prefix >> *depth) != 0 ||
	    (*depth && h >> (64 - *depth) != *prefix))
		return pms_err(EIO,
			       "pool %s: index segment at page %llu has a "
			       "malformed descriptor; run pmemstore_check",
			       ps->path, (unsigned long long)seg);
	return 0;
}

/*
 * entry_hash -- the top bits of an entry's hash: from its tag when the
 * depth needs fewer than PMS_TAG_BITS of them, else from the object's UUID
 * (pms_obj_rehash); -1 for an entry whose object does not verify
 */
static int
entry_hash(struct pmemstore *ps, uint64_t e, unsigned depth, uint64_t *h)
{
	if (depth < PMS_TAG_BITS) {
		*h = PMS_ENTRY_TAG(e) << (64 - PMS_TAG_BITS);
		return 0;
	}
	if (pms_obj_rehash(ps, PMS_ENTRY_LOC(e), h) ||
	    PMS_HASH_TAG(*h) != PMS_ENTRY_TAG(e))
		return -1;
	return 0;
}

/*
 * stripe_range -- the stripes [lo, lo + n) of the hashes with the depth-bit
 * prefix prefix: one stripe holds a whole segment of depth >= 10
 */
static void
stripe_range(unsigned depth, uint64_t prefix, uint64_t *lo, uint64_t *n)
{
	if (depth >= ALL_STRIPES_BITS) {
		*lo = prefix >> (depth - ALL_STRIPES_BITS);
		*n = 1;
	} else {
		*lo = prefix << (ALL_STRIPES_BITS - depth);
		*n = 1ULL << (ALL_STRIPES_BITS - depth);
	}
}

/*
 * barrier -- take and release, one at a time, every stripe lock of a hash
 * prefix: after it, no writer that entered the segment before splitting
 * was set is still in it (writers hold their stripe lock throughout)
 */
static void
barrier(struct pmemstore *ps, unsigned depth, uint64_t prefix)
{
	uint64_t lo, n;

	stripe_range(depth, prefix, &lo, &n);
	for (uint64_t i = 0; i < n; i++) {
		struct pms_stripe *sp = &ps->index.stripes[lo + i];

		pthread_mutex_lock(&sp->lock);
		pthread_mutex_unlock(&sp->lock);
	}
}

/* seq_range -- bump the seq of the stripes of a hash prefix */
static void
seq_range(struct pmemstore *ps, unsigned depth, uint64_t prefix)
{
	uint64_t lo, n;

	stripe_range(depth, prefix, &lo, &n);
	for (uint64_t i = 0; i < n; i++) {
		struct pms_stripe *sp = &ps->index.stripes[lo + i];

		__atomic_store_n(&sp->seq, sp->seq + 1, __ATOMIC_RELEASE);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* set_index_desc -- descriptors of an index structure of n pages */
static void
set_index_desc(struct pmemstore *ps, uint64_t first, uint64_t n, unsigned kind,
	       uint64_t w1)
{
	for (uint64_t i = 0; i < n; i++) {
		__atomic_store_n(&ps->desc[first + i].w1, i ? 0 : w1,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&ps->desc[first + i].w0,
				 PMS_DESC_INDEX_W0(kind, i), __ATOMIC_RELAXED);
	}
}

/*
 * apply_split -- step 2 and 3 of a split whose log is durable: the twin's
 * descriptors, the segment's new depth, the directory words of the upper
 * half (flushed, fence); then the moved and foreign entries out of the
 * segment (flushed; durable with a later fence: until then they are
 * copies no lookup reaches).  Idempotent: open redoes it from the log.
 */
static int
apply_split(struct pmemstore *ps, uint64_t seg, uint64_t twin, unsigned depth,
	    uint64_t prefix)
{
	uint64_t dw = ps->index.dir, *dir = words(ps, dw);
	unsigned g = PMS_DIR_DEPTH(dw);
	uint64_t lo = prefix << (g - depth), half = 1ULL << (g - depth - 1);
	struct pms_bucket *b = seg_at(ps, seg);

	set_index_desc(ps, twin, PMS_SEG_PAGES, PMS_INDEX_SEG,
		       PMS_SEG_W1(depth + 1, prefix << 1 | 1));
	__atomic_store_n(&ps->desc[seg].w1, PMS_SEG_W1(depth + 1, prefix << 1),
			 __ATOMIC_RELAXED);
	for (uint64_t i = 0; i < half; i++)
		st(&dir[lo + half + i], twin);
	if (pms_flush(ps, &ps->desc[twin],
		      PMS_SEG_PAGES * sizeof(struct pms_desc)) ||
	    pms_flush(ps, &ps->desc[seg], sizeof(struct pms_desc)) ||
	    pms_flush(ps, &dir[lo + half], half * sizeof(uint64_t)))
		return -1;
	if (!PMS_PLANTED(SPLIT_EARLY))
		pms_drain(ps); /* the twin is reachable: the split happened */

	/* lookups that miss from here on retry (the seq moved) */
	seq_range(ps, depth, prefix);
	for (unsigned k = 0; k < PMS_SEG_BUCKETS; k++) {
		int dirty = 0;

		for (unsigned i = 0; i < PMS_BUCKET_ENTRIES; i++) {
			uint64_t e = b[k].e[i], h;

			if (e == 0)
				continue;
			/*
			 * Beyond the tag an entry's hash comes from its object;
			 * one that does not verify (an allocation in flight,
			 * or stale) stays in both halves: lookups verify.
			 */
			if (entry_hash(ps, e, depth, &h))
				continue;
			if ((depth == 0 || h >> (64 - depth) == prefix) &&
			    ((h >> (63 - depth)) & 1) == 0)
				continue; /* stays */
			st(&b[k].e[i], 0);
			dirty = 1;
		}
		if (dirty && pms_flush(ps, &b[k], sizeof(b[k])))
			return -1;
	}
	seq_range(ps, depth, prefix);
	return 0;
}

/*
 * dir_double -- a directory of depth g + 1 (split lock held): the new
 * directory written and fenced, then its word stored into both superblock
 * pages and fenced.  A crash before the second fence leaves a copy of the
 * old word, whose directory is whole (it is freed only at close), and an
 * orphan directory that open frees; an open takes the deeper valid copy.
 */
static int
dir_double(struct pmemstore *ps)
{
	uint64_t dw = ps->index.dir, *old = words(ps, dw), first, *nw;
	unsigned g = PMS_DIR_DEPTH(dw);
	uint64_t n = dir_pages(g + 1), nword = 1ULL << (g + 1);
	struct pms_oldir *v;

	if (g + 1 > PMS_DIR_MAX_DEPTH)
		return pms_err(ENOSPC, "pool %s: the index is full", ps->path);
	v = realloc(ps->index.old, (ps->index.nold + 1) * sizeof(*v));
	if (v == NULL)
		return pms_err(ENOMEM, "out of memory");
	ps->index.old = v;
	if (pms_pages_alloc(ps, n, 1, &first))
		return -1;
	nw = words(ps, PMS_DIR_WORD(first, g + 1));
	for (uint64_t i = 0; i < nword; i++)
		st(&nw[i], old[i >> 1]);
	set_index_desc(ps, first, n, PMS_INDEX_DIR, n);
	if (pms_flush(ps, nw, nword * sizeof(uint64_t)) ||
	    pms_flush(ps, &ps->desc[first], n * sizeof(struct pms_desc)))
		return -1;
	if (!PMS_PLANTED(DIR_EARLY))
		pms_drain(
			ps); /* the new directory is whole before it is named */
	for (int c = 0; c < 2; c++) {
		st(&ps->sbp[c]->dir, PMS_DIR_WORD(first, g + 1));
		if (pms_flush(ps, &ps->sbp[c]->dir, 8))
			return -1;
	}
	pms_drain(ps); /* the pool's index has the new directory */
	v[ps->index.nold].page = PMS_DIR_PAGE(dw);
	v[ps->index.nold].npages = dir_pages(g);
	ps->index.nold++;
	__atomic_store_n(&ps->index.dir, PMS_DIR_WORD(first, g + 1),
			 __ATOMIC_RELEASE);
	__atomic_fetch_add(&ps->index.pages, n, __ATOMIC_RELAXED);
	return 0;
}

/*
 * grow_fail -- say that the index, not the object, wanted the pages: a
 * full segment splits (or the directory doubles) before an insert, so an
 * allocation may need pages of its own even where freed slots would hold
 * the object
 */
static void
grow_fail(const char *what, uint64_t npages)
{
	if (errno == ENOSPC || errno == EDQUOT || errno == ENOMEM)
		pms_err_also("the pool's index must grow (%s of %llu "
			     "page%s) before it can name this object",
			     what, (unsigned long long)npages,
			     npages == 1 ? "" : "s");
}

/*
 * probe -- a split's reads before it begins, under the SIGBUS guard: the
 * directory word and the segment's descriptor (seg_for, seg_meta), every
 * line of the segment, and, when the split will double the directory,
 * every line of the directory.  A split is not abandoned once it has
 * begun (it runs unguarded after this), so what it reads must be known
 * readable first.  0, or -1 (EIO on a media error); split lock held.
 */
static int
probe(struct pmemstore *ps, uint64_t dw, uint64_t h, uint64_t *seg,
      unsigned *depth, uint64_t *prefix)
{
	struct pms_guard g;
	const uint64_t *w;
	uint64_t sum = 0, nw;
	int r;

	pms_guard_push(&g, ps->base, ps->map_len);
	if (sigsetjmp(g.env, 0))
		return pms_guard_failed(&g, ps->path, ps->base,
					"splitting an index segment");
	r = seg_for(ps, dw, h, seg) ||
	    seg_meta(ps, *seg, PMS_DIR_DEPTH(dw), h, depth, prefix);
	if (r == 0) {
		/* atomic loads: inserts of other stripes CAS entries here */
		w = (const uint64_t *)seg_at(ps, *seg);
		for (uint64_t k = 0; k < PMS_SEG_PAGES * PMS_PAGE_SIZE / 8;
		     k += PMS_LINE / 8)
			sum += ld(&w[k]);
		if (*depth == PMS_DIR_DEPTH(dw)) {
			w = words(ps, dw);
			nw = 1ULL << PMS_DIR_DEPTH(dw);
			for (uint64_t k = 0; k < nw; k += PMS_LINE / 8)
				sum += ld(&w[k]);
		}
	}
	pms_guard_pop(&g);
	(void)sum;
	return r ? -1 : 0;
}

/*
 * split -- split the segment hash h falls in (its windows were full).
 * Commit protocol, three fences:
 *   1. the twin segment: the entries whose next hash bit is 1, in the
 *      same buckets; flushed, fence (its descriptors still say FREE, so a
 *      crash here leaves free pages);
 *   2. the split log (seg, twin, depth, check); flushed, fence -- the
 *      split is decided: an open redoes step 3 from the log;
 *   3. apply_split: the twin's descriptors, the segment's depth and the
 *      directory's upper half; fence; then the moved entries out of the
 *      segment and the log invalidated, durable with a later fence.
 */
static int
split(struct pmemstore *ps, uint64_t h)
{
	struct pms_split_log *log = &ps->sbp[0]->split;
	struct pms_guard *outer = NULL;
	uint64_t seg, prefix, twin, dw;
	unsigned depth;
	int ret = -1;

	pthread_mutex_lock(&ps->index.split_lock);
	dw = ps->index.dir;
	if (probe(ps, dw, h, &seg, &depth, &prefix))
		goto out_unlocked;
	/* past the probe a split is not abandoned half way: no guard */
	outer = pms_guard_suspend();
	/* writers of the segment out, new ones wait (seg_for_write) */
	__atomic_store_n(&ps->index.splitting, seg + 1, __ATOMIC_SEQ_CST);
	barrier(ps, depth, prefix);
	if (depth == PMS_DIR_DEPTH(dw) && dir_double(ps)) {
		if (depth < PMS_DIR_MAX_DEPTH) /* else: "the index is full" */
			grow_fail("a new directory", dir_pages(depth + 1));
		goto out;
	}
	if (pms_pages_alloc(ps, PMS_SEG_PAGES, PMS_SEG_PAGES, &twin)) {
		grow_fail("a new segment", PMS_SEG_PAGES);
		goto out;
	}

	struct pms_bucket *b = seg_at(ps, seg), *t = seg_at(ps, twin);

	for (unsigned k = 0; k < PMS_SEG_BUCKETS; k++) {
		for (unsigned i = 0; i < PMS_BUCKET_ENTRIES; i++) {
			uint64_t e = b[k].e[i], eh;
			int up;

			if (e == 0)
				up = 0;
			else if (entry_hash(ps, e, depth, &eh))
				up = 1; /* unknown (beyond the tag): both */
			else
				up = (depth == 0 ||
				      eh >> (64 - depth) == prefix) &&
				     ((eh >> (63 - depth)) & 1);
			st(&t[k].e[i], up ? e : 0);
		}
	}
	if (pms_flush(ps, t, PMS_SEG_PAGES * PMS_PAGE_SIZE)) {
		pms_pages_free(ps, twin, PMS_SEG_PAGES);
		goto out;
	}
	if (!PMS_PLANTED(TWIN_NOFENCE))
		pms_drain(ps); /* the twin is whole before the log names it */
	st(&log->seg, seg);
	st(&log->twin, twin);
	st(&log->depth, depth);
	st(&log->check, log_check(log));
	if (pms_flush(ps, log, sizeof(*log)))
		goto out;
	pms_drain(ps); /* decided: open finishes the split from the log */
	if (apply_split(ps, seg, twin, depth, prefix))
		goto out;
	st(&log->check, 0);
	if (pms_flush(ps, &log->check, 8))
		goto out;
	__atomic_fetch_add(&ps->index.pages, PMS_SEG_PAGES, __ATOMIC_RELAXED);
	ret = 0;
out:
	if (ret && errno == EIO)
		__atomic_store_n(&ps->broken, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&ps->index.splitting, 0, __ATOMIC_RELEASE);
	pms_guard_resume(outer);
out_unlocked:
	pthread_mutex_unlock(&ps->index.split_lock);
	return ret;
}

/* ---- create, open, close ---- */

/*
 * pms_index_format -- a new pool's index: one segment at page seg (depth
 * 0) and a one-page directory at dirpage, zeroed and flushed, the
 * directory word in both superblock pages, flushed; the superblock's
 * fence in format() makes it all durable with the pool
 */
int
pms_index_format(struct pmemstore *ps, uint64_t seg, uint64_t dirpage)
{
	uint64_t *dir = (uint64_t *)pms_page_addr(ps, dirpage);

	if (pms_memset_nodrain(ps, seg_at(ps, seg), 0,
			       PMS_SEG_PAGES * PMS_PAGE_SIZE) ||
	    pms_memset_nodrain(ps, dir, 0, PMS_PAGE_SIZE))
		return -1;
	st(&dir[0], seg);
	set_index_desc(ps, seg, PMS_SEG_PAGES, PMS_INDEX_SEG, PMS_SEG_W1(0, 0));
	set_index_desc(ps, dirpage, 1, PMS_INDEX_DIR, 1);
	if (pms_flush(ps, dir, 8) ||
	    pms_flush(ps, &ps->desc[seg],
		      PMS_SEG_PAGES * sizeof(struct pms_desc)) ||
	    pms_flush(ps, &ps->desc[dirpage], sizeof(struct pms_desc)))
		return -1;
	for (int c = 0; c < 2; c++) {
		st(&ps->sbp[c]->dir, PMS_DIR_WORD(dirpage, 0));
		if (pms_flush(ps, &ps->sbp[c]->dir, 8))
			return -1;
	}
	ps->index.dir = PMS_DIR_WORD(dirpage, 0);
	return 0;
}

/* dir_sane -- does a directory word name a directory? (bounds, kind) */
static int
dir_sane(struct pmemstore *ps, uint64_t dw)
{
	uint64_t p = PMS_DIR_PAGE(dw), n;
	unsigned g = PMS_DIR_DEPTH(dw);

	if (g > PMS_DIR_MAX_DEPTH)
		return 0;
	n = dir_pages(g);
	if (p >= ps->pages.hwm || n > ps->pages.hwm - p || ps->desc[p].w1 != n)
		return 0;
	for (uint64_t i = 0; i < n; i++)
		if (ps->desc[p + i].w0 != PMS_DESC_INDEX_W0(PMS_INDEX_DIR, i))
			return 0;
	return 1;
}

/*
 * pms_index_open -- find the directory (the deeper sane copy of the word)
 * and a split the log says was decided (ps->index.redo); writes nothing.
 * Read-only, the directory still names the split segment, which holds
 * every entry, so lookups are right without the redo.
 */
int
pms_index_open(struct pmemstore *ps)
{
	uint64_t d0 = ps->sbp[0]->dir, d1 = ps->sbp[1]->dir, dw;
	int s0 = dir_sane(ps, d0), s1 = dir_sane(ps, d1);
	const struct pms_split_log *log = &ps->sbp[0]->split;
	struct pms_redo *r = &ps->index.redo;

	if (!s0 && !s1)
		return pms_err(EIO,
			       "pool %s: the index directory word is damaged "
			       "in both superblock pages; run pmemstore_check "
			       "(REPAIR rebuilds the index)",
			       ps->path);
	if (s0 && s1)
		dw = PMS_DIR_DEPTH(d1) > PMS_DIR_DEPTH(d0) ? d1 : d0;
	else
		dw = s0 ? d0 : d1;
	ps->index.dir = dw;
	memset(r, 0, sizeof(*r));
	if (log->check == 0 || log->check != log_check(log))
		return 0; /* none, or torn before its fence: never happened */
	uint64_t w1, seg = log->seg, twin = log->twin, depth = log->depth;
	unsigned g = PMS_DIR_DEPTH(dw);

	if (!seg_ok(ps, seg) || !seg_ok(ps, twin) || depth >= g ||
	    seg >= ps->pages.hwm || twin >= ps->pages.hwm || seg == twin ||
	    ps->desc[seg].w0 != PMS_DESC_INDEX_W0(PMS_INDEX_SEG, 0))
		return pms_err(EIO,
			       "pool %s: the index split log is out of bounds; "
			       "run pmemstore_check",
			       ps->path);
	/* the twin's pages were free (their descriptors come with step 3) */
	for (uint64_t i = 0; i < PMS_SEG_PAGES; i++) {
		uint64_t w0 = ps->desc[twin + i].w0;

		if (w0 != 0 && w0 != PMS_DESC_INDEX_W0(PMS_INDEX_SEG, i) &&
		    !(PMS_DESC_TYPE(w0) == PMS_DESC_SLAB &&
		      ps->desc[twin + i].w1 == 0))
			return pms_err(EIO,
				       "pool %s: the index split log names a "
				       "twin over pages in use; run "
				       "pmemstore_check",
				       ps->path);
	}
	w1 = ps->desc[seg].w1;
	r->prefix = PMS_SEG_PREFIX(w1);
	if (PMS_SEG_DEPTH(w1) == depth + 1)
		r->prefix >>= 1; /* step 3 had landed for the segment */
	else if (PMS_SEG_DEPTH(w1) != depth)
		return pms_err(EIO,
			       "pool %s: the index split log disagrees with "
			       "segment %llu; run pmemstore_check",
			       ps->path, (unsigned long long)seg);
	if ((r->prefix >> depth) != 0)
		return pms_err(EIO,
			       "pool %s: index segment %llu has a malformed "
			       "prefix; run pmemstore_check",
			       ps->path, (unsigned long long)seg);
	r->seg = seg;
	r->twin = twin;
	r->depth = (unsigned)depth;
	r->valid = 1;
	return 0;
}

/*
 * pms_index_repair -- the index's writes of a read-write open, once every
 * check passed: the other copy of the directory word (a doubling cut
 * short, or damage), and the split the log decided, finished
 */
int
pms_index_repair(struct pmemstore *ps)
{
	struct pms_split_log *log = &ps->sbp[0]->split;
	struct pms_redo *r = &ps->index.redo;
	uint64_t dw = ps->index.dir;

	for (int c = 0; c < 2; c++) {
		if (ps->sbp[c]->dir == dw)
			continue;
		st(&ps->sbp[c]->dir, dw);
		if (pms_flush(ps, &ps->sbp[c]->dir, 8))
			return -1;
		pms_drain(ps);
	}
	if (r->valid) {
		if (apply_split(ps, r->seg, r->twin, r->depth, r->prefix))
			return -1;
		pms_drain(ps); /* the clean-up before the log goes */
	}
	if (log->check != 0) {
		st(&log->check, 0);
		if (pms_flush(ps, &log->check, 8))
			return -1;
		pms_drain(ps); /* the split is finished, or never was */
	}
	r->valid = 0;
	return 0;
}

/*
 * pms_index_close -- free the directories doublings superseded (no lookup
 * runs any more): descriptors zeroed, flushed; the caller fences
 */
int
pms_index_close(struct pmemstore *ps)
{
	for (size_t i = 0; i < ps->index.nold; i++) {
		struct pms_oldir *o = &ps->index.old[i];

		for (uint64_t p = o->page; p < o->page + o->npages; p++) {
			st(&ps->desc[p].w0, 0);
			st(&ps->desc[p].w1, 0);
		}
		if (pms_flush(ps, &ps->desc[o->page],
			      o->npages * sizeof(struct pms_desc)))
			return -1;
	}
	ps->index.nold = 0;
	return 0;
}

/* pms_index_init -- volatile state of an index */
int
pms_index_init(struct pms_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->stripes =
		aligned_alloc(64, PMS_INDEX_STRIPES * sizeof(*ix->stripes));
	if (ix->stripes == NULL)
		return pms_err(ENOMEM, "out of memory");
	memset(ix->stripes, 0, PMS_INDEX_STRIPES * sizeof(*ix->stripes));
	for (unsigned i = 0; i < PMS_INDEX_STRIPES; i++)
		pthread_mutex_init(&ix->stripes[i].lock, NULL);
	pthread_mutex_init(&ix->split_lock, NULL);
	return 0;
}

/* pms_index_fini -- free it */
void
pms_index_fini(struct pms_index *ix)
{
	if (ix->stripes) {
		for (unsigned i = 0; i < PMS_INDEX_STRIPES; i++)
			pthread_mutex_destroy(&ix->stripes[i].lock);
		free(ix->stripes);
		pthread_mutex_destroy(&ix->split_lock);
	}
	free(ix->old);
	memset(ix, 0, sizeof(*ix));
}

/* ---- walk ---- */

/*
 * locate -- under the split lock, the segment holding hash cursor and the
 * directory words [*i, *j) naming it (of *n, depth *g); *b the segment,
 * or its copy (copy, when not NULL: a walk's entries are read from it,
 * word by word, since inserts of other stripes CAS here).  The directory
 * and segment are read under the SIGBUS guard: a media error lets the
 * lock go and is EIO.  0 or -1.
 */
static int
locate(struct pmemstore *ps, uint64_t cursor, struct pms_bucket *copy,
       struct pms_bucket **b, uint64_t *i, uint64_t *j, uint64_t *n,
       unsigned *g)
{
	struct pms_guard gd;
	uint64_t seg, dw, *dir, k;
	struct pms_bucket *sb;

	pthread_mutex_lock(&ps->index.split_lock);
	pms_guard_push(&gd, ps->base, ps->map_len);
	if (sigsetjmp(gd.env, 0)) {
		pthread_mutex_unlock(&ps->index.split_lock);
		return pms_guard_failed(&gd, ps->path, ps->base,
					"walking the index");
	}
	dw = ps->index.dir;
	*g = PMS_DIR_DEPTH(dw);
	dir = words(ps, dw);
	*n = 1ULL << *g;
	*i = *g ? cursor >> (64 - *g) : 0;
	if (seg_for(ps, dw, cursor, &seg)) {
		pms_guard_pop(&gd);
		pthread_mutex_unlock(&ps->index.split_lock);
		return -1;
	}
	for (k = *i + 1; k < *n && ld(&dir[k]) == seg; k++)
		;
	*j = k;
	sb = seg_at(ps, seg);
	if (copy) {
		for (unsigned x = 0; x < PMS_SEG_BUCKETS; x++)
			for (unsigned e = 0; e < PMS_BUCKET_ENTRIES; e++)
				copy[x].e[e] = ld(&sb[x].e[e]);
		sb = copy;
	}
	pms_guard_pop(&gd);
	pthread_mutex_unlock(&ps->index.split_lock);
	*b = sb;
	return 0;
}

/*
 * walk -- every entry of every segment, segment by segment in
 * hash order.  Each segment is copied under the split lock with the hash
 * range the directory gives it (the run of words naming it), and fn sees
 * only entries of that range (a split leaves copies behind until its
 * clean-up lands; a read-only open after a crash mid-split still has
 * them), so each entry is offered once however the index grows meanwhile,
 * and the walk always moves on, whatever the media says.
 */
static int
walk(struct pmemstore *ps, pms_walk_fn fn, void *arg, int sweep)
{
	struct pms_bucket *copy = NULL;
	uint64_t cursor = 0; /* the first hash not yet walked */
	int ret = 0, dirty = 0;

	if (!sweep && (copy = malloc(PMS_SEG_PAGES * PMS_PAGE_SIZE)) == NULL)
		return pms_err(ENOMEM, "out of memory");
	for (;;) {
		uint64_t i, j, n;
		struct pms_bucket *b;
		unsigned g;

		if (locate(ps, cursor, copy, &b, &i, &j, &n, &g)) {
			ret = -1;
			break;
		}
		for (unsigned k = 0; k < PMS_SEG_BUCKETS && ret >= 0; k++) {
			int zeroed = 0;

			for (unsigned e = 0; e < PMS_BUCKET_ENTRIES; e++) {
				uint64_t v = b[k].e[e], h;
				int r, ours;

				if (v == 0)
					continue;
				ours = !g || (entry_hash(ps, v, g, &h) == 0 &&
					      h >> (64 - g) >= i &&
					      h >> (64 - g) < j);
				if (!ours && !sweep)
					continue; /* a split's leftover */
				r = ours ? fn(ps, v, k, e, b, arg) : 0;
				if (!sweep && r) {
					ret = r;
					break;
				}
				if (sweep && r == 0) {
					st(&b[k].e[e], 0);
					zeroed = 1;
				}
			}
			if (ret)
				break;
			if (zeroed) {
				dirty = 1;
				if (pms_flush(ps, &b[k], sizeof(b[k])))
					ret = -1;
			}
		}
		if (ret || j == n)
			break;
		cursor = j << (64 - g); /* g > 0 here: j < n */
	}
	free(copy);
	(void)dirty;
	return ret;
}

/* pms_index_walk -- see index.h */
int
pms_index_walk(struct pmemstore *ps, pms_walk_fn fn, void *arg)
{
	return walk(ps, fn, arg, 0);
}

/* pms_index_sweep -- see index.h */
int
pms_index_sweep(struct pmemstore *ps, pms_walk_fn keep, void *arg)
{
	return walk(ps, keep, arg, 1);
}
