"""The hostile-draft corpus: every draft the write path must survive, built by name, with its outcome.

Each case is an upload of at most ``UPLOAD_LIMIT`` bytes (``CEOPGRAPH_MAX_SUBMISSION_BYTES``'s default),
most of them built from the current release's TriG dump (a submitter's starting point), and the answer
``POST /drafts`` must give it: 201 (stored, within ``CEOPGRAPH_MAX_DRAFT_BYTES``), or a refusal with its
status and a pattern its message matches. ``tests/test_releases_web.py`` prepares every case marked
``in_suite`` through the real service and its validation worker; ``bench/drafts.py`` times them all,
the largest ones (seconds of a worker each) only there.

What the cases stand for:
- blank nodes rdflib could not label (19 s for 40 identical ones, 60 s and more for 100): identical twins,
  chains, rings, three-deep trees, up to the largest that fit the upload limit (``ceopgraph.bnodes``);
- blank nodes on cycles too symmetric to tell apart within the labelling's budget (refused, 400);
- amplification: Turtle whose IRIs share a 2,000-character prefix, 81 KB uploaded, was stored as 61.6 MB of
  N-Quads and a 20.5 MB changeset (refused, 413, before anything is written); the largest such upload that
  is still stored; and the same prefix filling the whole upload limit (gigabytes of terms: the parse counts
  what it has read as N-Quads and stops at twice the bound, 413, before a worker's memory cap);
- the largest blank-node drafts, whose preparation may pass a worker's time limit (503).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

UPLOAD_LIMIT = 4 * 1024 * 1024
BASE_URI = "https://w3id.org/ceopgraph/"
CEOP = "https://w3id.org/ceopgraph/id/organisation/ceop"
SEE_ALSO = "http://www.w3.org/2000/01/rdf-schema#seeAlso"
TRIG = "application/trig"
TURTLE = "text/turtle"


def _in_figures(dump: bytes, lines: str) -> bytes:
    """The dump with more triples (TriG, blank node labels unlike the dump's) in the figures graph."""
    return dump + f"\n<{BASE_URI}data/graph/figures> {{\n{lines}}}\n".encode()


def with_twins(dump: bytes, n: int, label: str = "b") -> bytes:
    """The dump with ``n`` identical blank nodes ``_:bi rdfs:seeAlso <ceop>`` in the figures graph."""
    return _in_figures(dump, "".join(f"_:{label}{i} <{SEE_ALSO}> <{CEOP}> .\n" for i in range(n)))


def with_chain(dump: bytes, n: int) -> bytes:
    """The dump with one chain of ``n`` blank nodes hanging from the CEOP organisation."""
    links = [f"<{CEOP}> <{SEE_ALSO}> _:c0 .\n"] + [f"_:c{i} <{SEE_ALSO}> _:c{i + 1} .\n" for i in range(n - 1)]
    return _in_figures(dump, "".join(links))


def with_ring(dump: bytes, n: int) -> bytes:
    """The dump with a ring of ``n`` blank nodes linked both ways and to nothing else: all alike until one is picked."""
    links = "".join(
        f"_:r{i} <{SEE_ALSO}> _:r{(i + 1) % n} .\n_:r{(i + 1) % n} <{SEE_ALSO}> _:r{i} .\n" for i in range(n)
    )
    return _in_figures(dump, links)


def with_trees(dump: bytes, n: int) -> bytes:
    """The dump with ``n // 3`` identical three-deep chains of blank nodes hanging from the CEOP organisation."""
    links = "".join(
        f"<{CEOP}> <{SEE_ALSO}> _:t{i}a .\n_:t{i}a <{SEE_ALSO}> _:t{i}b .\n_:t{i}b <{SEE_ALSO}> _:t{i}c .\n"
        for i in range(n // 3)
    )
    return _in_figures(dump, links)


def with_cycles(dump: bytes, k: int) -> bytes:
    """The dump with ``k`` 3-cycles of blank nodes on one blank hub: no labelling can tell them apart cheaply."""
    lines = [f"_:r{i}a <{SEE_ALSO}> _:r{i}b . _:r{i}b <{SEE_ALSO}> _:r{i}c . _:r{i}c <{SEE_ALSO}> _:r{i}a .\n"
             f"_:hub <{SEE_ALSO}> _:r{i}a .\n" for i in range(k)]  # fmt: skip
    return _in_figures(dump, "".join(lines))


# The amplification case's IRIs: 2,001 characters, the whole of each but a number shared through a prefix.
LONG_PREFIX = BASE_URI + "data/x/" + "a" * 1966 + "/"


def with_long_prefix(n: int, prefix: str = LONG_PREFIX) -> bytes:
    """Turtle of ``n`` triples ``p:s p:p p:i`` whose IRIs share ``prefix``: a few bytes each uploaded, every
    IRI written out in full once stored (N-Quads, and the changeset)."""
    objects = ", ".join(f"p:{i}" for i in range(n))
    return f"@prefix p: <{prefix}> .\np:s p:p {objects} .\n".encode()


def largest(build: Callable[[int], bytes], limit: int = UPLOAD_LIMIT) -> bytes:
    """The largest ``build(n)`` of at most ``limit`` bytes (``build`` growing with ``n``): doubling, then bisecting."""
    low, high = 1, 2
    while len(build(high)) <= limit:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if len(build(middle)) <= limit else (low, middle)
    return build(low)


# Of the long-prefix drafts still stored, the largest: its data (N-Quads), changeset, report and diff just
# under the 32 MiB a draft may take (3,900 triples take 32.6 MB; each one about 8.2 KB).
LARGEST_STORED_TRIPLES = 3_800


@dataclass(frozen=True)
class HostileDraft:
    """One case: its upload, built from the current release's TriG dump, and the answer it must get."""

    name: str
    build: Callable[[bytes], bytes]
    content_type: str
    status: int  # 201: stored; otherwise the refusal's status
    says: str  # a pattern the refusal's message matches ("" for a stored draft)
    in_suite: bool = True  # False: seconds of a worker, timed by bench/drafts.py only

    def upload(self, dump: bytes) -> bytes:
        made = self.build(dump)
        assert len(made) <= UPLOAD_LIMIT, (self.name, len(made))
        return made


_TIED = r"\d+ blank nodes cannot be told apart.*give them IRIs"
# Counting stops as soon as the quads read pass twice the bound, 67,108,864 bytes.
_PARSED_PAST_THE_BOUND = (
    r"parsed, its quads already take more than 67,1\d\d,\d{3} bytes as N-Quads \(every IRI written out in full\), "
    r"2 times the 33,554,432 bytes a draft may take once stored; use shorter IRIs, or submit less"
)
_TOO_SLOW = r"took longer than the 30 s limit and was stopped"
_TOO_LARGE = (
    r"stored, this draft would take at least {size} bytes \(its data as canonical N-Quads, every IRI written "
    r"out in full\), more than the 33,554,432 bytes a draft may take; use shorter IRIs, or submit less"
)

CORPUS: tuple[HostileDraft, ...] = (
    HostileDraft("34 identical blank nodes", lambda dump: with_twins(dump, 34), TRIG, 201, ""),
    HostileDraft("100 identical blank nodes", lambda dump: with_twins(dump, 100), TRIG, 201, ""),
    HostileDraft("1,000 blank nodes in a chain", lambda dump: with_chain(dump, 1_000), TRIG, 201, ""),
    HostileDraft("a ring of 1,000 blank nodes", lambda dump: with_ring(dump, 1_000), TRIG, 201, ""),
    HostileDraft("333 three-deep trees", lambda dump: with_trees(dump, 1_000), TRIG, 201, ""),
    HostileDraft("150 3-cycles on a blank hub", lambda dump: with_cycles(dump, 150), TRIG, 400, _TIED),
    HostileDraft(
        "10,000 IRIs with a 2,000-character prefix",
        lambda _: with_long_prefix(10_000),
        TURTLE,
        413,
        _TOO_LARGE.format(size=r"(6\d|[7-9]\d),\d{3},\d{3}"),  # 10,000 triples x 3 IRIs of 2,000 characters
    ),
    HostileDraft(
        "the largest long-prefix draft stored",
        lambda _: with_long_prefix(LARGEST_STORED_TRIPLES),
        TURTLE,
        201,
        "",
        in_suite=False,
    ),
    # The parse alone would take gigabytes (every IRI of 2,000 characters): it stops at the bound, 413.
    HostileDraft(
        "4 MiB of IRIs with a 2,000-character prefix",
        lambda _: largest(with_long_prefix),
        TURTLE,
        413,
        _PARSED_PAST_THE_BOUND,
    ),
    # About 25 s of a worker's 30 (parse, labels, validation, diff): 503 at the time limit on a slower machine.
    HostileDraft(
        "4 MiB of identical blank nodes",
        lambda dump: largest(lambda n: with_twins(dump, n)),
        TRIG,
        201,
        "",
        in_suite=False,
    ),
    # Past the time limit: prepared in about 60 s of a worker, stopped at 30.
    HostileDraft(
        "4 MiB of blank nodes in a chain",
        lambda dump: largest(lambda n: with_chain(dump, n)),
        TRIG,
        503,
        _TOO_SLOW,
        in_suite=False,
    ),
    HostileDraft(
        "a ring of blank nodes of 4 MiB",
        lambda dump: largest(lambda n: with_ring(dump, n)),
        TRIG,
        503,
        _TOO_SLOW,
        in_suite=False,
    ),
    HostileDraft(
        "4 MiB of three-deep trees",
        lambda dump: largest(lambda n: with_trees(dump, n)),
        TRIG,
        503,
        _TOO_SLOW,
        in_suite=False,
    ),
)

CASES = {case.name: case for case in CORPUS}
