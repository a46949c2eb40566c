/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * openbench.c -- pool open time against object count, pool size and crash
 *
 * This file owns the openbench benchmark.  Three modes, each optional:
 *
 *   count  for each N of a list: a pool with N live 64-byte objects under
 *          random UUIDs, filled by several threads, closed cleanly; then R
 *          times pmemstore_open + persist_get of one random object
 *          (reading its first bytes), timed together; the median in ms,
 *          the growth of VmRSS across the open per object, and the pages
 *          the pool uses (and, where the header has it, the pages of the
 *          on-media index) per object.  The peer is libpmemobj in the same
 *          run: the same N objects with their OIDs in an array in the root
 *          object, pmemobj_open + one object reached through its OID.
 *   size   nearly empty sparse pools (1 GiB .. 1 TiB, 1000 objects each):
 *          open + first get; pmemstore only (pmemobj_create fallocates its
 *          whole pool).
 *   crash  a child process fills a pool, then allocates and frees in a
 *          loop with several threads and is killed with SIGKILL; the first
 *          open + get after each kill is timed, R kills per N, and compared
 *          with opens of the same pool after a clean close.
 *
 * Whether the pmem path (flush + fence) or the msync path runs is decided
 * by libpmem; on a tmpfs, where the msync path would be chosen, openbench
 * sets PMEM_IS_PMEM_FORCE=1 unless it is set (as scripts/bench.sh does).
 * The header of the output says which path ran.  See bench/README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpmemobj.h>
#include <pmemstore.h>
#include <uuid/uuid.h>

#include "benchutil.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

#define OBJ_SIZE 64		 /* every object of the benchmark */
#define SIZE_OBJECTS 1000	 /* objects in each pool of the size mode */
#define MAX_RUNS 101		 /* most -r */
#define MAX_LIST 32		 /* most entries of -n and -s */
#define CHURN_RING 16		 /* live objects of one looping thread */
#define CHURN_READY 100		 /* loop steps per thread before the signal */
#define TMPFS_MAGIC_ 0x01021994L /* statfs f_type of a tmpfs */
#define LAYOUT "openbench"

/* streams of UUIDs: the object k of stream s is make_id(s, k) */
#define STREAM_FILL 1ULL /* the N objects of count and crash pools */
#define STREAM_SIZE 2ULL /* the objects of the size mode's pools */
/* the crash loop's: STREAM_CHURN | cycle << 16 | thread */
#define STREAM_CHURN (3ULL << 56)

/* versions of the packages, from CMake (pkg-config for libpmemobj) */
#ifndef PMEMSTORE_VERSION_TEXT
#define PMEMSTORE_VERSION_TEXT "?"
#endif
#ifndef PMEMOBJ_VERSION_TEXT
#define PMEMOBJ_VERSION_TEXT "?"
#endif

/* command-line settings */
struct opts {
	const char *dir;	   /* where the pools go */
	uint64_t counts[MAX_LIST]; /* N of the count and crash modes */
	unsigned ncounts;	   /* 0: each mode's default */
	uint64_t sizes[MAX_LIST];  /* pools of the size mode */
	unsigned nsizes;
	unsigned runs;	    /* timed opens (median) per row */
	unsigned threads;   /* fill and loop threads */
	unsigned kill_ms;   /* crash: ms in the loop before the kill */
	uint64_t obj_bytes; /* pmemstore pool bytes per object (-b) */
	const char *csv;    /* -o FILE, or NULL */
	int with_pmemobj;   /* -P pmemobj (1) or none (0) */
	int do_count, do_size, do_crash;
};

/* timed values of one row, one per run */
struct series {
	double v[MAX_RUNS];
	unsigned n;
};

/* one row of a table: one library, one N or pool size */
struct result {
	const char *peer;
	uint64_t n;	     /* live objects the benchmark made */
	uint64_t pool_bytes; /* the pool size asked for */
	double fill_s;	     /* seconds to make the N objects, < 0: none */
	struct series total; /* open + get, ms */
	struct series open;  /* open alone, ms */
	struct series rss;   /* VmRSS growth, bytes */
	struct series anon;  /* RssAnon growth, bytes */
	int64_t pages_used;  /* pmemstore_stats() after the open, -1: n/a */
	int64_t index_pages; /* ditto, -1: not in the header */
};

/* the pmemobj root object: one OID per object */
struct obj_root {
	uint64_t n;
	PMEMoid oid[];
};

/* a thread of a fill: objects [from, to) of the fill stream */
struct filler {
	pthread_t tid;
	struct pmemstore *ps;  /* pmemstore fill, or */
	PMEMobjpool *pop;      /* pmemobj fill into */
	struct obj_root *root; /* the root's OID slots */
	uint64_t from, to;
	char err[256]; /* first failure, "" if none */
};

/* a looping thread of a crash child */
struct churner {
	pthread_t tid;
	struct pmemstore *ps;
	uint64_t stream;
	_Atomic uint64_t steps; /* free + alloc steps done */
};

/* what a crash child sends once it is in the loop */
struct ready_msg {
	uint64_t fill_ns; /* fill time (first cycle), else 0 */
};

static FILE *csv;	 /* -o FILE */
static int in_child;	 /* a crash child: die() only exits */
static int is_pmem = -1; /* pmemstore_is_pmem() of the probe pool */
static int force_set;	 /* openbench set PMEM_IS_PMEM_FORCE */
static uint64_t rng = 1; /* the random choices of the parent */

/* pool files this process may have made, removed by die() */
static char *made[16];
static volatile sig_atomic_t nmade;
static int midline; /* stderr has a progress line without its end */

/*
 * die -- print a message, remove the pools and exit (a child only exits)
 */
__attribute__((format(printf, 1, 2), noreturn)) static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (midline)
		fputc('\n', stderr);
	fprintf(stderr, "openbench%s: ", in_child ? " (child)" : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (in_child)
		_exit(1);
	for (unsigned i = 0; i < (unsigned)nmade; i++)
		unlink(made[i]);
	exit(1);
}

/*
 * on_signal -- SIGINT, SIGTERM, SIGHUP: remove the pools, then die of the
 * signal (a 10 M run has gigabytes of them in a tmpfs)
 */
static void
on_signal(int sig)
{
	if (!in_child)
		for (unsigned i = 0; i < (unsigned)nmade; i++)
			unlink(made[i]);
	signal(sig, SIG_DFL);
	raise(sig);
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
 * ms -- nanoseconds as milliseconds
 */
static double
ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/*
 * sleep_ms -- sleep for a number of milliseconds
 */
static void
sleep_ms(unsigned n)
{
	struct timespec ts = {.tv_sec = n / 1000,
			      .tv_nsec = (long)(n % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
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
 * add -- append one value to a series
 */
static void
add(struct series *s, double v)
{
	if (s->n < MAX_RUNS)
		s->v[s->n++] = v;
}

/*
 * sorted -- a sorted copy of a series' values (into buf)
 */
static const double *
sorted(const struct series *s, double *buf)
{
	memcpy(buf, s->v, s->n * sizeof(double));
	qsort(buf, s->n, sizeof(double), cmp_double);
	return buf;
}

/*
 * med -- the median of a series (0 when empty)
 */
static double
med(const struct series *s)
{
	double buf[MAX_RUNS];
	const double *v = sorted(s, buf);

	if (s->n == 0)
		return 0;
	return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

/*
 * lo -- the smallest value of a series (0 when empty)
 */
static double
lo(const struct series *s)
{
	double buf[MAX_RUNS];

	return s->n ? sorted(s, buf)[0] : 0;
}

/*
 * hi -- the largest value of a series (0 when empty)
 */
static double
hi(const struct series *s)
{
	double buf[MAX_RUNS];

	return s->n ? sorted(s, buf)[s->n - 1] : 0;
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
 * mix64 -- a bijection of 64-bit words that looks random (splitmix64's
 * finalizer)
 */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * make_id -- the UUID of object k of a stream: random-looking (version 4
 * bits set), the same every time, distinct for distinct (stream, k)
 */
static void
make_id(uint64_t stream, uint64_t k, uuid_t id)
{
	uint64_t a = mix64(k ^ mix64(stream));
	uint64_t b = mix64(a ^ mix64(~stream));

	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

/*
 * pick -- a random number in [0, n) from the parent's generator
 */
static uint64_t
pick(uint64_t n)
{
	rng += 0x9e3779b97f4a7c15ULL;
	return mix64(rng) % n;
}

/*
 * read_rss -- VmRSS and RssAnon of this process, in bytes
 */
static void
read_rss(uint64_t *rss, uint64_t *anon)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long kb;

	*rss = *anon = 0;
	if (f == NULL)
		die("cannot open /proc/self/status: %s", strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			*rss = kb * KiB;
		else if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			*anon = kb * KiB;
	}
	fclose(f);
}

/*
 * pool_path -- the path of a pool file in the pool directory
 */
static char *
pool_path(const struct opts *o, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/openbench.%ld.%s", o->dir, (long)getpid(), name) <
	    0)
		die("out of memory");
	if (nmade < (sig_atomic_t)(sizeof(made) / sizeof(made[0]))) {
		made[nmade] = p;
		nmade = nmade + 1; /* after the store: on_signal may read it */
	}
	return p;
}

/*
 * remove_pool -- unlink a pool file
 */
static void
remove_pool(const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT)
		die("cannot remove %s: %s", path, strerror(errno));
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

/*
 * dir_free -- bytes free in the pool directory (0 if unknown)
 */
static uint64_t
dir_free(const struct opts *o)
{
	struct statvfs vfs;

	if (statvfs(o->dir, &vfs) != 0)
		return 0;
	return (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

/*
 * ps_pool_size -- the pmemstore pool for n objects of 64 B: -b bytes per
 * object (default 160) and 64 MiB, rounded up to a MiB.  The data pages
 * alone take 97.5 B per object (42 slots of a 64 B slab page); the rest is
 * room for what the pool may keep per object besides (an on-media index).
 * The pool is sparse: the size asked for costs nothing until used.
 */
static uint64_t
ps_pool_size(const struct opts *o, uint64_t n)
{
	return (n * o->obj_bytes + 64 * MiB + MiB - 1) / MiB * MiB;
}

/*
 * obj_pool_size -- the pmemobj pool for n objects of 64 B: three times
 * the live bytes, 144 B per OID slot (the root's and the allocator's own)
 * and 32 MiB, rounded up to a MiB (allocbench sizes its pools the same)
 */
static uint64_t
obj_pool_size(uint64_t n)
{
	return (n * (3 * OBJ_SIZE + 144) + 32 * MiB + MiB - 1) / MiB * MiB;
}

/*
 * ps_create -- create a pmemstore pool, or die
 */
static struct pmemstore *
ps_create(const char *path, uint64_t size)
{
	struct pmemstore *ps;

	unlink(path);
	ps = pmemstore_create(path, size, 0600);
	if (ps == NULL)
		die("pmemstore_create %s (%s): %s", path, human(size),
		    pmemstore_errormsg());
	return ps;
}

/*
 * init_obj -- persist_alloc_init callback: the object's index k (arg) in
 * its first 8 bytes, zeros after
 */
static int
init_obj(void *ptr, size_t size, void *arg)
{
	memset(ptr, 0, size);
	memcpy(ptr, arg, sizeof(uint64_t));
	return 0;
}

/*
 * constr_obj -- pmemobj constructor: as init_obj, and persisted
 */
static int
constr_obj(PMEMobjpool *pop, void *ptr, void *arg)
{
	memset(ptr, 0, OBJ_SIZE);
	memcpy(ptr, arg, sizeof(uint64_t));
	pmemobj_persist(pop, ptr, OBJ_SIZE);
	return 0;
}

/*
 * fill_ps -- thread: allocate the objects [from, to) of the fill stream
 */
static void *
fill_ps(void *arg)
{
	struct filler *f = arg;
	uuid_t id;

	for (uint64_t k = f->from; k < f->to; k++) {
		make_id(STREAM_FILL, k, id);
		if (persist_alloc_init(f->ps, id, OBJ_SIZE, init_obj, &k) ==
		    NULL) {
			int e = errno;

			snprintf(f->err, sizeof(f->err),
				 "persist_alloc_init of object %" PRIu64
				 ": %s%s",
				 k, pmemstore_errormsg(),
				 e == ENOMEM || e == ENOSPC
					 ? " (pool full: -b?)"
					 : "");
			break;
		}
	}
	return NULL;
}

/*
 * fill_obj -- thread: pmemobj objects [from, to) into the root's slots
 */
static void *
fill_obj(void *arg)
{
	struct filler *f = arg;

	for (uint64_t k = f->from; k < f->to; k++) {
		if (pmemobj_alloc(f->pop, &f->root->oid[k], OBJ_SIZE, 0,
				  constr_obj, &k) != 0) {
			snprintf(f->err, sizeof(f->err),
				 "pmemobj_alloc of object %" PRIu64 ": %s", k,
				 pmemobj_errormsg());
			break;
		}
	}
	return NULL;
}

/*
 * fill -- n objects made by up to `threads` threads, each its own range
 * of indices (and so of UUIDs); returns the time taken in ns
 */
static uint64_t
fill(struct pmemstore *ps, PMEMobjpool *pop, struct obj_root *root, uint64_t n,
     unsigned threads)
{
	struct filler *f;
	uint64_t t0, t1;
	unsigned t, started = 0;
	int err;

	if (threads > n)
		threads = (unsigned)n;
	if (threads == 0)
		threads = 1;
	f = calloc(threads, sizeof(*f));
	if (f == NULL)
		die("out of memory");
	t0 = now_ns();
	for (t = 0; t < threads; t++) {
		f[t].ps = ps;
		f[t].pop = pop;
		f[t].root = root;
		f[t].from = n * t / threads;
		f[t].to = n * (t + 1) / threads;
		err = pthread_create(&f[t].tid, NULL,
				     ps != NULL ? fill_ps : fill_obj, &f[t]);
		if (err != 0)
			die("pthread_create: %s", strerror(err));
		started++;
	}
	for (t = 0; t < started; t++)
		pthread_join(f[t].tid, NULL);
	t1 = now_ns();
	for (t = 0; t < started; t++)
		if (f[t].err[0] != '\0')
			die("fill: %s", f[t].err);
	free(f);
	return t1 - t0;
}

/*
 * first_word -- the first 8 bytes of an object (0 for NULL): what the
 * timed region reads of it
 */
static uint64_t
first_word(const void *p)
{
	uint64_t v = 0;

	if (p != NULL)
		memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * check_obj -- die unless the object found (p, its size and first word
 * v) is object k, 64 bytes long
 */
static void
check_obj(const void *p, size_t size, uint64_t v, uint64_t k, const char *what)
{
	if (p == NULL)
		die("%s: object %" PRIu64 " not found", what, k);
	if (size != OBJ_SIZE)
		die("%s: object %" PRIu64 " has %zu bytes, not %d", what, k,
		    size, OBJ_SIZE);
	if (v != k)
		die("%s: object %" PRIu64 " holds %" PRIu64, what, k, v);
}

/*
 * ps_open_get -- time pmemstore_open + persist_get of object k of a
 * stream (reading its first bytes); adds to r's series and returns the
 * open handle
 */
static struct pmemstore *
ps_open_get(const char *path, uint64_t stream, uint64_t k, struct result *r)
{
	uint64_t rss0, anon0, rss1, anon1, t0, t1, t2, v;
	struct pmemstore *ps;
	size_t size = 0;
	uuid_t id;
	void *p;

	make_id(stream, k, id);
	malloc_trim(0); /* what earlier opens freed is not counted twice */
	read_rss(&rss0, &anon0);
	t0 = now_ns();
	ps = pmemstore_open(path, 0);
	t1 = now_ns();
	if (ps == NULL)
		die("pmemstore_open %s: %s", path, pmemstore_errormsg());
	p = persist_get(ps, id, &size);
	v = first_word(p);
	t2 = now_ns();
	read_rss(&rss1, &anon1);
	check_obj(p, size, v, k, "persist_get after open");

	add(&r->open, ms(t1 - t0));
	add(&r->total, ms(t2 - t0));
	add(&r->rss, (double)rss1 - (double)rss0);
	add(&r->anon, (double)anon1 - (double)anon0);
	return ps;
}

/*
 * ps_pages -- pages used and index pages of an open pool into r
 */
static void
ps_pages(struct pmemstore *ps, struct result *r)
{
	struct pmemstore_stats st;

	if (pmemstore_stats(ps, &st) != 0)
		die("pmemstore_stats: %s", pmemstore_errormsg());
	r->pages_used = (int64_t)st.pages_used;
#ifdef PMEMSTORE_HAVE_INDEX_PAGES
	r->index_pages = (int64_t)st.index_pages;
#else
	r->index_pages = -1;
#endif
}

/*
 * obj_open_get -- time pmemobj_open + object k reached through the root's
 * OID slot (reading its first bytes); adds to r's series
 */
static void
obj_open_get(const char *path, uint64_t k, struct result *r)
{
	uint64_t rss0, anon0, rss1, anon1, t0, t1, t2, v;
	struct obj_root *root;
	PMEMobjpool *pop;
	PMEMoid oid;
	void *p;

	malloc_trim(0);
	read_rss(&rss0, &anon0);
	t0 = now_ns();
	pop = pmemobj_open(path, LAYOUT);
	t1 = now_ns();
	if (pop == NULL)
		die("pmemobj_open %s: %s", path, pmemobj_errormsg());
	oid = pmemobj_root(pop, sizeof(struct obj_root));
	if (OID_IS_NULL(oid))
		die("pmemobj_root: %s", pmemobj_errormsg());
	root = pmemobj_direct(oid);
	if (k >= root->n)
		die("pmemobj root has %" PRIu64 " slots, not %" PRIu64, root->n,
		    k + 1);
	p = pmemobj_direct(root->oid[k]);
	v = first_word(p);
	t2 = now_ns();
	read_rss(&rss1, &anon1);
	check_obj(p,
		  pmemobj_alloc_usable_size(root->oid[k]) >= OBJ_SIZE ? OBJ_SIZE
								      : 0,
		  v, k, "pmemobj object after open");
	pmemobj_close(pop);

	add(&r->open, ms(t1 - t0));
	add(&r->total, ms(t2 - t0));
	add(&r->rss, (double)rss1 - (double)rss0);
	add(&r->anon, (double)anon1 - (double)anon0);
}

/*
 * rule -- the line under a table's header: n columns of the given widths
 */
static void
rule(const int *widths, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		putchar('|');
		for (int j = 0; j < widths[i] + 2; j++)
			putchar('-');
	}
	puts("|");
}

/*
 * csv_row -- one line of the CSV (if -o was given)
 */
static void
csv_row(const char *mode, const struct result *r, unsigned threads, int cut)
{
	if (csv == NULL)
		return;
	fprintf(csv, "%s,%s,%" PRIu64 ",%" PRIu64 ",%u,%u,", mode, r->peer,
		r->n, r->pool_bytes, threads, r->total.n);
	if (r->fill_s >= 0)
		fprintf(csv, "%.3f", r->fill_s);
	fprintf(csv, ",%.3f,%.3f,%.3f,%.3f,%.1f,%.1f,", med(&r->total),
		lo(&r->total), hi(&r->total), med(&r->open), med(&r->rss),
		med(&r->anon));
	if (r->pages_used >= 0)
		fprintf(csv, "%" PRId64, r->pages_used);
	fputc(',', csv);
	if (r->index_pages >= 0)
		fprintf(csv, "%" PRId64, r->index_pages);
	fprintf(csv, ",%d,", is_pmem);
	if (cut >= 0)
		fprintf(csv, "%d", cut);
	fputc('\n', csv);
	fflush(csv);
}

/*
 * per_obj -- pages of a result as bytes per object, as text ("n/a" if
 * unknown)
 */
static const char *
per_obj(int64_t pages, uint64_t n, char *buf, size_t len)
{
	if (pages < 0)
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.1f", (double)pages * 4096 / (double)n);
	return buf;
}

/*
 * print_count_row -- one row of the count table
 */
static void
print_count_row(const struct result *r)
{
	char pages[32], pb[32], ib[32], fill_s[32], range[40];
	double n = (double)r->n;

	if (r->pages_used >= 0)
		snprintf(pages, sizeof(pages), "%" PRId64, r->pages_used);
	else
		snprintf(pages, sizeof(pages), "-");
	if (r->fill_s >= 0)
		snprintf(fill_s, sizeof(fill_s), "%.3f", r->fill_s);
	else
		snprintf(fill_s, sizeof(fill_s), "-");
	snprintf(range, sizeof(range), "%.3f-%.3f", lo(&r->total),
		 hi(&r->total));
	printf("| %9" PRIu64 " | %-9s | %9s | %8s | %10.3f | %19s | %8.1f | "
	       "%8.1f | %9s | %6s | %6s |\n",
	       r->n, r->peer, human(r->pool_bytes), fill_s, med(&r->total),
	       range, med(&r->rss) / n, med(&r->anon) / n, pages,
	       r->pages_used >= 0 ? per_obj(r->pages_used, r->n, pb, sizeof(pb))
				  : "-",
	       strcmp(r->peer, "pmemstore") == 0
		       ? per_obj(r->index_pages, r->n, ib, sizeof(ib))
		       : "-");
}

/*
 * count_pmemstore -- the pmemstore row of one N: fill, close, R opens
 */
static void
count_pmemstore(const struct opts *o, uint64_t n, const char *path,
		struct result *r)
{
	struct pmemstore *ps;

	r->peer = "pmemstore";
	r->n = n;
	r->pool_bytes = ps_pool_size(o, n);
	ps = ps_create(path, r->pool_bytes);
	fprintf(stderr,
		"openbench: count: pmemstore fill of %" PRIu64 " objects ...",
		n);
	midline = 1;
	r->fill_s = (double)fill(ps, NULL, NULL, n, o->threads) / 1e9;
	fprintf(stderr, " %.2f s\n", r->fill_s);
	midline = 0;
	if (pmemstore_close(ps) != 0)
		die("pmemstore_close: %s", pmemstore_errormsg());
}

/*
 * count_pmemobj -- the pmemobj pool of one N: root array, fill, close
 */
static void
count_pmemobj(const struct opts *o, uint64_t n, const char *path,
	      struct result *r)
{
	struct obj_root *root;
	PMEMobjpool *pop;
	PMEMoid oid;

	r->peer = "pmemobj";
	r->n = n;
	r->pool_bytes = obj_pool_size(n);
	unlink(path);
	pop = pmemobj_create(path, LAYOUT, r->pool_bytes, 0600);
	if (pop == NULL)
		die("pmemobj_create %s (%s): %s", path, human(r->pool_bytes),
		    pmemobj_errormsg());
	oid = pmemobj_root(pop, sizeof(*root) + n * sizeof(PMEMoid));
	if (OID_IS_NULL(oid))
		die("pmemobj_root of %" PRIu64 " slots: %s", n,
		    pmemobj_errormsg());
	root = pmemobj_direct(oid);
	root->n = n;
	pmemobj_persist(pop, &root->n, sizeof(root->n));
	fprintf(stderr,
		"openbench: count: pmemobj fill of %" PRIu64 " objects ...", n);
	midline = 1;
	r->fill_s = (double)fill(NULL, pop, root, n, o->threads) / 1e9;
	fprintf(stderr, " %.2f s\n", r->fill_s);
	midline = 0;
	pmemobj_close(pop);
}

/*
 * part_count -- open time against the number of live objects
 */
static void
part_count(const struct opts *o, const uint64_t *counts, unsigned ncounts)
{
	struct result *ps = calloc(ncounts, sizeof(*ps));
	struct result *obj = calloc(ncounts, sizeof(*obj));
	char *ps_path = pool_path(o, "count.pmemstore");
	char *obj_path = pool_path(o, "count.pmemobj");
	int *has_obj = calloc(ncounts, sizeof(*has_obj));
	unsigned i, r;

	if (ps == NULL || obj == NULL || has_obj == NULL)
		die("out of memory");
	for (i = 0; i < ncounts; i++) {
		uint64_t n = counts[i];

		count_pmemstore(o, n, ps_path, &ps[i]);
		has_obj[i] = o->with_pmemobj;
		if (has_obj[i] && obj_pool_size(n) > dir_free(o) / 2) {
			fprintf(stderr,
				"openbench: count: N = %" PRIu64
				": no pmemobj pool (%s wanted, %s free in "
				"%s)\n",
				n, human(obj_pool_size(n)), human(dir_free(o)),
				o->dir);
			has_obj[i] = 0;
		}
		if (has_obj[i])
			count_pmemobj(o, n, obj_path, &obj[i]);
		for (r = 0; r < o->runs; r++) {
			uint64_t k = pick(n);
			struct pmemstore *h =
				ps_open_get(ps_path, STREAM_FILL, k, &ps[i]);

			if (r == 0)
				ps_pages(h, &ps[i]);
			if (pmemstore_close(h) != 0)
				die("pmemstore_close: %s",
				    pmemstore_errormsg());
			if (has_obj[i])
				obj_open_get(obj_path, k, &obj[i]);
		}
		obj[i].pages_used = obj[i].index_pages = -1;
		csv_row("count", &ps[i], o->threads, -1);
		if (has_obj[i])
			csv_row("count", &obj[i], o->threads, -1);
		remove_pool(ps_path);
		remove_pool(obj_path);
	}

	printf("\n## count: open + get of one random object after a clean "
	       "close, median of %u runs\n\n",
	       o->runs);
	printf("| %9s | %-9s | %9s | %8s | %10s | %19s | %8s | %8s | %9s | "
	       "%6s | %6s |\n",
	       "N", "library", "pool", "fill s", "open+get", "min-max ms",
	       "RSS B/o", "anon B/o", "pages", "pg B/o", "ix B/o");
	rule((const int[]){9, 9, 9, 8, 10, 19, 8, 8, 9, 6, 6}, 11);
	for (i = 0; i < ncounts; i++) {
		print_count_row(&ps[i]);
		if (has_obj[i])
			print_count_row(&obj[i]);
	}
	printf("\nopen+get: ms from the open call to the first bytes of one "
	       "random object, read\nthrough persist_get (pmemstore) or its "
	       "OID in the root's array (pmemobj).\nRSS B/o, anon B/o: "
	       "growth of VmRSS and RssAnon across the open+get, per "
	       "object\n(median).  pages, pg B/o: pmemstore_stats() "
	       "pages_used after the open, and\nas bytes per object; ix B/o: "
	       "index_pages * 4096 / N (n/a: the header has no\n"
	       "PMEMSTORE_HAVE_INDEX_PAGES).  fill s: %u threads making the N "
	       "objects.\n",
	       o->threads);

	printf("\n| %9s | %13s | %13s | %12s |\n", "N", "pmemstore ms",
	       "pmemobj ms", "ratio ps/obj");
	rule((const int[]){9, 13, 13, 12}, 4);
	for (i = 0; i < ncounts; i++) {
		if (has_obj[i])
			printf("| %9" PRIu64 " | %13.3f | %13.3f | %12.2f |\n",
			       ps[i].n, med(&ps[i].total), med(&obj[i].total),
			       med(&ps[i].total) / med(&obj[i].total));
		else
			printf("| %9" PRIu64 " | %13.3f | %13s | %12s |\n",
			       ps[i].n, med(&ps[i].total), "-", "-");
	}
	printf("\nratio = pmemstore open+get / pmemobj open+get (> 1: "
	       "pmemstore slower).\n");
	free(ps);
	free(obj);
	free(has_obj);
}

/*
 * part_size -- open time of nearly empty sparse pools against their size
 */
static void
part_size(const struct opts *o)
{
	char *path = pool_path(o, "size.pmemstore");
	struct result *res = calloc(o->nsizes, sizeof(*res));
	double *create_ms = calloc(o->nsizes, sizeof(double));
	uint64_t *usage = calloc(o->nsizes, sizeof(uint64_t));
	unsigned i, r;

	if (res == NULL || create_ms == NULL || usage == NULL)
		die("out of memory");
	for (i = 0; i < o->nsizes; i++) {
		struct pmemstore *ps;
		uint64_t t0;

		res[i].peer = "pmemstore";
		res[i].n = SIZE_OBJECTS;
		res[i].pool_bytes = o->sizes[i];
		res[i].fill_s = -1;
		t0 = now_ns();
		ps = ps_create(path, o->sizes[i]);
		create_ms[i] = ms(now_ns() - t0);
		for (uint64_t k = 0; k < SIZE_OBJECTS; k++) {
			uuid_t id;

			make_id(STREAM_SIZE, k, id);
			if (persist_alloc_init(ps, id, OBJ_SIZE, init_obj,
					       &k) == NULL)
				die("persist_alloc_init in a %s pool: %s",
				    human(o->sizes[i]), pmemstore_errormsg());
		}
		if (pmemstore_close(ps) != 0)
			die("pmemstore_close: %s", pmemstore_errormsg());
		usage[i] = disk_usage(path);
		for (r = 0; r < o->runs; r++) {
			ps = ps_open_get(path, STREAM_SIZE, pick(SIZE_OBJECTS),
					 &res[i]);
			if (r == 0)
				ps_pages(ps, &res[i]);
			if (pmemstore_close(ps) != 0)
				die("pmemstore_close: %s",
				    pmemstore_errormsg());
		}
		csv_row("size", &res[i], 1, -1);
		remove_pool(path);
	}

	printf("\n## size: open + get of nearly empty sparse pools (%d "
	       "objects of %d B), median of %u runs\n\n",
	       SIZE_OBJECTS, OBJ_SIZE, o->runs);
	printf("| %9s | %10s | %9s | %10s | %10s | %19s | %9s |\n", "pool",
	       "disk use", "create ms", "open ms", "open+get", "min-max ms",
	       "RSS KiB");
	rule((const int[]){9, 10, 9, 10, 10, 19, 9}, 7);
	for (i = 0; i < o->nsizes; i++) {
		char range[40];

		snprintf(range, sizeof(range), "%.3f-%.3f", lo(&res[i].total),
			 hi(&res[i].total));
		printf("| %9s | %10s | %9.3f | %10.3f | %10.3f | %19s | %9.0f "
		       "|\n",
		       human(o->sizes[i]), human(usage[i]), create_ms[i],
		       med(&res[i].open), med(&res[i].total), range,
		       med(&res[i].rss) / KiB);
	}
	printf("\npmemstore only: pmemobj_create fallocates its whole pool, "
	       "so its open of a\nsparse pool of these sizes cannot be had "
	       "here (alloc_free's open part times a\ncapped one).  disk "
	       "use: blocks of the file after create + %d objects + "
	       "close.\nRSS KiB: growth of VmRSS across the open+get.\n",
	       SIZE_OBJECTS);
	free(res);
	free(create_ms);
	free(usage);
}

/*
 * churn -- crash child's thread: free the oldest of its ring of objects
 * and allocate a new one, forever (until the SIGKILL)
 */
static void *
churn(void *arg)
{
	struct churner *c = arg;
	uuid_t ring[CHURN_RING];

	for (uint64_t i = 0;; i++) {
		unsigned s = (unsigned)(i % CHURN_RING);

		if (i >= CHURN_RING && persist_free(c->ps, ring[s]) != 0)
			die("loop: persist_free: %s", pmemstore_errormsg());
		make_id(c->stream, i, ring[s]);
		if (persist_alloc(c->ps, ring[s], OBJ_SIZE, 0) == NULL)
			die("loop: persist_alloc: %s", pmemstore_errormsg());
		atomic_store_explicit(&c->steps, i + 1, memory_order_release);
	}
	return NULL;
}

/*
 * crash_child -- the body of a crash child: make (cycle 0) or open the
 * pool, start the looping threads, tell the parent through fd once each
 * has made CHURN_READY steps, then wait for the SIGKILL
 */
__attribute__((noreturn)) static void
crash_child(const struct opts *o, const char *path, uint64_t n, unsigned cycle,
	    int fd, pid_t parent)
{
	struct ready_msg msg = {0};
	struct churner *c;
	struct pmemstore *ps;
	unsigned t;
	int err;

	in_child = 1;
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the parent */
	if (getppid() != parent)
		_exit(1); /* it died before the prctl */
	if (cycle == 0) {
		ps = ps_create(path, ps_pool_size(o, n));
		msg.fill_ns = fill(ps, NULL, NULL, n, o->threads);
	} else {
		ps = pmemstore_open(path, 0);
		if (ps == NULL)
			die("pmemstore_open %s: %s", path,
			    pmemstore_errormsg());
	}

	c = calloc(o->threads, sizeof(*c));
	if (c == NULL)
		die("out of memory");
	for (t = 0; t < o->threads; t++) {
		c[t].ps = ps;
		c[t].stream = STREAM_CHURN | (uint64_t)cycle << 16 | t;
		atomic_init(&c[t].steps, 0);
		err = pthread_create(&c[t].tid, NULL, churn, &c[t]);
		if (err != 0)
			die("pthread_create: %s", strerror(err));
	}
	for (t = 0; t < o->threads; t++)
		while (atomic_load_explicit(&c[t].steps, memory_order_acquire) <
		       CHURN_READY)
			sleep_ms(1);
	if (write(fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		die("write to the parent: %s", strerror(errno));
	for (;;)
		pause();
}

/*
 * crash_cycle -- fork a crash child, wait for its signal, let it loop
 * kill_ms more, kill it with SIGKILL and reap it; the child's message
 */
static struct ready_msg
crash_cycle(const struct opts *o, const char *path, uint64_t n, unsigned cycle)
{
	struct ready_msg msg;
	int fds[2], status;
	ssize_t got;
	pid_t pid, parent = getpid();

	if (pipe(fds) != 0)
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	if (csv != NULL)
		fflush(csv);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		crash_child(o, path, n, cycle, fds[1], parent);
	}
	close(fds[1]);
	do
		got = read(fds[0], &msg, sizeof(msg));
	while (got < 0 && errno == EINTR);
	close(fds[0]);
	if (got != (ssize_t)sizeof(msg)) {
		waitpid(pid, &status, 0);
		die("crash child of cycle %u failed before its loop", cycle);
	}
	sleep_ms(o->kill_ms);
	if (kill(pid, SIGKILL) != 0)
		die("kill: %s", strerror(errno));
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid: %s", strerror(errno));
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		die("crash child of cycle %u ended otherwise than by SIGKILL "
		    "(status 0x%x)",
		    cycle, status);
	return msg;
}

/* the first finding of a check that no kill can leave, for the note */
static char check_odd[256];

/* what the offline check found in a killed child's pool */
struct check_tally {
	unsigned crash; /* findings a crash leaves (REPAIR fixes them) */
	unsigned other; /* findings no crash leaves */
};

/*
 * tally_finding -- pmemstore_check_report callback: count one finding
 */
static int
tally_finding(const struct pmemstore_finding *f, void *arg)
{
	struct check_tally *t = arg;

	if (f->repairable) {
		t->crash++;
	} else {
		if (t->other++ == 0 && check_odd[0] == '\0')
			snprintf(check_odd, sizeof(check_odd), "%s",
				 f->message);
	}
	return 0;
}

/*
 * left_work -- what the offline check (read-only, not timed) says of a
 * killed child's pool: 1 if it finds only what a crash leaves (an
 * operation cut short, for the next open to finish or undo), 0 if nothing
 * (the kill fell between operations), -1 if findings no crash leaves or
 * another error: the check does not understand this pool (a format newer
 * than the check)
 */
static int
left_work(const char *path)
{
	struct check_tally t = {0};

	if (pmemstore_check_report(path, 0, tally_finding, &t) == 0)
		return 0;
	if (errno == EUCLEAN && t.other == 0 && t.crash > 0)
		return 1;
	if (check_odd[0] == '\0')
		snprintf(check_odd, sizeof(check_odd), "%s",
			 pmemstore_errormsg());
	return -1;
}

/*
 * part_crash -- the first open after a SIGKILL in the middle of
 * allocations and frees, against the open after a clean close
 */
static void
part_crash(const struct opts *o, const uint64_t *counts, unsigned ncounts)
{
	char *path = pool_path(o, "crash.pmemstore");
	struct result *crash = calloc(ncounts, sizeof(*crash));
	struct result *clean = calloc(ncounts, sizeof(*clean));
	unsigned *cut = calloc(ncounts, sizeof(*cut));
	int *cut_unknown = calloc(ncounts, sizeof(*cut_unknown));
	unsigned i, r;

	if (crash == NULL || clean == NULL || cut == NULL ||
	    cut_unknown == NULL)
		die("out of memory");
	for (i = 0; i < ncounts; i++) {
		uint64_t n = counts[i];
		struct pmemstore *ps;

		crash[i].peer = clean[i].peer = "pmemstore";
		crash[i].n = clean[i].n = n;
		crash[i].pool_bytes = clean[i].pool_bytes = ps_pool_size(o, n);
		clean[i].fill_s = -1;
		unlink(path);
		fprintf(stderr, "openbench: crash: N = %" PRIu64 ", %u kills\n",
			n, o->runs);
		for (r = 0; r < o->runs; r++) {
			struct ready_msg m = crash_cycle(o, path, n, r);
			struct pmemstore_stats st;

			if (r == 0)
				crash[i].fill_s = (double)m.fill_ns / 1e9;
			switch (left_work(path)) {
			case 1:
				cut[i]++;
				break;
			case -1:
				cut_unknown[i] = 1;
				break;
			}
			ps = ps_open_get(path, STREAM_FILL, pick(n), &crash[i]);
			if (pmemstore_stats(ps, &st) != 0)
				die("pmemstore_stats: %s",
				    pmemstore_errormsg());
			if (st.objects < n)
				die("crash: %" PRIu64 " live objects after "
				    "kill %u, fewer than the %" PRIu64
				    " filled",
				    st.objects, r, n);
			if (r == 0)
				ps_pages(ps, &crash[i]);
			if (pmemstore_close(ps) != 0)
				die("pmemstore_close: %s",
				    pmemstore_errormsg());
		}
		for (r = 0; r < o->runs; r++) {
			ps = ps_open_get(path, STREAM_FILL, pick(n), &clean[i]);
			if (r == 0)
				ps_pages(ps, &clean[i]);
			if (pmemstore_close(ps) != 0)
				die("pmemstore_close: %s",
				    pmemstore_errormsg());
		}
		csv_row("crash", &crash[i], o->threads,
			cut_unknown[i] ? -1 : (int)cut[i]);
		csv_row("crash-clean", &clean[i], o->threads, -1);
		remove_pool(path);
	}

	printf("\n## crash: first open + get after a SIGKILL during "
	       "allocations and frees, %u kills\n\n",
	       o->runs);
	printf("| %9s | %9s | %8s | %7s | %10s | %10s | %10s | %10s | %7s "
	       "|\n",
	       "N", "pool", "fill s", "cut", "crash med", "crash min",
	       "crash max", "clean med", "ratio");
	rule((const int[]){9, 9, 8, 7, 10, 10, 10, 10, 7}, 9);
	for (i = 0; i < ncounts; i++) {
		char kills[32];

		if (cut_unknown[i])
			snprintf(kills, sizeof(kills), "n/a");
		else
			snprintf(kills, sizeof(kills), "%u/%u", cut[i],
				 o->runs);
		printf("| %9" PRIu64 " | %9s | %8.3f | %7s | %10.3f | "
		       "%10.3f | %10.3f | %10.3f | %7.2f |\n",
		       crash[i].n, human(crash[i].pool_bytes), crash[i].fill_s,
		       kills, med(&crash[i].total), lo(&crash[i].total),
		       hi(&crash[i].total), med(&clean[i].total),
		       med(&crash[i].total) / med(&clean[i].total));
	}
	printf("\nms of open + get of one random filled object.  Each kill: "
	       "a child makes the\npool (first kill: create + fill with %u "
	       "threads, fill s) or opens it, runs %u\nthreads each freeing "
	       "and allocating 64 B objects in a loop, and is killed %u "
	       "ms\nafter all are in the loop; the parent then opens the "
	       "pool (crash columns).\nclean med: %u opens of the same pool "
	       "after a clean close; ratio = crash med /\nclean med.  cut: "
	       "kills "
	       "after which pmemstore_check (untimed, before the\nopen) found "
	       "an operation cut short, for the open to finish or undo.\n",
	       o->threads, o->threads, o->kill_ms, o->runs);
	free(crash);
	free(clean);
	if (check_odd[0] != '\0')
		printf("cut n/a: pmemstore_check found what no kill leaves, "
		       "so it does not know\nthis pool (the opens succeeded); "
		       "the first: %s\n",
		       check_odd);
	free(cut);
	free(cut_unknown);
}

/*
 * on_tmpfs -- whether a directory is on a tmpfs
 */
static int
on_tmpfs(const char *dir)
{
	struct statfs sfs;

	return statfs(dir, &sfs) == 0 && (long)sfs.f_type == TMPFS_MAGIC_;
}

/*
 * print_header -- what runs, and on which durability path
 */
static void
print_header(const struct opts *o)
{
	/* a throw-away pool tells which path libpmem takes in this dir */
	char *path = pool_path(o, "probe");
	struct pmemstore *ps = ps_create(path, PMEMSTORE_MIN_POOL);
	const char *force = getenv("PMEM_IS_PMEM_FORCE");

	is_pmem = pmemstore_is_pmem(ps);
	pmemstore_close(ps);
	remove_pool(path);

	printf("# openbench: libpmemstore %s vs libpmemobj %s\n\n",
	       PMEMSTORE_VERSION_TEXT, PMEMOBJ_VERSION_TEXT);
	printf("- pools in: %s (%s free)\n", o->dir, human(dir_free(o)));
	printf("- PMEM_IS_PMEM_FORCE=%s%s\n", force ? force : "(unset)",
	       force_set ? " (set by openbench: the directory is a tmpfs)"
			 : "");
	printf("- pmemstore_is_pmem() = %d: %s\n", is_pmem,
	       is_pmem ? "pmem path (cache-line flush + fence)" : "msync path");
	printf("- runs %u, threads %u, pmemobj peer %s\n", o->runs, o->threads,
	       o->with_pmemobj ? "on" : "off (-P none)");
#ifdef PMEMSTORE_HAVE_INDEX_PAGES
	printf("- pmemstore_stats().index_pages: in the header\n");
#else
	printf("- pmemstore_stats().index_pages: not in the header (n/a)\n");
#endif
	fflush(stdout);
}

/*
 * usage -- the command line
 */
static void
usage(FILE *f)
{
	static const char text[] =
		"usage: openbench [-m MODES] [-n LIST] [-s LIST] [-r RUNS] "
		"[-d DIR]\n"
		"                 [-t THREADS] [-o CSV] [-P pmemobj|none] "
		"[-K MS] [-b BYTES]\n"
		"  -m MODES    count, size, crash or all, or a comma list "
		"(default all)\n"
		"  -n LIST     object counts N, comma-separated (default: "
		"count 1000,10000,\n"
		"              100000,1000000,10000000; crash "
		"1000000,10000000)\n"
		"  -s LIST     pool sizes of the size mode (default "
		"1G,16G,256G,1T)\n"
		"  -r RUNS     opens per row, the median reported; crash: "
		"kills (default 5)\n"
		"  -d DIR      directory for the pools (default /dev/shm)\n"
		"  -t THREADS  fill threads and crash loop threads (default: "
		"online CPUs)\n"
		"  -o CSV      also write the rows to CSV\n"
		"  -P PEER     the count mode's peer: pmemobj (default) or "
		"none\n"
		"  -K MS       crash: ms the loop runs before the kill "
		"(default 10)\n"
		"  -b BYTES    count and crash pools: N * BYTES + 64 MiB "
		"(default 160)\n"
		"On a tmpfs PMEM_IS_PMEM_FORCE=1 is set unless it is set "
		"(the pmem path).\n";

	fputs(text, f);
}

/*
 * parse_list -- a comma- or space-separated list of counts (sizes: with
 * K, M, G, T suffixes) into v; the number of entries
 */
static unsigned
parse_list(const char *arg, uint64_t *v, int sizes)
{
	char *copy = strdup(arg), *save = NULL, *tok, *end;
	unsigned n = 0;

	if (copy == NULL)
		die("out of memory");
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (n == MAX_LIST)
			die("at most %d entries in '%s'", MAX_LIST, arg);
		if (sizes) {
			if (bench_parse_size(tok, &v[n]) != 0 || v[n] == 0)
				die("bad size '%s'", tok);
		} else {
			errno = 0;
			v[n] = strtoull(tok, &end, 10);
			if (errno || *end != '\0' || v[n] == 0)
				die("bad count '%s'", tok);
		}
		n++;
	}
	free(copy);
	if (n == 0)
		die("empty list '%s'", arg);
	return n;
}

/*
 * parse_modes -- -m: a comma list of count, size, crash, all
 */
static void
parse_modes(const char *arg, struct opts *o)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	if (copy == NULL)
		die("out of memory");
	o->do_count = o->do_size = o->do_crash = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "count") == 0)
			o->do_count = 1;
		else if (strcmp(tok, "size") == 0)
			o->do_size = 1;
		else if (strcmp(tok, "crash") == 0)
			o->do_crash = 1;
		else if (strcmp(tok, "all") == 0)
			o->do_count = o->do_size = o->do_crash = 1;
		else
			die("unknown mode '%s' (count, size, crash, all)", tok);
	}
	free(copy);
}

/*
 * main -- parse the command line, run the chosen modes
 */
int
main(int argc, char *argv[])
{
	static const uint64_t count_default[] = {1000, 10000, 100000, 1000000,
						 10000000};
	static const uint64_t crash_default[] = {1000000, 10000000};
	struct opts o = {
		.runs = 5,
		.kill_ms = 10,
		.obj_bytes = 160,
		.with_pmemobj = 1,
		.do_count = 1,
		.do_size = 1,
		.do_crash = 1,
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char *end;
	int c;

	o.threads = cpus > 0 ? (unsigned)cpus : 1;
	o.nsizes = 4;
	o.sizes[0] = GiB;
	o.sizes[1] = 16 * GiB;
	o.sizes[2] = 256 * GiB;
	o.sizes[3] = TiB;
	while ((c = getopt(argc, argv, "m:n:s:r:d:t:o:P:K:b:h")) != -1) {
		switch (c) {
		case 'm':
			parse_modes(optarg, &o);
			break;
		case 'n':
			o.ncounts = parse_list(optarg, o.counts, 0);
			break;
		case 's':
			o.nsizes = parse_list(optarg, o.sizes, 1);
			break;
		case 'r':
			o.runs = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || o.runs == 0 || o.runs > MAX_RUNS)
				die("RUNS must be in 1..%d", MAX_RUNS);
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 't':
			o.threads = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || o.threads == 0 || o.threads > 1024)
				die("THREADS must be in 1..1024");
			break;
		case 'o':
			o.csv = optarg;
			break;
		case 'P':
			if (strcmp(optarg, "pmemobj") == 0)
				o.with_pmemobj = 1;
			else if (strcmp(optarg, "none") == 0)
				o.with_pmemobj = 0;
			else
				die("-P takes pmemobj or none");
			break;
		case 'K':
			o.kill_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0')
				die("bad -K '%s'", optarg);
			break;
		case 'b':
			o.obj_bytes = strtoull(optarg, &end, 10);
			if (*end != '\0' || o.obj_bytes == 0)
				die("bad -b '%s'", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (o.dir == NULL) {
		struct stat st;

		o.dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)
				? "/dev/shm"
				: ".";
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	/* before the first pool: libpmem reads it once per process */
	if (getenv("PMEM_IS_PMEM_FORCE") == NULL && on_tmpfs(o.dir)) {
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
		force_set = 1;
	}
	if (o.csv != NULL) {
		csv = fopen(o.csv, "w");
		if (csv == NULL)
			die("cannot write %s: %s", o.csv, strerror(errno));
		fprintf(csv, "mode,peer,n,pool_bytes,threads,runs,fill_s,"
			     "open_get_ms,open_get_ms_min,open_get_ms_max,"
			     "open_ms,rss_delta_bytes,anon_delta_bytes,"
			     "pages_used,index_pages,is_pmem,kills_cut\n");
	}

	print_header(&o);
	if (o.do_count) {
		if (o.ncounts)
			part_count(&o, o.counts, o.ncounts);
		else
			part_count(&o, count_default, 5);
	}
	if (o.do_size)
		part_size(&o);
	if (o.do_crash) {
		if (o.ncounts)
			part_crash(&o, o.counts, o.ncounts);
		else
			part_crash(&o, crash_default, 2);
	}
	if (csv != NULL && fclose(csv) != 0)
		die("cannot write %s: %s", o.csv, strerror(errno));
	return 0;
}
