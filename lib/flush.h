/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flush.h -- every flush and fence of the library, counted
 */
#ifndef PMS_FLUSH_H
#define PMS_FLUSH_H 1

#include <stddef.h>

struct pmemstore;

struct pms_counters;

int pms_flush(struct pmemstore *ps, const void *addr, size_t len);
void pms_counters_sum(struct pmemstore *ps, struct pms_counters *sum);
void pms_counters_free(struct pmemstore *ps);
void pms_drain(struct pmemstore *ps);
int pms_memset_nodrain(struct pmemstore *ps, void *dst, int c, size_t len);

#endif /* PMS_FLUSH_H */
