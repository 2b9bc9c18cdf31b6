"""The write path's budgets on a server of its own, at their defaults but one: writes per token per minute,
and guessing tokens from one address (each wrong guess costs the server a slow hash, so past a budget of
failed checks per minute the address's unknown tokens are refused before any hashing)."""

from __future__ import annotations

import time
from pathlib import Path

from .releasing import bearer, call, new_token, release_server


def test_wrong_tokens_past_the_budget_get_429_and_a_known_token_still_works(tmp_path: Path, built_dist: Path) -> None:
    env = {"CEOPGRAPH_SIGN_INS_PER_CLIENT": "3"}
    with release_server(tmp_path / "data", built_dist, tmp_path / "server.log", workers=1, env=env) as server:
        assert call(server.url + "drafts", headers=bearer(server.submitter))[0] == 200  # checked once: known
        wrong = server.submitter[:-4] + ("AAAA" if not server.submitter.endswith("AAAA") else "BBBB")
        statuses = [call(server.url + "drafts", headers=bearer(wrong))[0] for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        status, headers, _ = call(server.url + "drafts", headers=bearer(server.publisher))
        assert status == 429 and headers["retry-after"] == "60"  # not yet checked here: refused unhashed
        assert call(server.url + "drafts", headers=bearer(server.submitter))[0] == 200


def test_writes_past_the_per_token_budget_get_429(tmp_path: Path, built_dist: Path) -> None:
    with release_server(tmp_path / "data", built_dist, tmp_path / "server.log", workers=1) as server:
        token = new_token(server.data_dir, "submitter", "Hasty")
        if time.time() % 60 > 45:  # the budget is per minute: start in a fresh one
            time.sleep(61 - time.time() % 60)
        statuses = [call(server.url + "drafts/" + "0" * 32, "DELETE", None, bearer(token))[0] for _ in range(32)]
        assert statuses[:30] == [404] * 30 and statuses[30:] == [429, 429]
        status, headers, _ = call(server.url + "drafts/" + "0" * 32, "DELETE", None, bearer(token))
        assert status == 429 and headers["retry-after"] == "60"
        assert call(server.url + "drafts", headers=bearer(server.submitter))[0] == 200  # reads are not writes
