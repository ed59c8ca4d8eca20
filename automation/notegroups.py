"""Many notes of one kind become one line with a count: a catch-up run over years of past
inspections would otherwise print thousands of near-identical lines. The full list is kept
for --verbose (and each row's problem stays on the Problems sheet)."""

from __future__ import annotations

import re
from collections import defaultdict

GROUP_FROM = 5  # fewer notes of a kind than this are listed one by one
# A note's kind: its text with the leading inspection ID, dates, times, paths and numbers blanked.
_ID = re.compile(r"^[A-Z]+-\d+-\d{8}: ")
_VARYING = re.compile(r"\d{1,2}/\d{1,2}/\d{4}|\d{1,2}:\d{2}|/[^\s]+|'[^']*'|\d+")
# Kinds with a sentence of their own (matched on the note's text after the ID).
SUMMARIES = {
    "no contact plan sent — the inspection ended on": "past inspections were recorded after they ended: no contact plan sent",
    "feedback form written to": "feedback forms written",
    "feedback form would be written to": "feedback forms would be written",
}


def _kind(note: str) -> str:
    return _VARYING.sub("…", _ID.sub("", note))


def grouped(notes: list[str], verbose: bool = False) -> list[str]:
    """The notes, any kind of which there are GROUP_FROM or more shown as one counted line."""
    if verbose:
        return list(notes)
    kinds: dict[str, list[str]] = defaultdict(list)
    for n in notes:
        kinds[_kind(n) if _ID.match(n) else n].append(n)
    out, done = [], set()
    for n in notes:
        key = _kind(n) if _ID.match(n) else n
        group = kinds[key]
        if len(group) < GROUP_FROM:
            out.append(n)
        elif key not in done:
            done.add(key)
            out.append(f"{len(group):,} {_summary(group[0])} (listed with --verbose)")
    return out


def _summary(example: str) -> str:
    text = _ID.sub("", example)
    for prefix, words in SUMMARIES.items():
        if text.startswith(prefix):
            return words
    return f"inspections: {_kind(example)}"
