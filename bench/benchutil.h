/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * benchutil.h -- small helpers both benchmark programs use
 */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H 1

#include <stdint.h>

/* bench_parse_size -- "64", "4K", "1MiB", "2G", "1TB": 0, or -1 if bad */
int bench_parse_size(const char *s, uint64_t *v);

#endif /* BENCHUTIL_H */
