"""The write path's per-minute budgets in one process, over a real registry file and a clock of the test's
own (so a minute turns without waiting for it): failed token checks, bearer and sign-in alike, share one
budget per address that is taken before any hashing, so racing requests cannot hash past it; writes per
token. The same budgets on a real server: ``test_releases_tokens_live``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher
from flask import Flask
from werkzeug.test import TestResponse

from ceopgraph.config import Settings
from ceopgraph.releases import tokens

from .apps import embedded_app
from .backends import Backend
from .releasing import releases_of

BUDGET = 10  # CEOPGRAPH_SIGN_INS_PER_CLIENT's default
MINUTE = 60 * 28_000_000.0  # the start of a minute, as the test's clock reads it


class Clock:
    """A clock the test turns: seconds since the epoch."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, counting its verifications (each one the slow hash the budget bounds)."""

    def __init__(self) -> None:
        super().__init__(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self.verifications = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # else it raises
        with self._lock:
            self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(tokens, "_HASHER", counting)
    return counting


@pytest.fixture
def clock() -> Clock:
    return Clock(MINUTE)


@pytest.fixture
def app(settings: Settings, built_dist: Path, tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    with embedded_app(settings, built_dist, clock=clock, data_dir=tmp_path / "data") as made:
        yield made


def _wrong(token: str, n: int) -> str:
    """``token`` with another secret: well formed, naming a real token, so checking it costs a real hash."""
    return token[:-6] + f"{n:06d}"


def _bearer(app: Flask, token: str) -> TestResponse:
    return app.test_client().get("/drafts", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})


def _sign_in(app: Flask, token: str) -> TestResponse:
    return app.test_client().post("/sign-in", data={"token": token})


def test_a_reservation_is_atomic_per_key_and_window_and_a_refund_gives_it_back(
    tmp_path: Path, backend: Backend
) -> None:
    clock = Clock(MINUTE)
    registry = backend.open(tmp_path, clock)
    barrier = threading.Barrier(24)

    def take(_: int) -> bool:
        barrier.wait(timeout=30)
        return registry.reserve("failed-checks:a", 5) is not None

    with ThreadPoolExecutor(24) as pool:
        assert sum(pool.map(take, range(24))) == 5
    assert registry.reserve("failed-checks:b", 5) is not None  # another key, another budget
    assert registry.reserve("failed-checks:a", 0) is None and registry.reserve("failed-checks:c", 0) is None
    clock.now += 59.9
    assert registry.reserve("failed-checks:a", 5) is None  # still the same minute
    clock.now += 0.1
    taken = registry.reserve("failed-checks:a", 5)
    assert taken is not None and taken.window == registry.window()
    for _ in range(4):
        assert registry.reserve("failed-checks:a", 5) is not None
    assert registry.reserve("failed-checks:a", 5) is None
    registry.refund(taken)
    assert registry.reserve("failed-checks:a", 5) is not None


def test_racing_wrong_tokens_hash_at_most_the_budget_and_sign_ins_share_it(
    app: Flask, hasher: CountingHasher, clock: Clock
) -> None:
    releases = releases_of(app)
    _, sam = releases.tokens.create("submitter", "Sam")
    _, pat = releases.tokens.create("publisher", "Pat")
    assert _bearer(app, sam).status_code == 200  # verified once: this process knows it
    hasher.verifications = 0

    signed_in = [_sign_in(app, _wrong(sam, n)).status_code for n in range(4)]
    assert signed_in == [401] * 4 and hasher.verifications == 4

    racers = 30
    barrier = threading.Barrier(racers)

    def guess(n: int) -> TestResponse:
        barrier.wait(timeout=30)
        return _bearer(app, _wrong(sam, 100 + n))

    with ThreadPoolExecutor(racers) as pool:
        answers = list(pool.map(guess, range(racers)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * (BUDGET - 4) + [429] * (racers - BUDGET + 4)
    assert hasher.verifications == BUDGET  # the refused ones were never hashed
    refused = [a for a in answers if a.status_code == 429]
    assert all(a.headers["Retry-After"] == "60" and "failed sign-ins" in a.get_json()["error"] for a in refused)

    assert _sign_in(app, pat).status_code == 429  # the sign-in budget is the same one, spent
    assert _bearer(app, pat).status_code == 429  # not verified in this process: refused unhashed
    assert _bearer(app, sam).status_code == 200  # verified before: no hash, no budget needed
    assert hasher.verifications == BUDGET

    clock.now += 60  # the next minute: a fresh budget, and a valid check gives its unit back
    assert _bearer(app, pat).status_code == 200
    assert [_bearer(app, _wrong(pat, n)).status_code for n in range(BUDGET + 1)] == [401] * BUDGET + [429]
    _, sue = releases.tokens.create("submitter", "Sue")
    assert _sign_in(app, sue).status_code == 429  # a valid token this process has not verified: refused unhashed
    assert _sign_in(app, sam).status_code == 303  # one it has: signs in without a hash
    assert hasher.verifications == 2 * BUDGET + 1


def test_a_successful_sign_in_gives_its_unit_back(app: Flask, hasher: CountingHasher) -> None:
    releases = releases_of(app)
    _, sam = releases.tokens.create("submitter", "Sam")
    assert _sign_in(app, sam).status_code == 303
    assert [_sign_in(app, _wrong(sam, n)).status_code for n in range(BUDGET + 1)] == [401] * BUDGET + [429]
    assert hasher.verifications == BUDGET + 1


def test_writes_past_the_per_token_budget_get_429_until_the_minute_turns(app: Flask, clock: Clock) -> None:
    _, token = releases_of(app).tokens.create("submitter", "Hasty")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    clock.now += 59  # the budget is per minute: its last second
    statuses = [client.delete("/drafts/" + "0" * 32, headers=headers).status_code for _ in range(32)]
    assert statuses[:30] == [404] * 30 and statuses[30:] == [429, 429]
    refused = client.delete("/drafts/" + "0" * 32, headers=headers)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert client.get("/drafts", headers=headers).status_code == 200  # reads are not writes
    clock.now += 1
    assert client.delete("/drafts/" + "0" * 32, headers=headers).status_code == 404
