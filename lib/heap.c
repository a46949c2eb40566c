/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * heap.c -- owns per-thread heaps: the volatile ownership of slab pages,
 * so that threads allocating and freeing small objects share no lock and
 * no cache line, in DRAM or on media.
 *
 * Each thread that allocates in a pool gets a heap (one per thread and
 * pool).  A heap owns slab pages, taken from the page allocator in aligned
 * groups of PMS_GROUP_PAGES pages whose four descriptors fill one cache
 * line: a publication's descriptor flush never touches a line another
 * heap's slab publishes into.  The owner reserves and returns slots under
 * its heap's lock, which no other thread takes on its fast path.
 *
 * A free by another thread than the owner is a remote free: once its own
 * commit is durable (object.c), the slot goes into the slab's rfree word
 * and, if that word was empty, the slab onto the owner's rlist, a
 * lock-free stack that the owner takes whole when it runs out of slots.
 * A slot therefore never reaches an allocator before its free is durable.
 *
 * A thread that exits abandons its heap: its free pages go back to the
 * page allocator, and the heap (with the slabs still holding objects)
 * waits for the next thread that needs one.  When the pool runs out of
 * pages, every heap gives back its free pages and, last, a thread may take
 * a slot from another heap's slab.  None of this is persistent: the
 * descriptors say which pages are slabs.  Open makes no slab: a page gets
 * one when a thread first frees in it or takes it as a candidate for its
 * class (the slab map, heap.h); after a crash, the page is checked then
 * (pms_obj_validate).  Heaps live until the pool is closed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"
#include "heap.h"
#include "device.h"
#include "media.h"
#include "vheap.h"
#include "slab.h"
#include "errors.h"
#include "object.h"
#include "flush.h"

/* ---- the registry of open pools, and each thread's heaps ---- */

/*
 * A thread finds its heap of a pool through a binding keyed by the pool's
 * unique id; at thread exit, a destructor abandons the heaps of the pools
 * still open (the registry says which, and a pin keeps a concurrent close
 * waiting until the abandonment is done).
 */
struct binding {
	uint64_t id;
	struct pms_heap *heap;
	struct binding *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pmemstore *reg_head;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static __thread uint64_t tls_id;
static __thread struct pms_heap *tls_heap;
static __thread struct binding *tls_list;

/* registered -- the open pool of this id, or NULL; reg_lock held */
static struct pmemstore *
registered(uint64_t id)
{
	for (struct pmemstore *p = reg_head; p; p = p->reg_next)
		if (p->id == id)
			return p;
	return NULL;
}

/* pms_heap_registry_add -- a pool is open: its heaps may be bound */
void
pms_heap_registry_add(struct pmemstore *ps)
{
	pthread_mutex_lock(&reg_lock);
	ps->reg_next = reg_head;
	reg_head = ps;
	ps->registered = 1;
	pthread_mutex_unlock(&reg_lock);
}

/*
 * pms_heap_registry_del -- a pool is closing: once unregistered, no thread
 * exit starts abandoning a heap of it; one that started holds a pin, and
 * the close waits for it
 */
void
pms_heap_registry_del(struct pmemstore *ps)
{
	struct timespec nap = {0, 100000};

	if (!ps->registered)
		return;
	pthread_mutex_lock(&reg_lock);
	for (struct pmemstore **p = &reg_head; *p; p = &(*p)->reg_next) {
		if (*p == ps) {
			*p = ps->reg_next;
			break;
		}
	}
	ps->registered = 0;
	pthread_mutex_unlock(&reg_lock);
	while (__atomic_load_n(&ps->pins, __ATOMIC_ACQUIRE))
		nanosleep(&nap, NULL);
}

static void heap_abandon(struct pmemstore *ps, struct pms_heap *h);

/*
 * thread_exit -- the key's destructor: abandon this thread's heaps.  The
 * registry lock is held only to pin a pool that is still open, never
 * across the abandonment (which takes the pool's own locks).
 */
static void
thread_exit(void *arg)
{
	struct binding *b = arg, *n;

	for (; b; b = n) {
		struct pmemstore *ps;

		n = b->next;
		pthread_mutex_lock(&reg_lock);
		ps = registered(b->id);
		if (ps)
			__atomic_fetch_add(&ps->pins, 1, __ATOMIC_ACQUIRE);
		pthread_mutex_unlock(&reg_lock);
		if (ps) {
			heap_abandon(ps, b->heap);
			__atomic_fetch_sub(&ps->pins, 1, __ATOMIC_RELEASE);
		}
		free(b);
	}
	tls_list = NULL;
	tls_id = 0;
	tls_heap = NULL;
}

/* exit_key_make -- once per process */
static void
exit_key_make(void)
{
	(void)pthread_key_create(&exit_key, thread_exit);
}

/* ---- lists ---- */

/* slab_list_add / slab_list_del -- a heap's partial list of a class */
static void
slab_list_add(struct pms_heap *h, struct pms_slab *s)
{
	struct pms_slab **head = &h->partial[s->cls];

	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
	s->listed = 1;
}

static void
slab_list_del(struct pms_heap *h, struct pms_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->partial[s->cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->listed = 0;
}

/* slab_all_add / slab_all_del -- a heap's list of every slab */
static void
slab_all_add(struct pms_heap *h, struct pms_slab *s)
{
	s->aprev = NULL;
	s->anext = h->all;
	if (h->all)
		h->all->aprev = s;
	h->all = s;
}

static void
slab_all_del(struct pms_heap *h, struct pms_slab *s)
{
	if (s->aprev)
		s->aprev->anext = s->anext;
	else
		h->all = s->anext;
	if (s->anext)
		s->anext->aprev = s->aprev;
}

/* group_link / group_unlink -- a heap's list of groups with free pages */
static void
group_link(struct pms_heap *h, struct pms_group *g)
{
	g->prev = NULL;
	g->next = h->groups;
	if (h->groups)
		h->groups->prev = g;
	h->groups = g;
	g->listed = 1;
}

static void
group_unlink(struct pms_heap *h, struct pms_group *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		h->groups = g->next;
	if (g->next)
		g->next->prev = g->prev;
	g->prev = g->next = NULL;
	g->listed = 0;
}

/* group_new -- a group of the heap holding the pages in mine */
static struct pms_group *
group_new(struct pms_heap *h, uint64_t first, unsigned mine)
{
	struct pms_group *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->first = first;
	g->mine = mine;
	g->anext = h->gall;
	if (h->gall)
		h->gall->aprev = g;
	h->gall = g;
	return g;
}

/* group_free -- a group that holds no page any more */
static void
group_free(struct pms_heap *h, struct pms_group *g)
{
	if (g->aprev)
		g->aprev->anext = g->anext;
	else
		h->gall = g->anext;
	if (g->anext)
		g->anext->aprev = g->aprev;
	free(g);
}

/* gfree_add -- change the count of free group pages (read by stats) */
static void
gfree_add(struct pms_heap *h, int64_t n)
{
	__atomic_store_n(&h->gfree, h->gfree + (uint64_t)n, __ATOMIC_RELAXED);
}

/*
 * group_give_back -- return a group's free pages to the page allocator;
 * the group is freed once it holds no page.  Heap locked.
 */
static void
group_give_back(struct pmemstore *ps, struct pms_heap *h, struct pms_group *g)
{
	unsigned f = g->free;

	while (f) {
		unsigned i = (unsigned)__builtin_ctz(f), j = i;

		while (j + 1 < PMS_GROUP_PAGES && (f >> (j + 1)) & 1)
			j++;
		pms_pages_free(ps, g->first + i, j - i + 1);
		f &= ~(((1U << (j - i + 1)) - 1) << i);
	}
	gfree_add(h, -(int64_t)__builtin_popcount(g->free));
	g->mine &= ~g->free;
	g->free = 0;
	if (g->listed)
		group_unlink(h, g);
	if (g->mine == 0)
		group_free(h, g);
}

/*
 * group_page_free -- a slab page of the heap is free again: it stays in
 * the group for the heap's next slab, unless the whole group is now free
 * (back to the page allocator, so that an emptied pool is a fresh one) or
 * nobody owns the heap
 */
static void
group_page_free(struct pmemstore *ps, struct pms_heap *h, struct pms_group *g,
		uint64_t page)
{
	g->free |= 1U << (page - g->first);
	gfree_add(h, 1);
	if (g->free == g->mine || h->abandoned)
		group_give_back(ps, h, g);
	else if (!g->listed)
		group_link(h, g);
}

/*
 * heap_page -- a free page for a new slab: from the heap's groups, else a
 * new aligned group, else (the pool nearly full) any single page.  Heap
 * locked; the page allocator's lock nests inside.
 */
static int
heap_page(struct pmemstore *ps, struct pms_heap *h, uint64_t *page,
	  struct pms_group **gp)
{
	struct pms_group *g = h->groups;
	uint64_t first;
	unsigned i;

	if (g == NULL) {
		unsigned mine;

		if (pms_pages_alloc(ps, PMS_GROUP_PAGES, PMS_GROUP_PAGES,
				    &first) == 0) {
			mine = (1U << PMS_GROUP_PAGES) - 1;
		} else if (pms_pages_alloc(ps, 1, 1, &first) == 0) {
			mine = 1U << (first % PMS_GROUP_PAGES);
			first -= first % PMS_GROUP_PAGES;
		} else {
			return -1;
		}
		g = group_new(h, first, mine);
		if (g == NULL) {
			unsigned f = mine;

			while (f) {
				i = (unsigned)__builtin_ctz(f);
				pms_pages_free(ps, first + i, 1);
				f &= f - 1;
			}
			return pms_err(ENOMEM, "out of memory");
		}
		g->free = mine;
		gfree_add(h, __builtin_popcount(mine));
		group_link(h, g);
	}
	i = (unsigned)__builtin_ctz(g->free);
	g->free &= ~(1U << i);
	gfree_add(h, -1);
	if (g->free == 0)
		group_unlink(h, g);
	*page = g->first + i;
	*gp = g;
	return 0;
}

/* ---- the run cache ---- */

/* runs_flush -- every cached run back to the page allocator; heap locked */
static void
runs_flush(struct pmemstore *ps, struct pms_heap *h)
{
	for (unsigned i = 0; i < h->nruns; i++)
		pms_pages_free(ps, h->runs[i].page, h->runs[i].npages);
	__atomic_store_n(&h->nruns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->rpages, 0, __ATOMIC_RELAXED);
}

/*
 * pms_heap_run_get -- a cached run of exactly npages pages for heap h's
 * thread: 0, or -1 when there is none
 */
int
pms_heap_run_get(struct pms_heap *h, uint64_t npages, uint64_t *page)
{
	int ret = -1;

	if (h == NULL || npages > PMS_RUN_CACHE_MAX ||
	    __atomic_load_n(&h->nruns, __ATOMIC_RELAXED) == 0)
		return -1;
	pthread_mutex_lock(&h->lock);
	for (unsigned i = h->nruns; i-- > 0;) {
		if (h->runs[i].npages != npages)
			continue;
		*page = h->runs[i].page;
		memmove(&h->runs[i], &h->runs[i + 1],
			(h->nruns - i - 1) * sizeof(h->runs[0]));
		__atomic_store_n(&h->nruns, h->nruns - 1, __ATOMIC_RELAXED);
		__atomic_store_n(&h->rpages, h->rpages - npages,
				 __ATOMIC_RELAXED);
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/*
 * pms_heap_run_put -- a run whose free is durable: into heap h's cache, if
 * it is small enough and the heap holds slabs (a heap with none would
 * never empty its cache), else back to the page allocator.  The cache's
 * oldest runs make room.
 */
void
pms_heap_run_put(struct pmemstore *ps, struct pms_heap *h, uint64_t page,
		 uint64_t npages)
{
	/* a run on a bad block is cleared or withheld, never cached */
	if (h == NULL || npages > PMS_RUN_CACHE_MAX ||
	    pms_pages_bad(ps, page, npages)) {
		pms_pages_free(ps, page, npages);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (h->all == NULL || h->abandoned) {
		pthread_mutex_unlock(&h->lock);
		pms_pages_free(ps, page, npages);
		return;
	}
	while (h->nruns == PMS_RUN_CACHE ||
	       (h->nruns && h->rpages + npages > PMS_RUN_CACHE_PAGES)) {
		pms_pages_free(ps, h->runs[0].page, h->runs[0].npages);
		__atomic_store_n(&h->rpages, h->rpages - h->runs[0].npages,
				 __ATOMIC_RELAXED);
		memmove(&h->runs[0], &h->runs[1],
			(h->nruns - 1) * sizeof(h->runs[0]));
		__atomic_store_n(&h->nruns, h->nruns - 1, __ATOMIC_RELAXED);
	}
	h->runs[h->nruns].page = page;
	h->runs[h->nruns].npages = npages;
	__atomic_store_n(&h->nruns, h->nruns + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&h->rpages, h->rpages + npages, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->lock);
}

/* ---- the slab map ---- */

/* zone -- the map zone of page p, made if make; NULL: out of memory */
static struct pms_slab **
zone(struct pmemstore *ps, uint64_t p, int make)
{
	struct pms_heaps *hs = &ps->heaps;
	uint64_t z = p / PMS_MAP_ZONE;
	struct pms_slab **m;

	if (hs->map == NULL || z >= hs->nzones)
		return NULL;
	m = __atomic_load_n(&hs->map[z], __ATOMIC_ACQUIRE);
	if (m || !make)
		return m;
	pthread_mutex_lock(&hs->map_lock);
	m = hs->map[z];
	if (m == NULL) {
		m = calloc(PMS_MAP_ZONE, sizeof(*m));
		__atomic_store_n(&hs->map[z], m, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&hs->map_lock);
	return m;
}

/* map_slot -- the map word of page p, whose zone exists */
static struct pms_slab **
map_slot(struct pmemstore *ps, uint64_t p)
{
	return &zone(ps, p, 0)[p % PMS_MAP_ZONE];
}

/*
 * pms_heaps_map -- the map's zone table, for ps->npages pages (before the
 * first slab is made)
 */
int
pms_heaps_map(struct pmemstore *ps)
{
	struct pms_heaps *hs = &ps->heaps;

	if (hs->map)
		return 0;
	hs->nzones = ps->npages / PMS_MAP_ZONE + 1;
	hs->map = calloc(hs->nzones, sizeof(*hs->map));
	return hs->map ? 0 : pms_err(ENOMEM, "out of memory");
}

/* ---- slabs ---- */

/* slab_new -- volatile state of a slab page of heap h */
static struct pms_slab *
slab_new(struct pms_heap *h, uint64_t page, unsigned cls, uint64_t avail,
	 struct pms_group *g)
{
	struct pms_slab *s = aligned_alloc(64, sizeof(*s));

	if (s == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->page = page;
	s->cls = cls;
	s->heap = h;
	s->group = g;
	s->avail = avail;
	s->navail = (unsigned)__builtin_popcountll(avail);
	if (pms_pages_bad(h->ps, page, 1)) {
		/* its free slots are dead: none is reserved again */
		s->bad = 1;
		s->dead = avail;
		s->avail = 0;
		s->navail = 0;
	}
	/* its zone exists: made by the caller (slab_make, adopt) */
	__atomic_store_n(map_slot(h->ps, page), s, __ATOMIC_RELEASE);
	slab_all_add(h, s);
	if (s->navail)
		slab_list_add(h, s);
	return s;
}

/*
 * bad_page_out -- an empty slab page on a bad block leaves its group (no
 * slab may take it again) for the page allocator, which clears or
 * withholds it (pms_device_free).  Heap locked.
 */
static void
bad_page_out(struct pmemstore *ps, struct pms_heap *h, struct pms_group *g,
	     uint64_t page)
{
	if (g) {
		g->mine &= ~(1U << (page - g->first));
		if (g->mine == 0) {
			if (g->listed)
				group_unlink(h, g);
			group_free(h, g);
		}
	}
	pms_pages_free(ps, page, 1);
}

/*
 * slab_drop -- an empty slab page becomes a free page of its group.  Its
 * descriptor stays "slab, no bit set", which open reads as a free page.
 */
static void
slab_drop(struct pmemstore *ps, struct pms_heap *h, struct pms_slab *s)
{
	if (s->listed)
		slab_list_del(h, s);
	slab_all_del(h, s);
	/* not NULL: "made since open", so never taken in again as found */
	__atomic_store_n(map_slot(ps, s->page), PMS_MAP_GONE, __ATOMIC_RELEASE);
	if (s->bad)
		bad_page_out(ps, h, s->group, s->page);
	else
		group_page_free(ps, h, s->group, s->page);
	free(s);
	if (h->all == NULL && h->nruns)
		runs_flush(ps, h); /* nothing left here: as if fresh */
}

/* slab_add_slots -- slots become reservable again; heap locked */
static void
slab_add_slots(struct pmemstore *ps, struct pms_heap *h, struct pms_slab *s,
	       uint64_t bits)
{
	if (s->bad) {
		/* a bad slab page hands out nothing; it goes when empty */
		s->dead |= bits;
		if (s->dead == pms_slab_full_mask(s->cls))
			slab_drop(ps, h, s);
		return;
	}
	s->avail |= bits;
	s->navail += (unsigned)__builtin_popcountll(bits);
	if (s->navail == pms_classes[s->cls].nslots)
		slab_drop(ps, h, s);
	else if (!s->listed && s->navail)
		slab_list_add(h, s);
}

/*
 * collect -- take the heap's remote list whole and make its slots
 * reservable.  The next pointer is read before the slab's rfree word is
 * cleared: from then on a remote free may push the slab again.
 */
static void
collect(struct pmemstore *ps, struct pms_heap *h)
{
	struct pms_slab *s =
		__atomic_exchange_n(&h->rlist, NULL, __ATOMIC_ACQUIRE);

	while (s) {
		struct pms_slab *next =
			__atomic_load_n(&s->rnext, __ATOMIC_RELAXED);
		uint64_t bits =
			__atomic_exchange_n(&s->rfree, 0, __ATOMIC_ACQ_REL);

		slab_add_slots(ps, h, s, bits);
		s = next;
	}
}

/*
 * slab_make -- a new slab of class cls in the heap: a page, its stale
 * checks scrubbed, its descriptor set to an empty slab of the class
 * (w1 = 0, then w0).  Those stores need no flush of their own: a crash
 * that keeps them without a published slot leaves an empty slab page,
 * which open treats as free, and every publication flushes the descriptor
 * line with them.
 */
static struct pms_slab *
slab_make(struct pmemstore *ps, struct pms_heap *h, unsigned cls)
{
	struct pms_group *g = NULL;
	struct pms_slab *s;
	uint64_t page = 0;

	if (heap_page(ps, h, &page, &g))
		return NULL;
	if (zone(ps, page, 1) == NULL) {
		group_page_free(ps, h, g, page);
		pms_err(ENOMEM, "out of memory");
		return NULL;
	}
	if (pms_slab_scrub(ps, page, cls)) {
		group_page_free(ps, h, g, page);
		return NULL;
	}
	s = slab_new(h, page, cls, pms_slab_full_mask(cls), g);
	if (s == NULL) {
		group_page_free(ps, h, g, page);
		pms_err(ENOMEM, "out of memory");
		return NULL;
	}
	__atomic_store_n(&ps->desc[page].w1, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ps->desc[page].w0, PMS_DESC_SLAB_W0(cls),
			 __ATOMIC_RELEASE);
	return s;
}

/* take_slot -- reserve the lowest free slot of a slab; heap locked */
static unsigned
take_slot(struct pms_heap *h, struct pms_slab *s)
{
	unsigned i = (unsigned)__builtin_ctzll(s->avail);

	s->avail &= ~(1ULL << i);
	if (--s->navail == 0)
		slab_list_del(h, s);
	return i;
}

static struct pms_slab *cand_take(struct pmemstore *ps, struct pms_heap *h,
				  unsigned cls);

/*
 * reserve_locked -- a slot of class cls in heap h: a partial slab, else
 * the slots other threads gave back, else (grow) a new slab page
 */
static struct pms_slab *
reserve_locked(struct pmemstore *ps, struct pms_heap *h, unsigned cls, int grow,
	       unsigned *slot)
{
	struct pms_slab *s = h->partial[cls];

	if (s == NULL && __atomic_load_n(&h->rlist, __ATOMIC_RELAXED)) {
		collect(ps, h);
		s = h->partial[cls];
	}
	if (s == NULL && grow) {
		errno = 0;
		s = cand_take(ps, h, cls);
		if (s == NULL && errno != ENOMEM)
			s = slab_make(ps, h, cls);
	}
	if (s)
		*slot = take_slot(h, s);
	return s;
}

/*
 * pms_heap_reserve -- reserve a free slot of class cls for heap h's
 * thread.  Out of pages: every heap gives back its free pages, and then,
 * last, a slot may come from another heap's slab (it stays that heap's).
 */
int
pms_heap_reserve(struct pmemstore *ps, struct pms_heap *h, unsigned cls,
		 struct pms_slab **slab, unsigned *slot)
{
	struct pms_slab *s;
	int err;

	pthread_mutex_lock(&h->lock);
	s = reserve_locked(ps, h, cls, 1, slot);
	pthread_mutex_unlock(&h->lock);
	if (s) {
		*slab = s;
		return 0;
	}
	/* ENOSPC: the file system is full, but pages given back are backed */
	err = errno;
	if (err != ENOMEM && err != ENOSPC)
		return -1;
	pms_heap_reclaim(ps);
	pthread_mutex_lock(&h->lock);
	s = reserve_locked(ps, h, cls, 1, slot);
	pthread_mutex_unlock(&h->lock);
	err = errno;
	if (s == NULL && (err == ENOMEM || err == ENOSPC)) {
		pthread_mutex_lock(&ps->heaps.lock);
		for (struct pms_heap *x = ps->heaps.all; x && !s; x = x->next) {
			if (x == h)
				continue;
			pthread_mutex_lock(&x->lock);
			s = reserve_locked(ps, x, cls, 0, slot);
			pthread_mutex_unlock(&x->lock);
		}
		pthread_mutex_unlock(&ps->heaps.lock);
		errno = err; /* the message is the page allocator's */
	}
	if (s == NULL)
		return -1;
	*slab = s;
	return 0;
}

/*
 * pms_heap_release -- make a slot reservable again, after its free is
 * durable or after an allocation that was never published.  me is the
 * calling thread's heap: its own slabs are released under its lock;
 * another heap's slot goes onto that heap's remote list, unless no thread
 * owns that heap (then it is released under its lock, so that the pages
 * of exited threads come back at once).
 */
void
pms_heap_release(struct pms_heap *me, struct pms_slab *s, unsigned slot)
{
	struct pms_heap *h = s->heap;

	if (h != me && !__atomic_load_n(&h->abandoned, __ATOMIC_ACQUIRE)) {
		uint64_t old = __atomic_fetch_or(&s->rfree, 1ULL << slot,
						 __ATOMIC_RELEASE);

		if (old == 0) {
			struct pms_slab *head =
				__atomic_load_n(&h->rlist, __ATOMIC_RELAXED);

			do {
				__atomic_store_n(&s->rnext, head,
						 __ATOMIC_RELAXED);
			} while (!__atomic_compare_exchange_n(
				&h->rlist, &head, s, 1, __ATOMIC_RELEASE,
				__ATOMIC_RELAXED));
			/* the owner may have exited meanwhile: take it in */
			if (__atomic_load_n(&h->abandoned, __ATOMIC_ACQUIRE)) {
				pthread_mutex_lock(&h->lock);
				collect(h->ps, h);
				pthread_mutex_unlock(&h->lock);
			}
		}
		return;
	}
	pthread_mutex_lock(&h->lock);
	slab_add_slots(h->ps, h, s, 1ULL << slot);
	pthread_mutex_unlock(&h->lock);
}

/*
 * pms_heap_reclaim -- every heap takes in its remote frees and gives its
 * free pages and cached runs back to the page allocator (the pool is out
 * of pages).  Heap
 * locks are taken one at a time, never with the page lock held.
 */
int
pms_heap_reclaim(struct pmemstore *ps)
{
	pms_vheap_purge(ps); /* the volatile heap's unused pages first */
	(void)pms_heap_settle(ps, 0); /* after a crash: what open left */
	pthread_mutex_lock(&ps->heaps.lock);
	for (struct pms_heap *h = ps->heaps.all; h; h = h->next) {
		pthread_mutex_lock(&h->lock);
		collect(ps, h);
		runs_flush(ps, h);
		while (h->groups)
			group_give_back(ps, h, h->groups);
		pthread_mutex_unlock(&h->lock);
	}
	pthread_mutex_unlock(&ps->heaps.lock);
	return 0;
}

/* ---- heaps ---- */

/* heap_new -- an empty heap of ps, on the pool's list */
static struct pms_heap *
heap_new(struct pmemstore *ps)
{
	struct pms_heap *h = aligned_alloc(64, sizeof(*h));

	if (h == NULL)
		return NULL;
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->ps = ps;
	h->next = ps->heaps.all;
	ps->heaps.all = h;
	return h;
}

/*
 * heap_abandon -- the heap's thread exits: remote frees taken in, free
 * pages given back; the heap keeps its slabs (objects live there) and
 * waits for another thread
 */
static void
heap_abandon(struct pmemstore *ps, struct pms_heap *h)
{
	pthread_mutex_lock(&h->lock);
	__atomic_store_n(&h->abandoned, 1, __ATOMIC_RELEASE);
	collect(ps, h);
	runs_flush(ps, h);
	while (h->groups)
		group_give_back(ps, h, h->groups);
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_lock(&ps->heaps.lock);
	h->anext = ps->heaps.spare;
	ps->heaps.spare = h;
	pthread_mutex_unlock(&ps->heaps.lock);
}

/* heap_acquire -- a heap for a thread: an abandoned one, or a new one */
static struct pms_heap *
heap_acquire(struct pmemstore *ps)
{
	struct pms_heap *h;

	pthread_mutex_lock(&ps->heaps.lock);
	h = ps->heaps.spare;
	if (h)
		ps->heaps.spare = h->anext;
	else
		h = heap_new(ps);
	pthread_mutex_unlock(&ps->heaps.lock);
	if (h) {
		pthread_mutex_lock(&h->lock);
		__atomic_store_n(&h->abandoned, 0, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&h->lock);
	}
	return h;
}

/* prune -- drop this thread's bindings to pools that were closed */
static void
prune(void)
{
	struct binding **p = &tls_list;

	pthread_mutex_lock(&reg_lock);
	while (*p) {
		if (registered((*p)->id)) {
			p = &(*p)->next;
		} else {
			struct binding *b = *p;

			*p = b->next;
			free(b);
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

/*
 * pms_heap_mine -- the calling thread's heap of ps, made on first use.
 * The last one used is a thread-local pair, so the fast path is one
 * comparison.
 */
struct pms_heap *
pms_heap_mine(struct pmemstore *ps)
{
	struct binding *b;

	if (tls_id == ps->id)
		return tls_heap;
	for (b = tls_list; b; b = b->next)
		if (b->id == ps->id)
			break;
	if (b == NULL) {
		(void)pthread_once(&exit_once, exit_key_make);
		prune();
		/* prune may have freed the list head the key pointed at */
		(void)pthread_setspecific(exit_key, tls_list);
		b = malloc(sizeof(*b));
		if (b == NULL) {
			pms_err(ENOMEM, "out of memory");
			return NULL;
		}
		b->heap = heap_acquire(ps);
		if (b->heap == NULL) {
			free(b);
			pms_err(ENOMEM, "out of memory");
			return NULL;
		}
		b->id = ps->id;
		b->next = tls_list;
		tls_list = b;
		(void)pthread_setspecific(exit_key, tls_list);
	}
	tls_id = b->id;
	tls_heap = b->heap;
	return b->heap;
}

/*
 * validate -- pms_obj_validate under the SIGBUS guard: a fault leaves at
 * most unfenced zeroings of dead checks (what a crash leaves too)
 */
static int
validate(struct pmemstore *ps, uint64_t p, unsigned cls, uint64_t *live,
	 uint64_t *unknown, struct pms_obj_run *runs, unsigned *nruns)
{
	struct pms_guard g;
	int r;

	pms_guard_push(&g, ps->base, ps->map_len);
	if (sigsetjmp(g.env, 0))
		return pms_guard_failed(&g, ps->path, ps->base,
					"checking a slab page after a crash");
	r = pms_obj_validate(ps, p, cls, live, unknown, runs, nruns);
	pms_guard_pop(&g);
	return r;
}

/*
 * adopt -- make the slab of page p, which open found and which *m (its map
 * word) this thread set to PMS_MAP_ADOPTING, in heap h (locked if locked):
 * after a crash the page is checked first (pms_obj_validate), its dead
 * records' runs freed.  NULL: the page is no slab (the map word goes back
 * to NULL), or out of memory (errno ENOMEM; the word goes back to prev).
 */
static struct pms_slab *
adopt(struct pmemstore *ps, struct pms_heap *h, int locked, uint64_t p,
      struct pms_slab **m, struct pms_slab *prev)
{
	uint64_t w0 = __atomic_load_n(&ps->desc[p].w0, __ATOMIC_ACQUIRE);
	unsigned cls = PMS_DESC_SLAB_CLASS(w0), nruns = 0;
	uint64_t live = __atomic_load_n(&ps->desc[p].w1, __ATOMIC_ACQUIRE);
	uint64_t unknown = 0;
	struct pms_obj_run runs[PMS_SLOTS_MAX];
	struct pms_group *g;
	struct pms_slab *s = NULL;

	if (PMS_DESC_TYPE(w0) != PMS_DESC_SLAB || cls >= PMS_NCLASSES ||
	    w0 != PMS_DESC_SLAB_W0(cls)) {
		__atomic_store_n(m, NULL, __ATOMIC_RELEASE);
		pms_err(EIO, "pool %s: page %llu is no slab", ps->path,
			(unsigned long long)p);
		return NULL;
	}
	/*
	 * After a crash a slab page may have been emptied, given to the
	 * volatile heap and punched, its descriptor's change lost: blocks
	 * under it before the check reads it (a load from a tmpfs hole
	 * allocates) or a slot is written (ENOSPC, never SIGBUS).  Slots
	 * whose header is on a bad block are not read: unknown, they are
	 * taken as live (never handed out, never counted dead).
	 */
	if (ps->dirty && !ps->rdonly &&
	    (pms_pool_reserve_exact(ps, p, 1) ||
	     validate(ps, p, cls, &live, &unknown, runs, &nruns))) {
		__atomic_store_n(m, prev, __ATOMIC_RELEASE);
		return NULL;
	}
	for (unsigned i = 0; i < nruns; i++)
		pms_pages_free(ps, runs[i].page, runs[i].npages);
	live = (live | unknown) & pms_slab_full_mask(cls);
	if (!locked)
		pthread_mutex_lock(&h->lock);
	g = group_new(h, p - p % PMS_GROUP_PAGES, 1U << (p % PMS_GROUP_PAGES));
	if (g) {
		s = slab_new(h, p, cls, pms_slab_full_mask(cls) & ~live, g);
		if (s == NULL)
			group_free(h, g);
	}
	if (!locked)
		pthread_mutex_unlock(&h->lock);
	if (s == NULL) {
		__atomic_store_n(m, prev, __ATOMIC_RELEASE);
		pms_err(ENOMEM, "out of memory");
	}
	return s;
}

/* pms_heap_slab_peek -- the slab of page p if it has one made, or NULL */
struct pms_slab *
pms_heap_slab_peek(struct pmemstore *ps, uint64_t p)
{
	struct pms_slab **z = zone(ps, p, 0), *s;

	if (z == NULL)
		return NULL;
	s = __atomic_load_n(&z[p % PMS_MAP_ZONE], __ATOMIC_ACQUIRE);
	return PMS_MAP_SLAB(s) ? s : NULL;
}

/*
 * pms_heap_slab_of -- the slab of page p, which holds a live object: made
 * in the caller's heap (heap0 when it has none) if no thread used the
 * page since open.  The free calls this before it changes the page, so the
 * bitmap a new slab starts from has no free in flight there (a free in
 * flight on a page checked after a crash is seen by its claim).
 */
struct pms_slab *
pms_heap_slab_of(struct pmemstore *ps, struct pms_heap *me, uint64_t p)
{
	struct pms_slab **z = zone(ps, p, 1), **m, *s;

	if (z == NULL) {
		pms_err(ENOMEM, "out of memory");
		return NULL;
	}
	m = &z[p % PMS_MAP_ZONE];
	for (;;) {
		s = __atomic_load_n(m, __ATOMIC_ACQUIRE);
		if (s == PMS_MAP_ADOPTING) {
			sched_yield();
			continue;
		}
		if (PMS_MAP_SLAB(s))
			return s;
		if (s == PMS_MAP_GONE) {
			/* a live object on a page whose slab emptied */
			pms_err(EIO,
				"pool %s: page %llu holds an object but its "
				"slab "
				"was emptied; run pmemstore_check",
				ps->path, (unsigned long long)p);
			return NULL;
		}
		if (__atomic_compare_exchange_n(m, &s, PMS_MAP_ADOPTING, 0,
						__ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return adopt(ps, me ? me : ps->heaps.heap0, 0, p, m, s);
	}
}

/*
 * pms_heap_candidate -- open found slab page p of class cls with free
 * slots (or, after a crash, any slab page that is not full: its bitmap is
 * a hint): a heap that needs a slab of the class takes it before a new
 * page.  Open only (single-threaded).
 */
int
pms_heap_candidate(struct pmemstore *ps, uint64_t page, unsigned cls)
{
	struct pms_cands *c = &ps->heaps.cands[cls];
	struct pms_slab **z = zone(ps, page, 1);

	if (z == NULL)
		return pms_err(ENOMEM, "pool %s: out of memory", ps->path);
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		uint64_t *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL)
			return pms_err(ENOMEM, "pool %s: out of memory",
				       ps->path);
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = page;
	z[page % PMS_MAP_ZONE] = PMS_MAP_CANDIDATE;
	return 0;
}

/* pms_heap_cands_reset -- forget every candidate (open reads again) */
void
pms_heap_cands_reset(struct pmemstore *ps)
{
	for (unsigned c = 0; c < PMS_NCLASSES; c++)
		ps->heaps.cands[c].n = 0;
	for (uint64_t z = 0; z < ps->heaps.nzones; z++)
		if (ps->heaps.map[z])
			memset(ps->heaps.map[z], 0,
			       PMS_MAP_ZONE * sizeof(*ps->heaps.map[z]));
}

/*
 * cand_take -- a slab of class cls with a free slot for heap h (locked),
 * from the pages open left for the class; NULL when none is left
 */
static struct pms_slab *
cand_take(struct pmemstore *ps, struct pms_heap *h, unsigned cls)
{
	struct pms_cands *c = &ps->heaps.cands[cls];

	for (;;) {
		struct pms_slab **m, *s = PMS_MAP_CANDIDATE;
		uint64_t p;

		if (__atomic_load_n(&c->n, __ATOMIC_RELAXED) == 0)
			return NULL;
		pthread_mutex_lock(&ps->heaps.map_lock);
		if (c->n == 0) {
			pthread_mutex_unlock(&ps->heaps.map_lock);
			return NULL;
		}
		/* atomic: the emptiness test above reads it without the lock */
		__atomic_store_n(&c->n, c->n - 1, __ATOMIC_RELAXED);
		p = c->v[c->n];
		pthread_mutex_unlock(&ps->heaps.map_lock);
		m = map_slot(ps, p);
		if (!__atomic_compare_exchange_n(m, &s, PMS_MAP_ADOPTING, 0,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue; /* a free took it meanwhile */
		s = adopt(ps, h, 1, p, m, PMS_MAP_CANDIDATE);
		if (s == NULL && errno == ENOMEM)
			return NULL;
		if (s && s->navail)
			return s;
		if (s && s->navail == 0)
			continue; /* full after all: it stays this heap's */
	}
}

/*
 * run_settle -- at a close after a crash: the run whose HEAD is at page p
 * goes if no live object owns it (an allocation or free a crash cut short
 * left its HEAD): HEAD and TAILs zeroed, flushed, one fence (its pages
 * are free for the next open, which reads them so)
 */
static int
run_settle(struct pmemstore *ps, uint64_t p)
{
	uint64_t n = ps->desc[p].w1, hwm = ps->pages.hwm;
	int r = pms_obj_run_dead(ps, p);

	if (r <= 0)
		return r;
	if (n == 0 || n > hwm - p)
		n = 1;
	for (uint64_t q = p; q < p + n; q++) {
		if (q > p && ps->desc[q].w0 != PMS_DESC_TAIL_W0(q - p))
			break;
		__atomic_store_n(&ps->desc[q].w0, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&ps->desc[q].w1, 0, __ATOMIC_RELAXED);
	}
	if (pms_flush(ps, &ps->desc[p], n * sizeof(struct pms_desc)))
		return -1;
	pms_drain(ps); /* the dead run is gone before the clean record */
	return 0;
}

/*
 * pms_heap_settle -- after a crash: every slab page no thread used since
 * open is checked (pms_obj_validate) and taken into heap0, so that its
 * free slots, empty pages and dead records' runs are usable again and its
 * bitmap exact (the pool out of pages; a clean close after a crash).
 * Closing (nothing runs concurrently), also every run whose object is
 * dead.  O(slab pages not yet used + their objects + large objects).
 */
int
pms_heap_settle(struct pmemstore *ps, int closing)
{
	uint64_t hwm = __atomic_load_n(&ps->pages.hwm, __ATOMIC_ACQUIRE);
	struct pms_heap *h0 = ps->heaps.heap0;

	if (!ps->dirty || ps->rdonly)
		return 0;
	for (uint64_t p = 0; p < hwm; p++) {
		uint64_t w0 =
			__atomic_load_n(&ps->desc[p].w0, __ATOMIC_ACQUIRE);
		struct pms_slab **z, **m, *s;

		if (closing && PMS_DESC_TYPE(w0) == PMS_DESC_HEAD &&
		    PMS_DESC_HEAD_RPAGE(w0) < hwm) {
			if (run_settle(ps, p))
				return -1;
			continue;
		}
		if (PMS_DESC_TYPE(w0) != PMS_DESC_SLAB)
			continue;
		z = zone(ps, p, 1);
		if (z == NULL)
			return pms_err(ENOMEM, "out of memory");
		m = &z[p % PMS_MAP_ZONE];
		s = __atomic_load_n(m, __ATOMIC_ACQUIRE);
		if (s != NULL && s != PMS_MAP_CANDIDATE)
			continue; /* a slab (checked when made), or was one */
		/* a full page open did not list: its bitmap may still lie */
		if (!__atomic_compare_exchange_n(m, &s, PMS_MAP_ADOPTING, 0,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		pthread_mutex_lock(&h0->lock);
		s = adopt(ps, h0, 1, p, m, s);
		if (s && s->navail == pms_classes[s->cls].nslots)
			slab_drop(ps, h0, s); /* empty: a free page */
		pthread_mutex_unlock(&h0->lock);
		if (s == NULL && errno == ENOMEM)
			return -1;
	}
	return 0;
}

/* ---- the pool's heaps ---- */

/* pms_heaps_init -- no heaps but heap0, abandoned until a thread comes */
int
pms_heaps_init(struct pmemstore *ps)
{
	pthread_mutex_init(&ps->heaps.lock, NULL);
	pthread_mutex_init(&ps->heaps.map_lock, NULL);
	ps->heaps.heap0 = heap_new(ps);
	if (ps->heaps.heap0 == NULL)
		return -1;
	ps->heaps.heap0->abandoned = 1;
	ps->heaps.spare = ps->heaps.heap0;
	return 0;
}

/*
 * pms_heap_sums -- free group pages and object counts over all heaps;
 * remote frees are taken in first, so that empty slabs are free pages
 */
void
pms_heap_sums(struct pmemstore *ps, uint64_t *gfree, int64_t *objects,
	      int64_t *bytes)
{
	*gfree = 0;
	*objects = 0;
	*bytes = 0;
	pthread_mutex_lock(&ps->heaps.lock);
	for (struct pms_heap *h = ps->heaps.all; h; h = h->next) {
		pthread_mutex_lock(&h->lock);
		collect(ps, h);
		*gfree += h->gfree + h->rpages;
		pthread_mutex_unlock(&h->lock);
		*objects += __atomic_load_n(&h->objects, __ATOMIC_RELAXED);
		*bytes += __atomic_load_n(&h->bytes, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&ps->heaps.lock);
}

/* pms_heaps_fini -- free every heap, slab, group and the map */
void
pms_heaps_fini(struct pmemstore *ps)
{
	struct pms_heap *h, *hn;

	for (h = ps->heaps.all; h; h = hn) {
		struct pms_slab *s, *sn;
		struct pms_group *g, *gn;

		hn = h->next;
		for (s = h->all; s; s = sn) {
			sn = s->anext;
			free(s);
		}
		for (g = h->gall; g; g = gn) {
			gn = g->anext;
			free(g);
		}
		pthread_mutex_destroy(&h->lock);
		free(h);
	}
	ps->heaps.all = NULL;
	for (uint64_t z = 0; ps->heaps.map && z < ps->heaps.nzones; z++)
		free(ps->heaps.map[z]);
	free(ps->heaps.map);
	ps->heaps.map = NULL;
	for (unsigned c = 0; c < PMS_NCLASSES; c++)
		free(ps->heaps.cands[c].v);
	pthread_mutex_destroy(&ps->heaps.lock);
	pthread_mutex_destroy(&ps->heaps.map_lock);
}
