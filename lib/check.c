/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.c -- owns pmemstore_check: the offline structural check and repair
 * of a pool that is not open.
 *
 * The check is an independent reading of the format in layout.h and
 * docs/format.md (format 2: the UUID index on media): it walks the
 * superblocks, the descriptors below the high-water mark, the slab pages
 * and the large objects' records and runs, the index directory and every
 * segment's entries, and shares no logic with the library's open, index
 * or object code, so that the crash simulator can use it as an oracle.  It
 * uses only the format's own definitions from elsewhere: the checksums and
 * the UUID hash (checksum.c), the geometry function (pms_geometry) and the
 * class table.
 *
 * What exists, by the library's rule: an object is a header (or record)
 * that verifies at its place and that an index entry names, the entry in
 * the segment the directory gives its hash, in one of its two windows,
 * with its hash's tag.  The slab bits are hints: exact after a clean close
 * (a mismatch is a finding), crash residue after a crash (no clean-close
 * record), both repairable.
 *
 * Cost: O(hwm + directory words + index entries + objects) time, memory
 * proportional to the mark and the objects; the file is mapped read-only.
 * Every page number, location, depth and count read from the media is
 * bounds-checked before use, and every walk is bounded by the mark, the
 * directory's size or the objects found.
 *
 * Every finding is classified.  Repairable are the states a crash of a
 * correct library can leave (bits against existence, verifying headers
 * without an entry, stale entries, a split's leftovers, a split decided
 * but not finished, a directory doubling cut short, orphaned descriptors
 * and index pages, missing TAILs), a damaged superblock copy beside a
 * good one, a mark word out of bounds beside a usable one, a clean-close
 * record whose counts are wrong, and a damaged index (rebuilt from the
 * objects whose bit is set and whose header verifies).  Everything else
 * is not repairable, and REPAIR then writes nothing.  See repair_index for
 * REPAIR's own writes and their commit order; the rest is pmemstore_open's
 * recovery and a clean close; a second full check must then find the pool
 * clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <libpmem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "pmemstore.h"
#include "pool.h"
#include "flush.h"
#include "checksum.h"
#include "errors.h"
#include "media.h"
#include "check.h"
#include "device.h"

/* the class table, read from the format definition itself */
static const struct pms_class ck_classes[PMS_NCLASSES] = PMS_CLASS_TABLE;

#define MSG_MAX 320
#define REBUILD_MAX_DEPTH 16 /* a rebuilt index: at most 2^16 segments */
/*
 * a directory has at most 2^DIR_SLACK_BITS words per segment the mark can
 * hold (hwm / 4): the hash is uniform, so a library-made directory is
 * within a few bits of log2(segments), and a deeper one is damage
 */
#define DIR_SLACK_BITS 4

/* a finding kept for reporting after a repair */
struct saved {
	unsigned kind;
	int repairable;
	uint64_t offset;
	char *msg;
};

/* what becomes of a verifying header or record */
enum fate { F_KEEP, F_REINDEX, F_DROP };

/* a header or record that verifies at its place (an object if indexed) */
struct obj {
	uint64_t loc;	      /* page << 6 | slot */
	uint64_t hash;	      /* of its UUID */
	uint64_t size;	      /* bytes */
	uint64_t run, npages; /* a large object's run; npages 0: small */
	uint64_t off;	      /* pool offset of the header or record */
	uint8_t uuid[16];
	uint8_t bit;  /* its occupancy bit is set */
	uint8_t nent; /* entries in place that name it (0 or 1) */
	uint8_t fate;
};

/* a segment the directory names */
struct seg {
	uint64_t page, prefix;
	unsigned depth;
};

/* pages [lo, hi) of a run not walked because it overlapped something */
struct range {
	uint64_t lo, hi;
};

/* the state of one check */
struct ck {
	const char *path;
	int (*report)(const struct pmemstore_finding *f, void *arg);
	void *arg;
	int buffer; /* keep findings (REPAIR reports them afterwards) */
	int stop;   /* the callback returned nonzero */
	int cbret;
	int nomem;
	int fatal; /* errno of a finding that ended the check (ENOTSUP) */
	uint64_t n, nrep;
	char first[MSG_MAX];
	char first_bad[MSG_MAX]; /* the first finding not repairable */
	struct saved *sv;
	size_t nsv, capsv;

	const uint8_t *base;   /* the read-only mapping */
	int fd;		       /* the file, for pread; -1 on device-dax */
	int ioerr;	       /* a pread failed (errno) */
	uint64_t ioerr_off;    /* where (a media error: EIO) */
	uint64_t nmedia;       /* MEDIA findings of objects on bad blocks */
	int media_obj;	       /* finding() is reporting one of those */
	int skip;	       /* page_head: a media error, skip the page */
	struct pms_device dev; /* the device's bad ranges over the pool */
	uint8_t pbuf[PMS_PAGE_SIZE] __attribute__((aligned(64)));
	size_t map_len;
	uint64_t fsize;

	struct pms_super sb; /* the valid copy */
	uint64_t npages, data_off, hwm, seed;
	int hwm_bad[2]; /* mark words that REPAIR rewrites */

	/* the superblock pages' index words */
	struct pms_super_page *spa, *spb; /* copies of both pages */
	int dirty;			  /* no valid clean-close record */
	uint64_t dw, nwords, ndir;	  /* the directory in use */
	unsigned g;			  /* its global depth */
	int pend;			  /* a split decided, not finished */
	uint64_t pseg, ptwin, pprefix;
	unsigned pdepth;
	int rebuild;  /* the index is damaged: REPAIR rebuilds it */
	int index_ok; /* the directory walk passed: entries were read */

	uint64_t *used;	 /* pages held by a live object, BAD, the index */
	uint64_t *inrun; /* pages of live runs */
	uint64_t *isidx; /* pages with an INDEX descriptor */
	uint64_t *named; /* pages of the index in use (and a pending twin) */
	struct obj *o;
	size_t no, capo;
	size_t *tab; /* loc -> object + 1, open addressing */
	size_t tabmask;
	struct seg *sg;
	size_t nsg, capsg;
	uint64_t *rm; /* pool offsets of entries REPAIR zeroes */
	size_t nrm, caprm;
	uint64_t *oseg; /* first pages of orphan segments REPAIR frees */
	size_t noseg, caposeg;
	struct range *rg;
	size_t nrg, caprg;
	struct range *orph; /* orphaned run descriptors REPAIR zeroes */
	size_t norph, caporph;
	uint64_t live_objects, live_bytes; /* what the index says exists */

	/* a rebuild's plan (plan_rebuild) */
	unsigned rg_depth;
	uint64_t *rb_seg; /* first page of each new segment */
	uint64_t rb_dir;  /* first page of the new directory */
	size_t *rb_ord;	  /* the objects to index, by hash */
	size_t rb_n;
	uint64_t *rb_buf; /* one segment's entries, for the plan */
};

/* grow -- make room for one more element in a growing array */
static int
grow(struct ck *k, void **v, size_t *cap, size_t n, size_t elsz)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *nv = realloc(*v, ncap * elsz);

	if (nv == NULL) {
		k->nomem = 1;
		return pms_err(ENOMEM, "pool %s: out of memory", k->path);
	}
	*v = nv;
	*cap = ncap;
	return 0;
}

/*
 * finding -- count a finding and hand it to the callback (or keep it for
 * later when REPAIR is given); a nonzero callback return stops the check
 */
static void finding(struct ck *k, unsigned kind, int repairable, uint64_t off,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
finding(struct ck *k, unsigned kind, int repairable, uint64_t off,
	const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	if (k->stop || k->nomem)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->n++;
	if (repairable)
		k->nrep++;
	if (kind == PMEMSTORE_FINDING_MEDIA && k->media_obj)
		k->nmedia++;
	if (k->n == 1)
		memcpy(k->first, msg, sizeof(msg));
	if (!repairable && k->first_bad[0] == 0)
		memcpy(k->first_bad, msg, sizeof(msg));
	if (k->buffer) {
		struct saved *s;

		if (grow(k, (void **)&k->sv, &k->capsv, k->nsv, sizeof(*s)))
			return;
		s = &k->sv[k->nsv];
		s->msg = strdup(msg);
		if (s->msg == NULL) {
			k->nomem = 1;
			return;
		}
		s->kind = kind;
		s->repairable = repairable;
		s->offset = off;
		k->nsv++;
		return;
	}
	if (k->report) {
		struct pmemstore_finding f = {kind, repairable, 0, off, msg};
		int r = k->report(&f, k->arg);

		if (r) {
			k->stop = 1;
			k->cbret = r;
		}
	}
}

/* bit_test / bit_set -- bitmaps over the pages [0, hwm) */
static inline int
bit_test(const uint64_t *b, uint64_t p)
{
	return (b[p >> 6] >> (p & 63)) & 1;
}

static inline void
bit_set(uint64_t *b, uint64_t p)
{
	b[p >> 6] |= 1ULL << (p & 63);
}

/* desc_off -- pool offset of page p's descriptor */
static inline uint64_t
desc_off(uint64_t p)
{
	return PMS_DESC_OFF + p * sizeof(struct pms_desc);
}

/* desc_at -- a copy of page p's descriptor (p < hwm <= npages) */
static inline struct pms_desc
desc_at(const struct ck *k, uint64_t p)
{
	struct pms_desc d;

	memcpy(&d, k->base + desc_off(p), sizeof(d));
	return d;
}

/* page_off / page_at -- pool offset and address of data page p */
static inline uint64_t
page_off(const struct ck *k, uint64_t p)
{
	return k->data_off + (p << PMS_PAGE_SHIFT);
}

/*
 * unreadable -- data page p cannot be read (a media error at pool offset
 * off): a MEDIA finding for the objects it holds, and the page is skipped
 * (k->skip), not the rest of the check
 */
static void
unreadable(struct ck *k, uint64_t p, uint64_t off)
{
	k->media_obj = 1;
	finding(k, PMEMSTORE_FINDING_MEDIA, 0, off,
		"slab page %llu cannot be read (a media error at pool offset "
		"%llu): its objects are lost (persist_get fails with EIO)",
		(unsigned long long)p, (unsigned long long)off);
	k->media_obj = 0;
	k->skip = 1;
}

/*
 * page_head -- the first len bytes of data page p (its header array).  A
 * regular file is read with pread: a slab page is read once and the
 * mapping would fault it in (with its neighbours) and tear it down again,
 * which costs more.  A device-dax node has no read(): it is copied from
 * the mapping under the SIGBUS guard.  NULL when the read fails: k->skip
 * set on a media error (the caller skips the page), else k->ioerr.
 */
static const uint8_t *
page_head(struct ck *k, uint64_t p, size_t len)
{
	size_t done = 0;

	if (k->fd < 0) {
		struct pms_guard g;

		pms_guard_push(&g, k->base, k->map_len);
		if (sigsetjmp(g.env, 0)) {
			pms_guard_failed(&g, k->path, k->base,
					 "checking a slab page");
			unreadable(k, p, g.addr - (uintptr_t)k->base);
			return NULL;
		}
		memcpy(k->pbuf, k->base + page_off(k, p), len);
		pms_guard_pop(&g);
		return k->pbuf;
	}
	while (done < len) {
		ssize_t n = pread(k->fd, k->pbuf + done, len - done,
				  (off_t)(page_off(k, p) + done));

		if (n < 0 && errno == EIO) {
			unreadable(k, p, page_off(k, p) + done);
			return NULL;
		}
		if (n <= 0) {
			k->ioerr = n < 0 ? errno : EIO;
			k->ioerr_off = page_off(k, p) + done;
			return NULL;
		}
		done += (size_t)n;
	}
	return k->pbuf;
}

/* skipped -- after page_head failed: 0 (go on) for a media error */
static int
skipped(struct ck *k)
{
	if (!k->skip)
		return -1;
	k->skip = 0;
	return 0;
}

/* slot_mask -- the occupancy bits a class has */
static inline uint64_t
slot_mask(unsigned cls)
{
	unsigned n = ck_classes[cls].nslots;

	return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

/*
 * hdr_verifies -- is a small object's header an object's at its place, by
 * the library's rule: the 8-byte word of size and rsvd is the size (so
 * rsvd is 0), 1 to the class size, and the identity check verifies
 */
static int
hdr_verifies(const struct ck *k, const struct pms_obj_hdr *h, uint64_t p,
	     unsigned slot, unsigned cls)
{
	uint64_t size = (uint64_t)h->size | (uint64_t)h->rsvd << 32;

	return h->check != 0 && size != 0 && size <= ck_classes[cls].size &&
	       h->check ==
		       pms_check_small(k->seed, h->uuid, size, p, slot, cls);
}

/* hdr_check_only -- does the identity check alone verify (any size)? */
static int
hdr_check_only(const struct ck *k, const struct pms_obj_hdr *h, uint64_t p,
	       unsigned slot, unsigned cls)
{
	uint64_t size = (uint64_t)h->size | (uint64_t)h->rsvd << 32;

	return h->check != 0 &&
	       (h->check ==
			pms_check_small(k->seed, h->uuid, size, p, slot, cls) ||
		h->check == pms_check_small(k->seed, h->uuid, h->size, p, slot,
					    cls));
}

/* rec_verifies -- does a record's identity check match its location? */
static int
rec_verifies(const struct ck *k, const struct pms_record *r, uint64_t p,
	     unsigned slot)
{
	return r->check != 0 &&
	       r->check == pms_check_record(k->seed, r->uuid, r->size, r->page,
					    r->npages, p, slot);
}

/* superblock copy states, from worst to best */
enum { SB_NOMAGIC, SB_VERSION, SB_TORN, SB_CHECKSUM, SB_OLDER, SB_VALID };

/* sb_state -- what a superblock copy holds */
static int
sb_state(const struct pms_super *s)
{
	if (memcmp(s->magic, PMS_MAGIC, 8) != 0)
		return SB_NOMAGIC;
	/* version 0 is a torn copy (create cut short), not a newer pool */
	if (s->version == 0)
		return SB_TORN;
	if (s->version < PMS_FORMAT_READS || s->version > PMS_FORMAT_VERSION)
		return SB_VERSION;
	if (s->checksum != pms_super_checksum(s))
		return SB_CHECKSUM;
	return SB_VALID;
}

/* sb_what -- a superblock copy's state in words */
static const char *
sb_what(int st)
{
	switch (st) {
	case SB_NOMAGIC:
		return "no magic";
	case SB_VERSION:
		return "unknown format version";
	case SB_TORN:
		return "version 0 (torn, or a create that did not finish)";
	case SB_CHECKSUM:
		return "checksum mismatch";
	case SB_OLDER:
		return "an older format version beside a newer copy (an "
		       "upgrade cut short)";
	default:
		return "valid";
	}
}

/*
 * check_super -- both superblock copies, the geometry against the file
 * and the high-water mark words.  Returns 1 when the check cannot go on
 * (no usable superblock), else 0.
 */
static int
check_super(struct ck *k)
{
	static const char name[2] = {'A', 'B'};
	struct pms_super s[2];
	int st[2], good;
	uint64_t n = 0, doff = 0, h[2], lo, mx;

	if (k->fsize < 2 * PMS_PAGE_SIZE) {
		finding(k, PMEMSTORE_FINDING_FORMAT, 0, 0,
			"the file is %llu bytes, too small to hold a pool's "
			"two superblock pages",
			(unsigned long long)k->fsize);
		return 1;
	}
	memcpy(&s[0], k->base + PMS_SB_A_OFF, sizeof(s[0]));
	memcpy(&s[1], k->base + PMS_SB_B_OFF, sizeof(s[1]));
	st[0] = sb_state(&s[0]);
	st[1] = sb_state(&s[1]);
	if (st[0] == SB_NOMAGIC && st[1] == SB_NOMAGIC) {
		finding(k, PMEMSTORE_FINDING_FORMAT, 0, 0,
			"not a pmemstore pool: neither superblock copy "
			"(offsets 0 and 4096) has the magic \"PMSTORE\"");
		return 1;
	}
	if (st[0] != SB_VALID && st[1] != SB_VALID) {
		if (st[0] == SB_VERSION || st[1] == SB_VERSION) {
			int c = st[0] == SB_VERSION ? 0 : 1;

			k->fatal = ENOTSUP;
			finding(k, PMEMSTORE_FINDING_FORMAT, 0,
				c * PMS_PAGE_SIZE,
				"format version %u is not known to this "
				"library (it knows version %u); use the "
				"library that wrote the pool",
				s[c].version, PMS_FORMAT_VERSION);
			return 1;
		}
		for (int c = 0; c < 2; c++)
			finding(k, PMEMSTORE_FINDING_SUPERBLOCK, 0,
				c * PMS_PAGE_SIZE,
				"superblock copy %c (offset %llu): %s, and no "
				"valid copy is left to restore it from",
				name[c], c * PMS_PAGE_SIZE, sb_what(st[c]));
		return 1;
	}
	if (st[0] == SB_VALID && st[1] == SB_VALID &&
	    s[0].version == PMS_FORMAT_VERSION &&
	    s[1].version < PMS_FORMAT_VERSION) {
		struct pms_super x = s[1];

		x.version = s[0].version;
		x.checksum = s[0].checksum;
		if (memcmp(&s[0], &x, sizeof(x)) == 0)
			st[1] = SB_OLDER; /* upgrade() writes A first */
	}
	if (st[0] == SB_VALID && st[1] == SB_VALID &&
	    memcmp(&s[0], &s[1], sizeof(s[0])) != 0) {
		finding(k, PMEMSTORE_FINDING_SUPERBLOCK, 0, PMS_SB_B_OFF,
			"the two superblock copies are both valid but differ: "
			"cannot tell which one is right");
		return 1;
	}
	good = st[0] == SB_VALID ? 0 : 1;
	k->sb = s[good];
	for (int c = 0; c < 2; c++)
		if (st[c] != SB_VALID)
			finding(k, PMEMSTORE_FINDING_SUPERBLOCK, 1,
				c * PMS_PAGE_SIZE,
				"superblock copy %c (offset %llu): %s; REPAIR "
				"restores it from copy %c",
				name[c], c * PMS_PAGE_SIZE, sb_what(st[c]),
				name[good]);
	if (k->sb.incompat != 0) {
		k->fatal = ENOTSUP;
		finding(k, PMEMSTORE_FINDING_FORMAT, 0, good * PMS_PAGE_SIZE,
			"the pool uses incompatible features 0x%llx unknown to "
			"this library",
			(unsigned long long)k->sb.incompat);
		return 1;
	}
	/* create's geometry, and what any geometry must satisfy */
	if (k->sb.page_size != PMS_PAGE_SIZE ||
	    k->sb.desc_off != PMS_DESC_OFF ||
	    pms_geometry(k->sb.pool_size, &n, &doff) || n != k->sb.npages ||
	    doff != k->sb.data_off || n == 0 || doff % PMS_HUGE_SIZE != 0 ||
	    doff < PMS_DESC_OFF + n * sizeof(struct pms_desc) ||
	    doff >= k->sb.pool_size ||
	    n > (k->sb.pool_size - doff) / PMS_PAGE_SIZE) {
		finding(k, PMEMSTORE_FINDING_SUPERBLOCK, 0,
			good * PMS_PAGE_SIZE,
			"superblock geometry is inconsistent: pool size %llu, "
			"page size %u, %llu pages with data at %llu (a pool of "
			"that size has %llu pages with data at %llu)",
			(unsigned long long)k->sb.pool_size, k->sb.page_size,
			(unsigned long long)k->sb.npages,
			(unsigned long long)k->sb.data_off,
			(unsigned long long)n, (unsigned long long)doff);
		return 1;
	}
	if (k->sb.pool_size > k->fsize) {
		finding(k, PMEMSTORE_FINDING_BOUNDS, 0, good * PMS_PAGE_SIZE,
			"truncated: the file has %llu bytes, the pool needs "
			"%llu",
			(unsigned long long)k->fsize,
			(unsigned long long)k->sb.pool_size);
		return 1;
	}
	k->npages = n;
	k->data_off = doff;
	memcpy(&k->seed, k->sb.pool_uuid, 8);
	k->seed ^= PMS_SB_SEED;

	/*
	 * The mark: open takes the larger word, clamped to [initial, npages].
	 * Words that differ within bounds are a crash during a raise, not a
	 * finding.  A word out of bounds is repairable when the effective
	 * mark can be trusted: the other word is in bounds, or the larger is
	 * beyond npages (then every descriptor is read anyway).
	 */
	lo = n < PMS_HWM_INITIAL ? n : PMS_HWM_INITIAL;
	for (int c = 0; c < 2; c++)
		memcpy(&h[c],
		       k->base + c * PMS_PAGE_SIZE +
			       offsetof(struct pms_super_page, hwm),
		       8);
	mx = h[0] > h[1] ? h[0] : h[1];
	k->hwm = mx < PMS_HWM_INITIAL ? PMS_HWM_INITIAL : mx;
	if (k->hwm > n)
		k->hwm = n;
	int ok0 = h[0] >= lo && h[0] <= n, ok1 = h[1] >= lo && h[1] <= n;
	int trusted = ok0 || ok1 || mx > n;

	for (int c = 0; c < 2; c++) {
		if (c == 0 ? ok0 : ok1)
			continue;
		k->hwm_bad[c] = trusted;
		finding(k, PMEMSTORE_FINDING_SUPERBLOCK, trusted,
			c * PMS_PAGE_SIZE +
				offsetof(struct pms_super_page, hwm),
			"high-water mark in superblock page %c is %llu, "
			"outside [%llu, %llu]%s",
			name[c], (unsigned long long)h[c],
			(unsigned long long)lo, (unsigned long long)n,
			trusted ? "; REPAIR sets it to the effective mark"
				: ", and so is the other copy's: descriptors "
				  "may be hidden");
	}
	return 0;
}

/* sp_off -- pool offset of a field of superblock page c */
#define SP_OFF(c, field)                                                       \
	((uint64_t)(c)*PMS_PAGE_SIZE + offsetof(struct pms_super_page, field))

/* obj_add -- remember a header or record that verifies at its place */
static struct obj *
obj_add(struct ck *k, uint64_t p, unsigned slot, const uint8_t uuid[16],
	uint64_t size, uint64_t off, int bit)
{
	struct obj *o;

	if (grow(k, (void **)&k->o, &k->capo, k->no, sizeof(*k->o)))
		return NULL;
	o = &k->o[k->no++];
	memset(o, 0, sizeof(*o));
	o->loc = PMS_LOC(p, slot);
	memcpy(o->uuid, uuid, 16);
	o->hash = pms_hash_uuid(k->seed, uuid);
	o->size = size;
	o->off = off;
	o->bit = (uint8_t) !!bit;
	return o;
}

/*
 * scan_small -- a slab page of small objects: every header that verifies
 * is remembered (an object if an entry names it); a set bit without one
 * is a bit that lies
 */
static int
scan_small(struct ck *k, uint64_t p, unsigned cls, uint64_t bits)
{
	const struct pms_class *c = &ck_classes[cls];
	const uint8_t *pg = page_head(k, p, c->nslots * PMS_HDR_SIZE);

	if (pg == NULL)
		return skipped(k);
	for (unsigned i = 0; i < c->nslots && !k->stop; i++) {
		struct pms_obj_hdr h;
		uint64_t off = page_off(k, p) + (uint64_t)i * PMS_HDR_SIZE;
		int set = (bits >> i) & 1;

		memcpy(&h, pg + (uint64_t)i * PMS_HDR_SIZE, sizeof(h));
		if (!set && h.check == 0)
			continue;
		if (hdr_verifies(k, &h, p, i, cls)) {
			if (obj_add(k, p, i, h.uuid, h.size, off, set) == NULL)
				return -1;
			continue;
		}
		if (!set)
			continue; /* a free slot's leftover: never read */
		if (hdr_check_only(k, &h, p, i, cls)) {
			finding(k, PMEMSTORE_FINDING_SLAB, 0, off,
				"slab page %llu slot %u: the header's check "
				"verifies but its size %u (reserved 0x%x) "
				"does not fit class %u (1 to %u bytes)",
				(unsigned long long)p, i, h.size, h.rsvd, cls,
				c->size);
			continue;
		}
		finding(k, PMEMSTORE_FINDING_INCOMPLETE, 1, off,
			"slab page %llu: bit %u set but its header does not "
			"verify (%s; REPAIR clears the bit)",
			(unsigned long long)p, i,
			k->dirty ? "an allocation or free cut short"
				 : "the bitmap of a clean pool lies");
	}
	return 0;
}

/*
 * record -- one record page slot whose identity check verifies: an object
 * when its run is in bounds, agrees with its size and its HEAD points back
 * (the library's rule).  With a set bit, a run out of bounds or of the
 * wrong size cannot come from a crash: damage, not repairable.
 */
static int
record(struct ck *k, uint64_t p, unsigned slot, const struct pms_record *r,
       int set)
{
	uint64_t off = page_off(k, p) + (uint64_t)slot * PMS_RECORD_SIZE;
	uint64_t rp = r->page, n = r->npages, sz = r->size, want;
	unsigned long long pp = p;
	struct pms_desc d;
	struct obj *o;

	if (r->rsvd[0] != 0 || r->rsvd[1] != 0) {
		if (set)
			finding(k, PMEMSTORE_FINDING_RUN, 0, off,
				"record page %llu slot %u: reserved record "
				"fields are not 0",
				pp, slot);
		return 0;
	}
	if (n == 0 || rp >= k->npages || n > k->npages - rp) {
		if (set)
			finding(k, PMEMSTORE_FINDING_BOUNDS, 0, off,
				"record page %llu slot %u: its run (page %llu, "
				"%llu pages) lies outside the pool's %llu data "
				"pages",
				pp, slot, (unsigned long long)rp,
				(unsigned long long)n,
				(unsigned long long)k->npages);
		return 0;
	}
	if (rp >= k->hwm || n > k->hwm - rp) {
		if (set)
			finding(k, PMEMSTORE_FINDING_BOUNDS, 0, off,
				"record page %llu slot %u: its run (page %llu, "
				"%llu pages) reaches above the high-water mark "
				"(%llu pages)",
				pp, slot, (unsigned long long)rp,
				(unsigned long long)n,
				(unsigned long long)k->hwm);
		return 0;
	}
	want = sz / PMS_PAGE_SIZE + (sz % PMS_PAGE_SIZE != 0);
	if (sz <= PMS_SMALL_MAX || want != n ||
	    (sz >= PMS_HUGE_SIZE && rp % PMS_HUGE_PAGES != 0)) {
		if (set)
			finding(k, PMEMSTORE_FINDING_RUN, 0, off,
				"record page %llu slot %u: size %llu bytes "
				"does not match a run of %llu pages at page "
				"%llu (objects of 2 MiB or more start on a "
				"2 MiB boundary)",
				pp, slot, (unsigned long long)sz,
				(unsigned long long)n, (unsigned long long)rp);
		return 0;
	}
	d = desc_at(k, rp);
	if (d.w0 != PMS_DESC_HEAD_W0(p, slot) || d.w1 != n) {
		if (set)
			finding(k, PMEMSTORE_FINDING_INCOMPLETE, 1, off,
				"record page %llu slot %u: the descriptor of "
				"page %llu, its run's first page, does not "
				"point back at it (a large allocation or free "
				"cut short; REPAIR drops the record)",
				pp, slot, (unsigned long long)rp);
		return 0;
	}
	o = obj_add(k, p, slot, r->uuid, sz, off, set);
	if (o == NULL)
		return -1;
	o->run = rp;
	o->npages = n;
	return 0;
}

/* scan_records -- a record page: every record whose check verifies */
static int
scan_records(struct ck *k, uint64_t p, uint64_t bits)
{
	const uint8_t *pg = page_head(k, p, PMS_PAGE_SIZE);

	if (pg == NULL)
		return skipped(k);
	for (unsigned i = 0; i < 64 && !k->stop; i++) {
		struct pms_record r;
		uint64_t off = page_off(k, p) + (uint64_t)i * PMS_RECORD_SIZE;
		int set = (bits >> i) & 1;

		memcpy(&r, pg + (uint64_t)i * PMS_RECORD_SIZE, sizeof(r));
		if (!set && r.check == 0)
			continue;
		if (rec_verifies(k, &r, p, i)) {
			if (record(k, p, i, &r, set))
				return -1;
			continue;
		}
		if (set)
			finding(k, PMEMSTORE_FINDING_INCOMPLETE, 1, off,
				"record page %llu: bit %u set but its record "
				"does not verify (%s; REPAIR clears the bit)",
				(unsigned long long)p, i,
				k->dirty ? "a large allocation or free cut "
					   "short"
					 : "the bitmap of a clean pool lies");
	}
	return 0;
}

/* pass1 -- every descriptor below the mark, and the slab pages */
static int
pass1(struct ck *k)
{
	for (uint64_t p = 0; p < k->hwm && !k->stop; p++) {
		struct pms_desc d = desc_at(k, p);
		unsigned t = PMS_DESC_TYPE(d.w0), cls, kind;
		uint64_t dist;

		switch (t) {
		case PMS_DESC_FREE:
			if (d.w0 != 0)
				finding(k, PMEMSTORE_FINDING_DESCRIPTOR, 0,
					desc_off(p),
					"page %llu: free descriptor with "
					"reserved bits set (w0 0x%llx)",
					(unsigned long long)p,
					(unsigned long long)d.w0);
			break;
		case PMS_DESC_SLAB:
			cls = PMS_DESC_SLAB_CLASS(d.w0);
			if (cls >= PMS_NCLASSES ||
			    d.w0 != PMS_DESC_SLAB_W0(cls)) {
				finding(k, PMEMSTORE_FINDING_DESCRIPTOR, 0,
					desc_off(p),
					"page %llu: malformed slab descriptor "
					"(w0 0x%llx)",
					(unsigned long long)p,
					(unsigned long long)d.w0);
				break;
			}
			if (d.w1 & ~slot_mask(cls))
				finding(k, PMEMSTORE_FINDING_DESCRIPTOR, 0,
					desc_off(p) + 8,
					"slab page %llu (class %u, %u slots): "
					"occupancy bits beyond the last slot "
					"are set (0x%llx)",
					(unsigned long long)p, cls,
					ck_classes[cls].nslots,
					(unsigned long long)d.w1);
			if (cls == PMS_CLASS_RECORD
				    ? scan_records(k, p, d.w1 & slot_mask(cls))
				    : scan_small(k, p, cls,
						 d.w1 & slot_mask(cls)))
				return -1;
			break;
		case PMS_DESC_VOLATILE:
			if (d.w0 != PMS_DESC_VOLATILE)
				finding(k, PMEMSTORE_FINDING_DESCRIPTOR, 0,
					desc_off(p),
					"page %llu: volatile descriptor with "
					"reserved bits set (w0 0x%llx)",
					(unsigned long long)p,
					(unsigned long long)d.w0);
			break; /* a free page */
		case PMS_DESC_HEAD:
		case PMS_DESC_TAIL:
			break; /* settled from the records, then pass 3 */
		case PMS_DESC_BAD:
			if (d.w0 != PMS_DESC_BAD || d.w1 != 0)
				finding(k, PMEMSTORE_FINDING_DESCRIPTOR, 0,
					desc_off(p),
					"page %llu: malformed BAD descriptor "
					"(w0 0x%llx, w1 0x%llx)",
					(unsigned long long)p,
					(unsigned long long)d.w0,
					(unsigned long long)d.w1);
			bit_set(k->used, p); /* never part of an object */
			break;
		case PMS_DESC_INDEX:
			kind = PMS_DESC_INDEX_KIND(d.w0);
			dist = PMS_DESC_INDEX_DIST(d.w0);
			if (d.w0 != PMS_DESC_INDEX_W0(kind, dist) ||
			    (kind != PMS_INDEX_SEG && kind != PMS_INDEX_DIR) ||
			    (kind == PMS_INDEX_SEG &&
			     dist != p % PMS_SEG_PAGES) ||
			    dist > p) {
				finding(k, PMEMSTORE_FINDING_DESCRIPTOR, 0,
					desc_off(p),
					"page %llu: malformed index descriptor "
					"(w0 0x%llx)",
					(unsigned long long)p,
					(unsigned long long)d.w0);
				break;
			}
			bit_set(k->isidx, p);
			break;
		default:
			finding(k, PMEMSTORE_FINDING_DESCRIPTOR, 0, desc_off(p),
				"page %llu: descriptor of unknown type %u (w0 "
				"0x%llx)",
				(unsigned long long)p, t,
				(unsigned long long)d.w0);
			break;
		}
	}
	return 0;
}

/* ---- the index ---- */

/* dir_pages -- pages of a directory of global depth g */
static uint64_t
dir_pages(unsigned g)
{
	uint64_t bytes = (1ULL << g) * sizeof(uint64_t);

	return bytes <= PMS_PAGE_SIZE ? 1 : bytes / PMS_PAGE_SIZE;
}

/*
 * dir_too_deep -- has a directory of global depth g more words than the
 * segments the mark can hold could need (DIR_SLACK_BITS)?  This bounds
 * what the check reads of a directory by the mark, at 4 words a page,
 * whatever the depth word says.
 */
static int
dir_too_deep(const struct ck *k, unsigned g)
{
	uint64_t segs = k->hwm / PMS_SEG_PAGES;

	return g > PMS_DIR_MAX_DEPTH || (1ULL << g) > (segs << DIR_SLACK_BITS);
}

/*
 * dir_sane -- does a directory word name a whole directory below the mark
 * (depth, bounds, every page's descriptor INDEX/DIR at its distance, the
 * first one's w1 its page count)?  bounded: and no deeper than the
 * mark's segments can need (the open does not ask that)
 */
static int
dir_sane(const struct ck *k, uint64_t dw, int bounded)
{
	uint64_t p = PMS_DIR_PAGE(dw), n;
	unsigned g = PMS_DIR_DEPTH(dw);

	if (g > PMS_DIR_MAX_DEPTH || (bounded && dir_too_deep(k, g)) ||
	    (dw & 0xff) != g)
		return 0;
	n = dir_pages(g);
	if (p >= k->hwm || n > k->hwm - p)
		return 0;
	if (desc_at(k, p).w1 != n)
		return 0;
	for (uint64_t i = 0; i < n; i++)
		if (desc_at(k, p + i).w0 != PMS_DESC_INDEX_W0(PMS_INDEX_DIR, i))
			return 0;
	return 1;
}

/* damaged -- the index structure is damaged: REPAIR rebuilds it */
static void damaged(struct ck *k, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
damaged(struct ck *k, uint64_t off, const char *fmt, ...)
{
	char msg[MSG_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->rebuild = 1;
	finding(k, PMEMSTORE_FINDING_INDEX, 1, off,
		"%s (REPAIR rebuilds the index)", msg);
}

/* split_check -- the split log's checksum */
static uint64_t
split_check(const struct pms_split_log *l)
{
	return XXH64(l, offsetof(struct pms_split_log, check), PMS_SPLIT_SEED);
}

/* clean_check -- the clean-close record's checksum */
static uint64_t
clean_check(const struct pms_clean *c)
{
	return XXH64(c, offsetof(struct pms_clean, check), PMS_CLEAN_SEED);
}

/* seg_aligned -- is p the first page of a segment's room below the mark? */
static int
seg_aligned(const struct ck *k, uint64_t p)
{
	return p % PMS_SEG_PAGES == 0 && p < k->hwm &&
	       k->hwm - p >= PMS_SEG_PAGES;
}

/* seg_desc -- do the four descriptors at p say segment? */
static int
seg_desc(const struct ck *k, uint64_t p)
{
	for (uint64_t i = 0; i < PMS_SEG_PAGES; i++)
		if (desc_at(k, p + i).w0 != PMS_DESC_INDEX_W0(PMS_INDEX_SEG, i))
			return 0;
	return 1;
}

/*
 * seg_meta -- depth and prefix of the segment at p, as they are once a
 * pending split is finished; -1 when p is not a well-formed segment
 */
static int
seg_meta(const struct ck *k, uint64_t p, unsigned *depth, uint64_t *prefix)
{
	uint64_t w1;

	if (!seg_aligned(k, p))
		return -1;
	if (k->pend && (p == k->pseg || p == k->ptwin)) {
		*depth = k->pdepth + 1;
		*prefix = k->pprefix << 1 | (p == k->ptwin);
		return 0;
	}
	if (!seg_desc(k, p))
		return -1;
	w1 = desc_at(k, p).w1;
	*depth = PMS_SEG_DEPTH(w1);
	*prefix = PMS_SEG_PREFIX(w1);
	if (*depth > PMS_DIR_MAX_DEPTH || (*prefix >> *depth) != 0 ||
	    (w1 & 0xff) != *depth)
		return -1;
	return 0;
}

/* dword -- directory word i, as it is once a pending split is finished */
static uint64_t
dword(const struct ck *k, uint64_t i)
{
	uint64_t w;

	if (k->pend) {
		uint64_t lo = k->pprefix << (k->g - k->pdepth);
		uint64_t half = 1ULL << (k->g - k->pdepth - 1);

		if (i >= lo + half && i < lo + 2 * half)
			return k->ptwin;
	}
	memcpy(&w, k->base + page_off(k, PMS_DIR_PAGE(k->dw)) + i * 8, 8);
	return w;
}

/*
 * split_log -- a split log that verifies is a split decided and not
 * finished: repairable (REPAIR finishes it as an open does) when it names
 * a segment and a twin the open would accept; else the index is damaged
 */
static void
split_log(struct ck *k)
{
	const struct pms_split_log *l = &k->spa->split;
	uint64_t off = SP_OFF(0, split), seg = l->seg, twin = l->twin, w1;
	uint64_t prefix;
	unsigned depth;

	if (l->check == 0)
		return;
	if (l->check != split_check(l)) {
		finding(k, PMEMSTORE_FINDING_INDEX, 1, off + 24,
			"the index split log is torn (a split that never "
			"happened; REPAIR zeroes its check)");
		return;
	}
	if (!seg_aligned(k, seg) || !seg_aligned(k, twin) || seg == twin ||
	    l->depth >= k->g || !seg_desc(k, seg)) {
		damaged(k, off,
			"the index split log names segment %llu, twin %llu, "
			"depth %llu: out of bounds",
			(unsigned long long)seg, (unsigned long long)twin,
			(unsigned long long)l->depth);
		return;
	}
	depth = (unsigned)l->depth;
	w1 = desc_at(k, seg).w1;
	prefix = PMS_SEG_PREFIX(w1);
	if (PMS_SEG_DEPTH(w1) == depth + 1)
		prefix >>= 1; /* the split had landed for the segment */
	else if (PMS_SEG_DEPTH(w1) != depth)
		prefix = ~0ULL;
	for (uint64_t i = 0; i < PMS_SEG_PAGES; i++) {
		uint64_t w0 = desc_at(k, twin + i).w0;

		if (w0 != 0 && w0 != PMS_DESC_INDEX_W0(PMS_INDEX_SEG, i))
			prefix = ~0ULL;
	}
	if ((prefix >> depth) != 0) {
		damaged(k, off,
			"the index split log names segment %llu and twin "
			"%llu, which do not agree with it",
			(unsigned long long)seg, (unsigned long long)twin);
		return;
	}
	k->pend = 1;
	k->pseg = seg;
	k->ptwin = twin;
	k->pdepth = depth;
	k->pprefix = prefix;
	finding(k, PMEMSTORE_FINDING_INDEX, 1, off,
		"the index split of segment %llu into twin %llu was decided "
		"but not finished (a crash; REPAIR finishes it)",
		(unsigned long long)seg, (unsigned long long)twin);
}

/* seg_add -- remember a segment the directory names */
static int
seg_add(struct ck *k, uint64_t p, unsigned depth, uint64_t prefix)
{
	if (grow(k, (void **)&k->sg, &k->capsg, k->nsg, sizeof(*k->sg)))
		return -1;
	k->sg[k->nsg].page = p;
	k->sg[k->nsg].depth = depth;
	k->sg[k->nsg].prefix = prefix;
	k->nsg++;
	return 0;
}

/*
 * walk_dir -- every directory word names a segment of depth L <= G, and
 * a segment of prefix x is named by exactly the 2^(G-L) aligned words of
 * x; O(directory words).  0: the structure is whole; 1: damaged.
 */
static int
walk_dir(struct ck *k)
{
	uint64_t dirp = PMS_DIR_PAGE(k->dw);

	for (uint64_t q = 0; q < k->ndir; q++) {
		bit_set(k->named, dirp + q);
		bit_set(k->used, dirp + q);
	}
	for (uint64_t i = 0; i < k->nwords && !k->stop;) {
		uint64_t s = dword(k, i), prefix, span;
		unsigned depth;

		if (seg_meta(k, s, &depth, &prefix) || depth > k->g) {
			damaged(k, page_off(k, dirp) + i * 8,
				"index directory word %llu names page %llu, "
				"not a segment",
				(unsigned long long)i, (unsigned long long)s);
			return 1;
		}
		span = 1ULL << (k->g - depth);
		if (i % span != 0 || (i >> (k->g - depth)) != prefix) {
			damaged(k, page_off(k, dirp) + i * 8,
				"index directory word %llu names segment %llu "
				"of depth %u and prefix 0x%llx, which is not "
				"its place",
				(unsigned long long)i, (unsigned long long)s,
				depth, (unsigned long long)prefix);
			return 1;
		}
		for (uint64_t j = 1; j < span; j++) {
			if (dword(k, i + j) == s)
				continue;
			damaged(k, page_off(k, dirp) + (i + j) * 8,
				"index directory word %llu should name segment "
				"%llu (depth %u) like word %llu",
				(unsigned long long)(i + j),
				(unsigned long long)s, depth,
				(unsigned long long)i);
			return 1;
		}
		if (bit_test(k->named, s)) {
			damaged(k, page_off(k, dirp) + i * 8,
				"index segment %llu is named twice, or lies "
				"over the directory",
				(unsigned long long)s);
			return 1;
		}
		for (uint64_t q = 0; q < PMS_SEG_PAGES; q++) {
			bit_set(k->named, s + q);
			bit_set(k->used, s + q);
		}
		if (seg_add(k, s, depth, prefix))
			return -1;
		i += span;
	}
	return 0;
}

/*
 * index_super -- the superblock pages' index words: the clean-close
 * record, the directory word (the deeper sane copy), the split log; then
 * the directory's structure
 */
static int
index_super(struct ck *k)
{
	static const char name[2] = {'A', 'B'};
	const struct pms_clean *ca = &k->spa->clean, *cb = &k->spb->clean;
	uint64_t d[2] = {k->spa->dir, k->spb->dir};
	int s[2], c;

	k->dirty = !(ca->check != 0 && ca->check == clean_check(ca) &&
		     memcmp(ca, cb, sizeof(*ca)) == 0);
	s[0] = dir_sane(k, d[0], 1);
	s[1] = dir_sane(k, d[1], 1);
	if (!s[0] && !s[1]) {
		unsigned g0 = PMS_DIR_DEPTH(d[0]), g1 = PMS_DIR_DEPTH(d[1]);

		damaged(k, SP_OFF(0, dir),
			"the index directory word is damaged in both "
			"superblock pages (0x%llx, 0x%llx)%s",
			(unsigned long long)d[0], (unsigned long long)d[1],
			dir_too_deep(k, g0 < g1 ? g0 : g1)
				? ": deeper than the segments below the "
				  "high-water mark can need"
				: "");
		return 0;
	}
	c = s[0] && s[1] ? PMS_DIR_DEPTH(d[1]) > PMS_DIR_DEPTH(d[0]) : s[1];
	k->dw = d[c];
	k->g = PMS_DIR_DEPTH(k->dw);
	k->nwords = 1ULL << k->g;
	k->ndir = dir_pages(k->g);
	if (d[0] != d[1])
		finding(k, PMEMSTORE_FINDING_INDEX, 1, SP_OFF(1 - c, dir),
			"the index directory word in superblock page %c "
			"(0x%llx) differs from page %c's (%s; REPAIR "
			"rewrites it)",
			name[1 - c], (unsigned long long)d[1 - c], name[c],
			s[1 - c] && PMS_DIR_DEPTH(d[1 - c]) < k->g
				? "a directory doubling cut short"
				: "damaged");
	split_log(k);
	if (k->rebuild || k->stop)
		return 0;
	if (walk_dir(k) < 0)
		return -1;
	return 0;
}

/* tab_find -- the object at loc, or NULL */
static struct obj *
tab_find(const struct ck *k, uint64_t loc)
{
	size_t h = (size_t)(loc * 0x9e3779b97f4a7c15ULL) & k->tabmask;

	for (; k->tab[h]; h = (h + 1) & k->tabmask)
		if (k->o[k->tab[h] - 1].loc == loc)
			return &k->o[k->tab[h] - 1];
	return NULL;
}

/* tab_build -- the table of objects by location */
static int
tab_build(struct ck *k)
{
	size_t cap = 16;

	while (cap < 2 * k->no)
		cap <<= 1;
	k->tab = calloc(cap, sizeof(*k->tab));
	if (k->tab == NULL) {
		k->nomem = 1;
		return pms_err(ENOMEM, "pool %s: out of memory", k->path);
	}
	k->tabmask = cap - 1;
	for (size_t i = 0; i < k->no; i++) {
		size_t h = (size_t)(k->o[i].loc * 0x9e3779b97f4a7c15ULL) &
			   k->tabmask;

		while (k->tab[h])
			h = (h + 1) & k->tabmask;
		k->tab[h] = i + 1;
	}
	return 0;
}

/* in_window -- is bucket b in one of hash h's two windows? */
static int
in_window(uint64_t h, unsigned b)
{
	return (b - PMS_HASH_B1(h)) % PMS_SEG_BUCKETS < PMS_WINDOW ||
	       (b - PMS_HASH_B2(h)) % PMS_SEG_BUCKETS < PMS_WINDOW;
}

/* rm_add -- an entry REPAIR zeroes */
static int
rm_add(struct ck *k, uint64_t off)
{
	if (grow(k, (void **)&k->rm, &k->caprm, k->nrm, sizeof(*k->rm)))
		return -1;
	k->rm[k->nrm++] = off;
	return 0;
}

/*
 * entries -- every entry of every segment: in place (names a verifying
 * header of its tag, in the segment's range, in a window of its hash)
 * makes an object; else it is stale, a split's leftover, or a second
 * entry of one object, all removed by REPAIR
 */
static int
entries(struct ck *k)
{
	for (size_t si = 0; si < k->nsg && !k->stop; si++) {
		const struct seg *s = &k->sg[si];
		const uint64_t *b =
			(const uint64_t *)(k->base + page_off(k, s->page));
		int pend = k->pend && s->page == k->pseg;

		for (unsigned i = 0; i < PMS_SEG_BUCKETS * PMS_BUCKET_ENTRIES;
		     i++) {
			uint64_t e = b[i], off = page_off(k, s->page) + i * 8;
			unsigned bk = i / PMS_BUCKET_ENTRIES;
			struct obj *o;
			const char *why = NULL;

			if (e == 0)
				continue;
			o = tab_find(k, PMS_ENTRY_LOC(e));
			if (o == NULL ||
			    PMS_HASH_TAG(o->hash) != PMS_ENTRY_TAG(e))
				why = o ? "names an object of another UUID"
					: "names no object";
			else if (s->depth &&
				 o->hash >> (64 - s->depth) != s->prefix) {
				if (pend) { /* the split's finish clears it */
					if (rm_add(k, off))
						return -1;
					continue;
				}
				why = "lies outside its segment's range (a "
				      "split's leftover)";
			} else if (!in_window(o->hash, bk))
				why = "lies outside its hash's windows";
			else if (o->nent)
				why = "names an object a second time";
			if (why) {
				finding(k, PMEMSTORE_FINDING_INDEX, 1, off,
					"index segment %llu bucket %u: entry "
					"0x%llx (location %llu) %s (stale; "
					"REPAIR removes it)",
					(unsigned long long)s->page, bk,
					(unsigned long long)e,
					(unsigned long long)PMS_ENTRY_LOC(e),
					why);
				if (rm_add(k, off))
					return -1;
				continue;
			}
			o->nent = 1;
		}
	}
	return 0;
}

/*
 * salvage -- before a rebuild, the entries a lookup of the library would
 * still find: the directory word the open takes (the deeper one that
 * names a whole directory, however deep), the word of each object's hash
 * (as a pending split leaves it), a segment within the pool, an entry of
 * the object's tag and place in one of its windows.  Such an object
 * exists for the library, bit or no bit, so the rebuild keeps it.  One
 * directory word and four buckets an object: O(objects).
 */
static void
salvage(struct ck *k)
{
	uint64_t d[2] = {k->spa->dir, k->spb->dir}, dw, saved = k->dw;
	int s0 = dir_sane(k, d[0], 0), s1 = dir_sane(k, d[1], 0);
	unsigned g, saved_g = k->g;

	if (!s0 && !s1)
		return; /* the open fails: it finds nothing */
	if (s0 && s1)
		dw = PMS_DIR_DEPTH(d[1]) > PMS_DIR_DEPTH(d[0]) ? d[1] : d[0];
	else
		dw = s0 ? d[0] : d[1];
	g = PMS_DIR_DEPTH(dw);
	k->dw = dw; /* dword() reads the directory of k->dw, depth k->g */
	k->g = g;
	for (size_t i = 0; i < k->no; i++) {
		struct obj *o = &k->o[i];
		uint64_t seg = dword(k, g ? o->hash >> (64 - g) : 0);
		uint64_t want = PMS_ENTRY(o->hash, o->loc);

		if (seg % PMS_SEG_PAGES || seg >= k->npages ||
		    k->npages - seg < PMS_SEG_PAGES)
			continue;
		const uint64_t *b =
			(const uint64_t *)(k->base + page_off(k, seg));

		for (unsigned w = 0; w < 2 * PMS_WINDOW && !o->nent; w++) {
			unsigned base = w < PMS_WINDOW ? PMS_HASH_B1(o->hash)
						       : PMS_HASH_B2(o->hash);
			unsigned bk = (base + w % PMS_WINDOW) % PMS_SEG_BUCKETS;

			for (unsigned e = 0; e < PMS_BUCKET_ENTRIES; e++)
				if (b[bk * PMS_BUCKET_ENTRIES + e] == want)
					o->nent = 1;
		}
	}
	k->dw = saved;
	k->g = saved_g;
}

/* uuid_eq -- do two objects have one UUID? */
static int
uuid_eq(const struct obj *a, const struct obj *b)
{
	return a->hash == b->hash && memcmp(a->uuid, b->uuid, 16) == 0;
}

/*
 * fates -- what each verifying header or record is: indexed (an object),
 * re-indexed by REPAIR (bit set, no entry, its UUID named by no other),
 * or dropped (its check zeroed); and no two objects share a UUID
 */
static int
fates(struct ck *k)
{
	size_t cap = 16, *t;

	while (cap < 2 * k->no)
		cap <<= 1;
	t = calloc(cap, sizeof(*t));
	if (t == NULL) {
		k->nomem = 1;
		return pms_err(ENOMEM, "pool %s: out of memory", k->path);
	}
	/* the objects first, then the headers with set bits, by UUID */
	for (int round = 0; round < 2 && !k->stop; round++) {
		for (size_t i = 0; i < k->no && !k->stop; i++) {
			struct obj *o = &k->o[i], *x = NULL;
			size_t h = (size_t)o->hash & (cap - 1);
			char u[37];

			if (round == 0 ? !o->nent : o->nent)
				continue;
			for (; t[h]; h = (h + 1) & (cap - 1))
				if (uuid_eq(&k->o[t[h] - 1], o)) {
					x = &k->o[t[h] - 1];
					break;
				}
			uuid_unparse_lower(o->uuid, u);
			if (round == 0) {
				o->fate = F_KEEP;
				if (x)
					finding(k, PMEMSTORE_FINDING_DUPLICATE,
						0, o->off,
						"UUID %s names two live "
						"objects, at offsets %llu and "
						"%llu",
						u, (unsigned long long)x->off,
						(unsigned long long)o->off);
				else
					t[h] = i + 1;
				if (!o->bit)
					finding(k, PMEMSTORE_FINDING_SLAB, 1,
						o->off,
						"the object at offset %llu "
						"exists (indexed) but its "
						"occupancy bit is clear (%s; "
						"REPAIR sets it)",
						(unsigned long long)o->off,
						k->dirty ? "crash residue"
							 : "the bitmap of a "
							   "clean pool lies");
				continue;
			}
			/*
			 * After a crash (dirty) with the index whole, a header
			 * without an entry is an allocation or free the crash
			 * cut short: it does not exist, and the library zeroes
			 * it when it checks the page; REPAIR does the same.
			 * Re-indexed only when the index itself is damaged
			 * (rebuild) or a clean pool lost the entry.
			 */
			if (!o->bit || (x && x->fate == F_KEEP) ||
			    (k->dirty && !k->rebuild)) {
				o->fate = F_DROP;
				finding(k, PMEMSTORE_FINDING_INCOMPLETE, 1,
					o->off,
					"the header or record at offset %llu "
					"verifies but no index entry names it "
					"and %s (a free or allocation cut "
					"short; REPAIR zeroes its check)",
					(unsigned long long)o->off,
					!o->bit ? "its bit is clear"
					: x	? "its UUID is live elsewhere"
						: "the pool was not closed "
						  "cleanly");
				continue;
			}
			if (x) {
				o->fate = F_DROP;
				finding(k, PMEMSTORE_FINDING_DUPLICATE, 0,
					o->off,
					"UUID %s: the headers or records at "
					"offsets %llu and %llu both verify "
					"with their bit set and no entry; "
					"cannot tell which to re-index",
					u, (unsigned long long)x->off,
					(unsigned long long)o->off);
				continue;
			}
			t[h] = i + 1;
			o->fate = F_REINDEX;
			if (!k->rebuild)
				finding(k, PMEMSTORE_FINDING_INDEX, 1, o->off,
					"the header or record at offset %llu "
					"verifies with its bit set but no "
					"index entry names it (%s; REPAIR "
					"re-indexes it)",
					(unsigned long long)o->off,
					k->dirty ? "an allocation cut short"
						 : "a lost entry");
		}
	}
	free(t);
	for (size_t i = 0; i < k->no; i++) {
		if (k->o[i].fate != F_KEEP)
			continue;
		k->live_objects++;
		k->live_bytes += k->o[i].size;
	}
	for (size_t i = 0; i < k->no; i++) {
		const struct obj *o = &k->o[i];

		if (o->fate == F_DROP)
			continue;
		bit_set(k->used, PMS_LOC_PAGE(o->loc));
	}
	return 0;
}

/* holder -- what already holds a page, for an overlap message */
static const char *
holder(const struct ck *k, uint64_t pg, uint64_t own_rpage)
{
	struct pms_desc d;

	if (bit_test(k->inrun, pg))
		return "already in another object's run";
	if (pg == own_rpage)
		return "its own record page";
	if (bit_test(k->named, pg))
		return "a page of the index";
	d = desc_at(k, pg);
	if (PMS_DESC_TYPE(d.w0) == PMS_DESC_BAD)
		return "a page marked BAD";
	if (PMS_DESC_SLAB_CLASS(d.w0) == PMS_CLASS_RECORD)
		return "a record page with live records";
	return "a slab page with live objects";
}

/*
 * walk_runs -- claim the pages of every live (or re-indexed) large
 * object's run.  A page some other object or the index holds is an
 * overlap; the run is not walked further (its rest is remembered so that
 * it is not reported as orphaned), which bounds the work by hwm + runs.
 * Every page after the first must carry TAIL(distance) with w1 = 0; open
 * rewrites the ones that do not.
 */
static int
walk_runs(struct ck *k)
{
	for (size_t i = 0; i < k->no && !k->stop; i++) {
		const struct obj *c = &k->o[i];
		uint64_t p = c->run, n = c->npages, bad = 0, fbad = 0;
		uint64_t rp = PMS_LOC_PAGE(c->loc);
		unsigned rs = PMS_LOC_SLOT(c->loc);

		if (n == 0 || c->fate == F_DROP)
			continue;
		for (uint64_t q = 0; q < n; q++) {
			uint64_t pg = p + q;
			struct pms_desc d;

			if (bit_test(k->used, pg)) {
				finding(k, PMEMSTORE_FINDING_OVERLAP, 0,
					desc_off(pg),
					"object of record page %llu slot %u: "
					"its run (pages %llu to %llu) overlaps "
					"page %llu, %s",
					(unsigned long long)rp, rs,
					(unsigned long long)p,
					(unsigned long long)(p + n - 1),
					(unsigned long long)pg,
					holder(k, pg, rp));
				if (grow(k, (void **)&k->rg, &k->caprg, k->nrg,
					 sizeof(*k->rg)))
					return -1;
				k->rg[k->nrg].lo = pg;
				k->rg[k->nrg].hi = p + n;
				k->nrg++;
				break;
			}
			bit_set(k->used, pg);
			bit_set(k->inrun, pg);
			if (q == 0)
				continue;
			d = desc_at(k, pg);
			if (d.w0 != PMS_DESC_TAIL_W0(q) || d.w1 != 0) {
				if (bad++ == 0)
					fbad = pg;
			}
		}
		if (bad)
			finding(k, PMEMSTORE_FINDING_RUN, 1, desc_off(fbad),
				"object of record page %llu slot %u (pages "
				"%llu to %llu): %llu TAIL descriptor%s missing "
				"or wrong, the first at page %llu (REPAIR "
				"rewrites them)",
				(unsigned long long)rp, rs,
				(unsigned long long)p,
				(unsigned long long)(p + n - 1),
				(unsigned long long)bad, bad == 1 ? "" : "s",
				(unsigned long long)fbad);
	}
	return 0;
}

/*
 * orphans -- report pages [lo, hi) whose run descriptors no object owns,
 * and remember them for REPAIR (an open frees TAILs, but takes a HEAD in
 * bounds for a run)
 */
static void
orphans(struct ck *k, uint64_t lo, uint64_t hi)
{
	if (grow(k, (void **)&k->orph, &k->caporph, k->norph,
		 sizeof(*k->orph)) == 0) {
		k->orph[k->norph].lo = lo;
		k->orph[k->norph].hi = hi;
		k->norph++;
	}
	if (hi - lo == 1)
		finding(k, PMEMSTORE_FINDING_ORPHAN, 1, desc_off(lo),
			"page %llu: HEAD/TAIL descriptor of no live "
			"object (REPAIR frees the page)",
			(unsigned long long)lo);
	else
		finding(k, PMEMSTORE_FINDING_ORPHAN, 1, desc_off(lo),
			"pages %llu to %llu: HEAD/TAIL descriptors of "
			"no live object (REPAIR frees the pages)",
			(unsigned long long)lo, (unsigned long long)(hi - 1));
}

/* range_cmp -- order unwalked run ranges by start */
static int
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/*
 * orphan_index -- an INDEX page the index in use does not hold: a
 * superseded or orphaned directory (open frees it), or a segment no
 * directory word names (REPAIR frees it); after a rebuild, REPAIR frees
 * every old index page
 */
static int
orphan_index(struct ck *k, uint64_t p)
{
	unsigned kind = PMS_DESC_INDEX_KIND(desc_at(k, p).w0);

	if (k->rebuild)
		return 0;
	if (kind == PMS_INDEX_DIR) {
		finding(k, PMEMSTORE_FINDING_ORPHAN, 1, desc_off(p),
			"page %llu: a directory page of the index that is not "
			"the one in use (superseded by a doubling; REPAIR "
			"frees it)",
			(unsigned long long)p);
		return 0;
	}
	if (p % PMS_SEG_PAGES != 0)
		return 0; /* reported with the segment's first page */
	finding(k, PMEMSTORE_FINDING_ORPHAN, 1, desc_off(p),
		"pages %llu to %llu: an index segment no directory word names "
		"(REPAIR frees it)",
		(unsigned long long)p,
		(unsigned long long)(p + PMS_SEG_PAGES - 1));
	if (grow(k, (void **)&k->oseg, &k->caposeg, k->noseg, sizeof(*k->oseg)))
		return -1;
	k->oseg[k->noseg++] = p;
	return 0;
}

/*
 * pass3 -- run descriptors that no live object owns, and
 * index pages the index does not hold (empty slab pages are free pages:
 * a clean pool keeps them)
 */
static int
pass3(struct ck *k)
{
	uint64_t olo = 0, maxhi = 0;
	int inorph = 0;
	size_t ri = 0;

	if (k->nrg > 1)
		qsort(k->rg, k->nrg, sizeof(*k->rg), range_cmp);
	for (uint64_t p = 0; p < k->hwm && !k->stop && !k->ioerr; p++) {
		int orphan = 0;

		if (bit_test(k->isidx, p) && !bit_test(k->named, p) &&
		    orphan_index(k, p))
			return -1;
		if (!bit_test(k->used, p)) {
			unsigned t = PMS_DESC_TYPE(desc_at(k, p).w0);

			for (; ri < k->nrg && k->rg[ri].lo <= p; ri++)
				if (k->rg[ri].hi > maxhi)
					maxhi = k->rg[ri].hi;
			/* VOLATILE: the volatile heap's, free (layout.h) */
			orphan = (t == PMS_DESC_HEAD || t == PMS_DESC_TAIL) &&
				 p >= maxhi;
		}
		if (orphan && !inorph) {
			olo = p;
			inorph = 1;
		} else if (!orphan && inorph) {
			orphans(k, olo, p);
			inorph = 0;
		}
	}
	if (inorph)
		orphans(k, olo, k->hwm);
	return 0;
}

/*
 * clean_counts -- a clean-close record that verifies must count what
 * exists: objects and bytes
 */
static void
clean_counts(struct ck *k)
{
	const struct pms_clean *c = &k->spa->clean;

	if (k->dirty || k->rebuild)
		return;
	if (c->objects == k->live_objects && c->bytes == k->live_bytes)
		return;
	finding(k, PMEMSTORE_FINDING_SUPERBLOCK, 1, SP_OFF(0, clean),
		"the clean-close record counts %llu objects of %llu bytes, "
		"the index holds %llu of %llu (REPAIR invalidates the record: "
		"the next open counts)",
		(unsigned long long)c->objects, (unsigned long long)c->bytes,
		(unsigned long long)k->live_objects,
		(unsigned long long)k->live_bytes);
}

/* ---- a rebuilt index ---- */

/* window_slot -- a free entry in hash h's emptier window of buckets b */
static uint64_t *
window_slot(uint64_t *b, uint64_t h)
{
	uint64_t *free[2] = {NULL, NULL};
	unsigned nfree[2] = {0, 0};

	for (unsigned w = 0; w < 2 * PMS_WINDOW; w++) {
		unsigned base =
			w < PMS_WINDOW ? PMS_HASH_B1(h) : PMS_HASH_B2(h);
		unsigned bk = (base + w % PMS_WINDOW) % PMS_SEG_BUCKETS;

		for (unsigned i = 0; i < PMS_BUCKET_ENTRIES; i++) {
			uint64_t *e = &b[bk * PMS_BUCKET_ENTRIES + i];

			if (*e != 0)
				continue;
			if (free[w / PMS_WINDOW] == NULL)
				free[w / PMS_WINDOW] = e;
			nfree[w / PMS_WINDOW]++;
		}
	}
	return nfree[1] > nfree[0] ? free[1] : free[0];
}

/* avail -- may a rebuild take page p (free, or the old index's)? */
static int
avail(const struct ck *k, uint64_t p, int old)
{
	uint64_t w0 = desc_at(k, p).w0;

	if (w0 == 0 || w0 == PMS_DESC_VOLATILE)
		return !bit_test(k->used, p) && !bit_test(k->named, p);
	return old && bit_test(k->isidx, p) && !bit_test(k->used, p);
}

/* ord_cmp -- order objects to index by hash (qsort_r: the objects) */
static int
ord_cmp(const void *a, const void *b, void *arg)
{
	const struct obj *o = arg;
	uint64_t x = o[*(const size_t *)a].hash, y = o[*(const size_t *)b].hash;

	return x < y ? -1 : x > y;
}

/*
 * seg_fill -- the entries of segment s of a rebuilt index of depth g, in
 * the zeroed buckets b: the objects of rb_ord from *pos whose hash starts
 * with s, each in its emptier window, in rb_ord's order (so a plan and
 * the write that follows it place every entry alike); *pos moves past
 * them.  -1 when a window overflows.
 */
static int
seg_fill(struct ck *k, unsigned g, uint64_t s, size_t *pos, uint64_t *b)
{
	for (; *pos < k->rb_n; (*pos)++) {
		const struct obj *o = &k->o[k->rb_ord[*pos]];
		uint64_t *e;

		if ((g ? o->hash >> (64 - g) : 0) != s)
			break;
		e = window_slot(b, o->hash);
		if (e == NULL)
			return -1;
		*e = PMS_ENTRY(o->hash, o->loc);
	}
	return 0;
}

/*
 * plan_rebuild -- a new index holding every object kept or re-indexed:
 * 2^G segments of depth G (a quarter full at first, deeper until every
 * UUID finds room in its windows, at most 2^REBUILD_MAX_DEPTH segments),
 * and free pages below the mark for them and the directory (old: the old
 * index's pages may be taken too).  Memory: the objects' order and one
 * segment's buffer; the entries themselves are placed again, in the same
 * order, by write_rebuild.  0; 1: no room; 2: deeper than the limit;
 * -1: out of memory.
 */
static int
plan_rebuild(struct ck *k, int old)
{
	uint64_t per = PMS_SEG_BUCKETS * PMS_BUCKET_ENTRIES;
	unsigned g = 0;

	free(k->rb_ord);
	k->rb_ord = malloc((k->no ? k->no : 1) * sizeof(*k->rb_ord));
	if (k->rb_buf == NULL)
		k->rb_buf = malloc(per * sizeof(uint64_t));
	if (k->rb_ord == NULL || k->rb_buf == NULL) {
		k->nomem = 1;
		return -1;
	}
	k->rb_n = 0;
	for (size_t i = 0; i < k->no; i++)
		if (k->o[i].fate != F_DROP)
			k->rb_ord[k->rb_n++] = i;
	qsort_r(k->rb_ord, k->rb_n, sizeof(*k->rb_ord), ord_cmp, k->o);
	while (g < REBUILD_MAX_DEPTH && (per << g) / 4 < k->rb_n)
		g++;
	for (;; g++) {
		uint64_t nseg = 1ULL << g, i, s;
		size_t pos = 0;

		if (g > REBUILD_MAX_DEPTH)
			return 2;
		for (s = 0; s < nseg && pos < k->rb_n; s++) {
			memset(k->rb_buf, 0, per * sizeof(uint64_t));
			if (seg_fill(k, g, s, &pos, k->rb_buf))
				break;
		}
		if (pos < k->rb_n)
			continue; /* a window overflowed: twice the segments */
		k->rg_depth = g;
		free(k->rb_seg);
		k->rb_seg = malloc(nseg * sizeof(uint64_t));
		if (k->rb_seg == NULL) {
			k->nomem = 1;
			return -1;
		}
		/* segments: aligned groups of four available pages */
		i = 0;
		for (uint64_t p = 0; p + PMS_SEG_PAGES <= k->hwm && i < nseg;
		     p += PMS_SEG_PAGES) {
			uint64_t q = 0;

			while (q < PMS_SEG_PAGES && avail(k, p + q, old))
				q++;
			if (q == PMS_SEG_PAGES)
				k->rb_seg[i++] = p;
		}
		if (i < nseg)
			return 1;
		/* the directory: a run of free pages the segments left */
		uint64_t nd = dir_pages(g), run = 0;

		size_t si = 0;

		for (uint64_t p = 0; p < k->hwm; p++) {
			/* the segments' pages (ascending) are taken */
			while (si < nseg && k->rb_seg[si] + PMS_SEG_PAGES <= p)
				si++;
			if (si < nseg && k->rb_seg[si] <= p) {
				run = 0;
				continue;
			}
			run = avail(k, p, old) ? run + 1 : 0;
			if (run == nd) {
				k->rb_dir = p + 1 - nd;
				return 0;
			}
		}
		return 1;
	}
}

/* ---- REPAIR's own writes ---- */

/* the pool mapped for writing, and how its stores are made durable */
struct wr {
	uint8_t *base;
	size_t len;
	int is_pmem;
};

/* wflush -- write back a range (pmem: flush; else msync, durable) */
static int
wflush(struct wr *w, const void *addr, size_t len)
{
	if (w->is_pmem) {
		pmem_flush(addr, len);
		return 0;
	}
	return pmem_msync(addr, len);
}

/* wdrain -- the fence after flushes */
static void
wdrain(struct wr *w)
{
	if (w->is_pmem)
		pmem_drain();
}

/* wst -- one aligned 8-byte store at a pool offset, flushed */
static int
wst(struct wr *w, uint64_t off, uint64_t v)
{
	uint64_t *p = (uint64_t *)(w->base + off);

	__atomic_store_n(p, v, __ATOMIC_RELAXED);
	return wflush(w, p, 8);
}

/* wdesc -- both words of page p's descriptor */
static int
wdesc(struct wr *w, uint64_t p, uint64_t w0, uint64_t w1)
{
	return wst(w, desc_off(p) + 8, w1) || wst(w, desc_off(p), w0);
}

/*
 * finish_split -- the split the log decided, as the library's open does:
 * the twin's descriptors, the segment's depth, the directory's upper half
 * (flushed, fence); then the entries that do not stay in the segment out
 * (those of the upper half, and those of no object); the log's check
 * zeroed (flushed, fence).  Every step is idempotent.
 */
static int
finish_split(struct ck *k, struct wr *w)
{
	uint64_t lo = k->pprefix << (k->g - k->pdepth);
	uint64_t half = 1ULL << (k->g - k->pdepth - 1);
	uint64_t dir = page_off(k, PMS_DIR_PAGE(k->dw)), so;
	unsigned d = k->pdepth;

	for (uint64_t i = 0; i < PMS_SEG_PAGES; i++)
		if (wdesc(w, k->ptwin + i, PMS_DESC_INDEX_W0(PMS_INDEX_SEG, i),
			  i ? 0 : PMS_SEG_W1(d + 1, k->pprefix << 1 | 1)))
			return -1;
	if (wst(w, desc_off(k->pseg) + 8, PMS_SEG_W1(d + 1, k->pprefix << 1)))
		return -1;
	for (uint64_t i = 0; i < half; i++)
		if (wst(w, dir + (lo + half + i) * 8, k->ptwin))
			return -1;
	wdrain(w);
	so = page_off(k, k->pseg);
	for (unsigned i = 0; i < PMS_SEG_BUCKETS * PMS_BUCKET_ENTRIES; i++) {
		uint64_t e = *(uint64_t *)(w->base + so + i * 8), h;
		struct obj *o;

		if (e == 0)
			continue;
		int ok = 1;

		o = tab_find(k, PMS_ENTRY_LOC(e));
		if (d < PMS_TAG_BITS)
			h = PMS_ENTRY_TAG(e) << (64 - PMS_TAG_BITS);
		else if (o && PMS_HASH_TAG(o->hash) == PMS_ENTRY_TAG(e))
			h = o->hash;
		else
			ok = 0;
		if (ok && (d == 0 || h >> (64 - d) == k->pprefix) &&
		    ((h >> (63 - d)) & 1) == 0)
			continue; /* stays */
		if (wst(w, so + i * 8, 0))
			return -1;
	}
	if (wst(w, SP_OFF(0, split) + 24, 0))
		return -1;
	wdrain(w);
	return 0;
}

/*
 * write_rebuild -- the planned index: the segments' entries and the
 * directory in pages nothing else uses, with their descriptors, flushed,
 * fence; then the directory word in both superblock pages and the split
 * log's check zeroed, fence; then the old index's pages freed, fence.  A
 * crash before the second fence leaves the old directory word (the new
 * pages: an orphan directory the open frees and orphan segments a check
 * reports); after it, the new index; after the third, the old pages'
 * descriptors are orphans a new REPAIR frees.
 */
static int
write_rebuild(struct ck *k, struct wr *w)
{
	unsigned g = k->rg_depth;
	uint64_t nseg = 1ULL << g, nd = dir_pages(g);
	uint64_t per = PMS_SEG_BUCKETS * PMS_BUCKET_ENTRIES;
	uint64_t *dir = (uint64_t *)(w->base + page_off(k, k->rb_dir));

	size_t pos = 0;

	for (uint64_t s = 0; s < nseg; s++) {
		uint8_t *p = w->base + page_off(k, k->rb_seg[s]);

		memset(p, 0, per * 8);
		if (seg_fill(k, g, s, &pos, (uint64_t *)p))
			return pms_err(EUCLEAN,
				       "pool %s: REPAIR: the rebuilt index "
				       "does not place as planned",
				       k->path);
		if (wflush(w, p, per * 8))
			return -1;
		for (uint64_t i = 0; i < PMS_SEG_PAGES; i++)
			if (wdesc(w, k->rb_seg[s] + i,
				  PMS_DESC_INDEX_W0(PMS_INDEX_SEG, i),
				  i ? 0 : PMS_SEG_W1(g, s)))
				return -1;
	}
	memset(dir, 0, nd * PMS_PAGE_SIZE);
	for (uint64_t s = 0; s < nseg; s++)
		dir[s] = k->rb_seg[s];
	if (wflush(w, dir, nd * PMS_PAGE_SIZE))
		return -1;
	for (uint64_t i = 0; i < nd; i++)
		if (wdesc(w, k->rb_dir + i, PMS_DESC_INDEX_W0(PMS_INDEX_DIR, i),
			  i ? 0 : nd))
			return -1;
	wdrain(w); /* the new index is whole before it is named */
	for (int c = 0; c < 2; c++)
		if (wst(w, SP_OFF(c, dir), PMS_DIR_WORD(k->rb_dir, g)))
			return -1;
	if (wst(w, SP_OFF(0, split) + 24, 0))
		return -1;
	wdrain(w); /* the pool's index is the new one */
	for (uint64_t p = 0; p < k->hwm; p++) {
		size_t lo = 0, hi = nseg;

		if (!bit_test(k->isidx, p) ||
		    (p >= k->rb_dir && p < k->rb_dir + nd))
			continue;
		while (lo < hi) { /* the last new segment at or below p */
			size_t mid = (lo + hi) / 2;

			if (k->rb_seg[mid] <= p)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && p < k->rb_seg[lo - 1] + PMS_SEG_PAGES)
			continue; /* a page of the new index */
		if (wdesc(w, p, 0, 0))
			return -1;
	}
	wdrain(w);
	return 0;
}

/*
 * seg_of -- the segment a hash falls in, in the directory as the check
 * read it (a pending split finished)
 */
static uint64_t
seg_of(const struct ck *k, uint64_t h)
{
	return dword(k, k->g ? h >> (64 - k->g) : 0);
}

/*
 * repair_index -- REPAIR's writes before the library's open: the
 * clean-close record invalidated (fence: from here on every open after a
 * crash checks every slab page); orphaned run descriptors zeroed and
 * live runs' TAILs rewritten (fence); then either the index rebuilt
 * (write_rebuild), or a pending split finished, stale entries zeroed,
 * missing entries stored in their windows (flushed; one fence), orphan
 * segments freed (fence).  An object whose entry finds no room makes it a
 * rebuild.  Each step leaves a pool a new REPAIR finishes.
 */
static int
repair_index(struct ck *k, int fd)
{
	struct wr w;
	int ret = -1;

	w.len = k->map_len;
	w.base = mmap(NULL, w.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w.base == MAP_FAILED)
		return pms_err(errno, "pool %s: cannot map for REPAIR: %s",
			       k->path, strerror(errno));
	w.is_pmem = pmem_is_pmem(w.base, w.len);
	for (int c = 0; c < 2; c++)
		if (wst(&w, SP_OFF(c, clean) + 24, 0))
			goto out;
	wdrain(&w); /* dirty: the bitmaps are hints from here on */
	for (size_t i = 0; i < k->norph; i++)
		for (uint64_t p = k->orph[i].lo; p < k->orph[i].hi; p++)
			if (wdesc(&w, p, 0, 0))
				goto out;
	/* a live run's TAILs (the open takes a HEAD inside a run as damage) */
	for (size_t i = 0; i < k->no; i++) {
		const struct obj *o = &k->o[i];

		if (o->fate == F_DROP)
			continue;
		for (uint64_t q = 1; q < o->npages; q++) {
			struct pms_desc d = desc_at(k, o->run + q);

			if ((d.w0 != PMS_DESC_TAIL_W0(q) || d.w1 != 0) &&
			    wdesc(&w, o->run + q, PMS_DESC_TAIL_W0(q), 0))
				goto out;
		}
	}
	wdrain(&w);
	if (k->rebuild) {
		if (write_rebuild(k, &w))
			goto out;
		ret = 0;
		goto out;
	}
	if (k->pend && finish_split(k, &w))
		goto out;
	for (size_t i = 0; i < k->nrm; i++)
		if (wst(&w, k->rm[i], 0))
			goto out;
	for (size_t i = 0; i < k->no; i++) {
		const struct obj *o = &k->o[i];
		uint64_t s, *e;

		if (o->fate != F_REINDEX)
			continue;
		s = seg_of(k, o->hash);
		e = window_slot((uint64_t *)(w.base + page_off(k, s)), o->hash);
		if (e == NULL) {
			/* no room: the whole index anew, in free pages */
			wdrain(&w);
			int r = plan_rebuild(k, 0);

			if (r < 0) {
				pms_err(ENOMEM, "pool %s: out of memory",
					k->path);
				goto out;
			}
			if (r > 0) {
				pms_err(r == 1 ? ENOSPC : EUCLEAN,
					"pool %s: REPAIR: no room to re-index "
					"an object, and %s",
					k->path,
					r == 1 ? "too few free pages to "
						 "rebuild the index"
					       : "a rebuilt index would need "
						 "more segments than a "
						 "rebuild makes");
				goto out;
			}
			k->rebuild = 1;
			ret = write_rebuild(k, &w);
			goto out;
		}
		__atomic_store_n(e, PMS_ENTRY(o->hash, o->loc),
				 __ATOMIC_RELAXED);
		if (wflush(&w, e, 8))
			goto out;
	}
	wdrain(&w);
	for (size_t i = 0; i < k->noseg; i++)
		for (uint64_t q = 0; q < PMS_SEG_PAGES; q++)
			if (wdesc(&w, k->oseg[i] + q, 0, 0))
				goto out;
	wdrain(&w);
	ret = 0;
out:
	munmap(w.base, w.len);
	return ret;
}

/* ck_fini -- release what a check allocated */
static void
ck_fini(struct ck *k)
{
	if (k->base)
		munmap((void *)k->base, k->map_len);
	k->base = NULL;
	free(k->used);
	free(k->inrun);
	free(k->isidx);
	free(k->named);
	free(k->spa);
	free(k->spb);
	free(k->o);
	free(k->tab);
	free(k->sg);
	free(k->rm);
	free(k->oseg);
	free(k->rg);
	free(k->orph);
	free(k->rb_seg);
	free(k->rb_ord);
	free(k->rb_buf);
	pms_device_fini(&k->dev);
	for (size_t i = 0; i < k->nsv; i++)
		free(k->sv[i].msg);
	free(k->sv);
	k->used = k->inrun = k->isidx = k->named = NULL;
	k->spa = k->spb = NULL;
	k->o = NULL;
	k->tab = NULL;
	k->sg = NULL;
	k->rm = k->oseg = k->rb_seg = k->rb_buf = NULL;
	k->rb_ord = NULL;
	k->rg = k->orph = NULL;
	k->sv = NULL;
	k->nsv = 0;
}

/*
 * passes -- the check proper, once the superblock is known: the index's
 * words and directory, the descriptors and slab pages, the entries, what
 * exists, the runs, the orphans, the clean-close record; a rebuild's plan
 */
static int
passes(struct ck *k)
{
	size_t words = k->hwm / 64 + 1;
	int r;

	k->used = calloc(words, sizeof(uint64_t));
	k->inrun = calloc(words, sizeof(uint64_t));
	k->isidx = calloc(words, sizeof(uint64_t));
	k->named = calloc(words, sizeof(uint64_t));
	k->spa = malloc(PMS_PAGE_SIZE);
	k->spb = malloc(PMS_PAGE_SIZE);
	if (k->used == NULL || k->inrun == NULL || k->isidx == NULL ||
	    k->named == NULL || k->spa == NULL || k->spb == NULL) {
		k->nomem = 1;
		return pms_err(ENOMEM, "pool %s: out of memory", k->path);
	}
	memcpy(k->spa, k->base + PMS_SB_A_OFF, PMS_PAGE_SIZE);
	memcpy(k->spb, k->base + PMS_SB_B_OFF, PMS_PAGE_SIZE);
	if (index_super(k) || k->stop || pass1(k) || k->stop || tab_build(k))
		return -1;
	if (!k->rebuild && (entries(k) || k->stop))
		return -1;
	if (k->rebuild)
		salvage(k);
	if (fates(k) || k->stop || walk_runs(k) || k->stop || pass3(k) ||
	    k->stop)
		return -1;
	clean_counts(k);
	if (!k->rebuild)
		return 0;
	r = plan_rebuild(k, 1);
	if (r < 0)
		return pms_err(ENOMEM, "pool %s: out of memory", k->path);
	if (r == 1)
		finding(k, PMEMSTORE_FINDING_INDEX, 0, SP_OFF(0, dir),
			"the index cannot be rebuilt: too few free pages below "
			"the high-water mark for its segments and directory");
	if (r == 2)
		finding(k, PMEMSTORE_FINDING_INDEX, 0, SP_OFF(0, dir),
			"the index cannot be rebuilt: its %llu objects need "
			"more than 2^%u segments, the most a rebuild makes",
			(unsigned long long)k->rb_n, REBUILD_MAX_DEPTH);
	return 0;
}

static void media(struct ck *k);

/*
 * guarded_passes -- check_super and the passes under the SIGBUS guard: a
 * media error reading the mapping is a MEDIA finding that ends the check.
 * Nonzero: nothing more to do.
 */
static int
guarded_passes(struct ck *k)
{
	struct pms_guard g;

	pms_guard_push(&g, k->base, k->map_len);
	if (sigsetjmp(g.env, 0)) {
		uint64_t off = g.addr - (uintptr_t)k->base;

		pms_guard_failed(&g, k->path, k->base, "checking the pool");
		finding(k, PMEMSTORE_FINDING_MEDIA, 0, off,
			"a media error (SIGBUS) at pool offset %llu; the "
			"check stopped there",
			(unsigned long long)off);
		return 1;
	}
	if (check_super(k) || k->stop) {
		pms_guard_pop(&g);
		return 1;
	}
	(void)passes(k);
	if (!k->stop && !k->nomem)
		media(k);
	pms_guard_pop(&g);
	return 0;
}

/* bad_at -- the first bad byte in pool bytes [off, +len), or UINT64_MAX */
static uint64_t
bad_at(const struct ck *k, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < k->dev.nbad; i++) {
		const struct pms_range *r = &k->dev.bad[i];

		if (r->off >= off + len)
			break;
		if (r->off + r->len > off)
			return r->off > off ? r->off : off;
	}
	return UINT64_MAX;
}

/*
 * media -- the device's bad blocks against what the pool holds: an object
 * (header, record or data) on one is lost (not repairable: its data is
 * gone; freeing it is the remedy), and so is metadata on one.  A bad
 * block over free pages is no finding: open withholds them.
 */
static void
media(struct ck *k)
{
	uint64_t meta = PMS_DESC_OFF + k->hwm * sizeof(struct pms_desc), at;
	char u[37];

	if (k->dev.nbad == 0)
		return;
	at = bad_at(k, 0, meta);
	if (at != UINT64_MAX)
		finding(k, PMEMSTORE_FINDING_MEDIA, 0, at,
			"a bad block at pool offset %llu lies in the "
			"superblocks or descriptors",
			(unsigned long long)at);
	for (size_t i = 0; i < k->no && !k->stop; i++) {
		const struct obj *o = &k->o[i];
		uint64_t p = PMS_LOC_PAGE(o->loc), data, hlen = PMS_HDR_SIZE;

		if (o->fate == F_DROP)
			continue;
		if (o->npages) {
			data = page_off(k, o->run);
			hlen = PMS_RECORD_SIZE;
		} else {
			unsigned cls = PMS_DESC_SLAB_CLASS(desc_at(k, p).w0);

			if (cls >= PMS_NCLASSES)
				continue;
			data = page_off(k, p) + ck_classes[cls].data_off +
			       (uint64_t)PMS_LOC_SLOT(o->loc) *
				       ck_classes[cls].size;
		}
		at = bad_at(k, data, o->size);
		if (at == UINT64_MAX)
			at = bad_at(k, o->off, hlen);
		if (at == UINT64_MAX)
			continue;
		uuid_unparse(o->uuid, u);
		k->media_obj = 1;
		finding(k, PMEMSTORE_FINDING_MEDIA, 0, at,
			"object %s lies on a bad block at pool offset %llu: "
			"its data is lost (persist_get fails with EIO; free "
			"it)",
			u, (unsigned long long)at);
		k->media_obj = 0;
	}
}

/*
 * check_fd -- the full check of the locked file fd.  Returns 0 when the
 * check ran (findings or not), -1 with errno on an environmental failure.
 * A media error while the check reads the mapping (SIGBUS) or the file
 * (EIO) ends it with a MEDIA finding.
 */
static int
check_fd(struct ck *k, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return pms_err(errno, "pool %s: cannot stat: %s", k->path,
			       strerror(errno));
	if (S_ISDIR(st.st_mode))
		return pms_err(EISDIR, "pool %s: is a directory", k->path);
	k->fd = S_ISREG(st.st_mode) ? fd : -1;
	if (S_ISREG(st.st_mode))
		k->fsize = (uint64_t)st.st_size;
	else if (!S_ISCHR(st.st_mode))
		return pms_err(EINVAL,
			       "pool %s: neither a regular file nor a "
			       "device-dax node",
			       k->path);
	else if (pms_devdax_size(k->path, &st, &k->fsize))
		return -1;
	if (k->fsize < 2 * PMS_PAGE_SIZE) {
		check_super(k); /* reports the file as too small */
		return 0;
	}
	if (k->fsize > SIZE_MAX)
		return pms_err(EFBIG, "pool %s: too large to map", k->path);
	void *m = mmap(NULL, (size_t)k->fsize, PROT_READ, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		return pms_err(errno, "pool %s: cannot map: %s", k->path,
			       strerror(errno));
	k->base = m;
	k->map_len = (size_t)k->fsize;
	if (pms_media_seam(k->path, m, k->map_len) ||
	    pms_device_ranges(k->path, fd, &st, k->fsize, &k->dev))
		return -1;
	if (guarded_passes(k))
		return 0;
	if (!k->nomem && !k->ioerr && !k->stop && k->buffer && k->n &&
	    k->n == k->nrep && repair_index(k, fd))
		return -1;
	if (k->nomem)
		return pms_err(ENOMEM, "pool %s: out of memory", k->path);
	if (k->ioerr == EIO) {
		finding(k, PMEMSTORE_FINDING_MEDIA, 0, k->ioerr_off,
			"the device cannot read pool offset %llu (a media "
			"error); the check stopped there",
			(unsigned long long)k->ioerr_off);
		k->ioerr = 0;
		return 0;
	}
	if (k->ioerr)
		return pms_err(k->ioerr, "pool %s: cannot read: %s", k->path,
			       strerror(k->ioerr));
	return 0;
}

/*
 * pms_check_held -- the full check (no repair) of a pool whose file this
 * process holds locked (an open that found an unsafe shutdown): counts,
 * the MEDIA findings among them, and the first not repairable.  0 or -1.
 */
int
pms_check_held(const char *path, int fd, uint64_t *n, uint64_t *nrep,
	       uint64_t *nmedia, char *first, size_t len)
{
	struct ck k;
	int ret;

	memset(&k, 0, sizeof(k));
	k.path = path;
	ret = check_fd(&k, fd);
	*n = k.n;
	*nrep = k.nrep;
	*nmedia = k.nmedia;
	snprintf(first, len, "%s", k.first_bad);
	ck_fini(&k);
	return ret;
}

/*
 * check_path -- open and lock the pool (shared for a plain check,
 * exclusive for REPAIR, both non-blocking like pmemstore_open) and check
 */
static int
check_path(struct ck *k, int exclusive)
{
	int fd, ret;

	fd = open(k->path, (exclusive ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (err == EISDIR)
			return pms_err(EISDIR, "pool %s: is a directory",
				       k->path);
		return pms_err(err, "pool %s: cannot open: %s", k->path,
			       strerror(err));
	}
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		int err = errno;

		close(fd);
		if (err == EWOULDBLOCK)
			return pms_err(
				EWOULDBLOCK,
				"pool %s: in use (open in this or another "
				"process); pmemstore_check needs a closed pool",
				k->path);
		return pms_err(err, "pool %s: cannot lock: %s", k->path,
			       strerror(err));
	}
	if (pms_media_acquire()) {
		close(fd);
		return -1;
	}
	ret = check_fd(k, fd);
	pms_media_release();
	if (k->base) {
		munmap((void *)k->base, k->map_len);
		k->base = NULL;
	}
	close(fd); /* drops the lock */
	return ret;
}

/* report_saved -- hand kept findings to the callback */
static void
report_saved(struct ck *k, int repaired)
{
	for (size_t i = 0; i < k->nsv && k->report && !k->stop; i++) {
		struct pmemstore_finding f = {k->sv[i].kind,
					      k->sv[i].repairable,
					      repaired && k->sv[i].repairable,
					      k->sv[i].offset, k->sv[i].msg};
		int r = k->report(&f, k->arg);

		if (r) {
			k->stop = 1;
			k->cbret = r;
		}
	}
}

/* conclude -- the return value and message of a check that ran */
static int
conclude(struct ck *k)
{
	if (k->stop)
		return pms_err(ECANCELED,
			       "pool %s: the report callback returned %d; the "
			       "check stopped after %llu finding%s",
			       k->path, k->cbret, (unsigned long long)k->n,
			       k->n == 1 ? "" : "s");
	if (k->n == 0)
		return 0;
	return pms_err(k->fatal ? k->fatal : EUCLEAN,
		       "pool %s: %llu finding%s (%llu repairable); first: %s",
		       k->path, (unsigned long long)k->n, k->n == 1 ? "" : "s",
		       (unsigned long long)k->nrep, k->first);
}

/*
 * repair -- make the crash repairs: pmemstore_open runs recovery (which
 * fixes every repairable descriptor and slab finding, all-or-nothing and
 * idempotent) and restores a bad superblock copy from the good one; then
 * a mark word out of bounds is set to the mark open uses.
 *
 * Commit protocol of that last write: one aligned 8-byte store per bad
 * word, flushed, one fence.  A crash before the fence leaves the old word
 * or the new one; open clamps the old one to the same effective mark, so
 * either is a consistent pool, and a new REPAIR finishes the job.  The
 * mark is only ever set to the value open already uses, so no descriptor
 * becomes visible or hidden by it.
 *
 * The check's lock is released before pmemstore_open takes its own: a
 * process that opens the pool in between makes the open fail with
 * EWOULDBLOCK (or, if it also closed it, has run the same recovery); the
 * second check decides in every case.
 */
static int
repair(struct ck *k)
{
	struct pmemstore *ps = pmemstore_open(k->path, 0);
	char msg[MSG_MAX];

	if (ps == NULL) {
		int err = errno;

		if (err == EWOULDBLOCK || err == EACCES || err == ENOENT ||
		    err == ENOMEM || err == EROFS)
			return -1;
		snprintf(msg, sizeof(msg), "%s", pmemstore_errormsg());
		return pms_err(EUCLEAN,
			       "pool %s: REPAIR: the pool did not open for "
			       "recovery (%s)",
			       k->path, msg);
	}
	int fixed = 0;

	for (int c = 0; c < 2; c++) {
		if (!k->hwm_bad[c])
			continue;
		__atomic_store_n(&ps->sbp[c]->hwm, ps->pages.hwm,
				 __ATOMIC_RELAXED);
		if (pms_flush(ps, &ps->sbp[c]->hwm, 8)) {
			int err = errno;

			pmemstore_close(ps);
			errno = err;
			return -1;
		}
		fixed = 1;
	}
	if (fixed)
		pms_drain(ps);
	pmemstore_close(ps);
	return 0;
}

/* pmemstore_check_report -- public: check (and repair) a closed pool */
int
pmemstore_check_report(const char *path, unsigned flags,
		       int (*report)(const struct pmemstore_finding *f,
				     void *arg),
		       void *arg)
{
	struct ck k, k2;
	int ret;

	if (path == NULL)
		return pms_err(EINVAL, "pool path is NULL");
	if (flags & ~PMEMSTORE_CHECK_REPAIR)
		return pms_err(EINVAL, "pool %s: unknown check flags 0x%x",
			       path, flags & ~PMEMSTORE_CHECK_REPAIR);
	memset(&k, 0, sizeof(k));
	k.path = path;
	k.report = report;
	k.arg = arg;
	k.buffer = !!(flags & PMEMSTORE_CHECK_REPAIR);
	if (check_path(&k, k.buffer)) {
		ck_fini(&k);
		return -1;
	}
	if (!k.buffer || k.n == 0 || k.stop) {
		ret = conclude(&k);
		ck_fini(&k);
		return ret;
	}
	/* REPAIR: only when every finding is repairable */
	if (k.n != k.nrep) {
		report_saved(&k, 0);
		if (k.stop)
			ret = conclude(&k);
		else
			ret = pms_err(k.fatal ? k.fatal : EUCLEAN,
				      "pool %s: %llu finding%s, %llu not "
				      "repairable: REPAIR refused, nothing "
				      "was written; first not repairable: %s",
				      path, (unsigned long long)k.n,
				      k.n == 1 ? "" : "s",
				      (unsigned long long)(k.n - k.nrep),
				      k.first_bad);
		ck_fini(&k);
		return ret;
	}
	if (repair(&k)) {
		int err = errno;

		ck_fini(&k);
		errno = err;
		return -1;
	}
	/* the repaired pool must now check clean */
	memset(&k2, 0, sizeof(k2));
	k2.path = path;
	k2.buffer = 1;
	if (check_path(&k2, 1)) {
		ck_fini(&k2);
		ck_fini(&k);
		return -1;
	}
	if (k2.n != 0) {
		report_saved(&k, 0);
		ret = pms_err(EUCLEAN,
			      "pool %s: REPAIR left %llu of %llu finding%s "
			      "(please report: a finding was classified "
			      "repairable that recovery does not fix); first: "
			      "%s",
			      path, (unsigned long long)k2.n,
			      (unsigned long long)k.n, k.n == 1 ? "" : "s",
			      k2.first);
	} else {
		report_saved(&k, 1);
		ret = k.stop ? conclude(&k) : 0;
	}
	ck_fini(&k2);
	ck_fini(&k);
	return ret;
}

/* pmemstore_check -- public: pmemstore_check_report without a callback */
int
pmemstore_check(const char *path, unsigned flags)
{
	return pmemstore_check_report(path, flags, NULL, NULL);
}
