/*
 * vector_data.h - the shared test vectors (proto/vectors/NAME.vec) as C
 * data, for firmware without a file system. tools/vec2c.py generates the
 * definitions at build time; one step per line of the vector, in order, with
 * the meaning tests/encoder/vector_runner.c gives it.
 */
#ifndef VECTOR_DATA_H
#define VECTOR_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

typedef enum {
    VEC_SETUP,       /* ref: vec_setup_t; vigil_init */
    VEC_SYSINFO,     /* ref: vigil_sysinfo_t, all fields set so far */
    VEC_LISTENER,    /* ref: vigil_listener_t, appended to the listener list */
    VEC_IN,          /* vigil_observe(IN, bytes, size) */
    VEC_OUT,
    VEC_HEADERS_IN,  /* vigil_observe_headers(IN, bytes, size, length) */
    VEC_HEADERS_OUT,
    VEC_POLL,        /* vigil_poll, then every report in the outbox is written */
    VEC_FLUSH
} vec_op_t;

typedef struct {
    const char *device_id;
    uint32_t boot_id;
    uint32_t now;
    uint32_t interval_s;
    uint32_t max_message_size;
} vec_setup_t;

typedef struct {
    uint8_t op;          /* vec_op_t */
    uint32_t now;
    uint32_t length;     /* the datagram's length (observe: = size) */
    uint32_t offset;     /* of the captured bytes in vec_bytes */
    uint32_t size;       /* captured bytes */
    const void *ref;
} vec_step_t;

typedef struct {
    const char *name;
    const vec_step_t *steps;
    size_t step_count;
} vec_vector_t;

extern const uint8_t vec_bytes[];
extern const vec_vector_t vec_vectors[];
extern const size_t vec_vector_count;

#endif /* VECTOR_DATA_H */
