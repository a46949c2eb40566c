/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * media.h -- media errors as errors: the SIGBUS guard around the library's
 * own reads of a pool, and the test seam that plants faulting pages
 */
#ifndef PMS_MEDIA_H
#define PMS_MEDIA_H 1

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

/*
 * struct pms_guard -- one guarded region of a thread: a SIGBUS at an
 * address in [lo, hi) while it is the innermost one jumps back to its
 * sigsetjmp with the address in addr
 */
struct pms_guard {
	sigjmp_buf env;
	struct pms_guard *prev;
	uintptr_t lo, hi;
	volatile uintptr_t addr;
};

extern __thread struct pms_guard *pms_guard_top;

/* pms_guard_push -- make g the thread's innermost guard over [lo, +len) */
static inline void
pms_guard_push(struct pms_guard *g, const void *lo, size_t len)
{
	g->lo = (uintptr_t)lo;
	g->hi = (uintptr_t)lo + len;
	g->addr = 0;
	g->prev = pms_guard_top;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	pms_guard_top = g;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* pms_guard_pop -- leave the guarded region */
static inline void
pms_guard_pop(struct pms_guard *g)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	pms_guard_top = g->prev;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/*
 * pms_guard_suspend / resume -- no guard catches faults in between (code
 * that cannot be abandoned half way, or the application's callback)
 */
static inline struct pms_guard *
pms_guard_suspend(void)
{
	struct pms_guard *g = pms_guard_top;

	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	pms_guard_top = NULL;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return g;
}

static inline void
pms_guard_resume(struct pms_guard *g)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	pms_guard_top = g;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/*
 * A guarded region:
 *	pms_guard_push(&g, base, len);
 *	if (sigsetjmp(g.env, 0))
 *		return pms_guard_failed(&g, path, base, "doing what");
 *	... reads of the mapping ...
 *	pms_guard_pop(&g);
 * sigsetjmp returns nonzero when a SIGBUS in [base, +len) came back (the
 * guard is popped already).  Locals changed after it are indeterminate on
 * the way back: the region's caller must not rely on them.  (sigsetjmp
 * stands alone in the if, the one place C allows it.)
 */

/*
 * pms_guard_failed -- after sigsetjmp came back: SIGBUS unblocked, errno
 * EIO and a message naming the pool offset (base: the pool's mapping) and
 * what the library was doing; returns -1
 */
int pms_guard_failed(struct pms_guard *g, const char *path, const void *base,
		     const char *what);

/* pms_media_acquire / release -- the handler is installed while a pool is
 * open or checked (counted); see media.c for what it does */
int pms_media_acquire(void);
void pms_media_release(void);

/*
 * pms_media_seam -- tests only: PMEMSTORE_TEST_SIGBUS="OFF[,OFF...]" makes
 * the page holding each pool offset fault like poisoned media, in the
 * mapping [base, +len).  0, or -1 with errno on a malformed value.
 */
int pms_media_seam(const char *path, void *base, size_t len);

#endif /* PMS_MEDIA_H */
