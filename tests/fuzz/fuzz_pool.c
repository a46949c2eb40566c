/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_pool.c -- owns the fuzz entry point LLVMFuzzerTestOneInput, shared
 * by the libFuzzer and AFL++ builds: build a pool file from the input
 * (fuzz_input.h), check it, repair a copy, open it, run the input's script
 * of operations, close, and assert what must hold whatever the file held.
 *
 * Any call may fail on a damaged pool; nothing may crash, leak, hang or
 * trip a sanitizer, and these oracles abort when violated:
 *   - pmemstore_check(0) returns 0  =>  pmemstore_open succeeds, and no
 *     walk of the index fails;
 *   - check with REPAIR returns 0   =>  open succeeds, a second check
 *     returns 0, and the objects are those an open of the unrepaired
 *     file finds (when that open and its walk succeed) -- or more of
 *     them when REPAIR said it re-indexes or rebuilds (a clean pool that
 *     lost an entry, a damaged index): then every object the unrepaired
 *     open finds is still there, at the same place;
 *   - an open for writing succeeded, no call (walks and close included)
 *     failed with EIO, and the open did not trust a damaged pool (below)
 *     =>  after close, pmemstore_check(0) finds nothing at all when it
 *     found nothing before the open; else nothing but stale index entries
 *     and findings it made before the open (same kind, same offset: the
 *     open adds no damage, and need not remove what it never reads, such
 *     as a malformed segment descriptor);
 *   - every object foreach shows is what persist_get and persist_id_of
 *     (first and last byte) say, lies inside the data area, and overlaps
 *     no other; stats agree with the walk; a freed UUID is gone;
 *   - a reopen (FZ_F_REOPEN) finds exactly the objects the script left.
 * A pool closed cleanly (its clean-close record verifies) is trusted by
 * open, which reads no header or entry then: damage after the close that
 * the descriptors do not show stays unseen by design (docs/format.md).
 * When such an open trusts a pool whose check found more than stale
 * entries, the stats and after-close oracles are off.  The check oracles
 * are on only when pmemstore_check is implemented (not the ENOSYS
 * scaffold).
 *
 * Environment (read once): PMS_FUZZ_FIX_CHECKSUMS=1 recomputes checksums
 * after decoding (fuzz_input.c); PMS_FUZZ_MAX_SIZE caps the file size;
 * PMS_FUZZ_SAVE=PREFIX writes the pool files to PREFIX.a and PREFIX.b
 * when an oracle fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pmemstore.h"
#include "pool.h"
#include "fuzz_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd_a = -1, fd_b = -1;
static char path_a[64], path_b[64];
static int fix_mode, check_real;
static uint64_t max_size = FZ_DEFAULT_MAX_SIZE;

/* an object as foreach shows it */
struct fz_obj {
	uint8_t uuid[16];
	uint64_t size;
	uint64_t off; /* from data page 0 */
};

#define FZ_SNAP_MAX 65536

struct snap {
	struct fz_obj *v;
	size_t n;
	int truncated;
	uint64_t bytes;
};

/* the state of one run of a script */
struct run {
	struct pmemstore *ps;
	int rdonly;
	int broken; /* a call failed with EIO: the media state is unknown */
	int clean;  /* the check before the open found nothing */
	int walked; /* the last walk of the index succeeded */
	uint8_t ids[16][16];
	unsigned nids;
};

#define FZ_KEEP_FINDINGS 256

/* what one check reported (summary_cb) */
struct findings {
	unsigned n;	  /* findings */
	unsigned stale;	  /* stale index entries */
	unsigned reindex; /* REPAIR re-indexes an object, or rebuilds */
	unsigned
		shared; /* DUPLICATE or OVERLAP: objects share a UUID or page */
	unsigned nkept; /* the first FZ_KEEP_FINDINGS, by kind and offset */
	struct {
		unsigned kind;
		uint64_t off;
	} kept[FZ_KEEP_FINDINGS];
	const struct findings *old; /* count only what old lacks */
	unsigned added;		    /* findings old lacks (not stale) */
};

static struct fz_obj snap_buf[3][FZ_SNAP_MAX];

/* the findings of the check before the open (check_real only) */
static struct findings before_open;

/*
 * trusts_damage -- did the open trust a clean-close record (no scan) of a
 * pool the check found damaged beyond stale entries?
 */
static int
trusts_damage(const struct run *r)
{
	return check_real && !r->ps->dirty && !r->clean &&
	       before_open.n != before_open.stale;
}

/*
 * save_pools -- with PMS_FUZZ_SAVE=PREFIX, the two pool files as they are
 * (PREFIX.a, PREFIX.b: the pool and the repaired copy), for triage
 */
static void
save_pools(void)
{
	const char *pre = getenv("PMS_FUZZ_SAVE");
	int fds[2] = {fd_a, fd_b};

	for (int i = 0; pre && *pre && i < 2; i++) {
		char path[4200];
		off_t size = lseek(fds[i], 0, SEEK_END);
		void *m;
		FILE *f;

		snprintf(path, sizeof(path), "%s.%c", pre, 'a' + i);
		if (size <= 0 || (f = fopen(path, "wb")) == NULL)
			continue;
		m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fds[i], 0);
		if (m != MAP_FAILED) {
			fwrite(m, 1, (size_t)size, f);
			munmap(m, (size_t)size);
		}
		fclose(f);
	}
}

/* fail -- an oracle was violated: say which, and abort */
__attribute__((noreturn, format(printf, 1, 2))) static void
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz_pool: ORACLE VIOLATED: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (last error: %s)\n", pmemstore_errormsg());
	va_end(ap);
	save_pools();
	abort();
}

/*
 * __asan_default_options -- shorter allocation stacks and a smaller
 * quarantine: an open makes a few hundred allocations, and unwinding 30
 * frames for each, and faulting in fresh memory past a 256 MiB
 * quarantine, took a third of an execution (16 MiB still spans
 * hundreds of executions)
 */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "malloc_context_size=4:quarantine_size_mb=16";
}

/* LLVMFuzzerInitialize -- environment, and the two reusable files */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *s;

	(void)argc;
	(void)argv;
	/* libpmem reads it lazily, at its first is_pmem decision */
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	s = getenv("PMS_FUZZ_FIX_CHECKSUMS");
	fix_mode = s && *s && strcmp(s, "0") != 0;
	s = getenv("PMS_FUZZ_MAX_SIZE");
	if (s && *s)
		max_size = strtoull(s, NULL, 0);
	fd_a = memfd_create("pms-fuzz-a", 0);
	fd_b = memfd_create("pms-fuzz-b", 0);
	if (fd_a < 0 || fd_b < 0) {
		perror("fuzz_pool: memfd_create");
		exit(1);
	}
	snprintf(path_a, sizeof(path_a), "/proc/self/fd/%d", fd_a);
	snprintf(path_b, sizeof(path_b), "/proc/self/fd/%d", fd_b);
	errno = 0;
	check_real = !(pmemstore_check("/nonexistent/pms-fuzz", 0) != 0 &&
		       errno == ENOSYS);
	s = getenv("PMS_FUZZ_QUIET");
	if (!(s && *s && strcmp(s, "0") != 0))
		fprintf(stderr,
			"fuzz_pool: checksum fixing %s, check oracles %s, "
			"files up to %llu bytes\n",
			fix_mode ? "on" : "off",
			check_real ? "on" : "off (pmemstore_check is ENOSYS)",
			(unsigned long long)max_size);
	return 0;
}

/* note_eio -- remember a failure that leaves the media state unknown */
static void
note_err(struct run *r)
{
	if (errno == EIO)
		r->broken = 1;
}

/* op_uuid -- the UUID operand a names: fz_uuid(a), or one foreach saw */
static void
op_uuid(const struct run *r, unsigned a, uint8_t id[16])
{
	if ((a & 0x80) && r->nids) {
		memcpy(id, r->ids[a % r->nids], 16);
		return;
	}
	fz_uuid(a & 0x7f, id);
}

/* op_size -- the size operand b names: b itself, or one of the edges */
static size_t
op_size(const struct run *r, unsigned b)
{
	uint64_t pool = r->ps->npages * PMS_PAGE_SIZE;
	const size_t edges[16] = {
		PMS_HUGE_SIZE,
		PMS_HUGE_SIZE + 1,
		PMS_HUGE_SIZE - 1,
		2 * PMS_HUGE_SIZE,
		2 * PMS_HUGE_SIZE + PMS_PAGE_SIZE,
		(size_t)pool,
		(size_t)pool + 1,
		SIZE_MAX,
		SIZE_MAX - PMS_PAGE_SIZE + 2,
		(size_t)1 << 40,
		PMS_SMALL_MAX,
		PMS_SMALL_MAX + 1,
		PMS_PAGE_SIZE,
		PMS_PAGE_SIZE + 1,
		(size_t)pool / 2,
		0,
	};

	return b < 0xf000 ? b : edges[b & 15];
}

/* in_data -- does [p, p + size) lie in the data area? */
static void
in_data(const struct run *r, const void *p, uint64_t size, const char *what)
{
	const uint8_t *b = p, *d = r->ps->data;
	uint64_t area = r->ps->npages * PMS_PAGE_SIZE;

	if (b < d || (uint64_t)(b - d) > area ||
	    size > area - (uint64_t)(b - d))
		fail("%s: object [%p, +%llu) outside the data area [%p, "
		     "+%llu)",
		     what, p, (unsigned long long)size, (const void *)d,
		     (unsigned long long)area);
}

/*
 * shared_damage -- did the check before the open find two objects with
 * one UUID or one page?  No crash explains that, and open reads no header
 * or record to refuse it (format 2), so get, id_of and foreach may each
 * show one of them, and two of them overlap: the agreement oracles are
 * off (bounds are still checked).
 */
static int
shared_damage(void)
{
	return check_real && before_open.shared > 0;
}

/* verify_obj -- get, id_of at both ends, bounds: one object agrees */
static void
verify_obj(struct run *r, const uint8_t *id, void *ptr, size_t size,
	   const char *what)
{
	size_t gsize = 0;
	void *g = persist_get(r->ps, id, &gsize);
	uuid_t back;
	volatile uint8_t *b = ptr;

	if (size == 0)
		fail("%s: an object of size 0", what);
	in_data(r, ptr, size, what);
	if ((g != ptr || gsize != size) && !shared_damage())
		fail("%s: persist_get says %p +%zu, expected %p +%zu", what, g,
		     gsize, ptr, size);
	(void)b[0];
	(void)b[size - 1];
	if (shared_damage())
		return;
	if (persist_id_of(r->ps, ptr, back) || memcmp(back, id, 16))
		fail("%s: persist_id_of(first byte) does not name the object",
		     what);
	if (persist_id_of(r->ps, (uint8_t *)ptr + size - 1, back) ||
	    memcmp(back, id, 16))
		fail("%s: persist_id_of(last byte) does not name the object",
		     what);
}

/* walk state */
struct walk {
	struct run *r;
	struct snap *s;
	uint64_t count, bytes;
};

/* walk_cb -- foreach callback: verify, remember the UUID, snapshot */
static int
walk_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	struct walk *w = arg;
	struct run *r = w->r;

	verify_obj(r, id, ptr, size, "foreach");
	if (r->nids < 16)
		memcpy(r->ids[r->nids++], id, 16);
	w->count++;
	w->bytes += size;
	if (w->s) {
		if (w->s->n == FZ_SNAP_MAX) {
			w->s->truncated = 1;
		} else {
			struct fz_obj *o = &w->s->v[w->s->n++];

			memcpy(o->uuid, id, 16);
			o->size = size;
			o->off = (uint64_t)((uint8_t *)ptr - r->ps->data);
		}
	}
	return 0;
}

static int
by_off(const void *a, const void *b)
{
	const struct fz_obj *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int
by_uuid(const void *a, const void *b)
{
	const struct fz_obj *x = a, *y = b;

	return memcmp(x->uuid, y->uuid, 16);
}

/*
 * walk -- foreach over the pool, verifying each object; with a snapshot,
 * also that no two objects overlap.  Leaves s sorted by UUID.
 */
static void
walk(struct run *r, struct snap *s, uint64_t *count, uint64_t *bytes)
{
	struct walk w = {r, s, 0, 0};

	if (s) {
		s->n = 0;
		s->truncated = 0;
	}
	r->nids = 0;
	r->walked = 1;
	if (pmemstore_foreach(r->ps, walk_cb, &w)) {
		/* a damaged index: open reads none of it, a walk finds it */
		if (errno != EIO || r->clean)
			fail("pmemstore_foreach failed");
		r->walked = 0;
		r->broken = 1;
	}
	if (s && !s->truncated && s->n > 1) {
		qsort(s->v, s->n, sizeof(*s->v), by_off);
		for (size_t i = 1; i < s->n; i++)
			if (s->v[i - 1].off + s->v[i - 1].size > s->v[i].off &&
			    !shared_damage())
				fail("objects overlap at data offset %llu",
				     (unsigned long long)s->v[i].off);
		qsort(s->v, s->n, sizeof(*s->v), by_uuid);
	}
	if (s)
		s->bytes = w.bytes;
	if (count)
		*count = w.count;
	if (bytes)
		*bytes = w.bytes;
}

/* same -- do two snapshots hold the same objects (UUID and size)? */
static int
same(const struct snap *a, const struct snap *b)
{
	if (a->truncated || b->truncated)
		return 1; /* too many to compare: not asserted */
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->v[i].uuid, b->v[i].uuid, 16) ||
		    a->v[i].size != b->v[i].size || a->v[i].off != b->v[i].off)
			return 0;
	return 1;
}

/*
 * subset -- is every object of a in b, with its size and place?  (Both
 * sorted by UUID.)
 */
static int
subset(const struct snap *a, const struct snap *b)
{
	size_t j = 0;

	if (a->truncated || b->truncated)
		return 1;
	for (size_t i = 0; i < a->n; i++) {
		while (j < b->n && memcmp(b->v[j].uuid, a->v[i].uuid, 16) < 0)
			j++;
		if (j == b->n || memcmp(b->v[j].uuid, a->v[i].uuid, 16) ||
		    b->v[j].size != a->v[i].size || b->v[j].off != a->v[i].off)
			return 0;
	}
	return 1;
}

/* fill -- persist_alloc_init callback: a pattern, or a refusal */
static int
fill(void *ptr, size_t size, void *arg)
{
	unsigned op = *(unsigned *)arg;

	memset(ptr, (int)(op >> 4), size);
	return (op & 0x08) ? 7 : 0;
}

/* op_alloc -- persist_alloc or persist_alloc_init, then verify */
static void
op_alloc(struct run *r, unsigned op, unsigned a, unsigned b)
{
	uint8_t id[16];
	size_t size = op_size(r, b);
	void *p;

	op_uuid(r, a, id);
	if (op % FZ_NOPS == FZ_OP_ALLOC)
		p = persist_alloc(r->ps, id, size,
				  (op & 0x08) ? PERSIST_ZERO : 0);
	else
		p = persist_alloc_init(r->ps, id, size, fill, &op);
	if (p == NULL) {
		note_err(r);
		return;
	}
	if (r->rdonly)
		fail("an allocation succeeded on a read-only pool");
	verify_obj(r, id, p, size, "alloc");
	if (op % FZ_NOPS == FZ_OP_ALLOC && (op & 0x08)) {
		const uint8_t *c = p;

		for (size_t i = 0; i < size && i < 256; i++)
			if (c[i] || c[size - 1 - i])
				fail("PERSIST_ZERO object is not zero");
	}
}

/* op_id_of -- persist_id_of at an address in or around the pool */
static void
op_id_of(struct run *r, unsigned a, unsigned b)
{
	struct pmemstore *ps = r->ps;
	uint64_t area = ps->npages * PMS_PAGE_SIZE;
	const uint8_t *addr;
	uuid_t id;
	size_t size;

	switch (a & 3) {
	case 0: /* somewhere in the data area, 16-byte granules */
		addr = ps->data + (((uint64_t)(a >> 2) << 20 | b) * 16) % area;
		break;
	case 1: /* metadata */
		addr = ps->base + b;
		break;
	case 2: /* around the end of the mapping */
		addr = ps->base + ps->map_len - 1 - (b & 0xff);
		break;
	default: /* within a page, each slot boundary */
		addr = ps->data +
		       (((uint64_t)(a >> 2) * PMS_PAGE_SIZE) % area) +
		       (b & (PMS_PAGE_SIZE - 1));
		break;
	}
	if (persist_id_of(ps, addr, id))
		return;
	const uint8_t *p = persist_get(ps, id, &size);

	if ((p == NULL || addr < p || addr >= p + size) && !shared_damage())
		fail("persist_id_of names an object that does not hold the "
		     "address");
}

/* op_free -- persist_free; a freed UUID must be gone */
static void
op_free(struct run *r, unsigned a)
{
	uint8_t id[16];

	op_uuid(r, a, id);
	if (persist_free(r->ps, id)) {
		note_err(r);
		return;
	}
	if (r->rdonly)
		fail("a free succeeded on a read-only pool");
	if (persist_get(r->ps, id, NULL) != NULL)
		fail("a freed UUID is still there");
}

/* op_stats -- stats must add up and agree with a walk */
static void
op_stats(struct run *r)
{
	struct pmemstore_stats st;
	uint64_t count, bytes;

	if (pmemstore_stats(r->ps, &st)) {
		if (errno != EIO || r->clean)
			fail("pmemstore_stats failed");
		r->broken = 1; /* a walk of a damaged index (after a crash) */
		return;
	}
	walk(r, NULL, &count, &bytes);
	if (!r->walked)
		return;
	/* a page is free, persistent (used), volatile or bad (1.4: BAD
	 * descriptors, withheld) */
	if (st.pages_total != r->ps->npages || st.pages_free > st.pages_total ||
	    st.pages_free + st.pages_used + st.pages_volatile + st.pages_bad !=
		    st.pages_total)
		fail("stats: pages total %llu free %llu used %llu volatile "
		     "%llu bad %llu",
		     (unsigned long long)st.pages_total,
		     (unsigned long long)st.pages_free,
		     (unsigned long long)st.pages_used,
		     (unsigned long long)st.pages_volatile,
		     (unsigned long long)st.pages_bad);
	if (trusts_damage(r))
		return; /* the counts of a clean close the damage came after */
	if (st.objects != count || st.bytes != bytes)
		fail("stats: %llu objects of %llu bytes, a walk finds %llu "
		     "of %llu",
		     (unsigned long long)st.objects,
		     (unsigned long long)st.bytes, (unsigned long long)count,
		     (unsigned long long)bytes);
}

/* op_write -- overwrite an object's content durably */
static void
op_write(struct run *r, unsigned a, unsigned b)
{
	uint8_t id[16];
	size_t size;
	void *p;

	if (r->rdonly)
		return; /* the mapping is read-only: a store would fault */
	op_uuid(r, a, id);
	p = persist_get(r->ps, id, &size);
	if (p)
		persist_memset(r->ps, p, (int)(b & 0xff), size);
}

/* script -- run the input's operations on an open pool */
static void
script(struct run *r, const struct fz_input *in)
{
	for (size_t i = 0; i < in->nops; i++) {
		const uint8_t *o = in->ops + i * FZ_OP_SIZE;
		unsigned op = o[0], a = o[1], b = o[2] | (unsigned)o[3] << 8;
		uint8_t id[16];

		switch (op % FZ_NOPS) {
		case FZ_OP_ALLOC:
		case FZ_OP_ALLOC_INIT:
			op_alloc(r, op, a, b);
			break;
		case FZ_OP_GET: {
			size_t size;
			void *p;

			op_uuid(r, a, id);
			p = persist_get(r->ps, id, &size);
			if (p)
				verify_obj(r, id, p, size, "get");
			break;
		}
		case FZ_OP_FREE:
			op_free(r, a);
			break;
		case FZ_OP_ID_OF:
			op_id_of(r, a, b);
			break;
		case FZ_OP_FOREACH:
			walk(r, NULL, NULL, NULL);
			break;
		case FZ_OP_STATS:
			op_stats(r);
			break;
		default:
			op_write(r, a, b);
			break;
		}
	}
}

/* report_cb -- print a check finding (when an oracle fails) */
static int
report_cb(const struct pmemstore_finding *f, void *arg)
{
	(void)arg;
	fprintf(stderr, "  finding kind %u at %llu%s: %s\n", f->kind,
		(unsigned long long)f->offset,
		f->repairable ? " (repairable)" : "", f->message);
	return 0;
}

/* summary_cb -- count a check's findings by what they allow */
static int
summary_cb(const struct pmemstore_finding *f, void *arg)
{
	struct findings *s = arg;

	int stale = f->kind == PMEMSTORE_FINDING_INDEX && f->repairable &&
		    strstr(f->message, "(stale;") != NULL;

	s->n++;
	s->stale += stale;
	s->shared += f->kind == PMEMSTORE_FINDING_DUPLICATE ||
		     f->kind == PMEMSTORE_FINDING_OVERLAP;
	if (strstr(f->message, "REPAIR re-indexes") != NULL ||
	    strstr(f->message, "REPAIR rebuilds the index") != NULL)
		s->reindex++;
	if (s->nkept < FZ_KEEP_FINDINGS) {
		s->kept[s->nkept].kind = f->kind;
		s->kept[s->nkept].off = f->offset;
		s->nkept++;
	}
	/*
	 * Damage to the index's structure that an open does not read (it
	 * does not walk the directory) stays, and may be reported at another
	 * offset than before (tests/fuzz/findings/dir-word-misplaced): no
	 * new finding when the first check already asked for a rebuild.
	 */
	int rebuild = f->kind == PMEMSTORE_FINDING_INDEX &&
		      strstr(f->message, "REPAIR rebuilds the index") != NULL;

	if (s->old && !stale && !(rebuild && s->old->reindex)) {
		unsigned i = 0;

		while (i < s->old->nkept && (s->old->kept[i].kind != f->kind ||
					     s->old->kept[i].off != f->offset))
			i++;
		if (i == s->old->nkept && s->old->nkept == s->old->n)
			s->added++;
	}
	return 0;
}

/*
 * check_must_pass -- pmemstore_check(0) on path must find nothing; with
 * old, nothing but stale index entries and what old found (by kind and
 * offset: damage an open does not read stays, and is no new finding)
 */
static void
check_must_pass(const char *path, const struct findings *old, const char *why)
{
	static struct findings f;

	memset(&f, 0, sizeof(f));
	f.old = old;
	if (pmemstore_check_report(path, 0, summary_cb, &f) == 0 ||
	    (old && errno == EUCLEAN && f.added == 0))
		return;
	fprintf(stderr, "fuzz_pool: check failed (%s): %s\n", why,
		pmemstore_errormsg());
	pmemstore_check_report(path, 0, report_cb, NULL);
	fail("pmemstore_check fails %s", why);
}

/*
 * repair_copy -- check with REPAIR a copy of the pool; when it says the
 * pool is consistent, the pool opens, checks clean, and s holds its
 * objects (1); 0 when repair refused
 */
static int
repair_copy(const struct fz_input *in, struct snap *s, struct findings *f)
{
	struct run r = {0};

	if (fz_materialize(fd_b, in, fix_mode))
		fail("cannot build the copy: %s", strerror(errno));
	if (pmemstore_check_report(path_b, PMEMSTORE_CHECK_REPAIR, summary_cb,
				   f) != 0)
		return 0;
	r.ps = pmemstore_open(path_b, 0);
	if (r.ps == NULL)
		fail("check with REPAIR returned 0, but open fails");
	r.clean = 1;
	walk(&r, s, NULL, NULL);
	if (pmemstore_close(r.ps))
		fail("closing a repaired pool fails");
	check_must_pass(path_b, NULL, "after a repair that returned 0");
	return 1;
}

/* LLVMFuzzerTestOneInput -- one pool, checked, repaired, opened, used */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	struct run r = {0};
	struct snap repaired = {snap_buf[0], 0, 0, 0};
	struct snap before = {snap_buf[1], 0, 0, 0};
	struct snap after = {snap_buf[2], 0, 0, 0};
	static struct findings rep;
	int have_repaired = 0, trusted;

	if (fd_a < 0)
		LLVMFuzzerInitialize(NULL, NULL);
	fz_decode(data, size, max_size, &in);
	if (fz_materialize(fd_a, &in, fix_mode))
		fail("cannot build the pool file: %s", strerror(errno));

	memset(&before_open, 0, sizeof(before_open));
	memset(&rep, 0, sizeof(rep));
	if (check_real) {
		r.clean = pmemstore_check_report(path_a, 0, summary_cb,
						 &before_open) == 0;
		if (in.flags & FZ_F_REPAIR)
			have_repaired = repair_copy(&in, &repaired, &rep);
	}

	r.rdonly = !!(in.flags & FZ_F_RDONLY);
	r.ps = pmemstore_open(path_a, r.rdonly ? PMEMSTORE_RDONLY : 0);
	if (r.ps == NULL) {
		if (r.clean)
			fail("pmemstore_check returned 0, but open fails");
		return 0;
	}
	trusted = trusts_damage(&r);
	walk(&r, &before, NULL, NULL);
	if (have_repaired && r.walked &&
	    !(rep.reindex ? subset(&before, &repaired)
			  : same(&before, &repaired)))
		fail("open finds %zu objects, open after a repair %zu (%s)",
		     before.n, repaired.n,
		     rep.reindex ? "REPAIR re-indexed, but lost one of them"
				 : "or others");
	script(&r, &in);

	if (in.flags & FZ_F_REOPEN) {
		walk(&r, &after, NULL, NULL);
		int walked = r.walked;

		if (pmemstore_close(r.ps))
			r.broken = 1;
		r.ps = pmemstore_open(path_a, PMEMSTORE_RDONLY);
		if (r.ps == NULL)
			fail("a pool that opened does not reopen");
		walk(&r, &before, NULL, NULL);
		if (!r.broken && walked && r.walked && !same(&before, &after))
			fail("reopen finds %zu objects, the script left %zu "
			     "(or others)",
			     before.n, after.n);
	}
	if (pmemstore_close(r.ps) && errno == EIO)
		r.broken = 1;
	if (check_real && !r.rdonly && !r.broken && !trusted)
		check_must_pass(path_a, r.clean ? NULL : &before_open,
				"after an open for writing and a script");
	return 0;
}
