#!/usr/bin/env python3
"""A local S3 + DynamoDB server for the test suite: moto's WSGI app, with requests
processed one at a time.

Stock moto_server handles requests on several threads, and its DynamoDB does not lock
items, so two concurrent conditional writes can both "win" — real DynamoDB never lets
them. Serialising the requests makes the race tests test laketidy's protocol, not the
emulator. Connections are still accepted concurrently (keep-alive clients do not block
each other); only the request handling is under one lock.

    moto_server.py PORT
"""
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

LOCK = threading.Lock()
APP = DomainDispatcherApplication(create_backend_app)


def serialized(environ, start_response):
    with LOCK:
        result = APP(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    return [body]


if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), serialized, threaded=True, request_handler=MotoRequestHandler)
