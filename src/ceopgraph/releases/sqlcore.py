"""The SQL both registries share: every statement and row mapping of ``Registry``, written once.

``SqliteRegistry`` and ``PostgresRegistry`` keep the same tables with the same semantics, so their
statements for tokens, sessions, drafts, releases, audit records, rate budgets and export rows are the
same text; written twice, a fix to one would silently miss the other. They are written here once, in
SQL both dialects accept, with ``?`` for each bound value; a backend's driver that wants another mark
gets it from ``placeholders`` (our own constants only: no statement here holds a ``?`` or a ``%`` of its
own). A backend supplies only what truly differs: its connections and transactions, how a writer takes
the lock, a consistent read, its schema and migrations, a table's columns, and where release files go.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ceopgraph import search
from ceopgraph.releases.registry import (
    BLOBS,
    EXPORTED,
    RELEASE_NUMBERS,
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


class Cursor(Protocol):
    """What the shared code reads of a statement's result (``sqlite3``'s and psycopg's cursors alike)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection as the shared code uses it: one statement with its bound values."""

    def execute(self, sql: str, params: tuple[Any, ...] = ..., /) -> Cursor: ...


def placeholders(sql: str, mark: str) -> str:
    """``sql`` with each ``?`` written as ``mark`` (``%s`` for psycopg); the statements are our constants.

    A ``%`` is refused: psycopg would read it as the start of a placeholder, so a shared statement must
    not hold one (none does; this keeps it so)."""
    if "%" in sql:
        raise ValueError(f"a shared statement holds a '%': {sql!r}")
    return sql.replace("?", mark)


# A draft by id that is not discarded and is the owner's (the owner bound twice; NULL: anybody's). The
# cast tells PostgreSQL the type of a NULL it is asked about; SQLite reads it the same.
_VISIBLE = "id = ? AND status != 'discarded' AND (CAST(? AS TEXT) IS NULL OR owner = ?)"
_STATE = "SELECT key, value FROM meta WHERE key IN ('current', 'generation')"


class SqlTransaction:
    """``RegistryTransaction`` over one connection inside a transaction that holds the writers' lock;
    also the shared statements of the registry's own single-step writes and reads."""

    mark = "?"  # the driver's placeholder

    def __init__(self, db: Connection) -> None:
        self.db = db

    def run(self, sql: str, args: tuple[Any, ...] = ()) -> Cursor:
        return self.db.execute(placeholders(sql, self.mark), args)

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.run(sql, args).fetchone()
        return row

    def all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self.run(sql, args).fetchall())

    def columns(self, table: str) -> list[str]:
        """A table's column names, in order (``table`` is one of our own constants): the dialect's."""
        raise NotImplementedError

    def current(self) -> int:
        row = self.one("SELECT value FROM meta WHERE key = 'current'")
        assert row is not None
        return int(row[0])

    def next_release(self) -> int:
        row = self.one("SELECT COALESCE(MAX(n), 0) + 1 FROM releases")
        assert row is not None
        return int(row[0])

    def release_numbers(self) -> set[int]:
        return {int(row[0]) for row in self.run("SELECT n FROM releases")}

    def release(self, n: int) -> Release | None:
        """Release ``n``, or None (a number no release can have, past the databases' integers, included)."""
        if n not in RELEASE_NUMBERS:
            return None
        row = self.one("SELECT * FROM releases WHERE n = ?", (n,))
        return release_from_row(row) if row else None

    def latest_in_force_before(self, n: int) -> int | None:
        row = self.one("SELECT MAX(n) FROM releases WHERE n < ? AND withdrawn IS NULL", (n,))
        return None if row is None or row[0] is None else int(row[0])

    def draft_state(self, draft_id: str) -> DraftState | None:
        row = self.one("SELECT status, revision FROM drafts WHERE id = ?", (draft_id,))
        return DraftState(row[0], row[1]) if row else None

    def owner_revoked(self, draft_id: str) -> str | None:
        """When the token that submitted the draft was revoked, or None (live, or the operator's draft)."""
        row = self.one("SELECT t.revoked FROM drafts d JOIN tokens t ON t.id = d.owner WHERE d.id = ?", (draft_id,))
        return row[0] if row else None

    def add_release(self, release: Release, files: Mapping[str, bytes]) -> None:
        """The release's row; a backend that keeps the files stores them too."""
        self.run(
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
        self.run("UPDATE meta SET value = ? WHERE key = 'current'", (str(n),))
        self.run("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'generation'")

    def mark_published(self, draft_id: str, n: int) -> None:
        self.run("UPDATE drafts SET status = 'published', release = ? WHERE id = ?", (n, draft_id))

    def withdraw(self, n: int, note: str | None) -> None:
        self.run("UPDATE releases SET withdrawn = ?, withdrawn_note = ? WHERE n = ?", (now(), note, n))

    def audit(self, agent: str, action: str, target: str, outcome: str, detail: str = "") -> None:
        self.run(
            "INSERT INTO audit (at, agent, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (now(), agent, action, target, outcome, detail),
        )

    # The search index: rows keyed by release, so a search reads one release's rows and no other's -------

    def run_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """One statement for each of ``rows`` (a batch: an index has a row per resource)."""
        for row in rows:
            self.run(sql, row)

    def matching(self, n: int, query: search.SearchQuery) -> tuple[str, tuple[Any, ...]]:
        """The dialect's full-text match: a SELECT of (id, relevance) of release ``n``'s documents that
        hold every word of ``query`` (higher relevance is better), and its bound values. Built from the
        query's words only (``search.fts5_match``, ``search.tsquery_words``), never from its text."""
        raise NotImplementedError

    def _insert_docs(self, n: int, rows: Sequence[tuple[int, search.Document]]) -> None:
        """Release ``n``'s documents with their ids, and the dialect's full-text rows of them."""
        raise NotImplementedError

    def _doc_rows(self, n: int, rows: Sequence[tuple[int, search.Document]]) -> list[tuple[Any, ...]]:
        """The values of ``search_docs``' shared columns, in order."""
        return [(i, n, d.iri, d.label, d.label_key, " ".join(d.types), d.names, d.body) for i, d in rows]

    def _drop_text(self, n: int) -> None:
        """The dialect's full-text rows of release ``n`` removed (before its ``search_docs`` rows)."""

    def search_indexed(self, n: int) -> bool:
        return self.one("SELECT docs FROM search_built WHERE release_n = ?", (n,)) is not None

    def index_search(self, n: int, docs: Sequence[search.Document]) -> None:
        """Release ``n``'s index made from ``docs``, replacing any it had (a rebuild is the same rows). Ids
        are ``n * DOC_IDS + i``: unique across releases without asking the database for them."""
        self.drop_search(n)
        base = n * search.DOC_IDS
        numbered = [(base + i, doc) for i, doc in enumerate(docs)]
        self._insert_docs(n, numbered)
        self.run_many(
            "INSERT INTO search_types (release_n, type, doc) VALUES (?, ?, ?)",
            [(n, t, i) for i, d in numbered for t in d.types],
        )
        self.run("INSERT INTO search_built (release_n, docs) VALUES (?, ?)", (n, len(docs)))
        self._indexed()

    def _indexed(self) -> None:
        """What the dialect does once a release's index is written (PostgreSQL: fresh statistics)."""

    def drop_search(self, n: int) -> None:
        self._drop_text(n)
        for table in ("search_types", "search_docs", "search_built"):
            self.run(f"DELETE FROM {table} WHERE release_n = ?", (n,))  # noqa: S608 (our constants)

    def keep_search(self, keep: set[int]) -> None:
        """Drop the index of every release not in ``keep`` (the current one and those a worker may still
        serve); a release made current again by a withdrawal is indexed again when it is loaded."""
        for (n,) in self.all("SELECT release_n FROM search_built"):
            if int(n) not in keep:
                self.drop_search(int(n))

    def search(self, n: int, query: search.SearchQuery) -> search.SearchPage:
        """One page of release ``n``'s documents matching ``query``: exact labels, then labels starting
        with the query, then by relevance, ties by IRI; the total, and the count per type (of every match,
        whatever ``query.type`` keeps)."""
        if not query.words:
            return search.SearchPage(query, (), 0, (), n)
        # The match is MATERIALIZED: made once, then joined by id. Left to the planner, SQLite read every
        # document of the release and ran FTS5's match again for each (0.12 s at 30k triples, quadratic).
        matched, args = self.matching(n, query)
        kept = ""
        kept_args: tuple[Any, ...] = ()
        if query.type is not None:
            kept = " AND d.id IN (SELECT doc FROM search_types WHERE release_n = ? AND type = ?)"
            kept_args = (n, query.type)
        key = query.key
        rows = self.all(
            f"WITH m AS MATERIALIZED ({matched}) SELECT d.iri, d.label, d.types, d.names, d.body, m.relevance, "  # noqa: S608
            "CASE WHEN d.label_key = ? THEN 2 WHEN substr(d.label_key, 1, ?) = ? THEN 1 ELSE 0 END AS tier, "
            "COUNT(*) OVER () AS total "  # every match is read to rank them anyway: the total costs nothing more
            f"FROM m CROSS JOIN search_docs d WHERE d.id = m.id AND +d.release_n = ?{kept} "
            "ORDER BY tier DESC, m.relevance DESC, d.iri LIMIT ? OFFSET ?",
            (*args, key, len(key), key, n, *kept_args, search.PAGE_SIZE, query.offset),
        )
        total = (rows[0][-1],) if rows else (0,) if query.offset == 0 else None
        if total is None:  # a page past the last: its rows cannot say how many there are
            total = self.one(
                f"WITH m AS MATERIALIZED ({matched}) SELECT COUNT(*) FROM m "  # noqa: S608
                f"CROSS JOIN search_docs d WHERE d.id = m.id AND +d.release_n = ?{kept}",
                (*args, n, *kept_args),
            )
        facets = self.all(
            # From the matches to their types by id (CROSS JOIN: SQLite keeps that order; the unary + keeps it
            # from looking rows up by release instead, once per match), never every type row of the release.
            f"WITH m AS MATERIALIZED ({matched}) SELECT t.type, COUNT(*) FROM m CROSS JOIN search_types t "  # noqa: S608
            "WHERE t.doc = m.id AND +t.release_n = ? GROUP BY t.type ORDER BY COUNT(*) DESC, t.type",
            (*args, n),
        )
        hits = tuple(
            search.hit(str(iri), str(label), str(types), str(names), str(body), query, float(relevance))
            for iri, label, types, names, body, relevance, _, _ in rows
        )
        return search.SearchPage(
            query,
            hits,
            int(total[0]) if total else 0,
            tuple(search.Facet(str(t), int(c)) for t, c in facets),
            n,
        )

    def check_room(self, owner: str, max_open: int, max_open_per_owner: int) -> None:
        """TooManyDrafts if ``owner``, or everybody, already has as many open drafts as allowed."""
        total = self.one("SELECT COUNT(*) FROM drafts WHERE status = 'open'")
        own = self.one("SELECT COUNT(*) FROM drafts WHERE status = 'open' AND owner = ?", (owner,))
        assert total is not None and own is not None
        if own[0] >= max_open_per_owner:
            raise TooManyDrafts(f"you have {own[0]} open drafts, the most one submitter may have; discard one first")
        if total[0] >= max_open:
            raise TooManyDrafts(f"there are {total[0]} open drafts, the most this service holds; try again later")


class SqlRegistry(ABC):
    """The part of ``Registry`` that is the same SQL in every backend.

    ``clock`` (seconds since the epoch) places the rate budgets' windows: the wall clock, or a test's own,
    so a test turns the minute without waiting for it."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    @abstractmethod
    def _connection(self) -> AbstractContextManager[Connection]:
        """A connection for one operation (outside any transaction)."""

    @abstractmethod
    def _transaction_of(self, db: Connection) -> SqlTransaction:
        """The backend's ``SqlTransaction`` over ``db``."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[SqlTransaction]:
        """One atomic change holding the writers' lock: every write of the block commits, or none."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[SqlTransaction]:
        """One read-only transaction: its statements see one consistent state."""

    @abstractmethod
    def _load_files(self, tx: SqlTransaction, files: Mapping[int, Mapping[str, bytes]]) -> None:
        """Imported release files where the backend keeps them (after the rows, before the meta)."""

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._connection() as db:
            return self._transaction_of(db).one(sql, args)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as db:
            return self._transaction_of(db).all(sql, args)

    # The state: the current release and a generation that every publish or withdrawal bumps ----------

    def state(self) -> tuple[int, int]:
        """(current release, generation): the read path reloads when the generation changes."""
        rows = dict(self._all(_STATE))
        return int(rows["current"]), int(rows["generation"])

    def snapshot(self) -> tuple[int, int, list[Release]]:
        """(current, generation, every release), read in one transaction: one consistent state."""
        with self._reading() as tx:
            rows = dict(tx.all(_STATE))
            releases = [release_from_row(row) for row in tx.all("SELECT * FROM releases ORDER BY n")]
        return int(rows["current"]), int(rows["generation"]), releases

    # Tokens and sessions -----------------------------------------------------------------------------

    def add_token(self, token: Token) -> None:
        with self.transaction() as tx:
            tx.run("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)", token_row(token))

    def token(self, token_id: str) -> Token | None:
        row = self._one("SELECT * FROM tokens WHERE id = ?", (token_id,))
        return Token(*row) if row else None

    def tokens(self) -> list[Token]:
        return [Token(*row) for row in self._all("SELECT * FROM tokens ORDER BY created, id")]

    def revoke_token(self, token_id: str) -> bool:
        """Revoke a token and end its sessions; False if there is no such token (or it was revoked)."""
        with self.transaction() as tx:
            changed = tx.run("UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", (now(), token_id))
            tx.run("DELETE FROM sessions WHERE token_id = ?", (token_id,))
            return bool(changed.rowcount)

    def add_session(self, digest: str, token_id: str, csrf: str, expires: str) -> None:
        with self.transaction() as tx:
            tx.run("DELETE FROM sessions WHERE expires < ?", (now(),))
            tx.run("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (digest, token_id, csrf, now(), expires))

    def session(self, digest: str) -> tuple[Token, str] | None:
        """The live token and CSRF secret of a session, or None (unknown, expired, or its token revoked)."""
        row = self._one(
            "SELECT t.*, s.csrf FROM sessions s JOIN tokens t ON t.id = s.token_id "
            "WHERE s.digest = ? AND s.expires > ? AND t.revoked IS NULL",
            (digest, now()),
        )
        return (Token(*row[:6]), row[6]) if row else None

    def end_session(self, digest: str) -> None:
        with self.transaction() as tx:
            tx.run("DELETE FROM sessions WHERE digest = ?", (digest,))

    # Drafts ------------------------------------------------------------------------------------------

    def add_draft(self, draft: Draft, *, max_open: int, max_open_per_owner: int) -> None:
        """Insert a draft unless the owner, or everybody, already has as many open drafts as allowed."""
        with self.transaction() as tx:
            tx.check_room(draft.owner, max_open, max_open_per_owner)
            marks = ", ".join("?" * len(draft_row(draft)))
            tx.run(f"INSERT INTO drafts VALUES ({marks})", draft_row(draft))  # noqa: S608 (marks only)

    def check_room(self, owner: str, *, max_open: int, max_open_per_owner: int) -> None:
        """TooManyDrafts if ``owner`` could not add a draft now (before the work of preparing one; the
        insert checks again)."""
        with self._connection() as db:
            self._transaction_of(db).check_room(owner, max_open, max_open_per_owner)

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
        sql = f"SELECT {SUMMARY} FROM drafts WHERE status = 'open' AND (CAST(? AS TEXT) IS NULL OR owner = ?) "  # noqa: S608
        rows = self._all(sql + "ORDER BY created DESC, id", (owner, owner))
        return [summary_from_row(row) for row in rows]

    def all_drafts(self) -> list[DraftSummary]:
        sql = f"SELECT {SUMMARY} FROM drafts ORDER BY created, id"  # noqa: S608 (our constants)
        return [summary_from_row(row) for row in self._all(sql)]

    def replace_draft(self, draft: Draft, expected_revision: int | None = None) -> Draft:
        """Store a draft's new data, report and diff as its next revision, if it is still open (and still
        at ``expected_revision``, when given); Conflict otherwise. The draft as stored."""
        with self.transaction() as tx:
            row = tx.one("SELECT status, revision FROM drafts WHERE id = ?", (draft.id,))
            if row is None or row[0] != "open":
                raise Conflict(f"draft {draft.id} is no longer open")
            if expected_revision is not None and row[1] != expected_revision:
                raise Conflict(f"draft {draft.id} changed meanwhile")
            tx.run(
                "UPDATE drafts SET updated = ?, source = ?, nquads = ?, triples = ?, conforms = ?, violations = ?, "
                "report = ?, base_release = ?, diff = ?, changeset = ?, revision = revision + 1, made_from = ?, "
                "acknowledge = ? WHERE id = ?",
                (*draft_row(draft)[4:14], draft.made_from, draft.acknowledge, draft.id),  # the table's order
            )
            stored = tx.one(f"SELECT {SUMMARY}, {BLOBS} FROM drafts WHERE id = ?", (draft.id,))  # noqa: S608
        assert stored is not None
        return draft_from_row(stored)

    def owner_revoked(self, draft_id: str) -> str | None:
        """When the token that submitted the draft was revoked, or None (live, or the operator's draft)."""
        with self._connection() as db:
            return self._transaction_of(db).owner_revoked(draft_id)

    def discard_draft(self, draft_id: str) -> bool:
        with self.transaction() as tx:
            return bool(
                tx.run(
                    "UPDATE drafts SET status = 'discarded', nquads = ?, changeset = ?, updated = ? "
                    "WHERE id = ? AND status = 'open'",
                    (b"", b"", now(), draft_id),
                ).rowcount
            )

    # Releases --------------------------------------------------------------------------------------

    def releases(self) -> list[Release]:
        return [release_from_row(row) for row in self._all("SELECT * FROM releases ORDER BY n")]

    def release(self, n: int) -> Release | None:
        """Release ``n``, or None (a number no release can have, past the databases' integers, included)."""
        with self._connection() as db:
            return self._transaction_of(db).release(n)

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
        is left. One conditional write under the writers' lock: however many callers race (threads,
        workers, replicas), at most ``limit`` units are taken per window, each before the work it pays for."""
        window = self.window()
        with self.transaction() as tx:
            tx.run('DELETE FROM rate WHERE "window" < ?', (window - 1,))
            taken = tx.run(
                'INSERT INTO rate SELECT ?, ?, 1 WHERE ? > 0 ON CONFLICT (key, "window") '
                "DO UPDATE SET count = rate.count + 1 WHERE rate.count < ?",
                (key, window, limit, limit),
            ).rowcount
        return Reservation(key, window) if taken else None

    def refund(self, reservation: Reservation) -> None:
        """Give back a unit ``reserve`` took (the work it paid for turned out not to count)."""
        with self.transaction() as tx:
            tx.run(
                'UPDATE rate SET count = count - 1 WHERE key = ? AND "window" = ? AND count > 0',
                (reservation.key, reservation.window),
            )

    def count_write(self, budgets: tuple[tuple[str, int], ...]) -> str | None:
        """Count one write against each (key, limit) budget of this window; the first key at its limit
        (the write is then refused and not counted), or None. Checked and counted in one transaction,
        shared by every worker: one database."""
        window = self.window()
        with self.transaction() as tx:
            tx.run('DELETE FROM rate WHERE "window" < ?', (window - 1,))
            for key, limit in budgets:
                row = tx.one('SELECT count FROM rate WHERE key = ? AND "window" = ?', (key, window))
                if row is not None and row[0] >= limit:
                    return key
            for key, _ in budgets:
                tx.run(
                    'INSERT INTO rate VALUES (?, ?, 1) ON CONFLICT (key, "window") '
                    "DO UPDATE SET count = rate.count + 1",
                    (key, window),
                )
        return None

    # The search index --------------------------------------------------------------------------------

    def search_indexed(self, n: int) -> bool:
        """Whether release ``n`` has its search index (made by its publish, or by the first worker that
        loaded it after an import or an upgrade)."""
        with self._reading() as tx:
            return tx.search_indexed(n)

    def index_search(self, n: int, docs: Sequence[search.Document]) -> None:
        """Release ``n``'s search index made from ``docs`` in one transaction (replacing any it had)."""
        with self.transaction() as tx:
            tx.index_search(n, docs)

    def search(self, n: int, query: search.SearchQuery) -> search.SearchPage:
        """A page of release ``n``'s matches for ``query`` (one consistent read)."""
        with self._reading() as tx:
            return tx.search(n, query)

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
        """Put exported rows back, in one transaction (import into an empty registry), with the release
        files where the backend keeps them."""
        with self.transaction() as tx:
            for table, rows in tables.items():
                if table not in EXPORTED:
                    raise ValueError(f"unknown table {table!r}")
                # By name, in the table's order: an export of an older schema has fewer (trailing) columns.
                names = ", ".join(tx.columns(table)[: len(rows[0])] if rows else ())
                for row in rows:
                    marks = ", ".join("?" * len(row))
                    tx.run(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row))  # noqa: S608
            self._load_files(tx, files)
            for key, value in meta.items():
                if key != "schema":  # the schema is this database's, whatever the export's was
                    tx.run("UPDATE meta SET value = ? WHERE key = ?", (value, key))

    def meta(self) -> dict[str, str]:
        return dict(self._all("SELECT key, value FROM meta ORDER BY key"))
