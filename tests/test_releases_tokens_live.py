"""The write path's budget of failed token checks on a server of its own: guessing tokens from one address
(each wrong guess costs the server a slow hash, so past a budget of failed checks per minute the address's
unknown tokens are refused before any hashing). The budgets' races, their shared sign-in budget and the
writes per token, with a clock that turns the minute at once: ``test_releases_tokens``."""

from __future__ import annotations

from pathlib import Path

from .releasing import bearer, call, release_server


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
