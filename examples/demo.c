/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * demo.c -- a named object that survives a restart
 *
 * This file owns the demo example.  It opens the pool demo.pool in the
 * current directory (or the path given as the only argument), creating a
 * 64 MiB pool if there is none, and looks up the object named "greeting".
 * The first run creates the object with persist_alloc_init(): a run
 * counter and a message, durable before the object becomes visible.  Every
 * later run finds it by name, prints it, and increments the counter
 * durably with persist().  Run it twice and the count grows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pmemstore.h>

#define DEMO_POOL "demo.pool"
#define DEMO_POOL_SIZE ((size_t)64 << 20)
#define DEMO_NAME "greeting"
#define DEMO_MAGIC 0x6f6d6564736d70ULL /* "pmsdemo" */

/* the object kept in the pool */
struct greeting {
	uint64_t magic;	  /* DEMO_MAGIC: this is our object */
	uint64_t runs;	  /* how many runs have seen the object */
	int64_t created;  /* when the first run wrote it (time_t) */
	char message[72]; /* NUL-terminated text */
};

/*
 * greeting_init -- persist_alloc_init callback: the first content
 *
 * The library makes these stores durable before the object can be found,
 * so a crash never leaves a half-written greeting behind.
 */
static int
greeting_init(void *ptr, size_t size, void *arg)
{
	struct greeting *g = ptr;
	(void)arg;

	memset(g, 0, size);
	g->magic = DEMO_MAGIC;
	g->runs = 1;
	g->created = (int64_t)time(NULL);
	snprintf(g->message, sizeof(g->message),
		 "Hello from libpmemstore: I outlive the process.");
	return 0;
}

/*
 * open_or_create -- open the pool at path, or create it if absent
 */
static struct pmemstore *
open_or_create(const char *path)
{
	struct pmemstore *ps = pmemstore_open(path, 0);
	if (ps != NULL) {
		printf("opened pool %s\n", path);
		return ps;
	}
	if (errno != ENOENT) {
		/* the library's message names the pool and the reason */
		fprintf(stderr, "demo: %s\n", pmemstore_errormsg());
		return NULL;
	}

	ps = pmemstore_create(path, DEMO_POOL_SIZE, 0644);
	if (ps == NULL) {
		fprintf(stderr, "demo: %s\n", pmemstore_errormsg());
		return NULL;
	}
	printf("created pool %s (%zu MiB)\n", path, DEMO_POOL_SIZE >> 20);
	return ps;
}

/*
 * show -- print the greeting and its identity
 */
static void
show(const char *verb, const uuid_t id, const struct greeting *g, size_t size)
{
	char uuid[37];
	char when[64] = "?";
	time_t t = (time_t)g->created;
	struct tm tm;

	uuid_unparse_lower(id, uuid);
	if (localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s object \"%s\" (uuid %s, %zu bytes at %p)\n", verb, DEMO_NAME,
	       uuid, size, (const void *)g);
	printf("  message: \"%.*s\"\n", (int)sizeof(g->message), g->message);
	printf("  created: %s\n", when);
}

/*
 * main -- open the pool, find or create the greeting, count this run
 */
/* print_device -- what the pool is on, as pmemstore_info says */
static void
print_device(struct pmemstore *ps)
{
	static const char *const backing[] = {
		"?", "device-dax", "file on a DAX file system (MAP_SYNC)",
		"plain file (msync)", "plain file, pmem forced (tests)"};
	struct pmemstore_info info;

	if (pmemstore_info(ps, &info)) {
		fprintf(stderr, "demo: %s\n", pmemstore_errormsg());
		return;
	}
	printf("backing: %s%s%s\n",
	       backing[info.backing < 5 ? info.backing : 0],
	       info.device[0] ? " on " : "", info.device);
	if (info.flags & PMEMSTORE_INFO_BADBLOCKS)
		printf("  bad blocks: %" PRIu64 " range(s), %" PRIu64
		       " page(s) withheld\n",
		       info.bad_ranges, info.pages_bad);
	if (info.flags & PMEMSTORE_INFO_UNSAFE)
		printf("  an unsafe shutdown hit the pool: checked, %" PRIu64
		       " finding(s)\n",
		       info.check_findings);
}

int
main(int argc, char *argv[])
{
	const char *path = argc > 1 ? argv[1] : DEMO_POOL;
	uuid_t id;
	size_t size;
	int ret = 1;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [pool-file]\n", argv[0]);
		return 2;
	}

	struct pmemstore *ps = open_or_create(path);
	if (ps == NULL)
		return 1;
	printf("durability: %s\n",
	       pmemstore_is_pmem(ps)
		       ? "pmem path (CPU cache flush + fence)"
		       : "msync path (not persistent memory; msync instead)");
	print_device(ps);

	/* the same name gives the same UUID in every run and process */
	pmemstore_uuid_from_name(DEMO_NAME, id);

	struct greeting *g = persist_get(ps, id, &size);
	if (g == NULL && errno != ENOENT) {
		fprintf(stderr, "demo: cannot look up \"%s\": %s\n", DEMO_NAME,
			pmemstore_errormsg());
		goto out;
	}

	if (g == NULL) {
		printf("object \"%s\" not found: allocating it\n", DEMO_NAME);
		g = persist_alloc_init(ps, id, sizeof(*g), greeting_init, NULL);
		if (g == NULL) {
			fprintf(stderr, "demo: cannot allocate \"%s\": %s\n",
				DEMO_NAME, pmemstore_errormsg());
			goto out;
		}
		show("created", id, g, sizeof(*g));
		printf("run count is now %" PRIu64 " (first run)\n", g->runs);
		ret = 0;
		goto out;
	}

	if (size < sizeof(*g) || g->magic != DEMO_MAGIC) {
		fprintf(stderr,
			"demo: object \"%s\" in %s is not a demo greeting "
			"(%zu bytes)\n",
			DEMO_NAME, path, size);
		goto out;
	}
	show("found", id, g, size);
	printf("  runs so far: %" PRIu64 "\n", g->runs);

	/*
	 * An aligned 8-byte store is failure-atomic: after a crash the
	 * counter holds either the old or the new value, never a mix.
	 * persist() flushes it and waits until it is durable.
	 */
	g->runs++;
	persist(ps, &g->runs, sizeof(g->runs));
	printf("run count is now %" PRIu64 " (incremented, made durable "
	       "with persist())\n",
	       g->runs);
	ret = 0;

out:
	if (pmemstore_close(ps) != 0) {
		fprintf(stderr, "demo: %s\n", pmemstore_errormsg());
		ret = 1;
	}
	return ret;
}
