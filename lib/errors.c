/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * errors.c -- owns the per-thread error message of pmemstore_errormsg()
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
 * pms_err_also -- say why a failure reported below matters to the
 * caller: "<message>; <clause>", errno untouched
 */
int
pms_err_also(const char *fmt, ...)
{
	int err = errno;
	size_t len = strnlen(errmsg, sizeof(errmsg));
	va_list ap;

	if (len + 2 < sizeof(errmsg)) {
		errmsg[len++] = ';';
		errmsg[len++] = ' ';
		va_start(ap, fmt);
		vsnprintf(errmsg + len, sizeof(errmsg) - len, fmt, ap);
		va_end(ap);
	}
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
