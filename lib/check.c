/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.c -- owns pmemstore_check: the offline structural check and repair
 * of a pool that is not open.
 *
 * The check is an independent reading of the format in layout.h and
 * docs/format.md: it walks the superblocks, the descriptors below the
 * high-water mark, the slab pages and the large objects' records and runs
 * itself, and shares no logic with open-time recovery (recover.c), so that
 * the crash simulator can use it as an oracle against recovery bugs.  It
 * uses only the format's own definitions from elsewhere: the checksums
 * (checksum.c), the geometry function (pms_geometry) and the class table.
 *
 * Cost: O(hwm + live objects) time, memory proportional to the mark; the
 * file is mapped read-only and only the superblocks, the descriptors
 * [0, hwm) and the pages of slabs are read.  Every walk is bounded: a run
 * is walked only up to the first page some other object already holds,
 * so the runs together visit each page at most once.
 *
 * Every finding is classified.  Repairable are exactly the states a crash
 * of a correct library can leave and that open-time recovery cleans up
 * (set bits without a verifying header or record, verifying headers or
 * records with a clear bit, records whose HEAD does not point back,
 * orphaned HEAD/TAIL/VOLATILE descriptors, missing TAILs of live runs), a
 * damaged superblock copy beside a good one, and a high-water mark word
 * out of bounds beside a usable one.  Everything else is not repairable,
 * and REPAIR then writes nothing.  The repair itself is pmemstore_open's
 * recovery (all-or-nothing, idempotent) plus, for a mark word, one 8-byte
 * store of our own; a second full check must then find the pool clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmemstore.h"
#include "pool.h"
#include "flush.h"
#include "checksum.h"
#include "errors.h"

/* the class table, read from the format definition itself */
static const struct pms_class ck_classes[PMS_NCLASSES] = PMS_CLASS_TABLE;

#define MSG_MAX 320

/* a finding kept for reporting after a repair */
struct saved {
	unsigned kind;
	int repairable;
	uint64_t offset;
	char *msg;
};

/* a record whose bit is set and whose identity check verifies */
struct cand {
	uint64_t rpage;
	unsigned rslot;
	int live;
	struct pms_record r;
};

/* a live object's UUID and the pool offset of its header or record */
struct live {
	uint8_t uuid[16];
	uint64_t off;
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

	const uint8_t *base; /* the read-only mapping */
	int fd;		     /* the file, for pread; -1 on device-dax */
	int ioerr;	     /* a pread failed (errno) */
	uint8_t pbuf[PMS_PAGE_SIZE] __attribute__((aligned(64)));
	size_t map_len;
	uint64_t fsize;

	struct pms_super sb; /* the valid copy */
	uint64_t npages, data_off, hwm, seed;
	int hwm_bad[2]; /* mark words that REPAIR rewrites */

	uint64_t *used;	 /* pages held by a live object or BAD */
	uint64_t *inrun; /* pages of live runs */
	uint64_t *stale; /* slab pages with a verifying header, bit clear */
	struct cand *c;
	size_t nc, capc;
	struct live *lv;
	size_t nlv, caplv;
	struct range *rg;
	size_t nrg, caprg;
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
 * page_head -- the first len bytes of data page p (its header array).  A
 * regular file is read with pread: a slab page is read once and the
 * mapping would fault it in (with its neighbours) and tear it down again,
 * which costs more.  A device-dax node has no read(), so it is read
 * through the mapping.  NULL (k->ioerr set) when the read fails.
 */
static const uint8_t *
page_head(struct ck *k, uint64_t p, size_t len)
{
	size_t done = 0;

	if (k->fd < 0)
		return k->base + page_off(k, p);
	while (done < len) {
		ssize_t n = pread(k->fd, k->pbuf + done, len - done,
				  (off_t)(page_off(k, p) + done));

		if (n <= 0) {
			k->ioerr = n < 0 ? errno : EIO;
			return NULL;
		}
		done += (size_t)n;
	}
	return k->pbuf;
}

/* slot_mask -- the occupancy bits a class has */
static inline uint64_t
slot_mask(unsigned cls)
{
	unsigned n = ck_classes[cls].nslots;

	return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

/* hdr_verifies -- does a small object's header match its location? */
static int
hdr_verifies(const struct ck *k, const struct pms_obj_hdr *h, uint64_t p,
	     unsigned slot, unsigned cls)
{
	return h->check != 0 &&
	       h->check ==
		       pms_check_small(k->seed, h->uuid, h->size, p, slot, cls);
}

/* rec_verifies -- does a record match its location? */
static int
rec_verifies(const struct ck *k, const struct pms_record *r, uint64_t p,
	     unsigned slot)
{
	return r->check != 0 &&
	       r->check == pms_check_record(k->seed, r->uuid, r->size, r->page,
					    r->npages, p, slot);
}

/* live_add -- remember a live object's UUID for the duplicate check */
static int
live_add(struct ck *k, const uint8_t uuid[16], uint64_t off)
{
	if (grow(k, (void **)&k->lv, &k->caplv, k->nlv, sizeof(*k->lv)))
		return -1;
	memcpy(k->lv[k->nlv].uuid, uuid, 16);
	k->lv[k->nlv].off = off;
	k->nlv++;
	return 0;
}

/* superblock copy states, from worst to best */
enum { SB_NOMAGIC, SB_VERSION, SB_TORN, SB_CHECKSUM, SB_VALID };

/* sb_state -- what a superblock copy holds */
static int
sb_state(const struct pms_super *s)
{
	if (memcmp(s->magic, PMS_MAGIC, 8) != 0)
		return SB_NOMAGIC;
	/* version 0 is a torn copy (create cut short), not a newer pool */
	if (s->version == 0)
		return SB_TORN;
	if (s->version != PMS_FORMAT_VERSION)
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

/*
 * scan_small -- a slab page of small objects: a set bit needs a verifying
 * header (else: an allocation cut short), a verifying header with a clear
 * bit is reported in pass 3 unless the page turns out to be a live run's
 */
static int
scan_small(struct ck *k, uint64_t p, unsigned cls, uint64_t bits)
{
	const struct pms_class *c = &ck_classes[cls];
	const uint8_t *pg = page_head(k, p, c->nslots * PMS_HDR_SIZE);

	if (pg == NULL)
		return -1;

	for (unsigned i = 0; i < c->nslots && !k->stop; i++) {
		struct pms_obj_hdr h;
		uint64_t off = page_off(k, p) + (uint64_t)i * PMS_HDR_SIZE;
		int set = (bits >> i) & 1, ver;

		memcpy(&h, pg + (uint64_t)i * PMS_HDR_SIZE, sizeof(h));
		if (!set && h.check == 0)
			continue;
		ver = hdr_verifies(k, &h, p, i, cls);
		if (!set) {
			if (ver)
				bit_set(k->stale, p);
			continue;
		}
		if (!ver) {
			finding(k, PMEMSTORE_FINDING_INCOMPLETE, 1, off,
				"slab page %llu: bit %u set but its header "
				"does not verify (an allocation cut short; "
				"REPAIR clears the bit)",
				(unsigned long long)p, i);
			continue;
		}
		if (h.size == 0 || h.size > c->size) {
			finding(k, PMEMSTORE_FINDING_SLAB, 0, off,
				"slab page %llu slot %u: the header verifies "
				"but its size %u does not fit class %u (1 to "
				"%u bytes)",
				(unsigned long long)p, i, h.size, cls, c->size);
			continue;
		}
		if (h.rsvd != 0)
			finding(k, PMEMSTORE_FINDING_SLAB, 0, off,
				"slab page %llu slot %u: reserved header field "
				"is 0x%x, not 0",
				(unsigned long long)p, i, h.rsvd);
		bit_set(k->used, p);
		if (live_add(k, h.uuid, off))
			return -1;
	}
	return 0;
}

/* scan_records -- a record page: collect records with set bits */
static int
scan_records(struct ck *k, uint64_t p, uint64_t bits)
{
	const uint8_t *pg = page_head(k, p, PMS_PAGE_SIZE);

	if (pg == NULL)
		return -1;

	for (unsigned i = 0; i < 64 && !k->stop; i++) {
		struct pms_record r;
		uint64_t off = page_off(k, p) + (uint64_t)i * PMS_RECORD_SIZE;
		int set = (bits >> i) & 1, ver;

		memcpy(&r, pg + (uint64_t)i * PMS_RECORD_SIZE, sizeof(r));
		if (!set && r.check == 0)
			continue;
		ver = rec_verifies(k, &r, p, i);
		if (!set) {
			if (ver)
				bit_set(k->stale, p);
			continue;
		}
		if (!ver) {
			finding(k, PMEMSTORE_FINDING_INCOMPLETE, 1, off,
				"record page %llu: bit %u set but its record "
				"does not verify (a large allocation cut "
				"short; REPAIR clears the bit)",
				(unsigned long long)p, i);
			continue;
		}
		if (grow(k, (void **)&k->c, &k->capc, k->nc, sizeof(*k->c)))
			return -1;
		k->c[k->nc].rpage = p;
		k->c[k->nc].rslot = i;
		k->c[k->nc].live = 0;
		k->c[k->nc].r = r;
		k->nc++;
	}
	return 0;
}

/* pass1 -- every descriptor below the mark, and the slab pages */
static int
pass1(struct ck *k)
{
	for (uint64_t p = 0; p < k->hwm && !k->stop; p++) {
		struct pms_desc d = desc_at(k, p);
		unsigned t = PMS_DESC_TYPE(d.w0), cls;

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
		case PMS_DESC_HEAD:
		case PMS_DESC_TAIL:
		case PMS_DESC_VOLATILE:
			break; /* settled from the records, then pass 3 */
		case PMS_DESC_BAD:
			bit_set(k->used, p); /* never part of an object */
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

/*
 * settle -- pass 2a: a record with a set bit and a verifying check is a
 * live object when its run is in bounds, agrees with its size and its
 * HEAD points back at it with the same length
 */
static int
settle(struct ck *k)
{
	for (size_t i = 0; i < k->nc && !k->stop; i++) {
		struct cand *c = &k->c[i];
		const struct pms_record *r = &c->r;
		uint64_t p = r->page, n = r->npages, sz = r->size, want;
		uint64_t off = page_off(k, c->rpage) +
			       (uint64_t)c->rslot * PMS_RECORD_SIZE;
		unsigned long long rp = c->rpage;
		struct pms_desc d;

		if (n == 0 || p >= k->npages || n > k->npages - p) {
			finding(k, PMEMSTORE_FINDING_BOUNDS, 0, off,
				"record page %llu slot %u: its run (page %llu, "
				"%llu pages) lies outside the pool's %llu data "
				"pages",
				rp, c->rslot, (unsigned long long)p,
				(unsigned long long)n,
				(unsigned long long)k->npages);
			continue;
		}
		if (p >= k->hwm || n > k->hwm - p) {
			finding(k, PMEMSTORE_FINDING_BOUNDS, 0, off,
				"record page %llu slot %u: its run (page %llu, "
				"%llu pages) reaches above the high-water mark "
				"(%llu pages)",
				rp, c->rslot, (unsigned long long)p,
				(unsigned long long)n,
				(unsigned long long)k->hwm);
			continue;
		}
		want = sz / PMS_PAGE_SIZE + (sz % PMS_PAGE_SIZE != 0);
		if (sz <= PMS_SMALL_MAX || want != n) {
			finding(k, PMEMSTORE_FINDING_RUN, 0, off,
				"record page %llu slot %u: size %llu bytes "
				"does not match a run of %llu pages",
				rp, c->rslot, (unsigned long long)sz,
				(unsigned long long)n);
			continue;
		}
		if (sz >= PMS_HUGE_SIZE && p % PMS_HUGE_PAGES != 0) {
			finding(k, PMEMSTORE_FINDING_RUN, 0, off,
				"record page %llu slot %u: an object of %llu "
				"bytes must start on a 2 MiB boundary, its run "
				"starts at page %llu",
				rp, c->rslot, (unsigned long long)sz,
				(unsigned long long)p);
			continue;
		}
		d = desc_at(k, p);
		if (d.w0 != PMS_DESC_HEAD_W0(c->rpage, c->rslot) || d.w1 != n) {
			finding(k, PMEMSTORE_FINDING_INCOMPLETE, 1, off,
				"record page %llu slot %u: the descriptor of "
				"page %llu, its run's first page, does not "
				"point back at it (a large allocation or free "
				"cut short; REPAIR drops the record)",
				rp, c->rslot, (unsigned long long)p);
			continue;
		}
		if (r->rsvd[0] != 0 || r->rsvd[1] != 0)
			finding(k, PMEMSTORE_FINDING_RUN, 0, off,
				"record page %llu slot %u: reserved record "
				"fields are not 0",
				rp, c->rslot);
		c->live = 1;
		bit_set(k->used, c->rpage);
		if (live_add(k, r->uuid, off))
			return -1;
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
	d = desc_at(k, pg);
	if (PMS_DESC_TYPE(d.w0) == PMS_DESC_BAD)
		return "a page marked BAD";
	if (PMS_DESC_SLAB_CLASS(d.w0) == PMS_CLASS_RECORD)
		return "a record page with live records";
	return "a slab page with live objects";
}

/*
 * walk_runs -- pass 2b: claim the pages of every live run.  A page some
 * other object holds is an overlap; the run is not walked further (its
 * rest is remembered so that it is not reported as orphaned), which
 * bounds the work by hwm + runs.  Every page after the first must carry
 * TAIL(distance) with w1 = 0; open rewrites the ones that do not.
 */
static int
walk_runs(struct ck *k)
{
	for (size_t i = 0; i < k->nc && !k->stop; i++) {
		const struct cand *c = &k->c[i];
		uint64_t p = c->r.page, n = c->r.npages, bad = 0, fbad = 0;

		if (!c->live)
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
					(unsigned long long)c->rpage, c->rslot,
					(unsigned long long)p,
					(unsigned long long)(p + n - 1),
					(unsigned long long)pg,
					holder(k, pg, c->rpage));
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
				(unsigned long long)c->rpage, c->rslot,
				(unsigned long long)p,
				(unsigned long long)(p + n - 1),
				(unsigned long long)bad, bad == 1 ? "" : "s",
				(unsigned long long)fbad);
	}
	return 0;
}

/* duplicates -- pass 2c: no two live objects share a UUID */
static int
duplicates(struct ck *k)
{
	size_t cap = 16, *tab;

	while (cap < 2 * k->nlv)
		cap <<= 1;
	tab = calloc(cap, sizeof(*tab));
	if (tab == NULL) {
		k->nomem = 1;
		return pms_err(ENOMEM, "pool %s: out of memory", k->path);
	}
	for (size_t i = 0; i < k->nlv && !k->stop; i++) {
		size_t h = (size_t)pms_hash_uuid(k->lv[i].uuid) & (cap - 1);

		for (; tab[h]; h = (h + 1) & (cap - 1)) {
			const struct live *o = &k->lv[tab[h] - 1];
			char s[37];

			if (memcmp(o->uuid, k->lv[i].uuid, 16) != 0)
				continue;
			uuid_unparse_lower(k->lv[i].uuid, s);
			finding(k, PMEMSTORE_FINDING_DUPLICATE, 0, k->lv[i].off,
				"UUID %s names two live objects, at offsets "
				"%llu and %llu",
				s, (unsigned long long)o->off,
				(unsigned long long)k->lv[i].off);
			break;
		}
		if (tab[h] == 0)
			tab[h] = i + 1;
	}
	free(tab);
	return 0;
}

/* report_stale -- verifying headers or records of a slab page, bit clear */
static void
report_stale(struct ck *k, uint64_t p)
{
	struct pms_desc d = desc_at(k, p);
	unsigned cls = PMS_DESC_SLAB_CLASS(d.w0);
	const uint8_t *pg =
		page_head(k, p,
			  ck_classes[cls].nslots * (cls == PMS_CLASS_RECORD
							    ? PMS_RECORD_SIZE
							    : PMS_HDR_SIZE));

	for (unsigned i = 0; pg && i < ck_classes[cls].nslots && !k->stop;
	     i++) {
		if ((d.w1 >> i) & 1)
			continue;
		if (cls == PMS_CLASS_RECORD) {
			struct pms_record r;

			memcpy(&r, pg + (uint64_t)i * PMS_RECORD_SIZE,
			       sizeof(r));
			if (!rec_verifies(k, &r, p, i))
				continue;
			finding(k, PMEMSTORE_FINDING_INCOMPLETE, 1,
				page_off(k, p) + (uint64_t)i * PMS_RECORD_SIZE,
				"record page %llu: slot %u is free (bit clear) "
				"but its record still verifies (a large free "
				"or allocation cut short; REPAIR zeroes its "
				"check)",
				(unsigned long long)p, i);
		} else {
			struct pms_obj_hdr h;

			memcpy(&h, pg + (uint64_t)i * PMS_HDR_SIZE, sizeof(h));
			if (!hdr_verifies(k, &h, p, i, cls))
				continue;
			finding(k, PMEMSTORE_FINDING_INCOMPLETE, 1,
				page_off(k, p) + (uint64_t)i * PMS_HDR_SIZE,
				"slab page %llu: slot %u is free (bit clear) "
				"but its header still verifies (a free or "
				"allocation cut short; REPAIR zeroes its "
				"check)",
				(unsigned long long)p, i);
		}
	}
}

/* orphans -- report pages [lo, hi) whose run descriptors no object owns */
static void
orphans(struct ck *k, uint64_t lo, uint64_t hi)
{
	if (hi - lo == 1)
		finding(k, PMEMSTORE_FINDING_ORPHAN, 1, desc_off(lo),
			"page %llu: HEAD/TAIL/VOLATILE descriptor of no live "
			"object (REPAIR frees the page)",
			(unsigned long long)lo);
	else
		finding(k, PMEMSTORE_FINDING_ORPHAN, 1, desc_off(lo),
			"pages %llu to %llu: HEAD/TAIL/VOLATILE descriptors of "
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
 * pass3 -- stale headers of pages that are not a live run's data, and
 * run or VOLATILE descriptors that no live object owns (empty slab pages
 * are free pages: a clean pool keeps them)
 */
static void
pass3(struct ck *k)
{
	uint64_t olo = 0, maxhi = 0;
	int inorph = 0;
	size_t ri = 0;

	if (k->nrg > 1)
		qsort(k->rg, k->nrg, sizeof(*k->rg), range_cmp);
	for (uint64_t p = 0; p < k->hwm && !k->stop && !k->ioerr; p++) {
		int orphan = 0;

		if (bit_test(k->stale, p) && !bit_test(k->inrun, p))
			report_stale(k, p);
		if (!bit_test(k->used, p)) {
			unsigned t = PMS_DESC_TYPE(desc_at(k, p).w0);

			for (; ri < k->nrg && k->rg[ri].lo <= p; ri++)
				if (k->rg[ri].hi > maxhi)
					maxhi = k->rg[ri].hi;
			orphan = (t == PMS_DESC_HEAD || t == PMS_DESC_TAIL ||
				  t == PMS_DESC_VOLATILE) &&
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
	free(k->stale);
	free(k->c);
	free(k->lv);
	free(k->rg);
	for (size_t i = 0; i < k->nsv; i++)
		free(k->sv[i].msg);
	free(k->sv);
	k->used = k->inrun = k->stale = NULL;
	k->c = NULL;
	k->lv = NULL;
	k->rg = NULL;
	k->sv = NULL;
	k->nsv = 0;
}

/*
 * check_fd -- the full check of the locked file fd.  Returns 0 when the
 * check ran (findings or not), -1 with errno on an environmental failure.
 */
static int
check_fd(struct ck *k, int fd)
{
	struct stat st;
	size_t words;

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
	if (check_super(k) || k->stop)
		return 0;
	words = k->hwm / 64 + 1;
	k->used = calloc(words, sizeof(uint64_t));
	k->inrun = calloc(words, sizeof(uint64_t));
	k->stale = calloc(words, sizeof(uint64_t));
	if (k->used == NULL || k->inrun == NULL || k->stale == NULL) {
		k->nomem = 1;
		return pms_err(ENOMEM, "pool %s: out of memory", k->path);
	}
	if (!(pass1(k) || k->stop || settle(k) || k->stop || walk_runs(k) ||
	      k->stop || duplicates(k) || k->stop))
		pass3(k);
	if (k->nomem)
		return pms_err(ENOMEM, "pool %s: out of memory", k->path);
	if (k->ioerr)
		return pms_err(k->ioerr, "pool %s: cannot read: %s", k->path,
			       strerror(k->ioerr));
	return 0;
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
	ret = check_fd(k, fd);
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
