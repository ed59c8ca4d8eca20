"""SMTP transport (smtplib): STARTTLS, implicit TLS or (only when written explicitly) plain;
AUTH with a secret from the environment or keyring; one connection reused for a batch;
a rate limit; every server reply classified as transient, permanent or ambiguous."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import time
from typing import Callable

from automation.config import Config, get_secret
from automation.mail.message import OutgoingMessage
from automation.mail.transport import (AmbiguousSendError, PermanentSendError, RateLimiter,
                                       TransientSendError, TransportDown, no_handover)

PASSWORD_ENV = "OFSTED_TRACKER_SMTP_PASSWORD"


def _words(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"


def _raise_for(code: int, text, what: str) -> None:
    """A 4xx reply is worth retrying; anything else not accepted is permanent."""
    detail = f"{what}: the server said {_words(code, text)}"
    if 400 <= code < 500:
        raise TransientSendError(detail)
    raise PermanentSendError(detail)


def _dot_stuffed(data: bytes) -> bytes:
    """The DATA payload as smtplib's own data() sends it: dots doubled, ending CRLF.CRLF."""
    q = smtplib._quote_periods(re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", data))
    return (q if q.endswith(b"\r\n") else q + b"\r\n") + b".\r\n"


class SmtpTransport:
    """Hands messages to an SMTP server, one connection per batch, at most `rate_per_minute`."""

    name = "smtp"

    def __init__(self, host: str, port: int, sender: str, security: str = "starttls",
                 username: str = "", password: str = "", timeout: float = 60,
                 rate_per_minute: float = 30, ssl_context: ssl.SSLContext | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.host, self.port, self.sender = host, port, sender
        self.security, self.username, self.password = security, username, password
        self.timeout = timeout
        self.context = ssl_context or ssl.create_default_context()
        self.limiter = RateLimiter(rate_per_minute, clock, sleep)
        self.conn: smtplib.SMTP | None = None
        self.connections = 0  # how many were opened: a batch should need one

    @classmethod
    def from_config(cls, cfg: Config) -> "SmtpTransport":
        """Build from [mail.smtp]; the password comes from the environment or keyring only."""
        sec = cfg.section("mail.smtp")
        username = sec.get("username", "")
        password = get_secret(PASSWORD_ENV, username, f"SMTP login as {username}") if username else ""
        context = ssl.create_default_context(cafile=sec.get("ca_bundle") or None)
        return cls(sec.get("host", "127.0.0.1"), int(sec.get("port", 587)), cfg.sender,
                   sec.get("security", "starttls"), username, password,
                   float(sec.get("timeout_seconds", 60)), float(sec.get("rate_per_minute", 30)), context)

    def _connect(self) -> smtplib.SMTP:
        where = f"SMTP server {self.host}:{self.port}"
        try:
            if self.security == "ssl":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.context)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if self.security == "starttls":
                if not conn.has_extn("starttls"):
                    conn.close()
                    raise TransportDown(f"{where} does not offer STARTTLS; set [mail.smtp] security to the "
                                        "server's mode (ssl, or none only on a trusted relay)")
                conn.starttls(context=self.context)
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportDown(f"{where} refused the login for {self.username}: {_words(exc.smtp_code, exc.smtp_error)} "
                                f"— check [mail.smtp] username and the password in {PASSWORD_ENV} or the keyring")
        except smtplib.SMTPNotSupportedError:
            raise TransportDown(f"{where} does not offer AUTH on this connection — check [mail.smtp] security and port")
        except ssl.SSLError as exc:
            raise TransportDown(f"TLS with {where} failed ({exc.reason or exc}) — check the server certificate or [mail.smtp] ca_bundle")
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportDown(f"cannot connect to {where}: {exc}")
        self.connections += 1
        return conn

    def send(self, message: OutgoingMessage, on_handover: Callable[[], None] = no_handover) -> dict[str, str]:
        """Hand one message over; raise Transient, Permanent or Ambiguous with the server's words.
        A refused Cc does not stop it: the refused recipients are returned (address -> reason).
        Only when every To address is refused does the message not go."""
        self.limiter.wait()
        if self.conn is None:
            self.conn = self._connect()
        conn = self.conn
        data = message.as_bytes()
        stage = "envelope"
        try:
            code, text = conn.mail(self.sender, ["size=%d" % len(data)] if conn.has_extn("size") else [])
            if code != 250:
                self._refused(code, text, f"sender {self.sender} refused")
            refused: dict[str, tuple[int, str]] = {}
            for rcpt in message.recipients:
                code, text = conn.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = (code, _words(code, text))
                    if code == 421:  # the server is closing the connection: nothing more will be taken
                        self._refused(code, text, f"recipient {rcpt} refused")
            if all(a in refused for a in message.to):
                # Nobody the message is addressed to would get it: it does not go to the copies alone.
                worst = max((refused[a] for a in message.to), key=lambda r: r[0])  # a 5xx outweighs a 4xx
                self._refused(worst[0], worst[1].split(" ", 1)[-1],
                              f"recipient {', '.join(message.to)} refused")
            try:
                on_handover()
            except BaseException:
                self._reset()  # not handed over: the envelope is dropped
                raise
            code, text = conn.docmd("data")
            if code != 354:
                self._refused(code, text, "DATA refused")
            stage = "content"
            conn.send(_dot_stuffed(data))
            stage = "reply"
            code, text = conn.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            if stage == "envelope":
                raise TransientSendError(f"the connection to {self.host} was cut before the message was "
                                         f"handed over ({exc})")
            if stage == "reply":
                raise AmbiguousSendError(f"the connection to {self.host} was cut after the whole message was "
                                         f"handed over, before the server confirmed it ({exc})")
            raise TransientSendError(f"the connection to {self.host} was cut before the message was "
                                     f"complete ({exc}); the server discards incomplete messages")
        if code != 250:
            self._refused(code, text, "message refused after DATA", reset=False)
        return {a: words for a, (_, words) in refused.items()}

    def _refused(self, code: int, text, what: str, reset: bool = True) -> None:
        """Leave the connection ready for the next message (or drop it if the server is closing it), then raise."""
        if code == 421:  # "service not available, closing channel": reconnect for the next one
            self._drop()
        elif reset:
            self._reset()
        _raise_for(code, text, what)

    def _reset(self) -> None:
        try:
            self.conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def confirm(self, message: OutgoingMessage) -> bool | None:
        """SMTP cannot tell whether a message went: an officer decides."""
        return None

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError, socket.timeout):
            conn.close()
