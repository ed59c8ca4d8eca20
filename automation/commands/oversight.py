"""review, oversight, summary and import-schools: learning reviews and leadership oversight.
Thin: each opens the tracker (automation/session.py) and calls the library."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from automation.calendar import LONDON
from automation.commands.args import parse_now
from automation.commands.tracker import add_tracker, open_tracker
from automation.config import load_config
from automation.errors import TrackerError


def register(sub) -> None:
    p = sub.add_parser("review", help="write the learning-review checklist for an inspection")
    add_tracker(p)
    p.add_argument("inspection_id", metavar="INSPECTION-ID")
    p.add_argument("--config", type=Path)
    p.add_argument("--now", type=parse_now, help="fix the clock (London time)")
    p.add_argument("--replace", action="store_true",
                   help="write a fresh checklist even if one exists (the old one's contents are lost)")
    p.set_defaults(handler=cmd_review)

    p = sub.add_parser("oversight", help="rebuild the oversight workbook (figures and charts by term, district and SIM)")
    add_tracker(p)
    p.add_argument("--config", type=Path)
    p.add_argument("--now", type=parse_now, help="fix the clock (London time)")
    p.set_defaults(handler=cmd_oversight)

    p = sub.add_parser("summary", help="write the HMI meeting summary (HTML) for a term")
    add_tracker(p)
    p.add_argument("--term", required=True, help='e.g. "2026-27 Autumn"')
    p.add_argument("--anonymise", action="store_true", help="leave school names and URNs out")
    p.add_argument("--out", type=Path, help="the HTML file to write (default: in the reports folder)")
    p.add_argument("--config", type=Path)
    p.add_argument("--now", type=parse_now, help="fix the clock (London time)")
    p.set_defaults(handler=cmd_summary)

    p = sub.add_parser("import-schools", help="fill or refresh the Schools sheet from the DfE GIAS extract (CSV)")
    add_tracker(p)
    p.add_argument("csv", type=Path, metavar="EDUBASEALLDATA.CSV")
    p.add_argument("--la", required=True, help="the LA code in GIAS, e.g. 850")
    p.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    p.add_argument("--config", type=Path)
    p.set_defaults(handler=cmd_import_schools)


def _now(args) -> datetime:
    return args.now or datetime.now(LONDON)


def cmd_review(args) -> int:
    from automation.review.service import load_for_one, make_review

    cfg = load_config(args.config)
    t = open_tracker(args, cfg)
    ctx, raw = _read(t, cfg, _now(args)) if t.remote else load_for_one(t.identity, cfg, _now(args), args.inspection_id)
    path, written = make_review(ctx, raw, t.identity, args.inspection_id, overwrite=args.replace)
    if written:
        print(f"Learning-review checklist written: {path}")
    else:
        print(f"A checklist already exists and was left as it is: {path}\n"
              "(use --replace to write a fresh one; the existing one's contents would be lost).")
    return _pushed(t)


def cmd_oversight(args) -> int:
    from automation.oversight.service import refresh_oversight
    from automation.session import read_tracker

    cfg = load_config(args.config)
    t = open_tracker(args, cfg)
    with _stages(("Reading the tracker", "Building the oversight workbook")) as step:
        ctx, raw = _read(t, cfg, _now(args)) if t.remote else read_tracker(t.identity, cfg, _now(args))
        step()
        path = refresh_oversight(ctx, raw, t.identity)
        step()
    print(f"Oversight workbook written: {path}")
    return _pushed(t)


def _read(t, cfg, now: datetime):
    """A SharePoint tracker read whole through its store (one $batch, so nothing is gained by reading
    less), with the forms completed on SharePoint brought down first: the reports count them."""
    from automation.session import read_tracker

    ctx, raw = read_tracker(t.identity, cfg, now, store=t.store)
    t.pull_forms(ctx)
    for note in ctx.notes:
        if "SharePoint" in note:
            print(note)
    return ctx, raw


def _pushed(t) -> int:
    """Upload what the command wrote beside a SharePoint tracker; 1 when a file did not go up (said)."""
    lines, ok = t.push()
    for line in lines:
        print(line)
    return 0 if ok else 1


@contextmanager
def _stages(labels: tuple[str, ...]):
    """A stage-by-stage bar on stderr for a long command, only when stderr is a terminal (never in
    a log, a pipe or a scheduled task's output). Yields a callback: the current stage is done."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    from tqdm import tqdm

    with tqdm(total=len(labels), desc=labels[0], file=sys.stderr, leave=False,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} {elapsed}") as bar:
        def done() -> None:
            bar.update(1)
            if bar.n < len(labels):
                bar.set_description(labels[bar.n])
        yield done


def cmd_summary(args) -> int:
    from automation.oversight.one_term import load_for_term
    from automation.oversight.summary import write_summary
    from automation.session import read_tracker

    cfg = load_config(args.config)
    t = open_tracker(args, cfg)
    # An anonymised summary is checked against every name in the tracker: it reads it whole.
    if t.remote:
        ctx, raw = _read(t, cfg, _now(args))
    else:
        ctx, raw = (read_tracker(t.identity, cfg, _now(args)) if args.anonymise
                    else load_for_term(t.identity, cfg, _now(args), args.term))
    path = write_summary(ctx, raw, t.identity, args.term, args.anonymise, args.out)
    print(f"HMI meeting summary for {args.term} written: {path}")
    return _pushed(t)


def cmd_import_schools(args) -> int:
    from automation.gias import import_schools

    cfg = load_config(args.config)
    t = open_tracker(args, cfg)
    if t.remote and not args.dry_run:
        raise TrackerError(f"import-schools does not write a SharePoint/OneDrive tracker ({t.name}): the Schools sheet "
                           "is the officers' own, and the tool writes only its own cells there — run it with --dry-run "
                           "to see the changes and make them in Excel, or run it on a downloaded copy while nobody "
                           "else has the tracker open and upload that copy in its place.")
    raw = t.store.load() if t.remote else None
    with _progress(args.csv, "Reading the GIAS extract") as tell:
        report = import_schools(t.identity, args.csv, args.la, cfg, dry_run=args.dry_run, progress=tell, raw=raw)
    for line in report.lines(dry_run=args.dry_run):
        print(line)
    return 1 if report.needs_attention else 0


@contextmanager
def _progress(path: Path, label: str):
    """A progress bar on stderr while `path` is read, only when stderr is a terminal: never in a
    log, a pipe or a scheduled task's output. Yields a callback taking characters read (or None)."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    try:
        total = path.stat().st_size
    except OSError:
        total = None
    with tqdm(total=total, desc=label, unit="B", unit_scale=True, file=sys.stderr, leave=False) as bar:
        yield bar.update
