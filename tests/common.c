/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * common.c -- shared helpers of the libpmemstore CUnit test programs
 *
 * Owns the implementation of everything declared in common.h: pool paths
 * and test environment, the CUnit runner, PRNG and UUID patterns, file
 * digests and raw I/O, timing and forked children.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* test_dir -- directory for pool files */
const char *
test_dir(void)
{
	const char *d = getenv("PMEMSTORE_TEST_DIR");
	return (d != NULL && d[0] != '\0') ? d : ".";
}

/* test_mode_pmem -- the durability mode this run expects */
int
test_mode_pmem(void)
{
	const char *m = getenv("PMEMSTORE_TEST_MODE");
	if (m != NULL && strcmp(m, "pmem") == 0)
		return 1;
	if (m != NULL && strcmp(m, "msync") == 0)
		return 0;
	const char *f = getenv("PMEM_IS_PMEM_FORCE");
	if (f != NULL && strcmp(f, "1") == 0)
		return 1;
	if (f != NULL && strcmp(f, "0") == 0)
		return 0;
	return -1;
}

/* test_dir_is_tmpfs -- whether pools live on tmpfs */
int
test_dir_is_tmpfs(void)
{
	struct statfs sf;
	if (statfs(test_dir(), &sf) != 0)
		return 0;
	return sf.f_type == TMPFS_MAGIC;
}

static unsigned Path_counter;
static pthread_mutex_t Path_lock = PTHREAD_MUTEX_INITIALIZER;

/* pool_path_in -- a unique pool path under dir */
static char *
pool_path_in(const char *dir, const char *name)
{
	pthread_mutex_lock(&Path_lock);
	unsigned n = Path_counter++;
	pthread_mutex_unlock(&Path_lock);

	char *path = NULL;
	if (asprintf(&path, "%s/%s.%ld.%u.pool", dir, name, (long)getpid(), n) <
	    0) {
		perror("asprintf");
		abort();
	}
	(void)unlink(path);
	return path;
}

/* test_pool_path -- a unique pool path under the test directory */
char *
test_pool_path(const char *name)
{
	return pool_path_in(test_dir(), name);
}

/* test_bulk_dir -- where bulk tests put their pools (see common.h) */
const char *
test_bulk_dir(void)
{
	static const char shm[] = "/dev/shm";
	if (test_mode_pmem() != 0 || test_dir_is_tmpfs())
		return test_dir();
	struct statfs sf;
	if (statfs(shm, &sf) != 0 || sf.f_type != TMPFS_MAGIC ||
	    access(shm, W_OK) != 0)
		return test_dir();
	return shm;
}

/* test_bulk_pool_path -- a unique pool path under the bulk directory */
char *
test_bulk_pool_path(const char *name)
{
	return pool_path_in(test_bulk_dir(), name);
}

/* test_pool_remove -- unlink a pool and free its path */
void
test_pool_remove(char *path)
{
	if (path == NULL)
		return;
	if (unlink(path) != 0 && errno != ENOENT)
		fprintf(stderr, "unlink %s: %s\n", path, strerror(errno));
	free(path);
}

/* run_suites -- run all suites; nonzero when anything failed */
int
run_suites(CU_SuiteInfo *suites)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CU_initialize_registry: %s\n",
			CU_get_error_msg());
		return 2;
	}
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "CU_register_suites: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	printf("pmemstore tests: dir %s, mode %s, seed %" PRIu64 "\n",
	       test_dir(), getenv("PMEMSTORE_TEST_MODE") ?: "(unset)",
	       test_seed());
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_ErrorCode err = CU_basic_run_tests();

	/* read the results before the registry (and they) are freed */
	unsigned tests_failed = CU_get_number_of_tests_failed();
	unsigned suites_failed = CU_get_number_of_suites_failed();
	unsigned asserts_failed = CU_get_number_of_failures();
	unsigned tests_run = CU_get_number_of_tests_run();
	CU_cleanup_registry();

	printf("\n%u tests run, %u failed, %u failed assertions, "
	       "%u suites failed to initialize\n",
	       tests_run, tests_failed, asserts_failed, suites_failed);
	if (err != CUE_SUCCESS || tests_failed != 0 || suites_failed != 0 ||
	    asserts_failed != 0 || tests_run == 0)
		return 1;
	return 0;
}

static uint64_t Seed;
static pthread_once_t Seed_once = PTHREAD_ONCE_INIT;

/* seed_init -- pick the run's seed from the environment or the clock */
static void
seed_init(void)
{
	const char *s = getenv("PMEMSTORE_TEST_SEED");
	if (s != NULL && s[0] != '\0') {
		Seed = strtoull(s, NULL, 0);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	Seed = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 32);
}

/* test_seed -- the PRNG seed of this run (printed by run_suites) */
uint64_t
test_seed(void)
{
	pthread_once(&Seed_once, seed_init);
	return Seed;
}

/* splitmix64 -- one step of the splitmix64 generator */
static inline uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* rnd_next -- next PRNG value */
uint64_t
rnd_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	uint64_t x = *state;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* rnd_range -- uniform value in [lo, hi] */
uint64_t
rnd_range(uint64_t *state, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = hi - lo + 1;
	if (span == 0)
		return rnd_next(state);
	return lo + rnd_next(state) % span;
}

/* test_uuid -- a random UUID */
void
test_uuid(uuid_t id)
{
	uuid_generate_random(id);
}

/* rnd_uuid -- a reproducible UUID from the PRNG (version 4 bits set) */
void
rnd_uuid(uint64_t *state, uuid_t id)
{
	uint64_t a = rnd_next(state), b = rnd_next(state);
	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

/* uuid_str -- printable UUID (rotating thread-local buffers) */
const char *
uuid_str(const uuid_t id)
{
	static __thread char buf[4][37];
	static __thread unsigned n;
	char *s = buf[n++ % 4];
	uuid_unparse(id, s);
	return s;
}

/* pattern_key -- the 64-bit key of a UUID and a salt */
static uint64_t
pattern_key(const uuid_t id, uint64_t salt)
{
	uint64_t a, b;
	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	return splitmix64(a ^ splitmix64(b ^ salt));
}

/* pattern_word -- the 8 bytes of the pattern at word index w */
static inline uint64_t
pattern_word(uint64_t key, uint64_t w)
{
	return splitmix64(key + w * 0xd1b54a32d192ed03ULL);
}

/* pattern_fill_salt -- write the (salted) pattern of id */
void
pattern_fill_salt(void *dst, size_t len, const uuid_t id, uint64_t salt)
{
	uint64_t key = pattern_key(id, salt);
	unsigned char *d = dst;
	size_t nw = len / 8;
	for (size_t w = 0; w < nw; w++) {
		uint64_t v = pattern_word(key, w);
		memcpy(d + w * 8, &v, 8);
	}
	if (len % 8) {
		uint64_t v = pattern_word(key, nw);
		memcpy(d + nw * 8, &v, len % 8);
	}
}

/* pattern_check_salt -- first mismatching offset, or -1 */
ptrdiff_t
pattern_check_salt(const void *dst, size_t len, const uuid_t id, uint64_t salt)
{
	uint64_t key = pattern_key(id, salt);
	const unsigned char *d = dst;
	size_t nw = len / 8;
	for (size_t w = 0; w < nw; w++) {
		uint64_t v = pattern_word(key, w);
		if (memcmp(d + w * 8, &v, 8) != 0) {
			const unsigned char *e = (const unsigned char *)&v;
			for (size_t i = 0; i < 8; i++)
				if (d[w * 8 + i] != e[i])
					return (ptrdiff_t)(w * 8 + i);
		}
	}
	if (len % 8) {
		uint64_t v = pattern_word(key, nw);
		const unsigned char *e = (const unsigned char *)&v;
		for (size_t i = 0; i < len % 8; i++)
			if (d[nw * 8 + i] != e[i])
				return (ptrdiff_t)(nw * 8 + i);
	}
	return -1;
}

/* pattern_fill -- write the pattern of id */
void
pattern_fill(void *dst, size_t len, const uuid_t id)
{
	pattern_fill_salt(dst, len, id, 0);
}

/* pattern_check -- first mismatching offset, or -1 */
ptrdiff_t
pattern_check(const void *dst, size_t len, const uuid_t id)
{
	return pattern_check_salt(dst, len, id, 0);
}

/* mem_is -- whether every byte is c */
int
mem_is(const void *p, int c, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i] != (unsigned char)c)
			return 0;
	return 1;
}

/* file_digest -- XXH64 of a whole file, and its size */
int
file_digest(const char *path, uint64_t *digest, uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	XXH64_state_t *s = XXH64_createState();
	XXH64_reset(s, 0);
	enum { BUFSZ = 1 << 20 };
	char *buf = malloc(BUFSZ);
	off_t off = 0;
	int ret = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, BUFSZ, off);
		if (n < 0) {
			ret = -1;
			break;
		}
		if (n == 0)
			break;
		XXH64_update(s, buf, (size_t)n);
		off += n;
	}
	*digest = XXH64_digest(s);
	*size = (uint64_t)st.st_size;
	XXH64_freeState(s);
	free(buf);
	close(fd);
	return ret;
}

/* file_write_at -- pwrite all of buf at off */
int
file_write_at(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return close(fd);
}

/* file_read_at -- pread all of buf at off */
int
file_read_at(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return close(fd);
}

/* file_create -- create or replace a file holding buf */
int
file_create(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	if (len == 0)
		return 0;
	return file_write_at(path, 0, buf, len);
}

/* test_xxh64 -- XXH64 of a buffer */
uint64_t
test_xxh64(const void *buf, size_t len, uint64_t seed)
{
	return XXH64(buf, len, seed);
}

/* now_ms -- monotonic time in milliseconds */
double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* run_in_child -- run fn in a forked child; its exit status or -signal */
int
run_in_child(int (*fn)(void *arg), void *arg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1000;
	if (pid == 0)
		_exit(fn(arg) & 0xff);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1000;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return -1000;
}

/* get_stats -- pmemstore_stats, asserting success */
struct pmemstore_stats
get_stats(struct pmemstore *ps)
{
	struct pmemstore_stats st;
	memset(&st, 0, sizeof(st));
	int r = pmemstore_stats(ps, &st);
	CU_ASSERT_EQUAL(r, 0);
	if (r != 0)
		fprintf(stderr, "pmemstore_stats: %s\n", pmemstore_errormsg());
	return st;
}

/* count_cb -- foreach callback counting objects */
static int
count_cb(const uuid_t id, void *ptr, size_t size, void *arg)
{
	(void)id;
	(void)ptr;
	(void)size;
	++*(uint64_t *)arg;
	return 0;
}

/* count_objects -- live objects by a full foreach walk */
uint64_t
count_objects(struct pmemstore *ps)
{
	uint64_t n = 0;
	int r = pmemstore_foreach(ps, count_cb, &n);
	CU_ASSERT_EQUAL(r, 0);
	return n;
}
