/*
 * intel_plain.c - plain feeds: one IPv4/IPv6 address or CIDR per line, '#'
 * comments (whole lines or after the address), blank lines.
 *
 * Any other line refuses the whole feed with its line number: a list that
 * holds something unexpected may not be the list the operator meant, and
 * half of it would silently stop protecting.
 */
#include "intel_feed_priv.h"
#include "intel_lines.h"

#include <string.h>

bool intel_feed__plain(intel_parse_t *p)
{
    const char *category = p->spec->category[0] ? p->spec->category : "blocklist";
    uint8_t confidence = p->spec->confidence >= 0 && p->spec->confidence <= 100
                             ? (uint8_t)p->spec->confidence
                             : 100;
    intel_lines_t r;
    intel_lines_init(&r, p->data, p->len);
    const char *text, *why;
    size_t n;
    intel_lines_status_t st;
    while ((st = intel_lines_next(&r, &text, &n, &why)) == INTEL_LINES_OK) {
        const char *hash = memchr(text, '#', n);
        if (hash)
            n = (size_t)(hash - text);
        text = intel_lines_trim(text, &n);
        if (n == 0)
            continue;
        p->stats->records++;
        intel_net_t net;
        if (!intel_net_parse(text, n, &net, &why)) {
            char quoted[48];
            intel_feed__quote(text, n, quoted, sizeof quoted);
            return intel_feed__fail(p, r.line, "'%s': %s", quoted, why);
        }
        if (!intel_feed__add(p, &net, category, confidence, INTEL_UNBOUNDED_FROM,
                             INTEL_UNBOUNDED_UNTIL))
            return false;
    }
    if (st == INTEL_LINES_BAD)
        return intel_feed__fail(p, r.line, "%s", why);
    return true;
}
