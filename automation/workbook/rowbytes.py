"""A sheet part with its rows kept as bytes until an edit touches them. A whole lxml tree of
a 10 MB sheet takes over 100 MB (about 0.5 KB a cell), while a run edits a few rows and
appends some more: the tree holds one placeholder comment for each run of rows not read, the
rows written are parsed (together), and on writing every untouched row's own bytes are put
back in place. The part is read from the package a chunk at a time and its rows kept in a
temporary file, not in memory (a 50,000-row sheet is about 50 MB of XML), and written out the
same way: what the save holds does not grow with the sheet, but for a few arrays of numbers."""

from __future__ import annotations

import bisect
import os
import re
import tempfile
from array import array
from dataclasses import dataclass
from typing import Iterable, Iterator

from lxml import etree

from automation.workbook import package as pkg
from automation.workbook.package import M

CHUNK = 1 << 18  # how much of a part is read, held or written at a time (1 MB buffers cost ~4 MB more)
_SHEET_DATA = re.compile(rb"<sheetData\b[^>]*>")
_ROW_OPEN = re.compile(rb"\s*<row\b[^>]*?(/?)>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_SPACE = re.compile(rb"\s*")
_CELL_OPEN = re.compile(rb"<c[\s>/]")
_CELL_WITH_REF = re.compile(rb'<c\s[^>]*?\br="([A-Za-z]+)\d+"')
_CELL_TAG = re.compile(rb"<c\s([^>]*)>")
_REF_ATTR = re.compile(rb'(?:^|\s)r="([A-Za-z]+)\d+"')
_STYLE_ATTR = re.compile(rb'(?:^|\s)s="(\d+)"')
_END = b"</sheetData>"
# package.parse's options (no entities resolved, no network); its DOCTYPE check is not needed
# for rows: a DOCTYPE cannot occur inside the wrapper element (it would not parse).
_ROW_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                              remove_blank_text=False)


class RowFile:
    """Bytes in an anonymous temporary file (deleted when closed), read back by offset."""

    def __init__(self):
        self.fh = tempfile.TemporaryFile()
        self.size = 0

    def append(self, data) -> None:
        """Add bytes at the end."""
        self.fh.write(data)
        self.size += len(data)

    def read(self, a: int, b: int) -> bytes:
        """The bytes from offset a to b."""
        self.fh.seek(a)
        return self.fh.read(b - a)

    def pieces(self, a: int, b: int) -> Iterator[bytes]:
        """The bytes from offset a to b, a chunk at a time."""
        self.fh.seek(a)
        while a < b:
            piece = self.fh.read(min(CHUNK, b - a))
            if not piece:
                raise EOFError("a sheet part's temporary copy is cut short")
            a += len(piece)
            yield piece

    def close(self) -> None:
        """Delete the file."""
        self.fh.close()


@dataclass
class Lazy:
    """Where each unread row's bytes are in the part as read (its rows, in a RowFile)."""

    rows: RowFile  # the part from just after <sheetData> to </sheetData>
    starts: array  # each row's place in rows (offsets, not copies: the rows are most of the part)
    ends: array
    last_cols: array  # the column of each row's last cell
    order: array  # each row's number, in the order of the part
    ascending: bool  # whether order is (as Excel writes it): then a row is found by bisection
    mark: bytes  # a placeholder comment's text before its rows' indices (first-after)
    nsmap: dict
    # Row number -> index, only for rows out of order (a dict of every row costs ~100 bytes a row).
    _index: dict | None = None

    def index(self, n: int) -> int:
        """Where row n is in starts/ends (KeyError: not a row of the part)."""
        if self.ascending:
            i = bisect.bisect_left(self.order, n)
            if i < len(self.order) and self.order[i] == n:
                return i
            raise KeyError(n)
        if self._index is None:
            self._index = {m: i for i, m in enumerate(self.order)}
        return self._index[n]

    def row(self, n: int) -> bytes:
        """Row n's bytes as read."""
        i = self.index(n)
        return self.rows.read(self.starts[i], self.ends[i])


def lazy_parse(chunks: Iterable[bytes], part: str) -> tuple[etree._Element, Lazy | None]:
    """The part (given a chunk at a time) as a tree with its rows one placeholder comment, or the
    whole tree (None) when the sheet data is not laid out as Excel and LibreOffice write it
    (that way refuses what is odd)."""
    scan = _Scan(iter(chunks))
    try:
        return scan.run(part)
    except BaseException:
        scan.rows.close()
        raise


class _Scan:
    """One pass over a sheet part: the rows' places noted and their bytes put in a RowFile as they
    go by. Any layout lazy_parse does not take sends the whole part to the full parse instead."""

    def __init__(self, stream: Iterator[bytes]):
        self.stream, self.eof = stream, False
        self.rows = RowFile()
        self.starts, self.ends, self.last_cols, self.order = array("q"), array("q"), array("l"), array("q")
        self.seen: set | None = None  # every row number so far, once one is out of order
        self.counts = [0, 0]  # "<c" and '<c r="' in the rows so far
        self.head = b""
        self.w, self.base = b"", 0  # the bytes not yet in the RowFile, and the offset there of w[0]

    def _next(self) -> bytes | None:
        for chunk in self.stream:
            if chunk:
                return bytes(chunk)
        self.eof = True
        return None

    def _whole(self, *held) -> bytes:
        """The whole part, for the full parse: what was read so far and the rest."""
        body = self.rows.read(0, self.rows.size)
        self.rows.close()
        return b"".join([*held, body, self.w, *iter(self._next, None)])

    def run(self, part: str):
        buf, looked = bytearray(), 0
        m = None
        while m is None:
            chunk = self._next()
            if chunk is None:
                return pkg.parse(bytes(buf), part), None
            buf += chunk
            # A match never holds a ">" but its last: one ending before the last ">" already looked at was found then.
            m = _SHEET_DATA.search(buf, buf.rfind(b">", 0, looked) + 1)
            looked = len(buf)
        self.head, self.w = bytes(buf[:m.end()]), bytes(buf[m.end():])
        del buf
        if m.group(0).endswith(b"/>") or self.head.find(_END) >= 0:
            return pkg.parse(self._whole(self.head), part), None
        end = self._rows()
        if end is None or not self._keep(end) or not self._every_cell_has_its_reference():
            return pkg.parse(self._whole(self.head), part), None
        tail = b"".join([self.w, *iter(self._next, None)])
        self.w = tail
        if tail.find(b"<sheetData") >= 0:
            return pkg.parse(self._whole(self.head), part), None
        self.w = b""
        mark = b"ofsted-row-" + os.urandom(6).hex().encode() + b":"
        holders = b"<!--%s0-%d-->" % (mark, len(self.starts)) if len(self.starts) else b""  # every row, in one
        root = pkg.parse(self.head + holders + tail, part)
        return root, Lazy(self.rows, self.starts, self.ends, self.last_cols, self.order, self.seen is None,
                          mark, root.find(f"{M}sheetData").nsmap)

    def _rows(self) -> int | None:
        """Note each row, up to </sheetData>; where it starts in w (None: not laid out as expected)."""
        match, number_in, p = _ROW_OPEN.match, _ROW_NUMBER.search, 0
        starts, ends, last_cols, order = self.starts, self.ends, self.last_cols, self.order
        last = -1
        while True:
            w = self.w
            row = match(w, p)
            if row is not None:
                tag = row.group(0)
                if row.group(1):
                    stop = row.end()
                else:
                    stop = w.find(b"</row>", row.end())
                    if stop < 0:
                        if self.eof or (p := self._refill(p)) is None:
                            return None
                        continue
                    stop += len(b"</row>")
                number = number_in(tag)
                if number is None:
                    return None
                number = int(number.group(1))
                if number > last:  # rows in order (as Excel writes them): no row number twice
                    last = number
                else:
                    if self.seen is None:
                        self.seen = set(order)
                    if number in self.seen:
                        return None
                if self.seen is not None:
                    self.seen.add(number)
                a = row.end() - len(tag.lstrip())  # from the row's "<" (not the white space before it)
                order.append(number)
                starts.append(self.base + a)
                ends.append(self.base + stop)
                last_cols.append(_last_column(w, a, stop))
                p = stop
                continue
            q = _SPACE.match(w, p).end()
            if not self.eof and (w.find(b">", q) < 0 or len(w) - q < len(_END)):
                if (p := self._refill(p)) is None:  # a row or the end not yet read whole
                    return None
                continue
            return q if w.startswith(_END, q) else None  # only white space between the rows

    def _refill(self, p: int) -> int | None:
        """Keep w[:p] (whole rows) and read the next chunk (if any) onto the rest; where p is
        then (None: what was kept makes the part odd)."""
        if not self._keep(p):
            return None
        chunk = self._next()
        if chunk is not None:
            self.w += chunk
        return 0

    def _keep(self, p: int) -> bool:
        """Move w[:p] (whole rows and the space between) to the RowFile; False if it holds what
        makes the part odd (the end of the sheet data, or a second one)."""
        w = self.w
        if w.find(_END, 0, p) >= 0 or w.find(b"<sheetData", 0, p) >= 0:
            return False
        # Counting substrings is much quicker than a pattern: every "<c" in sheet data is a cell
        # (text has its "<" escaped) unless rich text has "<color" and the like.
        self.counts[0] += w.count(b"<c", 0, p)
        self.counts[1] += w.count(b'<c r="', 0, p)
        self.rows.append(memoryview(w)[:p])
        self.w, self.base = w[p:], self.base + p
        return True

    def _every_cell_has_its_reference(self) -> bool:
        """Whether every cell of the rows names its reference (the writer places cells by it)."""
        if self.counts[0] == self.counts[1]:
            return True
        # Then the pattern decides, over the rows read back a run of whole rows at a time (no match
        # spans the end of a row).
        opened = with_ref = a = 0
        for i, b in enumerate(self.ends):
            if b - a >= CHUNK or i == len(self.ends) - 1:
                data = self.rows.read(a, self.rows.size if i == len(self.ends) - 1 else b)
                opened += len(_CELL_OPEN.findall(data))
                with_ref += len(_CELL_WITH_REF.findall(data))
                a = b
        return opened == with_ref


def _last_column(data: bytes, a: int, b: int) -> int:
    """The column of the last cell in data[a:b] (cells are in column order), or 1."""
    last = data.rfind(b"<c ", a, b)
    ref = _CELL_WITH_REF.match(data, last, b) if last >= 0 else None
    return pkg.col_number(ref.group(1).decode().upper()) if ref else 1


class Unread:
    """The rows not read yet, by row number, as a dict of their placeholders would be: the tree
    holds one placeholder comment for each run of them (one a row took ~250 bytes a row), and a
    row's own placeholder is split off its run when the row is asked for."""

    def __init__(self, lazy: Lazy, data_el: etree._Element):
        self.lazy, self.count = lazy, len(lazy.order)
        self.alive = bytearray(b"\x01") * self.count  # whether each row (by index) is still unread
        self.firsts: list[int] = []  # each run's first index, in order
        self.runs: dict[int, tuple[int, etree._Element]] = {}  # first index -> (index after the run, its comment)
        if self.count:  # straight from lazy_parse: one comment, every row
            self.firsts.append(0)
            self.runs[0] = (self.count, next(data_el.iterchildren(etree.Comment)))

    def _index(self, n: int) -> int | None:
        try:
            i = self.lazy.index(n)
        except KeyError:
            return None
        return i if self.alive[i] else None

    def __contains__(self, n) -> bool:
        return self._index(n) is not None

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[int]:
        return (n for n, unread in zip(self.lazy.order, self.alive) if unread)

    def _text(self, a: int, b: int) -> str:
        return f"{self.lazy.mark.decode()}{a}-{b}"

    def _split(self, i: int) -> etree._Element:
        """Start a run at index i (a row still unread); that run's comment."""
        k = bisect.bisect_right(self.firsts, i) - 1
        a = self.firsts[k]
        end, node = self.runs[a]
        if a == i:
            return node
        new = etree.Comment(self._text(i, end))
        node.addnext(new)
        node.text = self._text(a, i)
        self.runs[a], self.runs[i] = (i, node), (end, new)
        self.firsts.insert(k + 1, i)
        return new

    def __getitem__(self, n: int) -> etree._Element:
        """Row n's own placeholder (KeyError: not an unread row)."""
        i = self._index(n)
        if i is None:
            raise KeyError(n)
        node = self._split(i)
        if self.runs[i][0] > i + 1:
            self._split(i + 1)
        return node

    def pop(self, n: int, *default):
        """Row n's own placeholder, the row no longer unread (its caller replaces or removes it)."""
        if n not in self:
            if default:
                return default[0]
            raise KeyError(n)
        node = self[n]
        i = self.lazy.index(n)
        del self.runs[i]
        del self.firsts[bisect.bisect_left(self.firsts, i)]
        self.alive[i] = 0
        self.count -= 1
        return node

    def widest(self) -> int:
        """The column of the last cell of the widest unread row (cells are in column order), or 1."""
        return max((c for c, unread in zip(self.lazy.last_cols, self.alive) if unread), default=1)


def parse_rows(lazy: Lazy, numbers: list[int]) -> list[etree._Element]:
    """The row elements of these row numbers, parsed together (in the order given)."""
    decls = " ".join(f'xmlns{":" + p if p else ""}="{u}"' for p, u in lazy.nsmap.items())
    body = b"".join(lazy.row(n) for n in numbers)
    return list(etree.fromstring(f"<sheetData {decls}>".encode() + body + b"</sheetData>", _ROW_PARSER))


class Spliced:
    """A sheet part to write: the serialised tree with each placeholder replaced by its rows'
    own bytes, given a chunk at a time from the RowFile (or, for a part parsed whole, its bytes
    kept in one). Closing it deletes the file."""

    def __init__(self, out: bytes, lazy: Lazy | None):
        self.out, self.mark = out, None
        if lazy is None:  # on disk until the package is written: a big sheet is tens of MB
            self.rows = RowFile()
            self.rows.append(out)
            self.out = None
        else:  # what writing needs (not the row numbers)
            self.mark, self.starts, self.ends, self.rows = b"<!--" + lazy.mark, lazy.starts, lazy.ends, lazy.rows

    def chunks(self) -> Iterator[bytes]:
        """The part's bytes, in pieces of at most about a chunk."""
        if self.out is None:
            yield from self.rows.pieces(0, self.rows.size)
            return
        out, mark, starts, ends = self.out, self.mark, self.starts, self.ends
        skip = len(mark)
        pos, run_a, run_b = 0, 0, 0  # run: rows next to each other in the file, copied as one
        while True:
            k = out.find(mark, pos)
            if k < 0:
                break
            if k > pos:
                if run_b > run_a:
                    yield from self.rows.pieces(run_a, run_b)
                    run_a = run_b = 0
                yield out[pos:k]
            close = out.index(b"-->", k + skip)
            first, after = out[k + skip:close].split(b"-")
            for i in range(int(first), int(after)):
                if run_b > run_a and run_b == starts[i]:
                    run_b = ends[i]
                else:
                    if run_b > run_a:
                        yield from self.rows.pieces(run_a, run_b)
                    run_a, run_b = starts[i], ends[i]
            pos = close + len(b"-->")
        if run_b > run_a:
            yield from self.rows.pieces(run_a, run_b)
        yield out[pos:]

    def close(self) -> None:
        """Delete the rows' temporary file."""
        self.rows.close()


def styles(lazy: Lazy, n: int) -> dict[int, str]:
    """Column -> style of an unread row's styled cells, from its bytes."""
    got = {}
    for tag in _CELL_TAG.finditer(lazy.row(n)):
        ref, style = _REF_ATTR.search(tag.group(1)), _STYLE_ATTR.search(tag.group(1))
        if ref and style:
            got[pkg.col_number(ref.group(1).decode().upper())] = style.group(1).decode()
    return got
