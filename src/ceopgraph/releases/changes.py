"""What a draft changes, for the people who review it: pure functions over rdflib datasets.

A draft is compared with the current release (``diff``) as statements: the triples of the union of each
side's graphs (blank nodes matched by their stable labels, ``ceopgraph.bnodes``). A subject and predicate
that lose one value and gain one changed that value (a label, a definition, a precision, a quote: before →
after); every other triple is added or removed. The counts are those of this one list, everywhere: the
statements added, removed and changed, and the changeset's triples (each change is one triple removed
and one added). Statements that only moved between named graphs are counted per graph, as moves.

Besides the list, grouped by subject: the figures (every observation a statement of which changed, its
value before and after and what else changed of it), the members of each kind a person reviews (figures,
threat areas, quotations, claims, datasets, named graphs) added, removed or changed, and the warnings that
a publish must acknowledge (``ACKNOWLEDGEMENTS``):

- *removals*: more than ``REMOVAL_SHARE`` of the current release's members of a kind removed, or everything
  the home page lists (a draft built from the example submission, which holds only the figures);
- *reverts*: a draft made from an older release (its base) undoes what a release published since made:
  the three-way view (``reverts``), each release's changes that are still current and that the draft
  takes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCAT, RDF, SKOS
from rdflib.term import Node

from ceopgraph import tables
from ceopgraph.bnodes import relabel_triples
from ceopgraph.labels import label, local_name
from ceopgraph.namespaces import QB, SCHEMA, SDMX_MEASURE, bind_prefixes
from ceopgraph.releases.content import Dropped
from ceopgraph.urischeme import UriScheme

Triple = tuple[Node, Node, Node]

# What a publish may be asked to acknowledge (``acknowledge=reverts,removals``).
REVERTS = "reverts"
REMOVALS = "removals"
ACKNOWLEDGEMENTS = (REVERTS, REMOVALS)
# Removing more than this share of a kind's members is a warning (1 of the 8 figures is; 1 of 20 would not be).
REMOVAL_SHARE = 0.1
# The kinds the home page lists: a draft that leaves none of them leaves the page without content.
HOME_PAGE_KINDS = ("threat_areas", "quotations", "claims")
# How many names a warning or a refusal lists before "and N more".
NAMED_IN_MESSAGES = 5
# The releases a revert is attributed to one by one; older ones since the base are taken together.
MAX_RELEASES_APART = 10

# The kinds of things a person reviews besides the figures (``Diff.figures``), listed by name: (key, title).
LISTED_KINDS: tuple[tuple[str, str], ...] = (
    ("threat_areas", "threat areas"),
    ("quotations", "quotations"),
    ("claims", "claims"),
    ("datasets", "datasets"),
)
KIND_TITLES = dict(LISTED_KINDS)
# Every kind whose removals are counted (``REMOVAL_SHARE``).
KINDS = (("figures", "figures"), *LISTED_KINDS)


@dataclass(frozen=True)
class StatementChange:
    """One statement of a subject added, removed, or changed (one value replaced by another)."""

    predicate: str
    predicate_label: str  # its prefixed name ("skos:altLabel")
    change: str  # "added", "removed" or "changed"
    before: str | None  # the value as a person reads it (a literal's text, a resource's label)
    after: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "predicate": self.predicate,
            "predicate_label": self.predicate_label,
            "change": self.change,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class SubjectChanges:
    """The statements of one subject that changed."""

    iri: str  # an IRI, or a blank node's stable label as ``_:b…``
    label: str
    changes: tuple[StatementChange, ...]

    def as_json(self) -> dict[str, Any]:
        return {"iri": self.iri, "label": self.label, "changes": [c.as_json() for c in self.changes]}


@dataclass(frozen=True)
class FigureChange:
    """A figure (an observation) with any statement changed: its value before and after, and the rest."""

    iri: str
    label: str
    before: str | None  # None: the figure is new
    after: str | None  # None: the figure was removed
    details: tuple[str, ...] = ()  # the other changes ("precision: exact → lower bound")
    row: str | None = None  # its row in the cube's table, by its dimensions (``tables.row_key``)

    def describe(self) -> str:
        return self._told(self.label, "new,")

    def in_table_terms(self) -> str | None:
        """The change as someone who edited the table reads it: ``row … · …: added 900``."""
        return None if self.row is None else self._told(f"row {self.row}", "added")

    def _told(self, name: str, new: str) -> str:
        if self.before is None:
            return f"{name}: {new} {self.after}"
        if self.after is None:
            return f"{name}: removed (was {self.before})"
        said = [f"{self.before} → {self.after}"] if self.before != self.after else []
        return f"{name}: " + "; ".join([*said, *self.details])


@dataclass(frozen=True)
class Revert:
    """What the draft takes back of the changes releases ``first``..``last`` made (``before``: as those
    releases left it and the current release still has it; ``after``: as the draft has it)."""

    first: int
    last: int
    statements: int
    subjects: tuple[SubjectChanges, ...]

    def releases(self) -> str:
        return f"release {self.last}" if self.first == self.last else f"releases {self.first} to {self.last}"

    def as_json(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "last": self.last,
            "releases": self.releases(),
            "statements": self.statements,
            "subjects": [s.as_json() for s in self.subjects],
        }


@dataclass(frozen=True)
class Warning:
    """What a publish must acknowledge (``acknowledge``, one of ``ACKNOWLEDGEMENTS``), and why."""

    acknowledge: str
    message: str


@dataclass(frozen=True)
class Diff:
    """What a draft changes against the current release (``base_release``), made from release ``made_from``."""

    base_release: int
    made_from: int
    added: int  # statements added
    removed: int  # statements removed
    changed: int  # statements whose value changed
    subjects: tuple[SubjectChanges, ...]
    figures: tuple[FigureChange, ...]
    things: dict[str, Any] = field(default_factory=dict)  # by kind, and "graphs" (``graph_changes``)
    reverts: tuple[Revert, ...] = ()
    warnings: tuple[Warning, ...] = ()
    dropped: tuple[Dropped, ...] = ()  # what the draft said of the service's resources, taken out

    def needs(self) -> dict[str, str]:
        """What a publish must acknowledge: each acknowledgement, with what it acknowledges."""
        found: dict[str, list[str]] = {}
        for warning in self.warnings:
            found.setdefault(warning.acknowledge, []).append(warning.message)
        return {key: " ".join(messages) for key, messages in found.items()}

    def as_json(self) -> dict[str, Any]:
        return {
            "base_release": self.base_release,
            "made_from": self.made_from,
            "statements": {"added": self.added, "removed": self.removed, "changed": self.changed},
            "triples": {"added": self.added + self.changed, "removed": self.removed + self.changed},
            "subjects": [s.as_json() for s in self.subjects],
            "figures": [
                {
                    "iri": f.iri,
                    "label": f.label,
                    "before": f.before,
                    "after": f.after,
                    "details": list(f.details),
                    "change": f.describe(),
                    "row": f.row,
                    "row_change": f.in_table_terms(),
                }
                for f in self.figures
            ],
            **self.things,
            "reverts": [r.as_json() for r in self.reverts],
            "warnings": [{"acknowledge": w.acknowledge, "message": w.message} for w in self.warnings],
            "acknowledge": sorted(self.needs()),
            "dropped": [d.as_json() for d in self.dropped],
        }


def union_of(dataset: Dataset) -> Graph:
    """The union of the dataset's graphs, its blank nodes labelled by their place in the union."""
    union = Graph()
    for triple in relabel_triples((s, p, o) for s, p, o, _ in dataset.quads()):
        union.add(triple)
    return union


def label_of(graph: Graph, node: Node) -> str:
    """A node's label for a diff: its label, else its IRI's last segment."""
    return label(graph, node) or local_name(str(node))


class _Namer:
    """How a diff names predicates and values for people: prefixed names, labels, literals' text."""

    def __init__(self, scheme: UriScheme, *graphs: Graph) -> None:
        self._prefixes = Graph()
        bind_prefixes(self._prefixes, scheme)
        self._graphs = graphs

    def predicate(self, node: Node) -> str:
        try:
            return self._prefixes.namespace_manager.curie(str(node), generate=False)
        except (KeyError, ValueError):
            return str(node)

    def value(self, node: Node) -> str:
        if isinstance(node, Literal):
            return str(node)
        if isinstance(node, URIRef):
            found = next((text for graph in self._graphs if (text := label(graph, node))), None)
            return found or self.predicate(node)
        return f"_:{node}"

    def subject(self, node: Node) -> str:
        found = next((text for graph in self._graphs if (text := label(graph, node))), None)
        return found or (local_name(str(node)) if isinstance(node, URIRef) else f"_:{node}")


def _iri(node: Node) -> str:
    return str(node) if isinstance(node, URIRef) else f"_:{node}"


def grouped(removed: Iterable[Triple], added: Iterable[Triple], namer: _Namer) -> tuple[SubjectChanges, ...]:
    """The statements removed and added, by subject: a subject and predicate losing one value and gaining
    one is a change (before → after), the rest are removed or added; sorted by subject, then predicate."""
    lost: dict[tuple[Node, Node], list[Node]] = {}
    gained: dict[tuple[Node, Node], list[Node]] = {}
    for (s, p, o), into in [*((t, lost) for t in removed), *((t, gained) for t in added)]:
        into.setdefault((s, p), []).append(o)
    by_subject: dict[Node, list[StatementChange]] = {}
    for key in sorted(lost.keys() | gained.keys(), key=lambda k: (_iri(k[0]), str(k[1]))):
        s, p = key
        was, now = sorted(lost.get(key, ()), key=str), sorted(gained.get(key, ()), key=str)
        name = namer.predicate(p)
        rows = by_subject.setdefault(s, [])
        if len(was) == 1 and len(now) == 1:
            rows.append(StatementChange(str(p), name, "changed", namer.value(was[0]), namer.value(now[0])))
            continue
        rows.extend(StatementChange(str(p), name, "removed", namer.value(o), None) for o in was)
        rows.extend(StatementChange(str(p), name, "added", None, namer.value(o)) for o in now)
    return tuple(SubjectChanges(_iri(s), namer.subject(s), tuple(rows)) for s, rows in by_subject.items())


def counts(subjects: Iterable[SubjectChanges]) -> dict[str, int]:
    """The statements added, removed and changed in ``subjects``: the one set of counts."""
    found = {"added": 0, "removed": 0, "changed": 0}
    for subject in subjects:
        for change in subject.changes:
            found[change.change] += 1
    return found


def members(graph: Graph, scheme: UriScheme) -> dict[str, set[Node]]:
    """The members of each kind a person reviews (``KINDS``) in a content's union."""
    ns = scheme
    return {
        "figures": set(graph.subjects(RDF.type, QB.Observation)),
        "threat_areas": set(graph.subjects(SKOS.inScheme, ns.def_["threat-area"])),
        "quotations": set(graph.subjects(RDF.type, SCHEMA.Quotation)),
        "claims": set(graph.subjects(RDF.type, ns.ceop.Claim)),
        "datasets": set(graph.subjects(RDF.type, QB.DataSet)) | set(graph.subjects(RDF.type, DCAT.Dataset)),
    }


def _figures(old: Graph, new: Graph, subjects: Sequence[SubjectChanges]) -> tuple[FigureChange, ...]:
    """Every observation with a statement changed: its value before and after, and its other changes."""
    observations = {_iri(o) for g in (old, new) for o in g.subjects(RDF.type, QB.Observation)}
    value = str(SDMX_MEASURE.obsValue)
    found = []
    for subject in subjects:
        if subject.iri not in observations:
            continue
        node = URIRef(subject.iri) if not subject.iri.startswith("_:") else None
        was = None if node is None else old.value(node, SDMX_MEASURE.obsValue)
        now = None if node is None else new.value(node, SDMX_MEASURE.obsValue)
        in_old = node is not None and (node, RDF.type, QB.Observation) in old
        in_new = node is not None and (node, RDF.type, QB.Observation) in new
        details = tuple(_detail(c) for c in subject.changes if c.predicate != value and in_old and in_new)
        row = None if node is None else tables.row_key(new if in_new else old, node)
        found.append(
            FigureChange(
                subject.iri,
                subject.label,
                ("" if was is None else str(was)) if in_old else None,
                ("" if now is None else str(now)) if in_new else None,
                details,
                row,
            )
        )
    return tuple(found)


def _detail(change: StatementChange) -> str:
    if change.change == "changed":
        return f"{change.predicate_label}: {change.before} → {change.after}"
    if change.change == "added":
        return f"{change.predicate_label} added: {change.after}"
    return f"{change.predicate_label} removed: {change.before}"


def _warnings(
    old_members: dict[str, set[Node]],
    new_members: dict[str, set[Node]],
    graphs: dict[str, Any],
    old: Graph,
    against: int,
) -> list[Warning]:
    """The removals a publish must acknowledge: more than ``REMOVAL_SHARE`` of a kind, or the home page's all."""
    found = []
    removed_graphs = [g["label"] for g in graphs["removed"]]
    kinds = [(key, title, old_members[key], new_members[key]) for key, title in KINDS]
    for _key, title, was, now in kinds:
        gone = sorted((label_of(old, n) for n in was - now), key=str.casefold)
        if was and len(gone) / len(was) > REMOVAL_SHARE:
            found.append(
                Warning(
                    REMOVALS, f"It removes {len(gone)} of the {len(was)} {title} of release {against}: {_named(gone)}."
                )
            )
    total_graphs = len(graphs["removed"]) + graphs["kept"]
    if removed_graphs and len(removed_graphs) / max(total_graphs, 1) > REMOVAL_SHARE:
        found.append(
            Warning(
                REMOVALS,
                f"It removes {len(removed_graphs)} of the {total_graphs} named graphs of "
                f"release {against}: {_named(removed_graphs)}.",
            )
        )
    listed = [title for key, title, was, now in kinds if key in HOME_PAGE_KINDS and was and not now]
    if any(old_members[k] for k in HOME_PAGE_KINDS) and not any(new_members[k] for k in HOME_PAGE_KINDS):
        found.append(
            Warning(REMOVALS, f"The home page would be empty: it lists {', '.join(listed)}, and the draft has none.")
        )
    return found


def _named(names: Sequence[str]) -> str:
    shown = "; ".join(name if len(name) <= 100 else name[:100] + "…" for name in names[:NAMED_IN_MESSAGES])
    return shown + (f"; and {len(names) - NAMED_IN_MESSAGES} more" if len(names) > NAMED_IN_MESSAGES else "")


def diff(
    before: Dataset,
    after: Dataset,
    scheme: UriScheme,
    against: int,
    changeset_iri: str,
    history: Sequence[tuple[int, Dataset]] = (),
    since: int | None = None,
) -> tuple[Diff, Dataset]:
    """The diff of two contents (``content.content_of``), and the changeset: graphs ``{changeset_iri}#removed``
    and ``#added`` holding the triples of each side that the other lacks (blank nodes canonically named).

    ``history``: the contents of the release the draft was made from, then of each release since, up to
    ``before`` (release ``against``), oldest first; empty when the draft was made from ``against``. ``since``:
    the first release after the base, when ``history`` leaves out some (``reverts``)."""
    old, new = union_of(before), union_of(after)
    old_set, new_set = set(old), set(new)
    removed, added = old_set - new_set, new_set - old_set
    changeset = Dataset()
    bind_prefixes(changeset, scheme)
    for name, triples in (("removed", removed), ("added", added)):
        graph = changeset.graph(URIRef(f"{changeset_iri}#{name}"))
        for triple in triples:
            graph.add(triple)
    namer = _Namer(scheme, new, old)
    subjects = grouped(removed, added, namer)
    touched = {s.iri for s in subjects}
    old_members, new_members = members(old, scheme), members(new, scheme)
    things: dict[str, Any] = {}
    for key, _title in LISTED_KINDS:
        was_there, is_there = old_members[key], new_members[key]
        things[key] = {
            "added": _listed(is_there - was_there, new),
            "removed": _listed(was_there - is_there, old),
            "changed": _listed({n for n in was_there & is_there if _iri(n) in touched}, new),
        }
    things["graphs"] = graph_changes(before, after)
    warnings = _warnings(old_members, new_members, things["graphs"], old, against)
    reverted = reverts(history, new_set, scheme, since) if history else []
    if reverted:
        total = sum(r.statements for r in reverted)
        names = [f"{r.releases()}: {_named([s.label for s in r.subjects])}" for r in reverted]
        made_from = history[0][0]
        warnings.insert(
            0,
            Warning(
                REVERTS,
                f"It was made from release {made_from} and takes back {total} "
                f"statement(s) published since: {' | '.join(names)}.",
            ),
        )
    tally = counts(subjects)
    made_from = history[0][0] if history else against
    result = Diff(
        against,
        made_from,
        tally["added"],
        tally["removed"],
        tally["changed"],
        subjects,
        _figures(old, new, subjects),
        things,
        tuple(reverted),
        tuple(warnings),
    )
    return result, changeset


def _listed(nodes: Iterable[Node], graph: Graph) -> list[dict[str, str]]:
    return [{"iri": _iri(node), "label": label_of(graph, node)} for node in sorted(nodes, key=str)]


def reverts(
    history: Sequence[tuple[int, Dataset]], draft: set[Triple], scheme: UriScheme, since: int | None = None
) -> list[Revert]:
    """The three-way view: of each release's changes since the draft's base (``history``: base first, the
    current release last), those the current release still has and the draft takes back. ``since``: the
    first release after the base when ``history`` leaves some out (its second entry then stands for
    several releases, ``drafting.history``)."""
    unions = [(n, union_of(content)) for n, content in history]
    firsts = [since or unions[1][0], *(n for n, _ in unions[2:])]
    current_graph = unions[-1][1]
    current = set(current_graph)
    taken_back, restored = current - draft, draft - current
    found = []
    for first, (_, was_graph), (n_after, now_graph) in zip(firsts, unions[:-1], unions[1:], strict=True):
        was, now = set(was_graph), set(now_graph)
        undone_additions = (now - was) & taken_back
        undone_removals = (was - now) & restored
        if not undone_additions and not undone_removals:
            continue
        namer = _Namer(scheme, current_graph, was_graph)
        subjects = grouped(undone_additions, undone_removals, namer)
        statements = sum(len(s.changes) for s in subjects)
        found.append(Revert(first, n_after, statements, subjects))
    return found


def graph_changes(before: Dataset, after: Dataset) -> dict[str, Any]:
    """Per named graph: the statements added to it and removed from it (each counted in the graph it is in
    on its side), and those that moved in or out (in both contents, in other graphs); the graphs added,
    removed, and how many were kept."""

    def by_graph(dataset: Dataset) -> dict[str, set[Triple]]:
        graphs: dict[str, set[Triple]] = {}
        for s, p, o, g in dataset.quads():
            graphs.setdefault(str(g), set()).add((s, p, o))
        return {name: relabel_triples(triples) for name, triples in graphs.items()}

    old, new = by_graph(before), by_graph(after)
    old_union = set().union(*old.values()) if old else set()
    new_union = set().union(*new.values()) if new else set()
    changed = []
    for name in sorted(old.keys() | new.keys()):
        was, now = old.get(name, set()), new.get(name, set())
        if was == now:
            continue
        changed.append(
            {
                "iri": name,
                "label": local_name(name),
                "added": str(len(now - was - old_union)),
                "removed": str(len(was - now - new_union)),
                "moved_in": str(len((now - was) & old_union)),
                "moved_out": str(len((was - now) & new_union)),
            }
        )
    gone = sorted(old.keys() - new.keys())
    made = sorted(new.keys() - old.keys())
    return {
        "changed": changed,
        "removed": [{"iri": name, "label": local_name(name)} for name in gone],
        "added": [{"iri": name, "label": local_name(name)} for name in made],
        "kept": len(old.keys() & new.keys()),
    }
