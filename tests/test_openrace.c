/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_openrace.c -- two processes racing to open (or create) one pool
 *
 * Owns the open race of issue 3, section 5.  Each round forks two children
 * that meet at a pipe barrier: each reports ready, then blocks reading a
 * start time from the parent, spins until that moment, and calls
 * pmemstore_open or pmemstore_create on the same path.  A child that gets
 * a handle keeps it until the parent has both results, so the loser cannot
 * slip in after the winner closed.  Checked per round: read-write against
 * read-write and read-write against read-only -- exactly one wins, the
 * other fails with EWOULDBLOCK and a message saying the pool is in use;
 * read-only against read-only -- both win; create against create on a new
 * path -- exactly one wins, the other fails with EEXIST, and the winner's
 * pool is there, empty and valid, afterwards; create against open on a new
 * path -- the create wins.  For the opens, the pool file is byte-identical
 * before and after (the winner opens and closes a clean pool; the loser
 * writes nothing).  Also: while one process has a pool open,
 * pmemstore_check from another fails with EWOULDBLOCK.  Each child times
 * its call; a pairing runs on until the two calls really overlapped in
 * Rounds rounds (within 5 x Rounds rounds and twice the time of the first
 * Rounds), and the figures say how many did.
 *
 * Two regression tests order a race exactly with an interposed flock: an
 * open that locks a file being created must not make the create fail, and
 * an open that waited out a create must see the finished pool.
 *
 * PMEMSTORE_RACES=n or "--rounds n" sets the rounds per pairing (default
 * RACES_CI), "--long" RACES_LONG.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* forks are slow under AddressSanitizer: fewer rounds there by default */
#if defined(__SANITIZE_ADDRESS__)
#define RACES_CI 30
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RACES_CI 30
#endif
#endif
#ifndef RACES_CI
#define RACES_CI 100
#endif
#define RACES_LONG 2000
#define RACE_POOL_SIZE (8 * MIB)
#define START_LEAD_MS 2.0 /* racers start this long after the barrier */
#define OVERLAP_TRIES 5	  /* rounds per pairing: up to 5 x Rounds */

static unsigned Rounds = RACES_CI;

/*
 * flock -- interposes libc's flock for the library's calls (the executable
 * exports it, see tests/CMakeLists.txt), to order the events of the
 * regression tests exactly, where a sleep would guess how long the other
 * process takes.  Flock_tell >= 0: the next call notes whether its file is
 * empty (Flock_saw_empty) and writes a byte there; Flock_gate >= 0: the
 * next call then waits (up to GATE_WAIT_MS) for a byte there;
 * Flock_tell_held >= 0: the next call that takes its lock writes a byte
 * there; a lock just taken is held Flock_hold_us before returning.  All
 * unset (the default): plain flock.
 */
static unsigned Flock_hold_us;
static int Flock_tell = -1, Flock_gate = -1, Flock_tell_held = -1;
static int Flock_saw_empty;
#define GATE_WAIT_MS 60000

int
flock(int fd, int op)
{
	static int (*real)(int, int);

	if (real == NULL)
		real = (int (*)(int, int))dlsym(RTLD_NEXT, "flock");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (Flock_tell >= 0) {
		struct stat st;

		Flock_saw_empty = fstat(fd, &st) == 0 && st.st_size == 0;
		(void)!write(Flock_tell, "x", 1);
		Flock_tell = -1;
	}
	if (Flock_gate >= 0) {
		struct pollfd pfd = {.fd = Flock_gate, .events = POLLIN};
		char c;

		if (poll(&pfd, 1, GATE_WAIT_MS) == 1)
			(void)!read(Flock_gate, &c, 1);
		Flock_gate = -1;
	}
	int r = real(fd, op);

	if (r == 0 && Flock_tell_held >= 0) {
		(void)!write(Flock_tell_held, "x", 1);
		Flock_tell_held = -1;
	}
	if (r == 0 && Flock_hold_us)
		usleep(Flock_hold_us);
	return r;
}

/* what a racer does */
enum act { ACT_RW, ACT_RO, ACT_CREATE };

static const char *const Act_names[] = {"open-rw", "open-ro", "create"};

/* a racer's report: the outcome of its call and when it ran */
struct result {
	int ok;
	int err;
	int in_use_msg; /* the message says "in use" */
	double t0, t1;	/* monotonic ms around the call */
	char msg[160];
};

/* racer -- in a child: barrier, the call, report, hold, exit */
static void
racer(const char *path, enum act act, int ready_fd, int go_fd, int res_fd,
      int hold_fd)
{
	struct result r;
	struct pmemstore *ps;
	char c = 'r';

	memset(&r, 0, sizeof(r));
	alarm(30);
	if (write(ready_fd, &c, 1) != 1)
		_exit(5);
	/*
	 * The parent sends both racers one start time, a little ahead; each
	 * spins until then, so the calls start together even when one racer
	 * woke from the read later than the other.
	 */
	double start = 0;

	while (read(go_fd, &start, sizeof(start)) < 0 && errno == EINTR)
		;
	while (now_ms() < start)
		;
	r.t0 = now_ms();
	errno = 0;
	if (act == ACT_CREATE)
		ps = pmemstore_create(path, RACE_POOL_SIZE, 0600);
	else
		ps = pmemstore_open(path, act == ACT_RO ? PMEMSTORE_RDONLY : 0);
	r.err = errno;
	r.t1 = now_ms();
	r.ok = ps != NULL;
	if (!r.ok) {
		const char *m = pmemstore_errormsg();

		snprintf(r.msg, sizeof(r.msg), "%s", m ? m : "(no message)");
		r.in_use_msg = m != NULL && strstr(m, "in use") != NULL;
	}
	if (write(res_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(6);
	if (ps != NULL) {
		/* hold the pool until the parent has both results */
		while (read(hold_fd, &c, 1) < 0 && errno == EINTR)
			;
		if (pmemstore_close(ps) != 0)
			_exit(4);
	}
	_exit(0);
}

/* race_stats -- figures of one pairing */
struct race_stats {
	unsigned rounds;
	unsigned overlapped; /* the two calls' intervals intersected */
	unsigned first_won;  /* racer 0 won */
	unsigned bad;
	double skew_sum; /* |t0 - t0'| in ms */
	double t_start;	 /* ms: the first round began */
	double t_first;	 /* ms the first Rounds rounds took */
};

/* run_race -- one round: two racers on path; 0 when both reported */
static int
run_race(const char *path, const enum act acts[2], struct result res[2])
{
	int ready[2], go[2], hold[2], rp[2][2];
	pid_t pid[2];
	int ret = 0;
	char c;

	if (pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC) ||
	    pipe2(hold, O_CLOEXEC) || pipe2(rp[0], O_CLOEXEC) ||
	    pipe2(rp[1], O_CLOEXEC)) {
		perror("pipe2");
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			close(ready[0]);
			close(go[1]);
			close(hold[1]);
			close(rp[i][0]);
			racer(path, acts[i], ready[1], go[0], rp[i][1],
			      hold[0]);
		}
		if (pid[i] < 0) {
			perror("fork");
			abort();
		}
	}
	close(ready[1]);
	close(go[0]);
	close(hold[0]);
	close(rp[0][1]);
	close(rp[1][1]);
	for (int i = 0; i < 2; i++)
		if (read(ready[0], &c, 1) != 1)
			ret = -1;
	/* go: the start time, twice (atomic writes, one read each) */
	double start = now_ms() + START_LEAD_MS;

	for (int i = 0; i < 2; i++)
		if (write(go[1], &start, sizeof(start)) != sizeof(start))
			ret = -1;
	close(go[1]);
	for (int i = 0; i < 2; i++)
		if (read(rp[i][0], &res[i], sizeof(res[i])) !=
		    (ssize_t)sizeof(res[i]))
			ret = -1;
	close(hold[1]); /* winners close now */
	for (int i = 0; i < 2; i++) {
		int st;

		while (waitpid(pid[i], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "racer %d (%s): status 0x%x\n", i,
				Act_names[acts[i]], st);
			ret = -1;
		}
		close(rp[i][0]);
	}
	close(ready[0]);
	return ret;
}

/* make_pool -- a closed pool holding a few objects of mixed sizes */
static char *
make_pool(const char *name)
{
	char *path = test_pool_path(name);
	struct pmemstore *ps = pmemstore_create(path, RACE_POOL_SIZE, 0600);
	uint64_t rng = test_seed();

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	for (int i = 0; i < 200; i++) {
		uuid_t id;
		size_t sz = i % 10 == 0 ? rnd_range(&rng, 4097, 65536)
					: rnd_range(&rng, 1, 2016);

		rnd_uuid(&rng, id);
		void *p = persist_alloc(ps, id, sz, 0);

		CU_ASSERT_PTR_NOT_NULL(p);
		if (p != NULL) {
			pattern_fill(p, sz, id);
			persist(ps, p, sz);
		}
	}
	EXPECT_OK(pmemstore_close(ps));
	return path;
}

/* note_round -- timing figures of one round */
static void
note_round(struct race_stats *s, const struct result res[2])
{
	double lo = res[0].t0 > res[1].t0 ? res[0].t0 : res[1].t0;
	double hi = res[0].t1 < res[1].t1 ? res[0].t1 : res[1].t1;

	s->rounds++;
	s->overlapped += lo < hi;
	s->first_won += res[0].ok;
	s->skew_sum += res[0].t0 > res[1].t0 ? res[0].t0 - res[1].t0
					     : res[1].t0 - res[0].t0;
}

/*
 * more_rounds -- Rounds rounds at least, and on until Rounds of them had
 * the two calls overlapping (a loaded machine may run one racer late), up
 * to OVERLAP_TRIES times Rounds in all, and while the extra rounds have
 * taken no longer than the first Rounds did
 */
static int
more_rounds(struct race_stats *s)
{
	double t = now_ms();

	if (s->rounds == 0)
		s->t_start = t;
	if (s->rounds < Rounds)
		return 1;
	if (s->rounds == Rounds)
		s->t_first = t - s->t_start;
	return s->overlapped < Rounds && s->rounds < Rounds * OVERLAP_TRIES &&
	       t - s->t_start < 2.0 * s->t_first;
}

/* print_race -- the figures of a pairing */
static void
print_race(const char *what, const struct race_stats *s)
{
	printf("\nopen race [%s] %s: %u rounds, calls overlapped in %u, "
	       "first racer won %u, mean start skew %.1f us, bad %u\n",
	       getenv("PMEMSTORE_TEST_MODE") ?: "?", what, s->rounds,
	       s->overlapped, s->first_won,
	       s->rounds ? s->skew_sum * 1000.0 / s->rounds : 0.0, s->bad);
}

/* loser_ok -- the failed racer failed with err and, for busy, says so */
static int
loser_ok(const struct result *r, int err)
{
	if (r->ok || r->err != err)
		return 0;
	return err != EWOULDBLOCK || r->in_use_msg;
}

/* open_pairing -- rounds of two opens on one clean pool */
static void
open_pairing(enum act a, enum act b)
{
	char *path = make_pool("race");
	uint64_t d0, s0;
	struct race_stats s;
	char what[64];

	memset(&s, 0, sizeof(s));
	snprintf(what, sizeof(what), "%s vs %s", Act_names[a], Act_names[b]);
	CU_ASSERT_EQUAL_FATAL(file_digest(path, &d0, &s0), 0);
	for (unsigned i = 0; more_rounds(&s); i++) {
		/* alternate who goes first in the fork order */
		enum act acts[2] = {i % 2 ? b : a, i % 2 ? a : b};
		struct result res[2];
		uint64_t d, sz;
		int good;

		if (run_race(path, acts, res) != 0) {
			CU_FAIL("a racer failed");
			s.bad++;
			break;
		}
		note_round(&s, res);
		if (a == ACT_RO && b == ACT_RO)
			good = res[0].ok && res[1].ok;
		else
			good = (res[0].ok && loser_ok(&res[1], EWOULDBLOCK)) ||
			       (res[1].ok && loser_ok(&res[0], EWOULDBLOCK));
		if (!good) {
			s.bad++;
			for (int k = 0; k < 2; k++)
				fprintf(stderr,
					"round %u %s: %s, errno %d (%s): %s\n",
					i, Act_names[acts[k]],
					res[k].ok ? "won" : "lost", res[k].err,
					strerror(res[k].err), res[k].msg);
		}
		if (file_digest(path, &d, &sz) != 0 || d != d0 || sz != s0) {
			s.bad++;
			fprintf(stderr, "round %u: the pool file changed\n", i);
		}
	}
	print_race(what, &s);
	CU_ASSERT_EQUAL(s.bad, 0);
	CU_ASSERT(s.rounds >= Rounds);

	/* and the objects are all still there */
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));

	if (ps != NULL) {
		CU_ASSERT_EQUAL(count_objects(ps), 200);
		EXPECT_OK(pmemstore_close(ps));
	}
	test_pool_remove(path);
}

/* test_rw_rw -- two read-write opens: one wins, one is told "in use" */
static void
test_rw_rw(void)
{
	open_pairing(ACT_RW, ACT_RW);
}

/* test_rw_ro -- read-write against read-only: one wins */
static void
test_rw_ro(void)
{
	open_pairing(ACT_RW, ACT_RO);
}

/* test_ro_ro -- two read-only opens share the pool */
static void
test_ro_ro(void)
{
	open_pairing(ACT_RO, ACT_RO);
}

/* new_pool_ok -- path holds a valid, empty pool of the race size */
static int
new_pool_ok(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0 || (uint64_t)st.st_size != RACE_POOL_SIZE)
		return 0;
	struct pmemstore *ps = pmemstore_open(path, 0);

	if (ps == NULL)
		return 0;
	int ok = count_objects(ps) == 0;

	pmemstore_close(ps);
	if (ok) {
		errno = 0;
		ok = pmemstore_check(path, 0) == 0;
	}
	return ok;
}

/*
 * create_pairing -- rounds on a path that does not exist: a is a create,
 * b a create or an open.  The create must win every time.
 */
static void
create_pairing(enum act b)
{
	char *path = test_pool_path("race_create");
	struct race_stats s;
	unsigned busy = 0, noent = 0, notpool = 0;
	char what[64];

	memset(&s, 0, sizeof(s));
	snprintf(what, sizeof(what), "create vs %s", Act_names[b]);
	for (unsigned i = 0; more_rounds(&s); i++) {
		enum act acts[2] = {i % 2 ? b : ACT_CREATE,
				    i % 2 ? ACT_CREATE : b};
		int ci = i % 2; /* the create racer (b == ACT_CREATE: both) */
		struct result res[2];
		int good;

		(void)unlink(path);
		if (run_race(path, acts, res) != 0) {
			CU_FAIL("a racer failed");
			s.bad++;
			break;
		}
		note_round(&s, res);
		if (b == ACT_CREATE) {
			good = (res[0].ok && loser_ok(&res[1], EEXIST)) ||
			       (res[1].ok && loser_ok(&res[0], EEXIST));
		} else {
			/* the opener: not there yet, in use, or not a pool */
			const struct result *o = &res[!ci];

			good = res[ci].ok && !o->ok;
			busy += o->err == EWOULDBLOCK;
			noent += o->err == ENOENT;
			notpool += o->err != EWOULDBLOCK && o->err != ENOENT;
		}
		if (!good || !new_pool_ok(path)) {
			s.bad++;
			for (int k = 0; k < 2; k++)
				fprintf(stderr,
					"round %u %s: %s, errno %d (%s): %s\n",
					i, Act_names[acts[k]],
					res[k].ok ? "won" : "lost", res[k].err,
					strerror(res[k].err), res[k].msg);
		}
	}
	print_race(what, &s);
	if (b != ACT_CREATE)
		printf("open race: the open failed with EWOULDBLOCK %u, ENOENT "
		       "%u, not yet a pool %u times\n",
		       busy, noent, notpool);
	CU_ASSERT_EQUAL(s.bad, 0);
	CU_ASSERT(s.rounds >= Rounds);
	test_pool_remove(path);
}

/* test_create_create -- two creates of one new path: one EEXIST */
static void
test_create_create(void)
{
	create_pairing(ACT_CREATE);
}

/* test_create_open -- an open racing a create never makes it fail */
static void
test_create_open(void)
{
	create_pairing(ACT_RW);
}

/* test_check_while_open -- pmemstore_check of a pool open elsewhere */
static void
test_check_while_open(void)
{
	char *path = make_pool("race_check");
	enum act acts[2] = {ACT_RW, ACT_RW};
	int ready[2], go[2], hold[2], rp[2];
	struct result r;
	char c;

	(void)acts;
	CU_ASSERT_FATAL(
		pipe2(ready, O_CLOEXEC) == 0 && pipe2(go, O_CLOEXEC) == 0 &&
		pipe2(hold, O_CLOEXEC) == 0 && pipe2(rp, O_CLOEXEC) == 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();

	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		close(hold[1]);
		close(rp[0]);
		racer(path, ACT_RW, ready[1], go[0], rp[1], hold[0]);
	}
	close(ready[1]);
	close(go[0]);
	close(hold[0]);
	close(rp[1]);
	CU_ASSERT_EQUAL(read(ready[0], &c, 1), 1);
	close(go[1]);
	CU_ASSERT_EQUAL(read(rp[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	CU_ASSERT(r.ok);

	/* the holder has it open: check must refuse, not read it */
	errno = 0;
	int ret = pmemstore_check(path, 0);
	int err = errno;

	CU_ASSERT_EQUAL(ret, -1);
	CU_ASSERT_EQUAL(err, EWOULDBLOCK);
	const char *m = pmemstore_errormsg();

	CU_ASSERT(m != NULL && strstr(m, "in use") != NULL);
	if (ret != -1 || err != EWOULDBLOCK)
		fprintf(stderr, "check while open: %d, %s (%s)\n", ret,
			strerror(err), m ? m : "");
	errno = 0;
	ret = pmemstore_check(path, PMEMSTORE_CHECK_REPAIR);
	err = errno;
	CU_ASSERT_EQUAL(ret, -1);
	CU_ASSERT_EQUAL(err, EWOULDBLOCK);
	close(hold[1]);
	int st;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(ready[0]);
	close(rp[0]);

	/* closed now: the check runs and passes */
	errno = 0;
	ret = pmemstore_check(path, 0);
	CU_ASSERT_EQUAL(ret, 0);
	test_pool_remove(path);
}

/*
 * open_once_there -- open path read-write as soon as it exists: retried
 * while ENOENT, for up to 5 s; the flock of the try that finds the file
 * tells tell, then waits at gate (-1: neither)
 */
static struct pmemstore *
open_once_there(const char *path, int tell, int gate)
{
	struct pmemstore *ps;
	double t0 = now_ms();

	do {
		errno = 0;
		Flock_tell = tell;
		Flock_gate = gate;
		ps = pmemstore_open(path, 0);
	} while (ps == NULL && errno == ENOENT && now_ms() - t0 < 5000);
	return ps;
}

/*
 * slow_opener -- in a child: open path as soon as it exists, holding each
 * lock it takes for 50 ms, and saying on held when it has the first;
 * exits 0 when that open failed because the file was not a pool yet
 * (EINVAL), 1 when it failed with EWOULDBLOCK, 2 when it opened, 3
 * otherwise
 */
static int
slow_opener(const char *path, int held)
{
	Flock_hold_us = 50000;
	Flock_tell_held = held;
	struct pmemstore *ps = open_once_there(path, -1, -1);

	if (ps != NULL) {
		pmemstore_close(ps);
		return 2;
	}
	return errno == EINVAL ? 0 : errno == EWOULDBLOCK ? 1 : 3;
}

/*
 * test_create_vs_early_open -- regression: an open that locks a pool file
 * between pmemstore_create's O_EXCL open and its flock (it fails on the
 * empty file) made the create fail with EWOULDBLOCK "in use" and remove
 * the file, though nobody held the pool.  The interposed flocks make that
 * order certain: the creator tries its lock only once the opener holds the
 * empty file's, which it keeps 50 ms.  The opener must fail on the empty
 * file, and the create must succeed, every round.
 */
static void
test_create_vs_early_open(void)
{
	char *path = test_pool_path("race_early");

	for (int i = 0; i < 5; i++) {
		int held[2];

		(void)unlink(path);
		CU_ASSERT_FATAL(pipe(held) == 0);
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();

		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			close(held[0]);
			_exit(slow_opener(path, held[1]));
		}
		close(held[1]);
		Flock_gate = held[0]; /* lock once the opener holds the file */
		struct pmemstore *ps =
			pmemstore_create(path, RACE_POOL_SIZE, 0600);
		int err = errno;

		Flock_gate = -1;
		close(held[0]);
		int st;

		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CU_ASSERT_PTR_NOT_NULL(ps);
		if (ps == NULL) {
			fprintf(stderr, "round %d: create: %s (%s)\n", i,
				strerror(err), pmemstore_errormsg());
			continue;
		}
		EXPECT_OK(pmemstore_close(ps));
		CU_ASSERT(new_pool_ok(path));
	}
	test_pool_remove(path);
}

/*
 * late_opener -- in a child: open path as soon as it exists; its flock
 * says so on tell, then waits at gate until the parent's create has
 * finished and closed; exits 0 when it opened a valid empty pool after
 * finding the file empty, 4 when it opened one but the file was not empty,
 * 1 when the open failed or the pool was wrong, 2 when it saw no file for
 * 5 s
 */
static int
late_opener(const char *path, int tell, int gate)
{
	struct pmemstore *ps = open_once_there(path, tell, gate);

	if (ps == NULL) {
		fprintf(stderr, "late opener: %s (%s)\n", strerror(errno),
			pmemstore_errormsg());
		return errno == ENOENT ? 2 : 1;
	}
	int ok = count_objects(ps) == 0;

	pmemstore_close(ps);
	return !ok ? 1 : Flock_saw_empty ? 0 : 4;
}

/*
 * test_open_waits_out_create -- regression: pmemstore_open took the file's
 * size before its flock, so an open that found the file just created
 * (empty) and got the lock after the create had finished refused a valid
 * pool: "0 bytes is too small to be a pool".  The interposed flocks make
 * that order certain: the creator locks (and so sizes the file) only after
 * the opener has its descriptor and found the file empty, and the opener
 * locks only after the create has closed.  The open must succeed, every
 * round.
 */
static void
test_open_waits_out_create(void)
{
	char *path = test_pool_path("race_late");

	for (int i = 0; i < 3; i++) {
		int gate[2], opened[2];

		(void)unlink(path);
		CU_ASSERT_FATAL(pipe(gate) == 0 && pipe(opened) == 0);
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();

		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			close(gate[1]);
			close(opened[0]);
			_exit(late_opener(path, opened[1], gate[0]));
		}
		close(gate[0]);
		close(opened[1]);
		Flock_gate = opened[0]; /* lock once the opener has the file */
		struct pmemstore *ps =
			pmemstore_create(path, RACE_POOL_SIZE, 0600);

		Flock_gate = -1;
		close(opened[0]);
		CU_ASSERT_PTR_NOT_NULL(ps);
		if (ps != NULL)
			EXPECT_OK(pmemstore_close(ps));
		/* the create is over: let the opener's flock go */
		CU_ASSERT(write(gate[1], "x", 1) == 1);
		close(gate[1]);
		int st;

		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	test_pool_remove(path);
}

static CU_TestInfo race_tests[] = {
	{"read-write vs read-write", test_rw_rw},
	{"read-write vs read-only", test_rw_ro},
	{"read-only vs read-only", test_ro_ro},
	{"create vs create", test_create_create},
	{"create vs open", test_create_open},
	{"check while open elsewhere", test_check_while_open},
	{"create vs an open of the empty file", test_create_vs_early_open},
	{"open of a pool being created", test_open_waits_out_create},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"openrace", NULL, NULL, NULL, NULL, race_tests},
	CU_SUITE_INFO_NULL,
};

/* parse_args -- --long, --rounds n, or PMEMSTORE_RACES=n */
static int
parse_args(int argc, char **argv)
{
	const char *env = getenv("PMEMSTORE_RACES");

	if (env != NULL && env[0] != '\0')
		Rounds = (unsigned)strtoul(env, NULL, 0);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--long") == 0) {
			Rounds = RACES_LONG;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
			Rounds = (unsigned)strtoul(argv[++i], NULL, 0);
		} else {
			fprintf(stderr,
				"usage: %s [--long | --rounds N]\n"
				"  (rounds per pairing: default %u, --long "
				"%u; also PMEMSTORE_RACES=N)\n",
				argv[0], RACES_CI, RACES_LONG);
			return -1;
		}
	}
	if (Rounds == 0) {
		fprintf(stderr, "%s: 0 rounds\n", argv[0]);
		return -1;
	}
	return 0;
}

/* main -- run the race tests */
int
main(int argc, char **argv)
{
	if (parse_args(argc, argv))
		return 2;
	return run_suites(suites);
}
