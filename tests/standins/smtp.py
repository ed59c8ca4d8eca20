"""A local SMTP stand-in: aiosmtpd on 127.0.0.1 with real TLS (trustme), AUTH, and scripted
faults (rejected recipient, a chosen reply per recipient, temporary 4xx, connection dropped mid-DATA and after DATA)."""

from __future__ import annotations

import email
import logging
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER, PASSWORD = "ofsted.support@la.example.org", "correct horse battery staple"
logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's per-login deprecation notice


@dataclass
class SmtpState:
    """Messages the server accepted, and faults to play (each used once, in order)."""

    messages: list[dict] = field(default_factory=list)  # {"message_id", "rcpt", "data", "peer"}
    faults: list[str] = field(default_factory=list)  # temp_rcpt, temp_data, perm_data, drop_mid_data, drop_after_data
    reject: set[str] = field(default_factory=set)  # recipients always refused with 550
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> the reply that refuses it (e.g. a 450)
    delay: float = 0.0  # seconds each DATA takes to accept
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, fault: str) -> bool:
        with self.lock:
            if self.faults and self.faults[0] == fault:
                self.faults.pop(0)
                return True
        return False

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["message_id"] for m in self.messages]


class _Handler:
    def __init__(self, state: SmtpState):
        self.state = state

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.state.reject:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        if address.lower() in self.state.refuse:
            return self.state.refuse[address.lower()]
        if self.state.take("temp_rcpt"):
            return "451 4.7.1 Greylisted, please try again in 5 minutes"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        st = self.state
        if st.take("temp_data"):
            return "451 4.3.0 Mail server temporarily rejected message"
        if st.take("perm_data"):
            return "554 5.7.1 Message rejected as spam by content filter"
        if st.delay:
            time.sleep(st.delay)  # a slow server: blocks this stand-in's loop, as a real busy one would
        mid = email.message_from_bytes(envelope.content)["Message-ID"]
        with st.lock:
            st.messages.append({"message_id": mid, "rcpt": list(envelope.rcpt_tos),
                                "data": envelope.content, "mail_from": envelope.mail_from})
        if st.take("drop_after_data"):
            server.transport.abort()  # accepted and stored, but the reply never reaches the client
        return "250 2.0.0 Ok: queued"


class _FaultySMTP(SMTP):
    async def smtp_DATA(self, arg):
        if self.event_handler.state.take("drop_mid_data"):
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")  # the first line of content, then gone
            self.transport.abort()
            return
        return await super().smtp_DATA(arg)

    def connection_made(self, transport):
        if not getattr(self, "_counted", False):  # STARTTLS calls this again on the same connection
            self._counted = True
            with self.event_handler.state.lock:
                self.event_handler.state.connections += 1
        super().connection_made(transport)


class _Controller(Controller):
    def factory(self):
        import warnings

        with warnings.catch_warnings():  # implicit TLS: aiosmtpd cannot tell the socket is already TLS
            warnings.simplefilter("ignore", UserWarning)
            return _FaultySMTP(self.handler, **self.SMTP_kwargs)


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False, auth_data=auth_data,
                      message=None if ok else "535 5.7.8 Error: authentication failed: invalid credentials")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpStandIn:
    """`with SmtpStandIn(ca, mode="starttls") as s:`; s.port, s.state; mode starttls | ssl | none."""

    def __init__(self, ca=None, mode: str = "starttls", auth: bool = True, state: SmtpState | None = None):
        self.state = state or SmtpState()
        kwargs: dict = {"hostname": "127.0.0.1", "port": _free_port()}
        smtp_kwargs: dict = {}
        if mode != "none":
            cert = ca.issue_cert("127.0.0.1", "localhost")
            import ssl

            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(ctx)
            if mode == "ssl":
                kwargs["ssl_context"] = ctx
            else:
                smtp_kwargs.update(tls_context=ctx, require_starttls=True)
        if auth:
            smtp_kwargs.update(authenticator=_auth, auth_required=True, auth_require_tls=mode == "starttls")
        self.controller = _Controller(_Handler(self.state), **kwargs, **smtp_kwargs)
        self.port = kwargs["port"]

    def __enter__(self):
        self.controller.start()
        with self.state.lock:
            self.state.connections = 0  # the controller's own readiness probe does not count
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def serve_in_process(conn, mode: str = "none", auth: bool = False) -> None:
    """Run a stand-in in its own process (benchmarks: no GIL shared with the client). Sends
    (port, CA PEM or b"") on `conn`, then answers each "count" with (connections, messages)
    and stops after answering "stop"."""
    import trustme

    ca = trustme.CA() if mode != "none" else None
    with SmtpStandIn(ca, mode=mode, auth=auth) as server:
        conn.send((server.port, ca.cert_pem.bytes() if ca else b""))
        while True:
            cmd = conn.recv()
            conn.send((server.state.connections, len(server.state.messages)))
            if cmd == "stop":
                break
