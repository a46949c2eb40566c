/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_kill.c -- real processes killed at random with SIGKILL
 *
 * Owns the kill test of issue 3, section 5.  A forked child opens one pool
 * and runs random operations on it -- persist_alloc with and without
 * PERSIST_ZERO, persist_alloc_init (also with an init that fails),
 * persist_free, EEXIST and ENOENT probes -- over slab-sized, multi-page and
 * >= 2 MiB objects, reusing freed UUIDs, in a pool small enough to fill.
 * Around every call it writes records to a pipe: INTENT before the call,
 * RETURNED after it (with its errno), ACK once the content is durable.  The
 * parent kills it with SIGKILL at a random moment (a random delay in
 * microseconds; a random number of ACKs plus a random delay; or a short
 * delay aimed at the child's open and recovery), reaps it, reads every
 * complete record and checks the pool through a read-only and then a
 * read-write open: every acknowledged allocation there with its size and
 * content, every acknowledged free gone, the call in flight all or nothing
 * (and decided the same way by both opens), no object the child never
 * allocated, no two objects overlapping, persist_id_of right at the first,
 * last and a random byte of every object, pmemstore_stats in line with the
 * objects; then, closed, pmemstore_check must return 0.  The next round's
 * child reopens the same pool and goes on from the parent's view of the
 * live set, so crashes accumulate; in a quarter of the rounds the parent's
 * read-write open and check run on a copy, leaving the repairs to the next
 * child's open, which an early kill then interrupts.
 *
 * Also owns the kill of pmemstore_create at random moments: no file, a
 * file no open accepts, or a valid empty pool -- never one that opens
 * wrong.
 *
 * Runs KILLS_CI rounds; PMEMSTORE_KILLS=n or "--kills n" runs n, and
 * "--long" runs KILLS_LONG.  The seed (PMEMSTORE_TEST_SEED) fixes every
 * operation and kill plan; where exactly the kill lands is up to timing.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define KILL_POOL_SIZE (16 * MIB)
#define KILLS_CI 100
#define KILLS_LONG 1000
#define FREED_MAX 1024	      /* freed UUIDs remembered for reuse */
#define DELAY_MAX_US 20000    /* longest kill delay after fork */
#define ACKS_MAX 100	      /* most ACKs to wait for before a kill */
#define EXTRA_MAX_US 500      /* most extra delay after those ACKs */
#define OPEN_MAX_US 1500      /* early kills: during the child's open */
#define ROUND_LIMIT_MS 5000.0 /* kill anyway after this long */
#define CHILD_ALARM_S 60      /* a child never outlives this */

static unsigned Kills = KILLS_CI;

/* what the child does; the op of every record */
enum op {
	OP_ALLOC,     /* persist_alloc, then write + persist the content */
	OP_ZERO,      /* persist_alloc(PERSIST_ZERO), then write + persist */
	OP_INIT,      /* persist_alloc_init writing the content */
	OP_INIT_FAIL, /* persist_alloc_init whose init fails: ECANCELED */
	OP_FREE,      /* persist_free */
	OP_COUNT
};

static const char *const Op_names[OP_COUNT] = {"alloc", "alloc-zero", "init",
					       "init-fail", "free"};

/* record types, in the order a child writes them */
enum rtype {
	R_OPENED = 1, /* pmemstore_open returned a handle */
	R_INTENT,     /* about to call */
	R_RETURNED,   /* the call returned (err: its errno or 0) */
	R_ACK,	      /* done: the content is durable */
	R_FATAL,      /* the child gives up (err, seq: where) */
};

/* one record on the pipe: 48 bytes, written whole (< PIPE_BUF) */
struct krec {
	uint32_t type;
	uint32_t op;
	uint8_t uuid[16];
	uint64_t size;
	uint64_t seed;
	int32_t err;
	uint32_t seq;
};

/*
 * one object the parent knows: its content is the pattern of (uuid, seed),
 * or, for an allocation cut short before its content was written, whatever
 * was there, remembered by digest
 */
struct kobj {
	uint8_t uuid[16];
	uint64_t size;
	uint64_t seed;
	uint64_t digest;
	int hashed; /* content is known by digest, not by pattern */
};

/* the live set and the freed UUIDs available for reuse */
struct model {
	struct kobj *live;
	size_t nlive, cap;
	uint8_t (*freed)[16];
	size_t nfreed;
};

/* where the kills landed */
struct kstats {
	unsigned rounds;
	unsigned in_open;    /* before the child's open returned */
	unsigned between;    /* between operations */
	unsigned in_call;    /* INTENT, no RETURNED: inside the library */
	unsigned in_content; /* RETURNED, no ACK: writing the content */
	unsigned inflight_kept, inflight_gone;
	unsigned checked;      /* pmemstore_check returned 0 */
	unsigned deferred;     /* repairs left to the next child's open */
	unsigned raw_dirty;    /* crashed pools the check found findings in */
	uint64_t raw_findings; /* all repairable */
	unsigned repaired;     /* copies repaired by pmemstore_check */
	uint64_t acked;
	uint64_t enomem;
	uint64_t max_live;
	uint64_t max_pages_used, pages_total;
};

/* model_find -- index of uuid among the live objects, or -1 */
static long
model_find(const struct model *m, const uint8_t *uuid)
{
	for (size_t i = 0; i < m->nlive; i++)
		if (memcmp(m->live[i].uuid, uuid, 16) == 0)
			return (long)i;
	return -1;
}

/* model_add -- a new live object */
static void
model_add(struct model *m, const struct kobj *o)
{
	if (m->nlive == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->live = realloc(m->live, m->cap * sizeof(*m->live));
		if (m->live == NULL)
			abort();
	}
	m->live[m->nlive++] = *o;
	/* reused: no longer free */
	for (size_t i = 0; i < m->nfreed; i++) {
		if (memcmp(m->freed[i], o->uuid, 16) == 0) {
			memcpy(m->freed[i], m->freed[--m->nfreed], 16);
			break;
		}
	}
}

/* model_remove -- live object i is freed; its UUID may come back */
static void
model_remove(struct model *m, size_t i, uint64_t *rng)
{
	size_t slot = m->nfreed < FREED_MAX
			      ? m->nfreed++
			      : (size_t)rnd_range(rng, 0, FREED_MAX - 1);

	memcpy(m->freed[slot], m->live[i].uuid, 16);
	m->live[i] = m->live[--m->nlive];
}

/* model_init -- an empty model */
static void
model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->freed = calloc(FREED_MAX, 16);
	if (m->freed == NULL)
		abort();
}

/* model_fini -- free the model */
static void
model_fini(struct model *m)
{
	free(m->live);
	free(m->freed);
}

/* ------------------------------------------------------------------ */
/* the child                                                           */

static int Rec_fd = -1;

/* send_rec -- one whole record to the parent; the child dies on failure */
static void
send_rec(uint32_t type, uint32_t op, const uint8_t *uuid, uint64_t size,
	 uint64_t seed, int err, uint32_t seq)
{
	struct krec r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.op = op;
	if (uuid)
		memcpy(r.uuid, uuid, 16);
	r.size = size;
	r.seed = seed;
	r.err = err;
	r.seq = seq;
	ssize_t n;

	while ((n = write(Rec_fd, &r, sizeof(r))) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r))
		_exit(7);
}

/* init_arg -- what persist_alloc_init's callback writes */
struct init_arg {
	const uint8_t *uuid;
	uint64_t seed;
	int fail;
};

/* init_fill -- persist_alloc_init callback: the pattern, or a failure */
static int
init_fill(void *ptr, size_t size, void *arg)
{
	struct init_arg *a = arg;

	if (a->fail)
		return 42;
	pattern_fill_salt(ptr, size, a->uuid, a->seed);
	return 0;
}

/* pick_size -- slab-sized, multi-page or >= 2 MiB */
static uint64_t
pick_size(uint64_t *rng)
{
	uint64_t r = rnd_range(rng, 0, 99);

	if (r < 60)
		return rnd_range(rng, 0, 3) == 0 ? rnd_range(rng, 1, 63)
						 : rnd_range(rng, 64, 2016);
	if (r < 92)
		return rnd_range(rng, 2017, 256 * KIB);
	return rnd_range(rng, 2 * MIB, 3 * MIB);
}

/* pick_new_uuid -- a freed UUID (reuse) or a fresh one */
static void
pick_new_uuid(struct model *m, uint64_t *rng, uint8_t *uuid)
{
	if (m->nfreed > 0 && rnd_range(rng, 0, 99) < 30)
		memcpy(uuid,
		       m->freed[rnd_range(rng, 0, (uint64_t)m->nfreed - 1)],
		       16);
	else
		rnd_uuid(rng, uuid);
}

/*
 * child_run -- the killed process: open, then operations until killed.
 * m is the parent's view of the live set, inherited by fork.
 */
static void
child_run(const char *path, struct model *m, uint64_t seed, int fd)
{
	uint64_t rng = seed;
	/* how eager to allocate this round: the pool fills or drains */
	uint64_t palloc = rnd_range(&rng, 450, 720);
	struct pmemstore *ps;

	Rec_fd = fd;
	alarm(CHILD_ALARM_S);
	ps = pmemstore_open(path, 0);
	if (ps == NULL) {
		fprintf(stderr, "kill child: open: %s\n", pmemstore_errormsg());
		send_rec(R_FATAL, 0, NULL, 0, 0, errno, 0);
		_exit(3);
	}
	send_rec(R_OPENED, 0, NULL, 0, 0, 0, 0);
	for (uint32_t seq = 1;; seq++) {
		uint64_t r = rnd_range(&rng, 0, 999);
		struct kobj o;
		unsigned op;
		long li = -1;

		memset(&o, 0, sizeof(o));
		o.seed = rnd_next(&rng);
		if (m->nlive == 0 || r < palloc) {
			uint64_t k = rnd_range(&rng, 0, 99);

			op = k < 30   ? OP_ALLOC
			     : k < 60 ? OP_ZERO
			     : k < 97 ? OP_INIT
				      : OP_INIT_FAIL;
			pick_new_uuid(m, &rng, o.uuid);
			o.size = pick_size(&rng);
		} else if (r < palloc + 20) {
			/* a live UUID: EEXIST, the object untouched */
			li = (long)rnd_range(&rng, 0, m->nlive - 1);
			op = rnd_range(&rng, 0, 1) ? OP_ALLOC : OP_INIT;
			memcpy(o.uuid, m->live[li].uuid, 16);
			o.size = pick_size(&rng);
		} else if (r < palloc + 30) {
			/* a UUID never allocated: ENOENT */
			op = OP_FREE;
			rnd_uuid(&rng, o.uuid);
		} else {
			li = (long)rnd_range(&rng, 0, m->nlive - 1);
			op = OP_FREE;
			memcpy(o.uuid, m->live[li].uuid, 16);
			o.size = m->live[li].size;
		}

		send_rec(R_INTENT, op, o.uuid, o.size, o.seed, 0, seq);
		errno = 0;
		int err = 0;
		void *p = NULL;
		struct init_arg ia = {o.uuid, o.seed, op == OP_INIT_FAIL};

		switch (op) {
		case OP_ALLOC:
		case OP_ZERO:
			p = persist_alloc(ps, o.uuid, o.size,
					  op == OP_ZERO ? PERSIST_ZERO : 0);
			err = p ? 0 : errno;
			break;
		case OP_INIT:
		case OP_INIT_FAIL:
			p = persist_alloc_init(ps, o.uuid, o.size, init_fill,
					       &ia);
			err = p ? 0 : errno;
			break;
		default:
			err = persist_free(ps, o.uuid) ? errno : 0;
			break;
		}
		send_rec(R_RETURNED, op, o.uuid, o.size, o.seed, err, seq);
		if (p != NULL && (op == OP_ALLOC || op == OP_ZERO)) {
			pattern_fill_salt(p, o.size, o.uuid, o.seed);
			persist(ps, p, o.size);
		}
		send_rec(R_ACK, op, o.uuid, o.size, o.seed, err, seq);
		if (err == 0 && op == OP_FREE)
			model_remove(m, (size_t)model_find(m, o.uuid), &rng);
		else if (err == 0 && op != OP_FREE)
			model_add(m, &o);
	}
}

/* ------------------------------------------------------------------ */
/* the parent                                                          */

/* round_ctx -- one round: its number and seed, for messages */
struct round_ctx {
	unsigned round;
	uint64_t seed;
	unsigned violations;
};

/* violation -- report one broken expectation of round c */
static void violation(struct round_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
violation(struct round_ctx *c, const char *fmt, ...)
{
	va_list ap;

	c->violations++;
	fprintf(stderr,
		"kill round %u (round seed 0x%016" PRIx64 "): ", c->round,
		c->seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	CU_FAIL("kill test violation (see stderr)");
}

/* now_us -- monotonic microseconds */
static double
now_us(void)
{
	return now_ms() * 1000.0;
}

/* recbuf -- the bytes read from the child */
struct recbuf {
	unsigned char *b;
	size_t n, cap;
	unsigned acks;
	int eof;
};

/* recbuf_read -- read what is available (fd is non-blocking) */
static void
recbuf_read(struct recbuf *rb, int fd)
{
	for (;;) {
		if (rb->cap - rb->n < 4096) {
			rb->cap = rb->cap ? rb->cap * 2 : 65536;
			rb->b = realloc(rb->b, rb->cap);
			if (rb->b == NULL)
				abort();
		}
		ssize_t k = read(fd, rb->b + rb->n, rb->cap - rb->n);

		if (k > 0) {
			size_t first = rb->n / sizeof(struct krec);

			rb->n += (size_t)k;
			for (size_t i = first; i < rb->n / sizeof(struct krec);
			     i++) {
				struct krec r;

				memcpy(&r, rb->b + i * sizeof(r), sizeof(r));
				rb->acks += r.type == R_ACK;
			}
			continue;
		}
		if (k == 0)
			rb->eof = 1;
		else if (errno == EINTR)
			continue;
		return;
	}
}

/*
 * wait_and_kill -- follow the records until the kill plan says so, kill
 * the child, reap it; 0 when it died of the SIGKILL
 */
static int
wait_and_kill(struct round_ctx *c, pid_t pid, int fd, uint64_t *rng,
	      struct recbuf *rb)
{
	double start = now_us(), deadline;
	unsigned want_acks = 0;
	uint64_t extra = 0;
	uint64_t plan = rnd_range(rng, 0, 99);
	int by_acks = plan < 45;
	int status;

	if (plan >= 90) {
		/* early: aimed at the child's open and its recovery */
		deadline = start + (double)rnd_range(rng, 0, OPEN_MAX_US);
	} else if (by_acks) {
		want_acks = (unsigned)rnd_range(rng, 0, ACKS_MAX);
		extra = rnd_range(rng, 0, EXTRA_MAX_US);
		deadline = start + ROUND_LIMIT_MS * 1000.0;
	} else {
		deadline = start + (double)rnd_range(rng, 0, DELAY_MAX_US);
	}
	for (;;) {
		recbuf_read(rb, fd);
		double t = now_us();

		if (by_acks && rb->acks >= want_acks) {
			deadline = t + (double)extra;
			by_acks = 0;
		}
		if (t >= deadline || rb->eof)
			break;
		double left = deadline - t;

		if (left < 100.0)
			continue; /* spin: poll cannot sleep this short */
		struct pollfd pfd = {fd, POLLIN, 0};
		struct timespec ts = {(time_t)(left / 1e6),
				      (long)((left - 50.0) * 1000.0) %
					      1000000000L};
		(void)ppoll(&pfd, 1, &ts, NULL);
	}
	if (now_us() - start > ROUND_LIMIT_MS * 1000.0)
		fprintf(stderr, "kill round %u: no kill plan met in %.0f ms\n",
			c->round, ROUND_LIMIT_MS);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			violation(c, "waitpid: %s", strerror(errno));
			return -1;
		}
	/* the rest: the write end is closed now that the child is gone */
	int fl = fcntl(fd, F_GETFL);

	(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	while (!rb->eof)
		recbuf_read(rb, fd);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		violation(c, "the child did not die of SIGKILL: %s %d",
			  WIFEXITED(status) ? "exit" : "signal",
			  WIFEXITED(status) ? WEXITSTATUS(status)
					    : WTERMSIG(status));
		return -1;
	}
	return 0;
}

/* inflight -- the operation the kill cut short, if any */
struct inflight {
	int any;
	int returned; /* RETURNED seen */
	struct krec intent;
	int err; /* of RETURNED */
};

/*
 * apply_records -- apply every acknowledged operation to the model,
 * checking its result; fill *in with the one in flight
 */
static int
apply_records(struct round_ctx *c, struct model *m, const struct recbuf *rb,
	      struct inflight *in, struct kstats *ks, uint64_t *rng)
{
	size_t n = rb->n / sizeof(struct krec);
	int opened = 0;

	memset(in, 0, sizeof(*in));
	for (size_t i = 0; i < n; i++) {
		struct krec r;

		memcpy(&r, rb->b + i * sizeof(r), sizeof(r));
		switch (r.type) {
		case R_OPENED:
			opened = 1;
			break;
		case R_FATAL:
			violation(c, "the child failed: %s", strerror(r.err));
			return -1;
		case R_INTENT:
			if (in->any || r.op >= OP_COUNT) {
				violation(c, "record %zu: bad INTENT", i);
				return -1;
			}
			in->any = 1;
			in->returned = 0;
			in->intent = r;
			break;
		case R_RETURNED:
			if (!in->any || in->intent.seq != r.seq) {
				violation(c, "record %zu: stray RETURNED", i);
				return -1;
			}
			in->returned = 1;
			in->err = r.err;
			break;
		case R_ACK: {
			if (!in->returned || in->intent.seq != r.seq) {
				violation(c, "record %zu: stray ACK", i);
				return -1;
			}
			long li = model_find(m, r.uuid);
			int want;

			if (r.op == OP_FREE)
				want = li >= 0 ? 0 : ENOENT;
			else if (li >= 0)
				want = EEXIST;
			else if (r.err == ENOMEM)
				want = ENOMEM; /* full: space is taken first */
			else
				want = r.op == OP_INIT_FAIL ? ECANCELED : 0;
			if (r.err != want) {
				violation(c,
					  "%s of %s (%" PRIu64 " B) returned "
					  "%s, expected %s",
					  Op_names[r.op], uuid_str(r.uuid),
					  r.size, strerror(r.err),
					  strerror(want));
				return -1;
			}
			ks->acked++;
			ks->enomem += r.err == ENOMEM;
			if (r.err == 0 && r.op == OP_FREE) {
				model_remove(m, (size_t)li, rng);
			} else if (r.err == 0) {
				struct kobj o;

				memset(&o, 0, sizeof(o));
				memcpy(o.uuid, r.uuid, 16);
				o.size = r.size;
				o.seed = r.seed;
				model_add(m, &o);
			}
			in->any = 0;
			break;
		}
		default:
			violation(c, "record %zu: unknown type %u", i, r.type);
			return -1;
		}
	}
	if (rb->n % sizeof(struct krec))
		fprintf(stderr, "kill round %u: %zu bytes of a torn record\n",
			c->round, rb->n % sizeof(struct krec));
	if (!opened)
		ks->in_open++;
	else if (!in->any)
		ks->between++;
	else if (!in->returned)
		ks->in_call++;
	else
		ks->in_content++;
	return 0;
}

/* content_ok -- the object holds what the model says */
static int
content_ok(const struct kobj *o, const void *p)
{
	if (o->hashed)
		return test_xxh64(p, o->size, 0) == o->digest;
	return pattern_check_salt(p, o->size, o->uuid, o->seed) == -1;
}

/* zero_or_pattern -- every byte is 0 or the pattern's (a fill under way) */
static int
zero_or_pattern(const struct kobj *o, const unsigned char *p)
{
	unsigned char *want = malloc(o->size);
	int ok = 1;

	if (want == NULL)
		abort();
	pattern_fill_salt(want, o->size, o->uuid, o->seed);
	for (uint64_t i = 0; i < o->size && ok; i++)
		ok = p[i] == 0 || p[i] == want[i];
	free(want);
	return ok;
}

/*
 * resolve_inflight -- decide from what the pool holds whether the call in
 * flight took effect, check that it did so entirely, and update the model
 * accordingly.  Returns 1 kept, 0 gone, -1 violation.
 */
static int
resolve_inflight(struct round_ctx *c, struct pmemstore *ps, struct model *m,
		 const struct inflight *in, uint64_t *rng)
{
	const struct krec *r = &in->intent;
	long li = model_find(m, r->uuid);
	size_t size = 0;
	unsigned char *p = persist_get(ps, r->uuid, &size);

	if (r->op == OP_FREE || li >= 0) {
		/* a free, or an alloc of a live UUID (EEXIST) */
		if (li < 0) {
			if (p != NULL) {
				violation(c,
					  "free in flight of %s, never "
					  "allocated, made it exist",
					  uuid_str(r->uuid));
				return -1;
			}
			return 0;
		}
		if (p == NULL && r->op != OP_FREE) {
			violation(c, "alloc in flight of live %s removed it",
				  uuid_str(r->uuid));
			return -1;
		}
		if (p == NULL) {
			model_remove(m, (size_t)li, rng);
			return 0;
		}
		return 1; /* verify() checks size and content */
	}
	if (p == NULL)
		return 0;
	struct kobj o;

	memset(&o, 0, sizeof(o));
	memcpy(o.uuid, r->uuid, 16);
	o.size = r->size;
	o.seed = r->seed;
	if (size != r->size) {
		violation(c, "%s in flight of %s: size %zu, asked %" PRIu64,
			  Op_names[r->op], uuid_str(r->uuid), size, r->size);
		return -1;
	}
	switch (r->op) {
	case OP_INIT_FAIL:
		violation(c, "init-fail in flight of %s left an object",
			  uuid_str(r->uuid));
		return -1;
	case OP_INIT:
		if (!content_ok(&o, p)) {
			violation(c,
				  "init in flight of %s (%zu B): published "
				  "without its content",
				  uuid_str(r->uuid), size);
			return -1;
		}
		break;
	case OP_ZERO:
		if (!in->returned ? !mem_is(p, 0, size)
				  : !zero_or_pattern(&o, p)) {
			violation(c,
				  "alloc-zero in flight of %s (%zu B): "
				  "published before zeroed",
				  uuid_str(r->uuid), size);
			return -1;
		}
		break;
	default:
		break; /* plain persist_alloc: content undefined until ACK */
	}
	if (r->op != OP_INIT && !content_ok(&o, p)) {
		o.hashed = 1;
		o.digest = test_xxh64(p, size, 0);
	}
	model_add(m, &o);
	return 1;
}

/* kobj_cmp -- order objects by UUID */
static int
kobj_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* range -- the bytes of one object */
struct range {
	uintptr_t lo, hi;
	const uint8_t *uuid;
};

/* range_cmp -- order ranges by start */
static int
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* walk_ctx -- what pmemstore_foreach finds */
struct walk_ctx {
	struct round_ctx *c;
	struct pmemstore *ps;
	const struct kobj *sorted;
	size_t n;
	struct range *ranges;
	size_t nranges;
	int bad;
};

/* walk_cb -- foreach: every object is one the model has, at its place */
static int
walk_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	struct walk_ctx *w = arg;
	const struct kobj *o =
		bsearch(id, w->sorted, w->n, sizeof(*o), kobj_cmp);

	if (o == NULL) {
		violation(w->c, "object %s (%zu B) was never allocated",
			  uuid_str(id), size);
		w->bad = 1;
		return 0;
	}
	if (o->size != size || persist_get(w->ps, id, NULL) != ptr) {
		violation(w->c, "foreach gives %s as %zu B at %p", uuid_str(id),
			  size, ptr);
		w->bad = 1;
	}
	if (w->nranges < w->n) {
		w->ranges[w->nranges].lo = (uintptr_t)ptr;
		w->ranges[w->nranges].hi = (uintptr_t)ptr + size;
		w->ranges[w->nranges].uuid = o->uuid;
		w->nranges++;
	} else {
		violation(w->c, "foreach gives more objects than are live");
		w->bad = 1;
	}
	return 0;
}

/* id_at -- persist_id_of(addr) is uuid */
static int
id_at(struct pmemstore *ps, const unsigned char *addr, const uint8_t *uuid)
{
	uuid_t got;

	return persist_id_of(ps, addr, got) == 0 && memcmp(got, uuid, 16) == 0;
}

/* verify -- the pool holds exactly the model's objects; 0 when it does */
static int
verify(struct round_ctx *c, struct pmemstore *ps, const struct model *m,
       uint64_t *rng, struct kstats *ks)
{
	unsigned before = c->violations;
	uint64_t bytes = 0;

	for (size_t i = 0; i < m->nlive; i++) {
		const struct kobj *o = &m->live[i];
		size_t size = 0;
		unsigned char *p = persist_get(ps, o->uuid, &size);

		bytes += o->size;
		if (p == NULL) {
			violation(c, "acknowledged %s (%" PRIu64 " B) is gone",
				  uuid_str(o->uuid), o->size);
			continue;
		}
		if (size != o->size) {
			violation(c, "%s: size %zu, allocated %" PRIu64,
				  uuid_str(o->uuid), size, o->size);
			continue;
		}
		if (!content_ok(o, p)) {
			violation(c, "%s (%zu B): content changed%s",
				  uuid_str(o->uuid), size,
				  o->hashed ? " (digest)" : "");
			continue;
		}
		uint64_t mid = rnd_range(rng, 0, size - 1);

		if (!id_at(ps, p, o->uuid) ||
		    !id_at(ps, p + size - 1, o->uuid) ||
		    !id_at(ps, p + mid, o->uuid))
			violation(c, "persist_id_of is wrong inside %s",
				  uuid_str(o->uuid));
	}

	struct walk_ctx w;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.ps = ps;
	w.n = m->nlive;
	struct kobj *sorted = malloc((m->nlive + 1) * sizeof(*sorted));

	w.ranges = malloc((m->nlive + 1) * sizeof(*w.ranges));
	if (sorted == NULL || w.ranges == NULL)
		abort();
	if (m->nlive > 0) /* m->live may still be NULL */
		memcpy(sorted, m->live, m->nlive * sizeof(*sorted));
	qsort(sorted, m->nlive, sizeof(*sorted), kobj_cmp);
	w.sorted = sorted;
	if (pmemstore_foreach(ps, walk_cb, &w) != 0)
		violation(c, "pmemstore_foreach: %s", pmemstore_errormsg());
	if (!w.bad && w.nranges != m->nlive)
		violation(c, "foreach gives %zu objects, %zu are live",
			  w.nranges, m->nlive);
	qsort(w.ranges, w.nranges, sizeof(*w.ranges), range_cmp);
	for (size_t i = 1; i < w.nranges; i++)
		if (w.ranges[i].lo < w.ranges[i - 1].hi)
			violation(c, "%s and %s overlap",
				  uuid_str(w.ranges[i - 1].uuid),
				  uuid_str(w.ranges[i].uuid));
	free(w.ranges);
	free(sorted);

	struct pmemstore_stats st;

	if (pmemstore_stats(ps, &st) != 0) {
		violation(c, "pmemstore_stats: %s", pmemstore_errormsg());
	} else {
		if (st.objects != m->nlive || st.bytes != bytes)
			violation(c,
				  "stats: %" PRIu64 " objects, %" PRIu64
				  " bytes; live: %zu objects, %" PRIu64
				  " bytes",
				  st.objects, st.bytes, m->nlive, bytes);
		/* pages_used includes the index's pages (format 2) */
		uint64_t opages = st.pages_used - st.index_pages;

		if (st.pages_used + st.pages_free != st.pages_total ||
		    st.index_pages == 0 || st.index_pages > st.pages_used ||
		    (st.objects > 0 && opages == 0) || bytes > opages * 4096)
			violation(c,
				  "stats: %" PRIu64 " pages used, %" PRIu64
				  " free, %" PRIu64 " total, for %" PRIu64
				  " bytes",
				  st.pages_used, st.pages_free, st.pages_total,
				  bytes);
		if (st.pages_used > ks->max_pages_used)
			ks->max_pages_used = st.pages_used;
		ks->pages_total = st.pages_total;
	}
	if (m->nlive > ks->max_live)
		ks->max_live = m->nlive;
	return c->violations == before ? 0 : -1;
}

/* closed_cb -- a finding of a closed pool: only stale index entries pass */
static int
closed_cb(const struct pmemstore_finding *f, void *arg)
{
	unsigned *bad = arg;

	if (f->kind != PMEMSTORE_FINDING_INDEX || !f->repairable ||
	    strstr(f->message, "(stale;") == NULL)
		++*bad;
	return 0;
}

/*
 * check_closed -- pmemstore_check of the closed pool must return 0, but
 * for stale index entries: a kill between an allocation's entry and its
 * header leaves one, which neither open nor close removes (format 2: it
 * takes room in a bucket and names no object; REPAIR removes it)
 */
static int
check_closed(struct round_ctx *c, const char *path, struct kstats *ks)
{
	unsigned bad = 0;

	errno = 0;
	int r = pmemstore_check_report(path, 0, closed_cb, &bad);

	if (r == 0 || (bad == 0 && errno == EUCLEAN)) {
		ks->checked++;
		return 0;
	}
	violation(c, "pmemstore_check: %d: %s (%s)", r, strerror(errno),
		  pmemstore_errormsg());
	return -1;
}

/* copy_file -- dst becomes a byte copy of src; 0 on success */
static int
copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static char buf[1 << 16];
	ssize_t n = -1;

	if (in >= 0 && out >= 0) {
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n) {
				n = -1;
				break;
			}
	}
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0)
		n = -1;
	return n == 0 ? 0 : -1;
}

/* raw_ctx -- findings of a check of what a kill left */
struct raw_ctx {
	struct round_ctx *c;
	unsigned n, bad;
};

/* raw_cb -- every finding on a crashed pool must be repairable */
static int
raw_cb(const struct pmemstore_finding *f, void *arg)
{
	struct raw_ctx *r = arg;

	r->n++;
	if (!f->repairable) {
		r->bad++;
		violation(r->c,
			  "check of the crashed pool: kind %u at offset "
			  "%" PRIu64 " not repairable: %s",
			  f->kind, f->offset, f->message);
	}
	return 0;
}

/*
 * check_raw -- pmemstore_check_report of the pool as the kill left it: a
 * crash of a correct library leaves only what recovery repairs, so every
 * finding must be classified repairable (the call may fail for them)
 */
static int
check_raw(struct round_ctx *c, const char *path, struct kstats *ks)
{
	struct raw_ctx r = {c, 0, 0};

	errno = 0;
	int ret = pmemstore_check_report(path, 0, raw_cb, &r);
	int err = errno;

	if (r.bad)
		return -1;
	if (ret != 0 && r.n == 0) {
		violation(c, "check of the crashed pool failed: %s (%s)",
			  strerror(err), pmemstore_errormsg());
		return -1;
	}
	ks->raw_dirty += r.n > 0;
	ks->raw_findings += r.n;
	return 0;
}

/* repair_copy -- pmemstore_check with REPAIR on a copy must return 0 */
static int
repair_copy(struct round_ctx *c, const char *copy, struct kstats *ks)
{
	errno = 0;
	if (pmemstore_check(copy, PMEMSTORE_CHECK_REPAIR) == 0) {
		ks->repaired++;
		return 0;
	}
	violation(c, "pmemstore_check REPAIR of the crashed pool: %s (%s)",
		  strerror(errno), pmemstore_errormsg());
	return -1;
}

/*
 * check_round -- after a kill: pmemstore_check of the pool as left must
 * find nothing but repairable states; a read-only open (recovery without
 * repairs) decides the call in flight and must agree with the model; then
 * a read-write open (with repairs) must agree too, and once closed,
 * pmemstore_check must pass.  In deferred rounds these run on a copy,
 * repaired first by pmemstore_check REPAIR, and the pool itself keeps what
 * the crash left, for the next child's open to repair (and perhaps be
 * killed doing so).
 */
static int
check_round(struct round_ctx *c, const char *path, struct model *m,
	    const struct inflight *in, uint64_t *rng, struct kstats *ks)
{
	struct pmemstore *ps;
	int kept = -1, deferred = rnd_range(rng, 0, 3) == 0;
	char *copy = NULL;
	const char *rw = path;

	if (check_raw(c, path, ks))
		return -1;
	ps = pmemstore_open(path, PMEMSTORE_RDONLY);
	if (ps == NULL) {
		violation(c, "read-only open: %s", pmemstore_errormsg());
		return -1;
	}
	if (in->any) {
		kept = resolve_inflight(c, ps, m, in, rng);
		if (kept < 0) {
			pmemstore_close(ps);
			return -1;
		}
		kept ? ks->inflight_kept++ : ks->inflight_gone++;
	}
	int bad = verify(c, ps, m, rng, ks);

	pmemstore_close(ps);
	if (bad)
		return -1;
	if (deferred) {
		if (asprintf(&copy, "%s.copy", path) < 0)
			abort();
		if (copy_file(path, copy) != 0) {
			violation(c, "cannot copy the pool: %s",
				  strerror(errno));
			free(copy);
			return -1;
		}
		rw = copy;
		ks->deferred++;
	}
	ps = NULL;
	if (deferred && repair_copy(c, copy, ks))
		bad = -1;
	else if ((ps = pmemstore_open(rw, 0)) == NULL) {
		violation(c, "open: %s", pmemstore_errormsg());
		bad = -1;
	} else {
		bad = verify(c, ps, m, rng, ks);
		if (pmemstore_close(ps) != 0)
			violation(c, "close: %s", pmemstore_errormsg());
		if (!bad)
			bad = check_closed(c, rw, ks);
	}
	if (copy) {
		unlink(copy);
		free(copy);
	}
	return bad ? -1 : 0;
}

/* run_round -- one child, one kill, one check; 0 when all held */
static int
run_round(struct round_ctx *c, const char *path, struct model *m,
	  struct kstats *ks)
{
	uint64_t rng = c->seed;
	uint64_t child_seed = rnd_next(&rng);
	struct recbuf rb;
	struct inflight in;
	int fds[2];

	memset(&rb, 0, sizeof(rb));
	if (pipe2(fds, O_CLOEXEC) != 0) {
		violation(c, "pipe2: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();

	if (pid < 0) {
		violation(c, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child_run(path, m, child_seed, fds[1]);
		_exit(9);
	}
	close(fds[1]);
	(void)fcntl(fds[0], F_SETFL, O_NONBLOCK);
	int ret = wait_and_kill(c, pid, fds[0], &rng, &rb);

	close(fds[0]);
	ks->rounds++;
	if (ret == 0)
		ret = apply_records(c, m, &rb, &in, ks, &rng);
	if (ret == 0)
		ret = check_round(c, path, m, &in, &rng, ks);
	free(rb.b);
	return ret;
}

/* print_stats -- the figures of a run */
static void
print_stats(const char *mode, const struct kstats *ks, double ms)
{
	unsigned mid = ks->in_call + ks->in_content;

	printf("\nkill test [%s]: %u kills in %.1f s: %u mid-operation "
	       "(%u inside a library call, %u writing content), %u between "
	       "operations, %u during open/recovery\n",
	       mode, ks->rounds, ms / 1000.0, mid, ks->in_call, ks->in_content,
	       ks->between, ks->in_open);
	printf("kill test [%s]: operation in flight kept %u, gone %u; %" PRIu64
	       " acknowledged operations, %" PRIu64 " ENOMEM (pool full); "
	       "most live objects %" PRIu64 ", most pages used %" PRIu64
	       " of %" PRIu64 "\n",
	       mode, ks->inflight_kept, ks->inflight_gone, ks->acked,
	       ks->enomem, ks->max_live, ks->max_pages_used, ks->pages_total);
	printf("kill test [%s]: %u rounds left the repair to the next "
	       "child's open\n",
	       mode, ks->deferred);
	printf("kill test [%s]: pmemstore_check of the pools as the kills "
	       "left them: %u with findings, %" PRIu64
	       " findings, all repairable; REPAIR of %u copies; check of "
	       "the closed pool returned 0 %u times\n",
	       mode, ks->raw_dirty, ks->raw_findings, ks->repaired,
	       ks->checked);
}

/* fill_count -- how many 4 KiB objects fit before ENOMEM */
static unsigned long
fill_count(struct pmemstore *ps, uint64_t seed)
{
	uint64_t rng = seed;
	unsigned long n = 0;
	uuid_t id;

	for (;;) {
		rnd_uuid(&rng, id);
		errno = 0;
		if (persist_alloc(ps, id, 4096, 0) == NULL)
			break;
		n++;
	}
	CU_ASSERT_EQUAL(errno, ENOMEM);
	return n;
}

/* test_kill_rounds -- Kills rounds of kill and check on one pool */
static void
test_kill_rounds(void)
{
	char *path = test_pool_path("kill");
	uint64_t seed = test_seed();
	struct model m;
	struct kstats ks;
	const char *mode = getenv("PMEMSTORE_TEST_MODE");
	double t0 = now_ms();

	if (mode == NULL)
		mode = "?";
	memset(&ks, 0, sizeof(ks));
	model_init(&m);
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, KILL_POOL_SIZE, 0600));

	if (ps == NULL)
		goto out;
	pmemstore_close(ps);
	printf("\nkill test [%s]: %u kills, seed %" PRIu64 " (%s)\n", mode,
	       Kills, seed, path);
	for (unsigned i = 0; i < Kills; i++) {
		uint64_t s = seed + i;
		struct round_ctx c = {i, rnd_next(&s), 0};

		if (run_round(&c, path, &m, &ks) != 0) {
			fprintf(stderr,
				"kill test: stopped at round %u; reproduce "
				"with PMEMSTORE_TEST_SEED=%" PRIu64 "\n",
				i, seed);
			break;
		}
		if (Kills >= 500 && (i + 1) % 100 == 0)
			printf("kill test [%s]: %u rounds, %.1f s\n", mode,
			       i + 1, (now_ms() - t0) / 1000.0);
	}
	print_stats(mode, &ks, now_ms() - t0);
	CU_ASSERT_EQUAL(ks.rounds, Kills);
	if (ks.rounds != Kills)
		goto out;

	/*
	 * last: free everything, then no page may stay in use -- after a
	 * clean close and open: until the first clean close after a crash,
	 * the run of an allocation the crash cut short may stay in use
	 * (docs/format.md, the page check after a crash)
	 */
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		for (size_t i = 0; i < m.nlive; i++)
			EXPECT_OK(persist_free(ps, m.live[i].uuid));
		EXPECT_OK(pmemstore_close(ps));
		ps = EXPECT_PTR(pmemstore_open(path, 0));
	}
	if (ps != NULL) {
		struct pmemstore_stats st = get_stats(ps);

		CU_ASSERT_EQUAL(st.objects, 0);
		CU_ASSERT_EQUAL(st.bytes, 0);
		CU_ASSERT_EQUAL(st.pages_used, st.index_pages);
		if (st.pages_used != st.index_pages)
			fprintf(stderr, "kill test: %" PRIu64 " pages leaked\n",
				st.pages_used - st.index_pages);
		/* and it holds as much as a fresh pool does */
		unsigned long n_old = fill_count(ps, seed), n_new = 0;

		pmemstore_close(ps);
		struct round_ctx c = {Kills, seed, 0};

		(void)check_closed(&c, path, &ks);
		char *fresh = test_pool_path("kill_fresh");

		uint64_t fresh_index = 0;

		ps = EXPECT_PTR(pmemstore_create(fresh, KILL_POOL_SIZE, 0600));
		if (ps != NULL) {
			fresh_index = get_stats(ps).index_pages;
			n_new = fill_count(ps, seed);
			pmemstore_close(ps);
		}
		test_pool_remove(fresh);
		printf("kill test [%s]: after the kills the pool takes %lu "
		       "page-sized objects, a fresh one %lu\n",
		       mode, n_old, n_new);
		/* but for the pages its index grew into (fill_count's own
		 * index growth on top may differ by a segment) */
		CU_ASSERT(n_old <= n_new + 8);
		CU_ASSERT(n_old + (st.index_pages - fresh_index) + 8 >= n_new);
		CU_ASSERT(n_new > 0);
	}
out:
	model_fini(&m);
	test_pool_remove(path);
}

/* create_child -- create the pool, report, wait to be killed */
static void
create_child(const char *path, int fd)
{
	double t0 = now_us();

	alarm(CHILD_ALARM_S);
	if (write(fd, &t0, sizeof(t0)) != (ssize_t)sizeof(t0))
		_exit(7);
	struct pmemstore *ps = pmemstore_create(path, KILL_POOL_SIZE, 0600);
	double took = now_us() - t0;

	char msg[1 + sizeof(took)] = {ps ? 'C' : 'F'};

	memcpy(msg + 1, &took, sizeof(took)); /* one write: one read */
	if (write(fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		_exit(7);
	for (;;)
		pause();
}

/*
 * test_kill_create -- SIGKILL during pmemstore_create: afterwards there is
 * no file, or one that both opens refuse, or an empty valid pool; a create
 * that returned left a pool that opens
 */
static void
test_kill_create(void)
{
	char *path = test_pool_path("kill_create");
	uint64_t rng = test_seed() ^ 0xc4ea7eULL;
	unsigned rounds = Kills / 2 > 20 ? Kills / 2 : 20;
	unsigned none = 0, refused = 0, opened = 0, returned = 0, late = 0;

	/* how long a create takes in a child: kills land in [0, 2x that] */
	uint64_t span_us = 0;
	struct pmemstore *ps;

	for (unsigned i = 0; i < rounds; i++) {
		int fds[2];
		char c = 0;
		int st;

		(void)unlink(path);
		CU_ASSERT_FATAL(pipe2(fds, O_CLOEXEC) == 0);
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();

		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			create_child(path, fds[1]);
		}
		close(fds[1]);
		/* from the moment the child is about to create (same clock) */
		double t0 = 0;

		if (read(fds[0], &t0, sizeof(t0)) != (ssize_t)sizeof(t0))
			CU_FAIL("the create child did not start");
		/* round 0 runs to the end and times the create */
		double end = t0 + (double)rnd_range(&rng, 0, span_us);
		struct pollfd pfd = {fds[0], POLLIN, 0};

		late += span_us && now_us() > end;
		if (span_us) {
			/* sleep, not spin: the child may need this core */
			uint64_t e = (uint64_t)end;
			struct timespec ts = {(time_t)(e / 1000000),
					      (long)(e % 1000000) * 1000};

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
					       &ts, NULL) == EINTR)
				;
		} else {
			(void)poll(&pfd, 1, 10000);
		}
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		char msg[1 + sizeof(double)] = {0};
		double took = 0;

		if (read(fds[0], msg, sizeof(msg)) == (ssize_t)sizeof(msg))
			c = msg[0];
		memcpy(&took, msg + 1, sizeof(took));
		if (c == 'C' && span_us == 0)
			span_us = (uint64_t)(took * 2.0) + 50;
		close(fds[0]);
		CU_ASSERT(c != 'F');
		returned += c == 'C';
		if (access(path, F_OK) != 0) {
			CU_ASSERT(c != 'C');
			none++;
			continue;
		}
		struct pmemstore *ro = pmemstore_open(path, PMEMSTORE_RDONLY);
		int ro_ok = ro != NULL;

		if (ro)
			pmemstore_close(ro);
		errno = 0;
		ps = pmemstore_open(path, 0);
		if (ps == NULL) {
			int err = errno;

			/* half a create: refused, for a reason that says so */
			CU_ASSERT(c != 'C');
			CU_ASSERT(!ro_ok);
			CU_ASSERT(err == EINVAL || err == EIO);
			if (c == 'C' || ro_ok || (err != EINVAL && err != EIO))
				fprintf(stderr,
					"kill create round %u: open: %s (%s)\n",
					i, strerror(err), pmemstore_errormsg());
			refused++;
			continue;
		}
		CU_ASSERT(ro_ok);
		struct pmemstore_stats sst = get_stats(ps);

		CU_ASSERT_EQUAL(sst.objects, 0);
		CU_ASSERT_EQUAL(sst.pages_used, sst.index_pages);
		uuid_t id;

		rnd_uuid(&rng, id);
		CU_ASSERT_PTR_NOT_NULL(
			persist_alloc(ps, id, 100, PERSIST_ZERO));
		EXPECT_OK(pmemstore_close(ps));
		errno = 0;
		int r = pmemstore_check(path, 0);

		CU_ASSERT_EQUAL(r, 0);
		if (r != 0)
			fprintf(stderr, "kill create round %u: check: %s\n", i,
				pmemstore_errormsg());
		opened++;
	}
	printf("\nkill create [%s]: %u kills within %" PRIu64
	       " us of the start: no file %u, refused %u, empty pool %u "
	       "(create had returned in %u; the kill came late %u times)\n",
	       getenv("PMEMSTORE_TEST_MODE") ?: "?", rounds, span_us, none,
	       refused, opened, returned, late);
	CU_ASSERT_EQUAL(none + refused + opened, rounds);
	test_pool_remove(path);
}

static CU_TestInfo kill_tests[] = {
	{"SIGKILL at random, check, go on", test_kill_rounds},
	{"SIGKILL during pmemstore_create", test_kill_create},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"kill", NULL, NULL, NULL, NULL, kill_tests},
	CU_SUITE_INFO_NULL,
};

/* parse_args -- --long, --kills n, or PMEMSTORE_KILLS=n */
static int
parse_args(int argc, char **argv)
{
	const char *env = getenv("PMEMSTORE_KILLS");

	if (env != NULL && env[0] != '\0')
		Kills = (unsigned)strtoul(env, NULL, 0);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--long") == 0) {
			Kills = KILLS_LONG;
		} else if (strcmp(argv[i], "--kills") == 0 && i + 1 < argc) {
			Kills = (unsigned)strtoul(argv[++i], NULL, 0);
		} else {
			fprintf(stderr,
				"usage: %s [--long | --kills N]\n"
				"  (default %u kills; --long: %u; also "
				"PMEMSTORE_KILLS=N)\n",
				argv[0], KILLS_CI, KILLS_LONG);
			return -1;
		}
	}
	if (Kills == 0) {
		fprintf(stderr, "%s: 0 kills\n", argv[0]);
		return -1;
	}
	return 0;
}

/* main -- run the kill test */
int
main(int argc, char **argv)
{
	if (parse_args(argc, argv))
		return 2;
	/* timed waits of microseconds: no 50 us of default timer slack */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	return run_suites(suites);
}
