/*
 * report.c - decodes a device report (proto/vigil.cddl) strictly.
 *
 * libcbor parses the bytes into a tree (bounded: the input is at most
 * REPORT_MAX_BYTES and libcbor's loader keeps its own stack); this file then
 * walks the tree and checks every key, type and range against the CDDL.
 * Anything unexpected rejects the whole report with a reason; nothing is
 * guessed, clamped or partially accepted. This file must never print, never
 * touch global state and never keep a pointer into the caller's buffer.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "report.h"

enum {
    KEY_VERSION = 0,
    KEY_DEVICE_ID = 1,
    KEY_BOOT_ID = 2,
    KEY_SEQ = 3,
    KEY_PERIOD_START = 4,
    KEY_PERIOD_END = 5,
    KEY_INTERVAL = 6,
    KEY_PART = 7,
    KEY_MORE = 8,
    KEY_LOCAL_ADDRS = 9,
    KEY_FLOWS = 10,
    KEY_LISTENERS = 11,
    KEY_SYSTEM = 12,
    KEY_COUNTERS = 13,
    KEY_OVERFLOW = 14,
    KEY_UPTIME = 15,
    KEY_FIRST_UNKNOWN = 16
};

#define U32_MAX 0xffffffffu
/* Byte and packet counts above 2^53 - 1 are absurd for one period, and would
 * lose precision in JSON consumers: rejected. */
#define COUNT_MAX ((UINT64_C(1) << 53) - 1)
#define U16_MAX 0xffffu
#define KIND_PROTO_MASK 0x3u
#define KIND_REMOTE_INITIATED 0x4u
#define KIND_TCP_SHIFT 3
#define KIND_LOCAL_SHIFT 7
#define KIND_MAX 0x3ffu

static const char *const reject_names[REPORT_ERR__COUNT] = {
    "ok",        "cbor",   "too_large", "not_map",   "version", "missing_key", "duplicate_key",
    "type",      "range",  "address",   "reference", "limit",   "nomem",
};

static const char *const counter_names[] = {
    "ip_truncated",          "ip_bad_version",          "ipv4_bad_ihl",
    "ipv4_bad_total_length", "ipv6_bad_payload_length", "ipv6_ext_truncated",
    "ipv6_ext_chain_too_long", "transport_truncated",   "tcp_bad_offset",
    "fragment_unattributed", "proto_unsupported",       "local_addr_full",
    "flow_table_full",       "outbox_dropped",          "time_saturated",
    "clock_backwards",       "listeners_truncated",     "config_rejected",
    "bad_argument",          "foreign_packet",          "capture_dropped",
    "flow_split",            "reports",
};

const char *report_reject_name(report_reject_t code)
{
    return (unsigned)code < REPORT_ERR__COUNT ? reject_names[code] : "unknown";
}

const char *report_counter_name(uint32_t id)
{
    return id < sizeof counter_names / sizeof counter_names[0] ? counter_names[id] : NULL;
}

void report_format_addr(uint8_t family, const uint8_t *addr, char *out, size_t size)
{
    if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, out, (socklen_t)size) && size > 0)
        out[0] = '\0';
}

/* Records the rejection: its reason code and a message naming the field. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static report_reject_t fail(report_error_t *err, report_reject_t code, const char *fmt, ...);

static report_reject_t fail(report_error_t *err, report_reject_t code, const char *fmt, ...)
{
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

static bool get_uint(const cbor_item_t *item, uint64_t max, uint64_t *out)
{
    if (!cbor_isa_uint(item))
        return false;
    uint64_t v = cbor_get_int(item);
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* An unsigned integer field: TYPE when not one, RANGE when above max. */
static report_reject_t field_uint(const cbor_item_t *item, uint64_t max, uint64_t *out,
                                  report_error_t *err, const char *what)
{
    if (!cbor_isa_uint(item))
        return fail(err, REPORT_ERR_TYPE, "%s: expected an unsigned integer", what);
    if (!get_uint(item, max, out))
        return fail(err, REPORT_ERR_RANGE, "%s: %llu is above %llu", what,
                    (unsigned long long)cbor_get_int(item), (unsigned long long)max);
    return REPORT_OK;
}

static report_reject_t field_u32(const cbor_item_t *item, uint32_t *out, report_error_t *err,
                                 const char *what)
{
    uint64_t v = 0;
    report_reject_t r = field_uint(item, U32_MAX, &v, err, what);
    *out = (uint32_t)v;
    return r;
}

/* libcbor 0.8's cbor_is_bool() asserts on a float, so the width is checked
 * first: a hostile report may put a float where a bool belongs. */
static bool is_true(const cbor_item_t *item)
{
    return cbor_isa_float_ctrl(item) && cbor_float_get_width(item) == CBOR_FLOAT_0 &&
           cbor_ctrl_value(item) == CBOR_CTRL_TRUE;
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        if (c < 0x80)
            len = 1;
        else if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4;
        else
            return false;
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        if (len > 2) {
            unsigned char c1 = s[i + 1];
            if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) ||
                (c == 0xf4 && c1 >= 0x90))
                return false;
        }
        if (c == 0)
            return false; /* NUL would cut the C string */
        i += len;
    }
    return true;
}

/* A definite text string of 1..max bytes of valid UTF-8, copied into out. */
static report_reject_t field_text(const cbor_item_t *item, size_t max, char *out,
                                  report_error_t *err, const char *what)
{
    if (!cbor_isa_string(item) || !cbor_string_is_definite(item))
        return fail(err, REPORT_ERR_TYPE, "%s: expected a text string", what);
    size_t n = cbor_string_length(item);
    if (n == 0 || n > max)
        return fail(err, REPORT_ERR_RANGE, "%s: length %zu is not 1..%zu", what, n, max);
    if (!utf8_valid(cbor_string_handle(item), n))
        return fail(err, REPORT_ERR_TYPE, "%s: not valid UTF-8", what);
    memcpy(out, cbor_string_handle(item), n);
    out[n] = '\0';
    return REPORT_OK;
}

static report_reject_t field_addr(const cbor_item_t *item, report_addr_t *out, bool allow_empty,
                                  report_error_t *err, const char *what)
{
    if (!cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item))
        return fail(err, REPORT_ERR_TYPE, "%s: expected a byte string", what);
    size_t n = cbor_bytestring_length(item);
    memset(out, 0, sizeof *out);
    if (n == 0 && allow_empty)
        return REPORT_OK;
    if (n != 4 && n != 16)
        return fail(err, REPORT_ERR_ADDRESS, "%s: %zu bytes is no IPv4 or IPv6 address", what, n);
    out->family = n == 4 ? 4 : 6;
    memcpy(out->addr, cbor_bytestring_handle(item), n);
    return REPORT_OK;
}

static report_reject_t definite_array(const cbor_item_t *item, size_t limit, report_error_t *err,
                                      const char *what)
{
    if (!cbor_isa_array(item) || !cbor_array_is_definite(item))
        return fail(err, REPORT_ERR_TYPE, "%s: expected a definite-length array", what);
    if (cbor_array_size(item) > limit)
        return fail(err, REPORT_ERR_LIMIT, "%s: %zu items, at most %zu accepted", what,
                    cbor_array_size(item), limit);
    return REPORT_OK;
}

static report_reject_t decode_local_addrs(const cbor_item_t *item, report_t *r,
                                          report_error_t *err)
{
    report_reject_t rc = definite_array(item, REPORT_MAX_LOCAL_ADDRS, err, "local_addrs");
    if (rc)
        return rc;
    size_t n = cbor_array_size(item);
    r->local_addrs = calloc(n ? n : 1, sizeof *r->local_addrs);
    if (!r->local_addrs)
        return fail(err, REPORT_ERR_NOMEM, "local_addrs: out of memory");
    cbor_item_t **items = cbor_array_handle(item);
    for (size_t i = 0; i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "local_addrs[%zu]", i);
        if ((rc = field_addr(items[i], &r->local_addrs[i], false, err, what)))
            return rc;
    }
    r->local_addr_count = n;
    return REPORT_OK;
}

/* The index-th local address of a family, or NULL. */
static const report_addr_t *local_of_family(const report_t *r, uint8_t family, uint64_t index)
{
    for (size_t i = 0; i < r->local_addr_count; i++)
        if (r->local_addrs[i].family == family && index-- == 0)
            return &r->local_addrs[i];
    return NULL;
}

static report_reject_t decode_flow(const cbor_item_t *item, size_t i, report_t *r,
                                   report_error_t *err)
{
    char what[64];
    snprintf(what, sizeof what, "flow %zu", i);
    if (!cbor_isa_array(item) || !cbor_array_is_definite(item) || cbor_array_size(item) != 10)
        return fail(err, REPORT_ERR_TYPE, "%s: expected an array of 10 items", what);
    cbor_item_t **f = cbor_array_handle(item);
    report_flow_t *flow = &r->flows[i];
    uint64_t kind, v[8];
    report_reject_t rc;
    if ((rc = field_uint(f[0], KIND_MAX, &kind, err, what)))
        return rc;
    if ((kind & KIND_PROTO_MASK) == 3)
        return fail(err, REPORT_ERR_RANGE, "%s: protocol 3 does not exist", what);

    /* The remote: an address, or the position of an earlier flow in this report. */
    if (cbor_isa_uint(f[1])) {
        uint64_t ref = cbor_get_int(f[1]);
        if (ref >= i)
            return fail(err, REPORT_ERR_REFERENCE,
                        "%s: remote back-reference %llu is not an earlier flow", what,
                        (unsigned long long)ref);
        flow->family = r->flows[ref].family;
        memcpy(flow->remote_addr, r->flows[ref].remote_addr, sizeof flow->remote_addr);
    } else {
        report_addr_t remote;
        if ((rc = field_addr(f[1], &remote, false, err, what)))
            return rc;
        flow->family = remote.family;
        memcpy(flow->remote_addr, remote.addr, sizeof flow->remote_addr);
    }
    uint64_t local_index = kind >> KIND_LOCAL_SHIFT;
    const report_addr_t *local = local_of_family(r, flow->family, local_index);
    if (!local)
        return fail(err, REPORT_ERR_REFERENCE, "%s: no IPv%u local address %llu", what,
                    (unsigned)flow->family, (unsigned long long)local_index);
    memcpy(flow->local_addr, local->addr, sizeof flow->local_addr);
    flow->proto = (uint8_t)(kind & KIND_PROTO_MASK);
    flow->remote_initiated = (kind & KIND_REMOTE_INITIATED) != 0;
    flow->tcp_flags = (uint8_t)((kind >> KIND_TCP_SHIFT) & 0xfu);

    static const char *const names[8] = {"local_port", "remote_port", "bytes_in", "bytes_out",
                                         "packets_in", "packets_out", "first_seen",
                                         "last_seen_delta"};
    for (size_t k = 0; k < 8; k++) {
        uint64_t max = k < 2 ? U16_MAX : (k < 6 ? COUNT_MAX : U32_MAX);
        if (cbor_isa_uint(f[2 + k]) && get_uint(f[2 + k], max, &v[k]))
            continue;
        /* The field's name is only formatted for its error: a report
         * carries thousands of these and nearly all of them are fine. */
        char field[128];
        snprintf(field, sizeof field, "%s %s", what, names[k]);
        if ((rc = field_uint(f[2 + k], max, &v[k], err, field)))
            return rc;
    }
    flow->local_port = (uint16_t)v[0];
    flow->remote_port = (uint16_t)v[1];
    flow->bytes_in = v[2];
    flow->bytes_out = v[3];
    flow->packets_in = v[4];
    flow->packets_out = v[5];
    flow->first_seen = r->period_start + v[6];
    flow->last_seen = flow->first_seen + v[7];
    if (flow->packets_in + flow->packets_out == 0)
        return fail(err, REPORT_ERR_RANGE, "%s: no packet in either direction", what);
    return REPORT_OK;
}

static report_reject_t decode_flows(const cbor_item_t *item, report_t *r, report_error_t *err)
{
    report_reject_t rc = definite_array(item, REPORT_MAX_FLOWS, err, "flows");
    if (rc)
        return rc;
    size_t n = cbor_array_size(item);
    r->flows = calloc(n ? n : 1, sizeof *r->flows);
    if (!r->flows)
        return fail(err, REPORT_ERR_NOMEM, "flows: out of memory");
    cbor_item_t **items = cbor_array_handle(item);
    for (size_t i = 0; i < n; i++) {
        if ((rc = decode_flow(items[i], i, r, err)))
            return rc;
        r->flow_count = i + 1;
    }
    return REPORT_OK;
}

static report_reject_t decode_listeners(const cbor_item_t *item, report_t *r,
                                        report_error_t *err)
{
    report_reject_t rc = definite_array(item, REPORT_MAX_LISTENERS, err, "listening_ports");
    if (rc)
        return rc;
    size_t n = cbor_array_size(item);
    r->listeners = calloc(n ? n : 1, sizeof *r->listeners);
    if (!r->listeners)
        return fail(err, REPORT_ERR_NOMEM, "listening_ports: out of memory");
    cbor_item_t **items = cbor_array_handle(item);
    for (size_t i = 0; i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "listener %zu", i);
        const cbor_item_t *l = items[i];
        if (!cbor_isa_array(l) || !cbor_array_is_definite(l) || cbor_array_size(l) < 3 ||
            cbor_array_size(l) > 4)
            return fail(err, REPORT_ERR_TYPE, "%s: expected an array of 3 or 4 items", what);
        cbor_item_t **f = cbor_array_handle(l);
        uint64_t proto, family, port;
        if ((rc = field_uint(f[0], 1, &proto, err, what)) ||
            (rc = field_uint(f[1], 6, &family, err, what)) ||
            (rc = field_uint(f[2], U16_MAX, &port, err, what)))
            return rc;
        if (family != 4 && family != 6)
            return fail(err, REPORT_ERR_RANGE, "%s: family %llu is not 4 or 6", what,
                        (unsigned long long)family);
        report_listener_t *out = &r->listeners[i];
        out->proto = (uint8_t)proto;
        out->family = (uint8_t)family;
        out->port = (uint16_t)port;
        out->any = true;
        if (cbor_array_size(l) == 4) {
            report_addr_t addr;
            if ((rc = field_addr(f[3], &addr, true, err, what)))
                return rc;
            if (addr.family != 0 && addr.family != family)
                return fail(err, REPORT_ERR_ADDRESS, "%s: address of the other family", what);
            out->any = addr.family == 0;
            memcpy(out->addr, addr.addr, sizeof out->addr);
        }
        r->listener_count = i + 1;
    }
    return REPORT_OK;
}

static report_reject_t decode_system(const cbor_item_t *item, report_t *r, report_error_t *err)
{
    if (!cbor_isa_map(item) || !cbor_map_is_definite(item))
        return fail(err, REPORT_ERR_TYPE, "system: expected a definite-length map");
    static const char *const names[7] = {"os_name",       "os_version",   "stack_name",
                                         "stack_version", "agent_version", "device_model",
                                         "firmware_version"};
    char **slots[7] = {&r->system.os_name,       &r->system.os_version,
                       &r->system.stack_name,    &r->system.stack_version,
                       &r->system.agent_version, &r->system.device_model,
                       &r->system.firmware_version};
    struct cbor_pair *pairs = cbor_map_handle(item);
    unsigned seen = 0;
    for (size_t i = 0; i < cbor_map_size(item); i++) {
        uint64_t key;
        if (!get_uint(pairs[i].key, UINT64_MAX, &key))
            return fail(err, REPORT_ERR_TYPE, "system: keys must be unsigned integers");
        if (key > 7)
            continue; /* newer agents may add fields */
        if (seen & (1u << key))
            return fail(err, REPORT_ERR_DUPLICATE_KEY, "system: duplicate key %llu",
                        (unsigned long long)key);
        seen |= 1u << key;
        report_reject_t rc;
        if (key == 7) {
            if ((rc = field_u32(pairs[i].value, &r->system.boot_time, err, "system boot_time")))
                return rc;
            r->system.has_boot_time = true;
            continue;
        }
        char text[REPORT_MAX_STRING + 1], what[64];
        snprintf(what, sizeof what, "system %s", names[key]);
        if ((rc = field_text(pairs[i].value, REPORT_MAX_STRING, text, err, what)))
            return rc;
        *slots[key] = strdup(text);
        if (!*slots[key])
            return fail(err, REPORT_ERR_NOMEM, "system: out of memory");
    }
    if (!(seen & (1u << 4)))
        return fail(err, REPORT_ERR_MISSING_KEY, "system: missing agent_version (key 4)");
    r->has_system = true;
    return REPORT_OK;
}

static report_reject_t decode_counters(const cbor_item_t *item, report_t *r, report_error_t *err)
{
    if (!cbor_isa_map(item) || !cbor_map_is_definite(item))
        return fail(err, REPORT_ERR_TYPE, "counters: expected a definite-length map");
    size_t n = cbor_map_size(item);
    if (n > REPORT_MAX_COUNTERS)
        return fail(err, REPORT_ERR_LIMIT, "counters: %zu, at most %u accepted", n,
                    REPORT_MAX_COUNTERS);
    r->counters = calloc(n ? n : 1, sizeof *r->counters);
    if (!r->counters)
        return fail(err, REPORT_ERR_NOMEM, "counters: out of memory");
    struct cbor_pair *pairs = cbor_map_handle(item);
    for (size_t i = 0; i < n; i++) {
        report_reject_t rc;
        if ((rc = field_u32(pairs[i].key, &r->counters[i].id, err, "counters key")) ||
            (rc = field_u32(pairs[i].value, &r->counters[i].value, err, "counters value")))
            return rc;
        for (size_t k = 0; k < i; k++)
            if (r->counters[k].id == r->counters[i].id)
                return fail(err, REPORT_ERR_DUPLICATE_KEY, "counters: duplicate id %u",
                            r->counters[i].id);
        r->counter_count = i + 1;
    }
    return REPORT_OK;
}

static report_reject_t decode_overflow(const cbor_item_t *item, report_t *r, report_error_t *err)
{
    report_reject_t rc = definite_array(item, 6, err, "overflow");
    if (rc)
        return rc;
    size_t n = cbor_array_size(item);
    r->overflow = calloc(n ? n : 1, sizeof *r->overflow);
    if (!r->overflow)
        return fail(err, REPORT_ERR_NOMEM, "overflow: out of memory");
    cbor_item_t **items = cbor_array_handle(item);
    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *o = items[i];
        if (!cbor_isa_array(o) || !cbor_array_is_definite(o) || cbor_array_size(o) != 3)
            return fail(err, REPORT_ERR_TYPE, "overflow %zu: expected an array of 3 items", i);
        cbor_item_t **f = cbor_array_handle(o);
        uint64_t code;
        if ((rc = field_uint(f[0], 5, &code, err, "overflow code")) ||
            (rc = field_uint(f[1], COUNT_MAX, &r->overflow[i].packets, err, "overflow packets")) ||
            (rc = field_uint(f[2], COUNT_MAX, &r->overflow[i].bytes, err, "overflow bytes")))
            return rc;
        r->overflow[i].proto = (uint8_t)(code / 2);
        r->overflow[i].direction = (uint8_t)(code % 2);
        r->overflow_count = i + 1;
    }
    return REPORT_OK;
}

static report_reject_t decode_map(const cbor_item_t *root, report_t *r, report_error_t *err)
{
    if (!cbor_isa_map(root) || !cbor_map_is_definite(root))
        return fail(err, REPORT_ERR_NOT_MAP, "the report is not a definite-length map");
    struct cbor_pair *pairs = cbor_map_handle(root);
    size_t n = cbor_map_size(root);
    const cbor_item_t *by_key[KEY_FIRST_UNKNOWN] = {NULL};
    for (size_t i = 0; i < n; i++) {
        uint64_t key;
        if (!get_uint(pairs[i].key, UINT64_MAX, &key))
            return fail(err, REPORT_ERR_TYPE, "report keys must be unsigned integers");
        if (key >= KEY_FIRST_UNKNOWN)
            continue; /* ignored by version-1 decoders, as the CDDL says */
        if (by_key[key])
            return fail(err, REPORT_ERR_DUPLICATE_KEY, "duplicate key %llu",
                        (unsigned long long)key);
        by_key[key] = pairs[i].value;
    }
    static const char *const required[7] = {"version", "device_id",    "boot_id", "seq",
                                            "period_start", "period_end", "interval"};
    for (unsigned k = 0; k < 7; k++)
        if (!by_key[k])
            return fail(err, REPORT_ERR_MISSING_KEY, "missing required key %u (%s)", k,
                        required[k]);

    uint64_t version;
    report_reject_t rc;
    if ((rc = field_uint(by_key[KEY_VERSION], UINT64_MAX, &version, err, "version")))
        return rc;
    if (version != 1)
        return fail(err, REPORT_ERR_VERSION, "version %llu not supported",
                    (unsigned long long)version);
    if ((rc = field_text(by_key[KEY_DEVICE_ID], REPORT_MAX_STRING, r->device_id, err,
                         "device_id")) ||
        (rc = field_u32(by_key[KEY_BOOT_ID], &r->boot_id, err, "boot_id")) ||
        (rc = field_u32(by_key[KEY_SEQ], &r->seq, err, "seq")) ||
        (rc = field_u32(by_key[KEY_PERIOD_START], &r->period_start, err, "period_start")) ||
        (rc = field_u32(by_key[KEY_PERIOD_END], &r->period_end, err, "period_end")) ||
        (rc = field_u32(by_key[KEY_INTERVAL], &r->interval, err, "interval")))
        return rc;
    if (r->period_end < r->period_start)
        return fail(err, REPORT_ERR_RANGE, "period_end before period_start");
    if (by_key[KEY_PART] && (rc = field_uint(by_key[KEY_PART], U32_MAX, &r->part, err, "part")))
        return rc;
    if (by_key[KEY_MORE]) {
        if (!is_true(by_key[KEY_MORE]))
            return fail(err, REPORT_ERR_TYPE, "more: expected true");
        r->more = true;
    }
    if (by_key[KEY_UPTIME]) {
        if ((rc = field_u32(by_key[KEY_UPTIME], &r->uptime, err, "uptime")))
            return rc;
        r->has_uptime = true;
    }
    /* Local addresses first: flows refer to them. */
    if (by_key[KEY_LOCAL_ADDRS] && (rc = decode_local_addrs(by_key[KEY_LOCAL_ADDRS], r, err)))
        return rc;
    if (by_key[KEY_FLOWS] && (rc = decode_flows(by_key[KEY_FLOWS], r, err)))
        return rc;
    if (by_key[KEY_LISTENERS] && (rc = decode_listeners(by_key[KEY_LISTENERS], r, err)))
        return rc;
    r->has_listeners = by_key[KEY_LISTENERS] != NULL;
    if (by_key[KEY_SYSTEM] && (rc = decode_system(by_key[KEY_SYSTEM], r, err)))
        return rc;
    if (by_key[KEY_COUNTERS] && (rc = decode_counters(by_key[KEY_COUNTERS], r, err)))
        return rc;
    if (by_key[KEY_OVERFLOW] && (rc = decode_overflow(by_key[KEY_OVERFLOW], r, err)))
        return rc;
    return REPORT_OK;
}

#define MAX_DEPTH 16

static uint64_t read_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/*
 * Checks, before libcbor allocates anything, that buf is exactly one
 * well-formed CBOR item with definite lengths only, nested at most MAX_DEPTH
 * deep, whose every length and count fits in the bytes that are left. So a
 * hostile message can neither make libcbor allocate for a billion items nor
 * make cbor_decref() recurse deeply. *bad_at is where it stopped.
 * (Why it stopped: SHAPE_MALFORMED also covers indefinite lengths, reserved
 * values and nesting deeper than MAX_DEPTH.)
 */
typedef enum { SHAPE_OK, SHAPE_TRUNCATED, SHAPE_MALFORMED, SHAPE_TRAILING } shape_t;

static shape_t cbor_shape(const uint8_t *p, size_t len, size_t *bad_at)
{
    uint64_t remaining[MAX_DEPTH + 1];
    int depth = 0;
    size_t pos = 0;
    remaining[0] = 1;
    while (depth >= 0) {
        if (remaining[depth] == 0) {
            depth--;
            continue;
        }
        remaining[depth]--;
        *bad_at = pos;
        if (pos >= len)
            return SHAPE_TRUNCATED;
        uint8_t initial = p[pos++];
        unsigned major = initial >> 5, info = initial & 31u;
        uint64_t value = info;
        if (info >= 24 && info <= 27) {
            size_t n = (size_t)1 << (info - 24);
            if (len - pos < n)
                return SHAPE_TRUNCATED;
            value = read_be(p + pos, n);
            pos += n;
        } else if (info > 27) {
            return SHAPE_MALFORMED; /* reserved, or indefinite length: not in a report */
        }
        switch (major) {
        case 2: /* byte string */
        case 3: /* text string */
            if (value > len - pos)
                return SHAPE_TRUNCATED;
            pos += (size_t)value;
            break;
        case 4: /* array */
        case 5: /* map: twice as many items */
            if (value > len - pos || (major == 5 && value > (len - pos) / 2))
                return SHAPE_TRUNCATED;
            if (value > 0) {
                if (depth == MAX_DEPTH)
                    return SHAPE_MALFORMED;
                remaining[++depth] = major == 5 ? value * 2 : value;
            }
            break;
        case 6: /* tag: one item follows */
            if (depth == MAX_DEPTH)
                return SHAPE_MALFORMED;
            remaining[++depth] = 1;
            break;
        case 7:
            if (info == 24 && value < 32)
                return SHAPE_MALFORMED; /* a two-byte simple value below 32 is not well-formed */
            break;
        default: /* unsigned and negative integers */
            break;
        }
    }
    *bad_at = pos;
    return pos == len ? SHAPE_OK : SHAPE_TRAILING;
}

report_reject_t report_decode(const uint8_t *buf, size_t len, report_t **out, report_error_t *err)
{
    *out = NULL;
    err->code = REPORT_OK;
    err->message[0] = '\0';
    if (len > REPORT_MAX_BYTES)
        return fail(err, REPORT_ERR_TOO_LARGE, "%zu bytes, at most %u accepted", len,
                    REPORT_MAX_BYTES);
    if (len == 0)
        return fail(err, REPORT_ERR_CBOR, "empty message");
    size_t bad_at = 0;
    switch (cbor_shape(buf, len, &bad_at)) {
    case SHAPE_OK:
        break;
    case SHAPE_TRUNCATED:
        return fail(err, REPORT_ERR_CBOR, "truncated: an item at byte %zu runs past the end",
                    bad_at);
    case SHAPE_TRAILING:
        return fail(err, REPORT_ERR_CBOR, "%zu trailing bytes after the report", len - bad_at);
    default:
        return fail(err, REPORT_ERR_CBOR,
                    "malformed, indefinite-length or too deeply nested CBOR at byte %zu", bad_at);
    }
    struct cbor_load_result result;
    cbor_item_t *root = cbor_load(buf, len, &result);
    if (!root || result.error.code != CBOR_ERR_NONE) {
        if (root)
            cbor_decref(&root);
        if (result.error.code == CBOR_ERR_MEMERROR)
            return fail(err, REPORT_ERR_NOMEM, "out of memory parsing CBOR");
        return fail(err, REPORT_ERR_CBOR, "malformed CBOR at byte %zu",
                    result.error.position);
    }
    if (result.read != len) {
        cbor_decref(&root);
        return fail(err, REPORT_ERR_CBOR, "%zu trailing bytes after the report",
                    len - result.read);
    }
    report_t *r = calloc(1, sizeof *r);
    if (!r) {
        cbor_decref(&root);
        return fail(err, REPORT_ERR_NOMEM, "out of memory");
    }
    report_reject_t rc = decode_map(root, r, err);
    cbor_decref(&root);
    if (rc != REPORT_OK) {
        report_free(r);
        return rc;
    }
    *out = r;
    return REPORT_OK;
}

void report_free(report_t *r)
{
    if (!r)
        return;
    free(r->local_addrs);
    free(r->flows);
    free(r->listeners);
    free(r->counters);
    free(r->overflow);
    free(r->system.os_name);
    free(r->system.os_version);
    free(r->system.stack_name);
    free(r->system.stack_version);
    free(r->system.agent_version);
    free(r->system.device_model);
    free(r->system.firmware_version);
    free(r);
}
