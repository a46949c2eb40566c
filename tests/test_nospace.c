/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_nospace.c -- tests of a pool whose file system is full
 *
 * Owns: allocation on a full file system failing with ENOSPC and a message
 * naming the pool (not SIGBUS), with 16 KiB zeroed objects, 16 KiB written
 * objects, 1 MiB objects and small objects; the pool intact afterwards
 * (pmemstore_check clean, every object there after a reopen, freed space
 * reusable, save for the few objects whose names need the index to grow,
 * which fail with ENOSPC saying so); a high-water mark extension that cannot get its descriptors'
 * blocks; pmemstore_create on a full file system (ENOSPC, no file left).
 *
 * The file system is a small tmpfs mounted (mount(2), as root) on a fresh
 * directory under the test directory, in a private mount namespace when
 * unshare(2) allows it, so that it disappears with the process.  If the
 * mount is not permitted the tests fail, unless PMEMSTORE_TEST_NO_MOUNT=1
 * allows skipping them (and they say so loudly).  The filling runs in a
 * forked child, so that a SIGBUS is reported as a failure.
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define FS_SIZE (16 * MIB)
#define FS_OPTS "size=16m"
#define POOL_SIZE (64 * MIB)

static char Mnt[PATH_MAX]; /* the tmpfs mount point */
static int Mounted;	   /* Mnt holds our tmpfs */
static int Mount_errno;	   /* why the mount failed */

/* skip_allowed -- PMEMSTORE_TEST_NO_MOUNT=1 lets the tests skip */
static int
skip_allowed(void)
{
	const char *s = getenv("PMEMSTORE_TEST_NO_MOUNT");

	return s != NULL && strcmp(s, "1") == 0;
}

/* suite_init -- mount the small tmpfs on a fresh directory */
static int
suite_init(void)
{
	/*
	 * A private mount namespace: the mount is seen by nobody else and
	 * goes away with the process, even one that dies before cleanup.
	 * Not fatal when refused: the mount below says what is allowed.
	 */
	if (unshare(CLONE_NEWNS) == 0)
		(void)mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	snprintf(Mnt, sizeof(Mnt), "%s/nospace.XXXXXX", test_dir());
	if (mkdtemp(Mnt) == NULL) {
		Mount_errno = errno;
		fprintf(stderr, "mkdtemp %s: %s\n", Mnt, strerror(errno));
		Mnt[0] = '\0';
		return 0;
	}
	if (mount("tmpfs", Mnt, "tmpfs", MS_NOSUID | MS_NODEV, FS_OPTS) != 0) {
		Mount_errno = errno;
		fprintf(stderr, "mount -t tmpfs -o %s %s: %s\n", FS_OPTS, Mnt,
			strerror(errno));
		if ((errno == EPERM || errno == EACCES) && skip_allowed())
			fprintf(stderr,
				"\n*** test_nospace: SKIPPING EVERY TEST: "
				"cannot mount a tmpfs, and "
				"PMEMSTORE_TEST_NO_MOUNT=1 allows it. "
				"ENOSPC handling is NOT TESTED. ***\n\n");
		return 0;
	}
	Mounted = 1;
	return 0;
}

/* suite_fini -- unmount and remove the directory */
static int
suite_fini(void)
{
	if (Mounted && umount2(Mnt, MNT_DETACH) != 0)
		fprintf(stderr, "umount %s: %s\n", Mnt, strerror(errno));
	Mounted = 0;
	if (Mnt[0] != '\0' && rmdir(Mnt) != 0)
		fprintf(stderr, "rmdir %s: %s\n", Mnt, strerror(errno));
	return 0;
}

/*
 * have_fs -- whether the small file system is there; fails the test when
 * it is not, unless skipping is explicitly allowed
 */
static int
have_fs(void)
{
	if (Mounted)
		return 1;
	if ((Mount_errno == EPERM || Mount_errno == EACCES) && skip_allowed()) {
		printf("\n    *** SKIPPED: no tmpfs mount (%s), "
		       "PMEMSTORE_TEST_NO_MOUNT=1 ***\n",
		       strerror(Mount_errno));
		return 0;
	}
	CU_FAIL("cannot mount a small tmpfs (run as root, or set "
		"PMEMSTORE_TEST_NO_MOUNT=1 to skip these tests)");
	fprintf(stderr, "no tmpfs at %s: %s\n", Mnt, strerror(Mount_errno));
	return 0;
}

/* mnt_path -- "<mount>/<name>" (malloc'd) */
static char *
mnt_path(const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", Mnt, name) < 0)
		abort();
	return p;
}

/*
 * fill_fs -- a file taking every free block of the file system but keep
 * bytes; returns its path (malloc'd)
 */
static char *
fill_fs(size_t keep)
{
	static char buf[64 * 1024];
	char *path = mnt_path("filler");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	off_t size = 0;
	ssize_t n;

	CU_ASSERT_FATAL(fd >= 0);
	memset(buf, 0xa5, sizeof(buf));
	for (size_t chunk = sizeof(buf); chunk >= 4096; chunk /= 2)
		while ((n = write(fd, buf, chunk)) > 0)
			size += n;
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT(size > 0);
	/* tmpfs gives back exactly the pages a truncation drops */
	if (keep)
		CU_ASSERT_EQUAL(ftruncate(fd, size - (off_t)keep), 0);
	close(fd);
	return path;
}

/* id_of -- the UUID of object i of a series */
static void
id_of(uint64_t series, uint64_t i, uuid_t id)
{
	uint64_t st = series * 0x9e3779b97f4a7c15ULL + i;

	rnd_uuid(&st, id);
}

/* what a child found, in memory shared with the parent */
struct result {
	uint64_t n;    /* objects created */
	int err;       /* errno of the allocation that failed, 0: none did */
	char msg[512]; /* its pmemstore_errormsg() */
};

struct fill_arg {
	const char *path;
	size_t size;
	unsigned flags;	 /* PERSIST_ZERO, or 0: the child writes a pattern */
	uint64_t series; /* object i is id_of(series, i) */
	uint64_t max;	 /* give up after this many */
	struct result *res;
};

/* shared_result -- a result block the child writes and the parent reads */
static struct result *
shared_result(void)
{
	void *p = mmap(NULL, sizeof(struct result), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(p != MAP_FAILED);
	memset(p, 0, sizeof(struct result));
	return p;
}

/* fail_note -- record the failed call's errno and message */
static void
fail_note(struct result *r, int err)
{
	r->err = err;
	snprintf(r->msg, sizeof(r->msg), "%s", pmemstore_errormsg());
}

/* fill_child -- allocate until an allocation fails (runs in a child) */
static int
fill_child(void *arg)
{
	struct fill_arg *a = arg;
	struct pmemstore *ps = pmemstore_open(a->path, 0);

	if (ps == NULL) {
		fail_note(a->res, errno);
		return 3;
	}
	for (uint64_t i = 0; i < a->max; i++) {
		uuid_t id;

		id_of(a->series, i, id);
		errno = 0;
		void *p = persist_alloc(ps, id, a->size, a->flags);
		if (p == NULL) {
			fail_note(a->res, errno);
			break;
		}
		if (a->flags == 0) {
			pattern_fill(p, a->size, id);
			persist(ps, p, a->size);
		}
		a->res->n = i + 1;
	}
	return pmemstore_close(ps) == 0 ? 0 : 4;
}

/* object_ok -- object id is live with its size and content */
static int
object_ok(struct pmemstore *ps, const uuid_t id, size_t size, int zero)
{
	size_t sz = 0;
	void *p = persist_get(ps, id, &sz);

	if (p == NULL || sz != size)
		return 0;
	return zero ? mem_is(p, 0, size) : pattern_check(p, size, id) == -1;
}

/* expect_enospc -- a child's failed allocation was a clean ENOSPC */
static void
expect_enospc(int status, const struct result *r, const char *path)
{
	CU_ASSERT_EQUAL(status, 0);
	if (status < 0)
		fprintf(stderr, "the child was killed by signal %d (%s)\n",
			-status, strsignal(-status));
	CU_ASSERT_EQUAL(r->err, ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->msg, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(r->msg, "file system"));
	if (r->err != ENOSPC || strstr(r->msg, path) == NULL)
		fprintf(stderr, "got errno %d (%s): \"%s\"\n", r->err,
			strerror(r->err), r->msg);
}

/* verify_series -- objects [0, n) of a series, except every skip-th */
static unsigned
verify_series(struct pmemstore *ps, uint64_t series, uint64_t n, size_t size,
	      int zero, uint64_t skip)
{
	unsigned bad = 0;

	for (uint64_t i = 0; i < n; i++) {
		uuid_t id;

		if (skip && i % skip == 0)
			continue;
		id_of(series, i, id);
		if (!object_ok(ps, id, size, zero) && bad++ < 5)
			fprintf(stderr, "object %llu of %llu (%zu B) bad\n",
				(unsigned long long)i, (unsigned long long)n,
				size);
	}
	return bad;
}

/*
 * fill_case -- fill a 64 MiB pool on the 16 MiB file system until an
 * allocation fails; it must be ENOSPC, the pool must check clean and hold
 * every object after a reopen; freed space must be reusable
 */
static void
fill_case(size_t size, unsigned flags, const char *name)
{
	if (!have_fs())
		return;
	int zero = flags == PERSIST_ZERO;
	char *path = mnt_path(name);
	struct result *r = shared_result();
	struct fill_arg a = {path, size, flags, 1, POOL_SIZE / size + 64, r};
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps == NULL)
		goto out;
	EXPECT_OK(pmemstore_close(ps));

	int st = run_in_child(fill_child, &a);
	printf("\n    %zu B%s: %llu objects, then errno %d: %s", size,
	       zero ? " zeroed" : "", (unsigned long long)r->n, r->err, r->msg);
	expect_enospc(st, r, path);
	/* what killed the child would kill this process below */
	if (st != 0 || r->err != ENOSPC)
		goto out;
	/* the file system filled up, not something else */
	CU_ASSERT(r->n * size >= FS_SIZE / 2);
	CU_ASSERT(r->n * size < POOL_SIZE / 2);

	EXPECT_OK(pmemstore_check(path, 0));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	CU_ASSERT_EQUAL(count_objects(ps), r->n);
	CU_ASSERT_EQUAL(verify_series(ps, 1, r->n, size, zero, 0), 0);

	/*
	 * Still full: a clean failure again, in this process -- after a few
	 * more objects at most, in the pages of the index's directories that
	 * doublings superseded (the close freed them; they are backed)
	 */
	uuid_t id;
	uint64_t extra = 0;

	for (;;) {
		id_of(3, extra, id);
		errno = 0;
		if (persist_alloc(ps, id, size, flags) == NULL)
			break;
		extra++;
	}
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT(extra * size <= 64 * 4096);

	/*
	 * Free every third object; new ones (other names) fit in their
	 * place.  The index may still need pages of its own: new names can
	 * fill a segment that must split, or a directory that must double,
	 * and on a full file system that fails (ENOSPC, saying so).  Such
	 * misses are few; every other allocation must succeed.
	 */
	uint64_t freed = 0, got = 0, grow = 0;
	for (uint64_t i = 0; i < r->n; i += 3) {
		id_of(1, i, id);
		EXPECT_OK(persist_free(ps, id));
		freed++;
	}
	uint8_t *ok = calloc(freed ? freed : 1, 1);
	CU_ASSERT_FATAL(ok != NULL);
	for (uint64_t i = 0; i < freed; i++) {
		id_of(2, i, id);
		errno = 0;
		void *p = persist_alloc(ps, id, size, flags);
		if (p == NULL) {
			int index = errno == ENOSPC &&
				    strstr(pmemstore_errormsg(),
					   "index must grow") != NULL;
			CU_ASSERT(index);
			if (!index || grow++ == 0)
				fprintf(stderr, "\nobject %llu: errno %d: %s\n",
					(unsigned long long)i, errno,
					pmemstore_errormsg());
			continue;
		}
		ok[i] = 1;
		got++;
		if (!zero) {
			pattern_fill(p, size, id);
			persist(ps, p, size);
		}
	}
	CU_ASSERT(grow <= freed / 16);
	EXPECT_OK(pmemstore_close(ps));

	EXPECT_OK(pmemstore_check(path, 0));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL) {
		free(ok);
		goto out;
	}
	CU_ASSERT_EQUAL(count_objects(ps), r->n + extra - freed + got);
	CU_ASSERT_EQUAL(verify_series(ps, 1, r->n, size, zero, 3), 0);
	for (uint64_t i = 0; i < freed; i++) {
		id_of(2, i, id);
		if (ok[i]) {
			CU_ASSERT(object_ok(ps, id, size, zero));
		} else {
			CU_ASSERT_PTR_NULL(persist_get(ps, id, NULL));
		}
	}
	free(ok);
	EXPECT_OK(pmemstore_close(ps));
	printf("; freed %llu, allocated %llu again", (unsigned long long)freed,
	       (unsigned long long)got);
	if (grow)
		printf(" (%llu found the index unable to grow)",
		       (unsigned long long)grow);
	printf("\n");
out:
	munmap(r, sizeof(*r));
	test_pool_remove(path);
}

/* test_fill_zero -- 16 KiB objects, PERSIST_ZERO (the case) */
static void
test_fill_zero(void)
{
	fill_case(16 * KIB, PERSIST_ZERO, "zero16k.pool");
}

/* test_fill_write -- 16 KiB objects the caller writes */
static void
test_fill_write(void)
{
	fill_case(16 * KIB, 0, "write16k.pool");
}

/* test_fill_large -- 1 MiB objects */
static void
test_fill_large(void)
{
	fill_case(1 * MIB, 0, "large1m.pool");
}

/* test_fill_small -- small objects: slab pages */
static void
test_fill_small(void)
{
	fill_case(1000, PERSIST_ZERO, "small1000.pool");
}

/* hwm_child -- allocations on a full file system (runs in a child) */
static int
hwm_child(void *arg)
{
	struct fill_arg *a = arg;
	struct pmemstore *ps = pmemstore_open(a->path, 0);
	uuid_t id;

	if (ps == NULL) {
		fail_note(a->res, errno);
		return 3;
	}
	id_of(a->series, 0, id);
	if (persist_alloc(ps, id, a->size, a->flags) != NULL)
		return 5;
	fail_note(a->res, errno);
	return pmemstore_close(ps) == 0 ? 0 : 4;
}

/*
 * test_hwm -- an object reaching past the initial high-water mark (64 MiB
 * of data) of a 1 GiB pool, on a full file system: the mark's extension
 * has no blocks for its descriptors and fails cleanly; a small object then
 * fails the same way; after space is freed both work
 */
static void
test_hwm(void)
{
	if (!have_fs())
		return;
	char *path = mnt_path("hwm.pool");
	char *filler = NULL;
	struct result *r = shared_result();
	struct fill_arg a = {path, 80 * MIB, 0, 5, 1, r};
	struct pmemstore *ps = EXPECT_PTR(pmemstore_create(path, GIB, 0600));
	if (ps == NULL)
		goto out;
	EXPECT_OK(pmemstore_close(ps));
	filler = fill_fs(0);

	int st = run_in_child(hwm_child, &a);
	printf("\n    80 MiB: errno %d: %s", r->err, r->msg);
	expect_enospc(st, r, path);
	a.size = 64;
	memset(r, 0, sizeof(*r));
	st = run_in_child(hwm_child, &a);
	printf("\n    64 B: errno %d: %s\n", r->err, r->msg);
	expect_enospc(st, r, path);
	if (st != 0)
		goto out;
	EXPECT_OK(pmemstore_check(path, 0));

	/* a read-only open needs no space */
	ps = EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	if (ps != NULL) {
		CU_ASSERT_EQUAL(count_objects(ps), 0);
		EXPECT_OK(pmemstore_close(ps));
	}

	/* room again: objects are created */
	CU_ASSERT_EQUAL(unlink(filler), 0);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	uuid_t id;
	id_of(6, 0, id);
	EXPECT_PTR(persist_alloc(ps, id, 64, PERSIST_ZERO));
	id_of(6, 1, id);
	void *p = EXPECT_PTR(persist_alloc(ps, id, 1 * MIB, 0));
	if (p != NULL) {
		pattern_fill(p, 1 * MIB, id);
		persist(ps, p, 1 * MIB);
	}
	EXPECT_OK(pmemstore_close(ps));
	EXPECT_OK(pmemstore_check(path, 0));
out:
	free(filler);
	munmap(r, sizeof(*r));
	test_pool_remove(path);
}

/* create_child -- pmemstore_create on a full file system (in a child) */
static int
create_child(void *arg)
{
	struct fill_arg *a = arg;
	struct pmemstore *ps = pmemstore_create(a->path, a->size, 0600);

	if (ps != NULL) {
		pmemstore_close(ps);
		return 5;
	}
	fail_note(a->res, errno);
	return 0;
}

/*
 * create_case -- create with only keep bytes free: ENOSPC, and no file is
 * left behind
 */
static void
create_case(size_t keep)
{
	char *path = mnt_path("create.pool");
	struct result *r = shared_result();
	struct fill_arg a = {path, POOL_SIZE, 0, 0, 0, r};
	char *filler = fill_fs(keep);

	int st = run_in_child(create_child, &a);
	printf("\n    %zu bytes free: errno %d: %s", keep, r->err, r->msg);
	expect_enospc(st, r, path);
	CU_ASSERT_EQUAL(access(path, F_OK), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(unlink(filler), 0);
	free(filler);
	munmap(r, sizeof(*r));
	test_pool_remove(path);
}

/*
 * test_create_full -- create with no free block (the superblocks fail),
 * and with 64 KiB free (the initial descriptors, 256 KiB, fail); with the
 * space back, create works
 */
static void
test_create_full(void)
{
	if (!have_fs())
		return;
	create_case(0);
	create_case(64 * KIB);
	printf("\n");

	char *path = mnt_path("create.pool");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps != NULL)
		EXPECT_OK(pmemstore_close(ps));
	EXPECT_OK(pmemstore_check(path, 0));
	test_pool_remove(path);
}

/* vfill_child -- volatile blocks, written whole, until one fails */
static int
vfill_child(void *arg)
{
	struct fill_arg *a = arg;
	struct pmemstore *ps = pmemstore_open(a->path, 0);
	void **v = calloc(a->max, sizeof(*v));
	uint64_t n = 0;
	uuid_t id;

	if (ps == NULL || v == NULL) {
		fail_note(a->res, errno);
		return 3;
	}
	for (int round = 0; round < 2; round++) {
		for (n = 0; n < a->max; n++) {
			errno = 0;
			v[n] = pmemstore_malloc(ps, a->size);
			if (v[n] == NULL) {
				fail_note(a->res, errno);
				break;
			}
			memset(v[n], 0x6b, a->size); /* SIGBUS, if unreserved */
			a->res->n = n + 1;
		}
		/* freed and given back (punched), then filled again */
		for (uint64_t i = 0; i < n; i++)
			pmemstore_free(ps, v[i]);
		id_of(9, 0, id);
		if (persist_alloc(ps, id, 100000, 0) == NULL ||
		    persist_free(ps, id))
			return 5; /* the purge gave the pages back */
	}
	free(v);
	return pmemstore_close(ps) == 0 ? 0 : 4;
}

/*
 * test_volatile_fill -- the volatile heap on a full file system: ENOSPC
 * with the file system's message, never SIGBUS; its pages punched when
 * given back serve both heaps again
 */
static void
test_volatile_fill(void)
{
	if (!have_fs())
		return;
	char *path = mnt_path("vfill");
	struct result *r = shared_result();
	struct fill_arg a = {path, 64 * KIB, 0, 1, POOL_SIZE / (64 * KIB), r};
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps == NULL)
		goto out;
	EXPECT_OK(pmemstore_close(ps));

	int st = run_in_child(vfill_child, &a);
	printf("\n    volatile 64 KiB: %llu blocks, then errno %d: %s",
	       (unsigned long long)r->n, r->err, r->msg);
	expect_enospc(st, r, path);
	CU_ASSERT(r->n > 16);
	EXPECT_OK(pmemstore_check(path, 0));
out:
	test_pool_remove(path);
	munmap(r, sizeof(*r));
}

static CU_TestInfo nospace_tests[] = {
	{"fill_zero_16k", test_fill_zero},
	{"fill_write_16k", test_fill_write},
	{"fill_large_1m", test_fill_large},
	{"fill_small_1000", test_fill_small},
	{"hwm", test_hwm},
	{"create_full", test_create_full},
	{"volatile_fill", test_volatile_fill},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"nospace", suite_init, suite_fini, NULL, NULL, nospace_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
