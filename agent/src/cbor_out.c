/*
 * cbor_out.c - the CBOR writer behind report encoding. Shortest-form
 * integer heads only, so any decoder reads the output and equal inputs give
 * equal bytes. Never writes past the capacity it was given.
 */
#include <string.h>

#include "cbor_out.h"

void cbor_out_init(cbor_out_t *w, uint8_t *buf, size_t capacity)
{
    w->buf = buf;
    w->capacity = capacity;
    w->pos = 0;
    w->overflow = false;
}

size_t cbor_head_size(uint64_t value)
{
    if (value < 24)
        return 1;
    if (value <= 0xffu)
        return 2;
    if (value <= 0xffffu)
        return 3;
    if (value <= 0xffffffffu)
        return 5;
    return 9;
}

static void write_head(uint8_t *out, unsigned major, uint64_t value, size_t size)
{
    uint8_t initial = (uint8_t)(major << 5);
    switch (size) {
    case 1:
        out[0] = (uint8_t)(initial | value);
        return;
    case 2:
        out[0] = (uint8_t)(initial | 24u);
        break;
    case 3:
        out[0] = (uint8_t)(initial | 25u);
        break;
    case 5:
        out[0] = (uint8_t)(initial | 26u);
        break;
    default:
        out[0] = (uint8_t)(initial | 27u);
        break;
    }
    for (size_t i = 1; i < size; i++)
        out[i] = (uint8_t)(value >> (8u * (size - 1u - i)));
}

void cbor_put_head(cbor_out_t *w, unsigned major, uint64_t value)
{
    size_t size = cbor_head_size(value);
    if (w->overflow || w->capacity - w->pos < size) {
        w->overflow = true;
        return;
    }
    write_head(w->buf + w->pos, major, value, size);
    w->pos += size;
}

void cbor_put_uint(cbor_out_t *w, uint64_t value)
{
    cbor_put_head(w, CBOR_MAJOR_UINT, value);
}

static void put_string(cbor_out_t *w, unsigned major, const void *data, size_t len)
{
    /* Head and bytes fit together or nothing is written. */
    if (w->overflow || w->capacity - w->pos < cbor_head_size(len) + len) {
        w->overflow = true;
        return;
    }
    cbor_put_head(w, major, len);
    if (len > 0)
        memcpy(w->buf + w->pos, data, len);
    w->pos += len;
}

void cbor_put_bytes(cbor_out_t *w, const uint8_t *bytes, size_t len)
{
    put_string(w, CBOR_MAJOR_BYTES, bytes, len);
}

void cbor_put_text(cbor_out_t *w, const char *text, size_t len)
{
    put_string(w, CBOR_MAJOR_TEXT, text, len);
}

void cbor_put_true(cbor_out_t *w)
{
    if (w->overflow || w->pos >= w->capacity) {
        w->overflow = true;
        return;
    }
    w->buf[w->pos++] = CBOR_TRUE;
}

void cbor_patch_head(cbor_out_t *w, size_t at, size_t reserved, unsigned major, uint64_t count)
{
    size_t size = cbor_head_size(count);
    size_t items = w->pos - (at + reserved);
    write_head(w->buf + at, major, count, size);
    if (size != reserved) {
        memmove(w->buf + at + size, w->buf + at + reserved, items);
        w->pos -= reserved - size;
    }
}
