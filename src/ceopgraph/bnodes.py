"""Stable labels for blank nodes: the same labels for the same data, in every process, without exponential work.

A document's ETag comes from its bytes, dumps are byte-stable and a diff matches the blank nodes of two
versions, so every blank node needs a label that depends on the data alone (``hashlib``, never Python's
seeded ``hash``). rdflib's ``to_canonical_graph`` searches every ordering of nodes it cannot tell apart:
20 identical ``_:b <p> <o>`` took 0.9 s, 40 took 19 s. Here the work is:

- Blank nodes are split into connected components (linked through other blank nodes; IRIs and literals are
  fixed points). Each component is labelled on its own, so a change in one leaves the others' labels as
  they were (a diff shows what changed), and identical components ("twins") are labelled once: their
  members are numbered in any order, since swapping them changes nothing.
- Within a component, colour refinement (Hopcroft's "process the smaller half", O(edges log nodes))
  computes the coarsest partition in which equal nodes have the same numbers of edges of each kind into
  each class. Parallel edges between two nodes are one edge whose colour is all their predicates (and
  directions and graphs), so the component is a simple graph with coloured nodes and edges.
- Ties are then broken by individualising one node of a tied class and refining again. Where the
  component has no cycle of blank nodes (trees: nested descriptions, lists, qualified relations), and
  outside its 2-core (the part of it on cycles), nodes of one class are interchangeable: coloured forests
  are compact graphs (Tinhofer), where the classes after refinement are the orbits, so any choice gives the
  same labelled graph and no search is needed. Only ties inside the 2-core are searched: every choice,
  the least labelled graph wins, and automorphisms found on the way (two leaves giving the same graph)
  prune choices known to be equivalent. The search has a fixed budget of work; past it the data is
  refused (``IndistinguishableBlankNodes``): such symmetric cycles of blank nodes cannot be told apart
  without IRIs.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import BNode, Dataset, Graph
from rdflib.term import Node

# Work units (edges visited, quads written, nodes copied) a search of ties on cycles may spend: about
# 1-2 s of CPU. Tree-like data never searches; its work grows as edges x log(nodes).
SEARCH_BUDGET = 1_000_000
# Labels are this letter and 32 hex digits: RDF/XML's ``rdf:nodeID`` must be an XML name, which a digit cannot
# start (a label of digits first made RDF/XML no parser reads back).
LABEL_PREFIX = "b"

Quad = tuple[Node, Node, Node, Node | None]
_Key = tuple[str, str, str]  # (direction, predicate, graph) of an edge, as seen from one end


class IndistinguishableBlankNodes(ValueError):
    """Blank nodes on cycles so symmetric that telling them apart took more than ``SEARCH_BUDGET``."""

    def __init__(self, count: int, predicates: Iterable[str]) -> None:
        named = ", ".join(sorted(predicates)[:3])
        super().__init__(
            f"{count} blank nodes cannot be told apart: they are linked in cycles so symmetric (by {named}) "
            f"that no stable labelling was found within the work limit; give them IRIs"
        )
        self.count = count


def _digest(*parts: bytes | str) -> bytes:
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.digest()[:16]


# Public functions --------------------------------------------------------------------------------


def stable_labels(quads: Iterable[Quad]) -> dict[BNode, BNode]:
    """Each blank node of ``quads`` (graph None for triples) mapped to its stable label (``b`` and 32 hex digits)."""
    return _Labeller(quads).labels()


def relabel_triples(triples: Iterable[tuple[Node, Node, Node]]) -> set[tuple[Node, Node, Node]]:
    """The triples with stable blank node labels (what a diff compares)."""
    listed = [(s, p, o, None) for s, p, o in triples]
    labels = stable_labels(listed)
    return {(_label(labels, s), p, _label(labels, o)) for s, p, o, _ in listed}


def _label(labels: dict[BNode, BNode], term: Node) -> Node:
    return labels.get(term, term) if isinstance(term, BNode) else term


def relabel_graph(graph: Graph) -> Graph:
    """A copy of ``graph`` with stable blank node labels and the same prefixes."""
    out = Graph(bind_namespaces="none")
    for prefix, namespace in graph.namespaces():
        out.bind(prefix, namespace)
    for triple in relabel_triples(graph):
        out.add(triple)
    return out


def relabel_dataset(dataset: Dataset) -> Dataset:
    """A copy of ``dataset`` with stable blank node labels (computed over its quads) and the same prefixes."""
    quads = [(s, p, o, g) for s, p, o, g in dataset.quads()]
    labels = stable_labels(quads)
    out = Dataset()
    for prefix, namespace in dataset.namespaces():
        out.bind(prefix, namespace)
    for s, p, o, g in quads:
        assert g is not None
        out.graph(g).add((_label(labels, s), p, _label(labels, o)))
    return out


# Components --------------------------------------------------------------------------------------


class _Labeller:
    """The blank nodes of a set of quads, their edges, and their components."""

    def __init__(self, quads: Iterable[Quad]) -> None:
        self.nodes: list[BNode] = []
        self.index: dict[BNode, int] = {}
        self.ground: list[list[str]] = []  # per node: its edges to IRIs and literals, and its self-loops
        self.links: list[dict[int, list[_Key]]] = []  # per node: its blank neighbours and the edges to them
        for s, p, o, g in set(quads):
            graph = "" if g is None else g.n3()
            pred = p.n3()
            if isinstance(s, BNode) and isinstance(o, BNode):
                a, b = self._id(s), self._id(o)
                if a == b:
                    self.ground[a].append(f"self {pred} {graph}")
                else:
                    self.links[a].setdefault(b, []).append(("out", pred, graph))
                    self.links[b].setdefault(a, []).append(("in", pred, graph))
            elif isinstance(s, BNode):
                self.ground[self._id(s)].append(f"out {pred} {graph} {o.n3()}")
            elif isinstance(o, BNode):
                self.ground[self._id(o)].append(f"in {pred} {graph} {s.n3()}")

    def _id(self, node: BNode) -> int:
        found = self.index.get(node)
        if found is None:
            found = self.index[node] = len(self.nodes)
            self.nodes.append(node)
            self.ground.append([])
            self.links.append({})
        return found

    def components(self) -> list[list[int]]:
        seen = [False] * len(self.nodes)
        found = []
        for start in range(len(self.nodes)):
            if seen[start]:
                continue
            seen[start] = True
            members, pending = [], [start]
            while pending:
                x = pending.pop()
                members.append(x)
                for y in self.links[x]:
                    if not seen[y]:
                        seen[y] = True
                        pending.append(y)
            found.append(members)
        return found

    def labels(self) -> dict[BNode, BNode]:
        counts: dict[bytes, int] = {}
        labels: dict[BNode, BNode] = {}
        for members in self.components():
            form, names = _Component(self, members).canonical()
            twin = counts.get(form, 0)  # identical components: numbered in any order (swapping them is harmless)
            counts[form] = twin + 1
            for node, name in names.items():
                labels[self.nodes[node]] = BNode(LABEL_PREFIX + _digest(form, str(twin), name).hex())
        return labels


# One component ---------------------------------------------------------------------------------


@dataclass
class _Budget:
    left: int = SEARCH_BUDGET
    exceeded: bool = False

    def spend(self, work: int) -> None:
        self.left -= work
        if self.left < 0:
            self.exceeded = True


@dataclass
class _Partition:
    """Classes of a component's nodes, named by digests that depend only on the structure."""

    colour: dict[int, bytes]
    cells: dict[bytes, set[int]]
    step: int = 0
    born: list[bytes] = field(default_factory=list)  # classes made since the caller last looked

    def copy(self) -> _Partition:
        return _Partition(dict(self.colour), {k: set(v) for k, v in self.cells.items()}, self.step)


class _Component:
    def __init__(self, labeller: _Labeller, members: list[int]) -> None:
        self.members = members
        self.adj: dict[int, dict[int, bytes]] = {}  # node -> neighbour -> colour of the edge from this side
        initial: dict[int, bytes] = {}
        for x in members:
            edges = {y: _digest(*sorted(" ".join(k) for k in keys)) for y, keys in labeller.links[x].items()}
            self.adj[x] = edges
            initial[x] = _digest(*sorted(labeller.ground[x]), b"|", *sorted(edges.values()))
        self.quads: list[tuple[int | str, str, int | str, str]] = []
        for x in members:
            for g in labeller.ground[x]:
                self.quads.append((x, g, "", ""))
            for y, keys in labeller.links[x].items():
                self.quads.extend((x, p, y, graph) for direction, p, graph in keys if direction == "out")
        cells: dict[bytes, set[int]] = {}
        for x, c in initial.items():
            cells.setdefault(c, set()).add(x)
        self.start = _Partition(initial, cells)
        self.core = self._core()
        self.budget = _Budget()
        self.autos: list[dict[int, int]] = []
        self.best: tuple[list[tuple[str, ...]], _Partition] | None = None
        self.first: tuple[list[tuple[str, ...]], _Partition] | None = None

    def _core(self) -> set[int]:
        """The 2-core: what is left after removing nodes with at most one blank neighbour, repeatedly."""
        degree = {x: len(self.adj[x]) for x in self.members}
        pending = [x for x, d in degree.items() if d <= 1]
        removed = set(pending)
        while pending:
            x = pending.pop()
            for y in self.adj[x]:
                if y not in removed:
                    degree[y] -= 1
                    if degree[y] <= 1:
                        removed.add(y)
                        pending.append(y)
        return set(self.members) - removed

    def canonical(self) -> tuple[bytes, dict[int, str]]:
        """The component's form (a digest of its quads, labelled) and each node's name within it."""
        if len(self.members) == 1:  # most blank nodes: no refinement needed
            (x,) = self.members
            return _digest("single", *sorted(str(q[1]) for q in self.quads)), {x: ""}
        partition = self.start
        self.refine(partition, sorted(partition.cells), None)
        if any(len(partition.cells[partition.colour[x]]) > 1 for x in self.core):
            self.search(partition, [])
            if self.budget.exceeded or self.best is None:
                tied = [x for x in self.core if len(partition.cells[partition.colour[x]]) > 1]
                raise IndistinguishableBlankNodes(len(tied), self._predicates(tied))
            form, partition = self.best
        else:
            self.finish(partition, None)
            form = self.form(partition)
        names = {x: partition.colour[x].hex() for x in self.members}
        return _digest("component", *("\x1f".join(q) for q in form)), names

    def _predicates(self, nodes: list[int]) -> set[str]:
        tied = set(nodes)
        return {p for s, p, o, _ in self.quads if isinstance(o, int) and (s in tied or o in tied)}

    # Refinement ---------------------------------------------------------------------------------

    def refine(self, part: _Partition, splitters: list[bytes], budget: _Budget | None) -> None:
        """Split classes until each node of a class has the same edges into every class (Hopcroft)."""
        queue = deque(splitters)
        queued = set(splitters)
        while queue:
            s = queue.popleft()
            queued.discard(s)
            members = part.cells.get(s)
            if not members:
                continue
            part.step += 1
            counts: dict[int, dict[bytes, int]] = {}
            for x in members:
                for y, colour in self.adj[x].items():
                    seen = counts.setdefault(y, {})
                    seen[colour] = seen.get(colour, 0) + 1
            if budget is not None:
                budget.spend(len(members) + len(counts))
            by_cell: dict[bytes, dict[tuple[tuple[bytes, int], ...], list[int]]] = {}
            for y, seen in counts.items():
                by_cell.setdefault(part.colour[y], {}).setdefault(tuple(sorted(seen.items())), []).append(y)
            step = str(part.step)
            for d in sorted(by_cell):
                groups = by_cell[d]
                cell = part.cells[d]
                untouched = len(cell) - sum(len(g) for g in groups.values())
                if untouched == 0 and len(groups) == 1:
                    continue
                parts: list[tuple[int, bytes]] = [(untouched, d)] if untouched else []
                for key in sorted(groups):
                    name = _digest(d, s, step, b"".join(c + n.to_bytes(4, "big") for c, n in key))
                    nodes = groups[key]
                    cell.difference_update(nodes)
                    part.cells[name] = set(nodes)
                    for y in nodes:
                        part.colour[y] = name
                    parts.append((len(nodes), name))
                    part.born.append(name)
                if not untouched:
                    del part.cells[d]
                largest = None if d in queued else max(parts)[1]
                for _, name in sorted(parts, key=lambda t: t[1]):
                    if name != largest and name not in queued:
                        queue.append(name)
                        queued.add(name)

    def individualise(self, part: _Partition, node: int, budget: _Budget | None) -> None:
        d = part.colour[node]
        part.step += 1
        name = _digest(d, b"individual", str(part.step))
        part.cells[d].discard(node)
        part.cells[name] = {node}
        part.colour[node] = name
        self.refine(part, [name], budget)  # the rest of d: its edges are d's less the new class's

    def finish(self, part: _Partition, budget: _Budget | None) -> None:
        """Break the remaining ties, outside the 2-core: any node of a class will do (see the module)."""
        heap = [name for name, cell in part.cells.items() if len(cell) > 1]
        heapq.heapify(heap)
        while heap:
            name = heapq.heappop(heap)
            cell = part.cells.get(name)
            if cell is None or len(cell) < 2:
                continue
            part.born.clear()
            self.individualise(part, next(iter(cell)), budget)
            for born in [name, *part.born]:
                if len(part.cells.get(born, ())) > 1:
                    heapq.heappush(heap, born)

    def form(self, part: _Partition) -> list[tuple[str, ...]]:
        def term(t: int | str) -> str:
            return part.colour[t].hex() if isinstance(t, int) else t

        return sorted((term(s), p, term(o), g) for s, p, o, g in self.quads)

    # Search of ties in the 2-core --------------------------------------------------------------

    def search(self, part: _Partition, prefix: list[int]) -> None:
        """Every choice of a tied 2-core node (the least labelled graph wins), pruned by automorphisms."""
        if self.budget.exceeded:
            return
        tied = [part.colour[x] for x in self.core if len(part.cells[part.colour[x]]) > 1]
        if not tied:
            self.leaf(part)
            return
        target = sorted(part.cells[min(tied)])
        orbits = _Orbits(target)
        explored: list[int] = []
        for node in target:
            for auto in self.autos[orbits.applied :]:  # automorphisms found since: those fixing the prefix
                if all(auto[p] == p for p in prefix):
                    orbits.join(auto)
                self.budget.spend(len(target))
            orbits.applied = len(self.autos)
            if any(orbits.root(node) == orbits.root(u) for u in explored):
                continue
            child = part.copy()
            self.budget.spend(len(self.members))
            self.individualise(child, node, self.budget)
            self.search(child, [*prefix, node])
            explored.append(node)
            if self.budget.exceeded:
                return

    def leaf(self, part: _Partition) -> None:
        part = part.copy()
        self.finish(part, self.budget)
        form = self.form(part)
        self.budget.spend(len(form))
        if self.first is None:
            self.first = (form, part)
        for found in (self.first, self.best):
            if found is None:
                continue
            seen, labelled = found
            if form == seen and labelled is not part:  # the same labelled graph: an automorphism
                by_name = {c: x for x, c in labelled.colour.items()}
                self.autos.append({x: by_name[c] for x, c in part.colour.items()})
                return
        if self.best is None or form < self.best[0]:
            self.best = (form, part)


class _Orbits:
    """The orbits of a tied class under the automorphisms found so far (a union-find)."""

    def __init__(self, members: list[int]) -> None:
        self.parent = {x: x for x in members}
        self.applied = 0  # how many of the automorphisms found have been looked at

    def root(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, auto: dict[int, int]) -> None:
        for x in self.parent:
            image = auto[x]
            if image in self.parent:
                self.parent[self.root(x)] = self.root(image)
