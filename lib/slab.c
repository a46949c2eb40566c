/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slab.c -- owns slab pages: 4 KiB pages cut into equal slots of one size
 * class, with a header array at the start of the page (layout.h).
 *
 * The persistent truth is the occupancy bitmap in the page's descriptor
 * (w1); this file keeps the volatile side: which slots may be reserved.  A
 * slot is reserved here before its allocation is published, and returned
 * only after its free is durable, so a slot is never reused while a crash
 * could still bring its previous owner back.
 */
#include <errno.h>
#include <stdlib.h>

#include "pool.h"
#include "slab.h"
#include "flush.h"
#include "checksum.h"
#include "errors.h"

const struct pms_class pms_classes[PMS_NCLASSES] = PMS_CLASS_TABLE;

/* full_mask -- bits of the slots a class has */
static uint64_t
full_mask(unsigned cls)
{
	unsigned n = pms_classes[cls].nslots;

	return n == 64 ? ~0ULL : ((1ULL << n) - 1);
}

/* pms_slab_class_of -- smallest object class holding size bytes */
unsigned
pms_slab_class_of(uint64_t size)
{
	for (unsigned c = 1; c < PMS_NCLASSES; c++)
		if (size <= pms_classes[c].size)
			return c;
	return 0;
}

/* pms_slab_init -- empty class lists */
void
pms_slab_init(struct pmemstore *ps)
{
	for (unsigned c = 0; c < PMS_NCLASSES; c++) {
		pthread_mutex_init(&ps->classes[c].lock, NULL);
		ps->classes[c].partial = NULL;
		ps->classes[c].all = NULL;
		ps->classes[c].nempty = 0;
	}
}

/* list_add -- put a slab at the head of its class's partial list */
static void
list_add(struct pms_slab_class *sc, struct pms_slab *s)
{
	s->prev = NULL;
	s->next = sc->partial;
	if (sc->partial)
		sc->partial->prev = s;
	sc->partial = s;
	s->listed = 1;
}

/* list_del -- take a slab off its class's partial list */
static void
list_del(struct pms_slab_class *sc, struct pms_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		sc->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->listed = 0;
}

/* all_add -- put a new slab on its class's list of all slabs */
static void
all_add(struct pms_slab_class *sc, struct pms_slab *s)
{
	s->aprev = NULL;
	s->anext = sc->all;
	if (sc->all)
		sc->all->aprev = s;
	sc->all = s;
}

/* all_del -- take a slab that is going away off the list of all slabs */
static void
all_del(struct pms_slab_class *sc, struct pms_slab *s)
{
	if (s->aprev)
		s->aprev->anext = s->anext;
	else
		sc->all = s->anext;
	if (s->anext)
		s->anext->aprev = s->aprev;
}

/* pms_slab_fini -- free the volatile slab structures */
void
pms_slab_fini(struct pmemstore *ps)
{
	for (unsigned c = 0; c < PMS_NCLASSES; c++) {
		struct pms_slab *s = ps->classes[c].all, *n;

		for (; s; s = n) {
			n = s->anext;
			free(s);
		}
		ps->classes[c].all = NULL;
		ps->classes[c].partial = NULL;
		pthread_mutex_destroy(&ps->classes[c].lock);
	}
}

/*
 * pms_slab_adopt -- volatile state for a slab page found at open with the
 * given slots in use (a non-zero set)
 */
struct pms_slab *
pms_slab_adopt(struct pmemstore *ps, uint64_t page, unsigned cls, uint64_t used)
{
	struct pms_slab *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->page = page;
	s->cls = cls;
	s->avail = full_mask(cls) & ~used;
	s->navail = (unsigned)__builtin_popcountll(s->avail);
	all_add(&ps->classes[cls], s);
	if (s->navail)
		list_add(&ps->classes[cls], s);
	return s;
}

/*
 * scrub_checks -- a page about to become a slab of class cls must hold no
 * header or record that verifies there: open never reads a free page's
 * content, so one left by damage would come alive as a clear-bit header
 * beside the page's first object (and pmemstore_check reports it).  Such
 * check words are zeroed and flushed; they become durable with the fence
 * of the page's first publication.  A page a library wrote never has one,
 * so this only reads.
 */
static int
scrub_checks(struct pmemstore *ps, uint64_t page, unsigned cls)
{
	uint8_t *pg = pms_page_addr(ps, page);

	for (unsigned i = 0; i < pms_classes[cls].nslots; i++) {
		uint64_t *check;
		int ver;

		if (cls == PMS_CLASS_RECORD) {
			struct pms_record *r =
				(struct pms_record *)(pg + i * PMS_RECORD_SIZE);

			check = &r->check;
			ver = *check != 0 &&
			      *check == pms_check_record(ps->seed, r->uuid,
							 r->size, r->page,
							 r->npages, page, i);
		} else {
			struct pms_obj_hdr *h =
				(struct pms_obj_hdr *)(pg + i * PMS_HDR_SIZE);

			check = &h->check;
			ver = *check != 0 &&
			      *check == pms_check_small(ps->seed, h->uuid,
							h->size, page, i, cls);
		}
		if (!ver)
			continue;
		__atomic_store_n(check, 0, __ATOMIC_RELAXED);
		if (pms_flush(ps, check, 8))
			return -1;
	}
	return 0;
}

/*
 * pms_slab_reserve -- reserve a free slot of class cls, taking a new page
 * if no slab has one.  A new page's descriptor is set to an empty slab of
 * this class (w0 = SLAB | cls, w1 = 0) before any slot of it is published;
 * those stores need no flush of their own: a crash that keeps them without
 * a published slot leaves an empty slab page, which open treats as free,
 * and every publication flushes the descriptor line with them.
 */
int
pms_slab_reserve(struct pmemstore *ps, unsigned cls, struct pms_slab **slab,
		 unsigned *slot)
{
	struct pms_slab_class *sc = &ps->classes[cls];
	struct pms_slab *s;
	unsigned i;

	pthread_mutex_lock(&sc->lock);
	s = sc->partial;
	if (s == NULL) {
		uint64_t page;

		if (pms_pages_alloc(ps, 1, 1, &page) &&
		    (pms_slab_reclaim(ps, cls) == 0 ||
		     pms_pages_alloc(ps, 1, 1, &page))) {
			pthread_mutex_unlock(&sc->lock);
			return -1;
		}
		s = calloc(1, sizeof(*s));
		if (s == NULL || scrub_checks(ps, page, cls)) {
			int err = s ? errno : ENOMEM;

			free(s);
			pms_pages_free(ps, page, 1);
			pthread_mutex_unlock(&sc->lock);
			return pms_err(err,
				       "pool %s: cannot make page %llu a "
				       "slab",
				       ps->path, (unsigned long long)page);
		}
		s->page = page;
		s->cls = cls;
		s->avail = full_mask(cls);
		s->navail = pms_classes[cls].nslots;
		__atomic_store_n(&ps->desc[page].w1, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&ps->desc[page].w0, PMS_DESC_SLAB_W0(cls),
				 __ATOMIC_RELEASE);
		list_add(sc, s);
		all_add(sc, s);
		__atomic_fetch_add(&sc->nempty, 1, __ATOMIC_RELAXED);
	}
	if (s->navail == pms_classes[cls].nslots)
		__atomic_fetch_sub(&sc->nempty, 1, __ATOMIC_RELAXED);
	i = (unsigned)__builtin_ctzll(s->avail);
	s->avail &= ~(1ULL << i);
	s->navail--;
	if (s->navail == 0)
		list_del(sc, s);
	pthread_mutex_unlock(&sc->lock);
	*slab = s;
	*slot = i;
	return 0;
}

/*
 * pms_slab_release -- make a slot reservable again: after its free is
 * durable, or after an allocation that was never published.  An empty slab
 * beyond the one kept per class goes back to the page allocator.
 */
void
pms_slab_release(struct pmemstore *ps, struct pms_slab *s, unsigned slot)
{
	struct pms_slab_class *sc = &ps->classes[s->cls];
	int give_back = 0;

	pthread_mutex_lock(&sc->lock);
	s->avail |= 1ULL << slot;
	s->navail++;
	if (!s->listed)
		list_add(sc, s);
	if (s->navail == pms_classes[s->cls].nslots) {
		if (sc->nempty >= 1) {
			list_del(sc, s);
			all_del(sc, s);
			give_back = 1;
		} else {
			__atomic_fetch_add(&sc->nempty, 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&sc->lock);
	if (give_back) {
		pms_pages_free(ps, s->page, 1);
		free(s);
	}
}

/*
 * pms_slab_reclaim -- give the empty slab pages classes keep back to the
 * page allocator, when it is out of pages.  Classes whose lock is busy
 * (and class skip, whose lock the caller may hold) are passed over, so
 * this never waits while holding a class lock.  Returns pages given back.
 */
uint64_t
pms_slab_reclaim(struct pmemstore *ps, unsigned skip)
{
	uint64_t n = 0;

	for (unsigned c = 0; c < PMS_NCLASSES; c++) {
		struct pms_slab_class *sc = &ps->classes[c];
		struct pms_slab *s, *next, *gone = NULL;

		if (c == skip || pthread_mutex_trylock(&sc->lock))
			continue;
		for (s = sc->partial; s; s = next) {
			next = s->next;
			if (s->navail != pms_classes[c].nslots)
				continue;
			list_del(sc, s);
			all_del(sc, s);
			__atomic_fetch_sub(&sc->nempty, 1, __ATOMIC_RELAXED);
			s->next = gone;
			gone = s;
		}
		pthread_mutex_unlock(&sc->lock);
		for (s = gone; s; s = next) {
			next = s->next;
			pms_pages_free(ps, s->page, 1);
			free(s);
			n++;
		}
	}
	return n;
}

/* pms_slab_nempty -- pages held as empty slabs (free for stats) */
uint64_t
pms_slab_nempty(struct pmemstore *ps)
{
	uint64_t n = 0;

	for (unsigned c = 0; c < PMS_NCLASSES; c++)
		n += __atomic_load_n(&ps->classes[c].nempty, __ATOMIC_RELAXED);
	return n;
}
