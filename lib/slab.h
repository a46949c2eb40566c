/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slab.h -- slab pages: the size classes and the page-level helpers; who
 * owns which slab page is heap.h's business
 */
#ifndef PMS_SLAB_H
#define PMS_SLAB_H 1

#include <stdint.h>

#include "layout.h"

extern const struct pms_class pms_classes[PMS_NCLASSES];

struct pmemstore;

unsigned pms_slab_class_of(uint64_t size);
uint64_t pms_slab_full_mask(unsigned cls);
int pms_slab_scrub(struct pmemstore *ps, uint64_t page, unsigned cls);

#endif /* PMS_SLAB_H */
