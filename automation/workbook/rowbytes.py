"""A sheet part with its rows kept as bytes until an edit touches them. A whole lxml tree of
a 10 MB sheet takes over 100 MB (about 0.5 KB a cell), while a run edits a few rows and
appends some more: the tree holds a placeholder comment for each row, the rows written are
parsed (together), and on writing every untouched row's own bytes are put back in place."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from lxml import etree

from automation.workbook import package as pkg
from automation.workbook.package import M

_SHEET_DATA = re.compile(rb"<sheetData\b[^>]*>")
_ROW_OPEN = re.compile(rb"\s*<row\b[^>]*?(/?)>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_CELL_OPEN = re.compile(rb"<c[\s>/]")
_CELL_WITH_REF = re.compile(rb'<c\s[^>]*?\br="([A-Za-z]+)\d+"')
_CELL_TAG = re.compile(rb"<c\s([^>]*)>")
_REF_ATTR = re.compile(rb'(?:^|\s)r="([A-Za-z]+)\d+"')
_STYLE_ATTR = re.compile(rb'(?:^|\s)s="(\d+)"')
# package.parse's options (no entities resolved, no network); its DOCTYPE check is not needed
# for rows: a DOCTYPE cannot occur inside the wrapper element (it would not parse).
_ROW_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                              remove_blank_text=False)


@dataclass
class Lazy:
    """Where each unread row's bytes are in the part as read."""

    data: bytes  # the part as read
    spans: list[tuple[int, int]]  # each row's place in data (offsets, not copies: the rows are most of the part)
    numbers: dict[int, int]  # row number -> index in spans
    mark: bytes  # the placeholder comment's text before the index
    nsmap: dict


def lazy_parse(data: bytes, part: str) -> tuple[etree._Element, Lazy | None]:
    """The part's tree with each row a placeholder comment, or the whole tree (None) when the
    sheet data is not laid out as Excel and LibreOffice write it (that way refuses what is odd)."""
    m = _SHEET_DATA.search(data)
    end = data.find(b"</sheetData>")
    if m is None or m.group(0).endswith(b"/>") or end < m.end() or data.find(b"<sheetData", m.end()) >= 0:
        return pkg.parse(data, part), None
    if not _every_cell_has_its_reference(data, m.end(), end):
        return pkg.parse(data, part), None
    mark = b"ofsted-row-" + os.urandom(6).hex().encode() + b":"
    spans, numbers = [], {}
    pos = m.end()
    match, find, number_in = _ROW_OPEN.match, data.find, _ROW_NUMBER.search
    while True:
        row = match(data, pos, end)
        if row is None:
            break
        tag = row.group(0)
        stop = row.end() if row.group(1) else find(b"</row>", row.end(), end) + len(b"</row>")
        number = number_in(tag)
        if stop < row.end() or number is None or int(number.group(1)) in numbers:
            return pkg.parse(data, part), None
        numbers[int(number.group(1))] = len(spans)
        spans.append((row.end() - len(tag.lstrip()), stop))  # from the row's "<" (not the white space before it)
        pos = stop
    if data[pos:end].strip():
        return pkg.parse(data, part), None  # something between the rows other than white space
    holders = b"".join([b"<!--%s%d-->" % (mark, i) for i in range(len(spans))])
    root = pkg.parse(data[:m.end()] + holders + data[end:], part)
    return root, Lazy(data, spans, numbers, mark, root.find(f"{M}sheetData").nsmap)


def _every_cell_has_its_reference(data: bytes, start: int, end: int) -> bool:
    """Whether every cell between start and end names its reference (the writer places cells by it)."""
    # Counting substrings is much quicker than a pattern: every "<c" in sheet data is a cell
    # (text has its "<" escaped) unless rich text has "<color" and the like; then the pattern decides.
    if data.count(b"<c", start, end) == data.count(b'<c r="', start, end):
        return True
    return len(_CELL_OPEN.findall(data, start, end)) == len(_CELL_WITH_REF.findall(data, start, end))


def placeholders(data_el: etree._Element, lazy: Lazy) -> dict[int, etree._Element]:
    """Row number -> its placeholder comment in the sheetData element."""
    nodes = list(data_el)
    order = list(lazy.numbers)  # row numbers in the order of their spans, as lazy_parse met them
    ends = [b"<!--" + lazy.mark + str(i).encode() + b"-->" for i in (0, len(order) - 1)] if order else []
    if len(nodes) == len(order) and all(etree.tostring(nodes[k], with_tail=False) == end
                                        for k, end in zip((0, -1), ends)):
        # Straight from lazy_parse: the children are the placeholders, one a row, in order.
        return dict(zip(order, nodes))
    by_index = {i: n for n, i in lazy.numbers.items()}
    out = {}
    for node in data_el.iterchildren(etree.Comment):
        text = node.text.encode()
        if text.startswith(lazy.mark):
            out[by_index[int(text[len(lazy.mark):])]] = node
    return out


def parse_rows(lazy: Lazy, numbers: list[int]) -> list[etree._Element]:
    """The row elements of these row numbers, parsed together (in the order given)."""
    view = memoryview(lazy.data)
    decls = " ".join(f'xmlns{":" + p if p else ""}="{u}"' for p, u in lazy.nsmap.items())
    body = b"".join(view[a:b] for a, b in (lazy.spans[lazy.numbers[n]] for n in numbers))
    return list(etree.fromstring(f"<sheetData {decls}>".encode() + body + b"</sheetData>", _ROW_PARSER))


def splice(out: bytes, lazy: Lazy) -> list:
    """The serialised tree's pieces, each placeholder left replaced by its row's own bytes
    (views into the part as read, not copies)."""
    mark, view = b"<!--" + lazy.mark, memoryview(lazy.data)
    pieces = out.split(mark)
    joined = [pieces[0]]
    for piece in pieces[1:]:
        index, rest = piece.split(b"-->", 1)
        a, b = lazy.spans[int(index)]
        joined += [view[a:b], rest]
    return joined


def styles(lazy: Lazy, n: int) -> dict[int, str]:
    """Column -> style of an unread row's styled cells, from its bytes."""
    a, b = lazy.spans[lazy.numbers[n]]
    got = {}
    for tag in _CELL_TAG.finditer(lazy.data, a, b):
        ref, style = _REF_ATTR.search(tag.group(1)), _STYLE_ATTR.search(tag.group(1))
        if ref and style:
            got[pkg.col_number(ref.group(1).decode().upper())] = style.group(1).decode()
    return got


def last_column(lazy: Lazy, n: int) -> int:
    """The column of an unread row's last cell (cells are in column order), or 1."""
    a, b = lazy.spans[lazy.numbers[n]]
    last = lazy.data.rfind(b"<c ", a, b)
    ref = _CELL_WITH_REF.match(lazy.data, last, b) if last >= 0 else None
    return pkg.col_number(ref.group(1).decode().upper()) if ref else 1
