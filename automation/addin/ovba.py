"""MS-OVBA: the compression (2.4.1) and data encryption (2.4.3) a VBA project's
streams use, and the streams of a source-only project (no compiled p-code).

Written here because the PyPI compressor we tried corrupts every module longer
than one 4096-byte chunk; tests round-trip each module through oletools."""

from __future__ import annotations

import struct

CHUNK = 4096


def compress(data: bytes) -> bytes:
    """A CompressedContainer (MS-OVBA 2.4.1.1.1) holding `data`."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK):
        out += _chunk(data[start:start + CHUNK])
    return bytes(out)


def _chunk(chunk: bytes) -> bytes:
    body = _tokens(chunk)
    if len(body) + 2 > CHUNK + 2 and len(chunk) == CHUNK:
        # An incompressible full chunk is stored raw (flag 0, size field 4095).
        return struct.pack("<H", 0x3000 | (CHUNK - 1)) + chunk
    if len(body) > CHUNK:
        raise ValueError("a short, incompressible last chunk cannot be stored; VBA source is text")
    return struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body


def _tokens(chunk: bytes) -> bytes:
    """Token sequences: a flag byte, then up to eight literals or copy tokens."""
    out = bytearray()
    pos, n = 0, len(chunk)
    seen: dict[bytes, list[int]] = {}
    while pos < n:
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            offset, length = _longest_match(chunk, pos, seen)
            if length >= 3:
                bits = max((pos - 1).bit_length(), 4)
                out += struct.pack("<H", ((offset - 1) << (16 - bits)) | (length - 3))
                flags |= 1 << bit
                step = length
            else:
                out.append(chunk[pos])
                step = 1
            for p in range(pos, pos + step):
                if p + 3 <= n:
                    seen.setdefault(chunk[p:p + 3], []).append(p)
            pos += step
        out[flag_at] = flags
    return bytes(out)


def _longest_match(chunk: bytes, pos: int, seen: dict[bytes, list[int]]) -> tuple[int, int]:
    if pos == 0 or pos + 3 > len(chunk):
        return 0, 0
    bits = max((pos - 1).bit_length(), 4)
    max_len = (0xFFFF >> bits) + 3
    max_off = 1 << bits
    best_off = best_len = 0
    for cand in reversed(seen.get(chunk[pos:pos + 3], ())):
        off = pos - cand
        if off > max_off:
            break
        length = 3
        while pos + length < len(chunk) and length < max_len and chunk[cand + length] == chunk[pos + length]:
            length += 1
        if length > best_len:
            best_off, best_len = off, length
            if length == max_len:
                break
    return best_off, best_len


def encrypt(project_id: str, data: bytes, seed: int = 0x07) -> str:
    """MS-OVBA 2.4.3.2 data encryption (the PROJECT stream's CMG, DPB and GC values).

    The seed is fixed, not random, so builds are reproducible; it protects nothing."""
    version, key = 2, sum(project_id.encode("ascii")) & 0xFF
    out = bytearray([seed, seed ^ version, seed ^ key])
    unenc1, enc1, enc2 = key, seed ^ key, seed ^ version
    for byte in bytes((seed & 6) // 2) + struct.pack("<I", len(data)) + data:
        b_enc = byte ^ ((enc2 + unenc1) & 0xFF)
        out.append(b_enc)
        enc2, enc1, unenc1 = enc1, b_enc, byte
    return out.hex().upper()


def decrypt(text: str) -> bytes:
    """The inverse of `encrypt` (for tests and for reading other tools' projects)."""
    raw = bytes.fromhex(text)
    seed, version_enc, key_enc = raw[0], raw[1], raw[2]
    unenc1, enc1, enc2 = seed ^ key_enc, key_enc, version_enc
    plain = bytearray()
    for b_enc in raw[3:]:
        byte = b_enc ^ ((enc2 + unenc1) & 0xFF)
        plain.append(byte)
        enc2, enc1, unenc1 = enc1, b_enc, byte
    skip = (seed & 6) // 2
    length = struct.unpack("<I", plain[skip:skip + 4])[0]
    return bytes(plain[skip + 4:skip + 4 + length])
