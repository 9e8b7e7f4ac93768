#!/usr/bin/env python3
"""A proxy in front of the test S3 + DynamoDB server that throttles every Nth
request the way AWS does (DynamoDB: 400 ProvisionedThroughputExceededException;
S3: 503 SlowDown), so tests can show that laketidy's clients back off and retry.

    flaky_proxy.py LISTEN_PORT UPSTREAM_URL EVERY_NTH [REQUEST_LOG]

With REQUEST_LOG, one line per request is appended to it: METHOD PATH COPY, where
COPY is 1 for an S3 CopyObject/UploadPartCopy (a PUT with x-amz-copy-source).
With FLAKY_PROXY_DELAY=SECONDS in the environment, each request waits that long
after it is logged, as over a slow link (requests still overlap).
"""
import itertools
import sys
import os
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = sys.argv[2].rstrip("/")
EVERY = int(sys.argv[3])
COUNTER = itertools.count(1)
LOCK = threading.Lock()
REQUEST_LOG = sys.argv[4] if len(sys.argv) > 4 else None
DELAY = float(os.environ.get("FLAKY_PROXY_DELAY", "0"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        body = self.read_body()
        if REQUEST_LOG:
            copy = int("x-amz-copy-source" in {k.lower() for k in self.headers.keys()})
            with LOCK, open(REQUEST_LOG, "a") as log:
                log.write(f"{self.command} {self.path} {copy}\n")
        time.sleep(DELAY)
        with LOCK:
            n = next(COUNTER)
        if n % EVERY == 0:
            if self.headers.get("X-Amz-Target", "").startswith("DynamoDB"):
                status, ctype = 400, "application/x-amz-json-1.0"
                payload = (b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
                           b'"message":"throttled by the test proxy"}')
            else:
                status, ctype = 503, "application/xml"
                payload = b"<Error><Code>SlowDown</Code><Message>throttled by the test proxy</Message></Error>"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        request = urllib.request.Request(UPSTREAM + self.path, data=body if body or self.command in ("PUT", "POST") else None,
                                         method=self.command)
        for key, value in self.headers.items():
            if key.lower() not in ("host", "content-length", "connection", "transfer-encoding", "expect"):
                request.add_header(key, value)
        request.add_header("Host", self.headers.get("Host", ""))
        if body and "Content-Type" not in self.headers:
            # urllib would otherwise label the body a form, and the server would parse it as one
            request.add_header("Content-Type", "binary/octet-stream")
        try:
            response = urllib.request.urlopen(request)
            status, headers, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as e:
            status, headers, payload = e.code, e.headers, e.read()
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(key, value)
        length = headers.get("Content-Length", "0") if self.command == "HEAD" else str(len(payload))
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
