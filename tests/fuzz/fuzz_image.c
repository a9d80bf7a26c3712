/*
 * fuzz_image — libFuzzer target for the image reader: every input goes through all three
 * decoders (tcp-stream, files.img, manifest), whatever its magic says, plus the kind sniffer.
 * The reader must return an error, never crash, hang, leak or allocate beyond the input's size
 * (run with -malloc_limit_mb to enforce the last one).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_conn c;
	struct image_set set;
	struct image_manifest m;

	(void)image_kind(data, size);
	memset(&c, 0, sizeof(c));
	if (image_tcp_stream_decode(data, size, &c) == 0)
		image_conn_clear(&c);
	if (image_files_decode(data, size, &set) == 0)
		image_set_free(&set);
	if (image_manifest_decode(data, size, &m) == 0)
		image_manifest_free(&m);
	return 0;
}
