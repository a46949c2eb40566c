/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * model.c -- owns the media model: the interposed libpmem entry points and
 * the durable image of each tracked mapping.
 *
 * The executable exports its own definitions of libpmem's persistence
 * functions (ENABLE_EXPORTS), so the library's calls land here first; each
 * calls libpmem's real one (dlsym RTLD_NEXT) and tells the model.  A flush
 * (pmem_flush, or pmem_memcpy/memmove/memset without PMEM_F_MEM_NOFLUSH)
 * snapshots the flushed cache lines as pending; a fence (pmem_drain, or a
 * memcpy/memset without PMEM_F_MEM_NODRAIN) first takes a crash point, then
 * makes the pending snapshots durable, in order.  Stores that were never
 * flushed do not reach the durable image.
 *
 * Threads (the x86 model per thread, docs/crash-testing.md): each pending
 * snapshot carries the number of the thread that flushed it (sched.c), and
 * a fence makes durable only its own thread's snapshots: another thread's
 * flushed lines stay pending, so the crash images of every later fence
 * range over them too.  A line's durable content is as of a flush: when a
 * fence commits a snapshot of a line, every older snapshot of that line
 * (of any thread) is superseded and dropped, newer ones stay pending.
 * Every interposed call of a managed thread is first a yield point of the
 * scheduler, before it takes effect.
 *
 * Two mappings can be tracked: the workload's pool (wl_model), whose
 * fences are crash points, and an image under recovery (rec_model), whose
 * fences are only recorded, to crash recovery itself afterwards (I7).
 * pmem_map_file attaches a model when the path is the one expected.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem.h>

#include "sim.h"

struct model wl_model, rec_model;
char wl_path[4096], img_path[4096];
uint8_t *img_base, *last_base;
size_t img_len;
int armed, in_check, track_img;

/* real -- libpmem's own definition of a symbol interposed here */
static void *
real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		fprintf(stderr, "crash: no %s in libpmem\n", name);
		abort();
	}
	return f;
}

/* model_attach -- start tracking a mapping; durable = the file as it is */
static void
model_attach(struct model *m, void *addr, size_t len, const char *path,
	     int nested)
{
	int fd;

	model_release(m);
	m->base = addr;
	m->len = len;
	m->npages = (len + PAGE - 1) / PAGE;
	m->durable = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	m->touched = calloc(m->npages / 64 + 1, 8);
	m->patched = calloc(m->npages / 64 + 1, 8);
	if (m->durable == MAP_FAILED || !m->touched || !m->patched) {
		perror("crash: model");
		abort();
	}
	m->nested = nested;
	m->nepochs = 0;
	/* what the media holds now: the file's data extents */
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror("crash: model open");
		abort();
	}
	for (off_t d = 0; (size_t)d < len;) {
		off_t s = lseek(fd, d, SEEK_DATA), e;

		if (s < 0)
			break;
		e = lseek(fd, s, SEEK_HOLE);
		if (e < 0 || (size_t)e > len)
			e = (off_t)len;
		for (off_t p = s & ~(off_t)(PAGE - 1); p < e; p += PAGE) {
			size_t n =
				len - (size_t)p < PAGE ? len - (size_t)p : PAGE;

			if (pread(fd, m->durable + p, n, p) != (ssize_t)n) {
				perror("crash: model read");
				abort();
			}
			for (size_t i = 0; i < n; i += 8)
				if (*(uint64_t *)(m->durable + p + i)) {
					m->touched[p / PAGE / 64] |=
						1ULL << (p / PAGE % 64);
					break;
				}
		}
		d = e;
	}
	close(fd);
	m->active = 1;
}

/* model_release -- stop tracking and free the model's memory */
void
model_release(struct model *m)
{
	if (m->durable && m->durable != MAP_FAILED)
		munmap(m->durable, m->len);
	free(m->touched);
	free(m->patched);
	free(m->pend);
	for (size_t i = 0; i < m->nepochs; i++)
		free(m->epochs[i]);
	free(m->epochs);
	free(m->nepoch);
	memset(m, 0, sizeof(*m));
}

/* model_of -- the tracked model whose mapping holds addr, or NULL */
static struct model *
model_of(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	if (wl_model.active && a >= (uintptr_t)wl_model.base &&
	    a < (uintptr_t)wl_model.base + wl_model.len)
		return in_check ? NULL : &wl_model;
	if (rec_model.active && a >= (uintptr_t)rec_model.base &&
	    a < (uintptr_t)rec_model.base + rec_model.len)
		return &rec_model;
	return NULL;
}

/* snap -- the lines of [addr, addr + len) as flushed now */
static void
snap(struct model *m, const void *addr, size_t len)
{
	uint64_t a = (uint64_t)((const uint8_t *)addr - m->base);
	uint64_t first = a & ~(uint64_t)(LINE - 1);
	uint64_t last = (a + len - 1) & ~(uint64_t)(LINE - 1);
	uint32_t meta = last - first < 4 * LINE;

	if (last >= m->len)
		last = (m->len - 1) & ~(uint64_t)(LINE - 1);
	for (uint64_t off = first; off <= last; off += LINE) {
		if (m->npend == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 1024;
			struct pend *p = realloc(m->pend, cap * sizeof(*p));

			if (p == NULL) {
				perror("crash: pending lines");
				abort();
			}
			m->pend = p;
			m->cap = cap;
		}
		struct pend *p = &m->pend[m->npend++];

		p->off = off;
		p->meta = meta;
		p->tid = (uint32_t)sched_self;
		memcpy(p->data, m->base + off, LINE);
	}
}

/* model_commit_all -- lines become durable, in order (later ones win) */
void
model_commit_all(struct model *m, struct pend *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memcpy(m->durable + p[i].off, p[i].data, LINE);
		m->touched[p[i].off / PAGE / 64] |= 1ULL
						    << (p[i].off / PAGE % 64);
	}
}

/* cmp_idx -- order pending indices by line offset, then flush order */
static struct pend *sort_pend;

static int
cmp_idx(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (sort_pend[x].off != sort_pend[y].off)
		return sort_pend[x].off < sort_pend[y].off ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * commit_thread -- thread tid's fence completed: its pending snapshots
 * become durable.  Per line, its newest snapshot lands (later flushes win);
 * every older snapshot of that line, of any thread, is superseded; other
 * threads' newer snapshots stay pending, in flush order.
 */
static void
commit_thread(struct model *m, uint32_t tid)
{
	size_t n = m->npend, k = 0, *ix;
	int foreign = 0;

	for (size_t i = 0; i < n && !foreign; i++)
		foreign = m->pend[i].tid != tid;
	if (!foreign) {
		/* one thread's lines only (every single-threaded workload) */
		model_commit_all(m, m->pend, n);
		m->npend = 0;
		return;
	}
	ix = malloc((n + 1) * sizeof(*ix));
	if (ix == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	sort_pend = m->pend;
	qsort(ix, n, sizeof(*ix), cmp_idx);
	for (size_t i = 0; i < n;) {
		size_t j = i, last = SIZE_MAX;

		while (j < n && m->pend[ix[j]].off == m->pend[ix[i]].off) {
			if (m->pend[ix[j]].tid == tid)
				last = ix[j];
			j++;
		}
		if (last != SIZE_MAX) {
			/* lands: it and all older are no longer pending */
			model_commit_all(m, &m->pend[last], 1);
			for (size_t q = i; q < j; q++)
				if (ix[q] <= last)
					m->pend[ix[q]].meta |= 0x80000000u;
		}
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		if (!(m->pend[i].meta & 0x80000000u))
			m->pend[k++] = m->pend[i];
	m->npend = k;
	free(ix);
}

/* on_flush -- a flush of [addr, addr + len) was issued */
static void
on_flush(const void *addr, size_t len)
{
	struct model *m;

	if (len == 0 || (m = model_of(addr)) == NULL)
		return;
	if (m == &wl_model && armed && opt.flush_points) {
		int e = errno;

		crash_point(1);
		errno = e;
	}
	snap(m, addr, len);
}

/* on_fence -- a fence: crash point, then pending lines become durable */
static void
on_fence(void)
{
	int e = errno;

	if (wl_model.active && !in_check) {
		if (armed)
			crash_point(0);
		/* x86: an sfence orders only its own thread's flushes */
		commit_thread(&wl_model, (uint32_t)sched_self);
	}
	if (rec_model.active && rec_model.nested) {
		/* recovery's fences are replayed later (check.c) */
		struct model *m = &rec_model;
		struct pend **ep =
			realloc(m->epochs, (m->nepochs + 1) * sizeof(*ep));
		size_t *ne = realloc(m->nepoch, (m->nepochs + 1) * sizeof(*ne));

		if (ep == NULL || ne == NULL) {
			perror("crash: epochs");
			abort();
		}
		m->epochs = ep;
		m->nepoch = ne;
		ep[m->nepochs] = malloc(m->npend * sizeof(struct pend) + 1);
		if (ep[m->nepochs] == NULL)
			abort();
		memcpy(ep[m->nepochs], m->pend, m->npend * sizeof(struct pend));
		ne[m->nepochs] = m->npend;
		m->nepochs++;
		m->npend = 0;
	}
	errno = e;
}

/* ---- the interposed libpmem entry points ---- */

/* pmem_flush -- interposed: flush, then snapshot the lines */
void
pmem_flush(const void *addr, size_t len)
{
	static void (*f)(const void *, size_t);

	if (f == NULL)
		f = real("pmem_flush");
	sched_point();
	f(addr, len);
	on_flush(addr, len);
}

/* pmem_deep_flush -- interposed: as pmem_flush */
void
pmem_deep_flush(const void *addr, size_t len)
{
	static void (*f)(const void *, size_t);

	if (f == NULL)
		f = real("pmem_deep_flush");
	sched_point();
	f(addr, len);
	on_flush(addr, len);
}

/* pmem_drain -- interposed: crash point, lines durable, then fence */
void
pmem_drain(void)
{
	static void (*f)(void);

	if (f == NULL)
		f = real("pmem_drain");
	sched_fence_point();
	on_fence();
	f();
}

/* pmem_persist -- interposed: flush + drain, both seen */
void
pmem_persist(const void *addr, size_t len)
{
	pmem_flush(addr, len);
	pmem_drain();
}

/* pmem_deep_drain -- interposed: a fence */
int
pmem_deep_drain(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
	pmem_drain();
	return 0;
}

/* pmem_deep_persist -- interposed: flush + fence */
int
pmem_deep_persist(const void *addr, size_t len)
{
	pmem_persist(addr, len);
	return 0;
}

/* after_copy -- the flush and fence a memcpy/memset with flags implies */
static void
after_copy(void *dst, size_t len, unsigned flags)
{
	if (flags & PMEM_F_MEM_NOFLUSH)
		return; /* nothing flushed, and no drain either */
	on_flush(dst, len);
	if (!(flags & PMEM_F_MEM_NODRAIN))
		pmem_drain();
}

/* pmem_memcpy -- interposed: copy, then flush/fence as the flags say */
void *
pmem_memcpy(void *dst, const void *src, size_t len, unsigned flags)
{
	static void *(*f)(void *, const void *, size_t, unsigned);

	if (f == NULL)
		f = real("pmem_memcpy");
	sched_point();
	f(dst, src, len, flags | PMEM_F_MEM_NODRAIN);
	after_copy(dst, len, flags);
	return dst;
}

/* pmem_memmove -- interposed: move, then flush/fence as the flags say */
void *
pmem_memmove(void *dst, const void *src, size_t len, unsigned flags)
{
	static void *(*f)(void *, const void *, size_t, unsigned);

	if (f == NULL)
		f = real("pmem_memmove");
	sched_point();
	f(dst, src, len, flags | PMEM_F_MEM_NODRAIN);
	after_copy(dst, len, flags);
	return dst;
}

/* pmem_memset -- interposed: set, then flush/fence as the flags say */
void *
pmem_memset(void *dst, int c, size_t len, unsigned flags)
{
	static void *(*f)(void *, int, size_t, unsigned);

	if (f == NULL)
		f = real("pmem_memset");
	sched_point();
	f(dst, c, len, flags | PMEM_F_MEM_NODRAIN);
	after_copy(dst, len, flags);
	return dst;
}

/* pmem_memcpy_persist -- interposed: memcpy with flush and fence */
void *
pmem_memcpy_persist(void *dst, const void *src, size_t len)
{
	return pmem_memcpy(dst, src, len, 0);
}

/* pmem_memcpy_nodrain -- interposed: memcpy with flush, no fence */
void *
pmem_memcpy_nodrain(void *dst, const void *src, size_t len)
{
	return pmem_memcpy(dst, src, len, PMEM_F_MEM_NODRAIN);
}

/* pmem_memmove_persist -- interposed: memmove with flush and fence */
void *
pmem_memmove_persist(void *dst, const void *src, size_t len)
{
	return pmem_memmove(dst, src, len, 0);
}

/* pmem_memmove_nodrain -- interposed: memmove with flush, no fence */
void *
pmem_memmove_nodrain(void *dst, const void *src, size_t len)
{
	return pmem_memmove(dst, src, len, PMEM_F_MEM_NODRAIN);
}

/* pmem_memset_persist -- interposed: memset with flush and fence */
void *
pmem_memset_persist(void *dst, int c, size_t len)
{
	return pmem_memset(dst, c, len, 0);
}

/* pmem_memset_nodrain -- interposed: memset with flush, no fence */
void *
pmem_memset_nodrain(void *dst, int c, size_t len)
{
	return pmem_memset(dst, c, len, PMEM_F_MEM_NODRAIN);
}

/* fd_is_wl -- is fd open on the workload's pool file? */
static int
fd_is_wl(int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(wl_path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* pmem_map_file -- interposed: map, and attach a model to the pool or image */
void *
pmem_map_file(const char *path, size_t len, int flags, mode_t mode,
	      size_t *mapped_lenp, int *is_pmemp)
{
	static void *(*f)(const char *, size_t, int, mode_t, size_t *, int *);
	size_t ml = 0;
	void *p;

	if (f == NULL)
		f = real("pmem_map_file");
	p = f(path, len, flags, mode, &ml, is_pmemp);
	if (mapped_lenp)
		*mapped_lenp = ml;
	if (p == NULL || path == NULL)
		return p;
	int e = errno;

	last_base = p;
	if (strcmp(path, wl_path) == 0 && !in_check)
		model_attach(&wl_model, p, ml, path, 0);
	else if (strcmp(path, img_path) == 0) {
		img_base = p;
		img_len = ml;
		if (track_img)
			model_attach(&rec_model, p, ml, path, 1);
	}
	errno = e;
	return p;
}

/*
 * fallocate -- interposed (the library's hole punching for its volatile
 * heap).  vw_nopunch refuses PUNCH_HOLE on the workload's pool, as a file
 * system without it (or device-dax) would: the heap's pages then keep
 * their content in the mapping when they are given back.  Punched pages
 * read as zero in the mapping afterwards; the durable image keeps what it
 * had (a punch the file system had not made durable by the crash): the
 * library may rely on neither.
 */
int
fallocate(int fd, int mode, off_t off, off_t len)
{
	static int (*f)(int, int, off_t, off_t);

	if (f == NULL)
		f = real("fallocate");
	if ((mode & FALLOC_FL_PUNCH_HOLE) && wl_model.active && !in_check &&
	    fd_is_wl(fd)) {
		if (vw_nopunch) {
			errno = EOPNOTSUPP;
			return -1;
		}
		vw_punched += (uint64_t)len / PAGE;
	}
	return f(fd, mode, off, len);
}

/* pmem_unmap -- interposed: detach the mapping's model, unmap */
int
pmem_unmap(void *addr, size_t len)
{
	static int (*f)(void *, size_t);

	if (f == NULL)
		f = real("pmem_unmap");
	if (wl_model.active && addr == wl_model.base)
		wl_model.active = 0; /* keep durable: released by workloads */
	if (rec_model.active && addr == rec_model.base)
		rec_model.active = 0;
	if (addr == img_base)
		img_base = NULL;
	return f(addr, len);
}
