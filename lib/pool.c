/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pool.c -- owns the pool's lifecycle: create, open, close; the file lock;
 * the mapping; the superblock and its two copies; the high-water mark;
 * statistics.
 *
 * Create protocol: the file is created exclusively and sparse, so every
 * descriptor reads as zero (free).  The high-water mark words are written
 * and fenced first, then both superblock copies, flushed, one fence.  A
 * crash before that fence leaves a file without a valid superblock, which
 * open rejects ("not a pmemstore pool" or "checksum mismatch in both
 * copies"); after it, an empty pool.  One valid copy is enough to open; an
 * open for writing restores the other from it.
 *
 * Space: the file is sparse, and a store through the mapping into a hole
 * the file system cannot fill raises SIGBUS.  So file blocks are reserved
 * (fallocate) under every byte before the library can first touch it:
 * superblocks at create, descriptors when the high-water mark covers
 * them, data pages when the page allocator hands them out
 * (pms_pool_reserve).  A full file system is then a failed call (ENOSPC).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <libpmem.h>

#include "pool.h"
#include "flush.h"
#include "checksum.h"
#include "errors.h"
#include "plant.h"
#include "recover.h"
#include "object.h"
#include "index.h"
#include "vheap.h"
#include "media.h"
#include "device.h"

/*
 * pms_geometry -- pages and data offset of a pool of size bytes: two
 * superblock pages, 16 bytes of descriptor per page, the data area at the
 * next 2 MiB boundary.  Fails when not even one page fits.
 */
int
pms_geometry(uint64_t size, uint64_t *npages, uint64_t *data_off)
{
	uint64_t n, off;

	if (size < PMS_DESC_OFF + PMS_HUGE_SIZE)
		return -1;
	n = (size - PMS_DESC_OFF) / (PMS_PAGE_SIZE + sizeof(struct pms_desc));
	if (n > PMS_MAX_NPAGES)
		n = PMS_MAX_NPAGES;
	off = (PMS_DESC_OFF + n * sizeof(struct pms_desc) + PMS_HUGE_SIZE - 1) &
	      ~(PMS_HUGE_SIZE - 1);
	if (off >= size)
		return -1;
	if (n > (size - off) / PMS_PAGE_SIZE)
		n = (size - off) / PMS_PAGE_SIZE;
	if (n == 0)
		return -1;
	*npages = n;
	*data_off = off;
	return 0;
}

/*
 * reserve_bytes -- have the file system allocate blocks under bytes
 * [off, off + len) of the pool file.  Returns 0 or an errno value.
 *
 * Why before the first store: a store (on tmpfs even a load) through a
 * shared mapping into a hole makes the kernel allocate the block in the
 * page fault, and when it cannot, all it can do is raise SIGBUS.
 * fallocate says ENOSPC instead, to a caller that can still fail cleanly.
 * It is not a persistence operation: the bytes read as zero before and
 * after it, so no pmem_* call is needed, and a crash after it leaves
 * allocated zero blocks, which the format cannot tell from a hole.
 *
 * Mode 0 only: never punches a hole and never changes the file's size
 * (every range lies inside the pool, and pool_size <= the file's size).
 * Nothing to do for device-dax (no file system behind it) or a read-only
 * handle (it never writes).  A file system without fallocate (EOPNOTSUPP,
 * ENOSYS) is remembered and the pool works as it did before reservation
 * existed: there, a store may still fault when the file system is full.
 */
static int
reserve_bytes(struct pmemstore *ps, uint64_t off, uint64_t len)
{
	int err;

	if (ps->is_devdax || ps->rdonly || ps->no_reserve || len == 0)
		return 0;
	do {
		if (fallocate(ps->fd, 0, (off_t)off, (off_t)len) == 0)
			return 0;
		err = errno;
	} while (err == EINTR);
	if (err == EOPNOTSUPP || err == ENOSYS) {
		ps->no_reserve = 1;
		return 0;
	}
	return err;
}

/* reserve_fail -- report a failed reservation of len bytes of what */
static int
reserve_fail(struct pmemstore *ps, int err, uint64_t len, const char *what)
{
	if (err == ENOSPC)
		return pms_err(ENOSPC,
			       "pool %s: the file system holding it is full "
			       "(%llu bytes of %s could not be reserved)",
			       ps->path, (unsigned long long)len, what);
	if (err == EDQUOT)
		return pms_err(EDQUOT,
			       "pool %s: the disk quota of its owner is "
			       "exhausted (%llu bytes of %s could not be "
			       "reserved)",
			       ps->path, (unsigned long long)len, what);
	return pms_err(err, "pool %s: cannot reserve %llu bytes of %s: %s",
		       ps->path, (unsigned long long)len, what, strerror(err));
}

/*
 * pms_pool_reserve -- file blocks under data pages [page, page + npages),
 * before the page allocator hands them out.  Called with the page lock
 * held, which guards ps->backed.
 *
 * Pages below ps->backed are known to have blocks.  Past it, this
 * reserves ahead, from the mark to the largest of the run's end and the
 * mark plus a step: the mark itself (doubling), at least 2 MiB and at most
 * RESERVE_STEP_MAX (never past the pool's end).  Filling a small pool so
 * costs a logarithmic number of fallocate calls, and a large sparse pool
 * never holds more than 64 MiB of file blocks beyond what it used.  When
 * the file system cannot hold that much, exactly the part of the run
 * above the mark is tried; when that fails too, the call fails (ENOSPC)
 * and the caller leaves the run free.
 */
#define RESERVE_STEP_MAX (64ULL << 20 >> PMS_PAGE_SHIFT) /* pages */

int
pms_pool_reserve(struct pmemstore *ps, uint64_t page, uint64_t npages)
{
	uint64_t end = page + npages, lo, want;
	int err;

	if (end <= ps->backed)
		return 0;
	want = ps->backed * 2;
	if (want < ps->backed + PMS_HUGE_PAGES)
		want = ps->backed + PMS_HUGE_PAGES;
	if (want > ps->backed + RESERVE_STEP_MAX)
		want = ps->backed + RESERVE_STEP_MAX;
	if (want < end)
		want = end;
	if (want > ps->npages)
		want = ps->npages;
	err = reserve_bytes(ps,
			    ps->sb.data_off + (ps->backed << PMS_PAGE_SHIFT),
			    (want - ps->backed) << PMS_PAGE_SHIFT);
	if (err == 0) {
		ps->backed = want;
		return 0;
	}
	lo = page > ps->backed ? page : ps->backed;
	if (err == ENOSPC || err == EDQUOT)
		err = reserve_bytes(ps,
				    ps->sb.data_off + (lo << PMS_PAGE_SHIFT),
				    (end - lo) << PMS_PAGE_SHIFT);
	if (err)
		return reserve_fail(ps, err, (end - lo) << PMS_PAGE_SHIFT,
				    "data pages");
	if (lo == ps->backed)
		ps->backed = end;
	return 0;
}

/*
 * stray -- must an extension of the mark zero descriptor p?  Anything
 * but FREE and VOLATILE (the volatile heap's pages, live or of an earlier
 * run, which an open takes as free wherever they are) is damage or what a
 * device held before.  The volatile heap writes descriptors concurrently:
 * atomic loads.
 */
static int
stray(struct pmemstore *ps, uint64_t p)
{
	uint64_t w0 = __atomic_load_n(&ps->desc[p].w0, __ATOMIC_RELAXED);

	if (w0 == PMS_DESC_VOLATILE)
		return 0;
	return w0 != 0 || __atomic_load_n(&ps->desc[p].w1, __ATOMIC_RELAXED);
}

/* pms_pool_reserve_exact -- file blocks under data pages [page, +n) */
int
pms_pool_reserve_exact(struct pmemstore *ps, uint64_t page, uint64_t n)
{
	int err = reserve_bytes(ps, ps->sb.data_off + (page << PMS_PAGE_SHIFT),
				n << PMS_PAGE_SHIFT);

	return err ? reserve_fail(ps, err, n << PMS_PAGE_SHIFT, "data pages")
		   : 0;
}

/*
 * pms_pool_reserve_desc -- file blocks under the descriptors of pages
 * [page, +n): the volatile heap writes descriptors above the mark, which
 * no extension has reserved yet
 */
int
pms_pool_reserve_desc(struct pmemstore *ps, uint64_t page, uint64_t n)
{
	int err =
		reserve_bytes(ps, PMS_DESC_OFF + page * sizeof(struct pms_desc),
			      n * sizeof(struct pms_desc));

	return err ? reserve_fail(ps, err, n * sizeof(struct pms_desc),
				  "descriptors")
		   : 0;
}

/*
 * pms_pool_punch -- give the file blocks under data pages [page, +n) back
 * to the file system (they read as zero after).  -1 when there is
 * nothing to punch: device-dax, a read-only handle, or a file system
 * without hole punching.  Not a persistence operation: the pages are the
 * volatile heap's, whose contents no open reads.
 */
int
pms_pool_punch(struct pmemstore *ps, uint64_t page, uint64_t n)
{
	int err;

	if (ps->is_devdax || ps->rdonly ||
	    __atomic_load_n(&ps->no_punch, __ATOMIC_RELAXED) || n == 0)
		return -1;
	do {
		if (fallocate(
			    ps->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    (off_t)(ps->sb.data_off + (page << PMS_PAGE_SHIFT)),
			    (off_t)(n << PMS_PAGE_SHIFT)) == 0)
			return 0;
		err = errno;
	} while (err == EINTR);
	if (err == EOPNOTSUPP || err == ENOSYS)
		__atomic_store_n(&ps->no_punch, 1, __ATOMIC_RELAXED);
	return -1;
}

/*
 * pms_hwm_extend -- raise the high-water mark to cover descriptors
 * [0, end), growing geometrically.  Called with the page lock held.
 *
 * Descriptors at or above the mark are never read by open, so they may
 * hold anything (a device-dax namespace is not zeroed).  The newly covered
 * ones get file blocks first (reserve_bytes: ENOSPC fails the extension,
 * and the allocation that needed it, having changed nothing), are zeroed
 * and fenced; then the mark is written to both superblock pages (8-byte
 * stores), flushed, one fence.  A crash before that fence leaves the old
 * mark, and no descriptor above it was written.
 */
int
pms_hwm_extend(struct pmemstore *ps, uint64_t end)
{
	uint64_t old = ps->pages.hwm, n = old * 2;
	int zeroed = 0, err;

	if (n < old + PMS_HWM_INITIAL)
		n = old + PMS_HWM_INITIAL;
	/*
	 * Room to spare above the request: a large allocation takes its
	 * run, then a group of pages for its record page (heap.c), and that
	 * group must not need a second extension (and a second extra fence)
	 * of its own.
	 */
	if (n < end + PMS_GROUP_PAGES * 2)
		n = end + PMS_GROUP_PAGES * 2;
	if (n > ps->npages)
		n = ps->npages;
	if (n > ps->pages.cap)
		n = ps->pages.cap; /* descriptors on a bad block beyond */
	/* blocks under the new descriptors before the loop below reads them
	 * (a load from a tmpfs hole allocates too) or anything writes them */
	err = reserve_bytes(ps, PMS_DESC_OFF + old * sizeof(struct pms_desc),
			    (n - old) * sizeof(struct pms_desc));
	if (err)
		return reserve_fail(ps, err,
				    (n - old) * sizeof(struct pms_desc),
				    "descriptors");
	for (uint64_t i = old; i < n; i++) {
		if (!stray(ps, i))
			continue;
		uint64_t j = i + 1;

		while (j < n && stray(ps, j))
			j++;
		if (pms_memset_nodrain(ps, &ps->desc[i], 0,
				       (j - i) * sizeof(struct pms_desc)))
			return -1;
		zeroed = 1;
		i = j;
	}
	/* the zeroed descriptors are durable before the mark covers them */
	if (zeroed)
		pms_drain(ps);
	for (int c = 0; c < 2; c++) {
		__atomic_store_n(&ps->sbp[c]->hwm, n, __ATOMIC_RELAXED);
		if (pms_flush(ps, &ps->sbp[c]->hwm, 8))
			return -1;
	}
	pms_drain(ps); /* the mark is durable before a descriptor above old */
	ps->pages.hwm = n;
	return 0;
}

/* pool_free -- release the volatile state of a handle */
static void
pool_free(struct pmemstore *ps)
{
	pms_vheap_fini(ps); /* the arenas hand their pages back first */
	pms_heap_registry_del(ps);
	if (ps->index.stripes)
		pms_index_fini(&ps->index);
	if (ps->heaps.heap0)
		pms_heaps_fini(ps);
	pms_pages_fini(&ps->pages);
	if (ps->base) {
		if (ps->rdonly)
			munmap(ps->base, ps->map_len);
		else
			pmem_unmap(ps->base, ps->map_len);
	}
	if (ps->fd >= 0)
		close(ps->fd);
	pms_device_fini(&ps->dev);
	if (ps->media)
		pms_media_release();
	pms_counters_free(ps);
	pthread_mutex_destroy(&ps->ctr_lock);
	pthread_mutex_destroy(&ps->vh_lock);
	free(ps->path);
	free(ps);
}

/* handle ids, never reused: key the threads' counter caches (flush.c) */
static uint64_t next_id;

/* pool_new -- an empty handle for path */
static struct pmemstore *
pool_new(const char *path)
{
	struct pmemstore *ps = calloc(1, sizeof(*ps));

	if (ps == NULL) {
		pms_err(ENOMEM, "out of memory");
		return NULL;
	}
	ps->fd = -1;
	ps->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	pthread_mutex_init(&ps->ctr_lock, NULL);
	pthread_mutex_init(&ps->vh_lock, NULL);
	ps->path = strdup(path);
	pms_pages_init(&ps->pages);
	if (ps->path == NULL || pms_heaps_init(ps) ||
	    pms_index_init(&ps->index)) {
		pool_free(ps);
		pms_err(ENOMEM, "out of memory");
		return NULL;
	}
	return ps;
}

/*
 * lock_file -- the advisory lock held as long as the pool is open.
 *
 * fresh: the file was just created (O_EXCL) by this call.  Between that
 * and the flock, a concurrent open can lock the empty file; it fails on it
 * and lets go within microseconds.  Giving up at once would fail the
 * create (and remove the file) over a pool nobody holds, so a fresh file
 * is retried for up to LOCK_FRESH_WAIT_NS.
 */
#define LOCK_FRESH_WAIT_NS 1000000000LL

static int
lock_file(struct pmemstore *ps, int fresh)
{
	struct timespec t0, now, nap = {0, 100000};
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (flock(ps->fd, (ps->rdonly ? LOCK_SH : LOCK_EX) | LOCK_NB) ==
		    0)
			return 0;
		err = errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!fresh || err != EWOULDBLOCK ||
		    (now.tv_sec - t0.tv_sec) * 1000000000LL +
				    (now.tv_nsec - t0.tv_nsec) >
			    LOCK_FRESH_WAIT_NS)
			break;
		nanosleep(&nap, NULL);
	}
	if (err == EWOULDBLOCK)
		return pms_err(EWOULDBLOCK,
			       "pool %s: in use (locked by another open, in "
			       "this or another process)",
			       ps->path);
	return pms_err(err, "pool %s: cannot lock: %s", ps->path,
		       strerror(err));
}

/* map_pool -- map the whole file or device */
static int
map_pool(struct pmemstore *ps, size_t len)
{
	if (ps->rdonly) {
		void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, ps->fd, 0);

		if (p == MAP_FAILED)
			return pms_err(errno, "pool %s: cannot map: %s",
				       ps->path, strerror(errno));
		ps->base = p;
		ps->map_len = len;
		ps->is_pmem = 0;
		return 0;
	}
	size_t mlen = 0;
	int is_pmem = 0;
	void *p = pmem_map_file(ps->path, 0, 0, 0, &mlen, &is_pmem);

	if (p == NULL)
		return pms_err(errno ? errno : EIO, "pool %s: cannot map: %s",
			       ps->path, pmem_errormsg());
	ps->base = p;
	ps->map_len = mlen;
	ps->is_pmem = is_pmem;
	if (mlen < len)
		return pms_err(EIO, "pool %s: mapped %zu bytes, expected %zu",
			       ps->path, mlen, len);
	return 0;
}

/*
 * pms_devdax_size -- a device-dax node's size, from sysfs (fstat says 0):
 * the read-only path maps it with plain mmap, which needs the length (also
 * used by pmemstore_check)
 */
int
pms_devdax_size(const char *path, const struct stat *st, uint64_t *size)
{
	char sys[PATH_MAX];
	unsigned long long v = 0;
	FILE *f;
	int n;

	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/size",
		 major(st->st_rdev), minor(st->st_rdev));
	f = fopen(sys, "re");
	if (f == NULL)
		return pms_err(EINVAL,
			       "pool %s: a character device that is not "
			       "device-dax (no %s)",
			       path, sys);
	n = fscanf(f, "%llu", &v);
	fclose(f);
	if (n != 1 || v == 0)
		return pms_err(EINVAL, "pool %s: cannot read the size in %s",
			       path, sys);
	*size = v;
	return 0;
}

/* file_size -- the size of the file or device behind fd */
static int
file_size(struct pmemstore *ps, const struct stat *st, uint64_t *size)
{
	if (S_ISDIR(st->st_mode))
		return pms_err(EISDIR, "pool %s: is a directory", ps->path);
	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	if (S_ISCHR(st->st_mode)) {
		ps->is_devdax = 1;
		return pms_devdax_size(ps->path, st, size);
	}
	return pms_err(EINVAL,
		       "pool %s: neither a regular file nor a device-dax node",
		       ps->path);
}

/* super_valid -- does a superblock copy hold a pool this library knows? */
static int
super_state(const struct pms_super *sb)
{
	if (memcmp(sb->magic, PMS_MAGIC, 8) != 0)
		return 0; /* no magic */
	/*
	 * Version 0 was never written by any library: a magic beside it is
	 * a torn copy (create writes the superblock as 8-byte words, so a
	 * crash can keep the magic without the version), not a newer pool.
	 */
	if (sb->version == 0)
		return 2;
	if (sb->version < PMS_FORMAT_READS || sb->version > PMS_FORMAT_VERSION)
		return 1; /* a version this library does not read */
	if (sb->checksum != pms_super_checksum(sb))
		return 2; /* torn or corrupt */
	return 3;
}

/*
 * upgrading -- are two valid copies a version upgrade cut short: copy A
 * of this version, copy B of an older one, all else equal?
 */
static int
upgrading(const struct pms_super *a, const struct pms_super *b)
{
	struct pms_super x = *b;

	if (a->version != PMS_FORMAT_VERSION || b->version >= a->version)
		return 0;
	x.version = a->version;
	x.checksum = a->checksum;
	return memcmp(a, &x, sizeof(x)) == 0;
}

/*
 * upgrade -- a read-write open of a pool of an older version it reads
 * makes it this version: copy A rewritten and persisted, then copy B
 * (restore_super's order).  A crash between leaves A new and B old,
 * which the next open takes as this upgrade cut short (upgrading) and
 * finishes.  Version 2 to 3: nothing on media changes but the version,
 * which tells older libraries (whose open zeroes, and whose check
 * reports, the VOLATILE descriptors this version leaves) to stay away.
 */
static int
upgrade(struct pmemstore *ps)
{
	if (ps->sb.version == PMS_FORMAT_VERSION)
		return 0;
	ps->sb.version = PMS_FORMAT_VERSION;
	ps->sb.checksum = pms_super_checksum(&ps->sb);
	for (int c = 0; c < 2; c++) {
		memcpy(&ps->sbp[c]->sb, &ps->sb, sizeof(ps->sb));
		if (pms_flush(ps, &ps->sbp[c]->sb, sizeof(ps->sb)))
			return -1;
		pms_drain(ps); /* copy A whole before copy B changes */
	}
	return 0;
}

/*
 * load_super -- pick a valid superblock copy and check its geometry
 * against the file.  Writes nothing.  *bad is the index of a copy that
 * needs restoring, or -1.
 */
static int
load_super(struct pmemstore *ps, uint64_t fsize, int *bad)
{
	struct pms_super c[2];
	int s[2];
	uint64_t npages, data_off;

	memcpy(&c[0], &ps->sbp[0]->sb, sizeof(c[0]));
	memcpy(&c[1], &ps->sbp[1]->sb, sizeof(c[1]));
	s[0] = super_state(&c[0]);
	s[1] = super_state(&c[1]);
	if (s[0] == 0 && s[1] == 0)
		return pms_err(EINVAL,
			       "pool %s: not a pmemstore pool (no magic)",
			       ps->path);
	/*
	 * A newer version in both copies (or in the only copy with a magic)
	 * is a newer pool; a single odd copy beside a valid one is damage.
	 */
	if ((s[0] == 1 || s[1] == 1) && s[0] != 3 && s[1] != 3) {
		const struct pms_super *f = s[0] == 1 ? &c[0] : &c[1];

		if (f->version < PMS_FORMAT_READS)
			return pms_err(ENOTSUP,
				       "pool %s: format version %u, written by "
				       "an older libpmemstore; this library "
				       "reads versions %u to %u",
				       ps->path, f->version, PMS_FORMAT_READS,
				       PMS_FORMAT_VERSION);
		return pms_err(ENOTSUP,
			       "pool %s: format version %u is not known to "
			       "this library (it knows version %u)",
			       ps->path, f->version, PMS_FORMAT_VERSION);
	}
	if (s[0] != 3 && s[1] != 3)
		return pms_err(EIO,
			       "pool %s: superblock checksum mismatch in both "
			       "copies (damaged, or a pmemstore_create that "
			       "did not finish)",
			       ps->path);
	*bad = s[0] != 3 ? 0 : s[1] != 3 ? 1 : -1;
	if (s[0] == 3 && s[1] == 3 && memcmp(&c[0], &c[1], sizeof(c[0]))) {
		if (!upgrading(&c[0], &c[1]))
			return pms_err(EIO,
				       "pool %s: the two superblock copies are "
				       "valid but differ",
				       ps->path);
		/* an upgrade cut short: A was written first */
		*bad = 1;
	}
	ps->sb = c[*bad == 0 ? 1 : 0];

	if (ps->sb.incompat != 0)
		return pms_err(ENOTSUP,
			       "pool %s: uses features 0x%llx unknown to this "
			       "library",
			       ps->path, (unsigned long long)ps->sb.incompat);
	if (ps->sb.page_size != PMS_PAGE_SIZE ||
	    ps->sb.desc_off != PMS_DESC_OFF ||
	    pms_geometry(ps->sb.pool_size, &npages, &data_off) ||
	    npages != ps->sb.npages || data_off != ps->sb.data_off)
		return pms_err(EIO,
			       "pool %s: superblock geometry is inconsistent",
			       ps->path);
	if (ps->sb.pool_size > fsize)
		return pms_err(EIO,
			       "pool %s: truncated: %llu bytes, the pool needs "
			       "%llu",
			       ps->path, (unsigned long long)fsize,
			       (unsigned long long)ps->sb.pool_size);
	ps->npages = npages;
	ps->desc = (struct pms_desc *)(ps->base + PMS_DESC_OFF);
	ps->data = ps->base + data_off;
	memcpy(&ps->seed, ps->sb.pool_uuid, 8);
	ps->seed ^= PMS_SB_SEED;
	return 0;
}

/*
 * restore_super -- rewrite a bad superblock copy from the good one; the
 * good copy stays intact throughout, so a crash here changes nothing
 */
static int
restore_super(struct pmemstore *ps, int bad)
{
	if (PMS_PLANTED(SUPER_ONECOPY))
		return 0; /* the planted bug writes copy A only, everywhere */
	memcpy(&ps->sbp[bad]->sb, &ps->sb, sizeof(ps->sb));
	if (pms_flush(ps, &ps->sbp[bad]->sb, sizeof(ps->sb)))
		return -1;
	pms_drain(ps);
	return 0;
}

/*
 * fix_marks -- an open for writing rewrites a high-water mark word outside
 * [initial mark, npages] (never written so by this library: damage) with
 * the mark the open uses, so that the pool it leaves checks clean.  The
 * effective mark does not change, so a crash here changes nothing.
 */
static int
fix_marks(struct pmemstore *ps, uint64_t h0, uint64_t h1)
{
	uint64_t lo =
		ps->npages < PMS_HWM_INITIAL ? ps->npages : PMS_HWM_INITIAL;
	uint64_t h[2] = {h0, h1};
	int n = 0;

	for (int c = 0; c < 2; c++) {
		if (h[c] >= lo && h[c] <= ps->npages)
			continue;
		__atomic_store_n(&ps->sbp[c]->hwm, ps->pages.hwm,
				 __ATOMIC_RELAXED);
		if (pms_flush(ps, &ps->sbp[c]->hwm, 8))
			return -1;
		n++;
	}
	if (n)
		pms_drain(ps);
	return 0;
}

/* clean_check -- the checksum of a clean-close record */
static uint64_t
clean_check(const struct pms_clean *c)
{
	return XXH64(c, offsetof(struct pms_clean, check), PMS_CLEAN_SEED);
}

/*
 * clean_read -- was the pool closed cleanly?  Both copies of the record
 * verify and agree: take its counts (ps->dirty = 0).  Otherwise the slab
 * bitmaps are hints and the counts unknown (ps->dirty = 1).
 */
static void
clean_read(struct pmemstore *ps)
{
	const struct pms_clean *a = &ps->sbp[0]->clean, *b = &ps->sbp[1]->clean;

	ps->dirty = !(a->check != 0 && a->check == clean_check(a) &&
		      memcmp(a, b, sizeof(*a)) == 0);
	ps->was_dirty = ps->dirty;
	if (!ps->dirty) {
		ps->objects = a->objects;
		ps->bytes = a->bytes;
	}
}

/*
 * clean_write -- the clean-close record (objects, bytes) into both
 * superblock pages, or, with clean 0, its invalidation (check = 0); one
 * fence.  Invalidation comes first at a read-write open, before anything
 * changes; a close writes it last, after every change is durable.  A crash
 * between leaves a record that does not verify in one copy at least:
 * dirty, the safe reading.
 */
static int
clean_write(struct pmemstore *ps, int clean)
{
	struct pms_clean c = {0};

	if (clean) {
		c.objects = ps->objects;
		c.bytes = ps->bytes;
		c.rsvd = 0; /* a close of an unchanged pool writes
			     * back exactly what the open read */
		c.check = clean_check(&c);
	}
	for (int i = 0; i < 2; i++) {
		struct pms_clean *d = &ps->sbp[i]->clean;

		if (clean) {
			__atomic_store_n(&d->objects, c.objects,
					 __ATOMIC_RELAXED);
			__atomic_store_n(&d->bytes, c.bytes, __ATOMIC_RELAXED);
			__atomic_store_n(&d->rsvd, 0, __ATOMIC_RELAXED);
		}
		__atomic_store_n(&d->check, c.check, __ATOMIC_RELAXED);
		if (pms_flush(ps, d, sizeof(*d)))
			return -1;
	}
	pms_drain(ps); /* clean: every change before it is durable */
	return 0;
}

/*
 * pms_pool_begin -- the first writes of a read-write open, made once every
 * check of the open passed (recover.c): the unsafe-shutdown record and
 * the clean-close record's invalidation (one fence) before anything else
 * changes, then the index's repairs
 */
int
pms_pool_begin(struct pmemstore *ps)
{
	if (pms_device_record(ps) || clean_write(ps, 0) || upgrade(ps))
		return -1;
	return pms_index_repair(ps);
}

static int format(struct pmemstore *ps, uint64_t size);

/* attach -- validate, recover and index a mapped pool */
static int
attach(struct pmemstore *ps, uint64_t fsize)
{
	int bad = -1, err;
	uint64_t h0, h1, meta;

	if (fsize < 2 * PMS_PAGE_SIZE)
		return pms_err(EINVAL,
			       "pool %s: %llu bytes is too small to be a pool",
			       ps->path, (unsigned long long)fsize);
	ps->sbp[0] = (struct pms_super_page *)(ps->base + PMS_SB_A_OFF);
	ps->sbp[1] = (struct pms_super_page *)(ps->base + PMS_SB_B_OFF);
	if (load_super(ps, fsize, &bad))
		return -1;
	h0 = ps->sbp[0]->hwm;
	h1 = ps->sbp[1]->hwm;
	/*
	 * The larger copy, within [create's initial mark, npages]: a pool
	 * never has less, so a mark damaged low cannot hide objects there.
	 */
	ps->pages.hwm = h0 > h1 ? h0 : h1;
	if (ps->pages.hwm < PMS_HWM_INITIAL)
		ps->pages.hwm = PMS_HWM_INITIAL;
	if (ps->pages.hwm > ps->npages)
		ps->pages.hwm = ps->npages;
	/*
	 * Recovery and fix_marks may write to the superblocks and to any
	 * descriptor below the mark.  This handle wrote none of them, and a
	 * pool file copied sparse has holes there: blocks first.
	 */
	meta = PMS_DESC_OFF + ps->pages.hwm * sizeof(struct pms_desc);
	err = reserve_bytes(ps, 0, meta);
	if (err)
		return reserve_fail(ps, err, meta, "metadata");
	clean_read(ps);
	/* an unsafe shutdown while the pool was open: checked first */
	if (pms_device_unsafe(ps))
		return -1;
	if (pms_index_open(ps) || pms_recover(ps))
		return -1;
	if (bad >= 0 && !ps->rdonly && restore_super(ps, bad))
		return -1;
	if (!ps->rdonly && fix_marks(ps, h0, h1))
		return -1;
	/* the device's bad blocks: free pages on them are withheld */
	return pms_device_apply(ps);
}

/*
 * guarded -- attach (what: "opening") or format ("creating") with media
 * errors as EIO: a SIGBUS while the library reads or writes the mapping
 * comes back here.  The handle is then only fit for pool_free (its
 * locks and partial state are abandoned with it).
 */
static int
guarded(struct pmemstore *ps, uint64_t fsize, int fmt)
{
	struct pms_guard g;
	int r;

	pms_guard_push(&g, ps->base, ps->map_len);
	if (sigsetjmp(g.env, 0))
		return pms_guard_failed(&g, ps->path, ps->base,
					fmt ? "creating the pool"
					    : "opening the pool");
	r = fmt ? format(ps, fsize) : attach(ps, fsize);
	pms_guard_pop(&g);
	return r;
}

/*
 * device -- after the mapping: the SIGBUS handler, the test seam's
 * faulting pages, and what the device is (names, bad blocks, count)
 */
static int
device(struct pmemstore *ps)
{
	struct stat st;

	if (pms_media_acquire())
		return -1;
	ps->media = 1;
	if (fstat(ps->fd, &st))
		return pms_err(errno, "pool %s: cannot stat: %s", ps->path,
			       strerror(errno));
	if (pms_media_seam(ps->path, ps->base, ps->map_len))
		return -1;
	return pms_device_probe(ps, &st);
}

/* pmemstore_open -- public: open an existing pool */
struct pmemstore *
pmemstore_open(const char *path, unsigned flags)
{
	struct pmemstore *ps;
	struct stat st;
	uint64_t fsize = 0;
	int err;

	if (path == NULL) {
		pms_err(EINVAL, "pool path is NULL");
		return NULL;
	}
	if (flags & ~PMEMSTORE_RDONLY) {
		pms_err(EINVAL, "pool %s: unknown open flags 0x%x", path,
			flags & ~PMEMSTORE_RDONLY);
		return NULL;
	}
	if ((ps = pool_new(path)) == NULL)
		return NULL;
	ps->rdonly = !!(flags & PMEMSTORE_RDONLY);
	ps->fd = open(path, (ps->rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (ps->fd < 0) {
		err = errno;
		if (err == EISDIR)
			pms_err(EISDIR, "pool %s: is a directory", path);
		else
			pms_err(err, "pool %s: cannot open: %s", path,
				strerror(err));
		goto fail;
	}
	/* size after the lock: a create may finish while we wait for it */
	if (lock_file(ps, 0))
		goto fail;
	if (fstat(ps->fd, &st)) {
		pms_err(errno, "pool %s: cannot stat: %s", path,
			strerror(errno));
		goto fail;
	}
	if (file_size(ps, &st, &fsize))
		goto fail;
	if (!ps->is_devdax && fsize < 2 * PMS_PAGE_SIZE) {
		pms_err(EINVAL, "pool %s: %llu bytes is too small to be a pool",
			path, (unsigned long long)fsize);
		goto fail;
	}
	if (map_pool(ps, fsize) || device(ps))
		goto fail;
	if (guarded(ps, fsize, 0))
		goto fail;
	pms_heap_registry_add(ps);
	return ps;
fail:
	err = errno;
	pool_free(ps);
	errno = err;
	return NULL;
}

/* sync_dir -- make a new file's directory entry durable */
static void
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

/* format -- write a new pool's metadata (see the protocol above) */
static int
format(struct pmemstore *ps, uint64_t size)
{
	struct pms_super sb;
	uint64_t npages, data_off;
	int zapped = 0, err;

	if (pms_geometry(size, &npages, &data_off))
		return pms_err(EINVAL, "pool %s: %llu bytes is too small",
			       ps->path, (unsigned long long)size);
	memset(&sb, 0, sizeof(sb));
	memcpy(sb.magic, PMS_MAGIC, 8);
	sb.version = PMS_FORMAT_VERSION;
	sb.page_size = PMS_PAGE_SIZE;
	uuid_generate(sb.pool_uuid);
	sb.pool_size = size;
	sb.desc_off = PMS_DESC_OFF;
	sb.data_off = data_off;
	sb.npages = npages;
	sb.create_time = (uint64_t)time(NULL);
	sb.checksum = pms_super_checksum(&sb);

	ps->sbp[0] = (struct pms_super_page *)(ps->base + PMS_SB_A_OFF);
	ps->sbp[1] = (struct pms_super_page *)(ps->base + PMS_SB_B_OFF);
	ps->npages = npages;
	ps->desc = (struct pms_desc *)(ps->base + PMS_DESC_OFF);
	/* blocks under the superblock pages before they are read or written
	 * (pms_hwm_extend reserves the initial descriptors) */
	err = reserve_bytes(ps, 0, PMS_DESC_OFF);
	if (err)
		return reserve_fail(ps, err, PMS_DESC_OFF, "superblocks");
	/* a device may hold an old pool: no valid superblock while we work */
	for (int c = 0; c < 2; c++) {
		if (ps->sbp[c]->sb.magic[0] == 0)
			continue;
		if (pms_memset_nodrain(ps, &ps->sbp[c]->sb, 0, sizeof(sb)))
			return -1;
		zapped = 1;
	}
	if (zapped)
		pms_drain(ps); /* the old pool is gone before we change it */
	ps->pages.hwm = 0;
	if (pms_hwm_extend(ps, PMS_HWM_INITIAL)) /* fences */
		return -1;
	/*
	 * the index: a segment at the first aligned pages with no bad block
	 * (page 0 on a sound device), its directory on the page after
	 */
	uint64_t seg = 0,
		 lim = npages < PMS_HWM_INITIAL ? npages : PMS_HWM_INITIAL;

	while (seg + PMS_SEG_PAGES + 1 <= lim &&
	       pms_device_range_bad(&ps->dev,
				    data_off + (seg << PMS_PAGE_SHIFT),
				    (PMS_SEG_PAGES + 1) * PMS_PAGE_SIZE))
		seg += PMS_SEG_PAGES;
	if (seg + PMS_SEG_PAGES + 1 > lim)
		return pms_err(EIO,
			       "pool %s: no room for the index among the bad "
			       "blocks of the device",
			       ps->path);
	err = reserve_bytes(ps, data_off + (seg << PMS_PAGE_SHIFT),
			    (PMS_SEG_PAGES + 1) * PMS_PAGE_SIZE);
	if (err)
		return reserve_fail(ps, err,
				    data_off + ((seg + PMS_SEG_PAGES + 1)
						<< PMS_PAGE_SHIFT),
				    "the index");
	ps->data = ps->base + data_off;
	ps->objects = ps->bytes = 0;
	if (pms_index_format(ps, seg, seg + PMS_SEG_PAGES))
		return -1;
	for (int c = 0; c < 2; c++) {
		struct pms_clean *d = &ps->sbp[c]->clean;

		memset(d, 0, sizeof(*d));
		d->check = clean_check(d);
		if (pms_flush(ps, d, sizeof(*d)))
			return -1;
		/* a device's old pool may have left a split log */
		memset(&ps->sbp[c]->split, 0, sizeof(ps->sbp[c]->split));
		if (pms_flush(ps, &ps->sbp[c]->split,
			      sizeof(ps->sbp[c]->split)))
			return -1;
	}
	pms_drain(ps); /* the index is whole before the pool exists */
	for (int c = 0; c < (PMS_PLANTED(SUPER_ONECOPY) ? 1 : 2); c++) {
		memcpy(&ps->sbp[c]->sb, &sb, sizeof(sb));
		if (pms_flush(ps, &ps->sbp[c]->sb, sizeof(sb)))
			return -1;
	}
	pms_drain(ps); /* the pool exists from here on */
	return 0;
}

/* pmemstore_create -- public: create a pool */
struct pmemstore *
pmemstore_create(const char *path, size_t size, mode_t mode)
{
	struct pmemstore *ps;
	struct stat st;
	int created = 0, err;
	uint64_t fsize = 0;

	if (path == NULL) {
		pms_err(EINVAL, "pool path is NULL");
		return NULL;
	}
	if ((ps = pool_new(path)) == NULL)
		return NULL;
	if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) {
		ps->fd = open(path, O_RDWR | O_CLOEXEC);
		ps->is_devdax = 1;
	} else {
		if (size < PMEMSTORE_MIN_POOL) {
			pms_err(EINVAL,
				"pool %s: size %zu is below the minimum of %zu "
				"bytes",
				path, size, (size_t)PMEMSTORE_MIN_POOL);
			goto fail;
		}
		if (size > (PMS_MAX_NPAGES << PMS_PAGE_SHIFT)) {
			pms_err(EINVAL, "pool %s: size %zu is too large", path,
				size);
			goto fail;
		}
		ps->fd =
			open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		created = ps->fd >= 0;
	}
	if (ps->fd < 0) {
		err = errno;
		pms_err(err, "pool %s: cannot create: %s", path, strerror(err));
		goto fail;
	}
	if (lock_file(ps, created))
		goto fail;
	if (created) {
		if (ftruncate(ps->fd, (off_t)size)) {
			pms_err(errno, "pool %s: cannot size to %zu bytes: %s",
				path, size, strerror(errno));
			goto fail;
		}
		fsize = size;
	}
	if (map_pool(ps, created ? size : 0))
		goto fail;
	if (ps->is_devdax) {
		if (size != 0 && size != ps->map_len) {
			pms_err(EINVAL,
				"pool %s: a device-dax pool takes the whole "
				"device (%zu bytes); pass size 0",
				path, ps->map_len);
			goto fail;
		}
		fsize = ps->map_len;
	}
	if (device(ps) || guarded(ps, fsize, 1))
		goto fail;
	if (created)
		sync_dir(path);
	/* the volatile state of an empty pool, built the way open does */
	if (guarded(ps, fsize, 0))
		goto fail;
	pms_heap_registry_add(ps);
	return ps;
fail:
	err = errno;
	if (created)
		unlink(path);
	pool_free(ps);
	errno = err;
	return NULL;
}

/*
 * shutdown_clean -- a read-write close: after a crash, what open left
 * unchecked is checked now (so the bitmaps are exact) and the objects
 * counted; superseded directories freed; then the clean-close record.
 * Every allocation and free is durable already.
 */
static int
shutdown_clean(struct pmemstore *ps)
{
	uint64_t gfree;
	int64_t objects, bytes;
	int inexact = 0;

	if (ps->dirty) {
		if (pms_heap_settle(ps, 1) || pms_obj_sweep(ps) ||
		    (inexact = pms_obj_count(ps, &ps->objects, &ps->bytes)) < 0)
			return -1;
	} else {
		pms_heap_sums(ps, &gfree, &objects, &bytes);
		ps->objects += (uint64_t)objects;
		ps->bytes += (uint64_t)bytes;
	}
	if (pms_index_close(ps))
		return -1;
	/* objects a media error hid: no exact counts, so no clean record
	 * (the next open counts again) */
	if (inexact)
		return 0;
	return clean_write(ps, 1);
}

/* pmemstore_close -- public: close a pool; everything is durable already */
int
pmemstore_close(struct pmemstore *ps)
{
	int ret = 0;

	if (ps == NULL)
		return pms_err(EINVAL, "pool handle is NULL");
	if (!ps->rdonly && !__atomic_load_n(&ps->broken, __ATOMIC_ACQUIRE)) {
		struct pms_guard g;

		/* a media error: the pool stays not clean (the next open
		 * recovers), the handle goes all the same */
		pms_guard_push(&g, ps->base, ps->map_len);
		if (sigsetjmp(g.env, 0)) {
			ret = pms_guard_failed(&g, ps->path, ps->base,
					       "closing the pool");
		} else {
			ret = shutdown_clean(ps);
			pms_guard_pop(&g);
		}
	}
	pool_free(ps);
	return ret;
}

/* pmemstore_is_pmem -- public: 1 on the flush+fence path, 0 on msync */
int
pmemstore_is_pmem(const struct pmemstore *ps)
{
	return ps ? ps->is_pmem : 0;
}

/* pmemstore_stats -- public: a snapshot of counts and counters */
int
pmemstore_stats(struct pmemstore *ps, struct pmemstore_stats *st)
{
	if (ps == NULL || st == NULL)
		return pms_err(EINVAL, "pool handle or stats buffer is NULL");
	uint64_t gfree;
	int64_t objects, bytes;

	memset(st, 0, sizeof(*st));
	st->pages_total = ps->npages;
	/*
	 * The heaps' free slab pages are free for every other use too.  The
	 * object counts are kept per heap (no shared line on the fast path);
	 * a sum taken while other threads allocate is not a snapshot.
	 */
	pms_heap_sums(ps, &gfree, &objects, &bytes);
	pms_vheap_stats(ps, &st->pages_volatile, &st->volatile_bytes);
	st->discards = __atomic_load_n(&ps->pages.discards, __ATOMIC_RELAXED);
	st->pages_free = pms_pages_nfree(&ps->pages) + gfree;
	st->pages_bad = __atomic_load_n(&ps->dev.pages_bad, __ATOMIC_RELAXED);
	if (st->pages_bad > st->pages_total - st->pages_free)
		st->pages_bad = st->pages_total - st->pages_free;
	/* the sums are not one snapshot: never let them wrap */
	if (st->pages_volatile >
	    st->pages_total - st->pages_free - st->pages_bad)
		st->pages_volatile =
			st->pages_total - st->pages_free - st->pages_bad;
	st->pages_used = st->pages_total - st->pages_free - st->pages_volatile -
			 st->pages_bad;
	if (ps->dirty) {
		/* after a crash: a walk of the index, O(objects) */
		if (pms_obj_count(ps, &st->objects, &st->bytes) < 0)
			return -1;
	} else {
		st->objects = ps->objects + (uint64_t)objects;
		st->bytes = ps->bytes + (uint64_t)bytes;
	}
	st->index_pages = __atomic_load_n(&ps->index.pages, __ATOMIC_RELAXED);
	struct pms_counters sum;

	pms_counters_sum(ps, &sum);
	st->flushes = sum.flushes;
	st->flushed_lines = sum.lines;
	st->fences = sum.fences;
	st->msyncs = sum.msyncs;
	return 0;
}

/* pmemstore_info -- public: what the pool is on, and what open found */
int
pmemstore_info(struct pmemstore *ps, struct pmemstore_info *info)
{
	struct pmemstore_stats st;
	const struct pms_device *dev;

	if (ps == NULL || info == NULL)
		return pms_err(EINVAL, "pool handle or info buffer is NULL");
	if (pmemstore_stats(ps, &st))
		return -1;
	dev = &ps->dev;
	memset(info, 0, sizeof(*info));
	info->backing = dev->backing;
	info->flags = dev->flags & (PMS_DEV_NDCTL | PMS_DEV_MAP_SYNC |
				    PMS_DEV_BADBLOCKS | PMS_DEV_USC);
	if (dev->unsafe)
		info->flags |= PMEMSTORE_INFO_UNSAFE;
	if (dev->checked)
		info->flags |= PMEMSTORE_INFO_CHECKED;
	if (ps->was_dirty)
		info->flags |= PMEMSTORE_INFO_DIRTY;
	if (ps->rdonly)
		info->flags |= PMEMSTORE_INFO_RDONLY;
	info->pool_size = ps->sb.pool_size;
	info->align = dev->align;
	memcpy(info->device, dev->device, sizeof(info->device));
	memcpy(info->region, dev->region, sizeof(info->region));
	memcpy(info->ns, dev->ns, sizeof(info->ns));
	info->bad_ranges = dev->nbad;
	info->bad_bytes = dev->bad_bytes;
	info->pages_bad = st.pages_bad;
	info->pages_bad_used =
		__atomic_load_n(&dev->pages_bad_used, __ATOMIC_RELAXED);
	info->usc = dev->usc;
	info->usc_recorded = dev->usc_recorded;
	info->check_findings = dev->findings;
	info->check_repairable = dev->repairable;
	info->pages_total = st.pages_total;
	info->objects = st.objects;
	info->bytes = st.bytes;
	return 0;
}

/* pmemstore_uuid_from_name -- public: RFC 4122 v5 UUID of a name */
void
pmemstore_uuid_from_name(const char *name, uuid_t id)
{
	/* the libpmemstore namespace: a fixed random UUID */
	static const uuid_t ns = {0x6f, 0x2d, 0x8a, 0x41, 0x3c, 0x5e,
				  0x4b, 0x17, 0x9a, 0x02, 0xd1, 0x7e,
				  0x55, 0xc3, 0x80, 0x9b};

	if (id == NULL)
		return;
	if (name == NULL) {
		uuid_clear(id);
		return;
	}
	uuid_generate_sha1(id, ns, name, strlen(name));
}
