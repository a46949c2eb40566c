/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * device.c -- owns what the library knows of the device under a pool: the
 * backing (device-dax, a DAX file system's MAP_SYNC file, a plain file, or
 * pmem forced for tests), the device-dax alignment, the bad blocks over
 * the pool (from the paired device_ndctl.c or device_none.c, mapped to
 * file offsets with FIEMAP), the bad data pages of an open pool, and the
 * unsafe-shutdown record.
 *
 * Bad pages.  At every open (and create) the device's bad blocks are read
 * again: a free data page on one is taken out of the page allocator for
 * good and, on a read-write handle, its descriptor becomes BAD (written
 * last, flushed, one fence for all; a crash before it lands leaves a free
 * page that the next open finds bad again).  A page in use stays in use:
 * persist_get of an object overlapping its bad bytes fails with EIO.  When
 * such a page is freed, its poison is cleared if the device allows it (a
 * file: the blocks punched out and allocated afresh; device-dax: ndctl's
 * clear-error); else it becomes BAD then.  The table of bad pages is made
 * at open and never grows, so lookups take no lock.
 *
 * Test seams (environment, read at each open, create and check):
 * PMEMSTORE_TEST_BADBLOCKS="OFF:LEN,..." adds bad byte ranges (pool
 * offsets); PMEMSTORE_TEST_CLEAR_FAIL=1 makes clearing fail;
 * PMEMSTORE_TEST_USC=N gives the device an unsafe-shutdown count N.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xxhash.h>

#include "pool.h"
#include "device.h"
#include "errors.h"
#include "flush.h"
#include "checksum.h"
#include "check.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

_Static_assert(PMS_DEV_NDCTL == PMEMSTORE_INFO_NDCTL &&
		       PMS_DEV_MAP_SYNC == PMEMSTORE_INFO_MAP_SYNC &&
		       PMS_DEV_BADBLOCKS == PMEMSTORE_INFO_BADBLOCKS &&
		       PMS_DEV_USC == PMEMSTORE_INFO_USC,
	       "device flags are the info flags");

/* bounds on what a device may report (media is not the only input that
 * could be absurd): more than this fails the open */
#define BAD_RANGES_MAX 65536
#define BAD_PAGES_MAX (1ULL << 20)

/* sys_read -- the first line of a sysfs file into buf; 0 or -1 */
static int
sys_read(const char *file, char *buf, size_t len)
{
	FILE *f = fopen(file, "re");
	int ok;

	if (f == NULL)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* sys_u64 -- a number from a sysfs file; 0 or -1 */
static int
sys_u64(const char *file, uint64_t *v)
{
	char buf[64], *end;

	if (sys_read(file, buf, sizeof(buf)))
		return -1;
	errno = 0;
	*v = strtoull(buf, &end, 0);
	return errno || end == buf ? -1 : 0;
}

/*
 * on_nvdimm -- is the sysfs device path (/sys/dev/{block,char}/M:m) under
 * an NVDIMM bus?  Only then is libndctl asked (its context costs time at
 * every open).
 */
static int
on_nvdimm(const char *sys, char *real, size_t len)
{
	char buf[PATH_MAX];

	if (realpath(sys, buf) == NULL)
		return 0;
	snprintf(real, len, "%s", buf);
	return strstr(buf, "/ndbus") != NULL;
}

/*
 * region_of -- the name of the region in a sysfs device path
 * (".../ndbus0/region1/dax1.0/...") into buf, or NULL
 */
static const char *
region_of(const char *real, char *buf, size_t len)
{
	const char *r = strstr(real, "/region");
	size_t n;

	if (r == NULL)
		return NULL;
	r++;
	n = strcspn(r, "/");
	if (n >= len)
		return NULL;
	memcpy(buf, r, n);
	buf[n] = '\0';
	return buf;
}

/* range_cmp -- order ranges by offset */
static int
range_cmp(const void *a, const void *b)
{
	const struct pms_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * pms_device_range_add -- append a range to a growing array; 0 or -1
 * (errno ENOMEM, or E2BIG past BAD_RANGES_MAX: a device's list is input)
 */
int
pms_device_range_add(struct pms_range **v, size_t *n, size_t *cap, uint64_t off,
		     uint64_t len)
{
	if (len == 0)
		return 0;
	if (*n >= BAD_RANGES_MAX) {
		errno = E2BIG;
		return -1;
	}
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
 * file_ranges -- device ranges (bytes of the block device) to file offsets
 * through the file's extents (FIEMAP); a range no extent holds is not the
 * pool's
 */
static int
file_ranges(int fd, uint64_t size, const struct pms_range *raw, size_t nraw,
	    struct pms_range **v, size_t *n, size_t *cap)
{
	enum { BATCH = 128 };
	size_t sz =
		sizeof(struct fiemap) + BATCH * sizeof(struct fiemap_extent);
	struct fiemap *fm = malloc(sz);
	uint64_t start = 0;
	int last = 0, ret = -1;

	if (fm == NULL) {
		errno = ENOMEM;
		return -1;
	}
	/* bounded: every round advances start, or ends */
	while (!last && start < size) {
		memset(fm, 0, sz);
		fm->fm_start = start;
		fm->fm_length = size - start;
		fm->fm_extent_count = BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0)
			goto out; /* errno: no FIEMAP, no mapping to offer */
		if (fm->fm_mapped_extents == 0)
			break;
		for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &fm->fm_extents[i];
			uint64_t pl = e->fe_physical, ph = pl + e->fe_length;

			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = 1;
			if (e->fe_logical + e->fe_length > start)
				start = e->fe_logical + e->fe_length;
			if (e->fe_flags &
			    (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC))
				continue;
			for (size_t j = 0; j < nraw; j++) {
				uint64_t lo = raw[j].off, hi = lo + raw[j].len;

				if (hi <= pl || lo >= ph)
					continue;
				if (lo < pl)
					lo = pl;
				if (hi > ph)
					hi = ph;
				if (pms_device_range_add(
					    v, n, cap,
					    e->fe_logical + (lo - pl), hi - lo))
					goto out;
			}
		}
	}
	ret = 0;
out:
	free(fm);
	return ret;
}

/* seam_ranges -- PMEMSTORE_TEST_BADBLOCKS; 1 when set, 0, -1 malformed */
static int
seam_ranges(const char *path, struct pms_range **v, size_t *n, size_t *cap)
{
	const char *s = secure_getenv("PMEMSTORE_TEST_BADBLOCKS");
	char *end;

	if (s == NULL || *s == '\0')
		return 0;
	while (*s) {
		unsigned long long off, len;

		errno = 0;
		off = strtoull(s, &end, 0);
		if (errno || end == s || *end != ':')
			goto bad;
		s = end + 1;
		len = strtoull(s, &end, 0);
		if (errno || end == s || (*end && *end != ','))
			goto bad;
		s = *end ? end + 1 : end;
		if (pms_device_range_add(v, n, cap, off, len))
			return pms_err(errno, "pool %s: too many bad ranges",
				       path);
	}
	return 1;
bad:
	return pms_err(EINVAL,
		       "pool %s: PMEMSTORE_TEST_BADBLOCKS is not a list of "
		       "OFF:LEN",
		       path);
}

/*
 * pms_device_ranges -- the bad ranges over a pool of size bytes (file or
 * device offsets), sorted and merged, into dev->bad; dev's names, flags
 * and count filled as the paired file learns them.  0 or -1.
 */
int
pms_device_ranges(const char *path, int fd, const struct stat *st,
		  uint64_t size, struct pms_device *dev)
{
	char sys[64], real[PATH_MAX], rbuf[32];
	struct pms_range *raw = NULL, *v = NULL;
	size_t nraw = 0, n = 0, cap = 0;
	uint64_t part = 0;
	const char *u;
	int r;

	if (S_ISCHR(st->st_mode)) {
		snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u",
			 major(st->st_rdev), minor(st->st_rdev));
		if (on_nvdimm(sys, real, sizeof(real)) &&
		    pms_device_os(NULL, region_of(real, rbuf, sizeof(rbuf)), st,
				  dev, &raw, &nraw))
			goto nomem;
		for (size_t i = 0; i < nraw; i++)
			if (pms_device_range_add(&v, &n, &cap, raw[i].off,
						 raw[i].len))
				goto nomem;
	} else {
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u",
			 major(st->st_dev), minor(st->st_dev));
		if (on_nvdimm(sys, real, sizeof(real))) {
			char file[PATH_MAX + 16], *disk = real;
			const char *rg = region_of(real, rbuf, sizeof(rbuf));

			/* a partition: its disk's list, its start off */
			snprintf(file, sizeof(file), "%s/partition", real);
			if (access(file, F_OK) == 0) {
				snprintf(file, sizeof(file), "%s/start", real);
				if (sys_u64(file, &part) == 0)
					part *= 512;
				disk = dirname(real);
			}
			disk = basename(disk);
			if (pms_device_os(disk, rg, st, dev, &raw, &nraw))
				goto nomem;
			/* to partition offsets; what lies before it goes */
			size_t k = 0;

			for (size_t i = 0; i < nraw; i++) {
				uint64_t lo = raw[i].off;
				uint64_t hi = lo + raw[i].len;

				if (hi <= part || hi < lo)
					continue;
				if (lo < part)
					lo = part;
				raw[k].off = lo - part;
				raw[k].len = hi - lo;
				k++;
			}
			nraw = k;
			if (nraw &&
			    file_ranges(fd, size, raw, nraw, &v, &n, &cap)) {
				if (errno == ENOMEM || errno == E2BIG)
					goto nomem;
				/* no FIEMAP: the list cannot be mapped */
				dev->flags &= ~PMS_DEV_BADBLOCKS;
			}
		}
	}
	free(raw);
	raw = NULL;
	r = seam_ranges(path, &v, &n, &cap);
	if (r < 0)
		goto fail;
	if (r)
		dev->flags |= PMS_DEV_BADBLOCKS;
	if ((u = secure_getenv("PMEMSTORE_TEST_USC")) != NULL && *u) {
		char *end;

		errno = 0;
		dev->usc = strtoull(u, &end, 0);
		if (errno || *end) {
			pms_err(EINVAL,
				"pool %s: PMEMSTORE_TEST_USC is not a number",
				path);
			goto fail;
		}
		dev->flags |= PMS_DEV_USC;
	}
	u = secure_getenv("PMEMSTORE_TEST_CLEAR_FAIL");
	dev->clear_fail = u && *u && strcmp(u, "0") != 0;

	/* sorted, merged, within the pool */
	if (n)
		qsort(v, n, sizeof(*v), range_cmp);
	dev->nbad = 0;
	dev->bad_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = v[i].off, hi = v[i].off + v[i].len;
		struct pms_range *last = dev->nbad ? &v[dev->nbad - 1] : NULL;

		if (hi < lo || hi > size)
			hi = size; /* also an overflowing length */
		if (lo >= hi)
			continue;
		if (last && lo <= last->off + last->len) {
			if (hi > last->off + last->len)
				last->len = hi - last->off;
			continue;
		}
		v[dev->nbad].off = lo;
		v[dev->nbad].len = hi - lo;
		dev->nbad++;
	}
	for (size_t i = 0; i < dev->nbad; i++)
		dev->bad_bytes += v[i].len;
	free(dev->bad);
	dev->bad = v;
	return 0;
nomem:
	pms_err(errno == E2BIG ? E2BIG : ENOMEM,
		"pool %s: %s reading the device's bad blocks", path,
		errno == E2BIG ? "too many bad ranges" : "out of memory");
fail:
	free(raw);
	free(v);
	return -1;
}

/* devdax_align -- a device-dax node's alignment, from sysfs (0: unknown) */
static uint64_t
devdax_align(const struct stat *st)
{
	char file[96];
	uint64_t a = 0;

	snprintf(file, sizeof(file), "/sys/dev/char/%u:%u/device/align",
		 major(st->st_rdev), minor(st->st_rdev));
	if (sys_u64(file, &a) == 0 && a)
		return a;
	/* kernels before 5.10: the region's */
	snprintf(file, sizeof(file),
		 "/sys/dev/char/%u:%u/device/dax_region/align",
		 major(st->st_rdev), minor(st->st_rdev));
	if (sys_u64(file, &a) == 0)
		return a;
	return 0;
}

/*
 * pms_device_probe -- after the mapping: backing, alignment, names, bad
 * ranges and count (ps->dev)
 */
int
pms_device_probe(struct pmemstore *ps, const struct stat *st)
{
	struct pms_device *dev = &ps->dev;
	uint64_t size = ps->map_len;

	dev->flags |= pms_device_os_caps();
	if (ps->is_devdax) {
		dev->backing = PMEMSTORE_BACKING_DEVDAX;
		dev->flags |= PMS_DEV_MAP_SYNC;
		dev->align = devdax_align(st);
	} else {
		/* a DAX file system's file takes MAP_SYNC; no other does */
		void *p = mmap(NULL, PMS_PAGE_SIZE, PROT_READ,
			       MAP_SHARED_VALIDATE | MAP_SYNC, ps->fd, 0);

		if (p != MAP_FAILED) {
			munmap(p, PMS_PAGE_SIZE);
			dev->backing = PMEMSTORE_BACKING_FSDAX;
			if (!ps->rdonly && ps->is_pmem)
				dev->flags |= PMS_DEV_MAP_SYNC;
		} else {
			dev->backing = ps->is_pmem ? PMEMSTORE_BACKING_FORCED
						   : PMEMSTORE_BACKING_FILE;
		}
	}
	/* a file's mapping: 2 MiB aligned (libpmem's, for huge pages) or
	 * merely page aligned */
	if (dev->align == 0)
		dev->align = (uintptr_t)ps->base % PMS_HUGE_SIZE
				     ? PMS_PAGE_SIZE
				     : PMS_HUGE_SIZE;
	if (size == 0)
		size = (uint64_t)st->st_size;
	return pms_device_ranges(ps->path, ps->fd, st, size, dev);
}

/* pms_device_note_bad -- recovery found a BAD descriptor; 0 or -1 */
int
pms_device_note_bad(struct pms_device *dev, uint64_t page)
{
	if (dev->nnoted == dev->capnoted) {
		size_t c = dev->capnoted ? dev->capnoted * 2 : 16;
		uint64_t *x = realloc(dev->noted, c * sizeof(*x));

		if (x == NULL)
			return -1;
		dev->noted = x;
		dev->capnoted = c;
	}
	dev->noted[dev->nnoted++] = page;
	return 0;
}

/* pms_device_fini -- free the device state */
void
pms_device_fini(struct pms_device *dev)
{
	free(dev->bad);
	free(dev->pg);
	free(dev->noted);
	dev->noted = NULL;
	dev->nnoted = dev->capnoted = 0;
	dev->bad = NULL;
	dev->pg = NULL;
	dev->nbad = dev->npg = 0;
}

/* badpage_find -- the first entry of page >= p (binary search) */
static size_t
badpage_find(const struct pms_device *dev, uint64_t p)
{
	size_t lo = 0, hi = dev->npg;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (dev->pg[m].page < p)
			lo = m + 1;
		else
			hi = m;
	}
	return lo;
}

/*
 * pms_device_overlap -- the pool offset of the first bad byte not cleared
 * in pool bytes [off, +len) of the data area, or UINT64_MAX
 */
uint64_t
pms_device_overlap(const struct pmemstore *ps, uint64_t off, uint64_t len)
{
	const struct pms_device *dev = &ps->dev;
	uint64_t d = ps->sb.data_off, first, end;

	if (dev->npg == 0 || len == 0 || off < d)
		return UINT64_MAX;
	first = (off - d) >> PMS_PAGE_SHIFT;
	end = off + len;
	for (size_t i = badpage_find(dev, first); i < dev->npg; i++) {
		const struct pms_badpage *b = &dev->pg[i];
		uint64_t lo = d + (b->page << PMS_PAGE_SHIFT) + b->lo;
		uint64_t hi = d + (b->page << PMS_PAGE_SHIFT) + b->hi;

		if (lo >= end)
			break;
		if (hi > off && !__atomic_load_n(&b->cleared, __ATOMIC_ACQUIRE))
			return lo > off ? lo : off;
	}
	return UINT64_MAX;
}

/*
 * pms_device_range_bad -- do pool bytes [off, +len) overlap a bad range
 * (before the table of bad pages exists: create's placement of the index)?
 */
int
pms_device_range_bad(const struct pms_device *dev, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < dev->nbad; i++) {
		if (dev->bad[i].off >= off + len)
			break;
		if (dev->bad[i].off + dev->bad[i].len > off)
			return 1;
	}
	return 0;
}

/* build_pages -- the table of data pages with bad bytes, from dev->bad */
static int
build_pages(struct pmemstore *ps)
{
	struct pms_device *dev = &ps->dev;
	uint64_t d = ps->sb.data_off, dend = d + (ps->npages << PMS_PAGE_SHIFT);
	size_t cap = 0;

	for (size_t i = 0; i < dev->nbad; i++) {
		uint64_t lo = dev->bad[i].off, hi = lo + dev->bad[i].len;

		if (hi <= d || lo >= dend)
			continue;
		if (lo < d)
			lo = d;
		if (hi > dend)
			hi = dend;
		for (uint64_t p = (lo - d) >> PMS_PAGE_SHIFT;
		     d + (p << PMS_PAGE_SHIFT) < hi; p++) {
			uint64_t ps0 = d + (p << PMS_PAGE_SHIFT);
			uint64_t a = lo > ps0 ? lo - ps0 : 0;
			uint64_t b = hi - ps0 < PMS_PAGE_SIZE ? hi - ps0
							      : PMS_PAGE_SIZE;
			struct pms_badpage *e;

			/* ranges are sorted and merged: p >= every page so
			 * far, and equal only to the last */
			if (dev->npg && dev->pg[dev->npg - 1].page == p) {
				dev->pg[dev->npg - 1].hi = (uint32_t)b;
				continue;
			}
			if (dev->npg >= BAD_PAGES_MAX)
				return pms_err(
					E2BIG,
					"pool %s: more than %llu bad "
					"pages; the device needs repair",
					ps->path,
					(unsigned long long)BAD_PAGES_MAX);
			if (dev->npg == cap) {
				size_t c = cap ? cap * 2 : 16;
				void *x = realloc(dev->pg, c * sizeof(*e));

				if (x == NULL)
					return pms_err(ENOMEM,
						       "pool %s: out of memory",
						       ps->path);
				dev->pg = x;
				cap = c;
			}
			e = &dev->pg[dev->npg++];
			memset(e, 0, sizeof(*e));
			e->page = p;
			e->lo = (uint32_t)a;
			e->hi = (uint32_t)b;
		}
	}
	return 0;
}

/*
 * pms_device_meta_check -- bad blocks over the pool's metadata.  Under the
 * superblocks or the descriptors below the mark (what open reads and
 * writes): the open fails, before it writes anything.  Under descriptors
 * above it: the mark may never reach them, so the pages from the first
 * such descriptor on are withheld (the cap, metadata()).
 */
int
pms_device_meta_check(struct pmemstore *ps)
{
	struct pms_device *dev = &ps->dev;
	uint64_t used = PMS_DESC_OFF + ps->pages.hwm * sizeof(struct pms_desc);

	if (dev->nbad && dev->bad[0].off < used)
		return pms_err(EIO,
			       "pool %s: a bad block at pool offset %llu lies "
			       "in the pool's superblocks or descriptors; the "
			       "pool cannot be used safely: restore it from a "
			       "copy",
			       ps->path, (unsigned long long)dev->bad[0].off);
	return 0;
}

/* metadata -- see pms_device_meta_check; the cap, after recovery */
static int
metadata(struct pmemstore *ps)
{
	struct pms_device *dev = &ps->dev;
	uint64_t used = PMS_DESC_OFF + ps->pages.hwm * sizeof(struct pms_desc);
	uint64_t end = PMS_DESC_OFF + ps->npages * sizeof(struct pms_desc);

	for (size_t i = 0; i < dev->nbad; i++) {
		uint64_t lo = dev->bad[i].off, cap;

		if (lo >= end)
			break;
		if (lo < used)
			return pms_device_meta_check(ps);
		cap = (lo - PMS_DESC_OFF) / sizeof(struct pms_desc);
		if (cap < ps->pages.cap) {
			pthread_mutex_lock(&ps->pages.lock);
			if (pms_pages_take_locked(&ps->pages, cap,
						  ps->npages - cap) == 0)
				__atomic_fetch_add(&dev->pages_bad,
						   ps->npages - cap,
						   __ATOMIC_RELAXED);
			ps->pages.cap = cap;
			pthread_mutex_unlock(&ps->pages.lock);
		}
		break; /* sorted: the first is the lowest */
	}
	return 0;
}

/* is_bad_page -- is data page p in the table of bad pages? */
static int
is_bad_page(const struct pms_device *dev, uint64_t p)
{
	size_t i = badpage_find(dev, p);

	return i < dev->npg && dev->pg[i].page == p;
}

/*
 * reclaim -- a read-write open whose device list was read gives back the
 * BAD pages the list no longer names (their errors were cleared, or the
 * pool moved to a sound device): w0 = FREE, one 8-byte store each (w1 is
 * 0 already), flushed, one fence; a crash before it leaves BAD, after
 * it a free page -- both safe, the page holds nothing.
 */
static int
reclaim(struct pmemstore *ps)
{
	struct pms_device *dev = &ps->dev;
	uint64_t n = 0;

	if (ps->rdonly || !(dev->flags & PMS_DEV_BADBLOCKS))
		return 0;
	for (size_t i = 0; i < dev->nnoted; i++) {
		uint64_t p = dev->noted[i];

		if (p >= ps->pages.cap || is_bad_page(dev, p) ||
		    ps->desc[p].w0 != PMS_DESC_BAD)
			continue;
		__atomic_store_n(&ps->desc[p].w0, 0, __ATOMIC_RELEASE);
		if (pms_flush(ps, &ps->desc[p], sizeof(ps->desc[p])))
			return -1;
		if (pms_pages_add(&ps->pages, p, 1))
			return pms_err(ENOMEM, "pool %s: out of memory",
				       ps->path);
		n++;
	}
	if (n) {
		pms_drain(ps); /* free on media before it is handed out */
		__atomic_fetch_sub(&dev->pages_bad, n, __ATOMIC_RELAXED);
	}
	return 0;
}

/* write_bad -- descriptor p becomes BAD (w1, then w0); flushed, no fence */
static int
write_bad(struct pmemstore *ps, uint64_t p)
{
	__atomic_store_n(&ps->desc[p].w1, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ps->desc[p].w0, PMS_DESC_BAD, __ATOMIC_RELEASE);
	return pms_flush(ps, &ps->desc[p], sizeof(ps->desc[p]));
}

/*
 * pms_device_apply -- after recovery: the bad data pages are withheld
 * (free ones out of the page allocator, BAD on media when writable) or
 * counted as in use.  Pages above the mark get it raised over them first
 * (no descriptor above the mark is written but VOLATILE ones).
 */
int
pms_device_apply(struct pmemstore *ps)
{
	struct pms_device *dev = &ps->dev;
	uint64_t top = 0;
	int wrote = 0, ret = -1;

	if (metadata(ps) || build_pages(ps) || reclaim(ps))
		return -1;
	if (dev->npg == 0)
		return 0;
	pthread_mutex_lock(&ps->pages.lock);
	for (size_t i = 0; i < dev->npg; i++) {
		struct pms_badpage *b = &dev->pg[i];
		uint64_t p = b->page;

		if (p >= ps->pages.cap) {
			b->withheld = 1; /* counted with the cap */
			continue;
		}
		if (p < ps->pages.hwm &&
		    PMS_DESC_TYPE(ps->desc[p].w0) == PMS_DESC_BAD) {
			b->withheld = 1; /* counted by recovery */
			continue;
		}
		if (pms_pages_take_locked(&ps->pages, p, 1) == 0) {
			b->withheld = 1;
			__atomic_fetch_add(&dev->pages_bad, 1,
					   __ATOMIC_RELAXED);
			if (!ps->rdonly && p + 1 > top)
				top = p + 1;
		} else {
			dev->pages_bad_used++;
		}
	}
	if (top > ps->pages.hwm && pms_hwm_extend(ps, top))
		goto out;
	if (!ps->rdonly) {
		for (size_t i = 0; i < dev->npg; i++) {
			uint64_t p = dev->pg[i].page;

			if (!dev->pg[i].withheld ||
			    ps->desc[p].w0 == PMS_DESC_BAD)
				continue;
			if (write_bad(ps, p))
				goto out;
			wrote = 1;
		}
		if (wrote)
			pms_drain(ps); /* BAD: a crash before it is harmless */
	}
	ret = 0;
out:
	pthread_mutex_unlock(&ps->pages.lock);
	return ret;
}

/*
 * clear -- try to clear the poison of data page p: a file's blocks are
 * punched out and allocated again (the file system hands out good
 * blocks, zeroed); device-dax asks the bus to clear the error.  0 when
 * cleared.
 */
static int
clear(struct pmemstore *ps, uint64_t p, struct stat *st)
{
	uint64_t off = ps->sb.data_off + (p << PMS_PAGE_SHIFT);

	if (ps->dev.clear_fail || ps->rdonly)
		return -1;
	if (ps->is_devdax)
		return pms_device_os_clear(&ps->dev, st, off, PMS_PAGE_SIZE);
	if (fallocate(ps->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)PMS_PAGE_SIZE))
		return -1;
	/* blocks again, or the page would be a hole (SIGBUS on a full fs) */
	if (fallocate(ps->fd, 0, (off_t)off, (off_t)PMS_PAGE_SIZE))
		return -1;
	return 0;
}

/*
 * pms_device_free -- pages [start, +n) come back to the page allocator,
 * some of them bad: each bad page is cleared if it can be (then free),
 * else withheld and made BAD on media (flushed, one fence).  Returns 0.
 */
int
pms_device_free(struct pmemstore *ps, uint64_t start, uint64_t n)
{
	struct pms_device *dev = &ps->dev;
	uint64_t lo = start, end = start + n;
	struct stat st;
	int wrote = 0, have_st = fstat(ps->fd, &st) == 0;
	size_t i = badpage_find(dev, start);

	for (; i < dev->npg && dev->pg[i].page < end; i++) {
		struct pms_badpage *b = &dev->pg[i];

		if (__atomic_load_n(&b->cleared, __ATOMIC_ACQUIRE))
			continue;
		if (have_st && clear(ps, b->page, &st) == 0) {
			__atomic_store_n(&b->cleared, 1, __ATOMIC_RELEASE);
			__atomic_fetch_sub(&dev->pages_bad_used, 1,
					   __ATOMIC_RELAXED);
			continue;
		}
		if (b->page > lo)
			(void)pms_pages_add(&ps->pages, lo, b->page - lo);
		lo = b->page + 1;
		pthread_mutex_lock(&ps->pages.lock);
		b->withheld = 1;
		if (!ps->rdonly && b->page < ps->pages.hwm) {
			(void)write_bad(ps, b->page);
			wrote = 1;
		}
		pthread_mutex_unlock(&ps->pages.lock);
		__atomic_fetch_sub(&dev->pages_bad_used, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&dev->pages_bad, 1, __ATOMIC_RELAXED);
	}
	if (wrote)
		pms_drain(ps); /* BAD on media; free or BAD reads the same */
	if (lo < end)
		(void)pms_pages_add(&ps->pages, lo, end - lo);
	return 0;
}

/* usc_check -- the checksum of an unsafe-shutdown record */
static uint64_t
usc_check(const struct pms_shutdown *u)
{
	return XXH64(u, offsetof(struct pms_shutdown, check), PMS_USC_SEED);
}

/*
 * pms_device_unsafe -- at open, before anything is written: a pool not
 * closed cleanly, whose record has a count that the device's differs
 * from, was open at an unsafe shutdown: a full check runs now.  A finding
 * that recovery cannot repair (other than an object on a bad block, which
 * stays and gives EIO) fails the open (EUCLEAN): so does a media error
 * that stopped the check, or a bad block under the metadata.
 */
int
pms_device_unsafe(struct pmemstore *ps)
{
	struct pms_device *dev = &ps->dev;
	const struct pms_shutdown *u = NULL;
	char first[320];
	uint64_t media = 0;

	for (int c = 0; c < 2 && u == NULL; c++) {
		const struct pms_shutdown *x = &ps->sbp[c]->usc;

		if (x->check != 0 && x->check == usc_check(x))
			u = x;
	}
	if (u && (u->flags & PMS_USC_KNOWN))
		dev->usc_recorded = u->usc;
	if (!ps->dirty || u == NULL || !(u->flags & PMS_USC_KNOWN) ||
	    !(dev->flags & PMS_DEV_USC) || u->usc == dev->usc)
		return 0;
	dev->unsafe = 1;
	if (pms_check_held(ps->path, ps->fd, &dev->findings, &dev->repairable,
			   &media, first, sizeof(first)))
		return -1;
	/* media: objects on bad blocks only (they stay, and give EIO) */
	dev->checked = 1;
	if (dev->findings - dev->repairable > media)
		return pms_err(
			EUCLEAN,
			"pool %s: an unsafe shutdown (count %llu, now "
			"%llu) hit the pool while it was open, and the "
			"check found %llu problem%s that recovery "
			"cannot repair; run pmemstore_check; first: %s",
			ps->path, (unsigned long long)u->usc,
			(unsigned long long)dev->usc,
			(unsigned long long)(dev->findings - dev->repairable -
					     media),
			dev->findings - dev->repairable - media == 1 ? "" : "s",
			first);
	return 0;
}

/*
 * pms_device_record -- a read-write open's unsafe-shutdown record, both
 * copies, flushed (a device without a count leaves a known record); the
 * caller's fence (the clean-close invalidation's) makes it durable with
 * the invalidation, so a pool that is not clean has the count of the
 * open that made it so (a crash at that fence may keep either alone:
 * the record alone is harmless, the invalidation alone leaves the record
 * of an earlier open, whose count a check compares no worse).
 */
int
pms_device_record(struct pmemstore *ps)
{
	struct pms_shutdown u = {0};

	if (ps->dev.flags & PMS_DEV_USC) {
		u.usc = ps->dev.usc;
		u.flags = PMS_USC_KNOWN;
	} else {
		/* no count now: a known one stays (an unsafe shutdown it
		 * would reveal later must not be erased; a check too many
		 * is the price) */
		for (int c = 0; c < 2; c++) {
			const struct pms_shutdown *x = &ps->sbp[c]->usc;

			if (x->check != 0 && x->check == usc_check(x) &&
			    (x->flags & PMS_USC_KNOWN))
				return 0;
		}
	}
	u.check = usc_check(&u);
	for (int c = 0; c < 2; c++) {
		struct pms_shutdown *d = &ps->sbp[c]->usc;

		if (memcmp(d, &u, sizeof(u)) == 0)
			continue;
		__atomic_store_n(&d->usc, u.usc, __ATOMIC_RELAXED);
		__atomic_store_n(&d->flags, u.flags, __ATOMIC_RELAXED);
		__atomic_store_n(&d->rsvd, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&d->check, u.check, __ATOMIC_RELEASE);
		if (pms_flush(ps, d, sizeof(*d)))
			return -1;
	}
	return 0;
}
