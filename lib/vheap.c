/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vheap.c -- owns the volatile heap: pmemstore_malloc and friends.
 *
 * Each pool has jemalloc arenas of its own (arenas.create with the extent
 * hooks below), made as threads first ask, up to one per CPU; each thread
 * has an explicit jemalloc tcache per pool, kept in its pms_heap (so a
 * heap a thread left behind passes it on with the heap).  The hooks take
 * runs of free pages from the page allocator (pms_pages_valloc: from the
 * top, the high-water mark untouched) and give them back when jemalloc
 * purges them (pms_pages_discard: a hole in the file, then free pages).
 *
 * Crash safety without fences.  A page's descriptor says VOLATILE while
 * the heap holds it and FREE once it gave it back; neither store is
 * flushed.  An open takes both as free (recover.c), and the mark never
 * covers a page on account of the heap, so whichever of these stores
 * reach the media, a crash or a restart finds every volatile page free:
 * nothing leaks, and no page is volatile and persistent at once (a page
 * is in one owner's hands in DRAM; on media a persistent owner's own
 * commit protocol writes the descriptor after the heap's last store to
 * it, in the same cache line order).  Blocks never touch the media's
 * persistent structures, so a malloc or free is 0 flushes and 0 fences.
 *
 * In front of jemalloc, each heap keeps the blocks its thread freed, per
 * size class up to VC_MAX bytes (its bins, LIFO): a malloc pops one, a
 * free pushes one; an empty bin takes VC_BATCH blocks from jemalloc, and
 * a heap holding more than its budget of cached bytes (1/128 of the pool,
 * at most 16 MiB) gives the oldest half of a bin back.  jemalloc's
 * mallocx/dallocx with an explicit arena and tcache take its general
 * path (well over its malloc's fast path); the bins keep the common case
 * to a table lookup and a pointer move.  A pool that runs out of pages
 * asks every heap to empty its bins (vdrain): the calling thread's at
 * once (its tcache flushed too), the others' at their next call, and
 * those of exited threads (spares_drain) at once.
 *
 * jemalloc keeps each arena's first metadata block (2 MiB, asked for
 * while the arena is made) in DRAM, mapped here; later metadata comes
 * from the pool like any extent.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <jemalloc/jemalloc.h>

#include "pool.h"
#include "errors.h"
#include "vheap.h"

#define VARENAS_MAX 64
#define VC_MAX 2048		/* the largest size the bins serve */
#define VC_CLASSES 48		/* bins: jemalloc's classes up to VC_MAX */
#define VC_BATCH 16		/* blocks a refill takes */
#define VC_BUDGET (16ULL << 20) /* cached bytes a heap may hold, at most */

/* pms_vbin -- a heap's cached free blocks of one size class (DRAM) */
struct pms_vbin {
	unsigned n, cap;
	void **v;
};

/* jemalloc's size classes up to VC_MAX (fixed per build of it) */
static uint8_t Vc_of[VC_MAX / 8 + 1]; /* class of sizes (i - 1) * 8 + 1 .. */
static size_t Vc_size[VC_CLASSES];    /* the usable size of a class */
static pthread_once_t Vc_once = PTHREAD_ONCE_INIT;
static int Vc_ok; /* the table was made (else: no bins) */

/* vc_init -- the table, from nallocx, once per process */
static void
vc_init(void)
{
	size_t last = 0;
	unsigned c = 0;

	for (size_t i = 1; i <= VC_MAX / 8; i++) {
		size_t u = nallocx(i * 8, 0);

		if (u != last) {
			if (c == VC_CLASSES || u < i * 8 || u > VC_MAX)
				return; /* not jemalloc as expected: no bins */
			Vc_size[c++] = u;
			last = u;
		}
		Vc_of[i] = (uint8_t)(c - 1);
	}
	Vc_of[0] = 0; /* size 0 is served as 1 */
	Vc_ok = 1;
}

struct pms_vheap {
	extent_hooks_t hooks; /* first: jemalloc passes &hooks back */
	struct pmemstore *ps;
	unsigned cap;		     /* arenas to make at most */
	unsigned narenas;	     /* made (under ps->vh_lock) */
	unsigned next;		     /* the next heap's arena, round robin */
	unsigned arena[VARENAS_MAX]; /* jemalloc arena indices */
	uint64_t pages;		     /* pages the arenas hold (atomic) */
};

/* the heap whose arena this thread is making: its metadata goes to DRAM */
static __thread struct pms_vheap *Making;

/* why this thread's last extent hook failed: ENOSPC, EDQUOT, else 0 */
static __thread int Hook_err;

static void drain_all(struct pms_heap *me);

/* in_pool -- does [p, p + len) lie in the pool's data pages? */
static int
in_pool(const struct pmemstore *ps, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)ps->data;
	uintptr_t hi = lo + (ps->npages << PMS_PAGE_SHIFT);

	return a >= lo && a < hi && len <= hi - a;
}

/* page_of -- the data page holding address p (in_pool) */
static uint64_t
page_of(const struct pmemstore *ps, const void *p)
{
	return ((uintptr_t)p - (uintptr_t)ps->data) >> PMS_PAGE_SHIFT;
}

/*
 * mark_free -- descriptors of pages [p, p + n), which the heap gives
 * back, say FREE.  Not flushed: to an open VOLATILE means free too (see
 * the banner).
 */
static void
mark_free(struct pmemstore *ps, uint64_t p, uint64_t n)
{
	for (uint64_t i = p; i < p + n; i++) {
		__atomic_store_n(&ps->desc[i].w0, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&ps->desc[i].w1, 0, __ATOMIC_RELAXED);
	}
}

/* dram_block -- an arena's first metadata block, from anonymous memory */
static void *
dram_block(size_t size, size_t align, bool *zero, bool *commit)
{
	size_t len;
	uint8_t *m, *a;

	if (align < PMS_PAGE_SIZE)
		align = PMS_PAGE_SIZE;
	len = size + align;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
	if (a > m)
		munmap(m, (size_t)(a - m));
	if (m + len > a + size)
		munmap(a + size, (size_t)(m + len - (a + size)));
	*zero = true;
	*commit = true;
	return a;
}

/*
 * h_alloc -- extent hook: size bytes of pages, aligned, at new_addr if
 * given (jemalloc growing a block in place).  NULL when no run fits.
 */
static void *
h_alloc(extent_hooks_t *eh, void *new_addr, size_t size, size_t alignment,
	bool *zero, bool *commit, unsigned ai)
{
	struct pms_vheap *vh = (struct pms_vheap *)eh;
	struct pmemstore *ps = vh->ps;
	uint64_t n, align, phase, want = UINT64_MAX, p;
	uint8_t *a;

	(void)ai;
	if (Making == vh && new_addr == NULL)
		return dram_block(size, alignment, zero, commit);
	if (size == 0 || size % PMS_PAGE_SIZE || (alignment & (alignment - 1)))
		return NULL;
	n = size >> PMS_PAGE_SHIFT;
	align = alignment > PMS_PAGE_SIZE ? alignment >> PMS_PAGE_SHIFT : 1;
	phase = ((uintptr_t)ps->data >> PMS_PAGE_SHIFT) & (align - 1);
	if (new_addr != NULL) {
		if (!in_pool(ps, new_addr, size) ||
		    ((uintptr_t)new_addr & (alignment - 1)) ||
		    ((uintptr_t)new_addr & (PMS_PAGE_SIZE - 1)))
			return NULL;
		want = page_of(ps, new_addr);
	}
	if (pms_pages_valloc(ps, n, align, phase, want, &p)) {
		if (errno != ENOMEM && want == UINT64_MAX)
			Hook_err = errno; /* the message is the hook's */
		return NULL;
	}
	/* the descriptors say VOLATILE already (pms_pages_valloc) */
	__atomic_add_fetch(&vh->pages, n, __ATOMIC_RELAXED);
	a = pms_page_addr(ps, p);
	if (*zero)
		memset(a, 0, size);
	*commit = true;
	return a;
}

/* give_back -- extent hook body of dalloc and destroy */
static void
give_back(struct pms_vheap *vh, void *addr, size_t size)
{
	struct pmemstore *ps = vh->ps;
	uint64_t p, n = size >> PMS_PAGE_SHIFT;

	if (!in_pool(ps, addr, size)) {
		munmap(addr, size); /* a metadata block of dram_block */
		return;
	}
	p = page_of(ps, addr);
	mark_free(ps, p, n);
	__atomic_sub_fetch(&vh->pages, n, __ATOMIC_RELAXED);
	(void)pms_pages_discard(ps, p, n, 1);
}

/* h_dalloc -- extent hook: jemalloc purged the pages; they are free */
static bool
h_dalloc(extent_hooks_t *eh, void *addr, size_t size, bool committed,
	 unsigned ai)
{
	(void)committed;
	(void)ai;
	give_back((struct pms_vheap *)eh, addr, size);
	return false;
}

/* h_destroy -- extent hook: the arena is destroyed (close) */
static void
h_destroy(extent_hooks_t *eh, void *addr, size_t size, bool committed,
	  unsigned ai)
{
	(void)committed;
	(void)ai;
	give_back((struct pms_vheap *)eh, addr, size);
}

/*
 * h_commit -- extent hook: pages jemalloc decommitted get file blocks
 * again; true (out of memory) when the file system is full
 */
static bool
h_commit(extent_hooks_t *eh, void *addr, size_t size, size_t off, size_t len,
	 unsigned ai)
{
	struct pms_vheap *vh = (struct pms_vheap *)eh;
	uint8_t *a = (uint8_t *)addr + off;

	(void)size;
	(void)ai;
	if (!in_pool(vh->ps, a, len))
		return false;
	if (pms_pages_recommit(vh->ps, page_of(vh->ps, a),
			       len >> PMS_PAGE_SHIFT) == 0)
		return false;
	Hook_err = errno;
	return true;
}

/*
 * h_decommit -- extent hook: a hole under the pages, which jemalloc keeps
 * and recommits before use; true (keep them committed) where nothing can
 * be punched
 */
static bool
h_decommit(extent_hooks_t *eh, void *addr, size_t size, size_t off, size_t len,
	   unsigned ai)
{
	struct pms_vheap *vh = (struct pms_vheap *)eh;
	uint8_t *a = (uint8_t *)addr + off;

	(void)size;
	(void)ai;
	if (!in_pool(vh->ps, a, len))
		return true;
	return pms_pages_discard(vh->ps, page_of(vh->ps, a),
				 len >> PMS_PAGE_SHIFT, 0) != 0;
}

/* h_split -- extent hook: any run of pages splits (one mapping) */
static bool
h_split(extent_hooks_t *eh, void *addr, size_t size, size_t size_a,
	size_t size_b, bool committed, unsigned ai)
{
	(void)size_a;
	(void)size_b;
	(void)committed;
	(void)ai;
	return !in_pool(((struct pms_vheap *)eh)->ps, addr, size);
}

/* h_merge -- extent hook: adjacent runs of pages merge */
static bool
h_merge(extent_hooks_t *eh, void *addr_a, size_t size_a, void *addr_b,
	size_t size_b, bool committed, unsigned ai)
{
	struct pmemstore *ps = ((struct pms_vheap *)eh)->ps;

	(void)committed;
	(void)ai;
	return !in_pool(ps, addr_a, size_a) || !in_pool(ps, addr_b, size_b);
}

static const extent_hooks_t Hooks = {
	.alloc = h_alloc,
	.dalloc = h_dalloc,
	.destroy = h_destroy,
	.commit = h_commit,
	.decommit = h_decommit,
	.purge_lazy = NULL,   /* no lazy purge: */
	.purge_forced = NULL, /* jemalloc then gives the run back (dalloc) */
	.split = h_split,
	.merge = h_merge,
};

/* vheap_get -- the pool's volatile heap, made on first use */
static struct pms_vheap *
vheap_get(struct pmemstore *ps)
{
	struct pms_vheap *vh = __atomic_load_n(&ps->vheap, __ATOMIC_ACQUIRE);
	long ncpu;

	if (vh)
		return vh;
	if (ps->rdonly) {
		pms_err(EROFS,
			"pool %s: opened read-only, it has no volatile heap",
			ps->path);
		return NULL;
	}
	pthread_mutex_lock(&ps->vh_lock);
	vh = ps->vheap;
	if (vh == NULL) {
		vh = calloc(1, sizeof(*vh));
		if (vh) {
			vh->hooks = Hooks;
			vh->ps = ps;
			ncpu = sysconf(_SC_NPROCESSORS_ONLN);
			vh->cap = ncpu < 1	       ? 1
				  : ncpu > VARENAS_MAX ? VARENAS_MAX
						       : (unsigned)ncpu;
			__atomic_store_n(&ps->vheap, vh, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&ps->vh_lock);
	if (vh == NULL)
		pms_err(ENOMEM, "out of memory");
	return vh;
}

/* arena_make -- a new arena on the pool's pages (under ps->vh_lock) */
static int
arena_make(struct pmemstore *ps, struct pms_vheap *vh, unsigned *ai)
{
	extent_hooks_t *hp = &vh->hooks;
	size_t sz = sizeof(*ai);
	int err;

	size_t limit = PMS_PAGE_SIZE;
	char name[64];

	Making = vh;
	err = mallctl("arenas.create", ai, &sz, &hp, sizeof(hp));
	Making = NULL;
	if (err)
		return pms_err(ENOMEM,
			       "pool %s: jemalloc cannot make an arena for the "
			       "volatile heap: %s",
			       ps->path, strerror(err));
	/*
	 * jemalloc keeps the unused rest of each run it grows by (its
	 * "retained" memory) until the arena is destroyed, and grows by
	 * ever larger steps: no steps beyond what a request needs
	 */
	snprintf(name, sizeof(name), "arena.%u.retain_grow_limit", *ai);
	(void)mallctl(name, NULL, NULL, &limit, sizeof(limit));
	return 0;
}

/* bin_drain -- the k oldest blocks of bin c back to jemalloc */
static void
bin_drain(struct pms_heap *me, unsigned c, unsigned k)
{
	struct pms_vbin *b = &me->vbins[c];
	int fl = (int)MALLOCX_TCACHE(me->vtc - 1);

	for (unsigned i = 0; i < k; i++)
		dallocx(b->v[i], fl);
	memmove(b->v, b->v + k, (b->n - k) * sizeof(b->v[0]));
	b->n -= k;
	me->vcached -= k * Vc_size[c];
}

/* bins_free -- the bins' arrays (empty) */
static void
bins_free(struct pms_heap *me)
{
	for (unsigned c = 0; c < VC_CLASSES; c++)
		free(me->vbins[c].v);
	free(me->vbins);
	me->vbins = NULL;
}

/*
 * vbind -- the calling thread's jemalloc tcache and arena for ps, in its
 * heap: an arena of its own while there are fewer than CPUs, then one of
 * them in turn
 */
static int
vbind(struct pmemstore *ps, struct pms_heap *me)
{
	struct pms_vheap *vh = vheap_get(ps);
	unsigned tc, ai, k;
	size_t sz = sizeof(tc);
	int err;

	if (vh == NULL)
		return -1;
	pthread_mutex_lock(&ps->vh_lock);
	k = vh->next++ % vh->cap;
	if (k >= vh->narenas) {
		if (arena_make(ps, vh, &ai)) {
			pthread_mutex_unlock(&ps->vh_lock);
			return -1;
		}
		k = vh->narenas;
		vh->arena[vh->narenas++] = ai;
	}
	ai = vh->arena[k];
	pthread_mutex_unlock(&ps->vh_lock);
	err = mallctl("tcache.create", &tc, &sz, NULL, 0);
	if (err)
		return pms_err(ENOMEM,
			       "pool %s: jemalloc cannot make a thread cache "
			       "for the volatile heap (it has a few thousand "
			       "per process): %s",
			       ps->path, strerror(err));
	(void)pthread_once(&Vc_once, vc_init);
	if (Vc_ok && me->vbins == NULL) {
		me->vbins = calloc(VC_CLASSES, sizeof(struct pms_vbin));
		for (unsigned c = 0; me->vbins && c < VC_CLASSES; c++) {
			me->vbins[c].v = malloc(VC_BATCH * sizeof(void *));
			if (me->vbins[c].v == NULL) {
				bins_free(me);
				break;
			}
			me->vbins[c].cap = VC_BATCH;
		}
	}
	me->varena = ai;
	me->vbudget = (ps->npages << PMS_PAGE_SHIFT) / 128;
	if (me->vbudget > VC_BUDGET)
		me->vbudget = VC_BUDGET;
	__atomic_store_n(&me->vtc, tc + 1, __ATOMIC_RELEASE);
	return 0;
}

/* me_of -- the calling thread's heap, bound to an arena and a tcache */
static inline struct pms_heap *
me_of(struct pmemstore *ps)
{
	struct pms_heap *me;

	if (ps == NULL) {
		pms_err(EINVAL, "pool handle is NULL");
		return NULL;
	}
	me = pms_heap_mine(ps);
	if (me == NULL)
		return NULL;
	if (__builtin_expect(me->vtc == 0, 0) && vbind(ps, me))
		return NULL;
	return me;
}

/* flags_of -- mallocx flags of a thread's heap */
static inline int
flags_of(const struct pms_heap *me)
{
	return (int)(MALLOCX_ARENA(me->varena) | MALLOCX_TCACHE(me->vtc - 1));
}

/* vbytes -- the thread's count of live usable bytes (its own line) */
static inline void
vbytes(struct pms_heap *me, int64_t d)
{
	__atomic_store_n(&me->vbytes, me->vbytes + d, __ATOMIC_RELAXED);
}

/*
 * out_of_pages -- a block of size bytes could not be had: ENOSPC (or
 * EDQUOT) with the reservation's message when the file system is full,
 * else ENOMEM
 */
static void
out_of_pages(struct pmemstore *ps, size_t size)
{
	if (Hook_err == ENOSPC || Hook_err == EDQUOT) {
		errno = Hook_err; /* pmemstore_errormsg() is the hook's */
		return;
	}
	pms_err(ENOMEM,
		"pool %s: no free pages for a volatile block of %zu bytes",
		ps->path, size);
}

/*
 * vmalloc -- the common path: a block of size bytes with mallocx flags
 * extra; out of pages, the persistent heaps give back the pages they keep
 * and it is tried once more
 */
static void *
vmalloc(struct pmemstore *ps, size_t size, int extra)
{
	struct pms_heap *me = me_of(ps);
	void *p;
	int fl;

	if (me == NULL)
		return NULL;
	if (size == 0)
		size = 1;
	if (__builtin_expect(__atomic_load_n(&me->vdrain, __ATOMIC_RELAXED), 0))
		drain_all(me);
	fl = flags_of(me) | extra;
	p = mallocx(size, fl);
	if (__builtin_expect(p == NULL, 0)) {
		if (size > ps->npages << PMS_PAGE_SHIFT) {
			out_of_pages(ps, size); /* no reclaim would help */
			return NULL;
		}
		pms_heap_reclaim(ps);
		Hook_err = 0;
		p = mallocx(size, fl);
		if (p == NULL) {
			out_of_pages(ps, size);
			return NULL;
		}
	}
	vbytes(me, (int64_t)sallocx(p, 0));
	return p;
}

/*
 * refill -- up to VC_BATCH blocks of class c into an empty bin; out of
 * pages, as vmalloc does (-1 when not one block could be had)
 */
static int
refill(struct pmemstore *ps, struct pms_heap *me, unsigned c)
{
	struct pms_vbin *b = &me->vbins[c];
	int fl = flags_of(me);

	while (b->n < VC_BATCH) {
		void *p = mallocx(Vc_size[c], fl);

		if (p == NULL)
			break;
		b->v[b->n++] = p;
		me->vcached += Vc_size[c];
	}
	if (b->n)
		return 0;
	pms_heap_reclaim(ps);
	Hook_err = 0;
	b->v[0] = mallocx(Vc_size[c], fl);
	if (b->v[0] == NULL) {
		out_of_pages(ps, Vc_size[c]);
		return -1;
	}
	b->n = 1;
	me->vcached += Vc_size[c];
	return 0;
}

/* bin_put -- a freed block of class c into its bin, within the budget */
static void
bin_put(struct pms_heap *me, unsigned c, void *p)
{
	struct pms_vbin *b = &me->vbins[c];
	uint64_t sz = Vc_size[c];

	if (me->vcached + sz > me->vbudget || b->n == b->cap) {
		if (me->vcached + sz > me->vbudget && b->n >= 2)
			bin_drain(me, c, b->n / 2);
		if (b->n == b->cap && me->vcached + sz <= me->vbudget) {
			void **v = realloc(b->v, 2 * b->cap * sizeof(void *));

			if (v) {
				b->v = v;
				b->cap *= 2;
			}
		}
		if (b->n == b->cap || me->vcached + sz > me->vbudget) {
			dallocx(p, (int)MALLOCX_TCACHE(me->vtc - 1));
			return;
		}
	}
	b->v[b->n++] = p;
	me->vcached += sz;
}

/* drain_all -- every bin of a heap emptied (vdrain: the pool ran out) */
static void
drain_all(struct pms_heap *me)
{
	__atomic_store_n(&me->vdrain, 0, __ATOMIC_RELAXED);
	for (unsigned c = 0; me->vbins && c < VC_CLASSES; c++)
		bin_drain(me, c, me->vbins[c].n);
}

/* pmemstore_malloc -- public: a volatile block on the pool's pages */
void *
pmemstore_malloc(struct pmemstore *ps, size_t size)
{
	struct pms_heap *me;
	struct pms_vbin *b;
	unsigned c;

	if (size > VC_MAX)
		return vmalloc(ps, size, 0);
	me = me_of(ps);
	if (me == NULL)
		return NULL;
	if (__builtin_expect(me->vbins == NULL, 0))
		return vmalloc(ps, size, 0);
	if (__builtin_expect(__atomic_load_n(&me->vdrain, __ATOMIC_RELAXED), 0))
		drain_all(me);
	c = Vc_of[(size + 7) >> 3];
	b = &me->vbins[c];
	if (__builtin_expect(b->n == 0, 0) && refill(ps, me, c))
		return NULL;
	vbytes(me, (int64_t)Vc_size[c]);
	me->vcached -= Vc_size[c];
	return b->v[--b->n];
}

/* pmemstore_calloc -- public: a zeroed volatile block */
void *
pmemstore_calloc(struct pmemstore *ps, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size) {
		pms_err(ENOMEM, "pool %s: %zu blocks of %zu bytes overflow",
			ps ? ps->path : "(null)", nmemb, size);
		return NULL;
	}
	return vmalloc(ps, nmemb * size, MALLOCX_ZERO);
}

/* pmemstore_aligned_alloc -- public: a volatile block, aligned */
void *
pmemstore_aligned_alloc(struct pmemstore *ps, size_t alignment, size_t size)
{
	if (alignment == 0 || (alignment & (alignment - 1))) {
		pms_err(EINVAL, "pool %s: alignment %zu is not a power of two",
			ps ? ps->path : "(null)", alignment);
		return NULL;
	}
	return vmalloc(ps, size, MALLOCX_ALIGN(alignment));
}

/*
 * mine -- is ptr a block of ps's volatile heap?  In the pool's pages, on
 * a page the heap holds (its descriptor says VOLATILE); anything else is
 * refused with EINVAL.  A page of an earlier run may still say VOLATILE:
 * a stale pointer into it is not caught (as free(3) does not catch all).
 */
static int
mine(struct pmemstore *ps, const void *ptr, const char *what)
{
	if (in_pool(ps, ptr, 1) &&
	    __atomic_load_n(&ps->desc[page_of(ps, ptr)].w0, __ATOMIC_RELAXED) ==
		    PMS_DESC_VOLATILE)
		return 1;
	pms_err(EINVAL,
		"pool %s: %s of %p, which is no block of this pool's volatile "
		"heap",
		ps->path, what, ptr);
	return 0;
}

/* pmemstore_free -- public: give a volatile block back */
void
pmemstore_free(struct pmemstore *ps, void *ptr)
{
	struct pms_heap *me;

	if (ptr == NULL)
		return;
	if (ps == NULL) {
		pms_err(EINVAL, "pool handle is NULL");
		return;
	}
	if (!mine(ps, ptr, "pmemstore_free"))
		return;
	me = me_of(ps);
	if (me == NULL) {
		/* no heap for this thread (out of memory): no tcache */
		dallocx(ptr, MALLOCX_TCACHE_NONE);
		return;
	}
	size_t u = sallocx(ptr, 0);

	vbytes(me, -(int64_t)u);
	if (u <= VC_MAX && me->vbins) {
		if (__builtin_expect(
			    __atomic_load_n(&me->vdrain, __ATOMIC_RELAXED), 0))
			drain_all(me);
		bin_put(me, Vc_of[u >> 3], ptr);
		return;
	}
	dallocx(ptr, MALLOCX_TCACHE(me->vtc - 1));
}

/*
 * pmemstore_realloc -- public: resize a volatile block (NULL: allocate;
 * size 0: free, NULL returned); on failure the block is left as it was
 */
void *
pmemstore_realloc(struct pmemstore *ps, void *ptr, size_t size)
{
	struct pms_heap *me;
	size_t old;
	void *p;

	if (ptr == NULL)
		return vmalloc(ps, size, 0);
	if (size == 0) {
		pmemstore_free(ps, ptr);
		return NULL;
	}
	if (ps == NULL) {
		pms_err(EINVAL, "pool handle is NULL");
		return NULL;
	}
	if (!mine(ps, ptr, "pmemstore_realloc"))
		return NULL;
	me = me_of(ps);
	if (me == NULL)
		return NULL;
	if (__atomic_load_n(&me->vdrain, __ATOMIC_RELAXED))
		drain_all(me);
	old = sallocx(ptr, 0);
	p = rallocx(ptr, size, flags_of(me));
	if (p == NULL) {
		if (size > ps->npages << PMS_PAGE_SHIFT) {
			out_of_pages(ps, size);
			return NULL;
		}
		pms_heap_reclaim(ps);
		Hook_err = 0;
		p = rallocx(ptr, size, flags_of(me));
		if (p == NULL) {
			out_of_pages(ps, size);
			return NULL;
		}
	}
	vbytes(me, (int64_t)sallocx(p, 0) - (int64_t)old);
	return p;
}

/* pmemstore_malloc_usable_size -- public: bytes usable in a block */
size_t
pmemstore_malloc_usable_size(struct pmemstore *ps, void *ptr)
{
	if (ptr == NULL)
		return 0;
	if (ps == NULL) {
		pms_err(EINVAL, "pool handle is NULL");
		return 0;
	}
	if (!mine(ps, ptr, "pmemstore_malloc_usable_size"))
		return 0;
	return sallocx(ptr, 0);
}

/* abandon_caches -- a heap's bins emptied and its tcache flushed */
static void
abandon_caches(struct pms_heap *me)
{
	unsigned tc = me->vtc - 1;

	drain_all(me);
	(void)mallctl("tcache.flush", NULL, NULL, &tc, sizeof(tc));
}

/*
 * spares_drain -- the heaps no thread owns (their threads exited) give
 * back what they keep cached.  They are taken off the spare list while
 * jemalloc is called, so that no new thread adopts one meanwhile (a new
 * thread then makes a heap of its own).  Not at the thread's exit: a
 * thread started next (a worker pool) takes the heap, caches and all.
 */
static void
spares_drain(struct pmemstore *ps)
{
	struct pms_heap *sp, *h, *tail = NULL;

	pthread_mutex_lock(&ps->heaps.lock);
	sp = ps->heaps.spare;
	ps->heaps.spare = NULL;
	pthread_mutex_unlock(&ps->heaps.lock);
	for (h = sp; h; h = h->anext) {
		if (h->vtc)
			abandon_caches(h);
		tail = h;
	}
	if (tail == NULL)
		return;
	pthread_mutex_lock(&ps->heaps.lock);
	tail->anext = ps->heaps.spare;
	ps->heaps.spare = sp;
	pthread_mutex_unlock(&ps->heaps.lock);
}

/*
 * pms_vheap_purge -- every arena gives back the pages it holds unused
 * (the persistent side ran out).  Called with no lock of the library held.
 */
void
pms_vheap_purge(struct pmemstore *ps)
{
	struct pms_vheap *vh = __atomic_load_n(&ps->vheap, __ATOMIC_ACQUIRE);
	struct pms_heap *me;
	unsigned n, a[VARENAS_MAX];
	char name[64];

	if (vh == NULL)
		return;
	/* the bins: the other threads' at their next call, this one's now */
	pthread_mutex_lock(&ps->heaps.lock);
	for (struct pms_heap *h = ps->heaps.all; h; h = h->next)
		__atomic_store_n(&h->vdrain, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ps->heaps.lock);
	me = pms_heap_mine(ps);
	if (me && me->vtc)
		abandon_caches(me); /* and this thread's tcache, flushed */
	spares_drain(ps);
	pthread_mutex_lock(&ps->vh_lock);
	n = vh->narenas;
	memcpy(a, vh->arena, n * sizeof(a[0]));
	pthread_mutex_unlock(&ps->vh_lock);
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "arena.%u.purge", a[i]);
		(void)mallctl(name, NULL, NULL, NULL, 0);
	}
}

/* pms_vheap_stats -- pages held and live usable bytes */
void
pms_vheap_stats(struct pmemstore *ps, uint64_t *pages, uint64_t *bytes)
{
	struct pms_vheap *vh = __atomic_load_n(&ps->vheap, __ATOMIC_ACQUIRE);
	int64_t b = 0;

	*pages = vh ? __atomic_load_n(&vh->pages, __ATOMIC_RELAXED) : 0;
	pthread_mutex_lock(&ps->heaps.lock);
	for (struct pms_heap *h = ps->heaps.all; h; h = h->next)
		b += __atomic_load_n(&h->vbytes, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ps->heaps.lock);
	*bytes = b > 0 ? (uint64_t)b : 0;
}

/*
 * pms_vheap_fini -- at close: every thread cache of the pool flushed and
 * destroyed, then every arena (its pages come back through the hooks)
 */
void
pms_vheap_fini(struct pmemstore *ps)
{
	struct pms_vheap *vh = ps->vheap;
	char name[64];
	int kept = 0;

	if (vh == NULL)
		return;
	for (struct pms_heap *h = ps->heaps.all; h; h = h->next) {
		unsigned tc = h->vtc;

		if (tc == 0)
			continue;
		if (h->vbins) {
			for (unsigned c = 0; c < VC_CLASSES; c++)
				bin_drain(h, c, h->vbins[c].n);
			bins_free(h);
		}
		tc--;
		(void)mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc));
		h->vtc = 0;
	}
	for (unsigned i = 0; i < vh->narenas; i++) {
		snprintf(name, sizeof(name), "arena.%u.destroy", vh->arena[i]);
		if (mallctl(name, NULL, NULL, NULL, 0))
			kept = 1;
	}
	ps->vheap = NULL;
	/* an arena jemalloc would not destroy keeps its hooks: never
	 * called again for an unmapped pool, but they must stay valid */
	if (!kept)
		free(vh);
}
