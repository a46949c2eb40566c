/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c -- owns a simulator run: options, worker processes, counters and
 * the report.  docs/crash-testing.md describes the whole simulator.
 *
 * Every worker runs every selected workload in full (they are cheap) and
 * enumerates every crash image (so image numbers, samples and dumps agree
 * across workers), but checks only the crash points whose number modulo
 * the worker count is its own.  Counters live in shared memory.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define MAXW 64
#define MAXWL 16

/*
 * I6 (pmemstore_check of each crash image and recovered pool) is off by
 * default until pmemstore_check knows format 2; cmake
 * -DPMEMSTORE_CRASH_POOL_CHECK=ON or --pool-check turns it on
 */
#ifndef CRASHSIM_POOL_CHECK
#define CRASHSIM_POOL_CHECK 0
#endif

struct options opt;
struct counts *cur;
int worker, nworkers = 1;
volatile int *stop_all;
const char *cur_wl = "";
uint64_t cp_no, img_no;
int cp_at_flush;

struct shared {
	int stop;
	struct counts c[MAXWL + 1][MAXW]; /* [MAXWL]: rounds of -n */
};

static struct shared *sh;
static unsigned printed;
static volatile sig_atomic_t interrupted;

/* on_signal -- SIGINT/SIGTERM to the parent: stop, and report so far */
static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
	if (sh)
		sh->stop = 1;
}

/* rng_next -- splitmix64 */
uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* report_violation -- one broken invariant at the current image */
void
report_violation(const char *what, const char *subset)
{
	cur->violations++;
	if (cur->first[0] == 0)
		snprintf(cur->first, sizeof(cur->first), "%s", what);
	if (printed++ < 20 || opt.verbose)
		fprintf(stderr,
			"VIOLATION workload %s, crash point %llu (at a %s in "
			"%s), image %llu\n  %s\n  image: %s\n",
			cur_wl, (unsigned long long)cp_no,
			cp_at_flush ? "flush" : "fence", orc.op,
			(unsigned long long)(img_no - 1), what, subset);
	if (sched_on && (printed <= 20 || opt.verbose))
		for (int t = 1; t <= SCHED_MAX; t++)
			if (sched_op[t][0])
				fprintf(stderr, "  %s\n", sched_op[t]);
	if (opt.expect)
		*stop_all = 1;
}

/* now -- monotonic seconds */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* selected -- is workload name in the -w list? */
static int
selected(const char *name)
{
	const char *s = opt.only;
	size_t n = strlen(name);

	if (s == NULL)
		return 1;
	while (*s) {
		const char *e = strchr(s, ',');
		size_t l = e ? (size_t)(e - s) : strlen(s);

		if (l == n && strncmp(s, name, n) == 0)
			return 1;
		s += l + (e != NULL);
	}
	return 0;
}

/* run_worker -- this process's share of every workload */
static void
run_worker(void)
{
	int scale = opt.quick ? 0 : opt.longrun ? 4 : 1;

	snprintf(img_path, sizeof(img_path), "%s/img-%d.pool", opt.dir, worker);
	for (int w = 0; workloads[w].name && !*stop_all; w++) {
		double t0 = now();

		if (!selected(workloads[w].name))
			continue;
		cur = &sh->c[w][worker];
		cur_wl = workloads[w].name;
		cp_no = 0;
		workloads[w].run(scale, opt.seed + (uint64_t)w);
		cur->secs = now() - t0;
	}
	/* -n: more random rounds, new seeds, until enough images */
	cur = &sh->c[MAXWL][worker];
	for (uint64_t r = 1; opt.target && img_no < opt.target && !*stop_all;
	     r++) {
		double t0 = now();
		int w;

		for (w = 0; strcmp(workloads[w].name, "random"); w++)
			;
		cur_wl = "random+";
		cp_no = 0;
		workloads[w].run(opt.longrun ? 4 : 1, opt.seed + 1000 * r);
		cur->secs += now() - t0;
	}
	unlink(img_path);
	strcat(img_path, ".nested");
	unlink(img_path);
}

/* usage -- the options, then exit 2 */
static void
usage(void)
{
	fprintf(stderr,
		"usage: crashsim [options]\n"
		"  -w a,b,...        workloads (default all; --list)\n"
		"  --quick           every workload, small (seconds)\n"
		"  --long            every workload, large\n"
		"  -n N              then random rounds until N images\n"
		"  -j N              worker processes (default: cores)\n"
		"  --seed S          base seed (default 1)\n"
		"  --sample K        random subsets per crash point (32)\n"
		"  --tear            every torn variant of metadata lines\n"
		"  --tear-sample K   sampled torn images per point (2)\n"
		"  --evict           unflushed dirty lines may land too\n"
		"  --flush-points    crash at every flush as well\n"
		"  --i7-every K      crash recovery itself on every K-th "
		"image (32)\n"
		"  --i9-every K      refill check on every K-th image (16)\n"
		"  --mt-exhaust K    all subsets when <= K, where several\n"
		"                    threads' lines are pending (256)\n"
		"  --expect-violation  exit 0 iff a violation is found\n"
		"  --pool-check      I6: pmemstore_check finds nothing\n"
		"                    unrepairable (--no-pool-check: off)\n"
		"  --strict-index    I7: index segments byte for byte, a\n"
		"                    split's leftover entries included\n"
		"  --keep DIR        keep the image of each violation\n"
		"  --dump DIR --dump-every K  write every K-th image\n"
		"  --dir DIR         pools and images ($PMEMSTORE_TEST_DIR)\n"
		"  -v                every violation, and progress\n");
	exit(2);
}

/* main -- parse options, fork the workers, add up and print */
int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"quick", no_argument, NULL, 'q'},
		{"long", no_argument, NULL, 'L'},
		{"seed", required_argument, NULL, 's'},
		{"sample", required_argument, NULL, 'S'},
		{"tear", no_argument, NULL, 't'},
		{"tear-sample", required_argument, NULL, 'T'},
		{"evict", no_argument, NULL, 'e'},
		{"flush-points", no_argument, NULL, 'f'},
		{"i7-every", required_argument, NULL, '7'},
		{"i9-every", required_argument, NULL, '9'},
		{"mt-exhaust", required_argument, NULL, 'M'},
		{"expect-violation", no_argument, NULL, 'x'},
		{"pool-check", no_argument, NULL, 'P'},
		{"no-pool-check", no_argument, NULL, 'N'},
		{"strict-index", no_argument, NULL, 'I'},
		{"keep", required_argument, NULL, 'k'},
		{"dump", required_argument, NULL, 'd'},
		{"dump-every", required_argument, NULL, 'D'},
		{"dir", required_argument, NULL, 'r'},
		{"list", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, sample_set = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	opt.seed = 1;
	opt.sample = 32;
	opt.tear_dflt = 2;
	opt.i7_every = 32;
	opt.i9_every = 16;
	opt.mt_exhaust = 256;
	opt.pool_check = CRASHSIM_POOL_CHECK;
	opt.jobs = cores > 0 ? (int)cores : 1;
	opt.dir = getenv("PMEMSTORE_TEST_DIR");
	if (opt.dir == NULL || !*opt.dir)
		opt.dir = "/dev/shm/pmemstore-crash";
	while ((c = getopt_long(argc, argv, "w:n:j:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'w':
			opt.only = optarg;
			break;
		case 'n':
			opt.target = strtoull(optarg, NULL, 0);
			break;
		case 'j':
			opt.jobs = atoi(optarg);
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'q':
			opt.quick = 1;
			break;
		case 'L':
			opt.longrun = 1;
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			break;
		case 'S':
			opt.sample = (unsigned)atoi(optarg);
			sample_set = 1;
			break;
		case 't':
			opt.tear = 1;
			break;
		case 'T':
			opt.tear_dflt = (unsigned)atoi(optarg);
			break;
		case 'e':
			opt.evict = 1;
			break;
		case 'f':
			opt.flush_points = 1;
			break;
		case '7':
			opt.i7_every = strtoull(optarg, NULL, 0);
			break;
		case '9':
			opt.i9_every = strtoull(optarg, NULL, 0);
			break;
		case 'M':
			opt.mt_exhaust = strtoull(optarg, NULL, 0);
			break;
		case 'x':
			opt.expect = 1;
			break;
		case 'P':
			opt.pool_check = 1;
			break;
		case 'N':
			opt.pool_check = 0;
			break;
		case 'I':
			opt.strict_index = 1;
			break;
		case 'k':
			opt.keep = optarg;
			break;
		case 'd':
			opt.dump = optarg;
			break;
		case 'D':
			opt.dump_every = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			opt.dir = optarg;
			break;
		case 'l':
			for (int w = 0; workloads[w].name; w++)
				printf("%-8s %s\n", workloads[w].name,
				       workloads[w].what);
			return 0;
		default:
			usage();
		}
	}
	if (optind < argc || opt.jobs < 1 || opt.jobs > MAXW)
		usage();
	if (opt.dump && opt.dump_every == 0)
		opt.dump_every = 1;
	if (opt.quick) {
		/* small, but every invariant on many images */
		opt.i7_every = opt.i7_every > 8 ? 8 : opt.i7_every;
		opt.i9_every = opt.i9_every > 8 ? 8 : opt.i9_every;
		if (!sample_set)
			opt.sample = 8;
	}
	/* the pmem path (flush + fence) whatever the file system */
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	mkdir(opt.dir, 0700);
	if (opt.keep)
		mkdir(opt.keep, 0700);
	if (opt.dump)
		mkdir(opt.dump, 0700);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	stop_all = &sh->stop;
	nworkers = opt.jobs;

	double t0 = now();
	pid_t pids[MAXW];
	int bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("crashsim: %d worker(s), seed %llu, %s%s%s%s%s%s\n", nworkers,
	       (unsigned long long)opt.seed,
	       opt.quick     ? "quick"
	       : opt.longrun ? "long"
			     : "default",
	       opt.tear ? ", tear" : "", opt.evict ? ", evict" : "",
	       opt.flush_points ? ", flush points" : "",
	       opt.expect ? ", expecting a violation" : "",
	       opt.pool_check ? ", pool check" : ", no pool check (I6)");
	for (int w = 0; w < nworkers; w++) {
		pids[w] = fork();
		if (pids[w] < 0) {
			perror("fork");
			return 2;
		}
		if (pids[w] == 0) {
			signal(SIGINT, SIG_IGN); /* the parent stops us */
			worker = w;
			run_worker();
			_exit(0);
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int w = 0; w < nworkers; w++) {
		int st, r;

		while ((r = waitpid(pids[w], &st, 0)) < 0 && errno == EINTR)
			;
		if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "crashsim: worker %d failed (%s %d)\n",
				w, WIFSIGNALED(st) ? "signal" : "status",
				WIFSIGNALED(st) ? WTERMSIG(st)
						: WEXITSTATUS(st));
			bad = 1;
		}
	}

	double secs = now() - t0;
	struct counts tot = {0}, mt = {0};
	const char *caught = NULL;

	printf("%-8s %10s %10s %10s %9s %8s %9s %8s %8s\n", "workload",
	       "points", "images", "violation", "I7-nest", "I9", "x-thread",
	       "secs", "img/s");
	for (int w = 0; w <= MAXWL; w++) {
		struct counts t = {0};
		const char *name = w == MAXWL ? "random+" : workloads[w].name;

		if (w < MAXWL && name == NULL) {
			w = MAXWL - 1;
			continue;
		}
		for (int k = 0; k < nworkers; k++) {
			struct counts *x = &sh->c[w][k];

			t.points += x->points;
			t.images += x->images;
			t.violations += x->violations;
			t.nested_images += x->nested_images;
			t.i9_images += x->i9_images;
			t.xt_points += x->xt_points;
			t.xt_images += x->xt_images;
			if (x->switches > t.switches)
				t.switches = x->switches; /* all alike */
			if (x->secs > t.secs)
				t.secs = x->secs;
			if (x->first[0] && caught == NULL)
				caught = x->first;
		}
		if (t.points == 0 && t.images == 0)
			continue;
		printf("%-8s %10llu %10llu %10llu %9llu %8llu %9llu %8.1f "
		       "%8.0f\n",
		       name, (unsigned long long)t.points,
		       (unsigned long long)t.images,
		       (unsigned long long)t.violations,
		       (unsigned long long)t.nested_images,
		       (unsigned long long)t.i9_images,
		       (unsigned long long)t.xt_images, t.secs,
		       t.secs > 0 ? (double)t.images / t.secs : 0.0);
		if (w < MAXWL && workloads[w].threaded) {
			mt.points += t.points;
			mt.images += t.images;
			mt.violations += t.violations;
			mt.xt_points += t.xt_points;
			mt.xt_images += t.xt_images;
			mt.switches += t.switches;
			mt.secs += t.secs;
		}
		tot.points += t.points;
		tot.images += t.images;
		tot.violations += t.violations;
		tot.nested_images += t.nested_images;
		tot.i9_images += t.i9_images;
	}
	printf("%-8s %10llu %10llu %10llu %9llu %8llu %9llu %8.1f %8.0f\n",
	       "total", (unsigned long long)tot.points,
	       (unsigned long long)tot.images,
	       (unsigned long long)tot.violations,
	       (unsigned long long)tot.nested_images,
	       (unsigned long long)tot.i9_images,
	       (unsigned long long)mt.xt_images, secs,
	       secs > 0 ? (double)tot.images / secs : 0.0);
	if (mt.points)
		printf("threaded workloads: %llu crash points (%llu with "
		       "another thread's lines pending), %llu images (%llu "
		       "of them there), %llu violations, %llu thread "
		       "switches, %.1f s\n",
		       (unsigned long long)mt.points,
		       (unsigned long long)mt.xt_points,
		       (unsigned long long)mt.images,
		       (unsigned long long)mt.xt_images,
		       (unsigned long long)mt.violations,
		       (unsigned long long)mt.switches, mt.secs);
	struct rusage ru;
	double cpu = 0;

	if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		      ((double)ru.ru_utime.tv_usec +
		       (double)ru.ru_stime.tv_usec) /
			      1e6;
	printf("crash points: %llu, crash images: %llu, violations: %llu "
	       "(%.1f s; %.1f CPU s, %.0f images per CPU second)\n",
	       (unsigned long long)tot.points, (unsigned long long)tot.images,
	       (unsigned long long)tot.violations, secs, cpu,
	       cpu > 0 ? (double)tot.images / cpu : 0.0);
	if (interrupted)
		printf("interrupted: the figures above are those so far\n");
	if (bad)
		return 2;
	if (opt.expect) {
		if (tot.violations) {
			printf("expected violation found: %s\n", caught);
			return 0;
		}
		printf("expected a violation, found none\n");
		return 1;
	}
	if (interrupted)
		return tot.violations ? 1 : 3;
	if (opt.target && tot.images < opt.target) {
		printf("fewer images than -n %llu\n",
		       (unsigned long long)opt.target);
		return 1;
	}
	return tot.violations ? 1 : 0;
}
