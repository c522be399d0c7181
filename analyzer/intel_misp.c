/*
 * intel_misp.c - MISP event JSON: {"Event":{...}}, {"response":[{"Event":
 * ...}, ...]} or a list of {"Event":...}; attributes of type ip-src,
 * ip-dst, ip-src|port and ip-dst|port from Event.Attribute[] and
 * Event.Object[].Attribute[]. Category from the attribute, confidence 100
 * when to_ids is set and 50 otherwise, validity from first_seen/last_seen.
 *
 * Attributes of other types and deleted ones are skipped and counted. An
 * attribute that claims to be an address and is not one (or has an
 * unreadable port or time) refuses the feed: MISP checks values on entry,
 * so such a file is damaged, and a damaged file is not loaded in part.
 */
#include "intel_feed_priv.h"

#include <stdio.h>
#include <string.h>

/* MISP writes flags as true/false, 0/1 or "0"/"1" depending on version. */
static bool flag(json_t *v)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return strcmp(s, "1") == 0 || strcmp(s, "true") == 0;
    }
    return false;
}

static const char *const ip_types[] = { "ip-src", "ip-dst", "ip-src|port", "ip-dst|port" };

/* Where an attribute is, for errors: its uuid's line, else its value's. */
static size_t attribute_line(intel_parse_t *p, json_t *attr)
{
    char needle[INTEL_LOCATION_MAX];
    json_t *uuid = json_object_get(attr, "uuid");
    json_t *value = json_object_get(attr, "value");
    json_t *key = json_is_string(uuid) ? uuid : value;
    if (!json_is_string(key) || json_string_length(key) > sizeof needle - 3)
        return 0;
    snprintf(needle, sizeof needle, "\"%s\"", json_string_value(key));
    return intel_feed__line_of(p, needle);
}

static bool time_field(json_t *attr, const char *key, int64_t absent, int64_t *out)
{
    json_t *v = json_object_get(attr, key);
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
        *out = absent;
        return true;
    }
    return json_is_string(v) && intel_feed__time(json_string_value(v), json_string_length(v), out);
}

static bool attribute(intel_parse_t *p, json_t *attr, const char *where, size_t index)
{
    p->stats->records++;
    if (!json_is_object(attr))
        return intel_feed__fail(p, 0, "%s[%zu] is not an object", where, index);
    json_t *type = json_object_get(attr, "type");
    const char *t = json_is_string(type) ? json_string_value(type) : "";
    size_t k = 0;
    while (k < 4 && strcmp(t, ip_types[k]) != 0)
        k++;
    if (k == 4 || flag(json_object_get(attr, "deleted"))) {
        p->stats->skipped++;
        return true;
    }
    char uuid[48];
    json_t *juuid = json_object_get(attr, "uuid");
    if (json_is_string(juuid))
        intel_feed__quote(json_string_value(juuid), json_string_length(juuid), uuid, sizeof uuid);
    else
        snprintf(uuid, sizeof uuid, "%s[%zu]", where, index);
    json_t *value = json_object_get(attr, "value");
    if (!json_is_string(value))
        return intel_feed__fail(p, attribute_line(p, attr), "attribute %s (%s): no value", uuid,
                                t);
    const char *v = json_string_value(value);
    size_t n = json_string_length(value);
    char quoted[48];
    intel_feed__quote(v, n, quoted, sizeof quoted);
    if (k >= 2) {
        /* "203.0.113.5|443", "2001:db8::1|443": the port after the last '|'. */
        const char *bar = NULL;
        for (size_t i = 0; i < n; i++)
            if (v[i] == '|')
                bar = v + i;
        size_t port_len = bar ? n - (size_t)(bar - v) - 1 : 0;
        unsigned port = 0;
        bool port_ok = bar && port_len >= 1 && port_len <= 5;
        for (size_t i = 0; port_ok && i < port_len; i++) {
            char c = bar[1 + i];
            port_ok = c >= '0' && c <= '9';
            port = port * 10 + (unsigned)(c - '0');
        }
        if (!port_ok || port > 65535)
            return intel_feed__fail(p, attribute_line(p, attr),
                                    "attribute %s (%s): '%s': no ADDRESS|PORT", uuid, t, quoted);
        n = (size_t)(bar - v);
    }
    intel_net_t net;
    const char *why;
    if (!intel_net_parse(v, n, &net, &why))
        return intel_feed__fail(p, attribute_line(p, attr), "attribute %s (%s): '%s': %s", uuid,
                                t, quoted, why);
    int64_t from, until;
    if (!time_field(attr, "first_seen", INTEL_UNBOUNDED_FROM, &from) ||
        !time_field(attr, "last_seen", INTEL_UNBOUNDED_UNTIL, &until))
        return intel_feed__fail(p, attribute_line(p, attr),
                                "attribute %s: first_seen or last_seen is not an RFC 3339 time",
                                uuid);
    char buf[INTEL_NAME_MAX + 1];
    json_t *cat = json_object_get(attr, "category");
    const char *category =
        json_is_string(cat) ? intel_feed__category(json_string_value(cat), json_string_length(cat),
                                                   buf)
                            : NULL;
    uint8_t confidence = flag(json_object_get(attr, "to_ids")) ? 100 : 50;
    return intel_feed__add(p, &net, category, confidence, from, until);
}

static bool attributes(intel_parse_t *p, json_t *list, const char *where)
{
    if (!list)
        return true;
    if (!json_is_array(list))
        return intel_feed__fail(p, 0, "%s is not a list", where);
    for (size_t i = 0; i < json_array_size(list); i++)
        if (!attribute(p, json_array_get(list, i), where, i))
            return false;
    return true;
}

static bool event(intel_parse_t *p, json_t *ev)
{
    if (!json_is_object(ev))
        return intel_feed__fail(p, 0, "\"Event\" is not an object");
    if (!attributes(p, json_object_get(ev, "Attribute"), "Event.Attribute"))
        return false;
    json_t *objects = json_object_get(ev, "Object");
    if (!objects)
        return true;
    if (!json_is_array(objects))
        return intel_feed__fail(p, 0, "Event.Object is not a list");
    for (size_t i = 0; i < json_array_size(objects); i++) {
        json_t *obj = json_array_get(objects, i);
        char where[64];
        snprintf(where, sizeof where, "Event.Object[%zu].Attribute", i);
        if (!json_is_object(obj))
            return intel_feed__fail(p, 0, "Event.Object[%zu] is not an object", i);
        json_t *list = json_object_get(obj, "Attribute");
        if (flag(json_object_get(obj, "deleted"))) {
            /* A deleted object takes its attributes with it. */
            size_t n = json_is_array(list) ? json_array_size(list) : 0;
            p->stats->records += n;
            p->stats->skipped += n;
            continue;
        }
        if (!attributes(p, list, where))
            return false;
    }
    return true;
}

/* A list of {"Event": ...}; other entries are skipped. */
static bool event_list(intel_parse_t *p, json_t *list)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *ev = json_object_get(json_array_get(list, i), "Event");
        if (!ev) {
            p->stats->records++;
            p->stats->skipped++;
            continue;
        }
        if (!event(p, ev))
            return false;
    }
    return true;
}

bool intel_feed__misp(intel_parse_t *p, json_t *root)
{
    if (json_is_array(root))
        return event_list(p, root);
    json_t *ev = json_object_get(root, "Event");
    if (ev)
        return event(p, ev);
    json_t *response = json_object_get(root, "response");
    if (json_is_array(response))
        return event_list(p, response);
    if (json_is_object(response) && json_object_get(response, "Event"))
        return event(p, json_object_get(response, "Event"));
    return intel_feed__fail(p, 0, "not a MISP event (no \"Event\", no \"response\" list)");
}
