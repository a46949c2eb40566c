/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * recover.c -- owns open-time recovery: the free pages and the slab pages
 * worth a look, from one pass over descriptors [0, hwm), and the repairs
 * of descriptors a crash can leave.  It reads no header, record or index
 * entry: what exists is decided by the index, entry by entry, when it is
 * looked up (object.c), so an open does per-page work only.
 *
 * Per descriptor:
 *   FREE       a free page (a w1 left by a zeroing cut in half is zeroed);
 *   SLAB       a page in use (bits beyond its slots, which a torn line can
 *              leave, cleared); after a clean close its bitmap is exact: no
 *              bit set is a free page, some bits set make it a candidate
 *              for its class (heap.c), all set nothing at all (its slab is
 *              made by the first free in it).  After a crash the bitmap is
 *              a hint: every slab page but a full one is a candidate, and
 *              is checked before it is used (pms_obj_validate);
 *   HEAD       a large object's run, in use; the TAILs that did not reach
 *              the media (they are not flushed) are rewritten.  Whether its
 *              object exists is its record's business (checked with the
 *              record page after a crash; a dead run is freed then);
 *   TAIL       outside every run: left by a free or an allocation a crash
 *              cut short, zeroed;
 *   INDEX      the index's segments and directory, in use; a directory
 *              that is not the current one (superseded by a doubling, or
 *              an orphan of one a crash cut short) is zeroed and free;
 *   VOLATILE   the volatile heap's, of an earlier run: free (not written);
 *   BAD        never allocated (withheld: a bad block of the device).
 * Anything else (an unknown type, a malformed word, a run out of bounds or
 * over another) fails the open with EIO before anything is written.  The
 * repairs are 8-byte stores, applied after the pass, flushed, one fence;
 * each is idempotent, so a crash during them is repaired again next time.
 * A pool opened read-only is rebuilt the same way without the repairs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "flush.h"
#include "errors.h"
#include "recover.h"
#include "device.h"
#include "plant.h"

/* one pending repair: an 8-byte store */
struct fix {
	uint64_t *word;
	uint64_t value;
};

struct fixes {
	struct fix *v;
	size_t n, cap;
};

/* fix_add -- queue a repair */
static int
fix_add(struct pmemstore *ps, struct fixes *f, uint64_t *word, uint64_t value)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct fix *v = realloc(f->v, cap * sizeof(*v));

		if (v == NULL)
			return pms_err(ENOMEM, "pool %s: out of memory",
				       ps->path);
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n].word = word;
	f->v[f->n].value = value;
	f->n++;
	return 0;
}

/* zero_desc -- queue the zeroing of descriptor p (both words) */
static int
zero_desc(struct pmemstore *ps, struct fixes *f, uint64_t p)
{
	return fix_add(ps, f, &ps->desc[p].w0, 0) ||
	       fix_add(ps, f, &ps->desc[p].w1, 0);
}

/* malformed -- the open fails on descriptor p */
static int
malformed(struct pmemstore *ps, uint64_t p, const char *what)
{
	return pms_err(EIO,
		       "pool %s: descriptor of page %llu %s; run "
		       "pmemstore_check",
		       ps->path, (unsigned long long)p, what);
}

/*
 * free_run -- pages [lo, hi) are free: to the page allocator, in one
 * extent (callers pass maximal ones)
 */
static int
free_run(struct pmemstore *ps, uint64_t lo, uint64_t hi)
{
	if (lo < hi && pms_pages_add(&ps->pages, lo, hi - lo))
		return pms_err(ENOMEM, "pool %s: out of memory", ps->path);
	return 0;
}

/*
 * struct tally -- what a clean close must have left, counted from the
 * descriptors alone: set bits of small-object slabs and of record pages,
 * sane HEADs, and repairs other than TAIL rewrites (a clean close leaves
 * none)
 */
struct tally {
	uint64_t small, records, heads, odd;
	uint64_t bad; /* BAD pages: withheld */
};

/*
 * scan -- one pass over descriptors [0, hwm): free extents and candidate
 * slab pages into the volatile state, repairs queued in f, figures in ty
 */
static int
scan(struct pmemstore *ps, struct fixes *f, struct tally *ty)
{
	uint64_t hwm = ps->pages.hwm, run_end = 0, run_head = 0, lo = 0;
	uint64_t dir = PMS_DIR_PAGE(ps->index.dir), ndir, ipages = 0;
	int ret = -1;

	ndir = (1ULL << PMS_DIR_DEPTH(ps->index.dir)) * 8 / PMS_PAGE_SIZE;
	if (ndir == 0)
		ndir = 1;
	for (uint64_t p = 0; p < hwm; p++) {
		uint64_t w0 = ps->desc[p].w0, w1 = ps->desc[p].w1;
		unsigned t = PMS_DESC_TYPE(w0), cls;
		int used = 1;

		if (ps->index.redo.valid && p >= ps->index.redo.twin &&
		    p < ps->index.redo.twin + PMS_SEG_PAGES) {
			/* the twin of a decided split: its descriptors come
			 * with the redo (pms_index_repair) */
			if (free_run(ps, lo, p))
				goto out;
			lo = p + 1;
			ipages++;
			continue;
		}
		if (p < run_end) {
			/* inside a run: a TAIL, or rewritten as one */
			uint64_t q = p - run_head;

			lo = p + 1;
			if (t == PMS_DESC_HEAD || t == PMS_DESC_INDEX ||
			    t == PMS_DESC_BAD ||
			    (t == PMS_DESC_SLAB && w1 != 0)) {
				pms_err(EIO,
					"pool %s: the object run at page %llu "
					"overlaps page %llu; run "
					"pmemstore_check",
					ps->path, (unsigned long long)run_head,
					(unsigned long long)p);
				goto out;
			}
			if ((w0 != PMS_DESC_TAIL_W0(q) || w1 != 0) &&
			    !PMS_PLANTED(TAIL_NOREPAIR)) {
				/* read-only: persist_id_of cannot trust them */
				ps->stale_runs = ps->rdonly;
				if (fix_add(ps, f, &ps->desc[p].w0,
					    PMS_DESC_TAIL_W0(q)) ||
				    fix_add(ps, f, &ps->desc[p].w1, 0))
					goto out;
			}
			continue;
		}
		switch (t) {
		case PMS_DESC_FREE:
			/* w0 of a free page is written whole, always 0 */
			if (w0 != 0) {
				malformed(ps, p, "is malformed");
				goto out;
			}
			/* a zeroing cut in half (w0 landed, w1 not) */
			if (w1 != 0) {
				if (fix_add(ps, f, &ps->desc[p].w1, 0))
					goto out;
				ty->odd++;
			}
			used = 0;
			break;
		case PMS_DESC_SLAB: {
			uint64_t full;

			cls = PMS_DESC_SLAB_CLASS(w0);
			if (cls >= PMS_NCLASSES ||
			    w0 != PMS_DESC_SLAB_W0(cls)) {
				malformed(ps, p, "is malformed");
				goto out;
			}
			full = pms_slab_full_mask(cls);
			if (w1 & ~full) {
				/*
				 * A hint, and a torn line can leave another
				 * word in it (an empty slab page taken by a
				 * run whose HEAD's w1 landed, w0 not): the
				 * bits beyond the slots go.
				 */
				if (fix_add(ps, f, &ps->desc[p].w1, w1 & full))
					goto out;
				ty->odd++;
				w1 &= full;
			}
			if (cls == PMS_CLASS_RECORD)
				ty->records +=
					(uint64_t)__builtin_popcountll(w1);
			else
				ty->small += (uint64_t)__builtin_popcountll(w1);
			if (w1 == full)
				break; /* its slab comes with its first free */
			if (w1 == 0 && !ps->dirty) {
				used = 0; /* an empty slab page is free */
				break;
			}
			if (pms_heap_candidate(ps, p, cls))
				goto out;
			break;
		}
		case PMS_DESC_HEAD: {
			uint64_t n = w1;

			uint64_t rp = PMS_DESC_HEAD_RPAGE(w0);

			/*
			 * A live object's run is in bounds and its record in
			 * a record page (descriptors only): else an orphan
			 */
			if (n == 0 || n > hwm - p || rp >= hwm ||
			    (rp >= p && rp - p < n) ||
			    ps->desc[rp].w0 !=
				    PMS_DESC_SLAB_W0(PMS_CLASS_RECORD)) {
				if (zero_desc(ps, f, p))
					goto out;
				ty->odd++;
				used = 0;
				break;
			}
			ty->heads++;
			run_head = p;
			run_end = p + n;
			break;
		}
		case PMS_DESC_TAIL:
			/* outside any run: a free or alloc cut short */
			if (zero_desc(ps, f, p))
				goto out;
			ty->odd++;
			used = 0;
			break;
		case PMS_DESC_INDEX: {
			unsigned kind = PMS_DESC_INDEX_KIND(w0);
			uint64_t dist = PMS_DESC_INDEX_DIST(w0);

			if (w0 != PMS_DESC_INDEX_W0(kind, dist) ||
			    (kind != PMS_INDEX_SEG && kind != PMS_INDEX_DIR) ||
			    (kind == PMS_INDEX_SEG &&
			     dist != p % PMS_SEG_PAGES)) {
				malformed(ps, p, "is a malformed index page");
				goto out;
			}
			/*
			 * A segment is whole: its first page's descriptor
			 * and the three after it (a page of it read as
			 * free would be handed out under the index)
			 */
			if (kind == PMS_INDEX_SEG) {
				uint64_t first = p - dist;
				int whole = 1;

				for (uint64_t q = 0; q < PMS_SEG_PAGES; q++)
					whole &= first + q < hwm &&
						 ps->desc[first + q].w0 ==
							 PMS_DESC_INDEX_W0(
								 PMS_INDEX_SEG,
								 q);
				if (!whole) {
					malformed(ps, p,
						  "is a page of a broken index "
						  "segment");
					goto out;
				}
			}
			if (kind == PMS_INDEX_DIR &&
			    (p < dir || p >= dir + ndir)) {
				/* superseded, or an orphan of a doubling */
				if (zero_desc(ps, f, p))
					goto out;
				used = 0;
				break;
			}
			ipages++;
			break;
		}
		case PMS_DESC_VOLATILE:
			/* the volatile heap's, of an earlier run: free, and
			 * left as it is (an open writes nothing per page);
			 * written whole, always exactly the type */
			if (w0 != PMS_DESC_VOLATILE) {
				malformed(ps, p, "is malformed");
				goto out;
			}
			used = 0;
			break;
		case PMS_DESC_BAD:
			/* format 4: written whole, exactly the type */
			if (w0 != PMS_DESC_BAD || w1 != 0) {
				malformed(ps, p, "is malformed");
				goto out;
			}
			ty->bad++;
			/* to give back, if the device no longer lists it */
			if (pms_device_note_bad(&ps->dev, p)) {
				pms_err(ENOMEM, "pool %s: out of memory",
					ps->path);
				goto out;
			}
			break;
		default:
			pms_err(EIO,
				"pool %s: descriptor of page %llu has unknown "
				"type %u; run pmemstore_check",
				ps->path, (unsigned long long)p, t);
			goto out;
		}
		if (used) {
			if (free_run(ps, lo, p))
				goto out;
			lo = p + 1;
		}
	}
	/* runs reach no further than hwm (checked at their HEAD) */
	if (free_run(ps, lo, hwm) || free_run(ps, hwm, ps->npages))
		goto out;
	ps->index.pages = ipages;
	ret = 0;
out:
	return ret;
}

/*
 * pms_recover -- rebuild the volatile state of the pool from descriptors
 * [0, hwm) and repair what a crash left in them (not when read-only).
 * After a clean close, the descriptors must agree with the clean-close
 * record (objects = set bits, one sane HEAD per set record bit, nothing
 * to repair but TAILs): if they do not, the pool is damaged, and it is
 * read again as after a crash (bitmaps are hints, counts are walked).
 */
int
pms_recover(struct pmemstore *ps)
{
	struct fixes f = {0};
	struct tally t = {0};
	uint64_t hwm = ps->pages.hwm;
	int ret = -1;

	if (pms_heaps_map(ps))
		return -1;
	if (scan(ps, &f, &t))
		goto out;
	if (!ps->dirty && (t.odd || t.records != t.heads ||
			   t.small + t.records != ps->objects)) {
		ps->dirty = 1;
		f.n = 0;
		memset(&t, 0, sizeof(t));
		ps->dev.nnoted = 0;
		pms_heap_cands_reset(ps);
		pms_pages_fini(&ps->pages);
		pms_pages_init(&ps->pages);
		ps->pages.hwm = hwm;
		if (scan(ps, &f, &t))
			goto out;
	}
	ps->dev.pages_bad = t.bad;
	/* every check passed: the first writes of a read-write open */
	if (!ps->rdonly && pms_pool_begin(ps))
		goto out;
	/* then the repairs, one fence for all */
	if (!ps->rdonly && f.n) {
		for (size_t i = 0; i < f.n; i++) {
			__atomic_store_n(f.v[i].word, f.v[i].value,
					 __ATOMIC_RELAXED);
			if (pms_flush(ps, f.v[i].word, 8))
				goto out;
		}
		pms_drain(ps); /* repairs durable before new allocations */
	}
	ret = 0;
out:
	free(f.v);
	return ret;
}
