/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vheap.h -- the volatile heap: jemalloc arenas on the pool's free pages
 */
#ifndef PMS_VHEAP_H
#define PMS_VHEAP_H 1

#include <stdint.h>

struct pmemstore;

void pms_vheap_fini(struct pmemstore *ps);
void pms_vheap_purge(struct pmemstore *ps);
void pms_vheap_stats(struct pmemstore *ps, uint64_t *pages, uint64_t *bytes);

#endif /* PMS_VHEAP_H */
