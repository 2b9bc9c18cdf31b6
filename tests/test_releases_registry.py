"""The registry's interface: the write path reaches its records only through ``Registry`` and
``RegistryTransaction`` (so a second backend is one more implementation), and a transaction is all or
nothing. Each test of the interface runs against both backends (``backend``: SQLite, and PostgreSQL on the
suite's own server); the rest is one backend's own (SQLite's schema migrations, PostgreSQL's)."""

from __future__ import annotations

import inspect
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from ceopgraph import cli
from ceopgraph.compose import open_registry, run_in_process
from ceopgraph.config import SettingsError, load_settings
from ceopgraph.releases.registry import Registry, RegistryTransaction, Release
from ceopgraph.releases.service import OPERATOR, Releases
from ceopgraph.releases.sqlcore import placeholders
from ceopgraph.releases.sqlite import SqliteRegistry
from ceopgraph.validation.service import Submission

from . import tiers
from .backends import Backend
from .live import free_port
from .releasing import GOOD_FIGURE, changed


def _members(protocol: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(protocol, inspect.isfunction) if not name.startswith("_")}


class _OnlyThe:
    """``inner`` seen through ``protocol`` alone: any other attribute (a connection, a private helper,
    an implementation's extra) is refused, and every call is recorded."""

    def __init__(self, inner: object, protocol: type, calls: list[str]) -> None:
        self._inner, self._names, self._calls = inner, _members(protocol), calls

    def __getattr__(self, name: str) -> object:
        if name not in self._names:
            raise AttributeError(f"{name} is not part of the registry's interface")
        self._calls.append(name)
        return getattr(self._inner, name)


class _Interface(_OnlyThe):
    def __init__(self, inner: Registry, calls: list[str]) -> None:
        super().__init__(inner, Registry, calls)
        self._registry = inner

    @contextmanager
    def transaction(self) -> Iterator[RegistryTransaction]:
        self._calls.append("transaction")
        with self._registry.transaction() as tx:
            yield _OnlyThe(tx, RegistryTransaction, self._calls)  # type: ignore[misc]  # a proxy of the protocol


def test_the_postgres_run_is_live_and_the_sqlite_run_is_not(backend: Backend, request: pytest.FixtureRequest) -> None:
    """``tiers`` follows the fixture the parameter names: only the run that starts a database is live."""
    assert (request.node.get_closest_marker(tiers.LIVE) is not None) == (backend.name == "postgres")


def test_the_write_path_uses_the_registry_only_through_its_interface(
    tmp_path: Path, built_dist: Path, backend: Backend
) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path / "data")
    calls: list[str] = []
    registry = _Interface(backend.open(tmp_path / "data"), calls)
    releases = Releases(tmp_path / "data", settings.scheme, registry, run_in_process(settings))  # type: ignore[arg-type]  # a proxy
    assert releases.ensure_first_release(built_dist / "ceopgraph.trig") is not None
    trig = (releases.release_folder(1) / "ceopgraph.trig").read_bytes()
    draft = releases.create_draft(OPERATOR, Submission(changed(trig, GOOD_FIGURE), "trig", "draft.trig"))
    assert releases.current_diff(OPERATOR, draft.id).id == draft.id
    assert releases.publish(OPERATOR, draft.id, None).n == 2
    assert releases.withdraw(OPERATOR, 2, "a mistake").withdrawn is not None
    assert releases.recover() == []
    assert releases.registry.state()[0] == 1
    # The publish and the withdrawal each ran as one unit of work of the interface's own steps.
    assert calls.count("transaction") >= 3  # the first release, the publish, the withdrawal (and recover)
    assert {"add_release", "set_current", "mark_published", "withdraw", "latest_in_force_before"} <= set(calls)
    # Each release's search index is written in the transaction that commits the release.
    assert {"index_search", "keep_search"} <= set(calls)
    assert releases.registry.search_indexed(1) and releases.registry.search_indexed(2)


def test_a_transaction_commits_every_step_or_none(tmp_path: Path, backend: Backend) -> None:
    registry = backend.open(tmp_path)
    release = Release(1, "2026-01-01T00:00:00Z", None, None, "operator", 3, {}, None, None)
    with pytest.raises(RuntimeError), registry.transaction() as tx:
        tx.add_release(release, {})
        tx.set_current(1)
        tx.audit("operator", "publish", "-", "done")
        raise RuntimeError("the process failed before the commit")
    assert registry.state() == (0, 0) and registry.releases() == [] and registry.audit_records() == []
    with registry.transaction() as tx:
        tx.add_release(release, {})
        tx.set_current(1)
    assert registry.state() == (1, 1) and registry.releases() == [release]
    with registry.transaction() as tx:
        assert tx.current() == 1 and tx.next_release() == 2 and tx.release_numbers() == {1}
        assert tx.release(1) == release and tx.release(1 << 70) is None and tx.latest_in_force_before(1) is None


def test_write_budgets_are_counted_atomically_by_racing_writers(tmp_path: Path, backend: Backend) -> None:
    """Many writers (threads here; workers and replicas alike share one registry) racing for one budget:
    exactly its limit is counted, each key's own, and the refused are not counted."""
    registry = backend.open(tmp_path, lambda: 6000.0)
    racers, limit, threads = 24, 10, 8
    barrier = threading.Barrier(threads)  # released in rounds of eight at once

    def write(_: int) -> str | None:
        barrier.wait(timeout=30)
        return registry.count_write((("token:a", limit), ("client:x", 100)))

    with ThreadPoolExecutor(threads) as pool:
        refused = list(pool.map(write, range(racers)))
    assert refused.count(None) == limit and refused.count("token:a") == racers - limit
    # The refused writes were not counted against the client's budget either: exactly 10 were.
    assert registry.count_write((("client:x", limit),)) == "client:x"
    assert registry.count_write((("client:x", limit + 1),)) is None


# The drafts table as schema 1 made it, before drafts recorded the release they were made from.
_SCHEMA_1_DRAFTS = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1'), ('current', '3'), ('generation', '3');
CREATE TABLE drafts (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'published', 'discarded')),
    created TEXT NOT NULL, updated TEXT NOT NULL, source TEXT NOT NULL, nquads BLOB NOT NULL,
    triples INTEGER NOT NULL, conforms INTEGER NOT NULL, violations INTEGER NOT NULL, report TEXT NOT NULL,
    base_release INTEGER NOT NULL, diff TEXT NOT NULL, changeset BLOB NOT NULL, release INTEGER,
    revision INTEGER NOT NULL
);
"""
_SCHEMA_1_DRAFT = ("d1", "sam", "open", "t0", "t1", "a.trig", b"", 0, 1, 0, "{}", 3, "{}", b"", None, 2)


def test_a_registry_of_schema_1_is_migrated_and_its_exports_still_load(tmp_path: Path) -> None:
    """Drafts made before the base release was recorded: taken to be made from the release they were
    diffed against, needing no acknowledgement until their diff is computed again."""
    old = tmp_path / "old"
    old.mkdir()
    db = sqlite3.connect(old / "registry.sqlite3")
    db.executescript(_SCHEMA_1_DRAFTS)
    db.execute(f"INSERT INTO drafts VALUES ({', '.join('?' * len(_SCHEMA_1_DRAFT))})", _SCHEMA_1_DRAFT)
    db.commit()
    db.close()
    registry = SqliteRegistry(old)
    found = registry.draft_summary("d1", None)
    assert found is not None and (found.base_release, found.made_from, found.needs()) == (3, 3, {})
    assert found.revision == 2 and registry.meta()["schema"] == "2"
    assert SqliteRegistry(old).draft_summary("d1", None) == found  # opened again: nothing to migrate
    fresh = SqliteRegistry(tmp_path / "new")
    fresh.load_rows({"drafts": [list(_SCHEMA_1_DRAFT)]}, {}, {})  # an export of schema 1
    assert fresh.draft_summary("d1", None) == replace(found, made_from=0)


def test_a_schema_1_database_gains_release_notes_and_keeps_its_rows(tmp_path: Path) -> None:
    """A data directory made before release notes: its releases table is altered in place when opened,
    its rows kept (no note), and a new release stores its note; an export of it loads again."""
    folder = tmp_path / "old"
    folder.mkdir()
    with sqlite3.connect(folder / "registry.sqlite3") as db:
        db.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('schema', '1'), ('current', '1'), ('generation', '1');"
            "CREATE TABLE releases (n INTEGER PRIMARY KEY, issued TEXT NOT NULL, previous INTEGER, draft_id TEXT, "
            "publisher TEXT NOT NULL, triples INTEGER NOT NULL, dumps TEXT NOT NULL, withdrawn TEXT, "
            "withdrawn_note TEXT);"
            "INSERT INTO releases VALUES (1, '2026-01-01T00:00:00Z', NULL, NULL, 'operator', 925, '{}', NULL, NULL);"
        )
    registry = SqliteRegistry(folder)
    assert registry.meta()["schema"] == "2"
    assert registry.release(1) == Release(1, "2026-01-01T00:00:00Z", None, None, "operator", 925, {}, None, None)
    with registry.transaction() as tx:
        tx.add_release(Release(2, "2026-01-02T00:00:00Z", 1, None, "operator", 926, {}, None, None, "A note"), {})
    assert registry.release(2).notes == "A note"  # type: ignore[union-attr]
    assert SqliteRegistry(folder).release(2) == registry.release(2)  # opened again: migrated once
    fresh = SqliteRegistry(tmp_path / "new")
    old_rows = [list(row[:9]) for row in registry.rows("releases")]  # as a schema-1 export wrote them
    fresh.load_rows({"releases": old_rows}, {"current": "1", "schema": "1"}, {})
    assert fresh.release(1) == registry.release(1) and fresh.meta()["schema"] == "2"


def test_a_database_url_that_is_not_postgresql_is_a_bad_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SettingsError, match="CEOPGRAPH_DATABASE_URL"):
        open_registry(tmp_path, database_url="mysql://user:secret@db/x")
    assert cli.main(["tokens", "list", "--data-dir", str(tmp_path), "--database-url", "mysql://user:secret@db/x"]) == 2
    said = capsys.readouterr().err
    assert "not a postgresql:// URL" in said and "secret" not in said  # a password is never echoed


def test_a_command_whose_database_cannot_be_reached_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://ceop@127.0.0.1:{free_port()}/nothing"  # nothing listens there
    assert cli.main(["tokens", "list", "--data-dir", str(tmp_path), "--database-url", url]) == 3
    said = capsys.readouterr().err
    assert said.startswith("ceopgraph: the store of record cannot be reached:") and "Traceback" not in said


def test_the_shared_statements_take_each_drivers_placeholder_and_hold_no_percent_sign() -> None:
    """Both backends run the same statements: ``?`` is SQLite's mark, psycopg's is ``%s``, and a ``%`` of
    a statement's own would be misread by psycopg, so it is refused rather than sent."""
    assert placeholders("SELECT * FROM tokens WHERE id = ? AND name = ?", "%s") == (
        "SELECT * FROM tokens WHERE id = %s AND name = %s"
    )
    assert placeholders("SELECT 1 WHERE ? IS NULL", "?") == "SELECT 1 WHERE ? IS NULL"
    with pytest.raises(ValueError, match="%"):
        placeholders("SELECT 1 WHERE name LIKE 'a%'", "%s")
