/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmemcount.c -- an LD_PRELOAD interposer counting flushes and fences
 *
 * This file owns libpmemcount.so.  Preloaded into a process, it defines
 * libpmem's exported persistence functions itself, counts each call, and
 * forwards it to the real libpmem found with dlsym(RTLD_NEXT).  It lets a
 * benchmark count, from outside, what libpmemstore and libpmemobj ask of
 * libpmem, with one method for both.
 *
 * What counts:
 *   - only outermost calls: a thread-local depth counter hides the calls a
 *     libpmem function makes to other exported ones (pmem_persist calls
 *     pmem_flush and pmem_drain);
 *   - a fence is a drain: pmem_drain, pmem_deep_drain, every *_persist
 *     function, and pmem_memcpy/memmove/memset without PMEM_F_MEM_NODRAIN
 *     (and without PMEM_F_MEM_NOFLUSH, which implies no drain);
 *   - lines are the 64-byte cache lines a flushing call covers;
 *   - pmem_msync calls are counted on their own (the non-pmem path).
 * Counters are process-wide; pmemcount_get() reads them.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <libpmem.h>

#include "pmemcount.h"

#define PC_API __attribute__((visibility("default")))
#define PC_LINE 64U

/* the wrapped functions, in the order of pc_names[] */
enum pc_fn {
	PC_FLUSH,
	PC_DRAIN,
	PC_PERSIST,
	PC_MSYNC,
	PC_DEEP_FLUSH,
	PC_DEEP_DRAIN,
	PC_DEEP_PERSIST,
	PC_MEMCPY,
	PC_MEMCPY_PERSIST,
	PC_MEMCPY_NODRAIN,
	PC_MEMMOVE,
	PC_MEMMOVE_PERSIST,
	PC_MEMMOVE_NODRAIN,
	PC_MEMSET,
	PC_MEMSET_PERSIST,
	PC_MEMSET_NODRAIN,
	PC_NFN
};

static const char *const pc_names[PC_NFN] = {
	[PC_FLUSH] = "pmem_flush",
	[PC_DRAIN] = "pmem_drain",
	[PC_PERSIST] = "pmem_persist",
	[PC_MSYNC] = "pmem_msync",
	[PC_DEEP_FLUSH] = "pmem_deep_flush",
	[PC_DEEP_DRAIN] = "pmem_deep_drain",
	[PC_DEEP_PERSIST] = "pmem_deep_persist",
	[PC_MEMCPY] = "pmem_memcpy",
	[PC_MEMCPY_PERSIST] = "pmem_memcpy_persist",
	[PC_MEMCPY_NODRAIN] = "pmem_memcpy_nodrain",
	[PC_MEMMOVE] = "pmem_memmove",
	[PC_MEMMOVE_PERSIST] = "pmem_memmove_persist",
	[PC_MEMMOVE_NODRAIN] = "pmem_memmove_nodrain",
	[PC_MEMSET] = "pmem_memset",
	[PC_MEMSET_PERSIST] = "pmem_memset_persist",
	[PC_MEMSET_NODRAIN] = "pmem_memset_nodrain",
};

/* the real functions, resolved at load time or on first use */
static void *pc_real[PC_NFN];

static uint64_t pc_calls, pc_flushes, pc_lines, pc_fences, pc_msyncs;

/* nesting depth of intercepted calls on this thread */
static __thread unsigned pc_depth __attribute__((tls_model("initial-exec")));

/*
 * pc_resolve -- the next definition of function f after this library
 */
static void *
pc_resolve(enum pc_fn f)
{
	void *p = __atomic_load_n(&pc_real[f], __ATOMIC_ACQUIRE);
	if (p != NULL)
		return p;

	p = dlsym(RTLD_NEXT, pc_names[f]);
	if (p == NULL) {
		fprintf(stderr, "pmemcount: cannot find %s in libpmem: %s\n",
			pc_names[f], dlerror());
		abort();
	}
	__atomic_store_n(&pc_real[f], p, __ATOMIC_RELEASE);
	return p;
}

/*
 * pc_init -- resolve what is already loaded, before main() runs
 */
__attribute__((constructor)) static void
pc_init(void)
{
	for (int f = 0; f < PC_NFN; f++) {
		void *p = dlsym(RTLD_NEXT, pc_names[f]);
		if (p != NULL)
			__atomic_store_n(&pc_real[f], p, __ATOMIC_RELEASE);
	}
}

/*
 * pc_add -- add n to a counter
 */
static inline void
pc_add(uint64_t *ctr, uint64_t n)
{
	__atomic_fetch_add(ctr, n, __ATOMIC_RELAXED);
}

/*
 * pc_enter -- enter a wrapper; true when this is an outermost call
 */
static inline int
pc_enter(void)
{
	if (pc_depth++ != 0)
		return 0;
	pc_add(&pc_calls, 1);
	return 1;
}

/*
 * pc_leave -- leave a wrapper
 */
static inline void
pc_leave(void)
{
	pc_depth--;
}

/*
 * pc_count_flush -- count one call flushing [addr, addr + len)
 */
static void
pc_count_flush(const void *addr, size_t len)
{
	if (len == 0)
		return;
	uintptr_t first = (uintptr_t)addr / PC_LINE;
	uintptr_t last = ((uintptr_t)addr + len - 1) / PC_LINE;
	pc_add(&pc_flushes, 1);
	pc_add(&pc_lines, last - first + 1);
}

/*
 * pc_count_copy -- count a pmem_memcpy/memmove/memset with flags
 */
static void
pc_count_copy(const void *dst, size_t len, unsigned flags)
{
	if (flags & PMEM_F_MEM_NOFLUSH)
		return;
	pc_count_flush(dst, len);
	if (!(flags & PMEM_F_MEM_NODRAIN))
		pc_add(&pc_fences, 1);
}

/*
 * pmemcount_get -- copy the counters out (found by dlsym(RTLD_DEFAULT))
 */
PC_API int
pmemcount_get(struct pmemcount *out)
{
	out->calls = __atomic_load_n(&pc_calls, __ATOMIC_RELAXED);
	out->flushes = __atomic_load_n(&pc_flushes, __ATOMIC_RELAXED);
	out->lines = __atomic_load_n(&pc_lines, __ATOMIC_RELAXED);
	out->fences = __atomic_load_n(&pc_fences, __ATOMIC_RELAXED);
	out->msyncs = __atomic_load_n(&pc_msyncs, __ATOMIC_RELAXED);
	return 0;
}

typedef void (*pc_range_fn)(const void *, size_t);
typedef int (*pc_range_int_fn)(const void *, size_t);
typedef void *(*pc_copy_fn)(void *, const void *, size_t);
typedef void *(*pc_copyf_fn)(void *, const void *, size_t, unsigned);
typedef void *(*pc_set_fn)(void *, int, size_t);
typedef void *(*pc_setf_fn)(void *, int, size_t, unsigned);

/*
 * pmem_flush -- one flush of the lines of a range
 */
PC_API void
pmem_flush(const void *addr, size_t len)
{
	pc_range_fn real = (pc_range_fn)pc_resolve(PC_FLUSH);
	if (pc_enter())
		pc_count_flush(addr, len);
	real(addr, len);
	pc_leave();
}

/*
 * pmem_deep_flush -- a flush that also reaches the memory controller
 */
PC_API void
pmem_deep_flush(const void *addr, size_t len)
{
	pc_range_fn real = (pc_range_fn)pc_resolve(PC_DEEP_FLUSH);
	if (pc_enter())
		pc_count_flush(addr, len);
	real(addr, len);
	pc_leave();
}

/*
 * pmem_drain -- one fence
 */
PC_API void
pmem_drain(void)
{
	void (*real)(void) = (void (*)(void))pc_resolve(PC_DRAIN);
	if (pc_enter())
		pc_add(&pc_fences, 1);
	real();
	pc_leave();
}

/*
 * pmem_deep_drain -- one fence (deep variant)
 */
PC_API int
pmem_deep_drain(const void *addr, size_t len)
{
	pc_range_int_fn real = (pc_range_int_fn)pc_resolve(PC_DEEP_DRAIN);
	if (pc_enter())
		pc_add(&pc_fences, 1);
	int ret = real(addr, len);
	pc_leave();
	return ret;
}

/*
 * pmem_persist -- a flush and a fence
 */
PC_API void
pmem_persist(const void *addr, size_t len)
{
	pc_range_fn real = (pc_range_fn)pc_resolve(PC_PERSIST);
	if (pc_enter()) {
		pc_count_flush(addr, len);
		pc_add(&pc_fences, 1);
	}
	real(addr, len);
	pc_leave();
}

/*
 * pmem_deep_persist -- a flush and a fence (deep variant)
 */
PC_API int
pmem_deep_persist(const void *addr, size_t len)
{
	pc_range_int_fn real = (pc_range_int_fn)pc_resolve(PC_DEEP_PERSIST);
	if (pc_enter()) {
		pc_count_flush(addr, len);
		pc_add(&pc_fences, 1);
	}
	int ret = real(addr, len);
	pc_leave();
	return ret;
}

/*
 * pmem_msync -- an msync of the pages covering a range
 */
PC_API int
pmem_msync(const void *addr, size_t len)
{
	pc_range_int_fn real = (pc_range_int_fn)pc_resolve(PC_MSYNC);
	if (pc_enter())
		pc_add(&pc_msyncs, 1);
	int ret = real(addr, len);
	pc_leave();
	return ret;
}

/*
 * pmem_memcpy -- copy with flags
 */
PC_API void *
pmem_memcpy(void *dst, const void *src, size_t len, unsigned flags)
{
	pc_copyf_fn real = (pc_copyf_fn)pc_resolve(PC_MEMCPY);
	if (pc_enter())
		pc_count_copy(dst, len, flags);
	void *ret = real(dst, src, len, flags);
	pc_leave();
	return ret;
}

/*
 * pmem_memmove -- overlapping copy with flags
 */
PC_API void *
pmem_memmove(void *dst, const void *src, size_t len, unsigned flags)
{
	pc_copyf_fn real = (pc_copyf_fn)pc_resolve(PC_MEMMOVE);
	if (pc_enter())
		pc_count_copy(dst, len, flags);
	void *ret = real(dst, src, len, flags);
	pc_leave();
	return ret;
}

/*
 * pmem_memset -- fill with flags
 */
PC_API void *
pmem_memset(void *dst, int c, size_t len, unsigned flags)
{
	pc_setf_fn real = (pc_setf_fn)pc_resolve(PC_MEMSET);
	if (pc_enter())
		pc_count_copy(dst, len, flags);
	void *ret = real(dst, c, len, flags);
	pc_leave();
	return ret;
}

/*
 * pc_copy -- the body of the fixed-flag copy wrappers
 */
static void *
pc_copy(enum pc_fn f, void *dst, const void *src, size_t len, unsigned flags)
{
	pc_copy_fn real = (pc_copy_fn)pc_resolve(f);
	if (pc_enter())
		pc_count_copy(dst, len, flags);
	void *ret = real(dst, src, len);
	pc_leave();
	return ret;
}

/*
 * pc_set -- the body of the fixed-flag fill wrappers
 */
static void *
pc_set(enum pc_fn f, void *dst, int c, size_t len, unsigned flags)
{
	pc_set_fn real = (pc_set_fn)pc_resolve(f);
	if (pc_enter())
		pc_count_copy(dst, len, flags);
	void *ret = real(dst, c, len);
	pc_leave();
	return ret;
}

/*
 * pmem_memcpy_persist -- copy, flush, fence
 */
PC_API void *
pmem_memcpy_persist(void *dst, const void *src, size_t len)
{
	return pc_copy(PC_MEMCPY_PERSIST, dst, src, len, 0);
}

/*
 * pmem_memcpy_nodrain -- copy and flush
 */
PC_API void *
pmem_memcpy_nodrain(void *dst, const void *src, size_t len)
{
	return pc_copy(PC_MEMCPY_NODRAIN, dst, src, len, PMEM_F_MEM_NODRAIN);
}

/*
 * pmem_memmove_persist -- overlapping copy, flush, fence
 */
PC_API void *
pmem_memmove_persist(void *dst, const void *src, size_t len)
{
	return pc_copy(PC_MEMMOVE_PERSIST, dst, src, len, 0);
}

/*
 * pmem_memmove_nodrain -- overlapping copy and flush
 */
PC_API void *
pmem_memmove_nodrain(void *dst, const void *src, size_t len)
{
	return pc_copy(PC_MEMMOVE_NODRAIN, dst, src, len, PMEM_F_MEM_NODRAIN);
}

/*
 * pmem_memset_persist -- fill, flush, fence
 */
PC_API void *
pmem_memset_persist(void *dst, int c, size_t len)
{
	return pc_set(PC_MEMSET_PERSIST, dst, c, len, 0);
}

/*
 * pmem_memset_nodrain -- fill and flush
 */
PC_API void *
pmem_memset_nodrain(void *dst, int c, size_t len)
{
	return pc_set(PC_MEMSET_NODRAIN, dst, c, len, PMEM_F_MEM_NODRAIN);
}
