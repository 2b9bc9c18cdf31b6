"""What happened to a resource across releases: published IRIs never simply vanish, and corrections show.

Each release is summarised once, in a validation worker (``SubjectsJob``: its N-Quads dump parsed, the
content's subjects in our URI space, each with a digest of its statements); releases never change, so a
summary is kept for the life of the process. From the summaries of the releases of one registry
generation, ``History`` indexes:

- every IRI that some release held and the current one does not, with the last release that held it and
  the release that removed it (the next one in force) or the withdrawal of that last release: a 410 page;
- every IRI of the current release whose statements a publish changed (a correction) or a withdrawn
  release had changed (a withdrawal): the notices on its page, newest first.

A request only looks an IRI up in these dictionaries: no scan, no parse per request.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rdflib.term import Node, URIRef

from ceopgraph.releases.drafting import read_release
from ceopgraph.releases.registry import Release
from ceopgraph.urischeme import UriScheme
from ceopgraph.validation.engine import Validator
from ceopgraph.validation.service import ValidatorConfig

# The notices a page shows at most (the newest): a resource corrected in every release stays readable.
MAX_NOTICES = 3


@dataclass(frozen=True)
class Subjects:
    """One release's subjects in our URI space, each with the digest of its statements there."""

    digests: dict[str, str]


@dataclass(frozen=True)
class SubjectsJob:
    """``subjects_of`` in a validation worker: the work grows with the release."""

    dump: str  # the release's N-Quads dump

    def run(self, config: ValidatorConfig, validator: Validator) -> Subjects:
        return subjects_of(Path(self.dump), config.scheme)


def subjects_of(dump: Path, scheme: UriScheme) -> Subjects:
    """The subjects of a release's content in our URI space and a digest of each one's statements (graph
    included), so that two releases can be compared subject by subject without holding their data."""
    statements: dict[str, list[str]] = {}
    for s, p, o, g in read_release(dump, scheme)[1].quads():
        if isinstance(s, URIRef) and scheme.is_local(s):
            statements.setdefault(str(s), []).append(" ".join(_n3(term) for term in (p, o, g)))
    return Subjects(
        {iri: hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest() for iri, lines in statements.items()}
    )


def _n3(term: Node | None) -> str:
    return term.n3() if term is not None else ""


@dataclass(frozen=True)
class Gone:
    """A resource no longer in the current release: where it last was, and what took it away."""

    iri: str
    last: Release  # the last release that held it
    removed_by: Release | None  # the release in force after ``last`` that no longer holds it; None: ``last`` withdrawn
    successor: int | None  # the release after ``last``, where one exists

    @property
    def when(self) -> str:
        """When it went: the removing release's issue, or the last release's withdrawal."""
        if self.removed_by is not None:
            return self.removed_by.issued
        assert self.last.withdrawn is not None
        return self.last.withdrawn

    @property
    def why(self) -> str | None:
        """The removing release's note, or the reason the last release was withdrawn."""
        return self.removed_by.notes if self.removed_by is not None else self.last.withdrawn_note


@dataclass(frozen=True)
class Notice:
    """A change to a current resource that its page states: a correction, or a withdrawal."""

    kind: str  # "correction" (a release changed it) or "withdrawal" (a withdrawn release had changed it)
    release: int
    when: str  # the correcting release's issue, or the withdrawal's time
    why: str | None  # the release note, or the withdrawal's reason


@dataclass(frozen=True)
class _Index:
    generation: int
    gone: dict[str, Gone]
    notices: dict[str, tuple[Notice, ...]]


class History:
    """The index of one registry generation, built once per generation (see the module's docstring)."""

    def __init__(self, summarise: Callable[[Release], Subjects]) -> None:
        """``summarise(release)`` gives a release's subjects (a worker's job); each is asked for once."""
        self._summarise = summarise
        self._summaries: dict[int, Subjects] = {}
        self._index: _Index | None = None
        self._lock = threading.Lock()

    def gone(self, generation: int, current: int, releases: Callable[[], list[Release]], iri: str) -> Gone | None:
        return self._of(generation, current, releases).gone.get(iri)

    def notices(
        self, generation: int, current: int, releases: Callable[[], list[Release]], iri: str
    ) -> tuple[Notice, ...]:
        return self._of(generation, current, releases).notices.get(iri, ())

    def _of(self, generation: int, current: int, releases: Callable[[], list[Release]]) -> _Index:
        with self._lock:  # one build per generation, however many requests miss at once
            if self._index is None or self._index.generation != generation:
                every = sorted(releases(), key=lambda r: r.n)
                for release in every:
                    if release.n not in self._summaries:
                        self._summaries[release.n] = self._summarise(release)
                self._index = _build(generation, current, every, self._summaries)
            return self._index


def _build(generation: int, current: int, every: list[Release], summaries: dict[int, Subjects]) -> _Index:
    held = summaries[current].digests if current else {}
    last: dict[str, Release] = {}
    notices: dict[str, list[Notice]] = {}
    for release in every:  # in order: the last release holding an IRI wins
        digests = summaries[release.n].digests
        for iri in digests.keys() - held.keys():
            last[iri] = release
        before = summaries[release.previous].digests if release.previous in summaries else {}
        if release.withdrawn is not None:  # what it changed, added or removed is as it was before it
            changed = {i for i in before.keys() | digests.keys() if before.get(i) != digests.get(i)}
            notice = Notice("withdrawal", release.n, release.withdrawn, release.withdrawn_note)
        else:  # a correction: statements of a resource that stays
            changed = {i for i in before.keys() & digests.keys() if before[i] != digests[i]}
            notice = Notice("correction", release.n, release.issued, release.notes)
        for iri in changed & held.keys():
            notices.setdefault(iri, []).append(notice)
    gone = {}
    for iri, release in last.items():
        after = [r for r in every if r.n > release.n]
        # The current release is the newest in force: a last release in force has one in force after it.
        removed_by = None if release.withdrawn is not None else next(r for r in after if r.withdrawn is None)
        gone[iri] = Gone(iri, release, removed_by, after[0].n if after else None)
    newest_first = {iri: sorted(found, key=lambda n: n.when, reverse=True) for iri, found in notices.items()}
    return _Index(generation, gone, {iri: tuple(found[:MAX_NOTICES]) for iri, found in newest_first.items()})
