/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * checksum.c -- owns every checksum the format uses: the superblock's
 * XXH64 and the identity checks of object headers and records (XXH3)
 */
#include <string.h>
#include <xxhash.h>

#include "checksum.h"

/* pms_super_checksum -- XXH64 of the superblock up to its checksum field */
uint64_t
pms_super_checksum(const struct pms_super *sb)
{
	return XXH64(sb, offsetof(struct pms_super, checksum), PMS_SB_SEED);
}

/* nonzero -- 0 is reserved for "no object", so a check is never 0 */
static uint64_t
nonzero(uint64_t h)
{
	return h ? h : 1;
}

/*
 * pms_check_small -- identity check of a small object's header: binds the
 * UUID and size to the slot, page and class the header sits in
 */
uint64_t
pms_check_small(uint64_t seed, const uint8_t uuid[16], uint64_t size,
		uint64_t page, unsigned slot, unsigned cls)
{
	struct pms_check_small in;

	memset(&in, 0, sizeof(in));
	memcpy(in.uuid, uuid, 16);
	in.size = size;
	in.page = page;
	in.slot = slot;
	in.cls = cls;
	return nonzero(XXH3_64bits_withSeed(&in, sizeof(in), seed));
}

/*
 * pms_check_record -- identity check of a large object's record: binds the
 * UUID, size and page run to the record's own location
 */
uint64_t
pms_check_record(uint64_t seed, const uint8_t uuid[16], uint64_t size,
		 uint64_t page, uint64_t npages, uint64_t rpage, unsigned rslot)
{
	struct pms_check_record in;

	memset(&in, 0, sizeof(in));
	memcpy(in.uuid, uuid, 16);
	in.size = size;
	in.page = page;
	in.npages = npages;
	in.rpage = rpage;
	in.rslot = rslot;
	in.magic = PMS_RECORD_MAGIC;
	return nonzero(XXH3_64bits_withSeed(&in, sizeof(in), seed));
}

/*
 * pms_hash_uuid -- the index's hash of a UUID: XXH3-64 seeded from the
 * pool (seed ^ PMS_INDEX_SEED), so that names an application takes from
 * untrusted input cannot be chosen to pile into one segment of the index
 */
uint64_t
pms_hash_uuid(uint64_t seed, const uint8_t uuid[16])
{
	return XXH3_64bits_withSeed(uuid, 16, seed ^ PMS_INDEX_SEED);
}
