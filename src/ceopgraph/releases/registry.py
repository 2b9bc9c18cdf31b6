"""The store of record of the write path: its interface, and the rows it holds.

It holds what must survive a crash and be shared by every server worker, every replica and the command
line: token hashes, sign-in sessions, drafts (their data as canonical N-Quads, their reports and diffs),
the releases (with their dump files) and which one is current, the audit records and the write counters
of the rate limits.

``Registry`` is the interface the write path uses, in its own terms (tokens, drafts, releases, audit,
rate budgets); ``RegistryTransaction`` is one atomic change of several steps (a publish, a withdrawal),
opened explicitly with ``Registry.transaction()``: while it is open no other writer runs. Two backends
implement them, and hold every SQL statement of the code base: ``releases.sqlite.SqliteRegistry``, one
SQLite file in the data directory (the embedded default), and ``releases.postgres.PostgresRegistry``,
one PostgreSQL database shared by any number of replicas (``CEOPGRAPH_DATABASE_URL``); nothing outside
them sees a connection. The rows are plain frozen values (``Token``, ``Draft``, ``Release``,
``AuditRecord``), written and read back by the codecs at the end of this module, the same for both; the
rules of who may do what live in ``releases.service``, not here.

A release's dump files are written with its row (``RegistryTransaction.add_release``): SQLite leaves them
in the data directory's release folder, where the publish put them (``Registry.holds_files`` is False);
PostgreSQL stores their bytes in the same transaction, so every replica, whatever its disk, can
materialise them (``Registry.release_files``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the registry stores what search makes; importing search loads rdflib and the labels
    from ceopgraph.search import Document, SearchPage, SearchQuery

WINDOW_S = 60  # the rate budgets count per minute: the window a time falls in is ``int(t // WINDOW_S)``
SCHEMA_VERSION = 2  # 2: drafts.made_from and drafts.acknowledge, releases.notes (the publisher's release note)
ROLES = ("submitter", "publisher")
# The numbers a release can have: from 1 to SQLite's largest integer (a larger one cannot even be looked up).
RELEASE_NUMBERS = range(1, 1 << 63)


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

    def index_search(self, n: int, docs: Sequence[Document]) -> None:
        """Release ``n``'s search index made from ``docs`` (replacing any), committed with the release."""
        ...

    def keep_search(self, keep: set[int]) -> None:
        """Drop the search index of every release not in ``keep``."""
        ...


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

    # The search index, one per release (rows keyed by the release's number)
    def search_indexed(self, n: int) -> bool:
        """Whether release ``n`` has its search index."""
        ...

    def index_search(self, n: int, docs: Sequence[Document]) -> None:
        """Release ``n``'s search index made from ``docs``, in one transaction (replacing any)."""
        ...

    def search(self, n: int, query: SearchQuery) -> SearchPage:
        """One page of release ``n``'s matches for ``query``, from its rows only."""
        ...

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


class TooManyDrafts(Exception):
    """The open-draft count limit (per submitter, or for the service): 429."""


# Tables an export holds (sessions and rate counters are transient), with their key order.
EXPORTED = {"tokens": "id", "drafts": "id", "releases": "n", "audit": "id"}


def token_row(token: Token) -> tuple[Any, ...]:
    return (token.id, token.name, token.role, token.hash, token.created, token.revoked)


def draft_row(draft: Draft) -> tuple[Any, ...]:
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
SUMMARY_COLUMNS = tuple(f.name for f in fields(DraftSummary))
BLOB_COLUMNS = tuple(f.name for f in fields(Draft) if f.name not in SUMMARY_COLUMNS)
SUMMARY = ", ".join(SUMMARY_COLUMNS)
BLOBS = ", ".join(BLOB_COLUMNS)


def summary_from_row(row: tuple[Any, ...]) -> DraftSummary:
    values = dict(zip(SUMMARY_COLUMNS, row, strict=True))
    return DraftSummary(**{**values, "conforms": bool(values["conforms"])})


def draft_from_row(row: tuple[Any, ...]) -> Draft:
    summary = summary_from_row(row[: len(SUMMARY_COLUMNS)])
    blobs = dict(zip(BLOB_COLUMNS, row[len(SUMMARY_COLUMNS) :], strict=True))
    return Draft(**{f.name: getattr(summary, f.name) for f in fields(DraftSummary)}, **blobs)


def release_from_row(row: tuple[Any, ...]) -> Release:
    values = list(row)
    values[6] = json.loads(values[6])
    return Release(*values)
