/*
 * image — checkpoint images: the repair engine's saved connections as files, CRIU-compatible
 * where CRIU has a format (Debian's `crit decode` reads them), plus sockshift's own manifest.
 *
 * A checkpoint directory (0700, files 0600):
 *
 *	sockshift-manifest.img   format version, stack name, fd numbers, what CRIU has no field
 *	                         for, and size + CRC32C of every other file; ends with its own CRC
 *	files.img                CRIU file_entry{type=INETSK, isk=inet_sk_entry} per socket
 *	tcp-stream-<id hex>.img  CRIU tcp_stream_entry + receive queue + send queue bytes,
 *	                         one per connection (listeners have none)
 *
 * Every CRIU image is [u32 0x54564319 IMG_COMMON][u32 type magic] then [u32 size][protobuf]...
 * in host byte order (little-endian here). The manifest uses the same framing with its own magic
 * (IMAGE_MAGIC_MANIFEST), which crit does not know.
 *
 *	struct image_set set = { .stack = "kernel" };     fill set.conns (owned by the set)
 *	image_write_dir("/var/lib/x/ckpt1", &set);        temp dir + fsync + rename: all or nothing
 *	image_read_dir("/var/lib/x/ckpt1", &back);        validates everything; -EBADMSG & co
 *	image_set_free(&back);
 *
 * Reading treats every byte as hostile: magics, sizes (no entry over IMAGE_MAX_ENTRY, no queue
 * over IMAGE_MAX_QUEUE, no file over IMAGE_MAX_FILE), required fields, queue lengths against the
 * payload actually present, field ranges (window scale <= 14, states, families, address
 * lengths), and the manifest's checksums. Errors are -errno values (-EBADMSG for a malformed
 * image, -EPROTO for a version we don't read, -EILSEQ for a checksum mismatch) with one log line
 * naming the file and the problem. Allocation is bounded by the file's size.
 *
 * protobuf-c stays inside image*.c; this header speaks the repair engine's types.
 */
#ifndef SOCKSHIFT_IMAGE_H
#define SOCKSHIFT_IMAGE_H

#include <stddef.h>     /* size_t */
#include <stdint.h>     /* uint32_t */
#include "repair.h"     /* struct repair_data, union repair_addr */

#define IMAGE_API __attribute__((visibility("default")))

#define IMAGE_FORMAT_VERSION 2      /* written; 2 adds the stack of each connection */
#define IMAGE_FORMAT_VERSION_MIN 1  /* oldest read: format 1 has the default stack only */
#define IMAGE_MAGIC_COMMON     0x54564319u
#define IMAGE_MAGIC_TCP_STREAM 0x51465506u
#define IMAGE_MAGIC_FILES      0x56303138u
#define IMAGE_MAGIC_MANIFEST   0x5353484du   /* "MHSS": sockshift manifest */

#define IMAGE_MAX_ENTRY  (1u << 20)      /* one protobuf entry */
#define IMAGE_MAX_QUEUE  (256u << 20)    /* one socket queue */
#define IMAGE_MAX_FILE   (600u << 20)    /* one image file */
#define IMAGE_MAX_CONNS  (1u << 20)

#define IMAGE_MANIFEST "sockshift-manifest.img"
#define IMAGE_FILES    "files.img"

/* One socket of the checkpoint. */
struct image_conn {
	uint32_t id;            /* unique in the set (the socket's inode); names the tcp-stream */
	int32_t fd;             /* the program's fd number */
	int listening;          /* 1: a listener record (backlog, self, data.opts only) */
	uint32_t backlog;
	union repair_addr self, peer;
	struct repair_data data;
	void *inq, *outq;       /* data.inq_len / data.outq_len bytes, malloc'd, owned here */
	char stack[64];         /* the name of the stack it lived on (manifest, format 2);
				 * "" = not recorded (format 1 images) */
};

/* A socket the checkpoint left out (non-TCP, unrepairable state, ...). */
struct image_skipped {
	int32_t fd;
	char reason[96];
};

struct image_set {
	uint32_t format_version;   /* filled by the reader */
	char stack[64];            /* the process's default stack, e.g. "kernel"; each
				    * connection's own is conns[i].stack */
	size_t nconns;
	struct image_conn *conns;  /* malloc'd array, owned */
	size_t nskipped;
	struct image_skipped *skipped;  /* malloc'd array, owned */
	char netlock[64];          /* nftables table holding the connections ("" = none) */
	int32_t pid;               /* the checkpointed process, 0 if unknown */
};

IMAGE_API int image_write_dir(const char *dir, const struct image_set *set);
IMAGE_API int image_read_dir(const char *dir, struct image_set *out);
IMAGE_API void image_set_free(struct image_set *set);

/* Single images in memory (the fuzz target and `sockshift show FILE` use these). */
enum image_kind { IMAGE_KIND_UNKNOWN, IMAGE_KIND_TCP_STREAM, IMAGE_KIND_FILES, IMAGE_KIND_MANIFEST };
IMAGE_API enum image_kind image_kind(const void *buf, size_t len);
/* tcp-stream: fills c->data (v1 fields + unsq/window) and c->inq/c->outq (copies, owned by c). */
IMAGE_API int image_tcp_stream_decode(const void *buf, size_t len, struct image_conn *c);
IMAGE_API int image_tcp_stream_encode(const struct image_conn *c, void **buf, size_t *len);
/* files.img: one image_conn per inet entry (addresses, state, options, no queues). */
IMAGE_API int image_files_decode(const void *buf, size_t len, struct image_set *out);
/* manifest: fills out->stack, format_version and the conns' fd, stack + extra options, by id. */
struct image_manifest_file { char name[64]; uint64_t size; uint32_t crc32c; };
struct image_manifest {
	uint32_t format_version;
	char stack[64];
	size_t nfiles;
	struct image_manifest_file *files;
	size_t nconns;
	struct image_conn *conns;   /* id, fd, data.state, data.opts extras only */
	size_t nskipped;
	struct image_skipped *skipped;
	char netlock[64];
	int32_t pid;
};
IMAGE_API int image_manifest_decode(const void *buf, size_t len, struct image_manifest *m);
IMAGE_API void image_manifest_free(struct image_manifest *m);
IMAGE_API void image_conn_clear(struct image_conn *c);

/* Reads a whole file (at most IMAGE_MAX_FILE bytes; O_NOFOLLOW) into *buf (free()). */
IMAGE_API int image_load(const char *path, void **buf, size_t *len);

IMAGE_API uint32_t image_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
