"""Our URI scheme: the one place the IRIs of our own resources are spelled, from the configured base.

Every IRI the service mints or recognises as its own (resources ``id/…``, their documents ``doc/…``,
definitions ``def/…``, named graphs ``data/graph/…``, the dataset and its releases, the dumps, the shapes,
drafts' changesets, the audit) is made by a method of ``UriScheme`` named for what it makes, so the shape of
the URI space can be read, tested and changed here alone. Vocabularies of others (W3C, schema.org) stay in
``namespaces.py``. The reverse direction is here too: whether an IRI is ours, and which path serves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Namespace, URIRef

# Paths under the base, each spelled once.
DATASET_PATH = "data/ceopgraph"
SHAPES_PATH = "def/shapes"
CATALOG_PATH = "catalog"
DUMP_STEM = "ceopgraph"
_RESOURCES = "id/"
_DOCUMENTS = "doc/"
_DEFINITIONS = "def/"
_GRAPHS = "data/graph/"

# The service's own resources, as paths under the base: the dataset, and under it its releases, their
# publication activities and distributions; the graphs' descriptions; the dumps, current and per release;
# the SPARQL endpoint and its service description; the reconciliation service; the shapes; the landing
# page; the drafts' diffs; the catalogue a harvester pages through.
_SERVICE_PATHS = frozenset(("", DATASET_PATH, "sparql", "reconcile", "releases", SHAPES_PATH, CATALOG_PATH))
_SERVICE_SPACES = (
    f"{DATASET_PATH}/",
    _GRAPHS,
    "releases/",
    "dumps/",
    "sparql/",
    "reconcile/",
    "id/service/",
    f"{SHAPES_PATH}/",
    ".well-known/",
    "drafts/",
)


def is_service_path(rest: str) -> bool:
    """Whether the path ``rest`` after the base (already normalised: ``paths.parse_iri``) names one of the
    service's own resources, which it describes itself and no draft may describe for it."""
    return rest in _SERVICE_PATHS or rest.startswith(_SERVICE_SPACES)


@dataclass(frozen=True)
class UriScheme:
    """The URI space under one base, ``{base}{id|doc|def|data}/{concept}/{reference}``.

    The base always ends with ``/`` (one without is given one, as configuration always did), so every
    IRI below is the base followed by a path and ``is_local`` is a prefix test on the same spelling.
    """

    base: str

    def __post_init__(self) -> None:
        if not self.base.endswith("/"):
            object.__setattr__(self, "base", self.base + "/")

    # Namespaces of our own terms ------------------------------------------------------------------------

    @property
    def id(self) -> Namespace:
        """Things: ``{base}id/{concept}/{reference}``."""
        return Namespace(self.base + _RESOURCES)

    @property
    def def_(self) -> Namespace:
        """Definitions (vocabularies, code lists, the shapes)."""
        return Namespace(self.base + _DEFINITIONS)

    @property
    def graph(self) -> Namespace:
        """Named graphs: one per concern, each an information resource under ``data/graph/``."""
        return Namespace(self.base + _GRAPHS)

    @property
    def ceop(self) -> Namespace:
        """Terms of the ceopgraph vocabulary (``ontology/ceop.ttl``)."""
        return Namespace(self.base + "def/ceop/")

    @property
    def dimension(self) -> Namespace:
        return Namespace(self.base + "def/dimension/")

    @property
    def attribute(self) -> Namespace:
        return Namespace(self.base + "def/attribute/")

    @property
    def statistic(self) -> Namespace:
        return Namespace(self.base + "def/statistic/")

    @property
    def unit(self) -> Namespace:
        return Namespace(self.base + "def/unit/")

    @property
    def spaces(self) -> tuple[tuple[str, str], ...]:
        """Where our IRIs live, each space with what it names, for people linking to them (``/link``)."""
        return (
            (self.base + _RESOURCES, "things: organisations, people, posts, events, quotations, claims"),
            (self.base + _DOCUMENTS, "documents about those things, HTML or RDF by Accept"),
            (self.base + _DEFINITIONS, "definitions: classes, properties, concepts, statistics, units"),
            (self.base + "data/", "datasets and their observations, the figures"),
        )

    # The service's own resources ------------------------------------------------------------------------

    def graph_iri(self, name: str) -> URIRef:
        return self.graph[name]

    @property
    def dataset(self) -> URIRef:
        """The dataset the service publishes (its VoID/DCAT description)."""
        return URIRef(self.base + DATASET_PATH)

    def distribution(self, name: str) -> URIRef:
        return URIRef(f"{self.base}{DATASET_PATH}/distribution/{name}")

    def table_distribution(self, dataset: str) -> URIRef:
        """The distribution of one of our data cubes as a CSV (``ceopgraph.tables``), named after the cube's
        path: ``data/annual-review-2012-13`` → ``{dataset}/distribution/table/annual-review-2012-13``."""
        rest = (self.path_of(dataset) or "").removeprefix("data/")
        return URIRef(f"{self.base}{DATASET_PATH}/distribution/table/{rest}")

    def cube_of_table_distribution(self, iri: str) -> URIRef | None:
        """The data cube whose CSV distribution ``iri`` names (``table_distribution``'s inverse), or None."""
        prefix = f"{self.base}{DATASET_PATH}/distribution/table/"
        rest = iri.removeprefix(prefix)
        return URIRef(f"{self.base}data/{rest}") if rest != iri and rest else None

    def table(self, dataset: str) -> URIRef | None:
        """The URL of one of our data cubes' CSV: its document's with ``.csv`` (None for anyone else's)."""
        document = self.document_of(dataset)
        return None if document is None else URIRef(f"{document}.csv")

    def dump(self, extension: str) -> URIRef:
        """The current release's dump in one format."""
        return URIRef(f"{self.base}dumps/{DUMP_STEM}.{extension}")

    @property
    def shapes(self) -> URIRef:
        """The shapes graph a release conforms to, and the node of its SHACL-SPARQL prefix declarations."""
        return URIRef(self.base + SHAPES_PATH)

    @property
    def sparql(self) -> URIRef:
        return URIRef(self.base + "sparql")

    @property
    def reconcile(self) -> URIRef:
        """The reconciliation service (``web.reconcile``), the base of the URLs its manifest names."""
        return URIRef(self.base + "reconcile")

    @property
    def catalog(self) -> URIRef:
        """The DCAT catalogue of the dataset and its releases, for harvesters (``web.catalogue``)."""
        return URIRef(self.base + CATALOG_PATH)

    def catalog_page(self, page: int) -> URIRef:
        """One page of the catalogue (a Hydra partial collection view)."""
        return URIRef(f"{self.base}{CATALOG_PATH}?page={page}")

    @property
    def release_space(self) -> URIRef:
        """What every release's IRI starts with."""
        return URIRef(f"{self.base}{DATASET_PATH}/release/")

    def release(self, n: int) -> URIRef:
        return URIRef(f"{self.release_space}{n}")

    def release_distribution(self, n: int, extension: str) -> URIRef:
        """Release ``n``'s distribution in the format of one file extension."""
        return URIRef(f"{self.release(n)}/distribution/{extension}")

    def publication(self, n: int) -> URIRef:
        """The activity that published release ``n``."""
        return URIRef(f"{self.base}{DATASET_PATH}/release/{n}/publication")

    def release_dump(self, n: int, name: str) -> URIRef:
        """A file of release ``n``'s dumps (``ceopgraph.trig``…)."""
        return URIRef(f"{self.base}releases/{n}/dumps/{name}")

    @property
    def store_marker(self) -> URIRef:
        """The graph, and its one subject, in which a remote store records which release it holds and after
        how many changes of the series (``releases.remote``). Under the dataset, not ``data/graph/``: the
        front end neither serves nor counts it, and a publish's clean-up of stale graphs leaves it alone."""
        return URIRef(f"{self.base}{DATASET_PATH}/store-marker")

    def changeset(self, draft_id: str) -> str:
        """A draft's diff, the changeset a publish acknowledges."""
        return f"{self.base}drafts/{draft_id}/diff"

    def audit_activity(self, record_id: int | str) -> URIRef:
        return URIRef(f"{self.base}audit/{record_id}")

    def audit_agent(self, agent: str) -> URIRef:
        return URIRef(f"{self.base}audit/agent/{agent}")

    # The other way: IRIs read back ------------------------------------------------------------------------

    def is_local(self, iri: str) -> bool:
        """Whether ``iri`` is spelled under our base."""
        return iri.startswith(self.base)

    def path_of(self, iri: str) -> str | None:
        """The path after the base of one of our IRIs (``id/organisation/ceop``), None for anyone else's."""
        return iri[len(self.base) :] if iri.startswith(self.base) else None

    def served_at(self, iri: str) -> str | None:
        """The local path (from the server's root) that serves one of our IRIs: a thing ``id/x`` by its
        document ``/doc/x``, every other IRI of ours at its own path; None for anyone else's."""
        rest = self.path_of(iri)
        if rest is None:
            return None
        if rest.startswith(_RESOURCES):
            return f"/{_DOCUMENTS}{rest[len(_RESOURCES) :]}"
        return f"/{rest}"

    def document_of(self, iri: str) -> str | None:
        """The IRI of the document that serves one of our IRIs (``{base}doc/x`` for ``{base}id/x``; the
        IRI itself for the rest of ours); None for anyone else's."""
        served = self.served_at(iri)
        return None if served is None else self.base[:-1] + served

    def is_graph(self, iri: str) -> bool:
        """Whether ``iri`` is spelled as one of our named graphs."""
        return iri.startswith(self.base + _GRAPHS)

    def is_shape(self, iri: str) -> bool:
        """Whether ``iri`` is the shapes graph or one of its shapes (``def/shapes/…``)."""
        shapes = self.base + SHAPES_PATH
        return str(iri) == shapes or iri.startswith(shapes + "/")

    def iri_at(self, space: str, rest: str) -> URIRef:
        """The IRI a request path names: ``space`` (``id/``, ``def/``…) and the rest of the path after it."""
        return URIRef(self.base + space + rest)
