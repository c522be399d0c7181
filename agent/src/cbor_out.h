/*
 * cbor_out.h - a minimal CBOR (RFC 8949) writer into a caller buffer: the
 * subset reports use (unsigned integers, byte and text strings, definite
 * arrays and maps, true). Private to libvigil.
 *
 * Writes past the capacity set `overflow` and write nothing; the caller
 * checks once after a group of writes and rolls back to a saved position.
 */
#ifndef VIGIL_CBOR_OUT_H
#define VIGIL_CBOR_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;
    size_t capacity;
    size_t pos;
    bool overflow;
} cbor_out_t;

#define CBOR_MAJOR_UINT  0u
#define CBOR_MAJOR_BYTES 2u
#define CBOR_MAJOR_TEXT  3u
#define CBOR_MAJOR_ARRAY 4u
#define CBOR_MAJOR_MAP   5u
#define CBOR_TRUE        0xf5u

void cbor_out_init(cbor_out_t *w, uint8_t *buf, size_t capacity);
void cbor_put_head(cbor_out_t *w, unsigned major, uint64_t value);
void cbor_put_uint(cbor_out_t *w, uint64_t value);
void cbor_put_bytes(cbor_out_t *w, const uint8_t *bytes, size_t len);
void cbor_put_text(cbor_out_t *w, const char *text, size_t len);
void cbor_put_true(cbor_out_t *w);

/* Bytes the head of `value` takes (1, 2, 3, 5 or 9). */
size_t cbor_head_size(uint64_t value);

/*
 * Writes the head of an array or map of `count` items at `at`, where
 * `reserved` bytes were set aside before items were written, and moves the
 * items down over the unused part of the reservation.
 */
void cbor_patch_head(cbor_out_t *w, size_t at, size_t reserved, unsigned major, uint64_t count);

#endif
