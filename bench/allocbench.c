/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * allocbench.c -- the allocator benchmark suite: options, cells, CSV
 *
 * This file owns allocbench's command line and its output.  A cell is one
 * (workload, size, thread count, peer); each cell runs in a child process
 * of its own -- a fresh pool, a fresh malloc heap, its own peak RSS -- that
 * does one untimed warm-up run and RUNS timed runs on one pool and sends
 * the figures back through a pipe.  The parent prints one CSV row per cell
 * and phase (the median of the runs) on stdout, progress on stderr, and
 * exits nonzero when any cell failed, crashed or timed out.  When the run
 * has pmemstore-volatile cells, a summary on stderr gives the volatile
 * heap's goals (issue 9): its ratios to jemalloc and memkind-pmem and its
 * fences and flushed lines per call.  Goals are printed, never asserted.
 *
 * Each peer calls its allocator by name, whichever malloc the process has
 * (glibc's, as in any program linked with -lpmemstore alone): the glibc
 * peer __libc_malloc/__libc_free, the jemalloc peer the malloc/free of
 * libjemalloc.so.2, which libpmemstore loads.  See bench/README.md.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pmemstore.h>

#include "benchutil.h"
#include "allocbench.h"
#include "pmemcount.h"

#ifndef PMEMSTORE_VERSION_TEXT
#define PMEMSTORE_VERSION_TEXT "?"
#endif
#ifndef PMEMOBJ_VERSION_TEXT
#define PMEMOBJ_VERSION_TEXT "?"
#endif
#define SELF "allocbench"

#define MAX_LIST 32

/* command-line settings */
struct opts {
	const char *mode;
	const char *dir;
	unsigned runs, warmup;
	double timeout; /* per cell, seconds; 0 = none */
	unsigned threads[MAX_LIST], nthreads;
	const char *wl[MAX_LIST];
	unsigned nwl;
	const char *peer[MAX_LIST];
	unsigned npeer;
	size_t sizes[MAX_SIZES];
	unsigned nsizes;
	struct wl_params wp;
};

/* one phase of a cell: every run's figures */
struct cell_phase {
	char workload[24];
	char op[16];
	unsigned threads;
	double ops_per_s[MAX_RUNS];
	uint64_t ops, calls, fences, lines; /* summed over the runs */
};

/* what a cell's child sends back */
struct cell_result {
	int ok;
	char msg[512];
	unsigned runs, nphases;
	int src; /* enum count_src */
	int is_pmem;
	long peak_rss_kib, base_rss_kib;
	struct cell_phase ph[MAX_PHASES];
};

/*
 * die -- print a message and exit
 */
__attribute__((format(printf, 1, 2), noreturn)) static void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(SELF ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* parse_size -- a byte count with an optional suffix (benchutil.c) */
static uint64_t
parse_size(const char *s)
{
	uint64_t v;

	if (bench_parse_size(s, &v))
		die("bad size '%s'", s);
	return v;
}

/*
 * parse_num -- a positive count (suffixes as for sizes)
 */
static uint64_t
parse_num(const char *s)
{
	uint64_t v = parse_size(s);
	if (v == 0)
		die("'%s': must be > 0", s);
	return v;
}

/*
 * split_list -- split a comma-separated list in place
 */
static unsigned
split_list(char *s, const char **out, unsigned max)
{
	unsigned n = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (n == max)
			die("list too long: at most %u items", max);
		out[n++] = tok;
	}
	return n;
}

/*
 * set_mode -- the preset of a mode: counts, durations, sizes, threads
 *
 * conventional: the workloads' usual parameters (threadtest alone takes
 * hours on a persistent allocator); full: a few minutes on 16 cores;
 * quick: well under 2 minutes on 2 cores, as a smoke test; vheap: the
 * volatile heap's goals -- threadtest and larson on pmemstore-volatile
 * and the heaps it is measured against, long enough for stable ratios
 * (about 40 s on 2 cores at 1 2 threads).
 */
static void
set_mode(struct opts *o, const char *mode)
{
	struct wl_params *wp = &o->wp;
	o->mode = mode;
	*wp = (struct wl_params){
		.tt_objects = 100000,
		.tt_rounds = 10000,
		.tt_size = 64,
		.la_blocks = 1000,
		.la_min = 64,
		.la_max = 400,
		.la_rounds = 10000,
		.la_seconds = 30,
		.sh_allocs = 100000,
		.sh_ring = 1000,
		.pc_objects = 10000000,
		.pc_queue = 1024,
		.pc_size = 64,
		.nm_objects = 100000,
		.nm_bytes = GiB,
		.seed = 1,
	};
	static const size_t all[] = {64, 256, 4 * KiB, 64 * KiB, MiB};
	static const unsigned threads[] = {1, 2, 4, 8, 16};
	o->nsizes = 5;
	memcpy(o->sizes, all, sizeof(all));
	o->nthreads = 5;
	memcpy(o->threads, threads, sizeof(threads));
	o->runs = 5;
	o->warmup = 1;
	o->timeout = 0;
	o->nwl = o->npeer = 0;
	if (strcmp(mode, "conventional") == 0)
		return;
	if (strcmp(mode, "full") == 0) {
		wp->tt_rounds = 2;
		wp->la_seconds = 0.2;
		wp->sh_allocs = 50000;
		wp->pc_objects = 500000;
		wp->nm_bytes = 256 * MiB;
		o->timeout = 300;
	} else if (strcmp(mode, "quick") == 0) {
		wp->tt_objects = 10000;
		wp->tt_rounds = 5;
		wp->la_seconds = 0.1;
		wp->sh_allocs = 20000;
		wp->pc_objects = 50000;
		wp->nm_objects = 20000;
		wp->nm_bytes = 128 * MiB;
		o->sizes[1] = MiB;
		o->nsizes = 2;
		o->nthreads = 2;
		o->timeout = 60;
	} else if (strcmp(mode, "vheap") == 0) {
		static const char *const wl[] = {"threadtest", "larson"};
		static const char *const peers[] = {"pmemstore-volatile",
						    "jemalloc", "glibc",
						    "memkind-pmem"};
		memcpy(o->wl, wl, sizeof(wl));
		o->nwl = 2;
		memcpy(o->peer, peers, sizeof(peers));
		o->npeer = 4;
		wp->tt_rounds = 20;
		wp->la_seconds = 0.5;
		o->runs = 7;
		o->timeout = 300;
	} else {
		die("unknown mode '%s' (quick, full, vheap, conventional)",
		    mode);
	}
}

/*
 * rss_now_kib -- VmRSS of this process, in KiB
 */
static long
rss_now_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return v;
}

/*
 * write_all -- write a whole buffer to fd
 */
static int
write_all(int fd, const void *buf, size_t len)
{
	const char *b = buf;
	while (len > 0) {
		ssize_t n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * run_cell -- in the child: set up one cell, run it, send the figures
 */
static int
run_cell(const struct opts *o, const struct workload *wl, size_t size,
	 unsigned threads, const char *peer_name, int fd)
{
	static struct cell_result res;
	memset(&res, 0, sizeof(res));
	res.base_rss_kib = rss_now_kib();
	res.is_pmem = -1;

	const struct peer_ops *ops = peer_find(peer_name);
	struct peer *p = ops ? peer_new(ops) : NULL;
	char tag[64];
	snprintf(tag, sizeof(tag), "%ld", (long)getpid());
	struct peer_cfg cfg = {
		.dir = o->dir,
		.tag = tag,
		.threads = threads,
		.seed = o->wp.seed,
	};
	wl->size(&o->wp, threads, size, &cfg);

	if (p == NULL) {
		snprintf(res.msg, sizeof(res.msg), "no peer '%s'", peer_name);
	} else if (peer_open(p, &cfg, res.msg, sizeof(res.msg)) == 0) {
		res.ok = 1;
		res.is_pmem = ops->is_pmem(p);
		for (unsigned i = 0; i < o->warmup + o->runs && res.ok; i++) {
			struct run_result r;
			memset(&r, 0, sizeof(r));
			if (wl->run(&o->wp, p, threads, size, i, &r, res.msg,
				    sizeof(res.msg)) != 0) {
				res.ok = 0;
				break;
			}
			if (i < o->warmup)
				continue;
			unsigned k = res.runs++;
			res.nphases = r.nphases;
			res.src = r.src;
			for (unsigned j = 0; j < r.nphases; j++) {
				struct cell_phase *c = &res.ph[j];
				struct phase_result *ph = &r.ph[j];
				memcpy(c->workload, ph->workload,
				       sizeof(c->workload));
				memcpy(c->op, ph->op, sizeof(c->op));
				c->threads = ph->threads;
				c->ops_per_s[k] =
					ph->seconds > 0
						? (double)ph->ops / ph->seconds
						: 0;
				c->ops += ph->ops;
				c->calls += ph->calls;
				c->fences += ph->fences;
				c->lines += ph->lines;
			}
		}
	}
	peer_delete(p);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	res.peak_rss_kib = ru.ru_maxrss;
	if (write_all(fd, &res, sizeof(res)) != 0)
		return 1;
	return res.ok ? 0 : 1;
}

/*
 * cmp_double -- qsort order of doubles
 */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * size_text -- the size column of a workload
 */
static void
size_text(const struct opts *o, const struct workload *wl, size_t size,
	  char *buf, size_t len)
{
	if (strcmp(wl->name, "threadtest") == 0)
		snprintf(buf, len, "%zu", o->wp.tt_size);
	else if (strcmp(wl->name, "larson") == 0)
		snprintf(buf, len, "%zu-%zu", o->wp.la_min, o->wp.la_max - 1);
	else if (strcmp(wl->name, "shbench") == 0)
		snprintf(buf, len, "64-331");
	else if (strcmp(wl->name, "prod-con") == 0)
		snprintf(buf, len, "%zu", o->wp.pc_size);
	else
		snprintf(buf, len, "%zu", size);
}

/* the medians printed, kept for the summary of the goals */
struct row {
	char workload[24];
	char peer[24];
	unsigned threads;
	double ops_per_s;
	int counted;	      /* fences and lines below are known */
	double fences, lines; /* per allocator call */
	const char *src;
};

#define MAX_ROWS 4096
static struct row rows[MAX_ROWS];
static unsigned nrows;

/* the volatile heap's goals (issue 9): ops/s ratios, at least */
#define VOL_PEER "pmemstore-volatile"
#define GOAL_VS_JEMALLOC 0.7
#define GOAL_VS_MEMKIND 1.0

/*
 * remember -- keep a printed row for print_goals
 */
static void
remember(const char *workload, const char *peer, unsigned threads,
	 double ops_per_s, int counted, double fences, double lines,
	 const char *src)
{
	if (nrows == MAX_ROWS)
		return;
	struct row *r = &rows[nrows++];
	snprintf(r->workload, sizeof(r->workload), "%s", workload);
	snprintf(r->peer, sizeof(r->peer), "%s", peer);
	r->threads = threads;
	r->ops_per_s = ops_per_s;
	r->counted = counted;
	r->fences = fences;
	r->lines = lines;
	r->src = src;
}

/*
 * row_of -- the row of a workload, peer and thread count, or NULL
 */
static const struct row *
row_of(const char *workload, const char *peer, unsigned threads)
{
	for (unsigned i = 0; i < nrows; i++)
		if (rows[i].threads == threads &&
		    strcmp(rows[i].workload, workload) == 0 &&
		    strcmp(rows[i].peer, peer) == 0)
			return &rows[i];
	return NULL;
}

/*
 * goal_line -- one ratio of the summary against its goal
 */
static void
goal_line(const struct row *vol, const char *peer, double goal)
{
	const struct row *r = row_of(vol->workload, peer, vol->threads);
	if (r == NULL || r->ops_per_s <= 0) {
		fprintf(stderr,
			"#   %s / %-13s    -  (goal >= %.2f: no %s row)\n",
			VOL_PEER, peer, goal, peer);
		return;
	}
	double ratio = vol->ops_per_s / r->ops_per_s;
	fprintf(stderr, "#   %s / %-13s %5.2f  (goal >= %.2f: %s)\n", VOL_PEER,
		peer, ratio, goal, ratio >= goal ? "met" : "NOT met");
}

/*
 * print_goals -- the volatile heap against its goals, on stderr
 *
 * For threadtest and larson, at 1 thread and at the most threads run:
 * the Mops/s of the DRAM and pmem heaps, pmemstore-volatile's ratios to
 * jemalloc and memkind-pmem, and its fences and flushed lines per call
 * (the goal is none).  Printed, never asserted: the exit status says
 * only whether every cell ran and checked out.
 */
static void
print_goals(void)
{
	static const char *const wls[] = {"threadtest", "larson"};
	static const char *const peers[] = {VOL_PEER, "jemalloc",
					    "memkind-pmem", "glibc"};
	int header = 0;
	for (unsigned w = 0; w < 2; w++) {
		unsigned ts[2] = {0, 0};
		for (unsigned i = 0; i < nrows; i++) {
			const struct row *r = &rows[i];
			if (strcmp(r->workload, wls[w]) != 0 ||
			    strcmp(r->peer, VOL_PEER) != 0)
				continue;
			if (r->threads == 1)
				ts[0] = 1;
			if (r->threads > ts[1])
				ts[1] = r->threads;
		}
		for (unsigned k = 0; k < 2; k++) {
			if (ts[k] == 0 || (k == 1 && ts[1] == ts[0]))
				continue;
			const struct row *vol = row_of(wls[w], VOL_PEER, ts[k]);
			if (!header) {
				fprintf(stderr,
					"# volatile heap, issue 9 goals "
					"(median Mops/s; reported, not "
					"asserted)\n#   %-11s %3s",
					"workload", "thr");
				for (unsigned j = 0; j < 4; j++)
					fprintf(stderr, " %18s", peers[j]);
				fputc('\n', stderr);
				header = 1;
			}
			fprintf(stderr, "#   %-11s %3u", wls[w], ts[k]);
			for (unsigned j = 0; j < 4; j++) {
				const struct row *r =
					row_of(wls[w], peers[j], ts[k]);
				if (r == NULL)
					fprintf(stderr, " %18s", "-");
				else
					fprintf(stderr, " %18.3f",
						r->ops_per_s / 1e6);
			}
			fputc('\n', stderr);
			goal_line(vol, "jemalloc", GOAL_VS_JEMALLOC);
			goal_line(vol, "memkind-pmem", GOAL_VS_MEMKIND);
			if (!vol->counted)
				fprintf(stderr,
					"#   fences/op, flushed lines/op: not "
					"counted\n");
			else
				fprintf(stderr,
					"#   fences/op %.3f, flushed lines/op "
					"%.3f (%s; goal 0: %s)\n",
					vol->fences, vol->lines, vol->src,
					vol->fences == 0 && vol->lines == 0
						? "met"
						: "NOT met");
		}
	}
}

/*
 * print_rows -- the CSV rows of one cell (one per phase)
 */
static void
print_rows(const struct opts *o, const struct workload *wl, size_t size,
	   const char *peer, struct cell_result *res)
{
	static const char *const src[] = {"", "stats", "interposer", "self"};
	char sz[32];
	size_text(o, wl, size, sz, sizeof(sz));
	for (unsigned j = 0; j < res->nphases; j++) {
		struct cell_phase *c = &res->ph[j];
		unsigned n = res->runs;
		qsort(c->ops_per_s, n, sizeof(double), cmp_double);
		double med = n % 2 ? c->ops_per_s[n / 2]
				   : (c->ops_per_s[n / 2 - 1] +
				      c->ops_per_s[n / 2]) /
					     2;
		double ns = med > 0 ? 1e9 * c->threads / med : 0;
		char fen[32] = "", lin[32] = "", pm[16] = "";
		if (res->src != COUNT_NONE && c->calls > 0) {
			snprintf(fen, sizeof(fen), "%.3f",
				 (double)c->fences / (double)c->calls);
			snprintf(lin, sizeof(lin), "%.3f",
				 (double)c->lines / (double)c->calls);
		}
		if (res->is_pmem >= 0)
			snprintf(pm, sizeof(pm), "%d", res->is_pmem);
		printf("%s,%s,%s,%u,%.0f,%.1f,%s,%s,%ld,%u,%.0f,%.0f,%llu,%s,"
		       "%.3f,%s,%s,%ld\n",
		       c->workload, peer, sz, c->threads, med, ns, fen, lin,
		       res->peak_rss_kib, n, c->ops_per_s[0],
		       c->ops_per_s[n - 1], (unsigned long long)(c->ops / n),
		       c->op, c->ops ? (double)c->calls / (double)c->ops : 0,
		       src[res->src], pm, res->base_rss_kib);
		fprintf(stderr,
			"  %-12s %-7s %2u thr  %-18s %10.3f Mops/s  %s\n",
			c->workload, sz, c->threads, peer, med / 1e6,
			fen[0] ? fen : "");
		remember(c->workload, peer, c->threads, med, fen[0] != '\0',
			 c->calls ? (double)c->fences / (double)c->calls : 0,
			 c->calls ? (double)c->lines / (double)c->calls : 0,
			 src[res->src]);
	}
	fflush(stdout);
}

/*
 * remove_pools -- the pool files a (killed or crashed) child left behind
 */
static void
remove_pools(const struct opts *o, pid_t pid)
{
	char path[PATH_MAX];
	for (const char *const *n = peer_names(); *n != NULL; n++) {
		snprintf(path, sizeof(path), "%s/allocbench.%ld.%s", o->dir,
			 (long)pid, *n);
		unlink(path);
	}
}

/*
 * fork_cell -- run one cell in a child; print its rows; 0 or -1
 */
static int
fork_cell(const struct opts *o, const struct workload *wl, size_t size,
	  unsigned threads, const char *peer)
{
	int fds[2];
	if (pipe(fds) != 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		_exit(run_cell(o, wl, size, threads, peer, fds[1]));
	}
	close(fds[1]);

	static struct cell_result res;
	memset(&res, 0, sizeof(res));
	size_t got = 0;
	int timed_out = 0;
	uint64_t deadline = o->timeout > 0 ? (uint64_t)(o->timeout * 1000) : 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < sizeof(res)) {
		int wait_ms = -1;
		if (deadline) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			uint64_t el =
				(uint64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
				(uint64_t)(t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (el >= deadline) {
				timed_out = 1;
				break;
			}
			wait_ms = (int)(deadline - el);
		}
		struct pollfd pf = {fds[0], POLLIN, 0};
		int pr = poll(&pf, 1, wait_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			continue;
		ssize_t n = read(fds[0], (char *)&res + got, sizeof(res) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	remove_pools(o, pid);
	char sz[32];
	size_text(o, wl, size, sz, sizeof(sz));
	const char *what = wl->name;
	if (timed_out) {
		fprintf(stderr,
			"FAILED %s %s %u thr %s: no result in %.0f s "
			"(killed; -T sets the limit)\n",
			what, sz, threads, peer, o->timeout);
		return -1;
	}
	if (got == sizeof(res) && res.ok && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0) {
		print_rows(o, wl, size, peer, &res);
		return 0;
	}
	if (got == sizeof(res) && !res.ok)
		fprintf(stderr, "FAILED %s %s %u thr %s: %s\n", what, sz,
			threads, peer, res.msg);
	else if (WIFSIGNALED(status))
		fprintf(stderr,
			"FAILED %s %s %u thr %s: killed by signal %d "
			"(%s)\n",
			what, sz, threads, peer, WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	else
		fprintf(stderr, "FAILED %s %s %u thr %s: exit status %d\n",
			what, sz, threads, peer,
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return -1;
}

/*
 * probe_pmem -- which path libpmem takes for pools in the directory
 */
static int
probe_pmem(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/allocbench.%ld.probe", dir,
		 (long)getpid());
	unlink(path);
	struct pmemstore *ps = pmemstore_create(path, PMEMSTORE_MIN_POOL, 0600);
	if (ps == NULL)
		die("cannot create a pool in %s: %s", dir,
		    pmemstore_errormsg());
	int is_pmem = pmemstore_is_pmem(ps);
	pmemstore_close(ps);
	unlink(path);
	return is_pmem;
}

/*
 * print_header -- what runs where, on stderr
 */
static void
print_header(const struct opts *o, int is_pmem)
{
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	fprintf(stderr,
		"# " SELF ": libpmemstore %s, libpmemobj %s, glibc %s\n",
		PMEMSTORE_VERSION_TEXT, PMEMOBJ_VERSION_TEXT,
		gnu_get_libc_version());
	/* the malloc every plain call gets, and the jemalloc peer's */
	Dl_info di;
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	const char *je_version = NULL;
	size_t len = sizeof(je_version);
	void *je = dlopen("libjemalloc.so.2", RTLD_LAZY | RTLD_NOLOAD);
	int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t) =
		je ? (int (*)(const char *, void *, size_t *, void *,
			      size_t))dlsym(je, "mallctl")
		   : NULL;
	if (mallctl_fn == NULL ||
	    mallctl_fn("version", &je_version, &len, NULL, 0) != 0)
		je_version = NULL;
	fprintf(stderr, "# process malloc: %s; jemalloc: %s\n",
		m != NULL && dladdr(m, &di) != 0 && di.dli_fname != NULL
			? di.dli_fname
			: "?",
		je_version ? je_version : "not loaded");
	if (je != NULL)
		dlclose(je);
	fprintf(stderr,
		"# mode %s, pools in %s, %u timed runs (+%u warm-up), "
		"%ld CPUs online\n",
		o->mode, o->dir, o->runs, o->warmup,
		sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(stderr,
		"# PMEM_IS_PMEM_FORCE=%s; pmemstore_is_pmem() = %d (%s)\n",
		force ? force : "(unset)", is_pmem,
		is_pmem ? "pmem path: cache-line flushes + fences"
			: "msync path: set PMEM_IS_PMEM_FORCE=1 on a tmpfs");
	fprintf(stderr, "# interposer (libpmemcount.so): %s\n",
		dlsym(RTLD_DEFAULT, PMEMCOUNT_GET_SYMBOL) ? "loaded"
							  : "not loaded");
}

/*
 * usage -- the command line
 */
static void
usage(FILE *f)
{
	fprintf(f,
		"usage: " SELF " [options] [THREADS...]\n"
		"  THREADS          thread counts (default 1 2 4 8 16; quick: "
		"1 2)\n"
		"  -m MODE          quick, full, vheap or conventional "
		"(default): the\n"
		"                   presets below; options given override "
		"them\n"
		"                   (vheap: -W threadtest,larson -P "
		"pmemstore-volatile,\n"
		"                   jemalloc,glibc,memkind-pmem --tt-rounds 20 "
		"--la-seconds 0.5\n"
		"                   -r 7 -T 300)\n"
		"  -d DIR           pool directory (default /dev/shm, else .)\n"
		"  -r RUNS          timed runs per cell, median printed "
		"(default 5)\n"
		"  -w N             untimed warm-up runs per cell (default 1)\n"
		"  -W LIST          workloads: threadtest,larson,shbench,"
		"prod-con,named\n"
		"  -P LIST          peers: pmemstore,pmemobj-pool,pmemobj-dram,"
		"glibc,\n"
		"                   jemalloc,floor,pmemstore-volatile,"
		"memkind-pmem\n"
		"  -S LIST          sizes of named (default 64,256,4K,64K,1M; "
		"quick: 64,1M)\n"
		"  -T SECONDS       kill a cell after this long (0: never; "
		"quick 60, full 300)\n"
		"  -J PATH          ignored: there is no allocbench-je any "
		"more\n"
		"  -s SEED          seed of UUIDs and random choices (default "
		"1)\n"
		"  --tt-objects N   threadtest objects in all (100000; quick "
		"10000)\n"
		"  --tt-rounds R    threadtest rounds (10000; full 2, quick "
		"5)\n"
		"  --la-seconds S   larson duration (30; full 0.2, quick "
		"0.1)\n"
		"  --la-blocks N    larson blocks per thread (1000)\n"
		"  --la-rounds N    larson rounds before a hand-over (10000)\n"
		"  --sh-allocs N    shbench allocations per thread (100000; "
		"full 50000,\n"
		"                   quick 20000)\n"
		"  --sh-ring N      shbench live blocks per thread (1000)\n"
		"  --pc-objects N   prod-con objects in all (10M; full 500k, "
		"quick 50k)\n"
		"  --pc-queue N     prod-con queue slots per pair (1024)\n"
		"  --nm-objects N   named objects per size (100000; quick "
		"20000)\n"
		"  --nm-bytes SIZE  named cap on objects x size (1G; full "
		"256M, "
		"quick 128M)\n"
		"CSV on stdout, progress on stderr; exit status 1 when a cell "
		"failed.\n"
		"On a tmpfs set PMEM_IS_PMEM_FORCE=1 for the pmem path; "
		"preload "
		"libpmemcount.so\n"
		"for the fences and lines of the peers other than pmemstore "
		"and "
		"floor.\n");
}

enum {
	OPT_TT_OBJECTS = 256,
	OPT_TT_ROUNDS,
	OPT_LA_SECONDS,
	OPT_LA_BLOCKS,
	OPT_LA_ROUNDS,
	OPT_SH_ALLOCS,
	OPT_SH_RING,
	OPT_PC_OBJECTS,
	OPT_PC_QUEUE,
	OPT_NM_OBJECTS,
	OPT_NM_BYTES,
};

static const struct option longopts[] = {
	{"tt-objects", required_argument, NULL, OPT_TT_OBJECTS},
	{"tt-rounds", required_argument, NULL, OPT_TT_ROUNDS},
	{"la-seconds", required_argument, NULL, OPT_LA_SECONDS},
	{"la-blocks", required_argument, NULL, OPT_LA_BLOCKS},
	{"la-rounds", required_argument, NULL, OPT_LA_ROUNDS},
	{"sh-allocs", required_argument, NULL, OPT_SH_ALLOCS},
	{"sh-ring", required_argument, NULL, OPT_SH_RING},
	{"pc-objects", required_argument, NULL, OPT_PC_OBJECTS},
	{"pc-queue", required_argument, NULL, OPT_PC_QUEUE},
	{"nm-objects", required_argument, NULL, OPT_NM_OBJECTS},
	{"nm-bytes", required_argument, NULL, OPT_NM_BYTES},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

#define SHORTOPTS "m:d:r:w:W:P:S:T:J:s:h"

/*
 * parse -- the command line into o (the mode's preset first)
 */
static void
parse(int argc, char *argv[], struct opts *o)
{
	int c;
	const char *mode = "conventional";
	opterr = 0;
	while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1)
		if (c == 'm')
			mode = optarg;
	set_mode(o, mode);
	opterr = 1;
	optind = 0;
	struct wl_params *wp = &o->wp;
	while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'r':
			o->runs = (unsigned)parse_num(optarg);
			break;
		case 'w':
			o->warmup = (unsigned)parse_size(optarg);
			break;
		case 'W':
			o->nwl = split_list(optarg, o->wl, MAX_LIST);
			break;
		case 'P':
			o->npeer = split_list(optarg, o->peer, MAX_LIST);
			break;
		case 'S': {
			const char *s[MAX_SIZES];
			o->nsizes = split_list(optarg, s, MAX_SIZES);
			for (unsigned i = 0; i < o->nsizes; i++)
				o->sizes[i] = parse_num(s[i]);
			break;
		}
		case 'T':
			o->timeout = atof(optarg);
			break;
		case 'J':
			/* allocbench-je's path: kept for old scripts */
			break;
		case 's':
			wp->seed = parse_size(optarg);
			break;
		case OPT_TT_OBJECTS:
			wp->tt_objects = parse_num(optarg);
			break;
		case OPT_TT_ROUNDS:
			wp->tt_rounds = (unsigned)parse_num(optarg);
			break;
		case OPT_LA_SECONDS:
			wp->la_seconds = atof(optarg);
			break;
		case OPT_LA_BLOCKS:
			wp->la_blocks = parse_num(optarg);
			break;
		case OPT_LA_ROUNDS:
			wp->la_rounds = (unsigned)parse_num(optarg);
			break;
		case OPT_SH_ALLOCS:
			wp->sh_allocs = parse_num(optarg);
			break;
		case OPT_SH_RING:
			wp->sh_ring = parse_num(optarg);
			break;
		case OPT_PC_OBJECTS:
			wp->pc_objects = parse_num(optarg);
			break;
		case OPT_PC_QUEUE:
			wp->pc_queue = parse_num(optarg);
			break;
		case OPT_NM_OBJECTS:
			wp->nm_objects = parse_num(optarg);
			break;
		case OPT_NM_BYTES:
			wp->nm_bytes = parse_num(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		o->nthreads = 0;
	for (int i = optind; i < argc; i++) {
		unsigned long t = strtoul(argv[i], NULL, 10);
		if (t == 0 || t > MAX_THREADS || o->nthreads == MAX_LIST)
			die("bad thread count '%s' (1..%d, at most %d of them)",
			    argv[i], MAX_THREADS, MAX_LIST);
		o->threads[o->nthreads++] = (unsigned)t;
	}
	if (o->runs > MAX_RUNS || o->warmup > MAX_RUNS)
		die("RUNS and warm-up runs: at most %d", MAX_RUNS);
	if (wp->sh_ring < 5)
		die("--sh-ring: at least 5");
	wp->sh_ring -= wp->sh_ring % 5;
	if (wp->la_max <= wp->la_min || wp->la_min < 8)
		die("larson sizes: 8 <= min < max");
	if (wp->pc_size < 8 || wp->tt_size < 8)
		die("object sizes: at least 8 bytes");
	for (unsigned i = 0; i < o->nsizes; i++)
		if (o->sizes[i] < 8)
			die("-S: sizes of at least 8 bytes");
}

/*
 * main -- run every cell of the chosen workloads, peers and threads
 */
int
main(int argc, char *argv[])
{
	static struct opts o;
	parse(argc, argv, &o);
	if (o.dir == NULL) {
		struct stat st;
		o.dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)
				? "/dev/shm"
				: ".";
	}

	const char *const *all_wl = workload_names();
	if (o.nwl == 0)
		while (all_wl[o.nwl] != NULL)
			o.wl[o.nwl] = all_wl[o.nwl], o.nwl++;
	if (o.npeer == 0) {
		const char *const *all_peers = peer_names();
		while (all_peers[o.npeer] != NULL)
			o.peer[o.npeer] = all_peers[o.npeer], o.npeer++;
	}
	for (unsigned i = 0; i < o.nwl; i++)
		if (workload_find(o.wl[i]) == NULL)
			die("no workload '%s'", o.wl[i]);
	/* peers this build or process cannot run: skipped, with a message */
	int skip[MAX_LIST] = {0};
	for (unsigned i = 0; i < o.npeer; i++) {
		const struct peer_ops *ops = peer_find(o.peer[i]);
		if (ops == NULL)
			die("no peer '%s'", o.peer[i]);
		const char *why = ops->unavailable ? ops->unavailable() : NULL;
		if (why != NULL) {
			fprintf(stderr, "# %s peer skipped: %s\n", o.peer[i],
				why);
			skip[i] = 1;
		}
	}

	print_header(&o, probe_pmem(o.dir));
	printf("workload,peer,size,threads,ops_per_s,ns_per_op,fences_per_op,"
	       "lines_per_op,peak_rss_kib,runs,ops_per_s_min,ops_per_s_max,"
	       "ops_per_run,op,calls_per_op,count_src,is_pmem,base_rss_kib\n");
	fflush(stdout);

	unsigned cells = 0, failures = 0;
	for (unsigned i = 0; i < o.nwl; i++) {
		const struct workload *wl = workload_find(o.wl[i]);
		unsigned nsizes = wl->sized ? o.nsizes : 1;
		for (unsigned s = 0; s < nsizes; s++) {
			size_t size = wl->sized ? o.sizes[s] : 0;
			for (unsigned t = 0; t < o.nthreads; t++) {
				for (unsigned k = 0; k < o.npeer; k++) {
					if (skip[k])
						continue;
					cells++;
					if (fork_cell(&o, wl, size,
						      o.threads[t],
						      o.peer[k]) != 0)
						failures++;
				}
			}
		}
	}
	print_goals();
	fprintf(stderr, "# %u cells, %u failed\n", cells, failures);
	return failures ? 1 : 0;
}
