"""The Transport protocol and the two transports every install has: memory and outbox."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

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


class PermanentSendError(SendError):
    """Refused for good (bad address, 5xx): recorded, never retried automatically."""


class AmbiguousSendError(SendError):
    """The connection failed after the message may have been handed over."""


@runtime_checkable
class Transport(Protocol):
    """One small protocol per backend: hand over one message, or raise a SendError."""

    name: str

    def send(self, message: OutgoingMessage) -> None: ...

    def confirm(self, message: OutgoingMessage) -> bool | None:
        """True if the message is known to have gone, False if known not, None if unknowable."""
        ...

    def close(self) -> None: ...


class MemoryTransport:
    """Keeps messages in a list: for tests and previews."""

    name = "memory"

    def __init__(self):
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)

    def confirm(self, message: OutgoingMessage) -> bool | None:
        return any(m.message_id == message.message_id for m in self.sent)

    def close(self) -> None:
        pass


def outbox_filename(message_id: str) -> str:
    """A safe, stable file name for a Message-ID."""
    return re.sub(r"[^A-Za-z0-9._@-]", "_", message_id.strip("<>")) + ".eml"


class OutboxTransport:
    """The embedded default: one .eml file per message; writing the same message twice is a no-op."""

    name = "outbox"

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, message: OutgoingMessage) -> Path:
        return self.folder / outbox_filename(message.message_id)

    def send(self, message: OutgoingMessage) -> None:
        path = self._path(message)
        if path.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".sending-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(message.as_bytes())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def confirm(self, message: OutgoingMessage) -> bool | None:
        return self._path(message).exists()

    def close(self) -> None:
        pass
