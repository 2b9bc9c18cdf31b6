"""PostgreSQL as the store of record, as several replicas use it: migrations and the first release made
exactly once when they start at once, two machines (two data directories over one database) seeing
the same drafts, tokens, audit and releases, release files fetched and checked by hash, an export
round-tripping from SQLite through PostgreSQL byte for byte, and a database that goes away answered as
``RegistryUnavailable`` (503 with ``Retry-After``), never a hang, until it is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from ceopgraph import cli
from ceopgraph.compose import open_registry, open_releases, run_in_process
from ceopgraph.config import Settings, load_settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION
from ceopgraph.releases import transfer
from ceopgraph.releases.follower import ReleaseStore
from ceopgraph.releases.postgres import MIGRATIONS, PostgresRegistry
from ceopgraph.releases.registry import Conflict, RegistryUnavailable
from ceopgraph.releases.service import OPERATOR, ReleaseFilesDamaged, Releases
from ceopgraph.releases.tokens import InvalidToken
from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.validation.service import JobRunner, Submission
from ceopgraph.web import errors

from .live import free_port
from .postgres import Postgres, start, stop
from .releasing import GOOD_FIGURE, changed


def _machine(url: str, folder: Path, run: JobRunner) -> Releases:
    """One replica: its own data directory, the shared database."""
    return open_releases(load_settings(environ={}, data_dir=folder, database_url=url), run)


@pytest.fixture(scope="module")
def runner(settings: Settings) -> JobRunner:
    """The drafts' work in this process (the shapes loaded once for the module)."""
    return run_in_process(settings)


@pytest.fixture
def machines(postgres_url: str, tmp_path: Path, runner: JobRunner) -> Iterator[tuple[Releases, Releases]]:
    """Two replicas over one database: each its own data directory, the registry shared; closed after."""
    a = _machine(postgres_url, tmp_path / "a", runner)
    b = _machine(postgres_url, tmp_path / "b", runner)
    try:
        yield a, b
    finally:
        a.registry.close()
        b.registry.close()


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_replicas_opening_an_empty_database_at_once_migrate_it_exactly_once(postgres_url: str) -> None:
    replicas = 8
    barrier = threading.Barrier(replicas)

    def open_one(_: int) -> list[tuple[int, str]]:
        barrier.wait(timeout=30)
        registry = PostgresRegistry(postgres_url)
        try:
            return registry.migrations()
        finally:
            registry.close()

    with ThreadPoolExecutor(replicas) as pool:
        seen = list(pool.map(open_one, range(replicas)))
    expected = [(version, description) for version, description, _ in MIGRATIONS]
    assert seen == [expected] * replicas
    with psycopg.connect(postgres_url) as db:
        versions = db.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        assert versions == [(version,) for version, _, _ in MIGRATIONS]  # each once
        assert db.execute("SELECT key, value FROM meta ORDER BY key").fetchall() == [
            ("current", "0"),
            ("generation", "0"),
            ("schema", "2"),
        ]


def test_replicas_starting_at_once_on_an_empty_database_make_release_1_once(
    postgres_url: str, tmp_path: Path, built_dist: Path, runner: JobRunner
) -> None:
    replicas = 3
    machines = [_machine(postgres_url, tmp_path / f"machine-{n}", runner) for n in range(replicas)]
    barrier = threading.Barrier(replicas)

    def start_one(releases: Releases) -> int | None:
        barrier.wait(timeout=30)
        made = releases.ensure_first_release(built_dist / "ceopgraph.trig")
        return None if made is None else made.n

    try:
        with ThreadPoolExecutor(replicas) as pool:
            made = list(pool.map(start_one, machines))
        assert sorted(made, key=str) == [1, None, None]
        assert [r.n for r in machines[0].registry.releases()] == [1] and machines[0].registry.state() == (1, 1)
        publishes = [r for r in machines[0].registry.audit_records() if (r.action, r.outcome) == ("publish", "done")]
        assert len(publishes) == 1
        # Every machine serves the same files: the winner's own, the others' fetched and checked.
        trees = [_tree(machine.materialised(1)) for machine in machines]
        assert trees[0] == trees[1] == trees[2] and set(trees[0]) == set(machines[0].registry.releases()[0].dumps)
    finally:
        for machine in machines:
            machine.registry.close()


def test_two_machines_share_drafts_tokens_audit_and_releases(
    machines: tuple[Releases, Releases], postgres_url: str, tmp_path: Path, built_dist: Path, runner: JobRunner
) -> None:
    a, b = machines
    assert a.ensure_first_release(built_dist / "ceopgraph.trig") is not None
    assert b.ensure_first_release(built_dist / "ceopgraph.trig") is None
    sam, secret = a.tokens.create("submitter", "Sam")
    assert b.tokens.check(secret) == sam
    trig = (a.materialised(1) / "ceopgraph.trig").read_bytes()
    draft = a.create_draft(sam, Submission(changed(trig, GOOD_FIGURE), "trig", "draft.trig"))
    assert [d.id for d in b.drafts(OPERATOR)] == [draft.id] and b.draft(sam, draft.id).nquads == draft.nquads
    assert a.registry.revoke_token(sam.id)
    with pytest.raises(InvalidToken):
        b.tokens.check(secret)  # revoked on A: refused on B
    operator_draft = b.create_draft(OPERATOR, Submission(changed(trig, GOOD_FIGURE), "trig", "again.trig"))
    published = b.publish(OPERATOR, operator_draft.id, None)
    assert published.n == 2 and a.registry.state() == b.registry.state() == (2, 2)
    assert a.registry.audit_records() == b.registry.audit_records()
    assert not (tmp_path / "a" / "releases" / "2").exists()  # published on B: A has not needed it yet
    current, _, files = a.live_files()
    assert current == 2 and files[0].read_bytes() == (b.release_folder(2) / "ceopgraph.trig").read_bytes()
    assert _tree(a.release_folder(2)) == _tree(b.release_folder(2))

    # A copy that is not the release's is replaced by the database's bytes, checked.
    (a.release_folder(2) / "ceopgraph.nq").write_bytes(b"not the release\n")
    again = _machine(postgres_url, tmp_path / "a", runner)
    try:
        assert _tree(again.materialised(2)) == _tree(b.release_folder(2))
    finally:
        again.registry.close()

    # Bytes in the database that are not the recorded ones are never served.
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("UPDATE release_files SET bytes = %s WHERE n = 2 AND name = 'ceopgraph.trig'", (b"damaged",))
    c = _machine(postgres_url, tmp_path / "c", runner)
    try:
        with pytest.raises(ReleaseFilesDamaged, match="release 2"):
            c.materialised(2)
        assert not c.release_folder(2).exists()
    finally:
        c.registry.close()


def test_an_export_round_trips_from_sqlite_through_postgres_byte_for_byte(
    postgres_url: str, tmp_path: Path, built_dist: Path, runner: JobRunner
) -> None:
    sqlite = open_releases(load_settings(environ={}, data_dir=tmp_path / "sqlite"), runner)
    assert sqlite.ensure_first_release(built_dist / "ceopgraph.trig") is not None
    sam, _ = sqlite.tokens.create("submitter", "Sam")
    trig = (sqlite.release_folder(1) / "ceopgraph.trig").read_bytes()
    draft = sqlite.create_draft(sam, Submission(changed(trig, GOOD_FIGURE), "trig", "draft.trig"))
    published = sqlite.create_draft(OPERATOR, Submission(changed(trig, GOOD_FIGURE), "trig", "again.trig"))
    sqlite.publish(OPERATOR, published.id, None, "A corrected figure")
    sqlite.withdraw(OPERATOR, 1, "superseded")
    assert sqlite.registry.draft_summary(draft.id, None) is not None
    transfer.export(sqlite, tmp_path / "from-sqlite")

    pg = ["--data-dir", str(tmp_path / "pg"), "--database-url", postgres_url]
    assert cli.main(["import", str(tmp_path / "from-sqlite"), *pg]) == 0
    assert cli.main(["export", str(tmp_path / "from-postgres"), *pg]) == 0
    assert _tree(tmp_path / "from-postgres") == _tree(tmp_path / "from-sqlite")

    back = ["--data-dir", str(tmp_path / "sqlite-again")]
    assert cli.main(["import", str(tmp_path / "from-postgres"), *back]) == 0
    assert cli.main(["export", str(tmp_path / "back-in-sqlite"), *back]) == 0
    assert _tree(tmp_path / "back-in-sqlite") == _tree(tmp_path / "from-sqlite")

    # The imported registry goes on: the next audit record follows the imported ones.
    registry = open_registry(tmp_path / "pg", database_url=postgres_url)
    try:
        before = registry.audit_records()
        registry.audit("operator", "check", "-", "done")
        assert registry.audit_records()[-1].id == before[-1].id + 1
    finally:
        registry.close()


def test_an_unreachable_database_is_503_with_retry_after_within_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable):
        open_registry(tmp_path, database_url=f"postgresql://ceop@127.0.0.1:{free_port()}/nothing")
    assert time.monotonic() - started < 15
    with Flask(__name__).test_request_context("/drafts", headers={"Accept": "application/json"}):
        answer = errors.answer(RegistryUnavailable("the database did not answer within 5 s"))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.get_json()["error"] == "the database did not answer within 5 s"


def test_a_database_stopped_and_started_again_is_unavailable_then_used_again(
    postgres: Postgres, postgres_url: str, tmp_path: Path
) -> None:
    registry = open_registry(tmp_path, database_url=postgres_url)
    try:
        assert registry.state() == (0, 0)
        stop(postgres)
        try:
            for call in (registry.state, lambda: registry.reserve("writes:a", 5)):  # a read, a write
                began = time.monotonic()
                with pytest.raises(RegistryUnavailable):
                    call()
                assert time.monotonic() - began < 15  # bounded: the pool's wait, never a hang
        finally:
            start(postgres)
        deadline = time.monotonic() + 30
        while True:  # the pool reconnects by itself
            try:
                assert registry.state() == (0, 0)
                break
            except RegistryUnavailable:
                assert time.monotonic() < deadline, "the registry did not recover once the database was back"
                time.sleep(0.2)
        assert registry.reserve("writes:a", 5) is not None
    finally:
        registry.close()


def test_a_replica_serves_its_release_while_the_database_is_down_and_follows_again_after(
    postgres: Postgres, postgres_url: str, tmp_path: Path, built_dist: Path, runner: JobRunner
) -> None:
    releases = _machine(postgres_url, tmp_path / "data", runner)
    assert releases.ensure_first_release(built_dist / "ceopgraph.trig") is not None
    trig = [FORMATS_BY_EXTENSION["trig"]]
    store = ReleaseStore(releases, lambda files: EmbeddedStore.from_files(files, trig * len(files), 1), poll_s=3600)
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    try:
        served = store.select(query)
        stop(postgres)
        try:
            with pytest.raises(RegistryUnavailable):
                store.refresh()  # the follower's poll: logged, and the release held stays
            assert store.release == 1 and store.select(query) == served
        finally:
            start(postgres)
        deadline = time.monotonic() + 30
        while True:
            try:
                assert not store.refresh()  # the database is back: followed again, nothing new
                break
            except RegistryUnavailable:
                assert time.monotonic() < deadline, "the replica did not reach the database once it was back"
                time.sleep(0.2)
    finally:
        store.close()  # its registry's pool too


def test_two_publishes_racing_on_two_machines_make_one_release_and_one_conflict(
    machines: tuple[Releases, Releases], postgres_url: str, tmp_path: Path, built_dist: Path, runner: JobRunner
) -> None:
    a, b = machines
    assert a.ensure_first_release(built_dist / "ceopgraph.trig") is not None
    trig = (a.materialised(1) / "ceopgraph.trig").read_bytes()
    drafts = [
        machine.create_draft(OPERATOR, Submission(changed(trig, GOOD_FIGURE), "trig", f"{n}.trig"))
        for n, machine in enumerate((a, b))
    ]
    barrier = threading.Barrier(2)

    def publish(machine: Releases, draft_id: str) -> str:
        barrier.wait(timeout=30)
        try:
            return f"release {machine.publish(OPERATOR, draft_id, None).n}"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(publish, (a, b), [d.id for d in drafts]))
    assert outcomes == ["conflict", "release 2"]
    assert [r.n for r in b.registry.releases()] == [1, 2] and a.registry.state() == (2, 2)
    published = [d for d in a.registry.all_drafts() if d.status == "published"]
    assert len(published) == 1 and published[0].release == 2
