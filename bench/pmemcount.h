/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmemcount.h -- the counters the pmemcount interposer exposes
 *
 * libpmemcount.so (bench/pmemcount.c), loaded with LD_PRELOAD, wraps the
 * flush, drain, persist and copy functions libpmem exports and counts what
 * every library in the process asks libpmem to do.  A program reads the
 * counters through pmemcount_get(), which it looks up at run time with
 * dlsym(RTLD_DEFAULT, PMEMCOUNT_GET_SYMBOL) so that it also runs without
 * the interposer.
 */
#ifndef PMEMCOUNT_H
#define PMEMCOUNT_H 1

#include <stdint.h>

#define PMEMCOUNT_GET_SYMBOL "pmemcount_get"

/*
 * struct pmemcount -- cumulative counts since the process started.  Only
 * outermost calls count: libpmem's own pmem_persist calling pmem_flush and
 * pmem_drain is one persist, one fence.
 */
struct pmemcount {
	uint64_t calls;	  /* intercepted outermost calls of any kind */
	uint64_t flushes; /* calls that flush lines (flush, persist, copies) */
	uint64_t lines;	  /* 64-byte cache lines those calls cover */
	uint64_t fences;  /* drains: pmem_drain, *_persist, copies without
			    PMEM_F_MEM_NODRAIN */
	uint64_t msyncs;  /* pmem_msync calls */
};

/* the signature of pmemcount_get(): fills *out, returns 0 */
typedef int (*pmemcount_get_fn)(struct pmemcount *out);

int pmemcount_get(struct pmemcount *out);

#endif /* PMEMCOUNT_H */
