/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_input.c -- owns the fuzz input encoding (fuzz_input.h): decoding,
 * building the pool file it describes, and the checksum-fixing mode that
 * lets mutations get past the superblock checksum and identity checks.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include "fuzz_input.h"
#include "pool.h"
#include "checksum.h"

/* at most this many data pages are visited by one checksum fix */
#define FZ_FIX_PAGES 8192

/* get -- n little-endian bytes at *pos, zero past the end */
static uint64_t
get(const uint8_t *data, size_t len, size_t *pos, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++, (*pos)++)
		if (*pos < len)
			v |= (uint64_t)data[*pos] << (8 * i);
	return v;
}

/* fz_put16 -- store v little-endian */
void
fz_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* fz_put64 -- store v little-endian */
void
fz_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* fz_decode -- parse an input; every byte string is a valid one */
void
fz_decode(const uint8_t *data, size_t len, uint64_t max_size,
	  struct fz_input *in)
{
	size_t pos = 0, n, start;

	memset(in, 0, sizeof(*in));
	in->flags = (unsigned)get(data, len, &pos, 1);
	in->claimed_size = get(data, len, &pos, 8);
	in->size = in->claimed_size > max_size ? max_size : in->claimed_size;
	n = (size_t)get(data, len, &pos, 2);
	start = pos < len ? pos : len;
	in->patches = data + start;
	for (; in->npatches < n && pos < len; in->npatches++) {
		size_t plen;

		pos += 8;
		plen = (size_t)get(data, len, &pos, 2);
		pos = plen > len - (pos < len ? pos : len) ? len : pos + plen;
	}
	if (pos > len)
		pos = len;
	in->patches_len = pos - start;
	in->ops = data + pos;
	in->nops = (len - pos) / FZ_OP_SIZE;
	if (in->nops > FZ_MAX_OPS)
		in->nops = FZ_MAX_OPS;
}

/* fz_patch_next -- the next patch record, cut at the end of the input */
int
fz_patch_next(const struct fz_input *in, size_t *pos, struct fz_patch *p)
{
	const uint8_t *d = in->patches;
	size_t len = in->patches_len, plen;

	if (*pos >= len)
		return 0;
	p->off = get(d, len, pos, 8);
	plen = (size_t)get(d, len, pos, 2);
	if (*pos > len)
		*pos = len;
	if (plen > len - *pos)
		plen = len - *pos;
	p->bytes = d + *pos;
	p->len = plen;
	*pos += plen;
	return 1;
}

/* geometry of an image, as far as the checksum fix trusts it */
struct geo {
	uint64_t seed, data_off, npages;
	uint64_t dir; /* superblock page A's directory word */
};

/*
 * fix_tag -- the index entry naming location loc, in the segment the
 * directory of page A gives hash h, takes h's tag: a mutated UUID stays
 * indexed.  Every page and word is bounds-checked; a directory or segment
 * that is not there is left alone (what the check and open must judge).
 */
static void
fix_tag(uint8_t *img, const struct geo *g, uint64_t h, uint64_t loc)
{
	uint64_t dp = PMS_DIR_PAGE(g->dir), seg, *b, i;
	unsigned depth = PMS_DIR_DEPTH(g->dir);

	if (depth > PMS_DIR_MAX_DEPTH)
		return;
	i = depth ? h >> (64 - depth) : 0;
	if (dp >= g->npages || i / (PMS_PAGE_SIZE / 8) >= g->npages - dp)
		return;
	memcpy(&seg, img + g->data_off + dp * PMS_PAGE_SIZE + i * 8, 8);
	if (seg % PMS_SEG_PAGES || seg >= g->npages ||
	    g->npages - seg < PMS_SEG_PAGES)
		return;
	b = (uint64_t *)(img + g->data_off + seg * PMS_PAGE_SIZE);
	for (unsigned k = 0; k < PMS_SEG_BUCKETS * PMS_BUCKET_ENTRIES; k++)
		if (b[k] && PMS_ENTRY_LOC(b[k]) == loc)
			b[k] = PMS_ENTRY(h, loc);
}

/* fix_record -- recompute the identity check of record slot i of page p */
static void
fix_record(uint8_t *img, const struct geo *g, uint64_t p, unsigned i)
{
	struct pms_record r;
	uint8_t *at = img + g->data_off + p * PMS_PAGE_SIZE +
		      (uint64_t)i * PMS_RECORD_SIZE;

	memcpy(&r, at, sizeof(r));
	r.check = pms_check_record(g->seed, r.uuid, r.size, r.page, r.npages, p,
				   i);
	memcpy(at + offsetof(struct pms_record, check), &r.check, 8);
	fix_tag(img, g, pms_hash_uuid(g->seed, r.uuid), PMS_LOC(p, i));
}

/* fix_page -- recompute the checks a descriptor's set bits point at */
static void
fix_page(uint8_t *img, const struct geo *g, uint64_t p)
{
	struct pms_desc d;
	unsigned cls;

	memcpy(&d, img + PMS_DESC_OFF + p * sizeof(d), sizeof(d));
	if (PMS_DESC_TYPE(d.w0) == PMS_DESC_HEAD) {
		uint64_t rp = PMS_DESC_HEAD_RPAGE(d.w0);
		struct pms_desc rd;

		if (rp >= g->npages)
			return;
		memcpy(&rd, img + PMS_DESC_OFF + rp * sizeof(rd), sizeof(rd));
		if (rd.w0 == PMS_DESC_SLAB_W0(PMS_CLASS_RECORD))
			fix_record(img, g, rp, PMS_DESC_HEAD_RSLOT(d.w0));
		return;
	}
	if (PMS_DESC_TYPE(d.w0) != PMS_DESC_SLAB)
		return;
	cls = PMS_DESC_SLAB_CLASS(d.w0);
	if (cls >= PMS_NCLASSES)
		return;
	static const struct pms_class classes[PMS_NCLASSES] = PMS_CLASS_TABLE;

	for (unsigned i = 0; i < classes[cls].nslots; i++) {
		if (!((d.w1 >> i) & 1))
			continue;
		if (cls == PMS_CLASS_RECORD) {
			fix_record(img, g, p, i);
			continue;
		}
		struct pms_obj_hdr h;
		uint8_t *at = img + g->data_off + p * PMS_PAGE_SIZE +
			      (uint64_t)i * PMS_HDR_SIZE;

		memcpy(&h, at, sizeof(h));
		h.check = pms_check_small(g->seed, h.uuid, h.size, p, i, cls);
		memcpy(at + offsetof(struct pms_obj_hdr, check), &h.check, 8);
		fix_tag(img, g, pms_hash_uuid(g->seed, h.uuid), PMS_LOC(p, i));
	}
}

/* fix_super -- recompute one superblock copy's checksum */
static void
fix_super(uint8_t *img, uint64_t size, uint64_t off)
{
	struct pms_super sb;

	if (size < off + sizeof(sb))
		return;
	memcpy(&sb, img + off, sizeof(sb));
	sb.checksum = pms_super_checksum(&sb);
	memcpy(img + off + offsetof(struct pms_super, checksum), &sb.checksum,
	       8);
}

/*
 * fix_index_words -- format 2's checked words of the superblock pages: a
 * clean-close record whose check is not 0 gets its XXH64 in each page,
 * and page A's is copied to page B unless FZ_F_KEEP_SB_B (both copies
 * verify and agree: the "clean" paths); a check of 0 stays (not closed cleanly: the crash paths).  A split log
 * whose check is not 0 gets its XXH64 (a split decided, not finished).
 */
static void
fix_index_words(uint8_t *img, uint64_t size, unsigned flags)
{
	struct pms_super_page *sp[2] = {
		(struct pms_super_page *)img,
		(struct pms_super_page *)(img + PMS_SB_B_OFF)};
	struct pms_super_page *a = sp[0];

	if (size < PMS_SB_B_OFF + PMS_PAGE_SIZE)
		return;
	for (int c = 0; c < 2; c++)
		if (sp[c]->clean.check != 0)
			sp[c]->clean.check =
				XXH64(&sp[c]->clean,
				      offsetof(struct pms_clean, check),
				      PMS_CLEAN_SEED);
	if (a->clean.check != 0 && !(flags & FZ_F_KEEP_SB_B))
		memcpy(&sp[1]->clean, &a->clean, sizeof(a->clean));
	if (a->split.check != 0)
		a->split.check =
			XXH64(&a->split, offsetof(struct pms_split_log, check),
			      PMS_SPLIT_SEED);
}

/*
 * fz_fix_checksums -- the checksum-fixing mode: both superblock copies
 * (copy B unless FZ_F_KEEP_SB_B) and the clean-close record and split
 * log (fix_index_words), then, unless FZ_F_KEEP_IDS, the identity checks
 * that the descriptors of the given data pages point at, and the tags of
 * the index entries that name them
 */
void
fz_fix_checksums(uint8_t *img, uint64_t size, unsigned flags,
		 const uint64_t *pages, size_t npages)
{
	struct pms_super sb;
	struct geo g;

	fix_super(img, size, PMS_SB_A_OFF);
	if (!(flags & FZ_F_KEEP_SB_B))
		fix_super(img, size, PMS_SB_B_OFF);
	fix_index_words(img, size, flags);
	if ((flags & FZ_F_KEEP_IDS) || size < PMS_SB_A_OFF + sizeof(sb))
		return;
	memcpy(&sb, img + PMS_SB_A_OFF, sizeof(sb));
	if (memcmp(sb.magic, PMS_MAGIC, 8) != 0 &&
	    size >= PMS_SB_B_OFF + sizeof(sb))
		memcpy(&sb, img + PMS_SB_B_OFF, sizeof(sb));
	memcpy(&g.seed, sb.pool_uuid, 8);
	g.seed ^= PMS_SB_SEED;
	g.data_off = sb.data_off;
	g.npages = sb.npages;
	g.dir = 0;
	if (size >= offsetof(struct pms_super_page, dir) + 8)
		memcpy(&g.dir, img + offsetof(struct pms_super_page, dir), 8);
	/* trust only what lies inside the file, descriptors before data */
	if (g.data_off < PMS_DESC_OFF || g.data_off >= size ||
	    g.data_off % PMS_PAGE_SIZE)
		return;
	if (g.npages > (size - g.data_off) / PMS_PAGE_SIZE)
		g.npages = (size - g.data_off) / PMS_PAGE_SIZE;
	if (g.npages > (g.data_off - PMS_DESC_OFF) / sizeof(struct pms_desc))
		g.npages =
			(g.data_off - PMS_DESC_OFF) / sizeof(struct pms_desc);
	for (size_t i = 0; i < npages; i++)
		if (pages[i] < g.npages)
			fix_page(img, &g, pages[i]);
}

/*
 * touched -- the data pages whose descriptor or page a patch wrote, by
 * the geometry create gives a file of that size (cheap, and exact for
 * every pool this library made; the fix re-checks against the superblock)
 */
static size_t
touched(const struct fz_input *in, uint64_t *pages, size_t max)
{
	struct fz_patch p;
	size_t pos = 0, n = 0;
	uint64_t npages, data_off;

	if (pms_geometry(in->size, &npages, &data_off))
		return 0;
	while (n < max && fz_patch_next(in, &pos, &p)) {
		uint64_t a = p.off, b = p.off + p.len; /* [a, b) */

		if (p.len == 0 || b < a)
			continue;
		/* descriptors */
		if (a < PMS_DESC_OFF + npages * sizeof(struct pms_desc) &&
		    b > PMS_DESC_OFF) {
			uint64_t lo = a > PMS_DESC_OFF ? a - PMS_DESC_OFF : 0;
			uint64_t hi = (b - PMS_DESC_OFF - 1) /
				      sizeof(struct pms_desc);

			for (uint64_t q = lo / sizeof(struct pms_desc);
			     q <= hi && q < npages && n < max; q++)
				pages[n++] = q;
		}
		/* data pages (headers and records) */
		if (b > data_off && a < data_off + npages * PMS_PAGE_SIZE) {
			uint64_t lo = a > data_off ? a - data_off : 0;
			uint64_t hi = (b - data_off - 1) / PMS_PAGE_SIZE;

			for (uint64_t q = lo / PMS_PAGE_SIZE;
			     q <= hi && q < npages && n < max; q++)
				pages[n++] = q;
		}
	}
	return n;
}

/* fz_materialize -- build the file an input describes in fd */
int
fz_materialize(int fd, const struct fz_input *in, int fix_checksums)
{
	struct fz_patch p;
	size_t pos = 0;

	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)in->size))
		return -1;
	while (fz_patch_next(in, &pos, &p)) {
		size_t len = p.len;

		if (p.off >= in->size || len == 0)
			continue;
		if (len > in->size - p.off)
			len = (size_t)(in->size - p.off);
		if (pwrite(fd, p.bytes, len, (off_t)p.off) != (ssize_t)len)
			return -1;
	}
	if (!fix_checksums || in->size < PMS_SB_A_OFF + 128)
		return 0;

	static uint64_t pages[FZ_FIX_PAGES];
	size_t n = touched(in, pages, FZ_FIX_PAGES);
	uint8_t *img =
		mmap(NULL, in->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (img == MAP_FAILED)
		return -1;
	fz_fix_checksums(img, in->size, in->flags, pages, n);
	munmap(img, in->size);
	return 0;
}
