/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_heaps.c -- per-thread heaps (lib/heap.c): cross-thread frees, the
 * heaps of threads that exited, a pool filled by many threads at once, the
 * lock-free lookups under churn, and thread exit after the pool's close.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

#define PAIRS 2
#define PC_OBJS 20000 /* objects per producer */
#define PC_QUEUE 256

/* 64 B objects two index segments and a page of slack hold (42 a page) */
#define INDEX_SLACK ((2 * 4 + 1) * 42)
/* one producer-consumer pair: a ring of UUIDs */
struct pair {
	struct pmemstore *ps;
	pthread_t prod, cons;
	uuid_t ring[PC_QUEUE];
	size_t sizes[PC_QUEUE];
	unsigned head, tail; /* atomics */
	unsigned bad, fences_bad;
	uint64_t seed;
};

/* producer -- allocate objects holding their UUID's pattern, hand them on */
static void *
producer(void *arg)
{
	struct pair *p = arg;
	uint64_t rng = p->seed;

	for (unsigned i = 0; i < PC_OBJS; i++) {
		unsigned h = __atomic_load_n(&p->head, __ATOMIC_RELAXED);
		size_t size = i % 7 == 6 ? rnd_range(&rng, 2017, 20000)
					 : rnd_range(&rng, 1, 400);
		uuid_t id;
		void *o;

		while (h - __atomic_load_n(&p->tail, __ATOMIC_ACQUIRE) ==
		       PC_QUEUE)
			sched_yield();
		rnd_uuid(&rng, id);
		o = persist_alloc(p->ps, id, size, 0);
		if (o == NULL) {
			p->bad++;
			continue;
		}
		pattern_fill(o, size, id);
		persist(p->ps, o, size);
		memcpy(p->ring[h % PC_QUEUE], id, 16);
		p->sizes[h % PC_QUEUE] = size;
		__atomic_store_n(&p->head, h + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* consumer -- check each object's content, then free it (a remote free) */
static void *
consumer(void *arg)
{
	struct pair *p = arg;
	unsigned done = 0;

	while (done < PC_OBJS) {
		unsigned t = __atomic_load_n(&p->tail, __ATOMIC_RELAXED);
		size_t size;
		void *o;

		if (t == __atomic_load_n(&p->head, __ATOMIC_ACQUIRE)) {
			if (done + p->bad >= PC_OBJS)
				break;
			sched_yield();
			continue;
		}
		o = persist_get(p->ps, p->ring[t % PC_QUEUE], &size);
		if (o == NULL || size != p->sizes[t % PC_QUEUE] ||
		    pattern_check(o, size, p->ring[t % PC_QUEUE]) != -1 ||
		    persist_free(p->ps, p->ring[t % PC_QUEUE]) != 0)
			p->bad++;
		__atomic_store_n(&p->tail, t + 1, __ATOMIC_RELEASE);
		done++;
	}
	return NULL;
}

/* fill -- allocate objects of size until the pool is full; the count */
static unsigned
fill(struct pmemstore *ps, size_t size, uint64_t seed, uuid_t **ids)
{
	unsigned n = 0, cap = 1024;
	uuid_t *v = malloc(cap * sizeof(*v));

	for (;;) {
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
		}
		rnd_uuid(&seed, v[n]);
		if (persist_alloc(ps, v[n], size, 0) == NULL) {
			CU_ASSERT_EQUAL(errno, ENOMEM);
			break;
		}
		n++;
	}
	*ids = v;
	return n;
}

/* free_all -- free the objects fill made */
static void
free_all(struct pmemstore *ps, uuid_t *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(persist_free(ps, ids[i]), 0);
	free(ids);
}

/*
 * test_prodcon -- objects allocated by one thread and freed by another:
 * content intact, counts exact, every page back afterwards
 */
static void
test_prodcon(void)
{
	char *path = test_pool_path("heaps_pc");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 64 * MIB, 0600));
	struct pair *pairs = calloc(PAIRS, sizeof(*pairs));

	if (ps == NULL)
		goto out;
	for (unsigned i = 0; i < PAIRS; i++) {
		pairs[i].ps = ps;
		pairs[i].seed = test_seed() + i * 7919;
		pthread_create(&pairs[i].prod, NULL, producer, &pairs[i]);
		pthread_create(&pairs[i].cons, NULL, consumer, &pairs[i]);
	}
	for (unsigned i = 0; i < PAIRS; i++) {
		pthread_join(pairs[i].prod, NULL);
		pthread_join(pairs[i].cons, NULL);
		CU_ASSERT_EQUAL(pairs[i].bad, 0);
	}
	struct pmemstore_stats st = get_stats(ps);

	CU_ASSERT_EQUAL(st.objects, 0);
	CU_ASSERT_EQUAL(st.bytes, 0);
	CU_ASSERT_EQUAL(st.pages_used, st.index_pages);
	EXPECT_OK(pmemstore_close(ps));
	EXPECT_OK(pmemstore_check(path, 0));
out:
	free(pairs);
	test_pool_remove(path);
}

/* the objects of threads that exit */
struct maker {
	struct pmemstore *ps;
	pthread_t th;
	uint64_t seed;
	unsigned n;
	uuid_t *ids;
};

/* maker_main -- allocate n mixed objects, then exit */
static void *
maker_main(void *arg)
{
	struct maker *m = arg;
	uint64_t rng = m->seed;

	for (unsigned i = 0; i < m->n; i++) {
		size_t size = i % 5 == 4 ? rnd_range(&rng, 2017, 300000)
					 : rnd_range(&rng, 1, 2016);

		rnd_uuid(&rng, m->ids[i]);
		if (persist_alloc(m->ps, m->ids[i], size, 0) == NULL)
			memset(m->ids[i], 0, 16);
	}
	return NULL;
}

/*
 * test_exited -- threads allocate and exit; the main thread frees their
 * objects: every page comes back, and the pool then holds what a fresh
 * pool holds
 */
static void
test_exited(void)
{
	char *path = test_pool_path("heaps_exit");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 64 * MIB, 0600));
	struct maker ms[4];
	uuid_t *ids;
	unsigned fresh, again;

	if (ps == NULL)
		goto out;
	fresh = fill(ps, 4096, test_seed(), &ids);
	free_all(ps, ids, fresh);
	for (int round = 0; round < 3; round++) {
		for (unsigned t = 0; t < 4; t++) {
			ms[t].ps = ps;
			ms[t].seed = test_seed() + round * 100 + t;
			ms[t].n = 800;
			ms[t].ids = calloc(ms[t].n, sizeof(uuid_t));
			pthread_create(&ms[t].th, NULL, maker_main, &ms[t]);
		}
		for (unsigned t = 0; t < 4; t++)
			pthread_join(ms[t].th, NULL);
		for (unsigned t = 0; t < 4; t++) {
			for (unsigned i = 0; i < ms[t].n; i++)
				if (!uuid_is_null(ms[t].ids[i]))
					CU_ASSERT_EQUAL(
						persist_free(ps, ms[t].ids[i]),
						0);
			free(ms[t].ids);
		}
		struct pmemstore_stats st = get_stats(ps);

		CU_ASSERT_EQUAL(st.objects, 0);
		CU_ASSERT_EQUAL(st.pages_used, st.index_pages);
		again = fill(ps, 4096, test_seed() + 1, &ids);
		/* page-sized objects: the pages another index split took */
		CU_ASSERT(again + 2 * 4 + 1 >= fresh && again <= fresh);
		if (again != fresh)
			fprintf(stderr, "round %d: %u objects, fresh %u\n",
				round, again, fresh);
		free_all(ps, ids, again);
	}
	EXPECT_OK(pmemstore_close(ps));
	EXPECT_OK(pmemstore_check(path, 0));
out:
	test_pool_remove(path);
}

/* a thread filling a shared pool */
struct filler {
	struct pmemstore *ps;
	pthread_t th;
	uint64_t seed;
	size_t size;
	unsigned n, cap, bad;
	uuid_t *ids;
};

/* filler_main -- allocate until the pool is full */
static void *
filler_main(void *arg)
{
	struct filler *f = arg;

	for (;;) {
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 1024;
			f->ids = realloc(f->ids, f->cap * sizeof(uuid_t));
		}
		rnd_uuid(&f->seed, f->ids[f->n]);
		if (persist_alloc(f->ps, f->ids[f->n], f->size, 0) == NULL) {
			if (errno != ENOMEM)
				f->bad++;
			break;
		}
		f->n++;
	}
	return NULL;
}

/*
 * test_full_threads -- four threads fill one pool together: every one of
 * them stops at ENOMEM only when the pool is really full (slots left in
 * another thread's slabs are found), and after all is freed the pool holds
 * what it held fresh
 */
static void
test_full_threads(void)
{
	char *path = test_pool_path("heaps_full");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 16 * MIB, 0600));
	struct filler fs[4];
	uuid_t *ids;
	unsigned fresh, total = 0, again;

	if (ps == NULL)
		goto out;
	fresh = fill(ps, 64, test_seed(), &ids);
	free_all(ps, ids, fresh);
	memset(fs, 0, sizeof(fs));
	for (unsigned t = 0; t < 4; t++) {
		fs[t].ps = ps;
		fs[t].seed = test_seed() * 31 + t;
		fs[t].size = 64;
		pthread_create(&fs[t].th, NULL, filler_main, &fs[t]);
	}
	for (unsigned t = 0; t < 4; t++) {
		pthread_join(fs[t].th, NULL);
		CU_ASSERT_EQUAL(fs[t].bad, 0);
		total += fs[t].n;
	}
	/*
	 * all slots of all slab pages: what one thread got, but for the
	 * pages another split of the index took (two segments at most) or
	 * could not take when the pool was nearly full
	 */
	CU_ASSERT(total + INDEX_SLACK >= fresh && total <= fresh + INDEX_SLACK);
	if (total != fresh)
		fprintf(stderr, "4 threads: %u objects, one thread %u\n", total,
			fresh);
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < fs[t].n; i++)
			CU_ASSERT_EQUAL(persist_free(ps, fs[t].ids[i]), 0);
		free(fs[t].ids);
	}
	CU_ASSERT_EQUAL(get_stats(ps).pages_used, get_stats(ps).index_pages);
	again = fill(ps, 64, test_seed() + 5, &ids);
	CU_ASSERT(again + INDEX_SLACK >= fresh && again <= fresh + INDEX_SLACK);
	free_all(ps, ids, again);
	EXPECT_OK(pmemstore_close(ps));
	EXPECT_OK(pmemstore_check(path, 0));
out:
	test_pool_remove(path);
}

static pthread_barrier_t Idle_bar;

/* idle_main -- allocate one object, then stay alive without allocating */
static void *
idle_main(void *arg)
{
	struct maker *m = arg;

	rnd_uuid(&m->seed, m->ids[0]);
	m->n = persist_alloc(m->ps, m->ids[0], 64, 0) != NULL;
	pthread_barrier_wait(&Idle_bar); /* allocated */
	pthread_barrier_wait(&Idle_bar); /* the main thread is done */
	return NULL;
}

/*
 * same_room -- a fill of the pool got exactly as many objects as the
 * reference fill, in an index of the same shape
 */
static void
same_room(struct pmemstore *ps, unsigned n, unsigned fresh, uint64_t grown)
{
	uint64_t now = get_stats(ps).index_pages;

	CU_ASSERT_EQUAL(now, grown);
	CU_ASSERT_EQUAL(n, fresh);
	if (n != fresh || now != grown)
		fprintf(stderr,
			"borrow: %u objects, fresh %u, index %llu -> "
			"%llu pages\n",
			n, fresh, (unsigned long long)grown,
			(unsigned long long)now);
}

/*
 * test_borrow -- a thread allocates one object and idles, its slab page
 * holding free slots and its group free pages: a fill by another thread
 * still gets everything else (the pages given back, the slots borrowed).
 *
 * The counts compare exactly against a reference fill of the same UUIDs
 * in the same order into the same empty index: an insert picks the
 * emptier of its two windows, so where entries land depends only on that
 * order and the index's shape, and the fills need the same splits.  The
 * first fill is no reference: it grew the index on the way, and its
 * entries sit where the splits left them, so a refill places them
 * differently and may need a split -- one that fails in a nearly full pool
 * (no aligned free segment) and ends the fill early.  So the reference is
 * the first refill that does not grow the index.
 */
static void
test_borrow(void)
{
	char *path = test_pool_path("heaps_borrow");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 16 * MIB, 0600));
	struct maker m = {0};
	uuid_t *ids, first;
	uint64_t rest = test_seed(), grown;
	unsigned fresh, n;

	if (ps == NULL)
		goto out;
	fresh = fill(ps, 64, test_seed(), &ids);
	free_all(ps, ids, fresh);
	for (unsigned tries = 0; tries < 4; tries++) {
		grown = get_stats(ps).index_pages;
		fresh = fill(ps, 64, test_seed(), &ids);
		free_all(ps, ids, fresh);
		if (get_stats(ps).index_pages == grown)
			break;
	}
	CU_ASSERT_EQUAL(get_stats(ps).index_pages, grown);
	rnd_uuid(&rest, first); /* the idle thread's; the fill goes on */
	m.ps = ps;
	m.seed = test_seed();
	m.ids = calloc(1, sizeof(uuid_t));
	pthread_barrier_init(&Idle_bar, NULL, 2);
	pthread_create(&m.th, NULL, idle_main, &m);
	pthread_barrier_wait(&Idle_bar);
	CU_ASSERT_EQUAL(m.n, 1);
	n = fill(ps, 64, rest, &ids);
	same_room(ps, n + 1, fresh, grown);
	free_all(ps, ids, n);
	CU_ASSERT_EQUAL(persist_free(ps, m.ids[0]), 0); /* a remote free */
	pthread_barrier_wait(&Idle_bar);
	pthread_join(m.th, NULL);
	pthread_barrier_destroy(&Idle_bar);
	free(m.ids);
	CU_ASSERT_EQUAL(get_stats(ps).pages_used, get_stats(ps).index_pages);
	n = fill(ps, 64, test_seed(), &ids);
	same_room(ps, n, fresh, grown);
	free_all(ps, ids, n);
	EXPECT_OK(pmemstore_close(ps));
	EXPECT_OK(pmemstore_check(path, 0));
out:
	test_pool_remove(path);
}

#define KEEP 2000

static uuid_t Keep[KEEP];
static int Stop;

/* reader -- the kept objects are always found, with their content */
static void *
reader(void *arg)
{
	struct pmemstore *ps = arg;
	unsigned long bad = 0;
	uint64_t rng = 99;

	while (!__atomic_load_n(&Stop, __ATOMIC_RELAXED)) {
		unsigned i = (unsigned)rnd_range(&rng, 0, KEEP - 1);
		size_t size = 0;
		void *o = persist_get(ps, Keep[i], &size);
		uuid_t id, none;

		if (o == NULL || size != 64 ||
		    pattern_check(o, 64, Keep[i]) != -1)
			bad++;
		else if (persist_id_of(ps, (char *)o + 10, id) != 0 ||
			 uuid_compare(id, Keep[i]) != 0)
			bad++;
		rnd_uuid(&rng, none);
		if (persist_get(ps, none, NULL) != NULL)
			bad++;
	}
	return (void *)bad;
}

/* churner -- allocations and frees that change the index under readers */
static void *
churner(void *arg)
{
	struct pmemstore *ps = arg;
	uint64_t rng = (uint64_t)pthread_self();
	uuid_t ids[512];
	unsigned long bad = 0;

	while (!__atomic_load_n(&Stop, __ATOMIC_RELAXED)) {
		for (unsigned i = 0; i < 512; i++) {
			rnd_uuid(&rng, ids[i]);
			if (persist_alloc(ps, ids[i], 1 + i % 300, 0) == NULL)
				bad++;
		}
		for (unsigned i = 0; i < 512; i++)
			if (persist_free(ps, ids[i]))
				bad++;
	}
	return (void *)bad;
}

/* count_kept -- pmemstore_foreach callback: count the objects seen */
static int
count_kept(const uuid_t id, void *ptr, size_t size, void *arg)
{
	(void)id;
	(void)ptr;
	(void)size;
	++*(unsigned *)arg;
	return 0;
}

/*
 * test_lookup_churn -- lock-free lookups, id_of and foreach while other
 * threads grow and shrink the index
 */
static void
test_lookup_churn(void)
{
	char *path = test_pool_path("heaps_churn");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 64 * MIB, 0600));
	pthread_t r[2], w[2];
	uint64_t rng = test_seed();
	unsigned long bad = 0;

	if (ps == NULL)
		goto out;
	for (unsigned i = 0; i < KEEP; i++) {
		rnd_uuid(&rng, Keep[i]);
		void *o = persist_alloc(ps, Keep[i], 64, 0);

		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		pattern_fill(o, 64, Keep[i]);
	}
	__atomic_store_n(&Stop, 0, __ATOMIC_RELAXED);
	for (unsigned t = 0; t < 2; t++) {
		pthread_create(&r[t], NULL, reader, ps);
		pthread_create(&w[t], NULL, churner, ps);
	}
	for (int k = 0; k < 20; k++) {
		unsigned n = 0;

		CU_ASSERT_EQUAL(pmemstore_foreach(ps, count_kept, &n), 0);
		/* the kept ones, plus some of the churn in flight */
		CU_ASSERT(n >= KEEP && n <= KEEP + 2 * 512);
		usleep(20000);
	}
	__atomic_store_n(&Stop, 1, __ATOMIC_RELAXED);
	for (unsigned t = 0; t < 2; t++) {
		void *x;

		pthread_join(r[t], &x);
		bad += (unsigned long)x;
		pthread_join(w[t], &x);
		bad += (unsigned long)x;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(get_stats(ps).objects, KEEP);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

static struct pmemstore *Late_ps;
static pthread_barrier_t Late_bar;

/* late_main -- allocate in a pool, wait for its close, then exit */
static void *
late_main(void *arg)
{
	uuid_t id;
	void *ok;

	(void)arg;
	test_uuid(id);
	ok = persist_alloc(Late_ps, id, 100, 0);
	pthread_barrier_wait(&Late_bar); /* allocated */
	pthread_barrier_wait(&Late_bar); /* the pool is closed */
	return ok;
}

/*
 * test_exit_after_close -- a thread's heap outlives nothing: the pool is
 * closed while the thread that allocated in it still runs, then the
 * thread exits (its exit must not touch the closed pool; ASan checks), and
 * a pool opened at the same address works
 */
static void
test_exit_after_close(void)
{
	char *path = test_pool_path("heaps_late");
	pthread_t th;
	void *ok = NULL;

	Late_ps = EXPECT_PTR(pmemstore_create(path, 16 * MIB, 0600));
	if (Late_ps == NULL)
		goto out;
	pthread_barrier_init(&Late_bar, NULL, 2);
	pthread_create(&th, NULL, late_main, NULL);
	pthread_barrier_wait(&Late_bar);
	EXPECT_OK(pmemstore_close(Late_ps));
	Late_ps = EXPECT_PTR(pmemstore_open(path, 0));
	pthread_barrier_wait(&Late_bar);
	pthread_join(th, &ok);
	CU_ASSERT_PTR_NOT_NULL(ok);
	CU_ASSERT_EQUAL(get_stats(Late_ps).objects, 1);
	pthread_barrier_destroy(&Late_bar);
	if (Late_ps)
		EXPECT_OK(pmemstore_close(Late_ps));
out:
	test_pool_remove(path);
}

/*
 * test_remote_fences -- a cross-thread free costs what a free costs: one
 * fence (pmem path), and the slot is reused by its owner afterwards
 */
static void
test_remote_fences(void)
{
	char *path = test_pool_path("heaps_fence");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 16 * MIB, 0600));
	struct maker m = {0};

	if (ps == NULL)
		goto out;
	m.ps = ps;
	m.n = 100;
	m.seed = test_seed();
	m.ids = calloc(m.n, sizeof(uuid_t));
	pthread_create(&m.th, NULL, maker_main, &m);
	pthread_join(m.th, NULL);
	struct pmemstore_stats s0 = get_stats(ps), s1;
	unsigned n = 0;

	for (unsigned i = 0; i < m.n; i++) {
		if (uuid_is_null(m.ids[i]))
			continue;
		CU_ASSERT_EQUAL(persist_free(ps, m.ids[i]), 0);
		n++;
	}
	s1 = get_stats(ps);
	if (pmemstore_is_pmem(ps))
		CU_ASSERT_EQUAL(s1.fences - s0.fences, n);
	CU_ASSERT_EQUAL(s1.objects, 0);
	CU_ASSERT_EQUAL(s1.pages_used, s1.index_pages);
	free(m.ids);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

static CU_TestInfo heaps_tests[] = {
	{"prodcon", test_prodcon},
	{"exited", test_exited},
	{"full_threads", test_full_threads},
	{"borrow", test_borrow},
	{"lookup_churn", test_lookup_churn},
	{"exit_after_close", test_exit_after_close},
	{"remote_fences", test_remote_fences},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"heaps", NULL, NULL, NULL, NULL, heaps_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
