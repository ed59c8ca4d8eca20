"""Write the tool's cells back by editing the sheet XML inside the .xlsx, copying every
other part byte for byte. openpyxl's load-and-save would drop users' charts, images and
pivot tables; this keeps them, and the user's formatting, comments, filters and columns."""

from __future__ import annotations

import bisect
import copy
import hashlib
import os
import posixpath
import re
import stat
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from automation.errors import WorkbookError, WorkbookLocked, WorkbookNoRoom, WorkbookUnreadable
from automation.workbook import package as pkg
from automation.workbook import rowbytes, safety
from automation.workbook.package import M, NS

EXCEL_EPOCH = datetime(1899, 12, 30)
EPOCH_1904 = datetime(1904, 1, 1)  # workbooks made on old Macs (File > Options > "Use 1904 date system")
DATE_FORMATS = {"date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm"}
_BUILTIN_DATE_IDS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class SheetEdit:
    """Cells to set on one sheet: (row, column number) -> value (None clears the value)."""

    sheet: str
    cells: dict[tuple[int, int], object] = field(default_factory=dict)
    truncate_after: int | None = None  # drop rows below this one (tool-owned lists)
    create_headers: tuple[str, ...] = ()  # create the sheet with these headers if missing
    header_row: int = 1  # where the reader found the headers: nothing above it is touched or copied
    append_from: int | None = None  # first new row the tool adds (those rows must be free)
    fit_rows: bool = False  # give the rows written a height that shows their wrapped text


def file_digest(source) -> str:
    """A fingerprint of the file (a path or an open binary file), to notice a save by someone else since we read it."""
    h = hashlib.sha256()
    if hasattr(source, "read"):
        source.seek(0)
        for chunk in iter(lambda: source.read(1 << 20), b""):
            h.update(chunk)
        source.seek(0)
        return h.hexdigest()
    with open(source, "rb") as fh:
        return file_digest(fh)


def lock_holder(path: Path) -> str | None:
    """Why the workbook cannot be written now (open in Excel/LibreOffice, read-only), or None."""
    for lock in (path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")):
        if lock.exists():
            who = _lock_owner(lock)
            return f"it is open in {'Excel' if lock.name.startswith('~$') else 'LibreOffice'}" + (f" by {who}" if who else "")
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        return "the file or its folder is read-only"
    return None


def _lock_owner(lock: Path) -> str:
    try:
        raw = lock.read_bytes()[:200]
    except OSError:
        return ""
    if lock.name.startswith(".~lock."):
        parts = raw.decode("utf-8", "replace").split(",")
        return parts[1].strip() if len(parts) > 1 else ""
    # Excel's owner file: a length byte, then the user name.
    n = raw[0] if raw else 0
    return raw[1:1 + n].decode("latin-1", "replace").strip() if 0 < n < 100 else ""


def apply_edits(path: Path, edits: list[SheetEdit], expected_digest: str | None = None,
                limits: safety.PartLimits | None = None) -> None:
    """Apply the edits to the workbook atomically; refuse if it changed since it was read."""
    path = Path(path)
    why = lock_holder(path)
    if why:
        raise WorkbookLocked(f"The tracker {path.name} cannot be updated now: {why}.")
    safety.sniff(path)
    target = path.resolve()  # through a symlink: replace the real file, keep the link
    with open(target, "rb") as fh, safety.open_package(fh, path.name, limits) as z:
        try:
            new_parts = _edited_parts(z, edits)
        except (KeyError, SyntaxError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise safety.find_damaged_part(z, path.name) or WorkbookUnreadable(
                f"{path.name} is not a complete .xlsx workbook ({type(exc).__name__}: {exc}) — open it in Excel "
                "and save it as 'Excel Workbook (*.xlsx)', then run again.")
        try:
            tmp = _write_package(target, z, new_parts, fh)
        except EOFError as exc:  # a sheet part's spooled rows came back short (the temporary folder)
            raise WorkbookError(f"{path.name} was not changed: the tool's temporary copy of a sheet could not be read "
                                f"back ({exc}) — check there is free space in the temporary folder "
                                f"({tempfile.gettempdir()}) and run again.") from None
        finally:
            for data in new_parts.values():
                if isinstance(data, rowbytes.Spliced):
                    data.close()  # a spilled part's temporary file goes with it
    try:
        if expected_digest and file_digest(target) != expected_digest:
            raise WorkbookLocked(f"The tracker {path.name} was saved by someone else during the run; "
                                 "the tool's updates will be written on the next run.")
        os.replace(tmp, target)
    except PermissionError:
        raise WorkbookLocked(f"The tracker {path.name} is open or locked; the tool's updates will be written on the next run.")
    finally:
        Path(tmp).unlink(missing_ok=True)


TEMP_PREFIX = ".~ofsted-"
STALE_SECONDS = 3600  # no save takes an hour: older is a killed run's, never another run's in progress


def _sweep_stale(folder: Path) -> None:
    """Remove the half-written packages killed runs left beside trackers (only old ones: another
    tracker in the folder may be saving now)."""
    cutoff = time.time() - STALE_SECONDS
    for old in folder.glob(TEMP_PREFIX + "*.xlsx"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:  # gone already, or not ours to remove: harmless either way
            pass


def _write_package(path: Path, z: zipfile.ZipFile, new_parts: dict, source=None) -> str:
    """The new package in a temporary file beside the tracker: the new parts packed, every other
    part copied from `source` (the tracker's open file) as it is packed there, when it can be."""
    _sweep_stale(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".xlsx")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as out:
            _keep_access(path, fh.fileno(), tmp)
            names = set()
            for info in z.infolist():
                names.add(info.filename)
                if info.filename in new_parts:
                    data = new_parts[info.filename]
                    if data is None:
                        continue  # a part we drop (calcChain)
                    _write_part(out, info, data)
                elif source is None or not _copy_packed(out, source, info):
                    out.writestr(info, z.read(info.filename), compress_type=info.compress_type)
            for name, data in new_parts.items():
                if name not in names and data is not None:
                    _write_part(out, zipfile.ZipInfo(name, date_time=time.localtime()[:6]), data)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _copy_packed(out: zipfile.ZipFile, source, info: zipfile.ZipInfo) -> bool:
    """Copy one unchanged part's packed bytes into the new package as they are, instead of
    unpacking and packing them again (most of a save's time for the parts the tool does not
    touch, and the part stays the same to the byte). False, having written nothing: a part
    this does not do (encrypted, another method, a ZIP64 size, zipfile not as expected)."""
    # zipfile has no public way to copy an entry packed; this does what ZipFile._open_to_write
    # and _ZipWriteFile.close do (the same in Python 3.11 to 3.13), with the sizes and CRC known.
    if (info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
            or max(info.file_size, info.compress_size, info.header_offset) >= zipfile.ZIP64_LIMIT
            or out._writing or not all(hasattr(out, a) for a in ("fp", "start_dir", "filelist", "NameToInfo",
                                                                  "_writecheck", "_seekable"))):
        return False
    source.seek(info.header_offset)
    head = source.read(30)  # the part's local header: its name and extra field come before the data
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        return False
    name_len, extra_len = int.from_bytes(head[26:28], "little"), int.from_bytes(head[28:30], "little")
    source.seek(info.header_offset + 30 + name_len + extra_len)
    new = copy.copy(info)  # the source's own entry is left as it is
    new.flag_bits = info.flag_bits & ~0x08  # the sizes and CRC go in the header: no data descriptor after the data
    if out._seekable:
        out.fp.seek(out.start_dir)
    new.header_offset = out.fp.tell()
    out._writecheck(new)
    out._didModify = True
    out.fp.write(new.FileHeader(False))
    left = info.compress_size
    while left:
        chunk = source.read(min(left, 1 << 20))
        if not chunk:
            raise zipfile.BadZipFile(f"part {info.filename} is cut short")
        out.fp.write(chunk)
        left -= len(chunk)
    out.start_dir = out.fp.tell()
    out.filelist.append(new)
    out.NameToInfo[new.filename] = new
    return True


def _write_part(out: zipfile.ZipFile, info: zipfile.ZipInfo, data) -> None:
    """One new part into the package: bytes, or a sheet part streamed into it a chunk at a time."""
    if not isinstance(data, rowbytes.Spliced):
        out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        return
    info = copy.copy(info)
    info.compress_type = zipfile.ZIP_DEFLATED
    with out.open(info, "w") as dst:
        for piece in data.chunks():
            dst.write(piece)


def _part_chunks(z: zipfile.ZipFile, part: str, data):
    """A sheet part's bytes a chunk at a time: as an earlier edit left it, or from the package."""
    if isinstance(data, rowbytes.Spliced):
        yield from data.chunks()
    elif data:
        yield data
    else:
        with z.open(part) as fh:
            yield from iter(lambda: fh.read(rowbytes.CHUNK), b"")


def _keep_access(original: Path, fd: int, tmp: str) -> None:
    """Give the new file the tracker's permissions (mkstemp makes it 0600) and, where
    allowed, its owner and group, so colleagues on the share keep their access."""
    st = os.stat(original)
    if hasattr(os, "fchown"):
        for uid in (st.st_uid, -1):  # another owner needs privilege; the group alone often does not
            try:
                os.fchown(fd, uid, st.st_gid)
                break
            except OSError:
                continue
    mode = stat.S_IMODE(st.st_mode)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows: only the read-only bit exists
        os.chmod(tmp, mode)


def _edited_parts(z: zipfile.ZipFile, edits: list[SheetEdit]) -> dict:
    """The parts the edits change (None: a part dropped); should one fail, every sheet part's
    temporary file is deleted."""
    parts: dict = {}
    try:
        _edit_parts(z, edits, parts)
    except BaseException:
        for data in parts.values():
            if isinstance(data, rowbytes.Spliced):
                data.close()
        raise
    return parts


def _edit_parts(z: zipfile.ZipFile, edits: list[SheetEdit], parts: dict) -> None:
    sheets = pkg.sheet_parts(z)
    styles = _Styles(z)
    epoch = date_epoch(z)
    dropped_formula = False
    for edit in edits:
        if edit.sheet not in sheets:
            if not edit.create_headers:
                raise WorkbookError(f"The tracker has no sheet '{edit.sheet}' — restore it from the template.")
            sheets[edit.sheet] = _add_sheet(z, parts, edit.sheet)
            edit.cells = {**{(1, i): h for i, h in enumerate(edit.create_headers, 1)}, **edit.cells}
        part = sheets[edit.sheet]
        earlier = parts.get(part)
        try:
            root, lazy = rowbytes.lazy_parse(_part_chunks(z, part, earlier), part)
        finally:
            if isinstance(earlier, rowbytes.Spliced):
                earlier.close()  # an earlier edit's result, read into this one
        if lazy is not None:
            parts[part] = rowbytes.Spliced(b"", lazy)  # its rows' file goes with the others should this edit fail
        sheet = _Sheet(root, styles, epoch, edit.header_row, lazy)
        if edit.truncate_after is not None:
            sheet.truncate(edit.truncate_after)
        sheet.read({r for r, _ in edit.cells})  # the rows written, read together
        tables = {t: pkg.parse(z.read(t), t) for t in pkg.table_parts(z, part)}
        written = max((r for r, _ in edit.cells), default=0)
        for table in tables.values():
            _make_room(sheet, table, written, edit)
        sheet.check_free(edit)
        for (r, c), value in sorted(edit.cells.items()):
            dropped_formula |= sheet.set(r, c, value)
        if edit.fit_rows:
            sheet.fit_heights(edit.cells, edit.header_row)
        sheet.fix_dimension()
        parts[part] = sheet.spliced()
        for tpart, table in tables.items():
            parts[tpart] = _fit_table(table, sheet.last_row() if edit.truncate_after is not None else written,
                                      edit.truncate_after is not None) or z.read(tpart)
        del root, sheet, lazy  # the next sheet's rows are read into freed memory
    if styles.changed:
        parts[styles.part] = pkg.serialise(styles.root)
        if styles.missing:
            _register_styles(z, parts, styles.part)
    if dropped_formula and "xl/calcChain.xml" in z.namelist():
        _drop_calc_chain(z, parts)


class _RowCells:
    """One row's cells in document order with their columns, and each column's first cell."""

    def __init__(self, cols: list[int], cells: list):
        self.cols, self.cells = cols, cells
        self.first: dict[int, etree._Element] = {}
        for c, cell in zip(cols, cells):
            self.first.setdefault(c, cell)
        self.ascending = all(a < b for a, b in zip(cols, cols[1:]))

    def place(self, c: int) -> int:
        """Where a new cell in column c goes: before the row's first cell to its right (Excel keeps
        a row's cells in column order; a row that is not is taken in its own order, as it stands)."""
        if self.ascending:
            return bisect.bisect(self.cols, c)
        return next((i for i, cc in enumerate(self.cols) if cc > c), len(self.cols))

    def insert(self, i: int, c: int, cell) -> None:
        self.cols.insert(i, c)
        self.cells.insert(i, cell)
        self.first[c] = cell


LINE_POINTS, MAX_LINES = 15, 10  # a wrapped line at Calibri 11, and the tallest row the tool makes


class _Sheet:
    def __init__(self, root, styles: "_Styles", epoch: datetime = EXCEL_EPOCH, header_row: int = 1,
                 lazy: rowbytes.Lazy | None = None):
        self.root, self.styles, self.epoch, self.header_row = root, styles, epoch, header_row
        self.data = root.find(f"{M}sheetData")
        self.lazy = lazy
        rows = list(self.data.iterfind(f"{M}row"))
        if any(r.get("r") is None or any(c.get("r") is None for c in r.iterfind(f"{M}c")) for r in rows):
            # Legal but rare (some generators): Excel itself always numbers them.
            raise WorkbookError("The tracker was saved by a program that leaves cell references out; "
                                "open it in Excel and save it once, then run again.")
        # Row number -> its element in the tree; the rows not yet read are in _unread (a row's
        # placeholder comment there on asking).
        self.rows = {int(r.get("r")): r for r in rows}
        self._unread: rowbytes.Unread | dict = rowbytes.Unread(lazy, self.data) if lazy else {}
        self.numbers = sorted([*self.rows, *self._unread])
        self.cols = [(int(c.get("min")), int(c.get("max")), c.get("style")) for c in root.iterfind(f"{M}cols/{M}col")]
        self._row_styles: dict[int, dict[int, str]] = {}
        # Row number -> its cells' columns in document order and each column's first cell, made
        # the first time a cell of the row is set: finding a cell is then a lookup, not a scan.
        self._cells: dict[int, _RowCells] = {}
        self._above: tuple | None = None  # (row, the styles found above it, the rows still to look at)

    def _el(self, n: int):
        """Row n's element, read from its bytes the first time it is needed."""
        if n in self._unread:
            self.read([n])
        return self.rows[n]

    def read(self, numbers) -> None:
        """Read these rows from their bytes, together in one parse."""
        todo = sorted(n for n in set(numbers) if n in self._unread)
        if not todo:
            return
        for n, el in zip(todo, rowbytes.parse_rows(self.lazy, todo)):
            self.data.replace(self._unread.pop(n), el)
            self.rows[n] = el

    def has_row(self, n: int) -> bool:
        """Whether row n is in the sheet (read or not)."""
        return n in self.rows or n in self._unread

    def _node(self, n: int):
        """Row n's element, or its placeholder if it is not read yet."""
        return self.rows[n] if n in self.rows else self._unread[n]

    def spliced(self) -> rowbytes.Spliced:
        """The part to write: the tree written out, each unread row's own bytes put back in place
        as the part is packed (read from the rows' temporary file, never all held at once)."""
        return rowbytes.Spliced(pkg.serialise(self.root), self.lazy)

    def fit_heights(self, cells: dict, header_row: int) -> None:
        """Rows tall enough for their longest wrapped text, where the column has a width:
        LibreOffice does not grow a row for wrapped text written without a height, so long
        problems and actions overlapped the rows below."""
        widths = {}
        for col in self.root.iterfind(f"{M}cols/{M}col"):
            if col.get("width"):
                for c in range(int(col.get("min")), int(col.get("max")) + 1):
                    widths[c] = float(col.get("width"))
        lines: dict[int, int] = {}
        for (r, c), value in cells.items():
            if r > header_row and isinstance(value, str) and value and widths.get(c):
                per = max(int(widths[c] * 1.1), 6)  # characters a line at the default font, roughly
                need = sum(max(1, -(-len(part) // per)) for part in value.split("\n"))
                lines[r] = max(lines.get(r, 1), need)
        for r, n in lines.items():
            row = self._row(r)
            if n > 1:
                row.set("ht", f"{min(n, MAX_LINES) * LINE_POINTS:g}")
                row.set("customHeight", "1")
            elif row.get("customHeight") == "1":  # a row reused for shorter text: back to one line
                row.attrib.pop("ht", None)
                row.attrib.pop("customHeight", None)

    def last_row(self) -> int:
        """The last row holding a value (pre-formatted empty rows do not count)."""
        for n in reversed(self.numbers):
            if any(c.find(f"{M}v") is not None or c.find(f"{M}is") is not None for c in self._el(n)):
                return n
        return 1

    def has_values(self, r: int) -> bool:
        """Whether row r holds any value (formatting alone does not count)."""
        row = self._el(r) if self.has_row(r) else None
        return row is not None and any(c.find(f"{M}v") is not None or c.find(f"{M}is") is not None
                                       or c.find(f"{M}f") is not None for c in row)

    def check_free(self, edit: SheetEdit) -> None:
        """The rows the tool adds must be empty: never write over a note or anything else below the data."""
        if edit.append_from is None:
            return
        for r in sorted({r for r, _ in edit.cells if r >= edit.append_from}):
            if self.has_values(r):
                raise WorkbookNoRoom(f"The tracker's sheet '{edit.sheet}' has something in row {r}, where the tool adds "
                                    f"its new rows (from row {edit.append_from}) — move it further down or to another "
                                    "sheet; the next run then writes the new rows.")

    def move_row(self, old: int, new: int) -> None:
        """Move one row (with its cells) to an empty row number."""
        el = self._el(old)
        self.rows.pop(old)
        self.numbers.remove(old)
        self._row_styles.pop(old, None)
        index = self._cells.pop(old, None)
        self._cells.pop(new, None)
        self._above = None
        self.data.remove(el)
        el.set("r", str(new))
        for cell in el.iterfind(f"{M}c"):
            cell.set("r", f"{pkg.col_letter(pkg.split_ref(cell.get('r'))[1])}{new}")
        i = bisect.bisect(self.numbers, new)
        there = self.has_row(new)
        if there:
            self.data.replace(self._unread.pop(new) if new in self._unread else self.rows[new], el)
        elif i < len(self.numbers):
            self._node(self.numbers[i]).addprevious(el)
        else:
            self.data.append(el)
        if not there:
            self.numbers.insert(i, new)
        self.rows[new] = el
        if index is not None:
            self._cells[new] = index  # the same cells, in the same columns

    def truncate(self, keep_to: int) -> None:
        for n in [n for n in self.numbers if n > keep_to]:
            self.data.remove(self._unread.pop(n) if n in self._unread else self.rows.pop(n))
            self._row_styles.pop(n, None)
            self._cells.pop(n, None)
        self.numbers = sorted([*self.rows, *self._unread])
        self._above = None

    def _row(self, r: int):
        if self.has_row(r):
            return self._el(r)
        i = bisect.bisect(self.numbers, r)
        el = etree.Element(f"{M}row", r=str(r))
        if i < len(self.numbers):
            self._node(self.numbers[i]).addprevious(el)
        else:
            self.data.append(el)
        self.rows[r] = el
        self.numbers.insert(i, r)
        return el

    def _cell(self, r: int, c: int):
        row = self._row(r)
        index = self._cells.get(r)
        if index is None:
            cells = list(row.iterfind(f"{M}c"))
            index = self._cells[r] = _RowCells([pkg.split_ref(cell.get("r"))[1] for cell in cells], cells)
        found = index.first.get(c)
        if found is not None:
            return found
        new = etree.Element(f"{M}c", r=f"{pkg.col_letter(c)}{r}")
        i = index.place(c)
        if i < len(index.cells):
            index.cells[i].addprevious(new)
        else:
            row.append(new)
        index.insert(i, c, new)
        return new

    def _styles_of(self, n: int) -> dict[int, str]:
        """Column -> style of row n's styled cells (cached: appending thousands of rows
        would otherwise re-read the rows above for every cell)."""
        got = self._row_styles.get(n)
        if got is None and n in self._unread:  # from the row's bytes: reading it would cost ~0.5 KB a cell
            got = self._row_styles[n] = rowbytes.styles(self.lazy, n)
        if got is None:
            got = {pkg.split_ref(cell.get("r"))[1]: cell.get("s") for cell in self._el(n).iterfind(f"{M}c") if cell.get("s")}
            self._row_styles[n] = got
        return got

    def _style_above(self, r: int, c: int) -> str | None:
        """The style of the nearest cell above in column c (within 30 rows, below the header),
        else the column's own style."""
        if self._above is None or self._above[0] != r:
            i = bisect.bisect_left(self.numbers, r)
            self._above = (r, {}, iter(self.numbers[max(0, i - 30):i][::-1]))
        # The rows above are walked once for all of row r's cells (each column's nearest style
        # kept), and only as far as a column asks: setting a cell changes the styles above later
        # rows, never above its own.
        _, nearest, rows = self._above
        while c not in nearest:
            n = next(rows, None)
            if n is None:
                return next((s for lo, hi, s in self.cols if lo <= c <= hi and s), None)
            if n > self.header_row:
                for col, style in self._styles_of(n).items():
                    nearest.setdefault(col, style)
        return nearest[c]

    def set(self, r: int, c: int, value) -> bool:
        """Set one cell's value; True if it replaced a formula."""
        cell = self._cell(r, c)
        had_formula = cell.find(f"{M}f") is not None
        for child in list(cell):
            cell.remove(child)
        cell.attrib.pop("t", None)
        style = cell.get("s") or self._style_above(r, c)
        if isinstance(value, (datetime, date)):
            kind = "datetime" if isinstance(value, datetime) else "date"
            style = self.styles.dated(style, kind)
            etree.SubElement(cell, f"{M}v").text = _serial(value, self.epoch)
        elif isinstance(value, bool):
            cell.set("t", "b")
            etree.SubElement(cell, f"{M}v").text = "1" if value else "0"
        elif isinstance(value, (int, float)):
            etree.SubElement(cell, f"{M}v").text = repr(value)
        elif value not in (None, ""):
            cell.set("t", "inlineStr")
            t = etree.SubElement(etree.SubElement(cell, f"{M}is"), f"{M}t")
            t.text = as_written(str(value))
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        if style:
            cell.set("s", style)
            if r in self._row_styles:
                self._row_styles[r][c] = style
            if self._above is not None and self._above[0] > r:
                self._above = None  # a row above the one being looked up changed
        return had_formula

    def fix_dimension(self) -> None:
        dim = self.root.find(f"{M}dimension")
        if dim is None or not self.numbers:
            return
        # Cells are in column order within a row, so each row's last cell is its widest.
        maxc = max((pkg.split_ref(r[-1].get("r"))[1] for r in self.rows.values()
                    if len(r) and r[-1].tag == f"{M}c" and r[-1].get("r")), default=1)
        if self._unread:
            maxc = max(maxc, self._unread.widest())
        dim.set("ref", f"A1:{pkg.col_letter(maxc)}{self.numbers[-1]}")


def as_written(value):
    """Text as a cell holds it: without the control characters XML cannot carry, at most
    Excel's 32,767 characters. Other values as they are."""
    return _ILLEGAL.sub("", value)[:32767] if isinstance(value, str) else value


def date_epoch(z: zipfile.ZipFile) -> datetime:
    """Day 0 of the workbook's date system: 1904 if the workbook says so (the reader honours it too)."""
    wb = pkg.parse(z.read(pkg.workbook_part(z)), "workbook part")
    pr = wb.find(f"{M}workbookPr")
    flag = (pr.get("date1904") or "").strip().lower() if pr is not None else ""
    return EPOCH_1904 if flag in ("1", "true") else EXCEL_EPOCH


def _serial(value, epoch: datetime = EXCEL_EPOCH) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            from automation.calendar import LONDON
            value = value.astimezone(LONDON).replace(tzinfo=None)
        delta = value - epoch
        # The nearest double to the exact serial, in full (Excel itself writes 15-17 digits):
        # rounding to 8 places left 06:16 as 06:15:59.999, which LibreOffice shows as 06:15.
        return repr(delta.days + delta.seconds / 86400)
    return str((value - epoch.date()).days)


def _table_rows(table) -> tuple[int, int, int, int]:
    """(first row, last row, last column, totals rows) of a table part."""
    start, end = table.get("ref").split(":")
    (r1, _), (r2, c2) = pkg.split_ref(start), pkg.split_ref(end)
    return r1, r2, c2, int(table.get("totalsRowCount") or 0)


def _make_room(sheet: _Sheet, table, written: int, edit: SheetEdit) -> None:
    """A table's totals row stays last: moved down below the rows the tool adds."""
    r1, r2, _, totals = _table_rows(table)
    if not totals or written < r2 or edit.truncate_after is not None or r1 != edit.header_row:
        return
    target = written + 1
    if sheet.has_values(target):
        raise WorkbookNoRoom(f"The tracker's sheet '{edit.sheet}' has something in row {target}, just below where the "
                            "table's totals row must move to make room for new rows — move it further down, then run again.")
    if sheet.has_row(r2):
        sheet.move_row(r2, target)


def _fit_table(table, last_row: int, may_shrink: bool) -> bytes | None:
    """Grow a table (and its filter) to cover rows the tool wrote; shrink it on truncate. None: unchanged."""
    r1, r2, c2, totals = _table_rows(table)
    start = table.get("ref").split(":")[0]
    want = max(last_row + totals, r1 + 1)
    if want == r2 or (want < r2 and not may_shrink):
        return None
    new = f"{start}:{pkg.col_letter(c2)}{want}"
    table.set("ref", new)
    af = table.find(f"{M}autoFilter")
    if af is not None:  # the filter covers the header and data, never the totals row
        af.set("ref", f"{start}:{pkg.col_letter(c2)}{want - totals}")
    return pkg.serialise(table)


STYLES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
STYLES_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_EMPTY_STYLES = (f'<styleSheet xmlns="{NS["m"]}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
                 '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
                 '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                 '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                 '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
                 '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>').encode()


def _styles_part(z: zipfile.ZipFile) -> str:
    wb = pkg.workbook_part(z)
    rels = pkg.rels_path(wb)
    if rels in z.namelist():
        for r in pkg.parse(z.read(rels), rels).iterfind("pr:Relationship", NS):
            if r.get("Type") == STYLES_REL:
                return pkg.resolve(wb, r.get("Target"))
    return posixpath.join(posixpath.dirname(wb), "styles.xml")


def _register_styles(z: zipfile.ZipFile, parts: dict, part: str) -> None:
    """Wire a newly made styles part into the package (relationship and content type)."""
    wb = pkg.workbook_part(z)
    wb_rels = pkg.rels_path(wb)
    rels = pkg.parse(parts.get(wb_rels) or z.read(wb_rels))
    ids = {r.get("Id") for r in rels}
    rid = next(f"rId{i}" for i in range(1, 10_000) if f"rId{i}" not in ids)
    etree.SubElement(rels, f"{{{NS['pr']}}}Relationship", Id=rid, Type=STYLES_REL,
                     Target=posixpath.relpath(part, posixpath.dirname(wb)))
    parts[wb_rels] = pkg.serialise(rels)
    ct = pkg.parse(parts.get("[Content_Types].xml") or z.read("[Content_Types].xml"))
    etree.SubElement(ct, f"{{{NS['ct']}}}Override", PartName="/" + part, ContentType=STYLES_CT)
    parts["[Content_Types].xml"] = pkg.serialise(ct)


class _Styles:
    """styles.xml: adds a date-formatted copy of a cell style when a date lands in a text cell."""

    def __init__(self, z: zipfile.ZipFile):
        self.part = _styles_part(z)
        # styles.xml is optional in a package (some generators leave it out): start an empty one.
        self.missing = self.part not in z.namelist()
        self.root = pkg.parse(_EMPTY_STYLES if self.missing else z.read(self.part), self.part)
        self.changed = False
        self.cache: dict[tuple[str | None, str], str] = {}

    def _formats(self):
        fmts = self.root.find(f"{M}numFmts")
        if fmts is None:
            fmts = etree.Element(f"{M}numFmts", count="0")
            self.root.insert(0, fmts)
        return fmts

    def _is_date(self, fmt_id: int) -> bool:
        if fmt_id in _BUILTIN_DATE_IDS:
            return True
        for f in self._formats().iterfind(f"{M}numFmt"):
            if int(f.get("numFmtId")) == fmt_id:
                code = re.sub(r'"[^"]*"|\[[^\]]*\]', "", f.get("formatCode", "")).lower()
                return any(ch in code for ch in "dmy")
        return False

    def _fmt_id(self, code: str) -> int:
        fmts = self._formats()
        existing = {f.get("formatCode"): int(f.get("numFmtId")) for f in fmts.iterfind(f"{M}numFmt")}
        if code in existing:
            return existing[code]
        new_id = max([163, *existing.values()]) + 1
        etree.SubElement(fmts, f"{M}numFmt", numFmtId=str(new_id), formatCode=code)
        fmts.set("count", str(len(fmts)))
        self.changed = True
        return new_id

    def dated(self, style: str | None, kind: str) -> str:
        """A style index showing dates: the given one if it already does, else a copy that does."""
        key = (style, kind)
        if key in self.cache:
            return self.cache[key]
        xfs = self.root.find(f"{M}cellXfs")
        base = xfs[int(style)] if style is not None and int(style) < len(xfs) else xfs[0]
        if self._is_date(int(base.get("numFmtId", "0"))):
            self.cache[key] = style or "0"
            return self.cache[key]
        new = copy.deepcopy(base)
        new.set("numFmtId", str(self._fmt_id(DATE_FORMATS[kind])))
        new.set("applyNumberFormat", "1")
        xfs.append(new)
        xfs.set("count", str(len(xfs)))
        self.changed = True
        self.cache[key] = str(len(xfs) - 1)
        return self.cache[key]


def _add_sheet(z: zipfile.ZipFile, parts: dict, name: str) -> str:
    """Add an empty worksheet part named `name` (for trackers made before a sheet existed)."""
    names = set(z.namelist()) | set(parts)
    n = 1
    while f"xl/worksheets/sheet{n}.xml" in names:
        n += 1
    part = f"xl/worksheets/sheet{n}.xml"
    parts[part] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS["m"]}" '
                   f'xmlns:r="{NS["r"]}"><sheetData/></worksheet>').encode()
    wb = pkg.workbook_part(z)
    wb_rels = pkg.rels_path(wb)
    rels = pkg.parse(parts.get(wb_rels) or z.read(wb_rels))
    ids = {r.get("Id") for r in rels}
    rid = next(f"rId{i}" for i in range(1, 10_000) if f"rId{i}" not in ids)
    etree.SubElement(rels, f"{{{NS['pr']}}}Relationship", Id=rid, Type=pkg.SHEET_REL,
                     Target=os.path.relpath(part, os.path.dirname(wb)).replace(os.sep, "/"))
    parts[wb_rels] = pkg.serialise(rels)
    book = pkg.parse(parts.get(wb) or z.read(wb))
    sheets = book.find(f"{M}sheets")
    sheet_id = max(int(s.get("sheetId")) for s in sheets) + 1
    el = etree.SubElement(sheets, f"{M}sheet", name=name, sheetId=str(sheet_id))
    el.set(pkg.R_ID, rid)
    parts[wb] = pkg.serialise(book)
    ct = pkg.parse(parts.get("[Content_Types].xml") or z.read("[Content_Types].xml"))
    etree.SubElement(ct, f"{{{NS['ct']}}}Override", PartName="/" + part, ContentType=pkg.SHEET_CT)
    parts["[Content_Types].xml"] = pkg.serialise(ct)
    return part


def _drop_calc_chain(z: zipfile.ZipFile, parts: dict) -> None:
    """Excel rebuilds the calculation chain; a stale one makes it 'repair' the file."""
    parts["xl/calcChain.xml"] = None
    ct = pkg.parse(parts.get("[Content_Types].xml") or z.read("[Content_Types].xml"))
    for o in ct.findall(f"{{{NS['ct']}}}Override"):
        if o.get("PartName") == "/xl/calcChain.xml":
            ct.remove(o)
    parts["[Content_Types].xml"] = pkg.serialise(ct)
    wb_rels = pkg.rels_path(pkg.workbook_part(z))
    rels = pkg.parse(parts.get(wb_rels) or z.read(wb_rels))
    for r in rels.findall(f"{{{NS['pr']}}}Relationship"):
        if r.get("Type", "").endswith("/calcChain"):
            rels.remove(r)
    parts[wb_rels] = pkg.serialise(rels)
