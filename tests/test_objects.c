/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_objects.c -- tests of the object API
 *
 * Owns: persist_alloc / persist_get / persist_free (EEXIST, ENOENT, flags),
 * persist_alloc_init (content published, init failure -> ECANCELED with
 * no space used), PERSIST_ZERO over fresh and dirty reused space,
 * persist_id_of (first, middle, last byte; padding, freed space, foreign
 * addresses), pmemstore_foreach (each object once, early stop, callbacks
 * that free, allocate and look up) and pmemstore_uuid_from_name.
 */
#include <stdlib.h>

#include "common.h"
#include "layout.h"

static char *Path;
static struct pmemstore *Ps;

/* suite_init -- one 128 MiB pool shared by the tests of the suite */
static int
suite_init(void)
{
	Path = test_pool_path("objects");
	Ps = pmemstore_create(Path, 128 * MIB, 0600);
	if (Ps == NULL)
		fprintf(stderr, "create %s: %s\n", Path, pmemstore_errormsg());
	return Ps == NULL;
}

/* suite_fini -- close and remove the pool */
static int
suite_fini(void)
{
	int ret = 0;
	if (Ps != NULL)
		ret = pmemstore_close(Ps);
	Ps = NULL;
	test_pool_remove(Path);
	return ret;
}

/* same_space -- the space part of two snapshots is equal */
static int
same_space(const struct pmemstore_stats *a, const struct pmemstore_stats *b)
{
	return a->pages_free == b->pages_free &&
	       a->pages_used == b->pages_used && a->objects == b->objects &&
	       a->bytes == b->bytes;
}

/* test_get_free -- the basic life of one object */
static void
test_get_free(void)
{
	static const size_t sizes[] = {1, 64, 1000, 2016, 2017, 5000, 3 * MIB};
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		size_t size = sizes[k];
		uuid_t id;
		test_uuid(id);
		struct pmemstore_stats s0 = get_stats(Ps);
		EXPECT_FAIL_PTR(persist_get(Ps, id, NULL), ENOENT);
		char *p = EXPECT_PTR(persist_alloc(Ps, id, size, 0));
		if (p == NULL)
			continue;
		pattern_fill(p, size, id);
		persist(Ps, p, size);

		size_t sz = 12345;
		CU_ASSERT_PTR_EQUAL(persist_get(Ps, id, &sz), p);
		CU_ASSERT_EQUAL(sz, size);
		CU_ASSERT_PTR_EQUAL(persist_get(Ps, id, NULL), p);
		struct pmemstore_stats s1 = get_stats(Ps);
		CU_ASSERT_EQUAL(s1.objects, s0.objects + 1);
		CU_ASSERT_EQUAL(s1.bytes, s0.bytes + size);

		/* EEXIST for any size or flag; the object is untouched */
		EXPECT_FAIL_PTR(persist_alloc(Ps, id, size, 0), EEXIST);
		EXPECT_FAIL_PTR(persist_alloc(Ps, id, 64, 0), EEXIST);
		EXPECT_FAIL_PTR(persist_alloc(Ps, id, 1 * MIB, 0), EEXIST);
		EXPECT_FAIL_PTR(persist_alloc(Ps, id, size, PERSIST_ZERO),
				EEXIST);
		struct pmemstore_stats s2 = get_stats(Ps);
		CU_ASSERT(same_space(&s1, &s2));
		sz = 0;
		CU_ASSERT_PTR_EQUAL(persist_get(Ps, id, &sz), p);
		CU_ASSERT_EQUAL(sz, size);
		CU_ASSERT_EQUAL(pattern_check(p, size, id), -1);

		EXPECT_OK(persist_free(Ps, id));
		EXPECT_FAIL_PTR(persist_get(Ps, id, &sz), ENOENT);
		EXPECT_FAIL_INT(persist_free(Ps, id), ENOENT);
		struct pmemstore_stats s3 = get_stats(Ps);
		CU_ASSERT(same_space(&s0, &s3));

		/* the name can be used again, with another size */
		size_t size2 = size * 3 + 7;
		p = EXPECT_PTR(persist_alloc(Ps, id, size2, 0));
		sz = 0;
		CU_ASSERT_PTR_EQUAL(persist_get(Ps, id, &sz), p);
		CU_ASSERT_EQUAL(sz, size2);
		EXPECT_OK(persist_free(Ps, id));
	}
}

/* test_flags -- unknown flag bits are EINVAL */
static void
test_flags(void)
{
	static const unsigned bad[] = {1U << 1, 1U << 2, 1U << 31, ~0U,
				       PERSIST_ZERO | (1U << 5)};
	struct pmemstore_stats s0 = get_stats(Ps);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uuid_t id;
		test_uuid(id);
		EXPECT_FAIL_PTR(persist_alloc(Ps, id, 64, bad[i]), EINVAL);
		EXPECT_FAIL_PTR(persist_alloc(Ps, id, 8192, bad[i]), EINVAL);
		CU_ASSERT_PTR_NULL(persist_get(Ps, id, NULL));
	}
	struct pmemstore_stats s1 = get_stats(Ps);
	CU_ASSERT(same_space(&s0, &s1));
}

struct init_arg {
	const unsigned char *id;
	int calls;
	int fail;
	void *seen_ptr;
	size_t seen_size;
};

/* init_fill -- alloc_init callback writing the pattern (or failing) */
static int
init_fill(void *ptr, size_t size, void *arg)
{
	struct init_arg *a = arg;
	a->calls++;
	a->seen_ptr = ptr;
	a->seen_size = size;
	/* write even when failing: the space must still be given back */
	pattern_fill(ptr, size, a->id);
	return a->fail;
}

/* test_alloc_init -- content published; failure leaves no trace */
static void
test_alloc_init(void)
{
	static const size_t sizes[] = {1, 48, 640, 2016, 4097, 70000, 2 * MIB};
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		size_t size = sizes[k];
		uuid_t id;
		test_uuid(id);
		struct init_arg a = {id, 0, 0, NULL, 0};

		/* failing init: ECANCELED, nothing allocated */
		struct pmemstore_stats s0 = get_stats(Ps);
		for (int fail = 1; fail <= 3; fail++) {
			a.fail = fail == 3 ? -1 : fail;
			EXPECT_FAIL_PTR(
				persist_alloc_init(Ps, id, size, init_fill, &a),
				ECANCELED);
		}
		CU_ASSERT_EQUAL(a.calls, 3);
		CU_ASSERT_EQUAL(a.seen_size, size);
		EXPECT_FAIL_PTR(persist_get(Ps, id, NULL), ENOENT);
		struct pmemstore_stats s1 = get_stats(Ps);
		CU_ASSERT(same_space(&s0, &s1));
		if (!same_space(&s0, &s1))
			fprintf(stderr,
				"size %zu: failed init changed space: "
				"free %lu->%lu objects %lu->%lu\n",
				size, (unsigned long)s0.pages_free,
				(unsigned long)s1.pages_free,
				(unsigned long)s0.objects,
				(unsigned long)s1.objects);

		/* succeeding init */
		a.fail = 0;
		a.calls = 0;
		void *p = EXPECT_PTR(
			persist_alloc_init(Ps, id, size, init_fill, &a));
		CU_ASSERT_EQUAL(a.calls, 1);
		CU_ASSERT_PTR_EQUAL(a.seen_ptr, p);
		CU_ASSERT_EQUAL(a.seen_size, size);
		if (p != NULL) {
			CU_ASSERT_EQUAL(pattern_check(p, size, id), -1);
			size_t sz = 0;
			CU_ASSERT_PTR_EQUAL(persist_get(Ps, id, &sz), p);
			CU_ASSERT_EQUAL(sz, size);
		}
		/* a second alloc_init of a live name: EEXIST, content kept */
		struct init_arg b = {id, 0, 0, NULL, 0};
		uuid_t other;
		test_uuid(other);
		b.id = other;
		EXPECT_FAIL_PTR(persist_alloc_init(Ps, id, size, init_fill, &b),
				EEXIST);
		if (p != NULL)
			CU_ASSERT_EQUAL(pattern_check(p, size, id), -1);
		EXPECT_OK(persist_free(Ps, id));
		struct pmemstore_stats s2 = get_stats(Ps);
		CU_ASSERT(same_space(&s0, &s2));
	}
}

/* test_alloc_init_fail_many -- many failed inits leak nothing */
static void
test_alloc_init_fail_many(void)
{
	struct pmemstore_stats s0 = get_stats(Ps);
	uint64_t rng = test_seed() ^ 0x696e;
	unsigned wrong = 0;
	for (int i = 0; i < 3000; i++) {
		uuid_t id;
		rnd_uuid(&rng, id);
		size_t size = i % 10 == 0 ? rnd_range(&rng, 2017, 300000)
					  : rnd_range(&rng, 1, 2016);
		struct init_arg a = {id, 0, 1, NULL, 0};
		errno = 0;
		if (persist_alloc_init(Ps, id, size, init_fill, &a) != NULL ||
		    errno != ECANCELED)
			wrong++;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	struct pmemstore_stats s1 = get_stats(Ps);
	CU_ASSERT(same_space(&s0, &s1));
	CU_ASSERT_EQUAL(count_objects(Ps), s0.objects);
	EXPECT_FAIL_PTR(persist_alloc_init(
				Ps, (const unsigned char *)"0123456789abcdef",
				64, NULL, NULL),
			EINVAL);
}

/* zero_case -- PERSIST_ZERO over dirty space of a given size */
static void
zero_case(size_t size, unsigned count)
{
	uuid_t *ids = malloc(count * sizeof(uuid_t));
	unsigned fails = 0, dirty = 0;
	/* make the space dirty */
	for (unsigned i = 0; i < count; i++) {
		test_uuid(ids[i]);
		void *p = persist_alloc(Ps, ids[i], size, 0);
		if (p == NULL) {
			fails++;
			continue;
		}
		memset(p, 0xa5, size);
		persist(Ps, p, size);
	}
	for (unsigned i = 0; i < count; i++)
		persist_free(Ps, ids[i]);
	/* and allocate it again, zeroed */
	for (unsigned i = 0; i < count; i++) {
		test_uuid(ids[i]);
		void *p = persist_alloc(Ps, ids[i], size, PERSIST_ZERO);
		if (p == NULL) {
			fails++;
			continue;
		}
		if (!mem_is(p, 0, size))
			dirty++;
		memset(p, 0x5a, size);
	}
	/* and once more, mixed with non-zeroed neighbours */
	for (unsigned i = 0; i < count; i++)
		persist_free(Ps, ids[i]);
	for (unsigned i = 0; i < count; i++) {
		test_uuid(ids[i]);
		unsigned fl = (i % 2) ? PERSIST_ZERO : 0;
		void *p = persist_alloc(Ps, ids[i], size, fl);
		if (p == NULL) {
			fails++;
			continue;
		}
		if (fl && !mem_is(p, 0, size))
			dirty++;
		if (!fl)
			memset(p, 0xee, size);
	}
	for (unsigned i = 0; i < count; i++)
		persist_free(Ps, ids[i]);
	if (fails || dirty)
		fprintf(stderr, "zero %zu: %u allocs failed, %u dirty\n", size,
			fails, dirty);
	CU_ASSERT_EQUAL(fails, 0);
	CU_ASSERT_EQUAL(dirty, 0);
	free(ids);
}

/* test_zero -- PERSIST_ZERO always gives zeroed memory */
static void
test_zero(void)
{
	zero_case(1, 100);
	zero_case(64, 200);
	zero_case(100, 200);
	zero_case(1000, 50);
	zero_case(2016, 20);
	zero_case(2017, 20);
	zero_case(5000, 20);
	zero_case(100000, 10);
	zero_case(2 * MIB, 3);
	zero_case(3 * MIB + 5, 2);
}

/* check_id_of -- addr resolves to id */
static void
check_id_of(const void *addr, const uuid_t id)
{
	uuid_t back;
	memset(back, 0, sizeof(back));
	errno = 0;
	int r = persist_id_of(Ps, addr, back);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(uuid_compare(back, id), 0);
	if (r != 0 || uuid_compare(back, id) != 0)
		fprintf(stderr, "id_of(%p): %d %s, %s want %s\n", addr, r,
			strerror(errno), uuid_str(back), uuid_str(id));
}

/* test_id_of -- addresses map back to their object */
static void
test_id_of(void)
{
	static const size_t sizes[] = {1,    50,   64,	 100,	       2000,
				       2016, 5000, 8192, 3 * MIB + 100};
	uuid_t ids[ARRAY_SIZE(sizes)];
	char *ptrs[ARRAY_SIZE(sizes)];
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		size_t size = sizes[k];
		test_uuid(ids[k]);
		char *p = ptrs[k] =
			EXPECT_PTR(persist_alloc(Ps, ids[k], size, 0));
		if (p == NULL)
			continue;
		check_id_of(p, ids[k]);
		check_id_of(p + size / 2, ids[k]);
		check_id_of(p + size - 1, ids[k]);
		/* every page of a large object */
		for (size_t off = 4095; off < size; off += 4096) {
			check_id_of(p + off, ids[k]);
			if (off + 1 < size)
				check_id_of(p + off + 1, ids[k]);
		}
	}
	/* just past the end, inside the slot/page padding: no object */
	uuid_t back;
	EXPECT_FAIL_INT(persist_id_of(Ps, ptrs[1] + 50, back), ENOENT);
	EXPECT_FAIL_INT(persist_id_of(Ps, ptrs[3] + 100, back), ENOENT);
	EXPECT_FAIL_INT(persist_id_of(Ps, ptrs[4] + 2000, back), ENOENT);
	EXPECT_FAIL_INT(persist_id_of(Ps, ptrs[6] + 5000, back), ENOENT);
	EXPECT_FAIL_INT(persist_id_of(Ps, ptrs[6] + 8191, back), ENOENT);
	EXPECT_FAIL_INT(persist_id_of(Ps, ptrs[8] + 3 * MIB + 100, back),
			ENOENT);
	/* the header area at the start of a slab page */
	if (ptrs[1] != NULL) {
		const char *page = (const char *)((uintptr_t)ptrs[1] & ~4095UL);
		EXPECT_FAIL_INT(persist_id_of(Ps, page, back), ENOENT);
		EXPECT_FAIL_INT(persist_id_of(Ps, page + 31, back), ENOENT);
	}

	/* freed objects no longer resolve */
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		if (ptrs[k] == NULL)
			continue;
		EXPECT_OK(persist_free(Ps, ids[k]));
		EXPECT_FAIL_INT(persist_id_of(Ps, ptrs[k], back), ENOENT);
		EXPECT_FAIL_INT(persist_id_of(Ps, ptrs[k] + sizes[k] - 1, back),
				ENOENT);
	}

	/* outside the mapping */
	int on_stack = 0;
	char *on_heap = malloc(64);
	EXPECT_FAIL_INT(persist_id_of(Ps, NULL, back), EINVAL);
	EXPECT_FAIL_INT(persist_id_of(Ps, &on_stack, back), EINVAL);
	EXPECT_FAIL_INT(persist_id_of(Ps, on_heap, back), EINVAL);
	EXPECT_FAIL_INT(persist_id_of(Ps, (void *)test_id_of, back), EINVAL);
	EXPECT_FAIL_INT(persist_id_of(Ps, (void *)(uintptr_t)4096, back),
			EINVAL);
	EXPECT_FAIL_INT(persist_id_of(Ps, (void *)UINTPTR_MAX, back), EINVAL);
	free(on_heap);
}

struct walk {
	uuid_t *ids;
	void **ptrs;
	size_t *sizes;
	unsigned *seen;
	size_t n;
	unsigned unknown, bad, calls;
	int stop_after;
	int stop_value;
	int free_current;
	int free_next;
	int alloc_new;
	uint64_t rng;
};

/* walk_find -- index of id, or -1 */
static long
walk_find(const struct walk *w, const uuid_t id)
{
	for (size_t i = 0; i < w->n; i++)
		if (uuid_compare(w->ids[i], id) == 0)
			return (long)i;
	return -1;
}

/* walk_cb -- foreach callback with configurable side effects */
static int
walk_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	struct walk *w = arg;
	w->calls++;
	long i = walk_find(w, id);
	if (i < 0) {
		w->unknown++;
	} else {
		w->seen[i]++;
		if (ptr != w->ptrs[i] || size != w->sizes[i] ||
		    pattern_check(ptr, size, id) != -1)
			w->bad++;
		size_t sz = 0;
		if (persist_get(Ps, id, &sz) != ptr || sz != size)
			w->bad++;
	}
	if (w->free_current && persist_free(Ps, id) != 0)
		w->bad++;
	if (w->free_next && i >= 0) {
		/* free some other object; fine if already gone */
		size_t j = rnd_range(&w->rng, 0, w->n - 1);
		persist_free(Ps, w->ids[j]);
	}
	if (w->alloc_new && i >= 0) {
		uuid_t nid;
		rnd_uuid(&w->rng, nid);
		size_t sz = rnd_range(&w->rng, 1, 9000);
		void *p = persist_alloc(Ps, nid, sz, 0);
		if (p != NULL)
			pattern_fill(p, sz, nid);
	}
	if (w->stop_after && (int)w->calls == w->stop_after)
		return w->stop_value;
	return 0;
}

/* walk_setup -- a fresh set of n objects (the pool is emptied first) */
static void
walk_setup(struct walk *w, size_t n)
{
	memset(w, 0, sizeof(*w));
	w->rng = test_seed() ^ n;
	w->ids = malloc(n * sizeof(uuid_t));
	w->ptrs = malloc(n * sizeof(void *));
	w->sizes = malloc(n * sizeof(size_t));
	w->seen = calloc(n, sizeof(unsigned));
	w->n = n;
	for (size_t i = 0; i < n; i++) {
		rnd_uuid(&w->rng, w->ids[i]);
		w->sizes[i] = i % 7 == 0 ? rnd_range(&w->rng, 2017, 50000)
					 : rnd_range(&w->rng, 1, 2016);
		w->ptrs[i] = persist_alloc(Ps, w->ids[i], w->sizes[i], 0);
		CU_ASSERT_PTR_NOT_NULL(w->ptrs[i]);
		if (w->ptrs[i] != NULL)
			pattern_fill(w->ptrs[i], w->sizes[i], w->ids[i]);
	}
}

/* free_all_cb -- foreach: free every object */
static int
free_all_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	(void)ptr;
	(void)size;
	(void)arg;
	persist_free(Ps, id);
	return 0;
}

/* walk_done -- release and empty the pool */
static void
walk_done(struct walk *w)
{
	pmemstore_foreach(Ps, free_all_cb, NULL);
	CU_ASSERT_EQUAL(get_stats(Ps).objects, 0);
	free(w->ids);
	free(w->ptrs);
	free(w->sizes);
	free(w->seen);
}

/* test_foreach_once -- each object visited exactly once */
static void
test_foreach_once(void)
{
	pmemstore_foreach(Ps, free_all_cb, NULL);
	struct walk w;
	CU_ASSERT_EQUAL(count_objects(Ps), 0);
	walk_setup(&w, 700);
	CU_ASSERT_EQUAL(pmemstore_foreach(Ps, walk_cb, &w), 0);
	CU_ASSERT_EQUAL(w.calls, 700);
	CU_ASSERT_EQUAL(w.unknown, 0);
	CU_ASSERT_EQUAL(w.bad, 0);
	unsigned wrong = 0;
	for (size_t i = 0; i < w.n; i++)
		if (w.seen[i] != 1)
			wrong++;
	CU_ASSERT_EQUAL(wrong, 0);
	walk_done(&w);
	/* an empty pool: no calls */
	w.calls = 0;
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(pmemstore_foreach(Ps, walk_cb, &w), 0);
	CU_ASSERT_EQUAL(w.calls, 0);
}

/* test_foreach_stop -- a nonzero callback value stops and is returned */
static void
test_foreach_stop(void)
{
	pmemstore_foreach(Ps, free_all_cb, NULL);
	static const int values[] = {7, -5, 1, 1000000};
	for (size_t k = 0; k < ARRAY_SIZE(values); k++) {
		struct walk w;
		walk_setup(&w, 50);
		w.stop_after = 3;
		w.stop_value = values[k];
		CU_ASSERT_EQUAL(pmemstore_foreach(Ps, walk_cb, &w), values[k]);
		CU_ASSERT_EQUAL(w.calls, 3);
		/* stop at the very first object */
		memset(w.seen, 0, w.n * sizeof(unsigned));
		w.calls = 0;
		w.stop_after = 1;
		CU_ASSERT_EQUAL(pmemstore_foreach(Ps, walk_cb, &w), values[k]);
		CU_ASSERT_EQUAL(w.calls, 1);
		walk_done(&w);
	}
}

/* test_foreach_free_current -- the callback frees what it is given */
static void
test_foreach_free_current(void)
{
	pmemstore_foreach(Ps, free_all_cb, NULL);
	struct pmemstore_stats s0 = get_stats(Ps);
	struct walk w;
	walk_setup(&w, 600);
	w.free_current = 1;
	CU_ASSERT_EQUAL(pmemstore_foreach(Ps, walk_cb, &w), 0);
	CU_ASSERT_EQUAL(w.unknown, 0);
	CU_ASSERT_EQUAL(w.bad, 0);
	unsigned wrong = 0;
	for (size_t i = 0; i < w.n; i++)
		if (w.seen[i] != 1)
			wrong++;
	CU_ASSERT_EQUAL(wrong, 0);
	struct pmemstore_stats s1 = get_stats(Ps);
	CU_ASSERT_EQUAL(s1.objects, 0);
	CU_ASSERT_EQUAL(s1.bytes, 0);
	CU_ASSERT_EQUAL(s1.pages_free, s0.pages_free);
	CU_ASSERT_EQUAL(count_objects(Ps), 0);
	walk_done(&w);
}

/* test_foreach_mutate -- the callback frees others and allocates */
static void
test_foreach_mutate(void)
{
	pmemstore_foreach(Ps, free_all_cb, NULL);
	struct walk w;
	walk_setup(&w, 400);
	w.free_next = 1;
	w.alloc_new = 1;
	int r = pmemstore_foreach(Ps, walk_cb, &w);
	CU_ASSERT_EQUAL(r, 0);
	/* the walk ends; each original object seen at most once */
	unsigned twice = 0;
	for (size_t i = 0; i < w.n; i++)
		if (w.seen[i] > 1)
			twice++;
	CU_ASSERT_EQUAL(twice, 0);
	printf("\n    %u calls for 400 objects (+ allocations)\n", w.calls);
	/* the pool is consistent afterwards */
	struct pmemstore_stats st = get_stats(Ps);
	CU_ASSERT_EQUAL(count_objects(Ps), st.objects);
	walk_done(&w);
}

/* test_foreach_einval -- NULL pool or callback */
static void
test_foreach_einval(void)
{
	int x = 0;
	EXPECT_FAIL_INT(pmemstore_foreach(NULL, walk_cb, &x), EINVAL);
	EXPECT_FAIL_INT(pmemstore_foreach(Ps, NULL, &x), EINVAL);
}

/* test_uuid_from_name -- deterministic v5 UUIDs */
static void
test_uuid_from_name(void)
{
	uuid_t a, b, c, nil;
	memset(a, 0x11, sizeof(a));
	pmemstore_uuid_from_name("hello", a);
	pmemstore_uuid_from_name("hello", b);
	CU_ASSERT_EQUAL(uuid_compare(a, b), 0);
	CU_ASSERT(!uuid_is_null(a));
	/* version 5, RFC 4122 variant */
	CU_ASSERT_EQUAL(a[6] >> 4, 5);
	CU_ASSERT_EQUAL(a[8] & 0xc0, 0x80);

	pmemstore_uuid_from_name("hellp", c);
	CU_ASSERT_NOT_EQUAL(uuid_compare(a, c), 0);
	pmemstore_uuid_from_name("Hello", c);
	CU_ASSERT_NOT_EQUAL(uuid_compare(a, c), 0);
	pmemstore_uuid_from_name("", c);
	CU_ASSERT(!uuid_is_null(c));
	CU_ASSERT_NOT_EQUAL(uuid_compare(a, c), 0);
	CU_ASSERT_EQUAL(c[6] >> 4, 5);

	/* NULL gives the nil UUID */
	memset(nil, 0x77, sizeof(nil));
	pmemstore_uuid_from_name(NULL, nil);
	CU_ASSERT(uuid_is_null(nil));

	/* no collisions among many names; stable across calls */
	enum { N = 2000 };
	uuid_t *ids = malloc(N * sizeof(uuid_t));
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "object-%d", i);
		pmemstore_uuid_from_name(name, ids[i]);
	}
	unsigned dup = 0;
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			if (uuid_compare(ids[i], ids[j]) == 0)
				dup++;
	CU_ASSERT_EQUAL(dup, 0);
	uuid_t again;
	pmemstore_uuid_from_name("object-1234", again);
	CU_ASSERT_EQUAL(uuid_compare(again, ids[1234]), 0);

	/* a long name */
	char *longname = malloc(100000);
	memset(longname, 'x', 99999);
	longname[99999] = '\0';
	pmemstore_uuid_from_name(longname, a);
	longname[50000] = 'y';
	pmemstore_uuid_from_name(longname, b);
	CU_ASSERT_NOT_EQUAL(uuid_compare(a, b), 0);
	free(longname);
	free(ids);

	/* usable as an object name */
	pmemstore_uuid_from_name("named object", a);
	void *p = EXPECT_PTR(persist_alloc(Ps, a, 77, 0));
	pmemstore_uuid_from_name("named object", b);
	CU_ASSERT_PTR_EQUAL(persist_get(Ps, b, NULL), p);
	EXPECT_OK(persist_free(Ps, b));
}

static CU_TestInfo objects_tests[] = {
	{"get_free", test_get_free},
	{"flags", test_flags},
	{"alloc_init", test_alloc_init},
	{"alloc_init_fail_many", test_alloc_init_fail_many},
	{"zero", test_zero},
	{"id_of", test_id_of},
	{"foreach_once", test_foreach_once},
	{"foreach_stop", test_foreach_stop},
	{"foreach_free_current", test_foreach_free_current},
	{"foreach_mutate", test_foreach_mutate},
	{"foreach_einval", test_foreach_einval},
	{"uuid_from_name", test_uuid_from_name},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"objects", suite_init, suite_fini, NULL, NULL, objects_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
