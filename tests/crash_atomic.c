/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * crash_atomic.c -- shows the atomic and durable guarantees under power
 * failure at every fence of a workload.
 *
 * The executable interposes libpmem's exported pmem_flush, pmem_drain,
 * pmem_memset and pmem_memcpy (the library's only ways to persistence) and
 * keeps a durable image of the pool beside the mapping: a flush snapshots
 * the flushed cache lines, the next fence makes the snapshots durable.  At
 * every fence, before it takes effect, crash images are built: the
 * durable image plus every subset of the lines flushed since the last
 * fence (all of them, each alone and a seeded sample when there are more
 * than 10).  Each image is written to a file, opened (recovery), checked:
 *   - every operation that returned is there (alloc: UUID, size, content;
 *     free: the UUID is gone);
 *   - the operation in flight is entirely there or entirely absent;
 *   - reopening gives the same objects (recovery is idempotent);
 *   - after freeing every object, every page is free (no leak).
 * Lines never flushed are not durable.  Runs on the pmem path regardless
 * of the mode (PMEM_IS_PMEM_FORCE=1 is set before libpmem looks).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define LINE 64
#define MAXPEND 65536
#define MAXOBJ 512

/* ---- the durable-image model ---- */

struct pend {
	uint64_t off;	/* line offset in the pool */
	uint64_t small; /* from a flush of at most 4 lines (metadata) */
	uint8_t data[LINE];
};

static uint8_t *map_base; /* the workload pool's mapping */
static size_t map_len;	  /* its length */
static uint8_t *durable;  /* what the media holds */
static struct pend *pend; /* flushed, not yet fenced */
static size_t npend;
static int tracking; /* 1 while the workload runs */
static int in_check; /* 1 while a crash image is checked */
static uint64_t fences, images, failures;
static uint64_t rng = 88172645463325252ULL;

static void check_crash_point(void);

static uint64_t
xs(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* real -- libpmem's own definition of a symbol we interpose */
static void *
real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		fprintf(stderr, "no %s in libpmem\n", name);
		abort();
	}
	return f;
}

/* snap -- record the current content of the lines of [addr, addr+len) */
static void
snap(const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, b = (uintptr_t)map_base;

	if (!tracking || in_check || a < b || a >= b + map_len || len == 0)
		return;
	uint64_t first = (a - b) & ~(uint64_t)(LINE - 1);
	uint64_t last = (a - b + len - 1) & ~(uint64_t)(LINE - 1);

	for (uint64_t off = first; off <= last; off += LINE) {
		if (npend == MAXPEND) {
			fprintf(stderr, "too many lines in one epoch\n");
			abort();
		}
		pend[npend].off = off;
		pend[npend].small = last - first < 4 * LINE;
		memcpy(pend[npend].data, map_base + off, LINE);
		npend++;
	}
}

/* commit -- the fence: flushed lines become durable, in order */
static void
commit(void)
{
	for (size_t i = 0; i < npend; i++)
		memcpy(durable + pend[i].off, pend[i].data, LINE);
	npend = 0;
}

/* the interposed libpmem entry points */
void pmem_flush(const void *addr, size_t len);
void pmem_drain(void);
void *pmem_memset(void *dst, int c, size_t len, unsigned flags);
void *pmem_memcpy(void *dst, const void *src, size_t len, unsigned flags);

void
pmem_flush(const void *addr, size_t len)
{
	static void (*f)(const void *, size_t);

	if (f == NULL)
		f = real("pmem_flush");
	f(addr, len);
	snap(addr, len);
}

void
pmem_drain(void)
{
	static void (*f)(void);

	if (f == NULL)
		f = real("pmem_drain");
	if (tracking && !in_check) {
		check_crash_point();
		commit();
	}
	f();
}

void *
pmem_memset(void *dst, int c, size_t len, unsigned flags)
{
	static void *(*f)(void *, int, size_t, unsigned);

	if (f == NULL)
		f = real("pmem_memset");
	f(dst, c, len, flags | 1U /* NODRAIN: we drain below */);
	snap(dst, len);
	if (!(flags & 1U))
		pmem_drain();
	return dst;
}

void *
pmem_memcpy(void *dst, const void *src, size_t len, unsigned flags)
{
	static void *(*f)(void *, const void *, size_t, unsigned);

	if (f == NULL)
		f = real("pmem_memcpy");
	f(dst, src, len, flags | 1U);
	snap(dst, len);
	if (!(flags & 1U))
		pmem_drain();
	return dst;
}

/* ---- the workload's model of what must survive ---- */

enum ostate { ABSENT, PRESENT, ALLOCATING, FREEING };

struct mobj {
	uuid_t id;
	size_t size;
	int state;
	int content; /* 0 unknown, 1 zero, 2 pattern */
};

static struct mobj objs[MAXOBJ];
static int nobjs;
static char img_path[4096];

/* content_ok -- the content the model expects */
static int
content_ok(const struct mobj *m, const uint8_t *p)
{
	if (m->content == 1) {
		for (size_t i = 0; i < m->size; i++)
			if (p[i])
				return 0;
	} else if (m->content == 2) {
		return pattern_check(p, m->size, m->id) == -1;
	}
	return 1;
}

/* check_image -- open one crash image and check the invariants */
static int
check_image(const uint8_t *img)
{
	int fd = open(img_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct pmemstore *ps;
	struct pmemstore_stats st;
	int bad = 0, seen = 0;

	if (fd < 0 || pwrite(fd, img, map_len, 0) != (ssize_t)map_len) {
		perror("crash image");
		abort();
	}
	close(fd);
	images++;
	for (int pass = 0; pass < 2 && !bad; pass++) {
		ps = pmemstore_open(img_path, 0);
		if (ps == NULL) {
			fprintf(stderr, "crash image does not open: %s\n",
				pmemstore_errormsg());
			return 1;
		}
		seen = 0;
		for (int i = 0; i < nobjs; i++) {
			struct mobj *m = &objs[i];
			size_t sz = 0;
			uint8_t *p = persist_get(ps, m->id, &sz);

			if (p)
				seen++;
			switch (m->state) {
			case PRESENT:
				if (p == NULL || sz != m->size ||
				    !content_ok(m, p)) {
					fprintf(stderr,
						"object %d (%zu B) %s after "
						"crash\n",
						i, m->size,
						p ? "damaged" : "lost");
					bad = 1;
				}
				break;
			case ABSENT:
				if (p) {
					fprintf(stderr,
						"freed object %d is back\n", i);
					bad = 1;
				}
				break;
			default: /* in flight: all or nothing */
				if (p &&
				    (sz != m->size || (m->state == ALLOCATING &&
						       !content_ok(m, p)))) {
					fprintf(stderr,
						"object %d in flight is torn\n",
						i);
					bad = 1;
				}
			}
		}
		pmemstore_stats(ps, &st);
		if (st.objects != (uint64_t)seen) {
			fprintf(stderr, "unexpected objects: %llu, known %d\n",
				(unsigned long long)st.objects, seen);
			bad = 1;
		}
		if (pass == 1) {
			/* no leak: freeing everything frees every page */
			for (int i = 0; i < nobjs; i++)
				persist_free(ps, objs[i].id);
			pmemstore_stats(ps, &st);
			if (st.pages_free != st.pages_total || st.objects) {
				fprintf(stderr,
					"leak: %llu of %llu pages free\n",
					(unsigned long long)st.pages_free,
					(unsigned long long)st.pages_total);
				bad = 1;
			}
		}
		pmemstore_close(ps);
	}
	return bad;
}

/*
 * check_crash_point -- every crash image of the epoch that this fence
 * ends: durable image + subsets of the lines flushed in it.  A line
 * flushed twice may land as either version: each snapshot is its own
 * choice, applied in order, so later versions win when both are chosen.
 */
static void
check_crash_point(void)
{
	uint8_t *img = malloc(map_len);
	size_t n = npend, nsingle = 0;
	size_t *single = malloc(sizeof(size_t) * (n + 1));
	uint64_t subsets, k;

	if (img == NULL || single == NULL)
		abort();
	in_check = 1;
	fences++;
	/*
	 * Up to 10 lines: every subset.  More (a large object's content):
	 * none, all, each metadata line alone, 16 other lines alone, and
	 * 32 random subsets.
	 */
	if (n > 10) {
		for (size_t i = 0; i < n; i++)
			if (pend[i].small)
				single[nsingle++] = i;
		for (int j = 0; j < 16; j++)
			single[nsingle++ % (n + 1)] = xs() % n;
		if (nsingle > n + 1)
			nsingle = n + 1;
		subsets = 2 + nsingle + 32;
	} else {
		subsets = 1ULL << n;
	}
	for (k = 0; k < subsets; k++) {
		memcpy(img, durable, map_len);
		for (size_t i = 0; i < n; i++) {
			int take;

			if (n <= 10)
				take = (k >> i) & 1;
			else if (k < 2)
				take = (int)k;
			else if (k < 2 + nsingle)
				take = i == single[k - 2];
			else
				take = xs() & 1;
			if (take)
				memcpy(img + pend[i].off, pend[i].data, LINE);
		}
		if (check_image(img)) {
			failures++;
			fprintf(stderr,
				"  at fence %llu, subset %llu of %zu lines\n",
				(unsigned long long)fences,
				(unsigned long long)k, n);
			CU_FAIL("crash image violates an invariant");
			if (failures > 5)
				abort();
		}
	}
	in_check = 0;
	free(single);
	free(img);
}

/* ---- the workload ---- */

static struct pmemstore *pool;

static int
init_pattern(void *ptr, size_t size, void *arg)
{
	pattern_fill(ptr, size, ((struct mobj *)arg)->id);
	return 0;
}

/* do_alloc -- one allocation, modelled: ZERO, init, or plain + persist */
static void
do_alloc(size_t size, int how)
{
	struct mobj *m = &objs[nobjs++];
	void *p;

	CU_ASSERT_FATAL(nobjs <= MAXOBJ);
	uuid_generate(m->id);
	m->size = size;
	m->content = how == 1 ? 1 : how == 2 ? 2 : 0;
	m->state = ALLOCATING;
	if (how == 1)
		p = persist_alloc(pool, m->id, size, PERSIST_ZERO);
	else if (how == 2)
		p = persist_alloc_init(pool, m->id, size, init_pattern, m);
	else
		p = persist_alloc(pool, m->id, size, 0);
	if (p == NULL) {
		CU_ASSERT_EQUAL(errno, ENOMEM);
		m->state = ABSENT;
		return;
	}
	m->state = PRESENT;
	if (how == 0) {
		/* the application's own content, made durable by persist() */
		pattern_fill(p, size, m->id);
		persist(pool, p, size);
		m->content = 2;
	}
}

/* do_free -- one free, modelled */
static void
do_free(int i)
{
	if (objs[i].state != PRESENT)
		return;
	objs[i].state = FREEING;
	CU_ASSERT_EQUAL_FATAL(persist_free(pool, objs[i].id), 0);
	objs[i].state = ABSENT;
}

static void
test_crash_every_fence(void)
{
	static const size_t sizes[] = {1,    64,   65,	 100,	    2016,
				       2017, 4096, 5000, 300 << 10, 2 << 20};
	const int ns = sizeof(sizes) / sizeof(sizes[0]);
	char *path = test_pool_path("crash");

	snprintf(img_path, sizeof(img_path), "%s.img", path);
	pool = pmemstore_create(path, PMEMSTORE_MIN_POOL, 0600);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
	CU_ASSERT_EQUAL_FATAL(pmemstore_is_pmem(pool), 1);

	/* the mapping: the first object's page tells where the pool is */
	{
		uuid_t id;
		uint8_t *p;
		FILE *f;
		char line[512];

		uuid_generate(id);
		p = persist_alloc(pool, id, 64, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		f = fopen("/proc/self/maps", "r");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		while (fgets(line, sizeof(line), f)) {
			unsigned long lo, hi;

			if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
			    (uintptr_t)p >= lo && (uintptr_t)p < hi) {
				map_base = (uint8_t *)lo;
				map_len = hi - lo;
			}
		}
		fclose(f);
		CU_ASSERT_PTR_NOT_NULL_FATAL(map_base);
		CU_ASSERT_FATAL(map_len >= PMEMSTORE_MIN_POOL);
		CU_ASSERT_EQUAL(persist_free(pool, id), 0);
	}
	/* everything so far is durable: the durable image starts here */
	durable = malloc(map_len);
	pend = malloc(sizeof(*pend) * MAXPEND);
	CU_ASSERT_FATAL(durable != NULL && pend != NULL);
	memcpy(durable, map_base, map_len);
	tracking = 1;

	/*
	 * Slab pages given back (their descriptors still say SLAB, bitmap
	 * 0), then a run with init content over them: a crash that keeps
	 * the record, bit and HEAD but not every TAIL must not let open
	 * scrub "headers" inside the object's content.
	 */
	for (int i = 0; i < 16; i++)
		do_alloc(2016, 0);
	for (int i = 0; i < 16; i++)
		do_free(i);
	do_alloc(32 << 10, 2);

	for (int r = 0; r < 2; r++)
		for (int i = 0; i < ns; i++)
			do_alloc(sizes[i], (i + r) % 3);
	/* free every other one, then reuse their slots and pages */
	for (int i = 17; i < nobjs; i += 2)
		do_free(i);
	for (int i = 0; i < ns; i++)
		do_alloc(sizes[i], (i + 1) % 3);
	for (int i = 1; i < nobjs; i += 3)
		do_free(i);
	/* a nearly full pool: large objects until ENOMEM */
	for (int i = 0; i < 8 && nobjs < MAXOBJ; i++)
		do_alloc(1 << 20, i % 3);
	tracking = 0;

	printf("\n  crash points (fences): %llu, crash images: %llu, "
	       "violations: %llu\n",
	       (unsigned long long)fences, (unsigned long long)images,
	       (unsigned long long)failures);
	CU_ASSERT(fences > 50);
	CU_ASSERT_EQUAL(failures, 0);
	pmemstore_close(pool);
	test_pool_remove(path);
	unlink(img_path);
	free(durable);
	free(pend);
}

int
main(void)
{
	/* the pmem path, whatever the mode: libpmem reads this lazily */
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	CU_TestInfo tests[] = {
		{"power failure at every fence", test_crash_every_fence},
		CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suites[] = {
		{"crash", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};
	return run_suites(suites);
}
