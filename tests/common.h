/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * common.h -- shared helpers of the libpmemstore CUnit test programs
 *
 * This file owns what every test_*.c needs and nothing specific to one
 * area: where pools go and how they are named, which durability mode the
 * run is in, the CUnit main loop (run_suites), a small PRNG, content
 * patterns derived from an object's UUID, file digests and raw file I/O
 * for on-media tampering, timing, and running a risky step in a forked
 * child so that a crash is reported instead of killing the whole program.
 */
#ifndef PMS_TEST_COMMON_H
#define PMS_TEST_COMMON_H 1

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <uuid/uuid.h>

#include "pmemstore.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)
#define TIB ((size_t)1 << 40)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* directory for pool files: $PMEMSTORE_TEST_DIR, else "." */
const char *test_dir(void);

/*
 * expected durability mode: 1 for "pmem", 0 for "msync", -1 when neither
 * PMEMSTORE_TEST_MODE nor PMEM_IS_PMEM_FORCE says
 */
int test_mode_pmem(void);

/* 1 when the test directory is on tmpfs (msync is then nearly free) */
int test_dir_is_tmpfs(void);

/*
 * unique path "<dir>/<name>.<pid>.<n>.pool" (malloc'd); any stale file
 * of that name is removed first
 */
char *test_pool_path(const char *name);

/*
 * directory for pools of bulk tests (hundreds of thousands of operations):
 * the test directory, except in msync mode when that is not on tmpfs --
 * there every msync is a journal commit (~0.2 ms) -- and /dev/shm is
 * usable: then /dev/shm, where the msync path runs the same code cheaply
 */
const char *test_bulk_dir(void);

/* like test_pool_path, in the bulk directory */
char *test_bulk_pool_path(const char *name);

/* unlink the pool file (ignoring ENOENT) and free the path */
void test_pool_remove(char *path);

/*
 * run_suites -- register the suites, run them in CUnit basic verbose mode
 * and return 0 when every test passed, nonzero otherwise (suitable as the
 * exit status of main)
 */
int run_suites(CU_SuiteInfo *suites);

/* PRNG (splitmix64); the seed comes from $PMEMSTORE_TEST_SEED or time */
uint64_t test_seed(void);
uint64_t rnd_next(uint64_t *state);
/* uniform in [lo, hi] */
uint64_t rnd_range(uint64_t *state, uint64_t lo, uint64_t hi);

/* a fresh random UUID */
void test_uuid(uuid_t id);
/* a pseudo-random (never nil) UUID from the PRNG: fast and reproducible */
void rnd_uuid(uint64_t *state, uuid_t id);
/* the UUID in text form, in a thread-local rotating buffer */
const char *uuid_str(const uuid_t id);

/*
 * content patterns: byte i of an object is a function of its UUID and i,
 * so an object written over another, moved, or truncated is detected
 */
void pattern_fill(void *dst, size_t len, const uuid_t id);
/* -1 when dst holds the pattern of id, else the offset of the first bad byte */
ptrdiff_t pattern_check(const void *dst, size_t len, const uuid_t id);
/* same, but a shifted variant (for "different content" tests) */
void pattern_fill_salt(void *dst, size_t len, const uuid_t id, uint64_t salt);
ptrdiff_t pattern_check_salt(const void *dst, size_t len, const uuid_t id,
			     uint64_t salt);
/* 1 when every byte of [p, p + len) is c */
int mem_is(const void *p, int c, size_t len);

/* files */
/* digest (XXH64) of the whole file, with its size; 0 on success */
int file_digest(const char *path, uint64_t *digest, uint64_t *size);
/* pwrite / pread the whole buffer; 0 on success */
int file_write_at(const char *path, uint64_t off, const void *buf, size_t len);
int file_read_at(const char *path, uint64_t off, void *buf, size_t len);
/* create (or replace) a regular file holding len bytes of buf */
int file_create(const char *path, const void *buf, size_t len);
/* XXH64 of a buffer (for superblock checksums) */
uint64_t test_xxh64(const void *buf, size_t len, uint64_t seed);

/* monotonic milliseconds */
double now_ms(void);

/*
 * run_in_child -- run fn(arg) in a forked child and wait for it.  Returns
 * the child's exit status (0..255), or -signo when it was killed by a
 * signal, or -1000 when fork/wait failed.
 */
int run_in_child(int (*fn)(void *arg), void *arg);

/* pmemstore_stats that asserts success */
struct pmemstore_stats get_stats(struct pmemstore *ps);

/* count the live objects by pmemstore_foreach */
uint64_t count_objects(struct pmemstore *ps);

/*
 * EXPECT_FAIL_PTR / EXPECT_FAIL_INT -- the call must fail (NULL / -1) with
 * errno err; on a mismatch print what was returned and the error message
 */
#define EXPECT_FAIL_PTR(expr, err)                                             \
	do {                                                                   \
		errno = 0;                                                     \
		const void *ef_p_ = (const void *)(expr);                      \
		int ef_e_ = errno;                                             \
		CU_ASSERT_PTR_NULL(ef_p_);                                     \
		CU_ASSERT_EQUAL(ef_e_, (err));                                 \
		if (ef_p_ != NULL || ef_e_ != (err))                           \
			fprintf(stderr,                                        \
				"%s:%d: %s: got %p errno %d (%s), "            \
				"expected NULL errno %d (%s) [%s]\n",          \
				__FILE__, __LINE__, #expr, ef_p_, ef_e_,       \
				strerror(ef_e_), (err), strerror(err),         \
				pmemstore_errormsg());                         \
	} while (0)

#define EXPECT_FAIL_INT(expr, err)                                             \
	do {                                                                   \
		errno = 0;                                                     \
		int ef_r_ = (expr);                                            \
		int ef_e_ = errno;                                             \
		CU_ASSERT_EQUAL(ef_r_, -1);                                    \
		CU_ASSERT_EQUAL(ef_e_, (err));                                 \
		if (ef_r_ != -1 || ef_e_ != (err))                             \
			fprintf(stderr,                                        \
				"%s:%d: %s: got %d errno %d (%s), "            \
				"expected -1 errno %d (%s) [%s]\n",            \
				__FILE__, __LINE__, #expr, ef_r_, ef_e_,       \
				strerror(ef_e_), (err), strerror(err),         \
				pmemstore_errormsg());                         \
	} while (0)

/* the pointer must be non-NULL; print the error otherwise */
#define EXPECT_PTR(expr)                                                       \
	({                                                                     \
		errno = 0;                                                     \
		void *ep_p_ = (void *)(expr);                                  \
		int ep_e_ = errno;                                             \
		CU_ASSERT_PTR_NOT_NULL(ep_p_);                                 \
		if (ep_p_ == NULL)                                             \
			fprintf(stderr, "%s:%d: %s failed: %s [%s]\n",         \
				__FILE__, __LINE__, #expr, strerror(ep_e_),    \
				pmemstore_errormsg());                         \
		ep_p_;                                                         \
	})

/* the int call must return 0; print the error otherwise */
#define EXPECT_OK(expr)                                                        \
	do {                                                                   \
		errno = 0;                                                     \
		int eo_r_ = (expr);                                            \
		int eo_e_ = errno;                                             \
		CU_ASSERT_EQUAL(eo_r_, 0);                                     \
		if (eo_r_ != 0)                                                \
			fprintf(stderr, "%s:%d: %s returned %d: %s [%s]\n",    \
				__FILE__, __LINE__, #expr, eo_r_,              \
				strerror(eo_e_), pmemstore_errormsg());        \
	} while (0)

#endif /* PMS_TEST_COMMON_H */
