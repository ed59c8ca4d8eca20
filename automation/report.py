"""The run's summary, in plain words, for the terminal and the scheduled run's log."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from automation.followups import DONE, NOT_NEEDED, OPEN, PAST
from automation.purposes import Purpose, words
from automation.steps import STAGES


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def stage_lines(result) -> list[str]:
    """One line per stage of the run, in the order the run does them."""
    t, upd = result.context.tracker, result.update
    # The tracker's own problems; undelivered emails are counted on their own line, not as bad rows.
    about_email = {id(p) for p in upd.email_problems}
    checked = [p for p in upd.problems if id(p) not in about_email]
    errors = sum(1 for p in checked if p.severity == "error")
    notes = sum(1 for p in checked if p.severity == "info")
    new_ids = sum(1 for i in t.inspections if i.id_is_new)
    lines = [f" 1 Check:          {len(t.inspections)} inspections, {len(t.schools)} schools; {errors} error(s), "
             f"{len(checked) - errors - notes} warning(s)" + (f", {notes} note(s)" if notes else "")
             + " (see the Problems sheet)",
             f" 2 Detect:         {_count(new_ids, 'new inspection')} given an Inspection ID" if new_ids
             else " 2 Detect:         no new inspections"]
    taken: set[int] = set()
    for n, (label, purposes) in enumerate(STAGES, start=3):
        mine = [m for m in result.messages if Purpose.of(m.purpose) in purposes]
        taken.update(id(m) for m in mine)
        if label == "Reminders":
            lines.append(_follow_up_line(result, n))
            n += 1
        by = Counter(words(m.purpose) for m in mine)
        what = ", ".join(f"{k} x{v}" for k, v in sorted(by.items())) if mine else "nothing to send"
        if label == "Feedback forms":
            what = _forms_done(result) + what
        lines.append(f" {n} {label + ':':<16}{what}")
    other = [m for m in result.messages if id(m) not in taken]
    if other:
        lines.append(f"   Other:          {_count(len(other), 'message')}")
    return lines


def _forms_done(result) -> str:
    """'2 forms written, 1 read; ' (files are not messages, so they are counted apart)."""
    forms = getattr(result, "forms", None)
    if forms is None or not (forms.written or forms.read):
        return ""
    return f"{_count(len(forms.written), 'form')} written, {len(forms.read)} read; "


def _follow_up_line(result, n: int) -> str:
    fus = result.update.follow_ups
    if fus is None:
        return f" {n} Follow-ups:     not compiled"
    today = result.context.now.date()
    states = Counter(f.state for f in fus)
    overdue = sum(1 for f in fus if f.state == OPEN and f.due and f.due < today)
    return (f" {n} Follow-ups:     {_count(len(fus), 'action')} for {len({f.inspection_id for f in fus})} inspection(s): "
            f"{states[OPEN]} open ({overdue} overdue), {states[DONE]} done, {states[NOT_NEEDED]} no longer needed"
            + (f", {states[PAST]} past (before tracking)" if states[PAST] else ""))


def summary_lines(result, workbook: Path, dry_run: bool) -> list[str]:
    """What happened (or would), stage by stage, and what needs attention."""
    lines = [f"{workbook.name}, run at {result.context.now:%d/%m/%Y %H:%M}:", *stage_lines(result)]
    verb = "Would send" if dry_run else "Messages"
    if result.messages:
        lines.append(f"{verb}: {len(result.messages)}")
        for m in result.messages:
            lines.append(f"  - {m.inspection_id}  {m.purpose}  to {', '.join(m.to)}"
                         + (f" (cc {', '.join(m.cc)})" if m.cc else "") + f"  — {m.reason}")
    else:
        lines.append("No messages are due.")
    lines.extend(_settled_lines(getattr(result, "settled", [])))
    if result.delivery:
        counts = Counter(o.state for o in result.delivery.outcomes)
        lines.append("Delivery: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        if result.delivery.down:  # one line for the cause, not one per message
            waiting = result.delivery.count("waiting")
            lines.append(f"  MAIL NOT HANDED OVER: {result.delivery.down} ({_count(waiting, 'message')} "
                         "waiting for the next run)")
        for o in result.delivery.attention():
            if result.delivery.down and o.state == "waiting":
                continue
            lines.append(f"  ATTENTION {o.message.inspection_id} {o.message.purpose}: {o.state} — {o.detail}")
    lines.extend(_notes(result.notes))
    shown = {id(o.message) for o in result.delivery.outcomes} if result.delivery else set()
    earlier = [p for p in _email_problems(result) if not any(m.message_id in p.message for m in result.messages
                                                                if id(m) in shown)]
    if earlier:
        lines.append(f"Still undelivered from earlier runs: {_count(len(earlier), 'email')} (see the Problems sheet)")
        lines.extend(f"  ATTENTION {p.message}" for p in earlier)
    if dry_run:
        cells = result.cells_written if result.cells_written is not None else result.update.change_count()
        lines.append(f"Dry run: nothing sent; {cells} tracker cell(s) would be updated.")
    elif result.saved:
        lines.append(f"Tracker updated ({result.cells_written} cell(s) written)." if result.cells_written
                     else "Tracker already up to date.")
    else:
        lines.append(f"Tracker NOT updated: {result.save_note}")
    return lines


def _notes(notes: list[str]) -> list[str]:
    """Notes of one kind counted on one line (all of them with --verbose: automation/notegroups.py)."""
    import logging

    from automation.notegroups import grouped

    return grouped(notes, verbose=logging.getLogger().isEnabledFor(logging.INFO))


def _settled_lines(settled) -> list[str]:
    """What the start of the run settled from an earlier, interrupted one."""
    if not settled:
        return []
    words = {"sent": "found delivered", "waiting": "sent again in this run", "unconfirmed": "unconfirmed (an officer decides)"}
    counts = Counter(words.get(r.state.value, r.state.value) for r in settled)
    return ["Settled from an interrupted run: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]


def _email_problems(result) -> list:
    """The Problems-sheet rows about emails (undelivered, refused, unconfirmed)."""
    return [p for p in result.update.problems if p.severity == "error" and " email (" in p.message]


def print_run(result, workbook: Path, dry_run: bool, lines=None) -> int:
    """Print the summary (or the given lines); exit 0, or 1 when something needs an officer's attention."""
    for line in (summary_lines(result, workbook, dry_run) if lines is None else lines):
        print(line)
    return exit_status(result, dry_run)


def exit_status(result, dry_run: bool) -> int:
    """0, or 1 when something needs an officer's attention (the same rule for every command)."""
    attention = result.delivery.attention() if result.delivery else []
    # Errors on the Problems sheet (a bad row skipped, an email still undelivered from an
    # earlier run) also need an officer: a scheduler should see them as a non-zero exit.
    errors = [p for p in result.update.problems if p.severity == "error"]
    # A learning review or the oversight workbook not written (the tracker was already saved,
    # so it cannot go on the Problems sheet this run): the summary says so, and so does the status.
    files = getattr(result, "files_failed", [])
    return 1 if attention or errors or files or (not dry_run and not result.saved) else 0


def write_previews(messages, folder: Path) -> int:
    """Save each planned message as .eml (to open in Outlook) and .html (to open in a browser)."""
    from automation.safefiles import file_in
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    for m in messages:
        stem = f"{m.inspection_id}-{m.purpose}-v{m.version}"
        if stem in seen:  # e.g. one digest per officer: same inspection, purpose and version
            stem = f"{stem}-{m.key[:8]}"
        seen.add(stem)
        file_in(folder, f"{stem}.eml").write_bytes(m.as_bytes())
        body = m.email.get_body(("html",))
        if body is not None:
            file_in(folder, f"{stem}.html").write_text(body.get_content(), encoding="utf-8")
    return len(messages)
