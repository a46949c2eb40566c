/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flush.c -- owns the road to durability: all of the library's flushes and
 * fences go through libpmem's exported functions (pmem_flush, pmem_drain,
 * pmem_memset, pmem_memcpy, pmem_msync) and are counted here, both for
 * pmemstore_stats() and so that a tool interposing libpmem sees them all.
 *
 * On a pmem mapping a flush queues cache lines and a fence (pmem_drain)
 * makes them durable.  On any other mapping a flush is an msync of the
 * covering pages, durable when it returns, and a fence is a no-op.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libpmem.h>

#include "pool.h"
#include "flush.h"
#include "errors.h"

/*
 * Counting.  A locked read-modify-write after pmem_flush waits for the
 * flush to complete (x86 orders clflushopt and clwb before locked
 * instructions), which would turn every counted flush into a stall.  So
 * each thread counts in its own block, with plain relaxed loads and
 * stores (one writer), and pmemstore_stats() adds the blocks up.  A
 * thread finds its block for a pool through a small cache keyed by the
 * pool's unique id.
 */
#define CACHE 4

static __thread struct {
	uint64_t id;
	struct pms_counters *c;
} ctr_cache[CACHE];
static __thread unsigned ctr_victim;
static __thread char ctr_self; /* its address identifies the thread */

/* counters_slow -- find or make this thread's block for ps */
static struct pms_counters *
counters_slow(struct pmemstore *ps)
{
	struct pms_counters *c;

	pthread_mutex_lock(&ps->ctr_lock);
	for (c = ps->ctrs; c; c = c->next)
		if (c->owner == &ctr_self)
			break;
	if (c == NULL && (c = aligned_alloc(64, sizeof(*c))) != NULL) {
		memset(c, 0, sizeof(*c));
		c->owner = &ctr_self;
		c->next = ps->ctrs;
		ps->ctrs = c;
	}
	pthread_mutex_unlock(&ps->ctr_lock);
	if (c) {
		unsigned v = ctr_victim++ % CACHE;

		ctr_cache[v].id = ps->id;
		ctr_cache[v].c = c;
	}
	return c;
}

/* counters -- this thread's block for ps (NULL: out of memory) */
static inline struct pms_counters *
counters(struct pmemstore *ps)
{
	for (unsigned i = 0; i < CACHE; i++)
		if (ctr_cache[i].id == ps->id)
			return ctr_cache[i].c;
	return counters_slow(ps);
}

/* bump -- add to a counter only this thread writes */
static inline void
bump(uint64_t *x, uint64_t n)
{
	__atomic_store_n(x, __atomic_load_n(x, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

#define ADD(ps, field, n)                                                      \
	do {                                                                   \
		struct pms_counters *c_ = counters(ps);                        \
		if (c_)                                                        \
			bump(&c_->field, (n));                                 \
	} while (0)

/* pms_counters_sum -- every thread's counts for ps, added up */
void
pms_counters_sum(struct pmemstore *ps, struct pms_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	pthread_mutex_lock(&ps->ctr_lock);
	for (struct pms_counters *c = ps->ctrs; c; c = c->next) {
		sum->flushes += __atomic_load_n(&c->flushes, __ATOMIC_RELAXED);
		sum->lines += __atomic_load_n(&c->lines, __ATOMIC_RELAXED);
		sum->fences += __atomic_load_n(&c->fences, __ATOMIC_RELAXED);
		sum->msyncs += __atomic_load_n(&c->msyncs, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&ps->ctr_lock);
}

/* pms_counters_free -- at close; caches keyed by the dead id never match */
void
pms_counters_free(struct pmemstore *ps)
{
	struct pms_counters *c = ps->ctrs, *n;

	for (; c; c = n) {
		n = c->next;
		free(c);
	}
	ps->ctrs = NULL;
}

/* nlines -- cache lines covering [addr, addr + len) */
static uint64_t
nlines(const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(PMS_LINE - 1);
	uintptr_t e = (uintptr_t)addr + len;

	return (e - a + PMS_LINE - 1) / PMS_LINE;
}

/*
 * pms_flush -- start write-back of [addr, addr + len); durable after the
 * next pms_drain (pmem) or on return (msync).  Fails only on msync.
 */
int
pms_flush(struct pmemstore *ps, const void *addr, size_t len)
{
	if (len == 0)
		return 0;
	if (ps->is_pmem) {
		pmem_flush(addr, len);
		ADD(ps, flushes, 1);
		ADD(ps, lines, nlines(addr, len));
		return 0;
	}
	ADD(ps, msyncs, 1);
	ADD(ps, lines, nlines(addr, len));
	if (pmem_msync(addr, len))
		return pms_err(EIO, "pool %s: msync failed: %s", ps->path,
			       strerror(errno));
	return 0;
}

/* pms_drain -- fence: every flush issued before it is durable after it */
void
pms_drain(struct pmemstore *ps)
{
	if (!ps->is_pmem)
		return;
	pmem_drain();
	ADD(ps, fences, 1);
}

/* pms_memset_nodrain -- set and flush, durable after the next pms_drain */
int
pms_memset_nodrain(struct pmemstore *ps, void *dst, int c, size_t len)
{
	if (len == 0)
		return 0;
	if (ps->is_pmem) {
		pmem_memset(dst, c, len, PMEM_F_MEM_NODRAIN);
		ADD(ps, flushes, 1);
		ADD(ps, lines, nlines(dst, len));
		return 0;
	}
	memset(dst, c, len);
	return pms_flush(ps, dst, len);
}

/* persist_flush -- public: flush the application's stores in a range */
void
persist_flush(struct pmemstore *ps, const void *addr, size_t len)
{
	if (ps == NULL || addr == NULL || len == 0)
		return;
	(void)pms_flush(ps, addr, len);
}

/* persist_fence -- public: order and complete the preceding flushes */
void
persist_fence(struct pmemstore *ps)
{
	if (ps == NULL)
		return;
	pms_drain(ps);
}

/* persist -- public: flush + fence */
void
persist(struct pmemstore *ps, const void *addr, size_t len)
{
	if (ps == NULL || addr == NULL || len == 0)
		return;
	(void)pms_flush(ps, addr, len);
	pms_drain(ps);
}

/* persist_memcpy -- public: copy and make durable */
void *
persist_memcpy(struct pmemstore *ps, void *dst, const void *src, size_t len)
{
	if (ps == NULL || dst == NULL || src == NULL || len == 0)
		return dst;
	if (ps->is_pmem) {
		pmem_memcpy(dst, src, len, PMEM_F_MEM_NODRAIN);
		ADD(ps, flushes, 1);
		ADD(ps, lines, nlines(dst, len));
		pms_drain(ps);
		return dst;
	}
	memcpy(dst, src, len);
	(void)pms_flush(ps, dst, len);
	return dst;
}

/* persist_memset -- public: set and make durable */
void *
persist_memset(struct pmemstore *ps, void *dst, int c, size_t len)
{
	if (ps == NULL || dst == NULL || len == 0)
		return dst;
	(void)pms_memset_nodrain(ps, dst, c, len);
	pms_drain(ps);
	return dst;
}
