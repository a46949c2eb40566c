/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * images.c -- owns crash images: which ones a crash point has, and how one
 * is written to a file.
 *
 * At a crash point the lines flushed since the last fence are grouped into
 * units (one per cache line; a line flushed more than once has one version
 * per flush, and may land as any of them).  With --evict, lines whose
 * mapping content differs from what is durable or pending are units too
 * (an early eviction), with the current content as one more version.
 *
 * A flushed line whose every version equals what is durable is no unit:
 * landing it or not gives the same image (a 16 KiB segment written whole,
 * mostly zero over zero, would otherwise put a split's fence past the
 * limit of exhaustive enumeration).
 *
 * The images of a crash point: every combination of the units' choices
 * (nothing, or one of its versions) when there are at most 4096 of them
 * (12 single-version lines); otherwise nothing, everything (latest
 * versions), each unit alone (every metadata unit -- from a flush of at
 * most 4 lines -- and 16 sampled data units), and opt.sample random
 * combinations.  Tearing (x86: only aligned 8-byte stores are
 * failure-atomic): a landing line may land as a subset of its changed
 * 8-byte words; opt.tear_dflt sampled torn images per crash point, or with
 * --tear every proper subset of every metadata unit's changed words (at
 * most 30 per version, sampled beyond; 8 sampled data units when there is
 * no metadata unit).  All random choices are seeded
 * from the run's seed, the workload and the crash point number, so every
 * worker process enumerates the same images.
 *
 * Threads: the pending lines are those of every thread (model.c); where
 * they are of two threads or more, every combination is enumerated only up
 * to opt.mt_exhaust, then the sampled set.  Such a crash point is checked
 * on a thread of its own (crash_point).
 *
 * An image file is written sparse: only the pages of the durable image
 * that were ever written, with the chosen lines patched in (and restored
 * afterwards); never a whole-pool copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim.h"

/* cmp_pend -- order pending lines by offset, then by flush order */
static int
cmp_pend(const void *a, const void *b)
{
	const struct pend *const *x = a, *const *y = b;

	if ((*x)->off != (*y)->off)
		return (*x)->off < (*y)->off ? -1 : 1;
	return *x < *y ? -1 : *x > *y;
}

/* evicted line contents (--evict), owned by build_units' caller */
static uint8_t *evbuf;
static size_t evcap;

/* build_units -- group pending lines into units; dirty lines too (evict) */
size_t
build_units(struct model *m, struct unit **units, int evict)
{
	size_t n = m->npend, nu = 0, cap;
	const struct pend **v = malloc((n + 1) * sizeof(*v));
	struct unit *u;

	if (v == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		v[i] = &m->pend[i];
	qsort(v, n, sizeof(*v), cmp_pend);
	cap = n + 16;
	u = calloc(cap, sizeof(*u));
	if (u == NULL)
		abort();
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && v[j]->off == v[i]->off)
			j++;
		u[nu].off = v[i]->off;
		u[nu].nver = 0;
		u[nu].ver = malloc((j - i + 1) * sizeof(*u[nu].ver));
		if (u[nu].ver == NULL)
			abort();
		for (size_t k = i; k < j; k++) {
			/* a re-flush of the same bytes is not a new version */
			if (u[nu].nver && !memcmp(u[nu].ver[u[nu].nver - 1],
						  v[k]->data, LINE))
				continue;
			/* nor is what the media holds already: landing it
			 * is the image without it (a zeroed page, the
			 * empty buckets of a split's twin) */
			if (!memcmp(m->durable + u[nu].off, v[k]->data, LINE))
				continue;
			u[nu].ver[u[nu].nver++] = v[k]->data;
			u[nu].meta |= v[k]->meta;
		}
		if (u[nu].nver)
			nu++;
		else
			free(u[nu].ver);
		i = j;
	}
	free(v);
	if (!evict)
		goto out;
	/* early evictions: mapping differs from durable + latest pending */
	size_t nev = 0, norig = nu;
	unsigned char vec[256];

	for (size_t p0 = 0; p0 < m->npages; p0 += 256) {
		size_t cnt = m->npages - p0 < 256 ? m->npages - p0 : 256;
		size_t ui = 0;

		if (mincore(m->base + p0 * PAGE, cnt * PAGE, vec))
			memset(vec, 1, sizeof(vec));
		for (size_t k = 0; k < cnt; k++) {
			if (!(vec[k] & 1))
				continue;
			uint64_t pg = (p0 + k) * PAGE;

			for (uint64_t off = pg; off < pg + PAGE && off < m->len;
			     off += LINE) {
				const uint8_t *expect = m->durable + off;
				struct unit *x = NULL;

				while (ui < norig && u[ui].off < off)
					ui++;
				if (ui < norig && u[ui].off == off) {
					x = &u[ui];
					expect = x->ver[x->nver - 1];
				}
				if (!memcmp(m->base + off, expect, LINE))
					continue;
				if (nev == evcap) {
					evcap = evcap ? evcap * 2 : 4096;
					evbuf = realloc(evbuf, evcap * LINE);
					if (evbuf == NULL)
						abort();
				}
				memcpy(evbuf + nev * LINE, m->base + off, LINE);
				if (x) {
					x->ver[x->nver++] =
						(const uint8_t *)(uintptr_t)nev;
					x->meta |= 2; /* resolved below */
				} else {
					if (nu == cap) {
						cap *= 2;
						u = realloc(u,
							    cap * sizeof(*u));
						if (u == NULL)
							abort();
					}
					/* kept in offset order: append, sort */
					memset(&u[nu], 0, sizeof(u[nu]));
					u[nu].off = off;
					u[nu].ver = malloc(sizeof(*u[nu].ver));
					if (u[nu].ver == NULL)
						abort();
					u[nu].ver[0] =
						(const uint8_t *)(uintptr_t)nev;
					u[nu].nver = 1;
					u[nu].meta = 4;
					nu++;
				}
				nev++;
			}
		}
	}
	/* the evicted contents' addresses are final now */
	for (size_t i = 0; i < nu; i++) {
		if (u[i].meta & 4) {
			u[i].ver[0] = evbuf + (uintptr_t)u[i].ver[0] * LINE;
			u[i].meta = 0;
		} else if (u[i].meta & 2) {
			uint32_t k = u[i].nver - 1;

			u[i].ver[k] = evbuf + (uintptr_t)u[i].ver[k] * LINE;
			u[i].meta &= 1;
		}
	}
out:
	*units = u;
	return nu;
}

/* free_units -- release build_units' result */
void
free_units(struct unit *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(u[i].ver);
	free(u);
}

/* set_bit -- mark page p in a page bitmap */
static inline void
set_bit(uint64_t *b, uint64_t p)
{
	b[p / 64] |= 1ULL << (p % 64);
}

/* landed -- the content unit u lands as under pick pk, into out */
static void
landed(const struct model *m, const struct unit *u, const struct pick *pk,
       uint8_t *out)
{
	const uint8_t *v = u->ver[pk->v - 1];

	if (pk->tear == 0) {
		memcpy(out, v, LINE);
		return;
	}
	memcpy(out, m->durable + u->off, LINE);
	for (int w = 0; w < 8; w++)
		if ((pk->tear >> w) & 1)
			memcpy(out + 8 * w, v + 8 * w, 8);
}

/*
 * write_image -- the durable image with the picked lines landed, written
 * sparse to path: only touched or patched pages are written
 */
int
write_image(const char *path, struct model *m, const struct unit *u,
	    const struct pick *pk, size_t n)
{
	static uint8_t *save;
	static size_t savecap;
	size_t np = 0, words = m->npages / 64 + 1;
	int fd, ret = 0;

	if (n > savecap) {
		savecap = n + 1024;
		save = realloc(save, savecap * LINE);
		if (save == NULL)
			abort();
	}
	for (size_t i = 0; i < n; i++) {
		if (pk[i].v == 0)
			continue;
		uint8_t line[LINE];

		landed(m, &u[i], &pk[i], line);
		memcpy(save + i * LINE, m->durable + u[i].off, LINE);
		memcpy(m->durable + u[i].off, line, LINE);
		set_bit(m->patched, u[i].off / PAGE);
		np++;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)m->len)) {
		ret = -1;
		goto restore;
	}
	for (uint64_t p = 0, q; p < m->npages;) {
		uint64_t w = p / 64;
		uint64_t bits = (m->touched[w] | m->patched[w]) >> (p % 64);

		if (bits == 0) {
			p = (w + 1) * 64;
			continue;
		}
		p += (uint64_t)__builtin_ctzll(bits);
		if (p >= m->npages)
			break;
		/* a run of pages to write */
		for (q = p + 1; q < m->npages; q++)
			if (!(((m->touched[q / 64] | m->patched[q / 64]) >>
			       (q % 64)) &
			      1))
				break;
		size_t off = p * PAGE, len = (q - p) * PAGE;

		if (off + len > m->len)
			len = m->len - off;
		if (pwrite(fd, m->durable + off, len, (off_t)off) !=
		    (ssize_t)len) {
			ret = -1;
			break;
		}
		p = q;
	}
	close(fd);
restore:
	for (size_t i = n; i-- > 0;) {
		if (pk[i].v == 0)
			continue;
		memcpy(m->durable + u[i].off, save + i * LINE, LINE);
	}
	if (np)
		memset(m->patched, 0, words * 8);
	return ret;
}

/* describe_image -- the picked lines, for a violation report */
void
describe_image(char *buf, size_t len, const struct model *m,
	       const struct unit *u, const struct pick *pk, size_t n)
{
	size_t at = 0, shown = 0, taken = 0;

	for (size_t i = 0; i < n; i++)
		taken += pk[i].v != 0;
	at += (size_t)snprintf(buf + at, len - at,
			       "%zu of %zu lines landed:", taken, n);
	for (size_t i = 0; i < n && at < len; i++) {
		if (pk[i].v == 0)
			continue;
		if (shown++ == 12) {
			at += (size_t)snprintf(buf + at, len - at, " ...");
			break;
		}
		at += (size_t)snprintf(buf + at, len - at, " 0x%llx",
				       (unsigned long long)u[i].off);
		if (u[i].nver > 1 && at < len)
			at += (size_t)snprintf(buf + at, len - at, "=v%u/%u",
					       pk[i].v, u[i].nver);
		if (pk[i].tear && at < len)
			at += (size_t)snprintf(buf + at, len - at,
					       "(torn, words 0x%02x)",
					       pk[i].tear);
	}
	(void)m;
}

/* changed_words -- which 8-byte words of version k differ from durable */
static unsigned
changed_words(const struct model *m, const struct unit *u, uint32_t k)
{
	unsigned mask = 0;
	const uint8_t *v = u->ver[k - 1], *d = m->durable + u->off;

	for (int w = 0; w < 8; w++)
		if (memcmp(v + 8 * w, d + 8 * w, 8))
			mask |= 1U << w;
	return mask;
}

/* subset_of -- the i-th non-empty proper subset of mask's bits */
static unsigned
subset_of(unsigned mask, unsigned i)
{
	unsigned out = 0, bit = 0;

	for (int w = 0; w < 8; w++) {
		if (!((mask >> w) & 1))
			continue;
		if ((i >> bit) & 1)
			out |= 1U << w;
		bit++;
	}
	return out;
}

/* the current crash point has pending lines of two threads or more */
static int xt_point;

/* one image of the current crash point: write it, maybe check it */
static void
one_image(struct model *m, const struct unit *u, const struct pick *pk,
	  size_t n, int mine)
{
	uint64_t no = img_no++;
	char why[1024], subset[1024];
	int dump = opt.dump && opt.dump_every && no % opt.dump_every == 0;

	if (!mine || *stop_all)
		return;
	if (xt_point)
		cur->xt_images++;
	if (dump) {
		char p[4200];

		snprintf(p, sizeof(p), "%s/%s-cp%llu-img%llu.pool", opt.dump,
			 cur_wl, (unsigned long long)cp_no,
			 (unsigned long long)no);
		if (write_image(p, m, u, pk, n))
			fprintf(stderr, "crash: cannot dump %s: %s\n", p,
				strerror(errno));
	}
	if (write_image(img_path, m, u, pk, n)) {
		fprintf(stderr, "crash: cannot write %s: %s\n", img_path,
			strerror(errno));
		abort();
	}
	cur->images++;
	why[0] = 0;
	if (check_image(no, why, sizeof(why)) == 0)
		return;
	describe_image(subset, sizeof(subset), m, u, pk, n);
	report_violation(why, subset);
	if (opt.keep) {
		char p[4200];

		snprintf(p, sizeof(p), "%s/%s-cp%llu-img%llu.pool", opt.keep,
			 cur_wl, (unsigned long long)cp_no,
			 (unsigned long long)no);
		if (write_image(p, m, u, pk, n) == 0)
			fprintf(stderr, "  image kept: %s\n", p);
	}
}

/* trim -- forget touched pages that are all zero again (sparse images) */
static void
trim(struct model *m)
{
	for (uint64_t w = 0; w <= m->npages / 64; w++) {
		uint64_t bits = m->touched[w];

		while (bits) {
			uint64_t b = (uint64_t)__builtin_ctzll(bits);
			uint64_t p = w * 64 + b;
			const uint64_t *q =
				(const uint64_t *)(m->durable + p * PAGE);
			size_t k = 0;

			bits &= bits - 1;
			if (p >= m->npages)
				break;
			while (k < PAGE / 8 && q[k] == 0)
				k++;
			if (k == PAGE / 8)
				m->touched[w] &= ~(1ULL << b);
		}
	}
}

/* random_pick -- each unit independently: nothing or one version */
static void
random_pick(uint64_t *rs, const struct unit *u, struct pick *pk, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t r = rng_next(rs);

		pk[i].tear = 0;
		pk[i].v = (r & 1) ? 1 + (uint32_t)((r >> 8) % u[i].nver) : 0;
	}
}

/*
 * crash_body -- the workload's pool loses power now: enumerate the
 * images of this crash point (the same in every worker) and check this
 * worker's share of crash points
 */
static void
crash_body(int at_flush)
{
	struct model *m = &wl_model;
	struct unit *u;
	size_t n, i;
	uint64_t rs = opt.seed ^ (cp_no * 0x9e3779b97f4a7c15ULL) ^
		      (uint64_t)(uintptr_t)cur_wl[0] << 56;
	int mine;
	struct pick *pk;
	uint64_t prod = 1;

	cp_at_flush = at_flush;
	if (*stop_all)
		return;
	in_check = 1;
	trim(m);
	mine = (int)(cp_no % (uint64_t)nworkers) == worker;
	n = build_units(m, &u, opt.evict);
	if (vw_on)
		vw_crash_point(m, u, n);
	pk = calloc(n + 1, sizeof(*pk));
	if (pk == NULL)
		abort();
	/* threads: another thread's lines pending at this fence */
	xt_point = 0;
	for (i = 1; i < m->npend && !xt_point; i++)
		xt_point = m->pend[i].tid != m->pend[0].tid;
	if (mine) {
		cur->points++;
		cur->xt_points += (uint64_t)xt_point;
	}
	/*
	 * every combination up to 4096 (12 single-version lines); where
	 * several threads' lines are pending, up to opt.mt_exhaust, then the
	 * sampled set: the lines of concurrent operations multiply
	 */
	uint64_t lim = xt_point ? opt.mt_exhaust : 4096;

	for (i = 0; i < n && prod <= lim; i++)
		prod *= u[i].nver + 1;
	if (prod <= lim) {
		/* every combination, mixed radix */
		for (uint64_t k = 0; k < prod; k++) {
			uint64_t x = k;

			for (i = 0; i < n; i++) {
				pk[i].v = (uint32_t)(x % (u[i].nver + 1));
				pk[i].tear = 0;
				x /= u[i].nver + 1;
			}
			one_image(m, u, pk, n, mine);
		}
	} else {
		size_t ndata = 0;

		/* nothing; everything (latest versions) */
		memset(pk, 0, n * sizeof(*pk));
		one_image(m, u, pk, n, mine);
		for (i = 0; i < n; i++)
			pk[i].v = u[i].nver;
		one_image(m, u, pk, n, mine);
		/* each alone: metadata units all, data units sampled */
		for (i = 0; i < n; i++)
			ndata += !u[i].meta;
		for (i = 0; i < n; i++) {
			if (!u[i].meta &&
			    (ndata <= 16 || rng_next(&rs) % ndata >= 16))
				continue;
			for (uint32_t v = 1; v <= u[i].nver; v++) {
				memset(pk, 0, n * sizeof(*pk));
				pk[i].v = v;
				one_image(m, u, pk, n, mine);
			}
		}
		for (unsigned s = 0; s < opt.sample; s++) {
			random_pick(&rs, u, pk, n);
			one_image(m, u, pk, n, mine);
		}
	}
	/* torn lines */
	if (n) {
		size_t meta = 0;

		for (i = 0; i < n; i++)
			meta += u[i].meta != 0;
		for (i = 0; i < n && opt.tear; i++) {
			/* metadata lines; without any, 8 sampled data lines */
			if (!u[i].meta &&
			    (meta || (n > 8 && rng_next(&rs) % n >= 8)))
				continue;
			for (uint32_t v = 1; v <= u[i].nver; v++) {
				unsigned cw = changed_words(m, &u[i], v);
				unsigned nb = (unsigned)__builtin_popcount(cw);
				unsigned nsub = nb < 2 ? 0 : (1U << nb) - 2;

				for (unsigned s = 1; s <= nsub; s++) {
					unsigned k = s;

					if (nsub > 30) {
						if (s > 30)
							break;
						k = 1 +
						    (unsigned)(rng_next(&rs) %
							       nsub);
					}
					random_pick(&rs, u, pk, n);
					pk[i].v = v;
					pk[i].tear = (uint8_t)subset_of(cw, k);
					one_image(m, u, pk, n, mine);
				}
			}
		}
		for (unsigned t = 0; t < opt.tear_dflt && !opt.tear; t++) {
			size_t tries = 0;

			for (; tries < 8; tries++) {
				i = rng_next(&rs) % n;
				if (meta && !u[i].meta)
					continue;
				uint32_t v = 1 + (uint32_t)(rng_next(&rs) %
							    u[i].nver);
				unsigned cw = changed_words(m, &u[i], v);
				unsigned nb = (unsigned)__builtin_popcount(cw);

				if (nb < 2)
					continue;
				random_pick(&rs, u, pk, n);
				pk[i].v = v;
				pk[i].tear = (uint8_t)subset_of(
					cw, 1 + (unsigned)(rng_next(&rs) %
							   ((1U << nb) - 2)));
				one_image(m, u, pk, n, mine);
				break;
			}
		}
	}
	free(pk);
	free_units(u, n);
	cp_no++;
	in_check = 0;
}

/* crash_thread -- crash_body on a thread of its own */
static void *
crash_thread(void *arg)
{
	crash_body(*(int *)arg);
	return NULL;
}

/*
 * crash_point -- called by the hooks at every fence (and flush).  In a
 * threaded workload the images are checked on a fresh thread: recovering
 * and filling image pools must leave no trace in the workload thread's
 * thread-local state (the library's per-thread caches and slabs), or the
 * worker that checks this crash point would run the workload differently
 * from the others, and the crash points would no longer agree.
 */
void
crash_point(int at_flush)
{
	pthread_t t;

	if (!sched_on) {
		crash_body(at_flush);
		return;
	}
	if (pthread_create(&t, NULL, crash_thread, &at_flush) ||
	    pthread_join(t, NULL)) {
		perror("crash: checker thread");
		abort();
	}
}
