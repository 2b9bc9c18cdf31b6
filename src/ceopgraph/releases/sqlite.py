"""The embedded store of record: ``Registry`` in one SQLite database in the data directory.

SQLite gives every process transactions on one file (Oxigraph's RocksDB store admits one writing
process, and a server runs several workers): a write-ahead log with ``synchronous=FULL``, so a committed
transaction survives a SIGKILL or a power cut, and ``BEGIN IMMEDIATE`` for every change, so two writers
serialise on the database's lock instead of interleaving. The release files stay in the data
directory's folders (``holds_files`` is False): they are the files of record.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ceopgraph.releases.registry import (
    BLOBS,
    EXPORTED,
    RELEASE_NUMBERS,
    SCHEMA_VERSION,
    SUMMARY,
    WINDOW_S,
    AuditRecord,
    Conflict,
    Draft,
    DraftState,
    DraftSummary,
    Release,
    Reservation,
    Token,
    TooManyDrafts,
    draft_from_row,
    draft_row,
    now,
    release_from_row,
    summary_from_row,
    token_row,
)

DATABASE_NAME = "registry.sqlite3"

_SCHEMA = """
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


class _SqliteTransaction:
    """``RegistryTransaction`` over one SQLite connection inside ``BEGIN IMMEDIATE``."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def current(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'current'").fetchone()[0])

    def next_release(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM releases").fetchone()[0])

    def release_numbers(self) -> set[int]:
        return {int(row[0]) for row in self._db.execute("SELECT n FROM releases")}

    def release(self, n: int) -> Release | None:
        if n not in RELEASE_NUMBERS:
            return None
        row = self._db.execute("SELECT * FROM releases WHERE n = ?", (n,)).fetchone()
        return release_from_row(row) if row else None

    def latest_in_force_before(self, n: int) -> int | None:
        row = self._db.execute("SELECT MAX(n) FROM releases WHERE n < ? AND withdrawn IS NULL", (n,)).fetchone()
        return None if row[0] is None else int(row[0])

    def draft_state(self, draft_id: str) -> DraftState | None:
        row = self._db.execute("SELECT status, revision FROM drafts WHERE id = ?", (draft_id,)).fetchone()
        return DraftState(row[0], row[1]) if row else None

    def owner_revoked(self, draft_id: str) -> str | None:
        row = self._db.execute(
            "SELECT t.revoked FROM drafts d JOIN tokens t ON t.id = d.owner WHERE d.id = ?", (draft_id,)
        ).fetchone()
        return row[0] if row else None

    def add_release(self, release: Release, files: Mapping[str, bytes]) -> None:
        """The row only: the files are in the release's folder, moved there in this transaction."""
        self._db.execute(
            "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                release.n,
                release.issued,
                release.previous,
                release.draft_id,
                release.publisher,
                release.triples,
                json.dumps(release.dumps, sort_keys=True),
                release.withdrawn,
                release.withdrawn_note,
                release.notes,
            ),
        )

    def set_current(self, n: int) -> None:
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'current'", (str(n),))
        self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    def mark_published(self, draft_id: str, n: int) -> None:
        self._db.execute("UPDATE drafts SET status = 'published', release = ? WHERE id = ?", (n, draft_id))

    def withdraw(self, n: int, note: str | None) -> None:
        self._db.execute("UPDATE releases SET withdrawn = ?, withdrawn_note = ? WHERE n = ?", (now(), note, n))

    def audit(self, agent: str, action: str, target: str, outcome: str, detail: str = "") -> None:
        self._db.execute(
            "INSERT INTO audit (at, agent, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (now(), agent, action, target, outcome, detail),
        )

    # For the registry's own single-step writes.
    @property
    def db(self) -> sqlite3.Connection:
        return self._db


class SqliteRegistry:
    """``Registry`` in the SQLite database in ``folder``; a connection per operation, so threads and
    processes share nothing.

    ``clock`` (seconds since the epoch) places the rate budgets' windows: the wall clock, or a test's own,
    so a test turns the minute without waiting for it."""

    def __init__(self, folder: Path, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self._clock = clock
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
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection of one single-step write (its own transaction)."""
        with self.transaction() as tx:
            yield tx.db

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._connection() as db:
            row: tuple[Any, ...] | None = db.execute(sql, args).fetchone()
            return row

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as db:
            return list(db.execute(sql, args).fetchall())

    # The state: the current release and a generation that every publish or withdrawal bumps ----------

    def state(self) -> tuple[int, int]:
        """(current release, generation): the read path reloads when the generation changes."""
        rows = dict(self._all("SELECT key, value FROM meta WHERE key IN ('current', 'generation')"))
        return int(rows["current"]), int(rows["generation"])

    def snapshot(self) -> tuple[int, int, list[Release]]:
        """(current, generation, every release), read in one transaction: one consistent state."""
        with self._connection() as db:
            db.execute("BEGIN")
            rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('current', 'generation')").fetchall())
            releases = [release_from_row(row) for row in db.execute("SELECT * FROM releases ORDER BY n").fetchall()]
            db.execute("COMMIT")
        return int(rows["current"]), int(rows["generation"]), releases

    # Tokens and sessions -----------------------------------------------------------------------------

    def add_token(self, token: Token) -> None:
        with self._writing() as db:
            db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)", token_row(token))

    def token(self, token_id: str) -> Token | None:
        row = self._one("SELECT * FROM tokens WHERE id = ?", (token_id,))
        return Token(*row) if row else None

    def tokens(self) -> list[Token]:
        return [Token(*row) for row in self._all("SELECT * FROM tokens ORDER BY created, id")]

    def revoke_token(self, token_id: str) -> bool:
        """Revoke a token and end its sessions; False if there is no such token (or it was revoked)."""
        with self._writing() as db:
            changed = db.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", (now(), token_id)
            ).rowcount
            db.execute("DELETE FROM sessions WHERE token_id = ?", (token_id,))
        return bool(changed)

    def add_session(self, digest: str, token_id: str, csrf: str, expires: str) -> None:
        with self._writing() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (now(),))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (digest, token_id, csrf, now(), expires))

    def session(self, digest: str) -> tuple[Token, str] | None:
        """The live token and CSRF secret of a session, or None (unknown, expired, or its token revoked)."""
        row = self._one(
            "SELECT t.*, s.csrf FROM sessions s JOIN tokens t ON t.id = s.token_id "
            "WHERE s.digest = ? AND s.expires > ? AND t.revoked IS NULL",
            (digest, now()),
        )
        return (Token(*row[:6]), row[6]) if row else None

    def end_session(self, digest: str) -> None:
        with self._writing() as db:
            db.execute("DELETE FROM sessions WHERE digest = ?", (digest,))

    # Drafts ----------------------------------------------------------------------------------------

    def add_draft(self, draft: Draft, *, max_open: int, max_open_per_owner: int) -> None:
        """Insert a draft unless the owner, or everybody, already has as many open drafts as allowed."""
        with self._writing() as db:
            _check_room(db, draft.owner, max_open, max_open_per_owner)
            marks = ", ".join("?" * len(draft_row(draft)))
            db.execute(f"INSERT INTO drafts VALUES ({marks})", draft_row(draft))  # noqa: S608 (marks only)

    def check_room(self, owner: str, *, max_open: int, max_open_per_owner: int) -> None:
        """TooManyDrafts if ``owner`` could not add a draft now (before the work of preparing one; the
        insert checks again)."""
        with self._connection() as db:
            _check_room(db, owner, max_open, max_open_per_owner)

    def draft_summary(self, draft_id: str, owner: str | None) -> DraftSummary | None:
        """The draft ``draft_id`` if it is not discarded and, when ``owner`` is given, is theirs; None
        otherwise. One query by id and owner, so a draft of somebody else's costs what an unknown id does."""
        sql = f"SELECT {SUMMARY} FROM drafts WHERE {_VISIBLE}"  # noqa: S608 (our constants; values bound)
        row = self._one(sql, (draft_id, owner, owner))
        return summary_from_row(row) if row else None

    def draft(self, draft_id: str, owner: str | None) -> Draft | None:
        """``draft_summary`` with the draft's blobs: for the one draft shown, diffed or published."""
        sql = f"SELECT {SUMMARY}, {BLOBS} FROM drafts WHERE {_VISIBLE}"  # noqa: S608 (our constants)
        row = self._one(sql, (draft_id, owner, owner))
        return draft_from_row(row) if row else None

    def drafts(self, owner: str | None = None) -> list[DraftSummary]:
        """Open drafts, newest first: one owner's, or everybody's; never their blobs (a publisher's list
        of 200 drafts would otherwise read them all)."""
        sql = f"SELECT {SUMMARY} FROM drafts WHERE status = 'open' AND (? IS NULL OR owner = ?) "  # noqa: S608
        rows = self._all(sql + "ORDER BY created DESC, id", (owner, owner))
        return [summary_from_row(row) for row in rows]

    def all_drafts(self) -> list[DraftSummary]:
        sql = f"SELECT {SUMMARY} FROM drafts ORDER BY created, id"  # noqa: S608 (our constants)
        return [summary_from_row(row) for row in self._all(sql)]

    def replace_draft(self, draft: Draft, expected_revision: int | None = None) -> Draft:
        """Store a draft's new data, report and diff as its next revision, if it is still open (and still
        at ``expected_revision``, when given); Conflict otherwise. The draft as stored."""
        with self._writing() as db:
            row = db.execute("SELECT status, revision FROM drafts WHERE id = ?", (draft.id,)).fetchone()
            if row is None or row[0] != "open":
                raise Conflict(f"draft {draft.id} is no longer open")
            if expected_revision is not None and row[1] != expected_revision:
                raise Conflict(f"draft {draft.id} changed meanwhile")
            db.execute(
                "UPDATE drafts SET updated = ?, source = ?, nquads = ?, triples = ?, conforms = ?, violations = ?, "
                "report = ?, base_release = ?, diff = ?, changeset = ?, revision = revision + 1, made_from = ?, "
                "acknowledge = ? WHERE id = ?",
                (*draft_row(draft)[4:14], draft.made_from, draft.acknowledge, draft.id),  # the table's order
            )
            sql = f"SELECT {SUMMARY}, {BLOBS} FROM drafts WHERE id = ?"  # noqa: S608 (our constants)
            stored = db.execute(sql, (draft.id,)).fetchone()
        return draft_from_row(stored)

    def owner_revoked(self, draft_id: str) -> str | None:
        """When the token that submitted the draft was revoked, or None (live, or the operator's draft)."""
        with self._connection() as db:
            return _SqliteTransaction(db).owner_revoked(draft_id)

    def discard_draft(self, draft_id: str) -> bool:
        with self._writing() as db:
            return bool(
                db.execute(
                    "UPDATE drafts SET status = 'discarded', nquads = x'', changeset = x'', updated = ? "
                    "WHERE id = ? AND status = 'open'",
                    (now(), draft_id),
                ).rowcount
            )

    # Releases --------------------------------------------------------------------------------------

    def releases(self) -> list[Release]:
        return [release_from_row(row) for row in self._all("SELECT * FROM releases ORDER BY n")]

    def release(self, n: int) -> Release | None:
        """Release ``n``, or None (a number no release can have, past SQLite's integers, included)."""
        if n not in RELEASE_NUMBERS:
            return None
        row = self._one("SELECT * FROM releases WHERE n = ?", (n,))
        return release_from_row(row) if row else None

    # Audit and rate limits ---------------------------------------------------------------------------

    def audit(self, agent: str, action: str, target: str, outcome: str, detail: str = "") -> None:
        with self.transaction() as tx:
            tx.audit(agent, action, target, outcome, detail)

    def audit_records(self) -> list[AuditRecord]:
        return [AuditRecord(*row) for row in self._all("SELECT * FROM audit ORDER BY id")]

    def window(self) -> int:
        """The window the per-minute budgets count in now, by this registry's clock."""
        return int(self._clock() // WINDOW_S)

    def reserve(self, key: str, limit: int) -> Reservation | None:
        """Take one unit of ``key``'s budget of this window if fewer than ``limit`` are taken; None if none
        is left. One conditional write in one transaction: however many callers race (threads, workers),
        at most ``limit`` units are taken per window, each before the work it pays for."""
        window = self.window()
        with self._writing() as db:
            db.execute("DELETE FROM rate WHERE window < ?", (window - 1,))
            taken = db.execute(
                "INSERT INTO rate SELECT ?, ?, 1 WHERE ? > 0 "
                "ON CONFLICT (key, window) DO UPDATE SET count = count + 1 WHERE count < ?",
                (key, window, limit, limit),
            ).rowcount
        return Reservation(key, window) if taken else None

    def refund(self, reservation: Reservation) -> None:
        """Give back a unit ``reserve`` took (the work it paid for turned out not to count)."""
        with self._writing() as db:
            db.execute(
                "UPDATE rate SET count = count - 1 WHERE key = ? AND window = ? AND count > 0",
                (reservation.key, reservation.window),
            )

    def count_write(self, budgets: tuple[tuple[str, int], ...]) -> str | None:
        """Count one write against each (key, limit) budget of this window; the first key at its limit
        (the write is then refused and not counted), or None. Checked and counted in one transaction,
        shared by every worker: one database."""
        window = self.window()
        with self._writing() as db:
            db.execute("DELETE FROM rate WHERE window < ?", (window - 1,))
            for key, limit in budgets:
                row = db.execute("SELECT count FROM rate WHERE key = ? AND window = ?", (key, window)).fetchone()
                if row is not None and row[0] >= limit:
                    return key
            for key, _ in budgets:
                db.execute(
                    "INSERT INTO rate VALUES (?, ?, 1) ON CONFLICT (key, window) DO UPDATE SET count = count + 1",
                    (key, window),
                )
        return None

    # Export and import ---------------------------------------------------------------------------

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of one table, in key order (export)."""
        if table not in EXPORTED:
            raise ValueError(table)
        return self._all(f"SELECT * FROM {table} ORDER BY {EXPORTED[table]}")  # noqa: S608 (names from EXPORTED)

    def is_empty(self) -> bool:
        return not any(self._all(f"SELECT 1 FROM {table} LIMIT 1") for table in EXPORTED)  # noqa: S608

    def load_rows(
        self, tables: dict[str, list[list[Any]]], meta: dict[str, str], files: Mapping[int, Mapping[str, bytes]]
    ) -> None:
        """Put exported rows back, in one transaction (import into an empty registry); the release files
        are the data directory's, written there by the import."""
        with self._writing() as db:
            for table, rows in tables.items():
                if table not in EXPORTED:
                    raise ValueError(f"unknown table {table!r}")
                # By name, in the table's order: an export of an older schema has fewer (trailing) columns.
                names = ", ".join(_columns(db, table)[: len(rows[0])] if rows else ())
                for row in rows:
                    marks = ", ".join("?" * len(row))
                    db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row))  # noqa: S608
            for key, value in meta.items():
                if key != "schema":  # the schema is this database's, whatever the export's was
                    db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))

    def meta(self) -> dict[str, str]:
        return dict(self._all("SELECT key, value FROM meta ORDER BY key"))

    def holds_files(self) -> bool:
        """No: the data directory holds them (``releases/{n}/``), as it always did."""
        return False

    def release_files(self, n: int) -> dict[str, bytes] | None:
        return None

    def close(self) -> None:
        """Nothing to let go of: a connection per operation."""


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
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


def _check_room(db: sqlite3.Connection, owner: str, max_open: int, max_open_per_owner: int) -> None:
    total = db.execute("SELECT COUNT(*) FROM drafts WHERE status = 'open'").fetchone()[0]
    own = db.execute("SELECT COUNT(*) FROM drafts WHERE status = 'open' AND owner = ?", (owner,)).fetchone()[0]
    if own >= max_open_per_owner:
        raise TooManyDrafts(f"you have {own} open drafts, the most one submitter may have; discard one first")
    if total >= max_open:
        raise TooManyDrafts(f"there are {total} open drafts, the most this service holds; try again later")


# A draft by id that is not discarded and is the owner's (the owner bound twice; NULL: anybody's).
_VISIBLE = "id = ? AND status != 'discarded' AND (? IS NULL OR owner = ?)"
