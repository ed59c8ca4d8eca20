"""Finding the contract's columns by header as people really type them: invisible
characters ignored, a near miss used (with a warning) when it can only mean one column,
two columns with one header refused, and missing optional columns said once."""

from __future__ import annotations

import difflib
import re
import unicodedata

from automation.errors import Problem
from automation.workbook import schema
from automation.workbook.package import col_letter as get_column_letter

# Zero-width characters vanish; the various non-breaking spaces count as spaces.
_INVISIBLE = str.maketrans({"\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
                            "\xa0": " ", "\u202f": " ", "\u2007": " "})
_PUNCTUATION = re.compile(r"[^\w ]+")
_OPTIONAL = re.compile(r"^\s*optional\b[:.]?", re.IGNORECASE)
NEAR = 0.9  # how alike a header must be to a contract header to be taken for it


def norm(text) -> str:
    """A header or sheet name compared as a person reads it: case, spacing and invisible characters ignored."""
    if text is None:
        return ""
    return " ".join(unicodedata.normalize("NFKC", str(text)).translate(_INVISIBLE).split()).lower()


def _loose(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def _near(a: str, b: str) -> bool:
    la, lb = _loose(a), _loose(b)
    return la == lb or (min(len(la), len(lb)) >= 5 and difflib.SequenceMatcher(None, la, lb).ratio() >= NEAR)


def match_headers(head: list[tuple[int, object]], spec: schema.Sheet, sheet: str,
                  header_row: int) -> tuple[dict[str, int], list[Problem]]:
    """Contract header -> column number from the header row's (column, value) cells, and what to tell the officer."""
    wanted = {norm(h): h for h in spec.headers()}
    columns: dict[str, int] = {}
    problems: list[Problem] = []
    leftovers: list[tuple[int, str, object]] = []
    for idx, value in head:
        key = wanted.get(norm(value))
        if key is None:
            if norm(value):
                leftovers.append((idx, norm(value), value))
        elif key in columns:
            first, second = get_column_letter(columns[key]), get_column_letter(idx)
            problems.append(Problem("error", sheet, header_row, key, "",
                                    f"two columns are headed '{key}' ({first} and {second}); column {first} is read",
                                    f"rename or delete one of them so that only one column is headed '{key}'."))
        else:
            columns[key] = idx
    _near_misses(leftovers, spec, sheet, header_row, columns, problems)
    return columns, problems


def _near_misses(leftovers, spec, sheet, header_row, columns, problems) -> None:
    missing = [h for h in spec.headers() if h not in columns]
    for idx, text, value in leftovers:
        hits = [h for h in missing if _near(text, norm(h))]
        if len(hits) != 1:
            continue
        header = hits[0]
        rivals = [i for i, t, _ in leftovers if i != idx and _near(t, norm(header))]
        if rivals:  # two cells could be it: guessing would read the wrong column
            continue
        columns[header] = idx
        missing.remove(header)
        problems.append(Problem("warning", sheet, header_row, header, str(value),
                                f"the column headed '{value}' (column {get_column_letter(idx)}) is read as '{header}'",
                                f"rename the header to exactly '{header}' to make sure."))


def missing_optional(spec: schema.Sheet, columns: dict[str, int], sheet: str, header_row: int) -> list[Problem]:
    """One note per optional contract column the sheet lacks, saying what is off without it."""
    out = []
    for col in spec.columns:
        if col.header in columns or col.required or col.tool or spec.tool:
            continue
        what = _OPTIONAL.sub("", col.hint).strip().rstrip(".")
        out.append(Problem("info", sheet, header_row, col.header, "",
                           f"the optional column '{col.header}' is not on this sheet, so the tool does without it"
                           + (f" (it is for: {what})" if what else ""),
                           f"add a column headed exactly '{col.header}' to turn this on; nothing else is affected."))
    return out
