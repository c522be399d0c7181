/*
 * intel_stix.c - STIX 2.1 bundles: indicator objects whose pattern compares
 * ipv4-addr:value or ipv6-addr:value to addresses or CIDRs (=, ISSUBSET,
 * OR-ed within and between observation expressions), with valid_from and
 * valid_until, the first of labels or indicator_types as category, and
 * confidence (50 when absent).
 *
 * What it must never do: take part of a pattern. A pattern with AND, a
 * qualifier, another object path or operator, or a value it cannot read
 * is skipped whole and counted, like other object types and revoked
 * indicators: matching on half of "A AND B" would raise alerts the feed
 * never meant. Only JSON that is not a bundle refuses the feed.
 */
#include "intel_feed_priv.h"

#include <stdlib.h>
#include <string.h>

#define PATTERN_MAX_DEPTH 32
#define PATTERN_MAX_NETS 100000
#define VALUE_MAX 128

typedef struct {
    const char *s;
    intel_net_t **nets;
    size_t *cap, count;
    unsigned depth;
} pattern_t;

static void skip_ws(pattern_t *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n')
        p->s++;
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* A case-insensitive keyword ending where an identifier would. */
static bool keyword(pattern_t *p, const char *kw)
{
    skip_ws(p);
    size_t i = 0;
    for (; kw[i]; i++) {
        char c = p->s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != kw[i])
            return false;
    }
    if (ident_char(p->s[i]))
        return false;
    p->s += i;
    return true;
}

static bool expect(pattern_t *p, char c)
{
    skip_ws(p);
    if (*p->s != c)
        return false;
    p->s++;
    return true;
}

static bool push(pattern_t *p, const intel_net_t *net)
{
    if (p->count == PATTERN_MAX_NETS)
        return false;
    if (p->count == *p->cap) {
        size_t next = *p->cap ? *p->cap * 2 : 16;
        intel_net_t *grown = realloc(*p->nets, next * sizeof **p->nets);
        if (!grown)
            return false;
        *p->nets = grown;
        *p->cap = next;
    }
    (*p->nets)[p->count++] = *net;
    return true;
}

/* ipv4-addr:value = '192.0.2.1' | ipv6-addr:value ISSUBSET '2001:db8::/32' */
static bool comparison(pattern_t *p)
{
    skip_ws(p);
    bool v6;
    if (strncmp(p->s, "ipv4-addr:value", 15) == 0)
        v6 = false;
    else if (strncmp(p->s, "ipv6-addr:value", 15) == 0)
        v6 = true;
    else
        return false;
    p->s += 15;
    if (ident_char(*p->s) || *p->s == '.' || *p->s == '[')
        return false;
    skip_ws(p);
    if (p->s[0] == '=' && p->s[1] != '=')
        p->s++;
    else if (!keyword(p, "ISSUBSET"))
        return false;
    if (!expect(p, '\''))
        return false;
    char value[VALUE_MAX];
    size_t n = 0;
    for (;;) {
        char c = *p->s++;
        if (c == '\0')
            return false;
        if (c == '\'')
            break;
        if (c == '\\') {
            c = *p->s++;
            if (c != '\\' && c != '\'')
                return false;
        }
        if (n == sizeof value)
            return false;
        value[n++] = c;
    }
    intel_net_t net;
    if (!intel_net_parse(value, n, &net, NULL))
        return false;
    /* The object type names the family the value is written in. */
    if ((memchr(value, ':', n) != NULL) != v6)
        return false;
    return push(p, &net);
}

static bool comparison_or(pattern_t *p);

static bool comparison_atom(pattern_t *p)
{
    skip_ws(p);
    if (*p->s != '(')
        return comparison(p);
    if (++p->depth > PATTERN_MAX_DEPTH)
        return false;
    p->s++;
    bool ok = comparison_or(p) && expect(p, ')');
    p->depth--;
    return ok;
}

static bool comparison_or(pattern_t *p)
{
    if (!comparison_atom(p))
        return false;
    while (keyword(p, "OR"))
        if (!comparison_atom(p))
            return false;
    return true;
}

static bool observation_or(pattern_t *p);

static bool observation_atom(pattern_t *p)
{
    skip_ws(p);
    char open = *p->s;
    if (open != '[' && open != '(')
        return false;
    if (++p->depth > PATTERN_MAX_DEPTH)
        return false;
    p->s++;
    bool ok = open == '[' ? comparison_or(p) && expect(p, ']')
                          : observation_or(p) && expect(p, ')');
    p->depth--;
    return ok;
}

static bool observation_or(pattern_t *p)
{
    if (!observation_atom(p))
        return false;
    while (keyword(p, "OR"))
        if (!observation_atom(p))
            return false;
    return true;
}

bool intel_feed__stix_pattern(const char *pattern, intel_net_t **nets, size_t *cap,
                              size_t *count)
{
    pattern_t p = { pattern, nets, cap, 0, 0 };
    *count = 0;
    if (!observation_or(&p))
        return false;
    skip_ws(&p);
    if (*p.s != '\0')
        return false;
    *count = p.count;
    return true;
}

/* A string member holding an RFC 3339 time; absent gives `absent`. */
static bool time_member(json_t *obj, const char *key, int64_t absent, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = absent;
        return true;
    }
    return json_is_string(v) &&
           intel_feed__time(json_string_value(v), json_string_length(v), out);
}

static const char *first_string(json_t *obj, const char *key, char out[INTEL_NAME_MAX + 1])
{
    json_t *first = json_array_get(json_object_get(obj, key), 0);
    if (!json_is_string(first))
        return NULL;
    return intel_feed__category(json_string_value(first), json_string_length(first), out);
}

/* One indicator object: its networks added, or false when it is skipped
 * (*oom tells a skip from running out of memory). */
static bool indicator(intel_parse_t *p, json_t *obj, intel_net_t **nets, size_t *cap,
                      bool *oom)
{
    *oom = false;
    if (json_is_true(json_object_get(obj, "revoked")))
        return false;
    json_t *ptype = json_object_get(obj, "pattern_type");
    if (ptype && !(json_is_string(ptype) && strcmp(json_string_value(ptype), "stix") == 0))
        return false;
    json_t *pattern = json_object_get(obj, "pattern");
    if (!json_is_string(pattern) || strlen(json_string_value(pattern)) !=
                                        json_string_length(pattern))
        return false;
    size_t count;
    if (!intel_feed__stix_pattern(json_string_value(pattern), nets, cap, &count))
        return false;
    int64_t from, until;
    if (!time_member(obj, "valid_from", INTEL_UNBOUNDED_FROM, &from) ||
        !time_member(obj, "valid_until", INTEL_UNBOUNDED_UNTIL, &until) || until <= from)
        return false;
    uint8_t confidence = 50;
    json_t *conf = json_object_get(obj, "confidence");
    if (conf) {
        if (!json_is_integer(conf) || json_integer_value(conf) < 0 ||
            json_integer_value(conf) > 100)
            return false;
        confidence = (uint8_t)json_integer_value(conf);
    }
    char buf[INTEL_NAME_MAX + 1];
    const char *category = first_string(obj, "labels", buf);
    if (!category)
        category = first_string(obj, "indicator_types", buf);
    for (size_t i = 0; i < count; i++)
        if (!intel_feed__add(p, &(*nets)[i], category, confidence, from, until)) {
            *oom = true;
            return false;
        }
    return true;
}

bool intel_feed__stix(intel_parse_t *p, json_t *root)
{
    json_t *type = json_object_get(root, "type");
    if (!json_is_object(root) || !json_is_string(type) ||
        strcmp(json_string_value(type), "bundle") != 0)
        return intel_feed__fail(p, 0, "not a STIX bundle (no \"type\": \"bundle\")");
    json_t *objects = json_object_get(root, "objects");
    if (!objects)
        return true;
    if (!json_is_array(objects))
        return intel_feed__fail(p, intel_feed__line_of(p, "\"objects\""),
                                "\"objects\" is not an array");
    intel_net_t *nets = NULL;
    size_t cap = 0;
    bool ok = true;
    for (size_t i = 0; i < json_array_size(objects); i++) {
        json_t *obj = json_array_get(objects, i);
        p->stats->records++;
        json_t *otype = json_object_get(obj, "type");
        bool oom = false;
        if (!json_is_string(otype) || strcmp(json_string_value(otype), "indicator") != 0 ||
            !indicator(p, obj, &nets, &cap, &oom))
            p->stats->skipped++;
        if (oom) {
            ok = false;
            break;
        }
    }
    free(nets);
    return ok;
}
