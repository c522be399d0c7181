/*
 * report_json.c - renders a decoded report as JSON with jansson, keys in a
 * fixed order. It only reads the report; values were range-checked by the
 * decoder (counts fit in 2^53, strings are valid UTF-8).
 */
#include <stdio.h>

#include "report_json.h"

static const char *proto_name(uint8_t proto, uint8_t family)
{
    switch (proto) {
    case REPORT_PROTO_TCP:
        return "tcp";
    case REPORT_PROTO_UDP:
        return "udp";
    default:
        return family == 6 ? "icmpv6" : "icmp";
    }
}

static json_t *addr_json(uint8_t family, const uint8_t *addr)
{
    char text[64];
    report_format_addr(family, addr, text, sizeof text);
    return json_string(text);
}

/* json_object_set_new that remembers a failure, so callers check once. */
static void put(json_t *obj, const char *key, json_t *value, bool *ok)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        *ok = false;
}

static json_t *flow_json(const report_flow_t *f, bool full, bool *ok)
{
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "proto", json_string(proto_name(f->proto, f->family)), ok);
    put(o, "local_addr", addr_json(f->family, f->local_addr), ok);
    put(o, "remote_addr", addr_json(f->family, f->remote_addr), ok);
    put(o, "local_port", json_integer(f->local_port), ok);
    put(o, "remote_port", json_integer(f->remote_port), ok);
    put(o, "bytes_in", json_integer((json_int_t)f->bytes_in), ok);
    put(o, "bytes_out", json_integer((json_int_t)f->bytes_out), ok);
    put(o, "packets_in", json_integer((json_int_t)f->packets_in), ok);
    put(o, "packets_out", json_integer((json_int_t)f->packets_out), ok);
    put(o, "initiator", json_string(f->remote_initiated ? "remote" : "local"), ok);
    if (full) {
        static const char *const flag_names[4] = {"syn", "synack", "fin", "rst"};
        json_t *flags = json_array();
        for (unsigned b = 0; flags && b < 4; b++)
            if (f->tcp_flags & (1u << b) && json_array_append_new(flags, json_string(flag_names[b])))
                *ok = false;
        put(o, "first_seen", json_integer((json_int_t)f->first_seen), ok);
        put(o, "last_seen", json_integer((json_int_t)f->last_seen), ok);
        put(o, "tcp_flags", flags, ok);
    }
    return o;
}

static json_t *system_json(const report_t *r, bool *ok)
{
    if (!r->has_system)
        return json_null();
    const report_system_t *s = &r->system;
    const char *names[7] = {"os_name",       "os_version",   "stack_name",      "stack_version",
                            "agent_version", "device_model", "firmware_version"};
    const char *values[7] = {s->os_name,       s->os_version,   s->stack_name,      s->stack_version,
                             s->agent_version, s->device_model, s->firmware_version};
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    for (unsigned i = 0; i < 7; i++)
        if (values[i])
            put(o, names[i], json_string(values[i]), ok);
    if (s->has_boot_time)
        put(o, "boot_time", json_integer(s->boot_time), ok);
    return o;
}

json_t *report_to_json(const report_t *r, bool full)
{
    bool ok = true;
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "device_id", json_string(r->device_id), &ok);
    put(o, "boot_id", json_integer(r->boot_id), &ok);
    put(o, "seq", json_integer(r->seq), &ok);
    put(o, "period_start", json_integer(r->period_start), &ok);
    put(o, "period_end", json_integer(r->period_end), &ok);
    put(o, "interval", json_integer(r->interval), &ok);
    put(o, "part", json_integer((json_int_t)r->part), &ok);
    put(o, "more", json_boolean(r->more), &ok);
    put(o, "uptime", r->has_uptime ? json_integer(r->uptime) : json_null(), &ok);

    json_t *locals = json_array();
    for (size_t i = 0; locals && i < r->local_addr_count; i++)
        if (json_array_append_new(locals, addr_json(r->local_addrs[i].family, r->local_addrs[i].addr)))
            ok = false;
    put(o, "local_addrs", locals, &ok);

    json_t *flows = json_array();
    for (size_t i = 0; flows && i < r->flow_count; i++)
        if (json_array_append_new(flows, flow_json(&r->flows[i], full, &ok)))
            ok = false;
    put(o, "flows", flows, &ok);

    json_t *listeners = json_array();
    for (size_t i = 0; listeners && i < r->listener_count; i++) {
        const report_listener_t *l = &r->listeners[i];
        json_t *lo = json_object();
        if (!lo) {
            ok = false;
            break;
        }
        static const uint8_t any[16];
        put(lo, "proto", json_string(l->proto == REPORT_PROTO_TCP ? "tcp" : "udp"), &ok);
        put(lo, "family", json_integer(l->family), &ok);
        put(lo, "port", json_integer(l->port), &ok);
        put(lo, "addr", addr_json(l->family, l->any ? any : l->addr), &ok);
        if (json_array_append_new(listeners, lo))
            ok = false;
    }
    put(o, "listening_ports", listeners, &ok);
    put(o, "system", system_json(r, &ok), &ok);

    json_t *counters = json_object();
    for (size_t i = 0; counters && i < r->counter_count; i++) {
        const char *name = report_counter_name(r->counters[i].id);
        char unknown[32];
        if (!name) {
            snprintf(unknown, sizeof unknown, "counter_%u", r->counters[i].id);
            name = unknown;
        }
        put(counters, name, json_integer(r->counters[i].value), &ok);
    }
    put(o, "counters", counters, &ok);

    json_t *overflow = json_array();
    for (size_t i = 0; overflow && i < r->overflow_count; i++) {
        const report_overflow_t *v = &r->overflow[i];
        json_t *vo = json_object();
        if (!vo) {
            ok = false;
            break;
        }
        put(vo, "proto", json_string(v->proto == REPORT_PROTO_TCP   ? "tcp"
                                     : v->proto == REPORT_PROTO_UDP ? "udp"
                                                                    : "icmp"),
            &ok);
        put(vo, "direction", json_string(v->direction == REPORT_DIR_IN ? "in" : "out"), &ok);
        put(vo, "packets", json_integer((json_int_t)v->packets), &ok);
        put(vo, "bytes", json_integer((json_int_t)v->bytes), &ok);
        if (json_array_append_new(overflow, vo))
            ok = false;
    }
    put(o, "overflow", overflow, &ok);

    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
