/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * device_ndctl.c -- the device layer through libndctl and libdaxctl
 * (CMake option PMEMSTORE_NDCTL, the default): the namespace under a pool,
 * its region, its bad blocks and its DIMMs' unsafe-shutdown count, and
 * device-dax's clear-error path.
 *
 * A file system's block device is matched by name (pmemN, or the pfn's
 * block device) against every namespace; a device-dax node by its
 * major:minor against the dax devices of every devdax namespace.  Bad
 * blocks: a block namespace's list (the block device's badblocks, 512-byte
 * sectors of that device); a device-dax namespace has none of its own, so
 * its region's list (sectors from the region's start) is taken and moved
 * to the device's offsets (its physical start).  The count: the sum of
 * ndctl_dimm_get_dirty_shutdown over the region's DIMMs, known only when
 * every DIMM reports one.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <ndctl/libndctl.h>
#include <daxctl/libdaxctl.h>

#include "device.h"

#define SECTOR 512ULL

/* push -- append a range; 0 or -1 (ENOMEM) */
static int
push(struct pms_range **v, size_t *n, size_t *cap, uint64_t off, uint64_t len)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct pms_range *x = realloc(*v, c * sizeof(*x));

		if (x == NULL) {
			errno = ENOMEM;
			return -1;
		}
		*v = x;
		*cap = c;
	}
	(*v)[*n].off = off;
	(*v)[*n].len = len;
	(*n)++;
	return 0;
}

/*
 * context -- a libndctl context, quiet (a library does not write to the
 * application's stderr) unless NDCTL_LOG asks for messages; 0 or -1
 */
static int
context(struct ndctl_ctx **ctx)
{
	if (ndctl_new(ctx))
		return -1;
	if (getenv("NDCTL_LOG") == NULL)
		ndctl_set_log_priority(*ctx, 2 /* LOG_CRIT */);
	return 0;
}

/* region_usc -- the unsafe-shutdown count of a region's DIMMs */
static void
region_usc(struct ndctl_region *region, struct pms_device *dev)
{
	struct ndctl_dimm *dimm;
	unsigned long long sum = 0;
	int n = 0;

	ndctl_dimm_foreach_in_region(region, dimm)
	{
		long long c = ndctl_dimm_get_dirty_shutdown(dimm);

		if (c < 0)
			return; /* one DIMM without a count: no count */
		sum += (unsigned long long)c;
		n++;
	}
	if (n == 0)
		return;
	dev->usc = sum;
	dev->flags |= PMS_DEV_USC;
}

/* names -- the namespace's names into dev */
static void
names(struct ndctl_region *region, struct ndctl_namespace *ndns,
      const char *devname, struct pms_device *dev)
{
	snprintf(dev->region, sizeof(dev->region), "%s",
		 ndctl_region_get_devname(region));
	snprintf(dev->ns, sizeof(dev->ns), "%s",
		 ndctl_namespace_get_devname(ndns));
	snprintf(dev->device, sizeof(dev->device), "%s", devname);
}

/* dax_dev -- the daxctl device of a devdax namespace that st names */
static struct daxctl_dev *
dax_dev(struct ndctl_namespace *ndns, const struct stat *st)
{
	struct ndctl_dax *dax = ndctl_namespace_get_dax(ndns);
	struct daxctl_region *dr;
	struct daxctl_dev *dd;

	if (dax == NULL || (dr = ndctl_dax_get_daxctl_region(dax)) == NULL)
		return NULL;
	daxctl_dev_foreach(dr, dd)
	{
		if ((unsigned)daxctl_dev_get_major(dd) == major(st->st_rdev) &&
		    (unsigned)daxctl_dev_get_minor(dd) == minor(st->st_rdev))
			return dd;
	}
	return NULL;
}

/* pms_device_os -- see device.h */
int
pms_device_os(const char *disk, const char *region, const struct stat *st,
	      struct pms_device *dev, struct pms_range **bad, size_t *nbad)
{
	struct ndctl_ctx *ctx;
	struct ndctl_bus *bus;
	struct ndctl_region *reg;
	struct ndctl_namespace *ndns;
	struct pms_range *v = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	*bad = NULL;
	*nbad = 0;
	if (context(&ctx))
		return 0; /* no libnvdimm: nothing to learn */
	ndctl_bus_foreach(ctx, bus)
	{
		ndctl_region_foreach(bus, reg)
		{
			/* the other regions' namespaces are never read */
			if (region &&
			    strcmp(ndctl_region_get_devname(reg), region) != 0)
				continue;
			ndctl_namespace_foreach(reg, ndns)
			{
				struct badblock *bb;

				if (disk) {
					struct ndctl_pfn *pfn =
						ndctl_namespace_get_pfn(ndns);
					const char *b =
						pfn ? ndctl_pfn_get_block_device(
							      pfn)
						    : ndctl_namespace_get_block_device(
							      ndns);

					if (b == NULL || strcmp(b, disk) != 0)
						continue;
					names(reg, ndns, disk, dev);
					region_usc(reg, dev);
					dev->flags |= PMS_DEV_BADBLOCKS;
					ndctl_namespace_badblock_foreach(ndns,
									 bb)
					{
						if (push(&v, &n, &cap,
							 bb->offset * SECTOR,
							 bb->len * SECTOR)) {
							ret = -1;
							goto out;
						}
					}
					goto out;
				} else {
					struct daxctl_dev *dd =
						dax_dev(ndns, st);
					unsigned long long rs, ds;

					if (dd == NULL)
						continue;
					names(reg, ndns,
					      daxctl_dev_get_devname(dd), dev);
					region_usc(reg, dev);
					rs = ndctl_region_get_resource(reg);
					ds = daxctl_dev_get_resource(dd);
					if (rs == ULLONG_MAX ||
					    ds == ULLONG_MAX || ds < rs)
						goto out; /* no offsets */
					dev->phys = ds;
					dev->flags |= PMS_DEV_BADBLOCKS;
					ndctl_region_badblock_foreach(reg, bb)
					{
						uint64_t lo = rs +
							      bb->offset *
								      SECTOR,
							 hi = lo +
							      bb->len * SECTOR;

						if (hi <= ds)
							continue;
						if (lo < ds)
							lo = ds;
						if (push(&v, &n, &cap, lo - ds,
							 hi - lo)) {
							ret = -1;
							goto out;
						}
					}
					goto out;
				}
			}
		}
	}
out:
	ndctl_unref(ctx);
	if (ret) {
		free(v);
		return -1;
	}
	*bad = v;
	*nbad = n;
	return 0;
}

/*
 * pms_device_os_clear -- clear device-dax bytes [off, +len): an address
 * range scrub capability query, then the bus's clear-error command over
 * the physical range; 0 when all of it was cleared
 */
int
pms_device_os_clear(const struct pms_device *dev, const struct stat *st,
		    uint64_t off, uint64_t len)
{
	struct ndctl_ctx *ctx;
	struct ndctl_bus *bus;
	struct ndctl_region *region;
	struct ndctl_namespace *ndns;
	int ret = -1;

	if (dev->phys == 0 || context(&ctx))
		return -1;
	ndctl_bus_foreach(ctx, bus)
	{
		ndctl_region_foreach(bus, region)
		{
			ndctl_namespace_foreach(region, ndns)
			{
				struct ndctl_cmd *cap, *clr;
				unsigned long long addr = dev->phys + off;

				if (dax_dev(ndns, st) == NULL)
					continue;
				cap = ndctl_bus_cmd_new_ars_cap(bus, addr, len);
				if (cap == NULL || ndctl_cmd_submit(cap) < 0) {
					if (cap)
						ndctl_cmd_unref(cap);
					goto out;
				}
				clr = ndctl_bus_cmd_new_clear_error(addr, len,
								    cap);
				if (clr && ndctl_cmd_submit(clr) >= 0 &&
				    ndctl_cmd_clear_error_get_cleared(clr) ==
					    len)
					ret = 0;
				if (clr)
					ndctl_cmd_unref(clr);
				ndctl_cmd_unref(cap);
				goto out;
			}
		}
	}
out:
	ndctl_unref(ctx);
	return ret;
}

/* pms_device_os_caps -- what this build of the device layer is */
unsigned
pms_device_os_caps(void)
{
	return PMS_DEV_NDCTL;
}
