"""A local HTTPS stand-in for Microsoft Graph and its token endpoint (trustme certificate),
answering what msal and the Graph transport really ask: OpenID discovery, client-credentials
tokens, /users/{id}/sendMail with MIME, and the Sent Items lookup; with scripted faults."""

from __future__ import annotations

import base64
import email
import http.server
import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlparse

from tests.standins import HttpStandIn

TENANT = "00000000-0000-0000-0000-0000000000aa"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "stand-in-client-secret"


@dataclass
class GraphState:
    sent: list[dict] = field(default_factory=list)  # {"message_id", "mime", "sender", "visible_at"}
    faults: list[str] = field(default_factory=list)  # throttle, unavailable, cut_after_send, gateway_timeout, invalid_recipient, expire_token
    retry_after: str = "7"
    visible_after: float = 0.0
    delay: float = 0.0
    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    token_requests: list[dict] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["message_id"] for m in self.sent]

    def _fault(self) -> str:
        with self.lock:
            return self.faults.pop(0) if self.faults else ""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: GraphState
    base: str

    def log_message(self, *args):
        pass

    def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        with self.state.lock:
            ok = token in self.state.valid_tokens
        if not ok:
            self._json(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid."}})
        return ok

    def do_GET(self):
        url = urlparse(self.path)
        self.state.requests.append(f"GET {url.path}")
        if url.path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            root = f"{self.base}/{TENANT}"
            return self._json(200, {"token_endpoint": f"{root}/oauth2/v2.0/token",
                                    "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                                    "issuer": f"{self.base}/{TENANT}/v2.0"})
        if url.path.startswith("/v1.0/users/") and url.path.endswith("/mailFolders/SentItems/messages"):
            if not self._authorised():
                return
            flt = parse_qs(url.query).get("$filter", [""])[0]
            wanted = flt.split("eq", 1)[1].strip().strip("'").replace("''", "'") if "internetMessageId eq" in flt else None
            now = time.monotonic()
            with self.state.lock:
                hits = [m for m in self.state.sent if m["visible_at"] <= now and m["message_id"] == wanted]
            return self._json(200, {"value": [{"id": uuid.uuid4().hex, "internetMessageId": m["message_id"]} for m in hits]})
        self._json(404, {"error": {"code": "ResourceNotFound", "message": f"stand-in has no {url.path}"}})

    def do_POST(self):
        st = self.state
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        st.requests.append(f"POST {url.path}")
        if url.path == f"/{TENANT}/oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            st.token_requests.append(form)
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return self._json(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
            with st.lock:
                st.tokens_issued += 1
                token = f"token-{st.tokens_issued}"
                st.valid_tokens.add(token)
            return self._json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})
        if not (url.path.startswith("/v1.0/users/") and url.path.endswith("/sendMail")):
            return self._json(404, {"error": {"code": "ResourceNotFound", "message": url.path}})
        fault = st._fault()
        if fault == "expire_token":
            with st.lock:
                st.valid_tokens.clear()
        if not self._authorised():
            return
        if fault == "throttle":
            return self._json(429, {"error": {"code": "ApplicationThrottled", "message": "Application is over its MailboxConcurrency limit."}},
                              {"Retry-After": st.retry_after})
        if fault == "unavailable":
            return self._json(503, {"error": {"code": "ServiceUnavailable", "message": "Service unavailable"}},
                              {"Retry-After": st.retry_after})
        if fault == "invalid_recipient":
            return self._json(400, {"error": {"code": "ErrorInvalidRecipients", "message": "At least one recipient isn't valid., Recipient is not valid."}})
        if self.headers.get("Content-Type", "").split(";")[0] != "text/plain":
            return self._json(400, {"error": {"code": "ErrorMimeContentInvalid", "message": "expected base64 MIME as text/plain"}})
        if st.delay:
            time.sleep(st.delay)
        mime = base64.b64decode(body, validate=True)
        with st.lock:
            st.sent.append({"message_id": email.message_from_bytes(mime)["Message-ID"], "mime": mime,
                            "sender": unquote(url.path.split("/")[3]), "visible_at": time.monotonic() + st.visible_after})
        if fault == "cut_after_send":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault == "gateway_timeout":
            return self._json(504, {"error": {"code": "UnknownError", "message": "Gateway Timeout"}})
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


class GraphStandIn(HttpStandIn):
    """`with GraphStandIn(ca) as g:`; g.base (https://127.0.0.1:port), g.authority, g.graph_url."""

    def __init__(self, ca, state: GraphState | None = None):
        self.state = state or GraphState()
        super().__init__(_Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(ctx)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.server.server_port}"
        self.server.RequestHandlerClass = type("Handler", (_Handler,), {"state": self.state, "base": self.base})
        self.authority = f"{self.base}/{TENANT}"
        self.graph_url = f"{self.base}/v1.0"
