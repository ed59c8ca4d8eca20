"""HTTP plumbing of the Graph drive stand-in: the answer type, Graph error bodies, and the
request handler that hands every request to the stand-in's app (or drops the connection)."""

from __future__ import annotations

import http.server
import json
import socket
from dataclasses import dataclass, field

from tests.standins.graph_workbook import GraphError

FAULTS = {  # status -> (Graph error code, message) for a scripted fault given as a number
    400: ("invalidRequest", "Invalid request"),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    403: ("accessDenied", "Access denied. You do not have permission to perform this action or access this resource."),
    404: ("itemNotFound", "The resource could not be found."),
    409: ("conflict", "The request could not be completed due to an editing conflict; another user is editing."),
    412: ("preconditionFailed", "The resource has changed since the caller last read it."),
    423: ("resourceLocked", "The resource you are attempting to access is locked."),
    429: ("tooManyRequests", "Too many requests. Retry after the time in the Retry-After header."),
    500: ("generalException", "An unspecified error has occurred."),
    503: ("serviceUnavailable", "The service is temporarily unavailable. Try again later."),
    504: ("gatewayTimeout", "The server did not respond in time."),
}


@dataclass
class Reply:
    status: int
    body: object = None  # dict/list -> JSON, bytes -> as they are, None -> empty
    headers: dict = field(default_factory=dict)
    cut: bool = False  # drop the connection without answering


def error(status: int, code: str, message: str, headers: dict | None = None, inner: str | None = None) -> Reply:
    e = GraphError(status, code, message, headers, inner)
    return Reply(status, e.body(), dict(e.headers))


def select(query: dict) -> set[str] | None:
    sel = query.get("$select")
    return {s.strip() for s in sel.split(",")} if sel else None


def json_body(body: bytes) -> dict:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise GraphError(400, "BadRequest", "The request body is not JSON.")
    return data if isinstance(data, dict) else {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    app: object  # the stand-in app: handle(method, target, headers, body) -> Reply

    def log_message(self, *args):
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                n = int(self.rfile.readline().strip().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _serve(self):
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.app.handle(self.command, self.path, headers, self._body())
        if reply.cut:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        body = reply.body
        ctype = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else (body or b"")
        self.send_response(reply.status)
        if data and not any(k.lower() == "content-type" for k in reply.headers):
            self.send_header("Content-Type", ctype)
        for k, v in reply.headers.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
