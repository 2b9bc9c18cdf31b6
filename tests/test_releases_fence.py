"""The fence's rule (``releases.remote.compare``) and the state a registry is in (``marker_of``), without a
store: the live tests (``test_releases_fence_live``) run the same cases against Oxigraph."""

from __future__ import annotations

import pytest

from ceopgraph.releases.registry import Release
from ceopgraph.releases.remote import Marker, Verdict, compare, marker_of
from ceopgraph.urischeme import UriScheme


def _release(n: int, issued: str, withdrawn: str | None = None) -> Release:
    return Release(n, issued, n - 1 or None, None, "operator", 10, {}, withdrawn, "why" if withdrawn else None)


def test_the_state_counts_every_publish_and_every_withdrawal() -> None:
    one = _release(1, "2026-01-01T00:00:00Z")
    assert marker_of(1, [one]) == Marker(1, 1, "2026-01-01T00:00:00Z")
    two = _release(2, "2026-01-02T00:00:00Z")
    assert marker_of(2, [one, two]) == Marker(2, 2, "2026-01-02T00:00:00Z")
    # Release 2 withdrawn: release 1 is current again, after three changes; the withdrawal is the latest.
    withdrawn = _release(2, "2026-01-02T00:00:00Z", withdrawn="2026-01-03T00:00:00Z")
    assert marker_of(1, [one, withdrawn]) == Marker(1, 3, "2026-01-03T00:00:00Z")


@pytest.mark.parametrize(
    ("pushing", "held", "verdict"),
    [
        (Marker(1, 1, ""), None, Verdict.NEWER),  # an empty store, or one written before markers
        (Marker(2, 2, ""), Marker(1, 1, ""), Verdict.NEWER),  # a publish
        (Marker(1, 3, ""), Marker(2, 2, ""), Verdict.NEWER),  # a withdrawal: an older release, a newer state
        (Marker(1, 1, ""), Marker(2, 2, ""), Verdict.OLDER),  # the rolling restart of a replica behind
        (Marker(2, 2, ""), Marker(1, 3, ""), Verdict.OLDER),  # the release the store withdrew, pushed again
        (Marker(1, 1, ""), Marker(1, 3, ""), Verdict.OLDER),  # the same release, but before its history went on
        (Marker(2, 2, "", complete=False), Marker(2, 2, ""), Verdict.EQUAL),
        (Marker(3, 3, ""), Marker(1, 3, ""), Verdict.DIVERGED),  # another registry's history, as long
    ],
)
def test_the_rule(pushing: Marker, held: Marker | None, verdict: Verdict) -> None:
    assert compare(pushing, held) is verdict


def test_the_marker_is_outside_the_graphs_the_front_end_serves() -> None:
    scheme = UriScheme("https://example.org/")
    assert str(scheme.store_marker) == "https://example.org/data/ceopgraph/store-marker"
    assert not scheme.is_graph(str(scheme.store_marker))
