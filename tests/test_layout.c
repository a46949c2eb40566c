/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_layout.c -- tests of the on-media format (lib/layout.h)
 *
 * Owns: the sizes and field offsets of every persistent struct, the
 * descriptor encoding macros, the sanity of the slab class table, and a
 * check of real pools against the format: superblock fields, both copies
 * and their checksums, sparseness of a new pool, and the descriptors,
 * headers and records that describe live objects, read back from the file
 * after close.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "layout.h"

#define FIELD(type, f, off, sz)                                                \
	do {                                                                   \
		CU_ASSERT_EQUAL(offsetof(type, f), (off));                     \
		CU_ASSERT_EQUAL(sizeof(((type *)0)->f), (sz));                 \
	} while (0)

/* test_struct_super -- struct pms_super and pms_super_page */
static void
test_struct_super(void)
{
	CU_ASSERT_EQUAL(sizeof(struct pms_super), 128);
	FIELD(struct pms_super, magic, 0, 8);
	FIELD(struct pms_super, version, 8, 4);
	FIELD(struct pms_super, page_size, 12, 4);
	FIELD(struct pms_super, pool_uuid, 16, 16);
	FIELD(struct pms_super, pool_size, 32, 8);
	FIELD(struct pms_super, desc_off, 40, 8);
	FIELD(struct pms_super, data_off, 48, 8);
	FIELD(struct pms_super, npages, 56, 8);
	FIELD(struct pms_super, create_time, 64, 8);
	FIELD(struct pms_super, incompat, 72, 8);
	FIELD(struct pms_super, reserved, 80, 40);
	FIELD(struct pms_super, checksum, 120, 8);

	CU_ASSERT_EQUAL(sizeof(struct pms_super_page), PMS_PAGE_SIZE);
	FIELD(struct pms_super_page, sb, 0, 128);
	FIELD(struct pms_super_page, hwm, 2048, 8);
	CU_ASSERT_EQUAL(offsetof(struct pms_super_page, hwm) % PMS_LINE, 0);

	CU_ASSERT_EQUAL(sizeof(PMS_MAGIC), 8);
	CU_ASSERT_EQUAL(PMS_SB_A_OFF, 0);
	CU_ASSERT_EQUAL(PMS_SB_B_OFF, PMS_PAGE_SIZE);
	CU_ASSERT_EQUAL(PMS_DESC_OFF, 2 * PMS_PAGE_SIZE);
	CU_ASSERT_EQUAL(1ULL << PMS_PAGE_SHIFT, PMS_PAGE_SIZE);
	CU_ASSERT_EQUAL(PMS_HUGE_PAGES * PMS_PAGE_SIZE, PMS_HUGE_SIZE);
	CU_ASSERT_EQUAL(PMS_HUGE_SIZE, 2 * MIB);
	CU_ASSERT_EQUAL(PMS_HWM_INITIAL * PMS_PAGE_SIZE, 64 * MIB);
}

/* test_struct_objects -- descriptors, headers, records, check inputs */
static void
test_struct_objects(void)
{
	CU_ASSERT_EQUAL(sizeof(struct pms_desc), 16);
	FIELD(struct pms_desc, w0, 0, 8);
	FIELD(struct pms_desc, w1, 8, 8);

	CU_ASSERT_EQUAL(sizeof(struct pms_obj_hdr), PMS_HDR_SIZE);
	CU_ASSERT_EQUAL(PMS_HDR_SIZE, 32);
	FIELD(struct pms_obj_hdr, uuid, 0, 16);
	FIELD(struct pms_obj_hdr, size, 16, 4);
	FIELD(struct pms_obj_hdr, rsvd, 20, 4);
	FIELD(struct pms_obj_hdr, check, 24, 8);

	CU_ASSERT_EQUAL(sizeof(struct pms_record), PMS_RECORD_SIZE);
	CU_ASSERT_EQUAL(PMS_RECORD_SIZE, 64);
	FIELD(struct pms_record, uuid, 0, 16);
	FIELD(struct pms_record, size, 16, 8);
	FIELD(struct pms_record, page, 24, 8);
	FIELD(struct pms_record, npages, 32, 8);
	FIELD(struct pms_record, rsvd, 40, 16);
	FIELD(struct pms_record, check, 56, 8);

	CU_ASSERT_EQUAL(sizeof(struct pms_check_small), 40);
	FIELD(struct pms_check_small, uuid, 0, 16);
	FIELD(struct pms_check_small, size, 16, 8);
	FIELD(struct pms_check_small, page, 24, 8);
	FIELD(struct pms_check_small, slot, 32, 4);
	FIELD(struct pms_check_small, cls, 36, 4);

	CU_ASSERT_EQUAL(sizeof(struct pms_check_record), 56);
	FIELD(struct pms_check_record, uuid, 0, 16);
	FIELD(struct pms_check_record, size, 16, 8);
	FIELD(struct pms_check_record, page, 24, 8);
	FIELD(struct pms_check_record, npages, 32, 8);
	FIELD(struct pms_check_record, rpage, 40, 8);
	FIELD(struct pms_check_record, rslot, 48, 4);
	FIELD(struct pms_check_record, magic, 52, 4);
	CU_ASSERT_EQUAL(memcmp("REC1", "\x52\x45\x43\x31", 4), 0);
}

/* test_desc_macros -- the descriptor encodings round-trip */
static void
test_desc_macros(void)
{
	CU_ASSERT_EQUAL(PMS_DESC_TYPE(0), PMS_DESC_FREE);
	for (unsigned c = 0; c < PMS_NCLASSES; c++) {
		uint64_t w0 = PMS_DESC_SLAB_W0(c);
		CU_ASSERT_EQUAL(PMS_DESC_TYPE(w0), PMS_DESC_SLAB);
		CU_ASSERT_EQUAL(PMS_DESC_SLAB_CLASS(w0), c);
		CU_ASSERT_NOT_EQUAL(w0, 0);
	}
	uint64_t rpages[] = {0, 1, 4095, 123456789, PMS_MAX_NPAGES - 1};
	for (size_t i = 0; i < ARRAY_SIZE(rpages); i++) {
		for (unsigned rslot = 0; rslot < PMS_SLOTS_MAX; rslot += 7) {
			uint64_t w0 = PMS_DESC_HEAD_W0(rpages[i], rslot);
			CU_ASSERT_EQUAL(PMS_DESC_TYPE(w0), PMS_DESC_HEAD);
			CU_ASSERT_EQUAL(PMS_DESC_HEAD_RSLOT(w0), rslot);
			CU_ASSERT_EQUAL(PMS_DESC_HEAD_RPAGE(w0), rpages[i]);
		}
		uint64_t t = PMS_DESC_TAIL_W0(rpages[i] + 1);
		CU_ASSERT_EQUAL(PMS_DESC_TYPE(t), PMS_DESC_TAIL);
		CU_ASSERT_EQUAL(PMS_DESC_TAIL_DIST(t), rpages[i] + 1);
	}
	/* the largest slot index fits the 6-bit rslot field */
	CU_ASSERT_EQUAL(PMS_DESC_HEAD_RSLOT(PMS_DESC_HEAD_W0(7, 63)), 63);
	/* the largest page index fits in the rpage field with room */
	CU_ASSERT(PMS_MAX_NPAGES - 1 <= (UINT64_MAX >> 10));
	CU_ASSERT(PMS_MAX_NPAGES - 1 <= (UINT64_MAX >> 4));
	/* all types are distinct and fit 4 bits */
	CU_ASSERT(PMS_DESC_BAD < 16);
}

/* test_class_table -- every class fits a page; sizes increase */
static void
test_class_table(void)
{
	static const struct pms_class cls[] = PMS_CLASS_TABLE;
	CU_ASSERT_EQUAL(ARRAY_SIZE(cls), PMS_NCLASSES);

	/* class 0: 64 records, no data */
	CU_ASSERT_EQUAL(cls[PMS_CLASS_RECORD].size, 0);
	CU_ASSERT_EQUAL(cls[PMS_CLASS_RECORD].nslots, PMS_SLOTS_MAX);
	CU_ASSERT_EQUAL(cls[PMS_CLASS_RECORD].nslots * PMS_RECORD_SIZE,
			PMS_PAGE_SIZE);

	uint32_t prev = 0;
	for (unsigned c = 1; c < ARRAY_SIZE(cls); c++) {
		const struct pms_class *k = &cls[c];
		CU_ASSERT(k->size > prev);
		CU_ASSERT(k->nslots >= 1);
		CU_ASSERT(k->nslots <= PMS_SLOTS_MAX);
		CU_ASSERT(k->data_off >= k->nslots * PMS_HDR_SIZE);
		CU_ASSERT_EQUAL(k->data_off % 64, 0);
		CU_ASSERT(k->data_off + (uint64_t)k->nslots * k->size <=
			  PMS_PAGE_SIZE);
		CU_ASSERT(PMS_CLASS_FITS(k->size, k->nslots, k->data_off));
		/* every slot is at least 16-byte aligned */
		CU_ASSERT_EQUAL(k->size % 16, 0);
		/* headers are packed: no wasted line before the data */
		CU_ASSERT_EQUAL(k->data_off,
				(k->nslots * PMS_HDR_SIZE + 63) / 64 * 64);
		/* no room for one more slot */
		uint64_t n1 = k->nslots + 1ULL;
		CU_ASSERT(n1 > PMS_SLOTS_MAX ||
			  (n1 * PMS_HDR_SIZE + 63) / 64 * 64 + n1 * k->size >
				  PMS_PAGE_SIZE);
		prev = k->size;
	}
	CU_ASSERT_EQUAL(cls[PMS_NCLASSES - 1].size, PMS_SMALL_MAX);
	CU_ASSERT_EQUAL(cls[1].size, 64);
}

/* on-media scanning of a closed pool */

struct media_obj {
	uuid_t id;
	uint64_t size;
	uint64_t off; /* file offset of the object's first byte */
	uint64_t page;
	uint64_t npages; /* 0 for a small object */
	unsigned slot;
	unsigned cls;
};

struct media {
	int fd;
	uint8_t *base;
	uint64_t len;
	struct pms_super_page *sa, *sb;
	struct pms_desc *desc;
	uint64_t npages;
	uint64_t data_off;
	struct media_obj *objs;
	size_t nobjs;
	unsigned errors;
};

#define MEDIA_ERR(m, ...)                                                      \
	do {                                                                   \
		fprintf(stderr, "media: " __VA_ARGS__);                        \
		fputc('\n', stderr);                                           \
		(m)->errors++;                                                 \
	} while (0)

/* media_add -- append an object found on media */
static void
media_add(struct media *m, const struct media_obj *o)
{
	m->objs = realloc(m->objs, (m->nobjs + 1) * sizeof(*o));
	m->objs[m->nobjs++] = *o;
}

/* media_scan -- map a closed pool and list its live objects */
static int
media_scan(struct media *m, const char *path)
{
	static const struct pms_class cls[] = PMS_CLASS_TABLE;
	memset(m, 0, sizeof(*m));
	m->fd = open(path, O_RDONLY);
	if (m->fd < 0)
		return -1;
	struct stat st;
	fstat(m->fd, &st);
	m->len = (uint64_t)st.st_size;
	m->base = mmap(NULL, m->len, PROT_READ, MAP_SHARED, m->fd, 0);
	if (m->base == MAP_FAILED) {
		close(m->fd);
		return -1;
	}
	m->sa = (struct pms_super_page *)(m->base + PMS_SB_A_OFF);
	m->sb = (struct pms_super_page *)(m->base + PMS_SB_B_OFF);
	m->npages = m->sa->sb.npages;
	m->data_off = m->sa->sb.data_off;
	m->desc = (struct pms_desc *)(m->base + PMS_DESC_OFF);
	if (m->data_off + m->npages * PMS_PAGE_SIZE > m->len ||
	    PMS_DESC_OFF + m->npages * sizeof(struct pms_desc) > m->data_off) {
		MEDIA_ERR(m, "bad geometry");
		return 0;
	}

	for (uint64_t p = 0; p < m->npages; p++) {
		uint64_t w0 = m->desc[p].w0, w1 = m->desc[p].w1;
		if (PMS_DESC_TYPE(w0) != PMS_DESC_SLAB)
			continue;
		unsigned c = PMS_DESC_SLAB_CLASS(w0);
		if (c >= PMS_NCLASSES) {
			MEDIA_ERR(m, "page %lu: class %u", (unsigned long)p, c);
			continue;
		}
		const uint8_t *page = m->base + m->data_off + p * PMS_PAGE_SIZE;
		for (unsigned s = 0; s < cls[c].nslots; s++) {
			if (!(w1 & (1ULL << s)))
				continue;
			struct media_obj o;
			memset(&o, 0, sizeof(o));
			o.slot = s;
			o.cls = c;
			if (c == PMS_CLASS_RECORD) {
				const struct pms_record *r =
					(const void *)(page +
						       s * PMS_RECORD_SIZE);
				memcpy(o.id, r->uuid, 16);
				o.size = r->size;
				o.page = r->page;
				o.npages = r->npages;
				if (r->check == 0)
					MEDIA_ERR(m, "record %lu/%u check 0",
						  (unsigned long)p, s);
				if (o.page + o.npages > m->npages ||
				    o.npages == 0) {
					MEDIA_ERR(m, "record %lu/%u run bad",
						  (unsigned long)p, s);
					continue;
				}
				o.off = m->data_off + o.page * PMS_PAGE_SIZE;
				/* the run's descriptors point back */
				uint64_t h = m->desc[o.page].w0;
				if (PMS_DESC_TYPE(h) != PMS_DESC_HEAD ||
				    PMS_DESC_HEAD_RPAGE(h) != p ||
				    PMS_DESC_HEAD_RSLOT(h) != s ||
				    m->desc[o.page].w1 != o.npages)
					MEDIA_ERR(m, "head of %lu bad",
						  (unsigned long)o.page);
				for (uint64_t t = 1; t < o.npages; t++) {
					uint64_t tw = m->desc[o.page + t].w0;
					if (PMS_DESC_TYPE(tw) !=
						    PMS_DESC_TAIL ||
					    PMS_DESC_TAIL_DIST(tw) != t)
						MEDIA_ERR(m, "tail %lu+%lu bad",
							  (unsigned long)o.page,
							  (unsigned long)t);
				}
			} else {
				const struct pms_obj_hdr *hd =
					(const void *)(page + s * PMS_HDR_SIZE);
				memcpy(o.id, hd->uuid, 16);
				o.size = hd->size;
				o.page = p;
				o.off = m->data_off + p * PMS_PAGE_SIZE +
					cls[c].data_off +
					(uint64_t)s * cls[c].size;
				if (hd->check == 0)
					MEDIA_ERR(m, "header %lu/%u check 0",
						  (unsigned long)p, s);
				if (o.size == 0 || o.size > cls[c].size)
					MEDIA_ERR(m, "header %lu/%u size %lu",
						  (unsigned long)p, s,
						  (unsigned long)o.size);
			}
			media_add(m, &o);
		}
	}
	return 0;
}

/* media_find -- the object of a UUID on media, or NULL */
static const struct media_obj *
media_find(const struct media *m, const uuid_t id)
{
	for (size_t i = 0; i < m->nobjs; i++)
		if (uuid_compare(m->objs[i].id, id) == 0)
			return &m->objs[i];
	return NULL;
}

/* media_done -- unmap */
static void
media_done(struct media *m)
{
	if (m->base != NULL && m->base != MAP_FAILED)
		munmap(m->base, m->len);
	if (m->fd >= 0)
		close(m->fd);
	free(m->objs);
}

/* test_superblock -- a new pool's superblocks, descriptors, sparseness */
static void
test_superblock(void)
{
	char *path = test_pool_path("layout_sb");
	const size_t size = 64 * MIB + 12345;
	struct pmemstore *ps = EXPECT_PTR(pmemstore_create(path, size, 0600));
	if (ps == NULL)
		goto out;
	struct pmemstore_stats st = get_stats(ps);
	EXPECT_OK(pmemstore_close(ps));

	struct stat fst;
	CU_ASSERT_EQUAL(stat(path, &fst), 0);
	CU_ASSERT_EQUAL((uint64_t)fst.st_size, size);
	CU_ASSERT_EQUAL(fst.st_mode & 0777, 0600);
	/* a new pool is sparse: it writes almost nothing */
	printf("\n    new 64 MiB pool occupies %lu KiB\n",
	       (unsigned long)(fst.st_blocks * 512 / 1024));
	CU_ASSERT((uint64_t)fst.st_blocks * 512 < 4 * MIB);

	struct pms_super_page a, b;
	CU_ASSERT_EQUAL(file_read_at(path, PMS_SB_A_OFF, &a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(file_read_at(path, PMS_SB_B_OFF, &b, sizeof(b)), 0);
	CU_ASSERT_EQUAL(memcmp(&a.sb, &b.sb, sizeof(a.sb)), 0);
	CU_ASSERT_EQUAL(memcmp(a.sb.magic, PMS_MAGIC, 8), 0);
	CU_ASSERT_EQUAL(a.sb.version, PMS_FORMAT_VERSION);
	CU_ASSERT_EQUAL(a.sb.page_size, PMS_PAGE_SIZE);
	CU_ASSERT_EQUAL(a.sb.pool_size, size);
	CU_ASSERT_EQUAL(a.sb.desc_off, PMS_DESC_OFF);
	CU_ASSERT_EQUAL(a.sb.data_off % PMS_HUGE_SIZE, 0);
	CU_ASSERT(a.sb.data_off >=
		  PMS_DESC_OFF + a.sb.npages * sizeof(struct pms_desc));
	CU_ASSERT(a.sb.data_off + a.sb.npages * PMS_PAGE_SIZE <= size);
	/* at most a huge page is wasted at the end */
	CU_ASSERT(a.sb.data_off + a.sb.npages * PMS_PAGE_SIZE + PMS_HUGE_SIZE >
		  size);
	CU_ASSERT_EQUAL(a.sb.npages, st.pages_total);
	CU_ASSERT_EQUAL(a.sb.incompat, 0);
	CU_ASSERT(mem_is(a.sb.reserved, 0, sizeof(a.sb.reserved)));
	CU_ASSERT(!mem_is(a.sb.pool_uuid, 0, 16));
	CU_ASSERT(a.sb.create_time > 1600000000ULL);
	CU_ASSERT_EQUAL(a.sb.checksum,
			test_xxh64(&a.sb, offsetof(struct pms_super, checksum),
				   PMS_SB_SEED));
	CU_ASSERT_EQUAL(b.sb.checksum,
			test_xxh64(&b.sb, offsetof(struct pms_super, checksum),
				   PMS_SB_SEED));
	uint64_t hwm = a.hwm > b.hwm ? a.hwm : b.hwm;
	printf("    npages %lu data_off %lu hwm A %lu B %lu\n",
	       (unsigned long)a.sb.npages, (unsigned long)a.sb.data_off,
	       (unsigned long)a.hwm, (unsigned long)b.hwm);
	CU_ASSERT(hwm > 0);

	/*
	 * every descriptor of a new pool is free (all zero) but the index's:
	 * a segment of depth 0 at pages 0..3, a one-page directory at page 4
	 * naming it, in both directory words
	 */
	size_t dlen = a.sb.npages * sizeof(struct pms_desc);
	uint8_t *d = malloc(dlen);
	struct pms_desc *dd = (struct pms_desc *)d;
	uint64_t dir0 = 1;

	CU_ASSERT_EQUAL(file_read_at(path, PMS_DESC_OFF, d, dlen), 0);
	for (unsigned i = 0; i < PMS_SEG_PAGES; i++) {
		CU_ASSERT_EQUAL(dd[i].w0, PMS_DESC_INDEX_W0(PMS_INDEX_SEG, i));
		CU_ASSERT_EQUAL(dd[i].w1, i ? 0 : PMS_SEG_W1(0, 0));
	}
	CU_ASSERT_EQUAL(dd[PMS_SEG_PAGES].w0,
			PMS_DESC_INDEX_W0(PMS_INDEX_DIR, 0));
	CU_ASSERT_EQUAL(dd[PMS_SEG_PAGES].w1, 1);
	CU_ASSERT(mem_is(d + (PMS_SEG_PAGES + 1) * sizeof(struct pms_desc), 0,
			 dlen - (PMS_SEG_PAGES + 1) * sizeof(struct pms_desc)));
	CU_ASSERT_EQUAL(a.dir, PMS_DIR_WORD(PMS_SEG_PAGES, 0));
	CU_ASSERT_EQUAL(b.dir, a.dir);
	CU_ASSERT_EQUAL(
		file_read_at(path,
			     a.sb.data_off + PMS_SEG_PAGES * PMS_PAGE_SIZE,
			     &dir0, 8),
		0);
	CU_ASSERT_EQUAL(dir0, 0); /* the segment's first page */
	/* a new pool was never opened: closed cleanly, with no object */
	CU_ASSERT_EQUAL(a.clean.objects, 0);
	CU_ASSERT_NOT_EQUAL(a.clean.check, 0);
	CU_ASSERT(memcmp(&a.clean, &b.clean, sizeof(a.clean)) == 0);
	CU_ASSERT(mem_is(&a.split, 0, sizeof(a.split)));
	free(d);

	/* two pools get different UUIDs */
	char *path2 = test_pool_path("layout_sb2");
	ps = EXPECT_PTR(pmemstore_create(path2, PMEMSTORE_MIN_POOL, 0600));
	if (ps != NULL) {
		pmemstore_close(ps);
		struct pms_super_page c;
		CU_ASSERT_EQUAL(file_read_at(path2, 0, &c, sizeof(c)), 0);
		CU_ASSERT_NOT_EQUAL(memcmp(c.sb.pool_uuid, a.sb.pool_uuid, 16),
				    0);
		CU_ASSERT_EQUAL(c.sb.pool_size, PMEMSTORE_MIN_POOL);
	}
	test_pool_remove(path2);
out:
	test_pool_remove(path);
}

/* class_of -- smallest class holding size, or -1 for a large object */
static int
class_of(size_t size)
{
	static const struct pms_class cls[] = PMS_CLASS_TABLE;
	for (unsigned c = 1; c < PMS_NCLASSES; c++)
		if (size <= cls[c].size)
			return (int)c;
	return -1;
}

/* test_objects_on_media -- live objects are where the format says */
static void
test_objects_on_media(void)
{
	static const size_t sizes[] = {
		1,    16,   63,	   64,	  65,	  96,	   100,		128,
		200,  256,  300,   500,	  512,	  700,	   1000,	1024,
		1100, 1312, 1313,  2000,  2016,	  2017,	   4096,	4097,
		5000, 8192, 12345, 65536, 100000, 2 * MIB, 2 * MIB + 1,
	};
	enum { N = ARRAY_SIZE(sizes), REP = 3 };
	uuid_t ids[N * REP];
	void *ptrs[N * REP];
	size_t szs[N * REP];

	char *path = test_pool_path("layout_obj");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 64 * MIB, 0600));
	if (ps == NULL)
		goto out;
	for (unsigned i = 0; i < N * REP; i++) {
		test_uuid(ids[i]);
		szs[i] = sizes[i % N];
		ptrs[i] = EXPECT_PTR(persist_alloc(ps, ids[i], szs[i], 0));
		if (ptrs[i] == NULL)
			continue;
		pattern_fill(ptrs[i], szs[i], ids[i]);
		persist(ps, ptrs[i], szs[i]);
	}
	/* free one of each size: it must be gone from the media */
	for (unsigned i = 0; i < N; i++)
		EXPECT_OK(persist_free(ps, ids[i]));
	EXPECT_OK(pmemstore_close(ps));

	struct media m;
	if (media_scan(&m, path) != 0) {
		CU_FAIL("cannot map the pool");
		goto out;
	}
	CU_ASSERT_EQUAL(m.errors, 0);
	CU_ASSERT_EQUAL(m.nobjs, N * (REP - 1));

	int have_delta = 0;
	intptr_t delta = 0;
	uint64_t maxpage = 0;
	for (unsigned i = 0; i < N * REP; i++) {
		const struct media_obj *o = media_find(&m, ids[i]);
		if (i < N) {
			CU_ASSERT_PTR_NULL(o);
			continue;
		}
		CU_ASSERT_PTR_NOT_NULL(o);
		if (o == NULL || ptrs[i] == NULL)
			continue;
		CU_ASSERT_EQUAL(o->size, szs[i]);
		int c = class_of(szs[i]);
		if (c > 0) {
			/* the smallest class that fits */
			CU_ASSERT_EQUAL(o->cls, (unsigned)c);
			CU_ASSERT_EQUAL(o->npages, 0);
			if (o->page + 1 > maxpage)
				maxpage = o->page + 1;
		} else {
			CU_ASSERT_EQUAL(o->cls, PMS_CLASS_RECORD);
			CU_ASSERT_EQUAL(o->npages, (szs[i] + PMS_PAGE_SIZE -
						    1) / PMS_PAGE_SIZE);
			if (szs[i] >= PMS_HUGE_SIZE)
				CU_ASSERT_EQUAL(o->off % PMS_HUGE_SIZE, 0);
			if (o->page + o->npages > maxpage)
				maxpage = o->page + o->npages;
		}
		if (o->off + o->size <= m.len)
			CU_ASSERT_EQUAL(
				pattern_check(m.base + o->off, o->size, ids[i]),
				-1);
		/* the mapping is one piece: same distance for all objects */
		intptr_t d = (intptr_t)ptrs[i] - (intptr_t)o->off;
		if (!have_delta) {
			delta = d;
			have_delta = 1;
		}
		CU_ASSERT_EQUAL(d, delta);
	}
	/* high-water mark covers every written descriptor */
	uint64_t hwm = m.sa->hwm > m.sb->hwm ? m.sa->hwm : m.sb->hwm;
	CU_ASSERT(hwm >= maxpage);
	for (uint64_t p = hwm; p < m.npages; p++)
		if (m.desc[p].w0 != 0 || m.desc[p].w1 != 0) {
			fprintf(stderr, "descriptor %lu >= hwm %lu written\n",
				(unsigned long)p, (unsigned long)hwm);
			CU_FAIL("descriptor beyond hwm");
			break;
		}
	media_done(&m);
out:
	test_pool_remove(path);
}

static CU_TestInfo layout_tests[] = {
	{"struct_super", test_struct_super},
	{"struct_objects", test_struct_objects},
	{"desc_macros", test_desc_macros},
	{"class_table", test_class_table},
	{"superblock", test_superblock},
	{"objects_on_media", test_objects_on_media},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"layout", NULL, NULL, NULL, NULL, layout_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
