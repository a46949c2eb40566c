/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * afl_main.c -- owns the AFL++ driver of the fuzz entry point: a
 * persistent-mode loop over shared-memory test cases under afl-fuzz, and
 * a replay of the files named on the command line otherwise (CI runs each
 * corpus file through it).  Built with afl-clang-fast or afl-clang-lto.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* read(), used by the AFL++ macros */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef __AFL_FUZZ_TESTCASE_LEN
/* a plain compiler: the replay mode only */
#define __AFL_FUZZ_INIT()
#define __AFL_INIT()
#define __AFL_LOOP(n) 0
#define __AFL_FUZZ_TESTCASE_BUF ((unsigned char *)NULL)
#define __AFL_FUZZ_TESTCASE_LEN 0
#endif

__AFL_FUZZ_INIT();

/* replay -- run one file through the entry point; 0, or -1 unreadable */
static int
replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (nb == NULL) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

/* main -- afl-fuzz's persistent loop, or replay of argv[1..] */
int
main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		int bad = 0;

		for (int i = 1; i < argc; i++)
			bad |= replay(argv[i]) != 0;
		printf("afl driver: replayed %d inputs\n", argc - 1);
		return bad;
	}
#ifdef __AFL_HAVE_MANUAL_CONTROL
	__AFL_INIT();
	unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;

	while (__AFL_LOOP(100000))
		LLVMFuzzerTestOneInput(buf, (size_t)__AFL_FUZZ_TESTCASE_LEN);
	return 0;
#else
	fprintf(stderr,
		"usage: %s FILE... (built without AFL++: replay "
		"only)\n",
		argv[0]);
	return 2;
#endif
}
