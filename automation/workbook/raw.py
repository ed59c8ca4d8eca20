"""The workbook as read, before any checking: plain values by sheet, row and header."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula (the tool reads typed values only)."""

    text: str


@dataclass
class RawSheet:
    name: str  # as spelled in the workbook
    header_row: int
    columns: dict[str, int]  # canonical header -> column number
    rows: list[tuple[int, dict[str, object]]] = field(default_factory=list)  # (row number, header -> value)
    merged: list[str] = field(default_factory=list)  # merged ranges below the header
    problems: list = field(default_factory=list)  # Problems found reading the headers (near misses, duplicates)
    width: int = 0  # the header row's last used column (the user's own columns included)
    table_end: int | None = None  # last data row of the sheet's Excel table (its totals row excluded)
    table_totals: int = 0  # the table's totals rows (kept last when rows are added)
    header_found: bool = True  # False: no row in the rows searched names the sheet's columns
    searched_rows: int = 0  # how many rows were searched for the header

    def has(self, header: str) -> bool:
        return header in self.columns


@dataclass
class RawWorkbook:
    sheets: dict[str, RawSheet] = field(default_factory=dict)  # canonical sheet name -> sheet
    digest: str = ""  # fingerprint of the file as read
