/*
 * nov6_opts.h - libvigil with its IPv6 flow table switched off
 * (VIGIL_MAX_FLOWS_V6 0, which vigil_opts.h allows): checks that the
 * library still builds with every warning and that IPv6 traffic is still
 * counted, in overflow. Used by vigil_nov6.
 */
#ifndef VIGIL_TEST_NOV6_OPTS_H
#define VIGIL_TEST_NOV6_OPTS_H

#define VIGIL_MAX_FLOWS_V6 0

#endif
