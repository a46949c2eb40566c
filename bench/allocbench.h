/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * allocbench.h -- what the parts of the allocator benchmark share
 *
 * This file owns the interfaces between bench/allocbench.c (options, one
 * child process per measured cell, CSV), bench/peers.c (the allocators
 * compared: pmemstore, pmemobj-pool, pmemobj-dram, glibc, jemalloc, floor,
 * pmemstore-volatile, memkind-pmem)
 * and bench/workloads.c (threadtest, larson, shbench, prod-con, named).
 *
 * A peer is driven through slots: a workload names every object it keeps
 * by a slot number in [0, nslots), and the peer keeps whatever it needs to
 * free or find that object again (a UUID, a PMEMoid, a pointer).  A slot
 * belongs to one thread at a time; handing it to another thread (prod-con,
 * larson) goes through the workload's own synchronization.
 */
#ifndef ALLOCBENCH_H
#define ALLOCBENCH_H 1

#include <stddef.h>
#include <stdint.h>

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define MAX_THREADS 1024
#define MAX_RUNS 101
#define MAX_SIZES 16
#define MAX_PHASES 3

/* what a peer is asked to provide room for */
struct peer_cfg {
	const char *dir;   /* directory of the pool files */
	const char *tag;   /* unique part of the pool file names */
	unsigned threads;  /* thread ids are in [0, threads) */
	size_t nslots;	   /* slot numbers are in [0, nslots) */
	size_t max_size;   /* largest object */
	uint64_t max_live; /* most bytes live at once (sizes summed) */
	uint64_t seed;	   /* for the pregenerated UUIDs */
};

/* persistence work counted so far (cumulative) */
struct pwork {
	uint64_t fences;
	uint64_t lines;
};

/* where a peer's fence and line counts come from */
enum count_src {
	COUNT_NONE,	  /* not counted: columns stay empty */
	COUNT_STATS,	  /* pmemstore_stats() */
	COUNT_INTERPOSER, /* libpmemcount.so preloaded */
	COUNT_SELF,	  /* the floor counts what it does itself */
};

struct peer;

/* the operations of one compared allocator */
struct peer_ops {
	const char *name;
	/* 0, or -1 with a message in msg (size msglen) */
	int (*open)(struct peer *p, const struct peer_cfg *cfg, char *msg,
		    size_t msglen);
	void (*close)(struct peer *p);
	void *(*alloc)(struct peer *p, unsigned tid, size_t slot, size_t size);
	int (*free)(struct peer *p, unsigned tid, size_t slot);
	void *(*get)(struct peer *p, unsigned tid, size_t slot, size_t *size);
	/* cumulative counts; returns where they come from */
	enum count_src (*work)(struct peer *p, struct pwork *w);
	/* what the allocator still holds (objects; pmemstore-volatile adds
	 * the volatile heap's live bytes): 0 after a run, -1 when it cannot
	 * say */
	long long (*live)(struct peer *p);
	/* 1 pmem path, 0 msync path, -1 DRAM */
	int (*is_pmem)(struct peer *p);
	/* the allocator's last error, as text */
	const char *(*errormsg)(struct peer *p);
	/* NULL when the peer can run in this build and process, else why
	 * not (the peer is skipped); NULL function: always available */
	const char *(*unavailable)(void);
};

/* peers.c */
const struct peer_ops *peer_find(const char *name);
const char *const *peer_names(void);
struct peer *peer_new(const struct peer_ops *ops);
void peer_delete(struct peer *p);
const struct peer_ops *peer_ops_of(const struct peer *p);
int peer_open(struct peer *p, const struct peer_cfg *cfg, char *msg,
	      size_t msglen);
uint64_t splitmix64(uint64_t *state);

/* workload parameters (options of allocbench) */
struct wl_params {
	/* threadtest */
	size_t tt_objects;  /* N: objects in total, split over threads */
	unsigned tt_rounds; /* R */
	size_t tt_size;	    /* 64 */
	/* larson */
	size_t la_blocks;      /* blocks per thread (1000) */
	size_t la_min, la_max; /* sizes in [min, max) */
	unsigned la_rounds;    /* rounds before a thread hands over (10000) */
	double la_seconds;     /* duration */
	/* shbench-like */
	size_t sh_allocs; /* allocations per thread */
	size_t sh_ring;	  /* live pointers per thread, multiple of 5 */
	/* prod-con */
	size_t pc_objects; /* objects in total */
	size_t pc_queue;   /* queue slots per pair */
	size_t pc_size;	   /* 64 */
	/* named */
	size_t nm_objects; /* objects per size, split over threads */
	uint64_t nm_bytes; /* cap on objects x size */
	uint64_t seed;
};

/* one phase of a run: what a CSV row is made of */
struct phase_result {
	char workload[24]; /* row name, e.g. "larson", "named-get" */
	char op[16];	   /* what ops counts: "alloc+free", "alloc", ... */
	double seconds;	   /* timed region */
	uint64_t ops;	   /* operations the metric counts */
	uint64_t calls;	   /* allocator calls in the timed region */
	uint64_t fences;   /* persistence work in the timed region */
	uint64_t lines;
	unsigned threads; /* threads that actually ran */
};

/* what a workload run hands back */
struct run_result {
	unsigned nphases;
	struct phase_result ph[MAX_PHASES];
	enum count_src src;
};

/* a workload: sizing its peer, then one run */
struct workload {
	const char *name;
	int sized; /* runs once per size of -S (named) */
	/* fill cfg->nslots, max_size, max_live */
	void (*size)(const struct wl_params *wp, unsigned threads, size_t size,
		     struct peer_cfg *cfg);
	/* 0, or -1 with a message in msg */
	int (*run)(const struct wl_params *wp, struct peer *p, unsigned threads,
		   size_t size, unsigned run, struct run_result *r, char *msg,
		   size_t msglen);
};

/* workloads.c */
const struct workload *workload_find(const char *name);
const char *const *workload_names(void);

#endif /* ALLOCBENCH_H */
