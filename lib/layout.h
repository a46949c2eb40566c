/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * layout.h -- the entire on-media format of a pmemstore pool
 *
 * Everything the library writes to a pool is declared here; nothing else
 * defines a persistent structure.  Any change to this file that changes
 * what is on media bumps PMS_FORMAT_VERSION, and an open refuses versions
 * it does not know (it reads PMS_FORMAT_READS to PMS_FORMAT_VERSION).  docs/format.md explains the commit protocols.
 *
 * Pool = [ superblock A | superblock B | descriptors | pad | data pages ]
 * and, in data pages taken as it grows, the UUID index (segments and a
 * directory, below).
 *
 *   offset 0      superblock page A (4 KiB)
 *   offset 4096   superblock page B (4 KiB), an identical copy
 *   offset 8192   descriptor array: one 16-byte struct pms_desc per data page
 *   data_off      data area, 2 MiB aligned: npages pages of 4 KiB
 *
 * All integers are little-endian (x86-64 native); only aligned 8-byte
 * stores are assumed failure-atomic.  An all-zero descriptor is a free
 * page, so a new sparse pool writes almost nothing.
 */
#ifndef PMS_LAYOUT_H
#define PMS_LAYOUT_H 1

#include <stddef.h>
#include <stdint.h>

/*
 * Version 3 (libpmemstore 1.3): VOLATILE descriptors are written, also at
 * and above the high-water mark, and an open takes them as free without
 * rewriting them.  A version-2 pool is a version-3 pool without them: a
 * read-write open upgrades it (the version word in both copies, A first).
 *
 * Version 4 (libpmemstore 1.4): BAD descriptors are written (exactly
 * w0 == PMS_DESC_BAD, w1 == 0) for free pages on the device's bad blocks,
 * and both superblock pages hold the unsafe-shutdown record.  Older pools
 * are upgraded the same way (they have neither: zeros there verify as no
 * record).
 */
#define PMS_FORMAT_VERSION 4
#define PMS_FORMAT_READS 2  /* the oldest version this library reads */
#define PMS_MAGIC "PMSTORE" /* 7 characters and a NUL: 8 bytes */

#define PMS_PAGE_SIZE 4096ULL
#define PMS_PAGE_SHIFT 12
#define PMS_LINE 64ULL
#define PMS_HUGE_SIZE (2ULL << 20) /* data area and objects >= this align */
#define PMS_HUGE_PAGES (PMS_HUGE_SIZE / PMS_PAGE_SIZE)

#define PMS_SB_A_OFF 0ULL
#define PMS_SB_B_OFF 4096ULL
#define PMS_DESC_OFF 8192ULL

/*
 * struct pms_super -- pool geometry and identity, 128 bytes, checksummed.
 * Written once by pmemstore_create (both copies) and never changed after,
 * except to restore one copy from the other.  The checksum is XXH64 (seed
 * PMS_SB_SEED) of the bytes before it; a copy whose checksum does not
 * match is ignored, and an open with neither copy valid fails.
 */
struct pms_super {
	char magic[8];	       /* PMS_MAGIC */
	uint32_t version;      /* PMS_FORMAT_VERSION */
	uint32_t page_size;    /* PMS_PAGE_SIZE */
	uint8_t pool_uuid[16]; /* random, names the pool; seeds checksums */
	uint64_t pool_size;    /* bytes of the file the pool covers */
	uint64_t desc_off;     /* PMS_DESC_OFF */
	uint64_t data_off;     /* start of page 0, multiple of 2 MiB */
	uint64_t npages;       /* data pages */
	uint64_t create_time;  /* seconds since the epoch, informational */
	uint64_t incompat;     /* feature bits an opener must know: 0 */
	uint8_t reserved[40];
	uint64_t checksum; /* XXH64 of the 120 bytes above */
};

#define PMS_SB_SEED 0x706d656d73746f72ULL /* "pmemstor" */

/*
 * struct pms_clean -- what a clean close leaves: the object and byte
 * counts, so that an open after it needs no scan, under a checksum that
 * is also the "clean" flag.  A read-write open zeroes check (one 8-byte
 * store, fenced) before it changes anything; close writes the counts and
 * check last.  check != XXH64(seed PMS_CLEAN_SEED) of the 24 bytes
 * before it: the pool was not closed cleanly (a crash, or an open still
 * in use), and the counts and slab bitmaps are hints (docs/format.md).
 */
struct pms_clean {
	uint64_t objects;
	uint64_t bytes;
	uint64_t rsvd; /* 0 */
	uint64_t check;
};

#define PMS_CLEAN_SEED 0x636c65616e636c6fULL /* "cleanclo" */

/*
 * struct pms_split_log -- the one index split or directory doubling in
 * flight (superblock page A only).  Valid iff check == XXH64 (seed
 * PMS_SPLIT_SEED) of the 24 bytes before it; written and fenced before
 * the directory changes, invalidated (check = 0) after: an open finds a
 * valid log and redoes the directory update, which is idempotent.
 *   split: seg = the segment split, twin = its new upper half, depth =
 *          the segment's depth before the split;
 *   double: seg = 0, twin = the new directory's first page, depth = the
 *          new global depth.
 */
struct pms_split_log {
	uint64_t seg;
	uint64_t twin;
	uint64_t depth;
	uint64_t check;
};

#define PMS_SPLIT_SEED 0x73706c69746c6f67ULL /* "splitlog" */

/*
 * struct pms_shutdown -- the unsafe-shutdown record (format 4), in both
 * superblock pages: the device's unsafe-shutdown count (summed over the
 * DIMMs of the interleave set) when the pool was last opened for writing.
 * Written at every read-write open, in the same fence as the clean-close
 * record's invalidation, so a pool that is not clean always has the count
 * of the open that made it so.  Valid iff check == XXH64 (seed
 * PMS_USC_SEED) of the 24 bytes before it; flags bit 0 (PMS_USC_KNOWN):
 * the device had a count (else usc is 0).  An open of a pool that is not
 * clean, on a device whose count differs from a valid record's, knows an
 * unsafe shutdown hit the pool while it was open (docs/format.md).
 */
struct pms_shutdown {
	uint64_t usc;
	uint64_t flags;
	uint64_t rsvd; /* 0 */
	uint64_t check;
};

#define PMS_USC_SEED 0x756e736166657368ULL /* "unsafesh" */
#define PMS_USC_KNOWN 1ULL

/*
 * struct pms_super_page -- one 4 KiB superblock page.  Outside the
 * checksum, each in its own cache line:
 *   hwm   the high-water mark: no descriptor at index >= hwm has been
 *         written since the pool was created, except VOLATILE ones (free
 *         to every reader), so an open reads descriptors
 *         [0, hwm) only.  It only grows; an open takes the larger of the
 *         two copies, clamped to npages.
 *   dir   the index directory: PMS_DIR_WORD(first page, global depth).
 *         Both copies are written together; an open takes the copy with
 *         the larger depth that passes its bounds checks (both directories
 *         are whole at any crash point, see docs/format.md).
 *   clean the clean-close record (both copies; clean iff both verify and
 *         agree).
 *   split the split log (copy A only; ignored in copy B).
 *   usc   the unsafe-shutdown record (both copies, format 4; a copy that
 *         verifies is taken, A first).
 */
struct pms_super_page {
	struct pms_super sb;
	uint8_t pad0[2048 - sizeof(struct pms_super)];
	uint64_t hwm;
	uint8_t pad1[56];
	uint64_t dir;
	uint8_t pad2[56];
	struct pms_clean clean;
	uint8_t pad3[32];
	struct pms_split_log split;
	uint8_t pad4[32];
	struct pms_shutdown usc;
	uint8_t pad5[4096 - 2048 - 5 * 64 + 32];
};

/*
 * struct pms_desc -- the on-media struct page: one per 4 KiB data page.
 *
 * w0 bits 0..3 hold the type; the rest depends on it:
 *   FREE     w0 == 0 (w1 ignored).  A never-written descriptor is free.
 *   SLAB     w0 = type | class << 4.  w1 = occupancy bitmap: bit i set
 *            means slot i is allocated.  The bit is the commit word of a
 *            small object and of a large-object record.
 *   HEAD     first page of a large object:
 *            w0 = type | rslot << 4 | rpage << 10 (its record's location);
 *            w1 = npages of the run.
 *   TAIL     continuation page: w0 = type | (distance to HEAD) << 4; w1 = 0.
 *   VOLATILE w0 == PMS_DESC_VOLATILE (w1 ignored): a page of the volatile
 *            heap, of this run or of an earlier one.  Free to an open,
 *            which leaves it as it is (no volatile page outlives its
 *            mapping, so no generation is needed to tell runs apart); it
 *            may stand at or above the mark, and a run's TAIL may be one.
 *            Written and rewritten (to FREE) unflushed (vheap.c).
 *   BAD      w0 == PMS_DESC_BAD, w1 == 0 (format 4): a free page on a bad
 *            block of the device, never handed out.  Written (flushed,
 *            fenced) when the device's list names a free page at open or
 *            a freed page whose poison could not be cleared; a pool is
 *            never the worse for one (a crash before it lands leaves a
 *            free page that the next open finds bad again).
 *   INDEX    a page of the UUID index: w0 = type | kind << 4 | (distance
 *            to the structure's first page) << 8.  kind SEG: one of the
 *            PMS_SEG_PAGES pages of a segment; the first page's w1 =
 *            PMS_SEG_W1(depth, prefix): the segment holds the UUIDs whose
 *            hash starts with the depth bits of prefix.  kind DIR: a page
 *            of a directory; the first page's w1 = its page count.
 */
struct pms_desc {
	uint64_t w0;
	uint64_t w1;
};

enum pms_desc_type {
	PMS_DESC_FREE = 0,
	PMS_DESC_SLAB = 1,
	PMS_DESC_HEAD = 2,
	PMS_DESC_TAIL = 3,
	PMS_DESC_VOLATILE = 4,
	PMS_DESC_BAD = 5,
	PMS_DESC_INDEX = 6,
};

enum pms_index_kind {
	PMS_INDEX_SEG = 0,
	PMS_INDEX_DIR = 1,
};

#define PMS_DESC_TYPE(w0) ((unsigned)((w0)&0xfULL))
#define PMS_DESC_SLAB_W0(cls) (PMS_DESC_SLAB | ((uint64_t)(cls) << 4))
#define PMS_DESC_SLAB_CLASS(w0) ((unsigned)(((w0) >> 4) & 0xffULL))
#define PMS_DESC_HEAD_W0(rpage, rslot)                                         \
	(PMS_DESC_HEAD | ((uint64_t)(rslot) << 4) | ((uint64_t)(rpage) << 10))
#define PMS_DESC_HEAD_RSLOT(w0) ((unsigned)(((w0) >> 4) & 0x3fULL))
#define PMS_DESC_HEAD_RPAGE(w0) ((w0) >> 10)
#define PMS_DESC_TAIL_W0(dist) (PMS_DESC_TAIL | ((uint64_t)(dist) << 4))
#define PMS_DESC_TAIL_DIST(w0) ((w0) >> 4)
#define PMS_DESC_INDEX_W0(kind, dist)                                          \
	(PMS_DESC_INDEX | ((uint64_t)(kind) << 4) | ((uint64_t)(dist) << 8))
#define PMS_DESC_INDEX_KIND(w0) ((unsigned)(((w0) >> 4) & 0xfULL))
#define PMS_DESC_INDEX_DIST(w0) ((w0) >> 8)
#define PMS_SEG_W1(depth, prefix)                                              \
	((uint64_t)(depth) | ((uint64_t)(prefix) << 8))
#define PMS_SEG_DEPTH(w1) ((unsigned)((w1)&0xffULL))
#define PMS_SEG_PREFIX(w1) ((w1) >> 8)
/* 2^36 pages (256 TiB of data): an index entry's location field */
#define PMS_MAX_NPAGES ((1ULL << 36) - 1)

/*
 * struct pms_obj_hdr -- header of a small object, in the header array at
 * the start of its slab page (slot i at byte 32 * i).  check is the
 * object's identity checksum (see PMS_CHECK_*); 0 means "no object".
 */
struct pms_obj_hdr {
	uint8_t uuid[16];
	uint32_t size; /* bytes requested, <= the class size */
	uint32_t rsvd; /* 0 */
	uint64_t check;
};

/*
 * struct pms_record -- header of a large object (a run of pages), kept in
 * a slab page of class PMS_CLASS_RECORD (64 records per page, no data).
 */
struct pms_record {
	uint8_t uuid[16];
	uint64_t size;	 /* bytes requested */
	uint64_t page;	 /* first data page of the run */
	uint64_t npages; /* pages in the run */
	uint64_t rsvd[2];
	uint64_t check;
};

/*
 * Identity checksums.  check = XXH3-64 (seeded from the pool UUID) of the
 * header fields together with the header's own location (page, slot,
 * class), forced non-zero.  A header copied or left elsewhere, torn, or
 * written for another class therefore never verifies.
 */
struct pms_check_small {
	uint8_t uuid[16];
	uint64_t size;
	uint64_t page;
	uint32_t slot;
	uint32_t cls;
};

struct pms_check_record {
	uint8_t uuid[16];
	uint64_t size;
	uint64_t page;
	uint64_t npages;
	uint64_t rpage;
	uint32_t rslot;
	uint32_t magic; /* PMS_RECORD_MAGIC */
};
#define PMS_RECORD_MAGIC 0x52454331U /* "REC1" */

/*
 * Slab classes.  Class 0 holds large-object records; classes 1.. hold
 * small objects.  A slab page of class c has nslots headers of 32 bytes
 * at its start, then nslots data slots of size bytes at data_off.
 */
#define PMS_CLASS_RECORD 0
#define PMS_NCLASSES 16
#define PMS_SLOTS_MAX 64
#define PMS_HDR_SIZE 32
#define PMS_RECORD_SIZE 64
#define PMS_SMALL_MAX 2016

struct pms_class {
	uint32_t size;	   /* object slot size, 0 for records */
	uint32_t nslots;   /* slots per page, <= 64 */
	uint32_t data_off; /* first data slot in the page */
};

/* PMS_CLASS_TABLE -- {size, nslots, data_off} of each class, in order */
#define PMS_CLASS_TABLE                                                        \
	{                                                                      \
		{0, 64, 4096}, {64, 42, 1344}, {96, 32, 1024}, {128, 25, 832}, \
			{160, 21, 704}, {192, 18, 576}, {256, 14, 448},        \
			{320, 11, 384}, {384, 9, 320}, {448, 8, 256},          \
			{512, 7, 256}, {640, 6, 192}, {768, 5, 192},           \
			{1024, 3, 128}, {1312, 3, 128},                        \
		{                                                              \
			2016, 2, 64                                            \
		}                                                              \
	}

/* every class must fit its headers and slots in one page */
#define PMS_CLASS_FITS(sz, n, off)                                             \
	((off) >= (n)*PMS_HDR_SIZE && (off) % 64 == 0 &&                       \
	 (off) + (uint64_t)(n) * (sz) <= PMS_PAGE_SIZE &&                      \
	 (n) <= PMS_SLOTS_MAX)

_Static_assert(PMS_CLASS_FITS(64, 42, 1344), "class 1");
_Static_assert(PMS_CLASS_FITS(96, 32, 1024), "class 2");
_Static_assert(PMS_CLASS_FITS(128, 25, 832), "class 3");
_Static_assert(PMS_CLASS_FITS(160, 21, 704), "class 4");
_Static_assert(PMS_CLASS_FITS(192, 18, 576), "class 5");
_Static_assert(PMS_CLASS_FITS(256, 14, 448), "class 6");
_Static_assert(PMS_CLASS_FITS(320, 11, 384), "class 7");
_Static_assert(PMS_CLASS_FITS(384, 9, 320), "class 8");
_Static_assert(PMS_CLASS_FITS(448, 8, 256), "class 9");
_Static_assert(PMS_CLASS_FITS(512, 7, 256), "class 10");
_Static_assert(PMS_CLASS_FITS(640, 6, 192), "class 11");
_Static_assert(PMS_CLASS_FITS(768, 5, 192), "class 12");
_Static_assert(PMS_CLASS_FITS(1024, 3, 128), "class 13");
_Static_assert(PMS_CLASS_FITS(1312, 3, 128), "class 14");
_Static_assert(PMS_CLASS_FITS(2016, 2, 64), "class 15");
_Static_assert(64 * PMS_RECORD_SIZE == PMS_PAGE_SIZE, "record page");

_Static_assert(sizeof(struct pms_super) == 128, "superblock size");
_Static_assert(offsetof(struct pms_super, checksum) == 120, "checksum");
_Static_assert(offsetof(struct pms_super, pool_uuid) == 16, "uuid");
_Static_assert(offsetof(struct pms_super, npages) == 56, "npages");
_Static_assert(sizeof(struct pms_super_page) == PMS_PAGE_SIZE, "sb page");
_Static_assert(offsetof(struct pms_super_page, hwm) == 2048, "hwm");
_Static_assert(sizeof(struct pms_desc) == 16, "descriptor size");
_Static_assert(sizeof(struct pms_obj_hdr) == PMS_HDR_SIZE, "header size");
_Static_assert(offsetof(struct pms_obj_hdr, check) == 24, "header check");
_Static_assert(sizeof(struct pms_record) == PMS_RECORD_SIZE, "record size");
_Static_assert(offsetof(struct pms_record, check) == 56, "record check");
_Static_assert(sizeof(struct pms_check_small) == 40, "check input");
_Static_assert(sizeof(struct pms_check_record) == 56, "check input");
_Static_assert(PMS_DESC_OFF == 2 * PMS_PAGE_SIZE, "descriptors after sbs");

/*
 * The UUID index: extendible hashing on media.
 *
 * h = XXH3-64 of the UUID, seeded with the pool's identity-check seed
 * (the first 8 bytes of the pool UUID ^ PMS_SB_SEED) ^ PMS_INDEX_SEED.
 * The directory is an array of 2^G 8-byte words
 * (G, the global depth, up to PMS_DIR_MAX_DEPTH), in a run of data pages;
 * word i = the first page of the segment for the hashes whose top G bits
 * are i.  A segment of local depth L <= G is named by 2^(G-L) consecutive
 * words.  A segment is PMS_SEG_PAGES pages (aligned) of PMS_SEG_BUCKETS
 * buckets of one cache line, 8 entries each.  A UUID may sit in either of
 * two windows of two adjacent buckets, starting at bucket PMS_HASH_B1(h)
 * and PMS_HASH_B2(h) (wrapping); an insert takes the emptier window, and
 * a segment whose windows for a UUID are full splits in two (each entry
 * stays in the bucket it was in, in the half its next hash bit names).
 *
 * An entry is one 8-byte word: the top PMS_TAG_BITS bits of h (the tag:
 * a fingerprint, and the bits a split needs, so a split reads no header)
 * and location + 1, where location = page << 6 | slot names the object's
 * header (small object) or record (large object).  0 is an empty entry.
 * The entry is the commit word of an object: see docs/format.md.
 */
#define PMS_INDEX_SEED 0x696e646578686173ULL /* "indexhas" */
#define PMS_SEG_PAGES 4ULL
#define PMS_SEG_BUCKETS 256U
#define PMS_BUCKET_ENTRIES 8U
#define PMS_WINDOW 2U /* buckets per window */
#define PMS_TAG_BITS 22
#define PMS_LOC_BITS 42
#define PMS_DIR_MAX_DEPTH 36
#define PMS_DIR_WORD(page, depth) (((uint64_t)(page) << 8) | (uint64_t)(depth))
#define PMS_DIR_PAGE(w) ((w) >> 8)
#define PMS_DIR_DEPTH(w) ((unsigned)((w)&0xffULL))
#define PMS_ENTRY(h, loc)                                                      \
	((((uint64_t)(h) >> (64 - PMS_TAG_BITS)) << PMS_LOC_BITS) |            \
	 ((uint64_t)(loc) + 1))
#define PMS_ENTRY_TAG(e) ((e) >> PMS_LOC_BITS)
#define PMS_ENTRY_LOC(e) (((e) & ((1ULL << PMS_LOC_BITS) - 1)) - 1)
#define PMS_LOC(page, slot) (((uint64_t)(page) << 6) | (uint64_t)(slot))
#define PMS_LOC_PAGE(loc) ((loc) >> 6)
#define PMS_LOC_SLOT(loc) ((unsigned)((loc)&63ULL))
#define PMS_HASH_TAG(h) ((h) >> (64 - PMS_TAG_BITS))
#define PMS_HASH_B1(h) ((unsigned)((h)&0xffULL))
#define PMS_HASH_B2(h) ((unsigned)(((h) >> 8) & 0xffULL))

struct pms_bucket {
	uint64_t e[PMS_BUCKET_ENTRIES];
};

_Static_assert(sizeof(struct pms_bucket) == PMS_LINE, "bucket is a line");
_Static_assert(PMS_SEG_BUCKETS * sizeof(struct pms_bucket) ==
		       PMS_SEG_PAGES * PMS_PAGE_SIZE,
	       "segment size");
_Static_assert(PMS_TAG_BITS + PMS_LOC_BITS == 64, "entry bits");
_Static_assert(PMS_MAX_NPAGES << 6 < (1ULL << PMS_LOC_BITS) - 1,
	       "every location fits an entry");
_Static_assert(PMS_SEG_BUCKETS == 256, "PMS_HASH_B1/B2 take 8 bits");
_Static_assert(sizeof(struct pms_clean) == 32, "clean record");
_Static_assert(sizeof(struct pms_split_log) == 32, "split log");
_Static_assert(offsetof(struct pms_super_page, dir) == 2112, "dir");
_Static_assert(offsetof(struct pms_super_page, clean) == 2176, "clean");
_Static_assert(offsetof(struct pms_super_page, split) == 2240, "split");
_Static_assert(sizeof(struct pms_shutdown) == 32, "shutdown record");
_Static_assert(offsetof(struct pms_super_page, usc) == 2304, "usc");

/* initial high-water mark of a new pool, in pages (64 MiB of data) */
#define PMS_HWM_INITIAL 16384ULL

#endif /* PMS_LAYOUT_H */
