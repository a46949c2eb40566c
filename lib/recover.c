/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * recover.c -- owns open-time recovery: rebuilding every volatile
 * structure from the descriptor array, and cleaning what a crash left.
 *
 * Only descriptors below the high-water mark are read, so an empty pool
 * opens in constant time whatever its size.  Everything read from media is
 * checked before use: descriptor types and classes, record page numbers
 * and runs (overflow-safe, within the mark), identity checks, duplicate
 * UUIDs, overlapping runs.  A pool that fails a check that a crash cannot
 * explain is refused with EIO, before anything is written.
 *
 * What a crash can leave, and what is done about it (all of it found
 * first, written only after every check passed, then one fence; every
 * repair is idempotent, so a crash during it is repaired again next time):
 *   - a set bit whose header/record does not verify: an allocation that
 *     did not complete; the bit is cleared, and a non-zero check (torn, or
 *     another layout's bytes) zeroed, so that the next open finds nothing
 *     to repair;
 *   - a clear bit whose header/record still verifies: a free that did not
 *     complete, or an allocation whose bit never landed; the check is
 *     zeroed;
 *   - a record whose HEAD does not point back at it (or vice versa): an
 *     incomplete allocation or free of a large object; the bit is cleared,
 *     the check and the orphaned HEAD/TAIL descriptors zeroed;
 *   - TAIL descriptors, never flushed (object.c): those of a live run
 *     that did not reach the media are rewritten, those outside any live
 *     run zeroed.
 * A scrub of a check word inside a page is dropped when that page turns
 * out to lie in a live run: a slab page given back and then taken by a
 * run whose TAIL descriptor did not land still reads as an empty slab, but
 * its "headers" are the object's content.
 * A pool opened read-only is rebuilt the same way without the repairs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "flush.h"
#include "checksum.h"
#include "errors.h"
#include "recover.h"
#include "plant.h"

/*
 * one pending repair: an 8-byte store.  page is the data page whose
 * content the store changes (a header or record check), or NO_PAGE for a
 * descriptor word; such a store is dropped when the page turns out to lie
 * in a live object's run (a slab page given back, then taken by a run
 * whose TAIL did not land: the "header" is that object's data).
 */
struct fix {
	uint64_t *word;
	uint64_t value;
	uint64_t page;
};

#define NO_PAGE UINT64_MAX

struct fixes {
	struct fix *v;
	size_t n, cap;
};

/* live record found in pass 1, checked against its run in pass 2 */
struct rec {
	uint64_t rpage;
	unsigned rslot;
	struct pms_record r;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

/* fix_add -- queue a repair */
static int
fix_add(struct pmemstore *ps, struct fixes *f, uint64_t *word, uint64_t value,
	uint64_t page)
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
	f->v[f->n].page = page;
	f->n++;
	return 0;
}

/* rec_add -- remember a record whose bit is set and check verifies */
static int
rec_add(struct pmemstore *ps, struct recs *rs, const struct rec *r)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct rec *v = realloc(rs->v, cap * sizeof(*v));

		if (v == NULL)
			return pms_err(ENOMEM, "pool %s: out of memory",
				       ps->path);
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *r;
	return 0;
}

/* used bitmap over [0, hwm): pages that hold live data or metadata */
static int
used_test(const uint64_t *u, uint64_t p)
{
	return (u[p >> 6] >> (p & 63)) & 1;
}

static void
used_set(uint64_t *u, uint64_t p)
{
	u[p >> 6] |= 1ULL << (p & 63);
}

/* index_add -- put a recovered object in the index; duplicate -> EIO */
static int
index_add(struct pmemstore *ps, const uint8_t uuid[16], uint64_t size,
	  uint64_t page, uint64_t npages, struct pms_slab *slab, unsigned slot)
{
	uint64_t hash = pms_hash_uuid(uuid);
	struct pms_stripe *st = pms_index_stripe(&ps->index, hash);
	struct pms_obj *o;

	if (pms_index_find(st, uuid, hash))
		return pms_err(EIO,
			       "pool %s: two objects share one UUID (page "
			       "%llu); run pmemstore_check",
			       ps->path, (unsigned long long)page);
	o = pms_heap_node(ps, ps->heaps.heap0);
	if (o == NULL)
		return -1;
	pms_obj_set(o, uuid, hash);
	PMS_ST(o->size, size);
	PMS_ST(o->page, page);
	PMS_ST(o->npages, npages);
	PMS_ST(o->slab, slab);
	PMS_ST(o->slot, slot);
	PMS_ST(o->cls, slab->cls);
	PMS_ST(o->state, PMS_OBJ_LIVE);
	pms_index_insert(st, o);
	ps->objects++;
	ps->bytes += size;
	return 0;
}

/*
 * scan_slab -- pass 1 over one slab page: index its small objects, or
 * collect its records; queue repairs of bits and checks
 */
static int
scan_slab(struct pmemstore *ps, uint64_t p, unsigned cls, uint64_t *used,
	  struct fixes *f, struct recs *rs)
{
	const struct pms_class *c = &pms_classes[cls];
	struct pms_desc *d = &ps->desc[p];
	uint64_t bits = d->w1, live = 0;
	uint8_t *page = pms_page_addr(ps, p);
	struct pms_obj_hdr hdrs[PMS_SLOTS_MAX]; /* verified copies */
	size_t nrec = rs->n;

	for (unsigned i = 0; i < c->nslots; i++) {
		int set = (bits >> i) & 1, ok;
		uint64_t *check;

		if (cls == PMS_CLASS_RECORD) {
			struct rec r;
			uint8_t *at = page + (uint64_t)i * PMS_RECORD_SIZE;

			memcpy(&r.r, at, sizeof(r.r));
			ok = r.r.check != 0 &&
			     r.r.check == pms_check_record(ps->seed, r.r.uuid,
							   r.r.size, r.r.page,
							   r.r.npages, p, i);
			if (set && ok) {
				r.rpage = p;
				r.rslot = i;
				if (rec_add(ps, rs, &r))
					return -1;
				continue; /* decided in pass 2 */
			}
			check = (uint64_t *)(at + offsetof(struct pms_record,
							   check));
			/* not live: a stale or torn check goes too, or the
			 * next open would scrub it (not idempotent) */
			if (r.r.check != 0 && fix_add(ps, f, check, 0, p))
				return -1;
			continue;
		}
		uint8_t *at = page + (uint64_t)i * PMS_HDR_SIZE;

		memcpy(&hdrs[i], at, sizeof(hdrs[i]));
		ok = hdrs[i].check != 0 && hdrs[i].size != 0 &&
		     hdrs[i].size <= c->size &&
		     hdrs[i].check == pms_check_small(ps->seed, hdrs[i].uuid,
						      hdrs[i].size, p, i, cls);
		check = (uint64_t *)(at + offsetof(struct pms_obj_hdr, check));
		/* rsvd is stored with size, always 0: not a crash */
		if (set && ok && hdrs[i].rsvd != 0)
			return pms_err(EIO,
				       "pool %s: object header in page %llu "
				       "slot %u has reserved bits set; run "
				       "pmemstore_check",
				       ps->path, (unsigned long long)p, i);
		if (set && ok)
			live |= 1ULL << i;
		else if (hdrs[i].check != 0 && /* also a set bit's torn one */
			 fix_add(ps, f, check, 0, p))
			return -1;
	}
	if (cls == PMS_CLASS_RECORD) {
		/* bits settled in pass 2, unless no record here verified */
		if (nrec == rs->n && bits && fix_add(ps, f, &d->w1, 0, NO_PAGE))
			return -1;
		return 0;
	}
	if (live != bits && fix_add(ps, f, &d->w1, live, NO_PAGE))
		return -1;
	if (live == 0)
		return 0; /* an empty slab page is a free page */

	struct pms_slab *s = pms_heap_adopt(ps, p, cls, live);

	if (s == NULL)
		return pms_err(ENOMEM, "pool %s: out of memory", ps->path);
	used_set(used, p);
	for (unsigned i = 0; i < c->nslots; i++) {
		if (!((live >> i) & 1))
			continue;
		if (index_add(ps, hdrs[i].uuid, hdrs[i].size, p, 0, s, i))
			return -1;
	}
	return 0;
}

/* run_ok -- does a record's run check out against the descriptors? */
static int
run_ok(struct pmemstore *ps, const struct rec *r)
{
	uint64_t p = r->r.page, n = r->r.npages, hwm = ps->pages.hwm;
	const struct pms_desc *d;

	if (n == 0 || p >= hwm || n > hwm - p)
		return 0;
	if (r->r.size <= PMS_SMALL_MAX || r->r.size > n * PMS_PAGE_SIZE ||
	    (r->r.size + PMS_PAGE_SIZE - 1) / PMS_PAGE_SIZE != n)
		return 0;
	if (r->r.size >= PMS_HUGE_SIZE && p % PMS_HUGE_PAGES != 0)
		return 0;
	d = &ps->desc[p];
	return d->w0 == PMS_DESC_HEAD_W0(r->rpage, r->rslot) && d->w1 == n;
}

/*
 * settle_records -- pass 2: a record is live iff its run's HEAD points
 * back at it; mark runs and record pages used, queue repairs
 */
static int
settle_records(struct pmemstore *ps, struct recs *rs, uint64_t *used,
	       uint64_t *inrun, struct fixes *f)
{
	size_t i = 0;

	while (i < rs->n) {
		uint64_t rpage = rs->v[i].rpage, bits, live = 0;
		size_t j = i;

		bits = ps->desc[rpage].w1;
		for (; j < rs->n && rs->v[j].rpage == rpage; j++) {
			const struct rec *r = &rs->v[j];

			if (!run_ok(ps, r)) {
				uint8_t *rp =
					pms_page_addr(ps, rpage) +
					(uint64_t)r->rslot * PMS_RECORD_SIZE;
				uint64_t *check =
					(uint64_t *)(rp +
						     offsetof(struct pms_record,
							      check));

				if (fix_add(ps, f, check, 0, rpage))
					return -1;
				continue;
			}
			/* written 0 before the record's check: not a crash */
			if (r->r.rsvd[0] || r->r.rsvd[1])
				return pms_err(EIO,
					       "pool %s: record in page %llu "
					       "slot %u has reserved fields "
					       "set; run pmemstore_check",
					       ps->path,
					       (unsigned long long)rpage,
					       r->rslot);
			for (uint64_t q = 0; q < r->r.npages; q++) {
				uint64_t pg = r->r.page + q;
				struct pms_desc *dq = &ps->desc[pg];

				if (used_test(used, pg) || pg == rpage)
					return pms_err(
						EIO,
						"pool %s: object runs overlap "
						"at page %llu; run "
						"pmemstore_check",
						ps->path,
						(unsigned long long)pg);
				used_set(used, pg);
				used_set(inrun, pg);
				if (q == 0 || (dq->w0 == PMS_DESC_TAIL_W0(q) &&
					       dq->w1 == 0))
					continue;
				if (PMS_PLANTED(TAIL_NOREPAIR))
					continue;
				/* read-only: persist_id_of cannot trust them */
				ps->stale_runs = ps->rdonly;
				if (fix_add(ps, f, &dq->w0, PMS_DESC_TAIL_W0(q),
					    NO_PAGE) ||
				    fix_add(ps, f, &dq->w1, 0, NO_PAGE))
					return -1;
			}
			live |= 1ULL << r->rslot;
		}
		if (live != bits &&
		    fix_add(ps, f, &ps->desc[rpage].w1, live, NO_PAGE))
			return -1;
		if (live) {
			struct pms_slab *s;

			if (used_test(used, rpage))
				return pms_err(EIO,
					       "pool %s: record page %llu is "
					       "also object data; run "
					       "pmemstore_check",
					       ps->path,
					       (unsigned long long)rpage);
			s = pms_heap_adopt(ps, rpage, PMS_CLASS_RECORD, live);
			if (s == NULL)
				return pms_err(ENOMEM, "pool %s: out of memory",
					       ps->path);
			used_set(used, rpage);
			for (size_t k = i; k < j; k++) {
				const struct rec *r = &rs->v[k];

				if (!((live >> r->rslot) & 1))
					continue;
				if (index_add(ps, r->r.uuid, r->r.size,
					      r->r.page, r->r.npages, s,
					      r->rslot))
					return -1;
			}
		}
		i = j;
	}
	return 0;
}

/*
 * pms_recover -- rebuild the volatile state of the pool from descriptors
 * [0, hwm) and repair what a crash left (not when read-only)
 */
int
pms_recover(struct pmemstore *ps)
{
	uint64_t hwm = ps->pages.hwm;
	uint64_t *used = calloc(hwm / 64 + 1, sizeof(uint64_t));
	uint64_t *inrun = calloc(hwm / 64 + 1, sizeof(uint64_t));
	struct fixes f = {0};
	struct recs rs = {0};
	int ret = -1;

	if (used == NULL || inrun == NULL) {
		free(used);
		free(inrun);
		return pms_err(ENOMEM, "pool %s: out of memory", ps->path);
	}

	/* pass 1: slab pages (with the records they hold); kinds sane */
	for (uint64_t p = 0; p < hwm; p++) {
		uint64_t w0 = ps->desc[p].w0;
		unsigned t = PMS_DESC_TYPE(w0), cls;

		switch (t) {
		case PMS_DESC_FREE:
			/* w0 of a free page is written whole, always 0 */
			if (w0 != 0) {
				pms_err(EIO,
					"pool %s: descriptor of page %llu is "
					"malformed; run pmemstore_check",
					ps->path, (unsigned long long)p);
				goto out;
			}
			break;
		case PMS_DESC_HEAD:
		case PMS_DESC_TAIL:
			break; /* runs are settled from their records */
		case PMS_DESC_VOLATILE:
			if (fix_add(ps, &f, &ps->desc[p].w0, 0, NO_PAGE))
				goto out;
			break;
		case PMS_DESC_BAD:
			used_set(used, p);
			break;
		case PMS_DESC_SLAB:
			cls = PMS_DESC_SLAB_CLASS(w0);
			if (cls >= PMS_NCLASSES ||
			    w0 != PMS_DESC_SLAB_W0(cls)) {
				pms_err(EIO,
					"pool %s: descriptor of page %llu is "
					"malformed; run pmemstore_check",
					ps->path, (unsigned long long)p);
				goto out;
			}
			if (scan_slab(ps, p, cls, used, &f, &rs))
				goto out;
			break;
		default:
			pms_err(EIO,
				"pool %s: descriptor of page %llu has unknown "
				"type %u; run pmemstore_check",
				ps->path, (unsigned long long)p, t);
			goto out;
		}
	}
	/* pass 2: large objects */
	if (settle_records(ps, &rs, used, inrun, &f))
		goto out;
	/* pass 3: free pages; orphaned run descriptors are cleared */
	for (uint64_t p = 0; p < hwm;) {
		if (used_test(used, p)) {
			p++;
			continue;
		}
		uint64_t q = p;

		for (; q < hwm && !used_test(used, q); q++) {
			unsigned t = PMS_DESC_TYPE(ps->desc[q].w0);

			if ((t == PMS_DESC_HEAD || t == PMS_DESC_TAIL) &&
			    (fix_add(ps, &f, &ps->desc[q].w0, 0, NO_PAGE) ||
			     fix_add(ps, &f, &ps->desc[q].w1, 0, NO_PAGE)))
				goto out;
			/*
			 * a FREE page's w1 left by such a repair cut short
			 * (w0 landed, w1 not): zeroed, or every later open
			 * would find something to repair
			 */
			if (t == PMS_DESC_FREE && ps->desc[q].w0 == 0 &&
			    ps->desc[q].w1 != 0 &&
			    fix_add(ps, &f, &ps->desc[q].w1, 0, NO_PAGE))
				goto out;
		}
		if (pms_pages_add(&ps->pages, p, q - p)) {
			pms_err(ENOMEM, "pool %s: out of memory", ps->path);
			goto out;
		}
		p = q;
	}
	if (hwm < ps->npages &&
	    pms_pages_add(&ps->pages, hwm, ps->npages - hwm)) {
		pms_err(ENOMEM, "pool %s: out of memory", ps->path);
		goto out;
	}
	/* every check passed: apply the repairs, one fence for all */
	if (!ps->rdonly && f.n) {
		for (size_t i = 0; i < f.n; i++) {
			if (f.v[i].page != NO_PAGE &&
			    used_test(inrun, f.v[i].page))
				continue; /* that is a live object's data */
			__atomic_store_n(f.v[i].word, f.v[i].value,
					 __ATOMIC_RELAXED);
			if (pms_flush(ps, f.v[i].word, 8))
				goto out;
		}
		pms_drain(ps); /* repairs durable before new allocations */
	}
	ret = 0;
out:
	free(used);
	free(inrun);
	free(f.v);
	free(rs.v);
	return ret;
}
