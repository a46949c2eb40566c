/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * workloads.c -- the allocator workloads of allocbench, and their checks
 *
 * This file owns the workloads (written from the definitions in the
 * project's notes, see bench/README.md) and the thread harness that times
 * them:
 *
 *   threadtest  each round, every thread allocates its share of N 64 B
 *               objects, then frees them all; (allocs + frees) / s
 *   larson      each thread replaces random blocks of its 1000 (64..399 B)
 *               and, every 10,000 rounds, hands them to a new thread, for
 *               a fixed time; allocs / s
 *   shbench     each thread cycles through 9 small sizes into a ring of
 *               live blocks, freeing 2/5 FIFO and 2/5 LIFO at each wrap;
 *               allocs / s
 *   prod-con    T/2 producer-consumer pairs: producers allocate 64 B and
 *               write every byte, consumers check every byte and free;
 *               allocs / s
 *   named       alloc, then get, then free of n objects of one size, each
 *               phase timed on its own: three rows (named-alloc, ...)
 *
 * Every workload checks itself: each allocation non-NULL and tagged, the
 * tag checked before the free, counts balanced, prod-con's bytes checked,
 * and nothing left live (pmemstore_stats: objects, volatile bytes) after
 * the run.
 *
 * Harness: workers do their setup, then meet the main thread at a barrier
 * ("ready"); the main thread reads the clock and the fence counters and
 * releases them ("go"); the phase ends when all have reached "done"; they
 * go on (teardown) once it has read the clock and counters ("after").
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allocbench.h"

/* the run-wide state shared by the main thread and the workers */
struct harness {
	pthread_barrier_t ready, go, done, after;
	struct peer *p;
	const struct peer_ops *ops;
	const struct wl_params *wp;
	int failed;
	int stop;
	char msg[512];
};

/* one worker (for larson: one lineage of threads) */
struct worker {
	struct harness *h;
	unsigned tid;
	size_t first; /* its first slot */
	size_t n;     /* its slots */
	size_t size;  /* object size, where fixed */
	uint64_t rng; /* random state */
	uint64_t ops[MAX_PHASES];
	uint64_t calls[MAX_PHASES];
	pthread_t thr;
	/* larson */
	void **ptrs;
	uint64_t *tags;
	pthread_t last; /* the lineage's last thread */
	/* prod-con */
	struct pc_queue *q;
	uint64_t nobj; /* objects this producer makes / consumer frees */
	uint64_t sum;  /* sequence numbers seen */
};

/*
 * now_ns -- monotonic time in nanoseconds
 */
static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * failed -- whether some thread of the run has failed
 */
static inline int
failed(struct harness *h)
{
	return __atomic_load_n(&h->failed, __ATOMIC_RELAXED);
}

/*
 * fail -- record the first failure of a run; the others stop early
 */
__attribute__((format(printf, 2, 3))) static void
fail(struct harness *h, const char *fmt, ...)
{
	if (__atomic_exchange_n(&h->failed, 1, __ATOMIC_ACQ_REL))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->msg, sizeof(h->msg), fmt, ap);
	va_end(ap);
}

/*
 * begin -- a worker: setup done, wait for the timed region to start
 */
static void
begin(struct harness *h)
{
	pthread_barrier_wait(&h->ready);
	pthread_barrier_wait(&h->go);
}

/*
 * end -- a worker: its part of the timed region is done; wait until the
 * main thread has read the counters (teardown must not count)
 */
static void
end(struct harness *h)
{
	pthread_barrier_wait(&h->done);
	pthread_barrier_wait(&h->after);
}

/*
 * timed_phase -- the main thread's side of one phase
 *
 * during, when given, runs while the workers work (larson's timer).
 */
static void
timed_phase(struct harness *h, struct phase_result *ph,
	    void (*during)(struct harness *h), enum count_src *src)
{
	struct pwork w0, w1;
	pthread_barrier_wait(&h->ready);
	*src = h->ops->work(h->p, &w0);
	uint64_t t0 = now_ns();
	pthread_barrier_wait(&h->go);
	if (during != NULL)
		during(h);
	pthread_barrier_wait(&h->done);
	uint64_t t1 = now_ns();
	h->ops->work(h->p, &w1);
	pthread_barrier_wait(&h->after);
	ph->seconds = (double)(t1 - t0) / 1e9;
	ph->fences = w1.fences - w0.fences;
	ph->lines = w1.lines - w0.lines;
}

/*
 * harness_init -- barriers for nthreads workers and the main thread
 */
static void
harness_init(struct harness *h, struct peer *p, const struct wl_params *wp,
	     unsigned nthreads)
{
	memset(h, 0, sizeof(*h));
	h->p = p;
	h->ops = peer_ops_of(p);
	h->wp = wp;
	pthread_barrier_init(&h->ready, NULL, nthreads + 1);
	pthread_barrier_init(&h->go, NULL, nthreads + 1);
	pthread_barrier_init(&h->done, NULL, nthreads + 1);
	pthread_barrier_init(&h->after, NULL, nthreads + 1);
}

/*
 * harness_fini -- the barriers go
 */
static void
harness_fini(struct harness *h)
{
	pthread_barrier_destroy(&h->ready);
	pthread_barrier_destroy(&h->go);
	pthread_barrier_destroy(&h->done);
	pthread_barrier_destroy(&h->after);
}

/*
 * start -- start a worker thread, or exit the (child) process
 */
static void
start(struct worker *w, void *(*fn)(void *))
{
	int err = pthread_create(&w->thr, NULL, fn, w);
	if (err != 0) {
		fprintf(stderr, "allocbench: pthread_create: %s\n",
			strerror(err));
		exit(1);
	}
}

/*
 * tag_of -- the word written at the start of an object
 */
static inline uint64_t
tag_of(size_t slot, uint64_t gen)
{
	return (uint64_t)slot * 0x9e3779b97f4a7c15ULL + gen + 1;
}

/*
 * put_tag -- write an object's tag
 */
static inline void
put_tag(void *obj, uint64_t tag)
{
	memcpy(obj, &tag, sizeof(tag));
}

/*
 * tag_ok -- whether an object still holds its tag
 */
static inline int
tag_ok(const void *obj, uint64_t tag)
{
	uint64_t v;
	memcpy(&v, obj, sizeof(v));
	return v == tag;
}

/*
 * xrand -- the next value of a worker's random sequence
 */
static inline uint64_t
xrand(uint64_t *s)
{
	return splitmix64(s);
}

/*
 * split -- worker t's share [first, first + n) of total items
 */
static void
split(size_t total, unsigned nthreads, unsigned t, size_t *first, size_t *n)
{
	size_t base = total / nthreads, rem = total % nthreads;
	*n = base + (t < rem);
	*first = t * base + (t < rem ? t : rem);
}

/*
 * workers_new -- nthreads zeroed workers of harness h
 */
static struct worker *
workers_new(struct harness *h, unsigned nthreads)
{
	struct worker *w = calloc(nthreads, sizeof(*w));
	if (w == NULL) {
		fprintf(stderr, "allocbench: out of memory\n");
		exit(1);
	}
	for (unsigned t = 0; t < nthreads; t++) {
		w[t].h = h;
		w[t].tid = t;
		w[t].rng = h->wp->seed * 0x2545f4914f6cdd1dULL + t + 1;
	}
	return w;
}

/*
 * finish -- sum the workers' counts into the phases, check the peer
 *
 * Returns 0, or -1 with the run's failure in msg.
 */
static int
finish(struct harness *h, struct worker *w, unsigned nworkers,
       unsigned nthreads, struct run_result *r, char *msg, size_t msglen)
{
	for (unsigned k = 0; k < r->nphases; k++) {
		r->ph[k].threads = nthreads;
		for (unsigned t = 0; t < nworkers; t++) {
			r->ph[k].ops += w[t].ops[k];
			r->ph[k].calls += w[t].calls[k];
		}
	}
	if (!failed(h)) {
		long long live = h->ops->live(h->p);
		if (live > 0)
			fail(h,
			     "%lld objects (volatile heap: bytes) still live "
			     "after the run (every allocation was freed)",
			     live);
	}
	if (failed(h)) {
		snprintf(msg, msglen, "%s", h->msg);
		return -1;
	}
	return 0;
}

/*
 * tt_size -- threadtest: N objects of tt_size bytes
 */
static void
tt_size(const struct wl_params *wp, unsigned threads, size_t size,
	struct peer_cfg *cfg)
{
	(void)threads;
	(void)size;
	cfg->nslots = wp->tt_objects;
	cfg->max_size = wp->tt_size;
	cfg->max_live = (uint64_t)wp->tt_objects * wp->tt_size;
}

/*
 * tt_thread -- threadtest worker: R rounds of allocate all, free all
 */
static void *
tt_thread(void *arg)
{
	struct worker *w = arg;
	struct harness *h = w->h;
	struct peer *p = h->p;
	const struct peer_ops *ops = h->ops;
	void **ptrs = calloc(w->n ? w->n : 1, sizeof(void *));
	if (ptrs == NULL)
		fail(h, "out of memory");
	uint64_t calls = 0;

	begin(h);
	for (unsigned r = 0; ptrs && r < h->wp->tt_rounds && !failed(h); r++) {
		for (size_t i = 0; i < w->n; i++) {
			void *o = ops->alloc(p, w->tid, w->first + i, w->size);
			if (o == NULL) {
				fail(h, "threadtest: alloc of slot %zu: %s",
				     w->first + i, ops->errormsg(p));
				goto out;
			}
			put_tag(o, tag_of(w->first + i, r));
			ptrs[i] = o;
			calls++;
		}
		for (size_t i = 0; i < w->n; i++) {
			if (!tag_ok(ptrs[i], tag_of(w->first + i, r))) {
				fail(h, "threadtest: slot %zu overwritten",
				     w->first + i);
				goto out;
			}
			if (ops->free(p, w->tid, w->first + i) != 0) {
				fail(h, "threadtest: free of slot %zu: %s",
				     w->first + i, ops->errormsg(p));
				goto out;
			}
			calls++;
		}
	}
out:
	end(h);
	w->calls[0] = w->ops[0] = calls;
	free(ptrs);
	return NULL;
}

/*
 * tt_run -- threadtest: one run
 */
static int
tt_run(const struct wl_params *wp, struct peer *p, unsigned threads,
       size_t size, unsigned run, struct run_result *r, char *msg,
       size_t msglen)
{
	(void)size;
	(void)run;
	struct harness h;
	harness_init(&h, p, wp, threads);
	struct worker *w = workers_new(&h, threads);
	for (unsigned t = 0; t < threads; t++) {
		split(wp->tt_objects, threads, t, &w[t].first, &w[t].n);
		w[t].size = wp->tt_size;
		start(&w[t], tt_thread);
	}
	r->nphases = 1;
	snprintf(r->ph[0].workload, sizeof(r->ph[0].workload), "threadtest");
	snprintf(r->ph[0].op, sizeof(r->ph[0].op), "alloc+free");
	timed_phase(&h, &r->ph[0], NULL, &r->src);
	for (unsigned t = 0; t < threads; t++)
		pthread_join(w[t].thr, NULL);
	uint64_t want = 2ULL * wp->tt_objects * wp->tt_rounds;
	int ret = finish(&h, w, threads, threads, r, msg, msglen);
	if (ret == 0 && r->ph[0].calls != want) {
		snprintf(msg, msglen, "threadtest: %llu calls, %llu expected",
			 (unsigned long long)r->ph[0].calls,
			 (unsigned long long)want);
		ret = -1;
	}
	free(w);
	harness_fini(&h);
	return ret;
}

/*
 * la_size -- larson: blocks of [la_min, la_max) bytes per thread
 */
static void
la_size(const struct wl_params *wp, unsigned threads, size_t size,
	struct peer_cfg *cfg)
{
	(void)size;
	cfg->nslots = (size_t)threads * wp->la_blocks;
	cfg->max_size = wp->la_max - 1;
	cfg->max_live = (uint64_t)cfg->nslots * wp->la_max;
}

/*
 * la_block_size -- a random larson block size
 */
static inline size_t
la_block_size(struct worker *w)
{
	const struct wl_params *wp = w->h->wp;
	return wp->la_min + xrand(&w->rng) % (wp->la_max - wp->la_min);
}

/* a larson thread: its lineage and the thread it must join */
struct la_gen {
	struct worker *w;
	int first;
	pthread_t prev;
};

/*
 * la_free_all -- larson: free the lineage's blocks after the timed region
 */
static void
la_free_all(struct worker *w)
{
	struct harness *h = w->h;
	for (size_t i = 0; i < w->n; i++) {
		if (w->ptrs[i] == NULL)
			continue;
		if (!tag_ok(w->ptrs[i], w->tags[i]))
			fail(h, "larson: slot %zu overwritten", w->first + i);
		if (h->ops->free(h->p, w->tid, w->first + i) != 0)
			fail(h, "larson: final free of slot %zu: %s",
			     w->first + i, h->ops->errormsg(h->p));
		w->ptrs[i] = NULL;
	}
}

/*
 * la_thread -- larson: replace random blocks; hand over every la_rounds
 */
static void *
la_thread(void *arg)
{
	struct la_gen *g = arg;
	struct worker *w = g->w;
	struct harness *h = w->h;
	struct peer *p = h->p;
	const struct peer_ops *ops = h->ops;
	const struct wl_params *wp = h->wp;

	if (g->first) {
		/* setup, not timed: fill the lineage's blocks */
		for (size_t i = 0; i < w->n && !failed(h); i++) {
			void *o = ops->alloc(p, w->tid, w->first + i,
					     la_block_size(w));
			if (o == NULL)
				fail(h, "larson: initial alloc: %s",
				     ops->errormsg(p));
			else
				put_tag(o,
					w->tags[i] = tag_of(w->first + i, 0));
			w->ptrs[i] = o;
		}
		begin(h);
	} else {
		/* the thread that started this one has returned */
		pthread_join(g->prev, NULL);
	}
	free(g);

	for (unsigned k = 0; !failed(h); k++) {
		if (__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
			break;
		if (k == wp->la_rounds) {
			struct la_gen *n = calloc(1, sizeof(*n));
			if (n == NULL) {
				fail(h, "larson: out of memory");
				break;
			}
			n->w = w;
			n->prev = pthread_self();
			pthread_t t;
			int err = pthread_create(&t, NULL, la_thread, n);
			if (err != 0) {
				free(n);
				fail(h, "larson: pthread_create: %s",
				     strerror(err));
				break;
			}
			return NULL; /* joined by the new thread */
		}
		size_t i = xrand(&w->rng) % w->n;
		size_t slot = w->first + i;
		if (!tag_ok(w->ptrs[i], w->tags[i])) {
			fail(h, "larson: slot %zu overwritten", slot);
			break;
		}
		if (ops->free(p, w->tid, slot) != 0) {
			fail(h, "larson: free of slot %zu: %s", slot,
			     ops->errormsg(p));
			w->ptrs[i] = NULL;
			break;
		}
		w->ptrs[i] = NULL;
		void *o = ops->alloc(p, w->tid, slot, la_block_size(w));
		if (o == NULL) {
			fail(h, "larson: alloc of slot %zu: %s", slot,
			     ops->errormsg(p));
			break;
		}
		w->tags[i] = tag_of(slot, w->ops[0] + 1);
		put_tag(o, w->tags[i]);
		w->ptrs[i] = o;
		w->ops[0]++;
		w->calls[0] += 2;
	}
	w->last = pthread_self();
	end(h);
	la_free_all(w);
	return NULL;
}

/*
 * la_timer -- larson's main thread: let the workers run, then stop them
 */
static void
la_timer(struct harness *h)
{
	double s = h->wp->la_seconds;
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
}

/*
 * la_run -- larson: one run
 */
static int
la_run(const struct wl_params *wp, struct peer *p, unsigned threads,
       size_t size, unsigned run, struct run_result *r, char *msg,
       size_t msglen)
{
	(void)size;
	(void)run;
	struct harness h;
	harness_init(&h, p, wp, threads);
	struct worker *w = workers_new(&h, threads);
	for (unsigned t = 0; t < threads; t++) {
		w[t].first = (size_t)t * wp->la_blocks;
		w[t].n = wp->la_blocks;
		w[t].ptrs = calloc(wp->la_blocks, sizeof(void *));
		w[t].tags = calloc(wp->la_blocks, sizeof(uint64_t));
		struct la_gen *g = calloc(1, sizeof(*g));
		if (w[t].ptrs == NULL || w[t].tags == NULL || g == NULL) {
			fprintf(stderr, "allocbench: out of memory\n");
			exit(1);
		}
		g->w = &w[t];
		g->first = 1;
		int err = pthread_create(&w[t].thr, NULL, la_thread, g);
		if (err != 0) {
			fprintf(stderr, "allocbench: pthread_create: %s\n",
				strerror(err));
			exit(1);
		}
	}
	r->nphases = 1;
	snprintf(r->ph[0].workload, sizeof(r->ph[0].workload), "larson");
	snprintf(r->ph[0].op, sizeof(r->ph[0].op), "alloc");
	timed_phase(&h, &r->ph[0], la_timer, &r->src);
	for (unsigned t = 0; t < threads; t++)
		pthread_join(w[t].last, NULL);
	int ret = finish(&h, w, threads, threads, r, msg, msglen);
	for (unsigned t = 0; t < threads; t++) {
		if (ret == 0 && w[t].calls[0] != 2 * w[t].ops[0]) {
			snprintf(msg, msglen,
				 "larson: allocs and frees differ");
			ret = -1;
		}
		free(w[t].ptrs);
		free(w[t].tags);
	}
	free(w);
	harness_fini(&h);
	return ret;
}

/* shbench: the sizes one thread cycles through, and how often each */
static const size_t sh_sizes[] = {64, 97, 73, 82, 146, 220, 110, 331, 165};
#define SH_CYCLE 1250 /* 4 sizes x 250 + 5 sizes x 50 */
#define SH_MAX 331

/*
 * sh_pattern -- the size of the i-th allocation of a cycle
 */
static inline size_t
sh_pattern(unsigned i)
{
	return i < 1000 ? sh_sizes[i % 4] : sh_sizes[4 + (i - 1000) % 5];
}

/*
 * sh_size -- shbench: a ring of sh_ring blocks per thread
 */
static void
sh_size(const struct wl_params *wp, unsigned threads, size_t size,
	struct peer_cfg *cfg)
{
	(void)size;
	cfg->nslots = (size_t)threads * wp->sh_ring;
	cfg->max_size = SH_MAX;
	cfg->max_live = (uint64_t)cfg->nslots * SH_MAX;
}

/* one shbench thread's ring */
struct sh_ring {
	size_t *order; /* live local slots, oldest first */
	size_t n;
	size_t *stack; /* free local slots */
	size_t nfree;
	void **ptrs;
	uint64_t *tags;
};

/*
 * sh_release -- free one live block of the ring
 */
static int
sh_release(struct worker *w, struct sh_ring *ring, size_t li)
{
	struct harness *h = w->h;
	if (!tag_ok(ring->ptrs[li], ring->tags[li])) {
		fail(h, "shbench: slot %zu overwritten", w->first + li);
		return -1;
	}
	if (h->ops->free(h->p, w->tid, w->first + li) != 0) {
		fail(h, "shbench: free of slot %zu: %s", w->first + li,
		     h->ops->errormsg(h->p));
		return -1;
	}
	ring->stack[ring->nfree++] = li;
	w->calls[0]++;
	return 0;
}

/*
 * sh_thread -- shbench worker: allocate round the ring, thin it on wrap
 */
static void *
sh_thread(void *arg)
{
	struct worker *w = arg;
	struct harness *h = w->h;
	struct peer *p = h->p;
	const struct peer_ops *ops = h->ops;
	size_t c = w->n;
	struct sh_ring ring = {
		.order = malloc(c * sizeof(size_t)),
		.stack = malloc(c * sizeof(size_t)),
		.ptrs = calloc(c, sizeof(void *)),
		.tags = calloc(c, sizeof(uint64_t)),
	};
	if (!ring.order || !ring.stack || !ring.ptrs || !ring.tags)
		fail(h, "out of memory");
	for (size_t i = 0; ring.stack && i < c; i++)
		ring.stack[ring.nfree++] = c - 1 - i;
	unsigned pos = 0;

	begin(h);
	for (size_t a = 0; !failed(h) && a < h->wp->sh_allocs; a++) {
		size_t li = ring.stack[--ring.nfree];
		void *o = ops->alloc(p, w->tid, w->first + li, sh_pattern(pos));
		pos = (pos + 1) % SH_CYCLE;
		if (o == NULL) {
			fail(h, "shbench: alloc of slot %zu: %s", w->first + li,
			     ops->errormsg(p));
			break;
		}
		ring.tags[li] = tag_of(w->first + li, a);
		put_tag(o, ring.tags[li]);
		ring.ptrs[li] = o;
		ring.order[ring.n++] = li;
		w->ops[0]++;
		w->calls[0]++;
		if (ring.n < c)
			continue;
		/* wrapped: 2/5 oldest first, 2/5 newest first, keep 1/5 */
		size_t k = c * 2 / 5;
		for (size_t j = 0; j < k; j++)
			if (sh_release(w, &ring, ring.order[j]) != 0)
				goto out;
		for (size_t j = 0; j < k; j++)
			if (sh_release(w, &ring, ring.order[ring.n - 1 - j]))
				goto out;
		memmove(ring.order, ring.order + k,
			(ring.n - 2 * k) * sizeof(size_t));
		ring.n -= 2 * k;
	}
	/* the end of the workload: the rest, oldest first */
	for (size_t j = 0; !failed(h) && j < ring.n; j++)
		if (sh_release(w, &ring, ring.order[j]) != 0)
			break;
out:
	end(h);
	free(ring.order);
	free(ring.stack);
	free(ring.ptrs);
	free(ring.tags);
	return NULL;
}

/*
 * sh_run -- shbench: one run
 */
static int
sh_run(const struct wl_params *wp, struct peer *p, unsigned threads,
       size_t size, unsigned run, struct run_result *r, char *msg,
       size_t msglen)
{
	(void)size;
	(void)run;
	struct harness h;
	harness_init(&h, p, wp, threads);
	struct worker *w = workers_new(&h, threads);
	for (unsigned t = 0; t < threads; t++) {
		w[t].first = (size_t)t * wp->sh_ring;
		w[t].n = wp->sh_ring;
		start(&w[t], sh_thread);
	}
	r->nphases = 1;
	snprintf(r->ph[0].workload, sizeof(r->ph[0].workload), "shbench");
	snprintf(r->ph[0].op, sizeof(r->ph[0].op), "alloc");
	timed_phase(&h, &r->ph[0], NULL, &r->src);
	for (unsigned t = 0; t < threads; t++)
		pthread_join(w[t].thr, NULL);
	int ret = finish(&h, w, threads, threads, r, msg, msglen);
	if (ret == 0 && (r->ph[0].ops != (uint64_t)threads * wp->sh_allocs ||
			 r->ph[0].calls != 2 * r->ph[0].ops)) {
		snprintf(msg, msglen, "shbench: %llu allocs, %llu calls",
			 (unsigned long long)r->ph[0].ops,
			 (unsigned long long)r->ph[0].calls);
		ret = -1;
	}
	free(w);
	harness_fini(&h);
	return ret;
}

/* a prod-con queue: one producer, one consumer, pc_queue slots */
struct pc_queue {
	uint64_t head __attribute__((aligned(64))); /* made */
	uint64_t tail __attribute__((aligned(64))); /* freed */
	void **ptrs __attribute__((aligned(64)));
	size_t first; /* slot of entry 0 */
	size_t cap;
	unsigned pair;
};

/*
 * pc_pairs -- prod-con: the pairs T threads make (1 thread: one pair in
 * one thread)
 */
static unsigned
pc_pairs(unsigned threads)
{
	return threads < 2 ? 1 : threads / 2;
}

/*
 * pc_size -- prod-con: pc_queue slots per pair
 */
static void
pc_size(const struct wl_params *wp, unsigned threads, size_t size,
	struct peer_cfg *cfg)
{
	(void)size;
	cfg->nslots = (size_t)pc_pairs(threads) * wp->pc_queue;
	cfg->max_size = wp->pc_size;
	cfg->max_live = (uint64_t)cfg->nslots * wp->pc_size;
}

/*
 * pc_byte -- the byte every byte of object seq of a pair holds
 */
static inline uint8_t
pc_byte(uint64_t seq, unsigned pair)
{
	return (uint8_t)(seq * 31 + pair * 7 + 1);
}

/*
 * pc_wait -- spin, then yield, while a queue is full or empty
 */
static inline void
pc_wait(unsigned *spins)
{
	if (++*spins > 64)
		sched_yield();
}

/*
 * pc_make -- produce object seq into the queue (which has room)
 */
static int
pc_make(struct worker *w, struct pc_queue *q, uint64_t seq)
{
	struct harness *h = w->h;
	size_t e = seq % q->cap;
	void *o = h->ops->alloc(h->p, w->tid, q->first + e, w->size);
	if (o == NULL) {
		fail(h, "prod-con: alloc of slot %zu: %s", q->first + e,
		     h->ops->errormsg(h->p));
		return -1;
	}
	memset(o, pc_byte(seq, q->pair), w->size);
	q->ptrs[e] = o;
	__atomic_store_n(&q->head, seq + 1, __ATOMIC_RELEASE);
	w->ops[0]++;
	w->calls[0]++;
	return 0;
}

/*
 * pc_take -- check every byte of object seq, free it
 */
static int
pc_take(struct worker *w, struct pc_queue *q, uint64_t seq)
{
	struct harness *h = w->h;
	size_t e = seq % q->cap;
	const uint8_t *o = q->ptrs[e];
	uint8_t b = pc_byte(seq, q->pair);
	for (size_t i = 0; i < w->size; i++)
		if (o[i] != b) {
			fail(h,
			     "prod-con: object %llu of pair %u: byte %zu "
			     "is %u, not %u",
			     (unsigned long long)seq, q->pair, i, o[i], b);
			return -1;
		}
	if (h->ops->free(h->p, w->tid, q->first + e) != 0) {
		fail(h, "prod-con: free of slot %zu: %s", q->first + e,
		     h->ops->errormsg(h->p));
		return -1;
	}
	__atomic_store_n(&q->tail, seq + 1, __ATOMIC_RELEASE);
	w->sum += seq;
	w->calls[0]++;
	return 0;
}

/*
 * pc_producer -- allocate, fill, enqueue nobj objects
 */
static void *
pc_producer(void *arg)
{
	struct worker *w = arg;
	struct pc_queue *q = w->q;
	begin(w->h);
	for (uint64_t seq = 0; seq < w->nobj && !failed(w->h); seq++) {
		unsigned spins = 0;
		while (seq - __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) ==
			       q->cap &&
		       !failed(w->h))
			pc_wait(&spins);
		if (failed(w->h) || pc_make(w, q, seq) != 0)
			break;
	}
	end(w->h);
	return NULL;
}

/*
 * pc_consumer -- dequeue, check, free nobj objects
 */
static void *
pc_consumer(void *arg)
{
	struct worker *w = arg;
	struct pc_queue *q = w->q;
	begin(w->h);
	for (uint64_t seq = 0; seq < w->nobj && !failed(w->h); seq++) {
		unsigned spins = 0;
		while (__atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == seq &&
		       !failed(w->h))
			pc_wait(&spins);
		if (failed(w->h) || pc_take(w, q, seq) != 0)
			break;
	}
	end(w->h);
	return NULL;
}

/*
 * pc_alone -- one thread as producer and consumer: fill, then drain
 */
static void *
pc_alone(void *arg)
{
	struct worker *w = arg;
	struct pc_queue *q = w->q;
	begin(w->h);
	for (uint64_t seq = 0; seq < w->nobj && !failed(w->h);) {
		uint64_t batch =
			w->nobj - seq < q->cap ? w->nobj - seq : q->cap;
		for (uint64_t i = 0; i < batch; i++)
			if (pc_make(w, q, seq + i) != 0)
				goto out;
		for (uint64_t i = 0; i < batch; i++)
			if (pc_take(w, q, seq + i) != 0)
				goto out;
		seq += batch;
	}
out:
	end(w->h);
	return NULL;
}

/*
 * pc_run -- prod-con: one run
 */
static int
pc_run(const struct wl_params *wp, struct peer *p, unsigned threads,
       size_t size, unsigned run, struct run_result *r, char *msg,
       size_t msglen)
{
	(void)size;
	(void)run;
	unsigned pairs = pc_pairs(threads);
	unsigned nthreads = threads < 2 ? 1 : 2 * pairs;
	struct harness h;
	harness_init(&h, p, wp, nthreads);
	struct worker *w = workers_new(&h, nthreads);
	struct pc_queue *q = NULL;
	if (posix_memalign((void **)&q, 64, pairs * sizeof(*q)) != 0) {
		fprintf(stderr, "allocbench: out of memory\n");
		exit(1);
	}
	memset(q, 0, pairs * sizeof(*q));
	for (unsigned i = 0; i < pairs; i++) {
		size_t first, n;
		split(wp->pc_objects, pairs, i, &first, &n);
		q[i].cap = wp->pc_queue;
		q[i].first = (size_t)i * wp->pc_queue;
		q[i].pair = i;
		q[i].ptrs = calloc(wp->pc_queue, sizeof(void *));
		if (q[i].ptrs == NULL) {
			fprintf(stderr, "allocbench: out of memory\n");
			exit(1);
		}
		unsigned t0 = nthreads == 1 ? 0 : 2 * i;
		for (unsigned t = t0; t < t0 + (nthreads == 1 ? 1 : 2); t++) {
			w[t].q = &q[i];
			w[t].nobj = n;
			w[t].size = wp->pc_size;
		}
		if (nthreads == 1) {
			start(&w[0], pc_alone);
		} else {
			start(&w[t0], pc_producer);
			start(&w[t0 + 1], pc_consumer);
		}
	}
	r->nphases = 1;
	snprintf(r->ph[0].workload, sizeof(r->ph[0].workload), "prod-con");
	snprintf(r->ph[0].op, sizeof(r->ph[0].op), "alloc");
	timed_phase(&h, &r->ph[0], NULL, &r->src);
	for (unsigned t = 0; t < nthreads; t++)
		pthread_join(w[t].thr, NULL);
	int ret = finish(&h, w, nthreads, nthreads, r, msg, msglen);
	for (unsigned i = 0; ret == 0 && i < pairs; i++) {
		/* the consumer freed exactly the objects its producer made */
		uint64_t n = w[nthreads == 1 ? 0 : 2 * i].nobj;
		uint64_t want = n * (n - (n > 0)) / 2;
		uint64_t made = __atomic_load_n(&q[i].head, __ATOMIC_RELAXED);
		uint64_t freed = __atomic_load_n(&q[i].tail, __ATOMIC_RELAXED);
		uint64_t sum = w[nthreads == 1 ? 0 : 2 * i + 1].sum;
		if (made != n || freed != n || sum != want) {
			snprintf(msg, msglen,
				 "prod-con: pair %u made %llu, freed %llu of "
				 "%llu (sequence sum %llu, %llu expected)",
				 i, (unsigned long long)made,
				 (unsigned long long)freed,
				 (unsigned long long)n, (unsigned long long)sum,
				 (unsigned long long)want);
			ret = -1;
		}
	}
	if (ret == 0 && r->ph[0].ops != wp->pc_objects) {
		snprintf(msg, msglen, "prod-con: %llu objects, %zu expected",
			 (unsigned long long)r->ph[0].ops, wp->pc_objects);
		ret = -1;
	}
	for (unsigned i = 0; i < pairs; i++)
		free(q[i].ptrs);
	free(q);
	free(w);
	harness_fini(&h);
	return ret;
}

/*
 * nm_count -- named: objects of one size (the byte cap, at least 1 per
 * thread)
 */
static size_t
nm_count(const struct wl_params *wp, unsigned threads, size_t size)
{
	uint64_t n = wp->nm_objects;
	if (n * size > wp->nm_bytes)
		n = wp->nm_bytes / size;
	if (n < threads)
		n = threads;
	return (size_t)n;
}

/*
 * nm_size -- named: n objects of one size
 */
static void
nm_size(const struct wl_params *wp, unsigned threads, size_t size,
	struct peer_cfg *cfg)
{
	cfg->nslots = nm_count(wp, threads, size);
	cfg->max_size = size;
	cfg->max_live = (uint64_t)cfg->nslots * size;
}

/*
 * nm_thread -- named worker: alloc all, get all, free all, each timed
 */
static void *
nm_thread(void *arg)
{
	struct worker *w = arg;
	struct harness *h = w->h;
	struct peer *p = h->p;
	const struct peer_ops *ops = h->ops;
	void **ptrs = calloc(w->n ? w->n : 1, sizeof(void *));
	if (ptrs == NULL)
		fail(h, "out of memory");

	begin(h);
	for (size_t i = 0; ptrs && i < w->n && !failed(h); i++) {
		void *o = ops->alloc(p, w->tid, w->first + i, w->size);
		if (o == NULL) {
			fail(h, "named: alloc of slot %zu (%zu B): %s",
			     w->first + i, w->size, ops->errormsg(p));
			break;
		}
		put_tag(o, tag_of(w->first + i, w->rng));
		ptrs[i] = o;
		w->calls[0]++;
	}
	w->ops[0] = w->calls[0];
	end(h);

	begin(h);
	for (size_t i = 0; ptrs && i < w->n && !failed(h); i++) {
		size_t sz = 0;
		void *o = ops->get(p, w->tid, w->first + i, &sz);
		if (o != ptrs[i] || sz < w->size ||
		    !tag_ok(o, tag_of(w->first + i, w->rng))) {
			fail(h,
			     "named: get of slot %zu: %p (%zu B), "
			     "allocated %p (%zu B)",
			     w->first + i, o, sz, ptrs[i], w->size);
			break;
		}
		w->calls[1]++;
	}
	w->ops[1] = w->calls[1];
	end(h);

	begin(h);
	for (size_t i = 0; ptrs && i < w->n && !failed(h); i++) {
		if (ops->free(p, w->tid, w->first + i) != 0) {
			fail(h, "named: free of slot %zu: %s", w->first + i,
			     ops->errormsg(p));
			break;
		}
		w->calls[2]++;
	}
	w->ops[2] = w->calls[2];
	end(h);
	free(ptrs);
	return NULL;
}

/*
 * nm_run -- named: one run (three phases)
 */
static int
nm_run(const struct wl_params *wp, struct peer *p, unsigned threads,
       size_t size, unsigned run, struct run_result *r, char *msg,
       size_t msglen)
{
	static const char *const names[] = {"named-alloc", "named-get",
					    "named-free"};
	static const char *const ops[] = {"alloc", "get", "free"};
	size_t n = nm_count(wp, threads, size);
	struct harness h;
	harness_init(&h, p, wp, threads);
	struct worker *w = workers_new(&h, threads);
	for (unsigned t = 0; t < threads; t++) {
		split(n, threads, t, &w[t].first, &w[t].n);
		w[t].size = size;
		w[t].rng = run;
		start(&w[t], nm_thread);
	}
	r->nphases = 3;
	for (unsigned k = 0; k < 3; k++) {
		snprintf(r->ph[k].workload, sizeof(r->ph[k].workload), "%s",
			 names[k]);
		snprintf(r->ph[k].op, sizeof(r->ph[k].op), "%s", ops[k]);
		timed_phase(&h, &r->ph[k], NULL, &r->src);
	}
	for (unsigned t = 0; t < threads; t++)
		pthread_join(w[t].thr, NULL);
	int ret = finish(&h, w, threads, threads, r, msg, msglen);
	for (unsigned k = 0; ret == 0 && k < 3; k++)
		if (r->ph[k].calls != n) {
			snprintf(msg, msglen, "%s: %llu calls, %zu expected",
				 names[k], (unsigned long long)r->ph[k].calls,
				 n);
			ret = -1;
		}
	free(w);
	harness_fini(&h);
	return ret;
}

static const struct workload workloads[] = {
	{"threadtest", 0, tt_size, tt_run}, {"larson", 0, la_size, la_run},
	{"shbench", 0, sh_size, sh_run},    {"prod-con", 0, pc_size, pc_run},
	{"named", 1, nm_size, nm_run},
};

#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

/*
 * workload_find -- the workload of that name, or NULL
 */
const struct workload *
workload_find(const char *name)
{
	for (size_t i = 0; i < NWORKLOADS; i++)
		if (strcmp(workloads[i].name, name) == 0)
			return &workloads[i];
	return NULL;
}

/*
 * workload_names -- every workload's name, NULL-terminated, in run order
 */
const char *const *
workload_names(void)
{
	static const char *names[NWORKLOADS + 1];
	for (size_t i = 0; i < NWORKLOADS; i++)
		names[i] = workloads[i].name;
	return names;
}
