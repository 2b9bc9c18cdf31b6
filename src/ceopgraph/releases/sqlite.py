"""The embedded store of record: ``Registry`` in one SQLite database in the data directory.

SQLite gives every process transactions on one file (Oxigraph's RocksDB store admits one writing
process, and a server runs several workers): a write-ahead log with ``synchronous=FULL``, so a committed
transaction survives a SIGKILL or a power cut, and ``BEGIN IMMEDIATE`` for every change, so two writers
serialise on the database's lock instead of interleaving. The release files stay in the data
directory's folders (``holds_files`` is False): they are the files of record.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from ceopgraph import search
from ceopgraph.releases.registry import SCHEMA_VERSION
from ceopgraph.releases.sqlcore import Connection, SqlRegistry, SqlTransaction

DATABASE_NAME = "registry.sqlite3"

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('submitter', 'publisher')),
    hash TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY, token_id TEXT NOT NULL REFERENCES tokens(id), csrf TEXT NOT NULL,
    created TEXT NOT NULL, expires TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drafts (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'published', 'discarded')),
    created TEXT NOT NULL, updated TEXT NOT NULL, source TEXT NOT NULL, nquads BLOB NOT NULL,
    triples INTEGER NOT NULL, conforms INTEGER NOT NULL, violations INTEGER NOT NULL, report TEXT NOT NULL,
    base_release INTEGER NOT NULL, diff TEXT NOT NULL, changeset BLOB NOT NULL, release INTEGER,
    revision INTEGER NOT NULL, made_from INTEGER NOT NULL DEFAULT 0, acknowledge TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS releases (
    n INTEGER PRIMARY KEY, issued TEXT NOT NULL, previous INTEGER, draft_id TEXT, publisher TEXT NOT NULL,
    triples INTEGER NOT NULL, dumps TEXT NOT NULL, withdrawn TEXT, withdrawn_note TEXT, notes TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, agent TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rate (key TEXT NOT NULL, window INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (key, window));
"""
    + """
CREATE TABLE IF NOT EXISTS search_docs (
    id INTEGER PRIMARY KEY, release_n INTEGER NOT NULL, iri TEXT NOT NULL, label TEXT NOT NULL,
    label_key TEXT NOT NULL, types TEXT NOT NULL, names TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS search_docs_release ON search_docs (release_n);
CREATE TABLE IF NOT EXISTS search_types (release_n INTEGER NOT NULL, type TEXT NOT NULL, doc INTEGER NOT NULL,
    PRIMARY KEY (release_n, type, doc));
CREATE INDEX IF NOT EXISTS search_types_doc ON search_types (doc);
CREATE TABLE IF NOT EXISTS search_built (release_n INTEGER PRIMARY KEY, docs INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
    names, body, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
)
# The search index's tables (derived, never exported: ``CREATE … IF NOT EXISTS`` adds them to an older registry).
# FTS5 keeps the folded text (``search.fold``) it indexes, ``search_docs`` the text as written, for snippets.
_SEARCH_SCHEMA = _SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS search_docs") :]


class _SqliteTransaction(SqlTransaction):
    """``RegistryTransaction`` over one SQLite connection inside ``BEGIN IMMEDIATE``; the release files
    are in the release's folder, moved there in the same transaction, so ``add_release`` writes the row."""

    def columns(self, table: str) -> list[str]:
        return _columns(self.db, table)

    def run_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        cast(sqlite3.Connection, self.db).executemany(sql, rows)

    def matching(self, n: int, query: search.SearchQuery) -> tuple[str, tuple[Any, ...]]:
        """FTS5's match of the words as quoted strings (``search.fts5_match``), names weighing ten times
        the body; bm25 is lower for better, so its negation is the relevance."""
        return (
            "SELECT rowid AS id, -bm25(search_fts, 10.0, 1.0) AS relevance FROM search_fts WHERE search_fts MATCH ?",
            (search.fts5_match(query),),
        )

    def _insert_docs(self, n: int, rows: Sequence[tuple[int, search.Document]]) -> None:
        self.run_many("INSERT INTO search_docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._doc_rows(n, rows))
        self.run_many(
            "INSERT INTO search_fts (rowid, names, body) VALUES (?, ?, ?)",
            [(i, d.folded_names, d.folded_body) for i, d in rows],
        )

    def _drop_text(self, n: int) -> None:
        self.run("DELETE FROM search_fts WHERE rowid IN (SELECT id FROM search_docs WHERE release_n = ?)", (n,))


class SqliteRegistry(SqlRegistry):
    """``Registry`` in the SQLite database in ``folder``; a connection per operation, so threads and
    processes share nothing.

    ``clock`` (seconds since the epoch) places the rate budgets' windows: the wall clock, or a test's own,
    so a test turns the minute without waiting for it."""

    def __init__(self, folder: Path, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.folder = folder
        self.path = folder / DATABASE_NAME
        folder.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            db.executescript(_SCHEMA)
            _migrate(db)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            db.execute("INSERT OR IGNORE INTO meta VALUES ('current', '0')")
            db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def _transaction_of(self, db: Connection) -> _SqliteTransaction:
        return _SqliteTransaction(db)

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTransaction]:
        """One atomic change: every write of the block commits, or none (an exception rolls back)."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[_SqliteTransaction]:
        """A deferred transaction: its reads see one state of the write-ahead log."""
        with self._connection() as db:
            db.execute("BEGIN")
            yield _SqliteTransaction(db)
            db.execute("COMMIT")

    def holds_files(self) -> bool:
        """No: the data directory holds them (``releases/{n}/``), as it always did."""
        return False

    def release_files(self, n: int) -> dict[str, bytes] | None:
        return None

    def _load_files(self, tx: SqlTransaction, files: Mapping[int, Mapping[str, bytes]]) -> None:
        """Nothing: the import writes the release files into the data directory itself."""

    def close(self) -> None:
        """Nothing to let go of: a connection per operation."""


def _columns(db: Connection, table: str) -> list[str]:
    """A table's column names, in order (``table`` is one of our own constants)."""
    return [str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")]


# Columns added since schema 1, with their definitions: added to a registry made before them.
_ADDED_COLUMNS = (
    ("drafts", "made_from", "INTEGER NOT NULL DEFAULT 0"),
    ("drafts", "acknowledge", "TEXT NOT NULL DEFAULT '{}'"),
    ("releases", "notes", "TEXT"),
)


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a registry of an older schema to this one, in place (``CREATE TABLE IF NOT EXISTS`` leaves an
    existing table as it was): the columns added since, then the schema number. A draft from before knew
    no base: it is taken to be made from the release it was diffed against; a release had no note."""
    db.execute("BEGIN IMMEDIATE")  # one process migrates; the others then find the columns
    try:
        for table, column, definition in _ADDED_COLUMNS:
            if column not in _columns(db, table):
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
                if column == "made_from":
                    db.execute("UPDATE drafts SET made_from = base_release")
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class MemorySearch:
    """A search index of data that is no release (the embedded default without a data directory, a
    draft's preview): the registry's tables and statements in one in-memory SQLite database, made once
    for the data it is given and read by any thread (a lock around each use)."""

    def __init__(self, docs: Sequence[search.Document]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.executescript(_SEARCH_SCHEMA)
        with self._lock:
            self._db.execute("BEGIN")
            _SqliteTransaction(self._db).index_search(0, docs)
            self._db.execute("COMMIT")

    def search(self, query: search.SearchQuery) -> search.SearchPage:
        with self._lock:
            return _SqliteTransaction(self._db).search(0, query)

    def close(self) -> None:
        with self._lock:
            self._db.close()
