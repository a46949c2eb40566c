/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.c -- owns the invariants: recovery of one crash image and every
 * check of /work/shared/notes/workloads.md (docs/crash-testing.md):
 *
 *   I1 every call that returned is there, with its size and content;
 *   I2 the call in flight is entirely there or absent (and no object that
 *      no call made is there);
 *   I3 pages_used is exactly what the live objects need, derived from the
 *      format: distinct slab pages of small objects, distinct record pages
 *      of large ones, plus every large object's run;
 *   I4 live objects' byte ranges are disjoint and inside the data area, no
 *      page is both a run page and a slab page, and persist_id_of maps the
 *      first and last byte (and the middle of a run) back to the object;
 *   I5 a free that returned means the UUID is gone;
 *   I6 pmemstore_check(path, 0) returns 0 after recovery and close;
 *   I7 a second open gives the same objects (UUID, size, offset) and
 *      byte-identical metadata (superblock pages, descriptor array, header
 *      area of every slab page); on every opt.i7_every-th image, recovery
 *      is also crashed at each of its own fences (every subset of the lines
 *      it flushed there when there are at most 16, else nothing,
 *      everything, 8 single lines and 4 random subsets) and recovered again:
 *      same objects and metadata as the uninterrupted recovery;
 *   I9 on every opt.i9_every-th image: after freeing every live object all
 *      pages are free, and a fixed fill (2 MiB objects until ENOMEM, then
 *      64 KiB, 4 KiB, 64 B) gives the same counts as on a fresh pool of the
 *      same size.
 * I8 (memory safety) is the ASan/UBSan build of all of this.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "layout.h"
#include "sim.h"

static const struct pms_class classes[PMS_NCLASSES] = PMS_CLASS_TABLE;

/* splitmix -- the pattern's word generator */
static inline uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* pat_fill -- an object's content: a function of its UUID and offset */
void
pat_fill(void *dst, size_t n, const uint8_t *id)
{
	uint64_t s, w;
	uint8_t *d = dst;

	memcpy(&s, id, 8);
	for (size_t i = 0; i < n; i += 8) {
		w = splitmix(s + i);
		memcpy(d + i, &w, n - i < 8 ? n - i : 8);
	}
}

/* pat_ok -- does src hold id's pattern? */
int
pat_ok(const void *src, size_t n, const uint8_t *id)
{
	uint64_t s, w;
	const uint8_t *d = src;

	memcpy(&s, id, 8);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x;

		memcpy(&x, d + i, 8);
		if (x != splitmix(s + i))
			return 0;
	}
	if (i < n) {
		w = splitmix(s + i);
		if (memcmp(d + i, &w, n - i))
			return 0;
	}
	return 1;
}

/* zero_ok -- all zero? */
static int
zero_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* content_ok -- the content the oracle expects, if it knows it */
static int
content_ok(const struct mobj *m, const uint8_t *p)
{
	if (m->content == C_ZERO)
		return zero_ok(p, m->size);
	if (m->content == C_PATTERN)
		return pat_ok(p, m->size, m->id);
	return 1;
}

/* one live object as found after recovery */
struct live {
	uint8_t id[16];
	uint64_t off; /* from the start of the mapping */
	uint64_t size;
};

struct lives {
	struct live *v;
	size_t n, cap;
	uint8_t *base;
};

/* collect -- pmemstore_foreach callback */
static int
collect(const uuid_t id, void *ptr, size_t size, void *arg)
{
	struct lives *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (l->v == NULL)
			abort();
	}
	memcpy(l->v[l->n].id, id, 16);
	l->v[l->n].off = (uint64_t)((uint8_t *)ptr - l->base);
	l->v[l->n].size = size;
	l->n++;
	return 0;
}

/* cmp_id -- order live objects by UUID */
static int
cmp_id(const void *a, const void *b)
{
	return memcmp(((const struct live *)a)->id,
		      ((const struct live *)b)->id, 16);
}

/* cmp_off -- order live objects by offset */
static int
cmp_off(const void *a, const void *b)
{
	const struct live *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* list_objects -- every live object, sorted by UUID; -1: foreach failed */
static int
list_objects(struct pmemstore *ps, struct lives *l, uint8_t *base)
{
	l->n = 0;
	l->base = base;
	if (pmemstore_foreach(ps, collect, l))
		return -1;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_id);
	return 0;
}

/* same_objects -- two lists equal? */
static int
same_objects(const struct lives *a, const struct lives *b)
{
	return a->n == b->n &&
	       (a->n == 0 || !memcmp(a->v, b->v, a->n * sizeof(*a->v)));
}

/*
 * digest_segment -- the index segment at page p (first page's w1 = w1)
 * into st, without a split's leftovers: entries whose tag is outside the
 * segment's hash range are copies of moved entries whose clean-up did not
 * land before the split log was invalidated, a state docs/format.md
 * allows (no lookup reaches them; the segment's next split drops them).
 * --strict-index keeps them: recovery then must leave none either.
 */
static int
digest_segment(int fd, uint64_t doff, uint64_t p, uint64_t w1,
	       XXH64_state_t *st)
{
	static struct pms_bucket seg[PMS_SEG_BUCKETS];
	unsigned depth = PMS_SEG_DEPTH(w1);
	uint64_t prefix = PMS_SEG_PREFIX(w1);

	if (pread(fd, seg, sizeof(seg), (off_t)(doff + p * PAGE)) !=
	    (ssize_t)sizeof(seg))
		return -1;
	for (unsigned k = 0; k < PMS_SEG_BUCKETS && !opt.strict_index; k++)
		for (unsigned i = 0; i < PMS_BUCKET_ENTRIES; i++) {
			uint64_t tag = PMS_ENTRY_TAG(seg[k].e[i]);

			if (seg[k].e[i] && depth && depth < PMS_TAG_BITS &&
			    tag >> (PMS_TAG_BITS - depth) != prefix)
				seg[k].e[i] = 0;
		}
	XXH64_update(st, &p, sizeof(p));
	XXH64_update(st, seg, sizeof(seg));
	return 0;
}

/*
 * meta_digest -- XXH64 of the pool's metadata in a closed file: both
 * superblock pages (but the clean-close generation and its check), the
 * descriptor array, the header area of every slab page (the whole page
 * for record pages) and every page of the index (digest_segment)
 */
static int
meta_digest(const char *path, uint64_t *out)
{
	int fd = open(path, O_RDONLY);
	struct pms_super_page sp;
	XXH64_state_t *st = XXH64_createState();
	uint8_t *buf = NULL;
	int ret = -1;
	off_t fsize;

	if (fd < 0 || st == NULL)
		goto out;
	fsize = lseek(fd, 0, SEEK_END);
	XXH64_reset(st, 0);
	if (pread(fd, &sp, sizeof(sp), 0) != sizeof(sp))
		goto out;
	uint64_t np = sp.sb.npages, doff = sp.sb.data_off;

	if (fsize < 0 || doff > (uint64_t)fsize ||
	    np > (uint64_t)fsize / PAGE || PMS_DESC_OFF + np * 16 > doff)
		goto out;
	size_t mlen = PMS_DESC_OFF + np * 16;

	buf = malloc(mlen);
	if (buf == NULL || pread(fd, buf, mlen, 0) != (ssize_t)mlen)
		goto out;
	/* a clean close counts itself (gen, and the check over it) */
	for (int c = 0; c < 2; c++) {
		struct pms_super_page *s =
			(struct pms_super_page *)(buf + c * PAGE);

		s->clean.rsvd = 0;
		s->clean.check = 0;
	}
	XXH64_update(st, buf, mlen);
	const struct pms_desc *d =
		(const struct pms_desc *)(buf + PMS_DESC_OFF);
	uint8_t page[PAGE];

	for (uint64_t p = 0; p < np; p++) {
		unsigned t = PMS_DESC_TYPE(d[p].w0);

		if (t != PMS_DESC_SLAB && t != PMS_DESC_INDEX)
			continue;
		if (t == PMS_DESC_INDEX &&
		    PMS_DESC_INDEX_KIND(d[p].w0) == PMS_INDEX_SEG) {
			if (PMS_DESC_INDEX_DIST(d[p].w0) == 0 &&
			    (np - p < PMS_SEG_PAGES ||
			     digest_segment(fd, doff, p, d[p].w1, st)))
				goto out;
			continue;
		}
		unsigned cls = PMS_DESC_SLAB_CLASS(d[p].w0);
		size_t n = t == PMS_DESC_SLAB && cls < PMS_NCLASSES
				   ? classes[cls].data_off
				   : PAGE;

		if (n > PAGE)
			n = PAGE;
		if (pread(fd, page, n, (off_t)(doff + p * PAGE)) != (ssize_t)n)
			goto out;
		XXH64_update(st, &p, sizeof(p));
		XXH64_update(st, page, n);
	}
	*out = XXH64_digest(st);
	ret = 0;
out:
	free(buf);
	if (st)
		XXH64_freeState(st);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* the fill of I9, on an open pool: counts per size, and pages left */
static const size_t fill_sizes[4] = {2 << 20, 64 << 10, 4 << 10, 64};

/* do_fill -- the I9 fill on an open pool: counts per size, pages left */
static int
do_fill(struct pmemstore *ps, struct fill_counts *fc, char *why, size_t wl)
{
	uuid_t id;
	uint64_t k = 0;
	struct pmemstore_stats st;

	memset(fc, 0, sizeof(*fc));
	for (int s = 0; s < 4; s++) {
		for (;;) {
			memset(id, 0xf1, sizeof(id));
			memcpy(id, &k, sizeof(k));
			k++;
			if (persist_alloc(ps, id, fill_sizes[s], 0) == NULL)
				break;
			fc->n[s]++;
		}
		if (errno != ENOMEM) {
			snprintf(why, wl,
				 "I9: filling with %zu-byte objects failed "
				 "with %s (not ENOMEM): %s",
				 fill_sizes[s], strerror(errno),
				 pmemstore_errormsg());
			return -1;
		}
	}
	pmemstore_stats(ps, &st);
	fc->free_after = st.pages_free;
	return 0;
}

/* fresh_fill -- the I9 fill on a fresh pool of this size (cached) */
void
fresh_fill(size_t pool_size, struct fill_counts *fc)
{
	static struct {
		size_t size;
		struct fill_counts fc;
	} cache[8];
	static int ncache;
	char path[4200], why[256];
	struct pmemstore *ps;
	struct pmemstore_stats st;

	for (int i = 0; i < ncache; i++)
		if (cache[i].size == pool_size) {
			*fc = cache[i].fc;
			return;
		}
	snprintf(path, sizeof(path), "%s/fresh-%d.pool", opt.dir, worker);
	unlink(path);
	in_check++;
	ps = pmemstore_create(path, pool_size, 0600);
	if (ps == NULL || pmemstore_stats(ps, &st) ||
	    do_fill(ps, fc, why, sizeof(why))) {
		fprintf(stderr, "crash: fresh pool fill failed: %s\n",
			pmemstore_errormsg());
		abort();
	}
	fc->ipages = st.index_pages;
	pmemstore_close(ps);
	in_check--;
	unlink(path);
	if (ncache < 8) {
		cache[ncache].size = pool_size;
		cache[ncache++].fc = *fc;
	}
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(why, wl, __VA_ARGS__);                                \
		goto fail;                                                     \
	} while (0)

/*
 * index_need -- the pages of the UUID index, from the format: every
 * directory word names a segment (INDEX SEG descriptor) whose depth and
 * prefix agree with the words that name it; the distinct segments (4
 * pages each) plus the directory's pages.  Both superblock copies name
 * the same directory after recovery.
 */
static int
index_need(const uint8_t *base, const struct pms_desc *desc, uint64_t np,
	   uint64_t *pages, char *why, size_t wl)
{
	const struct pms_super_page *a = (const void *)base;
	const struct pms_super_page *b = (const void *)(base + PMS_SB_B_OFF);
	uint64_t dw = a->dir, dp = PMS_DIR_PAGE(dw), nw, ndp, nseg = 0;
	unsigned g = PMS_DIR_DEPTH(dw);
	uint64_t *seen = NULL;
	const uint64_t *w;

	if (a->dir != b->dir)
		FAIL("I3: the superblock copies name two index directories "
		     "after recovery (0x%llx, 0x%llx)",
		     (unsigned long long)a->dir, (unsigned long long)b->dir);
	nw = 1ULL << g;
	ndp = nw * 8 <= PAGE ? 1 : nw * 8 / PAGE;
	if (g > PMS_DIR_MAX_DEPTH || dp >= np || ndp > np - dp)
		FAIL("I3: the index directory word 0x%llx is out of bounds",
		     (unsigned long long)dw);
	if (desc[dp].w0 != PMS_DESC_INDEX_W0(PMS_INDEX_DIR, 0) ||
	    desc[dp].w1 != ndp)
		FAIL("I3: the index directory at page %llu has no DIR "
		     "descriptor",
		     (unsigned long long)dp);
	w = (const uint64_t *)(base +
			       ((const struct pms_super *)base)->data_off +
			       dp * PAGE);
	seen = calloc(np / 64 + 1, 8);
	if (seen == NULL)
		abort();
	for (uint64_t i = 0; i < nw; i++) {
		uint64_t s = w[i], w1;
		unsigned d;

		if (s % PMS_SEG_PAGES || s >= np || np - s < PMS_SEG_PAGES ||
		    desc[s].w0 != PMS_DESC_INDEX_W0(PMS_INDEX_SEG, 0))
			FAIL("I3: index directory word %llu names page %llu, "
			     "not a segment",
			     (unsigned long long)i, (unsigned long long)s);
		w1 = desc[s].w1;
		d = PMS_SEG_DEPTH(w1);
		if (d > g || (i >> (g - d)) != PMS_SEG_PREFIX(w1))
			FAIL("I3: index directory word %llu names the segment "
			     "at page %llu of depth %u, prefix %llu",
			     (unsigned long long)i, (unsigned long long)s, d,
			     (unsigned long long)PMS_SEG_PREFIX(w1));
		if ((seen[s / 64] >> (s % 64)) & 1)
			continue;
		seen[s / 64] |= 1ULL << (s % 64);
		nseg++;
	}
	free(seen);
	*pages = nseg * PMS_SEG_PAGES + ndp;
	return 0;
fail:
	free(seen);
	return -1;
}

/*
 * check_open -- I1..I5 on a recovered pool.  clean: the pool was closed
 * cleanly since the crash (recovery, then a close that settled the slab
 * pages): pages_used is exactly what the live objects and the index need,
 * and every slab page's bitmap names exactly its live slots.  After the
 * crash-open alone, open has done no per-object work: slab pages whose
 * objects a crash took back and runs of dead records are still in use
 * until the close (or the allocator) checks them, so pages_used may
 * exceed the need, never fall short of it.
 */
static int
check_open(struct pmemstore *ps, struct lives *l, int clean, char *why,
	   size_t wl)
{
	struct pmemstore_stats st;
	uint64_t known = 0, bytes = 0;
	const struct pms_super *sb = (const struct pms_super *)img_base;
	uint64_t *slabs = NULL, *runs = NULL, *bits = NULL;

	for (size_t i = 0; i < orc.nobjs; i++) {
		const struct mobj *m = &orc.objs[i];
		size_t sz = 0;
		uint8_t *p;

		if (m->state == O_REUSED)
			continue; /* the newer object of its UUID stands */
		p = persist_get(ps, m->id, &sz);
		known += p != NULL;
		switch (m->state) {
		case O_PRESENT:
			if (p == NULL)
				FAIL("I1: object %zu (%llu B) that was "
				     "allocated is lost",
				     i, (unsigned long long)m->size);
			if (sz != m->size)
				FAIL("I1: object %zu has size %zu, not %llu", i,
				     sz, (unsigned long long)m->size);
			if (!content_ok(m, p))
				FAIL("I1: object %zu (%llu B) has damaged "
				     "content",
				     i, (unsigned long long)m->size);
			break;
		case O_ABSENT:
			if (p)
				FAIL("I5: object %zu was freed (or its "
				     "allocation failed) but is there",
				     i);
			break;
		default:
			if (p && sz != m->size)
				FAIL("I2: object %zu in flight is there with "
				     "size %zu, not %llu",
				     i, sz, (unsigned long long)m->size);
			if (p && !content_ok(m, p))
				FAIL("I2: object %zu in flight (%s) is there "
				     "with wrong content",
				     i,
				     m->state == O_ALLOCATING ? "allocating"
							      : "freeing");
		}
	}
	if (list_objects(ps, l, img_base))
		FAIL("I1: pmemstore_foreach fails on the recovered pool: %s",
		     pmemstore_errormsg());
	if (l->n != known)
		FAIL("I2: %zu objects live, but only %llu of them were ever "
		     "allocated",
		     l->n, (unsigned long long)known);
	pmemstore_stats(ps, &st);
	for (size_t i = 0; i < l->n; i++)
		bytes += l->v[i].size;
	if (st.objects != l->n || st.bytes != bytes)
		FAIL("I3: stats say %llu objects / %llu bytes, the pool holds "
		     "%zu / %llu%s",
		     (unsigned long long)st.objects,
		     (unsigned long long)st.bytes, l->n,
		     (unsigned long long)bytes,
		     clean ? " (the clean-close record's counts)" : "");

	/* I4 and I3 from the format */
	uint64_t doff = sb->data_off, np = sb->npages;

	if (doff >= img_len || np > (img_len - doff) / PAGE)
		FAIL("I3: superblock geometry outside the mapping");
	slabs = calloc(np / 64 + 1, 8);
	runs = calloc(np / 64 + 1, 8);
	bits = calloc(np + 1, 8);
	if (!slabs || !runs || !bits)
		abort();
	const struct pms_desc *desc =
		(const struct pms_desc *)(img_base + PMS_DESC_OFF);
	uint64_t used = 0, ipages;

	if (index_need(img_base, desc, np, &ipages, why, wl))
		goto fail;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_off);
	for (size_t i = 0; i < l->n; i++) {
		const struct live *o = &l->v[i];
		uint64_t p;
		uuid_t got;

		if (o->off < doff || o->size > np * PAGE ||
		    o->off - doff > np * PAGE - o->size)
			FAIL("I4: object at offset 0x%llx (%llu B) lies "
			     "outside the data area",
			     (unsigned long long)o->off,
			     (unsigned long long)o->size);
		if (i + 1 < l->n && o->off + o->size > l->v[i + 1].off)
			FAIL("I4: objects at 0x%llx (%llu B) and 0x%llx "
			     "overlap",
			     (unsigned long long)o->off,
			     (unsigned long long)o->size,
			     (unsigned long long)l->v[i + 1].off);
		const uint8_t *a = img_base + o->off;
		uint64_t probes[3] = {0, o->size - 1, o->size / 2};

		for (int k = 0; k < 3; k++)
			if (persist_id_of(ps, a + probes[k], got) ||
			    memcmp(got, o->id, 16))
				FAIL("I4: persist_id_of(object at 0x%llx + "
				     "%llu) does not give its UUID",
				     (unsigned long long)o->off,
				     (unsigned long long)probes[k]);
		p = (o->off - doff) / PAGE;
		if (o->size <= PMS_SMALL_MAX) {
			unsigned cls = PMS_DESC_SLAB_CLASS(desc[p].w0);
			uint64_t in = (o->off - doff) % PAGE;

			if ((runs[p / 64] >> (p % 64)) & 1)
				FAIL("I4: slab page %llu is also a run page",
				     (unsigned long long)p);
			if (PMS_DESC_TYPE(desc[p].w0) != PMS_DESC_SLAB ||
			    cls == PMS_CLASS_RECORD || cls >= PMS_NCLASSES ||
			    in < classes[cls].data_off)
				FAIL("I4: small object at page %llu is not in "
				     "a slab page's data",
				     (unsigned long long)p);
			bits[p] |= 1ULL << ((in - classes[cls].data_off) /
					    classes[cls].size);
			if (!((slabs[p / 64] >> (p % 64)) & 1))
				used++;
			slabs[p / 64] |= 1ULL << (p % 64);
			continue;
		}
		uint64_t n = (o->size + PAGE - 1) / PAGE;

		for (uint64_t q = p; q < p + n; q++) {
			if (((runs[q / 64] | slabs[q / 64]) >> (q % 64)) & 1)
				FAIL("I4: page %llu is in two objects",
				     (unsigned long long)q);
			runs[q / 64] |= 1ULL << (q % 64);
		}
		used += n;
		if (PMS_DESC_TYPE(desc[p].w0) != PMS_DESC_HEAD)
			FAIL("I3: large object at page %llu has no HEAD",
			     (unsigned long long)p);
		uint64_t rp = PMS_DESC_HEAD_RPAGE(desc[p].w0);

		if (rp >= np)
			FAIL("I3: record page %llu out of bounds",
			     (unsigned long long)rp);
		bits[rp] |= 1ULL << PMS_DESC_HEAD_RSLOT(desc[p].w0);
		if (!((slabs[rp / 64] >> (rp % 64)) & 1))
			used++;
		slabs[rp / 64] |= 1ULL << (rp % 64);
	}
	/* a record page must not be a run page either */
	for (uint64_t w = 0; w < np / 64 + 1; w++)
		if (slabs[w] & runs[w])
			FAIL("I4: a page is both a slab page and a run page");
	used += ipages;
	if (clean ? st.pages_used != used : st.pages_used < used)
		FAIL("I3: %llu pages in use, the live objects and the index "
		     "need %llu%s",
		     (unsigned long long)st.pages_used,
		     (unsigned long long)used,
		     clean ? " (after a clean close)" : "");
	/* the volatile heap's pages are free again after any open */
	if (st.pages_volatile || st.volatile_bytes)
		FAIL("I3: a recovered pool has %llu volatile pages (%llu "
		     "bytes) before any pmemstore_malloc",
		     (unsigned long long)st.pages_volatile,
		     (unsigned long long)st.volatile_bytes);
	if (st.pages_free + st.pages_used + st.pages_volatile + st.pages_bad !=
	    st.pages_total)
		FAIL("I3: %llu free + %llu used + %llu volatile + %llu bad "
		     "pages, not the pool's %llu",
		     (unsigned long long)st.pages_free,
		     (unsigned long long)st.pages_used,
		     (unsigned long long)st.pages_volatile,
		     (unsigned long long)st.pages_bad,
		     (unsigned long long)st.pages_total);
	if (st.index_pages != ipages)
		FAIL("I3: stats count %llu index pages, the directory names "
		     "%llu",
		     (unsigned long long)st.index_pages,
		     (unsigned long long)ipages);
	/* the bitmap is a hint after a crash, exact after a clean close */
	for (uint64_t p = 0; clean && p < np; p++)
		if (PMS_DESC_TYPE(desc[p].w0) == PMS_DESC_SLAB &&
		    desc[p].w1 != bits[p])
			FAIL("I3: after a clean close, slab page %llu's bitmap "
			     "is 0x%llx, its live slots 0x%llx",
			     (unsigned long long)p,
			     (unsigned long long)desc[p].w1,
			     (unsigned long long)bits[p]);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_id);
	free(slabs);
	free(runs);
	free(bits);
	return 0;
fail:
	free(slabs);
	free(runs);
	free(bits);
	return -1;
}

/* keep_copy -- with --keep, a copy of path for debugging */
static void
keep_copy(const char *path, const char *suffix)
{
	char dst[4400];
	static uint8_t buf[1 << 16];
	ssize_t n;
	off_t off = 0;

	if (!opt.keep)
		return;
	snprintf(dst, sizeof(dst), "%s/%s-cp%llu-img%llu.%s", opt.keep, cur_wl,
		 (unsigned long long)cp_no, (unsigned long long)(img_no - 1),
		 suffix);
	int in = open(path, O_RDONLY),
	    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	while (in >= 0 && out >= 0 &&
	       (n = pread(in, buf, sizeof(buf), off)) > 0) {
		if (pwrite(out, buf, (size_t)n, off) != n)
			break;
		off += n;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	fprintf(stderr, "  kept %s\n", dst);
}

/* nested_path -- where interrupted-recovery images are written */
static char nested_path[4200];

/*
 * check_nested -- I7 for recovery interrupted at each of its fences: the
 * pre-recovery image (rec_model's durable) plus every subset of the lines
 * recovery flushed before that fence; each is recovered again and must
 * give the uninterrupted result
 */
static int
check_nested(const struct lives *l1, uint64_t m1, char *why, size_t wl)
{
	struct model *m = &rec_model;
	struct lives l2 = {0};
	int ret = 0;
	uint64_t rs = opt.seed ^ img_no;

	if (nested_path[0] == 0)
		snprintf(nested_path, sizeof(nested_path), "%s.nested",
			 img_path);
	for (size_t e = 0; e < m->nepochs && ret == 0; e++) {
		struct unit *u;
		struct pend *save = m->pend;
		size_t savecap = m->cap, n;
		uint64_t prod = 1;

		m->pend = m->epochs[e];
		m->npend = m->nepoch[e];
		n = build_units(m, &u, 0);
		m->pend = save;
		m->npend = 0;
		m->cap = savecap;
		struct pick *pk = calloc(n + 1, sizeof(*pk));
		uint64_t nimg;

		for (size_t i = 0; i < n && prod <= 16; i++)
			prod *= u[i].nver + 1;
		nimg = prod <= 16 ? prod : 2 + (n < 8 ? n : 8) + 4;
		for (uint64_t k = 0; k < nimg && ret == 0; k++) {
			/* nothing at the first fence is the image itself,
			 * everything at the last the recovered pool: both
			 * checked already */
			if ((k == 0 && e == 0) ||
			    (k == (prod <= 16 ? prod - 1 : 1) &&
			     e + 1 == m->nepochs))
				continue;
			if (prod <= 16) {
				uint64_t x = k;

				for (size_t i = 0; i < n; i++) {
					pk[i].v =
						(uint32_t)(x % (u[i].nver + 1));
					x /= u[i].nver + 1;
				}
			} else if (k < 2) {
				for (size_t i = 0; i < n; i++)
					pk[i].v = k ? u[i].nver : 0;
			} else if (k < 2 + (n < 8 ? n : 8)) {
				memset(pk, 0, n * sizeof(*pk));
				pk[rng_next(&rs) % n].v = 1;
			} else {
				for (size_t i = 0; i < n; i++)
					pk[i].v = rng_next(&rs) & 1;
			}
			if (write_image(nested_path, m, u, pk, n))
				abort();
			cur->nested_images++;
			struct pmemstore *ps = pmemstore_open(nested_path, 0);
			uint64_t m2;

			if (ps == NULL) {
				snprintf(why, wl,
					 "I7: recovery interrupted at its "
					 "fence %zu (image %llu of it): the "
					 "pool no longer opens: %s",
					 e + 1, (unsigned long long)k,
					 pmemstore_errormsg());
				ret = -1;
				break;
			}
			ret = list_objects(ps, &l2, last_base) == 0 &&
					      same_objects(l1, &l2)
				      ? 0
				      : -1;
			pmemstore_close(ps);
			if (ret) {
				snprintf(why, wl,
					 "I7: recovery interrupted at its "
					 "fence %zu and run again gives "
					 "other objects than one recovery",
					 e + 1);
				break;
			}
			if (meta_digest(nested_path, &m2) || m2 != m1) {
				keep_copy(img_path, "recovered");
				keep_copy(nested_path, "nested-recovered");
				write_image(nested_path, m, u, pk, n);
				keep_copy(nested_path, "nested");
				snprintf(why, wl,
					 "I7: recovery interrupted at its "
					 "fence %zu and run again leaves "
					 "other metadata than one recovery",
					 e + 1);
				ret = -1;
			}
		}
		free(pk);
		/* this fence completed: its lines are durable */
		model_commit_all(m, m->epochs[e], m->nepoch[e]);
		free_units(u, n);
	}
	free(l2.v);
	return ret;
}

/* sb_finding -- pmemstore_check_report callback: count superblock findings */
static int
sb_finding(const struct pmemstore_finding *f, void *arg)
{
	if (f->kind == PMEMSTORE_FINDING_SUPERBLOCK ||
	    f->kind == PMEMSTORE_FINDING_FORMAT)
		++*(int *)arg;
	return 0;
}

/* struct unrepairable -- pool_finding's count and first message */
struct unrepairable {
	int n;
	char first[200];
};

/*
 * pool_finding -- pmemstore_check_report callback: count the findings
 * REPAIR could not fix without losing a live object
 */
static int
pool_finding(const struct pmemstore_finding *f, void *arg)
{
	struct unrepairable *u = arg;

	if (f->repairable)
		return 0;
	if (u->n++ == 0)
		snprintf(u->first, sizeof(u->first), "%s",
			 f->message ? f->message : "(no message)");
	return 0;
}

/*
 * pool_check -- I6: pmemstore_check of path finds nothing that is not
 * repairable (a crash leaves only what open or REPAIR fixes: stale index
 * entries, bitmaps that are hints, orphan pages).  Gated by --pool-check
 * until pmemstore_check knows format 2 (CRASHSIM_POOL_CHECK).
 */
static int
pool_check(const char *what, char *why, size_t wl)
{
	struct unrepairable u = {0};
	int r;

	if (!opt.pool_check)
		return 0;
	in_check++;
	r = pmemstore_check_report(img_path, 0, pool_finding, &u);
	in_check--;
	if (u.n)
		FAIL("I6: pmemstore_check of the %s finds %d unrepairable "
		     "thing(s): %s",
		     what, u.n, u.first);
	if (r && errno != EUCLEAN)
		FAIL("I6: pmemstore_check of the %s fails: %s", what,
		     pmemstore_errormsg());
	return 0;
fail:
	return -1;
}

/* clean_ok -- does the closed image carry a valid clean-close record? */
static int
clean_ok(void)
{
	struct pms_super_page sp[2];
	int fd = open(img_path, O_RDONLY), ok = 0;

	if (fd >= 0 && pread(fd, sp, sizeof(sp), 0) == sizeof(sp))
		ok = sp[0].clean.check != 0 &&
		     sp[0].clean.check ==
			     XXH64(&sp[0].clean,
				   offsetof(struct pms_clean, check),
				   PMS_CLEAN_SEED) &&
		     !memcmp(&sp[0].clean, &sp[1].clean, sizeof(sp[0].clean));
	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * check_image -- recover img_path and check every invariant; 0 = clean.
 * Recovery is the open and the first close after it: an open after a
 * crash does no per-object work, the close settles what the open left
 * (pms_heap_settle), and both are crashed in I7's nested images.
 */
int
check_image(uint64_t no, char *why, size_t wl)
{
	static struct lives l1, l2;
	struct pmemstore *ps;
	struct pmemstore_stats st1, st2;
	uint64_t m1, m2;
	int nested = opt.i7_every && no % opt.i7_every == 0;
	int refill = opt.i9_every && no % opt.i9_every == 0;
	int ret = -1;

	/*
	 * I1 for create: once pmemstore_create returned, both superblock
	 * copies are durable and valid in every image, before any recovery
	 * (open would restore a missing copy and hide the loss of redundancy)
	 */
	if (!orc.create || orc.created) {
		int nsb = 0;

		in_check++;
		(void)pmemstore_check_report(img_path, 0, sb_finding, &nsb);
		in_check--;
		if (nsb)
			FAIL("I1: pmemstore_create returned, but the image "
			     "lacks a valid superblock copy: %s",
			     pmemstore_errormsg());
		if (pool_check("crash image", why, wl))
			goto fail;
	}
	track_img = nested;
	ps = pmemstore_open(img_path, 0);
	track_img = 0;
	if (ps == NULL) {
		int e = errno;

		rec_model.active = 0;
		/*
		 * no pool yet: open fails cleanly, EINVAL (no magic) or EIO
		 * (no valid copy; a torn copy whose version word did not
		 * land is damage, not a newer format: ENOTSUP would be a
		 * wrong diagnosis and is a violation)
		 */
		if (orc.create && !orc.created && (e == EINVAL || e == EIO)) {
			ret = 0;
			goto out;
		}
		FAIL("I1: the image does not open: %s", pmemstore_errormsg());
	}
	if (orc.create) {
		struct pmemstore_stats s;

		pmemstore_stats(ps, &s);
		if (s.pages_total * PAGE > orc.pool_size ||
		    s.pages_total * PAGE + (4 << 20) < orc.pool_size) {
			pmemstore_close(ps);
			FAIL("I1: a pool cut short by a crash in create "
			     "opens with %llu pages for %zu bytes",
			     (unsigned long long)s.pages_total, orc.pool_size);
		}
	}
	if (check_open(ps, &l1, 0, why, wl)) {
		pmemstore_close(ps);
		goto fail;
	}
	pmemstore_stats(ps, &st1);
	/* the close settles the slab pages open left: still recovery */
	if (pmemstore_close(ps))
		FAIL("I1: the close after recovery fails: %s",
		     pmemstore_errormsg());
	rec_model.active = 0;
	if (!clean_ok())
		FAIL("I3: the close after recovery left no valid clean-close "
		     "record");

	/* I6 */
	if (pool_check("recovered pool", why, wl))
		goto fail;

	/* I7: open again -- clean now: exact pages, exact bitmaps */
	if (meta_digest(img_path, &m1))
		FAIL("I7: cannot read the recovered pool's metadata");
	ps = pmemstore_open(img_path, 0);
	if (ps == NULL)
		FAIL("I7: the recovered pool does not open again: %s",
		     pmemstore_errormsg());
	if (check_open(ps, &l2, 1, why, wl)) {
		pmemstore_close(ps);
		goto fail;
	}
	pmemstore_stats(ps, &st2);
	pmemstore_close(ps);
	if (!same_objects(&l1, &l2) || st1.bytes != st2.bytes)
		FAIL("I7: a second open gives other objects (%zu, %llu B) "
		     "than the first (%zu, %llu B)",
		     l2.n, (unsigned long long)st2.bytes, l1.n,
		     (unsigned long long)st1.bytes);
	if (meta_digest(img_path, &m2) || m1 != m2)
		FAIL("I7: a second open changed the metadata");
	if (nested) {
		cur->i7_images++;
		if (check_nested(&l1, m1, why, wl))
			goto fail;
	}

	/* I9 */
	if (refill) {
		struct fill_counts fc, fresh;
		struct pmemstore_stats s;

		cur->i9_images++;
		/* the volatile heap reaches every free page (issue 9) */
		if (vw_on && vw_fill_check(img_path, why, wl))
			goto fail;
		fresh_fill(img_len, &fresh);
		ps = pmemstore_open(img_path, 0);
		if (ps == NULL)
			FAIL("I9: the recovered pool does not open again: %s",
			     pmemstore_errormsg());
		for (size_t i = 0; i < l1.n; i++)
			if (persist_free(ps, l1.v[i].id)) {
				pmemstore_close(ps);
				FAIL("I9: freeing a live object fails: %s",
				     pmemstore_errormsg());
			}
		pmemstore_stats(ps, &s);
		if (s.objects != 0 ||
		    s.pages_free + s.index_pages != s.pages_total) {
			pmemstore_close(ps);
			FAIL("I3: with every object freed, %llu of %llu "
			     "pages are free (%llu of the index)",
			     (unsigned long long)s.pages_free,
			     (unsigned long long)s.pages_total,
			     (unsigned long long)s.index_pages);
		}
		if (do_fill(ps, &fc, why, wl)) {
			pmemstore_close(ps);
			goto fail;
		}
		fc.ipages = s.index_pages;
		pmemstore_close(ps);
		/* an index that grew keeps its pages: no fresh pool's fill */
		if (fc.ipages == fresh.ipages &&
		    memcmp(&fc, &fresh, sizeof(fc)))
			FAIL("I9: the emptied pool fills to %llu/%llu/%llu/"
			     "%llu objects (2M/64K/4K/64), a fresh one to "
			     "%llu/%llu/%llu/%llu",
			     (unsigned long long)fc.n[0],
			     (unsigned long long)fc.n[1],
			     (unsigned long long)fc.n[2],
			     (unsigned long long)fc.n[3],
			     (unsigned long long)fresh.n[0],
			     (unsigned long long)fresh.n[1],
			     (unsigned long long)fresh.n[2],
			     (unsigned long long)fresh.n[3]);
	}
	ret = 0;
	goto out;
fail:
	ret = -1;
out:
	model_release(&rec_model);
	return ret;
}
