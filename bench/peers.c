/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * peers.c -- the allocators allocbench compares, behind one interface
 *
 * This file owns the peers of bench/allocbench (see allocbench.h for the
 * slot interface and bench/README.md for what each peer means):
 *
 *   pmemstore     persist_alloc / persist_get / persist_free, one distinct
 *                 UUID per object (pregenerated per slot, varied per reuse)
 *   pmemobj-pool  pmemobj_alloc / pmemobj_free with the PMEMoids in an
 *                 array in the root object: findable after a restart
 *   pmemobj-dram  the same with the PMEMoids in DRAM (not crash-safe)
 *   glibc         __libc_malloc / __libc_free: glibc's allocator by its
 *                 own names, whatever the process's malloc is
 *   jemalloc      the malloc / free of libjemalloc.so.2 itself (Debian's,
 *                 loaded by libpmemstore for the volatile heap), called
 *                 through pointers: the process's malloc stays glibc's
 *   floor         no allocator: per operation two cache lines of the
 *                 calling thread's own, flushed, and one fence, on a pool
 *                 file mapped with pmem_map_file -- the least a crash-safe
 *                 allocator can do
 *   pmemstore-volatile  pmemstore_malloc / pmemstore_free: the volatile
 *                 heap on a pool's free pages (pmemstore.h since 1.3)
 *   memkind-pmem  memkind_malloc / memkind_free of a kind made by
 *                 memkind_create_pmem in the pool directory (built when
 *                 pkg-config finds memkind)
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <libpmem.h>
#include <libpmemobj.h>
#include <pmemstore.h>
#include <uuid/uuid.h>
#ifdef ALLOCBENCH_MEMKIND
#include <memkind.h>
#endif

#include "allocbench.h"
#include "pmemcount.h"

#define LINE 64
#define FLOOR_LINES 64 /* lines of each thread's own area (4 KiB) */
#define LAYOUT "allocbench"

/*
 * glibc's allocator by its own names: exported by glibc, declared by no
 * header.  Right also where malloc is another's (preloaded jemalloc).
 */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);

/*
 * The volatile heap, weak: allocbench links and runs its other peers
 * against a libpmemstore that predates it (the peer says it is missing).
 */
#pragma weak pmemstore_malloc
#pragma weak pmemstore_free
#pragma weak pmemstore_malloc_usable_size

/* a pmemstore slot: the UUID of its object and how often it was reused */
struct ps_slot {
	uuid_t id;
	uint64_t gen;
};

/* a floor thread: its own lines and what it did, on its own cache line */
struct floor_thread {
	char *lines;
	unsigned cur;
	uint64_t fences;
	uint64_t nlines;
} __attribute__((aligned(LINE)));

struct peer {
	const struct peer_ops *ops;
	struct peer_cfg cfg;
	char path[PATH_MAX];
	int made_file;
	int pmem;
	pmemcount_get_fn pc; /* the interposer, NULL when not preloaded */
	/* pmemstore */
	struct pmemstore *ps;
	struct ps_slot *slots;
	/* pmemobj-pool, pmemobj-dram */
	PMEMobjpool *pop;
	PMEMoid *oids;
	/* glibc, jemalloc, pmemstore-volatile, memkind-pmem */
	void **ptrs;
	/* glibc, jemalloc: the allocator's own functions */
	void *(*lmalloc)(size_t size);
	void (*lfree)(void *ptr);
	size_t (*lusable)(void *ptr);
#ifdef ALLOCBENCH_MEMKIND
	memkind_t kind;
#endif
	/* floor */
	char *base;
	size_t mapped;
	char *data;
	size_t stride;
	struct floor_thread *ft;
};

/*
 * splitmix64 -- the next value of a splitmix64 sequence
 */
uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * say -- format a message into a caller's buffer, return -1
 */
__attribute__((format(printf, 3, 4))) static int
say(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * pool_name -- the pool file of a peer: DIR/allocbench.TAG.PEER
 */
static int
pool_name(struct peer *p, char *msg, size_t msglen)
{
	int n = snprintf(p->path, sizeof(p->path), "%s/allocbench.%s.%s",
			 p->cfg.dir, p->cfg.tag, p->ops->name);
	if (n < 0 || (size_t)n >= sizeof(p->path))
		return say(msg, msglen, "pool path too long in %s", p->cfg.dir);
	unlink(p->path);
	return 0;
}

/*
 * check_space -- fail when DIR has less than need bytes free
 */
static int
check_space(struct peer *p, uint64_t need, char *msg, size_t msglen)
{
	struct statvfs vfs;
	if (statvfs(p->cfg.dir, &vfs) != 0)
		return say(msg, msglen, "statvfs %s: %s", p->cfg.dir,
			   strerror(errno));
	uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < need)
		return say(msg, msglen,
			   "%s: %llu MiB free, %s needs %llu MiB (smaller "
			   "sizes or fewer objects, or another -d)",
			   p->cfg.dir, (unsigned long long)(avail / MiB),
			   p->ops->name, (unsigned long long)(need / MiB));
	return 0;
}

/*
 * interposer_work -- counts from libpmemcount.so, when preloaded
 */
static enum count_src
interposer_work(struct peer *p, struct pwork *w)
{
	struct pmemcount c;
	if (p->pc == NULL || p->pc(&c) != 0) {
		w->fences = w->lines = 0;
		return COUNT_NONE;
	}
	w->fences = c.fences;
	w->lines = c.lines;
	return COUNT_INTERPOSER;
}

/*
 * no_live -- the live-object count of a peer that cannot tell
 */
static long long
no_live(struct peer *p)
{
	(void)p;
	return -1;
}

/*
 * dram_is_pmem -- a DRAM peer has no pool
 */
static int
dram_is_pmem(struct peer *p)
{
	(void)p;
	return -1;
}

/*
 * sparse_pool_bytes -- the size of a sparse pool for the workload:
 * max(1 GiB, 4 x the live bytes + room per slot), whole MiB.  Only the
 * pages used are allocated, so room to spare costs nothing.
 */
static uint64_t
sparse_pool_bytes(const struct peer_cfg *cfg)
{
	uint64_t size = 4 * cfg->max_live + cfg->nslots * 256 + 64 * MiB;
	if (size < GiB)
		size = GiB;
	return (size + MiB - 1) / MiB * MiB;
}

/*
 * ps_create -- a fresh pmemstore pool for the workload (pmemstore and
 * pmemstore-volatile)
 */
static int
ps_create(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	if (pool_name(p, msg, msglen) != 0)
		return -1;
	uint64_t size = sparse_pool_bytes(cfg);
	p->ps = pmemstore_create(p->path, size, 0600);
	if (p->ps == NULL)
		return say(msg, msglen, "pmemstore_create %s (%llu MiB): %s",
			   p->path, (unsigned long long)(size / MiB),
			   pmemstore_errormsg());
	p->made_file = 1;
	p->pmem = pmemstore_is_pmem(p->ps);
	return 0;
}

/*
 * ps_open -- a fresh pmemstore pool and the UUID of every slot
 */
static int
ps_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	p->slots = calloc(cfg->nslots, sizeof(*p->slots));
	if (p->slots == NULL)
		return say(msg, msglen, "out of memory for %zu slots",
			   cfg->nslots);
	uint64_t rng = cfg->seed;
	for (size_t i = 0; i < cfg->nslots; i++) {
		uint64_t a = splitmix64(&rng), b = splitmix64(&rng);
		memcpy(p->slots[i].id, &a, 8);
		memcpy(p->slots[i].id + 8, &b, 8);
		p->slots[i].id[6] =
			(uint8_t)((p->slots[i].id[6] & 0x0f) | 0x40);
		p->slots[i].id[8] =
			(uint8_t)((p->slots[i].id[8] & 0x3f) | 0x80);
	}
	return ps_create(p, cfg, msg, msglen);
}

/*
 * ps_close -- close the pmemstore pool
 */
static void
ps_close(struct peer *p)
{
	if (p->ps != NULL)
		pmemstore_close(p->ps);
	p->ps = NULL;
	free(p->slots);
	p->slots = NULL;
}

/*
 * ps_next_id -- give a reused slot a UUID of its own
 *
 * The first object of a slot takes the pregenerated UUID; each later one
 * replaces the last 8 bytes by a hash of (first 8 bytes, generation): a
 * few nanoseconds, and no two objects of a run share a UUID.
 */
static inline void
ps_next_id(struct ps_slot *s)
{
	if (s->gen++ == 0)
		return;
	uint64_t st;
	memcpy(&st, s->id, 8);
	st ^= s->gen * 0xd6e8feb86659fd93ULL;
	uint64_t v = splitmix64(&st);
	memcpy(s->id + 8, &v, 8);
	s->id[8] = (uint8_t)((s->id[8] & 0x3f) | 0x80);
}

/*
 * ps_alloc -- persist_alloc under the slot's next UUID
 */
static void *
ps_alloc(struct peer *p, unsigned tid, size_t slot, size_t size)
{
	(void)tid;
	struct ps_slot *s = &p->slots[slot];
	ps_next_id(s);
	return persist_alloc(p->ps, s->id, size, 0);
}

/*
 * ps_free -- persist_free of the slot's UUID
 */
static int
ps_free(struct peer *p, unsigned tid, size_t slot)
{
	(void)tid;
	return persist_free(p->ps, p->slots[slot].id);
}

/*
 * ps_get -- persist_get of the slot's UUID
 */
static void *
ps_get(struct peer *p, unsigned tid, size_t slot, size_t *size)
{
	(void)tid;
	return persist_get(p->ps, p->slots[slot].id, size);
}

/*
 * ps_work -- fences and flushed lines from pmemstore_stats()
 */
static enum count_src
ps_work(struct peer *p, struct pwork *w)
{
	struct pmemstore_stats st;
	if (pmemstore_stats(p->ps, &st) != 0) {
		w->fences = w->lines = 0;
		return COUNT_NONE;
	}
	w->fences = st.fences;
	w->lines = st.flushed_lines;
	return COUNT_STATS;
}

/*
 * ps_live -- live objects, from pmemstore_stats()
 */
static long long
ps_live(struct peer *p)
{
	struct pmemstore_stats st;
	if (pmemstore_stats(p->ps, &st) != 0)
		return -1;
	return (long long)st.objects;
}

/*
 * ps_is_pmem -- pmemstore_is_pmem()
 */
static int
ps_is_pmem(struct peer *p)
{
	return p->pmem;
}

/*
 * ps_errormsg -- pmemstore_errormsg()
 */
static const char *
ps_errormsg(struct peer *p)
{
	(void)p;
	return pmemstore_errormsg();
}

/*
 * obj_open -- a fresh pmemobj pool; the OID array in it or in DRAM
 *
 * pmemobj_create() fallocates the whole pool, so the pool is sized to the
 * workload (its objects three times over, plus room for the root array
 * and the heap's own metadata) and the directory is checked for room.
 */
static int
obj_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	if (pool_name(p, msg, msglen) != 0)
		return -1;
	uint64_t size = 3 * cfg->max_live + cfg->nslots * (128 + 16) + 32 * MiB;
	size = (size + MiB - 1) / MiB * MiB;
	if (check_space(p, size + 16 * MiB, msg, msglen) != 0)
		return -1;
	p->pop = pmemobj_create(p->path, LAYOUT, size, 0600);
	if (p->pop == NULL)
		return say(msg, msglen, "pmemobj_create %s (%llu MiB): %s",
			   p->path, (unsigned long long)(size / MiB),
			   pmemobj_errormsg());
	p->made_file = 1;
	p->pmem = pmem_is_pmem(p->pop, 4096);
	if (strcmp(p->ops->name, "pmemobj-pool") == 0) {
		PMEMoid root =
			pmemobj_root(p->pop, cfg->nslots * sizeof(PMEMoid));
		if (OID_IS_NULL(root))
			return say(msg, msglen, "pmemobj_root (%zu OIDs): %s",
				   cfg->nslots, pmemobj_errormsg());
		p->oids = pmemobj_direct(root);
	} else {
		p->oids = calloc(cfg->nslots, sizeof(PMEMoid));
		if (p->oids == NULL)
			return say(msg, msglen, "out of memory for %zu OIDs",
				   cfg->nslots);
	}
	return 0;
}

/*
 * obj_close -- close the pmemobj pool
 */
static void
obj_close(struct peer *p)
{
	if (p->oids != NULL && strcmp(p->ops->name, "pmemobj-dram") == 0)
		free(p->oids);
	p->oids = NULL;
	if (p->pop != NULL)
		pmemobj_close(p->pop);
	p->pop = NULL;
}

/*
 * obj_alloc -- pmemobj_alloc into the slot's OID
 */
static void *
obj_alloc(struct peer *p, unsigned tid, size_t slot, size_t size)
{
	(void)tid;
	if (pmemobj_alloc(p->pop, &p->oids[slot], size, 0, NULL, NULL) != 0)
		return NULL;
	return pmemobj_direct(p->oids[slot]);
}

/*
 * obj_free -- pmemobj_free of the slot's OID
 */
static int
obj_free(struct peer *p, unsigned tid, size_t slot)
{
	(void)tid;
	if (OID_IS_NULL(p->oids[slot])) {
		errno = ENOENT;
		return -1;
	}
	pmemobj_free(&p->oids[slot]);
	return 0;
}

/*
 * obj_get -- pmemobj_direct of the slot's OID (no names: an array index)
 */
static void *
obj_get(struct peer *p, unsigned tid, size_t slot, size_t *size)
{
	(void)tid;
	if (size != NULL)
		*size = pmemobj_alloc_usable_size(p->oids[slot]);
	return pmemobj_direct(p->oids[slot]);
}

/*
 * obj_is_pmem -- pmem_is_pmem() of the pool's mapping
 */
static int
obj_is_pmem(struct peer *p)
{
	return p->pmem;
}

/*
 * obj_errormsg -- pmemobj_errormsg()
 */
static const char *
obj_errormsg(struct peer *p)
{
	(void)p;
	return pmemobj_errormsg();
}

/*
 * ptrs_open -- the slot array of a peer that keeps plain pointers
 */
static int
ptrs_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	p->ptrs = calloc(cfg->nslots, sizeof(void *));
	if (p->ptrs == NULL)
		return say(msg, msglen, "out of memory for %zu slots",
			   cfg->nslots);
	return 0;
}

/*
 * ptrs_close -- free the slot array
 */
static void
ptrs_close(struct peer *p)
{
	free(p->ptrs);
	p->ptrs = NULL;
}

/*
 * ptrs_take -- the slot's block, the slot emptied; NULL (ENOENT) if empty
 */
static inline void *
ptrs_take(struct peer *p, size_t slot)
{
	void *ptr = p->ptrs[slot];
	if (ptr == NULL)
		errno = ENOENT;
	p->ptrs[slot] = NULL;
	return ptr;
}

/*
 * errno_msg -- errno as text
 */
static const char *
errno_msg(struct peer *p)
{
	(void)p;
	return strerror(errno);
}

/*
 * lib_sym -- a symbol of a library already loaded, looked up in that
 * library itself (not the process's first definition), or NULL
 */
static void *
lib_sym(const char *lib, const char *name)
{
	void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
	if (h == NULL)
		return NULL;
	void *sym = dlsym(h, name);
	dlclose(h);
	return sym;
}

/*
 * glibc_open -- glibc's allocator by its own names: __libc_malloc,
 * __libc_free, and the malloc_usable_size of libc.so.6
 */
static int
glibc_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	p->lmalloc = __libc_malloc;
	p->lfree = __libc_free;
	p->lusable =
		(size_t(*)(void *))lib_sym("libc.so.6", "malloc_usable_size");
	if (p->lusable == NULL)
		return say(msg, msglen,
			   "glibc's malloc_usable_size not found in "
			   "libc.so.6");
	return ptrs_open(p, cfg, msg, msglen);
}

#define JEMALLOC_SO "libjemalloc.so.2"

/*
 * je_unavailable -- why the jemalloc peer cannot run, or NULL
 *
 * libpmemstore loads libjemalloc.so.2 (the volatile heap); a dlopen of it
 * by allocbench itself would fail on its static TLS.
 */
static const char *
je_unavailable(void)
{
	if (lib_sym(JEMALLOC_SO, "mallctl") != NULL)
		return NULL;
	return JEMALLOC_SO " is not loaded in this process (it comes with "
			   "libpmemstore's volatile heap, 1.3)";
}

/*
 * je_open -- jemalloc's malloc, free and malloc_usable_size, from
 * libjemalloc.so.2 itself: the same functions a program whose malloc is
 * jemalloc calls, whichever malloc this process has
 */
static int
je_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	const char *why = je_unavailable();
	if (why != NULL)
		return say(msg, msglen, "%s", why);
	p->lmalloc = (void *(*)(size_t))lib_sym(JEMALLOC_SO, "malloc");
	p->lfree = (void (*)(void *))lib_sym(JEMALLOC_SO, "free");
	p->lusable =
		(size_t(*)(void *))lib_sym(JEMALLOC_SO, "malloc_usable_size");
	if (p->lmalloc == NULL || p->lfree == NULL || p->lusable == NULL)
		return say(msg, msglen,
			   "malloc, free or malloc_usable_size not found in "
			   "%s",
			   JEMALLOC_SO);
	return ptrs_open(p, cfg, msg, msglen);
}

/*
 * lib_alloc -- the peer's malloc (glibc's, jemalloc's) into the slot
 */
static void *
lib_alloc(struct peer *p, unsigned tid, size_t slot, size_t size)
{
	(void)tid;
	return p->ptrs[slot] = p->lmalloc(size);
}

/*
 * lib_free -- the peer's free of the slot's block
 */
static int
lib_free(struct peer *p, unsigned tid, size_t slot)
{
	(void)tid;
	void *ptr = ptrs_take(p, slot);
	if (ptr == NULL)
		return -1;
	p->lfree(ptr);
	return 0;
}

/*
 * lib_get -- the slot's pointer (no names: an array index) and the
 * peer's malloc_usable_size
 */
static void *
lib_get(struct peer *p, unsigned tid, size_t slot, size_t *size)
{
	(void)tid;
	void *ptr = p->ptrs[slot];
	if (size != NULL)
		*size = ptr ? p->lusable(ptr) : 0;
	return ptr;
}

/*
 * vol_unavailable -- why pmemstore-volatile cannot run, or NULL
 */
static const char *
vol_unavailable(void)
{
	if (pmemstore_malloc != NULL && pmemstore_free != NULL &&
	    pmemstore_malloc_usable_size != NULL)
		return NULL;
	return "this libpmemstore has no volatile heap (pmemstore_malloc, "
	       "since 1.3)";
}

/*
 * vol_open -- a fresh pool for the volatile heap; the slot array
 */
static int
vol_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	const char *why = vol_unavailable();
	if (why != NULL)
		return say(msg, msglen, "%s", why);
	if (ptrs_open(p, cfg, msg, msglen) != 0)
		return -1;
	return ps_create(p, cfg, msg, msglen);
}

/*
 * vol_close -- close the pool (every block was freed by the workload)
 */
static void
vol_close(struct peer *p)
{
	if (p->ps != NULL)
		pmemstore_close(p->ps);
	p->ps = NULL;
	ptrs_close(p);
}

/*
 * vol_alloc -- pmemstore_malloc into the slot
 */
static void *
vol_alloc(struct peer *p, unsigned tid, size_t slot, size_t size)
{
	(void)tid;
	return p->ptrs[slot] = pmemstore_malloc(p->ps, size);
}

/*
 * vol_free -- pmemstore_free of the slot's block
 */
static int
vol_free(struct peer *p, unsigned tid, size_t slot)
{
	(void)tid;
	void *ptr = ptrs_take(p, slot);
	if (ptr == NULL)
		return -1;
	pmemstore_free(p->ps, ptr);
	return 0;
}

/*
 * vol_get -- the slot's pointer and pmemstore_malloc_usable_size
 */
static void *
vol_get(struct peer *p, unsigned tid, size_t slot, size_t *size)
{
	(void)tid;
	void *ptr = p->ptrs[slot];
	if (size != NULL)
		*size = ptr ? pmemstore_malloc_usable_size(p->ps, ptr) : 0;
	return ptr;
}

/*
 * vol_work -- the volatile heap's persistence work: the interposer's
 * count when it is preloaded (it also sees libpmem calls the library's
 * counters might miss), else pmemstore_stats(): fences and msyncs,
 * flushed lines.  The goal is 0 of each.
 */
static enum count_src
vol_work(struct peer *p, struct pwork *w)
{
	if (p->pc != NULL)
		return interposer_work(p, w);
	struct pmemstore_stats st;
	if (pmemstore_stats(p->ps, &st) != 0) {
		w->fences = w->lines = 0;
		return COUNT_NONE;
	}
	w->fences = st.fences + st.msyncs;
	w->lines = st.flushed_lines;
	return COUNT_STATS;
}

/*
 * vol_live -- what the pool still holds: persistent objects plus the
 * volatile heap's live bytes (pmemstore_stats); 0 after a run
 */
static long long
vol_live(struct peer *p)
{
	struct pmemstore_stats st;
	if (pmemstore_stats(p->ps, &st) != 0)
		return -1;
	return (long long)(st.objects + st.volatile_bytes);
}

#ifdef ALLOCBENCH_MEMKIND
/*
 * mk_open -- a PMEM kind in the pool directory (memkind makes its own
 * unlinked file there), as large as pmemstore-volatile's pool
 */
static int
mk_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	if (ptrs_open(p, cfg, msg, msglen) != 0)
		return -1;
	uint64_t size = sparse_pool_bytes(cfg);
	int err = memkind_create_pmem(cfg->dir, (size_t)size, &p->kind);
	if (err != 0) {
		char buf[MEMKIND_ERROR_MESSAGE_SIZE];
		memkind_error_message(err, buf, sizeof(buf));
		p->kind = NULL;
		return say(msg, msglen, "memkind_create_pmem %s (%llu MiB): %s",
			   cfg->dir, (unsigned long long)(size / MiB), buf);
	}
	return 0;
}

/*
 * mk_close -- leave the kind to the process's exit.  memkind 1.14
 * (Debian 12) sometimes dies with SIGSEGV inside memkind_destroy_kind
 * (its jemalloc's arena destroy) after larson's thread hand-overs, with
 * every worker thread joined: 2 larson cells in 60 on 2 busy CPUs,
 * which failed a CI run.  A cell is a forked child that exits as soon as
 * its peer is closed, and the kind's file was unlinked when it was made,
 * so nothing outlives the child either way.
 */
static void
mk_close(struct peer *p)
{
	p->kind = NULL;
	ptrs_close(p);
}

/*
 * mk_alloc -- memkind_malloc of the kind into the slot
 */
static void *
mk_alloc(struct peer *p, unsigned tid, size_t slot, size_t size)
{
	(void)tid;
	return p->ptrs[slot] = memkind_malloc(p->kind, size);
}

/*
 * mk_free -- memkind_free of the slot's block
 */
static int
mk_free(struct peer *p, unsigned tid, size_t slot)
{
	(void)tid;
	void *ptr = ptrs_take(p, slot);
	if (ptr == NULL)
		return -1;
	memkind_free(p->kind, ptr);
	return 0;
}

/*
 * mk_get -- the slot's pointer and memkind_malloc_usable_size
 */
static void *
mk_get(struct peer *p, unsigned tid, size_t slot, size_t *size)
{
	(void)tid;
	void *ptr = p->ptrs[slot];
	if (size != NULL)
		*size = ptr ? memkind_malloc_usable_size(p->kind, ptr) : 0;
	return ptr;
}

#define mk_unavailable NULL
#else
/*
 * mk_unavailable -- memkind-pmem without memkind
 */
static const char *
mk_unavailable(void)
{
	return "allocbench was built without memkind (pkg-config memkind "
	       "not found: install libmemkind-dev and reconfigure)";
}

/*
 * mk_open -- the peer cannot run here
 */
static int
mk_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	(void)p;
	(void)cfg;
	return say(msg, msglen, "%s", mk_unavailable());
}

/* never called: mk_open fails */
#define mk_close ptrs_close
#define mk_alloc lib_alloc
#define mk_free lib_free
#define mk_get lib_get
#endif

/*
 * floor_open -- map the floor's file: each thread's lines, then the data
 *
 * The data area gives each slot a fixed place (no allocator at all), so
 * that workloads that write and check their objects run unchanged.
 */
static int
floor_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	if (pool_name(p, msg, msglen) != 0)
		return -1;
	p->stride = (cfg->max_size + LINE - 1) / LINE * LINE;
	size_t head = (size_t)cfg->threads * FLOOR_LINES * LINE;
	size_t size = head + cfg->nslots * p->stride;
	size = (size + 4095) / 4096 * 4096;
	if (check_space(p, cfg->max_live + head + 16 * MiB, msg, msglen) != 0)
		return -1;
	p->base = pmem_map_file(p->path, size,
				PMEM_FILE_CREATE | PMEM_FILE_EXCL |
					PMEM_FILE_SPARSE,
				0600, &p->mapped, &p->pmem);
	if (p->base == NULL)
		return say(msg, msglen, "pmem_map_file %s (%zu MiB): %s",
			   p->path, size >> 20, pmem_errormsg());
	p->made_file = 1;
	p->data = p->base + head;
	if (posix_memalign((void **)&p->ft, LINE,
			   cfg->threads * sizeof(*p->ft)) != 0)
		return say(msg, msglen, "out of memory");
	memset(p->ft, 0, cfg->threads * sizeof(*p->ft));
	for (unsigned t = 0; t < cfg->threads; t++)
		p->ft[t].lines = p->base + (size_t)t * FLOOR_LINES * LINE;
	return 0;
}

/*
 * floor_close -- unmap the floor's file
 */
static void
floor_close(struct peer *p)
{
	if (p->base != NULL)
		pmem_unmap(p->base, p->mapped);
	p->base = NULL;
	free(p->ft);
	p->ft = NULL;
}

/*
 * floor_op -- one durable metadata update: 2 own lines, 1 fence
 */
static inline void
floor_op(struct peer *p, unsigned tid, size_t slot, size_t size)
{
	struct floor_thread *t = &p->ft[tid];
	uint64_t *a = (uint64_t *)(t->lines + (size_t)t->cur * LINE);
	a[0] = slot;
	a[LINE / sizeof(uint64_t)] = size;
	if (p->pmem) {
		pmem_flush(a, 2 * LINE);
		pmem_drain();
	} else {
		pmem_msync(a, 2 * LINE);
	}
	t->cur = (t->cur + 2) % FLOOR_LINES;
	__atomic_store_n(&t->fences, t->fences + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&t->nlines, t->nlines + 2, __ATOMIC_RELAXED);
}

/*
 * floor_alloc -- the slot's fixed place, after one durable update
 */
static void *
floor_alloc(struct peer *p, unsigned tid, size_t slot, size_t size)
{
	floor_op(p, tid, slot, size);
	return p->data + slot * p->stride;
}

/*
 * floor_free -- one durable update
 */
static int
floor_free(struct peer *p, unsigned tid, size_t slot)
{
	floor_op(p, tid, slot, 0);
	return 0;
}

/*
 * floor_get -- the slot's fixed place
 */
static void *
floor_get(struct peer *p, unsigned tid, size_t slot, size_t *size)
{
	(void)tid;
	if (size != NULL)
		*size = p->stride;
	return p->data + slot * p->stride;
}

/*
 * floor_work -- what the floor's threads did, counted by themselves
 */
static enum count_src
floor_work(struct peer *p, struct pwork *w)
{
	w->fences = w->lines = 0;
	for (unsigned t = 0; t < p->cfg.threads; t++) {
		w->fences +=
			__atomic_load_n(&p->ft[t].fences, __ATOMIC_RELAXED);
		w->lines += __atomic_load_n(&p->ft[t].nlines, __ATOMIC_RELAXED);
	}
	return COUNT_SELF;
}

/*
 * floor_is_pmem -- pmem_map_file's verdict
 */
static int
floor_is_pmem(struct peer *p)
{
	return p->pmem;
}

/*
 * floor_errormsg -- pmem_errormsg()
 */
static const char *
floor_errormsg(struct peer *p)
{
	(void)p;
	return pmem_errormsg();
}

static const struct peer_ops peers[] = {
	{"pmemstore", ps_open, ps_close, ps_alloc, ps_free, ps_get, ps_work,
	 ps_live, ps_is_pmem, ps_errormsg, NULL},
	{"pmemobj-pool", obj_open, obj_close, obj_alloc, obj_free, obj_get,
	 interposer_work, no_live, obj_is_pmem, obj_errormsg, NULL},
	{"pmemobj-dram", obj_open, obj_close, obj_alloc, obj_free, obj_get,
	 interposer_work, no_live, obj_is_pmem, obj_errormsg, NULL},
	{"glibc", glibc_open, ptrs_close, lib_alloc, lib_free, lib_get,
	 interposer_work, no_live, dram_is_pmem, errno_msg, NULL},
	{"jemalloc", je_open, ptrs_close, lib_alloc, lib_free, lib_get,
	 interposer_work, no_live, dram_is_pmem, errno_msg, je_unavailable},
	{"floor", floor_open, floor_close, floor_alloc, floor_free, floor_get,
	 floor_work, no_live, floor_is_pmem, floor_errormsg, NULL},
	{"pmemstore-volatile", vol_open, vol_close, vol_alloc, vol_free,
	 vol_get, vol_work, vol_live, ps_is_pmem, errno_msg, vol_unavailable},
	{"memkind-pmem", mk_open, mk_close, mk_alloc, mk_free, mk_get,
	 interposer_work, no_live, dram_is_pmem, errno_msg, mk_unavailable},
};

#define NPEERS (sizeof(peers) / sizeof(peers[0]))

/*
 * peer_find -- the peer of that name, or NULL
 */
const struct peer_ops *
peer_find(const char *name)
{
	for (size_t i = 0; i < NPEERS; i++)
		if (strcmp(peers[i].name, name) == 0)
			return &peers[i];
	return NULL;
}

/*
 * peer_names -- every peer's name, NULL-terminated, in the order run
 */
const char *const *
peer_names(void)
{
	static const char *names[NPEERS + 1];
	for (size_t i = 0; i < NPEERS; i++)
		names[i] = peers[i].name;
	return names;
}

/*
 * peer_new -- an unopened peer
 */
struct peer *
peer_new(const struct peer_ops *ops)
{
	struct peer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->ops = ops;
	p->pmem = -1;
	p->pc = (pmemcount_get_fn)dlsym(RTLD_DEFAULT, PMEMCOUNT_GET_SYMBOL);
	return p;
}

/*
 * peer_open -- open a peer for a workload's configuration
 */
int
peer_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	p->cfg = *cfg;
	return p->ops->open(p, cfg, msg, msglen);
}

/*
 * peer_delete -- close a peer and remove its pool file
 */
void
peer_delete(struct peer *p)
{
	if (p == NULL)
		return;
	p->ops->close(p);
	if (p->made_file)
		unlink(p->path);
	free(p);
}

/*
 * peer_ops_of -- the operations of a peer
 */
const struct peer_ops *
peer_ops_of(const struct peer *p)
{
	return p->ops;
}
