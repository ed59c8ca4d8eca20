"""The add-in's bulk macros (VBA module OfstedStore, automation/addin/vba_store.py) as
Python calls: every tracker sheet read in one round trip to Excel, every block written
in one. Values cross COM through pywin32, so they go as flat arrays of plain values."""

from __future__ import annotations

from dataclasses import dataclass, field

from automation.addin.grid import Grid, Write, clean_rows, to_excel
from automation.addin.vba_store import MODULE, READ, WRITE
from automation.errors import WorkbookLocked


class MacroUnavailable(Exception):
    """The add-in's macro could not be run (an older add-in, or none loaded)."""


@dataclass
class Read:
    """What one bulk read returns."""

    fullname: str
    selection: tuple[str, int] | None
    grids: dict[str, Grid] = field(default_factory=dict)  # requested name -> sheet as read


def macro_name(addin: str, proc: str) -> str:
    """An add-in's procedure as Application.Run names it: 'Book.xlam'!Module.Proc."""
    return "'" + addin.replace("'", "''") + f"'!{MODULE}.{proc}"


def read_sheets(app, book, addin: str, names: list[str]) -> Read:
    """The named sheets (and where the workbook is and what is selected), in one call."""
    try:
        got = app.macro(macro_name(addin, READ))(book, list(names))
    except Exception as exc:  # pywin32's com_error when Excel cannot find or run the macro
        raise MacroUnavailable(_reason(exc)) from exc
    if isinstance(got, str) or not isinstance(got, (tuple, list)) or len(got) != len(names) + 1:
        raise MacroUnavailable(got if isinstance(got, str) else f"unexpected answer {type(got).__name__}")
    fullname, selected = got[0][0], got[0][1]
    out = Read(str(fullname), (str(selected[0]), int(selected[1])) if selected else None)
    for name, item in zip(names, got[1:]):
        if item:
            actual, top, left, values = item
            out.grids[name] = Grid(str(actual), int(top), int(left), clean_rows(values))
    return out


def write_blocks(app, book, addin: str, writes: list[Write]) -> None:
    """Every write in one call; raises WorkbookLocked (nothing lost: the next run writes again)."""
    if not writes:
        return
    flat = [to_excel(v) for w in writes if w.values is not None for row in w.values for v in row]
    failed = app.macro(macro_name(addin, WRITE))(
        book, [w.sheet for w in writes], [w.address for w in writes], [w.values is None for w in writes], flat)
    if failed:
        raise WorkbookLocked(f"Excel could not write to the tracker ({failed}). If that sheet is protected, "
                             "unprotect it (Review > Unprotect Sheet); if a cell is being edited, press Enter; "
                             "then click again.")


def _reason(exc: Exception) -> str:
    # pywin32 puts Excel's own words in args[2][2]; anything else: its text
    args = getattr(exc, "args", ())
    if len(args) > 2 and isinstance(args[2], tuple) and len(args[2]) > 2 and args[2][2]:
        return str(args[2][2])
    return str(exc) or type(exc).__name__
