"""The only importer of pySHACL: explicit options, our shapes only, and the report they make.

pySHACL reads strings as URLs or file names and, given no shapes graph, uses the data graph as its
shapes; so every call here passes parsed graphs and always our own shapes graph, with imports,
inference and JavaScript off (see the project's security notes). A submission's own shapes are just
data: they are validated, never executed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import rdflib.plugins.sparql
from pyshacl import validate as pyshacl_validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result as QueryResult

from ceopgraph import storedform
from ceopgraph.namespaces import SH
from ceopgraph.validation.bulk import SplitShapes, bulk_results, refuse_unsafe, split_shapes
from ceopgraph.validation.report import Report, add_result, read_report, with_description

# SPARQL 1.1 Query section 13.2: a query's FROM / FROM NAMED name graphs to load, and rdflib loads
# them (over HTTP, or from files) unless this library-wide switch is off. No query run here may
# reach outside the data it is given, so it is turned off once, when validation is first imported,
# for the whole process (``refuse_unsafe`` also refuses shapes whose queries name graphs).
rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False


@dataclass(frozen=True)
class Validator:
    """Our shapes, checked and split once, ready to validate any number of data graphs.

    Refusing unsafe shapes and taking out the constraints run in bulk read every SPARQL constraint of
    the shapes: about 100 ms, 40% of validating a submission, the same for every validation. A server's
    validation workers are forks of one holder that made its ``Validator`` before forking
    (``validation.service``), so each submission pays only for its own data. The shapes graph must not
    change once prepared (ours are loaded once and only read).
    """

    shapes: Graph
    split: SplitShapes

    @classmethod
    def of(cls, shapes: Graph, *, bulk: bool = True) -> Validator:
        """``shapes`` prepared; ``UnsafeShapes`` if a query of theirs could reach outside the data.

        With ``bulk`` (the default), pySHACL runs every constraint except the SPARQL-based ones that
        ``split_shapes`` takes out; those run once each on an Oxigraph copy of the data and add their
        results to pySHACL's report. Without it pySHACL runs them all, once per focus node: slower, the
        reference the bulk path is tested against."""
        refuse_unsafe(shapes)
        return cls(shapes, split_shapes(shapes, bulk=bulk))

    def validate(self, data: Graph) -> Report:
        """Validate ``data`` against the shapes (never against shapes the data itself contains)."""
        report_graph, conforms = _pyshacl_report(data, self.split.core)
        conforms = bulk_results(data, self.shapes, self.split.bulk, report_graph) and conforms
        _stored_form_results(data, self.shapes, report_graph)  # warnings: conformance unchanged
        report = next(report_graph.subjects(RDF.type, SH.ValidationReport))
        report_graph.set((report, SH.conforms, Literal(conforms)))
        for prefix, namespace in self.shapes.namespaces():
            report_graph.bind(prefix, namespace, override=True, replace=True)
        return read_report(report_graph, conforms, data, self.shapes)


def validate_graph(data: Graph, shapes: Graph, *, bulk: bool = True) -> Report:
    """One validation of ``data`` against ``shapes`` (``Validator``: prepare once to validate many)."""
    return Validator.of(shapes, bulk=bulk).validate(data)


def _pyshacl_report(data: Graph, shapes: Graph) -> tuple[Graph, bool]:
    """pySHACL's report graph and verdict, every option explicit."""
    view = _PreparedQueryGraph(store=data.store, identifier=data.identifier)
    conforms, report_graph, _ = pyshacl_validate(
        view,
        shacl_graph=shapes,
        ont_graph=None,
        inference="none",
        abort_on_first=False,
        allow_infos=True,
        allow_warnings=True,
        meta_shacl=False,
        advanced=False,
        js=False,
        debug=False,
        do_owl_imports=False,
    )
    assert isinstance(report_graph, Graph)
    return report_graph, bool(conforms)


class _PreparedQueryGraph(Graph):
    """The data graph as pySHACL queries it: each SHACL-SPARQL query is parsed once, not per focus node.

    pySHACL runs a constraint's query text once per focus node and rdflib parses a query string on
    every call, which was most of the validation time. Prepared queries are also translated without
    the data's own prefix bindings, so a submission cannot rebind a prefix our queries rely on.
    """

    def query(self, query_object: str | Query, *args: Any, **kwargs: Any) -> QueryResult:
        if isinstance(query_object, str):
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


@lru_cache(maxsize=512)
def _prepared(query_text: str) -> Query:
    return prepareQuery(query_text, initNs={})


def _stored_form_results(data: Graph, shapes: Graph, report: Graph) -> None:
    """One sh:Warning per triple whose literal the store would rewrite (see ``storedform``): the focus
    node is the triple's subject, the path its predicate, the value the literal as written, and the
    message gives both forms. The source shape is ``StoredAsWrittenShape``, named under the shapes
    graph's own IRI; shapes without a declarations node (not ours) get no such results."""
    declarations = next(shapes.subjects(SH.declare), None)
    found = storedform.rewrites(data)
    if declarations is None or not found:
        return
    shape = URIRef(f"{declarations}/StoredAsWrittenShape")
    component = URIRef(f"{declarations}/StoredFormConstraintComponent")
    for rewrite in found:
        message = (
            f"The store would publish {rewrite.written.n3()} as {rewrite.stored.n3()}; "
            "write the second form to have it published as written"
        )
        add_result(
            report,
            [
                (SH.sourceConstraintComponent, component),
                (SH.sourceShape, shape),
                (SH.resultSeverity, SH.Warning),
                (SH.focusNode, with_description(data, rewrite.subject, report)),
                (SH.resultPath, rewrite.predicate),
                (SH.value, rewrite.written),
                (SH.resultMessage, Literal(message)),
            ],
        )
