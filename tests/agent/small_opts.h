/*
 * small_opts.h - a deliberately tiny libvigil configuration, so that the
 * tests reach every limit (full flow tables, one local address, two followed
 * fragments, the smallest message, an outbox of two reports) in a few
 * packets. Used with -DVIGIL_OPTS_FILE="small_opts.h" by vigil_small.
 */
#ifndef VIGIL_TEST_SMALL_OPTS_H
#define VIGIL_TEST_SMALL_OPTS_H

#define VIGIL_MAX_FLOWS_V4 4
#define VIGIL_MAX_FLOWS_V6 4
#define VIGIL_MAX_LOCAL_ADDRS_V4 1
#define VIGIL_MAX_LOCAL_ADDRS_V6 1
#define VIGIL_MAX_FRAGMENTS 2
#define VIGIL_MAX_MESSAGE_SIZE 512
#define VIGIL_OUTBOX_SIZE 1100
#define VIGIL_DEVICE_ID_MAX 32
#define VIGIL_MAX_STRING 16
#define VIGIL_MAX_LISTENERS 4

#endif
