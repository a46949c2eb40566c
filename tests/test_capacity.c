/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_capacity.c -- tests of space accounting and reuse
 *
 * Owns: filling a pool to ENOMEM with objects of one size (64 B, 5000 B,
 * 300 KiB) and of mixed sizes, freeing everything and filling again with
 * the same result; pages_free returning to its initial value; the number
 * of objects that fit matching the documented capacity; no leak after
 * mixed use (a later uniform fill matches a fresh pool's), round after
 * round, with objects of 64 B to 2 MiB, also when other threads, since
 * exited, allocated and freed them (issue 7: capacity that does not come
 * back).
 */
#include <pthread.h>
#include <stdlib.h>

#include "common.h"
#include "layout.h"

#define POOL_SIZE (16 * MIB)

struct fill {
	uuid_t *ids;
	size_t *sizes;
	void **ptrs;
	size_t n;
	size_t cap;
};

/* fill_init -- room for cap objects */
static void
fill_init(struct fill *f, size_t cap)
{
	f->ids = malloc(cap * sizeof(uuid_t));
	f->sizes = malloc(cap * sizeof(size_t));
	f->ptrs = malloc(cap * sizeof(void *));
	f->n = 0;
	f->cap = cap;
}

/* fill_fini -- release */
static void
fill_fini(struct fill *f)
{
	free(f->ids);
	free(f->sizes);
	free(f->ptrs);
}

/* tag -- write a short tag at both ends of an object (all if small) */
static void
tag(void *p, size_t size, const uuid_t id)
{
	if (size <= 32) {
		pattern_fill(p, size, id);
		return;
	}
	pattern_fill(p, 16, id);
	pattern_fill_salt((char *)p + size - 16, 16, id, 1);
}

/* tag_ok -- the tags are intact */
static int
tag_ok(const void *p, size_t size, const uuid_t id)
{
	if (size <= 32)
		return pattern_check(p, size, id) == -1;
	return pattern_check(p, 16, id) == -1 &&
	       pattern_check_salt((const char *)p + size - 16, 16, id, 1) == -1;
}

/*
 * fill_uniform -- allocate objects of one size until ENOMEM; returns the
 * number allocated (also f->n)
 */
static size_t
fill_uniform(struct pmemstore *ps, struct fill *f, size_t size, uint64_t *rng)
{
	f->n = 0;
	for (;;) {
		if (f->n == f->cap) {
			CU_FAIL("more objects than the pool can hold");
			break;
		}
		rnd_uuid(rng, f->ids[f->n]);
		errno = 0;
		void *p = persist_alloc(ps, f->ids[f->n], size, 0);
		if (p == NULL) {
			int e = errno;
			CU_ASSERT_EQUAL(e, ENOMEM);
			if (e != ENOMEM)
				fprintf(stderr, "alloc %zu: %s (%s)\n", size,
					strerror(e), pmemstore_errormsg());
			break;
		}
		tag(p, size, f->ids[f->n]);
		f->sizes[f->n] = size;
		f->ptrs[f->n] = p;
		f->n++;
	}
	return f->n;
}

/* fill_verify -- every object is found with its tags intact */
static void
fill_verify(struct pmemstore *ps, const struct fill *f)
{
	unsigned bad = 0;
	for (size_t i = 0; i < f->n; i++) {
		size_t sz = 0;
		void *p = persist_get(ps, f->ids[i], &sz);
		if (p != f->ptrs[i] || sz != f->sizes[i] ||
		    !tag_ok(p, sz, f->ids[i])) {
			if (bad++ < 5)
				fprintf(stderr, "object %zu: %p/%p %zu/%zu\n",
					i, p, f->ptrs[i], sz, f->sizes[i]);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* fill_free -- free every object, in a shuffled order */
static void
fill_free(struct pmemstore *ps, struct fill *f, uint64_t *rng)
{
	for (size_t i = f->n; i > 1; i--) {
		size_t j = rnd_range(rng, 0, i - 1);
		uuid_t t;
		uuid_copy(t, f->ids[i - 1]);
		uuid_copy(f->ids[i - 1], f->ids[j]);
		uuid_copy(f->ids[j], t);
	}
	unsigned fails = 0;
	for (size_t i = 0; i < f->n; i++)
		if (persist_free(ps, f->ids[i]) != 0)
			fails++;
	CU_ASSERT_EQUAL(fails, 0);
	f->n = 0;
}

/* check_empty -- stats of a pool with nothing in it */
static void
check_empty(struct pmemstore *ps, const struct pmemstore_stats *initial)
{
	struct pmemstore_stats st = get_stats(ps);
	CU_ASSERT_EQUAL(st.objects, 0);
	CU_ASSERT_EQUAL(st.bytes, 0);
	/* the index keeps the pages it grew into */
	CU_ASSERT_EQUAL(st.pages_free + st.index_pages,
			initial->pages_free + initial->index_pages);
	CU_ASSERT_EQUAL(st.pages_used, st.index_pages);
	CU_ASSERT_EQUAL(st.pages_total, initial->pages_total);
	if (st.pages_free + st.index_pages !=
	    initial->pages_free + initial->index_pages)
		fprintf(stderr, "pages_free %lu, initially %lu\n",
			(unsigned long)st.pages_free,
			(unsigned long)initial->pages_free);
}

/*
 * model_ok -- a full pool holds what the capacity model says: every page
 * the index does not take is a full slab of the class (small), or a run
 * and its share of a record page (large), less what one more would need
 */
static int
model_ok(struct pmemstore *ps, size_t n, size_t size)
{
	static const struct pms_class cls[] = PMS_CLASS_TABLE;
	struct pmemstore_stats st = get_stats(ps);
	uint64_t total = st.pages_total - st.index_pages;

	if (size <= PMS_SMALL_MAX) {
		unsigned c = 1;

		while (cls[c].size < size)
			c++;
		/* the last allocations may fail because the index could
		 * not split: it takes PMS_SEG_PAGES aligned pages */
		return n <= total * cls[c].nslots &&
		       n + (2 * PMS_SEG_PAGES + 1) * cls[c].nslots >=
			       total * cls[c].nslots;
	}
	uint64_t run = (size + PMS_PAGE_SIZE - 1) / PMS_PAGE_SIZE;
	uint64_t used = n * run + (n + 63) / 64;

	/* ENOMEM when no room is left for one more run and a record page,
	 * or when the index could not split (PMS_SEG_PAGES aligned pages,
	 * which the UUIDs' hashes decide): as for small objects */
	return used <= total && total - used < run + 2 + 2 * PMS_SEG_PAGES;
}

/*
 * uniform_case -- fill with size, check the count against the capacity
 * model, free all, fill again, reopen and fill a third time
 */
static void
uniform_case(size_t size, const char *name)
{
	uint64_t rng = test_seed() ^ size;
	/* small objects mean hundreds of thousands of operations */
	char *path = size <= PMS_SMALL_MAX ? test_bulk_pool_path(name)
					   : test_pool_path(name);
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps == NULL)
		goto out;
	struct pmemstore_stats initial = get_stats(ps);
	CU_ASSERT_EQUAL(initial.pages_free + initial.index_pages,
			initial.pages_total);
	uint64_t total = initial.pages_total;

	struct fill f;
	fill_init(&f, total * 64 + 64);
	double t0 = now_ms();
	size_t n1 = fill_uniform(ps, &f, size, &rng);
	double t1 = now_ms();
	struct pmemstore_stats full = get_stats(ps);
	printf("\n    %zu B: %zu objects in %lu pages (%.0f ms), %lu free "
	       "at ENOMEM",
	       size, n1, (unsigned long)total, t1 - t0,
	       (unsigned long)full.pages_free);
	CU_ASSERT_EQUAL(full.objects, n1);
	CU_ASSERT_EQUAL(full.bytes, (uint64_t)n1 * size);

	/* the count matches the documented capacity model: the pages the
	 * index does not take */
	static const struct pms_class cls[] = PMS_CLASS_TABLE;
	total -= full.index_pages;
	if (size <= PMS_SMALL_MAX) {
		unsigned c = 1;
		while (cls[c].size < size)
			c++;
		uint64_t max = total * cls[c].nslots;
		CU_ASSERT(n1 <= max);
		CU_ASSERT(n1 + (2 * PMS_SEG_PAGES + 1) * cls[c].nslots >= max);
		CU_ASSERT(full.pages_free < 2 * PMS_SEG_PAGES);
	} else {
		uint64_t run = (size + PMS_PAGE_SIZE - 1) / PMS_PAGE_SIZE;
		uint64_t used = n1 * run + (n1 + 63) / 64;
		CU_ASSERT(used <= total);
		/* ENOMEM only when no room for one more run + a record, or
		 * for the index's split (see model_ok) */
		CU_ASSERT(total - used < run + 2 + 2 * PMS_SEG_PAGES);
		CU_ASSERT(full.pages_free < run + 2 + 2 * PMS_SEG_PAGES);
	}
	fill_verify(ps, &f);

	fill_free(ps, &f, &rng);
	check_empty(ps, &initial);
	size_t n2 = fill_uniform(ps, &f, size, &rng);
	/* as many, but for the pages another split of the index took */
	CU_ASSERT(model_ok(ps, n2, size));
	fill_verify(ps, &f);
	fill_free(ps, &f, &rng);
	check_empty(ps, &initial);

	/* after a reopen too */
	EXPECT_OK(pmemstore_close(ps));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		check_empty(ps, &initial);
		size_t n3 = fill_uniform(ps, &f, size, &rng);
		CU_ASSERT(model_ok(ps, n3, size));
		printf(", refills %zu %zu\n", n2, n3);
		EXPECT_OK(pmemstore_close(ps));
	}
	fill_fini(&f);
out:
	test_pool_remove(path);
}

/* test_fill_64 -- 64 B objects */
static void
test_fill_64(void)
{
	uniform_case(64, "cap64");
}

/* test_fill_5000 -- 5000 B objects (2 pages + a record) */
static void
test_fill_5000(void)
{
	uniform_case(5000, "cap5000");
}

/* test_fill_300k -- 300 KiB objects */
static void
test_fill_300k(void)
{
	uniform_case(300 * KIB, "cap300k");
}

/* test_fill_2016 -- the largest small class */
static void
test_fill_2016(void)
{
	uniform_case(2016, "cap2016");
}

/* mixed_size -- sizes for the mixed fill */
static size_t
mixed_size(uint64_t *rng)
{
	uint64_t r = rnd_range(rng, 0, 99);
	if (r < 60)
		return rnd_range(rng, 1, 2016);
	if (r < 90)
		return rnd_range(rng, 2017, 32 * KIB);
	return rnd_range(rng, 32 * KIB, 1 * MIB);
}

/* fill_mixed -- mixed sizes until 64 allocations in a row fail */
static size_t
fill_mixed(struct pmemstore *ps, struct fill *f, uint64_t seed)
{
	uint64_t rng = seed;
	unsigned fails = 0;
	while (fails < 64 && f->n < f->cap) {
		size_t size = mixed_size(&rng);
		rnd_uuid(&rng, f->ids[f->n]);
		errno = 0;
		void *p = persist_alloc(ps, f->ids[f->n], size, 0);
		if (p == NULL) {
			CU_ASSERT_EQUAL(errno, ENOMEM);
			fails++;
			continue;
		}
		fails = 0;
		tag(p, size, f->ids[f->n]);
		f->sizes[f->n] = size;
		f->ptrs[f->n] = p;
		f->n++;
	}
	return f->n;
}

/* test_fill_mixed -- mixed sizes: fill, free, refill; no leak after */
static void
test_fill_mixed(void)
{
	uint64_t rng = test_seed() ^ 0x6d6978;
	char *path = test_bulk_pool_path("capmix");
	char *ref = test_bulk_pool_path("capmix_ref");
	struct fill f;
	fill_init(&f, POOL_SIZE / 4096 * 64);

	/* baseline: 64 B objects in a fresh pool */
	size_t base = 0;
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(ref, POOL_SIZE, 0600));
	if (ps != NULL) {
		base = fill_uniform(ps, &f, 64, &rng);
		pmemstore_close(ps);
		f.n = 0;
	}
	test_pool_remove(ref);

	ps = EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps == NULL)
		goto out;
	struct pmemstore_stats initial = get_stats(ps);

	uint64_t seed = rnd_next(&rng);
	size_t n1 = fill_mixed(ps, &f, seed);
	struct pmemstore_stats full = get_stats(ps);
	CU_ASSERT_EQUAL(full.objects, n1);
	fill_verify(ps, &f);
	printf("\n    mixed: %zu objects, %lu pages free at the end", n1,
	       (unsigned long)full.pages_free);
	/* the pool is really full: less than 1 MiB + a bit left */
	CU_ASSERT(full.pages_free <= 256 + 2);

	/* free a random half, fill up again with other mixed sizes */
	for (size_t i = 0; i < f.n;) {
		if (rnd_range(&rng, 0, 1)) {
			EXPECT_OK(persist_free(ps, f.ids[i]));
			f.n--;
			uuid_copy(f.ids[i], f.ids[f.n]);
			f.sizes[i] = f.sizes[f.n];
			f.ptrs[i] = f.ptrs[f.n];
		} else {
			i++;
		}
	}
	fill_mixed(ps, &f, rnd_next(&rng));
	fill_verify(ps, &f);
	fill_free(ps, &f, &rng);
	check_empty(ps, &initial);

	/* the same mixed sequence again on the emptied pool */
	size_t n2 = fill_mixed(ps, &f, seed);
	printf(", refill %zu", n2);
	/*
	 * where the fill stops depends on fragmentation, so the count may
	 * differ somewhat; but the pool must be full again
	 */
	CU_ASSERT(n2 * 2 >= n1);
	CU_ASSERT(n1 * 2 >= n2);
	CU_ASSERT(get_stats(ps).pages_free <= 256 + 2);
	fill_verify(ps, &f);
	fill_free(ps, &f, &rng);
	check_empty(ps, &initial);

	/* no page was lost: 64 B objects fill as in a fresh pool */
	size_t n64 = fill_uniform(ps, &f, 64, &rng);
	printf(", then %zu x 64 B (fresh pool %zu)\n", n64, base);
	/* as in a fresh pool but for the pages of its own index */
	CU_ASSERT(model_ok(ps, n64, 64));
	fill_free(ps, &f, &rng);
	check_empty(ps, &initial);
	EXPECT_OK(pmemstore_close(ps));

	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		check_empty(ps, &initial);
		pmemstore_close(ps);
	}
out:
	fill_fini(&f);
	test_pool_remove(path);
}

/* test_fill_classes -- every small class: fill, free, refill equal */
static void
test_fill_classes(void)
{
	static const struct pms_class cls[] = PMS_CLASS_TABLE;
	uint64_t rng = test_seed() ^ 0x636c;
	char *path = test_bulk_pool_path("capcls");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, PMEMSTORE_MIN_POOL, 0600));
	if (ps == NULL)
		goto out;
	struct pmemstore_stats initial = get_stats(ps);
	struct fill f;
	fill_init(&f, initial.pages_total * 64 + 64);
	/* one class after another in the same pool: slabs must be reused */
	for (unsigned c = 1; c < PMS_NCLASSES; c++) {
		size_t size = cls[c].size - (c % 3);
		size_t n1 = fill_uniform(ps, &f, size, &rng);
		/* every page the index does not take holds a full slab */
		uint64_t avail =
			initial.pages_total - get_stats(ps).index_pages;

		CU_ASSERT(n1 <= avail * cls[c].nslots);
		/* less what an index split that found no room kept free */
		CU_ASSERT(n1 + (2 * PMS_SEG_PAGES + 1) * cls[c].nslots >=
			  avail * cls[c].nslots);
		fill_free(ps, &f, &rng);
		check_empty(ps, &initial);
	}
	fill_fini(&f);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* wide_size -- 64 B to 2 MiB, log-uniform: small and large alike */
static size_t
wide_size(uint64_t *rng)
{
	size_t lo = (size_t)1 << rnd_range(rng, 6, 20);

	return rnd_range(rng, lo, 2 * lo);
}

/*
 * fill_wide -- objects of wide_size until 64 allocations in a row fail (the
 * pool is full) or f is; returns the number of allocations that failed
 * with an errno other than ENOMEM (no CUnit: threads call this)
 */
static unsigned
fill_wide(struct pmemstore *ps, struct fill *f, uint64_t *rng)
{
	unsigned fails = 0, bad = 0;

	while (fails < 64 && f->n < f->cap) {
		size_t size = wide_size(rng);

		rnd_uuid(rng, f->ids[f->n]);
		errno = 0;
		void *p = persist_alloc(ps, f->ids[f->n], size, 0);
		if (p == NULL) {
			if (errno != ENOMEM && bad++ < 3)
				fprintf(stderr, "alloc %zu: %s\n", size,
					pmemstore_errormsg());
			fails++;
			continue;
		}
		fails = 0;
		tag(p, size, f->ids[f->n]);
		f->sizes[f->n] = size;
		f->ptrs[f->n] = p;
		f->n++;
	}
	return bad;
}

/* free_all -- free every object of f (in its order); returns failures */
static unsigned
free_all(struct pmemstore *ps, struct fill *f)
{
	unsigned bad = 0;

	for (size_t i = 0; i < f->n; i++)
		if (persist_free(ps, f->ids[i]) != 0 && bad++ < 3)
			fprintf(stderr, "free: %s\n", pmemstore_errormsg());
	f->n = 0;
	return bad;
}

/* shuffle -- put the objects of f in a random order */
static void
shuffle(struct fill *f, uint64_t *rng)
{
	for (size_t i = f->n; i > 1; i--) {
		size_t j = rnd_range(rng, 0, i - 1);
		uuid_t t;
		size_t sz = f->sizes[i - 1];
		void *p = f->ptrs[i - 1];

		uuid_copy(t, f->ids[i - 1]);
		uuid_copy(f->ids[i - 1], f->ids[j]);
		uuid_copy(f->ids[j], t);
		f->sizes[i - 1] = f->sizes[j];
		f->sizes[j] = sz;
		f->ptrs[i - 1] = f->ptrs[j];
		f->ptrs[j] = p;
	}
}

#define WIDE_ROUNDS 3
#define WIDE_THREADS 4
#define WIDE_CAP 20000 /* objects per mixed fill (per thread) */

/* one thread of the threaded mixed use */
struct wide_thread {
	pthread_t th;
	struct pmemstore *ps;
	struct fill f;	     /* what this thread allocated */
	struct fill *victim; /* what it frees: another thread's objects */
	uint64_t rng;
	unsigned bad;
};

/* wide_alloc_main -- allocate mixed sizes until the pool is full */
static void *
wide_alloc_main(void *arg)
{
	struct wide_thread *t = arg;

	t->bad += fill_wide(t->ps, &t->f, &t->rng);
	return NULL;
}

/* wide_free_main -- free another (exited) thread's objects */
static void *
wide_free_main(void *arg)
{
	struct wide_thread *t = arg;

	shuffle(t->victim, &t->rng);
	t->bad += free_all(t->ps, t->victim);
	return NULL;
}

/* run_threads -- start fn on each of the threads, wait for all to exit */
static void
run_threads(struct wide_thread *t, void *(*fn)(void *))
{
	for (int i = 0; i < WIDE_THREADS; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i].th, NULL, fn, &t[i]) == 0);
	for (int i = 0; i < WIDE_THREADS; i++)
		pthread_join(t[i].th, NULL);
}

/*
 * mixed_round -- objects of 64 B to 2 MiB until the pool is full, then
 * all of them freed: by this thread, or allocated by WIDE_THREADS threads
 * and freed by as many others, all exited before this returns
 */
static void
mixed_round(struct pmemstore *ps, uint64_t seed, int threaded, size_t *made)
{
	if (!threaded) {
		struct fill f;
		uint64_t rng = seed;

		fill_init(&f, WIDE_CAP);
		CU_ASSERT_EQUAL(fill_wide(ps, &f, &rng), 0);
		CU_ASSERT_EQUAL(get_stats(ps).objects, f.n);
		fill_verify(ps, &f);
		*made = f.n;
		shuffle(&f, &rng);
		CU_ASSERT_EQUAL(free_all(ps, &f), 0);
		fill_fini(&f);
		return;
	}
	struct wide_thread a[WIDE_THREADS], b[WIDE_THREADS];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	for (int i = 0; i < WIDE_THREADS; i++) {
		a[i].ps = b[i].ps = ps;
		a[i].rng = seed + (uint64_t)i * 0x1000193;
		b[i].rng = seed ^ ((uint64_t)i << 32);
		fill_init(&a[i].f, WIDE_CAP);
		/* freer i frees what allocator i + 1 made */
		b[i].victim = &a[(i + 1) % WIDE_THREADS].f;
	}
	run_threads(a, wide_alloc_main);
	*made = 0;
	for (int i = 0; i < WIDE_THREADS; i++) {
		CU_ASSERT_EQUAL(a[i].bad, 0);
		fill_verify(ps, &a[i].f);
		*made += a[i].f.n;
	}
	CU_ASSERT_EQUAL(get_stats(ps).objects, *made);
	run_threads(b, wide_free_main);
	for (int i = 0; i < WIDE_THREADS; i++) {
		CU_ASSERT_EQUAL(b[i].bad, 0);
		fill_fini(&a[i].f);
	}
}

/*
 * refill_case -- a fresh pool of pool_size bytes holds F objects of
 * fill_size; after each of WIDE_ROUNDS rounds of mixed objects (64 B to
 * 2 MiB, created until the pool is full, then all freed), it must hold
 * exactly F again: once every object is freed, a pool holds what a fresh
 * pool holds, whatever came before and whichever threads did it
 */
static void
refill_case(size_t pool_size, size_t fill_size, int threaded, const char *name)
{
	uint64_t rng = test_seed() ^ fill_size ^ (uint64_t)threaded << 40;
	char *path = test_bulk_pool_path(name);
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, pool_size, 0600));
	if (ps == NULL)
		goto out;
	struct pmemstore_stats initial = get_stats(ps);
	struct fill f;

	fill_init(&f, initial.pages_total * 64 + 64);
	double t0 = now_ms();
	size_t fresh = fill_uniform(ps, &f, fill_size, &rng);
	fill_free(ps, &f, &rng);
	check_empty(ps, &initial);
	printf("\n    %zu MiB pool, %zu B objects: fresh %zu", pool_size / MIB,
	       fill_size, fresh);
	for (int round = 0; round < WIDE_ROUNDS; round++) {
		size_t made = 0;

		mixed_round(ps, rnd_next(&rng), threaded, &made);
		check_empty(ps, &initial);
		size_t n = fill_uniform(ps, &f, fill_size, &rng);
		printf("; after %zu mixed%s: %zu", made,
		       threaded ? " (threads)" : "", n);
		/* as many as fresh, but for the pages the index grew into */
		CU_ASSERT(model_ok(ps, n, fill_size));
		fill_verify(ps, &f);
		fill_free(ps, &f, &rng);
		check_empty(ps, &initial);
	}
	printf(" (%.0f ms)\n", now_ms() - t0);
	fill_fini(&f);
	EXPECT_OK(pmemstore_close(ps));
	EXPECT_OK(pmemstore_check(path, 0));
out:
	test_pool_remove(path);
}

/* test_refill_64k -- 64 KiB objects after mixed use, 256 MiB pool */
static void
test_refill_64k(void)
{
	refill_case(256 * MIB, 64 * KIB, 0, "caprefill64k");
}

/* test_refill_4k -- 4 KiB objects after mixed use */
static void
test_refill_4k(void)
{
	refill_case(256 * MIB, 4 * KIB, 0, "caprefill4k");
}

/* test_refill_64 -- 64 B objects after mixed use (32 MiB: 340,000) */
static void
test_refill_64(void)
{
	refill_case(32 * MIB, 64, 0, "caprefill64");
}

/* test_refill_threads_64k -- 64 KiB, the mixed use by exited threads */
static void
test_refill_threads_64k(void)
{
	refill_case(256 * MIB, 64 * KIB, 1, "caprefillt64k");
}

/* test_refill_threads_64 -- 64 B, the mixed use by exited threads */
static void
test_refill_threads_64(void)
{
	refill_case(32 * MIB, 64, 1, "caprefillt64");
}

/* test_where -- say where the pools are */
static void
test_where(void)
{
	printf("\n    pools in %s%s\n", test_bulk_dir(),
	       strcmp(test_bulk_dir(), test_dir()) != 0
		       ? " (msync mode: the test directory is not tmpfs, so "
			 "bulk fills use /dev/shm)"
		       : "");
	CU_PASS("informational");
}

static CU_TestInfo capacity_tests[] = {
	{"where", test_where},
	{"fill_64", test_fill_64},
	{"fill_2016", test_fill_2016},
	{"fill_5000", test_fill_5000},
	{"fill_300k", test_fill_300k},
	{"fill_mixed", test_fill_mixed},
	{"fill_classes", test_fill_classes},
	{"refill_64k", test_refill_64k},
	{"refill_4k", test_refill_4k},
	{"refill_64", test_refill_64},
	{"refill_threads_64k", test_refill_threads_64k},
	{"refill_threads_64", test_refill_threads_64},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"capacity", NULL, NULL, NULL, NULL, capacity_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
