"""HTTP plumbing shared by the API and storage servers: requests, responses, the recording handler."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
XML_TYPE = "application/xml"


class CIDict(dict):
    """A plain dict of headers whose lookups ignore case (keys keep the case the client sent)."""

    def _key(self, key):
        if isinstance(key, str):
            for existing in dict.keys(self):
                if existing.lower() == key.lower():
                    return existing
        return key

    def __getitem__(self, key):
        return dict.__getitem__(self, self._key(key))

    def __contains__(self, key):
        return dict.__contains__(self, self._key(key))

    def get(self, key, default=None):
        return dict.get(self, self._key(key), default)


@dataclass
class RequestRecord:
    """One request as received: `server` is "api" or "storage"; `path` excludes the query string."""

    server: str
    method: str
    path: str
    query: dict
    headers: CIDict
    body: bytes


@dataclass
class Request:
    method: str
    path: str
    query: dict
    pairs: list
    headers: CIDict
    body: bytes

    def one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    content_type: str | None = None
    headers: list = field(default_factory=list)
    length: int | None = None
    close_after: int | None = None
    delay: float = 0.0


def json_response(status: int, payload, *, headers=()) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON_TYPE, list(headers))


def html_response(status: int, text: str, *, headers=()) -> Response:
    headers = [("X-Powered-By", "Next.js"),
               ("Cache-Control", "private, no-cache, no-store, max-age=0, must-revalidate")] + list(headers)
    return Response(status, text.encode("utf-8"), HTML_TYPE, headers)


def xml_error(status: int, code: str, message: str) -> Response:
    text = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>")
    return Response(status, text.encode("utf-8"), XML_TYPE)


def redirect(location: str, status: int = 307) -> Response:
    return Response(status, b"", None, [("Location", location)])


class RecordingServer(ThreadingHTTPServer):
    """Tracks open connections so stop() can cut keep-alive clients off instead of waiting for them."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, handler):
        self.connections: set = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        """A client that hangs up mid-body (a cancelled or resumed download) is normal here: log, don't print."""
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    def drop_connections(self) -> None:
        with self.connections_lock:
            open_now = list(self.connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def make_handler(role: str, dispatch: Callable[[str, Request], Response],
                 record: Callable[[RequestRecord], None]) -> type:
    """A handler class for one server role; `dispatch` builds the response, `record` logs the request."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # small header writes on a kept-alive connection would wait ~40 ms for delayed ACKs
        server_version = "cloudflare" if role == "api" else "FakeStorage"
        sys_version = ""
        timeout = 30

        def version_string(self) -> str:
            return self.server_version

        def log_message(self, format, *args):  # noqa: A002 - stdlib signature
            logger.debug("%s %s", role, format % args)

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def _handle(self) -> None:
            split = urlsplit(self.path)
            pairs = parse_qsl(split.query, keep_blank_values=True)
            query: dict = {}
            for key, value in pairs:
                query.setdefault(key, []).append(value)
            headers = CIDict(self.headers.items())
            body = self._read_body()
            record(RequestRecord(role, self.command, split.path, query, headers, body))
            request = Request(self.command, split.path, query, pairs, headers, body)
            try:
                response = dispatch(role, request)
            except Exception:  # the fake must answer like a server, not die with the test
                logger.exception("fake civitai failed on %s %s", self.command, self.path)
                response = json_response(500, {"message": "An unexpected error occurred",
                                               "error": "fake civitai internal error"})
            self._send(response)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle

        def _send(self, response: Response) -> None:
            body = response.body
            if response.length is not None:
                length = response.length
            else:
                length = len(body) if isinstance(body, (bytes, bytearray)) else 0
            try:
                self.send_response(response.status)
                if response.content_type:
                    self.send_header("Content-Type", response.content_type)
                for name, value in response.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if self.command == "HEAD":
                    return
                self._write_body(response)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                self.close_connection = True
            finally:
                if not isinstance(body, (bytes, bytearray)) and hasattr(body, "close"):
                    body.close()

        def _write_body(self, response: Response) -> None:
            chunks = [response.body] if isinstance(response.body, (bytes, bytearray)) else response.body
            budget = response.close_after
            for chunk in chunks:
                if response.delay:
                    self.wfile.flush()
                    time.sleep(response.delay)
                if budget is not None and len(chunk) >= budget:
                    self.wfile.write(chunk[:budget])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
                if budget is not None:
                    budget -= len(chunk)

    return Handler
