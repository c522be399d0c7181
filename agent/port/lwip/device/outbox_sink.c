/*
 * outbox_sink.c - the --out FILE sink of vigil-lwip-device (see
 * outbox_sink.h). It must never release a report it did not write and
 * flush, and never call lwIP.
 */
#include "outbox_sink.h"

#include <errno.h>
#include <string.h>

bool report_file_open(report_file_t *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    if (strcmp(path, "-") == 0) {
        f->out = stdout;
        return true;
    }
    f->out = fopen(path, "wb");
    return f->out != NULL;
}

static bool write_record(report_file_t *f, const uint8_t *msg, size_t len)
{
    uint8_t prefix[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                         (uint8_t)len};
    return fwrite(prefix, 1, sizeof prefix, f->out) == sizeof prefix &&
           fwrite(msg, 1, len, f->out) == len;
}

bool report_file_drain(void *user, vigil_ctx_t *ctx)
{
    report_file_t *f = user;
    if (f->failed)
        return false;
    /* Write everything waiting, flush, and only then release: a report
     * released before it reached the file could be lost by a failed flush. */
    size_t n = vigil_outbox_count(ctx);
    uint32_t last = 0;
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *msg;
        size_t len;
        uint32_t seq;
        if (vigil_outbox_get(ctx, i, &msg, &len, &seq) != VIGIL_OK)
            break;
        if (!write_record(f, msg, len)) {
            f->failed = true;
            break;
        }
        last = seq;
        written++;
    }
    if (!f->failed && written && fflush(f->out) != 0)
        f->failed = true;
    if (f->failed) {
        fprintf(stderr, "vigil-lwip-device: writing %s failed: %s (%zu reports kept in the "
                "outbox)\n", f->path, strerror(errno), vigil_outbox_count(ctx));
        return false;
    }
    if (written) {
        size_t released = vigil_outbox_release(ctx, last);
        f->reports += released;
    }
    return true;
}

bool report_file_close(report_file_t *f)
{
    if (!f->out)
        return !f->failed;
    if (f->out == stdout) {
        if (fflush(stdout) != 0)
            f->failed = true;
    } else if (fclose(f->out) != 0) {
        if (!f->failed)
            fprintf(stderr, "vigil-lwip-device: closing %s failed: %s\n", f->path,
                    strerror(errno));
        f->failed = true;
    }
    f->out = NULL;
    return !f->failed;
}
