"""init, validate, run and sample: the commands every install has."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from automation.calendar import LONDON
from automation.commands.args import parse_day, parse_now
from automation.commands.tracker import add_tracker, is_remote as _remote
from automation.config import load_config
from automation.errors import ConfigError, TrackerError, WorkbookError
from automation.paths import workbook_templates_dir


def register(sub) -> None:
    p = sub.add_parser("init", help="create a new, empty tracker from the template")
    p.add_argument("path", type=Path)
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("validate", help="list the tracker's problems by sheet, row and column")
    add_tracker(p)
    p.add_argument("--config", type=Path)
    p.add_argument("--now", type=parse_now, help="check as at this time (dates in the future are flagged), e.g. 2026-11-16T13:05")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("run", help="the scheduled run: check, send what is due, update the tracker")
    add_tracker(p)
    p.add_argument("--config", type=Path, help="config.toml (default: embedded, messages to outbox/)")
    p.add_argument("--now", type=parse_now, help="fix the clock, e.g. 2026-11-16T13:05 (London time)")
    p.add_argument("--dry-run", action="store_true", help="show what would be sent and written; do nothing")
    p.add_argument("--preview-dir", type=Path,
                   help="save each message as .eml and .html here to read; implies --dry-run (nothing is sent)")
    p.add_argument("--force", action="store_true", help="run even if nothing changed since the last clean run")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("sample", help="write a realistic sample tracker (invented schools) to try the product on")
    p.add_argument("path", type=Path)
    p.add_argument("--today", type=parse_day, help="date the sample's inspections around, e.g. 2026-11-16 or 16/11/2026 (default: today)")
    p.set_defaults(handler=cmd_sample)


def cmd_init(args) -> int:
    dest: Path = args.path
    if dest.exists():
        raise WorkbookError(f"{dest} already exists — init never overwrites a tracker; choose a new file name.")
    if dest.suffix.lower() != ".xlsx":
        raise WorkbookError(f"{dest} should end in .xlsx.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(workbook_templates_dir() / "tracker_template.xlsx", dest)
    print(f"Created {dest} from the tracker template. Fill in Staff and Schools, then record inspections.")
    return 0


def cmd_validate(args) -> int:
    from automation.outcomes import consistency_problems
    from automation.rules import load_rules
    from automation.steps import check_emails
    from automation.validate import build_tracker
    from automation.workbook.reader import read_workbook
    from automation.workbook.safety import PartLimits

    check_emails()  # as the run checks them: a purpose without its step or template is an error here too (exit 6)
    cfg = load_config(args.config)
    rules = load_rules(Path(cfg.rules_dir) if cfg.rules_dir else None)
    if _remote(args, cfg):
        from automation.session import tracker_store

        store = tracker_store(args.workbook, cfg)
        raw, name = store.load(), store.name
    else:
        raw = read_workbook(args.workbook, limits=PartLimits.from_section(cfg.section("workbook"), cfg.source))
        name = args.workbook.name
    tracker = build_tracker(raw, rules, args.now or datetime.now(LONDON))
    # The run also checks outcomes against the category of concern: show those here too.
    tracker.problems += [p for i in tracker.inspections for p in consistency_problems(i, rules)]
    for p in tracker.problems:
        print(p)
    errors = len(tracker.errors)
    notes = sum(1 for p in tracker.problems if p.severity == "info")
    warnings = len(tracker.problems) - errors - notes
    print(f"{name}: {len(tracker.schools)} schools, {len(tracker.staff)} staff, "
          f"{len(tracker.inspections)} inspections read; {errors} error(s), {warnings} warning(s)"
          + (f", {notes} note(s)." if notes else "."))
    return 1 if errors else 0


def cmd_run(args) -> int:
    from automation.commands.remote import RemoteRun
    from automation.commands.tracker import logged_on
    from automation.runlog import log_unread_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        if isinstance(args.workbook, Path):
            log_unread_config("run", args.workbook, exc)
        raise
    # Previewing is looking, never sending: a preview folder on its own must not send the lot.
    dry_run = args.dry_run or args.preview_dir is not None
    now = args.now or datetime.now(LONDON)
    start = f"now {now:%d/%m/%Y %H:%M}{' (--now)' if args.now else ''}{'; dry run' if dry_run else ''}"
    return logged_on("run", args, cfg, lambda t, log: _run(args, cfg, now, dry_run, log,
                                                           RemoteRun(t.store, cfg) if t.remote else None), start=start)


def _run(args, cfg, now: datetime, dry_run: bool, log, remote=None) -> int:
    """The run on args.workbook, or (remote: a SharePoint tracker's RemoteRun) on its store."""
    from automation import fingerprint

    workbook = remote.identity if remote else args.workbook
    version = remote.version if remote else None
    if not dry_run:  # nothing changed and nothing due: stop before the heavy imports (automation/fingerprint.py)
        skipped, before = fingerprint.begin(workbook, cfg, args.config, now, args.force, version)
        if skipped:
            print(skipped)
            log.info("  %s", skipped)
            return 0
        if remote:
            remote.hold(log, now)
    from automation.report import print_run, summary_lines
    from automation.run import run
    from automation.runlog import log_run

    result = run(workbook, cfg, now, dry_run=dry_run, store=remote.store if remote else None)
    if remote:
        remote.report(result, log)
    if args.preview_dir is not None:
        from automation.report import write_previews

        try:
            count = write_previews(result.plan.messages, args.preview_dir)  # the very plan the summary shows
        except OSError as exc:
            raise TrackerError(f"Cannot save the previews in {args.preview_dir}: {exc.strerror or exc} — "
                               "choose a folder you can write to (nothing was sent).")
        implied = "" if args.dry_run else " (--preview-dir implies --dry-run: nothing was sent)"
        line = f"Previews of {count} message(s) saved in {args.preview_dir}{implied}."
        print(line)
        log.info("  %s", line)
    log_run(log, result, summary_lines(result, workbook, dry_run))
    code = print_run(result, workbook, dry_run=dry_run)
    if remote and remote.store.notes and code == 0:
        code = 1  # cells left for the next run (a co-author's edit): an officer may want to look
    if not dry_run:
        fingerprint.finish(workbook, cfg, args.config, before, now, code, result, remote.fresh if remote else None)
    return code


def cmd_sample(args) -> int:
    from automation.rules import load_rules
    from automation.workbook.sample import build_sample

    if args.path.exists():
        raise TrackerError(f"{args.path} already exists — choose a new file name.")
    if args.path.suffix.lower() != ".xlsx":
        raise WorkbookError(f"{args.path} should end in .xlsx: the sample is an Excel workbook — choose a name like sample.xlsx.")
    build_sample(args.path, load_rules(), args.today or datetime.now(LONDON).date())
    print(f"Wrote a sample tracker (invented schools and officers) to {args.path}.")
    return 0
