/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmemstore.h -- the public interface of libpmemstore
 *
 * libpmemstore keeps named objects in a pool of persistent memory.  A pool
 * is a file on a DAX file system, a device-dax node, or (slower, by msync)
 * any regular file.  Each object is named by a 128-bit UUID; its address
 * points straight into the mapping.  See pmemstore(7).
 *
 * Errors: functions return NULL or -1 and set errno; pmemstore_errormsg()
 * gives a sentence describing the last error of the calling thread.
 */
#ifndef PMEMSTORE_H
#define PMEMSTORE_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uuid/uuid.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PMEMSTORE_BUILDING)
#define PMEMSTORE_API __attribute__((visibility("default")))
#else
#define PMEMSTORE_API
#endif

#define PMEMSTORE_MAJOR_VERSION 1
#define PMEMSTORE_MINOR_VERSION 4

struct pmemstore;

/* pmemstore_open() flags */
#define PMEMSTORE_RDONLY (1U << 0) /* map read-only, shared lock */

/* persist_alloc() flags */
#define PERSIST_ZERO (1U << 0) /* content zeroed and durable before publish */

/* smallest pool pmemstore_create() accepts */
#define PMEMSTORE_MIN_POOL ((size_t)8 << 20)

/* pool lifecycle */
PMEMSTORE_API struct pmemstore *pmemstore_create(const char *path, size_t size,
						 mode_t mode);
PMEMSTORE_API struct pmemstore *pmemstore_open(const char *path,
					       unsigned flags);
PMEMSTORE_API int pmemstore_close(struct pmemstore *ps);
PMEMSTORE_API int pmemstore_is_pmem(const struct pmemstore *ps);
PMEMSTORE_API const char *pmemstore_errormsg(void);

/* named persistent objects */
PMEMSTORE_API void *persist_alloc(struct pmemstore *ps, const uuid_t id,
				  size_t size, unsigned flags);
PMEMSTORE_API void *
persist_alloc_init(struct pmemstore *ps, const uuid_t id, size_t size,
		   int (*init)(void *ptr, size_t size, void *arg), void *arg);
PMEMSTORE_API void *persist_get(struct pmemstore *ps, const uuid_t id,
				size_t *size);
PMEMSTORE_API int persist_free(struct pmemstore *ps, const uuid_t id);
PMEMSTORE_API int persist_id_of(struct pmemstore *ps, const void *addr,
				uuid_t id);
PMEMSTORE_API int pmemstore_foreach(struct pmemstore *ps,
				    int (*cb)(const uuid_t id, void *ptr,
					      size_t size, void *arg),
				    void *arg);
PMEMSTORE_API void pmemstore_uuid_from_name(const char *name, uuid_t id);

/* statistics: a snapshot of the pool and of the persistence work done */
struct pmemstore_stats {
	uint64_t pages_total;	/* 4 KiB data pages in the pool */
	uint64_t pages_free;	/* pages not in use */
	uint64_t pages_used;	/* pages holding objects or slabs */
	uint64_t objects;	/* live objects */
	uint64_t bytes;		/* sum of the sizes of live objects */
	uint64_t flushes;	/* flush calls (pmem_flush, pmem_memcpy ...) */
	uint64_t flushed_lines; /* 64-byte cache lines flushed */
	uint64_t fences;	/* pmem_drain calls (ordering points) */
	uint64_t msyncs;	/* pmem_msync calls (non-pmem mappings) */
	uint64_t index_pages;	/* pages of the UUID index (since 1.2) */
	/* since 1.3: pages_used counts persistent pages only; a page is
	 * free, persistent (used), volatile or bad */
	uint64_t pages_volatile; /* pages of the volatile heap */
	uint64_t pages_bad;	 /* pages never handed out (device errors) */
	uint64_t volatile_bytes; /* usable bytes of live volatile blocks */
	uint64_t discards;	 /* pages given back to the file system */
	uint64_t reserved[2];
};

#define PMEMSTORE_HAVE_INDEX_PAGES 1
#define PMEMSTORE_HAVE_VOLATILE 1

PMEMSTORE_API int pmemstore_stats(struct pmemstore *ps,
				  struct pmemstore_stats *st);

/*
 * offline check and repair of a pool that is not open (since 1.1), see
 * pmemstore_check(3): 0 when consistent; -1 with errno EUCLEAN when not
 * (or when REPAIR refused: nothing written), ENOTSUP for an unknown
 * format, EWOULDBLOCK when the pool is open, ECANCELED when the callback
 * returned nonzero.  Each finding goes to the callback, if given.
 */
#define PMEMSTORE_CHECK_REPAIR (1U << 0) /* fix what loses no live object */

/* what a finding concerns */
#define PMEMSTORE_FINDING_FORMAT 1     /* not a pool, or a format not known */
#define PMEMSTORE_FINDING_SUPERBLOCK 2 /* a superblock copy is damaged */
#define PMEMSTORE_FINDING_DESCRIPTOR 3 /* a malformed page descriptor */
#define PMEMSTORE_FINDING_SLAB 4       /* slab occupancy against headers */
#define PMEMSTORE_FINDING_RUN 5	       /* a large object's record and run */
#define PMEMSTORE_FINDING_BOUNDS 6     /* an offset or length out of bounds */
#define PMEMSTORE_FINDING_DUPLICATE 7  /* one UUID, two live objects */
#define PMEMSTORE_FINDING_OVERLAP 8    /* two objects share a page */
#define PMEMSTORE_FINDING_INCOMPLETE 9 /* an alloc or free a crash cut short */
#define PMEMSTORE_FINDING_ORPHAN 10    /* pages in use by no live object */
#define PMEMSTORE_FINDING_INDEX 11     /* the UUID index (since 1.2) */
#define PMEMSTORE_FINDING_MEDIA 12     /* a bad block, media error (1.4) */

struct pmemstore_finding {
	unsigned kind;	     /* PMEMSTORE_FINDING_* */
	int repairable;	     /* REPAIR can fix it, losing no live object */
	int repaired;	     /* REPAIR was given and fixed it */
	uint64_t offset;     /* pool offset of the structure concerned */
	const char *message; /* a sentence; valid during the callback only */
};

PMEMSTORE_API int pmemstore_check(const char *path, unsigned flags);
PMEMSTORE_API int pmemstore_check_report(
	const char *path, unsigned flags,
	int (*report)(const struct pmemstore_finding *f, void *arg), void *arg);

/*
 * the volatile heap (since 1.3), see pmemstore_malloc(3): memory from the
 * pool's free pages that does not survive a close or a crash; jemalloc
 * arenas of the pool's own, 0 fences per call.  Pointers are valid until
 * pmemstore_close.  NULL with errno ENOMEM when no page is free.
 */
PMEMSTORE_API void *pmemstore_malloc(struct pmemstore *ps, size_t size);
PMEMSTORE_API void *pmemstore_calloc(struct pmemstore *ps, size_t nmemb,
				     size_t size);
PMEMSTORE_API void *pmemstore_realloc(struct pmemstore *ps, void *ptr,
				      size_t size);
PMEMSTORE_API void *pmemstore_aligned_alloc(struct pmemstore *ps,
					    size_t alignment, size_t size);
PMEMSTORE_API void pmemstore_free(struct pmemstore *ps, void *ptr);
PMEMSTORE_API size_t pmemstore_malloc_usable_size(struct pmemstore *ps,
						  void *ptr);

/*
 * what the pool is on (since 1.4), see pmemstore_info(3): the backing,
 * the device (through libndctl/libdaxctl where the library was built
 * with them), its bad blocks, unsafe-shutdown counting, and what this
 * open found.  Strings are empty where unknown.
 */
/* backing: what the pool's mapping is */
#define PMEMSTORE_BACKING_DEVDAX 1 /* a device-dax node /dev/daxN.M */
#define PMEMSTORE_BACKING_FSDAX 2  /* a DAX file system's file, MAP_SYNC */
#define PMEMSTORE_BACKING_FILE 3   /* any other file: durability by msync */
#define PMEMSTORE_BACKING_FORCED 4 /* not DAX; PMEM_IS_PMEM_FORCE=1 (tests) */

/* flags */
#define PMEMSTORE_INFO_NDCTL (1U << 0)	   /* built with libndctl/libdaxctl */
#define PMEMSTORE_INFO_MAP_SYNC (1U << 1)  /* device-dax, or MAP_SYNC */
#define PMEMSTORE_INFO_BADBLOCKS (1U << 2) /* bad blocks read at open */
#define PMEMSTORE_INFO_USC (1U << 3)	   /* unsafe-shutdown count known */
#define PMEMSTORE_INFO_UNSAFE (1U << 4)	   /* unsafe shutdown while open */
#define PMEMSTORE_INFO_CHECKED (1U << 5)   /* so this open ran a check */
#define PMEMSTORE_INFO_DIRTY (1U << 6)	   /* not closed cleanly last time */
#define PMEMSTORE_INFO_RDONLY (1U << 7)	   /* opened PMEMSTORE_RDONLY */

struct pmemstore_info {
	unsigned backing;   /* PMEMSTORE_BACKING_* */
	unsigned flags;	    /* PMEMSTORE_INFO_* */
	uint64_t pool_size; /* bytes of the pool */
	/* device-dax: the device's alignment (2 MiB or 1 GiB), which the
	 * mapping honours; otherwise the mapping's alignment (up to 2 MiB) */
	uint64_t align;
	char device[32];     /* "pmem0" (under the file system), "dax1.0" */
	char region[32];     /* "region0" */
	char ns[32];	     /* "namespace0.0" */
	uint64_t bad_ranges; /* bad-block ranges over the pool at open */
	uint64_t bad_bytes;  /* their bytes in the pool */
	uint64_t pages_bad;  /* data pages withheld: never handed out */
	/* bad data pages still holding objects or the index (an object on
	 * one fails persist_get with EIO) */
	uint64_t pages_bad_used;
	uint64_t usc;		   /* unsafe-shutdown count now (INFO_USC) */
	uint64_t usc_recorded;	   /* the count at the last read-write open */
	uint64_t check_findings;   /* INFO_CHECKED: what the check found */
	uint64_t check_repairable; /* of which recovery repairs */
	uint64_t pages_total;	   /* as pmemstore_stats */
	uint64_t objects;
	uint64_t bytes;
	uint64_t reserved[16];
};

PMEMSTORE_API int pmemstore_info(struct pmemstore *ps,
				 struct pmemstore_info *info);

/* durability of the application's own stores */
PMEMSTORE_API void persist_flush(struct pmemstore *ps, const void *addr,
				 size_t len);
PMEMSTORE_API void persist_fence(struct pmemstore *ps);
PMEMSTORE_API void persist(struct pmemstore *ps, const void *addr, size_t len);
PMEMSTORE_API void *persist_memcpy(struct pmemstore *ps, void *dst,
				   const void *src, size_t len);
PMEMSTORE_API void *persist_memset(struct pmemstore *ps, void *dst, int c,
				   size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PMEMSTORE_H */
