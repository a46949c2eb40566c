/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * errors.c -- owns the per-thread error message of pmemstore_errormsg()
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "pmemstore.h"
#include "errors.h"

static __thread char errmsg[512];

/*
 * pms_err -- record a sentence for the caller of the failing function and
 * set errno; the message is formatted first so that errno survives it
 */
int
pms_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

/*
 * pmemstore_errormsg -- the last error message of the calling thread
 */
const char *
pmemstore_errormsg(void)
{
	return errmsg;
}
