"""The run log: one rotating file per tracker in its state folder (`<tracker>.log`), appended
by every run — so a scheduled run under `pythonw`, whose output nobody sees, still leaves a
record: what it was asked to do, what it did, every problem and how it ended.

Never in the log: secrets (nothing from the config but its path) and message bodies."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Callable

from automation import __version__
from automation.config import Config, load_config
from automation.errors import TrackerError

MAX_BYTES = 1_000_000  # then <tracker>.log.1 ... .5; the oldest goes
BACKUPS = 5
LOGGER = "automation.runlog"
_MEANING = {0: "all well", 1: "something needs an officer's attention"}


def log_path(workbook: Path, cfg: Config) -> Path:
    """Where the runs on this tracker are logged (printed by `ofsted-tracker schedule`)."""
    return cfg.resolve(workbook, cfg.state_dir) / f"{Path(workbook).stem}.log"


class _Formatter(logging.Formatter):
    def formatTime(self, record, datefmt=None) -> str:
        # Local time with its offset: a log read in March and October means the same moment.
        return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="seconds")


class _Handler(RotatingFileHandler):
    def handleError(self, record) -> None:
        # A log that cannot be written (full disk, a rotation blocked by another process on
        # Windows) must never stop a run or print a traceback: one line, once.
        if not getattr(self, "_complained", False):
            self._complained = True
            print(f"ofsted-tracker: could not write the run log {self.baseFilename}: "
                  f"{sys.exc_info()[1]} — the run carries on.", file=sys.stderr)


def _logger() -> logging.Logger:
    log = logging.getLogger(LOGGER)
    log.setLevel(logging.INFO)
    log.propagate = False  # the terminal already shows the summary: no echo of every line
    if not log.handlers:  # without a file (none could be opened), lines go nowhere, not to stderr
        log.addHandler(logging.NullHandler())
    return log


def open_log(path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> logging.Logger:
    """The run logger, writing to path (and the product's own warnings with it)."""
    log = _logger()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _Handler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    except OSError as exc:
        print(f"ofsted-tracker: cannot write the run log {path}: {exc.strerror or exc} — the run carries on "
              "without it.", file=sys.stderr)
        return log
    handler.setFormatter(_Formatter("%(asctime)s %(levelname)-7s [%(process)d] %(message)s"))
    log.addHandler(handler)
    logging.getLogger("automation").addHandler(handler)  # warnings from the rest of the product
    return log


def close_log(log: logging.Logger) -> None:
    """Detach and close the file (the next run opens it afresh, rotating if it is full)."""
    for handler in [h for h in log.handlers if isinstance(h, _Handler)]:
        log.removeHandler(handler)
        logging.getLogger("automation").removeHandler(handler)
        handler.close()


def logged(command: str, workbook: Path, cfg: Config, body: Callable[[logging.Logger], int], *,
           start: str = "", max_bytes: int = MAX_BYTES, backups: int = BACKUPS, exists: bool | None = None,
           where: str = "") -> int:
    """Run body(log) between a start line and an end line with the exit code; an error that
    ends the command is logged, then raised again for the command line to report (exists=True:
    a tracker kept elsewhere, e.g. SharePoint, whose identity is a local name only; `where` is
    then its address, which the start line names instead)."""
    workbook = Path(workbook)
    if not (workbook.exists() if exists is None else exists):  # nothing to log beside: the command says so itself
        return body(_logger())
    log = open_log(log_path(workbook, cfg), max_bytes, backups)
    log.info("%s start: ofsted-tracker %s; %s; config %s%s", command, __version__,
             f"tracker {where}" if where else f"workbook {workbook.resolve()}", _config_path(cfg),
             f"; {start}" if start else "")
    try:
        code = body(log)
    except TrackerError as exc:
        log.error("%s stopped: %s (exit %d)", command, exc, exc.exit_code)
        raise
    except KeyboardInterrupt:
        log.error("%s interrupted (exit 130)", command)
        raise
    except OSError as exc:  # the machine (disk, share, permissions), not the tool
        log.error("%s stopped: %s (exit 2)", command, exc)
        raise
    except Exception:
        log.exception("%s stopped by a fault in the tool (exit 2) — send this log to its maintainers", command)
        raise
    else:
        log.log(logging.INFO if code == 0 else logging.WARNING, "%s end: exit %d (%s)", command, code,
                _MEANING.get(code, "see above"))
        return code
    finally:
        close_log(log)


def _config_path(cfg: Config) -> str:
    """The config as a full path, so a scheduled run's log says which file it read."""
    source = Path(cfg.source)
    return str(source.resolve()) if source.is_file() else cfg.source


def log_unread_config(command: str, workbook: Path, exc: TrackerError) -> None:
    """A config that cannot be read cannot say where its state folder is: log the error in the
    default one (beside the tracker), so a scheduled run that shows nothing still leaves a trace."""
    if Path(workbook).exists():
        log = open_log(log_path(Path(workbook), load_config(None)))
        log.error("%s stopped: %s (exit %d) — logged in the default state folder: the config could not be read",
                  command, exc, exc.exit_code)
        close_log(log)


def log_run(log: logging.Logger, result, summary: list[str]) -> None:
    """The run's summary, every problem and every delivery outcome (no message bodies)."""
    for line in summary:
        log.info("  %s", line)
    for p in result.update.problems:
        log.log(logging.ERROR if p.severity == "error" else logging.WARNING, "problem: %s", p)
    for o in (result.delivery.outcomes if result.delivery else ()):
        m, refused = o.message, getattr(o, "refused", None) or {}
        log.log(logging.WARNING if o.needs_attention() else logging.INFO,
                "delivery: %s %s v%s to %s: %s%s%s [%s]", m.inspection_id, m.purpose, m.version,
                ", ".join(m.recipients), o.state, f" — {o.detail}" if o.detail else "",
                "".join(f"; refused by {a}: {why}" for a, why in refused.items()), m.message_id)
