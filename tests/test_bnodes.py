"""Stable blank node labels (``ceopgraph.bnodes``): the same labels for the same data whatever the input's
order or labels, different data told apart, identical nodes cheap, symmetric cycles refused past the budget."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.term import Node

from ceopgraph.bnodes import IndistinguishableBlankNodes, relabel_dataset, relabel_triples, stable_labels

from .test_rdfio import bounded

P, Q = URIRef("http://example.org/p"), URIRef("http://example.org/q")
THING = URIRef("http://example.org/thing")
Triple = tuple[Node, Node, Node]


def twins(n: int) -> list[Triple]:
    """The CPU bomb of rdflib's canonicalisation: ``_:bi <p> <thing>``, n times."""
    return [(BNode(), P, THING) for _ in range(n)]


def cycle(n: int, both_ways: bool = False) -> list[Triple]:
    nodes = [BNode() for _ in range(n)]
    found: list[Triple] = [(nodes[i], P, nodes[(i + 1) % n]) for i in range(n)]
    if both_ways:
        found += [(nodes[(i + 1) % n], P, nodes[i]) for i in range(n)]
    return found


def trees(k: int, value: str = "x") -> list[Triple]:
    """k identical nested descriptions, three blank nodes deep."""
    found: list[Triple] = []
    for _ in range(k):
        above: Node = THING
        for _ in range(3):
            node = BNode()
            found.append((above, P, node))
            above = node
        found.append((above, Q, Literal(value)))
    return found


def cycles_on_a_hub(k: int, n: int = 3, both_ways: bool = False) -> list[Triple]:
    """k n-cycles of blank nodes, each tied to one blank hub: a symmetric bomb for any search."""
    hub = BNode()
    found: list[Triple] = []
    for _ in range(k):
        ring = cycle(n, both_ways)
        found += ring
        found.append((hub, Q, ring[0][0]))
    return found


def renamed(triples: list[Triple], seed: int) -> list[Triple]:
    """The same graph with fresh blank nodes, in another order."""
    fresh: dict[Node, BNode] = {}

    def term(t: Node) -> Node:
        return fresh.setdefault(t, BNode()) if isinstance(t, BNode) else t

    out = [(term(s), p, term(o)) for s, p, o in triples]
    random.Random(seed).shuffle(out)
    return out


MIXED = (
    trees(4)
    + trees(1, "y")
    + cycle(6, both_ways=True)
    + cycle(3)
    + cycle(3)
    + cycle(4)
    + twins(5)
    + [(BNode(), Q, Literal("alone"))]
)


@pytest.mark.parametrize("seed", range(5))
def test_isomorphic_inputs_get_the_same_labelled_triples(seed: int) -> None:
    assert relabel_triples(renamed(MIXED, seed)) == relabel_triples(MIXED)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (cycle(6), cycle(3) + cycle(3)),  # refinement alone cannot tell these apart
        (trees(2), trees(1) + trees(1, "y")),
        (twins(3), twins(4)),
        (cycle(5, both_ways=True), cycle(5)),
    ],
    ids=["C6-vs-2xC3", "trees", "twins", "directions"],
)
def test_different_graphs_get_different_labelled_triples(one: list[Triple], other: list[Triple]) -> None:
    assert relabel_triples(one) != relabel_triples(other)


def test_every_blank_node_gets_its_own_label_and_nothing_else_changes() -> None:
    labels = stable_labels((s, p, o, None) for s, p, o in MIXED)
    nodes = {t for triple in MIXED for t in triple if isinstance(t, BNode)}
    assert set(labels) == nodes and len(set(labels.values())) == len(nodes)
    assert all(re.fullmatch("b[0-9a-f]{32}", str(label)) for label in labels.values())
    ground = {t for t in MIXED if not any(isinstance(x, BNode) for x in t)}
    assert ground <= relabel_triples(MIXED)


def test_an_unchanged_component_keeps_its_labels_when_another_changes() -> None:
    """A diff shows what changed: labels of one group of linked blank nodes do not depend on the others."""
    kept = trees(1, "kept")
    before = relabel_triples(kept + trees(2, "old") + cycle(3))
    after = relabel_triples(renamed(kept, 1) + trees(3, "new"))
    assert relabel_triples(kept) <= before & after


def test_named_graphs_take_part_in_the_labels() -> None:
    """A blank node's label depends on the graphs its triples are in, and the default graph stays default."""
    node = BNode()
    one, other = Dataset(), Dataset()
    one.graph(URIRef("http://example.org/g1")).add((node, P, THING))
    other.graph(URIRef("http://example.org/g2")).add((node, P, THING))
    other.add((BNode(), P, THING))
    labelled_one = {s for s, _, _, _ in relabel_dataset(one).quads()}
    labelled_other = relabel_dataset(other)
    assert labelled_one.isdisjoint({s for s, _, _, _ in labelled_other.quads()})
    graphs = sorted(str(g) for _, _, _, g in labelled_other.quads())
    assert graphs == ["http://example.org/g2", "urn:x-rdflib:default"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: twins(1_000),
        lambda: twins(10_000),
        lambda: trees(3_000),
        lambda: cycle(4_000),
        lambda: cycle(3_000, both_ways=True),
        lambda: cycles_on_a_hub(8),
    ],
    ids=["1k-twins", "10k-twins", "3k-trees", "4k-ring", "3k-cycle", "small-hub"],
)
def test_structures_rdflib_could_not_label_are_labelled(make: Callable[[], list[Triple]]) -> None:
    """rdflib took 19 s for 40 twins; a generous bound here only guards against the exponential search."""
    triples = make()
    labelled = bounded(lambda: relabel_triples(triples), 60.0)
    assert len(labelled) == len(set(triples))


@pytest.mark.parametrize(
    "make", [lambda: cycles_on_a_hub(150), lambda: cycles_on_a_hub(60, 4, both_ways=True)], ids=["3-cycles", "4-cycles"]
)
def test_symmetric_cycles_past_the_budget_are_refused(make: Callable[[], list[Triple]]) -> None:
    triples = make()
    with pytest.raises(IndistinguishableBlankNodes, match=r"blank nodes cannot be told apart.*give them IRIs"):
        bounded(lambda: relabel_triples(triples), 60.0)


def test_labels_are_the_same_in_every_process() -> None:
    """Labels come from hashlib, never from Python's seeded ``hash``: two interpreters, two seeds, one answer."""
    script = (
        "from rdflib import BNode, URIRef, Literal\n"
        "from ceopgraph.bnodes import relabel_triples\n"
        "p = URIRef('http://example.org/p')\n"
        "a, b, c = BNode(), BNode(), BNode()\n"
        "triples = [(a, p, b), (b, p, c), (c, p, a), (BNode(), p, Literal('x')), (BNode(), p, Literal('x'))]\n"
        "print(sorted(t.n3() for triple in relabel_triples(triples) for t in triple))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script], env={"PYTHONHASHSEED": seed, **_path()}, capture_output=True, text=True
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1 and "_:" in outputs.pop()


def _path() -> dict[str, str]:
    return {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PATH": os.environ.get("PATH", "")}


def test_labelled_blank_nodes_survive_every_dump_format() -> None:
    """Labels are XML names (RDF/XML's ``rdf:nodeID``): labels of hex digits first made RDF/XML no parser
    reads back. Every format of ours writes the labelled nodes and reads them back as the same graph."""
    from ceopgraph import rdfio
    from ceopgraph.conneg import RDF_FORMATS

    p, o = URIRef("http://example.org/p"), URIRef("http://example.org/o")
    nodes = [BNode() for _ in range(40)]
    data = Dataset()
    graph = data.graph(URIRef("http://example.org/g"))
    for i, node in enumerate(nodes):
        graph.add((node, p, o if i % 2 else nodes[(i + 1) % len(nodes)]))
    labelled = relabel_dataset(data)
    expected = relabel_triples((s, q, v) for s, q, v, _ in labelled.quads())
    for fmt in RDF_FORMATS:
        written = rdfio.serialise(labelled, fmt)
        read = rdfio.parse_rdf(written, fmt, f"labelled.{fmt.extension}", 1 << 24)
        assert relabel_triples(read) == expected, fmt.name
