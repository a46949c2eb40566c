/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.h -- the check's entry for an open that must check first (an
 * unsafe shutdown while the pool was open); pmemstore_check is public
 */
#ifndef PMS_CHECK_H
#define PMS_CHECK_H 1

#include <stddef.h>
#include <stdint.h>

int pms_check_held(const char *path, int fd, uint64_t *n, uint64_t *nrep,
		   uint64_t *nmedia, char *first, size_t len);

#endif /* PMS_CHECK_H */
