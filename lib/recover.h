/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * recover.h -- open-time recovery
 */
#ifndef PMS_RECOVER_H
#define PMS_RECOVER_H 1

struct pmemstore;

int pms_recover(struct pmemstore *ps);

#endif /* PMS_RECOVER_H */
