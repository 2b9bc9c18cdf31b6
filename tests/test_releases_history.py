"""``releases.history`` on its own: which release a resource was last in and what took it away, the
notices of corrections and withdrawals, and each release summarised once, the index once per generation."""

from __future__ import annotations

from ceopgraph.releases.history import History, Subjects
from ceopgraph.releases.registry import Release


def _release(n: int, previous: int | None, withdrawn: str | None = None, notes: str | None = None) -> Release:
    reason = "why" if withdrawn else None
    return Release(n, f"2026-01-0{n}T00:00:00Z", previous, None, "operator", 1, {}, withdrawn, reason, notes)


SUMMARIES = {
    1: Subjects({"a": "1", "b": "1", "f": "1"}),
    2: Subjects({"a": "1", "f": "2", "c": "1"}),  # removes b, corrects f, adds c
    3: Subjects({"a": "1", "f": "3", "c": "1", "d": "1"}),  # changes f, adds d: withdrawn
}


def test_gone_and_notices_follow_the_series_and_each_release_is_summarised_once() -> None:
    asked: list[int] = []

    def summarise(release: Release) -> Subjects:
        asked.append(release.n)
        return SUMMARIES[release.n]

    history = History(summarise)
    two = [_release(1, None), _release(2, 1, notes="b retired")]
    for _ in range(3):
        assert history.gone(5, 2, lambda: two, "a") is None  # current
        assert history.gone(5, 2, lambda: two, "never") is None
        gone = history.gone(5, 2, lambda: two, "b")
        assert gone is not None and gone.last.n == 1 and gone.removed_by is not None and gone.removed_by.n == 2
        assert gone.why == "b retired" and gone.when == "2026-01-02T00:00:00Z" and gone.successor == 2
    assert asked == [1, 2]
    notices = history.notices(5, 2, lambda: two, "f")
    assert [(n.kind, n.release, n.why) for n in notices] == [("correction", 2, "b retired")]
    assert history.notices(5, 2, lambda: two, "c") == ()  # added, not corrected

    three = [*two, _release(3, 2, withdrawn="2026-01-04T00:00:00Z")]  # a new generation: only 3 is summarised
    gone = history.gone(6, 2, lambda: three, "d")
    assert gone is not None and gone.last.n == 3 and gone.removed_by is None
    assert gone.when == "2026-01-04T00:00:00Z" and gone.why == "why" and gone.successor is None
    assert [(n.kind, n.release) for n in history.notices(6, 2, lambda: three, "f")] == [
        ("withdrawal", 3),
        ("correction", 2),
    ]
    assert asked == [1, 2, 3]
