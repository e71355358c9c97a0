"""The unsubscribe endpoint for the links in the mails (`scrape alerts serve`).

GET shows a confirmation button (mail scanners follow links; a GET must not unsubscribe);
POST unsubscribes, which is also RFC 8058's one-click request (body
`List-Unsubscribe=One-Click`). Any front end may call `unsubscribe_token` instead.

The server is the standard library's WSGI server with one thread per connection and a
socket timeout, so an idle or slow client holds only its own thread for at most
`REQUEST_TIMEOUT_S` and never blocks other people's unsubscribe requests. A malformed
request gets a 400 and one log line, never a traceback; the request log omits query
strings, so unsubscribe tokens never reach the logs.
"""

from __future__ import annotations

import html
import logging
import socketserver
import sys
from typing import Any
from urllib.parse import parse_qs, quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import sqlalchemy as sa

from pipelines.notify.digest import UNSUBSCRIBE_PATH
from pipelines.notify.subscriptions import unsubscribe_token

log = logging.getLogger("pipelines.notify.unsubscribe")

REQUEST_TIMEOUT_S = 10.0
# Longest query string accepted: a token is 43 characters; anything far longer is garbage.
MAX_QUERY_CHARS = 2048

_PAGE = "<!doctype html><html><body><p>{}</p></body></html>"
_HTML = [("Content-Type", "text/html; charset=utf-8")]


def make_unsubscribe_app(engine: sa.Engine):
    """The WSGI app: GET confirms, POST unsubscribes; anything malformed is a 400."""

    def respond(start_response, status: str, body: str, extra=()):
        data = _PAGE.format(body).encode()
        start_response(status, _HTML + [("Content-Length", str(len(data))), *extra])
        return [data]

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        query = environ.get("QUERY_STRING", "")
        if path != UNSUBSCRIBE_PATH:
            return respond(start_response, "404 Not Found", "Not found.")
        try:
            if len(query) > MAX_QUERY_CHARS:
                raise ValueError("query string too long")
            tokens = parse_qs(query, strict_parsing=bool(query), max_num_fields=10).get("token")
        except ValueError:
            return respond(start_response, "400 Bad Request", "Malformed request.")
        token = (tokens or [""])[0]
        if not token or len(tokens or []) != 1 or not token.isprintable():
            return respond(start_response, "400 Bad Request", "Missing or malformed token.")
        if method == "POST":
            email = unsubscribe_token(engine, token)
            text = (
                f"{html.escape(email)} is unsubscribed."
                if email
                else "This link is no longer subscribed."
            )
            return respond(start_response, "200 OK", text)
        if method in ("GET", "HEAD"):
            form = (
                f'<form method="post" action="{html.escape(UNSUBSCRIBE_PATH)}?token='
                f'{html.escape(quote(token, safe=""), quote=True)}">'
                '<button type="submit">Unsubscribe from GPU price alerts</button></form>'
            )
            return respond(start_response, "200 OK", form)
        return respond(
            start_response,
            "405 Method Not Allowed",
            "Method not allowed.",
            [("Allow", "GET, POST")],
        )

    return app


class _Handler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT_S  # socket timeout: an idle client is dropped, not waited on
    # A request line without a version gets an HTTP/1.0 status line back, not a bare
    # HTTP/0.9 body, so every client sees the 400.
    default_request_version = "HTTP/1.0"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = (getattr(self, "path", None) or "-").split("?", 1)[0]
        self.log_message('"%s %s" %s %s', getattr(self, "command", None) or "-", path, code, size)

    def log_error(self, format: str, *args: Any) -> None:
        # http.server's messages quote the request line, which may hold a token.
        self.log_message("%s", "rejected a malformed or timed-out request")

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.client_address[0]} - {format % args}\n")


class UnsubscribeServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a hung client never keeps the process from exiting
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that resets or times out mid-request: one line, no traceback.
        exc = sys.exc_info()[1]
        log.warning(
            "unsubscribe: request from %s failed: %s", client_address[0], type(exc).__name__
        )


def make_unsubscribe_server(engine: sa.Engine, host: str, port: int) -> UnsubscribeServer:
    """A threaded WSGI server for `make_unsubscribe_app` (see the module docstring)."""
    server = UnsubscribeServer((host, port), _Handler)
    server.set_app(make_unsubscribe_app(engine))
    return server
