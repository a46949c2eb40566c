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
 *   glibc         malloc / free of a process whose malloc is glibc's
 *   jemalloc      malloc / free of a process linked with jemalloc
 *                 (allocbench-je, the same sources built with jemalloc)
 *   floor         no allocator: per operation two cache lines of the
 *                 calling thread's own, flushed, and one fence, on a pool
 *                 file mapped with pmem_map_file -- the least a crash-safe
 *                 allocator can do
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
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

#include "allocbench.h"
#include "pmemcount.h"

#define LINE 64
#define FLOOR_LINES 64 /* lines of each thread's own area (4 KiB) */
#define LAYOUT "allocbench"

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
	/* glibc, jemalloc */
	void **ptrs;
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
 * ps_open -- a fresh pmemstore pool and the UUID of every slot
 */
static int
ps_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	if (pool_name(p, msg, msglen) != 0)
		return -1;
	/* sparse: only the pages used are allocated */
	uint64_t size = 4 * cfg->max_live + cfg->nslots * 256 + 64 * MiB;
	if (size < GiB)
		size = GiB;
	size = (size + MiB - 1) / MiB * MiB;
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
 * mal_open -- check that malloc is the allocator the peer names
 *
 * Debian's libjemalloc replaces malloc in the whole process, so glibc and
 * jemalloc are measured in two executables built from these sources:
 * allocbench (glibc) and allocbench-je (linked with jemalloc).  mallctl()
 * tells them apart.
 */
static int
mal_open(struct peer *p, const struct peer_cfg *cfg, char *msg, size_t msglen)
{
	int want_je = strcmp(p->ops->name, "jemalloc") == 0;
	int is_je = dlsym(RTLD_DEFAULT, "mallctl") != NULL;
	if (want_je && !is_je)
		return say(msg, msglen,
			   "this executable's malloc is not jemalloc: the "
			   "jemalloc peer runs in allocbench-je");
	if (!want_je && is_je)
		return say(msg, msglen,
			   "this executable's malloc is jemalloc, not glibc's "
			   "(preloaded?)");
	p->ptrs = calloc(cfg->nslots, sizeof(void *));
	if (p->ptrs == NULL)
		return say(msg, msglen, "out of memory for %zu slots",
			   cfg->nslots);
	return 0;
}

/*
 * mal_close -- free the slot array
 */
static void
mal_close(struct peer *p)
{
	free(p->ptrs);
	p->ptrs = NULL;
}

/*
 * mal_alloc -- malloc into the slot
 */
static void *
mal_alloc(struct peer *p, unsigned tid, size_t slot, size_t size)
{
	(void)tid;
	return p->ptrs[slot] = malloc(size);
}

/*
 * mal_free -- free the slot's block
 */
static int
mal_free(struct peer *p, unsigned tid, size_t slot)
{
	(void)tid;
	if (p->ptrs[slot] == NULL) {
		errno = ENOENT;
		return -1;
	}
	free(p->ptrs[slot]);
	p->ptrs[slot] = NULL;
	return 0;
}

/*
 * mal_get -- the slot's pointer (no names: an array index)
 */
static void *
mal_get(struct peer *p, unsigned tid, size_t slot, size_t *size)
{
	(void)tid;
	void *ptr = p->ptrs[slot];
	if (size != NULL)
		*size = ptr ? malloc_usable_size(ptr) : 0;
	return ptr;
}

/*
 * mal_errormsg -- errno as text
 */
static const char *
mal_errormsg(struct peer *p)
{
	(void)p;
	return strerror(errno);
}

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
	 ps_live, ps_is_pmem, ps_errormsg},
	{"pmemobj-pool", obj_open, obj_close, obj_alloc, obj_free, obj_get,
	 interposer_work, no_live, obj_is_pmem, obj_errormsg},
	{"pmemobj-dram", obj_open, obj_close, obj_alloc, obj_free, obj_get,
	 interposer_work, no_live, obj_is_pmem, obj_errormsg},
	{"glibc", mal_open, mal_close, mal_alloc, mal_free, mal_get,
	 interposer_work, no_live, dram_is_pmem, mal_errormsg},
	{"jemalloc", mal_open, mal_close, mal_alloc, mal_free, mal_get,
	 interposer_work, no_live, dram_is_pmem, mal_errormsg},
	{"floor", floor_open, floor_close, floor_alloc, floor_free, floor_get,
	 floor_work, no_live, floor_is_pmem, floor_errormsg},
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
