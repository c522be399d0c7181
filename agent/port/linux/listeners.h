/*
 * listeners.h - the device's listening sockets, as libvigil's port callback
 * listener_at() hands them over: read from /proc/net when the device is
 * this host, or inferred from the traffic when it is not (captures,
 * mirrored ports).
 */
#ifndef VIGIL_AGENT_LISTENERS_H
#define VIGIL_AGENT_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

#define LISTENERS_MAX 256
/* Conversations remembered to tell a UDP server from a client. */
#define LISTENERS_CONVERSATIONS 4096

typedef enum {
    LISTENERS_FROM_PROC,     /* /proc/net/{tcp,tcp6,udp,udp6} at every period end */
    LISTENERS_FROM_TRAFFIC   /* what the device was seen to accept */
} listeners_mode_t;

typedef struct {
    uint8_t family;
    uint8_t local[16];
    uint8_t remote[16];
    uint16_t local_port;
    uint16_t remote_port;
    bool used;
    bool remote_started;   /* the first datagram seen came from the remote */
} udp_conversation_t;

typedef struct {
    listeners_mode_t mode;
    const char *proc_dir;  /* "/proc/net" (tests point elsewhere) */
    size_t count;
    vigil_listener_t items[LISTENERS_MAX];
    udp_conversation_t conversations[LISTENERS_CONVERSATIONS];
} listeners_t;

void listeners_init(listeners_t *l, listeners_mode_t mode, const char *proc_dir);

/* Adds a listener unless it is already there; false when full. */
bool listeners_add(listeners_t *l, const vigil_listener_t *item);

/*
 * Parses one line of /proc/net/tcp, tcp6, udp or udp6 (proto, family say
 * which). True when it is a listening socket: a TCP socket in state LISTEN
 * (0A), or an unconnected UDP socket (remote address and port zero).
 */
bool listeners_parse_proc_line(const char *line, uint8_t proto, uint8_t family,
                               vigil_listener_t *out);

/* Re-reads the four files under l->proc_dir; unreadable files are skipped. */
void listeners_load_proc(listeners_t *l);

/*
 * Learns from one packet of the device's (traffic mode): a TCP SYN+ACK the
 * device sent marks its source port as listening; a UDP datagram the device
 * sent back to a remote that spoke first, from the port the remote spoke to,
 * marks that port. `outbound` says which way the packet went.
 */
void listeners_learn(listeners_t *l, bool outbound, const uint8_t *ip, size_t captured);

/* libvigil's vigil_port_t.listener_at, with arg a listeners_t. In proc mode
 * index 0 re-reads /proc. */
bool listeners_at(void *arg, size_t index, vigil_listener_t *out);

#endif
