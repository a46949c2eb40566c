/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * object.c -- owns named objects: the commit protocols of allocation and
 * free, lookup by UUID and by address, and the walk over all objects.
 *
 * Commit words (docs/format.md walks through every crash point):
 *
 *   small object (<= PMS_SMALL_MAX bytes): its bit in the slab page's
 *   occupancy bitmap (descriptor w1).  An object is live iff its bit is set
 *   AND its header's identity check verifies.  Alloc writes the header and
 *   sets the bit, flushes both lines, one fence: a crash before the fence
 *   leaves at most one of them, which open treats as "no object" and
 *   cleans up.  Free clears the bit and zeroes the header's check, flushes,
 *   one fence; either store alone already makes the object absent.
 *
 *   large object: its record's bit in a record slab page, the record (64 B,
 *   identity-checked) and the HEAD descriptor of its run, pointing back at
 *   the record.  Live iff all three agree.  Alloc writes all and fences
 *   once; free clears the bit, the record's check and the run's
 *   descriptors and fences once.
 *
 *   PERSIST_ZERO and persist_alloc_init make the content durable with a
 *   fence of its own before the publication above: 2 fences.
 *
 * A slot or page run is handed out again only after its free is durable,
 * and the index keeps a UUID from being allocated while it is being
 * freed, so no two durable objects ever share a UUID or a byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "flush.h"
#include "checksum.h"
#include "errors.h"
#include "plant.h"

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

/* st_uuid / ld_uuid -- a UUID on media as two 8-byte words */
static void
st_uuid(uint8_t *dst, const uint8_t *uuid)
{
	uint64_t w[2];

	memcpy(w, uuid, 16);
	st64(dst, w[0]);
	st64(dst + 8, w[1]);
}

static void
ld_uuid(uint8_t *uuid, const uint8_t *src)
{
	uint64_t w[2] = {ld64(src), ld64(src + 8)};

	memcpy(uuid, w, 16);
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

/* obj_addr -- data of an indexed object (its own thread's entry) */
static void *
obj_addr(struct pmemstore *ps, const struct pms_obj *o)
{
	if (o->npages)
		return pms_page_addr(ps, o->page);
	return slot_addr(ps, o->page, o->cls, o->slot);
}

/* view_addr -- data of an object seen by a lock-free lookup */
static void *
view_addr(struct pmemstore *ps, const struct pms_objview *v)
{
	if (v->npages)
		return pms_page_addr(ps, v->page);
	return slot_addr(ps, v->page, v->cls, v->slot);
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

/*
 * set_bit_halves -- PMS_PLANT_TORN_COMMIT only: set a bitmap bit as two
 * 4-byte stores, each flushed on its own (a commit word that is not
 * written by one aligned 8-byte store is not failure-atomic)
 */
static void
set_bit_halves(struct pmemstore *ps, uint64_t *w, unsigned bit)
{
	uint64_t v = __atomic_load_n(w, __ATOMIC_RELAXED) | 1ULL << bit;
	uint32_t *half = (uint32_t *)w;

	__atomic_store_n(&half[0], (uint32_t)v, __ATOMIC_RELAXED);
	(void)pms_flush(ps, &half[0], 4);
	__atomic_store_n(&half[1], (uint32_t)(v >> 32), __ATOMIC_RELAXED);
	(void)pms_flush(ps, &half[1], 4);
}

/*
 * publish_small -- make a reserved slot a live object: header, then bit,
 * one flush of each line and one fence (the bit is the commit word)
 */
static int
publish_small(struct pmemstore *ps, struct pms_obj *o)
{
	struct pms_obj_hdr *h = hdr_of(ps, o->page, o->slot);
	struct pms_desc *d = &ps->desc[o->page];
	unsigned cls = o->cls;
	const uint8_t *uuid = (const uint8_t *)o->uuid;

	st_uuid(h->uuid, uuid);
	st64(&h->size, o->size); /* size, and rsvd = 0 */
	__atomic_store_n(
		&h->check,
		pms_check_small(ps->seed, uuid, o->size, o->page, o->slot, cls),
		__ATOMIC_RELAXED);
	if (PMS_PLANTED(TORN_COMMIT)) {
		set_bit_halves(ps, &d->w1, o->slot);
	} else {
		__atomic_fetch_or(&d->w1, 1ULL << o->slot, __ATOMIC_RELEASE);
	}
	/* the header and the bit: a crash keeps neither, one, or both */
	if ((!PMS_PLANTED(HDR_NOFLUSH) && pms_flush(ps, h, sizeof(*h))) ||
	    pms_flush(ps, d, sizeof(*d)))
		return -1;
	if (!PMS_PLANTED(PUBLISH_NOFENCE))
		pms_drain(ps); /* durable: the object exists from here on */
	return 0;
}

/*
 * publish_large -- make a reserved record slot and page run a live object:
 * record, run descriptors, record bit; one fence for all of them
 */
static int
publish_large(struct pmemstore *ps, struct pms_obj *o)
{
	uint64_t rpage = o->slab->page;
	struct pms_record *r = rec_of(ps, rpage, o->slot);
	struct pms_desc *rd = &ps->desc[rpage];
	struct pms_desc *d = &ps->desc[o->page];
	const uint8_t *uuid = (const uint8_t *)o->uuid;

	st_uuid(r->uuid, uuid);
	st64(&r->size, o->size);
	st64(&r->page, o->page);
	st64(&r->npages, o->npages);
	st64(&r->rsvd[0], 0);
	st64(&r->rsvd[1], 0);
	__atomic_store_n(&r->check,
			 pms_check_record(ps->seed, uuid, o->size, o->page,
					  o->npages, rpage, o->slot),
			 __ATOMIC_RELAXED);
	st64(&d[0].w1, o->npages);
	st64(&d[0].w0, PMS_DESC_HEAD_W0(rpage, o->slot));
	for (uint64_t i = 1; i < o->npages; i++) {
		st64(&d[i].w1, 0);
		st64(&d[i].w0, PMS_DESC_TAIL_W0(i));
	}
	__atomic_fetch_or(&rd->w1, 1ULL << o->slot, __ATOMIC_RELEASE);
	/*
	 * Record, HEAD and bit: live only if all three landed.  TAILs are
	 * not flushed: open derives them from the HEAD and rewrites any that
	 * did not reach the media (a 64 MiB object would flush 4096 lines).
	 */
	if ((!PMS_PLANTED(RECORD_NOFLUSH) && pms_flush(ps, r, sizeof(*r))) ||
	    (!PMS_PLANTED(DESC_NOFLUSH) && pms_flush(ps, d, sizeof(*d))) ||
	    pms_flush(ps, rd, sizeof(*rd)))
		return -1;
	if (!PMS_PLANTED(PUBLISH_NOFENCE))
		pms_drain(ps); /* durable: the object exists from here on */
	return 0;
}

/*
 * unreserve -- give back what an allocation reserved, when it was never
 * published or once its free is durable; me is the calling thread's heap
 */
static void
unreserve(struct pmemstore *ps, struct pms_heap *me, struct pms_obj *o)
{
	pms_heap_release(me, o->slab, o->slot);
	if (o->npages)
		pms_heap_run_put(ps, me, o->page, o->npages);
}

/*
 * reserve -- find room for an object of o->size bytes in the calling
 * thread's heap me (a large object: a run from the page allocator and a
 * record slot from the heap)
 */
static int
reserve(struct pmemstore *ps, struct pms_heap *me, struct pms_obj *o)
{
	struct pms_slab *slab;
	unsigned slot, cls = 0;
	uint64_t page, npages = 0;

	if (o->size <= PMS_SMALL_MAX) {
		cls = pms_slab_class_of(o->size);
		if (pms_heap_reserve(ps, me, cls, &slab, &slot))
			return -1;
		page = slab->page;
	} else {
		/* the run first: if it raises the high-water mark, the record
		 * page finds the room the mark keeps to spare */
		uint64_t align = o->size >= PMS_HUGE_SIZE ? PMS_HUGE_PAGES : 1;

		npages = (o->size + PMS_PAGE_SIZE - 1) >> PMS_PAGE_SHIFT;
		if (pms_heap_run_get(me, npages, &page) &&
		    pms_pages_alloc(ps, npages, align, &page)) {
			/* pages the heaps keep are backed: ENOSPC too */
			if (errno != ENOMEM && errno != ENOSPC)
				return -1;
			pms_heap_reclaim(ps);
			if (pms_pages_alloc(ps, npages, align, &page))
				return -1;
		}
		if (pms_heap_reserve(ps, me, PMS_CLASS_RECORD, &slab, &slot)) {
			pms_heap_run_put(ps, me, page, npages);
			return -1;
		}
	}
	PMS_ST(o->page, page);
	PMS_ST(o->npages, npages);
	PMS_ST(o->slab, slab);
	PMS_ST(o->slot, slot);
	PMS_ST(o->cls, cls);
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

/*
 * alloc -- the common path of persist_alloc and persist_alloc_init: claim
 * the UUID in the index (PENDING), reserve space, prepare the content,
 * publish, then show the object (LIVE)
 */
static void *
alloc(struct pmemstore *ps, const uint8_t *id, size_t size, unsigned flags,
      int (*init)(void *, size_t, void *), void *arg)
{
	struct pms_heap *me;
	struct pms_stripe *st;
	struct pms_obj *o;
	uint64_t hash;
	void *ptr;
	int ret, err;

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
	if (me == NULL || (o = pms_heap_node(ps, me)) == NULL)
		return NULL;
	hash = pms_hash_uuid(id);
	pms_obj_set(o, id, hash);
	PMS_ST(o->size, size);
	PMS_ST(o->state, PMS_OBJ_PENDING);

	st = pms_index_stripe(&ps->index, hash);
	pthread_mutex_lock(&st->lock);
	if (pms_index_find(st, id, hash)) {
		pthread_mutex_unlock(&st->lock);
		pms_heap_node_put(ps, me, o);
		pms_err(EEXIST, "pool %s: an object with this UUID exists",
			ps->path);
		return NULL;
	}
	pms_index_insert(st, o);
	pthread_mutex_unlock(&st->lock);

	if (reserve(ps, me, o))
		goto fail;
	ptr = obj_addr(ps, o);
	if (flags & PERSIST_ZERO) {
		/* zeroes durable (first fence) before the header can land */
		if (pms_memset_nodrain(ps, ptr, 0, size))
			goto fail_unreserve;
		if (!PMS_PLANTED(ZERO_NOFENCE))
			pms_drain(ps);
	} else if (init && PMS_PLANTED(PUBLISH_EARLY)) {
		/* the planted order: publish, then the content */
		if ((o->npages ? publish_large(ps, o) : publish_small(ps, o)) ||
		    init(ptr, size, arg) || pms_flush(ps, ptr, size))
			goto fail_unreserve;
		pms_drain(ps);
		goto published;
	} else if (init) {
		ret = init(ptr, size, arg);
		if (ret) {
			pms_err(ECANCELED,
				"pool %s: the init callback returned %d; no "
				"object was created",
				ps->path, ret);
			goto fail_unreserve;
		}
		if (pms_flush(ps, ptr, size))
			goto fail_unreserve;
		pms_drain(ps); /* content durable before it is published */
	}
	if ((o->npages ? publish_large(ps, o) : publish_small(ps, o)))
		goto fail_unreserve;
published:
	/* a single word: lock-free readers see PENDING or LIVE */
	__atomic_store_n(&o->state, PMS_OBJ_LIVE, __ATOMIC_RELEASE);
	count(me, 1, (int64_t)size);
	return ptr;

fail_unreserve:
	/*
	 * An msync failed (EIO): what reached the media is unknown, so the
	 * space stays reserved and the handle refuses further changes; the
	 * next open decides from what is durable.
	 */
	if (errno == EIO)
		__atomic_store_n(&ps->broken, 1, __ATOMIC_RELEASE);
	else
		unreserve(ps, me, o);
fail:
	err = errno;
	pthread_mutex_lock(&st->lock);
	pms_index_remove(st, o);
	pthread_mutex_unlock(&st->lock);
	pms_heap_node_put(ps, me, o);
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

/* persist_get -- public: the address and size of a named object */
void *
persist_get(struct pmemstore *ps, const uuid_t id, size_t *size)
{
	struct pms_objview v;
	uint64_t hash;

	if (check_ps(ps, id, 0))
		return NULL;
	hash = pms_hash_uuid(id);
	if (pms_index_lookup(pms_index_stripe(&ps->index, hash), id, hash,
			     &v) &&
	    v.state != PMS_OBJ_PENDING) {
		if (size)
			*size = v.size;
		return view_addr(ps, &v);
	}
	pms_err(ENOENT, "pool %s: no object with this UUID", ps->path);
	return NULL;
}

/*
 * unpublish -- the free's commit: clear the bit and the identity check
 * (and a large object's run descriptors), flush, one fence.  remote: the
 * slot belongs to another thread's heap; me, the caller's (both for the
 * planted bugs only).
 */
static int
unpublish(struct pmemstore *ps, struct pms_obj *o, int remote,
	  struct pms_heap *me)
{
	uint64_t page = o->npages ? o->slab->page : o->page;
	struct pms_desc *d = &ps->desc[page];
	uint64_t *check;

	__atomic_fetch_and(&d->w1, ~(1ULL << o->slot), __ATOMIC_RELEASE);
	if (o->npages) {
		struct pms_desc *run = &ps->desc[o->page];

		check = &rec_of(ps, page, o->slot)->check;
		if (!PMS_PLANTED(FREE_NOINVAL))
			__atomic_store_n(check, 0, __ATOMIC_RELAXED);
		for (uint64_t i = 0; i < o->npages; i++) {
			st64(&run[i].w0, 0);
			st64(&run[i].w1, 0);
		}
		/* the HEAD only: open zeroes TAILs outside live runs */
		if (pms_flush(ps, run, sizeof(*run)))
			return -1;
	} else {
		check = &hdr_of(ps, page, o->slot)->check;
		if (!PMS_PLANTED(FREE_NOINVAL))
			__atomic_store_n(check, 0, __ATOMIC_RELAXED);
	}
	if (PMS_PLANTED(REMOTE_EARLY) && remote && o->npages == 0)
		pms_heap_release(me, o->slab, o->slot); /* before the fence */
	/* bit, check (and run): any one of them landing frees the object */
	if (pms_flush(ps, d, sizeof(*d)) || pms_flush(ps, check, 8))
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
	struct pms_heap *me;
	struct pms_stripe *st;
	struct pms_obj *o;
	uint64_t hash;
	int remote, early = 0;

	if (check_ps(ps, id, 1))
		return -1;
	me = pms_heap_mine(ps); /* NULL (out of memory): freed all the same */
	hash = pms_hash_uuid(id);
	st = pms_index_stripe(&ps->index, hash);
	pthread_mutex_lock(&st->lock);
	o = pms_index_find(st, id, hash);
	/* acquire: the allocating thread's stores to o came before LIVE */
	if (o == NULL ||
	    __atomic_load_n(&o->state, __ATOMIC_ACQUIRE) != PMS_OBJ_LIVE) {
		pthread_mutex_unlock(&st->lock);
		return pms_err(ENOENT, "pool %s: no object with this UUID",
			       ps->path);
	}
	PMS_ST(o->state, PMS_OBJ_FREEING);
	pthread_mutex_unlock(&st->lock);

	remote = o->slab->heap != me;
	/* the planted order: the owner may reuse the slot before the fence */
	early = PMS_PLANTED(REMOTE_EARLY) && remote && o->npages == 0;
	if (unpublish(ps, o, remote, me)) {
		/* msync failed: the free may or may not be durable */
		__atomic_store_n(&ps->broken, 1, __ATOMIC_RELEASE);
		PMS_ST(o->state, PMS_OBJ_LIVE);
		return -1;
	}
	count(me, -1, -(int64_t)o->size);
	/* unlinked before its slot goes: a lookup must not reach the slab */
	pthread_mutex_lock(&st->lock);
	pms_index_remove(st, o);
	pthread_mutex_unlock(&st->lock);
	if (!early)
		unreserve(ps, me, o);
	if (me)
		pms_heap_node_put(ps, me, o);
	return 0;
}

/*
 * lookup_at -- the UUID of the object whose bytes include data page p at
 * offset off, read from the descriptors and headers; 0 or -1
 */
static int
lookup_at(struct pmemstore *ps, uint64_t p, uint64_t off, uint8_t uuid[16],
	  uint64_t *start_page, unsigned *slot)
{
	uint64_t w0 = __atomic_load_n(&ps->desc[p].w0, __ATOMIC_ACQUIRE);
	uint64_t w1 = __atomic_load_n(&ps->desc[p].w1, __ATOMIC_ACQUIRE);

	switch (PMS_DESC_TYPE(w0)) {
	case PMS_DESC_SLAB: {
		unsigned cls = PMS_DESC_SLAB_CLASS(w0);
		const struct pms_class *c;
		unsigned i;

		if (cls == PMS_CLASS_RECORD || cls >= PMS_NCLASSES)
			return -1;
		c = &pms_classes[cls];
		if (off < c->data_off)
			return -1;
		i = (unsigned)((off - c->data_off) / c->size);
		if (i >= c->nslots || !(w1 & (1ULL << i)))
			return -1;
		ld_uuid(uuid, hdr_of(ps, p, i)->uuid);
		*start_page = p;
		*slot = i;
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
	case PMS_DESC_HEAD: {
		uint64_t rp = PMS_DESC_HEAD_RPAGE(w0);

		if (rp >= ps->npages)
			return -1;
		ld_uuid(uuid, rec_of(ps, rp, PMS_DESC_HEAD_RSLOT(w0))->uuid);
		*start_page = p;
		*slot = PMS_DESC_HEAD_RSLOT(w0);
		return 0;
	}
	default:
		return -1;
	}
}

/* snap -- a copy of the live entries of one stripe */
struct snap {
	struct snap_obj {
		uint64_t uuid[2];
		struct pms_objview v;
	} * v;
	size_t n, cap;
};

/* snap_add -- copy one entry if it is live; -1 when out of memory */
static int
snap_add(struct pms_obj *o, void *arg)
{
	struct snap *sn = arg;
	struct snap_obj *e;

	/* acquire: the fields below were published before LIVE */
	if (__atomic_load_n(&o->state, __ATOMIC_ACQUIRE) != PMS_OBJ_LIVE)
		return 0;
	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? sn->cap * 2 : 64;
		struct snap_obj *nv = realloc(sn->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		sn->v = nv;
		sn->cap = cap;
	}
	e = &sn->v[sn->n++];
	e->uuid[0] = PMS_LD(o->uuid[0]);
	e->uuid[1] = PMS_LD(o->uuid[1]);
	e->v.size = PMS_LD(o->size);
	e->v.page = PMS_LD(o->page);
	e->v.npages = PMS_LD(o->npages);
	e->v.slot = PMS_LD(o->slot);
	e->v.cls = PMS_LD(o->cls);
	e->v.state = PMS_OBJ_LIVE;
	return 0;
}

/* snap_restart -- a writer intervened: the copy starts over */
static void
snap_restart(void *arg)
{
	((struct snap *)arg)->n = 0;
}

/*
 * find_in_runs -- the large object whose bytes include a, by a walk of the
 * index: the fallback of a pool opened read-only after a crash, whose TAIL
 * descriptors recovery could not rewrite (ps->stale_runs)
 */
static int
find_in_runs(struct pmemstore *ps, const uint8_t *a, uint8_t uuid[16])
{
	struct snap sn = {0};
	int found = 0;

	for (unsigned s = 0; s < PMS_INDEX_STRIPES && !found; s++) {
		sn.n = 0;
		if (pms_index_snapshot(&ps->index.stripes[s], snap_add, &sn,
				       snap_restart))
			break; /* out of memory: not found */
		for (size_t i = 0; i < sn.n; i++) {
			const uint8_t *p = view_addr(ps, &sn.v[i].v);

			if (sn.v[i].v.npages == 0 || a < p ||
			    a >= p + sn.v[i].v.size)
				continue;
			memcpy(uuid, sn.v[i].uuid, 16);
			found = 1;
			break;
		}
	}
	free(sn.v);
	return found;
}

/*
 * persist_id_of -- public: the UUID of the object holding addr, found in
 * O(1) from the page's descriptor (like virt_to_page + compound_head) and
 * confirmed against the index
 */
int
persist_id_of(struct pmemstore *ps, const void *addr, uuid_t id)
{
	const uint8_t *a = addr;
	uint8_t uuid[16];
	uint64_t p, start;
	unsigned slot;
	struct pms_objview v;
	uint64_t hash;
	int found = 0;

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
	if (lookup_at(ps, p, (uint64_t)(a - ps->data) & (PMS_PAGE_SIZE - 1),
		      uuid, &start, &slot) == 0) {
		hash = pms_hash_uuid(uuid);
		if (pms_index_lookup(pms_index_stripe(&ps->index, hash), uuid,
				     hash, &v) &&
		    v.state != PMS_OBJ_PENDING && v.page == start &&
		    (v.npages || v.slot == slot)) {
			const uint8_t *b = view_addr(ps, &v);

			found = a >= b && a < b + v.size;
		}
	}
	if (!found && ps->stale_runs)
		found = find_in_runs(ps, a, uuid);
	if (!found)
		return pms_err(ENOENT, "pool %s: no object at address %p",
			       ps->path, addr);
	memcpy(id, uuid, 16);
	return 0;
}

/*
 * pmemstore_foreach -- public: call cb for every live object.  Each stripe
 * is copied without its lock (index.c), so cb may call into the pool.
 */
int
pmemstore_foreach(struct pmemstore *ps,
		  int (*cb)(const uuid_t id, void *ptr, size_t size, void *arg),
		  void *arg)
{
	struct snap sn = {0};

	if (ps == NULL || cb == NULL)
		return pms_err(EINVAL, "pool handle or callback is NULL");
	for (unsigned s = 0; s < PMS_INDEX_STRIPES; s++) {
		sn.n = 0;
		if (pms_index_snapshot(&ps->index.stripes[s], snap_add, &sn,
				       snap_restart)) {
			free(sn.v);
			return pms_err(ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < sn.n; i++) {
			uint8_t uuid[16];
			int ret;

			memcpy(uuid, sn.v[i].uuid, 16);
			ret = cb(uuid, view_addr(ps, &sn.v[i].v),
				 sn.v[i].v.size, arg);
			if (ret) {
				free(sn.v);
				return ret;
			}
		}
	}
	free(sn.v);
	return 0;
}
