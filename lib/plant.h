/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plant.h -- deliberately planted bugs, for the crash simulator's proof
 * that it can fail (tests/crash, docs/crash-testing.md).
 *
 * A normal build never defines PMEMSTORE_PLANT, so every PMS_PLANTED()
 * is the constant 0 and the compiler drops the buggy branch; both
 * branches still compile in every build, so a plant cannot rot.  The test
 * build defines PMEMSTORE_PLANT to one PMS_PLANT_* number per variant
 * library (pmemstore_plant_<name>) and asserts that the simulator reports
 * a violation for it.
 */
#ifndef PMS_PLANT_H
#define PMS_PLANT_H 1

#define PMS_PLANT_HDR_NOFLUSH 1	    /* object header not flushed */
#define PMS_PLANT_PUBLISH_NOFENCE 2 /* alloc returns before its fence */
#define PMS_PLANT_PUBLISH_EARLY 3   /* init: published before content */
#define PMS_PLANT_TORN_COMMIT 4	    /* retired in format 2: see below */
#define PMS_PLANT_FREE_NOINVAL 5    /* free leaves the header verifying */
#define PMS_PLANT_REUSE_EARLY 6	    /* slot reused before free durable */
#define PMS_PLANT_DESC_NOFLUSH 7    /* HEAD descriptor not flushed */
#define PMS_PLANT_SUPER_ONECOPY 8   /* copy B never written */
#define PMS_PLANT_ZERO_NOFENCE 9    /* PERSIST_ZERO zeroes not fenced */
#define PMS_PLANT_RECORD_NOFLUSH 10 /* large object's record not flushed */
#define PMS_PLANT_TAIL_NOREPAIR 11  /* open leaves missing TAILs */
#define PMS_PLANT_REMOTE_EARLY 12   /* cross-thread free: slot home unfenced */
#define PMS_PLANT_REMOTE_NOFENCE 13 /* cross-thread free: fence dropped */
#define PMS_PLANT_INDEX_NOFLUSH 14  /* index entry not flushed */
#define PMS_PLANT_TWIN_NOFENCE 15   /* split: log before the twin is durable */
#define PMS_PLANT_SPLIT_EARLY 16    /* split: entries out before the dir */
#define PMS_PLANT_DIR_EARLY 17	    /* doubling: word before the directory */
#define PMS_PLANT_COUNT 17

/*
 * PMS_PLANT_TORN_COMMIT tore format 1's commit word (the bitmap bit).  In
 * format 2 the commit word is the index entry, which names a header whose
 * identity check covers the UUID and the place: a torn entry (either
 * half) names no object that verifies, so tearing it is no bug to catch.
 * The number stays reserved; the plant's branch tears the header's check,
 * which is just as harmless.  A plant whose comment on its #define says
 * "retired" is not built (lib/CMakeLists.txt), so not tested.
 */

#ifdef PMEMSTORE_PLANT
#define PMS_PLANTED(name) (PMEMSTORE_PLANT == PMS_PLANT_##name)
#else
#define PMS_PLANTED(name) 0
#endif

#endif /* PMS_PLANT_H */
