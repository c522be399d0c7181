/*
 * report_decode.c - strict libcbor-based reader of report messages for the
 * tests. It fails the current test on anything proto/vigil.cddl forbids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "report_decode.h"

/* An unsigned integer in its shortest form. */
static uint64_t get_uint(const cbor_item_t *item)
{
    assert_true(cbor_isa_uint(item));
    uint64_t v = cbor_get_int(item);
    cbor_int_width want = v < 24 || v <= 0xffu ? CBOR_INT_8
                          : v <= 0xffffu      ? CBOR_INT_16
                          : v <= 0xffffffffu  ? CBOR_INT_32
                                              : CBOR_INT_64;
    assert_int_equal(cbor_int_get_width(item), want);
    return v;
}

static uint64_t get_uint_max(const cbor_item_t *item, uint64_t max)
{
    uint64_t v = get_uint(item);
    assert_true(v <= max);
    return v;
}

/* Independent of the device's report_utf8_prefix(): a plain RFC 3629 check. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 2;
            cp = c & 0x1fu;
        } else if ((c & 0xf0) == 0xe0) {
            k = 3;
            cp = c & 0x0fu;
        } else if ((c & 0xf8) == 0xf0) {
            k = 4;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (i + k > n)
            return false;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3fu);
        }
        static const uint32_t min_of[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_of[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k;
    }
    return true;
}

static void get_text(const cbor_item_t *item, char *out, size_t out_size)
{
    assert_true(cbor_isa_string(item));
    assert_true(cbor_string_is_definite(item));
    size_t n = cbor_string_length(item);
    assert_true(n < out_size);
    const uint8_t *s = cbor_string_handle(item);
    if (n > 0)
        memcpy(out, s, n);
    out[n] = '\0';
    assert_true(utf8_valid(s, n));
    assert_int_equal(strlen(out), n); /* no NUL inside */
}

static size_t get_bytes(const cbor_item_t *item, uint8_t *out, size_t max)
{
    assert_true(cbor_isa_bytestring(item));
    assert_true(cbor_bytestring_is_definite(item));
    size_t n = cbor_bytestring_length(item);
    assert_true(n <= max);
    if (n > 0)
        memcpy(out, cbor_bytestring_handle(item), n);
    return n;
}

static size_t array_size(const cbor_item_t *item)
{
    assert_true(cbor_isa_array(item));
    assert_true(cbor_array_is_definite(item));
    return cbor_array_size(item);
}

static void decode_local(dr_report_t *r, const cbor_item_t *v)
{
    size_t n = array_size(v);
    cbor_item_t **items = cbor_array_handle(v);
    assert_true(n <= DR_MAX_LOCAL);
    r->n_local = n;
    for (size_t i = 0; i < n; i++) {
        size_t len = get_bytes(items[i], r->local[i], 16);
        assert_true(len == 4 || len == 16);
        r->local_len[i] = len;
        if (len == 4)
            r->n_local4++;
        else
            r->n_local6++;
    }
}

static void decode_flows(dr_report_t *r, const cbor_item_t *v)
{
    size_t n = array_size(v);
    cbor_item_t **items = cbor_array_handle(v);
    assert_true(n <= DR_MAX_FLOWS);
    assert_true(n > 0);
    r->n_flows = n;
    for (size_t i = 0; i < n; i++) {
        dr_flow_t *f = &r->flows[i];
        assert_int_equal(array_size(items[i]), 10);
        cbor_item_t **e = cbor_array_handle(items[i]);
        f->kind = get_uint_max(e[0], 0x3ff);
        assert_true((f->kind & 3u) <= 2u);
        if (cbor_isa_uint(e[1])) {
            uint64_t ref = get_uint(e[1]);
            /* A back-reference points at an earlier flow of this report. */
            assert_true(ref < i);
            f->remote_ref = (long)ref;
            f->family = r->flows[ref].family;
            memcpy(f->remote, r->flows[ref].remote, 16);
        } else {
            size_t len = get_bytes(e[1], f->remote, 16);
            assert_true(len == 4 || len == 16);
            f->family = len == 4 ? 4 : 6;
            f->remote_ref = -1;
        }
        f->local_port = get_uint_max(e[2], 0xffff);
        f->remote_port = get_uint_max(e[3], 0xffff);
        f->bytes_in = get_uint(e[4]);
        f->bytes_out = get_uint(e[5]);
        f->packets_in = get_uint(e[6]);
        f->packets_out = get_uint(e[7]);
        f->first_seen = get_uint(e[8]);
        f->last_seen_delta = get_uint(e[9]);
        /* A flow exists because it carried at least one packet. */
        assert_true(f->packets_in + f->packets_out > 0);
    }
}

static void decode_listeners(dr_report_t *r, const cbor_item_t *v)
{
    size_t n = array_size(v);
    cbor_item_t **items = cbor_array_handle(v);
    assert_true(n <= DR_MAX_LISTENERS);
    r->n_listeners = n;
    for (size_t i = 0; i < n; i++) {
        dr_listener_t *l = &r->listeners[i];
        size_t k = array_size(items[i]);
        assert_true(k == 3 || k == 4);
        cbor_item_t **e = cbor_array_handle(items[i]);
        l->proto = get_uint_max(e[0], 1);
        l->family = get_uint(e[1]);
        assert_true(l->family == 4 || l->family == 6);
        l->port = get_uint_max(e[2], 0xffff);
        if (k == 4) {
            l->addr_present = true;
            l->addr_len = get_bytes(e[3], l->addr, 16);
            assert_true(l->addr_len == 0 || l->addr_len == (l->family == 4 ? 4u : 16u));
        }
    }
}

static void decode_system(dr_report_t *r, const cbor_item_t *v)
{
    assert_true(cbor_isa_map(v));
    assert_true(cbor_map_is_definite(v));
    struct cbor_pair *pairs = cbor_map_handle(v);
    for (size_t i = 0; i < cbor_map_size(v); i++) {
        uint64_t k = get_uint_max(pairs[i].key, 7);
        assert_false(r->sys_present[k]);
        r->sys_present[k] = true;
        if (k == 7)
            r->boot_time = get_uint_max(pairs[i].value, 0xffffffffu);
        else
            get_text(pairs[i].value, r->sys[k], sizeof r->sys[k]);
    }
    assert_true(r->sys_present[4]); /* agent_version is required */
}

static void decode_counters(dr_report_t *r, const cbor_item_t *v)
{
    assert_true(cbor_isa_map(v));
    assert_true(cbor_map_is_definite(v));
    struct cbor_pair *pairs = cbor_map_handle(v);
    for (size_t i = 0; i < cbor_map_size(v); i++) {
        uint64_t k = get_uint_max(pairs[i].key, DR_MAX_COUNTERS - 1);
        assert_false(r->counter_present[k]);
        r->counter_present[k] = true;
        r->counters[k] = get_uint_max(pairs[i].value, 0xffffffffu);
        assert_true(r->counters[k] != 0); /* zero counters are omitted */
    }
}

static void decode_overflow(dr_report_t *r, const cbor_item_t *v)
{
    size_t n = array_size(v);
    cbor_item_t **items = cbor_array_handle(v);
    assert_true(n >= 1 && n <= 6);
    r->n_overflow = n;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(array_size(items[i]), 3);
        cbor_item_t **e = cbor_array_handle(items[i]);
        r->overflow[i][0] = get_uint_max(e[0], 5);
        r->overflow[i][1] = get_uint(e[1]);
        r->overflow[i][2] = get_uint(e[2]);
        for (size_t j = 0; j < i; j++)
            assert_true(r->overflow[j][0] != r->overflow[i][0]);
    }
}

/*
 * Walks the raw bytes of one CBOR item: every head in its shortest form,
 * every length definite, only the types a report uses (unsigned integers,
 * byte and text strings, arrays, maps, `true`). Returns the item's end.
 */
static size_t walk_canonical(const uint8_t *msg, size_t len, size_t pos, unsigned depth)
{
    assert_true(depth < 8);
    assert_true(pos < len);
    unsigned major = msg[pos] >> 5, ai = msg[pos] & 31u;
    pos++;
    uint64_t value = ai;
    if (major == 7) {
        assert_int_equal(ai, 21); /* true */
        return pos;
    }
    if (ai >= 24) {
        assert_true(ai <= 27); /* no indefinite lengths, no reserved values */
        size_t n = (size_t)1 << (ai - 24);
        static const uint64_t min_of[4] = {24, 0x100, 0x10000, 0x100000000u};
        assert_true(pos + n <= len);
        value = 0;
        for (size_t i = 0; i < n; i++)
            value = (value << 8) | msg[pos + i];
        pos += n;
        assert_true(value >= min_of[ai - 24]); /* shortest form */
    }
    switch (major) {
    case 0:
        return pos;
    case 2:
    case 3:
        assert_true(value <= len - pos);
        return pos + (size_t)value;
    case 4:
    case 5:
        for (uint64_t i = 0; i < value * (major == 5 ? 2u : 1u); i++)
            pos = walk_canonical(msg, len, pos, depth + 1);
        return pos;
    default:
        fail_msg("CBOR major type %u is not used in reports", major);
        return len;
    }
}

dr_report_t *dr_decode(const uint8_t *msg, size_t len)
{
    assert_int_equal(walk_canonical(msg, len, 0, 0), len);
    struct cbor_load_result res;
    cbor_item_t *root = cbor_load(msg, len, &res);
    assert_non_null(root);
    assert_int_equal(res.error.code, CBOR_ERR_NONE);
    assert_int_equal(res.read, len); /* one item, nothing after it */

    dr_report_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->length = len;
    assert_true(cbor_isa_map(root));
    assert_true(cbor_map_is_definite(root));
    struct cbor_pair *pairs = cbor_map_handle(root);
    bool seen[16] = {false};
    r->keys = cbor_map_size(root);
    for (size_t i = 0; i < r->keys; i++) {
        uint64_t k = get_uint_max(pairs[i].key, 15); /* this agent sends no key >= 16 */
        const cbor_item_t *v = pairs[i].value;
        assert_false(seen[k]);
        seen[k] = true;
        switch (k) {
        case 0:
            r->version = get_uint(v);
            assert_int_equal(r->version, 1);
            break;
        case 1:
            get_text(v, r->device_id, sizeof r->device_id);
            assert_true(strlen(r->device_id) >= 1 && strlen(r->device_id) <= 128);
            break;
        case 2:
            r->boot_id = get_uint_max(v, 0xffffffffu);
            break;
        case 3:
            r->seq = get_uint_max(v, 0xffffffffu);
            break;
        case 4:
            r->period_start = get_uint_max(v, 0xffffffffu);
            break;
        case 5:
            r->period_end = get_uint_max(v, 0xffffffffu);
            break;
        case 6:
            r->interval = get_uint_max(v, 0xffffffffu);
            break;
        case 7:
            r->has_part = true;
            r->part = get_uint(v);
            assert_true(r->part > 0); /* absent means 0 */
            break;
        case 8:
            assert_true(cbor_is_bool(v) && cbor_get_bool(v));
            r->more = true;
            break;
        case 9:
            r->has_local = true;
            decode_local(r, v);
            break;
        case 10:
            r->has_flows = true;
            decode_flows(r, v);
            break;
        case 11:
            r->has_listeners = true;
            decode_listeners(r, v);
            break;
        case 12:
            r->has_system = true;
            decode_system(r, v);
            break;
        case 13:
            r->has_counters = true;
            decode_counters(r, v);
            break;
        case 14:
            r->has_overflow = true;
            decode_overflow(r, v);
            break;
        case 15:
            r->has_uptime = true;
            r->uptime = get_uint_max(v, 0xffffffffu);
            break;
        default:
            fail();
        }
    }
    for (unsigned k = 0; k <= 6; k++)
        assert_true(seen[k]); /* required keys */
    assert_true(r->period_end >= r->period_start);

    /* Flows name their local address by index among their family's. */
    for (size_t i = 0; i < r->n_flows; i++) {
        const dr_flow_t *f = &r->flows[i];
        unsigned idx = (unsigned)(f->kind >> 7) & 7u;
        assert_true(idx < (f->family == 4 ? r->n_local4 : r->n_local6));
    }
    cbor_decref(&root);
    return r;
}

uint64_t dr_counter(const dr_report_t *r, unsigned id)
{
    return id < DR_MAX_COUNTERS && r->counter_present[id] ? r->counters[id] : 0;
}

bool dr_overflow(const dr_report_t *r, unsigned code, uint64_t *packets, uint64_t *bytes)
{
    for (size_t i = 0; i < r->n_overflow; i++) {
        if (r->overflow[i][0] == code) {
            *packets = r->overflow[i][1];
            *bytes = r->overflow[i][2];
            return true;
        }
    }
    return false;
}

const uint8_t *dr_flow_local(const dr_report_t *r, const dr_flow_t *f)
{
    unsigned idx = (unsigned)(f->kind >> 7) & 7u;
    size_t want = f->family == 4 ? 4u : 16u;
    for (size_t i = 0; i < r->n_local; i++) {
        if (r->local_len[i] != want)
            continue;
        if (idx == 0)
            return r->local[i];
        idx--;
    }
    return NULL;
}
