/*
 * policy_priv.h - what the policy's files share and nobody else may use: the
 * loaded form of a policy (policy.c builds it, policy_eval.c reads it) and
 * the YAML node tree (policy_yaml.c builds it from libyaml events, policy.c
 * walks it). Never include this outside analyzer/policy*.c and the policy's
 * own tests.
 */
#ifndef VIGIL_ANALYZER_POLICY_PRIV_H
#define VIGIL_ANALYZER_POLICY_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define POLICY_NAME_MAX 63          /* group names, bytes without NUL */
#define POLICY_MEMBER_MAX 128       /* tags and id globs, bytes without NUL */
#define POLICY_MAX_GROUPS 1024
#define POLICY_MAX_MEMBERS 1024     /* tags, and ids, per group */
#define POLICY_MAX_CIDRS 65536      /* per remote_cidrs_allowed */
#define POLICY_MAX_PORTS 4096       /* entries per listening_ports_allowed */
#define POLICY_MAX_RANGES 64        /* per group */
#define POLICY_MAX_WINDOW (30u * 24u * 3600u)

/* ---- the loaded policy ---- */

/* An address interval [lo, hi], big-endian bytes: memcmp orders them. IPv4
 * intervals use the first 4 bytes. */
typedef struct {
    uint8_t lo[16], hi[16];
} policy_interval_t;

typedef struct {
    bool present, enabled;
    alert_severity_t severity;
    policy_interval_t *v4, *v6;  /* sorted by lo, overlaps merged */
    size_t nv4, nv6;
} policy_cidr_rule_t;

typedef struct {
    bool present, enabled;
    alert_severity_t severity;
    uint32_t *entries;           /* (proto << 16) | port, sorted, unique */
    size_t count;
} policy_port_rule_t;

typedef struct {
    policy_metric_t metric;
    uint32_t window;             /* seconds, 1..POLICY_MAX_WINDOW */
    bool has_min, has_max, enabled;
    uint64_t min, max;
    alert_severity_t severity;
    size_t line;                 /* of the range in its file, for duplicate errors */
} policy_range_t;

typedef struct {
    char name[POLICY_NAME_MAX + 1];
    size_t line;                 /* of the group in its file, for duplicate errors */
    char **ids;                  /* fnmatch patterns */
    size_t nids;
    char **tags;
    size_t ntags;
    policy_hygiene_t hygiene;    /* the top-level settings with this group's overrides */
    policy_device_t device;      /* likewise */
    policy_cidr_rule_t cidrs;
    policy_port_rule_t ports;
    policy_range_t *ranges;      /* at most one per (metric, window) */
    size_t nranges;
} policy_group_t;

struct policy {
    policy_hygiene_t hygiene;
    policy_device_t device;
    policy_group_t *groups;
    size_t ngroups;
};

/* The group called `name`, or NULL. */
const policy_group_t *policy__find_group(const policy_t *p, const char *name);

/* ---- the YAML tree ---- */

typedef enum { PNODE_SCALAR, PNODE_SEQUENCE, PNODE_MAPPING } pnode_type_t;

/*
 * One node of a document. A mapping's children alternate key, value. Marks
 * are 1-based. Scalars are NUL-terminated copies (`len` excludes the NUL; a
 * scalar may contain NUL bytes, which the schema refuses).
 */
typedef struct pnode {
    pnode_type_t type;
    bool plain;                  /* an unquoted scalar: numbers and booleans must be */
    size_t line, column;
    char *text;
    size_t len;
    size_t count;                /* children (keys and values for a mapping) */
    struct pnode *child, *next;
} pnode_t;

typedef struct pdoc pdoc_t;

/*
 * Parses one YAML document of `len` bytes (at most POLICY_MAX_BYTES) into a
 * tree. Refuses syntax errors (with libyaml's problem text), several
 * documents, anchors, aliases, explicit tags and nesting deeper than
 * PDOC_MAX_DEPTH. On failure returns NULL with line, column and reason in
 * *err (err->file is the caller's). *root is NULL for an empty stream.
 */
#define PDOC_MAX_DEPTH 16
#define PDOC_MAX_NODES 200000
pdoc_t *pdoc_parse(const char *text, size_t len, const pnode_t **root, policy_error_t *err);
void pdoc_free(pdoc_t *doc);

#endif
