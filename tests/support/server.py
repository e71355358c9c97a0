"""A real HTTP server on 127.0.0.1 that stands in for a provider in fault and end-to-end tests.

Routes map a path (without query) to a list of planned answers consumed in order (the last
one repeats): (status, body bytes, headers) tuples, or callables for special behaviour
(sleep past the client timeout, close mid-body). Every request is recorded.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Answer = tuple[int, bytes, dict[str, str]] | Callable[[BaseHTTPRequestHandler], None]


class Recorded:
    def __init__(self, method: str, path: str, headers: dict[str, str]):
        self.method, self.path, self.headers = method, path, headers


class ProviderServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Answer]] = {}
        self.requests: list[Recorded] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _serve(self) -> None:
                outer.requests.append(Recorded(self.command, self.path, dict(self.headers)))
                path = urlsplit(self.path).path
                plan = outer.routes.get(path)
                if not plan:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = plan.pop(0) if len(plan) > 1 else plan[0]
                if callable(answer):
                    answer(self)
                else:
                    send(self, *answer)

            do_GET = _serve
            do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, *answers: Answer) -> None:
        self.routes[path] = list(answers)

    def paths(self) -> list[str]:
        """Request targets (path and query) in the order they arrived."""
        return [r.path for r in self.requests]

    def __enter__(self) -> ProviderServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    """Write one complete answer (with Content-Length) on a handler."""
    h.send_response(status)
    for k, v in headers.items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def conditional(body: bytes, content_type: str = "application/json") -> Answer:
    """Serve `body` with an ETag; answer 304 to a request that already has it."""
    etag = '"' + hashlib.md5(body).hexdigest() + '"'

    def handler(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == etag:
            send(h, 304, b"", {"ETag": etag})
        else:
            send(h, 200, body, {"ETag": etag, "Content-Type": content_type})

    return handler


def ok(body: bytes, **headers: str) -> Answer:
    return (200, body, {"Content-Type": "application/json", **headers})


def sleep_then(seconds: float, answer: tuple[int, bytes, dict[str, str]]) -> Answer:
    def handler(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        try:
            send(h, *answer)
        except OSError:  # the client gave up (timed out) and closed the connection
            pass

    return handler


def truncated(body: bytes, announced_extra: int = 1000) -> Answer:
    """Announce more bytes than are sent, then close: a truncated body."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body) + announced_extra))
        h.end_headers()
        h.wfile.write(body[: len(body) // 2])
        h.wfile.flush()
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        h.close_connection = True

    return handler
