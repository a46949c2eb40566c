/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * device_none.c -- the device layer without libndctl/libdaxctl (CMake
 * option PMEMSTORE_NDCTL=OFF): no names, no bad blocks, no
 * unsafe-shutdown count; pmemstore_info says so (PMEMSTORE_INFO_NDCTL
 * clear).  Bad-block test seams still work (device.c).
 */
#include <errno.h>

#include "device.h"

/* pms_device_os -- nothing is known without libndctl */
int
pms_device_os(const char *disk, const char *region, const struct stat *st,
	      struct pms_device *dev, struct pms_range **bad, size_t *nbad)
{
	(void)disk;
	(void)region;
	(void)st;
	(void)dev;
	*bad = NULL;
	*nbad = 0;
	return 0;
}

/* pms_device_os_clear -- no way to clear poison on device-dax */
int
pms_device_os_clear(const struct pms_device *dev, const struct stat *st,
		    uint64_t off, uint64_t len)
{
	(void)dev;
	(void)st;
	(void)off;
	(void)len;
	errno = ENOTSUP;
	return -1;
}

/* pms_device_os_caps -- what this build of the device layer is */
unsigned
pms_device_os_caps(void)
{
	return 0;
}
