/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_badinput.c -- tests of invalid arguments and damaged pool files
 *
 * Owns: NULL handles, UUIDs and pointers for every function, size 0 and
 * huge sizes, unknown flags; opening things that are not (valid) pools:
 * missing file, directory, empty, 1 byte, random bytes, a truncated pool,
 * one or both superblock copies damaged, a future format version, unknown
 * feature bits, bad geometry, garbage high-water marks and garbage
 * descriptors.  Every rejected open must leave the file byte-for-byte
 * unchanged; risky opens run in a forked child so that a crash (or a
 * sanitizer report) fails the test instead of killing the program.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"

/* a valid pool with some objects, used as a template */
static char *Template;
static uuid_t Tids[40];
static size_t Tsizes[40];

/* what a probe child reports, in memory shared with the parent */
struct probe_result {
	int code;	  /* 0 opened and used, errno if rejected, 200+ */
	uint64_t objects; /* objects seen when opened */
};

/* shared with probe children */
static struct probe_result *Probe_res;

/* suite_init -- build the template pool */
static int
suite_init(void)
{
	Probe_res = mmap(NULL, sizeof(*Probe_res), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (Probe_res == MAP_FAILED)
		return 1;
	Template = test_pool_path("bad_template");
	struct pmemstore *ps = pmemstore_create(Template, 16 * MIB, 0600);
	if (ps == NULL)
		return 1;
	for (unsigned i = 0; i < ARRAY_SIZE(Tids); i++) {
		test_uuid(Tids[i]);
		Tsizes[i] = i % 4 == 3 ? 1000 + i * 7000 : 10 + i * 37;
		void *p = persist_alloc(ps, Tids[i], Tsizes[i], 0);
		if (p == NULL) {
			pmemstore_close(ps);
			return 1;
		}
		pattern_fill(p, Tsizes[i], Tids[i]);
		persist(ps, p, Tsizes[i]);
	}
	return pmemstore_close(ps);
}

/* suite_fini -- remove the template */
static int
suite_fini(void)
{
	test_pool_remove(Template);
	munmap(Probe_res, sizeof(*Probe_res));
	return 0;
}

/* copy_template -- a fresh copy of the template pool (sparse-ish) */
static char *
copy_template(const char *name)
{
	char *path = test_pool_path(name);
	int in = open(Template, O_RDONLY);
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	struct stat st;
	fstat(in, &st);
	if (ftruncate(out, st.st_size) != 0)
		CU_FAIL("ftruncate");
	enum { CHUNK = 1 << 16 };
	char *buf = malloc(CHUNK);
	for (off_t off = 0; off < st.st_size; off += CHUNK) {
		ssize_t n = pread(in, buf, CHUNK, off);
		if (n <= 0)
			break;
		if (!mem_is(buf, 0, (size_t)n) &&
		    pwrite(out, buf, (size_t)n, off) != n)
			CU_FAIL("pwrite");
	}
	free(buf);
	close(in);
	close(out);
	return path;
}

/* verify_template_objects -- all template objects (+ extra) intact */
static void
verify_template_objects(struct pmemstore *ps, unsigned extra)
{
	unsigned bad = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(Tids); i++) {
		size_t sz = 0;
		void *p = persist_get(ps, Tids[i], &sz);
		if (p == NULL || sz != Tsizes[i] ||
		    pattern_check(p, sz, Tids[i]) != -1)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	struct pmemstore_stats st = get_stats(ps);
	CU_ASSERT_EQUAL(st.objects, ARRAY_SIZE(Tids) + extra);
	CU_ASSERT_EQUAL(count_objects(ps), ARRAY_SIZE(Tids) + extra);
	if (bad)
		fprintf(stderr, "%u template objects missing or damaged\n",
			bad);
}

/*
 * expect_rejected -- opening path (RW and RDONLY) fails with err (or any
 * error when err is 0) and leaves the file unchanged
 */
static void
expect_rejected(const char *path, int err, const char *what)
{
	static const unsigned flags[] = {0, PMEMSTORE_RDONLY};
	uint64_t d0 = 0, s0 = 0, d1 = 0, s1 = 0;
	int have = file_digest(path, &d0, &s0) == 0;
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		errno = 0;
		struct pmemstore *ps = pmemstore_open(path, flags[i]);
		int e = errno;
		CU_ASSERT_PTR_NULL(ps);
		if (ps != NULL) {
			fprintf(stderr, "%s: open(%u) succeeded\n", what,
				flags[i]);
			pmemstore_close(ps);
			continue;
		}
		if (err != 0) {
			CU_ASSERT_EQUAL(e, err);
		}
		if (err != 0 && e != err)
			fprintf(stderr, "%s: open(%u): %s, expected %s [%s]\n",
				what, flags[i], strerror(e), strerror(err),
				pmemstore_errormsg());
		CU_ASSERT_PTR_NOT_NULL(pmemstore_errormsg());
		if (have) {
			CU_ASSERT_EQUAL(file_digest(path, &d1, &s1), 0);
			CU_ASSERT_EQUAL(d0, d1);
			CU_ASSERT_EQUAL(s0, s1);
			if (d0 != d1 || s0 != s1)
				fprintf(stderr,
					"%s: rejected open changed "
					"the file\n",
					what);
		}
	}
}

/* test_null_args -- NULL handle, UUID, pointer for every function */
static void
test_null_args(void)
{
	char *path = test_pool_path("bad_null");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 8 * MIB, 0600));
	if (ps == NULL)
		goto out;
	uuid_t id;
	test_uuid(id);
	char *p = EXPECT_PTR(persist_alloc(ps, id, 64, 0));
	struct pmemstore_stats st;
	uuid_t out_id;

	EXPECT_FAIL_PTR(pmemstore_create(NULL, 8 * MIB, 0600), EINVAL);
	EXPECT_FAIL_PTR(pmemstore_open(NULL, 0), EINVAL);
	EXPECT_FAIL_INT(pmemstore_close(NULL), EINVAL);
	CU_ASSERT_EQUAL(pmemstore_is_pmem(NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(pmemstore_errormsg());

	EXPECT_FAIL_PTR(persist_alloc(NULL, id, 64, 0), EINVAL);
	EXPECT_FAIL_PTR(persist_alloc(ps, NULL, 64, 0), EINVAL);
	EXPECT_FAIL_PTR(persist_alloc(NULL, NULL, 0, 0), EINVAL);
	EXPECT_FAIL_PTR(persist_alloc_init(NULL, id, 64, NULL, NULL), EINVAL);
	EXPECT_FAIL_PTR(persist_alloc_init(ps, NULL, 64, NULL, NULL), EINVAL);
	EXPECT_FAIL_PTR(persist_alloc_init(ps, id, 64, NULL, NULL), EINVAL);
	EXPECT_FAIL_PTR(persist_get(NULL, id, NULL), EINVAL);
	EXPECT_FAIL_PTR(persist_get(ps, NULL, NULL), EINVAL);
	EXPECT_FAIL_INT(persist_free(NULL, id), EINVAL);
	EXPECT_FAIL_INT(persist_free(ps, NULL), EINVAL);
	EXPECT_FAIL_INT(persist_id_of(NULL, p, out_id), EINVAL);
	EXPECT_FAIL_INT(persist_id_of(ps, NULL, out_id), EINVAL);
	if (p != NULL)
		EXPECT_FAIL_INT(persist_id_of(ps, p, NULL), EINVAL);
	EXPECT_FAIL_INT(pmemstore_foreach(NULL, NULL, NULL), EINVAL);
	EXPECT_FAIL_INT(pmemstore_foreach(ps, NULL, NULL), EINVAL);
	EXPECT_FAIL_INT(pmemstore_stats(NULL, &st), EINVAL);
	EXPECT_FAIL_INT(pmemstore_stats(ps, NULL), EINVAL);

	/* helpers: NULL pool is a no-op */
	char buf[64] = {0};
	persist(NULL, buf, sizeof(buf));
	persist_flush(NULL, buf, sizeof(buf));
	persist_fence(NULL);
	persist_memcpy(NULL, buf, "abc", 3);
	persist_memset(NULL, buf, 1, 3);

	/* the pool is unharmed */
	CU_ASSERT_PTR_EQUAL(persist_get(ps, id, NULL), p);
	st = get_stats(ps);
	CU_ASSERT_EQUAL(st.objects, 1);
	EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* test_bad_sizes_flags -- size 0, SIZE_MAX, unknown flags */
static void
test_bad_sizes_flags(void)
{
	char *path = test_pool_path("bad_sizes");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 8 * MIB, 0600));
	if (ps == NULL)
		goto out;
	uuid_t id;
	test_uuid(id);
	struct pmemstore_stats s0 = get_stats(ps);
	EXPECT_FAIL_PTR(persist_alloc(ps, id, 0, 0), EINVAL);
	EXPECT_FAIL_PTR(persist_alloc(ps, id, SIZE_MAX, 0), ENOMEM);
	EXPECT_FAIL_PTR(persist_alloc(ps, id, SIZE_MAX - 63, 0), ENOMEM);
	EXPECT_FAIL_PTR(persist_alloc(ps, id, SIZE_MAX / 4096, 0), ENOMEM);
	EXPECT_FAIL_PTR(persist_alloc(ps, id, 64, 2), EINVAL);
	EXPECT_FAIL_PTR(persist_alloc(ps, id, 64, 0x80000000U), EINVAL);
	EXPECT_FAIL_PTR(persist_alloc_init(ps, id, SIZE_MAX, NULL, NULL),
			EINVAL);
	struct pmemstore_stats s1 = get_stats(ps);
	CU_ASSERT_EQUAL(s1.pages_free, s0.pages_free);
	CU_ASSERT_EQUAL(s1.objects, 0);
	EXPECT_OK(pmemstore_close(ps));

	/* unknown open flags, and the file is untouched */
	static const unsigned bad_flags[] = {
		2, 4, 0x100, 0x80000000U, ~0U, PMEMSTORE_RDONLY | 2};
	for (size_t i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		uint64_t d0, s0b, d1, s1b;
		file_digest(path, &d0, &s0b);
		EXPECT_FAIL_PTR(pmemstore_open(path, bad_flags[i]), EINVAL);
		file_digest(path, &d1, &s1b);
		CU_ASSERT_EQUAL(d0, d1);
	}
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL)
		pmemstore_close(ps);
out:
	test_pool_remove(path);
}

/* test_not_pools -- missing, directory, empty, tiny, random files */
static void
test_not_pools(void)
{
	char *path = test_pool_path("bad_missing");
	expect_rejected(path, ENOENT, "missing file");
	CU_ASSERT_EQUAL(access(path, F_OK), -1); /* not created */

	CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
	expect_rejected(path, EISDIR, "directory");
	rmdir(path);

	CU_ASSERT_EQUAL(file_create(path, "", 0), 0);
	expect_rejected(path, EINVAL, "empty file");

	CU_ASSERT_EQUAL(file_create(path, "P", 1), 0);
	expect_rejected(path, EINVAL, "1-byte file");

	/* just the magic, nothing else */
	CU_ASSERT_EQUAL(file_create(path, PMS_MAGIC, 8), 0);
	expect_rejected(path, 0, "magic only");

	uint64_t rng = test_seed() ^ 0x626164;
	size_t big = 16 * MIB;
	uint64_t *buf = malloc(big);
	for (size_t i = 0; i < big / 8; i++)
		buf[i] = rnd_next(&rng);
	CU_ASSERT_EQUAL(file_create(path, buf, 4096), 0);
	expect_rejected(path, EINVAL, "4 KiB random");
	CU_ASSERT_EQUAL(file_create(path, buf, big), 0);
	expect_rejected(path, EINVAL, "16 MiB random");
	/* zeros */
	memset(buf, 0, big);
	CU_ASSERT_EQUAL(file_create(path, buf, big), 0);
	expect_rejected(path, EINVAL, "16 MiB zeros");
	free(buf);
	test_pool_remove(path);
}

struct probe {
	const char *path;
	unsigned flags;
	struct probe_result *res;
};

struct walk_acc {
	uint64_t n, sum;
};

/* walk_cb -- foreach callback reading the whole object */
static int
walk_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	(void)id;
	struct walk_acc *acc = arg;
	const volatile unsigned char *b = ptr;
	acc->n++;
	for (size_t i = 0; i < size; i += 64)
		acc->sum += b[i];
	if (size > 0)
		acc->sum += b[size - 1];
	return 0;
}

/*
 * Lenient_counts -- random damage to headers of a cleanly closed pool:
 * format 2's open reads no header and trusts the clean-close record's
 * counts (docs/format.md), so the count may disagree with the objects a
 * walk verifies; pmemstore_check finds such damage.  Everything else must
 * still hold.
 */
static int Lenient_counts;

/*
 * probe_use -- in a child: open; if it succeeds, read every object, use
 * the pool, close.  Returns 0 when opened and used, the errno when
 * rejected, 200+ when the opened pool misbehaved.
 */
static int
probe_use(struct probe *pr)
{
	errno = 0;
	struct pmemstore *ps = pmemstore_open(pr->path, pr->flags);
	if (ps == NULL) {
		int e = errno;
		return e > 0 && e < 200 ? e : 199;
	}
	struct pmemstore_stats st;
	if (pmemstore_stats(ps, &st) != 0)
		return 201;
	if (st.pages_used + st.pages_free != st.pages_total)
		return 202;
	/* touch every byte of every object */
	struct walk_acc acc = {0, 0};
	if (pmemstore_foreach(ps, walk_cb, &acc) != 0)
		return 203;
	pr->res->objects = acc.n;
	if (acc.n != st.objects && !Lenient_counts)
		return 204;
	if (!(pr->flags & PMEMSTORE_RDONLY)) {
		static const size_t sizes[] = {1, 64, 2016, 5000, 1 * MIB};
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			uuid_t id;
			test_uuid(id);
			char *p = persist_alloc(ps, id, sizes[i], PERSIST_ZERO);
			if (p == NULL)
				continue; /* a damaged pool may be full */
			if (!mem_is(p, 0, sizes[i]))
				return 205;
			pattern_fill(p, sizes[i], id);
			persist(ps, p, sizes[i]);
			if (persist_free(ps, id) != 0)
				return 206;
		}
	}
	if (pmemstore_close(ps) != 0)
		return 207;
	return 0;
}

/*
 * probe_child -- the child's body: the outcome goes to shared memory and
 * the exit status is 0, so any other status (a signal, a sanitizer's
 * exit code) means the library crashed
 */
static int
probe_child(void *arg)
{
	struct probe *pr = arg;
	pr->res->code = probe_use(pr);
	return 0;
}

/*
 * probe -- open a damaged pool in children (RDONLY first, then RW);
 * never a crash; a rejection leaves the file unchanged.  Returns 1 if
 * the RW open was accepted, 0 if rejected, -1 on a crash / misbehaviour.
 */
static int
probe(const char *path, const char *what)
{
	int result = 0;
	static const unsigned flags[] = {PMEMSTORE_RDONLY, 0};
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		uint64_t d0 = 0, s0 = 0, d1 = 0, s1 = 0;
		file_digest(path, &d0, &s0);
		Probe_res->code = -1;
		Probe_res->objects = 0;
		struct probe pr = {path, flags[i], Probe_res};
		int st = run_in_child(probe_child, &pr);
		int r = Probe_res->code;
		file_digest(path, &d1, &s1);
		if (st != 0 || r < 0) {
			fprintf(stderr,
				"%s: open(%u) CRASHED (child status %d: %s)\n",
				what, flags[i], st,
				st < 0 ? strsignal(-st) : "exit code");
			CU_FAIL("damaged pool crashed the library");
			return -1;
		}
		if (r >= 200) {
			fprintf(stderr,
				"%s: open(%u) accepted, then failed %d\n", what,
				flags[i], r);
			CU_FAIL("damaged pool accepted but inconsistent");
			return -1;
		}
		if (r > 0) {
			printf("    %s: open(%u) rejected: %s\n", what,
			       flags[i], strerror(r));
			CU_ASSERT_EQUAL(d0, d1);
			CU_ASSERT_EQUAL(s0, s1);
			if (d0 != d1 || s0 != s1)
				fprintf(stderr,
					"%s: rejected open changed "
					"the file\n",
					what);
			if (flags[i] == 0)
				result = 0;
		} else {
			printf("    %s: open(%u) accepted, %lu objects\n", what,
			       flags[i], (unsigned long)Probe_res->objects);
			if (flags[i] == PMEMSTORE_RDONLY)
				CU_ASSERT_EQUAL(d0, d1);
			if (flags[i] == 0)
				result = 1;
		}
	}
	return result;
}

/* read_sb -- read a superblock page of a pool file */
static void
read_sb(const char *path, uint64_t off, struct pms_super_page *sp)
{
	CU_ASSERT_EQUAL(file_read_at(path, off, sp, sizeof(*sp)), 0);
}

/* write_sb -- write a superblock page back */
static void
write_sb(const char *path, uint64_t off, const struct pms_super_page *sp)
{
	CU_ASSERT_EQUAL(file_write_at(path, off, sp, sizeof(*sp)), 0);
}

/* fix_checksum -- recompute a superblock's checksum */
static void
fix_checksum(struct pms_super *sb)
{
	sb->checksum = test_xxh64(sb, offsetof(struct pms_super, checksum),
				  PMS_SB_SEED);
}

/* sb_edit -- apply fn to both (or one) superblock copies of a file */
static void
sb_edit(const char *path, int copies, void (*fn)(struct pms_super_page *),
	int fix)
{
	static const uint64_t offs[] = {PMS_SB_A_OFF, PMS_SB_B_OFF};
	for (int k = 0; k < 2; k++) {
		if (!(copies & (1 << k)))
			continue;
		struct pms_super_page sp;
		read_sb(path, offs[k], &sp);
		fn(&sp);
		if (fix)
			fix_checksum(&sp.sb);
		write_sb(path, offs[k], &sp);
	}
}

#define COPY_A 1
#define COPY_B 2
#define BOTH 3

/* test_truncated -- a pool cut short */
static void
test_truncated(void)
{
	static const uint64_t lens[] = {
		8 * MIB, 2 * MIB + 4096, 2 * MIB, 8192 + 16,
		8192,	 4096 + 200,	 4096,	  128};
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		char *path = copy_template("bad_trunc");
		CU_ASSERT_EQUAL(truncate(path, (off_t)lens[i]), 0);
		char what[64];
		snprintf(what, sizeof(what), "truncated to %lu",
			 (unsigned long)lens[i]);
		int r = probe(path, what);
		/* a pool whose file is shorter than it says is damaged */
		CU_ASSERT(r == 0);
		test_pool_remove(path);
	}
	/* and longer than it says: the extra tail is not part of it */
	char *path = copy_template("bad_longer");
	CU_ASSERT_EQUAL(truncate(path, 17 * MIB), 0);
	struct pmemstore *ps = pmemstore_open(path, 0);
	if (ps != NULL) {
		verify_template_objects(ps, 0);
		pmemstore_close(ps);
	} else {
		printf("\n    longer file rejected: %s\n",
		       pmemstore_errormsg());
	}
	test_pool_remove(path);
}

/* test_sb_one_copy -- one copy damaged: open uses the other */
static void
test_sb_one_copy(void)
{
	static const uint64_t offs[] = {PMS_SB_A_OFF, PMS_SB_B_OFF};
	/* magic, version, uuid, pool_size, create_time, reserved, checksum */
	static const size_t bytes[] = {0, 9, 20, 33, 70, 100, 121};
	for (size_t k = 0; k < ARRAY_SIZE(offs); k++)
		for (size_t b = 0; b < ARRAY_SIZE(bytes); b++) {
			char *path = copy_template("bad_sb1");
			struct pms_super_page sp;
			read_sb(path, offs[k], &sp);
			((uint8_t *)&sp.sb)[bytes[b]] ^= 0x5a;
			write_sb(path, offs[k], &sp);

			/* read-only first: must work and not write */
			uint64_t d0, s0, d1, s1;
			file_digest(path, &d0, &s0);
			struct pmemstore *ps =
				pmemstore_open(path, PMEMSTORE_RDONLY);
			CU_ASSERT_PTR_NOT_NULL(ps);
			if (ps != NULL) {
				verify_template_objects(ps, 0);
				pmemstore_close(ps);
			}
			file_digest(path, &d1, &s1);
			CU_ASSERT_EQUAL(d0, d1);

			ps = pmemstore_open(path, 0);
			CU_ASSERT_PTR_NOT_NULL(ps);
			if (ps == NULL) {
				fprintf(stderr,
					"copy %c byte %zu damaged: %s\n",
					k ? 'B' : 'A', bytes[b],
					pmemstore_errormsg());
			} else {
				verify_template_objects(ps, 0);
				/* and the pool is usable */
				uuid_t id;
				test_uuid(id);
				CU_ASSERT_PTR_NOT_NULL(
					persist_alloc(ps, id, 100, 0));
				EXPECT_OK(pmemstore_close(ps));
				ps = pmemstore_open(path, 0);
				CU_ASSERT_PTR_NOT_NULL(ps);
				if (ps != NULL) {
					verify_template_objects(ps, 1);
					pmemstore_close(ps);
				}
			}
			/* a restored copy must be valid again */
			struct pms_super_page a, bb;
			read_sb(path, PMS_SB_A_OFF, &a);
			read_sb(path, PMS_SB_B_OFF, &bb);
			if (k == 0 && b == 0)
				printf("\n    after open with A damaged: A "
				       "%s\n",
				       memcmp(&a.sb, &bb.sb, sizeof(a.sb)) == 0
					       ? "restored from B"
					       : "left as is");
			test_pool_remove(path);
		}
}

/* flip_time -- damage a checksummed byte (not the magic) */
static void
flip_time(struct pms_super_page *sp)
{
	sp->sb.create_time ^= 0x1234;
}

/* zero_magic -- no magic */
static void
zero_magic(struct pms_super_page *sp)
{
	memset(sp->sb.magic, 0, sizeof(sp->sb.magic));
}

/* bump_version -- a future format version */
static void
bump_version(struct pms_super_page *sp)
{
	sp->sb.version = PMS_FORMAT_VERSION + 1;
}

/* version_zero -- a version that never existed */
static void
version_zero(struct pms_super_page *sp)
{
	sp->sb.version = 0;
}

/* set_incompat -- an unknown feature bit */
static void
set_incompat(struct pms_super_page *sp)
{
	sp->sb.incompat = 1ULL << 17;
}

/* test_sb_both -- both copies damaged: EIO, file untouched */
static void
test_sb_both(void)
{
	char *path = copy_template("bad_sb2");
	sb_edit(path, BOTH, flip_time, 0);
	expect_rejected(path, EIO, "both superblocks damaged");
	test_pool_remove(path);

	/* checksum field itself damaged in both */
	path = copy_template("bad_sb2c");
	struct pms_super_page sp;
	for (int k = 0; k < 2; k++) {
		uint64_t off = k ? PMS_SB_B_OFF : PMS_SB_A_OFF;
		read_sb(path, off, &sp);
		sp.sb.checksum ^= 1;
		write_sb(path, off, &sp);
	}
	expect_rejected(path, EIO, "both checksums wrong");
	test_pool_remove(path);

	/* no magic in either copy: not a pool */
	path = copy_template("bad_magic");
	sb_edit(path, BOTH, zero_magic, 1);
	expect_rejected(path, EINVAL, "no magic (checksums fixed)");
	test_pool_remove(path);
	path = copy_template("bad_magic2");
	sb_edit(path, BOTH, zero_magic, 0);
	expect_rejected(path, EINVAL, "no magic");
	test_pool_remove(path);
}

/* test_future_version -- a newer format is refused, untouched */
static void
test_future_version(void)
{
	/*
	 * version changed, checksum left stale in both: refused (EIO as
	 * damaged, or ENOTSUP since a future format may checksum otherwise)
	 */
	char *path = copy_template("bad_ver_stale");
	sb_edit(path, BOTH, bump_version, 0);
	expect_rejected(path, 0, "version+1, stale checksums");
	test_pool_remove(path);

	/* version changed with valid checksums: ENOTSUP */
	path = copy_template("bad_ver");
	sb_edit(path, BOTH, bump_version, 1);
	expect_rejected(path, ENOTSUP, "version+1");
	test_pool_remove(path);

	/* only copy A is of the future, B valid current: still refuse? */
	path = copy_template("bad_ver_a");
	sb_edit(path, COPY_A, bump_version, 1);
	probe(path, "version+1 in copy A only");
	test_pool_remove(path);

	path = copy_template("bad_ver0");
	sb_edit(path, BOTH, version_zero, 1);
	expect_rejected(path, EIO, "version 0 (a torn copy)");
	test_pool_remove(path);

	/* an unknown incompatible feature */
	path = copy_template("bad_incompat");
	sb_edit(path, BOTH, set_incompat, 1);
	expect_rejected(path, 0, "unknown incompat feature");
	test_pool_remove(path);
}

/* geometry edits, applied with fixed checksums */

/* geo_page_size -- a page size this format does not use */
static void
geo_page_size(struct pms_super_page *sp)
{
	sp->sb.page_size = 8192;
}

/* geo_pool_size_big -- claims twice the file */
static void
geo_pool_size_big(struct pms_super_page *sp)
{
	sp->sb.pool_size *= 2;
}

/* geo_pool_size_huge -- claims 4 EiB */
static void
geo_pool_size_huge(struct pms_super_page *sp)
{
	sp->sb.pool_size = 1ULL << 62;
}

/* geo_pool_size_small -- smaller than its own metadata */
static void
geo_pool_size_small(struct pms_super_page *sp)
{
	sp->sb.pool_size = 4096;
}

/* geo_desc_off -- descriptors elsewhere than the format says */
static void
geo_desc_off(struct pms_super_page *sp)
{
	sp->sb.desc_off = 12288;
}

/* geo_data_off_unaligned -- data area not 2 MiB aligned */
static void
geo_data_off_unaligned(struct pms_super_page *sp)
{
	sp->sb.data_off += 4096;
}

/* geo_data_off_zero -- data area over the superblocks */
static void
geo_data_off_zero(struct pms_super_page *sp)
{
	sp->sb.data_off = 0;
}

/* geo_data_off_beyond -- data area far past the file */
static void
geo_data_off_beyond(struct pms_super_page *sp)
{
	sp->sb.data_off = 1ULL << 50;
}

/* geo_npages_more -- more pages than the file holds */
static void
geo_npages_more(struct pms_super_page *sp)
{
	sp->sb.npages += 600;
}

/* geo_npages_huge -- more pages than the format allows */
static void
geo_npages_huge(struct pms_super_page *sp)
{
	sp->sb.npages = PMS_MAX_NPAGES + 1;
}

/* geo_npages_max -- UINT64_MAX pages (overflows sizes) */
static void
geo_npages_max(struct pms_super_page *sp)
{
	sp->sb.npages = UINT64_MAX;
}

/* geo_npages_zero -- no data pages at all */
static void
geo_npages_zero(struct pms_super_page *sp)
{
	sp->sb.npages = 0;
}

/* test_bad_geometry -- valid checksums over impossible geometry */
static void
test_bad_geometry(void)
{
	static const struct {
		const char *what;
		void (*fn)(struct pms_super_page *);
	} cases[] = {
		{"page_size 8192", geo_page_size},
		{"pool_size 2x file", geo_pool_size_big},
		{"pool_size 2^62", geo_pool_size_huge},
		{"pool_size 4096", geo_pool_size_small},
		{"desc_off 12288", geo_desc_off},
		{"data_off unaligned", geo_data_off_unaligned},
		{"data_off 0", geo_data_off_zero},
		{"data_off 2^50", geo_data_off_beyond},
		{"npages +600", geo_npages_more},
		{"npages > max", geo_npages_huge},
		{"npages UINT64_MAX", geo_npages_max},
		{"npages 0", geo_npages_zero},
	};
	printf("\n");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *path = copy_template("bad_geo");
		sb_edit(path, BOTH, cases[i].fn, 1);
		int r = probe(path, cases[i].what);
		CU_ASSERT_EQUAL(r, 0);
		if (r != 0)
			fprintf(stderr, "%s: accepted (%d)\n", cases[i].what,
				r);
		test_pool_remove(path);
	}
}

/* hwm edits (outside the checksum) */

/* hwm_max -- high-water mark far too large */
static void
hwm_max(struct pms_super_page *sp)
{
	sp->hwm = UINT64_MAX;
}

/* hwm_zero -- high-water mark 0 */
static void
hwm_zero(struct pms_super_page *sp)
{
	sp->hwm = 0;
}

/* hwm_one -- high-water mark 1 */
static void
hwm_one(struct pms_super_page *sp)
{
	sp->hwm = 1;
}

/* test_hwm -- garbage high-water marks */
static void
test_hwm(void)
{
	/* too large: clamped to npages; everything is still there */
	char *path = copy_template("bad_hwm");
	sb_edit(path, BOTH, hwm_max, 0);
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		verify_template_objects(ps, 0);
		pmemstore_close(ps);
	}
	test_pool_remove(path);

	/* one copy too large, the other normal */
	path = copy_template("bad_hwm_a");
	sb_edit(path, COPY_A, hwm_max, 0);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		verify_template_objects(ps, 0);
		pmemstore_close(ps);
	}
	test_pool_remove(path);

	/* one copy zero: the larger one wins */
	path = copy_template("bad_hwm_b0");
	sb_edit(path, COPY_B, hwm_zero, 0);
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		verify_template_objects(ps, 0);
		pmemstore_close(ps);
	}
	test_pool_remove(path);

	/* both too small: objects may be lost, but no crash */
	printf("\n");
	path = copy_template("bad_hwm_0");
	sb_edit(path, BOTH, hwm_zero, 0);
	probe(path, "hwm 0 in both");
	test_pool_remove(path);
	path = copy_template("bad_hwm_1");
	sb_edit(path, BOTH, hwm_one, 0);
	probe(path, "hwm 1 in both");
	test_pool_remove(path);
}

/* template geometry, read from its superblock */
struct geo {
	uint64_t npages, data_off, hwm;
	struct pms_desc *desc; /* npages entries */
};

/* geo_read -- descriptors and geometry of a pool file */
static void
geo_read(const char *path, struct geo *g)
{
	struct pms_super_page a, b;
	read_sb(path, PMS_SB_A_OFF, &a);
	read_sb(path, PMS_SB_B_OFF, &b);
	g->npages = a.sb.npages;
	g->data_off = a.sb.data_off;
	g->hwm = a.hwm > b.hwm ? a.hwm : b.hwm;
	if (g->hwm > g->npages)
		g->hwm = g->npages;
	g->desc = calloc(g->npages, sizeof(struct pms_desc));
	CU_ASSERT_EQUAL(file_read_at(path, PMS_DESC_OFF, g->desc,
				     g->npages * sizeof(struct pms_desc)),
			0);
}

/* find_desc -- first descriptor of a type (and class, for slabs) */
static long
find_desc(const struct geo *g, unsigned type, int cls)
{
	for (uint64_t i = 0; i < g->npages; i++) {
		uint64_t w0 = g->desc[i].w0;
		if (PMS_DESC_TYPE(w0) != type)
			continue;
		if (type == PMS_DESC_SLAB && cls >= 0 &&
		    (int)PMS_DESC_SLAB_CLASS(w0) != cls)
			continue;
		if (type == PMS_DESC_SLAB && cls < 0 &&
		    PMS_DESC_SLAB_CLASS(w0) == PMS_CLASS_RECORD)
			continue;
		return (long)i;
	}
	return -1;
}

/* last_used -- one past the last non-free descriptor */
static uint64_t
last_used(const struct geo *g)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < g->npages; i++)
		if (g->desc[i].w0 != 0)
			n = i + 1;
	return n;
}

/* nonfree -- number of non-free descriptors */
static uint64_t
nonfree(const struct geo *g)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < g->npages; i++)
		if (g->desc[i].w0 != 0)
			n++;
	return n;
}

/* put_desc -- write descriptor i of a pool file */
static void
put_desc(const char *path, uint64_t i, uint64_t w0, uint64_t w1)
{
	struct pms_desc d = {w0, w1};
	CU_ASSERT_EQUAL(file_write_at(path, PMS_DESC_OFF + i * sizeof(d), &d,
				      sizeof(d)),
			0);
}

/* test_garbage_descriptors -- descriptors that point anywhere */
static void
test_garbage_descriptors(void)
{
	struct geo g;
	geo_read(Template, &g);
	long head = find_desc(&g, PMS_DESC_HEAD, -1);
	long slab = find_desc(&g, PMS_DESC_SLAB, -1);
	long rec = find_desc(&g, PMS_DESC_SLAB, PMS_CLASS_RECORD);
	uint64_t used = last_used(&g);
	printf("\n    template: npages %lu hwm %lu used %lu head %ld slab "
	       "%ld record %ld\n",
	       (unsigned long)g.npages, (unsigned long)g.hwm,
	       (unsigned long)used, head, slab, rec);
	CU_ASSERT(head >= 0 && slab >= 0 && rec >= 0);
	if (head < 0 || slab < 0 || rec < 0)
		goto out;
	uint64_t rng = test_seed() ^ 0x64657363;
	char *path;
	char what[80];

	/* 1: random bytes over the first 64 descriptors */
	path = copy_template("bad_desc");
	for (uint64_t i = 0; i < 64 && i < g.npages; i++)
		put_desc(path, i, rnd_next(&rng), rnd_next(&rng));
	probe(path, "random descriptors");
	test_pool_remove(path);

	/* 2: 0xff over every descriptor below the high-water mark */
	path = copy_template("bad_desc");
	{
		size_t len = g.hwm * sizeof(struct pms_desc);
		void *ff = malloc(len);
		memset(ff, 0xff, len);
		CU_ASSERT_EQUAL(file_write_at(path, PMS_DESC_OFF, ff, len), 0);
		free(ff);
	}
	probe(path, "all descriptors 0xff");
	test_pool_remove(path);

	/* 3: a head claiming a huge run */
	path = copy_template("bad_desc");
	put_desc(path, (uint64_t)head, g.desc[head].w0, 1ULL << 40);
	probe(path, "head with 2^40 pages");
	test_pool_remove(path);

	/* 4: a head claiming a run past the end */
	path = copy_template("bad_desc");
	put_desc(path, (uint64_t)head, g.desc[head].w0,
		 g.npages - (uint64_t)head + 1);
	probe(path, "head run past the end");
	test_pool_remove(path);

	/* 5: a head whose record page is out of bounds */
	path = copy_template("bad_desc");
	put_desc(path, (uint64_t)head,
		 PMS_DESC_HEAD_W0(g.npages + 7,
				  PMS_DESC_HEAD_RSLOT(g.desc[head].w0)),
		 g.desc[head].w1);
	probe(path, "head record page out of bounds");
	test_pool_remove(path);

	/* 6: a head whose record is itself / a free page */
	path = copy_template("bad_desc");
	put_desc(path, (uint64_t)head, PMS_DESC_HEAD_W0((uint64_t)head, 63),
		 g.desc[head].w1);
	probe(path, "head record on itself");
	test_pool_remove(path);

	/* 7: tails pointing before page 0 and far away */
	path = copy_template("bad_desc");
	put_desc(path, 3, PMS_DESC_TAIL_W0(1000000), 0);
	put_desc(path, used, PMS_DESC_TAIL_W0(1), 0);
	put_desc(path, used + 1, PMS_DESC_TAIL_W0(0), 0);
	probe(path, "stray tails");
	test_pool_remove(path);

	/* 8: a slab of a class that does not exist, all bits set */
	path = copy_template("bad_desc");
	put_desc(path, (uint64_t)slab, PMS_DESC_SLAB_W0(200), ~0ULL);
	probe(path, "slab class 200");
	test_pool_remove(path);
	path = copy_template("bad_desc");
	put_desc(path, (uint64_t)slab, PMS_DESC_SLAB_W0(PMS_NCLASSES), ~0ULL);
	probe(path, "slab class NCLASSES");
	test_pool_remove(path);

	/* 9: bits beyond the slots of the class */
	path = copy_template("bad_desc");
	put_desc(path, (uint64_t)slab, g.desc[slab].w0, ~0ULL);
	probe(path, "slab bitmap all ones");
	test_pool_remove(path);

	/* 10: every record slot claimed */
	path = copy_template("bad_desc");
	put_desc(path, (uint64_t)rec, g.desc[rec].w0, ~0ULL);
	probe(path, "record bitmap all ones");
	test_pool_remove(path);

	/* 11: a record slab on a page of random bytes */
	path = copy_template("bad_desc");
	{
		uint64_t buf[512];
		for (int i = 0; i < 512; i++)
			buf[i] = rnd_next(&rng);
		CU_ASSERT_EQUAL(file_write_at(path, g.data_off + used * 4096,
					      buf, sizeof(buf)),
				0);
		put_desc(path, used, PMS_DESC_SLAB_W0(PMS_CLASS_RECORD), ~0ULL);
		put_desc(path, used + 1, PMS_DESC_SLAB_W0(1), ~0ULL);
	}
	probe(path, "slabs over random pages");
	test_pool_remove(path);

	/* 12: reserved and unknown types everywhere */
	for (unsigned t = PMS_DESC_VOLATILE; t < 16; t++) {
		path = copy_template("bad_desc");
		for (uint64_t i = 0; i < used + 8; i++)
			put_desc(path, i, t | (rnd_next(&rng) << 4),
				 rnd_next(&rng));
		snprintf(what, sizeof(what), "all descriptors type %u", t);
		probe(path, what);
		test_pool_remove(path);
	}

	/* 13: byte-level fuzz of descriptors and slab headers */
	for (int round = 0; round < 24; round++) {
		path = copy_template("bad_fuzz");
		for (int k = 0; k < 6; k++) {
			uint64_t off;
			if (rnd_range(&rng, 0, 1))
				off = PMS_DESC_OFF +
				      rnd_range(&rng, 0, used * 16 - 1);
			else
				off = g.data_off +
				      rnd_range(&rng, 0, used - 1) * 4096 +
				      rnd_range(&rng, 0, 2047);
			uint8_t byte = (uint8_t)rnd_next(&rng);
			CU_ASSERT_EQUAL(file_write_at(path, off, &byte, 1), 0);
		}
		snprintf(what, sizeof(what), "fuzz round %d", round);
		Lenient_counts = 1;
		probe(path, what);
		Lenient_counts = 0;
		test_pool_remove(path);
	}
out:
	free(g.desc);
}

/* test_ignored_bits -- what the format says is ignored is ignored */
static void
test_ignored_bits(void)
{
	struct geo g;
	geo_read(Template, &g);
	uint64_t used = last_used(&g);
	uint64_t rng = test_seed() ^ 0x6967;

	/* w1 of a free descriptor is ignored */
	char *path = copy_template("bad_freew1");
	for (uint64_t i = used; i < g.hwm && i < used + 200; i++)
		put_desc(path, i, 0, rnd_next(&rng) | 1);
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		verify_template_objects(ps, 0);
		struct pmemstore_stats st = get_stats(ps);
		CU_ASSERT_EQUAL(st.pages_used, nonfree(&g));
		/* the pages are allocatable */
		uuid_t id;
		test_uuid(id);
		CU_ASSERT_PTR_NOT_NULL(persist_alloc(ps, id, 300 * KIB, 0));
		pmemstore_close(ps);
	}
	test_pool_remove(path);

	/* VOLATILE pages are reclaimed at open */
	path = copy_template("bad_volatile");
	for (uint64_t i = used; i < g.hwm && i < used + 100; i++)
		put_desc(path, i, PMS_DESC_VOLATILE, rnd_next(&rng));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		verify_template_objects(ps, 0);
		struct pmemstore_stats st = get_stats(ps);
		CU_ASSERT_EQUAL(st.pages_used, nonfree(&g));
		pmemstore_close(ps);
	}
	test_pool_remove(path);

	/* a slab bit set over an empty (never written) header */
	path = copy_template("bad_emptyhdr");
	put_desc(path, used + 3, PMS_DESC_SLAB_W0(1), 1);
	put_desc(path, used + 4, PMS_DESC_SLAB_W0(PMS_CLASS_RECORD), 1);
	ps = pmemstore_open(path, 0);
	if (ps != NULL) {
		/* no object appears from a header that does not verify */
		verify_template_objects(ps, 0);
		pmemstore_close(ps);
	} else {
		printf("\n    slab bit over empty header: rejected (%s)\n",
		       pmemstore_errormsg());
	}
	test_pool_remove(path);
	free(g.desc);
}

static CU_TestInfo badinput_tests[] = {
	{"null_args", test_null_args},
	{"bad_sizes_flags", test_bad_sizes_flags},
	{"not_pools", test_not_pools},
	{"truncated", test_truncated},
	{"sb_one_copy", test_sb_one_copy},
	{"sb_both", test_sb_both},
	{"future_version", test_future_version},
	{"bad_geometry", test_bad_geometry},
	{"hwm", test_hwm},
	{"garbage_descriptors", test_garbage_descriptors},
	{"ignored_bits", test_ignored_bits},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"badinput", suite_init, suite_fini, NULL, NULL, badinput_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
