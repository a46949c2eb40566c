/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_seeds.c -- owns the seed corpus generator of fuzz_tool (included by
 * fuzz_tool.c, which provides the encoder): valid pools of several shapes
 * made with the library, crash-like images cut out of them (what each
 * commit protocol leaves when a crash drops some of its stores), and the
 * nasty cases (truncations, overflowing and huge sizes, descriptors
 * pointing outside or at themselves, duplicate UUIDs, future versions).
 */

static const char *seed_dir;
static char scratch[4096];
static unsigned nseeds;
static size_t seed_bytes;

/* OP -- one script operation: op, a, b (little-endian) */
#define OP(op, a, b) (op), (a), (uint8_t)((b)&0xff), (uint8_t)((b) >> 8)

/* clang-format off */
/* the standard script: look around, free, allocate, look again */
static const uint8_t script_std[] = {
	OP(FZ_OP_FOREACH, 0, 0),		/* walk */
	OP(FZ_OP_STATS, 0, 0),			/* stats */
	OP(FZ_OP_GET, 0, 0),			/* get id 0 */
	OP(FZ_OP_FREE, 1, 0),			/* free id 1 */
	OP(FZ_OP_FREE, 0x80, 0),		/* free the first walked */
	OP(FZ_OP_ALLOC, 40, 100),		/* small */
	OP(FZ_OP_ALLOC_INIT | 0x50, 41, 5000),	/* two pages, init */
	OP(FZ_OP_ALLOC | 0x08, 42, 12288),	/* three pages, zeroed */
	OP(FZ_OP_ID_OF, 0, 0x40),		/* an address in the data */
	OP(FZ_OP_WRITE, 0, 0x5a),		/* overwrite id 0 */
	OP(FZ_OP_ALLOC, 0, 64),			/* EEXIST or reuse */
	OP(FZ_OP_STATS, 0, 0),
};

/* the script of the huge shapes: a 2 MiB object costs a millisecond
 * (zeroing and flushing), so only a few seeds carry them */
static const uint8_t script_huge[] = {
	OP(FZ_OP_FOREACH, 0, 0),
	OP(FZ_OP_ALLOC | 0x08, 42, 0xf000),	/* 2 MiB, zeroed */
	OP(FZ_OP_FREE, 0, 0),
	OP(FZ_OP_ALLOC, 43, 0xf001),		/* 2 MiB + 1 */
	OP(FZ_OP_ID_OF, 0, 0x40),
	OP(FZ_OP_STATS, 0, 0),
};

/* a short script for the damaged cases */
static const uint8_t script_short[] = {
	OP(FZ_OP_FOREACH, 0, 0),
	OP(FZ_OP_ALLOC, 43, 0x1000),
	OP(FZ_OP_FREE, 0x80, 0),
	OP(FZ_OP_STATS, 0, 0),
};
/* clang-format on */

/* emit -- write one corpus file */
static void
emit(const char *name, unsigned flags, uint64_t claim, const uint8_t *img,
     uint64_t size, const struct hpatch *extra, size_t nextra,
     const uint8_t *ops, size_t opslen)
{
	struct buf out = {0};
	char path[4200];

	encode_image(&out, flags, claim, img, size, extra, nextra, ops, opslen);
	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	write_file(path, out.p, out.n);
	nseeds++;
	seed_bytes += out.n;
	free(out.p);
}

/* pool_path -- the scratch file for a shape */
static const char *
pool_path(const char *name)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s.pool", scratch, name);
	return path;
}

/* mkpool -- a new pool (exits on failure) */
static struct pmemstore *
mkpool(const char *name, uint64_t size)
{
	const char *path = pool_path(name);
	struct pmemstore *ps;

	unlink(path);
	ps = pmemstore_create(path, size, 0600);
	if (ps == NULL) {
		fprintf(stderr, "fuzz_tool: create %s: %s\n", path,
			pmemstore_errormsg());
		exit(1);
	}
	return ps;
}

/* obj -- allocate object k of size bytes with a short marker (exits) */
static void *
obj(struct pmemstore *ps, unsigned k, size_t size)
{
	uint8_t id[16];
	uint8_t *p;

	fz_uuid(k, id);
	p = persist_alloc(ps, id, size, PERSIST_ZERO);
	if (p == NULL) {
		fprintf(stderr, "fuzz_tool: alloc %u of %zu: %s\n", k, size,
			pmemstore_errormsg());
		exit(1);
	}
	persist_memset(ps, p, 0x40 + (int)(k & 0x3f), size < 8 ? size : 8);
	return p;
}

/* freeobj -- free object k (exits on failure) */
static void
freeobj(struct pmemstore *ps, unsigned k)
{
	uint8_t id[16];

	fz_uuid(k, id);
	if (persist_free(ps, id)) {
		fprintf(stderr, "fuzz_tool: free %u: %s\n", k,
			pmemstore_errormsg());
		exit(1);
	}
}

/* an object's location in the file */
struct loc {
	uint64_t page;	   /* slab page, or first page of the run */
	unsigned slot;	   /* small: slot; large: record slot */
	uint64_t rpage;	   /* large: record page */
	uint64_t npages;   /* large: run length, else 0 */
	uint64_t data_off; /* of the pool */
};

/* locate -- where object k lives (exits if it does not) */
static struct loc
locate(struct pmemstore *ps, unsigned k)
{
	uint8_t id[16];
	struct loc l = {0};
	uint8_t *p;
	uint64_t off;

	fz_uuid(k, id);
	p = persist_get(ps, id, NULL);
	if (p == NULL) {
		fprintf(stderr, "fuzz_tool: no object %u\n", k);
		exit(1);
	}
	off = (uint64_t)(p - ps->data);
	l.data_off = (uint64_t)(ps->data - ps->base);
	l.page = off / PMS_PAGE_SIZE;
	uint64_t w0 = ps->desc[l.page].w0;

	if (PMS_DESC_TYPE(w0) == PMS_DESC_HEAD) {
		l.rpage = PMS_DESC_HEAD_RPAGE(w0);
		l.slot = PMS_DESC_HEAD_RSLOT(w0);
		l.npages = ps->desc[l.page].w1;
	} else {
		const struct pms_class *c =
			&pms_classes[PMS_DESC_SLAB_CLASS(w0)];

		l.slot = (unsigned)((off % PMS_PAGE_SIZE - c->data_off) /
				    c->size);
	}
	return l;
}

/* an image being edited: the pool file mapped shared */
struct img {
	uint8_t *p;
	uint64_t size;
	int fd;
};

static struct img
img_open(const char *name)
{
	struct img m;
	struct stat st;

	m.fd = open(pool_path(name), O_RDWR | O_CLOEXEC);
	if (m.fd < 0 || fstat(m.fd, &st)) {
		perror(pool_path(name));
		exit(1);
	}
	m.size = (uint64_t)st.st_size;
	m.p = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
	if (m.p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return m;
}

static void
img_close(struct img *m)
{
	munmap(m->p, m->size);
	close(m->fd);
}

/* field accessors into an image */
static struct pms_desc *
desc_at(struct img *m, uint64_t p)
{
	return (struct pms_desc *)(m->p + PMS_DESC_OFF + p * 16);
}

static uint8_t *
page_at(struct img *m, const struct loc *l, uint64_t p)
{
	return m->p + l->data_off + p * PMS_PAGE_SIZE;
}

static struct pms_super *
super_at(struct img *m, int copy)
{
	return (struct pms_super *)(m->p + (copy ? PMS_SB_B_OFF : 0));
}

/* emit_img -- emit an edited image with a script */
static void
emit_img(const char *name, unsigned flags, struct img *m, const uint8_t *ops,
	 size_t opslen)
{
	emit(name, flags, m->size, m->p, m->size, NULL, 0, ops, opslen);
}

/* copy_pool -- a copy of pool from as pool to (a fresh image to edit) */
static void
copy_pool(const char *from, const char *to)
{
	char cmd[9000], src[4200];

	snprintf(src, sizeof(src), "%s", pool_path(from));
	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", src,
		 pool_path(to));
	if (system(cmd) != 0) {
		fprintf(stderr, "fuzz_tool: %s failed\n", cmd);
		exit(1);
	}
}

#define EMIT_POOL(name, suffix, flags, ops)                                    \
	do {                                                                   \
		struct img m_ = img_open(name);                                \
		emit_img(name suffix, flags, &m_, ops, sizeof(ops));           \
		img_close(&m_);                                                \
	} while (0)

#define STD (FZ_F_REPAIR | FZ_F_REOPEN)

/* shapes -- valid pools made by the library */
static void
shapes(void)
{
	struct pmemstore *ps;
	const size_t sizes[] = {1,   64,  65,  100,  200,  300,
				400, 500, 700, 1000, 1300, 2016};

	ps = mkpool("empty", PMEMSTORE_MIN_POOL);
	pmemstore_close(ps);
	EMIT_POOL("empty", "", STD, script_std);
	EMIT_POOL("empty", "-ro", FZ_F_RDONLY | FZ_F_REOPEN, script_std);

	/* slab objects of every class (ids 0..11), and a page of records */
	ps = mkpool("small", PMEMSTORE_MIN_POOL);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		obj(ps, i, sizes[i]);
	pmemstore_close(ps);
	EMIT_POOL("small", "", STD, script_std);
	EMIT_POOL("small", "-ro", FZ_F_RDONLY | FZ_F_REOPEN, script_std);

	/* multi-page objects */
	ps = mkpool("multipage", PMEMSTORE_MIN_POOL);
	obj(ps, 0, 2017);
	obj(ps, 1, 4096);
	obj(ps, 2, 4097);
	obj(ps, 3, 40000);
	obj(ps, 4, 100);
	pmemstore_close(ps);
	EMIT_POOL("multipage", "", STD, script_std);

	/* objects of 2 MiB and more (aligned runs) */
	ps = mkpool("huge", 16 << 20);
	obj(ps, 0, PMS_HUGE_SIZE);
	obj(ps, 1, PMS_HUGE_SIZE + 1);
	obj(ps, 2, 64);
	pmemstore_close(ps);
	EMIT_POOL("huge", "", STD, script_huge);
	EMIT_POOL("huge", "-std", STD, script_std);

	/* near full: large runs until ENOMEM, then small ones */
	ps = mkpool("full", PMEMSTORE_MIN_POOL);
	{
		unsigned k = 0;
		uint8_t id[16];

		for (; k < 100; k++) {
			fz_uuid(k, id);
			if (persist_alloc(ps, id, 300 << 10, 0) == NULL)
				break;
		}
		for (; k < 120; k++) {
			fz_uuid(k, id);
			if (persist_alloc(ps, id, 8000, 0) == NULL)
				break;
		}
		for (; k < 127; k++) {
			fz_uuid(k, id);
			if (persist_alloc(ps, id, 1000, 0) == NULL)
				break;
		}
	}
	pmemstore_close(ps);
	EMIT_POOL("full", "", STD, script_std);

	/* after frees: holes in slabs and runs */
	ps = mkpool("freed", PMEMSTORE_MIN_POOL);
	for (unsigned k = 0; k < 60; k++)
		obj(ps, k, k % 3 ? 48 + 30 * k : 2100 + 4000 * k);
	for (unsigned k = 0; k < 60; k += 2)
		freeobj(ps, k);
	obj(ps, 100, 500);
	pmemstore_close(ps);
	EMIT_POOL("freed", "", STD, script_std);

	/* a pool past the initial high-water mark (72 MiB), an object above */
	ps = mkpool("hwm", 72 << 20);
	obj(ps, 0, 62 << 20);
	obj(ps, 1, 200);
	obj(ps, 2, 3 << 20);
	pmemstore_close(ps);
	EMIT_POOL("hwm", "", STD, script_short);
}

/* resum -- recompute both superblock checksums of an edited image */
static void
resum(struct img *m)
{
	for (int c = 0; c < 2; c++)
		super_at(m, c)->checksum = pms_super_checksum(super_at(m, c));
}

/* seed_of -- the identity-check seed of an image */
static uint64_t
seed_of(struct img *m)
{
	uint64_t s;

	memcpy(&s, super_at(m, 0)->pool_uuid, 8);
	return s ^ PMS_SB_SEED;
}

/*
 * set_dirty -- what every crash image has: the clean-close record's check
 * zeroed in both pages (an open zeroes it before its first other write)
 */
static void
set_dirty(struct img *m)
{
	for (int c = 0; c < 2; c++)
		((struct pms_super_page *)(m->p + c * PMS_PAGE_SIZE))
			->clean.check = 0;
}

/*
 * entry_of -- the index entry that names location loc (page << 6 | slot)
 * in the segment the directory gives hash h, or NULL
 */
static uint64_t *
entry_of(struct img *m, const struct loc *l, uint64_t h, uint64_t loc)
{
	uint64_t dw = ((struct pms_super_page *)m->p)->dir, seg, *b;
	unsigned g = PMS_DIR_DEPTH(dw);

	seg = ((uint64_t *)page_at(m, l,
				   PMS_DIR_PAGE(dw)))[g ? h >> (64 - g) : 0];
	b = (uint64_t *)page_at(m, l, seg);
	for (unsigned i = 0; i < PMS_SEG_BUCKETS * PMS_BUCKET_ENTRIES; i++)
		if (b[i] && PMS_ENTRY_LOC(b[i]) == loc)
			return &b[i];
	return NULL;
}

/* entry_of_obj -- the entry of object k (exits if there is none) */
static uint64_t *
entry_of_obj(struct img *m, const struct loc *l, unsigned k)
{
	uint8_t id[16];
	uint64_t *e;

	fz_uuid(k, id);
	e = entry_of(m, l, pms_hash_uuid(seed_of(m), id),
		     PMS_LOC(l->npages ? l->rpage : l->page, l->slot));
	if (e == NULL) {
		fprintf(stderr, "fuzz_tool: no index entry for object %u\n", k);
		exit(1);
	}
	return e;
}

/*
 * crashes -- what a crash leaves in the middle of each commit protocol
 * (object.c, pool.c), cut by hand out of the "crashbase" pool: id 0 small
 * (96 B), id 1 large (3 pages), id 2 small, id 3 huge (2 MiB).  Every
 * image is dirty (set_dirty), as a crash leaves it.
 */
static void
crashes(void)
{
	struct pmemstore *ps = mkpool("crashbase", 16 << 20);
	struct loc s0, l1, s2, h3;

	obj(ps, 0, 96);
	obj(ps, 1, 3 * 4096);
	obj(ps, 2, 96);
	obj(ps, 3, PMS_HUGE_SIZE);
	s0 = locate(ps, 0);
	l1 = locate(ps, 1);
	s2 = locate(ps, 2);
	h3 = locate(ps, 3);
	pmemstore_close(ps);
	(void)s2;

#define CRASH(name, ...)                                                       \
	do {                                                                   \
		copy_pool("crashbase", name);                                  \
		struct img m = img_open(name);                                 \
		__VA_ARGS__;                                                   \
		set_dirty(&m);                                                 \
		emit_img(name, STD, &m, script_short, sizeof(script_short));   \
		emit_img(name "-ro", FZ_F_RDONLY | FZ_F_REOPEN, &m,            \
			 script_short, sizeof(script_short));                  \
		img_close(&m);                                                 \
	} while (0)

	/* small alloc: header landed, bit did not */
	CRASH("crash-small-nobit",
	      desc_at(&m, s0.page)->w1 &= ~(1ULL << s0.slot));
	/* small alloc: bit landed, header did not */
	CRASH("crash-small-nohdr",
	      memset(page_at(&m, &s0, s0.page) + s0.slot * PMS_HDR_SIZE, 0,
		     PMS_HDR_SIZE));
	/* small free: check zeroed, bit still set */
	CRASH("crash-free-small-bit",
	      memset(page_at(&m, &s0, s0.page) + s0.slot * PMS_HDR_SIZE + 24, 0,
		     8));
	/* large alloc: record and HEAD landed, record bit did not */
	CRASH("crash-large-nobit",
	      desc_at(&m, l1.rpage)->w1 &= ~(1ULL << l1.slot));
	/* large alloc: bit and record, HEAD missing (TAILs did land) */
	CRASH("crash-large-nohead", memset(desc_at(&m, l1.page), 0, 16));
	/* large alloc: bit and HEAD, record missing */
	CRASH("crash-large-norec",
	      memset(page_at(&m, &l1, l1.rpage) + l1.slot * PMS_RECORD_SIZE, 0,
		     PMS_RECORD_SIZE));
	/* large alloc: TAILs never flushed (all zero) */
	CRASH("crash-large-notails",
	      memset(desc_at(&m, l1.page + 1), 0, 16 * (l1.npages - 1)));
	/* huge alloc: TAILs never flushed */
	CRASH("crash-huge-notails",
	      memset(desc_at(&m, h3.page + 1), 0, 16 * (h3.npages - 1)));
	/* large free: bit and check cleared, HEAD and TAILs left (orphans) */
	CRASH("crash-free-large-orphan", {
		desc_at(&m, l1.rpage)->w1 &= ~(1ULL << l1.slot);
		memset(page_at(&m, &l1, l1.rpage) + l1.slot * PMS_RECORD_SIZE +
			       56,
		       0, 8);
	});
	/* large free: HEAD cleared only, TAILs left */
	CRASH("crash-free-large-headonly", {
		memset(desc_at(&m, l1.page), 0, 16);
		desc_at(&m, l1.rpage)->w1 &= ~(1ULL << l1.slot);
	});
	/* high-water mark raised in copy A only (pms_hwm_extend) */
	CRASH("crash-hwm-a-only",
	      ((struct pms_super_page *)m.p)->hwm = PMS_HWM_INITIAL * 2);
	/* superblock copy B torn (8-byte granules of a new pool) */
	CRASH("crash-sb-b-torn", memset((uint8_t *)super_at(&m, 1) + 64, 0, 8));
	/* superblock copy A never written (create cut short) */
	CRASH("crash-sb-a-zero", memset(super_at(&m, 0), 0, 128));
	/* create cut short: no superblock at all, hwm words only */
	CRASH("crash-create", {
		memset(super_at(&m, 0), 0, 128);
		memset(super_at(&m, 1), 0, 128);
	});
	/* a reused slot: the previous owner's header, bit clear, stale data */
	CRASH("crash-volatile",
	      desc_at(&m, s0.page + 40)->w0 = PMS_DESC_VOLATILE);
	/* a slab page given back and reused by a run whose TAIL did not land:
	 * a stale "header" that verifies sits inside the run's data */
	CRASH("crash-stale-header-in-run", {
		struct pms_obj_hdr h = {0};

		memcpy(h.uuid, "stale-header-uu", 16);
		h.size = 64;
		h.check = pms_check_small(seed_of(&m), h.uuid, 64, l1.page + 1,
					  0, 1);
		memcpy(page_at(&m, &l1, l1.page + 1), &h, sizeof(h));
		memset(desc_at(&m, l1.page + 1), 0, 16);
	});
	/* small alloc: entry landed, header and bit did not (stale entry) */
	CRASH("crash-small-entry-only", {
		memset(page_at(&m, &s0, s0.page) + s0.slot * PMS_HDR_SIZE, 0,
		       PMS_HDR_SIZE);
		desc_at(&m, s0.page)->w1 &= ~(1ULL << s0.slot);
	});
	/* small alloc: header and bit landed, entry did not (residue) */
	CRASH("crash-small-noentry", *entry_of_obj(&m, &s0, 0) = 0);
	/* small free: entry zeroed, check and bit not (residue) */
	CRASH("crash-free-small-entry", { *entry_of_obj(&m, &s2, 2) = 0; });
	/* large alloc: record, HEAD and bit landed, entry did not */
	CRASH("crash-large-noentry", *entry_of_obj(&m, &l1, 1) = 0);
	/* large free: HEAD and bit cleared, entry and record left (stale) */
	CRASH("crash-free-large-entry", {
		memset(desc_at(&m, l1.page), 0, 16);
		desc_at(&m, l1.rpage)->w1 &= ~(1ULL << l1.slot);
	});
#undef CRASH
}

/* set_record -- write record slot of page rpage, with a valid check */
static void
set_record(struct img *m, const struct loc *l, uint64_t rpage, unsigned slot,
	   unsigned k, uint64_t size, uint64_t page, uint64_t npages)
{
	struct pms_record r = {0};

	fz_uuid(k, r.uuid);
	r.size = size;
	r.page = page;
	r.npages = npages;
	r.check = pms_check_record(seed_of(m), r.uuid, size, page, npages,
				   rpage, slot);
	memcpy(page_at(m, l, rpage) + slot * PMS_RECORD_SIZE, &r, sizeof(r));
}

/* set_hdr -- write a small object's header with a valid check */
static void
set_hdr(struct img *m, const struct loc *l, uint64_t page, unsigned slot,
	unsigned cls, const uint8_t *uuid, uint32_t size)
{
	struct pms_obj_hdr h = {0};

	memcpy(h.uuid, uuid, 16);
	h.size = size;
	h.check = pms_check_small(seed_of(m), uuid, size, page, slot, cls);
	memcpy(page_at(m, l, page) + slot * PMS_HDR_SIZE, &h, sizeof(h));
}

/* nasty -- the malformed cases */
static void
nasty(void)
{
	static const uint8_t one = 0;
	struct pmemstore *ps = mkpool("nastybase", PMEMSTORE_MIN_POOL);
	struct loc s0, l1, s2;
	uint64_t npages = ps->npages,
		 data_off = (uint64_t)(ps->data - ps->base);
	uint8_t id[16];

	obj(ps, 0, 96);
	obj(ps, 1, 3 * 4096);
	obj(ps, 2, 96);
	s0 = locate(ps, 0);
	l1 = locate(ps, 1);
	s2 = locate(ps, 2);
	pmemstore_close(ps);

	/* zero length, one byte */
	write_file(pool_path("x"), NULL, 0);
	{
		char path[4200];

		snprintf(path, sizeof(path), "%s/nasty-zero-length", seed_dir);
		write_file(path, NULL, 0);
		snprintf(path, sizeof(path), "%s/nasty-one-byte", seed_dir);
		write_file(path, &one, 1);
		nseeds += 2;
	}
	emit("nasty-file-one-byte", STD, 1, NULL, 0, NULL, 0, script_short,
	     sizeof(script_short));

	/* truncated at every structure boundary */
	{
		struct img m = img_open("nastybase");
		const uint64_t cuts[] = {
			1,
			127,
			128,
			PMS_PAGE_SIZE,
			PMS_SB_B_OFF + 64,
			PMS_SB_B_OFF + 128,
			PMS_DESC_OFF - 1,
			PMS_DESC_OFF,
			PMS_DESC_OFF + 16,
			PMS_DESC_OFF + 16 * npages,
			data_off - 1,
			data_off,
			data_off + PMS_PAGE_SIZE,
			data_off + (s0.page + 1) * PMS_PAGE_SIZE,
			m.size - PMS_PAGE_SIZE,
			m.size - 1,
			m.size + 1,
			UINT64_MAX,
		};

		for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			char name[64];

			snprintf(name, sizeof(name), "nasty-trunc-%02u", i);
			emit(name, STD, cuts[i], m.p, m.size, NULL, 0,
			     script_short, sizeof(script_short));
		}
		img_close(&m);
	}

#define NASTY(name, ...)                                                       \
	do {                                                                   \
		copy_pool("nastybase", name);                                  \
		struct img m = img_open(name);                                 \
		__VA_ARGS__;                                                   \
		emit_img(name, STD, &m, script_short, sizeof(script_short));   \
		img_close(&m);                                                 \
	} while (0)
#define BOTH(field, value)                                                     \
	do {                                                                   \
		super_at(&m, 0)->field = (value);                              \
		super_at(&m, 1)->field = (value);                              \
		resum(&m);                                                     \
	} while (0)

	/* geometry whose products overflow, and huge claims */
	NASTY("nasty-npages-overflow", BOTH(npages, 1ULL << 60));
	NASTY("nasty-poolsize-max", BOTH(pool_size, UINT64_MAX));
	NASTY("nasty-dataoff-max", BOTH(data_off, UINT64_MAX - 4095));
	NASTY("nasty-descoff-max", BOTH(desc_off, UINT64_MAX));
	NASTY("nasty-pagesize-0", BOTH(page_size, 0));
	NASTY("nasty-huge-claim", {
		uint64_t n, off;

		pms_geometry(1ULL << 50, &n, &off);
		BOTH(pool_size, 1ULL << 50);
		BOTH(npages, n);
		BOTH(data_off, off);
	});
	NASTY("nasty-hwm-max", {
		((struct pms_super_page *)m.p)->hwm = UINT64_MAX;
		((struct pms_super_page *)(m.p + PMS_SB_B_OFF))->hwm =
			UINT64_MAX;
	});
	/* future format version, unknown features */
	NASTY("nasty-version-future", BOTH(version, PMS_FORMAT_VERSION + 1));
	NASTY("nasty-version-future-a", {
		super_at(&m, 0)->version = PMS_FORMAT_VERSION + 1;
		resum(&m);
	});
	NASTY("nasty-version-0", BOTH(version, 0));
	NASTY("nasty-incompat", BOTH(incompat, 1));
	NASTY("nasty-sb-differ", {
		super_at(&m, 1)->create_time++;
		resum(&m);
	});
	/* descriptors pointing outside the pool or at themselves */
	NASTY("nasty-head-rpage-out",
	      desc_at(&m, l1.page)->w0 = PMS_DESC_HEAD_W0(1ULL << 50, 0));
	NASTY("nasty-head-rpage-self", {
		desc_at(&m, l1.page)->w0 = PMS_DESC_HEAD_W0(l1.page, 0);
		desc_at(&m, l1.page)->w1 = 1;
	});
	NASTY("nasty-head-npages-max", desc_at(&m, l1.page)->w1 = UINT64_MAX);
	NASTY("nasty-tail-dist-max",
	      desc_at(&m, l1.page + 1)->w0 = PMS_DESC_TAIL_W0(1ULL << 59));
	NASTY("nasty-tail-self",
	      desc_at(&m, l1.page + 1)->w0 = PMS_DESC_TAIL_W0(0));
	NASTY("nasty-record-page-out", set_record(&m, &l1, l1.rpage, l1.slot, 1,
						  3 * 4096, npages - 1, 3));
	NASTY("nasty-record-npages-max",
	      set_record(&m, &l1, l1.rpage, l1.slot, 1, 3 * 4096, l1.page,
			 UINT64_MAX));
	NASTY("nasty-record-size-max", set_record(&m, &l1, l1.rpage, l1.slot, 1,
						  UINT64_MAX, l1.page, 3));
	NASTY("nasty-record-covers-itself", {
		/* a run that includes its own record page */
		uint64_t p = l1.rpage;

		set_record(&m, &l1, l1.rpage, l1.slot, 1, 2 * 4096, p, 2);
		desc_at(&m, p + 1)->w0 = PMS_DESC_TAIL_W0(1);
		desc_at(&m, p + 1)->w1 = 0;
		/* the record page's own descriptor stays a record slab: the
		 * HEAD would overwrite it, so point HEAD at p + 1 instead */
		desc_at(&m, l1.page)->w0 = 0;
	});
	NASTY("nasty-runs-overlap", {
		/* a second record whose run starts inside the first */
		set_record(&m, &l1, l1.rpage, l1.slot + 1, 5, 4096 + 1,
			   l1.page + 1, 2);
		desc_at(&m, l1.rpage)->w1 |= 1ULL << (l1.slot + 1);
		desc_at(&m, l1.page + 1)->w0 =
			PMS_DESC_HEAD_W0(l1.rpage, l1.slot + 1);
		desc_at(&m, l1.page + 1)->w1 = 2;
	});
	NASTY("nasty-slab-in-run", {
		/* a slab page inside a live run */
		desc_at(&m, l1.page + 2)->w0 = PMS_DESC_SLAB_W0(2);
		desc_at(&m, l1.page + 2)->w1 = 1;
		fz_uuid(9, id);
		set_hdr(&m, &l1, l1.page + 2, 0, 2, id, 50);
	});
	NASTY("nasty-slab-class-bad",
	      desc_at(&m, s0.page)->w0 = PMS_DESC_SLAB | (200ULL << 4));
	NASTY("nasty-slab-w0-bits", desc_at(&m, s0.page)->w0 |= 1ULL << 40);
	NASTY("nasty-type-unknown", desc_at(&m, s0.page + 30)->w0 = 7);
	NASTY("nasty-bad-page", desc_at(&m, s0.page + 30)->w0 = PMS_DESC_BAD);
	NASTY("nasty-bits-beyond-slots",
	      desc_at(&m, s0.page)->w1 |= ~0ULL << 40);
	/* duplicate UUIDs: object 2's header names object 0 */
	NASTY("nasty-dup-uuid", {
		fz_uuid(0, id);
		set_hdr(&m, &s2, s2.page, s2.slot, 2, id, 96);
	});
	NASTY("nasty-dup-uuid-large", {
		/* a small object with the large object's UUID */
		fz_uuid(1, id);
		set_hdr(&m, &s2, s2.page, s2.slot, 2, id, 96);
	});
	NASTY("nasty-hdr-size-0", {
		fz_uuid(2, id);
		set_hdr(&m, &s2, s2.page, s2.slot, 2, id, 0);
	});
	NASTY("nasty-hdr-size-big", {
		fz_uuid(2, id);
		set_hdr(&m, &s2, s2.page, s2.slot, 2, id, 4000);
	});
	NASTY("nasty-hdr-other-class", {
		/* a header checked for another class */
		struct pms_obj_hdr h = {0};

		fz_uuid(2, h.uuid);
		h.size = 60;
		h.check = pms_check_small(seed_of(&m), h.uuid, 60, s2.page,
					  s2.slot, 1);
		memcpy(page_at(&m, &s2, s2.page) + s2.slot * PMS_HDR_SIZE, &h,
		       sizeof(h));
	});
	/* reserved fields outside the identity checks */
	NASTY("nasty-hdr-rsvd", {
		uint32_t one32 = 1;

		memcpy(page_at(&m, &s2, s2.page) + s2.slot * PMS_HDR_SIZE +
			       offsetof(struct pms_obj_hdr, rsvd),
		       &one32, 4);
	});
	NASTY("nasty-record-rsvd", {
		uint64_t one64 = 1;

		memcpy(page_at(&m, &l1, l1.rpage) + l1.slot * PMS_RECORD_SIZE +
			       offsetof(struct pms_record, rsvd),
		       &one64, 8);
	});
	NASTY("nasty-free-w0-bits", desc_at(&m, s0.page + 30)->w0 = 0x100);
	/* a header that verifies on a free page (regress, format 1) */
	NASTY("nasty-header-on-free-page", {
		fz_uuid(7, id);
		set_hdr(&m, &s0, s0.page + 30, 0, 1, id, 64);
	});
	/* format 2: the index and the clean-close record */
	NASTY("nasty-clean-lost-entry", *entry_of_obj(&m, &s0, 0) = 0);
	NASTY("nasty-clean-counts", {
		struct pms_super_page *a = (struct pms_super_page *)m.p;

		a->clean.objects++;
		a->clean.check =
			XXH64(&a->clean, offsetof(struct pms_clean, check),
			      PMS_CLEAN_SEED);
		memcpy(&((struct pms_super_page *)(m.p + PMS_SB_B_OFF))->clean,
		       &a->clean, sizeof(a->clean));
	});
	NASTY("nasty-clean-b-differs",
	      ((struct pms_super_page *)(m.p + PMS_SB_B_OFF))->clean.bytes++);
	NASTY("nasty-entry-wrong-tag", *entry_of_obj(&m, &s0, 0) ^= 1ULL << 63);
	NASTY("nasty-entry-out-of-bounds",
	      *entry_of_obj(&m, &s0, 0) |= (1ULL << PMS_LOC_BITS) - 1);
	NASTY("nasty-dir-word-both", {
		((struct pms_super_page *)m.p)->dir =
			PMS_DIR_WORD(1ULL << 40, 3);
		((struct pms_super_page *)(m.p + PMS_SB_B_OFF))->dir =
			PMS_DIR_WORD(7, 0);
	});
	NASTY("nasty-dir-word-b",
	      ((struct pms_super_page *)(m.p + PMS_SB_B_OFF))->dir = 0);
	NASTY("nasty-dir-deep", {
		/* a directory of depth 18 (512 pages, every word naming the
		 * depth-0 segment): whole, but far deeper than the pool's
		 * segments need */
		uint64_t first = npages - 600;

		for (uint64_t i = 0; i < 512; i++) {
			desc_at(&m, first + i)->w0 =
				PMS_DESC_INDEX_W0(PMS_INDEX_DIR, i);
			desc_at(&m, first + i)->w1 = i ? 0 : 512;
		}
		for (int c = 0; c < 2; c++) {
			struct pms_super_page *sp =
				(struct pms_super_page *)(m.p +
							  c * PMS_PAGE_SIZE);

			sp->dir = PMS_DIR_WORD(first, 18);
			sp->hwm = npages;
		}
	});
	NASTY("nasty-seg-desc", desc_at(&m, 1)->w0 = 0);
	NASTY("nasty-seg-depth", desc_at(&m, 0)->w1 = PMS_SEG_W1(5, 0));
	NASTY("nasty-split-log-torn",
	      ((struct pms_super_page *)m.p)->split.check = 12345);
	NASTY("nasty-split-log-out", {
		struct pms_split_log *lg =
			&((struct pms_super_page *)m.p)->split;

		lg->seg = 0;
		lg->twin = 1ULL << 40;
		lg->depth = 0;
		lg->check = XXH64(lg, offsetof(struct pms_split_log, check),
				  PMS_SPLIT_SEED);
	});
#undef NASTY
#undef BOTH
}

/* bulk_uuid -- the UUID of bulk object k (no script names it) */
static void
bulk_uuid(unsigned k, uint8_t id[16])
{
	memset(id, 0, 16);
	id[0] = (uint8_t)k;
	id[1] = (uint8_t)(k >> 8);
	id[15] = 0xb0;
}

/*
 * index_depth -- the global depth of the directory an image's page A
 * names
 */
static unsigned
index_depth(struct img *m)
{
	return PMS_DIR_DEPTH(((struct pms_super_page *)m->p)->dir);
}

/*
 * unsplit -- turn the image of a pool whose last split finished into one
 * where the crash came after that split's log was fenced (step 2 of the
 * split in docs/format.md): the twin's descriptors free, the segment's
 * depth and prefix as before, the upper half of its directory words
 * naming it again, the entries that moved back in it (in their buckets),
 * and the log naming segment, twin and depth.  landed: leave the split
 * done and write only the log (a crash before its check was zeroed).
 */
static void
unsplit(struct img *m, const struct loc *l, int landed)
{
	struct pms_super_page *a = (struct pms_super_page *)m->p;
	uint64_t dw = a->dir,
		 *dir = (uint64_t *)page_at(m, l, PMS_DIR_PAGE(dw));
	unsigned g = PMS_DIR_DEPTH(dw);
	uint64_t twin = 0, seg = 0, w1;
	unsigned depth = 0;

	/* the twin: the segment named by the highest directory word whose
	 * prefix ends in 1 at the greatest depth */
	for (uint64_t i = 0; i < (1ULL << g); i++) {
		uint64_t s = dir[i];
		unsigned d = PMS_SEG_DEPTH(desc_at(m, s)->w1);

		if (d >= 1 && (PMS_SEG_PREFIX(desc_at(m, s)->w1) & 1) &&
		    d >= depth + (twin == 0)) {
			twin = s;
			depth = d;
		}
	}
	if (twin == 0) {
		fprintf(stderr, "fuzz_tool: no split to undo\n");
		exit(1);
	}
	w1 = desc_at(m, twin)->w1;
	uint64_t prefix = PMS_SEG_PREFIX(w1) >> 1; /* at depth - 1 */
	uint64_t lo = prefix << (g - (depth - 1));
	uint64_t half = 1ULL << (g - depth);

	seg = dir[lo];
	a->split.seg = seg;
	a->split.twin = twin;
	a->split.depth = depth - 1;
	a->split.check = XXH64(&a->split, offsetof(struct pms_split_log, check),
			       PMS_SPLIT_SEED);
	if (landed)
		return;
	uint64_t *sb = (uint64_t *)page_at(m, l, seg);
	const uint64_t *tb = (const uint64_t *)page_at(m, l, twin);

	for (unsigned i = 0; i < PMS_SEG_BUCKETS * PMS_BUCKET_ENTRIES; i++)
		if (tb[i] && sb[i] == 0)
			sb[i] = tb[i];
	for (uint64_t i = 0; i < half; i++)
		dir[lo + half + i] = seg;
	desc_at(m, seg)->w1 = PMS_SEG_W1(depth - 1, prefix);
	memset(desc_at(m, twin), 0, PMS_SEG_PAGES * sizeof(struct pms_desc));
}

/*
 * index_shapes -- pools whose index has grown: more than 2,000 small
 * objects in the smallest pool, so that the first segment split and the
 * directory doubled; clean, dirty, with a split decided but not finished
 * (from its log), with a split finished but its log still valid
 */
static void
index_shapes(void)
{
	struct pmemstore *ps = mkpool("index", PMEMSTORE_MIN_POOL);
	struct pmemstore_stats st;
	struct loc l;
	unsigned k, g;

	for (k = 0; k < 12; k++)
		obj(ps, k, 24 + 40 * k);
	for (k = 0; k < 4000; k++) {
		uint8_t id[16];

		bulk_uuid(k, id);
		if (persist_alloc(ps, id, 1 + k % 64, 0) == NULL) {
			fprintf(stderr, "fuzz_tool: bulk alloc %u: %s\n", k,
				pmemstore_errormsg());
			exit(1);
		}
		if (k >= 2200 && PMS_DIR_DEPTH(ps->index.dir) >= 2)
			break;
	}
	l = locate(ps, 0);
	g = PMS_DIR_DEPTH(ps->index.dir);
	pmemstore_stats(ps, &st);
	pmemstore_close(ps);
	printf("fuzz_tool: index pool: %u objects, directory depth %u, %llu "
	       "index pages\n",
	       k + 12, g, (unsigned long long)st.index_pages);
	EMIT_POOL("index", "-split", STD, script_std);

	copy_pool("index", "index-dirty");
	{
		struct img m = img_open("index-dirty");

		if (index_depth(&m) < 1) {
			fprintf(stderr, "fuzz_tool: the index did not grow\n");
			exit(1);
		}
		set_dirty(&m);
		emit_img("index-split-dirty", STD, &m, script_std,
			 sizeof(script_std));
		img_close(&m);
	}
	copy_pool("index", "index-log");
	{
		struct img m = img_open("index-log");

		unsplit(&m, &l, 0);
		set_dirty(&m);
		emit_img("index-split-log", STD, &m, script_std,
			 sizeof(script_std));
		img_close(&m);
	}
	copy_pool("index", "index-log-landed");
	{
		struct img m = img_open("index-log-landed");

		unsplit(&m, &l, 1);
		set_dirty(&m);
		emit_img("index-split-log-landed", STD, &m, script_short,
			 sizeof(script_short));
		img_close(&m);
	}
}

/* seeds_write -- the whole corpus into dir */
static int
seeds_write(const char *dir)
{
	const char *t = getenv("PMEMSTORE_TEST_DIR");

	seed_dir = dir;
	snprintf(scratch, sizeof(scratch), "%s/fuzz-seeds", t ? t : "/dev/shm");
	mkdir(dir, 0755);
	if (t)
		mkdir(t, 0755);
	mkdir(scratch, 0755);
	shapes();
	index_shapes();
	crashes();
	nasty();
	printf("fuzz_tool: %u seeds, %zu bytes, in %s\n", nseeds, seed_bytes,
	       dir);
	return 0;
}

/*
 * seeds_selftest -- encode a pool with the library, decode it through
 * the harness's path, and compare byte for byte; the checksum fix must
 * leave a valid pool unchanged
 */
static int
seeds_selftest(void)
{
	const char *t = getenv("PMEMSTORE_TEST_DIR");
	struct buf out = {0};
	struct fz_input in;
	int fails = 0;

	snprintf(scratch, sizeof(scratch), "%s/fuzz-selftest",
		 t ? t : "/dev/shm");
	if (t)
		mkdir(t, 0755);
	mkdir(scratch, 0755);
	struct pmemstore *ps = mkpool("rt", 16 << 20);

	for (unsigned k = 0; k < 30; k++)
		obj(ps, k, 1 + 997 * k * k);
	obj(ps, 31, PMS_HUGE_SIZE + 5);
	freeobj(ps, 3);
	pmemstore_close(ps);

	struct img m = img_open("rt");

	encode_image(&out, 0, m.size, m.p, m.size, NULL, 0, NULL, 0);
	fz_decode(out.p, out.n, FZ_DEFAULT_MAX_SIZE, &in);
	for (int fix = 0; fix < 2; fix++) {
		int fd = memfd_create("selftest", 0);
		uint8_t *back;

		if (fd < 0 || fz_materialize(fd, &in, fix)) {
			perror("materialize");
			return 1;
		}
		back = mmap(NULL, m.size, PROT_READ, MAP_SHARED, fd, 0);
		if (back == MAP_FAILED || in.size != m.size ||
		    memcmp(back, m.p, m.size) != 0) {
			fprintf(stderr,
				"selftest: round trip (fix %d) differs\n", fix);
			fails++;
		}
		munmap(back, m.size);
		close(fd);
	}
	printf("selftest: %zu-byte pool -> %zu-byte input, %zu patches\n",
	       (size_t)m.size, out.n, in.npatches);
	img_close(&m);
	free(out.p);
	printf("%d passed, %d failed\n", 2 - fails, fails);
	return fails != 0;
}
