/*
 * policy_yaml.c - turns the text of a policy file into a small tree of
 * scalars, sequences and mappings with their line and column, from libyaml's
 * event parser, so the schema (policy.c) can look keys up in any order and
 * point at the exact place of every error.
 *
 * It must never expand an alias (a few lines of anchors and aliases make a
 * billion nodes), never recurse on the input's nesting (the tree is built
 * with an explicit bounded stack), and never keep more than PDOC_MAX_NODES
 * nodes: every limit is an error with a place, not a crash or a stall.
 */
#include "policy_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define PDOC_CHUNK 256

typedef struct pchunk {
    struct pchunk *next;
    size_t used;
    pnode_t nodes[PDOC_CHUNK];
} pchunk_t;

struct pdoc {
    pchunk_t *chunks;
    size_t nodes;
};

typedef struct {
    pnode_t *node;
    pnode_t *last;               /* last child so far, for appending */
} pframe_t;

void pdoc_free(pdoc_t *doc)
{
    if (!doc)
        return;
    pchunk_t *c = doc->chunks;
    while (c) {
        pchunk_t *next = c->next;
        for (size_t i = 0; i < c->used; i++)
            free(c->nodes[i].text);
        free(c);
        c = next;
    }
    free(doc);
}

static void set_error(policy_error_t *err, size_t line, size_t column, const char *reason)
{
    err->line = line;
    err->column = column;
    snprintf(err->reason, sizeof err->reason, "%s", reason);
}

static pnode_t *new_node(pdoc_t *doc, pnode_type_t type, const yaml_mark_t *mark)
{
    if (doc->nodes >= PDOC_MAX_NODES)
        return NULL;
    if (!doc->chunks || doc->chunks->used == PDOC_CHUNK) {
        pchunk_t *c = malloc(sizeof *c);
        if (!c)
            return NULL;
        c->used = 0;
        c->next = doc->chunks;
        doc->chunks = c;
    }
    pnode_t *n = &doc->chunks->nodes[doc->chunks->used++];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->line = mark->line + 1;
    n->column = mark->column + 1;
    doc->nodes++;
    return n;
}

/* libyaml reports reader errors (bad UTF-8, control characters) by byte
 * offset only: count the lines ourselves. */
static void mark_of_offset(const char *text, size_t len, size_t offset, size_t *line, size_t *column)
{
    size_t l = 1, line_start = 0;
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            l++;
            line_start = i + 1;
        }
    }
    *line = l;
    *column = offset - line_start + 1;
}

static void parser_error(const yaml_parser_t *parser, const char *text, size_t len,
                         policy_error_t *err)
{
    const char *problem = parser->problem ? parser->problem : "unknown YAML error";
    if (parser->error == YAML_MEMORY_ERROR) {
        set_error(err, 0, 0, "out of memory while parsing YAML");
        return;
    }
    if (parser->error == YAML_READER_ERROR) {
        size_t line, column;
        mark_of_offset(text, len, parser->problem_offset, &line, &column);
        err->line = line;
        err->column = column;
        if (parser->problem_value != -1)
            snprintf(err->reason, sizeof err->reason, "YAML: %s (byte 0x%02x)", problem,
                     (unsigned)parser->problem_value & 0xffu);
        else
            snprintf(err->reason, sizeof err->reason, "YAML: %s", problem);
        return;
    }
    err->line = parser->problem_mark.line + 1;
    err->column = parser->problem_mark.column + 1;
    if (parser->context)
        snprintf(err->reason, sizeof err->reason, "YAML: %s %s that started on line %zu", problem,
                 parser->context, (size_t)parser->context_mark.line + 1);
    else
        snprintf(err->reason, sizeof err->reason, "YAML: %s", problem);
}

/* Anchors, aliases and tags are refused: the policy schema needs none of
 * them, and aliases are how a small file becomes a huge tree. */
static bool refuse_extras(const yaml_event_t *ev, policy_error_t *err)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    case YAML_ALIAS_EVENT:
        set_error(err, ev->start_mark.line + 1, ev->start_mark.column + 1,
                  "aliases (*name) are not allowed in a policy: write the value out");
        return false;
    default:
        return true;
    }
    if (anchor) {
        set_error(err, ev->start_mark.line + 1, ev->start_mark.column + 1,
                  "anchors (&name) are not allowed in a policy: write the value out");
        return false;
    }
    if (tag) {
        set_error(err, ev->start_mark.line + 1, ev->start_mark.column + 1,
                  "explicit YAML tags (!tag) are not allowed in a policy: quote the value instead");
        return false;
    }
    return true;
}

static void append(pframe_t *frame, pnode_t *n)
{
    if (frame->last)
        frame->last->next = n;
    else
        frame->node->child = n;
    frame->last = n;
    frame->node->count++;
}

/* Handles one event; returns false with *err set to stop. */
static bool on_event(pdoc_t *doc, const yaml_event_t *ev, pframe_t *stack, size_t *depth,
                     const pnode_t **root, int *documents, policy_error_t *err)
{
    if (!refuse_extras(ev, err))
        return false;
    size_t line = ev->start_mark.line + 1, column = ev->start_mark.column + 1;
    pnode_t *n = NULL;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*documents > 1) {
            set_error(err, line, column, "a policy file holds one YAML document, this is a second");
            return false;
        }
        return true;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        (*depth)--;
        return true;
    case YAML_SCALAR_EVENT:
        n = new_node(doc, PNODE_SCALAR, &ev->start_mark);
        if (!n)
            break;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->len = ev->data.scalar.length;
        n->text = malloc(n->len + 1);
        if (!n->text) {
            set_error(err, 0, 0, "out of memory while parsing YAML");
            return false;
        }
        memcpy(n->text, ev->data.scalar.value, n->len);
        n->text[n->len] = '\0';
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (*depth >= PDOC_MAX_DEPTH) {
            err->line = line;
            err->column = column;
            snprintf(err->reason, sizeof err->reason, "nesting deeper than %d levels",
                     PDOC_MAX_DEPTH);
            return false;
        }
        n = new_node(doc, ev->type == YAML_SEQUENCE_START_EVENT ? PNODE_SEQUENCE : PNODE_MAPPING,
                      &ev->start_mark);
        break;
    default:
        return true;
    }
    if (!n) {
        if (doc->nodes >= PDOC_MAX_NODES) {
            err->line = line;
            err->column = column;
            snprintf(err->reason, sizeof err->reason, "more than %d YAML nodes", PDOC_MAX_NODES);
        } else
            set_error(err, 0, 0, "out of memory while parsing YAML");
        return false;
    }
    if (*depth == 0)
        *root = n;
    else
        append(&stack[*depth - 1], n);
    if (n->type != PNODE_SCALAR) {
        stack[*depth].node = n;
        stack[*depth].last = NULL;
        (*depth)++;
    }
    return true;
}

pdoc_t *pdoc_parse(const char *text, size_t len, const pnode_t **root, policy_error_t *err)
{
    *root = NULL;
    if (len > POLICY_MAX_BYTES) {
        set_error(err, 0, 0, "document larger than 1 MiB");
        return NULL;
    }
    pdoc_t *doc = calloc(1, sizeof *doc);
    yaml_parser_t parser;
    if (!doc || !yaml_parser_initialize(&parser)) {
        free(doc);
        set_error(err, 0, 0, "out of memory while parsing YAML");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    pframe_t stack[PDOC_MAX_DEPTH];
    size_t depth = 0;
    int documents = 0;
    bool ok = true, done = false;
    while (ok && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            parser_error(&parser, text, len, err);
            ok = false;
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        ok = on_event(doc, &ev, stack, &depth, root, &documents, err);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (!ok) {
        pdoc_free(doc);
        *root = NULL;
        return NULL;
    }
    return doc;
}
