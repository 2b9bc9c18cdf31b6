"""The store of record of the write path: its interface, and the embedded backend, one SQLite database in
the data directory.

It holds what must survive a crash and be shared by every server worker and the command line: token
hashes, sign-in sessions, drafts (their data as canonical N-Quads, their reports and diffs), the
releases and which one is current, the audit records and the write counters of the rate limits. SQLite
gives every process transactions on one file (Oxigraph's RocksDB store admits one writing process, and a
server runs several workers): a write-ahead log with ``synchronous=FULL``, so a committed transaction
survives a SIGKILL or a power cut, and ``BEGIN IMMEDIATE`` for every change, so two writers serialise
on the database's lock instead of interleaving.

``Registry`` is the interface the write path uses, in its own terms (tokens, drafts, releases, audit,
rate budgets); ``RegistryTransaction`` is one atomic change of several steps (a publish, a withdrawal),
opened explicitly with ``Registry.transaction()``. ``SqliteRegistry`` is the embedded implementation;
``releases.postgres.PostgresRegistry`` is the other (``CEOPGRAPH_DATABASE_URL``), and the two modules hold
every SQL statement of the code base: nothing outside them sees a connection. The rows are plain frozen
values (``Token``, ``Draft``, ``Release``, ``AuditRecord``); the rules of who may do what live in
``releases.service``, not here.

A release's dump files are written with its row (``RegistryTransaction.add_release``): SQLite leaves them
in the data directory's release folder, where the publish put them (``Registry.holds_files`` is False);
PostgreSQL stores their bytes in the same transaction, so every replica, whatever its disk, can
materialise them (``Registry.release_files``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

DATABASE_NAME = "registry.sqlite3"
WINDOW_S = 60  # the rate budgets count per minute: the window a time falls in is ``int(t // WINDOW_S)``
SCHEMA_VERSION = 2  # 2: drafts.made_from and drafts.acknowledge, releases.notes (the publisher's release note)
ROLES = ("submitter", "publisher")
# The numbers a release can have: from 1 to SQLite's largest integer (a larger one cannot even be looked up).
RELEASE_NUMBERS = range(1, 1 << 63)

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


def now() -> str:
    """The time of a record: UTC, to the second, ISO 8601 (``xsd:dateTime`` as written)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Token:
    id: str
    name: str
    role: str
    hash: str
    created: str
    revoked: str | None

    def public(self) -> dict[str, Any]:
        """What ``tokens list`` shows: never the hash."""
        return {"id": self.id, "name": self.name, "role": self.role, "created": self.created, "revoked": self.revoked}


@dataclass(frozen=True)
class DraftSummary:
    """A draft without its data, report and diff: what a listing shows and what deciding who may see a
    draft needs. Those blobs grow with the submission (megabytes each), so only ``Draft`` holds them, read
    for the one draft shown, diffed or published."""

    id: str
    owner: str
    status: str
    created: str
    updated: str
    source: str  # the submission's name ("figures.ttl", "the request body")
    triples: int
    conforms: bool
    violations: int
    base_release: int  # the current release when its diff was computed
    release: int | None  # the release it became
    revision: int = 1  # one more at every change of its data or diff: what a publisher reviewed
    made_from: int = 0  # the release it was made from (named at upload, else the one it matches best)
    acknowledge: str = "{}"  # what a publish must acknowledge, and why, as JSON (``changes.Diff.needs``)

    def needs(self) -> dict[str, str]:
        """What a publish of this draft must acknowledge (``changes.ACKNOWLEDGEMENTS``), with why."""
        found: dict[str, str] = json.loads(self.acknowledge)
        return found

    @property
    def version(self) -> str:
        """The draft's version, as its ETag names it and a publish must name it (``If-Match``): its
        revision and the release its diff was against, so a publisher who read a diff against an older
        release has not reviewed what the publish would do."""
        return f"{self.id[:8]}-{self.revision}-r{self.base_release}"


@dataclass(frozen=True, kw_only=True)
class Draft(DraftSummary):
    """A draft with its blobs."""

    nquads: bytes  # its content, as canonical N-Quads
    report: str  # the report as JSON (``Report.to_json``)
    diff: str  # the figure-level diff as JSON (``releases.content.Diff.as_json``)
    changeset: bytes  # the triples added and removed, as TriG with two named graphs


@dataclass(frozen=True)
class Release:
    n: int
    issued: str
    previous: int | None  # the release current when it was published
    draft_id: str | None
    publisher: str  # the token that published it (internal: the public metadata credits the organisation)
    triples: int
    dumps: dict[str, str]  # file name -> sha256
    withdrawn: str | None
    withdrawn_note: str | None
    notes: str | None = None  # the publisher's release note (its version notes); None for the first release


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: str
    agent: str
    action: str
    target: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class Reservation:
    """One unit taken from a rate budget: the key and the window it was taken in (so a refund returns it there)."""

    key: str
    window: int


@dataclass(frozen=True)
class DraftState:
    """Where a draft is in its life: what a publish checks again inside its transaction."""

    status: str
    revision: int


class Conflict(Exception):
    """The state changed under a write that assumed it (a publish after another publish): 409."""


class RegistryUnavailable(Exception):
    """The store of record cannot be reached now (its database is down or unreachable): 503, try again.
    Nothing was written by the call that raised it, unless its commit's answer was what got lost."""


class RegistryTransaction(Protocol):
    """One atomic change of several steps (``Registry.transaction``): every write of it commits, or none.
    While it is open no other writer runs (a publish in another process waits for it)."""

    def current(self) -> int:
        """The current release (0: none yet)."""
        ...

    def next_release(self) -> int:
        """The number the next release takes."""
        ...

    def release_numbers(self) -> set[int]:
        """The numbers of every committed release."""
        ...

    def release(self, n: int) -> Release | None: ...

    def latest_in_force_before(self, n: int) -> int | None:
        """The newest release before ``n`` that is not withdrawn, or None."""
        ...

    def draft_state(self, draft_id: str) -> DraftState | None: ...

    def owner_revoked(self, draft_id: str) -> str | None:
        """When the token that submitted the draft was revoked, or None (live, or the operator's draft)."""
        ...

    def add_release(self, release: Release, files: Mapping[str, bytes]) -> None:
        """Record ``release`` and its dump files (``files``: name -> bytes, the ones ``release.dumps``
        hashes), committed with the rest of the transaction; a backend that does not ``hold_files`` leaves
        them where the publish put them."""
        ...

    def set_current(self, n: int) -> None:
        """Make release ``n`` current and bump the generation (the read path reloads)."""
        ...

    def mark_published(self, draft_id: str, n: int) -> None:
        """The draft became release ``n``."""
        ...

    def withdraw(self, n: int, note: str | None) -> None: ...

    def audit(self, agent: str, action: str, target: str, outcome: str, detail: str = "") -> None: ...


class Registry(Protocol):
    """The store of record of the write path (see the module's docstring). A method that changes
    something is one transaction of its own; a change of several steps is a ``transaction()``."""

    def transaction(self) -> AbstractContextManager[RegistryTransaction]:
        """One atomic change: every write of the block commits, or none (an exception rolls back)."""
        ...

    # The state: the current release and a generation that every publish or withdrawal bumps
    def state(self) -> tuple[int, int]:
        """(current release, generation): the read path reloads when the generation changes."""
        ...

    def snapshot(self) -> tuple[int, int, list[Release]]:
        """(current, generation, every release), read as one consistent state."""
        ...

    # Tokens and sessions
    def add_token(self, token: Token) -> None: ...
    def token(self, token_id: str) -> Token | None: ...
    def tokens(self) -> list[Token]: ...
    def revoke_token(self, token_id: str) -> bool:
        """Revoke a token and end its sessions; False if there is no such token (or it was revoked)."""
        ...

    def add_session(self, digest: str, token_id: str, csrf: str, expires: str) -> None: ...
    def session(self, digest: str) -> tuple[Token, str] | None:
        """The live token and CSRF secret of a session, or None (unknown, expired, or its token revoked)."""
        ...

    def end_session(self, digest: str) -> None: ...

    # Drafts
    def add_draft(self, draft: Draft, *, max_open: int, max_open_per_owner: int) -> None:
        """Insert a draft unless the owner, or everybody, already has as many open drafts as allowed."""
        ...

    def check_room(self, owner: str, *, max_open: int, max_open_per_owner: int) -> None:
        """TooManyDrafts if ``owner`` could not add a draft now."""
        ...

    def draft_summary(self, draft_id: str, owner: str | None) -> DraftSummary | None:
        """The draft if it is not discarded and, when ``owner`` is given, is theirs; None otherwise."""
        ...

    def draft(self, draft_id: str, owner: str | None) -> Draft | None:
        """``draft_summary`` with the draft's blobs."""
        ...

    def drafts(self, owner: str | None = None) -> list[DraftSummary]:
        """Open drafts, newest first: one owner's, or everybody's; never their blobs."""
        ...

    def all_drafts(self) -> list[DraftSummary]: ...
    def replace_draft(self, draft: Draft, expected_revision: int | None = None) -> Draft:
        """Store a draft's new data as its next revision if it is still open (and still at
        ``expected_revision``, when given); Conflict otherwise. The draft as stored."""
        ...

    def owner_revoked(self, draft_id: str) -> str | None: ...
    def discard_draft(self, draft_id: str) -> bool: ...

    # Releases
    def releases(self) -> list[Release]: ...
    def release(self, n: int) -> Release | None: ...

    # Audit and rate limits
    def audit(self, agent: str, action: str, target: str, outcome: str, detail: str = "") -> None: ...
    def audit_records(self) -> list[AuditRecord]: ...
    def window(self) -> int: ...
    def reserve(self, key: str, limit: int) -> Reservation | None:
        """Take one unit of ``key``'s budget of this window if fewer than ``limit`` are taken; None if none is left."""
        ...

    def refund(self, reservation: Reservation) -> None: ...
    def count_write(self, budgets: tuple[tuple[str, int], ...]) -> str | None:
        """Count one write against each (key, limit) budget of this window; the first key at its limit, or None."""
        ...

    # Export and import
    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of one exported table, in key order, as the export writes it."""
        ...

    def is_empty(self) -> bool: ...
    def load_rows(
        self, tables: dict[str, list[list[Any]]], meta: dict[str, str], files: Mapping[int, Mapping[str, bytes]]
    ) -> None:
        """Put exported rows back, in one transaction (import into an empty registry); ``files``: each
        release's dump files, checked already, for a backend that ``holds_files``."""
        ...

    def meta(self) -> dict[str, str]: ...

    # Release files and the backend's resources
    def holds_files(self) -> bool:
        """Whether the release files' bytes are kept here (so a data directory may have to fetch them)."""
        ...

    def release_files(self, n: int) -> dict[str, bytes] | None:
        """Release ``n``'s dump files as recorded with it; None if this backend does not hold files."""
        ...

    def close(self) -> None:
        """Let go of connections (a pool's); the registry is not used again."""
        ...


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
        return _release(row) if row else None

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
            releases = [_release(row) for row in db.execute("SELECT * FROM releases ORDER BY n").fetchall()]
            db.execute("COMMIT")
        return int(rows["current"]), int(rows["generation"]), releases

    # Tokens and sessions -----------------------------------------------------------------------------

    def add_token(self, token: Token) -> None:
        with self._writing() as db:
            db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)", _token_row(token))

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
            marks = ", ".join("?" * len(_draft_row(draft)))
            db.execute(f"INSERT INTO drafts VALUES ({marks})", _draft_row(draft))  # noqa: S608 (marks only)

    def check_room(self, owner: str, *, max_open: int, max_open_per_owner: int) -> None:
        """TooManyDrafts if ``owner`` could not add a draft now (before the work of preparing one; the
        insert checks again)."""
        with self._connection() as db:
            _check_room(db, owner, max_open, max_open_per_owner)

    def draft_summary(self, draft_id: str, owner: str | None) -> DraftSummary | None:
        """The draft ``draft_id`` if it is not discarded and, when ``owner`` is given, is theirs; None
        otherwise. One query by id and owner, so a draft of somebody else's costs what an unknown id does."""
        sql = f"SELECT {_SUMMARY} FROM drafts WHERE {_VISIBLE}"  # noqa: S608 (our constants; values bound)
        row = self._one(sql, (draft_id, owner, owner))
        return _summary(row) if row else None

    def draft(self, draft_id: str, owner: str | None) -> Draft | None:
        """``draft_summary`` with the draft's blobs: for the one draft shown, diffed or published."""
        sql = f"SELECT {_SUMMARY}, {_BLOBS} FROM drafts WHERE {_VISIBLE}"  # noqa: S608 (our constants)
        row = self._one(sql, (draft_id, owner, owner))
        return _draft(row) if row else None

    def drafts(self, owner: str | None = None) -> list[DraftSummary]:
        """Open drafts, newest first: one owner's, or everybody's; never their blobs (a publisher's list
        of 200 drafts would otherwise read them all)."""
        sql = f"SELECT {_SUMMARY} FROM drafts WHERE status = 'open' AND (? IS NULL OR owner = ?) "  # noqa: S608
        rows = self._all(sql + "ORDER BY created DESC, id", (owner, owner))
        return [_summary(row) for row in rows]

    def all_drafts(self) -> list[DraftSummary]:
        sql = f"SELECT {_SUMMARY} FROM drafts ORDER BY created, id"  # noqa: S608 (our constants)
        return [_summary(row) for row in self._all(sql)]

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
                (*_draft_row(draft)[4:14], draft.made_from, draft.acknowledge, draft.id),  # the table's order
            )
            sql = f"SELECT {_SUMMARY}, {_BLOBS} FROM drafts WHERE id = ?"  # noqa: S608 (our constants)
            stored = db.execute(sql, (draft.id,)).fetchone()
        return _draft(stored)

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
        return [_release(row) for row in self._all("SELECT * FROM releases ORDER BY n")]

    def release(self, n: int) -> Release | None:
        """Release ``n``, or None (a number no release can have, past SQLite's integers, included)."""
        if n not in RELEASE_NUMBERS:
            return None
        row = self._one("SELECT * FROM releases WHERE n = ?", (n,))
        return _release(row) if row else None

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
        if table not in _EXPORTED:
            raise ValueError(table)
        return self._all(f"SELECT * FROM {table} ORDER BY {_EXPORTED[table]}")  # noqa: S608 (names from _EXPORTED)

    def is_empty(self) -> bool:
        return not any(self._all(f"SELECT 1 FROM {table} LIMIT 1") for table in _EXPORTED)  # noqa: S608

    def load_rows(
        self, tables: dict[str, list[list[Any]]], meta: dict[str, str], files: Mapping[int, Mapping[str, bytes]]
    ) -> None:
        """Put exported rows back, in one transaction (import into an empty registry); the release files
        are the data directory's, written there by the import."""
        with self._writing() as db:
            for table, rows in tables.items():
                if table not in _EXPORTED:
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


class TooManyDrafts(Exception):
    """The open-draft count limit (per submitter, or for the service): 429."""


# Tables an export holds (sessions and rate counters are transient), with their key order.
_EXPORTED = {"tokens": "id", "drafts": "id", "releases": "n", "audit": "id"}


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


def _token_row(token: Token) -> tuple[Any, ...]:
    return (token.id, token.name, token.role, token.hash, token.created, token.revoked)


def _draft_row(draft: Draft) -> tuple[Any, ...]:
    return (
        draft.id,
        draft.owner,
        draft.status,
        draft.created,
        draft.updated,
        draft.source,
        draft.nquads,
        draft.triples,
        int(draft.conforms),
        draft.violations,
        draft.report,
        draft.base_release,
        draft.diff,
        draft.changeset,
        draft.release,
        draft.revision,
        draft.made_from,
        draft.acknowledge,
    )


# A draft's columns: its summary (``DraftSummary``'s fields, in order), then its blobs (``Draft``'s own).
_SUMMARY_COLUMNS = tuple(f.name for f in fields(DraftSummary))
_BLOB_COLUMNS = tuple(f.name for f in fields(Draft) if f.name not in _SUMMARY_COLUMNS)
_SUMMARY = ", ".join(_SUMMARY_COLUMNS)
_BLOBS = ", ".join(_BLOB_COLUMNS)
# A draft by id that is not discarded and is the owner's (the owner bound twice; NULL: anybody's).
_VISIBLE = "id = ? AND status != 'discarded' AND (? IS NULL OR owner = ?)"


def _summary(row: tuple[Any, ...]) -> DraftSummary:
    values = dict(zip(_SUMMARY_COLUMNS, row, strict=True))
    return DraftSummary(**{**values, "conforms": bool(values["conforms"])})


def _draft(row: tuple[Any, ...]) -> Draft:
    summary = _summary(row[: len(_SUMMARY_COLUMNS)])
    blobs = dict(zip(_BLOB_COLUMNS, row[len(_SUMMARY_COLUMNS) :], strict=True))
    return Draft(**{f.name: getattr(summary, f.name) for f in fields(DraftSummary)}, **blobs)


def _release(row: tuple[Any, ...]) -> Release:
    values = list(row)
    values[6] = json.loads(values[6])
    return Release(*values)
