"""The write path's budget of failed token checks on a server of its own: guessing tokens from one address
(each wrong guess costs the server a slow hash, so past a budget of failed checks per minute the address's
unknown tokens are refused before any hashing). The budgets' races, their shared sign-in budget and the
writes per token, with a clock that turns the minute at once: ``test_releases_tokens``."""

from __future__ import annotations

import time
from pathlib import Path

from ceopgraph.releases.registry import WINDOW_S

from .releasing import bearer, call, release_server

NEEDED_S = 15  # what the checks below take at most on a busy machine (well under a second on a quiet one)


def _a_window_with_time_left() -> None:
    """The server counts failed checks per wall-clock minute (``WINDOW_S``): the checks below must fall in
    one, so if fewer than ``NEEDED_S`` seconds of this one are left, wait for the next (never a whole one)."""
    left = WINDOW_S - time.time() % WINDOW_S
    if left < NEEDED_S:
        time.sleep(left + 0.05)


def test_wrong_tokens_past_the_budget_get_429_and_a_known_token_still_works(tmp_path: Path, built_dist: Path) -> None:
    env = {"CEOPGRAPH_SIGN_INS_PER_CLIENT": "3"}
    with release_server(tmp_path / "data", built_dist, tmp_path / "server.log", workers=1, env=env) as server:
        assert call(server.url + "drafts", headers=bearer(server.submitter))[0] == 200  # checked once: known
        wrong = server.submitter[:-4] + ("AAAA" if not server.submitter.endswith("AAAA") else "BBBB")
        _a_window_with_time_left()
        statuses = [call(server.url + "drafts", headers=bearer(wrong))[0] for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        status, headers, _ = call(server.url + "drafts", headers=bearer(server.publisher))
        assert status == 429 and headers["retry-after"] == "60"  # not yet checked here: refused unhashed
        assert call(server.url + "drafts", headers=bearer(server.submitter))[0] == 200
