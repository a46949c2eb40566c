/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_stats.c -- tests of pmemstore_stats and of the persistence cost
 *
 * Owns: the space counters (pages, objects, bytes) after known
 * allocations; the cost contract on the pmem path (persist_alloc and
 * persist_free at most 1 fence, PERSIST_ZERO and persist_alloc_init at
 * most 2, the documented high-water-mark exception, reads cost nothing);
 * the msync path (no fences, msyncs instead); and the durability helpers
 * persist, persist_flush, persist_fence, persist_memcpy, persist_memset.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "common.h"
#include "layout.h"

static int Pmem; /* 1 when this run is on the pmem path */

/* suite_init -- decide the mode from a probe pool */
static int
suite_init(void)
{
	char *path = test_pool_path("stats_probe");
	struct pmemstore *ps = pmemstore_create(path, 8 * MIB, 0600);
	if (ps == NULL) {
		test_pool_remove(path);
		return 1;
	}
	Pmem = pmemstore_is_pmem(ps);
	pmemstore_close(ps);
	test_pool_remove(path);
	int mode = test_mode_pmem();
	if (mode >= 0 && mode != Pmem)
		fprintf(stderr, "is_pmem %d but mode %d\n", Pmem, mode);
	return 0;
}

/* delta of the persistence counters between two snapshots */
struct cost {
	uint64_t flushes, lines, fences, msyncs;
};

/* cost_of -- b - a */
static struct cost
cost_of(const struct pmemstore_stats *a, const struct pmemstore_stats *b)
{
	struct cost c = {b->flushes - a->flushes,
			 b->flushed_lines - a->flushed_lines,
			 b->fences - a->fences, b->msyncs - a->msyncs};
	return c;
}

/* test_space_counters -- pages, objects, bytes after known steps */
static void
test_space_counters(void)
{
	static const struct pms_class cls[] = PMS_CLASS_TABLE;
	char *path = test_pool_path("stats_space");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 64 * MIB, 0600));
	if (ps == NULL)
		goto out;
	struct pmemstore_stats s0 = get_stats(ps);
	CU_ASSERT(s0.pages_total > 15000);
	CU_ASSERT_EQUAL(s0.pages_free + s0.index_pages, s0.pages_total);
	CU_ASSERT_EQUAL(s0.pages_used, s0.index_pages);
	CU_ASSERT_EQUAL(s0.objects, 0);
	CU_ASSERT_EQUAL(s0.bytes, 0);
	CU_ASSERT(mem_is(s0.reserved, 0, sizeof(s0.reserved)));

	/* a full slab page of 64 B objects, then one more */
	unsigned n64 = cls[1].nslots;
	uuid_t ids[64];
	for (unsigned i = 0; i < n64; i++) {
		test_uuid(ids[i]);
		CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, ids[i], 60, 0));
	}
	struct pmemstore_stats s1 = get_stats(ps);
	CU_ASSERT_EQUAL(s1.objects, n64);
	CU_ASSERT_EQUAL(s1.bytes, 60 * n64);
	CU_ASSERT_EQUAL(s1.pages_used, 1 + s1.index_pages);
	CU_ASSERT_EQUAL(s1.pages_free, s0.pages_total - 1 - s0.index_pages);
	test_uuid(ids[n64]);
	CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, ids[n64], 64, 0));
	struct pmemstore_stats s2 = get_stats(ps);
	CU_ASSERT_EQUAL(s2.objects, n64 + 1);
	CU_ASSERT_EQUAL(s2.bytes, 60 * n64 + 64);
	CU_ASSERT_EQUAL(s2.pages_used, 2 + s2.index_pages);

	/* a large object: its pages plus one record page */
	uuid_t big, big2, huge;
	test_uuid(big);
	test_uuid(big2);
	test_uuid(huge);
	CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, big, 5000, 0));
	struct pmemstore_stats s3 = get_stats(ps);
	CU_ASSERT_EQUAL(s3.pages_used, s2.pages_used + 2 + 1);
	CU_ASSERT_EQUAL(s3.bytes, s2.bytes + 5000);
	CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, big2, 4096, 0));
	CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, huge, 2 * MIB + 1, 0));
	struct pmemstore_stats s4 = get_stats(ps);
	CU_ASSERT_EQUAL(s4.pages_used, s3.pages_used + 1 + 513);
	CU_ASSERT_EQUAL(s4.objects, s3.objects + 2);
	CU_ASSERT_EQUAL(s4.bytes, s3.bytes + 4096 + 2 * MIB + 1);
	CU_ASSERT_EQUAL(s4.pages_used + s4.pages_free, s4.pages_total);

	/* a class of its own takes its own page */
	uuid_t mid;
	test_uuid(mid);
	CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, mid, 1000, 0));
	struct pmemstore_stats s5 = get_stats(ps);
	CU_ASSERT_EQUAL(s5.pages_used, s4.pages_used + 1);

	/* free it all: back to nothing */
	for (unsigned i = 0; i <= n64; i++)
		EXPECT_OK(persist_free(ps, ids[i]));
	EXPECT_OK(persist_free(ps, big));
	EXPECT_OK(persist_free(ps, big2));
	EXPECT_OK(persist_free(ps, huge));
	EXPECT_OK(persist_free(ps, mid));
	struct pmemstore_stats s6 = get_stats(ps);
	CU_ASSERT_EQUAL(s6.objects, 0);
	CU_ASSERT_EQUAL(s6.bytes, 0);
	CU_ASSERT_EQUAL(s6.pages_free + s6.index_pages, s6.pages_total);
	CU_ASSERT_EQUAL(s6.pages_used, s6.index_pages);
	CU_ASSERT_EQUAL(s6.pages_total, s0.pages_total);

	/* stats of NULL */
	EXPECT_FAIL_INT(pmemstore_stats(NULL, &s6), EINVAL);
	EXPECT_FAIL_INT(pmemstore_stats(ps, NULL), EINVAL);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/*
 * cost accounting over many operations: the maximum per-operation fence
 * count, and how many operations went over a limit (and by how much)
 */
struct tally {
	const char *what;
	unsigned ops;
	uint64_t fences, msyncs, flushes, lines;
	uint64_t max_fences;
	unsigned over; /* operations above the limit */
	uint64_t max_over;
	unsigned failed;
	unsigned no_msync; /* msync path: operations without an msync */
};

/* tally_add -- account one operation's cost against a fence limit */
static void
tally_add(struct tally *t, const struct cost *c, uint64_t limit)
{
	t->ops++;
	t->fences += c->fences;
	t->msyncs += c->msyncs;
	t->flushes += c->flushes;
	t->lines += c->lines;
	if (c->fences > t->max_fences)
		t->max_fences = c->fences;
	if (c->fences > limit) {
		t->over++;
		if (c->fences - limit > t->max_over)
			t->max_over = c->fences - limit;
	}
	if (c->msyncs == 0)
		t->no_msync++;
}

/* tally_print -- one summary line */
static void
tally_print(const struct tally *t)
{
	printf("    %-22s %5u ops: %.2f fences/op (max %lu, %u over), "
	       "%.2f flushes/op, %.1f lines/op, %.2f msyncs/op%s\n",
	       t->what, t->ops, (double)t->fences / t->ops,
	       (unsigned long)t->max_fences, t->over,
	       (double)t->flushes / t->ops, (double)t->lines / t->ops,
	       (double)t->msyncs / t->ops, t->failed ? " (failures!)" : "");
}

/*
 * tally_check -- the pmem-path limit (with up to `grace` operations one
 * fence over it, the high-water-mark exception) or the msync-path rules
 */
static void
tally_check(const struct tally *t, unsigned grace)
{
	tally_print(t);
	CU_ASSERT_EQUAL(t->failed, 0);
	if (Pmem) {
		CU_ASSERT(t->over <= grace);
		CU_ASSERT(t->max_over <= 1);
		CU_ASSERT_EQUAL(t->msyncs, 0);
		CU_ASSERT(t->flushes >= t->ops);
		CU_ASSERT(t->lines >= t->flushes);
	} else {
		CU_ASSERT_EQUAL(t->fences, 0);
		CU_ASSERT(t->msyncs >= t->ops);
		CU_ASSERT_EQUAL(t->no_msync, 0);
	}
}

/* init_pattern -- alloc_init callback */
static int
init_pattern(void *ptr, size_t size, void *arg)
{
	pattern_fill(ptr, size, (const unsigned char *)arg);
	return 0;
}

enum op_kind { OP_ALLOC, OP_ZERO, OP_INIT };

/*
 * cost_case -- n allocations of size with the given kind, then n frees;
 * returns nothing, asserts the limits
 */
static void
cost_case(struct pmemstore *ps, size_t size, unsigned n, enum op_kind kind,
	  unsigned grace)
{
	static const char *names[] = {"alloc", "alloc ZERO", "alloc_init"};
	char what[64];
	snprintf(what, sizeof(what), "%s %zu", names[kind], size);
	uuid_t *ids = malloc(n * sizeof(uuid_t));
	struct tally ta, tf;
	unsigned grows = 0;
	memset(&ta, 0, sizeof(ta));
	memset(&tf, 0, sizeof(tf));
	ta.what = what;
	tf.what = "  free";
	const uint64_t limit = kind == OP_ALLOC ? 1 : 2;

	for (unsigned i = 0; i < n; i++) {
		test_uuid(ids[i]);
		struct pmemstore_stats a = get_stats(ps), b;
		void *p;
		if (kind == OP_INIT)
			p = persist_alloc_init(ps, ids[i], size, init_pattern,
					       ids[i]);
		else
			p = persist_alloc(ps, ids[i], size,
					  kind == OP_ZERO ? PERSIST_ZERO : 0);
		b = get_stats(ps);
		if (p == NULL) {
			ta.failed++;
			continue;
		}
		struct cost c = cost_of(&a, &b);
		if (b.index_pages != a.index_pages) {
			/*
			 * the index grew: a split (3 fences) and maybe a
			 * directory doubling (2), amortized over the ~900
			 * allocations that filled the segment
			 */
			grows++;
			CU_ASSERT(c.fences <= limit + 5);
			continue;
		}
		tally_add(&ta, &c, limit);
	}
	if (grows)
		printf("    %u of %u allocations grew the index\n", grows, n);
	CU_ASSERT(grows <= n / 500 + 1);
	tally_check(&ta, grace);

	for (unsigned i = 0; i < n; i++) {
		struct pmemstore_stats a = get_stats(ps), b;
		int r = persist_free(ps, ids[i]);
		b = get_stats(ps);
		if (r != 0) {
			tf.failed++;
			continue;
		}
		struct cost c = cost_of(&a, &b);
		tally_add(&tf, &c, 1);
	}
	tally_check(&tf, 0);
	free(ids);
}

/* hwm_grace -- how often the high-water mark may grow in a pool */
static unsigned
hwm_grace(size_t pool_size)
{
	unsigned g = 1;
	for (size_t s = 64 * MIB; s < pool_size; s *= 2)
		g++;
	return g;
}

/* test_cost -- fences per operation (pmem) / msyncs (msync path) */
static void
test_cost(void)
{
	const size_t pool = 512 * MIB;
	char *path = test_pool_path("stats_cost");
	struct pmemstore *ps = EXPECT_PTR(pmemstore_create(path, pool, 0600));
	if (ps == NULL)
		goto out;
	unsigned grace = hwm_grace(pool);
	printf("\n    %s path, high-water-mark grace %u\n",
	       Pmem ? "pmem" : "msync", grace);

	/* warm-up: one allocation of each kind */
	uuid_t w1, w2;
	test_uuid(w1);
	test_uuid(w2);
	CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, w1, 64, 0));
	CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, w2, 1 * MIB, 0));

	/* reading and stats cost nothing */
	struct pmemstore_stats a = get_stats(ps);
	struct pmemstore_stats b = get_stats(ps);
	struct cost c = cost_of(&a, &b);
	CU_ASSERT(c.fences == 0 && c.flushes == 0 && c.msyncs == 0);
	for (int i = 0; i < 100; i++) {
		CU_ASSERT_PTR_NOT_NULL(persist_get(ps, w1, NULL));
		CU_ASSERT_PTR_NOT_NULL(persist_get(ps, w2, NULL));
	}
	count_objects(ps);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	CU_ASSERT(c.fences == 0 && c.flushes == 0 && c.msyncs == 0);

	unsigned many = Pmem || test_dir_is_tmpfs() ? 3000 : 1000;
	cost_case(ps, 64, many, OP_ALLOC, 0);
	cost_case(ps, 1 * MIB, 300, OP_ALLOC, grace);
	cost_case(ps, 64, many / 2, OP_ZERO, 0);
	cost_case(ps, 1 * MIB, 100, OP_ZERO, grace);
	cost_case(ps, 64, many / 2, OP_INIT, 0);
	cost_case(ps, 1 * MIB, 100, OP_INIT, grace);
	cost_case(ps, 5000, 500, OP_ALLOC, grace);
	cost_case(ps, 2 * MIB, 100, OP_ALLOC, grace);

	struct pmemstore_stats end = get_stats(ps);
	if (Pmem) {
		CU_ASSERT(end.fences > 0);
		CU_ASSERT_EQUAL(end.msyncs, 0);
	} else {
		CU_ASSERT_EQUAL(end.fences, 0);
		CU_ASSERT(end.msyncs > 0);
	}
	EXPECT_OK(pmemstore_close(ps));

	/* counters start again at an open */
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		struct pmemstore_stats o = get_stats(ps);
		CU_ASSERT(o.fences < end.fences || end.fences == 0);
		CU_ASSERT(o.msyncs < end.msyncs || end.msyncs == 0);
		CU_ASSERT(o.flushes < end.flushes || end.flushes == 0);
		CU_ASSERT_EQUAL(o.objects, 2);
		pmemstore_close(ps);
	}
out:
	test_pool_remove(path);
}

/* lines_of -- 64-byte lines covering [addr, addr + len) */
static uint64_t
lines_of(const void *addr, size_t len)
{
	uintptr_t s = (uintptr_t)addr & ~(uintptr_t)63;
	uintptr_t e = ((uintptr_t)addr + len + 63) & ~(uintptr_t)63;
	return (e - s) / 64;
}

/* check_helper_cost -- the counters moved as a durability step should */
static void
check_helper_cost(const char *what, const struct cost *c, uint64_t lines,
		  int fence)
{
	if (Pmem) {
		CU_ASSERT(c->flushes >= 1);
		CU_ASSERT(c->lines >= lines);
		CU_ASSERT_EQUAL(c->fences, (uint64_t)fence);
		CU_ASSERT_EQUAL(c->msyncs, 0);
	} else {
		CU_ASSERT_EQUAL(c->fences, 0);
		CU_ASSERT(c->msyncs >= 1);
	}
	if ((Pmem && (c->flushes < 1 || c->lines < lines ||
		      c->fences != (uint64_t)fence)) ||
	    (!Pmem && (c->fences != 0 || c->msyncs < 1)))
		fprintf(stderr,
			"%s: flushes %lu lines %lu (want >= %lu) fences %lu "
			"msyncs %lu\n",
			what, (unsigned long)c->flushes,
			(unsigned long)c->lines, (unsigned long)lines,
			(unsigned long)c->fences, (unsigned long)c->msyncs);
}

/* test_helpers -- persist* helpers work and bump the counters */
static void
test_helpers(void)
{
	char *path = test_pool_path("stats_helpers");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 16 * MIB, 0600));
	if (ps == NULL)
		goto out;
	uuid_t id;
	test_uuid(id);
	const size_t size = 64 * KIB;
	char *p = EXPECT_PTR(persist_alloc(ps, id, size, 0));
	if (p == NULL) {
		pmemstore_close(ps);
		goto out;
	}
	CU_ASSERT_EQUAL((uintptr_t)p % 4096, 0);
	struct pmemstore_stats a, b;
	struct cost c;

	/* persist = flush + fence */
	memset(p, 1, 4096);
	a = get_stats(ps);
	persist(ps, p, 4096);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	check_helper_cost("persist 4096", &c, 64, 1);
	if (Pmem)
		CU_ASSERT_EQUAL(c.lines, 64);

	/* unaligned, crossing a line */
	a = get_stats(ps);
	persist(ps, p + 10, 64);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	check_helper_cost("persist +10 64", &c, lines_of(p + 10, 64), 1);
	if (Pmem)
		CU_ASSERT_EQUAL(c.lines, 2);

	/* one byte */
	a = get_stats(ps);
	persist(ps, p + 4095, 1);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	check_helper_cost("persist 1", &c, 1, 1);
	if (Pmem)
		CU_ASSERT_EQUAL(c.lines, 1);

	/* flush alone: no fence; then a fence alone */
	a = get_stats(ps);
	persist_flush(ps, p + 100, 1000);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	if (Pmem) {
		CU_ASSERT_EQUAL(c.flushes, 1);
		CU_ASSERT_EQUAL(c.lines, lines_of(p + 100, 1000));
		CU_ASSERT_EQUAL(c.fences, 0);
	}
	a = get_stats(ps);
	persist_fence(ps);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	if (Pmem) {
		CU_ASSERT_EQUAL(c.fences, 1);
		CU_ASSERT_EQUAL(c.flushes, 0);
	} else {
		CU_ASSERT_EQUAL(c.fences, 0);
	}
	/* on the msync path flush + fence together make an msync */
	a = get_stats(ps);
	persist_flush(ps, p + 8192, 100);
	persist_fence(ps);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	if (!Pmem) {
		CU_ASSERT(c.msyncs >= 1);
		CU_ASSERT_EQUAL(c.fences, 0);
	}

	/* persist_memcpy */
	char *src = malloc(size);
	pattern_fill(src, size, id);
	a = get_stats(ps);
	void *r = persist_memcpy(ps, p, src, size);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	CU_ASSERT_PTR_EQUAL(r, p);
	CU_ASSERT_EQUAL(memcmp(p, src, size), 0);
	check_helper_cost("persist_memcpy", &c, 0, 1);
	/* small and unaligned */
	a = get_stats(ps);
	r = persist_memcpy(ps, p + 3, "hello, world", 12);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	CU_ASSERT_PTR_EQUAL(r, p + 3);
	CU_ASSERT_EQUAL(memcmp(p + 3, "hello, world", 12), 0);
	CU_ASSERT_EQUAL(memcmp(p, src, 3), 0);
	CU_ASSERT_EQUAL(memcmp(p + 15, src + 15, size - 15), 0);
	check_helper_cost("persist_memcpy 12", &c, 0, 1);

	/* persist_memset */
	a = get_stats(ps);
	r = persist_memset(ps, p + 4096, 0x3c, 3 * 4096);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	CU_ASSERT_PTR_EQUAL(r, p + 4096);
	CU_ASSERT(mem_is(p + 4096, 0x3c, 3 * 4096));
	CU_ASSERT_EQUAL(memcmp(p + 16, src + 16, 4096 - 16), 0);
	CU_ASSERT_EQUAL(memcmp(p + 4 * 4096, src + 4 * 4096, size - 4 * 4096),
			0);
	check_helper_cost("persist_memset", &c, 0, 1);
	a = get_stats(ps);
	r = persist_memset(ps, p + 1, 0, 5);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	CU_ASSERT_PTR_EQUAL(r, p + 1);
	CU_ASSERT(mem_is(p + 1, 0, 5));
	CU_ASSERT_EQUAL(p[6], 'l');
	check_helper_cost("persist_memset 5", &c, 0, 1);

	/* len 0 and NULL pool: no-ops */
	a = get_stats(ps);
	persist(ps, p, 0);
	persist_flush(ps, p, 0);
	r = persist_memcpy(ps, p, src, 0);
	CU_ASSERT_PTR_EQUAL(r, p);
	r = persist_memset(ps, p, 0, 0);
	CU_ASSERT_PTR_EQUAL(r, p);
	b = get_stats(ps);
	c = cost_of(&a, &b);
	CU_ASSERT(c.flushes == 0 && c.lines == 0 && c.fences == 0 &&
		  c.msyncs == 0);
	persist(NULL, p, 64);
	persist_flush(NULL, p, 64);
	persist_fence(NULL);
	persist_memcpy(NULL, p, src, 16);
	persist_memset(NULL, p, 0, 16);
	CU_PASS("NULL pool helpers did not crash");

	/* the content survives a reopen */
	EXPECT_OK(pmemstore_close(ps));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		char *q = EXPECT_PTR(persist_get(ps, id, NULL));
		if (q != NULL) {
			CU_ASSERT(mem_is(q + 4096, 0x3c, 3 * 4096));
			CU_ASSERT_EQUAL(memcmp(q + 3, "\0\0\0lo, world", 12),
					0);
			CU_ASSERT_EQUAL(memcmp(q + 4 * 4096, src + 4 * 4096,
					       size - 4 * 4096),
					0);
		}
		pmemstore_close(ps);
	}
	free(src);
out:
	test_pool_remove(path);
}

/* counting threads: each allocates and frees its own objects */
#define CT_THREADS 4
#define CT_OPS 2000

static struct pmemstore *Ct_pool;
static int Ct_fail;

static void *
count_thread(void *arg)
{
	uuid_t id;

	(void)arg;
	for (int i = 0; i < CT_OPS; i++) {
		test_uuid(id);
		if (persist_alloc(Ct_pool, id, 64, 0) == NULL ||
		    persist_free(Ct_pool, id) != 0)
			__atomic_store_n(&Ct_fail, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * test_counts_across_threads -- counters are kept per thread and summed:
 * the sum is exact (on the pmem path, one fence per alloc and per free)
 */
static void
test_counts_across_threads(void)
{
	char *path = test_pool_path("stats_threads");
	pthread_t th[CT_THREADS];
	struct pmemstore_stats a, b;
	uuid_t id;

	Ct_pool = EXPECT_PTR(pmemstore_create(path, 64 * MIB, 0600));
	if (Ct_pool == NULL)
		goto out;
	/* warm up this thread's counters and the first slab page */
	test_uuid(id);
	CU_ASSERT_PTR_NOT_NULL(persist_alloc(Ct_pool, id, 64, 0));
	EXPECT_OK(persist_free(Ct_pool, id));
	a = get_stats(Ct_pool);
	for (uintptr_t t = 0; t < CT_THREADS; t++)
		CU_ASSERT_EQUAL(
			pthread_create(&th[t], NULL, count_thread, (void *)t),
			0);
	for (int t = 0; t < CT_THREADS; t++)
		pthread_join(th[t], NULL);
	b = get_stats(Ct_pool);
	CU_ASSERT_EQUAL(Ct_fail, 0);
	CU_ASSERT_EQUAL(b.objects, 0);
	if (pmemstore_is_pmem(Ct_pool)) {
		CU_ASSERT_EQUAL(b.fences - a.fences,
				(uint64_t)2 * CT_THREADS * CT_OPS);
		/* header, descriptor and index entry; each of the three
		 * for the free */
		CU_ASSERT_EQUAL(b.flushed_lines - a.flushed_lines,
				(uint64_t)6 * CT_THREADS * CT_OPS);
	} else {
		CU_ASSERT_EQUAL(b.msyncs - a.msyncs,
				(uint64_t)6 * CT_THREADS * CT_OPS);
	}
	EXPECT_OK(pmemstore_close(Ct_pool));
out:
	test_pool_remove(path);
}

static CU_TestInfo stats_tests[] = {
	{"counts_across_threads", test_counts_across_threads},
	{"space_counters", test_space_counters},
	{"cost", test_cost},
	{"helpers", test_helpers},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"stats", suite_init, NULL, NULL, NULL, stats_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
