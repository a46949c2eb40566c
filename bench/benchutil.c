/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * benchutil.c -- owns the helpers bench/alloc_free.c and bench/allocbench
 * share: parsing sizes on the command line
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"

/*
 * bench_parse_size -- a byte count with an optional K, M, G or T suffix
 * (powers of 1024), itself optionally followed by "B" or "iB"
 */
int
bench_parse_size(const char *s, uint64_t *v)
{
	static const char units[] = "kmgt";
	unsigned long long n;
	const char *u;
	char *end;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end && (u = strchr(units, *end | 0x20)) != NULL) {
		unsigned shift = 10 * (unsigned)(u - units + 1);

		if (n > (~0ULL >> shift))
			return -1;
		n <<= shift;
		end++;
	}
	if (*end != '\0' && strcmp(end, "iB") != 0 && strcmp(end, "B") != 0)
		return -1;
	*v = n;
	return 0;
}
