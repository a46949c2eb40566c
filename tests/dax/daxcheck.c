/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxcheck.c -- a check of libpmemstore on real DAX (no PMEM_IS_PMEM_FORCE)
 *
 * Usage: daxcheck PATH
 *   PATH a file on a DAX-mounted file system (must not exist, or is a
 *        stale pool file that is removed first), or a device-dax node
 *        such as /dev/dax1.0 (the whole device is formatted).
 *
 * This file owns the real-DAX smoke test that scripts/dax-vm.sh runs inside
 * its guest.  It creates a pool, insists on the pmem path
 * (pmemstore_is_pmem() == 1 without PMEM_IS_PMEM_FORCE), allocates objects
 * of 64 B, 5000 B, 1 MiB and 4 MiB (with PERSIST_ZERO and without),
 * checks their alignment and content, prints the fences and flushes every
 * operation cost (from pmemstore_stats), checks that a second open of the
 * pool fails with EWOULDBLOCK, closes, reopens (read-write, then
 * read-only: another RW open must fail) and verifies, frees, and on
 * a device-dax node also checks that creating the pool again re-formats
 * the device and that the new pool opens.  Exit status 0 when every check
 * passed, 1 otherwise, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "pmemstore.h"

#define MIB ((size_t)1 << 20)
#define FILE_POOL_SIZE (256 * MIB)
#define NSIZES 4

static const size_t Sizes[NSIZES] = {64, 5000, 1 * MIB, 4 * MIB};

static unsigned Failures;
static unsigned Checks;

/* report -- print a failed check; with errno and errormsg for calls */
#define REPORT(cond, call, err, ...)                                           \
	do {                                                                   \
		Checks++;                                                      \
		if (!(cond)) {                                                 \
			Failures++;                                            \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                   \
			if (call)                                              \
				printf(" [errno %d %s; errormsg: %s]", (err),  \
				       strerror(err), pmemstore_errormsg());   \
			printf("\n");                                          \
		}                                                              \
	} while (0)

/* CHECK -- a condition on values */
#define CHECK(cond, ...) REPORT(cond, 0, 0, __VA_ARGS__)

/* CHECK_CALL -- the result of a call just made (errno still its own) */
#define CHECK_CALL(cond, ...)                                                  \
	do {                                                                   \
		int cc_errno_ = errno;                                         \
		REPORT(cond, 1, cc_errno_, __VA_ARGS__);                       \
	} while (0)

/* an object this program allocated */
struct obj {
	uuid_t id;
	size_t size;
	unsigned zero; /* allocated with PERSIST_ZERO */
	unsigned seed;
	int live;
};

/* counter deltas of one operation */
struct cost {
	uint64_t fences, flushes, lines, msyncs;
};

/* stats -- pmemstore_stats, counted as a check */
static struct pmemstore_stats
stats(struct pmemstore *ps)
{
	struct pmemstore_stats st;
	memset(&st, 0, sizeof(st));
	errno = 0;
	int r = pmemstore_stats(ps, &st);
	CHECK_CALL(r == 0, "pmemstore_stats returned %d", r);
	return st;
}

/* cost_of -- the counters spent between two snapshots */
static struct cost
cost_of(const struct pmemstore_stats *a, const struct pmemstore_stats *b)
{
	struct cost c = {
		.fences = b->fences - a->fences,
		.flushes = b->flushes - a->flushes,
		.lines = b->flushed_lines - a->flushed_lines,
		.msyncs = b->msyncs - a->msyncs,
	};
	return c;
}

/* print_cost -- one line of the per-operation cost table */
static void
print_cost(const char *op, size_t size, const struct cost *c)
{
	printf("  cost %-12s %8zu B: %" PRIu64 " fences, %" PRIu64
	       " flushes, %" PRIu64 " lines, %" PRIu64 " msyncs\n",
	       op, size, c->fences, c->flushes, c->lines, c->msyncs);
}

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

/* verify -- offset of the first byte that differs from fill(), or -1 */
static long
verify(const unsigned char *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (p[i] != (unsigned char)x)
			return (long)i;
	}
	return -1;
}

/* all_zero -- whether every byte of p is 0 */
static int
all_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* min_align -- the alignment the contract promises for an object size */
static size_t
min_align(size_t size)
{
	if (size >= 2 * MIB)
		return 2 * MIB;
	if (size > 2016)
		return 4096;
	return 16;
}

/* map_flags -- the VmFlags of the mapping holding addr ("?" if not found) */
static void
map_flags(const void *addr, char *out, size_t outlen)
{
	snprintf(out, outlen, "?");
	FILE *f = fopen("/proc/self/smaps", "r");
	if (f == NULL)
		return;
	char line[512];
	int inside = 0;
	uintptr_t a = (uintptr_t)addr;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			inside = a >= lo && a < hi;
			continue;
		}
		if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			size_t n = strlen(line + 9);
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, line + 9, n);
			out[n] = '\0';
			break;
		}
	}
	fclose(f);
}

/* has_flag -- whether a VmFlags string holds the two-letter flag */
static int
has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);
	for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n)
		if ((p == flags || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/*
 * raw_rdonly_map -- diagnostic after a failed RDONLY open of a device-dax
 * node: does a plain read-only mapping of the whole device (its size from
 * /sys/dev/char/MAJ:MIN/size) work?
 */
static void
raw_rdonly_map(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	char sys[128];
	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/size",
		 major(st.st_rdev), minor(st.st_rdev));
	unsigned long long size = 0;
	FILE *f = fopen(sys, "r");
	if (f == NULL || fscanf(f, "%llu", &size) != 1)
		size = 0;
	if (f != NULL)
		fclose(f);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || size == 0) {
		printf("  diagnostic: cannot open %s or read %s\n", path, sys);
		if (fd >= 0)
			close(fd);
		return;
	}
	void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	printf("  diagnostic: mmap(PROT_READ, MAP_SHARED) of %llu bytes (%s): "
	       "%s\n",
	       size, sys, p == MAP_FAILED ? strerror(errno) : "works");
	if (p != MAP_FAILED)
		munmap(p, (size_t)size);
	errno = 0;
	p = mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0);
	printf("  diagnostic: the same with length 0: %s\n",
	       p == MAP_FAILED ? strerror(errno) : "works");
	if (p != MAP_FAILED)
		munmap(p, 0);
	close(fd);
}

/* alloc_set -- allocate one object of every size; print their cost */
static void
alloc_set(struct pmemstore *ps, struct obj *objs, unsigned zero, unsigned seed0,
	  int devdax)
{
	const char *op = zero ? "alloc+ZERO" : "alloc";
	for (unsigned i = 0; i < NSIZES; i++) {
		struct obj *o = &objs[i];
		uuid_generate_random(o->id);
		o->size = Sizes[i];
		o->zero = zero;
		o->seed = seed0 + i;

		struct pmemstore_stats a = stats(ps);
		errno = 0;
		unsigned char *p = persist_alloc(ps, o->id, o->size,
						 zero ? PERSIST_ZERO : 0);
		int err = errno;
		struct pmemstore_stats b = stats(ps);
		errno = err;
		CHECK_CALL(p != NULL, "persist_alloc(%zu, %s)", o->size, op);
		if (p == NULL)
			continue;
		o->live = 1;
		struct cost c = cost_of(&a, &b);
		print_cost(op, o->size, &c);
		unsigned max_fences = zero ? 2 : 1;
		CHECK(c.fences >= 1 && c.fences <= max_fences,
		      "%s of %zu B issued %" PRIu64 " fences (1..%u allowed)",
		      op, o->size, c.fences, max_fences);
		CHECK(c.msyncs == 0, "%s of %zu B issued %" PRIu64 " msyncs",
		      op, o->size, c.msyncs);
		size_t al = min_align(o->size);
		CHECK((uintptr_t)p % al == 0,
		      "object of %zu B at %p is not %zu-byte aligned", o->size,
		      (void *)p, al);
		if (zero)
			CHECK(all_zero(p, o->size),
			      "PERSIST_ZERO object of %zu B is not zeroed",
			      o->size);
		if (i == NSIZES - 1) {
			char fl[256];
			map_flags(p, fl, sizeof(fl));
			printf("  mapping VmFlags: %s\n", fl);
			/* fsdax: libpmem maps with MAP_SYNC ("sf") */
			if (!devdax)
				CHECK(has_flag(fl, "sf"),
				      "the pool mapping has no MAP_SYNC (sf): "
				      "%s",
				      fl);
		}

		fill(p, o->size, o->seed);
		a = stats(ps);
		persist(ps, p, o->size);
		b = stats(ps);
		c = cost_of(&a, &b);
		print_cost("persist", o->size, &c);
		CHECK(c.fences == 1 && c.msyncs == 0,
		      "persist of %zu B: %" PRIu64 " fences, %" PRIu64
		      " msyncs (1, 0 expected)",
		      o->size, c.fences, c.msyncs);
	}
}

/* verify_set -- every live object is there with its size and content */
static void
verify_set(struct pmemstore *ps, const struct obj *objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct obj *o = &objs[i];
		size_t size = 0;
		errno = 0;
		unsigned char *p = persist_get(ps, o->id, &size);
		if (!o->live) {
			CHECK_CALL(p == NULL && errno == ENOENT,
				   "freed object of %zu B: persist_get gave %p",
				   o->size, (void *)p);
			continue;
		}
		CHECK_CALL(p != NULL, "persist_get of the %zu B object",
			   o->size);
		if (p == NULL)
			continue;
		CHECK(size == o->size, "size %zu, expected %zu", size, o->size);
		long bad = verify(p, o->size, o->seed);
		CHECK(bad < 0, "object of %zu B differs at offset %ld", o->size,
		      bad);
		CHECK((uintptr_t)p % min_align(o->size) == 0,
		      "object of %zu B at %p lost its alignment after reopen",
		      o->size, (void *)p);
	}
}

/* free_set -- free the live objects of a set; print their cost */
static void
free_set(struct pmemstore *ps, struct obj *objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct obj *o = &objs[i];
		if (!o->live)
			continue;
		struct pmemstore_stats a = stats(ps);
		errno = 0;
		int r = persist_free(ps, o->id);
		int err = errno;
		struct pmemstore_stats b = stats(ps);
		errno = err;
		CHECK_CALL(r == 0, "persist_free of the %zu B object", o->size);
		if (r != 0)
			continue;
		o->live = 0;
		struct cost c = cost_of(&a, &b);
		print_cost("free", o->size, &c);
		CHECK(c.fences <= 1 && c.msyncs == 0,
		      "free of %zu B: %" PRIu64 " fences, %" PRIu64
		      " msyncs (at most 1, 0 allowed)",
		      o->size, c.fences, c.msyncs);
	}
}

/* expect_busy -- an open of the pool must fail with EWOULDBLOCK now */
static void
expect_busy(const char *path, unsigned flags, const char *what)
{
	errno = 0;
	struct pmemstore *ps2 = pmemstore_open(path, flags);
	int err = errno;
	if (ps2 == NULL && err == EWOULDBLOCK)
		printf("  %s: EWOULDBLOCK as expected (%s)\n", what,
		       pmemstore_errormsg());
	errno = err;
	CHECK_CALL(ps2 == NULL && err == EWOULDBLOCK,
		   "%s: got %p, errno %d instead of EWOULDBLOCK", what,
		   (void *)ps2, err);
	if (ps2 != NULL)
		pmemstore_close(ps2);
}

/* open_checked -- pmemstore_open that counts as a check; is_pmem printed */
static struct pmemstore *
open_checked(const char *path, unsigned flags, int want_pmem)
{
	errno = 0;
	struct pmemstore *ps = pmemstore_open(path, flags);
	CHECK_CALL(ps != NULL, "pmemstore_open(%s, %s)", path,
		   flags ? "RDONLY" : "0");
	if (ps == NULL)
		return NULL;
	int pm = pmemstore_is_pmem(ps);
	printf("  open(%s): is_pmem %d\n", flags ? "RDONLY" : "RW", pm);
	if (want_pmem)
		CHECK(pm == 1, "pmemstore_is_pmem after open is %d", pm);
	return ps;
}

/* close_checked -- pmemstore_close that counts as a check */
static void
close_checked(struct pmemstore *ps)
{
	errno = 0;
	int r = pmemstore_close(ps);
	CHECK_CALL(r == 0, "pmemstore_close returned %d", r);
}

/* main -- see the banner */
int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE-ON-DAX-FS | /dev/daxN.M\n",
			argv[0]);
		return 2;
	}
	const char *path = argv[1];
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	if (force != NULL) {
		fprintf(stderr,
			"daxcheck: PMEM_IS_PMEM_FORCE is set (%s); this check "
			"is about real DAX, unset it\n",
			force);
		return 2;
	}

	struct stat st;
	int devdax = stat(path, &st) == 0 && S_ISCHR(st.st_mode);
	if (!devdax && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		unlink(path); /* a stale pool of an earlier run */
	printf("daxcheck %s (%s)\n", path, devdax ? "device-dax" : "file");

	/* create */
	errno = 0;
	struct pmemstore *ps =
		devdax ? pmemstore_create(path, 0, 0)
		       : pmemstore_create(path, FILE_POOL_SIZE, 0600);
	CHECK_CALL(ps != NULL, "pmemstore_create(%s)", path);
	if (ps == NULL)
		goto out;
	int pm = pmemstore_is_pmem(ps);
	printf("  create: is_pmem %d\n", pm);
	CHECK(pm == 1, "pmemstore_is_pmem is %d on real DAX", pm);
	struct pmemstore_stats s0 = stats(ps);
	printf("  pool: %" PRIu64 " pages (%" PRIu64 " MiB), %" PRIu64
	       " free\n",
	       s0.pages_total, s0.pages_total * 4096 / MIB, s0.pages_free);
	if (!devdax) {
		errno = 0;
		struct pmemstore *again =
			pmemstore_create(path, FILE_POOL_SIZE, 0600);
		CHECK_CALL(again == NULL && errno == EEXIST,
			   "a second pmemstore_create of an existing file");
		if (again != NULL)
			pmemstore_close(again);
	}

	/* two sets: 0..3 with PERSIST_ZERO, 4..7 without */
	struct obj objs[2 * NSIZES];
	memset(objs, 0, sizeof(objs));
	alloc_set(ps, objs, 1, 100, devdax);
	alloc_set(ps, objs + NSIZES, 0, 200, devdax);
	struct pmemstore_stats s1 = stats(ps);
	CHECK(s1.objects == 2 * NSIZES, "%" PRIu64 " objects, expected %d",
	      s1.objects, 2 * NSIZES);
	printf("  totals since create: %" PRIu64 " fences, %" PRIu64
	       " flushes, %" PRIu64 " lines, %" PRIu64 " msyncs\n",
	       s1.fences, s1.flushes, s1.flushed_lines, s1.msyncs);

	/* the pool is locked while open */
	expect_busy(path, 0, "second RW open while open");
	expect_busy(path, PMEMSTORE_RDONLY, "RDONLY open while open RW");
	close_checked(ps);

	/* reopen: everything is there; free the PERSIST_ZERO set */
	ps = open_checked(path, 0, 1);
	if (ps == NULL)
		goto out;
	expect_busy(path, 0, "second RW open after reopen");
	verify_set(ps, objs, 2 * NSIZES);
	free_set(ps, objs, NSIZES);
	verify_set(ps, objs, 2 * NSIZES);
	close_checked(ps);

	/* read-only: the frees were durable; RW is refused meanwhile */
	ps = open_checked(path, PMEMSTORE_RDONLY, 0);
	if (ps != NULL) {
		expect_busy(path, 0, "RW open while open RDONLY");
		verify_set(ps, objs, 2 * NSIZES);
		close_checked(ps);
	} else if (devdax) {
		raw_rdonly_map(path);
	}

	if (devdax) {
		/* creating again re-formats the whole device */
		errno = 0;
		ps = pmemstore_create(path, 0, 0);
		CHECK_CALL(ps != NULL, "second pmemstore_create(%s, 0, 0)",
			   path);
		if (ps == NULL)
			goto out;
		CHECK(pmemstore_is_pmem(ps) == 1, "is_pmem %d after re-create",
		      pmemstore_is_pmem(ps));
		struct pmemstore_stats s2 = stats(ps);
		CHECK(s2.objects == 0 && s2.pages_free == s0.pages_free,
		      "re-created pool: %" PRIu64 " objects, %" PRIu64
		      " free pages (0 and %" PRIu64 " expected)",
		      s2.objects, s2.pages_free, s0.pages_free);
		for (unsigned i = 0; i < 2 * NSIZES; i++)
			objs[i].live = 0;
		verify_set(ps, objs, 2 * NSIZES);
		close_checked(ps);

		ps = open_checked(path, 0, 1);
		if (ps == NULL)
			goto out;
		struct pmemstore_stats s3 = stats(ps);
		CHECK(s3.objects == 0, "%" PRIu64 " objects after reopen",
		      s3.objects);
		verify_set(ps, objs, 2 * NSIZES);
		close_checked(ps);
	} else {
		ps = open_checked(path, 0, 1);
		if (ps == NULL)
			goto out;
		free_set(ps, objs, 2 * NSIZES);
		struct pmemstore_stats s2 = stats(ps);
		CHECK(s2.objects == 0 && s2.pages_free == s0.pages_free,
		      "after freeing all: %" PRIu64 " objects, %" PRIu64
		      " free pages (0 and %" PRIu64 " expected)",
		      s2.objects, s2.pages_free, s0.pages_free);
		close_checked(ps);
		unlink(path);
	}

out:
	printf("daxcheck %s: %u checks, %u failed: %s\n", path, Checks,
	       Failures, Failures ? "FAIL" : "PASS");
	return Failures ? 1 : 0;
}
