#!/usr/bin/python3
"""http_server.py - a scripted HTTP server for the intel source tests.

Usage: http_server.py WORK_DIR. Binds 127.0.0.1 port 0 and prints the port
on stdout. For a GET of /NAME it reads WORK_DIR/site/NAME.json, written by
the test:
  {"status": 200, "type": "text/plain", "etag": "\\"v1\\"",
   "last_modified": "...", "body": "...", "content_length": 1000,
   "no_length": true, "delay": 3, "location": "/other"}
(all optional) and answers 304 when the request's If-None-Match equals the
etag or its If-Modified-Since equals last_modified. Every request is
appended to WORK_DIR/requests.log as "PATH<TAB>If-None-Match<TAB>
If-Modified-Since" ("-" when absent), so the test can check what arrived.
"""
import http.server
import json
import os
import sys
import time

WORK = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"   # one request per connection; no keep-alive surprises

    def log_message(self, *args):
        pass

    def do_GET(self):
        inm = self.headers.get("If-None-Match", "-")
        ims = self.headers.get("If-Modified-Since", "-")
        with open(os.path.join(WORK, "requests.log"), "a") as log:
            log.write("%s\t%s\t%s\n" % (self.path, inm, ims))
        name = self.path.lstrip("/").split("?")[0]
        try:
            with open(os.path.join(WORK, "site", name + ".json")) as f:
                page = json.load(f)
        except (OSError, ValueError):
            self.send_response(404)
            self.end_headers()
            return
        etag, lm = page.get("etag"), page.get("last_modified")
        if (etag and inm == etag) or (lm and ims == lm):
            self.send_response(304)
            self.end_headers()
            return
        body = page.get("body", "").encode()
        time.sleep(page.get("delay", 0))
        self.send_response(page.get("status", 200))
        if "type" in page:
            self.send_header("Content-Type", page["type"])
        if etag:
            self.send_header("ETag", etag)
        if lm:
            self.send_header("Last-Modified", lm)
        if "location" in page:
            self.send_header("Location", page["location"])
        if not page.get("no_length"):
            self.send_header("Content-Length", str(page.get("content_length", len(body))))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
