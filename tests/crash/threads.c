/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * threads.c -- owns the threaded workloads: several threads' allocations
 * and frees in flight in the same epoch, interleaved by the scheduler
 * (sched.c) at every flush, fence, library mutex operation and operation
 * entry and return, so that the crash point at one thread's fence has
 * other threads' flushed-but-unfenced lines pending (model.c).
 *
 *   xfree   cross-thread frees: an owner thread allocates in size classes
 *           with few slots per page (2016, 1312, 1024 B) and in 64 B, and
 *           keeps allocating there while two other threads free what it
 *           allocated (and it frees theirs): a slot freed by another thread
 *           is reused by its owner (the remote-free case of a per-thread
 *           allocator), small and large objects, PERSIST_ZERO and init.
 *   xreuse  the owner reuses slots (zeroed, 2016 B: two a page) that
 *           another thread is freeing, in short rounds.
 *   mtexit  objects of threads that exited: threads allocate and exit;
 *           threads they started free those objects while allocating in
 *           the same classes; then the main thread frees and allocates on.
 *   mtrand  a seeded random mix of every operation and size on several
 *           threads, each freeing any thread's objects.
 *
 * The oracle is the single-threaded one (workloads.c): every object is
 * present (its call returned: I1, content once written), absent (its free
 * returned: I5) or in flight (I2), whatever thread it belongs to; the
 * scheduler runs one thread at a time, so oracle updates need no lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)

/* a FIFO of object indices handed from one thread to another */
struct queue {
	long v[4096];
	unsigned head, tail;
};

/* q_put -- hand an object over (dropped when the queue is full) */
static void
q_put(struct queue *q, long i)
{
	if (i >= 0 && q->tail - q->head < 4096)
		q->v[q->tail++ % 4096] = i;
}

/* q_get -- the oldest object handed over, or -1 */
static long
q_get(struct queue *q)
{
	return q->head == q->tail ? -1 : q->v[q->head++ % 4096];
}

/*
 * drain_frees -- free what another thread hands over until nothing came
 * for 64 turns (the other thread may still be allocating)
 */
static void
drain_frees(struct queue *in)
{
	for (int idle = 0; idle < 64; idle++) {
		long i = q_get(in);

		if (i >= 0) {
			op_free(i);
			idle = 0;
		} else {
			sched_point(); /* let the other thread run */
		}
	}
}

/* per-thread script parameters */
struct targ {
	int ops;      /* operations of this thread */
	int role;     /* workload-specific */
	uint64_t rng; /* this thread's random stream */
	struct queue *in, *out;
};

static struct queue q_owner, q_back; /* owner -> freers, freers -> owner */
static struct targ args[SCHED_MAX + 1];

/* ---- xfree ---- */

/*
 * xfree_owner -- allocate in few-slot classes and 64 B, hand every object
 * to the freers, free what they hand back; the classes stay the same, so
 * slots freed by other threads come back to this thread
 */
static void
xfree_owner(int self, void *arg)
{
	static const uint64_t sizes[] = {2016, 64, 1312, 2016, 1024, 64};
	struct targ *a = arg;

	(void)self;
	for (int k = 0; k < a->ops; k++) {
		uint64_t r = rng_next(&a->rng);
		uint64_t sz = sizes[(k / 4) % 6]; /* runs of one class */
		int how = (int)(r % 5);

		if (k % 9 == 8)
			sz = 4097 +
			     r % (60 * KIB); /* a large one now and then */
		q_put(a->out, op_alloc(sz, how));
		if (k % 3 == 2)
			op_free(q_get(a->in)); /* another thread's object */
	}
	/* what is left handed back: freed here */
	for (long i; (i = q_get(a->in)) >= 0;)
		op_free(i);
}

/*
 * xfree_freer -- free the owner's objects as they come (cross-thread
 * frees), allocate a few of the same classes and hand them back
 */
static void
xfree_freer(int self, void *arg)
{
	struct targ *a = arg;

	(void)self;
	for (int k = 0; k < a->ops; k++) {
		uint64_t r = rng_next(&a->rng);
		long i = q_get(a->in);

		if (i >= 0 && r % 4 != 0) {
			op_free(i);
			continue;
		}
		q_put(a->out, op_alloc(r % 2 ? 2016 : 64, (int)((r >> 8) % 5)));
	}
	/* the owner may still be allocating: free what arrives meanwhile */
	drain_frees(a->in);
}

/*
 * wl_xfree -- cross-thread frees of slots their owner keeps allocating;
 * rounds of three threads, each round a fresh pool and schedule
 */
void
wl_xfree(int scale, uint64_t seed)
{
	int n = scale == 0 ? 48 : 60 * scale;
	int rounds = scale == 0 ? 3 : 3;

	for (int r = 0; r < rounds && !*stop_all; r++) {
		uint64_t s = seed + 7919 * (uint64_t)r;

		wl_begin(PMEMSTORE_MIN_POOL, 0, s);
		memset(&q_owner, 0, sizeof(q_owner));
		memset(&q_back, 0, sizeof(q_back));
		sched_begin(s);
		for (int t = 0; t < 3; t++) {
			args[t] = (struct targ){n, t, s * 31 + (uint64_t)t,
						t ? &q_owner : &q_back,
						t ? &q_back : &q_owner};
			sched_spawn(t ? xfree_freer : xfree_owner, &args[t]);
		}
		sched_run();
		wl_end();
	}
}

/* ---- xreuse ---- */

/*
 * xreuse_owner -- allocate zeroed 2016 B objects (two slots a page, so the
 * owner runs out of free slots and takes in the remote frees every other
 * allocation) and hand each to the freer at once
 */
static void
xreuse_owner(int self, void *arg)
{
	struct targ *a = arg;

	(void)self;
	for (int k = 0; k < a->ops; k++)
		q_put(a->out, op_alloc(2016, k % 4 == 3 ? H_INIT : H_ZERO));
}

/* xreuse_freer -- free the owner's objects as they come */
static void
xreuse_freer(int self, void *arg)
{
	struct targ *a = arg;

	(void)self;
	drain_frees(a->in);
}

/*
 * wl_xreuse -- the owner reuses a slot while another thread's free of it
 * may still be in flight: a slot handed home before its free is durable
 * shows as the freed object with the new object's zeroes (I2) or a lost
 * new object (I1).  Short rounds, each a fresh pool and schedule.
 */
void
wl_xreuse(int scale, uint64_t seed)
{
	int n = scale == 0 ? 12 : 16 * scale;
	int rounds = scale == 0 ? 8 : 8;

	for (int r = 0; r < rounds && !*stop_all; r++) {
		uint64_t s = seed + 104729 * (uint64_t)r;

		wl_begin(PMEMSTORE_MIN_POOL, 0, s);
		memset(&q_owner, 0, sizeof(q_owner));
		sched_begin(s);
		args[0] = (struct targ){n, 0, s * 37, NULL, &q_owner};
		args[1] = (struct targ){n, 1, s * 41, &q_owner, NULL};
		sched_spawn(xreuse_owner, &args[0]);
		sched_spawn(xreuse_freer, &args[1]);
		sched_run();
		wl_end();
	}
}

/* ---- mtexit ---- */

static struct queue q_orphans[4];

/* exit_heir -- free an exited thread's objects while allocating the same */
static void
exit_heir(int self, void *arg)
{
	struct targ *a = arg;

	(void)self;
	for (int k = 0; k < a->ops; k++) {
		uint64_t r = rng_next(&a->rng);
		long i = q_get(a->in);

		if (i >= 0 && r % 3 != 0)
			op_free(i);
		else
			op_alloc(r % 2 ? 2016 : 128, (int)((r >> 8) % 5));
	}
}

/*
 * exit_parent -- allocate small and large objects (every kind), hand half
 * of them to an heir thread started now, and exit with the rest live
 */
static void
exit_parent(int self, void *arg)
{
	static const uint64_t sizes[] = {128, 2016, 128, 8192, 2016, 300};
	struct targ *a = arg;

	for (int k = 0; k < a->ops; k++) {
		long i = op_alloc(sizes[k % 6], k % 5);

		if (k % 2)
			q_put(a->out, i);
	}
	/* the heir runs while this thread exits (its destructors included) */
	args[self + 2] =
		(struct targ){a->ops, 1, a->rng ^ 0xfeed, a->out, NULL};
	sched_spawn(exit_heir, &args[self + 2]);
}

/* wl_mtexit -- objects of threads that exited, freed and reused by others */
void
wl_mtexit(int scale, uint64_t seed)
{
	int n = scale == 0 ? 10 : 30 * scale;

	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	memset(q_orphans, 0, sizeof(q_orphans));
	sched_begin(seed);
	for (int t = 0; t < 2; t++) {
		/* threads 1 and 2; their heirs become threads 3 and 4 */
		args[t + 1] = (struct targ){n, 0, seed * 17 + (uint64_t)t, NULL,
					    &q_orphans[t]};
		sched_spawn(exit_parent, &args[t + 1]);
	}
	sched_run();
	/* every thread has exited: free some of their objects, allocate on */
	uint64_t live = 0;

	for (size_t i = 0; i < orc.nobjs; i++)
		if (orc.objs[i].state == O_PRESENT && live++ % 2 == 0)
			op_free((long)i);
	for (int k = 0; k < 2 + 2 * scale; k++)
		op_alloc(k % 2 ? 2016 : 128, (k + 1) % 5);
	wl_end();
}

/* ---- mtrand ---- */

/* pick_live -- a random present object not being written, or -1 */
static long
pick_live(uint64_t *rng)
{
	uint64_t n = 0, k;

	for (size_t i = 0; i < orc.nobjs; i++)
		n += orc.objs[i].state == O_PRESENT && !orc.objs[i].busy;
	if (n == 0)
		return -1;
	k = rng_next(rng) % n;
	for (size_t i = 0; i < orc.nobjs; i++)
		if (orc.objs[i].state == O_PRESENT && !orc.objs[i].busy &&
		    k-- == 0)
			return (long)i;
	return -1;
}

/* rand_thread -- a random mix of every operation, any thread's objects */
static void
rand_thread(int self, void *arg)
{
	struct targ *a = arg;
	int failed = 0;

	(void)self;
	for (int k = 0; k < a->ops && !*stop_all; k++) {
		uint64_t r = rng_next(&a->rng) % 100;
		long i;

		if ((r < 42 || failed) && (i = pick_live(&a->rng)) >= 0) {
			op_free(i);
			failed = 0;
			continue;
		}
		uint64_t sz, c = rng_next(&a->rng) % 100;
		int how = (int)(rng_next(&a->rng) % 5);

		if (c < 65)
			sz = 1 + rng_next(&a->rng) % 2016;
		else if (c < 92)
			sz = 2017 + rng_next(&a->rng) % (64 * KIB);
		else if (c < 98)
			sz = 64 * KIB + rng_next(&a->rng) % (448 * KIB);
		else
			sz = 2 * MIB;
		if (sz > 128 * KIB && how != H_ZERO)
			how = H_BARE; /* keep images small */
		failed = op_alloc(sz, how) < 0;
	}
}

/* wl_mtrand -- a seeded random mix on several threads */
void
wl_mtrand(int scale, uint64_t seed)
{
	int nt = scale == 0 ? 3 : 4;
	int n = scale == 0 ? 12 : 50 * scale;

	wl_begin(PMEMSTORE_MIN_POOL, 0, seed);
	sched_begin(seed);
	for (int t = 1; t <= nt; t++) {
		args[t] = (struct targ){n, 0, seed * 131 + (uint64_t)t, NULL,
					NULL};
		sched_spawn(rand_thread, &args[t]);
	}
	sched_run();
	wl_end();
}
