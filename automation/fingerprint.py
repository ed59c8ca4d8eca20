"""Skip a scheduled run when nothing it reads has changed and nothing falls due.

Most runs (every 15 minutes, all day) find nothing to do, yet reading a big tracker takes
seconds. After a run that exited 0 and changed none of its own inputs, the fingerprint of
those inputs (tracker, journal, forms folder, rules, templates, config, the tool's version,
whether the oversight workbook is there) is stored in the state folder with the moment the
next run must happen anyway: the next midnight, the next configured clock time (working
hours, schedule window, reminders' send_after, the oversight workbook's daily refresh) and,
while an inspection is live, every run in working hours. The next run compares; if all
matches and that moment has not come, it stops in milliseconds.

Conservative by design: a failed run, a run that wrote anything, a dry run or --force,
an unreadable or foreign fingerprint file, or a clock behind the last run: never a skip."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable

from automation import __version__
from automation.config import Config

FILE_NAME = "last-run.json"
LIVE_DAYS = 14  # an inspection notified this recently may still have deadlines within the day


def state_file(workbook: Path, cfg: Config) -> Path:
    """Where the last clean run's fingerprint is kept (the tracker's state folder)."""
    return cfg.resolve(workbook, cfg.state_dir) / f"{Path(workbook).stem}.{FILE_NAME}"


Remote = Callable[[], object] | None  # a tracker kept elsewhere (SharePoint): its version, in one request


def take(workbook: Path, cfg: Config, config_path: Path | None, remote: Remote = None) -> dict:
    """The fingerprint of everything a run reads (a few milliseconds: one hash of the tracker, or
    for a SharePoint tracker one request for its eTag and cTag)."""
    from automation.paths import email_templates_dir

    workbook = Path(workbook)
    rules = Path(cfg.rules_dir) if cfg.rules_dir else Path(__file__).with_name("rules")
    state = cfg.resolve(workbook, cfg.state_dir)
    return {
        "version": __version__,
        "tool": _listing(Path(__file__).parent, "*.py"),  # an upgraded install is a change
        "workbook": str(workbook.resolve()),
        "tracker": remote() if remote else _file(workbook, digest=True),
        "config": _file(Path(config_path), digest=True) if config_path else "embedded",
        "journal": _listing(state, f"{workbook.stem}.*journal.sqlite*"),
        "forms": _listing(cfg.resolve(workbook, cfg.forms_dir), "*"),
        "rules": _listing(rules, "*.toml"),
        "templates": _listing(_templates(email_templates_dir), "*"),
        "oversight": _oversight_present(workbook, cfg),  # a deleted oversight workbook is rebuilt by the next run
    }


def _oversight_present(workbook: Path, cfg: Config) -> bool | None:
    from automation.errors import ConfigError
    from automation.oversight.settings import report_paths

    try:
        return report_paths(cfg, workbook).oversight.is_file()
    except ConfigError:
        return None  # the run itself says what is wrong


def _templates(finder) -> Path | None:
    try:
        return Path(finder())
    except Exception:  # no templates folder: the run itself will say so
        return None


def _file(path: Path, digest: bool = False):
    try:
        st = path.stat()
    except OSError:
        return None
    out = [st.st_size, st.st_mtime_ns]
    if digest:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        out.append(h.hexdigest())
    return out


def _listing(folder: Path | None, pattern: str) -> list | None:
    """Every file under folder matching pattern, with its size and modification time."""
    if folder is None or not folder.is_dir():
        return None
    return sorted([str(p.relative_to(folder)), *_file(p)] for p in folder.rglob(pattern) if p.is_file())


def next_due(cfg: Config, now: datetime, live: bool) -> datetime:
    """The first moment after now when a run could have something new to do with unchanged inputs."""
    tz = now.tzinfo
    today = now.date()
    clocks = {cfg.day_start, cfg.day_end, *_configured_clocks(cfg)}
    in_hours = cfg.day_start <= now.time() < cfg.day_end and today.weekday() < 5
    if live and in_hours:
        return now  # deadlines counted in working hours can fall at any minute: never skip
    candidates = [datetime.combine(today + timedelta(days=1), time(0, 0), tz)]
    candidates += [datetime.combine(today, t, tz) for t in clocks if datetime.combine(today, t, tz) > now]
    return min(candidates)


def _configured_clocks(cfg: Config) -> list[time]:
    out = []
    for section, key, default in (("schedule", "start", "07:00"), ("schedule", "end", "19:00"),
                                  ("reminders", "send_after", "07:30")):
        try:
            out.append(time.fromisoformat(str(cfg.section(section).get(key) or default)))
        except ValueError:
            out.append(time(0, 0))  # unreadable: the run itself reports it; midnight is always a boundary
    from automation.errors import ConfigError
    from automation.oversight.settings import refresh_time

    try:  # the oversight workbook's daily rebuild: a skipped run must never put it off
        at = refresh_time(cfg)
    except ConfigError:
        at = time(0, 0)
    if at is not None:
        out.append(at)
    return out


def is_live(inspections, today: date) -> bool:
    """Whether any inspection is recent enough to have deadlines during the day."""
    horizon = today - timedelta(days=LIVE_DAYS)
    for i in inspections:
        notified = getattr(i, "notified_at", None)
        start = getattr(i, "start_date", None)
        if (notified is not None and notified.date() >= horizon) or (start is not None and _day(start) >= horizon):
            return True
    return False


def _day(d) -> date:
    return d.date() if isinstance(d, datetime) else d


def skip_line(workbook: Path, cfg: Config, config_path: Path | None, now: datetime, remote: Remote = None) -> str | None:
    """The one line saying why this run is skipped, or None when it must run."""
    try:
        saved = json.loads(state_file(workbook, cfg).read_text(encoding="utf-8"))
        ran_at = datetime.fromisoformat(saved["ran_at"])
        due = datetime.fromisoformat(saved["next_due"])
        inputs = saved["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (ran_at <= now < due) or saved.get("exit") != 0:
        return None
    if inputs != _jsonable(take(workbook, cfg, config_path, remote)):
        return None
    until = f"{due:%H:%M}" if due.date() == now.date() else f"{due:%d/%m/%Y %H:%M}"
    return (f"Nothing changed since the run at {ran_at:%H:%M} and nothing falls due before {until}: skipped "
            "(--force runs anyway).")


def forget(workbook: Path, cfg: Config) -> None:
    """Drop the stored fingerprint (before a run: a run that fails must not leave one)."""
    try:
        os.unlink(state_file(workbook, cfg))
    except OSError:
        pass


def record(workbook: Path, cfg: Config, config_path: Path | None, before: dict, now: datetime,
           exit_code: int, live: bool, remote: Remote = None) -> bool:
    """After a run: keep the fingerprint if the run exited 0 and changed none of its inputs."""
    if exit_code != 0:
        return False
    after = take(workbook, cfg, config_path, remote)
    if _jsonable(after) != _jsonable(before):
        return False  # it wrote something: the next run reads afresh (and then settles)
    path = state_file(workbook, cfg)
    data = {"ran_at": now.isoformat(), "next_due": next_due(cfg, now, live).isoformat(), "exit": exit_code,
            "inputs": _jsonable(after)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        return False  # no skip next time: harmless
    return True


def _jsonable(obj):
    return json.loads(json.dumps(obj))


def begin(workbook: Path, cfg: Config, config_path: Path | None, now: datetime, force: bool, remote: Remote = None):
    """(the skip line or None, the inputs' fingerprint before the run); forgets the stored one."""
    line = None if force else skip_line(workbook, cfg, config_path, now, remote)
    if line:
        return line, None
    forget(workbook, cfg)
    return None, take(workbook, cfg, config_path, remote) if remote or Path(workbook).is_file() else None


def finish(workbook: Path, cfg: Config, config_path: Path | None, before: dict | None, now: datetime,
           exit_code: int, result, remote: Remote = None) -> bool:
    """After the run: record its fingerprint when it may be skipped next time."""
    if before is None:
        return False
    ctx = getattr(result, "context", None)
    inspections = getattr(getattr(ctx, "tracker", None), "inspections", None)
    if inspections is None or getattr(result, "messages", None):
        return False  # it sent or could not read the tracker: never the ground for a skip
    return record(workbook, cfg, config_path, before, now, exit_code, is_live(inspections, now.date()), remote)
