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
    from automation.commands.basic import parse_now

    p = sub.add_parser("follow-ups", help="compile the Follow-ups sheet from the rules (sends nothing)")
    p.add_argument("workbook", type=Path)
    p.add_argument("--config", type=Path)
    p.add_argument("--now", type=parse_now, help="fix the clock, e.g. 2026-11-16T13:05 (London time)")
    p.add_argument("--dry-run", action="store_true", help="list the actions; write nothing")
    p.set_defaults(handler=cmd_follow_ups)

    p = sub.add_parser("schedule", help="print the Task Scheduler command and cron line for the scheduled run")
    p.add_argument("workbook", type=Path)
    p.add_argument("--config", type=Path)
    p.add_argument("--install", action="store_true", help="on Windows: create the scheduled task now")
    p.set_defaults(handler=cmd_schedule)


def cmd_follow_ups(args) -> int:
    from automation.followups import OPEN, compiled
    from automation.mail.journal import Journal
    from automation.run import journal_path, load_context, run_lock, tool_update
    from automation.workbook.store import WorkbookStore

    cfg = load_config(args.config)
    now = args.now or datetime.now(LONDON)
    store = WorkbookStore(args.workbook)
    path = journal_path(args.workbook, cfg)
    with run_lock(args.workbook, cfg):
        journal = Journal(path) if path.exists() or not args.dry_run else None
        try:
            ctx = load_context(store, cfg, now, journal)
            result = compiled(ctx)
            today = ctx.now.date()
            for fu in result.follow_ups:
                if fu.state == OPEN:
                    late = " OVERDUE" if fu.due and fu.due < today else ""
                    due = f"{fu.due:%d/%m/%Y}" if fu.due else "no date yet"
                    print(f"  {fu.inspection_id}  {fu.owner or '(no owner)':<20} {due}{late}  {fu.action}")
            print(f"{len(result.follow_ups)} action(s); {result.new} new, {result.retired} no longer needed.")
            if args.dry_run:
                print("Dry run: the tracker was not changed.")
                return 0
            written = store.save(tool_update(ctx, journal.records() if journal else []))
            print(f"Tracker updated ({written} cell(s) written)." if written else "Tracker already up to date.")
            return 0
        finally:
            if journal:
                journal.close()


def _python() -> str:
    """This Python; on Windows its windowless twin, so no console flashes up every 15 minutes."""
    exe = Path(sys.executable)
    quiet = exe.with_name("pythonw.exe")
    return str(quiet if os.name == "nt" and quiet.exists() else exe)


def cmd_schedule(args) -> int:
    from automation.schedule import describe, run_argv, schedule_settings, schtasks_argv

    cfg = load_config(args.config)
    workbook = args.workbook.resolve()
    if not workbook.exists():
        raise TrackerError(f"There is no workbook at {workbook} — give the tracker's path.")
    config = args.config.resolve() if args.config else None
    log = cfg.resolve(workbook, cfg.state_dir) / f"{workbook.stem}.run.log"
    for line in describe(workbook, config, _python(), cfg, log):
        print(line)
    if not args.install:
        return 0
    if os.name != "nt":
        raise TrackerError("--install creates a Windows scheduled task and works on Windows only; "
                           "on this machine add the cron line above with `crontab -e`.")
    argv = schtasks_argv(workbook, run_argv(_python(), workbook, config), schedule_settings(cfg))
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        raise TrackerError(f"schtasks could not create the task: {(done.stderr or done.stdout).strip()} — "
                           "run the command above yourself (an administrator may need to allow it).")
    print(f"Scheduled task '{argv[3]}' created.")
    return 0
