/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slab.c -- owns slab pages as pages: 4 KiB cut into equal slots of one
 * size class, with a header array at the start of the page (layout.h); the
 * class table, and the scrub of a page about to become a slab.
 *
 * The persistent truth is the occupancy bitmap in the page's descriptor
 * (w1).  Which thread may reserve which slot is heap.c's: a slot is
 * reserved there before its allocation is published, and returned only
 * after its free is durable, so a slot is never reused while a crash could
 * still bring its previous owner back.
 */
#include <errno.h>
#include <stdlib.h>

#include "pool.h"
#include "slab.h"
#include "flush.h"
#include "checksum.h"
#include "errors.h"

const struct pms_class pms_classes[PMS_NCLASSES] = PMS_CLASS_TABLE;

/* pms_slab_full_mask -- bits of the slots a class has */
uint64_t
pms_slab_full_mask(unsigned cls)
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

/*
 * pms_slab_scrub -- a page about to become a slab of class cls must hold no
 * header or record that verifies there: open never reads a free page's
 * content, so one left by damage would come alive as a clear-bit header
 * beside the page's first object (and pmemstore_check reports it).  Such
 * check words are zeroed and flushed; they become durable with the fence
 * of the page's first publication.  A page a library wrote never has one,
 * so this only reads.
 */
int
pms_slab_scrub(struct pmemstore *ps, uint64_t page, unsigned cls)
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
