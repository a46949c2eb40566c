/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_threads.c -- tests of concurrent use of one pool handle
 *
 * Owns: 8 threads doing random alloc / alloc_init / get / id_of / free /
 * stats / foreach on their own and on shared UUIDs of one handle, followed
 * by a consistency check (foreach count == stats objects, every object
 * intact, same after a reopen); and races where 8 threads allocate (or
 * free) the same UUID at once and exactly one must win.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

enum {
	NTHREADS = 8,
	OWN = 96,    /* UUIDs owned by each thread */
	SHARED = 48, /* UUIDs every thread works on */
};

static struct pmemstore *Ps;
static uuid_t Shared[SHARED];
static double Deadline;

struct own {
	uuid_t id;
	size_t size;
	char *p;
	int live;
};

struct worker {
	pthread_t th;
	unsigned idx;
	uint64_t rng;
	unsigned long iters;
	struct own own[OWN];
	/* errors seen by this thread */
	unsigned alloc_fail, lost, wrong_size, corrupt, bad_errno, id_of_bad;
	unsigned walk_bad;
	unsigned shared_allocs, shared_frees;
};

/* pick_size -- mostly small, sometimes a few pages, rarely big */
static size_t
pick_size(uint64_t *rng)
{
	uint64_t r = rnd_range(rng, 0, 99);
	if (r < 75)
		return rnd_range(rng, 1, 2016);
	if (r < 97)
		return rnd_range(rng, 2017, 20000);
	return rnd_range(rng, 20001, 300000);
}

/* init_shared -- alloc_init callback: the pattern of the shared UUID */
static int
init_shared(void *ptr, size_t size, void *arg)
{
	pattern_fill(ptr, size, (const unsigned char *)arg);
	return 0;
}

/* own_step -- one random operation on one of the thread's own UUIDs */
static void
own_step(struct worker *w)
{
	struct own *o = &w->own[rnd_range(&w->rng, 0, OWN - 1)];
	if (!o->live) {
		o->size = pick_size(&w->rng);
		errno = 0;
		o->p = persist_alloc(
			Ps, o->id, o->size,
			rnd_range(&w->rng, 0, 3) == 0 ? PERSIST_ZERO : 0);
		if (o->p == NULL) {
			if (errno != ENOMEM)
				w->bad_errno++;
			w->alloc_fail++;
			return;
		}
		pattern_fill(o->p, o->size, o->id);
		persist(Ps, o->p, o->size);
		o->live = 1;
		return;
	}
	switch (rnd_range(&w->rng, 0, 3)) {
	case 0: /* free */
		if (persist_free(Ps, o->id) != 0)
			w->lost++;
		o->live = 0;
		break;
	case 1: { /* id_of somewhere inside */
		uuid_t back;
		size_t off = rnd_range(&w->rng, 0, o->size - 1);
		if (persist_id_of(Ps, o->p + off, back) != 0 ||
		    uuid_compare(back, o->id) != 0)
			w->id_of_bad++;
		break;
	}
	default: { /* get and verify */
		size_t sz = 0;
		char *p = persist_get(Ps, o->id, &sz);
		if (p == NULL) {
			w->lost++;
			o->live = 0;
		} else if (sz != o->size || p != o->p) {
			w->wrong_size++;
		} else if (pattern_check(p, sz, o->id) != -1) {
			w->corrupt++;
		}
		break;
	}
	}
}

/* shared_step -- one random operation on a shared UUID */
static void
shared_step(struct worker *w)
{
	const unsigned char *id = Shared[rnd_range(&w->rng, 0, SHARED - 1)];
	size_t sz;
	switch (rnd_range(&w->rng, 0, 2)) {
	case 0:
		errno = 0;
		if (persist_alloc_init(Ps, id, pick_size(&w->rng), init_shared,
				       (void *)id) != NULL)
			w->shared_allocs++;
		else if (errno != EEXIST && errno != ENOMEM)
			w->bad_errno++;
		break;
	case 1:
		errno = 0;
		if (persist_free(Ps, id) == 0)
			w->shared_frees++;
		else if (errno != ENOENT)
			w->bad_errno++;
		break;
	default:
		errno = 0;
		if (persist_get(Ps, id, &sz) == NULL && errno != ENOENT)
			w->bad_errno++;
		break;
	}
}

/* walk_cb -- foreach racing with updates: sizes must be sane */
static int
walk_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	(void)id;
	struct worker *w = arg;
	if (ptr == NULL || size == 0 || size > 300000)
		w->walk_bad++;
	return 0;
}

/* worker_main -- random operations until the deadline */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const unsigned long max_iters = 50000;
	while (w->iters < max_iters) {
		if ((w->iters & 31) == 0 && now_ms() > Deadline)
			break;
		w->iters++;
		uint64_t r = rnd_range(&w->rng, 0, 999);
		if (r < 700) {
			own_step(w);
		} else if (r < 995) {
			shared_step(w);
		} else if (r < 998) {
			struct pmemstore_stats st;
			if (pmemstore_stats(Ps, &st) != 0 ||
			    st.pages_used + st.pages_free != st.pages_total)
				w->bad_errno++;
		} else {
			if (pmemstore_foreach(Ps, walk_cb, w) != 0)
				w->walk_bad++;
		}
	}
	return NULL;
}

struct final {
	struct worker *ws;
	unsigned unknown, bad_own, bad_shared, own_seen;
	uint64_t count, bytes;
};

/* final_cb -- after the run: every object is known and intact */
static int
final_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	struct final *f = arg;
	f->count++;
	f->bytes += size;
	for (unsigned s = 0; s < SHARED; s++)
		if (uuid_compare(id, Shared[s]) == 0) {
			if (pattern_check(ptr, size, id) != -1)
				f->bad_shared++;
			return 0;
		}
	for (unsigned t = 0; t < NTHREADS; t++)
		for (unsigned i = 0; i < OWN; i++) {
			struct own *o = &f->ws[t].own[i];
			if (uuid_compare(id, o->id) != 0)
				continue;
			f->own_seen++;
			if (!o->live || size != o->size ||
			    pattern_check(ptr, size, id) != -1)
				f->bad_own++;
			return 0;
		}
	f->unknown++;
	return 0;
}

/* verify_final -- the pool matches what the threads left */
static void
verify_final(struct pmemstore *ps, struct worker *ws)
{
	struct final f;
	memset(&f, 0, sizeof(f));
	f.ws = ws;
	CU_ASSERT_EQUAL(pmemstore_foreach(ps, final_cb, &f), 0);
	unsigned own_live = 0, own_missing = 0;
	for (unsigned t = 0; t < NTHREADS; t++)
		for (unsigned i = 0; i < OWN; i++) {
			struct own *o = &ws[t].own[i];
			size_t sz = 0;
			char *p = persist_get(ps, o->id, &sz);
			if (o->live) {
				own_live++;
				if (p == NULL || sz != o->size ||
				    pattern_check(p, sz, o->id) != -1)
					own_missing++;
			} else if (p != NULL) {
				own_missing++;
			}
		}
	struct pmemstore_stats st = get_stats(ps);
	printf("    final: %lu objects (%u own), %lu bytes, %lu pages used\n",
	       (unsigned long)f.count, own_live, (unsigned long)f.bytes,
	       (unsigned long)st.pages_used);
	CU_ASSERT_EQUAL(f.count, st.objects);
	CU_ASSERT_EQUAL(f.bytes, st.bytes);
	CU_ASSERT_EQUAL(f.unknown, 0);
	CU_ASSERT_EQUAL(f.bad_own, 0);
	CU_ASSERT_EQUAL(f.bad_shared, 0);
	CU_ASSERT_EQUAL(f.own_seen, own_live);
	CU_ASSERT_EQUAL(own_missing, 0);
	CU_ASSERT_EQUAL(st.pages_used + st.pages_free, st.pages_total);
	if (f.unknown || f.bad_own || f.bad_shared || own_missing ||
	    f.count != st.objects)
		fprintf(stderr,
			"unknown %u bad own %u bad shared %u missing %u "
			"count %lu stats %lu\n",
			f.unknown, f.bad_own, f.bad_shared, own_missing,
			(unsigned long)f.count, (unsigned long)st.objects);
}

/* test_random_ops -- 8 threads of random operations on one handle */
static void
test_random_ops(void)
{
	char *path = test_pool_path("threads");
	Ps = EXPECT_PTR(pmemstore_create(path, 128 * MIB, 0600));
	if (Ps == NULL)
		goto out;
	for (unsigned s = 0; s < SHARED; s++) {
		char name[32];
		snprintf(name, sizeof(name), "shared-%u", s);
		pmemstore_uuid_from_name(name, Shared[s]);
	}
	struct worker *ws = calloc(NTHREADS, sizeof(*ws));
	uint64_t seed = test_seed();
	for (unsigned t = 0; t < NTHREADS; t++) {
		ws[t].idx = t;
		ws[t].rng = seed ^ (0x1000 + t);
		for (unsigned i = 0; i < OWN; i++)
			rnd_uuid(&ws[t].rng, ws[t].own[i].id);
	}
	double seconds = 3.0;
	Deadline = now_ms() + seconds * 1000;
	double t0 = now_ms();
	for (unsigned t = 0; t < NTHREADS; t++)
		CU_ASSERT_EQUAL(
			pthread_create(&ws[t].th, NULL, worker_main, &ws[t]),
			0);
	for (unsigned t = 0; t < NTHREADS; t++)
		pthread_join(ws[t].th, NULL);
	double t1 = now_ms();

	unsigned long iters = 0;
	unsigned sa = 0, sf = 0;
	for (unsigned t = 0; t < NTHREADS; t++) {
		struct worker *w = &ws[t];
		iters += w->iters;
		sa += w->shared_allocs;
		sf += w->shared_frees;
		CU_ASSERT_EQUAL(w->lost, 0);
		CU_ASSERT_EQUAL(w->wrong_size, 0);
		CU_ASSERT_EQUAL(w->corrupt, 0);
		CU_ASSERT_EQUAL(w->bad_errno, 0);
		CU_ASSERT_EQUAL(w->id_of_bad, 0);
		CU_ASSERT_EQUAL(w->walk_bad, 0);
		CU_ASSERT_EQUAL(w->alloc_fail, 0);
		if (w->lost || w->wrong_size || w->corrupt || w->bad_errno ||
		    w->id_of_bad || w->walk_bad || w->alloc_fail)
			fprintf(stderr,
				"thread %u: lost %u size %u corrupt %u "
				"errno %u id_of %u walk %u allocfail %u\n",
				t, w->lost, w->wrong_size, w->corrupt,
				w->bad_errno, w->id_of_bad, w->walk_bad,
				w->alloc_fail);
	}
	printf("\n    %lu operations in %.0f ms (%u shared allocs, %u shared "
	       "frees)\n",
	       iters, t1 - t0, sa, sf);
	CU_ASSERT(sa > 0 && sf > 0);

	verify_final(Ps, ws);
	EXPECT_OK(pmemstore_close(Ps));
	Ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (Ps != NULL) {
		verify_final(Ps, ws);
		/* free everything: all pages come back */
		for (unsigned t = 0; t < NTHREADS; t++)
			for (unsigned i = 0; i < OWN; i++)
				if (ws[t].own[i].live)
					EXPECT_OK(persist_free(
						Ps, ws[t].own[i].id));
		for (unsigned s = 0; s < SHARED; s++)
			persist_free(Ps, Shared[s]);
		struct pmemstore_stats st = get_stats(Ps);
		CU_ASSERT_EQUAL(st.objects, 0);
		CU_ASSERT_EQUAL(st.pages_free + st.index_pages, st.pages_total);
		EXPECT_OK(pmemstore_close(Ps));
	}
	Ps = NULL;
	free(ws);
out:
	test_pool_remove(path);
}

/* the same-UUID races */

enum { ROUNDS = 300 };

static pthread_barrier_t Barrier;
static uuid_t Race_id;
static size_t Race_size;
static int Race_kind; /* 0 alloc, 1 alloc ZERO, 2 alloc_init, 3 mixed */

struct racer {
	pthread_t th;
	unsigned idx;
	void *got[ROUNDS];
	int alloc_errno[ROUNDS];
	int free_ret[ROUNDS];
	int free_errno[ROUNDS];
};

/* racer_main -- every round: all allocate the same UUID, then all free */
static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	for (unsigned round = 0; round < ROUNDS; round++) {
		pthread_barrier_wait(&Barrier); /* main set the UUID */
		int kind = Race_kind == 3 ? (int)((round + r->idx) % 3)
					  : Race_kind;
		errno = 0;
		if (kind == 2)
			r->got[round] = persist_alloc_init(
				Ps, Race_id, Race_size, init_shared, Race_id);
		else
			r->got[round] =
				persist_alloc(Ps, Race_id, Race_size,
					      kind == 1 ? PERSIST_ZERO : 0);
		r->alloc_errno[round] = errno;
		pthread_barrier_wait(&Barrier); /* all allocations done */
		pthread_barrier_wait(&Barrier); /* main has looked */
		errno = 0;
		r->free_ret[round] = persist_free(Ps, Race_id);
		r->free_errno[round] = errno;
		pthread_barrier_wait(&Barrier); /* all frees done */
	}
	return NULL;
}

/* test_same_uuid_race -- exactly one allocation and one free win */
static void
test_same_uuid_race(void)
{
	char *path = test_pool_path("threads_race");
	Ps = EXPECT_PTR(pmemstore_create(path, 64 * MIB, 0600));
	if (Ps == NULL)
		goto out;
	struct pmemstore_stats s0 = get_stats(Ps);
	struct racer *rs = calloc(NTHREADS, sizeof(*rs));
	pthread_barrier_init(&Barrier, NULL, NTHREADS + 1);
	for (unsigned t = 0; t < NTHREADS; t++) {
		rs[t].idx = t;
		pthread_create(&rs[t].th, NULL, racer_main, &rs[t]);
	}
	unsigned bad_alloc = 0, bad_free = 0, bad_errno = 0, bad_get = 0;
	uint64_t rng = test_seed() ^ 0x72616365;
	for (unsigned round = 0; round < ROUNDS; round++) {
		rnd_uuid(&rng, Race_id);
		Race_size = round % 4 == 3 ? rnd_range(&rng, 2017, 100000)
					   : rnd_range(&rng, 1, 2016);
		Race_kind = (int)(round % 4);
		pthread_barrier_wait(&Barrier);
		pthread_barrier_wait(&Barrier);
		/* between the phases: exactly one winner, visible */
		unsigned winners = 0;
		void *win = NULL;
		for (unsigned t = 0; t < NTHREADS; t++) {
			if (rs[t].got[round] != NULL) {
				winners++;
				win = rs[t].got[round];
			} else if (rs[t].alloc_errno[round] != EEXIST) {
				bad_errno++;
			}
		}
		if (winners != 1)
			bad_alloc++;
		size_t sz = 0;
		if (persist_get(Ps, Race_id, &sz) != win || sz != Race_size)
			bad_get++;
		pthread_barrier_wait(&Barrier); /* let them free */
		pthread_barrier_wait(&Barrier); /* all frees done */
		unsigned freed = 0;
		for (unsigned t = 0; t < NTHREADS; t++) {
			if (rs[t].free_ret[round] == 0)
				freed++;
			else if (rs[t].free_ret[round] != -1 ||
				 rs[t].free_errno[round] != ENOENT)
				bad_errno++;
		}
		if (freed != 1)
			bad_free++;
	}
	for (unsigned t = 0; t < NTHREADS; t++)
		pthread_join(rs[t].th, NULL);
	pthread_barrier_destroy(&Barrier);
	if (bad_alloc || bad_free || bad_errno || bad_get)
		fprintf(stderr,
			"rounds with != 1 winner: alloc %u free %u; "
			"bad errno %u; bad get %u\n",
			bad_alloc, bad_free, bad_errno, bad_get);
	CU_ASSERT_EQUAL(bad_alloc, 0);
	CU_ASSERT_EQUAL(bad_free, 0);
	CU_ASSERT_EQUAL(bad_errno, 0);
	CU_ASSERT_EQUAL(bad_get, 0);
	struct pmemstore_stats s1 = get_stats(Ps);
	CU_ASSERT_EQUAL(s1.objects, 0);
	CU_ASSERT_EQUAL(s1.pages_free, s0.pages_free);
	CU_ASSERT_EQUAL(count_objects(Ps), 0);
	free(rs);
	EXPECT_OK(pmemstore_close(Ps));
	Ps = NULL;
out:
	test_pool_remove(path);
}

/* same_class_main -- threads hammering one size class */
static void *
same_class_main(void *arg)
{
	struct worker *w = arg;
	enum { K = 64 };
	uuid_t ids[K];
	char *ptrs[K];
	for (unsigned round = 0; round < 40; round++) {
		for (unsigned i = 0; i < K; i++) {
			rnd_uuid(&w->rng, ids[i]);
			ptrs[i] = persist_alloc(Ps, ids[i], 64, 0);
			if (ptrs[i] == NULL) {
				w->alloc_fail++;
				continue;
			}
			pattern_fill(ptrs[i], 64, ids[i]);
		}
		for (unsigned i = 0; i < K; i++) {
			if (ptrs[i] == NULL)
				continue;
			if (pattern_check(ptrs[i], 64, ids[i]) != -1)
				w->corrupt++;
			if (persist_free(Ps, ids[i]) != 0)
				w->lost++;
		}
	}
	return NULL;
}

/* test_same_class -- all threads in one slab class: no slot shared */
static void
test_same_class(void)
{
	char *path = test_pool_path("threads_class");
	Ps = EXPECT_PTR(pmemstore_create(path, 16 * MIB, 0600));
	if (Ps == NULL)
		goto out;
	struct worker *ws = calloc(NTHREADS, sizeof(*ws));
	for (unsigned t = 0; t < NTHREADS; t++) {
		ws[t].rng = test_seed() ^ (0x2000 + t);
		pthread_create(&ws[t].th, NULL, same_class_main, &ws[t]);
	}
	unsigned bad = 0;
	for (unsigned t = 0; t < NTHREADS; t++) {
		pthread_join(ws[t].th, NULL);
		bad += ws[t].alloc_fail + ws[t].corrupt + ws[t].lost;
	}
	CU_ASSERT_EQUAL(bad, 0);
	struct pmemstore_stats st = get_stats(Ps);
	CU_ASSERT_EQUAL(st.objects, 0);
	CU_ASSERT_EQUAL(st.pages_free + st.index_pages, st.pages_total);
	free(ws);
	EXPECT_OK(pmemstore_close(Ps));
	Ps = NULL;
out:
	test_pool_remove(path);
}

/* get / id_of / foreach while the same objects are being freed */

enum { CHURN_WRITERS = 4, CHURN_READERS = 4, CHURN_PER = 3 };

static uuid_t Churn_ids[CHURN_WRITERS][CHURN_PER];
static int Churn_stop; /* read and written with __atomic builtins */

/* churn_writer -- allocate a slab's worth of one class, free it again */
static void *
churn_writer(void *arg)
{
	struct worker *w = arg;
	while (!__atomic_load_n(&Churn_stop, __ATOMIC_RELAXED)) {
		for (unsigned i = 0; i < CHURN_PER; i++) {
			/* class 1312: three slots per slab page */
			char *p = persist_alloc(Ps, Churn_ids[w->idx][i], 1300,
						0);
			if (p == NULL) {
				w->alloc_fail++;
				continue;
			}
			pattern_fill(p, 1300, Churn_ids[w->idx][i]);
		}
		for (unsigned i = 0; i < CHURN_PER; i++)
			if (persist_free(Ps, Churn_ids[w->idx][i]) != 0)
				w->lost++;
		w->iters++;
	}
	return NULL;
}

/* churn_cb -- foreach callback: just look */
static int
churn_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	(void)id;
	(void)ptr;
	struct worker *w = arg;
	if (size == 0)
		w->walk_bad++;
	return 0;
}

/* churn_reader -- look the churning objects up all the time */
static void *
churn_reader(void *arg)
{
	struct worker *w = arg;
	while (!__atomic_load_n(&Churn_stop, __ATOMIC_RELAXED)) {
		unsigned t = (unsigned)rnd_range(&w->rng, 0, CHURN_WRITERS - 1);
		unsigned i = (unsigned)rnd_range(&w->rng, 0, CHURN_PER - 1);
		size_t sz = 0;
		errno = 0;
		char *p = persist_get(Ps, Churn_ids[t][i], &sz);
		if (p == NULL && errno != ENOENT)
			w->bad_errno++;
		if (p != NULL && sz != 1300)
			w->wrong_size++;
		if (p != NULL) {
			uuid_t back;
			/* may have been freed meanwhile: ENOENT is fine */
			errno = 0;
			if (persist_id_of(Ps, p + 100, back) != 0 &&
			    errno != ENOENT)
				w->id_of_bad++;
		}
		if ((w->iters++ & 1023) == 0)
			pmemstore_foreach(Ps, churn_cb, w);
	}
	return NULL;
}

/* test_get_during_free -- lookups racing with frees of the same UUIDs */
static void
test_get_during_free(void)
{
	char *path = test_pool_path("threads_churn");
	Ps = EXPECT_PTR(pmemstore_create(path, 16 * MIB, 0600));
	if (Ps == NULL)
		goto out;
	uint64_t rng = test_seed() ^ 0x636875;
	for (unsigned t = 0; t < CHURN_WRITERS; t++)
		for (unsigned i = 0; i < CHURN_PER; i++)
			rnd_uuid(&rng, Churn_ids[t][i]);
	struct worker *ws = calloc(CHURN_WRITERS + CHURN_READERS, sizeof(*ws));
	__atomic_store_n(&Churn_stop, 0, __ATOMIC_RELAXED);
	for (unsigned t = 0; t < CHURN_WRITERS + CHURN_READERS; t++) {
		ws[t].idx = t;
		ws[t].rng = rng ^ t;
		pthread_create(&ws[t].th, NULL,
			       t < CHURN_WRITERS ? churn_writer : churn_reader,
			       &ws[t]);
	}
	usleep(2000000);
	__atomic_store_n(&Churn_stop, 1, __ATOMIC_RELAXED);
	unsigned long wr = 0, rd = 0;
	unsigned bad = 0;
	for (unsigned t = 0; t < CHURN_WRITERS + CHURN_READERS; t++) {
		pthread_join(ws[t].th, NULL);
		if (t < CHURN_WRITERS)
			wr += ws[t].iters;
		else
			rd += ws[t].iters;
		bad += ws[t].alloc_fail + ws[t].lost + ws[t].bad_errno +
		       ws[t].wrong_size + ws[t].id_of_bad + ws[t].walk_bad;
	}
	printf("\n    %lu alloc/free rounds, %lu lookups\n", wr, rd);
	CU_ASSERT_EQUAL(bad, 0);
	struct pmemstore_stats st = get_stats(Ps);
	CU_ASSERT_EQUAL(st.objects, 0);
	CU_ASSERT_EQUAL(st.pages_free + st.index_pages, st.pages_total);
	free(ws);
	EXPECT_OK(pmemstore_close(Ps));
	Ps = NULL;
out:
	test_pool_remove(path);
}

static CU_TestInfo threads_tests[] = {
	{"random_ops", test_random_ops},
	{"same_uuid_race", test_same_uuid_race},
	{"same_class", test_same_class},
	{"get_during_free", test_get_during_free},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"threads", NULL, NULL, NULL, NULL, threads_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
