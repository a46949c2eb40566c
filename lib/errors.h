/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * errors.h -- the thread-local error message behind pmemstore_errormsg()
 */
#ifndef PMS_ERRORS_H
#define PMS_ERRORS_H 1

/* pms_err -- set errno to err and the thread's message; returns -1 */
int pms_err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * pms_err_also -- append "; " and a formatted clause to the thread's
 * message, keeping errno; returns -1
 */
int pms_err_also(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PMS_ERRORS_H */
