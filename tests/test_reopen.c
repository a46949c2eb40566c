/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_reopen.c -- tests that objects survive close and reopen
 *
 * Owns: persistence of many named objects of mixed sizes (1 B .. 1 MiB)
 * across close/open: every object found again by UUID with its exact
 * size and content, statistics equal before and after, and the same after
 * freeing half of them (freed ones stay gone, space is reusable).
 */
#include <stdlib.h>

#include "common.h"

enum { NOBJ = 2000 };

struct obj {
	uuid_t id;
	size_t size;
	int live;
};

/* pick_size -- mostly small, some medium, a few up to 1 MiB */
static size_t
pick_size(uint64_t *rng, unsigned i)
{
	if (i == 0)
		return 1;
	if (i == 1)
		return 1 * MIB;
	uint64_t r = rnd_range(rng, 0, 99);
	if (r < 70)
		return rnd_range(rng, 1, 2016);
	if (r < 95)
		return rnd_range(rng, 2017, 64 * KIB);
	return rnd_range(rng, 64 * KIB + 1, 1 * MIB);
}

struct verify_ctx {
	struct obj *objs;
	size_t n;
	unsigned *seen;
	unsigned unknown;
	unsigned bad;
};

/* find_obj -- index of id in objs, or -1 (linear; used on small sets) */
static long
find_obj(const struct obj *objs, size_t n, const uuid_t id)
{
	for (size_t i = 0; i < n; i++)
		if (uuid_compare(objs[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* verify_cb -- foreach: each visited object is known, live and intact */
static int
verify_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	struct verify_ctx *c = arg;
	long i = find_obj(c->objs, c->n, id);
	if (i < 0 || !c->objs[i].live) {
		c->unknown++;
		return 0;
	}
	c->seen[i]++;
	if (size != c->objs[i].size || pattern_check(ptr, size, id) != -1)
		c->bad++;
	return 0;
}

/* verify_all -- persist_get and foreach agree with the expected set */
static void
verify_all(struct pmemstore *ps, struct obj *objs, size_t n)
{
	unsigned missing = 0, wrong_size = 0, wrong_data = 0, ghosts = 0;
	uint64_t live = 0, bytes = 0;
	for (size_t i = 0; i < n; i++) {
		size_t sz = 0;
		errno = 0;
		void *p = persist_get(ps, objs[i].id, &sz);
		if (!objs[i].live) {
			if (p != NULL || errno != ENOENT)
				ghosts++;
			continue;
		}
		live++;
		bytes += objs[i].size;
		if (p == NULL) {
			missing++;
			continue;
		}
		if (sz != objs[i].size) {
			wrong_size++;
			continue;
		}
		ptrdiff_t bad = pattern_check(p, sz, objs[i].id);
		if (bad != -1) {
			if (wrong_data++ < 5)
				fprintf(stderr,
					"object %zu (%s, %zu B) bad at %td\n",
					i, uuid_str(objs[i].id), sz, bad);
		}
	}
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(wrong_size, 0);
	CU_ASSERT_EQUAL(wrong_data, 0);
	CU_ASSERT_EQUAL(ghosts, 0);
	if (missing || wrong_size || ghosts)
		fprintf(stderr, "missing %u wrong size %u ghosts %u\n", missing,
			wrong_size, ghosts);

	struct pmemstore_stats st = get_stats(ps);
	CU_ASSERT_EQUAL(st.objects, live);
	CU_ASSERT_EQUAL(st.bytes, bytes);
	CU_ASSERT_EQUAL(st.pages_used, st.pages_total - st.pages_free);

	/* foreach sees exactly the live set, each once */
	struct verify_ctx c = {objs, n, calloc(n, sizeof(unsigned)), 0, 0};
	CU_ASSERT_EQUAL(pmemstore_foreach(ps, verify_cb, &c), 0);
	unsigned twice = 0, unseen = 0;
	for (size_t i = 0; i < n; i++) {
		if (objs[i].live && c.seen[i] == 0)
			unseen++;
		if (c.seen[i] > 1)
			twice++;
	}
	CU_ASSERT_EQUAL(c.unknown, 0);
	CU_ASSERT_EQUAL(c.bad, 0);
	CU_ASSERT_EQUAL(unseen, 0);
	CU_ASSERT_EQUAL(twice, 0);
	free(c.seen);
}

/* test_reopen_many -- 2000 objects, reopen, free half, reopen */
static void
test_reopen_many(void)
{
	uint64_t rng = test_seed() ^ 0x7265;
	struct obj *objs = calloc(NOBJ, sizeof(*objs));
	char *path = test_pool_path("reopen");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 512 * MIB, 0600));
	if (ps == NULL)
		goto out;

	uint64_t total = 0;
	unsigned fails = 0;
	for (unsigned i = 0; i < NOBJ; i++) {
		/* half the names are derived from strings */
		if (i % 2) {
			char name[64];
			snprintf(name, sizeof(name), "reopen-%lu-%u",
				 (unsigned long)rng, i);
			pmemstore_uuid_from_name(name, objs[i].id);
		} else {
			test_uuid(objs[i].id);
		}
		objs[i].size = pick_size(&rng, i);
		void *p = persist_alloc(ps, objs[i].id, objs[i].size, 0);
		if (p == NULL) {
			if (fails++ < 5)
				fprintf(stderr, "alloc %zu: %s\n", objs[i].size,
					pmemstore_errormsg());
			continue;
		}
		pattern_fill(p, objs[i].size, objs[i].id);
		persist(ps, p, objs[i].size);
		objs[i].live = 1;
		total += objs[i].size;
	}
	CU_ASSERT_EQUAL(fails, 0);
	printf("\n    %u objects, %lu KiB\n", NOBJ,
	       (unsigned long)(total >> 10));
	verify_all(ps, objs, NOBJ);
	struct pmemstore_stats s0 = get_stats(ps);
	EXPECT_OK(pmemstore_close(ps));

	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	verify_all(ps, objs, NOBJ);
	struct pmemstore_stats s1 = get_stats(ps);
	CU_ASSERT_EQUAL(s1.pages_total, s0.pages_total);
	/* directories a doubling superseded are freed at close */
	CU_ASSERT_EQUAL(s1.pages_free + s1.index_pages,
			s0.pages_free + s0.index_pages);
	CU_ASSERT_EQUAL(s1.objects, s0.objects);
	CU_ASSERT_EQUAL(s1.bytes, s0.bytes);

	/* free half (every other one, and all of a few size ranges) */
	for (unsigned i = 0; i < NOBJ; i += 2) {
		if (!objs[i].live)
			continue;
		EXPECT_OK(persist_free(ps, objs[i].id));
		objs[i].live = 0;
	}
	/* freed names are free again, and can be re-created */
	unsigned again = 0;
	for (unsigned i = 0; i < NOBJ; i += 2) {
		EXPECT_FAIL_INT(persist_free(ps, objs[i].id), ENOENT);
		if (i % 50 == 0) {
			void *p =
				persist_alloc(ps, objs[i].id, objs[i].size, 0);
			CU_ASSERT_PTR_NOT_NULL(p);
			if (p != NULL) {
				pattern_fill(p, objs[i].size, objs[i].id);
				persist(ps, p, objs[i].size);
				objs[i].live = 1;
				again++;
			}
		}
	}
	CU_ASSERT(again > 0);
	verify_all(ps, objs, NOBJ);
	struct pmemstore_stats s2 = get_stats(ps);
	CU_ASSERT(s2.pages_free > s1.pages_free);
	EXPECT_OK(pmemstore_close(ps));

	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	verify_all(ps, objs, NOBJ);
	struct pmemstore_stats s3 = get_stats(ps);
	/* an open may reclaim empty slab pages kept at run time */
	CU_ASSERT(s3.pages_free >= s2.pages_free);
	CU_ASSERT_EQUAL(s3.objects, s2.objects);
	CU_ASSERT_EQUAL(s3.bytes, s2.bytes);
	EXPECT_OK(pmemstore_close(ps));

	/* read-only sees the same */
	ps = EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	if (ps != NULL) {
		verify_all(ps, objs, NOBJ);
		pmemstore_close(ps);
	}

	/* free everything, reopen: empty pool with all pages free */
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	for (unsigned i = 0; i < NOBJ; i++) {
		if (!objs[i].live)
			continue;
		EXPECT_OK(persist_free(ps, objs[i].id));
		objs[i].live = 0;
	}
	EXPECT_OK(pmemstore_close(ps));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		verify_all(ps, objs, NOBJ);
		struct pmemstore_stats s4 = get_stats(ps);
		CU_ASSERT_EQUAL(s4.objects, 0);
		CU_ASSERT_EQUAL(s4.bytes, 0);
		CU_ASSERT_EQUAL(s4.pages_free + s4.index_pages, s4.pages_total);
		EXPECT_OK(pmemstore_close(ps));
	}
out:
	free(objs);
	test_pool_remove(path);
}

/* test_reopen_cycles -- many short sessions, each adding and removing */
static void
test_reopen_cycles(void)
{
	enum { CYCLES = 30, PER = 40 };
	uint64_t rng = test_seed() ^ 0x6379;
	struct obj *objs = calloc(CYCLES * PER, sizeof(*objs));
	size_t n = 0;
	char *path = test_pool_path("reopen_cyc");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 64 * MIB, 0600));
	if (ps == NULL)
		goto out;
	pmemstore_close(ps);
	for (int c = 0; c < CYCLES; c++) {
		ps = pmemstore_open(path, 0);
		CU_ASSERT_PTR_NOT_NULL(ps);
		if (ps == NULL)
			break;
		verify_all(ps, objs, n);
		for (int k = 0; k < PER; k++) {
			struct obj *o = &objs[n++];
			test_uuid(o->id);
			o->size = pick_size(&rng, 2) % (128 * KIB) + 1;
			void *p = persist_alloc(ps, o->id, o->size, 0);
			CU_ASSERT_PTR_NOT_NULL(p);
			if (p == NULL)
				continue;
			pattern_fill(p, o->size, o->id);
			persist(ps, p, o->size);
			o->live = 1;
		}
		/* free a random third of the live ones */
		for (size_t i = 0; i < n; i++) {
			if (objs[i].live && rnd_range(&rng, 0, 2) == 0) {
				EXPECT_OK(persist_free(ps, objs[i].id));
				objs[i].live = 0;
			}
		}
		EXPECT_OK(pmemstore_close(ps));
	}
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		verify_all(ps, objs, n);
		pmemstore_close(ps);
	}
out:
	free(objs);
	test_pool_remove(path);
}

static CU_TestInfo reopen_tests[] = {
	{"reopen_many", test_reopen_many},
	{"reopen_cycles", test_reopen_cycles},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"reopen", NULL, NULL, NULL, NULL, reopen_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
