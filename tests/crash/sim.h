/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim.h -- the power-failure simulator's shared declarations: the media
 * model (model.c), the crash-image enumerator and writer (images.c), the
 * invariant checks (check.c), the workloads and their oracle
 * (workloads.c, threads.c), the thread scheduler (sched.c) and the options
 * and counters of a run (main.c).
 */
#ifndef PMS_CRASH_SIM_H
#define PMS_CRASH_SIM_H 1

#include <stddef.h>
#include <stdint.h>
#include <uuid/uuid.h>

#include "pmemstore.h"

#define LINE 64
#define PAGE 4096

/* ---- options (main.c) ---- */

struct options {
	int quick, longrun;
	uint64_t target;     /* -n: at least this many images */
	int jobs;	     /* worker processes */
	uint64_t seed;	     /* base seed of every random choice */
	unsigned sample;     /* random subsets per crash point */
	unsigned tear_dflt;  /* sampled torn images per crash point */
	int tear;	     /* --tear: systematic tearing */
	int evict;	     /* --evict: unflushed lines may land */
	int flush_points;    /* --flush-points */
	int expect;	     /* --expect-violation */
	int pool_check;	     /* I6: pmemstore_check (--pool-check) */
	int strict_index;    /* I7: a split's leftovers count too */
	const char *keep;    /* --keep DIR */
	const char *dump;    /* --dump DIR */
	uint64_t dump_every; /* --dump-every K */
	uint64_t i7_every;   /* nested recovery crash: every K-th image */
	uint64_t i9_every;   /* refill check: every K-th image */
	uint64_t mt_exhaust; /* enumerate all when <= this many (threads) */
	int verbose;
	const char *dir; /* pools and images */
	const char *only;
};

extern struct options opt;

/* ---- the media model (model.c) ---- */

/* one snapshot of a flushed line, not yet fenced */
struct pend {
	uint64_t off;  /* line offset in the mapping */
	uint32_t meta; /* from a flush of at most 4 lines */
	uint32_t tid;  /* the thread that flushed it (sched_self) */
	uint8_t data[LINE];
};

/* a tracked mapping: what is durable, and what is flushed but not fenced */
struct model {
	int active;
	uint8_t *base;
	size_t len;
	size_t npages;
	uint8_t *durable;  /* what the media holds (anonymous mapping) */
	uint64_t *touched; /* pages of durable that may be non-zero */
	uint64_t *patched; /* scratch: pages an image patches */
	struct pend *pend;
	size_t npend, cap;
	/* nested mode (recovery of an image): fences recorded, not crashed */
	int nested;
	struct pend **epochs; /* the pending lines of each fence */
	size_t *nepoch;
	size_t nepochs;
};

extern struct model wl_model;  /* the workload's pool */
extern struct model rec_model; /* an image being recovered (I7) */

/* the workload's pool path and the image path (the hooks match them) */
extern char wl_path[4096];
extern char img_path[4096];
/* the last mapping of img_path, and its length */
extern uint8_t *img_base;
extern uint8_t *last_base; /* the last mapping of any path */
extern size_t img_len;

extern int armed;     /* crash points are taken */
extern int in_check;  /* an image is being checked: no crash points */
extern int track_img; /* attach rec_model when img_path is mapped */

/* the volatile workload's file system (model.c's fallocate) */
extern int vw_nopunch;	    /* PUNCH_HOLE refused on the workload pool */
extern uint64_t vw_punched; /* pages punched in the workload pool */
extern int vw_on;	    /* the volatile workload runs */

void model_commit_all(struct model *m, struct pend *p, size_t n);
void model_release(struct model *m);

/* ---- crash images (images.c) ---- */

/* a line that may land: its offset and the versions it may land as */
struct unit {
	uint64_t off;
	uint32_t nver;
	uint32_t meta;
	const uint8_t **ver; /* nver pointers to LINE bytes */
};

/* what one image takes of a unit: 0 = nothing, k = version k (1-based) */
struct pick {
	uint32_t v;
	uint8_t tear; /* 0: whole line; else the 8-byte words taken */
};

int write_image(const char *path, struct model *m, const struct unit *u,
		const struct pick *pk, size_t n);
void describe_image(char *buf, size_t len, const struct model *m,
		    const struct unit *u, const struct pick *pk, size_t n);

/* build units from a model's pending lines (and, with --evict, dirty ones) */
size_t build_units(struct model *m, struct unit **units, int evict);
void free_units(struct unit *u, size_t n);
/* the volatile workload's account of a crash point (volatile.c) */
void vw_crash_point(const struct model *m, const struct unit *u, size_t n);
int vw_fill_check(const char *path, char *why, size_t wl);

/* crash_point -- called by the hooks at every fence (and flush) */
void crash_point(int at_flush);

/* ---- the oracle (workloads.c) ---- */

/* O_REUSED: freed, and its UUID allocated again (a newer object) */
enum ostate { O_ABSENT, O_PRESENT, O_ALLOCATING, O_FREEING, O_REUSED };
enum ocontent { C_UNKNOWN, C_ZERO, C_PATTERN };

struct mobj {
	uuid_t id;
	uint64_t size;
	int state;
	int content;
	int busy;  /* its allocating thread still writes it: not to be freed */
	int owner; /* the thread that allocated it (0: unthreaded) */
};

struct oracle {
	struct mobj *objs;
	size_t nobjs, cap;
	int create;	  /* the create workload */
	int created;	  /* pmemstore_create returned */
	size_t pool_size; /* of the pool being created or used */
	char op[160];	  /* the operation in flight */
	uint64_t opno;
};

extern struct oracle orc;

/* ---- checks (check.c) ---- */

struct fill_counts {
	uint64_t n[4];
	uint64_t free_after;
	uint64_t ipages; /* index pages before the fill */
};

/* check_image -- recover img_path and check every invariant; 0 = clean */
int check_image(uint64_t image_no, char *why, size_t whylen);
void fresh_fill(size_t pool_size, struct fill_counts *fc);

/* pattern of an object's content, from its UUID */
void pat_fill(void *dst, size_t n, const uint8_t *id);
int pat_ok(const void *src, size_t n, const uint8_t *id);

/* ---- counters of a run (main.c) ---- */

struct counts {
	uint64_t points, images, violations;
	uint64_t i7_images, i9_images, nested_images;
	uint64_t xt_points, xt_images; /* pending lines of >= 2 threads */
	uint64_t switches;	       /* scheduler: turns handed over */
	double secs;
	char first[512];
};

extern struct counts *cur; /* the current workload's counters */
extern int worker, nworkers;
extern volatile int *stop_all;
extern const char *cur_wl;
extern uint64_t cp_no;	/* crash points of this workload so far */
extern int cp_at_flush; /* the current crash point is a flush, not a fence */
extern uint64_t img_no; /* images of the run so far (all workers agree) */

uint64_t rng_next(uint64_t *s);
void report_violation(const char *what, const char *subset);

/* ---- the thread scheduler (sched.c) ---- */

#define SCHED_MAX 16

extern __thread int sched_self; /* 1..SCHED_MAX in a managed thread, else 0 */
extern int sched_on;		/* a threaded section is running */
extern uint64_t sched_switches; /* turns handed to another thread */
extern char sched_op[SCHED_MAX + 1][160]; /* each thread's operation */

void sched_begin(uint64_t seed);
int sched_spawn(void (*fn)(int self, void *arg), void *arg);
void sched_run(void);
void sched_point(void);
void sched_fence_point(void);
void sched_hint(int t);

/* ---- workloads (workloads.c, threads.c) ---- */

enum how { H_WRITE, H_ZERO, H_INIT, H_BARE, H_MEMCPY };

void wl_begin(size_t size, int create_too, uint64_t seed);
void wl_end(void);
long op_alloc(uint64_t size, int how);
void op_free(long i);
extern uint64_t wl_rng;

void wl_xfree(int scale, uint64_t seed);
void wl_mtexit(int scale, uint64_t seed);
void wl_xreuse(int scale, uint64_t seed);
void wl_mtrand(int scale, uint64_t seed);
void wl_volatile(int scale, uint64_t seed);
struct pmemstore *wl_pool(void);
long wl_nlive(void);
long wl_live_at(uint64_t k);

struct workload {
	const char *name;
	const char *what;
	void (*run)(int scale, uint64_t seed);
	int threaded; /* runs several threads (threads.c) */
};

extern const struct workload workloads[];

#endif /* PMS_CRASH_SIM_H */
