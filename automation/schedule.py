"""The recommended schedule for `ofsted-tracker run`, as a Windows Task Scheduler command
and a cron line (plain text: printing them needs no operating system)."""

from __future__ import annotations

import getpass
import os
import shlex
import subprocess
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

from automation.config import Config
from automation.errors import ConfigError
from automation.runlog import BACKUPS, MAX_BYTES

DAYS = ("MON", "TUE", "WED", "THU", "FRI")
SCHTASKS_TR_LIMIT = 261  # schtasks refuses a longer /TR command
# Accounts Windows logs on itself: no password to store.
BUILT_IN_ACCOUNTS = {"SYSTEM", "NT AUTHORITY\\SYSTEM", "NT AUTHORITY\\NETWORKSERVICE", "NT AUTHORITY\\NETWORK SERVICE",
                     "NT AUTHORITY\\LOCALSERVICE", "NT AUTHORITY\\LOCAL SERVICE"}


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


def run_argv(python: str, workbook: Path | None, config: Path | None) -> list[str]:
    """The command the scheduler runs (absolute paths: schedulers start in another folder); no
    workbook: the SharePoint tracker named in the config."""
    argv = [python, "-m", "automation", "run"] + ([str(workbook)] if workbook is not None else [])
    return argv + (["--config", str(config)] if config else [])


def task_name(workbook: Path) -> str:
    return f"ofsted-tracker {workbook.stem}"


def default_account() -> str:
    """The signed-in Windows account as DOMAIN\\user (elsewhere: the user name)."""
    user, domain = os.environ.get("USERNAME"), os.environ.get("USERDOMAIN")
    return f"{domain}\\{user}" if user and domain else (user or getpass.getuser())


def run_as(account: str | None) -> list[str]:
    """/RU and /RP for a task that runs whether or not the account is logged on.

    /RP * makes schtasks ask for the password once and Task Scheduler keep it. Not /NP (no
    stored password, an S4U logon): such a task reaches local resources only — no network
    share for the tracker, no keyring secret for the mailbox."""
    if not account:
        return []
    if account.upper() in BUILT_IN_ACCOUNTS:
        return ["/RU", account]  # no password to give (schtasks ignores /RP for them)
    return ["/RU", account, "/RP", "*"]


def schtasks_argv(workbook: Path, argv: list[str], s: Schedule, account: str | None = None) -> list[str]:
    """schtasks /Create: weekdays from start, every N minutes until end (replaces an older task)."""
    span = datetime.combine(datetime.min, s.end) - datetime.combine(datetime.min, s.start)
    hours, minutes = divmod(int(span.total_seconds() // 60), 60)
    return ["schtasks", "/Create", "/TN", task_name(workbook), "/TR", subprocess.list2cmdline(argv),
            "/SC", "WEEKLY", "/D", ",".join(DAYS), "/ST", f"{s.start:%H:%M}",
            "/RI", str(s.every_minutes), "/DU", f"{hours:04d}:{minutes:02d}", *run_as(account), "/F"]


def errors_path(log: Path) -> Path:
    """Where cron keeps what a run prints on stderr (beside the run log, not inside it)."""
    return log.with_name(f"{log.stem}.errors.log")


def cron_line(argv: list[str], log: Path, s: Schedule) -> str:
    """A crontab line for the same schedule (weekdays, every N minutes in the window)."""
    last_hour = (s.end.hour * 60 + s.end.minute - 1) // 60  # the last run starts before `end`
    minutes = f"*/{s.every_minutes}" if s.every_minutes < 60 else "0"  # cron counts from the hour
    command = " ".join(shlex.quote(a) for a in argv)
    # The run writes its own rotating log; the terminal summary would only repeat it. Errors
    # still go to a file: one that stops a run before its log is open (an unreadable config)
    # is seen nowhere else. The folder may not exist before the first run: without it the
    # shell's redirect fails and cron never starts the job.
    folder = shlex.quote(str(log.parent))
    return (f"{minutes} {s.start.hour}-{last_hour} * * 1-5 mkdir -p {folder} && {command} "
            f"> /dev/null 2>> {shlex.quote(str(errors_path(log)))}")


def describe(workbook: Path, config: Path | None, python: str, cfg: Config, log: Path,
             account: str | None = None, remote: bool = False) -> list[str]:
    """What to paste, in plain words, and what IT must set up for the Windows task (remote: the
    tracker is the SharePoint one in the config and `workbook` its identity on this machine)."""
    s = schedule_settings(cfg)
    account = account or default_account()
    argv = run_argv(python, None if remote else workbook, config)
    win = schtasks_argv(workbook, argv, s, account)
    lines = [f"Recommended schedule: every {s.every_minutes} minutes, Monday to Friday, "
             f"{s.start:%H:%M} to {s.end:%H:%M} (London time). Each run sends only what is due,",
             "and the daily digests go once a day, after [reminders] send_after.", "",
             f"Every run appends what it did, each problem and its exit code to the run log:", f"  {log}",
             f"(kept to {BACKUPS + 1} files of {MAX_BYTES // 1_000_000} MB: {log.name}, {log.name}.1 ... {log.name}.{BACKUPS}).", "",
             "Windows (Task Scheduler) — in a Command Prompt"
             + (":" if account.upper() in BUILT_IN_ACCOUNTS else f"; schtasks asks once for {account}'s password:"),
             "  " + subprocess.list2cmdline(win), ""]
    if len(win[5]) > SCHTASKS_TR_LIMIT:
        lines += [f"  Note: the command is longer than the {SCHTASKS_TR_LIMIT} characters schtasks accepts: put it in a "
                  ".cmd file and schedule that file instead.", ""]
    lines += (_sharepoint_notes(workbook, config, cfg, account, log) if remote
              else _windows_notes(workbook, cfg, account, log)) + [""]
    lines += ["Linux or macOS (cron) — add with `crontab -e` (cron uses the machine's time zone; set it to Europe/London):",
              "  " + cron_line(argv, log, s),
              f"  (the run writes its log itself; anything printed on stderr goes to {errors_path(log).name})"]
    if remote:
        lines.append("  Sign in as the account cron runs as: `ofsted-tracker graph login --config CONFIG` as that user.")
    return lines


def _written_folders(workbook: Path, cfg: Config) -> list[Path]:
    """Folders the run writes outside the tracker's own folder (state, forms, outbox)."""
    dirs = [cfg.state_dir, cfg.forms_dir] + ([cfg.outbox_dir] if cfg.transport == "outbox" else [])
    home = workbook.parent
    return [d for d in dict.fromkeys(cfg.resolve(workbook, x) for x in dirs) if not d.is_relative_to(home)]


def _windows_notes(workbook: Path, cfg: Config, account: str, log: Path) -> list[str]:
    name = task_name(workbook)
    built_in = account.upper() in BUILT_IN_ACCOUNTS
    who, kept = ("anyone", "") if built_in else (account, " (Task Scheduler keeps the password)")
    lines = [f"  The task runs whether or not {who} is logged on{kept}.",
             f"  It runs pythonw, which shows nothing: each run is in the log {log}.",
             "  Task Scheduler's 'Last Run Result' is the exit code: 0x0 all well, 0x1 an officer must look",
             "  (see the log), 0x3 configuration, 0x4 workbook, 0x5 workbook locked, 0x7 mail.",
             "  What IT must do:"]
    if built_in:
        return lines + [f"  - {account} needs no password, but it reaches network shares as the computer, not as a",
                        "    person, and has its own keyring: a named service account (--account) is usually easier."]
    outside = _written_folders(workbook, cfg)
    return lines + [
        f"  - Prefer a service account to a person's: `ofsted-tracker schedule WORKBOOK --account DOMAIN\\name`",
        "    prints the command for it. The account needs the 'Log on as a batch job' right (Local Security",
        "    Policy > User Rights Assignment, or Group Policy).",
        f"  - Give {account} read and write access to {workbook.parent}"
        + (f" and to {', '.join(map(str, outside))}." if outside else "."),
        "    Use UNC paths (\\\\server\\share\\...): a mapped drive letter does not exist when nobody is logged on.",
        f"  - Store the mail secret as {account}: `runas /user:{account} cmd`, then in that window",
        "    `keyring set ofsted-tracker USERNAME` (README, 'Secrets'), or set its environment variable for that account.",
        "  - When the account's password changes, give the task the new one:",
        f"    schtasks /Change /TN \"{name}\" /RU {account} /RP *",
        "  - Do not use 'Do not store password' (schtasks /NP): the run would then reach local files only —",
        "    no network share, no keyring secret.",
    ]


def _sharepoint_notes(identity: Path, config: Path | None, cfg: Config, account: str, log: Path) -> list[str]:
    """What IT must set up for the task of a tracker kept in SharePoint/OneDrive: the account's own sign-in,
    this machine's state folder, one scheduler per tracker."""
    from automation.graph.auth import local_folder

    name = task_name(identity)
    login = f"ofsted-tracker graph login --config {config}" if config else "ofsted-tracker graph login --config CONFIG"
    return [f"  The task runs whether or not {account} is logged on (Task Scheduler keeps the password).",
            f"  It runs pythonw, which shows nothing: each run is in the log {log}.",
            "  Task Scheduler's 'Last Run Result' is the exit code: 0x0 all well, 0x1 an officer must look",
            "  (see the log), 0x3 configuration, 0x4 tracker not found on SharePoint, 0x7 mail, 0x9 SharePoint",
            "  not reached (the next run tries again), 0xA sign-in expired, 0xB another machine holds the tracker.",
            "  What IT must do:",
            f"  - Sign in to SharePoint AS {account}: `runas /user:{account} cmd`, then in that window",
            f"    `{login}`. The sign-in is kept encrypted for that account only, so one made as anyone",
            "    else does not work for the task. When it lapses the run stops with exit 0xA: sign in again the same way.",
            f"  - Give {account} read and write access to {local_folder(cfg)} (the sign-in, and this machine's",
            f"    send journal, lock, log and generated files for the tracker in {identity.parent}).",
            "  - Run the schedule for this tracker on this machine only: the send journal is here, and another",
            "    machine's run stops (exit 0xB) while this one's lease lasts ([sharepoint] lease_minutes).",
            "  - The account needs the 'Log on as a batch job' right (Local Security Policy > User Rights Assignment).",
            f"  - Store the mail secret as {account} too (README, 'Secrets'), or set its environment variable for that account.",
            "  - When the account's password changes, give the task the new one:",
            f"    schtasks /Change /TN \"{name}\" /RU {account} /RP *"]
