/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * device.h -- what a pool is on: backing, device names, alignment, bad
 * blocks, the unsafe-shutdown count; and the bad pages of an open pool
 */
#ifndef PMS_DEVICE_H
#define PMS_DEVICE_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* a byte range: pool (= file) offsets, or device offsets before mapping */
struct pms_range {
	uint64_t off, len;
};

/*
 * struct pms_badpage -- a data page with bad bytes [lo, hi) (the union of
 * the bad blocks in it); cleared once its poison is gone (atomic)
 */
struct pms_badpage {
	uint64_t page;
	uint32_t lo, hi;
	int cleared;
	int withheld; /* free, never handed out (under the page lock) */
};

/* the device layer's flags, as in PMEMSTORE_INFO_* */
#define PMS_DEV_NDCTL (1U << 0)
#define PMS_DEV_MAP_SYNC (1U << 1)
#define PMS_DEV_BADBLOCKS (1U << 2)
#define PMS_DEV_USC (1U << 3)

struct pms_device {
	unsigned backing; /* PMEMSTORE_BACKING_* */
	unsigned flags;	  /* PMS_DEV_* */
	uint64_t align;
	char device[32], region[32], ns[32];
	uint64_t usc;
	uint64_t phys; /* device-dax: physical address of byte 0 (or 0) */

	struct pms_range *bad; /* bad ranges over the pool, sorted, merged */
	size_t nbad;
	uint64_t bad_bytes;

	struct pms_badpage *pg; /* data pages with bad bytes, by page */
	size_t npg;
	uint64_t pages_bad; /* withheld pages (BAD), atomic */
	uint64_t *noted;    /* the BAD descriptors open found */
	size_t nnoted, capnoted;
	uint64_t pages_bad_used; /* bad pages held by objects or the index */

	/* the unsafe-shutdown record and what the open made of it */
	uint64_t usc_recorded;
	int unsafe, checked;
	uint64_t findings, repairable;
	int clear_fail; /* test seam: clearing poison fails */
};

struct pmemstore;

/*
 * the paired, optional part (device_ndctl.c or device_none.c):
 * pms_device_os -- names, unsafe-shutdown count and bad blocks of the
 * namespace under the pool: disk is the block device under a file's file
 * system (NULL for device-dax, whose st_rdev names it); region, the
 * region's name from sysfs (only it is searched).  Bad blocks are
 * returned as byte ranges of that block device or device-dax node.
 * 0 (what could not be learnt is left out) or -1 on out of memory.
 */
int pms_device_os(const char *disk, const char *region, const struct stat *st,
		  struct pms_device *dev, struct pms_range **bad, size_t *nbad);

/* pms_device_os_clear -- clear the poison of device-dax bytes [off, +len)
 * (ndctl's clear-error); 0 or -1 */
int pms_device_os_clear(const struct pms_device *dev, const struct stat *st,
			uint64_t off, uint64_t len);

/* pms_device_os_caps -- PMS_DEV_NDCTL when built with libndctl, else 0 */
unsigned pms_device_os_caps(void);

/* device.c */
int pms_device_range_add(struct pms_range **v, size_t *n, size_t *cap,
			 uint64_t off, uint64_t len);
int pms_device_probe(struct pmemstore *ps, const struct stat *st);
int pms_device_ranges(const char *path, int fd, const struct stat *st,
		      uint64_t size, struct pms_device *dev);
void pms_device_fini(struct pms_device *dev);
int pms_device_apply(struct pmemstore *ps);
int pms_device_meta_check(struct pmemstore *ps);
int pms_device_unsafe(struct pmemstore *ps);
int pms_device_record(struct pmemstore *ps);
uint64_t pms_device_overlap(const struct pmemstore *ps, uint64_t off,
			    uint64_t len);
int pms_device_free(struct pmemstore *ps, uint64_t start, uint64_t n);
int pms_device_note_bad(struct pms_device *dev, uint64_t page);
int pms_device_range_bad(const struct pms_device *dev, uint64_t off,
			 uint64_t len);

/* pms_device_any -- has the pool any bad data page?  (cheap: none at all
 * is the common case, and every other test of the device layer is behind
 * this one on the hot paths) */
static inline int
pms_device_any(const struct pms_device *dev)
{
	return dev->npg != 0;
}

#endif /* PMS_DEVICE_H */
