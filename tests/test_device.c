/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_device.c -- the device layer (issue 10): pmemstore_info, bad
 * blocks, media errors (SIGBUS) as EIO, unsafe shutdowns
 *
 * Owns, on plain files and through the test seams of the device layer
 * (environment variables read at each create, open and check; set with
 * setenv before the call and unset after):
 *   - pmemstore_info on a plain file: backing, size, flags (RDONLY, DIRTY
 *     after a crash simulated by a forked child that _exits without
 *     closing), counts that agree with pmemstore_stats, bad arguments;
 *   - PMEMSTORE_TEST_BADBLOCKS: free pages under a bad range become BAD
 *     descriptors (persistent, above the high-water mark too, kept by
 *     REPAIR) and are never handed out, persistent or volatile; an object
 *     over a bad range stays listed, gives EIO, is a MEDIA finding of
 *     pmemstore_check, and can be freed (its pages free again, or BAD when
 *     clearing fails: PMEMSTORE_TEST_CLEAR_FAIL); a slab page with a bad
 *     range hands out no new slot;
 *   - PMEMSTORE_TEST_SIGBUS: a poisoned page under the descriptors, the
 *     index or a header gives EIO (open, lookups), not a crash, also in
 *     several threads at once; the application's own SIGBUS handler (or
 *     the default action) still gets the faults outside the library, and
 *     is in place again after the last close;
 *   - PMEMSTORE_TEST_USC: unsafe-shutdown counting, unsupported and
 *     supported; a changed count after a crash runs a full check at open
 *     whose findings info reports (and refuses the open when one is not
 *     repairable, writing nothing).
 *
 * Pool offsets of objects and blocks are their addresses minus the base
 * of the pool's mapping, read from /proc/self/maps; the test reads the
 * format (layout.h) to find data pages and descriptors in the file.
 */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"

#define POOL_SIZE (16 * MIB)
#define PAGE ((uint64_t)PMS_PAGE_SIZE)

/* ---- seams ---- */

static const char *const Seams[] = {
	"PMEMSTORE_TEST_BADBLOCKS",
	"PMEMSTORE_TEST_CLEAR_FAIL",
	"PMEMSTORE_TEST_SIGBUS",
	"PMEMSTORE_TEST_USC",
};

/* seams_clear -- unset every seam of the device layer */
static void
seams_clear(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(Seams); i++)
		unsetenv(Seams[i]);
}

/* seam_set -- set one seam to a printf-formatted value */
__attribute__((format(printf, 2, 3))) static void
seam_set(const char *name, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	CU_ASSERT_EQUAL_FATAL(setenv(name, buf, 1), 0);
}

/* ---- the format, read from a closed pool ---- */

struct geo {
	uint64_t npages, data_off, hwm, pool_size;
};

/* read_geo -- geometry from superblock A */
static struct geo
read_geo(const char *path)
{
	struct pms_super_page sp;
	struct geo g = {0};

	CU_ASSERT_EQUAL_FATAL(file_read_at(path, 0, &sp, sizeof(sp)), 0);
	g.npages = sp.sb.npages;
	g.data_off = sp.sb.data_off;
	g.hwm = sp.hwm < sp.sb.npages ? sp.hwm : sp.sb.npages;
	g.pool_size = sp.sb.pool_size;
	return g;
}

/* page_off -- pool offset of data page p */
static uint64_t
page_off(const struct geo *g, uint64_t p)
{
	return g->data_off + p * PAGE;
}

/* page_of -- data page holding pool offset off */
static uint64_t
page_of(const struct geo *g, uint64_t off)
{
	return (off - g->data_off) / PAGE;
}

/* get_desc -- descriptor of data page p, from the file */
static struct pms_desc
get_desc(const char *path, uint64_t p)
{
	struct pms_desc d = {~0ULL, ~0ULL};

	CU_ASSERT_EQUAL(
		file_read_at(path, PMS_DESC_OFF + p * sizeof(d), &d, sizeof(d)),
		0);
	return d;
}

/* put_desc -- write descriptor of data page p into the file */
static void
put_desc(const char *path, uint64_t p, uint64_t w0, uint64_t w1)
{
	struct pms_desc d = {w0, w1};

	CU_ASSERT_EQUAL(file_write_at(path, PMS_DESC_OFF + p * sizeof(d), &d,
				      sizeof(d)),
			0);
}

/* expect_bad_desc -- pages [p, p + n) have BAD descriptors (w0 5, w1 0) */
static void
expect_bad_desc(const char *path, uint64_t p, uint64_t n)
{
	for (uint64_t i = p; i < p + n; i++) {
		struct pms_desc d = get_desc(path, i);

		CU_ASSERT_EQUAL(d.w0, PMS_DESC_BAD);
		CU_ASSERT_EQUAL(d.w1, 0);
		if (d.w0 != PMS_DESC_BAD || d.w1 != 0)
			fprintf(stderr,
				"%s: page %" PRIu64 ": descriptor %#" PRIx64
				" %#" PRIx64 ", expected BAD (5, 0)\n",
				path, i, d.w0, d.w1);
	}
}

/* ---- the mapping ---- */

/*
 * pool_base -- address of pool offset 0 in this process: a mapping of the
 * pool's file in /proc/self/maps, minus its file offset; 0 when none
 */
static uintptr_t
pool_base(const char *path)
{
	char real[PATH_MAX], line[PATH_MAX + 256];
	uintptr_t base = 0;

	if (realpath(path, real) == NULL)
		return 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (f == NULL)
		return 0;
	while (base == 0 && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		char perms[8];
		char *name = strchr(line, '/');

		if (name == NULL ||
		    sscanf(line, "%lx-%lx %7s %lx", &lo, &hi, perms, &off) != 4)
			continue;
		name[strcspn(name, "\n")] = 0;
		if (strcmp(name, real) == 0)
			base = lo - off;
	}
	fclose(f);
	return base;
}

/* range list: pool offsets [lo, hi) */
struct ranges {
	unsigned n;
	uint64_t lo[8], hi[8];
};

/* ranges_add -- one more range */
static void
ranges_add(struct ranges *r, uint64_t lo, uint64_t hi)
{
	CU_ASSERT_FATAL(r->n < ARRAY_SIZE(r->lo));
	r->lo[r->n] = lo;
	r->hi[r->n] = hi;
	r->n++;
}

/* overlaps -- [off, off + len) meets one of the ranges */
static int
overlaps(const struct ranges *r, uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < r->n; i++)
		if (off < r->hi[i] && r->lo[i] < off + len)
			return 1;
	return 0;
}

/* ---- objects ---- */

struct obj {
	uuid_t id;
	size_t size;
	uint64_t off; /* pool offset of its first byte */
};

/* obj_alloc -- allocate an object of size with content, note its offset */
static int
obj_alloc(struct pmemstore *ps, uintptr_t base, struct obj *o, size_t size)
{
	test_uuid(o->id);
	o->size = size;
	void *p = persist_alloc(ps, o->id, size, 0);

	if (p == NULL) {
		fprintf(stderr, "persist_alloc %zu: %s\n", size,
			pmemstore_errormsg());
		return -1;
	}
	pattern_fill(p, size, o->id);
	persist(ps, p, size);
	o->off = (uint64_t)((uintptr_t)p - base);
	return 0;
}

/* obj_intact -- the object is there, of its size, with its content */
static int
obj_intact(struct pmemstore *ps, const struct obj *o)
{
	size_t sz = 0;
	void *p = persist_get(ps, o->id, &sz);

	if (p == NULL) {
		fprintf(stderr, "persist_get %s: %s\n", uuid_str(o->id),
			pmemstore_errormsg());
		return 0;
	}
	return sz == o->size && pattern_check(p, sz, o->id) == -1;
}

/* get_info -- pmemstore_info, asserting success */
static struct pmemstore_info
get_info(struct pmemstore *ps)
{
	struct pmemstore_info in;

	memset(&in, 0xa5, sizeof(in));
	int r = pmemstore_info(ps, &in);

	CU_ASSERT_EQUAL(r, 0);
	if (r != 0) {
		fprintf(stderr, "pmemstore_info: %s\n", pmemstore_errormsg());
		memset(&in, 0, sizeof(in));
	}
	return in;
}

/* print_info -- info in one line, for failure reports */
static void
print_info(const char *what, const struct pmemstore_info *in)
{
	fprintf(stderr,
		"%s: backing %u flags %#x size %" PRIu64 " align %" PRIu64
		" ranges %" PRIu64 " bytes %" PRIu64 " bad %" PRIu64
		" bad_used %" PRIu64 " usc %" PRIu64 " recorded %" PRIu64
		" findings %" PRIu64 " repairable %" PRIu64 "\n",
		what, in->backing, in->flags, in->pool_size, in->align,
		in->bad_ranges, in->bad_bytes, in->pages_bad,
		in->pages_bad_used, in->usc, in->usc_recorded,
		in->check_findings, in->check_repairable);
}

/* states_add_up -- the page states partition the pool's pages */
static void
states_add_up(struct pmemstore *ps)
{
	struct pmemstore_stats st = get_stats(ps);

	CU_ASSERT_EQUAL(st.pages_free + st.pages_used + st.pages_volatile +
				st.pages_bad,
			st.pages_total);
}

/* make_pool -- a closed pool holding n objects of the given size */
static char *
make_pool(const char *name, struct obj *o, unsigned n, size_t size)
{
	char *path = test_pool_path(name);
	struct pmemstore *ps = pmemstore_create(path, POOL_SIZE, 0600);

	CU_ASSERT_PTR_NOT_NULL(ps);
	if (ps == NULL)
		return path;
	uintptr_t base = pool_base(path);

	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(obj_alloc(ps, base, &o[i], size), 0);
	CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
	return path;
}

/* all_intact -- reopen without seams: every object there */
static void
all_intact(const char *path, const struct obj *o, unsigned n)
{
	seams_clear();
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

	if (ps == NULL)
		return;
	CU_ASSERT_EQUAL(get_info(ps).objects, n);
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT(obj_intact(ps, &o[i]));
	EXPECT_OK(pmemstore_close(ps));
}

/*
 * msg_number_in -- the message, the pool's path left out, holds a number
 * (decimal, or hex after 0x) in [lo, hi)
 */
static int
msg_number_in(const char *msg, const char *path, uint64_t lo, uint64_t hi)
{
	size_t skip = path ? strlen(path) : 0;

	if (msg == NULL)
		return 0;
	for (const char *c = msg; *c;) {
		if (skip && strncmp(c, path, skip) == 0) {
			c += skip;
			continue;
		}
		if (*c < '0' || *c > '9' ||
		    (c > msg &&
		     (isalnum((unsigned char)c[-1]) || c[-1] == '_'))) {
			c++;
			continue;
		}
		char *end;
		uint64_t v = (c[0] == '0' && (c[1] == 'x' || c[1] == 'X'))
				     ? strtoull(c + 2, &end, 16)
				     : strtoull(c, &end, 10);

		if (v >= lo && v < hi)
			return 1;
		c = end > c ? end : c + 1;
	}
	return 0;
}

/*
 * names_where -- the message says "bad block" or "media error", or names
 * an offset in one of the ranges
 */
static int
names_where(const char *msg, const char *path, const struct ranges *r)
{
	if (msg == NULL)
		return 0;
	if (strstr(msg, "bad block") || strstr(msg, "media error"))
		return 1;
	for (unsigned i = 0; i < r->n; i++)
		if (msg_number_in(msg, path, r->lo[i], r->hi[i]))
			return 1;
	return 0;
}

/* ---- findings ---- */

#define MAXF 64

struct fl {
	unsigned n, nonrep, media;
	unsigned kind[MAXF];
	int repairable[MAXF];
	uint64_t off[MAXF];
};

/* collect -- the report callback: keep what was reported */
static int
collect(const struct pmemstore_finding *f, void *arg)
{
	struct fl *l = arg;

	if (l->n < MAXF) {
		l->kind[l->n] = f->kind;
		l->repairable[l->n] = f->repairable;
		l->off[l->n] = f->offset;
	}
	l->nonrep += !f->repairable;
	l->media += f->kind == PMEMSTORE_FINDING_MEDIA;
	if (getenv("PMEMSTORE_TEST_VERBOSE"))
		fprintf(stderr,
			"  finding kind %u rep %d off %" PRIu64 ": %s\n",
			f->kind, f->repairable, f->offset,
			f->message ? f->message : "(null)");
	l->n++;
	return 0;
}

/* check -- pmemstore_check_report, collecting; returns (ret, errno) */
static int
check(const char *path, unsigned flags, struct fl *l, int *err)
{
	memset(l, 0, sizeof(*l));
	errno = 0;
	int r = pmemstore_check_report(path, flags, collect, l);

	*err = errno;
	return r;
}

/* expect_clean -- the closed pool checks clean, no finding at all */
static void
expect_clean(const char *path)
{
	struct fl l;
	int err;
	int r = check(path, 0, &l, &err);

	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(l.n, 0);
	if (r != 0 || l.n != 0)
		fprintf(stderr,
			"%s: expected clean, got %d (%u findings): %s\n", path,
			r, l.n, pmemstore_errormsg());
}

/* ---- crashes ---- */

/* what a crashing child does */
struct crash {
	const char *path;
	int create;	  /* create the pool (else open it) */
	const char *usc;  /* PMEMSTORE_TEST_USC in the child, or NULL */
	struct obj *objs; /* objects to allocate (ids and sizes given) */
	unsigned nobjs;
};

/* crash_child -- open or create, allocate, _exit without closing */
static int
crash_child(void *arg)
{
	struct crash *c = arg;
	struct pmemstore *ps;

	seams_clear();
	if (c->usc)
		setenv("PMEMSTORE_TEST_USC", c->usc, 1);
	ps = c->create ? pmemstore_create(c->path, POOL_SIZE, 0600)
		       : pmemstore_open(c->path, 0);
	if (ps == NULL) {
		fprintf(stderr, "child: %s: %s\n", c->path,
			pmemstore_errormsg());
		return 10;
	}
	for (unsigned i = 0; i < c->nobjs; i++) {
		struct obj *o = &c->objs[i];
		void *p = persist_alloc(ps, o->id, o->size, 0);

		if (p == NULL) {
			fprintf(stderr, "child: alloc: %s\n",
				pmemstore_errormsg());
			return 11;
		}
		pattern_fill(p, o->size, o->id);
		persist(ps, p, o->size);
	}
	return 0; /* run_in_child _exits: no close */
}

/* crash_objs -- ids and sizes for a crashing child to allocate */
static void
crash_objs(struct obj *objs, unsigned n)
{
	static const size_t sizes[] = {40, 300, 2016, 5000, 70000};

	for (unsigned i = 0; i < n; i++) {
		test_uuid(objs[i].id);
		objs[i].size = sizes[i % ARRAY_SIZE(sizes)];
	}
}

/* ======================================================================
 * info
 * ==================================================================== */

/* expect_plain_backing -- backing of a plain file, consistent with is_pmem */
static void
expect_plain_backing(struct pmemstore *ps, const struct pmemstore_info *in)
{
	int is_pmem = pmemstore_is_pmem(ps);

	if (test_dir_is_tmpfs()) {
		/* no DAX on tmpfs: forced pmem or msync */
		CU_ASSERT_EQUAL(in->backing, is_pmem ? PMEMSTORE_BACKING_FORCED
						     : PMEMSTORE_BACKING_FILE);
		CU_ASSERT_EQUAL(in->flags & PMEMSTORE_INFO_MAP_SYNC, 0);
		CU_ASSERT_EQUAL(in->device[0], 0);
	} else if (is_pmem) {
		CU_ASSERT(in->backing == PMEMSTORE_BACKING_FORCED ||
			  in->backing == PMEMSTORE_BACKING_FSDAX);
	} else {
		CU_ASSERT_EQUAL(in->backing, PMEMSTORE_BACKING_FILE);
	}
	const char *force = getenv("PMEM_IS_PMEM_FORCE");

	if (test_dir_is_tmpfs() && force != NULL && strcmp(force, "1") == 0)
		CU_ASSERT_EQUAL(in->backing, PMEMSTORE_BACKING_FORCED);
	if (test_dir_is_tmpfs() && force != NULL && strcmp(force, "0") == 0)
		CU_ASSERT_EQUAL(in->backing, PMEMSTORE_BACKING_FILE);
}

/* test_info_plain -- a plain file pool: what it is on, and its counts */
static void
test_info_plain(void)
{
	char *path = test_pool_path("dev_info");
	struct obj o[6];

	seams_clear();
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	uintptr_t base = pool_base(path);

	CU_ASSERT_FATAL(base != 0);
	struct pmemstore_info in = get_info(ps);

	expect_plain_backing(ps, &in);
	CU_ASSERT_EQUAL(in.pool_size, POOL_SIZE);
	CU_ASSERT(in.align == 4096 || in.align == 2 * MIB);
	CU_ASSERT_EQUAL(base % (in.align ? in.align : 1), 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_RDONLY, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_DIRTY, 0);
	/* on real DAX (the dax-vm guest) libndctl reads the namespace's
	 * list, empty or not; a tmpfs has none */
	if (test_dir_is_tmpfs())
		CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_BADBLOCKS, 0);
	CU_ASSERT_EQUAL(!!(in.flags & PMEMSTORE_INFO_NDCTL),
			PMEMSTORE_TEST_NDCTL);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_USC, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_UNSAFE, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_CHECKED, 0);
	CU_ASSERT(memchr(in.device, 0, sizeof(in.device)) != NULL);
	CU_ASSERT(memchr(in.region, 0, sizeof(in.region)) != NULL);
	CU_ASSERT(memchr(in.ns, 0, sizeof(in.ns)) != NULL);
	CU_ASSERT_EQUAL(in.bad_ranges, 0);
	CU_ASSERT_EQUAL(in.bad_bytes, 0);
	CU_ASSERT_EQUAL(in.pages_bad, 0);
	CU_ASSERT_EQUAL(in.pages_bad_used, 0);
	CU_ASSERT_EQUAL(in.check_findings, 0);
	CU_ASSERT_EQUAL(in.objects, 0);
	CU_ASSERT_EQUAL(in.bytes, 0);

	static const size_t sizes[] = {1, 100, 2016, 2017, 50000, 3 * MIB};
	uint64_t bytes = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(o); i++) {
		CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[i], sizes[i]), 0);
		bytes += sizes[i];
	}
	in = get_info(ps);
	struct pmemstore_stats st = get_stats(ps);

	CU_ASSERT_EQUAL(in.pages_total, st.pages_total);
	CU_ASSERT_EQUAL(in.objects, st.objects);
	CU_ASSERT_EQUAL(in.bytes, st.bytes);
	CU_ASSERT_EQUAL(in.objects, ARRAY_SIZE(o));
	CU_ASSERT_EQUAL(in.bytes, bytes);
	CU_ASSERT_EQUAL(in.pages_bad, st.pages_bad);
	CU_ASSERT_EQUAL(in.pool_size, POOL_SIZE);
	EXPECT_OK(pmemstore_close(ps));

	/* the same after a clean reopen */
	struct geo g = read_geo(path);

	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	in = get_info(ps);
	st = get_stats(ps);
	expect_plain_backing(ps, &in);
	CU_ASSERT_EQUAL(in.pages_total, g.npages);
	CU_ASSERT_EQUAL(in.pages_total, st.pages_total);
	CU_ASSERT_EQUAL(in.objects, ARRAY_SIZE(o));
	CU_ASSERT_EQUAL(in.bytes, bytes);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_DIRTY, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_RDONLY, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(o); i++)
		CU_ASSERT(obj_intact(ps, &o[i]));
	/* a freed object leaves the counts */
	EXPECT_OK(persist_free(ps, o[0].id));
	in = get_info(ps);
	CU_ASSERT_EQUAL(in.objects, ARRAY_SIZE(o) - 1);
	CU_ASSERT_EQUAL(in.bytes, bytes - sizes[0]);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* test_info_rdonly -- a read-only open says so */
static void
test_info_rdonly(void)
{
	char *path = test_pool_path("dev_rdonly");
	struct obj o;

	seams_clear();
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, pool_base(path), &o, 777), 0);
	EXPECT_OK(pmemstore_close(ps));
	ps = EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	if (ps == NULL)
		goto out;
	struct pmemstore_info in = get_info(ps);
	struct pmemstore_stats st = get_stats(ps);

	CU_ASSERT(in.flags & PMEMSTORE_INFO_RDONLY);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_DIRTY, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_MAP_SYNC, 0);
	CU_ASSERT_EQUAL(in.pool_size, POOL_SIZE);
	CU_ASSERT_EQUAL(in.objects, 1);
	CU_ASSERT_EQUAL(in.bytes, 777);
	CU_ASSERT_EQUAL(in.pages_total, st.pages_total);
	CU_ASSERT(obj_intact(ps, &o));
	EXPECT_OK(pmemstore_close(ps));
	/* and a read-write open after it does not */
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	in = get_info(ps);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_RDONLY, 0);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* test_info_dirty -- after a crash the next open says DIRTY, once */
static void
test_info_dirty(void)
{
	char *path = test_pool_path("dev_dirty");
	struct obj o[5];
	struct crash c = {path, 1, NULL, o, ARRAY_SIZE(o)};

	seams_clear();
	crash_objs(o, ARRAY_SIZE(o));
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);

	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

	if (ps == NULL)
		goto out;
	struct pmemstore_info in = get_info(ps);
	struct pmemstore_stats st = get_stats(ps);

	CU_ASSERT(in.flags & PMEMSTORE_INFO_DIRTY);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_RDONLY, 0);
	/* no device counting: a dirty open is no unsafe shutdown */
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_UNSAFE, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_CHECKED, 0);
	CU_ASSERT_EQUAL(in.objects, ARRAY_SIZE(o));
	CU_ASSERT_EQUAL(in.objects, st.objects);
	CU_ASSERT_EQUAL(in.bytes, st.bytes);
	for (unsigned i = 0; i < ARRAY_SIZE(o); i++)
		CU_ASSERT(obj_intact(ps, &o[i]));
	EXPECT_OK(pmemstore_close(ps));

	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	in = get_info(ps);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_DIRTY, 0);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* test_info_args -- NULL handle or buffer: EINVAL */
static void
test_info_args(void)
{
	char *path = test_pool_path("dev_args");
	struct pmemstore_info in;

	seams_clear();
	EXPECT_FAIL_INT(pmemstore_info(NULL, &in), EINVAL);
	EXPECT_FAIL_INT(pmemstore_info(NULL, NULL), EINVAL);
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	EXPECT_FAIL_INT(pmemstore_info(ps, NULL), EINVAL);
	CU_ASSERT(strlen(pmemstore_errormsg()) > 0);
	EXPECT_OK(pmemstore_info(ps, &in));
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* ======================================================================
 * bad blocks
 * ==================================================================== */

/* a growable list of (offset, length) */
struct blocks {
	size_t n, cap;
	uint64_t *off, *len;
};

/* blocks_add -- note one more block */
static void
blocks_add(struct blocks *b, uint64_t off, uint64_t len)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 1024;
		b->off = realloc(b->off, b->cap * sizeof(*b->off));
		b->len = realloc(b->len, b->cap * sizeof(*b->len));
		CU_ASSERT_FATAL(b->off != NULL && b->len != NULL);
	}
	b->off[b->n] = off;
	b->len[b->n] = len;
	b->n++;
}

/* blocks_free -- release the list */
static void
blocks_free(struct blocks *b)
{
	free(b->off);
	free(b->len);
	memset(b, 0, sizeof(*b));
}

/* blocks_overlapping -- how many blocks meet the bad pages */
static size_t
blocks_overlapping(const struct blocks *b, const struct ranges *bad,
		   const char *what)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (!overlaps(bad, b->off[i], b->len[i]))
			continue;
		if (n++ < 5)
			fprintf(stderr,
				"%s at pool offset %" PRIu64 " (+%" PRIu64
				") overlaps a bad page\n",
				what, b->off[i], b->len[i]);
	}
	return n;
}

/*
 * fill_volatile -- pmemstore_malloc until the pool is out of pages, large
 * blocks first; every block's pool offset and usable size noted
 */
static void
fill_volatile(struct pmemstore *ps, uintptr_t base, struct blocks *b)
{
	static const size_t sizes[] = {MIB, 100000, 12000, 3000, 200, 64};

	for (unsigned s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (unsigned k = 0; k < 1000000; k++) {
			errno = 0;
			void *p = pmemstore_malloc(ps, sizes[s]);

			if (p == NULL) {
				CU_ASSERT(errno == ENOMEM || errno == ENOSPC);
				break;
			}
			size_t us = pmemstore_malloc_usable_size(ps, p);

			memset(p, 0x5a, sizes[s]);
			blocks_add(b, (uintptr_t)p - base, us);
		}
	}
}

/*
 * fill_persistent -- persist_alloc until the pool is out of pages, large
 * objects first; every object's pool offset and size noted
 */
static void
fill_persistent(struct pmemstore *ps, uintptr_t base, struct blocks *b)
{
	static const size_t sizes[] = {MIB, 40000, 5000, 2016, 700, 64};
	uint64_t seed = test_seed() ^ 0xbadb10c;
	uuid_t id;

	for (unsigned s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (unsigned k = 0; k < 1000000; k++) {
			rnd_uuid(&seed, id);
			errno = 0;
			void *p = persist_alloc(ps, id, sizes[s], 0);

			if (p == NULL) {
				CU_ASSERT(errno == ENOMEM || errno == ENOSPC);
				if (errno != ENOMEM && errno != ENOSPC)
					fprintf(stderr, "fill: %s\n",
						pmemstore_errormsg());
				break;
			}
			blocks_add(b, (uintptr_t)p - base, sizes[s]);
		}
	}
}

/*
 * test_bb_free_pages -- bad ranges over free pages: BAD descriptors,
 * counted, never handed out (volatile or persistent), kept after a reopen
 * without the seam, and not a finding of pmemstore_check
 */
static void
test_bb_free_pages(void)
{
	char *path = test_pool_path("dev_bbfree");
	struct blocks vb = {0}, pb = {0};
	struct ranges bad = {0};

	seams_clear();
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	EXPECT_OK(pmemstore_close(ps));
	struct geo g = read_geo(path);

	CU_ASSERT_FATAL(g.npages > 2100);
	/* pages 1000..1003 (a range not on page bounds) and page 2000 */
	uint64_t r1 = page_off(&g, 1000) + 512, l1 = 3 * PAGE;
	uint64_t r2 = page_off(&g, 2000), l2 = PAGE;

	ranges_add(&bad, page_off(&g, 1000), page_off(&g, 1004));
	ranges_add(&bad, page_off(&g, 2000), page_off(&g, 2001));
	seam_set("PMEMSTORE_TEST_BADBLOCKS",
		 "%" PRIu64 ":%" PRIu64 ",%" PRIu64 ":%" PRIu64, r1, l1, r2,
		 l2);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	seams_clear();
	if (ps == NULL)
		goto out;
	uintptr_t base = pool_base(path);

	CU_ASSERT_FATAL(base != 0);
	struct pmemstore_info in = get_info(ps);
	struct pmemstore_stats st = get_stats(ps);

	CU_ASSERT(in.flags & PMEMSTORE_INFO_BADBLOCKS);
	CU_ASSERT_EQUAL(in.bad_ranges, 2);
	CU_ASSERT_EQUAL(in.bad_bytes, l1 + l2);
	CU_ASSERT_EQUAL(in.pages_bad, 5);
	CU_ASSERT_EQUAL(in.pages_bad_used, 0);
	CU_ASSERT_EQUAL(st.pages_bad, 5);
	if (in.bad_ranges != 2 || in.pages_bad != 5 || st.pages_bad != 5)
		print_info("bb_free_pages open", &in);
	states_add_up(ps);

	/* volatile blocks never land on a bad page */
	fill_volatile(ps, base, &vb);
	CU_ASSERT(vb.n > 0);
	CU_ASSERT_EQUAL(blocks_overlapping(&vb, &bad, "volatile block"), 0);
	st = get_stats(ps);
	CU_ASSERT_EQUAL(st.pages_bad, 5);
	states_add_up(ps);
	EXPECT_OK(pmemstore_close(ps));

	/* the BAD descriptors are on media, and stay without the seam */
	expect_bad_desc(path, 1000, 4);
	expect_bad_desc(path, 2000, 1);
	CU_ASSERT_EQUAL(get_desc(path, 999).w0 == PMS_DESC_BAD, 0);
	CU_ASSERT_EQUAL(get_desc(path, 1004).w0 == PMS_DESC_BAD, 0);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	base = pool_base(path);
	in = get_info(ps);
	CU_ASSERT_EQUAL(in.pages_bad, 5);
	CU_ASSERT_EQUAL(get_stats(ps).pages_bad, 5);
	/* no device, no seam: no list was read at this open */
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_BADBLOCKS, 0);
	CU_ASSERT_EQUAL(in.bad_ranges, 0);

	/* persistent objects never land on a bad page */
	fill_persistent(ps, base, &pb);
	CU_ASSERT(pb.n > 0);
	CU_ASSERT_EQUAL(blocks_overlapping(&pb, &bad, "object"), 0);
	/* nor do volatile blocks when the pool is full */
	void *v = pmemstore_malloc(ps, 64);

	if (v != NULL) {
		CU_ASSERT_FALSE(overlaps(&bad, (uintptr_t)v - base, 64));
		pmemstore_free(ps, v);
	}
	st = get_stats(ps);
	CU_ASSERT_EQUAL(st.pages_bad, 5);
	CU_ASSERT_EQUAL(st.objects, pb.n);
	states_add_up(ps);
	EXPECT_OK(pmemstore_close(ps));

	/* BAD pages are counted, not findings; with the seam too */
	expect_bad_desc(path, 1000, 4);
	expect_bad_desc(path, 2000, 1);
	expect_clean(path);
	seam_set("PMEMSTORE_TEST_BADBLOCKS",
		 "%" PRIu64 ":%" PRIu64 ",%" PRIu64 ":%" PRIu64, r1, l1, r2,
		 l2);
	expect_clean(path);
	seams_clear();
out:
	seams_clear();
	blocks_free(&vb);
	blocks_free(&pb);
	test_pool_remove(path);
}

/* test_bb_at_create -- bad blocks are read at create too */
static void
test_bb_at_create(void)
{
	char *path = test_pool_path("dev_bbcreate");
	struct ranges bad = {0};
	struct blocks pb = {0};

	seams_clear();
	/* data_off is 2 MiB for a 16 MiB pool (layout.h, spec) */
	uint64_t data_off = 2 * MIB;
	uint64_t r = data_off + 300 * PAGE, l = 2 * PAGE;

	ranges_add(&bad, r, r + l);
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":%" PRIu64, r, l);
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	seams_clear();
	if (ps == NULL)
		goto out;
	struct pmemstore_info in = get_info(ps);

	CU_ASSERT(in.flags & PMEMSTORE_INFO_BADBLOCKS);
	CU_ASSERT_EQUAL(in.bad_ranges, 1);
	CU_ASSERT_EQUAL(in.bad_bytes, l);
	CU_ASSERT_EQUAL(in.pages_bad, 2);
	CU_ASSERT_EQUAL(get_stats(ps).pages_bad, 2);
	fill_persistent(ps, pool_base(path), &pb);
	CU_ASSERT_EQUAL(blocks_overlapping(&pb, &bad, "object"), 0);
	EXPECT_OK(pmemstore_close(ps));
	CU_ASSERT_EQUAL(read_geo(path).data_off, data_off);
	expect_bad_desc(path, 300, 2);
	ps = EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	if (ps == NULL)
		goto out;
	CU_ASSERT_EQUAL(get_info(ps).pages_bad, 2);
	CU_ASSERT_EQUAL(get_stats(ps).pages_bad, 2);
	EXPECT_OK(pmemstore_close(ps));
	expect_clean(path);
out:
	seams_clear();
	blocks_free(&pb);
	test_pool_remove(path);
}

/*
 * test_bb_ranges_outside -- only ranges that overlap the pool count, and
 * only their bytes in the pool; the last page, half covered, is bad
 */
static void
test_bb_ranges_outside(void)
{
	char *path = test_pool_path("dev_bbout");

	seams_clear();
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	EXPECT_OK(pmemstore_close(ps));
	struct geo g = read_geo(path);

	CU_ASSERT_EQUAL_FATAL(page_off(&g, g.npages), POOL_SIZE);
	seam_set("PMEMSTORE_TEST_BADBLOCKS",
		 "%" PRIu64 ":4096,%" PRIu64 ":8192", (uint64_t)POOL_SIZE + MIB,
		 (uint64_t)POOL_SIZE - 2048);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	seams_clear();
	if (ps == NULL)
		goto out;
	struct pmemstore_info in = get_info(ps);

	CU_ASSERT(in.flags & PMEMSTORE_INFO_BADBLOCKS);
	CU_ASSERT_EQUAL(in.bad_ranges, 1);
	CU_ASSERT_EQUAL(in.bad_bytes, 2048);
	CU_ASSERT_EQUAL(in.pages_bad, 1);
	if (in.bad_ranges != 1 || in.bad_bytes != 2048 || in.pages_bad != 1)
		print_info("bb_ranges_outside", &in);
	EXPECT_OK(pmemstore_close(ps));
	expect_bad_desc(path, g.npages - 1, 1);
	expect_clean(path);
out:
	seams_clear();
	test_pool_remove(path);
}

/*
 * test_bb_above_hwm -- a bad page above the high-water mark of a large
 * pool stays BAD after a reopen without the seam
 */
static void
test_bb_above_hwm(void)
{
	char *path = test_pool_path("dev_bbhwm");

	seams_clear();
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 256 * MIB, 0600));

	if (ps == NULL)
		goto out;
	EXPECT_OK(pmemstore_close(ps));
	struct geo g = read_geo(path);
	uint64_t p = g.npages - 100;

	CU_ASSERT_FATAL(g.hwm < p);
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":512",
		 page_off(&g, p) + 1024);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	seams_clear();
	if (ps == NULL)
		goto out;
	CU_ASSERT_EQUAL(get_info(ps).pages_bad, 1);
	EXPECT_OK(pmemstore_close(ps));
	expect_bad_desc(path, p, 1);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	CU_ASSERT_EQUAL(get_info(ps).pages_bad, 1);
	CU_ASSERT_EQUAL(get_stats(ps).pages_bad, 1);
	EXPECT_OK(pmemstore_close(ps));
	expect_clean(path);
out:
	seams_clear();
	test_pool_remove(path);
}

/* listing of objects by foreach: which of the wanted ids were seen */
struct seen {
	const struct obj *want;
	unsigned nwant;
	int found[8];
	uint64_t count;
};

/* seen_cb -- foreach callback: count, and mark the wanted ids */
static int
seen_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	struct seen *s = arg;

	(void)ptr;
	(void)size;
	s->count++;
	for (unsigned i = 0; i < s->nwant; i++)
		if (uuid_compare(id, s->want[i].id) == 0)
			s->found[i]++;
	return 0;
}

/*
 * live_objects -- the live-object scenario of the bad-block tests: a
 * small object S alone in its slab page, a large object L of 5 pages,
 * and others in other pages, in a closed pool
 */
struct live {
	char *path;
	struct geo g;
	struct obj s, l, other[33];
	uint64_t rs, rl; /* the bad ranges (512 B) over S and L */
};

/* live_make -- create the pool of the scenario, close it */
static int
live_make(struct live *lv, const char *name)
{
	memset(lv, 0, sizeof(*lv));
	lv->path = test_pool_path(name);
	struct pmemstore *ps = pmemstore_create(lv->path, POOL_SIZE, 0600);

	CU_ASSERT_PTR_NOT_NULL(ps);
	if (ps == NULL)
		return -1;
	uintptr_t base = pool_base(lv->path);
	int r = base ? 0 : -1;

	/* 1500 B: the 2016 B class, used by no other object here */
	r |= obj_alloc(ps, base, &lv->s, 1500);
	r |= obj_alloc(ps, base, &lv->l, 5 * PAGE - 100);
	for (unsigned i = 0; i < 30; i++)
		r |= obj_alloc(ps, base, &lv->other[i], 100);
	for (unsigned i = 30; i < 33; i++)
		r |= obj_alloc(ps, base, &lv->other[i], 9000);
	CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
	CU_ASSERT_EQUAL(r, 0);
	if (r)
		return -1;
	lv->g = read_geo(lv->path);
	/* the sector holding S's first byte; a sector in L's third page */
	lv->rs = lv->s.off & ~511ULL;
	lv->rl = (lv->l.off & ~(PAGE - 1)) + 2 * PAGE + 1024;
	/* the others share no page with S or L's bad sector */
	uint64_t pgs = page_of(&lv->g, lv->rs), pl = page_of(&lv->g, lv->rl);

	for (unsigned i = 0; i < 33; i++) {
		uint64_t a = page_of(&lv->g, lv->other[i].off);
		uint64_t b = page_of(&lv->g,
				     lv->other[i].off + lv->other[i].size - 1);

		CU_ASSERT(!(a <= pgs && pgs <= b));
		CU_ASSERT(!(a <= pl && pl <= b));
	}
	CU_ASSERT_EQUAL(page_of(&lv->g, lv->l.off) + 2, pl);
	return 0;
}

/* live_seam -- set the bad-block seam over S and L */
static void
live_seam(const struct live *lv)
{
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":512,%" PRIu64 ":512",
		 lv->rs, lv->rl);
}

/* expect_eio_get -- persist_get fails with EIO and a message saying where */
static void
expect_eio_get(struct pmemstore *ps, const char *path, const struct obj *o,
	       uint64_t bad_off)
{
	struct ranges where = {0};
	size_t sz = 12345;

	/* the object, or the page of the bad range */
	ranges_add(&where, o->off, o->off + o->size);
	ranges_add(&where, bad_off & ~(PAGE - 1),
		   (bad_off & ~(PAGE - 1)) + PAGE);
	EXPECT_FAIL_PTR(persist_get(ps, o->id, &sz), EIO);
	const char *msg = pmemstore_errormsg();

	CU_ASSERT(names_where(msg, path, &where));
	if (!names_where(msg, path, &where))
		fprintf(stderr,
			"EIO message names no offset (%" PRIu64 ", %" PRIu64
			") nor a bad block: %s\n",
			bad_off, o->off, msg);
}

/*
 * expect_media_msg -- the last error names a pool offset in [lo, hi)
 * (the media error the SIGBUS seam raised)
 */
static void
expect_media_msg(const char *path, uint64_t lo, uint64_t hi)
{
	const char *msg = pmemstore_errormsg();
	int ok = msg_number_in(msg, path, lo, hi);

	CU_ASSERT(ok);
	if (!ok)
		fprintf(stderr,
			"message names no pool offset in [%" PRIu64 ", %" PRIu64
			"): %s\n",
			lo, hi, msg);
}

/*
 * bb_live -- objects over bad ranges: EIO, listed, MEDIA findings; freed,
 * their pages free again (clearing works) or BAD (clear_fail)
 */
static void
bb_live(int clear_fail)
{
	struct live lv;

	seams_clear();
	if (live_make(&lv, clear_fail ? "dev_bblive_cf" : "dev_bblive") != 0)
		goto out;
	const struct geo *g = &lv.g;
	uint64_t pgs = page_of(g, lv.rs), pgl = page_of(g, lv.rl);

	live_seam(&lv);
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(lv.path, 0));

	seams_clear();
	if (ps == NULL)
		goto out;
	struct pmemstore_info in = get_info(ps);

	CU_ASSERT(in.flags & PMEMSTORE_INFO_BADBLOCKS);
	CU_ASSERT_EQUAL(in.bad_ranges, 2);
	CU_ASSERT_EQUAL(in.bad_bytes, 1024);
	CU_ASSERT_EQUAL(in.pages_bad, 0);
	CU_ASSERT_EQUAL(in.pages_bad_used, 2);
	CU_ASSERT_EQUAL(get_stats(ps).pages_bad, in.pages_bad);
	if (in.pages_bad != 0 || in.pages_bad_used != 2)
		print_info("bb_live open", &in);
	states_add_up(ps);
	expect_eio_get(ps, lv.path, &lv.s, lv.rs);
	expect_eio_get(ps, lv.path, &lv.l, lv.rl);
	for (unsigned i = 0; i < ARRAY_SIZE(lv.other); i++)
		CU_ASSERT(obj_intact(ps, &lv.other[i]));

	/* they stay listed */
	struct obj want[2];

	want[0] = lv.s;
	want[1] = lv.l;
	struct seen sn = {want, 2, {0}, 0};

	EXPECT_OK(pmemstore_foreach(ps, seen_cb, &sn));
	CU_ASSERT_EQUAL(sn.found[0], 1);
	CU_ASSERT_EQUAL(sn.found[1], 1);
	CU_ASSERT_EQUAL(sn.count, 2 + ARRAY_SIZE(lv.other));
	CU_ASSERT_EQUAL(get_info(ps).objects, 2 + ARRAY_SIZE(lv.other));
	EXPECT_OK(pmemstore_close(ps));

	/* pmemstore_check sees them with the seam: MEDIA, not repairable */
	struct fl l;
	int err;

	live_seam(&lv);
	int r = check(lv.path, 0, &l, &err);

	seams_clear();
	CU_ASSERT_EQUAL(r, -1);
	CU_ASSERT_EQUAL(err, EUCLEAN);
	CU_ASSERT_EQUAL(l.media, 2);
	CU_ASSERT_EQUAL(l.n, 2);
	for (unsigned i = 0; i < l.n && i < MAXF; i++) {
		CU_ASSERT_EQUAL(l.kind[i], PMEMSTORE_FINDING_MEDIA);
		CU_ASSERT_EQUAL(l.repairable[i], 0);
	}
	if (l.media != 2 || l.n != 2)
		fprintf(stderr,
			"check with bad blocks over 2 objects: %d errno %d, "
			"%u findings, %u MEDIA: %s\n",
			r, err, l.n, l.media, pmemstore_errormsg());
	/* and REPAIR cannot fix them: refused, nothing written */
	uint64_t d0, s0, d1, s1;

	CU_ASSERT_EQUAL_FATAL(file_digest(lv.path, &d0, &s0), 0);
	live_seam(&lv);
	r = check(lv.path, PMEMSTORE_CHECK_REPAIR, &l, &err);
	seams_clear();
	CU_ASSERT_EQUAL(r, -1);
	CU_ASSERT_EQUAL(err, EUCLEAN);
	CU_ASSERT_EQUAL(l.media, 2);
	CU_ASSERT_EQUAL_FATAL(file_digest(lv.path, &d1, &s1), 0);
	CU_ASSERT_EQUAL(d0, d1);
	CU_ASSERT_EQUAL(s0, s1);

	/* free them: the poison is cleared, or the pages become BAD */
	live_seam(&lv);
	if (clear_fail)
		seam_set("PMEMSTORE_TEST_CLEAR_FAIL", "1");
	ps = EXPECT_PTR(pmemstore_open(lv.path, 0));
	if (ps == NULL) {
		seams_clear();
		goto out;
	}
	struct pmemstore_stats st0 = get_stats(ps);

	EXPECT_OK(persist_free(ps, lv.s.id));
	EXPECT_OK(persist_free(ps, lv.l.id));
	EXPECT_FAIL_PTR(persist_get(ps, lv.s.id, NULL), ENOENT);
	EXPECT_FAIL_PTR(persist_get(ps, lv.l.id, NULL), ENOENT);
	in = get_info(ps);
	struct pmemstore_stats st = get_stats(ps);
	/*
	 * S's page and L's third page are under the bad ranges; L's other
	 * four pages are not, and are free either way
	 */
	uint64_t want_bad = clear_fail ? 2 : 0;

	CU_ASSERT_EQUAL(in.pages_bad, want_bad);
	CU_ASSERT_EQUAL(st.pages_bad, want_bad);
	CU_ASSERT_EQUAL(in.pages_bad_used, 0);
	CU_ASSERT_EQUAL(st.pages_free, st0.pages_free + 6 - want_bad);
	if (in.pages_bad != want_bad || in.pages_bad_used != 0 ||
	    st.pages_free != st0.pages_free + 6 - want_bad)
		fprintf(stderr,
			"after freeing S (1 page) and L (5 pages), clear %s: "
			"pages_bad %" PRIu64 " (want %" PRIu64
			"), bad_used %" PRIu64 ", pages_free %" PRIu64
			" -> %" PRIu64 "\n",
			clear_fail ? "failing" : "working", in.pages_bad,
			want_bad, in.pages_bad_used, st0.pages_free,
			st.pages_free);
	states_add_up(ps);
	for (unsigned i = 0; i < ARRAY_SIZE(lv.other); i++)
		CU_ASSERT(obj_intact(ps, &lv.other[i]));
	EXPECT_OK(pmemstore_close(ps));
	seams_clear();

	if (!clear_fail) {
		/* cleared on a file: the range was punched, reads zeroes */
		uint8_t buf[512];

		CU_ASSERT_EQUAL(file_read_at(lv.path, lv.rs, buf, 512), 0);
		CU_ASSERT(mem_is(buf, 0, 512));
		CU_ASSERT_EQUAL(file_read_at(lv.path, lv.rl, buf, 512), 0);
		CU_ASSERT(mem_is(buf, 0, 512));
		CU_ASSERT(get_desc(lv.path, pgs).w0 != PMS_DESC_BAD);
		CU_ASSERT(get_desc(lv.path, pgl).w0 != PMS_DESC_BAD);
	} else {
		expect_bad_desc(lv.path, pgs, 1);
		expect_bad_desc(lv.path, pgl, 1);
	}
	/* without the seam: BAD pages stay, the rest is intact */
	ps = EXPECT_PTR(pmemstore_open(lv.path, 0));
	if (ps == NULL)
		goto out;
	in = get_info(ps);
	CU_ASSERT_EQUAL(in.pages_bad, want_bad);
	CU_ASSERT_EQUAL(in.objects, ARRAY_SIZE(lv.other));
	for (unsigned i = 0; i < ARRAY_SIZE(lv.other); i++)
		CU_ASSERT(obj_intact(ps, &lv.other[i]));
	EXPECT_OK(pmemstore_close(ps));
	expect_clean(lv.path);
out:
	seams_clear();
	test_pool_remove(lv.path);
}

/* test_bb_live_cleared -- objects over bad blocks; clearing works */
static void
test_bb_live_cleared(void)
{
	bb_live(0);
}

/* test_bb_live_clear_fails -- objects over bad blocks; clearing fails */
static void
test_bb_live_clear_fails(void)
{
	bb_live(1);
}

/*
 * test_bb_slab_page -- a bad sector in a slab page, away from its live
 * objects: they stay readable, and the page hands out no new slot
 */
static void
test_bb_slab_page(void)
{
	char *path = test_pool_path("dev_bbslab");
	struct obj o[10], more[100];

	seams_clear();
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	uintptr_t base = pool_base(path);

	CU_ASSERT_FATAL(base != 0);
	for (unsigned i = 0; i < ARRAY_SIZE(o); i++)
		CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[i], 50), 0);
	EXPECT_OK(pmemstore_close(ps));
	struct geo g = read_geo(path);
	uint64_t pg = page_of(&g, o[0].off);

	for (unsigned i = 1; i < ARRAY_SIZE(o); i++)
		CU_ASSERT_EQUAL_FATAL(page_of(&g, o[i].off), pg);
	/* a sector past the headers, under none of the ten objects */
	uint64_t bad = 0;
	struct ranges objs = {0};

	for (uint64_t s = PAGE - 512; s >= 2048; s -= 512) {
		int hit = 0;

		for (unsigned i = 0; i < ARRAY_SIZE(o); i++) {
			uint64_t a = o[i].off, b = a + o[i].size;
			uint64_t sa = page_off(&g, pg) + s;

			hit |= a < sa + 512 && sa < b;
		}
		if (!hit) {
			bad = page_off(&g, pg) + s;
			break;
		}
	}
	CU_ASSERT_FATAL(bad != 0);
	ranges_add(&objs, page_off(&g, pg), page_off(&g, pg + 1));
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":512", bad);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	seams_clear();
	if (ps == NULL)
		goto out;
	base = pool_base(path);
	struct pmemstore_info in = get_info(ps);

	CU_ASSERT_EQUAL(in.bad_ranges, 1);
	CU_ASSERT_EQUAL(in.pages_bad, 0);
	CU_ASSERT_EQUAL(in.pages_bad_used, 1);
	for (unsigned i = 0; i < ARRAY_SIZE(o); i++)
		CU_ASSERT(obj_intact(ps, &o[i]));
	/* the page had 32 free slots: none of them is handed out */
	unsigned landed = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(more); i++) {
		CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &more[i], 50), 0);
		landed += overlaps(&objs, more[i].off, more[i].size);
	}
	CU_ASSERT_EQUAL(landed, 0);
	if (landed)
		fprintf(stderr,
			"%u new objects landed in the slab page with a bad "
			"block (page %" PRIu64 ")\n",
			landed, pg);
	for (unsigned i = 0; i < ARRAY_SIZE(o); i++)
		CU_ASSERT(obj_intact(ps, &o[i]));
	EXPECT_OK(pmemstore_close(ps));
	expect_clean(path);
out:
	seams_clear();
	test_pool_remove(path);
}

/*
 * test_bb_index_page -- a bad range over the index's directory page: the
 * page is in use (the index), counted as such, never withheld as free
 */
static void
test_bb_index_page(void)
{
	struct obj o[5];

	seams_clear();
	char *path = make_pool("dev_bbindex", o, ARRAY_SIZE(o), 100);
	struct geo g = read_geo(path);
	struct pms_desc d = get_desc(path, 4);

	CU_ASSERT_EQUAL_FATAL(PMS_DESC_TYPE(d.w0), PMS_DESC_INDEX);
	CU_ASSERT_EQUAL_FATAL(PMS_DESC_INDEX_KIND(d.w0), PMS_INDEX_DIR);
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":512",
		 page_off(&g, 4) + 2048);
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

	seams_clear();
	if (ps == NULL)
		goto out;
	struct pmemstore_info in = get_info(ps);

	CU_ASSERT_EQUAL(in.bad_ranges, 1);
	CU_ASSERT_EQUAL(in.pages_bad, 0);
	CU_ASSERT_EQUAL(in.pages_bad_used, 1);
	if (in.pages_bad != 0 || in.pages_bad_used != 1)
		print_info("bb_index_page", &in);
	EXPECT_OK(pmemstore_close(ps));
	/* the directory page stays the index's */
	d = get_desc(path, 4);
	CU_ASSERT_EQUAL(PMS_DESC_TYPE(d.w0), PMS_DESC_INDEX);
	all_intact(path, o, ARRAY_SIZE(o));
out:
	seams_clear();
	test_pool_remove(path);
}

/*
 * test_bb_survive_repair -- BAD descriptors are part of the format: a
 * check and a REPAIR (of an unrelated repairable finding) keep them
 */
static void
test_bb_survive_repair(void)
{
	char *path = test_pool_path("dev_bbrepair");
	struct obj o;

	seams_clear();
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, pool_base(path), &o, 3000), 0);
	EXPECT_OK(pmemstore_close(ps));
	struct geo g = read_geo(path);

	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":%" PRIu64,
		 page_off(&g, 700), 3 * PAGE);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	seams_clear();
	if (ps == NULL)
		goto out;
	CU_ASSERT_EQUAL(get_info(ps).pages_bad, 3);
	EXPECT_OK(pmemstore_close(ps));
	expect_bad_desc(path, 700, 3);
	expect_clean(path);
	EXPECT_OK(pmemstore_check(path, PMEMSTORE_CHECK_REPAIR));
	expect_bad_desc(path, 700, 3);

	/* a repairable finding elsewhere (orphan TAILs); REPAIR keeps BAD */
	uint64_t p = g.hwm - 10;

	put_desc(path, p, PMS_DESC_TAIL_W0(1), 0);
	put_desc(path, p + 1, PMS_DESC_TAIL_W0(2), 0);
	struct fl l;
	int err;

	CU_ASSERT_EQUAL(check(path, 0, &l, &err), -1);
	CU_ASSERT_EQUAL(err, EUCLEAN);
	CU_ASSERT(l.n >= 1);
	CU_ASSERT_EQUAL(l.nonrep, 0);
	CU_ASSERT_EQUAL(check(path, PMEMSTORE_CHECK_REPAIR, &l, &err), 0);
	expect_bad_desc(path, 700, 3);
	CU_ASSERT_EQUAL(get_desc(path, p).w0, 0);
	expect_clean(path);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	CU_ASSERT_EQUAL(get_info(ps).pages_bad, 3);
	CU_ASSERT(obj_intact(ps, &o));
	EXPECT_OK(pmemstore_close(ps));
out:
	seams_clear();
	test_pool_remove(path);
}

/* ======================================================================
 * SIGBUS
 * ==================================================================== */

/*
 * expect_open_fails -- pmemstore_open must fail with err; a handle it
 * returned anyway is closed, so that the pool is not left locked
 */
static void
expect_open_fails(const char *path, unsigned flags, int err)
{
	errno = 0;
	struct pmemstore *ps = pmemstore_open(path, flags);
	int e = errno;

	CU_ASSERT_PTR_NULL(ps);
	CU_ASSERT_EQUAL(e, err);
	if (ps != NULL || e != err)
		fprintf(stderr,
			"pmemstore_open %s: got %p errno %d (%s), expected "
			"NULL errno %d (%s) [%s]\n",
			path, (void *)ps, e, strerror(e), err, strerror(err),
			pmemstore_errormsg());
	if (ps != NULL)
		pmemstore_close(ps);
}

/*
 * test_sigbus_descriptors -- the page at offset 8192 (descriptors) raises
 * SIGBUS: open fails with EIO naming the offset; the process goes on and
 * a later open works
 */
static void
test_sigbus_descriptors(void)
{
	struct obj o[3];

	seams_clear();
	char *path = make_pool("dev_sbdesc", o, ARRAY_SIZE(o), 200);

	seam_set("PMEMSTORE_TEST_SIGBUS", "8192");
	expect_open_fails(path, 0, EIO);
	expect_media_msg(path, 8192, 8192 + PAGE);
	expect_open_fails(path, PMEMSTORE_RDONLY, EIO);
	expect_media_msg(path, 8192, 8192 + PAGE);
	expect_open_fails(path, 0, EIO);

	/* pmemstore_check reads them too: an error, not a crash */
	struct fl l;
	int err;
	int r = check(path, 0, &l, &err);

	CU_ASSERT_EQUAL(r, -1);
	CU_ASSERT(err == EIO || (err == EUCLEAN && l.media > 0));
	if (!(err == EIO || (err == EUCLEAN && l.media > 0)))
		fprintf(stderr,
			"check over a poisoned descriptor page: %d errno %d, "
			"%u findings (%u MEDIA): %s\n",
			r, err, l.n, l.media, pmemstore_errormsg());
	seams_clear();
	all_intact(path, o, ARRAY_SIZE(o));
	expect_clean(path);
	test_pool_remove(path);
}

/* the calls a child makes on a pool with a poisoned page */
enum sb_op { OP_GET, OP_ALLOC, OP_FREE, OP_ID_OF, OP_FOREACH };

static const char *const Op_names[] = {"persist_get", "persist_alloc",
				       "persist_free", "persist_id_of",
				       "pmemstore_foreach"};

/* what a poisoned-page child does */
struct sbop {
	const char *path;
	const char *sigbus; /* PMEMSTORE_TEST_SIGBUS */
	enum sb_op op;
	const struct obj *o; /* the object concerned */
	uint64_t nobjs;	     /* live objects (foreach) */
	uint64_t lo, hi;     /* the message names an offset in [lo, hi) */
	volatile int *stage; /* shared with the child: how far it got */
};

/* how far a poisoned-page child got (in shared memory) */
enum sb_stage { ST_START, ST_OPENED, ST_CALLED, ST_CLOSED, ST_DONE };

/* count_cb2 -- foreach callback counting objects */
static int
count_cb2(const uuid_t id, void *ptr, size_t size, void *arg)
{
	(void)id;
	(void)ptr;
	(void)size;
	++*(uint64_t *)arg;
	return 0;
}

/*
 * sbop_child -- open with the seam, make one call, close: 0 when the call
 * failed with EIO naming the offset (foreach: or listed every object), 1
 * when it succeeded, 2 another errno, 3 the open failed, 4 the message
 * names no offset, 5 the close failed; a crash shows as -signal, and the
 * stage tells where it happened
 */
static int
sbop_child(void *arg)
{
	struct sbop *a = arg;
	uuid_t id;
	int r, e;

	setenv("PMEMSTORE_TEST_SIGBUS", a->sigbus, 1);
	struct pmemstore *ps = pmemstore_open(a->path, 0);

	unsetenv("PMEMSTORE_TEST_SIGBUS");
	if (ps == NULL) {
		fprintf(stderr, "child: open: %s\n", pmemstore_errormsg());
		return 3;
	}
	a->stage[0] = ST_OPENED;
	uint64_t n = 0;

	errno = 0;
	switch (a->op) {
	case OP_GET:
		r = persist_get(ps, a->o->id, NULL) == NULL ? -1 : 0;
		break;
	case OP_ALLOC:
		test_uuid(id);
		r = persist_alloc(ps, id, 64, 0) == NULL ? -1 : 0;
		break;
	case OP_FREE:
		r = persist_free(ps, a->o->id);
		break;
	case OP_ID_OF:
		r = persist_id_of(ps, (void *)(pool_base(a->path) + a->o->off),
				  id);
		break;
	default:
		r = pmemstore_foreach(ps, count_cb2, &n);
		break;
	}
	e = errno;
	const char *msg = pmemstore_errormsg();
	int ret = 0;

	if (a->op == OP_FOREACH && r == 0 && n == a->nobjs)
		ret = 0;
	else if (r == 0)
		ret = 1;
	else if (e != EIO)
		ret = 2;
	else if (!msg_number_in(msg, a->path, a->lo, a->hi))
		ret = 4;
	if (ret)
		fprintf(stderr, "child: %s: returned %d errno %d: %s\n",
			Op_names[a->op], r, e, r ? msg : "");
	a->stage[0] = ST_CALLED;
	a->stage[1] = ret;
	if (pmemstore_close(ps) != 0 && ret == 0)
		ret = 5;
	a->stage[0] = ST_CLOSED;
	a->stage[1] = ret;
	a->stage[0] = ST_DONE;
	return ret;
}

/*
 * died -- describe how a child ended that did not get to its end (a
 * signal, or an exit of its own: a sanitizer's report of the signal)
 */
static const char *
died(int st)
{
	static char buf[64];

	if (st < 0 && st > -1000)
		snprintf(buf, sizeof(buf), "died of signal %d", -st);
	else
		snprintf(buf, sizeof(buf), "died (exit status %d)", st);
	return buf;
}

/* sbop_expect -- run one call in a child; it must fail with EIO */
static void
sbop_expect(struct sbop *a, enum sb_op op)
{
	static const char *const where[] = {
		"in pmemstore_open", "in the call",
		"in pmemstore_close after the call returned", "after close"};
	void *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(m != MAP_FAILED);
	a->stage = m;
	a->stage[0] = ST_START;
	a->stage[1] = -1;
	a->op = op;
	int st = run_in_child(sbop_child, a);
	int stage = a->stage[0], called = a->stage[1];

	munmap(m, PAGE);
	a->stage = NULL;
	if (stage != ST_DONE) {
		CU_FAIL("the child died");
		fprintf(stderr, "%s on a poisoned page: the process %s %s%s\n",
			Op_names[op], died(st), where[stage],
			stage >= ST_CALLED && called == 0
				? " (the call itself gave EIO, as expected)"
				: "");
		return;
	}
	CU_ASSERT_EQUAL(st, 0);
	if (st != 0)
		fprintf(stderr,
			"%s on a poisoned page: %s (expected EIO naming an "
			"offset in [%" PRIu64 ", %" PRIu64 "))\n",
			Op_names[op],
			st == 1	  ? "succeeded"
			: st == 2 ? "failed with another errno"
			: st == 3 ? "the open failed"
			: st == 4 ? "EIO, message names no offset"
			: st == 5 ? "pmemstore_close failed"
				  : "the child failed otherwise",
			a->lo, a->hi);
}

/*
 * test_sigbus_index -- the index segment pages raise SIGBUS: lookups,
 * inserts and frees fail with EIO (each call in a child, so that a crash
 * is a failure, not the end of the program); nothing changes
 */
static void
test_sigbus_index(void)
{
	struct obj o[20];
	char seam[256];

	seams_clear();
	char *path = make_pool("dev_sbindex", o, ARRAY_SIZE(o), 100);
	struct geo g = read_geo(path);

	/* a fresh pool's index: segment in pages 0..3, directory in 4 */
	for (uint64_t p = 0; p < 4; p++) {
		struct pms_desc d = get_desc(path, p);

		CU_ASSERT_EQUAL_FATAL(PMS_DESC_TYPE(d.w0), PMS_DESC_INDEX);
		CU_ASSERT_EQUAL_FATAL(PMS_DESC_INDEX_KIND(d.w0), PMS_INDEX_SEG);
	}
	snprintf(seam, sizeof(seam),
		 "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
		 page_off(&g, 0), page_off(&g, 1) + 100, page_off(&g, 2) + 4000,
		 page_off(&g, 3));
	struct sbop a = {path,		 seam,		OP_GET,
			 &o[0],		 ARRAY_SIZE(o), page_off(&g, 0),
			 page_off(&g, 4)};

	/* lookups in this process too: EIO every time, naming the page */
	seam_set("PMEMSTORE_TEST_SIGBUS", "%s", seam);
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

	seams_clear();
	if (ps == NULL)
		goto out;
	for (unsigned i = 0; i < ARRAY_SIZE(o); i++) {
		EXPECT_FAIL_PTR(persist_get(ps, o[i].id, NULL), EIO);
		expect_media_msg(path, page_off(&g, 0), page_off(&g, 4));
	}
	EXPECT_OK(pmemstore_close(ps));

	sbop_expect(&a, OP_GET);
	sbop_expect(&a, OP_ALLOC);
	sbop_expect(&a, OP_FREE);
	sbop_expect(&a, OP_FOREACH);

	/* nothing was changed by the failed calls */
	all_intact(path, o, ARRAY_SIZE(o));
	expect_clean(path);
out:
	seams_clear();
	test_pool_remove(path);
}

/*
 * test_sigbus_header -- the page of an object's header raises SIGBUS:
 * persist_get, persist_free and persist_id_of of it fail with EIO (in
 * children); objects in other pages are fine
 */
static void
test_sigbus_header(void)
{
	struct obj o[4];
	char seam[64];

	seams_clear();
	char *path = test_pool_path("dev_sbhdr");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	uintptr_t base = pool_base(path);

	/* o[0]: 1500 B, alone in its page; the others in other pages */
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[0], 1500), 0);
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[1], 100), 0);
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[2], 700), 0);
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[3], 30000), 0);
	EXPECT_OK(pmemstore_close(ps));
	struct geo g = read_geo(path);
	uint64_t pg = page_of(&g, o[0].off);

	for (unsigned i = 1; i < ARRAY_SIZE(o); i++)
		CU_ASSERT_FATAL(page_of(&g, o[i].off) != pg);
	snprintf(seam, sizeof(seam), "%" PRIu64, page_off(&g, pg));
	seam_set("PMEMSTORE_TEST_SIGBUS", "%s", seam);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	seams_clear();
	if (ps == NULL)
		goto out;
	for (int k = 0; k < 3; k++) {
		EXPECT_FAIL_PTR(persist_get(ps, o[0].id, NULL), EIO);
		expect_media_msg(path, page_off(&g, pg), page_off(&g, pg + 1));
	}
	for (unsigned i = 1; i < ARRAY_SIZE(o); i++)
		CU_ASSERT(obj_intact(ps, &o[i]));
	EXPECT_OK(pmemstore_close(ps));

	struct sbop a = {path,
			 seam,
			 OP_GET,
			 &o[0],
			 ARRAY_SIZE(o),
			 page_off(&g, pg),
			 page_off(&g, pg + 1)};

	sbop_expect(&a, OP_FREE);
	sbop_expect(&a, OP_ID_OF);
	sbop_expect(&a, OP_FOREACH);
	all_intact(path, o, ARRAY_SIZE(o));
	expect_clean(path);
out:
	seams_clear();
	test_pool_remove(path);
}

/* what a child opening or checking a poisoned pool does */
struct sbopen {
	const char *path;
	const char *sigbus;  /* PMEMSTORE_TEST_SIGBUS */
	int check;	     /* pmemstore_check_report, else pmemstore_open */
	uint64_t lo, hi;     /* an EIO message names an offset in [lo, hi) */
	volatile int *stage; /* shared: 1 open returned a handle, 2 closed */
};

/* outcomes of a poisoned open or check */
enum sb_out {
	SB_EIO = 0,   /* failed with EIO naming the offset */
	SB_OK = 1,    /* succeeded (open: and closed) */
	SB_ERRNO = 2, /* failed with another errno */
	SB_NOOFF = 4, /* EIO, the message names no offset */
	SB_MEDIA = 7, /* check: EUCLEAN with a MEDIA finding */
	SB_DIED = 99, /* the child did not get to its end */
};

/* sbopen_child -- open (and close) or check with the seam set */
static int
sbopen_child(void *arg)
{
	struct sbopen *a = arg;
	struct fl l;
	int r, e;

	setenv("PMEMSTORE_TEST_SIGBUS", a->sigbus, 1);
	if (a->check) {
		r = check(a->path, 0, &l, &e);
		a->stage[0] = 2;
	} else {
		errno = 0;
		struct pmemstore *ps = pmemstore_open(a->path, 0);

		e = errno;
		r = ps ? 0 : -1;
		a->stage[0] = ps ? 1 : 0;
		if (ps && pmemstore_close(ps) != 0) {
			e = errno; /* the close's media error */
			r = -1;
		}
		a->stage[0] = 2;
	}
	a->stage[0] = 3;
	if (r == 0)
		return SB_OK;
	const char *msg = pmemstore_errormsg();
	int out;

	if (a->check && e == EUCLEAN && l.media > 0)
		out = SB_MEDIA;
	else if (e != EIO)
		out = SB_ERRNO;
	else
		out = msg_number_in(msg, a->path, a->lo, a->hi) ? SB_EIO
								: SB_NOOFF;
	if (out != SB_EIO && out != SB_MEDIA)
		fprintf(stderr, "child: %s: errno %d: %s\n",
			a->check ? "check" : "open", e, msg);
	return out;
}

/* sbopen_run -- run a poisoned open or check in a child; its outcome */
static int
sbopen_run(const char *what, struct sbopen *a)
{
	void *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(m != MAP_FAILED);
	a->stage = m;
	a->stage[0] = 0;
	int st = run_in_child(sbopen_child, a);
	int stage = a->stage[0];

	munmap(m, PAGE);
	a->stage = NULL;
	if (stage == 3)
		return st;
	fprintf(stderr, "%s: the process %s %s\n", what, died(st),
		a->check     ? "in pmemstore_check"
		: stage == 1 ? "in pmemstore_close, after the open succeeded"
			     : "in pmemstore_open");
	return SB_DIED;
}

/*
 * test_sigbus_recovery -- a crashed pool opened with a poisoned index
 * page (the recovery reads the index) or a poisoned slab page: EIO or a
 * working open, never a crash; a later open without the seam recovers
 */
static void
test_sigbus_recovery(void)
{
	char *path = test_pool_path("dev_sbrec");
	struct obj o[6];
	struct crash c = {path, 1, NULL, o, ARRAY_SIZE(o)};
	char seam[128];

	seams_clear();
	crash_objs(o, ARRAY_SIZE(o));
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
	struct geo g = read_geo(path);

	snprintf(seam, sizeof(seam), "%" PRIu64 ",%" PRIu64 ",%" PRIu64,
		 page_off(&g, 0), page_off(&g, 1), page_off(&g, 4));
	struct sbopen a = {path, seam, 0, page_off(&g, 0), page_off(&g, 5)};
	int st = sbopen_run("dirty open, index poisoned", &a);

	CU_ASSERT(st == SB_EIO || st == SB_OK);
	/* a slab page of the crashed run (the first data page after them) */
	uint64_t p = 5;

	while (p < g.hwm &&
	       PMS_DESC_TYPE(get_desc(path, p).w0) != PMS_DESC_SLAB)
		p++;
	CU_ASSERT_FATAL(p < g.hwm);
	snprintf(seam, sizeof(seam), "%" PRIu64, page_off(&g, p));
	a.lo = page_off(&g, p);
	a.hi = page_off(&g, p + 1);
	st = sbopen_run("dirty open, slab page poisoned", &a);
	CU_ASSERT(st == SB_EIO || st == SB_OK);
	all_intact(path, o, ARRAY_SIZE(o));
	expect_clean(path);
	test_pool_remove(path);
}

/*
 * test_sigbus_check -- pmemstore_check of a pool with a poisoned index,
 * slab or descriptor page: an error (EIO naming the offset, or a MEDIA
 * finding), never a crash, never "consistent"
 */
static void
test_sigbus_check(void)
{
	struct obj o[8];
	char seam[64];

	seams_clear();
	char *path = make_pool("dev_sbcheck", o, ARRAY_SIZE(o), 300);
	struct geo g = read_geo(path);
	uint64_t sp = page_of(&g, o[0].off);
	const uint64_t pages[][2] = {
		{page_off(&g, 0), page_off(&g, 4)},	  /* index segment */
		{page_off(&g, 4), page_off(&g, 5)},	  /* index directory */
		{page_off(&g, sp), page_off(&g, sp + 1)}, /* a slab page */
		{8192, 8192 + PAGE},			  /* descriptors */
	};
	static const char *const what[] = {"index segment", "directory",
					   "slab page", "descriptors"};

	CU_ASSERT_FATAL(sp > 4);

	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++) {
		snprintf(seam, sizeof(seam), "%" PRIu64, pages[i][0] + 64);
		struct sbopen a = {path, seam, 1, pages[i][0], pages[i][1]};
		int st = sbopen_run(what[i], &a);

		/*
		 * On a regular file the check reads slab headers with
		 * pread, which a mapping seam cannot poison (real poison
		 * makes the pread fail: EIO): there a clean result is all
		 * the seam can show.  A crash is never acceptable.
		 */
		int ok = st == SB_EIO || st == SB_MEDIA ||
			 (i == 2 && st == SB_OK);

		CU_ASSERT(ok);
		if (!ok)
			fprintf(stderr,
				"pmemstore_check, %s poisoned: outcome %d "
				"(0 EIO, 7 MEDIA expected)\n",
				what[i], st);
	}
	all_intact(path, o, ARRAY_SIZE(o));
	expect_clean(path);
	test_pool_remove(path);
}

/*
 * test_sigbus_superblock -- superblock A poisoned: the open fails with
 * EIO naming it, or uses copy B; both poisoned: EIO; never a crash
 */
static void
test_sigbus_superblock(void)
{
	struct obj o[2];

	seams_clear();
	char *path = make_pool("dev_sbsb", o, ARRAY_SIZE(o), 300);
	struct sbopen a = {path, "0", 0, 0, PAGE};
	int st = sbopen_run("superblock A poisoned", &a);

	CU_ASSERT(st == SB_EIO || st == SB_OK);
	a.sigbus = "4096";
	a.lo = PAGE;
	a.hi = 2 * PAGE;
	st = sbopen_run("superblock B poisoned", &a);
	CU_ASSERT(st == SB_EIO || st == SB_OK);
	a.sigbus = "0,4096";
	a.lo = 0;
	st = sbopen_run("both superblocks poisoned", &a);
	CU_ASSERT_EQUAL(st, SB_EIO);
	all_intact(path, o, ARRAY_SIZE(o));
	expect_clean(path);
	test_pool_remove(path);
}

#define SB_THREADS 4
#define SB_ROUNDS 200

struct sbt {
	struct pmemstore *ps;
	const struct obj *bad, *good;
	unsigned ngood;
	atomic_uint wrong;
};

/* sb_thread -- lookups of the poisoned object and of good ones */
static void *
sb_thread(void *arg)
{
	struct sbt *t = arg;

	for (int k = 0; k < SB_ROUNDS; k++) {
		errno = 0;
		if (persist_get(t->ps, t->bad->id, NULL) != NULL ||
		    errno != EIO)
			atomic_fetch_add(&t->wrong, 1);
		const struct obj *o = &t->good[k % t->ngood];
		size_t sz = 0;
		void *p = persist_get(t->ps, o->id, &sz);

		if (p == NULL || sz != o->size ||
		    pattern_check(p, sz, o->id) != -1)
			atomic_fetch_add(&t->wrong, 1);
	}
	return NULL;
}

/*
 * test_sigbus_threads -- several threads fault in the library at once:
 * each gets its own EIO (the guard is per thread), good lookups work
 */
static void
test_sigbus_threads(void)
{
	struct obj o[4];

	seams_clear();
	char *path = test_pool_path("dev_sbthr");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	uintptr_t base = pool_base(path);

	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[0], 1500), 0);
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[1], 100), 0);
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[2], 700), 0);
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, base, &o[3], 30000), 0);
	EXPECT_OK(pmemstore_close(ps));
	struct geo g = read_geo(path);

	seam_set("PMEMSTORE_TEST_SIGBUS", "%" PRIu64,
		 page_off(&g, page_of(&g, o[0].off)));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	seams_clear();
	if (ps == NULL)
		goto out;
	struct sbt t = {ps, &o[0], &o[1], 3, 0};
	pthread_t th[SB_THREADS];

	for (int i = 0; i < SB_THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(
			pthread_create(&th[i], NULL, sb_thread, &t), 0);
	for (int i = 0; i < SB_THREADS; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&t.wrong), 0);
	EXPECT_OK(pmemstore_close(ps));
	all_intact(path, o, ARRAY_SIZE(o));
out:
	seams_clear();
	test_pool_remove(path);
}

/* ---- the application's own SIGBUS handling ---- */

static sigjmp_buf App_jmp;
static volatile sig_atomic_t App_hits;
static void *volatile App_addr;

/* app_action -- the application's SA_SIGINFO handler: note, jump out */
static void
app_action(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGBUS) {
		App_hits++;
		App_addr = si->si_addr;
	}
	siglongjmp(App_jmp, 1);
}

/* app_plain -- the application's plain handler: note, jump out */
static void
app_plain(int sig)
{
	if (sig == SIGBUS)
		App_hits++;
	siglongjmp(App_jmp, 1);
}

/* a file mapping whose second page lies beyond the end of the file */
struct trap {
	char *path;
	int fd;
	volatile char *map;
};

/* trap_make -- map two pages of a file, truncate it to one */
static int
trap_make(struct trap *t)
{
	t->path = test_pool_path("dev_trap");
	t->fd = open(t->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	/* unlinked at once: nothing is left behind by a child that dies */
	if (t->fd < 0 || unlink(t->path) != 0 ||
	    ftruncate(t->fd, 2 * PAGE) != 0)
		return -1;
	void *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       t->fd, 0);

	if (m == MAP_FAILED)
		return -1;
	t->map = m;
	t->map[0] = 1;
	t->map[PAGE] = 1;
	return ftruncate(t->fd, PAGE);
}

/* trap_done -- unmap and remove */
static void
trap_done(struct trap *t)
{
	if (t->map)
		munmap((void *)t->map, 2 * PAGE);
	if (t->fd >= 0)
		close(t->fd);
	free(t->path);
}

/* trap_spring -- touch the page beyond the end; 1 when a handler jumped */
static int
trap_spring(struct trap *t)
{
	App_hits = 0;
	App_addr = NULL;
	if (sigsetjmp(App_jmp, 1) == 0) {
		(void)t->map[PAGE + 8];
		return 0;
	}
	return 1;
}

/* installed -- the SIGBUS disposition now */
static struct sigaction
installed(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	CU_ASSERT_EQUAL(sigaction(SIGBUS, NULL, &sa), 0);
	return sa;
}

/* is_app -- the disposition is the application's handler */
static int
is_app(const struct sigaction *sa, int siginfo)
{
	if (siginfo)
		return (sa->sa_flags & SA_SIGINFO) &&
		       sa->sa_sigaction == app_action;
	return !(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == app_plain;
}

/*
 * app_handler -- with the application's handler (siginfo or plain)
 * installed: faults outside the library reach it while pools are open,
 * also after one of two pools closed; the last close puts it back
 */
static void
app_handler(int siginfo)
{
	struct trap t = {NULL, -1, NULL};
	struct sigaction sa, old;

	seams_clear();
	char *p1 = test_pool_path("dev_app1");
	char *p2 = test_pool_path("dev_app2");

	CU_ASSERT_EQUAL_FATAL(trap_make(&t), 0);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (siginfo) {
		sa.sa_sigaction = app_action;
		sa.sa_flags = SA_SIGINFO;
	} else {
		sa.sa_handler = app_plain;
	}
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGBUS, &sa, &old), 0);

	struct pmemstore *a = EXPECT_PTR(pmemstore_create(p1, POOL_SIZE, 0600));
	struct pmemstore *b = EXPECT_PTR(pmemstore_create(p2, POOL_SIZE, 0600));

	if (a == NULL || b == NULL)
		goto out;
	/* the library's handler is in place while pools are open */
	struct sigaction now = installed();

	CU_ASSERT_FALSE(is_app(&now, siginfo));
	CU_ASSERT(trap_spring(&t));
	CU_ASSERT_EQUAL(App_hits, 1);
	if (siginfo)
		CU_ASSERT_PTR_EQUAL(App_addr, (void *)(t.map + PAGE + 8));
	/* the library still works after the application's fault */
	struct obj o;

	CU_ASSERT_EQUAL(obj_alloc(a, pool_base(p1), &o, 100), 0);
	CU_ASSERT(obj_intact(a, &o));
	EXPECT_OK(pmemstore_close(a));
	a = NULL;
	/* one pool still open */
	CU_ASSERT(trap_spring(&t));
	CU_ASSERT_EQUAL(App_hits, 1);
	EXPECT_OK(pmemstore_close(b));
	b = NULL;
	now = installed();
	CU_ASSERT(is_app(&now, siginfo));
	if (!is_app(&now, siginfo))
		fprintf(stderr, "after the last close SIGBUS is not the "
				"application's handler\n");
	CU_ASSERT(trap_spring(&t));
	CU_ASSERT_EQUAL(App_hits, 1);

	/* a pool with a poisoned page: the library's EIO, not the app's */
	struct geo g = read_geo(p1);
	uint64_t off = page_off(&g, page_of(&g, o.off));

	seam_set("PMEMSTORE_TEST_SIGBUS", "%" PRIu64, off);
	a = EXPECT_PTR(pmemstore_open(p1, 0));
	seams_clear();
	if (a != NULL) {
		App_hits = 0;
		EXPECT_FAIL_PTR(persist_get(a, o.id, NULL), EIO);
		CU_ASSERT_EQUAL(App_hits, 0);
		EXPECT_OK(pmemstore_close(a));
		a = NULL;
	}
	now = installed();
	CU_ASSERT(is_app(&now, siginfo));
out:
	seams_clear();
	if (a)
		pmemstore_close(a);
	if (b)
		pmemstore_close(b);
	sigaction(SIGBUS, &old, NULL);
	trap_done(&t);
	test_pool_remove(p1);
	test_pool_remove(p2);
}

/* test_app_handler_siginfo -- the application's SA_SIGINFO handler */
static void
test_app_handler_siginfo(void)
{
	app_handler(1);
}

/* test_app_handler_plain -- the application's plain handler */
static void
test_app_handler_plain(void)
{
	app_handler(0);
}

/* what a child that faults outside the library does */
struct dies {
	const char *path;
	void (*disp)(int); /* SIG_DFL or SIG_IGN */
};

/* dies_child -- open a pool, fault outside the library */
static int
dies_child(void *arg)
{
	struct dies *d = arg;
	struct trap t = {NULL, -1, NULL};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = d->disp;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) != 0 || trap_make(&t) != 0)
		return 20;
	struct pmemstore *ps = pmemstore_open(d->path, 0);

	if (ps == NULL)
		return 21;
	(void)t.map[PAGE + 8]; /* must not return */
	return 22;
}

/*
 * test_app_default -- an application without a handler (SIG_DFL, or
 * SIG_IGN) dies of a SIGBUS outside the library, as without it; the
 * disposition is back after the last close
 */
static void
test_app_default(void)
{
	char *path = test_pool_path("dev_dfl");
	struct dies d = {path, SIG_DFL};
	struct sigaction sa, old;

	seams_clear();
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	EXPECT_OK(pmemstore_close(ps));
	CU_ASSERT_EQUAL(run_in_child(dies_child, &d), -SIGBUS);
	d.disp = SIG_IGN;
	CU_ASSERT_EQUAL(run_in_child(dies_child, &d), -SIGBUS);

	/* SIG_IGN is back after the close */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGBUS, &sa, &old), 0);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL)
		EXPECT_OK(pmemstore_close(ps));
	struct sigaction now = installed();

	CU_ASSERT(!(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_IGN);
	sigaction(SIGBUS, &old, NULL);
out:
	test_pool_remove(path);
}

/* ======================================================================
 * unsafe shutdown
 * ==================================================================== */

/* test_usc_unsupported -- a plain file: no count, no check */
static void
test_usc_unsupported(void)
{
	char *path = test_pool_path("dev_uscno");
	struct obj o[3];
	struct crash c = {path, 1, NULL, o, ARRAY_SIZE(o)};

	seams_clear();
	crash_objs(o, ARRAY_SIZE(o));
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

	if (ps == NULL)
		goto out;
	struct pmemstore_info in = get_info(ps);

	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_USC, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_UNSAFE, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_CHECKED, 0);
	CU_ASSERT(in.flags & PMEMSTORE_INFO_DIRTY);
	CU_ASSERT_EQUAL(in.usc, 0);
	CU_ASSERT_EQUAL(in.usc_recorded, 0);
	CU_ASSERT_EQUAL(in.check_findings, 0);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* expect_usc -- info flags and counts of an open with the USC seam */
static void
expect_usc(const char *what, const struct pmemstore_info *in, unsigned set,
	   unsigned clear, uint64_t usc, uint64_t recorded)
{
	int ok = (in->flags & set) == set && (in->flags & clear) == 0 &&
		 in->usc == usc && in->usc_recorded == recorded;

	CU_ASSERT_EQUAL(in->flags & set, set);
	CU_ASSERT_EQUAL(in->flags & clear, 0);
	CU_ASSERT_EQUAL(in->usc, usc);
	CU_ASSERT_EQUAL(in->usc_recorded, recorded);
	if (!ok) {
		fprintf(stderr,
			"%s: want flags %#x set, %#x clear, usc %" PRIu64
			" recorded %" PRIu64 "\n",
			what, set, clear, usc, recorded);
		print_info(what, in);
	}
}

/*
 * test_usc_sequence -- a crash with the count unchanged: no check; a
 * crash with the count changed: a full check at open, its findings (a
 * repairable one planted) in info, the objects intact, the pool repaired;
 * a clean close: no check whatever the count
 */
static void
test_usc_sequence(void)
{
	char *path = test_pool_path("dev_uscseq");
	struct obj o[6], o2[2];
	struct crash c = {path, 1, "5", o, ARRAY_SIZE(o)};
	const unsigned U = PMEMSTORE_INFO_USC, UN = PMEMSTORE_INFO_UNSAFE,
		       CH = PMEMSTORE_INFO_CHECKED, DI = PMEMSTORE_INFO_DIRTY;

	seams_clear();
	crash_objs(o, ARRAY_SIZE(o));
	crash_objs(o2, ARRAY_SIZE(o2));
	/* create with count 5, crash */
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
	seam_set("PMEMSTORE_TEST_USC", "5");
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

	seams_clear();
	if (ps == NULL)
		goto out;
	struct pmemstore_info in = get_info(ps);

	expect_usc("same count", &in, U | DI, UN | CH, 5, 5);
	CU_ASSERT_EQUAL(in.check_findings, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(o); i++)
		CU_ASSERT(obj_intact(ps, &o[i]));
	EXPECT_OK(pmemstore_close(ps));

	/* open with count 5, crash; plant a repairable finding */
	c.create = 0;
	c.objs = o2;
	c.nobjs = ARRAY_SIZE(o2);
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
	struct geo g = read_geo(path);
	uint64_t p = g.hwm - 10;

	CU_ASSERT_EQUAL(get_desc(path, p).w0, 0);
	CU_ASSERT_EQUAL(get_desc(path, p + 1).w0, 0);
	put_desc(path, p, PMS_DESC_TAIL_W0(1), 0);
	put_desc(path, p + 1, PMS_DESC_TAIL_W0(2), 0);
	struct fl l;
	int err;
	int r = check(path, 0, &l, &err);

	CU_ASSERT_EQUAL(r, -1);
	CU_ASSERT(l.n >= 1);
	CU_ASSERT_EQUAL(l.nonrep, 0);

	/* open with count 6: unsafe, checked, what the check found */
	seam_set("PMEMSTORE_TEST_USC", "6");
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	seams_clear();
	if (ps == NULL)
		goto out;
	in = get_info(ps);
	expect_usc("count changed", &in, U | UN | CH | DI, 0, 6, 5);
	CU_ASSERT_EQUAL(in.check_findings, l.n);
	CU_ASSERT_EQUAL(in.check_repairable, l.n - l.nonrep);
	CU_ASSERT(in.check_findings >= 1);
	if (in.check_findings != l.n)
		fprintf(stderr,
			"open's check found %" PRIu64 " (%" PRIu64
			" repairable), pmemstore_check %u (%u not)\n",
			in.check_findings, in.check_repairable, l.n, l.nonrep);
	CU_ASSERT_EQUAL(in.objects, ARRAY_SIZE(o) + ARRAY_SIZE(o2));
	for (unsigned i = 0; i < ARRAY_SIZE(o); i++)
		CU_ASSERT(obj_intact(ps, &o[i]));
	for (unsigned i = 0; i < ARRAY_SIZE(o2); i++)
		CU_ASSERT(obj_intact(ps, &o2[i]));
	EXPECT_OK(pmemstore_close(ps));
	/* recovery repaired what the check found */
	expect_clean(path);

	/* clean close, count 7: no check */
	seam_set("PMEMSTORE_TEST_USC", "7");
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	seams_clear();
	if (ps == NULL)
		goto out;
	in = get_info(ps);
	expect_usc("clean close", &in, U, UN | CH | DI, 7, 6);
	CU_ASSERT_EQUAL(in.check_findings, 0);
	EXPECT_OK(pmemstore_close(ps));
out:
	seams_clear();
	test_pool_remove(path);
}

/*
 * test_usc_unrepairable -- the check at an unsafe open finds what REPAIR
 * cannot fix: the open fails with EUCLEAN, and writes nothing
 */
static void
test_usc_unrepairable(void)
{
	char *path = test_pool_path("dev_uscbad");
	struct obj o[3];
	struct crash c = {path, 1, "5", o, ARRAY_SIZE(o)};
	uint64_t d0, s0, d1, s1;

	seams_clear();
	crash_objs(o, ARRAY_SIZE(o));
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
	struct geo g = read_geo(path);
	uint64_t p = g.hwm - 1;

	CU_ASSERT_EQUAL(get_desc(path, p).w0, 0);
	put_desc(path, p, 7, 0); /* a descriptor of no known type */
	CU_ASSERT_EQUAL_FATAL(file_digest(path, &d0, &s0), 0);
	seam_set("PMEMSTORE_TEST_USC", "6");
	expect_open_fails(path, 0, EUCLEAN);
	seams_clear();
	CU_ASSERT(strstr(pmemstore_errormsg(), "check") != NULL);
	CU_ASSERT_EQUAL_FATAL(file_digest(path, &d1, &s1), 0);
	CU_ASSERT_EQUAL(d0, d1);
	CU_ASSERT_EQUAL(s0, s1);
	test_pool_remove(path);
}

/*
 * test_usc_device_gone -- the pool recorded a count, the device now has
 * none: no check, info says the count is unknown and what was recorded
 */
static void
test_usc_device_gone(void)
{
	char *path = test_pool_path("dev_uscgone");
	struct obj o[3];
	struct crash c = {path, 1, "9", o, ARRAY_SIZE(o)};

	seams_clear();
	crash_objs(o, ARRAY_SIZE(o));
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

	if (ps == NULL)
		goto out;
	struct pmemstore_info in = get_info(ps);

	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_USC, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_UNSAFE, 0);
	CU_ASSERT_EQUAL(in.flags & PMEMSTORE_INFO_CHECKED, 0);
	CU_ASSERT(in.flags & PMEMSTORE_INFO_DIRTY);
	CU_ASSERT_EQUAL(in.usc_recorded, 9);
	for (unsigned i = 0; i < ARRAY_SIZE(o); i++)
		CU_ASSERT(obj_intact(ps, &o[i]));
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

static CU_TestInfo info_tests[] = {
	{"info_plain", test_info_plain},
	{"info_rdonly", test_info_rdonly},
	{"info_dirty", test_info_dirty},
	{"info_args", test_info_args},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo bb_tests[] = {
	{"bb_free_pages", test_bb_free_pages},
	{"bb_at_create", test_bb_at_create},
	{"bb_ranges_outside", test_bb_ranges_outside},
	{"bb_above_hwm", test_bb_above_hwm},
	{"bb_live_cleared", test_bb_live_cleared},
	{"bb_live_clear_fails", test_bb_live_clear_fails},
	{"bb_slab_page", test_bb_slab_page},
	{"bb_index_page", test_bb_index_page},
	{"bb_survive_repair", test_bb_survive_repair},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo sigbus_tests[] = {
	{"sigbus_descriptors", test_sigbus_descriptors},
	{"sigbus_index", test_sigbus_index},
	{"sigbus_header", test_sigbus_header},
	{"sigbus_recovery", test_sigbus_recovery},
	{"sigbus_check", test_sigbus_check},
	{"sigbus_superblock", test_sigbus_superblock},
	{"sigbus_threads", test_sigbus_threads},
	{"app_handler_siginfo", test_app_handler_siginfo},
	{"app_handler_plain", test_app_handler_plain},
	{"app_default", test_app_default},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo usc_tests[] = {
	{"usc_unsupported", test_usc_unsupported},
	{"usc_sequence", test_usc_sequence},
	{"usc_unrepairable", test_usc_unrepairable},
	{"usc_device_gone", test_usc_device_gone},
	CU_TEST_INFO_NULL,
};

/* ======================================================================
 * regressions: what review found (each failed before its fix)
 * ==================================================================== */

/* obj_offsets -- pool offsets of objects, through a read-only open */
static void
obj_offsets(const char *path, struct obj *o, unsigned n)
{
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	uintptr_t base;

	if (ps == NULL)
		return;
	base = pool_base(path);
	for (unsigned i = 0; i < n; i++) {
		void *p = persist_get(ps, o[i].id, NULL);

		CU_ASSERT_PTR_NOT_NULL(p);
		o[i].off = p ? (uint64_t)((uintptr_t)p - base) : 0;
	}
	EXPECT_OK(pmemstore_close(ps));
}

/*
 * test_lost_bit_bad_slab -- after a crash, a live object whose bit did not
 * land shares a slab page with a bad block: freeing its neighbour must
 * neither free nor withhold its page (the hint bitmap is not the truth)
 */
static void
test_lost_bit_bad_slab(void)
{
	for (int fail = 0; fail < 2; fail++) {
		char *path = test_pool_path("dev_lostbit");
		struct obj o[2];
		struct crash c = {path, 1, NULL, o, 2};

		seams_clear();
		crash_objs(o, 2);
		o[0].size = o[1].size = 50;
		CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
		obj_offsets(path, o, 2);
		struct geo g = read_geo(path);
		uint64_t pg = page_of(&g, o[0].off);

		CU_ASSERT_EQUAL_FATAL(page_of(&g, o[1].off), pg);
		struct pms_desc d = get_desc(path, pg);

		/* the crash lost the first object's bit (entry and header
		 * landed): the lower slot's */
		CU_ASSERT_FATAL(__builtin_popcountll(d.w1) == 2);
		put_desc(path, pg, d.w0, d.w1 & (d.w1 - 1));
		seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":512",
			 page_off(&g, pg) + PAGE - 512);
		if (fail)
			seam_set("PMEMSTORE_TEST_CLEAR_FAIL", "1");
		struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

		if (ps == NULL) {
			seams_clear();
			test_pool_remove(path);
			return;
		}
		CU_ASSERT(obj_intact(ps, &o[0]));
		EXPECT_OK(persist_free(ps, o[1].id));
		CU_ASSERT(obj_intact(ps, &o[0]));
		EXPECT_OK(pmemstore_close(ps));
		CU_ASSERT_NOT_EQUAL(get_desc(path, pg).w0, PMS_DESC_BAD);
		seams_clear();
		ps = EXPECT_PTR(pmemstore_open(path, 0));
		if (ps) {
			CU_ASSERT(obj_intact(ps, &o[0]));
			EXPECT_OK(pmemstore_close(ps));
		}
		expect_clean(path);
		test_pool_remove(path);
	}
}

/* what dirty_poisoned_child reports */
enum { DP_OK = 0, DP_OPEN = 20, DP_INFO, DP_GET, DP_CLOSE };

/* dp_args -- what the child needs */
struct dp_args {
	const char *path;
	struct obj *o;
};

/* dp_child -- see dirty_poisoned_child */
static int
dp_child(void *arg)
{
	struct dp_args *a = arg;
	struct pmemstore_info in;
	struct pmemstore_stats st;
	struct pmemstore *ps = pmemstore_open(a->path, 0);

	if (ps == NULL)
		return DP_OPEN;
	if (pmemstore_info(ps, &in) || pmemstore_stats(ps, &st) ||
	    in.objects != 2)
		return DP_INFO;
	errno = 0;
	if (persist_get(ps, a->o[0].id, NULL) != NULL || errno != EIO)
		return DP_GET;
	if (pmemstore_close(ps))
		return DP_CLOSE;
	return DP_OK;
}

/*
 * test_dirty_poisoned -- a crashed pool reopened with its objects' page
 * bad and poisoned: stats, info and close work (the objects count, of
 * unknown size), the pool is left not clean, and recovers once the
 * device reads again
 */
static void
test_dirty_poisoned(void)
{
	char *path = test_pool_path("dev_dirtyp");
	struct obj o[2];
	struct crash c = {path, 1, NULL, o, 2};

	seams_clear();
	crash_objs(o, 2);
	o[0].size = o[1].size = 100;
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
	obj_offsets(path, o, 2);
	struct geo g = read_geo(path);
	uint64_t pg = page_off(&g, page_of(&g, o[0].off));

	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":4096", pg);
	seam_set("PMEMSTORE_TEST_SIGBUS", "%" PRIu64, pg);
	struct dp_args a = {path, o};
	int st = run_in_child(dp_child, &a);

	CU_ASSERT_EQUAL(st, DP_OK);
	if (st != DP_OK)
		fprintf(stderr, "dirty_poisoned: child status %d\n", st);
	seams_clear();
	all_intact(path, o, 2);
	expect_clean(path);
	test_pool_remove(path);
}

/* meta_child -- allocate 1 MiB objects until the pool says no */
static int
meta_child(void *arg)
{
	struct pmemstore *ps = pmemstore_open(arg, 0);
	int n = 0;

	if (ps == NULL)
		return 20;
	for (;;) {
		uuid_t id;

		test_uuid(id);
		errno = 0;
		if (persist_alloc(ps, id, MIB, 0) == NULL)
			break;
		n++;
	}
	if (errno != ENOMEM || n == 0)
		return 21;
	return pmemstore_close(ps) ? 22 : 0;
}

/*
 * test_meta_bad -- a bad block under descriptors above the mark: the mark
 * never reaches it (pages from there on withheld, allocations end with
 * ENOMEM, no SIGBUS); under descriptors below the mark: the open fails
 * with EIO naming the offset
 */
static void
test_meta_bad(void)
{
	char *path = test_pool_path("dev_meta");
	struct pmemstore *ps;

	seams_clear();
	ps = EXPECT_PTR(pmemstore_create(path, 128 * MIB, 0600));
	if (ps == NULL)
		return;
	EXPECT_OK(pmemstore_close(ps));
	struct geo g = read_geo(path);
	uint64_t above = (PMS_DESC_OFF + 20000 * 16) & ~(PAGE - 1);

	CU_ASSERT_FATAL(20000 > g.hwm && 20000 < g.npages);
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":4096", above);
	seam_set("PMEMSTORE_TEST_SIGBUS", "%" PRIu64, above);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps) {
		struct pmemstore_info in = get_info(ps);

		CU_ASSERT(in.pages_bad >= g.npages - 20000 - 256);
		EXPECT_OK(pmemstore_close(ps));
	}
	CU_ASSERT_EQUAL(run_in_child(meta_child, path), 0);
	/* below the mark */
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":512",
		 (uint64_t)PMS_DESC_OFF + 512);
	unsetenv("PMEMSTORE_TEST_SIGBUS");
	EXPECT_FAIL_PTR(pmemstore_open(path, 0), EIO);
	CU_ASSERT(strstr(pmemstore_errormsg(), "8704") != NULL);
	seams_clear();
	expect_clean(path);
	test_pool_remove(path);
}

/*
 * test_index_avoids_bad -- create with a bad block on data page 0: the
 * index goes elsewhere, nothing in use lies on a bad page
 */
static void
test_index_avoids_bad(void)
{
	char *path = test_pool_path("dev_idxbad");
	struct pmemstore *ps;
	struct geo g;
	struct obj o;

	seams_clear();
	/* data page 0 of a 16 MiB pool starts at 2 MiB */
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%llu:4096", 2ULL << 20);
	ps = EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps == NULL) {
		seams_clear();
		return;
	}
	struct pmemstore_info in = get_info(ps);

	CU_ASSERT_EQUAL(in.pages_bad_used, 0);
	CU_ASSERT_EQUAL(in.pages_bad, 1);
	CU_ASSERT_EQUAL_FATAL(obj_alloc(ps, pool_base(path), &o, 100), 0);
	CU_ASSERT(obj_intact(ps, &o));
	EXPECT_OK(pmemstore_close(ps));
	g = read_geo(path);
	CU_ASSERT_EQUAL(g.data_off, 2ULL << 20);
	CU_ASSERT_EQUAL(get_desc(path, 0).w0, PMS_DESC_BAD);
	seams_clear();
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps) {
		CU_ASSERT(obj_intact(ps, &o));
		EXPECT_OK(pmemstore_close(ps));
	}
	expect_clean(path);
	test_pool_remove(path);
}

/*
 * test_usc_unknown_keeps -- an open where the count is unknown does not
 * erase the known count of the open before it: the unsafe shutdown is
 * still found
 */
static void
test_usc_unknown_keeps(void)
{
	char *path = test_pool_path("dev_uscunk");
	struct obj o[1];
	struct crash c = {path, 1, "5", o, 1};

	seams_clear();
	crash_objs(o, 1);
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
	c.create = 0;
	c.usc = NULL;
	c.nobjs = 0;
	CU_ASSERT_EQUAL_FATAL(run_in_child(crash_child, &c), 0);
	seam_set("PMEMSTORE_TEST_USC", "6");
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

	if (ps) {
		struct pmemstore_info in = get_info(ps);

		CU_ASSERT(in.flags & PMEMSTORE_INFO_UNSAFE);
		CU_ASSERT(in.flags & PMEMSTORE_INFO_CHECKED);
		CU_ASSERT_EQUAL(in.usc_recorded, 5);
		EXPECT_OK(pmemstore_close(ps));
	}
	seams_clear();
	test_pool_remove(path);
}

/*
 * test_bad_reclaimed -- a BAD page the device's list no longer names (the
 * list read: here the seam with another range) is free again
 */
static void
test_bad_reclaimed(void)
{
	char *path = test_pool_path("dev_reclaim");
	struct pmemstore *ps;
	struct geo g;

	seams_clear();
	ps = EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps == NULL)
		return;
	EXPECT_OK(pmemstore_close(ps));
	g = read_geo(path);
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":512",
		 page_off(&g, 100));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps)
		EXPECT_OK(pmemstore_close(ps));
	CU_ASSERT_EQUAL(get_desc(path, 100).w0, PMS_DESC_BAD);
	/* the list read again: page 200 bad now, page 100 no more */
	seam_set("PMEMSTORE_TEST_BADBLOCKS", "%" PRIu64 ":512",
		 page_off(&g, 200));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps) {
		struct pmemstore_info in = get_info(ps);

		CU_ASSERT_EQUAL(in.pages_bad, 1);
		EXPECT_OK(pmemstore_close(ps));
	}
	CU_ASSERT_EQUAL(get_desc(path, 100).w0, 0);
	CU_ASSERT_EQUAL(get_desc(path, 200).w0, PMS_DESC_BAD);
	/* no list (no seam, a tmpfs file): BAD stays */
	seams_clear();
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps) {
		struct pmemstore_info in = get_info(ps);

		if (!(in.flags & PMEMSTORE_INFO_BADBLOCKS))
			CU_ASSERT_EQUAL(in.pages_bad, 1);
		EXPECT_OK(pmemstore_close(ps));
	}
	expect_clean(path);
	test_pool_remove(path);
}

/* seen_cb_any -- foreach callback that accepts every object */
static int
seen_cb_any(const uuid_t id, void *ptr, size_t size, void *arg)
{
	(void)id;
	(void)ptr;
	(void)size;
	(void)arg;
	return 0;
}

/* poison_child -- poison the index directory at run time: get, foreach
 * and id_of say EIO, the process lives */
static int
poison_child(void *arg)
{
	const char *path = arg;
	struct pmemstore *ps = pmemstore_open(path, 0);
	struct obj o;
	uintptr_t base;
	FILE *f;

	if (ps == NULL)
		return 20;
	base = pool_base(path);
	if (obj_alloc(ps, base, &o, 100))
		return 21;
	void *p = persist_get(ps, o.id, NULL);
	struct geo g = read_geo(path);
	uint64_t dir = (uint64_t)(g.data_off + 4 * PAGE); /* a fresh pool's */

	f = tmpfile();
	if (f == NULL ||
	    mmap((void *)(base + dir), PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fileno(f), 0) == MAP_FAILED)
		return 22;
	fclose(f);
	errno = 0;
	if (persist_get(ps, o.id, NULL) != NULL || errno != EIO)
		return 23;
	errno = 0;
	if (pmemstore_foreach(ps, seen_cb_any, NULL) != -1 || errno != EIO)
		return 24;
	uuid_t id;

	errno = 0;
	if (persist_id_of(ps, p, id) != -1 || errno != EIO)
		return 25;
	return 0; /* no close: the directory page is gone from the map */
}

/*
 * test_runtime_poison -- a page the library reads turns bad while the
 * pool is open (the directory): calls fail with EIO, nothing dies
 */
static void
test_runtime_poison(void)
{
	char *path = test_pool_path("dev_rtpoison");
	struct pmemstore *ps;

	seams_clear();
	ps = EXPECT_PTR(pmemstore_create(path, POOL_SIZE, 0600));
	if (ps == NULL)
		return;
	EXPECT_OK(pmemstore_close(ps));
	int st = run_in_child(poison_child, path);

	CU_ASSERT_EQUAL(st, 0);
	if (st)
		fprintf(stderr, "runtime_poison: child status %d\n", st);
	test_pool_remove(path);
}

static CU_TestInfo regress_tests[] = {
	{"lost_bit_bad_slab", test_lost_bit_bad_slab},
	{"dirty_poisoned", test_dirty_poisoned},
	{"meta_bad", test_meta_bad},
	{"index_avoids_bad", test_index_avoids_bad},
	{"usc_unknown_keeps", test_usc_unknown_keeps},
	{"bad_reclaimed", test_bad_reclaimed},
	{"runtime_poison", test_runtime_poison},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"info", NULL, NULL, NULL, NULL, info_tests},
	{"badblocks", NULL, NULL, NULL, NULL, bb_tests},
	{"sigbus", NULL, NULL, NULL, NULL, sigbus_tests},
	{"usc", NULL, NULL, NULL, NULL, usc_tests},
	{"regress", NULL, NULL, NULL, NULL, regress_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suites; nonzero exit status when a test failed */
int
main(void)
{
	/* a seam left in the environment would change every test */
	seams_clear();
	return run_suites(suites);
}
