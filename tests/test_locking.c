/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_locking.c -- tests of the pool lock
 *
 * Owns: a pool open read-write cannot be opened again (same process or
 * another one) -> EWOULDBLOCK with a message saying it is in use; several
 * read-only opens coexist; read-only and read-write exclude each other;
 * the lock goes away at close and when the holding process dies (even
 * killed), and what that process made durable is there afterwards.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* msg_says_in_use -- the error message mentions use */
static int
msg_says_in_use(void)
{
	const char *m = pmemstore_errormsg();
	return m != NULL && strcasestr(m, "use") != NULL;
}

/* expect_busy -- opening path with flags fails EWOULDBLOCK "in use" */
static void
expect_busy(const char *path, unsigned flags)
{
	EXPECT_FAIL_PTR(pmemstore_open(path, flags), EWOULDBLOCK);
	int said = msg_says_in_use();
	CU_ASSERT(said);
	if (!said)
		fprintf(stderr, "message does not say 'in use': \"%s\"\n",
			pmemstore_errormsg());
}

/* new_pool -- a closed pool with one object; returns the path */
static char *
new_pool(const char *name, uuid_t id)
{
	char *path = test_pool_path(name);
	struct pmemstore *ps = pmemstore_create(path, 8 * MIB, 0600);
	CU_ASSERT_PTR_NOT_NULL(ps);
	if (ps == NULL)
		return path;
	test_uuid(id);
	void *p = persist_alloc(ps, id, 100, 0);
	CU_ASSERT_PTR_NOT_NULL(p);
	if (p != NULL) {
		pattern_fill(p, 100, id);
		persist(ps, p, 100);
	}
	pmemstore_close(ps);
	return path;
}

/* test_same_process -- a second handle in the same process */
static void
test_same_process(void)
{
	uuid_t id;
	char *path = new_pool("lock_same", id);
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	expect_busy(path, 0);
	expect_busy(path, PMEMSTORE_RDONLY);
	/* the first handle is unaffected */
	CU_ASSERT_PTR_NOT_NULL(persist_get(ps, id, NULL));
	EXPECT_OK(pmemstore_close(ps));

	/* free again after close */
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		expect_busy(path, 0);
		EXPECT_OK(pmemstore_close(ps));
	}
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL)
		EXPECT_OK(pmemstore_close(ps));
out:
	test_pool_remove(path);
}

/* test_create_holds_lock -- the handle from create is exclusive too */
static void
test_create_holds_lock(void)
{
	char *path = test_pool_path("lock_create");
	struct pmemstore *ps =
		EXPECT_PTR(pmemstore_create(path, 8 * MIB, 0600));
	if (ps == NULL)
		goto out;
	expect_busy(path, 0);
	expect_busy(path, PMEMSTORE_RDONLY);
	EXPECT_OK(pmemstore_close(ps));
	ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL)
		pmemstore_close(ps);
out:
	test_pool_remove(path);
}

/* test_rdonly_shared -- read-only opens coexist; RW excluded */
static void
test_rdonly_shared(void)
{
	uuid_t id;
	char *path = new_pool("lock_ro", id);
	struct pmemstore *r1 =
		EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	struct pmemstore *r2 =
		EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	struct pmemstore *r3 =
		EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	if (r1 != NULL && r2 != NULL) {
		void *p1 = persist_get(r1, id, NULL);
		void *p2 = persist_get(r2, id, NULL);
		CU_ASSERT(p1 != NULL && p2 != NULL);
		if (p1 != NULL && p2 != NULL) {
			CU_ASSERT_EQUAL(pattern_check(p1, 100, id), -1);
			CU_ASSERT_EQUAL(pattern_check(p2, 100, id), -1);
		}
	}
	/* RW while readers hold it */
	expect_busy(path, 0);
	if (r1 != NULL)
		EXPECT_OK(pmemstore_close(r1));
	expect_busy(path, 0);
	if (r2 != NULL)
		EXPECT_OK(pmemstore_close(r2));
	expect_busy(path, 0);
	if (r3 != NULL)
		EXPECT_OK(pmemstore_close(r3));
	/* all readers gone: RW works, and excludes readers */
	struct pmemstore *w = EXPECT_PTR(pmemstore_open(path, 0));
	if (w != NULL) {
		expect_busy(path, PMEMSTORE_RDONLY);
		EXPECT_OK(pmemstore_close(w));
	}
	test_pool_remove(path);
}

struct child_arg {
	const char *path;
	unsigned flags;
};

/*
 * child_try_open -- in a child: BUSY as expected, OPENED, or another
 * failure (codes away from 0 and 1, which a crash or sanitizer may give)
 */
enum { BUSY = 10, OPENED = 11, OTHER = 12, NO_MSG = 13 };

/* child_try_open -- try to open the pool; one of the codes above */
static int
child_try_open(void *arg)
{
	struct child_arg *a = arg;
	errno = 0;
	struct pmemstore *ps = pmemstore_open(a->path, a->flags);
	if (ps != NULL) {
		pmemstore_close(ps);
		return OPENED;
	}
	if (errno != EWOULDBLOCK) {
		fprintf(stderr, "child: open: %s (%s)\n", strerror(errno),
			pmemstore_errormsg());
		return OTHER;
	}
	if (!msg_says_in_use()) {
		fprintf(stderr, "child: message \"%s\"\n",
			pmemstore_errormsg());
		return NO_MSG;
	}
	return BUSY;
}

/* test_other_process -- a forked child sees the pool in use */
static void
test_other_process(void)
{
	uuid_t id;
	char *path = new_pool("lock_fork", id);
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps == NULL)
		goto out;
	struct child_arg rw = {path, 0}, ro = {path, PMEMSTORE_RDONLY};
	CU_ASSERT_EQUAL(run_in_child(child_try_open, &rw), BUSY);
	CU_ASSERT_EQUAL(run_in_child(child_try_open, &ro), BUSY);
	EXPECT_OK(pmemstore_close(ps));
	/* closed: the child can open it */
	CU_ASSERT_EQUAL(run_in_child(child_try_open, &rw), OPENED);

	/* a reader here: a child reader is fine, a child writer is not */
	ps = EXPECT_PTR(pmemstore_open(path, PMEMSTORE_RDONLY));
	if (ps != NULL) {
		CU_ASSERT_EQUAL(run_in_child(child_try_open, &ro), OPENED);
		CU_ASSERT_EQUAL(run_in_child(child_try_open, &rw), BUSY);
		pmemstore_close(ps);
	}
out:
	test_pool_remove(path);
}

/*
 * start_holder -- a child that opens the pool, adds an object, reports through
 * a pipe, then waits for a command: 'c' close and exit, 'x' exit without
 * closing, 'k' kill itself with SIGKILL
 */
static pid_t
start_holder(const char *path, const uuid_t id, int *cmd_fd)
{
	int up[2], down[2];
	if (pipe(up) != 0 || pipe(down) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		struct pmemstore *ps = pmemstore_open(path, 0);
		char st = 'f';
		if (ps != NULL) {
			char *p = persist_alloc(ps, id, 5000, 0);
			if (p != NULL) {
				pattern_fill(p, 5000, id);
				persist(ps, p, 5000);
				st = 'o';
			}
		}
		if (write(up[1], &st, 1) != 1)
			_exit(5);
		char cmd = 0;
		if (read(down[0], &cmd, 1) != 1)
			cmd = 'x';
		if (cmd == 'k')
			kill(getpid(), SIGKILL);
		if (cmd == 'c' && ps != NULL)
			pmemstore_close(ps);
		_exit(st == 'o' ? 0 : 4);
	}
	close(up[1]);
	close(down[0]);
	char st = 0;
	if (read(up[0], &st, 1) != 1 || st != 'o') {
		fprintf(stderr, "holder did not open the pool (%c)\n", st);
		CU_FAIL("holder failed");
	}
	close(up[0]);
	*cmd_fd = down[1];
	return pid;
}

/* stop_holder -- send a command and reap; returns the wait status */
static int
stop_holder(pid_t pid, int cmd_fd, char cmd)
{
	if (write(cmd_fd, &cmd, 1) != 1)
		CU_FAIL("cannot command the holder");
	close(cmd_fd);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* holder_case -- the lock of a holder child goes away with it */
static void
holder_case(char cmd)
{
	uuid_t id, hid;
	char *path = new_pool("lock_holder", id);
	test_uuid(hid);
	int fd = -1;
	pid_t pid = start_holder(path, hid, &fd);
	CU_ASSERT(pid > 0);
	if (pid <= 0)
		goto out;
	expect_busy(path, 0);
	expect_busy(path, PMEMSTORE_RDONLY);
	int status = stop_holder(pid, fd, cmd);
	if (cmd == 'k') {
		CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	} else {
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	/* the holder is gone: the pool opens, with both objects */
	struct pmemstore *ps = EXPECT_PTR(pmemstore_open(path, 0));
	if (ps != NULL) {
		size_t sz = 0;
		char *p = persist_get(ps, hid, &sz);
		CU_ASSERT_PTR_NOT_NULL(p);
		if (p != NULL) {
			CU_ASSERT_EQUAL(sz, 5000);
			CU_ASSERT_EQUAL(pattern_check(p, 5000, hid), -1);
		}
		CU_ASSERT_PTR_NOT_NULL(persist_get(ps, id, NULL));
		struct pmemstore_stats st = get_stats(ps);
		CU_ASSERT_EQUAL(st.objects, 2);
		CU_ASSERT_EQUAL(count_objects(ps), 2);
		EXPECT_OK(pmemstore_close(ps));
	}
out:
	test_pool_remove(path);
}

/* test_holder_close -- child closes and exits */
static void
test_holder_close(void)
{
	holder_case('c');
}

/* test_holder_exit -- child exits without closing */
static void
test_holder_exit(void)
{
	holder_case('x');
}

/* test_holder_killed -- child killed by SIGKILL while holding the pool */
static void
test_holder_killed(void)
{
	holder_case('k');
}

static CU_TestInfo locking_tests[] = {
	{"same_process", test_same_process},
	{"create_holds_lock", test_create_holds_lock},
	{"rdonly_shared", test_rdonly_shared},
	{"other_process", test_other_process},
	{"holder_close", test_holder_close},
	{"holder_exit", test_holder_exit},
	{"holder_killed", test_holder_killed},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"locking", NULL, NULL, NULL, NULL, locking_tests},
	CU_SUITE_INFO_NULL,
};

/* main -- run the suite; nonzero exit status when a test failed */
int
main(void)
{
	return run_suites(suites);
}
