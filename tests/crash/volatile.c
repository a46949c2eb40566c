/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * volatile.c -- owns the volatile workload: persistent objects and the
 * volatile heap's blocks (pmemstore_malloc and friends) on the same pool,
 * its pages moving between the two uses, crashed at every fence.
 *
 * The volatile heap never flushes or fences (vheap.c): its blocks' stores
 * and its VOLATILE / FREE descriptor stores are plain stores into the
 * mapping.  The simulator sees them in two ways, both the x86 model's
 * "an unflushed store may reach the media at any time":
 *   - at every crash point, with eviction on (opt.evict, forced here),
 *     every line whose mapping content differs from durable + pending is
 *     a unit that may land with its current content: the garbage of live
 *     blocks, and of blocks given back without a punch, and descriptor
 *     lines saying VOLATILE or FREE;
 *   - after each volatile operation, a seeded early write-back: each
 *     dirty descriptor line with probability 1/2, and a few sampled lines
 *     of one block in four just written, are copied to the durable image (an
 *     eviction then).  That garbage stays on the media when the pages are
 *     given back (a punch leaves the durable image as it was) and later
 *     become persistent pages, so later images have old garbage under
 *     slab pages, records and runs, and stale VOLATILE descriptors.
 * Garbage is non-zero words, descriptor-like words and copies of real
 * headers of the pool's slab pages (valid there, not at their new place).
 *
 * Two rounds, each a fresh pool: jemalloc purging only when the pool runs
 * out (dirty_decay_ms -1: the persistent side's ENOMEM purges the arenas,
 * pms_vheap_purge) with hole punching; and immediate purging
 * (dirty_decay_ms 0) with PUNCH_HOLE refused (model.c's fallocate), so
 * freed blocks' garbage stays in the mapping under pages that become
 * persistent.  The workload tracks every page's descriptor after each
 * operation and fails unless pages went volatile -> free -> persistent
 * and persistent -> free -> volatile in each round, and unless early
 * write-backs put garbage on the media; it checks every volatile block's
 * content before it is freed (persistent work never writes a volatile
 * page) and that the heap still knows it (pmemstore_malloc_usable_size).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <xxhash.h>

#include "layout.h"
#include "sim.h"

/*
 * mallctl -- jemalloc's, found at run time: the library brings jemalloc
 * in, but the simulator must not link it itself, or jemalloc would become
 * the process's malloc, whose internal mutexes the scheduler interposes
 * (sched.c: every pthread_mutex_lock is a yield point), and threaded
 * workloads would switch threads inside malloc.
 */
static int
mallctl(const char *name, void *old, size_t *oldlen, void *new, size_t newlen)
{
	static int (*f)(const char *, void *, size_t *, void *, size_t);

	if (f == NULL)
		f = (int (*)(const char *, void *, size_t *, void *,
			     size_t))dlsym(RTLD_DEFAULT, "mallctl");
	if (f == NULL) {
		errno = ENOSYS;
		return ENOSYS;
	}
	return f(name, old, oldlen, new, newlen);
}

int vw_nopunch;
uint64_t vw_punched;
int vw_on;

/* early write-backs of block lines: where, and a digest of what */
struct wbline {
	uint64_t off, sum;
};
static struct wbline *wbl;
static size_t nwbl, capwbl;

/* what the crash points of the current round saw (every worker alike) */
static struct {
	uint64_t points;
	uint64_t g_points; /* garbage on media under persistent pages */
	uint64_t g_lines;  /* such lines, summed over the crash points */
	uint64_t v_points; /* a VOLATILE descriptor durable */
	uint64_t u_points; /* a descriptor line that may land saying VOLATILE */
	uint64_t e_points; /* a block's garbage line that may land */
} seen;

#define VMAX 2048
#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)

struct vblk {
	uint8_t *p;
	size_t n;
	uint64_t sum; /* XXH3 of its content */
};

static struct vblk vb[VMAX];
static size_t nvb;

/* per page: what its descriptor said last, and what it has been since */
#define PS_WASVOL 4
#define PS_WASPERS 8
#define PS_SAVED 16 /* saved[] holds the page's headers of its slab use */
static uint8_t *pstate;
static uint64_t npg;
/* per page: its first SAVED bytes as last seen while a slab page in use */
#define SAVED 256
static uint8_t *saved;
static uint64_t forged; /* pages given their old headers back */

/* what a round did */
struct vcount {
	uint64_t v2p, p2v; /* pages that changed use, via free */
	uint64_t vops, venomem, wb_lines, wb_desc, punched, forged;
};

/* vw_fatal -- the workload itself went wrong */
static void
vw_fatal(const char *what)
{
	fprintf(stderr, "crash: workload volatile: %s (%s; %s)\n", what,
		strerror(errno), pmemstore_errormsg());
	exit(2);
}

/* descs -- the workload pool's descriptor array, as the library sees it */
static const struct pms_desc *
descs(void)
{
	return (const struct pms_desc *)(wl_model.base + PMS_DESC_OFF);
}

/* data_page -- the workload pool's data page p in the mapping */
static uint8_t *
data_page(uint64_t p)
{
	const struct pms_super *sb = (const struct pms_super *)wl_model.base;

	return wl_model.base + sb->data_off + p * PAGE;
}

/* track -- every page's use now, against what it was */
static void
track(struct vcount *vc)
{
	const struct pms_desc *d = descs();

	for (uint64_t p = 0; p < npg; p++) {
		uint64_t w0 = __atomic_load_n(&d[p].w0, __ATOMIC_RELAXED);
		uint8_t s = pstate[p];

		if (w0 == PMS_DESC_VOLATILE) {
			if (s & PS_WASPERS)
				vc->p2v++;
			s = (uint8_t)((s & ~PS_WASPERS) | PS_WASVOL);
		} else if (w0 != 0) {
			if (s & PS_WASVOL)
				vc->v2p++;
			s = (uint8_t)((s & ~PS_WASVOL) | PS_WASPERS);
			if (PMS_DESC_TYPE(w0) == PMS_DESC_SLAB && d[p].w1) {
				memcpy(saved + p * SAVED, data_page(p), SAVED);
				s |= PS_SAVED;
			}
		}
		pstate[p] = s;
	}
}

/* commit_line -- an early eviction: the mapping's line becomes durable */
static void
commit_line(uint64_t off)
{
	struct model *m = &wl_model;

	memcpy(m->durable + off, m->base + off, LINE);
	m->touched[off / PAGE / 64] |= 1ULL << (off / PAGE % 64);
	if (off < PMS_DESC_OFF + npg * 16)
		return; /* a descriptor line */
	if (nwbl == capwbl) {
		capwbl = capwbl ? capwbl * 2 : 1024;
		wbl = realloc(wbl, capwbl * sizeof(*wbl));
		if (wbl == NULL)
			abort();
	}
	wbl[nwbl].off = off;
	wbl[nwbl++].sum = XXH3_64bits(m->durable + off, LINE);
}

/*
 * vw_crash_point -- what the images of this crash point range over: early
 * write-backs of block garbage still on the media under pages that are
 * persistent now, VOLATILE descriptors durable, and units (lines that may
 * land) of descriptor lines saying VOLATILE and of block garbage
 */
void
vw_crash_point(const struct model *m, const struct unit *u, size_t n)
{
	const struct pms_super *sb = (const struct pms_super *)m->base;
	const struct pms_desc *d = descs();
	const struct pms_desc *dd =
		(const struct pms_desc *)(m->durable + PMS_DESC_OFF);
	uint64_t g = 0, dlo = PMS_DESC_OFF, dhi = PMS_DESC_OFF + npg * 16;
	int v = 0, uv = 0, ue = 0;

	seen.points++;
	for (size_t i = 0; i < nwbl; i++) {
		uint64_t off = wbl[i].off, p = (off - sb->data_off) / PAGE;

		if (off < sb->data_off || p >= npg)
			continue;
		/* the garbage written back still on the media, page persistent */
		if (d[p].w0 != 0 && d[p].w0 != PMS_DESC_VOLATILE &&
		    XXH3_64bits(m->durable + off, LINE) == wbl[i].sum)
			g++;
	}
	for (uint64_t p = 0; p < npg && !v; p++)
		v = dd[p].w0 == PMS_DESC_VOLATILE;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *x = u[i].ver[u[i].nver - 1];

		if (u[i].off >= dlo && u[i].off < dhi) {
			for (int k = 0; k < 4; k++)
				uv |= ((const uint64_t *)x)[2 * k] ==
				      PMS_DESC_VOLATILE;
		} else if (u[i].off >= sb->data_off) {
			uint64_t p = (u[i].off - sb->data_off) / PAGE;

			ue |= p < npg && d[p].w0 == PMS_DESC_VOLATILE;
		}
	}
	seen.g_points += g != 0;
	seen.g_lines += g;
	seen.v_points += (uint64_t)v;
	seen.u_points += (uint64_t)uv;
	seen.e_points += (uint64_t)ue;
}

/* dirty -- does the line at off differ between mapping and durable? */
static int
dirty(uint64_t off)
{
	return memcmp(wl_model.base + off, wl_model.durable + off, LINE) != 0;
}

/*
 * writeback -- seeded early evictions after a volatile operation: each
 * dirty descriptor line with probability 1/2, and of one block in four
 * its first, its last and a sampled line.  Not while flushed lines
 * are pending (a single-threaded workload has none between operations).
 */
static void
writeback(const uint8_t *p, size_t n, struct vcount *vc)
{
	struct model *m = &wl_model;
	uint64_t lo = PMS_DESC_OFF, hi = PMS_DESC_OFF + npg * 16;

	if (m->npend)
		return;
	for (uint64_t off = lo; off < hi; off += LINE)
		if (dirty(off) && (rng_next(&wl_rng) & 1)) {
			commit_line(off);
			vc->wb_desc++;
		}
	/* a quarter of the blocks: each garbage page costs every image */
	if (p == NULL || n == 0 || rng_next(&wl_rng) % 4)
		return;
	uint64_t first = (uint64_t)(p - m->base) & ~(uint64_t)(LINE - 1);
	uint64_t last = (uint64_t)(p + n - 1 - m->base) & ~(uint64_t)(LINE - 1);
	uint64_t lines = (last - first) / LINE + 1;

	for (int k = 0; k < 3; k++) {
		uint64_t off =
			k == 0	 ? first
			: k == 1 ? last
				 : first + (rng_next(&wl_rng) % lines) * LINE;

		if (dirty(off)) {
			commit_line(off);
			vc->wb_lines++;
		}
	}
}

/* slab_pages -- some persistent slab pages now (their headers to copy) */
static size_t
slab_pages(uint64_t *out, size_t max)
{
	const struct pms_desc *d = descs();
	size_t n = 0;

	for (uint64_t p = 0; p < npg && n < max; p++)
		if (PMS_DESC_TYPE(d[p].w0) == PMS_DESC_SLAB && d[p].w1)
			out[n++] = p;
	return n;
}

/*
 * garbage -- fill [p, p + n) with non-zero garbage: random words, and
 * every 256 bytes something that looks like metadata: a copy of a real
 * header (32 bytes) of one of the pool's slab pages, or descriptor words
 */
static void
garbage(uint8_t *p, size_t n)
{
	const struct pms_super *sb = (const struct pms_super *)wl_model.base;
	uint64_t sp[64];
	size_t nsp = slab_pages(sp, 64), i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t w = rng_next(&wl_rng) | 1;

		memcpy(p + i, &w, 8);
	}
	for (; i < n; i++)
		p[i] = 0xa5;
	for (i = 0; i + 32 <= n; i += 256) {
		uint64_t r = rng_next(&wl_rng);

		if (nsp && (r & 3) != 3) {
			const uint8_t *pg = wl_model.base + sb->data_off +
					    sp[(r >> 8) % nsp] * PAGE;

			memcpy(p + i, pg + ((r >> 24) % 4) * PMS_HDR_SIZE, 32);
		} else {
			uint64_t w[4] = {PMS_DESC_VOLATILE, 0,
					 PMS_DESC_SLAB_W0(1 + (r >> 8) % 8),
					 r | 1};

			memcpy(p + i, w, 32);
		}
	}
	/*
	 * the headers a page held in its slab use, back at their place: they
	 * verify there (an application may store any bytes it once read)
	 */
	for (uint64_t q = (uint64_t)(p - data_page(0)) / PAGE;
	     q < npg && data_page(q) < p + n; q++) {
		uint8_t *a = data_page(q), *b = a + SAVED;

		if (!(pstate[q] & PS_SAVED) || (rng_next(&wl_rng) & 1))
			continue;
		if (a < p)
			a = p;
		if (b > p + n)
			b = p + n;
		if (a < b) {
			memcpy(a, saved + q * SAVED + (a - data_page(q)),
			       (size_t)(b - a));
			forged++;
			/* evicted at once, half the time: on the media after
			 * a punch empties the mapping */
			if (wl_model.npend == 0 && (rng_next(&wl_rng) & 1))
				for (uint8_t *l = a; l < b; l += LINE)
					commit_line(
						(uint64_t)(l - wl_model.base) &
						~(uint64_t)(LINE - 1));
		}
	}
}

/* sum_of -- the digest of a block's content */
static uint64_t
sum_of(const struct vblk *b)
{
	return XXH3_64bits(b->p, b->n);
}

/* v_check -- block i is intact and still the heap's */
static void
v_check(size_t i)
{
	struct pmemstore *ps = wl_pool();

	if (sum_of(&vb[i]) != vb[i].sum) {
		fprintf(stderr,
			"crash: workload volatile: a volatile block of %zu B "
			"at %p was overwritten (persistent work on a volatile "
			"page?)\n",
			vb[i].n, (void *)vb[i].p);
		exit(2);
	}
	if (pmemstore_malloc_usable_size(ps, vb[i].p) < vb[i].n)
		vw_fatal("a live volatile block is no longer the heap's");
}

/* v_size -- a volatile block size: 8 B .. 3 MiB, mostly small */
static size_t
v_size(int nopunch)
{
	uint64_t c = rng_next(&wl_rng) % 100, r = rng_next(&wl_rng);

	if (c < 40)
		return 8 + r % 248;
	if (c < 70)
		return 256 + r % (16 * KIB);
	if (c < 90)
		return 16 * KIB + r % (256 * KIB);
	/* without punching, big blocks' garbage stays under every image */
	return nopunch ? 256 * KIB + r % (256 * KIB) : 1 * MIB + r % (2 * MIB);
}

/* v_alloc -- a volatile block (malloc, calloc or aligned), garbage in it */
static void
v_alloc(size_t n, struct vcount *vc)
{
	struct pmemstore *ps = wl_pool();
	uint64_t k = rng_next(&wl_rng) % 8;
	void *p;

	if (nvb == VMAX)
		return;
	snprintf(orc.op, sizeof(orc.op), "between ops: pmemstore_malloc(%zu)",
		 n);
	errno = 0;
	p = k == 0   ? pmemstore_calloc(ps, 1, n)
	    : k == 1 ? pmemstore_aligned_alloc(ps, 4096, n)
		     : pmemstore_malloc(ps, n);
	vc->vops++;
	if (p == NULL) {
		if (errno != ENOMEM)
			vw_fatal("pmemstore_malloc");
		vc->venomem++;
		return;
	}
	vb[nvb].p = p;
	vb[nvb].n = n;
	garbage(p, n);
	vb[nvb].sum = sum_of(&vb[nvb]);
	writeback(p, n, vc);
	nvb++;
	track(vc); /* pages may be given back before the next operation */
}

/* v_free -- give block i back */
static void
v_free(size_t i, struct vcount *vc)
{
	v_check(i);
	pmemstore_free(wl_pool(), vb[i].p);
	vc->vops++;
	vb[i] = vb[--nvb];
	writeback(NULL, 0, vc);
}

/* v_realloc -- resize block i; its old content must move with it */
static void
v_realloc(size_t i, size_t n, struct vcount *vc)
{
	size_t keep = vb[i].n < n ? vb[i].n : n;
	uint64_t head;
	uint8_t *p;

	v_check(i);
	head = XXH3_64bits(vb[i].p, keep);
	errno = 0;
	p = pmemstore_realloc(wl_pool(), vb[i].p, n);
	vc->vops++;
	if (p == NULL) {
		if (errno != ENOMEM)
			vw_fatal("pmemstore_realloc");
		vc->venomem++;
		return;
	}
	if (XXH3_64bits(p, keep) != head)
		vw_fatal("pmemstore_realloc lost the block's content");
	vb[i].p = p;
	vb[i].n = n;
	if (n > keep)
		garbage(p + keep, n - keep);
	vb[i].sum = sum_of(&vb[i]);
	writeback(p, n, vc);
	track(vc);
}

/* p_alloc -- a persistent object of a random size and kind */
static long
p_alloc(void)
{
	uint64_t c = rng_next(&wl_rng) % 100, sz;
	int how = (int)(rng_next(&wl_rng) % 4); /* WRITE, ZERO, INIT, BARE */

	if (c < 60)
		sz = 1 + rng_next(&wl_rng) % 2016;
	else if (c < 90)
		sz = 2017 + rng_next(&wl_rng) % (64 * KIB);
	else
		sz = 128 * KIB + rng_next(&wl_rng) % (896 * KIB);
	if (sz > 64 * KIB && how != H_ZERO)
		how = H_BARE; /* keep images small */
	return op_alloc(sz, how);
}

/*
 * squeeze -- the persistent side takes the pool: 1 MiB, then 256 KiB
 * objects until ENOMEM (the library purges the volatile arenas and
 * retries), then frees most of them again
 */
static void
squeeze(struct vcount *vc)
{
	long got[64];
	int n = 0;
	long i;

	while (n < 64 && (i = op_alloc(1 * MIB, H_BARE)) >= 0)
		got[n++] = i;
	while (n < 64 &&
	       (i = op_alloc(256 * KIB, n % 3 ? H_BARE : H_ZERO)) >= 0)
		got[n++] = i;
	track(vc);
	for (int k = 0; k < n; k++)
		if (k % 4)
			op_free(got[k]);
}

/* vsqueeze -- the volatile side takes the pool: 256, 16, 4 KiB blocks
 * until ENOMEM (the persistent heaps give back the pages they keep) */
static void
vsqueeze(struct vcount *vc)
{
	static const size_t sizes[] = {256 * KIB, 16 * KIB, 4 * KIB};

	for (int s = 0; s < 3; s++) {
		uint64_t e = vc->venomem;

		while (nvb < VMAX && vc->venomem == e)
			v_alloc(sizes[s], vc);
	}
	/* keep a few, free the rest */
	while (nvb > 4)
		v_free(nvb - 1, vc);
}

/* round -- one pool: nops mixed operations */
static void
round_run(int nops, int nopunch, uint64_t seed, struct vcount *vc)
{
	ssize_t decay = nopunch ? 0 : -1;
	const struct pms_super *sb;
	long churn[8] = {-1, -1, -1, -1, -1, -1, -1, -1};

	if (mallctl("arenas.dirty_decay_ms", NULL, NULL, &decay, sizeof(decay)))
		vw_fatal("mallctl arenas.dirty_decay_ms");
	vw_nopunch = nopunch;
	vw_punched = 0;
	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	sb = (const struct pms_super *)wl_model.base;
	npg = sb->npages;
	pstate = calloc(npg, 1);
	saved = malloc(npg * SAVED);
	nwbl = 0;
	if (pstate == NULL || saved == NULL)
		abort();
	memset(&seen, 0, sizeof(seen));
	forged = 0;
	vw_on = 1;
	nvb = 0;
	for (int k = 0; k < nops && !*stop_all; k++) {
		uint64_t r = rng_next(&wl_rng) % 100;
		long nl = wl_nlive();

		if (k % 20 == 3) {
			/* whole slab pages, emptied before vsqueeze */
			for (int j = 0; j < 8; j++)
				churn[j] =
					op_alloc(2016, j % 2 ? H_INIT : H_ZERO);
			track(vc);
		} else if (k % 20 == 12) {
			for (int j = 0; j < 8; j++)
				op_free(churn[j]);
		} else if (k % 20 == 7)
			squeeze(vc);
		else if (k % 20 == 14)
			vsqueeze(vc);
		else if (r < 26)
			p_alloc();
		else if (r < 36 && nl)
			op_free(wl_live_at(rng_next(&wl_rng) % (uint64_t)nl));
		else if (r < 60)
			v_alloc(v_size(nopunch), vc);
		else if (r < 70 && nvb)
			v_realloc(rng_next(&wl_rng) % nvb, v_size(nopunch), vc);
		else if (r < 88 && nvb)
			v_free(rng_next(&wl_rng) % nvb, vc);
		else
			op_alloc(64, H_INIT);
		track(vc);
	}
	while (nvb)
		v_free(nvb - 1, vc);
	track(vc);
	vc->punched += vw_punched;
	vc->forged = forged;
	vw_on = 0;
	wl_end();
	free(pstate);
	free(saved);
	pstate = NULL;
	saved = NULL;
	vw_nopunch = 0;
}

/*
 * wl_volatile -- two rounds (purge on demand with punching; immediate
 * purge without), every crash point with eviction on
 */
void
wl_volatile(int scale, uint64_t seed)
{
	int evict = opt.evict;
	ssize_t decay0;
	size_t sz = sizeof(decay0);
	int nops = scale == 0 ? 40 : 60 * scale;

	if (mallctl("arenas.dirty_decay_ms", &decay0, &sz, NULL, 0))
		vw_fatal("mallctl arenas.dirty_decay_ms");
	opt.evict = 1;
	for (int r = 0; r < 2 && !*stop_all; r++) {
		struct vcount vc = {0};

		round_run(nops, r, seed + (uint64_t)r * 7919, &vc);
		if (opt.verbose || worker == 0)
			fprintf(stderr,
				"crash: volatile round %d: %llu volatile ops "
				"(%llu ENOMEM), pages volatile->persistent "
				"%llu, persistent->volatile %llu, early "
				"write-backs %llu lines + %llu descriptor "
				"lines, %llu pages punched, %llu pages given "
				"their old slab headers back\n",
				r, (unsigned long long)vc.vops,
				(unsigned long long)vc.venomem,
				(unsigned long long)vc.v2p,
				(unsigned long long)vc.p2v,
				(unsigned long long)vc.wb_lines,
				(unsigned long long)vc.wb_desc,
				(unsigned long long)vc.punched,
				(unsigned long long)vc.forged);
		if (opt.verbose || worker == 0)
			fprintf(stderr,
				"crash: volatile round %d: %llu crash points: "
				"%llu with block garbage on the media under "
				"persistent pages (%llu lines in all), %llu "
				"with a VOLATILE descriptor durable, %llu with "
				"a descriptor line that may land saying "
				"VOLATILE, %llu with live block garbage that "
				"may land\n",
				r, (unsigned long long)seen.points,
				(unsigned long long)seen.g_points,
				(unsigned long long)seen.g_lines,
				(unsigned long long)seen.v_points,
				(unsigned long long)seen.u_points,
				(unsigned long long)seen.e_points);
		if (*stop_all)
			break;
		if (vc.v2p == 0 || vc.p2v == 0 || vc.wb_lines == 0 ||
		    vc.wb_desc == 0 || vc.venomem == 0 || vc.forged == 0 ||
		    (seen.points &&
		     (seen.g_points == 0 || seen.v_points == 0 ||
		      seen.u_points == 0 || seen.e_points == 0)) ||
		    (r == 0) != (vc.punched != 0)) {
			fprintf(stderr,
				"crash: workload volatile: round %d did not "
				"interleave (see the counts above)\n",
				r);
			exit(2);
		}
	}
	opt.evict = evict;
	if (mallctl("arenas.dirty_decay_ms", NULL, NULL, &decay0,
		    sizeof(decay0)))
		vw_fatal("mallctl arenas.dirty_decay_ms");
}

/*
 * vw_fill_check -- after recovery (volatile workload, every I9 image):
 * the volatile heap reaches every free page of the recovered pool.
 * Blocks of 2 MiB, 64 KiB, 4 KiB and 64 B until ENOMEM each; then no
 * page may be free, and the persistent pages must be those the recovered
 * pool had in use.  The close gives them all back (I9 then sees a pool
 * whose every page but the index's is free once its objects are freed).
 */
int
vw_fill_check(const char *path, char *why, size_t wl)
{
	static const size_t sizes[] = {2 * MIB, 64 * KIB, 4 * KIB, 64};
	struct pmemstore *ps = pmemstore_open(path, 0);
	struct pmemstore_stats s0, s1;
	void **v = NULL;
	size_t n = 0, cap = 0;
	int ret = -1;

	if (ps == NULL) {
		snprintf(why, wl,
			 "I9: the recovered pool does not open again: %s",
			 pmemstore_errormsg());
		return -1;
	}
	pmemstore_stats(ps, &s0);
	for (int k = 0; k < 4; k++) {
		void *p;

		while ((p = pmemstore_malloc(ps, sizes[k])) != NULL) {
			if (n == cap) {
				cap = cap ? cap * 2 : 4096;
				v = realloc(v, cap * sizeof(*v));
				if (v == NULL)
					abort();
			}
			memset(p, 0x5a, sizes[k] < 256 ? sizes[k] : 256);
			v[n++] = p;
		}
		if (errno != ENOMEM) {
			snprintf(why, wl,
				 "I9: pmemstore_malloc(%zu) on the recovered "
				 "pool fails: %s",
				 sizes[k], pmemstore_errormsg());
			goto out;
		}
	}
	pmemstore_stats(ps, &s1);
	if (s1.pages_free != 0 || s1.pages_used != s0.pages_used ||
	    s1.pages_used + s1.pages_volatile + s1.pages_bad !=
		    s1.pages_total) {
		snprintf(why, wl,
			 "I9: filled with volatile blocks until ENOMEM, the "
			 "recovered pool has %llu pages free, %llu volatile, "
			 "%llu used (%llu before), of %llu",
			 (unsigned long long)s1.pages_free,
			 (unsigned long long)s1.pages_volatile,
			 (unsigned long long)s1.pages_used,
			 (unsigned long long)s0.pages_used,
			 (unsigned long long)s1.pages_total);
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		pmemstore_free(ps, v[i]);
	free(v);
	if (pmemstore_close(ps) && ret == 0) {
		snprintf(why, wl,
			 "I9: the close after a volatile fill fails: %s",
			 pmemstore_errormsg());
		ret = -1;
	}
	return ret;
}
