"""`ofsted-tracker forms WORKBOOK`: the feedback-form part of the run, on demand — write the
forms that are due, read completed ones into the tracker, email each completed form once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from automation.calendar import LONDON
from automation.commands.args import parse_now
from automation.commands.tracker import add_tracker, logged_on
from automation.config import load_config


def register(sub) -> None:
    p = sub.add_parser("forms", help="write due feedback forms; read completed ones into the tracker and share them")
    add_tracker(p)
    p.add_argument("--config", type=Path, help="config.toml (default: embedded, messages to outbox/)")
    p.add_argument("--now", type=parse_now, help="fix the clock, e.g. 2026-11-18T08:00 (London time)")
    p.add_argument("--dry-run", action="store_true", help="show what would be written and sent; do nothing")
    p.set_defaults(handler=cmd_forms)


def cmd_forms(args) -> int:
    cfg = load_config(args.config)
    now = args.now or datetime.now(LONDON)
    start = f"now {now:%d/%m/%Y %H:%M}{' (--now)' if args.now else ''}{'; dry run' if args.dry_run else ''}"
    return logged_on("forms", args, cfg, lambda t, log: _forms(args, t, cfg, now, log), start=start)


def _forms(args, t, cfg, now: datetime, log) -> int:
    from automation.purposes import Purpose
    from automation.report import print_run
    from automation.run import run

    if not args.dry_run:  # a SharePoint tracker is written from one machine only, as the run does
        t.hold(log, now)
    # The whole run keeps the tracker's own cells right; only the forms' emails are sent now
    # (contact plans and the rest wait for the scheduled run).
    result = run(t.identity, cfg, now, dry_run=args.dry_run, store=t.store,
                 select=lambda m: m.purpose == Purpose.FEEDBACK_FORM)
    left = list(getattr(t.store, "notes", None) or []) if t.remote else []
    result.notes.extend(f"Left for the next run: {n}" for n in left)
    lines = forms_lines(result, cfg.resolve(t.identity, cfg.forms_dir), args.dry_run, t.remote)
    for line in lines:
        log.info("  %s", line)
    code = print_run(result, t.identity, dry_run=args.dry_run, lines=lines)
    return 1 if left and code == 0 else code


def forms_lines(result, folder: Path, dry_run: bool, remote: bool = False) -> list[str]:
    """Only what this command did with feedback forms (the scheduled run reports the rest); for a
    SharePoint tracker also what went up or came down, and the cells left for the next run."""
    would = "would be " if dry_run else ""
    forms = result.forms
    lines = [f"Feedback forms folder: {folder}" + (" (this machine's copy of the one beside the tracker)" if remote else "")]
    lines += [n for n in result.notes if "feedback form" in n  # "<id>: feedback form written to <path>"
              or (remote and ("SharePoint" in n or n.startswith("Left for the next run")))]
    lines.append(f"{len(forms.written) if forms else 0} form(s) {would}written; "
                 f"{len(result.context.forms)} completed form(s) in the folder, their answers in the tracker.")
    sent = [m for m in result.messages]
    lines.append(f"{len(sent)} completed form(s) {'would be ' if dry_run else ''}shared by email"
                 + (": " + ", ".join(m.inspection_id for m in sent) if sent else "."))
    if result.delivery:
        lines += [f"  ATTENTION {o.message.inspection_id}: {o.state} — {o.detail}" for o in result.delivery.attention()]
    problems = [p for p in result.update.problems if p.sheet.startswith("Feedback form")]
    lines += [str(p) for p in problems]
    # Errors elsewhere in the tracker still make the exit status 1: say so, never a bare exit 1.
    others = [p for p in result.update.problems if p.severity == "error" and p not in problems]
    if others:
        lines.append(f"{len(others)} error(s) elsewhere in the tracker (first: {others[0]}) — the Problems sheet lists "
                     "them all (`ofsted-tracker validate` too); they make the exit status 1.")
    if not dry_run:
        lines.append("Tracker updated." if result.saved else f"Tracker NOT updated: {result.save_note}")
    return lines
