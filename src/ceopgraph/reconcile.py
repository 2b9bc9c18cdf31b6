"""Reconciliation (W3C Entity Reconciliation CG, Reconciliation Service API 0.2): matching names to our
entities, and the API's JSON shapes. Pure but for ``Index.load``, which runs our own constant queries
(``NAMES_QUERY``, each property's ``property_query``) once per dataset version; requests are parsed,
bounded and answered here.

Why an index of our own rather than a query per request: a reconciliation batch is up to a hundred
names, so lookups in memory cost less than a hundred store queries and keep user text out of SPARQL
altogether. Names are folded once and compared by equality, shared words and prefixes (no edit
distance), found through word lists and a sorted table of suffixes, so a query's work is bounded by
its length and by ``COMMON``, not by the size of the data, and a batch's by ``MAX_COMPARISONS``.

The types offered are the kinds of thing the data has (``kinds``); the properties, those a user may
constrain a query by or fetch with data extension (``properties``): a figure's value, period and unit,
an organisation's parent, a post's holder... Every malformed input is a ``ReconcileInputError`` whose
message says what is wrong and where (``queries.q0.limit``).
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from rdflib import Literal as RdfLiteral
from rdflib import URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS, TIME, XSD
from rdflib.term import Node

from ceopgraph import search
from ceopgraph.labels import humanise
from ceopgraph.namespaces import ORG, QB, SCHEMA, SDMX_ATTRIBUTE, SDMX_DIMENSION, SDMX_MEASURE
from ceopgraph.urischeme import UriScheme

if TYPE_CHECKING:
    from ceopgraph.store.protocol import Store

# Bounds on untrusted input, checked before and while parsing it.
MAX_BATCH_BYTES = 256 * 1024  # a ``queries`` or ``extend`` JSON text, in UTF-8 bytes
MAX_QUERIES = 100  # query objects in one batch
MAX_QUERY_CHARS = 500  # one query string
MAX_CONSTRAINTS = 20  # property constraints of one query
MAX_VALUES = 20  # values of one constraint
MAX_LIMIT = 100  # candidates per query, whatever is asked
DEFAULT_LIMIT = 10
MAX_IDS = 500  # entities of one extension request
MAX_EXTEND_PROPERTIES = 50
COMMON = 2000  # names a word's list is followed for, when a rarer word of the query found some
MAX_QUERY_WORDS = 32  # of a query's words, the rarest counted
MAX_SCORED = 1000  # entities a query's constraints are checked on, the best by name
MAX_COMPARISONS = 500_000  # entities scored times constraints, in one batch
MAX_DEPTH = 16  # nesting of arrays and objects in a JSON text
MAX_PREFIX_CHARS = 200  # a suggest prefix
SUGGEST_PAGE = 10

# What an unambiguous match needs: an exact name, one of a kind, this far ahead of the next candidate.
MATCH_LEAD = 10.0
EXACT = 100.0


class ReconcileInputError(ValueError):
    """A request the API cannot answer as sent; the message names the field (``queries.q3.type_strict``)."""


class NotOurEntity(LookupError):
    """An id that is not one of the entities we reconcile against (a preview of something else). The
    message does not repeat the id: an answer never echoes what a client sent."""

    def __init__(self, iri: str) -> None:
        super().__init__("the id is not one of the entities this service reconciles against")
        self.iri = iri


# Folding and matching ---------------------------------------------------------------------------------

_APOSTROPHES = re.compile("['\u2019\u02bc]")
_NON_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """``text`` as names are compared: folded as search folds it (``search.fold``: NFKD, combining marks
    dropped, case folded), apostrophes removed (``CEOP’s`` is ``ceops``), any other run of non-word
    characters one space."""
    return " ".join(_NON_WORD.sub(" ", _APOSTROPHES.sub("", search.fold(text))).split())


def name_score(query: str, name: str) -> float:
    """How well folded ``name`` answers folded ``query``, 0 to 100: equal names 100; otherwise the best of
    their word sets' overlap (Jaccard, at most 90 when the same words come in another order) and of
    ``name`` starting with ``query`` (50 to 90 by how much of it the query covers)."""
    if not query or not name:
        return 0.0
    if query == name:
        return EXACT
    q_tokens, n_tokens = set(query.split()), set(name.split())
    overlap = 90.0 * len(q_tokens & n_tokens) / len(q_tokens | n_tokens)
    prefix = 50.0 + 40.0 * len(query) / len(name) if name.startswith(query) else 0.0
    return max(overlap, prefix)


# Types and properties ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A type of the API: a class of ours or of a standard vocabulary, or a concept scheme whose concepts
    are its members (the key threat areas have no class of their own)."""

    id: str
    name: str
    description: str

    def json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


ValueKind = Literal["entity", "number", "string", "date"]


@dataclass(frozen=True)
class Property:
    """A property of the API: a SPARQL property path of ours from an entity, the kinds it applies to, and
    what its values are (entities with names, numbers, strings or dates)."""

    id: str
    name: str
    description: str
    path: str  # SPARQL property path text, written here from constants
    value: ValueKind
    kinds: tuple[str, ...]  # ids of the kinds it applies to; empty: every kind
    range: str | None = None  # the kind of its entity values, where they are all one of ours

    def applies_to(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "description": self.description}


def kinds(scheme: UriScheme) -> tuple[Kind, ...]:
    """The kinds of thing the data has, the manifest's default types, most asked for first."""
    return (
        Kind(str(ORG.FormalOrganization), "Organisation", "A formal organisation (CEOP, the National Crime Agency)"),
        Kind(str(ORG.OrganizationalUnit), "Organisational unit", "A unit of an organisation"),
        Kind(str(FOAF.Person), "Person", "A person named in the review"),
        Kind(str(ORG.Post), "Post", "A post in an organisation"),
        Kind(str(QB.Observation), "Figure", "A figure of the annual review: one statistic for one period"),
        Kind(str(scheme.ceop["Statistic"]), "Statistic", "What a figure counts or compares"),
        Kind(str(scheme.def_["threat-area"]), "Key threat area", "A key threat area of the Centre Plan 2013/14"),
        Kind(str(SCHEMA.Quotation), "Quotation", "Words quoted from the news item"),
        Kind(str(scheme.ceop["Claim"]), "Claim", "A qualitative statement of the source, with its words"),
        Kind(str(TIME.ProperInterval), "Period", "A reference or comparison period"),
        Kind(str(QB.DataSet), "Dataset", "A dataset of figures"),
        Kind(str(ORG.ChangeEvent), "Organisational change", "A change of organisation (the move into the NCA)"),
    )


def properties(scheme: UriScheme) -> tuple[Property, ...]:
    """The properties for constraints and data extension; their paths are written from constants only."""
    figure, period = str(QB.Observation), str(TIME.ProperInterval)
    organisation, unit = str(ORG.FormalOrganization), str(ORG.OrganizationalUnit)
    person, post, quotation = str(FOAF.Person), str(ORG.Post), str(SCHEMA.Quotation)
    statistic, threat = str(scheme.ceop["Statistic"]), str(scheme.def_["threat-area"])
    ref_period = SDMX_DIMENSION.refPeriod.n3()
    return (
        Property("value", "Value", "The figure's value", SDMX_MEASURE.obsValue.n3(), "number", (figure,)),
        Property("unit", "Unit", "The unit the figure counts in", SDMX_ATTRIBUTE.unitMeasure.n3(), "entity", (figure,)),
        Property("period", "Period", "The figure's reference period", ref_period, "entity", (figure,), period),
        Property(
            "period-start",
            "Period start",
            "When the figure's reference period begins",
            f"{ref_period}/{TIME.hasBeginning.n3()}",
            "date",
            (figure,),
        ),
        Property(
            "period-end",
            "Period end",
            "When the figure's reference period ends",
            f"{ref_period}/{TIME.hasEnd.n3()}",
            "date",
            (figure,),
        ),
        Property(
            "statistic",
            "Statistic",
            "What the figure counts",
            scheme.dimension["statistic"].n3(),
            "entity",
            (figure,),
            statistic,
        ),
        Property(
            "dataset", "Dataset", "The dataset the figure is in", QB.dataSet.n3(), "entity", (figure,), str(QB.DataSet)
        ),
        Property(
            "parent",
            "Parent organisation",
            "The organisation this one is a unit or sub-organisation of",
            f"{ORG.subOrganizationOf.n3()}|{ORG.unitOf.n3()}|^{ORG.hasSubOrganization.n3()}|^{ORG.hasUnit.n3()}",
            "entity",
            (organisation, unit),
            organisation,
        ),
        Property(
            "member-of",
            "Member of",
            "An organisation this one is a member of, by an org:Membership (as planned at publication, where so)",
            f"^{ORG.member.n3()}/{ORG.organization.n3()}",
            "entity",
            (organisation, unit),
            organisation,
        ),
        Property("post", "Post", "A post in the organisation", ORG.hasPost.n3(), "entity", (organisation, unit), post),
        Property("holds", "Holds post", "A post the person holds", ORG.holds.n3(), "entity", (person,), post),
        Property(
            "post-in", "Post in", "The organisation the post is in", ORG.postIn.n3(), "entity", (post,), organisation
        ),
        Property("held-by", "Held by", "Who holds the post", ORG.heldBy.n3(), "entity", (post,), person),
        Property("creator", "Said by", "Who the quotation is by", SCHEMA.creator.n3(), "entity", (quotation,), person),
        Property("text", "Text", "The words quoted", SCHEMA.text.n3(), "string", (quotation,)),
        Property("notation", "Notation", "The code's notation", SKOS.notation.n3(), "string", (statistic, threat)),
        Property("start", "Start", "When the period begins", TIME.hasBeginning.n3(), "date", (period,)),
        Property("end", "End", "When the period ends", TIME.hasEnd.n3(), "date", (period,)),
        Property(
            "description",
            "Description",
            "A line about the entity, as the data gives it",
            f"{RDFS.comment.n3()}|{SKOS.definition.n3()}",
            "string",
            (),
        ),
        Property("alt-label", "Other names", "Other names the entity goes by", SKOS.altLabel.n3(), "string", ()),
    )


# The index's queries: constants of ours (the properties' paths included), run with no bound values.
_NAME_PROPERTIES = (SKOS.prefLabel, RDFS.label, DCTERMS.title, SCHEMA.name, FOAF.name, SKOS.altLabel, SKOS.notation)
_OBJECT_LABELS = (SKOS.prefLabel, RDFS.label, DCTERMS.title, SCHEMA.name, FOAF.name)
NAMES_QUERY = (
    "SELECT ?s ?kind ?p ?name WHERE { "
    f"{{ ?s {RDF.type.n3()} ?kind }} UNION {{ ?s {SKOS.inScheme.n3()} ?kind }} "
    f"?s ?p ?name FILTER(isIRI(?s) && isLiteral(?name) && ?p IN ({', '.join(p.n3() for p in _NAME_PROPERTIES)})) }}"
)
_OBJECT_LABEL = (
    f"OPTIONAL {{ ?o ?lp ?oname FILTER(isLiteral(?oname) && ?lp IN ({', '.join(p.n3() for p in _OBJECT_LABELS)})) }}"
)
_DATE_LITERALS = (TIME.inXSDDateTimeStamp, TIME.inXSDDateTime, TIME.inXSDDate)
_OBJECT_DATE = f"OPTIONAL {{ ?o ?dp ?odate FILTER(?dp IN ({', '.join(p.n3() for p in _DATE_LITERALS)})) }}"


def property_query(prop: Property) -> str:
    """Every value of ``prop`` in the store, with the labels of entity values and the dates of instants."""
    extra = _OBJECT_LABEL if prop.value == "entity" else _OBJECT_DATE if prop.value == "date" else ""
    return f"SELECT ?s ?o ?lp ?oname ?dp ?odate WHERE {{ ?s {prop.path} ?o FILTER(isIRI(?s)) {extra} }}"


# Values -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """One value of a property: an entity (``id`` and ``name``), a number, a string or a date (ISO 8601,
    date and time, as the API's data extension wants them)."""

    kind: ValueKind
    text: str  # the entity's IRI, the number's lexical form, the string, the date
    name: str = ""  # an entity's name
    number: int | float | None = None
    words: frozenset[str] = frozenset()  # the folded words of an entity's name or of a string, to match

    def json(self) -> dict[str, Any]:
        if self.kind == "entity":
            return {"id": self.text, "name": self.name}
        if self.kind == "number":
            return {"int": self.number} if isinstance(self.number, int) else {"float": self.number}
        if self.kind == "date":
            return {"date": self.text}
        return {"str": self.text}


_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(node: Node, literal: Node | None) -> str | None:
    """A date and time for the API from an instant: its ``time:inXSD…`` literal, or the date and time an
    IRI of reference.data.gov.uk's gregorian instants spells (``…/gregorian-instant/2012-04-01T00:00:00``).
    A year alone, or a month, is not made into a day the source never gave."""
    for text in (str(literal) if literal is not None else "", str(node).rsplit("/", 1)[-1]):
        if _DATETIME.fullmatch(text):
            return text
        if _DATE.fullmatch(text):
            return f"{text}T00:00:00"
    return None


def _number(literal: RdfLiteral) -> int | float | None:
    if literal.datatype in (XSD.integer, XSD.int, XSD.long, XSD.nonNegativeInteger, XSD.positiveInteger):
        try:
            return int(str(literal))
        except ValueError:
            return None
    try:
        return float(Decimal(str(literal)))
    except (InvalidOperation, ValueError):
        return None


# The index ------------------------------------------------------------------------------------------------


@dataclass
class Entity:
    """One thing a name can be reconciled to: its names (folded once), kinds, description and values."""

    id: str
    name: str = ""
    folded: list[str] = field(default_factory=list)
    kinds: list[Kind] = field(default_factory=list)
    kind_ids: frozenset[str] = frozenset()
    description: str = ""
    values: dict[str, list[Value]] = field(default_factory=dict)

    def candidate(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": [k.json() for k in self.kinds]}


_NAME_RANK = {str(p): i for i, p in enumerate(_NAME_PROPERTIES)}
_LABEL_RANK = {str(p): i for i, p in enumerate(_OBJECT_LABELS)}


def _preferred(current: tuple[int, str] | None, rank: int, node: Node) -> tuple[int, str]:
    """The better of two labels: by property rank, then English, then text (deterministic)."""
    language = node.language if isinstance(node, RdfLiteral) else None
    key = (rank * 3 + (0 if language in ("en", "en-gb") else 1 if not language else 2), str(node))
    return key if current is None or key < current else current


@dataclass
class Index:
    """Our entities by id, and the kinds and properties of the API, for one dataset version; read-only
    once built, so request threads share it.

    Lookups keep a query's work to the names that can score, however large the data grows, and make
    scoring them a count: every folded name (``names``: its entity, its text, how many distinct words),
    the names by each of their words (``words``: a word overlap counted from these lists alone), and
    every word suffix of every name, sorted (``suffixes``: ``("crime agency", 1, n)`` for "national crime
    agency"), where the names or words starting with a prefix are one range found by bisection."""

    kinds: tuple[Kind, ...]
    properties: tuple[Property, ...]
    entities: dict[str, Entity]
    names: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)  # (entity id, folded name, its words)
    words: dict[str, list[int]] = field(default_factory=dict)  # word: positions in ``names``
    suffixes: list[tuple[str, int, int]] = field(default_factory=list)  # (suffix, word position, name position)

    def __post_init__(self) -> None:
        suffixes: set[tuple[str, int, int]] = set()
        for entity in sorted(self.entities.values(), key=lambda e: e.id):
            for name in entity.folded:
                at, split = len(self.names), name.split()
                self.names.append((entity.id, name, frozenset(split)))
                for word in set(split):
                    self.words.setdefault(word, []).append(at)
                for position in range(len(split)):
                    suffixes.add((" ".join(split[position:]), position, at))
        self.suffixes = sorted(suffixes)

    @cached_property
    def kinds_by_id(self) -> dict[str, Kind]:
        return {k.id: k for k in self.kinds}

    @cached_property
    def properties_by_id(self) -> dict[str, Property]:
        return {p.id: p for p in self.properties}

    def starting(self, prefix: str, *, names_only: bool = False) -> Iterator[tuple[int, int]]:
        """(word position, name position) of every name, or word of a name, that starts with ``prefix``."""
        for at in range(bisect_left(self.suffixes, (prefix,)), len(self.suffixes)):
            suffix, position, name = self.suffixes[at]
            if not suffix.startswith(prefix):
                return
            if position == 0 or not names_only:
                yield position, name

    def name_scores(self, folded: str) -> dict[str, float]:
        """Each entity's best ``name_score`` against a folded query, for those above nothing: the word
        overlaps counted from the word lists, the prefixes from one range, never a scan of every name.

        The work is bounded whatever the data: the query's ``MAX_QUERY_WORDS`` rarest words are counted, a
        word's list is followed only while it has at most ``COMMON`` names, or when no rarer word found
        any (then its first ``COMMON``); a commoner word is counted only on the names found already; at
        most ``COMMON`` names starting with the query are taken. On data where no word or prefix is that
        common (ours: 38 entities), this is exactly ``name_score`` over every name."""
        query_words = set(folded.split())
        rarest = sorted(query_words, key=lambda w: (len(self.words.get(w, ())), w))[:MAX_QUERY_WORDS]
        shared: dict[int, int] = {}
        for word in rarest:
            found = self.words.get(word, [])
            if len(found) <= COMMON or not shared:
                for at in found[:COMMON]:
                    shared[at] = shared.get(at, 0) + 1
            else:
                for at in shared:
                    shared[at] += word in self.names[at][2]
        best: dict[str, float] = {}
        for at, count in shared.items():
            iri, name, words = self.names[at]
            score = EXACT if name == folded else 90.0 * count / (len(query_words) + len(words) - count)
            best[iri] = max(best.get(iri, 0.0), score)
        for _, at in itertools.islice(self.starting(folded, names_only=True), COMMON):
            iri, name, _ = self.names[at]
            score = EXACT if name == folded else 50.0 + 40.0 * len(folded) / len(name)
            best[iri] = max(best.get(iri, 0.0), score)
        return best

    @classmethod
    def build(
        cls, scheme: UriScheme, names: Iterable[Mapping[str, Node]], values: Mapping[str, Iterable[Mapping[str, Node]]]
    ) -> Index:
        """The index from the rows of ``NAMES_QUERY`` and of each property's ``property_query``."""
        offered, props = kinds(scheme), properties(scheme)
        by_kind = {k.id: k for k in offered}
        entities: dict[str, Entity] = {}
        best: dict[str, tuple[int, str]] = {}
        for row in names:
            kind = by_kind.get(str(row["kind"]))
            if kind is None:
                continue
            iri = str(row["s"])
            entity = entities.setdefault(iri, Entity(iri))
            if kind not in entity.kinds:
                entity.kinds.append(kind)
            folded = fold(str(row["name"]))
            if folded and folded not in entity.folded:
                entity.folded.append(folded)
            if str(row["p"]) not in (str(SKOS.altLabel), str(SKOS.notation)):
                best[iri] = _preferred(best.get(iri), _NAME_RANK[str(row["p"])], row["name"])
        for iri, entity in entities.items():
            entity.name = best[iri][1] if iri in best else humanise(iri, capital=True)
            entity.kinds.sort(key=offered.index)
            entity.kind_ids = frozenset(k.id for k in entity.kinds)
        for prop in props:
            _add_values(entities, prop, values.get(prop.id, ()))
        for entity in entities.values():
            entity.description = _description(entity)
        return cls(offered, props, entities)

    @classmethod
    def load(cls, store: Store, scheme: UriScheme) -> Index:
        """The index of what ``store`` serves: our queries, constants, no value bound, no request's text."""
        names = store.select(NAMES_QUERY)
        values = {prop.id: store.select(property_query(prop)) for prop in properties(scheme)}
        return cls.build(scheme, names, values)


def _add_values(entities: dict[str, Entity], prop: Property, rows: Iterable[Mapping[str, Node]]) -> None:
    """``prop``'s values of our entities from its query's rows: one value per object, an entity's name its
    best label (or, for an entity of ours, our name for it)."""
    found: dict[str, dict[str, tuple[Value, tuple[int, str] | None]]] = {}
    for row in rows:
        iri, obj = str(row["s"]), row["o"]
        entity = entities.get(iri)
        if entity is None or not any(prop.applies_to(k.id) for k in entity.kinds):
            continue
        held = found.setdefault(iri, {})
        key = str(obj)
        if prop.value == "entity":
            if not isinstance(obj, URIRef):
                continue
            label = held[key][1] if key in held else None
            if "oname" in row:
                label = _preferred(label, _LABEL_RANK[str(row["lp"])], row["oname"])
            held[key] = (Value("entity", key), label)
        elif prop.value == "date":
            date = _date(obj, row.get("odate"))
            if date is not None:
                held[key] = (Value("date", date), None)
        elif prop.value == "number":
            number = _number(obj) if isinstance(obj, RdfLiteral) else None
            if number is not None:
                held[key] = (Value("number", str(obj), number=number), None)
        elif isinstance(obj, RdfLiteral):
            held[key] = (Value("string", str(obj), words=frozenset(fold(str(obj)).split())), None)
    for iri, held_values in found.items():
        made = []
        for key, (value, label) in sorted(held_values.items()):
            if value.kind == "entity":
                ours = entities.get(key)
                name = ours.name if ours else label[1] if label else humanise(key, capital=True)
                value = Value("entity", key, name=name, words=frozenset(fold(name).split()))
            made.append(value)
        entities[iri].values[prop.id] = made


def _description(entity: Entity) -> str:
    """One line about an entity: a figure's value, unit and period; otherwise the data's own comment."""
    values = entity.values
    if "value" in values:
        parts = [values["value"][0].text]
        if "unit" in values:
            parts.append(values["unit"][0].name)
        line = " ".join(parts)
        return f"{line}, {values['period'][0].name}" if "period" in values else line
    for pid in ("description", "text"):
        if pid in values:
            text = values[pid][0].text
            return text if len(text) <= 200 else text[:199].rstrip() + "…"
    return ""


# Reconciliation queries ---------------------------------------------------------------------------------

Strictness = Literal["any", "all", "should"]


@dataclass(frozen=True)
class Sent:
    """One value of a constraint, read once: an ``{"id": …}`` object, a boolean, a number or a string (a
    string that reads as a number is one too), with its folded words."""

    kind: Literal["id", "bool", "number", "text"]
    text: str
    number: float | None = None
    words: frozenset[str] = frozenset()

    @classmethod
    def of(cls, value: object) -> Sent:
        if isinstance(value, dict):
            return cls("id", str(value["id"]))
        if isinstance(value, bool):
            return cls("bool", str(value).lower())
        text = str(value).strip()
        try:
            number: float | None = float(Decimal(text))
        except (InvalidOperation, ValueError):
            number = None
        return cls("number" if isinstance(value, (int, float)) else "text", text, number, frozenset(fold(text).split()))


@dataclass(frozen=True)
class Constraint:
    pid: str
    values: tuple[Sent, ...]


@dataclass(frozen=True)
class Query:
    query: str
    types: tuple[str, ...]
    strict: Strictness
    limit: int
    constraints: tuple[Constraint, ...]


def parse_json(text: str, field_name: str) -> Any:
    """An untrusted JSON text, bounded in bytes and in nesting before it is parsed (a deep nesting would
    exhaust the parser's recursion), then parsed."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BATCH_BYTES:
        raise ReconcileInputError(f"{field_name}: more than {MAX_BATCH_BYTES} bytes")
    _check_depth(text, field_name)
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, and integers too long to read
        raise ReconcileInputError(f"{field_name}: not JSON ({exc})") from None


def _check_depth(text: str, field_name: str) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH``: one scan, brackets inside strings skipped."""
    depth, in_string, escaped = 0, False, False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ReconcileInputError(f"{field_name}: nested deeper than {MAX_DEPTH} levels")
        elif c in "]}":
            depth -= 1


def parse_queries(text: str) -> dict[str, Query]:
    """A batch of reconciliation queries: a JSON object of query objects, each checked, every problem named
    by its place (``queries.q0.properties[1].pid``)."""
    batch = parse_json(text, "queries")
    if not isinstance(batch, dict):
        raise ReconcileInputError("queries: must be a JSON object of query objects, keyed by the caller's ids")
    if not batch:
        raise ReconcileInputError("queries: holds no query")
    if len(batch) > MAX_QUERIES:
        raise ReconcileInputError(f"queries: {len(batch)} queries, more than {MAX_QUERIES} in one batch")
    return {key: _query(f"queries.{key}", value) for key, value in batch.items()}


def _query(where: str, value: object) -> Query:
    if not isinstance(value, dict):
        raise ReconcileInputError(f"{where}: must be a query object")
    text = value.get("query", "")
    if not isinstance(text, str):
        raise ReconcileInputError(f"{where}.query: must be a string")
    if len(text) > MAX_QUERY_CHARS:
        raise ReconcileInputError(f"{where}.query: longer than {MAX_QUERY_CHARS} characters")
    types = value.get("type", ())
    if isinstance(types, str):
        types = (types,)
    if not isinstance(types, (list, tuple)) or not all(isinstance(t, str) for t in types) or len(types) > MAX_VALUES:
        raise ReconcileInputError(f"{where}.type: must be a type id, or a list of at most {MAX_VALUES}")
    strict = value.get("type_strict", "any")
    if strict not in ("any", "all", "should"):
        raise ReconcileInputError(f'{where}.type_strict: must be "any", "all" or "should"')
    limit = value.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ReconcileInputError(f"{where}.limit: must be a positive integer")
    constraints = _constraints(f"{where}.properties", value.get("properties", []))
    if not fold(text) and not constraints:
        raise ReconcileInputError(f"{where}: needs a query string or property constraints")
    # An empty type is no type: a client that leaves the type field blank means "any type".
    return Query(text, tuple(t for t in types if t), strict, min(limit, MAX_LIMIT), constraints)


def _constraints(where: str, value: object) -> tuple[Constraint, ...]:
    if not isinstance(value, list):
        raise ReconcileInputError(f"{where}: must be a list of {{pid, v}} objects")
    if len(value) > MAX_CONSTRAINTS:
        raise ReconcileInputError(f"{where}: more than {MAX_CONSTRAINTS} constraints")
    made = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ReconcileInputError(f"{here}: must be a {{pid, v}} object")
        pid = item.get("pid")
        if not isinstance(pid, str):
            raise ReconcileInputError(f"{here}.pid: must be a property id (a string)")
        if "v" not in item:
            raise ReconcileInputError(f"{here}.v: missing")
        values = item["v"] if isinstance(item["v"], list) else [item["v"]]
        if not values or len(values) > MAX_VALUES:
            raise ReconcileInputError(f"{here}.v: must be one value or a list of 1 to {MAX_VALUES}")
        for j, v in enumerate(values):
            if isinstance(v, dict):
                if not isinstance(v.get("id"), str):
                    raise ReconcileInputError(f"{here}.v[{j}]: an object value must have a string id")
            elif not isinstance(v, (str, int, float, bool)):
                raise ReconcileInputError(f"{here}.v[{j}]: must be a string, number, boolean or {{id}} object")
        made.append(Constraint(pid, tuple(Sent.of(v) for v in values)))
    return tuple(made)


def _value_matches(sent: Sent, held: Value) -> bool:
    """Whether a constraint's value names ``held``: an entity by its id or name (all the sent words among
    its name's: ``2012-2013`` names "Government year 2012-2013"), a number by equality, text by its words."""
    if sent.kind == "id":
        return held.kind == "entity" and sent.text == held.text
    if sent.kind == "bool":
        return False
    if held.kind == "number":
        return sent.number is not None and held.number is not None and float(held.number) == sent.number
    if held.kind == "entity" and sent.text == held.text:
        return True
    return bool(sent.words) and sent.words <= held.words


@dataclass(frozen=True)
class Scored:
    entity: Entity
    score: float
    exact: bool
    all_constraints: bool


def check_properties(index: Index, queries: Mapping[str, Query]) -> None:
    """Every constraint names a property of ours (a typo must not silently match nothing)."""
    known = index.properties_by_id
    for key, query in queries.items():
        for i, constraint in enumerate(query.constraints):
            if constraint.pid not in known:
                raise ReconcileInputError(f"queries.{key}.properties[{i}].pid: no property {constraint.pid!r}")


class Budget:
    """The comparisons one batch may make (entities scored, times constraints): past it the batch is
    refused, not answered slowly, so one request cannot hold a server thread for long on large data."""

    def __init__(self, comparisons: int = MAX_COMPARISONS) -> None:
        self.left = comparisons

    def spend(self, comparisons: int) -> None:
        self.left -= comparisons
        if self.left < 0:
            raise ReconcileInputError(
                f"queries: the batch needs more than {MAX_COMPARISONS} comparisons of entities and constraints;"
                " send fewer queries, fewer constraints or a type per batch"
            )


def reconcile(index: Index, query: Query, budget: Budget | None = None) -> list[dict[str, Any]]:
    """The candidates for one query, best first, at most its limit; ``match`` on the first only when it is
    the one candidate whose name is the query, meets every constraint, and leads the next by ``MATCH_LEAD``.

    Scores: the name's (0 to 100, ``name_score``) alone; with constraints, 70% of it plus up to 30 for
    constraints met, less up to 30 for those contradicted (a value held that none sent names) and half
    that for those the entity holds no value of; with constraints and no name, 100 times the same
    balance of shares. A type given with ``should`` ranks others lower (a fifth off) rather than leaving
    them out. Of a query's names, the ``MAX_SCORED`` best by name are scored, and each comparison is
    charged to the batch's ``budget``."""
    budget = budget or Budget()
    folded = fold(query.query)
    wanted = set(query.types)
    if not folded:  # constraints alone: every entity is compared, so charged before any is
        budget.spend(len(index.entities) * len(query.constraints))
    by_name = index.name_scores(folded) if folded else dict.fromkeys(index.entities, 0.0)
    pool: list[tuple[float, str, bool]] = []
    for iri, names in by_name.items():
        kinds = index.entities[iri].kind_ids
        typed = not wanted or (kinds >= wanted if query.strict == "all" else not kinds.isdisjoint(wanted))
        if typed or query.strict == "should":
            pool.append((names, iri, typed))
    if folded and len(pool) > MAX_SCORED:  # a word most names share: the best by name go on
        pool = heapq.nlargest(MAX_SCORED, pool)
    if folded:
        budget.spend(len(pool) * max(1, len(query.constraints)))
    scored: list[Scored] = []
    for names, iri, typed in pool:
        entity = index.entities[iri]
        met = 0
        against = 0.0
        for constraint in query.constraints:
            held = entity.values.get(constraint.pid, [])
            if any(_value_matches(v, h) for v in constraint.values for h in held):
                met += 1
            else:
                against += 1.0 if held else 0.5
        n = len(query.constraints)
        if n and folded:
            score = 0.7 * names + 30.0 * (met - against) / n
        elif n:
            if not met:
                continue
            score = 100.0 * (met - against) / n
        else:
            score = names
        if not typed:
            score *= 0.8
        if score <= 0:
            continue
        scored.append(Scored(entity, round(score, 2), names == EXACT and typed, met == n))
    scored.sort(key=lambda s: (-s.score, s.entity.name, s.entity.id))
    exact = [s for s in scored if s.exact]
    results = []
    for i, s in enumerate(scored[: query.limit]):
        match = (
            i == 0
            and s.exact
            and s.all_constraints
            and len(exact) == 1
            and (len(scored) == 1 or scored[1].score <= s.score - MATCH_LEAD)
        )
        results.append({**s.entity.candidate(), "description": s.entity.description, "score": s.score, "match": match})
        if not s.entity.description:
            del results[-1]["description"]
    return results


def answer_queries(index: Index, queries: Mapping[str, Query]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The API's answer to a batch: ``{"q0": {"result": [...]}}``, keys as sent."""
    check_properties(index, queries)
    budget = Budget()
    return {key: {"result": reconcile(index, query, budget)} for key, query in queries.items()}


# Suggest ------------------------------------------------------------------------------------------------


def _prefix_rank(prefix: str, names: Iterable[str]) -> int | None:
    """0 when a name starts with ``prefix``, 1 when one of its words does, None otherwise."""
    ranks = [0 if n.startswith(prefix) else 1 if f" {prefix}" in f" {n}" else 2 for n in names]
    best = min(ranks, default=2)
    return None if best == 2 else best


def check_prefix(prefix: str | None) -> str:
    if prefix is None:
        raise ReconcileInputError("prefix: missing (the text to complete)")
    if len(prefix) > MAX_PREFIX_CHARS:
        raise ReconcileInputError(f"prefix: longer than {MAX_PREFIX_CHARS} characters")
    return fold(prefix)


def check_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdecimal() or len(cursor) > 9:
        raise ReconcileInputError("cursor: must be a non-negative integer")
    return int(cursor)


def suggest_entities(index: Index, prefix: str, cursor: int) -> dict[str, Any]:
    """Entities a folded ``prefix`` completes, names that start with it before names with a word that does."""
    ranks: dict[str, int] = {}
    for position, at in index.starting(prefix):
        iri = index.names[at][0]
        ranks[iri] = min(ranks.get(iri, 1), 0 if position == 0 else 1)
    found = sorted((rank, index.entities[iri].name, iri) for iri, rank in ranks.items())
    result = []
    for _, _, iri in found[cursor : cursor + SUGGEST_PAGE]:
        entity = index.entities[iri]
        item: dict[str, Any] = {"id": entity.id, "name": entity.name, "notable": [k.json() for k in entity.kinds]}
        if entity.description:
            item["description"] = entity.description
        result.append(item)
    return {"result": result}


def suggest_named(items: Sequence[Kind | Property], prefix: str, cursor: int) -> dict[str, Any]:
    """Types or properties a folded ``prefix`` completes, by their names or ids."""
    found = []
    for item in items:
        rank = _prefix_rank(prefix, (fold(item.name), fold(item.id.rsplit("/", 1)[-1].rsplit("#", 1)[-1])))
        if rank is not None:
            found.append((rank, item.name, item))
    found.sort(key=lambda f: f[:2])
    result = []
    for _, _, item in found[cursor : cursor + SUGGEST_PAGE]:
        result.append({"id": item.id, "name": item.name, "description": item.description})
    return {"result": result}


# Data extension -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extension:
    ids: tuple[str, ...]
    properties: tuple[tuple[str, int], ...]  # (id, at most this many values; 0: all)


def parse_extension(text: str, index: Index) -> Extension:
    """A data extension request, ``{"ids": [...], "properties": [{"id": …, "settings": {"limit": n}}]}``."""
    value = parse_json(text, "extend")
    if not isinstance(value, dict):
        raise ReconcileInputError("extend: must be a JSON object with ids and properties")
    ids = value.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ReconcileInputError("extend.ids: must be a list of entity ids (strings)")
    if len(ids) > MAX_IDS:
        raise ReconcileInputError(f"extend.ids: {len(ids)} ids, more than {MAX_IDS}")
    props = value.get("properties")
    if not isinstance(props, list) or not props:
        raise ReconcileInputError("extend.properties: must be a non-empty list of {id} objects")
    if len(props) > MAX_EXTEND_PROPERTIES:
        raise ReconcileInputError(f"extend.properties: more than {MAX_EXTEND_PROPERTIES}")
    known = index.properties_by_id
    made = []
    for i, prop in enumerate(props):
        here = f"extend.properties[{i}]"
        if not isinstance(prop, dict) or not isinstance(prop.get("id"), str):
            raise ReconcileInputError(f"{here}.id: must be a property id (a string)")
        if prop["id"] not in known:
            raise ReconcileInputError(f"{here}.id: no property {prop['id']!r}")
        settings = prop.get("settings", {})
        if not isinstance(settings, dict):
            raise ReconcileInputError(f"{here}.settings: must be an object")
        limit = settings.get("limit", 0)
        if isinstance(limit, str) and limit.isdecimal() and len(limit) < 10:
            limit = int(limit)  # OpenRefine sends a number setting's value as a string
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ReconcileInputError(f"{here}.settings.limit: must be a non-negative integer")
        made.append((prop["id"], limit))
    return Extension(tuple(ids), tuple(made))


def extend(index: Index, request: Extension) -> dict[str, Any]:
    """The values of the asked properties for each id; an id not ours, or a property it lacks, has none."""
    known = index.properties_by_id
    kinds = index.kinds_by_id
    meta: list[dict[str, Any]] = []
    for pid, _ in request.properties:
        prop = known[pid]
        meta.append({"id": prop.id, "name": prop.name})
        if prop.range in kinds:  # the type of the values, so a client can mark the new column reconciled
            meta[-1]["type"] = kinds[prop.range].json()
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for iri in request.ids:
        entity = index.entities.get(iri)
        row: dict[str, list[dict[str, Any]]] = {}
        for pid, limit in request.properties:
            held = entity.values.get(pid, []) if entity else []
            row[pid] = [v.json() for v in (held[:limit] if limit else held)]
        rows[iri] = row
    return {"meta": meta, "rows": rows}


def propose_properties(index: Index, kind: str, limit: int) -> dict[str, Any]:
    """The properties of ``kind`` (those for every kind last), at most ``limit``."""
    own = [p for p in index.properties if p.kinds and kind in p.kinds]
    every = [p for p in index.properties if not p.kinds]
    chosen = (own + every if kind in index.kinds_by_id else [])[:limit]
    return {"type": kind, "limit": limit, "properties": [{"id": p.id, "name": p.name} for p in chosen]}


# The manifest -------------------------------------------------------------------------------------------

PREVIEW_WIDTH, PREVIEW_HEIGHT = 400, 140


def manifest(index: Index, scheme: UriScheme, service: str) -> dict[str, Any]:
    """The service manifest; ``service`` is the absolute URL of the service (``{base}reconcile``)."""
    return {
        "versions": ["0.2"],
        "name": "CEOP Annual Review 2012/13 (ceopgraph)",
        "identifierSpace": scheme.base,
        "schemaSpace": str(scheme.def_),
        "documentation": scheme.base,
        "defaultTypes": [k.json() for k in index.kinds],
        "view": {"url": "{{id}}"},  # our IRIs dereference: the IRI is the entity's page
        "preview": {"url": f"{service}/preview?id={{{{id}}}}", "width": PREVIEW_WIDTH, "height": PREVIEW_HEIGHT},
        "suggest": {
            name: {"service_url": service, "service_path": f"/suggest/{name}"}
            for name in ("entity", "type", "property")
        },
        "extend": {
            "propose_properties": {"service_url": service, "service_path": "/properties"},
            "property_settings": [
                {
                    "name": "limit",
                    "label": "Limit",
                    "type": "number",
                    "default": 0,
                    "help_text": "At most this many values per entity (0: all)",
                }
            ],
        },
    }
