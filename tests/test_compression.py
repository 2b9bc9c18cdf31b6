"""``web.compression``: which coding a client gets (``Accept-Encoding``), each coding made once, the same bytes
every time, bounded in size and in what is kept."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import brotli
import pytest

from ceopgraph.web import compression
from ceopgraph.web.compression import EncodedFiles, chosen_coding


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [
        (None, None),
        ("", None),
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br, zstd", "br"),  # a browser's: Brotli at equal quality
        ("gzip;q=0.9, br;q=0.5", "gzip"),
        ("*", "br"),
        ("br;q=0, *", "gzip"),
        ("identity", None),
        ("gzip;q=0.5, identity", None),  # the file as it is, rated higher
        ("br;q=0, gzip;q=0", None),
        ("deflate, compress", None),  # not offered
        ("gzip;q=nonsense", None),  # an unreadable rating refuses
        ("GZIP ; Q=0.7", "gzip"),
    ],
)
def test_the_coding_the_client_rates_highest(accept_encoding: str | None, coding: str | None) -> None:
    assert chosen_coding(accept_encoding) == coding


DECODERS = {"gzip": gzip.decompress, "br": brotli.decompress}


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_a_coding_is_made_once_the_same_bytes_anywhere_and_decodes_to_the_file(tmp_path: Path, coding: str) -> None:
    path = tmp_path / "dump.nq"
    path.write_bytes(b"<urn:x:s> <urn:x:p> <urn:x:o> .\n" * 200)
    first, second = EncodedFiles(), EncodedFiles()  # two workers
    made = first.encoded(path, coding)
    assert made is not None and DECODERS[coding](made.data) == path.read_bytes()
    assert len(made.data) < path.stat().st_size
    assert first.encoded(path, coding) is made  # kept
    again = second.encoded(path, coding)
    assert again is not None and (again.data, again.etag) == (made.data, made.etag)
    other = first.encoded(path, "br" if coding == "gzip" else "gzip")
    assert other is not None and other.etag != made.etag  # one ETag per coding


def test_small_and_large_files_go_as_they_are_and_the_cache_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = tmp_path / "small.csv"
    small.write_bytes(b"a,b\n")
    assert EncodedFiles().encoded(small, "gzip") is None
    monkeypatch.setattr(compression, "MAX_FILE_BYTES", 4096)
    large = tmp_path / "large.nq"
    large.write_bytes(b"x" * 5000)
    assert EncodedFiles().encoded(large, "gzip") is None
    files = []
    for i in range(3):
        path = tmp_path / f"f{i}.nq"
        path.write_bytes(random.Random(i).randbytes(2048))  # incompressible: over 2 KiB each once coded
        files.append(path)
    kept = EncodedFiles(limit=5000)
    for path in files:
        assert kept.encoded(path, "gzip") is not None
    assert kept._size <= 5000 and len(kept._held) == 2  # the least recently used went first
