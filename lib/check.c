/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.c -- owns pmemstore_check: the offline structural check and repair
 * of a pool that is not open.
 *
 * SCAFFOLD: the declarations are final; the implementation is being
 * written (issue 3).  Until it lands both entry points fail with ENOSYS.
 */
#include <errno.h>

#include "pmemstore.h"
#include "errors.h"

/* pmemstore_check_report -- public: check (and repair) a closed pool */
int
pmemstore_check_report(const char *path, unsigned flags,
		       int (*report)(const struct pmemstore_finding *f,
				     void *arg),
		       void *arg)
{
	(void)path;
	(void)flags;
	(void)report;
	(void)arg;
	return pms_err(ENOSYS, "pmemstore_check is not implemented yet");
}

/* pmemstore_check -- public: pmemstore_check_report without a callback */
int
pmemstore_check(const char *path, unsigned flags)
{
	return pmemstore_check_report(path, flags, NULL, NULL);
}
