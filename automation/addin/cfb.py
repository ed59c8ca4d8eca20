"""A minimal MS-CFB (compound file, version 3) writer for a VBA project.

olefile reads compound files but cannot create one; the maintained writer we found
is AGPL. This writes what a vbaProject.bin needs: storages and streams, small
streams in the mini stream, no DIFAT (files up to ~7 MB). Output depends only on
the input, so builds are reproducible."""

from __future__ import annotations

import struct

SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
STORAGE, STREAM, ROOT = 1, 2, 5


class _Node:
    def __init__(self, name: str, kind: int, data: bytes = b""):
        if len(name) > 31:
            raise ValueError(f"compound-file names are at most 31 characters: {name!r}")
        self.name, self.kind, self.data = name, kind, data
        self.children: dict[str, _Node] = {}
        self.sid = 0
        self.start, self.left, self.right, self.child = END, NOSTREAM, NOSTREAM, NOSTREAM


def write_compound(streams: dict[str, bytes]) -> bytes:
    """A compound file holding `streams`, keyed by path ("VBA/dir")."""
    root = _Node("Root Entry", ROOT)
    for path, data in sorted(streams.items()):
        node = root
        *folders, leaf = path.split("/")
        for f in folders:
            node = node.children.setdefault(f, _Node(f, STORAGE))
        node.children[leaf] = _Node(leaf, STREAM, data)
    nodes = _number(root)
    small = [n for n in nodes if n.kind == STREAM and len(n.data) < CUTOFF]
    large = [n for n in nodes if n.kind == STREAM and len(n.data) >= CUTOFF]

    # The mini stream: 64-byte sectors, chained in the mini FAT.
    mini_fat, mini = [], bytearray()
    for n in small:
        count = _ceil(len(n.data), MINI)
        n.start = len(mini_fat) if count else END
        mini_fat += [len(mini_fat) + i + 1 for i in range(count)]
        if count:
            mini_fat[-1] = END
        mini += n.data.ljust(count * MINI, b"\0")
    root.data = bytes(mini)

    # Sector layout: [FAT][directory][mini FAT][mini stream][large streams].
    dir_secs = _ceil(len(nodes) * 128, SECTOR)
    minifat_secs = _ceil(len(mini_fat) * 4, SECTOR)
    blobs = ([root] if root.data else []) + large
    data_secs = sum(_ceil(len(b.data), SECTOR) for b in blobs)
    fat_secs = 1
    while fat_secs * 128 < fat_secs + dir_secs + minifat_secs + data_secs:
        fat_secs += 1
    if fat_secs > 109:
        raise ValueError("the VBA project is too large for this writer (over ~7 MB)")
    fat: list[int] = [FATSECT] * fat_secs
    dir_start = _chain(fat, dir_secs)
    minifat_start = _chain(fat, minifat_secs) if minifat_secs else END
    for b in blobs:
        b.start = _chain(fat, _ceil(len(b.data), SECTOR))
    if not root.data:
        root.start = END
    fat += [FREE] * (fat_secs * 128 - len(fat))

    header = _header(fat_secs, dir_start, minifat_start, minifat_secs)
    body = bytearray()
    body += struct.pack(f"<{len(fat)}I", *fat)
    body += b"".join(_entry(n) for n in nodes).ljust(dir_secs * SECTOR, b"\0")
    if minifat_secs:
        mf = mini_fat + [FREE] * (minifat_secs * 128 - len(mini_fat))
        body += struct.pack(f"<{len(mf)}I", *mf)
    for b in blobs:
        body += b.data.ljust(_ceil(len(b.data), SECTOR) * SECTOR, b"\0")
    return header + bytes(body)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _chain(fat: list[int], count: int) -> int:
    start = len(fat)
    fat += [start + i + 1 for i in range(count)]
    fat[-1] = END
    return start


def _key(node: _Node):
    # MS-CFB 2.6.4: siblings compare by name length, then upper-cased name.
    return len(node.name), node.name.upper()


def _number(root: _Node) -> list[_Node]:
    """Directory entries in order, with each storage's children as a balanced tree."""
    out = [root]

    def tree(items: list[_Node]) -> int:
        if not items:
            return NOSTREAM
        mid = len(items) // 2
        node = items[mid]
        node.left, node.right = tree(items[:mid]), tree(items[mid + 1:])
        return node.sid

    def visit(storage: _Node) -> None:
        kids = sorted(storage.children.values(), key=_key)
        for k in kids:
            k.sid = len(out)
            out.append(k)
        storage.child = tree(kids)
        for k in kids:
            if k.kind == STORAGE:
                visit(k)

    visit(root)
    return out


def _entry(n: _Node) -> bytes:
    name = (n.name + "\0").encode("utf-16-le")
    # All nodes black: a valid red-black colouring only matters for balancing, which
    # readers do not check; the tree itself is balanced.
    return struct.pack("<64sHBBIII16sIQQIIHH", name, len(name), n.kind, 1, n.left, n.right, n.child,
                       b"\0" * 16, 0, 0, 0, n.start if n.kind != STORAGE else 0,
                       len(n.data) if n.kind != STORAGE else 0, 0, 0)[:128]


def _header(fat_secs: int, dir_start: int, minifat_start: int, minifat_secs: int) -> bytes:
    head = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\0" * 16,
                       0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6, 0, fat_secs, dir_start, 0, CUTOFF,
                       minifat_start, minifat_secs, END, 0)
    difat = list(range(fat_secs)) + [FREE] * (109 - fat_secs)
    return head + struct.pack("<109I", *difat)
