/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_input.h -- the compact encoding of a fuzzed pool file and its
 * script of operations, shared by the fuzz harness and fuzz_tool.
 *
 * A pool is at least 8 MiB and mostly zero, so an input does not carry the
 * file; it carries how to build it (all integers little-endian):
 *
 *   u8   flags      FZ_F_* below
 *   u64  file_size  bytes of the file to make (clamped to fz_max_size)
 *   u16  npatches
 *   npatches x { u64 offset; u16 len; u8 bytes[len] }   written over zeros
 *   rest: the script, FZ_OP_SIZE bytes per operation (at most FZ_MAX_OPS)
 *
 * Any byte string decodes: a field cut short by the end of the input reads
 * as zero (so the empty input is a zero-length file), a patch cut short
 * keeps the bytes there are, and a patch beyond the end of the file is cut
 * at it.
 */
#ifndef PMS_FUZZ_INPUT_H
#define PMS_FUZZ_INPUT_H 1

#include <stddef.h>
#include <stdint.h>

#define FZ_F_RDONLY 0x01    /* open the pool read-only for the script */
#define FZ_F_REPAIR 0x02    /* check with REPAIR a copy, then open it */
#define FZ_F_REOPEN 0x04    /* after the script, reopen and compare */
#define FZ_F_KEEP_SB_B 0x08 /* checksum mode: leave copy B (checksum, clean) */
#define FZ_F_KEEP_IDS 0x10  /* checksum mode: leave identity checks */

#define FZ_HDR_SIZE 11 /* flags, file_size, npatches */
#define FZ_PATCH_HDR 10
#define FZ_PATCH_MAX 0xffff
#define FZ_OP_SIZE 4
#define FZ_MAX_OPS 32

/* largest file made by default; PMS_FUZZ_MAX_SIZE overrides */
#define FZ_DEFAULT_MAX_SIZE (128ULL << 20)

struct fz_patch {
	uint64_t off;
	const uint8_t *bytes;
	size_t len;
};

struct fz_input {
	unsigned flags;
	uint64_t claimed_size;	/* as encoded */
	uint64_t size;		/* as made: claimed, clamped */
	size_t npatches;	/* decoded (may be fewer than encoded) */
	const uint8_t *patches; /* start of the first patch record */
	size_t patches_len;
	const uint8_t *ops;
	size_t nops;
};

/* fz_decode -- parse data (never fails; see above) */
void fz_decode(const uint8_t *data, size_t len, uint64_t max_size,
	       struct fz_input *in);

/* fz_patch_at -- the i-th patch; *pos walks the records (start at 0) */
int fz_patch_next(const struct fz_input *in, size_t *pos, struct fz_patch *p);

/*
 * fz_materialize -- make fd the file in describes: truncate to 0, size,
 * write the patches; with fix_checksums, then recompute the superblock
 * checksums and the identity checks of what the patched descriptors
 * point at.  0 or -1 (errno).
 */
int fz_materialize(int fd, const struct fz_input *in, int fix_checksums);

/* fz_fix_checksums -- the checksum-fixing step alone, on a mapped image */
void fz_fix_checksums(uint8_t *img, uint64_t size, unsigned flags,
		      const uint64_t *pages, size_t npages);

/*
 * fz_uuid -- the UUID a script names with k < 128; the seed generator
 * names its objects the same way so that scripts find them
 */
static inline void
fz_uuid(unsigned k, uint8_t id[16])
{
	for (int i = 0; i < 16; i++)
		id[i] = 0;
	id[0] = (uint8_t)k;
	id[15] = 0xf5;
}

/* script operations: op byte % FZ_NOPS, then a (u8) and b (u16) */
enum fz_op {
	FZ_OP_ALLOC,	  /* id a, size b; PERSIST_ZERO if op & 0x08 */
	FZ_OP_ALLOC_INIT, /* id a, size b; fill op >> 4; fail if op & 0x08 */
	FZ_OP_GET,	  /* id a */
	FZ_OP_FREE,	  /* id a */
	FZ_OP_ID_OF,	  /* address chosen by a and b */
	FZ_OP_FOREACH,	  /* walk and verify every object */
	FZ_OP_STATS,	  /* stats against a walk */
	FZ_OP_WRITE,	  /* persist_memset object a with byte b */
	FZ_NOPS
};

/* little-endian helpers */
void fz_put16(uint8_t *p, uint16_t v);
void fz_put64(uint8_t *p, uint64_t v);

#endif /* PMS_FUZZ_INPUT_H */
