"""The Transport protocol and the two transports every install has: memory and outbox."""

from __future__ import annotations

import copy
import errno
import inspect
import os
import re
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

from automation.mail.message import OutgoingMessage


class SendError(Exception):
    """Base of transport failures; `detail` is the server's reason in plain words."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class TransientSendError(SendError):
    """Not handed over; worth retrying later (busy server, 4xx, connection refused)."""

    def __init__(self, detail: str, retry_after: float | None = None):
        super().__init__(detail)
        self.retry_after = retry_after


class TransportDown(TransientSendError):
    """The server cannot be reached or refuses the login: nothing was handed over, and the
    rest of the batch would fail the same way, so delivery stops and the next run tries again."""


class PermanentSendError(SendError):
    """Refused for good (bad address, 5xx): recorded, never retried automatically."""


class AmbiguousSendError(SendError):
    """The connection failed after the message may have been handed over."""


Refused = dict  # address -> the server's words, for recipients refused while the others took it


def no_handover() -> None:
    """The default hand-over hook: nothing to record."""


@runtime_checkable
class Transport(Protocol):
    """One small protocol per backend.

    send() hands one message over or raises a SendError. Just before the bytes can leave
    (SMTP: every RCPT answered, before DATA; outbox: before the file is written; Graph/EWS:
    before the send request) it calls `on_handover()`, which journals the moment durably; if
    that raises, nothing is handed over. It returns the recipients the server refused while
    accepting the message for the others (address -> reason), or None. A transport whose
    send() has no `on_handover` parameter is treated as handing over the moment it is called."""

    name: str

    def send(self, message: OutgoingMessage, on_handover: Callable[[], None] = no_handover) -> Refused | None: ...

    def confirm(self, message: OutgoingMessage) -> bool | None:
        """True if the message is known to have gone, False if known not, None if unknowable."""
        ...

    def close(self) -> None: ...


class MemoryTransport:
    """Keeps messages in a list: for tests and previews."""

    name = "memory"

    def __init__(self):
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage, on_handover: Callable[[], None] = no_handover) -> None:
        on_handover()
        self.sent.append(message)

    def confirm(self, message: OutgoingMessage) -> bool | None:
        return any(m.message_id == message.message_id for m in self.sent)

    def close(self) -> None:
        pass


def outbox_filename(message_id: str) -> str:
    """A safe, stable file name for a Message-ID."""
    return re.sub(r"[^A-Za-z0-9._@-]", "_", message_id.strip("<>")) + ".eml"


def outbox_trouble(folder: Path, exc: OSError) -> str:
    """One line on why the outbox folder cannot take a message, and what to do."""
    why = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return (f"cannot write to the outbox folder {folder} ({why}) — free space or make the folder writable "
            "(or set [mail] outbox_dir); nothing was marked sent and the next run writes it")


def _umask() -> int:
    """The process umask (read by setting and restoring it: there is no other portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class OutboxTransport:
    """The embedded default: one .eml file per message; writing the same message twice is a no-op."""

    name = "outbox"
    # Sending a Message-ID whose file is there writes nothing, and confirm() is certain: delivery
    # journals the batch ahead instead of committing each hand-over (delivery._GroupCommit).
    idempotent = True

    STALE_SECONDS = 3600  # a half-written file this old is a killed run's: no run takes that long over one

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._swept = False

    def _path(self, message: OutgoingMessage) -> Path:
        return self.folder / outbox_filename(message.message_id)

    def _sweep(self) -> None:
        """Remove the half-written files a killed run left (never a finished .eml: those are only
        made by renaming a whole file). Only old ones: another tracker's run may share the folder."""
        self._swept = True
        cutoff = time.time() - self.STALE_SECONDS
        for tmp in self.folder.glob(".sending-*.tmp"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except OSError:  # gone already, or not ours to remove: harmless either way
                pass

    def send(self, message: OutgoingMessage, on_handover: Callable[[], None] = no_handover) -> None:
        path = self._path(message)
        if not self._swept:
            self._sweep()
        if path.exists():
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".sending-", suffix=".tmp")
        except OSError as exc:
            raise TransportDown(outbox_trouble(self.folder, exc))
        try:
            on_handover()
            with os.fdopen(fd, "wb") as fh:
                fh.write(message.as_bytes())
                fh.flush()
                # mkstemp makes the file 0600: a pickup service running as another account must
                # be able to read it, so it gets what a plain new file would (umask applies).
                os.fchmod(fh.fileno(), 0o666 & ~_umask())
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise TransportDown(outbox_trouble(self.folder, exc))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def confirm(self, message: OutgoingMessage) -> bool | None:
        return self._path(message).exists()

    def written(self, message: OutgoingMessage) -> Path:
        """Where the message's .eml file is (for the commands to say)."""
        return self._path(message).resolve()

    def close(self) -> None:
        pass


class RateLimiter:
    """At most `per_minute` hand-overs in any 60 seconds (Exchange Online allows about 30)."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.per_minute = per_minute
        self.clock, self.sleep = clock, sleep
        self.times: deque[float] = deque()

    def delay(self) -> float:
        """Seconds until one more hand-over is allowed (0 if now); waits for nothing."""
        if self.per_minute <= 0 or len(self.times) < self.per_minute:
            return 0.0
        recent = [t for t in self.times if self.clock() - t < 60 - 1e-6]
        return 0.0 if len(recent) < self.per_minute else 60 - (self.clock() - recent[-int(self.per_minute)])

    def wait(self) -> float:
        """Sleep until one more hand-over is allowed; returns the seconds slept."""
        if self.per_minute <= 0:
            return 0.0
        slept = 0.0
        while True:
            now = self.clock()
            while self.times and now - self.times[0] >= 60 - 1e-6:
                self.times.popleft()
            if len(self.times) < self.per_minute:
                break
            wait = 60 - (now - self.times[0])
            self.sleep(wait)
            slept += wait
        self.times.append(now)
        return slept


def call_send(transport, message: OutgoingMessage, on_handover: Callable[[], None]) -> Refused | None:
    """transport.send with the hand-over hook; one without the hook hands over when called."""
    if takes_handover(transport):
        return transport.send(message, on_handover=on_handover)
    on_handover()
    return transport.send(message)


def takes_handover(transport) -> bool:
    """Whether the transport's send() reports the moment of hand-over itself."""
    try:
        return "on_handover" in inspect.signature(transport.send).parameters
    except (TypeError, ValueError):
        return False


TEST_NOTE = ("TEST MODE: this message was redirected to {to}. It would have gone to: {orig}.\n"
             "Nothing was sent to the real recipients.\n\n")


def redirected(message: OutgoingMessage, to: str) -> OutgoingMessage:
    """The same message (same key; a test Message-ID) addressed only to `to`, marked as a test."""
    em = copy.deepcopy(message.email)
    orig = ", ".join(message.recipients)
    for h in ("To", "Cc", "Bcc"):
        del em[h]
    em["To"] = to
    em["X-Tracker-Original-Recipients"] = orig
    # A Message-ID of its own, so a test copy in Sent Items can never "confirm" a real send later.
    em.replace_header("Message-ID", message.message_id.replace("<ofsted-tracker.", "<ofsted-tracker.test.", 1))
    subject = message.subject if message.subject.startswith("[TEST] ") else f"[TEST] {message.subject}"
    em.replace_header("Subject", subject)
    note = TEST_NOTE.format(to=to, orig=orig)
    for part in em.walk():
        if part.get_content_maintype() != "text" or part.get_filename():
            continue
        if part.get_content_subtype() == "plain":
            part.set_content(note + part.get_content(), cte="quoted-printable")
        elif part.get_content_subtype() == "html":
            banner = f'<p style="background:#fde68a;padding:8px"><strong>{_html(note.strip())}</strong></p>'
            body = part.get_content()
            body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + banner, body, count=1) if "<body" in body else banner + body
            part.set_content(body, subtype="html", cte="quoted-printable")
    return type(message)(message.key, message.inspection_id, message.purpose, message.version, (to,), (),
                         subject, message.reason, em, message.facts)


def only_to(message: OutgoingMessage, recipients, facts: dict | None = None) -> OutgoingMessage:
    """The same message for just these recipients (To, no Cc), with the key and Message-ID
    that recipient list gives: a copy for those an earlier send did not reach."""
    from automation.mail.message import message_key

    recipients = tuple(recipients)
    key = message_key(message.inspection_id, message.purpose, recipients, message.version)
    em = copy.deepcopy(message.email)
    for h in ("To", "Cc", "Bcc"):
        del em[h]
    em["To"] = ", ".join(recipients)
    domain = message.message_id.strip("<>").rsplit("@", 1)[-1]
    em.replace_header("Message-ID", f"<ofsted-tracker.{key}@{domain}>")
    if em["X-Tracker-Key"]:
        em.replace_header("X-Tracker-Key", key)
    return type(message)(key, message.inspection_id, message.purpose, message.version, recipients, (),
                         message.subject, message.reason, em, {**message.facts, **(facts or {})})


def _html(text: str) -> str:
    import html

    return html.escape(text).replace("\n", "<br>")


class RedirectTransport:
    """Test mode: every message goes to one address instead, marked as a test."""

    def __init__(self, inner: Transport, to: str):
        self.inner, self.to = inner, to
        self.name = f"{inner.name} (test mode to {to})"

    @property
    def limiter(self):
        """The inner transport's rate limit, so delivery paces test mode the same way."""
        return getattr(self.inner, "limiter", None)

    @property
    def idempotent(self) -> bool:
        """As the inner transport: each redirected copy has a Message-ID of its own, made the same way each time."""
        return bool(getattr(self.inner, "idempotent", False))

    def send(self, message: OutgoingMessage, on_handover: Callable[[], None] = no_handover) -> Refused | None:
        return call_send(self.inner, redirected(message, self.to), on_handover)

    def confirm(self, message: OutgoingMessage) -> bool | None:
        return self.inner.confirm(redirected(message, self.to))

    def close(self) -> None:
        self.inner.close()


def poll_sent_items(found, clock, sleep, wait: float, every: float) -> bool | None:
    """Ask `found()` until it says yes or `wait` seconds pass (Sent Items can lag the send).
    True: it went; False: it did not appear in time; None: the mailbox could not be asked."""
    deadline = clock() + wait
    try:
        while True:
            if found():
                return True
            if clock() >= deadline:
                return False
            sleep(every)
    except SendError:
        return None
