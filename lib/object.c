/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * object.c -- owns named objects: what makes one exist, the commit
 * protocols of allocation and free, lookup by UUID and by address, the
 * walk over all objects, and the check that a slab page's bitmap says
 * what exists (after a crash, before the page is used again).
 *
 * An object exists iff an index entry names its header (small object) or
 * record (large object), the page there is a slab of the header's class,
 * and the header's identity check verifies for this UUID, size and place;
 * for a large object also the run's HEAD descriptor points back at the
 * record.  The entry is the commit word: alloc writes the header (and
 * the run), then stores the entry, flushes, one fence; free zeroes the
 * entry and the check, flushes, one fence.  A crash keeps any subset of
 * the stores of the operation in flight, and every subset but "all of an
 * alloc" is no object (docs/format.md walks through each).
 *
 * The occupancy bit in the descriptor is written in the same fence but is
 * a hint: exact after a clean close, and made exact page by page after a
 * crash (pms_obj_validate) before the allocator uses the page again.
 *
 * PERSIST_ZERO and persist_alloc_init make the content durable with a
 * fence of its own before the publication: 2 fences.
 *
 * A slot or page run is handed out again only after its free is durable;
 * a claim (index.h) keeps a UUID from being allocated while it is being
 * allocated or freed and hides an allocation from lookups until its fence,
 * so no two durable objects ever share a UUID or a byte, and no thread
 * sees an object that a crash could still take back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "flush.h"
#include "checksum.h"
#include "errors.h"
#include "plant.h"
#include "media.h"
#include "device.h"
#include "index.h"
#include "object.h"

/*
 * st64 / ld64 -- relaxed 8-byte stores and loads of words that
 * persist_id_of may read while an allocation or free writes them; the
 * reader validates what it read against the index, so relaxed suffices
 */
static inline void
st64(void *p, uint64_t v)
{
	__atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
}

static inline uint64_t
ld64(const void *p)
{
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}

/* st_uuid -- a UUID on media as two 8-byte words */
static void
st_uuid(uint8_t *dst, const uint8_t *uuid)
{
	uint64_t w[2];

	memcpy(w, uuid, 16);
	st64(dst, w[0]);
	st64(dst + 8, w[1]);
}

/* hdr_of -- header of slot i of a small-object slab page */
static struct pms_obj_hdr *
hdr_of(struct pmemstore *ps, uint64_t page, unsigned slot)
{
	return (struct pms_obj_hdr *)(pms_page_addr(ps, page) +
				      (uint64_t)slot * PMS_HDR_SIZE);
}

/* rec_of -- record in slot i of a record slab page */
static struct pms_record *
rec_of(struct pmemstore *ps, uint64_t page, unsigned slot)
{
	return (struct pms_record *)(pms_page_addr(ps, page) +
				     (uint64_t)slot * PMS_RECORD_SIZE);
}

/* slot_addr -- data of slot i of a small-object slab page */
static void *
slot_addr(struct pmemstore *ps, uint64_t page, unsigned cls, unsigned slot)
{
	return pms_page_addr(ps, page) + pms_classes[cls].data_off +
	       (uint64_t)slot * pms_classes[cls].size;
}

/* check_ps -- validate a handle for a call that writes */
static int
check_ps(struct pmemstore *ps, const void *id, int writes)
{
	if (ps == NULL)
		return pms_err(EINVAL, "pool handle is NULL");
	if (id == NULL)
		return pms_err(EINVAL, "pool %s: object UUID is NULL",
			       ps->path);
	if (writes && ps->rdonly)
		return pms_err(EROFS, "pool %s: opened read-only", ps->path);
	if (writes && __atomic_load_n(&ps->broken, __ATOMIC_ACQUIRE))
		return pms_err(EIO,
			       "pool %s: an msync failed during an earlier "
			       "allocation or free; close and reopen the pool",
			       ps->path);
	return 0;
}

/* ---- what exists ---- */

/*
 * PMS_NO_TSAN -- a function that reads a header, record or descriptor
 * that a lookup found but that may be the application's data by now (the
 * object freed and its page reused meanwhile): the reads are atomic and
 * the identity check rejects whatever they see, so the race with the
 * application's plain stores is benign; ThreadSanitizer is told so here
 * (objects carved from the pool are otherwise invisible to it)
 */
#if defined(__clang__) || __GNUC__ >= 8
#define PMS_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define PMS_NO_TSAN
#endif
#if defined(__SANITIZE_THREAD__)
#define PMS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PMS_TSAN 1
#endif
#endif

/*
 * vld64 -- a load of a word of a header or record being verified: relaxed
 * atomic, but under ThreadSanitizer a volatile load that it does not see
 * (an atomic one it would still pair with the application's stores)
 */
PMS_NO_TSAN static inline uint64_t
vld64(const void *p)
{
#ifdef PMS_TSAN
	return *(const volatile uint64_t *)p;
#else
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
#endif
}

/* vld_uuid -- a UUID of a header or record being verified */
PMS_NO_TSAN static inline void
vld_uuid(uint8_t *uuid, const uint8_t *src)
{
	uint64_t w[2] = {vld64(src), vld64(src + 8)};

	memcpy(uuid, w, 16);
}

/*
 * struct view -- an object as verified on media: where it is, its size
 * and UUID
 */
struct view {
	uint64_t loc; /* its header's or record's location (the entry) */
	uint64_t size;
	uint64_t page;	 /* slab page, or first page of the run */
	uint64_t npages; /* 0 for a small object */
	unsigned slot, cls;
	uint8_t uuid[16];
};

/* view_addr -- the object's data */
static void *
view_addr(struct pmemstore *ps, const struct view *v)
{
	if (v->npages)
		return pms_page_addr(ps, v->page);
	return slot_addr(ps, v->page, v->cls, v->slot);
}

/*
 * verify_record -- is record rslot of record page rpage a live large
 * object's (its check verifies, its run is in bounds and its HEAD points
 * back)?  Fills v.
 */
PMS_NO_TSAN static int
verify_record(struct pmemstore *ps, uint64_t rpage, unsigned rslot,
	      struct view *v)
{
	const struct pms_record *r = rec_of(ps, rpage, rslot);
	uint64_t size = vld64(&r->size), page = vld64(&r->page);
	uint64_t n = vld64(&r->npages), check = vld64(&r->check);
	const struct pms_desc *d;

	if (check == 0 || vld64(&r->rsvd[0]) || vld64(&r->rsvd[1]))
		return 0;
	vld_uuid(v->uuid, r->uuid);
	if (size <= PMS_SMALL_MAX ||
	    n != (size + PMS_PAGE_SIZE - 1) >> PMS_PAGE_SHIFT ||
	    page >= ps->npages || n > ps->npages - page ||
	    (size >= PMS_HUGE_SIZE && page % PMS_HUGE_PAGES))
		return 0;
	if (check !=
	    pms_check_record(ps->seed, v->uuid, size, page, n, rpage, rslot))
		return 0;
	d = &ps->desc[page];
	if (ld64(&d->w0) != PMS_DESC_HEAD_W0(rpage, rslot) || ld64(&d->w1) != n)
		return 0;
	v->size = size;
	v->page = page;
	v->npages = n;
	v->slot = rslot;
	v->cls = PMS_CLASS_RECORD;
	return 1;
}

/*
 * verify_at -- is there an object whose header or record is at loc?  Reads
 * only what the location names, every field checked (media is untrusted);
 * fills v.  A torn read of an object being written fails the check.
 */
PMS_NO_TSAN static int
verify_at(struct pmemstore *ps, uint64_t loc, struct view *v)
{
	uint64_t page = PMS_LOC_PAGE(loc), w0, size, check;
	unsigned slot = PMS_LOC_SLOT(loc), cls;
	const struct pms_obj_hdr *h;

	if (page >= ps->npages)
		return 0;
	/* the header's line loads while the descriptor's is read */
	__builtin_prefetch(pms_page_addr(ps, page) + (uint64_t)slot * 64);
	w0 = __atomic_load_n(&ps->desc[page].w0, __ATOMIC_ACQUIRE);
	cls = PMS_DESC_SLAB_CLASS(w0);
	if (PMS_DESC_TYPE(w0) != PMS_DESC_SLAB || cls >= PMS_NCLASSES ||
	    w0 != PMS_DESC_SLAB_W0(cls) || slot >= pms_classes[cls].nslots)
		return 0;
	v->loc = loc;
	if (cls == PMS_CLASS_RECORD)
		return verify_record(ps, page, slot, v);
	h = hdr_of(ps, page, slot);
	check = vld64(&h->check);
	size = vld64(&h->size); /* size and rsvd (0) */
	if (check == 0 || size == 0 || size > pms_classes[cls].size)
		return 0;
	vld_uuid(v->uuid, h->uuid);
	if (check != pms_check_small(ps->seed, v->uuid, size, page, slot, cls))
		return 0;
	v->size = size;
	v->page = page;
	v->npages = 0;
	v->slot = slot;
	v->cls = cls;
	return 1;
}

/*
 * struct want -- what a lookup looks for, and where what it found goes
 * (the caller's view, filled in place rather than copied)
 */
struct want {
	const uint8_t *uuid;
	struct view *v;
};

/* match_uuid -- pms_index_find's match: the entry names this UUID */
static int
match_uuid(struct pmemstore *ps, uint64_t loc, void *arg)
{
	struct want *w = arg;

	return verify_at(ps, loc, w->v) && memcmp(w->v->uuid, w->uuid, 16) == 0;
}

/* pms_obj_rehash -- the hash of the UUID of the object at loc (index.c) */
int
pms_obj_rehash(struct pmemstore *ps, uint64_t loc, uint64_t *hash)
{
	struct view v;

	if (!verify_at(ps, loc, &v))
		return -1;
	*hash = pms_hash_uuid(ps->seed, v.uuid);
	return 0;
}

/*
 * find -- the object named uuid as lookups see it: 1 (v filled), 0, or -1
 * (damage).  A claim on the UUID has the last word: an allocation in
 * flight is not there yet, a free in flight not gone yet.  The claims are
 * read only when the stripe has some (nclaims, read after the entries:
 * an operation claims before it stores an entry and unclaims after its
 * fence); locked: the caller holds the stripe lock.
 */
static int
find(struct pmemstore *ps, const uint8_t *uuid, uint64_t h, struct view *v,
     int locked)
{
	struct pms_stripe *sp = pms_index_stripe(&ps->index, h);
	struct want w = {.uuid = uuid, .v = v};
	struct pms_claim *c;
	struct pms_guard g;
	uint64_t loc;
	int r;

	/* the lookup reads the index and headers: a media error is EIO */
	pms_guard_push(&g, ps->base, ps->map_len);
	if (sigsetjmp(g.env, 0))
		return pms_guard_failed(&g, ps->path, ps->base,
					"looking up an object");
	r = pms_index_find(ps, h, match_uuid, &w, &loc);
	pms_guard_pop(&g);
	if (r < 0)
		return -1;
	if (__atomic_load_n(&sp->nclaims, __ATOMIC_ACQUIRE) == 0)
		return r;
	if (!locked)
		pthread_mutex_lock(&sp->lock);
	c = pms_index_claimed(sp, uuid);
	if (c && c->kind == PMS_CLAIM_ALLOC) {
		r = 0;
	} else if (c && c->kind == PMS_CLAIM_FREE) {
		/* still live for lookups until its fence: from the claim, as
		 * the free may have zeroed the check already */
		r = 1;
		memcpy(v->uuid, uuid, 16);
		v->loc = c->loc;
		v->size = c->size;
		v->page = c->npages ? c->page : PMS_LOC_PAGE(c->loc);
		v->npages = c->npages;
		v->slot = PMS_LOC_SLOT(c->loc);
		v->cls = c->cls;
	}
	if (!locked)
		pthread_mutex_unlock(&sp->lock);
	return r;
}

/* ---- allocation ---- */

/* flush_lines -- flush the index lines an operation changed */
static int
flush_lines(struct pmemstore *ps, void **lines, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (pms_flush(ps, lines[i], PMS_LINE))
			return -1;
	return 0;
}

/*
 * struct res -- what an allocation reserved: a slot (small object or the
 * large object's record) and, for a large object, its run
 */
struct res {
	struct pms_slab *slab;
	unsigned slot, cls;
	uint64_t page, npages, size;
};

/* res_loc -- the location the entry of a reservation names */
static uint64_t
res_loc(const struct res *r)
{
	return PMS_LOC(r->slab->page, r->slot);
}

/* res_addr -- the data of a reservation */
static void *
res_addr(struct pmemstore *ps, const struct res *r)
{
	if (r->npages)
		return pms_page_addr(ps, r->page);
	return slot_addr(ps, r->page, r->cls, r->slot);
}

/*
 * set_bit_halves -- PMS_PLANT_TORN_COMMIT only: store a word as two
 * 4-byte stores, each flushed on its own (a commit word that is not
 * written by one aligned 8-byte store is not failure-atomic)
 */
static void
set_bit_halves(struct pmemstore *ps, uint64_t *w, uint64_t v)
{
	uint32_t *half = (uint32_t *)w;

	__atomic_store_n(&half[0], (uint32_t)v, __ATOMIC_RELAXED);
	(void)pms_flush(ps, &half[0], 4);
	__atomic_store_n(&half[1], (uint32_t)(v >> 32), __ATOMIC_RELAXED);
	(void)pms_flush(ps, &half[1], 4);
}

/*
 * write_small -- the header of a reserved slot and its occupancy bit
 * (hint), flushed; the entry is stored and flushed by the index
 */
static int
write_small(struct pmemstore *ps, const struct res *r, const uint8_t *uuid,
	    const uint64_t *entry)
{
	struct pms_obj_hdr *h = hdr_of(ps, r->page, r->slot);
	struct pms_desc *d = &ps->desc[r->page];
	uint64_t check = pms_check_small(ps->seed, uuid, r->size, r->page,
					 r->slot, r->cls);

	st_uuid(h->uuid, uuid);
	st64(&h->size, r->size); /* size, and rsvd = 0 */
	if (PMS_PLANTED(TORN_COMMIT))
		set_bit_halves(ps, &h->check, check);
	else
		__atomic_store_n(&h->check, check, __ATOMIC_RELAXED);
	/* the locked store before any flush: it would wait for them */
	__atomic_fetch_or(&d->w1, 1ULL << r->slot, __ATOMIC_RELEASE);
	if ((!PMS_PLANTED(HDR_NOFLUSH) && pms_flush(ps, h, sizeof(*h))) ||
	    pms_flush(ps, d, sizeof(*d)) ||
	    (!PMS_PLANTED(INDEX_NOFLUSH) && pms_flush(ps, entry, 8)))
		return -1;
	return 0;
}

/*
 * write_large -- the record, the run's descriptors and the record's bit
 * (hint), flushed but the TAILs: they only serve address lookups, and open
 * derives them from the HEAD (a 64 MiB object would flush 4096 lines)
 */
static int
write_large(struct pmemstore *ps, const struct res *r, const uint8_t *uuid,
	    const uint64_t *entry)
{
	uint64_t rpage = r->slab->page;
	struct pms_record *rec = rec_of(ps, rpage, r->slot);
	struct pms_desc *rd = &ps->desc[rpage];
	struct pms_desc *d = &ps->desc[r->page];

	st_uuid(rec->uuid, uuid);
	st64(&rec->size, r->size);
	st64(&rec->page, r->page);
	st64(&rec->npages, r->npages);
	st64(&rec->rsvd[0], 0);
	st64(&rec->rsvd[1], 0);
	__atomic_store_n(&rec->check,
			 pms_check_record(ps->seed, uuid, r->size, r->page,
					  r->npages, rpage, r->slot),
			 __ATOMIC_RELAXED);
	st64(&d[0].w1, r->npages);
	st64(&d[0].w0, PMS_DESC_HEAD_W0(rpage, r->slot));
	for (uint64_t i = 1; i < r->npages; i++) {
		st64(&d[i].w1, 0);
		st64(&d[i].w0, PMS_DESC_TAIL_W0(i));
	}
	__atomic_fetch_or(&rd->w1, 1ULL << r->slot, __ATOMIC_RELEASE);
	if ((!PMS_PLANTED(RECORD_NOFLUSH) &&
	     pms_flush(ps, rec, sizeof(*rec))) ||
	    (!PMS_PLANTED(DESC_NOFLUSH) && pms_flush(ps, d, sizeof(*d))) ||
	    pms_flush(ps, rd, sizeof(*rd)) ||
	    (!PMS_PLANTED(INDEX_NOFLUSH) && pms_flush(ps, entry, 8)))
		return -1;
	return 0;
}

/*
 * unreserve -- give back what an allocation reserved, when it was never
 * published or once its free is durable; me is the calling thread's heap
 */
static void
unreserve(struct pmemstore *ps, struct pms_heap *me, const struct res *r)
{
	pms_heap_release(me, r->slab, r->slot);
	if (r->npages)
		pms_heap_run_put(ps, me, r->page, r->npages);
}

/*
 * reserve -- find room for an object of r->size bytes in the calling
 * thread's heap me (a large object: a run from the page allocator and a
 * record slot from the heap)
 */
static int
reserve(struct pmemstore *ps, struct pms_heap *me, struct res *r)
{
	if (r->size <= PMS_SMALL_MAX) {
		r->cls = pms_slab_class_of(r->size);
		r->npages = 0;
		if (pms_heap_reserve(ps, me, r->cls, &r->slab, &r->slot))
			return -1;
		r->page = r->slab->page;
		return 0;
	}
	/* the run first: if it raises the high-water mark, the record page
	 * finds the room the mark keeps to spare */
	uint64_t align = r->size >= PMS_HUGE_SIZE ? PMS_HUGE_PAGES : 1;

	r->cls = PMS_CLASS_RECORD;
	r->npages = (r->size + PMS_PAGE_SIZE - 1) >> PMS_PAGE_SHIFT;
	if (pms_heap_run_get(me, r->npages, &r->page) &&
	    pms_pages_alloc(ps, r->npages, align, &r->page)) {
		/* pages the heaps keep are backed: ENOSPC too */
		if (errno != ENOMEM && errno != ENOSPC)
			return -1;
		pms_heap_reclaim(ps);
		if (pms_pages_alloc(ps, r->npages, align, &r->page))
			return -1;
	}
	if (pms_heap_reserve(ps, me, PMS_CLASS_RECORD, &r->slab, &r->slot)) {
		pms_heap_run_put(ps, me, r->page, r->npages);
		return -1;
	}
	return 0;
}

/* count -- the calling thread's heap counts an allocation or a free */
static void
count(struct pms_heap *me, int64_t n, int64_t bytes)
{
	if (me == NULL)
		return; /* the free of a thread whose heap could not be made */
	__atomic_store_n(&me->objects, me->objects + n, __ATOMIC_RELAXED);
	__atomic_store_n(&me->bytes, me->bytes + bytes, __ATOMIC_RELAXED);
}

/* broken -- an msync failed mid-commit: no more changes (see format.md) */
static void
broken(struct pmemstore *ps)
{
	__atomic_store_n(&ps->broken, 1, __ATOMIC_RELEASE);
}

/*
 * insert -- pms_index_insert under the SIGBUS guard (the stripe locked: a
 * fault while it reads the windows or headers leaves nothing changed; a
 * split probes its segment first and is not guarded after that)
 */
static int
insert(struct pmemstore *ps, struct pms_stripe *sp, uint64_t h, uint64_t loc,
       struct want *w, uint64_t **entry)
{
	struct pms_guard g;
	int r;

	pms_guard_push(&g, ps->base, ps->map_len);
	if (sigsetjmp(g.env, 0))
		return pms_guard_failed(&g, ps->path, ps->base,
					"inserting into the index");
	r = pms_index_insert(ps, sp, h, loc, match_uuid, w, entry);
	pms_guard_pop(&g);
	return r;
}

/*
 * alloc -- the common path of persist_alloc and persist_alloc_init:
 * reserve space, claim the UUID and store its entry (under the stripe
 * lock), prepare the content, write the header, one fence, unclaim
 */
static void *
alloc(struct pmemstore *ps, const uint8_t *id, size_t size, unsigned flags,
      int (*init)(void *, size_t, void *), void *arg)
{
	struct pms_claim c = {.kind = PMS_CLAIM_ALLOC};
	struct pms_heap *me;
	struct pms_stripe *sp;
	struct res r = {.size = size};
	uint64_t h, *entry = NULL;
	void *ptr;
	void *lines[2 * PMS_WINDOW];
	unsigned nlines;
	int ret, err, gone;

	if (check_ps(ps, id, 1))
		return NULL;
	if (flags & ~PERSIST_ZERO) {
		pms_err(EINVAL, "pool %s: unknown flags 0x%x", ps->path,
			flags & ~PERSIST_ZERO);
		return NULL;
	}
	if (size == 0) {
		pms_err(EINVAL, "pool %s: object size is 0", ps->path);
		return NULL;
	}
	if (size > ps->npages * PMS_PAGE_SIZE) {
		pms_err(ENOMEM,
			"pool %s: %zu bytes is more than the pool holds",
			ps->path, size);
		return NULL;
	}
	me = pms_heap_mine(ps);
	if (me == NULL)
		return NULL;
	if (reserve(ps, me, &r)) {
		struct view v;

		err = errno;
		/* a full pool: say so only if the name is free */
		if ((err == ENOMEM || err == ENOSPC) &&
		    find(ps, id, pms_hash_uuid(ps->seed, id), &v, 0) > 0)
			pms_err(EEXIST,
				"pool %s: an object with this UUID "
				"exists",
				ps->path);
		else
			errno = err;
		return NULL;
	}
	/* the lines the commit writes load while the index is searched */
	__builtin_prefetch(&ps->desc[r.slab->page], 1);
	__builtin_prefetch(pms_page_addr(ps, r.slab->page) +
				   (uint64_t)r.slot * (r.npages
							       ? PMS_RECORD_SIZE
							       : PMS_HDR_SIZE),
			   1);
	h = pms_hash_uuid(ps->seed, id);
	sp = pms_index_stripe(&ps->index, h);
	memcpy(c.uuid, id, 16);

	/*
	 * Under the stripe lock: no claim on the UUID (an allocation or free
	 * of it in flight), then, in one pass over its windows, no object of
	 * it and the entry stored -- hidden by the claim until the fence.
	 */
	pthread_mutex_lock(&sp->lock);
	if (pms_index_claimed(sp, id)) {
		ret = 1;
	} else {
		struct view seen; /* an object of the UUID met on the way */
		struct want w = {.uuid = id, .v = &seen};

		pms_index_claim(sp, &c);
		ret = insert(ps, sp, h, res_loc(&r), &w, &entry);
		if (ret)
			pms_index_unclaim(sp, &c);
	}
	if (ret) {
		pthread_mutex_unlock(&sp->lock);
		unreserve(ps, me, &r);
		if (ret > 0)
			pms_err(EEXIST,
				"pool %s: an object with this UUID "
				"exists",
				ps->path);
		return NULL;
	}
	pthread_mutex_unlock(&sp->lock);

	ptr = res_addr(ps, &r);
	if (flags & PERSIST_ZERO) {
		/* zeroes durable (first fence) before the header can land */
		if (pms_memset_nodrain(ps, ptr, 0, size))
			goto fail;
		if (!PMS_PLANTED(ZERO_NOFENCE))
			pms_drain(ps);
	} else if (init && PMS_PLANTED(PUBLISH_EARLY)) {
		/* the planted order: publish, then the content */
		if ((r.npages ? write_large(ps, &r, id, entry)
			      : write_small(ps, &r, id, entry)))
			goto fail;
		pms_drain(ps);
		if (init(ptr, size, arg) || pms_flush(ps, ptr, size))
			goto fail;
		pms_drain(ps);
		goto published;
	} else if (init) {
		ret = init(ptr, size, arg);
		if (ret) {
			pms_err(ECANCELED,
				"pool %s: the init callback returned %d; no "
				"object was created",
				ps->path, ret);
			goto fail;
		}
		if (pms_flush(ps, ptr, size))
			goto fail;
		pms_drain(ps); /* content durable before it is published */
	}
	if ((r.npages ? write_large(ps, &r, id, entry)
		      : write_small(ps, &r, id, entry)))
		goto fail;
	/* header (or record and HEAD), bit and entry: all or no object */
	if (!PMS_PLANTED(PUBLISH_NOFENCE))
		pms_drain(ps); /* durable: the object exists from here on */
published:
	pthread_mutex_lock(&sp->lock);
	pms_index_unclaim(sp, &c); /* lookups see it from here on */
	pthread_mutex_unlock(&sp->lock);
	count(me, 1, (int64_t)size);
	return ptr;

fail:
	err = errno;
	/*
	 * An msync failed (EIO): what reached the media is unknown, so the
	 * space stays reserved and the handle refuses further changes; the
	 * next open decides from what is durable.  Else the entry goes, and
	 * is durable, before the slot can be reused.
	 */
	pthread_mutex_lock(&sp->lock);
	gone = err != EIO &&
	       pms_index_remove(ps, sp, h, res_loc(&r), lines, &nlines) == 0 &&
	       flush_lines(ps, lines, nlines) == 0;
	if (gone)
		pms_drain(ps);
	else
		broken(ps);
	pms_index_unclaim(sp, &c);
	pthread_mutex_unlock(&sp->lock);
	/* not under the stripe lock: a page check after a crash holds a
	 * heap's lock and takes stripe locks */
	if (gone)
		unreserve(ps, me, &r);
	errno = err;
	return NULL;
}

/* persist_alloc -- public: allocate a named object */
void *
persist_alloc(struct pmemstore *ps, const uuid_t id, size_t size,
	      unsigned flags)
{
	return alloc(ps, id, size, flags, NULL, NULL);
}

/* persist_alloc_init -- public: allocate, initialize, then publish */
void *
persist_alloc_init(struct pmemstore *ps, const uuid_t id, size_t size,
		   int (*init)(void *ptr, size_t size, void *arg), void *arg)
{
	if (ps && init == NULL) {
		pms_err(EINVAL, "pool %s: init callback is NULL", ps->path);
		return NULL;
	}
	return alloc(ps, id, size, 0, init, arg);
}

/*
 * bad_object -- does the object (its header or record, or its data) lie
 * on a bad block?  Then EIO: its bytes cannot be trusted (or read).
 */
static int
bad_object(struct pmemstore *ps, const struct view *v)
{
	const uint8_t *d = view_addr(ps, v), *h;
	uint64_t at, hlen;
	char u[37];

	if (v->npages) {
		h = (const uint8_t *)rec_of(ps, PMS_LOC_PAGE(v->loc), v->slot);
		hlen = PMS_RECORD_SIZE;
	} else {
		h = (const uint8_t *)hdr_of(ps, v->page, v->slot);
		hlen = PMS_HDR_SIZE;
	}
	at = pms_device_overlap(ps, (uint64_t)(d - ps->base), v->size);
	if (at == UINT64_MAX)
		at = pms_device_overlap(ps, (uint64_t)(h - ps->base), hlen);
	if (at == UINT64_MAX)
		return 0;
	uuid_unparse(v->uuid, u);
	return pms_err(EIO,
		       "pool %s: object %s lies on a bad block of the device "
		       "(pool offset %llu): its data is lost; free it, or "
		       "restore it from elsewhere",
		       ps->path, u, (unsigned long long)at);
}

/* persist_get -- public: the address and size of a named object */
void *
persist_get(struct pmemstore *ps, const uuid_t id, size_t *size)
{
	struct view v;
	int r;

	if (check_ps(ps, id, 0))
		return NULL;
	r = find(ps, id, pms_hash_uuid(ps->seed, id), &v, 0);
	if (r > 0) {
		if (pms_device_any(&ps->dev) && bad_object(ps, &v))
			return NULL;
		if (size)
			*size = v.size;
		return view_addr(ps, &v);
	}
	if (r == 0)
		pms_err(ENOENT, "pool %s: no object with this UUID", ps->path);
	return NULL;
}

/* ---- free ---- */

/* on_bad -- is the 8-byte word w on a bad block (not to be touched)? */
static inline int
on_bad(const struct pmemstore *ps, const uint64_t *w)
{
	return pms_device_any(&ps->dev) &&
	       pms_device_overlap(ps, (uint64_t)((const uint8_t *)w - ps->base),
				  8) != UINT64_MAX;
}

/*
 * loc_bad -- does the header or record at loc lie on a known bad block
 * (so that it is not to be read: it would fault, or lie)?
 */
static int
loc_bad(const struct pmemstore *ps, uint64_t loc)
{
	uint64_t page = PMS_LOC_PAGE(loc), w0, off;
	unsigned slot = PMS_LOC_SLOT(loc);

	if (!pms_device_any(&ps->dev) || page >= ps->npages)
		return 0;
	w0 = __atomic_load_n(&ps->desc[page].w0, __ATOMIC_ACQUIRE);
	off = ps->sb.data_off + (page << PMS_PAGE_SHIFT);
	if (PMS_DESC_SLAB_CLASS(w0) == PMS_CLASS_RECORD)
		return pms_device_overlap(
			       ps, off + (uint64_t)slot * PMS_RECORD_SIZE,
			       PMS_RECORD_SIZE) != UINT64_MAX;
	return pms_device_overlap(ps, off + (uint64_t)slot * PMS_HDR_SIZE,
				  PMS_HDR_SIZE) != UINT64_MAX;
}

/*
 * unpublish -- the rest of the free's commit, after the entry was zeroed:
 * the bit (hint) and the identity check (and a large object's run
 * descriptors), flushed, one fence.  remote: the slot belongs to another
 * thread's heap; me, the caller's (both for the planted bugs only).
 */
static int
unpublish(struct pmemstore *ps, const struct view *v, struct pms_slab *s,
	  int remote, struct pms_heap *me, void **lines, unsigned nlines)
{
	uint64_t page = PMS_LOC_PAGE(v->loc);
	struct pms_desc *d = &ps->desc[page];
	uint64_t *check;
	int onbad;

	__atomic_fetch_and(&d->w1, ~(1ULL << v->slot), __ATOMIC_RELEASE);
	if (v->npages) {
		struct pms_desc *run = &ps->desc[v->page];

		check = &rec_of(ps, page, v->slot)->check;
		onbad = on_bad(ps, check);
		if (!PMS_PLANTED(FREE_NOINVAL) && !onbad)
			__atomic_store_n(check, 0, __ATOMIC_RELAXED);
		for (uint64_t i = 0; i < v->npages; i++) {
			st64(&run[i].w0, 0);
			st64(&run[i].w1, 0);
		}
		/* the HEAD only: open zeroes TAILs outside live runs */
		if (pms_flush(ps, run, sizeof(*run)))
			return -1;
	} else {
		check = &hdr_of(ps, page, v->slot)->check;
		onbad = on_bad(ps, check);
		if (!PMS_PLANTED(FREE_NOINVAL) && !onbad)
			__atomic_store_n(check, 0, __ATOMIC_RELAXED);
	}
	if (PMS_PLANTED(REMOTE_EARLY) && remote && v->npages == 0)
		pms_heap_release(me, s, v->slot); /* before the fence */
	/* entry, check, bit (and run): entry or check landing frees it (a
	 * check on a bad block is left: the entry and the bit are gone, and
	 * no reader trusts a header there) */
	if (pms_flush(ps, d, sizeof(*d)) ||
	    (!onbad && pms_flush(ps, check, 8)) ||
	    flush_lines(ps, lines, nlines))
		return -1;
	if (!PMS_PLANTED(REUSE_EARLY) &&
	    !(PMS_PLANTED(REMOTE_NOFENCE) && remote))
		pms_drain(ps); /* durable: the slot and pages may be reused */
	return 0;
}

/* persist_free -- public: free a named object */
int
persist_free(struct pmemstore *ps, const uuid_t id)
{
	struct pms_claim c; /* every field set before it is claimed */
	struct pms_heap *me;
	struct pms_stripe *sp;
	struct pms_slab *s;
	struct view v;
	uint64_t h;
	void *lines[2 * PMS_WINDOW];
	unsigned nlines = 0;
	int r, remote, early;

	if (check_ps(ps, id, 1))
		return -1;
	me = pms_heap_mine(ps); /* NULL (out of memory): freed all the same */
	h = pms_hash_uuid(ps->seed, id);
	sp = pms_index_stripe(&ps->index, h);
	memcpy(c.uuid, id, 16);

	pthread_mutex_lock(&sp->lock);
	r = pms_index_claimed(sp, id) ? 0 : find(ps, id, h, &v, 1);
	if (r <= 0) {
		pthread_mutex_unlock(&sp->lock);
		if (r < 0)
			return -1;
		return pms_err(ENOENT, "pool %s: no object with this UUID",
			       ps->path);
	}
	c.kind = PMS_CLAIM_FREE;
	c.loc = v.loc;
	c.size = v.size;
	c.page = v.page;
	c.npages = v.npages;
	c.cls = v.cls;
	pms_index_claim(sp, &c); /* the object is this free's */
	/*
	 * The slab's volatile state, before the bit changes: a page no thread
	 * has used since open is taken in now (pms_heap_slab_of), without
	 * the stripe lock (a check after a crash takes stripe locks).
	 */
	s = pms_heap_slab_peek(ps, PMS_LOC_PAGE(v.loc));
	if (s == NULL) {
		pthread_mutex_unlock(&sp->lock);
		s = pms_heap_slab_of(ps, me, PMS_LOC_PAGE(v.loc));
		pthread_mutex_lock(&sp->lock);
	}
	if (s == NULL || pms_index_remove(ps, sp, h, v.loc, lines, &nlines)) {
		if (s)
			broken(ps);
		pms_index_unclaim(sp, &c);
		pthread_mutex_unlock(&sp->lock);
		return -1;
	}
	pthread_mutex_unlock(&sp->lock);

	remote = s->heap != me;
	/* the planted order: the owner may reuse the slot before the fence */
	early = PMS_PLANTED(REMOTE_EARLY) && remote && v.npages == 0;
	if (unpublish(ps, &v, s, remote, me, lines, nlines)) {
		/* msync failed: the free may or may not be durable */
		broken(ps);
		pthread_mutex_lock(&sp->lock);
		pms_index_unclaim(sp, &c);
		pthread_mutex_unlock(&sp->lock);
		return -1;
	}
	pthread_mutex_lock(&sp->lock);
	pms_index_unclaim(sp, &c); /* gone for lookups from here on */
	pthread_mutex_unlock(&sp->lock);
	count(me, -1, -(int64_t)v.size);
	if (!early)
		pms_heap_release(me, s, v.slot);
	if (v.npages)
		pms_heap_run_put(ps, me, v.page, v.npages);
	return 0;
}

/* ---- by address, and all of them ---- */

/*
 * lookup_at -- the location (entry) of the object whose bytes may include
 * data page p at offset off, read from the descriptors; 0 or -1
 */
static int
lookup_at(struct pmemstore *ps, uint64_t p, uint64_t off, uint64_t *loc)
{
	uint64_t w0 = __atomic_load_n(&ps->desc[p].w0, __ATOMIC_ACQUIRE);

	switch (PMS_DESC_TYPE(w0)) {
	case PMS_DESC_SLAB: {
		unsigned cls = PMS_DESC_SLAB_CLASS(w0);
		const struct pms_class *c;

		if (cls == PMS_CLASS_RECORD || cls >= PMS_NCLASSES)
			return -1;
		c = &pms_classes[cls];
		if (off < c->data_off)
			return -1;
		*loc = PMS_LOC(p, (off - c->data_off) / c->size);
		return 0;
	}
	case PMS_DESC_TAIL:
		if (PMS_DESC_TAIL_DIST(w0) > p)
			return -1;
		p -= PMS_DESC_TAIL_DIST(w0);
		w0 = __atomic_load_n(&ps->desc[p].w0, __ATOMIC_ACQUIRE);
		if (PMS_DESC_TYPE(w0) != PMS_DESC_HEAD)
			return -1;
		/* fall through */
	case PMS_DESC_HEAD:
		if (PMS_DESC_HEAD_RPAGE(w0) >= ps->npages)
			return -1;
		*loc = PMS_LOC(PMS_DESC_HEAD_RPAGE(w0),
			       PMS_DESC_HEAD_RSLOT(w0));
		return 0;
	default:
		return -1;
	}
}

/* struct scan_run -- find_in_runs's walk: the address, and the answer */
struct scan_run {
	const uint8_t *a;
	uint8_t uuid[16];
	int found;
};

/* run_holds -- find_in_runs's walk: is a inside this large object? */
static int
run_holds(struct pmemstore *ps, uint64_t e, unsigned bucket, unsigned idx,
	  const struct pms_bucket *seg, void *arg)
{
	struct scan_run *sr = arg;
	struct view v;
	const uint8_t *p;

	(void)bucket;
	(void)idx;
	(void)seg;
	if (!verify_at(ps, PMS_ENTRY_LOC(e), &v) || v.npages == 0)
		return 0;
	p = view_addr(ps, &v);
	if (sr->a < p || sr->a >= p + v.size)
		return 0;
	memcpy(sr->uuid, v.uuid, 16);
	sr->found = 1;
	return 1;
}

/*
 * find_in_runs -- the large object whose bytes include a, by a walk of the
 * index: the fallback of a pool opened read-only after a crash, whose TAIL
 * descriptors recovery could not rewrite (ps->stale_runs)
 */
static int
find_in_runs(struct pmemstore *ps, const uint8_t *a, uint8_t uuid[16])
{
	struct scan_run sr = {.a = a};

	(void)pms_index_walk(ps, run_holds, &sr);
	if (sr.found)
		memcpy(uuid, sr.uuid, 16);
	return sr.found;
}

/*
 * persist_id_of -- public: the UUID of the object holding addr, found in
 * O(1) from the page's descriptor (like virt_to_page + compound_head) and
 * confirmed against the index
 */
/* id_at -- persist_id_of's lookup of the object at a, in data page p */
static int
id_at(struct pmemstore *ps, const uint8_t *a, uint64_t p, uint8_t uuid[16])
{
	uint64_t loc;
	struct view v, w;
	int found = 0, r = 0;

	if (lookup_at(ps, p, (uint64_t)(a - ps->data) & (PMS_PAGE_SIZE - 1),
		      &loc) == 0 &&
	    verify_at(ps, loc, &v) &&
	    (r = find(ps, v.uuid, pms_hash_uuid(ps->seed, v.uuid), &w, 0)) >
		    0 &&
	    w.loc == loc) {
		const uint8_t *b = view_addr(ps, &w);

		found = a >= b && a < b + w.size;
		memcpy(uuid, w.uuid, 16);
	}
	if (r < 0)
		return -1; /* a media error (EIO), said already */
	if (!found && ps->stale_runs)
		found = find_in_runs(ps, a, uuid);
	return found;
}

int
persist_id_of(struct pmemstore *ps, const void *addr, uuid_t id)
{
	const uint8_t *a = addr;
	uint8_t uuid[16];
	struct pms_guard g;
	uint64_t p;
	int found;

	if (ps == NULL || id == NULL)
		return pms_err(EINVAL, "pool handle or UUID buffer is NULL");
	if (a < ps->base || a >= ps->base + ps->map_len)
		return pms_err(EINVAL,
			       "pool %s: address %p is outside the pool",
			       ps->path, addr);
	if (a < ps->data ||
	    (uint64_t)(a - ps->data) >= ps->npages * PMS_PAGE_SIZE)
		return pms_err(ENOENT,
			       "pool %s: address %p is in pool metadata",
			       ps->path, addr);
	p = (uint64_t)(a - ps->data) >> PMS_PAGE_SHIFT;
	pms_guard_push(&g, ps->base, ps->map_len);
	if (sigsetjmp(g.env, 0))
		return pms_guard_failed(&g, ps->path, ps->base,
					"finding the object at an address");
	found = id_at(ps, a, p, uuid);
	pms_guard_pop(&g);
	if (found < 0)
		return -1;
	if (!found)
		return pms_err(ENOENT, "pool %s: no object at address %p",
			       ps->path, addr);
	memcpy(id, uuid, 16);
	return 0;
}

/* struct each -- pmemstore_foreach's walk: the callback and its argument */
struct each {
	int (*cb)(const uuid_t id, void *ptr, size_t size, void *arg);
	void *arg;
	uint64_t objects, bytes; /* counted (pms_obj_count) */
	uint64_t unreadable;	 /* entries whose header could not be read */
	uint64_t first;		 /* the pool offset of the first fault */
};

/* unreadable -- after a walk: EIO if some object could not be read */
static int
unreadable(struct pmemstore *ps, const struct each *ea)
{
	if (ea->unreadable == 0)
		return 0;
	return pms_err(EIO,
		       "pool %s: %llu object%s could not be read (a media "
		       "error at pool offset %llu, the first); the others "
		       "were walked",
		       ps->path, (unsigned long long)ea->unreadable,
		       ea->unreadable == 1 ? "" : "s",
		       (unsigned long long)ea->first);
}

/*
 * live_entry -- is an entry, found at (bucket, idx) of segment seg, the
 * one entry of a live object: it verifies, its tag is its UUID's, the
 * bucket is in one of the UUID's windows, and no copy of it comes before
 * in the windows (damage can duplicate one)?  A claim in flight decides
 * as for a lookup.
 */
static int
live_entry(struct pmemstore *ps, uint64_t e, unsigned bucket, unsigned idx,
	   const struct pms_bucket *seg, struct view *v)
{
	uint64_t h;
	unsigned w[2 * PMS_WINDOW], first = 2 * PMS_WINDOW;

	if (!verify_at(ps, PMS_ENTRY_LOC(e), v))
		return 0;
	h = pms_hash_uuid(ps->seed, v->uuid);
	if (PMS_HASH_TAG(h) != PMS_ENTRY_TAG(e))
		return 0;
	for (unsigned k = 0; k < 2 * PMS_WINDOW; k++) {
		w[k] = ((k < PMS_WINDOW ? PMS_HASH_B1(h) : PMS_HASH_B2(h)) +
			k % PMS_WINDOW) %
		       PMS_SEG_BUCKETS;
		if (w[k] == bucket && first == 2 * PMS_WINDOW)
			first = k;
	}
	if (first == 2 * PMS_WINDOW)
		return 0; /* outside its windows */
	/* the first copy in window order is the one */
	for (unsigned k = 0; k < 2 * PMS_WINDOW; k++) {
		for (unsigned i = 0; i < PMS_BUCKET_ENTRIES; i++) {
			if (w[k] == bucket && i == idx)
				goto first_copy;
			if (seg[w[k]].e[i] == e)
				return 0;
		}
	}
first_copy:
	if (__atomic_load_n(&pms_index_stripe(&ps->index, h)->nclaims,
			    __ATOMIC_ACQUIRE)) {
		struct view x;

		return find(ps, v->uuid, h, &x, 0) > 0 && x.loc == v->loc;
	}
	return 1;
}

/* each_entry -- pmemstore_foreach's walk: one entry */
static int
each_entry(struct pmemstore *ps, uint64_t e, unsigned bucket, unsigned idx,
	   const struct pms_bucket *seg, void *arg)
{
	struct each *ea = arg;
	struct pms_guard g, *outer;
	struct view v;
	int r;

	/*
	 * An object whose header cannot be read (a media error) is skipped,
	 * and told of at the end of the walk; a count takes it as an object
	 * of unknown size (0 bytes).  One on a bad block whose header reads
	 * is listed (persist_get says EIO).
	 */
	pms_guard_push(&g, ps->base, ps->map_len);
	if (sigsetjmp(g.env, 0)) {
		pms_guard_failed(&g, ps->path, ps->base, "walking the objects");
		if (ea->unreadable++ == 0)
			ea->first = g.addr - (uintptr_t)ps->base;
		ea->objects += ea->cb == NULL;
		return 0;
	}
	r = live_entry(ps, e, bucket, idx, seg, &v);
	pms_guard_pop(&g);
	if (!r)
		return 0;
	if (ea->cb == NULL) {
		ea->objects++;
		ea->bytes += v.size;
		return 0;
	}
	/* the application's faults are its own */
	outer = pms_guard_suspend();
	r = ea->cb(v.uuid, view_addr(ps, &v), v.size, ea->arg);
	pms_guard_resume(outer);
	return r;
}

/*
 * pmemstore_foreach -- public: call cb for every live object, a segment of
 * the index at a time (copied, so cb may call into the pool)
 */
int
pmemstore_foreach(struct pmemstore *ps,
		  int (*cb)(const uuid_t id, void *ptr, size_t size, void *arg),
		  void *arg)
{
	struct each ea = {.cb = cb, .arg = arg};

	int r;

	if (ps == NULL || cb == NULL)
		return pms_err(EINVAL, "pool handle or callback is NULL");
	r = pms_index_walk(ps, each_entry, &ea);
	return r ? r : unreadable(ps, &ea);
}

/*
 * pms_obj_count -- objects and bytes by a walk of the index: O(objects),
 * for the statistics of a pool opened after a crash.  0; 1 when some
 * headers could not be read (media errors: counted as objects of 0
 * bytes, so the figures are not exact); -1 on failure.
 */
int
pms_obj_count(struct pmemstore *ps, uint64_t *objects, uint64_t *bytes)
{
	struct each ea = {0};

	if (pms_index_walk(ps, each_entry, &ea))
		return -1;
	*objects = ea.objects;
	*bytes = ea.bytes;
	return ea.unreadable != 0;
}

/* keep_entry -- pms_obj_sweep's test: the entry is a live object's */
static int
keep_entry(struct pmemstore *ps, uint64_t e, unsigned bucket, unsigned idx,
	   const struct pms_bucket *seg, void *arg)
{
	struct pms_guard g;
	struct view v;
	int r;

	(void)arg;
	/* an object whose header cannot be read stays */
	if (loc_bad(ps, PMS_ENTRY_LOC(e)))
		return 1;
	pms_guard_push(&g, ps->base, ps->map_len);
	if (sigsetjmp(g.env, 0)) {
		pms_guard_failed(&g, ps->path, ps->base, "sweeping the index");
		return 1;
	}
	r = live_entry(ps, e, bucket, idx, seg, &v);
	pms_guard_pop(&g);
	return r;
}

/*
 * pms_obj_sweep -- at the first clean close after a crash (nothing runs):
 * every entry that names no live object (an allocation or free a crash
 * cut short, a duplicate) is zeroed, so that a clean pool holds no stale
 * entry; flushed, one fence.  O(entries).
 */
int
pms_obj_sweep(struct pmemstore *ps)
{
	if (pms_index_sweep(ps, keep_entry, NULL))
		return -1;
	/* the entries are gone before the clean-close record can land */
	pms_drain(ps);
	return 0;
}

/* ---- after a crash: what a slab page holds ---- */

static int slot_live(struct pmemstore *ps, uint64_t loc, const uint8_t *uuid);

/*
 * pms_obj_run_dead -- after a crash, at the close (nothing runs
 * concurrently): is the run whose HEAD is at page p no live object's?
 * Its record must verify, point back, and have its entry.  1 dead, 0
 * live, -1 damage.
 */
int
pms_obj_run_dead(struct pmemstore *ps, uint64_t p)
{
	uint64_t w0 = ld64(&ps->desc[p].w0);
	uint64_t loc =
		PMS_LOC(PMS_DESC_HEAD_RPAGE(w0), PMS_DESC_HEAD_RSLOT(w0));
	struct view v;
	int r;

	if (PMS_DESC_HEAD_RPAGE(w0) >= ps->npages)
		return 1;
	if (loc_bad(ps, loc))
		return 0; /* its record cannot be read: it stays */
	if (!verify_at(ps, loc, &v) || v.npages == 0 || v.page != p)
		return 1;
	r = slot_live(ps, loc, v.uuid);
	return r < 0 ? -1 : !r;
}

/*
 * slot_live -- is the verified header or record at loc, of UUID uuid, a
 * live object's?  Its entry is there, or a free of it is in flight (the
 * free gives the slot back itself).  1, 0, -1 (damage).
 */
static int
slot_live(struct pmemstore *ps, uint64_t loc, const uint8_t *uuid)
{
	uint64_t h = pms_hash_uuid(ps->seed, uuid);
	struct pms_stripe *sp = pms_index_stripe(&ps->index, h);
	struct pms_claim *c;
	int r = pms_index_has(ps, h, loc);

	if (r != 0 || __atomic_load_n(&sp->nclaims, __ATOMIC_ACQUIRE) == 0)
		return r;
	pthread_mutex_lock(&sp->lock);
	c = pms_index_claimed(sp, uuid);
	r = c && c->kind == PMS_CLAIM_FREE && c->loc == loc;
	pthread_mutex_unlock(&sp->lock);
	return r;
}

/*
 * pms_obj_validate -- after a crash, before the allocator uses slab page p
 * (class cls) again: the slots holding live objects (*live), with the
 * page made to say so -- the bitmap set to them, every other check that
 * verifies zeroed (a free or an allocation a crash cut short: an old
 * header must not come back under a new bit), flushed, one fence when
 * anything changed.  A large object's record that is not live and whose
 * run's HEAD still points at it takes its run down with it (HEAD and
 * TAILs zeroed; *run, *runlen: the pages, free once this returns).
 */
int
pms_obj_validate(struct pmemstore *ps, uint64_t p, unsigned cls, uint64_t *live,
		 uint64_t *unknown, struct pms_obj_run *runs, unsigned *nruns)
{
	const struct pms_class *c = &pms_classes[cls];
	struct pms_desc *d = &ps->desc[p];
	uint64_t bits = 0;
	int changed = 0;

	*nruns = 0;
	*unknown = 0;
	for (unsigned i = 0; i < c->nslots; i++) {
		uint64_t loc = PMS_LOC(p, i), *check;
		struct view v;
		int r;

		/* a header on a bad block cannot be read: its slot keeps its
		 * bit and is never handed out (unknown) */
		if (loc_bad(ps, loc)) {
			bits |= ld64(&d->w1) & (1ULL << i);
			*unknown |= 1ULL << i;
			continue;
		}
		if (verify_at(ps, loc, &v)) {
			r = slot_live(ps, loc, v.uuid);
			if (r < 0)
				return -1;
			if (r) {
				bits |= 1ULL << i;
				continue;
			}
		}
		if (cls == PMS_CLASS_RECORD) {
			struct pms_record *rec = rec_of(ps, p, i);
			uint64_t rp = ld64(&rec->page), n = ld64(&rec->npages);

			check = &rec->check;
			/* a dead record's run, if its HEAD still points back
			 * here (the record's check may be gone already) */
			if (rp < ps->npages && n && n <= ps->npages - rp &&
			    ld64(&ps->desc[rp].w0) == PMS_DESC_HEAD_W0(p, i) &&
			    ld64(&ps->desc[rp].w1) == n) {
				for (uint64_t q = 0; q < n; q++) {
					st64(&ps->desc[rp + q].w0, 0);
					st64(&ps->desc[rp + q].w1, 0);
				}
				if (pms_flush(ps, &ps->desc[rp],
					      n * sizeof(struct pms_desc)))
					return -1;
				runs[*nruns].page = rp;
				runs[*nruns].npages = n;
				(*nruns)++;
				changed = 1;
			}
		} else {
			check = &hdr_of(ps, p, i)->check;
		}
		if (ld64(check) == 0)
			continue;
		__atomic_store_n(check, 0, __ATOMIC_RELAXED);
		if (pms_flush(ps, check, 8))
			return -1;
		changed = 1;
	}
	if (ld64(&d->w1) != bits) {
		st64(&d->w1, bits);
		if (pms_flush(ps, d, sizeof(*d)))
			return -1;
		changed = 1;
	}
	if (changed)
		pms_drain(ps); /* the page says what exists before reuse */
	*live = bits;
	return 0;
}
