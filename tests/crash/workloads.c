/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * workloads.c -- owns the workloads and the oracle: scripted sequences of
 * persist_alloc / persist_alloc_init / PERSIST_ZERO / persist_free (and
 * pmemstore_create itself) whose every fence is a crash point, and the
 * model of what each crash must preserve (struct oracle: every object ever
 * allocated, and whether it is present, absent, or in flight).
 *
 * scale: 0 for --quick (seconds, every code path), 1 for the default (CI)
 * run, larger for --long.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "layout.h"
#include "sim.h"

struct oracle orc;
static struct pmemstore *pool;
uint64_t wl_rng;

/* wl_fatal -- the workload itself went wrong (not a crash violation) */
static void
wl_fatal(const char *what)
{
	fprintf(stderr, "crash: workload %s: %s failed: %s (%s)\n", cur_wl,
		what, strerror(errno), pmemstore_errormsg());
	exit(2);
}

/* wl_begin -- a fresh pool; crash points from here on (or from create) */
void
wl_begin(size_t size, int create_too, uint64_t seed)
{
	memset(&orc, 0, sizeof(orc));
	orc.pool_size = size;
	wl_rng = seed ^ 0x5eed;
	snprintf(wl_path, sizeof(wl_path), "%s/wl-%d.pool", opt.dir, worker);
	unlink(wl_path);
	if (create_too) {
		orc.create = 1;
		snprintf(orc.op, sizeof(orc.op), "pmemstore_create(%zu)", size);
		armed = 1;
	}
	pool = pmemstore_create(wl_path, size, 0600);
	if (pool == NULL)
		wl_fatal("pmemstore_create");
	if (!pmemstore_is_pmem(pool)) {
		fprintf(stderr, "crash: the pool is not on the pmem path "
				"(PMEM_IS_PMEM_FORCE=1 not seen)\n");
		exit(2);
	}
	orc.created = 1;
	armed = 1;
}

/*
 * wl_settle -- every line of the mapping reaches the media, as after a
 * long quiet time (caches written back): set-up done without crash points
 * leaves nothing for every later image's recovery to repair
 */
static void
wl_settle(void)
{
	struct model *m = &wl_model;

	for (size_t p = 0; p < m->npages; p++) {
		const uint64_t *q = (const uint64_t *)(m->base + p * PAGE);
		size_t k = 0, n = (m->len - p * PAGE) / 8;

		if (n > PAGE / 8)
			n = PAGE / 8;
		if (!((m->touched[p / 64] >> (p % 64)) & 1)) {
			while (k < n && q[k] == 0)
				k++;
			if (k == n)
				continue;
		}
		memcpy(m->durable + p * PAGE, q, n * 8);
		m->touched[p / 64] |= 1ULL << (p % 64);
	}
	m->npend = 0;
}

/* wl_end -- close and remove the pool */
void
wl_end(void)
{
	cur->switches += sched_switches;
	sched_switches = 0;
	armed = 0;
	if (pool)
		pmemstore_close(pool);
	pool = NULL;
	model_release(&wl_model);
	unlink(wl_path);
	free(orc.objs);
	memset(&orc, 0, sizeof(orc));
}

/* the UUID of the next new_obj, when a workload chose it (op_alloc_id) */
static const uint8_t *chosen_id;

/* new_obj -- a new oracle object with a reproducible (or chosen) UUID */
static struct mobj *
new_obj(uint64_t size)
{
	struct mobj *m;

	if (orc.nobjs == orc.cap) {
		orc.cap = orc.cap ? orc.cap * 2 : 256;
		orc.objs = realloc(orc.objs, orc.cap * sizeof(*orc.objs));
		if (orc.objs == NULL)
			abort();
	}
	m = &orc.objs[orc.nobjs++];
	memset(m, 0, sizeof(*m));
	uint64_t a = rng_next(&wl_rng), b = rng_next(&wl_rng) | 1;

	memcpy(m->id, &a, 8);
	memcpy(m->id + 8, &b, 8);
	if (chosen_id)
		memcpy(m->id, chosen_id, sizeof(m->id));
	chosen_id = NULL;
	m->size = size;
	return m;
}

/* init_cb -- persist_alloc_init callback: the UUID's pattern */
static int
init_cb(void *ptr, size_t size, void *arg)
{
	pat_fill(ptr, size, arg);
	return 0;
}

static const char *const how_name[] = {"+write+persist", "ZERO", "init", "bare",
				       "+persist_memcpy"};

/* op_name -- describe the operation begun, for violation reports */
static void
op_name(const char *what)
{
	snprintf(orc.op, sizeof(orc.op), "%s", what);
	if (sched_self)
		snprintf(sched_op[sched_self], sizeof(sched_op[0]),
			 "thread %d: %.130s", sched_self, what);
}

/*
 * op_alloc -- one allocation, modelled.  H_WRITE / H_MEMCPY: the
 * application fills the object after it is returned and makes it durable
 * itself (content unknown until then); H_BARE: never written.
 * Returns the object's index, or -1 after ENOMEM.  In a threaded workload
 * its entry and return are yield points, and orc.objs may move whenever
 * another thread runs (new_obj): objects are reached by index.
 */
long
op_alloc(uint64_t size, int how)
{
	struct mobj *m;
	long idx;
	void *p;
	uuid_t id;
	char what[160];

	sched_point();
	m = new_obj(size);
	idx = (long)(m - orc.objs);
	memcpy(id, m->id, sizeof(id));
	orc.opno++;
	snprintf(what, sizeof(what), "op %llu: alloc #%ld %llu B %s",
		 (unsigned long long)orc.opno, idx, (unsigned long long)size,
		 how_name[how]);
	op_name(what);
	/* in flight from here: I2 (all or nothing) until it returns */
	m->state = O_ALLOCATING;
	m->busy = 1;
	m->owner = sched_self;
	m->content = how == H_ZERO   ? C_ZERO
		     : how == H_INIT ? C_PATTERN
				     : C_UNKNOWN;
	errno = 0;
	if (how == H_ZERO)
		p = persist_alloc(pool, id, size, PERSIST_ZERO);
	else if (how == H_INIT)
		p = persist_alloc_init(pool, id, size, init_cb, id);
	else
		p = persist_alloc(pool, id, size, 0);
	if (p == NULL) {
		if (errno != ENOMEM)
			wl_fatal("persist_alloc");
		orc.objs[idx].state = O_ABSENT; /* I5: must not be there */
		orc.objs[idx].busy = 0;
		sched_point();
		return -1;
	}
	/* returned: I1 from here on (content once the writes returned) */
	orc.objs[idx].state = O_PRESENT;
	if (how == H_WRITE) {
		pat_fill(p, size, id);
		persist(pool, p, size);
		orc.objs[idx].content = C_PATTERN;
	} else if (how == H_MEMCPY) {
		uint8_t *buf = malloc(size);

		if (buf == NULL)
			abort();
		pat_fill(buf, size, id);
		persist_memcpy(pool, p, buf, size);
		free(buf);
		orc.objs[idx].content = C_PATTERN;
	}
	orc.objs[idx].busy = 0;
	sched_point();
	return idx;
}

/* op_alloc_id -- op_alloc of an object with the UUID id */
static long
op_alloc_id(const uint8_t *id, uint64_t size, int how)
{
	chosen_id = id;
	return op_alloc(size, how);
}

/*
 * op_realloc -- allocate the UUID of object i again, after its free
 * returned (an application re-creating a named object); the new object's
 * index, or -1 (ENOMEM, or object i not freed)
 */
static long
op_realloc(long i, uint64_t size, int how)
{
	uuid_t id;

	if (i < 0 || (size_t)i >= orc.nobjs || orc.objs[i].state != O_ABSENT)
		return -1;
	memcpy(id, orc.objs[i].id, sizeof(id));
	orc.objs[i].state = O_REUSED;
	return op_alloc_id(id, size, how);
}

/* op_free -- one free, modelled (not of an object still being written) */
void
op_free(long i)
{
	uuid_t id;
	char what[160];

	sched_point();
	if (i < 0 || (size_t)i >= orc.nobjs || orc.objs[i].state != O_PRESENT ||
	    orc.objs[i].busy)
		return;
	memcpy(id, orc.objs[i].id, sizeof(id));
	orc.opno++;
	snprintf(what, sizeof(what), "op %llu: free #%ld (%llu B)%s",
		 (unsigned long long)orc.opno, i,
		 (unsigned long long)orc.objs[i].size,
		 orc.objs[i].owner && orc.objs[i].owner != sched_self
			 ? " of another thread"
			 : "");
	op_name(what);
	/* in flight: I2 until it returns, then I5 (the UUID is gone) */
	orc.objs[i].state = O_FREEING;
	/* a cross-thread free: let the owner allocate in its windows */
	sched_hint(orc.objs[i].owner);
	if (persist_free(pool, id))
		wl_fatal("persist_free");
	sched_hint(0);
	orc.objs[i].state = O_ABSENT;
	sched_point();
}

/* live_at -- the k-th present object, or -1 */
static long
live_at(uint64_t k)
{
	uint64_t n = 0;

	for (size_t i = 0; i < orc.nobjs; i++)
		if (orc.objs[i].state == O_PRESENT && n++ == k)
			return (long)i;
	return -1;
}

/* nlive -- the number of present objects */
static uint64_t
nlive(void)
{
	uint64_t n = 0;

	for (size_t i = 0; i < orc.nobjs; i++)
		n += orc.objs[i].state == O_PRESENT;
	return n;
}

/* wl_pool -- the workload's pool handle (volatile.c) */
struct pmemstore *
wl_pool(void)
{
	return pool;
}

/* wl_nlive, wl_live_at -- nlive and live_at for volatile.c */
long
wl_nlive(void)
{
	return (long)nlive();
}

long
wl_live_at(uint64_t k)
{
	return live_at(k);
}

#define MIB ((uint64_t)1 << 20)
#define KIB ((uint64_t)1 << 10)

/*
 * wl_create -- crash inside pmemstore_create, of a small and a large pool.
 * Every torn variant of every line, always (a few hundred images): a
 * superblock copy torn between its magic and its version word once read
 * as an unknown format version.
 */
static void
wl_create(int scale, uint64_t seed)
{
	int tear = opt.tear;

	(void)scale;
	opt.tear = 1;
	wl_begin(PMEMSTORE_MIN_POOL, 1, seed);
	wl_end();
	wl_begin(72 * MIB, 1, seed);
	wl_end();
	opt.tear = tear;
}

/* wl_slab -- every small class; slot reuse; slab pages given back */
static void
wl_slab(int scale, uint64_t seed)
{
	static const uint64_t sizes[] = {1,   64,  65,	 96,   100,  128, 160,
					 192, 200, 256,	 320,  384,  448, 512,
					 640, 768, 1000, 1024, 1312, 2016};
	const size_t ns = sizeof(sizes) / sizeof(sizes[0]);
	int rounds = scale ? 2 + scale : 1;
	long first[64];

	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < ns; i++)
			op_alloc(sizes[i], (int)((i + (size_t)r) % 5));
	/* free every other one, then reuse their slots */
	for (size_t i = 0; i < orc.nobjs; i += 2)
		op_free((long)i);
	for (size_t i = 0; i < ns; i++)
		op_alloc(sizes[ns - 1 - i], (int)(i % 5));
	/* a second 64-byte page, emptied: given back, then reused */
	for (int i = 0; i < 50; i++)
		first[i % 64] = op_alloc(64, i % 2 ? H_BARE : H_INIT);
	for (int i = 0; i < 50; i++)
		op_free(first[i % 64]);
	for (int i = 0; i < 6; i++)
		op_alloc(2016, i % 5);
	for (size_t i = 0; i < orc.nobjs; i += 3)
		op_free((long)i);
	/*
	 * a UUID freed and allocated again at once, into the slot its free
	 * just gave back, with another size of the class and new content:
	 * the free's invalidated header must not stand for the new object
	 */
	static const uint64_t again[][2] = {
		{100, 120}, {1000, 1010}, {64, 40}, {2016, 2000}};

	for (int i = 0; i < 4; i++) {
		long a = op_alloc(again[i][0], H_INIT);

		op_free(a);
		a = op_realloc(a, again[i][1], i % 2 ? H_INIT : H_ZERO);
		op_free(a);
		op_realloc(a, again[i][0], H_BARE);
	}
	wl_end();
}

/* wl_pages -- multi-page objects; page reuse; runs over old slab pages */
static void
wl_pages(int scale, uint64_t seed)
{
	static const uint64_t sizes[] = {2017,	4096,	  4097,	     8192,
					 12345, 64 * KIB, 300 * KIB, 1 * MIB};
	const size_t ns = sizeof(sizes) / sizeof(sizes[0]);
	long a[16];

	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	/*
	 * slab pages given back (descriptors still SLAB, bitmap 0), then a
	 * run with init content over them: a crash that keeps the record,
	 * bit and HEAD but not every TAIL must not scrub "headers" inside
	 * the object's content
	 */
	for (int i = 0; i < 16; i++)
		a[i] = op_alloc(2016, H_BARE);
	for (int i = 0; i < 16; i++)
		op_free(a[i]);
	op_alloc(32 * KIB, H_INIT);
	for (int r = 0; r < 1 + scale; r++)
		for (size_t i = 0; i < ns; i++)
			op_alloc(sizes[i], (int)((i + (size_t)r) % 5));
	for (size_t i = 1; i < orc.nobjs; i += 2)
		op_free((long)i);
	for (size_t i = 0; i < ns; i++)
		op_alloc(sizes[i], (int)((i + 2) % 5));
	for (size_t i = 0; i < orc.nobjs; i++)
		op_free((long)i);
	wl_end();
}

/* wl_huge -- objects of 2 MiB and more (2 MiB aligned) */
static void
wl_huge(int scale, uint64_t seed)
{
	long a, b;

	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	a = op_alloc(2 * MIB, H_ZERO);
	b = op_alloc(2 * MIB, H_INIT);
	op_alloc(2 * MIB, H_BARE); /* no third aligned block: ENOMEM */
	op_free(a);
	a = op_alloc(2 * MIB, H_BARE);
	op_free(b);
	if (scale) {
		b = op_alloc(2 * MIB, H_MEMCPY);
		op_free(b);
		b = op_alloc(2 * MIB + 4096, H_BARE);
		op_free(a);
		op_free(b);
		a = op_alloc(4 * MIB, H_BARE);
	}
	op_free(a);
	wl_end();
}

/* wl_full -- a nearly full pool: fill to ENOMEM, then churn at the edge */
static void
wl_full(int scale, uint64_t seed)
{
	static const uint64_t sizes[] = {1 * MIB, 64 * KIB, 4 * KIB, 2016, 64};
	long last[5] = {-1, -1, -1, -1, -1};

	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	for (int s = 0; s < 5; s++) {
		long i;

		while ((i = op_alloc(sizes[s], s < 2 ? H_BARE : H_INIT)) >= 0)
			last[s] = i;
	}
	/* free at the edge and take it again */
	for (int r = 0; r < 1 + 2 * scale; r++) {
		op_free(last[1]);
		for (int k = 0; k < 17; k++)
			op_alloc(4 * KIB, k % 2 ? H_ZERO : H_WRITE);
		op_free(last[0]);
		last[0] = op_alloc(1 * MIB, H_BARE);
		last[1] = op_alloc(64 * KIB, H_ZERO);
		for (int k = 0; k < 4; k++)
			op_free(live_at(nlive() - 1 - (uint64_t)k));
		op_alloc(64, H_INIT);
		op_alloc(2016, H_WRITE);
	}
	wl_end();
}

/* wl_frag -- holes between runs and in slabs, filled again */
static void
wl_frag(int scale, uint64_t seed)
{
	int pairs = scale ? 40 : 10;
	long small[64], slots[256];

	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	for (int i = 0; i < pairs; i++) {
		small[i] = op_alloc(4 * KIB, H_BARE);
		op_alloc(8 * KIB, i % 4 ? H_BARE : H_INIT);
	}
	for (int i = 0; i < pairs; i++)
		op_free(small[i]); /* 1-page holes */
	for (int i = 0; i < 5; i++)
		op_alloc(8 * KIB, H_BARE); /* cannot use the holes */
	for (int i = 0; i < pairs / 2; i++)
		op_alloc(4 * KIB, i % 3 ? H_BARE : H_WRITE); /* into holes */
	/* free neighbours so that holes merge, then larger runs into them */
	for (size_t i = 0; i < orc.nobjs && i < (size_t)pairs; i++)
		if (orc.objs[i].size == 8 * KIB && i % 4 == 1)
			op_free((long)i);
	for (int i = 0; i < pairs / 4; i++)
		op_alloc(12 * KIB, H_ZERO);
	/* slab holes */
	int ns = scale ? 200 : 60;

	for (int i = 0; i < ns; i++)
		slots[i] = op_alloc(64, i % 2 ? H_BARE : H_INIT);
	for (int i = 0; i < ns; i += 2)
		op_free(slots[i]);
	for (int i = 0; i < ns / 2; i++)
		op_alloc(60, i % 3 ? H_BARE : H_WRITE);
	for (int i = 1; i < ns; i += 2)
		op_free(slots[i]);
	wl_end();
}

/* wl_hwm -- a 72 MiB pool grown past its first high-water mark */
static void
wl_hwm(int scale, uint64_t seed)
{
	long a[70];

	(void)scale;
	wl_begin(72 * MIB, 0, seed);
	/*
	 * 64 runs of 1 MiB reach page 16384: the 64th raises the mark.  The
	 * first 62 are set up without crash points and written back.
	 */
	armed = 0;
	for (int i = 0; i < 62; i++)
		a[i] = op_alloc(1 * MIB, H_BARE);
	wl_settle();
	armed = 1;
	for (int i = 62; i < 64; i++)
		a[i] = op_alloc(1 * MIB, H_BARE);
	op_alloc(100, H_INIT);
	a[64] = op_alloc(2 * MIB, H_INIT);
	a[65] = op_alloc(8 * KIB, H_ZERO);
	op_free(a[63]);
	op_free(a[64]);
	op_alloc(1 * MIB, H_BARE);
	for (int i = 0; i < 8; i++)
		op_free(a[i]);
	op_alloc(3 * MIB, H_BARE);
	wl_end();
}

/*
 * The growth workload's UUIDs: every one hashes (XXH3-64, as the library
 * does) into the same two windows of a segment, buckets GROW_B1, +1 and
 * GROW_B2, +1: 32 entries in all, so the 33rd insert into one segment
 * finds both windows full and splits it.  Kept by class, the top two bits
 * of the hash: the bits a split at depth 0 and 1 looks at.
 */
#define GROW_B1 40U
#define GROW_B2 170U
#define GROW_PER 24

struct grow {
	uint8_t id[4][GROW_PER][16];
	unsigned used[4]; /* taken, per class */
	unsigned live[4]; /* allocated and not freed, per class */
	long obj[4][GROW_PER];
};

/*
 * grow_seed -- the index's hash seed of the pool at wl_path (the pool
 * UUID's first 8 bytes ^ PMS_SB_SEED ^ PMS_INDEX_SEED, layout.h), read
 * from superblock A
 */
static uint64_t
grow_seed(void)
{
	struct pms_super sb;
	FILE *f = fopen(wl_path, "rb");
	uint64_t s = 0;

	if (f == NULL || fread(&sb, sizeof(sb), 1, f) != 1) {
		fprintf(stderr, "crash: workload grow: cannot read %s\n",
			wl_path);
		exit(2);
	}
	fclose(f);
	memcpy(&s, sb.pool_uuid, 8);
	return s ^ PMS_SB_SEED ^ PMS_INDEX_SEED;
}

/*
 * grow_find -- GROW_PER UUIDs of each class, from seed (~10^7 hashes of
 * the pool's index seed hseed)
 */
static void
grow_find(struct grow *g, uint64_t seed, uint64_t hseed)
{
	unsigned have[4] = {0}, full = 0;
	uint8_t id[16];

	memset(g, 0, sizeof(*g));
	memcpy(id, &seed, 8);
	for (uint64_t k = 0; full < 4; k++) {
		uint64_t h;
		unsigned c;

		memcpy(id + 8, &k, 8);
		h = XXH3_64bits_withSeed(id, 16, hseed);
		if (PMS_HASH_B1(h) != GROW_B1 || PMS_HASH_B2(h) != GROW_B2)
			continue;
		c = (unsigned)(h >> 62);
		if (have[c] == GROW_PER)
			continue;
		memcpy(g->id[c][have[c]++], id, 16);
		full += have[c] == GROW_PER;
	}
}

/* grow_alloc -- allocate the next UUID of class c; its object index */
static long
grow_alloc(struct grow *g, unsigned c, uint64_t size, int how)
{
	unsigned k = g->used[c]++;
	long i;

	if (k >= GROW_PER) {
		fprintf(stderr,
			"crash: workload grow: no UUID left in "
			"class %u\n",
			c);
		exit(2);
	}
	i = op_alloc_id(g->id[c][k], size, how);
	if (i < 0)
		wl_fatal("persist_alloc (grow)");
	g->obj[c][k] = i;
	g->live[c]++;
	return i;
}

/* grow_free -- free the k-th object of class c */
static void
grow_free(struct grow *g, unsigned c, unsigned k)
{
	op_free(g->obj[c][k]);
	g->live[c]--;
}

/* index_pages -- the workload pool's index pages (statistics) */
static uint64_t
index_pages(void)
{
	struct pmemstore_stats st;

	if (pmemstore_stats(pool, &st))
		wl_fatal("pmemstore_stats");
	return st.index_pages;
}

/*
 * grow_trigger -- the allocation (class c, 64 B, never written: one fence
 * of its own) that grows the index: it must add exactly ipages index
 * pages and take exactly fences crash points (the growth's fences and its
 * own), or the workload does not test what it claims to.  Recovery is
 * crashed at each of its own fences on every image of these crash points
 * (I7), not only on every opt.i7_every-th: it may redo the split.
 */
static void
grow_trigger(struct grow *g, unsigned c, uint64_t ipages, uint64_t fences,
	     const char *what)
{
	uint64_t i0 = index_pages(), c0 = cp_no, i7 = opt.i7_every;

	opt.i7_every = 1; /* and every recovery of its images crashed too */
	grow_alloc(g, c, 64, H_BARE);
	opt.i7_every = i7;
	if (*stop_all)
		return; /* a violation stopped the crash points */
	if (opt.expect)
		fences = cp_no - c0; /* a planted bug may drop a fence */
	if (index_pages() - i0 != ipages || cp_no - c0 != fences) {
		fprintf(stderr,
			"crash: workload grow: the %s added %llu index pages "
			"in %llu crash points, not %llu in %llu\n",
			what, (unsigned long long)(index_pages() - i0),
			(unsigned long long)(cp_no - c0),
			(unsigned long long)ipages, (unsigned long long)fences);
		exit(2);
	}
}

/*
 * wl_grow -- the index grows under crashes: splits and directory
 * doublings, a crash at every fence of each (the images of a fence are
 * enumerated in full: a handful of lines each), with every torn variant
 * of the metadata lines.
 *   A: 32 UUIDs of every class fill the first segment's windows; the
 *      33rd doubles the directory (depth 0 -> 1: 2 fences) and splits the
 *      segment (3 fences); then frees of objects that moved to the twin,
 *      a large object's record entry among them.
 *   B: the lower segment (classes 0, 1) filled again: a second doubling
 *      (1 -> 2) and a split.
 *   C: the upper segment (classes 2, 3, depth 1 < 2) filled: a split
 *      without a doubling; frees of moved objects, allocations in every
 *      new segment.
 */
static void
wl_grow(int scale, uint64_t seed)
{
	static struct grow g;
	int tear = opt.tear;

	(void)scale;
	opt.tear = 1;
	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	grow_find(&g, seed, grow_seed());
	/* A: 8 of each class; large objects of classes 2 (moves), 1 */
	for (unsigned k = 0; k < 32; k++) {
		unsigned c = k % 4;
		uint64_t size = k == 6 ? 8 * KIB : k == 9 ? 12 * KIB : 64;

		grow_alloc(&g, c, size,
			   k % 8 == 3	? H_ZERO
			   : k % 8 == 5 ? H_INIT
					: H_BARE);
	}
	grow_trigger(&g, 2, 1 + PMS_SEG_PAGES, 2 + 3 + 1, "first doubling");
	grow_free(&g, 3, 0);		    /* moved to the twin */
	grow_free(&g, 2, 1);		    /* large (k = 6), moved */
	grow_free(&g, 0, 2);		    /* stayed */
	grow_alloc(&g, 3, 8 * KIB, H_INIT); /* into the twin */
	/* B: the lower half full again, then its 33rd */
	for (unsigned k = 0; g.live[0] + g.live[1] < 32; k++)
		grow_alloc(&g, k % 2, 64, k % 5 == 2 ? H_ZERO : H_BARE);
	grow_trigger(&g, 0, 1 + PMS_SEG_PAGES, 2 + 3 + 1, "second doubling");
	grow_free(&g, 1, 1); /* moved to the new twin */
	/* C: the upper half full again, then its 33rd: no doubling */
	unsigned big = g.used[3];

	for (unsigned k = 0; g.live[2] + g.live[3] < 32; k++)
		grow_alloc(&g, 2 + k % 2, k == 1 ? 4 * KIB : 64,
			   k % 5 == 3 ? H_INIT : H_BARE);
	grow_trigger(&g, 2, PMS_SEG_PAGES, 3 + 1, "split without doubling");
	grow_free(&g, 3, big); /* 4 KiB, moved to the third twin */
	grow_free(&g, 3, 1);
	grow_free(&g, 2, 0);
	for (unsigned c = 0; c < 4; c++)
		grow_alloc(&g, c, 100, H_WRITE);
	opt.tear = tear;
	wl_end();
}

/* wl_random -- a seeded random mix of every operation and size */
static void
wl_random(int scale, uint64_t seed)
{
	/* 480 per scale: the threaded workloads have the rest of CI's time */
	int nops = scale == 0 ? 60 : 480 * scale;
	int failed = 0;

	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	for (int k = 0; k < nops && !*stop_all; k++) {
		uint64_t r = rng_next(&wl_rng) % 100, n = nlive();

		if (n && (r < 42 || failed)) {
			op_free(live_at(rng_next(&wl_rng) % n));
			failed = 0;
			continue;
		}
		uint64_t sz, c = rng_next(&wl_rng) % 100;
		int how = (int)(rng_next(&wl_rng) % 5);

		if (c < 60)
			sz = 1 + rng_next(&wl_rng) % 2016;
		else if (c < 88)
			sz = 2017 + rng_next(&wl_rng) % (128 * KIB);
		else if (c < 97)
			sz = 128 * KIB + rng_next(&wl_rng) % (900 * KIB);
		else
			sz = 2 * MIB + (rng_next(&wl_rng) % 2) * 4096;
		if (sz > 256 * KIB && how != H_ZERO)
			how = H_BARE; /* keep images small */
		failed = op_alloc(sz, how) < 0;
	}
	wl_end();
}

const struct workload workloads[] = {
	{"create", "crash inside pmemstore_create (8 MiB and 72 MiB pools)",
	 wl_create},
	{"slab", "every small class (1..2016 B), slot reuse, slab page churn",
	 wl_slab},
	{"pages", "multi-page objects, page reuse, runs over freed slabs",
	 wl_pages},
	{"huge", ">= 2 MiB objects, 2 MiB aligned, ZERO/init/memcpy", wl_huge},
	{"full", "a nearly full pool: fill to ENOMEM, churn at the edge",
	 wl_full},
	{"frag", "fragmented runs and slabs, holes filled again", wl_frag},
	{"hwm", "a 72 MiB pool grown past its high-water mark", wl_hwm},
	{"xfree", "threads: cross-thread frees, slots reused by their owner",
	 wl_xfree, 1},
	{"xreuse", "threads: an owner reusing slots another thread frees",
	 wl_xreuse, 1},
	{"mtexit", "threads: objects of exited threads freed and reused",
	 wl_mtexit, 1},
	{"mtrand", "threads: a seeded random mix on several threads", wl_mtrand,
	 1},
	{"random", "a seeded random mix of every operation and size",
	 wl_random},
	/* last: the seeds of the others (seed + their place) stay */
	{"grow", "the index grows: splits, doublings, moved entries freed",
	 wl_grow},
	/* after grow, for the same reason */
	{"volatile", "persistent objects and volatile blocks on shared pages",
	 wl_volatile},
	{NULL, NULL, NULL},
};
