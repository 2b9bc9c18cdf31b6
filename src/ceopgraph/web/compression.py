"""Compressed downloads: the dumps and tables in Brotli or gzip, as ``Accept-Encoding`` asks (RFC 9110 12.5.3).

A file of the dumps is the same bytes for as long as it is served (a release's are immutable), so each coding of
it is made once and kept, in memory, up to ``CACHE_BYTES`` in all (least recently used first out). The codings
are deterministic (gzip with no name and time in its header), so every worker and every replica sends the same
bytes, and each coding has an ETag of its own: the digest of what is sent.

Only files are compressed here, never pages or answers that hold a secret beside what a client sent (a form's
token): compressing those together is what BREACH reads secrets through. A file past ``MAX_FILE_BYTES`` is sent
as it is (compressing it would hold a worker for seconds), and so is any byte-range request: ranges count the
file's own bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import brotli

MAX_FILE_BYTES = 32 * 1024 * 1024
CACHE_BYTES = 64 * 1024 * 1024
# Below this a coding saves less than its own headers cost.
MIN_FILE_BYTES = 1024

# The codings offered, the server's preference first at equal quality: Brotli is smaller for text.
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "br": lambda data: brotli.compress(data, quality=9),
    "gzip": lambda data: gzip.compress(data, compresslevel=9, mtime=0),
}


def chosen_coding(accept_encoding: str | None) -> str | None:
    """The coding to send: the offered one the client rates highest (``*`` rates any not named), or None
    for the file as it is (no header, nothing acceptable, or ``identity`` preferred)."""
    if not accept_encoding:
        return None
    rated: dict[str, float] = {}
    for member in accept_encoding.split(","):
        name, _, params = member.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        if name.strip():
            rated[name.strip().lower()] = quality
    best, best_quality = None, rated.get("identity", 0.0)  # the file as it is, unless a coding is rated as high
    for coding in ENCODERS:
        quality = rated.get(coding, rated.get("*", 0.0))
        if quality > 0 and quality >= best_quality and (best is None or quality > best_quality):
            best, best_quality = coding, quality
    return best


@dataclass(frozen=True)
class Encoded:
    data: bytes
    etag: str  # the digest of ``data``: one ETag per coding of one file


@dataclass
class EncodedFiles:
    """Each coding of each file made once and kept, up to ``limit`` bytes in all; an app's own service."""

    limit: int = CACHE_BYTES
    _held: OrderedDict[tuple[str, int, int, str], Encoded] = field(default_factory=OrderedDict)
    _size: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def encoded(self, path: Path, coding: str) -> Encoded | None:
        """``path`` in ``coding``, or None when it is not worth it or too large to make here."""
        stat = path.stat()
        if not MIN_FILE_BYTES <= stat.st_size <= MAX_FILE_BYTES:
            return None
        key = (str(path), stat.st_size, stat.st_mtime_ns, coding)
        with self._lock:
            found = self._held.get(key)
            if found is not None:
                self._held.move_to_end(key)
                return found
        data = ENCODERS[coding](path.read_bytes())
        made = Encoded(data, f"{hashlib.sha256(data).hexdigest()[:32]}-{coding}")
        with self._lock:
            if key not in self._held and len(data) <= self.limit:
                self._held[key] = made
                self._size += len(data)
                while self._size > self.limit:
                    _, dropped = self._held.popitem(last=False)
                    self._size -= len(dropped.data)
        return made
