"""The SHACL-SPARQL constraints run once each (``validation.bulk``) report exactly what pySHACL's
pre-binding of ``$this`` reports (SHACL section 5.3.1), and queries that could reach outside the data
are refused before anything runs."""

from __future__ import annotations

from dataclasses import replace

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef

from ceopgraph.config import Settings
from ceopgraph.namespaces import SH
from ceopgraph.validation.bulk import UnsafeShapes, split_shapes
from ceopgraph.validation.engine import validate_graph
from ceopgraph.validation.report import Result

from .listener import Listener
from .submissions import FIGURES_AGREEING, MUTATIONS, PUBLISHED, Corpus, absolute, mutate

# IC-1 as first written: a UNION whose first group filters on $this. Run once for all focus nodes,
# that filter would not see $this bound, so this form is left to pySHACL's pre-binding.
_IC1_PER_FOCUS_NODE = """
    SELECT DISTINCT $this WHERE {
        { FILTER NOT EXISTS { $this qb:dataSet ?dataset } }
        UNION
        { $this qb:dataSet ?dataset1, ?dataset2 . FILTER (?dataset1 != ?dataset2) }
    }"""


def _with_select(shapes: Graph, constraint: URIRef, select: str) -> Graph:
    changed = Graph()
    changed += shapes
    changed.set((constraint, SH.select, Literal(select)))
    return changed


@pytest.mark.parametrize("name", ["IC-1-no-dataset", "IC-1-two-datasets"])
def test_a_sparql_constraint_run_once_reports_what_pre_binding_reports(
    name: str, union: Graph, shapes: Graph, settings: Settings
) -> None:
    """SHACL 5.3.1: the bulk run (our IC-1, once for all observations) and pySHACL's per-focus-node
    pre-binding (IC-1 in a form only it runs) give the same report."""
    (mutation,) = [m for m in MUTATIONS if m.name == name]
    data = mutate(union, settings, mutation.update)
    constraint = URIRef(absolute(settings, mutation.shape))
    per_node = validate_graph(data, _with_select(shapes, constraint, _IC1_PER_FOCUS_NODE))
    once = validate_graph(data, shapes)
    assert once.results == per_node.results
    assert once.conforms is per_node.conforms is False


def test_most_sparql_constraints_run_in_bulk(shapes: Graph) -> None:
    """Guards the comparison below: it compares two engines only if the bulk one runs something."""
    every = set(shapes.objects(None, SH.sparql))
    taken = {c.constraint for c in split_shapes(shapes).bulk}
    assert taken <= every and len(taken) > len(every) / 2
    assert split_shapes(shapes, bulk=False).bulk == ()


# rdflib's SPARQL engine, which pySHACL runs, departs from SPARQL 1.1 in two places the corpus reaches;
# Oxigraph, which runs the bulk constraints, follows the specification (``test_rdflib_departs_...``).
# For these cases only the named constraint's results may differ, and only in the way checked below.
_RDFLIB_DEPARTURES = {
    # Section 17.3: ">" is defined for two numbers, not a string and a number: a type error, so the
    # FILTER drops the solution. rdflib answers true ("790" > 25000), a false violation.
    "figure-as-string": "def/shapes/CumulativeCountShape/sparql",
    # Section 17.4.3.3: SUBSTR is XPath fn:substring, so SUBSTR(s, 0, n) is the first n - 1 characters.
    # rdflib slices s[-1:n - 1], "": the same result, reported with the value "".
    "negative-start": "def/shapes/TextPositionSelectorShape/selects-exact",
}


def _of(results: tuple[Result, ...], constraint: str, kept: bool = True) -> tuple[Result, ...]:
    return tuple(r for r in results if (r.source_constraint == constraint) is kept)


def _check_departure(name: str, in_bulk: tuple[Result, ...], alone: tuple[Result, ...], data: Graph) -> None:
    if name == "figure-as-string":
        assert in_bulk == ()
        assert [r.value for r in alone] == [str(next(data.subjects(SDMX_MEASURE_OBS_VALUE, Literal("790"))))]
        return
    ((bulk_result,), (alone_result,)) = (in_bulk, alone)
    assert alone_result.value == "" and alone_result.value_kind == 'the text "" (xsd:string)'
    assert bulk_result == replace(alone_result, value=bulk_result.value, value_kind=bulk_result.value_kind)
    position = URIRef(bulk_result.focus_node)
    (end,) = (int(v) for v in data.objects(position, OA_END))  # type: ignore[call-overload]
    (text,) = (str(t) for t in data.objects(None, SCHEMA_TEXT) if str(t).startswith(str(bulk_result.value)))
    assert bulk_result.value == text[:end]  # start -1: SUBSTR(text, 0, end + 1), the first end characters


SDMX_MEASURE_OBS_VALUE = URIRef("http://purl.org/linked-data/sdmx/2009/measure#obsValue")
OA_END = URIRef("http://www.w3.org/ns/oa#end")
SCHEMA_TEXT = URIRef("http://schema.org/text")


@pytest.mark.parametrize("name", [PUBLISHED, *(m.name for m in MUTATIONS), *(v.name for v in FIGURES_AGREEING)])
def test_bulk_and_pyshacl_alone_give_the_same_report(name: str, corpus: Corpus) -> None:
    """Every result of the SHACL-SPARQL constraints run in bulk (focus node, path, value, severity,
    message, source shape and constraint) is what pySHACL alone gives, pre-binding ``$this`` once per
    focus node, and so is the verdict, but for rdflib's departures from SPARQL 1.1, each checked to be
    exactly what it is. The other constraints run in pySHACL either way: the case's one validation
    (``Corpus.report``) holds them, and the reference runs only the constraints compared."""
    report = corpus.report(name)
    taken = {str(c.constraint) for c in corpus.bulk}
    in_bulk = tuple(r for r in report.results if r.source_constraint in taken)
    alone = corpus.reference(name)
    others = tuple(r for r in report.results if r.source_constraint not in taken)
    assert report.conforms is not any(r.severity == "Violation" for r in others + alone)  # pySHACL's verdict
    if name not in _RDFLIB_DEPARTURES:
        assert in_bulk == alone
        return
    constraint = absolute(corpus.settings, _RDFLIB_DEPARTURES[name])
    assert _of(in_bulk, constraint, kept=False) == _of(alone, constraint, kept=False)
    _check_departure(name, _of(in_bulk, constraint), _of(alone, constraint), corpus.data(name))


@pytest.mark.parametrize(
    ("expression", "in_rdflib", "in_oxigraph"),
    [
        ('"790" > 25000', "true", None),  # a type error: no value
        ('SUBSTR("abcdef", 0, 3)', "", "ab"),
        ('SUBSTR("abcdef", -1, 4)', "", "ab"),
    ],
)
def test_rdflib_departs_from_sparql_where_oxigraph_does_not(
    expression: str, in_rdflib: str, in_oxigraph: str | None
) -> None:
    """The root of ``_RDFLIB_DEPARTURES``: when rdflib follows SPARQL 1.1 here, this fails, and the
    departures above can go."""
    query = f"SELECT ({expression} AS ?v) WHERE {{}}"
    ((rdflib_value,),) = Graph().query(query)  # type: ignore[misc]
    ((oxigraph_value,),) = ox.Store().query(query)  # type: ignore[misc]
    assert str(rdflib_value).lower() == in_rdflib
    assert (None if oxigraph_value is None else oxigraph_value.value) == in_oxigraph


def test_a_shape_query_with_service_is_refused_before_anything_runs(
    union: Graph, shapes: Graph, settings: Settings, listener: Listener
) -> None:
    """Oxigraph federates SERVICE over HTTP; a shape's query that has one is never run."""
    constraint = URIRef(absolute(settings, "def/shapes/ConceptShape/top-concept-in-scheme"))
    remote = f"SELECT $this WHERE {{ SERVICE <{listener.url}> {{ $this ?p ?o }} }}"
    with pytest.raises(UnsafeShapes, match="SERVICE"):
        validate_graph(union, _with_select(shapes, constraint, remote))
    assert listener.requests == 0


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "pyshacl"])
@pytest.mark.parametrize("clause", ["FROM", "FROM NAMED"])
def test_a_shape_query_naming_its_dataset_is_refused_before_anything_runs(
    clause: str, bulk: bool, union: Graph, shapes: Graph, settings: Settings, listener: Listener
) -> None:
    """SPARQL 1.1 section 13.2: FROM would make an engine load a graph from elsewhere; it is refused
    whichever engine would run the query."""
    constraint = URIRef(absolute(settings, "def/shapes/ConceptShape/top-concept-in-scheme"))
    remote = f"SELECT $this {clause} <{listener.url}graph.ttl> WHERE {{ $this ?p ?o }}"
    with pytest.raises(UnsafeShapes, match="FROM"):
        validate_graph(union, _with_select(shapes, constraint, remote), bulk=bulk)
    assert listener.requests == 0
