"""The sending process the crash test kills: delivers the same 40 messages through the
configured transport with the tracker's journal, exactly as a scheduled run does.
Usage: python -m tests.standins.crash_child CONFIG JOURNAL COUNT [SLOW_SECONDS]"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from automation.config import load_config
from automation.mail.delivery import Policy, deliver
from automation.mail.factory import make_transport
from automation.mail.journal import Journal
from tests.standins.messages import messages


class Slow:
    """The transport on a slow disk or network: a pause before each hand-over, so random kills
    land inside even a fast batch (the outbox writes 40 files in a tenth of a second)."""

    def __init__(self, inner, seconds: float):
        self.inner, self.seconds, self.name = inner, seconds, inner.name

    def send(self, message) -> None:
        time.sleep(self.seconds)
        self.inner.send(message)

    def confirm(self, message):
        return self.inner.confirm(message)

    def close(self) -> None:
        self.inner.close()


def main(config: str, journal_file: str, count: str, slow: str = "0") -> None:
    cfg = load_config(Path(config))
    msgs = messages(int(count))
    transport = make_transport(cfg, Path(journal_file).parent / "tracker.xlsx")
    if float(slow):
        transport = Slow(transport, float(slow))
    journal = Journal(journal_file)
    print("ready", flush=True)  # the parent kills at a random point after this
    report = deliver(msgs, transport, journal, lambda: datetime.now(timezone.utc),
                     Policy(attempts=3, backoff_seconds=0.05), time.sleep)
    transport.close()
    print("done", " ".join(f"{o.state}" for o in report.outcomes), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
