"""Releases with a remote store (``serve --endpoint`` with a data directory): the current release pushed
into the store's named graphs, fenced so that no push takes the store back to an older state.

The registry stays the store of record (every release, the current one); the remote store holds what is
current, in the graphs the front end reads (``{base}data/graph/…``, the live releases graph among them),
written by ``publish.publish`` (each graph replaced, stale graphs dropped, read back). A push follows
every publish and withdrawal, and every server start, under a lock shared by every process on the data
directory. Several replicas (each a ``serve`` process with its own lock) may push into one store, so the
store records what it holds and every push compares with it first.

**The marker.** The graph ``{base}data/ceopgraph/store-marker`` (``UriScheme.store_marker``; outside
``data/graph/``, so never served, counted or dropped as stale) holds one node per claimed state
(``…/store-marker#changes-C-release-R``; normally one, see below), with:

- ``dcat:hasCurrentVersion`` the release;
- ``schema:version`` the number of *changes* of the release series that state is the result of: every
  release ever published plus every withdrawal (each publish adds a release, each withdrawal withdraws
  one, and neither is ever undone, so the count only grows);
- ``dcterms:modified`` when the latest of those changes was made (for people: not compared);
- ``schema:actionStatus`` ``schema:ActiveActionStatus`` while a push writes, ``schema:CompletedActionStatus``
  once every graph is written.

One query reads it: ``SELECT * { GRAPH <{base}data/ceopgraph/store-marker> { ?s ?p ?o } }``.

**The rule.** A push of the state (release r, c changes) into a store whose marker says (r', c'):

- no marker (an empty store, or one written before markers): the push writes;
- c > c': newer, the push writes (a withdrawal is a change too: release 2 withdrawn makes release 1
  current again after 3 changes, which is newer than release 2 after 2);
- c < c': older, refused (``StoreAhead``), nothing written;
- c = c' and r = r': the same state; nothing is written when the marker is complete and every graph holds
  as many triples as the release's, else the push writes again (it mends an interrupted one);
- c = c' and r ≠ r': two registries with different histories (separate data folders), refused.

Over one database every replica reads one history, so the count orders every state it can push, and
equal counts are equal states: the rule is exact. The registry's own generation counts the same changes,
but per database: two data folders count from their own start, which is why the marker records the count
of the history itself. With separate data folders the rule refuses any push from a replica that knows
fewer changes than the store holds: the rolling restart of a replica whose folder did not see a publish
made on another. What it cannot see is two separate histories of different lengths (a replica that made
its own, later changes): the longer one wins. That deployment has two stores of record; one shared
database is the way to run several replicas.

**Concurrency.** SPARQL Update has no transaction across requests, so a push claims the marker first (one
request: every other claim removed and its own recorded, only while the store records nothing newer), then
writes every graph with requests that each apply only while the marker records its claim and nothing newer
(``publish``'s ``only_if``), then marks the claim complete and reads the marker again. Overtaken by a newer
claim, it starts again from the registry (over one database the newer state is there by then; else the
compare refuses it); its graphs reading back otherwise, it writes again (``ATTEMPTS`` in all). The
conditions are counts in sub-queries, the one form both Oxigraph and Virtuoso evaluate as SPARQL says here.

What remains. Oxigraph server runs update requests side by side on snapshots: a request whose condition
was read just before a newer claim can land after it, and two claims can be recorded at once (each on its
own node, so they still pair up; the marker then reads as the newest, incomplete, whose push writes again).
A mix that keeps every graph's triple count is not caught by the read-back. A push that fails midway leaves
an incomplete claim and partly written graphs until a push of that state or a newer one (the next publish,
or start of a replica that has it); an older replica does not mend it, since that would take the store back.
A store that applies each graph's replacement on its own shows readers a mix of graphs until the push ends.
"""

from __future__ import annotations

import fcntl
import logging
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import DCTERMS, XSD

from ceopgraph.namespaces import SCHEMA
from ceopgraph.publish import PublishError, PublishReport, Target, named_graphs, publish, update
from ceopgraph.querydataset import DatasetSelection
from ceopgraph.releases.content import DCAT
from ceopgraph.releases.registry import Release
from ceopgraph.releases.service import Releases
from ceopgraph.sparqltext import Template, sparql_iri, sparql_term
from ceopgraph.store.jobs import StoreError
from ceopgraph.store.protocol import Row
from ceopgraph.store.remote import RemoteStore
from ceopgraph.urischeme import UriScheme

_LOCK = "push.lock"
# How many times a push that was overtaken by a newer one starts again from the registry (one database:
# the newer state is there by then) before it gives up.
ATTEMPTS = 3
_ACTIVE = SCHEMA.ActiveActionStatus
_COMPLETED = SCHEMA.CompletedActionStatus
# Over the marker's graph alone (the protocol's dataset): every claim it records.
_MARKER_QUERY = Template(
    "SELECT ?claim ?release ?changes ?modified ?status WHERE { "
    "?claim <http://www.w3.org/ns/dcat#hasCurrentVersion> ?release ; <http://schema.org/version> ?changes ; "
    "<http://schema.org/actionStatus> ?status . OPTIONAL { ?claim <http://purl.org/dc/terms/modified> ?modified } }"
)

log = logging.getLogger(__name__)


class StoreNotUpdated(Exception):
    """The registry changed, but the remote store could not be brought to it (502)."""


class StoreAhead(StoreNotUpdated):
    """The store holds a newer state than this replica's registry (or another history): the push was
    refused and nothing was written. ``held`` is what the store holds, ``pushing`` what was refused."""

    def __init__(self, message: str, held: Marker, pushing: Marker) -> None:
        super().__init__(message)
        self.held = held
        self.pushing = pushing


@dataclass(frozen=True)
class Marker:
    """A state of the release series, as the store records it: the current release and after how many
    changes (``changes``, the order); ``modified`` when the latest was made; ``complete`` whether every
    graph of it was written."""

    release: int
    changes: int
    modified: str
    complete: bool = True

    def __str__(self) -> str:
        made = f", the latest on {self.modified}" if self.modified else ""
        return f"release {self.release} after {self.changes} change(s){made}"


class Verdict(Enum):
    NEWER = "newer"  # write
    EQUAL = "equal"  # the same state: nothing to write if the store holds it whole
    OLDER = "older"  # refused
    DIVERGED = "diverged"  # refused: another history with as many changes


def compare(pushing: Marker, held: Marker | None) -> Verdict:
    """The rule of the module's docstring: how a push of ``pushing`` stands to the store's ``held``."""
    if held is None or pushing.changes > held.changes:
        return Verdict.NEWER
    if pushing.changes < held.changes:
        return Verdict.OLDER
    return Verdict.EQUAL if pushing.release == held.release else Verdict.DIVERGED


def marker_of(current: int, releases: list[Release]) -> Marker:
    """The state a registry is in: its current release after its releases and withdrawals."""
    withdrawals = [r.withdrawn for r in releases if r.withdrawn is not None]
    times = [r.issued for r in releases] + withdrawals
    return Marker(current, len(releases) + len(withdrawals), max(times, default=""))


def _claim_iri(scheme: UriScheme, state: Marker) -> URIRef:
    """The node of the marker's graph that records ``state``: one per state, so that the statements of
    two claims that landed side by side (a store running requests side by side) still pair up."""
    return URIRef(f"{scheme.store_marker}#changes-{state.changes}-release-{state.release}")


def read_marker(target: Target, scheme: UriScheme) -> Marker | None:
    """What the store records that it holds (one query); None for a store without a marker. Two claims
    recorded at once (two pushes' claims landed side by side) read as the newest, incomplete: the push
    of that state writes again, any older one is refused."""
    graph = str(scheme.store_marker)
    store = RemoteStore(target.query_url, str(scheme.graph), timeout_s=target.timeout_s, credentials=target.credentials)
    rows = store.select(_MARKER_QUERY, None, DatasetSelection((graph,), (graph,)))
    claims = sorted({_claim_of(row, scheme) for row in rows}, key=lambda m: (m.changes, m.release))
    if not claims:
        return None
    newest = claims[-1]
    return newest if len(claims) == 1 else Marker(newest.release, newest.changes, newest.modified, complete=False)


def _claim_of(row: Row, scheme: UriScheme) -> Marker:
    graph = str(scheme.store_marker)
    release, changes, status = row.get("release"), row.get("changes"), row.get("status")
    space = str(scheme.release_space)
    if not (isinstance(release, URIRef) and str(release).startswith(space) and str(release)[len(space) :].isdigit()):
        raise StoreError(f"the store's marker ({graph}) names no release of ours: {release}")
    if not isinstance(changes, Literal) or not isinstance(changes.toPython(), int):
        raise StoreError(f"the store's marker ({graph}) has no count of changes: {changes}")
    modified = row.get("modified")
    return Marker(int(str(release)[len(space) :]), int(changes.toPython()), str(modified or ""), status == _COMPLETED)


def _newer_than(scheme: UriScheme, state: Marker) -> str:
    """The group pattern that holds while the store's marker records no state newer than ``state`` (nor
    another history's state after as many changes): a push's claim of ``state`` carries it, and so do its
    writes (with ``_claimed_by``).

    A count in a sub-query, so that it is one solution whether there is a marker or not: Virtuoso gives a
    group of nothing but a ``NOT EXISTS`` filter one solution either way, and binds nothing in an OPTIONAL
    on the marker's graph after another pattern on it (both measured)."""
    marker = sparql_iri(str(scheme.store_marker))
    return (
        f"{{ SELECT (COUNT(*) AS ?heldNewer) WHERE {{ GRAPH {marker} {{ ?heldClaim "
        f"{sparql_iri(str(SCHEMA.version))} ?heldChanges ; {sparql_iri(str(DCAT.hasCurrentVersion))} ?heldRelease }} "
        f"FILTER(?heldChanges > {state.changes} || (?heldChanges = {state.changes} && "
        f"?heldRelease != {sparql_iri(str(scheme.release(state.release)))})) }} }} FILTER(?heldNewer = 0)"
    )


def _claimed_by(scheme: UriScheme, state: Marker) -> str:
    """The group pattern that holds while the store's marker records the claim of ``state`` and nothing
    newer: the writes of a push after its claim carry it, so they stop as soon as a newer push claims."""
    marker = sparql_iri(str(scheme.store_marker))
    claim = sparql_iri(str(_claim_iri(scheme, state)))
    return f"GRAPH {marker} {{ {claim} {sparql_iri(str(SCHEMA.version))} ?ownChanges }} {_newer_than(scheme, state)}"


def _claim(target: Target, scheme: UriScheme, state: Marker) -> None:
    """Record ``state`` in the store as being written (every other claim removed), in one request, unless
    it records a newer state."""
    marker = sparql_iri(str(scheme.store_marker))
    statements = [
        (DCAT.hasCurrentVersion, scheme.release(state.release)),
        (SCHEMA.version, Literal(state.changes)),
        (SCHEMA.actionStatus, _ACTIVE),
    ]
    if state.modified:
        statements.append((DCTERMS.modified, Literal(state.modified, datatype=XSD.dateTime)))
    written = " ; ".join(f"{sparql_iri(str(p))} {sparql_term(o)}" for p, o in statements)
    claim = sparql_iri(str(_claim_iri(scheme, state)))
    only_if = _newer_than(scheme, state)
    # Two operations of one request, each under the condition: if it holds for the first, it holds for
    # the second too (the first removes no newer claim, there is none); if not, neither writes.
    update(
        target,
        f"DELETE {{ GRAPH {marker} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {marker} {{ ?s ?p ?o }} {only_if} }} ;\n"
        f"INSERT {{ GRAPH {marker} {{ {claim} {written} }} }} WHERE {{ {only_if} }}",
    )


def _complete(target: Target, scheme: UriScheme, state: Marker) -> None:
    """Mark the claim of ``state`` complete, in one request, if the store's marker still records it and
    nothing newer."""
    marker = sparql_iri(str(scheme.store_marker))
    status = sparql_iri(str(SCHEMA.actionStatus))
    claim = sparql_iri(str(_claim_iri(scheme, state)))
    update(
        target,
        f"DELETE {{ GRAPH {marker} {{ {claim} {status} ?status }} }} "
        f"INSERT {{ GRAPH {marker} {{ {claim} {status} {sparql_iri(str(_COMPLETED))} }} }} "
        f"WHERE {{ GRAPH {marker} {{ {claim} {status} ?status }} {_newer_than(scheme, state)} }}",
    )


@dataclass(frozen=True)
class Pushed:
    """What a push did: the state it pushed, and the report of its writes (None: the store held that
    state already, whole, and nothing was written)."""

    state: Marker
    report: PublishReport | None

    @property
    def release(self) -> int:
        return self.state.release


def current_state(releases: Releases) -> tuple[Marker, Dataset]:
    """The current release as it is served (its TriG dump and the live releases graph, one dataset) and
    the state of the series it is, read as one registry state."""
    for _ in range(ATTEMPTS):
        current, generation, listed = releases.registry.snapshot()
        served, served_generation, files = releases.live_files()
        if (served, served_generation) == (current, generation):  # no change in between
            break
    else:
        raise StoreNotUpdated(f"the registry changed under every one of {ATTEMPTS} reads; pushed at the next change")
    dataset = Dataset()
    for path in files:
        dataset.parse(data=path.read_bytes(), format="trig")  # ours, written by a publish
    return marker_of(current, listed), dataset


def _holds_whole(target: Target, scheme: UriScheme, dataset: Dataset) -> bool:
    """Whether every graph of ours in the store has as many triples as the dataset's, and no other graph
    of ours is there (one aggregate query)."""
    store = RemoteStore(
        target.query_url, str(scheme.graph), timeout_s=target.timeout_s, cache_s=0, credentials=target.credentials
    )
    expected = {name: len(graph) for name, graph in named_graphs(dataset, str(scheme.graph)).items()}
    return store.counts(fresh=True) == expected


def push_current(releases: Releases, target: Target) -> Pushed:
    """Put the current release into the store, fenced by the state it holds (see the module's docstring).

    StoreAhead when the store holds a newer state (logged; nothing written), StoreNotUpdated when the
    store cannot be written or read back."""
    scheme = releases.scheme
    with Path(releases.folder / _LOCK).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for _ in range(ATTEMPTS):
            state, dataset = current_state(releases)
            try:
                pushed = _push(target, scheme, state, dataset)
            except (PublishError, StoreError) as exc:  # StoreError: the marker could not be read
                raise StoreNotUpdated(
                    f"release {state.release} is current here, but the store could not be updated ({exc}); "
                    "it is pushed again at the next publish or server start"
                ) from exc
            if pushed is None:  # overtaken: the newer state may be in the registry by now (one database)
                continue
            if pushed.report is None or pushed.report.verified:
                return pushed
            # The claim held, yet the graphs read back otherwise: writes of a push that read the marker
            # before this one's claim landed after it (a store running requests side by side). Again.
            log.warning("%s reads back otherwise, written again: %s", state, "; ".join(pushed.report.mismatches()))
    if pushed is not None and pushed.report is not None:
        raise StoreNotUpdated(
            f"release {state.release} was written to the store, but it reads back otherwise: "
            + "; ".join(pushed.report.mismatches())
        )
    raise StoreNotUpdated(f"release {state.release} was overtaken by other pushes {ATTEMPTS} times; given up")


def _push(target: Target, scheme: UriScheme, state: Marker, dataset: Dataset) -> Pushed | None:
    """One attempt: compare, then claim, write and complete; None when another push's claim replaced this
    one's before it completed."""
    held = read_marker(target, scheme)
    verdict = compare(state, held)
    if verdict in (Verdict.OLDER, Verdict.DIVERGED):
        assert held is not None
        why = "a newer state" if verdict is Verdict.OLDER else "another history's state"
        message = (
            f"push refused: the store holds {held}, {why} than this replica's {state}; nothing was written, "
            "the store keeps serving what it holds"
        )
        log.warning(message)
        raise StoreAhead(message, held, state)
    if verdict is Verdict.EQUAL and held is not None and held.complete and _holds_whole(target, scheme, dataset):
        return Pushed(state, None)
    _claim(target, scheme, state)
    report = publish(dataset, target, str(scheme.graph), only_if=_claimed_by(scheme, state))
    _complete(target, scheme, state)
    after = read_marker(target, scheme)
    if after is None or (after.release, after.changes, after.complete) != (state.release, state.changes, True):
        log.warning("push of %s overtaken: the store now records %s", state, after)
        return None
    return Pushed(state, report)
