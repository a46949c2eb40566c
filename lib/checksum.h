/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * checksum.h -- checksums of on-media structures (xxHash)
 */
#ifndef PMS_CHECKSUM_H
#define PMS_CHECKSUM_H 1

#include <stdint.h>

#include "layout.h"

uint64_t pms_super_checksum(const struct pms_super *sb);
uint64_t pms_check_small(uint64_t seed, const uint8_t uuid[16], uint64_t size,
			 uint64_t page, unsigned slot, unsigned cls);
uint64_t pms_check_record(uint64_t seed, const uint8_t uuid[16], uint64_t size,
			  uint64_t page, uint64_t npages, uint64_t rpage,
			  unsigned rslot);
uint64_t pms_hash_uuid(uint64_t seed, const uint8_t uuid[16]);

#endif /* PMS_CHECKSUM_H */
