"""The run's summary, in plain words, for the terminal and the scheduled run's log."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def summary_lines(result, workbook: Path, dry_run: bool) -> list[str]:
    """What happened (or would), what needs attention."""
    t = result.context.tracker
    lines = [f"{workbook.name}: {len(t.inspections)} inspections, {len(t.schools)} schools; "
             f"{len(t.errors)} error(s), {len(t.problems) - len(t.errors)} warning(s) (see the Problems sheet)."]
    verb = "Would send" if dry_run else "Messages"
    if result.messages:
        lines.append(f"{verb}: {len(result.messages)}")
        for m in result.messages:
            lines.append(f"  - {m.inspection_id}  {m.purpose}  to {', '.join(m.to)}"
                         + (f" (cc {', '.join(m.cc)})" if m.cc else "") + f"  — {m.reason}")
    else:
        lines.append("No messages are due.")
    if result.delivery:
        counts = Counter(o.state for o in result.delivery.outcomes)
        lines.append("Delivery: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        for o in result.delivery.attention():
            lines.append(f"  ATTENTION {o.message.inspection_id} {o.message.purpose}: {o.state} — {o.detail}")
    lines.extend(result.notes)
    if dry_run:
        lines.append(f"Dry run: nothing sent; {result.update.change_count()} tracker cell(s) would be updated.")
    elif result.saved:
        lines.append(f"Tracker updated ({result.cells_written} cell(s) written)." if result.cells_written
                     else "Tracker already up to date.")
    else:
        lines.append(f"Tracker NOT updated: {result.save_note}")
    return lines


def print_run(result, workbook: Path, dry_run: bool) -> int:
    """Print the summary; exit 0, or 1 when something needs an officer's attention."""
    for line in summary_lines(result, workbook, dry_run):
        print(line)
    attention = result.delivery.attention() if result.delivery else []
    return 1 if attention or (not dry_run and not result.saved) else 0


def write_previews(messages, folder: Path) -> int:
    """Save each planned message as .eml (to open in Outlook) and .html (to open in a browser)."""
    folder.mkdir(parents=True, exist_ok=True)
    for m in messages:
        stem = f"{m.inspection_id}-{m.purpose}-v{m.version}"
        (folder / f"{stem}.eml").write_bytes(m.as_bytes())
        body = m.email.get_body(("html",))
        if body is not None:
            (folder / f"{stem}.html").write_text(body.get_content(), encoding="utf-8")
    return len(messages)
