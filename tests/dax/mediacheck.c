/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mediacheck.c -- libpmemstore's device layer on real DAX: pmemstore_info,
 * bad blocks planted in the guest, media errors as EIO
 *
 * Usage: mediacheck fsdax FILE    FILE on a DAX-mounted file system (FILE
 *                                 and FILE.open are created, then removed)
 *        mediacheck devdax /dev/daxN.M   (the whole device is formatted)
 *
 * This file owns the device-layer checks that scripts/dax-vm.sh runs in its
 * guest, as root, after daxcheck.  It prints pmemstore_info and a PASS or
 * FAIL line for every check; exit status 0 when every check passed, 1
 * otherwise, 2 on a usage error.
 *
 * fsdax: backing FSDAX with INFO_MAP_SYNC, the block device under the file
 * system as device, no unsafe-shutdown count (emulated NVDIMMs).  Then real
 * bad blocks: two pools are made (so that the blocks a hole punch frees
 * cannot end up under the second); in the first, 64 B and 1 MiB objects,
 * one 1 MiB object freed again.  A 4 KiB bad block is planted, by writing
 * "SECTOR 8" to /sys/block/pmemN/badblocks (the sector found with FIEMAP),
 * under a page of a live 1 MiB object and under a page of the freed one;
 * the kernel then fails a fresh mapping's access to those pages with
 * SIGBUS.  Reopened, the pool must report the bad ranges, persist_get of
 * the object over the bad block must fail with EIO (this program installs
 * no SIGBUS handler), the other objects must read back, no object allocated
 * until the pool is full (persistent, then volatile) may overlap a bad range,
 * pmemstore_check must report a MEDIA finding, and persist_free of the bad
 * object must work (the library punches the page out of the file, after
 * which the bad block is no longer under the pool).  In the second pool a
 * bad block is planted under the descriptor array (pool offset 8192): the
 * open must fail with EIO and the process go on.  Last, the bad blocks are
 * cleared the only way the emulation allows (umount, ndctl
 * disable-namespace and enable-namespace: the pmem driver re-reads the
 * region's empty list; a write through the block device cannot clear them,
 * QEMU has no clear-error command) and both pools must open again, the
 * withheld page of the first reclaimed.
 *
 * devdax: backing DEVDAX with INFO_MAP_SYNC, the device's alignment (sysfs
 * /sys/dev/char/M:m/align) in info.align, the mapping and every object of
 * 2 MiB or more aligned to it, device/region/namespace names as sysfs has
 * them, no unsafe-shutdown count.  A bad block cannot be planted on
 * device-dax in the guest (the region's badblocks file is read-only, the
 * device-dax driver does not consult bad blocks, ndctl inject-error is not
 * supported by QEMU), so the bad-block path runs through the library's test
 * seams PMEMSTORE_TEST_BADBLOCKS and PMEMSTORE_TEST_SIGBUS instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/fiemap.h>
#include <linux/fs.h>
#include <uuid/uuid.h>

#include "pmemstore.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define PAGE ((uint64_t)4096)
#define POOL_A_SIZE (32 * MIB)
#define POOL_B_SIZE (16 * MIB)
#define NSMALL 16
#define NLARGE 6
#define NOBJS (NSMALL + NLARGE)
#define MAX_NEW 40000 /* new objects per allocation sweep */
#define MAXBAD 8

static unsigned Failures;
static unsigned Checks;

/* check -- one PASS or FAIL line; returns cond */
static int check(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
check(int cond, const char *fmt, ...)
{
	va_list ap;
	Checks++;
	if (!cond)
		Failures++;
	printf("%s ", cond ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cond;
}

/* note -- an informational line */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
note(const char *fmt, ...)
{
	va_list ap;
	printf("  ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* phase -- a heading with the seconds since the program started */
static void
phase(const char *what)
{
	static struct timespec t0;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (t0.tv_sec == 0 && t0.tv_nsec == 0)
		t0 = t;
	printf("-- %s (%.1f s)\n", what,
	       (double)(t.tv_sec - t0.tv_sec) +
		       (double)(t.tv_nsec - t0.tv_nsec) / 1e9);
}

/* lasterr -- errno and the library's message, for a failed call */
static const char *
lasterr(int err)
{
	static char buf[512];
	snprintf(buf, sizeof(buf), "errno %d (%s): %s", err, strerror(err),
		 pmemstore_errormsg());
	return buf;
}

/* an object this program allocated */
struct obj {
	uuid_t id;
	size_t size;
	unsigned seed;
	uint64_t off; /* pool offset */
	int live;
};

/* a planted (or seam) bad range, pool offsets */
struct bad {
	uint64_t off, len;
	unsigned long long sector; /* fsdax: of the block device */
};

/* fill -- write the content of an object (a function of seed and offset) */
static void
fill(unsigned char *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* verify -- whether p holds what fill() wrote */
static int
verify(const unsigned char *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (p[i] != (unsigned char)x)
			return 0;
	}
	return 1;
}

/*
 * map_of -- the mapping of path (by name in /proc/self/maps) that holds
 * addr: its file offset for addr in *off; with addr NULL, the start of the
 * mapping of file offset 0 in *off.  0, or -1 when none.
 */
static int
map_of(const char *path, const void *addr, uint64_t *off)
{
	char real[PATH_MAX];
	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	FILE *f = fopen("/proc/self/maps", "r");
	if (f == NULL)
		return -1;
	char line[PATH_MAX + 256];
	int ret = -1;
	uintptr_t a = (uintptr_t)addr;
	while (ret != 0 && fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		unsigned long long foff;
		int name = 0;
		if (sscanf(line, "%lx-%lx %*s %llx %*s %*s %n", &lo, &hi, &foff,
			   &name) < 3 ||
		    name == 0)
			continue;
		char *n = line + name;
		n[strcspn(n, "\n")] = '\0';
		if (strcmp(n, real) != 0)
			continue;
		if (addr == NULL && foff == 0) {
			*off = lo;
			ret = 0;
		} else if (addr != NULL && a >= lo && a < hi) {
			*off = foff + (a - lo);
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

/* show_maps -- print the lines of /proc/self/maps that name path */
static void
show_maps(const char *path)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (f == NULL)
		return;
	char line[PATH_MAX + 256];
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, path) != NULL)
			printf("  maps: %s", line);
	fclose(f);
}

/* pool_off -- the pool offset of an address in the pool path's mapping */
static uint64_t
pool_off(const char *path, const void *addr)
{
	uint64_t off = UINT64_MAX;
	if (map_of(path, addr, &off) != 0)
		return UINT64_MAX;
	return off;
}

/* overlaps -- whether [off, +len) meets one of the bad ranges */
static int
overlaps(uint64_t off, uint64_t len, const struct bad *bad, unsigned nbad)
{
	for (unsigned i = 0; i < nbad; i++)
		if (off < bad[i].off + bad[i].len && bad[i].off < off + len)
			return 1;
	return 0;
}

/*
 * phys_of -- the byte offset on the block device of file offset off (by
 * FIEMAP); -1 when it has none.  *unwritten: the extent is unwritten.
 */
static long long
phys_of(const char *path, uint64_t off, int *unwritten)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	union {
		struct fiemap fm;
		char buf[sizeof(struct fiemap) + sizeof(struct fiemap_extent)];
	} u;
	memset(&u, 0, sizeof(u));
	u.fm.fm_start = off;
	u.fm.fm_length = 1;
	u.fm.fm_flags = FIEMAP_FLAG_SYNC;
	u.fm.fm_extent_count = 1;
	long long ret = -1;
	if (ioctl(fd, FS_IOC_FIEMAP, &u.fm) == 0 &&
	    u.fm.fm_mapped_extents == 1) {
		const struct fiemap_extent *e = &u.fm.fm_extents[0];
		if (off >= e->fe_logical &&
		    off < e->fe_logical + e->fe_length &&
		    !(e->fe_flags &
		      (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_ENCODED |
		       FIEMAP_EXTENT_NOT_ALIGNED))) {
			ret = (long long)(e->fe_physical +
					  (off - e->fe_logical));
			if (unwritten)
				*unwritten = !!(e->fe_flags &
						FIEMAP_EXTENT_UNWRITTEN);
		}
	}
	close(fd);
	return ret;
}

/* disk_of -- the block device ("pmem0") under the file system of path */
static int
disk_of(const char *path, char *disk, size_t len)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	char sys[64], target[PATH_MAX];
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(st.st_dev),
		 minor(st.st_dev));
	ssize_t n = readlink(sys, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	const char *b = strrchr(target, '/');
	int w = snprintf(disk, len, "%s", b ? b + 1 : target);
	return w > 0 && (size_t)w < len ? 0 : -1;
}

/* read_small -- the first line of a small (sysfs) file, or "" */
static void
read_small(const char *file, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(file, "r");
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* count_badblocks -- entries in /sys/block/DISK/badblocks (-1: unreadable) */
static int
count_badblocks(const char *disk)
{
	char file[128], line[128];
	snprintf(file, sizeof(file), "/sys/block/%s/badblocks", disk);
	FILE *f = fopen(file, "r");
	if (f == NULL)
		return -1;
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	return n;
}

/*
 * expected_bad -- how many of the planted ranges are still under the
 * file: the library should report exactly these (bad_ranges)
 */
static unsigned
expected_bad(const char *path, const struct bad *bad, unsigned nbad)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nbad; i++) {
		long long ph = phys_of(path, bad[i].off, NULL);
		if (ph >= 0 && (unsigned long long)ph / 512 == bad[i].sector)
			n++;
	}
	return n;
}

/* plant -- a 4 KiB bad block under pool offset off of path (fsdax) */
static int
plant(const char *path, const char *disk, uint64_t off, struct bad *b)
{
	int unwritten = 0;
	off &= ~(PAGE - 1);
	long long ph = phys_of(path, off, &unwritten);
	if (ph < 0 || ph % 512 != 0) {
		note("no FIEMAP physical offset for pool offset %" PRIu64, off);
		return -1;
	}
	b->off = off;
	b->len = PAGE;
	b->sector = (unsigned long long)ph / 512;
	char file[128];
	snprintf(file, sizeof(file), "/sys/block/%s/badblocks", disk);
	FILE *f = fopen(file, "w");
	if (f == NULL) {
		note("cannot open %s: %s", file, strerror(errno));
		return -1;
	}
	fprintf(f, "%llu 8\n", b->sector);
	int ret = fclose(f) == 0 ? 0 : -1;
	note("planted a bad block: %s pool offset %" PRIu64
	     " -> device byte %lld = %s sectors %llu+8%s: %s",
	     path, off, ph, disk, b->sector,
	     unwritten ? " (extent unwritten: reads see zeroes, no fault)" : "",
	     ret ? strerror(errno) : "accepted");
	return ret;
}

/* print_info -- pmemstore_info, one line per group of fields */
static void
print_info(const char *what, const struct pmemstore_info *in)
{
	static const char *const Backing[] = {"?", "DEVDAX", "FSDAX", "FILE",
					      "FORCED"};
	static const char *const Flag[] = {"NDCTL", "MAP_SYNC", "BADBLOCKS",
					   "USC",   "UNSAFE",	"CHECKED",
					   "DIRTY", "RDONLY"};
	char flags[128] = "";
	for (unsigned i = 0; i < 8; i++)
		if (in->flags & (1U << i)) {
			strcat(flags, flags[0] ? "|" : "");
			strcat(flags, Flag[i]);
		}
	printf("  info %s: backing %s, flags %s, pool %" PRIu64
	       " MiB, align %" PRIu64 "\n",
	       what, in->backing <= 4 ? Backing[in->backing] : "?",
	       flags[0] ? flags : "none", in->pool_size / MIB, in->align);
	printf("  info %s: device '%s' region '%s' ns '%s'\n", what, in->device,
	       in->region, in->ns);
	printf("  info %s: bad_ranges %" PRIu64 " bad_bytes %" PRIu64
	       " pages_bad %" PRIu64 " pages_bad_used %" PRIu64 "\n",
	       what, in->bad_ranges, in->bad_bytes, in->pages_bad,
	       in->pages_bad_used);
	printf("  info %s: usc %" PRIu64 " usc_recorded %" PRIu64
	       " check_findings %" PRIu64 " check_repairable %" PRIu64
	       "; pages %" PRIu64 " objects %" PRIu64 " bytes %" PRIu64 "\n",
	       what, in->usc, in->usc_recorded, in->check_findings,
	       in->check_repairable, in->pages_total, in->objects, in->bytes);
}

/* get_info -- pmemstore_info, printed; counts as a check */
static struct pmemstore_info
get_info(struct pmemstore *ps, const char *what)
{
	struct pmemstore_info in;
	memset(&in, 0, sizeof(in));
	errno = 0;
	int r = pmemstore_info(ps, &in);
	int err = errno;
	check(r == 0, "%s: pmemstore_info returns 0%s%s", what, r ? ": " : "",
	      r ? lasterr(err) : "");
	print_info(what, &in);
	return in;
}

/* no_usc -- emulated NVDIMMs: unsafe-shutdown counting is unsupported */
static void
no_usc(const struct pmemstore_info *in, const char *what)
{
	check(!(in->flags & PMEMSTORE_INFO_USC),
	      "%s: INFO_USC clear (emulated NVDIMMs count no unsafe "
	      "shutdowns)",
	      what);
	if (!(in->flags & PMEMSTORE_INFO_USC))
		note("unsafe-shutdown counting: not supported by this device");
	check(!(in->flags & (PMEMSTORE_INFO_UNSAFE | PMEMSTORE_INFO_CHECKED)),
	      "%s: no unsafe shutdown reported, no check ran", what);
}

/* open_pool -- pmemstore_open, reporting a failure */
static struct pmemstore *
open_pool(const char *path, unsigned flags, const char *what)
{
	errno = 0;
	struct pmemstore *ps = pmemstore_open(path, flags);
	int err = errno;
	check(ps != NULL, "%s: pmemstore_open(%s) works%s%s", what, path,
	      ps ? "" : ": ", ps ? "" : lasterr(err));
	return ps;
}

/* close_pool -- pmemstore_close, counted */
static void
close_pool(struct pmemstore *ps, const char *what)
{
	errno = 0;
	int r = pmemstore_close(ps);
	int err = errno;
	check(r == 0, "%s: pmemstore_close works%s%s", what, r ? ": " : "",
	      r ? lasterr(err) : "");
}

/* alloc_objs -- NSMALL objects of 64 B, NLARGE of 1 MiB, filled */
static int
alloc_objs(struct pmemstore *ps, const char *path, struct obj *objs, unsigned n,
	   unsigned seed0)
{
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		struct obj *o = &objs[i];
		uuid_generate_random(o->id);
		o->size = i < NSMALL ? 64 : 1 * MIB;
		o->seed = seed0 + i;
		unsigned char *p = persist_alloc(ps, o->id, o->size, 0);
		if (p == NULL) {
			note("persist_alloc(%zu): %s", o->size, lasterr(errno));
			continue;
		}
		fill(p, o->size, o->seed);
		persist(ps, p, o->size);
		o->off = pool_off(path, p);
		o->live = 1;
		ok++;
	}
	return check(ok == n, "allocated %u of %u objects (64 B and 1 MiB)", ok,
		     n);
}

/* verify_objs -- every live object but skip reads back; returns failures */
static unsigned
verify_objs(struct pmemstore *ps, const struct obj *objs, unsigned n, int skip)
{
	unsigned bad = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!objs[i].live || (int)i == skip)
			continue;
		size_t size = 0;
		errno = 0;
		unsigned char *p = persist_get(ps, objs[i].id, &size);
		if (p == NULL || size != objs[i].size ||
		    !verify(p, size, objs[i].seed)) {
			note("object %u (%zu B at pool offset %" PRIu64 "): %s",
			     i, objs[i].size, objs[i].off,
			     p ? "wrong size or content" : lasterr(errno));
			bad++;
		}
	}
	return bad;
}

/* touch_pages -- a store to every page of [p, +len): a bad page would fault */
static void
touch_pages(void *p, size_t len)
{
	volatile unsigned char *c = p;
	for (size_t off = 0; off < len; off += PAGE)
		c[off] = 0xa5;
	c[len - 1] = 0x5a;
}

/* a new object of an allocation sweep */
struct newobj {
	uuid_t id;
	void *p;
};

/*
 * sweep -- allocate persistent objects of each size until ENOMEM (or
 * MAX_NEW in all), check that none overlaps a bad range, store to every
 * page of each one that does not (with touch), then free them all; then
 * the same with the volatile heap (pmemstore_malloc until NULL).  Returns
 * the objects that overlapped.
 */
static unsigned
sweep(struct pmemstore *ps, const char *path, const struct bad *bad,
      unsigned nbad, int touch, const char *what)
{
	static const size_t Sizes[] = {1 * MIB, 64 * KIB, 4096, 64};
	struct newobj *nw = calloc(MAX_NEW, sizeof(*nw));
	if (nw == NULL)
		return 1;
	unsigned n = 0, hit = 0, nomem = 0;
	for (unsigned s = 0; s < sizeof(Sizes) / sizeof(Sizes[0]); s++) {
		while (n < MAX_NEW) {
			uuid_generate_random(nw[n].id);
			errno = 0;
			void *p = persist_alloc(ps, nw[n].id, Sizes[s], 0);
			if (p == NULL) {
				/* ENOMEM: the pool is full (ENOSPC is the
				 * file system's) */
				if (errno == ENOMEM)
					nomem++;
				else
					note("persist_alloc(%zu) in the sweep: "
					     "%s",
					     Sizes[s], lasterr(errno));
				break;
			}
			uint64_t off = pool_off(path, p);
			if (off == UINT64_MAX ||
			    overlaps(off, Sizes[s], bad, nbad)) {
				note("new object of %zu B at pool offset "
				     "%" PRIu64 " overlaps a bad range",
				     Sizes[s], off);
				hit++;
			} else if (touch) {
				touch_pages(p, Sizes[s]);
			}
			nw[n++].p = p;
		}
	}
	struct pmemstore_stats st;
	memset(&st, 0, sizeof(st));
	pmemstore_stats(ps, &st);
	note("%s: %u persistent objects allocated (%u sizes ended in ENOMEM: "
	     "pool full); "
	     "pages free %" PRIu64 " bad %" PRIu64,
	     what, n, nomem, st.pages_free, st.pages_bad);
	check(hit == 0 && n > 0,
	      "%s: none of %u new persistent objects overlaps a bad range",
	      what, n);
	unsigned freed = 0;
	for (unsigned i = 0; i < n; i++)
		freed += persist_free(ps, nw[i].id) == 0;
	check(freed == n, "%s: the %u new objects freed again (%u)", what, n,
	      freed);

	/* volatile: 256 KiB blocks until the pool has no page left */
	unsigned vn = 0, vhit = 0;
	while (vn < MAX_NEW) {
		void *p = pmemstore_malloc(ps, 256 * KIB);
		if (p == NULL)
			break;
		uint64_t off = pool_off(path, p);
		if (off == UINT64_MAX || overlaps(off, 256 * KIB, bad, nbad)) {
			note("volatile block at pool offset %" PRIu64
			     " overlaps a bad range",
			     off);
			vhit++;
		} else if (touch) {
			touch_pages(p, 256 * KIB);
		}
		nw[vn++].p = p;
	}
	check(vhit == 0 && vn > 0,
	      "%s: none of %u volatile blocks (256 KiB) overlaps a bad range",
	      what, vn);
	for (unsigned i = 0; i < vn; i++)
		pmemstore_free(ps, nw[i].p);
	free(nw);
	return hit + vhit;
}

/* a finding count of pmemstore_check_report */
struct findings {
	unsigned all, media;
};

/* on_finding -- print a finding and count it */
static int
on_finding(const struct pmemstore_finding *f, void *arg)
{
	struct findings *c = arg;
	c->all++;
	if (f->kind == PMEMSTORE_FINDING_MEDIA)
		c->media++;
	note("check finding: kind %u%s at pool offset %" PRIu64 "%s: %s",
	     f->kind, f->kind == PMEMSTORE_FINDING_MEDIA ? " (MEDIA)" : "",
	     f->offset, f->repairable ? " (repairable)" : "",
	     f->message ? f->message : "");
	return 0;
}

/* run_check -- pmemstore_check_report (no repair); the findings counted */
static struct findings
run_check(const char *path, int *ret, int *err)
{
	struct findings c = {0, 0};
	errno = 0;
	*ret = pmemstore_check_report(path, 0, on_finding, &c);
	*err = errno;
	note("pmemstore_check(%s): %d%s%s", path, *ret, *ret ? ", " : "",
	     *ret ? lasterr(*err) : "");
	return c;
}

/* clear_namespace -- drop the kernel's bad-block list of the namespace
 * under mnt: umount, disable and enable the namespace, mount -o dax */
static int
clear_namespace(const char *disk, const char *ns, const char *mnt)
{
	char cmd[1024];
	int w = snprintf(cmd, sizeof(cmd),
			 "umount %s && ndctl disable-namespace %s && "
			 "ndctl enable-namespace %s && mount -o dax /dev/%s %s",
			 mnt, ns, ns, disk, mnt);
	if (w < 0 || (size_t)w >= sizeof(cmd))
		return -1;
	note("clearing the bad blocks: %s", cmd);
	fflush(stdout);
	int r = system(cmd);
	return r == 0 ? 0 : -1;
}

/* mount_point -- where /dev/DISK is mounted (from /proc/mounts) */
static int
mount_point(const char *disk, char *mnt, size_t len)
{
	char dev[64];
	snprintf(dev, sizeof(dev), "/dev/%s", disk);
	FILE *f = fopen("/proc/mounts", "r");
	if (f == NULL)
		return -1;
	char d[256], m[256];
	int ret = -1;
	while (ret != 0 && fscanf(f, "%255s %255s %*[^\n]", d, m) == 2)
		if (strcmp(d, dev) == 0) {
			snprintf(mnt, len, "%s", m);
			ret = 0;
		}
	fclose(f);
	return ret;
}

/* fsdax -- see the banner */
static void
fsdax(const char *path)
{
	char path2[PATH_MAX], disk[64] = "", ns[32] = "";
	snprintf(path2, sizeof(path2), "%s.open", path);
	unlink(path);
	unlink(path2);
	/* path does not exist yet: its directory's device is the same */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	if (!check(disk_of(dirname(dir), disk, sizeof(disk)) == 0,
		   "fsdax: the block device under %s is known", path))
		return;
	note("block device under the file system: %s", disk);

	/* the pools; both before any bad block is planted */
	phase("fsdax: create two pools");
	errno = 0;
	struct pmemstore *ps = pmemstore_create(path, POOL_A_SIZE, 0600);
	if (!check(ps != NULL, "fsdax: pmemstore_create(%s) works%s%s", path,
		   ps ? "" : ": ", ps ? "" : lasterr(errno)))
		return;
	struct pmemstore_info in = get_info(ps, "fsdax create");
	check(in.backing == PMEMSTORE_BACKING_FSDAX, "fsdax: backing is FSDAX");
	check(in.flags & PMEMSTORE_INFO_MAP_SYNC, "fsdax: INFO_MAP_SYNC set");
	check(in.pool_size == POOL_A_SIZE, "fsdax: pool_size %" PRIu64,
	      in.pool_size);
	check(in.align >= 4096 && (in.align & (in.align - 1)) == 0,
	      "fsdax: align %" PRIu64 " is a power of 2 >= 4096", in.align);
	if (in.flags & PMEMSTORE_INFO_NDCTL) {
		check(strcmp(in.device, disk) == 0,
		      "fsdax: device '%s' is the block device %s", in.device,
		      disk);
		check(strncmp(in.region, "region", 6) == 0 &&
			      strncmp(in.ns, "namespace", 9) == 0,
		      "fsdax: region '%s' and namespace '%s' named", in.region,
		      in.ns);
		check(in.flags & PMEMSTORE_INFO_BADBLOCKS,
		      "fsdax: INFO_BADBLOCKS set (the list was read)");
	} else {
		note("the library was built without libndctl (INFO_NDCTL "
		     "clear)");
	}
	snprintf(ns, sizeof(ns), "%s", in.ns);
	no_usc(&in, "fsdax");
	check(in.bad_ranges == 0 && in.pages_bad == 0,
	      "fsdax: a new pool has no bad range and no bad page");
	if (!(in.flags & PMEMSTORE_INFO_BADBLOCKS)) {
		/* a library built without libndctl may not read the list */
		note("the library read no bad-block list: no bad-block checks");
		close_pool(ps, "fsdax create");
		unlink(path);
		return;
	}

	struct obj objs[NOBJS];
	memset(objs, 0, sizeof(objs));
	if (!alloc_objs(ps, path, objs, NOBJS, 1000))
		return;
	/* 1 MiB objects: NSMALL + 1 stays (bad block under it), + 3 goes */
	const unsigned used_bad = NSMALL + 1, freed_bad = NSMALL + 3;
	check(persist_free(ps, objs[freed_bad].id) == 0,
	      "fsdax: a 1 MiB object freed before the bad blocks come");
	objs[freed_bad].live = 0;
	close_pool(ps, "fsdax pool A");

	errno = 0;
	struct pmemstore *ps2 = pmemstore_create(path2, POOL_B_SIZE, 0600);
	if (!check(ps2 != NULL, "fsdax: pmemstore_create(%s) works%s%s", path2,
		   ps2 ? "" : ": ", ps2 ? "" : lasterr(errno)))
		return;
	struct obj objs2[NOBJS];
	memset(objs2, 0, sizeof(objs2));
	alloc_objs(ps2, path2, objs2, NSMALL + 2, 2000);
	close_pool(ps2, "fsdax pool B");

	/*
	 * A bad block that appears while the pool is open, under a page this
	 * open never mapped (a clean open reads no slab page): the library's
	 * read of the object's header takes a real SIGBUS from the DAX fault,
	 * which must come back as EIO.
	 */
	phase("fsdax: a bad block under an open pool");
	ps2 = open_pool(path2, 0, "fsdax pool B, open");
	if (ps2 != NULL) {
		struct bad rb;

		if (plant(path2, disk, objs2[0].off, &rb) == 0) {
			errno = 0;
			void *p = persist_get(ps2, objs2[0].id, NULL);
			int e = errno;

			check(p == NULL && e == EIO &&
				      strstr(pmemstore_errormsg(), "SIGBUS"),
			      "fsdax: persist_get of an object whose page went "
			      "bad while the pool was open fails with EIO (a "
			      "SIGBUS caught): %s",
			      p ? "it returned the object" : lasterr(e));
			check(1, "fsdax: the process survived the SIGBUS");
		}
		close_pool(ps2, "fsdax pool B, open");
	}

	/* plant: under the live object, its free neighbour, B's descriptors */
	phase("fsdax: plant bad blocks");
	struct bad bad[MAXBAD];
	unsigned nbad = 0;
	int planted = plant(path, disk, objs[used_bad].off + 256 * KIB,
			    &bad[nbad]) == 0;
	nbad += planted;
	int planted2 = plant(path, disk, objs[freed_bad].off + 512 * KIB,
			     &bad[nbad]) == 0;
	nbad += planted2;
	struct bad bad2;
	int planted3 = plant(path2, disk, 8192, &bad2) == 0;
	if (!check(planted && planted2 && planted3,
		   "fsdax: bad blocks planted through /sys/block/%s/badblocks",
		   disk))
		return;
	unsigned exp = expected_bad(path, bad, nbad);

	/* pool A with its bad blocks */
	phase("fsdax: open the pool with bad blocks");
	ps = open_pool(path, 0, "fsdax bad blocks");
	if (ps == NULL)
		return;
	in = get_info(ps, "fsdax bad blocks");
	check(in.flags & PMEMSTORE_INFO_BADBLOCKS,
	      "fsdax: INFO_BADBLOCKS set after planting");
	check(in.bad_ranges == exp && in.bad_bytes == exp * PAGE,
	      "fsdax: bad_ranges %" PRIu64 " (%u expected), bad_bytes %" PRIu64,
	      in.bad_ranges, exp, in.bad_bytes);
	check(in.pages_bad >= 1,
	      "fsdax: the free bad page is withheld "
	      "(pages_bad %" PRIu64 ")",
	      in.pages_bad);
	check(in.pages_bad_used >= 1,
	      "fsdax: the live object's bad page is counted (pages_bad_used "
	      "%" PRIu64 ")",
	      in.pages_bad_used);
	size_t size = 0;
	errno = 0;
	void *p = persist_get(ps, objs[used_bad].id, &size);
	int err = errno;
	check(p == NULL && err == EIO,
	      "fsdax: persist_get of the object over the bad block fails "
	      "with EIO (no SIGBUS): %s",
	      p ? "it returned a pointer" : lasterr(err));
	unsigned wrong = verify_objs(ps, objs, NOBJS, (int)used_bad);
	check(wrong == 0,
	      "fsdax: the other %u live objects read back (%u wrong)",
	      NOBJS - 2, wrong);
	phase("fsdax: allocate until the pool is full");
	sweep(ps, path, bad, nbad, 1, "fsdax");
	close_pool(ps, "fsdax bad blocks");

	int ret;
	struct findings fd = run_check(path, &ret, &err);
	check(fd.media >= 1,
	      "fsdax: pmemstore_check reports a MEDIA finding (%u of %u "
	      "findings)",
	      fd.media, fd.all);

	/* free the bad object: the library punches the bad page out */
	phase("fsdax: free the bad object");
	ps = open_pool(path, 0, "fsdax free the bad object");
	if (ps == NULL)
		return;
	errno = 0;
	int r = persist_free(ps, objs[used_bad].id);
	err = errno;
	check(r == 0, "fsdax: persist_free of the bad object works%s%s",
	      r ? ": " : "", r ? lasterr(err) : "");
	if (r == 0)
		objs[used_bad].live = 0;
	errno = 0;
	p = persist_get(ps, objs[used_bad].id, &size);
	check(p == NULL && errno == ENOENT,
	      "fsdax: the freed bad object is gone (ENOENT)");
	in = get_info(ps, "fsdax after the free");
	close_pool(ps, "fsdax after the free");
	exp = expected_bad(path, bad, nbad);
	note("planted ranges still under pool A: %u (a punched page moves "
	     "to another block)",
	     exp);
	ps = open_pool(path, 0, "fsdax reopen after the free");
	if (ps == NULL)
		return;
	in = get_info(ps, "fsdax reopen after the free");
	check(in.bad_ranges == exp,
	      "fsdax: bad_ranges %" PRIu64 " is what FIEMAP says is still "
	      "under the pool (%u)",
	      in.bad_ranges, exp);
	wrong = verify_objs(ps, objs, NOBJS, -1);
	check(wrong == 0, "fsdax: every live object reads back (%u wrong)",
	      wrong);
	close_pool(ps, "fsdax reopen after the free");
	fd = run_check(path, &ret, &err);
	check(fd.media == 0,
	      "fsdax: no MEDIA finding once the bad object is freed (%u of "
	      "%u findings)",
	      fd.media, fd.all);

	/* pool B: a bad block under its descriptors */
	phase("fsdax: open a pool with a bad descriptor page");
	errno = 0;
	ps2 = pmemstore_open(path2, 0);
	err = errno;
	check(ps2 == NULL && err == EIO,
	      "fsdax: pmemstore_open over a bad descriptor page fails with "
	      "EIO: %s",
	      ps2 ? "it opened" : lasterr(err));
	if (ps2 != NULL)
		pmemstore_close(ps2);
	errno = 0;
	ps2 = pmemstore_open(path2, PMEMSTORE_RDONLY);
	err = errno;
	check(ps2 == NULL && err == EIO,
	      "fsdax: the same, read-only, fails with EIO: %s",
	      ps2 ? "it opened" : lasterr(err));
	if (ps2 != NULL)
		pmemstore_close(ps2);
	fd = run_check(path2, &ret, &err);
	check(ret != 0, "fsdax: pmemstore_check of that pool fails (%d, %s)",
	      ret, strerror(err));
	check(1, "fsdax: the process survived the media errors");

	/* clear the bad blocks; both pools open again */
	char mnt[256];
	if (ns[0] == '\0' || mount_point(disk, mnt, sizeof(mnt)) != 0) {
		note("no namespace name or mount point: the bad blocks stay");
		unlink(path);
		unlink(path2);
		return;
	}
	phase("fsdax: clear the bad blocks");
	r = clear_namespace(disk, ns, mnt);
	check(r == 0 && count_badblocks(disk) == 0,
	      "fsdax: namespace %s re-enabled: /sys/block/%s/badblocks is "
	      "empty",
	      ns, disk);
	ps2 = open_pool(path2, 0, "fsdax pool B after clearing");
	if (ps2 != NULL) {
		in = get_info(ps2, "fsdax pool B after clearing");
		check(in.bad_ranges == 0, "fsdax: pool B has no bad range");
		wrong = verify_objs(ps2, objs2, NSMALL + 2, -1);
		check(wrong == 0,
		      "fsdax: pool B's objects read back (%u "
		      "wrong)",
		      wrong);
		close_pool(ps2, "fsdax pool B after clearing");
	}
	ps = open_pool(path, 0, "fsdax pool A after clearing");
	if (ps != NULL) {
		in = get_info(ps, "fsdax pool A after clearing");
		check(in.bad_ranges == 0, "fsdax: pool A has no bad range");
		check(in.pages_bad == 0,
		      "fsdax: pool A's withheld page is reclaimed now that the "
		      "device lists no bad block there (pages_bad %" PRIu64 ")",
		      in.pages_bad);
		wrong = verify_objs(ps, objs, NOBJS, -1);
		check(wrong == 0,
		      "fsdax: pool A's objects read back (%u "
		      "wrong)",
		      wrong);
		close_pool(ps, "fsdax pool A after clearing");
	}
	unlink(path);
	unlink(path2);
	phase("fsdax: done");
}

/* dax_align -- the alignment of the device-dax node (sysfs), or 0 */
static uint64_t
dax_align(const char *path, char *region, size_t rlen)
{
	struct stat st;
	region[0] = '\0';
	if (stat(path, &st) != 0)
		return 0;
	char sys[128], buf[64], target[PATH_MAX];
	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/align",
		 major(st.st_rdev), minor(st.st_rdev));
	read_small(sys, buf, sizeof(buf));
	/* .../ndbus0/region1/dax1.0/dax1.0 */
	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	if (realpath(sys, target) != NULL) {
		char *r = strstr(target, "/region");
		if (r != NULL) {
			r++;
			snprintf(region, rlen, "%.*s", (int)strcspn(r, "/"), r);
		}
	}
	return strtoull(buf, NULL, 0);
}

/* devdax -- see the banner */
static void
devdax(const char *path)
{
	char region[64];
	uint64_t align = dax_align(path, region, sizeof(region));
	note("%s: sysfs align %" PRIu64 ", region '%s'", path, align, region);
	check(align >= 4096,
	      "devdax: the device's align is known (%" PRIu64 ")", align);
	phase("devdax: create");
	errno = 0;
	struct pmemstore *ps = pmemstore_create(path, 0, 0);
	if (!check(ps != NULL, "devdax: pmemstore_create(%s) works%s%s", path,
		   ps ? "" : ": ", ps ? "" : lasterr(errno)))
		return;
	struct pmemstore_info in = get_info(ps, "devdax create");
	check(in.backing == PMEMSTORE_BACKING_DEVDAX, "devdax: backing is "
						      "DEVDAX");
	check(in.flags & PMEMSTORE_INFO_MAP_SYNC,
	      "devdax: INFO_MAP_SYNC set (device-dax)");
	check(in.align == align, "devdax: align %" PRIu64 " is the device's",
	      in.align);
	uint64_t base = 0;
	int found = map_of(path, NULL, &base) == 0;
	if (!check(found && base != 0 && align && base % align == 0,
		   "devdax: the mapping (0x%" PRIx64 ") is %" PRIu64 "-aligned",
		   base, align))
		show_maps(path);
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	check(strcmp(in.device, b) == 0, "devdax: device '%s' is %s", in.device,
	      b);
	if (in.flags & PMEMSTORE_INFO_NDCTL) {
		check(strcmp(in.region, region) == 0,
		      "devdax: region '%s' is sysfs's '%s'", in.region, region);
		check(strncmp(in.ns, "namespace", 9) == 0,
		      "devdax: namespace '%s' named", in.ns);
		check(in.flags & PMEMSTORE_INFO_BADBLOCKS,
		      "devdax: INFO_BADBLOCKS set (the region's list was "
		      "read)");
	} else {
		note("the library was built without libndctl (INFO_NDCTL "
		     "clear)");
	}
	check(in.bad_ranges == 0, "devdax: no bad range");
	no_usc(&in, "devdax");

	/* objects of 2 MiB or more are aligned to the device's alignment */
	static const size_t Big[] = {2 * MIB, 4 * MIB, 3 * MIB};
	struct obj objs[NOBJS + 3];
	memset(objs, 0, sizeof(objs));
	unsigned misaligned = 0;
	for (unsigned i = 0; i < 3; i++) {
		struct obj *o = &objs[NOBJS + i];
		uuid_generate_random(o->id);
		o->size = Big[i];
		o->seed = 3000 + i;
		unsigned char *p = persist_alloc(ps, o->id, o->size, 0);
		if (p == NULL) {
			misaligned++;
			continue;
		}
		o->live = 1;
		o->off = pool_off(path, p);
		if ((uintptr_t)p % (2 * MIB) != 0) {
			note("object of %zu B at %p", o->size, (void *)p);
			misaligned++;
		}
		fill(p, o->size, o->seed);
		persist(ps, p, o->size);
	}
	check(misaligned == 0, "devdax: 2, 4 and 3 MiB objects are 2 MiB "
			       "aligned");
	alloc_objs(ps, path, objs, NOBJS, 4000);
	close_pool(ps, "devdax create");

	/*
	 * bad blocks through the seam: a page of a live 1 MiB object, and
	 * of a freed one
	 */
	ps = open_pool(path, 0, "devdax reopen");
	if (ps == NULL)
		return;
	const unsigned used_bad = NSMALL + 1, freed_bad = NSMALL + 3;
	check(persist_free(ps, objs[freed_bad].id) == 0,
	      "devdax: a 1 MiB object freed");
	objs[freed_bad].live = 0;
	close_pool(ps, "devdax reopen");
	struct bad bad[2] = {
		{(objs[used_bad].off + 256 * KIB) & ~(PAGE - 1), PAGE, 0},
		{(objs[freed_bad].off + 512 * KIB) & ~(PAGE - 1), PAGE, 0},
	};
	char seam[128];
	snprintf(seam, sizeof(seam), "%" PRIu64 ":4096,%" PRIu64 ":4096",
		 bad[0].off, bad[1].off);
	note("PMEMSTORE_TEST_BADBLOCKS=%s", seam);
	setenv("PMEMSTORE_TEST_BADBLOCKS", seam, 1);
	phase("devdax: bad blocks by the seam");
	ps = open_pool(path, 0, "devdax seam bad blocks");
	if (ps != NULL) {
		in = get_info(ps, "devdax seam bad blocks");
		check(in.bad_ranges == 2 && in.pages_bad >= 1 &&
			      in.pages_bad_used >= 1,
		      "devdax: 2 bad ranges, a withheld page, a bad page in "
		      "use");
		size_t size;
		errno = 0;
		void *p = persist_get(ps, objs[used_bad].id, &size);
		int err = errno;
		check(p == NULL && err == EIO,
		      "devdax: persist_get over the bad block fails with "
		      "EIO: %s",
		      p ? "it returned a pointer" : lasterr(err));
		unsigned wrong =
			verify_objs(ps, objs, NOBJS + 3, (int)used_bad);
		check(wrong == 0,
		      "devdax: the other objects read back (%u "
		      "wrong)",
		      wrong);
		sweep(ps, path, bad, 2, 0, "devdax");
		errno = 0;
		int r = persist_free(ps, objs[used_bad].id);
		err = errno;
		check(r == 0,
		      "devdax: persist_free of the bad object works%s%s",
		      r ? ": " : "", r ? lasterr(err) : "");
		in = get_info(ps, "devdax after the free");
		note("device-dax clearing (ndctl clear-error) %s: pages_bad "
		     "%" PRIu64,
		     in.pages_bad >= 2 ? "failed or was not tried (QEMU has "
					 "no clear-error command)"
				       : "worked",
		     in.pages_bad);
		close_pool(ps, "devdax seam bad blocks");
	}
	unsetenv("PMEMSTORE_TEST_BADBLOCKS");

	/* a SIGBUS under the descriptors at open (seam) becomes EIO */
	phase("devdax: a SIGBUS at open by the seam");
	setenv("PMEMSTORE_TEST_SIGBUS", "8192", 1);
	errno = 0;
	ps = pmemstore_open(path, 0);
	int err = errno;
	check(ps == NULL && err == EIO,
	      "devdax: open with a SIGBUS under the descriptors "
	      "(PMEMSTORE_TEST_SIGBUS=8192) fails with EIO: %s",
	      ps ? "it opened" : lasterr(err));
	if (ps != NULL)
		pmemstore_close(ps);
	unsetenv("PMEMSTORE_TEST_SIGBUS");
	check(1, "devdax: the process survived");
}

/* main -- see the banner */
int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3 ||
	    (strcmp(argv[1], "fsdax") != 0 && strcmp(argv[1], "devdax") != 0)) {
		fprintf(stderr,
			"usage: %s fsdax FILE-ON-DAX-FS | devdax /dev/daxN.M\n",
			argv[0]);
		return 2;
	}
	if (getenv("PMEM_IS_PMEM_FORCE") != NULL) {
		fprintf(stderr, "mediacheck: unset PMEM_IS_PMEM_FORCE\n");
		return 2;
	}
	printf("mediacheck %s %s\n", argv[1], argv[2]);
	phase("start");
	if (strcmp(argv[1], "fsdax") == 0)
		fsdax(argv[2]);
	else
		devdax(argv[2]);
	/* every pool is closed: the library's SIGBUS handler is gone */
	struct sigaction sa;
	check(sigaction(SIGBUS, NULL, &sa) == 0 &&
		      !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL,
	      "SIGBUS is back to SIG_DFL after the last close");
	printf("mediacheck %s %s: %u checks, %u failed: %s\n", argv[1], argv[2],
	       Checks, Failures, Failures ? "FAIL" : "PASS");
	return Failures ? 1 : 0;
}
