/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * alloc_free.c -- libpmemstore against libpmemobj: time, fences, open
 *
 * This file owns the alloc_free benchmark.  Three parts, each optional:
 *
 *   time   64-byte allocations and frees, random pre-generated UUIDs:
 *          persist_alloc + persist_free against pmemobj_alloc +
 *          pmemobj_free (the OIDs live in the root object), both in this
 *          process, runs interleaved; the median of the runs, in ns/op.
 *   count  fences and flushed cache lines per operation, at 64 B and
 *          1 MiB, from pmemstore_stats() deltas and, for both libraries,
 *          from the libpmemcount.so interposer when it is preloaded.
 *   open   create and open time of an empty sparse pool (1 TiB for
 *          pmemstore, 64 GiB for pmemobj by default), and the first
 *          allocation after the open.
 *
 * Whether the pmem path (flush + fence) or the msync path runs is decided
 * by libpmem; on /dev/shm set PMEM_IS_PMEM_FORCE=1 for the pmem path.  The
 * header of the output says which one ran.  See bench/README.md.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <libpmemobj.h>
#include <pmemstore.h>
#include <uuid/uuid.h>

#include "benchutil.h"
#include "pmemcount.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

#define SMALL 64ULL
#define LARGE MiB
#define LAYOUT "alloc_free"
#define MAX_RUNS 101

/* versions of the packages, from CMake (pkg-config for libpmemobj) */
#ifndef PMEMSTORE_VERSION_TEXT
#define PMEMSTORE_VERSION_TEXT "?"
#endif
#ifndef PMEMOBJ_VERSION_TEXT
#define PMEMOBJ_VERSION_TEXT "?"
#endif

/* command-line settings */
struct opts {
	const char *dir;	/* where the pools go */
	unsigned long count;	/* objects per timed run */
	unsigned runs;		/* timed runs (the median is reported) */
	unsigned long ncount;	/* operations per row of the count part */
	uint64_t pool_size;	/* pools of the time and count parts */
	uint64_t open_size;	/* pmemstore pool of the open part */
	uint64_t obj_open_size; /* pmemobj pool of the open part */
	int do_time, do_count, do_open;
	int keep;   /* keep the pool files */
	int random; /* time: gets and frees in a random order */
};

/* the pmemobj root object: one OID slot per object of a run */
struct root {
	uint64_t nslots;
	PMEMoid oid[];
};

static pmemcount_get_fn count_get; /* NULL without the interposer */

/* pool files this process may have made, removed by die() unless -k */
static char *made[16];
static unsigned nmade;
static int keep_pools;

/*
 * die -- print a message and exit
 */
__attribute__((format(printf, 1, 2), noreturn)) static void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("alloc_free: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	for (unsigned i = 0; i < nmade && !keep_pools; i++)
		unlink(made[i]);
	exit(1);
}

/*
 * now_ns -- monotonic time in nanoseconds
 */
static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * cmp_double -- qsort order of doubles
 */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * median -- the median of n values (sorts them in place)
 */
static double
median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* parse_size -- a byte count with an optional suffix (benchutil.c) */
static uint64_t
parse_size(const char *s)
{
	uint64_t v;

	if (bench_parse_size(s, &v))
		die("bad size '%s'", s);
	return v;
}

/*
 * human -- a size as text (power-of-two units), in a static buffer
 */
static const char *
human(uint64_t v)
{
	static char buf[4][32];
	static unsigned next;
	char *b = buf[next++ % 4];
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;
	double d = (double)v;
	while (u < 4 && d >= 1024) {
		d /= 1024;
		u++;
	}
	if (d == (double)(uint64_t)d)
		snprintf(b, sizeof(buf[0]), "%.0f %s", d, unit[u]);
	else
		snprintf(b, sizeof(buf[0]), "%.1f %s", d, unit[u]);
	return b;
}

/*
 * pool_path -- the path of a pool file in the pool directory
 */
static char *
pool_path(const struct opts *o, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/alloc_free.%ld.%s", o->dir, (long)getpid(), name) <
	    0)
		die("out of memory");
	if (nmade < sizeof(made) / sizeof(made[0]))
		made[nmade++] = p;
	return p;
}

/*
 * remove_pool -- unlink a pool file unless -k was given
 */
static void
remove_pool(const struct opts *o, const char *path)
{
	if (!o->keep && unlink(path) != 0 && errno != ENOENT)
		die("cannot remove %s: %s", path, strerror(errno));
}

/*
 * ps_create -- create a pmemstore pool, or die
 */
static struct pmemstore *
ps_create(const char *path, uint64_t size)
{
	unlink(path);
	struct pmemstore *ps = pmemstore_create(path, size, 0600);
	if (ps == NULL)
		die("pmemstore_create %s (%s): %s", path, human(size),
		    pmemstore_errormsg());
	return ps;
}

/*
 * obj_create -- create a pmemobj pool over a sparse file, or die
 *
 * The file is made with ftruncate and handed to pmemobj_create with size
 * 0, so that a pool much larger than the file system stays sparse.
 */
static PMEMobjpool *
obj_create(const char *path, uint64_t size)
{
	unlink(path);
	FILE *f = fopen(path, "wx");
	if (f == NULL)
		die("cannot create %s: %s", path, strerror(errno));
	if (ftruncate(fileno(f), (off_t)size) != 0)
		die("cannot size %s to %s: %s", path, human(size),
		    strerror(errno));
	fclose(f);
	PMEMobjpool *pop = pmemobj_create(path, LAYOUT, 0, 0600);
	if (pop == NULL)
		die("pmemobj_create %s (%s): %s", path, human(size),
		    pmemobj_errormsg());
	return pop;
}

/*
 * obj_root -- the root object with at least n OID slots, or die
 */
static struct root *
obj_root(PMEMobjpool *pop, unsigned long n)
{
	PMEMoid r =
		pmemobj_root(pop, sizeof(struct root) + n * sizeof(PMEMoid));
	if (OID_IS_NULL(r))
		die("pmemobj_root: %s", pmemobj_errormsg());
	struct root *root = pmemobj_direct(r);
	root->nslots = n;
	pmemobj_persist(pop, &root->nslots, sizeof(root->nslots));
	return root;
}

/*
 * random_ids -- n random (version 4) UUIDs
 */
static uuid_t *
random_ids(unsigned long n)
{
	uuid_t *ids = malloc(n * sizeof(uuid_t));
	if (ids == NULL)
		die("out of memory for %lu UUIDs", n);
	for (unsigned long i = 0; i < n; i++)
		uuid_generate_random(ids[i]);
	return ids;
}

/*
 * shuffled -- the indexes 0..n-1 in a random order, the same every run
 * (a fixed seed: runs of two builds free in the same order)
 */
static unsigned long *
shuffled(unsigned long n)
{
	unsigned long *v = malloc(n * sizeof(*v));
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	if (v == NULL)
		die("out of memory for %lu indexes", n);
	for (unsigned long i = 0; i < n; i++)
		v[i] = i;
	for (unsigned long i = n - 1; i > 0; i--) {
		/* splitmix64 */
		uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		unsigned long j = (unsigned long)(z % (i + 1));
		unsigned long t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
	return v;
}

/* one timed run: ns per operation of each phase */
struct run {
	double alloc, get, free, pair;
};

/*
 * run_pmemstore -- allocate n objects, look each up, free them all; the
 * lookups and frees in the order ord (NULL: the allocation order)
 */
static void
run_pmemstore(struct pmemstore *ps, uuid_t *ids, unsigned long n,
	      const unsigned long *ord, struct run *r)
{
	uint64_t t0 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (persist_alloc(ps, ids[i], SMALL, 0) == NULL)
			die("persist_alloc #%lu: %s", i, pmemstore_errormsg());
	uint64_t t1 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (persist_get(ps, ids[ord ? ord[i] : i], NULL) == NULL)
			die("persist_get #%lu: %s", i, pmemstore_errormsg());
	uint64_t t2 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (persist_free(ps, ids[ord ? ord[i] : i]) != 0)
			die("persist_free #%lu: %s", i, pmemstore_errormsg());
	uint64_t t3 = now_ns();

	r->alloc = (double)(t1 - t0) / (double)n;
	r->get = (double)(t2 - t1) / (double)n;
	r->free = (double)(t3 - t2) / (double)n;
	r->pair = r->alloc + r->free;
}

/*
 * run_pmemobj -- allocate n objects into the root's OID slots, free them
 * in the order ord (NULL: the allocation order)
 */
static void
run_pmemobj(PMEMobjpool *pop, struct root *root, unsigned long n,
	    const unsigned long *ord, struct run *r)
{
	uint64_t t0 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (pmemobj_alloc(pop, &root->oid[i], SMALL, 0, NULL, NULL))
			die("pmemobj_alloc #%lu: %s", i, pmemobj_errormsg());
	uint64_t t1 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		pmemobj_free(&root->oid[ord ? ord[i] : i]);
	uint64_t t2 = now_ns();

	r->alloc = (double)(t1 - t0) / (double)n;
	r->get = 0;
	r->free = (double)(t2 - t1) / (double)n;
	r->pair = r->alloc + r->free;
}

/*
 * print_time_row -- one row of the timing table
 */
static void
print_time_row(const char *what, double *ps, double *obj, unsigned runs)
{
	double ps_lo, ps_hi, ps_med, obj_lo = 0, obj_hi = 0, obj_med = 0;
	ps_med = median(ps, runs);
	ps_lo = ps[0];
	ps_hi = ps[runs - 1];
	if (obj != NULL) {
		obj_med = median(obj, runs);
		obj_lo = obj[0];
		obj_hi = obj[runs - 1];
	}
	printf("| %-16s | %9.0f | %6.0f-%-6.0f |", what, ps_med, ps_lo, ps_hi);
	if (obj != NULL)
		printf(" %9.0f | %6.0f-%-6.0f | %6.2f |\n", obj_med, obj_lo,
		       obj_hi, obj_med / ps_med);
	else
		printf(" %9s | %13s | %6s |\n", "-", "-", "-");
}

/*
 * part_time -- the timing comparison of 64 B alloc + free
 */
static void
part_time(const struct opts *o)
{
	char *ps_path = pool_path(o, "time.pmemstore");
	char *obj_path = pool_path(o, "time.pmemobj");
	struct pmemstore *ps = ps_create(ps_path, o->pool_size);
	PMEMobjpool *pop = obj_create(obj_path, o->pool_size);
	struct root *root = obj_root(pop, o->count);
	uuid_t *ids = random_ids(o->count);
	unsigned long *ord = o->random ? shuffled(o->count) : NULL;

	double ps_alloc[MAX_RUNS], ps_get[MAX_RUNS], ps_free[MAX_RUNS],
		ps_pair[MAX_RUNS];
	double obj_alloc[MAX_RUNS], obj_free[MAX_RUNS], obj_pair[MAX_RUNS];

	/* one untimed round each, so both start with warm pages */
	struct run r;
	run_pmemstore(ps, ids, o->count, ord, &r);
	run_pmemobj(pop, root, o->count, ord, &r);

	for (unsigned i = 0; i < o->runs; i++) {
		run_pmemstore(ps, ids, o->count, ord, &r);
		ps_alloc[i] = r.alloc;
		ps_get[i] = r.get;
		ps_free[i] = r.free;
		ps_pair[i] = r.pair;
		run_pmemobj(pop, root, o->count, ord, &r);
		obj_alloc[i] = r.alloc;
		obj_free[i] = r.free;
		obj_pair[i] = r.pair;
	}

	printf("\n## time: %lu objects of %llu B per run, median of %u runs "
	       "(after 1 warm-up run), ns/op; gets and frees in %s order\n\n",
	       o->count, SMALL, o->runs, o->random ? "a random" : "allocation");
	printf("| %-16s | %9s | %13s | %9s | %13s | %6s |\n", "operation",
	       "pmemstore", "min-max", "pmemobj", "min-max", "ratio");
	printf("|------------------|-----------|---------------|-----------|"
	       "---------------|--------|\n");
	print_time_row("alloc", ps_alloc, obj_alloc, o->runs);
	print_time_row("free", ps_free, obj_free, o->runs);
	print_time_row("alloc+free pair", ps_pair, obj_pair, o->runs);
	print_time_row("get (by UUID)", ps_get, NULL, o->runs);
	printf("\nratio = pmemobj time / pmemstore time (> 1: pmemstore "
	       "faster).\n");

	free(ord);
	free(ids);
	pmemstore_close(ps);
	pmemobj_close(pop);
	remove_pool(o, ps_path);
	remove_pool(o, obj_path);
}

/* a snapshot of both sets of counters */
struct snap {
	struct pmemstore_stats st;
	struct pmemcount pc;
};

/* per-operation sums and maxima of one row of the count table */
struct tally {
	unsigned long n;
	uint64_t fences, lines, msyncs, max_fences;
	uint64_t pc_fences, pc_lines, pc_flushes, pc_msyncs, pc_max_fences;
};

/*
 * take -- snapshot the counters (ps may be NULL: interposer only)
 */
static void
take(struct pmemstore *ps, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	if (ps != NULL && pmemstore_stats(ps, &s->st) != 0)
		die("pmemstore_stats: %s", pmemstore_errormsg());
	if (count_get != NULL)
		count_get(&s->pc);
}

/*
 * tally_add -- account one operation between snapshots a and b
 */
static void
tally_add(struct tally *t, const struct snap *a, const struct snap *b)
{
	uint64_t f = b->st.fences - a->st.fences;
	uint64_t pf = b->pc.fences - a->pc.fences;
	t->n++;
	t->fences += f;
	t->lines += b->st.flushed_lines - a->st.flushed_lines;
	t->msyncs += b->st.msyncs - a->st.msyncs;
	t->max_fences = f > t->max_fences ? f : t->max_fences;
	t->pc_fences += pf;
	t->pc_lines += b->pc.lines - a->pc.lines;
	t->pc_flushes += b->pc.flushes - a->pc.flushes;
	t->pc_msyncs += b->pc.msyncs - a->pc.msyncs;
	t->pc_max_fences = pf > t->pc_max_fences ? pf : t->pc_max_fences;
}

/*
 * per_op -- a sum divided by the operation count, as text
 */
static const char *
per_op(uint64_t sum, unsigned long n, char *buf, size_t len)
{
	double v = (double)sum / (double)n;
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%" PRIu64, (uint64_t)v);
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

/*
 * print_count_row -- one row of the count table
 *
 * stats: 1 for pmemstore rows (pmemstore_stats deltas), 0 for pmemobj.
 */
static void
print_count_row(const char *what, uint64_t size, const struct tally *t,
		int stats)
{
	char a[32], b[32], c[32], d[32], e[32], f[32], g[32];
	printf("| %-26s | %7s |", what, human(size));
	if (stats)
		printf(" %8s | %6" PRIu64 " | %8s | %8s |",
		       per_op(t->fences, t->n, a, sizeof(a)), t->max_fences,
		       per_op(t->lines, t->n, b, sizeof(b)),
		       per_op(t->msyncs, t->n, c, sizeof(c)));
	else
		printf(" %8s | %6s | %8s | %8s |", "-", "-", "-", "-");
	if (count_get != NULL)
		printf(" %8s | %6" PRIu64 " | %8s | %8s | %8s |\n",
		       per_op(t->pc_fences, t->n, d, sizeof(d)),
		       t->pc_max_fences,
		       per_op(t->pc_lines, t->n, e, sizeof(e)),
		       per_op(t->pc_flushes, t->n, f, sizeof(f)),
		       per_op(t->pc_msyncs, t->n, g, sizeof(g)));
	else
		printf(" %8s | %6s | %8s | %8s | %8s |\n", "n/a", "n/a", "n/a",
		       "n/a", "n/a");
}

/*
 * fill_init -- persist_alloc_init callback: write every byte
 */
static int
fill_init(void *ptr, size_t size, void *arg)
{
	(void)arg;
	memset(ptr, 0xa5, size);
	return 0;
}

/*
 * fill_constr -- pmemobj constructor: write every byte, persist it
 */
static int
fill_constr(PMEMobjpool *pop, void *ptr, void *arg)
{
	size_t size = *(const size_t *)arg;
	memset(ptr, 0xa5, size);
	pmemobj_persist(pop, ptr, size);
	return 0;
}

/* the pmemstore operations of the count part */
enum ps_op { OP_ALLOC, OP_ZERO, OP_INIT };

/*
 * count_pmemstore -- n allocations of one kind, n lookups, n frees
 */
static void
count_pmemstore(struct pmemstore *ps, uuid_t *ids, unsigned long n,
		uint64_t size, enum ps_op op, struct tally *alloc,
		struct tally *get, struct tally *del)
{
	struct snap a, b;
	for (unsigned long i = 0; i < n; i++) {
		void *p;
		take(ps, &a);
		if (op == OP_INIT)
			p = persist_alloc_init(ps, ids[i], size, fill_init,
					       NULL);
		else
			p = persist_alloc(ps, ids[i], size,
					  op == OP_ZERO ? PERSIST_ZERO : 0);
		take(ps, &b);
		if (p == NULL)
			die("allocation #%lu of %s: %s", i, human(size),
			    pmemstore_errormsg());
		tally_add(alloc, &a, &b);
	}
	for (unsigned long i = 0; get != NULL && i < n; i++) {
		take(ps, &a);
		void *p = persist_get(ps, ids[i], NULL);
		take(ps, &b);
		if (p == NULL)
			die("persist_get #%lu: %s", i, pmemstore_errormsg());
		tally_add(get, &a, &b);
	}
	for (unsigned long i = 0; i < n; i++) {
		take(ps, &a);
		int ret = persist_free(ps, ids[i]);
		take(ps, &b);
		if (ret != 0)
			die("persist_free #%lu: %s", i, pmemstore_errormsg());
		if (del != NULL)
			tally_add(del, &a, &b);
	}
}

/* the pmemobj operations of the count part */
enum obj_op { OBJ_ALLOC, OBJ_ZALLOC, OBJ_CONSTR };

/*
 * count_pmemobj -- n allocations of one kind into root slots, n frees
 */
static void
count_pmemobj(PMEMobjpool *pop, struct root *root, unsigned long n,
	      uint64_t size, enum obj_op op, struct tally *alloc,
	      struct tally *del)
{
	struct snap a, b;
	size_t sz = size;
	for (unsigned long i = 0; i < n; i++) {
		int ret;
		take(NULL, &a);
		if (op == OBJ_ZALLOC)
			ret = pmemobj_zalloc(pop, &root->oid[i], sz, 0);
		else if (op == OBJ_CONSTR)
			ret = pmemobj_alloc(pop, &root->oid[i], sz, 0,
					    fill_constr, &sz);
		else
			ret = pmemobj_alloc(pop, &root->oid[i], sz, 0, NULL,
					    NULL);
		take(NULL, &b);
		if (ret != 0)
			die("pmemobj allocation #%lu of %s: %s", i, human(size),
			    pmemobj_errormsg());
		tally_add(alloc, &a, &b);
	}
	for (unsigned long i = 0; i < n; i++) {
		take(NULL, &a);
		pmemobj_free(&root->oid[i]);
		take(NULL, &b);
		if (del != NULL)
			tally_add(del, &a, &b);
	}
}

/*
 * part_count -- fences and flushed lines per operation
 */
static void
part_count(const struct opts *o)
{
	char *ps_path = pool_path(o, "count.pmemstore");
	char *obj_path = pool_path(o, "count.pmemobj");
	struct pmemstore *ps = ps_create(ps_path, o->pool_size);
	PMEMobjpool *pop = obj_create(obj_path, o->pool_size);
	const uint64_t sizes[] = {SMALL, LARGE};
	unsigned long nops[2];

	printf("\n## count: fences and flushed 64 B lines per operation\n\n");
	printf("st.* = pmemstore_stats() deltas (the library's own count); "
	       "pc.* = libpmem calls\ncounted by the libpmemcount.so "
	       "interposer (outermost calls only).  fence = a drain;\nmax = "
	       "the most fences one call took; lines = 64 B cache lines "
	       "flushed;\nflush = flushing calls; msync = pmem_msync "
	       "calls.\n\n");
	printf("| %-26s | %7s | %8s | %6s | %8s | %8s | %8s | %6s | %8s | "
	       "%8s | %8s |\n",
	       "operation", "size", "st.fence", "st.max", "st.lines",
	       "st.msync", "pc.fence", "pc.max", "pc.lines", "pc.flush",
	       "pc.msync");
	printf("|----------------------------|---------|----------|--------|---"
	       "--"
	       "--"
	       "---|----------|----------|--------|----------|----------|------"
	       "-"
	       "---|\n");

	for (unsigned s = 0; s < 2; s++) {
		uint64_t size = sizes[s];
		unsigned long n = size == SMALL ? o->ncount : o->ncount / 32;
		if (n == 0)
			n = 1;
		if (n * size > o->pool_size / 4)
			n = o->pool_size / 4 / size;
		uuid_t *ids = random_ids(n);
		struct root *root = obj_root(pop, n);
		struct tally alloc = {0}, zero = {0}, init = {0}, get = {0},
			     del = {0};
		struct tally oalloc = {0}, ozero = {0}, oconstr = {0},
			     odel = {0};

		count_pmemstore(ps, ids, n, size, OP_ALLOC, &alloc, &get, &del);
		count_pmemstore(ps, ids, n, size, OP_ZERO, &zero, NULL, NULL);
		count_pmemstore(ps, ids, n, size, OP_INIT, &init, NULL, NULL);
		count_pmemobj(pop, root, n, size, OBJ_ALLOC, &oalloc, &odel);
		count_pmemobj(pop, root, n, size, OBJ_ZALLOC, &ozero, NULL);
		count_pmemobj(pop, root, n, size, OBJ_CONSTR, &oconstr, NULL);

		print_count_row("persist_alloc", size, &alloc, 1);
		print_count_row("persist_alloc PERSIST_ZERO", size, &zero, 1);
		print_count_row("persist_alloc_init", size, &init, 1);
		print_count_row("persist_free", size, &del, 1);
		print_count_row("persist_get", size, &get, 1);
		print_count_row("pmemobj_alloc", size, &oalloc, 0);
		print_count_row("pmemobj_zalloc", size, &ozero, 0);
		print_count_row("pmemobj_alloc constructor", size, &oconstr, 0);
		print_count_row("pmemobj_free", size, &odel, 0);
		nops[s] = n;
		free(ids);
	}
	printf("\noperations per row: %lu at %s, %lu at %s.\n", nops[0],
	       human(sizes[0]), nops[1], human(sizes[1]));
	if (count_get == NULL)
		printf("\ninterposer columns: n/a -- run with "
		       "LD_PRELOAD=<build>/bench/libpmemcount.so\n");

	pmemstore_close(ps);
	pmemobj_close(pop);
	remove_pool(o, ps_path);
	remove_pool(o, obj_path);
}

/*
 * disk_usage -- bytes a file occupies (allocated blocks)
 */
static uint64_t
disk_usage(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		die("stat %s: %s", path, strerror(errno));
	return (uint64_t)st.st_blocks * 512;
}

/* open part: medians of one library's runs, in ms */
struct open_times {
	double create[MAX_RUNS], open[MAX_RUNS], first[MAX_RUNS];
	uint64_t usage;
};

/*
 * open_pmemstore -- create, close, open, first alloc+free, close
 */
static void
open_pmemstore(const char *path, uint64_t size, unsigned i,
	       struct open_times *t)
{
	uuid_t id;
	uuid_generate_random(id);

	uint64_t t0 = now_ns();
	struct pmemstore *ps = ps_create(path, size);
	uint64_t t1 = now_ns();
	pmemstore_close(ps);
	t->usage = disk_usage(path);

	uint64_t t2 = now_ns();
	ps = pmemstore_open(path, 0);
	uint64_t t3 = now_ns();
	if (ps == NULL)
		die("pmemstore_open %s: %s", path, pmemstore_errormsg());
	if (persist_alloc(ps, id, SMALL, 0) == NULL)
		die("persist_alloc: %s", pmemstore_errormsg());
	uint64_t t4 = now_ns();
	if (persist_free(ps, id) != 0)
		die("persist_free: %s", pmemstore_errormsg());
	pmemstore_close(ps);

	t->create[i] = (double)(t1 - t0) / 1e6;
	t->open[i] = (double)(t3 - t2) / 1e6;
	t->first[i] = (double)(t4 - t3) / 1e6;
}

/*
 * open_pmemobj -- create, close, open, first alloc+free, close
 */
static void
open_pmemobj(const char *path, uint64_t size, unsigned i, struct open_times *t)
{
	uint64_t t0 = now_ns();
	PMEMobjpool *pop = obj_create(path, size);
	uint64_t t1 = now_ns();
	pmemobj_close(pop);
	t->usage = disk_usage(path);

	uint64_t t2 = now_ns();
	pop = pmemobj_open(path, LAYOUT);
	uint64_t t3 = now_ns();
	if (pop == NULL)
		die("pmemobj_open %s: %s", path, pmemobj_errormsg());
	PMEMoid oid;
	if (pmemobj_alloc(pop, &oid, SMALL, 0, NULL, NULL) != 0)
		die("pmemobj_alloc: %s", pmemobj_errormsg());
	uint64_t t4 = now_ns();
	pmemobj_free(&oid);
	pmemobj_close(pop);

	t->create[i] = (double)(t1 - t0) / 1e6;
	t->open[i] = (double)(t3 - t2) / 1e6;
	t->first[i] = (double)(t4 - t3) / 1e6;
}

/*
 * print_open_row -- one row of the open table
 */
static void
print_open_row(const char *what, uint64_t size, struct open_times *t,
	       unsigned runs)
{
	printf("| %-9s | %8s | %10.3f | %10.3f | %10.3f | %10s |\n", what,
	       human(size), median(t->create, runs), median(t->open, runs),
	       median(t->first, runs), human(t->usage));
}

/*
 * obj_open_size -- the pmemobj pool size of the open part
 *
 * pmemobj_create() fallocates the whole pool, so on tmpfs a pool larger
 * than the free memory fails.  Cap the size at half of the space free in
 * the directory, in whole GiB (0 when not even 1 GiB fits).
 */
static uint64_t
obj_open_size(const struct opts *o)
{
	struct statvfs vfs;
	uint64_t size = o->obj_open_size;
	if (size != 0 && statvfs(o->dir, &vfs) == 0) {
		uint64_t half = (uint64_t)vfs.f_bavail * vfs.f_frsize / 2;
		if (size > half)
			size = half / GiB * GiB;
	}
	return size;
}

/*
 * part_open -- create and open time of big empty sparse pools
 */
static void
part_open(const struct opts *o)
{
	char *ps_path = pool_path(o, "open.pmemstore");
	char *obj_path = pool_path(o, "open.pmemobj");
	struct open_times *ps = calloc(1, sizeof(*ps));
	struct open_times *obj = calloc(1, sizeof(*obj));
	uint64_t obj_size = obj_open_size(o);
	if (ps == NULL || obj == NULL)
		die("out of memory");

	for (unsigned i = 0; i < o->runs; i++) {
		open_pmemstore(ps_path, o->open_size, i, ps);
		unlink(ps_path);
		if (obj_size != 0) {
			open_pmemobj(obj_path, obj_size, i, obj);
			unlink(obj_path);
		}
	}

	printf("\n## open: empty sparse pools, median of %u runs, ms\n\n",
	       o->runs);
	printf("| %-9s | %8s | %10s | %10s | %10s | %10s |\n", "library",
	       "pool", "create", "open", "1st alloc", "disk use");
	printf("|-----------|----------|------------|------------|------------"
	       "|------------|\n");
	print_open_row("pmemstore", o->open_size, ps, o->runs);
	if (obj_size != 0)
		print_open_row("pmemobj", obj_size, obj, o->runs);
	printf("\n1st alloc = the first 64 B allocation after the open; disk "
	       "use = blocks of the\nfile after create + close.\n");
	if (obj_size != o->obj_open_size)
		printf("pmemobj: %s asked, %s used: pmemobj_create fallocates "
		       "the whole pool and\n%s has room for less.\n",
		       human(o->obj_open_size), human(obj_size), o->dir);

	if (o->keep) {
		/* leave one pool of each behind for inspection */
		open_pmemstore(ps_path, o->open_size, 0, ps);
		if (obj_size != 0)
			open_pmemobj(obj_path, obj_size, 0, obj);
	}
	free(ps);
	free(obj);
}

/*
 * print_header -- what ran, and on which durability path
 */
static void
print_header(const struct opts *o)
{
	/* a throw-away pool tells which path libpmem takes in this dir */
	char *path = pool_path(o, "probe");
	struct pmemstore *ps = ps_create(path, PMEMSTORE_MIN_POOL);
	int is_pmem = pmemstore_is_pmem(ps);
	pmemstore_close(ps);
	unlink(path);

	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	printf("# alloc_free: libpmemstore %s vs libpmemobj %s\n\n",
	       PMEMSTORE_VERSION_TEXT, PMEMOBJ_VERSION_TEXT);
	printf("- pools in: %s (pool size %s)\n", o->dir, human(o->pool_size));
	printf("- PMEM_IS_PMEM_FORCE=%s\n", force ? force : "(unset)");
	printf("- pmemstore_is_pmem() = %d: %s\n", is_pmem,
	       is_pmem ? "pmem path (cache-line flush + fence)"
		       : "msync path (fences stay 0, msyncs count)");
	printf("- interposer (libpmemcount.so): %s\n",
	       count_get ? "loaded" : "not loaded (n/a)");
}

/*
 * usage -- the command line
 */
static void
usage(FILE *f)
{
	fprintf(f,
		"usage: alloc_free [-d DIR] [-n COUNT] [-r RUNS] [-c COUNT] "
		"[-p SIZE] [-o ORDER]\n"
		"                  [-s SIZE] [-S SIZE] [-k] [time] [count] "
		"[open]\n"
		"  time       64 B alloc/free: pmemstore vs pmemobj, ns/op\n"
		"  count      fences and flushed lines per operation\n"
		"  open       create/open time of empty sparse pools\n"
		"             (default: all three)\n"
		"  -d DIR     directory for the pools (default /dev/shm)\n"
		"  -n COUNT   objects per timed run (default 100000)\n"
		"  -r RUNS    runs; the median is reported (default 5)\n"
		"  -c COUNT   operations per row of the count part "
		"(default 1024)\n"
		"  -p SIZE    pools of the time and count parts (default 1G)\n"
		"  -o ORDER   time: gets and frees in allocation order (seq,\n"
		"             the default) or a random one (random)\n"
		"  -s SIZE    pmemstore pool of the open part (default 1T)\n"
		"  -S SIZE    pmemobj pool of the open part (default 64G, 0 = "
		"skip)\n"
		"  -k         keep the pool files\n"
		"Set PMEM_IS_PMEM_FORCE=1 for the pmem path on /dev/shm; "
		"preload "
		"libpmemcount.so\nfor the interposer columns.\n");
}

/*
 * main -- parse the command line, run the chosen parts
 */
int
main(int argc, char *argv[])
{
	struct opts o = {
		.dir = NULL,
		.count = 100000,
		.runs = 5,
		.ncount = 1024,
		.pool_size = GiB,
		.open_size = TiB,
		.obj_open_size = 64 * GiB,
	};
	int c;
	while ((c = getopt(argc, argv, "d:n:r:c:p:s:S:o:kh")) != -1) {
		switch (c) {
		case 'd':
			o.dir = optarg;
			break;
		case 'n':
			o.count = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o.runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			o.ncount = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			o.pool_size = parse_size(optarg);
			break;
		case 's':
			o.open_size = parse_size(optarg);
			break;
		case 'S':
			o.obj_open_size = parse_size(optarg);
			break;
		case 'o':
			if (strcmp(optarg, "random") == 0)
				o.random = 1;
			else if (strcmp(optarg, "seq") == 0)
				o.random = 0;
			else
				die("-o takes seq or random, not \"%s\"",
				    optarg);
			break;
		case 'k':
			o.keep = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "time") == 0)
			o.do_time = 1;
		else if (strcmp(argv[i], "count") == 0)
			o.do_count = 1;
		else if (strcmp(argv[i], "open") == 0)
			o.do_open = 1;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!o.do_time && !o.do_count && !o.do_open)
		o.do_time = o.do_count = o.do_open = 1;
	if (o.count == 0 || o.runs == 0 || o.runs > MAX_RUNS || o.ncount == 0)
		die("COUNT must be > 0 and RUNS in 1..%d", MAX_RUNS);
	keep_pools = o.keep;
	if (o.dir == NULL) {
		struct stat st;
		o.dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)
				? "/dev/shm"
				: ".";
	}

	count_get = (pmemcount_get_fn)dlsym(RTLD_DEFAULT, PMEMCOUNT_GET_SYMBOL);

	print_header(&o);
	if (o.do_time)
		part_time(&o);
	if (o.do_count)
		part_count(&o);
	if (o.do_open)
		part_open(&o);
	return 0;
}
