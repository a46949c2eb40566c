/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_lifecycle.c -- tests of pool creation, opening and closing
 *
 * Owns: pmemstore_create / pmemstore_open / pmemstore_close and
 * pmemstore_is_pmem / pmemstore_errormsg: a round trip, EEXIST on an
 * existing path (file untouched), EINVAL below PMEMSTORE_MIN_POOL (no file
 * left behind), read-only opens (reads work, writes fail EROFS), the
 * durability mode, and a 1 TiB sparse pool created and opened quickly.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common.h"

/* test_roundtrip -- create, store, close, open, find */
static void
test_roundtrip(void)
{
	char *path = test_pool_path("life_rt");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 16 * MIB, 0600));
	if (ps == NULL)
		goto out;
	uuid_t id;
	test_uuid(id);
	void *p = EXPECT_PTR(persist_alloc(ps, id, 1000, 0));
	if (p != NULL) {
		pattern_fill(p, 1000, id);
		persist(ps, p, 1000);
	}
	EXPECT_OK(pmemstore_close(ps));

	struct stat st;
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL((size_t)st.st_size, 16 * MIB);

	for (int round = 0; round < 3; round++) {
		ps = EXPECT_PTR(pmemstore_open(path, 0));
		if (ps == NULL)
			break;
		size_t sz = 0;
		p = EXPECT_PTR(persist_get(ps, id, &sz));
		CU_ASSERT_EQUAL(sz, 1000);
		if (p != NULL)
			CU_ASSERT_EQUAL(pattern_check(p, 1000, id), -1);
		struct pmemstore_stats s = get_stats(ps);
		CU_ASSERT_EQUAL(s.objects, 1);
		CU_ASSERT_EQUAL(s.bytes, 1000);
		EXPECT_OK(pmemstore_close(ps));
	}

	/* minimum size pool works */
	char *p2 = test_pool_path("life_min");
	ps = EXPECT_PTR(pmemstore_create(p2, PMEMSTORE_MIN_POOL, 0644));
	if (ps != NULL) {
		struct pmemstore_stats s = get_stats(ps);
		CU_ASSERT(s.pages_total > 0);
		CU_ASSERT_EQUAL(s.pages_free + s.index_pages, s.pages_total);
		CU_ASSERT_EQUAL(s.pages_used, s.index_pages);
		CU_ASSERT_EQUAL(s.objects, 0);
		CU_ASSERT(persist_alloc(ps, id, 64, 0) != NULL);
		EXPECT_OK(pmemstore_close(ps));
	}
	test_pool_remove(p2);
out:
	test_pool_remove(path);
}

/* test_close_null -- close(NULL) is EINVAL */
static void
test_close_null(void)
{
	EXPECT_FAIL_INT(pmemstore_close(NULL), EINVAL);
	CU_ASSERT_EQUAL(pmemstore_is_pmem(NULL), 0);
}

/* test_create_existing -- EEXIST, and the file is left alone */
static void
test_create_existing(void)
{
	char *path = test_pool_path("life_exist");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 8 * MIB, 0600));
	if (ps == NULL)
		goto out;
	uuid_t id;
	test_uuid(id);
	void *p = persist_alloc(ps, id, 64, 0);
	if (p != NULL)
		pattern_fill(p, 64, id);
	pmemstore_close(ps);

	uint64_t d0, s0, d1, s1;
	CU_ASSERT_EQUAL(file_digest(path, &d0, &s0), 0);
	EXPECT_FAIL_PTR(pmemstore_create(path, 8 * MIB, 0600), EEXIST);
	EXPECT_FAIL_PTR(pmemstore_create(path, 32 * MIB, 0600), EEXIST);
	CU_ASSERT_EQUAL(file_digest(path, &d1, &s1), 0);
	CU_ASSERT_EQUAL(d0, d1);
	CU_ASSERT_EQUAL(s0, s1);

	/* an ordinary existing file too */
	char *other = test_pool_path("life_exist_plain");
	CU_ASSERT_EQUAL(file_create(other, "hello", 5), 0);
	EXPECT_FAIL_PTR(pmemstore_create(other, 8 * MIB, 0600), EEXIST);
	CU_ASSERT_EQUAL(file_digest(other, &d1, &s1), 0);
	CU_ASSERT_EQUAL(s1, 5);
	test_pool_remove(other);

	/* the pool still opens and holds its object */
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		p = EXPECT_PTR(persist_get(ps, id, NULL));
		if (p != NULL)
			CU_ASSERT_EQUAL(pattern_check(p, 64, id), -1);
		pmemstore_close(ps);
	}
out:
	test_pool_remove(path);
}

/* test_create_too_small -- EINVAL below the minimum, nothing created */
static void
test_create_too_small(void)
{
	static const size_t sizes[] = {0, 1, 4096, 2 * MIB,
				       PMEMSTORE_MIN_POOL - 1};
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *path = test_pool_path("life_small");
		EXPECT_FAIL_PTR(pmemstore_create(path, sizes[i], 0600), EINVAL);
		CU_ASSERT_EQUAL(access(path, F_OK), -1);
		test_pool_remove(path);
	}
}

/* test_create_bad_path -- missing directory, NULL path */
static void
test_create_bad_path(void)
{
	char *dir = test_pool_path("life_nodir");
	char *path = NULL;
	CU_ASSERT(asprintf(&path, "%s/sub/pool", dir) > 0);
	EXPECT_FAIL_PTR(pmemstore_create(path, 8 * MIB, 0600), ENOENT);
	free(path);
	test_pool_remove(dir);
	EXPECT_FAIL_PTR(pmemstore_create(NULL, 8 * MIB, 0600), EINVAL);
	EXPECT_FAIL_PTR(pmemstore_open(NULL, 0), EINVAL);
}

/* test_rdonly -- reads work, every write fails EROFS */
static void
test_rdonly(void)
{
	char *path = test_pool_path("life_ro");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 16 * MIB, 0600));
	if (ps == NULL)
		goto out;
	enum { N = 20 };
	uuid_t ids[N];
	size_t sizes[N];
	for (int i = 0; i < N; i++) {
		test_uuid(ids[i]);
		sizes[i] = (size_t)1 << (i % 18);
		void *p = EXPECT_PTR(persist_alloc(ps, ids[i], sizes[i], 0));
		if (p != NULL) {
			pattern_fill(p, sizes[i], ids[i]);
			persist(ps, p, sizes[i]);
		}
	}
	struct pmemstore_stats before = get_stats(ps);
	EXPECT_OK(pmemstore_close(ps));

	uint64_t d0, s0, d1, s1;
	CU_ASSERT_EQUAL(file_digest(path, &d0, &s0), 0);

	ps = EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	if (ps == NULL)
		goto out;
	for (int i = 0; i < N; i++) {
		size_t sz = 0;
		void *p = EXPECT_PTR(persist_get(ps, ids[i], &sz));
		CU_ASSERT_EQUAL(sz, sizes[i]);
		if (p != NULL)
			CU_ASSERT_EQUAL(pattern_check(p, sizes[i], ids[i]), -1);
		uuid_t back;
		if (p != NULL) {
			CU_ASSERT_EQUAL(persist_id_of(ps, p, back), 0);
			CU_ASSERT_EQUAL(uuid_compare(back, ids[i]), 0);
		}
	}
	CU_ASSERT_EQUAL(count_objects(ps), N);
	struct pmemstore_stats ro = get_stats(ps);
	CU_ASSERT_EQUAL(ro.objects, before.objects);
	CU_ASSERT_EQUAL(ro.bytes, before.bytes);
	CU_ASSERT_EQUAL(ro.pages_free, before.pages_free);
	CU_ASSERT_EQUAL(ro.pages_total, before.pages_total);

	uuid_t fresh;
	test_uuid(fresh);
	EXPECT_FAIL_PTR(persist_alloc(ps, fresh, 64, 0), EROFS);
	EXPECT_FAIL_PTR(persist_alloc(ps, fresh, 64, PERSIST_ZERO), EROFS);
	EXPECT_FAIL_PTR(persist_alloc(ps, fresh, 1 * MIB, 0), EROFS);
	EXPECT_FAIL_INT(persist_free(ps, ids[0]), EROFS);
	EXPECT_FAIL_INT(persist_free(ps, ids[N - 1]), EROFS);
	CU_ASSERT_PTR_NOT_NULL(persist_get(ps, ids[0], NULL));
	CU_ASSERT_PTR_NOT_NULL(persist_get(ps, ids[N - 1], NULL));
	CU_ASSERT_PTR_NULL(persist_get(ps, fresh, NULL));
	struct pmemstore_stats ro2 = get_stats(ps);
	CU_ASSERT_EQUAL(ro2.objects, before.objects);
	CU_ASSERT_EQUAL(ro2.pages_free, before.pages_free);
	EXPECT_OK(pmemstore_close(ps));

	/* a read-only open never writes */
	CU_ASSERT_EQUAL(file_digest(path, &d1, &s1), 0);
	CU_ASSERT_EQUAL(d0, d1);
	CU_ASSERT_EQUAL(s0, s1);

	/* writable again afterwards, content intact */
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		CU_ASSERT_EQUAL(count_objects(ps), N);
		EXPECT_OK(persist_free(ps, ids[0]));
		CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, fresh, 64, 0));
		EXPECT_OK(pmemstore_close(ps));
	}
out:
	test_pool_remove(path);
}

/* init_ok -- alloc_init callback that must never run on RDONLY */
static int
init_ok(void *ptr, size_t size, void *arg)
{
	(void)ptr;
	(void)size;
	++*(int *)arg;
	return 0;
}

/* test_rdonly_alloc_init -- alloc_init fails EROFS, init not called */
static void
test_rdonly_alloc_init(void)
{
	char *path = test_pool_path("life_ro_init");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 8 * MIB, 0600));
	if (ps == NULL)
		goto out;
	pmemstore_close(ps);
	ps = EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	if (ps != NULL) {
		uuid_t id;
		test_uuid(id);
		int calls = 0;
		EXPECT_FAIL_PTR(
			persist_alloc_init(ps, id, 128, init_ok, &calls),
			EROFS);
		CU_ASSERT_EQUAL(calls, 0);
		CU_ASSERT_EQUAL(count_objects(ps), 0);
		pmemstore_close(ps);
	}
out:
	test_pool_remove(path);
}

/* test_is_pmem -- the durability mode matches PMEMSTORE_TEST_MODE */
static void
test_is_pmem(void)
{
	char *path = test_pool_path("life_pmem");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 8 * MIB, 0600));
	if (ps == NULL)
		goto out;
	int mode = test_mode_pmem();
	int got = pmemstore_is_pmem(ps);
	printf("\n    is_pmem %d (expected %d)\n", got, mode);
	CU_ASSERT(got == 0 || got == 1);
	if (mode >= 0)
		CU_ASSERT_EQUAL(got, mode);
	pmemstore_close(ps);

	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		if (mode >= 0)
			CU_ASSERT_EQUAL(pmemstore_is_pmem(ps), mode);
		pmemstore_close(ps);
	}
	/* read-only: no durability path at all; 0 or the mode are both fine */
	ps = EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	if (ps != NULL) {
		got = pmemstore_is_pmem(ps);
		printf("    is_pmem of a read-only open: %d\n", got);
		CU_ASSERT(got == 0 || got == mode);
		pmemstore_close(ps);
	}
out:
	test_pool_remove(path);
}

/* errmsg_thread -- a new thread gets a non-NULL message */
static void *
errmsg_thread(void *arg)
{
	(void)arg;
	const char *m = pmemstore_errormsg();
	return (void *)(uintptr_t)(m != NULL);
}

/* test_errormsg -- never NULL, describes the last error */
static void
test_errormsg(void)
{
	CU_ASSERT_PTR_NOT_NULL(pmemstore_errormsg());
	char *path = test_pool_path("life_errmsg");
	errno = 0;
	CU_ASSERT_PTR_NULL(pmemstore_open(path, 0));
	CU_ASSERT_EQUAL(errno, ENOENT);
	const char *m = pmemstore_errormsg();
	CU_ASSERT_PTR_NOT_NULL(m);
	if (m != NULL) {
		printf("\n    errormsg: \"%s\"\n", m);
		CU_ASSERT(strlen(m) > 0);
	}
	pthread_t t;
	void *ret = NULL;
	CU_ASSERT_EQUAL(pthread_create(&t, NULL, errmsg_thread, NULL), 0);
	pthread_join(t, &ret);
	CU_ASSERT_PTR_NOT_NULL(ret);
	test_pool_remove(path);
}

/*
 * SPARSE_SIZE -- the huge sparse pool: 1 TiB, but 256 GiB under
 * ThreadSanitizer, whose address layout cannot always place a 1 TiB
 * mapping (the same code path, a smaller mapping)
 */
#if defined(__SANITIZE_THREAD__)
#define SPARSE_SIZE (256 * GIB)
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SPARSE_SIZE (256 * GIB)
#endif
#endif
#ifndef SPARSE_SIZE
#define SPARSE_SIZE (1 * TIB)
#endif

/* test_huge_sparse -- a 1 TiB sparse pool creates and opens quickly */
static void
test_huge_sparse(void)
{
	const size_t size = SPARSE_SIZE;
	char *path = test_pool_path("life_1tib");

	/* can this file system hold a 1 TiB sparse file? */
	struct statvfs vfs;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	int ok = fd >= 0 && statvfs(test_dir(), &vfs) == 0 &&
		 ftruncate(fd, (off_t)size) == 0;
	if (fd >= 0)
		close(fd);
	unlink(path);
	if (!ok) {
		printf("\n    SKIP: %s cannot hold a 1 TiB sparse file\n",
		       test_dir());
		CU_PASS("1 TiB sparse file not supported here: skipped");
		test_pool_remove(path);
		return;
	}

	double t0 = now_ms();
	struct pmemstore *ps = EXPECT_PTR(pmemstore_create(path, size, 0600));
	double t1 = now_ms();
	if (ps == NULL)
		goto out;
	printf("\n    %zu GiB create %.1f ms", size / GIB, t1 - t0);
	CU_ASSERT(t1 - t0 < 2000.0);
	struct pmemstore_stats st = get_stats(ps);
	/* about (size - 8 KiB - 16 B/page) / 4 KiB pages */
	uint64_t approx = (size - 8 * KIB) / (4 * KIB + 16);
	CU_ASSERT(st.pages_total <= approx);
	CU_ASSERT(st.pages_total + 2 * MIB / 4096 + 1 >= approx);
	CU_ASSERT_EQUAL(st.pages_free + st.index_pages, st.pages_total);

	uuid_t a, b;
	test_uuid(a);
	test_uuid(b);
	void *pa = EXPECT_PTR(persist_alloc(ps, a, 100, 0));
	void *pb = EXPECT_PTR(persist_alloc(ps, b, 3 * MIB, 0));
	if (pa != NULL)
		pattern_fill(pa, 100, a);
	if (pb != NULL)
		pattern_fill(pb, 3 * MIB, b);
	t0 = now_ms();
	EXPECT_OK(pmemstore_close(ps));
	t1 = now_ms();
	printf(", close %.1f ms", t1 - t0);

	t0 = now_ms();
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	t1 = now_ms();
	printf(", open %.1f ms", t1 - t0);
	CU_ASSERT(t1 - t0 < 2000.0);
	if (ps != NULL) {
		size_t sz;
		pa = EXPECT_PTR(persist_get(ps, a, &sz));
		if (pa != NULL) {
			CU_ASSERT_EQUAL(sz, 100);
			CU_ASSERT_EQUAL(pattern_check(pa, 100, a), -1);
		}
		pb = EXPECT_PTR(persist_get(ps, b, &sz));
		if (pb != NULL) {
			CU_ASSERT_EQUAL(sz, 3 * MIB);
			CU_ASSERT_EQUAL(pattern_check(pb, 3 * MIB, b), -1);
			CU_ASSERT_EQUAL((uintptr_t)pb % (2 * MIB), 0);
		}
		struct pmemstore_stats s2 = get_stats(ps);
		CU_ASSERT_EQUAL(s2.pages_total, st.pages_total);
		CU_ASSERT_EQUAL(s2.objects, 2);
		t0 = now_ms();
		EXPECT_OK(pmemstore_close(ps));
		t1 = now_ms();
		printf(", close %.1f ms", t1 - t0);
	}
	t0 = now_ms();
	ps = EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	t1 = now_ms();
	printf(", rdonly open %.1f ms\n", t1 - t0);
	CU_ASSERT(t1 - t0 < 2000.0);
	if (ps != NULL) {
		CU_ASSERT_EQUAL(count_objects(ps), 2);
		pmemstore_close(ps);
	}
	struct stat fst;
	if (stat(path, &fst) == 0)
		printf("    1 TiB pool occupies %lu KiB\n",
		       (unsigned long)(fst.st_blocks / 2));
out:
	test_pool_remove(path);
}

static CU_TestInfo lifecycle_tests[] = {
	{"roundtrip", test_roundtrip},
	{"close_null", test_close_null},
	{"create_existing", test_create_existing},
	{"create_too_small", test_create_too_small},
	{"create_bad_path", test_create_bad_path},
	{"rdonly", test_rdonly},
	{"rdonly_alloc_init", test_rdonly_alloc_init},
	{"is_pmem", test_is_pmem},
	{"errormsg", test_errormsg},
	{"huge_sparse_1tib", test_huge_sparse},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"lifecycle", NULL, NULL, NULL, NULL, lifecycle_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
