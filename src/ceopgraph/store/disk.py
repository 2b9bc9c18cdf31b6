"""The data on disk: the files the store loads, and one on-disk copy the query processes open read-only.

``DiskStore`` writes the dataset once into an on-disk pyoxigraph store (RocksDB) that every query
process of every server worker opens; ``load_files`` and ``version_of`` are the loading and versioning
both it and the in-memory ``EmbeddedStore`` use, so both read the files the same way.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path

import pyoxigraph as ox

from ceopgraph.conneg import RdfFormat
from ceopgraph.processes.scratch import owned_scratch

Source = tuple[str, str, str | None]  # file, pyoxigraph format name, target graph: plain values, for JSON


def sources_of(paths: Sequence[Path], formats: Sequence[RdfFormat]) -> list[Source]:
    """Each file (absolute: the writer may run elsewhere) with its pyoxigraph format and target graph: a
    file of a triple format becomes a graph named after the file; quad formats name their own graphs."""
    return [
        (str(path.resolve()), fmt.oxigraph_name, None if fmt.quads else path.resolve().as_uri())
        for path, fmt in zip(paths, formats, strict=True)
    ]


def load_sources(store: ox.Store, sources: Sequence[Source]) -> None:
    """Load the files; the first file's blank node labels are kept when it names its own graphs (a dump of
    ours, which carries stable labels: ``ceopgraph.bnodes``), so every process that loads it gives pages the
    same labels. Other files' blank nodes are renamed apart, as Oxigraph's loader does, so that equal labels
    in two files never join two nodes."""
    for position, (path, format_name, graph) in enumerate(sources):
        fmt = getattr(ox.RdfFormat, format_name)
        # Relative IRIs (``<>``, ``rdf:resource=""``, ``<#x>``) resolve against the file's own IRI, as a
        # parser reading the file from its location would (RFC 3986 §5.1.3); without a base they are refused.
        base = Path(path).as_uri()
        if position == 0 and graph is None:
            store.bulk_extend(ox.parse(path=path, format=fmt, base_iri=base))  # the parser keeps labels
        else:
            target = None if graph is None else ox.NamedNode(graph)
            store.bulk_load(path=path, format=fmt, to_graph=target, base_iri=base)


def load_keeping_labels(store: ox.Store, nquads: bytes) -> None:
    """Load N-Quads of ours (a stored draft's content) with their blank node labels as written."""
    store.bulk_extend(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))


def load_files(store: ox.Store, paths: Sequence[Path], formats: Sequence[RdfFormat]) -> None:
    """Load RDF files into ``store``; triples of triple formats go into a graph named after the file."""
    load_sources(store, sources_of(paths, formats))


def version_of(paths: Sequence[Path]) -> str:
    """The files' digest: equal files give an equal version, whichever process computes it."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as data:
            while block := data.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()[:20]


# One copy on disk ------------------------------------------------------------------------------

_SCRATCH_PREFIX = "ceopgraph-store-"


class DiskStore:
    """The data written once into an on-disk pyoxigraph store (RocksDB), then only opened read-only.

    Every query process of every server worker opens the same folder read-only, so the data sits once
    in the operating system's page cache rather than once per process (a copy in memory each made a
    worker with four query processes cost ~5 copies). It is written before the server forks its workers,
    never while anyone reads it (RocksDB leaves a reader of a folder being written undefined), and made
    visible by an atomic rename: a reader sees a whole store or none.

    In a configured folder (``Settings.store_path``) each version gets its own sub-folder, built under a
    file lock (servers started together build it once) and kept for the next start. Otherwise the copy
    is a scratch folder owned by the process that wrote it, removed when it closes or exits; scratch
    folders of processes that died without cleaning up are removed by the next one.
    """

    def __init__(self, path: Path, version: str, scratch: bool = False) -> None:
        self.path = path
        self.version = version
        self._remover = weakref.finalize(self, _remove_scratch, path, os.getpid()) if scratch else None

    @classmethod
    def build(cls, paths: Sequence[Path], formats: Sequence[RdfFormat], folder: Path | None = None) -> DiskStore:
        """Write the files into ``folder``/``store-<version>`` (reused when already there), or into a
        scratch folder when ``folder`` is None."""
        sources = sources_of(paths, formats)
        version = version_of(paths)
        if folder is None:
            return cls(_written_scratch(sources), version, scratch=True)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"store-{version}"
        with (folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when the process dies
            if not target.is_dir():
                for stale in folder.glob(".building-*"):  # left by a builder that died holding the lock
                    shutil.rmtree(stale, ignore_errors=True)
                partial = Path(tempfile.mkdtemp(prefix=".building-", dir=folder))
                _write(partial, sources)
                partial.rename(target)
        return cls(target, version)

    @classmethod
    def copy_of(cls, store: ox.Store, version: str) -> DiskStore:
        """A scratch copy of a store built in memory (the query workers cannot reach its memory)."""
        with tempfile.TemporaryDirectory(prefix="ceopgraph-dump-") as folder:
            dump = Path(folder) / "store.nq"
            store.dump(dump, format=ox.RdfFormat.N_QUADS)
            return cls(_written_scratch([(str(dump), "N_QUADS", None)]), version, scratch=True)

    def remove(self) -> None:
        """Remove a scratch copy (only in the process that wrote it: forked server workers inherit this
        object and run the same clean-up code when they exit). A configured folder is kept."""
        if self._remover is not None:
            self._remover()


_WRITER = (
    "import json, sys; from ceopgraph.store.disk import write_store; write_store(sys.argv[1], json.loads(sys.argv[2]))"
)


def _write(path: Path, sources: Sequence[Source]) -> None:
    """Write in a fresh interpreter, not here: RocksDB keeps its background threads after a store
    closes, and a server that forks its workers after writing would hand them a thread pool without
    threads (they abort when they exit)."""
    done = subprocess.run([sys.executable, "-c", _WRITER, str(path), json.dumps(list(sources))], check=False)
    if done.returncode != 0:
        raise OSError(f"writing the store to {path} failed (exit status {done.returncode})")


def write_store(path: str, sources: Sequence[Source]) -> None:
    """The writer process: load the files into a new on-disk store and close it."""
    store = ox.Store(path)
    load_sources(store, sources)
    store.flush()


def _written_scratch(sources: Sequence[Source]) -> Path:
    """A new scratch folder named after this process (``processes.scratch``: those of processes no longer
    running are removed first), holding the written store; nothing is left behind if writing fails."""
    scratch = owned_scratch(_SCRATCH_PREFIX)
    try:
        _write(scratch, sources)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return scratch


def _remove_scratch(path: Path, owner: int) -> None:
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)
