"""`ofsted-tracker forms WORKBOOK`: the feedback-form part of the run, on demand — write the
forms that are due, read completed ones into the tracker, email each completed form once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from automation.calendar import LONDON
from automation.commands.args import parse_now
from automation.config import load_config


def register(sub) -> None:
    p = sub.add_parser("forms", help="write due feedback forms; read completed ones into the tracker and share them")
    p.add_argument("workbook", type=Path)
    p.add_argument("--config", type=Path, help="config.toml (default: embedded, messages to outbox/)")
    p.add_argument("--now", type=parse_now, help="fix the clock, e.g. 2026-11-18T08:00 (London time)")
    p.add_argument("--dry-run", action="store_true", help="show what would be written and sent; do nothing")
    p.set_defaults(handler=cmd_forms)


def cmd_forms(args) -> int:
    from automation.report import print_run
    from automation.purposes import Purpose
    from automation.run import run

    cfg = load_config(args.config)
    now = args.now or datetime.now(LONDON)
    # The whole run keeps the tracker's own cells right; only the forms' emails are sent now
    # (contact plans and the rest wait for the scheduled run).
    result = run(args.workbook, cfg, now, dry_run=args.dry_run, select=lambda m: m.purpose == Purpose.FEEDBACK_FORM)
    folder = cfg.resolve(args.workbook, cfg.forms_dir)
    return print_run(result, args.workbook, dry_run=args.dry_run, lines=forms_lines(result, folder, args.dry_run))


def forms_lines(result, folder: Path, dry_run: bool) -> list[str]:
    """Only what this command did with feedback forms (the scheduled run reports the rest)."""
    would = "would be " if dry_run else ""
    forms = result.forms
    lines = [f"Feedback forms folder: {folder}"]
    lines += [n for n in result.notes if "feedback form" in n]  # "<id>: feedback form written to <path>"
    lines.append(f"{len(forms.written) if forms else 0} form(s) {would}written; "
                 f"{len(result.context.forms)} completed form(s) read into the tracker.")
    sent = [m for m in result.messages]
    lines.append(f"{len(sent)} completed form(s) {'would be ' if dry_run else ''}shared by email"
                 + (": " + ", ".join(m.inspection_id for m in sent) if sent else "."))
    if result.delivery:
        lines += [f"  ATTENTION {o.message.inspection_id}: {o.state} — {o.detail}" for o in result.delivery.attention()]
    problems = [p for p in result.update.problems if p.sheet.startswith("Feedback form")]
    lines += [str(p) for p in problems]
    if not dry_run:
        lines.append("Tracker updated." if result.saved else f"Tracker NOT updated: {result.save_note}")
    return lines
