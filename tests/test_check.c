/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_check.c -- tests of pmemstore_check / pmemstore_check_report
 *
 * Owns: clean pools of several shapes check clean (fresh, after many
 * allocations and frees of slab, multi-page and huge objects, nearly full,
 * after a crash state healed by open); one corruption at a time, written
 * into a closed pool with pwrite, is found with the right kind, offset and
 * repairability; REPAIR fixes exactly the repairable ones (the second
 * check is clean, the other objects intact) and refuses the rest without
 * writing a byte; argument, lock and callback behaviour.
 *
 * The test reads the format itself (layout.h) to find objects in the file
 * and computes identity checks with its own XXH3 calls, so corruptions
 * that must verify (duplicate UUIDs, records out of bounds) do.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common.h"
#include "layout.h"

#define POOL_SIZE (16 * MIB)

/* ---- reading and writing the format ---- */

/* geometry and seed of a closed pool */
struct geo {
	uint64_t npages, data_off, hwm, seed;
};

static const struct pms_class classes[PMS_NCLASSES] = PMS_CLASS_TABLE;

/* read_geo -- geometry from superblock A (tests damage B or fix A) */
static struct geo
read_geo(const char *path)
{
	struct pms_super_page sp;
	struct geo g = {0};

	CU_ASSERT_EQUAL_FATAL(file_read_at(path, 0, &sp, sizeof(sp)), 0);
	g.npages = sp.sb.npages;
	g.data_off = sp.sb.data_off;
	g.hwm = sp.hwm;
	memcpy(&g.seed, sp.sb.pool_uuid, 8);
	g.seed ^= PMS_SB_SEED;
	return g;
}

static uint64_t
desc_off(uint64_t p)
{
	return PMS_DESC_OFF + p * sizeof(struct pms_desc);
}

static uint64_t
page_off(const struct geo *g, uint64_t p)
{
	return g->data_off + p * PMS_PAGE_SIZE;
}

static struct pms_desc
get_desc(const char *path, uint64_t p)
{
	struct pms_desc d;

	CU_ASSERT_EQUAL(file_read_at(path, desc_off(p), &d, sizeof(d)), 0);
	return d;
}

static void
put_desc(const char *path, uint64_t p, uint64_t w0, uint64_t w1)
{
	struct pms_desc d = {w0, w1};

	CU_ASSERT_EQUAL(file_write_at(path, desc_off(p), &d, sizeof(d)), 0);
}

static void
put64(const char *path, uint64_t off, uint64_t v)
{
	CU_ASSERT_EQUAL(file_write_at(path, off, &v, 8), 0);
}

/* small_check -- the identity check of a header (format.md) */
static uint64_t
small_check(uint64_t seed, const uint8_t *uuid, uint64_t size, uint64_t page,
	    unsigned slot, unsigned cls)
{
	struct pms_check_small in;

	memset(&in, 0, sizeof(in));
	memcpy(in.uuid, uuid, 16);
	in.size = size;
	in.page = page;
	in.slot = slot;
	in.cls = cls;
	uint64_t h = XXH3_64bits_withSeed(&in, sizeof(in), seed);
	return h ? h : 1;
}

/* rec_check -- the identity check of a record */
static uint64_t
rec_check(uint64_t seed, const struct pms_record *r, uint64_t rpage,
	  unsigned rslot)
{
	struct pms_check_record in;

	memset(&in, 0, sizeof(in));
	memcpy(in.uuid, r->uuid, 16);
	in.size = r->size;
	in.page = r->page;
	in.npages = r->npages;
	in.rpage = rpage;
	in.rslot = rslot;
	in.magic = PMS_RECORD_MAGIC;
	uint64_t h = XXH3_64bits_withSeed(&in, sizeof(in), seed);
	return h ? h : 1;
}

/* where an object lives */
struct loc {
	uint64_t page; /* slab page, or the record page of a large object */
	unsigned slot, cls;
	int large;
	struct pms_record rec; /* large objects */
	struct pms_obj_hdr hdr;
};

/* find -- locate a live object in a closed pool by its UUID */
static int
find(const char *path, const uuid_t id, struct loc *l)
{
	struct geo g = read_geo(path);
	uint64_t hwm = g.hwm < g.npages ? g.hwm : g.npages;

	for (uint64_t p = 0; p < hwm; p++) {
		struct pms_desc d = get_desc(path, p);

		if (PMS_DESC_TYPE(d.w0) != PMS_DESC_SLAB)
			continue;
		unsigned cls = PMS_DESC_SLAB_CLASS(d.w0);

		for (unsigned i = 0; i < classes[cls].nslots; i++) {
			if (!((d.w1 >> i) & 1))
				continue;
			memset(l, 0, sizeof(*l));
			l->page = p;
			l->slot = i;
			l->cls = cls;
			if (cls == PMS_CLASS_RECORD) {
				file_read_at(path,
					     page_off(&g, p) +
						     i * PMS_RECORD_SIZE,
					     &l->rec, sizeof(l->rec));
				l->large = 1;
				if (memcmp(l->rec.uuid, id, 16) == 0)
					return 0;
			} else {
				file_read_at(path,
					     page_off(&g, p) + i * PMS_HDR_SIZE,
					     &l->hdr, sizeof(l->hdr));
				if (memcmp(l->hdr.uuid, id, 16) == 0)
					return 0;
			}
		}
	}
	return -1;
}

/* hdr_off / rec_off -- pool offsets of a header or record */
static uint64_t
hdr_off(const char *path, const struct loc *l)
{
	struct geo g = read_geo(path);

	return page_off(&g, l->page) +
	       l->slot * (l->large ? PMS_RECORD_SIZE : PMS_HDR_SIZE);
}

/* ---- findings ---- */

#define MAXF 64

struct fl {
	unsigned n;
	unsigned kind[MAXF];
	int repairable[MAXF], repaired[MAXF];
	uint64_t off[MAXF];
	unsigned nonrep; /* findings not repairable, counted beyond MAXF */
	int stop_at;	 /* return nonzero at this call (1-based), 0: never */
};

/* collect -- the report callback: keep what was reported */
static int
collect(const struct pmemstore_finding *f, void *arg)
{
	struct fl *l = arg;

	if (l->n < MAXF) {
		l->kind[l->n] = f->kind;
		l->repairable[l->n] = f->repairable;
		l->repaired[l->n] = f->repaired;
		l->off[l->n] = f->offset;
	}
	l->nonrep += !f->repairable;
	CU_ASSERT_PTR_NOT_NULL(f->message);
	if (getenv("PMEMSTORE_TEST_VERBOSE"))
		fprintf(stderr,
			"  finding kind %u rep %d fixed %d off %llu: "
			"%s\n",
			f->kind, f->repairable, f->repaired,
			(unsigned long long)f->offset, f->message);
	l->n++;
	return l->stop_at && (int)l->n == l->stop_at;
}

/* check -- run the check, collect findings; returns (ret, errno) */
static int
check(const char *path, unsigned flags, struct fl *l, int *err)
{
	memset(l, 0, sizeof(*l));
	errno = 0;
	int r = pmemstore_check_report(path, flags, collect, l);
	*err = errno;
	return r;
}

/* has -- index of a finding of kind at off (off ~0: any), or -1 */
static int
has(const struct fl *l, unsigned kind, uint64_t off)
{
	for (unsigned i = 0; i < l->n && i < MAXF; i++)
		if (l->kind[i] == kind && (off == ~0ULL || l->off[i] == off))
			return (int)i;
	return -1;
}

/* expect_clean -- the pool checks clean, with and without REPAIR */
static void
expect_clean(const char *path)
{
	struct fl l;
	int err;
	int r = check(path, 0, &l, &err);

	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(l.n, 0);
	if (r != 0 || l.n != 0)
		fprintf(stderr, "%s: expected clean: %s\n", path,
			pmemstore_errormsg());
	r = check(path, PMEMSTORE_CHECK_REPAIR, &l, &err);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(l.n, 0);
}

/*
 * expect_one -- exactly one finding, of kind at off, with the given
 * repairability, and the check fails with err
 */
static void
expect_one(const char *path, unsigned kind, uint64_t off, int repairable,
	   int experr)
{
	struct fl l;
	int err;
	int r = check(path, 0, &l, &err);

	CU_ASSERT_EQUAL(r, -1);
	CU_ASSERT_EQUAL(err, experr);
	CU_ASSERT_EQUAL(l.n, 1);
	CU_ASSERT_EQUAL(l.kind[0], kind);
	CU_ASSERT_EQUAL(l.off[0], off);
	CU_ASSERT_EQUAL(l.repairable[0], repairable);
	CU_ASSERT_EQUAL(l.repaired[0], 0);
	if (l.n != 1 || l.kind[0] != kind || l.off[0] != off ||
	    l.repairable[0] != repairable || err != experr)
		fprintf(stderr,
			"expected 1 finding kind %u off %llu rep %d errno %d; "
			"got %u, first kind %u off %llu rep %d errno %d: %s\n",
			kind, (unsigned long long)off, repairable, experr, l.n,
			l.kind[0], (unsigned long long)l.off[0],
			l.repairable[0], err, pmemstore_errormsg());
}

/* expect_repaired -- REPAIR succeeds, reports every finding repaired */
static void
expect_repaired(const char *path, unsigned nfind)
{
	struct fl l;
	int err;
	int r = check(path, PMEMSTORE_CHECK_REPAIR, &l, &err);

	CU_ASSERT_EQUAL(r, 0);
	if (r)
		fprintf(stderr, "REPAIR failed: %s\n", pmemstore_errormsg());
	CU_ASSERT_EQUAL(l.n, nfind);
	for (unsigned i = 0; i < l.n && i < MAXF; i++) {
		CU_ASSERT_EQUAL(l.repairable[i], 1);
		CU_ASSERT_EQUAL(l.repaired[i], 1);
	}
	expect_clean(path);
}

/* expect_refused -- REPAIR refuses with err and writes nothing */
static void
expect_refused(const char *path, int experr)
{
	uint64_t d0, s0, d1, s1;
	struct fl l;
	int err;

	CU_ASSERT_EQUAL_FATAL(file_digest(path, &d0, &s0), 0);
	int r = check(path, PMEMSTORE_CHECK_REPAIR, &l, &err);

	CU_ASSERT_EQUAL(r, -1);
	CU_ASSERT_EQUAL(err, experr);
	CU_ASSERT(l.n >= 1);
	for (unsigned i = 0; i < l.n && i < MAXF; i++)
		CU_ASSERT_EQUAL(l.repaired[i], 0);
	CU_ASSERT_EQUAL_FATAL(file_digest(path, &d1, &s1), 0);
	CU_ASSERT_EQUAL(d0, d1);
	CU_ASSERT_EQUAL(s0, s1);
	CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(), "not"));
}

/* ---- the standard population ---- */

enum { OA, OB, OC, OL, OH, NSTD };
static const size_t std_size[NSTD] = {100, 110, 1000, 9000, 2 * MIB};

struct std {
	char *path;
	uuid_t id[NSTD];
	int live[NSTD];
	struct loc loc[NSTD];
};

/* std_make -- a closed pool with two small objects of one class, one of
 * another, a 3-page object and a 2 MiB one, all with pattern content */
static void
std_make(struct std *s, const char *name)
{
	s->path = test_pool_path(name);
	struct pmemstore *ps = pmemstore_create(s->path, POOL_SIZE, 0600);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	for (int i = 0; i < NSTD; i++) {
		test_uuid(s->id[i]);
		void *p = persist_alloc(ps, s->id[i], std_size[i], 0);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		pattern_fill(p, std_size[i], s->id[i]);
		persist(ps, p, std_size[i]);
		s->live[i] = 1;
	}
	CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
	for (int i = 0; i < NSTD; i++)
		CU_ASSERT_EQUAL_FATAL(find(s->path, s->id[i], &s->loc[i]), 0);
	expect_clean(s->path);
}

/* std_verify -- the live objects are there, intact; the others gone */
static void
std_verify(struct std *s)
{
	struct pmemstore *ps = pmemstore_open(s->path, PMEMSTORE_RDONLY);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	for (int i = 0; i < NSTD; i++) {
		size_t sz = 0;
		void *p = persist_get(ps, s->id[i], &sz);

		if (!s->live[i]) {
			CU_ASSERT_PTR_NULL(p);
			continue;
		}
		CU_ASSERT_PTR_NOT_NULL(p);
		if (p == NULL)
			continue;
		CU_ASSERT_EQUAL(sz, std_size[i]);
		CU_ASSERT_EQUAL(pattern_check(p, sz, s->id[i]), -1);
	}
	int n = 0;

	for (int i = 0; i < NSTD; i++)
		n += s->live[i];
	CU_ASSERT_EQUAL(count_objects(ps), (uint64_t)n);
	pmemstore_close(ps);
}

static void
std_done(struct std *s)
{
	test_pool_remove(s->path);
}

/* ---- clean pools ---- */

/* test_clean_fresh -- new pools of several sizes check clean */
static void
test_clean_fresh(void)
{
	static const size_t sizes[] = {8 * MIB, 16 * MIB, 70 * MIB, 300 * MIB,
				       4 * GIB};

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *path = test_pool_path("ck_fresh");
		struct pmemstore *ps = pmemstore_create(path, sizes[i], 0600);

		CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
		CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
		EXPECT_OK(pmemstore_check(path, 0));
		expect_clean(path);
		test_pool_remove(path);
	}
}

/*
 * churn -- random allocations and frees of slab, multi-page and huge
 * objects; the set of live UUIDs is kept in ids/live
 */
static void
churn(struct pmemstore *ps, uint64_t *rng, uuid_t *ids, int *live, size_t n,
      unsigned rounds)
{
	for (unsigned r = 0; r < rounds; r++) {
		size_t i = rnd_range(rng, 0, n - 1);

		if (live[i]) {
			CU_ASSERT_EQUAL(persist_free(ps, ids[i]), 0);
			live[i] = 0;
			continue;
		}
		uint64_t k = rnd_range(rng, 0, 99), sz;

		if (k < 70)
			sz = rnd_range(rng, 1, 2016);
		else if (k < 97)
			sz = rnd_range(rng, 2017, 200 * KIB);
		else
			sz = rnd_range(rng, 2 * MIB, 3 * MIB);
		rnd_uuid(rng, ids[i]);
		if (persist_alloc(ps, ids[i], sz, (k & 1) ? PERSIST_ZERO : 0) !=
		    NULL)
			live[i] = 1;
		else
			CU_ASSERT_EQUAL(errno, ENOMEM);
	}
}

/* test_clean_churn -- after many allocs and frees, and reopen cycles */
static void
test_clean_churn(void)
{
	enum { N = 3000 };
	static const size_t sizes[] = {16 * MIB, 96 * MIB};
	uint64_t rng = test_seed();

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		char *path = test_pool_path("ck_churn");
		uuid_t *ids = calloc(N, sizeof(uuid_t));
		int *live = calloc(N, sizeof(int));
		struct pmemstore *ps = pmemstore_create(path, sizes[s], 0600);

		CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
		for (int cycle = 0; cycle < 4; cycle++) {
			churn(ps, &rng, ids, live, N, 6000);
			CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
			expect_clean(path);
			ps = pmemstore_open(path, 0);
			CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
		}
		CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
		expect_clean(path);
		free(ids);
		free(live);
		test_pool_remove(path);
	}
}

/* test_clean_full -- a pool filled to ENOMEM, then partly freed */
static void
test_clean_full(void)
{
	enum { N = 20000 };
	char *path = test_pool_path("ck_full");
	uuid_t *ids = calloc(N, sizeof(uuid_t));
	struct pmemstore *ps = pmemstore_create(path, 8 * MIB, 0600);
	uint64_t rng = test_seed();
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	while (n < N) {
		uint64_t sz = (n % 3) ? rnd_range(&rng, 1, 2016)
				      : rnd_range(&rng, 2017, 40000);

		rnd_uuid(&rng, ids[n]);
		if (persist_alloc(ps, ids[n], sz, 0) == NULL) {
			CU_ASSERT_EQUAL(errno, ENOMEM);
			break;
		}
		n++;
	}
	CU_ASSERT(n > 100);
	CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
	expect_clean(path);
	ps = pmemstore_open(path, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	for (size_t i = 0; i < n; i += 2)
		CU_ASSERT_EQUAL(persist_free(ps, ids[i]), 0);
	CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
	expect_clean(path);
	free(ids);
	test_pool_remove(path);
}

/* ---- superblocks and the file ---- */

/* test_sb_one_copy -- each copy damaged alone: found, REPAIR restores */
static void
test_sb_one_copy(void)
{
	for (int c = 0; c < 2; c++) {
		struct std s;

		std_make(&s, "ck_sb1");
		uint64_t off = c ? PMS_SB_B_OFF : PMS_SB_A_OFF;
		uint64_t t = 0x1234;

		/* create_time: covered by the checksum */
		put64(s.path, off + offsetof(struct pms_super, create_time), t);
		expect_one(s.path, PMEMSTORE_FINDING_SUPERBLOCK, off, 1,
			   EUCLEAN);
		CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(),
					      "1 finding (1 repairable)"));
		expect_repaired(s.path, 1);
		struct pms_super a, b;

		file_read_at(s.path, PMS_SB_A_OFF, &a, sizeof(a));
		file_read_at(s.path, PMS_SB_B_OFF, &b, sizeof(b));
		CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
		std_verify(&s);
		std_done(&s);
	}
}

/* test_sb_both -- both copies damaged: not repairable, nothing written */
static void
test_sb_both(void)
{
	struct std s;
	struct fl l;
	int err;

	std_make(&s, "ck_sb2");
	put64(s.path, PMS_SB_A_OFF + 64, 1);
	put64(s.path, PMS_SB_B_OFF + 64, 2);
	CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
	CU_ASSERT_EQUAL(err, EUCLEAN);
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT(has(&l, PMEMSTORE_FINDING_SUPERBLOCK, PMS_SB_A_OFF) >= 0);
	CU_ASSERT(has(&l, PMEMSTORE_FINDING_SUPERBLOCK, PMS_SB_B_OFF) >= 0);
	CU_ASSERT_EQUAL(l.repairable[0], 0);
	expect_refused(s.path, EUCLEAN);
	std_done(&s);
}

/* test_sb_differ -- two valid copies that differ: not repairable */
static void
test_sb_differ(void)
{
	struct std s;
	struct pms_super b;

	std_make(&s, "ck_sbd");
	file_read_at(s.path, PMS_SB_B_OFF, &b, sizeof(b));
	b.create_time++;
	b.checksum =
		XXH64(&b, offsetof(struct pms_super, checksum), PMS_SB_SEED);
	file_write_at(s.path, PMS_SB_B_OFF, &b, sizeof(b));
	expect_one(s.path, PMEMSTORE_FINDING_SUPERBLOCK, PMS_SB_B_OFF, 0,
		   EUCLEAN);
	expect_refused(s.path, EUCLEAN);
	std_done(&s);
}

/* test_sb_version -- a future version: FORMAT, ENOTSUP */
static void
test_sb_version(void)
{
	struct std s;

	std_make(&s, "ck_ver");
	for (int c = 0; c < 2; c++) {
		struct pms_super b;
		uint64_t off = c ? PMS_SB_B_OFF : PMS_SB_A_OFF;

		file_read_at(s.path, off, &b, sizeof(b));
		b.version = PMS_FORMAT_VERSION + 1;
		b.checksum = XXH64(&b, offsetof(struct pms_super, checksum),
				   PMS_SB_SEED);
		file_write_at(s.path, off, &b, sizeof(b));
	}
	expect_one(s.path, PMEMSTORE_FINDING_FORMAT, 0, 0, ENOTSUP);
	char knows[32];

	snprintf(knows, sizeof(knows), "version %u)", PMS_FORMAT_VERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(), knows));
	expect_refused(s.path, ENOTSUP);
	std_done(&s);
}

/* test_sb_geometry -- valid copies whose geometry does not add up */
static void
test_sb_geometry(void)
{
	struct std s;

	std_make(&s, "ck_geo");
	for (int c = 0; c < 2; c++) {
		struct pms_super b;
		uint64_t off = c ? PMS_SB_B_OFF : PMS_SB_A_OFF;

		file_read_at(s.path, off, &b, sizeof(b));
		b.npages++;
		b.checksum = XXH64(&b, offsetof(struct pms_super, checksum),
				   PMS_SB_SEED);
		file_write_at(s.path, off, &b, sizeof(b));
	}
	expect_one(s.path, PMEMSTORE_FINDING_SUPERBLOCK, 0, 0, EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(), "geometry"));
	expect_refused(s.path, EUCLEAN);
	std_done(&s);
}

/* test_not_a_pool -- files that are not pools */
static void
test_not_a_pool(void)
{
	char *path = test_pool_path("ck_notpool");
	static char junk[3 * 4096];

	memset(junk, 0x5a, sizeof(junk));
	CU_ASSERT_EQUAL(file_create(path, junk, sizeof(junk)), 0);
	expect_one(path, PMEMSTORE_FINDING_FORMAT, 0, 0, EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(pmemstore_errormsg(), "not a pmemstore pool"));
	expect_refused(path, EUCLEAN);
	CU_ASSERT_EQUAL(file_create(path, junk, 100), 0);
	expect_one(path, PMEMSTORE_FINDING_FORMAT, 0, 0, EUCLEAN);
	CU_ASSERT_EQUAL(file_create(path, junk, 0), 0);
	expect_one(path, PMEMSTORE_FINDING_FORMAT, 0, 0, EUCLEAN);
	test_pool_remove(path);
}

/* test_truncated -- a file shorter than the pool it holds */
static void
test_truncated(void)
{
	struct std s;

	std_make(&s, "ck_trunc");
	CU_ASSERT_EQUAL(truncate(s.path, POOL_SIZE / 2), 0);
	expect_one(s.path, PMEMSTORE_FINDING_BOUNDS, 0, 0, EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(), "truncated"));
	expect_refused(s.path, EUCLEAN);
	std_done(&s);
}

/* test_hwm -- a mark word out of bounds beside a good one */
static void
test_hwm(void)
{
	struct std s;
	uint64_t off = PMS_SB_B_OFF + offsetof(struct pms_super_page, hwm);
	uint64_t h;

	std_make(&s, "ck_hwm");
	struct geo g = read_geo(s.path);

	put64(s.path, off, 0);
	expect_one(s.path, PMEMSTORE_FINDING_SUPERBLOCK, off, 1, EUCLEAN);
	expect_repaired(s.path, 1);
	file_read_at(s.path, off, &h, 8);
	CU_ASSERT_EQUAL(h, g.hwm);
	put64(s.path, off, g.npages + 1);
	expect_one(s.path, PMEMSTORE_FINDING_SUPERBLOCK, off, 1, EUCLEAN);
	expect_repaired(s.path, 1);
	file_read_at(s.path, off, &h, 8);
	CU_ASSERT_EQUAL(h, g.hwm);
	/* both low: objects above the mark could be hidden */
	put64(s.path, off, 1);
	put64(s.path, offsetof(struct pms_super_page, hwm), 1);
	expect_refused(s.path, EUCLEAN);
	std_verify(&s);
	std_done(&s);
}

/* ---- descriptors and slabs ---- */

/* test_desc_unknown -- a descriptor of an unknown type */
static void
test_desc_unknown(void)
{
	struct std s;

	std_make(&s, "ck_desc");
	struct geo g = read_geo(s.path);
	uint64_t p = g.hwm - 1;

	put_desc(s.path, p, 7, 0);
	expect_one(s.path, PMEMSTORE_FINDING_DESCRIPTOR, desc_off(p), 0,
		   EUCLEAN);
	expect_refused(s.path, EUCLEAN);
	/* a malformed slab word, and junk in a free descriptor */
	put_desc(s.path, p, PMS_DESC_SLAB_W0(3) | (1ULL << 20), 0);
	expect_one(s.path, PMEMSTORE_FINDING_DESCRIPTOR, desc_off(p), 0,
		   EUCLEAN);
	put_desc(s.path, p, 0x100, 0);
	expect_one(s.path, PMEMSTORE_FINDING_DESCRIPTOR, desc_off(p), 0,
		   EUCLEAN);
	std_done(&s);

	/* descriptors at or above the mark are not read */
	char *path = test_pool_path("ck_above");
	struct pmemstore *ps = pmemstore_create(path, 128 * MIB, 0600);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	pmemstore_close(ps);
	g = read_geo(path);
	CU_ASSERT_FATAL(g.hwm < g.npages);
	put_desc(path, g.hwm, 7, 7);
	put_desc(path, g.npages - 1, PMS_DESC_TAIL_W0(1), 0);
	expect_clean(path);
	put_desc(path, g.hwm - 1, 7, 7);
	expect_one(path, PMEMSTORE_FINDING_DESCRIPTOR, desc_off(g.hwm - 1), 0,
		   EUCLEAN);
	test_pool_remove(path);
}

/* test_bit_without_header -- set bit, header does not verify */
static void
test_bit_without_header(void)
{
	struct std s;

	std_make(&s, "ck_bit");
	struct loc *a = &s.loc[OA];
	struct pms_desc d = get_desc(s.path, a->page);
	unsigned slot = 0;

	while ((d.w1 >> slot) & 1)
		slot++;
	put_desc(s.path, a->page, d.w0, d.w1 | (1ULL << slot));
	struct loc x = *a;

	x.slot = slot;
	expect_one(s.path, PMEMSTORE_FINDING_INCOMPLETE, hdr_off(s.path, &x), 1,
		   EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(), "does not verify"));
	expect_repaired(s.path, 1);
	CU_ASSERT_EQUAL(get_desc(s.path, a->page).w1, d.w1);
	std_verify(&s);
	std_done(&s);
}

/* test_header_without_bit -- clear bit, header still verifies */
static void
test_header_without_bit(void)
{
	struct std s;

	std_make(&s, "ck_hdr");
	struct loc *a = &s.loc[OA];
	struct pms_desc d = get_desc(s.path, a->page);

	put_desc(s.path, a->page, d.w0, d.w1 & ~(1ULL << a->slot));
	/* format 2: the entry makes the object; the bit is a hint */
	expect_one(s.path, PMEMSTORE_FINDING_SLAB, hdr_off(s.path, a), 1,
		   EUCLEAN);
	expect_repaired(s.path, 1);
	CU_ASSERT_EQUAL(get_desc(s.path, a->page).w1, d.w1);
	std_verify(&s);
	std_done(&s);
}

/* test_slab_bits_beyond -- occupancy bits beyond the class's slots */
static void
test_slab_bits_beyond(void)
{
	struct std s;

	std_make(&s, "ck_beyond");
	struct loc *c = &s.loc[OC]; /* class of 1024 B: 3 slots */
	struct pms_desc d = get_desc(s.path, c->page);

	put_desc(s.path, c->page, d.w0, d.w1 | (1ULL << 40));
	expect_one(s.path, PMEMSTORE_FINDING_DESCRIPTOR, desc_off(c->page) + 8,
		   0, EUCLEAN);
	expect_refused(s.path, EUCLEAN);
	std_done(&s);
}

/* test_duplicate -- two live objects with one UUID */
static void
test_duplicate(void)
{
	struct std s;

	std_make(&s, "ck_dup");
	struct geo g = read_geo(s.path);
	struct loc *a = &s.loc[OA], x = s.loc[OA];
	struct pms_desc d = get_desc(s.path, a->page);
	unsigned slot = 0;

	while ((d.w1 >> slot) & 1)
		slot++;
	x.slot = slot;
	struct pms_obj_hdr h = a->hdr;

	h.check = small_check(g.seed, h.uuid, h.size, a->page, slot, a->cls);
	file_write_at(s.path, hdr_off(s.path, &x), &h, sizeof(h));
	put_desc(s.path, a->page, d.w0, d.w1 | (1ULL << slot));
	uint64_t off = hdr_off(s.path, &x);

	/* no entry names it: residue, its check zeroed by REPAIR */
	expect_one(s.path, PMEMSTORE_FINDING_INCOMPLETE, off, 1, EUCLEAN);
	/* an entry in place for it too: two live objects, one UUID */
	uint64_t hh = XXH3_64bits_withSeed(h.uuid, 16, g.seed ^ PMS_INDEX_SEED);
	uint64_t eo = page_off(&g, 0) + PMS_HASH_B2(hh) * 64ULL + 7 * 8;

	put64(s.path, eo, PMS_ENTRY(hh, PMS_LOC(a->page, slot)));
	struct fl l;
	int err;

	CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
	int i = has(&l, PMEMSTORE_FINDING_DUPLICATE,
		    slot > a->slot ? off : hdr_off(s.path, a));

	CU_ASSERT(i >= 0);
	if (i >= 0)
		CU_ASSERT_EQUAL(l.repairable[i], 0);
	expect_refused(s.path, EUCLEAN);
	std_done(&s);
}

/* ---- large objects ---- */

/* test_head_without_record -- an orphaned HEAD, and TAILs */
static void
test_orphans(void)
{
	struct std s;

	std_make(&s, "ck_orph");
	struct geo g = read_geo(s.path);
	uint64_t p = g.hwm - 10;

	put_desc(s.path, p, PMS_DESC_HEAD_W0(s.loc[OL].page, 7), 3);
	expect_one(s.path, PMEMSTORE_FINDING_ORPHAN, desc_off(p), 1, EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(), "no live object"));
	expect_repaired(s.path, 1);
	CU_ASSERT_EQUAL(get_desc(s.path, p).w0, 0);
	/* a range of TAILs: one finding; a VOLATILE page beside it is free
	 * (the volatile heap's, of an earlier run): none */
	put_desc(s.path, p, PMS_DESC_TAIL_W0(1), 0);
	put_desc(s.path, p + 1, PMS_DESC_TAIL_W0(2), 0);
	put_desc(s.path, p + 2, PMS_DESC_TAIL_W0(3), 0);
	put_desc(s.path, p + 5, PMS_DESC_VOLATILE, 0);

	struct fl l;
	int err;

	CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
	CU_ASSERT_EQUAL(err, EUCLEAN);
	CU_ASSERT_EQUAL(l.n, 1);
	CU_ASSERT(has(&l, PMEMSTORE_FINDING_ORPHAN, desc_off(p)) >= 0);
	CU_ASSERT(has(&l, PMEMSTORE_FINDING_ORPHAN, desc_off(p + 5)) < 0);
	expect_repaired(s.path, 1);
	CU_ASSERT_EQUAL(get_desc(s.path, p + 5).w0, PMS_DESC_VOLATILE);
	std_verify(&s);
	std_done(&s);
}

/* test_head_not_back -- a record whose HEAD points elsewhere */
static void
test_head_not_back(void)
{
	struct std s;

	std_make(&s, "ck_hnb");
	struct loc *L = &s.loc[OL];

	put_desc(s.path, L->rec.page, PMS_DESC_HEAD_W0(L->page, L->slot + 1),
		 L->rec.npages);
	struct fl l;
	int err;

	CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
	/* the record is half-published; its pages' TAILs are orphaned */
	CU_ASSERT(has(&l, PMEMSTORE_FINDING_INCOMPLETE, hdr_off(s.path, L)) >=
		  0);
	CU_ASSERT(has(&l, PMEMSTORE_FINDING_ORPHAN, desc_off(L->rec.page)) >=
		  0);
	/* and its entry is stale, the clean record counts it */
	CU_ASSERT(has(&l, PMEMSTORE_FINDING_INDEX, ~0ULL) >= 0);
	CU_ASSERT_EQUAL(l.n, 4);
	expect_repaired(s.path, 4);
	s.live[OL] = 0;
	std_verify(&s);
	std_done(&s);
}

/* write_record -- a record with a correct identity check, bit set */
static void
write_record(const char *path, uint64_t rpage, unsigned rslot,
	     struct pms_record *r)
{
	struct geo g = read_geo(path);
	struct pms_desc d = get_desc(path, rpage);

	r->check = rec_check(g.seed, r, rpage, rslot);
	file_write_at(path, page_off(&g, rpage) + rslot * PMS_RECORD_SIZE, r,
		      sizeof(*r));
	put_desc(path, rpage, d.w0, d.w1 | (1ULL << rslot));
}

/* test_record_bounds -- records outside the pool, overflowing runs */
static void
test_record_bounds(void)
{
	struct std s;

	std_make(&s, "ck_rbound");
	struct geo g = read_geo(s.path);
	struct loc *L = &s.loc[OL];
	static const uint64_t bad[][2] = {
		{0, 3},		 /* page: npages + 0 */
		{1, 3},		 /* beyond the pool */
		{2, ~0ULL - 1},	 /* page + npages overflows */
		{3, 1ULL << 62}, /* huge npages */
		{4, 0},		 /* empty run */
	};

	struct pms_desc d = get_desc(s.path, L->page);
	unsigned slot = 0;

	while ((d.w1 >> slot) & 1)
		slot++;
	struct loc x = *L;

	x.slot = slot;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pms_record r = L->rec;

		test_uuid(r.uuid); /* a second object, in a free slot */
		switch (bad[i][0]) {
		case 0:
			r.page = g.npages;
			break;
		case 1:
			r.page = g.npages - 1;
			break;
		case 2:
		case 3:
			r.page = g.npages / 2;
			break;
		default:
			break;
		}
		r.npages = bad[i][1];
		write_record(s.path, L->page, slot, &r);
		expect_one(s.path, PMEMSTORE_FINDING_BOUNDS,
			   hdr_off(s.path, &x), 0, EUCLEAN);
		expect_refused(s.path, EUCLEAN);
	}
	/* size that does not match the page count: RUN, not repairable */
	struct pms_record r = L->rec;

	test_uuid(r.uuid);
	r.page = g.npages / 2;
	r.size = 5 * PMS_PAGE_SIZE;
	write_record(s.path, L->page, slot, &r);
	expect_one(s.path, PMEMSTORE_FINDING_RUN, hdr_off(s.path, &x), 0,
		   EUCLEAN);
	expect_refused(s.path, EUCLEAN);
	std_done(&s);
}

/* test_tails -- a wrong TAIL distance, all TAILs of a huge run missing */
static void
test_tails(void)
{
	struct std s;

	std_make(&s, "ck_tail");
	struct loc *L = &s.loc[OL], *H = &s.loc[OH];

	put_desc(s.path, L->rec.page + 1, PMS_DESC_TAIL_W0(5), 0);
	expect_one(s.path, PMEMSTORE_FINDING_RUN, desc_off(L->rec.page + 1), 1,
		   EUCLEAN);
	expect_repaired(s.path, 1);
	CU_ASSERT_EQUAL(get_desc(s.path, L->rec.page + 1).w0,
			PMS_DESC_TAIL_W0(1));
	for (uint64_t q = 1; q < H->rec.npages; q++)
		put_desc(s.path, H->rec.page + q, 0, 0);
	expect_one(s.path, PMEMSTORE_FINDING_RUN, desc_off(H->rec.page + 1), 1,
		   EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(), "511 TAIL"));
	expect_repaired(s.path, 1);
	std_verify(&s);
	std_done(&s);
}

/* test_overlap -- a second live run over the first one's pages */
static void
test_overlap(void)
{
	struct std s;

	std_make(&s, "ck_over");
	struct loc *L = &s.loc[OL];
	struct pms_desc d = get_desc(s.path, L->page);
	unsigned slot = 0;

	while ((d.w1 >> slot) & 1)
		slot++;
	struct pms_record r;

	memset(&r, 0, sizeof(r));
	test_uuid(r.uuid);
	r.size = 8000;
	r.page = L->rec.page + 1;
	r.npages = 2;
	write_record(s.path, L->page, slot, &r);
	put_desc(s.path, r.page, PMS_DESC_HEAD_W0(L->page, slot), 2);

	struct fl l;
	int err;

	CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
	CU_ASSERT_EQUAL(err, EUCLEAN);
	int i = has(&l, PMEMSTORE_FINDING_OVERLAP, desc_off(r.page));

	CU_ASSERT(i >= 0);
	if (i >= 0)
		CU_ASSERT_EQUAL(l.repairable[i], 0);
	expect_refused(s.path, EUCLEAN);
	EXPECT_FAIL_PTR(pmemstore_open(s.path, 0), EIO);
	std_done(&s);
}

/* test_run_over_slab -- a run over a page holding small objects */
static void
test_run_over_slab(void)
{
	struct std s;

	std_make(&s, "ck_ovslab");
	struct loc *L = &s.loc[OL];
	struct pms_record r = L->rec;

	/* move the 3-page run so that it starts on A's slab page */
	r.page = s.loc[OA].page;
	write_record(s.path, L->page, L->slot, &r);
	put_desc(s.path, r.page, PMS_DESC_HEAD_W0(L->page, L->slot), 3);

	struct fl l;
	int err;

	CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
	/* pages: A's (now the HEAD), C's slab (live: overlap) */
	CU_ASSERT_EQUAL(s.loc[OC].page, r.page + 1);
	CU_ASSERT(has(&l, PMEMSTORE_FINDING_OVERLAP,
		      desc_off(s.loc[OC].page)) >= 0);
	expect_refused(s.path, EUCLEAN);
	std_done(&s);
}

/* ---- the index (format 2) ---- */

/* entry_off -- pool offset of the entry naming loc in segment page 0 */
static uint64_t
entry_off(const char *path, uint64_t loc)
{
	struct geo g = read_geo(path);
	static uint64_t seg[PMS_SEG_BUCKETS * PMS_BUCKET_ENTRIES];

	file_read_at(path, page_off(&g, 0), seg, sizeof(seg));
	for (unsigned i = 0; i < ARRAY_SIZE(seg); i++)
		if (seg[i] && PMS_ENTRY_LOC(seg[i]) == loc)
			return page_off(&g, 0) + i * 8ULL;
	return 0;
}

/* test_stale_entry -- an entry naming no object: found, REPAIR removes */
static void
test_stale_entry(void)
{
	struct std s;

	std_make(&s, "ck_stale");
	struct geo g = read_geo(s.path);
	struct loc *a = &s.loc[OA];
	struct pms_desc d = get_desc(s.path, a->page);
	unsigned slot = 0;
	uuid_t id;

	while ((d.w1 >> slot) & 1)
		slot++;
	test_uuid(id);
	uint64_t h = XXH3_64bits_withSeed(id, 16, g.seed ^ PMS_INDEX_SEED);
	uint64_t off = page_off(&g, 0) + PMS_HASH_B1(h) * 64ULL + 6 * 8;

	put64(s.path, off, PMS_ENTRY(h, PMS_LOC(a->page, slot)));
	expect_one(s.path, PMEMSTORE_FINDING_INDEX, off, 1, EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(), "stale"));
	expect_repaired(s.path, 1);
	uint64_t v = 1;

	file_read_at(s.path, off, &v, 8);
	CU_ASSERT_EQUAL(v, 0);
	std_verify(&s);
	std_done(&s);
}

/* test_missing_entry -- a live header lost its entry: REPAIR re-indexes */
static void
test_missing_entry(void)
{
	struct std s;

	std_make(&s, "ck_miss");
	for (int i = 0; i < NSTD; i += 3) { /* a small and a large one */
		struct loc *a = &s.loc[i];
		uint64_t off = entry_off(s.path, PMS_LOC(a->page, a->slot));

		CU_ASSERT_FATAL(off != 0);
		put64(s.path, off, 0);
		/* and the clean-close record counts one object too many */
		struct fl l;
		int err;

		CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
		CU_ASSERT_EQUAL(l.n, 2);
		CU_ASSERT(has(&l, PMEMSTORE_FINDING_INDEX,
			      hdr_off(s.path, a)) >= 0);
		CU_ASSERT(has(&l, PMEMSTORE_FINDING_SUPERBLOCK, ~0ULL) >= 0);
		expect_repaired(s.path, 2);
		CU_ASSERT(entry_off(s.path, PMS_LOC(a->page, a->slot)) != 0);
		std_verify(&s);
	}
	std_done(&s);
}

/* test_rebuild -- a zeroed segment page, then a segment's descriptors */
static void
test_rebuild(void)
{
	struct std s;
	struct fl l;
	int err;

	std_make(&s, "ck_rebuild");
	struct geo g = read_geo(s.path);
	static uint8_t zero[PMS_PAGE_SIZE];

	/* the entries of a quarter of the buckets: each object re-indexed */
	for (uint64_t q = 0; q < PMS_SEG_PAGES; q++)
		file_write_at(s.path, page_off(&g, q), zero, sizeof(zero));
	CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
	CU_ASSERT_EQUAL(l.n, NSTD + 1); /* and the clean record's counts */
	expect_repaired(s.path, NSTD + 1);
	std_verify(&s);
	/* the segment's descriptor gone: the directory names no segment */
	struct pms_desc d = get_desc(s.path, 0);
	uint64_t dw;

	file_read_at(s.path, offsetof(struct pms_super_page, dir), &dw, 8);
	uint64_t seg;

	file_read_at(s.path, page_off(&g, PMS_DIR_PAGE(dw)), &seg, 8);
	put_desc(s.path, seg, 0, 0);
	CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
	CU_ASSERT(has(&l, PMEMSTORE_FINDING_INDEX, ~0ULL) >= 0);
	CU_ASSERT_EQUAL(check(s.path, PMEMSTORE_CHECK_REPAIR, &l, &err), 0);
	expect_clean(s.path);
	std_verify(&s);
	/* both directory words damaged */
	put64(s.path, offsetof(struct pms_super_page, dir), ~0ULL);
	put64(s.path, PMS_SB_B_OFF + offsetof(struct pms_super_page, dir), 7);
	EXPECT_FAIL_PTR(pmemstore_open(s.path, 0), EIO);
	CU_ASSERT_EQUAL(check(s.path, PMEMSTORE_CHECK_REPAIR, &l, &err), 0);
	expect_clean(s.path);
	std_verify(&s);
	(void)d;
	std_done(&s);
}

/* test_dir_copies -- the two directory words differ (a doubling cut short) */
static void
test_dir_copies(void)
{
	struct std s;
	uint64_t dw, off = PMS_SB_B_OFF + offsetof(struct pms_super_page, dir);

	std_make(&s, "ck_dirw");
	file_read_at(s.path, offsetof(struct pms_super_page, dir), &dw, 8);
	put64(s.path, off, dw + 0x100); /* another page: not a directory */
	expect_one(s.path, PMEMSTORE_FINDING_INDEX, off, 1, EUCLEAN);
	expect_repaired(s.path, 1);
	uint64_t v;

	file_read_at(s.path, off, &v, 8);
	CU_ASSERT_EQUAL(v, dw);
	std_verify(&s);
	std_done(&s);
}

/* test_clean_counts -- a clean-close record whose counts are wrong */
static void
test_clean_counts(void)
{
	struct std s;

	std_make(&s, "ck_counts");
	for (int c = 0; c < 2; c++) {
		struct pms_clean r;
		uint64_t off = c * PMS_PAGE_SIZE +
			       offsetof(struct pms_super_page, clean);

		file_read_at(s.path, off, &r, sizeof(r));
		r.objects++;
		r.check = XXH64(&r, offsetof(struct pms_clean, check),
				PMS_CLEAN_SEED);
		file_write_at(s.path, off, &r, sizeof(r));
	}
	expect_one(s.path, PMEMSTORE_FINDING_SUPERBLOCK,
		   offsetof(struct pms_super_page, clean), 1, EUCLEAN);
	expect_repaired(s.path, 1);
	std_verify(&s);
	std_done(&s);
}

/* test_split_log -- a split decided but not finished: REPAIR finishes */
static void
test_split_log(void)
{
	enum { N = 2500 };
	char *path = test_pool_path("ck_split");
	struct pmemstore *ps = pmemstore_create(path, 64 * MIB, 0600);
	uuid_t *ids = calloc(N, sizeof(uuid_t));

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	for (int i = 0; i < N; i++) {
		test_uuid(ids[i]);
		CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, ids[i], 64, 0));
	}
	CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
	expect_clean(path);
	/* undo the last split's step 3 by hand: find a segment of depth
	 * >= 1 with prefix odd (a twin), give its range back to its sibling
	 * and write the log that names both */
	struct geo g = read_geo(path);
	uint64_t dw;

	file_read_at(path, offsetof(struct pms_super_page, dir), &dw, 8);
	unsigned G = PMS_DIR_DEPTH(dw);
	uint64_t nw = 1ULL << G, *dir = calloc(nw, 8);

	CU_ASSERT_FATAL(G >= 1);
	file_read_at(path, page_off(&g, PMS_DIR_PAGE(dw)), dir, nw * 8);
	int done = 0;

	for (uint64_t i = 0; i < nw && !done; i++) {
		struct pms_desc t = get_desc(path, dir[i]);
		unsigned L = PMS_SEG_DEPTH(t.w1);
		uint64_t px = PMS_SEG_PREFIX(t.w1);

		if (L == 0 || (px & 1) == 0)
			continue;
		uint64_t sib = dir[(px ^ 1) << (G - L)];
		struct pms_desc sd = get_desc(path, sib);

		if (PMS_SEG_DEPTH(sd.w1) != L)
			continue;
		/* the sibling back to depth L - 1, the twin's words to it */
		put_desc(path, sib, sd.w0, PMS_SEG_W1(L - 1, px >> 1));
		for (uint64_t j = 0; j < (1ULL << (G - L)); j++)
			put64(path,
			      page_off(&g, PMS_DIR_PAGE(dw)) +
				      ((px << (G - L)) + j) * 8,
			      sib);
		struct pms_split_log lg = {sib, dir[i], L - 1, 0};

		lg.check = XXH64(&lg, offsetof(struct pms_split_log, check),
				 PMS_SPLIT_SEED);
		file_write_at(path, offsetof(struct pms_super_page, split), &lg,
			      sizeof(lg));
		done = 1;
	}
	CU_ASSERT_FATAL(done);
	expect_one(path, PMEMSTORE_FINDING_INDEX,
		   offsetof(struct pms_super_page, split), 1, EUCLEAN);
	expect_repaired(path, 1);
	ps = pmemstore_open(path, PMEMSTORE_RDONLY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	for (int i = 0; i < N; i++)
		CU_ASSERT_PTR_NOT_NULL(persist_get(ps, ids[i], NULL));
	pmemstore_close(ps);
	free(dir);
	free(ids);
	test_pool_remove(path);
}

/* ---- recovery heals what REPAIR would ---- */

/* test_open_heals -- a crash state, then open + close: clean */
static void
test_open_heals(void)
{
	struct std s;

	std_make(&s, "ck_heal");
	struct loc *a = &s.loc[OA];
	struct pms_desc d = get_desc(s.path, a->page);

	put_desc(s.path, a->page, d.w0, d.w1 | (1ULL << 20)); /* no header */
	put_desc(s.path, s.loc[OH].rec.page + 7, 0, 0);	      /* a TAIL */
	/* after a crash: no clean-close record (the bits are hints) */
	put64(s.path, offsetof(struct pms_super_page, clean.check), 0);
	CU_ASSERT_EQUAL(pmemstore_check(s.path, 0), -1);
	struct pmemstore *ps = pmemstore_open(s.path, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	pmemstore_close(ps);
	expect_clean(s.path);
	std_verify(&s);
	std_done(&s);
}

/* ---- the interface ---- */

/* test_args -- flags, paths */
static void
test_args(void)
{
	struct std s;

	std_make(&s, "ck_args");
	EXPECT_FAIL_INT(pmemstore_check(s.path, 2), EINVAL);
	EXPECT_FAIL_INT(pmemstore_check(s.path, ~0U), EINVAL);
	EXPECT_FAIL_INT(pmemstore_check(NULL, 0), EINVAL);
	EXPECT_FAIL_INT(pmemstore_check(test_dir(), 0), EISDIR);
	char *nx = test_pool_path("ck_nonexistent");

	EXPECT_FAIL_INT(pmemstore_check(nx, 0), ENOENT);
	EXPECT_FAIL_INT(pmemstore_check(nx, PMEMSTORE_CHECK_REPAIR), ENOENT);
	free(nx);
	if (geteuid() != 0) {
		CU_ASSERT_EQUAL(chmod(s.path, 0), 0);
		EXPECT_FAIL_INT(pmemstore_check(s.path, 0), EACCES);
		CU_ASSERT_EQUAL(chmod(s.path, 0600), 0);
	}
	EXPECT_OK(pmemstore_check_report(s.path, 0, NULL, NULL));
	std_done(&s);
}

/* test_locked -- a pool that is open is not checked */
static void
test_locked(void)
{
	struct std s;

	std_make(&s, "ck_lock");
	struct pmemstore *ps = pmemstore_open(s.path, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	EXPECT_FAIL_INT(pmemstore_check(s.path, 0), EWOULDBLOCK);
	EXPECT_FAIL_INT(pmemstore_check(s.path, PMEMSTORE_CHECK_REPAIR),
			EWOULDBLOCK);
	CU_ASSERT_PTR_NOT_NULL(strstr(pmemstore_errormsg(), "in use"));
	pmemstore_close(ps);
	/* opened read-only elsewhere: a plain check shares the lock */
	ps = pmemstore_open(s.path, PMEMSTORE_RDONLY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	EXPECT_OK(pmemstore_check(s.path, 0));
	EXPECT_FAIL_INT(pmemstore_check(s.path, PMEMSTORE_CHECK_REPAIR),
			EWOULDBLOCK);
	pmemstore_close(ps);
	/* and the check leaves no lock behind */
	ps = pmemstore_open(s.path, 0);
	CU_ASSERT_PTR_NOT_NULL(ps);
	pmemstore_close(ps);
	std_done(&s);
}

/* test_callback -- kinds, offsets, order of several findings; stop */
static void
test_callback(void)
{
	struct std s;

	std_make(&s, "ck_cb");
	struct geo g = read_geo(s.path);
	struct loc *a = &s.loc[OA];
	struct pms_desc d = get_desc(s.path, a->page);

	put64(s.path, PMS_SB_B_OFF + 8, 0x77);		      /* SB B */
	put_desc(s.path, a->page, d.w0, d.w1 | (1ULL << 20)); /* bit */
	put_desc(s.path, g.hwm - 3, PMS_DESC_TAIL_W0(1), 0);  /* orphan */
	put_desc(s.path, g.hwm - 1, PMS_DESC_TAIL_W0(1), 0);  /* orphan */

	struct fl l;
	int err;
	struct loc x = *a;

	x.slot = 20;
	CU_ASSERT_EQUAL(check(s.path, 0, &l, &err), -1);
	CU_ASSERT_EQUAL(err, EUCLEAN);
	CU_ASSERT_EQUAL(l.n, 4);
	CU_ASSERT_EQUAL(l.kind[0], PMEMSTORE_FINDING_SUPERBLOCK);
	CU_ASSERT_EQUAL(l.off[0], PMS_SB_B_OFF);
	CU_ASSERT_EQUAL(l.kind[1], PMEMSTORE_FINDING_INCOMPLETE);
	CU_ASSERT_EQUAL(l.off[1], hdr_off(s.path, &x));
	CU_ASSERT_EQUAL(l.kind[2], PMEMSTORE_FINDING_ORPHAN);
	CU_ASSERT_EQUAL(l.off[2], desc_off(g.hwm - 3));
	CU_ASSERT_EQUAL(l.kind[3], PMEMSTORE_FINDING_ORPHAN);
	CU_ASSERT_EQUAL(l.off[3], desc_off(g.hwm - 1));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(pmemstore_errormsg(), "4 findings (4 repairable)"));

	/* a nonzero return stops the check */
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	errno = 0;
	CU_ASSERT_EQUAL(pmemstore_check_report(s.path, 0, collect, &l), -1);
	CU_ASSERT_EQUAL(errno, ECANCELED);
	CU_ASSERT_EQUAL(l.n, 2);

	/* REPAIR reports all four as repaired */
	expect_repaired(s.path, 4);
	std_verify(&s);
	std_done(&s);
}

/* ---- random damage: the classification agrees with recovery ---- */

/* read_file / write_file -- a whole pool file to and from memory */
static uint8_t *
read_file(const char *path, size_t len)
{
	uint8_t *b = malloc(len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL_FATAL(file_read_at(path, 0, b, len), 0);
	return b;
}

/* damage -- one random 8-byte store into the pool's metadata or slabs */
static void
damage(const char *path, const struct geo *g, uint64_t *rng, uint64_t used)
{
	uint64_t off, v = rnd_next(rng);
	unsigned what = (unsigned)rnd_range(rng, 0, 9);

	switch (what) {
	case 0: /* a superblock word, checksum recomputed half the time */
		off = rnd_range(rng, 0, 15) * 8 +
		      (rnd_range(rng, 0, 1) ? PMS_SB_B_OFF : 0);
		break;
	case 1: /* a mark word */
		off = (rnd_range(rng, 0, 1) ? PMS_SB_B_OFF : 0) +
		      offsetof(struct pms_super_page, hwm);
		v = rnd_range(rng, 0, g->npages + 2);
		break;
	case 2:
	case 3:
	case 4: /* a descriptor word, often a plausible one */
		off = desc_off(rnd_range(rng, 0, used)) +
		      8 * rnd_range(rng, 0, 1);
		switch (rnd_range(rng, 0, 4)) {
		case 0:
			v = PMS_DESC_TAIL_W0(rnd_range(rng, 0, 4));
			break;
		case 1:
			v = PMS_DESC_HEAD_W0(rnd_range(rng, 0, used),
					     rnd_range(rng, 0, 63));
			break;
		case 2:
			v = PMS_DESC_SLAB_W0(rnd_range(rng, 0, 15));
			break;
		case 3:
			v = rnd_range(rng, 0, 5);
			break;
		default:
			break;
		}
		break;
	default: /* a header or record word of a used page */
		off = page_off(g, rnd_range(rng, 0, used)) +
		      8 * rnd_range(rng, 0, 255);
		if (rnd_range(rng, 0, 1))
			v = 0;
		break;
	}
	if (what != 1 && rnd_range(rng, 0, 3) == 0) {
		/* flip one bit of what is there instead */
		uint64_t old = 0;

		file_read_at(path, off, &old, 8);
		v = old ^ (1ULL << rnd_range(rng, 0, 63));
	}
	put64(path, off, v);
	if (what == 0 && rnd_range(rng, 0, 1)) {
		struct pms_super sb;
		uint64_t base = off & ~(PMS_PAGE_SIZE - 1);

		file_read_at(path, base, &sb, sizeof(sb));
		sb.checksum = XXH64(&sb, offsetof(struct pms_super, checksum),
				    PMS_SB_SEED);
		file_write_at(path, base, &sb, sizeof(sb));
	}
}

/*
 * test_random_damage -- random damage to a populated pool: the check
 * never fails for another reason than the pool; a pool it finds clean
 * opens; a pool whose findings are all repairable is repaired (REPAIR's
 * second check is clean); otherwise REPAIR writes nothing
 */
static void
test_random_damage(void)
{
	enum { N = 300, ROUNDS = 400 };
	char *path = test_pool_path("ck_random");
	struct pmemstore *ps = pmemstore_create(path, 8 * MIB, 0600);
	uint64_t rng = test_seed();
	uuid_t *ids = calloc(N, sizeof(uuid_t));
	int *live = calloc(N, sizeof(int));
	unsigned clean = 0, repaired = 0, refused = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	churn(ps, &rng, ids, live, N, 700);
	CU_ASSERT_EQUAL(pmemstore_close(ps), 0);
	expect_clean(path);

	struct geo g = read_geo(path);
	uint64_t used = 0;

	for (uint64_t p = 0; p < g.hwm; p++)
		if (get_desc(path, p).w0 != 0)
			used = p;
	uint8_t *orig = read_file(path, 8 * MIB);

	for (unsigned r = 0; r < ROUNDS; r++) {
		struct fl l;
		int err;
		unsigned nd = (unsigned)rnd_range(&rng, 1, 3);

		for (unsigned i = 0; i < nd; i++)
			damage(path, &g, &rng, used + 1);
		int ret = check(path, 0, &l, &err);

		CU_ASSERT(ret == 0 || err == EUCLEAN || err == ENOTSUP);
		CU_ASSERT_EQUAL(ret == 0, l.n == 0);
		if (ret == 0) {
			ps = pmemstore_open(path, PMEMSTORE_RDONLY);
			CU_ASSERT_PTR_NOT_NULL(ps);
			if (ps == NULL)
				fprintf(stderr, "round %u: clean but: %s\n", r,
					pmemstore_errormsg());
			else
				pmemstore_close(ps);
			clean++;
		} else if (l.nonrep == 0) {
			ret = pmemstore_check(path, PMEMSTORE_CHECK_REPAIR);
			CU_ASSERT_EQUAL(ret, 0);
			if (ret)
				fprintf(stderr, "round %u: REPAIR: %s\n", r,
					pmemstore_errormsg());
			repaired++;
		} else {
			uint64_t d0, s0, d1, s1;

			file_digest(path, &d0, &s0);
			ret = pmemstore_check(path, PMEMSTORE_CHECK_REPAIR);
			CU_ASSERT_EQUAL(ret, -1);
			file_digest(path, &d1, &s1);
			CU_ASSERT_EQUAL(d0, d1);
			refused++;
		}
		CU_ASSERT_EQUAL_FATAL(file_write_at(path, 0, orig, 8 * MIB), 0);
	}
	printf("\n  random damage: %u rounds: %u clean, %u repaired, %u "
	       "refused ",
	       ROUNDS, clean, repaired, refused);
	CU_ASSERT(repaired > 0 && refused > 0);
	free(orig);
	free(ids);
	free(live);
	test_pool_remove(path);
}

/* ---- cost ---- */

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* median_check_us -- median (and least) time of a clean check, in us */
static double
median_check_us(const char *path, double *least)
{
	enum { RUNS = 21 };
	double t[RUNS];

	for (int i = 0; i < RUNS; i++) {
		double t0 = now_ms();

		CU_ASSERT_EQUAL(pmemstore_check(path, 0), 0);
		t[i] = (now_ms() - t0) * 1000.0;
	}
	qsort(t, RUNS, sizeof(t[0]), dbl_cmp);
	*least = t[0];
	return t[RUNS / 2];
}

/*
 * test_timing -- the cost of a check: a fresh 8 MiB pool, and a pool of
 * 10,000 objects (70% of 1 to 2016 bytes, 30% of 2 KiB to 64 KiB).  The
 * figures are printed; the bound asserted is loose (the check must stay
 * in the milliseconds: it runs on every crash image).
 */
static void
test_timing(void)
{
	enum { N = 10000 };
	char *path = test_pool_path("ck_time");
	struct pmemstore *ps = pmemstore_create(path, 8 * MIB, 0600);
	uint64_t rng = test_seed();

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	pmemstore_close(ps);
	double fmin, fresh = median_check_us(path, &fmin);

	test_pool_remove(path);
	path = test_pool_path("ck_time");
	ps = pmemstore_create(path, 1 * GIB, 0600);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	for (int i = 0; i < N; i++) {
		uuid_t id;
		uint64_t sz = rnd_range(&rng, 0, 99) < 70
				      ? rnd_range(&rng, 1, 2016)
				      : rnd_range(&rng, 2017, 64 * KIB);

		rnd_uuid(&rng, id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(persist_alloc(ps, id, sz, 0));
	}
	pmemstore_close(ps);
	struct geo g = read_geo(path);
	double lmin, full = median_check_us(path, &lmin);

	printf("\n  check timing: fresh 8 MiB pool %.0f us (least %.0f); 1 GiB "
	       "pool with %d objects (mark %llu pages) %.0f us (least %.0f); "
	       "medians of 21 ",
	       fresh, fmin, N, (unsigned long long)g.hwm, full, lmin);
	CU_ASSERT(fresh < 50000);
	CU_ASSERT(full < 1000000);
	test_pool_remove(path);
}

static CU_TestInfo clean_tests[] = {
	{"stale_entry", test_stale_entry},
	{"missing_entry", test_missing_entry},
	{"rebuild", test_rebuild},
	{"dir_copies", test_dir_copies},
	{"clean_counts", test_clean_counts},
	{"split_log", test_split_log},
	{"fresh", test_clean_fresh},
	{"churn", test_clean_churn},
	{"full", test_clean_full},
	{"open_heals", test_open_heals},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo super_tests[] = {
	{"one_copy", test_sb_one_copy},
	{"both", test_sb_both},
	{"differ", test_sb_differ},
	{"version", test_sb_version},
	{"geometry", test_sb_geometry},
	{"not_a_pool", test_not_a_pool},
	{"truncated", test_truncated},
	{"hwm", test_hwm},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo slab_tests[] = {
	{"desc_unknown", test_desc_unknown},
	{"bit_without_header", test_bit_without_header},
	{"header_without_bit", test_header_without_bit},
	{"bits_beyond", test_slab_bits_beyond},
	{"duplicate", test_duplicate},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo run_tests[] = {
	{"orphans", test_orphans},
	{"head_not_back", test_head_not_back},
	{"record_bounds", test_record_bounds},
	{"tails", test_tails},
	{"overlap", test_overlap},
	{"run_over_slab", test_run_over_slab},
	{"random_damage", test_random_damage},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo api_tests[] = {
	{"args", test_args},	     {"locked", test_locked},
	{"callback", test_callback}, {"timing", test_timing},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"check_clean", NULL, NULL, NULL, NULL, clean_tests},
	{"check_super", NULL, NULL, NULL, NULL, super_tests},
	{"check_slab", NULL, NULL, NULL, NULL, slab_tests},
	{"check_run", NULL, NULL, NULL, NULL, run_tests},
	{"check_api", NULL, NULL, NULL, NULL, api_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return run_suites(suites);
}
