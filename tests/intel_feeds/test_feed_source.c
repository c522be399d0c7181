/*
 * Sources and the feed manager against real I/O: files, and URLs served by
 * tests/intel_feeds/http_server.py on 127.0.0.1 (started here, on a port
 * of its choosing, and killed at the end). Conditional GETs and 304, HTTP
 * errors, truncated, empty, oversized and slow bodies, wrong content types;
 * after every failed load the engine still answers with the last good
 * indicators. The background thread reloads on request, also from a
 * signal handler.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "intel.h"

static char work[64];
static pid_t server_pid;
static int server_port;

typedef struct {
    int status;                /* 0: 200 */
    const char *type, *etag, *last_modified, *body, *location;
    long content_length;       /* 0: the body's */
    bool no_length;
    int delay;
} page_t;

static void put_page(const char *name, const page_t *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "status", json_integer(p->status ? p->status : 200));
    if (p->type)
        json_object_set_new(j, "type", json_string(p->type));
    if (p->etag)
        json_object_set_new(j, "etag", json_string(p->etag));
    if (p->last_modified)
        json_object_set_new(j, "last_modified", json_string(p->last_modified));
    if (p->location)
        json_object_set_new(j, "location", json_string(p->location));
    json_object_set_new(j, "body", json_string(p->body ? p->body : ""));
    if (p->content_length)
        json_object_set_new(j, "content_length", json_integer(p->content_length));
    if (p->no_length)
        json_object_set_new(j, "no_length", json_true());
    if (p->delay)
        json_object_set_new(j, "delay", json_integer(p->delay));
    char tmp[128], path[128];
    snprintf(tmp, sizeof tmp, "%s/site/.%s.tmp", work, name);
    snprintf(path, sizeof path, "%s/site/%s.json", work, name);
    assert_int_equal(json_dump_file(j, tmp, 0), 0);
    assert_int_equal(rename(tmp, path), 0);   /* the server never reads half a page */
    json_decref(j);
}

/* Lines of requests.log, and the last one. */
static size_t requests(char *last, size_t n)
{
    char path[128], line[512];
    snprintf(path, sizeof path, "%s/requests.log", work);
    FILE *f = fopen(path, "r");
    size_t count = 0;
    if (last && n)
        last[0] = '\0';
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        count++;
        if (last)
            snprintf(last, n, "%s", line);
    }
    fclose(f);
    return count;
}

static intel_spec_t url_spec(const char *prefix, const char *name)
{
    char text[256];
    snprintf(text, sizeof text, "%shttp://127.0.0.1:%d/%s", prefix, server_port, name);
    intel_spec_t spec;
    char why[200];
    if (!intel_spec_parse(text, &spec, why, sizeof why))
        fail_msg("%s: %s", text, why);
    return spec;
}

static intel_fetch_status_t fetch(const intel_spec_t *spec, const intel_fetch_options_t *opt,
                                  const intel_validators_t *prev, intel_fetched_t *out,
                                  intel_feed_error_t *err)
{
    intel_fetch_status_t st = intel_source_fetch(spec, opt, prev, out, err);
    if (st != INTEL_FETCH_OK)
        assert_null(out->data);
    return st;
}

static void expect_failure(const char *prefix, const char *name, const intel_fetch_options_t *opt,
                           const char *reason)
{
    intel_spec_t spec = url_spec(prefix, name);
    intel_fetched_t out;
    intel_feed_error_t err;
    intel_fetch_status_t st = fetch(&spec, opt, NULL, &out, &err);
    if (st != INTEL_FETCH_FAILED)
        fail_msg("%s: not refused", name);
    assert_string_equal(err.feed, spec.feed);
    if (!strstr(err.reason, reason))
        fail_msg("%s: reason '%s' does not say '%s'", name, err.reason, reason);
}

/* ---- the server ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int start_server(void **state)
{
    (void)state;
    snprintf(work, sizeof work, "/tmp/vigil-intel-http-XXXXXX");
    if (!mkdtemp(work))
        return -1;
    char site[128];
    snprintf(site, sizeof site, "%s/site", work);
    mkdir(site, 0700);
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    server_pid = fork();
    if (server_pid < 0)
        return -1;
    if (server_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", HTTP_SERVER, work, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[32] = "";
    if (!f || !fgets(line, sizeof line, f))
        return -1;
    fclose(f);
    server_port = atoi(line);
    return server_port > 0 ? 0 : -1;
}

static int stop_server(void **state)
{
    (void)state;
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- URL sources ---- */

#define LM "Wed, 21 Oct 2015 07:28:00 GMT"

static void test_url_200_with_validators_then_a_conditional_request_answered_304(void **state)
{
    (void)state;
    put_page("c2.txt", &(page_t){ .type = "text/plain; charset=utf-8", .etag = "\"v1\"",
                                  .last_modified = LM, .body = "203.0.113.66\n" });
    intel_spec_t spec = url_spec("", "c2.txt");
    assert_string_equal(spec.feed, "c2");
    intel_fetched_t out;
    intel_feed_error_t err;
    size_t before = requests(NULL, 0);
    assert_int_equal(fetch(&spec, NULL, NULL, &out, &err), INTEL_FETCH_OK);
    assert_int_equal(out.len, 13);
    assert_string_equal(out.data, "203.0.113.66\n");
    assert_int_equal(out.http_status, 200);
    assert_string_equal(out.content_type, "text/plain; charset=utf-8");
    assert_string_equal(out.validators.etag, "\"v1\"");
    assert_string_equal(out.validators.last_modified, LM);
    char last[512];
    assert_int_equal(requests(last, sizeof last), before + 1);
    assert_string_equal(last, "/c2.txt\t-\t-\n");

    intel_validators_t prev = out.validators;
    intel_fetched_free(&out);
    assert_int_equal(fetch(&spec, NULL, &prev, &out, &err), INTEL_FETCH_NOT_MODIFIED);
    assert_int_equal(requests(last, sizeof last), before + 2);
    assert_string_equal(last, "/c2.txt\t\"v1\"\t" LM "\n");

    /* Only one validator known: it alone is sent, and still gets a 304. */
    prev.etag[0] = '\0';
    assert_int_equal(fetch(&spec, NULL, &prev, &out, &err), INTEL_FETCH_NOT_MODIFIED);
    requests(last, sizeof last);
    assert_string_equal(last, "/c2.txt\t-\t" LM "\n");

    /* Changed content: a new ETag, and the body again. */
    put_page("c2.txt", &(page_t){ .type = "text/plain", .etag = "\"v2\"", .body = "192.0.2.1\n" });
    prev = (intel_validators_t){ .etag = "\"v1\"" };
    assert_int_equal(fetch(&spec, NULL, &prev, &out, &err), INTEL_FETCH_OK);
    assert_string_equal(out.data, "192.0.2.1\n");
    assert_string_equal(out.validators.etag, "\"v2\"");
    assert_string_equal(out.validators.last_modified, "");
    intel_fetched_free(&out);
}

static void test_url_failures_name_the_reason(void **state)
{
    (void)state;
    put_page("e500.txt", &(page_t){ .status = 500, .type = "text/plain", .body = "oops\n" });
    put_page("e404.txt", &(page_t){ .status = 404, .type = "text/plain", .body = "gone\n" });
    put_page("cut.txt", &(page_t){ .type = "text/plain", .content_length = 1000,
                                   .body = "203.0.113.66\n203.0.113.67\n" });
    put_page("empty.txt", &(page_t){ .type = "text/plain", .body = "" });
    put_page("login.txt", &(page_t){ .type = "text/html; charset=utf-8",
                                     .body = "<html>Please log in</html>\n" });
    put_page("bin.json", &(page_t){ .type = "application/octet-stream",
                                    .body = "{\"type\":\"bundle\"}" });
    put_page("list.json", &(page_t){ .type = "application/json", .body = "192.0.2.1\n" });
    put_page("unasked304.txt", &(page_t){ .status = 304, .body = "" });
    expect_failure("", "e500.txt", NULL, "HTTP status 500");
    expect_failure("", "e404.txt", NULL, "HTTP status 404");
    expect_failure("", "missing.txt", NULL, "HTTP status 404");
    expect_failure("", "cut.txt", NULL, "truncated body: 26 of 1000 bytes");
    expect_failure("", "empty.txt", NULL, "empty body");
    expect_failure("", "login.txt", NULL, "HTML");
    expect_failure("stix:", "login.txt", NULL, "HTML");
    expect_failure("stix:", "bin.json", NULL, "neither JSON nor text");
    expect_failure("plain:", "list.json", NULL, "not text, CSV or application/octet-stream");
    expect_failure("", "unasked304.txt", NULL, "not conditional");

    /* Size cap: announced by Content-Length, or only found while reading. */
    put_page("big.txt", &(page_t){ .type = "text/plain", .body = "192.0.2.1\n192.0.2.2\n" });
    put_page("big-nolen.txt",
             &(page_t){ .type = "text/plain", .no_length = true, .body = "192.0.2.1\n192.0.2.2\n" });
    intel_fetch_options_t small = { .max_bytes = 12 };
    expect_failure("", "big.txt", &small, "over the limit of 12 bytes");
    expect_failure("", "big-nolen.txt", &small, "over the limit of 12 bytes");
    intel_spec_t spec = url_spec("", "big-nolen.txt");
    intel_fetched_t out;
    intel_feed_error_t err;
    assert_int_equal(fetch(&spec, NULL, NULL, &out, &err), INTEL_FETCH_OK);
    assert_int_equal(out.len, 20);
    intel_fetched_free(&out);

    /* Total timeout. */
    put_page("slow.txt", &(page_t){ .type = "text/plain", .delay = 3, .body = "192.0.2.1\n" });
    intel_fetch_options_t quick = { .timeout_seconds = 1 };
    expect_failure("", "slow.txt", &quick, "timed out");

    /* Nobody listening. */
    intel_spec_t closed;
    char why[100];
    assert_true(intel_spec_parse("http://127.0.0.1:1/x.txt", &closed, why, sizeof why));
    assert_int_equal(fetch(&closed, NULL, NULL, &out, &err), INTEL_FETCH_FAILED);
    assert_string_equal(err.feed, "x");
    assert_true(err.reason[0] != '\0');
}

static void test_url_redirect_is_followed_and_validators_are_the_final_responses(void **state)
{
    (void)state;
    put_page("moved.txt", &(page_t){ .status = 302, .etag = "\"moved\"", .location = "/target.txt" });
    put_page("target.txt", &(page_t){ .type = "text/plain", .etag = "\"t1\"", .body = "192.0.2.7\n" });
    intel_spec_t spec = url_spec("", "moved.txt");
    intel_fetched_t out;
    intel_feed_error_t err;
    assert_int_equal(fetch(&spec, NULL, NULL, &out, &err), INTEL_FETCH_OK);
    assert_string_equal(out.data, "192.0.2.7\n");
    assert_string_equal(out.validators.etag, "\"t1\"");
    intel_fetched_free(&out);
}

static void progress(void *arg, const char *feed, uint64_t done, uint64_t total)
{
    (void)feed;
    uint64_t *seen = arg;
    if (total && done == total)
        *seen = done;
}

static void test_content_types_by_format(void **state)
{
    (void)state;
    static const struct { intel_format_t f; const char *type; bool ok; } cases[] = {
        { INTEL_FORMAT_PLAIN, "text/plain", true },
        { INTEL_FORMAT_PLAIN, "application/octet-stream", true },
        { INTEL_FORMAT_CSV, "text/csv; charset=utf-8", true },
        { INTEL_FORMAT_CSV, "application/csv", true },
        { INTEL_FORMAT_CSV, "application/json", false },
        { INTEL_FORMAT_STIX, "application/stix+json;version=2.1", true },
        { INTEL_FORMAT_STIX, "application/taxii+json", true },
        { INTEL_FORMAT_MISP, "application/json", true },
        { INTEL_FORMAT_MISP, "text/plain", true },
        { INTEL_FORMAT_MISP, "application/octet-stream", false },
        { INTEL_FORMAT_MISP, "TEXT/HTML", false },
        { INTEL_FORMAT_PLAIN, "text/html", false },
        { INTEL_FORMAT_AUTO, "application/json", true },
        { INTEL_FORMAT_AUTO, "text/html;charset=utf-8", false },
        { INTEL_FORMAT_AUTO, "image/png", false },
        { INTEL_FORMAT_AUTO, "", true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        if (intel_content_type_ok(cases[i].f, cases[i].type, &why) != cases[i].ok)
            fail_msg("%s for %s", cases[i].type, intel_format_name(cases[i].f));
        if (!cases[i].ok)
            assert_non_null(why);
    }
}

/* ---- file sources ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_file_source_reads_refuses_and_notices_no_change(void **state)
{
    (void)state;
    char path[128], text[160];
    snprintf(path, sizeof path, "%s/local.txt", work);
    write_file(path, "192.0.2.1\n");
    snprintf(text, sizeof text, "plain:%s", path);
    intel_spec_t spec;
    char why[100];
    assert_true(intel_spec_parse(text, &spec, why, sizeof why));
    intel_fetched_t out;
    intel_feed_error_t err;
    uint64_t seen = 0;
    intel_fetch_options_t opt = { .progress = progress, .progress_arg = &seen };
    assert_int_equal(fetch(&spec, &opt, NULL, &out, &err), INTEL_FETCH_OK);
    assert_string_equal(out.data, "192.0.2.1\n");
    assert_int_equal(seen, 10);
    assert_true(out.validators.have_file);
    intel_validators_t prev = out.validators;
    intel_fetched_free(&out);
    assert_int_equal(fetch(&spec, NULL, &prev, &out, &err), INTEL_FETCH_NOT_MODIFIED);
    write_file(path, "192.0.2.1\n192.0.2.2\n");
    assert_int_equal(fetch(&spec, NULL, &prev, &out, &err), INTEL_FETCH_OK);
    assert_int_equal(out.len, 20);
    intel_fetched_free(&out);
    intel_fetch_options_t small = { .max_bytes = 19 };
    assert_int_equal(fetch(&spec, &small, NULL, &out, &err), INTEL_FETCH_FAILED);
    assert_string_equal(err.reason, "file of 20 bytes is over the limit of 19 bytes");

    write_file(path, "");
    assert_int_equal(fetch(&spec, NULL, NULL, &out, &err), INTEL_FETCH_FAILED);
    assert_string_equal(err.feed, "local");
    assert_string_equal(err.reason, "empty file");

    snprintf(text, sizeof text, "%s/nothing.txt", work);
    assert_true(intel_spec_parse(text, &spec, why, sizeof why));
    assert_int_equal(fetch(&spec, NULL, NULL, &out, &err), INTEL_FETCH_FAILED);
    assert_string_equal(err.reason, "No such file or directory");

    assert_true(intel_spec_parse(work, &spec, why, sizeof why));
    assert_int_equal(fetch(&spec, NULL, NULL, &out, &err), INTEL_FETCH_FAILED);
    assert_string_equal(err.reason, "not a regular file");
}

/* ---- the manager ---- */

static size_t matches(intel_t *engine, const char *addr, intel_match_t *m)
{
    intel_net_t n;
    assert_true(intel_net_parse(addr, strlen(addr), &n, NULL));
    return intel_lookup(engine, n.family, n.addr, (int64_t)time(NULL), m, 1);
}

static char logged[8][256];
static size_t logged_count;

static void log_line(void *arg, const char *message)
{
    (void)arg;
    if (logged_count < 8)
        snprintf(logged[logged_count], sizeof logged[0], "%s", message);
    logged_count++;
}

static intel_feed_status_t status_of(intel_feeds_t *feeds, size_t i)
{
    intel_feed_status_t st[4];
    size_t n = intel_feeds_status(feeds, st, 4);
    assert_true(i < n);
    return st[i];
}

static void test_manager_keeps_the_last_good_indicators_through_every_failure(void **state)
{
    (void)state;
    const page_t good = { .type = "text/plain", .etag = "\"g1\"", .last_modified = LM,
                          .body = "# c2\n203.0.113.66\n198.18.7.0/24\n" };
    put_page("mgr.txt", &good);
    intel_t *engine = intel_new();
    intel_feeds_t *feeds = intel_feeds_new(engine);
    logged_count = 0;
    intel_feeds_set_log(feeds, log_line, NULL);
    intel_spec_t spec = url_spec("", "mgr.txt");
    intel_feed_error_t err;
    assert_true(intel_feeds_add(feeds, &spec, 60, &err));
    assert_int_equal(intel_feeds_refresh(feeds, false, 1000), 0);
    intel_match_t m;
    assert_int_equal(matches(engine, "198.18.7.9", &m), 1);
    assert_string_equal(m.feed, "mgr");
    assert_string_equal(m.category, "blocklist");
    intel_feed_status_t st = status_of(feeds, 0);
    assert_int_equal(st.loads, 1);
    assert_int_equal(st.indicators, 2);
    assert_int_equal(st.last_success, 1000);
    assert_int_equal(st.last_change, 1000);
    assert_false(st.failing);
    assert_string_equal(st.validators.etag, "\"g1\"");
    assert_int_equal(st.parse.ipv4_prefix, 1);

    static const struct { page_t page; const char *error; } bad[] = {
        { { .status = 500, .type = "text/plain", .body = "x\n" }, "feed mgr: HTTP status 500" },
        { { .type = "text/plain", .content_length = 500, .body = "203.0.113.9\n" },
          "feed mgr: truncated body: 12 of 500 bytes" },
        { { .type = "text/plain", .body = "" }, "feed mgr: empty body (HTTP 200)" },
        { { .type = "text/html", .body = "<html></html>\n" }, "feed mgr: content type is HTML" },
        { { .type = "text/plain", .body = "203.0.113.9\nnot-an-address\n" },
          "feed mgr: line 2: 'not-an-address': not an IPv4 address" },
        { { .type = "application/octet-stream", .body = "{\"type\":\"bundle\",\"objects\":[]}" },
          "feed mgr: content type is neither JSON nor text for a stix feed" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put_page("mgr.txt", &bad[i].page);
        assert_int_equal(intel_feeds_refresh(feeds, true, 1001 + (int64_t)i), 1);
        if (matches(engine, "198.18.7.9", &m) != 1 || matches(engine, "203.0.113.66", &m) != 1)
            fail_msg("after '%s' the old indicators are gone", bad[i].error);
        assert_int_equal(matches(engine, "203.0.113.9", &m), 0);
        st = status_of(feeds, 0);
        assert_true(st.failing);
        assert_int_equal(st.failures, i + 1);
        assert_int_equal(st.loads, 1);
        assert_int_equal(st.last_attempt, 1001 + (int64_t)i);
        assert_int_equal(st.last_success, 1000);
        if (strncmp(st.last_error, bad[i].error, strlen(bad[i].error)) != 0)
            fail_msg("last error '%s', expected '%s'", st.last_error, bad[i].error);
        assert_string_equal(logged[i], st.last_error);
    }
    assert_int_equal(logged_count, 6);

    /* The good content again: the validators of the last good load make it a 304. */
    put_page("mgr.txt", &good);
    size_t before = requests(NULL, 0);
    assert_int_equal(intel_feeds_refresh(feeds, true, 2000), 0);
    char last[512];
    assert_int_equal(requests(last, sizeof last), before + 1);
    assert_string_equal(last, "/mgr.txt\t\"g1\"\t" LM "\n");
    st = status_of(feeds, 0);
    assert_int_equal(st.not_modified, 1);
    assert_false(st.failing);
    assert_int_equal(st.last_success, 2000);
    assert_int_equal(st.last_change, 1000);
    assert_true(strstr(st.last_error, "stix") != NULL);   /* kept for the operator */

    /* New content replaces the old in full. */
    put_page("mgr.txt", &(page_t){ .type = "text/plain", .etag = "\"g2\"", .body = "192.0.2.44\n" });
    assert_int_equal(intel_feeds_refresh(feeds, true, 2001), 0);
    assert_int_equal(matches(engine, "203.0.113.66", &m), 0);
    assert_int_equal(matches(engine, "192.0.2.44", &m), 1);
    st = status_of(feeds, 0);
    assert_int_equal(st.loads, 2);
    assert_int_equal(st.indicators, 1);

    intel_feeds_free(feeds);
    intel_free(engine);
}

static void test_manager_loads_when_due_and_retries_failures_sooner(void **state)
{
    (void)state;
    put_page("due.txt", &(page_t){ .type = "text/plain", .body = "192.0.2.55\n" });
    intel_t *engine = intel_new();
    intel_feeds_t *feeds = intel_feeds_new(engine);
    intel_spec_t spec = url_spec("", "due.txt");
    intel_feed_error_t err;
    assert_true(intel_feeds_add(feeds, &spec, 3600, &err));
    intel_spec_t manual = url_spec("plain:", "manual.txt");
    assert_true(intel_feeds_add(feeds, &manual, 0, &err));
    put_page("manual.txt", &(page_t){ .type = "text/plain", .body = "192.0.2.56\n" });

    assert_int_equal(intel_feeds_refresh(feeds, false, 10000), 0);
    assert_int_equal(status_of(feeds, 0).loads, 1);
    assert_int_equal(status_of(feeds, 1).loads, 1);
    assert_int_equal(intel_feeds_refresh(feeds, false, 10000 + 3599), 0);
    assert_int_equal(status_of(feeds, 0).loads, 1);
    assert_int_equal(intel_feeds_refresh(feeds, false, 10000 + 3600), 0);
    assert_int_equal(status_of(feeds, 0).loads, 2);
    assert_int_equal(status_of(feeds, 1).loads, 1);   /* refresh 0: only when forced */

    put_page("due.txt", &(page_t){ .status = 503, .body = "busy" });
    assert_int_equal(intel_feeds_refresh(feeds, false, 20000), 1);
    assert_int_equal(intel_feeds_refresh(feeds, false, 20000 + 299), 0);
    assert_int_equal(status_of(feeds, 0).failures, 1);
    assert_int_equal(intel_feeds_refresh(feeds, false, 20000 + 300), 1);
    assert_int_equal(status_of(feeds, 0).failures, 2);
    intel_match_t m;
    assert_int_equal(matches(engine, "192.0.2.55", &m), 1);

    assert_int_equal(intel_feeds_refresh(feeds, true, 30000), 1);
    assert_int_equal(status_of(feeds, 1).loads, 2);

    /* One name, one feed. */
    intel_spec_t twin = url_spec("", "other/due.txt");
    assert_false(intel_feeds_add(feeds, &twin, 60, &err));
    assert_string_equal(err.feed, "due");
    assert_true(strstr(err.reason, "another feed has this name") != NULL);
    intel_feeds_free(feeds);
    intel_free(engine);
}

static intel_feeds_t *signalled;

static void on_usr1(int sig)
{
    (void)sig;
    intel_feeds_request_reload(signalled);
}

static bool wait_for_loads(intel_feeds_t *feeds, uint64_t loads)
{
    for (int i = 0; i < 1000; i++) {
        if (status_of(feeds, 0).loads >= loads)
            return true;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_background_thread_loads_and_reloads_on_request_and_on_a_signal(void **state)
{
    (void)state;
    put_page("bg.txt", &(page_t){ .type = "text/plain", .body = "192.0.2.60\n" });
    intel_t *engine = intel_new();
    intel_feeds_t *feeds = intel_feeds_new(engine);
    intel_spec_t spec = url_spec("", "bg.txt");
    intel_feed_error_t err;
    assert_true(intel_feeds_add(feeds, &spec, 3600, &err));
    assert_true(intel_feeds_start(feeds));
    assert_false(intel_feeds_start(feeds));
    assert_true(wait_for_loads(feeds, 1));
    intel_match_t m;
    assert_int_equal(matches(engine, "192.0.2.60", &m), 1);

    put_page("bg.txt", &(page_t){ .type = "text/plain", .body = "192.0.2.61\n" });
    intel_feeds_request_reload(feeds);
    assert_true(wait_for_loads(feeds, 2));
    assert_int_equal(matches(engine, "192.0.2.61", &m), 1);

    signalled = feeds;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, &old);
    put_page("bg.txt", &(page_t){ .type = "text/plain", .body = "192.0.2.62\n" });
    raise(SIGUSR1);
    assert_true(wait_for_loads(feeds, 3));
    assert_int_equal(matches(engine, "192.0.2.62", &m), 1);
    assert_int_equal(matches(engine, "192.0.2.60", &m), 0);
    sigaction(SIGUSR1, &old, NULL);

    intel_feeds_stop(feeds);
    intel_feeds_stop(feeds);
    assert_true(intel_feeds_start(feeds));   /* and again after a stop */
    intel_feeds_free(feeds);                 /* stops it */
    intel_free(engine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_200_with_validators_then_a_conditional_request_answered_304),
        cmocka_unit_test(test_url_failures_name_the_reason),
        cmocka_unit_test(test_url_redirect_is_followed_and_validators_are_the_final_responses),
        cmocka_unit_test(test_content_types_by_format),
        cmocka_unit_test(test_file_source_reads_refuses_and_notices_no_change),
        cmocka_unit_test(test_manager_keeps_the_last_good_indicators_through_every_failure),
        cmocka_unit_test(test_manager_loads_when_due_and_retries_failures_sooner),
        cmocka_unit_test(test_background_thread_loads_and_reloads_on_request_and_on_a_signal),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
