"""HTTP/2 frames written by hand (RFC 9113, HPACK from RFC 7541), for hostile-client tests.

Tests send what no HTTP/2 library would (a head that never ends, a body announced and never sent), so
the bytes are built here: the connection preface, and frames as a 9-byte header and a payload. Header
fields are HPACK literals without indexing and without Huffman coding, which every decoder must take.
"""

from __future__ import annotations

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, SETTINGS, CONTINUATION = 0x0, 0x1, 0x4, 0x9
END_STREAM, END_HEADERS = 0x1, 0x4


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """One frame: a 24-bit length, its type, its flags, a 31-bit stream id, then the payload."""
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + stream.to_bytes(4, "big") + payload


def _integer(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """An HPACK integer with an N-bit prefix (RFC 7541 section 5.1), ``first`` holding the octet's other bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return _integer(len(raw), 7) + raw  # the top bit clear: not Huffman-coded


def header_block(fields: list[tuple[str, str]]) -> bytes:
    """``fields`` (pseudo-headers first, names in lower case) as literals without indexing, new names."""
    return b"".join(b"\x00" + _string(name) + _string(value) for name, value in fields)


def request_head(method: str, path: str, authority: str, extra: list[tuple[str, str]] | None = None) -> bytes:
    """The header block of a request for ``path`` over cleartext."""
    fields = [(":method", method), (":scheme", "http"), (":path", path), (":authority", authority)]
    return header_block(fields + (extra or []))


def opening(authority: str, method: str, path: str, flags: int, extra: list[tuple[str, str]] | None = None) -> bytes:
    """What a prior-knowledge client sends first: the preface, its (empty) SETTINGS, then stream 1's
    HEADERS frame with ``flags`` (END_HEADERS, END_STREAM: leave them out to keep the head or the body open)."""
    return PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, flags, 1, request_head(method, path, authority, extra))
