/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_tool.c -- owns the converters between raw pool files and fuzz
 * inputs (fuzz_input.h), and the generator of the seed corpus:
 *
 *   fuzz_tool encode RAW OUT [FLAGS [OPS]]  raw pool file -> input
 *   fuzz_tool decode IN RAW                 input -> raw pool file
 *   fuzz_tool seeds DIR                     write the seed corpus
 *   fuzz_tool selftest                      encode/decode round trips
 *
 * FLAGS is a number (FZ_F_*), OPS a hex string of script bytes.  decode
 * applies the checksum fix when PMS_FUZZ_FIX_CHECKSUMS=1, as the harness
 * does.  seeds makes pools in PMEMSTORE_TEST_DIR (default /dev/shm).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "pmemstore.h"
#include "pool.h"
#include "checksum.h"
#include "fuzz_input.h"

/* a growing byte buffer */
struct buf {
	uint8_t *p;
	size_t n, cap;
};

/* put -- append len bytes to b (exits when out of memory) */
static void
put(struct buf *b, const void *src, size_t len)
{
	if (b->n + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->n + len)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL) {
			perror("realloc");
			exit(1);
		}
		b->cap = cap;
	}
	memcpy(b->p + b->n, src, len);
	b->n += len;
}

/* a patch made by hand: offset, bytes */
struct hpatch {
	uint64_t off;
	const void *bytes;
	size_t len;
};

/*
 * encode_image -- the input for a file image of size bytes (claimed
 * file_size claim): its non-zero runs as patches (runs closer than a
 * patch header merged), then the extra patches, then the script
 */
static void
encode_image(struct buf *out, unsigned flags, uint64_t claim,
	     const uint8_t *img, uint64_t size, const struct hpatch *extra,
	     size_t nextra, const uint8_t *ops, size_t opslen)
{
	uint8_t h[FZ_PATCH_HDR], hdr[FZ_HDR_SIZE];
	size_t count_at, npatches = 0;
	uint64_t i = 0;

	hdr[0] = (uint8_t)flags;
	fz_put64(hdr + 1, claim);
	fz_put16(hdr + 9, 0);
	count_at = out->n + 9;
	put(out, hdr, sizeof(hdr));
	while (img && i < size) {
		if (img[i] == 0) {
			i++;
			/* whole zero words at a time */
			while ((i & 7) == 0 && i + 8 <= size &&
			       *(const uint64_t *)(img + i) == 0)
				i += 8;
			continue;
		}
		uint64_t start = i, end = i, gap = 0;

		while (i < size && end - start < FZ_PATCH_MAX) {
			if (img[i]) {
				end = i + 1;
				gap = 0;
			} else if (++gap > 2 * FZ_PATCH_HDR) {
				break;
			}
			i++;
		}
		if (end - start > FZ_PATCH_MAX)
			end = start + FZ_PATCH_MAX;
		i = end;
		fz_put64(h, start);
		fz_put16(h + 8, (uint16_t)(end - start));
		put(out, h, sizeof(h));
		put(out, img + start, end - start);
		npatches++;
	}
	for (size_t k = 0; k < nextra; k++) {
		fz_put64(h, extra[k].off);
		fz_put16(h + 8, (uint16_t)extra[k].len);
		put(out, h, sizeof(h));
		put(out, extra[k].bytes, extra[k].len);
		npatches++;
	}
	if (npatches > 0xffff) {
		fprintf(stderr, "fuzz_tool: %zu patches: too many\n", npatches);
		exit(1);
	}
	fz_put16(out->p + count_at, (uint16_t)npatches);
	if (opslen)
		put(out, ops, opslen);
}

/* map_file -- map a whole file read-only (NULL and *size 0 if empty) */
static uint8_t *
map_file(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0 || fstat(fd, &st)) {
		perror(path);
		exit(1);
	}
	*size = (uint64_t)st.st_size;
	if (*size == 0) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror(path);
		exit(1);
	}
	return p;
}

/* write_file -- write len bytes to path */
static void
write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || (len && fwrite(p, 1, len, f) != len) || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* hexbytes -- decode a hex string into b */
static void
hexbytes(struct buf *b, const char *s)
{
	while (s[0] && s[1]) {
		unsigned v;

		if (sscanf(s, "%2x", &v) != 1)
			break;
		uint8_t c = (uint8_t)v;

		put(b, &c, 1);
		s += 2;
	}
}

/* cmd_encode -- raw pool file -> fuzz input */
static int
cmd_encode(int argc, char **argv)
{
	uint64_t size;
	uint8_t *img;
	struct buf ops = {0}, out = {0};
	unsigned flags = FZ_F_REOPEN | FZ_F_REPAIR;

	if (argc < 2)
		return 2;
	img = map_file(argv[0], &size);
	if (argc > 2)
		flags = (unsigned)strtoul(argv[2], NULL, 0);
	if (argc > 3)
		hexbytes(&ops, argv[3]);
	encode_image(&out, flags, size, img, size, NULL, 0, ops.p, ops.n);
	write_file(argv[1], out.p, out.n);
	free(out.p);
	free(ops.p);
	if (img)
		munmap(img, size);
	return 0;
}

/* cmd_decode -- fuzz input -> raw pool file (as the harness builds it) */
static int
cmd_decode(int argc, char **argv)
{
	uint64_t size;
	uint8_t *data;
	struct fz_input in;
	const char *s = getenv("PMS_FUZZ_FIX_CHECKSUMS");
	int fd;

	if (argc < 2)
		return 2;
	data = map_file(argv[0], &size);
	fz_decode(data, size, FZ_DEFAULT_MAX_SIZE, &in);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fz_materialize(fd, &in, s && *s && strcmp(s, "0"))) {
		perror(argv[1]);
		return 1;
	}
	close(fd);
	printf("%s: flags 0x%x, file %llu bytes (claimed %llu), %zu "
	       "patches, %zu ops\n",
	       argv[1], in.flags, (unsigned long long)in.size,
	       (unsigned long long)in.claimed_size, in.npatches, in.nops);
	if (data)
		munmap(data, size);
	return 0;
}

#include "fuzz_seeds.c" /* the seed generator, same unit */

/* cmd_selftest -- every seed decodes back to its image */
static int
cmd_selftest(void)
{
	return seeds_selftest();
}

/* main -- dispatch */
int
main(int argc, char **argv)
{
	int ret = 2;

	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	if (argc >= 2 && strcmp(argv[1], "encode") == 0)
		ret = cmd_encode(argc - 2, argv + 2);
	else if (argc >= 2 && strcmp(argv[1], "decode") == 0)
		ret = cmd_decode(argc - 2, argv + 2);
	else if (argc >= 3 && strcmp(argv[1], "seeds") == 0)
		ret = seeds_write(argv[2]);
	else if (argc >= 2 && strcmp(argv[1], "selftest") == 0)
		ret = cmd_selftest();
	if (ret == 2)
		fprintf(stderr,
			"usage: fuzz_tool encode RAW OUT [FLAGS [OPSHEX]]\n"
			"       fuzz_tool decode IN RAW\n"
			"       fuzz_tool seeds DIR\n"
			"       fuzz_tool selftest\n");
	return ret;
}
