/*
 * intel_source.c - a feed's bytes from a file or an HTTP(S) URL (libcurl),
 * conditionally: a source whose content has not changed since the last
 * good load says so instead of sending it again.
 *
 * What it must never do: hand back a body that is not the whole body the
 * server meant (truncated, cut at a size cap, an error page served with
 * 200), or block forever (connect and total timeouts). Every refusal names
 * the feed and the reason; nothing here touches the engine.
 */
#define _DEFAULT_SOURCE /* st_mtim, strncasecmp */
#include "intel.h"
#include "intel_feed_priv.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROGRESS_STEP (1u << 20)   /* file progress callbacks every MiB */

static void source_fail(intel_feed_error_t *err, const intel_spec_t *spec, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void source_fail(intel_feed_error_t *err, const intel_spec_t *spec, const char *fmt, ...)
{
    memset(err, 0, sizeof *err);
    snprintf(err->feed, sizeof err->feed, "%s", spec->feed);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
}

/* ---- content types ---- */

bool intel_content_type_ok(intel_format_t format, const char *content_type, const char **why)
{
    if (!content_type || !*content_type)
        return true;
    char type[128];
    size_t n = strcspn(content_type, ";");
    while (n > 0 && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t'))
        n--;
    if (n >= sizeof type)
        n = sizeof type - 1;
    for (size_t i = 0; i < n; i++) {
        char c = content_type[i];
        type[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    type[n] = '\0';
    bool text = strncmp(type, "text/", 5) == 0;
    bool json = strcmp(type, "application/json") == 0 ||
                (strncmp(type, "application/", 12) == 0 && n > 5 &&
                 strcmp(type + n - 5, "+json") == 0);
    bool raw = strcmp(type, "application/csv") == 0 ||
               strcmp(type, "application/octet-stream") == 0;
    if (strcmp(type, "text/html") == 0 || strcmp(type, "application/xhtml+xml") == 0) {
        if (why)
            *why = "content type is HTML (an error or login page?)";
        return false;
    }
    bool ok;
    switch (format) {
    case INTEL_FORMAT_STIX:
    case INTEL_FORMAT_MISP:
        ok = json || text;
        break;
    case INTEL_FORMAT_PLAIN:
    case INTEL_FORMAT_CSV:
        ok = text || raw;
        break;
    default:
        ok = json || text || raw;
        break;
    }
    if (!ok && why)
        *why = format == INTEL_FORMAT_STIX || format == INTEL_FORMAT_MISP
                   ? "content type is neither JSON nor text"
                   : "content type is not text, CSV or application/octet-stream";
    return ok;
}

/* ---- files ---- */

static uint64_t limit_of(const intel_fetch_options_t *o)
{
    return o && o->max_bytes ? o->max_bytes : INTEL_DEFAULT_MAX_BYTES;
}

static intel_fetch_status_t fetch_file(const intel_spec_t *spec,
                                       const intel_fetch_options_t *opt,
                                       const intel_validators_t *prev, intel_fetched_t *out,
                                       intel_feed_error_t *err)
{
    /* O_NONBLOCK: a FIFO given as a feed must not hang the open. */
    int fd = open(spec->location, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        source_fail(err, spec, "%s", strerror(errno));
        return INTEL_FETCH_FAILED;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        source_fail(err, spec, "not a regular file");
        close(fd);
        return INTEL_FETCH_FAILED;
    }
    intel_validators_t *v = &out->validators;
    v->have_file = true;
    v->file_dev = (uint64_t)st.st_dev;
    v->file_ino = (uint64_t)st.st_ino;
    v->file_size = (uint64_t)st.st_size;
    v->file_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (prev && prev->have_file && prev->file_dev == v->file_dev &&
        prev->file_ino == v->file_ino && prev->file_size == v->file_size &&
        prev->file_mtime_ns == v->file_mtime_ns) {
        close(fd);
        return INTEL_FETCH_NOT_MODIFIED;
    }
    uint64_t size = (uint64_t)st.st_size, limit = limit_of(opt);
    if (size == 0 || size > limit || size > SIZE_MAX - 1) {
        if (size == 0)
            source_fail(err, spec, "empty file");
        else
            source_fail(err, spec, "file of %llu bytes is over the limit of %llu bytes",
                        (unsigned long long)size, (unsigned long long)limit);
        close(fd);
        return INTEL_FETCH_FAILED;
    }
    char *data = malloc((size_t)size + 1);
    if (!data) {
        source_fail(err, spec, "out of memory for %llu bytes", (unsigned long long)size);
        close(fd);
        return INTEL_FETCH_FAILED;
    }
    size_t got = 0, reported = 0;
    while (got < size) {
        size_t want = (size_t)size - got;
        if (want > PROGRESS_STEP)
            want = PROGRESS_STEP;
        ssize_t r = read(fd, data + got, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0)
                source_fail(err, spec, "read: %s", strerror(errno));
            else
                source_fail(err, spec, "file shrank while read (%zu of %llu bytes)", got,
                            (unsigned long long)size);
            free(data);
            close(fd);
            return INTEL_FETCH_FAILED;
        }
        got += (size_t)r;
        if (opt && opt->progress && (got - reported >= PROGRESS_STEP || got == size)) {
            opt->progress(opt->progress_arg, spec->feed, got, size);
            reported = got;
        }
    }
    close(fd);
    data[got] = '\0';
    out->data = data;
    out->len = got;
    return INTEL_FETCH_OK;
}

/* ---- HTTP(S) ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct {
    char *data;
    size_t len, cap;
    uint64_t limit;
    bool over;
    bool encoded;               /* Content-Encoding: lengths are of the encoded body */
    char etag[INTEL_VALIDATOR_MAX + 1];
    char last_modified[INTEL_VALIDATOR_MAX + 1];
    const intel_fetch_options_t *opt;
    const char *feed;
} download_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    download_t *d = arg;
    size_t n = size * nmemb;
    if (n > d->limit - d->len) {
        d->over = true;
        return 0;
    }
    if (d->len + n + 1 > d->cap) {
        size_t next = d->cap ? d->cap : 65536;
        while (next < d->len + n + 1)
            next *= 2;
        char *grown = realloc(d->data, next);
        if (!grown)
            return 0;
        d->data = grown;
        d->cap = next;
    }
    memcpy(d->data + d->len, ptr, n);
    d->len += n;
    return n;
}

/* Keeps a header's value when it is short and printable (it will be sent
 * back in the next request's headers). */
static void keep_header(const char *line, size_t n, size_t name_len, char *out, size_t cap)
{
    const char *v = line + name_len;
    size_t len = n - name_len;
    while (len > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    out[0] = '\0';
    if (len == 0 || len >= cap)
        return;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return;
    memcpy(out, v, len);
    out[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nitems, void *arg)
{
    download_t *d = arg;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or a 100): forget the last one's. */
        d->etag[0] = d->last_modified[0] = '\0';
        d->encoded = false;
    } else if (n > 5 && strncasecmp(line, "ETag:", 5) == 0) {
        keep_header(line, n, 5, d->etag, sizeof d->etag);
    } else if (n > 14 && strncasecmp(line, "Last-Modified:", 14) == 0) {
        keep_header(line, n, 14, d->last_modified, sizeof d->last_modified);
    } else if (n > 17 && strncasecmp(line, "Content-Encoding:", 17) == 0) {
        char value[32];
        keep_header(line, n, 17, value, sizeof value);
        d->encoded = value[0] && strcasecmp(value, "identity") != 0;
    }
    return n;
}

static int on_progress(void *arg, curl_off_t total, curl_off_t now, curl_off_t ut,
                       curl_off_t un)
{
    (void)ut;
    (void)un;
    download_t *d = arg;
    d->opt->progress(d->opt->progress_arg, d->feed, (uint64_t)now, (uint64_t)total);
    return 0;
}

static intel_fetch_status_t fetch_url(const intel_spec_t *spec, const intel_fetch_options_t *opt,
                                      const intel_validators_t *prev, intel_fetched_t *out,
                                      intel_feed_error_t *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        source_fail(err, spec, "libcurl: %s", curl_easy_strerror(curl_init_rc));
        return INTEL_FETCH_FAILED;
    }
    CURL *curl = curl_easy_init();
    download_t d = { 0 };
    d.limit = limit_of(opt);
    d.opt = opt;
    d.feed = spec->feed;
    struct curl_slist *headers = NULL;
    char line[INTEL_VALIDATOR_MAX + 32];
    bool conditional = false;
    if (prev && prev->etag[0]) {
        snprintf(line, sizeof line, "If-None-Match: %s", prev->etag);
        headers = curl_slist_append(headers, line);
        conditional = true;
    }
    if (prev && prev->last_modified[0]) {
        snprintf(line, sizeof line, "If-Modified-Since: %s", prev->last_modified);
        headers = curl_slist_append(headers, line);
        conditional = true;
    }
    if (!curl || (conditional && !headers)) {
        source_fail(err, spec, "libcurl: out of memory");
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
        return INTEL_FETCH_FAILED;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    long timeout = opt && opt->timeout_seconds > 0 ? opt->timeout_seconds
                                                   : INTEL_DEFAULT_TIMEOUT_S;
    long connect = opt && opt->connect_timeout_seconds > 0 ? opt->connect_timeout_seconds
                                                           : INTEL_CONNECT_TIMEOUT_S;
    curl_easy_setopt(curl, CURLOPT_URL, spec->location);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, connect);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "vigil-intel/1");
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)d.limit);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &d);
    if (opt && opt->progress) {
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &d);
    }
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_off_t length = -1;
    const char *ctype = NULL;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype);
    snprintf(out->content_type, sizeof out->content_type, "%s", ctype ? ctype : "");
    out->http_status = status;
    intel_fetch_status_t result = INTEL_FETCH_FAILED;
    const char *why = NULL;
    if (rc == CURLE_PARTIAL_FILE) {
        source_fail(err, spec, "truncated body: %zu of %lld bytes", d.len, (long long)length);
    } else if (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && d.over)) {
        source_fail(err, spec, "body over the limit of %llu bytes",
                    (unsigned long long)d.limit);
    } else if (rc != CURLE_OK) {
        source_fail(err, spec, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else if (status == 304) {
        if (conditional)
            result = INTEL_FETCH_NOT_MODIFIED;
        else
            source_fail(err, spec, "HTTP 304 to a request that was not conditional");
    } else if (status < 200 || status > 299) {
        source_fail(err, spec, "HTTP status %ld", status);
    } else if (d.len == 0) {
        source_fail(err, spec, "empty body (HTTP %ld)", status);
    } else if (!d.encoded && length >= 0 && (uint64_t)length != d.len) {
        source_fail(err, spec, "truncated body: %zu of %lld bytes", d.len, (long long)length);
    } else if (!intel_content_type_ok(spec->format, out->content_type, &why)) {
        char quoted[64];
        intel_feed__quote(out->content_type, strlen(out->content_type), quoted, sizeof quoted);
        source_fail(err, spec, "%s: '%s'", why, quoted);
    } else {
        result = INTEL_FETCH_OK;
        d.data[d.len] = '\0';
        out->data = d.data;
        out->len = d.len;
        d.data = NULL;
        snprintf(out->validators.etag, sizeof out->validators.etag, "%s", d.etag);
        snprintf(out->validators.last_modified, sizeof out->validators.last_modified, "%s",
                 d.last_modified);
    }
    free(d.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result;
}

intel_fetch_status_t intel_source_fetch(const intel_spec_t *spec,
                                        const intel_fetch_options_t *options,
                                        const intel_validators_t *previous, intel_fetched_t *out,
                                        intel_feed_error_t *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    if (intel_spec_is_url(spec))
        return fetch_url(spec, options, previous, out, err);
    return fetch_file(spec, options, previous, out, err);
}

void intel_fetched_free(intel_fetched_t *fetched)
{
    if (!fetched)
        return;
    free(fetched->data);
    fetched->data = NULL;
    fetched->len = 0;
}
