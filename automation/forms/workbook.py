"""The edge: read a feedback form back by its hidden keys with python-calamine, as the tracker
is read. Writing one (openpyxl) is in forms/writer.py, imported only when a form is written:
openpyxl (and the numpy it pulls in) costs a run about 0.8 s and 20 MB it mostly does not need."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import python_calamine

from automation.errors import WorkbookError
from automation.forms.readback import FilledForm
from automation.forms.spec import MARKER, SHEET, FormSpec  # noqa: F401  (SHEET: callers read it here)
from automation.workbook.cells import value as cell_value


def write_form(path: Path, spec: FormSpec, values: dict | None = None, contacts=None, la_name: str = "") -> Path:
    """Write a form (a blank template when values is None) to path."""
    from automation.forms.writer import write_form as write

    return write(path, spec, values, contacts, la_name)


def read_form(path: Path) -> FilledForm:
    """A form's values by key. Raises WorkbookError when the file is not a readable form."""
    # python-calamine, as the tracker is read: tens of times faster than openpyxl on a form,
    # which a run reads for every inspection whose form is out (the values are the same as
    # openpyxl's: cached results of formulas, whole numbers as int, date cells as datetime).
    try:
        data = Path(path).read_bytes()
        wb = python_calamine.CalamineWorkbook.from_filelike(BytesIO(data))
    except Exception as exc:  # unreadable, or calamine parsing a file from outside: anything it raises means a bad file
        raise _unreadable(path, exc)
    try:
        if SHEET not in wb.sheet_names:
            raise WorkbookError(f"{Path(path).name} has no '{SHEET}' sheet — it is not a feedback form written by the tool.")
        try:
            grid = wb.get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
        except Exception as exc:  # a damaged sheet part
            raise _unreadable(path, exc)
        values, rows, labels, marker = {}, {}, {}, ""
        for n, row in enumerate(grid, 1):
            cells = [cell_value(v) for v in row[:3]]
            key = cells[0] if cells else None
            if n == 1:
                marker = str(key or "")
            elif isinstance(key, str) and key:
                values[key], rows[key] = (cells[2] if len(cells) > 2 else None), n
                if len(cells) > 1 and cells[1] is not None:
                    labels[key] = str(cells[1])
    finally:
        wb.close()
    parts = marker.split(":")
    if len(parts) != 4 or parts[0] != MARKER:
        raise WorkbookError(f"{Path(path).name} is not a feedback form written by the tool (cell A1 was changed?) — "
                            "ask for a new form to be written and copy the answers across.")
    return FilledForm(Path(path).name, parts[2], parts[3], values, rows, data, labels)


def _unreadable(path: Path, exc: Exception) -> WorkbookError:
    return WorkbookError(f"The feedback form {Path(path).name} cannot be read ({exc}) — "
                         "if it is open, save and close it; if it is damaged, ask for a new one to be written.")

