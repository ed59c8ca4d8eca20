"""After the inspection: `follow-ups` (compile the Follow-ups sheet, send nothing) and
`schedule` (the recommended Task Scheduler command and cron line; --install on Windows)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from automation.calendar import LONDON
from automation.config import load_config
from automation.errors import TrackerError


def register(sub) -> None:
    from automation.commands.args import parse_now
    from automation.commands.tracker import add_tracker

    p = sub.add_parser("follow-ups", help="compile the Follow-ups sheet from the rules (sends nothing)")
    add_tracker(p)
    p.add_argument("--config", type=Path)
    p.add_argument("--now", type=parse_now, help="fix the clock, e.g. 2026-11-16T13:05 (London time)")
    p.add_argument("--dry-run", action="store_true", help="list the actions; write nothing")
    p.set_defaults(handler=cmd_follow_ups)

    p = sub.add_parser("schedule", help="print the Task Scheduler command and cron line for the scheduled run")
    add_tracker(p)
    p.add_argument("--config", type=Path)
    p.add_argument("--install", action="store_true", help="on Windows: create the scheduled task now")
    p.add_argument("--account", help="the Windows account the task runs as, e.g. LA\\svc-ofsted (default: you)")
    p.set_defaults(handler=cmd_schedule)


def cmd_follow_ups(args) -> int:
    from automation.commands.tracker import logged_on

    cfg = load_config(args.config)
    now = args.now or datetime.now(LONDON)
    start = f"now {now:%d/%m/%Y %H:%M}{' (--now)' if args.now else ''}{'; dry run' if args.dry_run else ''}"
    return logged_on("follow-ups", args, cfg, lambda t, log: _follow_ups(args, t, cfg, now, log), start=start)


def _follow_ups(args, t, cfg, now: datetime, log) -> int:
    from automation.followups import OPEN, compiled
    from automation.run import tool_update
    from automation.session import READ, WRITE, note_moved_aside, open_session

    def say(line: str) -> None:
        print(line)
        log.info("  %s", line)

    # A dry run on a tracker that never sent anything creates no journal.
    mode = READ if args.dry_run else WRITE
    if not args.dry_run:  # a SharePoint tracker is written from one machine only, as the run does
        t.hold(log, now)
    with open_session(t.identity, cfg, now, store=t.store, journal=mode, lock=True) as s:
        ctx = s.context()
        result = compiled(ctx)
        today = ctx.now.date()
        for fu in result.follow_ups:
            if fu.state == OPEN:
                late = " OVERDUE" if fu.due and fu.due < today else ""
                due = f"{fu.due:%d/%m/%Y}" if fu.due else "no date yet"
                say(f"  {fu.inspection_id}  {fu.owner or '(no owner)':<20} {due}{late}  {fu.action}")
        say(f"{len(result.follow_ups)} action(s); {result.new} new, {result.retired} no longer needed.")
        if args.dry_run:
            say("Dry run: the tracker was not changed.")
            return 0
        update = tool_update(ctx, s.records())
        if s.moved:
            note_moved_aside(update, s.moved)
        written = s.store.save(update)
        say(f"Tracker updated ({written} cell(s) written)." if written else "Tracker already up to date.")
        left = getattr(s.store, "notes", None) if t.remote else None
        for note in left or []:  # a co-author changed the cell since it was read: theirs stays
            say(f"Left for the next run: {note}")
        return 1 if left else 0


def _python() -> str:
    """This Python; on Windows its windowless twin, so no console flashes up every 15 minutes."""
    exe = Path(sys.executable)
    quiet = exe.with_name("pythonw.exe")
    return str(quiet if os.name == "nt" and quiet.exists() else exe)


def cmd_schedule(args) -> int:
    from automation.runlog import log_path
    from automation.schedule import default_account, describe, run_argv, schedule_settings, schtasks_argv

    cfg = load_config(args.config)
    workbook, remote = _scheduled(args, cfg)
    config = args.config.resolve() if args.config else None
    account = args.account or default_account()
    for line in describe(workbook, config, _python(), cfg, log_path(workbook, cfg), account, remote=remote):
        print(line)
    if not args.install:
        return 0
    if os.name != "nt":
        raise TrackerError("--install creates a Windows scheduled task and works on Windows only; "
                           "on this machine add the cron line above with `crontab -e`.")
    argv = schtasks_argv(workbook, run_argv(_python(), None if remote else workbook, config), schedule_settings(cfg),
                         account)
    # Not captured: schtasks asks for the account's password on this console (/RP *).
    done = subprocess.run(argv)
    if done.returncode:
        raise TrackerError(f"schtasks could not create the task (its reason is above) — check {account}'s password, "
                           "or ask IT to run the command above (creating a task for another account needs an administrator).")
    print(f"Scheduled task '{argv[3]}' created; it runs as {account} whether or not {account} is logged on.")
    return 0


def _scheduled(args, cfg) -> tuple[Path, bool]:
    """(the tracker's path or SharePoint identity, whether it is on SharePoint), checked to exist. A
    SharePoint tracker is scheduled as the one in [sharepoint] tracker: the task names no file."""
    from automation.commands.tracker import is_remote, open_tracker
    from automation.errors import ConfigError

    if not is_remote(args, cfg):
        workbook = args.workbook.resolve()
        if not workbook.exists():
            raise TrackerError(f"There is no workbook at {workbook} — give the tracker's path.")
        return workbook, False
    configured = str(cfg.section("sharepoint").get("tracker") or "").strip()
    if args.config is None or (args.workbook is not None and str(args.workbook).strip() != configured):
        raise ConfigError("The scheduled run of a SharePoint/OneDrive tracker takes it from the config: set "
                          f"[sharepoint] tracker = \"{args.workbook or 'its URL'}\" in the config file the schedule "
                          "uses, then run `ofsted-tracker schedule --config CONFIG`.")
    return open_tracker(args, cfg, remote=True).identity, True
