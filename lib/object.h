/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * object.h -- what the other modules ask of object.c: the hash of the
 * object an index entry names, counts by a walk, and the check of a slab
 * page after a crash
 */
#ifndef PMS_OBJECT_H
#define PMS_OBJECT_H 1

#include <stdint.h>

struct pmemstore;

/* pms_obj_run -- a dead large object's run, freed by pms_obj_validate */
struct pms_obj_run {
	uint64_t page, npages;
};

int pms_obj_rehash(struct pmemstore *ps, uint64_t loc, uint64_t *hash);
int pms_obj_sweep(struct pmemstore *ps);
int pms_obj_count(struct pmemstore *ps, uint64_t *objects, uint64_t *bytes);
int pms_obj_run_dead(struct pmemstore *ps, uint64_t p);
int pms_obj_validate(struct pmemstore *ps, uint64_t p, unsigned cls,
		     uint64_t *live, uint64_t *unknown,
		     struct pms_obj_run *runs, unsigned *nruns);

#endif /* PMS_OBJECT_H */
