"""``ceopgraph.web.requeststate``: one typed state per request, reached through the environ both layers see."""

from __future__ import annotations

from ceopgraph.web.requeststate import RequestState, state_of


def test_one_state_per_request_made_on_first_use() -> None:
    environ: dict[str, object] = {}
    first = state_of(environ)
    assert first == RequestState()
    first.query_hash = "abc123"
    assert state_of(environ) is first
    assert state_of({}).query_hash is None  # another request starts unset
