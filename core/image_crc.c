/*
 * image_crc — CRC-32C (Castagnoli, reflected 0x82F63B78), the checksum of every image file in
 * the manifest. Table-driven, table built on first use; image_crc32c(0, ...) starts a new sum
 * and the result of one call can be passed as crc to continue it.
 */
#include <pthread.h>

#include "image.h"

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[i] = c;
	}
}

uint32_t image_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&table_once, table_init);
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
