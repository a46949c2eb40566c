/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sched.c -- owns the threads of the threaded workloads: a deterministic
 * scheduler that lets real threads run one at a time and interleaves them
 * at every libpmem call, every library mutex operation and every
 * operation's entry and return, as a seeded RNG says.
 *
 * A section (sched_begin .. sched_run) starts managed threads; each has a
 * small number (sched_self, 1..SCHED_MAX).  Exactly one of them holds the
 * turn at a time; the others wait on their own condition variable.  At a
 * yield point (sched_point) the holder keeps the turn or, with a seeded
 * probability (30 %; 75 % at a fence, where its flushed lines are
 * pending), hands it to another thread that has not terminated, drawn by
 * the same RNG, and waits to get it back.  A thread in a cross-thread
 * free hints at the object's owner (sched_hint): the turn goes to the
 * owner more often, and stays with it longer, so the owner's allocations
 * land in the free's windows (slot reuse after a remote free).  So a seed
 * reproduces the interleaving, the crash points and their images in every
 * worker process: nothing depends on timing.
 *
 * Library mutexes: the executable exports pthread_mutex_lock and
 * pthread_mutex_unlock.  A managed thread's lock is a yield point, then a
 * trylock loop that hands the turn to another thread while the mutex is
 * held (its holder was parked at a yield point inside the critical
 * section, e.g. a fence under the page allocator's lock); an unlock is a
 * yield point after the release.  Unmanaged threads (the workload's main
 * thread, crash-image checks) go straight through.  Under a sanitizer
 * the real functions are its interceptors where it has them (TSan: all
 * three), so TSan still sees every lock.
 *
 * Thread exit: a thread whose body returned keeps the turn (its
 * thread-specific-data destructors, e.g. an allocator handing back its
 * slabs, run with it and may yield like any code); the section's main
 * thread waits until that thread has terminated and then draws the next
 * holder.  A managed thread may start new managed threads (sched_spawn).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

/* a sanitizer's interceptors (TSan's are linked into the executable) */
extern int __interceptor_pthread_mutex_lock(pthread_mutex_t *m)
	__attribute__((weak));
extern int __interceptor_pthread_mutex_trylock(pthread_mutex_t *m)
	__attribute__((weak));
extern int __interceptor_pthread_mutex_unlock(pthread_mutex_t *m)
	__attribute__((weak));

enum tstate { T_FREE, T_RUN, T_DEAD };

struct sthread {
	int state;
	int exiting; /* its body returned; destructors may still run */
	pthread_t pt;
	pthread_cond_t cv; /* signalled when it gets the turn */
	void (*fn)(int self, void *arg);
	void *arg;
};

__thread int sched_self;
int sched_on;
uint64_t sched_switches;
char sched_op[SCHED_MAX + 1][160];

static struct sthread th[SCHED_MAX + 1];
static int hint[SCHED_MAX + 1]; /* the thread each one would hand over to */
static int nthreads;		/* slots used, 1..nthreads */
static int nalive;		/* not yet terminated */
static int owner;		/* holder of the turn (0: none) */
static uint64_t srng;
static pthread_mutex_t slock;
static pthread_cond_t coord_cv; /* the section's main thread */
typedef int (*mutex_fn)(pthread_mutex_t *);
static mutex_fn lock_f, trylock_f, unlock_f;

/* one_real -- a sanitizer's interceptor of name if any, else libc's */
static mutex_fn
one_real(mutex_fn icpt, const char *name)
{
	mutex_fn f = icpt;

	if (f == NULL)
		f = (mutex_fn)dlsym(RTLD_NEXT, name);
	if (f == NULL) {
		fprintf(stderr, "crash: no %s in libc\n", name);
		abort();
	}
	return f;
}

/*
 * resolve -- the real mutex functions: TSan's interceptors (linked into
 * the executable; ASan's runtime has some of them too), else libc's
 */
static void
resolve(void)
{
	if (lock_f)
		return;
	trylock_f = one_real(__interceptor_pthread_mutex_trylock,
			     "pthread_mutex_trylock");
	unlock_f = one_real(__interceptor_pthread_mutex_unlock,
			    "pthread_mutex_unlock");
	lock_f = one_real(__interceptor_pthread_mutex_lock,
			  "pthread_mutex_lock");
}

/* sched_init -- before any thread: the real mutex functions, our lock */
__attribute__((constructor)) static void
sched_init(void)
{
	resolve();
	pthread_mutex_init(&slock, NULL);
	pthread_cond_init(&coord_cv, NULL);
}

/* managed -- is the calling thread a scheduled one, outside any check? */
static inline int
managed(void)
{
	return sched_on && sched_self != 0 && !in_check;
}

/* pick -- the next holder: a live thread other than skip if any, by RNG */
static int
pick(int skip)
{
	int cand[SCHED_MAX], n = 0;

	for (int i = 1; i <= nthreads; i++)
		if (th[i].state == T_RUN && i != skip)
			cand[n++] = i;
	if (n == 0)
		return skip;
	return cand[rng_next(&srng) % (uint64_t)n];
}

/* give_turn -- (slock held) make t the holder and wake it */
static void
give_turn(int t)
{
	if (t != owner)
		sched_switches++;
	owner = t;
	pthread_cond_signal(&th[t].cv);
	if (th[t].exiting)
		pthread_cond_signal(&coord_cv);
}

/* wait_turn -- (slock held) sleep until the calling thread holds the turn */
static void
wait_turn(int self)
{
	while (owner != self)
		pthread_cond_wait(&th[self].cv, &slock);
}

/*
 * yield_to -- hand the turn to a drawn thread and wait to get it back:
 * with others_only, always another thread; else another with probability
 * pct percent (runs of several yield points let a thread reach its fence
 * while another one's lines are pending)
 */
static void
yield_to(int others_only, unsigned pct)
{
	int self = sched_self, h = hint[self], waited_on = 0;

	lock_f(&slock);
	for (int t = 1; t <= nthreads; t++)
		waited_on |= hint[t] == self && th[t].state == T_RUN;
	if (h && th[h].state == T_RUN && !others_only) {
		/* in a cross-thread free: the owner, every other time */
		if (rng_next(&srng) % 2)
			give_turn(h);
	} else if (others_only ||
		   rng_next(&srng) % 100 < (waited_on ? pct / 3 : pct)) {
		give_turn(pick(self));
	}
	wait_turn(self);
	unlock_f(&slock);
}

/*
 * sched_hint -- the calling thread is in an operation that races with
 * thread t (a free of an object t allocated, whose slot t may reuse): at
 * its yield points it hands the turn to t every other time, and t, while
 * hinted, hands it on less often, so that t's next operations fit in the
 * windows of this one.  0 clears the hint.
 */
void
sched_hint(int t)
{
	if (managed())
		hint[sched_self] = t == sched_self ? 0 : t;
}

/* sched_point -- a yield point: maybe another thread runs first */
void
sched_point(void)
{
	int e;

	if (!managed())
		return;
	e = errno;
	yield_to(0, 30);
	errno = e;
}

/*
 * sched_fence_point -- the yield point of a fence: the calling thread's
 * flushed lines are pending, so another thread is drawn more often here,
 * to reach its own fence (a crash point) while they are
 */
void
sched_fence_point(void)
{
	int e;

	if (!managed())
		return;
	e = errno;
	yield_to(0, 75);
	errno = e;
}

/* trampoline -- a managed thread: wait for the turn, run, keep the turn */
static void *
trampoline(void *p)
{
	int self = (int)(intptr_t)p;

	sched_self = self;
	lock_f(&slock);
	wait_turn(self);
	unlock_f(&slock);
	th[self].fn(self, th[self].arg);
	snprintf(sched_op[self], sizeof(sched_op[self]), "(exited)");
	/* keep the turn: the destructors of this thread run with it */
	lock_f(&slock);
	th[self].exiting = 1;
	pthread_cond_signal(&coord_cv);
	unlock_f(&slock);
	return NULL;
}

/* sched_begin -- start a threaded section, seeded */
void
sched_begin(uint64_t seed)
{
	resolve();
	memset(th, 0, sizeof(th));
	memset(hint, 0, sizeof(hint));
	memset(sched_op, 0, sizeof(sched_op));
	nthreads = nalive = owner = 0;
	srng = seed ^ 0x7ead5;
	sched_on = 1;
}

/*
 * sched_spawn -- a new managed thread running fn(self, arg); from the
 * section's main thread before sched_run, or from a managed thread.  It
 * runs only when it is drawn.  Returns its number.
 */
int
sched_spawn(void (*fn)(int self, void *arg), void *arg)
{
	int t;

	lock_f(&slock);
	if (nthreads == SCHED_MAX) {
		fprintf(stderr, "crash: more than %d threads\n", SCHED_MAX);
		abort();
	}
	t = ++nthreads;
	th[t].state = T_RUN;
	th[t].fn = fn;
	th[t].arg = arg;
	pthread_cond_init(&th[t].cv, NULL);
	nalive++;
	unlock_f(&slock);
	if (pthread_create(&th[t].pt, NULL, trampoline, (void *)(intptr_t)t)) {
		perror("crash: pthread_create");
		abort();
	}
	return t;
}

/* still_owner -- does t still hold the turn? */
static int
still_owner(int t)
{
	int r;

	lock_f(&slock);
	r = owner == t;
	unlock_f(&slock);
	return r;
}

/*
 * sched_run -- the section's main thread: hand out the first turn, then
 * reap each thread that terminates holding the turn and draw the next
 * holder, until every thread has terminated
 */
void
sched_run(void)
{
	lock_f(&slock);
	if (nalive)
		give_turn(pick(0));
	while (nalive) {
		int t = owner;

		if (t == 0 || !th[t].exiting) {
			pthread_cond_wait(&coord_cv, &slock);
			continue;
		}
		unlock_f(&slock);
		/* terminated, or yielding in a destructor: then wait again */
		int joined = 0;

		while (!(joined = pthread_tryjoin_np(th[t].pt, NULL) == 0) &&
		       still_owner(t)) {
			struct timespec ts = {0, 20000};

			nanosleep(&ts, NULL);
		}
		lock_f(&slock);
		if (!joined)
			continue;
		th[t].state = T_DEAD;
		pthread_cond_destroy(&th[t].cv);
		nalive--;
		owner = 0;
		if (nalive)
			give_turn(pick(0));
	}
	sched_on = 0;
	unlock_f(&slock);
}

/* ---- library mutexes: yield points, and never block holding the turn */

/* pthread_mutex_lock -- interposed: see the file's comment */
int
pthread_mutex_lock(pthread_mutex_t *m)
{
	int r, e;

	if (lock_f == NULL)
		resolve();
	if (!managed())
		return lock_f(m);
	e = errno;
	yield_to(0, 30);
	while ((r = trylock_f(m)) == EBUSY) {
		/* its holder is parked at a yield point: let others run */
		if (nalive <= 1) {
			fprintf(stderr,
				"crash: thread %d blocks on a mutex "
				"that no live thread can release\n",
				sched_self);
			abort();
		}
		yield_to(1, 100);
	}
	errno = e;
	return r;
}

/* pthread_mutex_unlock -- interposed: release, then a yield point */
int
pthread_mutex_unlock(pthread_mutex_t *m)
{
	int r;

	if (unlock_f == NULL)
		resolve();
	r = unlock_f(m);
	if (managed()) {
		int e = errno;

		yield_to(0, 30);
		errno = e;
	}
	return r;
}
