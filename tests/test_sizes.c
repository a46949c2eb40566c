/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_sizes.c -- tests of object sizes and alignment
 *
 * Owns: every small size from 1 B, every class boundary +-1, page and
 * huge-page boundaries up to 64 MiB: each object written whole and read
 * back, no two objects overlapping, the exact size reported by
 * persist_get, the documented alignment (16 B, 4 KiB above 2016 B, 2 MiB
 * from 2 MiB), the largest object a pool holds, and ENOMEM for sizes the
 * pool cannot hold (including sizes whose rounding would overflow).
 */
#include <stdint.h>
#include <stdlib.h>

#include "common.h"
#include "layout.h"

#define POOL_SIZE (256 * MIB)

struct sobj {
	uuid_t id;
	size_t size;
	char *p;
};

/* cmp_ptr -- order objects by address */
static int
cmp_ptr(const void *a, const void *b)
{
	const struct sobj *x = a, *y = b;
	return (x->p > y->p) - (x->p < y->p);
}

/* build_sizes -- the list of sizes to test; returns the count */
static size_t
build_sizes(size_t *out, size_t cap)
{
	static const struct pms_class cls[] = PMS_CLASS_TABLE;
	size_t n = 0;
	for (size_t s = 1; s <= 300 && n < cap; s++)
		out[n++] = s;
	for (unsigned c = 1; c < PMS_NCLASSES; c++)
		for (int d = -1; d <= 1; d++) {
			size_t s = cls[c].size + (size_t)(long)d;
			if (s > 300 && n < cap)
				out[n++] = s;
		}
	static const size_t extra[] = {
		2017,		2018,		3000,	     4095,
		4096,		4097,		8191,	     8192,
		8193,		12288,		65535,	     65536,
		65537,		1 * MIB - 1,	1 * MIB,     1 * MIB + 1,
		2 * MIB - 4097, 2 * MIB - 4096, 2 * MIB - 1, 2 * MIB,
		2 * MIB + 1,	4 * MIB,	4 * MIB + 1, 64 * MIB,
	};
	for (size_t i = 0; i < ARRAY_SIZE(extra) && n < cap; i++)
		out[n++] = extra[i];
	return n;
}

/* alignment_ok -- the documented alignment of an object of size */
static int
alignment_ok(const void *p, size_t size)
{
	uintptr_t a = (uintptr_t)p;
	if (a % 16)
		return 0;
	if (size > PMS_SMALL_MAX && a % 4096)
		return 0;
	if (size >= 2 * MIB && a % (2 * MIB))
		return 0;
	return 1;
}

/* verify -- get returns the same pointer, size and content */
static unsigned
verify(struct pmemstore *ps, struct sobj *o, size_t n, int same_ptr)
{
	unsigned bad = 0;
	for (size_t i = 0; i < n; i++) {
		if (o[i].p == NULL)
			continue;
		size_t sz = 0;
		char *p = persist_get(ps, o[i].id, &sz);
		if (p == NULL || sz != o[i].size || (same_ptr && p != o[i].p) ||
		    pattern_check(p, sz, o[i].id) != -1) {
			if (bad++ < 5)
				fprintf(stderr,
					"size %zu: got %p/%p size %zu\n",
					o[i].size, (void *)p, (void *)o[i].p,
					sz);
			continue;
		}
		o[i].p = p;
	}
	return bad;
}

/* test_all_sizes -- each size written whole and read back */
static void
test_all_sizes(void)
{
	size_t sizes[512];
	size_t n = build_sizes(sizes, ARRAY_SIZE(sizes));
	struct sobj *o = calloc(n, sizeof(*o));
	char *path = test_pool_path("sizes");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps == NULL)
		goto out;

	uint64_t bytes = 0;
	unsigned misaligned = 0;
	for (size_t i = 0; i < n; i++) {
		test_uuid(o[i].id);
		o[i].size = sizes[i];
		o[i].p = persist_alloc(ps, o[i].id, sizes[i], 0);
		CU_ASSERT_PTR_NOT_NULL(o[i].p);
		if (o[i].p == NULL) {
			fprintf(stderr, "alloc %zu: %s\n", sizes[i],
				pmemstore_errormsg());
			continue;
		}
		bytes += sizes[i];
		if (!alignment_ok(o[i].p, sizes[i])) {
			fprintf(stderr, "size %zu at %p misaligned\n", sizes[i],
				(void *)o[i].p);
			misaligned++;
		}
		/* write the whole object, then read it straight back */
		pattern_fill(o[i].p, sizes[i], o[i].id);
		persist(ps, o[i].p, sizes[i]);
		CU_ASSERT_EQUAL(pattern_check(o[i].p, sizes[i], o[i].id), -1);
		size_t sz = 0;
		CU_ASSERT_PTR_EQUAL(persist_get(ps, o[i].id, &sz), o[i].p);
		CU_ASSERT_EQUAL(sz, sizes[i]);
	}
	CU_ASSERT_EQUAL(misaligned, 0);

	/* nothing overwrote anything else */
	CU_ASSERT_EQUAL(verify(ps, o, n, 1), 0);
	struct pmemstore_stats st = get_stats(ps);
	CU_ASSERT_EQUAL(st.bytes, bytes);

	/* no two objects overlap */
	struct sobj *sorted = malloc(n * sizeof(*sorted));
	memcpy(sorted, o, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_ptr);
	unsigned overlaps = 0;
	for (size_t i = 1; i < n; i++)
		if (sorted[i - 1].p != NULL &&
		    sorted[i - 1].p + sorted[i - 1].size > sorted[i].p)
			overlaps++;
	CU_ASSERT_EQUAL(overlaps, 0);
	free(sorted);

	/* after a reopen */
	EXPECT_OK(pmemstore_close(ps));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	CU_ASSERT_EQUAL(verify(ps, o, n, 0), 0);
	misaligned = 0;
	for (size_t i = 0; i < n; i++)
		if (o[i].p != NULL && !alignment_ok(o[i].p, o[i].size))
			misaligned++;
	CU_ASSERT_EQUAL(misaligned, 0);

	/* free and re-allocate with the sizes in reverse order */
	for (size_t i = 0; i < n; i++)
		if (o[i].p != NULL)
			EXPECT_OK(persist_free(ps, o[i].id));
	for (size_t i = 0; i < n; i++) {
		size_t j = n - 1 - i;
		test_uuid(o[i].id);
		o[i].size = sizes[j];
		o[i].p = persist_alloc(ps, o[i].id, o[i].size, 0);
		CU_ASSERT_PTR_NOT_NULL(o[i].p);
		if (o[i].p == NULL)
			continue;
		CU_ASSERT(alignment_ok(o[i].p, o[i].size));
		pattern_fill(o[i].p, o[i].size, o[i].id);
	}
	CU_ASSERT_EQUAL(verify(ps, o, n, 1), 0);
	EXPECT_OK(pmemstore_close(ps));
out:
	free(o);
	test_pool_remove(path);
}

/* test_too_big -- sizes beyond the pool fail ENOMEM, pool unharmed */
static void
test_too_big(void)
{
	char *path = test_pool_path("sizes_big");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 64 * MIB, 0600));
	if (ps == NULL)
		goto out;
	struct pmemstore_stats st0 = get_stats(ps);
	const size_t total = st0.pages_total * PMS_PAGE_SIZE;
	const size_t big[] = {
		total,
		total + 1,
		64 * MIB,
		64 * MIB + 1,
		1 * GIB,
		1 * TIB,
		(size_t)1 << 52,
		(size_t)1 << 62,
		SIZE_MAX / 2,
		SIZE_MAX / 2 + 1,
		SIZE_MAX - 2 * MIB,
		SIZE_MAX - 4096,
		SIZE_MAX - 4095,
		SIZE_MAX - 1,
		SIZE_MAX,
	};
	for (size_t i = 0; i < ARRAY_SIZE(big); i++) {
		uuid_t id;
		test_uuid(id);
		EXPECT_FAIL_PTR(persist_alloc(ps, id, big[i], 0), ENOMEM);
		EXPECT_FAIL_PTR(persist_alloc(ps, id, big[i], PERSIST_ZERO),
				ENOMEM);
		CU_ASSERT_PTR_NULL(persist_get(ps, id, NULL));
	}
	struct pmemstore_stats st1 = get_stats(ps);
	CU_ASSERT_EQUAL(st1.pages_free, st0.pages_free);
	CU_ASSERT_EQUAL(st1.objects, 0);

	/* the largest object: all pages but a record page, 2 MiB aligned */
	uuid_t id;
	test_uuid(id);
	size_t largest = total - PMS_HUGE_SIZE;
	char *p = persist_alloc(ps, id, largest, 0);
	printf("\n    pool of %lu pages: %zu MiB object %s\n",
	       (unsigned long)st0.pages_total, largest >> 20,
	       p ? "fits" : "does not fit");
	CU_ASSERT_PTR_NOT_NULL(p);
	if (p != NULL) {
		CU_ASSERT(alignment_ok(p, largest));
		p[0] = 1;
		p[largest - 1] = 2;
		persist(ps, p, 1);
		persist(ps, p + largest - 1, 1);
		EXPECT_OK(persist_free(ps, id));
	}
	/* an odd size just below it */
	p = persist_alloc(ps, id, largest - 4097, 0);
	CU_ASSERT_PTR_NOT_NULL(p);
	if (p != NULL)
		EXPECT_OK(persist_free(ps, id));

	/* the pool still works */
	p = EXPECT_PTR(persist_alloc(ps, id, 100, 0));
	if (p != NULL) {
		pattern_fill(p, 100, id);
		EXPECT_OK(persist_free(ps, id));
	}
	struct pmemstore_stats st2 = get_stats(ps);
	CU_ASSERT_EQUAL(st2.pages_free, st0.pages_free);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* test_size_zero -- size 0 is EINVAL */
static void
test_size_zero(void)
{
	char *path = test_pool_path("sizes_zero");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 8 * MIB, 0600));
	if (ps == NULL)
		goto out;
	uuid_t id;
	test_uuid(id);
	EXPECT_FAIL_PTR(persist_alloc(ps, id, 0, 0), EINVAL);
	EXPECT_FAIL_PTR(persist_alloc(ps, id, 0, PERSIST_ZERO), EINVAL);
	CU_ASSERT_PTR_NULL(persist_get(ps, id, NULL));
	CU_ASSERT_EQUAL(count_objects(ps), 0);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* test_growth -- objects in every 64 MiB window of a bigger pool */
static void
test_growth(void)
{
	/* crosses the initial high-water mark several times */
	char *path = test_pool_path("sizes_growth");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps == NULL)
		goto out;
	enum { N = 200 };
	struct sobj o[N];
	size_t n = 0;
	uint64_t rng = test_seed() ^ 0x67;
	for (n = 0; n < N; n++) {
		test_uuid(o[n].id);
		o[n].size = (size_t)rnd_range(&rng, 1 * MIB, 1 * MIB + 8192);
		o[n].p = persist_alloc(ps, o[n].id, o[n].size, 0);
		if (o[n].p == NULL) {
			CU_ASSERT_EQUAL(errno, ENOMEM);
			break;
		}
		pattern_fill(o[n].p, o[n].size, o[n].id);
		persist(ps, o[n].p, o[n].size);
	}
	printf("\n    %zu objects of ~1 MiB in 256 MiB\n", n);
	CU_ASSERT(n >= 240 * MIB / (1 * MIB + 12288) - 1 || n == N);
	CU_ASSERT_EQUAL(verify(ps, o, n, 1), 0);
	EXPECT_OK(pmemstore_close(ps));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		CU_ASSERT_EQUAL(verify(ps, o, n, 0), 0);
		EXPECT_OK(pmemstore_close(ps));
	}
out:
	test_pool_remove(path);
}

static CU_TestInfo sizes_tests[] = {
	{"all_sizes", test_all_sizes},
	{"too_big", test_too_big},
	{"size_zero", test_size_zero},
	{"growth", test_growth},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"sizes", NULL, NULL, NULL, NULL, sizes_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
