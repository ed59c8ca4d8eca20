"""The recommended schedule for `ofsted-tracker run`, as a Windows Task Scheduler command
and a cron line (plain text: printing them needs no operating system)."""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

from automation.config import Config
from automation.errors import ConfigError

DAYS = ("MON", "TUE", "WED", "THU", "FRI")
SCHTASKS_TR_LIMIT = 261  # schtasks refuses a longer /TR command


@dataclass(frozen=True)
class Schedule:
    every_minutes: int = 15
    start: time = time(7, 0)
    end: time = time(19, 0)  # the last run starts before this


def schedule_settings(cfg: Config) -> Schedule:
    """[schedule] from the config (every_minutes, start, end), errors naming the key."""
    raw, d = cfg.section("schedule"), Schedule()

    def clock(key, default):
        v = raw.get(key)
        if v is None:
            return default
        try:
            h, m = str(v).split(":")
            return time(int(h), int(m))
        except ValueError:
            raise ConfigError(f"{cfg.source}: key 'schedule.{key}' = {v!r} is not a time like \"07:00\" — correct it.")

    every = raw.get("every_minutes", d.every_minutes)
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 60 or 60 % every:
        raise ConfigError(f"{cfg.source}: key 'schedule.every_minutes' = {every!r} should divide an hour "
                          "(5, 10, 15, 20, 30 or 60) — correct it.")
    s = Schedule(every, clock("start", d.start), clock("end", d.end))
    if s.end <= s.start:
        raise ConfigError(f"{cfg.source}: [schedule] end {s.end:%H:%M} is not after start {s.start:%H:%M} — correct them.")
    return s


def run_argv(python: str, workbook: Path, config: Path | None) -> list[str]:
    """The command the scheduler runs (absolute paths: schedulers start in another folder)."""
    argv = [python, "-m", "automation", "run", str(workbook)]
    return argv + (["--config", str(config)] if config else [])


def task_name(workbook: Path) -> str:
    return f"ofsted-tracker {workbook.stem}"


def schtasks_argv(workbook: Path, argv: list[str], s: Schedule) -> list[str]:
    """schtasks /Create: weekdays from start, every N minutes until end (replaces an older task)."""
    span = datetime.combine(datetime.min, s.end) - datetime.combine(datetime.min, s.start)
    hours, minutes = divmod(int(span.total_seconds() // 60), 60)
    return ["schtasks", "/Create", "/TN", task_name(workbook), "/TR", subprocess.list2cmdline(argv),
            "/SC", "WEEKLY", "/D", ",".join(DAYS), "/ST", f"{s.start:%H:%M}",
            "/RI", str(s.every_minutes), "/DU", f"{hours:04d}:{minutes:02d}", "/F"]


def cron_line(argv: list[str], log: Path, s: Schedule) -> str:
    """A crontab line for the same schedule (weekdays, every N minutes in the window)."""
    last_hour = (s.end.hour * 60 + s.end.minute - 1) // 60  # the last run starts before `end`
    minutes = f"*/{s.every_minutes}" if s.every_minutes < 60 else "0"  # cron counts from the hour
    command = " ".join(shlex.quote(a) for a in argv)
    # The log's folder may not exist before the first run: without it the shell's redirect
    # fails and cron never starts the job.
    folder = shlex.quote(str(log.parent))
    return f"{minutes} {s.start.hour}-{last_hour} * * 1-5 mkdir -p {folder} && {command} >> {shlex.quote(str(log))} 2>&1"


def describe(workbook: Path, config: Path | None, python: str, cfg: Config, log: Path) -> list[str]:
    """What to paste, in plain words."""
    s = schedule_settings(cfg)
    argv = run_argv(python, workbook, config)
    win = schtasks_argv(workbook, argv, s)
    lines = [f"Recommended schedule: every {s.every_minutes} minutes, Monday to Friday, "
             f"{s.start:%H:%M} to {s.end:%H:%M} (London time). Each run sends only what is due,",
             "and the daily digests go once a day, after [reminders] send_after.", "",
             "Windows (Task Scheduler) — in a Command Prompt, as the user whose mailbox settings the run uses:",
             "  " + subprocess.list2cmdline(win), ""]
    if len(win[5]) > SCHTASKS_TR_LIMIT:
        lines += [f"  Note: the command is longer than the {SCHTASKS_TR_LIMIT} characters schtasks accepts: put it in a "
                  ".cmd file and schedule that file instead.", ""]
    lines += ["Linux or macOS (cron) — add with `crontab -e` (cron uses the machine's time zone; set it to Europe/London):",
              "  " + cron_line(argv, log, s)]
    return lines
