/*
 * image_int — shared by the image*.c files only: the CRIU image framing (magics, size-prefixed
 * protobuf entries) as a bounded reader and a growable writer.
 */
#ifndef SOCKSHIFT_IMAGE_INT_H
#define SOCKSHIFT_IMAGE_INT_H

#include "image.h"
#include "log.h"

struct image_rd {
	const uint8_t *p;
	size_t len, off;
	const char *what;     /* for error messages: "tcp-stream", "files.img", ... */
};

struct image_wr {
	uint8_t *p;
	size_t len, cap;
	int err;              /* sticky -ENOMEM / -EFBIG */
};

int image_rd_magic(struct image_rd *r, uint32_t type);
/* Next entry: pb and n point into the buffer. 0, -ENODATA at a clean end, -EBADMSG. */
int image_rd_entry(struct image_rd *r, const uint8_t **pb, size_t *n);
/* -EBADMSG with a log line naming the image. */
int image_bad(const struct image_rd *r, const char *why);

void image_wr_bytes(struct image_wr *w, const void *p, size_t n);
void image_wr_u32(struct image_wr *w, uint32_t v);
void image_wr_magic(struct image_wr *w, uint32_t type);
/* Reserves room for a size-prefixed entry of n bytes; returns where to pack it (or NULL). */
uint8_t *image_wr_entry(struct image_wr *w, size_t n);

int image_files_encode(const struct image_set *set, void **buf, size_t *len);
int image_manifest_encode(const struct image_set *set, const struct image_manifest_file *files,
			  size_t nfiles, void **buf, size_t *len);

#endif
